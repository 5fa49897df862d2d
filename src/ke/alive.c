/* SPDX-License-Identifier: MIT */
/*
 * alive.c - what is still alive when a run ends without finishing
 * (KDPC_DEADLOCK, KDPC_TIMEOUT): each CPU and what runs on it, each thread
 * not finished and what it waits on, queued DPCs, set timers and queued
 * work items. Read-only; called by the baton holder.
 */
#include <inttypes.h>

#include "ke/ke.h"

/* Queue entries walked at most: a report must end even over a corrupted queue. */
#define WALK_LIMIT 100000u

static const char *object_kind(const void *object)
{
    const DISPATCHER_HEADER *h = object;
    switch (h->Type) {
    case 0:
        return "notification event";
    case 1:
        return "synchronization event";
    case 2:
        return "mutex";
    case 5:
        return "semaphore";
    case 6:
        return "thread";
    case 8:
    case 9:
        return "timer";
    default:
        return "object";
    }
}

static void describe_cpus(kdpc_machine *m, FILE *f)
{
    for (unsigned i = 0; i < m->ncpu; i++) {
        kdpc__cpu *c = &m->cpus[i];
        kdpc__kecpu *kc = kdpc__kecpu_of(c);
        fprintf(f, "  CPU %u at IRQL %u: ", i, (unsigned)c->irql);
        if (c->routine != NULL)
            fprintf(f, "runs %s", kdpc__routine_name(m, c->routine));
        else if (c->thread->idle)
            fprintf(f, "idle");
        else
            fprintf(f, "runs thread %u (%s)", c->thread->id,
                    kdpc__routine_name(m, c->thread->routine));
        if (c->spin_on != NULL)
            fprintf(f, "; spins on %p", c->spin_on);
        unsigned held = kdpc__locks_held(m, c);
        for (unsigned k = 0; k < held; k++) {
            kdpc__lock *l = kdpc__lock_held_at(m, c, k);
            if (l != NULL)
                fprintf(f, "%s%#" PRIxPTR, k == 0 ? "; holds " : ", ", l->addr);
        }
        fprintf(f, "\n");
        unsigned queued = 0;
        unsigned walked = 0;
        for (PLIST_ENTRY e = kc->dpc_queue.Flink; e != &kc->dpc_queue; e = e->Flink) {
            /* the queue runs through driver memory: stop at a garbage link or a cycle */
            if (kdpc__ke_bad_ptr(e) || ++walked > WALK_LIMIT) {
                fprintf(f, "    ... the DPC queue is corrupted here (%p)\n", (void *)e);
                break;
            }
            PKDPC d = CONTAINING_RECORD(e, KDPC, DpcListEntry);
            if (queued++ < 16)
                fprintf(f, "    queued DPC %p -> %s\n", (void *)d,
                        kdpc__routine_name(m, KDPC_RP(d->DeferredRoutine)));
        }
        if (queued > 16)
            fprintf(f, "    ... %u queued DPCs in all\n", queued);
    }
}

static void describe_threads(kdpc_machine *m, FILE *f)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    for (struct _KTHREAD *kt = ke->all_threads; kt != NULL; kt = kt->all_next) {
        kdpc__thread *t = kt->t;
        if (t == NULL || t->state == KDPC_T_DONE || t->state == KDPC_T_NEW || t->daemon_wait)
            continue;
        fprintf(f, "  thread %u (%s): ", t->id, kdpc__routine_name(m, t->routine));
        switch (t->state) {
        case KDPC_T_RUNNING:
            fprintf(f, "running on CPU %u", t->cpu != NULL ? t->cpu->index : 0u);
            break;
        case KDPC_T_READY:
            fprintf(f, "ready, waiting for a CPU");
            break;
        default:
            if (!kt->waiting) {
                fprintf(f, "blocked");
                break;
            }
            fprintf(f, "waits (%s) for", kt->wait_type == WaitAll ? "all" : "any");
            for (ULONG i = 0; i < kt->wait_count; i++)
                fprintf(f, "%s %s %p", i == 0 ? "" : ",", object_kind(kt->objects[i]),
                        kt->objects[i]);
            fprintf(f, kt->wait_timeout ? ", with a timeout" : ", without a timeout");
            break;
        }
        fprintf(f, "\n");
    }
}

static void describe_timers(kdpc_machine *m, FILE *f)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    /* The timer queue is kdpc's own memory (timer.c): the first 16 in expiry order, and how many */
    unsigned n = 0;
    for (kdpc__osnode *x = kdpc__ordset_first(&ke->timers); x != NULL && n < 16;
         x = kdpc__ordset_next(x), n++) {
        PKTIMER t = x->val;
        uint64_t period = kdpc__ke_timer_period_ns(t);
        fprintf(f, "  timer %p due at %" PRIu64 " ns", (void *)t, (uint64_t)t->DueTime.QuadPart);
        if (period != 0)
            fprintf(f, ", every %" PRIu64 " ns", period);
        if (t->Dpc != NULL && !kdpc__ke_bad_ptr(t->Dpc))
            fprintf(f, ", DPC -> %s", kdpc__routine_name(m, KDPC_RP(t->Dpc->DeferredRoutine)));
        fprintf(f, "\n");
    }
    if (ke->timers.count > 16)
        fprintf(f, "  ... %zu timers set in all\n", ke->timers.count);
}

typedef struct work_walk {
    kdpc_machine *m;
    FILE *f;
    unsigned n;
} work_walk;

static bool print_work(PWORK_QUEUE_ITEM item, void *arg)
{
    work_walk *w = arg;
    if (w->n++ < 16)
        fprintf(w->f, "  queued work item %p -> %s\n", (void *)item,
                kdpc__routine_name(w->m, KDPC_RP(item->WorkerRoutine)));
    return false;
}

void kdpc__ke_describe_alive(kdpc_machine *m, FILE *f)
{
    if (m->ke == NULL)
        return;
    fprintf(f, "what was still alive:\n");
    describe_cpus(m, f);
    describe_threads(m, f);
    describe_timers(m, f);
    work_walk w = {m, f, 0};
    (void)kdpc__ke_find_queued_work(m, print_work, &w);
    if (w.n > 16)
        fprintf(f, "  ... %u queued work items in all\n", w.n);
}
