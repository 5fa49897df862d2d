/* SPDX-License-Identifier: MIT */
/*
 * test_disk.c - the disk example (examples/disk): the vdisk driver on the
 * virtual VDC-2, driven through ex_disk / disk_sim_run. Normal reads, writes
 * and the driver's control; large requests split by the map registers; each
 * fault kind and the driver's answer (retry, error log entry, error status,
 * watchdog); 50 seeds on 1, 2 and 4 CPUs; each broken variant caught with its
 * rule; the same seed twice gives the same numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kdpc_test.h"
#include "example_test.h"
#include "disk_sim.h"
#include "driver/vdisk.h"

#define MS 1000000ull

static ex_options opts(ex_load load, uint64_t duration_ns, unsigned permille)
{
    ex_options o;
    memset(&o, 0, sizeof o);
    o.duration_ns = duration_ns;
    o.load = load;
    o.faults_permille = permille;
    return o;
}

static void assert_clean_run(kdpc_machine *m, const ex_result *r)
{
    if (!ex_clean(m, r))
        print_error("status %d, violations %zu, lost %llu: %s\n", (int)r->status,
                    kdpc_machine_violation_count(m), (unsigned long long)r->lost, r->problem);
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++)
        print_error("%s in %s: %s\n", kdpc_machine_violation(m, i)->rule,
                    kdpc_machine_violation(m, i)->routine, kdpc_machine_violation(m, i)->message);
    assert_true(ex_clean(m, r));
    assert_string_equal(r->problem, "");
}

static void test_light_reads_writes_and_info(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 11);
    ex_options o = opts(EX_LOAD_LIGHT, 300 * MS, 0);
    disk_sim_report rep;
    ex_result r;
    disk_sim_run(m, &o, DISK_FAULTS_ALL, &rep, &r);
    assert_clean_run(m, &r);
    assert_true(rep.reads > 5);
    assert_true(rep.writes > 5);
    assert_int_equal(rep.checks, 11); /* bad requests and the controls answered as they must be */
    assert_int_equal(r.requests, rep.reads + rep.writes);
    assert_int_equal(r.requests_failed, 0);
    assert_int_equal(rep.driver_requests, r.requests);
    assert_int_equal(r.errorlog, 0);
    assert_int_equal(r.faults, 0);
    assert_int_equal(rep.map_registers, 16);
    assert_true(rep.pieces >= r.requests);
    assert_int_equal(rep.commands, rep.pieces);
    assert_int_equal(rep.dma_bytes, r.bytes);
    assert_true(r.virtual_ns >= 300 * MS);
    kdpc_machine_destroy(m);
}

static void test_heavy_requests_split_in_pieces(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 5);
    ex_options o = opts(EX_LOAD_HEAVY, 20 * MS, 0);
    disk_sim_report rep;
    ex_result r;
    disk_sim_run(m, &o, DISK_FAULTS_ALL, &rep, &r);
    assert_clean_run(m, &r);
    assert_true(r.requests >= 8);
    assert_int_equal(r.bytes, r.requests * 1024u * 1024u);
    /* 16 map registers map 64 KiB at most; the buffers are not page aligned, so a 1 MiB
     * request takes 16 or 17 pieces */
    assert_true(rep.pieces >= 16 * r.requests);
    if (rep.pieces > 17 * r.requests)
        print_error("%s\n", r.notes);
    assert_true(rep.pieces <= 17 * r.requests);
    assert_int_equal(rep.retries, 0);
    assert_int_equal(rep.dma_bytes, r.bytes);
    kdpc_machine_destroy(m);
}

/* One fault kind on at @permille; the run stays clean (every request once, right data or an
 * expected error status). */
static void fault_run(unsigned kind, unsigned permille, uint64_t duration_ns, disk_sim_report *rep,
                      ex_result *r, kdpc_machine **mp)
{
    kdpc_machine *m = kt_machine(2, 21 + kind);
    ex_options o = opts(EX_LOAD_HEAVY, duration_ns, permille);
    disk_sim_run(m, &o, 1u << kind, rep, r);
    assert_clean_run(m, r);
    assert_true(rep->injected[kind] > 0);
    for (unsigned k = 0; k < KDPC_FAULT_KINDS; k++)
        if (k != kind)
            assert_int_equal(rep->injected[k], 0);
    *mp = m;
}

static void test_transfer_error_retried_and_logged(void **state)
{
    (void)state;
    disk_sim_report rep;
    ex_result r;
    kdpc_machine *m;
    fault_run(KDPC_FAULT_TRANSFER_ERROR, 100, 20 * MS, &rep, &r, &m);
    assert_true(rep.retries > 0);
    assert_int_equal(r.errorlog, rep.retries + rep.failed); /* one entry per failed piece */
    const kdpc_errorlog_entry *e = kdpc_errorlog_entry_at(m, 0);
    assert_non_null(e);
    assert_int_equal(e->ErrorCode, IO_ERR_CONTROLLER_ERROR);
    assert_non_null(e->Device);
    kdpc_machine_destroy(m);
}

static void test_transfer_error_fails_after_retries(void **state)
{
    (void)state;
    disk_sim_report rep;
    ex_result r;
    kdpc_machine *m;
    fault_run(KDPC_FAULT_TRANSFER_ERROR, 800, 10 * MS, &rep, &r, &m);
    assert_true(r.requests_failed > 0); /* STATUS_DEVICE_DATA_ERROR, else lost */
    assert_int_equal(rep.failed, r.requests_failed);
    assert_int_equal(r.errorlog, rep.retries + rep.failed);
    bool final_seen = false;
    for (size_t i = 0; i < kdpc_errorlog_count(m); i++) {
        const kdpc_errorlog_entry *e = kdpc_errorlog_entry_at(m, i);
        assert_true(e->RetryCount <= VDISK_MAX_RETRIES);
        if (e->FinalStatus == STATUS_DEVICE_DATA_ERROR) {
            assert_int_equal(e->RetryCount, VDISK_MAX_RETRIES);
            final_seen = true;
        }
    }
    assert_true(final_seen);
    kdpc_machine_destroy(m);
}

static void test_short_transfer_retried(void **state)
{
    (void)state;
    disk_sim_report rep;
    ex_result r;
    kdpc_machine *m;
    fault_run(KDPC_FAULT_SHORT_TRANSFER, 100, 20 * MS, &rep, &r, &m);
    assert_true(rep.retries > 0);
    assert_true(rep.device_errors > 0);
    assert_int_equal(r.errorlog, rep.retries + rep.failed);
    kdpc_machine_destroy(m);
}

static void test_lost_interrupt_watchdog(void **state)
{
    (void)state;
    disk_sim_report rep;
    ex_result r;
    kdpc_machine *m;
    fault_run(KDPC_FAULT_LOST_INTERRUPT, 50, 40 * MS, &rep, &r, &m);
    assert_true(rep.timeouts > 0);
    assert_true(rep.aborts > 0); /* the watchdog stopped the controller */
    assert_int_equal(r.errorlog, rep.retries + rep.failed);
    bool timeout_logged = false;
    for (size_t i = 0; i < kdpc_errorlog_count(m); i++)
        timeout_logged |= kdpc_errorlog_entry_at(m, i)->ErrorCode == IO_ERR_TIMEOUT;
    assert_true(timeout_logged);
    kdpc_machine_destroy(m);
}

static void test_lost_interrupts_end_in_timeout_status(void **state)
{
    (void)state;
    disk_sim_report rep;
    ex_result r;
    kdpc_machine *m;
    fault_run(KDPC_FAULT_LOST_INTERRUPT, 950, 1 * MS, &rep, &r, &m);
    assert_true(r.requests_failed > 0); /* STATUS_IO_TIMEOUT, else lost */
    assert_int_equal(rep.failed, r.requests_failed);
    kdpc_machine_destroy(m);
}

static void test_late_and_spurious_interrupts(void **state)
{
    (void)state;
    disk_sim_report rep;
    ex_result r;
    kdpc_machine *m;
    fault_run(KDPC_FAULT_LATE_INTERRUPT, 200, 20 * MS, &rep, &r, &m);
    assert_int_equal(rep.timeouts, 0); /* 1 ms late is well inside the watchdog */
    assert_int_equal(r.errorlog, 0);
    kdpc_machine_destroy(m);
    fault_run(KDPC_FAULT_SPURIOUS_INTERRUPT, 300, 20 * MS, &rep, &r, &m);
    assert_true(rep.spurious > 0); /* the ISR said FALSE to them */
    assert_int_equal(r.errorlog, 0);
    kdpc_machine_destroy(m);
}

static void test_clean_over_50_seeds(void **state)
{
    (void)state;
    static const unsigned cpus[] = {1, 2, 4};
    for (unsigned c = 0; c < 3; c++) {
        kdpc_machine *m = kt_machine(cpus[c], 1);
        for (uint64_t seed = 1; seed <= 50; seed++) {
            if (seed > 1)
                assert_int_equal(kdpc_machine_reset(m, seed), KDPC_OK);
            bool heavy = seed % 2 == 0;
            /* heavy: two 1 MiB requests per worker at least, so both units' queues, the
             * controller handover and the DPCs of both units overlap; light: a few each */
            ex_options o = opts(heavy ? EX_LOAD_HEAVY : EX_LOAD_LIGHT, heavy ? 4 * MS : 80 * MS,
                                seed % 3 == 0 ? 30 : 0);
            ex_result r;
            ex_disk.run(m, &o, &r);
            if (!ex_clean(m, &r))
                print_error("cpus %u seed %llu\n", cpus[c], (unsigned long long)seed);
            assert_clean_run(m, &r);
            assert_true(r.requests > 0);
        }
        kdpc_machine_destroy(m);
    }
}

/* The controller pulled out while requests are on it, queued behind it, or between two pieces:
 * each comes back once (done, or STATUS_NO_SUCH_DEVICE), the data on the media is what the
 * workload believes, the hardware is given back with nothing held (no channel, no map
 * register, no controller object), and the driver unloads. */
static void test_surprise_removal_with_requests_in_flight(void **state)
{
    (void)state;
    static const unsigned cpus[] = {1, 2, 4};
    unsigned busy = 0, failed_runs = 0, runs = 0;
    for (unsigned c = 0; c < 3; c++) {
        kdpc_machine *m = kt_machine(cpus[c], 1);
        for (uint64_t seed = 1; seed <= 16; seed++) {
            if (seed > 1)
                assert_int_equal(kdpc_machine_reset(m, seed), KDPC_OK);
            bool heavy = seed % 4 != 0;
            /* heavy: a 1 MiB request takes about 2.4 ms; light: one every 2 to 20 ms */
            uint64_t after = heavy ? 100000u + seed * 211000u % 5000000u : seed * 3 * MS;
            /* every third run with lost and late interrupts, pulled once the watchdog (50 ms)
             * has had a go: it races the removal */
            bool faults = seed % 3 == 0;
            if (faults)
                after += 50 * MS;
            ex_options o = opts(heavy ? EX_LOAD_HEAVY : EX_LOAD_LIGHT, 200 * MS, faults ? 100 : 0);
            unsigned kinds = (1u << KDPC_FAULT_LOST_INTERRUPT) | (1u << KDPC_FAULT_LATE_INTERRUPT);
            disk_sim_report rep;
            ex_result r;
            disk_sim_run_surprise(m, &o, kinds, after, &rep, &r);
            if (!ex_clean(m, &r))
                print_error("cpus %u seed %llu, pulled at %llu ns\n", cpus[c],
                            (unsigned long long)seed, (unsigned long long)after);
            assert_clean_run(m, &r);
            assert_true(r.virtual_ns < 200 * MS); /* the workers stopped at the removal */
            runs++;
            busy += rep.busy_at_unplug;
            failed_runs += r.requests_failed > 0;
        }
        kdpc_machine_destroy(m);
    }
    /* most heavy runs pull it with a command on the controller */
    assert_true(busy >= runs / 2);
    assert_true(failed_runs >= busy);
}

static void test_broken_variants_caught(void **state)
{
    (void)state;
    assert_true(ex_disk.nvariants >= 2);
    for (size_t i = 0; i < ex_disk.nvariants; i++) {
        const ex_variant *v = &ex_disk.variants[i];
        assert_ptr_equal(ex_find_variant(&ex_disk, v->name), v);
        /* caught on both loads, on 1 and 4 CPUs, whatever the seed (three of them here) */
        for (unsigned k = 0; k < 12; k++) {
            uint64_t seed = 7 + k % 3;
            kdpc_machine *m = kt_machine(k / 3 % 2 == 0 ? 1 : 4, seed);
            ex_options o = opts(k < 6 ? EX_LOAD_HEAVY : EX_LOAD_LIGHT, 2 * MS, 0);
            ex_result r;
            o.variant = v;
            ex_disk.run(m, &o, &r);
            if (kdpc_machine_find_violation(m, v->rule) == NULL)
                print_error("variant %s: rule %s not reported (status %d, run %u)\n", v->name,
                            v->rule, (int)r.status, k);
            assert_non_null(kdpc_machine_find_violation(m, v->rule));
            assert_false(ex_clean(m, &r));
            /* the clean driver under the same seed */
            assert_int_equal(kdpc_machine_reset(m, seed), KDPC_OK);
            o.variant = NULL;
            ex_disk.run(m, &o, &r);
            assert_clean_run(m, &r);
            kdpc_machine_destroy(m);
        }
    }
    assert_null(ex_find_variant(&ex_disk, "no-such-variant"));
}

static void test_same_seed_same_numbers(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(4, 99);
    ex_options o = opts(EX_LOAD_HEAVY, 10 * MS, 40);
    ex_result a, b;
    ex_disk.run(m, &o, &a);
    assert_clean_run(m, &a);
    assert_true(a.faults > 0);
    assert_int_equal(kdpc_machine_reset(m, 99), KDPC_OK);
    ex_disk.run(m, &o, &b);
    assert_clean_run(m, &b);
    ex_assert_same_numbers(&a, &b);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_light_reads_writes_and_info),
        cmocka_unit_test(test_heavy_requests_split_in_pieces),
        cmocka_unit_test(test_transfer_error_retried_and_logged),
        cmocka_unit_test(test_transfer_error_fails_after_retries),
        cmocka_unit_test(test_short_transfer_retried),
        cmocka_unit_test(test_lost_interrupt_watchdog),
        cmocka_unit_test(test_lost_interrupts_end_in_timeout_status),
        cmocka_unit_test(test_late_and_spurious_interrupts),
        cmocka_unit_test(test_clean_over_50_seeds),
        cmocka_unit_test(test_surprise_removal_with_requests_in_flight),
        cmocka_unit_test(test_broken_variants_caught),
        cmocka_unit_test(test_same_seed_same_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
