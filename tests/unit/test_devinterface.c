/* SPDX-License-Identifier: MIT */
/*
 * test_devinterface.c - device interfaces (kdpc/wdm/pnp.h, docs/facts/pnp.md
 * section 5): IoRegisterDeviceInterface on the PDO gives a
 * "\??\ROOT#<device>#0000#{guid}" name in pool the caller frees with
 * RtlFreeUnicodeString, the same name again for the same instance, a
 * reference string appended; IoSetDeviceInterfaceState enables (twice:
 * STATUS_OBJECT_NAME_EXISTS) and disables (not enabled:
 * STATUS_OBJECT_NAME_NOT_FOUND); an enabled name is a symbolic link to the
 * PDO; bad input; the PnP manager disables and forgets them at removal;
 * IoSetDeviceInterfaceState at DISPATCH_LEVEL is reported once, as itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <initguid.h> /* DEFINE_GUID below defines GUID_TEST_IFACE */
#include "kdpc_test.h"

DEFINE_GUID(GUID_TEST_IFACE, 0x12345678, 0x9abc, 0xdef0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
            0xef);

typedef struct EXT {
    PDEVICE_OBJECT Lower;
    UNICODE_STRING Iface;
} EXT;

static struct {
    kdpc_machine *m;
    kdpc_device *dev;
    PDEVICE_OBJECT fdo;
    NTSTATUS reg, reg_again, reg_ref, reg_bad_ref, reg_fdo, en, en_again, dis, dis_again,
        dis_after_remove, reg_null, open, open_disabled;
    char name[200], name_again[200], name_ref[200];
    size_t outstanding_after;
    bool raise; /* enable the interface at DISPATCH_LEVEL (io.passive_irql) */
} g;

static void narrow(char *out, size_t n, const UNICODE_STRING *s)
{
    size_t k = 0;
    for (; k + 1 < n && k < s->Length / sizeof(WCHAR); k++)
        out[k] = (char)s->Buffer[k];
    out[k] = '\0';
}

static NTSTATUS Pnp(PDEVICE_OBJECT dev, PIRP irp)
{
    EXT *x = dev->DeviceExtension;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    if (s->MinorFunction == IRP_MN_START_DEVICE) {
        (void)IoForwardIrpSynchronously(x->Lower, irp);
        KIRQL old = PASSIVE_LEVEL;
        if (g.raise)
            KeRaiseIrql(DISPATCH_LEVEL, &old);
        g.en = IoSetDeviceInterfaceState(&x->Iface, TRUE);
        if (g.raise)
            KeLowerIrql(old);
        g.en_again = IoSetDeviceInterfaceState(&x->Iface, TRUE);
        NTSTATUS st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    if (s->MinorFunction == IRP_MN_REMOVE_DEVICE) {
        g.dis = IoSetDeviceInterfaceState(&x->Iface, FALSE);
        g.dis_again = IoSetDeviceInterfaceState(&x->Iface, FALSE);
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        NTSTATUS st = IoCallDriver(x->Lower, irp);
        IoDetachDevice(x->Lower);
        IoDeleteDevice(dev);
        return st;
    }
    if (s->MinorFunction == IRP_MN_QUERY_REMOVE_DEVICE)
        irp->IoStatus.Status = STATUS_SUCCESS; /* answered going down (pnp.irp_status) */
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->Lower, irp);
}

static NTSTATUS AddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    NTSTATUS st = IoCreateDevice(drv, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    EXT *x = fdo->DeviceExtension;
    x->Lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    g.fdo = fdo;
    g.reg = IoRegisterDeviceInterface(pdo, &GUID_TEST_IFACE, NULL, &x->Iface);
    narrow(g.name, sizeof(g.name), &x->Iface);
    UNICODE_STRING again, ref, bad, byfdo;
    g.reg_again = IoRegisterDeviceInterface(pdo, &GUID_TEST_IFACE, NULL, &again);
    narrow(g.name_again, sizeof(g.name_again), &again);
    RtlFreeUnicodeString(&again);
    static WCHAR refw[] = u"second";
    static WCHAR badw[] = u"a\\b";
    UNICODE_STRING r;
    RtlInitUnicodeString(&r, refw);
    g.reg_ref = IoRegisterDeviceInterface(pdo, &GUID_TEST_IFACE, &r, &ref);
    narrow(g.name_ref, sizeof(g.name_ref), &ref);
    RtlFreeUnicodeString(&ref);
    RtlInitUnicodeString(&r, badw);
    g.reg_bad_ref = IoRegisterDeviceInterface(pdo, &GUID_TEST_IFACE, &r, &bad);
    g.reg_fdo = IoRegisterDeviceInterface(fdo, &GUID_TEST_IFACE, NULL, &byfdo);
    g.reg_null = IoRegisterDeviceInterface(pdo, NULL, NULL, &byfdo);
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static UNICODE_STRING kept; /* the driver's name, read after the device is gone */

static void Unload(PDRIVER_OBJECT drv)
{
    (void)drv;
}

static NTSTATUS CreateClose(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = AddDevice;
    drv->MajorFunction[IRP_MJ_CREATE] = CreateClose;
    drv->MajorFunction[IRP_MJ_CLEANUP] = CreateClose;
    drv->MajorFunction[IRP_MJ_CLOSE] = CreateClose;
    drv->MajorFunction[IRP_MJ_PNP] = Pnp;
    drv->DriverUnload = Unload;
    return STATUS_SUCCESS;
}

static void run(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    (void)kdpc_driver_load(g.m, "tif", Entry, &drv);
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "if0";
    d.driver = "tif";
    (void)kdpc_device_plug(g.m, &d, &g.dev);
    EXT *x = g.fdo->DeviceExtension;
    kept = x->Iface; /* the buffer is the driver's: it survives the device */
    PFILE_OBJECT file = NULL;
    g.open = kdpc_file_open(g.m, g.name, GENERIC_READ, &file); /* the link leads to the stack */
    if (NT_SUCCESS(g.open))
        (void)kdpc_file_close(file);
    (void)kdpc_device_unplug(g.dev, KDPC_UNPLUG_ORDERLY);
    g.dis_after_remove = IoSetDeviceInterfaceState(&kept, TRUE);
    PFILE_OBJECT file2 = NULL;
    g.open_disabled = kdpc_file_open(g.m, g.name, GENERIC_READ, &file2);
    RtlFreeUnicodeString(&kept);
    (void)kdpc_pool_outstanding(g.m, 0x496f4966u, &g.outstanding_after, NULL);
}

static void test_register_enable_disable_and_removal(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    g.m = kt_machine(1, 17);
    /* the FDO given on purpose (reg_fdo): Verifier's 0xC9/0x24D, off to see the status */
    assert_int_equal(kdpc_rule_set(g.m, "pnp.not_pdo", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_machine_run(g.m, run, NULL), KDPC_OK);
    assert_int_equal(g.reg, STATUS_SUCCESS);
    assert_string_equal(g.name, "\\??\\ROOT#if0#0000#{12345678-9abc-def0-0123-456789abcdef}");
    assert_int_equal(g.reg_again, STATUS_SUCCESS);
    assert_string_equal(g.name_again, g.name);
    assert_int_equal(g.reg_ref, STATUS_SUCCESS);
    assert_string_equal(g.name_ref,
                        "\\??\\ROOT#if0#0000#{12345678-9abc-def0-0123-456789abcdef}\\second");
    assert_int_equal(g.reg_bad_ref, STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(g.reg_fdo, STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(g.reg_null, STATUS_INVALID_PARAMETER);
    assert_int_equal(g.en, STATUS_SUCCESS);
    assert_int_equal(g.en_again, STATUS_OBJECT_NAME_EXISTS);
    assert_int_equal(g.dis, STATUS_SUCCESS);
    assert_int_equal(g.dis_again, STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(g.dis_after_remove, STATUS_OBJECT_NAME_NOT_FOUND); /* forgotten with the PDO */
    assert_int_equal(g.outstanding_after, 0);
    assert_int_equal(g.open, STATUS_SUCCESS);
    assert_int_equal(g.open_disabled, STATUS_OBJECT_NAME_NOT_FOUND);
    assert_null(kdpc_machine_bugcheck(g.m));
    kdpc_machine_destroy(g.m);
}

/* IoSetDeviceInterfaceState at DISPATCH_LEVEL, io.passive_irql a warning: one report, of the
 * routine the driver called (IrqlIoPassive1, 0x2000A), and the interface is enabled as a free
 * kernel would; the symbolic link the kernel makes for it is not reported again as the driver's
 * IoCreateSymbolicLink (0x2000D), nor made to fail. */
static void test_enable_at_dispatch_level_is_reported_once(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    g.raise = true;
    g.m = kt_machine(1, 17);
    assert_int_equal(kdpc_rule_set(g.m, "pnp.not_pdo", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_rule_set(g.m, "io.passive_irql", KDPC_RULE_WARN), KDPC_OK);
    /* the name the driver hands in is paged pool, read at DISPATCH_LEVEL: not this test's */
    assert_int_equal(kdpc_rule_set(g.m, "mem.paged_touch", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_machine_run(g.m, run, NULL), KDPC_OK);
    size_t reports = 0;
    for (size_t i = 0; i < kdpc_machine_violation_count(g.m); i++) {
        const kdpc_violation *v = kdpc_machine_violation(g.m, i);
        if (strcmp(v->rule, "io.passive_irql") != 0)
            continue;
        reports++;
        assert_int_equal(v->params[0], 0x0002000A);
        assert_int_equal(v->params[1], DISPATCH_LEVEL);
    }
    assert_int_equal(reports, 1);
    assert_int_equal(g.en, STATUS_SUCCESS);
    assert_int_equal(g.open, STATUS_SUCCESS); /* the link exists */
    assert_null(kdpc_machine_bugcheck(g.m));
    kdpc_machine_destroy(g.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_enable_disable_and_removal),
        cmocka_unit_test(test_enable_at_dispatch_level_is_reported_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
