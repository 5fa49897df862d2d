/* SPDX-License-Identifier: MIT */
/*
 * kdpc/cmocka.h - CMocka checks that work inside simulated code, a machine
 * per test, and asserts on how a run ended.
 *
 * Include it after <cmocka.h> (or instead of it: it includes <cmocka.h> with
 * the headers CMocka needs first), in every source file whose simulated code
 * (entry routine, system thread, work item, DPC, ISR, timer DPC) uses
 * assert_*, fail(), fail_msg() or skip().
 *
 * WHY. CMocka fails a test by a longjmp to a jmp_buf that it keeps per host
 * thread, on the thread that runs the test. Simulated code runs elsewhere, so
 * a failing check there would end the whole test binary (exit) with no
 * message and no FAILED line. With this header:
 *
 *  - Outside simulated code (kdpc_current_machine() == NULL) every check
 *    behaves exactly as CMocka's own.
 *  - Inside simulated code a failing check calls kdpc_test_fail() with
 *    CMocka's text ("0x1 != 0x2", "\"a\" != \"b\"", the expression of
 *    assert_true, the text of fail_msg): the run stops as a bug check of rule
 *    test.assert (code 0, P1 = the line), the report is printed, every
 *    simulated context unwinds. skip() stops the run the same way and the
 *    test is marked skipped.
 *  - kdpc_machine_run(), kdpc_machine_run_for() and kdpc_machine_shutdown()
 *    become macros that call the real function and then, when the run ended
 *    by test.assert, fail the current test right there on the test thread:
 *    the check's message and the machine's report (cm_print_error), then
 *    CMocka's _fail with the check's own file and line. The next test runs.
 *    Call the real function, with no failure, as (kdpc_machine_run)(m, f, c).
 *    kdpc_machine_destroy() is wrapped too (see expect_bugcheck).
 *
 * It reroutes _assert_true, _assert_return_code, _assert_int_equal,
 * _assert_int_not_equal, _assert_float_equal, _assert_float_not_equal,
 * _assert_string_equal, _assert_string_not_equal, _assert_memory_equal,
 * _assert_memory_not_equal, _assert_in_range, _assert_not_in_range,
 * _assert_in_set, _assert_not_in_set, _fail and _skip (as macros of the
 * same name: the assert_*, fail and skip macros of CMocka 1.1 expand to
 * them), and fail_msg. Define KDPC_CMOCKA_NO_REROUTE before including it to
 * keep CMocka's own (the run wrappers and helpers below stay).
 *
 * LIMITS
 *  - A check that fails in simulated code of a file without this header
 *    jumps straight back to the test (simulated code runs on the test's host
 *    thread): the test fails with CMocka's message but without kdpc's report,
 *    and the machine is halted ("kdpc: a jump left the run of machine ..." on
 *    its log, at the next native call). exit() called by a driver cannot be
 *    contained; kdpc makes it visible: an atexit handler prints "kdpc: exit()
 *    called from simulated code: routine X on CPU n ..., machine seed s -
 *    cannot be contained" to stderr.
 *  - mock(), will_return(), check_expected(), expect_*() and function_called()
 *    work in simulated code as on the test thread (it is the same host thread).
 *  - mock_assert() (the assert() replacement for code under test) is not
 *    rerouted: code under test declares it itself, usually without this header.
 *  - test_malloc()/test_free() blocks allocated in simulated code are not
 *    checked for leaks by CMocka; kdpc's pool (ExAllocatePool2) is.
 *  - Messages longer than 2 KiB are cut.
 *
 * HELPERS (any test file, with or without simulated checks)
 *  - kdpc_unit_test(f) / kdpc_unit_test_fixture(f, &fixture): a machine per
 *    test, created by kdpc_machine_setup and destroyed by
 *    kdpc_machine_teardown; the test gets it as kdpc_state_machine(state).
 *  - assert_kdpc_ok(run): the run returned KDPC_OK, else the test fails with
 *    the status and the machine's bug check / deadlock / timeout report.
 *  - expect_bugcheck(m, rule_or_code): the next run of @m must end with that
 *    bug check (then it returns KDPC_BUGCHECK as usual), else the test fails.
 *  - assert_kdpc_bugcheck(m, rule_or_code): the last run of @m ended so.
 *  - assert_no_violation(m): no bug check and no warning recorded on @m.
 *
 * Example:
 *
 *     static KDPC Dpc;
 *     static void MyDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
 *     {
 *         assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL); // fails the test, not the binary
 *     }
 *     static void body(void *ctx)              // the run's entry: a system thread
 *     {
 *         KeInitializeDpc(&Dpc, MyDpc, NULL);
 *         KeInsertQueueDpc(&Dpc, NULL, NULL);
 *     }
 *     static void test_dpc(void **state)
 *     {
 *         kdpc_machine *m = kdpc_state_machine(state);
 *         assert_kdpc_ok(kdpc_machine_run(m, body, m));
 *         assert_no_violation(m);
 *     }
 *     int main(void)
 *     {
 *         const struct CMUnitTest tests[] = {kdpc_unit_test(test_dpc)};
 *         return cmocka_run_group_tests(tests, NULL, NULL);
 *     }
 *
 * Thread: the helpers run on the test thread; the rerouted checks anywhere.
 * Header only; C11 and C++11.
 */
#ifndef KDPC_CMOCKA_H
#define KDPC_CMOCKA_H

#include <float.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef CMOCKA_H_
#ifdef __cplusplus
extern "C" {
#endif
#include <cmocka.h>
#ifdef __cplusplus
}
#endif
#endif

#include <kdpc/kdpc.h>

#ifdef __cplusplus
#define KDPC_CMOCKA_TLS_ thread_local
#else
#define KDPC_CMOCKA_TLS_ _Thread_local
#endif

/*
 * KDPC_CMOCKA_PRINT_ERROR - CMocka's cm_print_error: the text joins the
 * current test's error message ("[  ERROR   ] --- ..."). libcmocka 1.1
 * exports it without declaring it; define KDPC_CMOCKA_PRINT_ERROR to
 * print_error before including this header if your CMocka lacks it.
 */
#ifndef KDPC_CMOCKA_PRINT_ERROR
KDPC_BEGIN_DECLS
void cm_print_error(const char *const format, ...) CMOCKA_PRINTF_ATTRIBUTE(1, 2);
KDPC_END_DECLS
#define KDPC_CMOCKA_PRINT_ERROR cm_print_error
#endif

/* ------------------------------------------------------------------ */
/* Message buffer                                                      */

typedef struct kdpc_cmocka_msg_ {
    char text[2048];
    size_t len;
} kdpc_cmocka_msg_;

static inline void kdpc_cmocka_add_(kdpc_cmocka_msg_ *b, const char *fmt, ...)
    CMOCKA_PRINTF_ATTRIBUTE(2, 3);
static inline void kdpc_cmocka_add_(kdpc_cmocka_msg_ *b, const char *fmt, ...)
{
    if (b->len + 1 >= sizeof(b->text))
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->text + b->len, sizeof(b->text) - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    b->len += (size_t)n;
    if (b->len >= sizeof(b->text))
        b->len = sizeof(b->text) - 1;
}

/* A check failed at file:line with the text in b: stop the run from simulated code, or fail
 * the test as CMocka does on the test thread. */
static inline void kdpc_cmocka_fail_with_(const kdpc_cmocka_msg_ *b, const char *file, int line)
{
    if (kdpc_test_in_simulation())
        kdpc_test_fail(file, line, b->text);
    KDPC_CMOCKA_PRINT_ERROR("%s", b->text);
    (_fail)(file, line);
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */

/* One violation in the layout of kdpc's own report. */
static inline void kdpc_cmocka_add_violation_(kdpc_cmocka_msg_ *b, const kdpc_machine *m,
                                              const kdpc_violation *v)
{
    if (v->fatal)
        kdpc_cmocka_add_(b,
                         "KDPC BUGCHECK 0x%08" PRIX32 " %s (0x%" PRIx64 ", 0x%" PRIx64
                         ", 0x%" PRIx64 ", 0x%" PRIx64 ")\n",
                         v->code, v->name, v->params[0], v->params[1], v->params[2], v->params[3]);
    else
        kdpc_cmocka_add_(b, "KDPC WARNING %s\n", v->rule);
    kdpc_cmocka_add_(b, "  rule:      %s\n", v->rule);
    if (v->guideline != NULL && v->guideline[0] != '\0')
        kdpc_cmocka_add_(b, "  guideline: %s\n", v->guideline);
    kdpc_cmocka_add_(b, "  what:      %s\n", v->message);
    if (v->routine != NULL && v->routine[0] != '\0')
        kdpc_cmocka_add_(b, "  routine:   %s\n", v->routine);
    kdpc_cmocka_add_(b,
                     "  where:     CPU %u at IRQL %u, virtual time %" PRIu64 ".%03u us\n"
                     "  replay:    seed %" PRIu64 " with the same config (%u CPUs)\n",
                     v->cpu, (unsigned)v->irql, v->time_ns / 1000u, (unsigned)(v->time_ns % 1000u),
                     v->seed, kdpc_machine_cpu_count(m));
}

/* The machine's report: its bug check, else its deadlock or timeout report. */
static inline void kdpc_cmocka_add_report_(kdpc_cmocka_msg_ *b, const kdpc_machine *m)
{
    if (m == NULL)
        return;
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    if (v != NULL)
        kdpc_cmocka_add_violation_(b, m, v);
    const char *r = kdpc_machine_deadlock_report(m);
    if (r != NULL)
        kdpc_cmocka_add_(b, "%s", r);
}

static inline void kdpc_cmocka_add_status_(kdpc_cmocka_msg_ *b, kdpc_status st)
{
    kdpc_cmocka_add_(b, "status %d (%s)", (int)st, kdpc_strerror(st));
}

/* ------------------------------------------------------------------ */
/* Bug check matching: a rule id, a family ("spinlock.*", "*") or a code */

typedef struct kdpc_cmocka_bc_ {
    const char *rule; /* NULL: match by code */
    uint64_t code;
} kdpc_cmocka_bc_;

static inline kdpc_cmocka_bc_ kdpc_cmocka_bc_rule_(const char *rule)
{
    kdpc_cmocka_bc_ bc;
    bc.rule = rule != NULL ? rule : "";
    bc.code = 0;
    return bc;
}

static inline kdpc_cmocka_bc_ kdpc_cmocka_bc_code_(uint64_t code)
{
    kdpc_cmocka_bc_ bc;
    bc.rule = NULL;
    bc.code = code;
    return bc;
}

static inline bool kdpc_cmocka_bc_match_(kdpc_cmocka_bc_ bc, const kdpc_violation *v)
{
    if (v == NULL || !v->fatal)
        return false;
    if (bc.rule == NULL)
        return v->code == bc.code;
    if (strcmp(bc.rule, "*") == 0)
        return true;
    size_t n = strlen(bc.rule);
    if (n >= 2 && bc.rule[n - 1] == '*' && bc.rule[n - 2] == '.')
        return strncmp(bc.rule, v->rule, n - 1) == 0;
    return strcmp(bc.rule, v->rule) == 0;
}

static inline void kdpc_cmocka_add_bc_(kdpc_cmocka_msg_ *b, kdpc_cmocka_bc_ bc)
{
    if (bc.rule != NULL)
        kdpc_cmocka_add_(b, "rule %s", bc.rule);
    else
        kdpc_cmocka_add_(b, "code 0x%" PRIX64, bc.code);
}

#ifdef __cplusplus
static inline kdpc_cmocka_bc_ kdpc_cmocka_bc_of_(const char *rule)
{
    return kdpc_cmocka_bc_rule_(rule);
}
static inline kdpc_cmocka_bc_ kdpc_cmocka_bc_of_(int code)
{
    return kdpc_cmocka_bc_code_((uint64_t)(unsigned)code);
}
static inline kdpc_cmocka_bc_ kdpc_cmocka_bc_of_(unsigned code)
{
    return kdpc_cmocka_bc_code_(code);
}
static inline kdpc_cmocka_bc_ kdpc_cmocka_bc_of_(long code)
{
    return kdpc_cmocka_bc_code_((uint64_t)code);
}
static inline kdpc_cmocka_bc_ kdpc_cmocka_bc_of_(unsigned long code)
{
    return kdpc_cmocka_bc_code_(code);
}
static inline kdpc_cmocka_bc_ kdpc_cmocka_bc_of_(long long code)
{
    return kdpc_cmocka_bc_code_((uint64_t)code);
}
static inline kdpc_cmocka_bc_ kdpc_cmocka_bc_of_(unsigned long long code)
{
    return kdpc_cmocka_bc_code_(code);
}
#define KDPC_CMOCKA_BC_(x) kdpc_cmocka_bc_of_(x)
#else
#define KDPC_CMOCKA_BC_(x)                                                                         \
    _Generic((x),                                                                                  \
        char *: kdpc_cmocka_bc_rule_,                                                              \
        const char *: kdpc_cmocka_bc_rule_,                                                        \
        default: kdpc_cmocka_bc_code_)(x)
#endif

/* ------------------------------------------------------------------ */
/* Per test-thread state of this file: the last machine run, the pending expect_bugcheck */

typedef struct kdpc_cmocka_state_ {
    const kdpc_machine *last; /* machine of the last wrapped run (assert_kdpc_ok) */
    const kdpc_machine *expect_m;
    kdpc_cmocka_bc_ expect;
    const char *expect_file;
    int expect_line;
} kdpc_cmocka_state_;

static inline kdpc_cmocka_state_ *kdpc_cmocka_state_of_(void)
{
    static KDPC_CMOCKA_TLS_ kdpc_cmocka_state_ s;
    return &s;
}

static inline void kdpc_cmocka_last_reset_(void)
{
    kdpc_cmocka_state_of_()->last = NULL;
}

/* ------------------------------------------------------------------ */
/* Run wrappers                                                        */

/* After a run of m that returned st, at file:line of the test: a test check that stopped it
 * fails (or skips) the test here; an unmet expect_bugcheck fails it at the expectation. */
static inline kdpc_status kdpc_cmocka_after_run_(kdpc_machine *m, kdpc_status st, const char *what,
                                                 const char *file, int line)
{
    kdpc_cmocka_state_ *s = kdpc_cmocka_state_of_();
    s->last = m;
    if (m == NULL || kdpc_test_in_simulation())
        return st;
    const kdpc_test_stop *stop = st == KDPC_BUGCHECK ? kdpc_machine_test_stop(m) : NULL;
    bool expected = s->expect_m == m;
    if (expected)
        s->expect_m = NULL;
    if (stop != NULL) {
        if (stop->skip)
            (_skip)(stop->file, stop->line);
        kdpc_cmocka_msg_ b;
        b.len = 0;
        b.text[0] = '\0';
        kdpc_cmocka_add_(&b,
                         "%s\nkdpc: this check failed in simulated code; %s at %s:%d stopped:\n",
                         stop->message, what, file, line);
        kdpc_cmocka_add_report_(&b, m);
        KDPC_CMOCKA_PRINT_ERROR("%s", b.text);
        (_fail)(stop->file, stop->line);
        return st;
    }
    if (expected &&
        !(st == KDPC_BUGCHECK && kdpc_cmocka_bc_match_(s->expect, kdpc_machine_bugcheck(m)))) {
        kdpc_cmocka_msg_ b;
        b.len = 0;
        b.text[0] = '\0';
        kdpc_cmocka_add_(&b, "expect_bugcheck: expected a bug check of ");
        kdpc_cmocka_add_bc_(&b, s->expect);
        kdpc_cmocka_add_(&b, "; %s at %s:%d returned ", what, file, line);
        kdpc_cmocka_add_status_(&b, st);
        kdpc_cmocka_add_(&b, "\n");
        kdpc_cmocka_add_report_(&b, m);
        KDPC_CMOCKA_PRINT_ERROR("%s", b.text);
        (_fail)(s->expect_file, s->expect_line);
    }
    return st;
}

static inline kdpc_status kdpc_cmocka_run_(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx,
                                           const char *file, int line)
{
    kdpc_status st = (kdpc_machine_run)(m, entry, ctx);
    return kdpc_cmocka_after_run_(m, st, "kdpc_machine_run", file, line);
}

static inline kdpc_status kdpc_cmocka_run_for_(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx,
                                               uint64_t duration_ns, const char *file, int line)
{
    kdpc_status st = (kdpc_machine_run_for)(m, entry, ctx, duration_ns);
    return kdpc_cmocka_after_run_(m, st, "kdpc_machine_run_for", file, line);
}

static inline kdpc_status kdpc_cmocka_shutdown_(kdpc_machine *m, const char *file, int line)
{
    kdpc_status st = (kdpc_machine_shutdown)(m);
    return kdpc_cmocka_after_run_(m, st, "kdpc_machine_shutdown", file, line);
}

/** kdpc_machine_run() that fails the current test when a check in simulated code stopped it. */
#define kdpc_machine_run(m, entry, ctx) kdpc_cmocka_run_((m), (entry), (ctx), __FILE__, __LINE__)
/** kdpc_machine_run_for(), the same way. */
#define kdpc_machine_run_for(m, entry, ctx, ns)                                                    \
    kdpc_cmocka_run_for_((m), (entry), (ctx), (ns), __FILE__, __LINE__)
/** kdpc_machine_shutdown(), the same way (and expect_bugcheck applies to it). */
#define kdpc_machine_shutdown(m) kdpc_cmocka_shutdown_((m), __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* assert_kdpc_ok, expect_bugcheck, assert_kdpc_bugcheck, assert_no_violation */

static inline void kdpc_cmocka_assert_ok_(kdpc_status st, const char *expr, const char *file,
                                          int line)
{
    if (st == KDPC_OK)
        return;
    kdpc_cmocka_msg_ b;
    b.len = 0;
    b.text[0] = '\0';
    kdpc_cmocka_add_(&b, "%s returned ", expr);
    kdpc_cmocka_add_status_(&b, st);
    kdpc_cmocka_add_(&b, ", not KDPC_OK\n");
    kdpc_cmocka_add_report_(&b, kdpc_cmocka_state_of_()->last);
    kdpc_cmocka_fail_with_(&b, file, line);
}

/**
 * assert_kdpc_ok() - assert that @run (a kdpc_machine_run / _run_for /
 * _shutdown call, or any expression giving a kdpc_status) gives KDPC_OK. On
 * failure the message names the status and, when @run ran a machine through
 * this header's wrappers, that machine's bug check, deadlock or timeout report.
 */
#define assert_kdpc_ok(run)                                                                        \
    kdpc_cmocka_assert_ok_((kdpc_cmocka_last_reset_(), (run)), #run, __FILE__, __LINE__)

static inline void kdpc_cmocka_expect_(const kdpc_machine *m, kdpc_cmocka_bc_ bc, const char *file,
                                       int line)
{
    kdpc_cmocka_state_ *s = kdpc_cmocka_state_of_();
    s->expect_m = m; /* replaces one a failed test left behind */
    s->expect = bc;
    s->expect_file = file;
    s->expect_line = line;
}

/**
 * expect_bugcheck() - the next kdpc_machine_run / _run_for / _shutdown of @m
 * (through this header's wrappers, in this file, on this thread) must end
 * with a bug check of @rule_or_code: a rule id ("dpc.lock_held"), a family
 * ("spinlock.*", "*") or a bug check code (0xC4). Then that call returns
 * KDPC_BUGCHECK as usual; otherwise the test fails at the expect_bugcheck
 * line with the status and the machine's report. One expectation at a time
 * (a new one replaces the last); kdpc_machine_destroy (wrapped) and
 * kdpc_machine_teardown fail a test whose expectation no run met.
 */
#define expect_bugcheck(m, rule_or_code)                                                           \
    kdpc_cmocka_expect_((m), KDPC_CMOCKA_BC_(rule_or_code), __FILE__, __LINE__)

static inline void kdpc_cmocka_assert_bugcheck_(const kdpc_machine *m, kdpc_cmocka_bc_ bc,
                                                const char *file, int line)
{
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    if (kdpc_cmocka_bc_match_(bc, v))
        return;
    kdpc_cmocka_msg_ b;
    b.len = 0;
    b.text[0] = '\0';
    kdpc_cmocka_add_(&b, "expected a bug check of ");
    kdpc_cmocka_add_bc_(&b, bc);
    if (v == NULL)
        kdpc_cmocka_add_(&b, "; the machine has none\n");
    else
        kdpc_cmocka_add_(&b, "; the machine has:\n");
    kdpc_cmocka_add_report_(&b, m);
    kdpc_cmocka_fail_with_(&b, file, line);
}

static inline void kdpc_cmocka_destroy_(kdpc_machine *m, const char *file, int line)
{
    kdpc_cmocka_state_ *s = kdpc_cmocka_state_of_();
    bool unmet = m != NULL && s->expect_m == m;
    if (unmet)
        s->expect_m = NULL;
    if (s->last == m)
        s->last = NULL;
    (kdpc_machine_destroy)(m);
    if (unmet && !kdpc_test_in_simulation()) {
        KDPC_CMOCKA_PRINT_ERROR("expect_bugcheck was never met: kdpc_machine_destroy at %s:%d with "
                                "no run of the machine after it\n",
                                file, line);
        (_fail)(s->expect_file, s->expect_line);
    }
}

/**
 * kdpc_machine_destroy() - the real one, after which a pending expect_bugcheck
 * on @m (no run followed it) fails the test at the expectation's line.
 */
#define kdpc_machine_destroy(m) kdpc_cmocka_destroy_((m), __FILE__, __LINE__)

/**
 * assert_kdpc_bugcheck() - assert that the last run of @m ended with a bug
 * check of @rule_or_code (as for expect_bugcheck); on failure the message has
 * the machine's report.
 */
#define assert_kdpc_bugcheck(m, rule_or_code)                                                      \
    kdpc_cmocka_assert_bugcheck_((m), KDPC_CMOCKA_BC_(rule_or_code), __FILE__, __LINE__)

static inline void kdpc_cmocka_assert_no_violation_(const kdpc_machine *m, const char *expr,
                                                    const char *file, int line)
{
    size_t n = kdpc_machine_violation_count(m);
    if (n == 0)
        return;
    kdpc_cmocka_msg_ b;
    b.len = 0;
    b.text[0] = '\0';
    kdpc_cmocka_add_(&b, "%s has %zu violation(s):\n", expr, n);
    for (size_t i = 0; i < n; i++)
        kdpc_cmocka_add_violation_(&b, m, kdpc_machine_violation(m, i));
    kdpc_cmocka_fail_with_(&b, file, line);
}

/**
 * assert_no_violation() - assert that @m recorded no violation at all: no bug
 * check and no warning. On failure the message lists each one.
 */
#define assert_no_violation(m) kdpc_cmocka_assert_no_violation_((m), #m, __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Fixture: a machine per test                                         */

/**
 * struct kdpc_cmocka_fixture - how kdpc_machine_setup builds the machine.
 * Both hooks may be NULL.
 */
typedef struct kdpc_cmocka_fixture {
    /** after kdpc_config_init(): set cpus, seed, log, limits, ... */
    void (*configure)(kdpc_config *cfg);
    /** after kdpc_machine_create(): switch rules, name routines, ... */
    void (*prepare)(kdpc_machine *m);
} kdpc_cmocka_fixture;

/**
 * kdpc_machine_setup() - CMocka setup: *@state is NULL or a
 * const kdpc_cmocka_fixture * (the prestate of kdpc_unit_test_fixture);
 * creates a machine from kdpc_config_init() (1 CPU, seed 0, reports on
 * stderr) and the fixture's hooks, and leaves it in *@state.
 * Return: 0, or -1 (with a message) when the machine cannot be created.
 */
static inline int kdpc_machine_setup(void **state)
{
    const kdpc_cmocka_fixture *fx = (const kdpc_cmocka_fixture *)*state;
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    if (fx != NULL && fx->configure != NULL)
        fx->configure(&cfg);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        print_error("kdpc_machine_setup: kdpc_machine_create failed (bad config or no memory)\n");
        return -1;
    }
    if (fx != NULL && fx->prepare != NULL)
        fx->prepare(m);
    *state = m;
    return 0;
}

/**
 * kdpc_machine_teardown() - CMocka teardown: destroys the machine in
 * *@state. Return: 0, or -1 (with a message) when an expect_bugcheck on it
 * was never met by a run.
 */
static inline int kdpc_machine_teardown(void **state)
{
    kdpc_machine *m = (kdpc_machine *)*state;
    kdpc_cmocka_state_ *s = kdpc_cmocka_state_of_();
    int rc = 0;
    if (m != NULL && s->expect_m == m) {
        print_error("%s:%d: expect_bugcheck was never met: no run of the machine followed\n",
                    s->expect_file, s->expect_line);
        s->expect_m = NULL;
        rc = -1;
    }
    if (s->last == m)
        s->last = NULL;
    (kdpc_machine_destroy)(m);
    *state = NULL;
    return rc;
}

/** The machine kdpc_machine_setup made for this test. */
#define kdpc_state_machine(state) ((kdpc_machine *)*(state))

/** A test with a fresh default machine: cmocka_unit_test with kdpc's setup and teardown. */
#define kdpc_unit_test(f)                                                                          \
    cmocka_unit_test_setup_teardown(f, kdpc_machine_setup, kdpc_machine_teardown)

/** The same with a machine built by @fixture_ptr (a const kdpc_cmocka_fixture *). */
#define kdpc_unit_test_fixture(f, fixture_ptr)                                                     \
    cmocka_unit_test_prestate_setup_teardown(f, kdpc_machine_setup, kdpc_machine_teardown,         \
                                             (void *)(fixture_ptr))

/* ------------------------------------------------------------------ */
/* CMocka's checks, rerouted in simulated code                         */

#ifndef KDPC_CMOCKA_NO_REROUTE

static inline void kdpc_cmocka_assert_true_(LargestIntegralType result, const char *expr,
                                            const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_true)(result, expr, file, line);
        return;
    }
    if (!result)
        kdpc_test_fail(file, line, expr);
}

static inline void kdpc_cmocka_assert_return_code_(LargestIntegralType result, size_t rlen,
                                                   LargestIntegralType error, const char *expr,
                                                   const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_return_code)(result, rlen, error, expr, file, line);
        return;
    }
    /* CMocka's test: the value, read as a signed number of rlen bytes, is negative. */
    LargestIntegralType valmax = rlen == 1   ? 255u
                                 : rlen == 2 ? 32767u
                                 : rlen == 4 ? 2147483647u
                                             : (LargestIntegralType)INT64_MAX;
    if (result <= valmax - 1)
        return;
    kdpc_cmocka_msg_ b;
    b.len = 0;
    b.text[0] = '\0';
    if (error > 0)
        kdpc_cmocka_add_(&b, "%s < 0, errno(" LargestIntegralTypePrintfFormatDecimal "): %s", expr,
                         error, strerror((int)error));
    else
        kdpc_cmocka_add_(&b, "%s < 0", expr);
    kdpc_test_fail(file, line, b.text);
}

static inline bool kdpc_cmocka_float_equal_(float a, float b, float epsilon)
{
    float diff = a - b;
    diff = diff >= 0.f ? diff : -diff;
    if (diff <= epsilon)
        return true;
    float absa = a >= 0.f ? a : -a;
    float absb = b >= 0.f ? b : -b;
    float largest = absb > absa ? absb : absa;
    return !(diff > largest * FLT_EPSILON);
}

static inline void kdpc_cmocka_assert_float_(float a, float b, float epsilon, bool want_equal,
                                             const char *file, int line)
{
    if (kdpc_cmocka_float_equal_(a, b, epsilon) == want_equal)
        return;
    kdpc_cmocka_msg_ m;
    m.len = 0;
    m.text[0] = '\0';
    kdpc_cmocka_add_(&m, FloatPrintfFormat " %s " FloatPrintfFormat, (double)a,
                     want_equal ? "!=" : "==", (double)b);
    kdpc_test_fail(file, line, m.text);
}

static inline void kdpc_cmocka_assert_float_equal_(float a, float b, float epsilon,
                                                   const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_float_equal)(a, b, epsilon, file, line);
        return;
    }
    kdpc_cmocka_assert_float_(a, b, epsilon, true, file, line);
}

static inline void kdpc_cmocka_assert_float_not_equal_(float a, float b, float epsilon,
                                                       const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_float_not_equal)(a, b, epsilon, file, line);
        return;
    }
    kdpc_cmocka_assert_float_(a, b, epsilon, false, file, line);
}

static inline void kdpc_cmocka_assert_int_(LargestIntegralType a, LargestIntegralType b,
                                           bool want_equal, const char *file, int line)
{
    if ((a == b) == want_equal)
        return;
    kdpc_cmocka_msg_ m;
    m.len = 0;
    m.text[0] = '\0';
    kdpc_cmocka_add_(&m, LargestIntegralTypePrintfFormat " %s " LargestIntegralTypePrintfFormat, a,
                     want_equal ? "!=" : "==", b);
    kdpc_test_fail(file, line, m.text);
}

static inline void kdpc_cmocka_assert_int_equal_(LargestIntegralType a, LargestIntegralType b,
                                                 const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_int_equal)(a, b, file, line);
        return;
    }
    kdpc_cmocka_assert_int_(a, b, true, file, line);
}

static inline void kdpc_cmocka_assert_int_not_equal_(LargestIntegralType a, LargestIntegralType b,
                                                     const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_int_not_equal)(a, b, file, line);
        return;
    }
    kdpc_cmocka_assert_int_(a, b, false, file, line);
}

static inline void kdpc_cmocka_assert_string_(const char *a, const char *b, bool want_equal,
                                              const char *file, int line)
{
    const char *sa = a != NULL ? a : "(null)";
    const char *sb = b != NULL ? b : "(null)";
    bool equal = (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
    if (equal == want_equal)
        return;
    kdpc_cmocka_msg_ m;
    m.len = 0;
    m.text[0] = '\0';
    kdpc_cmocka_add_(&m, "\"%s\" %s \"%s\"", sa, want_equal ? "!=" : "==", sb);
    kdpc_test_fail(file, line, m.text);
}

static inline void kdpc_cmocka_assert_string_equal_(const char *a, const char *b, const char *file,
                                                    int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_string_equal)(a, b, file, line);
        return;
    }
    kdpc_cmocka_assert_string_(a, b, true, file, line);
}

static inline void kdpc_cmocka_assert_string_not_equal_(const char *a, const char *b,
                                                        const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_string_not_equal)(a, b, file, line);
        return;
    }
    kdpc_cmocka_assert_string_(a, b, false, file, line);
}

static inline void kdpc_cmocka_assert_memory_equal_(const void *a, const void *b, size_t size,
                                                    const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_memory_equal)(a, b, size, file, line);
        return;
    }
    const unsigned char *pa = (const unsigned char *)a;
    const unsigned char *pb = (const unsigned char *)b;
    size_t differences = 0;
    kdpc_cmocka_msg_ m;
    m.len = 0;
    m.text[0] = '\0';
    for (size_t i = 0; i < size; i++) {
        if (pa[i] == pb[i])
            continue;
        if (differences < 16)
            kdpc_cmocka_add_(&m, "difference at offset %zu 0x%02x 0x%02x\n", i, (unsigned)pa[i],
                             (unsigned)pb[i]);
        differences++;
    }
    if (differences == 0)
        return;
    if (differences >= 16)
        kdpc_cmocka_add_(&m, "...\n");
    kdpc_cmocka_add_(&m, "%zu bytes of %p and %p differ", differences, a, b);
    kdpc_test_fail(file, line, m.text);
}

static inline void kdpc_cmocka_assert_memory_not_equal_(const void *a, const void *b, size_t size,
                                                        const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_memory_not_equal)(a, b, size, file, line);
        return;
    }
    if (memcmp(a, b, size) != 0)
        return;
    kdpc_cmocka_msg_ m;
    m.len = 0;
    m.text[0] = '\0';
    kdpc_cmocka_add_(&m, "%zu bytes of %p and %p the same", size, a, b);
    kdpc_test_fail(file, line, m.text);
}

static inline void kdpc_cmocka_assert_range_(LargestIntegralType value, LargestIntegralType lo,
                                             LargestIntegralType hi, bool want_in, const char *file,
                                             int line)
{
    if ((value >= lo && value <= hi) == want_in)
        return;
    kdpc_cmocka_msg_ m;
    m.len = 0;
    m.text[0] = '\0';
    kdpc_cmocka_add_(&m,
                     LargestIntegralTypePrintfFormatDecimal
                     " is %swithin the range " LargestIntegralTypePrintfFormatDecimal
                     "-" LargestIntegralTypePrintfFormatDecimal,
                     value, want_in ? "not " : "", lo, hi);
    kdpc_test_fail(file, line, m.text);
}

static inline void kdpc_cmocka_assert_in_range_(LargestIntegralType value, LargestIntegralType lo,
                                                LargestIntegralType hi, const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_in_range)(value, lo, hi, file, line);
        return;
    }
    kdpc_cmocka_assert_range_(value, lo, hi, true, file, line);
}

static inline void kdpc_cmocka_assert_not_in_range_(LargestIntegralType value,
                                                    LargestIntegralType lo, LargestIntegralType hi,
                                                    const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_not_in_range)(value, lo, hi, file, line);
        return;
    }
    kdpc_cmocka_assert_range_(value, lo, hi, false, file, line);
}

static inline void kdpc_cmocka_assert_set_(LargestIntegralType value,
                                           const LargestIntegralType values[], size_t n,
                                           bool want_in, const char *file, int line)
{
    bool in = false;
    for (size_t i = 0; i < n && !in; i++)
        in = values[i] == value;
    if (in == want_in)
        return;
    kdpc_cmocka_msg_ m;
    m.len = 0;
    m.text[0] = '\0';
    kdpc_cmocka_add_(&m, LargestIntegralTypePrintfFormatDecimal " is %sin the set (", value,
                     want_in ? "not " : "");
    for (size_t i = 0; i < n; i++)
        kdpc_cmocka_add_(&m, LargestIntegralTypePrintfFormat ", ", values[i]);
    kdpc_cmocka_add_(&m, ")");
    kdpc_test_fail(file, line, m.text);
}

static inline void kdpc_cmocka_assert_in_set_(LargestIntegralType value,
                                              const LargestIntegralType values[], size_t n,
                                              const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_in_set)(value, values, n, file, line);
        return;
    }
    kdpc_cmocka_assert_set_(value, values, n, true, file, line);
}

static inline void kdpc_cmocka_assert_not_in_set_(LargestIntegralType value,
                                                  const LargestIntegralType values[], size_t n,
                                                  const char *file, int line)
{
    if (!kdpc_test_in_simulation()) {
        (_assert_not_in_set)(value, values, n, file, line);
        return;
    }
    kdpc_cmocka_assert_set_(value, values, n, false, file, line);
}

static inline void kdpc_cmocka_fail_(const char *file, int line)
{
    if (kdpc_test_in_simulation())
        kdpc_test_fail(file, line, "Failure!");
    (_fail)(file, line);
}

static inline void kdpc_cmocka_skip_(const char *file, int line)
{
    if (kdpc_test_in_simulation())
        kdpc_test_skip(file, line);
    (_skip)(file, line);
}

static inline void kdpc_cmocka_fail_msg_(const char *file, int line, const char *fmt, ...)
    CMOCKA_PRINTF_ATTRIBUTE(3, 4);
static inline void kdpc_cmocka_fail_msg_(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    if (!kdpc_test_in_simulation()) {
        /* CMocka's fail_msg: print_error("ERROR: " msg "\n", ...), then fail(). */
        print_error("ERROR: ");
        va_start(ap, fmt);
        vprint_error(fmt, ap);
        va_end(ap);
        print_error("\n");
        (_fail)(file, line);
        return;
    }
    kdpc_cmocka_msg_ m;
    m.len = 0;
    m.text[0] = '\0';
    va_start(ap, fmt);
    int n = vsnprintf(m.text, sizeof(m.text), fmt, ap);
    va_end(ap);
    (void)n;
    kdpc_test_fail(file, line, m.text);
}

#define _assert_true(result, expr, file, line)                                                     \
    kdpc_cmocka_assert_true_((result), (expr), (file), (line))
#define _assert_return_code(result, rlen, error, expr, file, line)                                 \
    kdpc_cmocka_assert_return_code_((result), (rlen), (error), (expr), (file), (line))
#define _assert_float_equal(a, b, eps, file, line)                                                 \
    kdpc_cmocka_assert_float_equal_((a), (b), (eps), (file), (line))
#define _assert_float_not_equal(a, b, eps, file, line)                                             \
    kdpc_cmocka_assert_float_not_equal_((a), (b), (eps), (file), (line))
#define _assert_int_equal(a, b, file, line) kdpc_cmocka_assert_int_equal_((a), (b), (file), (line))
#define _assert_int_not_equal(a, b, file, line)                                                    \
    kdpc_cmocka_assert_int_not_equal_((a), (b), (file), (line))
#define _assert_string_equal(a, b, file, line)                                                     \
    kdpc_cmocka_assert_string_equal_((a), (b), (file), (line))
#define _assert_string_not_equal(a, b, file, line)                                                 \
    kdpc_cmocka_assert_string_not_equal_((a), (b), (file), (line))
#define _assert_memory_equal(a, b, size, file, line)                                               \
    kdpc_cmocka_assert_memory_equal_((a), (b), (size), (file), (line))
#define _assert_memory_not_equal(a, b, size, file, line)                                           \
    kdpc_cmocka_assert_memory_not_equal_((a), (b), (size), (file), (line))
#define _assert_in_range(value, lo, hi, file, line)                                                \
    kdpc_cmocka_assert_in_range_((value), (lo), (hi), (file), (line))
#define _assert_not_in_range(value, lo, hi, file, line)                                            \
    kdpc_cmocka_assert_not_in_range_((value), (lo), (hi), (file), (line))
#define _assert_in_set(value, values, n, file, line)                                               \
    kdpc_cmocka_assert_in_set_((value), (values), (n), (file), (line))
#define _assert_not_in_set(value, values, n, file, line)                                           \
    kdpc_cmocka_assert_not_in_set_((value), (values), (n), (file), (line))
#define _fail(file, line) kdpc_cmocka_fail_((file), (line))
#define _skip(file, line) kdpc_cmocka_skip_((file), (line))
#undef fail_msg
/** CMocka's fail_msg(), also inside simulated code. */
#define fail_msg(...) kdpc_cmocka_fail_msg_(__FILE__, __LINE__, __VA_ARGS__)

#endif /* KDPC_CMOCKA_NO_REROUTE */

#endif /* KDPC_CMOCKA_H */
