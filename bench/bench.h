/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what every bench/<stem>.c shares: the host clock, a median of
 * repetitions, one timed machine run and the DPC round-trip baseline that
 * figures are compared with in the same run.
 *
 * Header-only (static functions): each bench is one executable built from
 * one .c file (bench/CMakeLists.txt).
 */
#ifndef KDPC_BENCH_H
#define KDPC_BENCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <kdpc/kdpc.h>
#include <wdm.h>

/* Set when a run failed: the bench exits non-zero. */
static int bench_broken;

/* What the verifier checks on the machines a bench makes (bench_setup_machine). */
typedef enum bench_checks {
    BENCH_CHECKS_DEFAULT = 0, /* a new machine's settings: Windows' standard Verifier options */
    BENCH_CHECKS_ALL, /* every Verifier option but low resources simulation (it fails IRPs) */
    BENCH_CHECKS_NO_CLASSES, /* every Verifier option off (kdpc_verifier_set(m, 0)) */
    BENCH_CHECKS_NONE        /* options off and every switchable rule off */
} bench_checks;
static bench_checks bench_check_mode;

/* Apply bench_check_mode to a machine just made. */
static inline void bench_setup_machine(kdpc_machine *m)
{
    switch (bench_check_mode) {
    case BENCH_CHECKS_DEFAULT:
        break;
    case BENCH_CHECKS_ALL:
        (void)kdpc_verifier_set(m, KDPC_VERIFIER_ALL & ~KDPC_VERIFIER_LOW_RESOURCES);
        break;
    case BENCH_CHECKS_NONE:
        (void)kdpc_rule_set(m, "*", KDPC_RULE_OFF);
        /* fall through */
    case BENCH_CHECKS_NO_CLASSES:
        (void)kdpc_verifier_set(m, 0);
        break;
    }
}

static inline uint64_t bench_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of @reps (at most 15) calls of @fn. */
static inline double bench_median(double (*fn)(void), int reps)
{
    double v[15];
    if (reps > 15)
        reps = 15;
    for (int i = 0; i < reps; i++)
        v[i] = fn();
    qsort(v, (size_t)reps, sizeof(v[0]), bench_cmp_double);
    return v[reps / 2];
}

/* Host seconds of one run of @entry on a new machine of @cfg (log off). */
static inline double bench_run_timed(const char *bench, kdpc_config *cfg, kdpc_entry_fn *entry,
                                     void *ctx)
{
    cfg->log = NULL;
    kdpc_machine *m = kdpc_machine_create(cfg);
    if (m == NULL) {
        bench_broken = 1;
        return 0;
    }
    bench_setup_machine(m);
    uint64_t t0 = bench_host_ns();
    kdpc_status st = kdpc_machine_run(m, entry, ctx);
    uint64_t t1 = bench_host_ns();
    if (st != KDPC_OK) {
        fprintf(stderr, "%s: run ended with %s\n", bench, kdpc_strerror(st));
        bench_broken = 1;
    }
    kdpc_machine_destroy(m);
    return (double)(t1 - t0) / 1e9;
}

/* ------------------------------------------------------------------ */
/* Baseline: KeInsertQueueDpc round trips at PASSIVE_LEVEL, per second  */

#define BENCH_BASE_DPCS 2000000u

static KDPC bench_base_dpc;

static void BenchBaseDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
}

static void bench_base_entry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&bench_base_dpc, BenchBaseDpc, NULL);
    for (unsigned i = 0; i < BENCH_BASE_DPCS; i++)
        KeInsertQueueDpc(&bench_base_dpc, NULL, NULL);
}

/* kdpc_config_init for a benchmark: a measured run is long by design, so the run limits that
 * end a hung unit test (steps, virtual time) are off; the host-time watchdog stays on. */
static inline void bench_config_init(kdpc_config *cfg)
{
    kdpc_config_init(cfg);
    cfg->run_step_limit = 0;
    cfg->run_time_limit_ns = 0;
}

static inline double bench_dpc_roundtrips_per_second(void)
{
    kdpc_config cfg;
    bench_config_init(&cfg);
    double s = bench_run_timed("bench", &cfg, bench_base_entry, NULL);
    return s > 0 ? (double)BENCH_BASE_DPCS / s : 0;
}

/* ------------------------------------------------------------------ */
/* Scaling curves                                                      */
/*
 * A curve measures the cost of one operation at several sizes of the state
 * it should not depend on (1..100k timers, locks, ...). fn(size) builds that
 * state, times many operations and returns host nanoseconds per operation.
 * Each size is measured @reps times (at most 15); the median and the spread
 * (min-max) are printed, then largest / smallest (the median at the largest
 * size over the median at the smallest) against @target_ratio. Returns true
 * when the target is met.
 */
typedef double bench_curve_fn(unsigned size);

static inline bool bench_curve(const char *name, bench_curve_fn *fn, const unsigned *sizes,
                               int nsizes, int reps, double target_ratio, const char *target_why)
{
    double first = 0, last = 0;
    if (reps > 15)
        reps = 15;
    for (int i = 0; i < nsizes; i++) {
        double v[15];
        for (int r = 0; r < reps; r++)
            v[r] = fn(sizes[i]);
        qsort(v, (size_t)reps, sizeof(v[0]), bench_cmp_double);
        double med = v[reps / 2];
        printf("%s: size %u: %.1f ns/op (spread %.1f-%.1f)\n", name, sizes[i], med, v[0],
               v[reps - 1]);
        if (i == 0)
            first = med;
        last = med;
    }
    double ratio = first > 0 ? last / first : 0;
    bool met = ratio <= target_ratio;
    printf("%s: largest/smallest %.2f (target <= %.2f, %s): %s\n", name, ratio, target_ratio,
           target_why, met ? "met" : "NOT met");
    return met;
}

#endif /* KDPC_BENCH_H */
