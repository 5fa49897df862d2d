/* SPDX-License-Identifier: MIT */
/*
 * test_csq.c - cancel-safe IRP queues (docs/facts/io.md 4.25;
 * include/kdpc/wdm/dma.h): IoCsqInitialize / IoCsqInitializeEx,
 * IoCsqInsertIrp / IoCsqInsertIrpEx (a failing CsqInsertIrpEx does not
 * queue), IoCsqRemoveNextIrp with and without a PeekContext, IoCsqRemoveIrp
 * with an IO_CSQ_IRP_CONTEXT, IoCancelIrp of a queued IRP (the callbacks
 * take it out and CsqCompleteCanceledIrp completes it exactly once), and a
 * DPC on CPU 1 removing IRPs while a thread on CPU 0 cancels them, across
 * seeds: every IRP is either removed or cancelled, never both.
 *
 * The driver "csqt" keeps its queue in a LIST_ENTRY under a KSPIN_LOCK
 * (the usual CSQ sample shape). Its read dispatch routine inserts the IRP
 * into the cancel-safe queue and returns STATUS_PENDING. Each IRP's stack
 * location carries its index (Parameters.Read.Length) and a key
 * (Parameters.Read.Key) that CsqPeekNextIrp matches against a PeekContext.
 * IRPs come from IoAllocateIrp with an owner completion routine that counts
 * completions and returns STATUS_MORE_PROCESSING_REQUIRED.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NIRP        8
#define FAIL_STATUS ((NTSTATUS)0xC0000184L) /* STATUS_INVALID_DEVICE_STATE */

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;

    /* the driver's queue */
    IO_CSQ csq;
    KSPIN_LOCK lock;
    LIST_ENTRY queue;
    NTSTATUS init_status;
    BOOLEAN use_ex;   /* IoCsqInitializeEx / IoCsqInsertIrpEx */
    BOOLEAN use_ctx;  /* insert with an IO_CSQ_IRP_CONTEXT */
    PVOID insert_ctx; /* InsertContext for IoCsqInsertIrpEx: points at the status to return */
    IO_CSQ_IRP_CONTEXT ctx[NIRP];

    /* callbacks */
    LONG inserted[NIRP];
    LONG removed[NIRP];
    LONG canceled_calls[NIRP];
    KIRQL canceled_irql[NIRP];
    BOOLEAN canceled_in_queue[NIRP]; /* still in the driver's list inside the callback */
    PVOID insert_ctx_seen[NIRP];
    LONG lock_held; /* > 0 while the driver's lock is held */
    LONG callback_unlocked;
    int n_insert_order;
    int insert_order[NIRP];

    /* per IRP */
    PIRP irps[NIRP];
    NTSTATUS insert_ret[NIRP];
    NTSTATUS call_ret[NIRP];
    BOOLEAN pending_after[NIRP];
    PVOID cancel_routine_after[NIRP];
    PVOID cancel_routine_removed[NIRP];
    LONG done[NIRP];
    NTSTATUS done_status[NIRP];

    /* results of the bodies */
    int got[16];
    BOOLEAN cancel_ret[NIRP];
    BOOLEAN cancel_again;
    LONG reached_end;

    /* the race */
    KDPC dpc;
    KEVENT dpc_done;
    ULONG dpc_cpu;
    LONG dpc_removed;
    LONG cancel_true;
    BOOLEAN race_by_ctx;
} q;

static int idx_of(PIRP irp)
{
    ULONG i = IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length;
    return i < NIRP ? (int)i : -1;
}

static BOOLEAN in_queue(PIRP irp)
{
    for (PLIST_ENTRY e = q.queue.Flink; e != &q.queue; e = e->Flink)
        if (e == &irp->Tail.Overlay.ListEntry)
            return TRUE;
    return FALSE;
}

/* ------------------------------------------------------------------ */
/* The driver's callbacks                                               */

static void note_locked(void)
{
    if (q.lock_held == 0)
        q.callback_unlocked++;
}

static void CsqtInsert(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    note_locked();
    int i = idx_of(Irp);
    if (i >= 0) {
        q.inserted[i]++;
        if (q.n_insert_order < NIRP)
            q.insert_order[q.n_insert_order++] = i;
    }
    InsertTailList(&q.queue, &Irp->Tail.Overlay.ListEntry);
}

static NTSTATUS CsqtInsertEx(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext)
{
    int i = idx_of(Irp);
    if (i >= 0)
        q.insert_ctx_seen[i] = InsertContext;
    if (InsertContext != NULL && !NT_SUCCESS(*(NTSTATUS *)InsertContext))
        return *(NTSTATUS *)InsertContext; /* e.g. the device is busy: not queued */
    CsqtInsert(Csq, Irp);
    return STATUS_SUCCESS;
}

static void CsqtRemove(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    note_locked();
    int i = idx_of(Irp);
    if (i >= 0)
        q.removed[i]++;
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    InitializeListHead(&Irp->Tail.Overlay.ListEntry);
}

/* The next IRP after @Irp (or the first) whose key matches *PeekContext (any when NULL). */
static PIRP CsqtPeek(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    (void)Csq;
    note_locked();
    PLIST_ENTRY e = Irp == NULL ? q.queue.Flink : Irp->Tail.Overlay.ListEntry.Flink;
    for (; e != &q.queue; e = e->Flink) {
        PIRP n = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        if (PeekContext == NULL ||
            IoGetCurrentIrpStackLocation(n)->Parameters.Read.Key == *(PULONG)PeekContext)
            return n;
    }
    return NULL;
}

static void CsqtAcquire(PIO_CSQ Csq, PKIRQL Irql)
{
    (void)Csq;
    KeAcquireSpinLock(&q.lock, Irql);
    q.lock_held++;
}

static void CsqtRelease(PIO_CSQ Csq, KIRQL Irql)
{
    (void)Csq;
    q.lock_held--;
    KeReleaseSpinLock(&q.lock, Irql);
}

static void CsqtCompleteCanceled(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    int i = idx_of(Irp);
    if (i >= 0) {
        InterlockedIncrement(&q.canceled_calls[i]);
        q.canceled_irql[i] = KeGetCurrentIrql();
        KIRQL old;
        KeAcquireSpinLock(&q.lock, &old);
        q.canceled_in_queue[i] = in_queue(Irp);
        KeReleaseSpinLock(&q.lock, old);
    }
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static NTSTATUS CsqtRead(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    int i = idx_of(Irp);
    PIO_CSQ_IRP_CONTEXT ctx = (q.use_ctx && i >= 0) ? &q.ctx[i] : NULL;
    NTSTATUS st;
    if (q.use_ex) {
        st = IoCsqInsertIrpEx(&q.csq, Irp, ctx, q.insert_ctx);
    } else {
        IoCsqInsertIrp(&q.csq, Irp, ctx);
        st = STATUS_SUCCESS;
    }
    if (i >= 0)
        q.insert_ret[i] = st;
    if (!NT_SUCCESS(st)) {
        /* not queued: the driver completes it itself */
        Irp->IoStatus.Status = st;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return st;
    }
    return STATUS_PENDING;
}

static void CsqtUnload(PDRIVER_OBJECT Drv)
{
    while (Drv->DeviceObject != NULL)
        IoDeleteDevice(Drv->DeviceObject);
}

static NTSTATUS CsqtEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->MajorFunction[IRP_MJ_READ] = CsqtRead;
    Drv->DriverUnload = CsqtUnload;
    KeInitializeSpinLock(&q.lock);
    InitializeListHead(&q.queue);
    if (q.use_ex)
        q.init_status = IoCsqInitializeEx(&q.csq, CsqtInsertEx, CsqtRemove, CsqtPeek, CsqtAcquire,
                                          CsqtRelease, CsqtCompleteCanceled);
    else
        q.init_status = IoCsqInitialize(&q.csq, CsqtInsert, CsqtRemove, CsqtPeek, CsqtAcquire,
                                        CsqtRelease, CsqtCompleteCanceled);
    return IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &q.dev);
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */

static NTSTATUS OwnerDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    int i = (int)(uintptr_t)Ctx;
    InterlockedIncrement(&q.done[i]);
    q.done_status[i] = Irp->IoStatus.Status;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static PIRP submit(int i, ULONG key)
{
    PIRP irp = IoAllocateIrp(q.dev->StackSize, FALSE);
    q.irps[i] = irp;
    if (irp == NULL)
        return NULL;
    IoSetCompletionRoutine(irp, OwnerDone, (PVOID)(uintptr_t)i, TRUE, TRUE, TRUE);
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_READ;
    sl->Parameters.Read.Length = (ULONG)i;
    sl->Parameters.Read.Key = key;
    q.call_ret[i] = IoCallDriver(q.dev, irp);
    q.pending_after[i] = irp->PendingReturned ||
                         (irp->CurrentLocation <= irp->StackCount &&
                          (IoGetCurrentIrpStackLocation(irp)->Control & SL_PENDING_RETURNED) != 0);
    q.cancel_routine_after[i] = (PVOID)(uintptr_t)irp->CancelRoutine;
    return irp;
}

static int index_of(PIRP irp)
{
    for (int i = 0; i < NIRP; i++)
        if (irp != NULL && q.irps[i] == irp)
            return i;
    return -1;
}

/* Remove with IoCsqRemoveNextIrp, record the index (-1 for NULL), complete it. */
static int remove_next(PVOID peek)
{
    PIRP irp = IoCsqRemoveNextIrp(&q.csq, peek);
    int i = index_of(irp);
    if (irp != NULL) {
        if (i >= 0)
            q.cancel_routine_removed[i] = (PVOID)(uintptr_t)irp->CancelRoutine;
        irp->IoStatus.Status = STATUS_SUCCESS;
        irp->IoStatus.Information = 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
    return irp == NULL ? -1 : i;
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "csqt", CsqtEntry, &q.drv)))
        return;
    body();
    for (int i = 0; i < NIRP; i++)
        if (q.irps[i] != NULL)
            IoFreeIrp(q.irps[i]);
    (void)kdpc_driver_unload(q.drv);
    q.reached_end = 1;
}

static void reset(BOOLEAN use_ex, BOOLEAN use_ctx)
{
    memset(&q, 0, sizeof q);
    q.use_ex = use_ex;
    q.use_ctx = use_ctx;
}

static kdpc_machine *run_ok(BODY *body, unsigned cpus, uint64_t seed)
{
    kdpc_machine *m = kt_machine(cpus, seed);
    KDPC_NAME(m, CsqtCompleteCanceled);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(q.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(q.init_status, STATUS_SUCCESS);
    assert_int_equal(q.callback_unlocked, 0); /* every queue callback ran under the lock */
    return m;
}

/* ------------------------------------------------------------------ */
/* Insert, remove in order                                              */

static void body_insert_remove_fifo(void)
{
    for (int i = 0; i < 4; i++)
        (void)submit(i, 0);
    for (int k = 0; k < 5; k++)
        q.got[k] = remove_next(NULL);
}

static void test_insert_marks_pending_and_remove_next_returns_fifo_then_null(void **state)
{
    (void)state;
    reset(FALSE, FALSE);
    kdpc_machine *m = run_ok(body_insert_remove_fifo, 1, 1);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(q.call_ret[i], STATUS_PENDING);
        assert_true(q.pending_after[i]);            /* marked pending */
        assert_non_null(q.cancel_routine_after[i]); /* cancelable while queued */
        assert_null(q.cancel_routine_removed[i]);   /* not once removed */
        assert_int_equal(q.inserted[i], 1);
        assert_int_equal(q.removed[i], 1);
        assert_int_equal(q.insert_order[i], i);
        assert_int_equal(q.got[i], i); /* the driver's order */
        assert_int_equal(q.done[i], 1);
        assert_int_equal(q.done_status[i], STATUS_SUCCESS);
        assert_int_equal(q.canceled_calls[i], 0);
    }
    assert_int_equal(q.got[4], -1); /* empty: NULL */
    kdpc_machine_destroy(m);
}

/* PeekContext selects by key; NULL takes any. */
static void body_peek_context(void)
{
    static const ULONG keys[6] = {1, 2, 1, 2, 3, 2};
    for (int i = 0; i < 6; i++)
        (void)submit(i, keys[i]);
    ULONG two = 2, nine = 9;
    q.got[0] = remove_next(&two);
    q.got[1] = remove_next(&two);
    q.got[2] = remove_next(&nine); /* no such key */
    q.got[3] = remove_next(NULL);
    q.got[4] = remove_next(&two);
    q.got[5] = remove_next(&two);
    q.got[6] = remove_next(NULL);
    q.got[7] = remove_next(NULL);
    q.got[8] = remove_next(NULL);
}

static void test_remove_next_with_peek_context_takes_only_matching_irps(void **state)
{
    (void)state;
    reset(FALSE, FALSE);
    kdpc_machine *m = run_ok(body_peek_context, 1, 2);
    assert_int_equal(q.got[0], 1);
    assert_int_equal(q.got[1], 3);
    assert_int_equal(q.got[2], -1);
    assert_int_equal(q.got[3], 0);
    assert_int_equal(q.got[4], 5);
    assert_int_equal(q.got[5], -1);
    assert_int_equal(q.got[6], 2);
    assert_int_equal(q.got[7], 4);
    assert_int_equal(q.got[8], -1);
    for (int i = 0; i < 6; i++)
        assert_int_equal(q.done[i], 1);
    kdpc_machine_destroy(m);
}

/* IoCsqRemoveIrp through the context, in any order; a second time: NULL. */
static void body_remove_by_context(void)
{
    for (int i = 0; i < 3; i++)
        (void)submit(i, 0);
    PIRP a = IoCsqRemoveIrp(&q.csq, &q.ctx[1]);
    q.got[0] = index_of(a);
    q.got[1] = index_of(IoCsqRemoveIrp(&q.csq, &q.ctx[1])); /* already taken */
    q.got[2] = q.ctx[1].Irp == NULL;
    q.got[3] = q.ctx[0].Irp == q.irps[0] && q.ctx[0].Csq == &q.csq;
    if (a != NULL) {
        a->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(a, IO_NO_INCREMENT);
    }
    q.got[4] = remove_next(NULL); /* the others keep their order */
    PIRP c = IoCsqRemoveIrp(&q.csq, &q.ctx[2]);
    q.got[5] = index_of(c);
    if (c != NULL) {
        c->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(c, IO_NO_INCREMENT);
    }
    q.got[6] = remove_next(NULL);
}

static void test_remove_irp_by_context_takes_that_irp_once(void **state)
{
    (void)state;
    reset(FALSE, TRUE);
    kdpc_machine *m = run_ok(body_remove_by_context, 1, 3);
    assert_int_equal(q.got[0], 1);
    assert_int_equal(q.got[1], -1);
    assert_true(q.got[2]);
    assert_true(q.got[3]);
    assert_int_equal(q.got[4], 0);
    assert_int_equal(q.got[5], 2);
    assert_int_equal(q.got[6], -1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(q.removed[i], 1);
        assert_int_equal(q.done[i], 1);
        assert_int_equal(q.done_status[i], STATUS_SUCCESS);
    }
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoCsqInitializeEx / IoCsqInsertIrpEx                                  */

static NTSTATUS ok_status = STATUS_SUCCESS;
static NTSTATUS fail_status = FAIL_STATUS;

static void body_insert_ex(void)
{
    q.insert_ctx = &ok_status;
    (void)submit(0, 0);
    q.insert_ctx = &fail_status;
    (void)submit(1, 0); /* the driver's insert routine refuses it */
    q.insert_ctx = NULL;
    (void)submit(2, 0);
    q.cancel_ret[1] = IoCancelIrp(q.irps[1]); /* nothing to cancel: not queued */
    q.got[0] = remove_next(NULL);
    q.got[1] = remove_next(NULL);
    q.got[2] = remove_next(NULL);
}

static void test_insert_ex_failure_status_is_returned_and_the_irp_is_not_queued(void **state)
{
    (void)state;
    reset(TRUE, FALSE);
    kdpc_machine *m = run_ok(body_insert_ex, 1, 4);
    assert_int_equal(q.insert_ret[0], STATUS_SUCCESS);
    assert_int_equal(q.insert_ret[1], FAIL_STATUS); /* the callback's status */
    assert_int_equal(q.insert_ret[2], STATUS_SUCCESS);
    assert_ptr_equal(q.insert_ctx_seen[0], &ok_status); /* InsertContext passed through */
    assert_ptr_equal(q.insert_ctx_seen[1], &fail_status);
    assert_null(q.insert_ctx_seen[2]);
    /* refused: not in the queue, no cancel routine, not marked pending */
    assert_int_equal(q.inserted[1], 0);
    assert_null(q.cancel_routine_after[1]);
    assert_false(q.pending_after[1]);
    assert_int_equal(q.call_ret[1], FAIL_STATUS);
    assert_int_equal(q.done[1], 1);
    assert_int_equal(q.done_status[1], FAIL_STATUS);
    assert_false(q.cancel_ret[1]);
    assert_int_equal(q.canceled_calls[1], 0);
    /* accepted ones were queued and pending */
    assert_true(q.pending_after[0]);
    assert_true(q.pending_after[2]);
    assert_int_equal(q.got[0], 0);
    assert_int_equal(q.got[1], 2);
    assert_int_equal(q.got[2], -1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Cancel of a queued IRP                                               */

static void body_cancel_queued(void)
{
    for (int i = 0; i < 3; i++)
        (void)submit(i, 0);
    q.cancel_ret[1] = IoCancelIrp(q.irps[1]);
    q.cancel_again = IoCancelIrp(q.irps[1]);                /* already cancelled and completed */
    q.got[0] = index_of(IoCsqRemoveIrp(&q.csq, &q.ctx[1])); /* no longer removable */
    q.got[1] = remove_next(NULL);
    q.got[2] = remove_next(NULL); /* skips nothing left: 2 */
    q.got[3] = remove_next(NULL);
}

static void test_cancel_of_a_queued_irp_completes_it_once_through_the_callback(void **state)
{
    (void)state;
    reset(FALSE, TRUE);
    kdpc_machine *m = run_ok(body_cancel_queued, 1, 5);
    assert_true(q.cancel_ret[1]); /* a cancel routine was set: TRUE */
    assert_false(q.cancel_again);
    assert_int_equal(q.canceled_calls[1], 1); /* exactly once */
    assert_int_equal(q.removed[1], 1);        /* CsqRemoveIrp took it out first */
    assert_false(q.canceled_in_queue[1]);
    assert_int_equal(q.done[1], 1);
    assert_int_equal(q.done_status[1], STATUS_CANCELLED);
    assert_int_equal(q.got[0], -1);
    assert_int_equal(q.got[1], 0);
    assert_int_equal(q.got[2], 2);
    assert_int_equal(q.got[3], -1);
    for (int i = 0; i < 3; i += 2) {
        assert_int_equal(q.canceled_calls[i], 0);
        assert_int_equal(q.done[i], 1);
        assert_int_equal(q.done_status[i], STATUS_SUCCESS);
    }
    kdpc_machine_destroy(m);
}

/* The head of the queue cancelled: IoCsqRemoveNextIrp goes on with the next one. */
static void body_cancel_head(void)
{
    for (int i = 0; i < 3; i++)
        (void)submit(i, 0);
    q.cancel_ret[0] = IoCancelIrp(q.irps[0]);
    q.cancel_ret[2] = IoCancelIrp(q.irps[2]);
    q.got[0] = remove_next(NULL);
    q.got[1] = remove_next(NULL);
}

static void test_remove_next_skips_cancelled_irps(void **state)
{
    (void)state;
    reset(FALSE, FALSE);
    kdpc_machine *m = run_ok(body_cancel_head, 2, 6);
    assert_true(q.cancel_ret[0]);
    assert_true(q.cancel_ret[2]);
    assert_int_equal(q.got[0], 1);
    assert_int_equal(q.got[1], -1);
    assert_int_equal(q.canceled_calls[0], 1);
    assert_int_equal(q.canceled_calls[2], 1);
    assert_int_equal(q.done_status[0], STATUS_CANCELLED);
    assert_int_equal(q.done_status[1], STATUS_SUCCESS);
    assert_int_equal(q.done_status[2], STATUS_CANCELLED);
    for (int i = 0; i < 3; i++)
        assert_int_equal(q.done[i], 1);
    kdpc_machine_destroy(m);
}

/* 4.25: an IRP already cancelled is never left in the queue. */
static void body_insert_cancelled(void)
{
    PIRP irp = IoAllocateIrp(q.dev->StackSize, FALSE);
    q.irps[0] = irp;
    if (irp == NULL)
        return;
    IoSetCompletionRoutine(irp, OwnerDone, (PVOID)(uintptr_t)0, TRUE, TRUE, TRUE);
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_READ;
    sl->Parameters.Read.Length = 0;
    q.cancel_ret[0] = IoCancelIrp(irp); /* no cancel routine yet: FALSE, Cancel set */
    q.call_ret[0] = IoCallDriver(q.dev, irp);
    q.got[0] = remove_next(NULL);
    q.got[1] = index_of(IoCsqRemoveIrp(&q.csq, &q.ctx[0]));
    q.got[2] = IsListEmpty(&q.queue);
}

static void test_insert_of_an_already_cancelled_irp_leaves_it_out_of_the_queue(void **state)
{
    (void)state;
    reset(FALSE, TRUE);
    kdpc_machine *m = run_ok(body_insert_cancelled, 1, 7);
    assert_false(q.cancel_ret[0]);
    assert_int_equal(q.got[0], -1);
    assert_int_equal(q.got[1], -1);
    assert_true(q.got[2]);
    assert_int_equal(q.canceled_calls[0], 1);
    assert_int_equal(q.done[0], 1);
    assert_int_equal(q.done_status[0], STATUS_CANCELLED);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Removal on CPU 1 racing with IoCancelIrp on CPU 0                    */

static void RaceDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    q.dpc_cpu = KeGetCurrentProcessorNumber();
    for (int k = 0; k < NIRP; k++) {
        PIRP irp =
            q.race_by_ctx ? IoCsqRemoveIrp(&q.csq, &q.ctx[k]) : IoCsqRemoveNextIrp(&q.csq, NULL);
        if (irp != NULL) {
            irp->IoStatus.Status = STATUS_SUCCESS;
            irp->IoStatus.Information = 0;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
            InterlockedIncrement(&q.dpc_removed);
        } else if (!q.race_by_ctx) {
            break; /* nothing left that is not being cancelled */
        }
        KeStallExecutionProcessor(1);
    }
    KeSetEvent(&q.dpc_done, IO_NO_INCREMENT, FALSE);
}

static void body_race(void)
{
    KeInitializeEvent(&q.dpc_done, NotificationEvent, FALSE);
    for (int i = 0; i < NIRP; i++)
        (void)submit(i, 0);
    KeInitializeDpc(&q.dpc, RaceDpc, NULL);
    KeSetTargetProcessorDpc(&q.dpc, 1);
    (void)KeInsertQueueDpc(&q.dpc, NULL, NULL);
    for (int i = NIRP - 1; i >= 0; i--)
        if (IoCancelIrp(q.irps[i]))
            InterlockedIncrement(&q.cancel_true);
    (void)KeWaitForSingleObject(&q.dpc_done, Executive, KernelMode, FALSE, NULL);
}

static void race_over_seeds(BOOLEAN by_ctx)
{
    LONG total_removed = 0, total_cancelled = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        reset(FALSE, TRUE);
        q.race_by_ctx = by_ctx;
        kdpc_machine *m = kt_machine(2, seed);
        KDPC_NAME(m, RaceDpc);
        KDPC_NAME(m, CsqtCompleteCanceled);
        kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_race);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(q.reached_end, 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        assert_int_equal(q.callback_unlocked, 0);
        assert_int_equal(q.dpc_cpu, 1);
        LONG cancelled = 0;
        for (int i = 0; i < NIRP; i++) {
            assert_int_equal(q.done[i], 1);    /* completed exactly once */
            assert_int_equal(q.removed[i], 1); /* taken out of the driver's list once */
            assert_true(q.canceled_calls[i] <= 1);
            if (q.done_status[i] == STATUS_CANCELLED) {
                assert_int_equal(q.canceled_calls[i], 1); /* cancelled, not removed */
                assert_false(q.canceled_in_queue[i]);
                cancelled++;
            } else {
                assert_int_equal(q.done_status[i], STATUS_SUCCESS);
                assert_int_equal(q.canceled_calls[i], 0); /* removed, not cancelled */
            }
        }
        assert_int_equal(cancelled, q.cancel_true); /* IoCancelIrp TRUE <=> cancelled */
        assert_int_equal(q.dpc_removed + cancelled, NIRP);
        total_removed += q.dpc_removed;
        total_cancelled += cancelled;
        kdpc_machine_destroy(m);
    }
    /* the seeds really race: both sides won IRPs */
    assert_true(total_removed > 0);
    assert_true(total_cancelled > 0);
}

static void test_remove_next_racing_with_cancel_each_irp_removed_or_cancelled(void **state)
{
    (void)state;
    race_over_seeds(FALSE);
}

static void test_remove_by_context_racing_with_cancel_each_irp_removed_or_cancelled(void **state)
{
    (void)state;
    race_over_seeds(TRUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_marks_pending_and_remove_next_returns_fifo_then_null),
        cmocka_unit_test(test_remove_next_with_peek_context_takes_only_matching_irps),
        cmocka_unit_test(test_remove_irp_by_context_takes_that_irp_once),
        cmocka_unit_test(test_insert_ex_failure_status_is_returned_and_the_irp_is_not_queued),
        cmocka_unit_test(test_cancel_of_a_queued_irp_completes_it_once_through_the_callback),
        cmocka_unit_test(test_remove_next_skips_cancelled_irps),
        cmocka_unit_test(test_insert_of_an_already_cancelled_irp_leaves_it_out_of_the_queue),
        cmocka_unit_test(test_remove_next_racing_with_cancel_each_irp_removed_or_cancelled),
        cmocka_unit_test(test_remove_by_context_racing_with_cancel_each_irp_removed_or_cancelled),
    };
    return cmocka_run_group_tests_name("csq", tests, NULL, NULL);
}
