/* SPDX-License-Identifier: MIT */
/*
 * stackcheck.c - what Driver Verifier checks of a device stack when the PnP
 * manager gets it back: the device objects AddDevice attached (0xC9/0x243
 * DO_DEVICE_INITIALIZING left set; 0x244-0x246 flags and DeviceType not
 * taken from the device below) and the stack after IRP_MN_REMOVE_DEVICE
 * (0x21D still attached, 0x21E not deleted). WDM DRIVER ERROR parameters:
 * P2 the driver routine (AddDevice, or the PnP dispatch routine), P3 the
 * IRP (0 after AddDevice), P4 the device object. With a rule off or a
 * warning nothing changes: the stack stays as the driver left it.
 * Also pnp.not_pdo (0xC9/0x24D), for the PnP routines that need a PDO.
 */
#include "pnp/pnp.h"

#define IO_FLAGS (DO_BUFFERED_IO | DO_DIRECT_IO)

void kdpc__pnp_check_added(kdpc_machine *m, PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo,
                           PDRIVER_ADD_DEVICE add)
{
    uintptr_t fn = kdpc__fnaddr(KDPC_RP(add));
    PDEVICE_OBJECT lower = pdo;
    for (PDEVICE_OBJECT o = pdo->AttachedDevice; o != NULL; lower = o, o = o->AttachedDevice) {
        if (kdpc__io_devrec(m, o) == NULL)
            return; /* an AttachedDevice the driver overwrote: not read */
        if (o->DriverObject != drv)
            continue;
        if (o->Flags & DO_DEVICE_INITIALIZING)
            kdpc__violation(m, KDPC_R_PNP_ADDDEVICE_INIT, 0xC9, 0x243, fn, 0, (uintptr_t)o,
                            KDPC_RP(add),
                            "AddDevice returned with DO_DEVICE_INITIALIZING still set in device "
                            "%p: clear it (Flags &= ~DO_DEVICE_INITIALIZING) once the device "
                            "object is ready",
                            (void *)o);
        if ((o->Flags & IO_FLAGS) == IO_FLAGS)
            kdpc__violation(m, KDPC_R_DEV_ATTACH_FLAGS, 0xC9, 0x245, fn, 0, (uintptr_t)o,
                            KDPC_RP(add),
                            "device %p has both DO_BUFFERED_IO and DO_DIRECT_IO set: they "
                            "exclude each other",
                            (void *)o);
        else if ((lower->Flags & IO_FLAGS) != 0 && (o->Flags & IO_FLAGS) == 0)
            kdpc__violation(m, KDPC_R_DEV_ATTACH_FLAGS, 0xC9, 0x244, fn, 0, (uintptr_t)o,
                            KDPC_RP(add),
                            "device %p attached to %p, which has %s, without DO_BUFFERED_IO or "
                            "DO_DIRECT_IO: copy the buffering flag of the device below",
                            (void *)o, (void *)lower,
                            (lower->Flags & DO_BUFFERED_IO) ? "DO_BUFFERED_IO" : "DO_DIRECT_IO");
        /* a filter above another driver's device takes its type; over the PDO a function
         * driver picks its own */
        if (lower != pdo && lower->DriverObject != drv && o->DeviceType != lower->DeviceType)
            kdpc__violation(m, KDPC_R_DEV_ATTACH_FLAGS, 0xC9, 0x246, fn, 0, (uintptr_t)o,
                            KDPC_RP(add),
                            "device %p (DeviceType %#lx) attached above device %p (DeviceType "
                            "%#lx) without copying its DeviceType",
                            (void *)o, (unsigned long)o->DeviceType, (void *)lower,
                            (unsigned long)lower->DeviceType);
    }
}

size_t kdpc__pnp_stack_above(PDEVICE_OBJECT pdo, PDEVICE_OBJECT *out, size_t cap)
{
    size_t n = 0;
    for (PDEVICE_OBJECT o = pdo->AttachedDevice; o != NULL && n < cap; o = o->AttachedDevice)
        out[n++] = o;
    return n;
}

void kdpc__pnp_check_removed(kdpc_machine *m, PIRP irp, PDEVICE_OBJECT *was, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        PDEVICE_OBJECT o = was[i];
        kdpc__devrec *d = kdpc__io_devrec(m, o);
        if (d == NULL || d->delete_pending)
            continue; /* deleted, as it should be */
        PDRIVER_DISPATCH fn =
            o->DriverObject != NULL ? o->DriverObject->MajorFunction[IRP_MJ_PNP] : NULL;
        bool attached = kdpc__io_lower_device(m, o) != NULL;
        kdpc__violation(m, KDPC_R_PNP_REMOVE_NOT_DELETED, 0xC9, attached ? 0x21D : 0x21E,
                        fn != NULL ? kdpc__fnaddr(KDPC_RP(fn)) : 0, (uintptr_t)irp, (uintptr_t)o,
                        fn != NULL ? KDPC_RP(fn) : NULL,
                        "IRP_MN_REMOVE_DEVICE came back and device %p is still %s: on remove a "
                        "driver passes the IRP down, then IoDetachDevice and IoDeleteDevice",
                        (void *)o, attached ? "attached to its stack" : "alive (not deleted)");
    }
}

void kdpc__pnp_not_pdo(kdpc_machine *m, const char *routine, PDEVICE_OBJECT dev, uintptr_t caller)
{
    kdpc__violation(m, KDPC_R_PNP_NOT_PDO, 0xC9, 0x24D, caller, 0, (uintptr_t)dev, NULL,
                    "%s(%p): the device object is not a PDO; pass the PhysicalDeviceObject "
                    "AddDevice got, not the driver's own device object",
                    routine, (void *)dev);
}
