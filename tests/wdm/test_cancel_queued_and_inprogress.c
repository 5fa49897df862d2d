/* SPDX-License-Identifier: MIT */
/*
 * test_cancel_queued_and_inprogress.c - cancelling the IRPs of a StartIo
 * driver with an ISR and a DpcForIsr, queued and in progress
 * (docs/facts/io.md 4.2, 4.4, 4.10-4.13, 4.20-4.24; guidelines G6, G13).
 *
 * The "device" performs one operation per request and raises its Latched
 * line when it ends: at once ("auto"), or when the test says so ("hold");
 * an abort ends the operation early. The driver queues each IOCTL with
 * IoStartPacket(.., CxCancel). StartIo takes the cancel spin lock, checks
 * Irp->Cancel, sets CxCancel again for the IRP now in progress
 * (IoSetCancelRoutine), drops the lock and programs the device through a
 * SynchCritSection. The ISR acknowledges and queues the DpcForIsr. The DPC
 * takes the result in a SynchCritSection, then - holding the cancel spin
 * lock, as a driver using the system device queue must - clears the cancel
 * routine with IoSetCancelRoutine(Irp, NULL): non-NULL means it owns the IRP
 * and completes it with the device's data; NULL means CxCancel owns it. Either
 * way it calls IoStartNextPacket(Dev, TRUE).
 *
 * CxCancel (4.12, 4.23) runs at DISPATCH_LEVEL holding the cancel spin lock:
 *  - the current IRP: drop the lock with Irp->CancelIrql, abort the device's
 *    operation through a SynchCritSection, complete STATUS_CANCELLED;
 *  - a queued IRP: KeRemoveEntryDeviceQueue, drop the lock, complete
 *    STATUS_CANCELLED with Information 0.
 *
 * Tests: a scripted run ("hold" device) that cancels two queued IRPs, one
 * IRP before it reaches the driver and the one in progress, then finishes
 * the rest; the DPC/cancel race over seeds on 2 CPUs, every IRP completed
 * exactly once with success or STATUS_CANCELLED (interrupts are delivered
 * late, so IRPs stay in progress long enough to be cancelled there). Broken
 * twins: CxCancel forgetting IoReleaseCancelSpinLock (io.cancel_lock_held,
 * 0x11B as it returns; with that rule off the next cancel acquires the lock
 * its CPU still holds: spinlock.recursive, 0xC4/0x1000); a DPC that
 * completes without clearing the cancel routine (io.complete_cancelable,
 * 0xC9/0x07, at that completion; with that rule off, on some seeds a cancel
 * racing it completes the IRP first and the DPC completes it again:
 * io.double_complete, 0x44; on the others the cancel comes after and finds
 * the routine on a completed IRP: 0x48 CANCEL_STATE_IN_COMPLETED_IRP).
 *
 * IRPs come from IoAllocateIrp; the owner's completion routine lets the
 * completion finish, so a completed IRP is marked completed (CurrentLocation =
 * StackCount + 2, 4.15) - what io.double_complete (0x44) and IoCancelIrp's
 * CANCEL_STATE_IN_COMPLETED_IRP (0x48) look at - and kdpc keeps an IRP that no
 * thread owns allocated until the test frees it, after the driver is unloaded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE      11
#define DIRQL     8
#define NIRP      8
#define IOCTL_CX  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x820, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define RESULT(t) (0xC0DE0000u | (t))

#define HW_OK      1u
#define HW_ABORTED 2u

typedef struct EXT {
    PKINTERRUPT Interrupt;
    /* the device (interrupt lock) */
    ULONG HwTag;
    BOOLEAN HwBusy;
    ULONG HwStatus;
    ULONG HwResult;
    LONG HwIntPending;
    /* ISR-shared context (interrupt lock) */
    BOOLEAN IsrDone;
    ULONG IsrStatus;
    ULONG IsrResult;
} EXT, *PEXT;

static struct {
    BOOLEAN hold;            /* the device ends an operation only when the test says so */
    BOOLEAN forget_release;  /* broken: CxCancel keeps the cancel spin lock (queued IRPs) */
    BOOLEAN dpc_no_clear;    /* broken: the DPC completes without IoSetCancelRoutine(NULL) */
    unsigned cancel_pattern; /* race: which IRPs the canceller cancels */
    kdpc_machine *m;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    NTSTATUS load_status;
    PIRP irps[NIRP];
    ULONG sysbuf[NIRP];
    KEVENT done_ev[NIRP];
    KEVENT started_ev; /* StartIo programmed the device */
    KEVENT submitted[NIRP];
    KEVENT thread_done[2];
    NTSTATUS call_ret[NIRP];
    NTSTATUS wait_ret[NIRP];
    BOOLEAN cancel_ret[NIRP];
    BOOLEAN cancel_tried[NIRP];
    BOOLEAN cancel_again_ret;
    /* completion, as the originator sees it */
    LONG done_count[NIRP];
    NTSTATUS done_status[NIRP];
    ULONG_PTR done_info[NIRP];
    int order[NIRP];
    LONG norder;
    /* what the driver saw */
    LONG cancel_calls;
    LONG cancel_current;
    LONG cancel_queued;
    LONG cancel_neither;
    LONG cancel_no_device;
    LONG cancel_bad_state; /* not at DISPATCH_LEVEL, Cancel not set or CancelRoutine not NULL */
    KIRQL cancel_irql_seen[NIRP];
    LONG startio_calls;
    LONG startio_cancelled; /* StartIo found Irp->Cancel */
    LONG dpc_completed;
    LONG dpc_yielded; /* IoSetCancelRoutine(Irp, NULL) returned NULL */
    LONG isr_runs;
    LONG aborts;
    LONG reached_end;
} t;

/* ------------------------------------------------------------------ */
/* The device                                                           */

static void hw_finish(PEXT ext, ULONG status)
{
    ext->HwBusy = FALSE;
    ext->HwStatus = status;
    ext->HwResult = status == HW_OK ? RESULT(ext->HwTag) : 0;
    ext->HwIntPending = 1;
    (void)kdpc_line_assert(t.m, LINE);
}

typedef struct OP {
    PEXT ext;
    ULONG tag;
} OP;

static BOOLEAN ProgramDevice(PVOID Context)
{
    OP *op = Context;
    op->ext->HwTag = op->tag;
    op->ext->HwBusy = TRUE;
    if (!t.hold)
        hw_finish(op->ext, HW_OK);
    return TRUE;
}

/* Abort the operation of request @tag, if the device is still at it. */
static BOOLEAN AbortDevice(PVOID Context)
{
    OP *op = Context;
    if (!op->ext->HwBusy || op->ext->HwTag != op->tag)
        return FALSE;
    t.aborts++;
    hw_finish(op->ext, HW_ABORTED);
    return TRUE;
}

static BOOLEAN HwKick(PVOID Context)
{
    PEXT ext = Context;
    if (!ext->HwBusy)
        return FALSE;
    hw_finish(ext, HW_OK);
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* The driver                                                           */

static ULONG tag_of(PIRP irp)
{
    return *(PULONG)irp->AssociatedIrp.SystemBuffer;
}

static void complete_cancelled(PIRP irp)
{
    irp->IoStatus.Status = STATUS_CANCELLED;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

/* 4.12, 4.23: entered at DISPATCH_LEVEL holding the cancel spin lock. */
static void CxCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    InterlockedIncrement(&t.cancel_calls);
    if (DeviceObject == NULL) {
        /* Only the broken DPC gets here: it left the routine on an IRP it was completing, and
         * IoCancelIrp found it with no stack location left (Windows would pass garbage). */
        InterlockedIncrement(&t.cancel_no_device);
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        return;
    }
    PEXT ext = DeviceObject->DeviceExtension;
    /* the cancel spin lock is held: the IoReleaseCancelSpinLock below bug checks otherwise */
    if (KeGetCurrentIrql() != DISPATCH_LEVEL || !Irp->Cancel || Irp->CancelRoutine != NULL)
        InterlockedIncrement(&t.cancel_bad_state);
    ULONG tag = tag_of(Irp);
    if (tag >= 1 && tag <= NIRP)
        t.cancel_irql_seen[tag - 1] = Irp->CancelIrql;
    if (Irp == DeviceObject->CurrentIrp) {
        /* in progress: the DPC's IoSetCancelRoutine(Irp, NULL) will return NULL */
        InterlockedIncrement(&t.cancel_current);
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        OP op = {ext, tag};
        (void)KeSynchronizeExecution(ext->Interrupt, AbortDevice, &op);
        complete_cancelled(Irp);
        return;
    }
    if (KeRemoveEntryDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry)) {
        InterlockedIncrement(&t.cancel_queued);
        if (!t.forget_release)
            IoReleaseCancelSpinLock(Irp->CancelIrql);
        complete_cancelled(Irp);
        return;
    }
    InterlockedIncrement(&t.cancel_neither);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
}

static BOOLEAN CxIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PEXT ext = dev->DeviceExtension;
    if (ext->HwIntPending == 0)
        return FALSE;
    ext->HwIntPending = 0; /* acknowledge */
    ext->IsrStatus = ext->HwStatus;
    ext->IsrResult = ext->HwResult;
    ext->IsrDone = TRUE;
    t.isr_runs++;
    IoRequestDpc(dev, dev->CurrentIrp, NULL);
    return TRUE;
}

typedef struct TAKE {
    PEXT ext;
    BOOLEAN done;
    ULONG status;
    ULONG result;
} TAKE;

static BOOLEAN TakeResult(PVOID Context)
{
    TAKE *tk = Context;
    tk->done = tk->ext->IsrDone;
    tk->status = tk->ext->IsrStatus;
    tk->result = tk->ext->IsrResult;
    tk->ext->IsrDone = FALSE;
    return tk->done;
}

static void CxDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Irp;
    (void)Context;
    PEXT ext = DeviceObject->DeviceExtension;
    PIRP irp = DeviceObject->CurrentIrp;
    TAKE tk = {ext, FALSE, 0, 0};
    if (!KeSynchronizeExecution(ext->Interrupt, TakeResult, &tk) || irp == NULL)
        return;
    if (!t.dpc_no_clear) {
        KIRQL irql;
        IoAcquireCancelSpinLock(&irql); /* 4.21: the system device queue */
        PDRIVER_CANCEL prev = IoSetCancelRoutine(irp, NULL);
        IoReleaseCancelSpinLock(irql);
        if (prev == NULL) {
            /* 4.24: CxCancel owns this IRP (it ran, or is running); hands off */
            InterlockedIncrement(&t.dpc_yielded);
            IoStartNextPacket(DeviceObject, TRUE);
            return;
        }
    }
    if (tk.status == HW_OK) {
        *(PULONG)irp->AssociatedIrp.SystemBuffer = tk.result;
        irp->IoStatus.Status = STATUS_SUCCESS;
        irp->IoStatus.Information = sizeof(ULONG);
    } else {
        irp->IoStatus.Status = STATUS_CANCELLED;
        irp->IoStatus.Information = 0;
    }
    InterlockedIncrement(&t.dpc_completed);
    IoStartNextPacket(DeviceObject, TRUE); /* G6 */
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void CxStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PEXT ext = DeviceObject->DeviceExtension;
    InterlockedIncrement(&t.startio_calls);
    KIRQL irql;
    IoAcquireCancelSpinLock(&irql);
    if (Irp->Cancel) {
        /* 4.2: cancelled before it got here */
        InterlockedIncrement(&t.startio_cancelled);
        PDRIVER_CANCEL prev = IoSetCancelRoutine(Irp, NULL);
        IoReleaseCancelSpinLock(irql);
        if (prev != NULL)
            complete_cancelled(Irp); /* else CxCancel completed it */
        IoStartNextPacket(DeviceObject, TRUE);
        return;
    }
    (void)IoSetCancelRoutine(Irp, CxCancel); /* in progress: still cancelable */
    IoReleaseCancelSpinLock(irql);
    OP op = {ext, tag_of(Irp)};
    (void)KeSynchronizeExecution(ext->Interrupt, ProgramDevice, &op);
    KeSetEvent(&t.started_ev, IO_NO_INCREMENT, FALSE);
}

static NTSTATUS CxDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    if (sl->Parameters.DeviceIoControl.IoControlCode != IOCTL_CX ||
        sl->Parameters.DeviceIoControl.InputBufferLength < sizeof(ULONG) ||
        sl->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONG)) {
        Irp->IoStatus.Status = STATUS_INVALID_PARAMETER;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_INVALID_PARAMETER;
    }
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, CxCancel);
    return STATUS_PENDING;
}

static void CxUnload(PDRIVER_OBJECT DriverObject)
{
    PEXT ext = DriverObject->DeviceObject->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
}

static NTSTATUS CxDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    dev->Flags |= DO_BUFFERED_IO;
    PEXT ext = dev->DeviceExtension;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = CxDeviceControl;
    DriverObject->DriverStartIo = CxStartIo;
    DriverObject->DriverUnload = CxUnload;
    IoInitializeDpcRequest(dev, CxDpcForIsr);
    st = IoConnectInterrupt(&ext->Interrupt, CxIsr, dev, NULL, LINE, DIRQL, DIRQL, Latched, FALSE,
                            0x3, FALSE);
    if (!NT_SUCCESS(st)) {
        IoDeleteDevice(dev);
        return st;
    }
    t.dev = dev;
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The originator                                                       */

static NTSTATUS OwnerDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    int i = (int)(uintptr_t)Ctx;
    InterlockedIncrement(&t.done_count[i]);
    t.done_status[i] = Irp->IoStatus.Status;
    t.done_info[i] = Irp->IoStatus.Information;
    LONG k = InterlockedIncrement(&t.norder) - 1;
    if (k < NIRP)
        t.order[k] = i;
    KeSetEvent(&t.done_ev[i], IO_NO_INCREMENT, FALSE);
    return STATUS_SUCCESS; /* completion finishes; the IRP stays allocated until IoFreeIrp */
}

static PIRP make_irp(int i)
{
    PIRP irp = IoAllocateIrp(t.dev->StackSize, FALSE);
    t.irps[i] = irp;
    if (irp == NULL)
        return NULL;
    t.sysbuf[i] = (ULONG)i + 1; /* the tag in, the device's result out */
    KeInitializeEvent(&t.done_ev[i], NotificationEvent, FALSE);
    irp->AssociatedIrp.SystemBuffer = &t.sysbuf[i];
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    sl->Parameters.DeviceIoControl.IoControlCode = IOCTL_CX;
    sl->Parameters.DeviceIoControl.InputBufferLength = sizeof(ULONG);
    sl->Parameters.DeviceIoControl.OutputBufferLength = sizeof(ULONG);
    IoSetCompletionRoutine(irp, OwnerDone, (PVOID)(uintptr_t)i, TRUE, TRUE, TRUE);
    return irp;
}

static void submit(int i)
{
    PIRP irp = make_irp(i);
    if (irp != NULL)
        t.call_ret[i] = IoCallDriver(t.dev, irp);
}

static void wait_done(int i)
{
    LARGE_INTEGER timeout;
    timeout.QuadPart = -10LL * 1000 * 1000; /* 1 s */
    t.wait_ret[i] = KeWaitForSingleObject(&t.done_ev[i], Executive, KernelMode, FALSE, &timeout);
}

static void wait_started(void)
{
    LARGE_INTEGER timeout;
    timeout.QuadPart = -10LL * 1000 * 1000;
    (void)KeWaitForSingleObject(&t.started_ev, Executive, KernelMode, FALSE, &timeout);
}

static void load(void)
{
    KeInitializeEvent(&t.started_ev, SynchronizationEvent, FALSE);
    t.load_status = kdpc_driver_load(t.m, "cxdev", CxDriverEntry, &t.drv);
}

static void unload_and_free(void)
{
    (void)kdpc_driver_unload(t.drv); /* flushes the DPCs: nothing touches the IRPs after */
    for (int i = 0; i < NIRP; i++)
        if (t.irps[i] != NULL)
            IoFreeIrp(t.irps[i]);
}

/* ------------------------------------------------------------------ */
/* Scripted: queued, before the driver, in progress                     */

#define NSCRIPT 5

static void ScriptEntry(void *ctx)
{
    (void)ctx;
    load();
    if (!NT_SUCCESS(t.load_status))
        return;
    PEXT ext = t.dev->DeviceExtension;
    for (int i = 0; i < 4; i++)
        submit(i); /* 0 in progress (the device holds it), 1..3 queued */
    wait_started();
    /* a queued IRP: the cancel routine removes and completes it, inside IoCancelIrp */
    t.cancel_ret[2] = IoCancelIrp(t.irps[2]);
    t.cancel_again_ret = IoCancelIrp(t.irps[2]); /* no routine any more: FALSE */
    /* an IRP cancelled before it reaches the driver: IoStartPacket calls the routine (4.2.4) */
    PIRP irp4 = make_irp(4);
    if (irp4 == NULL)
        return;
    t.cancel_ret[4] = IoCancelIrp(irp4); /* no routine yet: FALSE, Cancel = TRUE */
    t.call_ret[4] = IoCallDriver(t.dev, irp4);
    /* the IRP in progress: the device's operation is aborted; the DPC hands off and starts 1 */
    t.cancel_ret[0] = IoCancelIrp(t.irps[0]);
    wait_done(0);
    wait_started(); /* 1 */
    (void)KeSynchronizeExecution(ext->Interrupt, HwKick, ext);
    wait_started(); /* 3 */
    (void)KeSynchronizeExecution(ext->Interrupt, HwKick, ext);
    for (int i = 0; i < NSCRIPT; i++)
        wait_done(i);
    unload_and_free();
    t.reached_end = 1;
}

static kdpc_machine *run_script(unsigned cpus, uint64_t seed, kdpc_status *st)
{
    memset(&t, 0, sizeof t);
    t.hold = TRUE;
    kdpc_machine *m = kt_machine(cpus, seed);
    t.m = m;
    KDPC_NAME(m, CxCancel);
    KDPC_NAME(m, CxIsr);
    KDPC_NAME(m, CxDpcForIsr);
    KDPC_NAME(m, CxStartIo);
    *st = kdpc_machine_run(m, ScriptEntry, NULL);
    return m;
}

static void test_cancel_queued_before_driver_and_in_progress_irps(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            kdpc_status st;
            kdpc_machine *m = run_script(cpus, seed, &st);
            if (kdpc_machine_violation_count(m) > 0)
                print_error("%s: %s\n", kdpc_machine_violation(m, 0)->rule,
                            kdpc_machine_violation(m, 0)->message);
            assert_int_equal(st, KDPC_OK);
            assert_int_equal(t.load_status, STATUS_SUCCESS);
            assert_int_equal(t.reached_end, 1);
            assert_int_equal(kdpc_machine_violation_count(m), 0);
            for (int i = 0; i < NSCRIPT; i++) {
                assert_int_equal(t.call_ret[i], STATUS_PENDING);
                assert_int_equal(t.wait_ret[i], STATUS_SUCCESS);
                assert_int_equal(t.done_count[i], 1); /* exactly once */
            }
            assert_true(t.cancel_ret[2]);
            assert_false(t.cancel_again_ret);
            assert_false(t.cancel_ret[4]);
            assert_true(t.cancel_ret[0]);
            /* cancelled: 2 (queued), 4 (queued by IoStartPacket, already cancelled), 0 */
            const int cancelled[] = {2, 4, 0};
            for (int k = 0; k < 3; k++) {
                int i = cancelled[k];
                assert_int_equal(t.done_status[i], STATUS_CANCELLED);
                assert_int_equal(t.done_info[i], 0);
                assert_int_equal(t.sysbuf[i], (ULONG)i + 1); /* no data */
                assert_int_equal(t.order[k], i);
            }
            /* the CancelIrql each routine was given: the caller's, or DISPATCH in IoStartPacket */
            assert_int_equal(t.cancel_irql_seen[2], PASSIVE_LEVEL);
            assert_int_equal(t.cancel_irql_seen[4], DISPATCH_LEVEL);
            assert_int_equal(t.cancel_irql_seen[0], PASSIVE_LEVEL);
            /* the others: the device's data, in queue order */
            const int finished[] = {1, 3};
            for (int k = 0; k < 2; k++) {
                int i = finished[k];
                assert_int_equal(t.done_status[i], STATUS_SUCCESS);
                assert_int_equal(t.done_info[i], sizeof(ULONG));
                assert_int_equal(t.sysbuf[i], RESULT((ULONG)i + 1));
                assert_int_equal(t.order[3 + k], i);
            }
            assert_int_equal(t.cancel_calls, 3);
            assert_int_equal(t.cancel_queued, 2);
            assert_int_equal(t.cancel_current, 1);
            assert_int_equal(t.cancel_neither, 0);
            assert_int_equal(t.cancel_no_device, 0);
            assert_int_equal(t.cancel_bad_state, 0);
            assert_int_equal(t.aborts, 1);
            assert_int_equal(t.dpc_yielded, 1); /* IRP 0: CxCancel owned it */
            assert_int_equal(t.dpc_completed, 2);
            assert_int_equal(t.startio_calls, 3); /* 0, 1, 3 */
            assert_int_equal(t.startio_cancelled, 0);
            kdpc_machine_destroy(m);
        }
    }
}

/* Broken (a): CxCancel returns holding the cancel spin lock. IoCancelIrp returns to the caller at
 * DISPATCH_LEVEL with the lock held; the caller's next IoCancelIrp acquires it again on the same
 * CPU. (Windows has a bug check of its own for this, 0x11B DRIVER_RETURNED_HOLDING_CANCEL_LOCK;
 * kdpc catches it one call later, as Verifier's deadlock detection would.) */
static void ForgetEntry(void *ctx)
{
    (void)ctx;
    load();
    if (!NT_SUCCESS(t.load_status))
        return;
    for (int i = 0; i < 4; i++)
        submit(i);
    wait_started();
    t.cancel_ret[2] = IoCancelIrp(t.irps[2]);
    t.cancel_irql_seen[0] = KeGetCurrentIrql(); /* the caller is left at DISPATCH_LEVEL */
    t.cancel_ret[3] = IoCancelIrp(t.irps[3]);
    t.reached_end = 1; /* not reached */
}

static void test_cancel_routine_keeping_the_cancel_spin_lock_bugchecks(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        memset(&t, 0, sizeof t);
        t.hold = TRUE;
        t.forget_release = TRUE;
        kdpc_machine *m = kt_machine(cpus, 7);
        t.m = m;
        /* it completes the IRP holding the lock too (io.complete_lock_held): that rule off */
        assert_int_equal(kdpc_rule_set(m, "io.complete_lock_held", KDPC_RULE_OFF), KDPC_OK);
        KDPC_NAME(m, CxCancel);
        KDPC_NAME(m, ForgetEntry);
        kdpc_status st = kdpc_machine_run(m, ForgetEntry, NULL);
        /* caught as the routine returns: 0x11B, P1 = the IRP, P2 = the routine */
        KT_ASSERT_BUGCHECK(m, st, "io.cancel_lock_held", 0x11B);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_string_equal(bc->name, "DRIVER_RETURNED_HOLDING_CANCEL_LOCK");
        assert_int_equal(bc->params[0], (uint64_t)(uintptr_t)t.irps[2]);
        assert_int_equal(bc->params[1], (uint64_t)(uintptr_t)CxCancel);
        assert_int_equal(t.done_count[2], 1); /* it did complete the IRP */
        assert_int_equal(t.reached_end, 0);
        kdpc_machine_destroy(m);
    }
}

/* The same with io.cancel_lock_held off (a free kernel): the lock stays held, and the next
 * IoCancelIrp on that CPU acquires it again: spinlock.recursive. */
static void test_cancel_routine_keeping_the_lock_with_the_rule_off_self_deadlocks(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        memset(&t, 0, sizeof t);
        t.hold = TRUE;
        t.forget_release = TRUE;
        kdpc_machine *m = kt_machine(cpus, 7);
        t.m = m;
        assert_int_equal(kdpc_rule_set(m, "io.cancel_lock_held", KDPC_RULE_OFF), KDPC_OK);
        assert_int_equal(kdpc_rule_set(m, "io.complete_lock_held", KDPC_RULE_OFF), KDPC_OK);
        KDPC_NAME(m, CxCancel);
        KDPC_NAME(m, ForgetEntry);
        kdpc_status st = kdpc_machine_run(m, ForgetEntry, NULL);
        KT_ASSERT_BUGCHECK(m, st, "spinlock.recursive", 0xC4);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_int_equal(bc->params[0], 0x1000);
        assert_int_equal(bc->irql, DISPATCH_LEVEL);
        assert_true(t.cancel_ret[2]);
        assert_int_equal(t.done_count[2], 1); /* it did complete the IRP */
        assert_int_equal(t.done_status[2], STATUS_CANCELLED);
        assert_int_equal(t.cancel_irql_seen[0], DISPATCH_LEVEL);
        assert_int_equal(t.reached_end, 0);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* The race: the DPC completing while a canceller cancels               */

static void Submitter(PVOID Context)
{
    (void)Context;
    for (int i = 0; i < NIRP; i++) {
        submit(i);
        KeSetEvent(&t.submitted[i], IO_NO_INCREMENT, FALSE);
    }
    for (int i = 0; i < NIRP; i++)
        wait_done(i);
    KeSetEvent(&t.thread_done[0], IO_NO_INCREMENT, FALSE);
}

static void Canceller(PVOID Context)
{
    (void)Context;
    for (int i = 0; i < NIRP; i++) {
        (void)KeWaitForSingleObject(&t.submitted[i], Executive, KernelMode, FALSE, NULL);
        if ((t.cancel_pattern >> i) & 1u) {
            t.cancel_tried[i] = TRUE;
            t.cancel_ret[i] = IoCancelIrp(t.irps[i]);
        }
    }
    KeSetEvent(&t.thread_done[1], IO_NO_INCREMENT, FALSE);
}

static void RaceEntry(void *ctx)
{
    (void)ctx;
    load();
    if (!NT_SUCCESS(t.load_status))
        return;
    for (int i = 0; i < NIRP; i++)
        KeInitializeEvent(&t.submitted[i], NotificationEvent, FALSE);
    HANDLE h[2];
    KeInitializeEvent(&t.thread_done[0], NotificationEvent, FALSE);
    KeInitializeEvent(&t.thread_done[1], NotificationEvent, FALSE);
    (void)PsCreateSystemThread(&h[0], 0, NULL, NULL, NULL, Submitter, NULL);
    (void)PsCreateSystemThread(&h[1], 0, NULL, NULL, NULL, Canceller, NULL);
    for (int th = 0; th < 2; th++) {
        LARGE_INTEGER timeout;
        timeout.QuadPart = -10LL * 1000 * 1000;
        (void)KeWaitForSingleObject(&t.thread_done[th], Executive, KernelMode, FALSE, &timeout);
        (void)ZwClose(h[th]);
    }
    unload_and_free();
    t.reached_end = 1;
}

#define INTERRUPT_DELAY 950   /* per mille: chance a deliverable interrupt waits one more point */
#define RACE_PATTERN    0xB7u /* the canceller cancels IRPs 0, 1, 2, 4, 5, 7 */
#define RACE_SEEDS      12

static bool race_complete_cancelable_off; /* io.complete_cancelable switched off */

static kdpc_machine *run_race(BOOLEAN dpc_no_clear, unsigned pattern, uint64_t seed,
                              kdpc_status *st)
{
    memset(&t, 0, sizeof t);
    t.dpc_no_clear = dpc_no_clear;
    t.cancel_pattern = pattern;
    kdpc_config cfg = kt_config(2, seed);
    cfg.interrupt_delay_permille = INTERRUPT_DELAY; /* a slow device: longer in progress */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    t.m = m;
    KDPC_NAME(m, CxCancel);
    KDPC_NAME(m, CxIsr);
    KDPC_NAME(m, CxDpcForIsr);
    KDPC_NAME(m, CxStartIo);
    KDPC_NAME(m, Submitter);
    KDPC_NAME(m, Canceller);
    if (race_complete_cancelable_off)
        assert_int_equal(kdpc_rule_set(m, "io.complete_cancelable", KDPC_RULE_OFF), KDPC_OK);
    *st = kdpc_machine_run(m, RaceEntry, NULL);
    return m;
}

static void test_dpc_and_cancel_race_each_irp_completed_exactly_once(void **state)
{
    (void)state;
    LONG queued = 0, current = 0, yielded = 0, dpc_won = 0;
    for (uint64_t seed = 1; seed <= RACE_SEEDS; seed++) {
        kdpc_status st;
        kdpc_machine *m = run_race(FALSE, RACE_PATTERN, seed, &st);
        if (kdpc_machine_violation_count(m) > 0)
            print_error("seed %llu: %s: %s\n", (unsigned long long)seed,
                        kdpc_machine_violation(m, 0)->rule, kdpc_machine_violation(m, 0)->message);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(t.reached_end, 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        LONG cancelled = 0, cancel_true = 0, cancel_lost = 0;
        for (int i = 0; i < NIRP; i++) {
            assert_int_equal(t.call_ret[i], STATUS_PENDING);
            assert_int_equal(t.wait_ret[i], STATUS_SUCCESS);
            assert_int_equal(t.done_count[i], 1); /* exactly once */
            if (t.done_status[i] == STATUS_CANCELLED) {
                cancelled++;
                assert_true(t.cancel_tried[i]);
                assert_int_equal(t.done_info[i], 0);
                assert_int_equal(t.sysbuf[i], (ULONG)i + 1);
            } else {
                assert_int_equal(t.done_status[i], STATUS_SUCCESS);
                assert_int_equal(t.done_info[i], sizeof(ULONG));
                assert_int_equal(t.sysbuf[i], RESULT((ULONG)i + 1));
                if (t.cancel_tried[i]) {
                    assert_false(t.cancel_ret[i]); /* the DPC had cleared the routine */
                    cancel_lost++;
                }
            }
            if (t.cancel_ret[i])
                cancel_true++;
        }
        /* IoCancelIrp TRUE <=> the cancel routine ran <=> it completed the IRP STATUS_CANCELLED */
        assert_int_equal(cancelled, cancel_true);
        assert_int_equal(t.cancel_calls, cancel_true);
        assert_int_equal(t.cancel_queued + t.cancel_current, cancel_true);
        assert_int_equal(t.cancel_neither, 0);
        assert_int_equal(t.cancel_no_device, 0);
        assert_int_equal(t.cancel_bad_state, 0);
        assert_int_equal(t.dpc_completed, NIRP - cancelled);
        /* each in-progress cancel made the DPC (or StartIo) hand the IRP off once */
        assert_int_equal(t.dpc_yielded + t.startio_cancelled, t.cancel_current);
        queued += t.cancel_queued;
        current += t.cancel_current;
        yielded += t.dpc_yielded;
        dpc_won += cancel_lost;
        kdpc_machine_destroy(m);
    }
    print_message("race: %ld queued cancels, %ld in progress (%ld DPC hand-offs), %ld lost to "
                  "the DPC\n",
                  (long)queued, (long)current, (long)yielded, (long)dpc_won);
    /* the seeds cover every outcome of the race */
    assert_true(queued > 0);
    assert_true(current > 0);
    assert_true(yielded > 0);
    assert_true(dpc_won > 0);
}

/* Broken (b): the DPC completes without IoSetCancelRoutine(Irp, NULL). Every seed bug checks:
 * where the DPC completes first, io.complete_cancelable at that completion, 0xC9/0x07 (io.md
 * 4.13; P1 = 0x07, P2 = the IRP, P3 = the routine); where IoCancelIrp took the routine off
 * first, one of the two completions (the DPC's or CxCancel's) is the second:
 * io.double_complete, 0x44. */
static void test_dpc_completing_with_the_cancel_routine_set_bugchecks_c9_07(void **state)
{
    (void)state;
    race_complete_cancelable_off = false;
    int c9 = 0, dbl = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        kdpc_status st;
        kdpc_machine *m = run_race(TRUE, RACE_PATTERN, seed, &st);
        assert_int_equal(st, KDPC_BUGCHECK);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_non_null(bc);
        if (strcmp(bc->rule, "io.complete_cancelable") == 0) {
            assert_string_equal(bc->routine, "CxDpcForIsr");
            KT_ASSERT_BUGCHECK(m, st, "io.complete_cancelable", 0xC9);
            assert_int_equal(bc->params[0], 0x07);
            assert_int_equal(bc->params[1], (uint64_t)(uintptr_t)CxCancel);
            c9++;
        } else {
            KT_ASSERT_BUGCHECK(m, st, "io.double_complete", 0x44);
            dbl++;
        }
        kdpc_machine_destroy(m);
    }
    assert_true(c9 > 0); /* the DPC first: caught before any damage */
    assert_true(dbl > 0);
}

/* With io.complete_cancelable off (a kernel without I/O verification), what follows depends on
 * the order. Where CxCancel took the
 * IRP in progress and completed it first, the DPC's IoCompleteRequest is the second completion:
 * io.double_complete, 0x44 with P1 = the IRP (4.13, 4.15). In the other order IoCancelIrp finds
 * the routine still set on the completed IRP: 0x48 CANCEL_STATE_IN_COMPLETED_IRP (4.22).
 * Seeds found by running 1..20: every one bug checks, with 0x48 on most; seed 3 double-completes
 * cleanly (on seed 2 the two completions overlap: the second starts while the first is still in
 * the owner's completion routine). */
#define DOUBLE_COMPLETE_SEED  3
#define CANCEL_COMPLETED_SEED 1

static int irp_index(uint64_t p)
{
    for (int i = 0; i < NIRP; i++)
        if ((uint64_t)(uintptr_t)t.irps[i] == p)
            return i;
    return -1;
}

static void test_dpc_completing_without_clearing_cancel_routine_double_completes(void **state)
{
    (void)state;
    kdpc_status st;
    race_complete_cancelable_off = true;
    kdpc_machine *m = run_race(TRUE, RACE_PATTERN, DOUBLE_COMPLETE_SEED, &st);
    race_complete_cancelable_off = false;
    KT_ASSERT_BUGCHECK(m, st, "io.double_complete", 0x44);
    int i = irp_index(kdpc_machine_bugcheck(m)->params[0]);
    assert_true(i >= 0);
    /* the first completion was CxCancel's, on the IRP in progress; the second never got to the
     * owner */
    assert_true(t.cancel_tried[i]);
    assert_true(t.cancel_current > 0);
    assert_int_equal(t.done_count[i], 1);
    assert_int_equal(t.done_status[i], STATUS_CANCELLED);
    assert_int_equal(t.done_info[i], 0);
    kdpc_machine_destroy(m);
}

static void test_cancel_after_dpc_completed_with_routine_set_bugchecks_48(void **state)
{
    (void)state;
    kdpc_status st;
    race_complete_cancelable_off = true;
    kdpc_machine *m = run_race(TRUE, RACE_PATTERN, CANCEL_COMPLETED_SEED, &st);
    race_complete_cancelable_off = false;
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x48);
    int i = irp_index(kdpc_machine_bugcheck(m)->params[0]);
    assert_true(i >= 0);
    assert_true(t.cancel_tried[i]);
    assert_int_equal(t.done_count[i], 1); /* the DPC completed it, leaving CxCancel set */
    assert_int_equal(t.done_status[i], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_queued_before_driver_and_in_progress_irps),
        cmocka_unit_test(test_cancel_routine_keeping_the_cancel_spin_lock_bugchecks),
        cmocka_unit_test(test_cancel_routine_keeping_the_lock_with_the_rule_off_self_deadlocks),
        cmocka_unit_test(test_dpc_and_cancel_race_each_irp_completed_exactly_once),
        cmocka_unit_test(test_dpc_completing_with_the_cancel_routine_set_bugchecks_c9_07),
        cmocka_unit_test(test_dpc_completing_without_clearing_cancel_routine_double_completes),
        cmocka_unit_test(test_cancel_after_dpc_completed_with_routine_set_bugchecks_48),
    };
    return cmocka_run_group_tests_name("cancel_queued_and_inprogress", tests, NULL, NULL);
}
