/* SPDX-License-Identifier: MIT */
/*
 * test_interrupt_teardown.c - interrupt objects torn down as Windows does it,
 * bad interrupt objects reported instead of followed, and a level line that
 * an ISR claims but never clears reported instead of re-entered forever.
 *
 * Facts: IoDisconnectInterrupt(Ex) is called at PASSIVE_LEVEL (its page's
 * Requirements; Verifier's DDI rule IrqlIoPassive4: 0xC4, P1 0x2000D) and
 * returns once no CPU runs the ISR or holds the interrupt's spin lock; a
 * disconnect from the ISR itself would wait for itself (kdpc:
 * isr.disconnect_self, 0xC4 / 0x1000 self-deadlock). A level-triggered
 * line that stays asserted is an interrupt storm: 0xF2
 * HARDWARE_INTERRUPT_STORM, P1 the ISR, P2 its ServiceContext, P3 the
 * KINTERRUPT, P4 1 unshared / 2 chained.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE  11
#define DIRQL 5

static PKINTERRUPT intr;
static NTSTATUS connect_status;
static KSPIN_LOCK driver_lock;
static int isr_ctx;
static volatile LONG isr_calls, isr_entered, isr_left, disconnect_started;
static volatile LONG lock_held, lock_released;
static LONG left_at_return, released_at_return, calls_at_disconnect;
static int reached_after;  /* set by code after the violating call */
static LONG reassert_left; /* re-assertions the device still has to make */
static KDPC device_dpc;

static void reset(void)
{
    intr = NULL;
    connect_status = STATUS_UNSUCCESSFUL;
    driver_lock = 0;
    isr_calls = isr_entered = isr_left = disconnect_started = 0;
    lock_held = lock_released = 0;
    left_at_return = released_at_return = calls_at_disconnect = -1;
    reached_after = 0;
    reassert_left = 0;
}

static kdpc_machine *machine(unsigned cpus, uint64_t seed)
{
    reset();
    kdpc_config cfg = kt_config(cpus, seed);
    /* the waiting ISRs and lock holders below run long on purpose */
    cfg.isr_time_limit_ns = 10000000;
    cfg.spinlock_hold_limit_ns = 10000000;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
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

static bool connect(PKSERVICE_ROUTINE isr, KINTERRUPT_MODE mode, KAFFINITY cpus, PKSPIN_LOCK lock)
{
    connect_status = IoConnectInterrupt(&intr, isr, &isr_ctx, lock, LINE, DIRQL, DIRQL, mode, FALSE,
                                        cpus, FALSE);
    return NT_SUCCESS(connect_status);
}

static void stall_until(volatile LONG *flag)
{
    for (int i = 0; i < 100000 && *flag == 0; i++)
        KeStallExecutionProcessor(1);
}

/* ------------------------------------------------------------------ */
/* The disconnect waits for deliveries and lock holders on other CPUs  */

/* Runs on CPU 1 and stays there until CPU 0 has begun to disconnect it. */
static BOOLEAN SlowIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_entered = 1;
    stall_until(&disconnect_started);
    for (int i = 0; i < 5; i++)
        KeStallExecutionProcessor(1);
    isr_calls++;
    isr_left = 1; /* no interleaving point from here to the ISR's return */
    return TRUE;
}

static void DisconnectWhileIsrRunsEntry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    (void)KeSetSystemAffinityThreadEx(1); /* this thread on CPU 0, the ISR on CPU 1 */
    if (!connect(SlowIsr, Latched, 2, NULL))
        return;
    kdpc_line_assert(m, LINE);
    stall_until(&isr_entered);
    disconnect_started = 1;
    IoDisconnectInterrupt(intr); /* the ISR is still running on CPU 1 */
    left_at_return = isr_left;
    calls_at_disconnect = isr_calls;
    kdpc_line_assert(m, LINE); /* nobody is connected any more: no delivery */
    for (int i = 0; i < 50; i++)
        KeStallExecutionProcessor(1);
    reached_after = 1;
}

static void test_disconnect_waits_for_the_isr_running_on_another_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        kdpc_machine *m = machine(2, seed);
        kdpc_status st = kdpc_machine_run(m, DisconnectWhileIsrRunsEntry, NULL);
        assert_int_equal(connect_status, STATUS_SUCCESS);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(left_at_return, 1); /* it returned only after the ISR had */
        assert_int_equal(calls_at_disconnect, 1);
        assert_int_equal(isr_calls, 1); /* no delivery after the disconnect */
        assert_int_equal(reached_after, 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* Holds the interrupt's spin lock on CPU 1 until CPU 0 has begun to disconnect. */
static void LockHolder(PVOID ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(2);
    KIRQL old = KeAcquireInterruptSpinLock(intr);
    lock_held = 1;
    stall_until(&disconnect_started);
    for (int i = 0; i < 5; i++)
        KeStallExecutionProcessor(1);
    lock_released = 1; /* no interleaving point from here to the release */
    KeReleaseInterruptSpinLock(intr, old);
}

static BOOLEAN QuietIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_calls++;
    return TRUE;
}

static void start_thread(PKSTART_ROUTINE routine)
{
    HANDLE h;
    assert_int_equal(PsCreateSystemThread(&h, 0, NULL, NULL, NULL, routine, NULL), STATUS_SUCCESS);
    (void)ZwClose(h);
}

static void DisconnectWhileLockHeldEntry(void *ctx)
{
    PKSPIN_LOCK lock = ctx;
    (void)KeSetSystemAffinityThreadEx(1);
    if (!connect(QuietIsr, Latched, 3, lock))
        return;
    start_thread(LockHolder);
    stall_until(&lock_held);
    disconnect_started = 1;
    IoDisconnectInterrupt(intr); /* CPU 1 holds the interrupt lock */
    released_at_return = lock_released;
    reached_after = 1;
}

static void test_disconnect_waits_for_the_interrupt_lock_held_on_another_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        kdpc_machine *m = machine(2, seed);
        /* the object's own lock, then a driver-supplied one */
        kdpc_status st = kdpc_machine_run(m, DisconnectWhileLockHeldEntry, NULL);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(released_at_return, 1);
        assert_int_equal(reached_after, 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);

        m = machine(2, seed);
        st = kdpc_machine_run(m, DisconnectWhileLockHeldEntry, &driver_lock);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(released_at_return, 1);
        assert_int_equal(reached_after, 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

static BOOLEAN SlowCritSection(PVOID ctx)
{
    (void)ctx;
    lock_held = 1;
    stall_until(&disconnect_started);
    KeStallExecutionProcessor(3);
    lock_released = 1;
    return TRUE;
}

static void Synchronizer(PVOID ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(2);
    (void)KeSynchronizeExecution(intr, SlowCritSection, NULL);
}

static void DisconnectDuringSynchronizeEntry(void *ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(1);
    if (!connect(QuietIsr, LevelSensitive, 3, NULL))
        return;
    start_thread(Synchronizer);
    stall_until(&lock_held);
    disconnect_started = 1;
    IoDisconnectInterrupt(intr); /* a SynchCritSection runs on CPU 1 */
    released_at_return = lock_released;
    reached_after = 1;
}

static void test_disconnect_waits_for_a_synch_crit_section_on_another_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        kdpc_machine *m = machine(2, seed);
        kdpc_status st = kdpc_machine_run(m, DisconnectDuringSynchronizeEntry, NULL);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(released_at_return, 1);
        assert_int_equal(reached_after, 1);
        kdpc_machine_destroy(m);
    }
}

/* Connect and disconnect many times over with deliveries in flight on both CPUs. */
static BOOLEAN CountingIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_calls++;
    KeStallExecutionProcessor(2);
    return TRUE;
}

static void ChurnEntry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    for (int round = 0; round < 40; round++) {
        if (!connect(CountingIsr, Latched, 3, NULL))
            return;
        kdpc_line_assert(m, LINE);
        KeStallExecutionProcessor(1);
        kdpc_line_assert(m, LINE);
        IoDisconnectInterrupt(intr);
    }
    reached_after = 1;
}

static void test_connect_disconnect_churn_on_two_cpus(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        kdpc_machine *m = machine(2, seed);
        kdpc_status st = kdpc_machine_run(m, ChurnEntry, NULL);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(reached_after, 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* A shared level line: the first ISR runs on CPU 1 while CPU 0 disconnects the second one. The
 * delivery in flight must not call (or follow a link through) the object taken off the line. */
static PKINTERRUPT intr_second;
static volatile LONG second_calls;

static BOOLEAN FirstOnChainIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_entered = 1;
    stall_until(&disconnect_started);
    for (int i = 0; i < 3; i++)
        KeStallExecutionProcessor(1);
    isr_calls++;
    kdpc_line_deassert(kdpc_current_machine(), LINE); /* it was this device after all... */
    return FALSE; /* ... but it says no: the chain goes on to the next object, if any */
}

static BOOLEAN SecondOnChainIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    second_calls++;
    return TRUE;
}

static void DisconnectNextOnChainEntry(void *ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(1);
    second_calls = 0;
    connect_status = IoConnectInterrupt(&intr, FirstOnChainIsr, NULL, NULL, LINE, DIRQL, DIRQL,
                                        LevelSensitive, TRUE, 2, FALSE);
    if (!NT_SUCCESS(connect_status) ||
        !NT_SUCCESS(IoConnectInterrupt(&intr_second, SecondOnChainIsr, NULL, NULL, LINE, DIRQL,
                                       DIRQL, LevelSensitive, TRUE, 2, FALSE)))
        return;
    kdpc_line_assert(kdpc_current_machine(), LINE);
    stall_until(&isr_entered);
    disconnect_started = 1;
    IoDisconnectInterrupt(intr_second); /* not in use: freed at once */
    stall_until(&isr_calls);
    IoDisconnectInterrupt(intr);
    reached_after = 1;
}

static void test_disconnecting_the_next_object_of_a_chain_in_flight(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        kdpc_machine *m = machine(2, seed);
        kdpc_status st = kdpc_machine_run(m, DisconnectNextOnChainEntry, NULL);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(isr_calls, 1);
        assert_int_equal(second_calls, 0); /* taken off the line before the chain reached it */
        assert_int_equal(reached_after, 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* While CPU 0 waits in IoDisconnectInterrupt, the object is no longer usable for new work. */
static BOOLEAN NeverRunCrit(PVOID ctx)
{
    (void)ctx;
    second_calls++;
    return TRUE;
}

static void LateSynchronizer(PVOID ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(4);
    stall_until(&disconnect_started);
    KeStallExecutionProcessor(1);
    (void)KeSynchronizeExecution(intr, NeverRunCrit, NULL); /* disconnect in progress */
    reached_after = 1;
}

static BOOLEAN HoldUntilReleasedIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_entered = 1;
    stall_until(&lock_released);
    isr_calls++;
    return TRUE;
}

static void SynchronizeDuringDisconnectEntry(void *ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(1);
    second_calls = 0;
    if (!connect(HoldUntilReleasedIsr, Latched, 2, NULL))
        return;
    start_thread(LateSynchronizer);
    kdpc_line_assert(kdpc_current_machine(), LINE);
    stall_until(&isr_entered);
    disconnect_started = 1;
    IoDisconnectInterrupt(intr);
}

static void test_synchronize_on_an_interrupt_being_disconnected_bugchecks(void **state)
{
    (void)state;
    kdpc_machine *m = machine(3, 3); /* the entry on CPU 0, the ISR on 1, the late caller on 2 */
    kdpc_status st = kdpc_machine_run(m, SynchronizeDuringDisconnectEntry, NULL);
    /* The ISR on CPU 1 waits for lock_released, which nobody sets: the disconnect on CPU 0
     * waits meanwhile, and the late KeSynchronizeExecution on CPU 2 finds it disconnected. */
    KT_ASSERT_BUGCHECK(m, st, "obj.invalid", 0x50);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_string_equal(bc->name, "PAGE_FAULT_IN_NONPAGED_AREA");
    assert_int_equal(bc->params[0], addr(intr));
    assert_int_equal(bc->params[3], 0); /* a disconnected object */
    assert_non_null(strstr(bc->message, "disconnected already"));
    assert_int_equal(second_calls, 0);
    kdpc_machine_destroy(m);
}

/* An ISR that never ends: the disconnect waits for ever, the run's step limit ends it, and
 * destroy frees the object the disconnect was waiting for. */
static BOOLEAN EndlessIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_entered = 1;
    for (long i = 0; i < 1000000000L; i++) /* the run's step limit comes first */
        KeStallExecutionProcessor(1);
    return TRUE;
}

static void DisconnectEndlessEntry(void *ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(1);
    if (!connect(EndlessIsr, Latched, 2, NULL))
        return;
    kdpc_line_assert(kdpc_current_machine(), LINE);
    stall_until(&isr_entered);
    IoDisconnectInterrupt(intr);
    reached_after = 1;
}

static void test_disconnect_waiting_for_an_endless_isr_ends_with_the_run(void **state)
{
    (void)state;
    reset();
    kdpc_config cfg = kt_config(2, 1);
    cfg.run_step_limit = 20000;
    cfg.isr_time_limit_ns = UINT64_MAX;
    cfg.watchdog_single_ns = 0;
    cfg.watchdog_cumulative_ns = 0;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_status st = kdpc_machine_run(m, DisconnectEndlessEntry, NULL);
    assert_int_equal(st, KDPC_TIMEOUT);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m); /* frees the object still waited for */
}

/* ------------------------------------------------------------------ */
/* A disconnect that would wait for itself, or is called above PASSIVE */

static BOOLEAN SelfDisconnectingIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)ServiceContext;
    isr_calls++;
    IoDisconnectInterrupt(Interrupt);
    reached_after = 1;
    return TRUE;
}

static void SelfDisconnectEntry(void *ctx)
{
    PKSPIN_LOCK lock = ctx;
    kdpc_machine *m = kdpc_current_machine();
    if (!connect(SelfDisconnectingIsr, Latched, 1, lock))
        return;
    kdpc_line_assert(m, LINE);
    stall_until(&isr_calls);
    kdpc_line_assert(m, LINE); /* disconnected (as a warning): no second call */
    for (int i = 0; i < 20; i++)
        KeStallExecutionProcessor(1);
}

static void test_disconnect_from_its_own_isr_bugchecks_self_deadlock(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1, 5);
    KDPC_NAME(m, SelfDisconnectingIsr);
    kdpc_status st = kdpc_machine_run(m, SelfDisconnectEntry, &driver_lock);
    KT_ASSERT_BUGCHECK(m, st, "isr.disconnect_self", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x1000);             /* self-deadlock */
    assert_int_equal(bc->params[1], addr(&driver_lock)); /* the interrupt's spin lock */
    assert_int_equal(bc->params[2], addr(intr));
    assert_string_equal(bc->routine, "SelfDisconnectingIsr");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void test_disconnect_from_its_own_isr_as_warnings_frees_after_the_isr(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        kdpc_machine *m = machine(cpus, 5);
        assert_int_equal(kdpc_rule_set(m, "isr.disconnect_self", KDPC_RULE_WARN), KDPC_OK);
        assert_int_equal(kdpc_rule_set(m, "isr.disconnect_irql", KDPC_RULE_WARN), KDPC_OK);
        kdpc_status st = kdpc_machine_run(m, SelfDisconnectEntry, NULL);
        assert_int_equal(st, KDPC_OK);
        KT_ASSERT_WARNING(m, "isr.disconnect_self");
        KT_ASSERT_WARNING(m, "isr.disconnect_irql"); /* at DIRQL, too */
        assert_int_equal(isr_calls, 1);
        assert_int_equal(reached_after, 1);
        kdpc_machine_destroy(m);
    }
}

static void SelfHoldingEntry(void *ctx)
{
    (void)ctx;
    if (!connect(QuietIsr, Latched, 1, NULL))
        return;
    KIRQL old = KeAcquireInterruptSpinLock(intr);
    IoDisconnectInterrupt(intr); /* this CPU holds the lock the disconnect waits for */
    reached_after = 1;
    KeReleaseInterruptSpinLock(intr, old);
}

static void test_disconnect_holding_its_interrupt_lock_bugchecks_self_deadlock(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2, 9);
    kdpc_status st = kdpc_machine_run(m, SelfHoldingEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "isr.disconnect_self", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x1000);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[2], addr(intr));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void test_disconnect_holding_its_interrupt_lock_as_warnings_ends_cleanly(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1, 9);
    assert_int_equal(kdpc_rule_set(m, "isr.*", KDPC_RULE_WARN), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, SelfHoldingEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, "isr.disconnect_self");
    assert_int_equal(reached_after, 1); /* the release after it found the object still there */
    kdpc_machine_destroy(m);
}

static void DisconnectAtDispatchEntry(void *ctx)
{
    (void)ctx;
    if (!connect(QuietIsr, Latched, 1, NULL))
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    IoDisconnectInterrupt(intr); /* PASSIVE_LEVEL only */
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_disconnect_at_dispatch_level_bugchecks_c4_2000d(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1, 2);
    KDPC_NAME(m, DisconnectAtDispatchEntry);
    kdpc_status st = kdpc_machine_run(m, DisconnectAtDispatchEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "isr.disconnect_irql", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x2000D); /* DDI rule IrqlIoPassive4 */
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], addr(intr));
    assert_string_equal(bc->routine, "DisconnectAtDispatchEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void test_disconnect_at_dispatch_level_as_warning_disconnects(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1, 2);
    assert_int_equal(kdpc_rule_set(m, "isr.disconnect_irql", KDPC_RULE_WARN), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, DisconnectAtDispatchEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, "isr.disconnect_irql");
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

static void DisconnectingDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    IoDisconnectInterrupt(intr);
    reached_after = 1;
}

static void DisconnectFromDpcEntry(void *ctx)
{
    (void)ctx;
    if (!connect(QuietIsr, Latched, 1, NULL))
        return;
    KeInitializeDpc(&device_dpc, DisconnectingDpc, NULL);
    (void)KeInsertQueueDpc(&device_dpc, NULL, NULL);
}

static void test_disconnect_from_a_dpc_bugchecks_c4_2000d(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1, 2);
    kdpc_status st = kdpc_machine_run(m, DisconnectFromDpcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "isr.disconnect_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], DISPATCH_LEVEL);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void DisconnectExEntry(void *ctx)
{
    (void)ctx;
    IO_CONNECT_INTERRUPT_PARAMETERS p;
    memset(&p, 0, sizeof(p));
    p.Version = CONNECT_FULLY_SPECIFIED;
    p.FullySpecified.InterruptObject = &intr;
    p.FullySpecified.ServiceRoutine = QuietIsr;
    p.FullySpecified.Vector = LINE;
    p.FullySpecified.Irql = DIRQL;
    p.FullySpecified.SynchronizeIrql = DIRQL;
    p.FullySpecified.InterruptMode = Latched;
    p.FullySpecified.ProcessorEnableMask = 1;
    connect_status = IoConnectInterruptEx(&p);
    if (!NT_SUCCESS(connect_status))
        return;
    IO_DISCONNECT_INTERRUPT_PARAMETERS d;
    memset(&d, 0, sizeof(d));
    d.Version = CONNECT_FULLY_SPECIFIED;
    d.ConnectionContext.InterruptObject = intr;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    IoDisconnectInterruptEx(&d);
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_disconnect_ex_at_dispatch_level_bugchecks_c4_2000d(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1, 2);
    kdpc_status st = kdpc_machine_run(m, DisconnectExEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "isr.disconnect_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x2000D);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Bad interrupt objects: looked up, never followed                    */

static uint64_t zeroed_object[32];
static uint64_t cc_object[32];

typedef enum bad_kind {
    BAD_NULL,
    BAD_CC_POINTER,
    BAD_ZEROED,
    BAD_CC_FILLED,
    BAD_DISCONNECTED
} bad_kind;

typedef enum bad_call {
    CALL_DISCONNECT,
    CALL_DISCONNECT_EX,
    CALL_SYNCHRONIZE,
    CALL_ACQUIRE,
    CALL_RELEASE
} bad_call;

static bad_kind bad_which;
static bad_call bad_how;
static PKINTERRUPT bad_ptr;

static BOOLEAN NeverRun(PVOID ctx)
{
    (void)ctx;
    reached_after = 2;
    return TRUE;
}

static void BadObjectEntry(void *ctx)
{
    (void)ctx;
    switch (bad_which) {
    case BAD_NULL:
        bad_ptr = NULL;
        break;
    case BAD_CC_POINTER:
        memset(&bad_ptr, 0xCC, sizeof(bad_ptr));
        break;
    case BAD_ZEROED:
        memset(zeroed_object, 0, sizeof(zeroed_object));
        bad_ptr = (PKINTERRUPT)(void *)zeroed_object;
        break;
    case BAD_CC_FILLED:
        memset(cc_object, 0xCC, sizeof(cc_object));
        bad_ptr = (PKINTERRUPT)(void *)cc_object;
        break;
    case BAD_DISCONNECTED:
        if (!connect(QuietIsr, Latched, 1, NULL))
            return;
        IoDisconnectInterrupt(intr);
        bad_ptr = intr;
        break;
    }
    IO_DISCONNECT_INTERRUPT_PARAMETERS d;
    switch (bad_how) {
    case CALL_DISCONNECT:
        IoDisconnectInterrupt(bad_ptr);
        break;
    case CALL_DISCONNECT_EX:
        memset(&d, 0, sizeof(d));
        d.Version = CONNECT_FULLY_SPECIFIED;
        d.ConnectionContext.InterruptObject = bad_ptr;
        IoDisconnectInterruptEx(&d);
        break;
    case CALL_SYNCHRONIZE:
        (void)KeSynchronizeExecution(bad_ptr, NeverRun, NULL);
        break;
    case CALL_ACQUIRE: {
        KIRQL old = KeAcquireInterruptSpinLock(bad_ptr);
        if (old != PASSIVE_LEVEL || KeGetCurrentIrql() != PASSIVE_LEVEL)
            return; /* as a warning nothing was acquired: IRQL unchanged */
        break;
    }
    case CALL_RELEASE:
        KeReleaseInterruptSpinLock(bad_ptr, PASSIVE_LEVEL);
        break;
    }
    if (reached_after == 0)
        reached_after = 1;
}

static kdpc_status run_bad(kdpc_machine *m, bad_kind which, bad_call how)
{
    bad_which = which;
    bad_how = how;
    return kdpc_machine_run(m, BadObjectEntry, NULL);
}

static void test_bad_interrupt_pointers_bugcheck_without_being_followed(void **state)
{
    (void)state;
    for (unsigned how = CALL_DISCONNECT; how <= CALL_RELEASE; how++) {
        for (unsigned which = BAD_NULL; which <= BAD_DISCONNECTED; which++) {
            kdpc_machine *m = machine(1, 4);
            kdpc_status st = run_bad(m, (bad_kind)which, (bad_call)how);
            const kdpc_violation *bc = kdpc_machine_bugcheck(m);
            assert_int_equal(st, KDPC_BUGCHECK);
            assert_non_null(bc);
            assert_string_equal(bc->rule, "obj.invalid");
            if (which == BAD_NULL || which == BAD_CC_POINTER) {
                /* what the dereference raises at PASSIVE_LEVEL: access violation */
                assert_int_equal(bc->code, 0x1E);
                assert_int_equal(bc->params[0], 0xC0000005u);
                assert_int_equal(bc->params[3], addr(bad_ptr));
            } else {
                /* not a live interrupt object: a page fault on it, P4 0 freed / 2 never one */
                assert_int_equal(bc->code, 0x50);
                assert_int_equal(bc->params[0], addr(bad_ptr));
                assert_int_equal(bc->params[1], 0);
                assert_int_equal(bc->params[3], which == BAD_DISCONNECTED ? 0u : 2u);
            }
            assert_int_equal(reached_after, 0);
            kdpc_machine_destroy(m);
            reset();
        }
    }
}

static void test_bad_interrupt_pointers_as_warnings_do_nothing(void **state)
{
    (void)state;
    for (unsigned how = CALL_DISCONNECT; how <= CALL_RELEASE; how++) {
        for (unsigned which = BAD_NULL; which <= BAD_DISCONNECTED; which++) {
            kdpc_machine *m = machine(1, 4);
            assert_int_equal(kdpc_rule_set(m, "obj.invalid", KDPC_RULE_WARN), KDPC_OK);
            kdpc_status st = run_bad(m, (bad_kind)which, (bad_call)how);
            assert_int_equal(st, KDPC_OK);
            KT_ASSERT_WARNING(m, "obj.invalid");
            assert_int_equal(kdpc_machine_violation_count(m), 1);
            assert_int_equal(reached_after, 1); /* and the SynchCritSection never ran */
            kdpc_machine_destroy(m);
            reset();
        }
    }
}

static void NullParametersEntry(void *ctx)
{
    (void)ctx;
    IoDisconnectInterruptEx(NULL);
    reached_after = 1;
}

static void test_disconnect_ex_with_null_parameters_bugchecks(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1, 4);
    kdpc_status st = kdpc_machine_run(m, NullParametersEntry, NULL);
    assert_int_equal(reached_after, 0);
    KT_ASSERT_BUGCHECK(m, st, "obj.invalid", 0x1E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[3], 0);
    kdpc_machine_destroy(m);
}

static void GarbageOutputEntry(void *ctx)
{
    (void)ctx;
    PKINTERRUPT *out;
    memset(&out, 0xCC, sizeof(out));
    connect_status =
        IoConnectInterrupt(out, QuietIsr, NULL, NULL, LINE, DIRQL, DIRQL, Latched, FALSE, 1, FALSE);
    reached_after = 1;
}

static void test_connect_with_a_garbage_output_pointer_bugchecks_not_crashes(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1, 4);
    kdpc_status st = kdpc_machine_run(m, GarbageOutputEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "obj.invalid", 0x1E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0xC0000005u);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[2], 1); /* a write */
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);

    m = machine(1, 4);
    assert_int_equal(kdpc_rule_set(m, "obj.invalid", KDPC_RULE_WARN), KDPC_OK);
    st = kdpc_machine_run(m, GarbageOutputEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(connect_status, STATUS_INVALID_PARAMETER);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* isr.storm: a level line claimed but never cleared                   */

static BOOLEAN ClaimButNeverClearIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_calls++;
    return TRUE; /* "mine" - but the device is never told to drop the line */
}

static void ClaimedStormEntry(void *ctx)
{
    KAFFINITY cpus = (KAFFINITY)(uintptr_t)ctx;
    if (!connect(ClaimButNeverClearIsr, LevelSensitive, cpus, NULL))
        return;
    kdpc_line_assert(kdpc_current_machine(), LINE);
    reached_after = 1; /* then the entry ends: the CPUs are idle but for the storm */
}

static void test_claimed_but_never_cleared_level_line_bugchecks_f2(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        kdpc_machine *m = machine(cpus, 7);
        KDPC_NAME(m, ClaimButNeverClearIsr);
        kdpc_status st =
            kdpc_machine_run(m, ClaimedStormEntry, (void *)(uintptr_t)((1u << cpus) - 1u));
        assert_int_equal(connect_status, STATUS_SUCCESS);
        KT_ASSERT_BUGCHECK(m, st, "isr.storm", 0xF2);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_string_equal(bc->name, "HARDWARE_INTERRUPT_STORM");
        assert_int_equal(bc->params[0], routine_addr((kdpc_routine_ptr)ClaimButNeverClearIsr));
        assert_int_equal(bc->params[1], addr(&isr_ctx));
        assert_int_equal(bc->params[2], addr(intr));
        assert_int_equal(bc->params[3], 1); /* not chained */
        assert_string_equal(bc->routine, "ClaimButNeverClearIsr");
        assert_true(isr_calls >= 64); /* storm_threshold claimed deliveries in a row */
        kdpc_machine_destroy(m);
    }
}

static void test_claimed_storm_threshold_is_configurable(void **state)
{
    (void)state;
    reset();
    kdpc_config cfg = kt_config(1, 7);
    cfg.storm_threshold = 5;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_status st = kdpc_machine_run(m, ClaimedStormEntry, (void *)(uintptr_t)1);
    KT_ASSERT_BUGCHECK(m, st, "isr.storm", 0xF2);
    assert_int_equal(isr_calls, 5);
    kdpc_machine_destroy(m);
}

static BOOLEAN ChainedQuietIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    return FALSE; /* not its device */
}

static PKINTERRUPT intr_first;

static void ChainedClaimedStormEntry(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(IoConnectInterrupt(&intr_first, ChainedQuietIsr, NULL, NULL, LINE, DIRQL, DIRQL,
                                       LevelSensitive, TRUE, 1, FALSE)))
        return;
    connect_status = IoConnectInterrupt(&intr, ClaimButNeverClearIsr, &isr_ctx, NULL, LINE, DIRQL,
                                        DIRQL, LevelSensitive, TRUE, 1, FALSE);
    if (NT_SUCCESS(connect_status))
        kdpc_line_assert(kdpc_current_machine(), LINE);
}

static void test_claimed_storm_on_a_shared_line_names_the_claiming_isr(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1, 7);
    kdpc_status st = kdpc_machine_run(m, ChainedClaimedStormEntry, NULL);
    assert_int_equal(connect_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "isr.storm", 0xF2);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], routine_addr((kdpc_routine_ptr)ClaimButNeverClearIsr));
    assert_int_equal(bc->params[1], addr(&isr_ctx));
    assert_int_equal(bc->params[2], addr(intr));
    assert_int_equal(bc->params[3], 2); /* chained */
    kdpc_machine_destroy(m);
}

static void test_claimed_storm_as_warning_warns_once_and_the_run_times_out(void **state)
{
    (void)state;
    reset();
    kdpc_config cfg = kt_config(1, 7);
    cfg.run_step_limit = 20000;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_rule_set(m, "isr.storm", KDPC_RULE_WARN), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, ClaimedStormEntry, (void *)(uintptr_t)1);
    assert_int_equal(st, KDPC_TIMEOUT); /* Windows hangs in the storm; the step limit ends it */
    KT_ASSERT_WARNING(m, "isr.storm");
    assert_int_equal(kdpc_machine_violation_count(m), 1);
    assert_true(isr_calls > 64);
    kdpc_machine_destroy(m);
}

/* A correct ISR: claims the interrupt and makes the device drop the line. */
static BOOLEAN ClearingIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_calls++;
    kdpc_line_deassert(kdpc_current_machine(), LINE);
    return TRUE;
}

static void ClearedEntry(void *ctx)
{
    KAFFINITY cpus = (KAFFINITY)(uintptr_t)ctx;
    if (!connect(ClearingIsr, LevelSensitive, cpus, NULL))
        return;
    kdpc_machine *m = kdpc_current_machine();
    for (int i = 0; i < 100; i++) {
        kdpc_line_assert(m, LINE);
        KeStallExecutionProcessor(2);
    }
    stall_until(&isr_calls);
    IoDisconnectInterrupt(intr);
    reached_after = 1;
}

static void test_level_isr_that_clears_its_device_is_no_storm(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        kdpc_machine *m = machine(cpus, 7);
        kdpc_status st = kdpc_machine_run(m, ClearedEntry, (void *)(uintptr_t)((1u << cpus) - 1u));
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        assert_true(isr_calls >= 1);
        assert_int_equal(reached_after, 1);
        kdpc_machine_destroy(m);
    }
}

/* A device with more work: the ISR clears it, its DPC hands it the next piece and the device
 * interrupts again, 200 times over, far more than storm_threshold. */
static void DeviceDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    if (reassert_left > 0) {
        reassert_left--;
        kdpc_line_assert(kdpc_current_machine(), LINE);
    }
}

static BOOLEAN ClearAndQueueIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    isr_calls++;
    kdpc_line_deassert(kdpc_current_machine(), LINE);
    (void)KeInsertQueueDpc(&device_dpc, NULL, NULL);
    return TRUE;
}

static void ReassertingDeviceEntry(void *ctx)
{
    KAFFINITY cpus = (KAFFINITY)(uintptr_t)ctx;
    KeInitializeDpc(&device_dpc, DeviceDpc, NULL);
    reassert_left = 200;
    if (!connect(ClearAndQueueIsr, LevelSensitive, cpus, NULL))
        return;
    kdpc_line_assert(kdpc_current_machine(), LINE);
    for (int i = 0; i < 100000 && (reassert_left > 0 || isr_calls < 201); i++)
        KeStallExecutionProcessor(1);
    IoDisconnectInterrupt(intr);
    reached_after = 1;
}

static void test_device_reasserting_after_each_clear_is_no_storm(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        kdpc_machine *m = machine(cpus, 7);
        kdpc_status st =
            kdpc_machine_run(m, ReassertingDeviceEntry, (void *)(uintptr_t)((1u << cpus) - 1u));
        assert_int_equal(st, KDPC_OK);
        KT_ASSERT_NO_VIOLATION(m, "isr.storm");
        assert_int_equal(isr_calls, 201);
        assert_int_equal(reached_after, 1);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disconnect_waits_for_the_isr_running_on_another_cpu),
        cmocka_unit_test(test_disconnect_waits_for_the_interrupt_lock_held_on_another_cpu),
        cmocka_unit_test(test_disconnect_waits_for_a_synch_crit_section_on_another_cpu),
        cmocka_unit_test(test_connect_disconnect_churn_on_two_cpus),
        cmocka_unit_test(test_disconnect_waiting_for_an_endless_isr_ends_with_the_run),
        cmocka_unit_test(test_disconnecting_the_next_object_of_a_chain_in_flight),
        cmocka_unit_test(test_synchronize_on_an_interrupt_being_disconnected_bugchecks),
        cmocka_unit_test(test_disconnect_from_its_own_isr_bugchecks_self_deadlock),
        cmocka_unit_test(test_disconnect_from_its_own_isr_as_warnings_frees_after_the_isr),
        cmocka_unit_test(test_disconnect_holding_its_interrupt_lock_bugchecks_self_deadlock),
        cmocka_unit_test(test_disconnect_holding_its_interrupt_lock_as_warnings_ends_cleanly),
        cmocka_unit_test(test_disconnect_at_dispatch_level_bugchecks_c4_2000d),
        cmocka_unit_test(test_disconnect_at_dispatch_level_as_warning_disconnects),
        cmocka_unit_test(test_disconnect_from_a_dpc_bugchecks_c4_2000d),
        cmocka_unit_test(test_disconnect_ex_at_dispatch_level_bugchecks_c4_2000d),
        cmocka_unit_test(test_bad_interrupt_pointers_bugcheck_without_being_followed),
        cmocka_unit_test(test_bad_interrupt_pointers_as_warnings_do_nothing),
        cmocka_unit_test(test_disconnect_ex_with_null_parameters_bugchecks),
        cmocka_unit_test(test_connect_with_a_garbage_output_pointer_bugchecks_not_crashes),
        cmocka_unit_test(test_claimed_but_never_cleared_level_line_bugchecks_f2),
        cmocka_unit_test(test_claimed_storm_threshold_is_configurable),
        cmocka_unit_test(test_claimed_storm_on_a_shared_line_names_the_claiming_isr),
        cmocka_unit_test(test_claimed_storm_as_warning_warns_once_and_the_run_times_out),
        cmocka_unit_test(test_level_isr_that_clears_its_device_is_no_storm),
        cmocka_unit_test(test_device_reasserting_after_each_clear_is_no_storm),
    };
    return cmocka_run_group_tests_name("interrupt_teardown", tests, NULL, NULL);
}
