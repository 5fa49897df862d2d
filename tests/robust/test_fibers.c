/* SPDX-License-Identifier: MIT */
/*
 * test_fibers.c - the engine runs every simulated context of a machine as a
 * fiber on the host thread that calls kdpc_machine_run():
 *
 *  - a machine has no host thread of its own: an 8-CPU machine with system
 *    threads, work items and a DPC on every CPU adds none (Linux:
 *    /proc/self/task); the process has one watchdog thread whatever the
 *    number of machines;
 *  - two machines on two host threads run at the same time, and each gives
 *    the digests of the same runs done one after another on one thread;
 *  - a machine may be run from host thread A, then B (its blocked threads
 *    resume on B), then destroyed from a third;
 *  - bad driver code in a fiber world: unbounded recursion in a thread, a DPC
 *    or an ISR is bug check 0x7F (also on a host thread other than main); a
 *    DPC that sleeps in the host is dpc.watchdog 0x133, a thread that does is
 *    KDPC_TIMEOUT; two simulated threads deadlocking on a host
 *    pthread_mutex_t end with a timeout report; after each, a new machine on
 *    the same host thread runs normally;
 *  - host thread-local storage is shared by every simulated thread of a
 *    machine (and by the host thread that runs it): documented by test;
 *  - guarded stacks are cached and reused: 10000 create + run + destroy cycles
 *    leave the number of host mappings where it was (Linux: /proc/self/maps).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "kdpc_test.h"

/* ThreadSanitizer delivers an asynchronous signal to a thread only at its next intercepted call:
 * a host call that blocks forever without one is never interrupted there. */

static uint64_t host_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------ */
/* /proc (Linux)                                                       */

/* Host threads of this process, or -1 where /proc/self/task does not exist. */
static int task_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
}

/* Lines of /proc/self/maps (one per mapping), or -1 where it does not exist. */
static long maps_lines(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    long n = 0;
    for (int c = fgetc(f); c != EOF; c = fgetc(f)) {
        if (c == '\n')
            n++;
    }
    fclose(f);
    return n;
}

static int baseline_tasks = -1; /* measured in main, before any machine exists */

/* A clean run on a new machine: the engine still works on this host thread. */
static volatile LONG clean_dpc_runs;
static KDPC clean_dpc;

static void CleanDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)ctx, (void)a1, (void)a2;
    clean_dpc_runs++;
}

static void CleanThread(PVOID ctx)
{
    (void)ctx;
    KeInsertQueueDpc(&clean_dpc, NULL, NULL);
}

static void CleanEntry(void *arg)
{
    (void)arg;
    KeInitializeDpc(&clean_dpc, CleanDpc, NULL);
    KeSetTargetProcessorDpc(&clean_dpc, 1);
    HANDLE h;
    if (NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, CleanThread, NULL)))
        ZwClose(h);
}

static volatile int *volatile nowhere;
static volatile int crash_sink;

/* UBSan would report the NULL load itself and end the process: the crash is the point here. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((no_sanitize("address", "undefined")))
#endif
static void
NullReadThread(PVOID ctx)
{
    (void)ctx;
    crash_sink = *nowhere;
}

static void CrashEntry(void *arg)
{
    (void)arg;
    HANDLE h;
    if (NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, NullReadThread, NULL)))
        ZwClose(h);
}

/* A clean run on a new machine works on this host thread, and a crash there is still contained
 * (kdpc's per-host-thread state, such as its "inside host code" count, is as it should be). */
static void assert_a_new_machine_runs(void)
{
    kdpc_machine *m = kt_machine(2, 42);
    clean_dpc_runs = 0;
    assert_int_equal(kdpc_machine_run(m, CleanEntry, NULL), KDPC_OK);
    assert_int_equal(clean_dpc_runs, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);

    m = kt_machine(2, 43);
    KDPC_NAME(m, NullReadThread);
    kdpc_status st = kdpc_machine_run(m, CrashEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x7E);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "NullReadThread");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* No host thread per machine                                          */

#define BUSY_CPUS    8
#define BUSY_THREADS 12
#define BUSY_WORK    3

typedef struct busy {
    KEVENT gate;
    KDPC dpc[BUSY_CPUS];
    WORK_QUEUE_ITEM work[BUSY_WORK];
    LONG volatile waiting;
    LONG volatile dpcs;
    LONG volatile dpc_cpus; /* bit i: the DPC ran on CPU i */
    LONG volatile done;
    int max_tasks; /* most host threads seen from simulated code */
} busy;

static void note_tasks(busy *b)
{
    int n = task_count();
    if (n > b->max_tasks)
        b->max_tasks = n;
}

static void BusyDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)a1, (void)a2;
    busy *b = ctx;
    note_tasks(b);
    InterlockedOr(&b->dpc_cpus, (LONG)(1u << KeGetCurrentProcessorNumber()));
    InterlockedIncrement(&b->dpcs);
}

static void BusyWaiter(PVOID ctx)
{
    busy *b = ctx;
    InterlockedIncrement(&b->waiting);
    KeWaitForSingleObject(&b->gate, Executive, KernelMode, FALSE, NULL);
    InterlockedIncrement(&b->done);
}

static void BusyEntry(void *arg)
{
    busy *b = arg;
    KeInitializeEvent(&b->gate, NotificationEvent, FALSE);
    for (int i = 0; i < BUSY_THREADS; i++) {
        HANDLE h;
        if (NT_SUCCESS(
                PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, BusyWaiter, b)))
            ZwClose(h);
    }
    for (int i = 0; i < BUSY_WORK; i++) {
        ExInitializeWorkItem(&b->work[i], BusyWaiter, b);
        ExQueueWorkItem(&b->work[i], i == 0 ? CriticalWorkQueue : DelayedWorkQueue);
    }
    ULONG ncpu = KeQueryActiveProcessorCount(NULL);
    for (ULONG i = 0; i < ncpu && i < BUSY_CPUS; i++) {
        KeInitializeDpc(&b->dpc[i], BusyDpc, b);
        KeSetTargetProcessorDpc(&b->dpc[i], (CCHAR)i);
        KeInsertQueueDpc(&b->dpc[i], NULL, NULL);
    }
    while (b->waiting < BUSY_THREADS + BUSY_WORK || b->dpcs < (LONG)ncpu)
        KeStallExecutionProcessor(1);
    note_tasks(b); /* every thread started and blocked, every CPU has run a DPC */
    KeSetEvent(&b->gate, 0, FALSE);
}

static void test_a_machine_uses_no_host_thread_of_its_own(void **state)
{
    (void)state;
    if (baseline_tasks < 0) {
        print_message("no /proc/self/task on this host: nothing to count\n");
        skip();
    }
    kdpc_machine *m = kt_machine(BUSY_CPUS, 1);
    kdpc_machine *idle64 = kt_machine(KDPC_MAX_CPUS, 2); /* alive, never run */
    assert_true(task_count() <= baseline_tasks + 1);

    busy b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(kdpc_machine_run(m, BusyEntry, &b), KDPC_OK);
    assert_int_equal(b.done, BUSY_THREADS + BUSY_WORK);
    assert_int_equal(b.dpc_cpus, (1 << BUSY_CPUS) - 1);
    /* Inside the run: the host thread running it, and at most the process's watchdog. */
    assert_true(b.max_tasks >= baseline_tasks);
    if (b.max_tasks > baseline_tasks + 1) {
        print_error("%d host threads inside the run, %d before any machine\n", b.max_tasks,
                    baseline_tasks);
        fail();
    }
    const int after_first = task_count();
    assert_true(after_first <= baseline_tasks + 1);

    /* Another machine, and the first one again: still the one watchdog. */
    memset(&b, 0, sizeof(b));
    kdpc_machine *m2 = kt_machine(BUSY_CPUS, 3);
    assert_int_equal(kdpc_machine_run(m2, BusyEntry, &b), KDPC_OK);
    assert_true(b.max_tasks <= baseline_tasks + 1);
    assert_int_equal(kdpc_machine_reset(m, 4), KDPC_OK);
    memset(&b, 0, sizeof(b));
    assert_int_equal(kdpc_machine_run(m, BusyEntry, &b), KDPC_OK);
    assert_true(b.max_tasks <= baseline_tasks + 1);
    assert_int_equal(task_count(), after_first);
    kdpc_machine_destroy(m2);
    kdpc_machine_destroy(idle64);
    kdpc_machine_destroy(m);
    assert_true(task_count() <= baseline_tasks + 1);
}

/* ------------------------------------------------------------------ */
/* Two machines on two host threads                                    */

#define PAR_CPUS    4
#define PAR_RUNS    20
#define PAR_THREADS 3
#define PAR_LOOPS   4
#define PAR_CAP     ((size_t)1 << 12)

/* Everything a run touches is in here: two machines never share state. */
typedef struct pworld {
    KSPIN_LOCK lock;
    LONG counter;
    KDPC dpc[PAR_CPUS];
    KTIMER timer;
    KDPC timer_dpc;
    KSEMAPHORE sem;
    WORK_QUEUE_ITEM work;
    LONG volatile done;
    LONG dpc_runs;
} pworld;

static void ParDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)a1, (void)a2;
    pworld *w = ctx;
    KeAcquireSpinLockAtDpcLevel(&w->lock);
    w->counter++;
    w->dpc_runs++;
    KeReleaseSpinLockFromDpcLevel(&w->lock);
}

static void ParTimerDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)a1, (void)a2;
    pworld *w = ctx;
    KeReleaseSemaphore(&w->sem, 0, 1, FALSE);
}

static void ParWorker(PVOID ctx)
{
    pworld *w = ctx;
    for (int i = 0; i < PAR_LOOPS; i++) {
        KIRQL old;
        KeAcquireSpinLock(&w->lock, &old);
        w->counter++;
        KeReleaseSpinLock(&w->lock, old);
        KeInsertQueueDpc(&w->dpc[(unsigned)i % PAR_CPUS], NULL, NULL);
        KeStallExecutionProcessor(1);
    }
    InterlockedIncrement(&w->done);
}

static void ParWork(PVOID ctx)
{
    pworld *w = ctx;
    KeWaitForSingleObject(&w->sem, Executive, KernelMode, FALSE, NULL);
    ParWorker(w);
}

static void ParEntry(void *arg)
{
    pworld *w = arg;
    KeInitializeSpinLock(&w->lock);
    KeInitializeSemaphore(&w->sem, 0, 10);
    for (unsigned i = 0; i < PAR_CPUS; i++) {
        KeInitializeDpc(&w->dpc[i], ParDpc, w);
        KeSetTargetProcessorDpc(&w->dpc[i], (CCHAR)i);
    }
    KeInitializeTimer(&w->timer);
    KeInitializeDpc(&w->timer_dpc, ParTimerDpc, w);
    LARGE_INTEGER due;
    due.QuadPart = -20; /* 2 us */
    KeSetTimer(&w->timer, due, &w->timer_dpc);
    ExInitializeWorkItem(&w->work, ParWork, w);
    ExQueueWorkItem(&w->work, CriticalWorkQueue);
    for (int i = 0; i < PAR_THREADS; i++) {
        HANDLE h;
        if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, ParWorker, w)))
            ZwClose(h);
    }
    while (w->done < PAR_THREADS + 1)
        KeStallExecutionProcessor(1);
    KeFlushQueuedDpcs();
}

typedef struct par_result {
    kdpc_status st;
    uint64_t digest;
    uint64_t events;
    uint64_t time_ns;
    LONG counter;
    LONG expected;
} par_result;

static void par_run(kdpc_machine *m, par_result *r)
{
    pworld w;
    memset(&w, 0, sizeof(w));
    r->st = kdpc_machine_run(m, ParEntry, &w);
    r->digest = kdpc_trace_digest(m);
    r->events = kdpc_trace_total(m);
    r->time_ns = kdpc_machine_time_ns(m);
    r->counter = w.counter;
    r->expected = (PAR_THREADS + 1) * PAR_LOOPS + w.dpc_runs;
}

static kdpc_config par_config(uint64_t seed)
{
    kdpc_config cfg = kt_config(PAR_CPUS, seed);
    cfg.trace_capacity = PAR_CAP;
    return cfg;
}

/* One host thread's share: PAR_RUNS runs of seeds base, base+1, ..., on one machine reset
 * between runs (reuse) or on a new machine each (create). No CMocka check off the test thread:
 * results are checked by the test thread. */
typedef struct par_job {
    uint64_t base;
    bool reuse;
    par_result r[PAR_RUNS];
    bool created;
} par_job;

static void *par_job_main(void *arg)
{
    par_job *j = arg;
    kdpc_config cfg = par_config(j->base);
    kdpc_machine *m = j->reuse ? kdpc_machine_create(&cfg) : NULL;
    j->created = !j->reuse || m != NULL;
    for (unsigned i = 0; i < PAR_RUNS && j->created; i++) {
        cfg.seed = j->base + i;
        if (j->reuse) {
            if (kdpc_machine_reset(m, cfg.seed) != KDPC_OK) {
                j->r[i].st = KDPC_ESYSTEM;
                continue;
            }
        } else {
            m = kdpc_machine_create(&cfg);
            if (m == NULL) {
                j->created = false;
                break;
            }
        }
        par_run(m, &j->r[i]);
        if (!j->reuse)
            kdpc_machine_destroy(m);
    }
    if (j->reuse)
        kdpc_machine_destroy(m);
    return NULL;
}

static void check_job(const par_job *j, const par_job *ref)
{
    assert_true(j->created);
    for (unsigned i = 0; i < PAR_RUNS; i++) {
        assert_int_equal(j->r[i].st, KDPC_OK);
        assert_int_equal(j->r[i].counter, j->r[i].expected);
        if (j->r[i].digest != ref->r[i].digest || j->r[i].events != ref->r[i].events ||
            j->r[i].time_ns != ref->r[i].time_ns) {
            print_error("seed %llu: digest %llx / %llu events / %llu ns on a host thread of its "
                        "own, %llx / %llu / %llu one after another\n",
                        (unsigned long long)(j->base + i), (unsigned long long)j->r[i].digest,
                        (unsigned long long)j->r[i].events, (unsigned long long)j->r[i].time_ns,
                        (unsigned long long)ref->r[i].digest, (unsigned long long)ref->r[i].events,
                        (unsigned long long)ref->r[i].time_ns);
            fail();
        }
    }
}

static void test_two_machines_on_two_host_threads_give_the_sequential_digests(void **state)
{
    (void)state;
    /* The reference: every run one after another on this thread, each on a new machine. */
    static par_job ref_a, ref_b, job_a, job_b;
    memset(&ref_a, 0, sizeof(ref_a));
    memset(&ref_b, 0, sizeof(ref_b));
    ref_a.base = 100;
    ref_b.base = 200;
    par_job_main(&ref_a);
    par_job_main(&ref_b);
    assert_true(ref_a.created && ref_b.created);
    bool differ = false;
    for (unsigned i = 0; i < PAR_RUNS; i++) {
        assert_int_equal(ref_a.r[i].st, KDPC_OK);
        assert_true(ref_a.r[i].digest != 0);
        differ = differ || ref_a.r[i].digest != ref_a.r[0].digest;
    }
    assert_true(differ); /* the seeds give different schedules: digests can tell */

    /* The same runs on two host threads at once: one machine reset between runs on A, a new
     * machine per run on B. */
    memset(&job_a, 0, sizeof(job_a));
    memset(&job_b, 0, sizeof(job_b));
    job_a.base = 100;
    job_a.reuse = true;
    job_b.base = 200;
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, par_job_main, &job_a), 0);
    assert_int_equal(pthread_create(&tb, NULL, par_job_main, &job_b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    check_job(&job_a, &ref_a);
    check_job(&job_b, &ref_b);
}

/* Each machine's entry waits (passing interleaving points) until the other machine's entry has
 * started: both end only if the two runs are in progress at the same time. */
typedef struct meet {
    atomic_int *mine;
    atomic_int *theirs;
    bool met;
    int tasks; /* host threads seen while both runs were in progress */
    kdpc_status st;
} meet;

static atomic_int arrived_a, arrived_b;

static void MeetEntry(void *arg)
{
    meet *x = arg;
    atomic_store(x->mine, 1);
    uint64_t give_up = host_ms() + 20000;
    while (!atomic_load(x->theirs) && host_ms() < give_up)
        KeStallExecutionProcessor(1);
    x->met = atomic_load(x->theirs) != 0;
    x->tasks = task_count();
    /* Stay until the other side has looked too. */
    atomic_store(x->mine, 2);
    while (atomic_load(x->theirs) == 1 && host_ms() < give_up)
        KeStallExecutionProcessor(1);
}

static void *meet_main(void *arg)
{
    meet *x = arg;
    kdpc_config cfg = kt_config(2, 5);
    cfg.run_step_limit = 0; /* the host decides when the run ends */
    cfg.run_time_limit_ns = 0;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        x->st = KDPC_ENOMEM;
        return NULL;
    }
    x->st = kdpc_machine_run(m, MeetEntry, x);
    kdpc_machine_destroy(m);
    return NULL;
}

static void test_two_machines_on_two_host_threads_run_at_the_same_time(void **state)
{
    (void)state;
    atomic_store(&arrived_a, 0);
    atomic_store(&arrived_b, 0);
    meet a = {&arrived_a, &arrived_b, false, 0, KDPC_ESYSTEM};
    meet b = {&arrived_b, &arrived_a, false, 0, KDPC_ESYSTEM};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, meet_main, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, meet_main, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.st, KDPC_OK);
    assert_int_equal(b.st, KDPC_OK);
    assert_true(a.met);
    assert_true(b.met);
    if (baseline_tasks >= 0) {
        /* this thread, the two running the machines, the one watchdog */
        assert_true(a.tasks <= baseline_tasks + 3);
        assert_true(b.tasks <= baseline_tasks + 3);
    }
}

/* ------------------------------------------------------------------ */
/* One machine, three host threads                                     */

#define TRAVELLERS  3
#define TRAVEL_WORK 2

typedef struct travel {
    KEVENT gate1, gate2;
    KTIMER tick;
    KDPC tick_dpc;
    WORK_QUEUE_ITEM work[TRAVEL_WORK];
    LONG volatile started, woke, finished;
    pthread_t started_on[TRAVELLERS + TRAVEL_WORK];
    pthread_t woke_on[TRAVELLERS + TRAVEL_WORK];
    LONG volatile ticks;
} travel;

static void TravelTick(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)a1, (void)a2;
    travel *t = ctx;
    t->ticks++;
}

static void Traveller(PVOID ctx)
{
    travel *t = ctx;
    LONG me = InterlockedIncrement(&t->started) - 1;
    t->started_on[me] = pthread_self();
    KeWaitForSingleObject(&t->gate1, Executive, KernelMode, FALSE, NULL);
    t->woke_on[me] = pthread_self();
    InterlockedIncrement(&t->woke);
    KeWaitForSingleObject(&t->gate2, Executive, KernelMode, FALSE, NULL); /* never set */
    InterlockedIncrement(&t->finished);
}

static void TravelStart(void *arg)
{
    travel *t = arg;
    KeInitializeEvent(&t->gate1, NotificationEvent, FALSE);
    KeInitializeEvent(&t->gate2, NotificationEvent, FALSE);
    /* A periodic timer with a DPC could set the gates: threads left blocked are no deadlock. */
    KeInitializeTimer(&t->tick);
    KeInitializeDpc(&t->tick_dpc, TravelTick, t);
    LARGE_INTEGER due;
    due.QuadPart = -10000;
    KeSetTimerEx(&t->tick, due, 1, &t->tick_dpc);
    for (int i = 0; i < TRAVELLERS; i++) {
        HANDLE h;
        if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Traveller, t)))
            ZwClose(h);
    }
    for (int i = 0; i < TRAVEL_WORK; i++) {
        ExInitializeWorkItem(&t->work[i], Traveller, t);
        ExQueueWorkItem(&t->work[i], DelayedWorkQueue);
    }
}

static void TravelOpen(void *arg)
{
    travel *t = arg;
    KeSetEvent(&t->gate1, 0, FALSE);
}

typedef struct travel_step {
    kdpc_machine *m;
    kdpc_entry_fn *entry;
    travel *t;
    kdpc_status st;
    pthread_t self;
} travel_step;

static void *travel_main(void *arg)
{
    travel_step *s = arg;
    s->self = pthread_self();
    s->st = kdpc_machine_run_for(s->m, s->entry, s->t, 20000000); /* 20 ms */
    return NULL;
}

static void travel_on_new_thread(travel_step *s)
{
    pthread_t h;
    assert_int_equal(pthread_create(&h, NULL, travel_main, s), 0);
    pthread_join(h, NULL);
    assert_int_equal(s->st, KDPC_OK);
}

/*
 * A machine run on host thread A, then B, then this one, and destroyed here: its blocked
 * threads resume on whichever host thread runs it. (Instrumented builds once kept the address
 * of a thread-local counter across the switch and updated the old host thread's copy; kdpc
 * reads thread-locals out of line there now. See KDPC_SANITIZED in src/platform/platform.h.)
 */
static void test_a_machine_runs_from_two_host_threads_and_is_destroyed_from_a_third(void **state)
{
    (void)state;
    static travel t;
    memset(&t, 0, sizeof(t));
    kdpc_machine *m = kt_machine(2, 9);
    travel_step a = {m, TravelStart, &t, KDPC_ESYSTEM, pthread_self()};
    travel_on_new_thread(&a);
    assert_int_equal(t.started, TRAVELLERS + TRAVEL_WORK);
    assert_int_equal(t.woke, 0);
    assert_true(t.ticks > 0);
    for (int i = 0; i < TRAVELLERS + TRAVEL_WORK; i++)
        assert_true(pthread_equal(t.started_on[i], a.self));

    /* Host thread A is gone; its blocked threads go on on B. */
    travel_step b = {m, TravelOpen, &t, KDPC_ESYSTEM, pthread_self()};
    travel_on_new_thread(&b);
    assert_int_equal(t.woke, TRAVELLERS + TRAVEL_WORK);
    assert_int_equal(t.finished, 0);
    for (int i = 0; i < TRAVELLERS + TRAVEL_WORK; i++)
        assert_true(pthread_equal(t.woke_on[i], b.self));
    assert_false(kdpc_machine_halted(m));
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    /* And back on this thread, which has never run it. */
    LONG ticks = t.ticks;
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 50000000), KDPC_OK); /* > 1 clock tick */
    assert_true(t.ticks > ticks);
    /* Destroyed here, with threads and work items still blocked and the timer set. */
    kdpc_machine_destroy(m);
    assert_int_equal(t.finished, 0);
    assert_a_new_machine_runs();
}

/* ------------------------------------------------------------------ */
/* Unbounded recursion                                                 */

static volatile int depth_limit = 1 << 30; /* never reached: the stack ends first */
static volatile int sink;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((no_sanitize("address", "undefined")))
#endif
static int
recurse(int depth)
{
    volatile char frame[256];
    frame[0] = (char)depth;
    frame[255] = (char)depth;
    if (depth >= depth_limit)
        return 0;
    return recurse(depth + 1) + frame[0] + frame[255];
}

static PKINTERRUPT rec_intr;
static KDPC rec_dpc;

static void RecursingThread(PVOID ctx)
{
    (void)ctx;
    sink = recurse(0);
}

static void RecursingDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)ctx, (void)a1, (void)a2;
    sink = recurse(0);
}

static BOOLEAN RecursingIsr(PKINTERRUPT i, PVOID ctx)
{
    (void)i, (void)ctx;
    sink = recurse(0);
    return TRUE;
}

typedef enum rec_where { REC_THREAD, REC_DPC, REC_ISR, REC_WHERES } rec_where;
static const char *const rec_names[REC_WHERES] = {"RecursingThread", "RecursingDpc",
                                                  "RecursingIsr"};

static void RecursionEntry(void *arg)
{
    rec_where where = (rec_where)(uintptr_t)arg;
    switch (where) {
    case REC_THREAD: {
        HANDLE h;
        if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                            RecursingThread, NULL)))
            ZwClose(h);
        break;
    }
    case REC_DPC:
        KeInitializeDpc(&rec_dpc, RecursingDpc, NULL);
        KeSetTargetProcessorDpc(&rec_dpc, 1);
        KeInsertQueueDpc(&rec_dpc, NULL, NULL);
        break;
    case REC_ISR:
        if (!NT_SUCCESS(IoConnectInterrupt(&rec_intr, RecursingIsr, NULL, NULL, 7, 5, 5, Latched,
                                           FALSE, KeQueryActiveProcessors(), FALSE)))
            return;
        kdpc_line_assert(kdpc_current_machine(), 7);
        for (;;)
            KeStallExecutionProcessor(1);
    case REC_WHERES:
        break;
    }
}

typedef struct rec_result {
    kdpc_status st;
    char rule[32];
    uint32_t code;
    uint64_t p1;
    char routine[64];
    bool says_overflow;
    bool halted;
} rec_result;

static void recursion_run(rec_where where, size_t stack, rec_result *r)
{
    kdpc_config cfg = kt_config(2, (uint64_t)where);
    cfg.thread_stack_size = stack;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        r->st = KDPC_ENOMEM;
        return;
    }
    KDPC_NAME(m, RecursingThread);
    KDPC_NAME(m, RecursingDpc);
    KDPC_NAME(m, RecursingIsr);
    r->st = kdpc_machine_run(m, RecursionEntry, (void *)(uintptr_t)where);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    if (bc != NULL) {
        snprintf(r->rule, sizeof(r->rule), "%s", bc->rule);
        r->code = bc->code;
        r->p1 = bc->params[0];
        snprintf(r->routine, sizeof(r->routine), "%s", bc->routine != NULL ? bc->routine : "");
        r->says_overflow = strstr(bc->message, "stack overflow") != NULL;
    }
    r->halted = kdpc_machine_halted(m);
    kdpc_machine_destroy(m);
}

static void assert_overflow(const rec_result *r, rec_where where)
{
    assert_int_equal(r->st, KDPC_BUGCHECK);
    assert_string_equal(r->rule, "ke.crash");
    assert_int_equal(r->code, 0x7F);
    assert_int_equal(r->p1, 8); /* double fault */
    assert_true(r->says_overflow);
    assert_string_equal(r->routine, rec_names[where]);
    assert_true(r->halted);
}

static void test_unbounded_recursion_in_a_thread_a_dpc_and_an_isr_is_0x7f(void **state)
{
    (void)state;
    const size_t stacks[] = {(size_t)1 << 20 /* the default */, (size_t)256 << 10};
    for (unsigned s = 0; s < 2; s++) {
        for (int w = 0; w < REC_WHERES; w++) {
            rec_result r;
            memset(&r, 0, sizeof(r));
            recursion_run((rec_where)w, stacks[s], &r);
            assert_overflow(&r, (rec_where)w);
            assert_a_new_machine_runs();
        }
    }
}

typedef struct rec_job {
    rec_where where;
    rec_result r[2];
} rec_job;

static void *rec_job_main(void *arg)
{
    rec_job *j = arg;
    recursion_run(j->where, (size_t)256 << 10, &j->r[0]);
    recursion_run(j->where, (size_t)256 << 10, &j->r[1]); /* the host thread survived the first */
    return NULL;
}

static void test_unbounded_recursion_on_another_host_thread_is_0x7f(void **state)
{
    (void)state;
    for (int w = 0; w < REC_WHERES; w++) {
        rec_job j;
        memset(&j, 0, sizeof(j));
        j.where = (rec_where)w;
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, rec_job_main, &j), 0);
        pthread_join(t, NULL);
        assert_overflow(&j.r[0], (rec_where)w);
        assert_overflow(&j.r[1], (rec_where)w);
    }
    assert_a_new_machine_runs();
}

/*
 * A crash on a 64 KiB stack is contained and reported: the report's symbolisation (libdw needs
 * more than 128 KiB of stack) runs on a spare stack of the host thread.
 */
static void test_a_crash_on_a_64_kib_stack_is_contained(void **state)
{
    (void)state;
    for (int w = 0; w < REC_WHERES; w++) {
        rec_result r;
        memset(&r, 0, sizeof(r));
        recursion_run((rec_where)w, (size_t)64 << 10, &r);
        assert_overflow(&r, (rec_where)w);
    }
    assert_a_new_machine_runs();
}

/* ------------------------------------------------------------------ */
/* Host blocking calls                                                 */

#define HANG_MS 300u

static kdpc_machine *hang_machine(unsigned cpus)
{
    kdpc_config cfg = kt_config(cpus, 3);
    cfg.host_hang_ms = HANG_MS;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* Sleep in the host for up to 10 s (again after an interruption the engine chose to ignore). */
static void host_nap(void)
{
    struct timespec req = {10, 0}, rem;
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
}

static KDPC nap_dpc;

static void NappingDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)ctx, (void)a1, (void)a2;
    host_nap();
}

static void QueueNappingDpc(void *arg)
{
    (void)arg;
    KeInitializeDpc(&nap_dpc, NappingDpc, NULL);
    KeInsertQueueDpc(&nap_dpc, NULL, NULL);
}

static void test_a_dpc_sleeping_in_the_host_is_the_dpc_watchdog(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        kdpc_machine *m = hang_machine(cpus);
        KDPC_NAME(m, NappingDpc);
        uint64_t t0 = host_ms();
        kdpc_status st = kdpc_machine_run(m, QueueNappingDpc, NULL);
        uint64_t took = host_ms() - t0;
        KT_ASSERT_BUGCHECK(m, st, "dpc.watchdog", 0x133);
        assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0);
        assert_string_equal(kdpc_machine_bugcheck(m)->routine, "NappingDpc");
        if (took < HANG_MS || took > 5000) {
            print_error("the run took %llu ms of host time\n", (unsigned long long)took);
            fail();
        }
        kdpc_machine_destroy(m);
        assert_a_new_machine_runs();
    }
}

static void NappingThread(void *arg)
{
    (void)arg;
    unsigned left = 10;
    while (left > 0)
        left = sleep(left);
}

static void test_a_thread_sleeping_in_the_host_times_out(void **state)
{
    (void)state;
    kdpc_machine *m = hang_machine(2);
    KDPC_NAME(m, NappingThread);
    uint64_t t0 = host_ms();
    assert_int_equal(kdpc_machine_run(m, NappingThread, NULL), KDPC_TIMEOUT);
    uint64_t took = host_ms() - t0;
    assert_true(took >= HANG_MS && took <= 5000);
    assert_null(kdpc_machine_bugcheck(m));
    const char *r = kdpc_machine_timeout_report(m);
    assert_non_null(r);
    assert_non_null(strstr(r, "NappingThread ran 300 ms of host time"));
    kdpc_machine_destroy(m);
    assert_a_new_machine_runs();
}

/* Two simulated threads of one machine and a host mutex: the holder blocks on a KEVENT (the
 * machine switches to the other thread on the same host thread), the other asks for the mutex
 * and blocks the host thread itself. Nothing simulated can release it. */
typedef struct mutex_pair {
    pthread_mutex_t *mu;
    KEVENT never;
    LONG volatile holding;
    LONG volatile got_it;
} mutex_pair;

static void MutexHolder(PVOID ctx)
{
    mutex_pair *p = ctx;
    pthread_mutex_lock(p->mu);
    p->holding = 1;
    KeWaitForSingleObject(&p->never, Executive, KernelMode, FALSE, NULL);
    pthread_mutex_unlock(p->mu);
}

static void MutexWaiter(PVOID ctx)
{
    mutex_pair *p = ctx;
    while (!p->holding)
        KeStallExecutionProcessor(1);
    pthread_mutex_lock(p->mu); /* held by the other simulated thread: blocks the host thread */
    p->got_it = 1;
    pthread_mutex_unlock(p->mu);
}

static void MutexEntry(void *arg)
{
    mutex_pair *p = arg;
    KeInitializeEvent(&p->never, NotificationEvent, FALSE);
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, MutexHolder, p)))
        ZwClose(h);
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, MutexWaiter, p)))
        ZwClose(h);
}

static void mutex_deadlock(unsigned cpus)
{
    /* Never unlocked (its holder is dropped where it stands): never reused either. */
    pthread_mutex_t *mu = malloc(sizeof(*mu));
    assert_non_null(mu);
    assert_int_equal(pthread_mutex_init(mu, NULL), 0);
    mutex_pair p;
    memset(&p, 0, sizeof(p));
    p.mu = mu;
    kdpc_machine *m = hang_machine(cpus);
    KDPC_NAME(m, MutexHolder);
    KDPC_NAME(m, MutexWaiter);
    uint64_t t0 = host_ms();
    kdpc_status st = kdpc_machine_run(m, MutexEntry, &p);
    uint64_t took = host_ms() - t0;
    assert_int_equal(st, KDPC_TIMEOUT);
    assert_true(took >= HANG_MS && took <= 5000);
    assert_int_equal(p.holding, 1);
    assert_int_equal(p.got_it, 0);
    const char *r = kdpc_machine_timeout_report(m);
    assert_non_null(r);
    assert_non_null(strstr(r, "MutexWaiter ran 300 ms of host time"));
    /* what was still alive: the holder, blocked on its event */
    assert_non_null(strstr(r, "MutexHolder"));
    kdpc_machine_destroy(m);
    free(mu);
}

static void test_two_threads_deadlocking_on_a_host_mutex_end_with_a_report(void **state)
{
    (void)state;
    if (KT_TSAN)
        skip(); /* the blocked pthread_mutex_lock makes no further intercepted call */
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        mutex_deadlock(cpus);
        assert_a_new_machine_runs();
    }
}

/* ------------------------------------------------------------------ */
/* Host thread-local storage in a fiber world                          */

static _Thread_local int tls_value;

typedef struct tls_pair {
    KEVENT written;
    int seen;
    pthread_t writer_host, reader_host;
} tls_pair;

static void TlsWriter(PVOID ctx)
{
    tls_pair *p = ctx;
    p->writer_host = pthread_self();
    tls_value = 1234;
    KeSetEvent(&p->written, 0, FALSE);
}

static void TlsReader(PVOID ctx)
{
    tls_pair *p = ctx;
    KeWaitForSingleObject(&p->written, Executive, KernelMode, FALSE, NULL);
    p->reader_host = pthread_self();
    p->seen = tls_value;
}

static void TlsEntry(void *arg)
{
    tls_pair *p = arg;
    KeInitializeEvent(&p->written, NotificationEvent, FALSE);
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, TlsReader, p)))
        ZwClose(h);
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, TlsWriter, p)))
        ZwClose(h);
}

/*
 * The fiber-world rule (README, "What driver code may not do in a fiber world"): every
 * simulated thread of a machine runs on the host thread that called kdpc_machine_run, so host
 * thread-local storage (_Thread_local, pthread keys, errno) is one for all of them, and the
 * run's caller sees what they left. A driver keeps per-thread state in its own structures.
 */
static void test_host_tls_is_shared_by_every_simulated_thread_of_a_machine(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        tls_value = 0;
        tls_pair p;
        memset(&p, 0, sizeof(p));
        kdpc_machine *m = kt_machine(cpus, 0);
        assert_int_equal(kdpc_machine_run(m, TlsEntry, &p), KDPC_OK);
        assert_int_equal(p.seen, 1234);
        assert_true(pthread_equal(p.writer_host, pthread_self()));
        assert_true(pthread_equal(p.reader_host, pthread_self()));
        assert_int_equal(tls_value, 1234); /* the caller's own */
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* Stack cache                                                         */

#define MAP_CYCLES   10000
#define WIDE_THREADS 100 /* more stacks alive at once than the cache keeps */

typedef struct wide {
    KEVENT gate;
    LONG volatile started, done;
    LONG n;
} wide;

static void WideThread(PVOID ctx)
{
    wide *w = ctx;
    InterlockedIncrement(&w->started);
    KeWaitForSingleObject(&w->gate, Executive, KernelMode, FALSE, NULL);
    InterlockedIncrement(&w->done);
}

static void WideEntry(void *arg)
{
    wide *w = arg;
    KeInitializeEvent(&w->gate, NotificationEvent, FALSE);
    for (LONG i = 0; i < w->n; i++) {
        HANDLE h;
        if (NT_SUCCESS(
                PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, WideThread, w)))
            ZwClose(h);
    }
    while (w->started < w->n)
        KeStallExecutionProcessor(1);
    KeSetEvent(&w->gate, 0, FALSE);
}

static bool cycle(uint64_t i, LONG threads)
{
    kdpc_config cfg = kt_config(2, i);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL)
        return false;
    wide w;
    memset(&w, 0, sizeof(w));
    w.n = threads;
    kdpc_status st = kdpc_machine_run(m, WideEntry, &w);
    kdpc_machine_destroy(m);
    return st == KDPC_OK && w.done == threads;
}

static void test_ten_thousand_machines_do_not_grow_the_host_mappings(void **state)
{
    (void)state;
    if (maps_lines() < 0) {
        print_message("no /proc/self/maps on this host: nothing to count\n");
        skip();
    }
    /* Warm up: fill the stack cache and the allocator's arenas. */
    assert_true(cycle(0, WIDE_THREADS));
    for (uint64_t i = 1; i <= 50; i++)
        assert_true(cycle(i, 2));
    const long before = maps_lines();
    const long long rss_before = kt_host_rss();
    long half = -1;
    int failed = 0;
    for (uint64_t i = 0; i < MAP_CYCLES; i++) {
        LONG threads = i % 1000 == 999 ? WIDE_THREADS : (LONG)(i % 4);
        if (!cycle(i, threads))
            failed++;
        if (i == MAP_CYCLES / 2)
            half = maps_lines();
    }
    const long after = maps_lines();
    const long long rss_after = kt_host_rss();
    assert_int_equal(failed, 0);
    /* ThreadSanitizer's runtime maps memory of its own for the first few thousand fibers, and
     * after the other tests of this file a few lines per thousand cycles more: under it only the
     * second half counts, with a bound that still catches a mapping lost per cycle or so. */
    const long slack = KT_TSAN ? 64 : 8;
    const long from = KT_TSAN ? half : before;
    if (after > from + slack || after > half + slack) {
        print_error("/proc/self/maps: %ld lines before %d cycles, %ld half way, %ld after\n",
                    before, MAP_CYCLES, half, after);
        fail();
    }
    if (rss_before >= 0 && rss_after >= 0 && rss_after > rss_before + (8ll << 20)) {
        print_error("resident memory: %lld bytes before %d cycles, %lld after\n", rss_before,
                    MAP_CYCLES, rss_after);
        fail();
    }
}

static void *nothing(void *arg)
{
    return arg;
}

int main(void)
{
    /* Sanitizer runtimes may start a helper thread at the first pthread_create: have it
     * started before the baseline. */
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) == 0)
        pthread_join(t, NULL);
    baseline_tasks = task_count();
    const char *only = getenv("KT_FILTER"); /* e.g. KT_FILTER='*recursion*' */
    if (only != NULL)
        cmocka_set_test_filter(only);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_machine_uses_no_host_thread_of_its_own),
        cmocka_unit_test(test_two_machines_on_two_host_threads_give_the_sequential_digests),
        cmocka_unit_test(test_two_machines_on_two_host_threads_run_at_the_same_time),
        cmocka_unit_test(test_a_machine_runs_from_two_host_threads_and_is_destroyed_from_a_third),
        cmocka_unit_test(test_unbounded_recursion_in_a_thread_a_dpc_and_an_isr_is_0x7f),
        cmocka_unit_test(test_unbounded_recursion_on_another_host_thread_is_0x7f),
        cmocka_unit_test(test_a_crash_on_a_64_kib_stack_is_contained),
        cmocka_unit_test(test_a_dpc_sleeping_in_the_host_is_the_dpc_watchdog),
        cmocka_unit_test(test_a_thread_sleeping_in_the_host_times_out),
        cmocka_unit_test(test_two_threads_deadlocking_on_a_host_mutex_end_with_a_report),
        cmocka_unit_test(test_host_tls_is_shared_by_every_simulated_thread_of_a_machine),
        cmocka_unit_test(test_ten_thousand_machines_do_not_grow_the_host_mappings),
    };
    return cmocka_run_group_tests_name("fibers", tests, NULL, NULL);
}
