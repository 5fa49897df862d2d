/* SPDX-License-Identifier: MIT */
/*
 * test_time.c - the virtual clock as drivers see it: KeQueryInterruptTime(Precise),
 * KeQuerySystemTime(Precise), KeQueryPerformanceCounter, KeQueryTickCount and
 * KeQueryTimeIncrement agree with kdpc_machine_time_ns() and with each other,
 * on every CPU, and the tick count advances with clock ticks.
 *
 * Contract (include/kdpc/wdm/ke.h, wdm/timer.h, machine.h): interrupt time
 * and the performance counter are virtual time in 100 ns units (frequency
 * 10 MHz); system time = kdpc_config.boot_system_time + interrupt time; a
 * clock tick every clock_tick_ns, KeQueryTimeIncrement = tick / 100 (io
 * 1.25) and KeQueryTickCount counts the ticks since the machine started.
 * Several tests set call_cost_ns = 0 so that readings taken back to back
 * are taken at the same virtual instant.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NREAD 16
/* 2026-01-01 00:00 UTC in 100 ns units since 1601-01-01 (155228 days). */
#define BOOT_2026 134116992000000000LL

typedef struct reading {
    uint64_t machine_ns; /* kdpc_machine_time_ns */
    ULONGLONG interrupt;
    ULONGLONG interrupt_precise;
    ULONG64 qpc_precise;
    LONGLONG perf;
    LONGLONG perf_freq;
    LONGLONG system;
    LONGLONG system_precise;
    LONGLONG ticks;
    ULONG increment;
    ULONG cpu;
} reading;

static reading g_r[NREAD];
static unsigned g_nr;

static void take_reading(void)
{
    if (g_nr >= NREAD)
        return;
    reading *r = &g_r[g_nr++];
    LARGE_INTEGER li, freq;
    r->machine_ns = kdpc_machine_time_ns(kdpc_current_machine());
    r->interrupt = KeQueryInterruptTime();
    r->interrupt_precise = KeQueryInterruptTimePrecise(&r->qpc_precise);
    li = KeQueryPerformanceCounter(&freq);
    r->perf = li.QuadPart;
    r->perf_freq = freq.QuadPart;
    KeQuerySystemTime(&li);
    r->system = li.QuadPart;
    KeQuerySystemTimePrecise(&li);
    r->system_precise = li.QuadPart;
    KeQueryTickCount(&li);
    r->ticks = li.QuadPart;
    r->increment = KeQueryTimeIncrement();
    r->cpu = KeGetCurrentProcessorNumber();
}

static void readings_reset(void)
{
    memset(g_r, 0, sizeof(g_r));
    g_nr = 0;
}

static kdpc_machine *time_machine(unsigned cpus, uint64_t seed, uint64_t tick_ns,
                                  uint64_t call_cost_ns)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.clock_tick_ns = tick_ns;
    cfg.call_cost_ns = call_cost_ns;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* Every clock of one reading (taken at one instant) agrees with the others. */
static void assert_consistent(const reading *r, uint64_t tick_ns, LONGLONG boot)
{
    assert_int_equal(r->interrupt, r->machine_ns / 100u);
    assert_int_equal(r->interrupt_precise, r->interrupt);
    assert_int_equal(r->qpc_precise, (ULONG64)r->perf);
    assert_int_equal(r->perf, (LONGLONG)r->interrupt);
    assert_int_equal(r->perf_freq, 10000000);
    assert_int_equal(r->system, boot + (LONGLONG)r->interrupt);
    assert_int_equal(r->system_precise, r->system);
    assert_int_equal(r->ticks, (LONGLONG)(r->machine_ns / tick_ns));
    assert_int_equal(r->increment, (ULONG)(tick_ns / 100u));
}

/* ------------------------------------------------------------------ */

static void entry_stalls(void *ctx)
{
    (void)ctx;
    take_reading();
    KeStallExecutionProcessor(37);
    take_reading();
    for (unsigned i = 0; i < 5; i++) {
        KeStallExecutionProcessor(30);
        take_reading();
    }
}

static void test_interrupt_time_and_performance_counter_count_virtual_time_in_100ns(void **state)
{
    (void)state;
    readings_reset();
    kdpc_machine *m = time_machine(1, 1, 100000, 0); /* 100 us tick, free calls */
    assert_int_equal(kdpc_machine_run(m, entry_stalls, NULL), KDPC_OK);
    uint64_t end = kdpc_machine_time_ns(m);
    kdpc_machine_destroy(m);

    assert_int_equal(g_nr, 7);
    for (unsigned i = 0; i < g_nr; i++)
        assert_consistent(&g_r[i], 100000, BOOT_2026);
    /* KeStallExecutionProcessor(us) moves every clock by exactly us */
    assert_int_equal(g_r[1].interrupt - g_r[0].interrupt, 370);
    assert_int_equal(g_r[1].perf - g_r[0].perf, 370);
    assert_int_equal(g_r[1].system - g_r[0].system, 370);
    for (unsigned i = 2; i < g_nr; i++)
        assert_int_equal(g_r[i].interrupt - g_r[i - 1].interrupt, 300);
    assert_true(end >= g_r[g_nr - 1].machine_ns);
}

static void test_each_kernel_call_advances_the_clocks_by_its_cost(void **state)
{
    (void)state;
    readings_reset();
    kdpc_machine *m = time_machine(1, 2, 100000, 100); /* default cost */
    assert_int_equal(kdpc_machine_run(m, entry_stalls, NULL), KDPC_OK);
    kdpc_machine_destroy(m);

    assert_int_equal(g_nr, 7);
    for (unsigned i = 1; i < g_nr; i++) {
        /* never backwards, and at least the stall */
        assert_true(g_r[i].interrupt >= g_r[i - 1].interrupt + 300);
        assert_true(g_r[i].perf >= g_r[i - 1].perf + 300);
        assert_true(g_r[i].system >= g_r[i - 1].system + 300);
        assert_true(g_r[i].ticks >= g_r[i - 1].ticks);
        /* a handful of 100 ns calls at most between two readings */
        assert_true(g_r[i].interrupt <= g_r[i - 1].interrupt + 370 + 20);
        /* the offset of system time to interrupt time never changes */
        assert_int_equal(g_r[i].system - (LONGLONG)g_r[i].interrupt,
                         g_r[0].system - (LONGLONG)g_r[0].interrupt);
        assert_true(g_r[i].interrupt >= g_r[i].machine_ns / 100u);
    }
}

/* ------------------------------------------------------------------ */
/* System time and boot_system_time                                    */

static void entry_one_reading(void *ctx)
{
    (void)ctx;
    take_reading();
    KeStallExecutionProcessor(20);
    take_reading();
}

static void test_system_time_is_boot_system_time_plus_interrupt_time(void **state)
{
    (void)state;
    readings_reset();
    kdpc_config cfg = kt_config(1, 3);
    cfg.call_cost_ns = 0;
    cfg.boot_system_time = 132539328000000000LL; /* 2021-01-01 00:00 UTC */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, entry_one_reading, NULL), KDPC_OK);
    /* and in a later run of the same machine */
    assert_int_equal(kdpc_machine_run(m, entry_one_reading, NULL), KDPC_OK);
    kdpc_machine_destroy(m);

    assert_int_equal(g_nr, 4);
    for (unsigned i = 0; i < g_nr; i++)
        assert_consistent(&g_r[i], 15625000, 132539328000000000LL);
    assert_int_equal(g_r[1].system - g_r[0].system, 200);
}

static void test_default_boot_system_time_is_2026_01_01(void **state)
{
    (void)state;
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    assert_int_equal(cfg.boot_system_time, BOOT_2026);

    readings_reset();
    kdpc_machine *m = time_machine(1, 4, 15625000, 0);
    assert_int_equal(kdpc_machine_run(m, entry_one_reading, NULL), KDPC_OK);
    kdpc_machine_destroy(m);
    assert_int_equal(g_nr, 2);
    assert_consistent(&g_r[0], 15625000, BOOT_2026);
    assert_consistent(&g_r[1], 15625000, BOOT_2026);
}

/* ------------------------------------------------------------------ */
/* Tick length and tick count (io 1.25)                                */

static ULONG g_increment[3];

static void entry_increment(void *ctx)
{
    (void)ctx;
    g_increment[0] = KeQueryTimeIncrement();
    KeStallExecutionProcessor(40);
    g_increment[1] = KeQueryTimeIncrement();
}

static void test_time_increment_is_the_tick_length_in_100ns_units(void **state)
{
    (void)state;
    static const uint64_t ticks[3] = {15625000, 1000000, 100000};
    static const ULONG expect[3] = {156250, 10000, 1000};
    for (unsigned i = 0; i < 3; i++) {
        memset(g_increment, 0, sizeof(g_increment));
        kdpc_config cfg = kt_config(1, 5);
        if (i > 0)
            cfg.clock_tick_ns = ticks[i]; /* i == 0: the default */
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        assert_int_equal(kdpc_machine_run(m, entry_increment, NULL), KDPC_OK);
        kdpc_machine_destroy(m);
        assert_int_equal(g_increment[0], expect[i]);
        assert_int_equal(g_increment[1], expect[i]); /* constant (io 1.25) */
    }
}

static void entry_tick_steps(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < 8; i++) {
        take_reading();
        KeStallExecutionProcessor(30);
    }
}

static void test_tick_count_advances_once_per_clock_tick(void **state)
{
    (void)state;
    readings_reset();
    kdpc_machine *m = time_machine(1, 6, 100000, 0);
    assert_int_equal(kdpc_machine_run(m, entry_tick_steps, NULL), KDPC_OK);
    kdpc_machine_destroy(m);

    /* readings 30 us apart with a 100 us tick: the count moves only when a tick passes */
    assert_int_equal(g_nr, 8);
    uint64_t base = g_r[0].machine_ns;
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(g_r[i].machine_ns, base + 30000u * i);
        assert_int_equal(g_r[i].ticks, (LONGLONG)((base + 30000u * i) / 100000u));
        assert_consistent(&g_r[i], 100000, BOOT_2026);
    }
    assert_true(g_r[7].ticks >= 2);
}

static LONGLONG g_ticks_before, g_ticks_after;
static ULONGLONG g_it_before, g_it_after;
static NTSTATUS g_delay_status;

static void entry_sleep(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER t, interval;
    KeStallExecutionProcessor(1);
    KeQueryTickCount(&t);
    g_ticks_before = t.QuadPart;
    g_it_before = KeQueryInterruptTime();
    interval.QuadPart = -50000; /* 5 ms */
    g_delay_status = KeDelayExecutionThread(KernelMode, FALSE, &interval);
    KeQueryTickCount(&t);
    g_ticks_after = t.QuadPart;
    g_it_after = KeQueryInterruptTime();
}

static void test_tick_count_advances_while_every_cpu_is_idle(void **state)
{
    (void)state;
    g_ticks_before = g_ticks_after = -1;
    kdpc_machine *m = time_machine(1, 7, 1000000, 100); /* 1 ms tick */
    assert_int_equal(kdpc_machine_run(m, entry_sleep, NULL), KDPC_OK);
    kdpc_machine_destroy(m);

    assert_int_equal(g_delay_status, STATUS_SUCCESS);
    assert_int_equal(g_ticks_before, 0);
    /* the sleep never ends early (io 1.24, 3.9) and the clock jumped while idle */
    assert_true(g_it_after >= g_it_before + 50000u);
    assert_true(g_ticks_after >= 5);
    assert_int_equal(g_ticks_after, (LONGLONG)(g_it_after * 100u / 1000000u));
    assert_true(g_ticks_after <= 7); /* at most one tick late */
}

/* ------------------------------------------------------------------ */
/* One clock for every CPU                                             */

static KDPC g_dpcs[4];
static KEVENT g_read_done;

static void ReadDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    KeStallExecutionProcessor(25);
    take_reading();
    (void)KeSetEvent(&g_read_done, IO_NO_INCREMENT, FALSE);
}

static void entry_all_cpus(void *ctx)
{
    (void)ctx;
    for (unsigned k = 0; k < 4; k++) {
        KeInitializeDpc(&g_dpcs[k], ReadDpc, NULL);
        KeSetTargetProcessorDpc(&g_dpcs[k], (CCHAR)k);
    }
    KeInitializeEvent(&g_read_done, SynchronizationEvent, FALSE);
    /* one reader at a time (the entry thread waits without using time), so every reading
     * is taken at one virtual instant */
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned k = 0; k < 4; k++) {
            (void)KeInsertQueueDpc(&g_dpcs[k], NULL, NULL);
            (void)KeWaitForSingleObject(&g_read_done, Executive, KernelMode, FALSE, NULL);
            KeStallExecutionProcessor(40);
        }
    }
}

static void test_every_cpu_reads_one_consistent_monotonic_clock(void **state)
{
    (void)state;
    readings_reset();
    kdpc_machine *m = time_machine(4, 8, 100000, 0);
    assert_int_equal(kdpc_machine_run(m, entry_all_cpus, NULL), KDPC_OK);
    kdpc_machine_destroy(m);

    assert_int_equal(g_nr, 12);
    unsigned seen = 0;
    for (unsigned i = 0; i < g_nr; i++) {
        assert_consistent(&g_r[i], 100000, BOOT_2026);
        seen |= 1u << g_r[i].cpu;
        if (i > 0) { /* readings taken later never show an earlier time */
            assert_true(g_r[i].interrupt >= g_r[i - 1].interrupt);
            assert_true(g_r[i].ticks >= g_r[i - 1].ticks);
        }
    }
    assert_int_equal(seen, 0xF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interrupt_time_and_performance_counter_count_virtual_time_in_100ns),
        cmocka_unit_test(test_each_kernel_call_advances_the_clocks_by_its_cost),
        cmocka_unit_test(test_system_time_is_boot_system_time_plus_interrupt_time),
        cmocka_unit_test(test_default_boot_system_time_is_2026_01_01),
        cmocka_unit_test(test_time_increment_is_the_tick_length_in_100ns_units),
        cmocka_unit_test(test_tick_count_advances_once_per_clock_tick),
        cmocka_unit_test(test_tick_count_advances_while_every_cpu_is_idle),
        cmocka_unit_test(test_every_cpu_reads_one_consistent_monotonic_clock),
    };
    return cmocka_run_group_tests_name("time", tests, NULL, NULL);
}
