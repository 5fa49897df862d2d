/* SPDX-License-Identifier: MIT */
/*
 * pending.c - unload.pending: what a driver, a device or the machine must
 * not leave behind when it goes away (docs/guidelines.md G8, bug check 0xCE):
 * a queued DPC, a set timer (periodic ones included) or a queued work item.
 *
 * Ownership: an object belongs to a driver when it lies inside the
 * driver's driver object, device objects or device extensions, or when the
 * driver's code initialised it (DPC, timer) or queued it (work item), or
 * when it is an I/O work item of one of the driver's devices.
 */
#include "io/io.h"

static bool in_driver(kdpc_machine *m, const kdpc__drvrec *r, const void *addr)
{
    const unsigned char *p = addr;
    const unsigned char *lo = (const unsigned char *)r;
    if (p >= lo && p < lo + sizeof(*r))
        return true;
    for (PDEVICE_OBJECT d = r->obj.DeviceObject; d != NULL; d = d->NextDevice) {
        kdpc__devrec *rec = kdpc__io_devrec(m, d);
        if (rec != NULL && kdpc__io_in_device(rec, addr))
            return true;
    }
    return false;
}

static bool in_scope(kdpc_machine *m, const kdpc__scope *s, const void *addr, void *owner,
                     PDEVICE_OBJECT dev)
{
    if (s->all)
        return true;
    if (s->driver != NULL) {
        if (owner == s->driver || in_driver(m, s->driver, addr))
            return true;
        if (dev != NULL && dev->DriverObject == &s->driver->obj)
            return true;
    }
    if (s->device != NULL) {
        if (kdpc__io_in_device(s->device, addr))
            return true;
        if (dev == &s->device->obj)
            return true;
    }
    return false;
}

typedef struct ctx {
    kdpc_machine *m;
    const kdpc__scope *s;
} ctx;

static bool dpc_match(PKDPC dpc, void *arg)
{
    ctx *x = arg;
    return in_scope(x->m, x->s, dpc, kdpc__ke_dpc_owner(x->m, dpc), NULL);
}

static bool timer_match(PKTIMER t, void *arg)
{
    ctx *x = arg;
    if (t->Header.Signalling == 2)
        return false; /* a blocked thread's own wait timeout */
    return in_scope(x->m, x->s, t, kdpc__ke_timer_owner(x->m, t), NULL);
}

static bool work_match(PWORK_QUEUE_ITEM item, void *arg)
{
    ctx *x = arg;
    void *what = item;
    PDEVICE_OBJECT dev = kdpc__io_work_device(item, &what);
    return in_scope(x->m, x->s, what, kdpc__ke_work_owner(x->m, item), dev);
}

void kdpc__io_check_pending(kdpc_machine *m, const kdpc__scope *scope, const char *what)
{
    ctx x = {m, scope};
    PKDPC d = kdpc__ke_find_queued_dpc(m, dpc_match, &x);
    if (d != NULL) {
        kdpc__violation(m, KDPC_R_UNLOAD_PENDING, 0xCE, (uintptr_t)d, 0,
                        kdpc__fnaddr(KDPC_RP(d->DeferredRoutine)), 0, KDPC_RP(d->DeferredRoutine),
                        "%s while DPC %p is still queued; its routine would run in code or data "
                        "that is gone (KeRemoveQueueDpc it, or KeFlushQueuedDpcs first)",
                        what, (void *)d);
        return;
    }
    PKTIMER t = kdpc__ke_find_set_timer(m, timer_match, &x);
    if (t != NULL) {
        PKDEFERRED_ROUTINE r = t->Dpc != NULL ? t->Dpc->DeferredRoutine : NULL;
        kdpc__violation(m, KDPC_R_UNLOAD_PENDING, 0xCE, (uintptr_t)t, 0, kdpc__fnaddr(KDPC_RP(r)),
                        0, KDPC_RP(r),
                        "%s while timer %p is still set; KeCancelTimer it (and flush its DPC) "
                        "first",
                        what, (void *)t);
        return;
    }
    PWORK_QUEUE_ITEM w = kdpc__ke_find_queued_work(m, work_match, &x);
    if (w != NULL) {
        kdpc__violation(m, KDPC_R_UNLOAD_PENDING, 0xCE, (uintptr_t)w, 0,
                        kdpc__fnaddr(KDPC_RP(w->WorkerRoutine)), 0, NULL,
                        "%s while work item %p is still queued; wait for it to run first", what,
                        (void *)w);
    }
}

/* ------------------------------------------------------------------ */
/* What lies inside memory about to be freed leaves its queue first     */

typedef struct span {
    uintptr_t lo, hi;
} span;

static bool inside(const span *r, const void *p)
{
    return (uintptr_t)p >= r->lo && (uintptr_t)p < r->hi;
}

static bool dpc_inside(PKDPC dpc, void *arg)
{
    return inside(arg, dpc);
}

static bool timer_inside(PKTIMER t, void *arg)
{
    return t->Header.Signalling != 2 && inside(arg, t);
}

static bool work_inside(PWORK_QUEUE_ITEM item, void *arg)
{
    void *what = item;
    (void)kdpc__io_work_device(item, &what);
    return inside(arg, item) || inside(arg, what);
}

/*
 * When unload.pending was only a warning (or off), a DPC, timer or work item
 * inside a device or driver object about to be freed would later be run from
 * freed memory: kdpc takes it out of its queue first, as it does for
 * mem.free_active (Windows would go on with a corrupted queue).
 */
void kdpc__io_unqueue_inside(kdpc_machine *m, const void *p, size_t bytes)
{
    span r = {(uintptr_t)p, (uintptr_t)p + bytes};
    for (unsigned guard = 0; guard < 4096; guard++) {
        PKDPC d = kdpc__ke_find_queued_dpc(m, dpc_inside, &r);
        if (d == NULL || !kdpc_KeRemoveQueueDpc(d))
            break;
    }
    for (unsigned guard = 0; guard < 4096; guard++) {
        PKTIMER t = kdpc__ke_find_set_timer(m, timer_inside, &r);
        if (t == NULL || !kdpc__ke_timer_cancel(m, t)) /* the kernel's own: no IRQL rule */
            break;
    }
    for (unsigned guard = 0; guard < 4096; guard++) {
        PWORK_QUEUE_ITEM w = kdpc__ke_find_queued_work(m, work_inside, &r);
        if (w == NULL)
            break;
        kdpc__ke_unqueue_work(m, w);
    }
}
