/* SPDX-License-Identifier: MIT */
/*
 * test_pnp_rules.c - pnp.must_not_fail (docs/rules.md, G13; docs/facts/pnp.md
 * 2.1): a driver that fails IRP_MN_REMOVE_DEVICE, or answers
 * IRP_MN_SURPRISE_REMOVAL with STATUS_NOT_SUPPORTED, stops the run with
 * 0xC4/0x43006 (P2 the minor code, P3 the status, P4 the top device); its
 * fixed twin runs clean.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static PDEVICE_OBJECT lower, fdo;
static UCHAR broken_minor; /* the minor the broken driver fails (0xFF: none) */
static int reached_after;

static NTSTATUS Pnp(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    UCHAR minor = s->MinorFunction;
    if (minor == broken_minor) {
        NTSTATUS st = minor == IRP_MN_REMOVE_DEVICE ? STATUS_DEVICE_BUSY : STATUS_NOT_SUPPORTED;
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    if (minor == IRP_MN_REMOVE_DEVICE || minor == IRP_MN_SURPRISE_REMOVAL ||
        minor == IRP_MN_QUERY_REMOVE_DEVICE) /* answered going down (pnp.irp_status) */
        irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(irp);
    NTSTATUS st = IoCallDriver(lower, irp);
    if (minor == IRP_MN_REMOVE_DEVICE) {
        IoDetachDevice(lower);
        IoDeleteDevice(dev);
    }
    return st;
}

static NTSTATUS AddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    NTSTATUS st = IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = AddDevice;
    drv->MajorFunction[IRP_MJ_PNP] = Pnp;
    return STATUS_SUCCESS;
}

static kdpc_unplug_how how;

static void run(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    PDRIVER_OBJECT drv;
    (void)kdpc_driver_load(m, "tpr", Entry, &drv);
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "tpr0";
    d.driver = "tpr";
    kdpc_device *dev = NULL;
    (void)kdpc_device_plug(m, &d, &dev);
    (void)kdpc_device_unplug(dev, how);
    reached_after = 1;
}

static void expect(UCHAR minor, kdpc_unplug_how h, NTSTATUS st)
{
    how = h;
    broken_minor = minor;
    reached_after = 0;
    kdpc_machine *m = kt_machine(1, 23);
    /* STATUS_NOT_SUPPORTED without passing the IRP down is pnp.not_passed_down (0x22F) first */
    assert_int_equal(kdpc_rule_set(m, "pnp.not_passed_down", KDPC_RULE_OFF), KDPC_OK);
    kdpc_status rs = kdpc_machine_run(m, run, NULL);
    KT_ASSERT_BUGCHECK(m, rs, "pnp.must_not_fail", 0xC4);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], 0x43006);
    assert_int_equal(v->params[1], minor);
    assert_int_equal(v->params[2], (uint32_t)st);
    assert_int_equal(v->params[3], (uint64_t)(uintptr_t)fdo);
    assert_string_equal(v->routine, "Pnp");
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
    /* the fixed twin */
    broken_minor = 0xFF;
    m = kt_machine(1, 23);
    assert_int_equal(kdpc_machine_run(m, run, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    KT_ASSERT_NO_VIOLATION(m, "pnp.must_not_fail");
    kdpc_machine_destroy(m);
}

static void test_failed_remove(void **state)
{
    (void)state;
    expect(IRP_MN_REMOVE_DEVICE, KDPC_UNPLUG_ORDERLY, STATUS_DEVICE_BUSY);
}

static void test_surprise_removal_not_supported(void **state)
{
    (void)state;
    expect(IRP_MN_SURPRISE_REMOVAL, KDPC_UNPLUG_SURPRISE, STATUS_NOT_SUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_remove),
        cmocka_unit_test(test_surprise_removal_not_supported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
