/* SPDX-License-Identifier: MIT */
/*
 * test_wmi.c - WMI on a machine with no WMI consumer (kdpc/wdm/wmi.h,
 * <wmilib.h>, docs/facts/registry.md "WMI"): IoWMIRegistrationControl accepts
 * the documented actions and sends nothing, refuses unknown ones, checks its
 * IRQL and device; WmiSystemControl answers IRP_MJ_SYSTEM_CONTROL requests as
 * IrpForward (WMI minor codes) or IrpNotWmi, never running the callbacks;
 * WmiCompleteRequest completes with the status given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"
#include <wmilib.h>
#include <wmistr.h>

static struct {
    PDEVICE_OBJECT dev;
    NTSTATUS st[16];
    SYSCTL_IRP_DISPOSITION disp[4];
    unsigned callbacks, sysctl_irps, completions;
    NTSTATUS completed_with;
    BOOLEAN use_complete_request;
    unsigned case_no;
} R;

static const GUID BlockGuid = {0x1d2c3b4a, 0x1111, 0x2222, {1, 2, 3, 4, 5, 6, 7, 8}};
static WMIGUIDREGINFO Guids[] = {{&BlockGuid, 1, 0}};

static NTSTATUS QueryRegInfo(PDEVICE_OBJECT DeviceObject, PULONG RegFlags,
                             PUNICODE_STRING InstanceName, PUNICODE_STRING *RegistryPath,
                             PUNICODE_STRING MofResourceName, PDEVICE_OBJECT *Pdo)
{
    (void)DeviceObject;
    (void)RegFlags;
    (void)InstanceName;
    (void)RegistryPath;
    (void)MofResourceName;
    (void)Pdo;
    R.callbacks++;
    return STATUS_SUCCESS;
}

static NTSTATUS QueryDataBlock(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                               ULONG InstanceIndex, ULONG InstanceCount, PULONG InstanceLengthArray,
                               ULONG BufferAvail, PUCHAR Buffer)
{
    (void)GuidIndex;
    (void)InstanceIndex;
    (void)InstanceCount;
    (void)InstanceLengthArray;
    (void)BufferAvail;
    (void)Buffer;
    R.callbacks++;
    return WmiCompleteRequest(DeviceObject, Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
}

static WMILIB_CONTEXT WmiLib = {1, Guids, QueryRegInfo, QueryDataBlock, NULL, NULL, NULL, NULL};

static NTSTATUS SystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    R.sysctl_irps++;
    if (R.use_complete_request)
        return WmiCompleteRequest(DeviceObject, Irp, STATUS_WMI_GUID_NOT_FOUND, 16,
                                  IO_NO_INCREMENT);
    SYSCTL_IRP_DISPOSITION disp = IrpProcessed;
    NTSTATUS st = WmiSystemControl(&WmiLib, DeviceObject, Irp, &disp);
    if (R.case_no < 4)
        R.disp[R.case_no] = disp;
    R.st[8 + R.case_no] = st;
    /* no device below: a forwarded or non-WMI request is completed as it is */
    st = Irp->IoStatus.Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return st;
}

static NTSTATUS Done(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    R.completions++;
    R.completed_with = Irp->IoStatus.Status;
    IoFreeIrp(Irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void send_sysctl(UCHAR major, UCHAR minor)
{
    PIRP irp = IoAllocateIrp(R.dev->StackSize, FALSE);
    assert_non_null(irp);
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(irp);
    s->MajorFunction = major;
    s->MinorFunction = minor;
    IoSetCompletionRoutine(irp, Done, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(R.dev, irp);
}

static void Unload(PDRIVER_OBJECT DriverObject)
{
    (void)IoWMIRegistrationControl(R.dev, WMIREG_ACTION_DEREGISTER);
    IoDeleteDevice(DriverObject->DeviceObject);
}

static NTSTATUS Entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->DriverUnload = Unload;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = SystemControl;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SystemControl;
    NTSTATUS st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev);
    if (!NT_SUCCESS(st))
        return st;
    R.st[0] = IoWMIRegistrationControl(R.dev, WMIREG_ACTION_REGISTER);
    R.st[1] = IoWMIRegistrationControl(R.dev, WMIREG_ACTION_UPDATE_GUIDS);
    R.st[2] = IoWMIRegistrationControl(R.dev, WMIREG_ACTION_REREGISTER);
    R.st[3] = IoWMIRegistrationControl(R.dev, 0);
    R.st[4] = IoWMIRegistrationControl(R.dev, 6);
    R.st[5] = IoWMIRegistrationControl((PDEVICE_OBJECT)(uintptr_t)0x1234,
                                       WMIREG_ACTION_REGISTER | WMIREG_FLAG_CALLBACK);
    return STATUS_SUCCESS;
}

static void body(void *ctx)
{
    kdpc_machine *m = ctx;
    PDRIVER_OBJECT drv;
    assert_int_equal(kdpc_driver_load(m, "twmi", Entry, &drv), STATUS_SUCCESS);
    R.case_no = 0;
    send_sysctl(IRP_MJ_SYSTEM_CONTROL, IRP_MN_QUERY_ALL_DATA);
    R.case_no = 1;
    send_sysctl(IRP_MJ_SYSTEM_CONTROL, IRP_MN_REGINFO_EX);
    R.case_no = 2;
    send_sysctl(IRP_MJ_SYSTEM_CONTROL, 0x0A); /* no WMI minor code */
    R.case_no = 3;
    send_sysctl(IRP_MJ_DEVICE_CONTROL, IRP_MN_QUERY_ALL_DATA); /* not system control */
    R.use_complete_request = TRUE;
    send_sysctl(IRP_MJ_SYSTEM_CONTROL, IRP_MN_QUERY_SINGLE_INSTANCE);
    assert_int_equal(kdpc_driver_unload(drv), STATUS_SUCCESS);
}

static void test_registration_and_system_control(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 11);
    assert_int_equal(kdpc_machine_run(m, body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[4], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[5], STATUS_SUCCESS); /* a callback: not read */
    /* no WMI IRP was ever sent by the machine: only the test's five */
    assert_int_equal(R.sysctl_irps, 5);
    assert_int_equal(R.callbacks, 0);
    assert_int_equal(R.disp[0], IrpForward);
    assert_int_equal(R.disp[1], IrpForward);
    assert_int_equal(R.disp[2], IrpNotWmi);
    assert_int_equal(R.disp[3], IrpNotWmi);
    for (int i = 8; i < 12; i++)
        assert_int_equal(R.st[i], STATUS_NOT_SUPPORTED); /* the IRP's status, untouched */
    assert_int_equal(R.completions, 5);
    assert_int_equal(R.completed_with, STATUS_WMI_GUID_NOT_FOUND);
    kdpc_machine_destroy(m);
}

/* ---- bad use ---------------------------------------------------------- */

static void raised_body(void *ctx)
{
    bool raise = *(bool *)ctx;
    assert_int_equal(kdpc_driver_load(kdpc_current_machine(), "twmi", Entry, &(PDRIVER_OBJECT){0}),
                     STATUS_SUCCESS);
    KIRQL old = PASSIVE_LEVEL;
    if (raise)
        KeRaiseIrql(DISPATCH_LEVEL, &old);
    R.st[6] = IoWMIRegistrationControl(R.dev, WMIREG_ACTION_DEREGISTER);
    if (raise)
        KeLowerIrql(old);
}

static void test_registration_above_passive_is_bugcheck(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 11);
    bool raise = true;
    kdpc_status st = kdpc_machine_run(m, raised_body, &raise);
    KT_ASSERT_BUGCHECK(m, st, "io.passive_irql", 0xC4);
    kdpc_machine_destroy(m);
    memset(&R, 0, sizeof(R));
    m = kt_machine(1, 11);
    raise = false;
    assert_int_equal(kdpc_machine_run(m, raised_body, &raise), KDPC_OK);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    KT_ASSERT_NO_VIOLATION(m, "io.passive_irql");
    kdpc_machine_destroy(m);
}

static void garbage_body(void *ctx)
{
    (void)ctx;
    static DEVICE_OBJECT fake; /* never made by IoCreateDevice */
    R.st[7] = IoWMIRegistrationControl(&fake, WMIREG_ACTION_REGISTER);
}

static void test_registration_of_no_device_is_bugcheck(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 11);
    kdpc_status st = kdpc_machine_run(m, garbage_body, NULL);
    assert_int_equal(st, KDPC_BUGCHECK);
    assert_string_equal(kdpc_machine_bugcheck(m)->rule, "io.invalid_object");
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration_and_system_control),
        cmocka_unit_test(test_registration_above_passive_is_bugcheck),
        cmocka_unit_test(test_registration_of_no_device_is_bugcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
