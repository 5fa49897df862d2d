/* SPDX-License-Identifier: MIT */
/*
 * wait.c - dispatcher objects and waits: events, semaphores, mutexes,
 * thread objects, KeWaitForSingleObject / KeWaitForMultipleObjects,
 * KeDelayExecutionThread (docs/facts/io.md section 3; the Ob reference routines are in
 * src/ob/reference.c).
 *
 * DESIGN
 * Every waitable object starts with a DISPATCHER_HEADER. A thread that must
 * block links one wait block per object into the objects' WaitListHead
 * (plus one on its own timeout timer) and blocks, freeing its CPU.
 * Signalling is eager, as on Windows: when an object becomes signaled,
 * its waiters are visited in FIFO order and each whose whole wait is now
 * satisfied gets its side effects applied at once (a synchronization
 * event or timer is cleared, a semaphore unit taken, a mutex owned),
 * its wait blocks unlinked and its status set, and it becomes ready. So
 * KeSetEvent on a synchronization event with a waiter leaves it at 0 (3.4).
 *
 *   running --wait, not satisfied--> blocked --signal satisfies / timeout--> ready --> running
 *
 * Side effects by Header.Type: 0 notification event, 8 notification timer,
 * 6 thread: none; 1 synchronization event, 9 synchronization timer: cleared;
 * 5 semaphore: count - 1; 2 mutant: SignalState - 1, owner = the thread.
 */
#include "ke/ke.h"

#define T_NOTIFICATION_EVENT 0
#define T_SYNC_EVENT         1
#define T_MUTANT             2
#define T_SEMAPHORE          5
#define T_THREAD             6
#define T_NOTIFICATION_TIMER 8
#define T_SYNC_TIMER         9

static DISPATCHER_HEADER *hdr(PVOID o)
{
    return (DISPATCHER_HEADER *)o;
}

static bool signaled_for(PVOID o, struct _KTHREAD *th)
{
    DISPATCHER_HEADER *h = hdr(o);
    if (h->Type == T_MUTANT)
        return h->SignalState > 0 || ((PKMUTANT)o)->OwnerThread == (PKTHREAD)th;
    return h->SignalState > 0;
}

static void consume(PVOID o, struct _KTHREAD *th)
{
    DISPATCHER_HEADER *h = hdr(o);
    switch (h->Type) {
    case T_SYNC_EVENT:
    case T_SYNC_TIMER:
        h->SignalState = 0;
        break;
    case T_SEMAPHORE:
        h->SignalState--;
        break;
    case T_MUTANT:
        h->SignalState--;
        ((PKMUTANT)o)->OwnerThread = (PKTHREAD)th;
        break;
    default:
        break;
    }
}

/* Which status would a wait on objects[] get now? STATUS_PENDING when none. */
static NTSTATUS status_of(PVOID const objects[], ULONG count, WAIT_TYPE type, struct _KTHREAD *th)
{
    if (type == WaitAny) {
        for (ULONG i = 0; i < count; i++) {
            if (signaled_for(objects[i], th))
                return STATUS_WAIT_0 + (NTSTATUS)i;
        }
        return STATUS_PENDING;
    }
    for (ULONG i = 0; i < count; i++) {
        if (!signaled_for(objects[i], th))
            return STATUS_PENDING;
    }
    return count > 0 ? STATUS_SUCCESS : STATUS_PENDING;
}

static void apply_status(PVOID const objects[], ULONG count, WAIT_TYPE type, struct _KTHREAD *th,
                         NTSTATUS st)
{
    if (st == STATUS_TIMEOUT || st == STATUS_PENDING)
        return;
    if (type == WaitAny) {
        consume(objects[st - STATUS_WAIT_0], th);
        return;
    }
    for (ULONG i = 0; i < count; i++)
        consume(objects[i], th);
}

/* A blocked thread's recorded wait: satisfied now? */
static NTSTATUS satisfy_status(struct _KTHREAD *th)
{
    NTSTATUS st = status_of(th->objects, th->wait_count, th->wait_type, th);
    if (st == STATUS_PENDING && th->wait_timeout && th->timeout.Header.SignalState > 0)
        return STATUS_TIMEOUT;
    return st;
}

static void apply(struct _KTHREAD *th, NTSTATUS st)
{
    apply_status(th->objects, th->wait_count, th->wait_type, th, st);
}

static void unlink_blocks(kdpc_machine *m, struct _KTHREAD *th)
{
    ULONG n = th->wait_count + (th->wait_timeout ? 1u : 0u);
    for (ULONG i = 0; i < n; i++)
        RemoveEntryList(&th->blocks[i].link);
    if (th->wait_timeout)
        (void)kdpc__ke_timer_cancel(m, &th->timeout);
    th->waiting = false;
}

void kdpc__ke_signal(kdpc_machine *m, PVOID object)
{
    DISPATCHER_HEADER *h = hdr(object);
    bool progress = true;
    while (progress && h->SignalState > 0) {
        progress = false;
        for (PLIST_ENTRY e = h->WaitListHead.Flink; e != &h->WaitListHead; e = e->Flink) {
            kdpc__waitblock *b = CONTAINING_RECORD(e, kdpc__waitblock, link);
            struct _KTHREAD *th = b->thread;
            NTSTATUS st = satisfy_status(th);
            if (st == STATUS_PENDING)
                continue;
            apply(th, st);
            th->wait_status = st;
            unlink_blocks(m, th);
            kdpc__thread_ready(m, th->t);
            progress = true;
            break; /* the list changed: start again from its head */
        }
    }
}

static struct _KTHREAD *cur_kthread(kdpc__cpu *c)
{
    return c->thread->ke;
}

NTSTATUS kdpc__ke_wait(kdpc_machine *m, kdpc__cpu *c, ULONG count, PVOID objects[], WAIT_TYPE type,
                       PLARGE_INTEGER timeout, bool checked)
{
    struct _KTHREAD *th = cur_kthread(c);
    if (checked) {
        if (th != NULL && th->wait_next) {
            th->wait_next = false; /* KeSetEvent(Wait = TRUE) was followed by this wait (3.3) */
            kdpc__ke_set_irql(m, c, th->wait_next_irql);
        }
        bool poll = timeout != NULL && timeout->QuadPart == 0;
        /* Divergence: Verifier's 0x3B for every case, not the finer 0x120 (above DISPATCH),
         * 0x121 (NULL timeout) and 0x122 (non-zero timeout), whose P2 is the address of an IRQL
         * value kdpc does not keep; P2 (the IRQL) and P4 (the timeout) tell the cases apart */
        if (c->irql >= DISPATCH_LEVEL && !poll)
            kdpc__violation(m, KDPC_R_DPC_WAIT, 0xC4, 0x3B, c->irql,
                            count > 0 ? (uintptr_t)objects[0] : 0, (uintptr_t)timeout, NULL,
                            "a wait with a %s timeout at IRQL %u: at DISPATCH_LEVEL and above "
                            "only a zero timeout (a poll) is allowed",
                            timeout == NULL ? "NULL (infinite)" : "non-zero", (unsigned)c->irql);
    }
    /* Satisfied now? (The owner of a mutex is the thread under the caller, if any.) */
    NTSTATUS now_st = status_of(objects, count, type, th);
    if (now_st != STATUS_PENDING) {
        apply_status(objects, count, type, th, now_st);
        return now_st;
    }
    uint64_t due = 0;
    if (timeout != NULL) {
        due = kdpc__ke_due_ns(m, timeout->QuadPart);
        if (timeout->QuadPart == 0 || due <= m->now_ns)
            return STATUS_TIMEOUT;
    }
    if (th == NULL || c->irql >= DISPATCH_LEVEL || c->no_switch != 0) {
        /* Blocking here would switch away from a DPC or a raised IRQL: 0xB8 (7.6). */
        kdpc__bugcheck_rule(m, KDPC_R_DPC_WAIT, 0xB8, (uintptr_t)c->thread->ke, 0, 0, 0,
                            "a wait would block at IRQL %u%s: the CPU cannot switch away",
                            (unsigned)c->irql, c->no_switch != 0 ? " inside a DPC" : "");
    }
    ULONG n = count;
    th->wait_type = type;
    th->wait_count = count;
    th->wait_timeout = false;
    for (ULONG i = 0; i < count; i++) {
        th->objects[i] = objects[i];
        th->blocks[i].object = objects[i];
        th->blocks[i].thread = th;
        th->blocks[i].index = i;
        InsertTailList(&hdr(objects[i])->WaitListHead, &th->blocks[i].link);
    }
    if (timeout != NULL) {
        kdpc__ke_timer_init(&th->timeout, NotificationTimer); /* the kernel's own timer */
        th->timeout.Header.Signalling = 2; /* a thread's wait timeout: not a driver's timer */
        th->wait_timeout = true;
        th->blocks[n].thread = th;
        th->blocks[n].index = n;
        th->blocks[n].object = &th->timeout;
        InsertTailList(&th->timeout.Header.WaitListHead, &th->blocks[n].link);
        kdpc__ke_timer_set(m, c, &th->timeout, due, NULL);
    }
    th->waiting = true;
    th->wait_status = STATUS_PENDING;
    while (th->waiting)
        kdpc__thread_block(m);
    return th->wait_status;
}

NTSTATUS kdpc_KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                    BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    (void)WaitReason;
    (void)WaitMode;
    (void)Alertable;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeWaitForSingleObject", &c);
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    /* obj.invalid: NULL 0xC4/0xE1, a non-dispatcher object 0xC4/0x1002; as a warning no wait:
     * STATUS_INVALID_PARAMETER */
    if (!kdpc__ke_check_dispatcher(m, Object, KDPC_OBJ_WAITABLE, "KeWaitForSingleObject"))
        return STATUS_INVALID_PARAMETER;
    PVOID objs[1] = {Object};
    NTSTATUS st = kdpc__ke_wait(m, c, 1, objs, WaitAny, Timeout, true);
    kdpc__ke_point(m);
    return st;
}

NTSTATUS kdpc_KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                       KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                       BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                       PKWAIT_BLOCK WaitBlockArray)
{
    (void)WaitReason;
    (void)WaitMode;
    (void)Alertable;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeWaitForMultipleObjects", &c);
    if (m == NULL || Count == 0)
        return STATUS_INVALID_PARAMETER;
    /* obj.invalid: a NULL array faults, NULL or non-dispatcher objects as for a single wait; as a
     * warning no wait: STATUS_INVALID_PARAMETER */
    if (Object == NULL) {
        (void)kdpc__ke_check_ptr(m, Object, 0, false, c->irql,
                                 KDPC_RP(kdpc_KeWaitForMultipleObjects),
                                 "KeWaitForMultipleObjects");
        return STATUS_INVALID_PARAMETER;
    }
    for (ULONG i = 0; i < Count && i < MAXIMUM_WAIT_OBJECTS; i++) {
        if (!kdpc__ke_check_dispatcher(m, Object[i], KDPC_OBJ_WAITABLE, "KeWaitForMultipleObjects"))
            return STATUS_INVALID_PARAMETER;
    }
    if (Count > MAXIMUM_WAIT_OBJECTS || (Count > THREAD_WAIT_OBJECTS && WaitBlockArray == NULL))
        kdpc__violation(m, KDPC_R_WAIT_OBJECTS, 0xC, Count, (uintptr_t)WaitBlockArray, 0, 0, NULL,
                        "KeWaitForMultipleObjects with %lu objects%s (MAXIMUM_WAIT_OBJECTS is "
                        "64; more than 3 need a WaitBlockArray)",
                        (unsigned long)Count,
                        WaitBlockArray == NULL ? " and no WaitBlockArray" : "");
    if (Count > MAXIMUM_WAIT_OBJECTS)
        return STATUS_INVALID_PARAMETER; /* as a warning: kdpc has 64 wait blocks a thread */
    NTSTATUS st = kdpc__ke_wait(m, c, Count, Object, WaitType, Timeout, true);
    kdpc__ke_point(m);
    return st;
}

NTSTATUS kdpc_KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                     PLARGE_INTEGER Interval)
{
    (void)WaitMode;
    (void)Alertable;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeDelayExecutionThread", &c);
    if (m == NULL || Interval == NULL)
        return STATUS_INVALID_PARAMETER;
    if (c->irql > APC_LEVEL)
        kdpc__violation(m, KDPC_R_DPC_WAIT, 0xC4, 0x3B, c->irql, 0, (uintptr_t)Interval, NULL,
                        "KeDelayExecutionThread at IRQL %u (it must be <= APC_LEVEL)",
                        (unsigned)c->irql);
    if (Interval->QuadPart == 0) {
        kdpc__ke_point(m); /* a yield */
        return STATUS_SUCCESS;
    }
    NTSTATUS st = kdpc__ke_wait(m, c, 0, NULL, WaitAny, Interval, false);
    kdpc__ke_point(m);
    return st == STATUS_TIMEOUT ? STATUS_SUCCESS : st;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

static void init_header(DISPATCHER_HEADER *h, UCHAR type, LONG state, size_t size)
{
    h->Type = type;
    h->Signalling = 0;
    h->Size = (UCHAR)(size / sizeof(LONG));
    h->Inserted = 0;
    h->SignalState = state;
    InitializeListHead(&h->WaitListHead);
}

/* KeInitialize*(NULL): the stores fault (obj.invalid, 0x1E or 0xA); as a warning: ignored. */
static bool init_ok(const void *obj, kdpc_routine_ptr fn, const char *name)
{
    if (obj != NULL)
        return true;
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->cpu != NULL)
        (void)kdpc__ke_check_ptr(t->m, obj, 0, true, t->cpu->irql, fn, name);
    return false;
}

/* In simulated code: obj.invalid unless @obj is one of @kinds. Outside a machine: not NULL. */
static bool obj_ok(const void *obj, unsigned kinds, const char *name)
{
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->cpu != NULL)
        return kdpc__ke_check_dispatcher(t->m, obj, kinds, name);
    return obj != NULL;
}

void kdpc_KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    if (init_ok(Event, KDPC_RP(kdpc_KeInitializeEvent), "KeInitializeEvent"))
        init_header(&Event->Header,
                    Type == SynchronizationEvent ? T_SYNC_EVENT : T_NOTIFICATION_EVENT,
                    State ? 1 : 0, sizeof(*Event));
}

static LONG set_event(const char *name, PRKEVENT Event, BOOLEAN Wait, bool pulse)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    /* obj.invalid (NULL 0xC4/0xE1, no event 0xC4/0x1002); as a warning: 0, nothing signaled */
    if (m == NULL || !kdpc__ke_check_dispatcher(m, Event, KDPC_OBJ_EVENT, name))
        return 0;
    LONG old = Event->Header.SignalState;
    Event->Header.SignalState = 1;
    kdpc__ke_signal(m, Event);
    if (pulse)
        Event->Header.SignalState = 0;
    struct _KTHREAD *th = cur_kthread(c);
    if (Wait && th != NULL && c->irql <= APC_LEVEL) {
        /* Return raised; the next KeWaitFor* restores the IRQL (3.3). */
        th->wait_next = true;
        th->wait_next_irql = c->irql;
        kdpc__ke_set_irql(m, c, DISPATCH_LEVEL);
        return old;
    }
    kdpc__ke_point(m);
    return old;
}

LONG kdpc_KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    (void)Increment;
    /* irql.ke_set_event (0xC4/0x80), irql.ke_set_event_wait (0xC4/0x20016); as a warning or
     * off the event is set as a free kernel does */
    (void)kdpc__ke_irql_set_event_ok(Event, Wait, "KeSetEvent");
    kdpc__ke_count_event_set(); /* dispatch: io.completion_event_pending */
    return set_event("KeSetEvent", Event, Wait, false);
}

LONG kdpc__ke_event_set(PRKEVENT Event)
{
    return set_event("KeSetEvent", Event, FALSE, false);
}

LONG kdpc_KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    (void)Increment;
    /* Divergence: IrqlKeDispatchLte names KePulseEvent, but its Wait parameter makes it
     * KeSetEvent's twin: the same two rules */
    (void)kdpc__ke_irql_set_event_ok(Event, Wait, "KePulseEvent");
    return set_event("KePulseEvent", Event, Wait, true);
}

static LONG reset_event(PRKEVENT Event)
{
    if (!obj_ok(Event, KDPC_OBJ_EVENT, "KeResetEvent"))
        return 0; /* obj.invalid as a warning: 0, nothing done */
    LONG old = Event->Header.SignalState;
    Event->Header.SignalState = 0;
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->cpu != NULL)
        kdpc__ke_point(t->m);
    return old;
}

/* irql.ke_dispatch (IrqlKeDispatchLte) on KeResetEvent, KeClearEvent,
 * KeInitializeSemaphore, KeReleaseMutex: as a warning or off the call goes on. */
LONG kdpc_KeResetEvent(PRKEVENT Event)
{
    (void)kdpc__ke_irql_dispatch_ok(Event, "KeResetEvent");
    return reset_event(Event);
}

void kdpc_KeClearEvent(PRKEVENT Event)
{
    (void)kdpc__ke_irql_dispatch_ok(Event, "KeClearEvent");
    (void)reset_event(Event);
}

/* Not IRQL-checked: its page lets an ISR read a resident event's state at DIRQL (IrqlKeDispatchLte
 * lists it; Divergence in docs/rules.in, a correct ISR is not reported). */
LONG kdpc_KeReadStateEvent(PRKEVENT Event)
{
    return obj_ok(Event, KDPC_OBJ_EVENT, "KeReadStateEvent") ? Event->Header.SignalState : 0;
}

/* ------------------------------------------------------------------ */
/* Semaphores                                                          */

void kdpc_KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
    (void)kdpc__ke_irql_dispatch_ok(Semaphore, "KeInitializeSemaphore");
    if (!init_ok(Semaphore, KDPC_RP(kdpc_KeInitializeSemaphore), "KeInitializeSemaphore"))
        return;
    /* Count and Limit "must be positive" (Count 0 is the usual empty semaphore), Count <= Limit.
     * As a warning they are stored as given, as a free kernel does. */
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->cpu != NULL) {
        if (Limit <= 0)
            kdpc__ke_bad_argument(t->m, "KeInitializeSemaphore", Semaphore, Limit, "Limit",
                                  "it must be positive");
        else if (Count < 0 || Count > Limit)
            kdpc__ke_bad_argument(t->m, "KeInitializeSemaphore", Semaphore, Count, "Count",
                                  "it must be >= 0 and <= Limit");
    }
    init_header(&Semaphore->Header, T_SEMAPHORE, Count, sizeof(*Semaphore));
    Semaphore->Limit = Limit;
}

LONG kdpc_KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                             BOOLEAN Wait)
{
    (void)Increment;
    (void)Wait;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeReleaseSemaphore", &c);
    /* obj.invalid; as a warning: 0, nothing released */
    if (m == NULL ||
        !kdpc__ke_check_dispatcher(m, Semaphore, KDPC_OBJ_SEMAPHORE, "KeReleaseSemaphore"))
        return 0;
    /* irql.ke_dispatch with 0xC4/0xE5 (no DDI rule names it); as a warning or off: released */
    (void)kdpc__ke_irql_dispatch_other_ok(Semaphore, "KeReleaseSemaphore");
    LONG old = Semaphore->Header.SignalState;
    if (Adjustment < 0 || old > Semaphore->Limit - Adjustment)
        kdpc__bugcheck_rule(m, KDPC_R_KE_BUGCHECK, 0x1E,
                            (uint64_t)(uint32_t)STATUS_SEMAPHORE_LIMIT_EXCEEDED,
                            (uintptr_t)Semaphore, 0, 0,
                            "KeReleaseSemaphore by %ld on a count of %ld would pass the limit %ld "
                            "(STATUS_SEMAPHORE_LIMIT_EXCEEDED raised)",
                            (long)Adjustment, (long)old, (long)Semaphore->Limit);
    Semaphore->Header.SignalState = old + Adjustment;
    kdpc__ke_signal(m, Semaphore);
    kdpc__ke_point(m);
    return old;
}

/* Not IRQL-checked: Microsoft documents it at any IRQL. */
LONG kdpc_KeReadStateSemaphore(PRKSEMAPHORE Semaphore)
{
    return obj_ok(Semaphore, KDPC_OBJ_SEMAPHORE, "KeReadStateSemaphore")
               ? Semaphore->Header.SignalState
               : 0;
}

/* ------------------------------------------------------------------ */
/* Mutexes                                                             */

void kdpc_KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
    (void)Level;
    if (!init_ok(Mutex, KDPC_RP(kdpc_KeInitializeMutex), "KeInitializeMutex"))
        return;
    init_header(&Mutex->Header, T_MUTANT, 1, sizeof(*Mutex));
    InitializeListHead(&Mutex->MutantListEntry);
    Mutex->OwnerThread = NULL;
    Mutex->Abandoned = FALSE;
    Mutex->ApcDisable = 1;
}

LONG kdpc_KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
    (void)Wait;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeReleaseMutex", &c);
    /* obj.invalid; as a warning: 0, nothing released */
    if (m == NULL || !kdpc__ke_check_dispatcher(m, Mutex, KDPC_OBJ_MUTEX, "KeReleaseMutex"))
        return 0;
    (void)kdpc__ke_irql_dispatch_ok(Mutex, "KeReleaseMutex");
    LONG old = Mutex->Header.SignalState;
    if (Mutex->OwnerThread != (PKTHREAD)cur_kthread(c) || old > 0)
        kdpc__bugcheck_rule(m, KDPC_R_KE_BUGCHECK, 0x1E,
                            (uint64_t)(uint32_t)STATUS_MUTANT_NOT_OWNED, (uintptr_t)Mutex, 0, 0,
                            "KeReleaseMutex by a thread that does not own the mutex "
                            "(STATUS_MUTANT_NOT_OWNED raised)");
    Mutex->Header.SignalState = old + 1;
    if (Mutex->Header.SignalState > 0) {
        Mutex->OwnerThread = NULL;
        kdpc__ke_signal(m, Mutex);
    }
    kdpc__ke_point(m);
    return old;
}

LONG kdpc_KeReadStateMutex(PRKMUTEX Mutex)
{
    (void)kdpc__ke_irql_dispatch_other_ok(Mutex, "KeReadStateMutex"); /* 0xE5 */
    return obj_ok(Mutex, KDPC_OBJ_MUTEX, "KeReadStateMutex") ? Mutex->Header.SignalState : 0;
}
