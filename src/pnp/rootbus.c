/* SPDX-License-Identifier: MIT */
/*
 * rootbus.c - the root bus driver "\Driver\PnpManager": one PDO per
 * virtual device a driver takes, and the PDO's dispatch routines, which
 * complete the PnP and power IRPs that reach the bottom of the stack the
 * way a bus driver does (docs/facts/pnp.md 1.4, 3.3).
 */
#include <stdio.h>

#include <kdpc/driver.h>
#include "pnp/pnp.h"

static NTSTATUS complete(PIRP irp, NTSTATUS st)
{
    irp->IoStatus.Status = st;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return st;
}

/* IRP_MJ_PNP at the PDO: the state-changing IRPs succeed; anything else keeps the status the
 * IRP came with (STATUS_NOT_SUPPORTED, or what an upper driver set), as a bus driver that does
 * not handle a minor code does (fact 1.4). */
static NTSTATUS pdo_pnp(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    switch (s->MinorFunction) {
    case IRP_MN_START_DEVICE:
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
    case IRP_MN_REMOVE_DEVICE:
        return complete(irp, STATUS_SUCCESS);
    default: {
        NTSTATUS st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    }
}

/* IRP_MJ_POWER at the PDO: the bus driver powers the device and completes (fact 3.3). */
static NTSTATUS pdo_power(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    PoStartNextPowerIrp(irp);
    switch (s->MinorFunction) {
    case IRP_MN_SET_POWER:
        if (s->Parameters.Power.Type == DevicePowerState) {
            kdpc__pdoext *x = kdpc__pnp_pdoext(kdpc_driver_machine(dev->DriverObject), dev);
            if (x != NULL)
                x->dstate = s->Parameters.Power.State.DeviceState;
            (void)PoSetPowerState(dev, DevicePowerState, s->Parameters.Power.State);
        }
        return complete(irp, STATUS_SUCCESS);
    case IRP_MN_QUERY_POWER:
        return complete(irp, STATUS_SUCCESS);
    default: {
        NTSTATUS st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    }
}

/* Anything else sent to a PDO directly (no function driver would). */
static NTSTATUS pdo_other(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    irp->IoStatus.Information = 0;
    return complete(irp, STATUS_INVALID_DEVICE_REQUEST);
}

static NTSTATUS root_entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        drv->MajorFunction[i] = pdo_other;
    drv->MajorFunction[IRP_MJ_PNP] = pdo_pnp;
    drv->MajorFunction[IRP_MJ_POWER] = pdo_power;
    return STATUS_SUCCESS;
}

NTSTATUS kdpc__pnp_root_load(kdpc_machine *m, kdpc__pnp *p)
{
    return kdpc_driver_load(m, "PnpManager", root_entry, &p->root);
}

NTSTATUS kdpc__pnp_pdo_create(kdpc_machine *m, kdpc__pnp *p, kdpc__pnpdev *r)
{
    (void)m;
    /* root-enumerated PDOs have generated names: "\Device\" and 8 hex digits (fact 1.3) */
    char name[32];
    WCHAR wname[32];
    int n = snprintf(name, sizeof(name), "\\Device\\%08X", ++p->pdo_seq);
    for (int i = 0; i <= n; i++)
        wname[i] = (WCHAR)(unsigned char)name[i];
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, wname);
    /* no extension: what the bus driver keeps is in r->x, never watched memory */
    PDEVICE_OBJECT pdo = NULL;
    NTSTATUS st = IoCreateDevice(p->root, 0, &us, FILE_DEVICE_UNKNOWN, 0, FALSE, &pdo);
    if (!NT_SUCCESS(st))
        return st;
    r->x.dev = r->dev;
    r->x.dstate = PowerDeviceD0;
    pdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    r->pdo = pdo;
    return STATUS_SUCCESS;
}

kdpc__pdoext *kdpc__pnp_pdoext(kdpc_machine *m, PDEVICE_OBJECT pdo)
{
    kdpc__pnp *p = m != NULL ? kdpc__pnp_of(m, false) : NULL;
    if (p == NULL || p->root == NULL || pdo == NULL || m->dev == NULL)
        return NULL;
    for (kdpc_device *d = kdpc__dev_first(m); d != NULL; d = kdpc__dev_next(d)) {
        kdpc__pnpdev *r = kdpc__pnp_dev(d, false);
        if (r != NULL && r->pdo == pdo)
            return &r->x;
    }
    return NULL;
}

PDEVICE_OBJECT kdpc__pnp_top(PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT top = pdo;
    while (top->AttachedDevice != NULL)
        top = top->AttachedDevice;
    return top;
}
