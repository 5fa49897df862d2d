/* SPDX-License-Identifier: MIT */
/*
 * objcheck.c - validation of the kernel objects a driver hands to ke / ex
 * routines: NULL, garbage (0xCC-filled), never initialised (zero-filled) and
 * wrong-type objects are reported (rule obj.invalid) before kdpc reads more
 * than the object's header, so a broken driver gets a bug check report and
 * never crashes kdpc itself.
 *
 * What is checked: DISPATCHER_HEADER Type and Size as KeInitialize* set them
 * (Windows x64 values: the KOBJECTS numbers and the object's size in LONGs),
 * KDPC Type (DpcObject 19, ThreadedDpcObject 24), its target Number and
 * whether its DpcData names one of kdpc's DPC queues, a FAST_MUTEX's count
 * and event, a KSPIN_LOCK word that is neither free, held nor a plausible
 * queue-handle address. A pointer is never followed when it is NULL or no
 * user-space address of the host (kdpc__ke_bad_ptr): every 0xCC... pattern.
 * A pointer that is mapped but points at unrelated memory is read (its
 * header only); one that is not mapped at all is left to the fault
 * containment of simulated code (ke.crash).
 *
 * Outcomes (rule obj.invalid; code and parameters as Windows + Driver Verifier):
 *  - NULL (or unusable) address of a synchronization object (event, semaphore,
 *    mutex, timer, fast mutex, spin lock) given to a routine that uses it:
 *    0xC4 / 0xE1, P2 the address: Verifier's "synchronization object found to
 *    have an address that was either invalid or pageable";
 *  - any other NULL object a routine dereferences: what the dereference
 *    raises on Windows: 0x1E KMODE_EXCEPTION_NOT_HANDLED (P1
 *    STATUS_ACCESS_VIOLATION, P2 the routine, P3 0 read / 1 write, P4 the
 *    address) below DISPATCH_LEVEL, 0xA IRQL_NOT_LESS_OR_EQUAL (P1 the
 *    address, P2 IRQL, P3 0 read / 1 write, P4 the routine) at or above it;
 *  - a KTIMER that is no timer: 0xC7 TIMER_OR_DPC_INVALID P1 = 0, P2 the
 *    timer; a KDPC that is no DPC: 0xC7 P1 = 1, P2 the DPC; a KDPC whose
 *    target processor does not exist: 0xC7 P1 = 3 (P2 DPC, P3 number, P4
 *    processor count), the check KeInsertQueueDpc makes on Windows;
 *  - any other dispatcher object or fast mutex that KeInitialize* never set
 *    up: 0xC4 / 0x1002, P2 the object (Deadlock Detection: "a resource has
 *    been acquired without having been initialized first").
 * Divergence: Windows raises 0xC7 P1 = 0 / 1 for a timer or DPC found in a
 * block of memory being freed (P3/P4 that block); kdpc also raises it for a
 * timer or DPC that is not one at all, with P3/P4 the object's own bounds.
 * Windows' Verifier raises 0xC4 / 0x1002 for spin locks, mutexes and fast
 * mutexes it never saw initialised; kdpc for every dispatcher object whose
 * header KeInitialize* did not write (a free kernel walks its garbage wait
 * list and faults at DISPATCH_LEVEL, 0xA).
 *
 * With obj.invalid switched to a warning or off, the check returns false and
 * the caller skips the call (returns FALSE, 0 or an error status) without
 * touching the object: kdpc goes on where Windows would have crashed.
 */
#include "ke/ke.h"

#define T_NOTIFICATION_EVENT 0
#define T_SYNC_EVENT         1
#define T_MUTANT             2
#define T_SEMAPHORE          5
#define T_THREAD             6
#define T_NOTIFICATION_TIMER 8
#define T_SYNC_TIMER         9

#define STATUS_ACCESS_VIOLATION_U 0xC0000005u

bool kdpc__ke_bad_ptr(const void *p)
{
    uintptr_t u = (uintptr_t)p;
    if (u < 4096u)
        return true;
#if UINTPTR_MAX > 0xffffffffu
    /* x86-64 and AArch64 user space ends below 2^47 / 2^48; 0xCCCC... is far above. */
    if (u >= ((uintptr_t)1 << 48))
        return true;
#endif
    return (u & 3u) != 0; /* a kernel object is at least 4-byte aligned */
}

static const char *type_name(unsigned type)
{
    switch (type) {
    case T_NOTIFICATION_EVENT:
        return "a notification event";
    case T_SYNC_EVENT:
        return "a synchronization event";
    case T_MUTANT:
        return "a mutex";
    case T_SEMAPHORE:
        return "a semaphore";
    case T_THREAD:
        return "a thread";
    case T_NOTIFICATION_TIMER:
    case T_SYNC_TIMER:
        return "a timer";
    case DpcObject:
    case ThreadedDpcObject:
        return "a DPC";
    default:
        return "no kernel object";
    }
}

static const char *kinds_name(unsigned kinds)
{
    if (kinds == KDPC_OBJ_EVENT)
        return "an event";
    if (kinds == KDPC_OBJ_SEMAPHORE)
        return "a semaphore";
    if (kinds == KDPC_OBJ_MUTEX)
        return "a mutex";
    if (kinds == KDPC_OBJ_TIMER)
        return "a timer";
    return "a dispatcher object";
}

/* Report; true when the rule is off or a warning (the caller skips the call). */
static bool report(kdpc_machine *m, uint32_t code, uint64_t p1, uint64_t p2, uint64_t p3,
                   uint64_t p4, const char *routine, const char *what)
{
    kdpc__violation(m, KDPC_R_OBJ_INVALID, code, p1, p2, p3, p4, NULL, "%s: %s", routine, what);
    return false;
}

bool kdpc__ke_check_ptr(kdpc_machine *m, const void *obj, size_t offset, bool write, KIRQL at,
                        kdpc_routine_ptr fn, const char *routine)
{
    if (!kdpc__ke_bad_ptr(obj))
        return true;
    uint64_t addr = (uint64_t)(uintptr_t)obj + offset;
    char what[160];
    snprintf(what, sizeof(what), "%s address %p %s at IRQL %u", obj == NULL ? "NULL" : "invalid",
             obj, write ? "written" : "read", (unsigned)at);
    if (at >= DISPATCH_LEVEL)
        return report(m, 0xA, addr, at, write ? 1u : 0u, kdpc__fnaddr(fn), routine, what);
    return report(m, 0x1E, STATUS_ACCESS_VIOLATION_U, kdpc__fnaddr(fn), write ? 1u : 0u, addr,
                  routine, what);
}

static bool bad_sync_address(kdpc_machine *m, const void *obj, const char *routine,
                             const char *kind)
{
    char what[160];
    snprintf(what, sizeof(what), "%s at the %s address %p", kind, obj == NULL ? "NULL" : "invalid",
             obj);
    return report(m, 0xC4, 0xE1, (uintptr_t)obj, 0, 0, routine, what);
}

static UCHAR size_of_type(unsigned type)
{
    switch (type) {
    case T_NOTIFICATION_EVENT:
    case T_SYNC_EVENT:
        return (UCHAR)(sizeof(KEVENT) / sizeof(LONG));
    case T_MUTANT:
        return (UCHAR)(sizeof(KMUTANT) / sizeof(LONG));
    case T_SEMAPHORE:
        return (UCHAR)(sizeof(KSEMAPHORE) / sizeof(LONG));
    case T_THREAD:
        return (UCHAR)(sizeof(DISPATCHER_HEADER) / sizeof(LONG));
    case T_NOTIFICATION_TIMER:
    case T_SYNC_TIMER:
        return (UCHAR)(sizeof(KTIMER) / sizeof(LONG));
    default:
        return 0;
    }
}

static unsigned kind_of_type(unsigned type)
{
    switch (type) {
    case T_NOTIFICATION_EVENT:
    case T_SYNC_EVENT:
        return KDPC_OBJ_EVENT;
    case T_MUTANT:
        return KDPC_OBJ_MUTEX;
    case T_SEMAPHORE:
        return KDPC_OBJ_SEMAPHORE;
    case T_THREAD:
        return KDPC_OBJ_THREAD;
    case T_NOTIFICATION_TIMER:
    case T_SYNC_TIMER:
        return KDPC_OBJ_TIMER;
    default:
        return 0;
    }
}

bool kdpc__ke_check_dispatcher(kdpc_machine *m, const void *obj, unsigned kinds,
                               const char *routine)
{
    if (kdpc__ke_bad_ptr(obj))
        return bad_sync_address(m, obj, routine, kinds_name(kinds));
    kdpc__pool_paged_object(m, obj, sizeof(DISPATCHER_HEADER), 0xE1, routine, kinds_name(kinds));
    const DISPATCHER_HEADER *h = obj;
    unsigned type = h->Type;
    unsigned kind = kind_of_type(type);
    bool ok = (kind & kinds) != 0 && h->Size == size_of_type(type);
    /* A thread object is one kdpc made: checked by identity, never by its contents. */
    if (ok && kind == KDPC_OBJ_THREAD)
        ok = kdpc__ke_thread_find(m, obj) != NULL;
    /* Its wait list must be a list (InitializeListHead ran): never followed when garbage. */
    if (ok)
        ok = !kdpc__ke_bad_ptr(h->WaitListHead.Flink) && !kdpc__ke_bad_ptr(h->WaitListHead.Blink);
    if (ok)
        return true;
    char what[200];
    snprintf(what, sizeof(what),
             "%p is %s (header Type %u, Size %u), not %s initialised by KeInitialize*", obj,
             kind != 0 && h->Size == size_of_type(type) ? type_name(type) : "no kernel object",
             type, (unsigned)h->Size, kinds_name(kinds));
    if (kinds == KDPC_OBJ_TIMER)
        return report(m, 0xC7, 0, (uintptr_t)obj, (uintptr_t)obj, (uintptr_t)obj + sizeof(KTIMER),
                      routine, what);
    return report(m, 0xC4, 0x1002, (uintptr_t)obj, 0, 0, routine, what);
}

static bool dpc_queue_known(kdpc_machine *m, const void *data)
{
    for (unsigned i = 0; i < m->ncpu; i++) {
        if (data == &kdpc__kecpu_of(&m->cpus[i])->dpc_queue)
            return true;
    }
    return false;
}

bool kdpc__ke_check_dpc_slow(kdpc_machine *m, const KDPC *dpc, bool null_ok, const char *routine)
{
    if (dpc == NULL && null_ok)
        return true;
    if (kdpc__ke_bad_ptr(dpc))
        return kdpc__ke_check_ptr(m, dpc, offsetof(KDPC, Number), false, HIGH_LEVEL, NULL, routine);
    char what[200];
    /* Windows' own check (KeInsertQueueDpc): the target processor must exist. */
    unsigned number = dpc->Number;
    if (number >= MAXIMUM_PROCESSORS && number - MAXIMUM_PROCESSORS >= m->ncpu) {
        snprintf(what, sizeof(what), "DPC %p targets processor %u; the machine has %u", (void *)dpc,
                 number - MAXIMUM_PROCESSORS, m->ncpu);
        return report(m, 0xC7, 3, (uintptr_t)dpc, number - MAXIMUM_PROCESSORS, m->ncpu, routine,
                      what);
    }
    bool ok = dpc->Type == DpcObject || dpc->Type == ThreadedDpcObject;
    if (ok && dpc->DpcData != NULL)
        ok = dpc_queue_known(m, dpc->DpcData);
    if (ok)
        return true;
    snprintf(what, sizeof(what),
             "%p is not a DPC initialised by KeInitializeDpc (Type %u, DpcData %p): it is %s",
             (void *)dpc, (unsigned)dpc->Type, dpc->DpcData, type_name(dpc->Type));
    return report(m, 0xC7, 1, (uintptr_t)dpc, (uintptr_t)dpc, (uintptr_t)dpc + sizeof(KDPC),
                  routine, what);
}

bool kdpc__ke_check_spinlock(kdpc_machine *m, const KSPIN_LOCK *lock, const char *routine)
{
    if (kdpc__ke_bad_ptr(lock))
        return bad_sync_address(m, lock, routine, "a spin lock");
    kdpc__pool_paged_object(m, lock, sizeof(*lock), 0xE1, routine, "a spin lock");
    KSPIN_LOCK word = *lock;
    /* Free (0), held (1) or the address of a holder's KSPIN_LOCK_QUEUE (2.2, 2.3); anything else
     * was never initialised. */
    if (word == 0 || word == 1 || !kdpc__ke_bad_ptr((const void *)(word & ~(ULONG_PTR)3)))
        return true;
    kdpc__lock *l = kdpc__lock_find(m, lock);
    if (l != NULL && l->owner >= 0)
        return true;
    char what[160];
    snprintf(what, sizeof(what),
             "spin lock %p holds %#llx: it was never initialised with KeInitializeSpinLock",
             (const void *)lock, (unsigned long long)word);
    return report(m, 0xC4, 0x1002, (uintptr_t)lock, 0, 0, routine, what);
}

bool kdpc__ke_check_fast_mutex(kdpc_machine *m, const FAST_MUTEX *f, const char *routine)
{
    if (kdpc__ke_bad_ptr(f))
        return bad_sync_address(m, f, routine, "a fast mutex");
    kdpc__pool_paged_object(m, f, sizeof(*f), 0xE1, routine, "a fast mutex");
    const DISPATCHER_HEADER *h = &f->Event.Header;
    bool ok = (f->Count == 0 || f->Count == 1) && h->Type == T_SYNC_EVENT &&
              h->Size == size_of_type(T_SYNC_EVENT) && !kdpc__ke_bad_ptr(h->WaitListHead.Flink) &&
              !kdpc__ke_bad_ptr(h->WaitListHead.Blink);
    if (ok)
        return true;
    char what[160];
    snprintf(what, sizeof(what),
             "fast mutex %p (Count %ld, event Type %u) was never initialised with "
             "ExInitializeFastMutex",
             (const void *)f, (long)f->Count, (unsigned)h->Type);
    return report(m, 0xC4, 0x1002, (uintptr_t)f, 0, 0, routine, what);
}

/* ------------------------------------------------------------------ */
/* Timers and DPCs on a thread's stack                                 */

void kdpc__ke_stack_note(kdpc_machine *m, kdpc__cpu *c, const void *obj)
{
    struct _KTHREAD *kt = c->thread->ke;
    if (kt == NULL || kt->stack_top == 0)
        return;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t a = (uintptr_t)obj;
    kdpc__ke *ke = kdpc__ke_of(m);
    if (a > sp && a < kt->stack_top)
        (void)kdpc__ptrmap_put(&ke->stack_objs, a, kt);
    else if (ke->stack_objs.live != 0)
        (void)kdpc__ptrmap_del(&ke->stack_objs, a);
}

static bool on_stack_of(kdpc__ke *ke, const void *obj, struct _KTHREAD *kt)
{
    return ke->stack_objs.live != 0 && obj != NULL &&
           kdpc__ptrmap_get(&ke->stack_objs, (uintptr_t)obj) == kt;
}

typedef struct stack_arg {
    kdpc__ke *ke;
    struct _KTHREAD *kt;
} stack_arg;

static bool dpc_of_timer_on_stack(PKTIMER t, void *arg)
{
    stack_arg *a = arg;
    return on_stack_of(a->ke, t->Dpc, a->kt);
}

/* Unlink @victim from the circular list @head reading only the other entries: the victim's
 * own links may be overwritten already (its frame is gone). False when it is not there. */
static bool unlink_blind(PLIST_ENTRY head, PLIST_ENTRY victim)
{
    PLIST_ENTRY prev = head, next = head;
    while (prev->Flink != victim) {
        prev = prev->Flink;
        if (prev == head)
            return false;
    }
    while (next->Blink != victim)
        next = next->Blink;
    prev->Flink = next;
    next->Blink = prev;
    return true;
}

/*
 * 0xC7 when the thread ends with a timer set, or a DPC queued, in its stack (or a set timer
 * whose DPC is there): the stack is freed with the thread. Divergence: Windows checks pool
 * being freed for timers and DPCs (0xC7 P1 0 / 1, P3/P4 the block); kdpc checks the stack of
 * an ending thread, P3/P4 the part of it below the body's frame that kdpc knows of. The timer
 * or DPC is taken out of kdpc's queues first, without following its own links (the frame may
 * be overwritten), so whatever the rule's switch says no queue runs through a dead frame.
 */
void kdpc__ke_stack_check(kdpc_machine *m, struct _KTHREAD *kt)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke->stack_objs.live == 0)
        return;
    uintptr_t low = (uintptr_t)__builtin_frame_address(0);
    for (size_t i = 0; i < ke->stack_objs.cap; i++) {
        uintptr_t key = ke->stack_objs.keys[i];
        if (key <= 1 || ke->stack_objs.vals[i] != kt)
            continue;
        bool timer = ke->timer_queued.live != 0 && kdpc__ptrmap_get(&ke->timer_queued, key) != NULL;
        bool dpc = false;
        if (timer) {
            (void)kdpc__ke_timer_drop(m, (PKTIMER)key);
        } else {
            for (unsigned c = 0; c < m->ncpu && !dpc; c++) {
                kdpc__kecpu *kc = kdpc__kecpu_of(&m->cpus[c]);
                dpc = unlink_blind(&kc->dpc_queue, &((PKDPC)key)->DpcListEntry);
                if (dpc) {
                    kc->depth--;
                    kdpc__ke_live_del(m, KDPC_LIVE_DPC, (void *)key);
                }
            }
        }
        if (!timer && !dpc)
            continue;
        kdpc__violation(m, KDPC_R_OBJ_INVALID, 0xC7, timer ? 0u : 1u, key, low, kt->stack_top, NULL,
                        "the thread ended with %s %p still %s on its stack: the stack goes away "
                        "with the thread",
                        timer ? "timer" : "DPC", (void *)key, timer ? "set" : "queued");
    }
    stack_arg a = {ke, kt};
    PKTIMER t;
    while ((t = kdpc__ke_find_set_timer(m, dpc_of_timer_on_stack, &a)) != NULL) {
        PKDPC d = t->Dpc;
        (void)kdpc__ke_timer_cancel(m, t);
        kdpc__violation(m, KDPC_R_OBJ_INVALID, 0xC7, 1, (uintptr_t)d, low, kt->stack_top, NULL,
                        "the thread ended with timer %p set and its DPC %p on the thread's stack",
                        (void *)t, (void *)d);
    }
    for (size_t i = 0; i < ke->stack_objs.cap; i++) {
        if (ke->stack_objs.keys[i] > 1 && ke->stack_objs.vals[i] == kt)
            (void)kdpc__ptrmap_del(&ke->stack_objs, ke->stack_objs.keys[i]);
    }
}

/*
 * An argument out of the range the routine's page documents (KeInitializeSemaphore's Count and
 * Limit "must be positive", KeSetTimerEx's Period >= 0 and <= MAXLONG). Divergence: Windows
 * checks none of them (a checked kernel asserts some): kdpc raises what a failed parameter check
 * raises, 0x1E KMODE_EXCEPTION_NOT_HANDLED with P1 STATUS_INVALID_PARAMETER, P2 0, P3 the
 * object, P4 the value. As a warning the call goes on as a free kernel's would.
 */
void kdpc__ke_bad_argument(kdpc_machine *m, const char *routine, const void *obj, int64_t value,
                           const char *arg, const char *expected)
{
    kdpc__violation(m, KDPC_R_OBJ_INVALID, 0x1E, 0xC000000Du, 0, (uintptr_t)obj, (uint64_t)value,
                    NULL, "%s(%p): %s %lld is out of range (%s)", routine, obj, arg,
                    (long long)value, expected);
}
