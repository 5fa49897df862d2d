/* SPDX-License-Identifier: MIT */
/*
 * wmi.c - WMI on a machine with no WMI service and no consumer
 * (include/kdpc/wdm/wmi.h, docs/facts/registry.md "WMI"):
 * IoWMIRegistrationControl checks its arguments and sends nothing;
 * WmiSystemControl tells a driver that an IRP_MJ_SYSTEM_CONTROL request is
 * not a WMI request for it; WmiCompleteRequest completes a request.
 */
#include "io/io.h"

NTSTATUS kdpc_IoWMIRegistrationControl(PDEVICE_OBJECT DeviceObject, ULONG Action)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoWMIRegistrationControl", &c);
    if (m == NULL || !kdpc__io_passive_ok(m, c, "IoWMIRegistrationControl"))
        return STATUS_INVALID_PARAMETER;
    kdpc__ke_point(m);
    if (!(Action & WMIREG_FLAG_CALLBACK) &&
        !kdpc__io_need(m, "IoWMIRegistrationControl", KDPC_RP(kdpc_IoWMIRegistrationControl),
                       DeviceObject, KDPC_IOK_DEVICE))
        return STATUS_INVALID_PARAMETER;
    ULONG action = Action & ~(ULONG)WMIREG_FLAG_CALLBACK;
    if (action < WMIREG_ACTION_REGISTER || action > WMIREG_ACTION_BLOCK_IRPS)
        return STATUS_INVALID_PARAMETER;
    /* remembered for IoDeleteDevice's wmi.registered (pnpcheck.c) */
    kdpc__devrec *d = (Action & WMIREG_FLAG_CALLBACK) ? NULL : kdpc__io_devrec(m, DeviceObject);
    if (d != NULL && (action == WMIREG_ACTION_REGISTER || action == WMIREG_ACTION_REREGISTER))
        d->wmi_registered = true;
    else if (d != NULL && action == WMIREG_ACTION_DEREGISTER)
        d->wmi_registered = false;
    /* no WMI service: no IRP_MN_REGINFO(_EX) follows a registration */
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_WmiSystemControl(PWMILIB_CONTEXT WmiLibInfo, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                               PSYSCTL_IRP_DISPOSITION IrpDisposition)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("WmiSystemControl", &c);
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc_routine_ptr fn = KDPC_RP(kdpc_WmiSystemControl);
    if (!kdpc__io_need(m, "WmiSystemControl", fn, DeviceObject, KDPC_IOK_DEVICE) ||
        !kdpc__io_need(m, "WmiSystemControl", fn, Irp, KDPC_IOK_IRP))
        return STATUS_INVALID_PARAMETER;
    if (WmiLibInfo == NULL || IrpDisposition == NULL)
        return STATUS_INVALID_PARAMETER;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(Irp);
    bool wmi = s->MajorFunction == IRP_MJ_SYSTEM_CONTROL && kdpc__io_wmi_minor(s->MinorFunction);
    *IrpDisposition = wmi ? IrpForward : IrpNotWmi;
    return Irp->IoStatus.Status;
}

NTSTATUS kdpc_WmiCompleteRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS Status,
                                 ULONG BufferUsed, CCHAR PriorityBoost)
{
    (void)BufferUsed;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("WmiCompleteRequest", &c);
    if (m == NULL)
        return Status;
    kdpc_routine_ptr fn = KDPC_RP(kdpc_WmiCompleteRequest);
    if (!kdpc__io_need(m, "WmiCompleteRequest", fn, DeviceObject, KDPC_IOK_DEVICE) ||
        !kdpc__io_need(m, "WmiCompleteRequest", fn, Irp, KDPC_IOK_IRP))
        return Status;
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, PriorityBoost);
    return Status;
}
