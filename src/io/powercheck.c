/* SPDX-License-Identifier: MIT */
/*
 * powercheck.c - Driver Verifier's checks of power IRPs on their way
 * through IoCallDriver (PoCallDriver) and IoCompleteRequest (bug check
 * 0xC9, "WDM DRIVER ERROR": P2 the caller's address, P3 the IRP, P4 the
 * device object), the power half of pnpcheck.c's PnP checks:
 *   power.irp_status      0x219  a power IRP passed down with a failure
 *                                status other than STATUS_NOT_SUPPORTED
 *   power.not_passed_down 0x230  completed, minor unknown, by a device with
 *                                a device below it, never passed down
 *                         0x231  the same for a successful power IRP
 *                         0x232  the same, untouched (STATUS_NOT_SUPPORTED)
 * A device may fail a power IRP without passing it on (a query it cannot
 * honour): that completion is not judged here (a failed set is
 * pnp.must_not_fail's). What went below the completing device is read from
 * the IRP record's low_loc, kept by pnpcheck.c.
 * Divergence: Verifier rates 0x219, 0x230 and 0x232 non-fatal errors (a
 * debugger break); kdpc bug-checks by default: switch the rule to a warning
 * for the other.
 */
#include "io/io.h"

static bool known_minor(UCHAR minor)
{
    return minor == IRP_MN_WAIT_WAKE || minor == IRP_MN_POWER_SEQUENCE ||
           minor == IRP_MN_SET_POWER || minor == IRP_MN_QUERY_POWER;
}

void kdpc__io_power_on_call(kdpc_machine *m, PIRP irp, kdpc__irprec *r, PDEVICE_OBJECT dev,
                            uintptr_t caller)
{
    /* not a forward: the first send of an IRP is pnp.irp_init's (as pnpcheck.c tells it) */
    if (r == NULL || irp->CurrentLocation <= 1 ||
        (!r->dispatched && irp->CurrentLocation > irp->StackCount))
        return;
    PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(irp);
    NTSTATUS st = irp->IoStatus.Status;
    if (s->MajorFunction != IRP_MJ_POWER || NT_SUCCESS(st) || st == STATUS_NOT_SUPPORTED)
        return;
    kdpc__violation(m, KDPC_R_POWER_IRP_STATUS, 0xC9, 0x219, caller, (uintptr_t)irp, (uintptr_t)dev,
                    NULL,
                    "power IRP minor %#x (IRP %p) passed down with the failure status %#lx: a "
                    "driver that fails a power IRP completes it",
                    (unsigned)s->MinorFunction, (void *)irp, (unsigned long)(uint32_t)st);
}

void kdpc__io_power_on_complete(kdpc_machine *m, PIRP irp, kdpc__irprec *r, uintptr_t caller)
{
    if (r == NULL || irp->CurrentLocation > irp->StackCount || irp->CurrentLocation < 1)
        return;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    if (s->MajorFunction != IRP_MJ_POWER)
        return;
    PDEVICE_OBJECT dev = s->DeviceObject;
    /* it never went below this location, and there is a driver below to pass it to */
    if (dev == NULL || kdpc__io_devrec(m, dev) == NULL || r->low_loc < irp->CurrentLocation ||
        kdpc__io_lower_device(m, dev) == NULL)
        return;
    NTSTATUS st = irp->IoStatus.Status;
    UCHAR minor = s->MinorFunction;
    uint32_t code = !known_minor(minor) && (NT_SUCCESS(st) || st == STATUS_NOT_SUPPORTED) ? 0x230
                    : st == STATUS_NOT_SUPPORTED                                          ? 0x232
                    : NT_SUCCESS(st)                                                      ? 0x231
                                                                                          : 0;
    if (code == 0)
        return; /* failed: may be (a query), or is pnp.must_not_fail's (a set) */
    kdpc__violation(m, KDPC_R_POWER_NOT_PASSED_DOWN, 0xC9, code, caller, (uintptr_t)irp,
                    (uintptr_t)dev, NULL,
                    "device %p completed power IRP minor %#x (IRP %p, status %#lx) instead of "
                    "passing it to the driver below it (PoStartNextPowerIrp, "
                    "IoSkipCurrentIrpStackLocation, PoCallDriver)",
                    (void *)dev, (unsigned)minor, (void *)irp, (unsigned long)(uint32_t)st);
}
