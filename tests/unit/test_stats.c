/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c - kdpc/stats.h: per-routine ISR and DPC call counts, total
 * and longest times (virtual), where the longest ended, names, order,
 * reset, and bad arguments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#include <string.h>

#define LINE 9

static KDPC FastDpc, SlowDpc;
static PKINTERRUPT Interrupt;
static volatile LONG Pending;
static uint64_t SecondFrom, SecondTo; /* virtual time around the 40 us call */

static void StatsFastDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
}

/* Stalls as long as its argument says: the longest call is known. */
static void StatsSlowDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a2;
    KeStallExecutionProcessor((ULONG)(ULONG_PTR)a1);
}

static BOOLEAN StatsIsr(PKINTERRUPT i, PVOID c)
{
    (void)i, (void)c;
    if (InterlockedExchange(&Pending, 0) == 0)
        return FALSE;
    KeStallExecutionProcessor(3);
    KeInsertQueueDpc(&FastDpc, NULL, NULL);
    return TRUE;
}

static void body(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&FastDpc, StatsFastDpc, NULL);
    KeInitializeDpc(&SlowDpc, StatsSlowDpc, NULL);
    assert_int_equal(
        IoConnectInterrupt(&Interrupt, StatsIsr, NULL, NULL, LINE, 5, 5, Latched, FALSE, 1, FALSE),
        STATUS_SUCCESS);
    for (int i = 0; i < 3; i++) {
        InterlockedExchange(&Pending, 1);
        kdpc_line_assert(kdpc_current_machine(), LINE);
        LARGE_INTEGER t = {.QuadPart = -10000}; /* 1 ms */
        KeDelayExecutionThread(KernelMode, FALSE, &t);
    }
    static const ULONG stalls[] = {5, 40, 10};
    for (int i = 0; i < 3; i++) {
        if (i == 1)
            SecondFrom = kdpc_machine_time_ns(kdpc_current_machine());
        KeInsertQueueDpc(&SlowDpc, (PVOID)(ULONG_PTR)stalls[i], NULL);
        LARGE_INTEGER t = {.QuadPart = -10000};
        KeDelayExecutionThread(KernelMode, FALSE, &t);
        if (i == 1)
            SecondTo = kdpc_machine_time_ns(kdpc_current_machine());
    }
    IoDisconnectInterrupt(Interrupt);
}

/* Without libdw a static routine has no name from the symbol table: name it. */
static void name_routines(kdpc_machine *m)
{
#ifndef KDPC_TEST_HAVE_LIBDW
    KDPC_NAME(m, StatsIsr);
    KDPC_NAME(m, StatsFastDpc);
#endif
    KDPC_NAME(m, StatsSlowDpc);
}

static const kdpc_routine_stats *find(kdpc_machine *m, const char *name, kdpc_routine_stats *out)
{
    for (size_t i = 0; i < kdpc_stats_routine_count(m); i++) {
        assert_int_equal(kdpc_stats_routine(m, i, out), KDPC_OK);
        if (strcmp(out->name, name) == 0)
            return out;
    }
    return NULL;
}

static void test_counts_and_longest_per_routine(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_stats_routine_count(m), 0);
    name_routines(m);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    assert_int_equal(kdpc_stats_routine_count(m), 3);

    kdpc_routine_stats s;
    assert_non_null(find(m, "StatsIsr", &s)); /* from the symbol table (libdw) */
    assert_int_equal(s.kind, KDPC_ROUTINE_ISR);
    assert_int_equal(s.calls, 3);
    assert_true(s.longest_ns >= 3000);
    assert_true(s.total_ns >= 3 * 3000 && s.total_ns <= 3 * s.longest_ns);

    assert_non_null(find(m, "StatsFastDpc", &s));
    assert_int_equal(s.kind, KDPC_ROUTINE_DPC);
    assert_int_equal(s.calls, 3);

    assert_non_null(find(m, "StatsSlowDpc", &s));
    assert_int_equal(s.calls, 3);
    assert_true(s.longest_ns >= 40000 && s.longest_ns < 50000); /* the 40 us call */
    assert_true(s.total_ns >= 55000 && s.total_ns < 70000);
    assert_int_equal(s.longest_cpu, 0);
    /* The 40 us call was the second of three. */
    assert_true(s.longest_end_ns >= SecondFrom + 40000 && s.longest_end_ns <= SecondTo);
    kdpc_machine_destroy(m);
}

static void test_first_return_order_and_reset(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 2);
    name_routines(m);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    kdpc_routine_stats s;
    assert_int_equal(kdpc_stats_routine(m, 0, &s), KDPC_OK);
    assert_string_equal(s.name, "StatsIsr"); /* the ISR returned before its DPC ran */
    assert_int_equal(kdpc_stats_routine(m, 1, &s), KDPC_OK);
    assert_string_equal(s.name, "StatsFastDpc");
    assert_int_equal(kdpc_machine_reset(m, 3), KDPC_OK);
    assert_int_equal(kdpc_stats_routine_count(m), 0);
    kdpc_machine_destroy(m);
}

/* An interrupt that nests inside a DPC: its ISR's time counts in the DPC too (the DPC's CPU
 * was charged it between the DPC's entry and return), as dpc.too_long measures. */
static KDPC NestDpc;

static BOOLEAN StatsNestIsr(PKINTERRUPT i, PVOID c)
{
    (void)i, (void)c;
    if (InterlockedExchange(&Pending, 0) == 0)
        return FALSE;
    KeStallExecutionProcessor(10);
    return TRUE;
}

static void StatsNestDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
    InterlockedExchange(&Pending, 1);
    kdpc_line_assert(kdpc_current_machine(), LINE); /* taken at the stall's interleaving point */
    KeStallExecutionProcessor(20);
}

static void nest_body(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&NestDpc, StatsNestDpc, NULL);
    assert_int_equal(IoConnectInterrupt(&Interrupt, StatsNestIsr, NULL, NULL, LINE, 5, 5, Latched,
                                        FALSE, 1, FALSE),
                     STATUS_SUCCESS);
    KeInsertQueueDpc(&NestDpc, NULL, NULL);
    LARGE_INTEGER t = {.QuadPart = -10000}; /* 1 ms */
    KeDelayExecutionThread(KernelMode, FALSE, &t);
    IoDisconnectInterrupt(Interrupt);
}

static void test_dpc_time_includes_nested_interrupt(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    KDPC_NAME(m, StatsNestIsr);
    KDPC_NAME(m, StatsNestDpc);
    assert_int_equal(kdpc_machine_run(m, nest_body, NULL), KDPC_OK);
    kdpc_routine_stats s;
    assert_non_null(find(m, "StatsNestIsr", &s));
    assert_int_equal(s.calls, 1);
    assert_true(s.longest_ns >= 10000 && s.longest_ns < 20000);
    uint64_t isr_ns = s.longest_ns;
    assert_non_null(find(m, "StatsNestDpc", &s));
    assert_int_equal(s.calls, 1);
    assert_true(s.longest_ns >= 20000 + isr_ns && s.longest_ns < 40000);
    kdpc_machine_destroy(m);
}

/* A DPC that runs past the single-call watchdog, with dpc.watchdog a warning: the warning
 * restarts the watchdog's allotment, not the call's measured time. */
static void StatsLongDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
    for (int i = 0; i < 4; i++)
        KeStallExecutionProcessor(50); /* 200 us in all, over the 120 us allotment */
}

static void long_body(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&SlowDpc, StatsLongDpc, NULL);
    KeInsertQueueDpc(&SlowDpc, NULL, NULL);
    LARGE_INTEGER t = {.QuadPart = -10000}; /* 1 ms */
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static void test_watchdog_warning_keeps_the_call_time(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 1);
    cfg.watchdog_single_ns = 120000;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_rule_set(m, "dpc.watchdog", KDPC_RULE_WARN), KDPC_OK);
    KDPC_NAME(m, StatsLongDpc);
    assert_int_equal(kdpc_machine_run(m, long_body, NULL), KDPC_OK);
    KT_ASSERT_WARNING(m, "dpc.watchdog");
    kdpc_routine_stats s;
    assert_non_null(find(m, "StatsLongDpc", &s));
    assert_true(s.longest_ns >= 200000 && s.longest_ns < 220000);
    const kdpc_violation *v = kdpc_machine_find_violation(m, "dpc.too_long");
    assert_non_null(v);
    assert_true(strstr(v->message, "ran 20") != NULL); /* the whole call, not what followed
                                                           the watchdog warning */
    kdpc_machine_destroy(m);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_routine_stats s;
    memset(&s, 0x5A, sizeof s);
    assert_int_equal(kdpc_stats_routine(m, 0, &s), KDPC_ENOENT);
    assert_null(s.name);
    assert_int_equal(s.calls, 0);
    assert_int_equal(kdpc_stats_routine(NULL, 0, &s), KDPC_EINVAL);
    assert_int_equal(kdpc_stats_routine(m, 0, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_stats_routine_count(NULL), 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_longest_per_routine),
        cmocka_unit_test(test_first_return_order_and_reset),
        cmocka_unit_test(test_dpc_time_includes_nested_interrupt),
        cmocka_unit_test(test_watchdog_warning_keeps_the_call_time),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
