/* SPDX-License-Identifier: MIT */
/*
 * test_seh - kdpc's model of structured exception handling (kdpc/wdm/seh.h): __try blocks run
 * as written, __finally blocks run after them (also after __leave), __except handlers never run,
 * and ExRaiseStatus (raised inside a __try or not) ends the run with bug check 0x1E
 * KMODE_EXCEPTION_NOT_HANDLED, P1 = the status, rule ke.bugcheck.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

/* Each step appends one letter, so a test sees what ran and in which order. */
static char trace[32];
static size_t ntrace;
static int reached_after;

static void step(char c)
{
    if (ntrace + 1 < sizeof(trace))
        trace[ntrace++] = c;
    trace[ntrace] = '\0';
}

static void reset(void)
{
    ntrace = 0;
    trace[0] = '\0';
    reached_after = 0;
}

/* ------------------------------------------------------------------ */
/* The macros, outside a machine                                       */

static void test_try_finally_runs_both_in_order(void **state)
{
    (void)state;
    reset();
    __try {
        step('t');
    } __finally {
        step('f');
    }
    step('a');
    assert_string_equal(trace, "tfa");
}

static void test_leave_ends_the_try_block_and_runs_finally(void **state)
{
    (void)state;
    reset();
    int leave = 1;
    __try {
        step('t');
        if (leave)
            __leave;
        step('x'); /* skipped */
    } __finally {
        step('f');
        assert_false(AbnormalTermination());
    }
    step('a');
    assert_string_equal(trace, "tfa");
}

static void test_try_except_runs_the_block_never_the_handler(void **state)
{
    (void)state;
    reset();
    NTSTATUS status = STATUS_SUCCESS;
    __try {
        step('t');
    } __except (GetExceptionCode() == STATUS_ACCESS_VIOLATION ? EXCEPTION_EXECUTE_HANDLER
                                                              : EXCEPTION_CONTINUE_SEARCH) {
        status = GetExceptionCode();
        step('h');
    }
    step('a');
    assert_string_equal(trace, "ta");
    assert_int_equal(status, STATUS_SUCCESS);
}

static int filter_calls;
static int count_filter(void)
{
    filter_calls++;
    return EXCEPTION_EXECUTE_HANDLER;
}

static void test_except_filter_is_never_evaluated(void **state)
{
    (void)state;
    reset();
    filter_calls = 0;
    __try {
        step('t');
    } __except (count_filter()) {
        step('h');
    }
    /* a comma expression as the filter (one macro argument or two: it compiles either way) */
    __try {
        step('u');
    } __except (filter_calls++, count_filter()) {
        step('h');
    }
    assert_int_equal(filter_calls, 0);
    assert_string_equal(trace, "tu");
}

static void test_nested_try_blocks_unwind_inner_first(void **state)
{
    (void)state;
    reset();
    __try {
        __try {
            step('1');
            __leave;
        } __finally {
            step('2');
        }
        step('3');
    } __finally {
        step('4');
    }
    assert_string_equal(trace, "1234");
}

/* __leave from inside a loop (or switch) within the __try block ends the __try block, not just
 * the loop: the rest of the block is skipped and the __finally block runs. */
static void test_leave_from_a_nested_loop_ends_the_try_block(void **state)
{
    (void)state;
    reset();
    __try {
        for (int i = 0; i < 5; i++) {
            if (i == 2)
                __leave;
            step((char)('0' + i));
        }
        step('x'); /* skipped */
    } __finally {
        step('f');
    }
    __try {
        switch (ntrace) {
        case 3:
            __leave;
        default:
            step('y'); /* skipped */
        }
        step('z'); /* skipped */
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        step('h');
    }
    step('a');
    assert_string_equal(trace, "01fa");
}

/* In nested __try blocks a __leave ends its own (innermost) block. */
static void test_leave_ends_the_innermost_try_block(void **state)
{
    (void)state;
    reset();
    for (int k = 0; k < 2; k++) {
        __try {
            __try {
                if (k == 1)
                    __leave;
                step('i');
            } __finally {
                step('j');
            }
            step('o');
            __leave;
        } __finally {
            step('f');
        }
    }
    assert_string_equal(trace, "ijofjof");
}

static void test_try_in_a_loop_runs_each_iteration(void **state)
{
    (void)state;
    reset();
    for (int i = 0; i < 3; i++) {
        __try {
            step((char)('0' + i));
        } __finally {
            step('f');
        }
    }
    assert_string_equal(trace, "0f1f2f");
}

/* The statement form: a __try statement is one statement, the body of an if without braces;
 * an else after it belongs to that if (not to an if inside the macros), with __except and with
 * __finally, also when the if and else come from a macro. */
#define KT_GUARDED(cond, c)                                                                        \
    if (cond)                                                                                      \
        __try {                                                                                    \
            step(c);                                                                               \
        } __finally {                                                                              \
            step('f');                                                                             \
        }                                                                                          \
    else                                                                                           \
        step('e')

static void test_try_is_a_single_statement(void **state)
{
    (void)state;
    reset();
    for (int c = 0; c < 2; c++) {
        if (c)
            __try {
                step('t');
            } __except (EXCEPTION_EXECUTE_HANDLER) {
                step('h');
            }
        else
            step('e');
        if (c)
            __try {
                step('u');
            } __finally {
                step('f');
            }
        else
            step('e');
        KT_GUARDED(c, 'g');
        step('|');
    }
    /* pass 0 (false): only the else branches; pass 1 (true): only the __try statements */
    assert_string_equal(trace, "eee|tufgf|");
}

/* ------------------------------------------------------------------ */
/* ExRaiseStatus: bug check 0x1E, P1 = status                           */

static void RaiseInsideTry(void *ctx)
{
    (void)ctx;
    __try {
        ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
        reached_after = 1;
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        reached_after = 2;
    }
    reached_after = 3;
}

static void test_raise_inside_try_is_a_bugcheck_not_caught(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_status st = kdpc_machine_run(m, RaiseInsideTry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], (ULONG)STATUS_INSUFFICIENT_RESOURCES);
    assert_string_equal(bc->name, "KMODE_EXCEPTION_NOT_HANDLED");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RaiseAccessViolation(void *ctx)
{
    (void)ctx;
    ExRaiseAccessViolation();
}

static void RaiseMisalignment(void *ctx)
{
    (void)ctx;
    ExRaiseDatatypeMisalignment();
}

static void test_raise_access_violation_and_misalignment(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 2);
    kdpc_status st = kdpc_machine_run(m, RaiseAccessViolation, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0xC0000005u);
    kdpc_machine_destroy(m);

    m = kt_machine(1, 3);
    st = kdpc_machine_run(m, RaiseMisalignment, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x80000002u);
    kdpc_machine_destroy(m);
}

/* A DPC that raises: the same bug check, from DISPATCH_LEVEL. */
static KDPC raise_dpc;
static void RaisingDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    ExRaiseStatus(STATUS_DATA_ERROR);
}

static void QueueRaisingDpc(void *ctx)
{
    (void)ctx;
    /* only the raise: ExRaiseStatus above APC_LEVEL is irql.ex_apc, off here */
    (void)kdpc_rule_set(kdpc_current_machine(), "irql.ex_apc", KDPC_RULE_OFF);
    KeInitializeDpc(&raise_dpc, RaisingDpc, NULL);
    KeInsertQueueDpc(&raise_dpc, NULL, NULL);
}

static void test_raise_in_a_dpc_is_the_same_bugcheck(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 4);
    kdpc_status st = kdpc_machine_run(m, QueueRaisingDpc, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], (ULONG)STATUS_DATA_ERROR);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "RaisingDpc");
    kdpc_machine_destroy(m);
}

/* The fixed twin: the same code path with no raise runs clean and reaches the end. */
static void NoRaiseInsideTry(void *ctx)
{
    (void)ctx;
    __try {
        reached_after = 1;
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        reached_after = 2;
    }
}

static void test_no_raise_runs_clean(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, NoRaiseInsideTry, NULL), KDPC_OK);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_try_finally_runs_both_in_order),
        cmocka_unit_test(test_leave_ends_the_try_block_and_runs_finally),
        cmocka_unit_test(test_try_except_runs_the_block_never_the_handler),
        cmocka_unit_test(test_except_filter_is_never_evaluated),
        cmocka_unit_test(test_nested_try_blocks_unwind_inner_first),
        cmocka_unit_test(test_leave_from_a_nested_loop_ends_the_try_block),
        cmocka_unit_test(test_leave_ends_the_innermost_try_block),
        cmocka_unit_test(test_try_in_a_loop_runs_each_iteration),
        cmocka_unit_test(test_try_is_a_single_statement),
        cmocka_unit_test(test_raise_inside_try_is_a_bugcheck_not_caught),
        cmocka_unit_test(test_raise_access_violation_and_misalignment),
        cmocka_unit_test(test_raise_in_a_dpc_is_the_same_bugcheck),
        cmocka_unit_test(test_no_raise_runs_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
