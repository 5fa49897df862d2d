/* SPDX-License-Identifier: MIT */
/*
 * bench_scale_timers - timer, DPC and ExFreePool operations against the
 * number of timers, DPCs and work items around them (issue 8): scaling
 * curves at 1, 10, 100, 1k, 10k, 100k, each size measured REPS times on a
 * fresh 1-CPU machine, median and spread printed, then largest / smallest.
 *
 *   set_timer_front     KeSetTimer of one timer, again and again, each time
 *                       with an earlier due time than the last, so it goes
 *                       before every timer set (N set, due later);
 *   cancel_timer        KeCancelTimer of timers set at due times spread
 *                       among the N set ones (the sets are not timed);
 *   free_with_dpcs      ExFreePool of a 32-byte nonpaged block (allocated
 *                       untimed) with N DPCs queued elsewhere (the thread at
 *                       DISPATCH_LEVEL, so they stay queued);
 *   free_with_timers    the same with N timers set elsewhere;
 *   free_with_work      the same with N work items queued elsewhere;
 *   dpc_insert_remove   KeInsertQueueDpc + KeRemoveQueueDpc of one DPC with
 *                       N DPCs queued on the same CPU.
 * Each measured loop runs for about LOOP_NS of host time (at least MIN_OPS
 * operations; a loop whose untimed setup is slow stops after SETUP_NS).
 *
 * Targets. Timer set and cancel are ordered-set operations, O(log n): their
 * target is log-factor growth, largest / smallest <= 2 * log2(100k) /
 * log2(10) = 2 * 5 = 10 (the depth of a balanced tree grows 5x from 10 to 100k
 * nodes; 2x for the cache misses of a tree that no longer fits in cache;
 * size 1 is measured against, whose tree is shallower than 10's, so this
 * is the bound). ExFreePool's check and the DPC pair are O(log n) lookups
 * too, but their cost is dominated by what does not grow: target <= 2.
 *
 * Usage: bench_scale_timers [largest size] (default 100000; a Debug build
 * before the fix needs a smaller one, its DPC checks being O(depth)).
 * A measurement, not a test: the exit status is 0 unless a run failed.
 */
#include <string.h>

#include "bench.h"

#define REPS       5
#define LOOP_NS    2000000ull  /* 2 ms of measured operations per loop */
#define SETUP_NS   40000000ull /* a loop stops after 40 ms of host time, setup included */
#define MIN_OPS    8u
#define BATCH      64u
#define MAX_SIZE   100000u
#define TAG        'mTcS'
#define TARGET_O1  2.0
#define TARGET_LOG 10.0
#define SECOND     10000000LL /* 1 s in 100 ns units */

static KTIMER bg_timers[MAX_SIZE];
static KDPC bg_dpcs[MAX_SIZE];
static WORK_QUEUE_ITEM bg_items[MAX_SIZE];
static KTIMER probe_timers[BATCH];
static KDPC probe_dpc;
static PVOID blocks[BATCH];

enum { BG_TIMERS = 1, BG_DPCS = 2, BG_WORK = 4 };

static struct {
    unsigned n;
    double result_ns;
    uint64_t rng;
} B;

static void NopDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
}

static void NopWork(PVOID Parameter)
{
    (void)Parameter;
}

static uint64_t rnd(void)
{
    B.rng = B.rng * 6364136223846793005ull + 1442695040888963407ull;
    return B.rng >> 33;
}

static LARGE_INTEGER rel(LONGLONG units)
{
    LARGE_INTEGER d;
    d.QuadPart = -units;
    return d;
}

/* N timers set 1 s ahead and later (increasing due times: cheap before and after the fix), DPCs
 * queued or work items queued; DPCs and work items need the thread at DISPATCH_LEVEL. */
static void build(unsigned what)
{
    for (unsigned i = 0; i < B.n; i++) {
        if (what & BG_TIMERS) {
            KeInitializeTimer(&bg_timers[i]);
            (void)KeSetTimer(&bg_timers[i], rel(SECOND + i), NULL);
        }
        if (what & BG_DPCS) {
            KeInitializeDpc(&bg_dpcs[i], NopDpc, NULL);
            (void)KeInsertQueueDpc(&bg_dpcs[i], NULL, NULL);
        }
        if (what & BG_WORK) {
            ExInitializeWorkItem(&bg_items[i], NopWork, NULL);
            ExQueueWorkItem(&bg_items[i], DelayedWorkQueue);
        }
    }
}

static void teardown(unsigned what)
{
    for (unsigned i = 0; i < B.n; i++) {
        if (what & BG_TIMERS)
            (void)KeCancelTimer(&bg_timers[i]);
        if (what & BG_DPCS)
            (void)KeRemoveQueueDpc(&bg_dpcs[i]);
    }
    /* work items run once the thread is back at PASSIVE_LEVEL */
}

/* ------------------------------------------------------------------ */

static void set_front_entry(void *ctx)
{
    (void)ctx;
    build(BG_TIMERS);
    KeInitializeTimer(&probe_timers[0]);
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    LONGLONG first = now.QuadPart + SECOND / 2; /* absolute, before every background timer */
    unsigned ops = 0;
    uint64_t t0 = bench_host_ns(), t1;
    do {
        for (unsigned j = 0; j < MIN_OPS; j++, ops++) {
            LARGE_INTEGER due;
            due.QuadPart = first - (LONGLONG)ops; /* non-increasing */
            (void)KeSetTimer(&probe_timers[0], due, NULL);
        }
        t1 = bench_host_ns();
    } while (t1 - t0 < LOOP_NS && ops < 500000u);
    B.result_ns = (double)(t1 - t0) / ops;
    (void)KeCancelTimer(&probe_timers[0]);
    teardown(BG_TIMERS);
}

static void cancel_entry(void *ctx)
{
    (void)ctx;
    build(BG_TIMERS);
    for (unsigned j = 0; j < BATCH; j++)
        KeInitializeTimer(&probe_timers[j]);
    uint64_t timed = 0, ops = 0, start = bench_host_ns();
    do {
        for (unsigned j = 0; j < BATCH; j++)
            (void)KeSetTimer(&probe_timers[j], rel(SECOND + (LONGLONG)(rnd() % B.n)), NULL);
        uint64_t t0 = bench_host_ns();
        for (unsigned j = 0; j < BATCH; j++)
            (void)KeCancelTimer(&probe_timers[j]);
        timed += bench_host_ns() - t0;
        ops += BATCH;
    } while (timed < LOOP_NS && (ops < MIN_OPS * BATCH || bench_host_ns() - start < SETUP_NS));
    B.result_ns = (double)timed / (double)ops;
    teardown(BG_TIMERS);
}

static void free_entry(void *ctx)
{
    unsigned what = (unsigned)(uintptr_t)ctx;
    KIRQL old = PASSIVE_LEVEL;
    if (what != BG_TIMERS)
        KeRaiseIrql(DISPATCH_LEVEL, &old);
    build(what);
    uint64_t timed = 0, ops = 0, start = bench_host_ns();
    do {
        for (unsigned j = 0; j < BATCH; j++)
            blocks[j] = ExAllocatePoolWithTag(NonPagedPoolNx, 32, TAG);
        uint64_t t0 = bench_host_ns();
        for (unsigned j = 0; j < BATCH; j++)
            ExFreePoolWithTag(blocks[j], TAG);
        timed += bench_host_ns() - t0;
        ops += BATCH;
    } while (timed < LOOP_NS && (ops < MIN_OPS * BATCH || bench_host_ns() - start < SETUP_NS));
    B.result_ns = (double)timed / (double)ops;
    teardown(what);
    if (what != BG_TIMERS)
        KeLowerIrql(old);
}

static void dpc_pair_entry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    build(BG_DPCS);
    KeInitializeDpc(&probe_dpc, NopDpc, NULL);
    unsigned ops = 0;
    uint64_t t0 = bench_host_ns(), t1;
    do {
        for (unsigned j = 0; j < MIN_OPS; j++, ops++) {
            (void)KeInsertQueueDpc(&probe_dpc, NULL, NULL);
            (void)KeRemoveQueueDpc(&probe_dpc);
        }
        t1 = bench_host_ns();
    } while (t1 - t0 < LOOP_NS && ops < 2000000u);
    B.result_ns = (double)(t1 - t0) / ops;
    teardown(BG_DPCS);
    KeLowerIrql(old);
}

/* ------------------------------------------------------------------ */

static double run_at(kdpc_entry_fn *entry, void *ctx, unsigned n)
{
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.watchdog_single_ns = 0; /* the measured thread stays at DISPATCH_LEVEL for long */
    cfg.watchdog_cumulative_ns = 0;
    cfg.log = NULL;
    B.n = n;
    B.rng = 0x9E3779B97F4A7C15ull ^ n;
    B.result_ns = 0;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        bench_broken = 1;
        return 0;
    }
    kdpc_status st = kdpc_machine_run(m, entry, ctx);
    if (st != KDPC_OK) {
        fprintf(stderr, "bench_scale_timers: run ended with %s\n", kdpc_strerror(st));
        bench_broken = 1;
    }
    kdpc_machine_destroy(m);
    return B.result_ns;
}

static double c_set_front(unsigned n)
{
    return run_at(set_front_entry, NULL, n);
}
static double c_cancel(unsigned n)
{
    return run_at(cancel_entry, NULL, n);
}
static double c_free_dpcs(unsigned n)
{
    return run_at(free_entry, (void *)(uintptr_t)BG_DPCS, n);
}
static double c_free_timers(unsigned n)
{
    return run_at(free_entry, (void *)(uintptr_t)BG_TIMERS, n);
}
static double c_free_work(unsigned n)
{
    return run_at(free_entry, (void *)(uintptr_t)BG_WORK, n);
}
static double c_dpc_pair(unsigned n)
{
    return run_at(dpc_pair_entry, NULL, n);
}

int main(int argc, char **argv)
{
    unsigned largest = MAX_SIZE;
    if (argc > 1) {
        long v = strtol(argv[1], NULL, 10);
        if (v >= 10 && v <= (long)MAX_SIZE)
            largest = (unsigned)v;
    }
    unsigned sizes[6];
    int nsizes = 0;
    for (unsigned s = 1; s <= largest && nsizes < 6; s *= 10)
        sizes[nsizes++] = s;
    if (sizes[nsizes - 1] != largest && nsizes < 6)
        sizes[nsizes++] = largest;
    const char *why_log = "O(log n): 2 * log2(100k) / log2(10)";
    int unmet = 0;
    unmet += !bench_curve("set_timer_front", c_set_front, sizes, nsizes, REPS, TARGET_LOG, why_log);
    unmet += !bench_curve("cancel_timer", c_cancel, sizes, nsizes, REPS, TARGET_LOG, why_log);
    /* The address index is a tree (the last few DPCs staged in front of it): O(log n + k). */
    unmet += !bench_curve("free_with_dpcs", c_free_dpcs, sizes, nsizes, REPS, TARGET_LOG, why_log);
    unmet +=
        !bench_curve("free_with_timers", c_free_timers, sizes, nsizes, REPS, TARGET_LOG, why_log);
    unmet += !bench_curve("free_with_work", c_free_work, sizes, nsizes, REPS, TARGET_LOG, why_log);
    unmet += !bench_curve("dpc_insert_remove", c_dpc_pair, sizes, nsizes, REPS, TARGET_O1, "O(1)");
    printf("bench_scale_timers: %d of 6 targets not met\n", unmet);
    return bench_broken;
}
