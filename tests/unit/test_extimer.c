/* SPDX-License-Identifier: MIT */
/*
 * test_extimer.c - system-allocated timers: ExAllocateTimer, ExSetTimer,
 * ExCancelTimer, ExDeleteTimer (docs/facts/io.md 1.29-1.32, cited as
 * "io 1.30"). The callback runs at DISPATCH_LEVEL with the timer and the
 * context given to ExAllocateTimer; Period is in 100 ns units; the timer is
 * a synchronization timer unless EX_TIMER_NOTIFICATION; ExDeleteTimer
 * disables the object. EX_TIMER objects are waitable like KTIMERs (MSL
 * kernel/exxxxtimer-routines-and-ex-timer-objects: "EX_TIMER and KTIMER
 * structures are waitable objects"). A 100 us clock tick makes expiry ticks
 * exact (a timer expires at the first tick at or after its due time).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TICK     100000ull
#define MS       1000000ull
#define EPS_NS   5000ull
#define MAXN     64
#define POLL_MAX 20000u
#define PV(x)    ((PVOID)(ULONG_PTR)(x))

typedef struct cb_log {
    unsigned n;
    PEX_TIMER timer[MAXN];
    PVOID context[MAXN];
    KIRQL irql[MAXN];
    LONGLONG tick[MAXN];
    uint64_t ns[MAXN];
    /* probes made by DeletingCallback */
    BOOLEAN del1, set_after, cancel_after, del2;
} cb_log;

static cb_log g_log;
static PEX_TIMER g_timer;

static void log_reset(void)
{
    memset(&g_log, 0, sizeof(g_log));
    g_timer = NULL;
}

static void log_call(PEX_TIMER Timer, PVOID Context)
{
    uint64_t ns = (uint64_t)KeQueryInterruptTime() * 100u;
    if (g_log.n < MAXN) {
        unsigned i = g_log.n;
        LARGE_INTEGER t;
        KeQueryTickCount(&t);
        g_log.timer[i] = Timer;
        g_log.context[i] = Context;
        g_log.irql[i] = KeGetCurrentIrql();
        g_log.tick[i] = t.QuadPart;
        g_log.ns[i] = ns;
    }
    g_log.n++;
}

static void RecordCallback(PEX_TIMER Timer, PVOID Context)
{
    log_call(Timer, Context);
}

/* Deletes its own timer on the first call (io 1.32: Wait must be FALSE here). */
static void DeletingCallback(PEX_TIMER Timer, PVOID Context)
{
    log_call(Timer, Context);
    if (g_log.n == 1) {
        g_log.del1 = ExDeleteTimer(Timer, TRUE, FALSE, NULL);
        g_log.set_after = ExSetTimer(Timer, -10000, 0, NULL);
        g_log.cancel_after = ExCancelTimer(Timer, NULL);
        g_log.del2 = ExDeleteTimer(Timer, TRUE, FALSE, NULL);
    }
}

static kdpc_machine *ex_machine(uint64_t seed)
{
    kdpc_config cfg = kt_config(1, seed);
    cfg.clock_tick_ns = TICK;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, RecordCallback);
    KDPC_NAME(m, DeletingCallback);
    return m;
}

static void wait_calls(unsigned n)
{
    for (unsigned i = 0; i < POLL_MAX && g_log.n < n; i++)
        KeStallExecutionProcessor(10);
}

static void stall_us(unsigned us)
{
    for (unsigned i = 0; i < us / 10u; i++)
        KeStallExecutionProcessor(10);
}

/* Call @i ran at clock tick @k: within EPS_NS of it, or, while the CPU was busy in a 10 us
 * KeStallExecutionProcessor (a kernel call is the unit of interleaving), right after it. */
static void assert_call_at_tick_slack(unsigned i, uint64_t k, uint64_t slack)
{
    assert_true(i < g_log.n);
    assert_int_equal(g_log.tick[i], k);
    assert_in_range(g_log.ns[i], k * TICK, k * TICK + slack - 1u);
}

static void assert_call_at_tick(unsigned i, uint64_t k)
{
    assert_call_at_tick_slack(i, k, EPS_NS);
}

#define POLL_SLACK (EPS_NS + 10000u) /* the tick passed during a 10 us stall */

/* ------------------------------------------------------------------ */
/* Callback, context, IRQL (io 1.29, 1.31)                             */

static struct {
    BOOLEAN set, del;
    unsigned n_at_delete;
} g_basic;

static void entry_basic(void *ctx)
{
    (void)ctx;
    EXT_SET_PARAMETERS p;
    ExInitializeSetTimerParameters(&p);
    g_timer = ExAllocateTimer(RecordCallback, PV(0xC0FFEE), 0);
    if (g_timer == NULL)
        return;
    KeStallExecutionProcessor(1);
    g_basic.set = ExSetTimer(g_timer, -2500, 0, &p); /* 250 us: due ~251 us -> tick 3 */
    wait_calls(1);
    g_basic.n_at_delete = g_log.n;
    g_basic.del = ExDeleteTimer(g_timer, TRUE, FALSE, NULL); /* expired: nothing cancelled */
}

static void test_callback_runs_at_dispatch_with_its_timer_and_context(void **state)
{
    (void)state;
    log_reset();
    memset(&g_basic, 0xAA, sizeof(g_basic));
    kdpc_machine *m = ex_machine(1);
    assert_int_equal(kdpc_machine_run(m, entry_basic, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);

    assert_non_null(g_timer);
    assert_false(g_basic.set); /* io 1.30: nothing was cancelled */
    assert_int_equal(g_basic.n_at_delete, 1);
    assert_int_equal(g_log.n, 1);
    assert_ptr_equal(g_log.timer[0], g_timer);
    assert_ptr_equal(g_log.context[0], PV(0xC0FFEE));
    assert_int_equal(g_log.irql[0], DISPATCH_LEVEL); /* io 1.31 */
    assert_call_at_tick(0, 3);
    assert_false(g_basic.del);
}

static void entry_absolute(void *ctx)
{
    (void)ctx;
    g_timer = ExAllocateTimer(RecordCallback, NULL, 0);
    if (g_timer == NULL)
        return;
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    LONGLONG boot = now.QuadPart - (LONGLONG)KeQueryInterruptTime();
    (void)ExSetTimer(g_timer, boot + 4500, 0, NULL); /* absolute: boot + 450 us -> tick 5 */
    wait_calls(1);
    (void)ExDeleteTimer(g_timer, TRUE, FALSE, NULL);
}

static void test_absolute_due_time_is_a_system_time(void **state)
{
    (void)state;
    log_reset();
    kdpc_machine *m = ex_machine(2);
    assert_int_equal(kdpc_machine_run(m, entry_absolute, NULL), KDPC_OK);
    kdpc_machine_destroy(m);
    assert_int_equal(g_log.n, 1);
    assert_call_at_tick_slack(0, 5, POLL_SLACK);
}

/* ------------------------------------------------------------------ */
/* Period in 100 ns units (io 1.30)                                    */

static struct {
    BOOLEAN set, cancel, cancel_again, del;
} g_per;

static void entry_periodic(void *ctx)
{
    (void)ctx;
    g_timer = ExAllocateTimer(RecordCallback, PV(7), 0);
    if (g_timer == NULL)
        return;
    KeStallExecutionProcessor(1);
    /* due 1 ms (~1.001 ms -> tick 11), Period 10,000 x 100 ns = 1 ms = 10 ticks */
    g_per.set = ExSetTimer(g_timer, -10000, 10000, NULL);
}

static void entry_periodic_cancel(void *ctx)
{
    (void)ctx;
    g_per.cancel = ExCancelTimer(g_timer, NULL);
    g_per.cancel_again = ExCancelTimer(g_timer, NULL);
    g_per.del = ExDeleteTimer(g_timer, TRUE, FALSE, NULL);
}

static void test_period_is_in_100ns_units(void **state)
{
    (void)state;
    log_reset();
    memset(&g_per, 0xAA, sizeof(g_per));
    kdpc_machine *m = ex_machine(3);
    /* a periodic timer does not keep a run alive: observe 5.45 ms of it */
    assert_int_equal(kdpc_machine_run_for(m, entry_periodic, NULL, 5450000u), KDPC_OK);
    unsigned n = g_log.n;
    assert_int_equal(kdpc_machine_run(m, entry_periodic_cancel, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 3 * MS), KDPC_OK);
    kdpc_machine_destroy(m);

    assert_false(g_per.set);
    /* ticks 11, 21, 31, 41, 51; a Period taken as ms (10 s) would give one call */
    assert_in_range(n, 4, 5);
    assert_call_at_tick(0, 11);
    for (unsigned i = 1; i < n; i++) {
        assert_in_range(g_log.tick[i] - g_log.tick[i - 1], 10, 11); /* io 1.21 */
        assert_int_equal(g_log.irql[i], DISPATCH_LEVEL);
        assert_ptr_equal(g_log.context[i], PV(7));
    }
    assert_true(g_per.cancel); /* io 1.31: it was set (periodic) */
    assert_false(g_per.cancel_again);
    assert_false(g_per.del);
    assert_int_equal(g_log.n, n); /* nothing after the cancel */
}

/* ------------------------------------------------------------------ */
/* Return values of ExSetTimer / ExCancelTimer (io 1.30, 1.31)          */

static struct {
    BOOLEAN set_fresh, set_pending, set_expired, cancel_set, cancel_unset, del;
    unsigned n_after_reset_window, n_after_cancel;
    uint64_t reset_ns;
} g_rv;

static void entry_return_values(void *ctx)
{
    (void)ctx;
    g_timer = ExAllocateTimer(RecordCallback, NULL, 0);
    if (g_timer == NULL)
        return;
    KeStallExecutionProcessor(1);
    g_rv.set_fresh = ExSetTimer(g_timer, -3000, 0, NULL); /* would be tick 4 */
    stall_us(100);
    g_rv.reset_ns = (uint64_t)KeQueryInterruptTime() * 100u;
    g_rv.set_pending = ExSetTimer(g_timer, -5000, 0, NULL); /* ~601 us: tick 7 */
    stall_us(500);                                          /* to ~610 us: past tick 4 */
    g_rv.n_after_reset_window = g_log.n;
    wait_calls(1);
    g_rv.set_expired = ExSetTimer(g_timer, -3000, 0, NULL);
    g_rv.cancel_set = ExCancelTimer(g_timer, NULL);
    g_rv.cancel_unset = ExCancelTimer(g_timer, NULL);
    stall_us(600);
    g_rv.n_after_cancel = g_log.n;
    g_rv.del = ExDeleteTimer(g_timer, TRUE, TRUE, NULL);
}

static void test_set_and_cancel_return_true_iff_the_timer_was_set(void **state)
{
    (void)state;
    log_reset();
    memset(&g_rv, 0xAA, sizeof(g_rv));
    kdpc_machine *m = ex_machine(4);
    assert_int_equal(kdpc_machine_run(m, entry_return_values, NULL), KDPC_OK);
    kdpc_machine_destroy(m);

    assert_false(g_rv.set_fresh);
    assert_true(g_rv.set_pending); /* io 1.30: it cancelled a pending timer */
    assert_in_range(g_rv.reset_ns, 101000u, 200000u - 1u);
    assert_int_equal(g_rv.n_after_reset_window, 0); /* the first expiry never happened */
    assert_int_equal(g_log.n, 1);
    assert_call_at_tick_slack(0, 7, POLL_SLACK);
    assert_false(g_rv.set_expired);
    assert_true(g_rv.cancel_set); /* io 1.31 */
    assert_false(g_rv.cancel_unset);
    assert_int_equal(g_rv.n_after_cancel, 1); /* a cancelled timer calls nothing */
    assert_false(g_rv.del);
}

/* ------------------------------------------------------------------ */
/* Synchronization by default, EX_TIMER_NOTIFICATION (io 1.29, 1.3)     */

static struct {
    PEX_TIMER t;
    NTSTATUS wait, poll1, poll2;
} g_w[2];

static void entry_wait_types(void *ctx)
{
    (void)ctx;
    static const ULONG attrs[2] = {0, EX_TIMER_NOTIFICATION};
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    for (unsigned i = 0; i < 2; i++) {
        g_w[i].t = ExAllocateTimer(NULL, NULL, attrs[i]); /* no callback is allowed */
        if (g_w[i].t == NULL)
            return;
        (void)ExSetTimer(g_w[i].t, -2000, 0, NULL);
        g_w[i].wait = KeWaitForSingleObject(g_w[i].t, Executive, KernelMode, FALSE, NULL);
        g_w[i].poll1 = KeWaitForSingleObject(g_w[i].t, Executive, KernelMode, FALSE, &zero);
        g_w[i].poll2 = KeWaitForSingleObject(g_w[i].t, Executive, KernelMode, FALSE, &zero);
        (void)ExDeleteTimer(g_w[i].t, TRUE, TRUE, NULL);
    }
}

static void test_timer_is_synchronization_unless_ex_timer_notification(void **state)
{
    (void)state;
    memset(g_w, 0, sizeof(g_w));
    kdpc_machine *m = ex_machine(5);
    assert_int_equal(kdpc_machine_run(m, entry_wait_types, NULL), KDPC_OK);
    kdpc_machine_destroy(m);

    assert_non_null(g_w[0].t);
    assert_non_null(g_w[1].t);
    /* default: synchronization - the wait consumed the signal */
    assert_int_equal(g_w[0].wait, STATUS_SUCCESS);
    assert_int_equal(g_w[0].poll1, STATUS_TIMEOUT);
    assert_int_equal(g_w[0].poll2, STATUS_TIMEOUT);
    /* EX_TIMER_NOTIFICATION: stays signaled */
    assert_int_equal(g_w[1].wait, STATUS_SUCCESS);
    assert_int_equal(g_w[1].poll1, STATUS_SUCCESS);
    assert_int_equal(g_w[1].poll2, STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* ExDeleteTimer (io 1.32)                                             */

static void entry_delete_in_callback(void *ctx)
{
    (void)ctx;
    g_timer = ExAllocateTimer(DeletingCallback, PV(3), 0);
    if (g_timer == NULL)
        return;
    KeStallExecutionProcessor(1);
    (void)ExSetTimer(g_timer, -2000, 10000, NULL); /* periodic 1 ms */
}

static void test_delete_disables_the_timer_and_a_second_delete_returns_false(void **state)
{
    (void)state;
    log_reset();
    kdpc_machine *m = ex_machine(6);
    assert_int_equal(kdpc_machine_run_for(m, entry_delete_in_callback, NULL, 5 * MS), KDPC_OK);
    kdpc_machine_destroy(m);

    assert_int_equal(g_log.n, 1); /* cancelled and disabled in its first callback */
    assert_call_at_tick(0, 3);
    assert_ptr_equal(g_log.context[0], PV(3));
    assert_true(g_log.del1);       /* the periodic timer was set: cancelled */
    assert_false(g_log.set_after); /* disabled: no-ops returning FALSE */
    assert_false(g_log.cancel_after);
    assert_false(g_log.del2);
}

static unsigned g_deleted;
static PVOID g_deleted_ctx;
static struct {
    BOOLEAN del;
    unsigned n_at_delete, n_later;
} g_dw;

static void DeleteCallback(PVOID Context)
{
    g_deleted++;
    g_deleted_ctx = Context;
}

static void entry_delete_wait(void *ctx)
{
    (void)ctx;
    EXT_DELETE_PARAMETERS p;
    ExInitializeDeleteTimerParameters(&p);
    p.DeleteCallback = DeleteCallback;
    p.DeleteContext = PV(0xDE1);
    g_timer = ExAllocateTimer(RecordCallback, NULL, 0);
    if (g_timer == NULL)
        return;
    KeStallExecutionProcessor(1);
    (void)ExSetTimer(g_timer, -2000, 10000, NULL);
    wait_calls(2);
    g_dw.n_at_delete = g_log.n;
    g_dw.del = ExDeleteTimer(g_timer, TRUE, TRUE, &p); /* PASSIVE: may wait */
    stall_us(3000);
    g_dw.n_later = g_log.n;
}

static void test_delete_with_cancel_and_wait_stops_a_periodic_timer(void **state)
{
    (void)state;
    log_reset();
    memset(&g_dw, 0xAA, sizeof(g_dw));
    g_deleted = 0;
    g_deleted_ctx = NULL;
    kdpc_machine *m = ex_machine(7);
    KDPC_NAME(m, DeleteCallback);
    assert_int_equal(kdpc_machine_run(m, entry_delete_wait, NULL), KDPC_OK);
    kdpc_machine_destroy(m);

    assert_int_equal(g_dw.n_at_delete, 2);
    assert_true(g_dw.del);                      /* it was set: cancelled */
    assert_int_equal(g_dw.n_later, 2);          /* no callback after the delete */
    assert_int_equal(g_deleted, 1);             /* the delete callback ran once ... */
    assert_ptr_equal(g_deleted_ctx, PV(0xDE1)); /* ... with its context */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callback_runs_at_dispatch_with_its_timer_and_context),
        cmocka_unit_test(test_absolute_due_time_is_a_system_time),
        cmocka_unit_test(test_period_is_in_100ns_units),
        cmocka_unit_test(test_set_and_cancel_return_true_iff_the_timer_was_set),
        cmocka_unit_test(test_timer_is_synchronization_unless_ex_timer_notification),
        cmocka_unit_test(test_delete_disables_the_timer_and_a_second_delete_returns_false),
        cmocka_unit_test(test_delete_with_cancel_and_wait_stops_a_periodic_timer),
    };
    return cmocka_run_group_tests_name("extimer", tests, NULL, NULL);
}
