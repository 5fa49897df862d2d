/* SPDX-License-Identifier: MIT */
/*
 * nic.c - a WDM function driver for the NX-2 multi-queue network controller
 * (nx2hw.h), in the shape of a NIC miniport reduced to WDM:
 *
 * - one DMA adapter (IoGetDmaAdapter, bus master) and, per queue pair, a
 *   common buffer holding the transmit and receive rings and their buffers;
 * - one Latched (MSI-style) interrupt per queue pair, each delivered to its
 *   own CPU where the machine has several; the ISR acknowledges and masks
 *   its queue and queues the queue's CustomDpc, targeted at that CPU with
 *   MediumHigh importance (threaded DPCs in the DpcMode = 1 mode);
 * - the queue DPC retires sent frames and hands received ones to pended
 *   receive requests, at most NIC_BUDGET of each per call; the rest waits
 *   for the same DPC queued again by a short one-shot timer (G8);
 * - a periodic watchdog timer DPC that finds a queue with finished work and
 *   no DPC (a lost interrupt) and kicks it, and counts stuck transmit queues;
 * - link changes: the DPC sees NX2_ICR_LSC and queues a work item, whose
 *   routine waits at PASSIVE_LEVEL while it renegotiates the link (G5);
 * - counters, the receive backlog and the pended receive requests shared by
 *   the DPCs of every queue and the dispatch routines under one executive
 *   spin lock (G2);
 * - the device's power policy: a system sleep takes it to D3 (quiesced and
 *   reset), the wake back to D0 (rings programmed again).
 *
 * Locks: Lock guards Started, ReceiveQueue, the backlog and Stats. Each
 * queue's TxLock guards its transmit side (TxTail, TxClean, TxUsed, TxIrp,
 * TxWait, Running). IsrCause and IsrCount belong to the queue's interrupt
 * lock. RxNext is the queue DPC's alone (one KDPC per queue, targeted at
 * one CPU: it never runs twice at once), and the power paths' while no DPC
 * can run (NicQuiesceDpcs).
 *
 * Broken variants (BROKEN_*): WAIT_IN_DPC, NO_BUDGET, LOCK_IN_ISR, COUNTERS_UNLOCKED
 * (test_nic.c only: caught with cfg.watch_device_extensions).
 */
#include <wdm.h>
#include "nx2hw.h"
#include "nicioctl.h"

#define NIC_TAG         'x2Nk'
#define NIC_BUDGET      64u  /* G8: frames per DPC call, each way */
#define NIC_BACKLOG     256u /* received frames waiting for a receive request */
#define NIC_WATCHDOG_MS 10
#define NIC_LINK_TRIES  5
#define NIC_RXRING_OFF  (NX2_RING * sizeof(NX2_DESC))
#define NIC_TXBUF_OFF   PAGE_SIZE
#define NIC_RXBUF_OFF   (PAGE_SIZE + NX2_RING * NX2_BUFFER)
#define NIC_QUEUE_BYTES (PAGE_SIZE + 2 * NX2_RING * NX2_BUFFER)

struct _NIC_EXTENSION;

typedef struct _NIC_QUEUE {
    struct _NIC_EXTENSION *Ext;
    ULONG Index;
    PKINTERRUPT Interrupt;
    KDPC Dpc;          /* the queue's CustomDpc: ISR, watchdog and chain timer queue it */
    KTIMER ChainTimer; /* G8: queues Dpc again for the rest of a burst */
    PUCHAR Common;
    PHYSICAL_ADDRESS CommonLa;
    volatile NX2_DESC *TxRing, *RxRing;
    /* the interrupt's lock */
    ULONG IsrCause, IsrCount;
    /* TxLock */
    KSPIN_LOCK TxLock;
    BOOLEAN Running;
    BOOLEAN Paused; /* below D0: sends wait in TxWait */
    ULONG TxTail, TxClean, TxUsed;
    PIRP TxIrp[NX2_RING];
    LIST_ENTRY TxWait; /* sends waiting for a free descriptor */
    /* the queue DPC's */
    ULONG RxNext;
    volatile LONG Progress; /* DPC runs (the watchdog compares) */
    /* the watchdog's */
    LONG WdProgress;
    ULONG WdStalled;
} NIC_QUEUE, *PNIC_QUEUE;

typedef struct _NIC_EXTENSION {
    PDEVICE_OBJECT Self, Pdo, Lower;
    IO_REMOVE_LOCK RemoveLock;
    BOOLEAN LinkCreated;
    PUCHAR Regs;
    SIZE_T RegsLength;
    PDMA_ADAPTER Adapter;
    ULONG Queues;
    BOOLEAN Threaded;
    NIC_QUEUE Queue[NX2_QUEUES];
    /* Lock (G2) */
    KSPIN_LOCK Lock;
    BOOLEAN Started;
    LIST_ENTRY ReceiveQueue;
    PUCHAR Backlog; /* NIC_BACKLOG frames of NX2_BUFFER bytes */
    ULONG BacklogLength[NIC_BACKLOG];
    ULONG BacklogHead, BacklogCount;
    NIC_STATS Stats;
    BOOLEAN PoweredDown;  /* in D1..D3 */
    ULONGLONG MissedBase; /* RX_MISSED counted before the last power-down reset */
    /* watchdog */
    KTIMER WatchdogTimer;
    KDPC WatchdogDpc;
    /* link: a work item that waits */
    PIO_WORKITEM LinkWorkItem;
    volatile LONG LinkWorkBusy;
    KEVENT LinkUpEvent;  /* set while the link is up */
    KEVENT LinkWorkIdle; /* set while the work item is not queued or running */
} NIC_EXTENSION, *PNIC_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE NicAddDevice;
static DRIVER_UNLOAD NicUnload;
static DRIVER_CANCEL NicCancelReceive;
static _Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH NicCreateClose;
static _Dispatch_type_(IRP_MJ_CLEANUP) DRIVER_DISPATCH NicCleanup;
static _Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH NicDeviceControl;
static _Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH NicDispatchPnp;
static _Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH NicDispatchPower;
static _Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH NicPassThrough;
static KSERVICE_ROUTINE NicIsr;
static KDEFERRED_ROUTINE NicQueueDpc;
static KDEFERRED_ROUTINE NicWatchdogDpc;
static KSYNCHRONIZE_ROUTINE NicTakeCause;
static KSYNCHRONIZE_ROUTINE NicUnmask;
static KSYNCHRONIZE_ROUTINE NicMask;
static IO_WORKITEM_ROUTINE NicLinkWork;
static IO_COMPLETION_ROUTINE NicSystemPowerDone;
static IO_COMPLETION_ROUTINE NicDevicePowerUp;
static REQUEST_POWER_COMPLETE NicDevicePowerDone;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, NicAddDevice)
#pragma alloc_text(PAGE, NicDispatchPnp)
#pragma alloc_text(PAGE, NicUnload)
#pragma alloc_text(PAGE, NicLinkWork)
#endif

#define REG32(ext, off) ((PULONG)((ext)->Regs + (off)))
#define QREG32(q, off)  REG32((q)->Ext, NX2_QBASE((q)->Index) + (off))
#define NIC_IMR(q)      (NX2_ICR_TX | NX2_ICR_RX | ((q)->Index == 0 ? NX2_ICR_LSC : 0u))

static NTSTATUS NicComplete(_Inout_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NETWORK_INCREMENT);
    return Status;
}

/* Completes an IRP the dispatch routine took the remove lock for, then releases the lock (the
 * WDK samples' order: the device cannot go away while the IRP is being completed). The IRP is
 * only the lock's tag here: it may already be freed. */
static VOID NicFinish(_In_ PNIC_EXTENSION ext, _Inout_ PIRP Irp, _In_ NTSTATUS Status,
                      _In_ ULONG_PTR Information)
{
    NicComplete(Irp, Status, Information);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

/* G4: in an ordinary DPC (DISPATCH_LEVEL) the DpcLevel calls; a threaded DPC may run at
 * PASSIVE_LEVEL on Windows, so it uses the ForDpc pair, which raises only when needed. */
static KIRQL NicLockDpc(_In_ PNIC_EXTENSION ext, _Inout_ PKSPIN_LOCK Lock)
{
    if (ext->Threaded)
        return KeAcquireSpinLockForDpc(Lock);
    KeAcquireSpinLockAtDpcLevel(Lock);
    return DISPATCH_LEVEL;
}

static VOID NicUnlockDpc(_In_ PNIC_EXTENSION ext, _Inout_ PKSPIN_LOCK Lock, _In_ KIRQL Old)
{
    if (ext->Threaded)
        KeReleaseSpinLockForDpc(Lock, Old);
    else
        KeReleaseSpinLockFromDpcLevel(Lock);
}

/* G13: one error log entry; DumpData[0] is the queue. IRQL <= DISPATCH_LEVEL. */
static VOID NicLogError(_In_ PNIC_EXTENSION ext, _In_ NTSTATUS Code, _In_ ULONG Unique,
                        _In_ ULONG Queue, _In_ NTSTATUS Final)
{
    PIO_ERROR_LOG_PACKET entry =
        IoAllocateErrorLogEntry(ext->Self, (UCHAR)(sizeof(IO_ERROR_LOG_PACKET) + sizeof(ULONG)));
    if (entry == NULL)
        return;
    entry->ErrorCode = Code;
    entry->UniqueErrorValue = Unique;
    entry->FinalStatus = Final;
    entry->MajorFunctionCode = IRP_MJ_DEVICE_CONTROL;
    entry->DumpDataSize = sizeof(ULONG);
    entry->DumpData[0] = Queue;
    IoWriteErrorLogEntry(entry);
}

/* ---- receive requests (cancel-safe) ----------------------------------------------------------- */

/* Copies @Length bytes of a received frame into a receive request. */
static NTSTATUS NicFillReceive(_Inout_ PIRP Irp, _In_reads_bytes_(Length) const UCHAR *Frame,
                               _In_ ULONG Length, _Out_ PULONG_PTR Information)
{
    ULONG room = IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG n = Length <= room ? Length : room;
    RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, Frame, n);
    *Information = n; /* G16: never more than the buffer holds */
    return n < Length ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

/* The oldest pended receive request that is not being cancelled, off the queue. Lock held. */
static PIRP NicPopReceive(_In_ PNIC_EXTENSION ext)
{
    while (!IsListEmpty(&ext->ReceiveQueue)) {
        PLIST_ENTRY entry = RemoveHeadList(&ext->ReceiveQueue);
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
        if (IoSetCancelRoutine(irp, NULL) != NULL)
            return irp;
        /* its cancel routine is running and will unlink it: leave it an empty list */
        InitializeListHead(entry);
    }
    return NULL;
}

_Use_decl_annotations_ static VOID NicCancelReceive(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    KIRQL old;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&ext->Lock, &old);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&ext->Lock, old);
    NicFinish(ext, Irp, STATUS_CANCELLED, 0);
}

static NTSTATUS NicReceive(_In_ PNIC_EXTENSION ext, _Inout_ PIRP Irp)
{
    ULONG_PTR info = 0;
    NTSTATUS status;
    KIRQL old;

    KeAcquireSpinLock(&ext->Lock, &old);
    if (!ext->Started) {
        KeReleaseSpinLock(&ext->Lock, old);
        NicFinish(ext, Irp, STATUS_DEVICE_NOT_READY, 0);
        return STATUS_DEVICE_NOT_READY;
    }
    if (ext->BacklogCount > 0) { /* a frame is waiting: no request is (one lock for both) */
        ULONG slot = ext->BacklogHead;
        status = NicFillReceive(Irp, ext->Backlog + (SIZE_T)slot * NX2_BUFFER,
                                ext->BacklogLength[slot], &info);
        ext->BacklogHead = (slot + 1) % NIC_BACKLOG;
        ext->BacklogCount--;
        ext->Stats.RxFrames++;
        ext->Stats.RxBytes += info;
        KeReleaseSpinLock(&ext->Lock, old);
        NicFinish(ext, Irp, status, info);
        return status;
    }
    IoMarkIrpPending(Irp); /* before it is on the queue, where a DPC may complete it */
    IoSetCancelRoutine(Irp, NicCancelReceive);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        KeReleaseSpinLock(&ext->Lock, old);
        NicFinish(ext, Irp, STATUS_CANCELLED, 0);
        return STATUS_PENDING;
    }
    InsertTailList(&ext->ReceiveQueue, &Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&ext->Lock, old);
    return STATUS_PENDING;
}

/* Completes every pended receive request (of @File, or all for NULL) with @Status. */
static VOID NicFlushReceives(_In_ PNIC_EXTENSION ext, _In_opt_ PFILE_OBJECT File,
                             _In_ NTSTATUS Status)
{
    LIST_ENTRY flushed;
    PLIST_ENTRY entry, next;
    KIRQL old;

    InitializeListHead(&flushed);
    KeAcquireSpinLock(&ext->Lock, &old);
    for (entry = ext->ReceiveQueue.Flink; entry != &ext->ReceiveQueue; entry = next) {
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
        next = entry->Flink;
        if (File != NULL && IoGetCurrentIrpStackLocation(irp)->FileObject != File)
            continue;
        if (IoSetCancelRoutine(irp, NULL) == NULL)
            continue; /* being cancelled */
        RemoveEntryList(entry);
        InsertTailList(&flushed, entry);
    }
    KeReleaseSpinLock(&ext->Lock, old);
    while (!IsListEmpty(&flushed)) {
        entry = RemoveHeadList(&flushed);
        NicFinish(ext, CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry), Status, 0);
    }
}

/* ---- transmit -------------------------------------------------------------------------------- */

/* Puts a send on the ring and tells the device. TxLock held, a descriptor free. */
static VOID NicTxPost(_In_ PNIC_QUEUE q, _Inout_ PIRP Irp)
{
    ULONG index = q->TxTail;
    ULONG length = IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.InputBufferLength;
    RtlCopyMemory(q->Common + NIC_TXBUF_OFF + (SIZE_T)index * NX2_BUFFER,
                  Irp->AssociatedIrp.SystemBuffer, length);
    q->TxRing[index].Length = (USHORT)length;
    q->TxRing[index].Flags = 0;
    q->TxRing[index].Status = 0;
    q->TxIrp[index] = Irp;
    q->TxTail = (index + 1) % NX2_RING;
    q->TxUsed++;
    KeMemoryBarrier(); /* the descriptor before the doorbell */
    WRITE_REGISTER_ULONG(QREG32(q, NX2_Q_TX_TAIL), q->TxTail);
}

static NTSTATUS NicSend(_In_ PNIC_EXTENSION ext, _Inout_ PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG length = sl->Parameters.DeviceIoControl.InputBufferLength;
    const UCHAR *frame = Irp->AssociatedIrp.SystemBuffer;
    ULONG queues = *(volatile ULONG *)&ext->Queues; /* read once: a stop sets it to 0 */
    PNIC_QUEUE q;
    KIRQL old;

    if (length < NX2_MIN_FRAME || length > NX2_MAX_FRAME || frame == NULL) {
        NicFinish(ext, Irp, STATUS_INVALID_BUFFER_SIZE, 0);
        return STATUS_INVALID_BUFFER_SIZE;
    }
    if (queues == 0) {
        NicFinish(ext, Irp, STATUS_DEVICE_NOT_READY, 0);
        return STATUS_DEVICE_NOT_READY;
    }
    /* the flow (bytes 14-15) picks the queue, so one flow's frames stay in order; a queue
     * a stop has flushed meanwhile is not Running */
    q = &ext->Queue[(((ULONG)frame[14] << 8) | frame[15]) % queues];
    KeAcquireSpinLock(&q->TxLock, &old);
    if (!q->Running) {
        KeReleaseSpinLock(&q->TxLock, old);
        NicFinish(ext, Irp, STATUS_DEVICE_NOT_READY, 0);
        return STATUS_DEVICE_NOT_READY;
    }
    IoMarkIrpPending(Irp);
    if (!q->Paused && q->TxUsed < NX2_RING && IsListEmpty(&q->TxWait))
        NicTxPost(q, Irp);
    else
        InsertTailList(&q->TxWait, &Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&q->TxLock, old);
    return STATUS_PENDING;
}

/* ---- interrupt ------------------------------------------------------------------------------- */

/* The queue's message: acknowledge, mask the queue until its DPC is done, queue the DPC. */
_Use_decl_annotations_ static BOOLEAN NicIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    PNIC_QUEUE q = ServiceContext;
    ULONG cause;
    UNREFERENCED_PARAMETER(Interrupt);

    cause = READ_REGISTER_ULONG(QREG32(q, NX2_Q_ICR));
    if (cause == 0 || cause == MAXULONG)
        return FALSE; /* not ours (a spurious message), or the device is gone */
    WRITE_REGISTER_ULONG(QREG32(q, NX2_Q_ICR), cause);
    WRITE_REGISTER_ULONG(QREG32(q, NX2_Q_IMR), 0);
    q->IsrCause |= cause;
#if defined(BROKEN_LOCK_IN_ISR)
    {
        /* BROKEN (G4, G1): an executive spin lock at DIRQL. The counter belongs to the
         * interrupt's lock (IsrCount, taken by the DPC through KeSynchronizeExecution). */
        KIRQL old;
        KeAcquireSpinLock(&q->Ext->Lock, &old);
        q->Ext->Stats.Interrupts++;
        KeReleaseSpinLock(&q->Ext->Lock, old);
    }
#else
    q->IsrCount++;
#endif
    (void)KeInsertQueueDpc(&q->Dpc, NULL, NULL); /* G18: queue the DPC, then return */
    return TRUE;
}

typedef struct _NIC_TAKE {
    PNIC_QUEUE Queue;
    ULONG Cause, Count;
} NIC_TAKE;

/* G1: what the ISR left, read and cleared under the interrupt's lock. */
_Use_decl_annotations_ static BOOLEAN NicTakeCause(PVOID SynchronizeContext)
{
    NIC_TAKE *take = SynchronizeContext;
    take->Cause = take->Queue->IsrCause;
    take->Count = take->Queue->IsrCount;
    take->Queue->IsrCause = 0;
    take->Queue->IsrCount = 0;
    return TRUE;
}

/* G1: IMR is the ISR's register too: unmask under the interrupt's lock. A cause that came
 * while masked signals at once. */
_Use_decl_annotations_ static BOOLEAN NicUnmask(PVOID SynchronizeContext)
{
    PNIC_QUEUE q = SynchronizeContext;
    WRITE_REGISTER_ULONG(QREG32(q, NX2_Q_IMR), NIC_IMR(q));
    return TRUE;
}

/* ---- link ------------------------------------------------------------------------------------ */

/* Started, read under Lock. Not pageable, as no routine that takes a spin lock may be: the
 * pageable NicLinkWork calls it. */
static BOOLEAN NicIsStarted(_In_ PNIC_EXTENSION ext)
{
    BOOLEAN started;
    KIRQL old;
    KeAcquireSpinLock(&ext->Lock, &old);
    started = ext->Started;
    KeReleaseSpinLock(&ext->Lock, old);
    return started;
}

/* G5: renegotiating waits, so it runs here, at PASSIVE_LEVEL in a system worker thread. */
_Use_decl_annotations_ static VOID NicLinkWork(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    PNIC_EXTENSION ext = Context;
    LARGE_INTEGER debounce, timeout;
    ULONG tries;
    UNREFERENCED_PARAMETER(DeviceObject);

    PAGED_CODE();
    debounce.QuadPart = -10 * 1000 * 1; /* 1 ms: let the line settle */
    timeout.QuadPart = -10 * 1000 * 20; /* 20 ms for the link to come up */
    for (tries = 0; tries < NIC_LINK_TRIES; tries++) {
        (void)KeDelayExecutionThread(KernelMode, FALSE, &debounce);
        if (!NicIsStarted(ext) || KeReadStateEvent(&ext->LinkUpEvent))
            break;
        WRITE_REGISTER_ULONG(REG32(ext, NX2_REG_LINK), NX2_LINK_RENEGOTIATE);
        if (KeWaitForSingleObject(&ext->LinkUpEvent, Executive, KernelMode, FALSE, &timeout) ==
            STATUS_SUCCESS)
            break;
    }
    if (tries == NIC_LINK_TRIES)
        NicLogError(ext, STATUS_LINK_TIMEOUT, 3, 0, STATUS_LINK_TIMEOUT);
    /* idle first, free last: a DPC that queues the item again in between clears the event
     * after this set, so LinkWorkIdle is never set while the item is queued */
    KeSetEvent(&ext->LinkWorkIdle, IO_NO_INCREMENT, FALSE);
    InterlockedExchange(&ext->LinkWorkBusy, 0);
}

/* The link changed (queue 0's DPC, NX2_ICR_LSC). */
static VOID NicLinkChange(_In_ PNIC_EXTENSION ext)
{
    ULONG up = READ_REGISTER_ULONG(REG32(ext, NX2_REG_STATUS)) & NX2_STATUS_LINK_UP;
    BOOLEAN went_down = FALSE;
    KIRQL old = NicLockDpc(ext, &ext->Lock);
    if (!up && ext->Stats.LinkUp) {
        ext->Stats.LinkUp = 0;
        ext->Stats.LinkDowns++;
        went_down = TRUE;
    } else if (up && !ext->Stats.LinkUp) {
        ext->Stats.LinkUp = 1;
        ext->Stats.LinkUps++;
    }
    NicUnlockDpc(ext, &ext->Lock, old);
    if (up) {
        KeSetEvent(&ext->LinkUpEvent, IO_NO_INCREMENT, FALSE);
        return;
    }
    KeClearEvent(&ext->LinkUpEvent);
    if (!went_down)
        return;
#if defined(BROKEN_WAIT_IN_DPC)
    {
        /* BROKEN (G3, G5): waits at DISPATCH_LEVEL for the line to settle, where the work
         * item below would have waited at PASSIVE_LEVEL. */
        LARGE_INTEGER debounce;
        debounce.QuadPart = -10 * 1000 * 1;
        (void)KeDelayExecutionThread(KernelMode, FALSE, &debounce);
    }
#endif
    /* G5: one work item at a time; it is queued again only once its routine is done with it
     * (LinkWorkBusy is the last thing the routine touches) */
    if (InterlockedCompareExchange(&ext->LinkWorkBusy, 1, 0) == 0) {
        KeClearEvent(&ext->LinkWorkIdle);
        IoQueueWorkItem(ext->LinkWorkItem, NicLinkWork, DelayedWorkQueue, ext);
    }
}

/* ---- the queue DPC --------------------------------------------------------------------------- */

typedef struct _NIC_DONE {
    PIRP Irp;
    NTSTATUS Status;
    ULONG_PTR Information;
} NIC_DONE;

/* Retires up to NIC_BUDGET sent frames and refills the ring from TxWait. TRUE: more done
 * descriptors are left. */
static BOOLEAN NicTxClean(_In_ PNIC_QUEUE q, _In_ ULONG Budget)
{
    PNIC_EXTENSION ext = q->Ext;
    NIC_DONE done[NIC_BUDGET];
    ULONG n = 0, errors = 0, i;
    ULONGLONG bytes = 0, frames = 0;
    BOOLEAN more;
    KIRQL old = NicLockDpc(ext, &q->TxLock);

    while (n < ARRAYSIZE(done) && n < Budget && q->TxUsed > 0 &&
           (q->TxRing[q->TxClean].Status & NX2_DESC_DONE)) {
        ULONG index = q->TxClean;
        done[n].Irp = q->TxIrp[index];
        q->TxIrp[index] = NULL;
        if (q->TxRing[index].Status & NX2_DESC_ERR) {
            done[n].Status = STATUS_ADAPTER_HARDWARE_ERROR; /* G13: the program may resend */
            done[n].Information = 0;
            errors++;
        } else {
            done[n].Status = STATUS_SUCCESS;
            done[n].Information = 0; /* G16: nothing comes back in the (empty) output buffer */
            bytes += q->TxRing[index].Length;
            frames++;
        }
        n++;
        q->TxClean = (index + 1) % NX2_RING;
        q->TxUsed--;
    }
    while (!q->Paused && !IsListEmpty(&q->TxWait) && q->TxUsed < NX2_RING) {
        PLIST_ENTRY entry = RemoveHeadList(&q->TxWait);
        NicTxPost(q, CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry));
    }
    more = q->TxUsed > 0 && (q->TxRing[q->TxClean].Status & NX2_DESC_DONE) != 0;
    NicUnlockDpc(ext, &q->TxLock, old);

    if (n > 0) {
#if defined(BROKEN_COUNTERS_UNLOCKED)
        /* BROKEN (G2): the counters the stats IOCTL copies under Lock, updated without it (a
         * copy may catch TxFrames and TxBytes of different sends, or lose an update) */
        ext->Stats.TxFrames += frames;
        ext->Stats.TxBytes += bytes;
        ext->Stats.TxErrors += errors;
#else
        old = NicLockDpc(ext, &ext->Lock); /* G2: the counters the stats IOCTL reads */
        ext->Stats.TxFrames += frames;
        ext->Stats.TxBytes += bytes;
        ext->Stats.TxErrors += errors;
        NicUnlockDpc(ext, &ext->Lock, old);
#endif
    }
    for (i = 0; i < n; i++) { /* G6: complete outside every lock */
        if (!NT_SUCCESS(done[i].Status))
            NicLogError(ext, STATUS_ADAPTER_HARDWARE_ERROR, 1, q->Index, done[i].Status);
        NicFinish(ext, done[i].Irp, done[i].Status, done[i].Information);
    }
    return more;
}

/* Takes up to @Budget received frames off the ring. TRUE: more are waiting. */
static BOOLEAN NicRxProcess(_In_ PNIC_QUEUE q, _In_ ULONG Budget)
{
    PNIC_EXTENSION ext = q->Ext;
    ULONG n;

    for (n = 0; n < Budget; n++) {
        ULONG index = q->RxNext, status = q->RxRing[index].Status;
        ULONG length = status >> 16;
        const UCHAR *frame = q->Common + NIC_RXBUF_OFF + (SIZE_T)index * NX2_BUFFER;
        PIRP irp = NULL;
        NTSTATUS irpStatus = STATUS_SUCCESS;
        ULONG_PTR info = 0;
        BOOLEAN dmaError = FALSE;
        KIRQL old;

        if (!(status & NX2_DESC_DONE))
            return FALSE;
        KeMemoryBarrier(); /* the frame is read after its status (weakly ordered CPUs) */
        old = NicLockDpc(ext, &ext->Lock);
        if (status & NX2_DESC_CRC) {
            ext->Stats.RxCrcErrors++; /* a bad frame on the wire: dropped, counted */
        } else if ((status & NX2_DESC_ERR) || length > NX2_BUFFER) {
            ext->Stats.RxErrors++;
            dmaError = TRUE;
        } else if ((irp = NicPopReceive(ext)) != NULL) {
            irpStatus = NicFillReceive(irp, frame, length, &info);
            ext->Stats.RxFrames++;
            ext->Stats.RxBytes += info;
        } else if (ext->BacklogCount < NIC_BACKLOG) {
            ULONG slot = (ext->BacklogHead + ext->BacklogCount) % NIC_BACKLOG;
            RtlCopyMemory(ext->Backlog + (SIZE_T)slot * NX2_BUFFER, frame, length);
            ext->BacklogLength[slot] = length;
            ext->BacklogCount++;
        } else {
            ext->Stats.RxNoBuffer++;
        }
        NicUnlockDpc(ext, &ext->Lock, old);
        KeMemoryBarrier();           /* and copied before the device may write it again */
        q->RxRing[index].Status = 0; /* the buffer goes back to the device */
        q->RxNext = (index + 1) % NX2_RING;
        if (dmaError)
            NicLogError(ext, STATUS_DEVICE_DATA_ERROR, 2, q->Index, STATUS_SUCCESS);
        if (irp != NULL)
            NicFinish(ext, irp, irpStatus, info);
    }
    return (q->RxRing[q->RxNext].Status & NX2_DESC_DONE) != 0;
}

/* The queue's CustomDpc (or threaded DPC): queued by its ISR, by the watchdog after a lost
 * interrupt, and by ChainTimer when the previous call left work (G8). */
_Use_decl_annotations_ static VOID NicQueueDpc(PKDPC Dpc, PVOID DeferredContext,
                                               PVOID SystemArgument1, PVOID SystemArgument2)
{
    PNIC_QUEUE q = DeferredContext;
    PNIC_EXTENSION ext = q->Ext;
    NIC_TAKE take;
    BOOLEAN more, running;
    KIRQL old;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    take.Queue = q;
    (void)KeSynchronizeExecution(q->Interrupt, NicTakeCause, &take);
    if (q->Index == 0) /* NX2_ICR_LSC, or its message lost and the watchdog here instead */
        NicLinkChange(ext);

#if defined(BROKEN_NO_BUDGET)
    /* BROKEN (G8): everything the rings hold, however long that takes */
    do {
        more = NicTxClean(q, NIC_BUDGET);
        more = NicRxProcess(q, MAXULONG) || more;
    } while (more);
#else
    more = NicTxClean(q, NIC_BUDGET);
    more = NicRxProcess(q, NIC_BUDGET) || more;
#endif
    InterlockedIncrement(&q->Progress);

    old = NicLockDpc(ext, &ext->Lock);
    ext->Stats.DpcRuns++;
    ext->Stats.Interrupts += take.Count;
    ext->Stats.DpcCpus[q->Index] |= 1u << (KeGetCurrentProcessorNumberEx(NULL) % 32u);
    /* A stop or a power-down clears this under Lock, then cancels the chain timers and
     * flushes the DPCs (NicQuiesceDpcs): the timer is armed under Lock, so none is armed
     * after that, and the device it is quiescing is left masked. */
    running = ext->Started && !ext->PoweredDown;
    if (more && running) {
        /* G8: a DPC is short. The rest waits for this DPC queued again by a timer (due at
         * once: the next clock tick), which also lets threads and other DPCs run. The
         * queue stays masked meanwhile. If the ISR or the watchdog queued the DPC first,
         * the timer's insert finds it queued and does nothing: that run does the rest. */
        LARGE_INTEGER due;
        due.QuadPart = -1;
        ext->Stats.DpcChained++;
        (void)KeSetTimer(&q->ChainTimer, due, &q->Dpc);
    }
    NicUnlockDpc(ext, &ext->Lock, old);
    if (!more && running)
        (void)KeSynchronizeExecution(q->Interrupt, NicUnmask, q);
}

/* ---- watchdog -------------------------------------------------------------------------------- */

/* Periodic: a queue whose DPC did not run since the last tick but has finished work (its
 * interrupt was lost) gets its DPC queued; a transmit queue that did not move for two
 * periods with the link up is counted as stalled. */
_Use_decl_annotations_ static VOID NicWatchdogDpc(PKDPC Dpc, PVOID DeferredContext,
                                                  PVOID SystemArgument1, PVOID SystemArgument2)
{
    PNIC_EXTENSION ext = DeferredContext;
    ULONG i, j, kicks = 0, stalls = 0;
    BOOLEAN linkUp, started;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    started = ext->Started && !ext->PoweredDown;
    linkUp = ext->Stats.LinkUp != 0;
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
    if (!started)
        return;
    /* a link change whose message was lost: queue 0's DPC looks at the link */
    if (ext->Queues > 0 &&
        ((READ_REGISTER_ULONG(REG32(ext, NX2_REG_STATUS)) & NX2_STATUS_LINK_UP) != 0) != linkUp &&
        KeInsertQueueDpc(&ext->Queue[0].Dpc, NULL, NULL))
        kicks++;
    for (i = 0; i < ext->Queues; i++) {
        PNIC_QUEUE q = &ext->Queue[i];
        LONG progress = InterlockedCompareExchange(&q->Progress, 0, 0);
        BOOLEAN work = FALSE, txBusy;
        KeAcquireSpinLockAtDpcLevel(&q->TxLock);
        txBusy = q->Running && q->TxUsed > 0;
        if (txBusy && (q->TxRing[q->TxClean].Status & NX2_DESC_DONE))
            work = TRUE;
        KeReleaseSpinLockFromDpcLevel(&q->TxLock);
        for (j = 0; j < NX2_RING && !work; j++)
            work = (q->RxRing[j].Status & NX2_DESC_DONE) != 0;
        if (progress == q->WdProgress) {
            if (work && KeInsertQueueDpc(&q->Dpc, NULL, NULL))
                kicks++;
            q->WdStalled = txBusy && !work && linkUp ? q->WdStalled + 1 : 0u;
            if (q->WdStalled == 2)
                stalls++;
        } else {
            q->WdStalled = 0;
        }
        q->WdProgress = progress;
    }
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    ext->Stats.WatchdogRuns++;
    ext->Stats.WatchdogKicks += kicks;
    ext->Stats.TxStalls += stalls;
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
}

/* ---- dispatch -------------------------------------------------------------------------------- */

_Use_decl_annotations_ static NTSTATUS NicCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return NicComplete(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ static NTSTATUS NicCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    NicFlushReceives(ext, IoGetCurrentIrpStackLocation(Irp)->FileObject, STATUS_CANCELLED);
    return NicComplete(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ static NTSTATUS NicDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG outLen = sl->Parameters.DeviceIoControl.OutputBufferLength;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    ULONG i;
    KIRQL old;

    if (!NT_SUCCESS(status))
        return NicComplete(Irp, status, 0);
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_NIC_SEND:
        return NicSend(ext, Irp);
    case IOCTL_NIC_RECEIVE:
        if (outLen < NX2_MIN_FRAME) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        return NicReceive(ext, Irp);
    case IOCTL_NIC_STATS:
        if (outLen < sizeof(NIC_STATS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        /* G2: the DPCs of every queue update these under Lock */
        KeAcquireSpinLock(&ext->Lock, &old);
        ext->Stats.RxMissed = ext->MissedBase;
        if (ext->Started && !ext->PoweredDown)
            for (i = 0; i < ext->Queues; i++)
                ext->Stats.RxMissed += READ_REGISTER_ULONG(QREG32(&ext->Queue[i], NX2_Q_RX_MISSED));
        ext->Stats.Backlog = ext->BacklogCount;
        *(PNIC_STATS)Irp->AssociatedIrp.SystemBuffer = ext->Stats;
        KeReleaseSpinLock(&ext->Lock, old);
        NicFinish(ext, Irp, STATUS_SUCCESS, sizeof(NIC_STATS));
        return STATUS_SUCCESS;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    NicFinish(ext, Irp, status, 0);
    return status;
}

/* ---- start and stop -------------------------------------------------------------------------- */

/* DpcMode (REG_DWORD) from the device's hardware key: TRUE for threaded DPCs. */
static BOOLEAN NicReadThreaded(_In_ PNIC_EXTENSION ext)
{
    UNICODE_STRING valueName = RTL_CONSTANT_STRING(NIC_REG_DPC_MODE);
    union {
        KEY_VALUE_PARTIAL_INFORMATION Info;
        UCHAR Bytes[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + sizeof(ULONG)];
    } buffer;
    ULONG length, mode = NIC_DPC_MODE_NORMAL;
    HANDLE key;
    NTSTATUS status = IoOpenDeviceRegistryKey(ext->Pdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &key);
    if (!NT_SUCCESS(status))
        return FALSE;
    status = ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, &buffer.Info,
                             sizeof buffer, &length);
    if (NT_SUCCESS(status) && buffer.Info.Type == REG_DWORD &&
        buffer.Info.DataLength == sizeof(ULONG))
        RtlCopyMemory(&mode, buffer.Info.Data, sizeof mode);
    ZwClose(key);
    return mode == NIC_DPC_MODE_THREADED;
}

/* The lowest CPU of @Affinity that exists (the interrupt's CPU, where its DPC should run). */
static CCHAR NicFirstCpu(_In_ KAFFINITY Affinity)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL), i;
    for (i = 0; i < cpus && i < sizeof(KAFFINITY) * 8; i++)
        if (Affinity & ((KAFFINITY)1 << i))
            return (CCHAR)i;
    return 0;
}

/* Tells the device where the queue's rings are (after a reset it has forgotten them). */
static VOID NicProgramRings(_In_ PNIC_QUEUE q)
{
    PHYSICAL_ADDRESS la;
    WRITE_REGISTER_ULONG(QREG32(q, NX2_Q_TXRING_LO), q->CommonLa.LowPart);
    WRITE_REGISTER_ULONG(QREG32(q, NX2_Q_TXRING_HI), (ULONG)q->CommonLa.HighPart);
    la.QuadPart = q->CommonLa.QuadPart + (LONGLONG)NIC_RXRING_OFF;
    WRITE_REGISTER_ULONG(QREG32(q, NX2_Q_RXRING_LO), la.LowPart);
    WRITE_REGISTER_ULONG(QREG32(q, NX2_Q_RXRING_HI), (ULONG)la.HighPart);
}

static NTSTATUS NicSetUpQueue(_In_ PNIC_EXTENSION ext, _In_ ULONG Index)
{
    PNIC_QUEUE q = &ext->Queue[Index];
    ULONG i;

    q->Ext = ext;
    q->Index = Index;
    q->Common = ext->Adapter->DmaOperations->AllocateCommonBuffer(ext->Adapter, NIC_QUEUE_BYTES,
                                                                  &q->CommonLa, FALSE);
    if (q->Common == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(q->Common, PAGE_SIZE);
    q->TxRing = (volatile NX2_DESC *)q->Common;
    q->RxRing = (volatile NX2_DESC *)(q->Common + NIC_RXRING_OFF);
    for (i = 0; i < NX2_RING; i++) {
        q->TxRing[i].Address =
            (ULONGLONG)q->CommonLa.QuadPart + NIC_TXBUF_OFF + (ULONGLONG)i * NX2_BUFFER;
        q->RxRing[i].Address =
            (ULONGLONG)q->CommonLa.QuadPart + NIC_RXBUF_OFF + (ULONGLONG)i * NX2_BUFFER;
        q->RxRing[i].Length = NX2_BUFFER;
    }
    q->TxTail = q->TxClean = q->TxUsed = q->RxNext = 0;
    q->Progress = q->WdProgress = 0;
    q->WdStalled = 0;
    q->IsrCause = q->IsrCount = 0;
    if (ext->Threaded)
        KeInitializeThreadedDpc(&q->Dpc, NicQueueDpc, q);
    else
        KeInitializeDpc(&q->Dpc, NicQueueDpc, q);
    KeSetImportanceDpc(&q->Dpc, MediumHighImportance);
    KeInitializeTimer(&q->ChainTimer);
    NicProgramRings(q);
    return STATUS_SUCCESS;
}

static VOID NicStopHardware(_In_ PNIC_EXTENSION ext);

static NTSTATUS NicStartHardware(_In_ PNIC_EXTENSION ext, _In_opt_ PCM_RESOURCE_LIST Resources)
{
    PCM_PARTIAL_RESOURCE_LIST list;
    PHYSICAL_ADDRESS base;
    ULONG length = 0, lines = 0, i, mapRegisters = 0, macLo, macHi, queues;
    struct {
        ULONG Vector;
        KIRQL Irql;
        KAFFINITY Affinity;
    } line[NX2_QUEUES];
    DEVICE_DESCRIPTION dd;
    LARGE_INTEGER due;
    NTSTATUS status;
    KIRQL old;

    base.QuadPart = 0;
    if (Resources == NULL || Resources->Count == 0)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    list = &Resources->List[0].PartialResourceList;
    for (i = 0; i < list->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
        if (d->Type == CmResourceTypeMemory && length == 0) {
            base = d->u.Memory.Start;
            length = d->u.Memory.Length;
        } else if (d->Type == CmResourceTypeInterrupt && lines < NX2_QUEUES &&
                   (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED)) {
            line[lines].Vector = d->u.Interrupt.Vector;
            line[lines].Irql = (KIRQL)d->u.Interrupt.Level;
            line[lines].Affinity = d->u.Interrupt.Affinity;
            lines++;
        }
    }
    if (length < NX2_WINDOW || lines == 0)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    ext->Regs = MmMapIoSpace(base, length, MmNonCached);
    if (ext->Regs == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ext->RegsLength = length;
    if (READ_REGISTER_ULONG(REG32(ext, NX2_REG_ID)) != NX2_ID)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    WRITE_REGISTER_ULONG(REG32(ext, NX2_REG_CTRL), NX2_CTRL_RESET);
    queues = READ_REGISTER_ULONG(REG32(ext, NX2_REG_QUEUES));
    if (queues > lines)
        queues = lines; /* one message per queue pair */
    if (queues > NX2_QUEUES)
        queues = NX2_QUEUES;
    if (queues == 0)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    ext->Threaded = NicReadThreaded(ext);

    RtlZeroMemory(&dd, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION3;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.Dma64BitAddresses = TRUE;
    dd.DmaAddressWidth = 64;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = NX2_MAX_FRAME;
    ext->Adapter = IoGetDmaAdapter(ext->Pdo, &dd, &mapRegisters);
    if (ext->Adapter == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ext->Backlog = ExAllocatePool2(POOL_FLAG_NON_PAGED, (SIZE_T)NIC_BACKLOG * NX2_BUFFER, NIC_TAG);
    if (ext->Backlog == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ext->BacklogHead = ext->BacklogCount = 0;
    for (i = 0; i < queues; i++) {
        status = NicSetUpQueue(ext, i);
        if (!NT_SUCCESS(status))
            return status;
        ext->Queues = i + 1;
        /* the DPC runs where its message arrives: that CPU's cache holds the queue */
        KeSetTargetProcessorDpc(&ext->Queue[i].Dpc, NicFirstCpu(line[i].Affinity));
        status = IoConnectInterrupt(&ext->Queue[i].Interrupt, NicIsr, &ext->Queue[i], NULL,
                                    line[i].Vector, line[i].Irql, line[i].Irql, Latched, FALSE,
                                    line[i].Affinity, FALSE);
        if (!NT_SUCCESS(status)) {
            ext->Queue[i].Interrupt = NULL;
            return status;
        }
    }
    macLo = READ_REGISTER_ULONG(REG32(ext, NX2_REG_MAC_LO));
    macHi = READ_REGISTER_ULONG(REG32(ext, NX2_REG_MAC_HI));

    KeAcquireSpinLock(&ext->Lock, &old);
    RtlZeroMemory(&ext->Stats, sizeof ext->Stats);
    for (i = 0; i < 4; i++)
        ext->Stats.Mac[i] = (UCHAR)(macLo >> (8 * i));
    ext->Stats.Mac[4] = (UCHAR)macHi;
    ext->Stats.Mac[5] = (UCHAR)(macHi >> 8);
    ext->Stats.Queues = queues;
    ext->Stats.Threaded = ext->Threaded ? 1u : 0u;
    ext->PoweredDown = FALSE;
    ext->MissedBase = 0;
    ext->Started = TRUE;
    KeReleaseSpinLock(&ext->Lock, old);
    for (i = 0; i < queues; i++) {
        KeAcquireSpinLock(&ext->Queue[i].TxLock, &old);
        ext->Queue[i].Running = TRUE;
        ext->Queue[i].Paused = FALSE;
        KeReleaseSpinLock(&ext->Queue[i].TxLock, old);
    }

    /* the watchdog: a periodic timer (its DPC may wait behind the others) */
    due.QuadPart = -10 * 1000 * NIC_WATCHDOG_MS;
    (void)KeSetTimerEx(&ext->WatchdogTimer, due, NIC_WATCHDOG_MS, &ext->WatchdogDpc);

    KeClearEvent(&ext->LinkUpEvent); /* a stop before this one left it set */
    WRITE_REGISTER_ULONG(REG32(ext, NX2_REG_CTRL), NX2_CTRL_ENABLE);
    if (READ_REGISTER_ULONG(REG32(ext, NX2_REG_STATUS)) & NX2_STATUS_LINK_UP) {
        KeAcquireSpinLock(&ext->Lock, &old);
        ext->Stats.LinkUp = 1;
        KeReleaseSpinLock(&ext->Lock, old);
        KeSetEvent(&ext->LinkUpEvent, IO_NO_INCREMENT, FALSE);
    }
    for (i = 0; i < queues; i++)
        (void)KeSynchronizeExecution(ext->Queue[i].Interrupt, NicUnmask, &ext->Queue[i]);
    DbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_INFO_LEVEL,
               "nic: %02x-%02x-%02x-%02x-%02x-%02x, %lu queues, %s DPCs\n", ext->Stats.Mac[0],
               ext->Stats.Mac[1], ext->Stats.Mac[2], ext->Stats.Mac[3], ext->Stats.Mac[4],
               ext->Stats.Mac[5], queues, ext->Threaded ? "threaded" : "ordinary");
    return STATUS_SUCCESS;
}

/* Once Started went FALSE or PoweredDown TRUE (under Lock) and the device was reset: after
 * this no DPC of ours is queued or running, and none will be. The watchdog kicks no queue
 * DPC and no queue DPC arms its chain timer any more, but either may be doing so now: the
 * first flush waits for the DPCs queued or running, a queue DPC the watchdog kicked during
 * it is not covered (KeFlushQueuedDpcs waits only for DPCs queued before the call), nor one
 * a chain timer queued; with the timers cancelled, the second flush waits for those. */
static VOID NicQuiesceDpcs(_In_ PNIC_EXTENSION ext)
{
    ULONG i;
    KeFlushQueuedDpcs();
    for (i = 0; i < ext->Queues; i++)
        (void)KeCancelTimer(&ext->Queue[i].ChainTimer);
    KeFlushQueuedDpcs();
}

/* Completes the sends a queue still holds (the device is reset: it touches none of them). */
static VOID NicFlushSends(_In_ PNIC_EXTENSION ext, _In_ PNIC_QUEUE q)
{
    LIST_ENTRY flushed;
    PLIST_ENTRY entry;
    KIRQL old;
    ULONG i;

    InitializeListHead(&flushed);
    KeAcquireSpinLock(&q->TxLock, &old);
    q->Running = FALSE;
    for (i = 0; i < NX2_RING; i++) {
        if (q->TxIrp[i] != NULL)
            InsertTailList(&flushed, &q->TxIrp[i]->Tail.Overlay.ListEntry);
        q->TxIrp[i] = NULL;
    }
    while (!IsListEmpty(&q->TxWait))
        InsertTailList(&flushed, RemoveHeadList(&q->TxWait));
    q->TxUsed = 0;
    KeReleaseSpinLock(&q->TxLock, old);
    while (!IsListEmpty(&flushed)) {
        entry = RemoveHeadList(&flushed);
        NicFinish(ext, CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry),
                  STATUS_DEVICE_NOT_READY, 0);
    }
}

static VOID NicStopHardware(_In_ PNIC_EXTENSION ext)
{
    ULONG i;
    KIRQL old;

    KeAcquireSpinLock(&ext->Lock, &old);
    ext->Started = FALSE;
    KeReleaseSpinLock(&ext->Lock, old);
    (void)KeCancelTimer(&ext->WatchdogTimer);
    if (ext->Regs != NULL) /* every queue masked: no message, so no ISR queues a DPC */
        WRITE_REGISTER_ULONG(REG32(ext, NX2_REG_CTRL), NX2_CTRL_RESET);
    /* G8, G12: no DPC of ours runs past this, so none reaches an interrupt disconnected
     * below or the rings freed below */
    NicQuiesceDpcs(ext);
    /* the link work item (a DPC may have queued it until now) sees Started FALSE; wake it
     * and wait until it has ended: none is queued after this */
    KeSetEvent(&ext->LinkUpEvent, IO_NO_INCREMENT, FALSE);
    (void)KeWaitForSingleObject(&ext->LinkWorkIdle, Executive, KernelMode, FALSE, NULL);
    for (i = 0; i < ext->Queues; i++) {
        PNIC_QUEUE q = &ext->Queue[i];
        if (q->Interrupt != NULL) {
            IoDisconnectInterrupt(q->Interrupt);
            q->Interrupt = NULL;
        }
    }
    NicFlushReceives(ext, NULL, STATUS_NO_SUCH_DEVICE);
    for (i = 0; i < ext->Queues; i++) {
        PNIC_QUEUE q = &ext->Queue[i];
        NicFlushSends(ext, q);
        if (q->Common != NULL)
            ext->Adapter->DmaOperations->FreeCommonBuffer(ext->Adapter, NIC_QUEUE_BYTES,
                                                          q->CommonLa, q->Common, FALSE);
        q->Common = NULL;
        q->TxRing = q->RxRing = NULL;
    }
    ext->Queues = 0;
    if (ext->Backlog != NULL)
        ExFreePoolWithTag(ext->Backlog, NIC_TAG);
    ext->Backlog = NULL;
    ext->BacklogCount = 0;
    if (ext->Adapter != NULL)
        ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
    ext->Adapter = NULL;
    if (ext->Regs != NULL)
        MmUnmapIoSpace(ext->Regs, ext->RegsLength);
    ext->Regs = NULL;
}

/* ---- PnP and power --------------------------------------------------------------------------- */

static NTSTATUS NicPassDown(_In_ PNIC_EXTENSION ext, _Inout_ PIRP Irp)
{
    NTSTATUS status;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ static NTSTATUS NicDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    PAGED_CODE();
    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return NicComplete(Irp, status, 0);
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status =
            IoForwardIrpSynchronously(ext->Lower, Irp) ? Irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
        if (NT_SUCCESS(status))
            status = NicStartHardware(ext, sl->Parameters.StartDevice.AllocatedResourcesTranslated);
        if (!NT_SUCCESS(status))
            NicStopHardware(ext);
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return NicComplete(Irp, status, 0);
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return NicPassDown(ext, Irp);
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        NicStopHardware(ext);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return NicPassDown(ext, Irp);
    case IRP_MN_REMOVE_DEVICE:
        NicStopHardware(ext);
        if (ext->LinkCreated) {
            UNICODE_STRING link = RTL_CONSTANT_STRING(NIC_DOS_NAME);
            (void)IoDeleteSymbolicLink(&link);
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
        IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
        IoFreeWorkItem(ext->LinkWorkItem);
        IoDetachDevice(ext->Lower);
        IoDeleteDevice(DeviceObject);
        return status;
    default:
        return NicPassDown(ext, Irp);
    }
}

/* ---- power: the driver owns its device's power policy ---------------------------------------- */

_Use_decl_annotations_ static BOOLEAN NicMask(PVOID SynchronizeContext)
{
    PNIC_QUEUE q = SynchronizeContext;
    WRITE_REGISTER_ULONG(QREG32(q, NX2_Q_IMR), 0);
    return TRUE;
}

/* Below D0 (PASSIVE_LEVEL, before the bus powers the device down): new sends wait, the sends
 * in flight get up to 100 ms to go out, then the device is reset and nothing of ours runs. */
static VOID NicPowerDown(_In_ PNIC_EXTENSION ext)
{
    LARGE_INTEGER tick;
    ULONG i, waited, busy;
    KIRQL old;

    for (i = 0; i < ext->Queues; i++) {
        KeAcquireSpinLock(&ext->Queue[i].TxLock, &old);
        ext->Queue[i].Paused = TRUE;
        KeReleaseSpinLock(&ext->Queue[i].TxLock, old);
    }
    tick.QuadPart = -10 * 1000; /* 1 ms */
    for (waited = 0; waited < 100; waited++) {
        for (i = 0, busy = 0; i < ext->Queues; i++) {
            KeAcquireSpinLock(&ext->Queue[i].TxLock, &old);
            busy += ext->Queue[i].TxUsed;
            KeReleaseSpinLock(&ext->Queue[i].TxLock, old);
        }
        if (busy == 0)
            break;
        (void)KeDelayExecutionThread(KernelMode, FALSE, &tick);
    }
    KeAcquireSpinLock(&ext->Lock, &old);
    ext->PoweredDown = TRUE;
    ext->Stats.PowerDowns++;
    for (i = 0; i < ext->Queues; i++)
        ext->MissedBase += READ_REGISTER_ULONG(QREG32(&ext->Queue[i], NX2_Q_RX_MISSED));
    KeReleaseSpinLock(&ext->Lock, old);
    for (i = 0; i < ext->Queues; i++)
        (void)KeSynchronizeExecution(ext->Queue[i].Interrupt, NicMask, &ext->Queue[i]);
    WRITE_REGISTER_ULONG(REG32(ext, NX2_REG_CTRL), NX2_CTRL_RESET);
    NicQuiesceDpcs(ext); /* the rings are this thread's alone now */
    for (i = 0; i < ext->Queues; i++) {
        PNIC_QUEUE q = &ext->Queue[i];
        /* what the device finished before the reset: sends retired, frames to their readers */
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        while (NicTxClean(q, NIC_BUDGET))
            ;
        (void)NicRxProcess(q, NX2_RING);
        KeLowerIrql(old);
        /* sends still on the ring go out again after D0, first */
        KeAcquireSpinLock(&q->TxLock, &old);
        while (q->TxUsed > 0) {
            q->TxTail = (q->TxTail + NX2_RING - 1) % NX2_RING;
            InsertHeadList(&q->TxWait, &q->TxIrp[q->TxTail]->Tail.Overlay.ListEntry);
            q->TxIrp[q->TxTail] = NULL;
            q->TxUsed--;
        }
        KeReleaseSpinLock(&q->TxLock, old);
    }
}

/* Back in D0 (IRQL <= DISPATCH_LEVEL: a completion routine): the device forgot its rings. */
static VOID NicPowerUp(_In_ PNIC_EXTENSION ext)
{
    ULONG i, j;
    KIRQL old;

    for (i = 0; i < ext->Queues; i++) {
        PNIC_QUEUE q = &ext->Queue[i];
        for (j = 0; j < NX2_RING; j++)
            q->RxRing[j].Status = 0;
        q->RxNext = 0; /* no DPC of this queue runs: it was flushed and the queue is masked */
        KeAcquireSpinLock(&q->TxLock, &old);
        q->TxTail = q->TxClean = 0;
        KeReleaseSpinLock(&q->TxLock, old);
        NicProgramRings(q);
    }
    WRITE_REGISTER_ULONG(REG32(ext, NX2_REG_CTRL), NX2_CTRL_ENABLE);
    KeAcquireSpinLock(&ext->Lock, &old);
    ext->PoweredDown = FALSE;
    ext->Stats.PowerUps++;
    KeReleaseSpinLock(&ext->Lock, old);
    for (i = 0; i < ext->Queues; i++) {
        PNIC_QUEUE q = &ext->Queue[i];
        (void)KeSynchronizeExecution(q->Interrupt, NicUnmask, q);
        KeAcquireSpinLock(&q->TxLock, &old);
        q->Paused = FALSE;
        while (!IsListEmpty(&q->TxWait) && q->TxUsed < NX2_RING)
            NicTxPost(q,
                      CONTAINING_RECORD(RemoveHeadList(&q->TxWait), IRP, Tail.Overlay.ListEntry));
        KeReleaseSpinLock(&q->TxLock, old);
    }
    /* queue 0's DPC looks at the link, which may have changed meanwhile */
    if (ext->Queues > 0)
        (void)KeInsertQueueDpc(&ext->Queue[0].Dpc, NULL, NULL);
}

/* The device power IRP this driver asked for is done: so is the system IRP. */
_Use_decl_annotations_ static VOID NicDevicePowerDone(PDEVICE_OBJECT DeviceObject,
                                                      UCHAR MinorFunction, POWER_STATE PowerState,
                                                      PVOID Context, PIO_STATUS_BLOCK IoStatus)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    PIRP systemIrp = Context;
    UNREFERENCED_PARAMETER(MinorFunction);
    UNREFERENCED_PARAMETER(PowerState);
    systemIrp->IoStatus.Status = IoStatus->Status;
    PoStartNextPowerIrp(systemIrp);
    IoReleaseRemoveLock(&ext->RemoveLock, systemIrp);
    IoCompleteRequest(systemIrp, IO_NO_INCREMENT);
}

/* A system set-power IRP is back from the bus: ask for the device state that goes with it. */
_Use_decl_annotations_ static NTSTATUS NicSystemPowerDone(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                          PVOID Context)
{
    PNIC_EXTENSION ext = Context;
    POWER_STATE state;
    NTSTATUS status = Irp->IoStatus.Status;
    UNREFERENCED_PARAMETER(DeviceObject);
    state.DeviceState =
        IoGetCurrentIrpStackLocation(Irp)->Parameters.Power.State.SystemState == PowerSystemWorking
            ? PowerDeviceD0
            : PowerDeviceD3;
    if (NT_SUCCESS(status))
        status =
            PoRequestPowerIrp(ext->Self, IRP_MN_SET_POWER, state, NicDevicePowerDone, Irp, NULL);
    if (status == STATUS_PENDING)
        return STATUS_MORE_PROCESSING_REQUIRED; /* NicDevicePowerDone completes it */
    Irp->IoStatus.Status = status;
    PoStartNextPowerIrp(Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return STATUS_SUCCESS;
}

/* A device set-power IRP for D0 is back from the bus: the device has power again. */
_Use_decl_annotations_ static NTSTATUS NicDevicePowerUp(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                        PVOID Context)
{
    PNIC_EXTENSION ext = Context;
    BOOLEAN wake;
    KIRQL old;
    if (NT_SUCCESS(Irp->IoStatus.Status)) {
        KeAcquireSpinLock(&ext->Lock, &old);
        wake = ext->Started && ext->PoweredDown;
        KeReleaseSpinLock(&ext->Lock, old);
        if (wake)
            NicPowerUp(ext);
        (void)PoSetPowerState(DeviceObject, DevicePowerState,
                              IoGetCurrentIrpStackLocation(Irp)->Parameters.Power.State);
    }
    PoStartNextPowerIrp(Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS NicDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    BOOLEAN sleep;
    KIRQL old;
    if (!NT_SUCCESS(status)) {
        PoStartNextPowerIrp(Irp);
        return NicComplete(Irp, status, 0);
    }
    if (sl->MinorFunction == IRP_MN_SET_POWER) {
        PIO_COMPLETION_ROUTINE then = NULL;
        if (sl->Parameters.Power.Type == SystemPowerState)
            then = NicSystemPowerDone;
        else if (sl->Parameters.Power.State.DeviceState == PowerDeviceD0)
            then = NicDevicePowerUp;
        if (then != NULL) { /* on the way back up from the bus */
            IoMarkIrpPending(Irp);
            IoCopyCurrentIrpStackLocationToNext(Irp);
            IoSetCompletionRoutine(Irp, then, ext, TRUE, TRUE, TRUE);
            (void)PoCallDriver(ext->Lower, Irp);
            return STATUS_PENDING;
        }
        /* D1..D3: the device stops before the bus takes its power */
        KeAcquireSpinLock(&ext->Lock, &old);
        sleep = ext->Started && !ext->PoweredDown;
        KeReleaseSpinLock(&ext->Lock, old);
        if (sleep)
            NicPowerDown(ext);
        (void)PoSetPowerState(DeviceObject, DevicePowerState, sl->Parameters.Power.State);
    }
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ static NTSTATUS NicPassThrough(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return NicComplete(Irp, status, 0);
    return NicPassDown(ext, Irp);
}

_Use_decl_annotations_ static NTSTATUS NicAddDevice(PDRIVER_OBJECT DriverObject,
                                                    PDEVICE_OBJECT PhysicalDeviceObject)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(NIC_DEVICE_NAME);
    UNICODE_STRING link = RTL_CONSTANT_STRING(NIC_DOS_NAME);
    PDEVICE_OBJECT fdo;
    PNIC_EXTENSION ext;
    NTSTATUS status;
    ULONG i;

    PAGED_CODE();
    status = IoCreateDevice(DriverObject, sizeof(NIC_EXTENSION), &name, FILE_DEVICE_NETWORK,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    ext = fdo->DeviceExtension;
    RtlZeroMemory(ext, sizeof *ext);
    ext->Self = fdo;
    ext->Pdo = PhysicalDeviceObject;
    KeInitializeSpinLock(&ext->Lock);
    for (i = 0; i < NX2_QUEUES; i++) { /* once: a send may still hold a stopped queue's lock */
        KeInitializeSpinLock(&ext->Queue[i].TxLock);
        InitializeListHead(&ext->Queue[i].TxWait);
    }
    InitializeListHead(&ext->ReceiveQueue);
    IoInitializeRemoveLock(&ext->RemoveLock, NIC_TAG, 0, 0);
    KeInitializeEvent(&ext->LinkUpEvent, NotificationEvent, FALSE);
    KeInitializeEvent(&ext->LinkWorkIdle, NotificationEvent, TRUE);
    KeInitializeTimerEx(&ext->WatchdogTimer, NotificationTimer);
    KeInitializeDpc(&ext->WatchdogDpc, NicWatchdogDpc, ext);
    KeSetImportanceDpc(&ext->WatchdogDpc, LowImportance);
    ext->LinkWorkItem = IoAllocateWorkItem(fdo);
    if (ext->LinkWorkItem == NULL) {
        IoDeleteDevice(fdo);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
    if (ext->Lower == NULL) {
        IoFreeWorkItem(ext->LinkWorkItem);
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    ext->LinkCreated = NT_SUCCESS(IoCreateSymbolicLink(&link, &name));
    fdo->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static VOID NicUnload(PDRIVER_OBJECT DriverObject)
{
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = NicCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = NicCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = NicCleanup;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = NicDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = NicDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = NicDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = NicPassThrough;
    DriverObject->DriverUnload = NicUnload;
    DriverObject->DriverExtension->AddDevice = NicAddDevice;
    return STATUS_SUCCESS;
}
