/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/work.h - work items and system worker threads: the IoXxx and ExXxx
 * interfaces. Work routines run at PASSIVE_LEVEL in a worker thread of
 * their queue's pool and may block (docs/facts/io.md section 2).
 */
#ifndef KDPC_WDM_WORK_H
#define KDPC_WDM_WORK_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/ke.h>
#include <kdpc/wdm/io.h>

KDPC_BEGIN_DECLS

/** Work queue types (io.md 2.10). kdpc has pools for Critical, Delayed and HyperCritical; the
 * other values share the Delayed pool. */
typedef enum _WORK_QUEUE_TYPE {
    CriticalWorkQueue = 0,
    DelayedWorkQueue = 1,
    HyperCriticalWorkQueue = 2,
    NormalWorkQueue = 3,
    BackgroundWorkQueue = 4,
    RealTimeWorkQueue = 5,
    SuperCriticalWorkQueue = 6,
    MaximumWorkQueue = 7
} WORK_QUEUE_TYPE;

typedef void WORKER_THREAD_ROUTINE(PVOID Parameter);
typedef WORKER_THREAD_ROUTINE *PWORKER_THREAD_ROUTINE;

/** Executive work item (ExInitializeWorkItem / ExQueueWorkItem). */
typedef struct _WORK_QUEUE_ITEM {
    LIST_ENTRY List; /* Flink NULL while not queued */
    PWORKER_THREAD_ROUTINE WorkerRoutine;
    PVOID Parameter;
} WORK_QUEUE_ITEM, *PWORK_QUEUE_ITEM;

/** I/O work item: opaque; IoSizeofWorkItem() bytes. */
typedef struct _IO_WORKITEM IO_WORKITEM, *PIO_WORKITEM;
typedef void IO_WORKITEM_ROUTINE(PDEVICE_OBJECT DeviceObject, PVOID Context);
typedef IO_WORKITEM_ROUTINE *PIO_WORKITEM_ROUTINE;
typedef void IO_WORKITEM_ROUTINE_EX(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem);
typedef IO_WORKITEM_ROUTINE_EX *PIO_WORKITEM_ROUTINE_EX;

/**
 * ExInitializeWorkItem - bind @Routine and @Parameter; List.Flink = NULL (2.9).
 * IRQL: any.
 */
static inline void ExInitializeWorkItem(PWORK_QUEUE_ITEM Item, PWORKER_THREAD_ROUTINE Routine,
                                        PVOID Parameter)
{
    Item->List.Flink = NULL;
    Item->WorkerRoutine = Routine;
    Item->Parameter = Parameter;
}

KDPC_EXPORT void kdpc_ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType);
/**
 * ExQueueWorkItem - queue to a worker pool; the item is dequeued before its
 * routine runs (2.6). IRQL: <= DISPATCH_LEVEL.
 * Bugchecks: work.queue_irql (0xC4) above DISPATCH_LEVEL; work.requeue
 * (0xE4/1) when the item is still queued; work.bad_irql_return (0xE1) when
 * the routine returns above PASSIVE_LEVEL; obj.invalid: 0xE4/7 for an item
 * with no worker routine (never ExInitializeWorkItem'd), 0xE4/6 for an
 * unknown QueueType, 0x1E for a NULL item (as a warning: nothing queued).
 */
static inline void ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType)
{
    kdpc_ExQueueWorkItem(WorkItem, QueueType);
}

KDPC_EXPORT PIO_WORKITEM kdpc_IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject);
KDPC_EXPORT void kdpc_IoFreeWorkItem(PIO_WORKITEM IoWorkItem);
KDPC_EXPORT ULONG kdpc_IoSizeofWorkItem(void);
KDPC_EXPORT void kdpc_IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem);
KDPC_EXPORT void kdpc_IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem);
KDPC_EXPORT void kdpc_IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                                      WORK_QUEUE_TYPE QueueType, PVOID Context);
KDPC_EXPORT void kdpc_IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem,
                                        PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                                        WORK_QUEUE_TYPE QueueType, PVOID Context);

/** IoAllocateWorkItem - a work item for @DeviceObject, or NULL (2.1). IRQL: <= DISPATCH_LEVEL. */
static inline PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)
{
    return kdpc_IoAllocateWorkItem(DeviceObject);
}
/** IoFreeWorkItem - free an item from IoAllocateWorkItem; legal from its own routine (2.6). */
static inline void IoFreeWorkItem(PIO_WORKITEM IoWorkItem)
{
    kdpc_IoFreeWorkItem(IoWorkItem);
}
/** IoSizeofWorkItem - bytes of caller storage for IoInitializeWorkItem (2.2). */
static inline ULONG IoSizeofWorkItem(void)
{
    return kdpc_IoSizeofWorkItem();
}
/** IoInitializeWorkItem - set up caller storage (IoSizeofWorkItem bytes) for @IoObject (2.2). */
static inline void IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem)
{
    kdpc_IoInitializeWorkItem(IoObject, IoWorkItem);
}
/** IoUninitializeWorkItem - undo IoInitializeWorkItem before the storage is freed (2.2). */
static inline void IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem)
{
    kdpc_IoUninitializeWorkItem(IoWorkItem);
}
/**
 * IoQueueWorkItem - run WorkerRoutine(DeviceObject, Context) at PASSIVE_LEVEL
 * in a worker thread; the device object stays referenced until the routine
 * returns (2.5). IRQL: <= DISPATCH_LEVEL. Bugchecks: as ExQueueWorkItem.
 */
static inline void IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                                   WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    kdpc_IoQueueWorkItem(IoWorkItem, WorkerRoutine, QueueType, Context);
}
/** IoQueueWorkItemEx - as IoQueueWorkItem with WorkerRoutine(IoObject, Context, IoWorkItem). */
static inline void IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                                     WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    kdpc_IoQueueWorkItemEx(IoWorkItem, WorkerRoutine, QueueType, Context);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_WORK_H */
