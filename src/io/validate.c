/* SPDX-License-Identifier: MIT */
/*
 * validate.c - what an I/O manager object pointer names, found without
 * reading it (rule io.invalid_object).
 *
 * DESIGN
 * A driver can hand the I/O manager NULL, memory it never initialised
 * (zero-filled or 0xCC-filled), an object it already freed, or an object of
 * another type. Windows' checked paths and Driver Verifier notice some of
 * these by the object's Type and Size fields; the rest fault inside the I/O
 * manager. kdpc must notice all of them *before* it reads the pointer, so it
 * keeps a registry: IRPs in their own map (irp.c), every other object it
 * creates (device, driver, work item, MDL, controller, DMA adapter, error log
 * entry, initialised cancel-safe queue) here, address -> kind. Only a
 * registered address of the right kind is read, and then its Type and Size
 * must still be what kdpc (as Windows) set: IRP Type 6 with Size
 * sizeof(IRP) + StackCount stack locations, DEVICE_OBJECT Type 3 with Size
 * sizeof(DEVICE_OBJECT) + extension size, DRIVER_OBJECT Type 4 with Size
 * sizeof(DRIVER_OBJECT), CONTROLLER_OBJECT Type 5 with Size
 * sizeof(CONTROLLER_OBJECT) + extension size.
 *
 * The last KDPC_IO_RETIRED objects freed are remembered with their kind, so a
 * second free or a use after free is reported as such rather than as garbage.
 *
 * Bug check codes: where Driver Verifier's I/O Verification or a checked path
 * has a check of its own, the caller uses its code (0xC9 subcodes 0x01, 0x03,
 * 0x04, 0x204, 0x240, 0x202; 0x44; 0xC2 for pool the I/O manager frees).
 * Elsewhere Windows would simply read the pointer and fault; kdpc reports
 * that fault before the read, as the kernel objects' checks do (obj.invalid):
 *  - at or above DISPATCH_LEVEL: 0xA IRQL_NOT_LESS_OR_EQUAL (P1 = the
 *    object, P2 = the IRQL, P3 = 0 read, P4 = the I/O manager routine);
 *  - below it, NULL or an address no object can have (the NULL page, a
 *    non-canonical 0xCC... pattern, misaligned): 0x1E KMODE_EXCEPTION_NOT_HANDLED
 *    (P1 = 0xC0000005 access violation, P2 = the routine, P3 = 0, P4 = the
 *    address);
 *  - below it, any other address: 0x50 PAGE_FAULT_IN_NONPAGED_AREA (P1 =
 *    the object, P2 = 0 read, P3 = the routine, P4 = 0 for an object freed
 *    already, 2 for memory that never held one).
 * Divergence: Windows faults only when the memory is unmapped (or, under
 * special pool, freed); a zero- or 0xCC-filled object it reads, and faults
 * later, or not at all. kdpc never reads it and reports at the call.
 */
#include <stdio.h>

#include "io/io.h"

static kdpc__io *IO(kdpc_machine *m)
{
    return kdpc__io_of(m);
}

bool kdpc__io_register(kdpc_machine *m, const void *p, kdpc__iokind kind)
{
    kdpc__io *io = IO(m);
    uintptr_t a = (uintptr_t)p;
    void *idx = kdpc__ptrmap_del(&io->retired, a);
    if (idx != NULL) /* the address is reused: it is no longer a freed object */
        io->retired_addr[(uintptr_t)idx - 1u] = 0;
    return kdpc__ptrmap_put(&io->objs, a, (void *)(uintptr_t)kind);
}

void kdpc__io_retire(kdpc_machine *m, const void *p, kdpc__iokind kind)
{
    kdpc__io *io = IO(m);
    uintptr_t a = (uintptr_t)p;
    if (a <= 1)
        return;
    void *old = kdpc__ptrmap_del(&io->retired, a);
    if (old != NULL)
        io->retired_addr[(uintptr_t)old - 1u] = 0;
    unsigned i = io->retired_next;
    if (io->retired_addr[i] != 0)
        (void)kdpc__ptrmap_del(&io->retired, io->retired_addr[i]);
    io->retired_addr[i] = a;
    io->retired_kind[i] = (uint8_t)kind;
    if (!kdpc__ptrmap_put(&io->retired, a, (void *)(uintptr_t)(i + 1u)))
        io->retired_addr[i] = 0; /* no memory: forgotten, reported as garbage instead */
    io->retired_next = (i + 1u) % KDPC_IO_RETIRED;
}

void kdpc__io_unregister(kdpc_machine *m, const void *p)
{
    kdpc__io *io = IO(m);
    void *k = kdpc__ptrmap_del(&io->objs, (uintptr_t)p);
    if (k != NULL)
        kdpc__io_retire(m, p, (kdpc__iokind)(uintptr_t)k);
}

kdpc__iokind kdpc__io_live_kind(kdpc_machine *m, const void *p)
{
    kdpc__io *io = IO(m);
    if (p == NULL)
        return KDPC_IOK_NONE;
    if (io->irp_map.live != 0 && kdpc__ptrmap_get(&io->irp_map, (uintptr_t)p) != NULL)
        return KDPC_IOK_IRP;
    return (kdpc__iokind)(uintptr_t)kdpc__ptrmap_get(&io->objs, (uintptr_t)p);
}

kdpc__iokind kdpc__io_retired_kind(kdpc_machine *m, const void *p)
{
    kdpc__io *io = IO(m);
    void *idx = kdpc__ptrmap_get(&io->retired, (uintptr_t)p);
    return idx != NULL ? (kdpc__iokind)io->retired_kind[(uintptr_t)idx - 1u] : KDPC_IOK_NONE;
}

bool kdpc__io_valid(kdpc_machine *m, const void *p, kdpc__iokind kind)
{
    if (p == NULL || kdpc__io_live_kind(m, p) != kind)
        return false;
    switch (kind) {
    case KDPC_IOK_IRP: {
        const IRP *irp = p;
        return irp->Type == IO_TYPE_IRP && irp->StackCount >= 1 &&
               irp->Size ==
                   (USHORT)(sizeof(IRP) + (size_t)irp->StackCount * sizeof(IO_STACK_LOCATION));
    }
    case KDPC_IOK_DEVICE: {
        const kdpc__devrec *d = CONTAINING_RECORD(p, kdpc__devrec, obj);
        return d->obj.Type == IO_TYPE_DEVICE &&
               d->obj.Size == (USHORT)(sizeof(DEVICE_OBJECT) + d->ext_size);
    }
    case KDPC_IOK_DRIVER: {
        const DRIVER_OBJECT *drv = p;
        return drv->Type == IO_TYPE_DRIVER && drv->Size == (CSHORT)sizeof(DRIVER_OBJECT);
    }
    case KDPC_IOK_CONTROLLER: {
        const CONTROLLER_OBJECT *c = p;
        return c->Type == IO_TYPE_CONTROLLER && c->Size >= (CSHORT)sizeof(CONTROLLER_OBJECT);
    }
    default:
        return true;
    }
}

static const char *kind_name(kdpc__iokind k)
{
    switch (k) {
    case KDPC_IOK_IRP:
        return "an IRP";
    case KDPC_IOK_DEVICE:
        return "a device object";
    case KDPC_IOK_DRIVER:
        return "a driver object";
    case KDPC_IOK_WORKITEM:
        return "an I/O work item";
    case KDPC_IOK_MDL:
        return "an MDL";
    case KDPC_IOK_CONTROLLER:
        return "a controller object";
    case KDPC_IOK_ADAPTER:
        return "a DMA adapter";
    case KDPC_IOK_ERRLOG:
        return "an error log entry";
    case KDPC_IOK_CSQ:
        return "a cancel-safe queue";
    default:
        return "an object";
    }
}

/* What @p is, for the report: never read unless it is live. */
static const char *describe(kdpc_machine *m, const void *p, kdpc__iokind want, char *buf, size_t n)
{
    if (p == NULL) {
        snprintf(buf, n, "NULL where %s is required", kind_name(want));
        return buf;
    }
    kdpc__iokind live = kdpc__io_live_kind(m, p);
    if (live == want) {
        snprintf(buf, n, "%s whose Type or Size field was overwritten", kind_name(want));
        return buf;
    }
    if (live != KDPC_IOK_NONE) {
        snprintf(buf, n, "%s, not %s (wrong object type)", kind_name(live), kind_name(want));
        return buf;
    }
    kdpc__iokind gone = kdpc__io_retired_kind(m, p);
    if (gone == want) {
        snprintf(buf, n, "%s that was already freed (a double free or a use after free)",
                 kind_name(want));
        return buf;
    }
    if (gone != KDPC_IOK_NONE) {
        snprintf(buf, n, "a freed %s, not %s",
                 kind_name(gone) + (kind_name(gone)[1] == 'n' ? 3 : 2), kind_name(want));
        return buf;
    }
    snprintf(buf, n,
             "not %s kdpc created: never initialised (zero- or 0xCC-filled), overwritten, or "
             "memory of the driver's own",
             kind_name(want));
    return buf;
}

void kdpc__io_invalid(kdpc_machine *m, const char *routine, const void *p, kdpc__iokind want,
                      uint32_t code, uint64_t p1, uint64_t p2, uint64_t p3, uint64_t p4)
{
    char what[160];
    kdpc__violation(m, KDPC_R_IO_INVALID_OBJECT, code, p1, p2, p3, p4, NULL, "%s(%p): %s", routine,
                    p, describe(m, p, want, what, sizeof(what)));
}

void kdpc__io_invalid_access(kdpc_machine *m, const char *routine, kdpc_routine_ptr fn,
                             const void *p, kdpc__iokind want)
{
    const kdpc__cpu *c = kdpc__cur_cpu();
    KIRQL irql = c != NULL ? c->irql : PASSIVE_LEVEL;
    uintptr_t a = (uintptr_t)p;
    if (irql >= DISPATCH_LEVEL)
        kdpc__io_invalid(m, routine, p, want, 0xA, a, irql, 0, kdpc__fnaddr(fn));
    else if (kdpc__ke_bad_ptr(p))
        kdpc__io_invalid(m, routine, p, want, 0x1E, 0xC0000005u, kdpc__fnaddr(fn), 0, a);
    else
        kdpc__io_invalid(m, routine, p, want, 0x50, a, 0, kdpc__fnaddr(fn),
                         kdpc__io_retired_kind(m, p) != KDPC_IOK_NONE ? 0u : 2u);
}

bool kdpc__io_need(kdpc_machine *m, const char *routine, kdpc_routine_ptr fn, const void *p,
                   kdpc__iokind kind)
{
    if (kdpc__io_valid(m, p, kind))
        return true;
    kdpc__io_invalid_access(m, routine, fn, p, kind);
    return false;
}

void kdpc__io_forget_range(kdpc_machine *m, const void *lo, size_t bytes)
{
    kdpc__io *io = IO(m);
    uintptr_t a = (uintptr_t)lo, b = a + bytes;
    if (io->pnp_hooks.forget_range != NULL)
        io->pnp_hooks.forget_range(m, lo, bytes); /* remove locks inside (pnp/removelock.c) */
    for (size_t i = 0; i < io->objs.cap; i++) {
        uintptr_t k = io->objs.keys[i];
        if (k > 1 && k >= a && k < b) {
            kdpc__iokind kind = (kdpc__iokind)(uintptr_t)io->objs.vals[i];
            if (kind == KDPC_IOK_CSQ || kind == KDPC_IOK_WORKITEM)
                kdpc__io_unregister(m, (const void *)k);
        }
    }
}

void kdpc__io_registry_free(kdpc__io *io)
{
    kdpc__ptrmap_free(&io->objs);
    kdpc__ptrmap_free(&io->retired);
}
