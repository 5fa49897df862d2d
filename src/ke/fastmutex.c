/* SPDX-License-Identifier: MIT */
/*
 * fastmutex.c - fast (and guarded) mutexes, critical and guarded regions
 * (docs/facts/io.md 3.12; dpc-irql.md 2.16, 2.21).
 *
 * A fast mutex is owned at APC_LEVEL: ExAcquireFastMutex raises to
 * APC_LEVEL, keeps the entry IRQL in the mutex and blocks on the mutex's
 * synchronization event while another thread owns it; ExReleaseFastMutex
 * must run at APC_LEVEL and restores the kept IRQL. It is not recursive:
 * the owner acquiring it again is lock.recursive (Deadlock Detection
 * 0xC4/0x1000); with the rule off it blocks forever, which the machine reports
 * as a deadlock. Initialising a mutex a live thread owns is lock.reinit_held
 * (0xC4/0x1005). A leave with no critical region entered is
 * lock.critical_leave (0xC4/0x3E), with no guarded region lock.guarded_leave
 * (GuardedRegions, 0xC4/0x4000E). Calls above APC_LEVEL are sync.apc_irql (0xC4/0x33, 0x34,
 * 0x11A, 0x11B as Driver Verifier). The Unsafe calls leave the IRQL alone, so
 * their caller is at APC_LEVEL already or has APCs off (a critical or guarded
 * region); else 0xC4/0x39 / 0x3A, P3 the thread's APC disable count.
 */
#include "ke/ke.h"

/* sync.apc_irql of ExAcquire/ExReleaseFastMutexUnsafe: entered above APC_LEVEL, or below it with
 * APCs on (no critical or guarded region). P3: the thread's APC disable count as Windows keeps it
 * (minus the regions the thread is in: 0 = APCs on), P4 the mutex. */
static void check_unsafe(kdpc_machine *m, kdpc__cpu *c, uint64_t p1, PFAST_MUTEX f,
                         const char *name)
{
    struct _KTHREAD *t = c->thread->ke;
    long regions = t == NULL ? 0 : (long)t->critical + (long)t->guarded;
    if (c->irql == APC_LEVEL || (c->irql < APC_LEVEL && (regions > 0 || t == NULL)))
        return;
    kdpc__violation(m, KDPC_R_SYNC_APC_IRQL, 0xC4, p1, c->irql, (uint64_t)(int64_t)-regions,
                    (uintptr_t)f, NULL,
                    "%s called at IRQL %u%s: it runs at APC_LEVEL or inside a critical or "
                    "guarded region",
                    name, (unsigned)c->irql, c->irql < APC_LEVEL ? " with APCs enabled" : "");
}

static void check_apc(kdpc_machine *m, kdpc__cpu *c, uint64_t p1, bool exact, const char *name)
{
    bool bad = exact ? c->irql != APC_LEVEL : c->irql > APC_LEVEL;
    if (bad)
        kdpc__violation(m, KDPC_R_SYNC_APC_IRQL, 0xC4, p1, c->irql, 0, 0, NULL,
                        "%s called at IRQL %u; it needs IRQL %s APC_LEVEL", name, (unsigned)c->irql,
                        exact ? "==" : "<=");
}

/* Is @owner a thread of this machine that has not ended and owns a fast mutex? (A mutex left
 * owned by a run that stopped, or by an ended thread, is not held by anyone now.) */
static bool owner_alive(kdpc_machine *m, PKTHREAD owner)
{
    for (struct _KTHREAD *kt = kdpc__ke_of(m)->all_threads; kt != NULL; kt = kt->all_next) {
        if ((PKTHREAD)kt == owner)
            return !kt->exited && kt->fm_owned > 0;
    }
    return false;
}

void kdpc_ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
    /* irql.ke_dispatch with 0xC4/0xE5 (no DDI rule names it); as a warning or off: initialised */
    (void)kdpc__ke_irql_dispatch_other_ok(FastMutex, "ExInitializeFastMutex");
    if (FastMutex == NULL) {
        /* obj.invalid: the stores fault (0x1E, 0xA at raised IRQL); as a warning: ignored */
        kdpc__thread *t = kdpc__self();
        if (t != NULL && t->cpu != NULL)
            (void)kdpc__ke_check_ptr(t->m, FastMutex, 0, true, t->cpu->irql,
                                     KDPC_RP(kdpc_ExInitializeFastMutex), "ExInitializeFastMutex");
        return;
    }
    /* lock.reinit_held (Deadlock Detection 0xC4/0x1005, P2 the mutex, P3 the owner thread): an
     * initialised mutex some thread owns. Off or a warning: initialised (free) anyway. */
    kdpc__thread *self = kdpc__self();
    if (self != NULL && self->cpu != NULL && FastMutex->Count == 0 && FastMutex->Owner != NULL &&
        FastMutex->Event.Header.Type == (UCHAR)SynchronizationEvent &&
        owner_alive(self->m, FastMutex->Owner))
        kdpc__violation(self->m, KDPC_R_LOCK_REINIT_HELD, 0xC4, 0x1005, (uintptr_t)FastMutex,
                        (uintptr_t)FastMutex->Owner, 0, NULL,
                        "ExInitializeFastMutex(%p) while a thread owns the mutex",
                        (void *)FastMutex);
    FastMutex->Count = 1;
    FastMutex->Owner = NULL;
    FastMutex->Contention = 0;
    kdpc_KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
    FastMutex->OldIrql = 0;
}

static void take(kdpc_machine *m, kdpc__cpu *c, PFAST_MUTEX f)
{
    /* lock.recursive (Deadlock Detection 0xC4/0x1000, P2 the mutex, P3 the thread): the owner
     * acquires it again. Off or a warning: it waits on itself, the machine ends in a deadlock. */
    if (f->Count == 0 && f->Owner != NULL && f->Owner == (PKTHREAD)c->thread->ke)
        kdpc__violation(m, KDPC_R_LOCK_RECURSIVE, 0xC4, 0x1000, (uintptr_t)f, (uintptr_t)f->Owner,
                        0, NULL,
                        "fast mutex %p acquired again by the thread that owns it: a "
                        "self-deadlock (fast and guarded mutexes are not recursive)",
                        (void *)f);
    while (f->Count == 0) {
        f->Contention++;
        PVOID o[1] = {&f->Event};
        (void)kdpc__ke_wait(m, c, 1, o, WaitAny, NULL, false);
        c = kdpc__cur_cpu();
    }
    f->Count = 0;
    f->Owner = (PKTHREAD)c->thread->ke;
    struct _KTHREAD *kt = c->thread->ke;
    if (kt != NULL)
        kt->fm_owned++;
}

static void give(kdpc_machine *m, PFAST_MUTEX f)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    struct _KTHREAD *self = c != NULL ? c->thread->ke : NULL;
    if (self != NULL && f->Owner == (PKTHREAD)self && self->fm_owned > 0)
        self->fm_owned--; /* only its own: the owner of another machine's mutex is not read */
    f->Count = 1;
    f->Owner = NULL;
    if (!IsListEmpty(&f->Event.Header.WaitListHead)) {
        f->Event.Header.SignalState = 1;
        kdpc__ke_signal(m, &f->Event);
    }
}

void kdpc_ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExAcquireFastMutex", &c);
    /* obj.invalid (NULL 0xC4/0xE1, never initialised 0xC4/0x1002); as a warning: nothing done */
    if (m == NULL || !kdpc__ke_check_fast_mutex(m, FastMutex, "ExAcquireFastMutex"))
        return;
    check_apc(m, c, 0x33, false, "ExAcquireFastMutex");
    KIRQL old = c->irql;
    if (old < APC_LEVEL)
        kdpc__ke_set_irql(m, c, APC_LEVEL);
    take(m, c, FastMutex);
    FastMutex->OldIrql = old;
    kdpc__ke_point(m);
}

BOOLEAN kdpc_ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExTryToAcquireFastMutex", &c);
    /* obj.invalid; as a warning: FALSE */
    if (m == NULL || !kdpc__ke_check_fast_mutex(m, FastMutex, "ExTryToAcquireFastMutex"))
        return FALSE;
    check_apc(m, c, 0x33, false, "ExTryToAcquireFastMutex");
    BOOLEAN got = FALSE;
    if (FastMutex->Count == 1) {
        KIRQL old = c->irql;
        if (old < APC_LEVEL)
            kdpc__ke_set_irql(m, c, APC_LEVEL);
        take(m, c, FastMutex);
        FastMutex->OldIrql = old;
        got = TRUE;
    }
    kdpc__ke_point(m);
    return got;
}

void kdpc_ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExReleaseFastMutex", &c);
    /* obj.invalid (NULL 0xC4/0xE1, never initialised 0xC4/0x1002); as a warning: nothing done */
    if (m == NULL || !kdpc__ke_check_fast_mutex(m, FastMutex, "ExReleaseFastMutex"))
        return;
    check_apc(m, c, 0x34, true, "ExReleaseFastMutex");
    KIRQL old = (KIRQL)FastMutex->OldIrql;
    give(m, FastMutex);
    kdpc__ke_set_irql(m, c, old);
    kdpc__ke_point(m);
}

void kdpc_ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExAcquireFastMutexUnsafe", &c);
    /* obj.invalid (NULL 0xC4/0xE1, never initialised 0xC4/0x1002); as a warning: nothing done */
    if (m == NULL || !kdpc__ke_check_fast_mutex(m, FastMutex, "ExAcquireFastMutexUnsafe"))
        return;
    check_unsafe(m, c, 0x39, FastMutex, "ExAcquireFastMutexUnsafe");
    take(m, c, FastMutex);
    kdpc__ke_point(m);
}

void kdpc_ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExReleaseFastMutexUnsafe", &c);
    /* obj.invalid (NULL 0xC4/0xE1, never initialised 0xC4/0x1002); as a warning: nothing done */
    if (m == NULL || !kdpc__ke_check_fast_mutex(m, FastMutex, "ExReleaseFastMutexUnsafe"))
        return;
    check_unsafe(m, c, 0x3A, FastMutex, "ExReleaseFastMutexUnsafe");
    give(m, FastMutex);
    kdpc__ke_point(m);
}

/* ------------------------------------------------------------------ */

static struct _KTHREAD *region_thread(const char *name, uint64_t p1, kdpc_machine **mp)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    *mp = m;
    if (m == NULL)
        return NULL;
    check_apc(m, c, p1, false, name);
    return c->thread->ke;
}

/* lock.critical_leave (0xC4/0x3E; CriticalRegions 0x40003) and lock.guarded_leave
 * (GuardedRegions 0x4000E): a leave with no region of that kind entered. P2 the thread, P3 the
 * regions of the other kind it is in. Off or a warning: the leave does nothing, as before. */
static void region_unentered(kdpc_machine *m, struct _KTHREAD *t, kdpc__rule rule, uint64_t p1,
                             const char *name, const char *kind)
{
    kdpc__violation(m, rule, 0xC4, p1, (uintptr_t)t,
                    (uint64_t)(rule == KDPC_R_LOCK_CRITICAL_LEAVE ? t->guarded : t->critical), 0,
                    NULL, "%s called by a thread that is in no %s region", name, kind);
}

void kdpc_KeEnterCriticalRegion(void)
{
    kdpc_machine *m;
    struct _KTHREAD *t = region_thread("KeEnterCriticalRegion", 0x11A, &m);
    if (t != NULL)
        t->critical++;
}

void kdpc_KeLeaveCriticalRegion(void)
{
    kdpc_machine *m;
    struct _KTHREAD *t = region_thread("KeLeaveCriticalRegion", 0x11B, &m);
    if (t != NULL && t->critical == 0)
        region_unentered(m, t, KDPC_R_LOCK_CRITICAL_LEAVE, 0x3E, "KeLeaveCriticalRegion",
                         "critical");
    if (t != NULL && t->critical > 0)
        t->critical--;
}

void kdpc_KeEnterGuardedRegion(void)
{
    kdpc_machine *m;
    struct _KTHREAD *t = region_thread("KeEnterGuardedRegion", 0x11A, &m);
    if (t != NULL)
        t->guarded++;
}

void kdpc_KeLeaveGuardedRegion(void)
{
    kdpc_machine *m;
    struct _KTHREAD *t = region_thread("KeLeaveGuardedRegion", 0x11B, &m);
    if (t != NULL && t->guarded == 0)
        region_unentered(m, t, KDPC_R_LOCK_GUARDED_LEAVE, 0x0004000E, "KeLeaveGuardedRegion",
                         "guarded");
    if (t != NULL && t->guarded > 0)
        t->guarded--;
}

BOOLEAN kdpc_KeAreApcsDisabled(void)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    if (c == NULL || c->thread->ke == NULL)
        return FALSE;
    struct _KTHREAD *t = c->thread->ke;
    return t->critical > 0 || t->guarded > 0 ? TRUE : FALSE;
}

BOOLEAN kdpc_KeAreAllApcsDisabled(void)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    if (c == NULL)
        return FALSE;
    if (c->irql >= APC_LEVEL)
        return TRUE;
    struct _KTHREAD *t = c->thread->ke;
    return t != NULL && t->guarded > 0 ? TRUE : FALSE;
}
