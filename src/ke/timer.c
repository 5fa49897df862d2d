/* SPDX-License-Identifier: MIT */
/*
 * timer.c - KTIMER: KeInitializeTimer(Ex), KeSetTimer(Ex),
 * KeSetCoalescableTimer, KeCancelTimer, KeReadStateTimer and expiry
 * (docs/facts/io.md section 1).
 *
 * DESIGN
 * Set timers sit in an ordered set (base/ordset.h) keyed by (due time, set
 * order): expiry takes the first node, O(log n); set and cancel are
 * O(log n) whatever the due times, and a timer set at a due time equal to
 * others' expires after them (FIFO among equal due times, as the sorted
 * list kdpc kept before did). The due time is virtual ns, also kept in
 * DueTime.QuadPart (Divergence: Windows keeps 100 ns interrupt time). The
 * queue lives in kdpc's memory: ke->timer_queued maps a set KTIMER to its
 * node, and TimerListEntry of a set timer points at itself, only for the
 * check that its memory is still a timer's (check_queued). Each set timer
 * is also in the address index (liveindex.c) for ExFreePool.
 *
 *   idle --KeSetTimerEx(due > now)--> set --tick >= due--> expired: signaled, DPC queued
 *     ^                                |  \\                        (periodic: set again first)
 *     +--------KeCancelTimer (TRUE)----+   +--KeSetTimerEx: cancel, then set again (TRUE)
 *
 * Expiry (1.11): a one-shot timer leaves the queue, a periodic one is put
 * back at due + Period first; then SignalState = 1 and waiters are released
 * (notification: all; synchronization: one, which clears it, 1.3); then
 * the DPC is queued with SystemArgument1/2 = low/high half of the system
 * time (1.12), to the CPU the DPC targets or else the CPU that set the
 * timer, as on Windows' per-CPU timer tables. A due time at or before now
 * expires inside KeSetTimerEx (1.7). Expiry is otherwise found at ticks
 * (clock.c): never early, at most one tick late (1.24).
 * Re-initialising a set timer does not cancel it (1.23): it still expires,
 * at the due time it was set for, but KeCancelTimer no longer sees it
 * (Inserted is cleared).
 *
 * Walks in expiry order (the next due time that can end an idle wait, the
 * unload and stack checks, reports) visit the set in key order, O(1) per
 * timer visited.
 */
#include "ke/ke.h"

#define MS 1000000ull

static void check_queued(kdpc_machine *m, PKTIMER t);

/* The node of a set timer, or NULL. */
static kdpc__osnode *node_of(kdpc__ke *ke, const KTIMER *t)
{
    return ke->timer_queued.live != 0 ? kdpc__ptrmap_get(&ke->timer_queued, (uintptr_t)t) : NULL;
}

bool kdpc__ke_timer_drop(kdpc_machine *m, const KTIMER *t)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    kdpc__osnode *n = node_of(ke, t);
    if (n == NULL)
        return false;
    if (n->aux != 0)
        kdpc__ke_live_remove(m, KDPC_LIVE_TIMER, (kdpc__osnode *)(uintptr_t)n->aux);
    kdpc__ordset_remove(&ke->timers, n);
    (void)kdpc__ptrmap_del(&ke->timer_queued, (uintptr_t)t);
    return true;
}

static void unlink_timer(kdpc_machine *m, PKTIMER t)
{
    (void)kdpc__ke_timer_drop(m, t);
    t->Header.Inserted = 0;
}

static void link_timer(kdpc_machine *m, kdpc__ke *ke, PKTIMER t, uint64_t due_ns)
{
    t->DueTime.QuadPart = due_ns;
    uint64_t seq = ++ke->timer_seq;
    kdpc__osnode *n = kdpc__ordset_insert(&ke->timers, due_ns, seq, t);
    if (n == NULL)
        return; /* out of host memory: the timer stays unset */
    if (!kdpc__ptrmap_put(&ke->timer_queued, (uintptr_t)t, n)) {
        kdpc__ordset_remove(&ke->timers, n);
        return;
    }
    t->TimerListEntry.Flink = &t->TimerListEntry;
    t->TimerListEntry.Blink = &t->TimerListEntry;
    /* its entry in the address index, by handle (0: out of host memory, not indexed) */
    n->aux = (uintptr_t)kdpc__ke_live_insert(m, KDPC_LIVE_TIMER, t, due_ns, seq);
    t->Header.Inserted = 1;
}

/* @t expires at @at; it was due at @due (its key: a re-initialised timer's DueTime reads 0). */
static void expire(kdpc_machine *m, PKTIMER t, uint64_t due, uint64_t at)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    unlink_timer(m, t);
    uint64_t period = kdpc__ke_timer_period_ns(t);
    if (period != 0) {
        uint64_t next = due + period;
        if (next <= at)
            next = at + period;
        link_timer(m, ke, t, next);
    }
    t->Header.SignalState = 1;
    kdpc__ke_signal(m, t);
    unsigned cpu = t->Processor < m->ncpu ? t->Processor : 0;
    /* obj.invalid (0xC7 P1 1) for a DPC that is no longer one; as a warning it is not queued */
    bool dpc_ok = t->Dpc != NULL && kdpc__ke_check_dpc(m, t->Dpc, true, "timer expiry");
    if (m->trace != NULL && t->Header.Signalling != 2) /* 2: a wait's timeout, no driver's */
        kdpc__trace_emit(m, KDPC_EV_TIMER_EXPIRE, &m->cpus[cpu], t, kdpc__ke_timer_routine(t),
                         dpc_ok && t->Dpc->DpcData == NULL, period);
    if (dpc_ok) {
        LONGLONG sys = m->cfg.boot_system_time + (LONGLONG)(m->now_ns / 100u);
        (void)kdpc__ke_insert_dpc(m, &m->cpus[cpu], t->Dpc,
                                  (PVOID)(uintptr_t)(ULONG)(sys & 0xffffffff),
                                  (PVOID)(uintptr_t)(ULONG)((ULONGLONG)sys >> 32), KDPC_DPCF_TIMER);
    }
}

/* A set timer is still a timer (its memory was not reused, a stack frame not overwritten).
 * obj.invalid 0xC7 P1 = 0 that no switch softens: the queue (kdpc's own memory) still holds an
 * address that is no longer a timer, and expiring it would follow its wait list and its DPC
 * pointer. Checked where a timer is taken in expiry order: at each tick (the first one), and by
 * the walks below; a set's O(log n) insert looks at no other timer. */
static void check_queued(kdpc_machine *m, PKTIMER t)
{
    unsigned type = t->Header.Type;
    if ((type == 8 || type == 9) && t->Header.Size == sizeof(KTIMER) / sizeof(LONG) &&
        !kdpc__ke_bad_ptr(t->TimerListEntry.Flink) && !kdpc__ke_bad_ptr(t->TimerListEntry.Blink))
        return;
    kdpc__bugcheck_rule(m, KDPC_R_OBJ_INVALID, 0xC7, 0, (uintptr_t)t, (uintptr_t)t,
                        (uintptr_t)t + sizeof(KTIMER),
                        "set timer %p was overwritten while in the timer queue (Type %u, Size %u): "
                        "its memory was freed or reused before the timer was cancelled",
                        (void *)t, type, (unsigned)t->Header.Size);
}

void kdpc__ke_expire_timers(kdpc_machine *m, uint64_t upto_ns)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    kdpc__osnode *n;
    while ((n = kdpc__ordset_first(&ke->timers)) != NULL) {
        PKTIMER t = n->val;
        check_queued(m, t);
        if (n->k1 > upto_ns)
            break;
        expire(m, t, n->k1, upto_ns);
    }
}

/*
 * The first timer in expiry order that can end an idle wait. Every timer passed over is a
 * periodic one (with include_periodic: one with no DPC and no waiter), due no later than the
 * answer: the clock expires it before it reaches the answer, so the walk costs no more than
 * the expiries it precedes.
 */
bool kdpc__ke_timers_pending(kdpc_machine *m, bool include_periodic, uint64_t *next_due)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    for (kdpc__osnode *n = kdpc__ordset_first(&ke->timers); n != NULL; n = kdpc__ordset_next(n)) {
        PKTIMER t = n->val;
        check_queued(m, t);
        /* A periodic timer with no DPC and no waiter wakes nobody: it cannot end a deadlock. */
        bool wakes = t->Dpc != NULL || !IsListEmpty(&t->Header.WaitListHead);
        if (kdpc__ke_timer_period_ns(t) == 0 || (include_periodic && wakes)) {
            *next_due = n->k1;
            return true;
        }
    }
    return false;
}

void kdpc__ke_timer_set(kdpc_machine *m, kdpc__cpu *c, PKTIMER t, uint64_t due_ns, PKDPC dpc)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    unlink_timer(m, t);
    t->Header.SignalState = 0;
    t->Dpc = dpc;
    t->Processor = c->index;
    if (m->trace != NULL && t->Header.Signalling != 2) /* 2: a wait's timeout, no driver's */
        kdpc__trace_emit(m, KDPC_EV_TIMER_SET, c, t, kdpc__ke_timer_routine(t),
                         due_ns > m->now_ns ? due_ns : m->now_ns, kdpc__ke_timer_period_ns(t));
    if (due_ns <= m->now_ns) {
        t->DueTime.QuadPart = m->now_ns;
        expire(m, t, m->now_ns, m->now_ns);
        return;
    }
    link_timer(m, ke, t, due_ns);
}

bool kdpc__ke_timer_cancel(kdpc_machine *m, PKTIMER t)
{
    if (t->Header.Inserted == 0 || !kdpc__ke_timer_drop(m, t))
        return false; /* not set, or re-initialised while set (1.23) */
    t->Header.Inserted = 0;
    return true;
}

void kdpc__ke_timers_free(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    kdpc__ordset_free(&ke->timers);
    kdpc__ptrmap_free(&ke->timer_queued);
}

void *kdpc__ke_timer_owner(kdpc_machine *m, const KTIMER *t)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    return ke->timer_owner.live != 0 ? kdpc__ptrmap_get(&ke->timer_owner, (uintptr_t)t) : NULL;
}

PKTIMER kdpc__ke_find_set_timer(kdpc_machine *m, bool (*match)(PKTIMER t, void *arg), void *arg)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    for (kdpc__osnode *n = kdpc__ordset_first(&ke->timers); n != NULL; n = kdpc__ordset_next(n)) {
        PKTIMER t = n->val;
        check_queued(m, t);
        if (match(t, arg))
            return t;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */

void kdpc_KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
    /* irql.ke_dispatch (IrqlKeDispatchLte); as a warning or off the timer is initialised */
    (void)kdpc__ke_irql_dispatch_ok(Timer, "KeInitializeTimerEx");
    kdpc__ke_timer_init(Timer, Type);
}

void kdpc__ke_timer_init(PKTIMER Timer, TIMER_TYPE Type)
{
    if (Timer == NULL) {
        /* obj.invalid: the stores fault (0x1E, 0xA at raised IRQL); as a warning: ignored */
        kdpc__thread *th = kdpc__self();
        if (th != NULL && th->cpu != NULL)
            (void)kdpc__ke_check_ptr(th->m, Timer, 0, true, th->cpu->irql,
                                     KDPC_RP(kdpc_KeInitializeTimerEx), "KeInitializeTimerEx");
        return;
    }
    Timer->Header.Type = (UCHAR)(Type == SynchronizationTimer ? 9 : 8);
    Timer->Header.Signalling = 0;
    Timer->Header.Size = (UCHAR)(sizeof(KTIMER) / sizeof(LONG));
    Timer->Header.Inserted = 0;
    Timer->Header.SignalState = 0;
    InitializeListHead(&Timer->Header.WaitListHead);
    Timer->DueTime.QuadPart = 0;
    Timer->Period = 0;
    Timer->Dpc = NULL;
    Timer->Processor = 0;
    kdpc__thread *th = kdpc__self();
    if (th != NULL && th->cpu != NULL) {
        kdpc__ke *ke = kdpc__ke_of(th->m);
        void *drv = kdpc__ke_current_driver(th->m, th->cpu);
        if (drv != NULL)
            (void)kdpc__ptrmap_put(&ke->timer_owner, (uintptr_t)Timer, drv);
        else if (ke->timer_owner.live != 0)
            (void)kdpc__ptrmap_del(&ke->timer_owner, (uintptr_t)Timer);
    }
}

static BOOLEAN set_timer(const char *name, PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period,
                         PKDPC Dpc)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    if (m == NULL)
        return FALSE;
    /* irql.ke_dispatch (IrqlKeDispatchLte); as a warning or off the timer is set */
    (void)kdpc__ke_irql_dispatch_ok(Timer, name);
    /* obj.invalid: a timer or DPC that is none (0xC7 P1 0 / 1), NULL (0xC4/0xE1); as a warning
     * the timer is not set and FALSE returned */
    if (!kdpc__ke_check_dispatcher(m, Timer, KDPC_OBJ_TIMER, name) ||
        !kdpc__ke_check_dpc(m, Dpc, true, name))
        return FALSE;
    if (Period < 0)
        kdpc__ke_bad_argument(m, name, Timer, Period, "Period", "a period in ms, >= 0");
    kdpc__ke_stack_note(m, c, Timer);
    if (Dpc != NULL)
        kdpc__ke_stack_note(m, c, Dpc);
    BOOLEAN was = kdpc__ke_timer_cancel(m, Timer) ? TRUE : FALSE;
    Timer->Period = Period > 0 ? Period : 0; /* a negative one, as a warning: one-shot */
    Timer->Header.Signalling = 0;
    kdpc__ke_timer_set(m, c, Timer, kdpc__ke_due_ns(m, DueTime.QuadPart), Dpc);
    kdpc__ke_point(m);
    return was;
}

BOOLEAN kdpc_KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    return set_timer("KeSetTimerEx", Timer, DueTime, Period, Dpc);
}

BOOLEAN kdpc_KeSetCoalescableTimer(PKTIMER Timer, LARGE_INTEGER DueTime, ULONG Period,
                                   ULONG TolerableDelay, PKDPC Dpc)
{
    /* Expiring at the due time is within [DueTime, DueTime + TolerableDelay] (1.28). */
    (void)TolerableDelay;
    /* Period must be <= MAXLONG: a larger one is a negative LONG period (obj.invalid) */
    return set_timer("KeSetCoalescableTimer", Timer, DueTime,
                     Period > 0x7fffffffu ? -1 : (LONG)Period, Dpc);
}

BOOLEAN kdpc_KeCancelTimer(PKTIMER Timer)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeCancelTimer", &c);
    /* obj.invalid (0xC7 P1 0, NULL 0xC4/0xE1); as a warning: FALSE, nothing done */
    if (m == NULL || !kdpc__ke_check_dispatcher(m, Timer, KDPC_OBJ_TIMER, "KeCancelTimer"))
        return FALSE;
    /* irql.ke_dispatch (IrqlKeDispatchLte); as a warning or off the timer is cancelled */
    (void)kdpc__ke_irql_dispatch_ok(Timer, "KeCancelTimer");
    BOOLEAN was = kdpc__ke_timer_cancel(m, Timer) ? TRUE : FALSE;
    kdpc__trace(m, KDPC_EV_TIMER_CANCEL, c, Timer, NULL, was);
    kdpc__ke_point(m);
    return was;
}

BOOLEAN kdpc_KeReadStateTimer(PKTIMER Timer)
{
    (void)kdpc__ke_irql_dispatch_ok(Timer, "KeReadStateTimer"); /* irql.ke_dispatch */
    kdpc__thread *th = kdpc__self();
    /* obj.invalid (0xC7 P1 0, NULL 0xC4/0xE1); as a warning: FALSE */
    if (th != NULL && th->cpu != NULL &&
        !kdpc__ke_check_dispatcher(th->m, Timer, KDPC_OBJ_TIMER, "KeReadStateTimer"))
        return FALSE;
    return Timer != NULL && Timer->Header.SignalState != 0 ? TRUE : FALSE;
}
