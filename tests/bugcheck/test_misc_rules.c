/* SPDX-License-Identifier: MIT */
/*
 * test_misc_rules.c - thread.exit_state (a system thread that ends holding a
 * spin lock: 0xC4 P1 0x100A, owner thread / lock, 7.12; or at a raised IRQL:
 * 0xC8 IRQL_UNEXPECTED_VALUE with the 7.8 layout, expected PASSIVE_LEVEL) and
 * ke.bugcheck (the driver's own KeBugCheckEx, and ASSERT: 0x1E
 * KMODE_EXCEPTION_NOT_HANDLED with P1 STATUS_ASSERTION_FAILURE).
 */
#undef NDEBUG /* ASSERT is checked */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define STATUS_ASSERTION_FAILURE_ 0xC0000420u

static int reached_after; /* set by code after the violating call: must stay 0 */
static KSPIN_LOCK lock_a;
static HANDLE thread_handle;
static NTSTATUS create_status;
static KDPC dpc;

static kdpc_machine *machine(void)
{
    reached_after = 0;
    lock_a = 0;
    thread_handle = NULL;
    create_status = STATUS_UNSUCCESSFUL;
    return kt_machine(1, 9);
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* The new thread may run, and bug check, before PsCreateSystemThread returns:
 * create_status is only looked at in runs that end well. */
static void start_thread(PKSTART_ROUTINE routine)
{
    create_status =
        PsCreateSystemThread(&thread_handle, THREAD_ALL_ACCESS, NULL, NULL, NULL, routine, NULL);
}

/* ------------------------------------------------------------------ */
/* thread.exit_state                                                   */

static PKTHREAD lock_owner;

static void ReturnsHoldingLockThread(PVOID ctx)
{
    (void)ctx;
    lock_owner = KeGetCurrentThread();
    KIRQL old;
    KeAcquireSpinLock(&lock_a, &old); /* never released */
}

static void ReturnsHoldingLockEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    start_thread(ReturnsHoldingLockThread);
    reached_after = 1; /* the entry itself ends well */
}

static void test_thread_returning_holding_a_lock_bugchecks_c4_100a(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, ReturnsHoldingLockThread);
    kdpc_status st = kdpc_machine_run(m, ReturnsHoldingLockEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "thread.exit_state", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x100A);
    assert_int_equal(bc->params[1], addr(lock_owner)); /* the owner thread (not its handle) */
    assert_int_equal(bc->params[2], addr(&lock_a));    /* the lock */
    assert_string_equal(bc->routine, "ReturnsHoldingLockThread");
    kdpc_machine_destroy(m);
}

static void TerminatesHoldingLockThread(PVOID ctx)
{
    (void)ctx;
    KIRQL old;
    KeAcquireSpinLock(&lock_a, &old);
    (void)PsTerminateSystemThread(STATUS_SUCCESS);
}

static void TerminatesHoldingLockEntry(void *ctx)
{
    (void)ctx;
    /* only the exit: PsTerminateSystemThread above PASSIVE_LEVEL is ps.passive_irql, off here */
    (void)kdpc_rule_set(kdpc_current_machine(), "ps.passive_irql", KDPC_RULE_OFF);
    KeInitializeSpinLock(&lock_a);
    start_thread(TerminatesHoldingLockThread);
}

static void test_thread_terminating_holding_a_lock_bugchecks_c4_100a(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, TerminatesHoldingLockEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "thread.exit_state", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x100A);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[2], addr(&lock_a));
    kdpc_machine_destroy(m);
}

static void ReturnsAtDispatchThread(PVOID ctx)
{
    (void)ctx;
    (void)KeRaiseIrqlToDpcLevel(); /* never lowered */
}

static void ReturnsAtDispatchEntry(void *ctx)
{
    (void)ctx;
    start_thread(ReturnsAtDispatchThread);
    reached_after = 1;
}

static void test_thread_returning_at_dispatch_bugchecks_c8(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, ReturnsAtDispatchThread);
    kdpc_status st = kdpc_machine_run(m, ReturnsAtDispatchEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "thread.exit_state", 0xC8);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* (CurrentIrql << 16) | (PASSIVE_LEVEL << 8) | 2 */
    assert_int_equal(bc->params[0], (DISPATCH_LEVEL << 16) | (PASSIVE_LEVEL << 8) | 2);
    assert_string_equal(bc->routine, "ReturnsAtDispatchThread");
    assert_string_equal(bc->name, "IRQL_UNEXPECTED_VALUE");
    kdpc_machine_destroy(m);
}

static void EntryReturnsAtApc(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old); /* the run's entry is a system thread too */
}

static void test_entry_returning_at_apc_bugchecks_c8(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, EntryReturnsAtApc);
    kdpc_status st = kdpc_machine_run(m, EntryReturnsAtApc, NULL);
    KT_ASSERT_BUGCHECK(m, st, "thread.exit_state", 0xC8);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], (APC_LEVEL << 16) | 2);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "EntryReturnsAtApc");
    kdpc_machine_destroy(m);
}

static void CleanThread(PVOID ctx)
{
    (void)ctx;
    KIRQL old;
    KeAcquireSpinLock(&lock_a, &old);
    KeReleaseSpinLock(&lock_a, old);
}

static void CleanThreadEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&lock_a);
    start_thread(CleanThread);
    reached_after = 1;
}

static void test_thread_returning_clean_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, CleanThreadEntry, NULL);
    assert_int_equal(create_status, STATUS_SUCCESS);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* ke.bugcheck                                                         */

static void BugCheckExEntry(void *ctx)
{
    (void)ctx;
    KeBugCheckEx(0xDEAD, 1, 2, 3, 4);
}

static void test_ke_bug_check_ex_stops_with_the_drivers_code_and_parameters(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, BugCheckExEntry);
    kdpc_status st = kdpc_machine_run(m, BugCheckExEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0xDEAD);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 1);
    assert_int_equal(bc->params[1], 2);
    assert_int_equal(bc->params[2], 3);
    assert_int_equal(bc->params[3], 4);
    assert_string_equal(bc->routine, "BugCheckExEntry");
    assert_int_equal(bc->cpu, 0);
    kdpc_machine_destroy(m);
}

static void BugCheckInDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeBugCheck(0x1234);
}

static void BugCheckInDpcEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&dpc, BugCheckInDpc, NULL);
    (void)KeInsertQueueDpc(&dpc, NULL, NULL);
    reached_after = 1;
}

static void test_ke_bug_check_in_dpc_has_zero_parameters(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, BugCheckInDpc);
    kdpc_status st = kdpc_machine_run(m, BugCheckInDpcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1234);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    for (int i = 0; i < 4; i++)
        assert_int_equal(bc->params[i], 0);
    assert_string_equal(bc->routine, "BugCheckInDpc");
    assert_int_equal(bc->irql, DISPATCH_LEVEL);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void AssertFailsEntry(void *ctx)
{
    (void)ctx;
    ULONG devices = 2;
    ASSERT(devices == 3);
    reached_after = 1;
}

static void test_failed_assert_bugchecks_1e_assertion_failure(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, AssertFailsEntry);
    kdpc_status st = kdpc_machine_run(m, AssertFailsEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], STATUS_ASSERTION_FAILURE_);
    assert_string_equal(bc->name, "KMODE_EXCEPTION_NOT_HANDLED");
    assert_non_null(strstr(bc->message, "devices == 3")); /* names the expression */
    assert_string_equal(bc->routine, "AssertFailsEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void AssertZeroEntry(void *ctx)
{
    (void)ctx;
    ASSERT(0);
    reached_after = 1;
}

static void test_assert_zero_bugchecks_1e(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, AssertZeroEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], STATUS_ASSERTION_FAILURE_);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void AssertHoldsEntry(void *ctx)
{
    (void)ctx;
    ULONG devices = 3;
    ASSERT(devices == 3);
    reached_after = 1;
}

static void test_assert_that_holds_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, AssertHoldsEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_returning_holding_a_lock_bugchecks_c4_100a),
        cmocka_unit_test(test_thread_terminating_holding_a_lock_bugchecks_c4_100a),
        cmocka_unit_test(test_thread_returning_at_dispatch_bugchecks_c8),
        cmocka_unit_test(test_entry_returning_at_apc_bugchecks_c8),
        cmocka_unit_test(test_thread_returning_clean_is_no_violation),
        cmocka_unit_test(test_ke_bug_check_ex_stops_with_the_drivers_code_and_parameters),
        cmocka_unit_test(test_ke_bug_check_in_dpc_has_zero_parameters),
        cmocka_unit_test(test_failed_assert_bugchecks_1e_assertion_failure),
        cmocka_unit_test(test_assert_zero_bugchecks_1e),
        cmocka_unit_test(test_assert_that_holds_is_no_violation),
    };
    return cmocka_run_group_tests_name("misc_rules", tests, NULL, NULL);
}
