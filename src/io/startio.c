/* SPDX-License-Identifier: MIT */
/*
 * startio.c - the StartIo model: IoStartPacket, IoStartNextPacket(ByKey),
 * IoSetStartIoAttributes (docs/facts/io.md 4.2-4.6, 4.12).
 *
 * The device's system queue is DeviceObject->DeviceQueue. IoStartPacket
 * either queues the IRP (device busy) or makes it CurrentIrp and calls
 * StartIo synchronously at DISPATCH_LEVEL. IoStartNextPacket (DISPATCH_LEVEL
 * only) dequeues the next IRP and calls StartIo inside the call, so StartIo
 * nests StartIo unless DeferredStartIo is set: then the request is kept and
 * served when the outermost StartIo returns.
 */
#include "io/io.h"

static void start_next(kdpc_machine *m, PDEVICE_OBJECT dev, kdpc__devrec *d, bool cancelable,
                       bool bykey, ULONG key);

/*
 * A driver with no StartIo routine: Windows calls DriverStartIo all the same,
 * at DISPATCH_LEVEL, so the CPU jumps to address 0: bug check 0xD1
 * DRIVER_IRQL_NOT_LESS_OR_EQUAL (P1 = 0 referenced, P2 = DISPATCH_LEVEL,
 * P3 = 8 execute, P4 = 0 the faulting instruction): io.no_startio. With the
 * rule off or a warning the IRP stays CurrentIrp, started and never
 * completed (io.irp_lost at the end of the run says so).
 */
static void call_startio(kdpc_machine *m, PDEVICE_OBJECT dev, kdpc__devrec *d, PIRP irp)
{
    PDRIVER_STARTIO startio = dev->DriverObject != NULL ? dev->DriverObject->DriverStartIo : NULL;
    kdpc__irprec *r = kdpc__io_irprec(irp);
    if (r != NULL)
        r->started = true;
    kdpc__io_irp_note(irp, "StartIo");
    kdpc__trace_obj2(m, KDPC_EV_IRP_START, kdpc__cur_cpu(), irp, KDPC_RP(startio), 1, dev);
    if (startio == NULL) {
        kdpc__violation(m, KDPC_R_IO_NO_STARTIO, 0xD1, 0, DISPATCH_LEVEL, 8, 0, NULL,
                        "IoStartPacket / IoStartNextPacket started IRP %p on device %p, whose "
                        "driver has no StartIo routine (DriverObject->DriverStartIo is NULL): "
                        "set it in DriverEntry, or queue IRPs another way",
                        (void *)irp, (void *)dev);
        return;
    }
    d->startio_depth++;
    bool inside = kdpc__io_flow_startio_enter(d); /* irp-flow: io.startio_recursion */
    startio(dev, irp);
    kdpc__io_flow_startio_leave(d, inside);
    d->startio_depth--;
    if (d->startio_depth == 0 && d->next_requested) {
        d->next_requested = false;
        start_next(m, dev, d, d->next_cancelable, d->next_bykey, d->next_key);
    }
}

void kdpc__io_devqueue_inserted(kdpc_machine *m, const void *queue, const void *entry)
{
    /* only compared and looked up: the entry may be no IRP's, the queue no device object's */
    uintptr_t irp = (uintptr_t)entry - offsetof(IRP, Tail.Overlay.DeviceQueueEntry);
    uintptr_t dev = (uintptr_t)queue - offsetof(DEVICE_OBJECT, DeviceQueue);
    if (kdpc__io_live_kind(m, (const void *)irp) != KDPC_IOK_IRP)
        return;
    bool is_dev = kdpc__io_live_kind(m, (const void *)dev) == KDPC_IOK_DEVICE;
    kdpc__trace_obj2(m, KDPC_EV_IRP_QUEUE, kdpc__cur_cpu(), (const void *)irp, NULL, 0,
                     is_dev ? (const void *)dev : NULL);
}

void kdpc_IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key,
                        PDRIVER_CANCEL CancelFunction)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoStartPacket", &c);
    /* objects Windows reads at once (DeviceQueue, Tail.Overlay): not live ones are a fault */
    if (m == NULL ||
        !kdpc__io_need(m, "IoStartPacket", KDPC_RP(kdpc_IoStartPacket), DeviceObject,
                       KDPC_IOK_DEVICE) ||
        !kdpc__io_need(m, "IoStartPacket", KDPC_RP(kdpc_IoStartPacket), Irp, KDPC_IOK_IRP))
        return;
    kdpc__devrec *d = kdpc__io_devrec(m, DeviceObject);
    kdpc__io_irprec(Irp)->device = DeviceObject; /* the device whose queue or StartIo has it */
    kdpc__io *io = kdpc__io_of(m);
    KIRQL old = kdpc_KeRaiseIrqlToDpcLevel();
    if (CancelFunction != NULL) {
        kdpc__ke_lock_acquire(m, kdpc__cur_cpu(), &io->cancel_lock, KDPC_LOCK_ORDINARY, NULL);
        Irp->CancelRoutine = CancelFunction;
    }
    BOOLEAN inserted =
        Key != NULL ? kdpc__ke_insert_by_key_device_queue(&DeviceObject->DeviceQueue,
                                                          &Irp->Tail.Overlay.DeviceQueueEntry, *Key)
                    : kdpc__ke_insert_device_queue(&DeviceObject->DeviceQueue,
                                                   &Irp->Tail.Overlay.DeviceQueueEntry);
    kdpc__irprec *r = kdpc__io_irprec(Irp); /* NULL if another CPU completed and freed it */
    if (!inserted) {
        DeviceObject->CurrentIrp = Irp;
        if (CancelFunction != NULL) {
            if (d->noncancelable)
                Irp->CancelRoutine = NULL;
            kdpc__ke_lock_release(m, kdpc__cur_cpu(), &io->cancel_lock, KDPC_LOCK_ORDINARY, NULL);
        }
        call_startio(m, DeviceObject, d, Irp);
    } else {
        if (r != NULL)
            r->queued = true;
        kdpc__io_irp_note(Irp, "IoStartPacket: queued");
        if (m->trace != NULL && r != NULL) {
            PDRIVER_STARTIO startio = DeviceObject->DriverObject != NULL
                                          ? DeviceObject->DriverObject->DriverStartIo
                                          : NULL;
            kdpc__trace_obj2(m, KDPC_EV_IRP_START, kdpc__cur_cpu(), Irp, KDPC_RP(startio), 0,
                             DeviceObject);
            kdpc__trace_obj2(m, KDPC_EV_IRP_QUEUE, kdpc__cur_cpu(), Irp, NULL, 0, DeviceObject);
        }
        if (CancelFunction != NULL) {
            if (Irp->Cancel) {
                /* Cancelled while being queued: its cancel routine runs now, lock held (4.2). */
                Irp->CancelIrql = DISPATCH_LEVEL;
                Irp->CancelRoutine = NULL;
                CancelFunction(DeviceObject, Irp);
            } else {
                kdpc__ke_lock_release(m, kdpc__cur_cpu(), &io->cancel_lock, KDPC_LOCK_ORDINARY,
                                      NULL);
            }
        }
    }
    kdpc_KeLowerIrql(old);
}

static void start_next(kdpc_machine *m, PDEVICE_OBJECT dev, kdpc__devrec *d, bool cancelable,
                       bool bykey, ULONG key)
{
    if (d->deferred_startio && d->startio_depth > 0) {
        d->next_requested = true;
        d->next_cancelable = cancelable;
        d->next_bykey = bykey;
        d->next_key = key;
        return;
    }
    kdpc__io *io = kdpc__io_of(m);
    /* Cancelable: CurrentIrp changes under the cancel spin lock, so a cancel
     * routine (which runs holding it) never sees the IRP in progress as neither
     * current nor queued. */
    if (cancelable)
        kdpc__ke_lock_acquire(m, kdpc__cur_cpu(), &io->cancel_lock, KDPC_LOCK_ORDINARY, NULL);
    dev->CurrentIrp = NULL;
    PKDEVICE_QUEUE_ENTRY e = bykey ? kdpc__ke_remove_by_key_device_queue(&dev->DeviceQueue, key)
                                   : kdpc__ke_remove_device_queue(&dev->DeviceQueue);
    PIRP irp = e != NULL ? CONTAINING_RECORD(e, IRP, Tail.Overlay.DeviceQueueEntry) : NULL;
    if (irp != NULL) {
        dev->CurrentIrp = irp;
        kdpc__irprec *r = kdpc__io_irprec(irp);
        if (r != NULL)
            r->queued = false;
        if (d->noncancelable)
            irp->CancelRoutine = NULL;
    }
    if (cancelable)
        kdpc__ke_lock_release(m, kdpc__cur_cpu(), &io->cancel_lock, KDPC_LOCK_ORDINARY, NULL);
    if (irp != NULL)
        call_startio(m, dev, d, irp);
}

static void start_next_checked(const char *name, PDEVICE_OBJECT dev, BOOLEAN cancelable, bool bykey,
                               ULONG key)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    if (m == NULL || !kdpc__io_need(m, name,
                                    bykey ? KDPC_RP(kdpc_IoStartNextPacketByKey)
                                          : KDPC_RP(kdpc_IoStartNextPacket),
                                    dev, KDPC_IOK_DEVICE))
        return;
    if (c->irql != DISPATCH_LEVEL)
        kdpc__violation(m, KDPC_R_IO_START_NEXT_IRQL, 0xC4, 0x00020003, c->irql, (uintptr_t)dev, 0,
                        NULL, "%s called at IRQL %u; it must be called at DISPATCH_LEVEL", name,
                        (unsigned)c->irql);
    kdpc__devrec *d = kdpc__io_devrec(m, dev);
    if (d == NULL)
        return;
    kdpc__io_flow_start_next(m, c, dev, d, name); /* irp-flow */
    start_next(m, dev, d, cancelable != FALSE, bykey, key);
    kdpc__ke_point(m);
}

void kdpc_IoStartNextPacket(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable)
{
    start_next_checked("IoStartNextPacket", DeviceObject, Cancelable, false, 0);
}

void kdpc_IoStartNextPacketByKey(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, ULONG Key)
{
    start_next_checked("IoStartNextPacketByKey", DeviceObject, Cancelable, true, Key);
}

void kdpc_IoSetStartIoAttributes(PDEVICE_OBJECT DeviceObject, BOOLEAN DeferredStartIo,
                                 BOOLEAN NonCancelable)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->m->ke == NULL)
        return;
    if (!kdpc__io_need(t->m, "IoSetStartIoAttributes", KDPC_RP(kdpc_IoSetStartIoAttributes),
                       DeviceObject, KDPC_IOK_DEVICE))
        return;
    kdpc__devrec *d = kdpc__io_devrec(t->m, DeviceObject);
    d->deferred_startio = d->deferred_startio || DeferredStartIo;
    d->noncancelable = d->noncancelable || NonCancelable;
}
