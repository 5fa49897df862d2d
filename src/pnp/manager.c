/* SPDX-License-Identifier: MIT */
/*
 * manager.c - the PnP manager's system thread and its request queue, and
 * what it does for each request: AddDevice and IRP_MN_START_DEVICE, the
 * removals (orderly and surprise), a rebalance, a system power change
 * (docs/facts/pnp.md sections 1 and 2).
 */
#include <stdlib.h>
#include <string.h>

#include "pnp/pnp.h"

kdpc__pnp *kdpc__pnp_of(kdpc_machine *m, bool create)
{
    kdpc__io *io = kdpc__io_of(m);
    if (io == NULL)
        return NULL;
    if (io->pnp == NULL && create) {
        kdpc__pnp *p = calloc(1, sizeof(*p));
        if (p == NULL)
            return NULL;
        p->sstate = PowerSystemWorking;
        io->pnp = p;
    }
    return io->pnp;
}

static void free_record(kdpc__pnpdev *r)
{
    if (r == NULL)
        return;
    free(r->raw);
    free(r->translated);
    free(r);
}

static void free_pnp_hook(kdpc_machine *m, kdpc_device *dev, void *pnp)
{
    (void)m;
    (void)dev;
    free_record(pnp);
}

kdpc__pnpdev *kdpc__pnp_dev(kdpc_device *d, bool create)
{
    void **slot = kdpc__dev_pnp_slot(d);
    if (*slot == NULL && create) {
        kdpc__pnpdev *r = calloc(1, sizeof(*r));
        if (r == NULL)
            return NULL;
        r->dev = d;
        kdpc__dev_hooks_of(kdpc_device_machine(d))->free_pnp = free_pnp_hook;
        *slot = r;
    }
    return *slot;
}

void kdpc__pnp_free(kdpc_machine *m)
{
    kdpc__io *io = kdpc__io_of(m);
    if (io == NULL || io->pnp == NULL)
        return;
    kdpc__pnp *p = io->pnp;
    if (m->dev != NULL) {
        for (kdpc_device *d = kdpc__dev_first(m); d != NULL; d = kdpc__dev_next(d)) {
            void **slot = kdpc__dev_pnp_slot(d);
            free_record(*slot);
            *slot = NULL;
        }
    }
    while (p->head != NULL) {
        kdpc__pnpreq *r = p->head;
        p->head = r->next;
        if (!r->waited)
            free(r);
    }
    kdpc__ptrmap_free(&p->dpower);
    kdpc__pnp_locks_free(p);
    kdpc__pnp_ifaces_free(p);
    free(p);
    io->pnp = NULL;
}

bool kdpc__pnp_on_manager(kdpc_machine *m)
{
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    kdpc__thread *t = kdpc__self();
    return p != NULL && t != NULL && p->thread != NULL && t->ke == p->thread;
}

/* ------------------------------------------------------------------ */
/* Sending IRPs                                                        */

static NTSTATUS sent_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev;
    (void)irp;
    KeSetEvent((PKEVENT)ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS kdpc__pnp_send(kdpc_machine *m, PDEVICE_OBJECT pdo, UCHAR major, UCHAR minor,
                        void (*fill)(PIO_STACK_LOCATION s, void *arg), void *arg)
{
    PDEVICE_OBJECT top = kdpc__pnp_top(pdo);
    PIRP irp = kdpc__io_new_irp(m, top->StackSize);
    if (irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    /* what no driver handles stays "not supported" (fact 1.4) */
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    irp->IoStatus.Information = 0;
    irp->RequestorMode = KernelMode;
    PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(irp);
    s->MajorFunction = major;
    s->MinorFunction = minor;
    if (fill != NULL)
        fill(s, arg);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IoSetCompletionRoutine(irp, sent_done, &ev, TRUE, TRUE, TRUE);
    kdpc__io_irp_note(irp, "PnP manager: major %#x minor %#x", (unsigned)major, (unsigned)minor);
    /* reports name the dispatch routine the thread runs, not the PnP manager's loop */
    kdpc__thread *self = kdpc__self();
    kdpc_routine_ptr saved = self->routine;
    PDRIVER_DISPATCH fn =
        top->DriverObject != NULL ? top->DriverObject->MajorFunction[major] : NULL;
    if (fn != NULL)
        self->routine = KDPC_RP(fn);
    /* the stack before a remove, and the IRP the io layer's checks know as the PnP manager's
     * (pnpcheck.c, stackcheck.c) */
    kdpc__io *io = kdpc__io_of(m);
    size_t nwas = 0;
    if (major == IRP_MJ_PNP) {
        nwas = kdpc__pnp_stack_above(pdo, io->pnp_stack, KDPC_IO_PNP_STACK);
        io->pnp_irp = irp;
        io->pnp_minor = minor;
        io->pnp_pdo = pdo;
        io->pnp_nstack = (unsigned)nwas;
        io->pnp_low = (unsigned)nwas + 1; /* above the top: not sent yet */
    }
    PDEVICE_OBJECT was[KDPC_IO_PNP_STACK];
    memcpy(was, io->pnp_stack, nwas * sizeof(was[0]));
    NTSTATUS st = IoCallDriver(top, irp);
    kdpc__self()->routine = saved;
    (void)st;
    (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    io->pnp_irp = NULL;
    NTSTATUS final = irp->IoStatus.Status;
    IoFreeIrp(irp);
    if (major == IRP_MJ_POWER && minor == IRP_MN_SET_POWER && !NT_SUCCESS(final)) {
        kdpc__pnp_power_failed(m, irp, top, final, fn); /* PowerDownFail, PowerUpFail */
        final = STATUS_SUCCESS;
    }
    if (major == IRP_MJ_PNP && minor == IRP_MN_REMOVE_DEVICE && nwas > 0 &&
        NT_SUCCESS(final)) /* a failed remove is pnp.must_not_fail's, below */
        kdpc__pnp_check_removed(m, irp, was, nwas);
    if (major == IRP_MJ_PNP && !NT_SUCCESS(final) &&
        (minor == IRP_MN_REMOVE_DEVICE || minor == IRP_MN_SURPRISE_REMOVAL ||
         minor == IRP_MN_CANCEL_REMOVE_DEVICE || minor == IRP_MN_CANCEL_STOP_DEVICE)) {
        /* drivers must not fail these (fact 2.1): Verifier's PnpRemove. Divergence: I/O
         * verification also stops this at the IoCompleteRequest (0xC9/0x247, 0x306); kdpc
         * reports it once, here, with the DDI compliance code */
        kdpc__violation(m, KDPC_R_PNP_MUST_NOT_FAIL, 0xC4, 0x00043006u, minor, (uint32_t) final,
                        (uintptr_t)top, fn != NULL ? KDPC_RP(fn) : NULL,
                        "the device stack failed PnP IRP minor %#x with status %#x; "
                        "REMOVE, SURPRISE_REMOVAL, CANCEL_REMOVE and CANCEL_STOP must succeed",
                        (unsigned)minor, (unsigned) final);
        final = STATUS_SUCCESS;
    }
    return final;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

static kdpc__drvrec *driver_named(kdpc_machine *m, const char *name)
{
    static const char prefix[] = "\\Driver\\";
    size_t np = sizeof(prefix) - 1, nn = strlen(name);
    for (kdpc__drvrec *r = kdpc__io_of(m)->drivers; r != NULL; r = r->next) {
        const UNICODE_STRING *dn = &r->obj.DriverName;
        if (dn->Length / sizeof(WCHAR) != np + nn)
            continue;
        bool same = true;
        for (size_t i = 0; i < np + nn && same; i++) {
            char ch = i < np ? prefix[i] : name[i - np];
            same = dn->Buffer[i] == (WCHAR)(unsigned char)ch;
        }
        if (same)
            return r;
    }
    return NULL;
}

static void *swap_driver(void *driver)
{
    struct _KTHREAD *kt = kdpc__self()->ke;
    void *old = kt->driver;
    kt->driver = driver;
    return old;
}

static void fill_start(PIO_STACK_LOCATION s, void *arg)
{
    kdpc__pnpdev *r = arg;
    s->Parameters.StartDevice.AllocatedResources = r->raw;
    s->Parameters.StartDevice.AllocatedResourcesTranslated = r->translated;
}

static void delete_pdo(kdpc_machine *m, kdpc__pnpdev *r)
{
    if (r->pdo != NULL)
        kdpc__pnp_ifaces_disable(m, r->pdo, r->pdo->AttachedDevice == NULL);
    /* Divergence: Windows keeps a PDO whose stack still has a device attached (a driver that
     * did not detach) referenced; kdpc leaves it to the machine's teardown */
    if (r->pdo != NULL && r->pdo->AttachedDevice == NULL && kdpc__io_devrec(m, r->pdo) != NULL) {
        void *old = swap_driver(NULL);
        IoDeleteDevice(r->pdo);
        (void)swap_driver(old);
        r->pdo = NULL;
    }
}

static void send_remove(kdpc_machine *m, kdpc__pnpdev *r)
{
    (void)kdpc__pnp_send(m, r->pdo, IRP_MJ_PNP, IRP_MN_REMOVE_DEVICE, NULL, NULL);
    kdpc__pnp_ifaces_disable(m, r->pdo, false); /* what the drivers left enabled (fact 5.3) */
    r->stack_removed = true;
    r->started = false;
}

static kdpc_status do_start(kdpc_machine *m, kdpc__pnp *p, kdpc_device *d)
{
    const kdpc_device_desc *desc = kdpc__dev_desc(d);
    if (desc->driver == NULL || kdpc_device_get_state(d) != KDPC_DEVICE_PLUGGED)
        return KDPC_OK;
    kdpc__drvrec *drv = driver_named(m, desc->driver);
    if (drv == NULL)
        return KDPC_OK; /* started when its driver is loaded */
    kdpc__pnpdev *r = kdpc__pnp_dev(d, true);
    if (r == NULL)
        return KDPC_ENOMEM;
    if (r->pdo == NULL && !NT_SUCCESS(kdpc__pnp_pdo_create(m, p, r)))
        return KDPC_ENOMEM;
    if (!r->added) {
        PDRIVER_ADD_DEVICE add = drv->obj.DriverExtension->AddDevice;
        if (add == NULL) {
            /* not a PnP driver: no stack is built (fact 1.2) */
            kdpc__dev_set_state(d, KDPC_DEVICE_FAILED);
            return KDPC_OK;
        }
        void *old = swap_driver(drv);
        kdpc__thread *self = kdpc__self();
        kdpc_routine_ptr saved = self->routine;
        self->routine = KDPC_RP(add);
        NTSTATUS st = add(&drv->obj, r->pdo);
        kdpc__self()->routine = saved;
        (void)swap_driver(old);
        if (NT_SUCCESS(st)) {
            kdpc__pnp_check_added(m, &drv->obj, r->pdo, add);
            kdpc__pnp_check_pagable(m, &drv->obj, r->pdo, add); /* power */
        }
        if (!NT_SUCCESS(st) || r->pdo->AttachedDevice == NULL) {
            kdpc__dev_set_state(d, KDPC_DEVICE_FAILED);
            return KDPC_OK;
        }
        r->added = true;
    }
    if (r->raw == NULL && r->translated == NULL &&
        !kdpc__pnp_resources(m, d, &r->raw, &r->translated))
        return KDPC_ENOMEM;
    /* the START runs for the driver (MmMapIoSpace checks the windows it was given) */
    void *start_drv = swap_driver(drv);
    NTSTATUS st = kdpc__pnp_send(m, r->pdo, IRP_MJ_PNP, IRP_MN_START_DEVICE, fill_start, r);
    (void)swap_driver(start_drv);
    if (!NT_SUCCESS(st)) {
        /* a failed start is followed by IRP_MN_REMOVE_DEVICE (fact 2.2) */
        send_remove(m, r);
        kdpc__dev_set_state(d, KDPC_DEVICE_FAILED);
        return KDPC_OK;
    }
    r->started = true;
    kdpc__pdoext *x = kdpc__pnp_pdoext(m, r->pdo);
    if (x != NULL)
        x->dstate = PowerDeviceD0;
    kdpc__dev_set_state(d, KDPC_DEVICE_STARTED);
    return KDPC_OK;
}

/* The number of file objects open on @r's stack. */
static size_t open_count(kdpc_machine *m, kdpc__pnpdev *r)
{
    return r->pdo != NULL ? kdpc__io_open_count(m, r->pdo) : 0;
}

static void finish_removed(kdpc_machine *m, kdpc__pnpdev *r, kdpc_device *d)
{
    kdpc__dev_set_state(d, KDPC_DEVICE_REMOVED);
    if (r != NULL)
        delete_pdo(m, r);
}

static kdpc_status do_unplug(kdpc_machine *m, kdpc_device *d, kdpc_unplug_how how)
{
    kdpc_device_state s = kdpc_device_get_state(d);
    if (s == KDPC_DEVICE_REMOVED || (s == KDPC_DEVICE_SURPRISE_REMOVED))
        return KDPC_EINVAL;
    kdpc__pnpdev *r = kdpc__pnp_dev(d, false);
    bool stack = r != NULL && r->added && !r->stack_removed;
    if (!stack) {
        /* no driver took it, or its stack is gone already */
        kdpc__dev_detach(d);
        finish_removed(m, r, d);
        return KDPC_OK;
    }
    if (how == KDPC_UNPLUG_ORDERLY) {
        /* files still open on the stack veto an orderly removal (fact 2.7) */
        if (open_count(m, r) > 0)
            return KDPC_EBUSY;
        NTSTATUS st = kdpc__pnp_send(m, r->pdo, IRP_MJ_PNP, IRP_MN_QUERY_REMOVE_DEVICE, NULL, NULL);
        if (!NT_SUCCESS(st)) {
            (void)kdpc__pnp_send(m, r->pdo, IRP_MJ_PNP, IRP_MN_CANCEL_REMOVE_DEVICE, NULL, NULL);
            return KDPC_EBUSY;
        }
        send_remove(m, r);
        kdpc__dev_detach(d);
        finish_removed(m, r, d);
        return KDPC_OK;
    }
    /* surprise: the hardware is gone first (fact 2.5) */
    kdpc__dev_detach(d);
    kdpc__dev_set_state(d, KDPC_DEVICE_SURPRISE_REMOVED);
    if (r->started || s == KDPC_DEVICE_STOPPED)
        (void)kdpc__pnp_send(m, r->pdo, IRP_MJ_PNP, IRP_MN_SURPRISE_REMOVAL, NULL, NULL);
    r->started = false;
    if (open_count(m, r) > 0) {
        r->remove_pending = true;
        return KDPC_OK;
    }
    send_remove(m, r);
    finish_removed(m, r, d);
    return KDPC_OK;
}

static kdpc_status do_finish_surprise(kdpc_machine *m, kdpc_device *d)
{
    kdpc__pnpdev *r = kdpc__pnp_dev(d, false);
    if (r == NULL || !r->remove_pending || open_count(m, r) > 0)
        return KDPC_OK;
    r->remove_pending = false;
    send_remove(m, r);
    finish_removed(m, r, d);
    return KDPC_OK;
}

static kdpc_status do_rebalance(kdpc_machine *m, kdpc_device *d)
{
    kdpc__pnpdev *r = kdpc__pnp_dev(d, false);
    if (r == NULL || !r->started)
        return KDPC_EINVAL;
    NTSTATUS st = kdpc__pnp_send(m, r->pdo, IRP_MJ_PNP, IRP_MN_QUERY_STOP_DEVICE, NULL, NULL);
    if (!NT_SUCCESS(st)) {
        (void)kdpc__pnp_send(m, r->pdo, IRP_MJ_PNP, IRP_MN_CANCEL_STOP_DEVICE, NULL, NULL);
        return KDPC_EBUSY;
    }
    (void)kdpc__pnp_send(m, r->pdo, IRP_MJ_PNP, IRP_MN_STOP_DEVICE, NULL, NULL);
    r->started = false;
    kdpc__dev_set_state(d, KDPC_DEVICE_STOPPED);
    /* the same resources again (kdpc's root bus has nothing else to give) */
    /* the START runs for the function driver (the one the description names, as do_start) */
    const kdpc_device_desc *rdesc = kdpc__dev_desc(d);
    void *start_drv = swap_driver(rdesc->driver != NULL ? driver_named(m, rdesc->driver) : NULL);
    st = kdpc__pnp_send(m, r->pdo, IRP_MJ_PNP, IRP_MN_START_DEVICE, fill_start, r);
    (void)swap_driver(start_drv);
    if (!NT_SUCCESS(st)) {
        send_remove(m, r);
        kdpc__dev_set_state(d, KDPC_DEVICE_FAILED);
        return KDPC_OK;
    }
    r->started = true;
    kdpc__dev_set_state(d, KDPC_DEVICE_STARTED);
    return KDPC_OK;
}

/* @r's stack has a device object of @driver. */
static bool stack_of(kdpc__pnpdev *r, PDRIVER_OBJECT driver)
{
    if (r == NULL || r->pdo == NULL || !r->added || r->stack_removed)
        return false;
    for (PDEVICE_OBJECT o = r->pdo->AttachedDevice; o != NULL; o = o->AttachedDevice) {
        if (o->DriverObject == driver)
            return true;
    }
    return false;
}

/* Before @driver is unloaded: IRP_MN_REMOVE_DEVICE to each stack it has a device in, as the
 * system's own removal does (no QUERY_REMOVE: it cannot be refused, fact 2.8). The hardware
 * stays on the bus without a driver (KDPC_DEVICE_PLUGGED): loading the driver again starts it
 * again. Divergence: Windows does not unload a driver that still has devices; kdpc removes
 * them first instead of leaving the call without effect. */
static NTSTATUS do_driver_gone(kdpc_machine *m, PDRIVER_OBJECT driver)
{
    if (m->dev == NULL)
        return STATUS_SUCCESS;
    for (kdpc_device *d = kdpc__dev_first(m); d != NULL; d = kdpc__dev_next(d)) {
        kdpc__pnpdev *r = kdpc__pnp_dev(d, false);
        if (stack_of(r, driver) && open_count(m, r) > 0)
            return STATUS_INVALID_DEVICE_REQUEST; /* a file still open: nothing is removed */
    }
    for (kdpc_device *d = kdpc__dev_first(m); d != NULL; d = kdpc__dev_next(d)) {
        kdpc__pnpdev *r = kdpc__pnp_dev(d, false);
        if (!stack_of(r, driver))
            continue;
        kdpc_device_state s = kdpc_device_get_state(d);
        send_remove(m, r);
        delete_pdo(m, r);
        if (r->remove_pending || s == KDPC_DEVICE_SURPRISE_REMOVED) {
            r->remove_pending = false;
            kdpc__dev_set_state(d, KDPC_DEVICE_REMOVED);
            continue;
        }
        r->added = false; /* a new load runs AddDevice on a new PDO */
        r->stack_removed = false;
        kdpc__dev_set_state(d, KDPC_DEVICE_PLUGGED);
    }
    return STATUS_SUCCESS;
}

static void serve(kdpc_machine *m, kdpc__pnp *p, kdpc__pnpreq *r)
{
    r->result = KDPC_OK;
    r->nt = STATUS_SUCCESS;
    if (p->root == NULL && !NT_SUCCESS(kdpc__pnp_root_load(m, p))) {
        r->result = KDPC_ENOMEM;
        return;
    }
    switch (r->kind) {
    case KDPC_PNPREQ_START:
        r->result = do_start(m, p, r->dev);
        break;
    case KDPC_PNPREQ_UNPLUG:
        r->result = do_unplug(m, r->dev, r->how);
        break;
    case KDPC_PNPREQ_FINISH_SURPRISE:
        r->result = do_finish_surprise(m, r->dev);
        break;
    case KDPC_PNPREQ_REBALANCE:
        r->result = do_rebalance(m, r->dev);
        break;
    case KDPC_PNPREQ_SYSTEM_POWER:
        r->nt = kdpc__pnp_system_power(m, p, r->sstate);
        break;
    case KDPC_PNPREQ_DRIVER_GONE:
        r->nt = do_driver_gone(m, r->driver);
        break;
    }
}

static void manager_main(PVOID ctx)
{
    (void)ctx;
    kdpc__thread *self = kdpc__self();
    kdpc_machine *m = self->m;
    for (;;) {
        kdpc__pnp *p = kdpc__pnp_of(m, false);
        while (p->head == NULL) {
            p->idle = true;
            kdpc__thread_block_daemon(m);
            p = kdpc__pnp_of(m, false);
        }
        p->idle = false;
        kdpc__pnpreq *r = p->head;
        p->head = r->next;
        if (p->head == NULL)
            p->tail = NULL;
        serve(m, p, r);
        if (r->waited)
            KeSetEvent(&r->done, IO_NO_INCREMENT, FALSE);
        else
            free(r);
        kdpc__ke_point(m);
    }
}

/* Queue @r and wake (or create) the thread. @host: called from a host thread between runs. */
static bool enqueue(kdpc_machine *m, kdpc__pnp *p, kdpc__pnpreq *r, bool host)
{
    if (p->thread == NULL) {
        struct _KTHREAD *kt = kdpc__ke_thread_new(m, manager_main, p, NULL);
        if (kt == NULL)
            return false;
        p->thread = kt;
        p->idle = false;
        kdpc__cpu *c = host ? &m->cpus[0] : kdpc__self()->cpu;
        if (c != NULL)
            kdpc__trace(m, KDPC_EV_THREAD_START, c, NULL, KDPC_RP(manager_main), kt->t->id);
        if (host)
            kdpc__mutex_lock(&m->mu);
        kdpc__thread_ready(m, kt->t);
        if (host)
            kdpc__mutex_unlock(&m->mu);
    } else if (p->idle) {
        p->idle = false;
        if (host)
            kdpc__mutex_lock(&m->mu);
        kdpc__thread_ready(m, p->thread->t);
        if (host)
            kdpc__mutex_unlock(&m->mu);
    }
    r->next = NULL;
    if (p->tail != NULL)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    return true;
}

/* The caller is simulated code that may wait for the PnP thread. */
static bool can_wait(kdpc_machine *m)
{
    kdpc__thread *t = kdpc__io_passive_thread();
    return t != NULL && t->cpu->isr_depth == 0 && !kdpc__dev_in_device_code(m) &&
           !kdpc__pnp_on_manager(m) && t->ke != NULL;
}

kdpc_status kdpc__pnp_submit(kdpc_machine *m, const kdpc__pnpreq *req, NTSTATUS *nt)
{
    kdpc__pnp *p = kdpc__pnp_of(m, true);
    if (p == NULL)
        return KDPC_ENOMEM;
    kdpc__thread *t = kdpc__self();
    bool host = t == NULL;
    bool wait = !req->async && can_wait(m);
    if (nt != NULL)
        *nt = STATUS_PENDING;
    if (wait) {
        kdpc__pnpreq r = *req;
        r.waited = true;
        KeInitializeEvent(&r.done, NotificationEvent, FALSE);
        if (!enqueue(m, p, &r, false))
            return KDPC_ENOMEM;
        (void)KeWaitForSingleObject(&r.done, Executive, KernelMode, FALSE, NULL);
        if (nt != NULL)
            *nt = r.nt;
        return r.result;
    }
    kdpc__pnpreq *r = malloc(sizeof(*r));
    if (r == NULL)
        return KDPC_ENOMEM;
    *r = *req;
    r->waited = false;
    if (!enqueue(m, p, r, host)) {
        free(r);
        return KDPC_ENOMEM;
    }
    return KDPC_OK;
}

void kdpc__pnp_driver_loaded(kdpc_machine *m, PDRIVER_OBJECT driver, const char *name)
{
    (void)driver;
    if (m->dev == NULL || kdpc__pnp_on_manager(m))
        return;
    for (kdpc_device *d = kdpc__dev_first(m); d != NULL; d = kdpc__dev_next(d)) {
        const kdpc_device_desc *desc = kdpc__dev_desc(d);
        if (desc->driver == NULL || strcmp(desc->driver, name) != 0 ||
            kdpc_device_get_state(d) != KDPC_DEVICE_PLUGGED)
            continue;
        kdpc__pnpreq r = {.kind = KDPC_PNPREQ_START, .dev = d};
        (void)kdpc__pnp_submit(m, &r, NULL);
    }
}

void kdpc__pnp_last_close(kdpc_machine *m, PDEVICE_OBJECT dev)
{
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    if (p == NULL || m->dev == NULL)
        return;
    PDEVICE_OBJECT bottom = dev;
    for (kdpc_device *d = kdpc__dev_first(m); d != NULL; d = kdpc__dev_next(d)) {
        kdpc__pnpdev *r = kdpc__pnp_dev(d, false);
        if (r == NULL || r->pdo == NULL || !r->remove_pending)
            continue;
        for (PDEVICE_OBJECT o = r->pdo; o != NULL; o = o->AttachedDevice) {
            if (o == bottom) {
                kdpc__pnpreq q = {.kind = KDPC_PNPREQ_FINISH_SURPRISE, .dev = d, .async = true};
                (void)kdpc__pnp_submit(m, &q, NULL);
                return;
            }
        }
    }
}

NTSTATUS kdpc__pnp_driver_unloading(kdpc_machine *m, PDRIVER_OBJECT driver)
{
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    if (p == NULL || m->dev == NULL)
        return STATUS_SUCCESS; /* no device ever reached a driver */
    bool any = false;
    for (kdpc_device *d = kdpc__dev_first(m); d != NULL && !any; d = kdpc__dev_next(d))
        any = stack_of(kdpc__pnp_dev(d, false), driver);
    if (!any)
        return STATUS_SUCCESS;
    if (kdpc__pnp_on_manager(m))
        return STATUS_INVALID_DEVICE_REQUEST; /* from a PnP or power dispatch routine or
                                                 AddDevice: the stack it would remove may be
                                                 the one being served under it */
    if (!can_wait(m))
        return STATUS_INVALID_DEVICE_REQUEST;
    kdpc__pnpreq r = {.kind = KDPC_PNPREQ_DRIVER_GONE, .driver = driver};
    NTSTATUS nt = STATUS_PENDING;
    if (kdpc__pnp_submit(m, &r, &nt) != KDPC_OK)
        return STATUS_INSUFFICIENT_RESOURCES;
    return nt;
}

int kdpc__pnp_init(kdpc_machine *m)
{
    kdpc__io *io = kdpc__io_of(m);
    io->pnp_hooks.last_close = kdpc__pnp_last_close;
    io->pnp_hooks.forget_range = kdpc__pnp_forget_removelocks;
    io->pnp_hooks.driver_loaded = kdpc__pnp_driver_loaded;
    io->pnp_hooks.driver_unloading = kdpc__pnp_driver_unloading;
    io->pnp_hooks.free = kdpc__pnp_free;
    io->pnp_hooks.device_deleting = kdpc__pnp_removelocks_deleting;
    io->pnp_hooks.dispatch_done = kdpc__pnp_removelocks_dispatch_done;
    io->pnp_hooks.forwarding = kdpc__pnp_removelocks_forwarding;
    kdpc__ke_of(m)->driver_owns_window = kdpc__pnp_driver_owns_window;
    kdpc__ke_of(m)->pool_freed = kdpc__pnp_forget_removelocks;
    return 0;
}
