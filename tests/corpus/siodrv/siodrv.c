/* SPDX-License-Identifier: MIT */
/*
 * siodrv.c - a PnP function driver for the PIO-8 sector store (siodrv.h), in
 * the style of a classic packet-based WDM driver: reads and writes go
 * through the system device queue (IoStartPacket / StartIo /
 * IoStartNextPacket), one sector per interrupt moved through a data port in
 * a SynchCritSection, the DpcForIsr continuing or completing the request.
 * Queued requests can be cancelled (a cancel routine on the device queue);
 * the one in progress finishes.
 *
 * Written as for Windows: <ntddk.h> and the WDK headers beside it, SAL on
 * every routine, alloc_text pragmas, PnP/power/WMI boilerplate, registry
 * parameters (read and written), SEH around a METHOD_NEITHER buffer, a
 * remove lock. No kdpc name appears here.
 */
#include <ntddk.h>
#include <ntstrsafe.h>
#include <ntintsafe.h>
#include <wmilib.h>
#include <initguid.h>
#include "siodrv.h"

#define SIO_TAG               'oiSk'
#define SIO_ULONGS_PER_SECTOR (SIODRV_SECTOR / sizeof(ULONG))

typedef struct _SIO_EXTENSION {
    PDEVICE_OBJECT Self;
    PDEVICE_OBJECT Pdo;
    PDEVICE_OBJECT Lower;
    IO_REMOVE_LOCK RemoveLock;
    UNICODE_STRING InterfaceName;
    WMILIB_CONTEXT WmiLibInfo;
    BOOLEAN Started; /* Lock */
    BOOLEAN LinkCreated;
    BOOLEAN PortMapped; /* the port range was memory-mapped (MmMapIoSpace) */
    PUCHAR Ports;
    ULONG PortLength;
    PKINTERRUPT Interrupt;
    KSPIN_LOCK Lock;
    SIODRV_STATS Stats; /* Lock */
    volatile LONG Queued;
    /* interrupt lock: the request in progress */
    PUCHAR Buffer;
    ULONG Sector, SectorsLeft, SectorsDone;
    BOOLEAN Write;
    ULONG IsrStatus;
} SIO_EXTENSION, *PSIO_EXTENSION;

typedef struct _SIO_GLOBALS {
    UNICODE_STRING RegistryPath;
    ULONG MaxSectors;
} SIO_GLOBALS;
static SIO_GLOBALS SioGlobals;

DRIVER_INITIALIZE SioDriverEntry;
DRIVER_ADD_DEVICE SioAddDevice;
DRIVER_UNLOAD SioUnload;
DRIVER_STARTIO SioStartIo;
DRIVER_CANCEL SioCancel;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH SioCreateClose;
_Dispatch_type_(IRP_MJ_READ) _Dispatch_type_(IRP_MJ_WRITE) DRIVER_DISPATCH SioReadWrite;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH SioDeviceControl;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH SioDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH SioDispatchPower;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH SioSystemControl;
KSERVICE_ROUTINE SioIsr;
IO_DPC_ROUTINE SioDpcForIsr;
KSYNCHRONIZE_ROUTINE SioProgramSector;
KSYNCHRONIZE_ROUTINE SioFinishSector;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, SioDriverEntry)
#pragma alloc_text(PAGE, SioAddDevice)
#pragma alloc_text(PAGE, SioDispatchPnp)
#pragma alloc_text(PAGE, SioSystemControl)
#pragma alloc_text(PAGE, SioCreateClose)
#endif
#pragma alloc_text(PAGE, SioUnload)

static NTSTATUS SioCompleteIrp(_Inout_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_DISK_INCREMENT);
    return Status;
}

/* ---- the device, from a SynchCritSection (interrupt lock held) ------------------------------ */

/* Starts the command for ext->Sector; a write sends the sector's data too. */
_Use_decl_annotations_ BOOLEAN SioProgramSector(PVOID SynchronizeContext)
{
    PSIO_EXTENSION ext = SynchronizeContext;
    PUCHAR data = ext->Buffer + (SIZE_T)ext->SectorsDone * SIODRV_SECTOR;
    WRITE_PORT_ULONG((PULONG)(ext->Ports + SIODRV_PORT_SECTOR), ext->Sector);
    if (ext->Write) {
        WRITE_PORT_ULONG((PULONG)(ext->Ports + SIODRV_PORT_CMD), SIODRV_CMD_WRITE);
        WRITE_PORT_BUFFER_ULONG((PULONG)(ext->Ports + SIODRV_PORT_DATA), (PULONG)data,
                                SIO_ULONGS_PER_SECTOR);
    } else {
        WRITE_PORT_ULONG((PULONG)(ext->Ports + SIODRV_PORT_CMD), SIODRV_CMD_READ);
    }
    return TRUE;
}

/* The interrupt came: takes a read sector's data, then programs the next sector if any.
 * Returns TRUE when the request is finished (or failed). */
_Use_decl_annotations_ BOOLEAN SioFinishSector(PVOID SynchronizeContext)
{
    PSIO_EXTENSION ext = SynchronizeContext;
    if (ext->IsrStatus & SIODRV_ST_ERR)
        return TRUE;
    if (!ext->Write)
        READ_PORT_BUFFER_ULONG((PULONG)(ext->Ports + SIODRV_PORT_DATA),
                               (PULONG)(ext->Buffer + (SIZE_T)ext->SectorsDone * SIODRV_SECTOR),
                               SIO_ULONGS_PER_SECTOR);
    ext->SectorsDone++;
    ext->SectorsLeft--;
    ext->Sector++;
    if (ext->SectorsLeft == 0)
        return TRUE;
    (void)SioProgramSector(ext);
    return FALSE;
}

_Use_decl_annotations_ BOOLEAN SioIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    PSIO_EXTENSION ext = ServiceContext;
    ULONG status;
    UNREFERENCED_PARAMETER(Interrupt);
    status = READ_PORT_ULONG((PULONG)(ext->Ports + SIODRV_PORT_STATUS));
    if (status == MAXULONG || (status & (SIODRV_ST_DONE | SIODRV_ST_ERR)) == 0)
        return FALSE;
    WRITE_PORT_ULONG((PULONG)(ext->Ports + SIODRV_PORT_STATUS),
                     status & (SIODRV_ST_DONE | SIODRV_ST_ERR));
    ext->IsrStatus = status;
    IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
    return TRUE;
}

/* The device failed @Sector: an entry for the system event log. DISPATCH_LEVEL or below. */
static VOID SioLogMediaError(_In_ PSIO_EXTENSION ext, _In_ UCHAR Major, _In_ ULONG Sector)
{
    PIO_ERROR_LOG_PACKET p = IoAllocateErrorLogEntry(ext->Self, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    if (p == NULL)
        return;
    p->MajorFunctionCode = Major;
    p->ErrorCode = SIODRV_MSG_MEDIA_ERROR;
    p->FinalStatus = STATUS_DEVICE_DATA_ERROR;
    p->UniqueErrorValue = 1;
    p->DeviceOffset.QuadPart = (LONGLONG)Sector * SIODRV_SECTOR;
    p->DumpDataSize = sizeof(ULONG);
    p->DumpData[0] = Sector;
    IoWriteErrorLogEntry(p);
}

/* ---- StartIo, DpcForIsr, cancel --------------------------------------------------------------- */

static VOID SioFinishRequest(_In_ PSIO_EXTENSION ext, _Inout_ PIRP Irp, _In_ NTSTATUS Status,
                             _In_ ULONG_PTR Information)
{
    IoStartNextPacket(ext->Self, TRUE);
    SioCompleteIrp(Irp, Status, Information);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

_Use_decl_annotations_ VOID SioStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSIO_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    KIRQL cancelIrql;
    BOOLEAN started;

    InterlockedDecrement(&ext->Queued);
    IoAcquireCancelSpinLock(&cancelIrql);
    if (Irp->Cancel) { /* cancelled before StartIo got it: the cancel routine left it to us */
        IoReleaseCancelSpinLock(cancelIrql);
        KeAcquireSpinLockAtDpcLevel(&ext->Lock);
        ext->Stats.Cancelled++;
        KeReleaseSpinLockFromDpcLevel(&ext->Lock);
        SioFinishRequest(ext, Irp, STATUS_CANCELLED, 0);
        return;
    }
    (void)IoSetCancelRoutine(Irp, NULL); /* in progress: it finishes */
    IoReleaseCancelSpinLock(cancelIrql);

    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    started = ext->Started;
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
    if (!started) {
        SioFinishRequest(ext, Irp, STATUS_DEVICE_NOT_READY, 0);
        return;
    }
    ext->Buffer = Irp->AssociatedIrp.SystemBuffer;
    ext->Write = sl->MajorFunction == IRP_MJ_WRITE;
    ext->Sector = (ULONG)((ext->Write ? sl->Parameters.Write.ByteOffset.QuadPart
                                      : sl->Parameters.Read.ByteOffset.QuadPart) /
                          SIODRV_SECTOR);
    ext->SectorsLeft =
        (ext->Write ? sl->Parameters.Write.Length : sl->Parameters.Read.Length) / SIODRV_SECTOR;
    ext->SectorsDone = 0;
    (void)KeSynchronizeExecution(ext->Interrupt, SioProgramSector, ext);
}

_Use_decl_annotations_ VOID SioDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                         PVOID Context)
{
    PSIO_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = STATUS_SUCCESS;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    if (Irp == NULL || Irp != DeviceObject->CurrentIrp)
        return;
    if (!KeSynchronizeExecution(ext->Interrupt, SioFinishSector, ext))
        return; /* the next sector is on its way */
    if (ext->IsrStatus & SIODRV_ST_ERR)
        SioLogMediaError(ext, ext->Write ? IRP_MJ_WRITE : IRP_MJ_READ, ext->Sector);
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (ext->IsrStatus & SIODRV_ST_ERR) {
        ext->Stats.DeviceErrors++;
        status = STATUS_DEVICE_DATA_ERROR;
    } else {
        if (ext->Write)
            ext->Stats.Writes++;
        else
            ext->Stats.Reads++;
        ext->Stats.SectorsMoved += ext->SectorsDone;
    }
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
    SioFinishRequest(ext, Irp, status,
                     NT_SUCCESS(status) ? (ULONG_PTR)ext->SectorsDone * SIODRV_SECTOR : 0);
}

/* A queued request is cancelled (cancel spin lock held). The one in progress is left to finish;
 * one between the queue and StartIo is completed by StartIo, which sees Irp->Cancel. */
_Use_decl_annotations_ VOID SioCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSIO_EXTENSION ext = DeviceObject->DeviceExtension;
    BOOLEAN removed = FALSE;
    KIRQL irql;
    if (Irp != DeviceObject->CurrentIrp)
        removed = KeRemoveEntryDeviceQueue(&DeviceObject->DeviceQueue,
                                           &Irp->Tail.Overlay.DeviceQueueEntry);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    if (!removed)
        return;
    InterlockedDecrement(&ext->Queued);
    KeAcquireSpinLock(&ext->Lock, &irql); /* back at the canceller's IRQL now */
    ext->Stats.Cancelled++;
    KeReleaseSpinLock(&ext->Lock, irql);
    SioCompleteIrp(Irp, STATUS_CANCELLED, 0);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

/* ---- dispatch ---------------------------------------------------------------------------------- */

_Use_decl_annotations_ NTSTATUS SioCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    PAGED_CODE();
    return SioCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ NTSTATUS SioReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSIO_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    BOOLEAN write = sl->MajorFunction == IRP_MJ_WRITE;
    ULONG length = write ? sl->Parameters.Write.Length : sl->Parameters.Read.Length;
    LONGLONG offset =
        write ? sl->Parameters.Write.ByteOffset.QuadPart : sl->Parameters.Read.ByteOffset.QuadPart;
    ULONGLONG end;
    LONG queued, seen;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SioCompleteIrp(Irp, status, 0);
    if (length == 0) {
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return SioCompleteIrp(Irp, STATUS_SUCCESS, 0);
    }
    status =
        offset < 0 ? STATUS_INVALID_PARAMETER : RtlULongLongAdd((ULONGLONG)offset, length, &end);
    if (NT_SUCCESS(status) &&
        ((ULONGLONG)offset % SIODRV_SECTOR != 0 || length % SIODRV_SECTOR != 0 ||
         length / SIODRV_SECTOR > SioGlobals.MaxSectors))
        status = STATUS_INVALID_PARAMETER;
    if (NT_SUCCESS(status) && end > (ULONGLONG)SIODRV_SECTORS * SIODRV_SECTOR)
        status = write ? STATUS_DISK_FULL : STATUS_END_OF_FILE;
    if (!NT_SUCCESS(status)) {
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return SioCompleteIrp(
            Irp, status == STATUS_INTEGER_OVERFLOW ? STATUS_INVALID_PARAMETER : status, 0);
    }
    queued = InterlockedIncrement(&ext->Queued);
    do { /* the high-water mark, without the lock */
        seen = (LONG)ext->Stats.MaxQueued;
        if (queued <= seen)
            break;
    } while (InterlockedCompareExchange((LONG volatile *)&ext->Stats.MaxQueued, queued, seen) !=
             seen);
    IoMarkIrpPending(Irp); /* the remove lock is released when it completes */
    IoStartPacket(DeviceObject, Irp, NULL, SioCancel);
    return STATUS_PENDING;
}

_Use_decl_annotations_ NTSTATUS SioDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSIO_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG outLen = sl->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG_PTR info = 0;
    KIRQL irql;
    NTSTATUS status = STATUS_SUCCESS;

    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_SIODRV_GET_GEOMETRY: {
        PSIODRV_GEOMETRY out = Irp->UserBuffer; /* METHOD_NEITHER: the caller's own buffer */
        if (outLen < sizeof(SIODRV_GEOMETRY) || out == NULL) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        __try {
            out->SectorSize = SIODRV_SECTOR;
            out->Sectors = SIODRV_SECTORS;
            out->MaxSectorsPerRequest = SioGlobals.MaxSectors;
            info = sizeof(SIODRV_GEOMETRY);
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            status = GetExceptionCode();
            info = 0;
        }
        break;
    }
    case IOCTL_SIODRV_GET_STATS:
        if (outLen < sizeof(SIODRV_STATS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        KeAcquireSpinLock(&ext->Lock, &irql);
        *(PSIODRV_STATS)Irp->AssociatedIrp.SystemBuffer = ext->Stats;
        KeReleaseSpinLock(&ext->Lock, irql);
        info = sizeof(SIODRV_STATS);
        break;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    return SioCompleteIrp(Irp, status, info);
}

/* ---- PnP, power, WMI ---------------------------------------------------------------------------- */

static NTSTATUS SioStartHardware(_In_ PSIO_EXTENSION ext, _In_opt_ PCM_RESOURCE_LIST Resources)
{
    PCM_PARTIAL_RESOURCE_LIST list;
    ULONG vector = 0, i, sectors = SIODRV_SECTORS;
    KIRQL irql = 0;
    KAFFINITY affinity = 0;
    KINTERRUPT_MODE mode = Latched;
    BOOLEAN haveInterrupt = FALSE, shared = FALSE;
    NTSTATUS status;
    KIRQL old;

    if (Resources == NULL || Resources->Count == 0)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    list = &Resources->List[0].PartialResourceList;
    for (i = 0; i < list->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
        if (d->Type == CmResourceTypePort && ext->Ports == NULL) {
            ext->PortLength = d->u.Port.Length;
            if (d->Flags & CM_RESOURCE_PORT_IO) {
                ext->Ports = (PUCHAR)(ULONG_PTR)d->u.Port.Start.QuadPart;
            } else {
                ext->Ports = MmMapIoSpace(d->u.Port.Start, d->u.Port.Length, MmNonCached);
                ext->PortMapped = TRUE;
            }
        } else if (d->Type == CmResourceTypeInterrupt && !haveInterrupt) {
            haveInterrupt = TRUE;
            irql = (KIRQL)d->u.Interrupt.Level;
            vector = d->u.Interrupt.Vector;
            affinity = d->u.Interrupt.Affinity;
            mode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
            shared = d->ShareDisposition == CmResourceShareShared;
        }
    }
    if (ext->Ports == NULL || ext->PortLength < SIODRV_PORTS || !haveInterrupt)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    status = IoConnectInterrupt(&ext->Interrupt, SioIsr, ext, NULL, vector, irql, irql, mode,
                                shared, affinity, FALSE);
    if (!NT_SUCCESS(status)) {
        ext->Interrupt = NULL;
        return status;
    }
    KeAcquireSpinLock(&ext->Lock, &old);
    ext->Started = TRUE;
    KeReleaseSpinLock(&ext->Lock, old);
    /* tell whoever reads the service key what the medium holds */
    status = RtlWriteRegistryValue(RTL_REGISTRY_ABSOLUTE, SioGlobals.RegistryPath.Buffer,
                                   SIODRV_REG_MEDIA_SECTORS, REG_DWORD, &sectors, sizeof sectors);
    if (!NT_SUCCESS(status))
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "siodrv: could not write %ws: %08X\n",
                   SIODRV_REG_MEDIA_SECTORS, (unsigned)status);
    return STATUS_SUCCESS;
}

static VOID SioStopHardware(_In_ PSIO_EXTENSION ext)
{
    KIRQL old;
    KeAcquireSpinLock(&ext->Lock, &old);
    ext->Started = FALSE;
    KeReleaseSpinLock(&ext->Lock, old);
    if (ext->Interrupt != NULL) {
        IoDisconnectInterrupt(ext->Interrupt);
        ext->Interrupt = NULL;
    }
    KeFlushQueuedDpcs();
    if (ext->PortMapped && ext->Ports != NULL)
        MmUnmapIoSpace(ext->Ports, ext->PortLength);
    ext->Ports = NULL;
    ext->PortMapped = FALSE;
}

static NTSTATUS SioPassDown(_In_ PSIO_EXTENSION ext, _Inout_ PIRP Irp)
{
    NTSTATUS status;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS SioDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSIO_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    PAGED_CODE();
    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SioCompleteIrp(Irp, status, 0);
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status =
            IoForwardIrpSynchronously(ext->Lower, Irp) ? Irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
        if (NT_SUCCESS(status))
            status = SioStartHardware(ext, sl->Parameters.StartDevice.AllocatedResourcesTranslated);
        if (NT_SUCCESS(status)) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, TRUE);
            (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_REGISTER);
        } else {
            SioStopHardware(ext);
        }
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return SioCompleteIrp(Irp, status, 0);
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
        /* refused while requests are queued or in progress */
        if (ext->Queued != 0 || DeviceObject->CurrentIrp != NULL) {
            IoReleaseRemoveLock(&ext->RemoveLock, Irp);
            return SioCompleteIrp(Irp, STATUS_DEVICE_BUSY, 0);
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return SioPassDown(ext, Irp);
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return SioPassDown(ext, Irp);
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        SioStopHardware(ext);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return SioPassDown(ext, Irp);
    case IRP_MN_REMOVE_DEVICE:
        SioStopHardware(ext);
        (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_DEREGISTER);
        if (ext->InterfaceName.Buffer != NULL) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, FALSE);
            RtlFreeUnicodeString(&ext->InterfaceName);
        }
        if (ext->LinkCreated) {
            UNICODE_STRING link = RTL_CONSTANT_STRING(SIODRV_DOS_NAME);
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
        return SioPassDown(ext, Irp);
    }
}

_Use_decl_annotations_ NTSTATUS SioDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSIO_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    PoStartNextPowerIrp(Irp);
    if (!NT_SUCCESS(status))
        return SioCompleteIrp(Irp, status, 0);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS SioSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSIO_EXTENSION ext = DeviceObject->DeviceExtension;
    SYSCTL_IRP_DISPOSITION disposition = IrpNotWmi;
    NTSTATUS status;
    PAGED_CODE();
    status = WmiSystemControl(&ext->WmiLibInfo, DeviceObject, Irp, &disposition);
    if (disposition == IrpNotWmi || disposition == IrpForward) {
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
    }
    return status;
}

_Use_decl_annotations_ NTSTATUS SioAddDevice(PDRIVER_OBJECT DriverObject,
                                             PDEVICE_OBJECT PhysicalDeviceObject)
{
    UNICODE_STRING name, link;
    PDEVICE_OBJECT fdo;
    PSIO_EXTENSION ext;
    NTSTATUS status;

    PAGED_CODE();
    RtlInitUnicodeString(&name, SIODRV_DEVICE_NAME);
    RtlInitUnicodeString(&link, SIODRV_DOS_NAME);
    status = IoCreateDevice(DriverObject, sizeof(SIO_EXTENSION), &name, FILE_DEVICE_DISK,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    ext = fdo->DeviceExtension;
    RtlZeroMemory(ext, sizeof *ext);
    ext->Self = fdo;
    ext->Pdo = PhysicalDeviceObject;
    KeInitializeSpinLock(&ext->Lock);
    IoInitializeRemoveLock(&ext->RemoveLock, SIO_TAG, 0, 0);
    IoInitializeDpcRequest(fdo, SioDpcForIsr);
    status = IoRegisterDeviceInterface(PhysicalDeviceObject, &GUID_DEVINTERFACE_SIODRV, NULL,
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
    ext->LinkCreated = NT_SUCCESS(IoCreateSymbolicLink(&link, &name));
    fdo->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID SioUnload(PDRIVER_OBJECT DriverObject)
{
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DriverObject);
    if (SioGlobals.RegistryPath.Buffer != NULL)
        ExFreePoolWithTag(SioGlobals.RegistryPath.Buffer, SIO_TAG);
    SioGlobals.RegistryPath.Buffer = NULL;
}

_Use_decl_annotations_ NTSTATUS SioDriverEntry(PDRIVER_OBJECT DriverObject,
                                               PUNICODE_STRING RegistryPath)
{
    RTL_QUERY_REGISTRY_TABLE table[2];
    ULONG maxSectors = SIODRV_SECTORS, defMax = SIODRV_SECTORS;
    NTSTATUS status;
    SIZE_T bytes;

    /* a NUL-terminated copy of the service key's path, for RtlWriteRegistryValue */
    status = RtlSizeTAdd(RegistryPath->Length, sizeof(WCHAR), &bytes);
    if (!NT_SUCCESS(status) || bytes > MAXUSHORT)
        return STATUS_INVALID_PARAMETER;
    SioGlobals.RegistryPath.Buffer = ExAllocatePoolZero(PagedPool, bytes, SIO_TAG);
    if (SioGlobals.RegistryPath.Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    SioGlobals.RegistryPath.Length = 0;
    SioGlobals.RegistryPath.MaximumLength = (USHORT)bytes;
    RtlCopyUnicodeString(&SioGlobals.RegistryPath, RegistryPath);

    /* <service>\Parameters\MaxSectorsPerRequest, relative to the Services key */
    RtlZeroMemory(table, sizeof table);
    table[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    table[0].Name = SIODRV_REG_MAX_SECTORS;
    table[0].EntryContext = &maxSectors;
    table[0].DefaultType = REG_DWORD;
    table[0].DefaultData = &defMax;
    table[0].DefaultLength = sizeof defMax;
    status =
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"siodrv\\Parameters", table, NULL, NULL);
    if (!NT_SUCCESS(status) || maxSectors == 0 || maxSectors > SIODRV_SECTORS)
        maxSectors = SIODRV_SECTORS;
    SioGlobals.MaxSectors = maxSectors;
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "siodrv: %wZ, %lu sectors per request\n",
               RegistryPath, maxSectors);

    DriverObject->MajorFunction[IRP_MJ_CREATE] = SioCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SioCreateClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = SioReadWrite;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = SioReadWrite;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SioDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = SioDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = SioDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = SioSystemControl;
    DriverObject->DriverStartIo = SioStartIo;
    DriverObject->DriverUnload = SioUnload;
    DriverObject->DriverExtension->AddDevice = SioAddDevice;
    return STATUS_SUCCESS;
}
