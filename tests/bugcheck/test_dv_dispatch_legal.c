/* SPDX-License-Identifier: MIT */
/*
 * test_dv_dispatch_legal.c - correct drivers that the dispatch-return checks (io.pending_not_marked,
 * io.pending_not_returned, io.irp_unfinished, io.status_mismatch, io.complete_owned_below,
 * io.completion_not_pending, io.completion_no_signal, io.completion_event_pending,
 * io.cancelled_pending) must leave alone: every run ends KDPC_OK with no violation at all.
 *
 * Driver "legal": a filter device (up) attached over a function device (low). up handles the
 * IRP one documented way, low another, and the IRP comes from a thread that builds it
 * (IoBuildSynchronousFsdRequest, freed by the I/O manager at completion) or allocates it
 * (IoAllocateIrp, freed by its completion routine). Each combination runs on 1 and 2 CPUs over a
 * few seeds.
 *   up:  skip and return IoCallDriver's status; copy, completion routine propagating the pending
 *        mark, return IoCallDriver's status; copy, completion routine returning
 *        STATUS_MORE_PROCESSING_REQUIRED and signaling an event, wait, complete (the wait only on
 *        STATUS_PENDING, or always); mark pending, forward, return STATUS_PENDING; mark pending,
 *        forward, completion routine takes the IRP back and a work item completes it; mark
 *        pending and IoStartPacket (StartIo and a DPC do the rest); a completion routine that
 *        propagates the pending mark and releases a remove lock whose remover waits; the wait
 *        pattern with a routine that sends the IRP down once more before it signals.
 *   low: complete at once (success, error); mark pending, complete, return STATUS_PENDING; mark
 *        pending and let a DPC complete it; mark pending, let a DPC on CPU 1 complete it and wait
 *        for that before returning STATUS_PENDING: the IRP is completed, freed and its address
 *        handed to a new IRP (sent down too) while the dispatch routines of the old one still run
 *        (where the host's allocator hands the address out again at once: not under ASan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef enum umode {
    U_SKIP,      /* IoSkipCurrentIrpStackLocation, return IoCallDriver's status */
    U_PROPAGATE, /* copy; routine: if PendingReturned IoMarkIrpPending; return its status */
    U_WAIT,      /* copy; routine: if PendingReturned KeSetEvent, MORE_PROCESSING; wait, complete */
    U_WAIT_ALWAYS, /* copy; routine: KeSetEvent, MORE_PROCESSING; always wait, complete */
    U_MARK,        /* IoMarkIrpPending; copy; routine returns CONTINUE; return STATUS_PENDING */
    U_POST,        /* IoMarkIrpPending; copy; routine: MORE_PROCESSING, a work item completes */
    U_STARTIO,     /* IoMarkIrpPending; IoStartPacket; return STATUS_PENDING */
    U_REMLOCK,     /* U_PROPAGATE, releasing a remove lock in the routine while a remover waits */
    U_RETRY,       /* U_WAIT_ALWAYS, the routine sending the IRP down once more before it signals */
    U_COUNT
} umode;

typedef enum lmode {
    L_SYNC,      /* complete STATUS_SUCCESS, return it */
    L_SYNC_ERR,  /* complete STATUS_DEVICE_NOT_READY, return it */
    L_PEND_SYNC, /* IoMarkIrpPending, complete, return STATUS_PENDING */
    L_PEND_DPC,  /* IoMarkIrpPending, a DPC completes it, return STATUS_PENDING */
    L_PEND_RACE, /* IoMarkIrpPending, a DPC on CPU 1 completes it (and reuses its address) before
                    the dispatch routine returns STATUS_PENDING */
    L_COUNT
} lmode;

#define FILLER_KEY 0x46494C4Cu /* Parameters.Read.Key of the IRP that takes the old address */

static struct {
    umode up_mode;
    lmode low_mode;
    bool alloc; /* the originator uses IoAllocateIrp (else IoBuildSynchronousFsdRequest) */
    unsigned cpus;
    PDEVICE_OBJECT low, up, below;
    KDPC dpc;
    KTIMER timer;                   /* L_PEND_DPC: the "device" finishes 1 ms later */
    PIRP held;                      /* the IRP low or StartIo keeps for the DPC */
    volatile LONG queued, dpc_done; /* hand-offs to the DPC; DPC runs over */
    PIRP filler;                    /* the IRP allocated after the early completion */
    KEVENT fwd_ev;                  /* U_WAIT, U_WAIT_ALWAYS, U_RETRY */
    int tries;                      /* U_RETRY: sends of the IRP by up */
    PIO_WORKITEM wi;                /* U_POST */
    IO_REMOVE_LOCK rl;              /* U_REMLOCK */
    KEVENT done_ev;                 /* the originator's IoAllocateIrp IRP is back */
    IO_STATUS_BLOCK iosb;
    int finished;
} t;

static NTSTATUS final_status(void)
{
    return t.low_mode == L_SYNC_ERR ? STATUS_DEVICE_NOT_READY : STATUS_SUCCESS;
}

static void complete(PIRP irp, NTSTATUS st)
{
    irp->IoStatus.Status = st;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static bool is_filler(PIRP irp)
{
    return IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Key == FILLER_KEY;
}

static NTSTATUS FillerBack(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    return STATUS_MORE_PROCESSING_REQUIRED; /* the originator frees it at the end */
}

/* After the early completion (the old IRP freed by now): a new IRP, likely at the same
 * address, sent down the same stack at DISPATCH_LEVEL, while the old one's dispatch routines
 * have not returned. */
static void send_filler(void)
{
    PIRP n = IoAllocateIrp(t.up->StackSize, FALSE);
    if (n == NULL)
        return;
    t.filler = n;
    PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(n);
    s->MajorFunction = IRP_MJ_READ;
    s->Parameters.Read.Key = FILLER_KEY;
    IoSetCompletionRoutine(n, FillerBack, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(t.up, n);
}

static void LowDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    PIRP irp = t.held;
    t.held = NULL;
    if (irp == NULL)
        return;
    bool race = t.low_mode == L_PEND_RACE;
    if (t.up_mode == U_STARTIO)
        IoStartNextPacket(t.up, FALSE);
    complete(irp, final_status());
    if (race && t.filler == NULL)
        send_filler();
    InterlockedIncrement((PLONG)&t.dpc_done);
}

/* L_PEND_DPC, L_PEND_RACE: hand @irp to the DPC; for the race, wait until it is done. */
static void to_dpc(PIRP irp)
{
    t.held = irp;
    if (t.low_mode == L_PEND_DPC) {
        LARGE_INTEGER due;
        due.QuadPart = -10000; /* 1 ms */
        (void)KeSetTimer(&t.timer, due, &t.dpc);
        return;
    }
    LONG ticket = InterlockedIncrement((PLONG)&t.queued);
    (void)KeInsertQueueDpc(&t.dpc, NULL, NULL);
    if (t.low_mode != L_PEND_RACE || t.cpus == 1 || KeGetCurrentProcessorNumber() == 1)
        return; /* no other CPU to wait for (U_RETRY sends again from the DPC) */
    for (int i = 0; t.dpc_done < ticket && i < 10000; i++)
        KeStallExecutionProcessor(1);
}

static NTSTATUS Low(PIRP Irp)
{
    if (is_filler(Irp)) {
        complete(Irp, STATUS_SUCCESS);
        return STATUS_SUCCESS;
    }
    switch (t.low_mode) {
    case L_SYNC:
    case L_SYNC_ERR:
        complete(Irp, final_status());
        return final_status();
    case L_PEND_SYNC:
        IoMarkIrpPending(Irp);
        complete(Irp, final_status());
        return STATUS_PENDING;
    default:
        IoMarkIrpPending(Irp);
        to_dpc(Irp);
        return STATUS_PENDING;
    }
}

static void PostWork(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    (void)DeviceObject;
    PIRP irp = Context;
    PIO_WORKITEM wi = t.wi;
    t.wi = NULL;
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* with the status the lower driver set */
    IoFreeWorkItem(wi);                      /* allowed in its own routine */
}

static void copy_down(PIRP Irp);

static NTSTATUS UpDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    switch (t.up_mode) {
    case U_WAIT:
        if (Irp->PendingReturned)
            KeSetEvent(&t.fwd_ev, IO_NO_INCREMENT, FALSE);
        return STATUS_MORE_PROCESSING_REQUIRED;
    case U_WAIT_ALWAYS:
        KeSetEvent(&t.fwd_ev, IO_NO_INCREMENT, FALSE);
        return STATUS_MORE_PROCESSING_REQUIRED;
    case U_RETRY:
        if (t.tries < 2) { /* once more, from here (at DISPATCH_LEVEL at most) */
            copy_down(Irp);
            (void)IoCallDriver(t.below, Irp);
            return STATUS_MORE_PROCESSING_REQUIRED;
        }
        KeSetEvent(&t.fwd_ev, IO_NO_INCREMENT, FALSE);
        return STATUS_MORE_PROCESSING_REQUIRED;
    case U_MARK:
        return STATUS_CONTINUE_COMPLETION; /* the dispatch routine marked it */
    case U_POST:
        IoQueueWorkItem(t.wi, PostWork, DelayedWorkQueue, Irp);
        return STATUS_MORE_PROCESSING_REQUIRED;
    case U_REMLOCK:
        if (Irp->PendingReturned)
            IoMarkIrpPending(Irp);
        IoReleaseRemoveLock(&t.rl, Irp); /* may be the last: wakes the remover */
        return STATUS_CONTINUE_COMPLETION;
    default:
        if (Irp->PendingReturned)
            IoMarkIrpPending(Irp);
        return STATUS_CONTINUE_COMPLETION;
    }
}

static void copy_down(PIRP Irp)
{
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, UpDone, NULL, TRUE, TRUE, TRUE);
    t.tries++;
}

static NTSTATUS Up(PIRP Irp)
{
    if (is_filler(Irp)) {
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(t.below, Irp);
    }
    NTSTATUS st;
    switch (t.up_mode) {
    case U_SKIP:
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(t.below, Irp);
    case U_WAIT:
    case U_WAIT_ALWAYS:
    case U_RETRY:
        KeInitializeEvent(&t.fwd_ev, NotificationEvent, FALSE);
        copy_down(Irp);
        st = IoCallDriver(t.below, Irp);
        if (t.up_mode != U_WAIT || st == STATUS_PENDING) {
            (void)KeWaitForSingleObject(&t.fwd_ev, Executive, KernelMode, FALSE, NULL);
            st = Irp->IoStatus.Status;
        }
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return st;
    case U_MARK:
    case U_POST:
        IoMarkIrpPending(Irp);
        copy_down(Irp);
        (void)IoCallDriver(t.below, Irp);
        return STATUS_PENDING;
    case U_STARTIO:
        IoMarkIrpPending(Irp);
        IoStartPacket(t.up, Irp, NULL, NULL);
        return STATUS_PENDING;
    case U_REMLOCK:
        st = IoAcquireRemoveLock(&t.rl, Irp);
        if (!NT_SUCCESS(st)) {
            complete(Irp, st);
            return st;
        }
        copy_down(Irp);
        return IoCallDriver(t.below, Irp);
    default:
        copy_down(Irp);
        return IoCallDriver(t.below, Irp);
    }
}

/* U_STARTIO: the "device" is low's behaviour: at once, or by the DPC. */
static VOID UpStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    if (t.low_mode == L_PEND_DPC || t.low_mode == L_PEND_RACE) {
        to_dpc(Irp);
        return;
    }
    IoStartNextPacket(t.up, FALSE);
    complete(Irp, final_status());
}

static NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return DeviceObject == t.low ? Low(Irp) : Up(Irp);
}

static NTSTATUS LegalEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->MajorFunction[IRP_MJ_READ] = Dispatch;
    DriverObject->DriverStartIo = UpStartIo;
    NTSTATUS st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &t.low);
    if (!NT_SUCCESS(st))
        return st;
    st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &t.up);
    if (!NT_SUCCESS(st))
        return st;
    IoSetStartIoAttributes(t.up, TRUE, FALSE); /* StartIo calls IoStartNextPacket */
    t.below = IoAttachDeviceToDeviceStack(t.up, t.low);
    return t.below != NULL ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

static NTSTATUS OwnerBack(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Context;
    t.iosb = Irp->IoStatus;
    IoFreeIrp(Irp);
    KeSetEvent(&t.done_ev, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void Body(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    assert_true(NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "legal", LegalEntry, &drv)));
    KeInitializeDpc(&t.dpc, LowDpc, NULL);
    if (t.cpus > 1)
        KeSetTargetProcessorDpc(&t.dpc, 1);
    KeInitializeEvent(&t.done_ev, NotificationEvent, FALSE);
    t.wi = IoAllocateWorkItem(t.up);
    assert_non_null(t.wi);
    IoInitializeRemoveLock(&t.rl, 'lgeL', 0, 0);
    assert_true(NT_SUCCESS(IoAcquireRemoveLock(&t.rl, &t)));
    KeInitializeTimer(&t.timer);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp;
    if (t.alloc) {
        irp = IoAllocateIrp(t.up->StackSize, FALSE);
        assert_non_null(irp);
        IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
        IoSetCompletionRoutine(irp, OwnerBack, NULL, TRUE, TRUE, TRUE);
    } else {
        irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, t.up, NULL, 0, NULL, &ev, &t.iosb);
        assert_non_null(irp);
    }
    NTSTATUS st = IoCallDriver(t.up, irp);
    if (t.up_mode == U_REMLOCK) /* a remover drops the bias and waits for the IRP's reference */
        IoReleaseRemoveLockAndWait(&t.rl, &t);
    if (t.alloc)
        (void)KeWaitForSingleObject(&t.done_ev, Executive, KernelMode, FALSE, NULL);
    else if (st == STATUS_PENDING)
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    if (t.alloc || st == STATUS_PENDING)
        st = t.iosb.Status;
    assert_int_equal(st, final_status());
    for (int i = 0; t.dpc_done < t.queued && i < 10000; i++) /* the DPC's filler is sent */
        KeStallExecutionProcessor(1);
    if (t.filler != NULL)
        IoFreeIrp(t.filler);
    if (t.wi != NULL)
        IoFreeWorkItem(t.wi);
    t.finished = 1;
}

static const char *const unames[U_COUNT] = {
    "skip", "propagate", "wait", "wait always", "mark", "post", "startio", "remove lock", "retry"};
static const char *const lnames[L_COUNT] = {"sync", "sync error", "pend+complete", "pend, DPC",
                                            "pend, completed on CPU 1 and reused"};

static void run_one(umode u, lmode l, bool alloc, unsigned cpus, uint64_t seed)
{
    memset(&t, 0, sizeof(t));
    t.up_mode = u;
    t.low_mode = l;
    t.alloc = alloc;
    t.cpus = cpus;
    kdpc_machine *m = kt_machine(cpus, seed);
    kdpc_status st = (kdpc_machine_run)(m, Body, NULL);
    size_t n = kdpc_machine_violation_count(m);
    for (size_t i = 0; i < n; i++) {
        const kdpc_violation *v = kdpc_machine_violation(m, i);
        fprintf(stderr, "up %s, low %s, %s, %u CPUs, seed %llu: %s (%s)\n", unames[u], lnames[l],
                alloc ? "IoAllocateIrp" : "IoBuildSynchronousFsdRequest", cpus,
                (unsigned long long)seed, v->rule, v->message);
    }
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(t.finished, 1);
    kdpc_machine_destroy(m);
}

static void run_up(umode u)
{
    for (lmode l = 0; l < L_COUNT; l++)
        for (int alloc = 0; alloc < 2; alloc++)
            for (unsigned cpus = 1; cpus <= 2; cpus++)
                for (uint64_t seed = 1; seed <= 3; seed++)
                    run_one(u, l, alloc != 0, cpus, seed);
}

/* One cmocka test per upper mode, named test_<mode>, its state the mode for run_up. */
static void test_up(void **state)
{
    run_up((umode)(uintptr_t)*state);
}

#define UP_TEST(name, mode)                                                                        \
    {                                                                                              \
        "test_" #name, test_up, NULL, NULL, (void *)(uintptr_t)(mode)                              \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        UP_TEST(skip, U_SKIP),       UP_TEST(propagate, U_PROPAGATE),
        UP_TEST(wait, U_WAIT),       UP_TEST(wait_always, U_WAIT_ALWAYS),
        UP_TEST(mark, U_MARK),       UP_TEST(post, U_POST),
        UP_TEST(startio, U_STARTIO), UP_TEST(remove_lock, U_REMLOCK),
        UP_TEST(retry, U_RETRY),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
