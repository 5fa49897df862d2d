/* SPDX-License-Identifier: MIT */
/*
 * test_dv_locks.c - the lock rules of Driver Verifier's deadlock detection, the DDI compliance
 * rules of spin lock release and of critical and guarded regions (docs/rules.md, area locks),
 * each with a broken driver routine (rule id, code and P1..P4 asserted) and its fixed twin:
 *   spinlock.release_new_irql  IrqlKeReleaseSpinLock 0xC4/0x20015, P2 the lock, P3 NewIrql,
 *                              P4 the OldIrql KeAcquireSpinLock returned
 *   lock.recursive             0xC4/0x1000, P2 the fast mutex, P3 the owner thread
 *   lock.reinit_held           0xC4/0x1005, P2 the lock, P3 the holder CPU (spin lock) or the
 *                              owner thread (fast mutex)
 *   lock.freed_held            0xC4/0x100B, P2 the lock, P3 the freed memory, P4 its size
 *   lock.critical_leave        0xC4/0x3E (CriticalRegions), P2 the thread, P3 guarded regions
 *   lock.guarded_leave         GuardedRegions 0xC4/0x4000E, P2 the thread, P3 critical regions
 *   lock.release_order         0xC4/0x1003, P2 the lock released, P3 the newer lock still held
 *   irql.lower_unmatched       IrqlKeRaiseLower, a warning: code 0, P1 IRQL, P2 NewIrql
 *   irql.lower_other           IrqlKeRaiseLower2, a warning: code 0, P1 IRQL, P2 NewIrql, P3 the
 *                              IRQL the raise saved
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "kdpc_test.h"

static int which;   /* 0: the broken routine, 1: its fixed twin */
static int reached; /* set after the calls: 1 when the run went on */
static KSPIN_LOCK g_lock;
static FAST_MUTEX g_fm;
static PKTHREAD g_thread;
static PVOID g_block;

#define TAG 'kcoL'

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void expect_bc(kdpc_machine *m, kdpc_status st, const char *rule, uint64_t p1, uint64_t p2,
                      uint64_t p3, uint64_t p4)
{
    KT_ASSERT_BUGCHECK(m, st, rule, 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], p1);
    assert_int_equal(bc->params[1], p2);
    assert_int_equal(bc->params[2], p3);
    assert_int_equal(bc->params[3], p4);
    assert_int_equal(reached, 0);
}

static kdpc_machine *run(kdpc_entry_fn *entry, int w, kdpc_status *st)
{
    which = w;
    reached = 0;
    g_thread = NULL;
    g_block = NULL;
    kdpc_machine *m = kt_machine(1, 37);
    *st = kdpc_machine_run(m, entry, NULL);
    return m;
}

static void clean(kdpc_entry_fn *entry, const char *rule)
{
    kdpc_status st;
    kdpc_machine *m = run(entry, 1, &st);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, rule);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(reached, 1);
    kdpc_machine_destroy(m);
}

/* spinlock.release_new_irql: NewIrql is not the OldIrql the acquire returned */
static void ReleaseNewIrql(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeSpinLock(&g_lock);
    KeAcquireSpinLock(&g_lock, &old);
    KeReleaseSpinLock(&g_lock, which == 0 ? APC_LEVEL : old);
    if (which == 0)
        KeLowerIrql(PASSIVE_LEVEL);
    reached = 1;
}

static void test_release_spin_lock_to_another_irql_is_c4_20015(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(ReleaseNewIrql, 0, &st);
    expect_bc(m, st, "spinlock.release_new_irql", 0x20015, addr(&g_lock), APC_LEVEL, PASSIVE_LEVEL);
    kdpc_machine_destroy(m);
    clean(ReleaseNewIrql, "spinlock.release_new_irql");
}

/* lock.recursive: the owner of a fast mutex acquires it again */
static void FastMutexTwice(void *ctx)
{
    (void)ctx;
    g_thread = KeGetCurrentThread();
    ExInitializeFastMutex(&g_fm);
    ExAcquireFastMutex(&g_fm);
    if (which == 1)
        ExReleaseFastMutex(&g_fm);
    ExAcquireFastMutex(&g_fm);
    ExReleaseFastMutex(&g_fm);
    reached = 1;
}

static void test_fast_mutex_acquired_twice_is_c4_1000(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(FastMutexTwice, 0, &st);
    expect_bc(m, st, "lock.recursive", 0x1000, addr(&g_fm), addr(g_thread), 0);
    kdpc_machine_destroy(m);
    clean(FastMutexTwice, "lock.recursive");
}

/* lock.reinit_held: a held spin lock or an owned fast mutex initialised again */
static void ReinitSpinLock(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeSpinLock(&g_lock);
    KeAcquireSpinLock(&g_lock, &old);
    if (which == 1)
        KeReleaseSpinLock(&g_lock, old);
    KeInitializeSpinLock(&g_lock);
    if (which == 1)
        KeAcquireSpinLock(&g_lock, &old);
    KeReleaseSpinLock(&g_lock, old);
    reached = 1;
}

static void ReinitFastMutex(void *ctx)
{
    (void)ctx;
    g_thread = KeGetCurrentThread();
    ExInitializeFastMutex(&g_fm);
    ExAcquireFastMutex(&g_fm);
    if (which == 1)
        ExReleaseFastMutex(&g_fm);
    ExInitializeFastMutex(&g_fm);
    if (which == 1)
        ExAcquireFastMutex(&g_fm);
    ExReleaseFastMutex(&g_fm);
    reached = 1;
}

static void test_lock_initialised_while_held_is_c4_1005(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(ReinitSpinLock, 0, &st);
    expect_bc(m, st, "lock.reinit_held", 0x1005, addr(&g_lock), 0, 0);
    kdpc_machine_destroy(m);
    clean(ReinitSpinLock, "lock.reinit_held");
    m = run(ReinitFastMutex, 0, &st);
    expect_bc(m, st, "lock.reinit_held", 0x1005, addr(&g_fm), addr(g_thread), 0);
    kdpc_machine_destroy(m);
    clean(ReinitFastMutex, "lock.reinit_held");
}

/* lock.freed_held: the pool block of a held spin lock is freed */
static void FreeHeldLock(void *ctx)
{
    (void)ctx;
    KIRQL old;
    PKSPIN_LOCK lock = ExAllocatePoolWithTag(NonPagedPoolNx, 64, TAG);
    assert_non_null(lock);
    g_block = lock;
    KeInitializeSpinLock(lock);
    KeAcquireSpinLock(lock, &old);
    if (which == 1)
        KeReleaseSpinLock(lock, old);
    ExFreePoolWithTag(lock, TAG);
    if (which == 0)
        KeLowerIrql(old);
    reached = 1;
}

static void test_pool_of_a_held_spin_lock_freed_is_c4_100b(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(FreeHeldLock, 0, &st);
    expect_bc(m, st, "lock.freed_held", 0x100B, addr(g_block), addr(g_block), 64);
    kdpc_machine_destroy(m);
    clean(FreeHeldLock, "lock.freed_held");
}

/* lock.critical_leave, lock.guarded_leave: a leave with no region entered */
static void LeaveCritical(void *ctx)
{
    (void)ctx;
    g_thread = KeGetCurrentThread();
    if (which == 1)
        KeEnterCriticalRegion();
    KeLeaveCriticalRegion();
    reached = 1;
}

static void LeaveGuarded(void *ctx)
{
    (void)ctx;
    g_thread = KeGetCurrentThread();
    KeEnterCriticalRegion();
    if (which == 1)
        KeEnterGuardedRegion();
    KeLeaveGuardedRegion();
    KeLeaveCriticalRegion();
    reached = 1;
}

static void test_region_left_without_enter(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(LeaveCritical, 0, &st);
    expect_bc(m, st, "lock.critical_leave", 0x3E, addr(g_thread), 0, 0);
    kdpc_machine_destroy(m);
    clean(LeaveCritical, "lock.critical_leave");
    m = run(LeaveGuarded, 0, &st);
    expect_bc(m, st, "lock.guarded_leave", 0x4000E, addr(g_thread), 1, 0);
    kdpc_machine_destroy(m);
    clean(LeaveGuarded, "lock.guarded_leave");
}

/* lock.release_order: KeReleaseSpinLock of the older of two held locks */
static KSPIN_LOCK g_lock_b;

static void ReleaseOrder(void *ctx)
{
    (void)ctx;
    KIRQL old_a, old_b;
    KeInitializeSpinLock(&g_lock);
    KeInitializeSpinLock(&g_lock_b);
    KeAcquireSpinLock(&g_lock, &old_a);
    KeAcquireSpinLock(&g_lock_b, &old_b);
    if (which == 0) {
        KeReleaseSpinLock(&g_lock, old_a); /* PASSIVE_LEVEL with g_lock_b held */
        KeReleaseSpinLock(&g_lock_b, old_b);
    } else {
        KeReleaseSpinLock(&g_lock_b, old_b);
        KeReleaseSpinLock(&g_lock, old_a);
    }
    reached = 1;
}

/* Both locks taken in a DPC-level routine: each OldIrql is DISPATCH_LEVEL, the IRQL never drops
 * under the newer lock, releasing the older one first is legal */
static void ReleaseOrderAtDispatch(void *ctx)
{
    (void)ctx;
    KIRQL old, old_a, old_b;
    KeInitializeSpinLock(&g_lock);
    KeInitializeSpinLock(&g_lock_b);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeAcquireSpinLock(&g_lock, &old_a);
    KeAcquireSpinLock(&g_lock_b, &old_b);
    KeReleaseSpinLock(&g_lock, old_a);
    KeReleaseSpinLock(&g_lock_b, old_b);
    KeLowerIrql(old);
    reached = 1;
}

static void test_spin_locks_released_oldest_first_is_c4_1003(void **state)
{
    clean(ReleaseOrderAtDispatch, "lock.release_order");
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(ReleaseOrder, 0, &st);
    expect_bc(m, st, "lock.release_order", 0x1003, addr(&g_lock), addr(&g_lock_b), 0);
    kdpc_machine_destroy(m);
    clean(ReleaseOrder, "lock.release_order");
}

/* irql.lower_unmatched, irql.lower_other: warnings, the run goes on */
static void LowerUnmatched(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeSpinLock(&g_lock);
    KeAcquireSpinLock(&g_lock, &old);
    if (which == 0) {
        KeReleaseSpinLockFromDpcLevel(&g_lock);
        KeLowerIrql(old);
    } else {
        KeReleaseSpinLock(&g_lock, old);
    }
    reached = 1;
}

static void LowerOther(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    KeRaiseIrql(APC_LEVEL, &old);
    KeRaiseIrql(DISPATCH_LEVEL, &old2);
    if (which == 1)
        KeLowerIrql(old2);
    KeLowerIrql(old);
    reached = 1;
}

static void expect_warning(kdpc_entry_fn *entry, const char *rule, uint64_t p1, uint64_t p2,
                           uint64_t p3)
{
    kdpc_status st;
    kdpc_machine *m = run(entry, 0, &st);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, rule);
    const kdpc_violation *w = kdpc_machine_find_violation(m, rule);
    assert_int_equal(w->code, 0);
    assert_int_equal(w->params[0], p1);
    assert_int_equal(w->params[1], p2);
    assert_int_equal(w->params[2], p3);
    assert_int_equal(w->params[3], 0);
    assert_int_equal(reached, 1);
    kdpc_machine_destroy(m);
}

static void test_lower_without_its_raise_warns(void **state)
{
    (void)state;
    expect_warning(LowerUnmatched, "irql.lower_unmatched", DISPATCH_LEVEL, PASSIVE_LEVEL, 0);
    clean(LowerUnmatched, "irql.lower_unmatched");
    expect_warning(LowerOther, "irql.lower_other", DISPATCH_LEVEL, PASSIVE_LEVEL, APC_LEVEL);
    clean(LowerOther, "irql.lower_other");
}

/* Legal patterns none of the lock rules may report: OldIrql kept in a context structure and the
 * lock released by another routine; KeRaiseIrql in one routine and KeLowerIrql in a helper it
 * calls; a system thread with a spin lock (and an in-stack queued lock handle) on its stack,
 * released before it ends; nested locks released newest first. */
static struct legal_ctx {
    KSPIN_LOCK lock;
    KIRQL old; /* what a device extension would keep */
} g_ctx;

static void legal_take(void)
{
    KeAcquireSpinLock(&g_ctx.lock, &g_ctx.old);
}

static void legal_give(void)
{
    KeReleaseSpinLock(&g_ctx.lock, g_ctx.old);
}

static void legal_lower(KIRQL old)
{
    KeLowerIrql(old);
}

static void StackLockThread(PVOID ctx)
{
    (void)ctx;
    KSPIN_LOCK local, queued; /* a lock is ordinary or queued, never both (spinlock.mixed_api) */
    KLOCK_QUEUE_HANDLE h;
    KIRQL old;
    KeInitializeSpinLock(&local);
    KeInitializeSpinLock(&queued);
    KeAcquireSpinLock(&local, &old);
    KeReleaseSpinLock(&local, old);
    KeAcquireInStackQueuedSpinLock(&queued, &h);
    KeReleaseInStackQueuedSpinLock(&h);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void LegalLocks(void *ctx)
{
    (void)ctx;
    KIRQL old, old_a, old_b;
    KeInitializeSpinLock(&g_ctx.lock);
    legal_take();
    legal_give();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    legal_lower(old);
    KeInitializeSpinLock(&g_lock);
    KeInitializeSpinLock(&g_lock_b);
    KeAcquireSpinLock(&g_lock, &old_a);
    KeAcquireSpinLock(&g_lock_b, &old_b);
    KeReleaseSpinLock(&g_lock_b, old_b);
    KeReleaseSpinLock(&g_lock, old_a);
    HANDLE th;
    if (!NT_SUCCESS(
            PsCreateSystemThread(&th, THREAD_ALL_ACCESS, NULL, NULL, NULL, StackLockThread, NULL)))
        return;
    PVOID obj;
    if (NT_SUCCESS(ObReferenceObjectByHandle(th, SYNCHRONIZE, NULL, KernelMode, &obj, NULL))) {
        (void)KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(obj);
    }
    ZwClose(th);
    reached = 1;
}

static void test_legal_lock_patterns_are_clean(void **state)
{
    (void)state;
    static const char *const rules[] = {"spinlock.release_new_irql", "lock.release_order",
                                        "lock.freed_held", "irql.lower_unmatched",
                                        "irql.lower_other"};
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        which = 1;
        reached = 0;
        kdpc_machine *m = kt_machine(cpus, 37);
        kdpc_status st = kdpc_machine_run(m, LegalLocks, NULL);
        for (size_t i = 0; i < kdpc_machine_violation_count(m); i++)
            fprintf(stderr, "%u CPUs: %s (%s)\n", cpus, kdpc_machine_violation(m, i)->rule,
                    kdpc_machine_violation(m, i)->message);
        assert_int_equal(st, KDPC_OK);
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
            KT_ASSERT_NO_VIOLATION(m, rules[i]);
        assert_null(kdpc_machine_bugcheck(m));
        assert_int_equal(reached, 1);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_spin_lock_to_another_irql_is_c4_20015),
        cmocka_unit_test(test_fast_mutex_acquired_twice_is_c4_1000),
        cmocka_unit_test(test_lock_initialised_while_held_is_c4_1005),
        cmocka_unit_test(test_pool_of_a_held_spin_lock_freed_is_c4_100b),
        cmocka_unit_test(test_region_left_without_enter),
        cmocka_unit_test(test_lower_without_its_raise_warns),
        cmocka_unit_test(test_spin_locks_released_oldest_first_is_c4_1003),
        cmocka_unit_test(test_legal_lock_patterns_are_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
