/* SPDX-License-Identifier: MIT */
/*
 * workitem.c - I/O work items: IoAllocateWorkItem, IoFreeWorkItem,
 * IoInitializeWorkItem, IoUninitializeWorkItem, IoSizeofWorkItem,
 * IoQueueWorkItem(Ex) (docs/facts/io.md 2.1-2.6).
 *
 * An IO_WORKITEM carries an executive WORK_QUEUE_ITEM whose routine is a
 * trampoline: it copies what it needs before calling the driver's routine,
 * so that routine may free or re-queue its own item (2.6), and drops the
 * reference on the device object that IoQueueWorkItem took (2.5) after the
 * routine returns.
 *
 * Objects: every IO_WORKITEM kdpc hands out or initialises is in the I/O
 * registry (validate.c) and is looked up before it is read. IoFreeWorkItem
 * frees pool on Windows, so a bad free is what ExFreePool gives
 * (BAD_POOL_CALLER 0xC2): 0x07 (P4 = the item) for an item already freed,
 * 0x46 (P2 = the pointer) for anything IoAllocateWorkItem did not return.
 * Queuing, initialising or allocating with a pointer that is not a live
 * object is the fault Windows takes (0x50 / 0x1E / 0xA, see validate.c).
 * With io.invalid_object off or a warning the call does nothing.
 */
#include <stdlib.h>

#include <kdpc/wdm.h>
#include "io/io.h"

#define WI_MAGIC 0x6b574931u /* "kWI1" */

struct _IO_WORKITEM {
    WORK_QUEUE_ITEM item;
    PVOID io_object;
    PDEVICE_OBJECT device;
    PIO_WORKITEM_ROUTINE routine;
    PIO_WORKITEM_ROUTINE_EX routine_ex;
    PVOID context;
    uint32_t magic;
    bool allocated;
};

static void trampoline(PVOID Parameter)
{
    PIO_WORKITEM wi = Parameter;
    PDEVICE_OBJECT dev = wi->device;
    PVOID io_object = wi->io_object;
    PIO_WORKITEM_ROUTINE routine = wi->routine;
    PIO_WORKITEM_ROUTINE_EX routine_ex = wi->routine_ex;
    PVOID ctx = wi->context;
    kdpc__thread *self = kdpc__self();
    if (self != NULL) /* reports name the driver's routine (the worker restores its own) */
        self->routine = routine_ex != NULL ? KDPC_RP(routine_ex) : KDPC_RP(routine);
    if (routine_ex != NULL)
        routine_ex(io_object, ctx, wi);
    else if (routine != NULL)
        routine(dev, ctx);
    /* Divergence: IoDeleteDevice frees at once (Windows keeps the object while referenced), so
     * the reference is dropped only on a device still alive. */
    if (dev != NULL && self != NULL && kdpc__io_live_kind(self->m, dev) == KDPC_IOK_DEVICE)
        InterlockedDecrement(&dev->ReferenceCount);
}

PDEVICE_OBJECT kdpc__io_work_device(PWORK_QUEUE_ITEM item, void **what)
{
    if (item->WorkerRoutine != trampoline)
        return NULL;
    PIO_WORKITEM wi = CONTAINING_RECORD(item, struct _IO_WORKITEM, item);
    *what = wi;
    return wi->device;
}

static void init(PIO_WORKITEM wi, PVOID IoObject, bool allocated)
{
    wi->item.List.Flink = NULL;
    wi->item.WorkerRoutine = trampoline;
    wi->item.Parameter = wi;
    wi->io_object = IoObject;
    /* Only device objects are referenced; kdpc has no other I/O objects yet. */
    wi->device = kdpc__io_live_kind(kdpc__self()->m, IoObject) == KDPC_IOK_DEVICE
                     ? (PDEVICE_OBJECT)IoObject
                     : NULL;
    wi->routine = NULL;
    wi->routine_ex = NULL;
    wi->context = NULL;
    wi->magic = WI_MAGIC;
    wi->allocated = allocated;
}

PIO_WORKITEM kdpc_IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAllocateWorkItem", &c);
    if (m == NULL || !kdpc__io_need(m, "IoAllocateWorkItem", KDPC_RP(kdpc_IoAllocateWorkItem),
                                    DeviceObject, KDPC_IOK_DEVICE))
        return NULL;
    if (kdpc__pool_fail(m))
        return NULL;
    PIO_WORKITEM wi = kdpc__io_alloc(m, sizeof(*wi));
    if (wi == NULL)
        return NULL;
    if (!kdpc__io_register(m, wi, KDPC_IOK_WORKITEM)) {
        kdpc__io_free_mem(m, wi);
        return NULL;
    }
    init(wi, DeviceObject, true);
    kdpc__ke_point(m);
    return wi;
}

void kdpc_IoFreeWorkItem(PIO_WORKITEM IoWorkItem)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoFreeWorkItem", &c);
    if (m == NULL)
        return;
    if (kdpc__io_live_kind(m, IoWorkItem) != KDPC_IOK_WORKITEM || !IoWorkItem->allocated) {
        if (IoWorkItem != NULL && kdpc__io_live_kind(m, IoWorkItem) == KDPC_IOK_NONE &&
            kdpc__io_retired_kind(m, IoWorkItem) == KDPC_IOK_WORKITEM)
            kdpc__io_invalid(m, "IoFreeWorkItem", IoWorkItem, KDPC_IOK_WORKITEM, 0xC2, 0x07, 0, 0,
                             (uintptr_t)IoWorkItem);
        else if (kdpc__io_live_kind(m, IoWorkItem) == KDPC_IOK_WORKITEM)
            kdpc__violation(m, KDPC_R_IO_INVALID_OBJECT, 0xC2, 0x46, (uintptr_t)IoWorkItem, 0, 0,
                            NULL,
                            "IoFreeWorkItem(%p): the item was set up with IoInitializeWorkItem "
                            "in the driver's own memory; IoUninitializeWorkItem it instead",
                            (void *)IoWorkItem);
        else
            kdpc__io_invalid(m, "IoFreeWorkItem", IoWorkItem, KDPC_IOK_WORKITEM, 0xC2, 0x46,
                             (uintptr_t)IoWorkItem, 0, 0);
        return; /* off or a warning: nothing is freed */
    }
    if (IoWorkItem->item.List.Flink != NULL)
        kdpc__bugcheck_rule(m, KDPC_R_WORK_REQUEUE, 0xE4, 2, (uintptr_t)IoWorkItem, 0, 0,
                            "IoFreeWorkItem of a work item that is still queued");
    IoWorkItem->magic = 0;
    kdpc__io_unregister(m, IoWorkItem);
    kdpc__trace_forget(m, IoWorkItem, sizeof(*IoWorkItem)); /* trace numbers, names in it */
    kdpc__io_free_mem(m, IoWorkItem);
    kdpc__ke_point(m);
}

ULONG kdpc_IoSizeofWorkItem(void)
{
    return (ULONG)sizeof(struct _IO_WORKITEM);
}

void kdpc_IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoInitializeWorkItem", &c);
    if (m == NULL)
        return;
    if (IoWorkItem == NULL) {
        kdpc__io_invalid_access(m, "IoInitializeWorkItem", KDPC_RP(kdpc_IoInitializeWorkItem),
                                IoWorkItem, KDPC_IOK_WORKITEM);
        return;
    }
    /* IoObject: a device or a driver object */
    if (!kdpc__io_valid(m, IoObject, KDPC_IOK_DEVICE) &&
        !kdpc__io_need(m, "IoInitializeWorkItem", KDPC_RP(kdpc_IoInitializeWorkItem), IoObject,
                       KDPC_IOK_DRIVER))
        return;
    kdpc__iokind k = kdpc__io_live_kind(m, IoWorkItem);
    if (k == KDPC_IOK_WORKITEM && IoWorkItem->item.List.Flink != NULL) {
        kdpc__violation(m, KDPC_R_WORK_REQUEUE, 0xE4, 1, (uintptr_t)IoWorkItem, 0, 0, NULL,
                        "IoInitializeWorkItem(%p) of a work item that is still queued",
                        (void *)IoWorkItem);
        return; /* as a warning: the queued item is left alone */
    }
    bool allocated = k == KDPC_IOK_WORKITEM && IoWorkItem->allocated;
    if (k != KDPC_IOK_WORKITEM && !kdpc__io_register(m, IoWorkItem, KDPC_IOK_WORKITEM))
        return; /* no host memory: the item stays unknown (queuing it is reported) */
    init(IoWorkItem, IoObject, allocated);
}

/* A caller-initialised item leaves the registry (IoFreeWorkItem frees allocated ones);
 * anything else is left alone, as on Windows where the call has nothing to undo. */
void kdpc_IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->m->ke == NULL ||
        kdpc__io_live_kind(t->m, IoWorkItem) != KDPC_IOK_WORKITEM || IoWorkItem->allocated)
        return;
    if (IoWorkItem->item.List.Flink != NULL) {
        kdpc__violation(t->m, KDPC_R_WORK_REQUEUE, 0xE4, 2, (uintptr_t)IoWorkItem, 0, 0, NULL,
                        "IoUninitializeWorkItem(%p) of a work item that is still queued",
                        (void *)IoWorkItem);
        return;
    }
    IoWorkItem->magic = 0;
    kdpc__io_unregister(t->m, IoWorkItem);
}

static void queue(const char *name, PIO_WORKITEM wi, PIO_WORKITEM_ROUTINE routine,
                  PIO_WORKITEM_ROUTINE_EX routine_ex, WORK_QUEUE_TYPE type, PVOID ctx)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    if (m == NULL || !kdpc__io_need(m, name,
                                    routine_ex != NULL ? KDPC_RP(kdpc_IoQueueWorkItemEx)
                                                       : KDPC_RP(kdpc_IoQueueWorkItem),
                                    wi, KDPC_IOK_WORKITEM))
        return;
    if (wi->item.List.Flink == NULL) {
        wi->routine = routine;
        wi->routine_ex = routine_ex;
        wi->context = ctx;
        if (wi->device != NULL)
            InterlockedIncrement(&wi->device->ReferenceCount);
    }
    kdpc__ke_queue_work(m, c, &wi->item, type, name,
                        routine_ex != NULL ? KDPC_RP(routine_ex) : KDPC_RP(routine), wi->device);
    kdpc__ke_point(m);
}

void kdpc_IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                          WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    queue("IoQueueWorkItem", IoWorkItem, WorkerRoutine, NULL, QueueType, Context);
}

void kdpc_IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                            WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    queue("IoQueueWorkItemEx", IoWorkItem, NULL, WorkerRoutine, QueueType, Context);
}
