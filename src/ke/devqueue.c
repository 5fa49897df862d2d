/* SPDX-License-Identifier: MIT */
/*
 * devqueue.c - device queues: KeInitializeDeviceQueue, KeInsert(ByKey)DeviceQueue,
 * KeRemove(ByKey)DeviceQueue, KeRemoveEntryDeviceQueue
 * (docs/facts/io.md 4.7-4.11).
 *
 * Busy means "a packet is being processed", not "the list is not empty": an
 * insert into a Not-Busy queue makes it Busy and inserts nothing (FALSE:
 * start this one now); a remove from an empty Busy queue makes it
 * Not-Busy. Keys ascend, equal keys FIFO. Divergence (4.9 UNCERTAIN):
 * remove-by-key takes the first entry with SortKey >= Key, else the head,
 * as the documentation says (not ReactOS's "last key <= Key" shortcut).
 */
#include "ke/ke.h"
#include "verifier/ddiirql.h"

void kdpc_KeInitializeDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
    /* irql.ke_dispatch (IrqlKeDispatchLte); as a warning or off the queue is initialised */
    (void)kdpc__ke_irql_dispatch_ok(DeviceQueue, "KeInitializeDeviceQueue");
    kdpc__ke_device_queue_init(DeviceQueue);
}

void kdpc__ke_device_queue_init(PKDEVICE_QUEUE DeviceQueue)
{
    if (DeviceQueue == NULL)
        return;
    DeviceQueue->Type = 0x14; /* DeviceQueueObject */
    DeviceQueue->Size = (CSHORT)sizeof(*DeviceQueue);
    InitializeListHead(&DeviceQueue->DeviceListHead);
    DeviceQueue->Lock = 0;
    DeviceQueue->Busy = FALSE;
}

static void point(void)
{
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->cpu != NULL)
        kdpc__ke_point(t->m);
}

BOOLEAN kdpc__ke_insert_device_queue(PKDEVICE_QUEUE DeviceQueue,
                                     PKDEVICE_QUEUE_ENTRY DeviceQueueEntry)
{
    if (DeviceQueue == NULL || DeviceQueueEntry == NULL)
        return FALSE;
    BOOLEAN inserted = FALSE;
    if (!DeviceQueue->Busy) {
        DeviceQueue->Busy = TRUE;
    } else {
        InsertTailList(&DeviceQueue->DeviceListHead, &DeviceQueueEntry->DeviceListEntry);
        inserted = TRUE;
    }
    DeviceQueueEntry->Inserted = inserted;
    point();
    return inserted;
}

BOOLEAN kdpc__ke_insert_by_key_device_queue(PKDEVICE_QUEUE DeviceQueue,
                                            PKDEVICE_QUEUE_ENTRY DeviceQueueEntry, ULONG SortKey)
{
    if (DeviceQueue == NULL || DeviceQueueEntry == NULL)
        return FALSE;
    DeviceQueueEntry->SortKey = SortKey;
    BOOLEAN inserted = FALSE;
    if (!DeviceQueue->Busy) {
        DeviceQueue->Busy = TRUE;
    } else {
        PLIST_ENTRY head = &DeviceQueue->DeviceListHead;
        PLIST_ENTRY e = head->Flink;
        while (e != head &&
               CONTAINING_RECORD(e, KDEVICE_QUEUE_ENTRY, DeviceListEntry)->SortKey <= SortKey)
            e = e->Flink;
        InsertTailList(e, &DeviceQueueEntry->DeviceListEntry); /* i.e. before e */
        inserted = TRUE;
    }
    DeviceQueueEntry->Inserted = inserted;
    point();
    return inserted;
}

static PKDEVICE_QUEUE_ENTRY take(PKDEVICE_QUEUE q, PLIST_ENTRY e)
{
    RemoveEntryList(e);
    PKDEVICE_QUEUE_ENTRY entry = CONTAINING_RECORD(e, KDEVICE_QUEUE_ENTRY, DeviceListEntry);
    entry->Inserted = FALSE;
    (void)q;
    return entry;
}

PKDEVICE_QUEUE_ENTRY kdpc__ke_remove_device_queue(PKDEVICE_QUEUE DeviceQueue)
{
    if (DeviceQueue == NULL)
        return NULL;
    PKDEVICE_QUEUE_ENTRY r = NULL;
    if (IsListEmpty(&DeviceQueue->DeviceListHead))
        DeviceQueue->Busy = FALSE;
    else
        r = take(DeviceQueue, DeviceQueue->DeviceListHead.Flink);
    point();
    return r;
}

PKDEVICE_QUEUE_ENTRY kdpc__ke_remove_by_key_device_queue(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey)
{
    if (DeviceQueue == NULL)
        return NULL;
    PKDEVICE_QUEUE_ENTRY r = NULL;
    PLIST_ENTRY head = &DeviceQueue->DeviceListHead;
    if (IsListEmpty(head)) {
        DeviceQueue->Busy = FALSE;
    } else {
        PLIST_ENTRY e = head->Flink;
        while (e != head &&
               CONTAINING_RECORD(e, KDEVICE_QUEUE_ENTRY, DeviceListEntry)->SortKey < SortKey)
            e = e->Flink;
        r = take(DeviceQueue, e != head ? e : head->Flink);
    }
    point();
    return r;
}

BOOLEAN kdpc_KeRemoveEntryDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                      PKDEVICE_QUEUE_ENTRY DeviceQueueEntry)
{
    /* irql.ke_dispatch (IrqlKeDispatchLte); as a warning or off the entry is removed */
    (void)kdpc__ke_irql_dispatch_ok(DeviceQueue, "KeRemoveEntryDeviceQueue");
    if (DeviceQueue == NULL || DeviceQueueEntry == NULL || !DeviceQueueEntry->Inserted)
        return FALSE;
    (void)take(DeviceQueue, &DeviceQueueEntry->DeviceListEntry);
    point();
    return TRUE;
}

/* io.dispatch_irql (IrqlDispatch): the insert and remove routines run at DISPATCH_LEVEL
 * exactly; P3 the queue. As a warning or off the call goes on. The I/O manager's own
 * calls (IoStartPacket, IoStartNextPacket) use the kdpc__ke_ versions, unchecked. */
static void check_dispatch(PKDEVICE_QUEUE q, const char *routine)
{
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->cpu != NULL)
        (void)kdpc__ddi_irql_ok(t->m, t->cpu->irql, routine, (uintptr_t)q);
}

/* Tracing: a driver's insert queued @e (the device was busy); io names the IRP, if it is one. */
static BOOLEAN traced(PKDEVICE_QUEUE q, PKDEVICE_QUEUE_ENTRY e, BOOLEAN inserted)
{
    kdpc__thread *t = kdpc__self();
    if (inserted && t != NULL && t->cpu != NULL && t->m->trace != NULL && t->m->ke != NULL &&
        kdpc__ke_of(t->m)->devqueue_inserted != NULL)
        kdpc__ke_of(t->m)->devqueue_inserted(t->m, q, e);
    return inserted;
}

BOOLEAN kdpc_KeInsertDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry)
{
    check_dispatch(DeviceQueue, "KeInsertDeviceQueue");
    return traced(DeviceQueue, DeviceQueueEntry,
                  kdpc__ke_insert_device_queue(DeviceQueue, DeviceQueueEntry));
}

BOOLEAN kdpc_KeInsertByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                      PKDEVICE_QUEUE_ENTRY DeviceQueueEntry, ULONG SortKey)
{
    check_dispatch(DeviceQueue, "KeInsertByKeyDeviceQueue");
    return traced(DeviceQueue, DeviceQueueEntry,
                  kdpc__ke_insert_by_key_device_queue(DeviceQueue, DeviceQueueEntry, SortKey));
}

PKDEVICE_QUEUE_ENTRY kdpc_KeRemoveDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
    check_dispatch(DeviceQueue, "KeRemoveDeviceQueue");
    return kdpc__ke_remove_device_queue(DeviceQueue);
}

PKDEVICE_QUEUE_ENTRY kdpc_KeRemoveByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey)
{
    check_dispatch(DeviceQueue, "KeRemoveByKeyDeviceQueue");
    return kdpc__ke_remove_by_key_device_queue(DeviceQueue, SortKey);
}
