/* SPDX-License-Identifier: MIT */
/*
 * spinlock.c - executive, at-DPC-level, try, test, ForDpc and in-stack
 * queued spin locks, and the acquire/release core they share with
 * interrupt spin locks (dpc-irql.md section 2).
 *
 * The lock word is written as an MP free kernel does (2.2, 2.3): 1 while an
 * ordinary lock is held; for a queued lock the address of the holder's
 * KSPIN_LOCK_QUEUE, whose Lock member is SpinLock | 2 (LOCK_QUEUE_OWNER).
 * What the checker needs beyond that (owner CPU, API family, nesting
 * order, FIFO of queued waiters) lives in the verifier's lock set.
 *
 * Acquisition order: raise IRQL (if the variant raises), check the rules,
 * spin until free (other CPUs run meanwhile; an interrupt may be taken
 * while spinning, as on Windows), take it, then the interleaving point.
 *
 * Divergence: LockQueue.Next is not linked to waiters (always NULL): the
 * FIFO is kept by the checker instead of an MCS chain. In 0xC4/0x1004 (a
 * release on another CPU than the holder's) P3 and P4 are the holder's and
 * the releasing CPU numbers, where Verifier names threads: spin locks belong
 * to CPUs here.
 */
#include "ke/ke.h"

#define QUEUE_OWNER ((ULONG_PTR)2)

typedef struct spin_arg {
    kdpc__lock *l;
    unsigned cpu;
    bool queued;
} spin_arg;

static bool lock_free_for(void *p)
{
    spin_arg *a = p;
    if (a->l->owner >= 0)
        return false;
    return !a->queued || kdpc__lock_queue_head(a->l) == (int)a->cpu;
}

static const char *kind_name(unsigned kind)
{
    return kind == KDPC_LOCK_QUEUED      ? "in-stack queued"
           : kind == KDPC_LOCK_INTERRUPT ? "interrupt"
                                         : "ordinary";
}

void kdpc__ke_lock_acquire(kdpc_machine *m, kdpc__cpu *c, PKSPIN_LOCK lock, unsigned kind,
                           PKLOCK_QUEUE_HANDLE handle)
{
    kdpc__lock *l = kdpc__lock_get(m, lock);
    if (l == NULL) {
        /* Out of host memory for the checker: take the lock unchecked. */
        *lock = 1;
        return;
    }
    if (kind != KDPC_LOCK_INTERRUPT && l->kind_used != 0 && l->kind_used != KDPC_LOCK_INTERRUPT &&
        l->kind_used != kind)
        kdpc__violation(m, KDPC_R_SPIN_MIXED_API, 0xC4, 0x1008, (uintptr_t)lock, 0, 0, NULL,
                        "spin lock %p acquired as an %s lock but used before as an %s lock; a "
                        "KSPIN_LOCK is either ordinary or queued, never both",
                        (void *)lock, kind_name(kind), kind_name(l->kind_used));
    if (l->owner == (int)c->index)
        kdpc__violation(m, KDPC_R_SPIN_RECURSIVE, 0xC4, 0x1000, (uintptr_t)lock, 0, 0, NULL,
                        "CPU %u acquires spin lock %p that it already holds: a self-deadlock",
                        c->index, (void *)lock);
    kdpc__lock *other = kdpc__lock_order(m, c, l);
    if (other != NULL)
        kdpc__violation(m, KDPC_R_SPIN_ORDER, 0xC4, 0x1001, (uintptr_t)lock, other->addr, 0, NULL,
                        "spin lock %p acquired while holding %p, but elsewhere %p was acquired "
                        "while holding %p: two CPUs taking them in opposite orders deadlock",
                        (void *)lock, (void *)other->addr, (void *)other->addr, (void *)lock);
    spin_arg a = {l, c->index, kind == KDPC_LOCK_QUEUED};
    if (a.queued)
        (void)kdpc__lock_enqueue(l, c->index); /* out of host memory: not queued */
    if (!lock_free_for(&a)) {
        kdpc__trace(m, KDPC_EV_LOCK_SPIN, c, lock, NULL, (uint64_t)(l->owner < 0 ? 0 : l->owner));
        kdpc__spin_until(m, lock_free_for, &a, lock);
        c = kdpc__cur_cpu();
    }
    if (a.queued)
        kdpc__lock_dequeue(l);
    kdpc__lock_push(m, c, l, kind);
    if (kind == KDPC_LOCK_QUEUED && handle != NULL) {
        handle->LockQueue.Next = NULL;
        handle->LockQueue.Lock = (PKSPIN_LOCK)((ULONG_PTR)lock | QUEUE_OWNER);
        *lock = (ULONG_PTR)&handle->LockQueue;
    } else {
        *lock = 1;
    }
    kdpc__trace(m, KDPC_EV_LOCK_ACQUIRE, c, lock, NULL, kind);
}

void kdpc__ke_lock_release(kdpc_machine *m, kdpc__cpu *c, PKSPIN_LOCK lock, unsigned kind,
                           PKLOCK_QUEUE_HANDLE handle)
{
    kdpc__lock *l = kdpc__lock_find(m, lock);
    if (l == NULL || l->owner < 0) {
        kdpc__violation(m, KDPC_R_SPIN_NOT_OWNED, 0xC4, 0x1007, (uintptr_t)lock, 0, 0, NULL,
                        "spin lock %p released but not held by anyone", (void *)lock);
        if (!kdpc__ke_bad_ptr(lock))
            *lock = 0;
        return;
    }
    if (l->owner != (int)c->index)
        kdpc__violation(m, KDPC_R_SPIN_NOT_OWNED, 0xC4, 0x1004, (uintptr_t)lock, (uint64_t)l->owner,
                        c->index, NULL, "spin lock %p released on CPU %u but held by CPU %d",
                        (void *)lock, c->index, l->owner);
    if (kind != KDPC_LOCK_INTERRUPT && l->held_kind != KDPC_LOCK_INTERRUPT && l->held_kind != kind)
        kdpc__violation(m, KDPC_R_SPIN_MIXED_API, 0xC4, 0x1009, (uintptr_t)lock, 0, 0, NULL,
                        "spin lock %p released as an %s lock but acquired as an %s lock",
                        (void *)lock, kind_name(kind), kind_name(l->held_kind));
    /* An ISR's own interrupt lock is covered by isr.too_long: no second report. */
    if (l->owner == (int)c->index && !(kind == KDPC_LOCK_INTERRUPT && c->isr_depth > 0)) {
        uint64_t held = c->own_ns - l->since_ns;
        if (held > m->cfg.spinlock_hold_limit_ns)
            kdpc__violation(m, KDPC_R_SPIN_HELD_TOO_LONG, 0, (uintptr_t)lock, held, 0, 0, NULL,
                            "spin lock %p was held for %llu.%03llu us (guideline: at most "
                            "%llu us)",
                            (void *)lock, (unsigned long long)(held / 1000u),
                            (unsigned long long)(held % 1000u),
                            (unsigned long long)(m->cfg.spinlock_hold_limit_ns / 1000u));
    }
    kdpc__lock_pop(m, (unsigned)l->owner, l);
    *lock = 0;
    if (kind == KDPC_LOCK_QUEUED && handle != NULL)
        handle->LockQueue.Lock = lock;
    kdpc__trace(m, KDPC_EV_LOCK_RELEASE, c, lock, NULL, kind);
}

/* ------------------------------------------------------------------ */

void kdpc_KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
    kdpc__thread *t = kdpc__self();
    if (SpinLock == NULL) {
        /* obj.invalid: the store faults (0x1E, 0xA at raised IRQL); as a warning: ignored */
        if (t != NULL && t->cpu != NULL)
            (void)kdpc__ke_check_ptr(t->m, SpinLock, 0, true, t->cpu->irql,
                                     KDPC_RP(kdpc_KeInitializeSpinLock), "KeInitializeSpinLock");
        return;
    }
    if (t != NULL && t->m != NULL) {
        /* lock.reinit_held (Deadlock Detection 0xC4/0x1005, P2 the lock, P3 the holder CPU); off
         * or a warning: the word is cleared as on Windows, the holder still owns it for kdpc */
        kdpc__lock *l = kdpc__lock_find(t->m, SpinLock);
        if (l != NULL && l->owner >= 0)
            kdpc__violation(t->m, KDPC_R_LOCK_REINIT_HELD, 0xC4, 0x1005, (uintptr_t)SpinLock,
                            (uint64_t)l->owner, 0, NULL,
                            "KeInitializeSpinLock(%p) while CPU %d holds the lock",
                            (void *)SpinLock, (int)l->owner);
    }
    *SpinLock = 0;
    if (t != NULL)
        kdpc__lock_forget(t->m, SpinLock);
    if (t != NULL)
        kdpc__ver_lock_site(t->m, SpinLock); /* its caller names the lock in reports */
}

static void check_acquire_irql(kdpc_machine *m, kdpc__cpu *c, PKSPIN_LOCK lock, const char *name)
{
    if (c->irql > DISPATCH_LEVEL)
        kdpc__violation(m, KDPC_R_SPIN_ACQUIRE_IRQL, 0xC4, 0x42, c->irql, (uintptr_t)lock, 0, NULL,
                        "%s called at IRQL %u, above DISPATCH_LEVEL", name, (unsigned)c->irql);
}

/* The AtDpcLevel / FromDpcLevel family needs DISPATCH_LEVEL or above (2.7, 2.8, 2.13). */
static void check_at_dpc(kdpc_machine *m, kdpc__cpu *c, const void *lock, bool release,
                         const char *name)
{
    if (c->irql >= DISPATCH_LEVEL)
        return;
    kdpc__violation(m, release ? KDPC_R_SPIN_DPC_RELEASE_IRQL : KDPC_R_SPIN_DPC_ACQUIRE_IRQL, 0xC4,
                    release ? 0x41u : 0x40u, c->irql, (uintptr_t)lock, 0, NULL,
                    "%s called at IRQL %u, below DISPATCH_LEVEL", name, (unsigned)c->irql);
}

/* spinlock.release_new_irql (IrqlKeReleaseSpinLock): KeAcquireSpinLock keeps the OldIrql it
 * returns with the held lock; KeReleaseSpinLock of that lock compares its NewIrql with it. */
static void note_old_irql(kdpc_machine *m, PKSPIN_LOCK lock, KIRQL old)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    kdpc__lock *l = kdpc__lock_find(m, lock);
    if (c != NULL && l != NULL && l->owner == (int)c->index)
        kdpc__lock_set_old_irql(c, l, old);
}

/* lock.release_order (Deadlock Detection 0xC4/0x1003, P2 the lock released, P3 the lock to release
 * first): a release that restores the IRQL (KeReleaseSpinLock, KeReleaseInStackQueuedSpinLock) of
 * a lock taken before another one the CPU still holds in the same context: the IRQL drops while
 * the newer lock is held. The FromDpcLevel releases leave the IRQL alone and may come in any
 * order, and so may these when @new_irql is DISPATCH_LEVEL or above (both locks taken in a DPC:
 * the IRQL does not drop). Off or a warning: released. */
static void check_release_order(kdpc_machine *m, kdpc__cpu *c, PKSPIN_LOCK lock, KIRQL new_irql,
                                const char *name)
{
    if (new_irql >= DISPATCH_LEVEL)
        return;
    kdpc__lock *l = kdpc__lock_find(m, lock);
    if (l == NULL || l->owner != (int)c->index)
        return;
    kdpc__lock *newer = kdpc__lock_newer_held(c, l);
    if (newer != NULL)
        kdpc__violation(m, KDPC_R_LOCK_RELEASE_ORDER, 0xC4, 0x1003, (uintptr_t)lock, newer->addr, 0,
                        NULL, "%s(%p) while %p, acquired after it, is still held: release it first",
                        name, (void *)lock, (void *)newer->addr);
}

/* P2 the lock, P3 the NewIrql given, P4 the OldIrql the acquire returned. As a warning or off:
 * the release goes on to NewIrql, as a free kernel does. */
static void check_new_irql(kdpc_machine *m, kdpc__cpu *c, PKSPIN_LOCK lock, KIRQL new_irql)
{
    kdpc__lock *l = kdpc__lock_find(m, lock);
    if (l == NULL || l->owner != (int)c->index)
        return;
    int old = kdpc__lock_old_irql(c, l);
    if (old < 0 || old == (int)new_irql)
        return;
    kdpc__violation(m, KDPC_R_SPIN_RELEASE_NEW_IRQL, 0xC4, 0x00020015, (uintptr_t)lock, new_irql,
                    (uint64_t)old, NULL,
                    "KeReleaseSpinLock(%p, %u): its KeAcquireSpinLock returned OldIrql %d, the "
                    "IRQL to restore",
                    (void *)lock, (unsigned)new_irql, old);
}

KIRQL kdpc_KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeAcquireSpinLock", &c);
    if (m == NULL)
        return PASSIVE_LEVEL;
    KIRQL old = c->irql;
    /* obj.invalid (NULL 0xC4/0xE1, garbage word 0xC4/0x1002); as a warning: not taken, no raise */
    if (!kdpc__ke_check_spinlock(m, SpinLock, "KeAcquireSpinLock"))
        return old;
    check_acquire_irql(m, c, SpinLock, "KeAcquireSpinLock");
    /* A free kernel sets DISPATCH_LEVEL even when called above it (2.6). */
    kdpc__ke_set_irql(m, c, DISPATCH_LEVEL);
    kdpc__ke_lock_acquire(m, c, SpinLock, KDPC_LOCK_ORDINARY, NULL);
    note_old_irql(m, SpinLock, old);
    kdpc__ke_point(m);
    return old;
}

void kdpc_KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeReleaseSpinLock", &c);
    if (m == NULL)
        return;
    /* obj.invalid; as a warning: nothing released, IRQL unchanged */
    if (!kdpc__ke_check_spinlock(m, SpinLock, "KeReleaseSpinLock"))
        return;
    bool valid = NewIrql <= HIGH_LEVEL; /* an IRQL that does not exist is irql.invalid's */
    if (NewIrql > HIGH_LEVEL) {
        /* KfLowerIrql to an IRQL that does not exist (Verifier 0xC4/0x31); as a warning kdpc
         * lowers to HIGH_LEVEL, as KeLowerIrql does, never to the garbage value */
        kdpc__violation(m, KDPC_R_IRQL_INVALID, 0xC4, 0x31, c->irql, NewIrql, 0, NULL,
                        "KeReleaseSpinLock(%p, %u): IRQL %u does not exist (HIGH_LEVEL is 15)",
                        (void *)SpinLock, (unsigned)NewIrql, (unsigned)NewIrql);
        NewIrql = HIGH_LEVEL;
    }
    if (c->irql != DISPATCH_LEVEL)
        kdpc__violation(m, KDPC_R_SPIN_RELEASE_IRQL, 0xC4, 0x32, c->irql, (uintptr_t)SpinLock, 0,
                        NULL,
                        "KeReleaseSpinLock called at IRQL %u; it must be DISPATCH_LEVEL "
                        "(a double release?)",
                        (unsigned)c->irql);
    check_release_order(m, c, SpinLock, NewIrql, "KeReleaseSpinLock");
    if (valid)
        check_new_irql(m, c, SpinLock, NewIrql);
    kdpc__ke_irp_queued(m, SpinLock, NULL); /* io.queued_before_marked */
    kdpc__ke_lock_release(m, c, SpinLock, KDPC_LOCK_ORDINARY, NULL);
    kdpc__ke_set_irql(m, c, NewIrql);
    kdpc__ke_point(m);
}

void kdpc_KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeAcquireSpinLockAtDpcLevel", &c);
    /* obj.invalid; as a warning: nothing done */
    if (m == NULL || !kdpc__ke_check_spinlock(m, SpinLock, "KeAcquireSpinLockAtDpcLevel"))
        return;
    check_at_dpc(m, c, SpinLock, false, "KeAcquireSpinLockAtDpcLevel");
    kdpc__ke_lock_acquire(m, c, SpinLock, KDPC_LOCK_ORDINARY, NULL);
    kdpc__ke_point(m);
}

void kdpc_KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeReleaseSpinLockFromDpcLevel", &c);
    /* obj.invalid; as a warning: nothing done */
    if (m == NULL || !kdpc__ke_check_spinlock(m, SpinLock, "KeReleaseSpinLockFromDpcLevel"))
        return;
    check_at_dpc(m, c, SpinLock, true, "KeReleaseSpinLockFromDpcLevel");
    kdpc__ke_irp_queued(m, SpinLock, NULL); /* io.queued_before_marked */
    kdpc__ke_lock_release(m, c, SpinLock, KDPC_LOCK_ORDINARY, NULL);
    kdpc__ke_point(m);
}

BOOLEAN kdpc_KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeTryToAcquireSpinLockAtDpcLevel", &c);
    /* obj.invalid; as a warning: FALSE */
    if (m == NULL || !kdpc__ke_check_spinlock(m, SpinLock, "KeTryToAcquireSpinLockAtDpcLevel"))
        return FALSE;
    check_at_dpc(m, c, SpinLock, false, "KeTryToAcquireSpinLockAtDpcLevel");
    kdpc__lock *l = kdpc__lock_get(m, SpinLock);
    BOOLEAN got = FALSE;
    if (l != NULL && l->owner < 0 && kdpc__lock_waiters(l) == 0) {
        kdpc__ke_lock_acquire(m, c, SpinLock, KDPC_LOCK_ORDINARY, NULL);
        got = TRUE;
    }
    kdpc__ke_point(m);
    return got;
}

BOOLEAN kdpc_KeTestSpinLock(PKSPIN_LOCK SpinLock)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeTestSpinLock", &c);
    /* A NULL or unusable address is obj.invalid (0xC4/0xE1); as a warning (or outside a machine)
     * FALSE. The word itself is only read, as on Windows: any non-zero word gives FALSE (2.4). */
    if (kdpc__ke_bad_ptr(SpinLock)) {
        if (m != NULL)
            (void)kdpc__ke_check_spinlock(m, SpinLock, "KeTestSpinLock");
        return FALSE;
    }
    BOOLEAN free_now = (BOOLEAN)(*SpinLock == 0);
    if (m != NULL)
        kdpc__ke_point(m);
    return free_now;
}

KIRQL kdpc_KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeAcquireSpinLockForDpc", &c);
    if (m == NULL)
        return PASSIVE_LEVEL;
    KIRQL old = c->irql;
    /* obj.invalid; as a warning: not taken, no raise */
    if (!kdpc__ke_check_spinlock(m, SpinLock, "KeAcquireSpinLockForDpc"))
        return old;
    check_acquire_irql(m, c, SpinLock, "KeAcquireSpinLockForDpc");
    if (old < DISPATCH_LEVEL)
        kdpc__ke_set_irql(m, c, DISPATCH_LEVEL);
    kdpc__ke_lock_acquire(m, c, SpinLock, KDPC_LOCK_ORDINARY, NULL);
    kdpc__ke_point(m);
    return old;
}

void kdpc_KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeReleaseSpinLockForDpc", &c);
    /* obj.invalid; as a warning: nothing released */
    if (m == NULL || !kdpc__ke_check_spinlock(m, SpinLock, "KeReleaseSpinLockForDpc"))
        return;
    kdpc__ke_irp_queued(m, SpinLock, NULL); /* io.queued_before_marked */
    kdpc__ke_lock_release(m, c, SpinLock, KDPC_LOCK_ORDINARY, NULL);
    if (OldIrql < DISPATCH_LEVEL)
        kdpc__ke_set_irql(m, c, OldIrql);
    kdpc__ke_point(m);
}

/* ------------------------------------------------------------------ */
/* In-stack queued spin locks (2.3, 2.12-2.14)                         */

static PKSPIN_LOCK handle_lock(PKLOCK_QUEUE_HANDLE h)
{
    return (PKSPIN_LOCK)((ULONG_PTR)h->LockQueue.Lock & ~(ULONG_PTR)3);
}

static void queued_acquire(const char *name, PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE h, int mode)
{
    /* mode 0: raise to DISPATCH; 1: at DPC level; 2: ForDpc */
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    if (m == NULL)
        return;
    /* obj.invalid: a bad lock (0xC4/0xE1, 0x1002), a NULL handle (its stores fault: 0x1E / 0xA);
     * as a warning: not taken, no raise */
    if (!kdpc__ke_check_spinlock(m, SpinLock, name) ||
        !kdpc__ke_check_ptr(m, h, offsetof(KLOCK_QUEUE_HANDLE, OldIrql), true, c->irql,
                            KDPC_RP(queued_acquire), name))
        return;
    KIRQL old = c->irql;
    if (mode == 1) {
        check_at_dpc(m, c, SpinLock, false, name);
    } else {
        check_acquire_irql(m, c, SpinLock, name);
        h->OldIrql = old;
        if (mode == 0 || old < DISPATCH_LEVEL)
            kdpc__ke_set_irql(m, c, DISPATCH_LEVEL);
    }
    kdpc__ke_lock_acquire(m, c, SpinLock, KDPC_LOCK_QUEUED, h);
    kdpc__ke_point(m);
}

static void queued_release(const char *name, PKLOCK_QUEUE_HANDLE h, int mode)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    if (m == NULL)
        return;
    /* obj.invalid: a NULL handle is read (0x1E / 0xA); a handle whose lock is garbage names an
     * invalid synchronization object (0xC4/0xE1). As a warning: nothing released. */
    if (!kdpc__ke_check_ptr(m, h, offsetof(KLOCK_QUEUE_HANDLE, LockQueue.Lock), false, c->irql,
                            KDPC_RP(queued_release), name))
        return;
    PKSPIN_LOCK lock = handle_lock(h);
    if (lock != NULL && !kdpc__ke_check_spinlock(m, lock, name))
        return;
    if (h->OldIrql > HIGH_LEVEL && (mode == 0 || mode == 2)) {
        kdpc__violation(m, KDPC_R_IRQL_INVALID, 0xC4, 0x31, c->irql, h->OldIrql, 0, NULL,
                        "%s: the handle's OldIrql %u does not exist (HIGH_LEVEL is 15)", name,
                        (unsigned)h->OldIrql);
        h->OldIrql = HIGH_LEVEL; /* as a warning: lowered to HIGH_LEVEL, never the garbage */
    }
    if (mode == 0 && c->irql != DISPATCH_LEVEL)
        kdpc__violation(m, KDPC_R_SPIN_RELEASE_IRQL, 0xC4, 0x32, c->irql, (uintptr_t)lock, 0, NULL,
                        "%s called at IRQL %u; it must be DISPATCH_LEVEL", name, (unsigned)c->irql);
    if (mode == 1)
        check_at_dpc(m, c, lock, true, name);
    if (lock == NULL) {
        kdpc__violation(m, KDPC_R_SPIN_NOT_OWNED, 0xC4, 0x1007, 0, 0, 0, NULL,
                        "%s with a lock handle that holds no lock", name);
        return;
    }
    if (mode == 0)
        check_release_order(m, c, lock, h->OldIrql, name);
    kdpc__ke_irp_queued(m, lock, NULL); /* io.queued_before_marked */
    kdpc__ke_lock_release(m, c, lock, KDPC_LOCK_QUEUED, h);
    if (mode == 0 || (mode == 2 && h->OldIrql < DISPATCH_LEVEL))
        kdpc__ke_set_irql(m, c, h->OldIrql);
    kdpc__ke_point(m);
}

void kdpc_KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    queued_acquire("KeAcquireInStackQueuedSpinLock", SpinLock, LockHandle, 0);
}

void kdpc_KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    queued_release("KeReleaseInStackQueuedSpinLock", LockHandle, 0);
}

void kdpc_KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                                   PKLOCK_QUEUE_HANDLE LockHandle)
{
    queued_acquire("KeAcquireInStackQueuedSpinLockAtDpcLevel", SpinLock, LockHandle, 1);
}

void kdpc_KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
    queued_release("KeReleaseInStackQueuedSpinLockFromDpcLevel", LockHandle, 1);
}

void kdpc_KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    queued_acquire("KeAcquireInStackQueuedSpinLockForDpc", SpinLock, LockHandle, 2);
}

void kdpc_KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle)
{
    queued_release("KeReleaseInStackQueuedSpinLockForDpc", LockHandle, 2);
}
