/* SPDX-License-Identifier: MIT */
/*
 * bench_timers_work - host cost of the clock, timers, work items and
 * events, in one run (issue 3's figures). Each figure is the median of
 * REPS repetitions on the host monotonic clock.
 *
 *   timers_per_second      10,000 one-shot KTIMERs with a DPC, due times
 *                          spread evenly over 1 s of virtual time (1 ms
 *                          tick): timers set and fired per host second;
 *   work_items_per_second  ExQueueWorkItem from a thread, each routine run
 *                          by the Delayed pool: items queued and run per
 *                          host second (the thread waits on an event every
 *                          BATCH items so the queue stays short);
 *   events_per_second      two threads on one CPU ping-pong through two
 *                          synchronization events: KeSetEvent + the woken
 *                          KeWaitForSingleObject, per host second;
 *   dpc_roundtrips_per_second  baseline measured in the same run: the
 *                          KeInsertQueueDpc round trip at PASSIVE_LEVEL.
 * Ratios print each figure against the DPC baseline (how many DPC round
 * trips one timer / work item / event handoff costs).
 *
 * A measurement, not a test: the exit status is 0 unless a run failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <kdpc/kdpc.h>
#include <wdm.h>

#define REPS    5
#define TIMERS  10000u
#define BATCH   64u
#define ITEMS   (312u * BATCH)
#define HANDOFF 20000u
#define DPCS    2000000u

static int broken;

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double run_timed(kdpc_config *cfg, kdpc_entry_fn *entry, void *ctx)
{
    cfg->log = NULL;
    kdpc_machine *m = kdpc_machine_create(cfg);
    if (m == NULL) {
        broken = 1;
        return 0;
    }
    uint64_t t0 = host_ns();
    kdpc_status st = kdpc_machine_run(m, entry, ctx);
    uint64_t t1 = host_ns();
    if (st != KDPC_OK) {
        fprintf(stderr, "bench_timers_work: run ended with %s\n", kdpc_strerror(st));
        broken = 1;
    }
    kdpc_machine_destroy(m);
    return (double)(t1 - t0) / 1e9;
}

/* ------------------------------------------------------------------ */
/* timers                                                              */

static KTIMER timers[TIMERS];
static KDPC timer_dpcs[TIMERS];
static volatile unsigned long fired;

static void TimerDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    fired++;
}

static void timers_entry(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < TIMERS; i++) {
        KeInitializeTimer(&timers[i]);
        KeInitializeDpc(&timer_dpcs[i], TimerDpc, NULL);
        LARGE_INTEGER due;
        /* spread over 1 s: 100 us apart, in 100 ns units, relative */
        due.QuadPart = -(LONGLONG)(i + 1) * 1000;
        KeSetTimer(&timers[i], due, &timer_dpcs[i]);
    }
}

static double bench_timers(void)
{
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    cfg.clock_tick_ns = 1000000;
    fired = 0;
    double s = run_timed(&cfg, timers_entry, NULL);
    if (fired != TIMERS) {
        fprintf(stderr, "bench_timers_work: %lu of %u timers fired\n", fired, TIMERS);
        broken = 1;
    }
    return (double)TIMERS / s;
}

/* ------------------------------------------------------------------ */
/* work items                                                          */

static WORK_QUEUE_ITEM items[BATCH];
static KEVENT batch_done;
static volatile LONG left_in_batch;
static volatile unsigned long ran;

static void WorkRoutine(PVOID p)
{
    (void)p;
    ran++;
    if (InterlockedDecrement(&left_in_batch) == 0)
        KeSetEvent(&batch_done, IO_NO_INCREMENT, FALSE);
}

static void work_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&batch_done, SynchronizationEvent, FALSE);
    for (unsigned done = 0; done < ITEMS; done += BATCH) {
        left_in_batch = BATCH;
        for (unsigned i = 0; i < BATCH; i++) {
            ExInitializeWorkItem(&items[i], WorkRoutine, NULL);
            ExQueueWorkItem(&items[i], DelayedWorkQueue);
        }
        KeWaitForSingleObject(&batch_done, Executive, KernelMode, FALSE, NULL);
    }
}

static double bench_work(void)
{
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    ran = 0;
    double s = run_timed(&cfg, work_entry, NULL);
    if (ran != ITEMS) {
        fprintf(stderr, "bench_timers_work: %lu of %u work items ran\n", ran, ITEMS);
        broken = 1;
    }
    return (double)ITEMS / s;
}

/* ------------------------------------------------------------------ */
/* event ping-pong                                                     */

static KEVENT ping, pong;

static void Ponger(PVOID ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < HANDOFF; i++) {
        KeWaitForSingleObject(&ping, Executive, KernelMode, FALSE, NULL);
        KeSetEvent(&pong, IO_NO_INCREMENT, FALSE);
    }
}

static void pingpong_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&ping, SynchronizationEvent, FALSE);
    KeInitializeEvent(&pong, SynchronizationEvent, FALSE);
    HANDLE h;
    if (!NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Ponger, NULL)))
        return;
    ZwClose(h);
    for (unsigned i = 0; i < HANDOFF; i++) {
        KeSetEvent(&ping, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(&pong, Executive, KernelMode, FALSE, NULL);
    }
}

static double bench_events(void)
{
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    double s = run_timed(&cfg, pingpong_entry, NULL);
    return (double)(2u * HANDOFF) / s;
}

/* ------------------------------------------------------------------ */
/* baseline: DPC round trips                                           */

static KDPC base_dpc;
static volatile unsigned long base_runs;

static void BaseDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    base_runs++;
}

static void base_entry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&base_dpc, BaseDpc, NULL);
    for (unsigned i = 0; i < DPCS; i++)
        KeInsertQueueDpc(&base_dpc, NULL, NULL);
}

static double bench_base(void)
{
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    base_runs = 0;
    double s = run_timed(&cfg, base_entry, NULL);
    return (double)DPCS / s;
}

/* ------------------------------------------------------------------ */

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double (*fn)(void))
{
    double v[REPS];
    for (int i = 0; i < REPS; i++)
        v[i] = fn();
    qsort(v, REPS, sizeof(v[0]), cmp);
    return v[REPS / 2];
}

int main(void)
{
    double base = median(bench_base);
    double timers_ps = median(bench_timers);
    double work_ps = median(bench_work);
    double events_ps = median(bench_events);
    printf("dpc_roundtrips_per_second: %.0f /s (baseline)\n", base);
    printf("timers_per_second: %.0f /s (%u timers over 1 s of virtual time)\n", timers_ps, TIMERS);
    printf("work_items_per_second: %.0f /s\n", work_ps);
    printf("events_per_second: %.0f /s (set + woken wait)\n", events_ps);
    printf("ratios:\n");
    printf("timer_cost_in_dpc_roundtrips: %.1f\n", base / timers_ps);
    printf("work_item_cost_in_dpc_roundtrips: %.1f\n", base / work_ps);
    printf("event_handoff_cost_in_dpc_roundtrips: %.1f\n", base / events_ps);
    return broken;
}
