/* SPDX-License-Identifier: MIT */
/*
 * pnpcheck.c - Driver Verifier's checks of the PnP, power and WMI IRPs that
 * go through IoCallDriver and IoCompleteRequest, and of device objects
 * detached or deleted while the PnP manager has a PnP IRP outstanding
 * (bug check 0xC9, "WDM DRIVER ERROR": P2 the caller's address, P3 the IRP,
 * P4 the device object; 0xC4/0xDB for WMI).
 *
 * What kdpc knows to decide them: the PnP layer sets kdpc__io.pnp_irp and
 * pnp_minor around each IRP_MJ_PNP IRP it sends (one at a time: the PnP
 * manager's thread waits for each); every IRP's record keeps the lowest
 * stack location a dispatch routine got it at (low_loc: a location below
 * the current one means the IRP went down the stack) and whether a PnP
 * IRP's status was ever other than STATUS_NOT_SUPPORTED (pnp_answered).
 * With a rule off or a warning each call goes on as a free kernel would.
 * Divergence: Verifier rates 0x20E-0x217, 0x220 and 0x22E/0x22F non-fatal
 * errors (a debugger break); kdpc bug-checks by default, as for 0x23E:
 * switch the rule to a warning for the other.
 */
#include "io/io.h"

/* The state-changing PnP IRPs only the PnP manager sends (the IRP pages: "reserved for
 * system use"). */
static bool system_only(UCHAR minor)
{
    switch (minor) {
    case IRP_MN_START_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        return true;
    default:
        return false;
    }
}

/* The PnP IRPs a function driver answers on the way down (Verifier's 0x217 and SDV's
 * NsRemoveLock* rules); START and the CANCELs are answered on the way up. */
static bool answered_going_down(UCHAR minor)
{
    return minor == IRP_MN_QUERY_STOP_DEVICE || minor == IRP_MN_STOP_DEVICE ||
           minor == IRP_MN_QUERY_REMOVE_DEVICE || minor == IRP_MN_REMOVE_DEVICE ||
           minor == IRP_MN_SURPRISE_REMOVAL;
}

static int pnp_depth(const kdpc__io *io, PDEVICE_OBJECT dev);

PDEVICE_OBJECT kdpc__io_lower_device(kdpc_machine *m, PDEVICE_OBJECT dev)
{
    for (kdpc__devrec *o = kdpc__io_of(m)->devices; o != NULL; o = o->next) {
        if (o->obj.AttachedDevice == dev)
            return &o->obj;
    }
    return NULL;
}

/* The first send of a PnP, power or WMI IRP by a driver (not the PnP manager's own). */
static void check_first_send(kdpc_machine *m, PIRP irp, PIO_STACK_LOCATION s, PDEVICE_OBJECT dev,
                             uintptr_t caller)
{
    UCHAR major = s->MajorFunction, minor = s->MinorFunction;
    if (major == IRP_MJ_PNP && system_only(minor))
        kdpc__violation(m, KDPC_R_PNP_SYSTEM_IRP, 0xC9, 0x237, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "a driver sent PnP IRP minor %#x (IRP %p): starting, stopping and "
                        "removing a device is the PnP manager's, reserved for system use",
                        (unsigned)minor, (void *)irp);
    uint32_t code = major == IRP_MJ_PNP         ? 0x20E
                    : major == IRP_MJ_POWER     ? 0x20F
                    : kdpc__io_wmi_minor(minor) ? 0x210
                                                : 0;
    if (code != 0 && irp->IoStatus.Status != STATUS_NOT_SUPPORTED)
        kdpc__violation(m, KDPC_R_PNP_IRP_INIT, 0xC9, code, caller, (uintptr_t)irp, (uintptr_t)dev,
                        NULL,
                        "a %s IRP (minor %#x, IRP %p) was sent with IoStatus.Status %#lx: "
                        "whoever sends one sets STATUS_NOT_SUPPORTED first, the status that "
                        "tells nobody handled it",
                        code == 0x20E   ? "PnP"
                        : code == 0x20F ? "power"
                                        : "WMI",
                        (unsigned)minor, (void *)irp, (unsigned long)irp->IoStatus.Status);
    if (major != IRP_MJ_PNP || minor != IRP_MN_QUERY_CAPABILITIES)
        return;
    PDEVICE_CAPABILITIES caps = s->Parameters.DeviceCapabilities.Capabilities;
    if (kdpc__ke_bad_ptr(caps))
        return; /* the bus driver's fault to take, as on Windows (Verifier reads only memory it
                 * can) */
    const char *what = NULL;
    code = 0;
    if (caps->Version != 1) {
        code = 0x233;
        what = "Version is not 1";
    } else if (caps->Size < sizeof(DEVICE_CAPABILITIES)) {
        code = 0x234;
        what = "Size is not sizeof(DEVICE_CAPABILITIES)";
    } else if (caps->Address != 0xFFFFFFFFu) {
        code = 0x235;
        what = "Address is not -1";
    } else if (caps->UINumber != 0xFFFFFFFFu) {
        code = 0x236;
        what = "UINumber is not -1";
    }
    if (code != 0)
        kdpc__violation(m, KDPC_R_PNP_IRP_INIT, 0xC9, code, caller, (uintptr_t)irp, (uintptr_t)dev,
                        NULL,
                        "IRP_MN_QUERY_CAPABILITIES sent with a DEVICE_CAPABILITIES whose %s: "
                        "zero it, then set Size, Version 1, Address and UINumber -1",
                        what);
}

/* Whether the device passing @irp down to @dev is the function driver's and passes it with no
 * completion routine of its own (Verifier's "not processed"): a filter passes down untouched what
 * it does not handle, and a function driver may answer on the way up. The PnP manager's own
 * completion routine sits in the top location (manager.c), where no driver put it. */
static bool fdo_passes_unanswered(kdpc_machine *m, PIRP irp, PIO_STACK_LOCATION s,
                                  PDEVICE_OBJECT dev)
{
    PDEVICE_OBJECT from = dev->AttachedDevice;
    if (from == NULL || kdpc__io_devrec(m, from) == NULL)
        return false;
    PDRIVER_OBJECT drv = from->DriverObject;
    if (!kdpc__io_valid(m, drv, KDPC_IOK_DRIVER) || drv->DriverExtension == NULL ||
        drv->DriverExtension->AddDevice == NULL)
        return false; /* not the driver whose AddDevice built the stack: a filter */
    bool managers = irp == kdpc__io_of(m)->pnp_irp && irp->CurrentLocation - 1 == irp->StackCount;
    return s->CompletionRoutine == NULL || managers;
}

/* 0xC9/0x216: a driver put STATUS_NOT_SUPPORTED back over the status another driver had set,
 * as the IRP is @how ("passed down", "completed"). P2 the caller, P3 the IRP, P4 the device. */
static void status_reverted(kdpc_machine *m, PIRP irp, PDEVICE_OBJECT dev, UCHAR minor,
                            uintptr_t caller, const char *how)
{
    kdpc__violation(m, KDPC_R_PNP_IRP_STATUS, 0xC9, 0x216, caller, (uintptr_t)irp, (uintptr_t)dev,
                    NULL,
                    "PnP IRP minor %#x (IRP %p) %s with STATUS_NOT_SUPPORTED over the status a "
                    "driver had set: that status is reserved for \"nobody handled it\"",
                    (unsigned)minor, (void *)irp, how);
}

/* A PnP IRP a dispatch routine passes on to the next driver. */
static void check_forward(kdpc_machine *m, kdpc__irprec *r, PIRP irp, PIO_STACK_LOCATION s,
                          PDEVICE_OBJECT dev, uintptr_t caller)
{
    NTSTATUS st = irp->IoStatus.Status;
    UCHAR minor = s->MinorFunction;
    if (!NT_SUCCESS(st) && st != STATUS_NOT_SUPPORTED)
        kdpc__violation(m, KDPC_R_PNP_IRP_STATUS, 0xC9, 0x215, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "PnP IRP minor %#x (IRP %p) passed down with the failure status %#lx: a "
                        "driver that fails a PnP IRP completes it",
                        (unsigned)minor, (void *)irp, (unsigned long)st);
    else if (st == STATUS_NOT_SUPPORTED && r->pnp_answered)
        status_reverted(m, irp, dev, minor, caller, "passed down");
    else if (st == STATUS_NOT_SUPPORTED && answered_going_down(minor) &&
             fdo_passes_unanswered(m, irp, s, dev))
        kdpc__violation(m, KDPC_R_PNP_IRP_STATUS, 0xC9, 0x217, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "PnP IRP minor %#x (IRP %p) passed down still STATUS_NOT_SUPPORTED by the "
                        "function driver: it handles query-stop, stop, query-remove, remove and "
                        "surprise removal and sets the status (STATUS_SUCCESS) before passing it "
                        "down, or answers on the way up (a completion routine)",
                        (unsigned)minor, (void *)irp);
}

void kdpc__io_pnp_on_call(kdpc_machine *m, PIRP irp, kdpc__irprec *r, PDEVICE_OBJECT dev,
                          uintptr_t caller)
{
    if (r == NULL || irp->CurrentLocation <= 1)
        return;
    CHAR loc = (CHAR)(irp->CurrentLocation - 1); /* the location the dispatch routine gets */
    /* never sent before (IoReuseIrp clears dispatched); a skip at the top of the stack also
     * leaves no current location, so the location alone does not tell */
    bool first = !r->dispatched && irp->CurrentLocation > irp->StackCount;
    if (first) { /* a new trip (an IRP reused since starts again) */
        r->low_loc = loc;
        r->pnp_answered = false;
    } else if (r->low_loc == 0 || loc < r->low_loc) {
        r->low_loc = loc;
    }
    PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(irp);
    UCHAR major = s->MajorFunction;
    if (major != IRP_MJ_PNP && major != IRP_MJ_POWER && major != IRP_MJ_SYSTEM_CONTROL)
        return;
    PDRIVER_OBJECT drv = dev->DriverObject;
    if (drv != NULL && drv->MajorFunction[major] == NULL && drv->DriverExtension != NULL &&
        drv->DriverExtension->AddDevice != NULL)
        kdpc__violation(m, KDPC_R_PNP_NO_DISPATCH, 0xC9, 0x21F, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "IRP major %#x (IRP %p) sent to device %p, whose PnP driver has no "
                        "dispatch routine for it: a PnP driver serves IRP_MJ_PNP, IRP_MJ_POWER and "
                        "IRP_MJ_SYSTEM_CONTROL (passing down what it does not handle)",
                        (unsigned)major, (void *)irp, (void *)dev);
    kdpc__io *io = kdpc__io_of(m);
    if (irp == io->pnp_irp) {
        int depth = pnp_depth(io, dev);
        if (depth >= 0 && (unsigned)depth < io->pnp_low)
            io->pnp_low = (unsigned)depth;
    }
    if (first && irp != io->pnp_irp)
        check_first_send(m, irp, s, dev, caller);
    else if (!first && major == IRP_MJ_PNP)
        check_forward(m, r, irp, s, dev, caller);
    if (major == IRP_MJ_PNP && irp->IoStatus.Status != STATUS_NOT_SUPPORTED)
        r->pnp_answered = true;
}

void kdpc__io_pnp_on_complete(kdpc_machine *m, PIRP irp, kdpc__irprec *r, uintptr_t caller)
{
    if (r == NULL || irp->CurrentLocation > irp->StackCount || irp->CurrentLocation < 1)
        return;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    UCHAR major = s->MajorFunction, minor = s->MinorFunction;
    if (major != IRP_MJ_PNP && major != IRP_MJ_SYSTEM_CONTROL)
        return;
    PDEVICE_OBJECT dev = s->DeviceObject;
    if (dev == NULL || kdpc__io_devrec(m, dev) == NULL)
        return;
    NTSTATUS st = irp->IoStatus.Status;
    /* it never went below this location: the device completes what it got */
    bool kept = r->low_loc >= irp->CurrentLocation;
    PDEVICE_OBJECT lower = kept ? kdpc__io_lower_device(m, dev) : NULL;
    if (major == IRP_MJ_SYSTEM_CONTROL) {
        if (lower != NULL && kdpc__io_wmi_minor(minor) &&
            s->Parameters.WMI.ProviderId != (ULONG_PTR)dev)
            kdpc__violation(m, KDPC_R_WMI_NOT_FORWARDED, 0xC9, 0x220, caller, (uintptr_t)irp,
                            (uintptr_t)dev, NULL,
                            "WMI IRP minor %#x (IRP %p) completed by device %p, but its "
                            "Parameters.WMI.ProviderId is %p: an IRP for another provider is "
                            "passed down (WmiSystemControl's IrpForward)",
                            (unsigned)minor, (void *)irp, (void *)dev,
                            (void *)s->Parameters.WMI.ProviderId);
        return;
    }
    if (st == STATUS_NOT_SUPPORTED && r->pnp_answered)
        status_reverted(m, irp, dev, minor, caller, "completed");
    else if (lower != NULL && st == STATUS_NOT_SUPPORTED)
        kdpc__violation(m, KDPC_R_PNP_NOT_PASSED_DOWN, 0xC9, 0x22F, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "device %p completed PnP IRP minor %#x (IRP %p) untouched or with "
                        "STATUS_NOT_SUPPORTED instead of passing it to the driver below it "
                        "(IoSkipCurrentIrpStackLocation, IoCallDriver)",
                        (void *)dev, (unsigned)minor, (void *)irp);
    else if (lower != NULL && NT_SUCCESS(st) && minor != IRP_MN_QUERY_INTERFACE)
        kdpc__violation(m, KDPC_R_PNP_NOT_PASSED_DOWN, 0xC9, 0x22E, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "device %p completed PnP IRP minor %#x (IRP %p) with success without "
                        "passing it to the driver below it: every driver of the stack gets a "
                        "PnP IRP that nobody fails",
                        (void *)dev, (unsigned)minor, (void *)irp);
    if (st != STATUS_NOT_SUPPORTED)
        r->pnp_answered = true;
}

/* Depth of @dev in the stack the outstanding PnP IRP was sent to: 0 the PDO, i + 1 the device
 * i above it; -1 when not in it. */
static int pnp_depth(const kdpc__io *io, PDEVICE_OBJECT dev)
{
    if (dev == io->pnp_pdo)
        return 0;
    for (unsigned i = 0; i < io->pnp_nstack; i++) {
        if (io->pnp_stack[i] == dev)
            return (int)i + 1;
    }
    return -1;
}

void kdpc__io_pnp_on_detach(kdpc_machine *m, PDEVICE_OBJECT target, uintptr_t caller)
{
    kdpc__io *io = kdpc__io_of(m);
    PDEVICE_OBJECT dev = target->AttachedDevice;
    if (io->pnp_irp == NULL || io->pnp_minor != IRP_MN_SURPRISE_REMOVAL || dev == NULL ||
        pnp_depth(io, dev) <= 0)
        return;
    kdpc__violation(m, KDPC_R_PNP_SURPRISE_DELETE, 0xC9, 0x241, caller, (uintptr_t)io->pnp_irp,
                    (uintptr_t)dev, NULL,
                    "device %p detached itself from %p while handling IRP_MN_SURPRISE_REMOVAL: "
                    "detach and delete when IRP_MN_REMOVE_DEVICE comes",
                    (void *)dev, (void *)target);
}

void kdpc__io_pnp_on_delete(kdpc_machine *m, PDEVICE_OBJECT dev, uintptr_t caller)
{
    kdpc__io *io = kdpc__io_of(m);
    kdpc__devrec *d = kdpc__io_devrec(m, dev);
    if (d != NULL && d->wmi_registered) {
        d->wmi_registered = false;
        kdpc__violation(m, KDPC_R_WMI_REGISTERED, 0xC4, 0xDB, (uintptr_t)dev, 0, 0, NULL,
                        "IoDeleteDevice(%p): the device object is still registered with WMI; "
                        "IoWMIRegistrationControl(WMIREG_ACTION_DEREGISTER) first",
                        (void *)dev);
    }
    int depth = io->pnp_irp != NULL ? pnp_depth(io, dev) : -1;
    if (depth <= 0)
        return;
    PIRP irp = io->pnp_irp;
    if (io->pnp_minor == IRP_MN_SURPRISE_REMOVAL)
        kdpc__violation(m, KDPC_R_PNP_SURPRISE_DELETE, 0xC9, 0x242, caller, (uintptr_t)irp,
                        (uintptr_t)dev, NULL,
                        "IoDeleteDevice(%p) while handling IRP_MN_SURPRISE_REMOVAL: the device "
                        "object stays until IRP_MN_REMOVE_DEVICE",
                        (void *)dev);
    /* still held by the stack (not completed: one a driver failed is pnp.must_not_fail's) and
     * never sent below this device */
    if (io->pnp_minor == IRP_MN_REMOVE_DEVICE && irp->CurrentLocation <= irp->StackCount &&
        io->pnp_low >= (unsigned)depth)
        kdpc__violation(m, KDPC_R_PNP_DELETE_EARLY, 0, (uintptr_t)dev, (uintptr_t)irp, 0, 0, NULL,
                        "IoDeleteDevice(%p) while handling IRP_MN_REMOVE_DEVICE before passing "
                        "the IRP down: pass it to the lower driver (IoCallDriver), then detach "
                        "and delete",
                        (void *)dev);
}
