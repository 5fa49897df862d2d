/* SPDX-License-Identifier: MIT */
/*
 * test_dpc_rules.c - the DPC rules of docs/rules.md, each broken by a tiny
 * routine: dpc.wait, dpc.irql_changed, dpc.lock_held, dpc.watchdog and the
 * warnings dpc.too_long and dpc.stall_too_long.
 *
 * Facts: a DPC routine runs at DISPATCH_LEVEL and must return there (4.19,
 * 8.5; kdpc reports 0xC8 with P1 = (CurrentIrql << 16) | (DISPATCH_LEVEL << 8)
 * | 2, the layout of 7.8); no waits at DISPATCH_LEVEL (1.18, 4.22: 0xC4 0x3B);
 * no spin lock held on return (2.20, 2.22 SpinLock rule 0x00040009); at most
 * 100 us per call and 100 us of stall (6.1, 6.4); the DPC watchdog 0x133
 * (6.5: P1 0 one routine over its allotment, P1 1 too long at >= DISPATCH).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE              4
#define SPINLOCK_DDI_RULE 0x00040009u /* 2.22: SpinLock */

static int reached_after; /* set by code after the violating call: must stay 0 */
static int dpc_returned;
static KSPIN_LOCK lock_a;
static KDPC dpc;
static PKINTERRUPT interrupt;
static NTSTATUS connect_status;
static volatile LONG isr_runs;
static int requeues;

static void reset(void)
{
    reached_after = 0;
    dpc_returned = 0;
    lock_a = 0;
    interrupt = NULL;
    connect_status = STATUS_UNSUCCESSFUL;
    isr_runs = 0;
    requeues = 0;
}

static kdpc_machine *machine(unsigned cpus)
{
    reset();
    return kt_machine(cpus, 5);
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void run_dpc_now(PKDEFERRED_ROUTINE routine)
{
    KeInitializeDpc(&dpc, routine, &lock_a);
    (void)KeInsertQueueDpc(&dpc, NULL, NULL); /* 4.15: inserted at PASSIVE, it has run now */
}

/* ------------------------------------------------------------------ */
/* dpc.wait                                                            */

static void FlushAtDispatchEntry(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeFlushQueuedDpcs(); /* 4.22: PASSIVE_LEVEL only; it waits */
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_flush_queued_dpcs_at_dispatch_bugchecks_c4_3b(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, FlushAtDispatchEntry);
    kdpc_status st = kdpc_machine_run(m, FlushAtDispatchEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x3B);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_string_equal(bc->routine, "FlushAtDispatchEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void FlushInsideDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeFlushQueuedDpcs(); /* G3: no waiting in a DPC */
    reached_after = 1;
}

static void FlushInsideDpcEntry(void *ctx)
{
    (void)ctx;
    run_dpc_now(FlushInsideDpc);
}

static void test_flush_queued_dpcs_inside_dpc_bugchecks_c4_3b_naming_the_dpc(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, FlushInsideDpc);
    kdpc_status st = kdpc_machine_run(m, FlushInsideDpcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x3B);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_string_equal(bc->routine, "FlushInsideDpc");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void FlushAtPassiveEntry(void *ctx)
{
    (void)ctx;
    KeFlushQueuedDpcs();
    reached_after = 1;
}

static void test_flush_queued_dpcs_at_passive_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2);
    kdpc_status st = kdpc_machine_run(m, FlushAtPassiveEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "dpc.wait");
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* dpc.irql_changed                                                    */

static void LowersToPassiveDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeLowerIrql(PASSIVE_LEVEL); /* undoes a raise it never made */
    dpc_returned = 1;
}

static void LowersToPassiveEntry(void *ctx)
{
    (void)ctx;
    run_dpc_now(LowersToPassiveDpc);
    reached_after = 1;
}

static void test_dpc_returning_at_passive_bugchecks_c8(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, LowersToPassiveDpc);
    kdpc_status st = kdpc_machine_run(m, LowersToPassiveEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.irql_changed", 0xC8);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* 7.8 layout: (CurrentIrql << 16) | (ExpectedIrql << 8) | 2 */
    assert_int_equal(bc->params[0], (PASSIVE_LEVEL << 16) | (DISPATCH_LEVEL << 8) | 2);
    assert_string_equal(bc->routine, "LowersToPassiveDpc");
    assert_string_equal(bc->name, "IRQL_UNEXPECTED_VALUE");
    assert_int_equal(dpc_returned, 1);  /* found when the routine returned ... */
    assert_int_equal(reached_after, 0); /* ... and the run stopped there */
    kdpc_machine_destroy(m);
}

static void RaisesAndForgetsDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KIRQL old;
    KeRaiseIrql(5, &old); /* never lowered again */
    dpc_returned = 1;
}

static void RaisesAndForgetsEntry(void *ctx)
{
    (void)ctx;
    run_dpc_now(RaisesAndForgetsDpc);
    reached_after = 1;
}

static void test_dpc_returning_at_dirql_bugchecks_c8(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, RaisesAndForgetsDpc);
    kdpc_status st = kdpc_machine_run(m, RaisesAndForgetsEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.irql_changed", 0xC8);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], (5u << 16) | (DISPATCH_LEVEL << 8) | 2);
    assert_string_equal(bc->routine, "RaisesAndForgetsDpc");
    assert_int_equal(dpc_returned, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void ReleaseToPassiveDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    PKSPIN_LOCK l = Context;
    KeAcquireSpinLockAtDpcLevel(l);
    KeReleaseSpinLock(l, PASSIVE_LEVEL); /* 2.8 / 2.9: the wrong release lowers IRQL */
    dpc_returned = 1;
}

static void ReleaseToPassiveEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    run_dpc_now(ReleaseToPassiveDpc);
    reached_after = 1;
}

static void test_dpc_releasing_to_passive_with_ke_release_spin_lock_bugchecks_c8(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, ReleaseToPassiveEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.irql_changed", 0xC8);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0],
                     (PASSIVE_LEVEL << 16) | (DISPATCH_LEVEL << 8) | 2);
    assert_int_equal(dpc_returned, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* dpc.lock_held                                                       */

static void ForgetsToReleaseDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    KeAcquireSpinLockAtDpcLevel((PKSPIN_LOCK)Context);
    dpc_returned = 1;
}

static void ForgetsToReleaseEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    run_dpc_now(ForgetsToReleaseDpc);
    reached_after = 1;
}

static void test_dpc_returning_holding_a_lock_bugchecks_c4_spinlock_rule(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, ForgetsToReleaseDpc);
    kdpc_status st = kdpc_machine_run(m, ForgetsToReleaseEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.lock_held", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], SPINLOCK_DDI_RULE);
    assert_int_equal(bc->params[1], addr(&lock_a));
    assert_string_equal(bc->routine, "ForgetsToReleaseDpc");
    assert_int_equal(dpc_returned, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void ForgetsQueuedDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    static KLOCK_QUEUE_HANDLE h;
    KeAcquireInStackQueuedSpinLockAtDpcLevel((PKSPIN_LOCK)Context, &h);
    dpc_returned = 1;
}

static void ForgetsQueuedEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    run_dpc_now(ForgetsQueuedDpc);
    reached_after = 1;
}

static void test_dpc_returning_holding_a_queued_lock_bugchecks_c4_spinlock_rule(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, ForgetsQueuedEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.lock_held", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], SPINLOCK_DDI_RULE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], addr(&lock_a));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static BOOLEAN ForgetsToReleaseIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_runs++;
    KeAcquireSpinLockAtDpcLevel(&lock_a); /* at DIRQL, >= DISPATCH_LEVEL: allowed (2.7) */
    return TRUE;
}

static void IsrForgetsEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    connect_status = IoConnectInterrupt(&interrupt, ForgetsToReleaseIsr, NULL, NULL, LINE, 5, 5,
                                        Latched, FALSE, 1, FALSE);
    if (!NT_SUCCESS(connect_status))
        return;
    kdpc_line_assert(kdpc_current_machine(), LINE);
    for (int i = 0; i < 1000 && isr_runs == 0; i++)
        KeStallExecutionProcessor(1);
    reached_after = 1;
}

static void test_isr_returning_holding_a_lock_bugchecks_c4_spinlock_rule(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, ForgetsToReleaseIsr);
    kdpc_status st = kdpc_machine_run(m, IsrForgetsEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "dpc.lock_held", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], SPINLOCK_DDI_RULE);
    assert_int_equal(bc->params[1], addr(&lock_a));
    assert_string_equal(bc->routine, "ForgetsToReleaseIsr");
    assert_int_equal(isr_runs, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void ReleasesDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    KeAcquireSpinLockAtDpcLevel((PKSPIN_LOCK)Context);
    KeReleaseSpinLockFromDpcLevel((PKSPIN_LOCK)Context);
    dpc_returned = 1;
}

static void ReleasesEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    run_dpc_now(ReleasesDpc);
    reached_after = 1;
}

static void test_dpc_releasing_its_lock_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, ReleasesEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(dpc_returned, 1);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* dpc.too_long (warning)                                              */

static void SlowDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeStallExecutionProcessor(60); /* each stall is within G9's 100 us ... */
    KeStallExecutionProcessor(60); /* ... but the call runs 120 us: over G8's 100 us */
    dpc_returned = 1;
}

static void SlowDpcEntry(void *ctx)
{
    (void)ctx;
    run_dpc_now(SlowDpc);
    reached_after = 1;
}

static void test_dpc_running_120us_warns_and_run_goes_on(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, SlowDpc);
    kdpc_status st = kdpc_machine_run(m, SlowDpcEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, "dpc.too_long");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "dpc.too_long");
    assert_true(w->params[0] >= 120000u);   /* the call's duration, ns */
    assert_int_equal(w->params[1], 100000); /* the limit (6.1) */
    assert_string_equal(w->routine, "SlowDpc");
    assert_string_equal(w->name, "");
    KT_ASSERT_NO_VIOLATION(m, "dpc.stall_too_long");
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

static void QuickDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeStallExecutionProcessor(80);
    dpc_returned = 1;
}

static void QuickDpcEntry(void *ctx)
{
    (void)ctx;
    run_dpc_now(QuickDpc);
    reached_after = 1;
}

static void test_dpc_running_80us_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, QuickDpcEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* dpc.stall_too_long (warning)                                        */

static void LongStallDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeStallExecutionProcessor(150); /* 6.4: a DPC stalls at most 100 us */
    dpc_returned = 1;
}

static void LongStallDpcEntry(void *ctx)
{
    (void)ctx;
    run_dpc_now(LongStallDpc);
    reached_after = 1;
}

static void test_stall_150us_in_dpc_warns_and_run_goes_on(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, LongStallDpc);
    kdpc_status st = kdpc_machine_run(m, LongStallDpcEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, "dpc.stall_too_long");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "dpc.stall_too_long");
    assert_int_equal(w->params[0], 150); /* us asked for */
    assert_int_equal(w->params[1], 100); /* the limit inside a DPC */
    assert_string_equal(w->routine, "LongStallDpc");
    assert_int_equal(w->irql, DISPATCH_LEVEL);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(dpc_returned, 1);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

static void StallAtLimitDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeStallExecutionProcessor(100);
    dpc_returned = 1;
}

static void StallAtLimitEntry(void *ctx)
{
    (void)ctx;
    run_dpc_now(StallAtLimitDpc);
    reached_after = 1;
}

static void test_stall_of_exactly_100us_in_dpc_does_not_warn(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, StallAtLimitEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "dpc.stall_too_long");
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

static void ThreadStall60Entry(void *ctx)
{
    (void)ctx;
    KeStallExecutionProcessor(50); /* within "typically < 50 us" (6.4) */
    KeStallExecutionProcessor(60);
    reached_after = 1;
}

static void test_stall_60us_outside_dpc_warns_with_50us_limit(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, ThreadStall60Entry);
    kdpc_status st = kdpc_machine_run(m, ThreadStall60Entry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, "dpc.stall_too_long");
    assert_int_equal(kdpc_machine_violation_count(m), 1); /* the 50 us stall did not warn */
    const kdpc_violation *w = kdpc_machine_find_violation(m, "dpc.stall_too_long");
    assert_int_equal(w->params[0], 60);
    assert_int_equal(w->params[1], 50);
    assert_string_equal(w->routine, "ThreadStall60Entry");
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* dpc.watchdog                                                        */

static kdpc_machine *watchdog_machine(uint64_t single_ns, uint64_t cumulative_ns)
{
    reset();
    kdpc_config cfg = kt_config(1, 5);
    cfg.clock_tick_ns = 100000; /* 100 us ticks: the watchdog counts in ticks (6.5) */
    cfg.watchdog_single_ns = single_ns;
    cfg.watchdog_cumulative_ns = cumulative_ns;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static void RunawayDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    for (int i = 0; i < 200; i++) /* 10 ms in 50 us pieces */
        KeStallExecutionProcessor(50);
    dpc_returned = 1;
}

static void RunawayDpcEntry(void *ctx)
{
    (void)ctx;
    run_dpc_now(RunawayDpc);
    reached_after = 1;
}

static void test_dpc_over_single_allotment_bugchecks_133_p1_0(void **state)
{
    (void)state;
    kdpc_machine *m = watchdog_machine(1000000, 500000000); /* 1 ms allotment */
    KDPC_NAME(m, RunawayDpc);
    kdpc_status st = kdpc_machine_run(m, RunawayDpcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.watchdog", 0x133);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0);
    assert_int_equal(bc->params[2], 10);         /* P3 allotment: 1 ms = 10 ticks */
    assert_true(bc->params[1] >= bc->params[2]); /* P2 time count: over the allotment */
    assert_string_equal(bc->routine, "RunawayDpc");
    assert_string_equal(bc->name, "DPC_WATCHDOG_VIOLATION");
    /* found while it ran: a little over 1 ms, not after the 10 ms */
    assert_true(bc->time_ns > 1000000u);
    assert_true(bc->time_ns < 2000000u);
    assert_int_equal(dpc_returned, 0);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void LongAtDispatchEntry(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (int i = 0; i < 200; i++) /* 8 ms at DISPATCH_LEVEL in 40 us pieces */
        KeStallExecutionProcessor(40);
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_thread_at_dispatch_over_cumulative_bugchecks_133_p1_1(void **state)
{
    (void)state;
    kdpc_machine *m = watchdog_machine(100000000, 2000000); /* 2 ms at >= DISPATCH */
    KDPC_NAME(m, LongAtDispatchEntry);
    kdpc_status st = kdpc_machine_run(m, LongAtDispatchEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.watchdog", 0x133);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 1);
    assert_int_equal(bc->params[1], 20); /* P2 watchdog period: 2 ms = 20 ticks */
    assert_true(bc->time_ns > 2000000u);
    assert_true(bc->time_ns < 3000000u);
    assert_int_equal(bc->irql, DISPATCH_LEVEL);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RequeuesItselfDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeStallExecutionProcessor(50); /* each call is short ... */
    if (++requeues < 200)
        (void)KeInsertQueueDpc(Dpc, NULL, NULL); /* ... but 4.20: runs again in the same drain */
    dpc_returned = 1;
}

static void RequeuesItselfEntry(void *ctx)
{
    (void)ctx;
    run_dpc_now(RequeuesItselfDpc);
    reached_after = 1;
}

static void test_dpc_requeueing_itself_bugchecks_133_p1_1(void **state)
{
    (void)state;
    kdpc_machine *m = watchdog_machine(1000000, 2000000);
    kdpc_status st = kdpc_machine_run(m, RequeuesItselfEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.watchdog", 0x133);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 1); /* never one call over 1 ms: the total is */
    assert_int_equal(bc->params[1], 20);
    assert_true(requeues > 30);
    assert_true(requeues < 200);
    KT_ASSERT_NO_VIOLATION(m, "dpc.too_long");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_queued_dpcs_at_dispatch_bugchecks_c4_3b),
        cmocka_unit_test(test_flush_queued_dpcs_inside_dpc_bugchecks_c4_3b_naming_the_dpc),
        cmocka_unit_test(test_flush_queued_dpcs_at_passive_is_no_violation),
        cmocka_unit_test(test_dpc_returning_at_passive_bugchecks_c8),
        cmocka_unit_test(test_dpc_returning_at_dirql_bugchecks_c8),
        cmocka_unit_test(test_dpc_releasing_to_passive_with_ke_release_spin_lock_bugchecks_c8),
        cmocka_unit_test(test_dpc_returning_holding_a_lock_bugchecks_c4_spinlock_rule),
        cmocka_unit_test(test_dpc_returning_holding_a_queued_lock_bugchecks_c4_spinlock_rule),
        cmocka_unit_test(test_isr_returning_holding_a_lock_bugchecks_c4_spinlock_rule),
        cmocka_unit_test(test_dpc_releasing_its_lock_is_no_violation),
        cmocka_unit_test(test_dpc_running_120us_warns_and_run_goes_on),
        cmocka_unit_test(test_dpc_running_80us_is_no_violation),
        cmocka_unit_test(test_stall_150us_in_dpc_warns_and_run_goes_on),
        cmocka_unit_test(test_stall_of_exactly_100us_in_dpc_does_not_warn),
        cmocka_unit_test(test_stall_60us_outside_dpc_warns_with_50us_limit),
        cmocka_unit_test(test_dpc_over_single_allotment_bugchecks_133_p1_0),
        cmocka_unit_test(test_thread_at_dispatch_over_cumulative_bugchecks_133_p1_1),
        cmocka_unit_test(test_dpc_requeueing_itself_bugchecks_133_p1_1),
    };
    return cmocka_run_group_tests_name("dpc_rules", tests, NULL, NULL);
}
