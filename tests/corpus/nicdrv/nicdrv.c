/* SPDX-License-Identifier: MIT */
/*
 * nicdrv.c - a PnP function driver for the NX-1 network controller
 * (nicdrv.h), in the style of a PCI bus-master NIC driver reduced to WDM: a
 * version 3 DMA adapter (DEVICE_DESCRIPTION_VERSION3, 64 address bits,
 * scatter/gather), descriptor rings and receive buffers in a common buffer,
 * transmit through StartIo with CalculateScatterGatherList /
 * BuildScatterGatherList into the driver's own list buffer, a level-triggered
 * interrupt whose DpcForIsr retires sent frames (PutScatterGatherList) and
 * hands received frames to waiting receive requests (cancellable).
 *
 * Written as for Windows: <wdm.h> and the WDK headers beside it, SAL on every
 * routine, alloc_text pragmas, PnP/power/WMI boilerplate, a registry
 * parameter, a remove lock. No kdpc name appears here.
 *
 * Locks: Lock guards the receive queue, RxNext and the counters; IsrCause
 * belongs to the interrupt lock. The transmit side belongs to StartIo and the
 * DpcForIsr (one frame in flight: the system device queue).
 */
#include <wdm.h>
#include <ntintsafe.h>
#include <ntstrsafe.h>
#include <wmilib.h>
#include <initguid.h>
#include "nicdrv.h"

#define NIC_TAG          'ciNk'
#define NIC_RXRING_OFF   (NICDRV_RING * sizeof(NICDRV_DESC))
#define NIC_RXBUF_OFF    PAGE_SIZE
#define NIC_COMMON_BYTES (PAGE_SIZE + NICDRV_RING * NICDRV_RX_BUFFER)

typedef struct _NIC_EXTENSION {
    PDEVICE_OBJECT Self, Pdo, Lower;
    IO_REMOVE_LOCK RemoveLock;
    UNICODE_STRING InterfaceName;
    WMILIB_CONTEXT WmiLibInfo;
    BOOLEAN LinkCreated;
    PUCHAR Regs;
    SIZE_T RegsLength;
    PKINTERRUPT Interrupt;
    PDMA_ADAPTER Adapter;
    PUCHAR Common;
    PHYSICAL_ADDRESS CommonLa;
    volatile NICDRV_DESC *TxRing, *RxRing;
    KSPIN_LOCK Lock;
    BOOLEAN Started;         /* Lock */
    BOOLEAN PoweredDown;     /* Lock: in D1..D3; sends are refused */
    LIST_ENTRY ReceiveQueue; /* Lock */
    ULONG RxNext;            /* Lock */
    NICDRV_STATS Stats;      /* Lock */
    /* transmit: StartIo and DpcForIsr */
    ULONG TxTail, SendFirst, SendCount;
    PVOID SgBuffer;
    PSCATTER_GATHER_LIST SgList;
    PIRP SendIrp;
    /* interrupt lock */
    ULONG IsrCause;
} NIC_EXTENSION, *PNIC_EXTENSION;

static ULONG NicMaxFrame = NICDRV_MAX_FRAME;

DRIVER_INITIALIZE NicDriverEntry;
DRIVER_ADD_DEVICE NicAddDevice;
DRIVER_UNLOAD NicUnload;
DRIVER_STARTIO NicStartIo;
DRIVER_LIST_CONTROL NicTxListControl;
DRIVER_CANCEL NicCancelReceive;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH NicCreateClose;
_Dispatch_type_(IRP_MJ_CLEANUP) DRIVER_DISPATCH NicCleanup;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH NicDeviceControl;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH NicDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH NicDispatchPower;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH NicSystemControl;
KSERVICE_ROUTINE NicIsr;
IO_DPC_ROUTINE NicDpcForIsr;
KSYNCHRONIZE_ROUTINE NicTakeCause;
IO_COMPLETION_ROUTINE NicSystemPowerPassed;
IO_COMPLETION_ROUTINE NicDevicePowerUp;
REQUEST_POWER_COMPLETE NicDevicePowerDone;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, NicDriverEntry)
#pragma alloc_text(PAGE, NicAddDevice)
#pragma alloc_text(PAGE, NicDispatchPnp)
#pragma alloc_text(PAGE, NicSystemControl)
#pragma alloc_text(PAGE, NicUnload)
#endif

#define REG32(ext, off) ((PULONG)((ext)->Regs + (off)))

static NTSTATUS NicComplete(_Inout_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NETWORK_INCREMENT);
    return Status;
}

static VOID NicFinish(_In_ PNIC_EXTENSION ext, _Inout_ PIRP Irp, _In_ NTSTATUS Status,
                      _In_ ULONG_PTR Information)
{
    NicComplete(Irp, Status, Information);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

/* ---- transmit --------------------------------------------------------------------------------- */

/* The scatter/gather list of the frame is ready (DISPATCH_LEVEL): one descriptor per element. */
_Use_decl_annotations_ VOID NicTxListControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                             PSCATTER_GATHER_LIST ScatterGather, PVOID Context)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    ULONG i, index;
    UNREFERENCED_PARAMETER(Context);
    ext->SendIrp = Irp;
    ext->SgList = ScatterGather;
    ext->SendFirst = ext->TxTail;
    ext->SendCount = ScatterGather->NumberOfElements;
    for (i = 0; i < ScatterGather->NumberOfElements; i++) {
        index = (ext->TxTail + i) % NICDRV_RING;
        ext->TxRing[index].Address = (ULONGLONG)ScatterGather->Elements[i].Address.QuadPart;
        ext->TxRing[index].Length = (USHORT)ScatterGather->Elements[i].Length;
        ext->TxRing[index].Flags =
            (USHORT)(i + 1 == ScatterGather->NumberOfElements ? NICDRV_DESC_EOP : 0);
        ext->TxRing[index].Status = 0;
    }
    ext->TxTail = (ext->TxTail + ScatterGather->NumberOfElements) % NICDRV_RING;
    KeMemoryBarrier();
    WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_TX_TAIL), ext->TxTail);
}

_Use_decl_annotations_ VOID NicStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    PDMA_OPERATIONS ops = ext->Adapter->DmaOperations;
    PMDL mdl = Irp->MdlAddress;
    PVOID va = MmGetMdlVirtualAddress(mdl);
    ULONG length = MmGetMdlByteCount(mdl), listSize = 0, mapRegisters = 0;
    NTSTATUS status;

    status =
        ops->CalculateScatterGatherList(ext->Adapter, mdl, va, length, &listSize, &mapRegisters);
    if (NT_SUCCESS(status) && mapRegisters >= NICDRV_RING)
        status = STATUS_INSUFFICIENT_RESOURCES; /* more fragments than the ring holds */
    if (NT_SUCCESS(status)) {
        ext->SgBuffer = ExAllocatePool2(POOL_FLAG_NON_PAGED, listSize, NIC_TAG);
        if (ext->SgBuffer == NULL)
            status = STATUS_INSUFFICIENT_RESOURCES;
    }
    if (NT_SUCCESS(status)) {
        status = ops->BuildScatterGatherList(ext->Adapter, DeviceObject, mdl, va, length,
                                             NicTxListControl, NULL, TRUE, ext->SgBuffer, listSize);
        if (!NT_SUCCESS(status)) {
            ExFreePoolWithTag(ext->SgBuffer, NIC_TAG);
            ext->SgBuffer = NULL;
        }
    }
    if (!NT_SUCCESS(status)) {
        IoStartNextPacket(DeviceObject, FALSE);
        NicFinish(ext, Irp, status, 0);
    }
}

/* ---- interrupt ----------------------------------------------------------------------------- */

_Use_decl_annotations_ BOOLEAN NicIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    PNIC_EXTENSION ext = ServiceContext;
    ULONG cause;
    UNREFERENCED_PARAMETER(Interrupt);
    cause = READ_REGISTER_ULONG(REG32(ext, NICDRV_REG_ICR));
    if (cause == 0 || cause == MAXULONG)
        return FALSE;
    WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_ICR), cause);
    ext->IsrCause |= cause;
    IoRequestDpc(ext->Self, NULL, NULL);
    return TRUE;
}

typedef struct _NIC_TAKE {
    PNIC_EXTENSION Ext;
    ULONG Cause;
} NIC_TAKE;

_Use_decl_annotations_ BOOLEAN NicTakeCause(PVOID SynchronizeContext)
{
    NIC_TAKE *take = SynchronizeContext;
    take->Cause = take->Ext->IsrCause;
    take->Ext->IsrCause = 0;
    return TRUE;
}

/* Copies the frame of receive descriptor @index into @Irp. Lock held. */
static NTSTATUS NicCopyFrame(_In_ PNIC_EXTENSION ext, _In_ ULONG index, _Inout_ PIRP Irp,
                             _Out_ PULONG_PTR Information)
{
    ULONG frame = ext->RxRing[index].Status >> 16;
    ULONG room = IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG n = frame <= room ? frame : room;
    RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer,
                  ext->Common + NIC_RXBUF_OFF + (SIZE_T)index * NICDRV_RX_BUFFER, n);
    ext->RxRing[index].Status = 0; /* the buffer goes back to the device */
    ext->Stats.FramesReceived++;
    *Information = n;
    return n < frame ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID NicDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                         PVOID Context)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    NIC_TAKE take = {ext, 0};
    PIRP sent = NULL, done[NICDRV_RING];
    NTSTATUS status[NICDRV_RING];
    ULONG_PTR info[NICDRV_RING];
    ULONG ndone = 0, i, last;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Irp);
    UNREFERENCED_PARAMETER(Context);

    if (ext->Interrupt == NULL)
        return;
    (void)KeSynchronizeExecution(ext->Interrupt, NicTakeCause, &take);

    /* transmit: the frame in flight is done when its last descriptor is */
    if (ext->SendIrp != NULL) {
        last = (ext->SendFirst + ext->SendCount - 1) % NICDRV_RING;
        if (ext->TxRing[last].Status & NICDRV_DESC_DONE) {
            sent = ext->SendIrp;
            ext->SendIrp = NULL;
            ext->Adapter->DmaOperations->PutScatterGatherList(ext->Adapter, ext->SgList, TRUE);
            ExFreePoolWithTag(ext->SgBuffer, NIC_TAG);
            ext->SgBuffer = NULL;
            ext->SgList = NULL;
            KeAcquireSpinLockAtDpcLevel(&ext->Lock);
            ext->Stats.FramesSent++;
            ext->Stats.Fragments += ext->SendCount;
            KeReleaseSpinLockFromDpcLevel(&ext->Lock);
        }
    }

    /* receive: frames to the waiting requests, oldest first */
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    while (ndone < NICDRV_RING && (ext->RxRing[ext->RxNext].Status & NICDRV_DESC_DONE)) {
        PLIST_ENTRY entry = ext->ReceiveQueue.Flink;
        PIRP waiting = NULL;
        for (; entry != &ext->ReceiveQueue; entry = entry->Flink) {
            PIRP candidate = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
            if (IoSetCancelRoutine(candidate, NULL) != NULL) { /* else being cancelled */
                RemoveEntryList(entry);
                waiting = candidate;
                break;
            }
        }
        if (waiting == NULL)
            break; /* the frame waits in its buffer */
        status[ndone] = NicCopyFrame(ext, ext->RxNext, waiting, &info[ndone]);
        done[ndone++] = waiting;
        ext->RxNext = (ext->RxNext + 1) % NICDRV_RING;
    }
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);

    if (sent != NULL) {
        IoStartNextPacket(DeviceObject, FALSE);
        NicFinish(ext, sent, STATUS_SUCCESS, MmGetMdlByteCount(sent->MdlAddress));
    }
    for (i = 0; i < ndone; i++)
        NicFinish(ext, done[i], status[i], info[i]);
}

/* ---- receive requests ---------------------------------------------------------------------- */

_Use_decl_annotations_ VOID NicCancelReceive(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    KIRQL irql;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&ext->Lock, &irql);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&ext->Lock, irql);
    NicFinish(ext, Irp, STATUS_CANCELLED, 0);
}

static NTSTATUS NicReceive(_In_ PNIC_EXTENSION ext, _Inout_ PIRP Irp)
{
    ULONG_PTR info = 0;
    NTSTATUS status;
    KIRQL irql;
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (!ext->Started) {
        KeReleaseSpinLock(&ext->Lock, irql);
        NicFinish(ext, Irp, STATUS_DEVICE_NOT_READY, 0);
        return STATUS_DEVICE_NOT_READY;
    }
    if (IsListEmpty(&ext->ReceiveQueue) && (ext->RxRing[ext->RxNext].Status & NICDRV_DESC_DONE)) {
        status = NicCopyFrame(ext, ext->RxNext, Irp, &info);
        ext->RxNext = (ext->RxNext + 1) % NICDRV_RING;
        KeReleaseSpinLock(&ext->Lock, irql);
        NicFinish(ext, Irp, status, info);
        return status;
    }
    IoMarkIrpPending(Irp);
    InsertTailList(&ext->ReceiveQueue, &Irp->Tail.Overlay.ListEntry);
    (void)IoSetCancelRoutine(Irp, NicCancelReceive);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
        KeReleaseSpinLock(&ext->Lock, irql);
        NicFinish(ext, Irp, STATUS_CANCELLED, 0);
        return STATUS_PENDING;
    }
    KeReleaseSpinLock(&ext->Lock, irql);
    return STATUS_PENDING;
}

/* Completes the waiting receive requests of @File (all of them for NULL) with @Status. */
static VOID NicFlushReceives(_In_ PNIC_EXTENSION ext, _In_opt_ PFILE_OBJECT File,
                             _In_ NTSTATUS Status)
{
    LIST_ENTRY flushed;
    PLIST_ENTRY entry, next;
    KIRQL irql;
    InitializeListHead(&flushed);
    KeAcquireSpinLock(&ext->Lock, &irql);
    for (entry = ext->ReceiveQueue.Flink; entry != &ext->ReceiveQueue; entry = next) {
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
        next = entry->Flink;
        if (File != NULL && IoGetCurrentIrpStackLocation(irp)->FileObject != File)
            continue;
        if (IoSetCancelRoutine(irp, NULL) == NULL)
            continue; /* its cancel routine takes it out */
        RemoveEntryList(entry);
        InsertTailList(&flushed, entry);
    }
    KeReleaseSpinLock(&ext->Lock, irql);
    while (!IsListEmpty(&flushed))
        NicFinish(ext, CONTAINING_RECORD(RemoveHeadList(&flushed), IRP, Tail.Overlay.ListEntry),
                  Status, 0);
}

/* ---- dispatch -------------------------------------------------------------------------------- */

_Use_decl_annotations_ NTSTATUS NicCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return NicComplete(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ NTSTATUS NicCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    NicFlushReceives(DeviceObject->DeviceExtension, IoGetCurrentIrpStackLocation(Irp)->FileObject,
                     STATUS_CANCELLED);
    return NicComplete(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ NTSTATUS NicDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG outLen = sl->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG frame;
    KIRQL irql;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return NicComplete(Irp, status, 0);
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_NICDRV_SEND:
        frame = Irp->MdlAddress != NULL ? MmGetMdlByteCount(Irp->MdlAddress) : 0;
        if (frame < NICDRV_MIN_FRAME || frame > NicMaxFrame) {
            NicFinish(ext, Irp, STATUS_INVALID_BUFFER_SIZE, 0);
            return STATUS_INVALID_BUFFER_SIZE;
        }
        if (!ext->Started || ext->PoweredDown) {
            NicFinish(ext, Irp, STATUS_DEVICE_NOT_READY, 0);
            return STATUS_DEVICE_NOT_READY;
        }
        IoMarkIrpPending(Irp);
        IoStartPacket(DeviceObject, Irp, NULL, NULL);
        return STATUS_PENDING;
    case IOCTL_NICDRV_RECEIVE:
        if (outLen < NICDRV_MIN_FRAME) {
            NicFinish(ext, Irp, STATUS_BUFFER_TOO_SMALL, 0);
            return STATUS_BUFFER_TOO_SMALL;
        }
        return NicReceive(ext, Irp);
    case IOCTL_NICDRV_STATS:
        if (outLen < sizeof(NICDRV_STATS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        KeAcquireSpinLock(&ext->Lock, &irql);
        if (ext->Started)
            ext->Stats.RxDrops = READ_REGISTER_ULONG(REG32(ext, NICDRV_REG_RX_DROPS));
        *(PNICDRV_STATS)Irp->AssociatedIrp.SystemBuffer = ext->Stats;
        KeReleaseSpinLock(&ext->Lock, irql);
        NicFinish(ext, Irp, STATUS_SUCCESS, sizeof(NICDRV_STATS));
        return STATUS_SUCCESS;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    NicFinish(ext, Irp, status, 0);
    return status;
}

/* ---- PnP, power, WMI ------------------------------------------------------------------------ */

static NTSTATUS NicStartHardware(_In_ PNIC_EXTENSION ext, _In_opt_ PCM_RESOURCE_LIST Resources)
{
    PCM_PARTIAL_RESOURCE_LIST list;
    PHYSICAL_ADDRESS base, ringLa;
    ULONG length = 0, vector = 0, i, mapRegisters = 0, macLo, macHi;
    KIRQL irql = 0;
    KAFFINITY affinity = 0;
    KINTERRUPT_MODE mode = LevelSensitive;
    BOOLEAN haveInterrupt = FALSE, shared = FALSE;
    DEVICE_DESCRIPTION dd;
    DMA_ADAPTER_INFO info;
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
        } else if (d->Type == CmResourceTypeInterrupt && !haveInterrupt) {
            haveInterrupt = TRUE;
            irql = (KIRQL)d->u.Interrupt.Level;
            vector = d->u.Interrupt.Vector;
            affinity = d->u.Interrupt.Affinity;
            mode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
            shared = d->ShareDisposition == CmResourceShareShared;
        }
    }
    if (length < NICDRV_WINDOW || !haveInterrupt)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    ext->Regs = MmMapIoSpace(base, length, MmNonCached);
    if (ext->Regs == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ext->RegsLength = length;
    if (READ_REGISTER_ULONG(REG32(ext, NICDRV_REG_ID)) != NICDRV_ID)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_CTRL), NICDRV_CTRL_RESET);

    RtlZeroMemory(&dd, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION3;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.Dma64BitAddresses = TRUE;
    dd.DmaAddressWidth = 64;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = NICDRV_MAX_FRAME;
    ext->Adapter = IoGetDmaAdapter(ext->Pdo, &dd, &mapRegisters);
    if (ext->Adapter == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(&info, sizeof info);
    info.Version = DMA_ADAPTER_INFO_VERSION1;
    status = ext->Adapter->DmaOperations->GetDmaAdapterInfo(ext->Adapter, &info);
    if (!NT_SUCCESS(status))
        return status;
    ext->Common = ext->Adapter->DmaOperations->AllocateCommonBuffer(ext->Adapter, NIC_COMMON_BYTES,
                                                                    &ext->CommonLa, FALSE);
    if (ext->Common == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(ext->Common, NIC_COMMON_BYTES);
    ext->TxRing = (volatile NICDRV_DESC *)ext->Common;
    ext->RxRing = (volatile NICDRV_DESC *)(ext->Common + NIC_RXRING_OFF);
    for (i = 0; i < NICDRV_RING; i++) {
        ext->RxRing[i].Address =
            (ULONGLONG)ext->CommonLa.QuadPart + NIC_RXBUF_OFF + (ULONGLONG)i * NICDRV_RX_BUFFER;
        ext->RxRing[i].Length = NICDRV_RX_BUFFER;
        ext->RxRing[i].Status = 0;
    }
    ext->TxTail = ext->RxNext = 0;
    WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_TXRING_LO), ext->CommonLa.LowPart);
    WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_TXRING_HI), (ULONG)ext->CommonLa.HighPart);
    ringLa.QuadPart = ext->CommonLa.QuadPart + (LONGLONG)NIC_RXRING_OFF;
    WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_RXRING_LO), ringLa.LowPart);
    WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_RXRING_HI), (ULONG)ringLa.HighPart);
    macLo = READ_REGISTER_ULONG(REG32(ext, NICDRV_REG_MAC_LO));
    macHi = READ_REGISTER_ULONG(REG32(ext, NICDRV_REG_MAC_HI));

    status = IoConnectInterrupt(&ext->Interrupt, NicIsr, ext, NULL, vector, irql, irql, mode,
                                shared, affinity, FALSE);
    if (!NT_SUCCESS(status)) {
        ext->Interrupt = NULL;
        return status;
    }
    KeAcquireSpinLock(&ext->Lock, &old);
    for (i = 0; i < 4; i++)
        ext->Stats.Mac[i] = (UCHAR)(macLo >> (8 * i));
    ext->Stats.Mac[4] = (UCHAR)macHi;
    ext->Stats.Mac[5] = (UCHAR)(macHi >> 8);
    ext->Stats.AddressBits = info.V1.DmaAddressWidth;
    ext->Stats.MaxFrame = NicMaxFrame;
    ext->Started = TRUE;
    KeReleaseSpinLock(&ext->Lock, old);
    WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_CTRL), NICDRV_CTRL_ENABLE | NICDRV_CTRL_INT_EN);
    DbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_INFO_LEVEL,
               "nicdrv: %02x-%02x-%02x-%02x-%02x-%02x, %lu address bits, %lu map registers\n",
               ext->Stats.Mac[0], ext->Stats.Mac[1], ext->Stats.Mac[2], ext->Stats.Mac[3],
               ext->Stats.Mac[4], ext->Stats.Mac[5], info.V1.DmaAddressWidth, mapRegisters);
    return STATUS_SUCCESS;
}

static VOID NicStopHardware(_In_ PNIC_EXTENSION ext)
{
    KIRQL old;
    KeAcquireSpinLock(&ext->Lock, &old);
    ext->Started = FALSE;
    KeReleaseSpinLock(&ext->Lock, old);
    NicFlushReceives(ext, NULL, STATUS_NO_SUCH_DEVICE);
    if (ext->Regs != NULL)
        WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_CTRL), NICDRV_CTRL_RESET);
    if (ext->Interrupt != NULL) {
        IoDisconnectInterrupt(ext->Interrupt);
        ext->Interrupt = NULL;
    }
    KeFlushQueuedDpcs();
    if (ext->Common != NULL)
        ext->Adapter->DmaOperations->FreeCommonBuffer(ext->Adapter, NIC_COMMON_BYTES, ext->CommonLa,
                                                      ext->Common, FALSE);
    ext->Common = NULL;
    ext->TxRing = ext->RxRing = NULL;
    if (ext->Adapter != NULL)
        ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
    ext->Adapter = NULL;
    if (ext->Regs != NULL)
        MmUnmapIoSpace(ext->Regs, ext->RegsLength);
    ext->Regs = NULL;
}

static NTSTATUS NicPassDown(_In_ PNIC_EXTENSION ext, _Inout_ PIRP Irp)
{
    NTSTATUS status;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS NicDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
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
        if (NT_SUCCESS(status)) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, TRUE);
            (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_REGISTER);
        } else {
            NicStopHardware(ext);
        }
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
        (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_DEREGISTER);
        if (ext->InterfaceName.Buffer != NULL) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, FALSE);
            RtlFreeUnicodeString(&ext->InterfaceName);
        }
        if (ext->LinkCreated) {
            UNICODE_STRING link = RTL_CONSTANT_STRING(NICDRV_DOS_NAME);
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
        return NicPassDown(ext, Irp);
    }
}

/* ---- power: the FDO owns its stack's power policy ------------------------------------------ */

/* The device power IRP this driver asked for is done: the system IRP completes with its status. */
_Use_decl_annotations_ VOID NicDevicePowerDone(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction,
                                               POWER_STATE PowerState, PVOID Context,
                                               PIO_STATUS_BLOCK IoStatus)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    PIRP systemIrp = Context;
    UNREFERENCED_PARAMETER(MinorFunction);
    UNREFERENCED_PARAMETER(PowerState);
    systemIrp->IoStatus.Status = IoStatus->Status;
    PoStartNextPowerIrp(systemIrp);
    IoCompleteRequest(systemIrp, IO_NO_INCREMENT);
    IoReleaseRemoveLock(&ext->RemoveLock, systemIrp);
}

/* A system set-power IRP is back up from the bus: ask for the matching device state. */
_Use_decl_annotations_ NTSTATUS NicSystemPowerPassed(PDEVICE_OBJECT DeviceObject, PIRP Irp,
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

/* Back in D0: the device lost its state; program the rings again (frames in them are lost). */
_Use_decl_annotations_ NTSTATUS NicDevicePowerUp(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                 PVOID Context)
{
    PNIC_EXTENSION ext = Context;
    PHYSICAL_ADDRESS ringLa;
    POWER_STATE d0;
    ULONG i;
    KIRQL old;
    d0.DeviceState = PowerDeviceD0;
    KeAcquireSpinLock(&ext->Lock, &old);
    if (ext->Started && ext->Common != NULL) {
        for (i = 0; i < NICDRV_RING; i++)
            ext->RxRing[i].Status = 0;
        ext->RxNext = 0;
        ext->TxTail = 0;
        WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_TXRING_LO), ext->CommonLa.LowPart);
        WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_TXRING_HI), (ULONG)ext->CommonLa.HighPart);
        ringLa.QuadPart = ext->CommonLa.QuadPart + (LONGLONG)NIC_RXRING_OFF;
        WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_RXRING_LO), ringLa.LowPart);
        WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_RXRING_HI), (ULONG)ringLa.HighPart);
        WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_CTRL), NICDRV_CTRL_ENABLE | NICDRV_CTRL_INT_EN);
    }
    ext->PoweredDown = FALSE;
    ext->Stats.PowerUps++;
    KeReleaseSpinLock(&ext->Lock, old);
    (void)PoSetPowerState(DeviceObject, DevicePowerState, d0);
    PoStartNextPowerIrp(Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ NTSTATUS NicDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    KIRQL old;
    if (!NT_SUCCESS(status)) {
        PoStartNextPowerIrp(Irp);
        return NicComplete(Irp, status, 0);
    }
    if (sl->MinorFunction == IRP_MN_SET_POWER) {
        PIO_COMPLETION_ROUTINE then = NULL;
        if (sl->Parameters.Power.Type == SystemPowerState)
            then = NicSystemPowerPassed;
        else if (sl->Parameters.Power.State.DeviceState == PowerDeviceD0)
            then = NicDevicePowerUp;
        if (then != NULL) { /* on the way back up from the bus */
            IoMarkIrpPending(Irp);
            IoCopyCurrentIrpStackLocationToNext(Irp);
            IoSetCompletionRoutine(Irp, then, ext, TRUE, TRUE, TRUE);
            (void)PoCallDriver(ext->Lower, Irp);
            return STATUS_PENDING;
        }
        /* D1..D3: the device stops before the bus powers it down */
        KeAcquireSpinLock(&ext->Lock, &old);
        ext->PoweredDown = TRUE;
        ext->Stats.PowerDowns++;
        if (ext->Started && ext->Regs != NULL)
            WRITE_REGISTER_ULONG(REG32(ext, NICDRV_REG_CTRL), NICDRV_CTRL_RESET);
        KeReleaseSpinLock(&ext->Lock, old);
        (void)PoSetPowerState(DeviceObject, DevicePowerState, sl->Parameters.Power.State);
    }
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS NicSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNIC_EXTENSION ext = DeviceObject->DeviceExtension;
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

_Use_decl_annotations_ NTSTATUS NicAddDevice(PDRIVER_OBJECT DriverObject,
                                             PDEVICE_OBJECT PhysicalDeviceObject)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(NICDRV_DEVICE_NAME);
    UNICODE_STRING link = RTL_CONSTANT_STRING(NICDRV_DOS_NAME);
    PDEVICE_OBJECT fdo;
    PNIC_EXTENSION ext;
    NTSTATUS status;

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
    InitializeListHead(&ext->ReceiveQueue);
    IoInitializeRemoveLock(&ext->RemoveLock, NIC_TAG, 0, 0);
    IoInitializeDpcRequest(fdo, NicDpcForIsr);
    status = IoRegisterDeviceInterface(PhysicalDeviceObject, &GUID_DEVINTERFACE_NICDRV, NULL,
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

_Use_decl_annotations_ VOID NicUnload(PDRIVER_OBJECT DriverObject)
{
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_ NTSTATUS NicDriverEntry(PDRIVER_OBJECT DriverObject,
                                               PUNICODE_STRING RegistryPath)
{
    RTL_QUERY_REGISTRY_TABLE table[2];
    UNICODE_STRING parameters;
    WCHAR buffer[160];
    ULONG maxFrame = NICDRV_MAX_FRAME, defMax = NICDRV_MAX_FRAME;
    NTSTATUS status;

    /* <RegistryPath>\Parameters, NUL-terminated for RtlQueryRegistryValues */
    RtlInitEmptyUnicodeString(&parameters, buffer, sizeof buffer - sizeof(WCHAR));
    status = RtlAppendUnicodeStringToString(&parameters, RegistryPath);
    if (NT_SUCCESS(status))
        status = RtlAppendUnicodeToString(&parameters, L"\\Parameters");
    if (!NT_SUCCESS(status))
        return status;
    buffer[parameters.Length / sizeof(WCHAR)] = UNICODE_NULL;
    RtlZeroMemory(table, sizeof table);
    table[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    table[0].Name = NICDRV_REG_MAX_FRAME;
    table[0].EntryContext = &maxFrame;
    table[0].DefaultType = REG_DWORD;
    table[0].DefaultData = &defMax;
    table[0].DefaultLength = sizeof defMax;
    if (!NT_SUCCESS(
            RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, parameters.Buffer, table, NULL, NULL)) ||
        maxFrame < NICDRV_MIN_FRAME || maxFrame > NICDRV_MAX_FRAME)
        maxFrame = NICDRV_MAX_FRAME;
    NicMaxFrame = maxFrame;

    DriverObject->MajorFunction[IRP_MJ_CREATE] = NicCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = NicCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = NicCleanup;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = NicDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = NicDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = NicDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = NicSystemControl;
    DriverObject->DriverStartIo = NicStartIo;
    DriverObject->DriverUnload = NicUnload;
    DriverObject->DriverExtension->AddDevice = NicAddDevice;
    return STATUS_SUCCESS;
}
