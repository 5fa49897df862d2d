/* SPDX-License-Identifier: MIT */
/*
 * test_unload_rules.c - unload.pending (docs/rules.md, G8): a driver unloaded, or
 * a device deleted, while a DPC of it is still queued is bug check 0xCE
 * DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS (kdpc: P1 the KDPC).
 *
 * To keep a DPC queued at PASSIVE_LEVEL the tests target it at CPU 1 while a
 * thread holds CPU 1 at DISPATCH_LEVEL: a Medium DPC targeted at another CPU
 * requests no drain there (4.10), and a CPU at DISPATCH_LEVEL drains nothing
 * until it drops below it (8.2), so the DPC stays in CPU 1's queue. The device
 * DPC is bound by IoInitializeDpcRequest and queued by IoRequestDpc (5.1, 5.2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef struct EXT {
    KDPC CustomDpc;
    LONG Runs;
} EXT, *PEXT;

static int reached_after; /* set by code after the violating call: must stay 0 */
static volatile LONG busy_up, busy_stop;
static PDEVICE_OBJECT device;
static uint64_t queued_dpc; /* address of the DPC left queued */
static KDPC driver_dpc;     /* a CustomDpc in driver-global memory */
static LONG dpc_runs;
static BOOLEAN removed;
static NTSTATUS load_status, unload_status;

static kdpc_machine *machine(void)
{
    reached_after = 0;
    busy_up = busy_stop = 0;
    device = NULL;
    queued_dpc = 0;
    dpc_runs = 0;
    removed = FALSE;
    load_status = unload_status = STATUS_UNSUCCESSFUL;
    return kt_machine(2, 21);
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* Holds CPU 1 at DISPATCH_LEVEL until busy_stop. */
static void BusyOnCpu1(PVOID ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(2);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    busy_up = 1;
    while (!busy_stop)
        KeStallExecutionProcessor(5);
    KeLowerIrql(old);
}

/* Pins the calling thread to CPU 0 and makes CPU 1 busy. */
static HANDLE make_cpu1_busy(void)
{
    HANDLE h = NULL;
    (void)KeSetSystemAffinityThreadEx(1);
    if (!NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, BusyOnCpu1, NULL)))
        return NULL;
    while (!busy_up)
        KeStallExecutionProcessor(1);
    return h;
}

static void release_cpu1(HANDLE h)
{
    busy_stop = 1;
    if (h != NULL)
        (void)ZwClose(h);
}

static void UnloadDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    dpc_runs++;
}

static void CustomDpcRoutine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    dpc_runs++;
}

static NTSTATUS UnloadDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(st))
        return st;
    IoInitializeDpcRequest(device, UnloadDpcForIsr); /* 5.1 */
    PEXT ext = device->DeviceExtension;
    KeInitializeDpc(&ext->CustomDpc, CustomDpcRoutine, device);
    KeInitializeDpc(&driver_dpc, CustomDpcRoutine, NULL);
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* kdpc_driver_unload                                                  */

static void QueueDeviceDpcUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT dev = DriverObject->DeviceObject;
    KeSetTargetProcessorDpc(&dev->Dpc, 1);
    IoRequestDpc(dev, NULL, NULL); /* the ISR's last request, still queued on CPU 1 */
    queued_dpc = addr(&dev->Dpc);
}

static void UnloadWithDeviceDpcQueuedEntry(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    HANDLE h = make_cpu1_busy();
    load_status = kdpc_driver_load(kdpc_current_machine(), "unload1", UnloadDriverEntry, &drv);
    if (NT_SUCCESS(load_status)) {
        drv->DriverUnload = QueueDeviceDpcUnload;
        unload_status = kdpc_driver_unload(drv);
        reached_after = 1;
    }
    release_cpu1(h);
}

static void test_driver_unload_with_device_dpc_queued_bugchecks_ce(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, UnloadDpcForIsr);
    kdpc_status st = kdpc_machine_run(m, UnloadWithDeviceDpcQueuedEntry, NULL);
    assert_int_equal(load_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_string_equal(bc->name, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS");
    assert_int_equal(bc->params[0], queued_dpc);
    assert_string_equal(bc->routine, "UnloadDpcForIsr"); /* the routine that would have run */
    assert_int_equal(bc->cpu, 0);
    assert_int_equal(dpc_runs, 0);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void QueueDriverDpcUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    KeSetTargetProcessorDpc(&driver_dpc, 1);
    (void)KeInsertQueueDpc(&driver_dpc, NULL, NULL);
    queued_dpc = addr(&driver_dpc);
    IoDeleteDevice(DriverObject->DeviceObject);
}

static void UnloadWithDriverDpcQueuedEntry(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    HANDLE h = make_cpu1_busy();
    load_status = kdpc_driver_load(kdpc_current_machine(), "unload2", UnloadDriverEntry, &drv);
    if (NT_SUCCESS(load_status)) {
        drv->DriverUnload = QueueDriverDpcUnload;
        unload_status = kdpc_driver_unload(drv);
        reached_after = 1;
    }
    release_cpu1(h);
}

static void test_driver_unload_with_custom_dpc_queued_bugchecks_ce(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, CustomDpcRoutine);
    kdpc_status st = kdpc_machine_run(m, UnloadWithDriverDpcQueuedEntry, NULL);
    assert_int_equal(load_status, STATUS_SUCCESS);
    /* the KDPC lives outside the driver's objects: it is the driver's because
     * DriverEntry initialised it */
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], addr(&driver_dpc));
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "CustomDpcRoutine");
    assert_int_equal(dpc_runs, 0);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void RemoveBeforeUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT dev = DriverObject->DeviceObject;
    KeSetTargetProcessorDpc(&dev->Dpc, 1);
    IoRequestDpc(dev, NULL, NULL);
    removed = KeRemoveQueueDpc(&dev->Dpc); /* 4.17: TRUE, it will not run */
    IoDeleteDevice(dev);
}

static void UnloadAfterRemoveEntry(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    HANDLE h = make_cpu1_busy();
    load_status = kdpc_driver_load(kdpc_current_machine(), "unload3", UnloadDriverEntry, &drv);
    if (NT_SUCCESS(load_status)) {
        drv->DriverUnload = RemoveBeforeUnload;
        unload_status = kdpc_driver_unload(drv);
        reached_after = 1;
    }
    release_cpu1(h);
}

static void test_driver_unload_after_remove_queue_dpc_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, UnloadAfterRemoveEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "unload.pending");
    assert_true(removed);
    assert_int_equal(unload_status, STATUS_SUCCESS);
    assert_int_equal(dpc_runs, 0);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoDeleteDevice                                                      */

static void DeleteWithDeviceDpcQueuedEntry(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    HANDLE h = make_cpu1_busy();
    load_status = kdpc_driver_load(kdpc_current_machine(), "unload4", UnloadDriverEntry, &drv);
    if (NT_SUCCESS(load_status)) {
        KeSetTargetProcessorDpc(&device->Dpc, 1);
        IoRequestDpc(device, NULL, NULL);
        queued_dpc = addr(&device->Dpc);
        IoDeleteDevice(device); /* the DPC object goes with the device (5.1) */
        reached_after = 1;
    }
    release_cpu1(h);
}

static void test_io_delete_device_with_device_dpc_queued_bugchecks_ce(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    KDPC_NAME(m, UnloadDpcForIsr);
    KDPC_NAME(m, DeleteWithDeviceDpcQueuedEntry);
    kdpc_status st = kdpc_machine_run(m, DeleteWithDeviceDpcQueuedEntry, NULL);
    assert_int_equal(load_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], queued_dpc);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "UnloadDpcForIsr");
    assert_int_equal(dpc_runs, 0);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void DeleteWithExtensionDpcQueuedEntry(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    HANDLE h = make_cpu1_busy();
    load_status = kdpc_driver_load(kdpc_current_machine(), "unload5", UnloadDriverEntry, &drv);
    if (NT_SUCCESS(load_status)) {
        PEXT ext = device->DeviceExtension;
        KeSetTargetProcessorDpc(&ext->CustomDpc, 1);
        (void)KeInsertQueueDpc(&ext->CustomDpc, NULL, NULL);
        queued_dpc = addr(&ext->CustomDpc);
        IoDeleteDevice(device); /* frees the extension holding the queued KDPC */
        reached_after = 1;
    }
    release_cpu1(h);
}

static void test_io_delete_device_with_extension_dpc_queued_bugchecks_ce(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, DeleteWithExtensionDpcQueuedEntry, NULL);
    assert_int_equal(load_status, STATUS_SUCCESS);
    KT_ASSERT_BUGCHECK(m, st, "unload.pending", 0xCE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], queued_dpc);
    assert_int_equal(dpc_runs, 0);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void DeleteAfterDpcRanEntry(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    load_status = kdpc_driver_load(kdpc_current_machine(), "unload6", UnloadDriverEntry, &drv);
    if (NT_SUCCESS(load_status)) {
        IoRequestDpc(device, NULL, NULL); /* untargeted at PASSIVE: it has run (4.15) */
        IoDeleteDevice(device);
        reached_after = 1;
    }
}

static void test_io_delete_device_after_its_dpc_ran_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, DeleteAfterDpcRanEntry, NULL);
    assert_int_equal(load_status, STATUS_SUCCESS);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "unload.pending");
    assert_int_equal(dpc_runs, 1);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_driver_unload_with_device_dpc_queued_bugchecks_ce),
        cmocka_unit_test(test_driver_unload_with_custom_dpc_queued_bugchecks_ce),
        cmocka_unit_test(test_driver_unload_after_remove_queue_dpc_is_no_violation),
        cmocka_unit_test(test_io_delete_device_with_device_dpc_queued_bugchecks_ce),
        cmocka_unit_test(test_io_delete_device_with_extension_dpc_queued_bugchecks_ce),
        cmocka_unit_test(test_io_delete_device_after_its_dpc_ran_is_no_violation),
    };
    return cmocka_run_group_tests_name("unload_rules", tests, NULL, NULL);
}
