/* SPDX-License-Identifier: MIT */
/*
 * test_determinism.c - the deterministic engine (DESIGN.md "Execution
 * model"): same seed and config give the same run, event for event; other
 * seeds give other interleavings; round-robin ignores the seed. Also the
 * trace API of include/kdpc/trace.h: ring semantics, digest, dump, names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE      9
#define NDPC      4
#define NTHREADS  2
#define LOOPS     6
#define NIRQ      3
#define TRACE_CAP ((size_t)1 << 16)

/*
 * The workload: two system threads and the entry thread share a spin-locked
 * counter; the threads queue DPCs targeted at different CPUs; the entry
 * raises an interrupt whose ISR queues another DPC. Every DPC also takes the
 * lock. All of it on one machine whose trace is compared with another's.
 */
typedef struct workload {
    kdpc_machine *m;
    KSPIN_LOCK lock;
    LONG counter;
    KDPC dpc[NDPC];
    KDPC isr_dpc;
    PKINTERRUPT intr;
    LONG volatile isr_runs;
    LONG volatile isr_dpc_runs;
    LONG dpc_runs;
    LONG threads_done;
} workload;

static void work_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)a1;
    (void)a2;
    workload *w = Context;
    KeAcquireSpinLockAtDpcLevel(&w->lock);
    w->counter++;
    w->dpc_runs++;
    KeReleaseSpinLockFromDpcLevel(&w->lock);
}

static void isr_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)a1;
    (void)a2;
    workload *w = Context;
    KeAcquireSpinLockAtDpcLevel(&w->lock);
    w->counter++;
    KeReleaseSpinLockFromDpcLevel(&w->lock);
    InterlockedIncrement(&w->isr_dpc_runs);
}

static BOOLEAN work_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    workload *w = ServiceContext;
    InterlockedIncrement(&w->isr_runs);
    KeInsertQueueDpc(&w->isr_dpc, NULL, NULL);
    return TRUE;
}

static void work_thread(PVOID ctx)
{
    workload *w = ctx;
    for (int i = 0; i < LOOPS; i++) {
        KIRQL old;
        KeAcquireSpinLock(&w->lock, &old);
        w->counter++;
        KeReleaseSpinLock(&w->lock, old);
        KeInsertQueueDpc(&w->dpc[(unsigned)i % NDPC], NULL, NULL);
        KeStallExecutionProcessor(1);
    }
    KIRQL old;
    KeAcquireSpinLock(&w->lock, &old);
    w->threads_done++;
    KeReleaseSpinLock(&w->lock, old);
}

static void work_entry(void *ctx)
{
    workload *w = ctx;
    ULONG ncpu = KeQueryActiveProcessorCount(NULL);
    KeInitializeSpinLock(&w->lock);
    for (unsigned i = 0; i < NDPC; i++) {
        KeInitializeDpc(&w->dpc[i], work_dpc, w);
        KeSetTargetProcessorDpc(&w->dpc[i], (CCHAR)(i % ncpu));
    }
    KeInitializeDpc(&w->isr_dpc, isr_dpc, w);
    KAFFINITY all = KeQueryActiveProcessors();
    if (!NT_SUCCESS(IoConnectInterrupt(&w->intr, work_isr, w, NULL, LINE, 5, 5, Latched, FALSE, all,
                                       FALSE)))
        return;
    for (int i = 0; i < NTHREADS; i++) {
        HANDLE h;
        if (NT_SUCCESS(
                PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, work_thread, w)))
            ZwClose(h);
    }
    for (int i = 0; i < NIRQ; i++) {
        kdpc_line_assert(w->m, LINE);
        while (w->isr_dpc_runs <= i)
            KeStallExecutionProcessor(1);
        KIRQL old;
        KeAcquireSpinLock(&w->lock, &old);
        w->counter++;
        KeReleaseSpinLock(&w->lock, old);
    }
    for (;;) {
        KIRQL old;
        KeAcquireSpinLock(&w->lock, &old);
        LONG done = w->threads_done;
        KeReleaseSpinLock(&w->lock, old);
        if (done == NTHREADS)
            break;
        KeStallExecutionProcessor(2);
    }
    IoDisconnectInterrupt(w->intr);
    KeFlushQueuedDpcs();
}

static kdpc_config trace_config(unsigned cpus, uint64_t seed, kdpc_policy policy, size_t cap)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.seed = seed; /* these tests compare seeds: no override from the environment */
    cfg.policy = policy;
    cfg.trace_capacity = cap;
    return cfg;
}

/* Run the workload on a fresh machine; the caller destroys it. */
static kdpc_machine *run_workload(const kdpc_config *cfg, workload *w)
{
    kdpc_machine *m = kdpc_machine_create(cfg);
    assert_non_null(m);
    memset(w, 0, sizeof(*w));
    w->m = m;
    kdpc_status st = kdpc_machine_run(m, work_entry, w);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    /* Every increment happened exactly once, whatever the interleaving. */
    assert_int_equal(w->isr_runs, NIRQ);
    assert_int_equal(w->isr_dpc_runs, NIRQ);
    /* Each of the NDPC DPCs is queued at least once; insertions into a queued DPC merge (4.18). */
    assert_true(w->dpc_runs >= NDPC && w->dpc_runs <= NTHREADS * LOOPS);
    assert_int_equal(w->threads_done, NTHREADS);
    assert_int_equal(w->counter, NTHREADS * LOOPS + NIRQ + NIRQ + w->dpc_runs);
    return m;
}

#define MAX_OBJECTS 64

/* Index of @obj among the objects seen so far (in order of first sight), adding it if new. */
static size_t object_index(uintptr_t *seen, size_t *nseen, uintptr_t obj)
{
    for (size_t i = 0; i < *nseen; i++) {
        if (seen[i] == obj)
            return i;
    }
    assert_true(*nseen < MAX_OBJECTS);
    seen[*nseen] = obj;
    return (*nseen)++;
}

/*
 * Two runs are the same when every event matches: kind, CPU, IRQL, time,
 * argument and routine, and the objects correspond one to one (the two
 * machines' objects live at different addresses, so they are compared by
 * order of first sight, as the digest does).
 */
static void assert_same_events(const kdpc_machine *a, const kdpc_machine *b)
{
    assert_int_equal(kdpc_trace_total(a), kdpc_trace_total(b));
    assert_true(kdpc_trace_digest(a) == kdpc_trace_digest(b));
    assert_int_equal(kdpc_trace_count(a), kdpc_trace_count(b));
    uintptr_t seen_a[MAX_OBJECTS], seen_b[MAX_OBJECTS];
    size_t nseen_a = 0, nseen_b = 0;
    size_t n = kdpc_trace_count(a);
    for (size_t i = 0; i < n; i++) {
        const kdpc_event *x = kdpc_trace_event(a, i);
        const kdpc_event *y = kdpc_trace_event(b, i);
        assert_non_null(x);
        assert_non_null(y);
        assert_int_equal(x->seq, y->seq);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->cpu, y->cpu);
        assert_int_equal(x->irql, y->irql);
        assert_int_equal(x->time_ns, y->time_ns);
        assert_int_equal(x->arg, y->arg);
        assert_true(x->routine == y->routine); /* same functions in this process */
        assert_int_equal(x->object == 0, y->object == 0);
        if (x->object != 0)
            assert_int_equal(object_index(seen_a, &nseen_a, x->object),
                             object_index(seen_b, &nseen_b, y->object));
    }
}

static void check_same_seed_same_run(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = trace_config(cpus, seed, KDPC_POLICY_RANDOM, TRACE_CAP);
    workload wa, wb;
    kdpc_machine *a = run_workload(&cfg, &wa);
    kdpc_machine *b = run_workload(&cfg, &wb);
    /* The whole run fits in the ring, so every event is compared. */
    assert_true(kdpc_trace_total(a) > 100);
    assert_true(kdpc_trace_total(a) <= TRACE_CAP);
    assert_int_equal(kdpc_trace_count(a), kdpc_trace_total(a));
    assert_true(kdpc_trace_digest(a) != 0);
    assert_same_events(a, b);
    assert_int_equal(kdpc_machine_time_ns(a), kdpc_machine_time_ns(b));
    assert_int_equal(wa.counter, wb.counter);
    assert_int_equal(wa.dpc_runs, wb.dpc_runs);
    kdpc_machine_destroy(a);
    kdpc_machine_destroy(b);
}

static void test_same_seed_gives_identical_events_on_2_cpus(void **state)
{
    (void)state;
    check_same_seed_same_run(2, 1234);
    check_same_seed_same_run(2, 7);
}

static void test_same_seed_gives_identical_events_on_4_cpus(void **state)
{
    (void)state;
    check_same_seed_same_run(4, 1234);
    check_same_seed_same_run(4, 99);
}

static void test_workload_uses_every_cpu_and_every_event_family(void **state)
{
    (void)state;
    kdpc_config cfg = trace_config(4, 1234, KDPC_POLICY_RANDOM, TRACE_CAP);
    workload w;
    kdpc_machine *m = run_workload(&cfg, &w);
    unsigned seen_kind[KDPC_EV_COUNT_] = {0};
    unsigned cpus_with_dpc = 0;
    bool dpc_on[4] = {false, false, false, false};
    for (size_t i = 0; i < kdpc_trace_count(m); i++) {
        const kdpc_event *e = kdpc_trace_event(m, i);
        assert_true(e->kind < KDPC_EV_COUNT_);
        seen_kind[e->kind]++;
        assert_true(e->cpu < 4);
        if (e->kind == KDPC_EV_DPC_BEGIN && !dpc_on[e->cpu]) {
            dpc_on[e->cpu] = true;
            cpus_with_dpc++;
        }
    }
    /* The comparison above is only worth something if the run mixes all of these. */
    assert_true(seen_kind[KDPC_EV_THREAD_START] >= 1 + NTHREADS);
    assert_true(seen_kind[KDPC_EV_LOCK_ACQUIRE] > 0);
    assert_true(seen_kind[KDPC_EV_DPC_INSERT] > 0);
    assert_true(seen_kind[KDPC_EV_ISR_BEGIN] == NIRQ);
    assert_true(seen_kind[KDPC_EV_CPU_SWITCH] > 0);
    assert_true(cpus_with_dpc >= 2);
    kdpc_machine_destroy(m);
}

static void check_other_seeds_differ(unsigned cpus)
{
    kdpc_config cfg = trace_config(cpus, 1, KDPC_POLICY_RANDOM, TRACE_CAP);
    workload w;
    kdpc_machine *base = run_workload(&cfg, &w);
    uint64_t d0 = kdpc_trace_digest(base);
    kdpc_machine_destroy(base);
    unsigned differ = 0;
    for (uint64_t seed = 2; seed <= 6; seed++) {
        cfg.seed = seed;
        kdpc_machine *m = run_workload(&cfg, &w);
        if (kdpc_trace_digest(m) != d0)
            differ++;
        kdpc_machine_destroy(m);
    }
    assert_true(differ >= 1);
}

static void test_different_seeds_give_different_orders(void **state)
{
    (void)state;
    check_other_seeds_differ(2);
    check_other_seeds_differ(4);
}

static void test_round_robin_policy_ignores_the_seed(void **state)
{
    (void)state;
    for (unsigned cpus = 2; cpus <= 4; cpus += 2) {
        kdpc_config cfg = trace_config(cpus, 1, KDPC_POLICY_ROUND_ROBIN, TRACE_CAP);
        workload w0;
        kdpc_machine *base = run_workload(&cfg, &w0);
        for (uint64_t seed = 2; seed <= 4; seed++) {
            cfg.seed = seed * 7919u;
            workload w;
            kdpc_machine *m = run_workload(&cfg, &w);
            assert_int_equal(kdpc_machine_seed(m), seed * 7919u);
            assert_same_events(base, m);
            kdpc_machine_destroy(m);
        }
        kdpc_machine_destroy(base);
    }
}

/* ------------------------------------------------------------------ */
/* Trace API                                                           */

static void test_trace_ring_keeps_the_newest_events_in_seq_order(void **state)
{
    (void)state;
    kdpc_config cfg = trace_config(2, 5, KDPC_POLICY_RANDOM, 8);
    workload w;
    kdpc_machine *m = run_workload(&cfg, &w);
    assert_int_equal(kdpc_trace_count(m), 8);
    uint64_t total = kdpc_trace_total(m);
    assert_true(total > 8);
    for (size_t i = 0; i < 8; i++) {
        const kdpc_event *e = kdpc_trace_event(m, i);
        assert_non_null(e);
        assert_int_equal(e->seq, total - 8 + i);
        assert_true(e->kind < KDPC_EV_COUNT_);
        if (i > 0)
            assert_true(e->time_ns >= kdpc_trace_event(m, i - 1)->time_ns);
    }
    assert_null(kdpc_trace_event(m, 8));
    assert_null(kdpc_trace_event(m, (size_t)-1));

    /* The digest covers every event, kept or not: a large ring gives the same. */
    kdpc_config big = trace_config(2, 5, KDPC_POLICY_RANDOM, TRACE_CAP);
    workload w2;
    kdpc_machine *m2 = run_workload(&big, &w2);
    assert_int_equal(kdpc_trace_total(m2), total);
    assert_true(kdpc_trace_digest(m2) == kdpc_trace_digest(m));
    for (size_t i = 0; i < 8; i++) {
        const kdpc_event *x = kdpc_trace_event(m, i);
        const kdpc_event *y = kdpc_trace_event(m2, (size_t)(total - 8 + i));
        assert_non_null(y);
        assert_int_equal(x->seq, y->seq);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->cpu, y->cpu);
        assert_int_equal(x->time_ns, y->time_ns);
        assert_int_equal(x->arg, y->arg);
    }
    kdpc_machine_destroy(m2);
    kdpc_machine_destroy(m);
}

static void test_trace_is_empty_when_tracing_is_off(void **state)
{
    (void)state;
    kdpc_config cfg = trace_config(2, 5, KDPC_POLICY_RANDOM, 0);
    workload w;
    kdpc_machine *m = run_workload(&cfg, &w);
    assert_int_equal(kdpc_trace_count(m), 0);
    assert_null(kdpc_trace_event(m, 0));
    assert_int_equal(kdpc_trace_digest(m), 0);
    kdpc_machine_destroy(m);
}

static void test_trace_dump_writes_one_line_per_kept_event(void **state)
{
    (void)state;
    kdpc_config cfg = trace_config(2, 5, KDPC_POLICY_RANDOM, 256);
    workload w;
    kdpc_machine *m = run_workload(&cfg, &w);
    size_t n = kdpc_trace_count(m);
    assert_int_equal(n, 256);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(kdpc_trace_dump(m, f), KDPC_OK);
    rewind(f);
    char line[512];
    size_t lines = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        assert_non_null(strchr(line, '\n')); /* a whole line each time */
        if (lines < n) {
            const kdpc_event *e = kdpc_trace_event(m, lines);
            assert_non_null(strstr(line, kdpc_event_kind_name(e->kind)));
        }
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, n);
    kdpc_machine_destroy(m);
}

static void test_event_kind_names_cover_every_kind_and_unknown_is_question_mark(void **state)
{
    (void)state;
    static const char *const names[] = {
        "irql",          "dpc-insert",   "dpc-remove",   "dpc-begin",     "dpc-end",
        "isr-begin",     "isr-end",      "lock-acquire", "lock-release",  "lock-spin",
        "cpu-switch",    "thread-start", "thread-exit",  "thread-switch", "line-assert",
        "line-deassert", "stall",        "sync-begin",   "sync-end",      "violation",
        "reg-read",      "reg-write",    "port-read",    "port-write",    "device-event",
        "timer-set",     "timer-cancel", "timer-expire", "work-queue",    "work-begin",
        "work-end",      "irp-call",     "irp-start",    "irp-queue",     "irp-complete",
        "irp-cancel",    "dma-grant",    "dma-map",      "dma-flush",     "dma-free",
    };
    assert_int_equal(sizeof(names) / sizeof(names[0]), KDPC_EV_COUNT_);
    for (uint32_t k = 0; k < KDPC_EV_COUNT_; k++)
        assert_string_equal(kdpc_event_kind_name(k), names[k]);
    assert_string_equal(kdpc_event_kind_name(KDPC_EV_DPC_BEGIN), "dpc-begin");
    assert_string_equal(kdpc_event_kind_name(KDPC_EV_COUNT_), "?");
    assert_string_equal(kdpc_event_kind_name(1000), "?");
    assert_string_equal(kdpc_event_kind_name(UINT32_MAX), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_gives_identical_events_on_2_cpus),
        cmocka_unit_test(test_same_seed_gives_identical_events_on_4_cpus),
        cmocka_unit_test(test_workload_uses_every_cpu_and_every_event_family),
        cmocka_unit_test(test_different_seeds_give_different_orders),
        cmocka_unit_test(test_round_robin_policy_ignores_the_seed),
        cmocka_unit_test(test_trace_ring_keeps_the_newest_events_in_seq_order),
        cmocka_unit_test(test_trace_is_empty_when_tracing_is_off),
        cmocka_unit_test(test_trace_dump_writes_one_line_per_kept_event),
        cmocka_unit_test(test_event_kind_names_cover_every_kind_and_unknown_is_question_mark),
    };
    return cmocka_run_group_tests_name("determinism", tests, NULL, NULL);
}
