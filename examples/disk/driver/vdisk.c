/* SPDX-License-Identifier: MIT */
/*
 * vdisk.c - a PnP function driver for the VDC-2 disk controller (vdc.h): two
 * units (disks) behind one set of registers, one interrupt line and one
 * bus-master DMA engine without scatter/gather.
 *
 * The controller is the PnP device: AddDevice attaches the controller's FDO
 * to its PDO and creates one named device object per unit (\Device\VDisk0,
 * \Device\VDisk1), which programs open and read or write with direct I/O.
 * A request goes
 *
 *   dispatch (IoStartPacket) -> StartIo -> IoAllocateController -> ControllerControl
 *   -> AllocateAdapterChannel -> AdapterControl -> MapTransfer + program (SynchCritSection)
 *   -> ISR -> DpcForIsr: FlushAdapterBuffers, then the next piece (MapTransfer + program)
 *      or FreeAdapterChannel, IoFreeController, IoStartNextPacket, IoCompleteRequest
 *
 * The controller object serialises the units (one command at a time on the
 * shared registers); the adapter's few map registers split a large request
 * into pieces. A piece that fails (DMA error, short transfer) or whose
 * interrupt never comes (the watchdog timer DPC) is logged and programmed
 * again, up to VDISK_MAX_RETRIES times.
 *
 * The units are not in the PnP stack: the driver refuses a stop (it does
 * not hold requests) and a removal query while a unit is open; a surprise
 * removal halts the controller and ends every request in flight or queued
 * with STATUS_NO_SUCH_DEVICE before the hardware is given back; each unit
 * has its own remove lock, as its device object may outlive the controller.
 *
 * Written as for Windows: <ntddk.h> and the driver's own headers, SAL on
 * every routine, alloc_text pragmas, remove locks. No simulator name
 * appears here. Broken variants (examples/disk/sim.c) are switched in with
 * BROKEN_<NAME>.
 */
#include <ntddk.h>
#include "vdc.h"
#include "vdisk.h"

#define VDISK_TAG 'ksDV'

typedef enum _PIECE_STATE {
    PieceIdle = 0, /* no command on the controller */
    PieceRunning,  /* programmed; the ISR or the watchdog takes it */
    PieceDone      /* the ISR took its interrupt; the unit's DpcForIsr takes it */
} PIECE_STATE;

/* The controller's PnP state, as the dispatch routines see it. */
typedef enum _CONTROLLER_STATE {
    StateStopped = 0,    /* not started yet, stopped, or removed: requests fail */
    StateStarted,        /* requests are taken */
    StateRemovePending,  /* a removal query succeeded (no unit open): opens fail until the cancel */
    StateSurpriseRemoved /* the hardware is gone: requests fail with STATUS_NO_SUCH_DEVICE */
} CONTROLLER_STATE;

typedef struct _VDISK_UNIT VDISK_UNIT, *PVDISK_UNIT;

/* The controller's FDO extension. */
typedef struct _VDISK_CONTROLLER {
    BOOLEAN IsUnit; /* FALSE: both extensions start with it */
    PDEVICE_OBJECT Self, Pdo, Lower;
    IO_REMOVE_LOCK RemoveLock; /* the PnP and power IRPs of the FDO */
    PCONTROLLER_OBJECT Controller;
    PDEVICE_OBJECT Units[VDC_UNITS];
    PUCHAR Regs;
    SIZE_T RegsLength;
    PKINTERRUPT Interrupt;
    PDMA_ADAPTER Adapter;
    ULONG MapRegisters;
    KTIMER Watchdog; /* one command at a time: one watchdog */
    KDPC WatchdogDpc;
    KSPIN_LOCK Lock;
    CONTROLLER_STATE State; /* Lock */
    LONG Active;            /* Lock: read/write requests taken and not yet completed */
    LONG Opens;             /* Lock: handles open on the units */
    KEVENT Idle;            /* signalled while Active is 0: what a stop waits for */
    /* the interrupt's lock (KeSynchronizeExecution, the ISR) */
    PIECE_STATE PieceState;
    PVDISK_UNIT ActiveUnit;
    ULONG IsrStatus, IsrXferred;
    ULONGLONG Deadline; /* interrupt time the watchdog gives the running piece */
    ULONG Spurious;
    BOOLEAN Halted;      /* removed (or the start failed): no piece is programmed any more */
    NTSTATUS HaltStatus; /* set with Halted: what a request ends with that finds it */
} VDISK_CONTROLLER, *PVDISK_CONTROLLER;

/* A unit's device extension. It outlives the controller's: Windows deletes a device object
 * only when its last handle is closed, and a program may still send requests on a handle
 * opened before the removal. They reach only the unit's remove lock, which fails them. */
struct _VDISK_UNIT {
    BOOLEAN IsUnit; /* TRUE */
    PDEVICE_OBJECT Self;
    IO_REMOVE_LOCK RemoveLock; /* each request on the unit, until it is completed */
    PVDISK_CONTROLLER Ctl;
    ULONG Unit;
    ULONGLONG Sectors;
    BOOLEAN LinkCreated;
    KSPIN_LOCK Lock;
    VDISK_INFO Stats; /* Lock (Unit, BytesPerSector, Sectors, MapRegisters: constant) */
    /* the request in progress: StartIo .. its completion, one at a time per unit */
    PIRP Irp;
    PMDL Mdl;
    PVOID MapRegisterBase;
    PUCHAR CurrentVa;
    ULONG Remaining;
    ULONGLONG Sector;
    BOOLEAN WriteToDevice;
    ULONG PieceLength;
    ULONG Attempts; /* of the current piece, after the first */
    PHYSICAL_ADDRESS PieceAddress;
    ULONGLONG Deadline;
};

/* What a SynchCritSection routine takes over from the ISR. */
typedef struct _PIECE_TAKE {
    PVDISK_CONTROLLER Ctl;
    PVDISK_UNIT Unit;
    ULONGLONG Now;
    ULONG Status, Xferred;
    BOOLEAN Taken;
    NTSTATUS EndStatus; /* DiskHalt: what the requests in flight end with; DiskTakeDone: that,
                           for a piece DiskProgram did not start, else STATUS_SUCCESS */
} PIECE_TAKE, *PPIECE_TAKE;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE DiskAddDevice;
static DRIVER_UNLOAD DiskUnload;
static DRIVER_STARTIO DiskStartIo;
static DRIVER_CONTROL DiskControllerControl;
static DRIVER_CONTROL DiskAdapterControl;
static _Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH DiskCreateClose;
static _Dispatch_type_(IRP_MJ_READ) _Dispatch_type_(IRP_MJ_WRITE) DRIVER_DISPATCH DiskReadWrite;
static _Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH DiskDeviceControl;
static _Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH DiskDispatchPnp;
static _Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH DiskDispatchPower;
static _Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH DiskSystemControl;
static KSERVICE_ROUTINE DiskIsr;
static IO_DPC_ROUTINE DiskDpcForIsr;
static KDEFERRED_ROUTINE DiskWatchdogDpc;
static KSYNCHRONIZE_ROUTINE DiskProgram;
static KSYNCHRONIZE_ROUTINE DiskTakeDone;
static KSYNCHRONIZE_ROUTINE DiskTakeTimeout;
static KSYNCHRONIZE_ROUTINE DiskEnable;
static KSYNCHRONIZE_ROUTINE DiskHalt;
static KSYNCHRONIZE_ROUTINE DiskReadSpurious;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, DiskAddDevice)
#pragma alloc_text(PAGE, DiskDispatchPnp)
#pragma alloc_text(PAGE, DiskSystemControl)
#pragma alloc_text(PAGE, DiskUnload)
#endif

#define REG(ctl, off) ((PULONG)((ctl)->Regs + (off)))

/* What an open or a request ends with when the controller is not started. */
static NTSTATUS DiskRefusal(_In_ CONTROLLER_STATE state)
{
    if (state == StateSurpriseRemoved)
        return STATUS_NO_SUCH_DEVICE; /* the hardware is gone */
    if (state == StateRemovePending)
        return STATUS_DELETE_PENDING;
    return STATUS_DEVICE_NOT_READY; /* not started yet, or the start failed */
}

static NTSTATUS DiskComplete(_Inout_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_DISK_INCREMENT);
    return Status;
}

/* ---- the transfer ---------------------------------------------------------------------------- */

/* G1/G7: the registers are shared with the ISR (and with the other unit), so each piece is
 * programmed inside the interrupt's lock, together with the state the ISR reads. On a halted
 * controller (removal, surprise removal) the piece is not started: it is left done for the unit's
 * DpcForIsr, which ends the request. Not here: the caller may be AdapterControl, which must
 * not free the adapter channel it is being given, nor complete the IRP it holds it for. */
_Use_decl_annotations_ BOOLEAN DiskProgram(PVOID SynchronizeContext)
{
    PVDISK_UNIT unit = SynchronizeContext;
    PVDISK_CONTROLLER ctl = unit->Ctl;
    if (ctl->Halted) {
        ctl->ActiveUnit = unit;
        ctl->PieceState = PieceDone;
        IoRequestDpc(unit->Self, unit->Self->CurrentIrp, NULL);
        return FALSE;
    }
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_UNIT), unit->Unit);
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_SECTOR_LO), (ULONG)unit->Sector);
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_SECTOR_HI), (ULONG)(unit->Sector >> 32));
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_COUNT), unit->PieceLength / VDC_SECTOR);
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_ADDR_LO), unit->PieceAddress.LowPart);
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_ADDR_HI), (ULONG)unit->PieceAddress.HighPart);
    ctl->ActiveUnit = unit;
    ctl->Deadline = unit->Deadline;
    ctl->PieceState = PieceRunning;
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_COMMAND),
                         unit->WriteToDevice ? VDC_CMD_WRITE : VDC_CMD_READ);
    return TRUE;
}

/* G7/G11: maps as much of the rest as MapTransfer will (at most what the map registers take),
 * arms the watchdog and starts the controller on it. Called at DISPATCH_LEVEL holding the
 * controller object and the adapter channel. */
static VOID DiskMapAndProgram(_Inout_ PVDISK_UNIT unit)
{
    PVDISK_CONTROLLER ctl = unit->Ctl;
    LARGE_INTEGER due;
    ULONG room = ctl->MapRegisters * PAGE_SIZE - BYTE_OFFSET(unit->CurrentVa);
    ULONG length = unit->Remaining < room ? unit->Remaining : room;
    unit->PieceAddress =
        ctl->Adapter->DmaOperations->MapTransfer(ctl->Adapter, unit->Mdl, unit->MapRegisterBase,
                                                 unit->CurrentVa, &length, unit->WriteToDevice);
    /* MapTransfer may map less than asked (it stops where the map registers or a physically
     * contiguous run end): the piece is what it mapped. That is whole sectors because the
     * buffer is sector aligned (DiskReadWrite): every page boundary is a sector boundary. */
    ASSERT(length != 0 && (length % VDC_SECTOR) == 0);
    unit->PieceLength = length;
    KeAcquireSpinLockAtDpcLevel(&unit->Lock); /* G4: already at DISPATCH_LEVEL */
    unit->Stats.Pieces++;
    KeReleaseSpinLockFromDpcLevel(&unit->Lock);
    /* A lost interrupt would leave the request (and the other unit) waiting for ever: the
     * watchdog gives each piece VDISK_WATCHDOG_MS, then aborts and retries it. */
    unit->Deadline = KeQueryInterruptTime() + (ULONGLONG)VDISK_WATCHDOG_MS * 10000u;
    due.QuadPart = -(LONGLONG)VDISK_WATCHDOG_MS * 10000;
    (void)KeSetTimer(&ctl->Watchdog, due, &ctl->WatchdogDpc);
    (void)KeSynchronizeExecution(ctl->Interrupt, DiskProgram, unit);
}

/* G13: one entry per failed piece, with the retry count and the sector. */
static VOID DiskLogError(_In_ PVDISK_UNIT unit, _In_ BOOLEAN timedOut, _In_ ULONG status,
                         _In_ ULONG xferred, _In_ NTSTATUS finalStatus)
{
    PIO_ERROR_LOG_PACKET e = IoAllocateErrorLogEntry(
        unit->Self, (UCHAR)(sizeof(IO_ERROR_LOG_PACKET) + sizeof(ULONG))); /* DumpData[2] */
    if (e == NULL)
        return; /* the log is best effort: the request goes on */
    e->ErrorCode = timedOut ? IO_ERR_TIMEOUT : IO_ERR_CONTROLLER_ERROR; /* <ntiologc.h> */
    e->MajorFunctionCode = unit->WriteToDevice ? IRP_MJ_WRITE : IRP_MJ_READ;
    e->RetryCount = (UCHAR)unit->Attempts;
    e->UniqueErrorValue = unit->Unit;
    e->FinalStatus = finalStatus;
    e->DeviceOffset.QuadPart = (LONGLONG)(unit->Sector * VDC_SECTOR);
    e->DumpDataSize = 2 * sizeof(ULONG);
    e->DumpData[0] = status;
    e->DumpData[1] = xferred;
    IoWriteErrorLogEntry(e);
}

/* A read or write was completed: one request less for a stop to wait for. The unit's remove
 * lock goes last: once it is released, a removal may go on and delete the controller. */
static VOID DiskRequestDone(_In_ PVDISK_UNIT unit, _In_ PIRP Irp)
{
    PVDISK_CONTROLLER ctl = unit->Ctl;
    KeAcquireSpinLockAtDpcLevel(&ctl->Lock);
    if (--ctl->Active == 0)
        (void)KeSetEvent(&ctl->Idle, IO_NO_INCREMENT, FALSE);
    KeReleaseSpinLockFromDpcLevel(&ctl->Lock);
    IoReleaseRemoveLock(&unit->RemoveLock, Irp);
}

/* G6/G11/G12: everything the request held goes back before it is completed, once. */
static VOID DiskFinish(_Inout_ PVDISK_UNIT unit, _In_ NTSTATUS status)
{
    PVDISK_CONTROLLER ctl = unit->Ctl;
    PIRP irp = unit->Irp;
    ULONG total = MmGetMdlByteCount(unit->Mdl);
    unit->Irp = NULL;
#if !defined(BROKEN_WATCHDOG_LEFT_SET)
    (void)KeCancelTimer(&ctl->Watchdog); /* G8: nothing left to watch */
#endif
    KeAcquireSpinLockAtDpcLevel(&unit->Lock);
    if (NT_SUCCESS(status)) {
        unit->Stats.Requests++;
        unit->Stats.Bytes += total;
    } else {
        unit->Stats.Failed++;
    }
    KeReleaseSpinLockFromDpcLevel(&unit->Lock);
#if !defined(BROKEN_COMPLETE_HOLDING_ADAPTER)
    ctl->Adapter->DmaOperations->FreeAdapterChannel(ctl->Adapter); /* G11 */
#endif
#if !defined(BROKEN_COMPLETE_HOLDING_CONTROLLER)
    IoFreeController(ctl->Controller); /* G12: the other unit's request may start in here */
#endif
    IoStartNextPacket(unit->Self, FALSE); /* G6: the unit's next request */
    DiskComplete(irp, status, NT_SUCCESS(status) ? total : 0);
#if defined(BROKEN_COMPLETE_HOLDING_ADAPTER)
    ctl->Adapter->DmaOperations->FreeAdapterChannel(ctl->Adapter);
#endif
#if defined(BROKEN_COMPLETE_HOLDING_CONTROLLER)
    IoFreeController(ctl->Controller);
#endif
    DiskRequestDone(unit, irp);
}

/* G11: every transfer ends with FlushAdapterBuffers, whatever became of it: the same range
 * MapTransfer mapped, in the transfer's direction (a read: WriteToDevice FALSE, so that the
 * data the device wrote is in the caller's pages before the request is completed). */
static VOID DiskFlushPiece(_In_ PVDISK_UNIT unit)
{
#if !defined(BROKEN_NO_FLUSH)
    (void)unit->Ctl->Adapter->DmaOperations->FlushAdapterBuffers(
        unit->Ctl->Adapter, unit->Mdl, unit->MapRegisterBase, unit->CurrentVa, unit->PieceLength,
        unit->WriteToDevice);
#else
    UNREFERENCED_PARAMETER(unit);
#endif
}

/* The controller was halted (removal) while this unit's piece was mapped: the piece is flushed
 * and the request ends with @status. Called by DiskStopHardware for the piece it took off the
 * controller, or by the DpcForIsr for a piece DiskProgram did not start. */
static VOID DiskAbandon(_Inout_ PVDISK_UNIT unit, _In_ NTSTATUS status)
{
    DiskFlushPiece(unit);
    DiskFinish(unit, status);
}

/* A piece ended: moved (@ok), failed, or timed out. The DpcForIsr or the watchdog DPC, whichever
 * took it from the ISR's state. */
static VOID DiskPieceDone(_Inout_ PVDISK_UNIT unit, _In_ BOOLEAN timedOut, _In_ ULONG status,
                          _In_ ULONG xferred)
{
    BOOLEAN ok = !timedOut && (status & VDC_ST_ERR) == 0 && xferred == unit->PieceLength;
    NTSTATUS final;
    DiskFlushPiece(unit);
    if (ok) {
        unit->CurrentVa += unit->PieceLength;
        unit->Sector += unit->PieceLength / VDC_SECTOR;
        unit->Remaining -= unit->PieceLength;
        unit->Attempts = 0;
        if (unit->Remaining > 0) {
            DiskMapAndProgram(unit); /* G7: the next piece, from the DPC */
            return;
        }
        DiskFinish(unit, STATUS_SUCCESS);
        return;
    }
    /* G13: log, retry the same piece while that can help, else fail the request. */
    final = timedOut ? STATUS_IO_TIMEOUT : STATUS_DEVICE_DATA_ERROR;
    DiskLogError(unit, timedOut, status, xferred,
                 unit->Attempts < VDISK_MAX_RETRIES ? STATUS_SUCCESS : final);
    KeAcquireSpinLockAtDpcLevel(&unit->Lock);
    if (timedOut)
        unit->Stats.Timeouts++;
    if (unit->Attempts < VDISK_MAX_RETRIES)
        unit->Stats.Retries++;
    KeReleaseSpinLockFromDpcLevel(&unit->Lock);
    if (unit->Attempts < VDISK_MAX_RETRIES) {
        unit->Attempts++;
        DiskMapAndProgram(unit);
        return;
    }
    DiskFinish(unit, final);
}

_Use_decl_annotations_ IO_ALLOCATION_ACTION DiskAdapterControl(PDEVICE_OBJECT DeviceObject,
                                                               PIRP Irp, PVOID MapRegisterBase,
                                                               PVOID Context)
{
    PVDISK_UNIT unit = Context;
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Irp);
    unit->MapRegisterBase = MapRegisterBase;
    DiskMapAndProgram(unit);
    return KeepObject; /* G11: the channel stays ours until the last piece is flushed */
}

_Use_decl_annotations_ IO_ALLOCATION_ACTION DiskControllerControl(PDEVICE_OBJECT DeviceObject,
                                                                  PIRP Irp, PVOID MapRegisterBase,
                                                                  PVOID Context)
{
    PVDISK_UNIT unit = Context;
    PVDISK_CONTROLLER ctl = unit->Ctl;
    ULONG pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(unit->CurrentVa, unit->Remaining);
    NTSTATUS status;
    UNREFERENCED_PARAMETER(MapRegisterBase);
#if !defined(BROKEN_NO_SPLIT)
    /* G11: never more map registers than IoGetDmaAdapter gave; the rest goes in pieces. */
    if (pages > ctl->MapRegisters)
        pages = ctl->MapRegisters;
#endif
    status = ctl->Adapter->DmaOperations->AllocateAdapterChannel(ctl->Adapter, DeviceObject, pages,
                                                                 DiskAdapterControl, unit);
    if (NT_SUCCESS(status))
        return KeepObject; /* G12: the controller too, until the request is done */
    unit->Irp = NULL;
    IoStartNextPacket(DeviceObject, FALSE);
    DiskComplete(Irp, status, 0);
    DiskRequestDone(unit, Irp);
    return DeallocateObject; /* freed as this returns: nothing held past the completion */
}

_Use_decl_annotations_ VOID DiskStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PVDISK_UNIT unit = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    unit->Irp = Irp;
    unit->WriteToDevice = sl->MajorFunction == IRP_MJ_WRITE;
    unit->Mdl = Irp->MdlAddress; /* direct I/O: the caller's pages, locked */
    unit->CurrentVa = MmGetMdlVirtualAddress(unit->Mdl);
    unit->Remaining = MmGetMdlByteCount(unit->Mdl);
    unit->Sector = (ULONGLONG)(unit->WriteToDevice ? sl->Parameters.Write.ByteOffset.QuadPart
                                                   : sl->Parameters.Read.ByteOffset.QuadPart) /
                   VDC_SECTOR;
    unit->Attempts = 0;
    KeFlushIoBuffers(unit->Mdl, !unit->WriteToDevice, TRUE);
    /* G12: both units share the registers: one of them at a time. */
    IoAllocateController(unit->Ctl->Controller, DeviceObject, DiskControllerControl, unit);
}

_Use_decl_annotations_ BOOLEAN DiskIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    PVDISK_CONTROLLER ctl = ServiceContext;
    PVDISK_UNIT unit;
    ULONG status;
    UNREFERENCED_PARAMETER(Interrupt);
    status = READ_REGISTER_ULONG(REG(ctl, VDC_REG_STATUS));
    if (status == MAXULONG || (status & (VDC_ST_DONE | VDC_ST_ERR)) == 0) {
        ctl->Spurious++;
        return FALSE; /* not our interrupt (or the device is gone) */
    }
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_STATUS), status & (VDC_ST_DONE | VDC_ST_ERR));
    if (ctl->PieceState != PieceRunning)
        return TRUE; /* acknowledged; nothing waits for it */
    unit = ctl->ActiveUnit;
    ctl->IsrStatus = status;
    ctl->IsrXferred = READ_REGISTER_ULONG(REG(ctl, VDC_REG_XFERRED));
    ctl->PieceState = PieceDone;
    IoRequestDpc(unit->Self, unit->Self->CurrentIrp, NULL); /* G18 */
    return TRUE;
}

/* G1: the DpcForIsr takes what the ISR left under the interrupt's lock. */
_Use_decl_annotations_ BOOLEAN DiskTakeDone(PVOID SynchronizeContext)
{
    PPIECE_TAKE t = SynchronizeContext;
    PVDISK_CONTROLLER ctl = t->Ctl;
    if (ctl->PieceState != PieceDone || ctl->ActiveUnit != t->Unit)
        return FALSE;
    ctl->PieceState = PieceIdle;
    t->Status = ctl->IsrStatus;
    t->Xferred = ctl->IsrXferred;
    t->Taken = TRUE;
    t->EndStatus = ctl->Halted ? ctl->HaltStatus : STATUS_SUCCESS; /* DiskProgram left it */
    return TRUE;
}

_Use_decl_annotations_ VOID DiskDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                          PVOID Context)
{
    PVDISK_UNIT unit = DeviceObject->DeviceExtension;
    PIECE_TAKE take;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Irp);
    UNREFERENCED_PARAMETER(Context);
    RtlZeroMemory(&take, sizeof take);
    take.Ctl = unit->Ctl;
    take.Unit = unit;
    (void)KeSynchronizeExecution(unit->Ctl->Interrupt, DiskTakeDone, &take);
    if (take.Taken && !NT_SUCCESS(take.EndStatus))
        DiskAbandon(unit, take.EndStatus);
    else if (take.Taken)
        DiskPieceDone(unit, FALSE, take.Status, take.Xferred);
}

/* The watchdog takes a running piece whose time is up: it stops the controller (no interrupt
 * comes for it after this) under the interrupt's lock. A piece the ISR already took is left
 * to the DpcForIsr; a later piece (the timer was set again) is not due yet. */
_Use_decl_annotations_ BOOLEAN DiskTakeTimeout(PVOID SynchronizeContext)
{
    PPIECE_TAKE t = SynchronizeContext;
    PVDISK_CONTROLLER ctl = t->Ctl;
    if (ctl->PieceState != PieceRunning || t->Now < ctl->Deadline)
        return FALSE;
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_COMMAND), VDC_CMD_ABORT);
    ctl->PieceState = PieceIdle;
    t->Unit = ctl->ActiveUnit;
    t->Taken = TRUE;
    return TRUE;
}

_Use_decl_annotations_ VOID DiskWatchdogDpc(PKDPC Dpc, PVOID DeferredContext, PVOID Arg1,
                                            PVOID Arg2)
{
    PVDISK_CONTROLLER ctl = DeferredContext;
    PIECE_TAKE take;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Arg1);
    UNREFERENCED_PARAMETER(Arg2);
    RtlZeroMemory(&take, sizeof take);
    take.Ctl = ctl;
    take.Now = KeQueryInterruptTime();
    if (ctl->Interrupt == NULL)
        return;
    (void)KeSynchronizeExecution(ctl->Interrupt, DiskTakeTimeout, &take);
    if (take.Taken)
        DiskPieceDone(take.Unit, TRUE, 0, 0);
}

/* ---- dispatch ---------------------------------------------------------------------------------- */

/* The units' opens are counted: the PnP manager sees no handle on them (they are not in the
 * controller's stack), so the driver refuses a removal query itself while one is open. */
_Use_decl_annotations_ NTSTATUS DiskCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PVDISK_UNIT unit = DeviceObject->DeviceExtension;
    BOOLEAN create = IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE;
    NTSTATUS status = STATUS_SUCCESS;
    KIRQL irql;
    if (!unit->IsUnit)
        return DiskComplete(Irp, STATUS_SUCCESS, 0);
    if (!NT_SUCCESS(IoAcquireRemoveLock(&unit->RemoveLock, Irp))) /* removed: no controller */
        return DiskComplete(Irp, create ? STATUS_DELETE_PENDING : STATUS_SUCCESS, 0);
    KeAcquireSpinLock(&unit->Ctl->Lock, &irql);
    if (!create)
        unit->Ctl->Opens--;
    else if (unit->Ctl->State == StateStarted)
        unit->Ctl->Opens++;
    else
        status = DiskRefusal(unit->Ctl->State);
    KeReleaseSpinLock(&unit->Ctl->Lock, irql);
    IoReleaseRemoveLock(&unit->RemoveLock, Irp);
    return DiskComplete(Irp, status, 0);
}

_Use_decl_annotations_ NTSTATUS DiskReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PVDISK_UNIT unit = DeviceObject->DeviceExtension;
    PVDISK_CONTROLLER ctl;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    BOOLEAN write = sl->MajorFunction == IRP_MJ_WRITE;
    ULONG length = write ? sl->Parameters.Write.Length : sl->Parameters.Read.Length;
    LONGLONG offset =
        write ? sl->Parameters.Write.ByteOffset.QuadPart : sl->Parameters.Read.ByteOffset.QuadPart;
    KIRQL irql;
    NTSTATUS status;

    if (!unit->IsUnit)
        return DiskComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    status = IoAcquireRemoveLock(&unit->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return DiskComplete(Irp, status, 0); /* removed: the controller may be gone */
    ctl = unit->Ctl;
    /* A request is taken only while the controller is started, and counted in the same hold
     * of the lock: a stop or a removal query sees every request it must wait for or refuse. */
    status = STATUS_PENDING;
    KeAcquireSpinLock(&ctl->Lock, &irql);
    if (ctl->State != StateStarted)
        status = DiskRefusal(ctl->State);
    else if (length == 0)
        status = STATUS_SUCCESS;
    else if (offset < 0 || (offset % VDC_SECTOR) != 0 || (length % VDC_SECTOR) != 0 ||
             Irp->MdlAddress == NULL ||
             ((ULONG_PTR)MmGetMdlVirtualAddress(Irp->MdlAddress) % VDC_SECTOR) != 0 ||
             (ULONGLONG)offset / VDC_SECTOR + length / VDC_SECTOR > unit->Sectors)
        status = STATUS_INVALID_PARAMETER; /* whole, sector-aligned sectors inside the disk */
    else if (ctl->Active++ == 0)
        KeClearEvent(&ctl->Idle);
    KeReleaseSpinLock(&ctl->Lock, irql);
    if (status != STATUS_PENDING) {
        IoReleaseRemoveLock(&unit->RemoveLock, Irp);
        return DiskComplete(Irp, status, 0);
    }
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, NULL); /* G6: StartIo takes them one at a time */
    return STATUS_PENDING;
}

_Use_decl_annotations_ BOOLEAN DiskReadSpurious(PVOID SynchronizeContext)
{
    PPIECE_TAKE t = SynchronizeContext;
    t->Status = t->Ctl->Spurious; /* G1: the ISR writes it */
    return TRUE;
}

/* The standard disk controls (<ntdddisk.h>): the geometry and the exact length of the unit. */
static NTSTATUS DiskAnswerGeometry(_In_ PVDISK_UNIT unit, _Inout_ PIRP Irp, _In_ ULONG Code,
                                   _In_ ULONG OutLength)
{
    ULONGLONG sectors;
    KIRQL irql;
    KeAcquireSpinLock(&unit->Lock, &irql); /* set at start */
    sectors = unit->Stats.Sectors;
    KeReleaseSpinLock(&unit->Lock, irql);
    if (Code == IOCTL_DISK_GET_LENGTH_INFO) {
        PGET_LENGTH_INFORMATION len = Irp->AssociatedIrp.SystemBuffer;
        if (OutLength < sizeof(GET_LENGTH_INFORMATION))
            return DiskComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        len->Length.QuadPart = (LONGLONG)(sectors * VDC_SECTOR);
        return DiskComplete(Irp, STATUS_SUCCESS, sizeof(GET_LENGTH_INFORMATION));
    } else {
        PDISK_GEOMETRY g = Irp->AssociatedIrp.SystemBuffer;
        if (OutLength < sizeof(DISK_GEOMETRY))
            return DiskComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        g->MediaType = FixedMedia;
        g->BytesPerSector = VDC_SECTOR;
        g->SectorsPerTrack = VDISK_SECTORS_PER_TRACK;
        g->TracksPerCylinder = VDISK_TRACKS_PER_CYLINDER;
        g->Cylinders.QuadPart =
            (LONGLONG)(sectors / (VDISK_SECTORS_PER_TRACK * VDISK_TRACKS_PER_CYLINDER));
        return DiskComplete(Irp, STATUS_SUCCESS, sizeof(DISK_GEOMETRY));
    }
}

_Use_decl_annotations_ NTSTATUS DiskDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PVDISK_UNIT unit = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG code = sl->Parameters.DeviceIoControl.IoControlCode;
    PVDISK_INFO info;
    PIECE_TAKE take;
    KIRQL irql;
    if (unit->IsUnit &&
        (code == IOCTL_DISK_GET_DRIVE_GEOMETRY || code == IOCTL_DISK_GET_LENGTH_INFO))
        return DiskAnswerGeometry(unit, Irp, code,
                                  sl->Parameters.DeviceIoControl.OutputBufferLength);
    if (!unit->IsUnit || code != IOCTL_VDISK_GET_INFO)
        return DiskComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (sl->Parameters.DeviceIoControl.OutputBufferLength < sizeof(VDISK_INFO))
        return DiskComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    info = Irp->AssociatedIrp.SystemBuffer;
    if (!NT_SUCCESS(IoAcquireRemoveLock(&unit->RemoveLock, Irp)))
        return DiskComplete(Irp, STATUS_DELETE_PENDING, 0); /* the controller may be gone */
    RtlZeroMemory(&take, sizeof take);
    take.Ctl = unit->Ctl;
    KeAcquireSpinLock(&unit->Lock, &irql); /* G2: the DPC updates them */
    *info = unit->Stats;
    KeReleaseSpinLock(&unit->Lock, irql);
    KeAcquireSpinLock(&unit->Ctl->Lock, &irql); /* the interrupt stays connected meanwhile */
    if (unit->Ctl->State == StateStarted || unit->Ctl->State == StateRemovePending)
        (void)KeSynchronizeExecution(unit->Ctl->Interrupt, DiskReadSpurious, &take);
    KeReleaseSpinLock(&unit->Ctl->Lock, irql);
    IoReleaseRemoveLock(&unit->RemoveLock, Irp);
    info->SpuriousInterrupts = take.Status;
    return DiskComplete(Irp, STATUS_SUCCESS, sizeof(VDISK_INFO));
}

/* ---- PnP, power ------------------------------------------------------------------------------ */

_Use_decl_annotations_ BOOLEAN DiskEnable(PVOID SynchronizeContext)
{
    PVDISK_CONTROLLER ctl = SynchronizeContext;
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_CONTROL), VDC_CTL_IE);
    return TRUE;
}

/* Interrupts off, the command in progress aborted, and no piece programmed after this one: a
 * piece running or done but not yet taken by the DpcForIsr is taken here (t->Unit), so that
 * neither the DpcForIsr nor the watchdog ends it too. */
_Use_decl_annotations_ BOOLEAN DiskHalt(PVOID SynchronizeContext)
{
    PPIECE_TAKE t = SynchronizeContext;
    PVDISK_CONTROLLER ctl = t->Ctl;
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_CONTROL), 0);
    WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_COMMAND), VDC_CMD_ABORT);
    ctl->Halted = TRUE;
    ctl->HaltStatus = t->EndStatus;
    if (ctl->PieceState != PieceIdle) {
        t->Unit = ctl->ActiveUnit;
        t->Taken = TRUE;
    }
    ctl->PieceState = PieceIdle;
    return TRUE;
}

static NTSTATUS DiskStartHardware(_Inout_ PVDISK_CONTROLLER ctl,
                                  _In_opt_ PCM_RESOURCE_LIST Resources)
{
    PCM_PARTIAL_RESOURCE_LIST list;
    PHYSICAL_ADDRESS regs;
    ULONG vector = 0, i;
    KIRQL irql = 0, old;
    KAFFINITY affinity = 0;
    KINTERRUPT_MODE mode = LevelSensitive;
    BOOLEAN haveInterrupt = FALSE, shared = FALSE;
    DEVICE_DESCRIPTION dd;
    NTSTATUS status;

    regs.QuadPart = 0;
    if (Resources == NULL || Resources->Count == 0)
        return STATUS_INSUFFICIENT_RESOURCES;
    list = &Resources->List[0].PartialResourceList;
    for (i = 0; i < list->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
        switch (d->Type) {
        case CmResourceTypeMemory:
            if (d->u.Memory.Length >= VDC_WINDOW && ctl->Regs == NULL) {
                regs = d->u.Memory.Start;
                ctl->RegsLength = d->u.Memory.Length;
                ctl->Regs = MmMapIoSpace(regs, ctl->RegsLength, MmNonCached);
            }
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
    if (ctl->Regs == NULL || !haveInterrupt)
        return STATUS_INSUFFICIENT_RESOURCES;

    /* A bus master without scatter/gather: each transfer is one logical range, so the map
     * registers bound a piece (16 of them: 64 KiB). */
    RtlZeroMemory(&dd, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION2;
    dd.Master = TRUE;
    dd.ScatterGather = FALSE;
    dd.Dma32BitAddresses = TRUE;
    dd.Dma64BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = 64 * 1024;
    ctl->Adapter = IoGetDmaAdapter(ctl->Pdo, &dd, &ctl->MapRegisters);
    if (ctl->Adapter == NULL || ctl->MapRegisters == 0)
        return STATUS_INSUFFICIENT_RESOURCES;

    /* The interrupt is not connected yet: the registers are ours alone. */
    for (i = 0; i < VDC_UNITS; i++) {
        PVDISK_UNIT unit = ctl->Units[i]->DeviceExtension;
        WRITE_REGISTER_ULONG(REG(ctl, VDC_REG_UNIT), i);
        unit->Sectors = READ_REGISTER_ULONG(REG(ctl, VDC_REG_CAPACITY));
        KeAcquireSpinLock(&unit->Lock, &old);
        unit->Stats.Sectors = unit->Sectors;
        unit->Stats.MapRegisters = ctl->MapRegisters;
        KeReleaseSpinLock(&unit->Lock, old);
    }
    ctl->PieceState = PieceIdle;
    ctl->Halted = FALSE;
    status = IoConnectInterrupt(&ctl->Interrupt, DiskIsr, ctl, NULL, vector, irql, irql, mode,
                                shared, affinity, FALSE);
    if (!NT_SUCCESS(status)) {
        ctl->Interrupt = NULL;
        return status;
    }
    (void)KeSynchronizeExecution(ctl->Interrupt, DiskEnable, ctl);
    KeAcquireSpinLock(&ctl->Lock, &old);
    ctl->State = StateStarted;
    KeReleaseSpinLock(&ctl->Lock, old);
    return STATUS_SUCCESS;
}

/* A failed start, surprise removal or removal: no new request is taken (@state), the controller is
 * halted, and every request taken ends before the hardware is given back: the piece on the
 * controller is taken off it and its request ended with @status here; a request waiting for
 * the controller or between two pieces ends with @status where it next comes to program one. */
static VOID DiskStopHardware(_Inout_ PVDISK_CONTROLLER ctl, _In_ CONTROLLER_STATE state,
                             _In_ NTSTATUS status)
{
    KIRQL old;
    PIECE_TAKE take;
    KeAcquireSpinLock(&ctl->Lock, &old);
    ctl->State = state; /* no new request; the control no longer reads the ISR's count */
    KeReleaseSpinLock(&ctl->Lock, old);
    if (ctl->Interrupt != NULL) {
        RtlZeroMemory(&take, sizeof take);
        take.Ctl = ctl;
        take.EndStatus = status;
        (void)KeSynchronizeExecution(ctl->Interrupt, DiskHalt, &take);
        if (take.Taken) {
            KeRaiseIrql(DISPATCH_LEVEL, &old); /* where its DpcForIsr would have ended it */
            DiskAbandon(take.Unit, status);
            KeLowerIrql(old);
        }
        (void)KeWaitForSingleObject(&ctl->Idle, Executive, KernelMode, FALSE, NULL);
    }
    /* Every request is done, so nothing sets the watchdog again (G8: the extension it lives
     * in goes at removal); then every DPC of ours already queued runs and finds no piece to
     * take, and only then is the interrupt disconnected: no DPC can reach a disconnected
     * interrupt, and the adapter has no channel left when it is put back. */
#if !defined(BROKEN_WATCHDOG_LEFT_SET)
    (void)KeCancelTimer(&ctl->Watchdog);
#endif
    if (ctl->Interrupt != NULL) {
        KeFlushQueuedDpcs();
        IoDisconnectInterrupt(ctl->Interrupt);
        ctl->Interrupt = NULL;
    }
    if (ctl->Adapter != NULL) {
        ctl->Adapter->DmaOperations->PutDmaAdapter(ctl->Adapter);
        ctl->Adapter = NULL;
    }
    if (ctl->Regs != NULL) {
        MmUnmapIoSpace(ctl->Regs, ctl->RegsLength);
        ctl->Regs = NULL;
    }
}

static VOID DiskDeleteUnits(_Inout_ PVDISK_CONTROLLER ctl)
{
    static const PCWSTR links[VDC_UNITS] = {VDISK_DOS_NAME0, VDISK_DOS_NAME1};
    ULONG i;
    for (i = 0; i < VDC_UNITS; i++) {
        PVDISK_UNIT unit;
        if (ctl->Units[i] == NULL)
            continue;
        unit = ctl->Units[i]->DeviceExtension;
        if (unit->LinkCreated) {
            UNICODE_STRING link;
            RtlInitUnicodeString(&link, links[i]);
            (void)IoDeleteSymbolicLink(&link);
        }
        IoDeleteDevice(ctl->Units[i]);
        ctl->Units[i] = NULL;
    }
    if (ctl->Controller != NULL) {
        IoDeleteController(ctl->Controller);
        ctl->Controller = NULL;
    }
}

/* A removal query: refused while a unit is open (as the PnP manager refuses it for a handle
 * open on the stack); else no unit is opened until the removal or the cancel, so no request
 * is in flight when the removal comes. */
static BOOLEAN DiskQueryRemove(_Inout_ PVDISK_CONTROLLER ctl)
{
    BOOLEAN idle;
    KIRQL old;
    KeAcquireSpinLock(&ctl->Lock, &old);
    idle = ctl->Opens == 0 && ctl->Active == 0;
    if (idle && ctl->State == StateStarted)
        ctl->State = StateRemovePending;
    KeReleaseSpinLock(&ctl->Lock, old);
    return idle;
}

static VOID DiskCancelRemove(_Inout_ PVDISK_CONTROLLER ctl)
{
    KIRQL old;
    KeAcquireSpinLock(&ctl->Lock, &old);
    if (ctl->State == StateRemovePending)
        ctl->State = StateStarted;
    KeReleaseSpinLock(&ctl->Lock, old);
}

/* Removal: a program may still hold a handle to a unit, and send requests on it after the
 * unit's device object is deleted (Windows frees it at the last handle's close): each unit's
 * remove lock is released and waited for, so every request on the units is done and the
 * later ones fail at IoAcquireRemoveLock, before they reach the controller. */
static VOID DiskDrainUnits(_Inout_ PVDISK_CONTROLLER ctl, _In_ PIRP Irp)
{
    ULONG i;
    for (i = 0; i < VDC_UNITS; i++) {
        PVDISK_UNIT unit = ctl->Units[i]->DeviceExtension;
        if (NT_SUCCESS(IoAcquireRemoveLock(&unit->RemoveLock, Irp)))
            IoReleaseRemoveLockAndWait(&unit->RemoveLock, Irp);
    }
}

static NTSTATUS DiskPassDown(_In_ PVDISK_CONTROLLER ctl, _Inout_ PIRP Irp)
{
    NTSTATUS status;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ctl->Lower, Irp);
    IoReleaseRemoveLock(&ctl->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS DiskDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PVDISK_CONTROLLER ctl = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    PAGED_CODE();
    if (ctl->IsUnit)
        return DiskComplete(Irp, Irp->IoStatus.Status, Irp->IoStatus.Information);
    status = IoAcquireRemoveLock(&ctl->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return DiskComplete(Irp, status, 0);
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status =
            IoForwardIrpSynchronously(ctl->Lower, Irp) ? Irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
        if (NT_SUCCESS(status))
            status =
                DiskStartHardware(ctl, sl->Parameters.StartDevice.AllocatedResourcesTranslated);
        if (!NT_SUCCESS(status))
            DiskStopHardware(ctl, StateStopped, STATUS_DEVICE_NOT_READY);
        IoReleaseRemoveLock(&ctl->RemoveLock, Irp);
        return DiskComplete(Irp, status, 0);
    case IRP_MN_QUERY_STOP_DEVICE:
        /* A stopped device's driver must hold the requests that reach it, or it drops them;
         * this one does not hold requests, so it does not let the controller be stopped. The
         * PnP manager sends no IRP_MN_STOP_DEVICE then. */
        IoReleaseRemoveLock(&ctl->RemoveLock, Irp);
        return DiskComplete(Irp, STATUS_DEVICE_BUSY, 0);
    case IRP_MN_QUERY_REMOVE_DEVICE:
        if (!DiskQueryRemove(ctl)) {
            IoReleaseRemoveLock(&ctl->RemoveLock, Irp);
            return DiskComplete(Irp, STATUS_DEVICE_BUSY, 0);
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return DiskPassDown(ctl, Irp);
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        DiskCancelRemove(ctl);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return DiskPassDown(ctl, Irp);
    case IRP_MN_CANCEL_STOP_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return DiskPassDown(ctl, Irp);
    case IRP_MN_SURPRISE_REMOVAL:
        /* The hardware is gone: the requests in flight and queued fail, now. */
        DiskStopHardware(ctl, StateSurpriseRemoved, STATUS_NO_SUCH_DEVICE);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return DiskPassDown(ctl, Irp);
    case IRP_MN_REMOVE_DEVICE:
        DiskDrainUnits(ctl, Irp); /* every unit request is done; none is taken any more */
        IoReleaseRemoveLockAndWait(&ctl->RemoveLock, Irp);
        DiskStopHardware(ctl, StateStopped, STATUS_NO_SUCH_DEVICE);
        DiskDeleteUnits(ctl);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ctl->Lower, Irp);
        IoDetachDevice(ctl->Lower);
        IoDeleteDevice(DeviceObject);
        return status;
    default:
        return DiskPassDown(ctl, Irp);
    }
}

_Use_decl_annotations_ NTSTATUS DiskDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PVDISK_CONTROLLER ctl = DeviceObject->DeviceExtension;
    NTSTATUS status;
    PoStartNextPowerIrp(Irp);
    if (ctl->IsUnit)
        return DiskComplete(Irp, STATUS_SUCCESS, 0);
    status = IoAcquireRemoveLock(&ctl->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return DiskComplete(Irp, status, 0);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(ctl->Lower, Irp);
    IoReleaseRemoveLock(&ctl->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS DiskSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PVDISK_CONTROLLER ctl = DeviceObject->DeviceExtension;
    NTSTATUS status;
    PAGED_CODE();
    if (ctl->IsUnit)
        return DiskComplete(Irp, Irp->IoStatus.Status, Irp->IoStatus.Information);
    status = IoAcquireRemoveLock(&ctl->RemoveLock, Irp); /* Lower stays attached meanwhile */
    if (!NT_SUCCESS(status))
        return DiskComplete(Irp, status, 0);
    return DiskPassDown(ctl, Irp);
}

static NTSTATUS DiskCreateUnit(_In_ PDRIVER_OBJECT DriverObject, _Inout_ PVDISK_CONTROLLER ctl,
                               _In_ ULONG index)
{
    static const PCWSTR names[VDC_UNITS] = {VDISK_DEVICE_NAME0, VDISK_DEVICE_NAME1};
    static const PCWSTR links[VDC_UNITS] = {VDISK_DOS_NAME0, VDISK_DOS_NAME1};
    UNICODE_STRING name, link;
    PDEVICE_OBJECT dev;
    PVDISK_UNIT unit;
    NTSTATUS status;

    RtlInitUnicodeString(&name, names[index]);
    RtlInitUnicodeString(&link, links[index]);
    status = IoCreateDevice(DriverObject, sizeof(VDISK_UNIT), &name, FILE_DEVICE_DISK,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &dev);
    if (!NT_SUCCESS(status))
        return status;
    unit = dev->DeviceExtension;
    RtlZeroMemory(unit, sizeof *unit);
    unit->IsUnit = TRUE;
    unit->Self = dev;
    unit->Ctl = ctl;
    unit->Unit = index;
    unit->Stats.Unit = index;
    unit->Stats.BytesPerSector = VDC_SECTOR;
    KeInitializeSpinLock(&unit->Lock);
    IoInitializeRemoveLock(&unit->RemoveLock, VDISK_TAG, 0, 0);
    IoInitializeDpcRequest(dev, DiskDpcForIsr); /* G18 */
    unit->LinkCreated = NT_SUCCESS(IoCreateSymbolicLink(&link, &name));
    dev->Flags |= DO_DIRECT_IO; /* Irp->MdlAddress: the caller's pages, locked, for DMA */
    dev->AlignmentRequirement = VDC_SECTOR - 1; /* FILE_512_BYTE_ALIGNMENT: see DiskReadWrite */
    dev->Flags &= ~DO_DEVICE_INITIALIZING;
    ctl->Units[index] = dev;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ NTSTATUS DiskAddDevice(PDRIVER_OBJECT DriverObject,
                                              PDEVICE_OBJECT PhysicalDeviceObject)
{
    PDEVICE_OBJECT fdo;
    PVDISK_CONTROLLER ctl;
    NTSTATUS status;
    ULONG i;

    PAGED_CODE();
    status = IoCreateDevice(DriverObject, sizeof(VDISK_CONTROLLER), NULL, FILE_DEVICE_CONTROLLER,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    ctl = fdo->DeviceExtension;
    RtlZeroMemory(ctl, sizeof *ctl);
    ctl->Self = fdo;
    ctl->Pdo = PhysicalDeviceObject;
    KeInitializeSpinLock(&ctl->Lock);
    IoInitializeRemoveLock(&ctl->RemoveLock, VDISK_TAG, 0, 0);
    KeInitializeEvent(&ctl->Idle, NotificationEvent, TRUE);
    KeInitializeTimer(&ctl->Watchdog);
    KeInitializeDpc(&ctl->WatchdogDpc, DiskWatchdogDpc, ctl);
    ctl->Controller = IoCreateController(0);
    status = ctl->Controller != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
    for (i = 0; i < VDC_UNITS && NT_SUCCESS(status); i++)
        status = DiskCreateUnit(DriverObject, ctl, i);
    if (NT_SUCCESS(status)) {
        ctl->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
        if (ctl->Lower == NULL)
            status = STATUS_NO_SUCH_DEVICE;
    }
    if (!NT_SUCCESS(status)) {
        DiskDeleteUnits(ctl);
        IoDeleteDevice(fdo);
        return status;
    }
    fdo->Flags |= DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID DiskUnload(PDRIVER_OBJECT DriverObject)
{
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DiskCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DiskCreateClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = DiskReadWrite;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = DiskReadWrite;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DiskDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = DiskDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = DiskDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = DiskSystemControl;
    DriverObject->DriverStartIo = DiskStartIo;
    DriverObject->DriverUnload = DiskUnload;
    DriverObject->DriverExtension->AddDevice = DiskAddDevice;
    return STATUS_SUCCESS;
}
