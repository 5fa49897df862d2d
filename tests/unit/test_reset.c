/* SPDX-License-Identifier: MIT */
/*
 * test_reset.c - kdpc_machine_reset(m, seed): the machine as
 * kdpc_machine_create() left it, with a new seed.
 *
 *  - a body run on a machine reset to seed S (after runs with other seeds)
 *    gives the trace digest, event count and virtual time of the same body on
 *    a fresh machine created with seed S; kdpc_machine_seed() is S;
 *  - violations, rule outcomes set with kdpc_rule_set(), pool, driver and
 *    device objects of the earlier runs are gone;
 *  - a machine halted by a bug check, one that deadlocked, one that timed out
 *    at its step limit, one shut down and one whose threads were left blocked
 *    by kdpc_machine_run_for() each run again after a reset;
 *  - NULL is KDPC_EINVAL; from simulated code (its own machine or another)
 *    and during a run on another host thread it is KDPC_EBUSY and changes
 *    nothing;
 *  - 2000 reset + run cycles of a 4-CPU machine (the asan preset checks that
 *    they leak nothing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "kdpc_test.h"

#define CPUS      4
#define LINE      9
#define NTHREADS  2
#define LOOPS     4
#define TRACE_CAP ((size_t)1 << 12)

/* ------------------------------------------------------------------ */
/* A workload touching every kind of context: system threads that      */
/* sleep, DPCs targeted at every CPU, a timer DPC, a work item, an ISR. */

typedef struct world {
    kdpc_machine *m;
    KSPIN_LOCK lock;
    LONG counter;
    KDPC dpc[CPUS];
    LONG dpc_runs;
    KDPC isr_dpc;
    PKINTERRUPT intr;
    LONG volatile isr_runs;
    LONG volatile isr_dpc_runs;
    KTIMER timer;
    KDPC timer_dpc;
    KEVENT timer_fired;
    KEVENT work_done;
    WORK_QUEUE_ITEM work;
    LONG work_runs;
    LONG volatile threads_done;
} world;

static void WorldDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)a1, (void)a2;
    world *w = ctx;
    KeAcquireSpinLockAtDpcLevel(&w->lock);
    w->counter++;
    w->dpc_runs++;
    KeReleaseSpinLockFromDpcLevel(&w->lock);
}

static void WorldIsrDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)a1, (void)a2;
    world *w = ctx;
    InterlockedIncrement(&w->isr_dpc_runs);
}

static BOOLEAN WorldIsr(PKINTERRUPT i, PVOID ctx)
{
    (void)i;
    world *w = ctx;
    InterlockedIncrement(&w->isr_runs);
    KeInsertQueueDpc(&w->isr_dpc, NULL, NULL);
    return TRUE;
}

static void WorldTimerDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)a1, (void)a2;
    world *w = ctx;
    KeSetEvent(&w->timer_fired, 0, FALSE);
}

static void WorldWork(PVOID ctx)
{
    world *w = ctx;
    KeWaitForSingleObject(&w->timer_fired, Executive, KernelMode, FALSE, NULL);
    w->work_runs++;
    KeSetEvent(&w->work_done, 0, FALSE);
}

static void WorldThread(PVOID ctx)
{
    world *w = ctx;
    ULONG ncpu = KeQueryActiveProcessorCount(NULL);
    for (int i = 0; i < LOOPS; i++) {
        KIRQL old;
        KeAcquireSpinLock(&w->lock, &old);
        w->counter++;
        KeReleaseSpinLock(&w->lock, old);
        KeInsertQueueDpc(&w->dpc[(ULONG)i % ncpu], NULL, NULL);
        LARGE_INTEGER delay;
        delay.QuadPart = -(LONGLONG)(1 + i); /* 100 ns units */
        KeDelayExecutionThread(KernelMode, FALSE, &delay);
    }
    InterlockedIncrement(&w->threads_done);
}

static void WorldEntry(void *arg)
{
    world *w = arg;
    ULONG ncpu = KeQueryActiveProcessorCount(NULL);
    KeInitializeSpinLock(&w->lock);
    for (ULONG i = 0; i < ncpu && i < CPUS; i++) {
        KeInitializeDpc(&w->dpc[i], WorldDpc, w);
        KeSetTargetProcessorDpc(&w->dpc[i], (CCHAR)i);
    }
    KeInitializeDpc(&w->isr_dpc, WorldIsrDpc, w);
    KeInitializeDpc(&w->timer_dpc, WorldTimerDpc, w);
    KeInitializeEvent(&w->timer_fired, NotificationEvent, FALSE);
    KeInitializeEvent(&w->work_done, NotificationEvent, FALSE);
    KeInitializeTimer(&w->timer);
    if (!NT_SUCCESS(IoConnectInterrupt(&w->intr, WorldIsr, w, NULL, LINE, 5, 5, Latched, FALSE,
                                       KeQueryActiveProcessors(), FALSE)))
        return;
    LARGE_INTEGER due;
    due.QuadPart = -500; /* 50 us */
    KeSetTimer(&w->timer, due, &w->timer_dpc);
    ExInitializeWorkItem(&w->work, WorldWork, w);
    ExQueueWorkItem(&w->work, DelayedWorkQueue);
    for (int i = 0; i < NTHREADS; i++) {
        HANDLE h;
        if (NT_SUCCESS(
                PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, WorldThread, w)))
            ZwClose(h);
    }
    kdpc_line_assert(w->m, LINE);
    while (w->isr_dpc_runs == 0)
        KeStallExecutionProcessor(1);
    KeWaitForSingleObject(&w->work_done, Executive, KernelMode, FALSE, NULL);
    while (w->threads_done < NTHREADS)
        KeStallExecutionProcessor(2);
    IoDisconnectInterrupt(w->intr);
    KeFlushQueuedDpcs();
}

static kdpc_config world_config(uint64_t seed)
{
    kdpc_config cfg = kt_config(CPUS, seed);
    cfg.trace_capacity = TRACE_CAP;
    return cfg;
}

typedef struct outcome {
    uint64_t digest;
    uint64_t events;
    uint64_t time_ns;
} outcome;

/* Run the workload once on @m and check that it did all its work. */
static outcome run_world(kdpc_machine *m)
{
    world w;
    memset(&w, 0, sizeof(w));
    w.m = m;
    assert_int_equal(kdpc_machine_run(m, WorldEntry, &w), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(w.isr_runs, 1);
    assert_int_equal(w.isr_dpc_runs, 1);
    assert_int_equal(w.work_runs, 1);
    assert_int_equal(w.threads_done, NTHREADS);
    assert_true(w.dpc_runs >= 1 && w.dpc_runs <= NTHREADS * LOOPS);
    assert_int_equal(w.counter, NTHREADS * LOOPS + w.dpc_runs);
    outcome o = {kdpc_trace_digest(m), kdpc_trace_total(m), kdpc_machine_time_ns(m)};
    assert_true(o.digest != 0);
    return o;
}

static outcome fresh_outcome(uint64_t seed)
{
    kdpc_config cfg = world_config(seed);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    outcome o = run_world(m);
    kdpc_machine_destroy(m);
    return o;
}

static void assert_same_outcome(outcome a, outcome b)
{
    assert_true(a.digest == b.digest);
    assert_int_equal(a.events, b.events);
    assert_int_equal(a.time_ns, b.time_ns);
}

/* ------------------------------------------------------------------ */

static void test_reset_replays_a_fresh_machine_of_the_same_seed(void **state)
{
    (void)state;
    outcome fresh7 = fresh_outcome(7);
    outcome fresh8 = fresh_outcome(8);
    /* The workload is seed-sensitive, else this test could not tell the seeds apart. */
    assert_true(fresh7.digest != fresh8.digest);

    kdpc_config cfg = world_config(1);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    (void)run_world(m);
    (void)run_world(m); /* a second run on the same machine: time and trace go on */
    assert_int_equal(kdpc_machine_reset(m, 7), KDPC_OK);
    assert_int_equal(kdpc_machine_seed(m), 7);
    assert_int_equal(kdpc_machine_cpu_count(m), CPUS);
    assert_int_equal(kdpc_machine_time_ns(m), 0);
    assert_int_equal(kdpc_trace_total(m), 0);
    assert_false(kdpc_machine_halted(m));
    assert_same_outcome(run_world(m), fresh7);

    assert_int_equal(kdpc_machine_reset(m, 8), KDPC_OK);
    assert_int_equal(kdpc_machine_seed(m), 8);
    assert_same_outcome(run_world(m), fresh8);

    /* Twice in a row, and back to a seed used before. */
    assert_int_equal(kdpc_machine_reset(m, 99), KDPC_OK);
    assert_int_equal(kdpc_machine_reset(m, 7), KDPC_OK);
    assert_same_outcome(run_world(m), fresh7);
    kdpc_machine_destroy(m);
}

static void test_reset_of_a_machine_that_never_ran(void **state)
{
    (void)state;
    kdpc_config cfg = world_config(3);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_reset(m, 3), KDPC_OK);
    assert_same_outcome(run_world(m), fresh_outcome(3));
    assert_int_equal(kdpc_machine_reset(m, 4), KDPC_OK);
    kdpc_machine_destroy(m); /* reset, then destroy without a run */
}

static void test_reset_of_null_is_einval(void **state)
{
    (void)state;
    assert_int_equal(kdpc_machine_reset(NULL, 0), KDPC_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Violations and rule outcomes                                        */

static volatile UCHAR sink;

static void TouchPagedAtDispatch(void *arg)
{
    (void)arg;
    volatile UCHAR *p = ExAllocatePoolWithTag(PagedPool, 64, 'tseR');
    if (p == NULL)
        return;
    p[0] = 1;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    sink = p[1]; /* paged pool at DISPATCH_LEVEL: mem.paged_touch */
    KeStallExecutionProcessor(1);
    KeLowerIrql(old);
    ExFreePool((PVOID)(uintptr_t)p);
}

static void test_reset_forgets_violations_and_rule_outcomes(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 5);
    const kdpc_rule_action dflt = kdpc_rule_action_of(m, "mem.paged_touch");
    assert_int_equal(dflt, KDPC_RULE_BUGCHECK);
    assert_int_equal(kdpc_rule_set(m, "mem.paged_touch", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, TouchPagedAtDispatch, NULL), KDPC_OK);
    KT_ASSERT_WARNING(m, "mem.paged_touch");
    assert_true(kdpc_machine_violation_count(m) >= 1);

    assert_int_equal(kdpc_machine_reset(m, 6), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_null(kdpc_machine_violation(m, 0));
    KT_ASSERT_NO_VIOLATION(m, "mem.paged_touch");
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(kdpc_rule_action_of(m, "mem.paged_touch"), dflt);
    /* Not only reported back: the rule acts at its default again. */
    kdpc_status st = kdpc_machine_run(m, TouchPagedAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1);

    /* "*" switches every rule; a reset brings each back to what a new machine has. */
    assert_int_equal(kdpc_machine_reset(m, 6), KDPC_OK);
    size_t nrules = kdpc_rule_count();
    assert_true(nrules > 0);
    kdpc_rule_action *was = calloc(nrules, sizeof(*was));
    assert_non_null(was);
    for (size_t i = 0; i < nrules; i++)
        was[i] = kdpc_rule_action_of(m, kdpc_rule_info(i, NULL));
    assert_int_equal(kdpc_rule_set(m, "*", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, "mem.paged_touch"), KDPC_RULE_OFF);
    assert_int_equal(kdpc_machine_run(m, TouchPagedAtDispatch, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(kdpc_machine_reset(m, 6), KDPC_OK);
    for (size_t i = 0; i < nrules; i++) {
        const char *rule = kdpc_rule_info(i, NULL);
        assert_non_null(rule);
        if (kdpc_rule_action_of(m, rule) != was[i]) {
            print_error("rule %s: %d after reset, %d on a new machine\n", rule,
                        (int)kdpc_rule_action_of(m, rule), (int)was[i]);
            fail();
        }
    }
    free(was);
    st = kdpc_machine_run(m, TouchPagedAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Halted, deadlocked, timed-out, shut-down and half-run machines      */

static volatile LONG clean_runs;

static void CleanEntry(void *arg)
{
    (void)arg;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeLowerIrql(old);
    clean_runs++;
}

/* After a reset, @m is as new: not halted, no report, and a clean run works. */
static void assert_runs_again(kdpc_machine *m, uint64_t seed)
{
    assert_int_equal(kdpc_machine_reset(m, seed), KDPC_OK);
    assert_false(kdpc_machine_halted(m));
    assert_null(kdpc_machine_bugcheck(m));
    assert_null(kdpc_machine_deadlock_report(m));
    assert_null(kdpc_machine_timeout_report(m));
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(kdpc_machine_time_ns(m), 0);
    LONG before = clean_runs;
    assert_int_equal(kdpc_machine_run(m, CleanEntry, NULL), KDPC_OK);
    assert_int_equal(clean_runs, before + 1);
    assert_false(kdpc_machine_halted(m));
}

static void BadIrqlEntry(void *arg)
{
    (void)arg;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeLowerIrql(HIGH_LEVEL); /* lowering to a higher IRQL: bug check */
}

static void test_a_bugchecked_machine_runs_again_after_a_reset(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 1);
    kdpc_status st = kdpc_machine_run(m, TouchPagedAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1);
    assert_true(kdpc_machine_halted(m));
    assert_int_equal(kdpc_machine_run(m, CleanEntry, NULL), KDPC_E_HALTED);
    assert_runs_again(m, 2);

    st = kdpc_machine_run(m, BadIrqlEntry, NULL);
    assert_int_equal(st, KDPC_BUGCHECK);
    assert_runs_again(m, 3);
    kdpc_machine_destroy(m);
}

static KEVENT never;

static void WaitForever(void *arg)
{
    (void)arg;
    KeInitializeEvent(&never, NotificationEvent, FALSE);
    KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, NULL);
}

static void test_a_deadlocked_machine_runs_again_after_a_reset(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(3, 1);
    assert_int_equal(kdpc_machine_run(m, WaitForever, NULL), KDPC_DEADLOCK);
    assert_non_null(kdpc_machine_deadlock_report(m));
    assert_true(kdpc_machine_halted(m));
    assert_runs_again(m, 1);
    /* and deadlocks again the same way */
    assert_int_equal(kdpc_machine_run(m, WaitForever, NULL), KDPC_DEADLOCK);
    assert_runs_again(m, 1);
    kdpc_machine_destroy(m);
}

static void StallForever(void *arg)
{
    (void)arg;
    for (;;)
        KeStallExecutionProcessor(1);
}

static void test_a_timed_out_machine_runs_again_after_a_reset(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 1);
    cfg.run_step_limit = 2000;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, StallForever, NULL), KDPC_TIMEOUT);
    const char *r = kdpc_machine_timeout_report(m);
    assert_non_null(r);
    assert_non_null(strstr(r, "step limit"));
    assert_true(kdpc_machine_halted(m));
    assert_runs_again(m, 2); /* the step limit is kept: a short run fits in it */
    assert_int_equal(kdpc_machine_run(m, StallForever, NULL), KDPC_TIMEOUT);
    assert_runs_again(m, 3);
    kdpc_machine_destroy(m);
}

static void test_a_shut_down_machine_runs_again_after_a_reset(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_machine_run(m, CleanEntry, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_shutdown(m), KDPC_OK);
    assert_true(kdpc_machine_halted(m));
    assert_runs_again(m, 4);
    kdpc_machine_destroy(m);
}

/* run_for leaves threads blocked and a work item waiting (a periodic timer DPC could wake them,
 * so it is no deadlock); a reset drops them. */
typedef struct blocked {
    KEVENT gate;
    WORK_QUEUE_ITEM work;
    KTIMER tick;
    KDPC tick_dpc;
    LONG volatile started;
    LONG volatile woke;
} blocked;

static void BlockedThread(PVOID ctx)
{
    blocked *b = ctx;
    InterlockedIncrement(&b->started);
    KeWaitForSingleObject(&b->gate, Executive, KernelMode, FALSE, NULL);
    InterlockedIncrement(&b->woke);
}

static void TickDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)ctx, (void)a1, (void)a2;
}

static void LeaveBlocked(void *arg)
{
    blocked *b = arg;
    KeInitializeEvent(&b->gate, NotificationEvent, FALSE);
    KeInitializeTimer(&b->tick);
    KeInitializeDpc(&b->tick_dpc, TickDpc, b);
    LARGE_INTEGER due;
    due.QuadPart = -10000; /* 1 ms, then every ms */
    KeSetTimerEx(&b->tick, due, 1, &b->tick_dpc);
    for (int i = 0; i < 3; i++) {
        HANDLE h;
        if (NT_SUCCESS(
                PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, BlockedThread, b)))
            ZwClose(h);
    }
    ExInitializeWorkItem(&b->work, BlockedThread, b);
    ExQueueWorkItem(&b->work, CriticalWorkQueue);
}

static void test_threads_left_blocked_are_dropped_by_a_reset(void **state)
{
    (void)state;
    blocked b;
    memset(&b, 0, sizeof(b));
    kdpc_machine *m = kt_machine(2, 1);
    assert_int_equal(kdpc_machine_run_for(m, LeaveBlocked, &b, 10000000), KDPC_OK);
    assert_int_equal(b.started, 4);
    assert_int_equal(b.woke, 0);
    assert_runs_again(m, 5);
    assert_int_equal(b.woke, 0); /* nothing of the old run ran again */
    /* A plain run now ends quiescent: the old threads are not alive any more. */
    assert_int_equal(kdpc_machine_run(m, CleanEntry, NULL), KDPC_OK);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Pool, driver and device objects                                     */

#define POOL_TAG 'lpsR'

static WCHAR dev_name[] = u"\\Device\\KdpcResetDev";
static NTSTATUS create_status;
static PDEVICE_OBJECT created_dev;

static NTSTATUS ResetDriverEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, dev_name);
    create_status = IoCreateDevice(Drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &created_dev);
    return create_status;
}

typedef struct load_result {
    NTSTATUS load;
    NTSTATUS second_device;
    PDRIVER_OBJECT drv;
    void *leak;
} load_result;

static void LoadAndLeak(void *arg)
{
    load_result *r = arg;
    kdpc_machine *m = kdpc_current_machine();
    r->load = kdpc_driver_load(m, "resetdrv", ResetDriverEntry, &r->drv);
    /* The same name again in this run collides: the check below is meaningful. */
    if (r->drv != NULL) {
        UNICODE_STRING name;
        PDEVICE_OBJECT d = NULL;
        RtlInitUnicodeString(&name, dev_name);
        r->second_device = IoCreateDevice(r->drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
    }
    r->leak = ExAllocatePoolWithTag(NonPagedPool, 48, POOL_TAG); /* never freed */
}

static void test_pool_drivers_and_devices_of_earlier_runs_are_gone(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 1);
    load_result r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(kdpc_machine_run(m, LoadAndLeak, &r), KDPC_OK);
    assert_int_equal(r.load, STATUS_SUCCESS);
    assert_int_equal(r.second_device, STATUS_OBJECT_NAME_COLLISION);
    assert_true(kdpc_driver_machine(r.drv) == m);
    size_t count = 0, bytes = 0;
    assert_int_equal(kdpc_pool_outstanding(m, POOL_TAG, &count, &bytes), KDPC_OK);
    assert_int_equal(count, 1);
    assert_int_equal(bytes, 48);

    assert_int_equal(kdpc_machine_reset(m, 2), KDPC_OK);
    assert_int_equal(kdpc_pool_outstanding(m, POOL_TAG, &count, &bytes), KDPC_OK);
    assert_int_equal(count, 0);
    assert_int_equal(bytes, 0);
    assert_int_equal(kdpc_pool_outstanding(m, 0, &count, NULL), KDPC_OK);
    assert_int_equal(count, 0);

    /* The driver and its named device are gone: loading it again creates the name anew. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(kdpc_machine_run(m, LoadAndLeak, &r), KDPC_OK);
    assert_int_equal(r.load, STATUS_SUCCESS);
    assert_int_equal(create_status, STATUS_SUCCESS);
    assert_int_equal(r.second_device, STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(kdpc_pool_outstanding(m, POOL_TAG, &count, NULL), KDPC_OK);
    assert_int_equal(count, 1);
    assert_int_equal(kdpc_machine_reset(m, 3), KDPC_OK);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* KDPC_EBUSY                                                          */

typedef struct inside {
    kdpc_machine *other;
    kdpc_status own;
    kdpc_status foreign;
    kdpc_status null_m;
    LONG after;
} inside;

static void ResetFromInside(void *arg)
{
    inside *in = arg;
    in->own = kdpc_machine_reset(kdpc_current_machine(), 77);
    in->foreign = kdpc_machine_reset(in->other, 78);
    in->null_m = kdpc_machine_reset(NULL, 79);
    KeStallExecutionProcessor(1);
    in->after = 1; /* the run went on */
}

static void test_reset_from_simulated_code_is_ebusy(void **state)
{
    (void)state;
    kdpc_config cfg = world_config(11);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_machine *other = kt_machine(1, 12);
    inside in;
    memset(&in, 0, sizeof(in));
    in.other = other;
    assert_int_equal(kdpc_machine_run(m, ResetFromInside, &in), KDPC_OK);
    assert_int_equal(in.own, KDPC_EBUSY);
    assert_int_equal(in.foreign, KDPC_EBUSY);
    assert_int_equal(in.null_m, KDPC_EINVAL);
    assert_int_equal(in.after, 1);
    assert_int_equal(kdpc_machine_seed(m), 11);
    assert_int_equal(kdpc_machine_seed(other), 12);
    assert_true(kdpc_trace_total(m) > 0); /* the trace was not thrown away */
    assert_true(kdpc_machine_time_ns(m) > 0);
    assert_int_equal(kdpc_machine_run(other, CleanEntry, NULL), KDPC_OK);
    kdpc_machine_destroy(other);
    kdpc_machine_destroy(m);
}

static atomic_int run_started, may_end;

static void WaitForHost(void *arg)
{
    (void)arg;
    atomic_store(&run_started, 1);
    while (!atomic_load(&may_end))
        KeStallExecutionProcessor(10);
}

static void *runner(void *arg)
{
    return (void *)(uintptr_t)kdpc_machine_run(arg, WaitForHost, NULL);
}

static void test_reset_during_a_run_on_another_host_thread_is_ebusy(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 21);
    cfg.run_step_limit = 0; /* the host decides when the run ends */
    cfg.run_time_limit_ns = 0;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    atomic_store(&run_started, 0);
    atomic_store(&may_end, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, runner, m), 0);
    while (!atomic_load(&run_started))
        sched_yield();
    kdpc_status st = kdpc_machine_reset(m, 22);
    atomic_store(&may_end, 1);
    void *ret = NULL;
    pthread_join(t, &ret);
    assert_int_equal(st, KDPC_EBUSY);
    assert_int_equal((int)(uintptr_t)ret, KDPC_OK);
    assert_int_equal(kdpc_machine_seed(m), 21);
    assert_true(kdpc_machine_time_ns(m) > 0);
    /* Once the run is over the reset is allowed. */
    assert_int_equal(kdpc_machine_reset(m, 22), KDPC_OK);
    assert_int_equal(kdpc_machine_seed(m), 22);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Many cycles                                                         */

#define CYCLES 2000

/* A lighter body for most cycles: a DPC on every CPU, queued from a system thread. */
typedef struct light {
    KDPC dpc[CPUS];
    LONG volatile runs;
} light;

static void LightDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)a1, (void)a2;
    light *l = ctx;
    InterlockedIncrement(&l->runs);
}

static void LightThread(PVOID ctx)
{
    light *l = ctx;
    ULONG ncpu = KeQueryActiveProcessorCount(NULL);
    for (ULONG i = 0; i < ncpu && i < CPUS; i++) {
        KeInitializeDpc(&l->dpc[i], LightDpc, l);
        KeSetTargetProcessorDpc(&l->dpc[i], (CCHAR)i);
        KeInsertQueueDpc(&l->dpc[i], NULL, NULL);
    }
}

static void LightEntry(void *arg)
{
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, LightThread, arg)))
        ZwClose(h);
}

/*
 * Every 4th cycle the whole workload (its digest checked against a fresh machine's for a few
 * seeds), the others a lighter body; now and then a run that ends in a bug check, a deadlock or
 * with threads left blocked, so that the resets also free what those leave.
 */
static void test_two_thousand_reset_and_run_cycles_on_four_cpus(void **state)
{
    (void)state;
    enum { SAMPLES = 4 };
    const uint64_t sampled[SAMPLES] = {0, 16, 1232, CYCLES - 4};
    outcome expected[SAMPLES];
    for (int i = 0; i < SAMPLES; i++)
        expected[i] = fresh_outcome(sampled[i]);

    kdpc_config cfg = world_config(0);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    int checked = 0;
    long long rss_warm = -1;
    for (uint64_t seed = 0; seed < CYCLES; seed++) {
        if (seed == 100)
            rss_warm = kt_host_rss();
        assert_int_equal(kdpc_machine_reset(m, seed), KDPC_OK);
        if (seed % 4 == 0) {
            outcome o = run_world(m);
            for (int i = 0; i < SAMPLES; i++) {
                if (sampled[i] == seed) {
                    assert_same_outcome(o, expected[i]);
                    checked++;
                }
            }
        } else if (seed % 100 == 37) {
            kdpc_status st = kdpc_machine_run(m, TouchPagedAtDispatch, NULL);
            KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1);
        } else if (seed % 100 == 71) {
            assert_int_equal(kdpc_machine_run(m, WaitForever, NULL), KDPC_DEADLOCK);
        } else if (seed % 100 == 93) {
            blocked b;
            memset(&b, 0, sizeof(b));
            assert_int_equal(kdpc_machine_run_for(m, LeaveBlocked, &b, 1000000), KDPC_OK);
            assert_int_equal(b.started, 4);
        } else {
            light l;
            memset(&l, 0, sizeof(l));
            assert_int_equal(kdpc_machine_run(m, LightEntry, &l), KDPC_OK);
            assert_int_equal(l.runs, CPUS);
        }
    }
    assert_int_equal(checked, SAMPLES);
    /* What a reset throws away is freed, not kept (the asan preset checks it is not lost). */
    long long rss = kt_host_rss();
    if (rss_warm >= 0 && rss >= 0 && rss > rss_warm + (8ll << 20)) {
        print_error("resident memory grew from %lld to %lld bytes over %d resets\n", rss_warm, rss,
                    CYCLES - 100);
        fail();
    }
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_replays_a_fresh_machine_of_the_same_seed),
        cmocka_unit_test(test_reset_of_a_machine_that_never_ran),
        cmocka_unit_test(test_reset_of_null_is_einval),
        cmocka_unit_test(test_reset_forgets_violations_and_rule_outcomes),
        cmocka_unit_test(test_a_bugchecked_machine_runs_again_after_a_reset),
        cmocka_unit_test(test_a_deadlocked_machine_runs_again_after_a_reset),
        cmocka_unit_test(test_a_timed_out_machine_runs_again_after_a_reset),
        cmocka_unit_test(test_a_shut_down_machine_runs_again_after_a_reset),
        cmocka_unit_test(test_threads_left_blocked_are_dropped_by_a_reset),
        cmocka_unit_test(test_pool_drivers_and_devices_of_earlier_runs_are_gone),
        cmocka_unit_test(test_reset_from_simulated_code_is_ebusy),
        cmocka_unit_test(test_reset_during_a_run_on_another_host_thread_is_ebusy),
        cmocka_unit_test(test_two_thousand_reset_and_run_cycles_on_four_cpus),
    };
    return cmocka_run_group_tests_name("reset", tests, NULL, NULL);
}
