/* SPDX-License-Identifier: MIT */
/*
 * bench_scale_locks - scaling curves of the spin lock checker (issue 8): the
 * per-operation host cost must not grow with the number of locks kdpc knows
 * or the number of lock-order edges it has recorded.
 *
 *   reinit   N locks known (initialised and acquired once); one operation is
 *            KeInitializeSpinLock of one of them (kdpc forgets what it knew of
 *            that address) then KeAcquireSpinLock + KeReleaseSpinLock of it
 *            (a fresh record), cycling over the N locks;
 *   nested   lock A was held while N other locks were acquired (N order
 *            edges A -> B_i); one operation is KeAcquireSpinLock(A),
 *            KeAcquireSpinLockAtDpcLevel(B_N) (an edge already known: the
 *            order check), both released;
 *   free     N locks known; one operation is ExFreePool of a 64-byte block
 *            holding one lock that was initialised and acquired (the checker
 *            forgets the lock); only the ExFreePool call is timed.
 *
 * Sizes 1, 10, 100, 1k, 10k, 100k; each point is the median of REPS machine
 * runs. Target: largest / smallest <= 2 (the cost is O(1) in N).
 * A measurement, not a test: the exit status is 0 unless a run failed.
 */
#include "bench.h"

#define REPS   5
#define TARGET 2.0
#define TAG    0x6b636f4cu /* "Lock" */

static const unsigned sizes[] = {1u, 10u, 100u, 1000u, 10000u, 100000u};
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

typedef struct run {
    unsigned n;     /* locks known / edges recorded */
    unsigned ops;   /* operations timed */
    uint64_t ns;    /* host time of the timed operations */
    KSPIN_LOCK *lk; /* n + 1 locks */
} run;

static void know_all(run *r)
{
    for (unsigned i = 0; i < r->n; i++) {
        KIRQL old;
        KeInitializeSpinLock(&r->lk[i]);
        KeAcquireSpinLock(&r->lk[i], &old);
        KeReleaseSpinLock(&r->lk[i], old);
    }
}

static void reinit_entry(void *ctx)
{
    run *r = ctx;
    know_all(r);
    uint64_t t0 = bench_host_ns();
    for (unsigned i = 0; i < r->ops; i++) {
        KSPIN_LOCK *l = &r->lk[i % r->n];
        KIRQL old;
        KeInitializeSpinLock(l);
        KeAcquireSpinLock(l, &old);
        KeReleaseSpinLock(l, old);
    }
    r->ns = bench_host_ns() - t0;
}

static void nested_entry(void *ctx)
{
    run *r = ctx;
    KSPIN_LOCK *a = &r->lk[r->n]; /* the outer lock; lk[0..n) are the inner ones */
    KeInitializeSpinLock(a);
    for (unsigned i = 0; i < r->n; i++) {
        KIRQL old;
        KeInitializeSpinLock(&r->lk[i]);
        KeAcquireSpinLock(a, &old);
        KeAcquireSpinLockAtDpcLevel(&r->lk[i]);
        KeReleaseSpinLockFromDpcLevel(&r->lk[i]);
        KeReleaseSpinLock(a, old);
    }
    KSPIN_LOCK *b = &r->lk[r->n - 1];
    uint64_t t0 = bench_host_ns();
    for (unsigned i = 0; i < r->ops; i++) {
        KIRQL old;
        KeAcquireSpinLock(a, &old);
        KeAcquireSpinLockAtDpcLevel(b);
        KeReleaseSpinLockFromDpcLevel(b);
        KeReleaseSpinLock(a, old);
    }
    r->ns = bench_host_ns() - t0;
}

static void free_entry(void *ctx)
{
    run *r = ctx;
    know_all(r);
    r->ns = 0;
    for (unsigned i = 0; i < r->ops; i++) {
        KSPIN_LOCK *l = ExAllocatePoolWithTag(NonPagedPoolNx, 64, TAG);
        if (l == NULL) {
            bench_broken = 1;
            return;
        }
        KIRQL old;
        KeInitializeSpinLock(l);
        KeAcquireSpinLock(l, &old);
        KeReleaseSpinLock(l, old);
        uint64_t t0 = bench_host_ns();
        ExFreePoolWithTag(l, TAG);
        r->ns += bench_host_ns() - t0;
    }
}

static double run_curve(kdpc_entry_fn *entry, unsigned n, unsigned ops)
{
    run r = {n, ops, 0, calloc((size_t)n + 1u, sizeof(KSPIN_LOCK))};
    if (r.lk == NULL) {
        bench_broken = 1;
        return 0;
    }
    kdpc_config cfg;
    bench_config_init(&cfg);
    (void)bench_run_timed("bench_scale_locks", &cfg, entry, &r);
    free(r.lk);
    return r.ops != 0 ? (double)r.ns / (double)r.ops : 0;
}

static double reinit_at(unsigned n)
{
    return run_curve(reinit_entry, n, 2000u);
}

static double nested_at(unsigned n)
{
    return run_curve(nested_entry, n, 20000u);
}

static double free_at(unsigned n)
{
    return run_curve(free_entry, n, 2000u);
}

int main(void)
{
    printf("bench_scale_locks: per-operation host ns at 1..100k known locks / order edges, "
           "median of %d runs\n",
           REPS);
    bool ok = true;
    ok &= bench_curve("reinit (KeInitializeSpinLock of a known lock + acquire/release)", reinit_at,
                      sizes, NSIZES, REPS, TARGET, "O(1) in known locks");
    ok &= bench_curve("nested (acquire A then B, edge A->B known)", nested_at, sizes, NSIZES, REPS,
                      TARGET, "O(1) in recorded edges");
    ok &= bench_curve("free (ExFreePool of a block holding one lock)", free_at, sizes, NSIZES, REPS,
                      TARGET, "O(1) in known locks");
    printf("bench_scale_locks: targets %s\n", ok ? "met" : "NOT all met");
    return bench_broken ? 1 : 0;
}
