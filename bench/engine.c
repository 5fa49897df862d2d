/* SPDX-License-Identifier: MIT */
/*
 * bench_engine - what a hand-off between simulated contexts costs (issue 8),
 * in one run. Public API only: the figures mean the same on any engine.
 * Each figure is the median of REPS repetitions on the host monotonic clock,
 * its spread (min-max) printed; every repetition is sized to take about
 * REP_SECONDS (calibrated first). Ratios are taken between figures of this
 * run.
 *
 *   switch_flag        ns per CPU switch: a 2-CPU round-robin machine, two
 *                      system threads, one pinned on each CPU
 *                      (KeSetSystemAffinityThreadEx), ping-pong a shared
 *                      turn flag; the waiting side polls it with
 *                      KeStallExecutionProcessor(0) (an interleaving point,
 *                      where round robin hands over to the other CPU);
 *                      Target: <= 150 ns per switch.
 *   switch_events      information: the same threads on a 2-CPU machine of
 *                      the default (random) policy ping-pong through two
 *                      synchronization events (KeSetEvent, then
 *                      KeWaitForSingleObject on its own). A blocked thread
 *                      gives its CPU to the idle thread, so this counts
 *                      every context switch: cpu-switch plus thread-switch
 *                      events.
 *                      Both count the switches they make in the same run
 *                      traced (same seed and policy, so the same schedule)
 *                      at two sizes: switches per round = the difference of
 *                      the counts over the difference of rounds. Host time
 *                      of the loops / (rounds x switches per round).
 *   isr_dpc_1cpu       ns per round trip: the entry thread sets the
 *   isr_dpc_2cpu       device's pending register, asserts a Latched line
 *                      (kdpc_line_assert) and polls a flag with
 *                      KeStallExecutionProcessor(0) until the DpcForIsr has
 *                      set it; the ISR claims and IoRequestDpc's. Default
 *                      policy, on 1 and on 2 CPUs (the ISR may run on
 *                      either). Target: 2 CPUs <= 3 x 1 CPU.
 *   isr_dpc_wait_1cpu  information: the same, but the thread waits on a
 *   isr_dpc_wait_2cpu  synchronization event the DpcForIsr sets (blocks
 *                      whenever the interrupt is not taken at once, and the
 *                      CPU's idle thread takes it).
 *   targeted_dpc       ns per DPC call: a 4-CPU machine, TARGETED_PER_CPU
 *                      DPC objects targeted at each CPU (KeSetTargetProcessorDpc),
 *                      queued from a thread on CPU 0 in rounds (all of them,
 *                      inserted at DISPATCH_LEVEL, then a wait on an event
 *                      the round's last routine sets); each routine counts
 *                      on its CPU;
 *   naive_queue        the same number of calls through the design of the
 *                      Windows-only peers: 4 host threads, each with a
 *                      mutex + condition variable queue of function
 *                      pointers, one producer thread handing items round
 *                      robin to them without waiting, then waiting for the
 *                      last; each call counts on its worker.
 *                      Target: targeted_dpc throughput >= naive_queue's.
 *   targeted_dpc_bcast information: rounds of one DPC per CPU (the
 *                      broadcast pattern), ns per DPC call.
 *
 * A measurement, not a test: a missed target prints "NOT met" and the exit
 * status stays 0. Only a broken measurement exits 1 (a machine that cannot
 * be built, a run that does not end with KDPC_OK, a count that is off, a run
 * that never ends: SIGALRM after ALARM_SECONDS).
 *
 * Usage: bench_engine [-t seconds-per-repetition] [-f switch|isr|targeted]
 * Information runs: `taskset -c 0 bench_engine -f switch` (one host core).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <kdpc/driver.h>

#include "bench.h"

#define REPS          7
#define REP_SECONDS   0.1
#define ALARM_SECONDS 240u

#define TARGET_SWITCH_NS 150.0
#define TARGET_ISR_RATIO 3.0
#define TARGET_TARGETED  1.0

#define TRACE_CAPACITY   ((size_t)1 << 18)
#define COUNT_ROUNDS     500u /* traced runs: COUNT_ROUNDS and 2 x COUNT_ROUNDS */
#define ISR_LINE         5u
#define ISR_DIRQL        5
#define TARGETED_CPUS    4u
#define TARGETED_PER_CPU 16u
#define NAIVE_QCAP       1024u

static double rep_seconds = REP_SECONDS;
static const char *filter;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "bench_engine: %s: %s\n", what, detail);
    bench_broken = 1;
}

static bool selected(const char *group)
{
    return filter == NULL || strcmp(filter, group) == 0;
}

/* ------------------------------------------------------------------ */
/* Medians: a figure is REPS calls of fn(n), n calibrated               */

/* Host ns for @n operations (0 on failure: bench_broken is set). */
typedef uint64_t timed_fn(uint64_t n);

typedef struct stat7 {
    double med, lo, hi; /* ns per operation */
    uint64_t n;         /* operations per repetition */
    bool ok;
} stat7;

/* Grow n from @n0 until a run takes 10 ms (fastest of two), then scale to rep_seconds. */
static uint64_t calibrate(timed_fn *fn, uint64_t n0)
{
    uint64_t n = n0;
    for (;;) {
        uint64_t ns = fn(n);
        if (bench_broken)
            return 0;
        if (ns >= 10000000u || n >= ((uint64_t)1 << 32)) {
            uint64_t ns2 = fn(n);
            if (bench_broken)
                return 0;
            if (ns2 < ns)
                ns = ns2;
            double want = (double)n * rep_seconds * 1e9 / (double)(ns > 0 ? ns : 1);
            return want < (double)n0 ? n0 : (uint64_t)want;
        }
        n *= ns < 1000000u ? 8u : 2u;
    }
}

static stat7 measure(timed_fn *fn, uint64_t n0)
{
    stat7 s = {0, 0, 0, 0, false};
    s.n = calibrate(fn, n0);
    if (bench_broken)
        return s;
    double v[REPS];
    for (int r = 0; r < REPS; r++) {
        uint64_t ns = fn(s.n);
        if (bench_broken)
            return s;
        v[r] = (double)ns / (double)s.n;
    }
    qsort(v, REPS, sizeof(v[0]), bench_cmp_double);
    s.med = v[REPS / 2];
    s.lo = v[0];
    s.hi = v[REPS - 1];
    s.ok = true;
    return s;
}

/* @scale turns ns per measured operation (@what: rounds, round trips) into @unit. */
static void print_stat(const char *name, const char *unit, double scale, const stat7 *s,
                       const char *what)
{
    printf("%s: %.1f %s (median of %d, spread %.1f-%.1f; %llu %s per repetition)\n", name,
           s->med * scale, unit, REPS, s->lo * scale, s->hi * scale, (unsigned long long)s->n,
           what);
    fflush(stdout);
}

static void print_target(const char *what, double value, const char *op, double target, bool met)
{
    printf("target %s: %.2f %s %.2f: %s\n", what, value, op, target, met ? "met" : "NOT met");
    fflush(stdout);
}

static kdpc_machine *new_machine(unsigned cpus, kdpc_policy policy, size_t trace, const char *who)
{
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.cpus = cpus;
    cfg.policy = policy;
    cfg.trace_capacity = trace;
    cfg.log = NULL;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL)
        fail(who, "kdpc_machine_create failed");
    return m;
}

/* Runs @entry on @m; false (and bench_broken) unless KDPC_OK. */
static bool run_ok(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx, const char *who)
{
    kdpc_status st = kdpc_machine_run(m, entry, ctx);
    if (st != KDPC_OK) {
        fail(who, kdpc_strerror(st));
        return false;
    }
    return true;
}

/* cpu-switch events of a traced run; *threads gets its thread-switch events. */
static uint64_t count_switches(const kdpc_machine *m, const char *who, uint64_t *threads)
{
    *threads = 0;
    if (kdpc_trace_total(m) != kdpc_trace_count(m)) {
        fail(who, "trace ring too small to count every cpu-switch event");
        return 0;
    }
    uint64_t n = 0;
    size_t count = kdpc_trace_count(m);
    for (size_t i = 0; i < count; i++) {
        uint32_t kind = kdpc_trace_event(m, i)->kind;
        if (kind == KDPC_EV_CPU_SWITCH)
            n++;
        else if (kind == KDPC_EV_THREAD_SWITCH)
            (*threads)++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* 1. Switch between two simulated CPUs                                */

typedef struct pp_ctx {
    uint64_t rounds;
    bool events;
    volatile LONG turn; /* flag variant: whose turn, 0 or 1 */
    KEVENT ev[2];       /* event variant: ev[i] wakes thread i */
    uint64_t start[2], end[2];
    unsigned cpu[2];
    uint64_t done[2];
    int failed;
} pp_ctx;

typedef struct pp_arg {
    pp_ctx *x;
    unsigned index;
} pp_arg;

static pp_arg pp_args[2];

static void PingPongThread(PVOID StartContext)
{
    pp_arg *a = StartContext;
    pp_ctx *x = a->x;
    unsigned me = a->index, other = 1u - a->index;
    (void)KeSetSystemAffinityThreadEx((KAFFINITY)1 << me);
    x->cpu[me] = (unsigned)KeGetCurrentProcessorNumber();
    x->start[me] = bench_host_ns();
    for (uint64_t r = 0; r < x->rounds; r++) {
        if (x->events) {
            if (me == 0) {
                (void)KeSetEvent(&x->ev[other], IO_NO_INCREMENT, FALSE);
                (void)KeWaitForSingleObject(&x->ev[me], Executive, KernelMode, FALSE, NULL);
            } else {
                (void)KeWaitForSingleObject(&x->ev[me], Executive, KernelMode, FALSE, NULL);
                (void)KeSetEvent(&x->ev[other], IO_NO_INCREMENT, FALSE);
            }
        } else {
            while (x->turn != (LONG)me)
                KeStallExecutionProcessor(0);
            x->turn = (LONG)other;
        }
        x->done[me]++;
    }
    x->end[me] = bench_host_ns();
}

static void pingpong_entry(void *p)
{
    pp_ctx *x = p;
    KeInitializeEvent(&x->ev[0], SynchronizationEvent, FALSE);
    KeInitializeEvent(&x->ev[1], SynchronizationEvent, FALSE);
    for (unsigned i = 0; i < 2; i++) {
        HANDLE h;
        pp_args[i].x = x;
        pp_args[i].index = i;
        if (!NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                             PingPongThread, &pp_args[i]))) {
            x->failed = 1;
            return;
        }
        (void)ZwClose(h);
    }
}

static bool pp_events;

/* Host ns of both loops of @rounds rounds; *switches and *threads get the run's cpu-switch
 * and thread-switch events when @switches is not NULL (traced run). */
static uint64_t pingpong_run(uint64_t rounds, uint64_t *switches, uint64_t *threads)
{
    const char *who = pp_events ? "switch_events" : "switch_flag";
    pp_ctx x;
    memset(&x, 0, sizeof(x));
    x.rounds = rounds;
    x.events = pp_events;
    kdpc_machine *m = new_machine(2, pp_events ? KDPC_POLICY_RANDOM : KDPC_POLICY_ROUND_ROBIN,
                                  switches != NULL ? TRACE_CAPACITY : 0, who);
    if (m == NULL)
        return 0;
    bool ok = run_ok(m, pingpong_entry, &x, who);
    if (ok && (x.failed || x.cpu[0] != 0 || x.cpu[1] != 1 || x.done[0] != rounds ||
               x.done[1] != rounds)) {
        fail(who, "threads not pinned one per CPU, or rounds missing");
        ok = false;
    }
    if (ok && switches != NULL)
        *switches = count_switches(m, who, threads);
    kdpc_machine_destroy(m);
    if (!ok)
        return 0;
    uint64_t first = x.start[0] < x.start[1] ? x.start[0] : x.start[1];
    uint64_t last = x.end[0] > x.end[1] ? x.end[0] : x.end[1];
    return last - first;
}

static uint64_t pingpong_timed(uint64_t rounds)
{
    return pingpong_run(rounds, NULL, NULL);
}

/* cpu-switch events per round, from two traced runs; *threads: thread switches per round. */
static double switches_per_round(double *threads)
{
    uint64_t s1 = 0, s2 = 0, t1 = 0, t2 = 0;
    (void)pingpong_run(COUNT_ROUNDS, &s1, &t1);
    (void)pingpong_run(2u * COUNT_ROUNDS, &s2, &t2);
    if (bench_broken)
        return 0;
    if (s2 <= s1) {
        fail("switch count", "no more cpu switches in the longer run");
        return 0;
    }
    *threads = (double)(t2 - t1) / (double)COUNT_ROUNDS;
    return (double)(s2 - s1) / (double)COUNT_ROUNDS;
}

static void bench_switch(void)
{
    static const char *const names[2] = {"switch_flag", "switch_events"};
    for (int v = 0; v < 2 && !bench_broken; v++) {
        pp_events = v == 1;
        double threads = 0;
        double cpus = switches_per_round(&threads);
        if (bench_broken)
            return;
        stat7 s = measure(pingpong_timed, 1000);
        if (!s.ok)
            return;
        printf("# %s: %.3f cpu switches and %.3f thread switches per round (traced runs of %u "
               "and %u rounds)\n",
               names[v], cpus, threads, COUNT_ROUNDS, 2u * COUNT_ROUNDS);
        if (v == 0) {
            double k = 1.0 / cpus; /* per round -> per CPU switch */
            print_stat(names[v], "ns/cpu switch", k, &s, "rounds");
            print_target("switch_flag ns per CPU switch", s.med * k, "<=", TARGET_SWITCH_NS,
                         s.med * k <= TARGET_SWITCH_NS);
        } else {
            double k = 1.0 / (cpus + threads); /* per round -> per context switch */
            print_stat(names[v], "ns/context switch (information)", k, &s, "rounds");
        }
    }
}

/* ------------------------------------------------------------------ */
/* 2. ISR -> IoRequestDpc -> DpcForIsr round trip                      */

typedef struct ISR_EXT {
    PKINTERRUPT Interrupt;
    volatile LONG HwPending; /* the device's interrupt-pending register */
} ISR_EXT, *PISR_EXT;

typedef struct isr_ctx {
    uint64_t n;
    unsigned cpus;
    bool wait;          /* wait on done, else poll flag */
    volatile LONG flag; /* set by the DpcForIsr */
    KEVENT done;        /* set by the DpcForIsr */
    uint64_t elapsed;
    uint64_t dpcs;
    int failed;
} isr_ctx;

static isr_ctx *isr_x;
static PDEVICE_OBJECT isr_dev;

static BOOLEAN IsrRoutine(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PISR_EXT ext = dev->DeviceExtension;
    if (ext->HwPending == 0)
        return FALSE;
    ext->HwPending = 0;
    IoRequestDpc(dev, NULL, NULL);
    return TRUE;
}

static void IsrDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    isr_x->dpcs++;
    if (isr_x->wait)
        (void)KeSetEvent(&isr_x->done, IO_NO_INCREMENT, FALSE);
    else
        isr_x->flag = 1;
}

static void IsrUnload(PDRIVER_OBJECT DriverObject)
{
    PISR_EXT ext = DriverObject->DeviceObject->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
}

static NTSTATUS IsrDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(ISR_EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    PISR_EXT ext = dev->DeviceExtension;
    DriverObject->DriverUnload = IsrUnload;
    IoInitializeDpcRequest(dev, IsrDpcForIsr);
    KAFFINITY all = ((KAFFINITY)1 << isr_x->cpus) - 1u;
    st = IoConnectInterrupt(&ext->Interrupt, IsrRoutine, dev, NULL, ISR_LINE, ISR_DIRQL, ISR_DIRQL,
                            Latched, FALSE, all, FALSE);
    if (!NT_SUCCESS(st)) {
        IoDeleteDevice(dev);
        return st;
    }
    isr_dev = dev;
    return STATUS_SUCCESS;
}

static void isr_entry(void *p)
{
    isr_ctx *x = p;
    kdpc_machine *m = kdpc_current_machine();
    PDRIVER_OBJECT drv;
    KeInitializeEvent(&x->done, SynchronizationEvent, FALSE);
    if (!NT_SUCCESS(kdpc_driver_load(m, "benchisr", IsrDriverEntry, &drv))) {
        x->failed = 1;
        return;
    }
    PISR_EXT ext = isr_dev->DeviceExtension;
    uint64_t t0 = bench_host_ns();
    for (uint64_t i = 0; i < x->n; i++) {
        ext->HwPending = 1;
        (void)kdpc_line_assert(m, ISR_LINE);
        if (x->wait) {
            (void)KeWaitForSingleObject(&x->done, Executive, KernelMode, FALSE, NULL);
        } else {
            while (x->flag == 0)
                KeStallExecutionProcessor(0);
            x->flag = 0;
        }
    }
    x->elapsed = bench_host_ns() - t0;
    (void)kdpc_driver_unload(drv);
}

static unsigned isr_cpus;
static bool isr_wait;

static uint64_t isr_timed(uint64_t n)
{
    isr_ctx x;
    memset(&x, 0, sizeof(x));
    x.n = n;
    x.cpus = isr_cpus;
    x.wait = isr_wait;
    isr_x = &x;
    kdpc_machine *m = new_machine(isr_cpus, KDPC_POLICY_RANDOM, 0, "isr_dpc");
    if (m == NULL)
        return 0;
    bool ok = run_ok(m, isr_entry, &x, "isr_dpc");
    kdpc_machine_destroy(m);
    isr_x = NULL;
    if (ok && (x.failed || x.dpcs != n)) {
        fail("isr_dpc", "driver not loaded or DpcForIsr count off");
        ok = false;
    }
    return ok ? x.elapsed : 0;
}

static void bench_isr(void)
{
    static const char *const names[2][2] = {{"isr_dpc_1cpu", "isr_dpc_2cpu"},
                                            {"isr_dpc_wait_1cpu", "isr_dpc_wait_2cpu"}};
    for (int v = 0; v < 2; v++) {
        stat7 s[2];
        isr_wait = v == 1;
        for (unsigned c = 0; c < 2; c++) {
            isr_cpus = c + 1u;
            s[c] = measure(isr_timed, 1000);
            if (!s[c].ok)
                return;
            print_stat(names[v][c], "ns/round trip", 1, &s[c], "round trips");
        }
        double r = s[1].med / s[0].med;
        if (v == 0)
            print_target("isr_dpc 2 CPUs / 1 CPU", r, "<=", TARGET_ISR_RATIO,
                         r <= TARGET_ISR_RATIO);
        else
            printf("isr_dpc_wait 2 CPUs / 1 CPU: %.2f (information)\n", r);
    }
}

/* ------------------------------------------------------------------ */
/* 3. Targeted DPCs on 4 CPUs, and the naive host-thread queue         */

typedef struct tg_ctx {
    uint64_t rounds;
    unsigned per_cpu; /* DPC objects per CPU, all queued every round */
    KDPC dpc[TARGETED_CPUS][TARGETED_PER_CPU];
    KEVENT round_done;
    volatile LONG left; /* routines still to run in this round */
    uint64_t ran[TARGETED_CPUS];
    uint64_t wrong_cpu;
    uint64_t elapsed;
} tg_ctx;

static void TargetedDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A2;
    tg_ctx *x = Context;
    unsigned cpu = (unsigned)(uintptr_t)A1;
    if (KeGetCurrentProcessorNumber() != cpu)
        x->wrong_cpu++;
    x->ran[cpu]++;
    if (InterlockedDecrement(&x->left) == 0)
        (void)KeSetEvent(&x->round_done, IO_NO_INCREMENT, FALSE);
}

static void targeted_entry(void *p)
{
    tg_ctx *x = p;
    KeInitializeEvent(&x->round_done, SynchronizationEvent, FALSE);
    for (unsigned c = 0; c < TARGETED_CPUS; c++) {
        for (unsigned k = 0; k < x->per_cpu; k++) {
            KeInitializeDpc(&x->dpc[c][k], TargetedDpc, x);
            KeSetTargetProcessorDpc(&x->dpc[c][k], (CCHAR)c);
        }
    }
    LONG per_round = (LONG)(TARGETED_CPUS * x->per_cpu);
    uint64_t t0 = bench_host_ns();
    for (uint64_t r = 0; r < x->rounds; r++) {
        x->left = per_round;
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        for (unsigned k = 0; k < x->per_cpu; k++) {
            for (unsigned c = 0; c < TARGETED_CPUS; c++)
                (void)KeInsertQueueDpc(&x->dpc[c][k], (PVOID)(uintptr_t)c, NULL);
        }
        KeLowerIrql(old);
        (void)KeWaitForSingleObject(&x->round_done, Executive, KernelMode, FALSE, NULL);
    }
    x->elapsed = bench_host_ns() - t0;
}

static unsigned tg_per_cpu;

/* @n DPC calls (rounded up to whole rounds; the count returned is for those). */
static uint64_t targeted_timed(uint64_t n)
{
    static tg_ctx x;
    memset(&x, 0, sizeof(x));
    x.per_cpu = tg_per_cpu;
    uint64_t per_round = TARGETED_CPUS * x.per_cpu;
    x.rounds = n / per_round;
    if (x.rounds * per_round != n) {
        fail("targeted_dpc", "n not a whole number of rounds");
        return 0;
    }
    kdpc_machine *m = new_machine(TARGETED_CPUS, KDPC_POLICY_RANDOM, 0, "targeted_dpc");
    if (m == NULL)
        return 0;
    bool ok = run_ok(m, targeted_entry, &x, "targeted_dpc");
    kdpc_machine_destroy(m);
    for (unsigned c = 0; ok && c < TARGETED_CPUS; c++) {
        if (x.ran[c] != x.rounds * x.per_cpu || x.wrong_cpu != 0) {
            fail("targeted_dpc", "a DPC ran on the wrong CPU or the count is off");
            ok = false;
        }
    }
    return ok ? x.elapsed : 0;
}

/* The naive queue: NAIVE_QCAP items per worker, producer blocks when full. */
typedef struct naive_item {
    void (*fn)(void *arg);
    void *arg;
} naive_item;

typedef struct naive_worker {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    naive_item q[NAIVE_QCAP];
    unsigned head, count;
    bool stop;
    uint64_t ran;
} naive_worker;

static naive_worker naive_w[TARGETED_CPUS];
static atomic_uint_fast64_t naive_done;
static uint64_t naive_total;
static pthread_mutex_t naive_done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t naive_done_cv = PTHREAD_COND_INITIALIZER;

static void naive_call(void *arg)
{
    naive_worker *w = arg;
    w->ran++;
    if (atomic_fetch_add(&naive_done, 1) + 1 == naive_total) {
        pthread_mutex_lock(&naive_done_mu);
        pthread_cond_signal(&naive_done_cv);
        pthread_mutex_unlock(&naive_done_mu);
    }
}

static void *naive_worker_main(void *p)
{
    naive_worker *w = p;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->count == 0 && !w->stop)
            pthread_cond_wait(&w->nonempty, &w->mu);
        if (w->count == 0) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        naive_item it = w->q[w->head];
        w->head = (w->head + 1u) % NAIVE_QCAP;
        w->count--;
        pthread_cond_signal(&w->nonfull);
        pthread_mutex_unlock(&w->mu);
        it.fn(it.arg);
    }
}

static void naive_push(naive_worker *w, naive_item it)
{
    pthread_mutex_lock(&w->mu);
    while (w->count == NAIVE_QCAP)
        pthread_cond_wait(&w->nonfull, &w->mu);
    w->q[(w->head + w->count) % NAIVE_QCAP] = it;
    w->count++;
    pthread_cond_signal(&w->nonempty);
    pthread_mutex_unlock(&w->mu);
}

/* Host ns from the first push to the last call (threads started before, joined after). */
static uint64_t naive_timed(uint64_t n)
{
    atomic_store(&naive_done, 0);
    naive_total = n;
    for (unsigned i = 0; i < TARGETED_CPUS; i++) {
        naive_worker *w = &naive_w[i];
        w->head = w->count = 0;
        w->stop = false;
        w->ran = 0;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->nonempty, NULL);
        pthread_cond_init(&w->nonfull, NULL);
        if (pthread_create(&w->th, NULL, naive_worker_main, w) != 0) {
            fail("naive_queue", "pthread_create failed");
            return 0; /* the process exits with bench_broken */
        }
    }
    uint64_t t0 = bench_host_ns();
    for (uint64_t i = 0; i < n; i++) {
        naive_worker *w = &naive_w[i % TARGETED_CPUS];
        naive_push(w, (naive_item){naive_call, w});
    }
    pthread_mutex_lock(&naive_done_mu);
    while (atomic_load(&naive_done) != n)
        pthread_cond_wait(&naive_done_cv, &naive_done_mu);
    pthread_mutex_unlock(&naive_done_mu);
    uint64_t elapsed = bench_host_ns() - t0;
    uint64_t ran = 0;
    for (unsigned i = 0; i < TARGETED_CPUS; i++) {
        naive_worker *w = &naive_w[i];
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->nonempty);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
        ran += w->ran;
        pthread_cond_destroy(&w->nonfull);
        pthread_cond_destroy(&w->nonempty);
        pthread_mutex_destroy(&w->mu);
    }
    if (ran != n) {
        fail("naive_queue", "call count off");
        return 0;
    }
    return elapsed;
}

/* measure() wants n free; both sides are given whole rounds of the 16-per-CPU workload. */
static uint64_t targeted_rounds_timed(uint64_t rounds)
{
    return targeted_timed(rounds * TARGETED_CPUS * tg_per_cpu);
}

static uint64_t naive_rounds_timed(uint64_t rounds)
{
    return naive_timed(rounds * TARGETED_CPUS * TARGETED_PER_CPU);
}

static void bench_targeted(void)
{
    double per_call = 1.0 / (TARGETED_CPUS * TARGETED_PER_CPU);
    tg_per_cpu = TARGETED_PER_CPU;
    stat7 k = measure(targeted_rounds_timed, 16);
    if (!k.ok)
        return;
    printf("# targeted_dpc: %u CPUs, %u DPCs targeted at each, all queued per round\n",
           TARGETED_CPUS, TARGETED_PER_CPU);
    print_stat("targeted_dpc", "ns/DPC call", per_call, &k, "rounds");
    stat7 nv = measure(naive_rounds_timed, 16);
    if (!nv.ok)
        return;
    printf("# naive_queue: %u host threads, mutex + condvar queue each, one producer\n",
           TARGETED_CPUS);
    print_stat("naive_queue", "ns/call", per_call, &nv, "rounds of calls");
    tg_per_cpu = 1;
    stat7 b = measure(targeted_rounds_timed, 16);
    if (!b.ok)
        return;
    print_stat("targeted_dpc_bcast", "ns/DPC call (information: 1 per CPU per round)",
               1.0 / TARGETED_CPUS, &b, "rounds");
    double ratio = nv.med / k.med; /* kdpc throughput / naive throughput */
    print_target("targeted_dpc throughput / naive_queue throughput", ratio, ">=", TARGET_TARGETED,
                 ratio >= TARGET_TARGETED);
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */

static void on_alarm(int sig)
{
    static const char msg[] = "bench_engine: timed out (a run never ended)\n";
    (void)sig;
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_engine [-t seconds-per-repetition] [-f switch|isr|targeted]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            rep_seconds = strtod(argv[++i], NULL);
            if (!(rep_seconds > 0) || rep_seconds > 5)
                usage();
        } else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else {
            usage();
        }
    }
    signal(SIGALRM, on_alarm);
    alarm(ALARM_SECONDS);
    uint64_t t0 = bench_host_ns();
    printf("# bench_engine: median of %d repetitions, ~%.2f s each, host CLOCK_MONOTONIC\n", REPS,
           rep_seconds);
    if (selected("switch") && !bench_broken)
        bench_switch();
    if (selected("isr") && !bench_broken)
        bench_isr();
    if (selected("targeted") && !bench_broken)
        bench_targeted();
    printf("# bench_engine: %.1f s\n", (double)(bench_host_ns() - t0) / 1e9);
    if (bench_broken) {
        printf("bench_engine: a measurement failed (see stderr)\n");
        return 1;
    }
    return 0;
}
