/* SPDX-License-Identifier: MIT */
/*
 * test_dv_queued.c - io.queued_before_marked (MarkingQueuedIrps, MarkingInterlockedQueuedIrps):
 * a dispatch routine puts its IRP on a driver queue before IoMarkIrpPending. Code 0
 * (KDPC_RULE_VIOLATION), P1 the IRP, P2 the lock released (P4 0) or the list head (P4 1),
 * P3 the dispatch routine. Each broken routine has a fixed twin (IoMarkIrpPending first) that
 * runs clean; a cancel-safe queue, the StartIo path, a routine that queues under two locks and
 * an upper driver that takes a lock after the driver below queued the IRP stay clean too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef enum mode {
    M_LOCK,        /* KeAcquireSpinLock, InsertTailList, KeReleaseSpinLock, IoMarkIrpPending */
    M_DPC_LOCK,    /* the same at DISPATCH_LEVEL (KeReleaseSpinLockFromDpcLevel) */
    M_INSTACK,     /* the same with an in-stack queued spin lock */
    M_INTERLOCKED, /* ExInterlockedInsertTailList, IoMarkIrpPending */
    M_INTER_HEAD,  /* ExInterlockedInsertHeadList, IoMarkIrpPending */
    M_CSQ,         /* IoCsqInsertIrp (marks pending itself): always clean */
    M_STARTIO,     /* IoMarkIrpPending, IoStartPacket; StartIo queues it under a lock: clean */
    M_TWO_LOCKS,   /* queue lock held around an inner lock's release, mark, release: clean */
    M_FORWARD      /* upper forwards; the lower queues it (marked); the upper takes a lock */
} mode;

static struct {
    mode mode;
    bool fixed;
    PDEVICE_OBJECT up, low;
    PIRP irp, held;
    KSPIN_LOCK lock, inner;
    LIST_ENTRY queue;
    IO_CSQ csq;
    int back, reached_after;
} t;

static uintptr_t fn(void (*f)(void))
{
    uintptr_t u = 0;
    memcpy(&u, &f, sizeof(u) < sizeof(f) ? sizeof(u) : sizeof(f));
    return u;
}
#define FN(f) fn((void (*)(void))(f))

static NTSTATUS SenderBack(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    t.back = 1;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void CsqInsert(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    InsertTailList(&t.queue, &Irp->Tail.Overlay.ListEntry);
}
static void CsqRemove(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}
static PIRP CsqPeek(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    (void)Csq;
    (void)PeekContext;
    PLIST_ENTRY e = Irp == NULL ? t.queue.Flink : Irp->Tail.Overlay.ListEntry.Flink;
    return e == &t.queue ? NULL : CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
}
static void CsqAcquire(PIO_CSQ Csq, PKIRQL Irql)
{
    (void)Csq;
    KeAcquireSpinLock(&t.lock, Irql);
}
static void CsqRelease(PIO_CSQ Csq, KIRQL Irql)
{
    (void)Csq;
    KeReleaseSpinLock(&t.lock, Irql);
}
static void CsqCancelled(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    Irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static VOID StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    KIRQL old;
    KeAcquireSpinLock(&t.lock, &old);
    InsertTailList(&t.queue, &Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&t.lock, old);
    t.held = Irp;
}

static NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KIRQL old;
    KLOCK_QUEUE_HANDLE qh;
    bool fixed = t.fixed;
    if (DeviceObject == t.low) { /* M_FORWARD's lower driver: correct */
        IoMarkIrpPending(Irp);
        KeAcquireSpinLock(&t.lock, &old);
        InsertTailList(&t.queue, &Irp->Tail.Overlay.ListEntry);
        KeReleaseSpinLock(&t.lock, old);
        t.held = Irp;
        return STATUS_PENDING;
    }
    if (fixed || t.mode == M_STARTIO)
        IoMarkIrpPending(Irp);
    switch (t.mode) {
    case M_LOCK:
        KeAcquireSpinLock(&t.lock, &old);
        InsertTailList(&t.queue, &Irp->Tail.Overlay.ListEntry);
        KeReleaseSpinLock(&t.lock, old);
        break;
    case M_DPC_LOCK:
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeAcquireSpinLockAtDpcLevel(&t.lock);
        InsertTailList(&t.queue, &Irp->Tail.Overlay.ListEntry);
        KeReleaseSpinLockFromDpcLevel(&t.lock);
        KeLowerIrql(old);
        break;
    case M_INSTACK:
        KeAcquireInStackQueuedSpinLock(&t.lock, &qh);
        InsertTailList(&t.queue, &Irp->Tail.Overlay.ListEntry);
        KeReleaseInStackQueuedSpinLock(&qh);
        break;
    case M_INTERLOCKED:
        (void)ExInterlockedInsertTailList(&t.queue, &Irp->Tail.Overlay.ListEntry, &t.lock);
        break;
    case M_INTER_HEAD:
        (void)ExInterlockedInsertHeadList(&t.queue, &Irp->Tail.Overlay.ListEntry, &t.lock);
        break;
    case M_CSQ:
        (void)IoCsqInsertIrp(&t.csq, Irp, NULL);
        break;
    case M_STARTIO:
        IoStartPacket(DeviceObject, Irp, NULL, NULL);
        return STATUS_PENDING;
    case M_TWO_LOCKS:
        KeAcquireSpinLock(&t.lock, &old);
        InsertTailList(&t.queue, &Irp->Tail.Overlay.ListEntry);
        KeAcquireSpinLockAtDpcLevel(&t.inner);
        KeReleaseSpinLockFromDpcLevel(&t.inner); /* the queue lock still held */
        IoMarkIrpPending(Irp);
        KeReleaseSpinLock(&t.lock, old);
        t.held = Irp;
        return STATUS_PENDING;
    case M_FORWARD: {
        IoSkipCurrentIrpStackLocation(Irp);
        NTSTATUS st = IoCallDriver(t.low, Irp);
        KeAcquireSpinLock(&t.inner, &old); /* the IRP is the lower driver's, on its queue */
        KeReleaseSpinLock(&t.inner, old);
        return st;
    }
    }
    if (!fixed)
        IoMarkIrpPending(Irp); /* too late */
    if (t.mode != M_CSQ)
        t.held = Irp;
    return STATUS_PENDING;
}

static NTSTATUS DispatchEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_READ] = Dispatch;
    DriverObject->DriverStartIo = StartIo;
    NTSTATUS st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &t.up);
    if (!NT_SUCCESS(st))
        return st;
    return IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &t.low);
}

static void Send(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    assert_true(
        NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dvqueued", DispatchEntry, &drv)));
    KeInitializeSpinLock(&t.lock);
    KeInitializeSpinLock(&t.inner);
    InitializeListHead(&t.queue);
    assert_true(NT_SUCCESS(IoCsqInitialize(&t.csq, CsqInsert, CsqRemove, CsqPeek, CsqAcquire,
                                           CsqRelease, CsqCancelled)));
    PIRP irp = IoAllocateIrp(3, FALSE);
    assert_non_null(irp);
    t.irp = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, SenderBack, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(t.up, irp);
    if (t.mode == M_CSQ)
        t.held = IoCsqRemoveNextIrp(&t.csq, NULL);
    else if (t.held != NULL)
        RemoveEntryList(&t.held->Tail.Overlay.ListEntry);
    assert_true(t.held == irp);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    if (t.mode == M_STARTIO) {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        IoStartNextPacket(t.up, FALSE);
        KeLowerIrql(old);
    }
    if (t.back)
        IoFreeIrp(irp);
    t.reached_after = 1;
}

/* ------------------------------------------------------------------ */

typedef struct qcase {
    const char *name;
    mode mode;
    bool broken; /* has a broken form */
    int p2;      /* 0 the lock, 1 the list head */
    uint64_t p4;
} qcase;

static const qcase cases[] = {
    {"spin lock released before IoMarkIrpPending", M_LOCK, true, 0, 0},
    {"KeReleaseSpinLockFromDpcLevel before IoMarkIrpPending", M_DPC_LOCK, true, 0, 0},
    {"in-stack queued lock released before IoMarkIrpPending", M_INSTACK, true, 0, 0},
    {"ExInterlockedInsertTailList before IoMarkIrpPending", M_INTERLOCKED, true, 1, 1},
    {"ExInterlockedInsertHeadList before IoMarkIrpPending", M_INTER_HEAD, true, 1, 1},
    {"IoCsqInsertIrp", M_CSQ, false, 0, 0},
    {"IoMarkIrpPending, IoStartPacket, StartIo queues it", M_STARTIO, false, 0, 0},
    {"inner lock released while the queue lock is held", M_TWO_LOCKS, false, 0, 0},
    {"upper driver takes a lock after the lower queued the IRP", M_FORWARD, false, 0, 0},
};

static kdpc_machine *run_case(const qcase *c, bool fixed, kdpc_status *st)
{
    memset(&t, 0, sizeof(t));
    t.mode = c->mode;
    t.fixed = fixed;
    kdpc_machine *m = kt_machine(1, 23);
    *st = kdpc_machine_run(m, Send, NULL);
    return m;
}

static void test_broken(void **state)
{
    const qcase *c = *state;
    kdpc_status st;
    kdpc_machine *m = run_case(c, false, &st);
    KT_ASSERT_BUGCHECK(m, st, "io.queued_before_marked", 0);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], (uintptr_t)t.irp);
    assert_int_equal(v->params[1], c->p2 ? (uintptr_t)&t.queue : (uintptr_t)&t.lock);
    assert_int_equal(v->params[2], FN(Dispatch));
    assert_int_equal(v->params[3], c->p4);
    assert_int_equal(t.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void test_fixed(void **state)
{
    const qcase *c = *state;
    kdpc_status st;
    kdpc_machine *m = run_case(c, c->broken, &st);
    if (st != KDPC_OK && kdpc_machine_bugcheck(m) != NULL)
        fprintf(stderr, "clean run stopped by %s\n", kdpc_machine_bugcheck(m)->rule);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "io.queued_before_marked");
    assert_null(kdpc_machine_find_violation(m, "io.pending_not_marked"));
    assert_int_equal(t.reached_after, 1);
    assert_int_equal(t.back, 1);
    kdpc_machine_destroy(m);
}

#define NCASES (sizeof(cases) / sizeof(cases[0]))

int main(void)
{
    struct CMUnitTest tests[2 * NCASES];
    size_t n = 0;
    for (size_t i = 0; i < NCASES; i++) {
        void *c = (void *)(uintptr_t)&cases[i];
        if (cases[i].broken)
            tests[n++] = (struct CMUnitTest){cases[i].name, test_broken, NULL, NULL, c};
        tests[n++] = (struct CMUnitTest){cases[i].broken ? "fixed twin" : cases[i].name, test_fixed,
                                         NULL, NULL, c};
    }
    return _cmocka_run_group_tests("test_dv_queued", tests, n, NULL, NULL);
}
