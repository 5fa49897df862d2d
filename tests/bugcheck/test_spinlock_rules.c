/* SPDX-License-Identifier: MIT */
/*
 * test_spinlock_rules.c - the spin lock rules of docs/rules.md, each broken by a
 * tiny routine: spinlock.acquire_irql, spinlock.dpc_acquire_irql,
 * spinlock.dpc_release_irql, spinlock.release_irql, spinlock.recursive,
 * spinlock.not_owned, spinlock.order, spinlock.mixed_api and the warning
 * spinlock.held_too_long.
 *
 * Codes (dpc-irql.md 7.12): 0xC4 with P1 0x40 / 0x41 / 0x42 / 0x32 (P2 current
 * IRQL, P3 spin lock), 0x1000 / 0x1001 / 0x1007 / 0x1004 / 0x1008 / 0x1009 (P2
 * the lock) from Deadlock Detection (2.14, 2.17, 2.18).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE 3

static int reached_after; /* set by code after the violating call: must stay 0 */
static KSPIN_LOCK lock_a, lock_b, int_lock;
static KDPC dpc_a, dpc_b;
static PKINTERRUPT interrupt;
static NTSTATUS connect_status;
static volatile LONG isr_runs;
static volatile LONG released_on_other_cpu;

static kdpc_machine *machine(unsigned cpus)
{
    reached_after = 0;
    lock_a = lock_b = int_lock = 0;
    interrupt = NULL;
    connect_status = STATUS_UNSUCCESSFUL;
    isr_runs = 0;
    released_on_other_cpu = 0;
    return kt_machine(cpus, 7);
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* Assert the bug check's P1..P3 (P2 / P3 as 7.12 names them). */
static void expect_params(kdpc_machine *m, uint64_t p1, uint64_t p2, uint64_t p3)
{
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_non_null(bc);
    assert_int_equal(bc->params[0], p1);
    assert_int_equal(bc->params[1], p2);
    assert_int_equal(bc->params[2], p3);
}

/* Connect IsrRoutine to LINE (Latched, DIRQL 5, SynchronizeIrql sync, CPU 0), then
 * raise the line and poll until the ISR ran. */
static void connect_and_interrupt(PKSERVICE_ROUTINE isr, KIRQL sync, PKSPIN_LOCK lock)
{
    connect_status =
        IoConnectInterrupt(&interrupt, isr, NULL, lock, LINE, 5, sync, Latched, FALSE, 1, FALSE);
    if (!NT_SUCCESS(connect_status))
        return;
    kdpc_line_assert(kdpc_current_machine(), LINE);
    for (int i = 0; i < 1000 && isr_runs == 0; i++)
        KeStallExecutionProcessor(1);
}

/* ------------------------------------------------------------------ */
/* spinlock.acquire_irql                                               */

static void AcquireAtDirqlEntry(void *ctx)
{
    (void)ctx;
    KIRQL old, lock_old;
    KeInitializeSpinLock(&lock_a);
    KeRaiseIrql(5, &old);
    KeAcquireSpinLock(&lock_a, &lock_old); /* 2.6: caller must be <= DISPATCH_LEVEL */
    reached_after = 1;
}

static void test_acquire_spin_lock_above_dispatch_bugchecks_c4_42(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, AcquireAtDirqlEntry);
    kdpc_status st = kdpc_machine_run(m, AcquireAtDirqlEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.acquire_irql", 0xC4);
    expect_params(m, 0x42, 5, addr(&lock_a));
    assert_int_equal(kdpc_machine_bugcheck(m)->params[3], 0);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "AcquireAtDirqlEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void InStackAcquireAtHighEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock_a);
    KeRaiseIrql(HIGH_LEVEL, &old);
    KeAcquireInStackQueuedSpinLock(&lock_a, &h); /* 2.12: caller <= DISPATCH_LEVEL */
    reached_after = 1;
}

static void test_in_stack_acquire_above_dispatch_bugchecks_c4_42(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, InStackAcquireAtHighEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.acquire_irql", 0xC4);
    expect_params(m, 0x42, HIGH_LEVEL, addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static BOOLEAN AcquireInIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    KIRQL old;
    KeAcquireSpinLock(&lock_a, &old); /* an ISR runs at DIRQL (3.3) */
    reached_after = 1;
    KeReleaseSpinLock(&lock_a, old);
    return TRUE;
}

static void AcquireInIsrEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    connect_and_interrupt(AcquireInIsr, 6, NULL);
}

static void test_acquire_spin_lock_in_isr_bugchecks_c4_42_naming_the_isr(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, AcquireInIsr);
    kdpc_status st = kdpc_machine_run(m, AcquireInIsrEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.acquire_irql", 0xC4);
    expect_params(m, 0x42, 6, addr(&lock_a)); /* the ISR runs at its SynchronizeIrql */
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "AcquireInIsr");
    assert_int_equal(kdpc_machine_bugcheck(m)->irql, 6);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void AcquireAtDispatchEntry(void *ctx)
{
    (void)ctx;
    KIRQL old, lock_old;
    KeInitializeSpinLock(&lock_a);
    old = KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLock(&lock_a, &lock_old); /* allowed at DISPATCH_LEVEL (2.5) */
    KeReleaseSpinLock(&lock_a, lock_old);
    KeLowerIrql(old);
    reached_after = 1;
}

static void test_acquire_spin_lock_at_dispatch_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, AcquireAtDispatchEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* spinlock.dpc_acquire_irql                                           */

static void AtDpcLevelAtPassiveEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    KeAcquireSpinLockAtDpcLevel(&lock_a); /* 2.7: Verifier 0x40 below DISPATCH */
    reached_after = 1;
}

static void test_acquire_at_dpc_level_at_passive_bugchecks_c4_40(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, AtDpcLevelAtPassiveEntry);
    kdpc_status st = kdpc_machine_run(m, AtDpcLevelAtPassiveEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.dpc_acquire_irql", 0xC4);
    expect_params(m, 0x40, PASSIVE_LEVEL, addr(&lock_a));
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "AtDpcLevelAtPassiveEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void AtDpcLevelAtApcEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeSpinLock(&lock_a);
    KeRaiseIrql(APC_LEVEL, &old);
    KeAcquireSpinLockAtDpcLevel(&lock_a);
    reached_after = 1;
}

static void test_acquire_at_dpc_level_at_apc_bugchecks_c4_40(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, AtDpcLevelAtApcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.dpc_acquire_irql", 0xC4);
    expect_params(m, 0x40, APC_LEVEL, addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void QueuedAtDpcLevelAtPassiveEntry(void *ctx)
{
    (void)ctx;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock_a);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&lock_a, &h); /* 2.13: IRQL >= DISPATCH */
    reached_after = 1;
}

static void test_queued_acquire_at_dpc_level_at_passive_bugchecks_c4_40(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, QueuedAtDpcLevelAtPassiveEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.dpc_acquire_irql", 0xC4);
    expect_params(m, 0x40, PASSIVE_LEVEL, addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void TryAtPassiveEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    (void)KeTryToAcquireSpinLockAtDpcLevel(&lock_a); /* 2.10: caller at DISPATCH_LEVEL */
    reached_after = 1;
}

static void test_try_to_acquire_at_dpc_level_at_passive_bugchecks_c4_40(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, TryAtPassiveEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.dpc_acquire_irql", 0xC4);
    expect_params(m, 0x40, PASSIVE_LEVEL, addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* spinlock.dpc_release_irql                                           */

static void ReleaseFromDpcLevelAfterLowerEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLockAtDpcLevel(&lock_a);
    KeLowerIrql(old);                       /* drops to PASSIVE_LEVEL still holding it */
    KeReleaseSpinLockFromDpcLevel(&lock_a); /* 2.8: Verifier 0x41 below DISPATCH */
    reached_after = 1;
}

static void test_release_from_dpc_level_at_passive_bugchecks_c4_41(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, ReleaseFromDpcLevelAfterLowerEntry);
    kdpc_status st = kdpc_machine_run(m, ReleaseFromDpcLevelAfterLowerEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.dpc_release_irql", 0xC4);
    expect_params(m, 0x41, PASSIVE_LEVEL, addr(&lock_a));
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "ReleaseFromDpcLevelAfterLowerEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void QueuedReleaseFromDpcLevelAtApcEntry(void *ctx)
{
    (void)ctx;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock_a);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&lock_a, &h);
    KeLowerIrql(APC_LEVEL);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&h);
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_queued_release_from_dpc_level_at_apc_bugchecks_c4_41(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, QueuedReleaseFromDpcLevelAtApcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.dpc_release_irql", 0xC4);
    expect_params(m, 0x41, APC_LEVEL, addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* spinlock.release_irql                                               */

static void ReleaseAtDirqlEntry(void *ctx)
{
    (void)ctx;
    KIRQL lock_old, old;
    KeInitializeSpinLock(&lock_a);
    KeAcquireSpinLock(&lock_a, &lock_old);
    KeRaiseIrql(5, &old);
    KeReleaseSpinLock(&lock_a, lock_old); /* 2.9: caller at DISPATCH_LEVEL */
    reached_after = 1;
}

static void test_release_spin_lock_above_dispatch_bugchecks_c4_32(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, ReleaseAtDirqlEntry);
    kdpc_status st = kdpc_machine_run(m, ReleaseAtDirqlEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.release_irql", 0xC4);
    expect_params(m, 0x32, 5, addr(&lock_a));
    assert_int_equal(kdpc_machine_bugcheck(m)->params[3], 0);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "ReleaseAtDirqlEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void DoubleReleaseEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeSpinLock(&lock_a);
    KeAcquireSpinLock(&lock_a, &old);
    KeReleaseSpinLock(&lock_a, old); /* back at PASSIVE_LEVEL */
    KeReleaseSpinLock(&lock_a, old); /* 7.12 0x32: "may be due to a double-release" */
    reached_after = 1;
}

static void test_double_release_at_passive_bugchecks_c4_32(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, DoubleReleaseEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.release_irql", 0xC4);
    expect_params(m, 0x32, PASSIVE_LEVEL, addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void InStackReleaseAtDirqlEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock_a);
    KeAcquireInStackQueuedSpinLock(&lock_a, &h);
    KeRaiseIrql(7, &old);
    KeReleaseInStackQueuedSpinLock(&h); /* 2.12: caller at DISPATCH_LEVEL */
    reached_after = 1;
}

static void test_in_stack_release_above_dispatch_bugchecks_c4_32(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, InStackReleaseAtDirqlEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.release_irql", 0xC4);
    expect_params(m, 0x32, 7, addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* spinlock.recursive                                                  */

static void RecursiveEntry(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    KeInitializeSpinLock(&lock_a);
    KeAcquireSpinLock(&lock_a, &old);
    KeAcquireSpinLock(&lock_a, &old2); /* 2.17: guaranteed deadlock; Verifier 0x1000 */
    reached_after = 1;
}

static void test_recursive_acquire_bugchecks_c4_1000(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, RecursiveEntry);
    kdpc_status st = kdpc_machine_run(m, RecursiveEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.recursive", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1000);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&lock_a));
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "RecursiveEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RecursiveDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeAcquireSpinLockAtDpcLevel(&lock_a);
    KeAcquireSpinLockAtDpcLevel(&lock_a);
    reached_after = 1;
}

static void RecursiveDpcEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    KeInitializeDpc(&dpc_a, RecursiveDpc, NULL);
    (void)KeInsertQueueDpc(&dpc_a, NULL, NULL);
}

static void test_recursive_acquire_in_dpc_bugchecks_c4_1000_naming_the_dpc(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, RecursiveDpc);
    kdpc_status st = kdpc_machine_run(m, RecursiveDpcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.recursive", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1000);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&lock_a));
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "RecursiveDpc");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RecursiveQueuedEntry(void *ctx)
{
    (void)ctx;
    KLOCK_QUEUE_HANDLE h1, h2;
    KeInitializeSpinLock(&lock_a);
    KeAcquireInStackQueuedSpinLock(&lock_a, &h1);
    KeAcquireInStackQueuedSpinLock(&lock_a, &h2);
    reached_after = 1;
}

static void test_recursive_in_stack_acquire_bugchecks_c4_1000(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, RecursiveQueuedEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.recursive", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1000);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static BOOLEAN Nothing(PVOID Context)
{
    (void)Context;
    return TRUE;
}

static BOOLEAN SynchronizeInsideIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)ServiceContext;
    isr_runs++;
    /* 3.11: re-entering the interrupt's own critical section re-acquires its lock */
    (void)KeSynchronizeExecution(Interrupt, Nothing, NULL);
    reached_after = 1;
    return TRUE;
}

static void SynchronizeInsideIsrEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&int_lock);
    connect_and_interrupt(SynchronizeInsideIsr, 5, &int_lock);
}

static void test_synchronize_execution_inside_own_isr_bugchecks_c4_1000(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, SynchronizeInsideIsr);
    kdpc_status st = kdpc_machine_run(m, SynchronizeInsideIsrEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.recursive", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1000);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&int_lock));
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "SynchronizeInsideIsr");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* spinlock.not_owned                                                  */

static void ReleaseNeverAcquiredEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeReleaseSpinLockFromDpcLevel(&lock_a); /* 2.18: Verifier 0x1007 release before acquire */
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_release_of_never_acquired_lock_bugchecks_c4_1007(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, ReleaseNeverAcquiredEntry);
    kdpc_status st = kdpc_machine_run(m, ReleaseNeverAcquiredEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.not_owned", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1007);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&lock_a));
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "ReleaseNeverAcquiredEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void ReleaseTwiceAtDispatchEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLockAtDpcLevel(&lock_a);
    KeReleaseSpinLockFromDpcLevel(&lock_a);
    KeReleaseSpinLockFromDpcLevel(&lock_a); /* the lock is free: nobody owns it */
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_second_release_at_dispatch_bugchecks_c4_1007(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, ReleaseTwiceAtDispatchEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.not_owned", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1007);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void ReleaseOtherCpusLockDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeReleaseSpinLockFromDpcLevel(&lock_a); /* held by the thread on CPU 0 */
    released_on_other_cpu = 1;
}

static void HoldWhileOtherCpuReleasesEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    (void)KeSetSystemAffinityThreadEx(1); /* stay on CPU 0 */
    KeInitializeSpinLock(&lock_a);
    KeInitializeDpc(&dpc_a, ReleaseOtherCpusLockDpc, NULL);
    KeSetTargetProcessorDpc(&dpc_a, 1);
    KeSetImportanceDpc(&dpc_a, HighImportance); /* 4.10: drains on CPU 1 at once */
    KeAcquireSpinLock(&lock_a, &old);
    (void)KeInsertQueueDpc(&dpc_a, NULL, NULL);
    for (int i = 0; i < 1000 && !released_on_other_cpu; i++)
        KeStallExecutionProcessor(1);
    reached_after = 1;
    KeReleaseSpinLock(&lock_a, old);
}

static void test_release_on_another_cpu_bugchecks_c4_1004(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2);
    KDPC_NAME(m, ReleaseOtherCpusLockDpc);
    kdpc_status st = kdpc_machine_run(m, HoldWhileOtherCpuReleasesEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.not_owned", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* 2.18 / 7.12: 0x1004 released by other than the owner; P2 the lock, P3 owner, P4 current */
    assert_int_equal(bc->params[0], 0x1004);
    assert_int_equal(bc->params[1], addr(&lock_a));
    assert_true(bc->params[2] != bc->params[3]);
    assert_int_equal(bc->cpu, 1);
    assert_string_equal(bc->routine, "ReleaseOtherCpusLockDpc");
    assert_int_equal(released_on_other_cpu, 0);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* spinlock.order                                                      */

static void OrderAThenB(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeAcquireSpinLockAtDpcLevel(&lock_a);
    KeAcquireSpinLockAtDpcLevel(&lock_b);
    KeReleaseSpinLockFromDpcLevel(&lock_b);
    KeReleaseSpinLockFromDpcLevel(&lock_a);
}

static void OrderBThenA(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeAcquireSpinLockAtDpcLevel(&lock_b);
    KeAcquireSpinLockAtDpcLevel(&lock_a); /* the opposite nesting: 2.17 / 2.20 */
    reached_after = 1;
    KeReleaseSpinLockFromDpcLevel(&lock_a);
    KeReleaseSpinLockFromDpcLevel(&lock_b);
}

static void BothOrdersOneAfterTheOtherEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    KeInitializeSpinLock(&lock_b);
    KeInitializeDpc(&dpc_a, OrderAThenB, NULL);
    KeInitializeDpc(&dpc_b, OrderBThenA, NULL);
    (void)KeInsertQueueDpc(&dpc_a, NULL, NULL); /* runs to completion first (4.15) */
    (void)KeInsertQueueDpc(&dpc_b, NULL, NULL);
}

static void test_two_locks_in_both_orders_on_one_cpu_bugchecks_c4_1001(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, OrderBThenA);
    kdpc_status st = kdpc_machine_run(m, BothOrdersOneAfterTheOtherEntry, NULL);
    /* One CPU, one routine after the other: no deadlock ever happened, yet the
     * hierarchy violation is found (2.17: "reported before any real deadlock"). */
    KT_ASSERT_BUGCHECK(m, st, "spinlock.order", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x1001);
    /* P2 the lock whose acquisition closes the cycle, P3 the lock it is nested under */
    assert_int_equal(bc->params[1], addr(&lock_a));
    assert_int_equal(bc->params[2], addr(&lock_b));
    assert_string_equal(bc->routine, "OrderBThenA");
    assert_int_equal(bc->cpu, 0);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void SameOrderAgain(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    OrderAThenB(Dpc, Context, Arg1, Arg2);
    reached_after = 1;
}

static void SameOrderTwiceEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    KeInitializeSpinLock(&lock_b);
    KeInitializeDpc(&dpc_a, OrderAThenB, NULL);
    KeInitializeDpc(&dpc_b, SameOrderAgain, NULL);
    (void)KeInsertQueueDpc(&dpc_a, NULL, NULL);
    (void)KeInsertQueueDpc(&dpc_b, NULL, NULL);
}

static void test_two_locks_in_the_same_order_twice_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, SameOrderTwiceEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "spinlock.order");
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

static BOOLEAN TouchDevice(PVOID Context)
{
    (void)Context;
    return TRUE;
}

static void ExecLockThenSynchronizeDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeAcquireSpinLockAtDpcLevel(&lock_a);                       /* executive lock ... */
    (void)KeSynchronizeExecution(interrupt, TouchDevice, NULL); /* ... then the interrupt lock */
    KeReleaseSpinLockFromDpcLevel(&lock_a);
}

static BOOLEAN ExecLockInIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    /* holding the interrupt lock (3.3), the ISR takes the executive lock: the
     * opposite order; a DPC on another CPU holding lock_a would deadlock with it */
    KeAcquireSpinLockAtDpcLevel(&lock_a);
    reached_after = 1;
    KeReleaseSpinLockFromDpcLevel(&lock_a);
    return TRUE;
}

static void InterruptLockOrderEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    KeInitializeSpinLock(&int_lock);
    connect_status = IoConnectInterrupt(&interrupt, ExecLockInIsr, NULL, &int_lock, LINE, 5, 5,
                                        Latched, FALSE, 1, FALSE);
    if (!NT_SUCCESS(connect_status))
        return;
    KeInitializeDpc(&dpc_a, ExecLockThenSynchronizeDpc, NULL);
    (void)KeInsertQueueDpc(&dpc_a, NULL, NULL); /* runs and returns before the interrupt */
    kdpc_line_assert(kdpc_current_machine(), LINE);
    for (int i = 0; i < 1000 && isr_runs == 0; i++)
        KeStallExecutionProcessor(1);
}

static void test_isr_taking_lock_held_around_synchronize_execution_bugchecks_c4_1001(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, ExecLockInIsr);
    kdpc_status st = kdpc_machine_run(m, InterruptLockOrderEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.order", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x1001);
    assert_int_equal(bc->params[1], addr(&lock_a));
    assert_int_equal(bc->params[2], addr(&int_lock)); /* the lock it is nested under */
    assert_string_equal(bc->routine, "ExecLockInIsr");
    assert_int_equal(isr_runs, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* spinlock.mixed_api                                                  */

static void OrdinaryThenQueuedEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock_a);
    KeAcquireSpinLock(&lock_a, &old);
    KeReleaseSpinLock(&lock_a, old);
    KeAcquireInStackQueuedSpinLock(&lock_a, &h); /* 2.14: never both kinds */
    reached_after = 1;
}

static void test_queued_acquire_of_ordinary_lock_bugchecks_c4_1008(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, OrdinaryThenQueuedEntry);
    kdpc_status st = kdpc_machine_run(m, OrdinaryThenQueuedEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.mixed_api", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1008);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&lock_a));
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "OrdinaryThenQueuedEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void QueuedThenOrdinaryEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock_a);
    KeAcquireInStackQueuedSpinLock(&lock_a, &h);
    KeReleaseInStackQueuedSpinLock(&h);
    KeAcquireSpinLock(&lock_a, &old);
    reached_after = 1;
}

static void test_ordinary_acquire_of_queued_lock_bugchecks_c4_1008(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, QueuedThenOrdinaryEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.mixed_api", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1008);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void QueuedAcquireOrdinaryReleaseEntry(void *ctx)
{
    (void)ctx;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock_a);
    KeAcquireInStackQueuedSpinLock(&lock_a, &h);
    KeReleaseSpinLock(&lock_a, h.OldIrql); /* released with the ordinary API */
    reached_after = 1;
}

static void test_ordinary_release_of_queued_lock_bugchecks_c4_1009(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, QueuedAcquireOrdinaryReleaseEntry);
    kdpc_status st = kdpc_machine_run(m, QueuedAcquireOrdinaryReleaseEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.mixed_api", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1009);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&lock_a));
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "QueuedAcquireOrdinaryReleaseEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* spinlock.held_too_long (warning)                                    */

static void HoldLongEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeSpinLock(&lock_a);
    KeAcquireSpinLock(&lock_a, &old);
    KeStallExecutionProcessor(30); /* 6.3: at most 25 us under a spin lock */
    KeReleaseSpinLock(&lock_a, old);
    reached_after = 1;
}

static void test_lock_held_30us_warns_and_run_goes_on(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, HoldLongEntry);
    kdpc_status st = kdpc_machine_run(m, HoldLongEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, "spinlock.held_too_long");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "spinlock.held_too_long");
    assert_int_equal(w->params[0], addr(&lock_a));
    assert_true(w->params[1] >= 30000u);
    assert_string_equal(w->routine, "HoldLongEntry");
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

static void HoldShortEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeSpinLock(&lock_a);
    KeAcquireSpinLock(&lock_a, &old);
    KeStallExecutionProcessor(20);
    KeReleaseSpinLock(&lock_a, old);
    reached_after = 1;
}

static void test_lock_held_20us_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, HoldShortEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "spinlock.held_too_long");
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_spin_lock_above_dispatch_bugchecks_c4_42),
        cmocka_unit_test(test_in_stack_acquire_above_dispatch_bugchecks_c4_42),
        cmocka_unit_test(test_acquire_spin_lock_in_isr_bugchecks_c4_42_naming_the_isr),
        cmocka_unit_test(test_acquire_spin_lock_at_dispatch_is_no_violation),
        cmocka_unit_test(test_acquire_at_dpc_level_at_passive_bugchecks_c4_40),
        cmocka_unit_test(test_acquire_at_dpc_level_at_apc_bugchecks_c4_40),
        cmocka_unit_test(test_queued_acquire_at_dpc_level_at_passive_bugchecks_c4_40),
        cmocka_unit_test(test_try_to_acquire_at_dpc_level_at_passive_bugchecks_c4_40),
        cmocka_unit_test(test_release_from_dpc_level_at_passive_bugchecks_c4_41),
        cmocka_unit_test(test_queued_release_from_dpc_level_at_apc_bugchecks_c4_41),
        cmocka_unit_test(test_release_spin_lock_above_dispatch_bugchecks_c4_32),
        cmocka_unit_test(test_double_release_at_passive_bugchecks_c4_32),
        cmocka_unit_test(test_in_stack_release_above_dispatch_bugchecks_c4_32),
        cmocka_unit_test(test_recursive_acquire_bugchecks_c4_1000),
        cmocka_unit_test(test_recursive_acquire_in_dpc_bugchecks_c4_1000_naming_the_dpc),
        cmocka_unit_test(test_recursive_in_stack_acquire_bugchecks_c4_1000),
        cmocka_unit_test(test_synchronize_execution_inside_own_isr_bugchecks_c4_1000),
        cmocka_unit_test(test_release_of_never_acquired_lock_bugchecks_c4_1007),
        cmocka_unit_test(test_second_release_at_dispatch_bugchecks_c4_1007),
        cmocka_unit_test(test_release_on_another_cpu_bugchecks_c4_1004),
        cmocka_unit_test(test_two_locks_in_both_orders_on_one_cpu_bugchecks_c4_1001),
        cmocka_unit_test(test_two_locks_in_the_same_order_twice_is_no_violation),
        cmocka_unit_test(test_isr_taking_lock_held_around_synchronize_execution_bugchecks_c4_1001),
        cmocka_unit_test(test_queued_acquire_of_ordinary_lock_bugchecks_c4_1008),
        cmocka_unit_test(test_ordinary_acquire_of_queued_lock_bugchecks_c4_1008),
        cmocka_unit_test(test_ordinary_release_of_queued_lock_bugchecks_c4_1009),
        cmocka_unit_test(test_lock_held_30us_warns_and_run_goes_on),
        cmocka_unit_test(test_lock_held_20us_is_no_violation),
    };
    return cmocka_run_group_tests_name("spinlock_rules", tests, NULL, NULL);
}
