/* SPDX-License-Identifier: MIT */
/*
 * controller.c - controller objects: IoCreateController, IoAllocateController,
 * IoFreeController, IoDeleteController (docs/facts/io.md 5.13-5.15).
 *
 * A controller serialises devices that share hardware: IoAllocateController
 * runs ControllerControl at once when the controller is free, otherwise
 * queues it FIFO; IoFreeController runs the next one inside the call. The
 * IRP a grant was for (Dev->CurrentIrp) must not complete while the
 * controller is still held for it (controller.held, bug check with code 0).
 *
 * Objects: a controller pointer that is not a live controller object (NULL,
 * never created, deleted) and a device that is not a live device object are
 * the fault Windows takes reading them (io.invalid_object: 0x50, 0x1E or
 * 0xA, see validate.c); with the rule off or a warning the call does nothing.
 */
#include <stdlib.h>

#include "io/io.h"
#include "verifier/ddiirql.h"

typedef struct waiter {
    PDEVICE_OBJECT dev;
    PDRIVER_CONTROL routine;
    PVOID ctx;
    struct waiter *next;
} waiter;

typedef struct kdpc__controller {
    CONTROLLER_OBJECT pub; /* first */
    bool busy;
    PIRP irp;             /* the IRP of the current grant */
    bool in_control;      /* ControllerControl is running */
    bool done_in_control; /* ... and completed its IRP (fine if it returns DeallocateObject) */
    waiter *queue, *tail;
    struct kdpc__controller *next;
    size_t ext_size; /* bytes of ext[] */
    _Alignas(16) unsigned char ext[];
} kdpc__controller;

static kdpc__controller *C(PCONTROLLER_OBJECT c)
{
    return (kdpc__controller *)(void *)c;
}

PCONTROLLER_OBJECT kdpc_IoCreateController(ULONG Size)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCreateController", &c);
    if (m == NULL)
        return NULL;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoCreateController", 0); /* goes on */
    if (kdpc__pool_fail(m))
        return NULL;
    kdpc__controller *k = calloc(1, sizeof(*k) + Size);
    if (k == NULL)
        return NULL;
    if (!kdpc__io_register(m, &k->pub, KDPC_IOK_CONTROLLER)) {
        free(k);
        return NULL;
    }
    k->pub.Type = IO_TYPE_CONTROLLER;
    /* as Windows sets it: the object and its extension (saturated: Size is a CSHORT) */
    k->pub.Size =
        (CSHORT)(Size <= 0x7FFFu - sizeof(CONTROLLER_OBJECT) ? sizeof(CONTROLLER_OBJECT) + Size
                                                             : 0x7FFFu);
    k->pub.ControllerExtension = Size != 0 ? k->ext : NULL;
    k->ext_size = Size;
    kdpc__io *io = kdpc__io_of(m);
    k->next = io->controllers;
    io->controllers = k;
    kdpc__ke_point(m);
    return &k->pub;
}

/* Grant the controller to the head of the queue (it is free). */
static void grant(kdpc_machine *m, kdpc__controller *k)
{
    while (!k->busy && k->queue != NULL) {
        waiter *w = k->queue;
        k->queue = w->next;
        if (k->queue == NULL)
            k->tail = NULL;
        /* freed before the routine runs: a bug check inside it ends the run there */
        PDEVICE_OBJECT dev = w->dev;
        PDRIVER_CONTROL routine = w->routine;
        PVOID ctx = w->ctx;
        free(w);
        k->busy = true;
        k->irp = dev->CurrentIrp;
        if (k->irp != NULL)
            kdpc__io_irp_note(k->irp, "ControllerControl");
        PIRP irp = k->irp;
        k->in_control = true;
        k->done_in_control = false;
        IO_ALLOCATION_ACTION act = kdpc__io_call_control(routine, dev, NULL, ctx);
        k->in_control = false;
        if (act == DeallocateObject) {
            k->busy = false;
            k->irp = NULL;
        } else if (k->done_in_control) {
            /* 5.5: a routine that completes the IRP must return DeallocateObject */
            kdpc__violation(m, KDPC_R_CONTROLLER_HELD, 0, (uintptr_t)&k->pub, (uintptr_t)irp, 0, 0,
                            NULL,
                            "ControllerControl completed IRP %p and kept controller %p "
                            "(KeepObject): return DeallocateObject",
                            (void *)irp, (void *)&k->pub);
        }
    }
}

/*
 * Divergence: AllocateAdapterChannel and IoAllocateController must be called
 * at DISPATCH_LEVEL, and on Windows the routine runs at the caller's IRQL
 * (or at DISPATCH_LEVEL when it runs later, from the free). kdpc raises to
 * DISPATCH_LEVEL around the routine whatever the caller's IRQL, so the
 * routine always sees the IRQL its documentation promises.
 */
IO_ALLOCATION_ACTION kdpc__io_call_control(PDRIVER_CONTROL routine, PDEVICE_OBJECT dev, PVOID base,
                                           PVOID ctx)
{
    KIRQL old = kdpc__self()->cpu->irql;
    if (old < DISPATCH_LEVEL)
        kdpc_KeRaiseIrql(DISPATCH_LEVEL, &old);
    IO_ALLOCATION_ACTION act = routine(dev, dev->CurrentIrp, base, ctx);
    if (old < DISPATCH_LEVEL)
        kdpc_KeLowerIrql(old);
    return act;
}

void kdpc_IoAllocateController(PCONTROLLER_OBJECT ControllerObject, PDEVICE_OBJECT DeviceObject,
                               PDRIVER_CONTROL ExecutionRoutine, PVOID Context)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAllocateController", &c);
    kdpc_routine_ptr fn = KDPC_RP(kdpc_IoAllocateController);
    if (m == NULL ||
        !kdpc__io_need(m, "IoAllocateController", fn, ControllerObject, KDPC_IOK_CONTROLLER) ||
        !kdpc__io_need(m, "IoAllocateController", fn, DeviceObject, KDPC_IOK_DEVICE) ||
        ExecutionRoutine == NULL)
        return;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoAllocateController", (uintptr_t)ControllerObject);
    kdpc__controller *k = C(ControllerObject);
    waiter *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return;
    w->dev = DeviceObject;
    w->routine = ExecutionRoutine;
    w->ctx = Context;
    if (k->tail != NULL)
        k->tail->next = w;
    else
        k->queue = w;
    k->tail = w;
    grant(m, k);
    kdpc__ke_point(m);
}

void kdpc_IoFreeController(PCONTROLLER_OBJECT ControllerObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoFreeController", &c);
    if (m == NULL || !kdpc__io_need(m, "IoFreeController", KDPC_RP(kdpc_IoFreeController),
                                    ControllerObject, KDPC_IOK_CONTROLLER))
        return;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoFreeController", (uintptr_t)ControllerObject);
    kdpc__controller *k = C(ControllerObject);
    k->busy = false;
    k->irp = NULL;
    grant(m, k);
    kdpc__ke_point(m);
}

void kdpc_IoDeleteController(PCONTROLLER_OBJECT ControllerObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoDeleteController", &c);
    if (m == NULL || !kdpc__io_need(m, "IoDeleteController", KDPC_RP(kdpc_IoDeleteController),
                                    ControllerObject, KDPC_IOK_CONTROLLER))
        return;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoDeleteController", (uintptr_t)ControllerObject);
    kdpc__io_unregister(m, ControllerObject);
    kdpc__io *io = kdpc__io_of(m);
    for (kdpc__controller **p = &io->controllers; *p != NULL; p = &(*p)->next) {
        if (*p == C(ControllerObject)) {
            kdpc__controller *k = *p;
            *p = k->next;
            while (k->queue != NULL) {
                waiter *w = k->queue;
                k->queue = w->next;
                free(w);
            }
            kdpc__trace_forget(m, k, sizeof(*k) + k->ext_size); /* as pool memory is */
            free(k);
            break;
        }
    }
    kdpc__ke_point(m);
}

void kdpc__io_controller_completion(kdpc_machine *m, PIRP irp)
{
    for (kdpc__controller *k = kdpc__io_of(m)->controllers; k != NULL; k = k->next) {
        if (k->busy && k->irp == irp && k->in_control) {
            k->done_in_control = true; /* judged by what the routine returns */
            k->irp = NULL;
        } else if (k->busy && k->irp == irp) {
            kdpc__violation(m, KDPC_R_CONTROLLER_HELD, 0, (uintptr_t)&k->pub, (uintptr_t)irp, 0, 0,
                            NULL,
                            "IRP %p completed while controller %p is still held for it: "
                            "IoFreeController first",
                            (void *)irp, (void *)&k->pub);
            k->irp = NULL;
        }
    }
}

void kdpc__io_controllers_free(kdpc_machine *m)
{
    kdpc__io *io = kdpc__io_of(m);
    while (io->controllers != NULL) {
        kdpc__controller *k = io->controllers;
        io->controllers = k->next;
        while (k->queue != NULL) {
            waiter *w = k->queue;
            k->queue = w->next;
            free(w);
        }
        free(k);
    }
}
