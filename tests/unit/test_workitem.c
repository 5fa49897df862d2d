/* SPDX-License-Identifier: MIT */
/*
 * test_workitem.c - work items and system worker threads (docs/facts/io.md
 * section 2, kdpc/wdm/work.h): IoAllocateWorkItem / IoQueueWorkItem(Ex) /
 * IoInitializeWorkItem, ExInitializeWorkItem / ExQueueWorkItem, the worker
 * pools (Critical 5, Delayed 3, HyperCritical 1; other queue types share the
 * Delayed pool), FIFO order in one worker, dequeue before the routine runs,
 * and how runs end while work is queued or workers are idle.
 *
 * Every observation is stored in `o` by simulated code and asserted after
 * kdpc_machine_run() returns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define MAX_ITEMS 8

static struct {
    PDEVICE_OBJECT device;
    NTSTATUS load_status;
    PKTHREAD caller;
    /* IoXxx */
    PIO_WORKITEM io_item;
    PIO_WORKITEM io_item_allocated; /* what IoAllocateWorkItem returned */
    PVOID storage;                  /* IoInitializeWorkItem storage */
    ULONG size;                     /* IoSizeofWorkItem() */
    /* what the routine saw */
    LONG runs;
    PDEVICE_OBJECT seen_device;
    PVOID seen_object;
    PVOID seen_context;
    PIO_WORKITEM seen_item;
    KIRQL seen_irql;
    PKTHREAD seen_thread;
    NTSTATUS seen_wait;
    LONG done_before_go; /* the routine finished before the test thread set `go` */
    LONG go_set;
    LONG freed_own;
    /* ExXxx */
    WORK_QUEUE_ITEM ex_items[MAX_ITEMS];
    PLIST_ENTRY flink_after_init;
    PLIST_ENTRY flink_while_queued;
    PLIST_ENTRY flink_in_routine;
    PVOID seen_parameter;
    /* pools */
    LONG started;
    LONG started_before_gate;
    LONG finished;
    LONG running;
    LONG max_running;
    LONG order[MAX_ITEMS];
    LONG n_order;
    /* DPC */
    KDPC dpc;
    KIRQL dpc_irql;
    KIRQL ex_irql;
    KIRQL io_irql;
    PKTHREAD ex_thread;
    PKTHREAD io_thread;
    PKTHREAD run_threads[2];
    LONG ex_runs;
    LONG io_runs;
    /* events */
    KEVENT started_ev;
    KEVENT go;
    KEVENT done;
    KEVENT gate;
} o;

static void reset(void)
{
    memset(&o, 0, sizeof o);
    o.load_status = STATUS_UNSUCCESSFUL;
}

static NTSTATUS wait_for(PKEVENT e)
{
    return KeWaitForSingleObject(e, Executive, KernelMode, FALSE, NULL);
}

/* Sleep @us microseconds of virtual time (KeDelayExecutionThread, relative). */
static void sleep_us(LONGLONG us)
{
    LARGE_INTEGER t;
    t.QuadPart = -us * 10;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static NTSTATUS WiDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    return IoCreateDevice(DriverObject, 16, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &o.device);
}

/* Load a driver with one device (o.device); FALSE if that failed. */
static BOOLEAN load_device(void)
{
    PDRIVER_OBJECT drv = NULL;
    o.load_status = kdpc_driver_load(kdpc_current_machine(), "workitem", WiDriverEntry, &drv);
    return NT_SUCCESS(o.load_status) && o.device != NULL;
}

static void init_events(void)
{
    KeInitializeEvent(&o.started_ev, NotificationEvent, FALSE);
    KeInitializeEvent(&o.go, NotificationEvent, FALSE);
    KeInitializeEvent(&o.done, NotificationEvent, FALSE);
    KeInitializeEvent(&o.gate, NotificationEvent, FALSE);
}

static kdpc_machine *machine_with(unsigned cpus, uint64_t seed, unsigned delayed_workers)
{
    kdpc_config cfg = kt_config(cpus, seed);
    if (delayed_workers != 0)
        cfg.delayed_workers = delayed_workers;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* ------------------------------------------------------------------ */
/* IoAllocateWorkItem (2.1)                                            */

static void AllocateEntry(void *ctx)
{
    (void)ctx;
    if (!load_device())
        return;
    o.io_item_allocated = IoAllocateWorkItem(o.device);
    if (o.io_item_allocated != NULL)
        IoFreeWorkItem(o.io_item_allocated);
}

static void test_io_allocate_work_item_returns_an_item_for_a_device(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_machine_run(m, AllocateEntry, NULL), KDPC_OK);
    assert_int_equal(o.load_status, STATUS_SUCCESS);
    assert_non_null(o.io_item_allocated); /* io 2.1 */
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoQueueWorkItem: PASSIVE_LEVEL, another thread, may block (2.4, 2.11) */

static void BlockingIoRoutine(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    o.runs++;
    o.seen_device = DeviceObject;
    o.seen_context = Context;
    o.seen_irql = KeGetCurrentIrql();
    o.seen_thread = KeGetCurrentThread();
    KeSetEvent(&o.started_ev, 0, FALSE);
    o.seen_wait = wait_for(&o.go); /* blocking: legal at PASSIVE_LEVEL (2.11) */
    o.done_before_go = o.go_set ? 0 : 1;
    KeSetEvent(&o.done, 0, FALSE);
}

static void QueueBlockingEntry(void *ctx)
{
    (void)ctx;
    init_events();
    o.caller = KeGetCurrentThread();
    if (!load_device())
        return;
    o.io_item = IoAllocateWorkItem(o.device);
    if (o.io_item == NULL)
        return;
    IoQueueWorkItem(o.io_item, BlockingIoRoutine, DelayedWorkQueue, (PVOID)&o.go);
    (void)wait_for(&o.started_ev);
    sleep_us(500); /* the routine stays blocked on `go` meanwhile */
    o.go_set = 1;
    KeSetEvent(&o.go, 0, FALSE);
    (void)wait_for(&o.done);
    IoFreeWorkItem(o.io_item);
}

static void test_io_queue_work_item_runs_at_passive_in_a_worker_thread_that_may_block(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 3);
    kdpc_status st = kdpc_machine_run(m, QueueBlockingEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(o.load_status, STATUS_SUCCESS);
    assert_non_null(o.io_item);
    assert_int_equal(o.runs, 1);
    assert_ptr_equal(o.seen_device, o.device);    /* io 2.4: routine(DeviceObject, Context) */
    assert_ptr_equal(o.seen_context, &o.go);      /* io 2.4 */
    assert_int_equal(o.seen_irql, PASSIVE_LEVEL); /* io 2.4, 2.11 */
    assert_non_null(o.seen_thread);
    assert_ptr_not_equal(o.seen_thread, o.caller); /* a system worker thread (2.4) */
    assert_int_equal(o.seen_wait, STATUS_SUCCESS); /* it blocked and was released (2.11) */
    assert_int_equal(o.done_before_go, 0);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoQueueWorkItemEx (2.4)                                             */

static void ExRoutineOfIo(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem)
{
    o.runs++;
    o.seen_object = IoObject;
    o.seen_context = Context;
    o.seen_item = IoWorkItem;
    o.seen_irql = KeGetCurrentIrql();
    o.seen_thread = KeGetCurrentThread();
    KeSetEvent(&o.done, 0, FALSE);
}

static void QueueExEntry(void *ctx)
{
    (void)ctx;
    init_events();
    o.caller = KeGetCurrentThread();
    if (!load_device())
        return;
    o.io_item = IoAllocateWorkItem(o.device);
    if (o.io_item == NULL)
        return;
    IoQueueWorkItemEx(o.io_item, ExRoutineOfIo, DelayedWorkQueue, (PVOID)&o.runs);
    (void)wait_for(&o.done);
    IoFreeWorkItem(o.io_item);
}

static void test_io_queue_work_item_ex_passes_object_context_and_item(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, QueueExEntry, NULL), KDPC_OK);
    assert_non_null(o.io_item);
    assert_int_equal(o.runs, 1);
    assert_ptr_equal(o.seen_object, o.device); /* io 2.4: (IoObject, Context, IoWorkItem) */
    assert_ptr_equal(o.seen_context, &o.runs);
    assert_ptr_equal(o.seen_item, o.io_item);
    assert_int_equal(o.seen_irql, PASSIVE_LEVEL);
    assert_ptr_not_equal(o.seen_thread, o.caller);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Dequeued before the routine runs (2.6)                              */

static void RequeueingRoutine(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    (void)Context;
    o.runs++;
    o.seen_device = DeviceObject;
    if (o.runs < 3) {
        /* io 2.6: the item is no longer queued: queueing it again is legal */
        IoQueueWorkItem(o.io_item, RequeueingRoutine, DelayedWorkQueue, NULL);
    } else {
        IoFreeWorkItem(o.io_item); /* io 2.6: the routine may free its own item */
        o.freed_own = 1;
    }
}

static void RequeueEntry(void *ctx)
{
    (void)ctx;
    if (!load_device())
        return;
    o.io_item = IoAllocateWorkItem(o.device);
    if (o.io_item != NULL)
        IoQueueWorkItem(o.io_item, RequeueingRoutine, DelayedWorkQueue, NULL);
}

static void test_routine_may_requeue_its_own_item_and_then_free_it(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 7);
    kdpc_status st = kdpc_machine_run(m, RequeueEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_non_null(o.io_item);
    assert_int_equal(o.runs, 3); /* each re-queue ran again */
    assert_ptr_equal(o.seen_device, o.device);
    assert_int_equal(o.freed_own, 1);
    KT_ASSERT_NO_VIOLATION(m, "work.requeue");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void FreeOwnExRoutine(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem)
{
    (void)Context;
    o.runs++;
    o.seen_object = IoObject;
    IoFreeWorkItem(IoWorkItem); /* io 2.6 */
    o.freed_own = 1;
}

static void FreeOwnEntry(void *ctx)
{
    (void)ctx;
    if (!load_device())
        return;
    o.io_item = IoAllocateWorkItem(o.device);
    if (o.io_item != NULL)
        IoQueueWorkItemEx(o.io_item, FreeOwnExRoutine, DelayedWorkQueue, NULL);
}

static void test_routine_may_free_its_own_item(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 9);
    assert_int_equal(kdpc_machine_run(m, FreeOwnEntry, NULL), KDPC_OK);
    assert_int_equal(o.runs, 1);
    assert_ptr_equal(o.seen_object, o.device);
    assert_int_equal(o.freed_own, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoInitializeWorkItem / IoUninitializeWorkItem on caller storage (2.2) */

static void CallerStorageRoutine(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    o.runs++;
    o.seen_device = DeviceObject;
    o.seen_context = Context;
    o.seen_irql = KeGetCurrentIrql();
    KeSetEvent(&o.done, 0, FALSE);
}

static void CallerStorageEntry(void *ctx)
{
    (void)ctx;
    init_events();
    if (!load_device())
        return;
    o.size = IoSizeofWorkItem();
    if (o.size == 0)
        return;
    o.storage = malloc(o.size); /* nonpaged storage of exactly IoSizeofWorkItem() bytes */
    if (o.storage == NULL)
        return;
    PIO_WORKITEM item = (PIO_WORKITEM)o.storage;
    IoInitializeWorkItem(o.device, item);
    IoQueueWorkItem(item, CallerStorageRoutine, DelayedWorkQueue, (PVOID)&o.size);
    (void)wait_for(&o.done);
    sleep_us(100);                /* let the worker finish with the item */
    IoUninitializeWorkItem(item); /* io 2.2: before the storage is freed */
    free(o.storage);
}

static void test_io_initialize_work_item_uses_caller_storage_of_sizeof_bytes(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 11);
    assert_int_equal(kdpc_machine_run(m, CallerStorageEntry, NULL), KDPC_OK);
    assert_true(o.size > 0); /* io 2.2 */
    assert_non_null(o.storage);
    assert_int_equal(o.runs, 1);
    assert_ptr_equal(o.seen_device, o.device);
    assert_ptr_equal(o.seen_context, &o.size);
    assert_int_equal(o.seen_irql, PASSIVE_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void UninitializeOwnRoutine(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    (void)Context;
    o.runs++;
    o.seen_device = DeviceObject;
    IoUninitializeWorkItem((PIO_WORKITEM)o.storage); /* io 2.6: from its own routine */
    free(o.storage);
    o.freed_own = 1;
}

static void UninitializeOwnEntry(void *ctx)
{
    (void)ctx;
    if (!load_device())
        return;
    o.size = IoSizeofWorkItem();
    o.storage = malloc(o.size == 0 ? 1 : o.size);
    if (o.storage == NULL)
        return;
    IoInitializeWorkItem(o.device, (PIO_WORKITEM)o.storage);
    IoQueueWorkItem((PIO_WORKITEM)o.storage, UninitializeOwnRoutine, DelayedWorkQueue, NULL);
}

static void test_routine_may_uninitialize_and_free_its_own_caller_storage_item(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(m, UninitializeOwnEntry, NULL), KDPC_OK);
    assert_int_equal(o.runs, 1);
    assert_ptr_equal(o.seen_device, o.device);
    assert_int_equal(o.freed_own, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* ExInitializeWorkItem / ExQueueWorkItem (2.9)                        */

static void ExRoutine(PVOID Parameter)
{
    o.runs++;
    o.seen_parameter = Parameter;
    o.seen_irql = KeGetCurrentIrql();
    o.seen_thread = KeGetCurrentThread();
    o.flink_in_routine = o.ex_items[0].List.Flink;
    KeSetEvent(&o.done, 0, FALSE);
}

static void ExInitEntry(void *ctx)
{
    (void)ctx;
    o.ex_items[0].List.Flink = (PLIST_ENTRY)&o.ex_items[1]; /* garbage */
    ExInitializeWorkItem(&o.ex_items[0], ExRoutine, &o.seen_parameter);
    o.flink_after_init = o.ex_items[0].List.Flink;
}

static void test_ex_initialize_work_item_sets_flink_null_and_binds_routine(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 15);
    assert_int_equal(kdpc_machine_run(m, ExInitEntry, NULL), KDPC_OK);
    assert_null(o.flink_after_init); /* io 2.9 */
    assert_true(o.ex_items[0].WorkerRoutine == ExRoutine);
    assert_ptr_equal(o.ex_items[0].Parameter, &o.seen_parameter);
    assert_int_equal(o.runs, 0); /* initialising queues nothing */
    kdpc_machine_destroy(m);
}

static void ExQueueEntry(void *ctx)
{
    (void)ctx;
    init_events();
    o.caller = KeGetCurrentThread();
    ExInitializeWorkItem(&o.ex_items[0], ExRoutine, (PVOID)&o.ex_items[0]);
    ExQueueWorkItem(&o.ex_items[0], DelayedWorkQueue);
    (void)wait_for(&o.done);
}

static void test_ex_queue_work_item_runs_worker_routine_with_parameter(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 17);
    assert_int_equal(kdpc_machine_run(m, ExQueueEntry, NULL), KDPC_OK);
    assert_int_equal(o.runs, 1);
    assert_ptr_equal(o.seen_parameter, &o.ex_items[0]); /* io 2.4: WorkerRoutine(Parameter) */
    assert_int_equal(o.seen_irql, PASSIVE_LEVEL);
    assert_non_null(o.seen_thread);
    assert_ptr_not_equal(o.seen_thread, o.caller);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void ExLinkEntry(void *ctx)
{
    (void)ctx;
    init_events();
    ExInitializeWorkItem(&o.ex_items[0], ExRoutine, NULL);
    KIRQL old = KeRaiseIrqlToDpcLevel(); /* one CPU at DISPATCH: no worker can run */
    ExQueueWorkItem(&o.ex_items[0], DelayedWorkQueue);
    o.flink_while_queued = o.ex_items[0].List.Flink;
    KeLowerIrql(old);
    (void)wait_for(&o.done);
}

static void
test_ex_work_item_is_linked_while_queued_and_unlinked_when_its_routine_runs(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 19);
    assert_int_equal(kdpc_machine_run(m, ExLinkEntry, NULL), KDPC_OK);
    assert_int_equal(o.runs, 1);
    assert_non_null(o.flink_while_queued); /* List links the queued item */
    assert_null(o.flink_in_routine);       /* io 2.6, 2.9: dequeued before the call */
    kdpc_machine_destroy(m);
}

static void ExRequeueRoutine(PVOID Parameter)
{
    PWORK_QUEUE_ITEM item = Parameter;
    o.runs++;
    if (o.runs < 3)
        ExQueueWorkItem(item, DelayedWorkQueue); /* io 2.6 */
}

static void ExRequeueEntry(void *ctx)
{
    (void)ctx;
    ExInitializeWorkItem(&o.ex_items[0], ExRequeueRoutine, &o.ex_items[0]);
    ExQueueWorkItem(&o.ex_items[0], DelayedWorkQueue);
}

static void test_ex_routine_may_requeue_its_own_item(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 21);
    assert_int_equal(kdpc_machine_run(m, ExRequeueEntry, NULL), KDPC_OK);
    assert_int_equal(o.runs, 3);
    KT_ASSERT_NO_VIOLATION(m, "work.requeue");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Queued from a DPC (2.3, 2.9: IRQL <= DISPATCH_LEVEL)                */

static void DpcExRoutine(PVOID Parameter)
{
    (void)Parameter;
    o.ex_runs++;
    o.ex_irql = KeGetCurrentIrql();
    o.ex_thread = KeGetCurrentThread();
}

static void DpcIoRoutine(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    (void)Context;
    o.io_runs++;
    o.seen_device = DeviceObject;
    o.io_irql = KeGetCurrentIrql();
    o.io_thread = KeGetCurrentThread();
    KeSetEvent(&o.done, 0, FALSE);
}

static void QueueingDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    o.dpc_irql = KeGetCurrentIrql();
    ExQueueWorkItem(&o.ex_items[0], DelayedWorkQueue);
    IoQueueWorkItem(o.io_item, DpcIoRoutine, DelayedWorkQueue, NULL);
}

static void DpcQueueEntry(void *ctx)
{
    (void)ctx;
    init_events();
    o.caller = KeGetCurrentThread();
    if (!load_device())
        return;
    o.io_item = IoAllocateWorkItem(o.device);
    if (o.io_item == NULL)
        return;
    ExInitializeWorkItem(&o.ex_items[0], DpcExRoutine, NULL);
    KeInitializeDpc(&o.dpc, QueueingDpc, NULL);
    (void)KeInsertQueueDpc(&o.dpc, NULL, NULL);
    (void)wait_for(&o.done); /* the I/O item ran: free it */
    IoFreeWorkItem(o.io_item);
}

static void test_items_queued_from_a_dpc_run_at_passive(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 23);
    KDPC_NAME(m, QueueingDpc);
    assert_int_equal(kdpc_machine_run(m, DpcQueueEntry, NULL), KDPC_OK);
    assert_int_equal(o.dpc_irql, DISPATCH_LEVEL);
    assert_int_equal(o.ex_runs, 1);
    assert_int_equal(o.io_runs, 1);
    assert_int_equal(o.ex_irql, PASSIVE_LEVEL);
    assert_int_equal(o.io_irql, PASSIVE_LEVEL);
    assert_ptr_equal(o.seen_device, o.device);
    assert_ptr_not_equal(o.ex_thread, o.caller);
    assert_ptr_not_equal(o.io_thread, o.caller);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Pools: concurrency, FIFO, queue types (2.10, 2.11)                  */

typedef struct GATE_RUN {
    WORK_QUEUE_TYPE types[MAX_ITEMS];
    LONG n;
} GATE_RUN;

/* Each item records its start, then waits on the shared notification gate. */
static void GateRoutine(PVOID Parameter)
{
    LONG idx = (LONG)(LONG_PTR)Parameter;
    LONG n = InterlockedIncrement(&o.started);
    if (n >= 1 && n <= MAX_ITEMS)
        o.order[n - 1] = idx;
    LONG r = InterlockedIncrement(&o.running);
    if (r > o.max_running)
        o.max_running = r;
    (void)wait_for(&o.gate);
    InterlockedDecrement(&o.running);
    InterlockedIncrement(&o.finished);
}

static void GateEntry(void *ctx)
{
    GATE_RUN *g = ctx;
    init_events();
    for (LONG i = 0; i < g->n; i++) {
        ExInitializeWorkItem(&o.ex_items[i], GateRoutine, (PVOID)(LONG_PTR)i);
        ExQueueWorkItem(&o.ex_items[i], g->types[i]);
    }
    sleep_us(2000); /* every worker that can start an item has blocked on the gate */
    o.started_before_gate = o.started;
    KeSetEvent(&o.gate, 0, FALSE);
}

static kdpc_status run_gate(kdpc_machine *m, WORK_QUEUE_TYPE type, LONG n)
{
    GATE_RUN g;
    memset(&g, 0, sizeof g);
    g.n = n;
    for (LONG i = 0; i < n; i++)
        g.types[i] = type;
    return kdpc_machine_run(m, GateEntry, &g);
}

static void test_delayed_pool_of_three_runs_three_items_concurrently(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine_with(2, 25, 3);
    assert_int_equal(run_gate(m, DelayedWorkQueue, 3), KDPC_OK);
    assert_int_equal(o.started_before_gate, 3); /* io 2.11: a pool runs items concurrently */
    assert_int_equal(o.max_running, 3);
    assert_int_equal(o.finished, 3);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_delayed_pool_starts_no_more_items_than_its_three_workers(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 27); /* default: 3 Delayed workers (io 2.11) */
    assert_int_equal(run_gate(m, DelayedWorkQueue, 4), KDPC_OK);
    assert_int_equal(o.started_before_gate, 3);
    assert_int_equal(o.max_running, 3);
    assert_int_equal(o.finished, 4);
    kdpc_machine_destroy(m);
}

/* Each item marks its start, sleeps (blocking its worker) and marks its end. */
static void SerialRoutine(PVOID Parameter)
{
    LONG idx = (LONG)(LONG_PTR)Parameter;
    LONG n = o.n_order++;
    if (n < MAX_ITEMS)
        o.order[n] = idx;
    LONG r = InterlockedIncrement(&o.running);
    if (r > o.max_running)
        o.max_running = r;
    sleep_us(200);
    InterlockedDecrement(&o.running);
    InterlockedIncrement(&o.finished);
}

static void SerialEntry(void *ctx)
{
    (void)ctx;
    for (LONG i = 0; i < 4; i++) {
        ExInitializeWorkItem(&o.ex_items[i], SerialRoutine, (PVOID)(LONG_PTR)i);
        ExQueueWorkItem(&o.ex_items[i], DelayedWorkQueue);
    }
}

static void test_one_delayed_worker_runs_items_one_after_the_other_in_fifo_order(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine_with(2, 29, 1);
    uint64_t t0 = kdpc_machine_time_ns(m);
    assert_int_equal(kdpc_machine_run(m, SerialEntry, NULL), KDPC_OK);
    assert_int_equal(o.finished, 4);
    assert_int_equal(o.max_running, 1); /* never two at once */
    assert_int_equal(o.n_order, 4);
    for (LONG i = 0; i < 4; i++)
        assert_int_equal(o.order[i], i); /* FIFO */
    /* four 200 us sleeps one after the other */
    assert_true(kdpc_machine_time_ns(m) - t0 >= 4u * 200000u);
    kdpc_machine_destroy(m);
}

static void test_critical_pool_runs_five_items_concurrently(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 31); /* default: 5 Critical workers (io 2.11) */
    assert_int_equal(run_gate(m, CriticalWorkQueue, 6), KDPC_OK);
    assert_int_equal(o.started_before_gate, 5);
    assert_int_equal(o.finished, 6);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_hypercritical_pool_has_one_worker(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 33); /* default: 1 HyperCritical worker (io 2.11) */
    assert_int_equal(run_gate(m, HyperCriticalWorkQueue, 2), KDPC_OK);
    assert_int_equal(o.started_before_gate, 1);
    assert_int_equal(o.finished, 2);
    assert_int_equal(o.order[0], 0);
    assert_int_equal(o.order[1], 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_critical_pool_is_separate_from_a_busy_delayed_pool(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine_with(2, 35, 1);
    GATE_RUN g;
    memset(&g, 0, sizeof g);
    g.n = 3;
    g.types[0] = DelayedWorkQueue;
    g.types[1] = DelayedWorkQueue; /* waits for the only Delayed worker */
    g.types[2] = CriticalWorkQueue;
    assert_int_equal(kdpc_machine_run(m, GateEntry, &g), KDPC_OK);
    assert_int_equal(o.started_before_gate, 2);
    /* items 0 (Delayed) and 2 (Critical) started, in either order: the
     * Critical item did not wait behind the busy Delayed worker */
    assert_int_equal(o.order[0] + o.order[1], 2);
    assert_true(o.order[0] != 1 && o.order[1] != 1);
    assert_int_equal(o.finished, 3);
    kdpc_machine_destroy(m);
}

static void test_normal_queue_shares_the_delayed_pool(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine_with(2, 37, 1);
    GATE_RUN g;
    memset(&g, 0, sizeof g);
    g.n = 2;
    g.types[0] = DelayedWorkQueue;
    g.types[1] = NormalWorkQueue; /* work.h: other queue types use the Delayed pool */
    assert_int_equal(kdpc_machine_run(m, GateEntry, &g), KDPC_OK);
    assert_int_equal(o.started_before_gate, 1);
    assert_int_equal(o.finished, 2);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Runs: quiescence waits for work, idle workers do not keep it alive   */

static void SleepyRoutine(PVOID Parameter)
{
    (void)Parameter;
    sleep_us(2000);
    o.runs++;
}

static void QueueAndReturnEntry(void *ctx)
{
    (void)ctx;
    ExInitializeWorkItem(&o.ex_items[0], SleepyRoutine, NULL);
    ExQueueWorkItem(&o.ex_items[0], DelayedWorkQueue);
    /* returns at once: the run waits for the queued item */
}

static void test_run_waits_for_queued_work_and_ends_with_idle_workers(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 39);
    uint64_t t0 = kdpc_machine_time_ns(m);
    kdpc_status st = kdpc_machine_run(m, QueueAndReturnEntry, NULL);
    assert_int_equal(st, KDPC_OK); /* idle workers are not a deadlock and keep nothing alive */
    assert_int_equal(o.runs, 1);
    assert_true(kdpc_machine_time_ns(m) - t0 >= 2000000u);
    assert_null(kdpc_machine_deadlock_report(m));
    kdpc_machine_destroy(m);
}

static void RecordThreadRoutine(PVOID Parameter)
{
    LONG run = (LONG)(LONG_PTR)Parameter;
    o.runs++;
    if (run >= 0 && run < 2)
        o.run_threads[run] = KeGetCurrentThread();
}

static void QueueRecordEntry(void *ctx)
{
    LONG run = (LONG)(LONG_PTR)ctx;
    ExInitializeWorkItem(&o.ex_items[run], RecordThreadRoutine, (PVOID)(LONG_PTR)run);
    ExQueueWorkItem(&o.ex_items[run], DelayedWorkQueue);
}

static void test_second_run_reuses_the_worker_pool(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine_with(1, 41, 1); /* one Delayed worker: the same thread twice */
    assert_int_equal(kdpc_machine_run(m, QueueRecordEntry, (void *)(intptr_t)0), KDPC_OK);
    assert_int_equal(o.runs, 1);
    assert_int_equal(kdpc_machine_run(m, QueueRecordEntry, (void *)(intptr_t)1), KDPC_OK);
    assert_int_equal(o.runs, 2);
    assert_non_null(o.run_threads[0]);
    assert_ptr_equal(o.run_threads[1], o.run_threads[0]);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_allocate_work_item_returns_an_item_for_a_device),
        cmocka_unit_test(test_io_queue_work_item_runs_at_passive_in_a_worker_thread_that_may_block),
        cmocka_unit_test(test_io_queue_work_item_ex_passes_object_context_and_item),
        cmocka_unit_test(test_routine_may_requeue_its_own_item_and_then_free_it),
        cmocka_unit_test(test_routine_may_free_its_own_item),
        cmocka_unit_test(test_io_initialize_work_item_uses_caller_storage_of_sizeof_bytes),
        cmocka_unit_test(test_routine_may_uninitialize_and_free_its_own_caller_storage_item),
        cmocka_unit_test(test_ex_initialize_work_item_sets_flink_null_and_binds_routine),
        cmocka_unit_test(test_ex_queue_work_item_runs_worker_routine_with_parameter),
        cmocka_unit_test(
            test_ex_work_item_is_linked_while_queued_and_unlinked_when_its_routine_runs),
        cmocka_unit_test(test_ex_routine_may_requeue_its_own_item),
        cmocka_unit_test(test_items_queued_from_a_dpc_run_at_passive),
        cmocka_unit_test(test_delayed_pool_of_three_runs_three_items_concurrently),
        cmocka_unit_test(test_delayed_pool_starts_no_more_items_than_its_three_workers),
        cmocka_unit_test(test_one_delayed_worker_runs_items_one_after_the_other_in_fifo_order),
        cmocka_unit_test(test_critical_pool_runs_five_items_concurrently),
        cmocka_unit_test(test_hypercritical_pool_has_one_worker),
        cmocka_unit_test(test_critical_pool_is_separate_from_a_busy_delayed_pool),
        cmocka_unit_test(test_normal_queue_shares_the_delayed_pool),
        cmocka_unit_test(test_run_waits_for_queued_work_and_ends_with_idle_workers),
        cmocka_unit_test(test_second_run_reuses_the_worker_pool),
    };
    return cmocka_run_group_tests_name("workitem", tests, NULL, NULL);
}
