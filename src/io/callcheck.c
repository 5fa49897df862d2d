/* SPDX-License-Identifier: MIT */
/*
 * callcheck.c - the checks on the way an IRP travels: IoCallDriver before it
 * calls the dispatch routine, IoCompleteRequest, IoStartNextPacket from
 * StartIo, and how a driver forwards an IRP down its device stack
 * (Driver Verifier's I/O verification, bug check 0xC9, and the SDV rules
 * SpinLockSafe, StartIoRecursion, ForwardedAtBadIrql*, CompleteRequestStatusCheck).
 *
 * Parameters of the 0xC9 codes above 0x200 ("WDM DRIVER ERROR"): P2 is the
 * driver's address that called (the return address into it), P3 the IRP, P4
 * the device object it was sent to (or, for 0x301/0x302, whose page says the
 * IRQL is given, the IRQL).
 *
 * Forwarding from a dispatch routine: irp.c tells, around each dispatch
 * routine, its location and device (kdpc__io_flow_enter / leave). When the
 * same IRP is sent on by that routine (its thread and CPU context), the IRP's current location
 * says how it was prepared: still the routine's own location, the driver
 * filled the next one itself (a copy: IoCopyCurrentIrpStackLocationToNext or
 * by hand); one above it, it skipped (IoSkipCurrentIrpStackLocation). Only a
 * copy is compared with the routine's location.
 */
#include <string.h>

#include "io/io.h"

/* io.cancel_not_completed: milliseconds from IoCancelIrp to completion. The 0xC4 page gives the
 * limit as P3 without saying what Windows uses; "Canceling IRPs" says the I/O manager times a
 * cancelled IRP out after 5 minutes, so a request the driver cannot cancel while its hardware
 * finishes it (no cancel routine) may legally take that long. */
#define KDPC_IO_CANCEL_MS 300000u

static bool allowed_at_dispatch(UCHAR major)
{
    return major == IRP_MJ_READ || major == IRP_MJ_WRITE || major == IRP_MJ_DEVICE_CONTROL ||
           major == IRP_MJ_INTERNAL_DEVICE_CONTROL || major == IRP_MJ_POWER;
}

/* A copy of @cur into @next: everything IoCopyCurrentIrpStackLocationToNext copies. */
static bool same_request(const IO_STACK_LOCATION *cur, const IO_STACK_LOCATION *next)
{
    return next->MajorFunction == cur->MajorFunction && next->MinorFunction == cur->MinorFunction &&
           next->FileObject == cur->FileObject &&
           memcmp(&next->Parameters, &cur->Parameters, sizeof(cur->Parameters)) == 0;
}

/* Is the device attached right above @dev a device of @dev's own driver? Then the completion
 * routine in @dev's location is that driver's own (one filter loaded twice in a stack, as upper
 * and lower filter), and the same routine and context set again for the device below is no hand
 * copy (0x207 left alone: kdpc cannot tell the two apart). */
static bool same_driver_above(kdpc_machine *m, PDEVICE_OBJECT dev)
{
    if (dev == NULL || kdpc__io_devrec(m, dev) == NULL)
        return false;
    PDEVICE_OBJECT up = dev->AttachedDevice;
    return up != NULL && kdpc__io_devrec(m, up) != NULL && up->DriverObject == dev->DriverObject;
}

/* The IRP is sent on from the dispatch routine that has it at location r->flow_disp_loc. */
static void forward_checks(kdpc_machine *m, PDEVICE_OBJECT dev, PIRP irp, kdpc__irprec *r,
                           uintptr_t caller)
{
    if (irp->CurrentLocation == r->flow_disp_loc && irp->CurrentLocation >= 2) {
        const IO_STACK_LOCATION *cur = IoGetCurrentIrpStackLocation(irp);
        const IO_STACK_LOCATION *next = IoGetNextIrpStackLocation(irp);
        if (next->Control & SL_PENDING_RETURNED)
            kdpc__violation(m, KDPC_R_IO_BAD_STACK_COPY, 0xC9, 0x206, caller, (uintptr_t)irp,
                            (uintptr_t)dev, NULL,
                            "IRP %p forwarded with the next stack location's Control still "
                            "holding SL_PENDING_RETURNED (a hand copy of the current location "
                            "after IoMarkIrpPending): use IoCopyCurrentIrpStackLocationToNext, "
                            "which clears it",
                            (void *)irp);
        else if (next->CompletionRoutine != NULL &&
                 next->CompletionRoutine == cur->CompletionRoutine &&
                 next->Context == cur->Context && !same_driver_above(m, r->flow_disp_dev))
            kdpc__violation(m, KDPC_R_IO_BAD_STACK_COPY, 0xC9, 0x207, caller, (uintptr_t)irp,
                            (uintptr_t)dev, NULL,
                            "IRP %p forwarded with the upper driver's completion routine copied "
                            "into the next stack location (a hand copy of the whole location): "
                            "it would run twice; use IoCopyCurrentIrpStackLocationToNext",
                            (void *)irp);
        else if (next->CompletionRoutine == NULL && same_request(cur, next))
            kdpc__violation(m, KDPC_R_IO_COPY_WITHOUT_COMPLETION, 0xC9, 0x21C, caller,
                            (uintptr_t)irp, (uintptr_t)dev, NULL,
                            "IRP %p forwarded with its stack location copied but no completion "
                            "routine set: IoSkipCurrentIrpStackLocation does the same without "
                            "using a location",
                            (void *)irp);
    }
    if (r->flow_disp_dev == NULL ||
        (irp->CurrentLocation != r->flow_disp_loc && irp->CurrentLocation != r->flow_disp_loc + 1))
        return;
    PDEVICE_OBJECT lower = kdpc__io_lower_device(m, r->flow_disp_dev);
    if (lower == NULL || lower == dev)
        return;
    unsigned depth = 0;
    for (PDEVICE_OBJECT x = kdpc__io_lower_device(m, lower); x != NULL && depth < 64;
         x = kdpc__io_lower_device(m, x), depth++) {
        if (x != dev)
            continue;
        kdpc__violation(m, KDPC_R_IO_SKIPPED_DEVICE, 0xC9, 0x211, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "IRP %p sent from device %p's dispatch routine to device %p, past device "
                        "%p right below it: send it to the device IoAttachDeviceToDeviceStack "
                        "returned",
                        (void *)irp, (void *)r->flow_disp_dev, (void *)dev, (void *)lower);
        return;
    }
}

void kdpc__io_flow_call(kdpc_machine *m, const kdpc__cpu *c, PDEVICE_OBJECT dev, PIRP irp,
                        kdpc__irprec *r, uintptr_t caller)
{
    unsigned irql = c->irql;
    if (irql > DISPATCH_LEVEL)
        kdpc__violation(m, KDPC_R_IO_CALL_IRQL, 0xC9, 0x10, irql, 0, 0, NULL,
                        "IoCallDriver called at IRQL %u, above DISPATCH_LEVEL (its dispatch "
                        "routine would run there): an ISR queues a DPC that sends the IRP",
                        irql);
    if (irp->CancelRoutine != NULL)
        kdpc__violation(m, KDPC_R_IO_CALL_CANCELABLE, 0xC9, 0x203, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "IoCallDriver(%p, IRP %p) with the IRP's cancel routine %p still set: "
                        "IoSetCancelRoutine(Irp, NULL) before sending it on",
                        (void *)dev, (void *)irp, (void *)(uintptr_t)irp->CancelRoutine);
    if (irp->CurrentLocation - 1 < dev->StackSize && irp->CurrentLocation > 1)
        kdpc__violation(m, KDPC_R_IO_STACK_SHORT, 0xC9, 0x208, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "IRP %p sent to device %p with %d stack location(s) left; the device's "
                        "stack needs %d (StackSize): allocate it with DeviceObject->StackSize "
                        "of the device at the top of the stack it is sent to",
                        (void *)irp, (void *)dev, irp->CurrentLocation - 1, (int)dev->StackSize);
    if (irp->CurrentLocation < 2)
        return; /* no next location: NO_MORE_IRP_STACK_LOCATIONS follows */
    UCHAR major = IoGetNextIrpStackLocation(irp)->MajorFunction;
    if (irql == DISPATCH_LEVEL && !allowed_at_dispatch(major))
        kdpc__violation(m, KDPC_R_IO_FORWARD_IRQL, 0xC9, 0x23A, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "IRP %p (major function %u) sent at DISPATCH_LEVEL: only read, write, "
                        "device control, internal device control and power IRPs may be; send "
                        "this one from PASSIVE_LEVEL (a work item)",
                        (void *)irp, (unsigned)major);
    if (r == NULL)
        return;
    if (r->thread_irp && irql >= APC_LEVEL && irql <= DISPATCH_LEVEL &&
        irp->CurrentLocation == irp->StackCount + 1)
        kdpc__violation(m, KDPC_R_IO_FORWARD_APC_IRQL, 0xC9, 0x302, caller, (uintptr_t)irp, irql,
                        NULL,
                        "IRP %p, built for a waiting thread, sent at IRQL %u: its completion "
                        "needs an APC that cannot run at APC_LEVEL or above, so the thread "
                        "may wait forever",
                        (void *)irp, irql);
    /* sent from the dispatch routine's own thread and CPU context: a routine that returned (the
     * IRP queued, sent on later by a worker thread or a DPC) leaves the record holding the
     * location of one still running above it (forwarding and waiting), whose send this is not */
    bool own = r->flow_disp_loc != 0 && r->flow_disp_thread == kdpc__self() &&
               r->flow_disp_isr == c->isr_depth && r->flow_disp_no_switch == c->no_switch;
    if (own && r->flow_below)
        kdpc__violation(m, KDPC_R_IO_FORWARD_OWNED_BELOW, 0xC9, 0x205, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "dispatch routine sent IRP %p again while the driver below still has it "
                        "(it returned STATUS_PENDING and has not completed it): wait for the IRP "
                        "to come back before sending it on",
                        (void *)irp);
    if (own && irp->CurrentLocation <= irp->StackCount + 1 &&
        (kdpc__rule_on(m, KDPC_R_IO_BAD_STACK_COPY) ||
         kdpc__rule_on(m, KDPC_R_IO_COPY_WITHOUT_COMPLETION) ||
         kdpc__rule_on(m, KDPC_R_IO_SKIPPED_DEVICE)))
        forward_checks(m, dev, irp, r, caller);
}

kdpc__io_flow kdpc__io_flow_enter(kdpc_machine *m, kdpc__irprec *r, PDEVICE_OBJECT dev, int loc)
{
    kdpc__io_flow f = {
        r->flow_disp_loc,       r->flow_disp_dev, r->flow_disp_thread, r->flow_disp_isr,
        r->flow_disp_no_switch, r->flow_below,    r->flow_completions, false};
    r->flow_below = false;
    PKEVENT ev = r->irp.UserEvent;
    /* the issuer's send (the IRP's first location): was its event signaled already? */
    if (loc == r->irp.StackCount && ev != NULL && !kdpc__ke_bad_ptr(ev) &&
        (ev->Header.Type == NotificationEvent || ev->Header.Type == SynchronizationEvent) &&
        kdpc__rule_on(m, KDPC_R_IO_SIGNALED_EVENT))
        f.event_signaled = ev->Header.SignalState > 0;
    kdpc__thread *t = kdpc__self();
    uintptr_t lo;
    size_t size;
    if (loc == r->irp.StackCount)
        r->flow_issuer = NULL; /* a new send by its maker: an earlier sender (reuse) is no issuer */
    if (loc == r->irp.StackCount && t != NULL && kdpc__fiber_stack(&lo, &size)) {
        uintptr_t iosb = (uintptr_t)r->irp.UserIosb, event = (uintptr_t)ev;
        if ((iosb >= lo && iosb - lo < size) || (event >= lo && event - lo < size)) {
            r->flow_issuer = t;
            r->flow_stack_lo = lo;
            r->flow_stack_hi = lo + size;
        }
    }
    r->flow_disp_loc = loc;
    r->flow_disp_dev = dev;
    kdpc__cpu *c = kdpc__cur_cpu();
    r->flow_disp_thread = t;
    r->flow_disp_isr = c != NULL ? c->isr_depth : 0;
    r->flow_disp_no_switch = c != NULL ? c->no_switch : 0;
    r->flow_done_valid = false; /* sent (again): what the lower driver says comes next */
    return f;
}

void kdpc__io_flow_leave(kdpc_machine *m, PIRP irp, uint32_t serial, const kdpc__io_flow *f,
                         NTSTATUS st, uintptr_t caller, PDEVICE_OBJECT dev)
{
    kdpc__irprec *r = kdpc__io_irprec(irp);
    if (r != NULL && r->serial == serial) {
        r->flow_disp_loc = f->loc;
        r->flow_disp_dev = f->dev;
        r->flow_disp_thread = f->thread;
        r->flow_disp_isr = f->isr;
        r->flow_disp_no_switch = f->no_switch;
        /* the sender's routine has it below while the answer is pending and no completion came */
        r->flow_below = f->below || (st == STATUS_PENDING && r->flow_completions == f->completions);
    }
    if (st == STATUS_PENDING && f->event_signaled)
        kdpc__violation(m, KDPC_R_IO_SIGNALED_EVENT, 0xC9, 0x307, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "IRP %p was sent with an event that was signaled already and got "
                        "STATUS_PENDING: a wait on that event returns before the request is "
                        "done (KeClearEvent it, or use a fresh one, before sending)",
                        (void *)irp);
}

/* The innermost spin lock @c holds in the context it runs (not an interrupt's lock), or NULL. */
static kdpc__lock *lock_held_here(const kdpc__cpu *c)
{
    const kdpc__vcpu *v = c->ver;
    for (unsigned i = v->nheld < KDPC_MAX_HELD ? v->nheld : KDPC_MAX_HELD; i-- > 0;) {
        const kdpc__held *h = &v->held[i];
        if (h->lock != NULL && h->isr_depth == c->isr_depth && !(h->kind & KDPC_LOCK_INTERRUPT))
            return h->lock;
    }
    return NULL;
}

void kdpc__io_flow_complete(kdpc_machine *m, const kdpc__cpu *c, PIRP irp, kdpc__irprec *r,
                            uintptr_t caller)
{
    unsigned irql = c->irql;
    if (irql > DISPATCH_LEVEL)
        kdpc__violation(m, KDPC_R_IO_COMPLETE_IRQL, 0xC9, 0x0E, irql, (uintptr_t)irp, 0, NULL,
                        "IoCompleteRequest(IRP %p) called at IRQL %u, above DISPATCH_LEVEL "
                        "(from an ISR?): the ISR queues its DPC, and the DPC completes the IRP",
                        (void *)irp, irql);
    kdpc__lock *l = lock_held_here(c);
    if (l != NULL)
        kdpc__violation(m, KDPC_R_IO_COMPLETE_LOCK_HELD, 0, 1, (uintptr_t)irp, l->addr, 0, NULL,
                        "IoCompleteRequest(IRP %p) called holding spin lock %#lx: completion "
                        "routines run inside the call; release the lock first",
                        (void *)irp, (unsigned long)l->addr);
    if (r == NULL)
        return;
    if (!r->dispatched)
        kdpc__violation(m, KDPC_R_IO_COMPLETE_UNSENT, 0xC9, 0x239, caller, (uintptr_t)irp, 0, NULL,
                        "IoCompleteRequest(IRP %p): the IRP was never sent (IoCallDriver); a "
                        "driver that made an IRP sends it, or frees it (IoFreeIrp)",
                        (void *)irp);
    if (r->flow_done_valid && irp->CurrentLocation > r->flow_done_loc &&
        !NT_SUCCESS(r->flow_done_status) && r->flow_done_status != STATUS_NOT_SUPPORTED &&
        irp->IoStatus.Status == STATUS_SUCCESS)
        kdpc__violation(m, KDPC_R_IO_STATUS_OVERRIDDEN, 0, (uintptr_t)irp,
                        (uint32_t)r->flow_done_status, (uintptr_t)irp->IoStatus.Status, 0, NULL,
                        "IRP %p completed with STATUS_SUCCESS although the lower driver failed "
                        "it with %#lx: complete it with the lower driver's status",
                        (void *)irp, (unsigned long)(uint32_t)r->flow_done_status);
    r->flow_completions++;
    r->flow_below = false; /* on its way back up */
    r->flow_done_valid = true;
    r->flow_done_loc = irp->CurrentLocation;
    r->flow_done_status = irp->IoStatus.Status;
    if (r->flow_cancelled) {
        r->flow_cancelled = false;
        uint64_t ms = (m->now_ns - r->flow_cancel_ns) / 1000000u;
        if (ms > KDPC_IO_CANCEL_MS)
            kdpc__violation(m, KDPC_R_IO_CANCEL_NOT_COMPLETED, 0xC4, 0x135, (uintptr_t)irp,
                            KDPC_IO_CANCEL_MS, 0, NULL,
                            "IRP %p completed %llu ms after IoCancelIrp: a cancelled IRP is "
                            "completed within %u ms",
                            (void *)irp, (unsigned long long)ms, KDPC_IO_CANCEL_MS);
    }
}

void kdpc__io_flow_cancel(kdpc_machine *m, PIRP irp)
{
    kdpc__irprec *r = kdpc__io_irprec(irp);
    /* only an IRP a driver below still has (out): one its maker's completion routine took back
     * (STATUS_MORE_PROCESSING_REQUIRED) is owed no completion, and may be reused much later */
    if (r == NULL || r->flow_cancelled || r->completed || !r->out)
        return;
    r->flow_cancelled = true;
    r->flow_cancel_ns = m->now_ns;
}

/* Is @t still a thread of the machine that has not ended? */
static bool thread_alive(kdpc_machine *m, const kdpc__thread *t)
{
    for (kdpc__thread *x = m->all_threads; x != NULL; x = x->all_next)
        if (x == t)
            return x->state != KDPC_T_DONE;
    return false;
}

bool kdpc__io_flow_finish(kdpc_machine *m, PIRP irp, kdpc__irprec *r)
{
    if (r == NULL || r->flow_issuer == NULL || thread_alive(m, r->flow_issuer))
        return true;
    uintptr_t iosb = (uintptr_t)irp->UserIosb, event = (uintptr_t)irp->UserEvent;
    bool dead_iosb = iosb >= r->flow_stack_lo && iosb < r->flow_stack_hi;
    bool dead_event = event >= r->flow_stack_lo && event < r->flow_stack_hi;
    r->flow_issuer = NULL;
    if (!dead_iosb && !dead_event)
        return true; /* pointed elsewhere since it was sent */
    kdpc__violation(m, KDPC_R_IO_IOSB_UNWOUND, 0xC9, dead_iosb ? 0x0C : 0x0D,
                    dead_iosb ? iosb : event, 0, 0, NULL,
                    "IRP %p completed after the thread that sent it ended: its %s at %p was on "
                    "that thread's stack (wait for the request before returning, or put it in "
                    "pool); kdpc neither writes nor signals it",
                    (void *)irp, dead_iosb ? "I/O status block" : "event",
                    (void *)(dead_iosb ? iosb : event));
    return false;
}

void kdpc__io_flow_quiescent(kdpc_machine *m)
{
    for (kdpc__irprec *r = kdpc__io_of(m)->irps; r != NULL; r = r->next) {
        if (!r->flow_cancelled || r->completed || !r->dispatched)
            continue;
        r->flow_cancelled = false;
        char history[240];
        kdpc__violation(m, KDPC_R_IO_CANCEL_NOT_COMPLETED, 0xC4, 0x135, (uintptr_t)&r->irp,
                        KDPC_IO_CANCEL_MS, 0, NULL,
                        "IRP %p was cancelled (IoCancelIrp) and is still not completed when "
                        "nothing is left to run; history: %s",
                        (void *)&r->irp, kdpc__io_irp_history(r, history, sizeof(history)));
    }
}

void kdpc__io_flow_start_next(kdpc_machine *m, const kdpc__cpu *c, PDEVICE_OBJECT dev,
                              kdpc__devrec *d, const char *name)
{
    kdpc__lock *l = lock_held_here(c);
    if (l != NULL)
        kdpc__violation(m, KDPC_R_IO_COMPLETE_LOCK_HELD, 0, 2, (uintptr_t)dev, l->addr, 0, NULL,
                        "%s(%p) called holding spin lock %#lx: StartIo runs inside the call; "
                        "release the lock first",
                        name, (void *)dev, (unsigned long)l->addr);
    if (!d->deferred_startio && c->index < 64 && ((d->flow_startio_cpus >> c->index) & 1u))
        kdpc__violation(
            m, KDPC_R_IO_STARTIO_RECURSION, 0, (uintptr_t)dev,
            dev->DriverObject != NULL ? kdpc__fnaddr(KDPC_RP(dev->DriverObject->DriverStartIo)) : 0,
            0, 0, NULL,
            "%s(%p) called from the device's own StartIo without DeferredStartIo: "
            "StartIo runs again inside itself (call IoSetStartIoAttributes(dev, "
            "TRUE, ...) in AddDevice or DriverEntry)",
            name, (void *)dev);
}

bool kdpc__io_flow_startio_enter(kdpc__devrec *d)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    if (c == NULL || c->index >= 64)
        return true;
    uint64_t bit = (uint64_t)1 << c->index;
    bool was = (d->flow_startio_cpus & bit) != 0;
    d->flow_startio_cpus |= bit;
    return was;
}

void kdpc__io_flow_startio_leave(kdpc__devrec *d, bool was)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    if (c == NULL || c->index >= 64 || was)
        return;
    d->flow_startio_cpus &= ~((uint64_t)1 << c->index);
}
