/* SPDX-License-Identifier: MIT */
/*
 * forward.c - IoForwardIrpSynchronously (docs/facts/pnp.md 1.9).
 */
#include "pnp/pnp.h"

static NTSTATUS forwarded(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev;
    (void)irp;
    KeSetEvent((PKEVENT)ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

BOOLEAN kdpc_IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoForwardIrpSynchronously", &c);
    if (m == NULL || Irp == NULL || kdpc__io_irprec(Irp) == NULL)
        return FALSE;
    if (Irp->CurrentLocation <= 1)
        return FALSE; /* no location left for the lower driver */
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, forwarded, &ev, TRUE, TRUE, TRUE);
    if (IoCallDriver(DeviceObject, Irp) == STATUS_PENDING)
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    return TRUE;
}
