/* SPDX-License-Identifier: MIT */
/*
 * test_dv_dispatch.c - what a dispatch, completion or cancel routine returns and leaves behind
 * (docs/rules.md), one broken routine per check and its fixed twin, which runs clean:
 *   io.irql_changed          dispatch routine: 0xC9/0x05 (P2 the device, P3/P4 the IRQLs);
 *                            completion routine: 0xC4/0xFA (P2 the routine, P3/P4 the IRQLs)
 *   io.apc_disable_changed   dispatch routine: 0xC4/0xC5; completion routine: 0xC4/0xFB (P2 the
 *                            routine, P3 the regions now, P4 at the call)
 *   dpc.lock_held            a dispatch routine returning with a spin lock (0xC4/0x40009) or an
 *                            in-stack queued lock (0x40006), a cancel routine with a spin lock
 *                            (P2 the lock, P3 the IRP)
 *   io.bad_status            0xC9/0x225 (0xFFFFFFFF), 0x21B (no NTSTATUS)
 *   io.pending_not_marked    0xC9/0x23D;  io.irp_unfinished 0xC9/0x226;
 *   io.status_mismatch       0xC9/0x224 (P4 the returned status);
 *   io.completion_not_pending 0xC9/0x228 (P2 the completion routine, P4 its device);
 *   io.complete_owned_below  0xC9/0x209;  io.cancelled_pending a warning (P1 the IRP, P2 the
 *                            cancel routine, P3 the dispatch routine, P4 the device);
 *   io.completion_event_pending, io.completion_no_signal warnings (P1 the completion routine,
 *                            P2 the IRP, P3 its device).
 * 0x2xx codes: P2 the routine, P3 the IRP, P4 the device, unless said otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef enum mode {
    M_RAISE,          /* dispatch routine raises to DISPATCH_LEVEL */
    M_COMP_RAISE,     /* the sender's completion routine raises */
    M_CRITICAL,       /* dispatch routine enters a critical region */
    M_COMP_CRITICAL,  /* the sender's completion routine enters one */
    M_SPINLOCK,       /* dispatch routine keeps a spin lock */
    M_QUEUED,         /* dispatch routine keeps an in-stack queued spin lock */
    M_CANCEL_LOCK,    /* cancel routine keeps a spin lock */
    M_MINUS_ONE,      /* returns 0xFFFFFFFF */
    M_GARBAGE,        /* returns 0xCCCCCCCC */
    M_NOT_MARKED,     /* STATUS_PENDING without IoMarkIrpPending */
    M_UNFINISHED,     /* STATUS_SUCCESS, IRP kept */
    M_MISMATCH,       /* completed with one status, returns another */
    M_NOT_PROPAGATED, /* upper completion routine does not mark pending */
    M_OWNED_BELOW,    /* upper completes while the lower driver has the IRP */
    M_CANCELLED,      /* pends a cancelled IRP with a cancel routine */
    M_EVENT,          /* upper completion routine marks pending and signals an event */
    M_NO_SIGNAL       /* upper completion routine wakes nobody while its dispatch routine waits */
} mode;

static struct {
    mode mode;
    bool fixed;
    PDEVICE_OBJECT up, low;
    PIRP irp, held; /* the IRP sent; the one a driver keeps */
    KSPIN_LOCK lock;
    KEVENT ev;
    KDPC dpc;
    KIRQL old;
    KLOCK_QUEUE_HANDLE qh;
    int back;
    int reached_after;
} t;

static uintptr_t fn(void (*f)(void))
{
    uintptr_t u = 0;
    memcpy(&u, &f, sizeof(u) < sizeof(f) ? sizeof(u) : sizeof(f));
    return u;
}
#define FN(f) fn((void (*)(void))(f))

static void complete(PIRP irp, NTSTATUS st)
{
    irp->IoStatus.Status = st;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

/* The sender's completion routine: takes the IRP back (it frees it). */
static NTSTATUS SenderBack(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    t.back = 1;
    if (t.mode == M_COMP_RAISE && !t.fixed) {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
    }
    if (t.mode == M_COMP_CRITICAL && !t.fixed)
        KeEnterCriticalRegion();
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* The upper driver's own completion routine (M_NOT_PROPAGATED, M_OWNED_BELOW). */
static NTSTATUS UpperDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    if (t.mode == M_EVENT) {
        if (!t.fixed && Irp->PendingReturned)
            IoMarkIrpPending(Irp);
        KeSetEvent(&t.ev, IO_NO_INCREMENT, FALSE);
        return STATUS_MORE_PROCESSING_REQUIRED; /* the test completes it again */
    }
    if (t.mode == M_NO_SIGNAL) {
        if (t.fixed)
            KeSetEvent(&t.ev, IO_NO_INCREMENT, FALSE);
        return STATUS_MORE_PROCESSING_REQUIRED;
    }
    if (t.mode == M_OWNED_BELOW)
        return STATUS_MORE_PROCESSING_REQUIRED; /* the dispatch routine completes it again */
    if (t.fixed && Irp->PendingReturned)
        IoMarkIrpPending(Irp);
    return STATUS_SUCCESS;
}

static VOID KeepCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    t.held = NULL;
    complete(Irp, STATUS_CANCELLED);
    KeAcquireSpinLock(&t.lock, &t.old);
    if (t.fixed)
        KeReleaseSpinLock(&t.lock, t.old);
}

/* The lower driver's DPC: completes the IRP it kept. */
static void LowerDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    PIRP held = t.held;
    t.held = NULL;
    if (held != NULL)
        complete(held, STATUS_SUCCESS);
}

static NTSTATUS Lower(PIRP Irp)
{
    if (t.mode == M_OWNED_BELOW && t.fixed) {
        complete(Irp, STATUS_SUCCESS);
        return STATUS_SUCCESS;
    }
    IoMarkIrpPending(Irp); /* kept: the test completes it */
    t.held = Irp;
    return STATUS_PENDING;
}

static NTSTATUS Upper(PIRP Irp)
{
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, UpperDone, NULL, TRUE, TRUE, TRUE);
    NTSTATUS st = IoCallDriver(t.low, Irp);
    if (t.mode == M_NOT_PROPAGATED || t.mode == M_EVENT)
        return st;
    if (t.mode == M_NO_SIGNAL && st == STATUS_PENDING) { /* the lower driver's DPC completes it */
        LARGE_INTEGER timeout;
        timeout.QuadPart = -10000; /* 1 ms: broken, nothing signals */
        (void)KeInsertQueueDpc(&t.dpc, NULL, NULL);
        (void)KeWaitForSingleObject(&t.ev, Executive, KernelMode, FALSE, &timeout);
    }
    /* M_OWNED_BELOW: fixed, the IRP came back (UpperDone stopped the walk); broken, the lower
     * driver still has it */
    complete(Irp, STATUS_SUCCESS);
    return STATUS_SUCCESS;
}

static NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    if (DeviceObject == t.low)
        return Lower(Irp);
    if (t.mode == M_NOT_PROPAGATED || t.mode == M_OWNED_BELOW || t.mode == M_EVENT ||
        t.mode == M_NO_SIGNAL)
        return Upper(Irp);
    switch (t.mode) {
    case M_RAISE: {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        complete(Irp, STATUS_SUCCESS);
        if (t.fixed)
            KeLowerIrql(old);
        return STATUS_SUCCESS;
    }
    case M_CRITICAL:
        KeEnterCriticalRegion();
        complete(Irp, STATUS_SUCCESS);
        if (t.fixed)
            KeLeaveCriticalRegion();
        return STATUS_SUCCESS;
    case M_SPINLOCK:
        complete(Irp, STATUS_SUCCESS); /* first: never completed holding a spin lock */
        KeAcquireSpinLock(&t.lock, &t.old);
        if (t.fixed)
            KeReleaseSpinLock(&t.lock, t.old);
        return STATUS_SUCCESS;
    case M_QUEUED:
        complete(Irp, STATUS_SUCCESS);
        KeAcquireInStackQueuedSpinLock(&t.lock, &t.qh);
        if (t.fixed)
            KeReleaseInStackQueuedSpinLock(&t.qh);
        return STATUS_SUCCESS;
    case M_CANCEL_LOCK:
        IoMarkIrpPending(Irp);
        t.held = Irp;
        IoSetCancelRoutine(Irp, KeepCancel);
        return STATUS_PENDING;
    case M_MINUS_ONE:
        complete(Irp, STATUS_SUCCESS);
        return t.fixed ? STATUS_SUCCESS : (NTSTATUS)-1;
    case M_GARBAGE:
        complete(Irp, STATUS_SUCCESS);
        return t.fixed ? STATUS_SUCCESS : (NTSTATUS)0xCCCCCCCCu;
    case M_NOT_MARKED:
        if (t.fixed)
            IoMarkIrpPending(Irp);
        t.held = Irp;
        return STATUS_PENDING;
    case M_UNFINISHED:
        if (t.fixed) {
            complete(Irp, STATUS_SUCCESS);
            return STATUS_SUCCESS;
        }
        t.held = Irp;
        return STATUS_SUCCESS;
    case M_MISMATCH:
        complete(Irp, STATUS_INVALID_PARAMETER);
        return t.fixed ? STATUS_INVALID_PARAMETER : STATUS_SUCCESS;
    case M_CANCELLED:
        IoSetCancelRoutine(Irp, KeepCancel);
        if (t.fixed && Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
            complete(Irp, STATUS_CANCELLED);
            return STATUS_CANCELLED;
        }
        IoMarkIrpPending(Irp);
        t.held = Irp;
        return STATUS_PENDING;
    default:
        complete(Irp, STATUS_SUCCESS);
        return STATUS_SUCCESS;
    }
}

static NTSTATUS DispatchEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_READ] = Dispatch;
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
        NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dvdisp", DispatchEntry, &drv)));
    KeInitializeSpinLock(&t.lock);
    KeInitializeEvent(&t.ev, NotificationEvent, FALSE);
    KeInitializeDpc(&t.dpc, LowerDpc, NULL);
    PIRP irp = IoAllocateIrp(2, FALSE);
    assert_non_null(irp);
    t.irp = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    IoSetCompletionRoutine(irp, SenderBack, NULL, TRUE, TRUE, TRUE);
    if (t.mode == M_CANCELLED)
        (void)IoCancelIrp(irp); /* not sent yet: only Irp->Cancel is set */
    (void)IoCallDriver(t.up, irp);
    if (KeGetCurrentIrql() != PASSIVE_LEVEL) /* a rule off: left raised */
        KeLowerIrql(PASSIVE_LEVEL);
    if (t.mode == M_CANCEL_LOCK)
        (void)IoCancelIrp(irp);
    if (t.held != NULL) {
        if (t.mode == M_CANCELLED)
            (void)IoSetCancelRoutine(t.held, NULL);
        complete(t.held, STATUS_SUCCESS); /* the kept IRP, on behalf of its driver */
    }
    if (t.mode == M_EVENT) /* the upper driver's routine stopped the walk: it finishes it */
        complete(irp, STATUS_SUCCESS);
    if (t.back)
        IoFreeIrp(irp);
    t.reached_after = 1;
}

/* ------------------------------------------------------------------ */

typedef struct dcase {
    const char *name;
    mode mode;
    const char *rule;
    uint32_t code;
    uint64_t p1;
    int p2, p3, p4; /* 0 zero; 1 the up device; 2 the IRP; 3 Dispatch; 4 SenderBack;
                       5 UpperDone; 6 the lock; 7 KeepCancel; 8 DISPATCH_LEVEL; 9 one region;
                       -1 not checked; a warning's p1 is numbered too */
} dcase;

static const dcase cases[] = {
    {"dispatch routine returns raised", M_RAISE, "io.irql_changed", 0xC9, 0x05, 1, 0, 8},
    {"completion routine returns raised", M_COMP_RAISE, "io.irql_changed", 0xC4, 0xFA, 4, 0, 8},
    {"dispatch routine leaves a critical region open", M_CRITICAL, "io.apc_disable_changed", 0xC4,
     0xC5, 3, 9, 0},
    {"completion routine leaves a critical region open", M_COMP_CRITICAL, "io.apc_disable_changed",
     0xC4, 0xFB, 4, 9, 0},
    {"dispatch routine keeps a spin lock", M_SPINLOCK, "dpc.lock_held", 0xC4, 0x40009, 6, 2, 0},
    {"dispatch routine keeps a queued spin lock", M_QUEUED, "dpc.lock_held", 0xC4, 0x40006, 6, 2,
     0},
    {"cancel routine keeps a spin lock", M_CANCEL_LOCK, "dpc.lock_held", 0xC4, 0x40009, 6, 2, 0},
    {"dispatch routine returns 0xFFFFFFFF", M_MINUS_ONE, "io.bad_status", 0xC9, 0x225, 3, 2, 1},
    {"dispatch routine returns garbage", M_GARBAGE, "io.bad_status", 0xC9, 0x21B, 3, 2, 1},
    {"STATUS_PENDING without IoMarkIrpPending", M_NOT_MARKED, "io.pending_not_marked", 0xC9, 0x23D,
     3, 2, 1},
    {"STATUS_SUCCESS for an IRP kept", M_UNFINISHED, "io.irp_unfinished", 0xC9, 0x226, 3, 2, 1},
    {"returned status differs from the completed one", M_MISMATCH, "io.status_mismatch", 0xC9,
     0x224, 3, 2, 0},
    {"completion routine drops the pending mark", M_NOT_PROPAGATED, "io.completion_not_pending",
     0xC9, 0x228, 5, 2, 1},
    {"IRP completed while the lower driver has it", M_OWNED_BELOW, "io.complete_owned_below", 0xC9,
     0x209, 3, 2, 1},
    {"cancelled IRP pended with a cancel routine", M_CANCELLED, "io.cancelled_pending", 0, 2, 7, 3,
     1},
    {"completion routine marks pending and signals an event", M_EVENT,
     "io.completion_event_pending", 0, 5, 2, 1, 0},
    {"completion routine wakes no waiting dispatch routine", M_NO_SIGNAL, "io.completion_no_signal",
     0, 5, 2, 1, 0},
};

static uint64_t expect(int what)
{
    switch (what) {
    case 1:
        return (uintptr_t)t.up;
    case 2:
        return (uintptr_t)t.irp;
    case 3:
        return FN(Dispatch);
    case 4:
        return FN(SenderBack);
    case 5:
        return FN(UpperDone);
    case 6:
        return (uintptr_t)&t.lock;
    case 7:
        return FN(KeepCancel);
    case 8:
        return DISPATCH_LEVEL;
    case 9:
        return 1;
    default:
        return 0;
    }
}

static kdpc_machine *run_case(const dcase *c, bool fixed, kdpc_status *st)
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
    const dcase *c = *state;
    kdpc_status st;
    kdpc_machine *m = run_case(c, false, &st);
    const kdpc_violation *v;
    if (c->code == 0) { /* a warning */
        KT_ASSERT_WARNING(m, c->rule);
        v = kdpc_machine_find_violation(m, c->rule);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(v->params[0], expect((int)c->p1)); /* a warning's P1: numbered */
    } else {
        KT_ASSERT_BUGCHECK(m, st, c->rule, c->code);
        v = kdpc_machine_bugcheck(m);
        assert_int_equal(v->params[0], c->p1);
        assert_int_equal(t.reached_after, 0);
    }
    if (c->p2 >= 0)
        assert_int_equal(v->params[1], expect(c->p2));
    if (c->p3 >= 0)
        assert_int_equal(v->params[2], expect(c->p3));
    if (c->p4 >= 0)
        assert_int_equal(v->params[3], expect(c->p4));
    kdpc_machine_destroy(m);
}

static void test_fixed(void **state)
{
    const dcase *c = *state;
    kdpc_status st;
    kdpc_machine *m = run_case(c, true, &st);
    if (st != KDPC_OK && kdpc_machine_bugcheck(m) != NULL)
        fprintf(stderr, "fixed twin stopped by %s\n", kdpc_machine_bugcheck(m)->rule);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, c->rule);
    assert_int_equal(t.reached_after, 1);
    assert_int_equal(t.back, 1);
    kdpc_machine_destroy(m);
}

#define NCASES (sizeof(cases) / sizeof(cases[0]))

int main(void)
{
    struct CMUnitTest tests[2 * NCASES];
    for (size_t i = 0; i < NCASES; i++) {
        tests[2 * i] = (struct CMUnitTest){cases[i].name, test_broken, NULL, NULL,
                                           (void *)(uintptr_t)&cases[i]};
        tests[2 * i + 1] =
            (struct CMUnitTest){"fixed twin", test_fixed, NULL, NULL, (void *)(uintptr_t)&cases[i]};
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
