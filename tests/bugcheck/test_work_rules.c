/* SPDX-License-Identifier: MIT */
/*
 * test_work_rules.c - the work-item rules of docs/rules.md (G5) and unload.pending
 * for timers and work items (G8):
 *   work.bad_irql_return  a work routine returns above PASSIVE_LEVEL: 0xE1
 *                         WORKER_THREAD_RETURNED_AT_BAD_IRQL, P1 routine,
 *                         P2 IRQL, P3 parameter, P4 item (io 2.12);
 *   work.requeue          an item queued again before it ran: 0xE4 P1 1 (io 2.7);
 *   work.queue_irql       IoQueueWorkItem / ExQueueWorkItem above DISPATCH_LEVEL:
 *                         0xC4 (io 2.3, 2.9);
 *   unload.pending        kdpc_driver_unload with a set KTIMER in a device
 *                         extension or a queued IoWorkItem of the driver's
 *                         device, and kdpc_machine_shutdown with a queued DPC,
 *                         a set timer or a queued work item: 0xCE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef struct EXT {
    KTIMER Timer;
    KDPC TimerDpc;
    PIO_WORKITEM WorkItem;
} EXT, *PEXT;

static struct {
    LONG reached_after; /* set by code after the violating call: must stay 0 */
    LONG runs;
    LONG dpc_runs;
    NTSTATUS load_status;
    NTSTATUS unload_status;
    PDEVICE_OBJECT device;
    PDRIVER_OBJECT driver;
    BOOLEAN cancelled;
    LONG marker;
    WORK_QUEUE_ITEM item;
    WORK_QUEUE_ITEM blocker;
    PIO_WORKITEM io_item;
    uint64_t pending; /* address of the object left pending */
    KDPC dpc;
    KTIMER timer;
    KEVENT started;
    KEVENT gate;
    KEVENT done;
    volatile LONG stop;
} w;

static kdpc_machine *machine_with(unsigned cpus, uint64_t seed, unsigned delayed_workers)
{
    memset(&w, 0, sizeof w);
    w.load_status = STATUS_UNSUCCESSFUL;
    w.unload_status = STATUS_UNSUCCESSFUL;
    kdpc_config cfg = kt_config(cpus, seed);
    if (delayed_workers != 0)
        cfg.delayed_workers = delayed_workers;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static NTSTATUS wait_for(PKEVENT e)
{
    return KeWaitForSingleObject(e, Executive, KernelMode, FALSE, NULL);
}

static void sleep_us(LONGLONG us)
{
    LARGE_INTEGER t;
    t.QuadPart = -us * 10;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static void init_events(void)
{
    KeInitializeEvent(&w.started, NotificationEvent, FALSE);
    KeInitializeEvent(&w.gate, NotificationEvent, FALSE);
    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
}

static void CountingTimerDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    w.dpc_runs++;
}

static NTSTATUS RulesDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &w.device);
    if (!NT_SUCCESS(st))
        return st;
    PEXT ext = w.device->DeviceExtension;
    KeInitializeTimer(&ext->Timer);
    KeInitializeDpc(&ext->TimerDpc, CountingTimerDpc, w.device);
    ext->WorkItem = IoAllocateWorkItem(w.device);
    if (ext->WorkItem == NULL) {
        IoDeleteDevice(w.device);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    return STATUS_SUCCESS;
}

static BOOLEAN load(void)
{
    w.load_status =
        kdpc_driver_load(kdpc_current_machine(), "workrules", RulesDriverEntry, &w.driver);
    return NT_SUCCESS(w.load_status);
}

/* ------------------------------------------------------------------ */
/* work.bad_irql_return (io 2.12)                                      */

static void ReturnsAtDispatch(PVOID Parameter)
{
    (void)Parameter;
    w.runs++;
    (void)KeRaiseIrqlToDpcLevel(); /* never lowered */
}

static void ReturnsAtApc(PVOID Parameter)
{
    (void)Parameter;
    w.runs++;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old); /* never lowered */
}

static void QueueBadReturnEntry(void *ctx)
{
    PWORKER_THREAD_ROUTINE routine = (PWORKER_THREAD_ROUTINE)(uintptr_t)ctx;
    ExInitializeWorkItem(&w.item, routine, &w.marker);
    ExQueueWorkItem(&w.item, DelayedWorkQueue);
}

static void test_work_routine_returning_at_dispatch_bugchecks_e1(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 1, 0);
    KDPC_NAME(m, ReturnsAtDispatch);
    kdpc_status st = kdpc_machine_run(m, QueueBadReturnEntry, (void *)(uintptr_t)ReturnsAtDispatch);
    KT_ASSERT_BUGCHECK(m, st, "work.bad_irql_return", 0xE1);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_string_equal(bc->name, "WORKER_THREAD_RETURNED_AT_BAD_IRQL");
    assert_int_equal(bc->params[0], (uint64_t)(uintptr_t)ReturnsAtDispatch); /* P1 routine */
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);                         /* P2 IRQL */
    assert_int_equal(bc->params[2], addr(&w.marker));                        /* P3 parameter */
    assert_int_equal(bc->params[3], addr(&w.item));                          /* P4 item */
    assert_string_equal(bc->routine, "ReturnsAtDispatch");
    assert_int_equal(w.runs, 1);
    kdpc_machine_destroy(m);
}

static void test_work_routine_returning_at_apc_level_bugchecks_e1(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 2, 0);
    kdpc_status st = kdpc_machine_run(m, QueueBadReturnEntry, (void *)(uintptr_t)ReturnsAtApc);
    /* docs/rules.md: any IRQL other than PASSIVE_LEVEL (io 2.12, as ReactOS) */
    KT_ASSERT_BUGCHECK(m, st, "work.bad_irql_return", 0xE1);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], (uint64_t)(uintptr_t)ReturnsAtApc);
    assert_int_equal(bc->params[1], APC_LEVEL);
    assert_int_equal(bc->params[2], addr(&w.marker));
    assert_int_equal(bc->params[3], addr(&w.item));
    kdpc_machine_destroy(m);
}

static void IoReturnsAtDispatch(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    w.runs++;
    (void)KeRaiseIrqlToDpcLevel();
}

static void QueueIoBadReturnEntry(void *ctx)
{
    (void)ctx;
    if (!load())
        return;
    PEXT ext = w.device->DeviceExtension;
    IoQueueWorkItem(ext->WorkItem, IoReturnsAtDispatch, DelayedWorkQueue, &w.marker);
}

static void test_io_work_routine_returning_at_dispatch_bugchecks_e1(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 3, 0);
    KDPC_NAME(m, IoReturnsAtDispatch);
    kdpc_status st = kdpc_machine_run(m, QueueIoBadReturnEntry, NULL);
    assert_int_equal(w.load_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "work.bad_irql_return", 0xE1);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], DISPATCH_LEVEL);
    /* the report names the driver's routine that returned at DISPATCH_LEVEL */
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "IoReturnsAtDispatch");
    assert_int_equal(w.runs, 1);
    kdpc_machine_destroy(m);
}

static void ReturnsAtPassive(PVOID Parameter)
{
    (void)Parameter;
    w.runs++;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeLowerIrql(old); /* balanced */
}

static void test_work_routine_returning_at_passive_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 4, 0);
    kdpc_status st = kdpc_machine_run(m, QueueBadReturnEntry, (void *)(uintptr_t)ReturnsAtPassive);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(w.runs, 1);
    KT_ASSERT_NO_VIOLATION(m, "work.bad_irql_return");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* work.requeue (io 2.7)                                               */

static void CountingWork(PVOID Parameter)
{
    (void)Parameter;
    w.runs++;
}

static void ExQueueTwiceEntry(void *ctx)
{
    (void)ctx;
    ExInitializeWorkItem(&w.item, CountingWork, NULL);
    KIRQL old = KeRaiseIrqlToDpcLevel(); /* one CPU at DISPATCH: no worker runs meanwhile */
    ExQueueWorkItem(&w.item, DelayedWorkQueue);
    ExQueueWorkItem(&w.item, DelayedWorkQueue); /* still queued */
    w.reached_after = 1;
    KeLowerIrql(old);
}

static void test_ex_item_queued_twice_before_it_ran_bugchecks_e4_1(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 5, 0);
    kdpc_status st = kdpc_machine_run(m, ExQueueTwiceEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "work.requeue", 0xE4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_string_equal(bc->name, "WORKER_INVALID");
    assert_int_equal(bc->params[0], 1); /* an active worker item was queued */
    assert_int_equal(w.reached_after, 0);
    assert_int_equal(w.runs, 0);
    kdpc_machine_destroy(m);
}

static void IoCountingWork(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    w.runs++;
}

static void IoQueueTwiceEntry(void *ctx)
{
    (void)ctx;
    if (!load())
        return;
    PEXT ext = w.device->DeviceExtension;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    IoQueueWorkItem(ext->WorkItem, IoCountingWork, DelayedWorkQueue, NULL);
    IoQueueWorkItem(ext->WorkItem, IoCountingWork, DelayedWorkQueue, NULL);
    w.reached_after = 1;
    KeLowerIrql(old);
}

static void test_io_item_queued_twice_before_it_ran_bugchecks_e4_1(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 6, 0);
    kdpc_status st = kdpc_machine_run(m, IoQueueTwiceEntry, NULL);
    assert_int_equal(w.load_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "work.requeue", 0xE4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 1);
    assert_int_equal(w.reached_after, 0);
    assert_int_equal(w.runs, 0);
    kdpc_machine_destroy(m);
}

/* Queued again once the first has run: legal (io 2.6). */
static void ExQueueAfterRunEntry(void *ctx)
{
    (void)ctx;
    ExInitializeWorkItem(&w.item, CountingWork, NULL);
    ExQueueWorkItem(&w.item, DelayedWorkQueue);
    while (w.runs == 0)
        sleep_us(10);
    ExQueueWorkItem(&w.item, DelayedWorkQueue);
    w.reached_after = 1;
}

static void test_item_queued_again_after_it_ran_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 7, 0);
    kdpc_status st = kdpc_machine_run(m, ExQueueAfterRunEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "work.requeue");
    assert_int_equal(w.runs, 2);
    assert_int_equal(w.reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* work.queue_irql (io 2.3, 2.9)                                       */

static void IoQueueAtHighEntry(void *ctx)
{
    (void)ctx;
    if (!load())
        return;
    PEXT ext = w.device->DeviceExtension;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    IoQueueWorkItem(ext->WorkItem, IoCountingWork, DelayedWorkQueue, NULL);
    w.reached_after = 1;
    KeLowerIrql(old);
}

static void test_io_queue_work_item_at_high_level_bugchecks_c4(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 8, 0);
    kdpc_status st = kdpc_machine_run(m, IoQueueAtHighEntry, NULL);
    assert_int_equal(w.load_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "work.queue_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->irql, HIGH_LEVEL);
    assert_int_equal(w.reached_after, 0);
    assert_int_equal(w.runs, 0);
    kdpc_machine_destroy(m);
}

static void ExQueueAtHighEntry(void *ctx)
{
    (void)ctx;
    ExInitializeWorkItem(&w.item, CountingWork, NULL);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    ExQueueWorkItem(&w.item, DelayedWorkQueue);
    w.reached_after = 1;
    KeLowerIrql(old);
}

static void test_ex_queue_work_item_at_high_level_bugchecks_c4(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 9, 0);
    kdpc_status st = kdpc_machine_run(m, ExQueueAtHighEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "work.queue_irql", 0xC4);
    assert_int_equal(w.reached_after, 0);
    assert_int_equal(w.runs, 0);
    kdpc_machine_destroy(m);
}

static void ExQueueAtDispatchEntry(void *ctx)
{
    (void)ctx;
    ExInitializeWorkItem(&w.item, CountingWork, NULL);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ExQueueWorkItem(&w.item, DelayedWorkQueue); /* the highest legal IRQL */
    w.reached_after = 1;
    KeLowerIrql(old);
}

static void test_queue_work_item_at_dispatch_level_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 10, 0);
    kdpc_status st = kdpc_machine_run(m, ExQueueAtDispatchEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "work.queue_irql");
    assert_int_equal(w.reached_after, 1);
    assert_int_equal(w.runs, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* unload.pending: kdpc_driver_unload with a set timer                 */

/* DriverUnload that leaves the device (kdpc_driver_unload frees it). */
static void LeaveEverythingUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
}

static void CancelAndFreeUnload(PDRIVER_OBJECT DriverObject)
{
    PEXT ext = DriverObject->DeviceObject->DeviceExtension;
    w.cancelled = KeCancelTimer(&ext->Timer);
    KeFlushQueuedDpcs();
    IoFreeWorkItem(ext->WorkItem);
    IoDeleteDevice(DriverObject->DeviceObject);
}

static void UnloadWithTimerSetEntry(void *ctx)
{
    BOOLEAN clean = ctx != NULL;
    if (!load())
        return;
    PEXT ext = w.device->DeviceExtension;
    LARGE_INTEGER due;
    due.QuadPart = -10LL * 1000 * 1000 * 10; /* 10 s from now */
    (void)KeSetTimer(&ext->Timer, due, &ext->TimerDpc);
    w.pending = addr(&ext->Timer);
    w.driver->DriverUnload = clean ? CancelAndFreeUnload : LeaveEverythingUnload;
    w.unload_status = kdpc_driver_unload(w.driver);
    w.reached_after = 1;
}

static void test_driver_unload_with_timer_in_device_extension_set_bugchecks_ce(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 11, 0);
    kdpc_status st = kdpc_machine_run(m, UnloadWithTimerSetEntry, NULL);
    assert_int_equal(w.load_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    assert_string_equal(kdpc_machine_bugcheck(m)->name,
                        "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS");
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], w.pending); /* the KTIMER */
    assert_int_equal(w.reached_after, 0);
    assert_int_equal(w.dpc_runs, 0);
    kdpc_machine_destroy(m);
}

static void test_driver_unload_after_cancelling_its_timer_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 12, 0);
    kdpc_status st = kdpc_machine_run(m, UnloadWithTimerSetEntry, (void *)1);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "unload.pending");
    assert_true(w.cancelled);
    assert_int_equal(w.unload_status, STATUS_SUCCESS);
    assert_int_equal(w.reached_after, 1);
    assert_int_equal(w.dpc_runs, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* unload.pending: kdpc_driver_unload with a queued IoWorkItem          */

static void BlockOnGate(PVOID Parameter)
{
    (void)Parameter;
    KeSetEvent(&w.started, 0, FALSE);
    (void)wait_for(&w.gate);
}

static void DriverWork(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    w.runs++;
    KeSetEvent(&w.done, 0, FALSE);
}

static void UnloadWithWorkQueuedEntry(void *ctx)
{
    BOOLEAN clean = ctx != NULL;
    init_events();
    if (!load())
        return;
    PEXT ext = w.device->DeviceExtension;
    /* the only Delayed worker blocks, so the driver's item stays queued */
    ExInitializeWorkItem(&w.blocker, BlockOnGate, NULL);
    ExQueueWorkItem(&w.blocker, DelayedWorkQueue);
    (void)wait_for(&w.started);
    IoQueueWorkItem(ext->WorkItem, DriverWork, DelayedWorkQueue, NULL);
    w.pending = addr(ext->WorkItem);
    if (clean) {
        KeSetEvent(&w.gate, 0, FALSE);
        (void)wait_for(&w.done);
        sleep_us(100); /* the routine has returned */
        w.driver->DriverUnload = CancelAndFreeUnload;
    } else {
        w.driver->DriverUnload = LeaveEverythingUnload;
    }
    w.unload_status = kdpc_driver_unload(w.driver);
    w.reached_after = 1;
    KeSetEvent(&w.gate, 0, FALSE);
}

static void test_driver_unload_with_its_io_work_item_queued_bugchecks_ce(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 13, 1);
    kdpc_status st = kdpc_machine_run(m, UnloadWithWorkQueuedEntry, NULL);
    assert_int_equal(w.load_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], w.pending); /* the IO_WORKITEM */
    assert_int_equal(w.reached_after, 0);
    assert_int_equal(w.runs, 0);
    kdpc_machine_destroy(m);
}

static void test_driver_unload_after_its_work_item_ran_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 14, 1);
    kdpc_status st = kdpc_machine_run(m, UnloadWithWorkQueuedEntry, (void *)1);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "unload.pending");
    assert_int_equal(w.runs, 1);
    assert_int_equal(w.unload_status, STATUS_SUCCESS);
    assert_int_equal(w.reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* unload.pending: kdpc_machine_shutdown                               */

static void CountingDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    w.dpc_runs++;
}

/* Queues a DPC at DISPATCH_LEVEL on the only CPU and stays there: the run_for
 * stretch ends with the DPC still queued (bounded, in case it does not). */
static void QueueDpcAndSpinEntry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&w.dpc, CountingDpc, NULL);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    (void)KeInsertQueueDpc(&w.dpc, NULL, NULL);
    for (int i = 0; i < 2000 && !w.stop; i++)
        KeStallExecutionProcessor(5);
    KeLowerIrql(old);
}

static void test_shutdown_with_a_queued_dpc_bugchecks_ce(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 15, 0);
    KDPC_NAME(m, CountingDpc);
    kdpc_status st = kdpc_machine_run_for(m, QueueDpcAndSpinEntry, NULL, 200000);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(w.dpc_runs, 0);
    st = kdpc_machine_shutdown(m);
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], addr(&w.dpc)); /* as for unload */
    assert_int_equal(w.dpc_runs, 0);
    kdpc_machine_destroy(m);
}

static void SetPeriodicTimerEntry(void *ctx)
{
    BOOLEAN cancel = ctx != NULL;
    KeInitializeTimer(&w.timer);
    KeInitializeDpc(&w.dpc, CountingDpc, NULL);
    LARGE_INTEGER due;
    due.QuadPart = -10000; /* 1 ms */
    (void)KeSetTimerEx(&w.timer, due, 10, &w.dpc);
    if (cancel)
        w.cancelled = KeCancelTimer(&w.timer);
}

static void test_shutdown_with_a_set_periodic_timer_bugchecks_ce(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 16, 0);
    /* a periodic timer does not keep the run alive: the run ends with it set */
    kdpc_status st = kdpc_machine_run(m, SetPeriodicTimerEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    st = kdpc_machine_shutdown(m);
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], addr(&w.timer));
    kdpc_machine_destroy(m);
}

static void test_shutdown_after_cancelling_the_periodic_timer_is_ok(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 17, 0);
    kdpc_status st = kdpc_machine_run(m, SetPeriodicTimerEntry, (void *)1);
    assert_int_equal(st, KDPC_OK);
    assert_true(w.cancelled);
    assert_int_equal(kdpc_machine_shutdown(m), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "unload.pending");
    kdpc_machine_destroy(m);
}

static void SetOneShotTimerEntry(void *ctx)
{
    (void)ctx;
    KeInitializeTimer(&w.timer);
    LARGE_INTEGER due;
    due.QuadPart = -10LL * 1000 * 1000 * 10; /* 10 s */
    (void)KeSetTimer(&w.timer, due, NULL);
}

static void test_shutdown_with_a_set_one_shot_timer_bugchecks_ce(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(1, 18, 0);
    kdpc_status st = kdpc_machine_run_for(m, SetOneShotTimerEntry, NULL, 1000000); /* 1 ms */
    assert_int_equal(st, KDPC_OK);
    st = kdpc_machine_shutdown(m);
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], addr(&w.timer));
    kdpc_machine_destroy(m);
}

/* Blockers of the only Delayed worker: a long busy stretch at PASSIVE_LEVEL
 * (bounded), or a 10 s sleep (KeDelayExecutionThread). */
static void BusyLong(PVOID Parameter)
{
    (void)Parameter;
    for (int i = 0; i < 4000 && !w.stop; i++)
        KeStallExecutionProcessor(5); /* 20 ms at most */
}

static void SleepLong(PVOID Parameter)
{
    (void)Parameter;
    sleep_us(10LL * 1000 * 1000);
}

static void QueueBehindBlockerEntry(void *ctx)
{
    PWORKER_THREAD_ROUTINE blocker = (PWORKER_THREAD_ROUTINE)(uintptr_t)ctx;
    ExInitializeWorkItem(&w.blocker, blocker, NULL);
    ExQueueWorkItem(&w.blocker, DelayedWorkQueue);
    KeStallExecutionProcessor(20); /* the worker has taken the blocker */
    ExInitializeWorkItem(&w.item, CountingWork, NULL);
    ExQueueWorkItem(&w.item, DelayedWorkQueue); /* stays queued */
}

static void shutdown_with_queued_work(PWORKER_THREAD_ROUTINE blocker, uint64_t seed)
{
    kdpc_machine *m = machine_with(1, seed, 1);
    kdpc_status st = kdpc_machine_run_for(m, QueueBehindBlockerEntry, (void *)(uintptr_t)blocker,
                                          1000000); /* 1 ms */
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(w.runs, 0);
    st = kdpc_machine_shutdown(m);
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], addr(&w.item)); /* the queued item */
    assert_int_equal(w.runs, 0);
    kdpc_machine_destroy(m);
}

static void test_shutdown_with_a_queued_work_item_behind_a_busy_worker_bugchecks_ce(void **state)
{
    (void)state;
    shutdown_with_queued_work(BusyLong, 19);
}

static void
test_shutdown_with_a_queued_work_item_behind_a_sleeping_worker_bugchecks_ce(void **state)
{
    (void)state;
    /* the sleeping worker's own wait is no driver timer: the report is about the item */
    shutdown_with_queued_work(SleepLong, 19);
}

/* DPC ran, one-shot timer expired, work item ran: nothing left behind. */
static void CleanEntry(void *ctx)
{
    (void)ctx;
    init_events();
    KeInitializeDpc(&w.dpc, CountingDpc, NULL);
    (void)KeInsertQueueDpc(&w.dpc, NULL, NULL);
    KeInitializeTimer(&w.timer);
    LARGE_INTEGER due;
    due.QuadPart = -10000; /* 1 ms */
    (void)KeSetTimer(&w.timer, due, NULL);
    (void)KeWaitForSingleObject(&w.timer, Executive, KernelMode, FALSE, NULL);
    ExInitializeWorkItem(&w.item, CountingWork, NULL);
    ExQueueWorkItem(&w.item, DelayedWorkQueue);
}

static void test_shutdown_of_a_clean_machine_is_ok_and_halts_it(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with(2, 20, 0);
    assert_int_equal(kdpc_machine_run(m, CleanEntry, NULL), KDPC_OK);
    assert_int_equal(w.dpc_runs, 1);
    assert_int_equal(w.runs, 1);
    assert_int_equal(kdpc_machine_shutdown(m), KDPC_OK);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_true(kdpc_machine_halted(m)); /* machine.h: halted afterwards */
    assert_int_equal(kdpc_machine_run(m, CleanEntry, NULL), KDPC_E_HALTED);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_work_routine_returning_at_dispatch_bugchecks_e1),
        cmocka_unit_test(test_work_routine_returning_at_apc_level_bugchecks_e1),
        cmocka_unit_test(test_io_work_routine_returning_at_dispatch_bugchecks_e1),
        cmocka_unit_test(test_work_routine_returning_at_passive_is_no_violation),
        cmocka_unit_test(test_ex_item_queued_twice_before_it_ran_bugchecks_e4_1),
        cmocka_unit_test(test_io_item_queued_twice_before_it_ran_bugchecks_e4_1),
        cmocka_unit_test(test_item_queued_again_after_it_ran_is_no_violation),
        cmocka_unit_test(test_io_queue_work_item_at_high_level_bugchecks_c4),
        cmocka_unit_test(test_ex_queue_work_item_at_high_level_bugchecks_c4),
        cmocka_unit_test(test_queue_work_item_at_dispatch_level_is_no_violation),
        cmocka_unit_test(test_driver_unload_with_timer_in_device_extension_set_bugchecks_ce),
        cmocka_unit_test(test_driver_unload_after_cancelling_its_timer_is_no_violation),
        cmocka_unit_test(test_driver_unload_with_its_io_work_item_queued_bugchecks_ce),
        cmocka_unit_test(test_driver_unload_after_its_work_item_ran_is_no_violation),
        cmocka_unit_test(test_shutdown_with_a_queued_dpc_bugchecks_ce),
        cmocka_unit_test(test_shutdown_with_a_set_periodic_timer_bugchecks_ce),
        cmocka_unit_test(test_shutdown_after_cancelling_the_periodic_timer_is_ok),
        cmocka_unit_test(test_shutdown_with_a_set_one_shot_timer_bugchecks_ce),
        cmocka_unit_test(test_shutdown_with_a_queued_work_item_behind_a_busy_worker_bugchecks_ce),
        cmocka_unit_test(
            test_shutdown_with_a_queued_work_item_behind_a_sleeping_worker_bugchecks_ce),
        cmocka_unit_test(test_shutdown_of_a_clean_machine_is_ok_and_halts_it),
    };
    return cmocka_run_group_tests_name("work_rules", tests, NULL, NULL);
}
