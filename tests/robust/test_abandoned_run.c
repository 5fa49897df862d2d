/* SPDX-License-Identifier: MIT */
/*
 * test_abandoned_run.c - a jump out of simulated code that skips the end of
 * the run (what a CMocka check does when it fails in a file that does not
 * include <kdpc/cmocka.h>: it jumps back to the test on the same host thread).
 * The next native call finds the abandoned run, halts its machine and says
 * so; the host-time watchdog does not fire into the abandoned stack; other
 * machines run on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "kdpc_test.h"

static jmp_buf back;
static int entered;

static void JumpingEntry(void *ctx)
{
    (void)ctx;
    entered++;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* kdpc state that the jump leaves behind */
    longjmp(back, 1);
}

static KDPC dpc;
static int dpc_runs;

static VOID CountingDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    dpc_runs++;
}

static void NormalEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&dpc, CountingDpc, NULL);
    KeInsertQueueDpc(&dpc, NULL, NULL);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void test_a_jump_out_of_a_run_halts_that_machine_only(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 7);
    cfg.host_hang_ms = 200; /* the watchdog would fire during the sleep below */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    entered = 0;
    if (setjmp(back) == 0) {
        (void)kdpc_machine_run(m, JumpingEntry, NULL);
        fail_msg("the entry should have jumped back here");
    }
    assert_int_equal(entered, 1);
    /* The host thread runs on with the run's state behind it; the watchdog sees no progress. */
    sleep_ms(600);
    /* The next native call cleans up: the machine is halted, runs are refused. */
    assert_int_equal(kdpc_machine_run(m, NormalEntry, NULL), KDPC_E_HALTED);
    assert_true(kdpc_machine_halted(m));
    /* Another machine on the same host thread runs normally. */
    kdpc_machine *m2 = kt_machine(2, 8);
    dpc_runs = 0;
    assert_int_equal(kdpc_machine_run(m2, NormalEntry, NULL), KDPC_OK);
    assert_int_equal(dpc_runs, 1);
    kdpc_machine_destroy(m2);
    /* The halted one can be reset and runs again, or destroyed. */
    assert_int_equal(kdpc_machine_reset(m, 9), KDPC_OK);
    dpc_runs = 0;
    assert_int_equal(kdpc_machine_run(m, NormalEntry, NULL), KDPC_OK);
    assert_int_equal(dpc_runs, 1);
    kdpc_machine_destroy(m);
}

static void test_destroy_is_the_next_call_after_the_jump(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(4, 3);
    if (setjmp(back) == 0) {
        (void)kdpc_machine_run(m, JumpingEntry, NULL);
        fail_msg("the entry should have jumped back here");
    }
    kdpc_machine_destroy(m); /* frees it (not "called from inside its own run") */
    kdpc_machine *m2 = kt_machine(1, 0);
    dpc_runs = 0;
    assert_int_equal(kdpc_machine_run(m2, NormalEntry, NULL), KDPC_OK);
    assert_int_equal(dpc_runs, 1);
    kdpc_machine_destroy(m2);
}

int main(void)
{
#if KT_TSAN
    /* ThreadSanitizer sees each fiber as a thread and stops the process at a longjmp into
     * another one ("can't find longjmp buf"): the case cannot be run under it. */
    puts("test_abandoned_run: skipped under ThreadSanitizer (no longjmp across fibers)");
    return 0;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_jump_out_of_a_run_halts_that_machine_only),
        cmocka_unit_test(test_destroy_is_the_next_call_after_the_jump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
