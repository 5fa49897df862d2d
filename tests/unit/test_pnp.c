/* SPDX-License-Identifier: MIT */
/*
 * test_pnp.c - the PnP manager (kdpc/wdm/pnp.h, kdpc/device.h, docs/facts/pnp.md):
 * a device plugged for a loaded driver gets a PDO, AddDevice and
 * IRP_MN_START_DEVICE with the raw and translated resource lists of its
 * description; plugged before its driver is loaded it starts at
 * kdpc_driver_load; orderly removal (QUERY_REMOVE, REMOVE; a refused query
 * gets CANCEL_REMOVE), surprise removal (hardware gone, SURPRISE_REMOVAL,
 * REMOVE), rebalance (QUERY_STOP, STOP, START), a failed start followed by
 * REMOVE, a surprise removal that waits for the last open file, an unplug
 * from a device event, resets and destroys with started stacks,
 * IoForwardIrpSynchronously, bad input of the native calls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef struct FDO_EXT {
    PDEVICE_OBJECT Lower;
    PDEVICE_OBJECT Pdo;
    IO_REMOVE_LOCK RemoveLock;
} FDO_EXT, *PFDO_EXT;

#define LOG_MAX 32
static struct {
    kdpc_machine *m;
    UCHAR minors[LOG_MAX]; /* PnP minor codes in the order the FDO saw them */
    KIRQL irqls[LOG_MAX];
    unsigned n;
    PDEVICE_OBJECT pdo_seen, fdo;
    unsigned adds;
    BOOLEAN refuse_query_remove, refuse_query_stop, fail_start;
    BOOLEAN start_lower_ok; /* the PDO completed START with success before the FDO did */
    CM_PARTIAL_RESOURCE_DESCRIPTOR raw[8], tr[8];
    ULONG nraw, ntr;
    INTERFACE_TYPE itype;
    BOOLEAN raw_null, tr_null;
    ULONG reg_reads_after_surprise;
    kdpc_status st_plug, st_unplug, st_rebalance;
    kdpc_device_state state_after;
    NTSTATUS load;
    unsigned unloads, n_at_unload; /* DriverUnload calls; PnP IRPs seen before the first */
    BOOLEAN unload_in_start;       /* START calls kdpc_driver_unload on its own driver */
    NTSTATUS unload_in_start_st;
} g;

static uint64_t reg_read(const kdpc_reg_access *a)
{
    (void)a;
    return 0x1234;
}
static void reg_write(const kdpc_reg_access *a)
{
    (void)a;
}

static void copy_list(PCM_RESOURCE_LIST l, CM_PARTIAL_RESOURCE_DESCRIPTOR *out, ULONG *n,
                      BOOLEAN *null)
{
    *null = l == NULL;
    if (l == NULL)
        return;
    g.itype = l->List[0].InterfaceType;
    ULONG c = l->List[0].PartialResourceList.Count;
    *n = c;
    for (ULONG i = 0; i < c && i < 8; i++)
        out[i] = l->List[0].PartialResourceList.PartialDescriptors[i];
}

static NTSTATUS FdoPnp(PDEVICE_OBJECT dev, PIRP irp)
{
    PFDO_EXT x = dev->DeviceExtension;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    if (g.n < LOG_MAX) {
        g.irqls[g.n] = KeGetCurrentIrql();
        g.minors[g.n++] = s->MinorFunction;
    }
    NTSTATUS st = IoAcquireRemoveLock(&x->RemoveLock, irp);
    if (!NT_SUCCESS(st)) {
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    switch (s->MinorFunction) {
    case IRP_MN_START_DEVICE:
        copy_list(s->Parameters.StartDevice.AllocatedResources, g.raw, &g.nraw, &g.raw_null);
        copy_list(s->Parameters.StartDevice.AllocatedResourcesTranslated, g.tr, &g.ntr, &g.tr_null);
        if (IoForwardIrpSynchronously(x->Lower, irp))
            g.start_lower_ok = NT_SUCCESS(irp->IoStatus.Status);
        st = g.fail_start ? STATUS_DEVICE_NOT_READY : irp->IoStatus.Status;
        if (g.unload_in_start)
            g.unload_in_start_st = kdpc_driver_unload(dev->DriverObject);
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&x->RemoveLock, irp);
        return st;
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_QUERY_STOP_DEVICE: {
        BOOLEAN refuse = s->MinorFunction == IRP_MN_QUERY_REMOVE_DEVICE ? g.refuse_query_remove
                                                                        : g.refuse_query_stop;
        if (refuse) {
            irp->IoStatus.Status = STATUS_DEVICE_BUSY;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
            IoReleaseRemoveLock(&x->RemoveLock, irp);
            return STATUS_DEVICE_BUSY;
        }
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    }
    case IRP_MN_SURPRISE_REMOVAL:
        g.reg_reads_after_surprise = 0; /* the hardware is gone already */
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_REMOVE_DEVICE: {
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        st = IoCallDriver(x->Lower, irp);
        IoReleaseRemoveLockAndWait(&x->RemoveLock, irp);
        IoDetachDevice(x->Lower);
        IoDeleteDevice(dev);
        g.fdo = NULL;
        return st;
    }
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    default:
        break;
    }
    IoSkipCurrentIrpStackLocation(irp);
    st = IoCallDriver(x->Lower, irp);
    IoReleaseRemoveLock(&x->RemoveLock, irp);
    return st;
}

static NTSTATUS AddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo = NULL;
    g.adds++;
    g.pdo_seen = pdo;
    NTSTATUS st = IoCreateDevice(drv, sizeof(FDO_EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    PFDO_EXT x = fdo->DeviceExtension;
    x->Pdo = pdo;
    IoInitializeRemoveLock(&x->RemoveLock, 'tpnp', 0, 0);
    x->Lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    if (x->Lower == NULL) {
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    g.fdo = fdo;
    return STATUS_SUCCESS;
}

static NTSTATUS FdoCreateClose(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void DriverUnload(PDRIVER_OBJECT drv)
{
    (void)drv;
    if (g.unloads++ == 0)
        g.n_at_unload = g.n;
}

static NTSTATUS DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverUnload = DriverUnload;
    drv->DriverExtension->AddDevice = AddDevice;
    drv->MajorFunction[IRP_MJ_PNP] = FdoPnp;
    drv->MajorFunction[IRP_MJ_CREATE] = FdoCreateClose;
    drv->MajorFunction[IRP_MJ_CLEANUP] = FdoCreateClose;
    drv->MajorFunction[IRP_MJ_CLOSE] = FdoCreateClose;
    return STATUS_SUCCESS;
}

static kdpc_device_desc full_desc(void)
{
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "tdev0";
    d.driver = "tpnp";
    d.nports = 1;
    d.ports[0] = (kdpc_range_desc){0x3F8, 8, reg_read, reg_write};
    d.nwindows = 1;
    d.windows[0] = (kdpc_range_desc){0xFE000000ull, 0x1000, reg_read, reg_write};
    d.nlines = 2;
    d.lines[0].line = 3;
    d.lines[0].level = true;
    d.lines[0].irql = 7;
    d.lines[1].line = 5;
    d.lines[1].level = false;
    d.lines[1].irql = 6;
    d.lines[1].affinity = 2;
    d.lines[1].shared = true;
    d.dma = true;
    d.dma_channel = 2;
    return d;
}

static kdpc_device *dev0;

static kdpc_machine *machine(void)
{
    memset(&g, 0, sizeof(g));
    dev0 = NULL;
    g.m = kt_machine(2, 9);
    return g.m;
}

/* ---- start ---- */

static PDRIVER_OBJECT drv0;

static void load_then_plug(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    g.load = kdpc_driver_load(g.m, "tpnp", DriverEntry, &drv);
    drv0 = drv;
    kdpc_device_desc d = full_desc();
    g.st_plug = kdpc_device_plug(g.m, &d, &dev0);
    g.state_after = kdpc_device_get_state(dev0);
}

static void test_plug_after_load_adds_and_starts_with_resources(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, load_then_plug, NULL), KDPC_OK);
    assert_int_equal(g.load, STATUS_SUCCESS);
    assert_int_equal(g.st_plug, KDPC_OK);
    assert_int_equal(g.state_after, KDPC_DEVICE_STARTED);
    assert_int_equal(g.adds, 1);
    assert_ptr_equal(g.pdo_seen, kdpc_device_pdo(dev0));
    assert_non_null(g.fdo);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.minors[0], IRP_MN_START_DEVICE);
    assert_int_equal(g.irqls[0], PASSIVE_LEVEL);
    assert_true(g.start_lower_ok);
    assert_false(g.raw_null);
    assert_false(g.tr_null);
    assert_int_equal(g.itype, Internal);
    assert_int_equal(g.nraw, 5);
    assert_int_equal(g.ntr, 5);
    /* ports, memory, interrupts, DMA */
    assert_int_equal(g.tr[0].Type, CmResourceTypePort);
    assert_int_equal(g.tr[0].Flags, CM_RESOURCE_PORT_IO);
    assert_int_equal(g.tr[0].u.Port.Start.QuadPart, 0x3F8);
    assert_int_equal(g.tr[0].u.Port.Length, 8);
    assert_int_equal(g.tr[1].Type, CmResourceTypeMemory);
    assert_int_equal(g.tr[1].u.Memory.Start.QuadPart, 0xFE000000ll);
    assert_int_equal(g.tr[1].u.Memory.Length, 0x1000);
    assert_int_equal(g.tr[1].ShareDisposition, CmResourceShareDeviceExclusive);
    assert_int_equal(g.tr[2].Type, CmResourceTypeInterrupt);
    assert_int_equal(g.tr[2].Flags, CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE);
    assert_int_equal(g.tr[2].u.Interrupt.Level, 7);
    assert_int_equal(g.tr[2].u.Interrupt.Vector, 3);
    assert_int_equal(g.tr[2].u.Interrupt.Affinity, 3); /* every CPU of a 2-CPU machine */
    assert_int_equal(g.raw[2].u.Interrupt.Level, 3);
    assert_int_equal(g.raw[2].u.Interrupt.Vector, 3);
    assert_int_equal(g.tr[3].Flags, CM_RESOURCE_INTERRUPT_LATCHED);
    assert_int_equal(g.tr[3].ShareDisposition, CmResourceShareShared);
    assert_int_equal(g.tr[3].u.Interrupt.Level, 6);
    assert_int_equal(g.tr[3].u.Interrupt.Affinity, 2);
    assert_int_equal(g.tr[4].Type, CmResourceTypeDma);
    assert_int_equal(g.tr[4].u.Dma.Channel, 2);
    assert_int_equal(g.raw[1].u.Memory.Start.QuadPart, 0xFE000000ll);
    kdpc_machine_destroy(m);
}

static void plug_only(void *ctx)
{
    (void)ctx;
    kdpc_device_desc d = full_desc();
    g.st_plug = kdpc_device_plug(g.m, &d, &dev0);
    g.state_after = kdpc_device_get_state(dev0);
}

static void load_only(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    g.load = kdpc_driver_load(g.m, "tpnp", DriverEntry, &drv);
    g.state_after = kdpc_device_get_state(dev0); /* KDPC_DEVICE_REMOVED for NULL */
}

/* A PnP dispatch routine that unloads its own driver: the PnP manager cannot remove the stack
 * it is serving, so the unload is refused and the start goes on. */
static void test_unload_from_a_pnp_dispatch_routine_is_refused(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    g.unload_in_start = TRUE;
    assert_int_equal(kdpc_machine_run(m, load_then_plug, NULL), KDPC_OK);
    assert_int_equal(g.unload_in_start_st, STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(g.unloads, 0);
    assert_int_equal(g.state_after, KDPC_DEVICE_STARTED);
    assert_non_null(kdpc_device_pdo(dev0));
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_plug_before_load_starts_at_driver_load(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, plug_only, NULL), KDPC_OK);
    assert_int_equal(g.st_plug, KDPC_OK);
    assert_int_equal(g.state_after, KDPC_DEVICE_PLUGGED);
    assert_null(kdpc_device_pdo(dev0));
    assert_int_equal(kdpc_machine_run(m, load_only, NULL), KDPC_OK);
    assert_int_equal(g.state_after, KDPC_DEVICE_STARTED);
    assert_int_equal(g.adds, 1);
    assert_int_equal(g.n, 1);
    kdpc_machine_destroy(m);
}

static void test_plug_from_host_starts_during_next_run(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, load_only, NULL), KDPC_OK);
    kdpc_device_desc d = full_desc();
    assert_int_equal(kdpc_device_plug(m, &d, &dev0), KDPC_OK);
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_PLUGGED);
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 1000000), KDPC_OK);
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_STARTED);
    assert_int_equal(g.adds, 1);
    kdpc_machine_destroy(m);
}

/* ---- removal ---- */

static kdpc_unplug_how unplug_how;

static void start_and_unplug(void *ctx)
{
    (void)ctx;
    load_then_plug(NULL);
    g.n = 0;
    g.st_unplug = kdpc_device_unplug(dev0, unplug_how);
    g.state_after = kdpc_device_get_state(dev0);
}

static void test_orderly_unplug_sends_query_remove_then_remove(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    unplug_how = KDPC_UNPLUG_ORDERLY;
    assert_int_equal(kdpc_machine_run(m, start_and_unplug, NULL), KDPC_OK);
    assert_int_equal(g.st_unplug, KDPC_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_QUERY_REMOVE_DEVICE);
    assert_int_equal(g.minors[1], IRP_MN_REMOVE_DEVICE);
    assert_int_equal(g.irqls[1], PASSIVE_LEVEL);
    assert_int_equal(g.state_after, KDPC_DEVICE_REMOVED);
    assert_null(g.fdo);
    assert_null(kdpc_device_pdo(dev0)); /* deleted once nothing is attached */
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);
}

static void test_refused_query_remove_gets_cancel_and_device_stays(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    g.refuse_query_remove = TRUE;
    unplug_how = KDPC_UNPLUG_ORDERLY;
    assert_int_equal(kdpc_machine_run(m, start_and_unplug, NULL), KDPC_OK);
    assert_int_equal(g.st_unplug, KDPC_EBUSY);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_QUERY_REMOVE_DEVICE);
    assert_int_equal(g.minors[1], IRP_MN_CANCEL_REMOVE_DEVICE);
    assert_int_equal(g.state_after, KDPC_DEVICE_STARTED);
    assert_non_null(g.fdo);
    kdpc_machine_destroy(m);
}

static uint64_t read_after;
static void surprise_then_read(void *ctx)
{
    (void)ctx;
    start_and_unplug(NULL);
}

static void test_surprise_unplug_sends_surprise_removal_then_remove(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    unplug_how = KDPC_UNPLUG_SURPRISE;
    assert_int_equal(kdpc_machine_run(m, surprise_then_read, NULL), KDPC_OK);
    (void)read_after;
    assert_int_equal(g.st_unplug, KDPC_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_SURPRISE_REMOVAL);
    assert_int_equal(g.minors[1], IRP_MN_REMOVE_DEVICE);
    assert_int_equal(g.state_after, KDPC_DEVICE_REMOVED);
    assert_null(g.fdo);
    /* unplugging again: already removed */
    assert_int_equal(kdpc_device_unplug(dev0, KDPC_UNPLUG_SURPRISE), KDPC_EINVAL);
    kdpc_machine_destroy(m);
}

/* Surprise removal with a file open: IRP_MN_REMOVE_DEVICE waits for the last close (2.4). */
static unsigned n_before_close;
static kdpc_device_state state_before_close;
static NTSTATUS open_st;

static void surprise_with_open_file(void *ctx)
{
    (void)ctx;
    load_then_plug(NULL);
    g.n = 0;
    char name[64];
    const UNICODE_STRING *pn = &kdpc_device_pdo(dev0)->DeviceName;
    size_t k = 0;
    for (; k < pn->Length / sizeof(WCHAR) && k + 1 < sizeof(name); k++)
        name[k] = (char)pn->Buffer[k];
    name[k] = '\0';
    PFILE_OBJECT file = NULL;
    open_st = kdpc_file_open(g.m, name, GENERIC_READ, &file);
    g.st_unplug = kdpc_device_unplug(dev0, KDPC_UNPLUG_SURPRISE);
    n_before_close = g.n;
    state_before_close = kdpc_device_get_state(dev0);
    (void)kdpc_file_close(file);
}

static void test_surprise_removal_waits_for_the_last_close(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, surprise_with_open_file, NULL), KDPC_OK);
    assert_int_equal(open_st, STATUS_SUCCESS);
    assert_int_equal(g.st_unplug, KDPC_OK);
    assert_int_equal(n_before_close, 1);
    assert_int_equal(state_before_close, KDPC_DEVICE_SURPRISE_REMOVED);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_SURPRISE_REMOVAL);
    assert_int_equal(g.minors[1], IRP_MN_REMOVE_DEVICE);
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_REMOVED);
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);
}

/* An orderly removal with a file open is vetoed before any IRP (2.7). */
static kdpc_status veto_st;

static void orderly_with_open_file(void *ctx)
{
    (void)ctx;
    load_then_plug(NULL);
    g.n = 0;
    char name[64];
    const UNICODE_STRING *pn = &kdpc_device_pdo(dev0)->DeviceName;
    size_t k = 0;
    for (; k < pn->Length / sizeof(WCHAR) && k + 1 < sizeof(name); k++)
        name[k] = (char)pn->Buffer[k];
    name[k] = '\0';
    PFILE_OBJECT file = NULL;
    open_st = kdpc_file_open(g.m, name, GENERIC_READ, &file);
    veto_st = kdpc_device_unplug(dev0, KDPC_UNPLUG_ORDERLY);
    n_before_close = g.n;
    (void)kdpc_file_close(file);
    g.st_unplug = kdpc_device_unplug(dev0, KDPC_UNPLUG_ORDERLY);
}

static void test_orderly_removal_with_open_file_is_vetoed(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, orderly_with_open_file, NULL), KDPC_OK);
    assert_int_equal(open_st, STATUS_SUCCESS);
    assert_int_equal(veto_st, KDPC_EBUSY);
    assert_int_equal(n_before_close, 0); /* no IRP at all */
    assert_int_equal(g.st_unplug, KDPC_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_QUERY_REMOVE_DEVICE);
    assert_int_equal(g.minors[1], IRP_MN_REMOVE_DEVICE);
    kdpc_machine_destroy(m);
}

static void test_failed_start_is_followed_by_remove(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    g.fail_start = TRUE;
    assert_int_equal(kdpc_machine_run(m, load_then_plug, NULL), KDPC_OK);
    assert_int_equal(g.state_after, KDPC_DEVICE_FAILED);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_START_DEVICE);
    assert_int_equal(g.minors[1], IRP_MN_REMOVE_DEVICE);
    assert_null(g.fdo);
    kdpc_machine_destroy(m);
}

static void start_and_rebalance(void *ctx)
{
    (void)ctx;
    load_then_plug(NULL);
    g.n = 0;
    g.st_rebalance = kdpc_device_rebalance(dev0);
    g.state_after = kdpc_device_get_state(dev0);
}

static void test_rebalance_sends_query_stop_stop_start(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, start_and_rebalance, NULL), KDPC_OK);
    assert_int_equal(g.st_rebalance, KDPC_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.minors[0], IRP_MN_QUERY_STOP_DEVICE);
    assert_int_equal(g.minors[1], IRP_MN_STOP_DEVICE);
    assert_int_equal(g.minors[2], IRP_MN_START_DEVICE);
    assert_int_equal(g.state_after, KDPC_DEVICE_STARTED);
    kdpc_machine_destroy(m);
}

static void test_refused_query_stop_gets_cancel_stop(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    g.refuse_query_stop = TRUE;
    assert_int_equal(kdpc_machine_run(m, start_and_rebalance, NULL), KDPC_OK);
    assert_int_equal(g.st_rebalance, KDPC_EBUSY);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_QUERY_STOP_DEVICE);
    assert_int_equal(g.minors[1], IRP_MN_CANCEL_STOP_DEVICE);
    assert_int_equal(g.state_after, KDPC_DEVICE_STARTED);
    kdpc_machine_destroy(m);
}

/* ---- a device without resources, without a driver ---- */

static void plug_bare(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    g.load = kdpc_driver_load(g.m, "tpnp", DriverEntry, &drv);
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "bare";
    d.driver = "tpnp";
    g.st_plug = kdpc_device_plug(g.m, &d, &dev0);
    g.state_after = kdpc_device_get_state(dev0);
}

static void test_device_without_resources_gets_null_lists(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, plug_bare, NULL), KDPC_OK);
    assert_int_equal(g.state_after, KDPC_DEVICE_STARTED);
    assert_true(g.raw_null);
    assert_true(g.tr_null);
    kdpc_machine_destroy(m);
}

static void plug_driverless(void *ctx)
{
    (void)ctx;
    kdpc_device_desc d = full_desc();
    d.driver = NULL;
    g.st_plug = kdpc_device_plug(g.m, &d, &dev0);
    g.state_after = kdpc_device_get_state(dev0);
    g.st_unplug = kdpc_device_unplug(dev0, KDPC_UNPLUG_ORDERLY);
}

static void test_device_without_driver_has_no_pdo_and_unplugs(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, plug_driverless, NULL), KDPC_OK);
    assert_int_equal(g.st_plug, KDPC_OK);
    assert_int_equal(g.state_after, KDPC_DEVICE_PLUGGED);
    assert_int_equal(g.st_unplug, KDPC_OK);
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_REMOVED);
    assert_null(kdpc_device_pdo(dev0));
    kdpc_machine_destroy(m);
}

/* ---- from device code, across a reset ---- */

static void pull_event(kdpc_device *dev, void *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    g.st_unplug = kdpc_device_unplug(dev, KDPC_UNPLUG_SURPRISE); /* queued: device code */
    g.state_after = kdpc_device_get_state(dev);
}

static void start_then_schedule_pull(void *ctx)
{
    (void)ctx;
    load_then_plug(NULL);
    g.n = 0;
    (void)kdpc_device_schedule(dev0, 50000, pull_event, NULL, 0, NULL);
}

static void test_unplug_from_a_device_event_happens_later_in_the_run(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, start_then_schedule_pull, NULL), KDPC_OK);
    assert_int_equal(g.st_unplug, KDPC_OK);
    assert_int_equal(g.state_after, KDPC_DEVICE_STARTED); /* not yet when the call returned */
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_REMOVED);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_SURPRISE_REMOVAL);
    assert_int_equal(g.minors[1], IRP_MN_REMOVE_DEVICE);
    kdpc_machine_destroy(m);
}

static void test_started_devices_survive_reset_and_destroy(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    for (int i = 0; i < 3; i++) {
        g.adds = 0;
        g.n = 0;
        assert_int_equal(kdpc_machine_run(m, load_then_plug, NULL), KDPC_OK);
        assert_int_equal(g.state_after, KDPC_DEVICE_STARTED);
        assert_int_equal(g.adds, 1);
        assert_int_equal(kdpc_machine_reset(m, 9), KDPC_OK);
    }
    assert_int_equal(kdpc_machine_run(m, load_then_plug, NULL), KDPC_OK);
    size_t count = 1;
    assert_int_equal(kdpc_pool_outstanding(m, 0, &count, NULL), KDPC_OK);
    kdpc_machine_destroy(m); /* a started stack at destroy: freed, nothing reported */
}

static void test_unplug_from_host_happens_during_next_run(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, load_then_plug, NULL), KDPC_OK);
    g.n = 0;
    assert_int_equal(kdpc_device_unplug(dev0, KDPC_UNPLUG_ORDERLY), KDPC_OK); /* queued */
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_STARTED);
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 1000000), KDPC_OK);
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_REMOVED);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_QUERY_REMOVE_DEVICE);
    assert_int_equal(g.minors[1], IRP_MN_REMOVE_DEVICE);
    kdpc_machine_destroy(m);
}

/* From a host thread between runs the open-file veto is decided at once: KDPC_EBUSY, nothing
 * queued (fact 2.7; kdpc_device_unplug in kdpc/device.h) */
static PFILE_OBJECT kept_file;

static void start_and_open(void *ctx)
{
    (void)ctx;
    load_then_plug(NULL);
    char name[64];
    const UNICODE_STRING *pn = &kdpc_device_pdo(dev0)->DeviceName;
    size_t k = 0;
    for (; k < pn->Length / sizeof(WCHAR) && k + 1 < sizeof(name); k++)
        name[k] = (char)pn->Buffer[k];
    name[k] = '\0';
    kept_file = NULL;
    open_st = kdpc_file_open(g.m, name, GENERIC_READ, &kept_file);
}

static void close_kept(void *ctx)
{
    (void)ctx;
    (void)kdpc_file_close(kept_file);
}

static void test_orderly_unplug_from_host_with_open_file_is_ebusy_at_once(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, start_and_open, NULL), KDPC_OK);
    assert_int_equal(open_st, STATUS_SUCCESS);
    g.n = 0;
    assert_int_equal(kdpc_device_unplug(dev0, KDPC_UNPLUG_ORDERLY), KDPC_EBUSY);
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 1000000), KDPC_OK);
    assert_int_equal(g.n, 0); /* nothing was queued: no IRP */
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_STARTED);
    assert_int_equal(kdpc_machine_run(m, close_kept, NULL), KDPC_OK);
    assert_int_equal(kdpc_device_unplug(dev0, KDPC_UNPLUG_ORDERLY), KDPC_OK);
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 1000000), KDPC_OK);
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_REMOVED);
    kdpc_machine_destroy(m);
}

/* A QUERY_REMOVE veto only happens in the next run: the host call returned KDPC_OK, and the
 * device stays STARTED (kdpc_device_unplug in kdpc/device.h) */
static void test_refused_query_remove_from_host_leaves_device_started(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, load_then_plug, NULL), KDPC_OK);
    g.refuse_query_remove = TRUE;
    g.n = 0;
    assert_int_equal(kdpc_device_unplug(dev0, KDPC_UNPLUG_ORDERLY), KDPC_OK); /* queued */
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 1000000), KDPC_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minors[0], IRP_MN_QUERY_REMOVE_DEVICE);
    assert_int_equal(g.minors[1], IRP_MN_CANCEL_REMOVE_DEVICE);
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_STARTED);
    assert_non_null(g.fdo);
    kdpc_machine_destroy(m);
}

/* kdpc_driver_unload of a PnP driver with a started device: IRP_MN_REMOVE_DEVICE first (the
 * driver's FDO deletes itself), then DriverUnload; the hardware stays, without a driver, and a
 * new load starts it again (fact 2.8) */
static NTSTATUS unload_st, reload_st;
static kdpc_device_state state_after_unload;
static PDEVICE_OBJECT pdo_after_unload;

static void start_unload_reload(void *ctx)
{
    (void)ctx;
    load_then_plug(NULL);
    g.n = 0;
    unload_st = kdpc_driver_unload(drv0);
    state_after_unload = kdpc_device_get_state(dev0);
    pdo_after_unload = kdpc_device_pdo(dev0);
    PDRIVER_OBJECT drv = NULL;
    reload_st = kdpc_driver_load(g.m, "tpnp", DriverEntry, &drv);
    g.state_after = kdpc_device_get_state(dev0);
}

static void test_driver_unload_removes_its_stacks_first(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, start_unload_reload, NULL), KDPC_OK);
    assert_int_equal(unload_st, STATUS_SUCCESS);
    assert_int_equal(g.unloads, 1);
    assert_int_equal(g.n_at_unload, 1); /* REMOVE before DriverUnload */
    assert_int_equal(g.minors[0], IRP_MN_REMOVE_DEVICE);
    assert_int_equal(g.irqls[0], PASSIVE_LEVEL);
    assert_int_equal(state_after_unload, KDPC_DEVICE_PLUGGED);
    assert_null(pdo_after_unload);
    assert_int_equal(reload_st, STATUS_SUCCESS);
    assert_int_equal(g.adds, 2);
    assert_int_equal(g.state_after, KDPC_DEVICE_STARTED);
    assert_int_equal(g.minors[1], IRP_MN_START_DEVICE);
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);
}

/* ... and with a file still open on the stack it refuses: nothing sent, nothing unloaded */
static void unload_with_open_file(void *ctx)
{
    (void)ctx;
    start_and_open(NULL);
    g.n = 0;
    unload_st = kdpc_driver_unload(drv0);
    state_after_unload = kdpc_device_get_state(dev0);
    (void)kdpc_file_close(kept_file);
}

static void test_driver_unload_with_open_file_is_refused(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, unload_with_open_file, NULL), KDPC_OK);
    assert_int_equal(open_st, STATUS_SUCCESS);
    assert_int_equal(unload_st, STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(g.n, 0);
    assert_int_equal(g.unloads, 0);
    assert_int_equal(state_after_unload, KDPC_DEVICE_STARTED);
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);
}

static void plug_at_dispatch(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    g.load = kdpc_driver_load(g.m, "tpnp", DriverEntry, &drv);
    kdpc_device_desc d = full_desc();
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g.st_plug = kdpc_device_plug(g.m, &d, &dev0); /* queued: no wait above PASSIVE_LEVEL */
    g.state_after = kdpc_device_get_state(dev0);
    KeLowerIrql(old);
}

static void test_plug_at_dispatch_level_is_queued(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, plug_at_dispatch, NULL), KDPC_OK);
    assert_int_equal(g.st_plug, KDPC_OK);
    assert_int_equal(g.state_after, KDPC_DEVICE_PLUGGED);
    assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_STARTED);
    assert_int_equal(g.irqls[0], PASSIVE_LEVEL); /* START still at PASSIVE_LEVEL */
    kdpc_machine_destroy(m);
}

/* The same seed gives the same run, PnP manager included. */
static void whole_life(void *ctx)
{
    (void)ctx;
    load_then_plug(NULL);
    (void)kdpc_device_rebalance(dev0);
    (void)kdpc_device_schedule(dev0, 20000, pull_event, NULL, 0, NULL);
}

static void test_same_seed_same_digest(void **state)
{
    (void)state;
    uint64_t digest[2], now[2];
    for (int i = 0; i < 2; i++) {
        memset(&g, 0, sizeof(g));
        dev0 = NULL;
        kdpc_config cfg = kt_config(2, 31);
        cfg.trace_capacity = 4096;
        g.m = kdpc_machine_create(&cfg);
        assert_non_null(g.m);
        assert_int_equal(kdpc_machine_run(g.m, whole_life, NULL), KDPC_OK);
        assert_int_equal(kdpc_device_get_state(dev0), KDPC_DEVICE_REMOVED);
        digest[i] = kdpc_trace_digest(g.m);
        now[i] = kdpc_machine_time_ns(g.m);
        kdpc_machine_destroy(g.m);
    }
    assert_true(digest[0] == digest[1]);
    assert_true(now[0] == now[1]);
}

/* ---- bad input ---- */

static void test_bad_arguments(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_device_desc d = full_desc();
    kdpc_device *out = (kdpc_device *)&d;
    assert_int_equal(kdpc_device_plug(NULL, &d, &out), KDPC_EINVAL);
    assert_null(out);
    assert_int_equal(kdpc_device_plug(m, NULL, &out), KDPC_EINVAL);
    assert_int_equal(kdpc_device_plug(m, &d, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_device_unplug(NULL, KDPC_UNPLUG_ORDERLY), KDPC_EINVAL);
    assert_int_equal(kdpc_device_rebalance(NULL), KDPC_EINVAL);
    assert_null(kdpc_device_pdo(NULL));
    assert_int_equal(kdpc_device_plug(m, &d, &out), KDPC_OK);
    assert_int_equal(kdpc_device_unplug(out, (kdpc_unplug_how)7), KDPC_EINVAL);
    assert_int_equal(kdpc_device_rebalance(out), KDPC_EINVAL); /* not started */
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plug_after_load_adds_and_starts_with_resources),
        cmocka_unit_test(test_unload_from_a_pnp_dispatch_routine_is_refused),
        cmocka_unit_test(test_plug_before_load_starts_at_driver_load),
        cmocka_unit_test(test_plug_from_host_starts_during_next_run),
        cmocka_unit_test(test_orderly_unplug_sends_query_remove_then_remove),
        cmocka_unit_test(test_refused_query_remove_gets_cancel_and_device_stays),
        cmocka_unit_test(test_surprise_unplug_sends_surprise_removal_then_remove),
        cmocka_unit_test(test_surprise_removal_waits_for_the_last_close),
        cmocka_unit_test(test_orderly_removal_with_open_file_is_vetoed),
        cmocka_unit_test(test_failed_start_is_followed_by_remove),
        cmocka_unit_test(test_rebalance_sends_query_stop_stop_start),
        cmocka_unit_test(test_refused_query_stop_gets_cancel_stop),
        cmocka_unit_test(test_device_without_resources_gets_null_lists),
        cmocka_unit_test(test_device_without_driver_has_no_pdo_and_unplugs),
        cmocka_unit_test(test_unplug_from_a_device_event_happens_later_in_the_run),
        cmocka_unit_test(test_started_devices_survive_reset_and_destroy),
        cmocka_unit_test(test_unplug_from_host_happens_during_next_run),
        cmocka_unit_test(test_orderly_unplug_from_host_with_open_file_is_ebusy_at_once),
        cmocka_unit_test(test_refused_query_remove_from_host_leaves_device_started),
        cmocka_unit_test(test_driver_unload_removes_its_stacks_first),
        cmocka_unit_test(test_driver_unload_with_open_file_is_refused),
        cmocka_unit_test(test_plug_at_dispatch_level_is_queued),
        cmocka_unit_test(test_same_seed_same_digest),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
