/* SPDX-License-Identifier: MIT */
/*
 * sdmadrv.c - a PnP function driver for the SDM-1 tape buffer (sdmadrv.h), in
 * the style of an ISA system-DMA driver (floppy, sound card): a slave DMA
 * adapter for the channel of the CmResourceTypeDma descriptor, direct I/O,
 * StartIo -> AllocateAdapterChannel -> AdapterControl (MapTransfer, program
 * the device) -> ISR -> DpcForIsr (FlushAdapterBuffers, next piece or
 * FreeAdapterChannel and complete).
 *
 * Written as for Windows: <ntddk.h> and the WDK headers beside it, SAL on
 * every routine, alloc_text pragmas, PnP/power/WMI boilerplate, the driver's
 * software registry key, a remove lock. No kdpc name appears here.
 */
#include <ntddk.h>
#include <ntintsafe.h>
#include <wmilib.h>
#include <initguid.h>
#include "sdmadrv.h"

#define SDMA_TAG 'mdSk'

typedef struct _SDMA_EXTENSION {
    PDEVICE_OBJECT Self, Pdo, Lower;
    IO_REMOVE_LOCK RemoveLock;
    UNICODE_STRING InterfaceName;
    WMILIB_CONTEXT WmiLibInfo;
    BOOLEAN LinkCreated;
    PUCHAR Ports;
    PKINTERRUPT Interrupt;
    PDMA_ADAPTER Adapter;
    ULONG MapRegisters;
    ULONG DmaChannel;
    KSPIN_LOCK Lock;
    SDMADRV_STATS Stats; /* Lock */
    BOOLEAN Started;     /* Lock */
    /* the transfer in progress (StartIo .. DpcForIsr; one at a time) */
    PMDL Mdl;
    PVOID MapRegisterBase;
    PUCHAR CurrentVa;
    ULONG Remaining, PieceLength, DeviceOffset;
    BOOLEAN WriteToDevice;
    PHYSICAL_ADDRESS PieceAddress;
    /* interrupt lock */
    ULONG IsrStatus;
} SDMA_EXTENSION, *PSDMA_EXTENSION;

DRIVER_INITIALIZE SdmaDriverEntry;
DRIVER_ADD_DEVICE SdmaAddDevice;
DRIVER_UNLOAD SdmaUnload;
DRIVER_STARTIO SdmaStartIo;
DRIVER_CONTROL SdmaAdapterControl;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH SdmaCreateClose;
_Dispatch_type_(IRP_MJ_READ) _Dispatch_type_(IRP_MJ_WRITE) DRIVER_DISPATCH SdmaReadWrite;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH SdmaDeviceControl;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH SdmaDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH SdmaDispatchPower;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH SdmaSystemControl;
KSERVICE_ROUTINE SdmaIsr;
IO_DPC_ROUTINE SdmaDpcForIsr;
KSYNCHRONIZE_ROUTINE SdmaProgram;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, SdmaDriverEntry)
#pragma alloc_text(PAGE, SdmaAddDevice)
#pragma alloc_text(PAGE, SdmaDispatchPnp)
#pragma alloc_text(PAGE, SdmaSystemControl)
#pragma alloc_text(PAGE, SdmaUnload)
#endif

#define PORT(ext, off) ((PULONG)((ext)->Ports + (off)))

static NTSTATUS SdmaComplete(_Inout_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

/* ---- the transfer ---------------------------------------------------------------------------- */

_Use_decl_annotations_ BOOLEAN SdmaProgram(PVOID SynchronizeContext)
{
    PSDMA_EXTENSION ext = SynchronizeContext;
    WRITE_PORT_ULONG(PORT(ext, SDMADRV_PORT_ADDR_LO), ext->PieceAddress.LowPart);
    WRITE_PORT_ULONG(PORT(ext, SDMADRV_PORT_ADDR_HI), (ULONG)ext->PieceAddress.HighPart);
    WRITE_PORT_ULONG(PORT(ext, SDMADRV_PORT_COUNT), ext->PieceLength);
    WRITE_PORT_ULONG(PORT(ext, SDMADRV_PORT_OFFSET), ext->DeviceOffset);
    WRITE_PORT_ULONG(PORT(ext, SDMADRV_PORT_CMD),
                     ext->WriteToDevice ? SDMADRV_CMD_PLAY : SDMADRV_CMD_RECORD);
    return TRUE;
}

/* Maps the next piece (as much as the map registers take) and starts the device on it. */
static VOID SdmaMapAndGo(_In_ PSDMA_EXTENSION ext)
{
    ULONG length = ext->Remaining;
    ext->PieceAddress = ext->Adapter->DmaOperations->MapTransfer(
        ext->Adapter, ext->Mdl, ext->MapRegisterBase, ext->CurrentVa, &length, ext->WriteToDevice);
    ext->PieceLength = length;
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    ext->Stats.Pieces++;
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
    (void)KeSynchronizeExecution(ext->Interrupt, SdmaProgram, ext);
}

_Use_decl_annotations_ IO_ALLOCATION_ACTION SdmaAdapterControl(PDEVICE_OBJECT DeviceObject,
                                                               PIRP Irp, PVOID MapRegisterBase,
                                                               PVOID Context)
{
    PSDMA_EXTENSION ext = DeviceObject->DeviceExtension;
    UNREFERENCED_PARAMETER(Irp);
    UNREFERENCED_PARAMETER(Context);
    ext->MapRegisterBase = MapRegisterBase;
    SdmaMapAndGo(ext);
    return KeepObject; /* the channel stays ours until the last piece is flushed */
}

_Use_decl_annotations_ VOID SdmaStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSDMA_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG pages;
    NTSTATUS status;

    ext->WriteToDevice = sl->MajorFunction == IRP_MJ_WRITE;
    ext->Mdl = Irp->MdlAddress;
    ext->CurrentVa = MmGetMdlVirtualAddress(ext->Mdl);
    ext->Remaining = MmGetMdlByteCount(ext->Mdl);
    ext->DeviceOffset = (ULONG)(ext->WriteToDevice ? sl->Parameters.Write.ByteOffset.QuadPart
                                                   : sl->Parameters.Read.ByteOffset.QuadPart);
    KeFlushIoBuffers(ext->Mdl, !ext->WriteToDevice, TRUE);
    pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(ext->CurrentVa, ext->Remaining);
    status = ext->Adapter->DmaOperations->AllocateAdapterChannel(
        ext->Adapter, DeviceObject, pages < ext->MapRegisters ? pages : ext->MapRegisters,
        SdmaAdapterControl, NULL);
    if (!NT_SUCCESS(status)) {
        IoStartNextPacket(DeviceObject, FALSE);
        SdmaComplete(Irp, status, 0);
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    }
}

_Use_decl_annotations_ BOOLEAN SdmaIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    PSDMA_EXTENSION ext = ServiceContext;
    ULONG status;
    UNREFERENCED_PARAMETER(Interrupt);
    status = READ_PORT_ULONG(PORT(ext, SDMADRV_PORT_STATUS));
    if (status == MAXULONG || (status & (SDMADRV_ST_DONE | SDMADRV_ST_ERR)) == 0)
        return FALSE;
    WRITE_PORT_ULONG(PORT(ext, SDMADRV_PORT_STATUS), status & (SDMADRV_ST_DONE | SDMADRV_ST_ERR));
    ext->IsrStatus = status;
    IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
    return TRUE;
}

_Use_decl_annotations_ VOID SdmaDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                          PVOID Context)
{
    PSDMA_EXTENSION ext = DeviceObject->DeviceExtension;
    PDMA_OPERATIONS ops = ext->Adapter->DmaOperations;
    ULONG total = MmGetMdlByteCount(ext->Mdl), residue;
    NTSTATUS status = STATUS_SUCCESS;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    if (Irp == NULL)
        return;
    (void)ops->FlushAdapterBuffers(ext->Adapter, ext->Mdl, ext->MapRegisterBase, ext->CurrentVa,
                                   ext->PieceLength, ext->WriteToDevice);
    residue = ops->ReadDmaCounter(ext->Adapter); /* bytes the channel did not move */
    if ((ext->IsrStatus & SDMADRV_ST_ERR) || residue != 0) {
        status = STATUS_DEVICE_DATA_ERROR;
    } else {
        ext->CurrentVa += ext->PieceLength;
        ext->DeviceOffset += ext->PieceLength;
        ext->Remaining -= ext->PieceLength;
        if (ext->Remaining > 0) {
            SdmaMapAndGo(ext);
            return;
        }
    }
    ops->FreeAdapterChannel(ext->Adapter);
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (NT_SUCCESS(status)) {
        ext->Stats.Transfers++;
        ext->Stats.Bytes += total;
    } else {
        ext->Stats.Errors++;
    }
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
    IoStartNextPacket(DeviceObject, FALSE);
    SdmaComplete(Irp, status, NT_SUCCESS(status) ? total : 0);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

/* ---- dispatch ---------------------------------------------------------------------------------- */

_Use_decl_annotations_ NTSTATUS SdmaCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return SdmaComplete(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ NTSTATUS SdmaReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSDMA_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    BOOLEAN write = sl->MajorFunction == IRP_MJ_WRITE;
    ULONG length = write ? sl->Parameters.Write.Length : sl->Parameters.Read.Length;
    LONGLONG offset =
        write ? sl->Parameters.Write.ByteOffset.QuadPart : sl->Parameters.Read.ByteOffset.QuadPart;
    ULONG end;
    KIRQL irql;
    BOOLEAN started;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SdmaComplete(Irp, status, 0);
    KeAcquireSpinLock(&ext->Lock, &irql);
    started = ext->Started;
    KeReleaseSpinLock(&ext->Lock, irql);
    if (!started)
        status = STATUS_DEVICE_NOT_READY;
    else if (length == 0)
        status = STATUS_SUCCESS;
    else if (offset < 0 || offset > SDMADRV_MEDIA ||
             !NT_SUCCESS(RtlULongAdd((ULONG)offset, length, &end)) || end > SDMADRV_MEDIA)
        status = write ? STATUS_DISK_FULL : STATUS_END_OF_FILE;
    else
        status = STATUS_PENDING;
    if (status != STATUS_PENDING) {
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return SdmaComplete(Irp, status, 0);
    }
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, NULL);
    return STATUS_PENDING;
}

_Use_decl_annotations_ NTSTATUS SdmaDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSDMA_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    KIRQL irql;
    if (sl->Parameters.DeviceIoControl.IoControlCode != IOCTL_SDMADRV_GET_STATS)
        return SdmaComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (sl->Parameters.DeviceIoControl.OutputBufferLength < sizeof(SDMADRV_STATS))
        return SdmaComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    KeAcquireSpinLock(&ext->Lock, &irql);
    *(PSDMADRV_STATS)Irp->AssociatedIrp.SystemBuffer = ext->Stats;
    KeReleaseSpinLock(&ext->Lock, irql);
    return SdmaComplete(Irp, STATUS_SUCCESS, sizeof(SDMADRV_STATS));
}

/* ---- PnP, power, WMI ------------------------------------------------------------------------ */

static NTSTATUS SdmaStartHardware(_In_ PSDMA_EXTENSION ext, _In_opt_ PCM_RESOURCE_LIST Resources)
{
    PCM_PARTIAL_RESOURCE_LIST list;
    ULONG vector = 0, i;
    KIRQL irql = 0;
    KAFFINITY affinity = 0;
    KINTERRUPT_MODE mode = Latched;
    BOOLEAN haveInterrupt = FALSE, haveDma = FALSE, shared = FALSE;
    DEVICE_DESCRIPTION dd;
    NTSTATUS status;
    KIRQL old;

    if (Resources == NULL || Resources->Count == 0)
        return STATUS_INSUFFICIENT_RESOURCES;
    list = &Resources->List[0].PartialResourceList;
    for (i = 0; i < list->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
        switch (d->Type) {
        case CmResourceTypePort:
            if (d->u.Port.Length >= SDMADRV_PORTS && (d->Flags & CM_RESOURCE_PORT_IO))
                ext->Ports = (PUCHAR)(ULONG_PTR)d->u.Port.Start.QuadPart;
            break;
        case CmResourceTypeInterrupt:
            haveInterrupt = TRUE;
            irql = (KIRQL)d->u.Interrupt.Level;
            vector = d->u.Interrupt.Vector;
            affinity = d->u.Interrupt.Affinity;
            mode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
            shared = d->ShareDisposition == CmResourceShareShared;
            break;
        case CmResourceTypeDma:
            haveDma = TRUE;
            ext->DmaChannel = d->u.Dma.Channel;
            break;
        default:
            break;
        }
    }
    if (ext->Ports == NULL || !haveInterrupt || !haveDma)
        return STATUS_INSUFFICIENT_RESOURCES;

    RtlZeroMemory(&dd, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION2;
    dd.Master = FALSE; /* system DMA on the ISA channel */
    dd.DmaChannel = ext->DmaChannel;
    dd.InterfaceType = Isa;
    dd.DmaWidth = Width8Bits;
    dd.DmaSpeed = Compatible;
    dd.MaximumLength = PAGE_SIZE;
    ext->Adapter = IoGetDmaAdapter(ext->Pdo, &dd, &ext->MapRegisters);
    if (ext->Adapter == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    status = IoConnectInterrupt(&ext->Interrupt, SdmaIsr, ext, NULL, vector, irql, irql, mode,
                                shared, affinity, FALSE);
    if (!NT_SUCCESS(status)) {
        ext->Interrupt = NULL;
        return status;
    }
    KeAcquireSpinLock(&ext->Lock, &old);
    ext->Stats.MapRegisters = ext->MapRegisters;
    ext->Started = TRUE;
    KeReleaseSpinLock(&ext->Lock, old);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "sdmadrv: channel %lu, %lu map registers\n",
               ext->DmaChannel, ext->MapRegisters);
    return STATUS_SUCCESS;
}

static VOID SdmaStopHardware(_In_ PSDMA_EXTENSION ext)
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
    if (ext->Adapter != NULL) {
        ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
        ext->Adapter = NULL;
    }
    ext->Ports = NULL;
}

/* Records the bytes moved in the driver's software key. */
static VOID SdmaSaveTotals(_In_ PSDMA_EXTENSION ext)
{
    HANDLE key;
    UNICODE_STRING name = RTL_CONSTANT_STRING(SDMADRV_REG_TOTAL);
    ULONG bytes = ext->Stats.Bytes;
    if (!NT_SUCCESS(IoOpenDeviceRegistryKey(ext->Pdo, PLUGPLAY_REGKEY_DRIVER, KEY_WRITE, &key)))
        return;
    (void)ZwSetValueKey(key, &name, 0, REG_DWORD, &bytes, sizeof bytes);
    ZwClose(key);
}

static NTSTATUS SdmaPassDown(_In_ PSDMA_EXTENSION ext, _Inout_ PIRP Irp)
{
    NTSTATUS status;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS SdmaDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSDMA_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    PAGED_CODE();
    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SdmaComplete(Irp, status, 0);
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status =
            IoForwardIrpSynchronously(ext->Lower, Irp) ? Irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
        if (NT_SUCCESS(status))
            status =
                SdmaStartHardware(ext, sl->Parameters.StartDevice.AllocatedResourcesTranslated);
        if (NT_SUCCESS(status)) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, TRUE);
            (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_REGISTER);
        } else {
            SdmaStopHardware(ext);
        }
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return SdmaComplete(Irp, status, 0);
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
        if (DeviceObject->CurrentIrp != NULL) {
            IoReleaseRemoveLock(&ext->RemoveLock, Irp);
            return SdmaComplete(Irp, STATUS_DEVICE_BUSY, 0);
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return SdmaPassDown(ext, Irp);
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return SdmaPassDown(ext, Irp);
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        SdmaStopHardware(ext);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return SdmaPassDown(ext, Irp);
    case IRP_MN_REMOVE_DEVICE:
        SdmaStopHardware(ext);
        SdmaSaveTotals(ext);
        (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_DEREGISTER);
        if (ext->InterfaceName.Buffer != NULL) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, FALSE);
            RtlFreeUnicodeString(&ext->InterfaceName);
        }
        if (ext->LinkCreated) {
            UNICODE_STRING link = RTL_CONSTANT_STRING(SDMADRV_DOS_NAME);
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
        return SdmaPassDown(ext, Irp);
    }
}

_Use_decl_annotations_ NTSTATUS SdmaDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSDMA_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    PoStartNextPowerIrp(Irp);
    if (!NT_SUCCESS(status))
        return SdmaComplete(Irp, status, 0);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS SdmaSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSDMA_EXTENSION ext = DeviceObject->DeviceExtension;
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

_Use_decl_annotations_ NTSTATUS SdmaAddDevice(PDRIVER_OBJECT DriverObject,
                                              PDEVICE_OBJECT PhysicalDeviceObject)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(SDMADRV_DEVICE_NAME);
    UNICODE_STRING link = RTL_CONSTANT_STRING(SDMADRV_DOS_NAME);
    PDEVICE_OBJECT fdo;
    PSDMA_EXTENSION ext;
    NTSTATUS status;

    PAGED_CODE();
    status = IoCreateDevice(DriverObject, sizeof(SDMA_EXTENSION), &name, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    ext = fdo->DeviceExtension;
    RtlZeroMemory(ext, sizeof *ext);
    ext->Self = fdo;
    ext->Pdo = PhysicalDeviceObject;
    KeInitializeSpinLock(&ext->Lock);
    IoInitializeRemoveLock(&ext->RemoveLock, SDMA_TAG, 0, 0);
    IoInitializeDpcRequest(fdo, SdmaDpcForIsr);
    status = IoRegisterDeviceInterface(PhysicalDeviceObject, &GUID_DEVINTERFACE_SDMADRV, NULL,
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
    fdo->Flags |= DO_DIRECT_IO | DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID SdmaUnload(PDRIVER_OBJECT DriverObject)
{
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_ NTSTATUS SdmaDriverEntry(PDRIVER_OBJECT DriverObject,
                                                PUNICODE_STRING RegistryPath)
{
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_TRACE_LEVEL, "sdmadrv: %wZ\n", RegistryPath);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = SdmaCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SdmaCreateClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = SdmaReadWrite;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = SdmaReadWrite;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SdmaDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = SdmaDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = SdmaDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = SdmaSystemControl;
    DriverObject->DriverStartIo = SdmaStartIo;
    DriverObject->DriverUnload = SdmaUnload;
    DriverObject->DriverExtension->AddDevice = SdmaAddDevice;
    return STATUS_SUCCESS;
}
