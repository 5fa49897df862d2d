/* SPDX-License-Identifier: MIT */
/*
 * cancel.c - the cancel spin lock and IoCancelIrp (docs/facts/io.md
 * 4.20-4.24). The cancel spin lock is one ordinary spin lock per machine,
 * checked like every other (order, recursion, release rules).
 */
#include "io/io.h"

void kdpc_IoAcquireCancelSpinLock(PKIRQL Irql)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAcquireCancelSpinLock", &c);
    if (m == NULL || Irql == NULL)
        return;
    *Irql = kdpc_KeAcquireSpinLockRaiseToDpc(&kdpc__io_of(m)->cancel_lock);
}

void kdpc_IoReleaseCancelSpinLock(KIRQL Irql)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoReleaseCancelSpinLock", &c);
    if (m == NULL)
        return;
    kdpc_KeReleaseSpinLock(&kdpc__io_of(m)->cancel_lock, Irql);
}

BOOLEAN kdpc_IoCancelIrp(PIRP Irp)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCancelIrp", &c);
    /* Windows sets Irp->Cancel at once: not a live IRP is the fault of validate.c (off or a
     * warning: FALSE) */
    if (m == NULL || !kdpc__io_need(m, "IoCancelIrp", KDPC_RP(kdpc_IoCancelIrp), Irp, KDPC_IOK_IRP))
        return FALSE;
    KIRQL old;
    kdpc_IoAcquireCancelSpinLock(&old);
    Irp->Cancel = TRUE;
    kdpc__io_flow_cancel(m, Irp); /* irp-flow: io.cancel_not_completed */
    PDRIVER_CANCEL routine = IoSetCancelRoutine(Irp, NULL);
    /* before the routine runs: it may complete and free the IRP */
    kdpc__trace(m, KDPC_EV_IRP_CANCEL, kdpc__cur_cpu(), Irp, KDPC_RP(routine), routine != NULL);
    if (routine == NULL) {
        kdpc_IoReleaseCancelSpinLock(old);
        return FALSE;
    }
    kdpc__irprec *r = kdpc__io_irprec(Irp);
    if (r != NULL && r->completed)
        kdpc__bugcheck_forced(m, 0x48, (uintptr_t)Irp, 0, 0, 0,
                              "IoCancelIrp found a cancel routine on a completed IRP "
                              "(CANCEL_STATE_IN_COMPLETED_IRP)");
    Irp->CancelIrql = old;
    kdpc__io_irp_note(Irp, "IoCancelIrp: cancel routine");
    PDEVICE_OBJECT dev = Irp->CurrentLocation <= Irp->StackCount
                             ? IoGetCurrentIrpStackLocation(Irp)->DeviceObject
                             : NULL;
    kdpc__io_call_cancel(m, routine, dev, Irp); /* it releases the cancel spin lock */
    kdpc__lock *l = kdpc__lock_find(m, &kdpc__io_of(m)->cancel_lock);
    if (l != NULL && l->owner == (int)kdpc__cur_cpu()->index)
        kdpc__violation(m, KDPC_R_IO_CANCEL_LOCK_HELD, 0x11B, (uintptr_t)Irp, (uintptr_t)routine, 0,
                        0, NULL,
                        "cancel routine returned holding the cancel spin lock: release it with "
                        "IoReleaseCancelSpinLock(Irp->CancelIrql) "
                        "(DRIVER_RETURNED_HOLDING_CANCEL_LOCK)");
    return TRUE;
}
