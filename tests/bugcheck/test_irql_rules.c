/* SPDX-License-Identifier: MIT */
/*
 * test_irql_rules.c - the IRQL rules of docs/rules.md: irql.raise_lower,
 * irql.lower_raise and irql.invalid, each broken by a tiny routine.
 *
 * Verifier codes (dpc-irql.md 1.13, 7.12): 0xC4 with P1 0x30 for a bad
 * KeRaiseIrql (P2 current IRQL, P3 requested IRQL, P4 0) and P1 0x31 for a
 * bad KeLowerIrql (same P2/P3). A bug check stops the run: the code after
 * the violating call never runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static int reached_after; /* set by code after the violating call: must stay 0 */
static KDPC dpc;

static kdpc_machine *new_machine(void)
{
    reached_after = 0;
    return kt_machine(1, 11);
}

/* ------------------------------------------------------------------ */
/* irql.raise_lower                                                    */

static void RaiseToLowerEntry(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeRaiseIrql(APC_LEVEL, &old2); /* 1.7: a raise must not lower */
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_raise_to_lower_irql_bugchecks_c4_30(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    KDPC_NAME(m, RaiseToLowerEntry);
    kdpc_status st = kdpc_machine_run(m, RaiseToLowerEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.raise_lower", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* 1.13 / 7.12: P1 0x30, P2 current IRQL, P3 requested IRQL, P4 0 */
    assert_int_equal(bc->params[0], 0x30);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], APC_LEVEL);
    assert_int_equal(bc->params[3], 0);
    assert_int_equal(bc->cpu, 0);
    assert_int_equal(bc->irql, DISPATCH_LEVEL);
    assert_string_equal(bc->routine, "RaiseToLowerEntry");
    assert_string_equal(bc->name, "DRIVER_VERIFIER_DETECTED_VIOLATION");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RaiseToDpcLevelAboveEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(5, &old);
    (void)KeRaiseIrqlToDpcLevel(); /* 1.15: caller must be <= DISPATCH_LEVEL */
    reached_after = 1;
}

static void test_raise_irql_to_dpc_level_from_dirql_bugchecks_c4_30(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    kdpc_status st = kdpc_machine_run(m, RaiseToDpcLevelAboveEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.raise_lower", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x30);
    assert_int_equal(bc->params[1], 5);
    assert_int_equal(bc->params[2], DISPATCH_LEVEL);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RaiseToSynchAboveEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    (void)KeRaiseIrqlToSynchLevel(); /* 1.15: raises to SYNCH_LEVEL, never lowers */
    reached_after = 1;
}

static void test_raise_irql_to_synch_level_from_high_bugchecks_c4_30(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    kdpc_status st = kdpc_machine_run(m, RaiseToSynchAboveEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.raise_lower", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x30);
    assert_int_equal(bc->params[1], HIGH_LEVEL);
    assert_int_equal(bc->params[2], SYNCH_LEVEL);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RaiseLowerDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KIRQL old;
    KeRaiseIrql(PASSIVE_LEVEL, &old); /* "raising" from DISPATCH_LEVEL to PASSIVE_LEVEL */
    reached_after = 1;
}

static void QueueRaiseLowerDpcEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&dpc, RaiseLowerDpc, NULL);
    (void)KeInsertQueueDpc(&dpc, NULL, NULL); /* 4.15: runs before the call returns */
}

static void test_raise_to_passive_inside_dpc_names_the_dpc(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    KDPC_NAME(m, RaiseLowerDpc);
    kdpc_status st = kdpc_machine_run(m, QueueRaiseLowerDpcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.raise_lower", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x30);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], PASSIVE_LEVEL);
    assert_string_equal(bc->routine, "RaiseLowerDpc");
    assert_int_equal(bc->irql, DISPATCH_LEVEL);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RaiseToSameEntry(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeRaiseIrql(DISPATCH_LEVEL, &old2); /* 1.7: raising to the current level is valid */
    KeLowerIrql(DISPATCH_LEVEL);        /* 1.8: lowering to the current level is a no-op */
    KeLowerIrql(old);
    reached_after = 1;
}

static void test_raise_and_lower_to_the_current_irql_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    kdpc_status st = kdpc_machine_run(m, RaiseToSameEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "irql.raise_lower");
    KT_ASSERT_NO_VIOLATION(m, "irql.lower_raise");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* irql.lower_raise                                                    */

static void LowerToHigherEntry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    KeLowerIrql(DISPATCH_LEVEL); /* 1.8: a lower must not raise */
    reached_after = 1;
}

static void test_lower_to_higher_irql_bugchecks_c4_31(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    KDPC_NAME(m, LowerToHigherEntry);
    kdpc_status st = kdpc_machine_run(m, LowerToHigherEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.lower_raise", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* 1.13 / 7.12: P1 0x31, P2 current IRQL, P3 requested IRQL, P4 0 (bad new IRQL) */
    assert_int_equal(bc->params[0], 0x31);
    assert_int_equal(bc->params[1], APC_LEVEL);
    assert_int_equal(bc->params[2], DISPATCH_LEVEL);
    assert_int_equal(bc->params[3], 0);
    assert_int_equal(bc->irql, APC_LEVEL);
    assert_string_equal(bc->routine, "LowerToHigherEntry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void LowerAtPassiveEntry(void *ctx)
{
    (void)ctx;
    KeLowerIrql(DISPATCH_LEVEL); /* nothing was raised: at PASSIVE_LEVEL */
    reached_after = 1;
}

static void test_lower_at_passive_to_dispatch_bugchecks_c4_31(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    kdpc_status st = kdpc_machine_run(m, LowerAtPassiveEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.lower_raise", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x31);
    assert_int_equal(bc->params[1], PASSIVE_LEVEL);
    assert_int_equal(bc->params[2], DISPATCH_LEVEL);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void LowerRaisesInDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    KeLowerIrql(HIGH_LEVEL); /* "lowering" from DISPATCH_LEVEL to HIGH_LEVEL */
    reached_after = 1;
}

static void QueueLowerRaisesDpcEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&dpc, LowerRaisesInDpc, NULL);
    (void)KeInsertQueueDpc(&dpc, NULL, NULL);
}

static void test_lower_to_high_inside_dpc_bugchecks_c4_31(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    KDPC_NAME(m, LowerRaisesInDpc);
    kdpc_status st = kdpc_machine_run(m, QueueLowerRaisesDpcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.lower_raise", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x31);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], HIGH_LEVEL);
    assert_string_equal(bc->routine, "LowerRaisesInDpc");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* irql.invalid                                                        */

static void RaiseTo16Entry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(16, &old); /* 1.1 / 1.4: HIGH_LEVEL is 15 on x64 */
    reached_after = 1;
}

static void test_raise_above_high_level_bugchecks_invalid_c4_30(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    KDPC_NAME(m, RaiseTo16Entry);
    kdpc_status st = kdpc_machine_run(m, RaiseTo16Entry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.invalid", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* 1.13: 0x30 also covers a raise "> HIGH_LEVEL" */
    assert_int_equal(bc->params[0], 0x30);
    assert_int_equal(bc->params[1], PASSIVE_LEVEL);
    assert_int_equal(bc->params[2], 16);
    assert_int_equal(bc->params[3], 0);
    assert_string_equal(bc->routine, "RaiseTo16Entry");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RaiseTo255FromDispatchEntry(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeRaiseIrql(255, &old2);
    reached_after = 1;
}

static void test_raise_to_irql_255_bugchecks_invalid_with_current_irql(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    kdpc_status st = kdpc_machine_run(m, RaiseTo255FromDispatchEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.invalid", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x30);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], 255);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void LowerTo31Entry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    KeLowerIrql(31); /* x86's HIGH_LEVEL: not an x64 IRQL (1.2 vs 1.1) */
    reached_after = 1;
}

static void test_lower_to_irql_above_high_level_bugchecks_invalid_c4_31(void **state)
{
    (void)state;
    kdpc_machine *m = new_machine();
    kdpc_status st = kdpc_machine_run(m, LowerTo31Entry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.invalid", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* 1.13: 0x31 covers a lower "> HIGH_LEVEL" */
    assert_int_equal(bc->params[0], 0x31);
    assert_int_equal(bc->params[1], HIGH_LEVEL);
    assert_int_equal(bc->params[2], 31);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raise_to_lower_irql_bugchecks_c4_30),
        cmocka_unit_test(test_raise_irql_to_dpc_level_from_dirql_bugchecks_c4_30),
        cmocka_unit_test(test_raise_irql_to_synch_level_from_high_bugchecks_c4_30),
        cmocka_unit_test(test_raise_to_passive_inside_dpc_names_the_dpc),
        cmocka_unit_test(test_raise_and_lower_to_the_current_irql_is_no_violation),
        cmocka_unit_test(test_lower_to_higher_irql_bugchecks_c4_31),
        cmocka_unit_test(test_lower_at_passive_to_dispatch_bugchecks_c4_31),
        cmocka_unit_test(test_lower_to_high_inside_dpc_bugchecks_c4_31),
        cmocka_unit_test(test_raise_above_high_level_bugchecks_invalid_c4_30),
        cmocka_unit_test(test_raise_to_irql_255_bugchecks_invalid_with_current_irql),
        cmocka_unit_test(test_lower_to_irql_above_high_level_bugchecks_invalid_c4_31),
    };
    return cmocka_run_group_tests_name("irql_rules", tests, NULL, NULL);
}
