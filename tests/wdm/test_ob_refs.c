/* SPDX-License-Identifier: MIT */
/*
 * test_ob_refs.c - ObReferenceObject, ObReferenceObjectByPointer and
 * ObDereferenceObject on the objects kdpc makes: device, driver and file
 * objects, threads and event objects; the obj.invalid reports for pointers
 * that are no object and for unbalanced dereferences; ob.irql above
 * DISPATCH_LEVEL (docs/facts/memory.md, "Objects and handles").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kdpc_test.h"
#include <kdpc/object.h>

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    PFILE_OBJECT file;
    NTSTATUS st[16];
    LONG closes;
    int done;
} R;

static NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    if (IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CLOSE)
        R.closes++;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = Dispatch;
    UNICODE_STRING n;
    RtlInitUnicodeString(&n, L"\\Device\\ObRefs");
    return IoCreateDevice(DriverObject, 0, &n, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev);
}

static void Worker(PVOID ctx)
{
    (void)ctx;
}

static void Balanced(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    if (kdpc_driver_load(m, "obrefs", Entry, &R.drv) != STATUS_SUCCESS)
        return;
    /* device and driver objects */
    ObReferenceObject(R.dev);
    ObReferenceObject(R.dev);
    ObReferenceObject(R.drv);
    R.st[0] = ObReferenceObjectByPointer(R.dev, 0, *IoDeviceObjectType, KernelMode);
    R.st[1] = ObReferenceObjectByPointer(R.dev, 0, *IoDriverObjectType, KernelMode);
    R.st[2] = ObReferenceObjectByPointer(R.drv, 0, NULL, KernelMode);
    ObDereferenceObject(R.dev);
    ObDereferenceObject(R.dev);
    ObDereferenceObject(R.dev);
    ObDereferenceObject(R.drv);
    ObDereferenceObject(R.drv);
    /* a file object: the handle's reference plus one; closing the handle sends no
     * IRP_MJ_CLOSE while the extra reference lives */
    R.st[3] = kdpc_file_open(m, "\\Device\\ObRefs", FILE_READ_DATA, &R.file);
    if (R.st[3] == STATUS_SUCCESS) {
        ObReferenceObject(R.file);
        R.st[4] = ObReferenceObjectByPointer(R.file, 0, *IoFileObjectType, KernelMode);
        ObDereferenceObject(R.file);
        R.st[5] = kdpc_file_close(R.file);
        R.st[6] = R.closes;          /* 0 */
        ObDereferenceObject(R.file); /* the last: IRP_MJ_CLOSE */
        R.st[7] = R.closes;          /* 1 */
    }
    /* a thread */
    HANDLE h;
    R.st[8] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    PVOID t = NULL;
    if (NT_SUCCESS(R.st[8]))
        R.st[9] = ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &t, NULL);
    if (t != NULL) {
        R.st[10] = ObReferenceObjectByPointer(t, SYNCHRONIZE, *PsThreadType, KernelMode);
        ObReferenceObject(t);
        (void)ZwClose(h);
        (void)KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(t);
        ObDereferenceObject(t);
        ObDereferenceObject(t);
    }
    /* an event object the app made, at DISPATCH_LEVEL (allowed) */
    HANDLE eh;
    PVOID ev = NULL;
    R.st[11] = kdpc_user_event_create(m, TRUE, FALSE, EVENT_ALL_ACCESS, &eh);
    R.st[12] = ObReferenceObjectByHandle(eh, SYNCHRONIZE, *ExEventObjectType, UserMode, &ev, NULL);
    if (ev != NULL) {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        ObReferenceObject(ev);
        R.st[13] = ObReferenceObjectByPointer(ev, 0, *ExEventObjectType, KernelMode);
        ObDereferenceObject(ev);
        ObDereferenceObject(ev);
        KeLowerIrql(old);
        ObDereferenceObject(ev);
    }
    R.st[14] = kdpc_user_event_close(m, eh);
    R.done = 1;
}

static void test_references_balance_on_every_object_kind(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, Balanced, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "obj.invalid");
    assert_int_equal(R.done, 1);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_OBJECT_TYPE_MISMATCH); /* no reference taken */
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.st[4], STATUS_SUCCESS);
    assert_int_equal(R.st[5], STATUS_SUCCESS);
    assert_int_equal(R.st[6], 0);
    assert_int_equal(R.st[7], 1);
    assert_int_equal(R.st[9], STATUS_SUCCESS);
    assert_int_equal(R.st[10], STATUS_SUCCESS);
    assert_int_equal(R.st[12], STATUS_SUCCESS);
    assert_int_equal(R.st[13], STATUS_SUCCESS);
    assert_int_equal(R.st[14], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

static void OverDeref(void *ctx)
{
    (void)ctx;
    if (kdpc_driver_load(kdpc_current_machine(), "obrefs", Entry, &R.drv) != STATUS_SUCCESS)
        return;
    ObReferenceObject(R.dev);
    ObDereferenceObject(R.dev);
    ObDereferenceObject(R.dev); /* none held */
    R.done = 1;
}

static void test_dereference_without_reference_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 5);
    kdpc_status st = kdpc_machine_run(m, OverDeref, NULL);
    KT_ASSERT_BUGCHECK(m, st, "obj.invalid", 0xC4);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], 0x3F);
    assert_int_equal(v->params[1], (uintptr_t)R.dev);
    assert_int_equal(v->params[2], UINT64_MAX);
    assert_int_equal(R.done, 0);
    kdpc_machine_destroy(m);
}

static int not_an_object;

static void RefNonObject(void *ctx)
{
    (void)ctx;
    ObReferenceObject(&not_an_object);
    R.st[0] = ObReferenceObjectByPointer(&not_an_object, 0, NULL, KernelMode);
    R.done = 1;
}

static void test_reference_of_non_object_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 5);
    kdpc_status st = kdpc_machine_run(m, RefNonObject, NULL);
    KT_ASSERT_BUGCHECK(m, st, "obj.invalid", 0xC4);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], 0x3F);
    assert_int_equal(v->params[1], (uintptr_t)&not_an_object);
    assert_int_equal(v->params[2], 1);
    kdpc_machine_destroy(m);
    /* as a warning: ignored, and ByPointer says STATUS_INVALID_PARAMETER */
    memset(&R, 0, sizeof(R));
    m = kt_machine(1, 5);
    assert_int_equal(kdpc_rule_set(m, "obj.invalid", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, RefNonObject, NULL), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.done, 1);
    kdpc_machine_destroy(m);
}

/* An event object whose last reference is gone, kept only because a thread still waits on it:
 * a new reference from zero is Driver Verifier's 0xC4/0x3F with P3 1 (not a revival). The fixed
 * twin takes its reference before dropping the old one and lets the waiter go. */
static PVOID wait_ev;
static int ref_first;
static void EventWaiter(PVOID ctx)
{
    (void)ctx;
    (void)KeWaitForSingleObject(wait_ev, Executive, KernelMode, FALSE, NULL);
}

static void RefFromZero(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    HANDLE eh, th;
    if (kdpc_user_event_create(m, TRUE, FALSE, EVENT_ALL_ACCESS, &eh) != STATUS_SUCCESS)
        return;
    R.st[0] =
        ObReferenceObjectByHandle(eh, SYNCHRONIZE, *ExEventObjectType, UserMode, &wait_ev, NULL);
    R.st[1] = kdpc_user_event_close(m, eh); /* the driver's reference is the last */
    R.st[2] = PsCreateSystemThread(&th, THREAD_ALL_ACCESS, NULL, NULL, NULL, EventWaiter, NULL);
    LARGE_INTEGER d;
    d.QuadPart = -10 * 1000 * 10; /* 10 ms: the waiter blocks */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &d);
    if (ref_first)
        ObReferenceObject(wait_ev);
    ObDereferenceObject(wait_ev);
    if (!ref_first)
        ObReferenceObject(wait_ev); /* from zero */
    (void)KeSetEvent(wait_ev, IO_NO_INCREMENT, FALSE);
    PVOID t = NULL;
    if (ObReferenceObjectByHandle(th, SYNCHRONIZE, *PsThreadType, KernelMode, &t, NULL) ==
        STATUS_SUCCESS) {
        (void)KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL); /* the waiter ends */
        ObDereferenceObject(t);
    }
    (void)ZwClose(th);
    ObDereferenceObject(wait_ev);
    R.done = 1;
}

static void test_reference_from_zero_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    ref_first = 0;
    kdpc_machine *m = kt_machine(1, 5);
    kdpc_status st = kdpc_machine_run(m, RefFromZero, NULL);
    KT_ASSERT_BUGCHECK(m, st, "obj.invalid", 0xC4);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], 0x3F);
    assert_int_equal(v->params[1], (uintptr_t)wait_ev);
    assert_int_equal(v->params[2], 1);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.done, 0);
    kdpc_machine_destroy(m);
    /* the fixed twin */
    memset(&R, 0, sizeof(R));
    ref_first = 1;
    m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, RefFromZero, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "obj.invalid");
    assert_int_equal(R.done, 1);
    kdpc_machine_destroy(m);
}

static void DerefAtHigh(void *ctx)
{
    (void)ctx;
    if (kdpc_driver_load(kdpc_current_machine(), "obrefs", Entry, &R.drv) != STATUS_SUCCESS)
        return;
    ObReferenceObject(R.drv);
    KIRQL old;
    KeRaiseIrql(PROFILE_LEVEL, &old);
    ObDereferenceObject(R.drv);
    KeLowerIrql(old);
    R.done = 1;
}

static void test_dereference_above_dispatch_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 5);
    kdpc_status st = kdpc_machine_run(m, DerefAtHigh, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ob.irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x20011);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[2], DISPATCH_LEVEL);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_references_balance_on_every_object_kind),
        cmocka_unit_test(test_dereference_without_reference_bugchecks),
        cmocka_unit_test(test_reference_of_non_object_bugchecks),
        cmocka_unit_test(test_dereference_above_dispatch_bugchecks),
        cmocka_unit_test(test_reference_from_zero_bugchecks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
