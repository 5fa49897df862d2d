/* SPDX-License-Identifier: MIT */
/*
 * serdrv.c - a PnP function driver for a 16550-style UART (serdrv.h), in the
 * style of the WDK serial sample, much reduced: <ntddser.h>'s IOCTLs for
 * baud rate, line control, modem control, timeouts, wait masks, purge and
 * status; interrupt-driven transmit (THRE) and receive (RDA) into a receive
 * buffer; reads that return at once or wait up to their total timeout;
 * IOCTL_SERIAL_WAIT_ON_MASK for SERIAL_EV_RXCHAR / SERIAL_EV_TXEMPTY.
 *
 * Written as for Windows: <ntddk.h> and the WDK headers beside it, SAL on
 * every routine, alloc_text pragmas, PnP/power/WMI boilerplate, a PortName
 * from the device's registry key and the SERIALCOMM device map, a remove
 * lock. No kdpc name appears here.
 *
 * Reduced on purpose: one read, one wait and one write in progress at a time
 * (later writes queue; a second read or wait fails with
 * STATUS_INVALID_PARAMETER, as a second wait does on Windows); interval
 * timeouts and flow control are not implemented.
 *
 * Locks: Lock guards the IRP slots and the counters; RxBuffer, TxBuffer and
 * IsrEvents belong to the interrupt lock (SynchCritSections).
 */
#include <ntddk.h>
#include <initguid.h> /* GUID_DEVINTERFACE_COMPORT is defined here, not only declared */
#include <ntddser.h>
#include <ntstrsafe.h>
#include <wmilib.h>
#include <wdmguid.h>
#include "serdrv.h"

#define SER_TAG 'reSk'

typedef struct _SER_EXTENSION {
    PDEVICE_OBJECT Self, Pdo, Lower;
    IO_REMOVE_LOCK RemoveLock;
    WMILIB_CONTEXT WmiLibInfo;
    UNICODE_STRING InterfaceName;
    UNICODE_STRING DeviceName;
    WCHAR PortName[16];
    UNICODE_STRING SymbolicLink;
    WCHAR LinkBuffer[48];
    BOOLEAN LinkCreated;
    BOOLEAN SectionLocked; /* PnP thread only */
    PUCHAR Port;
    PKINTERRUPT Interrupt;
    KSPIN_LOCK Lock;
    BOOLEAN Started;
    /* Lock */
    PIRP CurrentRead, CurrentWait, CurrentWrite;
    LIST_ENTRY WriteQueue;
    KTIMER ReadTimer;
    KDPC ReadTimerDpc;
    ULONG WaitMask, HistoryMask;
    SERIAL_TIMEOUTS Timeouts;
    SERIAL_LINE_CONTROL LineControl;
    ULONG BaudRate;
    ULONG Errors;
    /* interrupt lock */
    UCHAR RxBuffer[SERDRV_RX_BUFFER];
    ULONG RxHead, RxCount;
    PUCHAR TxBuffer;
    ULONG TxLeft;
    BOOLEAN TxDone;
    ULONG IsrEvents;
    ULONG Overruns;
} SER_EXTENSION, *PSER_EXTENSION;

DRIVER_INITIALIZE SerDriverEntry;
DRIVER_ADD_DEVICE SerAddDevice;
DRIVER_UNLOAD SerUnload;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH SerCreateClose;
_Dispatch_type_(IRP_MJ_CLEANUP) DRIVER_DISPATCH SerCleanup;
_Dispatch_type_(IRP_MJ_READ) DRIVER_DISPATCH SerRead;
_Dispatch_type_(IRP_MJ_WRITE) DRIVER_DISPATCH SerWrite;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH SerDeviceControl;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH SerDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH SerDispatchPower;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH SerSystemControl;
KSERVICE_ROUTINE SerIsr;
IO_DPC_ROUTINE SerDpcForIsr;
KDEFERRED_ROUTINE SerReadTimeout;
DRIVER_CANCEL SerCancelRead;
DRIVER_CANCEL SerCancelWait;
KSYNCHRONIZE_ROUTINE SerTakeIsrState;
KSYNCHRONIZE_ROUTINE SerStartTransmit;
KSYNCHRONIZE_ROUTINE SerCopyReceived;
KSYNCHRONIZE_ROUTINE SerProgramUart;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, SerDriverEntry)
#pragma alloc_text(PAGE, SerAddDevice)
#pragma alloc_text(PAGE, SerDispatchPnp)
#pragma alloc_text(PAGE, SerSystemControl)
#pragma alloc_text(PAGE, SerUnload)
#pragma alloc_text(PAGESRP0, SerCreateClose)
#pragma alloc_text(PAGESER, SerProgramUart) /* runs at DIRQL: locked while a port is started */
#endif

/* The handle of the PAGESER section (MmLockPagableCodeSection in DriverEntry). */
static PVOID SerPagedSection;

#define UART(ext, reg) ((ext)->Port + (reg))

static NTSTATUS SerComplete(_Inout_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_SERIAL_INCREMENT);
    return Status;
}

/* Completes an IRP taken out of its slot (no lock held) and drops its remove lock. */
static VOID SerFinish(_In_ PSER_EXTENSION ext, _Inout_ PIRP Irp, _In_ NTSTATUS Status,
                      _In_ ULONG_PTR Information)
{
    SerComplete(Irp, Status, Information);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

/* ---- SynchCritSections -------------------------------------------------------------------- */

typedef struct _SER_SYNC {
    PSER_EXTENSION Ext;
    PUCHAR Buffer;
    ULONG Length;    /* in: room / bytes to send; out: bytes copied */
    ULONG Events;    /* out: events since the last take */
    BOOLEAN TxDone;  /* out */
    BOOLEAN Purge;   /* in: empty the receive buffer */
    ULONG Available; /* out: bytes in the receive buffer */
    UCHAR Lcr, Mcr;  /* SerProgramUart */
    USHORT Divisor;
    BOOLEAN SetDivisor;
    BOOLEAN Quiesce; /* SerProgramUart: interrupts off */
} SER_SYNC, *PSER_SYNC;

_Use_decl_annotations_ BOOLEAN SerTakeIsrState(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    s->Events = s->Ext->IsrEvents;
    s->TxDone = s->Ext->TxDone;
    s->Available = s->Ext->RxCount;
    s->Ext->IsrEvents = 0;
    s->Ext->TxDone = FALSE;
    return TRUE;
}

_Use_decl_annotations_ BOOLEAN SerStartTransmit(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    PSER_EXTENSION ext = s->Ext;
    if (s->Length == 0) { /* abort */
        ext->TxLeft = 0;
        ext->TxBuffer = NULL;
        WRITE_PORT_UCHAR(UART(ext, SERDRV_IER), SERDRV_IER_RDA);
        return TRUE;
    }
    ext->TxBuffer = s->Buffer + 1;
    ext->TxLeft = s->Length - 1;
    ext->TxDone = FALSE;
    WRITE_PORT_UCHAR(UART(ext, SERDRV_IER), SERDRV_IER_RDA | SERDRV_IER_THRE);
    WRITE_PORT_UCHAR(UART(ext, SERDRV_THR), s->Buffer[0]);
    return TRUE;
}

_Use_decl_annotations_ BOOLEAN SerCopyReceived(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    PSER_EXTENSION ext = s->Ext;
    ULONG n = 0;
    if (s->Purge) {
        ext->RxHead = ext->RxCount = 0;
    } else {
        for (; n < s->Length && ext->RxCount > 0; n++) {
            s->Buffer[n] = ext->RxBuffer[ext->RxHead];
            ext->RxHead = (ext->RxHead + 1) % SERDRV_RX_BUFFER;
            ext->RxCount--;
        }
    }
    s->Length = n;
    s->Available = ext->RxCount;
    return TRUE;
}

_Use_decl_annotations_ BOOLEAN SerProgramUart(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    PSER_EXTENSION ext = s->Ext;
    if (s->Quiesce) {
        WRITE_PORT_UCHAR(UART(ext, SERDRV_IER), 0);
        return TRUE;
    }
    if (s->SetDivisor) {
        WRITE_PORT_UCHAR(UART(ext, SERDRV_LCR), (UCHAR)(s->Lcr | SERDRV_LCR_DLAB));
        WRITE_PORT_UCHAR(UART(ext, SERDRV_DLL), (UCHAR)(s->Divisor & 0xFF));
        WRITE_PORT_UCHAR(UART(ext, SERDRV_DLM), (UCHAR)(s->Divisor >> 8));
    }
    WRITE_PORT_UCHAR(UART(ext, SERDRV_LCR), s->Lcr);
    WRITE_PORT_UCHAR(UART(ext, SERDRV_MCR), s->Mcr);
    WRITE_PORT_UCHAR(UART(ext, SERDRV_IER),
                     (UCHAR)(SERDRV_IER_RDA | (ext->TxBuffer != NULL ? SERDRV_IER_THRE : 0)));
    return TRUE;
}

_Use_decl_annotations_ BOOLEAN SerIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    PSER_EXTENSION ext = ServiceContext;
    BOOLEAN claimed = FALSE;
    UCHAR iir;
    UNREFERENCED_PARAMETER(Interrupt);
    for (;;) {
        iir = READ_PORT_UCHAR(UART(ext, SERDRV_IIR));
        if (iir == 0xFF || (iir & SERDRV_IIR_NONE))
            break;
        claimed = TRUE;
        if ((iir & 0x06) == SERDRV_IIR_RDA) {
            while (READ_PORT_UCHAR(UART(ext, SERDRV_LSR)) & SERDRV_LSR_DR) {
                UCHAR c = READ_PORT_UCHAR(UART(ext, SERDRV_RBR));
                if (ext->RxCount == SERDRV_RX_BUFFER) {
                    ext->Overruns++;
                    continue;
                }
                ext->RxBuffer[(ext->RxHead + ext->RxCount) % SERDRV_RX_BUFFER] = c;
                ext->RxCount++;
                ext->IsrEvents |= SERIAL_EV_RXCHAR;
            }
        } else if ((iir & 0x06) == SERDRV_IIR_THRE) {
            if (ext->TxLeft > 0) {
                WRITE_PORT_UCHAR(UART(ext, SERDRV_THR), *ext->TxBuffer++);
                ext->TxLeft--;
            } else if (ext->TxBuffer != NULL) {
                ext->TxBuffer = NULL;
                ext->TxDone = TRUE;
                ext->IsrEvents |= SERIAL_EV_TXEMPTY;
                WRITE_PORT_UCHAR(UART(ext, SERDRV_IER), SERDRV_IER_RDA);
            }
        } else {
            break;
        }
    }
    if (claimed)
        IoRequestDpc(ext->Self, NULL, NULL);
    return claimed;
}

/* ---- reads, writes, waits (Lock held unless said) ------------------------------------------- */

/* Takes the IRP out of @slot when its cancel routine has not claimed it. */
static PIRP SerTakeSlot(_Inout_ PIRP *slot)
{
    PIRP irp = *slot;
    if (irp == NULL)
        return NULL;
    if (IoSetCancelRoutine(irp, NULL) == NULL)
        return NULL; /* the cancel routine has it */
    *slot = NULL;
    return irp;
}

static ULONG SerCopyTo(_In_ PSER_EXTENSION ext, _Out_writes_bytes_(Length) PUCHAR Buffer,
                       _In_ ULONG Length, _Out_ PULONG Available)
{
    SER_SYNC s;
    RtlZeroMemory(&s, sizeof s);
    s.Ext = ext;
    s.Buffer = Buffer;
    s.Length = Length;
    (void)KeSynchronizeExecution(ext->Interrupt, SerCopyReceived, &s);
    *Available = s.Available;
    return s.Length;
}

/* Starts the write at the head of the queue if none is in progress. Lock held. */
static VOID SerStartNextWrite(_In_ PSER_EXTENSION ext)
{
    SER_SYNC s;
    PIRP irp;
    if (ext->CurrentWrite != NULL || IsListEmpty(&ext->WriteQueue))
        return;
    irp = CONTAINING_RECORD(RemoveHeadList(&ext->WriteQueue), IRP, Tail.Overlay.ListEntry);
    ext->CurrentWrite = irp;
    RtlZeroMemory(&s, sizeof s);
    s.Ext = ext;
    s.Buffer = irp->AssociatedIrp.SystemBuffer;
    s.Length = IoGetCurrentIrpStackLocation(irp)->Parameters.Write.Length;
    (void)KeSynchronizeExecution(ext->Interrupt, SerStartTransmit, &s);
}

_Use_decl_annotations_ VOID SerDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                         PVOID Context)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIRP done[3] = {NULL, NULL, NULL};
    NTSTATUS status[3] = {STATUS_SUCCESS, STATUS_SUCCESS, STATUS_SUCCESS};
    ULONG_PTR info[3] = {0, 0, 0};
    SER_SYNC s;
    ULONG i, available;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Irp);
    UNREFERENCED_PARAMETER(Context);

    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (ext->Interrupt == NULL) {
        KeReleaseSpinLockFromDpcLevel(&ext->Lock);
        return;
    }
    RtlZeroMemory(&s, sizeof s);
    s.Ext = ext;
    (void)KeSynchronizeExecution(ext->Interrupt, SerTakeIsrState, &s);
    if (s.TxDone && ext->CurrentWrite != NULL) {
        done[0] = ext->CurrentWrite;
        info[0] = IoGetCurrentIrpStackLocation(done[0])->Parameters.Write.Length;
        ext->CurrentWrite = NULL;
        SerStartNextWrite(ext);
    }
    if (ext->CurrentRead != NULL) {
        PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(ext->CurrentRead);
        if (s.Available >= sl->Parameters.Read.Length) {
            PIRP read = SerTakeSlot(&ext->CurrentRead);
            if (read != NULL) {
                (void)KeCancelTimer(&ext->ReadTimer);
                info[1] = SerCopyTo(ext, read->AssociatedIrp.SystemBuffer,
                                    sl->Parameters.Read.Length, &available);
                done[1] = read;
            }
        }
    }
    ext->HistoryMask |= s.Events & ext->WaitMask;
    if (ext->HistoryMask != 0 && ext->CurrentWait != NULL) {
        PIRP wait = SerTakeSlot(&ext->CurrentWait);
        if (wait != NULL) {
            *(PULONG)wait->AssociatedIrp.SystemBuffer = ext->HistoryMask;
            ext->HistoryMask = 0;
            info[2] = sizeof(ULONG);
            done[2] = wait;
        }
    }
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
    for (i = 0; i < 3; i++)
        if (done[i] != NULL)
            SerFinish(ext, done[i], status[i], info[i]);
}

/* The read's total timeout expired: it completes with what has arrived. */
_Use_decl_annotations_ VOID SerReadTimeout(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                                           PVOID SystemArgument2)
{
    PSER_EXTENSION ext = DeferredContext;
    PIRP read;
    ULONG copied = 0, available;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    read = SerTakeSlot(&ext->CurrentRead);
    if (read != NULL && ext->Interrupt != NULL)
        copied = SerCopyTo(ext, read->AssociatedIrp.SystemBuffer,
                           IoGetCurrentIrpStackLocation(read)->Parameters.Read.Length, &available);
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
    if (read != NULL)
        SerFinish(ext, read, STATUS_TIMEOUT, copied);
}

_Use_decl_annotations_ VOID SerCancelRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    KIRQL irql;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (ext->CurrentRead == Irp) {
        ext->CurrentRead = NULL;
        (void)KeCancelTimer(&ext->ReadTimer);
    }
    KeReleaseSpinLock(&ext->Lock, irql);
    SerFinish(ext, Irp, STATUS_CANCELLED, 0);
}

_Use_decl_annotations_ VOID SerCancelWait(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    KIRQL irql;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (ext->CurrentWait == Irp)
        ext->CurrentWait = NULL;
    KeReleaseSpinLock(&ext->Lock, irql);
    SerFinish(ext, Irp, STATUS_CANCELLED, 0);
}

/* Parks @Irp in @slot with @cancel as its cancel routine; FALSE when it was cancelled already
 * (then the caller completes it). Lock held. */
static BOOLEAN SerPark(_Inout_ PIRP *slot, _Inout_ PIRP Irp, _In_ PDRIVER_CANCEL cancel)
{
    IoMarkIrpPending(Irp);
    *slot = Irp;
    (void)IoSetCancelRoutine(Irp, cancel);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        *slot = NULL;
        return FALSE;
    }
    return TRUE;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

_Use_decl_annotations_ NTSTATUS SerCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    PAGED_CODE();
    if (IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE && !ext->Started)
        return SerComplete(Irp, STATUS_DEVICE_NOT_READY, 0);
    return SerComplete(Irp, STATUS_SUCCESS, 0);
}

/* Purge: abort reads and/or writes, empty the receive buffer. */
static VOID SerPurge(_In_ PSER_EXTENSION ext, _In_ ULONG Mask)
{
    LIST_ENTRY aborted;
    PIRP read = NULL, write = NULL;
    SER_SYNC s;
    KIRQL irql;
    InitializeListHead(&aborted);
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (Mask & SERIAL_PURGE_TXABORT) {
        while (!IsListEmpty(&ext->WriteQueue))
            InsertTailList(&aborted, RemoveHeadList(&ext->WriteQueue));
        if (ext->CurrentWrite != NULL && ext->Interrupt != NULL) {
            RtlZeroMemory(&s, sizeof s);
            s.Ext = ext;
            (void)KeSynchronizeExecution(ext->Interrupt, SerStartTransmit, &s); /* Length 0 */
            write = ext->CurrentWrite;
            ext->CurrentWrite = NULL;
        }
    }
    if (Mask & SERIAL_PURGE_RXABORT) {
        read = SerTakeSlot(&ext->CurrentRead);
        if (read != NULL)
            (void)KeCancelTimer(&ext->ReadTimer);
    }
    if ((Mask & SERIAL_PURGE_RXCLEAR) && ext->Interrupt != NULL) {
        RtlZeroMemory(&s, sizeof s);
        s.Ext = ext;
        s.Purge = TRUE;
        (void)KeSynchronizeExecution(ext->Interrupt, SerCopyReceived, &s);
    }
    KeReleaseSpinLock(&ext->Lock, irql);
    if (write != NULL)
        SerFinish(ext, write, STATUS_CANCELLED, 0);
    if (read != NULL)
        SerFinish(ext, read, STATUS_CANCELLED, 0);
    while (!IsListEmpty(&aborted))
        SerFinish(ext, CONTAINING_RECORD(RemoveHeadList(&aborted), IRP, Tail.Overlay.ListEntry),
                  STATUS_CANCELLED, 0);
}

_Use_decl_annotations_ NTSTATUS SerCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIRP wait;
    KIRQL irql;
    SerPurge(ext, SERIAL_PURGE_TXABORT | SERIAL_PURGE_RXABORT);
    KeAcquireSpinLock(&ext->Lock, &irql);
    wait = SerTakeSlot(&ext->CurrentWait);
    KeReleaseSpinLock(&ext->Lock, irql);
    if (wait != NULL)
        SerFinish(ext, wait, STATUS_CANCELLED, 0);
    return SerComplete(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ NTSTATUS SerRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    ULONG length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length;
    ULONG copied, available, total = 0;
    LARGE_INTEGER due;
    KIRQL irql;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SerComplete(Irp, status, 0);
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (!ext->Started || ext->CurrentRead != NULL) {
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, ext->Started ? STATUS_INVALID_PARAMETER : STATUS_DEVICE_NOT_READY, 0);
        return ext->Started ? STATUS_INVALID_PARAMETER : STATUS_DEVICE_NOT_READY;
    }
    /* MAXULONG/0/0: return at once with what is there; else wait for all of it, up to the total
     * timeout (0/0: no timeout). */
    if (ext->Timeouts.ReadIntervalTimeout == MAXULONG &&
        ext->Timeouts.ReadTotalTimeoutMultiplier == 0 &&
        ext->Timeouts.ReadTotalTimeoutConstant == 0) {
        copied = SerCopyTo(ext, Irp->AssociatedIrp.SystemBuffer, length, &available);
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, STATUS_SUCCESS, copied);
        return STATUS_SUCCESS;
    }
    (void)SerCopyTo(ext, NULL, 0, &available);
    if (available >= length) {
        copied = SerCopyTo(ext, Irp->AssociatedIrp.SystemBuffer, length, &available);
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, STATUS_SUCCESS, copied);
        return STATUS_SUCCESS;
    }
    if (!NT_SUCCESS(RtlULongMult(ext->Timeouts.ReadTotalTimeoutMultiplier, length, &total)) ||
        !NT_SUCCESS(RtlULongAdd(total, ext->Timeouts.ReadTotalTimeoutConstant, &total)))
        total = MAXULONG;
    if (!SerPark(&ext->CurrentRead, Irp, SerCancelRead)) {
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, STATUS_CANCELLED, 0);
        return STATUS_PENDING;
    }
    if (total != 0) {
        due.QuadPart = -(LONGLONG)total * 10000;
        (void)KeSetTimer(&ext->ReadTimer, due, &ext->ReadTimerDpc);
    }
    KeReleaseSpinLock(&ext->Lock, irql);
    return STATUS_PENDING;
}

_Use_decl_annotations_ NTSTATUS SerWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    KIRQL irql;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SerComplete(Irp, status, 0);
    if (IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length == 0) {
        SerFinish(ext, Irp, STATUS_SUCCESS, 0);
        return STATUS_SUCCESS;
    }
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (!ext->Started) {
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, STATUS_DEVICE_NOT_READY, 0);
        return STATUS_DEVICE_NOT_READY;
    }
    IoMarkIrpPending(Irp);
    InsertTailList(&ext->WriteQueue, &Irp->Tail.Overlay.ListEntry);
    SerStartNextWrite(ext);
    KeReleaseSpinLock(&ext->Lock, irql);
    return STATUS_PENDING;
}

static NTSTATUS SerSetLine(_In_ PSER_EXTENSION ext, _In_opt_ const SERIAL_BAUD_RATE *Baud,
                           _In_opt_ const SERIAL_LINE_CONTROL *Line, _In_ UCHAR McrSet,
                           _In_ UCHAR McrClear)
{
    SERIAL_LINE_CONTROL lc = ext->LineControl;
    SER_SYNC s;
    UCHAR mcr;
    if (Baud != NULL) {
        if (Baud->BaudRate == 0 || Baud->BaudRate > SERDRV_CLOCK ||
            SERDRV_CLOCK % Baud->BaudRate != 0)
            return STATUS_INVALID_PARAMETER;
    }
    if (Line != NULL) {
        if (Line->WordLength < 5 || Line->WordLength > 8 ||
            (Line->StopBits != STOP_BIT_1 && Line->StopBits != STOP_BITS_2) ||
            (Line->Parity != NO_PARITY && Line->Parity != ODD_PARITY &&
             Line->Parity != EVEN_PARITY))
            return STATUS_INVALID_PARAMETER;
        lc = *Line;
    }
    RtlZeroMemory(&s, sizeof s);
    s.Ext = ext;
    s.Lcr = (UCHAR)((lc.WordLength - 5) | (lc.StopBits == STOP_BITS_2 ? 0x04 : 0) |
                    (lc.Parity == ODD_PARITY    ? 0x08
                     : lc.Parity == EVEN_PARITY ? 0x18
                                                : 0));
    mcr = READ_PORT_UCHAR(UART(ext, SERDRV_MCR));
    s.Mcr = (UCHAR)((mcr | McrSet | SERDRV_MCR_OUT2) & ~McrClear);
    if (Baud != NULL) {
        s.SetDivisor = TRUE;
        s.Divisor = (USHORT)(SERDRV_CLOCK / Baud->BaudRate);
    }
    (void)KeSynchronizeExecution(ext->Interrupt, SerProgramUart, &s);
    if (Baud != NULL)
        ext->BaudRate = Baud->BaudRate;
    ext->LineControl = lc;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ NTSTATUS SerDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG inLen = sl->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLen = sl->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG_PTR info = 0;
    PIRP oldWait = NULL;
    ULONG available;
    KIRQL irql;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SerComplete(Irp, status, 0);
    if (!ext->Started) {
        SerFinish(ext, Irp, STATUS_DEVICE_NOT_READY, 0);
        return STATUS_DEVICE_NOT_READY;
    }
    KeAcquireSpinLock(&ext->Lock, &irql);
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_SERIAL_SET_BAUD_RATE:
        status = inLen < sizeof(SERIAL_BAUD_RATE) ? STATUS_BUFFER_TOO_SMALL
                                                  : SerSetLine(ext, buffer, NULL, 0, 0);
        break;
    case IOCTL_SERIAL_GET_BAUD_RATE:
        if (outLen < sizeof(SERIAL_BAUD_RATE)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        ((PSERIAL_BAUD_RATE)buffer)->BaudRate = ext->BaudRate;
        info = sizeof(SERIAL_BAUD_RATE);
        break;
    case IOCTL_SERIAL_SET_LINE_CONTROL:
        status = inLen < sizeof(SERIAL_LINE_CONTROL) ? STATUS_BUFFER_TOO_SMALL
                                                     : SerSetLine(ext, NULL, buffer, 0, 0);
        break;
    case IOCTL_SERIAL_GET_LINE_CONTROL:
        if (outLen < sizeof(SERIAL_LINE_CONTROL)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        *(PSERIAL_LINE_CONTROL)buffer = ext->LineControl;
        info = sizeof(SERIAL_LINE_CONTROL);
        break;
    case IOCTL_SERIAL_SET_DTR:
        status = SerSetLine(ext, NULL, NULL, SERDRV_MCR_DTR, 0);
        break;
    case IOCTL_SERIAL_CLR_DTR:
        status = SerSetLine(ext, NULL, NULL, 0, SERDRV_MCR_DTR);
        break;
    case IOCTL_SERIAL_SET_RTS:
        status = SerSetLine(ext, NULL, NULL, SERDRV_MCR_RTS, 0);
        break;
    case IOCTL_SERIAL_CLR_RTS:
        status = SerSetLine(ext, NULL, NULL, 0, SERDRV_MCR_RTS);
        break;
    case IOCTL_SERIAL_GET_DTRRTS:
        if (outLen < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        {
            UCHAR mcr = READ_PORT_UCHAR(UART(ext, SERDRV_MCR));
            *(PULONG)buffer = ((mcr & SERDRV_MCR_DTR) ? SERIAL_DTR_STATE : 0) |
                              ((mcr & SERDRV_MCR_RTS) ? SERIAL_RTS_STATE : 0);
        }
        info = sizeof(ULONG);
        break;
    case IOCTL_SERIAL_SET_TIMEOUTS: {
        PSERIAL_TIMEOUTS t = buffer;
        if (inLen < sizeof(SERIAL_TIMEOUTS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        if (t->ReadIntervalTimeout == MAXULONG && t->ReadTotalTimeoutMultiplier == MAXULONG &&
            t->ReadTotalTimeoutConstant == MAXULONG) {
            status = STATUS_INVALID_PARAMETER; /* as the documentation says */
            break;
        }
        ext->Timeouts = *t;
        break;
    }
    case IOCTL_SERIAL_GET_TIMEOUTS:
        if (outLen < sizeof(SERIAL_TIMEOUTS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        *(PSERIAL_TIMEOUTS)buffer = ext->Timeouts;
        info = sizeof(SERIAL_TIMEOUTS);
        break;
    case IOCTL_SERIAL_SET_WAIT_MASK: {
        ULONG mask;
        if (inLen < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        mask = *(PULONG)buffer;
        if (mask & ~(ULONG)(SERIAL_EV_RXCHAR | SERIAL_EV_RXFLAG | SERIAL_EV_TXEMPTY |
                            SERIAL_EV_CTS | SERIAL_EV_DSR | SERIAL_EV_RLSD | SERIAL_EV_BREAK |
                            SERIAL_EV_ERR | SERIAL_EV_RING | SERIAL_EV_PERR | SERIAL_EV_RX80FULL |
                            SERIAL_EV_EVENT1 | SERIAL_EV_EVENT2)) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        /* a pending wait completes with success and an empty mask */
        oldWait = SerTakeSlot(&ext->CurrentWait);
        if (oldWait != NULL)
            *(PULONG)oldWait->AssociatedIrp.SystemBuffer = 0;
        ext->WaitMask = mask;
        ext->HistoryMask = 0;
        break;
    }
    case IOCTL_SERIAL_GET_WAIT_MASK:
        if (outLen < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        *(PULONG)buffer = ext->WaitMask;
        info = sizeof(ULONG);
        break;
    case IOCTL_SERIAL_WAIT_ON_MASK:
        if (outLen < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        if (ext->WaitMask == 0 || ext->CurrentWait != NULL) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        if (ext->HistoryMask != 0) { /* something happened already */
            *(PULONG)buffer = ext->HistoryMask;
            ext->HistoryMask = 0;
            info = sizeof(ULONG);
            break;
        }
        if (!SerPark(&ext->CurrentWait, Irp, SerCancelWait)) {
            status = STATUS_CANCELLED;
            break;
        }
        KeReleaseSpinLock(&ext->Lock, irql);
        return STATUS_PENDING;
    case IOCTL_SERIAL_PURGE: {
        ULONG mask;
        if (inLen < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        mask = *(PULONG)buffer;
        if (mask == 0 || (mask & ~(ULONG)(SERIAL_PURGE_TXABORT | SERIAL_PURGE_RXABORT |
                                          SERIAL_PURGE_TXCLEAR | SERIAL_PURGE_RXCLEAR))) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        KeReleaseSpinLock(&ext->Lock, irql);
        SerPurge(ext, mask);
        SerFinish(ext, Irp, STATUS_SUCCESS, 0);
        return STATUS_SUCCESS;
    }
    case IOCTL_SERIAL_GET_COMMSTATUS: {
        PSERIAL_STATUS st = buffer;
        if (outLen < sizeof(SERIAL_STATUS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        RtlZeroMemory(st, sizeof *st);
        (void)SerCopyTo(ext, NULL, 0, &available);
        st->AmountInInQueue = available;
        st->AmountInOutQueue = 0;
        st->Errors = ext->Errors;
        ext->Errors = 0;
        info = sizeof(SERIAL_STATUS);
        break;
    }
    default:
        status = STATUS_INVALID_PARAMETER;
        break;
    }
    KeReleaseSpinLock(&ext->Lock, irql);
    if (oldWait != NULL)
        SerFinish(ext, oldWait, STATUS_SUCCESS, sizeof(ULONG));
    SerFinish(ext, Irp, status, info);
    return status;
}

/* ---- PnP, power, WMI ------------------------------------------------------------------------ */

/* PortName (REG_SZ) from the device's hardware key; "COM1" when missing. */
static VOID SerReadPortName(_In_ PSER_EXTENSION ext)
{
    HANDLE key;
    UNICODE_STRING valueName = RTL_CONSTANT_STRING(SERDRV_REG_PORT_NAME);
    union { /* the value's header, aligned, with room for the name */
        KEY_VALUE_PARTIAL_INFORMATION Info;
        UCHAR Bytes[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 16 * sizeof(WCHAR)];
    } buffer;
    PKEY_VALUE_PARTIAL_INFORMATION value = &buffer.Info;
    ULONG length;
    NTSTATUS status;

    (void)RtlStringCchCopyW(ext->PortName, ARRAYSIZE(ext->PortName), L"COM1");
    status = IoOpenDeviceRegistryKey(ext->Pdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &key);
    if (!NT_SUCCESS(status))
        return;
    status =
        ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, value, sizeof buffer, &length);
    if (NT_SUCCESS(status) && value->Type == REG_SZ && value->DataLength > sizeof(WCHAR))
        (void)RtlStringCbCopyNW(ext->PortName, sizeof ext->PortName, (PCWSTR)value->Data,
                                value->DataLength);
    ZwClose(key);
}

static NTSTATUS SerStartHardware(_In_ PSER_EXTENSION ext, _In_opt_ PCM_RESOURCE_LIST Resources)
{
    PCM_PARTIAL_RESOURCE_LIST list;
    ULONG vector = 0, i;
    KIRQL irql = 0;
    KAFFINITY affinity = 0;
    KINTERRUPT_MODE mode = Latched;
    BOOLEAN haveInterrupt = FALSE, shared = FALSE;
    SERIAL_BAUD_RATE baud;
    SERIAL_LINE_CONTROL line;
    NTSTATUS status;
    KIRQL old;

    if (Resources == NULL || Resources->Count == 0)
        return STATUS_INSUFFICIENT_RESOURCES;
    list = &Resources->List[0].PartialResourceList;
    for (i = 0; i < list->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
        if (d->Type == CmResourceTypePort && d->u.Port.Length >= SERDRV_PORTS)
            ext->Port = (PUCHAR)(ULONG_PTR)d->u.Port.Start.QuadPart;
        if (d->Type == CmResourceTypeInterrupt) {
            haveInterrupt = TRUE;
            irql = (KIRQL)d->u.Interrupt.Level;
            vector = d->u.Interrupt.Vector;
            affinity = d->u.Interrupt.Affinity;
            mode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
            shared = d->ShareDisposition == CmResourceShareShared;
        }
    }
    if (ext->Port == NULL || !haveInterrupt)
        return STATUS_INSUFFICIENT_RESOURCES;
    /* is there a UART? the scratch register keeps what is written */
    WRITE_PORT_UCHAR(UART(ext, SERDRV_SCR), 0x5A);
    if (READ_PORT_UCHAR(UART(ext, SERDRV_SCR)) != 0x5A)
        return STATUS_NO_SUCH_DEVICE;
    WRITE_PORT_UCHAR(UART(ext, SERDRV_IER), 0);
    /* the code the interrupt path runs must stay resident from now on */
    MmLockPagableSectionByHandle(SerPagedSection);
    ext->SectionLocked = TRUE;
    status = IoConnectInterrupt(&ext->Interrupt, SerIsr, ext, NULL, vector, irql, irql, mode,
                                shared, affinity, FALSE);
    if (!NT_SUCCESS(status)) {
        ext->Interrupt = NULL;
        return status;
    }
    baud.BaudRate = 9600;
    line.StopBits = STOP_BIT_1;
    line.Parity = NO_PARITY;
    line.WordLength = 8;
    KeAcquireSpinLock(&ext->Lock, &old);
    (void)SerSetLine(ext, &baud, &line, SERDRV_MCR_DTR | SERDRV_MCR_RTS, 0);
    ext->Started = TRUE;
    KeReleaseSpinLock(&ext->Lock, old);
    return STATUS_SUCCESS;
}

static VOID SerStopHardware(_In_ PSER_EXTENSION ext)
{
    PIRP wait;
    KIRQL old;
    SerPurge(ext, SERIAL_PURGE_TXABORT | SERIAL_PURGE_RXABORT);
    KeAcquireSpinLock(&ext->Lock, &old);
    ext->Started = FALSE;
    wait = SerTakeSlot(&ext->CurrentWait);
    KeReleaseSpinLock(&ext->Lock, old);
    if (wait != NULL)
        SerFinish(ext, wait, STATUS_CANCELLED, 0);
    if (ext->Interrupt != NULL) {
        SER_SYNC s;
        RtlZeroMemory(&s, sizeof s);
        s.Ext = ext;
        s.Quiesce = TRUE;
        (void)KeSynchronizeExecution(ext->Interrupt, SerProgramUart, &s);
        IoDisconnectInterrupt(ext->Interrupt);
        KeAcquireSpinLock(&ext->Lock, &old);
        ext->Interrupt = NULL;
        KeReleaseSpinLock(&ext->Lock, old);
    }
    (void)KeCancelTimer(&ext->ReadTimer);
    KeFlushQueuedDpcs();
    ext->Port = NULL;
    if (ext->SectionLocked)
        MmUnlockPagableImageSection(SerPagedSection);
    ext->SectionLocked = FALSE;
}

static NTSTATUS SerPassDown(_In_ PSER_EXTENSION ext, _Inout_ PIRP Irp)
{
    NTSTATUS status;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS SerDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    PAGED_CODE();
    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SerComplete(Irp, status, 0);
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status =
            IoForwardIrpSynchronously(ext->Lower, Irp) ? Irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
        if (NT_SUCCESS(status))
            status = SerStartHardware(ext, sl->Parameters.StartDevice.AllocatedResourcesTranslated);
        if (NT_SUCCESS(status)) {
            size_t chars = 0;
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, TRUE);
            (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_REGISTER);
            /* the port's name where programs look for it */
            if (NT_SUCCESS(RtlStringCchLengthW(ext->PortName, ARRAYSIZE(ext->PortName), &chars)))
                (void)RtlWriteRegistryValue(RTL_REGISTRY_DEVICEMAP, L"SERIALCOMM",
                                            ext->DeviceName.Buffer, REG_SZ, ext->PortName,
                                            (ULONG)(chars + 1) * sizeof(WCHAR));
        } else {
            SerStopHardware(ext);
        }
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return SerComplete(Irp, status, 0);
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return SerPassDown(ext, Irp);
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        SerStopHardware(ext);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return SerPassDown(ext, Irp);
    case IRP_MN_REMOVE_DEVICE:
        SerStopHardware(ext);
        (void)IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_DEREGISTER);
        (void)RtlDeleteRegistryValue(RTL_REGISTRY_DEVICEMAP, L"SERIALCOMM", ext->DeviceName.Buffer);
        if (ext->InterfaceName.Buffer != NULL) {
            (void)IoSetDeviceInterfaceState(&ext->InterfaceName, FALSE);
            RtlFreeUnicodeString(&ext->InterfaceName);
        }
        if (ext->LinkCreated)
            (void)IoDeleteSymbolicLink(&ext->SymbolicLink);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->Lower, Irp);
        IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
        IoDetachDevice(ext->Lower);
        IoDeleteDevice(DeviceObject);
        return status;
    default:
        return SerPassDown(ext, Irp);
    }
}

_Use_decl_annotations_ NTSTATUS SerDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    PoStartNextPowerIrp(Irp);
    if (!NT_SUCCESS(status))
        return SerComplete(Irp, status, 0);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ NTSTATUS SerSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    SYSCTL_IRP_DISPOSITION disposition = IrpNotWmi;
    NTSTATUS status;
    PAGED_CODE();
    status = WmiSystemControl(&ext->WmiLibInfo, DeviceObject, Irp, &disposition);
    switch (disposition) {
    case IrpProcessed:
    case IrpNotCompleted:
        return status;
    default:
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(ext->Lower, Irp);
    }
}

_Use_decl_annotations_ NTSTATUS SerAddDevice(PDRIVER_OBJECT DriverObject,
                                             PDEVICE_OBJECT PhysicalDeviceObject)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(SERDRV_DEVICE_NAME);
    PDEVICE_OBJECT fdo;
    PSER_EXTENSION ext;
    NTSTATUS status;

    PAGED_CODE();
    status = IoCreateDevice(DriverObject, sizeof(SER_EXTENSION), &name, FILE_DEVICE_SERIAL_PORT,
                            FILE_DEVICE_SECURE_OPEN, TRUE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    ext = fdo->DeviceExtension;
    RtlZeroMemory(ext, sizeof *ext);
    ext->Self = fdo;
    ext->Pdo = PhysicalDeviceObject;
    ext->DeviceName = name;
    KeInitializeSpinLock(&ext->Lock);
    InitializeListHead(&ext->WriteQueue);
    KeInitializeTimer(&ext->ReadTimer);
    KeInitializeDpc(&ext->ReadTimerDpc, SerReadTimeout, ext);
    IoInitializeDpcRequest(fdo, SerDpcForIsr);
    IoInitializeRemoveLock(&ext->RemoveLock, SER_TAG, 0, 0);
    ext->Timeouts.ReadIntervalTimeout = MAXULONG; /* reads return at once until told otherwise */

    SerReadPortName(ext);
    RtlInitEmptyUnicodeString(&ext->SymbolicLink, ext->LinkBuffer, sizeof ext->LinkBuffer);
    status = RtlUnicodeStringPrintf(&ext->SymbolicLink, L"\\DosDevices\\%ws", ext->PortName);
    if (NT_SUCCESS(status))
        ext->LinkCreated = NT_SUCCESS(IoCreateSymbolicLink(&ext->SymbolicLink, &name));

    status = IoRegisterDeviceInterface(PhysicalDeviceObject, &GUID_DEVINTERFACE_COMPORT, NULL,
                                       &ext->InterfaceName);
    if (!NT_SUCCESS(status))
        ext->InterfaceName.Buffer = NULL;
    ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
    if (ext->Lower == NULL) {
        if (ext->LinkCreated)
            (void)IoDeleteSymbolicLink(&ext->SymbolicLink);
        if (ext->InterfaceName.Buffer != NULL)
            RtlFreeUnicodeString(&ext->InterfaceName);
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    DbgPrintEx(DPFLTR_SERIAL_ID, DPFLTR_INFO_LEVEL, "serdrv: %wZ is %ws\n", &name, ext->PortName);
    fdo->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID SerUnload(PDRIVER_OBJECT DriverObject)
{
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_ NTSTATUS SerDriverEntry(PDRIVER_OBJECT DriverObject,
                                               PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    /* find the PAGESER section's handle, and let it be paged until a port starts */
    SerPagedSection = MmLockPagableCodeSection(SerProgramUart);
    MmUnlockPagableImageSection(SerPagedSection);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = SerCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SerCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = SerCleanup;
    DriverObject->MajorFunction[IRP_MJ_READ] = SerRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = SerWrite;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SerDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_PNP] = SerDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = SerDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = SerSystemControl;
    DriverObject->DriverExtension->AddDevice = SerAddDevice;
    DriverObject->DriverUnload = SerUnload;
    return STATUS_SUCCESS;
}
