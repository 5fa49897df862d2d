/* SPDX-License-Identifier: MIT */
/*
 * test_g5_dpc_hands_work_to_worker.c - guideline G5 (docs/guidelines.md): blocking work
 * goes to a PASSIVE_LEVEL system worker thread, IoQueueWorkItem from a
 * DpcForIsr, ExQueueWorkItem from a CustomDpc.
 *
 * The driver's ISR (line 5, Latched) claims the interrupt and queues its DPC;
 * the DPC needs blocking work done and hands it to a work item; the work
 * routine waits (blocking, legal at PASSIVE_LEVEL: io 2.11, 3.7) on an event
 * that the test thread sets later, then completes. The order must be
 * ISR -> DPC -> work start -> event set -> work end, with no violation.
 * The broken twin waits in the DPC itself: dpc.wait, 0xC4 P1 0x3B (io 3.7).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE  5
#define DIRQL 5

typedef enum G5_MODE {
    MODE_IO_FROM_DPC_FOR_ISR = 0, /* IoQueueWorkItem from the DpcForIsr */
    MODE_EX_FROM_CUSTOM_DPC = 1,  /* ExQueueWorkItem from a CustomDpc */
    MODE_BROKEN_WAIT_NULL = 2,    /* the DpcForIsr waits with a NULL timeout */
    MODE_BROKEN_WAIT_1MS = 3,     /* the DpcForIsr waits with a 1 ms timeout */
    MODE_POLL_IN_DPC = 4          /* the DpcForIsr polls (*Timeout == 0), then hands off */
} G5_MODE;

typedef enum G5_EVENT { EV_ISR = 1, EV_DPC, EV_WORK_START, EV_EVENT_SET, EV_WORK_END } G5_EVENT;

typedef struct EXT {
    PKINTERRUPT Interrupt;
    PDEVICE_OBJECT Self;
    PIO_WORKITEM WorkItem;
    WORK_QUEUE_ITEM ExItem;
    KDPC CustomDpc;
    LONG volatile StatusRegister; /* the "device": 1 = I raised the interrupt */
} EXT, *PEXT;

#define MAX_LOG 16

static struct {
    G5_MODE mode;
    PDEVICE_OBJECT device;
    NTSTATUS load_status;
    PKTHREAD test_thread;
    LONG n;
    G5_EVENT ev[MAX_LOG];
    KIRQL irql[MAX_LOG];
    PKTHREAD thread[MAX_LOG];
    NTSTATUS work_wait;
    NTSTATUS dpc_wait;
    LONG reached_after_wait; /* broken twin: must stay 0 */
    LONG unloaded;
    KEVENT started;
    KEVENT go;
    KEVENT done;
} g;

static void log_event(G5_EVENT e)
{
    LONG i = InterlockedIncrement(&g.n) - 1;
    if (i >= 0 && i < MAX_LOG) {
        g.ev[i] = e;
        g.irql[i] = KeGetCurrentIrql();
        g.thread[i] = KeGetCurrentThread();
    }
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

/* The blocking part, at PASSIVE_LEVEL in a worker thread. */
static void do_blocking_work(void)
{
    log_event(EV_WORK_START);
    KeSetEvent(&g.started, 0, FALSE);
    g.work_wait = wait_for(&g.go); /* blocks until the test thread sets it */
    log_event(EV_WORK_END);
    KeSetEvent(&g.done, 0, FALSE);
}

static void G5IoWork(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    do_blocking_work();
}

static void G5ExWork(PVOID Parameter)
{
    (void)Parameter;
    do_blocking_work();
}

static BOOLEAN G5Isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PEXT ext = dev->DeviceExtension;
    if (InterlockedExchange(&ext->StatusRegister, 0) == 0)
        return FALSE;
    log_event(EV_ISR);
    if (g.mode == MODE_EX_FROM_CUSTOM_DPC)
        (void)KeInsertQueueDpc(&ext->CustomDpc, NULL, NULL); /* G18: CustomDpc */
    else
        IoRequestDpc(dev, NULL, NULL); /* G18: DpcForIsr */
    return TRUE;
}

static void G5DpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Irp;
    (void)Context;
    PEXT ext = DeviceObject->DeviceExtension;
    log_event(EV_DPC);
    if (g.mode == MODE_BROKEN_WAIT_NULL) {
        g.dpc_wait = KeWaitForSingleObject(&g.go, Executive, KernelMode, FALSE, NULL);
        g.reached_after_wait = 1;
        return;
    }
    if (g.mode == MODE_BROKEN_WAIT_1MS) {
        LARGE_INTEGER t;
        t.QuadPart = -10000; /* 1 ms */
        g.dpc_wait = KeWaitForSingleObject(&g.go, Executive, KernelMode, FALSE, &t);
        g.reached_after_wait = 1;
        return;
    }
    if (g.mode == MODE_POLL_IN_DPC) {
        LARGE_INTEGER zero;
        zero.QuadPart = 0; /* io 3.7: the only wait a DPC may make */
        g.dpc_wait = KeWaitForSingleObject(&g.go, Executive, KernelMode, FALSE, &zero);
    }
    IoQueueWorkItem(ext->WorkItem, G5IoWork, DelayedWorkQueue, ext); /* G5 */
}

static void G5CustomDpc(PKDPC Dpc, PVOID DeferredContext, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    PEXT ext = DeferredContext;
    log_event(EV_DPC);
    ExQueueWorkItem(&ext->ExItem, DelayedWorkQueue); /* G5 */
}

static NTSTATUS G5DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    PEXT ext = dev->DeviceExtension;
    ext->Self = dev;
    ext->WorkItem = IoAllocateWorkItem(dev); /* io 2.1 */
    if (ext->WorkItem == NULL) {
        IoDeleteDevice(dev);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    ExInitializeWorkItem(&ext->ExItem, G5ExWork, ext); /* io 2.9 */
    IoInitializeDpcRequest(dev, G5DpcForIsr);
    KeInitializeDpc(&ext->CustomDpc, G5CustomDpc, ext);
    st = IoConnectInterrupt(&ext->Interrupt, G5Isr, dev, NULL, LINE, DIRQL, DIRQL, Latched, FALSE,
                            0x3, FALSE);
    if (!NT_SUCCESS(st)) {
        IoFreeWorkItem(ext->WorkItem);
        IoDeleteDevice(dev);
        return st;
    }
    g.device = dev;
    return STATUS_SUCCESS;
}

static void G5Unload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT dev = DriverObject->DeviceObject;
    PEXT ext = dev->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoFreeWorkItem(ext->WorkItem);
    IoDeleteDevice(dev);
    g.unloaded = 1;
}

static void G5TestThread(void *ctx)
{
    kdpc_machine *m = ctx;
    KeInitializeEvent(&g.started, NotificationEvent, FALSE);
    KeInitializeEvent(&g.go, NotificationEvent, FALSE);
    KeInitializeEvent(&g.done, NotificationEvent, FALSE);
    g.test_thread = KeGetCurrentThread();
    PDRIVER_OBJECT drv = NULL;
    g.load_status = kdpc_driver_load(m, "g5", G5DriverEntry, &drv);
    if (!NT_SUCCESS(g.load_status))
        return;
    drv->DriverUnload = G5Unload;
    PEXT ext = g.device->DeviceExtension;
    InterlockedExchange(&ext->StatusRegister, 1);
    (void)kdpc_line_assert(m, LINE);
    (void)wait_for(&g.started); /* the work routine is running and about to block */
    sleep_us(300);              /* it stays blocked meanwhile */
    log_event(EV_EVENT_SET);
    KeSetEvent(&g.go, 0, FALSE);
    (void)wait_for(&g.done);
    sleep_us(100); /* let the work routine return */
    (void)kdpc_driver_unload(drv);
}

static kdpc_machine *g5_machine(G5_MODE mode, uint64_t seed)
{
    memset(&g, 0, sizeof g);
    g.mode = mode;
    g.load_status = STATUS_UNSUCCESSFUL;
    kdpc_machine *m = kt_machine(2, seed);
    KDPC_NAME(m, G5Isr);
    KDPC_NAME(m, G5DpcForIsr);
    KDPC_NAME(m, G5CustomDpc);
    KDPC_NAME(m, G5IoWork);
    KDPC_NAME(m, G5ExWork);
    return m;
}

static const uint64_t seeds[] = {1, 2, 3, 42, 1234};

static void assert_handoff_story(kdpc_machine *m, kdpc_status st)
{
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(g.load_status, STATUS_SUCCESS);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.ev[0], EV_ISR);
    assert_int_equal(g.ev[1], EV_DPC);
    assert_int_equal(g.ev[2], EV_WORK_START);
    assert_int_equal(g.ev[3], EV_EVENT_SET);
    assert_int_equal(g.ev[4], EV_WORK_END);
    assert_int_equal(g.irql[0], DIRQL);          /* the ISR at its DIRQL */
    assert_int_equal(g.irql[1], DISPATCH_LEVEL); /* the DPC */
    assert_int_equal(g.irql[2], PASSIVE_LEVEL);  /* the work routine (io 2.4) */
    assert_int_equal(g.irql[3], PASSIVE_LEVEL);  /* the test thread */
    assert_int_equal(g.irql[4], PASSIVE_LEVEL);
    assert_ptr_not_equal(g.thread[2], g.test_thread); /* a worker thread did the work */
    assert_ptr_equal(g.thread[4], g.thread[2]);       /* and blocked in it */
    assert_int_equal(g.work_wait, STATUS_SUCCESS);
    assert_int_equal(g.unloaded, 1);
}

static void test_dpc_for_isr_hands_blocking_work_to_io_work_item(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        kdpc_machine *m = g5_machine(MODE_IO_FROM_DPC_FOR_ISR, seeds[i]);
        kdpc_status st = kdpc_machine_run(m, G5TestThread, m);
        assert_handoff_story(m, st);
        kdpc_machine_destroy(m);
    }
}

static void test_custom_dpc_hands_blocking_work_to_ex_work_item(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        kdpc_machine *m = g5_machine(MODE_EX_FROM_CUSTOM_DPC, seeds[i]);
        kdpc_status st = kdpc_machine_run(m, G5TestThread, m);
        assert_handoff_story(m, st);
        kdpc_machine_destroy(m);
    }
}

static void test_dpc_polling_with_zero_timeout_then_handing_off_is_legal(void **state)
{
    (void)state;
    kdpc_machine *m = g5_machine(MODE_POLL_IN_DPC, 7);
    kdpc_status st = kdpc_machine_run(m, G5TestThread, m);
    assert_handoff_story(m, st);
    assert_int_equal(g.dpc_wait, STATUS_TIMEOUT); /* io 3.6: not signaled yet */
    KT_ASSERT_NO_VIOLATION(m, "dpc.wait");
    kdpc_machine_destroy(m);
}

static void test_broken_twin_dpc_waits_with_null_timeout_bugchecks_c4_3b(void **state)
{
    (void)state;
    kdpc_machine *m = g5_machine(MODE_BROKEN_WAIT_NULL, 42);
    kdpc_status st = kdpc_machine_run(m, G5TestThread, m);
    assert_int_equal(g.load_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4); /* io 3.7, G3 */
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x3B);
    assert_int_equal(bc->irql, DISPATCH_LEVEL);
    assert_string_equal(bc->routine, "G5DpcForIsr");
    assert_int_equal(g.reached_after_wait, 0);
    assert_int_equal(g.n, 2); /* ISR, DPC: no work ran */
    assert_int_equal(g.ev[0], EV_ISR);
    assert_int_equal(g.ev[1], EV_DPC);
    kdpc_machine_destroy(m);
}

static void test_broken_twin_dpc_waits_with_nonzero_timeout_bugchecks_c4_3b(void **state)
{
    (void)state;
    kdpc_machine *m = g5_machine(MODE_BROKEN_WAIT_1MS, 42);
    kdpc_status st = kdpc_machine_run(m, G5TestThread, m);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4); /* io 3.7 */
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x3B);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "G5DpcForIsr");
    assert_int_equal(g.reached_after_wait, 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpc_for_isr_hands_blocking_work_to_io_work_item),
        cmocka_unit_test(test_custom_dpc_hands_blocking_work_to_ex_work_item),
        cmocka_unit_test(test_dpc_polling_with_zero_timeout_then_handing_off_is_legal),
        cmocka_unit_test(test_broken_twin_dpc_waits_with_null_timeout_bugchecks_c4_3b),
        cmocka_unit_test(test_broken_twin_dpc_waits_with_nonzero_timeout_bugchecks_c4_3b),
    };
    return cmocka_run_group_tests_name("g5_dpc_hands_work_to_worker", tests, NULL, NULL);
}
