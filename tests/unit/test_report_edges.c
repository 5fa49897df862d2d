/* SPDX-License-Identifier: MIT */
/*
 * test_report_edges.c - kdpc/report.h edge cases: the JSON report names
 * routines without their host addresses (the same run gives the same bytes
 * in every process), and events the device layer emits with no CPU (a device
 * event run while a thread leaves its CPU: CPU 0, IRQL 0 in the event) do not
 * move CPU 0's IRQL time while CPU 0 runs a DPC.
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
    cfg.clock_tick_ns = 10000;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static char *read_all(FILE *f)
{
    long n = ftell(f);
    assert_true(n >= 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    return s;
}

static void delay_us(LONGLONG us)
{
    LARGE_INTEGER t = {.QuadPart = -10 * us};
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* ------------------------------------------------------------------ */
/* A long DPC on CPU 0 while a thread on CPU 1 blocks again and again  */
/* and a device ticks: the ticks the clock runs for the leaving thread */
/* have no CPU.                                                        */

static KDPC LongDpc;
static int Ticks;

static void EdgeLongDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
    for (int i = 0; i < 40; i++)
        KeStallExecutionProcessor(10);
}

static void tick(kdpc_device *dev, void *ctx, void *arg)
{
    (void)ctx;
    Ticks++;
    if (Ticks < 2000)
        (void)kdpc_device_schedule(dev, 3000, tick, arg, KDPC_EVENT_BACKGROUND, NULL);
}

static void body_long_dpc(void *ctx)
{
    kdpc_device *dev = ctx;
    assert_int_equal(kdpc_device_schedule(dev, 1000, tick, NULL, KDPC_EVENT_BACKGROUND, NULL),
                     KDPC_OK);
    (void)KeSetSystemAffinityThreadEx(2); /* this thread on CPU 1 */
    for (int round = 0; round < 3; round++) {
        KeInitializeDpc(&LongDpc, EdgeLongDpc, NULL);
        KeSetTargetProcessorDpc(&LongDpc, 0);
        KeInsertQueueDpc(&LongDpc, NULL, NULL);
        for (int i = 0; i < 100; i++)
            delay_us(2);
        delay_us(500);
    }
}

static void test_no_cpu_events_keep_cpu0_irql(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(2, 3);
    KDPC_NAME(m, EdgeLongDpc);
    kdpc_device_desc desc;
    kdpc_device_desc_init(&desc);
    desc.name = "ticker";
    kdpc_device *dev = NULL;
    assert_int_equal(kdpc_device_plug(m, &desc, &dev), KDPC_OK);
    Ticks = 0;
    assert_int_equal(kdpc_machine_run(m, body_long_dpc, dev), KDPC_OK);
    assert_true(Ticks > 100);
    kdpc_report r;
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    if (getenv("KT_REPORT_DEBUG") != NULL)
        (void)kdpc_report_print(m, stderr);
    assert_int_equal(r.cpu[0].dpcs, 3);
    assert_true(r.cpu[0].dpc_ns >= 3u * 400000u);
    /* The whole DPC ran at DISPATCH_LEVEL on CPU 0: no event of another context took CPU 0
     * down to PASSIVE_LEVEL in its middle. */
    assert_true(r.cpu[0].irql_ns[DISPATCH_LEVEL] >= r.cpu[0].dpc_ns);
    uint64_t sum = 0;
    for (unsigned q = 0; q < KDPC_REPORT_IRQLS; q++)
        sum += r.cpu[0].irql_ns[q];
    assert_int_equal(sum, r.end_ns - r.start_ns);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* The JSON report carries names, never host addresses.               */

static KDPC NamedDpc;

static void EdgeNamedDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
    KeStallExecutionProcessor(3);
}

static void body_named(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&NamedDpc, EdgeNamedDpc, NULL);
    for (int i = 0; i < 4; i++) {
        KeInsertQueueDpc(&NamedDpc, NULL, NULL);
        delay_us(50);
    }
}

static void test_json_has_no_addresses(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 9);
    KDPC_NAME(m, EdgeNamedDpc);
    assert_int_equal(kdpc_machine_run(m, body_named, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(kdpc_report_json(m, f), KDPC_OK);
    char *text = read_all(f);
    fclose(f);
    char err[128];
    kt_json *doc = kt_json_parse(text, strlen(text), err, sizeof err);
    if (doc == NULL)
        fail_msg("report JSON: %s", err);
    const kt_json *ro = kt_json_get(doc, "routines");
    assert_int_equal(kt_json_len(ro), 1);
    assert_string_equal(kt_json_str(kt_json_at(ro, 0), "name"), "EdgeNamedDpc");
    assert_null(kt_json_get(kt_json_at(ro, 0), "routine"));
    if (strstr(text, "0x") != NULL)
        fail_msg("an address in the JSON report: %s", strstr(text, "0x"));
    kt_json_free(doc);
    free(text);
    kdpc_machine_destroy(m);
}

/* A name that is not well-formed UTF-8 (a Latin-1 byte, a cut sequence, an overlong '/', a
 * surrogate) and one with quotes, a backslash and control characters: the JSON stays JSON. */
static void test_json_bad_utf8_name(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 9);
    assert_int_equal(
        kdpc_name_routine(m, (kdpc_routine_ptr)EdgeNamedDpc,
                          "caf\xe9 \xe2\x82 \xc0\xaf \xed\xa0\x80 \xc3\xa9 \"q\"\\\x01\x7f"),
        KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, body_named, NULL), KDPC_OK);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(kdpc_report_json(m, f), KDPC_OK);
    char *text = read_all(f);
    fclose(f);
    char err[128];
    kt_json *doc = kt_json_parse(text, strlen(text), err, sizeof err);
    if (doc == NULL)
        fail_msg("report JSON with a bad name: %s", err);
    const char *name = kt_json_str(kt_json_at(kt_json_get(doc, "routines"), 0), "name");
    assert_non_null(name);
    /* bad bytes become U+FFFD (EF BF BD), good UTF-8 stays, escapes read back */
    assert_string_equal(name, "caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xc3\xa9 \"q\"\\\x01\x7f");
    kt_json_free(doc);
    free(text);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_cpu_events_keep_cpu0_irql),
        cmocka_unit_test(test_json_has_no_addresses),
        cmocka_unit_test(test_json_bad_utf8_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
