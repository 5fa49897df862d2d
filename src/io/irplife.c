/* SPDX-License-Identifier: MIT */
/*
 * irplife.c - the life of the IRPs a driver makes itself (IoAllocateIrp,
 * IoBuildDeviceIoControlRequest, IoBuildSynchronousFsdRequest,
 * IoBuildAsynchronousFsdRequest): who may reuse, complete, send and signal
 * them. irp.c calls these checks where the I/O manager routines run.
 *
 * DESIGN
 * Each IRP record notes where the IRP came from (kdpc__irprec.origin, set by
 * the routine that made it; 0 for the I/O and PnP managers' own requests) and
 * whether it is out: sent by IoCallDriver and not yet handed back by an
 * IoCompleteRequest. The creator holds an IRP it made while it has no current
 * stack location (CurrentLocation = StackCount + 1): before its first
 * IoCallDriver, and after its own completion routine returned
 * STATUS_MORE_PROCESSING_REQUIRED. The Static Driver Verifier rules that
 * follow an IRP from its allocation (IoAllocateForward, IoAllocateComplete,
 * IoBuildFsdForward, IoBuildFsdComplete, IoReuseIrp, IoReuseIrp2,
 * IoBuildDeviceIoControlSetEvent) are decided from these two facts at the
 * moment the driver acts on the IRP.
 */
#include "io/io.h"

const char *kdpc__io_origin_name(uint8_t origin)
{
    switch (origin) {
    case KDPC_IRP_FROM_ALLOCATE:
        return "IoAllocateIrp";
    case KDPC_IRP_FROM_DEVCTL:
        return "IoBuildDeviceIoControlRequest";
    case KDPC_IRP_FROM_SYNC_FSD:
        return "IoBuildSynchronousFsdRequest";
    case KDPC_IRP_FROM_ASYNC_FSD:
        return "IoBuildAsynchronousFsdRequest";
    default:
        return "the I/O manager";
    }
}

/* The creator holds the IRP: no current stack location. */
static bool with_creator(const kdpc__irprec *r)
{
    return r->irp.CurrentLocation == r->irp.StackCount + 1;
}

/*
 * IoReuseIrp: on an IRP IoAllocateIrp did not make, Verifier's 0xC9/0x311
 * (an IRP from IoBuild* or IoMakeAssociatedIrp re-initialized; SDV: IoReuseIrp,
 * IoReuseIrp2); on one still out at a lower driver or queued, 0xC9/0x310 (an
 * IRP re-initialized while in use). Both are WDM DRIVER ERRORs: P2 the caller,
 * P3 the IRP, P4 its origin (kdpc__irp_origin) / the device it was sent to.
 * As a warning the IRP is reused anyway unless it is queued (a queue would
 * then hold a blank IRP).
 */
bool kdpc__io_life_reuse(kdpc_machine *m, kdpc__irprec *r, uintptr_t caller)
{
    PIRP irp = &r->irp;
    if (r->origin != KDPC_IRP_FROM_ALLOCATE)
        kdpc__violation(m, KDPC_R_IO_REUSE_NOT_ALLOCATED, 0xC9, 0x311, caller, (uintptr_t)irp,
                        r->origin, NULL,
                        "IoReuseIrp(%p): the IRP came from %s; only an IRP the driver allocated "
                        "with IoAllocateIrp may be reused",
                        (void *)irp, kdpc__io_origin_name(r->origin));
    if (r->out || r->queued) {
        kdpc__violation(m, KDPC_R_IO_REUSE_IN_USE, 0xC9, 0x310, caller, (uintptr_t)irp,
                        (uintptr_t)r->device, NULL,
                        "IoReuseIrp(%p): the IRP is still %s; reuse it once its completion "
                        "routine has it back",
                        (void *)irp,
                        r->queued ? "queued"
                                  : "at the driver it was sent to (no IoCompleteRequest "
                                    "yet)");
        return !r->queued;
    }
    return true;
}

/*
 * IoCallDriver by the creator of an IoAllocateIrp or IoBuildAsynchronousFsdRequest
 * IRP with no completion routine in the next location (SDV IoAllocateForward,
 * IoBuildFsdForward): nobody takes the IRP back at completion, and Windows
 * would queue its completion APC to a thread the IRP does not have. No
 * run-time code of Windows' own: code 0, P1 the IRP, P2 its origin, P3 the
 * device, P4 0.
 * Before that, any IoCallDriver: an IRP whose last IoSetCompletionRoutineEx
 * failed (completionex.c) is sent without the routine (DDI compliance
 * IoSetCompletionExCompleteIrp): 0xC4, P1 0x0004100F, P2 the IRP, P3 the
 * device, P4 0.
 */
void kdpc__io_life_call(kdpc_machine *m, kdpc__irprec *r, PDEVICE_OBJECT dev)
{
    if (r->ex_failed) { /* completionex.c */
        r->ex_failed = false;
        kdpc__violation(m, KDPC_R_IO_COMPLETION_EX_UNCHECKED, 0xC4, 0x0004100Fu, (uintptr_t)&r->irp,
                        (uintptr_t)dev, 0, NULL,
                        "IoCallDriver(%p, IRP %p) after IoSetCompletionRoutineEx failed on it: "
                        "check its status, and complete the IRP with it instead of sending it",
                        (void *)dev, (void *)&r->irp);
    }
    if (!with_creator(r))
        return;
    PKEVENT ev = r->irp.UserEvent;
    r->event_was_set = ev != NULL && !kdpc__ke_bad_ptr(ev) && ev->Header.SignalState > 0;
    if (r->origin != KDPC_IRP_FROM_ALLOCATE && r->origin != KDPC_IRP_FROM_ASYNC_FSD)
        return;
    if (IoGetNextIrpStackLocation(&r->irp)->CompletionRoutine != NULL)
        return;
    kdpc__violation(m, KDPC_R_IO_LOCAL_NO_COMPLETION, 0, (uintptr_t)&r->irp, r->origin,
                    (uintptr_t)dev, 0, NULL,
                    "IoCallDriver(%p, IRP %p) without a completion routine: an IRP from %s needs "
                    "IoSetCompletionRoutine first, whose routine frees it (or returns "
                    "STATUS_MORE_PROCESSING_REQUIRED)",
                    (void *)dev, (void *)&r->irp, kdpc__io_origin_name(r->origin));
}

/*
 * The I/O manager sets the UserEvent of an IoBuildDeviceIoControlRequest or
 * IoBuildSynchronousFsdRequest IRP at completion; found signaled then, though
 * it was not when the IRP's maker sent it, someone set it in between (SDV
 * IoBuildDeviceIoControlSetEvent: the waiter would go on before the request
 * is done). An event handed over signaled is io.signaled_event's (0xC9/0x307,
 * at the send). Code 0, P1 the IRP, P2 the event, P3 its origin, P4 0.
 */
void kdpc__io_life_event(kdpc_machine *m, kdpc__irprec *r)
{
    PKEVENT ev = r->irp.UserEvent;
    if (ev == NULL || r->event_was_set || !r->dispatched ||
        (r->origin != KDPC_IRP_FROM_DEVCTL && r->origin != KDPC_IRP_FROM_SYNC_FSD))
        return;
    if (kdpc__ke_bad_ptr(ev) || ev->Header.SignalState <= 0)
        return;
    kdpc__violation(m, KDPC_R_IO_BUILD_EVENT_SET, 0, (uintptr_t)&r->irp, (uintptr_t)ev, r->origin,
                    0, NULL,
                    "IRP %p (%s) completes with its event %p signaled already, set after the "
                    "IRP was sent: only the I/O manager sets it, at completion (no KeSetEvent "
                    "by the driver)",
                    (void *)&r->irp, kdpc__io_origin_name(r->origin), (void *)ev);
}

/*
 * IoBuildAsynchronousFsdRequest / IoBuildSynchronousFsdRequest (0x08, @what
 * the major function) and IoBuildDeviceIoControlRequest (0x09, @what the
 * control code) given a NULL buffer with a length to copy or lock: Verifier's
 * 0xC9 with P2 the device, P3 @what, P4 the exception status
 * (STATUS_ACCESS_VIOLATION). Off or a warning: the builder fails (NULL), as
 * Windows does when the probe raises.
 */
bool kdpc__io_life_buffer_ok(kdpc_machine *m, const char *routine, PDEVICE_OBJECT dev,
                             uint32_t code, ULONG what, const void *buf, ULONG len)
{
    if (buf != NULL || len == 0)
        return true;
    kdpc__violation(m, KDPC_R_IO_BUILD_BAD_BUFFER, 0xC9, code, (uintptr_t)dev, what,
                    (uint32_t)STATUS_ACCESS_VIOLATION, NULL,
                    "%s: a NULL buffer of %lu bytes (it is copied or locked for the request)",
                    routine, (unsigned long)len);
    return false;
}
