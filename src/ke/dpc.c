/* SPDX-License-Identifier: MIT */
/*
 * dpc.c - DPC objects and per-CPU DPC queues (dpc-irql.md section 4, 8).
 *
 * DESIGN
 * A KDPC is linked into its CPU's queue through DpcListEntry; DpcData points
 * at that queue's head while it is queued and is NULL otherwise (4.1).
 *
 *   idle --KeInsertQueueDpc--> queued --retire: unlink, DpcData=NULL--> running --> idle
 *     ^                          |                                         |
 *     +------KeRemoveQueueDpc----+            (may be re-inserted while running: 4.20)
 *
 * Insertion (4.7-4.10): a queued DPC is not inserted again and its
 * arguments are not overwritten. High importance goes to the head, every
 * other importance to the tail. A DISPATCH software interrupt is requested
 *  - on the current CPU unless Low importance, or for Low when the queue
 *    depth exceeds MaximumDpcQueueDepth or the request rate is below
 *    MinimumDpcRate;
 *  - on another CPU for High / MediumHigh, or when its depth exceeds the
 *    maximum. Otherwise the DPC waits: an idle CPU drains its own queue
 *    (4.12), a busy one at its next clock tick.
 * Divergence: the documented ">" depth test is used, not ReactOS's ">="
 * (4.11), and the documented MediumHigh rule for other CPUs.
 *
 * Retirement (8.4): the CPU raises to DISPATCH_LEVEL and takes DPCs from the
 * head until the queue is empty, DPCs queued meanwhile included; each is
 * unlinked and DpcData cleared before its routine runs, so the routine may
 * re-insert itself and runs again in the same drain (4.20). After each
 * routine: IRQL must still be DISPATCH_LEVEL (dpc.irql_changed, 0xC8), no
 * spin lock it took may still be held (dpc.lock_held, 0xC4), and its
 * duration is checked against the 100 us guideline (dpc.too_long).
 *
 * Every queued DPC is also in the address index (liveindex.c) with its
 * place in the queue: head insertions take positions counting down from
 * 2^63, tail insertions positions counting up from it, so (CPU, position)
 * orders queued DPCs as a walk of the queues would.
 *
 * Divergence: threaded DPCs run as ordinary DPCs, as Windows does with
 * ThreadDpcEnable = 0 (4.23). The clock tick's queue-depth and rate
 * tuning (4.14) arrives with the clock: until then the rate is 0, below the
 * minimum, so Low DPCs on the current CPU drain at once.
 */
#include <stdlib.h>

#include "base/assert.h"
#include "ke/ke.h"
#include "trace/report.h"
#include "trace/stats.h"

static KDEFERRED_ROUTINE flush_routine;

/* Queues up to this deep are walked whole by dpc_queue_check. */
#define DPC_CHECK_WALK 16u

/* The links around @e agree, and the DPC there points back at queue @h. */
static bool entry_ok(const LIST_ENTRY *h, const LIST_ENTRY *e)
{
    return e->Flink->Blink == e && e->Blink->Flink == e &&
           CONTAINING_RECORD(e, KDPC, DpcListEntry)->DpcData == h;
}

/*
 * Debug check (KDPC_ASSERT) of a CPU's queue at an insertion or removal. A queue of at most
 * DPC_CHECK_WALK DPCs is walked whole: depth matches the list, every queued DPC points back at
 * this queue and every link agrees. A deeper one gets the O(1) part only: the head's links,
 * both ends and @d (the DPC just inserted, or NULL) agree and point back at the queue, and an
 * empty list has depth 0. So a debug build's insert and drain stay O(1) per DPC at any depth.
 */
static bool dpc_queue_check(const kdpc__kecpu *kc, const KDPC *d)
{
    const LIST_ENTRY *h = &kc->dpc_queue;
    if ((h->Flink == h) != (kc->depth == 0) || h->Flink->Blink != h || h->Blink->Flink != h)
        return false;
    if (kc->depth > DPC_CHECK_WALK)
        return entry_ok(h, h->Flink) && entry_ok(h, h->Blink) &&
               (d == NULL || entry_ok(h, &d->DpcListEntry));
    ULONG n = 0;
    for (const LIST_ENTRY *e = h->Flink; e != h; e = e->Flink) {
        if (!entry_ok(h, e) || ++n > kc->depth)
            return false;
    }
    return n == kc->depth;
}

/* UniqueValue of 0xC8 for a DPC routine: kdpc uses 2 ("callout": P2 routine, P3 its context; P4
 * the KDPC); Windows' own choice is not public (8.5). */
#define DPC_UNIQUE_VALUE 2u
/* DDI compliance rule SpinLock (2.22). */
#define RULE_SPINLOCK 0x00040009u

static void init_common(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext,
                        UCHAR type)
{
    kdpc__thread *t = kdpc__self();
    if (Dpc == NULL) {
        /* obj.invalid: the stores fault (0x1E, or 0xA at raised IRQL); as a warning: ignored */
        if (t != NULL && t->cpu != NULL)
            (void)kdpc__ke_check_ptr(
                t->m, Dpc, 0, true, t->cpu->irql, KDPC_RP(kdpc_KeInitializeDpc),
                type == DpcObject ? "KeInitializeDpc" : "KeInitializeThreadedDpc");
        return;
    }
    Dpc->Type = type;
    Dpc->Importance = MediumImportance;
    Dpc->Number = 0;
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->DpcData = NULL;
    if (t != NULL && t->cpu != NULL) {
        kdpc_machine *m = t->m;
        kdpc__ke *ke = kdpc__ke_of(m);
        void *drv = kdpc__ke_current_driver(m, t->cpu);
        if (drv != NULL)
            (void)kdpc__ptrmap_put(&ke->dpc_owner, (uintptr_t)Dpc, drv);
        else if (ke->dpc_owner.live != 0)
            (void)kdpc__ptrmap_del(&ke->dpc_owner, (uintptr_t)Dpc);
    }
}

void kdpc_KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    init_common(Dpc, DeferredRoutine, DeferredContext, DpcObject);
}

void kdpc_KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                                  PVOID DeferredContext)
{
    init_common(Dpc, DeferredRoutine, DeferredContext, ThreadedDpcObject);
}

void *kdpc__ke_dpc_owner(kdpc_machine *m, const KDPC *dpc)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    return ke->dpc_owner.live != 0 ? kdpc__ptrmap_get(&ke->dpc_owner, (uintptr_t)dpc) : NULL;
}

/* The trace's KDPC_DPCF_* bits a KDPC carries itself (importance, threaded, targeted). */
static unsigned dpc_flags(const KDPC *d)
{
    return (d->Importance & KDPC_DPCF_IMPORTANCE) |
           (d->Type == ThreadedDpcObject ? KDPC_DPCF_THREADED : 0u) |
           (d->Number >= MAXIMUM_PROCESSORS ? KDPC_DPCF_TARGETED : 0u);
}

/* Tracing: the dpc-insert event, and the bits of how it was queued kept for its dpc-begin. */
static void trace_insert(kdpc_machine *m, const kdpc__cpu *c, PRKDPC Dpc, unsigned target,
                         unsigned how)
{
    if ((how & KDPC_DPCF_TIMER) == 0 && c->irql > DISPATCH_LEVEL)
        how |= KDPC_DPCF_FROM_ISR;
    kdpc__ke *ke = kdpc__ke_of(m);
    if (how != 0)
        (void)kdpc__ptrmap_put(&ke->dpc_how, (uintptr_t)Dpc, (void *)(uintptr_t)how);
    else if (ke->dpc_how.live != 0)
        (void)kdpc__ptrmap_del(&ke->dpc_how, (uintptr_t)Dpc);
    kdpc__trace_emit(m, KDPC_EV_DPC_INSERT, c, Dpc, KDPC_RP(Dpc->DeferredRoutine), target,
                     dpc_flags(Dpc) | how);
}

/* Tracing: the KDPC_DPCF_* bits of a DPC leaving its queue (to run, or removed). */
static unsigned dpc_dequeued(kdpc_machine *m, const KDPC *d)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    unsigned how = 0;
    if (ke->dpc_how.live != 0)
        how = (unsigned)(uintptr_t)kdpc__ptrmap_del(&ke->dpc_how, (uintptr_t)d);
    return dpc_flags(d) | how;
}

BOOLEAN kdpc__ke_insert_dpc(kdpc_machine *m, kdpc__cpu *c, PRKDPC Dpc, PVOID a1, PVOID a2,
                            unsigned how)
{
    if (Dpc->DpcData != NULL)
        return FALSE;
    unsigned target = c->index;
    if (Dpc->Number >= MAXIMUM_PROCESSORS && Dpc->Number - MAXIMUM_PROCESSORS < (int)m->ncpu)
        target = (unsigned)(Dpc->Number - MAXIMUM_PROCESSORS);
    kdpc__cpu *tc = &m->cpus[target];
    kdpc__kecpu *kc = kdpc__kecpu_of(tc);
    Dpc->SystemArgument1 = a1;
    Dpc->SystemArgument2 = a2;
    Dpc->DpcData = &kc->dpc_queue;
    uint64_t pos;
    if (Dpc->Importance == HighImportance) {
        InsertHeadList(&kc->dpc_queue, &Dpc->DpcListEntry);
        pos = (1ull << 63) - 1u - kc->dpc_heads++;
    } else {
        InsertTailList(&kc->dpc_queue, &Dpc->DpcListEntry);
        pos = (1ull << 63) + kc->dpc_tails++;
    }
    kdpc__ke_live_add(m, KDPC_LIVE_DPC, Dpc, target, pos);
    kc->depth++;
    kc->dpc_count++;
    KDPC_ASSERT(dpc_queue_check(kc, Dpc));
    bool request;
    if (tc == c)
        request = Dpc->Importance != LowImportance || kc->depth > kc->max_depth ||
                  kc->dpc_rate < KDPC_MIN_DPC_RATE;
    else
        request = Dpc->Importance == HighImportance || Dpc->Importance == MediumHighImportance ||
                  kc->depth > kc->max_depth;
    if (request)
        tc->soft_pending |= KDPC_SOFT_DISPATCH;
    kdpc__cpu_work(m, tc); /* an idle tc has something to do */
    if (m->trace != NULL)
        trace_insert(m, c, Dpc, target, how);
    return TRUE;
}

static BOOLEAN insert_queue(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2, unsigned how)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeInsertQueueDpc", &c);
    if (m == NULL)
        return FALSE;
    /* obj.invalid (0xC7 / 0xA); as a warning the DPC is not queued and FALSE returned */
    if (!kdpc__ke_check_dpc(m, Dpc, false, "KeInsertQueueDpc"))
        return FALSE;
    kdpc__ke_stack_note(m, c, Dpc);
    BOOLEAN r = kdpc__ke_insert_dpc(m, c, Dpc, SystemArgument1, SystemArgument2, how);
    kdpc__ke_point(m);
    return r;
}

BOOLEAN kdpc_KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    return insert_queue(Dpc, SystemArgument1, SystemArgument2, 0);
}

BOOLEAN kdpc__ke_request_dpc(PRKDPC Dpc, PVOID a1, PVOID a2)
{
    return insert_queue(Dpc, a1, a2, KDPC_DPCF_IOREQUEST);
}

BOOLEAN kdpc_KeRemoveQueueDpc(PRKDPC Dpc)
{
    kdpc__thread *self = kdpc__self();
    /* obj.invalid (0xC7 / 0xA) before DpcData is followed; as a warning: FALSE, nothing done */
    if (self != NULL && self->cpu != NULL &&
        !kdpc__ke_check_dpc(self->m, Dpc, false, "KeRemoveQueueDpc"))
        return FALSE;
    if (Dpc == NULL || Dpc->DpcData == NULL)
        return FALSE;
    kdpc__kecpu *kc = CONTAINING_RECORD(Dpc->DpcData, kdpc__kecpu, dpc_queue);
    RemoveEntryList(&Dpc->DpcListEntry);
    kc->depth--;
    Dpc->DpcData = NULL;
    kdpc__ke_live_del(kc->m, KDPC_LIVE_DPC, Dpc);
    KDPC_ASSERT(dpc_queue_check(kc, NULL));
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->cpu != NULL) {
        if (t->m->trace != NULL) {
            (void)dpc_dequeued(t->m, Dpc);
            kdpc__trace_emit(t->m, KDPC_EV_DPC_REMOVE, t->cpu, Dpc, KDPC_RP(Dpc->DeferredRoutine),
                             0, 0);
        }
        kdpc__ke_point(t->m);
    }
    return TRUE;
}

/* The setters store one field and read nothing, as on Windows: a garbage DPC is caught when it
 * is queued. A NULL one faults (obj.invalid; as a warning nothing is stored). */
static bool setter_ok(PRKDPC Dpc, kdpc_routine_ptr fn, const char *name)
{
    kdpc__thread *t = kdpc__self();
    if (Dpc != NULL)
        return true;
    if (t != NULL && t->cpu != NULL)
        (void)kdpc__ke_check_ptr(t->m, Dpc, offsetof(KDPC, Number), true, t->cpu->irql, fn, name);
    return false;
}

void kdpc_KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)
{
    if (!setter_ok(Dpc, KDPC_RP(kdpc_KeSetImportanceDpc), "KeSetImportanceDpc"))
        return;
    if ((unsigned)Importance <= MediumHighImportance)
        Dpc->Importance = (UCHAR)Importance;
}

void kdpc_KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeSetTargetProcessorDpc", &c);
    if (m == NULL ||
        !setter_ok(Dpc, KDPC_RP(kdpc_KeSetTargetProcessorDpc), "KeSetTargetProcessorDpc"))
        return;
    if (Number >= 0 && (unsigned)Number < m->ncpu)
        Dpc->Number = (USHORT)(MAXIMUM_PROCESSORS + Number);
}

NTSTATUS kdpc_KeSetTargetProcessorDpcEx(PKDPC Dpc, PPROCESSOR_NUMBER ProcNumber)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeSetTargetProcessorDpcEx", &c);
    if (m == NULL ||
        !setter_ok(Dpc, KDPC_RP(kdpc_KeSetTargetProcessorDpcEx), "KeSetTargetProcessorDpcEx"))
        return STATUS_INVALID_PARAMETER;
    if (ProcNumber == NULL)
        return STATUS_INVALID_PARAMETER;
    if (ProcNumber->Group != 0 || ProcNumber->Number >= m->ncpu)
        return STATUS_INVALID_PARAMETER;
    Dpc->Number = (USHORT)(MAXIMUM_PROCESSORS + ProcNumber->Number);
    return STATUS_SUCCESS;
}

static void retire(kdpc_machine *m, kdpc__cpu *c)
{
    kdpc__kecpu *kc = kdpc__kecpu_of(c);
    kc->dpc_active = true;
    c->no_switch++;
    while (!IsListEmpty(&kc->dpc_queue)) {
        KDPC_ASSERT(dpc_queue_check(kc, NULL));
        PLIST_ENTRY e = RemoveHeadList(&kc->dpc_queue);
        PKDPC d = CONTAINING_RECORD(e, KDPC, DpcListEntry);
        d->DpcData = NULL;
        kc->depth--;
        kdpc__ke_live_del(m, KDPC_LIVE_DPC, d);
        PKDEFERRED_ROUTINE routine = d->DeferredRoutine;
        PVOID ctx = d->DeferredContext;
        PVOID a1 = d->SystemArgument1;
        PVOID a2 = d->SystemArgument2;
        unsigned held_before = kdpc__locks_held(m, c);
        kdpc__ke_push_frame(c, KDPC_RP(routine), kdpc__ke_dpc_owner(m, d));
        if (m->trace != NULL)
            kdpc__trace_emit(m, KDPC_EV_DPC_BEGIN, c, d, KDPC_RP(routine), c->index,
                             dpc_dequeued(m, d));
        if (routine != NULL) {
            routine(d, ctx, a1, a2);
        } else {
            /* KeInitializeDpc(Dpc, NULL, ...): Windows calls address 0 at DISPATCH_LEVEL, 0xD1
             * (P3 8: execute). As a warning the DPC is dropped. */
            kdpc__violation(m, KDPC_R_OBJ_INVALID, 0xD1, 0, DISPATCH_LEVEL, 8, 0, NULL,
                            "DPC %p has no DeferredRoutine: its call executes address 0",
                            (void *)d);
        }
        if (kdpc__ke_of(m)->fault_pending)
            kdpc__ke_report_faults(m); /* a touch in the routine: report it as its own */
        uint64_t ran = kdpc__ke_pop_frame(c);
        kdpc__trace(m, KDPC_EV_DPC_END, c, d, KDPC_RP(routine), ran);
        if (routine != flush_routine) /* kdpc's own, for KeFlushQueuedDpcs: no driver code */
            kdpc__stats_routine(m, KDPC_ROUTINE_DPC, KDPC_RP(routine), ran, c->index);
        if (c->irql != DISPATCH_LEVEL) {
            KIRQL now = c->irql;
            c->routine = KDPC_RP(routine);
            kdpc__violation(m, KDPC_R_DPC_IRQL_CHANGED, 0xC8,
                            ((uint64_t)now << 16) | (DISPATCH_LEVEL << 8) | DPC_UNIQUE_VALUE,
                            kdpc__fnaddr(KDPC_RP(routine)), (uintptr_t)ctx, (uintptr_t)d,
                            KDPC_RP(routine),
                            "DPC routine returned at IRQL %u; it must return at DISPATCH_LEVEL "
                            "(an unmatched raise, lower or spin lock call)",
                            (unsigned)now);
            c->routine = NULL;
            kdpc__ke_set_irql(m, c, DISPATCH_LEVEL);
        }
        unsigned held_after = kdpc__locks_held(m, c);
        if (held_after > held_before) {
            kdpc__lock *l = kdpc__lock_held_at(m, c, held_after - 1);
            kdpc__violation(m, KDPC_R_DPC_LOCK_HELD, 0xC4, RULE_SPINLOCK, l->addr, (uintptr_t)d, 0,
                            KDPC_RP(routine),
                            "DPC routine returned holding spin lock %#lx; every lock a DPC "
                            "takes must be released before it returns",
                            (unsigned long)l->addr);
        }
        if (ran > m->cfg.dpc_time_limit_ns)
            kdpc__violation(m, KDPC_R_DPC_TOO_LONG, 0, ran, m->cfg.dpc_time_limit_ns, 0, 0,
                            KDPC_RP(routine),
                            "one DPC call ran %llu.%03llu us (guideline: at most %llu us)",
                            (unsigned long long)(ran / 1000u), (unsigned long long)(ran % 1000u),
                            (unsigned long long)(m->cfg.dpc_time_limit_ns / 1000u));
        /* Between two DPCs an interleaving point; after the last one the interrupted
         * context's point goes on, so only the dispatch cost is charged here. */
        if (!IsListEmpty(&kc->dpc_queue))
            kdpc__ke_point(m);
        else
            kdpc__charge(m, c, m->cfg.call_cost_ns);
    }
    kc->dpc_active = false;
    c->no_switch--;
    c->soft_pending &= ~KDPC_SOFT_DISPATCH;
}

void kdpc__ke_dispatch(kdpc_machine *m, kdpc__cpu *c)
{
    KIRQL old = c->irql;
    kdpc__ke_set_irql(m, c, DISPATCH_LEVEL);
    retire(m, c);
    kdpc__ke_set_irql(m, c, old);
}

bool kdpc__ke_idle_work(kdpc_machine *m, kdpc__cpu *c)
{
    (void)m;
    if (IsListEmpty(&kdpc__kecpu_of(c)->dpc_queue))
        return false;
    c->soft_pending |= KDPC_SOFT_DISPATCH;
    return true;
}

PKDPC kdpc__ke_find_queued_dpc(kdpc_machine *m, bool (*match)(PKDPC dpc, void *arg), void *arg)
{
    for (unsigned i = 0; i < m->ncpu; i++) {
        kdpc__kecpu *kc = kdpc__kecpu_of(&m->cpus[i]);
        for (PLIST_ENTRY e = kc->dpc_queue.Flink; e != &kc->dpc_queue; e = e->Flink) {
            PKDPC d = CONTAINING_RECORD(e, KDPC, DpcListEntry);
            if (match(d, arg))
                return d;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* KeFlushQueuedDpcs: one sentinel DPC at the tail of every CPU's queue. */

typedef struct kdpc__flush {
    struct kdpc__flush *next; /* ke->flushes: a halt unwinds the waiter past its free() */
    kdpc_machine *m;
    unsigned remaining;
    kdpc__thread *waiter;
    bool waiting;
    KDPC dpcs[];
} flush;

void kdpc__ke_free_flushes(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    while (ke->flushes != NULL) {
        flush *f = ke->flushes;
        ke->flushes = f->next;
        free(f);
    }
}

static void flush_routine(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)a1;
    (void)a2;
    flush *f = Context;
    if (--f->remaining == 0 && f->waiting)
        kdpc__thread_ready(f->m, f->waiter);
}

void kdpc_KeFlushQueuedDpcs(void)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeFlushQueuedDpcs", &c);
    if (m == NULL)
        return;
    if (c->irql > APC_LEVEL || c->thread->idle)
        kdpc__violation(m, KDPC_R_DPC_WAIT, 0xC4, 0x3B, c->irql, 0, 0, NULL,
                        "KeFlushQueuedDpcs waits; it was called at IRQL %u (must be PASSIVE_LEVEL)",
                        (unsigned)c->irql);
    if (c->irql > APC_LEVEL || c->thread->idle)
        return; /* as a warning: waiting here would hang this CPU */
    flush *f = calloc(1, sizeof(*f) + m->ncpu * sizeof(KDPC));
    if (f == NULL)
        return;
    kdpc__ke *ke = kdpc__ke_of(m);
    f->next = ke->flushes;
    ke->flushes = f;
    f->m = m;
    f->remaining = m->ncpu;
    f->waiter = kdpc__self();
    if (m->report != NULL) /* kdpc's own DPC: left out of the report's routines, as of stats */
        kdpc__report_own_routine(m, KDPC_RP(flush_routine));
    for (unsigned i = 0; i < m->ncpu; i++) {
        PKDPC d = &f->dpcs[i];
        d->Type = DpcObject;
        d->Importance = MediumHighImportance;
        d->Number = (USHORT)(MAXIMUM_PROCESSORS + i);
        d->DeferredRoutine = flush_routine;
        d->DeferredContext = f;
        d->DpcData = NULL;
        (void)kdpc__ke_insert_dpc(m, c, d, NULL, NULL, 0);
    }
    kdpc__ke_point(m);
    while (f->remaining > 0) {
        f->waiting = true;
        kdpc__thread_block(m);
        f->waiting = false;
    }
    for (flush **p = &ke->flushes; *p != NULL; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    /* The next flush's DPCs may get this memory: their trace numbers must be new ones. */
    kdpc__trace_forget(m, f->dpcs, m->ncpu * sizeof(KDPC));
    free(f);
    kdpc__watch_barrier(m); /* what those DPCs touched happened before what follows */
    kdpc__ke_point(m);
}

LOGICAL kdpc_KeIsExecutingDpc(void)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    return c != NULL && kdpc__kecpu_of(c)->dpc_active ? 1u : 0u;
}

LOGICAL kdpc_KeShouldYieldProcessor(void)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    if (c == NULL || c->irql < DISPATCH_LEVEL)
        return 0;
    kdpc_machine *m = c->thread->m;
    return c->own_ns - kdpc__kecpu_of(c)->dispatch_since > m->cfg.yield_threshold_ns ? 1u : 0u;
}

static ULONG ticks_of(const kdpc_machine *m, uint64_t ns)
{
    uint64_t t = ns / m->cfg.clock_tick_ns;
    return t > 0xffffffffu ? 0xffffffffu : (ULONG)t;
}

NTSTATUS kdpc_KeQueryDpcWatchdogInformation(PKDPC_WATCHDOG_INFORMATION Info)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    if (c == NULL)
        return STATUS_UNSUCCESSFUL;
    /* A NULL output is written (obj.invalid, 0x1E / 0xA); as a warning: STATUS_UNSUCCESSFUL */
    if (Info == NULL) {
        (void)kdpc__ke_check_ptr(c->thread->m, Info, 0, true, c->irql,
                                 KDPC_RP(kdpc_KeQueryDpcWatchdogInformation),
                                 "KeQueryDpcWatchdogInformation");
        return STATUS_UNSUCCESSFUL;
    }
    kdpc__kecpu *kc = kdpc__kecpu_of(c);
    if (!kc->dpc_active && c->irql < DISPATCH_LEVEL)
        return STATUS_UNSUCCESSFUL;
    kdpc_machine *m = c->thread->m;
    uint64_t single = m->cfg.watchdog_single_ns;
    uint64_t total = m->cfg.watchdog_cumulative_ns;
    uint64_t ran = kc->nframes > 0 ? c->own_ns - kc->frames[kc->nframes - 1].allot_ns : 0;
    uint64_t at = c->irql >= DISPATCH_LEVEL ? c->own_ns - kc->dispatch_since : 0;
    Info->DpcTimeLimit = ticks_of(m, single);
    Info->DpcTimeCount = single > ran ? ticks_of(m, single - ran) : 0;
    Info->DpcWatchdogLimit = ticks_of(m, total);
    Info->DpcWatchdogCount = total > at ? ticks_of(m, total - at) : 0;
    Info->Reserved = 0;
    return STATUS_SUCCESS;
}
