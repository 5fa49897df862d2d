/* SPDX-License-Identifier: MIT */
/*
 * test_cmocka_assert.c - <kdpc/cmocka.h>: CMocka checks inside simulated
 * code, the fixture, assert_kdpc_ok, expect_bugcheck, assert_kdpc_bugcheck,
 * assert_no_violation, kdpc_test_fail and the report of exit() from
 * simulated code.
 *
 * A failing check must fail the test and let the next one run, so the
 * failing cases run in a child process: this same binary re-executed with
 * "--child <mode>", its stdout and stderr in temporary files (never in this
 * process's output, where ctest looks for "[  FAILED  ]"). The parent checks
 * the child's exit status (CMocka's: the number of failed tests), each
 * FAILED line, the check's file:line and message, the kdpc report and that
 * the test after them passed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kdpc_test.h"

extern char **environ;

static const char *self_path; /* argv[0] */

/* ------------------------------------------------------------------ */
/* Driver code with checks in it                                       */

static KDPC Dpc;
static PKINTERRUPT Interrupt;
static KSPIN_LOCK Lock;
static volatile LONG Serviced;
static int Expected = 2;   /* what the checks compare against */
static int Which;          /* check_kind(): which check fails */
static int ReachedAfter;   /* set after a failing check: must stay 0 */
static int SkipInDpc;      /* AssertDpc calls skip() */
static int HoldLockInDpc;  /* AssertDpc returns holding Lock (dpc.lock_held) */
static int StallInDpc;     /* AssertDpc stalls 200 us (warning dpc.stall_too_long) */
static int CheckInDpc = 1; /* AssertDpc runs dpc_check() */

/* The lines of the failing checks, for the parent to find "file:line". */
enum { LINE_DPC = __LINE__ + 3 };
static void dpc_check(void)
{
    assert_int_equal(Serviced + 1, Expected + 1);
}

enum { LINE_ISR = __LINE__ + 3 };
static void isr_check(void)
{
    assert_true(Serviced == (LONG)Expected);
}

enum { LINE_ENTRY = __LINE__ + 3 };
static void entry_check(void)
{
    fail_msg("entry saw %d", 42);
}

enum { LINE_SKIP = __LINE__ + 3 };
static void skip_check(void)
{
    skip();
}

static void AssertDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    Serviced++;
    if (SkipInDpc)
        skip_check();
    if (HoldLockInDpc)
        KeAcquireSpinLockAtDpcLevel(&Lock);
    if (StallInDpc)
        KeStallExecutionProcessor(200);
    if (CheckInDpc)
        dpc_check();
    ReachedAfter = 1;
}

static BOOLEAN AssertIsr(PKINTERRUPT i, PVOID ctx)
{
    (void)i;
    (void)ctx;
    isr_check();
    ReachedAfter = 1;
    return TRUE;
}

static void DpcEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&Lock);
    KeInitializeDpc(&Dpc, AssertDpc, NULL);
    (void)KeInsertQueueDpc(&Dpc, NULL, NULL); /* at PASSIVE_LEVEL: it has run now */
}

static void IsrEntry(void *ctx)
{
    kdpc_machine *m = ctx;
    NTSTATUS st =
        IoConnectInterrupt(&Interrupt, AssertIsr, NULL, NULL, 5, 5, 5, Latched, FALSE, 0x1, FALSE);
    assert_int_equal(st, STATUS_SUCCESS);
    assert_int_equal(kdpc_line_assert(m, 5), KDPC_OK);
    for (int i = 0; i < 100 && ReachedAfter == 0; i++)
        KeStallExecutionProcessor(1);
    IoDisconnectInterrupt(Interrupt);
}

static void FailingEntry(void *ctx)
{
    (void)ctx;
    entry_check();
    ReachedAfter = 1;
}

static void reset(void)
{
    Serviced = 0;
    Expected = 2;
    ReachedAfter = 0;
    SkipInDpc = 0;
    HoldLockInDpc = 0;
    StallInDpc = 0;
    CheckInDpc = 1;
}

/* ------------------------------------------------------------------ */
/* Child tests: most of these fail on purpose                          */

static void child_assert_in_dpc(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    KDPC_NAME(m, AssertDpc);
    (void)kdpc_machine_run(m, DpcEntry, m); /* fails the test here */
    print_message("NOT REACHED after the DPC run\n");
}

static void child_assert_in_isr(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    KDPC_NAME(m, AssertIsr);
    (void)kdpc_machine_run(m, IsrEntry, m);
    print_message("NOT REACHED after the ISR run\n");
}

static void child_fail_msg_in_entry(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    KDPC_NAME(m, FailingEntry);
    assert_kdpc_ok(kdpc_machine_run_for(m, FailingEntry, NULL, 1000000));
    print_message("NOT REACHED after the entry run\n");
}

static void child_skip_in_dpc(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    SkipInDpc = 1;
    (void)kdpc_machine_run(m, DpcEntry, m);
    print_message("NOT REACHED after the skipping run\n");
}

static void child_passes_after(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    Expected = 1; /* the DPC's check holds */
    assert_kdpc_ok(kdpc_machine_run(m, DpcEntry, m));
    assert_int_equal(ReachedAfter, 1);
    assert_no_violation(m);
    print_message("child_passes_after ran to its end\n");
}

enum { LINE_KDPC_OK = __LINE__ + 7 };
static void child_assert_kdpc_ok_fails(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    HoldLockInDpc = 1;
    CheckInDpc = 0;
    assert_kdpc_ok(kdpc_machine_run(m, DpcEntry, m));
}

enum { LINE_EXPECT = __LINE__ + 6 };
static void child_expect_bugcheck_unmet(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    CheckInDpc = 0;
    expect_bugcheck(m, "dpc.lock_held");
    (void)kdpc_machine_run(m, DpcEntry, m);
    print_message("NOT REACHED after the unmet expectation\n");
}

enum { LINE_BUGCHECK = __LINE__ + 8 };
static void child_assert_kdpc_bugcheck_fails(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    HoldLockInDpc = 1;
    CheckInDpc = 0;
    (void)kdpc_machine_run(m, DpcEntry, m);
    assert_kdpc_bugcheck(m, "dpc.irql_changed");
}

enum { LINE_NO_VIOLATION = __LINE__ + 8 };
static void child_assert_no_violation_fails(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    StallInDpc = 1;
    CheckInDpc = 0;
    assert_kdpc_ok(kdpc_machine_run(m, DpcEntry, m));
    assert_no_violation(m);
}

enum { LINE_EXPECT_DESTROYED = __LINE__ + 7 };
static void child_expect_bugcheck_then_destroy(void **state)
{
    (void)state;
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    expect_bugcheck(m, 0xC4);
    kdpc_machine_destroy(m); /* no run: the expectation fails the test here */
    print_message("NOT REACHED after destroy\n");
}

enum { LINE_EXPECT_TEARDOWN = __LINE__ + 4 };
static void child_expect_bugcheck_then_teardown(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    expect_bugcheck(m, "irql.*");
}

static void SpinEntry(void *ctx)
{
    (void)ctx;
    for (;;)
        KeStallExecutionProcessor(1);
}

enum { LINE_TIMEOUT = __LINE__ + 5 };
static void child_assert_kdpc_ok_timeout(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    KDPC_NAME(m, SpinEntry);
    assert_kdpc_ok(kdpc_machine_run(m, SpinEntry, NULL));
}

static void child_last_passes(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    CheckInDpc = 0;
    assert_kdpc_ok(kdpc_machine_run(m, DpcEntry, m));
    assert_int_equal(Serviced, 1);
}

/* 2 CPUs, seed 77; the report goes to stderr (the default). */
static void child_configure(kdpc_config *cfg)
{
    cfg->cpus = 2;
    cfg->seed = 77;
}

static const kdpc_cmocka_fixture child_fixture = {child_configure, NULL};

/* A run that never ends stops after 5000 interleaving points. */
static void short_limit(kdpc_config *cfg)
{
    cfg->run_step_limit = 5000;
}

static const kdpc_cmocka_fixture limit_fixture = {short_limit, NULL};

/* the child tests below that fail (the skip is not a failure; a failed teardown is) */
#define CHILD_FAILURES 10

static int child_main(void)
{
    const struct CMUnitTest tests[] = {
        kdpc_unit_test_fixture(child_assert_in_dpc, &child_fixture),
        kdpc_unit_test_fixture(child_assert_in_isr, &child_fixture),
        kdpc_unit_test_fixture(child_fail_msg_in_entry, &child_fixture),
        kdpc_unit_test_fixture(child_skip_in_dpc, &child_fixture),
        kdpc_unit_test_fixture(child_passes_after, &child_fixture),
        kdpc_unit_test_fixture(child_assert_kdpc_ok_fails, &child_fixture),
        kdpc_unit_test_fixture(child_expect_bugcheck_unmet, &child_fixture),
        kdpc_unit_test_fixture(child_assert_kdpc_bugcheck_fails, &child_fixture),
        kdpc_unit_test_fixture(child_assert_no_violation_fails, &child_fixture),
        kdpc_unit_test_fixture(child_expect_bugcheck_then_destroy, &child_fixture),
        kdpc_unit_test_fixture(child_expect_bugcheck_then_teardown, &child_fixture),
        kdpc_unit_test_fixture(child_assert_kdpc_ok_timeout, &limit_fixture),
        kdpc_unit_test_fixture(child_last_passes, &child_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* exit() from a DPC: the atexit report, then the process ends with that status. */
static void ExitDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    exit(3);
}

static void ExitEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&Dpc, ExitDpc, NULL);
    (void)KeInsertQueueDpc(&Dpc, NULL, NULL);
}

static int child_exit_main(void)
{
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    cfg.seed = 1234;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL)
        return 100;
    KDPC_NAME(m, ExitDpc);
    (void)(kdpc_machine_run)(m, ExitEntry, NULL);
    return 101; /* not reached */
}

/* CMocka's own check, not rerouted, in a DPC: CMocka calls exit(); kdpc reports it. */
static void RawCmockaDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    (_assert_int_equal)(1, 2, __FILE__, __LINE__);
}

static void RawEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&Dpc, RawCmockaDpc, NULL);
    (void)KeInsertQueueDpc(&Dpc, NULL, NULL);
}

static void child_raw_cmocka(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    KDPC_NAME(m, RawCmockaDpc);
    (void)kdpc_machine_run(m, RawEntry, NULL);
}

static int raw_next_dpcs;

static void CountDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    raw_next_dpcs++;
}

static void CountEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&Dpc, CountDpc, NULL);
    (void)KeInsertQueueDpc(&Dpc, NULL, NULL);
}

/* The test after the one whose check failed in simulated code: machines run as usual. */
static void child_raw_next(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    raw_next_dpcs = 0;
    assert_int_equal(kdpc_machine_run(m, CountEntry, NULL), KDPC_OK);
    assert_int_equal(raw_next_dpcs, 1);
}

static int child_raw_main(void)
{
    const struct CMUnitTest tests[] = {kdpc_unit_test(child_raw_cmocka),
                                       kdpc_unit_test(child_raw_next)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* Running a child                                                     */

typedef struct child_result {
    int status; /* waitpid status */
    char *out;  /* its stdout */
    char *err;  /* its stderr */
} child_result;

static char *slurp(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size >= 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = read(fd, buf + got, (size_t)size - got);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n > 0);
        got += (size_t)n;
    }
    buf[got] = '\0';
    return buf;
}

static int temp_file(void)
{
    char name[] = "/tmp/kdpc_cmocka_child_XXXXXX";
    int fd = mkstemp(name);
    assert_true(fd >= 0);
    unlink(name);
    return fd;
}

/* Run this binary with --child @mode; CMOCKA_MESSAGE_OUTPUT=STDOUT, no CMOCKA_TEST_ABORT,
 * and no leak check at exit (the exit modes end with machines alive). */
static child_result run_child(const char *mode)
{
    int out = temp_file();
    int err = temp_file();
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, err, STDERR_FILENO), 0);

    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 3, sizeof(*env));
    assert_non_null(env);
    size_t k = 0;
    char asan[1024] = "";
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "CMOCKA_", 7) == 0)
            continue;
        if (strncmp(environ[i], "ASAN_OPTIONS=", 13) == 0) {
            snprintf(asan, sizeof(asan), "%s:detect_leaks=0", environ[i]);
            continue;
        }
        env[k++] = environ[i];
    }
    if (asan[0] == '\0')
        snprintf(asan, sizeof(asan), "ASAN_OPTIONS=detect_leaks=0");
    env[k++] = asan;
    static char output_stdout[] = "CMOCKA_MESSAGE_OUTPUT=STDOUT";
    env[k++] = output_stdout;
    env[k] = NULL;

    static char child_flag[] = "--child";
    char path[4096], mode_arg[64];
    snprintf(path, sizeof(path), "%s", self_path);
    snprintf(mode_arg, sizeof(mode_arg), "%s", mode);
    char *argv[] = {path, child_flag, mode_arg, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, env);
    assert_int_equal(rc, 0);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    child_result r;
    pid_t w;
    do {
        w = waitpid(pid, &r.status, 0);
    } while (w < 0 && errno == EINTR);
    assert_int_equal(w, pid);
    r.out = slurp(out);
    r.err = slurp(err);
    close(out);
    close(err);
    return r;
}

static void free_child(child_result *r)
{
    free(r->out);
    free(r->err);
}

/* On a failed check, show what the child said (its FAILED lines are expected there). */
static void expect_text(const child_result *r, const char *where, const char *text)
{
    const char *hay = strcmp(where, "out") == 0 ? r->out : r->err;
    if (strstr(hay, text) == NULL) {
        print_error("child %s lacks:\n%s\n--- child stdout:\n%s\n--- child stderr:\n%s\n", where,
                    text, r->out, r->err);
        fail();
    }
}

static void expect_no_text(const child_result *r, const char *where, const char *text)
{
    const char *hay = strcmp(where, "out") == 0 ? r->out : r->err;
    if (strstr(hay, text) != NULL) {
        print_error("child %s has, but must not:\n%s\n--- child stdout:\n%s\n--- child "
                    "stderr:\n%s\n",
                    where, text, r->out, r->err);
        fail();
    }
}

static void expect_line_failure(const child_result *r, int line)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "[   LINE   ] --- %s:%d: error: Failure!", __FILE__, line);
    expect_text(r, "err", buf);
}

/* ------------------------------------------------------------------ */
/* Parent tests                                                        */

static void test_child_failures_fail_their_test_and_the_next_test_runs(void **state)
{
    (void)state;
    child_result r = run_child("tests");
    assert_true(WIFEXITED(r.status));
    if (WEXITSTATUS(r.status) != CHILD_FAILURES) {
        print_error("child exit status %d, expected %d\n--- stdout:\n%s\n--- stderr:\n%s\n",
                    WEXITSTATUS(r.status), CHILD_FAILURES, r.out, r.err);
        fail();
    }
    expect_text(&r, "out", "[==========] Running 13 test(s).");
    expect_text(&r, "out", "[==========] 13 test(s) run.");
    expect_no_text(&r, "out", "NOT REACHED");

    /* a DPC: FAILED, the check's file:line and message, the report in the test's message */
    expect_text(&r, "out", "[  FAILED  ] child_assert_in_dpc");
    expect_line_failure(&r, LINE_DPC);
    expect_text(&r, "err",
                "[  ERROR   ] --- 0x2 != 0x3\nkdpc: this check failed in simulated "
                "code; kdpc_machine_run at ");
    expect_text(&r, "err", "KDPC BUGCHECK 0x00000000 KDPC_RULE_VIOLATION");
    expect_text(&r, "err", "  rule:      test.assert\n");
    expect_text(&r, "err", "  routine:   AssertDpc\n");
    expect_text(&r, "err", "at IRQL 2, virtual time");
    expect_text(&r, "err", "  replay:    seed 77 with the same config (2 CPUs");
    char what[512];
    snprintf(what, sizeof(what), "  what:      %s:%d: 0x2 != 0x3\n", __FILE__, LINE_DPC);
    expect_text(&r, "err", what);

    /* an ISR */
    expect_text(&r, "out", "[  FAILED  ] child_assert_in_isr");
    expect_line_failure(&r, LINE_ISR);
    expect_text(&r, "err", "[  ERROR   ] --- Serviced == (LONG)Expected\nkdpc: this check failed");
    expect_text(&r, "err", "  routine:   AssertIsr\n");
    expect_text(&r, "err", "at IRQL 5, virtual time");

    /* the entry routine, through assert_kdpc_ok(kdpc_machine_run_for(...)) */
    expect_text(&r, "out", "[  FAILED  ] child_fail_msg_in_entry");
    expect_line_failure(&r, LINE_ENTRY);
    expect_text(&r, "err",
                "[  ERROR   ] --- entry saw 42\nkdpc: this check failed in simulated "
                "code; kdpc_machine_run_for at ");
    expect_text(&r, "err", "  routine:   FailingEntry\n");

    /* skip() in a DPC: the test is skipped, not failed */
    expect_text(&r, "out", "[  SKIPPED ] child_skip_in_dpc");
    char skipped[512];
    snprintf(skipped, sizeof(skipped), "%s:%d: Skipped!", __FILE__, LINE_SKIP);
    expect_text(&r, "err", skipped);
    expect_no_text(&r, "out", "[  FAILED  ] child_skip_in_dpc");

    /* the tests after the failures ran and passed */
    expect_text(&r, "out", "child_passes_after ran to its end");
    expect_text(&r, "out", "[       OK ] child_passes_after");
    expect_text(&r, "out", "[       OK ] child_last_passes");

    /* assert_kdpc_ok failing prints the status and the bug check report */
    expect_text(&r, "out", "[  FAILED  ] child_assert_kdpc_ok_fails");
    expect_line_failure(&r, LINE_KDPC_OK);
    expect_text(&r, "err",
                "[  ERROR   ] --- kdpc_machine_run(m, DpcEntry, m) returned status 1 "
                "(a bug check stopped the run), not KDPC_OK\nKDPC BUGCHECK 0x000000C4 "
                "DRIVER_VERIFIER_DETECTED_VIOLATION");
    expect_text(&r, "err", "  rule:      dpc.lock_held\n");

    /* expect_bugcheck unmet: fails at the expectation's line */
    expect_text(&r, "out", "[  FAILED  ] child_expect_bugcheck_unmet");
    expect_line_failure(&r, LINE_EXPECT);
    expect_text(&r, "err",
                "expect_bugcheck: expected a bug check of rule dpc.lock_held; "
                "kdpc_machine_run at ");
    expect_text(&r, "err", "returned status 0 (success)");

    /* assert_kdpc_bugcheck with the wrong rule shows the bug check there was */
    expect_text(&r, "out", "[  FAILED  ] child_assert_kdpc_bugcheck_fails");
    expect_line_failure(&r, LINE_BUGCHECK);
    expect_text(&r, "err",
                "expected a bug check of rule dpc.irql_changed; the machine "
                "has:\nKDPC BUGCHECK 0x000000C4");

    /* assert_no_violation lists the warning */
    expect_text(&r, "out", "[  FAILED  ] child_assert_no_violation_fails");
    expect_line_failure(&r, LINE_NO_VIOLATION);
    expect_text(&r, "err", "[  ERROR   ] --- m has 2 violation(s):\nKDPC WARNING ");
    expect_text(&r, "err", "KDPC WARNING dpc.stall_too_long\n");

    /* an expectation no run met: destroy fails the test at the expectation, teardown too */
    expect_text(&r, "out", "[  FAILED  ] child_expect_bugcheck_then_destroy");
    expect_line_failure(&r, LINE_EXPECT_DESTROYED);
    expect_text(&r, "err", "expect_bugcheck was never met: kdpc_machine_destroy at ");
    char unmet[512];
    snprintf(unmet, sizeof(unmet),
             "%s:%d: expect_bugcheck was never met: no run of the machine followed", __FILE__,
             LINE_EXPECT_TEARDOWN);
    expect_text(&r, "err", unmet);
    expect_text(&r, "err", "[  ERROR   ] child_expect_bugcheck_then_teardown");

    /* assert_kdpc_ok on a run that timed out prints the timeout report */
    expect_text(&r, "out", "[  FAILED  ] child_assert_kdpc_ok_timeout");
    expect_line_failure(&r, LINE_TIMEOUT);
    expect_text(&r, "err",
                "[  ERROR   ] --- kdpc_machine_run(m, SpinEntry, NULL) returned status 3 "
                "(the run reached its step or virtual time limit), not KDPC_OK\n"
                "KDPC TIMEOUT");
    free_child(&r);
}

static void test_exit_in_a_dpc_is_reported(void **state)
{
    (void)state;
    child_result r = run_child("exit");
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 3);
    expect_text(&r, "err",
                "kdpc: exit() called from simulated code: routine ExitDpc on CPU 0 at "
                "IRQL 2, virtual time ");
    expect_text(&r, "err", "machine seed 1234 - cannot be contained");
    expect_text(&r, "err", "<kdpc/cmocka.h>");
    free_child(&r);
}

/* CMocka's own check failing in a DPC (no <kdpc/cmocka.h>) jumps back to the test on the same
 * host thread: that test fails with CMocka's message, kdpc says the run was left and halts the
 * machine, and the next test runs. */
static void test_cmocka_check_without_the_header_fails_the_test_and_halts_the_machine(void **state)
{
    (void)state;
#if KT_TSAN
    skip(); /* ThreadSanitizer stops the child at a longjmp from one fiber to another */
#endif
    child_result r = run_child("raw");
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 1); /* one failed test */
    expect_text(&r, "out", "[  FAILED  ] child_raw_cmocka");
    expect_text(&r, "out", "[       OK ] child_raw_next");
    expect_text(&r, "err", "kdpc: a jump left the run of machine");
    expect_text(&r, "err", "0x1 != 0x2");
    free_child(&r);
}

static void test_test_fail_outside_simulated_code_aborts(void **state)
{
    (void)state;
    child_result r = run_child("outside");
    assert_true(WIFSIGNALED(r.status));
    assert_int_equal(WTERMSIG(r.status), SIGABRT);
    expect_text(&r, "err", "kdpc: kdpc_test_fail outside simulated code: here.c:12: boom\n");
    free_child(&r);
}

/* Each rerouted check, failing in a DPC, through the real run (no test failure here): the
 * record names the check's line and CMocka's text. */
static int CheckLine;
static const LargestIntegralType Set12[] = {1, 2};
static const unsigned char MemA[3] = {'a', 'b', 'c'};
static const unsigned char MemB[3] = {'a', 'b', 'd'};
static volatile float FloatOne = 1.0f;
static const char *volatile StrA = "a";

static void check_kind(void)
{
    CheckLine = __LINE__ + 3; /* the switch's first check */
    switch (Which) {
    case 0:
        assert_int_equal(Serviced, 7);
        break;
    case 1:
        assert_int_not_equal(Serviced, 1);
        break;
    case 2:
        assert_string_equal(StrA, "b");
        break;
    case 3:
        assert_string_not_equal(StrA, "a");
        break;
    case 4:
        assert_memory_equal(MemA, MemB, 3);
        break;
    case 5:
        assert_memory_not_equal(MemA, MemA, 3);
        break;
    case 6:
        assert_in_range(Serviced + 4, 1, 3);
        break;
    case 7:
        assert_not_in_range(Serviced + 1, 1, 3);
        break;
    case 8:
        assert_in_set((LargestIntegralType)(Serviced + 4), Set12, 2);
        break;
    case 9:
        assert_not_in_set((LargestIntegralType)(Serviced + 1), Set12, 2);
        break;
    case 10:
        assert_return_code(-(int)Serviced, 5);
        break;
    case 11:
        assert_float_equal(FloatOne, 2.0f, 0.001f);
        break;
    case 12:
        assert_null(&Serviced);
        break;
    case 13:
        fail();
        break;
    case 14:
        assert_false(Serviced);
        break;
    default:
        assert_float_not_equal(FloatOne, 1.0f, 0.001f);
        break;
    }
}

static void KindDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    Serviced = 1;
    check_kind();
    ReachedAfter = 1;
}

static void KindEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&Dpc, KindDpc, NULL);
    (void)KeInsertQueueDpc(&Dpc, NULL, NULL);
}

static void quiet(kdpc_config *cfg)
{
    cfg->log = NULL;
    cfg->seed = 5;
}

static const kdpc_cmocka_fixture quiet_fixture = {quiet, NULL};

static void test_each_check_stops_the_run_with_cmocka_text(void **state)
{
    (void)state;
    /* CMocka 1.1's text for each case of check_kind(), in order */
    static const char *const texts[] = {
        "0x1 != 0x7",
        "0x1 == 0x1",
        "\"a\" != \"b\"",
        "\"a\" == \"a\"",
        "difference at offset 2 0x63 0x64\n1 bytes of ",
        "3 bytes of ",
        "5 is not within the range 1-3",
        "2 is within the range 1-3",
        "5 is not in the set (0x1, 0x2, )",
        "2 is in the set (0x1, 0x2, )",
        "-(int)Serviced < 0, errno(5): ",
        "1.000000 != 2.000000",
        "&Serviced",
        "Failure!",
        "Serviced",
        "1.000000 == 1.000000",
    };
    for (int k = 0; k < (int)(sizeof(texts) / sizeof(texts[0])); k++) {
        kdpc_config cfg;
        kdpc_config_init(&cfg);
        quiet(&cfg);
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        reset();
        Which = k;
        kdpc_status st = (kdpc_machine_run)(m, KindEntry, NULL); /* no test failure here */
        assert_int_equal(st, KDPC_BUGCHECK);
        assert_int_equal(ReachedAfter, 0);
        const kdpc_violation *v = kdpc_machine_bugcheck(m);
        assert_non_null(v);
        assert_string_equal(v->rule, "test.assert");
        assert_int_equal(v->code, 0);
        const kdpc_test_stop *s = kdpc_machine_test_stop(m);
        assert_non_null(s);
        assert_false(s->skip);
        assert_string_equal(s->file, __FILE__);
        assert_int_equal(s->line, CheckLine + 3 * k);
        assert_int_equal(v->params[0], (uint64_t)(CheckLine + 3 * k));
        if (strstr(s->message, texts[k]) != s->message) {
            print_error("check %d: message \"%s\", expected it to start with \"%s\"\n", k,
                        s->message, texts[k]);
            fail();
        }
        char prefix[512];
        snprintf(prefix, sizeof(prefix), "%s:%d: ", __FILE__, s->line);
        assert_true(strncmp(v->message, prefix, strlen(prefix)) == 0);
        /* the report's text is "file:line: message" (addresses in it may gain names) */
        assert_true(strstr(v->message + strlen(prefix), texts[k]) == v->message + strlen(prefix));
        kdpc_machine_destroy(m);
    }
}

/* A failing check in a system thread, a work item and a timer DPC stops the run too. */
static KTIMER Timer;
static WORK_QUEUE_ITEM WorkItem;
static int Where; /* 0 system thread, 1 work item, 2 timer DPC */

static void context_check(void)
{
    assert_int_equal(Where + 100, 0);
}

static VOID CheckThread(PVOID ctx)
{
    (void)ctx;
    context_check();
    ReachedAfter = 1;
}

static VOID CheckWorkItem(PVOID ctx)
{
    (void)ctx;
    context_check();
    ReachedAfter = 1;
}

static VOID CheckTimerDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    context_check();
    ReachedAfter = 1;
}

static void ContextEntry(void *ctx)
{
    (void)ctx;
    if (Where == 0) {
        HANDLE h;
        assert_int_equal(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, CheckThread, NULL),
            STATUS_SUCCESS);
        ZwClose(h);
    } else if (Where == 1) {
        ExInitializeWorkItem(&WorkItem, CheckWorkItem, NULL);
        ExQueueWorkItem(&WorkItem, DelayedWorkQueue);
    } else {
        LARGE_INTEGER due;
        due.QuadPart = -10000; /* 1 ms */
        KeInitializeTimer(&Timer);
        KeInitializeDpc(&Dpc, CheckTimerDpc, NULL);
        (void)KeSetTimer(&Timer, due, &Dpc);
    }
}

static void test_check_in_thread_work_item_and_timer_dpc_stops_the_run(void **state)
{
    (void)state;
    static const char *const names[] = {"CheckThread", "CheckWorkItem", "CheckTimerDpc"};
    static const char *const texts[] = {"0x64 != 0", "0x65 != 0", "0x66 != 0"};
    for (int k = 0; k < 3; k++) {
        kdpc_config cfg;
        kdpc_config_init(&cfg);
        quiet(&cfg);
        cfg.cpus = 2;
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        KDPC_NAME(m, CheckThread);
        KDPC_NAME(m, CheckWorkItem);
        KDPC_NAME(m, CheckTimerDpc);
        reset();
        Where = k;
        assert_int_equal((kdpc_machine_run)(m, ContextEntry, NULL), KDPC_BUGCHECK);
        assert_int_equal(ReachedAfter, 0);
        const kdpc_test_stop *s = kdpc_machine_test_stop(m);
        assert_non_null(s);
        assert_true(strncmp(s->message, texts[k], strlen(texts[k])) == 0);
        const kdpc_violation *v = kdpc_machine_bugcheck(m);
        assert_non_null(v);
        assert_string_equal(v->rule, "test.assert");
        assert_string_equal(v->routine, names[k]);
        assert_int_equal(v->irql, k == 2 ? 2 : 0);
        kdpc_machine_destroy(m);
    }
}

static void test_checks_that_hold_change_nothing(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    Expected = 1;
    assert_kdpc_ok(kdpc_machine_run(m, DpcEntry, m));
    assert_int_equal(ReachedAfter, 1);
    assert_null(kdpc_machine_test_stop(m));
    assert_null(kdpc_machine_bugcheck(m));
    assert_no_violation(m);
    assert_false(kdpc_test_in_simulation());
}

static void test_fixture_default_machine(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_cpu_count(m), 1);
    assert_int_equal(kdpc_machine_seed(m), 0);
    assert_false(kdpc_machine_halted(m));
}

static void configure_3cpus(kdpc_config *cfg)
{
    cfg->cpus = 3;
    cfg->seed = 9;
    cfg->log = NULL;
}

static void prepare_warn(kdpc_machine *m)
{
    assert_int_equal(kdpc_rule_set(m, "dpc.lock_held", KDPC_RULE_WARN), KDPC_OK);
}

static const kdpc_cmocka_fixture fixture_3cpus = {configure_3cpus, prepare_warn};

static void test_fixture_configure_and_prepare_hooks(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_cpu_count(m), 3);
    assert_int_equal(kdpc_machine_seed(m), 9);
    assert_int_equal(kdpc_rule_action_of(m, "dpc.lock_held"), KDPC_RULE_WARN);
}

static void test_expect_bugcheck_met_by_rule(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    HoldLockInDpc = 1;
    CheckInDpc = 0;
    expect_bugcheck(m, "dpc.lock_held");
    assert_int_equal(kdpc_machine_run(m, DpcEntry, m), KDPC_BUGCHECK);
    assert_kdpc_bugcheck(m, "dpc.lock_held");
    assert_kdpc_bugcheck(m, "dpc.*");
    assert_kdpc_bugcheck(m, 0xC4);
    assert_null(kdpc_machine_test_stop(m));
}

static void test_expect_bugcheck_met_by_code_and_family(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    HoldLockInDpc = 1;
    CheckInDpc = 0;
    expect_bugcheck(m, 0xC4);
    assert_int_equal(kdpc_machine_run(m, DpcEntry, m), KDPC_BUGCHECK);
    const char *family = "dpc.*";
    kdpc_machine *m2 = NULL;
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    quiet(&cfg);
    m2 = kdpc_machine_create(&cfg);
    assert_non_null(m2);
    reset();
    HoldLockInDpc = 1;
    CheckInDpc = 0;
    expect_bugcheck(m2, family);
    assert_int_equal(kdpc_machine_run(m2, DpcEntry, m2), KDPC_BUGCHECK);
    kdpc_machine_destroy(m2);
}

/* mock() / will_return() and expect_value() / check_expected() in simulated code see what the
 * test queued: the run is on the test's host thread. */
static int mocked_register_read(int reg)
{
    check_expected(reg);
    return (int)mock();
}

static int mock_seen;

static void MockDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    mock_seen = mocked_register_read(7);
}

static void MockEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&Dpc, MockDpc, NULL);
    (void)KeInsertQueueDpc(&Dpc, NULL, NULL);
}

static void test_mock_queues_reach_simulated_code(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    will_return(mocked_register_read, 0x5a);
    expect_value(mocked_register_read, reg, 7);
    mock_seen = 0;
    assert_kdpc_ok(kdpc_machine_run(m, MockEntry, NULL));
    assert_int_equal(mock_seen, 0x5a);
}

static void test_assert_no_violation_passes_on_a_clean_run(void **state)
{
    kdpc_machine *m = kdpc_state_machine(state);
    reset();
    CheckInDpc = 0;
    assert_kdpc_ok(kdpc_machine_run(m, DpcEntry, m));
    assert_no_violation(m);
    assert_kdpc_ok(kdpc_machine_shutdown(m));
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc == 3 && strcmp(argv[1], "--child") == 0) {
        if (strcmp(argv[2], "tests") == 0)
            return child_main();
        if (strcmp(argv[2], "exit") == 0)
            return child_exit_main();
        if (strcmp(argv[2], "raw") == 0)
            return child_raw_main();
        if (strcmp(argv[2], "outside") == 0)
            kdpc_test_fail("here.c", 12, "boom");
        return 99;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_failures_fail_their_test_and_the_next_test_runs),
        cmocka_unit_test(test_exit_in_a_dpc_is_reported),
        cmocka_unit_test(test_cmocka_check_without_the_header_fails_the_test_and_halts_the_machine),
        kdpc_unit_test(test_mock_queues_reach_simulated_code),
        cmocka_unit_test(test_test_fail_outside_simulated_code_aborts),
        cmocka_unit_test(test_each_check_stops_the_run_with_cmocka_text),
        cmocka_unit_test(test_check_in_thread_work_item_and_timer_dpc_stops_the_run),
        kdpc_unit_test_fixture(test_checks_that_hold_change_nothing, &quiet_fixture),
        kdpc_unit_test(test_fixture_default_machine),
        kdpc_unit_test_fixture(test_fixture_configure_and_prepare_hooks, &fixture_3cpus),
        kdpc_unit_test_fixture(test_expect_bugcheck_met_by_rule, &quiet_fixture),
        kdpc_unit_test_fixture(test_expect_bugcheck_met_by_code_and_family, &quiet_fixture),
        kdpc_unit_test_fixture(test_assert_no_violation_passes_on_a_clean_run, &quiet_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
