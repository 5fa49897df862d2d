/* SPDX-License-Identifier: MIT */
/*
 * bench_core - host cost of kdpc's core paths, in one run.
 *
 * Figures (each the median of REPS repetitions, host CLOCK_MONOTONIC):
 *   dpc_roundtrip             ns per KeInsertQueueDpc at PASSIVE_LEVEL on a
 *                             1-CPU machine whose routine has run when the
 *                             call returns (default config: random policy,
 *                             tracing off);
 *   dpc_roundtrip_floor       the same round trip through a plain function
 *                             call on an intrusive queue: insert a node,
 *                             pop it, call its routine;
 *   irql_raise_lower          ns per KeRaiseIrql(DISPATCH) + KeLowerIrql;
 *   spinlock_acquire_release  ns per uncontended KeAcquireSpinLock +
 *                             KeReleaseSpinLock;
 *   baton_switches            baton handoffs per second between two CPUs:
 *                             2-CPU round-robin machine, one system thread
 *                             pinned on each CPU calling
 *                             KeStallExecutionProcessor(0); each call hands
 *                             the baton to the other CPU;
 *   dpc_roundtrip_traced      dpc_roundtrip with trace_capacity = 1 << 16
 *                             (information only).
 * Each measurement is sized (calibrated) to take about TARGET_SECONDS.
 *
 * It is a measurement, not a test: a missed target prints BELOW TARGET and
 * the exit status stays 0. Only a broken measurement exits 1: a machine
 * that cannot be built, a run that does not end with KDPC_OK, a DPC that did
 * not run, or a run that never ends (SIGALRM after 100 x target + 60 s).
 *
 * Usage: bench_core [-t seconds-per-measurement] [-f figure-name]
 * -f runs that figure only, e.g. to profile the DPC round trip:
 *   valgrind --tool=callgrind --toggle-collect=dpc_entry \
 *            bench_core -t 0.01 -f dpc_roundtrip
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define REPS                  5
#define TARGET_SECONDS        0.3
#define CALIBRATE_MIN_SECONDS 0.05
#define TRACE_CAPACITY        ((size_t)1 << 16)

#define TARGET_DPC_VS_FLOOR     3.0
#define TARGET_SWITCHES_PER_SEC 200000.0
#define BATON_CHECK_CALLS       1000u
#define BATON_CHECK_SLACK       8u

#if defined(__GNUC__) || defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE
#endif

static double target_seconds = TARGET_SECONDS;
static const char *filter;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "bench_core: %s: %s\n", what, detail);
    bench_broken = 1;
}

/* ------------------------------------------------------------------ */
/* Running an entry routine on a fresh machine                         */

typedef struct config_opts {
    unsigned cpus;
    kdpc_policy policy;
    size_t trace_capacity;
} config_opts;

/* Build a machine from @o, run @entry(@ctx), destroy it. 0 on KDPC_OK. */
static int run_on_machine(const config_opts *o, kdpc_entry_fn *entry, void *ctx, const char *name)
{
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.cpus = o->cpus;
    cfg.policy = o->policy;
    cfg.trace_capacity = o->trace_capacity;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        fail(name, "kdpc_machine_create failed");
        return -1;
    }
    kdpc_status st = kdpc_machine_run(m, entry, ctx);
    kdpc_machine_destroy(m);
    if (st != KDPC_OK) {
        fail(name, kdpc_strerror(st));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* 1. DPC round trip                                                   */

typedef struct dpc_ctx {
    uint64_t n;
    uint64_t ran;     /* incremented by the DPC routine */
    uint64_t late;    /* calls after which the routine had not run yet */
    uint64_t elapsed; /* host ns of the loop */
} dpc_ctx;

static void BenchDpcRoutine(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                            PVOID SystemArgument2)
{
    (void)Dpc;
    (void)SystemArgument1;
    (void)SystemArgument2;
    ((dpc_ctx *)DeferredContext)->ran++;
}

static void dpc_entry(void *p)
{
    dpc_ctx *x = p;
    KDPC dpc;
    KeInitializeDpc(&dpc, BenchDpcRoutine, x);
    uint64_t t0 = bench_host_ns();
    for (uint64_t i = 0; i < x->n; i++) {
        (void)KeInsertQueueDpc(&dpc, NULL, NULL);
        if (x->ran != i + 1)
            x->late++;
    }
    x->elapsed = bench_host_ns() - t0;
}

static uint64_t dpc_measure(uint64_t n, size_t trace_capacity, const char *name)
{
    dpc_ctx x = {n, 0, 0, 0};
    config_opts o = {1, KDPC_POLICY_RANDOM, trace_capacity};
    if (run_on_machine(&o, dpc_entry, &x, name) != 0)
        return 0;
    if (x.ran != n || x.late != 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "DPC ran %llu times for %llu inserts, %llu late",
                 (unsigned long long)x.ran, (unsigned long long)n, (unsigned long long)x.late);
        fail(name, msg);
    }
    return x.elapsed;
}

static uint64_t bench_dpc(uint64_t n)
{
    return dpc_measure(n, 0, "dpc_roundtrip");
}

static uint64_t bench_dpc_traced(uint64_t n)
{
    return dpc_measure(n, TRACE_CAPACITY, "dpc_roundtrip_traced");
}

/* ------------------------------------------------------------------ */
/* 1b. The floor: an intrusive queue and a plain call                  */

typedef struct fq_node fq_node;
struct fq_node {
    fq_node *next, *prev;
    void (*routine)(fq_node *node);
};

static volatile uint64_t floor_counter;

BENCH_NOINLINE static void floor_routine(fq_node *node)
{
    (void)node;
    floor_counter = floor_counter + 1;
}

BENCH_NOINLINE static void fq_insert_tail(fq_node *head, fq_node *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

BENCH_NOINLINE static void fq_run_one(fq_node *head)
{
    fq_node *node = head->next;
    if (node == head)
        return;
    node->next->prev = head;
    head->next = node->next;
    node->next = node->prev = NULL;
    node->routine(node);
}

static uint64_t bench_floor(uint64_t n)
{
    fq_node head = {&head, &head, NULL};
    fq_node node = {NULL, NULL, floor_routine};
    uint64_t before = floor_counter;
    uint64_t t0 = bench_host_ns();
    for (uint64_t i = 0; i < n; i++) {
        fq_insert_tail(&head, &node);
        fq_run_one(&head);
    }
    uint64_t elapsed = bench_host_ns() - t0;
    if (floor_counter - before != n)
        fail("dpc_roundtrip_floor", "routine count mismatch");
    return elapsed;
}

/* ------------------------------------------------------------------ */
/* 2. KeRaiseIrql + KeLowerIrql; 3. spin lock acquire + release        */

typedef struct loop_ctx {
    uint64_t n;
    uint64_t elapsed;
    int bad; /* IRQL not as expected somewhere */
} loop_ctx;

static void irql_entry(void *p)
{
    loop_ctx *x = p;
    uint64_t t0 = bench_host_ns();
    for (uint64_t i = 0; i < x->n; i++) {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeLowerIrql(old);
    }
    x->elapsed = bench_host_ns() - t0;
    x->bad = KeGetCurrentIrql() != PASSIVE_LEVEL;
}

static void spinlock_entry(void *p)
{
    loop_ctx *x = p;
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    uint64_t t0 = bench_host_ns();
    for (uint64_t i = 0; i < x->n; i++) {
        KIRQL old;
        KeAcquireSpinLock(&lock, &old);
        KeReleaseSpinLock(&lock, old);
    }
    x->elapsed = bench_host_ns() - t0;
    x->bad = KeGetCurrentIrql() != PASSIVE_LEVEL || lock != 0;
}

static uint64_t loop_measure(kdpc_entry_fn *entry, uint64_t n, const char *name)
{
    loop_ctx x = {n, 0, 0};
    config_opts o = {1, KDPC_POLICY_RANDOM, 0};
    if (run_on_machine(&o, entry, &x, name) != 0)
        return 0;
    if (x.bad)
        fail(name, "unexpected IRQL or lock state after the loop");
    return x.elapsed;
}

static uint64_t bench_irql(uint64_t n)
{
    return loop_measure(irql_entry, n, "irql_raise_lower");
}

static uint64_t bench_spinlock(uint64_t n)
{
    return loop_measure(spinlock_entry, n, "spinlock_acquire_release");
}

/* ------------------------------------------------------------------ */
/* 4. Baton switches between two CPUs                                  */

typedef struct baton_ctx {
    uint64_t calls; /* per thread */
    uint64_t start[2], end[2];
    unsigned cpu[2]; /* CPU each thread ran its loop on */
    int failed;
} baton_ctx;

typedef struct baton_arg {
    baton_ctx *x;
    unsigned index;
} baton_arg;

static void BatonThread(PVOID StartContext)
{
    baton_arg *a = StartContext;
    baton_ctx *x = a->x;
    (void)KeSetSystemAffinityThreadEx((KAFFINITY)1 << a->index);
    x->cpu[a->index] = (unsigned)KeGetCurrentProcessorNumber();
    x->start[a->index] = bench_host_ns();
    for (uint64_t i = 0; i < x->calls; i++)
        KeStallExecutionProcessor(0);
    x->end[a->index] = bench_host_ns();
}

static baton_arg baton_args[2];

static void baton_entry(void *p)
{
    baton_ctx *x = p;
    for (unsigned i = 0; i < 2; i++) {
        HANDLE h;
        baton_args[i].x = x;
        baton_args[i].index = i;
        if (!NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, BatonThread,
                                             &baton_args[i]))) {
            x->failed = 1;
            return;
        }
        (void)ZwClose(h);
    }
}

/* @n is the number of switches wanted: each thread makes n / 2 calls. */
static uint64_t baton_run(uint64_t n, size_t trace_capacity, baton_ctx *x, kdpc_machine **keep)
{
    memset(x, 0, sizeof(*x));
    x->calls = (n + 1) / 2;
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.cpus = 2;
    cfg.policy = KDPC_POLICY_ROUND_ROBIN;
    cfg.trace_capacity = trace_capacity;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        fail("baton_switches", "kdpc_machine_create failed");
        return 0;
    }
    kdpc_status st = kdpc_machine_run(m, baton_entry, x);
    if (st != KDPC_OK || x->failed || x->cpu[0] != 0 || x->cpu[1] != 1) {
        fail("baton_switches", st != KDPC_OK ? kdpc_strerror(st) : "threads not pinned");
        kdpc_machine_destroy(m);
        return 0;
    }
    if (keep != NULL)
        *keep = m;
    else
        kdpc_machine_destroy(m);
    uint64_t first = x->start[0] < x->start[1] ? x->start[0] : x->start[1];
    uint64_t last = x->end[0] > x->end[1] ? x->end[0] : x->end[1];
    return last - first;
}

static uint64_t bench_baton(uint64_t n)
{
    baton_ctx x;
    return baton_run(n, 0, &x, NULL);
}

/*
 * Check the claim the figure rests on: with round robin every kernel call
 * in the loops hands the baton to the other CPU. A traced run counts the
 * cpu-switch events (the whole run, start-up and exits included).
 */
static void baton_check(void)
{
    baton_ctx x;
    kdpc_machine *m = NULL;
    (void)baton_run(2u * BATON_CHECK_CALLS, TRACE_CAPACITY, &x, &m);
    if (m == NULL)
        return;
    uint64_t switches = 0;
    size_t count = kdpc_trace_count(m);
    for (size_t i = 0; i < count; i++) {
        if (kdpc_trace_event(m, i)->kind == KDPC_EV_CPU_SWITCH)
            switches++;
    }
    uint64_t calls = 2u * BATON_CHECK_CALLS;
    printf("# baton check: %llu cpu-switch events for %llu loop calls (%.3f per call; the last "
           "calls of the thread that finishes second have no one to switch to)\n",
           (unsigned long long)switches, (unsigned long long)calls,
           (double)switches / (double)calls);
    if (switches + BATON_CHECK_SLACK < calls)
        printf("# baton check: FEWER switches than calls: switches_per_second overstates\n");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */

typedef uint64_t bench_fn(uint64_t n); /* host ns for n operations, 0 on failure */

typedef struct figure {
    const char *name;
    bench_fn *fn;
    const char *unit; /* "ns" (per op) or "switches/s" */
    uint64_t n;       /* operations per repetition */
    double value;     /* median, in unit */
    double min_s, max_s;
    int done;
} figure;

/*
 * Grow n until one run takes a probe time (a quarter of the target, at most
 * CALIBRATE_MIN_SECONDS), then scale n to the target. The probe is timed
 * three times and the fastest counts: on a loaded host one descheduled probe
 * would otherwise shrink n a hundredfold.
 */
static uint64_t calibrate(bench_fn *fn)
{
    double probe =
        target_seconds / 4 < CALIBRATE_MIN_SECONDS ? target_seconds / 4 : CALIBRATE_MIN_SECONDS;
    uint64_t n = 1000;
    for (;;) {
        uint64_t ns = fn(n);
        if (bench_broken)
            return 0;
        double s = (double)ns / 1e9;
        if (s >= probe || n >= ((uint64_t)1 << 40)) {
            for (int again = 0; again < 2; again++) {
                uint64_t ns2 = fn(n);
                if (bench_broken)
                    return 0;
                if (ns2 < ns)
                    ns = ns2;
            }
            s = (double)ns / 1e9;
            double want = (double)n * target_seconds / (s > 0 ? s : 1e-9);
            return want < 1.0 ? 1u : (uint64_t)want;
        }
        n *= s > probe / 16 ? 2u : 8u;
    }
}

/* REPS runs of f->n operations; false if one failed. */
static bool repeat(figure *f, double per_op[REPS], double secs[REPS])
{
    for (int r = 0; r < REPS; r++) {
        uint64_t ns = f->fn(f->n);
        if (bench_broken)
            return false;
        per_op[r] = (double)ns / (double)f->n;
        secs[r] = (double)ns / 1e9;
    }
    qsort(per_op, REPS, sizeof(per_op[0]), bench_cmp_double);
    qsort(secs, REPS, sizeof(secs[0]), bench_cmp_double);
    return true;
}

static void measure(figure *f)
{
    if (filter != NULL && strcmp(f->name, filter) != 0)
        return;
    f->n = calibrate(f->fn);
    if (bench_broken)
        return;
    double per_op[REPS], secs[REPS];
    if (!repeat(f, per_op, secs))
        return;
    /* The calibration was fooled after all (repetitions far too short): rescale once. */
    if (secs[REPS / 2] > 0 && secs[REPS / 2] < target_seconds / 3) {
        f->n = (uint64_t)((double)f->n * target_seconds / secs[REPS / 2]);
        if (!repeat(f, per_op, secs))
            return;
    }
    double med = per_op[REPS / 2];
    f->value = strcmp(f->unit, "ns") == 0 ? med : 1e9 / med;
    f->min_s = secs[0];
    f->max_s = secs[REPS - 1];
    f->done = 1;
}

/* A livelocked or deadlocked machine must not hang a CI job forever. */
static void on_alarm(int sig)
{
    static const char msg[] = "bench_core: timed out (a run never ended)\n";
    (void)sig;
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_core [-t seconds-per-measurement] [-f figure-name]\n");
    exit(2);
}

enum { F_DPC, F_FLOOR, F_IRQL, F_SPIN, F_BATON, F_DPC_TRACED, F_COUNT };

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            target_seconds = strtod(argv[++i], NULL);
            if (!(target_seconds > 0))
                usage();
        } else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else {
            usage();
        }
    }

    signal(SIGALRM, on_alarm);
    alarm((unsigned)(100.0 * target_seconds) + 60u);

    figure figs[F_COUNT] = {
        [F_DPC] = {"dpc_roundtrip", bench_dpc, "ns", 0, 0, 0, 0, 0},
        [F_FLOOR] = {"dpc_roundtrip_floor", bench_floor, "ns", 0, 0, 0, 0, 0},
        [F_IRQL] = {"irql_raise_lower", bench_irql, "ns", 0, 0, 0, 0, 0},
        [F_SPIN] = {"spinlock_acquire_release", bench_spinlock, "ns", 0, 0, 0, 0, 0},
        [F_BATON] = {"baton_switches", bench_baton, "switches/s", 0, 0, 0, 0, 0},
        [F_DPC_TRACED] = {"dpc_roundtrip_traced", bench_dpc_traced, "ns", 0, 0, 0, 0, 0},
    };

    printf("# bench_core: median of %d repetitions, ~%.2f s each, host CLOCK_MONOTONIC\n", REPS,
           target_seconds);
    for (int i = 0; i < F_COUNT && !bench_broken; i++) {
        figure *f = &figs[i];
        measure(f);
        if (!f->done)
            continue;
        if (strcmp(f->unit, "ns") == 0)
            printf("%s: %.2f %s\n", f->name, f->value, f->unit);
        else
            printf("%s: %.0f %s\n", f->name, f->value, f->unit);
        printf("#   n=%llu per repetition, %.3f-%.3f s\n", (unsigned long long)f->n, f->min_s,
               f->max_s);
        fflush(stdout);
    }
    if (bench_broken) {
        printf("bench_core: a measurement failed (see stderr)\n");
        return 1;
    }
    if (figs[F_BATON].done)
        baton_check();
    if (bench_broken) {
        printf("bench_core: the baton check failed (see stderr)\n");
        return 1;
    }

    printf("ratios:\n");
    if (figs[F_DPC].done && figs[F_FLOOR].done) {
        double r = figs[F_DPC].value / figs[F_FLOOR].value;
        printf("dpc_roundtrip_vs_floor: %.2f (target <= %.0f)%s\n", r, TARGET_DPC_VS_FLOOR,
               r <= TARGET_DPC_VS_FLOOR ? "" : " BELOW TARGET");
    }
    if (figs[F_DPC].done && figs[F_DPC_TRACED].done)
        printf("dpc_roundtrip_traced_vs_untraced: %.2f (information)\n",
               figs[F_DPC_TRACED].value / figs[F_DPC].value);
    if (figs[F_BATON].done) {
        double s = figs[F_BATON].value;
        printf("switches_per_second: %.0f (target >= %.0f)%s\n", s, TARGET_SWITCHES_PER_SEC,
               s >= TARGET_SWITCHES_PER_SEC ? "" : " BELOW TARGET");
    }
    return 0;
}
