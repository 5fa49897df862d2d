/* SPDX-License-Identifier: MIT */
/*
 * completionex.c - IoSetCompletionRoutineEx and the rules on its use.
 *
 * DESIGN
 * IoSetCompletionRoutineEx sets, in the IRP's next stack location, a
 * completion routine of kdpc's own (ex_done) whose context remembers the
 * driver's routine and context. The context is I/O manager memory
 * (kdpc__io_alloc: freed at destroy if never used), taken from the pool's
 * point of view, so low resources simulation makes the call fail. When the
 * lower driver completes the IRP, ex_done frees the context and calls the
 * driver's routine. Windows also references the device object so that its
 * driver cannot unload before the routine runs; kdpc keeps every driver
 * loaded while its IRPs are out, so it has nothing to reference.
 *
 * The rules (Static Driver Verifier's and the one DDI compliance rule):
 *  - a failed call leaves nothing set; the IRP is then completed with the
 *    failure, not sent (io.completion_ex_unchecked, irplife.c at IoCallDriver);
 *  - a successful call is followed by sending the IRP: completing it instead
 *    leaves the context allocated and the routine never called
 *    (io.completion_ex_unsent, at IoCompleteRequest);
 *  - the device object is the caller's own, the one its IRP arrived at, not
 *    the lower device it forwards to (io.completion_ex_device).
 */
#include "io/io.h"

typedef struct exctx {
    kdpc_machine *m;
    PIO_COMPLETION_ROUTINE routine;
    PVOID context;
} exctx;

static NTSTATUS ex_done(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    exctx c = *(exctx *)Context;
    kdpc__io_free_mem(c.m, Context);
    return c.routine(DeviceObject, Irp, c.context);
}

PIO_COMPLETION_ROUTINE kdpc__io_ex_driver_routine(PIO_COMPLETION_ROUTINE routine, PVOID context)
{
    return routine == ex_done && context != NULL ? ((const exctx *)context)->routine : routine;
}

/*
 * Objects: an IRP or device that is not live is the fault Windows takes
 * reading it (validate.c); STATUS_INVALID_PARAMETER, nothing set.
 * io.completion_ex_device: the IRP has a current location (it arrived at a
 * driver) whose device belongs to another driver than @DeviceObject: the
 * caller passed the lower device. SDV's IoSetCompletionRoutineExCheckDeviceObject
 * has no run-time code: code 0, P1 the IRP, P2 the device given, P3 the
 * device of the current location, P4 0. Off or a warning: set as asked.
 */
NTSTATUS kdpc_IoSetCompletionRoutineEx(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                       PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
                                       BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError,
                                       BOOLEAN InvokeOnCancel)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoSetCompletionRoutineEx", &c);
    if (m == NULL ||
        !kdpc__io_need(m, "IoSetCompletionRoutineEx", KDPC_RP(kdpc_IoSetCompletionRoutineEx), Irp,
                       KDPC_IOK_IRP) ||
        !kdpc__io_need(m, "IoSetCompletionRoutineEx", KDPC_RP(kdpc_IoSetCompletionRoutineEx),
                       DeviceObject, KDPC_IOK_DEVICE))
        return STATUS_INVALID_PARAMETER;
    kdpc__irprec *r = kdpc__io_irprec(Irp);
    if (Irp->CurrentLocation <= 1)
        return STATUS_INVALID_PARAMETER; /* no next location: IoCallDriver would stop the machine */
    if (Irp->CurrentLocation <= Irp->StackCount) {
        PDEVICE_OBJECT own = IoGetCurrentIrpStackLocation(Irp)->DeviceObject;
        if (own != NULL && kdpc__io_valid(m, own, KDPC_IOK_DEVICE) &&
            own->DriverObject != DeviceObject->DriverObject)
            kdpc__violation(m, KDPC_R_IO_COMPLETION_EX_DEVICE, 0, (uintptr_t)Irp,
                            (uintptr_t)DeviceObject, (uintptr_t)own, 0, NULL,
                            "IoSetCompletionRoutineEx(%p, IRP %p): the device given is not the "
                            "caller's (the IRP arrived at %p): pass your own device object, "
                            "which keeps your driver loaded until the routine has run",
                            (void *)DeviceObject, (void *)Irp, (void *)own);
    }
    exctx *x = kdpc__pool_fail(m) ? NULL : kdpc__io_alloc(m, sizeof(*x));
    if (x == NULL) {
        r->ex_failed = true;
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    r->ex_failed = false;
    x->m = m;
    x->routine = CompletionRoutine;
    x->context = Context;
    IoSetCompletionRoutine(Irp, ex_done, x, InvokeOnSuccess, InvokeOnError, InvokeOnCancel);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

/*
 * IoCompleteRequest: the IRP is back from the lower driver (kdpc__irprec.out).
 * The completing driver's next location still holding an IoSetCompletionRoutineEx
 * routine means that driver set it and completed the IRP instead of sending
 * it (SDV CompletionRoutineRegistered): the routine would never run and its
 * context leak. Code 0, P1 the IRP, P2 the driver's routine, P3 its context,
 * P4 0. Off or a warning: the context is freed and the completion goes on.
 */
void kdpc__io_life_complete(kdpc_machine *m, kdpc__irprec *r)
{
    PIRP irp = &r->irp;
    r->out = false;
    r->ex_failed = false;
    if (irp->CurrentLocation < 2 || irp->CurrentLocation > irp->StackCount + 1)
        return;
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(irp);
    if (n->CompletionRoutine != ex_done || n->Context == NULL)
        return;
    exctx *x = n->Context;
    kdpc__violation(m, KDPC_R_IO_COMPLETION_EX_UNSENT, 0, (uintptr_t)irp,
                    kdpc__fnaddr(KDPC_RP(x->routine)), (uintptr_t)x->context, 0, NULL,
                    "IoCompleteRequest(IRP %p) after IoSetCompletionRoutineEx on it succeeded: "
                    "the IRP is sent (IoCallDriver) once the routine is set, or the routine "
                    "never runs and its context leaks",
                    (void *)irp);
    n->CompletionRoutine = NULL;
    n->Context = NULL;
    n->Control = 0;
    kdpc__io_free_mem(m, x);
}
