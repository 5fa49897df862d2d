/* SPDX-License-Identifier: MIT */
/*
 * test_readme_sample.c - the README's "DpcForIsr under test" sample, kept
 * compiling and passing, plus its broken twin from the README text (the
 * DPC returns holding a spin lock).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static ULONG Serviced;
static KDPC Dpc;
static PKINTERRUPT Int;
static KSPIN_LOCK Lock;
static BOOLEAN Broken;

static void MyDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    Serviced++;
    if (Broken)
        KeAcquireSpinLockAtDpcLevel(&Lock); /* never released */
}

static BOOLEAN MyIsr(PKINTERRUPT i, PVOID ctx)
{
    (void)i;
    (void)ctx;
    KeInsertQueueDpc(&Dpc, NULL, NULL);
    return TRUE;
}

static void body(void *m)
{
    KeInitializeDpc(&Dpc, MyDpc, NULL);
    KeInitializeSpinLock(&Lock);
    IoConnectInterrupt(&Int, MyIsr, NULL, NULL, 7, 5, 5, Latched, FALSE, 0x3, FALSE);
    kdpc_line_assert(m, 7);
    while (Serviced == 0)
        KeStallExecutionProcessor(1);
    IoDisconnectInterrupt(Int);
}

static void test_dpc_runs_after_isr(void **state)
{
    (void)state;
    Serviced = 0;
    Broken = FALSE;
    kdpc_config cfg = kt_config(2, 42);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, MyDpc);
    assert_int_equal(kdpc_machine_run(m, body, m), KDPC_OK);
    assert_int_equal(Serviced, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_dpc_returning_with_lock_is_named_in_report(void **state)
{
    (void)state;
    Serviced = 0;
    Broken = TRUE;
    kdpc_config cfg = kt_config(2, 42);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, MyDpc);
    kdpc_status st = kdpc_machine_run(m, body, m);
    KT_ASSERT_BUGCHECK(m, st, "dpc.lock_held", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x00040009);
    assert_int_equal(bc->params[1], (uintptr_t)&Lock);
    assert_string_equal(bc->routine, "MyDpc");
    assert_int_equal(bc->irql, DISPATCH_LEVEL);
    assert_int_equal(bc->seed, 42);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpc_runs_after_isr),
        cmocka_unit_test(test_dpc_returning_with_lock_is_named_in_report),
    };
    return cmocka_run_group_tests_name("readme_sample", tests, NULL, NULL);
}
