/* SPDX-License-Identifier: MIT */
/*
 * test_g8_chained_timer_dpc.c - guideline G8 (docs/guidelines.md): a DPC runs at
 * most 100 us per call; longer DISPATCH-level work ends the DPC and chains
 * CustomTimerDpc routines.
 *
 * The same 400 us of DISPATCH-level work (40 x KeStallExecutionProcessor(10))
 * is done twice:
 *  - in one DPC call: one dpc.too_long warning (rule dpc.too_long, G8);
 *  - in four 100 us pieces, each a call of a CustomTimerDpc that does its
 *    piece, re-arms its KTIMER with a short relative due time and returns
 *    (io 1.19: re-arming a one-shot timer from its own DPC): no warning, no
 *    violation at all, and the whole work is done.
 * call_cost_ns is 0 so that a DPC call's virtual time is exactly its stalls:
 * a piece is exactly 100 us, the limit (dpc.too_long is "> 100 us").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define WORK_STEPS  40u /* 40 x 10 us = 400 us of DISPATCH-level work */
#define STEP_US     10u
#define PIECE_STEPS 10u /* 100 us per DPC call */

typedef struct work {
    KTIMER timer;
    KDPC dpc;
    unsigned steps_done;
    unsigned calls;
    unsigned piece_steps; /* steps per DPC call */
    uint64_t call_ns[8];  /* virtual time each call took */
    LONGLONG call_tick[8];
    KIRQL irql[8];
    BOOLEAN rearm_ret[8];
} work;

static work g_work;

static uint64_t now_ns(void)
{
    return (uint64_t)KeQueryInterruptTime() * 100u;
}

/* One DPC call: do up to piece_steps steps; if work remains, re-arm and return. */
static void WorkTimerDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                         PVOID SystemArgument2)
{
    (void)Dpc;
    (void)SystemArgument1;
    (void)SystemArgument2;
    work *w = (work *)DeferredContext;
    unsigned call = w->calls++;
    uint64_t start = now_ns();
    LARGE_INTEGER tick;
    KeQueryTickCount(&tick);
    unsigned i = 0;
    for (; i < w->piece_steps && w->steps_done < WORK_STEPS; i++) {
        KeStallExecutionProcessor(STEP_US); /* G9: each stall well under 100 us */
        w->steps_done++;
    }
    if (call < 8) {
        w->call_ns[call] = now_ns() - start;
        w->call_tick[call] = tick.QuadPart;
        w->irql[call] = KeGetCurrentIrql();
    }
    if (w->steps_done < WORK_STEPS) {
        LARGE_INTEGER due;
        due.QuadPart = -10; /* 1 us: the next clock tick */
        BOOLEAN r = KeSetTimer(&w->timer, due, &w->dpc);
        if (call < 8)
            w->rearm_ret[call] = r;
    }
}

static void entry_work(void *ctx)
{
    work *w = (work *)ctx;
    KeInitializeTimer(&w->timer);
    KeInitializeDpc(&w->dpc, WorkTimerDpc, w);
    LARGE_INTEGER due;
    due.QuadPart = -10;
    (void)KeSetTimer(&w->timer, due, &w->dpc);
}

static kdpc_machine *run_work(unsigned piece_steps, uint64_t seed)
{
    memset(&g_work, 0, sizeof(g_work));
    g_work.piece_steps = piece_steps;
    kdpc_config cfg = kt_config(1, seed);
    cfg.call_cost_ns = 0;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, WorkTimerDpc);
    /* the one-shot timer keeps the run alive until the last piece has run */
    assert_int_equal(kdpc_machine_run(m, entry_work, &g_work), KDPC_OK);
    return m;
}

static void test_400us_of_work_in_one_dpc_call_records_dpc_too_long(void **state)
{
    (void)state;
    kdpc_machine *m = run_work(WORK_STEPS, 1);
    KT_ASSERT_WARNING(m, "dpc.too_long");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "dpc.too_long");
    assert_string_equal(w->routine, "WorkTimerDpc");
    KT_ASSERT_NO_VIOLATION(m, "dpc.stall_too_long");
    assert_int_equal(kdpc_machine_violation_count(m), 1);
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);

    assert_int_equal(g_work.steps_done, WORK_STEPS);
    assert_int_equal(g_work.calls, 1);
    assert_int_equal(g_work.call_ns[0], 400000);
    assert_int_equal(g_work.irql[0], DISPATCH_LEVEL);
}

static void test_same_work_chained_through_a_custom_timer_dpc_in_100us_pieces_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = run_work(PIECE_STEPS, 1);
    KT_ASSERT_NO_VIOLATION(m, "dpc.too_long");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);

    assert_int_equal(g_work.steps_done, WORK_STEPS); /* the same total work */
    assert_int_equal(g_work.calls, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(g_work.call_ns[i], 100000); /* G8: <= 100 us per call */
        assert_int_equal(g_work.irql[i], DISPATCH_LEVEL);
        if (i > 0) /* each piece at a later clock tick: other work can run between */
            assert_true(g_work.call_tick[i] > g_work.call_tick[i - 1]);
    }
    for (unsigned i = 0; i < 3; i++)
        assert_false(g_work.rearm_ret[i]); /* io 1.19: a one-shot is re-armed, FALSE */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_400us_of_work_in_one_dpc_call_records_dpc_too_long),
        cmocka_unit_test(
            test_same_work_chained_through_a_custom_timer_dpc_in_100us_pieces_is_clean),
    };
    return cmocka_run_group_tests_name("g8_chained_timer_dpc", tests, NULL, NULL);
}
