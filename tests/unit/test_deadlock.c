/* SPDX-License-Identifier: MIT */
/*
 * test_deadlock.c - the end of a run when no CPU can make progress
 * (include/kdpc/machine.h, DESIGN.md "Execution model"): two CPUs taking
 * two spin locks in opposite orders, a recursive acquire, and a thread
 * blocked in KeFlushQueuedDpcs that is not a deadlock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NSEEDS 64

/* ------------------------------------------------------------------ */
/* Two locks in opposite orders (2.17, 2.20: nested locks always in the same order) */

typedef struct abba {
    KSPIN_LOCK a;
    KSPIN_LOCK b;
    LONG done;
    int cpu_of[2];
} abba;

static void take_two(abba *s, int who, PKSPIN_LOCK first, PKSPIN_LOCK second)
{
    /* Pin thread `who` to CPU `who`, so each order runs on its own CPU. */
    KeSetSystemAffinityThreadEx((KAFFINITY)1 << who);
    s->cpu_of[who] = (int)KeGetCurrentProcessorNumber();
    KIRQL old;
    KeAcquireSpinLock(first, &old);
    KeStallExecutionProcessor(1); /* interleaving points while holding the first lock */
    KeStallExecutionProcessor(1);
    KeAcquireSpinLockAtDpcLevel(second);
    s->done++;
    KeReleaseSpinLockFromDpcLevel(second);
    KeReleaseSpinLock(first, old);
}

static void abba_thread(PVOID ctx)
{
    abba *s = ctx;
    take_two(s, 1, &s->b, &s->a);
}

static void abba_entry(void *ctx)
{
    abba *s = ctx;
    KeInitializeSpinLock(&s->a);
    KeInitializeSpinLock(&s->b);
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, abba_thread, s)))
        ZwClose(h);
    take_two(s, 0, &s->a, &s->b);
}

/* A quiet machine with exactly @seed (these tests search seeds: no override). */
static kdpc_machine *seeded_machine(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.seed = seed;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static kdpc_machine *abba_machine(uint64_t seed)
{
    kdpc_machine *m = seeded_machine(2, seed);
    /* The order checker would stop the run at the second order before any real deadlock. */
    assert_int_equal(kdpc_rule_set(m, "spinlock.order", KDPC_RULE_OFF), KDPC_OK);
    return m;
}

static void test_opposite_lock_orders_deadlock_for_some_seeds_and_not_others(void **state)
{
    (void)state;
    unsigned deadlocks = 0, oks = 0;
    for (uint64_t seed = 0; seed < NSEEDS; seed++) {
        kdpc_machine *m = abba_machine(seed);
        abba s = {0};
        kdpc_status st = kdpc_machine_run(m, abba_entry, &s);
        if (st == KDPC_DEADLOCK) {
            deadlocks++;
            assert_true(s.done < 2);
            assert_true(kdpc_machine_halted(m));
            assert_non_null(kdpc_machine_deadlock_report(m));
            assert_null(kdpc_machine_bugcheck(m)); /* a deadlock is not a bug check */
        } else {
            assert_int_equal(st, KDPC_OK);
            oks++;
            assert_int_equal(s.done, 2);
            assert_int_equal(s.cpu_of[0], 0);
            assert_int_equal(s.cpu_of[1], 1);
            assert_false(kdpc_machine_halted(m));
            assert_null(kdpc_machine_deadlock_report(m));
        }
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
    assert_true(deadlocks > 0);
    assert_true(oks > 0);
}

/* The first seed in 0..NSEEDS-1 whose run deadlocks. */
static uint64_t first_deadlocking_seed(void)
{
    for (uint64_t seed = 0; seed < NSEEDS; seed++) {
        kdpc_machine *m = abba_machine(seed);
        abba s = {0};
        kdpc_status st = kdpc_machine_run(m, abba_entry, &s);
        kdpc_machine_destroy(m);
        if (st == KDPC_DEADLOCK)
            return seed;
    }
    fail_msg("no seed in 0..%d deadlocks", NSEEDS - 1);
    return 0;
}

static void test_deadlock_report_names_both_cpus_and_what_they_spin_on(void **state)
{
    (void)state;
    uint64_t seed = first_deadlocking_seed();
    kdpc_machine *m = abba_machine(seed);
    abba s = {0};
    assert_int_equal(kdpc_machine_run(m, abba_entry, &s), KDPC_DEADLOCK);
    const char *r = kdpc_machine_deadlock_report(m);
    assert_non_null(r);
    if (getenv("KDPC_TEST_LOG") != NULL)
        print_message("%s", r);
    assert_non_null(strstr(r, "CPU 0"));
    assert_non_null(strstr(r, "CPU 1"));
    const char *spin = strstr(r, "spins on");
    assert_non_null(spin);
    assert_non_null(strstr(spin + 1, "spins on")); /* both CPUs spin */
    /* Each spins on the lock the other holds. */
    assert_non_null(strstr(r, "held by CPU 0"));
    assert_non_null(strstr(r, "held by CPU 1"));
    kdpc_machine_destroy(m);
}

static void test_the_same_seed_deadlocks_again(void **state)
{
    (void)state;
    uint64_t seed = first_deadlocking_seed();
    for (int i = 0; i < 3; i++) {
        kdpc_machine *m = abba_machine(seed);
        abba s = {0};
        assert_int_equal(kdpc_machine_run(m, abba_entry, &s), KDPC_DEADLOCK);
        kdpc_machine_destroy(m);
    }
}

static void empty_entry(void *ctx)
{
    (void)ctx;
}

static void test_after_a_deadlock_the_machine_is_halted(void **state)
{
    (void)state;
    uint64_t seed = first_deadlocking_seed();
    kdpc_machine *m = abba_machine(seed);
    abba s = {0};
    assert_int_equal(kdpc_machine_run(m, abba_entry, &s), KDPC_DEADLOCK);
    assert_true(kdpc_machine_halted(m));
    uint64_t t = kdpc_machine_time_ns(m);
    /* STYLE.md 3.3 and status.h: once halted only reports and destroy are allowed. */
    assert_int_equal(kdpc_machine_run(m, empty_entry, NULL), KDPC_E_HALTED);
    assert_int_equal(kdpc_machine_run(m, abba_entry, &s), KDPC_E_HALTED);
    assert_true(kdpc_machine_halted(m));
    assert_int_equal(kdpc_machine_time_ns(m), t);
    assert_non_null(kdpc_machine_deadlock_report(m));
    assert_int_equal(kdpc_line_assert(m, 3), KDPC_E_HALTED);
    assert_int_equal(kdpc_line_deassert(m, 3), KDPC_E_HALTED);
    kdpc_machine_destroy(m); /* clean: both stuck threads unwind */
}

/* ------------------------------------------------------------------ */
/* Recursive acquire (2.17: "guaranteed to cause a deadlock")          */

typedef struct recursive {
    KSPIN_LOCK lock;
    int reached;
} recursive;

static void recursive_entry(void *ctx)
{
    recursive *r = ctx;
    KeInitializeSpinLock(&r->lock);
    KIRQL old;
    KeAcquireSpinLock(&r->lock, &old);
    r->reached = 1;
    KeAcquireSpinLockAtDpcLevel(&r->lock); /* spins forever on an MP free kernel */
    r->reached = 2;
    KeReleaseSpinLockFromDpcLevel(&r->lock);
    KeReleaseSpinLock(&r->lock, old);
}

static void test_recursive_acquire_as_a_warning_deadlocks_one_cpu(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 4);
    assert_int_equal(kdpc_rule_set(m, "spinlock.recursive", KDPC_RULE_WARN), KDPC_OK);
    recursive r = {0};
    assert_int_equal(kdpc_machine_run(m, recursive_entry, &r), KDPC_DEADLOCK);
    assert_int_equal(r.reached, 1);
    KT_ASSERT_WARNING(m, "spinlock.recursive");
    assert_null(kdpc_machine_bugcheck(m));
    assert_true(kdpc_machine_halted(m));
    const char *rep = kdpc_machine_deadlock_report(m);
    assert_non_null(rep);
    assert_non_null(strstr(rep, "CPU 0"));
    assert_non_null(strstr(rep, "spins on"));
    assert_non_null(strstr(rep, "held by CPU 0"));
    assert_int_equal(kdpc_machine_run(m, empty_entry, NULL), KDPC_E_HALTED);
    kdpc_machine_destroy(m);
}

static void test_recursive_acquire_as_a_warning_deadlocks_on_two_cpus_too(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 4);
    assert_int_equal(kdpc_rule_set(m, "spinlock.recursive", KDPC_RULE_WARN), KDPC_OK);
    recursive r = {0};
    assert_int_equal(kdpc_machine_run(m, recursive_entry, &r), KDPC_DEADLOCK);
    assert_int_equal(r.reached, 1);
    KT_ASSERT_WARNING(m, "spinlock.recursive");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* KeFlushQueuedDpcs blocks, but the DPCs can run: not a deadlock (4.22) */

typedef struct flushing {
    KDPC dpc[2];
    LONG started;
    LONG finished;
    LONG finished_before_flush;
    LONG finished_seen_after_flush;
    ULONG ran_on[2];
} flushing;

static void slow_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)a1;
    (void)a2;
    flushing *f = Context;
    unsigned i = Dpc == &f->dpc[0] ? 0u : 1u;
    f->ran_on[i] = KeGetCurrentProcessorNumber();
    f->started++;
    for (int k = 0; k < 5; k++)
        KeStallExecutionProcessor(4); /* interleaving points inside the DPC */
    f->finished++;
}

static void flush_entry(void *ctx)
{
    flushing *f = ctx;
    ULONG ncpu = KeQueryActiveProcessorCount(NULL);
    for (unsigned i = 0; i < 2; i++) {
        KeInitializeDpc(&f->dpc[i], slow_dpc, f);
        KeSetTargetProcessorDpc(&f->dpc[i], (CCHAR)((i + 1) % ncpu));
    }
    /* Queued at DISPATCH_LEVEL: one on this CPU runs in KeLowerIrql (4.15); one on another
     * CPU runs there whenever that CPU is scheduled, and may still be queued or running
     * when the flush starts. */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeInsertQueueDpc(&f->dpc[0], NULL, NULL);
    KeInsertQueueDpc(&f->dpc[1], NULL, NULL);
    KeLowerIrql(old);
    f->finished_before_flush = f->finished;
    KeFlushQueuedDpcs();
    f->finished_seen_after_flush = f->finished;
}

static void test_thread_blocked_in_flush_queued_dpcs_is_not_a_deadlock(void **state)
{
    (void)state;
    unsigned flush_had_to_wait = 0;
    for (unsigned cpus = 1; cpus <= 4; cpus++) {
        for (uint64_t seed = 0; seed < 16; seed++) {
            kdpc_machine *m = seeded_machine(cpus, seed);
            flushing f = {0};
            kdpc_status st = kdpc_machine_run(m, flush_entry, &f);
            if (st != KDPC_OK)
                print_message("KDPC_SEED=%llu cpus=%u: %s\n", (unsigned long long)seed, cpus,
                              kdpc_strerror(st));
            assert_int_equal(st, KDPC_OK);
            assert_null(kdpc_machine_deadlock_report(m));
            assert_false(kdpc_machine_halted(m));
            assert_int_equal(f.started, 2);
            assert_int_equal(f.finished, 2);
            /* 4.22: every DPC queued before the call has run to completion when it returns. */
            assert_int_equal(f.finished_seen_after_flush, 2);
            if (cpus > 1) {
                assert_int_equal(f.ran_on[0], 1 % cpus);
                assert_int_equal(f.ran_on[1], 2 % cpus);
            }
            if (f.finished_before_flush < 2)
                flush_had_to_wait++;
            kdpc_machine_destroy(m);
        }
    }
    /* The check above only means something if the flush really waited in some runs. */
    assert_true(flush_had_to_wait > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opposite_lock_orders_deadlock_for_some_seeds_and_not_others),
        cmocka_unit_test(test_deadlock_report_names_both_cpus_and_what_they_spin_on),
        cmocka_unit_test(test_the_same_seed_deadlocks_again),
        cmocka_unit_test(test_after_a_deadlock_the_machine_is_halted),
        cmocka_unit_test(test_recursive_acquire_as_a_warning_deadlocks_one_cpu),
        cmocka_unit_test(test_recursive_acquire_as_a_warning_deadlocks_on_two_cpus_too),
        cmocka_unit_test(test_thread_blocked_in_flush_queued_dpcs_is_not_a_deadlock),
    };
    return cmocka_run_group_tests_name("deadlock", tests, NULL, NULL);
}
