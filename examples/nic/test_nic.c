/* SPDX-License-Identifier: MIT */
/*
 * test_nic.c - the nic example: the NX-2 driver on its virtual device
 * through the workload (sim.c), and its I/O controls one by one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kdpc_test.h"
#include "nic_sim.h"
#include "device/nxframe.h"
#include "driver/nx2hw.h"

#define MS 1000000ull

static kdpc_machine *machine(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    ex_nic.configure(&cfg);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static void show(const char *what, const ex_result *r)
{
    if (getenv("NIC_TEST_VERBOSE") != NULL)
        printf("%s: status %d, %llu requests (%llu failed), %llu bytes, lost %llu, faults %llu, "
               "errorlog %llu, %.1f ms\n  %s\n  %s\n",
               what, (int)r->status, (unsigned long long)r->requests,
               (unsigned long long)r->requests_failed, (unsigned long long)r->bytes,
               (unsigned long long)r->lost, (unsigned long long)r->faults,
               (unsigned long long)r->errorlog, (double)r->virtual_ns / 1e6, r->notes, r->problem);
}

/* A clean run's common checks: every request back once with the right data, the books
 * balanced (sim.c checks them and counts any difference in lost). */
static void assert_clean_run(kdpc_machine *m, const ex_result *r, const nic_sim_report *rep)
{
    if (!ex_clean(m, r))
        show("not clean", r);
    assert_int_equal(r->status, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(r->lost, 0);
    assert_string_equal(r->problem, "");
    assert_true(rep->sends_ok > 0);
    assert_true(rep->rx_ok > 0);
    assert_int_equal(rep->stats.Queues, NX2_QUEUES);
    assert_int_equal(rep->device.bad_accesses, 0);
}

/* ---- normal paths ------------------------------------------------------------------------------ */

/* Light load on 2 CPUs: frames loop back, the partner's trickle arrives, the link goes down
 * mid-run and the work item brings it back, the watchdog runs, nothing is dropped. */
static void test_light_load(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2, 1);
    ex_options o = {.duration_ns = 200 * MS, .load = EX_LOAD_LIGHT};
    ex_result r;
    nic_sim_report rep;
    nic_sim_run(m, &o, &rep, &r);
    show("light", &r);
    assert_clean_run(m, &r, &rep);
    assert_int_equal(rep.stats.LinkDowns, 1);
    assert_int_equal(rep.stats.LinkUps, 1);
    assert_int_equal(rep.device.link_downs, 1);
    assert_int_equal(rep.device.link_ups, 1);
    assert_int_equal(rep.stats.Threaded, 0);
    assert_true(rep.device.generated > 50);
    assert_true(rep.stats.WatchdogRuns >= 15);
    assert_int_equal(rep.stats.WatchdogKicks, 0);
    assert_int_equal(rep.stats.RxCrcErrors + rep.stats.RxErrors + rep.stats.TxErrors, 0);
    assert_int_equal(rep.stats.RxNoBuffer + rep.stats.RxMissed, 0);
    assert_int_equal(rep.stats.DpcChained, 0);
    assert_true(rep.stats.Interrupts > 0 && rep.stats.DpcRuns > 0);
    assert_true(rep.stats_reads > 5);
    assert_int_equal(r.errorlog, 0);
    assert_int_equal(r.requests_failed, 0);
    /* each sent frame came back (none was sent while the link was down: the ring stalled) */
    assert_int_equal(rep.stats.TxFrames, rep.sends_ok);
    assert_true(rep.rx_ok >= rep.sends_ok);
    assert_true(r.virtual_ns >= o.duration_ns);
    kdpc_machine_destroy(m);
}

/* Heavy load on 1 and 4 CPUs: the partner's bursts overrun the rings; the DPC stops after its
 * budget and the chain timer takes the rest; frames beyond the rings are counted missed. */
static void test_heavy_load(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 4; cpus += 3) {
        kdpc_machine *m = machine(cpus, 3);
        ex_options o = {.duration_ns = 20 * MS, .load = EX_LOAD_HEAVY};
        ex_result r;
        nic_sim_report rep;
        nic_sim_run(m, &o, &rep, &r);
        show("heavy", &r);
        assert_clean_run(m, &r, &rep);
        assert_true(rep.stats.DpcChained > 0);
        assert_true(rep.stats.RxMissed > 0);
        assert_true(rep.device.generated > 10000);
        assert_true(rep.sends_ok > 100);
        /* G8: the budget keeps every DPC call well under 100 us */
        assert_true(rep.longest_dpc_ns > 0 && rep.longest_dpc_ns < 100000);
        kdpc_machine_destroy(m);
    }
}

/* The threaded mode: DpcMode = 1 in the device key, read at start. */
static void test_threaded_mode(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2, 5);
    ex_options o = {.duration_ns = 40 * MS, .load = EX_LOAD_HEAVY, .mode = "threaded"};
    ex_result r;
    nic_sim_report rep;
    nic_sim_run(m, &o, &rep, &r);
    show("threaded", &r);
    assert_clean_run(m, &r, &rep);
    assert_int_equal(rep.stats.Threaded, 1);
    assert_true(rep.stats.DpcChained > 0);
    assert_non_null(ex_nic.modes);
    assert_string_equal(ex_nic.modes[0], "threaded");
    assert_null(ex_nic.modes[1]);
    kdpc_machine_destroy(m);
}

/* ---- faults ------------------------------------------------------------------------------------ */

/* Every fault kind at 20 permille: CRC-error frames dropped and counted, DMA errors on both
 * sides (a failed send completes with STATUS_ADAPTER_HARDWARE_ERROR and an error log entry),
 * lost messages found by the watchdog, spurious and late ones ignored. Still no violation, no
 * loss, the books balanced. */
static void test_faults(void **state)
{
    (void)state;
    for (unsigned load = 0; load < 2; load++) {
        kdpc_machine *m = machine(2, 11);
        ex_options o = {.duration_ns = load ? 40 * MS : 400 * MS,
                        .load = load ? EX_LOAD_HEAVY : EX_LOAD_LIGHT,
                        .faults_permille = 20};
        ex_result r;
        nic_sim_report rep;
        nic_sim_run(m, &o, &rep, &r);
        show("faults", &r);
        assert_clean_run(m, &r, &rep);
        assert_true(r.faults > 0);
        assert_true(rep.stats.RxCrcErrors > 0);
        assert_int_equal(rep.stats.RxCrcErrors, rep.device.delivered_crc);
        assert_true(rep.stats.TxErrors > 0);
        assert_int_equal(rep.sends_failed, rep.stats.TxErrors);
        assert_int_equal(r.requests_failed, rep.sends_failed);
        assert_true(rep.stats.RxErrors > 0);
        /* one entry per failed send and per receive DMA error */
        assert_int_equal(r.errorlog, rep.stats.TxErrors + rep.stats.RxErrors);
        /* lost messages: at light load the watchdog finds the work they announced; at heavy
         * load the next message of the queue usually comes first */
        assert_true(rep.injected[KDPC_FAULT_LOST_INTERRUPT] > 0);
        assert_true(rep.injected[KDPC_FAULT_SPURIOUS_INTERRUPT] > 0);
        assert_true(rep.injected[KDPC_FAULT_LATE_INTERRUPT] > 0);
        assert_true(rep.injected[KDPC_FAULT_SHORT_TRANSFER] > 0);
        if (!load)
            assert_true(rep.stats.WatchdogKicks > 0);
        kdpc_machine_destroy(m);
    }
}

/* ---- clean over 50 seeds on 1, 2 and 4 CPUs ------------------------------------------------------ */

static void test_seeds(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 4; cpus *= 2) {
        kdpc_machine *m = machine(cpus, 1);
        for (uint64_t seed = 1; seed <= 50; seed++) {
            assert_int_equal(kdpc_machine_reset(m, seed), KDPC_OK);
            ex_options o = {.duration_ns = 12 * MS,
                            .load = seed % 5 == 0 ? EX_LOAD_HEAVY : EX_LOAD_LIGHT,
                            .faults_permille = seed % 3 == 0 ? 10u : 0u,
                            .mode = seed % 4 == 0 ? "threaded" : NULL};
            ex_result r;
            nic_sim_report rep;
            nic_sim_run(m, &o, &rep, &r);
            if (!ex_clean(m, &r)) {
                printf("cpus %u seed %llu\n", cpus, (unsigned long long)seed);
                show("seed", &r);
            }
            assert_true(ex_clean(m, &r));
            assert_true(rep.sends_ok > 0);
        }
        kdpc_machine_destroy(m);
    }
}

/* ---- broken variants ----------------------------------------------------------------------------- */

static void test_broken_variants(void **state)
{
    (void)state;
    assert_true(ex_nic.nvariants >= 2);
    for (size_t i = 0; i < ex_nic.nvariants; i++) {
        const ex_variant *v = &ex_nic.variants[i];
        assert_ptr_equal(ex_find_variant(&ex_nic, v->name), v);
        for (unsigned cpus = 1; cpus <= 2; cpus++) {
            ex_options o = {.duration_ns = 20 * MS, .load = EX_LOAD_HEAVY, .variant = v};
            ex_result r;
            kdpc_machine *m = machine(cpus, 21);
            nic_sim_report rep;
            nic_sim_run(m, &o, &rep, &r);
            show(v->name, &r);
            if (getenv("NIC_TEST_VERBOSE") != NULL)
                printf("  longest DPC %.1f us, ISR %.1f us\n", (double)rep.longest_dpc_ns / 1e3,
                       (double)rep.longest_isr_ns / 1e3);
            if (kdpc_machine_find_violation(m, v->rule) == NULL)
                printf("%s on %u CPUs: %s not found\n", v->name, cpus, v->rule);
            assert_non_null(kdpc_machine_find_violation(m, v->rule));
            kdpc_machine_destroy(m);

            /* the clean driver, same seed and load */
            o.variant = NULL;
            m = machine(cpus, 21);
            nic_sim_run(m, &o, NULL, &r);
            assert_true(ex_clean(m, &r));
            kdpc_machine_destroy(m);
        }
    }
    assert_null(ex_find_variant(&ex_nic, "no-such-variant"));
}

/* ---- determinism --------------------------------------------------------------------------------- */

static void test_deterministic(void **state)
{
    (void)state;
    ex_result a, b;
    nic_sim_report ra, rb;
    ex_options o = {.duration_ns = 30 * MS, .load = EX_LOAD_HEAVY, .faults_permille = 10};
    kdpc_machine *m = machine(4, 77);
    nic_sim_run(m, &o, &ra, &a);
    assert_int_equal(kdpc_machine_reset(m, 77), KDPC_OK);
    nic_sim_run(m, &o, &rb, &b);
    kdpc_machine_destroy(m);
    assert_int_equal(a.status, b.status);
    assert_int_equal(a.virtual_ns, b.virtual_ns);
    assert_int_equal(a.requests, b.requests);
    assert_int_equal(a.requests_failed, b.requests_failed);
    assert_int_equal(a.bytes, b.bytes);
    assert_int_equal(a.faults, b.faults);
    assert_int_equal(a.errorlog, b.errorlog);
    assert_string_equal(a.notes, b.notes);
    assert_memory_equal(&ra.stats, &rb.stats, sizeof ra.stats);
    assert_memory_equal(&ra.device, &rb.device, sizeof ra.device);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_light_load),    cmocka_unit_test(test_heavy_load),
        cmocka_unit_test(test_threaded_mode), cmocka_unit_test(test_faults),
        cmocka_unit_test(test_seeds),         cmocka_unit_test(test_broken_variants),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
