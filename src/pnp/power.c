/* SPDX-License-Identifier: MIT */
/*
 * power.c - IRP_MJ_POWER: PoStartNextPowerIrp, PoCallDriver,
 * PoSetPowerState, PoRequestPowerIrp, and the system power changes the
 * native kdpc_power_set_system drives (docs/facts/pnp.md section 3).
 */
#include <stdlib.h>

#include "pnp/pnp.h"

void kdpc_PoStartNextPowerIrp(PIRP Irp)
{
    /* since Windows Vista the call does nothing (fact 3.4) */
    (void)Irp;
}

NTSTATUS kdpc_PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* since Windows Vista the same as IoCallDriver (fact 3.5) */
    return kdpc_IoCallDriver(DeviceObject, Irp);
}

DEVICE_POWER_STATE kdpc__pnp_dpower(kdpc_machine *m, PDEVICE_OBJECT dev)
{
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    if (p == NULL || p->dpower.live == 0)
        return PowerDeviceD0;
    void *v = kdpc__ptrmap_get(&p->dpower, (uintptr_t)dev);
    return v == NULL ? PowerDeviceD0 : (DEVICE_POWER_STATE)(uintptr_t)v;
}

POWER_STATE kdpc_PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type,
                                 POWER_STATE State)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("PoSetPowerState", &c);
    POWER_STATE old = State;
    if (m == NULL || !kdpc__io_need(m, "PoSetPowerState", KDPC_RP(kdpc_PoSetPowerState),
                                    DeviceObject, KDPC_IOK_DEVICE))
        return old;
    if (Type != DevicePowerState)
        return old; /* Windows ignores system states here (fact 3.6) */
    kdpc__pnp *p = kdpc__pnp_of(m, true);
    old.DeviceState = kdpc__pnp_dpower(m, DeviceObject);
    if (p != NULL)
        (void)kdpc__ptrmap_put(&p->dpower, (uintptr_t)DeviceObject,
                               (void *)(uintptr_t)State.DeviceState);
    return old;
}

typedef struct powreq {
    PDEVICE_OBJECT target; /* what PoRequestPowerIrp was given */
    UCHAR minor;
    POWER_STATE state;
    PREQUEST_POWER_COMPLETE fn;
    PVOID ctx;
} powreq;

static NTSTATUS powreq_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev;
    powreq *q = ctx;
    IO_STATUS_BLOCK iosb = irp->IoStatus;
    if (q->minor == IRP_MN_SET_POWER && !NT_SUCCESS(iosb.Status))
        kdpc__pnp_power_failed(kdpc__self() != NULL ? kdpc__self()->m : NULL, irp, q->target,
                               iosb.Status, NULL);
    if (q->fn != NULL)
        q->fn(q->target, q->minor, q->state, q->ctx, &iosb);
    kdpc__io_free_mem(NULL, q);
    IoFreeIrp(irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS kdpc_PoRequestPowerIrp(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction,
                                POWER_STATE PowerState, PREQUEST_POWER_COMPLETE CompletionFunction,
                                PVOID Context, PIRP *Irp)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("PoRequestPowerIrp", &c);
    if (Irp != NULL)
        *Irp = NULL;
    if (m == NULL || !kdpc__io_need(m, "PoRequestPowerIrp", KDPC_RP(kdpc_PoRequestPowerIrp),
                                    DeviceObject, KDPC_IOK_DEVICE))
        return STATUS_INVALID_PARAMETER_1;
    /* RequestedPowerIrp: the pointer is only for a wait-wake IRP (the others may be completed
     * and freed before the call returns); as a warning or off it is filled in as before */
    if (Irp != NULL && MinorFunction != IRP_MN_WAIT_WAKE)
        kdpc__violation(m, KDPC_R_POWER_REQUESTED_IRP, 0xC4, 0x0004100Bu, (uintptr_t)DeviceObject,
                        (uintptr_t)MinorFunction, (uintptr_t)Irp, NULL,
                        "PoRequestPowerIrp(%p, minor %#x) given an Irp out-pointer: pass NULL "
                        "except for IRP_MN_WAIT_WAKE, the IRP may be gone before the call returns",
                        (void *)DeviceObject, (unsigned)MinorFunction);
    if ((MinorFunction != IRP_MN_SET_POWER && MinorFunction != IRP_MN_QUERY_POWER) ||
        PowerState.DeviceState < PowerDeviceD0 || PowerState.DeviceState > PowerDeviceD3)
        return STATUS_INVALID_PARAMETER_2;
    PDEVICE_OBJECT top = kdpc__pnp_top(DeviceObject);
    /* Machine-listed: a run that stops before the IRP comes back leaves it to the machine. */
    powreq *q = kdpc__io_alloc(m, sizeof(*q));
    PIRP irp = q != NULL ? kdpc__io_new_irp(m, top->StackSize) : NULL;
    if (irp == NULL) {
        kdpc__io_free_mem(m, q);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    q->target = DeviceObject;
    q->minor = MinorFunction;
    q->state = PowerState;
    q->fn = CompletionFunction;
    q->ctx = Context;
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    irp->RequestorMode = KernelMode;
    PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(irp);
    s->MajorFunction = IRP_MJ_POWER;
    s->MinorFunction = MinorFunction;
    s->Parameters.Power.Type = DevicePowerState;
    s->Parameters.Power.State = PowerState;
    s->Parameters.Power.ShutdownType = PowerActionNone;
    IoSetCompletionRoutine(irp, powreq_done, q, TRUE, TRUE, TRUE);
    kdpc__io_irp_note(irp, "PoRequestPowerIrp: minor %#x D%d", (unsigned)MinorFunction,
                      (int)PowerState.DeviceState - 1);
    if (Irp != NULL)
        *Irp = irp;
    (void)kdpc_IoCallDriver(top, irp);
    return STATUS_PENDING;
}

/* PowerDownFail, PowerUpFail: a set-power IRP, system or device, the stack completed with a
 * failure (drivers may fail a query, never a set). Reported with I/O verification's code for an
 * IRP that may not fail (0xC9/0x247; P2 the top driver's dispatch routine, P3 the IRP, P4 the
 * device it was sent to): the IRP has come back, so nobody is stopped inside the routine that
 * failed it. As a warning or off the change is taken as made. */
void kdpc__pnp_power_failed(kdpc_machine *m, PIRP irp, PDEVICE_OBJECT dev, NTSTATUS st,
                            PDRIVER_DISPATCH fn)
{
    if (m == NULL)
        return;
    kdpc__violation(m, KDPC_R_PNP_MUST_NOT_FAIL, 0xC9, 0x247,
                    fn != NULL ? kdpc__fnaddr(KDPC_RP(fn)) : 0, (uintptr_t)irp, (uintptr_t)dev,
                    fn != NULL ? KDPC_RP(fn) : NULL,
                    "the device stack of %p failed IRP_MN_SET_POWER (IRP %p) with status %#lx: "
                    "a set-power IRP is never failed (fail the query instead)",
                    (void *)dev, (void *)irp, (unsigned long)(uint32_t)st);
}

/* power.pagable_not_inherited (0xC9/0x23F): after AddDevice (@add of @drv) returned for @pdo,
 * a device object of @drv in the stack that sits on a DO_POWER_PAGABLE device without the flag
 * itself (power IRPs would reach its dispatch routine at DISPATCH_LEVEL while the stack below
 * counts on PASSIVE_LEVEL). P2 AddDevice, P3 0, P4 the device object. As a warning or off the
 * flag stays as the driver left it. */
void kdpc__pnp_check_pagable(kdpc_machine *m, PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo,
                             PDRIVER_ADD_DEVICE add)
{
    PDEVICE_OBJECT above[KDPC_IO_PNP_STACK];
    size_t n = kdpc__pnp_stack_above(pdo, above, KDPC_IO_PNP_STACK);
    PDEVICE_OBJECT below = pdo;
    for (size_t i = 0; i < n; below = above[i], i++) {
        PDEVICE_OBJECT d = above[i];
        if (d->DriverObject != drv || (below->Flags & DO_POWER_PAGABLE) == 0 ||
            (d->Flags & DO_POWER_PAGABLE) != 0)
            continue;
        kdpc__violation(m, KDPC_R_POWER_PAGABLE, 0xC9, 0x23F, kdpc__fnaddr(KDPC_RP(add)), 0,
                        (uintptr_t)d, KDPC_RP(add),
                        "device %p was attached over %p, which has DO_POWER_PAGABLE, without "
                        "setting DO_POWER_PAGABLE itself: copy it from the device below in "
                        "AddDevice",
                        (void *)d, (void *)below);
    }
}

/* ------------------------------------------------------------------ */
/* System power changes (the PnP manager's thread)                     */

typedef struct sysarg {
    SYSTEM_POWER_STATE s;
} sysarg;

static void fill_system(PIO_STACK_LOCATION sl, void *arg)
{
    const sysarg *a = arg;
    sl->Parameters.Power.Type = SystemPowerState;
    sl->Parameters.Power.State.SystemState = a->s;
    sl->Parameters.Power.ShutdownType = a->s == PowerSystemWorking     ? PowerActionNone
                                        : a->s == PowerSystemHibernate ? PowerActionHibernate
                                                                       : PowerActionSleep;
}

/* Send the system power IRPs to the started PDOs of @pdos[0..n). */
static NTSTATUS system_power(kdpc_machine *m, kdpc__pnp *p, SYSTEM_POWER_STATE s,
                             PDEVICE_OBJECT *pdos, size_t n)
{
    sysarg a = {s};
    if (s == PowerSystemWorking) {
        /* wake: parents first; on a flat root bus, the reverse of the sleep order (fact 3.2) */
        for (size_t i = n; i-- > 0;)
            (void)kdpc__pnp_send(m, pdos[i], IRP_MJ_POWER, IRP_MN_SET_POWER, fill_system, &a);
        p->sstate = s;
        return STATUS_SUCCESS;
    }
    for (size_t i = 0; i < n; i++) {
        NTSTATUS st = kdpc__pnp_send(m, pdos[i], IRP_MJ_POWER, IRP_MN_QUERY_POWER, fill_system, &a);
        if (!NT_SUCCESS(st)) {
            sysarg back = {p->sstate};
            for (size_t k = 0; k < i; k++)
                (void)kdpc__pnp_send(m, pdos[k], IRP_MJ_POWER, IRP_MN_SET_POWER, fill_system,
                                     &back);
            return st;
        }
    }
    for (size_t i = 0; i < n; i++)
        (void)kdpc__pnp_send(m, pdos[i], IRP_MJ_POWER, IRP_MN_SET_POWER, fill_system, &a);
    p->sstate = s;
    return STATUS_SUCCESS;
}

/* Every started device gets the IRPs, however many there are (the list is allocated);
 * STATUS_INSUFFICIENT_RESOURCES, nothing sent, when it cannot be. */
NTSTATUS kdpc__pnp_system_power(kdpc_machine *m, kdpc__pnp *p, SYSTEM_POWER_STATE s)
{
    if (s == p->sstate)
        return STATUS_SUCCESS;
    size_t n = 0, cap = 0;
    if (m->dev != NULL) {
        for (kdpc_device *d = kdpc__dev_first(m); d != NULL; d = kdpc__dev_next(d))
            cap++;
    }
    PDEVICE_OBJECT *pdos = NULL;
    if (cap > 0) {
        pdos = kdpc__io_alloc(m, cap * sizeof(*pdos)); /* a bug check inside leaves it listed */
        if (pdos == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        for (kdpc_device *d = kdpc__dev_first(m); d != NULL && n < cap; d = kdpc__dev_next(d)) {
            kdpc__pnpdev *r = kdpc__pnp_dev(d, false);
            if (r != NULL && r->started && r->pdo != NULL)
                pdos[n++] = r->pdo;
        }
    }
    NTSTATUS st = system_power(m, p, s, pdos, n);
    kdpc__io_free_mem(m, pdos);
    return st;
}
