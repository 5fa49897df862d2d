/* SPDX-License-Identifier: MIT */
/*
 * worker.c - system worker threads and executive work items
 * (ExQueueWorkItem; the I/O work items of io/workitem.c ride on it)
 * (docs/facts/io.md section 2).
 *
 * DESIGN
 * Three pools: Critical (cfg.critical_workers threads), Delayed
 * (cfg.delayed_workers) and HyperCritical (cfg.hypercritical_workers); the
 * other queue types share the Delayed pool (Divergence: Windows has more
 * pools, with other priorities; kdpc has no priorities). Worker threads are
 * system threads created on first use; a worker with nothing to do blocks
 * as a daemon, which keeps no run alive. Items are served FIFO per pool.
 *
 *   idle --Ex/IoQueueWorkItem--> queued --worker: unlink, Flink = NULL--> running --> idle
 *                                  (re-queueing is legal once the routine has started: 2.6)
 *
 * After each routine: IRQL must be PASSIVE_LEVEL (work.bad_irql_return,
 * 0xE1 with P1 routine, P2 IRQL, P3 parameter, P4 item: 2.12) and no spin
 * lock may be held (dpc.lock_held).
 */
#include <stdlib.h>
#include <string.h>

#include "ke/ke.h"

#define POOLS 3

typedef struct pool {
    LIST_ENTRY queue;
    unsigned threads, max;
    struct _KTHREAD *idle[64];
    unsigned nidle;
} pool;

typedef struct workers {
    pool pools[POOLS];
    kdpc__ptrmap owner; /* queued WORK_QUEUE_ITEM -> driver that queued it */
    kdpc__ptrmap shown; /* while tracing: queued WORK_QUEUE_ITEM -> the routine the trace names
                           (an I/O work item's driver routine), when not its WorkerRoutine */
} workers;

/* Tracing: the routine the trace names for a dequeued @item (forgotten here). */
static kdpc_routine_ptr shown_routine(workers *w, PWORK_QUEUE_ITEM item)
{
    void *v = w->shown.live != 0 ? kdpc__ptrmap_del(&w->shown, (uintptr_t)item) : NULL;
    kdpc_routine_ptr r = KDPC_RP(item->WorkerRoutine);
    if (v != NULL)
        memcpy(&r, &v, sizeof(r));
    return r;
}

static workers *workers_of(kdpc_machine *m, bool create)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke->workers == NULL && create) {
        workers *w = calloc(1, sizeof(*w));
        if (w == NULL)
            return NULL;
        unsigned max[POOLS] = {m->cfg.critical_workers, m->cfg.delayed_workers,
                               m->cfg.hypercritical_workers};
        for (unsigned i = 0; i < POOLS; i++) {
            InitializeListHead(&w->pools[i].queue);
            w->pools[i].max = max[i] == 0 ? 1 : (max[i] > 64 ? 64 : max[i]);
        }
        ke->workers = w;
    }
    return ke->workers;
}

static pool *pool_for(workers *w, WORK_QUEUE_TYPE type)
{
    switch (type) {
    case CriticalWorkQueue:
        return &w->pools[0];
    case HyperCriticalWorkQueue:
        return &w->pools[2];
    default:
        return &w->pools[1];
    }
}

static void worker_main(PVOID ctx)
{
    pool *p = ctx;
    kdpc__thread *self = kdpc__self();
    kdpc_machine *m = self->m;
    for (;;) {
        while (IsListEmpty(&p->queue)) {
            if (p->nidle < 64)
                p->idle[p->nidle++] = self->ke;
            kdpc__thread_block_daemon(m);
        }
        PLIST_ENTRY e = RemoveHeadList(&p->queue);
        PWORK_QUEUE_ITEM item = CONTAINING_RECORD(e, WORK_QUEUE_ITEM, List);
        item->List.Flink = NULL; /* dequeued before the routine runs (2.6) */
        kdpc__ke_live_del(m, KDPC_LIVE_WORK, item);
        workers *w = workers_of(m, false);
        if (w->owner.live != 0)
            (void)kdpc__ptrmap_del(&w->owner, (uintptr_t)item);
        PWORKER_THREAD_ROUTINE routine = item->WorkerRoutine;
        PVOID param = item->Parameter;
        kdpc__cpu *c = self->cpu;
        /* arg: the queue type of the pool it ran from (Critical, Delayed, HyperCritical) */
        unsigned type = p == &w->pools[0]
                            ? CriticalWorkQueue
                            : (p == &w->pools[2] ? HyperCriticalWorkQueue : DelayedWorkQueue);
        kdpc_routine_ptr shown = m->trace != NULL ? shown_routine(w, item) : NULL;
        uint64_t began = m->now_ns;
        if (m->trace != NULL)
            kdpc__trace_emit(m, KDPC_EV_WORK_BEGIN, c, item, shown, type, self->id);
        unsigned held_before = kdpc__locks_held(m, c);
        kdpc_routine_ptr saved = self->routine;
        self->routine = KDPC_RP(routine);
        routine(param);
        c = self->cpu;
        /* the item may be freed or queued again by now: the end names the object the begin
         * saw (trace.c), whatever lives at its address now */
        if (m->trace != NULL)
            kdpc__trace_emit(m, KDPC_EV_WORK_END, c, item, shown, m->now_ns - began, self->id);
        /* An I/O work item's trampoline names the driver's routine in self->routine. */
        kdpc_routine_ptr named = self->routine;
        if (c->irql != PASSIVE_LEVEL) {
            KIRQL now = c->irql;
            kdpc__violation(m, KDPC_R_WORK_BAD_IRQL_RETURN, 0xE1, kdpc__fnaddr(KDPC_RP(routine)),
                            now, (uintptr_t)param, (uintptr_t)item, named,
                            "work routine returned at IRQL %u; it must return at PASSIVE_LEVEL",
                            (unsigned)now);
            kdpc__ke_set_irql(m, c, PASSIVE_LEVEL);
        }
        unsigned held_after = kdpc__locks_held(m, c);
        if (held_after > held_before) {
            kdpc__lock *l = kdpc__lock_held_at(m, c, held_after - 1);
            kdpc__violation(m, KDPC_R_DPC_LOCK_HELD, 0xC4, 0x00040009u, l->addr, (uintptr_t)item, 0,
                            named, "work routine returned holding spin lock %#lx",
                            (unsigned long)l->addr);
        }
        self->routine = saved;
        kdpc__ke_point(m);
    }
}

void kdpc__ke_queue_work(kdpc_machine *m, kdpc__cpu *c, PWORK_QUEUE_ITEM item, WORK_QUEUE_TYPE type,
                         const char *name, kdpc_routine_ptr routine, const void *device)
{
    if (c->irql > DISPATCH_LEVEL)
        /* 0xC4/0xE5, Verifier's "kernel API at the wrong IRQL" (P2 the IRQL; P3, reserved on
         * Windows, the work item): no DDI compliance rule names the work-item calls */
        kdpc__violation(m, KDPC_R_WORK_QUEUE_IRQL, 0xC4, 0xE5u, c->irql, (uintptr_t)item, 0, NULL,
                        "%s called at IRQL %u, above DISPATCH_LEVEL", name, (unsigned)c->irql);
    if (item->List.Flink != NULL) {
        kdpc__violation(m, KDPC_R_WORK_REQUEUE, 0xE4, 1, (uintptr_t)item,
                        (uintptr_t)kdpc__fnaddr(KDPC_RP(item->WorkerRoutine)), 0, NULL,
                        "%s of a work item that is still queued (an active worker item queued "
                        "again)",
                        name);
        return; /* as a warning: the item stays queued once (Windows would corrupt the list) */
    }
    workers *w = workers_of(m, true);
    if (w == NULL)
        return;
    pool *p = pool_for(w, type);
    InsertTailList(&p->queue, &item->List);
    kdpc__ke_live_add(m, KDPC_LIVE_WORK, item, (uint64_t)(p - w->pools),
                      ++kdpc__ke_of(m)->work_seq);
    void *drv = kdpc__ke_current_driver(m, c);
    if (drv != NULL)
        (void)kdpc__ptrmap_put(&w->owner, (uintptr_t)item, drv);
    if (m->trace != NULL) {
        if (routine == NULL)
            routine = KDPC_RP(item->WorkerRoutine);
        void *v;
        memcpy(&v, &routine, sizeof(v));
        if (routine != KDPC_RP(item->WorkerRoutine))
            (void)kdpc__ptrmap_put(&w->shown, (uintptr_t)item, v);
        else if (w->shown.live != 0)
            (void)kdpc__ptrmap_del(&w->shown, (uintptr_t)item);
        kdpc__trace_obj2(m, KDPC_EV_WORK_QUEUE, c, item, routine, (uint64_t)type, device);
    }
    if (p->nidle > 0) {
        struct _KTHREAD *kt = p->idle[--p->nidle];
        kdpc__thread_ready(m, kt->t);
    } else if (p->threads < p->max) {
        struct _KTHREAD *kt = kdpc__ke_thread_new(m, worker_main, p, NULL);
        if (kt != NULL) {
            p->threads++;
            kdpc__trace(m, KDPC_EV_THREAD_START, c, NULL, KDPC_RP(worker_main), kt->t->id);
            kdpc__thread_ready(m, kt->t);
        }
    }
}

void kdpc_ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExQueueWorkItem", &c);
    if (m == NULL)
        return;
    /* obj.invalid: a NULL item faults (0x1E / 0xA); no routine (ExInitializeWorkItem never
     * ran, or a garbage address) is 0xE4 WORKER_INVALID P1 7 (invalid worker routine address),
     * an unknown queue type 0xE4 P1 6 (P2 the item, P3 the routine or the type). As a warning
     * nothing is queued. A 0xCC-filled item has a List.Flink, so work.requeue (0xE4 P1 1) takes
     * it first, as Windows' own check does. */
    if (!kdpc__ke_check_ptr(m, WorkItem, offsetof(WORK_QUEUE_ITEM, List), true, c->irql,
                            KDPC_RP(kdpc_ExQueueWorkItem), "ExQueueWorkItem"))
        return;
    kdpc__pool_paged_object(m, WorkItem, sizeof(*WorkItem), 0x131, "ExQueueWorkItem",
                            "work item"); /* area: pool: mem.paged_object */
    uintptr_t routine = kdpc__fnaddr(KDPC_RP(WorkItem->WorkerRoutine));
    if (WorkItem->List.Flink == NULL &&
        (routine < 4096u || kdpc__ke_bad_ptr((const void *)(routine & ~(uintptr_t)3)))) {
        kdpc__violation(m, KDPC_R_OBJ_INVALID, 0xE4, 7, (uintptr_t)WorkItem,
                        kdpc__fnaddr(KDPC_RP(WorkItem->WorkerRoutine)), QueueType, NULL,
                        "ExQueueWorkItem(%p): worker routine %#llx is no code address "
                        "(ExInitializeWorkItem never ran?)",
                        (void *)WorkItem,
                        (unsigned long long)kdpc__fnaddr(KDPC_RP(WorkItem->WorkerRoutine)));
        return;
    }
    if ((unsigned)QueueType >= (unsigned)MaximumWorkQueue) {
        kdpc__violation(m, KDPC_R_OBJ_INVALID, 0xE4, 6, (uintptr_t)WorkItem, (unsigned)QueueType, 0,
                        NULL, "ExQueueWorkItem(%p, %d): no such work queue type", (void *)WorkItem,
                        (int)QueueType);
        return;
    }
    kdpc__ke_queue_work(m, c, WorkItem, QueueType, "ExQueueWorkItem", NULL, NULL);
    kdpc__ke_point(m);
}

PWORK_QUEUE_ITEM kdpc__ke_find_queued_work(kdpc_machine *m,
                                           bool (*match)(PWORK_QUEUE_ITEM item, void *arg),
                                           void *arg)
{
    workers *w = workers_of(m, false);
    if (w == NULL)
        return NULL;
    for (unsigned i = 0; i < POOLS; i++) {
        for (PLIST_ENTRY e = w->pools[i].queue.Flink; e != &w->pools[i].queue; e = e->Flink) {
            PWORK_QUEUE_ITEM item = CONTAINING_RECORD(e, WORK_QUEUE_ITEM, List);
            if (match(item, arg))
                return item;
        }
    }
    return NULL;
}

void *kdpc__ke_work_owner(kdpc_machine *m, const void *item)
{
    workers *w = workers_of(m, false);
    return w != NULL && w->owner.live != 0 ? kdpc__ptrmap_get(&w->owner, (uintptr_t)item) : NULL;
}

void kdpc__ke_workers_free(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    workers *w = ke->workers;
    if (w == NULL)
        return;
    kdpc__ptrmap_free(&w->owner);
    kdpc__ptrmap_free(&w->shown);
    free(w);
    ke->workers = NULL;
}

void kdpc__ke_unqueue_work(kdpc_machine *m, PWORK_QUEUE_ITEM item)
{
    workers *w = workers_of(m, false);
    if (w == NULL || item->List.Flink == NULL)
        return;
    RemoveEntryList(&item->List);
    item->List.Flink = NULL;
    kdpc__ke_live_del(m, KDPC_LIVE_WORK, item);
    if (w->owner.live != 0)
        (void)kdpc__ptrmap_del(&w->owner, (uintptr_t)item);
    if (w->shown.live != 0)
        (void)kdpc__ptrmap_del(&w->shown, (uintptr_t)item);
}
