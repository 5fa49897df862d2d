/* SPDX-License-Identifier: MIT */
/*
 * csq.c - cancel-safe IRP queues: IoCsqInitialize(Ex), IoCsqInsertIrp(Ex),
 * IoCsqRemoveNextIrp, IoCsqRemoveIrp (docs/facts/io.md 4.25).
 *
 * The driver keeps the queue and its lock; kdpc does the cancel protocol:
 * an inserted IRP is marked pending and gets kdpc's cancel routine, which
 * takes it out (CsqRemoveIrp) and hands it to CsqCompleteCanceledIrp. A
 * removal wins only if it takes the cancel routine back first
 * (IoSetCancelRoutine(Irp, NULL) != NULL). Irp->Tail.Overlay.DriverContext[3]
 * points at the queue or the IO_CSQ_IRP_CONTEXT. An IRP that is already
 * cancelled when inserted is inserted, taken out again and completed as
 * cancelled (ReactOS's order; 4.25 ⚠).
 *
 * Objects: IoCsqInitialize(Ex) puts the queue in the I/O registry. A queue
 * that was never initialised (zero-filled, garbage, NULL) or whose routines
 * were since overwritten with NULL, and an IRP that is not a live IRP, are
 * the access violation Windows takes calling or reading them
 * (io.invalid_object: 0x50, 0x1E or 0xA, see validate.c); off or a warning: the call
 * returns STATUS_INVALID_PARAMETER / NULL and touches nothing.
 * An IO_CSQ_IRP_CONTEXT is the driver's memory and is read as given.
 */
#include <string.h>

#include "io/io.h"

#define IO_TYPE_CSQ_IRP_CONTEXT 1
#define IO_TYPE_CSQ             2
#define IO_TYPE_CSQ_EX          3

static PIO_CSQ csq_of_irp(PIRP irp, PIO_CSQ_IRP_CONTEXT *ctx)
{
    PVOID p = irp->Tail.Overlay.DriverContext[3];
    *ctx = NULL;
    if (p == NULL)
        return NULL;
    if (*(ULONG *)p == IO_TYPE_CSQ_IRP_CONTEXT) {
        *ctx = p;
        return (*ctx)->Csq;
    }
    return p;
}

static void queued(PIRP irp, bool q)
{
    kdpc__irprec *r = kdpc__io_irprec(irp);
    if (r != NULL)
        r->queued = q;
}

static void csq_cancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    PIO_CSQ_IRP_CONTEXT ctx;
    PIO_CSQ csq = csq_of_irp(Irp, &ctx);
    kdpc_IoReleaseCancelSpinLock(Irp->CancelIrql);
    if (csq == NULL)
        return;
    KIRQL irql;
    csq->CsqAcquireLock(csq, &irql);
    csq->CsqRemoveIrp(csq, Irp);
    if (ctx != NULL)
        ctx->Irp = NULL;
    Irp->Tail.Overlay.DriverContext[3] = NULL;
    queued(Irp, false);
    csq->CsqReleaseLock(csq, irql);
    kdpc__io_irp_note(Irp, "cancel-safe queue: cancelled");
    csq->CsqCompleteCanceledIrp(csq, Irp);
}

static NTSTATUS init(PIO_CSQ Csq, ULONG type, IO_CSQ_INSERT_IRP *insert,
                     IO_CSQ_INSERT_IRP_EX *insert_ex, IO_CSQ_REMOVE_IRP *remove,
                     IO_CSQ_PEEK_NEXT_IRP *peek, IO_CSQ_ACQUIRE_LOCK *acquire,
                     IO_CSQ_RELEASE_LOCK *release, IO_CSQ_COMPLETE_CANCELED_IRP *complete)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCsqInitialize", &c);
    if (Csq == NULL)
        return STATUS_INVALID_PARAMETER;
    if (m != NULL && !kdpc__io_register(m, Csq, KDPC_IOK_CSQ))
        return STATUS_INSUFFICIENT_RESOURCES;
    Csq->Type = type;
    Csq->CsqInsertIrp = insert;
    /* The Ex insert routine lives in ReservePointer, as on Windows (copied, not cast). */
    Csq->ReservePointer = NULL;
    if (insert_ex != NULL)
        memcpy(&Csq->ReservePointer, &insert_ex, sizeof(Csq->ReservePointer));
    Csq->CsqRemoveIrp = remove;
    Csq->CsqPeekNextIrp = peek;
    Csq->CsqAcquireLock = acquire;
    Csq->CsqReleaseLock = release;
    Csq->CsqCompleteCanceledIrp = complete;
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_IoCsqInitialize(PIO_CSQ Csq, IO_CSQ_INSERT_IRP *CsqInsertIrp,
                              IO_CSQ_REMOVE_IRP *CsqRemoveIrp, IO_CSQ_PEEK_NEXT_IRP *CsqPeekNextIrp,
                              IO_CSQ_ACQUIRE_LOCK *CsqAcquireLock,
                              IO_CSQ_RELEASE_LOCK *CsqReleaseLock,
                              IO_CSQ_COMPLETE_CANCELED_IRP *CsqCompleteCanceledIrp)
{
    return init(Csq, IO_TYPE_CSQ, CsqInsertIrp, NULL, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock,
                CsqReleaseLock, CsqCompleteCanceledIrp);
}

NTSTATUS kdpc_IoCsqInitializeEx(PIO_CSQ Csq, IO_CSQ_INSERT_IRP_EX *CsqInsertIrp,
                                IO_CSQ_REMOVE_IRP *CsqRemoveIrp,
                                IO_CSQ_PEEK_NEXT_IRP *CsqPeekNextIrp,
                                IO_CSQ_ACQUIRE_LOCK *CsqAcquireLock,
                                IO_CSQ_RELEASE_LOCK *CsqReleaseLock,
                                IO_CSQ_COMPLETE_CANCELED_IRP *CsqCompleteCanceledIrp)
{
    return init(Csq, IO_TYPE_CSQ_EX, NULL, CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp,
                CsqAcquireLock, CsqReleaseLock, CsqCompleteCanceledIrp);
}

/* A live, initialised queue whose routines are all set. */
static bool csq_ok(kdpc_machine *m, const char *name, kdpc_routine_ptr fn, PIO_CSQ csq)
{
    if (kdpc__io_valid(m, csq, KDPC_IOK_CSQ) &&
        (csq->Type == IO_TYPE_CSQ ? csq->CsqInsertIrp != NULL
                                  : csq->Type == IO_TYPE_CSQ_EX && csq->ReservePointer != NULL) &&
        csq->CsqRemoveIrp != NULL && csq->CsqPeekNextIrp != NULL && csq->CsqAcquireLock != NULL &&
        csq->CsqReleaseLock != NULL && csq->CsqCompleteCanceledIrp != NULL)
        return true;
    kdpc__io_invalid_access(m, name, fn, csq, KDPC_IOK_CSQ);
    return false;
}

NTSTATUS kdpc_IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context,
                               PVOID InsertContext)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCsqInsertIrp", &c);
    kdpc_routine_ptr fn = KDPC_RP(kdpc_IoCsqInsertIrpEx);
    if (m == NULL || !csq_ok(m, "IoCsqInsertIrp", fn, Csq) ||
        !kdpc__io_need(m, "IoCsqInsertIrp", fn, Irp, KDPC_IOK_IRP))
        return STATUS_INVALID_PARAMETER;
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    NTSTATUS st = STATUS_SUCCESS;
    if (Csq->Type == IO_TYPE_CSQ_EX) {
        IO_CSQ_INSERT_IRP_EX *ins;
        memcpy(&ins, &Csq->ReservePointer, sizeof(ins));
        st = ins(Csq, Irp, InsertContext);
    } else {
        Csq->CsqInsertIrp(Csq, Irp);
    }
    if (!NT_SUCCESS(st)) {
        Csq->CsqReleaseLock(Csq, irql);
        return st;
    }
    if (Context != NULL) {
        Context->Type = IO_TYPE_CSQ_IRP_CONTEXT;
        Context->Irp = Irp;
        Context->Csq = Csq;
        Irp->Tail.Overlay.DriverContext[3] = Context;
    } else {
        Irp->Tail.Overlay.DriverContext[3] = Csq;
    }
    IoMarkIrpPending(Irp);
    queued(Irp, true);
    kdpc__io_irp_note(Irp, "cancel-safe queue: inserted");
    (void)IoSetCancelRoutine(Irp, csq_cancel);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        /* Cancelled before it was queued and nobody ran the cancel routine: do it here. */
        Csq->CsqRemoveIrp(Csq, Irp);
        if (Context != NULL)
            Context->Irp = NULL;
        Irp->Tail.Overlay.DriverContext[3] = NULL;
        queued(Irp, false);
        Csq->CsqReleaseLock(Csq, irql);
        Csq->CsqCompleteCanceledIrp(Csq, Irp);
        return st;
    }
    Csq->CsqReleaseLock(Csq, irql);
    kdpc__ke_point(m);
    return st;
}

static void taken(PIRP irp)
{
    PIO_CSQ_IRP_CONTEXT ctx;
    (void)csq_of_irp(irp, &ctx);
    if (ctx != NULL)
        ctx->Irp = NULL;
    irp->Tail.Overlay.DriverContext[3] = NULL;
    queued(irp, false);
    kdpc__io_irp_note(irp, "cancel-safe queue: removed");
}

PIRP kdpc_IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCsqRemoveNextIrp", &c);
    if (m == NULL || !csq_ok(m, "IoCsqRemoveNextIrp", KDPC_RP(kdpc_IoCsqRemoveNextIrp), Csq))
        return NULL;
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    PIRP irp = Csq->CsqPeekNextIrp(Csq, NULL, PeekContext);
    while (irp != NULL) {
        if (IoSetCancelRoutine(irp, NULL) != NULL) {
            Csq->CsqRemoveIrp(Csq, irp);
            taken(irp);
            break;
        }
        irp = Csq->CsqPeekNextIrp(Csq, irp, PeekContext); /* being cancelled: skip it */
    }
    Csq->CsqReleaseLock(Csq, irql);
    kdpc__ke_point(m);
    return irp;
}

PIRP kdpc_IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCsqRemoveIrp", &c);
    if (m == NULL || !csq_ok(m, "IoCsqRemoveIrp", KDPC_RP(kdpc_IoCsqRemoveIrp), Csq) ||
        Context == NULL)
        return NULL;
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    PIRP irp = Context->Irp;
    if (irp != NULL) {
        if (IoSetCancelRoutine(irp, NULL) != NULL) {
            Csq->CsqRemoveIrp(Csq, irp);
            taken(irp);
        } else {
            irp = NULL; /* its cancel routine owns it */
        }
    }
    Csq->CsqReleaseLock(Csq, irql);
    kdpc__ke_point(m);
    return irp;
}
