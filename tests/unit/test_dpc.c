/* SPDX-License-Identifier: MIT */
/*
 * test_dpc.c - the DPC object family as documented: KeInitializeDpc,
 * KeInitializeThreadedDpc, KeInsertQueueDpc, KeRemoveQueueDpc,
 * KeSetImportanceDpc, KeSetTargetProcessorDpc(Ex), KeIsExecutingDpc,
 * KeShouldYieldProcessor, KeQueryDpcWatchdogInformation, and the time
 * rules dpc.too_long / dpc.stall_too_long.
 *
 * Numbers in comments are facts of docs/facts/dpc-irql.md; G<n> are
 * the guidelines of docs/guidelines.md. Observations are recorded by the
 * simulated code and asserted after kdpc_machine_run() returns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define PV(x)    ((PVOID)(ULONG_PTR)(x))
#define MAX_LOG  64
#define WAIT_MAX 2000u /* bound of every polling loop (kernel calls) */
#define FN(f)    ((void (*)(void))(f))
#define ID(c)    PV(c) /* a DPC's DeferredContext doubles as its one-letter name */

/* ------------------------------------------------------------------ */
/* What a DPC routine saw, one entry per call.                         */

typedef struct dpc_call {
    PKDPC dpc;
    PVOID context;
    PVOID arg1;
    PVOID arg2;
    KIRQL irql;
    ULONG cpu;
    PVOID dpc_data;
    LOGICAL executing;
    UCHAR type;
    UCHAR importance;
    USHORT number;
} dpc_call;

static dpc_call g_log[MAX_LOG];
static unsigned g_nlog;
static char g_order[MAX_LOG + 1];

static void log_reset(void)
{
    memset(g_log, 0, sizeof(g_log));
    memset(g_order, 0, sizeof(g_order));
    g_nlog = 0;
}

/* Generic recording routine: DeferredContext is a letter naming the DPC. */
static void RecordDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                      PVOID SystemArgument2)
{
    if (g_nlog >= MAX_LOG)
        return;
    dpc_call *r = &g_log[g_nlog];
    r->dpc = Dpc;
    r->context = DeferredContext;
    r->arg1 = SystemArgument1;
    r->arg2 = SystemArgument2;
    r->irql = KeGetCurrentIrql();
    r->cpu = KeGetCurrentProcessorNumber();
    r->dpc_data = Dpc->DpcData;
    r->executing = KeIsExecutingDpc();
    r->type = Dpc->Type;
    r->importance = Dpc->Importance;
    r->number = Dpc->Number;
    g_order[g_nlog] = (char)(ULONG_PTR)DeferredContext;
    g_nlog++;
}

static void run_ok(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx)
{
    kdpc_status st = kdpc_machine_run(m, entry, ctx);
    assert_int_equal(st, KDPC_OK);
}

/* Poll (one kernel call per round) until g_nlog reaches @n; false on timeout. */
static BOOLEAN wait_calls(unsigned n)
{
    for (unsigned i = 0; i < WAIT_MAX && g_nlog < n; i++)
        KeStallExecutionProcessor(1);
    return g_nlog >= n;
}

/* ------------------------------------------------------------------ */
/* KeInitializeDpc / KeInitializeThreadedDpc (4.2, 4.3)                */

static KDPC g_dpc, g_dpc2;
static PVOID g_fill_ptr;
static LIST_ENTRY g_fill_links;

static void entry_initialize(void *ctx)
{
    (void)ctx;
    memset(&g_dpc, 0x55, sizeof(g_dpc));
    KeInitializeDpc(&g_dpc, RecordDpc, PV(0x1234));
    memset(&g_dpc2, 0x55, sizeof(g_dpc2));
    KeInitializeDpc(&g_dpc2, NULL, NULL); /* 4.2: a NULL routine is accepted */
}

static void test_initialize_dpc_sets_documented_fields_and_leaves_links_and_arguments(void **state)
{
    (void)state;
    memset(&g_fill_ptr, 0x55, sizeof(g_fill_ptr));
    memset(&g_fill_links, 0x55, sizeof(g_fill_links));
    kdpc_machine *m = kt_machine(1, 1);
    run_ok(m, entry_initialize, NULL);
    kdpc_machine_destroy(m);

    /* 4.2 */
    assert_int_equal(g_dpc.Type, 19);
    assert_int_equal(g_dpc.Type, DpcObject);
    assert_int_equal(g_dpc.Importance, MediumImportance);
    assert_int_equal(g_dpc.Importance, 1);
    assert_int_equal(g_dpc.Number, 0);
    assert_ptr_equal(FN(g_dpc.DeferredRoutine), FN(RecordDpc));
    assert_ptr_equal(g_dpc.DeferredContext, PV(0x1234));
    assert_null(g_dpc.DpcData);
    /* 4.2: DpcListEntry and SystemArgument1/2 untouched */
    assert_memory_equal(&g_dpc.DpcListEntry, &g_fill_links, sizeof(LIST_ENTRY));
    assert_ptr_equal(g_dpc.SystemArgument1, g_fill_ptr);
    assert_ptr_equal(g_dpc.SystemArgument2, g_fill_ptr);

    assert_int_equal(g_dpc2.Type, DpcObject);
    assert_null(FN(g_dpc2.DeferredRoutine));
    assert_null(g_dpc2.DeferredContext);
    assert_null(g_dpc2.DpcData);
}

static void entry_threaded(void *ctx)
{
    (void)ctx;
    memset(&g_dpc, 0x55, sizeof(g_dpc));
    KeInitializeThreadedDpc(&g_dpc, RecordDpc, ID('T'));
    g_dpc2 = g_dpc; /* snapshot before any insertion */
    (void)KeInsertQueueDpc(&g_dpc, PV(1), PV(2));
}

static void test_initialize_threaded_dpc_sets_type_24(void **state)
{
    (void)state;
    memset(&g_fill_ptr, 0x55, sizeof(g_fill_ptr));
    memset(&g_fill_links, 0x55, sizeof(g_fill_links));
    log_reset();
    kdpc_machine *m = kt_machine(1, 1);
    run_ok(m, entry_threaded, NULL);
    kdpc_machine_destroy(m);

    /* 4.3: identical to KeInitializeDpc except Type */
    assert_int_equal(g_dpc2.Type, 24);
    assert_int_equal(g_dpc2.Type, ThreadedDpcObject);
    assert_int_equal(g_dpc2.Importance, MediumImportance);
    assert_int_equal(g_dpc2.Number, 0);
    assert_ptr_equal(FN(g_dpc2.DeferredRoutine), FN(RecordDpc));
    assert_ptr_equal(g_dpc2.DeferredContext, ID('T'));
    assert_null(g_dpc2.DpcData);
    assert_memory_equal(&g_dpc2.DpcListEntry, &g_fill_links, sizeof(LIST_ENTRY));
    assert_ptr_equal(g_dpc2.SystemArgument1, g_fill_ptr);
    assert_ptr_equal(g_dpc2.SystemArgument2, g_fill_ptr);
    /* ke.h divergence: a threaded DPC runs as an ordinary DPC at DISPATCH_LEVEL (4.23) */
    assert_int_equal(g_nlog, 1);
    assert_int_equal(g_log[0].irql, DISPATCH_LEVEL);
    assert_ptr_equal(g_log[0].arg1, PV(1));
    assert_ptr_equal(g_log[0].arg2, PV(2));
}

/* ------------------------------------------------------------------ */
/* KeInsertQueueDpc: when the routine runs (4.15) and with what (4.7)  */

static struct {
    BOOLEAN ok[8];
    unsigned calls_after[8];
    KIRQL irql_after;
} g_ins;

static void entry_insert_passive(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&g_dpc, RecordDpc, ID('P'));
    g_ins.ok[0] = KeInsertQueueDpc(&g_dpc, PV(0xabc123), PV(0x5678));
    g_ins.calls_after[0] = g_nlog;
    g_ins.irql_after = KeGetCurrentIrql();
}

static void test_insert_at_passive_runs_routine_before_returning(void **state)
{
    (void)state;
    log_reset();
    memset(&g_ins, 0, sizeof(g_ins));
    kdpc_machine *m = kt_machine(1, 3);
    run_ok(m, entry_insert_passive, NULL);
    kdpc_machine_destroy(m);

    assert_true(g_ins.ok[0]);
    assert_int_equal(g_ins.calls_after[0], 1); /* 4.15: already ran */
    assert_int_equal(g_ins.irql_after, PASSIVE_LEVEL);
    assert_int_equal(g_nlog, 1);
    /* 4.19: Routine(Dpc, DeferredContext, SystemArgument1, SystemArgument2) */
    assert_ptr_equal(g_log[0].dpc, &g_dpc);
    assert_ptr_equal(g_log[0].context, ID('P'));
    assert_ptr_equal(g_log[0].arg1, PV(0xabc123));
    assert_ptr_equal(g_log[0].arg2, PV(0x5678));
    assert_int_equal(g_log[0].irql, DISPATCH_LEVEL);
    assert_null(g_dpc.DpcData);
}

static void entry_insert_dispatch(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    KeInitializeDpc(&g_dpc, RecordDpc, ID('D'));
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g_ins.ok[0] = KeInsertQueueDpc(&g_dpc, PV(0xabc123), PV(0x5678));
    g_ins.calls_after[0] = g_nlog;
    KeStallExecutionProcessor(1);
    g_ins.calls_after[1] = g_nlog;
    /* 4.15: raising to HIGH_LEVEL and back to DISPATCH_LEVEL does not run it */
    KeRaiseIrql(HIGH_LEVEL, &old2);
    g_ins.calls_after[2] = g_nlog;
    KeLowerIrql(old2);
    g_ins.calls_after[3] = g_nlog;
    /* 4.7: a second insertion while queued fails and stores nothing */
    g_ins.ok[1] = KeInsertQueueDpc(&g_dpc, PV(0xdef), PV(0x123));
    g_ins.calls_after[4] = g_nlog;
    KeLowerIrql(old);
    g_ins.calls_after[5] = g_nlog; /* 1.9, 4.15: ran during KeLowerIrql */
    g_ins.irql_after = KeGetCurrentIrql();
}

static void test_insert_at_dispatch_runs_only_when_irql_drops_below_dispatch(void **state)
{
    (void)state;
    log_reset();
    memset(&g_ins, 0, sizeof(g_ins));
    kdpc_machine *m = kt_machine(1, 4);
    run_ok(m, entry_insert_dispatch, NULL);
    kdpc_machine_destroy(m);

    assert_true(g_ins.ok[0]);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(g_ins.calls_after[i], 0);
    assert_int_equal(g_ins.calls_after[5], 1);
    assert_int_equal(g_ins.irql_after, PASSIVE_LEVEL);
    assert_int_equal(g_nlog, 1);
    assert_int_equal(g_log[0].irql, DISPATCH_LEVEL);
}

static void test_insert_while_queued_returns_false_and_keeps_first_arguments(void **state)
{
    (void)state;
    log_reset();
    memset(&g_ins, 0, sizeof(g_ins));
    kdpc_machine *m = kt_machine(1, 5);
    run_ok(m, entry_insert_dispatch, NULL);
    kdpc_machine_destroy(m);

    /* 4.7 (KMT values) */
    assert_true(g_ins.ok[0]);
    assert_false(g_ins.ok[1]);
    assert_int_equal(g_nlog, 1);
    assert_ptr_equal(g_log[0].arg1, PV(0xabc123));
    assert_ptr_equal(g_log[0].arg2, PV(0x5678));
    assert_ptr_equal(g_dpc.SystemArgument1, PV(0xabc123));
    assert_ptr_equal(g_dpc.SystemArgument2, PV(0x5678));
}

static void entry_insert_many(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeDpc(&g_dpc, RecordDpc, ID('N'));
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    for (unsigned i = 0; i < 8; i++)
        g_ins.ok[i] = KeInsertQueueDpc(&g_dpc, PV(i + 1), PV(100 + i));
    KeLowerIrql(old);
    g_ins.calls_after[0] = g_nlog;
}

static void test_many_insertions_before_it_runs_run_the_routine_once(void **state)
{
    (void)state;
    log_reset();
    memset(&g_ins, 0, sizeof(g_ins));
    kdpc_machine *m = kt_machine(1, 6);
    run_ok(m, entry_insert_many, NULL);
    kdpc_machine_destroy(m);

    /* 4.18 */
    assert_true(g_ins.ok[0]);
    for (unsigned i = 1; i < 8; i++)
        assert_false(g_ins.ok[i]);
    assert_int_equal(g_ins.calls_after[0], 1);
    assert_int_equal(g_nlog, 1);
    assert_ptr_equal(g_log[0].arg1, PV(1));
    assert_ptr_equal(g_log[0].arg2, PV(100));
}

/* ------------------------------------------------------------------ */
/* Inside the routine (4.19, 4.20, 4.24)                               */

static struct {
    LOGICAL exec_passive;
    LOGICAL exec_dispatch;
    BOOLEAN remove_inside;
    BOOLEAN reinsert_inside;
    PVOID dpc_data_after_reinsert;
    unsigned runs;
    unsigned depth, max_depth;
    unsigned calls_after;
    unsigned reinsert_limit;
} g_in;

static void InsideDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                      PVOID SystemArgument2)
{
    RecordDpc(Dpc, DeferredContext, SystemArgument1, SystemArgument2);
    g_in.depth++;
    if (g_in.depth > g_in.max_depth)
        g_in.max_depth = g_in.depth;
    g_in.runs++;
    if (g_in.runs == 1) {
        g_in.remove_inside = KeRemoveQueueDpc(Dpc);                       /* not queued: FALSE */
        g_in.reinsert_inside = KeInsertQueueDpc(Dpc, PV(0x77), PV(0x88)); /* 4.20: TRUE */
        g_in.dpc_data_after_reinsert = Dpc->DpcData;
    }
    g_in.depth--;
}

static void entry_inside(void *ctx)
{
    (void)ctx;
    KIRQL old;
    g_in.exec_passive = KeIsExecutingDpc();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g_in.exec_dispatch = KeIsExecutingDpc();
    KeLowerIrql(old);
    KeInitializeDpc(&g_dpc, InsideDpc, ID('I'));
    KeSetImportanceDpc(&g_dpc, MediumHighImportance);
    KeSetTargetProcessorDpc(&g_dpc, 0);
    (void)KeInsertQueueDpc(&g_dpc, PV(0x11), PV(0x22));
    g_in.calls_after = g_nlog;
}

static void test_routine_runs_at_dispatch_dequeued_with_executing_dpc_set(void **state)
{
    (void)state;
    log_reset();
    memset(&g_in, 0, sizeof(g_in));
    kdpc_machine *m = kt_machine(1, 7);
    run_ok(m, entry_inside, NULL);
    kdpc_machine_destroy(m);

    assert_int_equal(g_nlog, 2);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(g_log[i].irql, DISPATCH_LEVEL); /* 4.19 */
        assert_null(g_log[i].dpc_data);                  /* 4.19: dequeued before the call */
        assert_int_not_equal(g_log[i].executing, 0);     /* 4.24 */
        assert_int_equal(g_log[i].type, DpcObject);      /* 4.19: unchanged */
        assert_int_equal(g_log[i].importance, MediumHighImportance);
        assert_int_equal(g_log[i].number, MAXIMUM_PROCESSORS + 0);
        assert_int_equal(g_log[i].cpu, 0);
    }
}

static void test_is_executing_dpc_is_zero_outside_a_dpc(void **state)
{
    (void)state;
    log_reset();
    memset(&g_in, 0, sizeof(g_in));
    kdpc_machine *m = kt_machine(1, 8);
    run_ok(m, entry_inside, NULL);
    kdpc_machine_destroy(m);

    /* 4.24: zero at PASSIVE_LEVEL and at DISPATCH_LEVEL outside a DPC */
    assert_int_equal(g_in.exec_passive, 0);
    assert_int_equal(g_in.exec_dispatch, 0);
}

static void test_reinsert_from_routine_returns_true_and_remove_returns_false(void **state)
{
    (void)state;
    log_reset();
    memset(&g_in, 0, sizeof(g_in));
    kdpc_machine *m = kt_machine(1, 9);
    run_ok(m, entry_inside, NULL);
    kdpc_machine_destroy(m);

    /* 4.20 */
    assert_false(g_in.remove_inside);
    assert_true(g_in.reinsert_inside);
    assert_non_null(g_in.dpc_data_after_reinsert); /* 4.1: queued again */
    assert_int_equal(g_in.runs, 2);
    assert_int_equal(g_in.max_depth, 1); /* the second run did not nest in the first */
    /* 8.4: the second run got the re-insertion's arguments */
    assert_ptr_equal(g_log[0].arg1, PV(0x11));
    assert_ptr_equal(g_log[0].arg2, PV(0x22));
    assert_ptr_equal(g_log[1].arg1, PV(0x77));
    assert_ptr_equal(g_log[1].arg2, PV(0x88));
    /* 4.15 + 4.20: both runs happened before KeInsertQueueDpc returned at PASSIVE */
    assert_int_equal(g_in.calls_after, 2);
}

static void SelfRequeueDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                           PVOID SystemArgument2)
{
    RecordDpc(Dpc, DeferredContext, SystemArgument1, SystemArgument2);
    g_in.depth++;
    if (g_in.depth > g_in.max_depth)
        g_in.max_depth = g_in.depth;
    g_in.runs++;
    if (g_in.runs < g_in.reinsert_limit)
        (void)KeInsertQueueDpc(Dpc, PV(g_in.runs + 1), NULL);
    g_in.depth--;
}

static void entry_self_requeue_passive(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&g_dpc, SelfRequeueDpc, ID('S'));
    (void)KeInsertQueueDpc(&g_dpc, PV(1), NULL);
    g_in.calls_after = g_nlog;
}

static void entry_self_requeue_dispatch(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeDpc(&g_dpc, SelfRequeueDpc, ID('S'));
    KeInitializeDpc(&g_dpc2, RecordDpc, ID('B'));
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)KeInsertQueueDpc(&g_dpc, PV(1), NULL);
    (void)KeInsertQueueDpc(&g_dpc2, NULL, NULL);
    KeLowerIrql(old);
    g_in.calls_after = g_nlog;
}

static void test_self_reinserting_dpc_runs_again_in_the_same_drain(void **state)
{
    (void)state;
    /* At PASSIVE_LEVEL: all three runs before KeInsertQueueDpc returns (4.15, 4.20). */
    log_reset();
    memset(&g_in, 0, sizeof(g_in));
    g_in.reinsert_limit = 3;
    kdpc_machine *m = kt_machine(1, 10);
    run_ok(m, entry_self_requeue_passive, NULL);
    kdpc_machine_destroy(m);
    assert_int_equal(g_in.runs, 3);
    assert_int_equal(g_in.calls_after, 3);
    assert_int_equal(g_in.max_depth, 1);
    for (unsigned i = 0; i < 3; i++)
        assert_ptr_equal(g_log[i].arg1, PV(i + 1));

    /* At DISPATCH_LEVEL with B queued behind: S, B, S, S all during KeLowerIrql; the re-queued
     * DPC runs after the DPCs ahead of it (4.9 tail, 4.20, 8.4). */
    log_reset();
    memset(&g_in, 0, sizeof(g_in));
    g_in.reinsert_limit = 3;
    m = kt_machine(1, 11);
    run_ok(m, entry_self_requeue_dispatch, NULL);
    kdpc_machine_destroy(m);
    assert_int_equal(g_in.runs, 3);
    assert_int_equal(g_in.calls_after, 4);
    assert_string_equal(g_order, "SBSS");
}

/* ------------------------------------------------------------------ */
/* KeRemoveQueueDpc (4.17)                                             */

static struct {
    BOOLEAN before_insert;
    BOOLEAN insert_dispatch, remove_dispatch, remove_again;
    PVOID data_after_remove;
    unsigned calls_after_lower;
    BOOLEAN insert_high, remove_high;
    unsigned calls_after_high;
    BOOLEAN reinsert;
    unsigned calls_after_reinsert;
} g_rm;

static void entry_remove(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeDpc(&g_dpc, RecordDpc, ID('R'));
    g_rm.before_insert = KeRemoveQueueDpc(&g_dpc);

    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g_rm.insert_dispatch = KeInsertQueueDpc(&g_dpc, NULL, NULL);
    g_rm.remove_dispatch = KeRemoveQueueDpc(&g_dpc);
    g_rm.data_after_remove = g_dpc.DpcData;
    g_rm.remove_again = KeRemoveQueueDpc(&g_dpc);
    KeLowerIrql(old);
    g_rm.calls_after_lower = g_nlog;

    KeRaiseIrql(HIGH_LEVEL, &old);
    g_rm.insert_high = KeInsertQueueDpc(&g_dpc, NULL, NULL);
    g_rm.remove_high = KeRemoveQueueDpc(&g_dpc);
    KeLowerIrql(old);
    g_rm.calls_after_high = g_nlog;

    g_rm.reinsert = KeInsertQueueDpc(&g_dpc, PV(5), PV(6));
    g_rm.calls_after_reinsert = g_nlog;
}

static void test_remove_before_insert_returns_false(void **state)
{
    (void)state;
    log_reset();
    memset(&g_rm, 0, sizeof(g_rm));
    kdpc_machine *m = kt_machine(1, 12);
    run_ok(m, entry_remove, NULL);
    kdpc_machine_destroy(m);
    assert_false(g_rm.before_insert); /* 4.17 */
}

static void test_remove_after_insert_at_dispatch_returns_true_and_routine_never_runs(void **state)
{
    (void)state;
    log_reset();
    memset(&g_rm, 0, sizeof(g_rm));
    kdpc_machine *m = kt_machine(1, 13);
    run_ok(m, entry_remove, NULL);
    kdpc_machine_destroy(m);

    /* 4.17 */
    assert_true(g_rm.insert_dispatch);
    assert_true(g_rm.remove_dispatch);
    assert_null(g_rm.data_after_remove); /* 4.1 */
    assert_false(g_rm.remove_again);
    assert_int_equal(g_rm.calls_after_lower, 0);
    /* a removed DPC can be queued again and then runs with the new arguments */
    assert_true(g_rm.reinsert);
    assert_int_equal(g_rm.calls_after_reinsert, 1);
    assert_int_equal(g_nlog, 1);
    assert_ptr_equal(g_log[0].arg1, PV(5));
    assert_ptr_equal(g_log[0].arg2, PV(6));
}

static void test_insert_and_remove_at_high_level_both_return_true(void **state)
{
    (void)state;
    log_reset();
    memset(&g_rm, 0, sizeof(g_rm));
    kdpc_machine *m = kt_machine(1, 14);
    run_ok(m, entry_remove, NULL);
    kdpc_machine_destroy(m);

    /* 4.7, 4.17: any IRQL, HIGH_LEVEL included */
    assert_true(g_rm.insert_high);
    assert_true(g_rm.remove_high);
    assert_int_equal(g_rm.calls_after_high, 0);
}

/* ------------------------------------------------------------------ */
/* Queue position by importance (4.9), later insertions only (4.5)     */

typedef struct order_case {
    const char *names;      /* one letter per DPC, inserted in this order */
    KDPC_IMPORTANCE imp[4]; /* importance of each */
} order_case;

static KDPC g_odpc[4];
static const order_case *g_case;

static void entry_order(void *ctx)
{
    (void)ctx;
    KIRQL old;
    size_t n = strlen(g_case->names);
    for (size_t i = 0; i < n; i++) {
        KeInitializeDpc(&g_odpc[i], RecordDpc, ID(g_case->names[i]));
        KeSetImportanceDpc(&g_odpc[i], g_case->imp[i]);
    }
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    for (size_t i = 0; i < n; i++)
        (void)KeInsertQueueDpc(&g_odpc[i], NULL, NULL);
    KeLowerIrql(old);
}

static void run_order(const order_case *oc, uint64_t seed)
{
    log_reset();
    g_case = oc;
    kdpc_machine *m = kt_machine(1, seed);
    run_ok(m, entry_order, NULL);
    kdpc_machine_destroy(m);
}

static void test_medium_dpcs_run_in_fifo_order(void **state)
{
    (void)state;
    static const order_case oc = {"ABC", {MediumImportance, MediumImportance, MediumImportance}};
    run_order(&oc, 15);
    assert_string_equal(g_order, "ABC"); /* 4.9 */
}

static void test_high_dpcs_go_to_the_head_in_lifo_order(void **state)
{
    (void)state;
    /* M1 = 'M', H1 = 'H', H2 = 'I' */
    static const order_case oc = {"MHI", {MediumImportance, HighImportance, HighImportance}};
    run_order(&oc, 16);
    assert_string_equal(g_order, "IHM"); /* 4.9: H2, H1, M1 */
}

static void test_low_and_medium_high_dpcs_go_to_the_tail(void **state)
{
    (void)state;
    /* M, L (Low), X (MediumHigh), H (High) */
    static const order_case oc = {
        "MLXH", {MediumImportance, LowImportance, MediumHighImportance, HighImportance}};
    run_order(&oc, 17);
    assert_string_equal(g_order, "HMLX"); /* 4.9 */

    static const order_case oc2 = {"XLM", {MediumHighImportance, LowImportance, MediumImportance}};
    run_order(&oc2, 18);
    assert_string_equal(g_order, "XLM"); /* 4.9: all three at the tail */
}

static struct {
    UCHAR importance_while_queued;
    unsigned calls_mid;
} g_imp;

static void entry_importance_later(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeDpc(&g_dpc, RecordDpc, ID('A'));
    KeInitializeDpc(&g_dpc2, RecordDpc, ID('B'));
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
    (void)KeInsertQueueDpc(&g_dpc2, NULL, NULL);
    KeSetImportanceDpc(&g_dpc2, HighImportance); /* 4.5: no effect on this queueing */
    g_imp.importance_while_queued = g_dpc2.Importance;
    KeLowerIrql(old);
    g_imp.calls_mid = g_nlog;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
    (void)KeInsertQueueDpc(&g_dpc2, NULL, NULL); /* now High: to the head */
    KeLowerIrql(old);
}

static void test_set_importance_affects_only_later_insertions(void **state)
{
    (void)state;
    log_reset();
    memset(&g_imp, 0, sizeof(g_imp));
    kdpc_machine *m = kt_machine(1, 19);
    run_ok(m, entry_importance_later, NULL);
    kdpc_machine_destroy(m);

    assert_int_equal(g_imp.importance_while_queued, HighImportance);
    assert_int_equal(g_imp.calls_mid, 2);
    assert_string_equal(g_order, "ABBA"); /* 4.5, 4.9 */
}

/* ------------------------------------------------------------------ */
/* Target processor (4.5, 4.6, 4.8)                                    */

static struct {
    unsigned calls_mid;
    BOOLEAN waited;
    USHORT number[8];
    NTSTATUS st[8];
    ULONG entry_cpu;
    unsigned calls_after;
} g_tgt;

static void entry_target_later(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeInitializeDpc(&g_dpc, RecordDpc, ID('T'));
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)KeInsertQueueDpc(&g_dpc, PV(1), NULL); /* untargeted: this CPU's queue (4.8) */
    KeSetTargetProcessorDpc(&g_dpc, 1);          /* 4.5: not for this queueing */
    KeLowerIrql(old);
    g_tgt.calls_mid = g_nlog;
    (void)KeInsertQueueDpc(&g_dpc, PV(2), NULL); /* now for CPU 1 */
    g_tgt.waited = wait_calls(2);
}

static void test_set_target_processor_affects_only_later_insertions(void **state)
{
    (void)state;
    log_reset();
    memset(&g_tgt, 0, sizeof(g_tgt));
    kdpc_machine *m = kt_machine(2, 20);
    run_ok(m, entry_target_later, NULL);
    kdpc_machine_destroy(m);

    assert_int_equal(g_tgt.calls_mid, 1);
    assert_true(g_tgt.waited);
    assert_int_equal(g_nlog, 2);
    assert_ptr_equal(g_log[0].arg1, PV(1));
    assert_int_equal(g_log[0].cpu, 0);
    assert_ptr_equal(g_log[1].arg1, PV(2));
    assert_int_equal(g_log[1].cpu, 1);
}

static void entry_target_invalid(void *ctx)
{
    (void)ctx;
    /* g_dpc: untargeted, invalid numbers keep it untargeted */
    KeInitializeDpc(&g_dpc, RecordDpc, ID('U'));
    KeSetTargetProcessorDpc(&g_dpc, 2);
    g_tgt.number[0] = g_dpc.Number;
    KeSetTargetProcessorDpc(&g_dpc, (CCHAR)-1);
    g_tgt.number[1] = g_dpc.Number;
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL); /* runs here, on CPU 0 */
    g_tgt.calls_after = g_nlog;

    /* g_dpc2: targeted at CPU 1, invalid numbers leave CPU 1 */
    KeInitializeDpc(&g_dpc2, RecordDpc, ID('V'));
    KeSetTargetProcessorDpc(&g_dpc2, 1);
    g_tgt.number[2] = g_dpc2.Number;
    KeSetTargetProcessorDpc(&g_dpc2, 2);
    g_tgt.number[3] = g_dpc2.Number;
    KeSetTargetProcessorDpc(&g_dpc2, 64);
    g_tgt.number[4] = g_dpc2.Number;
    (void)KeInsertQueueDpc(&g_dpc2, NULL, NULL);
    g_tgt.waited = wait_calls(2);
}

static void test_set_target_processor_with_invalid_number_leaves_target_unchanged(void **state)
{
    (void)state;
    log_reset();
    memset(&g_tgt, 0, sizeof(g_tgt));
    kdpc_machine *m = kt_machine(2, 21);
    run_ok(m, entry_target_invalid, NULL);
    kdpc_machine_destroy(m);

    /* 4.6; Number encoding as documented in ke.h (0 untargeted, 64 + n) */
    assert_int_equal(g_tgt.number[0], 0);
    assert_int_equal(g_tgt.number[1], 0);
    assert_int_equal(g_tgt.calls_after, 1);
    assert_int_equal(g_log[0].cpu, 0);
    assert_int_equal(g_tgt.number[2], MAXIMUM_PROCESSORS + 1);
    assert_int_equal(g_tgt.number[3], MAXIMUM_PROCESSORS + 1);
    assert_int_equal(g_tgt.number[4], MAXIMUM_PROCESSORS + 1);
    assert_true(g_tgt.waited);
    assert_int_equal(g_nlog, 2);
    assert_int_equal(g_log[1].cpu, 1);
}

static void entry_target_ex(void *ctx)
{
    (void)ctx;
    PROCESSOR_NUMBER pn;
    KeInitializeDpc(&g_dpc, RecordDpc, ID('E'));
    memset(&pn, 0, sizeof(pn));
    pn.Group = 0;
    pn.Number = 1;
    g_tgt.st[0] = KeSetTargetProcessorDpcEx(&g_dpc, &pn);
    g_tgt.number[0] = g_dpc.Number;
    pn.Number = 2; /* == number of CPUs */
    g_tgt.st[1] = KeSetTargetProcessorDpcEx(&g_dpc, &pn);
    g_tgt.number[1] = g_dpc.Number;
    pn.Number = 200;
    g_tgt.st[2] = KeSetTargetProcessorDpcEx(&g_dpc, &pn);
    g_tgt.number[2] = g_dpc.Number;
    pn.Group = 1;
    pn.Number = 0;
    g_tgt.st[3] = KeSetTargetProcessorDpcEx(&g_dpc, &pn);
    g_tgt.number[3] = g_dpc.Number;
    pn.Group = 0;
    pn.Number = 0;
    g_tgt.st[4] = KeSetTargetProcessorDpcEx(&g_dpc, &pn);
    g_tgt.number[4] = g_dpc.Number;
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL); /* CPU 0: runs before returning */
    pn.Number = 1;
    g_tgt.st[5] = KeSetTargetProcessorDpcEx(&g_dpc, &pn);
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
    g_tgt.waited = wait_calls(2);
}

static void test_set_target_processor_ex_rejects_bad_number_or_group(void **state)
{
    (void)state;
    log_reset();
    memset(&g_tgt, 0, sizeof(g_tgt));
    kdpc_machine *m = kt_machine(2, 22);
    run_ok(m, entry_target_ex, NULL);
    kdpc_machine_destroy(m);

    /* 4.6 */
    assert_int_equal(g_tgt.st[0], STATUS_SUCCESS);
    assert_int_equal(g_tgt.number[0], MAXIMUM_PROCESSORS + 1);
    assert_int_equal(g_tgt.st[1], STATUS_INVALID_PARAMETER);
    assert_int_equal(g_tgt.number[1], MAXIMUM_PROCESSORS + 1);
    assert_int_equal(g_tgt.st[2], STATUS_INVALID_PARAMETER);
    assert_int_equal(g_tgt.number[2], MAXIMUM_PROCESSORS + 1);
    assert_int_equal(g_tgt.st[3], STATUS_INVALID_PARAMETER);
    assert_int_equal(g_tgt.number[3], MAXIMUM_PROCESSORS + 1);
    assert_int_equal(g_tgt.st[4], STATUS_SUCCESS);
    assert_int_equal(g_tgt.number[4], MAXIMUM_PROCESSORS + 0);
    assert_int_equal(g_tgt.st[5], STATUS_SUCCESS);
    assert_true(g_tgt.waited);
    assert_int_equal(g_log[0].cpu, 0);
    assert_int_equal(g_log[1].cpu, 1);
}

static KDPC g_tdpc[4];
static unsigned g_ncpus;

static void entry_targeted_each_cpu(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < g_ncpus; i++) {
        KeInitializeDpc(&g_tdpc[i], RecordDpc, ID('0' + i));
        KeSetTargetProcessorDpc(&g_tdpc[i], (CCHAR)i);
    }
    for (unsigned i = 0; i < g_ncpus; i++)
        (void)KeInsertQueueDpc(&g_tdpc[i], PV(i), NULL);
    g_tgt.waited = wait_calls(g_ncpus);
}

static void check_targeted_each_cpu(unsigned cpus, uint64_t seed)
{
    log_reset();
    memset(&g_tgt, 0, sizeof(g_tgt));
    g_ncpus = cpus;
    kdpc_machine *m = kt_machine(cpus, seed);
    run_ok(m, entry_targeted_each_cpu, NULL);
    kdpc_machine_destroy(m);

    assert_true(g_tgt.waited);
    assert_int_equal(g_nlog, cpus);
    for (unsigned i = 0; i < g_nlog; i++) {
        ULONG want = (ULONG)(ULONG_PTR)g_log[i].arg1;
        assert_int_equal(g_log[i].cpu, want); /* 4.8: runs on its target */
        assert_int_equal(g_log[i].irql, DISPATCH_LEVEL);
    }
}

static void test_targeted_dpc_runs_on_its_cpu_on_two_and_four_cpus(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        check_targeted_each_cpu(2, seed);
        check_targeted_each_cpu(4, seed);
    }
}

static void entry_untargeted_other_cpu(void *ctx)
{
    (void)ctx;
    KAFFINITY want = (KAFFINITY)1 << (g_ncpus - 1);
    (void)KeSetSystemAffinityThreadEx(want);
    g_tgt.entry_cpu = KeGetCurrentProcessorNumber();
    KeInitializeDpc(&g_dpc, RecordDpc, ID('U'));
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
    g_tgt.calls_after = g_nlog;
}

static void test_untargeted_dpc_runs_on_the_inserting_cpu(void **state)
{
    (void)state;
    for (unsigned cpus = 2; cpus <= 4; cpus += 2) {
        log_reset();
        memset(&g_tgt, 0, sizeof(g_tgt));
        g_ncpus = cpus;
        kdpc_machine *m = kt_machine(cpus, 23);
        run_ok(m, entry_untargeted_other_cpu, NULL);
        kdpc_machine_destroy(m);

        assert_int_equal(g_tgt.entry_cpu, cpus - 1);
        assert_int_equal(g_tgt.calls_after, 1);   /* 4.15 at PASSIVE on its own CPU */
        assert_int_equal(g_log[0].cpu, cpus - 1); /* 4.8 */
    }
}

/* ------------------------------------------------------------------ */
/* Low importance on the current CPU (4.10, 4.14; dpc.c DESIGN)        */

static void entry_low_current(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&g_dpc, RecordDpc, ID('L'));
    KeSetImportanceDpc(&g_dpc, LowImportance);
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
    g_tgt.calls_after = g_nlog;
}

static void test_low_importance_dpc_on_current_cpu_drains_at_once_on_a_quiet_machine(void **state)
{
    (void)state;
    log_reset();
    memset(&g_tgt, 0, sizeof(g_tgt));
    kdpc_machine *m = kt_machine(1, 24);
    run_ok(m, entry_low_current, NULL);
    kdpc_machine_destroy(m);

    /* 4.10: request rate below the minimum -> immediate drain; 4.14 */
    assert_int_equal(g_tgt.calls_after, 1);
    assert_int_equal(g_log[0].importance, LowImportance);
}

/* ------------------------------------------------------------------ */
/* KeShouldYieldProcessor (6.10)                                       */

static struct {
    LOGICAL passive, passive_late;
    LOGICAL in_dpc[3];
} g_yield;

static void YieldDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    g_yield.in_dpc[0] = KeShouldYieldProcessor();
    KeStallExecutionProcessor(10);
    g_yield.in_dpc[1] = KeShouldYieldProcessor();
    KeStallExecutionProcessor(15);
    g_yield.in_dpc[2] = KeShouldYieldProcessor();
}

static void entry_yield(void *ctx)
{
    (void)ctx;
    g_yield.passive = KeShouldYieldProcessor();
    for (unsigned i = 0; i < 3; i++)
        KeStallExecutionProcessor(40);
    g_yield.passive_late = KeShouldYieldProcessor();
    KeInitializeDpc(&g_dpc, YieldDpc, NULL);
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
}

static void test_should_yield_processor_after_threshold_inside_dpc_only(void **state)
{
    (void)state;
    memset(&g_yield, 0, sizeof(g_yield));
    kdpc_config cfg = kt_config(1, 25);
    cfg.yield_threshold_ns = 20000; /* 20 us */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    run_ok(m, entry_yield, NULL);
    kdpc_machine_destroy(m);

    /* 6.10 (kdpc: configurable threshold on time at >= DISPATCH_LEVEL) */
    assert_int_equal(g_yield.passive, 0);
    assert_int_equal(g_yield.passive_late, 0); /* 120 us at PASSIVE_LEVEL do not count */
    assert_int_equal(g_yield.in_dpc[0], 0);
    assert_int_equal(g_yield.in_dpc[1], 0);     /* ~10 us < 20 us */
    assert_int_not_equal(g_yield.in_dpc[2], 0); /* ~25 us > 20 us */
}

/* ------------------------------------------------------------------ */
/* KeQueryDpcWatchdogInformation (6.9)                                 */

#define WD_TICK_NS 10000u /* 10 us clock tick */

static struct {
    NTSTATUS passive_st;
    NTSTATUS dispatch_st;
    NTSTATUS dpc_st[2];
    KDPC_WATCHDOG_INFORMATION info[2];
} g_wd;

static void WatchdogDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                        PVOID SystemArgument2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    g_wd.dpc_st[0] = KeQueryDpcWatchdogInformation(&g_wd.info[0]);
    KeStallExecutionProcessor(50);
    g_wd.dpc_st[1] = KeQueryDpcWatchdogInformation(&g_wd.info[1]);
}

static void entry_watchdog(void *ctx)
{
    (void)ctx;
    KDPC_WATCHDOG_INFORMATION info;
    KIRQL old;
    g_wd.passive_st = KeQueryDpcWatchdogInformation(&info);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g_wd.dispatch_st = KeQueryDpcWatchdogInformation(&info);
    KeLowerIrql(old);
    KeInitializeDpc(&g_dpc, WatchdogDpc, NULL);
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
}

static void test_query_dpc_watchdog_information_in_and_outside_a_dpc(void **state)
{
    (void)state;
    memset(&g_wd, 0, sizeof(g_wd));
    kdpc_config cfg = kt_config(1, 26);
    cfg.clock_tick_ns = WD_TICK_NS;
    cfg.watchdog_single_ns = 20u * WD_TICK_NS;      /* 200 us = 20 ticks */
    cfg.watchdog_cumulative_ns = 100u * WD_TICK_NS; /* 1 ms = 100 ticks */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    run_ok(m, entry_watchdog, NULL);
    KT_ASSERT_NO_VIOLATION(m, "dpc.watchdog");
    kdpc_machine_destroy(m);

    /* 6.9 */
    assert_int_equal(g_wd.passive_st, STATUS_UNSUCCESSFUL);
    /* ke.h: success also at >= DISPATCH_LEVEL outside a DPC (the page's remarks, 6.9 CONFLICT) */
    assert_int_equal(g_wd.dispatch_st, STATUS_SUCCESS);
    assert_int_equal(g_wd.dpc_st[0], STATUS_SUCCESS);
    assert_int_equal(g_wd.dpc_st[1], STATUS_SUCCESS);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(g_wd.info[i].DpcTimeLimit, 20);
        assert_int_equal(g_wd.info[i].DpcWatchdogLimit, 100);
        assert_true(g_wd.info[i].DpcTimeCount <= 20);
        assert_true(g_wd.info[i].DpcWatchdogCount <= 100);
    }
    assert_true(g_wd.info[0].DpcTimeCount >= 19); /* fresh DPC: (almost) all of it left */
    /* 50 us = 5 ticks later: the remaining counts went down by about 5 ticks */
    assert_true(g_wd.info[1].DpcTimeCount < g_wd.info[0].DpcTimeCount);
    assert_true(g_wd.info[1].DpcTimeCount <= g_wd.info[0].DpcTimeCount - 5u + 1u);
    assert_true(g_wd.info[1].DpcTimeCount >= g_wd.info[0].DpcTimeCount - 6u);
    assert_true(g_wd.info[1].DpcWatchdogCount < g_wd.info[0].DpcWatchdogCount);
}

/* ------------------------------------------------------------------ */
/* dpc.too_long (G8, 6.1) and dpc.stall_too_long (G9, 6.4)             */

static unsigned g_stall_pieces, g_stall_piece_us, g_dpc_stall_us;

static void LongDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    for (unsigned i = 0; i < g_stall_pieces; i++)
        KeStallExecutionProcessor(g_stall_piece_us);
    g_nlog++;
}

static void entry_long(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&g_dpc, LongDpc, NULL);
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
    g_tgt.calls_after = g_nlog;
}

static kdpc_machine *run_long_dpc(unsigned pieces, unsigned piece_us, uint64_t seed)
{
    log_reset();
    memset(&g_tgt, 0, sizeof(g_tgt));
    g_stall_pieces = pieces;
    g_stall_piece_us = piece_us;
    kdpc_machine *m = kt_machine(1, seed);
    KDPC_NAME(m, LongDpc);
    run_ok(m, entry_long, NULL);
    return m;
}

static void test_dpc_running_150us_records_too_long_warning_and_run_continues(void **state)
{
    (void)state;
    kdpc_machine *m = run_long_dpc(3, 50, 27);
    KT_ASSERT_WARNING(m, "dpc.too_long");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "dpc.too_long");
    assert_string_equal(w->routine, "LongDpc");
    assert_int_equal(w->cpu, 0);
    assert_null(kdpc_machine_bugcheck(m));
    /* each piece is within the in-DPC stall limit (G9) */
    KT_ASSERT_NO_VIOLATION(m, "dpc.stall_too_long");
    kdpc_machine_destroy(m);
    assert_int_equal(g_tgt.calls_after, 1); /* the run went on after the warning */
}

static void test_dpc_running_90us_records_no_too_long_warning(void **state)
{
    (void)state;
    kdpc_machine *m = run_long_dpc(3, 30, 28);
    KT_ASSERT_NO_VIOLATION(m, "dpc.too_long");
    KT_ASSERT_NO_VIOLATION(m, "dpc.stall_too_long");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
    assert_int_equal(g_tgt.calls_after, 1);
}

static void StallDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    KeStallExecutionProcessor(g_dpc_stall_us);
}

static unsigned g_thread_stall_us;

static void entry_stall(void *ctx)
{
    (void)ctx;
    if (g_thread_stall_us != 0)
        KeStallExecutionProcessor(g_thread_stall_us);
    if (g_dpc_stall_us != 0) {
        KeInitializeDpc(&g_dpc, StallDpc, NULL);
        (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
    }
}

static kdpc_machine *run_stall(unsigned thread_us, unsigned dpc_us, uint64_t seed)
{
    g_thread_stall_us = thread_us;
    g_dpc_stall_us = dpc_us;
    kdpc_machine *m = kt_machine(1, seed);
    run_ok(m, entry_stall, NULL);
    return m;
}

static void test_stall_over_100us_inside_a_dpc_warns(void **state)
{
    (void)state;
    kdpc_machine *m = run_stall(0, 120, 29);
    KT_ASSERT_WARNING(m, "dpc.stall_too_long"); /* G9 */
    kdpc_machine_destroy(m);

    m = run_stall(0, 100, 30); /* "> 100 us": 100 is allowed */
    KT_ASSERT_NO_VIOLATION(m, "dpc.stall_too_long");
    kdpc_machine_destroy(m);

    m = run_stall(0, 60, 31); /* 60 us is fine inside a DPC (limit 100) */
    KT_ASSERT_NO_VIOLATION(m, "dpc.stall_too_long");
    kdpc_machine_destroy(m);
}

static void test_stall_over_50us_outside_a_dpc_warns(void **state)
{
    (void)state;
    kdpc_machine *m = run_stall(60, 0, 32);
    KT_ASSERT_WARNING(m, "dpc.stall_too_long"); /* 6.4: "typically < 50 us" */
    kdpc_machine_destroy(m);

    m = run_stall(40, 0, 33);
    KT_ASSERT_NO_VIOLATION(m, "dpc.stall_too_long");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize_dpc_sets_documented_fields_and_leaves_links_and_arguments),
        cmocka_unit_test(test_initialize_threaded_dpc_sets_type_24),
        cmocka_unit_test(test_insert_at_passive_runs_routine_before_returning),
        cmocka_unit_test(test_insert_at_dispatch_runs_only_when_irql_drops_below_dispatch),
        cmocka_unit_test(test_insert_while_queued_returns_false_and_keeps_first_arguments),
        cmocka_unit_test(test_many_insertions_before_it_runs_run_the_routine_once),
        cmocka_unit_test(test_routine_runs_at_dispatch_dequeued_with_executing_dpc_set),
        cmocka_unit_test(test_is_executing_dpc_is_zero_outside_a_dpc),
        cmocka_unit_test(test_reinsert_from_routine_returns_true_and_remove_returns_false),
        cmocka_unit_test(test_self_reinserting_dpc_runs_again_in_the_same_drain),
        cmocka_unit_test(test_remove_before_insert_returns_false),
        cmocka_unit_test(test_remove_after_insert_at_dispatch_returns_true_and_routine_never_runs),
        cmocka_unit_test(test_insert_and_remove_at_high_level_both_return_true),
        cmocka_unit_test(test_medium_dpcs_run_in_fifo_order),
        cmocka_unit_test(test_high_dpcs_go_to_the_head_in_lifo_order),
        cmocka_unit_test(test_low_and_medium_high_dpcs_go_to_the_tail),
        cmocka_unit_test(test_set_importance_affects_only_later_insertions),
        cmocka_unit_test(test_set_target_processor_affects_only_later_insertions),
        cmocka_unit_test(test_set_target_processor_with_invalid_number_leaves_target_unchanged),
        cmocka_unit_test(test_set_target_processor_ex_rejects_bad_number_or_group),
        cmocka_unit_test(test_targeted_dpc_runs_on_its_cpu_on_two_and_four_cpus),
        cmocka_unit_test(test_untargeted_dpc_runs_on_the_inserting_cpu),
        cmocka_unit_test(test_low_importance_dpc_on_current_cpu_drains_at_once_on_a_quiet_machine),
        cmocka_unit_test(test_should_yield_processor_after_threshold_inside_dpc_only),
        cmocka_unit_test(test_query_dpc_watchdog_information_in_and_outside_a_dpc),
        cmocka_unit_test(test_dpc_running_150us_records_too_long_warning_and_run_continues),
        cmocka_unit_test(test_dpc_running_90us_records_no_too_long_warning),
        cmocka_unit_test(test_stall_over_100us_inside_a_dpc_warns),
        cmocka_unit_test(test_stall_over_50us_outside_a_dpc_warns),
    };
    return cmocka_run_group_tests_name("dpc", tests, NULL, NULL);
}
