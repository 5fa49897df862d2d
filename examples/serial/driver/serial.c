/* SPDX-License-Identifier: MIT */
/*
 * serial.c - a WDM function driver for a 16550-compatible UART
 * (uart16550.h), the kind a terminal program talks to through COM1:
 * ReadFile / WriteFile with buffered I/O, and <ntddser.h>'s IOCTLs for baud
 * rate, line control, DTR/RTS, timeouts, wait masks, purge and status.
 *
 * How the work is split (docs/examples/serial.md walks through it):
 * - SerIsr (DIRQL) services the UART until IIR says nothing is pending:
 *   drains the receive FIFO into a ring buffer, refills the transmit FIFO
 *   from the current write, notes line-status errors and modem-status
 *   changes, then queues the DpcForIsr with IoRequestDpc.
 * - SerDpcForIsr (DISPATCH_LEVEL) takes what the ISR noted through
 *   KeSynchronizeExecution, completes the write, moves received bytes into
 *   the current read's system buffer and completes it, completes wait-on-mask
 *   requests, answers the status IOCTLs that read the device, and writes
 *   error-log entries.
 * - Three CustomTimerDpcs: the read's total timeout, its interval timeout,
 *   and a poll that services the UART when an interrupt was lost (an
 *   edge-triggered ISA line gives no second edge while a source is still
 *   pending).
 *
 * Locks: Lock (an executive spin lock) guards the request slots, queues,
 * timers and settings; the ring buffer, the transmit cursor and what the ISR
 * notes belong to the interrupt's lock (SynchCritSection routines below).
 * Lock order: Lock, then the interrupt lock.
 *
 * Reduced on purpose: one read and one wait-on-mask in progress at a time
 * (a second one fails with STATUS_INVALID_PARAMETER); no write timeouts, no
 * flow control (SET_HANDFLOW accepts only DTR/RTS on or off), no special
 * characters (SET_CHARS keeps them for GET_CHARS), a fixed 4 KiB receive
 * ring (SET_QUEUE_SIZE, a recommendation, changes nothing).
 *
 * Broken variants (BROKEN_*, docs/examples/serial.md): each switches one
 * guideline off.
 */
#include <ntddk.h>
#include <ntddser.h>
#include <ntintsafe.h>
#include <ntiologc.h>
#include "uart16550.h"

#define SER_TAG         'lreS'
#define SER_RING        4096u /* receive ring buffer */
#define SER_POLL_MS     10    /* lost-interrupt poll while requests are outstanding */
#define SER_ISR_LOOPS   32    /* bound on IIR passes per interrupt */
#define SER_DEVICE_NAME L"\\Device\\Serial0"
#define SER_LINK_NAME   L"\\DosDevices\\COM1"

/* Error log codes: overruns and parity errors are logged with <ntiologc.h>'s generic
 * IO_ERR_OVERRUN_ERROR and IO_ERR_PARITY; ntiologc.h has no framing error, so that one is the
 * driver's own, as a message file (serlog.mc) would define it: severity error, customer bit
 * clear, facility 6 (serial). DumpData[0] holds how many errors of the kind the ISR saw. */
#define SER_LOG_FRAMING ((NTSTATUS)0xC0060003L)

typedef struct _SER_EXTENSION {
    PDEVICE_OBJECT Self, Pdo, Lower;
    IO_REMOVE_LOCK RemoveLock;
    UNICODE_STRING LinkName;
    BOOLEAN LinkCreated;
    PUCHAR Port;
    PKINTERRUPT Interrupt;
    KSPIN_LOCK Lock;
    /* ---- Lock ---- */
    BOOLEAN Started;
    PIRP CurrentRead, CurrentWait, CurrentWrite;
    LIST_ENTRY WriteQueue;  /* writes not started yet */
    LIST_ENTRY StatusQueue; /* GET_MODEMSTATUS / GET_COMMSTATUS for the DPC (G15) */
    ULONG ReadDone;         /* bytes already in CurrentRead's system buffer */
    ULONG ReadInterval;     /* its ReadIntervalTimeout, taken when it came */
    ULONGLONG LastByteTime; /* when it last got bytes: the interval counts from there */
    BOOLEAN ReadAnyByte;    /* MAXULONG/MAXULONG/n: the first byte completes it */
    BOOLEAN TotalArmed, IntervalArmed, PollArmed;
    ULONGLONG TotalDue, IntervalDue; /* interrupt time: a stale timer DPC does nothing */
    KTIMER TotalTimer, IntervalTimer, PollTimer;
    KDPC TotalDpc, IntervalDpc, PollDpc;
    ULONG WaitMask, HistoryMask;
    ULONG Errors; /* SERIAL_ERROR_* since the last GET_COMMSTATUS */
    SERIAL_TIMEOUTS Timeouts;
    SERIAL_LINE_CONTROL LineControl;
    ULONG BaudRate;
    SERIAL_CHARS Chars;       /* kept for GET_CHARS: no character is special here */
    SERIAL_HANDFLOW HandFlow; /* DTR and RTS control only (SerCheckHandFlow) */
    ULONG Recoveries;         /* interrupts the poll found */
    /* ---- interrupt lock ---- */
    UCHAR Ring[SER_RING];
    ULONG RingHead, RingCount;
    PUCHAR TxNext;
    ULONG TxLeft;
    BOOLEAN TxBusy, TxDone;
    ULONG IsrEvents; /* SERIAL_EV_* */
    ULONG IsrErrors; /* SERIAL_ERROR_* */
    ULONG IsrOverruns, IsrParity, IsrFraming;
    UCHAR Mcr, Ier;
} SER_EXTENSION, *PSER_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE SerAddDevice;
static DRIVER_UNLOAD SerUnload;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) static DRIVER_DISPATCH SerCreateClose;
_Dispatch_type_(IRP_MJ_CLEANUP) static DRIVER_DISPATCH SerCleanup;
_Dispatch_type_(IRP_MJ_READ) static DRIVER_DISPATCH SerRead;
_Dispatch_type_(IRP_MJ_WRITE) static DRIVER_DISPATCH SerWrite;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) static DRIVER_DISPATCH SerDeviceControl;
_Dispatch_type_(IRP_MJ_PNP) static DRIVER_DISPATCH SerDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) static DRIVER_DISPATCH SerDispatchPower;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) static DRIVER_DISPATCH SerSystemControl;
static KSERVICE_ROUTINE SerIsr;
static IO_DPC_ROUTINE SerDpcForIsr;
static KDEFERRED_ROUTINE SerTotalTimeout;
static KDEFERRED_ROUTINE SerIntervalTimeout;
static KDEFERRED_ROUTINE SerPoll;
static DRIVER_CANCEL SerCancelRead;
static DRIVER_CANCEL SerCancelWait;
static DRIVER_CANCEL SerCancelWrite;
static KSYNCHRONIZE_ROUTINE SerTakeIsrState;
static KSYNCHRONIZE_ROUTINE SerStartTransmit;
static KSYNCHRONIZE_ROUTINE SerCopyRing;
static KSYNCHRONIZE_ROUTINE SerProgramUart;
static KSYNCHRONIZE_ROUTINE SerReadModem;
static KSYNCHRONIZE_ROUTINE SerKickDpc;
static KSYNCHRONIZE_ROUTINE SerPollUart;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, SerAddDevice)
#pragma alloc_text(PAGE, SerDispatchPnp)
#pragma alloc_text(PAGE, SerUnload)
#pragma alloc_text(PAGE, SerCreateClose)
#endif

#define UART(ext, reg) ((ext)->Port + (reg))

static NTSTATUS SerComplete(_Inout_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_SERIAL_INCREMENT);
    return Status;
}

/* Completes an IRP the driver took with IoAcquireRemoveLock, then releases the lock (the WDK
 * samples' order: the device cannot go away while the IRP is being completed). No spin lock
 * held (G6). The IRP is only the lock's tag here: it may already be freed. */
static VOID SerFinish(_In_ PSER_EXTENSION ext, _Inout_ PIRP Irp, _In_ NTSTATUS Status,
                      _In_ ULONG_PTR Information)
{
    SerComplete(Irp, Status, Information);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
}

/* ==== the interrupt side: everything here runs at DIRQL under the interrupt lock (G1) ==== */

static VOID SerNoteLineStatus(_In_ PSER_EXTENSION ext, _In_ UCHAR lsr)
{
    if (!(lsr & UART_LSR_ERRORS))
        return;
    if (lsr & UART_LSR_OE) {
        ext->IsrErrors |= SERIAL_ERROR_OVERRUN;
        ext->IsrOverruns++;
    }
    if (lsr & UART_LSR_PE) {
        ext->IsrErrors |= SERIAL_ERROR_PARITY;
        ext->IsrParity++;
    }
    if (lsr & UART_LSR_FE) {
        ext->IsrErrors |= SERIAL_ERROR_FRAMING;
        ext->IsrFraming++;
    }
    if (lsr & UART_LSR_BI) {
        ext->IsrErrors |= SERIAL_ERROR_BREAK;
        ext->IsrEvents |= SERIAL_EV_BREAK;
    }
    ext->IsrEvents |= SERIAL_EV_ERR;
}

static VOID SerNoteModemStatus(_In_ PSER_EXTENSION ext, _In_ UCHAR msr)
{
    if (msr & UART_MSR_DCTS)
        ext->IsrEvents |= SERIAL_EV_CTS;
    if (msr & UART_MSR_DDSR)
        ext->IsrEvents |= SERIAL_EV_DSR;
    if (msr & UART_MSR_DDCD)
        ext->IsrEvents |= SERIAL_EV_RLSD;
    if (msr & UART_MSR_TERI)
        ext->IsrEvents |= SERIAL_EV_RING;
}

/* Receive FIFO -> ring buffer, reading LSR before each character: its error bits belong to the
 * character at the top of the FIFO. */
static VOID SerDrainFifo(_In_ PSER_EXTENSION ext)
{
    ULONG n;
    for (n = 0; n < 2 * UART_FIFO_SIZE; n++) {
        UCHAR lsr = READ_PORT_UCHAR(UART(ext, UART_LSR));
        UCHAR c;
        SerNoteLineStatus(ext, lsr);
        if (!(lsr & UART_LSR_DR) || lsr == 0xFF)
            break;
        c = READ_PORT_UCHAR(UART(ext, UART_RBR));
        if (ext->RingCount == SER_RING) {
            ext->IsrErrors |= SERIAL_ERROR_QUEUEOVERRUN;
            ext->IsrEvents |= SERIAL_EV_ERR;
            continue;
        }
        ext->Ring[(ext->RingHead + ext->RingCount) % SER_RING] = c;
        ext->RingCount++;
        ext->IsrEvents |= SERIAL_EV_RXCHAR;
    }
}

/* THR empty: up to a FIFO's worth of the current write, or the end of it. */
static VOID SerFillFifo(_In_ PSER_EXTENSION ext)
{
    ULONG n;
    if (ext->TxLeft > 0) {
        for (n = 0; n < UART_FIFO_SIZE && ext->TxLeft > 0; n++, ext->TxLeft--)
            WRITE_PORT_UCHAR(UART(ext, UART_THR), *ext->TxNext++);
    } else if (ext->TxBusy) {
        ext->TxBusy = FALSE;
        ext->TxDone = TRUE;
        ext->TxNext = NULL;
        ext->IsrEvents |= SERIAL_EV_TXEMPTY;
        ext->Ier &= (UCHAR)~UART_IER_ETBEI;
        WRITE_PORT_UCHAR(UART(ext, UART_IER), ext->Ier);
    }
}

/* Service the UART until IIR reports nothing pending; TRUE when there was something. The ISR
 * and the lost-interrupt poll share it. */
static BOOLEAN SerService(_In_ PSER_EXTENSION ext)
{
    BOOLEAN serviced = FALSE;
    ULONG pass;
    for (pass = 0; pass < SER_ISR_LOOPS; pass++) {
        UCHAR iir = READ_PORT_UCHAR(UART(ext, UART_IIR));
        if (iir & UART_IIR_NONE) /* also 0xFF: the UART is gone */
            break;
        serviced = TRUE;
        switch (iir & UART_IIR_ID) {
        case UART_IIR_RLS:
            SerNoteLineStatus(ext, READ_PORT_UCHAR(UART(ext, UART_LSR)));
            break;
        case UART_IIR_RDA:
        case UART_IIR_TIMEOUT:
            SerDrainFifo(ext);
            break;
        case UART_IIR_THRE:
            SerFillFifo(ext);
            break;
        default: /* UART_IIR_MS */
            SerNoteModemStatus(ext, READ_PORT_UCHAR(UART(ext, UART_MSR)));
            break;
        }
    }
    /* G18: the ISR queues the DpcForIsr and returns; the DPC finds everything noted since (G14:
     * several interrupts may share one DPC run). */
    if (serviced)
        IoRequestDpc(ext->Self, NULL, NULL);
    return serviced;
}

_Use_decl_annotations_ static BOOLEAN SerIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    PSER_EXTENSION ext = ServiceContext;
    UNREFERENCED_PARAMETER(Interrupt);
#if defined(BROKEN_COMPLETE_IN_ISR)
    {
        /* BROKEN (G6): completes the write from the ISR, at DIRQL, instead of leaving it to the
         * DPC. */
        BOOLEAN serviced = SerService(ext);
        if (ext->TxDone && ext->CurrentWrite != NULL) {
            PIRP irp = ext->CurrentWrite;
            ext->CurrentWrite = NULL;
            ext->TxDone = FALSE;
            (void)IoSetCancelRoutine(irp, NULL);
            SerFinish(ext, irp, STATUS_SUCCESS,
                      IoGetCurrentIrpStackLocation(irp)->Parameters.Write.Length);
        }
        return serviced;
    }
#else
    return SerService(ext);
#endif
}

/* ---- SynchCritSection routines (KeSynchronizeExecution) ---- */

typedef struct _SER_SYNC {
    PSER_EXTENSION Ext;
    PUCHAR Buffer;
    ULONG Length; /* SerCopyRing: room (in), bytes copied (out); SerStartTransmit: bytes */
    BOOLEAN Purge;
    ULONG Events, Errors, Overruns, Parity, Framing, Available;
    BOOLEAN TxDone;
    UCHAR Lcr, Mcr, Fcr, Msr;
    USHORT Divisor;
    BOOLEAN SetDivisor, Quiesce, Found;
} SER_SYNC, *PSER_SYNC;

/* What the ISR noted since the last take; the DPC works from this snapshot. */
_Use_decl_annotations_ static BOOLEAN SerTakeIsrState(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    PSER_EXTENSION ext = s->Ext;
    s->Events = ext->IsrEvents;
    s->Errors = ext->IsrErrors;
    s->Overruns = ext->IsrOverruns;
    s->Parity = ext->IsrParity;
    s->Framing = ext->IsrFraming;
    s->TxDone = ext->TxDone;
    s->Available = ext->RingCount;
    ext->IsrEvents = ext->IsrErrors = 0;
    ext->IsrOverruns = ext->IsrParity = ext->IsrFraming = 0;
    ext->TxDone = FALSE;
    return TRUE;
}

/* G7: programs the UART for the next write (the ISR refills the FIFO on THRE); Length 0 aborts
 * the one in progress and returns in Length the bytes not handed to the UART yet. */
_Use_decl_annotations_ static BOOLEAN SerStartTransmit(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    PSER_EXTENSION ext = s->Ext;
    if (s->Length == 0) {
        s->Length = ext->TxLeft;
        ext->TxLeft = 0;
        ext->TxNext = NULL;
        ext->TxBusy = FALSE;
        ext->TxDone = FALSE;
        ext->Ier &= (UCHAR)~UART_IER_ETBEI;
        WRITE_PORT_UCHAR(UART(ext, UART_IER), ext->Ier);
        WRITE_PORT_UCHAR(UART(ext, UART_FCR),
                         UART_FCR_ENABLE | UART_FCR_TRIGGER_8 | UART_FCR_TX_RESET);
        return TRUE;
    }
    ext->TxNext = s->Buffer;
    ext->TxLeft = s->Length;
    ext->TxBusy = TRUE;
    ext->TxDone = FALSE;
    /* enabling ETBEI with the FIFO empty raises THRE: the ISR fills the FIFO */
    ext->Ier |= UART_IER_ETBEI;
    WRITE_PORT_UCHAR(UART(ext, UART_IER), ext->Ier);
    return TRUE;
}

/* Ring buffer -> a read's system buffer (G16: the data is in place before completion). */
_Use_decl_annotations_ static BOOLEAN SerCopyRing(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    PSER_EXTENSION ext = s->Ext;
    ULONG n = 0;
    if (s->Purge) {
        ext->RingHead = ext->RingCount = 0;
        WRITE_PORT_UCHAR(UART(ext, UART_FCR),
                         UART_FCR_ENABLE | UART_FCR_TRIGGER_8 | UART_FCR_RX_RESET);
    } else {
        while (n < s->Length && ext->RingCount > 0) {
            ULONG chunk = SER_RING - ext->RingHead;
            if (chunk > ext->RingCount)
                chunk = ext->RingCount;
            if (chunk > s->Length - n)
                chunk = s->Length - n;
            RtlCopyMemory(s->Buffer + n, &ext->Ring[ext->RingHead], chunk);
            ext->RingHead = (ext->RingHead + chunk) % SER_RING;
            ext->RingCount -= chunk;
            n += chunk;
        }
    }
    s->Length = n;
    s->Available = ext->RingCount;
    return TRUE;
}

_Use_decl_annotations_ static BOOLEAN SerProgramUart(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    PSER_EXTENSION ext = s->Ext;
    if (s->Quiesce) {
        ext->Ier = 0;
        WRITE_PORT_UCHAR(UART(ext, UART_IER), 0);
        WRITE_PORT_UCHAR(UART(ext, UART_MCR), 0);
        return TRUE;
    }
    if (s->SetDivisor) {
        WRITE_PORT_UCHAR(UART(ext, UART_LCR), (UCHAR)(s->Lcr | UART_LCR_DLAB));
        WRITE_PORT_UCHAR(UART(ext, UART_DLL), (UCHAR)(s->Divisor & 0xFF));
        WRITE_PORT_UCHAR(UART(ext, UART_DLM), (UCHAR)(s->Divisor >> 8));
    }
    WRITE_PORT_UCHAR(UART(ext, UART_LCR), s->Lcr);
    if (s->Fcr != 0)
        WRITE_PORT_UCHAR(UART(ext, UART_FCR), s->Fcr);
    ext->Mcr = s->Mcr;
    WRITE_PORT_UCHAR(UART(ext, UART_MCR), s->Mcr);
    ext->Ier = (UCHAR)(UART_IER_ERBFI | UART_IER_ELSI | UART_IER_EDSSI |
                       (ext->TxBusy ? UART_IER_ETBEI : 0));
    WRITE_PORT_UCHAR(UART(ext, UART_IER), ext->Ier);
    return TRUE;
}

/* MSR for GET_MODEMSTATUS: reading it clears the deltas, so the events they carry are noted
 * here as the ISR would. */
_Use_decl_annotations_ static BOOLEAN SerReadModem(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    s->Msr = READ_PORT_UCHAR(UART(s->Ext, UART_MSR));
    s->Available = s->Ext->RingCount;
    if (s->Msr & UART_MSR_DELTAS) {
        /* the read took the modem-status interrupt away from the ISR: its events need a DPC
         * run after this one */
        SerNoteModemStatus(s->Ext, s->Msr);
        IoRequestDpc(s->Ext->Self, NULL, NULL);
    }
    return TRUE;
}

/* Queues the DpcForIsr from the interrupt's IRQL (IoRequestDpc is a DIRQL routine). */
_Use_decl_annotations_ static BOOLEAN SerKickDpc(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    IoRequestDpc(s->Ext->Self, NULL, NULL);
    return TRUE;
}

/* The poll: whatever the UART holds pending is serviced as the ISR would. */
_Use_decl_annotations_ static BOOLEAN SerPollUart(PVOID SynchronizeContext)
{
    PSER_SYNC s = SynchronizeContext;
    s->Found = SerService(s->Ext);
    return TRUE;
}

static VOID SerSync(_In_ PSER_EXTENSION ext, _In_ PKSYNCHRONIZE_ROUTINE Routine,
                    _Inout_ PSER_SYNC s)
{
    s->Ext = ext;
    (void)KeSynchronizeExecution(ext->Interrupt, Routine, s);
}

/* ==== requests (Lock held unless said) ==== */

/* Parks @Irp in @Slot with @Cancel as its cancel routine; FALSE when it was cancelled already
 * (the caller completes it). */
static BOOLEAN SerPark(_Inout_ PIRP *Slot, _Inout_ PIRP Irp, _In_ PDRIVER_CANCEL Cancel)
{
    IoMarkIrpPending(Irp);
    *Slot = Irp;
    (void)IoSetCancelRoutine(Irp, Cancel);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        *Slot = NULL;
        return FALSE;
    }
    return TRUE;
}

/* Takes the IRP out of @Slot unless its cancel routine has claimed it. */
static PIRP SerUnpark(_Inout_ PIRP *Slot)
{
    PIRP irp = *Slot;
    if (irp == NULL || IoSetCancelRoutine(irp, NULL) == NULL)
        return NULL;
    *Slot = NULL;
    return irp;
}

static VOID SerArmPoll(_In_ PSER_EXTENSION ext)
{
    LARGE_INTEGER due;
    if (ext->PollArmed)
        return;
    ext->PollArmed = TRUE;
    due.QuadPart = -(LONGLONG)SER_POLL_MS * 10000;
    (void)KeSetTimer(&ext->PollTimer, due, &ext->PollDpc);
}

static VOID SerStopReadTimers(_In_ PSER_EXTENSION ext)
{
    if (ext->TotalArmed)
        (void)KeCancelTimer(&ext->TotalTimer);
    if (ext->IntervalArmed)
        (void)KeCancelTimer(&ext->IntervalTimer);
    ext->TotalArmed = ext->IntervalArmed = FALSE;
}

/* The interval timer, due one interval after the last byte. */
static VOID SerArmInterval(_In_ PSER_EXTENSION ext)
{
    LARGE_INTEGER due;
    ULONGLONG now = KeQueryInterruptTime();
    ULONG ms = ext->ReadInterval;
    if (ms == 0 || ms == MAXULONG)
        return;
    ext->IntervalArmed = TRUE;
    ext->IntervalDue = ext->LastByteTime + (ULONGLONG)ms * 10000;
    due.QuadPart = ext->IntervalDue > now ? -(LONGLONG)(ext->IntervalDue - now) : -1;
    (void)KeSetTimer(&ext->IntervalTimer, due, &ext->IntervalDpc);
}

/* Moves what the ring holds into the current read. TRUE when the read is now full. */
static BOOLEAN SerFillRead(_In_ PSER_EXTENSION ext)
{
    PIRP irp = ext->CurrentRead;
    ULONG length = IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length;
    ULONG before = ext->ReadDone;
    SER_SYNC s;
    RtlZeroMemory(&s, sizeof s);
    s.Buffer = (PUCHAR)irp->AssociatedIrp.SystemBuffer + ext->ReadDone;
    s.Length = length - ext->ReadDone;
    SerSync(ext, SerCopyRing, &s);
    ext->ReadDone += s.Length;
    if (s.Length > 0)
        ext->LastByteTime = KeQueryInterruptTime();
    if (before == 0 && ext->ReadDone > 0 && !ext->IntervalArmed)
        SerArmInterval(ext); /* the interval timeout runs from the first character */
    return ext->ReadDone == length;
}

/* Takes the current read out to complete it; *Info gets its byte count. */
static PIRP SerTakeRead(_In_ PSER_EXTENSION ext, _Out_ PULONG_PTR Info)
{
    PIRP irp = SerUnpark(&ext->CurrentRead);
    *Info = 0;
    if (irp == NULL)
        return NULL;
    SerStopReadTimers(ext);
    *Info = ext->ReadDone;
    ext->ReadDone = 0;
    return irp;
}

/* Stops the write in progress (Lock held, started); returns the byte count for its
 * IoStatus.Information: what was handed to the UART, as serial.sys reports it. */
static ULONG_PTR SerAbortWrite(_In_ PSER_EXTENSION ext, _In_ PIRP Irp)
{
    SER_SYNC s;
    RtlZeroMemory(&s, sizeof s); /* Length 0: stop transmitting */
    SerSync(ext, SerStartTransmit, &s);
    return IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length - s.Length;
}

/* Starts the next queued write when none is in progress. It keeps its cancel routine while in
 * progress: SerCancelWrite stops the transmitter. */
static VOID SerStartNextWrite(_In_ PSER_EXTENSION ext)
{
    SER_SYNC s;
    PIRP irp;
    if (ext->CurrentWrite != NULL || IsListEmpty(&ext->WriteQueue))
        return;
    irp = CONTAINING_RECORD(RemoveHeadList(&ext->WriteQueue), IRP, Tail.Overlay.ListEntry);
    ext->CurrentWrite = irp;
    RtlZeroMemory(&s, sizeof s);
    s.Buffer = irp->AssociatedIrp.SystemBuffer;
    s.Length = IoGetCurrentIrpStackLocation(irp)->Parameters.Write.Length;
    SerSync(ext, SerStartTransmit, &s);
    SerArmPoll(ext);
}

/* One error-log entry per error kind the ISR saw (G13). IRQL <= DISPATCH_LEVEL. */
static VOID SerLogError(_In_ PSER_EXTENSION ext, _In_ NTSTATUS Code, _In_ ULONG Count,
                        _In_ ULONG Sequence)
{
    PIO_ERROR_LOG_PACKET entry;
    if (Count == 0)
        return;
    entry = IoAllocateErrorLogEntry(ext->Self, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    if (entry == NULL)
        return; /* low resources: the error still shows in GET_COMMSTATUS */
    entry->ErrorCode = Code;
    entry->UniqueErrorValue = (ULONG)Code & 0xFF;
    entry->FinalStatus = STATUS_SUCCESS;
    entry->SequenceNumber = Sequence;
    entry->MajorFunctionCode = IRP_MJ_READ;
    entry->DumpDataSize = sizeof(ULONG);
    entry->DumpData[0] = Count;
    IoWriteErrorLogEntry(entry);
}

/* Answers a status IOCTL from what the DPC just read from the device (G15). */
static VOID SerAnswerStatus(_In_ PSER_EXTENSION ext, _Inout_ PIRP Irp, _In_ PSER_SYNC s,
                            _Out_ PNTSTATUS Status, _Out_ PULONG_PTR Info)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PVOID buffer = Irp->AssociatedIrp.SystemBuffer;
    *Status = STATUS_SUCCESS;
    if (sl->Parameters.DeviceIoControl.IoControlCode == IOCTL_SERIAL_GET_MODEMSTATUS) {
        *(PULONG)buffer =
            s->Msr & (SERIAL_CTS_STATE | SERIAL_DSR_STATE | SERIAL_RI_STATE | SERIAL_DCD_STATE);
#if defined(BROKEN_STATUS_SIZE)
        /* BROKEN (G16): the size of the wrong structure: claims 20 bytes of a 4-byte buffer. */
        *Info = sizeof(SERIAL_STATUS);
#else
        *Info = sizeof(ULONG);
#endif
    } else { /* IOCTL_SERIAL_GET_COMMSTATUS */
        PSERIAL_STATUS st = buffer;
        PLIST_ENTRY e;
        ULONG queued = 0;
        RtlZeroMemory(st, sizeof *st);
        st->Errors = ext->Errors;
        ext->Errors = 0;
        st->AmountInInQueue = s->Available;
        if (ext->CurrentWrite != NULL)
            queued += IoGetCurrentIrpStackLocation(ext->CurrentWrite)->Parameters.Write.Length;
        for (e = ext->WriteQueue.Flink; e != &ext->WriteQueue; e = e->Flink)
            queued +=
                IoGetCurrentIrpStackLocation(CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry))
                    ->Parameters.Write.Length;
        st->AmountInOutQueue = queued;
        *Info = sizeof(SERIAL_STATUS);
    }
}

#define SER_DONE_MAX 8

typedef struct _SER_DONE {
    PIRP Irp[SER_DONE_MAX];
    NTSTATUS Status[SER_DONE_MAX];
    ULONG_PTR Info[SER_DONE_MAX];
    ULONG Count;
} SER_DONE, *PSER_DONE;

static VOID SerDoneAdd(_Inout_ PSER_DONE d, _In_opt_ PIRP Irp, _In_ NTSTATUS Status,
                       _In_ ULONG_PTR Info)
{
    if (Irp == NULL)
        return;
    d->Irp[d->Count] = Irp;
    d->Status[d->Count] = Status;
    d->Info[d->Count] = Info;
    d->Count++;
}

_Use_decl_annotations_ static VOID SerDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                PVOID Context)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    SER_DONE done;
    SER_SYNC s;
    ULONG_PTR info;
    PIRP irp;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Irp);
    UNREFERENCED_PARAMETER(Context);

    RtlZeroMemory(&done, sizeof done);
    RtlZeroMemory(&s, sizeof s);
    /* G4: already at DISPATCH_LEVEL */
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (!ext->Started) {
        KeReleaseSpinLockFromDpcLevel(&ext->Lock);
        return;
    }
    /* G1: what the ISR wrote is read under the interrupt's lock */
    SerSync(ext, SerTakeIsrState, &s);
    ext->Errors |= s.Errors;

    /* G6: finish the write the ISR reported and start the next one */
    if (s.TxDone && ext->CurrentWrite != NULL) {
        /* NULL: SerCancelWrite has it and starts the next one */
        irp = SerUnpark(&ext->CurrentWrite);
        if (irp != NULL) {
            SerDoneAdd(&done, irp, STATUS_SUCCESS,
                       IoGetCurrentIrpStackLocation(irp)->Parameters.Write.Length);
            SerStartNextWrite(ext);
        }
#if defined(BROKEN_UNSYNC_REGISTER)
        /* BROKEN (G1): peeks at LSR outside the interrupt's lock to see whether the last byte
         * has left the shift register; the read races the ISR and clears error bits it should
         * have seen. */
        if (READ_PORT_UCHAR(UART(ext, UART_LSR)) & UART_LSR_TEMT)
            ext->HistoryMask |= s.Events & ext->WaitMask & SERIAL_EV_TXEMPTY;
#endif
    }
    /* received bytes into the read's system buffer; complete it when full */
    if (ext->CurrentRead != NULL && s.Available > 0 &&
        (SerFillRead(ext) || (ext->ReadAnyByte && ext->ReadDone > 0))) {
        irp = SerTakeRead(ext, &info);
        SerDoneAdd(&done, irp, STATUS_SUCCESS, info);
    }
    ext->HistoryMask |= s.Events & ext->WaitMask;
    if (ext->HistoryMask != 0 && ext->CurrentWait != NULL) {
        irp = SerUnpark(&ext->CurrentWait);
        if (irp != NULL) {
            *(PULONG)irp->AssociatedIrp.SystemBuffer = ext->HistoryMask;
            ext->HistoryMask = 0;
            SerDoneAdd(&done, irp, STATUS_SUCCESS, sizeof(ULONG));
        }
    }
    /* G15: the status requests that read the device are answered here, from the registers as
     * they are now */
    if (!IsListEmpty(&ext->StatusQueue)) {
        SerSync(ext, SerReadModem, &s);
        while (!IsListEmpty(&ext->StatusQueue) && done.Count < SER_DONE_MAX) {
            NTSTATUS st;
            irp = CONTAINING_RECORD(RemoveHeadList(&ext->StatusQueue), IRP, Tail.Overlay.ListEntry);
            SerAnswerStatus(ext, irp, &s, &st, &info);
            SerDoneAdd(&done, irp, st, info);
        }
        if (!IsListEmpty(&ext->StatusQueue)) /* more than one run's worth: run again */
            SerSync(ext, SerKickDpc, &s);
    }
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);

    /* G13: log line errors, then complete each IRP once, with no lock held */
    SerLogError(ext, IO_ERR_OVERRUN_ERROR, s.Overruns, 0);
    SerLogError(ext, IO_ERR_PARITY, s.Parity, 1);
    SerLogError(ext, SER_LOG_FRAMING, s.Framing, 2);
    for (ULONG i = 0; i < done.Count; i++)
        SerFinish(ext, done.Irp[i], done.Status[i], done.Info[i]);
}

/* CustomTimerDpc: the read's total timeout. It completes with what arrived (STATUS_TIMEOUT). */
_Use_decl_annotations_ static VOID SerTotalTimeout(PKDPC Dpc, PVOID DeferredContext,
                                                   PVOID SystemArgument1, PVOID SystemArgument2)
{
    PSER_EXTENSION ext = DeferredContext;
    PIRP irp = NULL;
    ULONG_PTR info = 0;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (ext->Started && ext->TotalArmed && ext->CurrentRead != NULL &&
        KeQueryInterruptTime() >= ext->TotalDue) {
        (void)SerFillRead(ext); /* what the ISR put in the ring since the last DPC */
        irp = SerTakeRead(ext, &info);
    }
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
    if (irp != NULL)
        SerFinish(ext, irp, STATUS_TIMEOUT, info);
}

/* CustomTimerDpc: the read's interval timeout. Nothing arrived for an interval: the read
 * completes (STATUS_TIMEOUT, as the total timeout); else the timer runs again, due an interval
 * after the last byte. */
_Use_decl_annotations_ static VOID SerIntervalTimeout(PKDPC Dpc, PVOID DeferredContext,
                                                      PVOID SystemArgument1, PVOID SystemArgument2)
{
    PSER_EXTENSION ext = DeferredContext;
    PIRP irp = NULL;
    ULONG_PTR info = 0;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    if (ext->Started && ext->IntervalArmed && ext->CurrentRead != NULL &&
        KeQueryInterruptTime() >= ext->IntervalDue) {
        if (SerFillRead(ext) ||
            KeQueryInterruptTime() >= ext->LastByteTime + (ULONGLONG)ext->ReadInterval * 10000)
            irp = SerTakeRead(ext, &info); /* full, or silent for an interval */
        else
            SerArmInterval(ext);
    }
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
    if (irp != NULL)
        SerFinish(ext, irp,
                  info == IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length
                      ? STATUS_SUCCESS
                      : STATUS_TIMEOUT,
                  info);
}

/* CustomTimerDpc: while requests are outstanding, service the UART in case its interrupt was
 * lost (an edge-triggered line gets no new edge while a source stays pending) or is late. */
_Use_decl_annotations_ static VOID SerPoll(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                                           PVOID SystemArgument2)
{
    PSER_EXTENSION ext = DeferredContext;
    SER_SYNC s;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    RtlZeroMemory(&s, sizeof s);
    KeAcquireSpinLockAtDpcLevel(&ext->Lock);
    ext->PollArmed = FALSE;
    if (ext->Started) {
        SerSync(ext, SerPollUart, &s); /* queues the DpcForIsr when it found work */
        if (s.Found)
            ext->Recoveries++;
        if (ext->CurrentWrite != NULL || ext->CurrentRead != NULL)
            SerArmPoll(ext);
    }
    KeReleaseSpinLockFromDpcLevel(&ext->Lock);
}

_Use_decl_annotations_ static VOID SerCancelRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    ULONG_PTR info = 0;
    KIRQL irql;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (ext->CurrentRead == Irp) {
        ext->CurrentRead = NULL;
        SerStopReadTimers(ext);
        info = ext->ReadDone;
        ext->ReadDone = 0;
    }
    KeReleaseSpinLock(&ext->Lock, irql);
    SerFinish(ext, Irp, STATUS_CANCELLED, info);
}

_Use_decl_annotations_ static VOID SerCancelWait(PDEVICE_OBJECT DeviceObject, PIRP Irp)
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

/* A write is cancellable queued and in progress. The one in progress is stopped first, under
 * the interrupt's lock: after that the ISR no longer reads its system buffer. */
_Use_decl_annotations_ static VOID SerCancelWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    ULONG_PTR info = 0;
    KIRQL irql;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (ext->CurrentWrite == Irp) {
        ext->CurrentWrite = NULL;
        if (ext->Started) { /* else SerStopHardware stopped the UART */
            info = SerAbortWrite(ext, Irp);
            SerStartNextWrite(ext);
        }
    } else {
        /* queued, or unlinked already by a purge that lost the race (a self-linked entry) */
        RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    }
    KeReleaseSpinLock(&ext->Lock, irql);
    SerFinish(ext, Irp, STATUS_CANCELLED, info);
}

/* ==== dispatch routines ==== */

_Use_decl_annotations_ static NTSTATUS SerCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status;
    PAGED_CODE();
    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SerComplete(Irp, status, 0);
    if (IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE && !ext->Started)
        status = STATUS_DEVICE_NOT_READY;
    SerFinish(ext, Irp, status, 0);
    return status;
}

/* Aborts what @Mask says (SERIAL_PURGE_*). PASSIVE or DISPATCH_LEVEL, Lock not held. */
static VOID SerPurge(_In_ PSER_EXTENSION ext, _In_ ULONG Mask)
{
    LIST_ENTRY aborted;
    PIRP read = NULL, write = NULL;
    ULONG_PTR readInfo = 0, writeInfo = 0;
    SER_SYNC s;
    KIRQL irql;
    InitializeListHead(&aborted);
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (ext->Started && (Mask & SERIAL_PURGE_TXABORT)) {
        write = SerUnpark(&ext->CurrentWrite); /* NULL: SerCancelWrite has it */
        if (write != NULL)
            writeInfo = SerAbortWrite(ext, write);
        while (!IsListEmpty(&ext->WriteQueue)) {
            PLIST_ENTRY e = RemoveHeadList(&ext->WriteQueue);
            if (IoSetCancelRoutine(CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry), NULL) != NULL)
                InsertTailList(&aborted, e);
            else
                InitializeListHead(e); /* its cancel routine is waiting for Lock: it completes it */
        }
    }
    if (Mask & SERIAL_PURGE_RXABORT)
        read = SerTakeRead(ext, &readInfo);
    if (ext->Started && (Mask & SERIAL_PURGE_RXCLEAR)) {
        RtlZeroMemory(&s, sizeof s);
        s.Purge = TRUE;
        SerSync(ext, SerCopyRing, &s);
    }
    KeReleaseSpinLock(&ext->Lock, irql);
    if (read != NULL)
        SerFinish(ext, read, STATUS_CANCELLED, readInfo);
    if (write != NULL)
        SerFinish(ext, write, STATUS_CANCELLED, writeInfo);
    while (!IsListEmpty(&aborted))
        SerFinish(ext, CONTAINING_RECORD(RemoveHeadList(&aborted), IRP, Tail.Overlay.ListEntry),
                  STATUS_CANCELLED, 0);
}

_Use_decl_annotations_ static NTSTATUS SerCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIRP wait;
    KIRQL irql;
    SerPurge(ext, SERIAL_PURGE_TXABORT | SERIAL_PURGE_RXABORT);
    KeAcquireSpinLock(&ext->Lock, &irql);
    wait = SerUnpark(&ext->CurrentWait);
    ext->WaitMask = ext->HistoryMask = 0;
    KeReleaseSpinLock(&ext->Lock, irql);
    if (wait != NULL)
        SerFinish(ext, wait, STATUS_CANCELLED, 0);
    return SerComplete(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ static NTSTATUS SerRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    ULONG length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length;
    SERIAL_TIMEOUTS to;
    ULONG total = 0;
    ULONG_PTR info;
    BOOLEAN anyByte;
    LARGE_INTEGER due;
    KIRQL irql;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SerComplete(Irp, status, 0);
    if (length == 0) {
        SerFinish(ext, Irp, STATUS_SUCCESS, 0);
        return STATUS_SUCCESS;
    }
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (!ext->Started || ext->CurrentRead != NULL) {
        status = ext->Started ? STATUS_INVALID_PARAMETER : STATUS_DEVICE_NOT_READY;
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, status, 0);
        return status;
    }
    to = ext->Timeouts;
    /* the read takes what is there at once */
    ext->CurrentRead = Irp;
    ext->ReadDone = 0;
    ext->ReadInterval = to.ReadIntervalTimeout;
    if (SerFillRead(ext) ||
        (to.ReadIntervalTimeout == MAXULONG && to.ReadTotalTimeoutMultiplier == 0 &&
         to.ReadTotalTimeoutConstant == 0)) {
        /* full, or MAXULONG/0/0: return at once with what is there */
        info = ext->ReadDone;
        ext->CurrentRead = NULL;
        ext->ReadDone = 0;
        SerStopReadTimers(ext);
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, STATUS_SUCCESS, info);
        return STATUS_SUCCESS;
    }
    /* MAXULONG/MAXULONG/n: return as soon as anything is there, else after n ms */
    anyByte = to.ReadIntervalTimeout == MAXULONG && to.ReadTotalTimeoutMultiplier == MAXULONG &&
              to.ReadTotalTimeoutConstant != 0 && to.ReadTotalTimeoutConstant != MAXULONG;
    if (anyByte && ext->ReadDone > 0) {
        info = ext->ReadDone;
        ext->CurrentRead = NULL;
        ext->ReadDone = 0;
        SerStopReadTimers(ext);
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, STATUS_SUCCESS, info);
        return STATUS_SUCCESS;
    }
    if (anyByte) {
        total = to.ReadTotalTimeoutConstant;
    } else if (!NT_SUCCESS(RtlULongMult(to.ReadTotalTimeoutMultiplier, length, &total)) ||
               !NT_SUCCESS(RtlULongAdd(total, to.ReadTotalTimeoutConstant, &total))) {
        total = MAXULONG;
    }
    ext->CurrentRead = NULL;
    ext->ReadAnyByte = anyByte;
    if (!SerPark(&ext->CurrentRead, Irp, SerCancelRead)) {
        SerStopReadTimers(ext);
        info = ext->ReadDone;
        ext->ReadDone = 0;
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, STATUS_CANCELLED, info);
        return STATUS_PENDING;
    }
    if (total != 0) {
        ext->TotalArmed = TRUE;
        ext->TotalDue = KeQueryInterruptTime() + (ULONGLONG)total * 10000;
        due.QuadPart = -(LONGLONG)total * 10000;
        (void)KeSetTimer(&ext->TotalTimer, due, &ext->TotalDpc);
    }
    SerArmPoll(ext);
    KeReleaseSpinLock(&ext->Lock, irql);
    return STATUS_PENDING;
}

_Use_decl_annotations_ static NTSTATUS SerWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
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
    (void)IoSetCancelRoutine(Irp, SerCancelWrite);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        /* cancelled before it was queued; had the cancel routine been called, it would dequeue it */
        RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, STATUS_CANCELLED, 0);
        return STATUS_PENDING;
    }
    SerStartNextWrite(ext);
    KeReleaseSpinLock(&ext->Lock, irql);
    return STATUS_PENDING;
}

/* Programs baud rate, line control and modem control through the interrupt's lock (G1). */
static NTSTATUS SerSetLine(_In_ PSER_EXTENSION ext, _In_opt_ const SERIAL_BAUD_RATE *Baud,
                           _In_opt_ const SERIAL_LINE_CONTROL *Line, _In_ UCHAR McrSet,
                           _In_ UCHAR McrClear, _In_ UCHAR Fcr)
{
    SERIAL_LINE_CONTROL lc = ext->LineControl;
    SER_SYNC s;
    if (Baud != NULL && (Baud->BaudRate == 0 || Baud->BaudRate > UART_MAX_BAUD ||
                         UART_MAX_BAUD % Baud->BaudRate != 0))
        return STATUS_INVALID_PARAMETER;
    if (Line != NULL) {
        if (Line->WordLength < 5 || Line->WordLength > 8 ||
            (Line->StopBits != STOP_BIT_1 && Line->StopBits != STOP_BITS_2) ||
            (Line->Parity != NO_PARITY && Line->Parity != ODD_PARITY &&
             Line->Parity != EVEN_PARITY))
            return STATUS_INVALID_PARAMETER;
        lc = *Line;
    }
    RtlZeroMemory(&s, sizeof s);
    s.Lcr = (UCHAR)((lc.WordLength - 5) | (lc.StopBits == STOP_BITS_2 ? UART_LCR_STB : 0) |
                    (lc.Parity == ODD_PARITY    ? UART_LCR_PEN
                     : lc.Parity == EVEN_PARITY ? UART_LCR_PEN | UART_LCR_EPS
                                                : 0));
    s.Mcr = (UCHAR)((ext->Mcr | McrSet | UART_MCR_OUT2) & ~McrClear);
    s.Fcr = Fcr;
    if (Baud != NULL) {
        s.SetDivisor = TRUE;
        s.Divisor = (USHORT)(UART_MAX_BAUD / Baud->BaudRate);
    }
    SerSync(ext, SerProgramUart, &s);
    if (Baud != NULL)
        ext->BaudRate = Baud->BaudRate;
    ext->LineControl = lc;
    return STATUS_SUCCESS;
}

/* What SetCommState may ask of SET_HANDFLOW here: DTR and RTS held on or off, and
 * SERIAL_XOFF_CONTINUE (which only matters with XON/XOFF). Handshakes, XON/XOFF, error and
 * break characters, null stripping and abort-on-error are not implemented: refused, so the
 * program learns it at SetCommState instead of losing data later. */
static NTSTATUS SerCheckHandFlow(_In_ const SERIAL_HANDFLOW *Hf, _Out_ PUCHAR McrSet,
                                 _Out_ PUCHAR McrClear)
{
    ULONG dtr = Hf->ControlHandShake & SERIAL_DTR_MASK, rts = Hf->FlowReplace & SERIAL_RTS_MASK;
    *McrSet = *McrClear = 0;
    if ((Hf->ControlHandShake & SERIAL_CONTROL_INVALID) ||
        (Hf->FlowReplace & SERIAL_FLOW_INVALID) || dtr == SERIAL_DTR_MASK)
        return STATUS_INVALID_PARAMETER;
    if ((Hf->ControlHandShake & ~SERIAL_DTR_CONTROL) != 0 ||
        (Hf->FlowReplace & ~(SERIAL_RTS_CONTROL | SERIAL_XOFF_CONTINUE)) != 0)
        return STATUS_NOT_SUPPORTED;
    if (Hf->XonLimit < 0 || Hf->XoffLimit < 0 || (ULONG)Hf->XonLimit > SER_RING ||
        (ULONG)Hf->XoffLimit > SER_RING)
        return STATUS_INVALID_PARAMETER;
    *(dtr ? McrSet : McrClear) |= UART_MCR_DTR;
    *(rts ? McrSet : McrClear) |= UART_MCR_RTS;
    return STATUS_SUCCESS;
}

/* GET_PROPERTIES (GetCommProperties): what this port can be set to. */
static VOID SerProperties(_Out_ PSERIAL_COMMPROP P)
{
    static const struct {
        ULONG Baud, Bit;
    } bauds[] = {
        {300, SERIAL_BAUD_300},      {600, SERIAL_BAUD_600},     {1200, SERIAL_BAUD_1200},
        {1800, SERIAL_BAUD_1800},    {2400, SERIAL_BAUD_2400},   {4800, SERIAL_BAUD_4800},
        {7200, SERIAL_BAUD_7200},    {9600, SERIAL_BAUD_9600},   {14400, SERIAL_BAUD_14400},
        {19200, SERIAL_BAUD_19200},  {38400, SERIAL_BAUD_38400}, {57600, SERIAL_BAUD_57600},
        {115200, SERIAL_BAUD_115200}};
    ULONG i;
    RtlZeroMemory(P, sizeof *P);
    P->PacketLength = sizeof *P;
    P->PacketVersion = 2;
    P->ServiceMask = SERIAL_SP_SERIALCOMM;
    P->MaxRxQueue = SER_RING;
    P->MaxBaud = SERIAL_BAUD_USER; /* any divisor of UART_MAX_BAUD, as serial.sys reports */
    P->ProvSubType = SERIAL_SP_RS232;
    P->ProvCapabilities = SERIAL_PCF_TOTALTIMEOUTS | SERIAL_PCF_INTTIMEOUTS;
    P->SettableParams = SERIAL_SP_PARITY | SERIAL_SP_BAUD | SERIAL_SP_DATABITS | SERIAL_SP_STOPBITS;
    P->SettableBaud = SERIAL_BAUD_USER;
    for (i = 0; i < RTL_NUMBER_OF(bauds); i++)
        if (UART_MAX_BAUD % bauds[i].Baud == 0)
            P->SettableBaud |= bauds[i].Bit;
    P->SettableData = SERIAL_DATABITS_5 | SERIAL_DATABITS_6 | SERIAL_DATABITS_7 | SERIAL_DATABITS_8;
    P->SettableStopParity = SERIAL_STOPBITS_10 | SERIAL_STOPBITS_20 | SERIAL_PARITY_NONE |
                            SERIAL_PARITY_ODD | SERIAL_PARITY_EVEN;
    P->CurrentRxQueue = SER_RING;
}

#define SER_VALID_EVENTS                                                                           \
    (SERIAL_EV_RXCHAR | SERIAL_EV_RXFLAG | SERIAL_EV_TXEMPTY | SERIAL_EV_CTS | SERIAL_EV_DSR |     \
     SERIAL_EV_RLSD | SERIAL_EV_BREAK | SERIAL_EV_ERR | SERIAL_EV_RING | SERIAL_EV_PERR |          \
     SERIAL_EV_RX80FULL | SERIAL_EV_EVENT1 | SERIAL_EV_EVENT2)

_Use_decl_annotations_ static NTSTATUS SerDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG code = sl->Parameters.DeviceIoControl.IoControlCode;
    ULONG inLen = sl->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLen = sl->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG_PTR info = 0;
    PIRP oldWait = NULL;
    SER_SYNC s;
    KIRQL irql;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SerComplete(Irp, status, 0);
    if (code == IOCTL_SERIAL_PURGE) {
        ULONG mask = inLen >= sizeof(ULONG) ? *(PULONG)buffer : 0;
        if (inLen < sizeof(ULONG))
            status = STATUS_BUFFER_TOO_SMALL;
        else if (mask == 0 || (mask & ~(ULONG)(SERIAL_PURGE_TXABORT | SERIAL_PURGE_RXABORT |
                                               SERIAL_PURGE_TXCLEAR | SERIAL_PURGE_RXCLEAR)))
            status = STATUS_INVALID_PARAMETER;
        else
            SerPurge(ext, mask);
        SerFinish(ext, Irp, status, 0);
        return status;
    }
    KeAcquireSpinLock(&ext->Lock, &irql);
    if (!ext->Started) {
        KeReleaseSpinLock(&ext->Lock, irql);
        SerFinish(ext, Irp, STATUS_DEVICE_NOT_READY, 0);
        return STATUS_DEVICE_NOT_READY;
    }
    switch (code) {
    case IOCTL_SERIAL_SET_BAUD_RATE:
        status = inLen < sizeof(SERIAL_BAUD_RATE) ? STATUS_BUFFER_TOO_SMALL
                                                  : SerSetLine(ext, buffer, NULL, 0, 0, 0);
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
                                                     : SerSetLine(ext, NULL, buffer, 0, 0, 0);
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
        status = SerSetLine(ext, NULL, NULL, UART_MCR_DTR, 0, 0);
        break;
    case IOCTL_SERIAL_CLR_DTR:
        status = SerSetLine(ext, NULL, NULL, 0, UART_MCR_DTR, 0);
        break;
    case IOCTL_SERIAL_SET_RTS:
        status = SerSetLine(ext, NULL, NULL, UART_MCR_RTS, 0, 0);
        break;
    case IOCTL_SERIAL_CLR_RTS:
        status = SerSetLine(ext, NULL, NULL, 0, UART_MCR_RTS, 0);
        break;
    case IOCTL_SERIAL_GET_DTRRTS:
    case IOCTL_SERIAL_GET_MODEM_CONTROL:
        /* what the driver wrote to MCR: its own copy, no device access */
        if (outLen < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        *(PULONG)buffer = code == IOCTL_SERIAL_GET_MODEM_CONTROL
                              ? ext->Mcr
                              : ((ext->Mcr & UART_MCR_DTR) ? SERIAL_DTR_STATE : 0) |
                                    ((ext->Mcr & UART_MCR_RTS) ? SERIAL_RTS_STATE : 0);
        info = sizeof(ULONG);
        break;
    case IOCTL_SERIAL_SET_MODEM_CONTROL: {
        UCHAR mcr;
        if (inLen < sizeof(ULONG)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        mcr = (UCHAR)(*(PULONG)buffer & 0x1F);
        status = SerSetLine(ext, NULL, NULL, mcr, (UCHAR)~mcr, 0);
        break;
    }
    /* GetCommState / SetCommState: serial.sys's answers, within what this driver does */
    case IOCTL_SERIAL_GET_CHARS:
        if (outLen < sizeof(SERIAL_CHARS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        *(PSERIAL_CHARS)buffer = ext->Chars;
        info = sizeof(SERIAL_CHARS);
        break;
    case IOCTL_SERIAL_SET_CHARS:
        if (inLen < sizeof(SERIAL_CHARS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        ext->Chars = *(PSERIAL_CHARS)buffer;
        break;
    case IOCTL_SERIAL_GET_HANDFLOW:
        if (outLen < sizeof(SERIAL_HANDFLOW)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        /* DTR and RTS as SET_DTR/CLR_DTR/SET_RTS/CLR_RTS may since have left them */
        *(PSERIAL_HANDFLOW)buffer = ext->HandFlow;
        ((PSERIAL_HANDFLOW)buffer)->ControlHandShake =
            (ext->Mcr & UART_MCR_DTR) ? SERIAL_DTR_CONTROL : 0;
        ((PSERIAL_HANDFLOW)buffer)->FlowReplace =
            (ext->HandFlow.FlowReplace & ~SERIAL_RTS_MASK) |
            ((ext->Mcr & UART_MCR_RTS) ? SERIAL_RTS_CONTROL : 0);
        info = sizeof(SERIAL_HANDFLOW);
        break;
    case IOCTL_SERIAL_SET_HANDFLOW: {
        UCHAR set, clear;
        if (inLen < sizeof(SERIAL_HANDFLOW)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        status = SerCheckHandFlow(buffer, &set, &clear);
        if (NT_SUCCESS(status))
            status = SerSetLine(ext, NULL, NULL, set, clear, 0);
        if (NT_SUCCESS(status))
            ext->HandFlow = *(PSERIAL_HANDFLOW)buffer;
        break;
    }
    case IOCTL_SERIAL_SET_QUEUE_SIZE:
        /* SetupComm: sizes are a recommendation; the ring stays SER_RING (GET_PROPERTIES) */
        if (inLen < sizeof(SERIAL_QUEUE_SIZE))
            status = STATUS_BUFFER_TOO_SMALL;
        break;
    case IOCTL_SERIAL_GET_PROPERTIES:
        if (outLen < sizeof(SERIAL_COMMPROP)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        SerProperties(buffer);
        info = sizeof(SERIAL_COMMPROP);
        break;
    case IOCTL_SERIAL_SET_TIMEOUTS: {
        PSERIAL_TIMEOUTS t = buffer;
        if (inLen < sizeof(SERIAL_TIMEOUTS)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        if (t->ReadIntervalTimeout == MAXULONG && t->ReadTotalTimeoutMultiplier == MAXULONG &&
            t->ReadTotalTimeoutConstant == MAXULONG) {
            status = STATUS_INVALID_PARAMETER;
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
        if (mask & ~(ULONG)SER_VALID_EVENTS) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        /* a pending wait completes with success and an empty mask */
        oldWait = SerUnpark(&ext->CurrentWait);
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
        if (ext->HistoryMask != 0) { /* it happened already */
            *(PULONG)buffer = ext->HistoryMask;
            ext->HistoryMask = 0;
            info = sizeof(ULONG);
            break;
        }
        if (!SerPark(&ext->CurrentWait, Irp, SerCancelWait)) {
            KeReleaseSpinLock(&ext->Lock, irql);
            SerFinish(ext, Irp, STATUS_CANCELLED, 0);
            return STATUS_PENDING;
        }
        KeReleaseSpinLock(&ext->Lock, irql);
        return STATUS_PENDING;
    case IOCTL_SERIAL_GET_MODEMSTATUS:
    case IOCTL_SERIAL_GET_COMMSTATUS:
        if (outLen <
            (code == IOCTL_SERIAL_GET_MODEMSTATUS ? sizeof(ULONG) : sizeof(SERIAL_STATUS))) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
#if defined(BROKEN_MODEMSTATUS_IN_DISPATCH)
        if (code == IOCTL_SERIAL_GET_MODEMSTATUS) {
            /* BROKEN (G15, G1): reads MSR here, outside the interrupt's lock, and loses the
             * delta bits the ISR reports modem events from. */
            *(PULONG)buffer = READ_PORT_UCHAR(UART(ext, UART_MSR)) & 0xF0;
            info = sizeof(ULONG);
            break;
        }
#endif
        /* G15: the DPC answers from the device registers; queue it and run the DPC */
        IoMarkIrpPending(Irp);
        InsertTailList(&ext->StatusQueue, &Irp->Tail.Overlay.ListEntry);
        RtlZeroMemory(&s, sizeof s);
        SerSync(ext, SerKickDpc, &s);
        KeReleaseSpinLock(&ext->Lock, irql);
        return STATUS_PENDING;
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

/* ==== PnP, power ==== */

static NTSTATUS SerStartHardware(_In_ PSER_EXTENSION ext, _In_opt_ PCM_RESOURCE_LIST Resources)
{
    PCM_PARTIAL_RESOURCE_LIST list;
    ULONG vector = 0, i;
    KIRQL irql = 0, old;
    KAFFINITY affinity = 0;
    KINTERRUPT_MODE mode = Latched;
    BOOLEAN haveInterrupt = FALSE, shared = FALSE;
    SERIAL_BAUD_RATE baud;
    SERIAL_LINE_CONTROL line;
    NTSTATUS status;

    if (Resources == NULL || Resources->Count == 0)
        return STATUS_INSUFFICIENT_RESOURCES;
    list = &Resources->List[0].PartialResourceList;
    for (i = 0; i < list->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
        if (d->Type == CmResourceTypePort && d->u.Port.Length >= UART_PORTS)
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
    /* is there a UART? its scratch register keeps what is written; IER off before connecting */
    WRITE_PORT_UCHAR(UART(ext, UART_SCR), 0xA5);
    if (READ_PORT_UCHAR(UART(ext, UART_SCR)) != 0xA5)
        return STATUS_NO_SUCH_DEVICE;
    WRITE_PORT_UCHAR(UART(ext, UART_IER), 0);
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
    /* FIFOs on and emptied, receive trigger at 8 bytes; DTR and RTS up */
    (void)SerSetLine(ext, &baud, &line, UART_MCR_DTR | UART_MCR_RTS, 0,
                     UART_FCR_ENABLE | UART_FCR_RX_RESET | UART_FCR_TX_RESET | UART_FCR_TRIGGER_8);
    ext->Timeouts.ReadIntervalTimeout = MAXULONG; /* reads return at once until told otherwise */
    ext->Started = TRUE;
    KeReleaseSpinLock(&ext->Lock, old);
    return STATUS_SUCCESS;
}

static VOID SerStopHardware(_In_ PSER_EXTENSION ext)
{
    LIST_ENTRY status;
    PIRP wait;
    SER_SYNC s;
    KIRQL old;
    SerPurge(ext, SERIAL_PURGE_TXABORT | SERIAL_PURGE_RXABORT);
    InitializeListHead(&status);
    KeAcquireSpinLock(&ext->Lock, &old);
    ext->Started = FALSE;
    wait = SerUnpark(&ext->CurrentWait);
    while (!IsListEmpty(&ext->StatusQueue))
        InsertTailList(&status, RemoveHeadList(&ext->StatusQueue));
    KeReleaseSpinLock(&ext->Lock, old);
    if (wait != NULL)
        SerFinish(ext, wait, STATUS_CANCELLED, 0);
    while (!IsListEmpty(&status))
        SerFinish(ext, CONTAINING_RECORD(RemoveHeadList(&status), IRP, Tail.Overlay.ListEntry),
                  STATUS_CANCELLED, 0);
    if (ext->Interrupt != NULL) {
        RtlZeroMemory(&s, sizeof s);
        s.Quiesce = TRUE;
        SerSync(ext, SerProgramUart, &s);
        IoDisconnectInterrupt(ext->Interrupt);
        ext->Interrupt = NULL;
    }
    /* G8: nothing may call back into a stopped (or deleted) device */
    (void)KeCancelTimer(&ext->PollTimer);
    (void)KeCancelTimer(&ext->TotalTimer);
    (void)KeCancelTimer(&ext->IntervalTimer);
    ext->PollArmed = ext->TotalArmed = ext->IntervalArmed = FALSE;
    KeFlushQueuedDpcs();
    ext->Port = NULL;
}

static NTSTATUS SerPassDown(_In_ PSER_EXTENSION ext, _Inout_ PIRP Irp)
{
    NTSTATUS status;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_ static NTSTATUS SerDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
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
        /* the bus driver first, then the UART */
        status =
            IoForwardIrpSynchronously(ext->Lower, Irp) ? Irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
        if (NT_SUCCESS(status))
            status = SerStartHardware(ext, sl->Parameters.StartDevice.AllocatedResourcesTranslated);
        if (!NT_SUCCESS(status))
            SerStopHardware(ext);
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
        if (ext->LinkCreated)
            (void)IoDeleteSymbolicLink(&ext->LinkName);
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

_Use_decl_annotations_ static NTSTATUS SerDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
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

/* No WMI of its own: pass it down. */
_Use_decl_annotations_ static NTSTATUS SerSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSER_EXTENSION ext = DeviceObject->DeviceExtension;
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status))
        return SerComplete(Irp, status, 0);
    return SerPassDown(ext, Irp);
}

_Use_decl_annotations_ static NTSTATUS SerAddDevice(PDRIVER_OBJECT DriverObject,
                                                    PDEVICE_OBJECT PhysicalDeviceObject)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(SER_DEVICE_NAME);
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
    KeInitializeSpinLock(&ext->Lock);
    InitializeListHead(&ext->WriteQueue);
    InitializeListHead(&ext->StatusQueue);
    /* G18: the DpcForIsr is bound once, here */
    IoInitializeDpcRequest(fdo, SerDpcForIsr);
    KeInitializeTimer(&ext->TotalTimer);
    KeInitializeTimer(&ext->IntervalTimer);
    KeInitializeTimer(&ext->PollTimer);
    KeInitializeDpc(&ext->TotalDpc, SerTotalTimeout, ext);
    KeInitializeDpc(&ext->IntervalDpc, SerIntervalTimeout, ext);
    KeInitializeDpc(&ext->PollDpc, SerPoll, ext);
    IoInitializeRemoveLock(&ext->RemoveLock, SER_TAG, 0, 0);
    ext->Timeouts.ReadIntervalTimeout = MAXULONG;
    ext->Chars.XonChar = 0x11; /* serial.sys's defaults */
    ext->Chars.XoffChar = 0x13;

    RtlInitUnicodeString(&ext->LinkName, SER_LINK_NAME);
    ext->LinkCreated = NT_SUCCESS(IoCreateSymbolicLink(&ext->LinkName, &name));
    ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
    if (ext->Lower == NULL) {
        if (ext->LinkCreated)
            (void)IoDeleteSymbolicLink(&ext->LinkName);
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    fdo->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static VOID SerUnload(PDRIVER_OBJECT DriverObject)
{
    PAGED_CODE();
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
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
