/* SPDX-License-Identifier: MIT */
/*
 * test_startio.c - IoStartPacket / IoStartNextPacket(ByKey) /
 * IoSetStartIoAttributes and the cancel routine of a StartIo driver
 * (docs/facts/io.md 4.2-4.6, 4.12).
 *
 * The driver "sio" has one device; its dispatch routine marks the IRP
 * pending and calls IoStartPacket (key and cancel routine chosen by the
 * test). StartIo records where and how it ran. A DPC plays the DpcForIsr:
 * it takes CurrentIrp, clears its cancel routine, calls IoStartNextPacket
 * and completes the IRP. IRPs come from IoAllocateIrp with an owner
 * completion routine that records the final status and returns
 * STATUS_MORE_PROCESSING_REQUIRED; the body frees them at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NIRP 6

typedef enum SIO_MODE {
    SIO_HOLD = 0,         /* StartIo programs the "device" and returns; a DPC finishes */
    SIO_COMPLETE_NEXT = 1 /* StartIo starts the next packet, then completes its IRP */
} SIO_MODE;

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    KDPC dpc;
    KEVENT dpc_done;
    SIO_MODE mode;
    BOOLEAN deferred, noncancelable;
    BOOLEAN dpc_by_key;
    ULONG dpc_key;

    /* submit parameters */
    PULONG sub_key;
    PDRIVER_CANCEL sub_cancel;
    ULONG keys[NIRP];

    PIRP irps[NIRP];
    NTSTATUS call_ret[NIRP];
    KIRQL irql_after_call[NIRP];
    PVOID cancel_routine_after_submit[NIRP];
    BOOLEAN inserted_after_submit[NIRP];

    /* completion (owner routine) */
    LONG done_count[NIRP];
    NTSTATUS done_status[NIRP];
    ULONG_PTR done_info[NIRP];
    int done_order[NIRP];
    int n_done;

    /* StartIo calls, in order */
    int in_start_packet; /* idx + 1 while the body is inside IoCallDriver -> IoStartPacket */
    int in_start_next;   /* 1 while the DPC is inside IoStartNextPacket */
    int depth, max_depth;
    int n_started;
    int started[NIRP];
    KIRQL start_irql[NIRP];
    BOOLEAN start_cur_ok[NIRP];
    int start_in_sp[NIRP];
    int start_in_sn[NIRP];
    PVOID start_cancel_routine[NIRP];
    BOOLEAN start_cancel_flag[NIRP];

    /* cancel routine calls */
    int n_cancel;
    int cancel_idx[NIRP];
    KIRQL cancel_irql[NIRP];
    PVOID cancel_routine_inside[NIRP];
    BOOLEAN cancel_flag_inside[NIRP];
    BOOLEAN cancel_was_current[NIRP];
    int cancel_in_sp[NIRP];
    BOOLEAN cancel_ret[NIRP];

    /* state after the DPCs */
    BOOLEAN busy_after[NIRP];
    PIRP current_after[NIRP];
    int n_dpc;
    LONG reached_end;
} s;

static int idx_of(PIRP irp)
{
    for (int i = 0; i < NIRP; i++)
        if (s.irps[i] == irp)
            return i;
    return -1;
}

static NTSTATUS OwnerDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    int i = (int)(uintptr_t)Ctx;
    s.done_count[i]++;
    s.done_status[i] = Irp->IoStatus.Status;
    s.done_info[i] = Irp->IoStatus.Information;
    if (s.n_done < NIRP)
        s.done_order[s.n_done++] = i;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void complete_irp(PIRP Irp)
{
    KIRQL ci;
    IoAcquireCancelSpinLock(&ci);
    (void)IoSetCancelRoutine(Irp, NULL);
    IoReleaseCancelSpinLock(ci);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 1;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static void SioStartIo(PDEVICE_OBJECT Dev, PIRP Irp)
{
    int n = s.n_started++;
    s.depth++;
    if (s.depth > s.max_depth)
        s.max_depth = s.depth;
    if (n < NIRP) {
        s.started[n] = idx_of(Irp);
        s.start_irql[n] = KeGetCurrentIrql();
        s.start_cur_ok[n] = Dev->CurrentIrp == Irp;
        s.start_in_sp[n] = s.in_start_packet;
        s.start_in_sn[n] = s.in_start_next;
        s.start_cancel_routine[n] = (PVOID)(uintptr_t)Irp->CancelRoutine;
        s.start_cancel_flag[n] = Irp->Cancel;
    }
    if (s.mode == SIO_COMPLETE_NEXT && idx_of(Irp) != 0) {
        IoStartNextPacket(Dev, FALSE);
        complete_irp(Irp);
    }
    s.depth--;
}

/* 4.12: the cancel routine of a driver with a StartIo routine */
static void SioCancel(PDEVICE_OBJECT Dev, PIRP Irp)
{
    int n = s.n_cancel++;
    if (n < NIRP) {
        s.cancel_idx[n] = idx_of(Irp);
        s.cancel_irql[n] = KeGetCurrentIrql();
        s.cancel_routine_inside[n] = (PVOID)(uintptr_t)Irp->CancelRoutine;
        s.cancel_flag_inside[n] = Irp->Cancel;
        s.cancel_was_current[n] = Irp == Dev->CurrentIrp;
        s.cancel_in_sp[n] = s.in_start_packet;
    }
    if (Irp == Dev->CurrentIrp) {
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        return;
    }
    if (KeRemoveEntryDeviceQueue(&Dev->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry)) {
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        Irp->IoStatus.Status = STATUS_CANCELLED;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
    } else {
        IoReleaseCancelSpinLock(Irp->CancelIrql);
    }
}

static void SioDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    PDEVICE_OBJECT dev = Context;
    PIRP irp = dev->CurrentIrp;
    if (irp != NULL) {
        KIRQL ci;
        IoAcquireCancelSpinLock(&ci);
        (void)IoSetCancelRoutine(irp, NULL);
        IoReleaseCancelSpinLock(ci);
    }
    s.in_start_next = 1;
    if (s.dpc_by_key)
        IoStartNextPacketByKey(dev, TRUE, s.dpc_key);
    else
        IoStartNextPacket(dev, TRUE);
    s.in_start_next = 0;
    if (irp != NULL) {
        irp->IoStatus.Status = STATUS_SUCCESS;
        irp->IoStatus.Information = 1;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
    int n = s.n_dpc++;
    if (n < NIRP) {
        s.busy_after[n] = dev->DeviceQueue.Busy;
        s.current_after[n] = dev->CurrentIrp;
    }
    KeSetEvent(&s.dpc_done, IO_NO_INCREMENT, FALSE);
}

static NTSTATUS SioDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    IoStartPacket(Dev, Irp, s.sub_key, s.sub_cancel);
    return STATUS_PENDING;
}

static void SioUnload(PDRIVER_OBJECT Drv)
{
    while (Drv->DeviceObject != NULL)
        IoDeleteDevice(Drv->DeviceObject);
}

static NTSTATUS SioEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->MajorFunction[IRP_MJ_READ] = SioDispatch;
    Drv->DriverStartIo = SioStartIo;
    Drv->DriverUnload = SioUnload;
    NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &s.dev);
    if (!NT_SUCCESS(st))
        return st;
    s.dev->Flags |= DO_BUFFERED_IO;
    if (s.deferred || s.noncancelable)
        IoSetStartIoAttributes(s.dev, s.deferred, s.noncancelable);
    return STATUS_SUCCESS;
}

static void load(void)
{
    KeInitializeEvent(&s.dpc_done, SynchronizationEvent, FALSE);
    (void)kdpc_driver_load(kdpc_current_machine(), "sio", SioEntry, &s.drv);
    KeInitializeDpc(&s.dpc, SioDpc, s.dev);
}

static void finish(void)
{
    for (int i = 0; i < NIRP; i++)
        if (s.irps[i] != NULL)
            IoFreeIrp(s.irps[i]);
    (void)kdpc_driver_unload(s.drv);
}

/* Send IRP @i to the driver: IoCallDriver -> dispatch -> IoStartPacket. */
static void submit(int i, BOOLEAN keyed, BOOLEAN cancelable, BOOLEAN precancel)
{
    PIRP irp = IoAllocateIrp(s.dev->StackSize, FALSE);
    s.irps[i] = irp;
    if (irp == NULL)
        return;
    IoSetCompletionRoutine(irp, OwnerDone, (PVOID)(uintptr_t)i, TRUE, TRUE, TRUE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    if (precancel)
        (void)IoCancelIrp(irp); /* no routine yet: only Irp->Cancel = TRUE */
    s.sub_key = keyed ? &s.keys[i] : NULL;
    s.sub_cancel = cancelable ? SioCancel : NULL;
    s.in_start_packet = i + 1;
    s.call_ret[i] = IoCallDriver(s.dev, irp);
    s.in_start_packet = 0;
    s.irql_after_call[i] = KeGetCurrentIrql();
    s.cancel_routine_after_submit[i] = (PVOID)(uintptr_t)irp->CancelRoutine;
    s.inserted_after_submit[i] = irp->Tail.Overlay.DeviceQueueEntry.Inserted;
}

/* Let the "device" finish the current IRP: run the DPC and wait for it. */
static void device_done(void)
{
    (void)KeInsertQueueDpc(&s.dpc, NULL, NULL);
    (void)KeWaitForSingleObject(&s.dpc_done, Executive, KernelMode, FALSE, NULL);
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    load();
    body();
    finish();
    s.reached_end = 1;
}

static void reset(void)
{
    memset(&s, 0, sizeof s);
}

static kdpc_machine *run(BODY *body, uint64_t seed)
{
    kdpc_machine *m = kt_machine(1, seed);
    KDPC_NAME(m, SioStartIo);
    KDPC_NAME(m, SioDpc);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(s.reached_end, 1);
    KT_ASSERT_NO_VIOLATION(m, "io.irp_lost");
    return m;
}

/* ------------------------------------------------------------------ */

static void body_idle(void)
{
    submit(0, FALSE, FALSE, FALSE);
    device_done();
}

static void test_start_packet_on_idle_device_calls_startio_synchronously_at_dispatch(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_idle, 1);
    assert_int_equal(s.n_started, 1);
    assert_int_equal(s.started[0], 0);
    assert_int_equal(s.start_irql[0], DISPATCH_LEVEL);     /* 4.2.3 */
    assert_true(s.start_cur_ok[0]);                        /* CurrentIrp = Irp */
    assert_int_equal(s.start_in_sp[0], 1);                 /* inside IoStartPacket */
    assert_int_equal(s.irql_after_call[0], PASSIVE_LEVEL); /* 4.2.5 */
    assert_int_equal(s.call_ret[0], STATUS_PENDING);
    /* 4.4: empty queue -> Not-Busy, CurrentIrp NULL */
    assert_int_equal(s.n_dpc, 1);
    assert_false(s.busy_after[0]);
    assert_null(s.current_after[0]);
    assert_int_equal(s.done_count[0], 1);
    assert_int_equal(s.done_status[0], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

static void body_busy(void)
{
    submit(0, FALSE, FALSE, FALSE);
    submit(1, FALSE, FALSE, FALSE);
    submit(2, FALSE, FALSE, FALSE);
    device_done();
    device_done();
    device_done();
}

static void test_start_packet_on_busy_device_queues_and_dpc_starts_next_inside_call(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_busy, 2);
    assert_true(s.inserted_after_submit[1]); /* queued, not started */
    assert_true(s.inserted_after_submit[2]);
    assert_int_equal(s.n_started, 3);
    assert_int_equal(s.started[0], 0);
    assert_int_equal(s.started[1], 1);
    assert_int_equal(s.started[2], 2);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(s.start_in_sp[i], 0);
        assert_int_equal(s.start_in_sn[i], 1); /* 4.4: inside IoStartNextPacket */
        assert_int_equal(s.start_irql[i], DISPATCH_LEVEL);
        assert_true(s.start_cur_ok[i]);
    }
    assert_int_equal(s.n_dpc, 3);
    assert_true(s.busy_after[0]);
    assert_ptr_equal(s.current_after[0], s.irps[1]);
    assert_true(s.busy_after[1]);
    assert_false(s.busy_after[2]); /* empty -> Not-Busy */
    assert_null(s.current_after[2]);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.done_count[i], 1);
        assert_int_equal(s.done_order[i], i);
    }
    kdpc_machine_destroy(m);
}

static void body_keyed(void)
{
    s.keys[1] = 5;
    s.keys[2] = 1;
    s.keys[3] = 3;
    submit(0, FALSE, FALSE, FALSE);
    submit(1, TRUE, FALSE, FALSE);
    submit(2, TRUE, FALSE, FALSE);
    submit(3, TRUE, FALSE, FALSE);
    s.dpc_by_key = TRUE;
    s.dpc_key = 2;
    device_done(); /* by key 2: first key >= 2 is 3 (4.6, 4.9) */
    s.dpc_by_key = FALSE;
    device_done(); /* head: key 1 */
    device_done(); /* key 5 */
    device_done(); /* empty */
}

static void test_keyed_start_dequeues_by_key(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_keyed, 3);
    assert_int_equal(s.n_started, 4);
    assert_int_equal(s.started[0], 0);
    assert_int_equal(s.started[1], 3);
    assert_int_equal(s.started[2], 2);
    assert_int_equal(s.started[3], 1);
    assert_false(s.busy_after[3]);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.done_count[i], 1);
    kdpc_machine_destroy(m);
}

static void body_nesting(void)
{
    s.mode = SIO_COMPLETE_NEXT;
    submit(0, FALSE, FALSE, FALSE); /* held */
    submit(1, FALSE, FALSE, FALSE);
    submit(2, FALSE, FALSE, FALSE);
    submit(3, FALSE, FALSE, FALSE);
    device_done(); /* completes 0, starts 1 -> 2 -> 3 */
}

static void test_startio_nests_through_start_next_packet_without_deferred(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_nesting, 4);
    assert_int_equal(s.n_started, 4);
    assert_int_equal(s.max_depth, 3); /* 4.5: StartIo -> IoStartNextPacket -> StartIo nests */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s.started[i], i);
        assert_int_equal(s.done_count[i], 1);
    }
    assert_int_equal(s.n_dpc, 1);
    assert_false(s.busy_after[0]);
    kdpc_machine_destroy(m);
}

static void test_deferred_startio_prevents_nesting(void **state)
{
    (void)state;
    reset();
    s.deferred = TRUE;
    kdpc_machine *m = run(body_nesting, 5);
    assert_int_equal(s.n_started, 4);
    assert_int_equal(s.max_depth, 1); /* 4.5: the outermost call starts the next one */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s.started[i], i);
        assert_int_equal(s.done_count[i], 1);
    }
    assert_false(s.busy_after[0]);
    kdpc_machine_destroy(m);
}

static void body_cancelable(void)
{
    submit(0, FALSE, TRUE, FALSE);
    submit(1, FALSE, TRUE, FALSE);
    device_done();
    device_done();
}

static void test_noncancelable_clears_cancel_routine_of_started_irps(void **state)
{
    (void)state;
    reset();
    s.noncancelable = TRUE;
    kdpc_machine *m = run(body_cancelable, 6);
    assert_int_equal(s.n_started, 2);
    assert_null(s.start_cancel_routine[0]);                                          /* 4.2.3 */
    assert_ptr_equal(s.cancel_routine_after_submit[1], (PVOID)(uintptr_t)SioCancel); /* queued */
    assert_null(s.start_cancel_routine[1]); /* 4.5: dequeued IRP loses it */
    assert_int_equal(s.done_count[0], 1);
    assert_int_equal(s.done_count[1], 1);
    kdpc_machine_destroy(m);
}

static void test_without_noncancelable_started_irps_keep_cancel_routine(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_cancelable, 7);
    assert_int_equal(s.n_started, 2);
    assert_ptr_equal(s.start_cancel_routine[0], (PVOID)(uintptr_t)SioCancel);
    assert_ptr_equal(s.start_cancel_routine[1], (PVOID)(uintptr_t)SioCancel);
    kdpc_machine_destroy(m);
}

static void body_precancelled_queued(void)
{
    submit(0, FALSE, TRUE, FALSE);
    submit(1, FALSE, TRUE, TRUE); /* already cancelled, device busy */
    device_done();
}

static void
test_cancelled_irp_queued_behind_busy_device_is_cancelled_inside_start_packet(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_precancelled_queued, 8);
    /* 4.2.4: the cancel function is called at once, inside IoStartPacket */
    assert_int_equal(s.n_cancel, 1);
    assert_int_equal(s.cancel_idx[0], 1);
    assert_int_equal(s.cancel_in_sp[0], 2);
    assert_int_equal(s.cancel_irql[0], DISPATCH_LEVEL);
    assert_null(s.cancel_routine_inside[0]);
    assert_true(s.cancel_flag_inside[0]);
    assert_false(s.cancel_was_current[0]);
    assert_int_equal(s.done_count[1], 1);
    assert_int_equal(s.done_status[1], STATUS_CANCELLED);
    assert_int_equal(s.done_info[1], 0);
    assert_int_equal(s.irql_after_call[1], PASSIVE_LEVEL);
    /* it never reached StartIo; the queue emptied */
    assert_int_equal(s.n_started, 1);
    assert_int_equal(s.started[0], 0);
    assert_false(s.busy_after[0]);
    assert_int_equal(s.done_count[0], 1);
    assert_int_equal(s.done_status[0], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

static void body_precancelled_idle(void)
{
    submit(0, FALSE, TRUE, TRUE);
    device_done();
}

static void test_cancelled_irp_on_idle_device_still_reaches_startio(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_precancelled_idle, 9);
    /* 4.2 note: StartIo must check Irp->Cancel */
    assert_int_equal(s.n_started, 1);
    assert_true(s.start_cancel_flag[0]);
    assert_int_equal(s.n_cancel, 0);
    assert_int_equal(s.done_count[0], 1);
    kdpc_machine_destroy(m);
}

static void body_cancel_412(void)
{
    submit(0, FALSE, TRUE, FALSE);
    submit(1, FALSE, TRUE, FALSE);
    submit(2, FALSE, TRUE, FALSE);
    s.cancel_ret[0] = IoCancelIrp(s.irps[1]); /* queued: removed and completed */
    s.cancel_ret[1] = IoCancelIrp(s.irps[0]); /* current: left alone */
    s.cancel_ret[2] = (BOOLEAN)(s.done_count[0] == 0);
    device_done(); /* completes 0, starts 2 */
    device_done(); /* completes 2 */
}

static void test_startio_cancel_routine_cancels_queued_irp_and_leaves_current(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_cancel_412, 10);
    assert_true(s.cancel_ret[0]);
    assert_true(s.cancel_ret[1]);
    assert_int_equal(s.n_cancel, 2);
    assert_int_equal(s.cancel_idx[0], 1);
    assert_false(s.cancel_was_current[0]);
    assert_int_equal(s.cancel_idx[1], 0);
    assert_true(s.cancel_was_current[1]);
    /* 4.12: the queued one completed with STATUS_CANCELLED, Information 0 */
    assert_int_equal(s.done_count[1], 1);
    assert_int_equal(s.done_status[1], STATUS_CANCELLED);
    assert_int_equal(s.done_info[1], 0);
    /* the current one was not completed by the cancel routine */
    assert_true(s.cancel_ret[2]);
    assert_int_equal(s.done_count[0], 1);
    assert_int_equal(s.done_status[0], STATUS_SUCCESS);
    /* the cancelled IRP never started */
    assert_int_equal(s.n_started, 2);
    assert_int_equal(s.started[0], 0);
    assert_int_equal(s.started[1], 2);
    assert_int_equal(s.done_count[2], 1);
    assert_int_equal(s.done_status[2], STATUS_SUCCESS);
    assert_false(s.busy_after[1]);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_packet_on_idle_device_calls_startio_synchronously_at_dispatch),
        cmocka_unit_test(test_start_packet_on_busy_device_queues_and_dpc_starts_next_inside_call),
        cmocka_unit_test(test_keyed_start_dequeues_by_key),
        cmocka_unit_test(test_startio_nests_through_start_next_packet_without_deferred),
        cmocka_unit_test(test_deferred_startio_prevents_nesting),
        cmocka_unit_test(test_noncancelable_clears_cancel_routine_of_started_irps),
        cmocka_unit_test(test_without_noncancelable_started_irps_keep_cancel_routine),
        cmocka_unit_test(
            test_cancelled_irp_queued_behind_busy_device_is_cancelled_inside_start_packet),
        cmocka_unit_test(test_cancelled_irp_on_idle_device_still_reaches_startio),
        cmocka_unit_test(test_startio_cancel_routine_cancels_queued_irp_and_leaves_current),
    };
    return cmocka_run_group_tests_name("startio", tests, NULL, NULL);
}
