/* SPDX-License-Identifier: MIT */
/*
 * test_isr_rules.c - the interrupt rules of docs/rules.md, each broken by a tiny
 * ISR or SynchCritSection caller: isr.irql_changed, isr.storm,
 * sync.irql_too_high and the warning isr.too_long.
 *
 * Facts: an ISR runs at its SynchronizeIrql holding the interrupt lock (3.3)
 * and must return there (3.8: 0xC8, P1 = (CurrentIrql << 16) |
 * (SynchronizeIrql << 8) | 3, P2 ServiceRoutine, P3 KINTERRUPT); a
 * level-triggered line that stays asserted while no ISR claims it is an
 * interrupt storm (3.7: 0xF2, P1 ISR or first ISR of the chain, P2
 * ServiceContext, P3 KINTERRUPT, P4 1 unshared / 2 chained);
 * KeSynchronizeExecution / KeAcquireInterruptSpinLock need IRQL <=
 * SynchronizeIrql (3.9, 3.10); an ISR runs at most 25 us (6.2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE 9

static int reached_after; /* set by code after the violating call: must stay 0 */
static PKINTERRUPT interrupt, interrupt2;
static NTSTATUS connect_status, connect_status2;
static volatile LONG isr_runs;
static int storm_ctx, storm_ctx2; /* ServiceContexts */
static int stalls_done;

static kdpc_machine *machine(void)
{
    reached_after = 0;
    interrupt = interrupt2 = NULL;
    connect_status = connect_status2 = STATUS_UNSUCCESSFUL;
    isr_runs = 0;
    stalls_done = 0;
    return kt_machine(1, 3);
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static uint64_t routine_addr(kdpc_routine_ptr r)
{
    uintptr_t a = 0;
    memcpy(&a, &r, sizeof(a) < sizeof(r) ? sizeof(a) : sizeof(r));
    return (uint64_t)a;
}

static void connect(PKSERVICE_ROUTINE isr, KIRQL irql, KIRQL sync, KINTERRUPT_MODE mode)
{
    connect_status = IoConnectInterrupt(&interrupt, isr, &storm_ctx, NULL, LINE, irql, sync, mode,
                                        FALSE, 1, FALSE);
}

static void interrupt_and_wait(void)
{
    kdpc_line_assert(kdpc_current_machine(), LINE);
    for (int i = 0; i < 1000 && isr_runs == 0; i++)
        KeStallExecutionProcessor(1);
}

/* ------------------------------------------------------------------ */
/* isr.irql_changed                                                    */

static BOOLEAN RaisingIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    KIRQL old;
    KeRaiseIrql(8, &old); /* never lowered */
    return TRUE;
}

static void RaisingIsrEntry(void *ctx)
{
    (void)ctx;
    connect(RaisingIsr, 5, 6, Latched);
    if (NT_SUCCESS(connect_status))
        interrupt_and_wait();
    reached_after = 1;
}

static void test_isr_returning_raised_bugchecks_c8_unique_3(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, RaisingIsr);
    kdpc_status st = kdpc_machine_run(m, RaisingIsrEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "isr.irql_changed", 0xC8);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* 3.8: (CurrentIrql << 16) | (ExpectedIrql = SynchronizeIrql << 8) | 3 */
    assert_int_equal(bc->params[0], (8u << 16) | (6u << 8) | 3u);
    assert_string_equal(bc->routine, "RaisingIsr");
    assert_string_equal(bc->name, "IRQL_UNEXPECTED_VALUE");
    assert_int_equal(isr_runs, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static BOOLEAN LoweringIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    KeLowerIrql(DISPATCH_LEVEL); /* leaves DIRQL while the interrupt lock is held */
    return TRUE;
}

static void LoweringIsrEntry(void *ctx)
{
    (void)ctx;
    connect(LoweringIsr, 5, 6, Latched);
    if (NT_SUCCESS(connect_status))
        interrupt_and_wait();
    reached_after = 1;
}

static void test_isr_returning_lowered_bugchecks_c8_unique_3(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, LoweringIsr);
    kdpc_status st = kdpc_machine_run(m, LoweringIsrEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "isr.irql_changed", 0xC8);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], (2u << 16) | (6u << 8) | 3u);
    assert_string_equal(bc->routine, "LoweringIsr");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void test_isr_irql_changed_p2_is_service_routine_p3_is_interrupt(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, RaisingIsrEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "isr.irql_changed", 0xC8);
    uint64_t p2 = kdpc_machine_bugcheck(m)->params[1];
    uint64_t p3 = kdpc_machine_bugcheck(m)->params[2];
    kdpc_machine_destroy(m);
    /* 3.8 / 7.8, UniqueValue 3: P2 = ServiceRoutine, P3 = KINTERRUPT */
    assert_int_equal(p3, addr(interrupt));
    assert_int_equal(p2, routine_addr((kdpc_routine_ptr)RaisingIsr));
}

/* ------------------------------------------------------------------ */
/* isr.too_long (warning)                                              */

static BOOLEAN SlowIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    KeStallExecutionProcessor(30); /* 6.2: an ISR should run at most 25 us */
    return TRUE;
}

static void SlowIsrEntry(void *ctx)
{
    (void)ctx;
    connect(SlowIsr, 5, 5, Latched);
    if (NT_SUCCESS(connect_status))
        interrupt_and_wait();
    reached_after = 1;
}

static void test_isr_running_30us_warns_and_run_goes_on(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, SlowIsr);
    kdpc_status st = kdpc_machine_run(m, SlowIsrEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, "isr.too_long");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "isr.too_long");
    assert_true(w->params[0] >= 30000u);   /* the call's duration, ns */
    assert_int_equal(w->params[1], 25000); /* the limit */
    assert_string_equal(w->routine, "SlowIsr");
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(isr_runs, 1);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

static BOOLEAN QuickIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    KeStallExecutionProcessor(10);
    return TRUE;
}

static void QuickIsrEntry(void *ctx)
{
    (void)ctx;
    connect(QuickIsr, 5, 5, Latched);
    if (NT_SUCCESS(connect_status))
        interrupt_and_wait();
    reached_after = 1;
}

static void test_isr_running_10us_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, QuickIsrEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(isr_runs, 1);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* isr.storm                                                           */

static BOOLEAN NotMineIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    return FALSE; /* never claims the interrupt: the device keeps the line asserted */
}

static BOOLEAN AlsoNotMineIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    return FALSE;
}

static void keep_line_asserted(void)
{
    kdpc_machine *m = kdpc_current_machine();
    kdpc_line_assert(m, LINE);
    for (stalls_done = 0; stalls_done < 2000; stalls_done++)
        KeStallExecutionProcessor(1);
    kdpc_line_deassert(m, LINE);
    reached_after = 1;
}

static void StormEntry(void *ctx)
{
    (void)ctx;
    connect(NotMineIsr, 5, 5, LevelSensitive);
    if (NT_SUCCESS(connect_status))
        keep_line_asserted();
}

static void test_unclaimed_level_interrupt_bugchecks_f2_unshared(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, NotMineIsr);
    kdpc_status st = kdpc_machine_run(m, StormEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "isr.storm", 0xF2);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_string_equal(bc->name, "HARDWARE_INTERRUPT_STORM");
    assert_int_equal(bc->params[1], addr(&storm_ctx)); /* P2 ServiceContext */
    assert_int_equal(bc->params[2], addr(interrupt));  /* P3 KINTERRUPT */
    assert_int_equal(bc->params[3], 1);                /* P4 1: not chained */
    assert_string_equal(bc->routine, "NotMineIsr");
    /* storm_threshold (64) unclaimed deliveries in a row */
    assert_int_equal(isr_runs, 64);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void test_storm_p1_is_the_isr(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, StormEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "isr.storm", 0xF2);
    uint64_t p1 = kdpc_machine_bugcheck(m)->params[0];
    kdpc_machine_destroy(m);
    /* 3.7: P1 = the ISR (first ISR in the chain) */
    assert_int_equal(p1, routine_addr((kdpc_routine_ptr)NotMineIsr));
}

static void SharedStormEntry(void *ctx)
{
    (void)ctx;
    connect_status = IoConnectInterrupt(&interrupt, NotMineIsr, &storm_ctx, NULL, LINE, 5, 5,
                                        LevelSensitive, TRUE, 1, FALSE);
    connect_status2 = IoConnectInterrupt(&interrupt2, AlsoNotMineIsr, &storm_ctx2, NULL, LINE, 5, 5,
                                         LevelSensitive, TRUE, 1, FALSE);
    if (NT_SUCCESS(connect_status) && NT_SUCCESS(connect_status2))
        keep_line_asserted();
}

static void test_unclaimed_level_interrupt_on_shared_line_bugchecks_f2_chained(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, SharedStormEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    assert_int_equal(connect_status2, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "isr.storm", 0xF2);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[1], addr(&storm_ctx)); /* the first ISR of the chain */
    assert_int_equal(bc->params[2], addr(interrupt));
    assert_int_equal(bc->params[3], 2); /* P4 2: chained */
    assert_int_equal(isr_runs, 2 * 64); /* both ISRs asked every time (3.6) */
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static BOOLEAN ClaimingIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    return TRUE; /* claims it (the device is simply slow to drop the line) */
}

static void ClaimedLevelEntry(void *ctx)
{
    (void)ctx;
    connect(ClaimingIsr, 5, 5, LevelSensitive);
    if (NT_SUCCESS(connect_status))
        keep_line_asserted();
}

static void test_claimed_level_interrupt_is_no_storm(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, ClaimedLevelEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "isr.storm");
    assert_true(isr_runs > 64);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* sync.irql_too_high                                                  */

static BOOLEAN TouchRegisters(PVOID Context)
{
    (void)Context;
    return TRUE;
}

static void SynchronizeAboveEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    connect(QuickIsr, 5, 5, Latched);
    if (!NT_SUCCESS(connect_status))
        return;
    KeRaiseIrql(7, &old);
    (void)KeSynchronizeExecution(interrupt, TouchRegisters, NULL); /* 3.9: IRQL <= 5 */
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_synchronize_execution_above_synchronize_irql_bugchecks_c4(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, SynchronizeAboveEntry);
    kdpc_status st = kdpc_machine_run(m, SynchronizeAboveEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "sync.irql_too_high", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* wdm/ke.h: 0xC4 / 0x30 with P2 the current IRQL and P3 the SynchronizeIrql */
    assert_int_equal(bc->params[0], 0x30);
    assert_int_equal(bc->params[1], 7);
    assert_int_equal(bc->params[2], 5);
    assert_string_equal(bc->routine, "SynchronizeAboveEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void InterruptLockAboveEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    connect(QuickIsr, 5, 6, Latched);
    if (!NT_SUCCESS(connect_status))
        return;
    KeRaiseIrql(HIGH_LEVEL, &old);
    KIRQL lock_old = KeAcquireInterruptSpinLock(interrupt); /* 3.10: IRQL <= 6 */
    reached_after = 1;
    KeReleaseInterruptSpinLock(interrupt, lock_old);
    KeLowerIrql(old);
}

static void test_acquire_interrupt_spin_lock_above_synchronize_irql_bugchecks_c4(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, InterruptLockAboveEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "sync.irql_too_high", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x30);
    assert_int_equal(bc->params[1], HIGH_LEVEL);
    assert_int_equal(bc->params[2], 6);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void SynchronizeAtSyncIrqlEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    connect(QuickIsr, 5, 6, Latched);
    if (!NT_SUCCESS(connect_status))
        return;
    KeRaiseIrql(6, &old);
    (void)KeSynchronizeExecution(interrupt, TouchRegisters, NULL); /* equal is fine (3.9) */
    KeLowerIrql(old);
    reached_after = 1;
}

static void test_synchronize_execution_at_synchronize_irql_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, SynchronizeAtSyncIrqlEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isr_returning_raised_bugchecks_c8_unique_3),
        cmocka_unit_test(test_isr_returning_lowered_bugchecks_c8_unique_3),
        cmocka_unit_test(test_isr_irql_changed_p2_is_service_routine_p3_is_interrupt),
        cmocka_unit_test(test_isr_running_30us_warns_and_run_goes_on),
        cmocka_unit_test(test_isr_running_10us_is_no_violation),
        cmocka_unit_test(test_unclaimed_level_interrupt_bugchecks_f2_unshared),
        cmocka_unit_test(test_storm_p1_is_the_isr),
        cmocka_unit_test(test_unclaimed_level_interrupt_on_shared_line_bugchecks_f2_chained),
        cmocka_unit_test(test_claimed_level_interrupt_is_no_storm),
        cmocka_unit_test(test_synchronize_execution_above_synchronize_irql_bugchecks_c4),
        cmocka_unit_test(test_acquire_interrupt_spin_lock_above_synchronize_irql_bugchecks_c4),
        cmocka_unit_test(test_synchronize_execution_at_synchronize_irql_is_no_violation),
    };
    return cmocka_run_group_tests_name("isr_rules", tests, NULL, NULL);
}
