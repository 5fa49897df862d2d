/* SPDX-License-Identifier: MIT */
/*
 * csqdrv.c - a PnP function driver for the EVT-1 event notifier (csqdrv.h),
 * in the style of the WDK "cancel" sample: IOCTL_CSQDRV_WAIT requests wait in
 * a cancel-safe queue (IoCsqXxx); the device's interrupt brings events, the
 * DpcForIsr hands each to the oldest waiting request; a cancelled request or
 * a closed handle takes its requests out of the queue.
 *
 * Written as for Windows: <wdm.h> and the WDK headers beside it, SAL on every
 * routine, alloc_text pragmas, PnP/power/WMI boilerplate, a per-device
 * registry parameter, a remove lock. No kdpc name appears here.
 *
 * Locks: QueueLock (the CSQ's lock) guards the pending list, the backlog and
 * the counters; IsrEvents/IsrCount belong to the interrupt lock.
 */
#include <wdm.h>
#include <ntstrsafe.h>
#include <ntintsafe.h>
#include <wmilib.h>
#include <initguid.h>
#include <wdmguid.h>
#include "csqdrv.h"

#define CSQ_TAG      'qsCk'
#define CSQ_ISR_RING 8

typedef struct _CSQ_EXTENSION {
    PDEVICE_OBJECT Self;
    PDEVICE_OBJECT Pdo;
    PDEVICE_OBJECT Lower;
    IO_REMOVE_LOCK RemoveLock;
    BOOLEAN Started;
    BOOLEAN LinkCreated;
    UNICODE_STRING InterfaceName;
    WMILIB_CONTEXT WmiLibInfo;
    PUCHAR Regs;
    SIZE_T RegsLength;
    PKINTERRUPT Interrupt;
    /* the cancel-safe queue */
    IO_CSQ Csq;
    KSPIN_LOCK QueueLock;
    LIST_ENTRY PendingIrps;
    ULONG Backlog[CSQDRV_MAX_BACKLOG];
    ULONG BacklogHead, BacklogCount, BacklogDepth;
    CSQDRV_STATS Stats;
    PKEVENT NotifyEvent; /* referenced (ObReferenceObjectByHandle) */
    /* interrupt lock */
    ULONG IsrEvents[CSQ_ISR_RING];
    ULONG IsrCount;
} CSQ_EXTENSION, *PCSQ_EXTENSION;

#define CSQ_EXT(csq) CONTAINING_RECORD((csq), CSQ_EXTENSION, Csq)

DRIVER_INITIALIZE CsqDriverEntry;
DRIVER_ADD_DEVICE CsqAddDevice;
DRIVER_UNLOAD CsqUnload;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH CsqCreateClose;
_Dispatch_type_(IRP_MJ_CLEANUP) DRIVER_DISPATCH CsqCleanup;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH CsqDeviceControl;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH CsqDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH CsqDispatchPower;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH CsqSystemControl;
KSERVICE_ROUTINE CsqIsr;
IO_DPC_ROUTINE CsqDpcForIsr;
KSYNCHRONIZE_ROUTINE CsqTakeIsrEvents;
IO_CSQ_INSERT_IRP_EX CsqInsertIrp;
IO_CSQ_REMOVE_IRP CsqRemoveIrp;
IO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp;
IO_CSQ_ACQUIRE_LOCK CsqAcquireLock;
IO_CSQ_RELEASE_LOCK CsqReleaseLock;
IO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, CsqDriverEntry)
#pragma alloc_text(PAGE, CsqAddDevice)
#pragma alloc_text(PAGE, CsqDispatchPnp)
#pragma alloc_text(PAGE, CsqSystemControl)
#pragma alloc_text(PAGE, CsqUnload)
#endif

#define REG32(ext, off) ((PULONG)((ext)->Regs + (off)))

static NTSTATUS CsqCompleteIrp(_Inout_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

/* ---- the cancel-safe queue's callbacks ------------------------------------------------------ */

/* Called with QueueLock held. An event in the backlog answers the request at once: the request
 * is not queued (the status says so) and the value goes back through InsertContext. */
_Use_decl_annotations_ NTSTATUS CsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext)
{
    PCSQ_EXTENSION ext = CSQ_EXT(Csq);
    if (ext->BacklogCount > 0 && InsertContext != NULL) {
        *(PULONG)InsertContext = ext->Backlog[ext->BacklogHead];
        ext->BacklogHead = (ext->BacklogHead + 1) % CSQDRV_MAX_BACKLOG;
        ext->BacklogCount--;
        return STATUS_UNSUCCESSFUL;
    }
    InsertTailList(&ext->PendingIrps, &Irp->Tail.Overlay.ListEntry);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID CsqRemoveIrp(PIO_CSQ Csq, PIRP Irp)
{
    UNREFERENCED_PARAMETER(Csq);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}

/* The next request after @Irp (the first when NULL) of the file object @PeekContext (any file
 * object when NULL). */
_Use_decl_annotations_ PIRP CsqPeekNextIrp(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    PCSQ_EXTENSION ext = CSQ_EXT(Csq);
    PLIST_ENTRY head = &ext->PendingIrps;
    PLIST_ENTRY next = Irp == NULL ? head->Flink : Irp->Tail.Overlay.ListEntry.Flink;
    for (; next != head; next = next->Flink) {
        PIRP nextIrp = CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
        PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(nextIrp);
        if (PeekContext == NULL || sl->FileObject == (PFILE_OBJECT)PeekContext)
            return nextIrp;
    }
    return NULL;
}

_IRQL_raises_(DISPATCH_LEVEL) _IRQL_requires_max_(DISPATCH_LEVEL)
    _Acquires_lock_(CSQ_EXT(Csq)->QueueLock) VOID
    CsqAcquireLock(_In_ PIO_CSQ Csq, _Out_ _At_(*Irql, _Post_ _IRQL_saves_) PKIRQL Irql)
{
    KeAcquireSpinLock(&CSQ_EXT(Csq)->QueueLock, Irql);
}

_IRQL_requires_(DISPATCH_LEVEL) _Releases_lock_(CSQ_EXT(Csq)->QueueLock) VOID
    CsqReleaseLock(_In_ PIO_CSQ Csq, _In_ _IRQL_restores_ KIRQL Irql)
{
    KeReleaseSpinLock(&CSQ_EXT(Csq)->QueueLock, Irql);
}

_Use_decl_annotations_ VOID CsqCompleteCanceledIrp(PIO_CSQ Csq, PIRP Irp)
{
    PCSQ_EXTENSION ext = CSQ_EXT(Csq);
    KIRQL irql;
    KeAcquireSpinLock(&ext->QueueLock, &irql);
    ext->Stats.Cancelled++;
    KeReleaseSpinLock(&ext->QueueLock, irql);
    CsqCompleteIrp(Irp, STATUS_CANCELLED, 0);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

/* Completes a WAIT request with @Value. */
static VOID CsqDeliverOne(_In_ PCSQ_EXTENSION ext, _Inout_ PIRP Irp, _In_ ULONG Value)
{
    KIRQL irql;
    *(PULONG)Irp->AssociatedIrp.SystemBuffer = Value;
    KeAcquireSpinLock(&ext->QueueLock, &irql);
    ext->Stats.Delivered++;
    KeReleaseSpinLock(&ext->QueueLock, irql);
    CsqCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONG));
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

/* Queues a WAIT request, or answers it from the backlog. The request is pending either way. */
static VOID CsqQueueWait(_In_ PCSQ_EXTENSION ext, _Inout_ PIRP Irp)
{
    ULONG value = 0;
    if (!NT_SUCCESS(IoCsqInsertIrpEx(&ext->Csq, Irp, NULL, &value)))
        CsqDeliverOne(ext, Irp, value);
}

/* Hands backlog events to waiting requests. DISPATCH_LEVEL or below. */
static VOID CsqDeliver(_In_ PCSQ_EXTENSION ext)
{
    for (;;) {
        PIRP irp;
        ULONG value = 0;
        BOOLEAN have = FALSE;
        KIRQL irql;
        KeAcquireSpinLock(&ext->QueueLock, &irql);
        have = ext->BacklogCount > 0;
        KeReleaseSpinLock(&ext->QueueLock, irql);
        if (!have)
            return; /* nothing to hand out: the waiters keep their places */
        have = FALSE;
        irp = IoCsqRemoveNextIrp(&ext->Csq, NULL);
        if (irp == NULL)
            return;
        KeAcquireSpinLock(&ext->QueueLock, &irql);
        if (ext->BacklogCount > 0) {
            value = ext->Backlog[ext->BacklogHead];
            ext->BacklogHead = (ext->BacklogHead + 1) % CSQDRV_MAX_BACKLOG;
            ext->BacklogCount--;
            have = TRUE;
        }
        KeReleaseSpinLock(&ext->QueueLock, irql);
        if (!have) {
            CsqQueueWait(ext, irp); /* a new request took the event: back in the queue */
            return;
        }
        CsqDeliverOne(ext, irp, value);
    }
}

/* ---- interrupt ---------------------------------------------------------------------------- */

_Use_decl_annotations_ BOOLEAN CsqIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    PCSQ_EXTENSION ext = ServiceContext;
    ULONG status, value;
    UNREFERENCED_PARAMETER(Interrupt);
    status = READ_REGISTER_ULONG(REG32(ext, CSQDRV_REG_STATUS));
    if (status == MAXULONG || (status & CSQDRV_STATUS_EVENT) == 0)
        return FALSE;
    value = READ_REGISTER_ULONG(REG32(ext, CSQDRV_REG_DATA)); /* acknowledges */
    if (ext->IsrCount < CSQ_ISR_RING)
        ext->IsrEvents[ext->IsrCount++] = value;
    IoRequestDpc(ext->Self, NULL, NULL);
    return TRUE;
}

typedef struct _CSQ_TAKE {
    PCSQ_EXTENSION Ext;
    ULONG Count;
    ULONG Events[CSQ_ISR_RING];
} CSQ_TAKE;

_Use_decl_annotations_ BOOLEAN CsqTakeIsrEvents(PVOID SynchronizeContext)
{
    CSQ_TAKE *take = SynchronizeContext;
    PCSQ_EXTENSION ext = take->Ext;
    take->Count = ext->IsrCount;
    RtlCopyMemory(take->Events, ext->IsrEvents, ext->IsrCount * sizeof(ULONG));
    ext->IsrCount = 0;
    return TRUE;
}

_Use_decl_annotations_ VOID CsqDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                         PVOID Context)
{
    PCSQ_EXTENSION ext = DeviceObject->DeviceExtension;
    CSQ_TAKE take;
    ULONG i;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Irp);
    UNREFERENCED_PARAMETER(Context);
    take.Ext = ext;
    take.Count = 0;
    if (ext->Interrupt == NULL)
        return;
    (void)KeSynchronizeExecution(ext->Interrupt, CsqTakeIsrEvents, &take);
    KeAcquireSpinLockAtDpcLevel(&ext->QueueLock);
    for (i = 0; i < take.Count; i++) {
        ext->Stats.Events++;
        if (ext->BacklogCount == ext->BacklogDepth) {
            ext->Stats.Lost++;
            continue;
        }
        ext->Backlog[(ext->BacklogHead + ext->BacklogCount) % CSQDRV_MAX_BACKLOG] = take.Events[i];
        ext->BacklogCount++;
    }
    if (take.Count > 0 && ext->NotifyEvent != NULL)
        KeSetEvent(ext->NotifyEvent, IO_NO_INCREMENT, FALSE);
    KeReleaseSpinLockFromDpcLevel(&ext->QueueLock);
    CsqDeliver(ext);
}

/* Replaces the notification event; the old one loses the driver's reference. PASSIVE_LEVEL. */
static NTSTATUS CsqSetNotify(_In_ PCSQ_EXTENSION ext, _In_opt_ HANDLE Event)
{
    PKEVENT event = NULL, old;
    KIRQL irql;
    if (Event != NULL) {
        /* the handle comes from the program: UserMode makes the object manager check it is
         * one of the program's handles and grants EVENT_MODIFY_STATE */
        NTSTATUS status = ObReferenceObjectByHandle(Event, EVENT_MODIFY_STATE, *ExEventObjectType,
                                                    UserMode, (PVOID *)&event, NULL);
        if (!NT_SUCCESS(status))
            return status;
    }
    KeAcquireSpinLock(&ext->QueueLock, &irql);
    old = ext->NotifyEvent;
    ext->NotifyEvent = event;
    KeReleaseSpinLock(&ext->QueueLock, irql);
    if (old != NULL)
        ObDereferenceObject(old);
    return STATUS_SUCCESS;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

_Use_decl_annotations_ NTSTATUS CsqCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PCSQ_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (NT_SUCCESS(status)) {
        if (IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE && !ext->Started)
            status = STATUS_DEVICE_NOT_READY;
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    }
    return CsqCompleteIrp(Irp, status, 0);
}

/* The handle is closing: its waiting requests are cancelled. */
_Use_decl_annotations_ NTSTATUS CsqCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PCSQ_EXTENSION ext = DeviceObject->DeviceExtension;
    PFILE_OBJECT file = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    PIRP pending;
    KIRQL irql;
    while ((pending = IoCsqRemoveNextIrp(&ext->Csq, file)) != NULL) {
        KeAcquireSpinLock(&ext->QueueLock, &irql);
        ext->Stats.Cancelled++;
        KeReleaseSpinLock(&ext->QueueLock, irql);
        CsqCompleteIrp(pending, STATUS_CANCELLED, 0);
        IoReleaseRemoveLock(&ext->RemoveLock, pending);
    }
    return CsqCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ NTSTATUS CsqDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PCSQ_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG inLen = sl->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLen = sl->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG_PTR info = 0;
    KIRQL irql;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return CsqCompleteIrp(Irp, status, 0);
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_CSQDRV_WAIT:
        if (outLen < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        if (!ext->Started) {
            status = STATUS_DEVICE_NOT_READY;
            break;
        }
        IoMarkIrpPending(Irp); /* the remove lock is released when it completes */
        CsqQueueWait(ext, Irp);
        return STATUS_PENDING;
    case IOCTL_CSQDRV_FIRE: {
        PCSQDRV_FIRE fire = Irp->AssociatedIrp.SystemBuffer;
        if (inLen < sizeof(CSQDRV_FIRE)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        if (fire->DelayUs == 0 || fire->DelayUs > 1000000) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        if (!ext->Started) {
            status = STATUS_DEVICE_NOT_READY;
            break;
        }
        WRITE_REGISTER_ULONG(REG32(ext, CSQDRV_REG_DELAY), fire->DelayUs);
        WRITE_REGISTER_ULONG(REG32(ext, CSQDRV_REG_VALUE), fire->Value);
        WRITE_REGISTER_ULONG(REG32(ext, CSQDRV_REG_CTRL), CSQDRV_CTRL_FIRE);
        break;
    }
    case IOCTL_CSQDRV_SET_NOTIFY:
        if (inLen < sizeof(CSQDRV_NOTIFY)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        status = CsqSetNotify(ext, ((PCSQDRV_NOTIFY)Irp->AssociatedIrp.SystemBuffer)->Event);
        break;
    case IOCTL_CSQDRV_STATS:
        if (outLen < sizeof(CSQDRV_STATS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        KeAcquireSpinLock(&ext->QueueLock, &irql);
        ext->Stats.Backlog = ext->BacklogCount;
        ext->Stats.BacklogDepth = ext->BacklogDepth;
        *(PCSQDRV_STATS)Irp->AssociatedIrp.SystemBuffer = ext->Stats;
        KeReleaseSpinLock(&ext->QueueLock, irql);
        info = sizeof(CSQDRV_STATS);
        break;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return CsqCompleteIrp(Irp, status, info);
}

/* ---- PnP, power, WMI ------------------------------------------------------------------------ */

/* PLUGPLAY_REGKEY_DEVICE\BacklogDepth, REG_DWORD. */
static ULONG CsqReadBacklogDepth(_In_ PDEVICE_OBJECT Pdo)
{
    HANDLE key;
    UNICODE_STRING name = RTL_CONSTANT_STRING(CSQDRV_REG_BACKLOG);
    /* ULONGs, so that the structure laid over it is aligned */
    ULONG buffer[(sizeof(KEY_VALUE_PARTIAL_INFORMATION) + sizeof(ULONG) + 3) / sizeof(ULONG)];
    PKEY_VALUE_PARTIAL_INFORMATION value = (PKEY_VALUE_PARTIAL_INFORMATION)buffer;
    ULONG length = 0, depth = 4;
    NTSTATUS status = IoOpenDeviceRegistryKey(Pdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &key);
    if (!NT_SUCCESS(status))
        return depth;
    status = ZwQueryValueKey(key, &name, KeyValuePartialInformation, value, sizeof buffer, &length);
    if (NT_SUCCESS(status) && value->Type == REG_DWORD && value->DataLength == sizeof(ULONG)) {
        RtlCopyMemory(&depth, value->Data, sizeof(ULONG));
        if (depth == 0 || depth > CSQDRV_MAX_BACKLOG)
            depth = 4;
    }
    ZwClose(key);
    return depth;
}

static NTSTATUS CsqStartHardware(_In_ PCSQ_EXTENSION ext, _In_opt_ PCM_RESOURCE_LIST Resources)
{
    PCM_PARTIAL_RESOURCE_LIST list;
    PHYSICAL_ADDRESS base;
    ULONG length = 0, vector = 0, i;
    KIRQL irql = 0;
    KAFFINITY affinity = 0;
    KINTERRUPT_MODE mode = LevelSensitive;
    BOOLEAN haveInterrupt = FALSE, shared = FALSE;
    NTSTATUS status;

    base.QuadPart = 0;
    if (Resources == NULL || Resources->Count == 0)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    list = &Resources->List[0].PartialResourceList;
    for (i = 0; i < list->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
        switch (d->Type) {
        case CmResourceTypeMemory:
            base = d->u.Memory.Start;
            length = d->u.Memory.Length;
            break;
        case CmResourceTypeInterrupt:
            haveInterrupt = TRUE;
            irql = (KIRQL)d->u.Interrupt.Level;
            vector = d->u.Interrupt.Vector;
            affinity = d->u.Interrupt.Affinity;
            mode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
            shared = d->ShareDisposition == CmResourceShareShared;
            break;
        default:
            break;
        }
    }
    if (length < CSQDRV_WINDOW || !haveInterrupt)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    ext->Regs = MmMapIoSpace(base, length, MmNonCached);
    if (ext->Regs == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ext->RegsLength = length;
    if (READ_REGISTER_ULONG(REG32(ext, CSQDRV_REG_ID)) != CSQDRV_ID)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    status = IoConnectInterrupt(&ext->Interrupt, CsqIsr, ext, NULL, vector, irql, irql, mode,
                                shared, affinity, FALSE);
    if (!NT_SUCCESS(status)) {
        ext->Interrupt = NULL;
        return status;
    }
    ext->Started = TRUE;
    return STATUS_SUCCESS;
}

static VOID CsqStopHardware(_In_ PCSQ_EXTENSION ext)
{
    PIRP pending;
    ext->Started = FALSE;
    if (ext->Interrupt != NULL) {
        IoDisconnectInterrupt(ext->Interrupt);
        KeFlushQueuedDpcs();
        ext->Interrupt = NULL;
    }
    while ((pending = IoCsqRemoveNextIrp(&ext->Csq, NULL)) != NULL) {
        CsqCompleteIrp(pending, STATUS_NO_SUCH_DEVICE, 0);
        IoReleaseRemoveLock(&ext->RemoveLock, pending);
    }
    if (ext->Regs != NULL) {
        MmUnmapIoSpace(ext->Regs, ext->RegsLength);
        ext->Regs = NULL;
    }
}

static NTSTATUS CsqPassDown(_In_ PCSQ_EXTENSION ext, _Inout_ PIRP Irp)
{
    NTSTATUS status;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS CsqDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PCSQ_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    PAGED_CODE();
    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return CsqCompleteIrp(Irp, status, 0);
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status =
            IoForwardIrpSynchronously(ext->Lower, Irp) ? Irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
        if (NT_SUCCESS(status))
            status = CsqStartHardware(ext, sl->Parameters.StartDevice.AllocatedResourcesTranslated);
        if (NT_SUCCESS(status)) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, TRUE);
            (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_REGISTER);
        } else {
            CsqStopHardware(ext);
        }
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return CsqCompleteIrp(Irp, status, 0);
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        CsqStopHardware(ext);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return CsqPassDown(ext, Irp);
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return CsqPassDown(ext, Irp);
    case IRP_MN_REMOVE_DEVICE:
        CsqStopHardware(ext);
        (void)CsqSetNotify(ext, NULL);
        (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_DEREGISTER);
        if (ext->InterfaceName.Buffer != NULL) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, FALSE);
            RtlFreeUnicodeString(&ext->InterfaceName);
        }
        if (ext->LinkCreated) {
            UNICODE_STRING link = RTL_CONSTANT_STRING(CSQDRV_DOS_NAME);
            (void)IoDeleteSymbolicLink(&link);
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
        IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
        IoDetachDevice(ext->Lower);
        IoDeleteDevice(DeviceObject);
        return status;
    default:
        return CsqPassDown(ext, Irp);
    }
}

_Use_decl_annotations_ NTSTATUS CsqDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PCSQ_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    PoStartNextPowerIrp(Irp);
    if (!NT_SUCCESS(status))
        return CsqCompleteIrp(Irp, status, 0);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS CsqSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PCSQ_EXTENSION ext = DeviceObject->DeviceExtension;
    SYSCTL_IRP_DISPOSITION disposition = IrpNotWmi;
    NTSTATUS status;
    PAGED_CODE();
    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return CsqCompleteIrp(Irp, status, 0);
    status = WmiSystemControl(&ext->WmiLibInfo, DeviceObject, Irp, &disposition);
    if (disposition != IrpProcessed && disposition != IrpNotCompleted) {
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS CsqAddDevice(PDRIVER_OBJECT DriverObject,
                                             PDEVICE_OBJECT PhysicalDeviceObject)
{
    DECLARE_CONST_UNICODE_STRING(name, L"\\Device\\Evt0");
    UNICODE_STRING link = RTL_CONSTANT_STRING(CSQDRV_DOS_NAME);
    PDEVICE_OBJECT fdo;
    PCSQ_EXTENSION ext;
    NTSTATUS status;

    PAGED_CODE();
    status = IoCreateDevice(DriverObject, sizeof(CSQ_EXTENSION), (PUNICODE_STRING)&name,
                            FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    ext = fdo->DeviceExtension;
    RtlZeroMemory(ext, sizeof *ext);
    ext->Self = fdo;
    ext->Pdo = PhysicalDeviceObject;
    IoInitializeRemoveLock(&ext->RemoveLock, CSQ_TAG, 0, 0);
    KeInitializeSpinLock(&ext->QueueLock);
    InitializeListHead(&ext->PendingIrps);
    (void)IoCsqInitializeEx(&ext->Csq, CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock,
                            CsqReleaseLock, CsqCompleteCanceledIrp);
    IoInitializeDpcRequest(fdo, CsqDpcForIsr);
    ext->BacklogDepth = CsqReadBacklogDepth(PhysicalDeviceObject);
    status = IoRegisterDeviceInterface(PhysicalDeviceObject, &GUID_DEVINTERFACE_CSQDRV, NULL,
                                       &ext->InterfaceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(fdo);
        return status;
    }
    ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
    if (ext->Lower == NULL) {
        RtlFreeUnicodeString(&ext->InterfaceName);
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    ext->LinkCreated = NT_SUCCESS(IoCreateSymbolicLink(&link, (PUNICODE_STRING)&name));
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "csqdrv: %wZ backlog %lu\n", &name,
               ext->BacklogDepth);
    fdo->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID CsqUnload(PDRIVER_OBJECT DriverObject)
{
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_ NTSTATUS CsqDriverEntry(PDRIVER_OBJECT DriverObject,
                                               PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = CsqCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = CsqCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = CsqCleanup;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = CsqDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = CsqDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = CsqDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = CsqSystemControl;
    DriverObject->DriverExtension->AddDevice = CsqAddDevice;
    DriverObject->DriverUnload = CsqUnload;
    return STATUS_SUCCESS;
}
