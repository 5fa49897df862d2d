/* SPDX-License-Identifier: MIT */
/*
 * test_registry_device.c - IoOpenDeviceRegistryKey (kdpc/wdm/registry.h,
 * docs/facts/registry.md): in AddDevice a function driver opens its device's
 * hardware key ("Device Parameters", filled by the test before the plug) and
 * software key (written by the driver, read back by the test); an FDO is no
 * PDO; bad flag sets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define HW_KEY                                                                                     \
    "\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\Root\\tregdev0\\0000\\Device "          \
    "Parameters"
#define SW_KEY                                                                                     \
    "\\Registry\\Machine\\System\\CurrentControlSet\\Control\\Class\\"                             \
    "{4d36e97d-e325-11ce-bfc1-08002be10318}\\tregdev0"

typedef struct {
    PDEVICE_OBJECT Lower;
} EXT;

static struct {
    NTSTATUS st[12];
    ULONG value;
    unsigned adds;
} R;

static NTSTATUS Pnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    EXT *x = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(Irp);
    if (s->MinorFunction == IRP_MN_REMOVE_DEVICE) {
        IoSkipCurrentIrpStackLocation(Irp);
        NTSTATUS st = IoCallDriver(x->Lower, Irp);
        IoDetachDevice(x->Lower);
        IoDeleteDevice(DeviceObject);
        return st;
    }
    if (s->MinorFunction == IRP_MN_START_DEVICE)
        Irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(x->Lower, Irp);
}

static NTSTATUS Power(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    EXT *x = DeviceObject->DeviceExtension;
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    return PoCallDriver(x->Lower, Irp);
}

static NTSTATUS AddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo)
{
    R.adds++;
    PDEVICE_OBJECT fdo = NULL;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    EXT *x = fdo->DeviceExtension;
    x->Lower = IoAttachDeviceToDeviceStack(fdo, Pdo);
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;

    HANDLE hw = NULL, sw = NULL, h = NULL;
    R.st[0] = IoOpenDeviceRegistryKey(Pdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &hw);
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"Threshold");
    union {
        KEY_VALUE_PARTIAL_INFORMATION p;
        UCHAR raw[32];
    } buf;
    ULONG got = 0;
    R.st[1] = ZwQueryValueKey(hw, &name, KeyValuePartialInformation, &buf, sizeof(buf), &got);
    memcpy(&R.value, buf.p.Data, sizeof(ULONG));
    R.st[2] = ZwClose(hw);
    R.st[3] = IoOpenDeviceRegistryKey(
        Pdo, PLUGPLAY_REGKEY_DRIVER | PLUGPLAY_REGKEY_CURRENT_HWPROFILE, KEY_ALL_ACCESS, &sw);
    ULONG seen = 42;
    RtlInitUnicodeString(&name, L"Seen");
    R.st[4] = ZwSetValueKey(sw, &name, 0, REG_DWORD, &seen, sizeof(seen));
    R.st[5] = ZwClose(sw);
    R.st[6] = IoOpenDeviceRegistryKey(fdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &h); /* no PDO */
    R.st[7] =
        IoOpenDeviceRegistryKey(Pdo, PLUGPLAY_REGKEY_DEVICE | PLUGPLAY_REGKEY_DRIVER, KEY_READ, &h);
    R.st[8] = IoOpenDeviceRegistryKey(Pdo, PLUGPLAY_REGKEY_CURRENT_HWPROFILE, KEY_READ, &h);
    R.st[9] = IoOpenDeviceRegistryKey(Pdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, NULL);
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->DriverExtension->AddDevice = AddDevice;
    DriverObject->MajorFunction[IRP_MJ_PNP] = Pnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = Power;
    return STATUS_SUCCESS;
}

static void body(void *ctx)
{
    kdpc_machine *m = ctx;
    PDRIVER_OBJECT drv;
    assert_int_equal(kdpc_driver_load(m, "tregdrv", Entry, &drv), STATUS_SUCCESS);
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "tregdev0";
    d.driver = "tregdrv";
    kdpc_device *dev = NULL;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_OK);
}

static void test_device_keys(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 9);
    /* st[6] gives the FDO on purpose: Verifier's 0xC9/0x24D, off to see the status */
    assert_int_equal(kdpc_rule_set(m, "pnp.not_pdo", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_registry_set_dword(m, HW_KEY, "Threshold", 17), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, body, m), KDPC_OK);
    assert_int_equal(R.adds, 1);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.value, 17);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.st[4], STATUS_SUCCESS);
    assert_int_equal(R.st[5], STATUS_SUCCESS);
    assert_int_equal(R.st[6], STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(R.st[7], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[8], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[9], STATUS_INVALID_PARAMETER);
    uint32_t v = 0;
    assert_int_equal(kdpc_registry_get_value(m, SW_KEY, "Seen", NULL, &v, sizeof(v), NULL),
                     KDPC_OK);
    assert_int_equal(v, 42);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
