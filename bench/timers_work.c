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
#include "bench.h"

#define REPS    5
#define TIMERS  10000u
#define BATCH   64u
#define ITEMS   (312u * BATCH)
#define HANDOFF 20000u

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
    bench_config_init(&cfg);
    cfg.clock_tick_ns = 1000000;
    fired = 0;
    double s = bench_run_timed("bench_timers_work", &cfg, timers_entry, NULL);
    if (fired != TIMERS) {
        fprintf(stderr, "bench_timers_work: %lu of %u timers fired\n", fired, TIMERS);
        bench_broken = 1;
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
    bench_config_init(&cfg);
    ran = 0;
    double s = bench_run_timed("bench_timers_work", &cfg, work_entry, NULL);
    if (ran != ITEMS) {
        fprintf(stderr, "bench_timers_work: %lu of %u work items ran\n", ran, ITEMS);
        bench_broken = 1;
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
    bench_config_init(&cfg);
    double s = bench_run_timed("bench_timers_work", &cfg, pingpong_entry, NULL);
    return (double)(2u * HANDOFF) / s;
}

int main(void)
{
    double base = bench_median(bench_dpc_roundtrips_per_second, REPS);
    double timers_ps = bench_median(bench_timers, REPS);
    double work_ps = bench_median(bench_work, REPS);
    double events_ps = bench_median(bench_events, REPS);
    printf("dpc_roundtrips_per_second: %.0f /s (baseline)\n", base);
    printf("timers_per_second: %.0f /s (%u timers over 1 s of virtual time)\n", timers_ps, TIMERS);
    printf("work_items_per_second: %.0f /s\n", work_ps);
    printf("events_per_second: %.0f /s (set + woken wait)\n", events_ps);
    printf("ratios:\n");
    printf("timer_cost_in_dpc_roundtrips: %.1f\n", base / timers_ps);
    printf("work_item_cost_in_dpc_roundtrips: %.1f\n", base / work_ps);
    printf("event_handoff_cost_in_dpc_roundtrips: %.1f\n", base / events_ps);
    return bench_broken;
}
