/* SPDX-License-Identifier: MIT */
/*
 * tmrdrv.c - a PnP function driver for the TMR-1 sampler (tmrdrv.h), in the
 * style of a WDM driver from the old DDK samples: a periodic KTIMER whose DPC
 * samples a device register into a ring that an IOCTL drains.
 *
 * Written as for Windows: <ntddk.h> and the WDK headers beside it, SAL on
 * every routine, alloc_text pragmas, PnP/power/WMI boilerplate, registry
 * parameters, a remove lock. No kdpc name appears here.
 */
#include <ntddk.h>
#include <wdmsec.h>
#include <ntstrsafe.h>
#include <ntintsafe.h>
#include <wmilib.h>
#include <initguid.h>
#include "tmrdrv.h"

#define TMR_TAG 'rmTk'

typedef enum _TMR_PNP_STATE { TmrStopped, TmrStarted, TmrRemoved } TMR_PNP_STATE;

typedef struct _TMR_EXTENSION {
    PDEVICE_OBJECT Self;
    PDEVICE_OBJECT Pdo;
    PDEVICE_OBJECT Lower;
    IO_REMOVE_LOCK RemoveLock;
    TMR_PNP_STATE PnpState;
    UNICODE_STRING InterfaceName;
    WCHAR NameBuffer[32];
    UNICODE_STRING DeviceName;
    BOOLEAN LinkCreated;
    BOOLEAN WmiRegistered;
    WMILIB_CONTEXT WmiLibInfo;
    PUCHAR Regs;
    SIZE_T RegsLength;
    KTIMER Timer;
    KDPC TimerDpc;
    KSPIN_LOCK Lock; /* guards the ring, the counters and PeriodMs */
    PULONG Ring;
    ULONG RingSize, Head, Count, Dropped, Ticks;
    ULONG PeriodMs;
    volatile LONG Opens;
    PIO_WORKITEM OverflowItem; /* reports drops to the registry at PASSIVE_LEVEL */
    BOOLEAN OverflowQueued;    /* Lock */
    ULONG Overflows;           /* Lock: samples dropped since the start */
} TMR_EXTENSION, *PTMR_EXTENSION;

C_ASSERT(FIELD_OFFSET(TMRDRV_SAMPLES, Samples) == 2 * sizeof(ULONG));

/* Driver-wide parameters read in DriverEntry. */
typedef struct _TMR_GLOBALS {
    UNICODE_STRING RegistryPath;
    ULONG PeriodMs;
    ULONG RingSize;
    ULONG Instances;
} TMR_GLOBALS;
static TMR_GLOBALS TmrGlobals;

DRIVER_INITIALIZE TmrDriverEntry;
DRIVER_ADD_DEVICE TmrAddDevice;
DRIVER_UNLOAD TmrUnload;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH TmrCreateClose;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH TmrDeviceControl;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH TmrDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH TmrDispatchPower;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH TmrSystemControl;
KDEFERRED_ROUTINE TmrTimerDpc;
IO_WORKITEM_ROUTINE TmrOverflowWork;
IO_COMPLETION_ROUTINE TmrStartCompletion;

static NTSTATUS TmrQueryWmiRegInfo(_In_ PDEVICE_OBJECT DeviceObject, _Out_ PULONG RegFlags,
                                   _Out_ PUNICODE_STRING InstanceName,
                                   _Outptr_result_maybenull_ PUNICODE_STRING *RegistryPath,
                                   _Out_ PUNICODE_STRING MofResourceName,
                                   _Outptr_result_maybenull_ PDEVICE_OBJECT *Pdo);
static NTSTATUS TmrQueryWmiDataBlock(_In_ PDEVICE_OBJECT DeviceObject, _In_ PIRP Irp,
                                     _In_ ULONG GuidIndex, _In_ ULONG InstanceIndex,
                                     _In_ ULONG InstanceCount, _Inout_ PULONG InstanceLengthArray,
                                     _In_ ULONG BufferAvail,
                                     _Out_writes_bytes_opt_(BufferAvail) PUCHAR Buffer);

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, TmrDriverEntry)
#pragma alloc_text(PAGE, TmrAddDevice)
#pragma alloc_text(PAGE, TmrDispatchPnp)
#pragma alloc_text(PAGE, TmrSystemControl)
#pragma alloc_text(PAGE, TmrQueryWmiRegInfo)
#pragma alloc_text(PAGE, TmrOverflowWork)
#endif
/* Unguarded, as some old drivers write it. */
#pragma alloc_text(PAGE, TmrUnload)

/* The WMI data block this driver would report: none is ever asked for on kdpc (no consumer). */
DEFINE_GUID(TMR_WMI_STD_DATA_GUID, 0x8c4f2a1e, 0x5b3d, 0x4e6f, 0x9a, 0x7b, 0x1c, 0x2d, 0x3e, 0x4f,
            0x5a, 0x6f);
static WMIGUIDREGINFO TmrWmiGuidList[] = {
    {&TMR_WMI_STD_DATA_GUID, 1, 0},
};

_Use_decl_annotations_ static NTSTATUS
TmrQueryWmiRegInfo(PDEVICE_OBJECT DeviceObject, PULONG RegFlags, PUNICODE_STRING InstanceName,
                   PUNICODE_STRING *RegistryPath, PUNICODE_STRING MofResourceName,
                   PDEVICE_OBJECT *Pdo)
{
    PTMR_EXTENSION ext = DeviceObject->DeviceExtension;
    PAGED_CODE();
    UNREFERENCED_PARAMETER(InstanceName);
    UNREFERENCED_PARAMETER(MofResourceName);
    *RegFlags = WMIREG_FLAG_INSTANCE_PDO;
    *RegistryPath = &TmrGlobals.RegistryPath;
    *Pdo = ext->Pdo;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS TmrQueryWmiDataBlock(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                            ULONG GuidIndex, ULONG InstanceIndex,
                                                            ULONG InstanceCount,
                                                            PULONG InstanceLengthArray,
                                                            ULONG BufferAvail, PUCHAR Buffer)
{
    PTMR_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = STATUS_WMI_GUID_NOT_FOUND;
    ULONG size = 0;
    UNREFERENCED_PARAMETER(InstanceIndex);
    UNREFERENCED_PARAMETER(InstanceCount);
    if (GuidIndex == 0) {
        size = sizeof(ULONG);
        if (BufferAvail < size) {
            status = STATUS_BUFFER_TOO_SMALL;
        } else {
            *(PULONG)Buffer = ext->Ticks;
            *InstanceLengthArray = size;
            status = STATUS_SUCCESS;
        }
    }
    return WmiCompleteRequest(DeviceObject, Irp, status, size, IO_NO_INCREMENT);
}

static NTSTATUS TmrCompleteIrp(_Inout_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

/* ---- the sampling timer --------------------------------------------------------------------- */

_Use_decl_annotations_ VOID TmrTimerDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                                        PVOID SystemArgument2)
{
    PTMR_EXTENSION ext = DeferredContext;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (ext->PnpState == TmrStarted && ext->Regs != NULL) {
        ULONG sample = READ_REGISTER_ULONG((PULONG)(ext->Regs + TMRDRV_REG_COUNT));
        NT_ASSERT(ext->RingSize != 0);
        ext->Ticks++;
        if (ext->Count == ext->RingSize) {
            ext->Dropped++;
            ext->Overflows++;
            /* the registry is PASSIVE_LEVEL work: a work item reports it, holding the remove lock
             * so that the device is not removed under it */
            if (!ext->OverflowQueued &&
                NT_SUCCESS(IoAcquireRemoveLock(&ext->RemoveLock, ext->OverflowItem))) {
                ext->OverflowQueued = TRUE;
                IoQueueWorkItem(ext->OverflowItem, TmrOverflowWork, DelayedWorkQueue, ext);
            }
        } else {
            ext->Ring[(ext->Head + ext->Count) % ext->RingSize] = sample;
            ext->Count++;
        }
    }
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
}

/* Writes the drop count as <service key>\Overflows (REG_DWORD). */
_Use_decl_annotations_ VOID TmrOverflowWork(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    PTMR_EXTENSION ext = Context;
    ULONG overflows;
    KIRQL irql;
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DeviceObject);
    KeAcquireSpinLock(&ext->Lock, &irql);
    overflows = ext->Overflows;
    ext->OverflowQueued = FALSE;
    KeReleaseSpinLock(&ext->Lock, irql);
    (void)RtlWriteRegistryValue(RTL_REGISTRY_ABSOLUTE, TmrGlobals.RegistryPath.Buffer,
                                TMRDRV_REG_OVERFLOWS, REG_DWORD, &overflows, sizeof overflows);
    IoReleaseRemoveLock(&ext->RemoveLock, ext->OverflowItem);
}

_IRQL_requires_max_(DISPATCH_LEVEL) static VOID
    TmrArmTimer(_In_ PTMR_EXTENSION ext, _In_ ULONG PeriodMs)
{
    LARGE_INTEGER due;
    due.QuadPart = -(LONGLONG)PeriodMs * 10000;
    (void)KeSetTimerEx(&ext->Timer, due, (LONG)PeriodMs, &ext->TimerDpc);
}

/* ---- create/close and IOCTLs ---------------------------------------------------------------- */

_Use_decl_annotations_ NTSTATUS TmrCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PTMR_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return TmrCompleteIrp(Irp, status, 0);
    if (sl->MajorFunction == IRP_MJ_CREATE) {
        if (ext->PnpState != TmrStarted) {
            status = STATUS_DEVICE_NOT_READY;
        } else {
            InterlockedIncrement(&ext->Opens);
            DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_TRACE_LEVEL, "tmrdrv: open %wZ\n",
                       &ext->DeviceName);
        }
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return TmrCompleteIrp(Irp, status, 0);
}

static NTSTATUS TmrGetSamples(_In_ PTMR_EXTENSION ext, _Inout_ PIRP Irp, _In_ ULONG OutLength,
                              _Out_ PULONG_PTR Information)
{
    PTMRDRV_SAMPLES out = Irp->AssociatedIrp.SystemBuffer;
    ULONG header = FIELD_OFFSET(TMRDRV_SAMPLES, Samples), room, n, i;
    KIRQL irql;
    *Information = 0;
    if (OutLength < header)
        return STATUS_BUFFER_TOO_SMALL;
    room = (OutLength - header) / sizeof(ULONG);
    KeAcquireSpinLock(&ext->Lock, &irql);
    n = room < ext->Count ? room : ext->Count;
    for (i = 0; i < n; i++)
        out->Samples[i] = ext->Ring[(ext->Head + i) % ext->RingSize];
    ext->Head = (ext->Head + n) % ext->RingSize;
    ext->Count -= n;
    out->Count = n;
    out->Dropped = ext->Dropped;
    ext->Dropped = 0;
    KeReleaseSpinLock(&ext->Lock, irql);
    /* header + n samples cannot overflow: n <= room */
    *Information = header + n * sizeof(ULONG);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ NTSTATUS TmrDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PTMR_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG inLen = sl->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLen = sl->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG_PTR info = 0;
    ULONG period, hundredNs;
    KIRQL irql;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return TmrCompleteIrp(Irp, status, 0);
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_TMRDRV_GET_SAMPLES:
        status = TmrGetSamples(ext, Irp, outLen, &info);
        break;
    case IOCTL_TMRDRV_SET_PERIOD:
        if (inLen < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        period = *(PULONG)Irp->AssociatedIrp.SystemBuffer;
        /* the period in 100 ns units must fit a ULONG: 1..1000 ms always does */
        status = RtlULongMult(period, 10000, &hundredNs);
        if (!NT_SUCCESS(status) || period == 0 || period > 1000) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        KeAcquireSpinLock(&ext->Lock, &irql);
        ext->PeriodMs = period;
        KeReleaseSpinLock(&ext->Lock, irql);
        TmrArmTimer(ext, period);
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "tmrdrv: period %lu ms (%lu)\n", period,
                   hundredNs);
        break;
    case IOCTL_TMRDRV_GET_INFO: {
        PTMRDRV_INFO out = Irp->AssociatedIrp.SystemBuffer;
        if (outLen < sizeof(TMRDRV_INFO)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        RtlZeroMemory(out, sizeof *out);
        status = RtlStringCbCopyNW(out->DeviceName, sizeof out->DeviceName, ext->DeviceName.Buffer,
                                   ext->DeviceName.Length);
        if (!NT_SUCCESS(status))
            break;
        KeAcquireSpinLock(&ext->Lock, &irql);
        out->PeriodMs = ext->PeriodMs;
        out->RingSize = ext->RingSize;
        out->Ticks = ext->Ticks;
        KeReleaseSpinLock(&ext->Lock, irql);
        out->Opens = (ULONG)ext->Opens;
        info = sizeof(TMRDRV_INFO);
        break;
    }
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return TmrCompleteIrp(Irp, status, info);
}

/* ---- PnP -------------------------------------------------------------------------------------- */

_Use_decl_annotations_ NTSTATUS TmrStartCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                   PVOID Context)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    if (Irp->PendingReturned)
        KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED; /* TmrDispatchPnp completes it */
}

static NTSTATUS TmrStartHardware(_In_ PTMR_EXTENSION ext, _In_opt_ PCM_RESOURCE_LIST Resources)
{
    PCM_PARTIAL_RESOURCE_LIST list;
    PHYSICAL_ADDRESS base;
    ULONG length = 0, i;
    SIZE_T ringBytes;
    NTSTATUS status;
    KIRQL irql;

    base.QuadPart = 0;
    if (Resources == NULL || Resources->Count == 0)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    list = &Resources->List[0].PartialResourceList;
    for (i = 0; i < list->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
        if (d->Type == CmResourceTypeMemory && length == 0) {
            base = d->u.Memory.Start;
            length = d->u.Memory.Length;
        }
    }
    if (length < TMRDRV_WINDOW)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    status = RtlSizeTMult(TmrGlobals.RingSize, sizeof(ULONG), &ringBytes);
    if (!NT_SUCCESS(status))
        return status;
    ext->Ring = ExAllocatePoolWithTag(NonPagedPoolNx, ringBytes, TMR_TAG);
    if (ext->Ring == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ext->Regs = MmMapIoSpace(base, length, MmNonCached);
    if (ext->Regs == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ext->RegsLength = length;
    if (READ_REGISTER_ULONG((PULONG)(ext->Regs + TMRDRV_REG_ID)) != TMRDRV_ID) {
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "tmrdrv: not a TMR-1\n");
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    }
    WRITE_REGISTER_ULONG((PULONG)(ext->Regs + TMRDRV_REG_CTRL), TMRDRV_CTRL_ENABLE);
    KeAcquireSpinLock(&ext->Lock, &irql);
    ext->RingSize = TmrGlobals.RingSize;
    ext->Head = ext->Count = ext->Dropped = 0;
    ext->PeriodMs = TmrGlobals.PeriodMs;
    ext->PnpState = TmrStarted;
    KeReleaseSpinLock(&ext->Lock, irql);
    TmrArmTimer(ext, ext->PeriodMs);
    return STATUS_SUCCESS;
}

static VOID TmrStopHardware(_In_ PTMR_EXTENSION ext)
{
    KIRQL irql;
    PULONG ring;
    (void)KeCancelTimer(&ext->Timer);
    KeAcquireSpinLock(&ext->Lock, &irql);
    ext->PnpState = TmrStopped;
    ring = ext->Ring;
    ext->Ring = NULL;
    ext->RingSize = 0;
    KeReleaseSpinLock(&ext->Lock, irql);
    KeFlushQueuedDpcs(); /* a timer DPC already queued has run */
    if (ext->Regs != NULL) {
        WRITE_REGISTER_ULONG((PULONG)(ext->Regs + TMRDRV_REG_CTRL), 0);
        MmUnmapIoSpace(ext->Regs, ext->RegsLength);
        ext->Regs = NULL;
    }
    if (ring != NULL)
        ExFreePoolWithTag(ring, TMR_TAG);
}

static NTSTATUS TmrPassDown(_In_ PTMR_EXTENSION ext, _Inout_ PIRP Irp)
{
    NTSTATUS status;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS TmrDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PTMR_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;
    KEVENT event;

    PAGED_CODE();
    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return TmrCompleteIrp(Irp, status, 0);

    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        KeInitializeEvent(&event, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, TmrStartCompletion, &event, TRUE, TRUE, TRUE);
        status = IoCallDriver(ext->Lower, Irp);
        if (status == STATUS_PENDING) {
            (void)KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
            status = Irp->IoStatus.Status;
        }
        if (NT_SUCCESS(status)) {
            MmResetDriverPaging(TmrDriverEntry); /* the timer DPC runs at DISPATCH_LEVEL now */
            status = TmrStartHardware(ext, sl->Parameters.StartDevice.AllocatedResourcesTranslated);
        }
        if (NT_SUCCESS(status)) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, TRUE);
            if (!ext->WmiRegistered)
                ext->WmiRegistered =
                    NT_SUCCESS(IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_REGISTER));
        } else {
            TmrStopHardware(ext);
        }
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "tmrdrv: start %wZ: 0x%08X\n",
                   &ext->DeviceName, (unsigned)status);
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return TmrCompleteIrp(Irp, status, 0);

    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return TmrPassDown(ext, Irp);

    case IRP_MN_STOP_DEVICE:
        TmrStopHardware(ext);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return TmrPassDown(ext, Irp);

    case IRP_MN_SURPRISE_REMOVAL:
        TmrStopHardware(ext);
        (void)IoSetDeviceInterfaceState(&ext->InterfaceName, FALSE);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return TmrPassDown(ext, Irp);

    case IRP_MN_REMOVE_DEVICE:
        TmrStopHardware(ext);
        ext->PnpState = TmrRemoved;
        if (ext->WmiRegistered)
            (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_DEREGISTER);
        ext->WmiRegistered = FALSE;
        if (ext->InterfaceName.Buffer != NULL) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, FALSE);
            RtlFreeUnicodeString(&ext->InterfaceName);
        }
        if (ext->LinkCreated) {
            UNICODE_STRING link = RTL_CONSTANT_STRING(TMRDRV_DOS_NAME);
            (void)IoDeleteSymbolicLink(&link);
            ext->LinkCreated = FALSE;
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
        IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp); /* the work item has run too */
        IoFreeWorkItem(ext->OverflowItem);
        IoDetachDevice(ext->Lower);
        IoDeleteDevice(DeviceObject);
        return status;

    default:
        return TmrPassDown(ext, Irp);
    }
}

_Use_decl_annotations_ NTSTATUS TmrDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PTMR_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        PoStartNextPowerIrp(Irp);
        return TmrCompleteIrp(Irp, status, 0);
    }
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS TmrSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PTMR_EXTENSION ext = DeviceObject->DeviceExtension;
    SYSCTL_IRP_DISPOSITION disposition;
    NTSTATUS status;
    PAGED_CODE();
    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return TmrCompleteIrp(Irp, status, 0);
    status = WmiSystemControl(&ext->WmiLibInfo, DeviceObject, Irp, &disposition);
    switch (disposition) {
    case IrpProcessed:
    case IrpNotCompleted:
        break;
    case IrpForward:
    case IrpNotWmi:
    default:
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
        break;
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS TmrAddDevice(PDRIVER_OBJECT DriverObject,
                                             PDEVICE_OBJECT PhysicalDeviceObject)
{
    UNICODE_STRING name, link = RTL_CONSTANT_STRING(TMRDRV_DOS_NAME);
    WCHAR nameBuffer[32];
    PDEVICE_OBJECT fdo;
    PTMR_EXTENSION ext;
    NTSTATUS status;

    PAGED_CODE();
    RtlInitEmptyUnicodeString(&name, nameBuffer, sizeof nameBuffer);
    status = RtlUnicodeStringPrintf(&name, TMRDRV_DEVICE_NAME_FMT, TmrGlobals.Instances);
    if (!NT_SUCCESS(status))
        return status;
    status = IoCreateDeviceSecure(DriverObject, sizeof(TMR_EXTENSION), &name, FILE_DEVICE_UNKNOWN,
                                  FILE_DEVICE_SECURE_OPEN, FALSE, &SDDL_DEVOBJ_SYS_ALL_ADM_ALL,
                                  &GUID_DEVCLASS_TMRDRV, &fdo);
    if (!NT_SUCCESS(status)) {
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL,
                   "tmrdrv: IoCreateDeviceSecure %wZ: %08X\n", &name, (unsigned)status);
        return status;
    }
    ext = fdo->DeviceExtension;
    RtlZeroMemory(ext, sizeof *ext);
    ext->Self = fdo;
    ext->Pdo = PhysicalDeviceObject;
    ext->PnpState = TmrStopped;
    RtlInitEmptyUnicodeString(&ext->DeviceName, ext->NameBuffer, sizeof ext->NameBuffer);
    RtlCopyUnicodeString(&ext->DeviceName, &name);
    KeInitializeSpinLock(&ext->Lock);
    KeInitializeTimerEx(&ext->Timer, NotificationTimer);
    KeInitializeDpc(&ext->TimerDpc, TmrTimerDpc, ext);
    IoInitializeRemoveLock(&ext->RemoveLock, TMR_TAG, 1, 100);
    ext->OverflowItem = IoAllocateWorkItem(fdo);
    if (ext->OverflowItem == NULL) {
        IoDeleteDevice(fdo);
        return STATUS_INSUFFICIENT_RESOURCES;
    }

    ext->WmiLibInfo.GuidCount = ARRAYSIZE(TmrWmiGuidList);
    ext->WmiLibInfo.GuidList = TmrWmiGuidList;
    ext->WmiLibInfo.QueryWmiRegInfo = TmrQueryWmiRegInfo;
    ext->WmiLibInfo.QueryWmiDataBlock = TmrQueryWmiDataBlock;

    status = IoRegisterDeviceInterface(PhysicalDeviceObject, &GUID_DEVINTERFACE_TMRDRV, NULL,
                                       &ext->InterfaceName);
    if (!NT_SUCCESS(status)) {
        IoFreeWorkItem(ext->OverflowItem);
        IoDeleteDevice(fdo);
        return status;
    }
    ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
    if (ext->Lower == NULL) {
        RtlFreeUnicodeString(&ext->InterfaceName);
        IoFreeWorkItem(ext->OverflowItem);
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    ext->LinkCreated = NT_SUCCESS(IoCreateSymbolicLink(&link, &name));
    TmrGlobals.Instances++;
    fdo->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID TmrUnload(PDRIVER_OBJECT DriverObject)
{
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DriverObject);
    if (TmrGlobals.RegistryPath.Buffer != NULL)
        ExFreePoolWithTag(TmrGlobals.RegistryPath.Buffer, TMR_TAG);
    TmrGlobals.RegistryPath.Buffer = NULL;
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "tmrdrv: unloaded\n");
}

/* Reads <RegistryPath>\Parameters: SamplePeriodMs and RingSize, with defaults. */
static NTSTATUS TmrReadParameters(_In_ PCUNICODE_STRING RegistryPath)
{
    RTL_QUERY_REGISTRY_TABLE table[3];
    DECLARE_UNICODE_STRING_SIZE(path, 256);
    ULONG defPeriod = 10, defRing = 16, period = 10, ring = 16;
    NTSTATUS status;

    /* RtlQueryRegistryValues takes a NUL-terminated path; the UNICODE_STRING routines do not
     * write one: keep a character free for it */
    path.MaximumLength -= sizeof(WCHAR);
    status = RtlUnicodeStringCopy(&path, RegistryPath);
    if (NT_SUCCESS(status))
        status = RtlUnicodeStringCatString(&path, L"\\Parameters");
    if (!NT_SUCCESS(status))
        return status;
    path.Buffer[path.Length / sizeof(WCHAR)] = UNICODE_NULL;
    RtlZeroMemory(table, sizeof table);
    table[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    table[0].Name = TMRDRV_REG_PERIOD_MS;
    table[0].EntryContext = &period;
    table[0].DefaultType = REG_DWORD;
    table[0].DefaultData = &defPeriod;
    table[0].DefaultLength = sizeof(ULONG);
    table[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
    table[1].Name = TMRDRV_REG_RING_SIZE;
    table[1].EntryContext = &ring;
    table[1].DefaultType = REG_DWORD;
    table[1].DefaultData = &defRing;
    table[1].DefaultLength = sizeof(ULONG);
    status = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, path.Buffer, table, NULL, NULL);
    if (!NT_SUCCESS(status)) {
        /* no Parameters key: the defaults */
        period = defPeriod;
        ring = defRing;
    }
    if (period == 0 || period > 1000)
        period = defPeriod;
    if (ring == 0 || ring > TMRDRV_MAX_RING)
        ring = defRing;
    TmrGlobals.PeriodMs = period;
    TmrGlobals.RingSize = ring;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ NTSTATUS TmrDriverEntry(PDRIVER_OBJECT DriverObject,
                                               PUNICODE_STRING RegistryPath)
{
    NTSTATUS status = STATUS_SUCCESS;

    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "tmrdrv: DriverEntry %wZ\n", RegistryPath);
    ExInitializeDriverRuntime(DrvRtPoolNxOptIn);
    /* nothing runs until a device starts: the whole image may be paged until then */
    (void)MmPageEntireDriver(TmrDriverEntry);
    RtlZeroMemory(&TmrGlobals, sizeof TmrGlobals);
    __try {
        /* a NUL-terminated copy of the service key's path, for RtlWriteRegistryValue */
        TmrGlobals.RegistryPath.MaximumLength = RegistryPath->Length + sizeof(UNICODE_NULL);
        TmrGlobals.RegistryPath.Buffer =
            ExAllocatePoolWithTag(PagedPool, TmrGlobals.RegistryPath.MaximumLength, TMR_TAG);
        if (TmrGlobals.RegistryPath.Buffer == NULL) {
            status = STATUS_INSUFFICIENT_RESOURCES;
            __leave;
        }
        RtlCopyUnicodeString(&TmrGlobals.RegistryPath, RegistryPath);
        TmrGlobals.RegistryPath.Buffer[TmrGlobals.RegistryPath.Length / sizeof(WCHAR)] =
            UNICODE_NULL;
        status = TmrReadParameters(RegistryPath);
    } __finally {
        if (!NT_SUCCESS(status) && TmrGlobals.RegistryPath.Buffer != NULL) {
            ExFreePoolWithTag(TmrGlobals.RegistryPath.Buffer, TMR_TAG);
            TmrGlobals.RegistryPath.Buffer = NULL;
        }
    }
    if (!NT_SUCCESS(status))
        return status;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = TmrCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = TmrCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = TmrDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = TmrDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = TmrDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = TmrSystemControl;
    DriverObject->DriverExtension->AddDevice = TmrAddDevice;
    DriverObject->DriverUnload = TmrUnload;
    return STATUS_SUCCESS;
}
