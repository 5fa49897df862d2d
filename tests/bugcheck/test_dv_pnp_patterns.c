/* SPDX-License-Identifier: MIT */
/*
 * test_dv_pnp_patterns.c - the standard WDM PnP patterns run clean with every
 * rule of the pnp area at its default (docs/rules.md, area pnp): a function
 * driver that forwards IRP_MN_START_DEVICE and IRP_MN_QUERY_STOP_DEVICE with
 * a completion routine and waits for the bus driver, passes the rest down
 * with IoSkipCurrentIrpStackLocation, and on IRP_MN_REMOVE_DEVICE waits on
 * its remove lock (IoReleaseRemoveLockAndWait), passes the IRP down, then
 * IoDetachDevice and IoDeleteDevice; an upper filter attached above it with
 * IoAttachDeviceToDeviceStack that copies Flags, DeviceType and
 * Characteristics and passes every PnP IRP down untouched. Run through a
 * rebalance, an orderly and a surprise removal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef struct fdo_ext {
    PDEVICE_OBJECT lower;
    IO_REMOVE_LOCK lock;
} fdo_ext;

typedef enum mode {
    CLEAN,
    FDO_UNANSWERED, /* the FDO passes IRP_MN_QUERY_REMOVE_DEVICE down untouched: 0xC9/0x217 */
    DELETED_TWICE   /* the FDO deletes itself twice, the filter still attached: 0xC9/0x240 */
} mode;

static mode g_mode;
static PDEVICE_OBJECT g_fdo, g_filter, g_filter_lower, g_pdo;
static int g_removed; /* devices that saw IRP_MN_REMOVE_DEVICE */

/* ---- the function driver ---- */

static NTSTATUS Signal(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev;
    if (irp->PendingReturned)
        KeSetEvent((PKEVENT)ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED; /* the dispatch routine finishes the IRP */
}

/* Passed down with a completion routine, waited for, and handed back to the caller to complete. */
static NTSTATUS ForwardAndWait(fdo_ext *x, PIRP irp)
{
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(irp);
    IoSetCompletionRoutine(irp, Signal, &ev, TRUE, TRUE, TRUE);
    NTSTATUS st = IoCallDriver(x->lower, irp);
    if (st == STATUS_PENDING) {
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
        st = irp->IoStatus.Status;
    }
    return st;
}

static NTSTATUS FdoPnp(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    NTSTATUS st = IoAcquireRemoveLock(&x->lock, irp);
    if (!NT_SUCCESS(st)) {
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    switch (minor) {
    case IRP_MN_START_DEVICE:      /* the bus driver starts first */
    case IRP_MN_QUERY_STOP_DEVICE: /* answered on the way up: Verifier's "possibly processed" */
        st = ForwardAndWait(x, irp);
        if (NT_SUCCESS(st))
            st = STATUS_SUCCESS; /* the hardware would start (or agree to stop) here */
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&x->lock, irp);
        return st;
    case IRP_MN_QUERY_REMOVE_DEVICE:
        if (g_mode != FDO_UNANSWERED)
            irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL: /* the device object stays until the remove */
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_REMOVE_DEVICE:
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoReleaseRemoveLockAndWait(&x->lock, irp); /* every request holding it is done */
        IoSkipCurrentIrpStackLocation(irp);
        st = IoCallDriver(x->lower, irp);
        IoDetachDevice(x->lower);
        IoDeleteDevice(dev); /* kept until the filter above detaches */
        if (g_mode == DELETED_TWICE)
            IoDeleteDevice(dev);
        g_removed++;
        return st;
    default: /* not ours: down untouched */
        break;
    }
    IoSkipCurrentIrpStackLocation(irp);
    st = IoCallDriver(x->lower, irp);
    IoReleaseRemoveLock(&x->lock, irp);
    return st;
}

static NTSTATUS FdoPower(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    PoStartNextPowerIrp(irp);
    IoSkipCurrentIrpStackLocation(irp);
    return PoCallDriver(x->lower, irp);
}

static NTSTATUS FdoPassDown(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->lower, irp);
}

static NTSTATUS FdoAdd(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    NTSTATUS st = IoCreateDevice(drv, sizeof(fdo_ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    fdo_ext *x = fdo->DeviceExtension;
    IoInitializeRemoveLock(&x->lock, 'tPvD', 0, 0);
    x->lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    if (x->lower == NULL) {
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    fdo->Flags |= x->lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO | DO_POWER_PAGABLE);
    if ((fdo->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO)) == 0)
        fdo->Flags |= DO_BUFFERED_IO;
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    g_fdo = fdo;
    g_pdo = pdo;
    return STATUS_SUCCESS;
}

static NTSTATUS FdoEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = FdoAdd;
    drv->MajorFunction[IRP_MJ_PNP] = FdoPnp;
    drv->MajorFunction[IRP_MJ_POWER] = FdoPower;
    drv->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = FdoPassDown;
    return STATUS_SUCCESS;
}

/* ---- the upper filter: attached above the FDO, passes everything down untouched ---- */

static NTSTATUS FilterPnp(PDEVICE_OBJECT dev, PIRP irp)
{
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    PDEVICE_OBJECT lower = g_filter_lower;
    IoSkipCurrentIrpStackLocation(irp); /* no status set: the filter handles none of them */
    NTSTATUS st = IoCallDriver(lower, irp);
    if (minor == IRP_MN_REMOVE_DEVICE) {
        IoDetachDevice(lower);
        IoDeleteDevice(dev);
        g_filter = NULL;
        g_removed++;
    }
    return st;
}

static NTSTATUS FilterPower(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    PoStartNextPowerIrp(irp);
    IoSkipCurrentIrpStackLocation(irp);
    return PoCallDriver(g_filter_lower, irp);
}

static NTSTATUS FilterPassDown(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(g_filter_lower, irp);
}

static NTSTATUS FilterEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        drv->MajorFunction[i] = FilterPassDown;
    drv->MajorFunction[IRP_MJ_PNP] = FilterPnp;
    drv->MajorFunction[IRP_MJ_POWER] = FilterPower;
    PDEVICE_OBJECT flt;
    NTSTATUS st = IoCreateDevice(drv, 0, NULL, g_fdo->DeviceType, 0, FALSE, &flt);
    if (!NT_SUCCESS(st))
        return st;
    g_filter_lower = IoAttachDeviceToDeviceStack(flt, g_fdo);
    if (g_filter_lower == NULL) {
        IoDeleteDevice(flt);
        return STATUS_NO_SUCH_DEVICE;
    }
    flt->Flags |= g_filter_lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO | DO_POWER_PAGABLE);
    flt->DeviceType = g_filter_lower->DeviceType;
    flt->Characteristics = g_filter_lower->Characteristics;
    flt->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    g_filter = flt;
    return STATUS_SUCCESS;
}

static void run(void *ctx)
{
    kdpc_unplug_how how = *(const kdpc_unplug_how *)ctx;
    kdpc_machine *m = kdpc_current_machine();
    PDRIVER_OBJECT fdrv, ldrv;
    if (!NT_SUCCESS(kdpc_driver_load(m, "dvpnpfdo", FdoEntry, &fdrv)))
        return;
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "dvpnppat0";
    d.driver = "dvpnpfdo";
    kdpc_device *dev = NULL;
    if (kdpc_device_plug(m, &d, &dev) != KDPC_OK || g_fdo == NULL)
        return;
    if (!NT_SUCCESS(kdpc_driver_load(m, "dvpnpflt", FilterEntry, &ldrv)))
        return;
    assert_int_equal(kdpc_device_rebalance(dev), KDPC_OK); /* QUERY_STOP, STOP, START */
    assert_int_equal(kdpc_device_unplug(dev, how), KDPC_OK);
}

static void reset(mode md)
{
    g_mode = md;
    g_fdo = g_filter = g_filter_lower = g_pdo = NULL;
    g_removed = 0;
}

static void run_clean(kdpc_unplug_how how)
{
    reset(CLEAN);
    kdpc_machine *m = kt_machine(1, 37);
    kdpc_status rs = kdpc_machine_run(m, run, &how);
    const kdpc_violation *b = kdpc_machine_bugcheck(m);
    if (b != NULL)
        print_message("%s %#x/%#llx: %s\n", b->rule, (unsigned)b->code,
                      (unsigned long long)b->params[0], b->message);
    assert_int_equal(rs, KDPC_OK);
    assert_null(b);
    static const char *const ids[] = {"pnp.irp_init",
                                      "pnp.system_irp",
                                      "pnp.irp_status",
                                      "pnp.not_passed_down",
                                      "pnp.surprise_remove_delete",
                                      "pnp.delete_before_lower",
                                      "pnp.remove_not_deleted",
                                      "pnp.adddevice_initializing",
                                      "dev.attach_flags",
                                      "pnp.no_dispatch",
                                      "pnp.must_not_fail"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        KT_ASSERT_NO_VIOLATION(m, ids[i]);
    assert_int_equal(g_removed, 2); /* the filter and the FDO went with the remove */
    assert_null(g_filter);
    kdpc_machine_destroy(m);
}

static void test_orderly_removal_runs_clean(void **state)
{
    (void)state;
    run_clean(KDPC_UNPLUG_ORDERLY);
}

static void test_surprise_removal_runs_clean(void **state)
{
    (void)state;
    run_clean(KDPC_UNPLUG_SURPRISE);
}

static const kdpc_violation *broken(mode md, const char *rule, uint32_t code, uint64_t p1)
{
    reset(md);
    kdpc_unplug_how how = KDPC_UNPLUG_ORDERLY;
    kdpc_machine *m = kt_machine(1, 37);
    kdpc_status st = kdpc_machine_run(m, run, &how);
    KT_ASSERT_BUGCHECK(m, st, rule, code);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], p1);
    static kdpc_violation copy;
    copy = *v;
    kdpc_machine_destroy(m);
    return &copy;
}

/* The filter above does not hide the function driver's own mistake. */
static void test_fdo_unanswered_under_filter(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(FDO_UNANSWERED, "pnp.irp_status", 0xC9, 0x217);
    assert_true(v->params[1] != 0);
    assert_int_equal(v->params[3], (uintptr_t)g_pdo); /* sent to */
}

/* A device object kept for the filter above it is deleted once: again is 0x240. */
static void test_delete_pending_deleted_again(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(DELETED_TWICE, "io.invalid_object", 0xC9, 0x240);
    assert_true(v->params[1] != 0);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orderly_removal_runs_clean),
        cmocka_unit_test(test_surprise_removal_runs_clean),
        cmocka_unit_test(test_fdo_unanswered_under_filter),
        cmocka_unit_test(test_delete_pending_deleted_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
