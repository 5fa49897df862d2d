/* SPDX-License-Identifier: MIT */
/*
 * test_machine.c - the native machine API contract (include/kdpc/machine.h,
 * verifier.h, trace.h, status.h): configuration defaults, bad configs,
 * NULL machines, runs (nested, repeated), virtual time, the current
 * machine, WDM calls outside a run, and machine lifecycles.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#include <errno.h>
#include <pthread.h>

static void empty_entry(void *ctx)
{
    (void)ctx;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

static void test_config_init_fills_every_documented_default(void **state)
{
    (void)state;
    kdpc_config cfg;
    memset(&cfg, 0xA5, sizeof(cfg)); /* garbage: every field must be written */
    kdpc_config_init(&cfg);
    assert_int_equal(cfg.cpus, 1);
    assert_int_equal(cfg.seed, 0);
    assert_int_equal(cfg.policy, KDPC_POLICY_RANDOM);
    assert_int_equal(cfg.call_cost_ns, 100);
    assert_int_equal(cfg.clock_tick_ns, 15625000);
    assert_int_equal(cfg.dpc_time_limit_ns, 100000);     /* 6.1: 100 us per DPC call */
    assert_int_equal(cfg.isr_time_limit_ns, 25000);      /* 6.2: 25 us per ISR call */
    assert_int_equal(cfg.spinlock_hold_limit_ns, 25000); /* 6.3: 25 us per lock hold */
    assert_int_equal(cfg.dpc_stall_limit_us, 100);       /* 6.4 */
    assert_int_equal(cfg.stall_limit_us, 50);            /* 6.4 */
    assert_int_equal(cfg.watchdog_single_ns, 100000000);
    assert_int_equal(cfg.watchdog_cumulative_ns, 500000000);
    assert_int_equal(cfg.yield_threshold_ns, 100000);
    assert_int_equal(cfg.storm_threshold, 64);
    assert_int_equal(cfg.interrupt_delay_permille, 500);
    assert_int_equal(cfg.trace_capacity, 0);
    assert_ptr_equal(cfg.log, stderr);
    assert_int_equal(cfg.thread_stack_size, 1u << 20);
}

static void test_config_init_null_is_ignored(void **state)
{
    (void)state;
    kdpc_config_init(NULL); /* must not crash */
}

static void expect_create_einval(const kdpc_config *cfg)
{
    errno = 0;
    kdpc_machine *m = kdpc_machine_create(cfg);
    assert_null(m);
    assert_int_equal(errno, EINVAL);
    kdpc_machine_destroy(m);
}

static void test_create_rejects_bad_configs_with_einval(void **state)
{
    (void)state;
    expect_create_einval(NULL);

    kdpc_config cfg = kt_config(0, 1);
    expect_create_einval(&cfg);

    cfg = kt_config(KDPC_MAX_CPUS + 1, 1);
    assert_int_equal(cfg.cpus, 65);
    expect_create_einval(&cfg);

    cfg = kt_config(2, 1);
    cfg.policy = (kdpc_policy)7;
    expect_create_einval(&cfg);

    cfg = kt_config(2, 1);
    cfg.clock_tick_ns = 0;
    expect_create_einval(&cfg);
}

typedef struct cpu_probe {
    kdpc_machine *m;
    kdpc_machine *current;
    ULONG active;
    KAFFINITY mask;
    ULONG cpu;
    KIRQL irql;
    int ran;
} cpu_probe;

static void probe_entry(void *ctx)
{
    cpu_probe *p = ctx;
    p->current = kdpc_current_machine();
    p->active = KeQueryActiveProcessorCount(&p->mask);
    p->cpu = KeGetCurrentProcessorNumber();
    p->irql = KeGetCurrentIrql();
    p->ran++;
}

static void check_machine_with(unsigned cpus)
{
    kdpc_config cfg = kt_config(cpus, 77);
    cfg.seed = 77;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_cpu_count(m), cpus);
    assert_int_equal(kdpc_machine_seed(m), 77);
    assert_int_equal(kdpc_machine_time_ns(m), 0);
    assert_false(kdpc_machine_halted(m));
    cpu_probe p = {.m = m};
    assert_int_equal(kdpc_machine_run(m, probe_entry, &p), KDPC_OK);
    assert_int_equal(p.ran, 1);
    assert_ptr_equal(p.current, m);
    assert_int_equal(p.active, cpus);
    KAFFINITY all = cpus >= 64 ? ~(KAFFINITY)0 : (((KAFFINITY)1 << cpus) - 1u);
    assert_true(p.mask == all);
    /* The entry runs as a system thread at PASSIVE_LEVEL on CPU 0 (machine.h). */
    assert_int_equal(p.cpu, 0);
    assert_int_equal(p.irql, PASSIVE_LEVEL);
    assert_false(kdpc_machine_halted(m));
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_create_works_for_1_2_and_64_cpus(void **state)
{
    (void)state;
    check_machine_with(1);
    check_machine_with(2);
    check_machine_with(KDPC_MAX_CPUS);
}

/* ------------------------------------------------------------------ */
/* NULL machine                                                        */

static void test_every_native_call_with_a_null_machine_is_harmless(void **state)
{
    (void)state;
    assert_int_equal(kdpc_machine_run(NULL, empty_entry, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_machine_time_ns(NULL), 0);
    assert_int_equal(kdpc_machine_cpu_count(NULL), 0);
    assert_int_equal(kdpc_machine_seed(NULL), 0);
    assert_false(kdpc_machine_halted(NULL));
    assert_null(kdpc_machine_bugcheck(NULL));
    assert_int_equal(kdpc_machine_violation_count(NULL), 0);
    assert_null(kdpc_machine_violation(NULL, 0));
    assert_null(kdpc_machine_find_violation(NULL, "spinlock.recursive"));
    assert_null(kdpc_machine_deadlock_report(NULL));
    assert_int_equal(kdpc_line_assert(NULL, 3), KDPC_EINVAL);
    assert_int_equal(kdpc_line_deassert(NULL, 3), KDPC_EINVAL);
    assert_false(kdpc_line_pending(NULL, 3));
    assert_int_equal(kdpc_rule_set(NULL, "spinlock.recursive", KDPC_RULE_WARN), KDPC_EINVAL);
    assert_int_equal(kdpc_rule_action_of(NULL, "spinlock.recursive"), KDPC_RULE_DEFAULT);
    assert_int_equal(kdpc_name_routine(NULL, (kdpc_routine_ptr)empty_entry, "empty"), KDPC_EINVAL);
    assert_int_equal(kdpc_trace_count(NULL), 0);
    assert_null(kdpc_trace_event(NULL, 0));
    assert_int_equal(kdpc_trace_total(NULL), 0);
    assert_int_equal(kdpc_trace_digest(NULL), 0);
    assert_int_equal(kdpc_trace_dump(NULL, stderr), KDPC_EINVAL);
    kdpc_machine_destroy(NULL);
}

static void test_null_arguments_on_a_real_machine_are_rejected(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_rule_set(m, NULL, KDPC_RULE_WARN), KDPC_EINVAL);
    assert_int_equal(kdpc_rule_set(m, "spinlock.recursive", (kdpc_rule_action)9), KDPC_EINVAL);
    assert_int_equal(kdpc_rule_set(m, "no.such_rule", KDPC_RULE_WARN), KDPC_ENOENT);
    assert_int_equal(kdpc_name_routine(m, NULL, "x"), KDPC_EINVAL);
    assert_int_equal(kdpc_name_routine(m, (kdpc_routine_ptr)empty_entry, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_name_routine(m, (kdpc_routine_ptr)empty_entry, "empty"), KDPC_OK);
    assert_null(kdpc_machine_find_violation(m, NULL));
    assert_null(kdpc_machine_violation(m, 0));
    assert_null(kdpc_machine_bugcheck(m));
    assert_null(kdpc_machine_deadlock_report(m));
    assert_int_equal(kdpc_trace_dump(m, NULL), KDPC_EINVAL);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Interrupt lines                                                     */

static void test_line_assert_rejects_lines_beyond_the_last(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_line_assert(m, KDPC_MAX_LINES), KDPC_EINVAL);
    assert_int_equal(kdpc_line_deassert(m, KDPC_MAX_LINES), KDPC_EINVAL);
    assert_int_equal(kdpc_line_assert(m, 0xFFFFFFFFu), KDPC_EINVAL);
    assert_false(kdpc_line_pending(m, KDPC_MAX_LINES));
    /* The last line exists; with no interrupt object it stays pending (machine.h). */
    assert_false(kdpc_line_pending(m, KDPC_MAX_LINES - 1));
    assert_int_equal(kdpc_line_assert(m, KDPC_MAX_LINES - 1), KDPC_OK);
    assert_true(kdpc_line_pending(m, KDPC_MAX_LINES - 1));
    assert_int_equal(kdpc_line_deassert(m, KDPC_MAX_LINES - 1), KDPC_OK);
    assert_false(kdpc_line_pending(m, KDPC_MAX_LINES - 1));
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Status texts                                                        */

static void test_strerror_has_a_text_for_every_status_and_unknown_values(void **state)
{
    (void)state;
    static const struct {
        kdpc_status st;
        const char *text;
    } all[] = {
#define KT_STATUS_ROW_(name, value, text) {name, text},
        KDPC_STATUS_MAP(KT_STATUS_ROW_)
#undef KT_STATUS_ROW_
    };
    size_t n = sizeof(all) / sizeof(all[0]);
    assert_int_equal(n, 13);
    for (size_t i = 0; i < n; i++) {
        const char *s = kdpc_strerror(all[i].st);
        assert_non_null(s);
        assert_string_equal(s, all[i].text);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(s, kdpc_strerror(all[k].st));
    }
    assert_string_equal(kdpc_strerror(KDPC_OK), "success");
    assert_int_equal(KDPC_OK, 0);
    assert_true(KDPC_BUGCHECK > 0 && KDPC_DEADLOCK > 0 && KDPC_TIMEOUT > 0);
    assert_true(KDPC_EINVAL < 0 && KDPC_E_HALTED < 0 && KDPC_EBUSY < 0);
    const int unknown[] = {4, -1, 12345, -9999};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        const char *s = kdpc_strerror((kdpc_status)unknown[i]);
        assert_non_null(s);
        assert_true(s[0] != '\0');
        for (size_t k = 0; k < n; k++)
            assert_string_not_equal(s, all[k].text);
    }
}

/* ------------------------------------------------------------------ */
/* Runs                                                                */

static void test_run_with_a_null_entry_returns_einval(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_machine_run(m, NULL, NULL), KDPC_EINVAL);
    assert_false(kdpc_machine_halted(m));
    /* The machine is still usable. */
    assert_int_equal(kdpc_machine_run(m, empty_entry, NULL), KDPC_OK);
    kdpc_machine_destroy(m);
}

typedef struct nested {
    kdpc_machine *m;
    kdpc_status from_entry;
    kdpc_status from_dpc;
    kdpc_status from_thread;
    int inner_ran;
    int dpc_ran;
    int thread_ran;
    KDPC dpc;
} nested;

static void inner_entry(void *ctx)
{
    nested *n = ctx;
    n->inner_ran++;
}

static void nested_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)a1;
    (void)a2;
    nested *n = Context;
    n->from_dpc = kdpc_machine_run(n->m, inner_entry, n);
    n->dpc_ran++;
}

static void nested_thread(PVOID ctx)
{
    nested *n = ctx;
    n->from_thread = kdpc_machine_run(n->m, inner_entry, n);
    n->thread_ran++;
}

static void nested_entry(void *ctx)
{
    nested *n = ctx;
    n->from_entry = kdpc_machine_run(n->m, inner_entry, n);
    KeInitializeDpc(&n->dpc, nested_dpc, n);
    KeInsertQueueDpc(&n->dpc, NULL, NULL); /* 4.15: has run when this returns */
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, nested_thread, n)))
        ZwClose(h);
}

static void test_run_from_inside_a_run_returns_ebusy(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 3);
    nested n = {.m = m, .from_entry = KDPC_OK, .from_dpc = KDPC_OK, .from_thread = KDPC_OK};
    assert_int_equal(kdpc_machine_run(m, nested_entry, &n), KDPC_OK);
    assert_int_equal(n.from_entry, KDPC_EBUSY);
    assert_int_equal(n.dpc_ran, 1);
    assert_int_equal(n.from_dpc, KDPC_EBUSY);
    assert_int_equal(n.thread_ran, 1);
    assert_int_equal(n.from_thread, KDPC_EBUSY);
    assert_int_equal(n.inner_ran, 0);
    assert_false(kdpc_machine_halted(m));
    kdpc_machine_destroy(m);
}

typedef struct timed {
    uint64_t before, after;
    ULONG stall_us;
    int calls;
} timed;

static void timed_entry(void *ctx)
{
    timed *t = ctx;
    kdpc_machine *m = kdpc_current_machine();
    t->before = kdpc_machine_time_ns(m);
    for (int i = 0; i < t->calls; i++)
        KeStallExecutionProcessor(t->stall_us);
    t->after = kdpc_machine_time_ns(m);
}

static void test_two_runs_in_a_row_both_work_and_time_keeps_increasing(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 9);
    timed a = {.stall_us = 3, .calls = 4};
    assert_int_equal(kdpc_machine_run(m, timed_entry, &a), KDPC_OK);
    uint64_t t1 = kdpc_machine_time_ns(m);
    assert_true(t1 >= a.after);
    assert_true(a.after > a.before);
    timed b = {.stall_us = 3, .calls = 4};
    assert_int_equal(kdpc_machine_run(m, timed_entry, &b), KDPC_OK);
    uint64_t t2 = kdpc_machine_time_ns(m);
    /* State carries over: the second run starts where the first ended. */
    assert_true(b.before >= t1);
    assert_true(t2 > t1);
    assert_true(t2 - t1 >= 4u * 3000u);
    assert_false(kdpc_machine_halted(m));
    kdpc_machine_destroy(m);
}

static void test_virtual_time_is_exactly_the_stalls_when_calls_are_free(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 5);
    cfg.call_cost_ns = 0;
    cfg.stall_limit_us = 1000; /* no dpc.stall_too_long warning for this stall */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    timed t = {.stall_us = 123, .calls = 1};
    assert_int_equal(kdpc_machine_run(m, timed_entry, &t), KDPC_OK);
    assert_int_equal(t.before, 0);
    assert_int_equal(t.after, 123000);
    assert_int_equal(kdpc_machine_time_ns(m), 123000);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_each_kernel_call_costs_call_cost_ns(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 5);
    cfg.call_cost_ns = 250;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    timed t = {.stall_us = 7, .calls = 10};
    assert_int_equal(kdpc_machine_run(m, timed_entry, &t), KDPC_OK);
    /* Ten stalls of 7 us, each a kernel call of 250 ns. */
    assert_int_equal(t.after - t.before, 10u * (7000u + 250u));
    kdpc_machine_destroy(m);
}

typedef struct whereami {
    kdpc_machine *in_entry;
    kdpc_machine *in_dpc;
    kdpc_machine *in_thread;
    KDPC dpc;
} whereami;

static void where_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)a1;
    (void)a2;
    ((whereami *)Context)->in_dpc = kdpc_current_machine();
}

static void where_thread(PVOID ctx)
{
    ((whereami *)ctx)->in_thread = kdpc_current_machine();
}

static void where_entry(void *ctx)
{
    whereami *w = ctx;
    w->in_entry = kdpc_current_machine();
    KeInitializeDpc(&w->dpc, where_dpc, w);
    KeInsertQueueDpc(&w->dpc, NULL, NULL);
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, where_thread, w)))
        ZwClose(h);
}

static void test_current_machine_is_the_running_machine_inside_and_null_outside(void **state)
{
    (void)state;
    assert_null(kdpc_current_machine());
    kdpc_machine *m = kt_machine(2, 11);
    assert_null(kdpc_current_machine());
    whereami w = {0};
    assert_int_equal(kdpc_machine_run(m, where_entry, &w), KDPC_OK);
    assert_ptr_equal(w.in_entry, m);
    assert_ptr_equal(w.in_dpc, m);
    assert_ptr_equal(w.in_thread, m);
    assert_null(kdpc_current_machine());
    kdpc_machine_destroy(m);
    assert_null(kdpc_current_machine());
}

static int outside_dpc_ran;

static void outside_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)Context;
    (void)a1;
    (void)a2;
    outside_dpc_ran++;
}

static void test_wdm_calls_outside_a_run_return_neutral_values(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 1);
    outside_dpc_ran = 0;
    KDPC dpc;
    KeInitializeDpc(&dpc, outside_dpc, NULL); /* 4.2: any IRQL, plain initialisation */
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(KeInsertQueueDpc(&dpc, NULL, NULL), FALSE);
    assert_null(dpc.DpcData);
    assert_int_equal(KeRemoveQueueDpc(&dpc), FALSE);
    assert_int_equal(KeGetCurrentProcessorNumber(), 0);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    assert_int_equal(lock, 0);
    KeStallExecutionProcessor(10);
    assert_int_equal(KeQueryInterruptTime(), 0);
    assert_int_equal(kdpc_machine_time_ns(m), 0);
    assert_null(kdpc_current_machine());
    /* The machine is untouched: nothing was queued, a run works and runs no DPC. */
    assert_int_equal(kdpc_machine_run(m, empty_entry, NULL), KDPC_OK);
    assert_int_equal(outside_dpc_ran, 0);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */

static void test_destroy_without_any_run_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(4, 1);
    kdpc_machine_destroy(m);
    kdpc_config cfg = kt_config(1, 0);
    cfg.trace_capacity = 128;
    m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_machine_destroy(m);
}

typedef struct loop_ctx {
    KSPIN_LOCK lock;
    LONG count;
    KDPC dpc;
} loop_ctx;

static void loop_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)a1;
    (void)a2;
    loop_ctx *c = Context;
    KeAcquireSpinLockAtDpcLevel(&c->lock);
    c->count++;
    KeReleaseSpinLockFromDpcLevel(&c->lock);
}

static void loop_thread(PVOID ctx)
{
    loop_ctx *c = ctx;
    KIRQL old;
    KeAcquireSpinLock(&c->lock, &old);
    c->count++;
    KeReleaseSpinLock(&c->lock, old);
}

static void loop_entry(void *ctx)
{
    loop_ctx *c = ctx;
    KeInitializeSpinLock(&c->lock);
    KeInitializeDpc(&c->dpc, loop_dpc, c);
    KeSetTargetProcessorDpc(&c->dpc, 1);
    KeInsertQueueDpc(&c->dpc, NULL, NULL);
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, loop_thread, c)))
        ZwClose(h);
}

static void test_fifty_machines_created_and_destroyed_in_a_loop(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 50; i++) {
        kdpc_config cfg = kt_config(1 + i % 4, i);
        if (i % 3 == 0)
            cfg.trace_capacity = 64;
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        if (i % 2 == 0) {
            loop_ctx c = {0};
            assert_int_equal(kdpc_machine_run(m, loop_entry, &c), KDPC_OK);
            assert_int_equal(c.count, 2);
        }
        kdpc_machine_destroy(m);
    }
}

typedef struct twin {
    kdpc_machine *m;
    unsigned cpus;
    loop_ctx work;
    kdpc_machine *seen;
    ULONG active;
    kdpc_status st;
} twin;

static void twin_entry(void *ctx)
{
    twin *t = ctx;
    t->seen = kdpc_current_machine();
    t->active = KeQueryActiveProcessorCount(NULL);
    loop_entry(&t->work);
}

static void *twin_host(void *arg)
{
    twin *t = arg;
    t->st = kdpc_machine_run(t->m, twin_entry, t);
    return NULL;
}

static void test_two_machines_alive_at_once_each_run_their_own_entry(void **state)
{
    (void)state;
    twin a = {.m = kt_machine(2, 21), .cpus = 2};
    twin b = {.m = kt_machine(3, 22), .cpus = 3};
    /* One after the other, both alive. */
    a.st = kdpc_machine_run(a.m, twin_entry, &a);
    b.st = kdpc_machine_run(b.m, twin_entry, &b);
    assert_int_equal(a.st, KDPC_OK);
    assert_int_equal(b.st, KDPC_OK);
    assert_ptr_equal(a.seen, a.m);
    assert_ptr_equal(b.seen, b.m);
    assert_int_equal(a.active, 2);
    assert_int_equal(b.active, 3);
    assert_int_equal(a.work.count, 2);
    assert_int_equal(b.work.count, 2);
    /* At the same time, from two host threads. */
    memset(&a.work, 0, sizeof(a.work));
    memset(&b.work, 0, sizeof(b.work));
    a.seen = b.seen = NULL;
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, twin_host, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, twin_host, &b), 0);
    assert_int_equal(pthread_join(ta, NULL), 0);
    assert_int_equal(pthread_join(tb, NULL), 0);
    assert_int_equal(a.st, KDPC_OK);
    assert_int_equal(b.st, KDPC_OK);
    assert_ptr_equal(a.seen, a.m);
    assert_ptr_equal(b.seen, b.m);
    assert_int_equal(a.work.count, 2);
    assert_int_equal(b.work.count, 2);
    kdpc_machine_destroy(a.m);
    kdpc_machine_destroy(b.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_init_fills_every_documented_default),
        cmocka_unit_test(test_config_init_null_is_ignored),
        cmocka_unit_test(test_create_rejects_bad_configs_with_einval),
        cmocka_unit_test(test_create_works_for_1_2_and_64_cpus),
        cmocka_unit_test(test_every_native_call_with_a_null_machine_is_harmless),
        cmocka_unit_test(test_null_arguments_on_a_real_machine_are_rejected),
        cmocka_unit_test(test_line_assert_rejects_lines_beyond_the_last),
        cmocka_unit_test(test_strerror_has_a_text_for_every_status_and_unknown_values),
        cmocka_unit_test(test_run_with_a_null_entry_returns_einval),
        cmocka_unit_test(test_run_from_inside_a_run_returns_ebusy),
        cmocka_unit_test(test_two_runs_in_a_row_both_work_and_time_keeps_increasing),
        cmocka_unit_test(test_virtual_time_is_exactly_the_stalls_when_calls_are_free),
        cmocka_unit_test(test_each_kernel_call_costs_call_cost_ns),
        cmocka_unit_test(test_current_machine_is_the_running_machine_inside_and_null_outside),
        cmocka_unit_test(test_wdm_calls_outside_a_run_return_neutral_values),
        cmocka_unit_test(test_destroy_without_any_run_is_clean),
        cmocka_unit_test(test_fifty_machines_created_and_destroyed_in_a_loop),
        cmocka_unit_test(test_two_machines_alive_at_once_each_run_their_own_entry),
    };
    return cmocka_run_group_tests_name("machine", tests, NULL, NULL);
}
