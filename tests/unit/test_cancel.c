/* SPDX-License-Identifier: MIT */
/*
 * test_cancel.c - the cancel spin lock, IoSetCancelRoutine and IoCancelIrp
 * (docs/facts/io.md 4.20-4.24), and the DPC-side protocol
 * "if (IoSetCancelRoutine(Irp, NULL) != NULL) complete" racing with
 * IoCancelIrp on another CPU.
 *
 * The driver "cxl" has one device; its dispatch routine marks the IRP
 * pending, sets a cancel routine and parks the IRP. IRPs come from
 * IoAllocateIrp with an owner completion routine that counts completions
 * and returns STATUS_MORE_PROCESSING_REQUIRED.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NIRP 8

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    PIRP irps[NIRP];
    BOOLEAN set_routine; /* the dispatch routine sets CxlCancel */

    /* lock IRQL behaviour */
    KIRQL acq_old[4], acq_now[4], rel_now[4];

    /* IoSetCancelRoutine */
    PVOID prev[4];

    /* IoCancelIrp */
    BOOLEAN cancel_ret[4];
    BOOLEAN cancel_flag_after[4];
    LONG routine_calls;
    PDEVICE_OBJECT routine_dev;
    PVOID routine_cr_inside;
    BOOLEAN routine_cancel_inside;
    KIRQL routine_irql;
    KIRQL routine_cancel_irql;
    BOOLEAN routine_completes;

    /* completion */
    LONG done_count[NIRP];
    NTSTATUS done_status[NIRP];

    /* lock exclusion */
    volatile LONG inside;
    LONG overlap;
    LONG rounds;
    KEVENT thread_done;

    /* race */
    KDPC dpc;
    KEVENT dpc_done;
    LONG dpc_completed;
    LONG cancel_true;
    ULONG dpc_cpu, thread_cpu;
    LONG reached_end;
} c;

static NTSTATUS OwnerDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    int i = (int)(uintptr_t)Ctx;
    InterlockedIncrement(&c.done_count[i]);
    c.done_status[i] = Irp->IoStatus.Status;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* 4.23: the cancel routine contract */
static void CxlCancel(PDEVICE_OBJECT Dev, PIRP Irp)
{
    InterlockedIncrement(&c.routine_calls);
    c.routine_dev = Dev;
    c.routine_cr_inside = (PVOID)(uintptr_t)Irp->CancelRoutine;
    c.routine_cancel_inside = Irp->Cancel;
    c.routine_irql = KeGetCurrentIrql();
    c.routine_cancel_irql = Irp->CancelIrql;
    IoReleaseCancelSpinLock(Irp->CancelIrql); /* bug checks if the lock were not held */
    if (c.routine_completes) {
        Irp->IoStatus.Status = STATUS_CANCELLED;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
    }
}

static void OtherCancel(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
}

static NTSTATUS CxlDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    IoMarkIrpPending(Irp);
    if (c.set_routine)
        (void)IoSetCancelRoutine(Irp, CxlCancel);
    return STATUS_PENDING;
}

static void CxlUnload(PDRIVER_OBJECT Drv)
{
    while (Drv->DeviceObject != NULL)
        IoDeleteDevice(Drv->DeviceObject);
}

static NTSTATUS CxlEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->MajorFunction[IRP_MJ_READ] = CxlDispatch;
    Drv->DriverUnload = CxlUnload;
    return IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &c.dev);
}

static void load(void)
{
    (void)kdpc_driver_load(kdpc_current_machine(), "cxl", CxlEntry, &c.drv);
}

static void finish(void)
{
    for (int i = 0; i < NIRP; i++)
        if (c.irps[i] != NULL)
            IoFreeIrp(c.irps[i]);
    if (c.drv != NULL)
        (void)kdpc_driver_unload(c.drv);
}

static PIRP submit(int i)
{
    PIRP irp = IoAllocateIrp(c.dev->StackSize, FALSE);
    c.irps[i] = irp;
    if (irp == NULL)
        return NULL;
    IoSetCompletionRoutine(irp, OwnerDone, (PVOID)(uintptr_t)i, TRUE, TRUE, TRUE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    (void)IoCallDriver(c.dev, irp);
    return irp;
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    load();
    body();
    finish();
    c.reached_end = 1;
}

static kdpc_machine *run(BODY *body, unsigned cpus, uint64_t seed)
{
    kdpc_machine *m = kt_machine(cpus, seed);
    KDPC_NAME(m, CxlCancel);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(c.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    return m;
}

/* ------------------------------------------------------------------ */
/* 4.20                                                                 */

static void body_lock_irql(void)
{
    KIRQL old;
    IoAcquireCancelSpinLock(&old);
    c.acq_old[0] = old;
    c.acq_now[0] = KeGetCurrentIrql();
    IoReleaseCancelSpinLock(old);
    c.rel_now[0] = KeGetCurrentIrql();

    KIRQL outer;
    KeRaiseIrql(DISPATCH_LEVEL, &outer);
    IoAcquireCancelSpinLock(&old);
    c.acq_old[1] = old;
    c.acq_now[1] = KeGetCurrentIrql();
    IoReleaseCancelSpinLock(old);
    c.rel_now[1] = KeGetCurrentIrql();
    KeLowerIrql(outer);

    KeRaiseIrql(APC_LEVEL, &outer);
    IoAcquireCancelSpinLock(&old);
    c.acq_old[2] = old;
    c.acq_now[2] = KeGetCurrentIrql();
    IoReleaseCancelSpinLock(old);
    c.rel_now[2] = KeGetCurrentIrql();
    KeLowerIrql(outer);
}

static void test_cancel_spin_lock_raises_to_dispatch_and_restores(void **state)
{
    (void)state;
    memset(&c, 0, sizeof c);
    kdpc_machine *m = run(body_lock_irql, 1, 1);
    assert_int_equal(c.acq_old[0], PASSIVE_LEVEL);
    assert_int_equal(c.acq_now[0], DISPATCH_LEVEL);
    assert_int_equal(c.rel_now[0], PASSIVE_LEVEL);
    assert_int_equal(c.acq_old[1], DISPATCH_LEVEL);
    assert_int_equal(c.acq_now[1], DISPATCH_LEVEL);
    assert_int_equal(c.rel_now[1], DISPATCH_LEVEL);
    assert_int_equal(c.acq_old[2], APC_LEVEL);
    assert_int_equal(c.acq_now[2], DISPATCH_LEVEL);
    assert_int_equal(c.rel_now[2], APC_LEVEL);
    kdpc_machine_destroy(m);
}

static void lock_rounds(void)
{
    for (int i = 0; i < 50; i++) {
        KIRQL old;
        IoAcquireCancelSpinLock(&old);
        if (InterlockedExchange(&c.inside, 1) != 0)
            c.overlap++;
        KeStallExecutionProcessor(1); /* an interleaving point while holding it */
        InterlockedExchange(&c.inside, 0);
        c.rounds++;
        IoReleaseCancelSpinLock(old);
    }
}

static void LockThread(PVOID ctx)
{
    (void)ctx;
    lock_rounds();
    KeSetEvent(&c.thread_done, IO_NO_INCREMENT, FALSE);
}

static void body_lock_exclusion(void)
{
    KeInitializeEvent(&c.thread_done, NotificationEvent, FALSE);
    HANDLE h;
    if (!NT_SUCCESS(PsCreateSystemThread(&h, 0, NULL, NULL, NULL, LockThread, NULL)))
        return;
    lock_rounds();
    (void)KeWaitForSingleObject(&c.thread_done, Executive, KernelMode, FALSE, NULL);
    (void)ZwClose(h);
}

static void test_cancel_spin_lock_is_one_system_wide_lock(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        memset(&c, 0, sizeof c);
        kdpc_machine *m = run(body_lock_exclusion, 2, seed);
        assert_int_equal(c.rounds, 100);
        assert_int_equal(c.overlap, 0); /* 4.20 */
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* 4.21, 4.22                                                           */

static void body_set_cancel_routine(void)
{
    PIRP irp = submit(0);
    c.prev[0] = (PVOID)(uintptr_t)IoSetCancelRoutine(irp, CxlCancel);
    c.prev[1] = (PVOID)(uintptr_t)IoSetCancelRoutine(irp, OtherCancel);
    c.prev[2] = (PVOID)(uintptr_t)IoSetCancelRoutine(irp, NULL);
    c.prev[3] = (PVOID)(uintptr_t)IoSetCancelRoutine(irp, NULL);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void test_set_cancel_routine_returns_previous_routine(void **state)
{
    (void)state;
    memset(&c, 0, sizeof c);
    kdpc_machine *m = run(body_set_cancel_routine, 1, 2);
    assert_null(c.prev[0]);
    assert_ptr_equal(c.prev[1], (PVOID)(uintptr_t)CxlCancel);
    assert_ptr_equal(c.prev[2], (PVOID)(uintptr_t)OtherCancel);
    assert_null(c.prev[3]);
    assert_int_equal(c.done_count[0], 1);
    kdpc_machine_destroy(m);
}

static KIRQL cancel_at;

static void body_cancel(void)
{
    c.set_routine = TRUE;
    c.routine_completes = TRUE;
    PIRP irp = submit(0);
    KIRQL old;
    KeRaiseIrql(cancel_at, &old);
    c.cancel_ret[0] = IoCancelIrp(irp);
    c.cancel_flag_after[0] = irp->Cancel;
    c.cancel_ret[1] = IoCancelIrp(irp); /* second time: FALSE, routine not called */
    KeLowerIrql(old);
}

static void check_cancel(KIRQL at, uint64_t seed)
{
    memset(&c, 0, sizeof c);
    cancel_at = at;
    kdpc_machine *m = run(body_cancel, 1, seed);
    assert_true(c.cancel_ret[0]); /* 4.22.2 */
    assert_true(c.cancel_flag_after[0]);
    assert_int_equal(c.routine_calls, 1);
    assert_ptr_equal(c.routine_dev, c.dev); /* the current location's device */
    assert_null(c.routine_cr_inside);       /* inside R: CancelRoutine == NULL */
    assert_true(c.routine_cancel_inside);   /* Cancel == TRUE */
    assert_int_equal(c.routine_irql, DISPATCH_LEVEL);
    assert_int_equal(c.routine_cancel_irql, at); /* the saved IRQL */
    assert_false(c.cancel_ret[1]);
    assert_int_equal(c.done_count[0], 1);
    assert_int_equal(c.done_status[0], STATUS_CANCELLED);
    kdpc_machine_destroy(m);
}

static void test_cancel_irp_calls_routine_once_with_lock_held_and_irql_saved(void **state)
{
    (void)state;
    check_cancel(PASSIVE_LEVEL, 3);
    check_cancel(DISPATCH_LEVEL, 4);
}

static void body_cancel_no_routine(void)
{
    PIRP irp = submit(0);
    c.cancel_ret[0] = IoCancelIrp(irp);
    c.cancel_flag_after[0] = irp->Cancel;
    irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void test_cancel_irp_without_routine_sets_cancel_and_returns_false(void **state)
{
    (void)state;
    memset(&c, 0, sizeof c);
    kdpc_machine *m = run(body_cancel_no_routine, 1, 5);
    assert_false(c.cancel_ret[0]); /* 4.22.3 */
    assert_true(c.cancel_flag_after[0]);
    assert_int_equal(c.routine_calls, 0);
    assert_int_equal(c.done_count[0], 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 4.24: DPC completion racing with IoCancelIrp on another CPU          */

static void RaceDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;
    c.dpc_cpu = KeGetCurrentProcessorNumber();
    for (int i = 0; i < NIRP; i++) {
        PIRP irp = c.irps[i];
        if (IoSetCancelRoutine(irp, NULL) != NULL) {
            /* we own it */
            irp->IoStatus.Status = STATUS_SUCCESS;
            irp->IoStatus.Information = 0;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
            InterlockedIncrement(&c.dpc_completed);
        } /* else the cancel routine owns it: hands off */
        KeStallExecutionProcessor(1);
    }
    KeSetEvent(&c.dpc_done, IO_NO_INCREMENT, FALSE);
}

static void body_race(void)
{
    c.set_routine = TRUE;
    c.routine_completes = TRUE;
    KeInitializeEvent(&c.dpc_done, NotificationEvent, FALSE);
    for (int i = 0; i < NIRP; i++)
        (void)submit(i);
    KeInitializeDpc(&c.dpc, RaceDpc, NULL);
    KeSetTargetProcessorDpc(&c.dpc, 1);
    (void)KeInsertQueueDpc(&c.dpc, NULL, NULL);
    c.thread_cpu = KeGetCurrentProcessorNumber();
    for (int i = NIRP - 1; i >= 0; i--) {
        if (IoCancelIrp(c.irps[i]))
            InterlockedIncrement(&c.cancel_true);
    }
    (void)KeWaitForSingleObject(&c.dpc_done, Executive, KernelMode, FALSE, NULL);
}

static void test_dpc_protocol_races_with_cancel_each_irp_completed_once(void **state)
{
    (void)state;
    LONG total_dpc = 0, total_cancel = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        memset(&c, 0, sizeof c);
        kdpc_machine *m = kt_machine(2, seed);
        KDPC_NAME(m, RaceDpc);
        kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_race);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(c.reached_end, 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        assert_int_equal(c.dpc_cpu, 1);
        LONG cancelled = 0;
        for (int i = 0; i < NIRP; i++) {
            assert_int_equal(c.done_count[i], 1); /* exactly once */
            if (c.done_status[i] == STATUS_CANCELLED)
                cancelled++;
            else
                assert_int_equal(c.done_status[i], STATUS_SUCCESS);
        }
        /* by one side: IoCancelIrp TRUE <=> the cancel routine completed it */
        assert_int_equal(cancelled, c.cancel_true);
        assert_int_equal(c.routine_calls, c.cancel_true);
        assert_int_equal(c.dpc_completed + cancelled, NIRP);
        total_dpc += c.dpc_completed;
        total_cancel += cancelled;
        kdpc_machine_destroy(m);
    }
    /* the seeds really race: both sides won some IRPs */
    assert_true(total_dpc > 0);
    assert_true(total_cancel > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_spin_lock_raises_to_dispatch_and_restores),
        cmocka_unit_test(test_cancel_spin_lock_is_one_system_wide_lock),
        cmocka_unit_test(test_set_cancel_routine_returns_previous_routine),
        cmocka_unit_test(test_cancel_irp_calls_routine_once_with_lock_held_and_irql_saved),
        cmocka_unit_test(test_cancel_irp_without_routine_sets_cancel_and_returns_false),
        cmocka_unit_test(test_dpc_protocol_races_with_cancel_each_irp_completed_once),
    };
    return cmocka_run_group_tests_name("cancel", tests, NULL, NULL);
}
