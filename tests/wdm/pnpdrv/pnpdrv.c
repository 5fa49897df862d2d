/* SPDX-License-Identifier: MIT */
/*
 * pnpdrv.c - a PnP function driver for the XF-1 transformer (pnpdrv.h),
 * written as for Windows: <wdm.h> and its own public header only, no kdpc
 * names. It is what tests/wdm/test_pnp_driver.c and test_fault_injection.c
 * run against the virtual XF-1 of vdev.c.
 *
 *  - AddDevice: a named FDO over the PDO, a remove lock, the DpcForIsr, a
 *    watchdog timer + DPC, deferred StartIo.
 *  - IRP_MN_START_DEVICE (forwarded first): the translated CM_RESOURCE_LIST
 *    gives the register window (MmMapIoSpace) and the interrupt
 *    (IoConnectInterrupt, level-sensitive or latched as the resource says);
 *    a bus-master adapter and a common buffer; a \DosDevices link.
 *  - IOCTL_PNPDRV_TRANSFORM: dispatch -> IoStartPacket -> StartIo programs
 *    the device in a SynchCritSection -> device -> ISR (acknowledges, reads
 *    the result registers) -> DpcForIsr completes, or retries a failed or
 *    short transfer (PNPDRV_MAX_RETRIES), writing error log entries.
 *  - The watchdog DPC finds an operation overdue (a lost interrupt: the
 *    device is done but never interrupted; a hung device: reset, retry).
 *  - SURPRISE_REMOVAL: the operation in flight and everything queued are
 *    completed with STATUS_NO_SUCH_DEVICE; REMOVE_DEVICE waits on the remove
 *    lock for every request still holding it.
 *
 * Locks: ext->Lock (a spin lock) guards the PnP state, the counters, the
 * common buffer and the right to use the interrupt object (Gone);
 * everything the ISR touches is touched elsewhere only in a SynchCritSection
 * taken while holding ext->Lock (order: ext->Lock, then the interrupt lock).
 */
#include <wdm.h>
#include "pnpdrv.h"

ULONG PnpDrvBugs;

#define TAG 'vdnP'
typedef enum {
    StateStopped,
    StateStarted,
    StateStopPending,
    StateRemovePending,
    StateSurpriseRemoved,
    StateDeleted
} PNP_STATE;
enum { WHY_INTERRUPT, WHY_LOST, WHY_HUNG, WHY_GONE };

typedef struct _DEVICE_EXTENSION {
    PDEVICE_OBJECT Self, Pdo, Lower;
    IO_REMOVE_LOCK RemoveLock;
    KSPIN_LOCK Lock;
    PNP_STATE PnpState;  /* Lock */
    BOOLEAN Gone;        /* Lock: hardware released; no KeSynchronizeExecution */
    BOOLEAN LinkCreated; /* PnP thread only */
    BOOLEAN PowerDown;   /* Lock: in D1..D3 */
    ULONG Outstanding;   /* Lock: TRANSFORM requests not completed yet */
    ULONG OpenCount;     /* Lock */
    ULONG Retry;         /* Lock */
    PNPDRV_STATS Stats;  /* Lock */
    PUCHAR Regs;         /* mapped window */
    SIZE_T RegsLength;
    PKINTERRUPT Interrupt;
    PDMA_ADAPTER Adapter;
    PUCHAR Common; /* Lock */
    PHYSICAL_ADDRESS CommonLa;
    KTIMER WdTimer;
    KDPC WdDpc;
    /* interrupt lock */
    PIRP OpIrp;
    ULONG OpLen;
    ULONGLONG OpStart;
    BOOLEAN IsrDone;
    ULONG IsrStatus, IsrXfer, IsrSpurious, IsrClaimed;
} DEVICE_EXTENSION, *PDEVICE_EXTENSION;

typedef struct _CLAIM {
    PDEVICE_EXTENSION Ext;
    PIRP Irp;
    ULONG Len, Status, Xfer, Why;
    ULONGLONG Now, Rearm;
} CLAIM;

#define REG(ext, off) ((volatile ULONG *)((ext)->Regs + (off)))

static void ArmWatchdog(PDEVICE_EXTENSION ext, ULONGLONG in100ns)
{
    LARGE_INTEGER due;
    due.QuadPart = -(LONGLONG)in100ns;
    KeSetTimer(&ext->WdTimer, due, &ext->WdDpc);
}

/* ---- SynchCritSections (interrupt lock held) and the ISR ---------------------------------- */

static BOOLEAN ProgramDevice(PVOID Context)
{
    CLAIM *c = Context;
    PDEVICE_EXTENSION ext = c->Ext;
    ext->OpIrp = c->Irp;
    ext->OpLen = c->Len;
    ext->OpStart = KeQueryInterruptTime();
    ext->IsrDone = FALSE;
    WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_LEN), c->Len);
    WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_CTRL), PNPDRV_CTRL_GO | PNPDRV_CTRL_IRQ_EN);
    return TRUE;
}

static void Claim(CLAIM *c, ULONG why)
{
    PDEVICE_EXTENSION ext = c->Ext;
    c->Irp = ext->OpIrp;
    c->Len = ext->OpLen;
    c->Why = why;
    ext->OpIrp = NULL;
    ext->IsrDone = FALSE;
}

static BOOLEAN TakeInterruptResult(PVOID Context)
{
    CLAIM *c = Context;
    if (c->Ext->OpIrp == NULL || !c->Ext->IsrDone)
        return FALSE; /* the watchdog took it, or an earlier DPC run did */
    c->Status = c->Ext->IsrStatus;
    c->Xfer = c->Ext->IsrXfer;
    Claim(c, WHY_INTERRUPT);
    return TRUE;
}

static BOOLEAN WatchdogCheck(PVOID Context)
{
    CLAIM *c = Context;
    PDEVICE_EXTENSION ext = c->Ext;
    if (ext->OpIrp == NULL || ext->IsrDone)
        return FALSE; /* nothing in flight, or the DpcForIsr is on its way */
    ULONGLONG waited = c->Now - ext->OpStart, limit = PNPDRV_WATCHDOG_MS * 10000ull;
    if (waited < limit) {
        c->Rearm = limit - waited; /* a newer operation than the one the timer was set for */
        return FALSE;
    }
    ULONG status = READ_REGISTER_ULONG(REG(ext, PNPDRV_REG_STATUS));
    if (status == 0xFFFFFFFFu) {
        Claim(c, WHY_GONE);
    } else if (status & (PNPDRV_STATUS_DONE | PNPDRV_STATUS_ERR)) {
        c->Status = status; /* done, but the interrupt never came */
        c->Xfer = READ_REGISTER_ULONG(REG(ext, PNPDRV_REG_XFER));
        WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_INTACK),
                             status & (PNPDRV_STATUS_DONE | PNPDRV_STATUS_ERR));
        Claim(c, WHY_LOST);
    } else {
        WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_CTRL), PNPDRV_CTRL_RESET);
        Claim(c, WHY_HUNG);
    }
    return TRUE;
}

static BOOLEAN ClaimForRemoval(PVOID Context)
{
    CLAIM *c = Context;
    if (c->Ext->OpIrp == NULL)
        return FALSE;
    Claim(c, WHY_GONE);
    return TRUE;
}

static BOOLEAN ReadIsrCounters(PVOID Context)
{
    PDEVICE_EXTENSION ext = Context;
    ext->Stats.Spurious = ext->IsrSpurious;
    ext->Stats.IsrClaimed = ext->IsrClaimed;
    return TRUE;
}

static BOOLEAN PnpDrvIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_EXTENSION ext = ServiceContext;
    ULONG status = READ_REGISTER_ULONG(REG(ext, PNPDRV_REG_STATUS));
    if (status == 0xFFFFFFFFu)
        return FALSE; /* the device is gone */
    if ((status & (PNPDRV_STATUS_DONE | PNPDRV_STATUS_ERR)) == 0) {
        ext->IsrSpurious++; /* not ours, or nothing to do */
        return FALSE;
    }
    ext->IsrXfer = READ_REGISTER_ULONG(REG(ext, PNPDRV_REG_XFER));
    WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_INTACK),
                         status & (PNPDRV_STATUS_DONE | PNPDRV_STATUS_ERR));
    ext->IsrStatus = status;
    ext->IsrDone = TRUE;
    ext->IsrClaimed++;
    IoRequestDpc(ext->Self, NULL, NULL);
    return TRUE;
}

/* ---- completion, retry, error log (DISPATCH_LEVEL) ----------------------------------------- */

static void LogEvent(PDEVICE_EXTENSION ext, ULONG ioctl, NTSTATUS code, NTSTATUS final,
                     ULONG retries)
{
    PIO_ERROR_LOG_PACKET p = IoAllocateErrorLogEntry(ext->Self, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    if (p == NULL)
        return;
    p->MajorFunctionCode = IRP_MJ_DEVICE_CONTROL;
    p->RetryCount = (UCHAR)retries;
    p->ErrorCode = code;
    p->FinalStatus = final;
    p->IoControlCode = ioctl;
    IoWriteErrorLogEntry(p);
}

/* Starts (again) the operation for @irp. ext->Lock held, !ext->Gone. */
static void StartOperation(PDEVICE_EXTENSION ext, PIRP irp, ULONG len)
{
    CLAIM c = {ext, irp, len, 0, 0, 0, 0, 0};
    (void)KeSynchronizeExecution(ext->Interrupt, ProgramDevice, &c);
    ArmWatchdog(ext, PNPDRV_WATCHDOG_MS * 10000ull);
}

/* Completes a claimed request: no lock held. */
static void FinishRequest(PDEVICE_EXTENSION ext, PIRP irp, NTSTATUS st, ULONG_PTR info)
{
    irp->IoStatus.Status = st;
    irp->IoStatus.Information = info;
    IoStartNextPacket(ext->Self, FALSE);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoReleaseRemoveLock(&ext->RemoveLock, irp);
    if (PnpDrvBugs & PNPDRV_BUG_REMOVE_LOCK_TWICE)
        IoReleaseRemoveLock(&ext->RemoveLock, irp); /* the bug: once for the IRP, once more */
}

/* What a claimed operation comes to. ext->Lock held. Returns the IRP to complete (NULL: retried)
 * with *st, *info and up to two error log codes in log[]. */
static PIRP Conclude(PDEVICE_EXTENSION ext, const CLAIM *c, NTSTATUS *st, ULONG_PTR *info,
                     NTSTATUS log[2], ULONG *retries)
{
    BOOLEAN bad = FALSE;
    log[0] = log[1] = 0;
    *info = 0;
    *retries = ext->Retry;
    ext->Outstanding--;
    if (c->Why == WHY_GONE) {
        ext->Stats.Removed++;
        *st = STATUS_NO_SUCH_DEVICE;
        return c->Irp;
    }
    if (c->Why != WHY_INTERRUPT)
        ext->Stats.WatchdogFired++;
    if (c->Why == WHY_LOST) {
        ext->Stats.LostInterrupts++;
        log[0] = PNPDRV_MSG_LOST_INTERRUPT;
    }
    if (c->Why == WHY_HUNG) {
        ext->Stats.HungDevice++;
        log[0] = PNPDRV_MSG_DEVICE_HUNG;
        bad = TRUE;
    } else if (c->Status & PNPDRV_STATUS_ERR) {
        ext->Stats.TransferErrors++;
        bad = TRUE;
    } else if (c->Xfer != c->Len) {
        ext->Stats.ShortTransfers++;
        bad = TRUE;
    }
    if (bad && ext->Retry < PNPDRV_MAX_RETRIES) {
        ext->Retry++;
        ext->Stats.Retries++;
        ext->Outstanding++;
        StartOperation(ext, c->Irp, c->Len);
        return NULL;
    }
    if (bad) {
        ext->Stats.Failed++;
        *st = STATUS_IO_DEVICE_ERROR;
        log[1] = PNPDRV_MSG_TRANSFER_FAILED;
    } else {
        memcpy(c->Irp->AssociatedIrp.SystemBuffer, ext->Common + PNPDRV_DMA_OUT, c->Len);
        ext->Stats.Completed++;
        *st = STATUS_SUCCESS;
        *info = c->Len;
        if (ext->Retry > 0)
            log[1] = PNPDRV_MSG_RETRY_SUCCEEDED;
    }
    ext->Retry = 0;
    return c->Irp;
}

static void ConcludeAndFinish(PDEVICE_EXTENSION ext, CLAIM *c) /* ext->Lock held; releases it */
{
    NTSTATUS st = STATUS_SUCCESS, log[2];
    ULONG_PTR info;
    ULONG retries;
    ULONG ioctl = IoGetCurrentIrpStackLocation(c->Irp)->Parameters.DeviceIoControl.IoControlCode;
    PIRP irp = Conclude(ext, c, &st, &info, log, &retries);
    KeReleaseSpinLockFromDpcLevel(&ext->Lock); /* a retried IRP may complete on another CPU now */
    for (int i = 0; i < 2; i++)
        if (log[i] != 0)
            LogEvent(ext, ioctl, log[i], i == 0 ? STATUS_SUCCESS : st, retries);
    if (irp != NULL)
        FinishRequest(ext, irp, st, info);
}

static void PnpDrvDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc, (void)Irp, (void)Context;
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    CLAIM c = {ext, NULL, 0, 0, 0, 0, 0, 0};
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (PnpDrvBugs & PNPDRV_BUG_REG_UNSYNC) /* the bug: a look at STATUS without the ISR's lock */
        c.Status = READ_REGISTER_ULONG(REG(ext, PNPDRV_REG_STATUS));
    if (ext->Gone || !KeSynchronizeExecution(ext->Interrupt, TakeInterruptResult, &c)) {
        KeReleaseSpinLockFromDpcLevel(&ext->Lock);
        return;
    }
    (void)KeCancelTimer(&ext->WdTimer);
    ConcludeAndFinish(ext, &c);
}

static void PnpDrvWatchdog(PKDPC Dpc, PVOID DeferredContext, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Arg1, (void)Arg2;
    PDEVICE_EXTENSION ext = DeferredContext;
    CLAIM c = {ext, NULL, 0, 0, 0, 0, KeQueryInterruptTime(), 0};
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (ext->Gone || !KeSynchronizeExecution(ext->Interrupt, WatchdogCheck, &c)) {
        if (!ext->Gone && c.Rearm != 0)
            ArmWatchdog(ext, c.Rearm);
        KeReleaseSpinLockFromDpcLevel(&ext->Lock);
        return;
    }
    ConcludeAndFinish(ext, &c);
}

static void PnpDrvStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    ULONG len = IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.InputBufferLength;
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (ext->Gone) { /* removed while queued */
        ext->Outstanding--;
        ext->Stats.Removed++;
        KeReleaseSpinLockFromDpcLevel(&ext->Lock);
        FinishRequest(ext, Irp, STATUS_NO_SUCH_DEVICE, 0);
        return;
    }
    memcpy(ext->Common, Irp->AssociatedIrp.SystemBuffer, len);
    ext->Retry = 0;
    StartOperation(ext, Irp, len);
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
}

/* ---- dispatch routines ---------------------------------------------------------------------- */

static NTSTATUS CompleteIrp(PIRP Irp, NTSTATUS st, ULONG_PTR info)
{
    Irp->IoStatus.Status = st;
    Irp->IoStatus.Information = info;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return st;
}

static NTSTATUS PnpDrvCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS st = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    ULONG number = 0;
    KIRQL irql;
    if (!NT_SUCCESS(st)) /* removed: a create fails, a cleanup or close has nothing to undo */
        return CompleteIrp(Irp, sl->MajorFunction == IRP_MJ_CREATE ? st : STATUS_SUCCESS, 0);
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (sl->MajorFunction == IRP_MJ_CREATE) {
        if (ext->PnpState != StateStarted)
            st = ext->PnpState == StateSurpriseRemoved ? STATUS_NO_SUCH_DEVICE
                                                       : STATUS_DELETE_PENDING;
        else {
            ext->OpenCount++;
            number = ++ext->Stats.Opens;
        }
    } else if (sl->MajorFunction == IRP_MJ_CLOSE) {
        ext->OpenCount--;
        ext->Stats.Closes++;
    } /* IRP_MJ_CLEANUP: nothing of ours is queued per handle */
    KeReleaseSpinLock(&ext->Lock, irql);
    if (sl->MajorFunction == IRP_MJ_CREATE && NT_SUCCESS(st))
        sl->FileObject->FsContext = (PVOID)(ULONG_PTR)number; /* per-open context: its number */
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return CompleteIrp(Irp, st, 0);
}

static NTSTATUS PnpDrvDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG in = sl->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = sl->Parameters.DeviceIoControl.OutputBufferLength;
    NTSTATUS st = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    KIRQL irql;
    if (!NT_SUCCESS(st))
        return CompleteIrp(Irp, st, 0);
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_PNPDRV_GET_STATS:
        if (out < sizeof(PNPDRV_STATS)) {
            st = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        if (PnpDrvBugs & PNPDRV_BUG_STATS_UNLOCKED) { /* the bug: counters read without Lock */
            *(PPNPDRV_STATS)Irp->AssociatedIrp.SystemBuffer = ext->Stats;
        } else {
            KeAcquireSpinLock(&ext->Lock, &irql);
            if (!ext->Gone)
                (void)KeSynchronizeExecution(ext->Interrupt, ReadIsrCounters, ext);
            *(PPNPDRV_STATS)Irp->AssociatedIrp.SystemBuffer = ext->Stats;
            KeReleaseSpinLock(&ext->Lock, irql);
        }
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return CompleteIrp(Irp, STATUS_SUCCESS, sizeof(PNPDRV_STATS));
    case IOCTL_PNPDRV_TRANSFORM:
        if (in == 0 || in > PNPDRV_MAX_DATA || out < in) {
            st = STATUS_INVALID_PARAMETER;
            break;
        }
        KeAcquireSpinLock(&ext->Lock, &irql);
        if (ext->PnpState != StateStarted || ext->PowerDown)
            st = ext->PnpState == StateSurpriseRemoved ? STATUS_NO_SUCH_DEVICE
                                                       : STATUS_DEVICE_NOT_READY;
        else
            ext->Outstanding++;
        KeReleaseSpinLock(&ext->Lock, irql);
        if (!NT_SUCCESS(st))
            break;
        IoMarkIrpPending(Irp); /* the remove lock is released when it completes */
        IoStartPacket(DeviceObject, Irp, NULL, NULL);
        return STATUS_PENDING;
    default:
        st = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return CompleteIrp(Irp, st, 0);
}

/* ---- PnP ------------------------------------------------------------------------------------ */

static NTSTATUS StartHardware(PDEVICE_EXTENSION ext, PCM_RESOURCE_LIST res)
{
    PHYSICAL_ADDRESS regs;
    ULONG regsLen = 0, vector = 0;
    KIRQL irql = 0;
    KAFFINITY affinity = 0;
    KINTERRUPT_MODE mode = LevelSensitive;
    BOOLEAN haveInt = FALSE, shared = FALSE;
    regs.QuadPart = 0;
    if (res == NULL || res->Count < 1)
        return STATUS_DEVICE_NOT_READY;
    PCM_PARTIAL_RESOURCE_LIST list = &res->List[0].PartialResourceList;
    for (ULONG i = 0; i < list->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
        if (d->Type == CmResourceTypeMemory && regsLen == 0) {
            regs = d->u.Memory.Start;
            regsLen = d->u.Memory.Length;
        } else if (d->Type == CmResourceTypeInterrupt && !haveInt) {
            haveInt = TRUE;
            irql = (KIRQL)d->u.Interrupt.Level;
            vector = d->u.Interrupt.Vector;
            affinity = d->u.Interrupt.Affinity;
            mode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
            shared = d->ShareDisposition == CmResourceShareShared;
        }
    }
    if (regsLen < PNPDRV_WINDOW || !haveInt)
        return STATUS_DEVICE_NOT_READY;
    ext->Regs = MmMapIoSpace(regs, regsLen, MmNonCached);
    if (ext->Regs == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ext->RegsLength = regsLen;
    if (READ_REGISTER_ULONG(REG(ext, PNPDRV_REG_ID)) != PNPDRV_ID)
        return STATUS_DEVICE_NOT_READY;
    WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_CTRL), PNPDRV_CTRL_RESET);

    DEVICE_DESCRIPTION dd;
    ULONG mapRegs = 0;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = PAGE_SIZE;
    ext->Adapter = IoGetDmaAdapter(ext->Pdo, &dd, &mapRegs);
    if (ext->Adapter == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    PHYSICAL_ADDRESS la;
    PUCHAR common =
        ext->Adapter->DmaOperations->AllocateCommonBuffer(ext->Adapter, PAGE_SIZE, &la, FALSE);
    if (common == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_DMA_LO), la.LowPart);
    WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_DMA_HI), (ULONG)la.HighPart);
    WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_KEY), 0x5A);
    KIRQL old;
    KeAcquireSpinLock(&ext->Lock, &old); /* what the DPCs use is set under their lock */
    ext->Common = common;
    ext->CommonLa = la;
    KeReleaseSpinLock(&ext->Lock, old);

    PKINTERRUPT intr;
    NTSTATUS st = IoConnectInterrupt(&intr, PnpDrvIsr, ext, NULL, vector, irql, irql, mode, shared,
                                     affinity, FALSE);
    if (!NT_SUCCESS(st))
        return st;
    KeAcquireSpinLock(&ext->Lock, &old);
    ext->Interrupt = intr;
    ext->Gone = FALSE;
    ext->PnpState = StateStarted;
    KeReleaseSpinLock(&ext->Lock, old);
    return STATUS_SUCCESS;
}

/* Releases the hardware. The operation in flight, if any, is completed with
 * STATUS_NO_SUCH_DEVICE; StartIo fails what is still queued. PASSIVE_LEVEL. */
static void StopHardware(PDEVICE_EXTENSION ext)
{
    CLAIM c = {ext, NULL, 0, 0, 0, 0, 0, 0};
    KIRQL old;
    KeAcquireSpinLock(&ext->Lock, &old);
    PKINTERRUPT intr = ext->Interrupt;
    PUCHAR common = ext->Common;
    if (!ext->Gone && intr != NULL) {
        ext->Gone = TRUE;
        if (KeSynchronizeExecution(ext->Interrupt, ClaimForRemoval, &c)) {
            NTSTATUS st, log[2];
            ULONG_PTR info;
            ULONG retries;
            (void)Conclude(ext, &c, &st, &info, log, &retries);
        }
    }
    ext->Gone = TRUE;
    ext->Interrupt = NULL;
    ext->Common = NULL;
    KeReleaseSpinLock(&ext->Lock, old);
    (void)KeCancelTimer(&ext->WdTimer);
    if (c.Irp != NULL) {
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        FinishRequest(ext, c.Irp, STATUS_NO_SUCH_DEVICE, 0);
        KeLowerIrql(old);
    }
    if (intr != NULL)
        IoDisconnectInterrupt(intr);
    KeFlushQueuedDpcs(); /* DpcForIsr and the watchdog DPC are done with the hardware */
    if (common != NULL)
        ext->Adapter->DmaOperations->FreeCommonBuffer(ext->Adapter, PAGE_SIZE, ext->CommonLa,
                                                      common, FALSE);
    if (ext->Adapter != NULL)
        ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
    ext->Adapter = NULL;
    if (ext->Regs != NULL)
        MmUnmapIoSpace(ext->Regs, ext->RegsLength);
    ext->Regs = NULL;
}

static NTSTATUS PassDown(PDEVICE_EXTENSION ext, PIRP Irp)
{
    IoSkipCurrentIrpStackLocation(Irp);
    NTSTATUS st = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return st;
}

static NTSTATUS PnpDrvPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS st = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    UNICODE_STRING link;
    KIRQL old;
    if (!NT_SUCCESS(st))
        return CompleteIrp(Irp, st, 0);
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE: /* the bus driver starts first */
        st =
            IoForwardIrpSynchronously(ext->Lower, Irp) ? Irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
        if (NT_SUCCESS(st))
            st = StartHardware(ext, sl->Parameters.StartDevice.AllocatedResourcesTranslated);
        if (!NT_SUCCESS(st))
            StopHardware(ext);
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return CompleteIrp(Irp, st, 0);
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE: /* refused while handles are open or requests run */
        KeAcquireSpinLock(&ext->Lock, &old);
        if (ext->OpenCount != 0 || ext->Outstanding != 0)
            st = STATUS_UNSUCCESSFUL;
        else if (ext->PnpState == StateStarted)
            ext->PnpState = sl->MinorFunction == IRP_MN_QUERY_STOP_DEVICE ? StateStopPending
                                                                          : StateRemovePending;
        KeReleaseSpinLock(&ext->Lock, old);
        if (!NT_SUCCESS(st)) {
            IoReleaseRemoveLock(&ext->RemoveLock, Irp);
            return CompleteIrp(Irp, st, 0);
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return PassDown(ext, Irp);
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        KeAcquireSpinLock(&ext->Lock, &old);
        if (ext->PnpState == StateStopPending || ext->PnpState == StateRemovePending)
            ext->PnpState = StateStarted;
        KeReleaseSpinLock(&ext->Lock, old);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return PassDown(ext, Irp);
    case IRP_MN_STOP_DEVICE:
        StopHardware(ext);
        KeAcquireSpinLock(&ext->Lock, &old);
        ext->PnpState = StateStopped;
        KeReleaseSpinLock(&ext->Lock, old);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return PassDown(ext, Irp);
    case IRP_MN_SURPRISE_REMOVAL:
        KeAcquireSpinLock(&ext->Lock, &old);
        ext->PnpState = StateSurpriseRemoved;
        KeReleaseSpinLock(&ext->Lock, old);
        StopHardware(ext);
        if (ext->LinkCreated) {
            RtlInitUnicodeString(&link, PNPDRV_DOS_NAME);
            (void)IoDeleteSymbolicLink(&link);
            ext->LinkCreated = FALSE;
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return PassDown(ext, Irp);
    case IRP_MN_REMOVE_DEVICE:
        StopHardware(ext); /* nothing left to do after a surprise removal */
        if (ext->LinkCreated) {
            RtlInitUnicodeString(&link, PNPDRV_DOS_NAME);
            (void)IoDeleteSymbolicLink(&link);
            ext->LinkCreated = FALSE;
        }
        KeAcquireSpinLock(&ext->Lock, &old);
        ext->PnpState = StateDeleted;
        KeReleaseSpinLock(&ext->Lock, old);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        st = IoCallDriver(ext->Lower, Irp);
        IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp); /* every request has completed */
        IoDetachDevice(ext->Lower);
        IoDeleteDevice(DeviceObject);
        return st;
    default:
        return PassDown(ext, Irp);
    }
}

/* Power policy owner: a system power IRP becomes a device power IRP of the matching state. */
static void SystemPowerDone(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction, POWER_STATE State,
                            PVOID Context, PIO_STATUS_BLOCK IoStatus)
{
    (void)MinorFunction, (void)State;
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    PIRP sirp = Context;
    sirp->IoStatus.Status = IoStatus->Status;
    PoStartNextPowerIrp(sirp);
    IoCompleteRequest(sirp, IO_NO_INCREMENT);
    IoReleaseRemoveLock(&ext->RemoveLock, sirp);
}

static NTSTATUS SystemPowerPassed(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    PDEVICE_EXTENSION ext = Context;
    POWER_STATE ds;
    NTSTATUS st = Irp->IoStatus.Status;
    ds.DeviceState =
        IoGetCurrentIrpStackLocation(Irp)->Parameters.Power.State.SystemState == PowerSystemWorking
            ? PowerDeviceD0
            : PowerDeviceD3;
    if (NT_SUCCESS(st))
        st = PoRequestPowerIrp(ext->Self, IRP_MN_SET_POWER, ds, SystemPowerDone, Irp, NULL);
    if (st == STATUS_PENDING)
        return STATUS_MORE_PROCESSING_REQUIRED; /* SystemPowerDone completes it */
    Irp->IoStatus.Status = st;
    PoStartNextPowerIrp(Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return STATUS_SUCCESS;
}

/* D0 again: the bus has powered the device; give it back its DMA address and key. */
static NTSTATUS DevicePowerUp(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PDEVICE_EXTENSION ext = Context;
    POWER_STATE d0;
    KIRQL old;
    d0.DeviceState = PowerDeviceD0;
    KeAcquireSpinLock(&ext->Lock, &old);
    if (!ext->Gone) {
        WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_DMA_LO), ext->CommonLa.LowPart);
        WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_DMA_HI), (ULONG)ext->CommonLa.HighPart);
        WRITE_REGISTER_ULONG(REG(ext, PNPDRV_REG_KEY), 0x5A);
    }
    ext->PowerDown = FALSE;
    ext->Stats.PowerUps++;
    KeReleaseSpinLock(&ext->Lock, old);
    (void)PoSetPowerState(DeviceObject, DevicePowerState, d0);
    PoStartNextPowerIrp(Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return STATUS_SUCCESS;
}

static NTSTATUS PnpDrvPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS st = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    KIRQL old;
    if (!NT_SUCCESS(st)) {
        PoStartNextPowerIrp(Irp);
        return CompleteIrp(Irp, st, 0);
    }
    if (sl->MinorFunction == IRP_MN_SET_POWER) {
        PIO_COMPLETION_ROUTINE then = NULL;
        if (sl->Parameters.Power.Type == SystemPowerState)
            then = SystemPowerPassed;
        else if (sl->Parameters.Power.State.DeviceState == PowerDeviceD0)
            then = DevicePowerUp;
        if (then != NULL) { /* on the way back up */
            IoMarkIrpPending(Irp);
            IoCopyCurrentIrpStackLocationToNext(Irp);
            IoSetCompletionRoutine(Irp, then, ext, TRUE, TRUE, TRUE);
            (void)PoCallDriver(ext->Lower, Irp);
            return STATUS_PENDING;
        }
        KeAcquireSpinLock(&ext->Lock, &old); /* D1..D3: requests wait (fail) until D0 */
        ext->PowerDown = TRUE;
        ext->Stats.PowerDowns++;
        KeReleaseSpinLock(&ext->Lock, old);
        (void)PoSetPowerState(DeviceObject, DevicePowerState, sl->Parameters.Power.State);
    }
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    st = PoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return st;
}

static NTSTATUS PnpDrvAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
    UNICODE_STRING name, link;
    PDEVICE_OBJECT fdo;
    RtlInitUnicodeString(&name, PNPDRV_DEVICE_NAME);
    NTSTATUS st = IoCreateDevice(DriverObject, sizeof(DEVICE_EXTENSION), &name, FILE_DEVICE_UNKNOWN,
                                 FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    PDEVICE_EXTENSION ext = fdo->DeviceExtension;
    ext->Self = fdo;
    ext->Pdo = PhysicalDeviceObject;
    ext->PnpState = StateStopped;
    ext->Gone = TRUE; /* no hardware until IRP_MN_START_DEVICE */
    KeInitializeSpinLock(&ext->Lock);
    IoInitializeRemoveLock(&ext->RemoveLock, TAG, 0, 0);
    IoInitializeDpcRequest(fdo, PnpDrvDpcForIsr);
    KeInitializeTimer(&ext->WdTimer);
    KeInitializeDpc(&ext->WdDpc, PnpDrvWatchdog, ext);
    IoSetStartIoAttributes(fdo, TRUE, FALSE); /* StartIo does not nest in IoStartNextPacket */
    ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
    if (ext->Lower == NULL) {
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    RtlInitUnicodeString(&link, PNPDRV_DOS_NAME);
    ext->LinkCreated = NT_SUCCESS(IoCreateSymbolicLink(&link, &name));
    fdo->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static void PnpDrvUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject; /* every device went with IRP_MN_REMOVE_DEVICE */
}

NTSTATUS PnpDrvDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = PnpDrvCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = PnpDrvCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = PnpDrvCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = PnpDrvDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = PnpDrvPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = PnpDrvPower;
    DriverObject->DriverStartIo = PnpDrvStartIo;
    DriverObject->DriverUnload = PnpDrvUnload;
    DriverObject->DriverExtension->AddDevice = PnpDrvAddDevice;
    return STATUS_SUCCESS;
}
