/* SPDX-License-Identifier: MIT */
/*
 * test_dv_irp_flow.c - the checks on the way an IRP travels (src/io/callcheck.c): each rule
 * gets a tiny broken driver routine (rule id, code and P1..P4 asserted) and its fixed twin,
 * which runs clean.
 *
 * One driver owns a stack of three devices: dev[0] at the bottom (completes or pends what it
 * gets, or queues it for StartIo), dev[1] attached to it, dev[2] on top. The device chosen as
 * g.actor handles IRPs the way g.mode says; the others skip them down.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef enum FL_MODE {
    FL_SKIP = 0,       /* IoSkipCurrentIrpStackLocation to the device below */
    FL_MARK_MEMCPY,    /* IoMarkIrpPending, then a hand copy of the whole location */
    FL_MEMCPY,         /* a hand copy of the whole location (the upper completion routine) */
    FL_COPY,           /* IoCopyCurrentIrpStackLocationToNext, no completion routine */
    FL_COPY_ROUTINE,   /* IoCopyCurrentIrpStackLocationToNext + a completion routine */
    FL_SKIP_TO_BOTTOM, /* skip, and send to dev[0] past dev[1] */
    FL_SYNC_SUCCESS,   /* forward, take it back, complete with STATUS_SUCCESS whatever */
    FL_SYNC_KEEP,      /* forward, take it back, complete with the lower driver's status */
    FL_TWICE           /* forward; when it pends below, send it again */
} FL_MODE;

typedef enum FL_BOTTOM {
    FL_BOTTOM_COMPLETE = 0, /* complete with g.bottom_status */
    FL_BOTTOM_PEND,         /* IoMarkIrpPending, keep it in g.pended */
    FL_BOTTOM_STARTIO       /* IoMarkIrpPending + IoStartPacket */
} FL_BOTTOM;

static struct {
    PDEVICE_OBJECT dev[3];
    PDEVICE_OBJECT actor;
    FL_MODE mode;
    BOOLEAN all_act; /* dev[1] handles IRPs as g.mode says too (two instances of one filter) */
    BOOLEAN middle_queues; /* dev[1] pends what it gets; FlForwarder skips it down later */
    KEVENT queued;
    PIRP queue;
    FL_BOTTOM bottom;
    NTSTATUS bottom_status;
    BOOLEAN startio_completes; /* StartIo starts the next packet and completes the IRP */
    BOOLEAN deferred;          /* IoSetStartIoAttributes(dev[0], TRUE, FALSE) */
    PIRP pended;
    PIRP irp;
    KSPIN_LOCK lock;
    KEVENT event;
    IO_STATUS_BLOCK iosb;
    UCHAR buf[16];
    LONG reached_end;
} g;

static NTSTATUS FlTopDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Ctx;
    IoFreeIrp(Irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS FlPassUp(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Ctx;
    if (Irp->PendingReturned)
        IoMarkIrpPending(Irp);
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS FlTakeBack(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Irp;
    (void)Ctx;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void FlStartIo(PDEVICE_OBJECT Dev, PIRP Irp)
{
    if (!g.startio_completes) {
        g.pended = Irp;
        return;
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoStartNextPacket(Dev, FALSE);
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static NTSTATUS bottom(PDEVICE_OBJECT Dev, PIRP Irp)
{
    switch (g.bottom) {
    case FL_BOTTOM_PEND:
        IoMarkIrpPending(Irp);
        g.pended = Irp;
        return STATUS_PENDING;
    case FL_BOTTOM_STARTIO:
        IoMarkIrpPending(Irp);
        IoStartPacket(Dev, Irp, NULL, NULL);
        return STATUS_PENDING;
    default:
        Irp->IoStatus.Status = g.bottom_status;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return g.bottom_status;
    }
}

static NTSTATUS FlDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    if (Dev == g.dev[0])
        return bottom(Dev, Irp);
    if (Dev == g.dev[1] && g.middle_queues) {
        IoMarkIrpPending(Irp); /* queued: FlForwarder sends it on from its own thread */
        g.queue = Irp;
        (void)KeSetEvent(&g.queued, IO_NO_INCREMENT, FALSE);
        return STATUS_PENDING;
    }
    PDEVICE_OBJECT lower = Dev == g.dev[1] ? g.dev[0] : g.dev[1];
    PIO_STACK_LOCATION cur = IoGetCurrentIrpStackLocation(Irp);
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(Irp);
    NTSTATUS st;
    if (Dev != g.actor && !g.all_act) {
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(lower, Irp);
    }
    switch (g.mode) {
    case FL_MARK_MEMCPY:
        IoMarkIrpPending(Irp);
        memcpy(next, cur, sizeof(*cur)); /* keeps SL_PENDING_RETURNED: 0x206 */
        (void)IoCallDriver(lower, Irp);
        return STATUS_PENDING;
    case FL_MEMCPY:
        memcpy(next, cur, sizeof(*cur)); /* keeps the upper completion routine: 0x207 */
        return IoCallDriver(lower, Irp);
    case FL_COPY:
        IoCopyCurrentIrpStackLocationToNext(Irp); /* and no completion routine: 0x21C */
        return IoCallDriver(lower, Irp);
    case FL_COPY_ROUTINE:
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, FlPassUp, NULL, TRUE, TRUE, TRUE);
        return IoCallDriver(lower, Irp);
    case FL_TWICE:
        IoMarkIrpPending(Irp);
        IoSkipCurrentIrpStackLocation(Irp);
        if (IoCallDriver(lower, Irp) == STATUS_PENDING)
            (void)IoCallDriver(lower, Irp); /* the driver below still has it: 0x205 */
        return STATUS_PENDING;
    case FL_SKIP_TO_BOTTOM:
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(g.dev[0], Irp); /* past dev[1]: 0x211 */
    case FL_SYNC_SUCCESS:
    case FL_SYNC_KEEP:
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, FlTakeBack, NULL, TRUE, TRUE, TRUE);
        (void)IoCallDriver(lower, Irp); /* dev[0] completes at once */
        st = g.mode == FL_SYNC_SUCCESS ? STATUS_SUCCESS : Irp->IoStatus.Status;
        Irp->IoStatus.Status = st;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return st;
    default:
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(lower, Irp);
    }
}

static NTSTATUS FlEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Drv->MajorFunction[i] = FlDispatch;
    Drv->DriverStartIo = FlStartIo;
    for (int i = 0; i < 3; i++) {
        NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.dev[i]);
        if (!NT_SUCCESS(st))
            return st;
        if (i > 0 && IoAttachDeviceToDeviceStack(g.dev[i], g.dev[i - 1]) == NULL)
            return STATUS_UNSUCCESSFUL;
        g.dev[i]->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    }
    if (g.deferred)
        IoSetStartIoAttributes(g.dev[0], TRUE, FALSE);
    return STATUS_SUCCESS;
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    PDRIVER_OBJECT drv;
    KeInitializeSpinLock(&g.lock);
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "irpflow", FlEntry, &drv)))
        return;
    body();
    g.reached_end = 1;
}

/* A fresh machine with g cleared but for the fields @init sets. */
static kdpc_machine *run(BODY *body, void (*init)(void), kdpc_status *st)
{
    memset(&g, 0, sizeof g);
    if (init != NULL)
        init();
    kdpc_machine *m = kt_machine(1, 31);
    *st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
    return m;
}

/* An IRP of @major for dev[@top]'s stack, with the issuer's completion routine. */
static PIRP new_irp(int top, UCHAR major)
{
    PIRP irp = IoAllocateIrp(g.dev[top]->StackSize, FALSE);
    if (irp == NULL)
        return NULL;
    IoGetNextIrpStackLocation(irp)->MajorFunction = major;
    IoSetCompletionRoutine(irp, FlTopDone, NULL, TRUE, TRUE, TRUE);
    g.irp = irp;
    return irp;
}

/* Completes what the bottom device kept pending. */
static void finish_pended(void)
{
    if (g.pended == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g.pended->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(g.pended, IO_NO_INCREMENT);
    g.pended = NULL;
    KeLowerIrql(old);
}

static void assert_clean(kdpc_machine *m, kdpc_status st, const char *rule)
{
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, rule);
    assert_int_equal(g.reached_end, 1);
}

static const kdpc_violation *assert_warning(kdpc_machine *m, kdpc_status st, const char *rule)
{
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, rule);
    assert_int_equal(g.reached_end, 1);
    return kdpc_machine_find_violation(m, rule);
}

static const kdpc_violation *assert_bugcheck(kdpc_machine *m, kdpc_status st, const char *rule,
                                             uint32_t code, uint64_t p1)
{
    KT_ASSERT_BUGCHECK(m, st, rule, code);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], p1);
    assert_int_equal(g.reached_end, 0);
    return bc;
}

#define ADDR(p) ((uint64_t)(uintptr_t)(p))

/* P2 the caller (some address), P3 the IRP, P4 @p4: the shape most of these reports share. */
static void assert_caller_irp(const kdpc_violation *v, uint64_t p4)
{
    assert_true(v->params[1] != 0);
    assert_int_equal(v->params[2], ADDR(g.irp));
    assert_int_equal(v->params[3], p4);
}

/* ------------------------------------------------------------------ */
/* io.complete_irql: 0xC9 0x0E                                        */

static void pend_init(void)
{
    g.bottom = FL_BOTTOM_PEND;
}

static void body_complete_raised(void)
{
    PIRP irp = new_irp(0, IRP_MJ_READ);
    (void)IoCallDriver(g.dev[0], irp);
    KIRQL old;
    KeRaiseIrql(5, &old); /* an ISR's DIRQL */
    g.pended->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(g.pended, IO_NO_INCREMENT);
    KeLowerIrql(old);
}

static void body_complete_dispatch(void)
{
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ));
    finish_pended(); /* at DISPATCH_LEVEL, as a DPC would */
}

static void test_complete_irql(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_complete_raised, pend_init, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.complete_irql", 0xC9, 0x0E);
    assert_int_equal(bc->params[1], 5);
    assert_int_equal(bc->params[2], ADDR(g.irp));
    assert_int_equal(bc->params[3], 0);
    kdpc_machine_destroy(m);
    m = run(body_complete_dispatch, pend_init, &st);
    assert_clean(m, st, "io.complete_irql");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.call_irql: 0xC9 0x10; io.forward_irql: 0xC9 0x23A               */

static void body_call_raised(void)
{
    PIRP irp = new_irp(0, IRP_MJ_READ);
    KIRQL old;
    KeRaiseIrql(5, &old);
    (void)IoCallDriver(g.dev[0], irp);
    KeLowerIrql(old);
}

static void body_call_dispatch_read(void)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ)); /* read at DISPATCH: allowed */
    KeLowerIrql(old);
}

static void body_call_dispatch_flush(void)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_FLUSH_BUFFERS));
    KeLowerIrql(old);
}

static void body_call_passive_flush(void)
{
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_FLUSH_BUFFERS));
}

static void test_call_irql(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_call_raised, NULL, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.call_irql", 0xC9, 0x10);
    assert_int_equal(bc->params[1], 5);
    assert_int_equal(bc->params[2], 0);
    assert_int_equal(bc->params[3], 0);
    kdpc_machine_destroy(m);
    m = run(body_call_dispatch_read, NULL, &st);
    assert_clean(m, st, "io.call_irql");
    KT_ASSERT_NO_VIOLATION(m, "io.forward_irql");
    kdpc_machine_destroy(m);
}

static void test_forward_irql(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_call_dispatch_flush, NULL, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.forward_irql", 0xC9, 0x23A);
    assert_caller_irp(bc, ADDR(g.dev[0]));
    kdpc_machine_destroy(m);
    m = run(body_call_passive_flush, NULL, &st);
    assert_clean(m, st, "io.forward_irql");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.forward_apc_irql: 0xC9 0x302 (a warning)                        */

static void body_sync_request(KIRQL at)
{
    KeInitializeEvent(&g.event, NotificationEvent, FALSE);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, g.dev[0], g.buf, sizeof g.buf, NULL,
                                            &g.event, &g.iosb);
    g.irp = irp;
    KIRQL old;
    KeRaiseIrql(at, &old);
    (void)IoCallDriver(g.dev[0], irp);
    KeLowerIrql(old);
}

static void body_sync_at_apc(void)
{
    body_sync_request(APC_LEVEL);
}

static void body_sync_at_passive(void)
{
    body_sync_request(PASSIVE_LEVEL);
}

static void test_forward_apc_irql(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_sync_at_apc, NULL, &st);
    const kdpc_violation *w = assert_warning(m, st, "io.forward_apc_irql");
    assert_int_equal(w->params[0], 0x302);
    assert_caller_irp(w, APC_LEVEL);
    kdpc_machine_destroy(m);
    m = run(body_sync_at_passive, NULL, &st);
    assert_clean(m, st, "io.forward_apc_irql");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.call_cancelable: 0xC9 0x203                                     */

static void FlCancel(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
}

static void body_call_cancelable(void)
{
    PIRP irp = new_irp(0, IRP_MJ_READ);
    (void)IoSetCancelRoutine(irp, FlCancel);
    (void)IoCallDriver(g.dev[0], irp);
}

static void body_call_cancel_cleared(void)
{
    PIRP irp = new_irp(0, IRP_MJ_READ);
    (void)IoSetCancelRoutine(irp, FlCancel);
    (void)IoSetCancelRoutine(irp, NULL);
    (void)IoCallDriver(g.dev[0], irp);
}

static void test_call_cancelable(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_call_cancelable, NULL, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.call_cancelable", 0xC9, 0x203);
    assert_caller_irp(bc, ADDR(g.dev[0]));
    kdpc_machine_destroy(m);
    m = run(body_call_cancel_cleared, NULL, &st);
    assert_clean(m, st, "io.call_cancelable");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.stack_short: 0xC9 0x208                                         */

static void body_stack_short(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE); /* dev[2]'s stack needs 3 */
    g.irp = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, FlTopDone, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(g.dev[2], irp);
}

static void body_stack_enough(void)
{
    (void)IoCallDriver(g.dev[2], new_irp(2, IRP_MJ_READ));
}

static void test_stack_short(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_stack_short, NULL, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.stack_short", 0xC9, 0x208);
    assert_caller_irp(bc, ADDR(g.dev[2]));
    kdpc_machine_destroy(m);
    m = run(body_stack_enough, NULL, &st);
    assert_clean(m, st, "io.stack_short");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.bad_stack_copy: 0xC9 0x206 / 0x207; io.copy_without_completion: 0x21C; io.skipped_device:
 * 0x211 (dev[2] handles the IRP)                                     */

static FL_MODE next_mode;

static void actor_init(void)
{
    g.mode = next_mode;
}

static void body_through_top(void)
{
    g.actor = g.dev[2];
    (void)IoCallDriver(g.dev[2], new_irp(2, IRP_MJ_READ));
}

static kdpc_machine *run_mode(FL_MODE mode, kdpc_status *st)
{
    next_mode = mode;
    return run(body_through_top, actor_init, st);
}

/* One filter driver loaded twice in a stack (dev[2] and dev[1], as the WDK toaster filter is
 * installed as upper and lower filter): each instance copies its location and sets the same
 * completion routine with the same (NULL) context, so dev[1]'s current location and the one it
 * fills for dev[0] hold the same routine and context without any hand copy. */
static void copy_twice_init(void)
{
    g.mode = FL_COPY_ROUTINE;
    g.all_act = TRUE;
}

static void test_bad_stack_copy(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run_mode(FL_MARK_MEMCPY, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.bad_stack_copy", 0xC9, 0x206);
    assert_caller_irp(bc, ADDR(g.dev[1]));
    kdpc_machine_destroy(m);
    m = run_mode(FL_MEMCPY, &st);
    bc = assert_bugcheck(m, st, "io.bad_stack_copy", 0xC9, 0x207);
    assert_caller_irp(bc, ADDR(g.dev[1]));
    kdpc_machine_destroy(m);
    m = run_mode(FL_COPY_ROUTINE, &st);
    assert_clean(m, st, "io.bad_stack_copy");
    KT_ASSERT_NO_VIOLATION(m, "io.copy_without_completion");
    kdpc_machine_destroy(m);
    m = run(body_through_top, copy_twice_init, &st);
    assert_clean(m, st, "io.bad_stack_copy");
    kdpc_machine_destroy(m);
}

static void test_copy_without_completion(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run_mode(FL_COPY, &st);
    const kdpc_violation *w = assert_warning(m, st, "io.copy_without_completion");
    assert_int_equal(w->params[0], 0x21C);
    assert_caller_irp(w, ADDR(g.dev[1]));
    kdpc_machine_destroy(m);
    m = run_mode(FL_SKIP, &st);
    assert_clean(m, st, "io.copy_without_completion");
    kdpc_machine_destroy(m);
}

static void test_skipped_device(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run_mode(FL_SKIP_TO_BOTTOM, &st);
    const kdpc_violation *w = assert_warning(m, st, "io.skipped_device");
    assert_int_equal(w->params[0], 0x211);
    assert_caller_irp(w, ADDR(g.dev[0]));
    kdpc_machine_destroy(m);
    m = run_mode(FL_SKIP, &st);
    assert_clean(m, st, "io.skipped_device");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.forward_owned_below: 0xC9 0x205                                 */

static void pend_actor_init(void)
{
    g.mode = next_mode;
    g.bottom = FL_BOTTOM_PEND;
}

static void body_through_top_then_finish(void)
{
    body_through_top();
    finish_pended();
}

static void test_forward_owned_below(void **state)
{
    (void)state;
    kdpc_status st;
    next_mode = FL_TWICE;
    kdpc_machine *m = run(body_through_top_then_finish, pend_actor_init, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.forward_owned_below", 0xC9, 0x205);
    assert_caller_irp(bc, ADDR(g.dev[1]));
    kdpc_machine_destroy(m);
    next_mode = FL_SKIP;
    m = run(body_through_top_then_finish, pend_actor_init, &st);
    assert_clean(m, st, "io.forward_owned_below");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.status_overridden (CompleteRequestStatusCheck): code 0          */

static void fail_init(void)
{
    g.mode = next_mode;
    g.bottom_status = STATUS_DEVICE_NOT_READY;
}

static void test_status_overridden(void **state)
{
    (void)state;
    kdpc_status st;
    next_mode = FL_SYNC_SUCCESS;
    kdpc_machine *m = run(body_through_top, fail_init, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.status_overridden", 0, ADDR(g.irp));
    assert_int_equal(bc->params[1], (uint32_t)STATUS_DEVICE_NOT_READY);
    assert_int_equal(bc->params[2], (uint32_t)STATUS_SUCCESS);
    assert_int_equal(bc->params[3], 0);
    kdpc_machine_destroy(m);
    next_mode = FL_SYNC_KEEP;
    m = run(body_through_top, fail_init, &st);
    assert_clean(m, st, "io.status_overridden");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.complete_lock_held (SpinLockSafe): code 0                       */

static void body_complete_locked(void)
{
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ));
    KIRQL old;
    KeAcquireSpinLock(&g.lock, &old);
    g.pended->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(g.pended, IO_NO_INCREMENT);
    KeReleaseSpinLock(&g.lock, old);
}

static void body_complete_unlocked(void)
{
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ));
    KIRQL old;
    KeAcquireSpinLock(&g.lock, &old);
    PIRP irp = g.pended; /* taken off the driver's queue under its lock */
    g.pended = NULL;
    KeReleaseSpinLock(&g.lock, old);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void body_start_next_locked(void)
{
    KIRQL old;
    KeAcquireSpinLock(&g.lock, &old);
    IoStartNextPacket(g.dev[0], FALSE);
    KeReleaseSpinLock(&g.lock, old);
}

static void body_start_next_unlocked(void)
{
    KIRQL old;
    KeAcquireSpinLock(&g.lock, &old);
    KeReleaseSpinLockFromDpcLevel(&g.lock);
    IoStartNextPacket(g.dev[0], FALSE);
    KeLowerIrql(old);
}

static void test_complete_lock_held(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_complete_locked, pend_init, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.complete_lock_held", 0, 1);
    assert_int_equal(bc->params[1], ADDR(g.irp));
    assert_int_equal(bc->params[2], ADDR(&g.lock));
    assert_int_equal(bc->params[3], 0);
    kdpc_machine_destroy(m);
    m = run(body_complete_unlocked, pend_init, &st);
    assert_clean(m, st, "io.complete_lock_held");
    kdpc_machine_destroy(m);
    m = run(body_start_next_locked, NULL, &st);
    bc = assert_bugcheck(m, st, "io.complete_lock_held", 0, 2);
    assert_int_equal(bc->params[1], ADDR(g.dev[0]));
    assert_int_equal(bc->params[2], ADDR(&g.lock));
    assert_int_equal(bc->params[3], 0);
    kdpc_machine_destroy(m);
    m = run(body_start_next_unlocked, NULL, &st);
    assert_clean(m, st, "io.complete_lock_held");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.startio_recursion (StartIoRecursion): a warning, code 0         */

static void startio_init(void)
{
    g.bottom = FL_BOTTOM_STARTIO;
    g.startio_completes = TRUE;
}

static void startio_deferred_init(void)
{
    startio_init();
    g.deferred = TRUE;
}

static void body_two_packets(void)
{
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ));
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ));
}

static void test_startio_recursion(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_two_packets, startio_init, &st);
    const kdpc_violation *w = assert_warning(m, st, "io.startio_recursion");
    assert_int_equal(w->params[0], ADDR(g.dev[0]));
    assert_true(w->params[1] != 0); /* FlStartIo */
    assert_int_equal(w->params[2], 0);
    assert_int_equal(w->params[3], 0);
    kdpc_machine_destroy(m);
    m = run(body_two_packets, startio_deferred_init, &st);
    assert_clean(m, st, "io.startio_recursion");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.signaled_event: 0xC9 0x307 (a warning)                          */

static void body_event(BOOLEAN signaled)
{
    KeInitializeEvent(&g.event, NotificationEvent, signaled);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, g.dev[0], g.buf, sizeof g.buf, NULL,
                                            &g.event, &g.iosb);
    g.irp = irp;
    (void)IoCallDriver(g.dev[0], irp); /* pending */
    finish_pended();
}

static void body_event_signaled(void)
{
    body_event(TRUE);
}

static void body_event_clear(void)
{
    body_event(FALSE);
}

static void test_signaled_event(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_event_signaled, pend_init, &st);
    const kdpc_violation *w = assert_warning(m, st, "io.signaled_event");
    assert_int_equal(w->params[0], 0x307);
    assert_caller_irp(w, ADDR(g.dev[0]));
    kdpc_machine_destroy(m);
    m = run(body_event_clear, pend_init, &st);
    assert_clean(m, st, "io.signaled_event");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.complete_unsent: 0xC9 0x239 (a warning)                         */

static void body_complete_unsent(void)
{
    /* completing an IoAllocateIrp IRP is another rule's mistake too: that one off */
    (void)kdpc_rule_set(kdpc_current_machine(), "io.complete_local", KDPC_RULE_OFF);
    PIRP irp = new_irp(0, IRP_MJ_READ);
    IoSetNextIrpStackLocation(irp);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* FlTopDone frees it */
}

static void body_complete_sent(void)
{
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ));
}

static void test_complete_unsent(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_complete_unsent, NULL, &st);
    const kdpc_violation *w = assert_warning(m, st, "io.complete_unsent");
    assert_int_equal(w->params[0], 0x239);
    assert_caller_irp(w, 0);
    kdpc_machine_destroy(m);
    m = run(body_complete_sent, NULL, &st);
    assert_clean(m, st, "io.complete_unsent");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.cancel_not_completed: 0xC4 0x135                                */

static void body_cancel(LONGLONG wait_ms)
{
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ)); /* pended, no cancel routine */
    (void)IoCancelIrp(g.pended);
    LARGE_INTEGER t;
    t.QuadPart = -wait_ms * 10000;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    g.pended->IoStatus.Status = STATUS_CANCELLED;
    finish_pended();
}

static void body_cancel_late(void)
{
    body_cancel(301000); /* past the I/O manager's 5 minutes */
}

static void body_cancel_slow(void)
{
    body_cancel(60000); /* not cancelable while the device works: slow, yet within 5 minutes */
}

static void body_cancel_soon(void)
{
    body_cancel(10);
}

static void body_cancel_never(void)
{
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ));
    (void)IoCancelIrp(g.pended); /* and nobody completes it */
}

static void test_cancel_not_completed(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_cancel_late, pend_init, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.cancel_not_completed", 0xC4, 0x135);
    assert_int_equal(bc->params[1], ADDR(g.irp));
    assert_int_equal(bc->params[2], 300000);
    assert_int_equal(bc->params[3], 0);
    kdpc_machine_destroy(m);
    m = run(body_cancel_never, pend_init, &st);
    KT_ASSERT_BUGCHECK(m, st, "io.cancel_not_completed", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], ADDR(g.irp));
    kdpc_machine_destroy(m);
    m = run(body_cancel_soon, pend_init, &st);
    assert_clean(m, st, "io.cancel_not_completed");
    kdpc_machine_destroy(m);
    m = run(body_cancel_slow, pend_init, &st);
    assert_clean(m, st, "io.cancel_not_completed");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.iosb_unwound: 0xC9 0x0C / 0x0D                                  */

static BOOLEAN issuer_waits;
static PVOID dead_iosb;

static void FlIssuer(PVOID ctx)
{
    (void)ctx;
    IO_STATUS_BLOCK iosb; /* on this thread's stack */
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    dead_iosb = &iosb;
    PIRP irp =
        IoBuildSynchronousFsdRequest(IRP_MJ_READ, g.dev[0], g.buf, sizeof g.buf, NULL, &ev, &iosb);
    g.irp = irp;
    if (IoCallDriver(g.dev[0], irp) == STATUS_PENDING && issuer_waits)
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
} /* without the wait, the thread ends with the request still out */

static void body_issuer(void)
{
    HANDLE h;
    if (!NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, FlIssuer, NULL)))
        return;
    LARGE_INTEGER t;
    t.QuadPart = -10000; /* 1 ms: the thread sends its request (and ends, or waits) */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    finish_pended();
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    (void)ZwClose(h);
}

static void issuer_ends_init(void)
{
    g.bottom = FL_BOTTOM_PEND;
    issuer_waits = FALSE;
}

static void issuer_waits_init(void)
{
    g.bottom = FL_BOTTOM_PEND;
    issuer_waits = TRUE;
}

/* A thread sends its own IRP with the status block and event on its stack, gets it back, waits,
 * keeps the IRP and ends; the IRP is reused later with a status block in static memory. */
static void FlOneShot(PVOID ctx)
{
    (void)ctx;
    IO_STATUS_BLOCK iosb;
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IoAllocateIrp(g.dev[0]->StackSize, FALSE);
    if (irp == NULL)
        return;
    irp->UserIosb = &iosb;
    irp->UserEvent = &ev;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    if (IoCallDriver(g.dev[0], irp) == STATUS_PENDING)
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    g.irp = irp;
}

static void body_reuse_after_issuer(void)
{
    HANDLE h;
    if (!NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, FlOneShot, NULL)))
        return;
    LARGE_INTEGER t;
    t.QuadPart = -10000; /* 1 ms: the thread is done */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    (void)ZwClose(h);
    if (g.irp == NULL)
        return;
    IoReuseIrp(g.irp, STATUS_SUCCESS);
    g.irp->UserIosb = &g.iosb;
    IoGetNextIrpStackLocation(g.irp)->MajorFunction = IRP_MJ_READ;
    (void)IoCallDriver(g.dev[0], g.irp);
    IoFreeIrp(g.irp);
}

static void test_iosb_unwound(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_issuer, issuer_ends_init, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.iosb_unwound", 0xC9, 0x0C);
    assert_int_equal(bc->params[1], ADDR(dead_iosb));
    assert_int_equal(bc->params[2], 0);
    assert_int_equal(bc->params[3], 0);
    kdpc_machine_destroy(m);
    m = run(body_issuer, issuer_waits_init, &st);
    assert_clean(m, st, "io.iosb_unwound");
    kdpc_machine_destroy(m);
    m = run(body_reuse_after_issuer, NULL, &st);
    assert_clean(m, st, "io.iosb_unwound");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Legal patterns that must stay clean                                 */

static NTSTATUS FlSignal(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Irp;
    (void)KeSetEvent((PKEVENT)Ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* dev[1]'s thread: takes the IRP dev[1] queued and skips it down to dev[0], which pends it. */
static void FlForwarder(PVOID ctx)
{
    (void)ctx;
    (void)KeWaitForSingleObject(&g.queued, Executive, KernelMode, FALSE, NULL);
    LARGE_INTEGER t;
    t.QuadPart = -10000; /* 1 ms: dev[1]'s routine has returned, dev[2]'s waits */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    PIRP irp = g.queue;
    IoSkipCurrentIrpStackLocation(irp);
    (void)IoCallDriver(g.dev[0], irp);
    finish_pended();
}

/* dev[2] forwards and waits (IoCopyCurrentIrpStackLocationToNext + a completion routine); dev[1]
 * queues the IRP and its own thread later skips it to dev[0]. dev[2]'s dispatch routine is still
 * running (waiting), but that send is not its: no stack-copy or skipped-device check on it. */
static NTSTATUS FlWaitDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    if (Dev != g.dev[2])
        return FlDispatch(Dev, Irp);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, FlSignal, &ev, TRUE, TRUE, TRUE);
    if (IoCallDriver(g.dev[1], Irp) == STATUS_PENDING)
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    NTSTATUS st = Irp->IoStatus.Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return st;
}

static void body_queue_then_skip(void)
{
    HANDLE h;
    KeInitializeEvent(&g.queued, SynchronizationEvent, FALSE);
    if (!NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, FlForwarder, NULL)))
        return;
    g.dev[2]->DriverObject->MajorFunction[IRP_MJ_READ] = FlWaitDispatch;
    (void)IoCallDriver(g.dev[2], new_irp(2, IRP_MJ_READ));
    (void)ZwClose(h);
}

static void queue_init(void)
{
    g.middle_queues = TRUE;
    g.bottom = FL_BOTTOM_PEND;
}

/* A driver's own IRP is back (its completion routine took it: STATUS_MORE_PROCESSING_REQUIRED)
 * when its timeout fires and cancels it anyway (the race Oney's timed-IRP pattern allows): the
 * IRP is the driver's, no one below owes it a completion; it is reused and sent again later. */
static void body_cancel_after_return(void)
{
    PIRP irp = IoAllocateIrp(g.dev[0]->StackSize, FALSE);
    if (irp == NULL)
        return;
    g.irp = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, FlTakeBack, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(g.dev[0], irp); /* completed at once, taken back */
    (void)IoCancelIrp(irp);            /* the late timeout */
    LARGE_INTEGER t;
    t.QuadPart = -301000LL * 10000; /* 301 s later: reused */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    IoReuseIrp(irp, STATUS_SUCCESS);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, FlTakeBack, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(g.dev[0], irp);
    IoFreeIrp(irp);
}

static void body_cancel_kept(void)
{
    PIRP irp = IoAllocateIrp(g.dev[0]->StackSize, FALSE);
    if (irp == NULL)
        return;
    g.irp = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, FlTakeBack, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(g.dev[0], irp);
    (void)IoCancelIrp(irp); /* back already; kept for later: still live when the run ends */
    LARGE_INTEGER t;
    t.QuadPart = -10000;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    g.reached_end = 1;
}

static void test_legal_patterns(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_cancel_after_return, NULL, &st);
    assert_clean(m, st, "io.cancel_not_completed");
    kdpc_machine_destroy(m);
    m = run(body_queue_then_skip, queue_init, &st);
    assert_clean(m, st, "io.bad_stack_copy");
    KT_ASSERT_NO_VIOLATION(m, "io.skipped_device");
    KT_ASSERT_NO_VIOLATION(m, "io.copy_without_completion");
    KT_ASSERT_NO_VIOLATION(m, "io.forward_owned_below");
    KT_ASSERT_NO_VIOLATION(m, "io.pending_not_returned");
    kdpc_machine_destroy(m);
    m = run(body_cancel_kept, NULL, &st);
    assert_clean(m, st, "io.cancel_not_completed");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Codes fixed to Microsoft's parameters: io.complete_pending 0x06 (P2 the status, P3 the IRP),
 * io.complete_cancelable 0x07 (P2 the routine, P3 the IRP), io.buffer_overrun 0x312.          */

static void body_complete_pending_status(void)
{
    g.bottom_status = STATUS_PENDING; /* "completes" with STATUS_PENDING */
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ));
}

static void body_complete_with_routine(void)
{
    (void)IoCallDriver(g.dev[0], new_irp(0, IRP_MJ_READ));
    (void)IoSetCancelRoutine(g.pended, FlCancel);
    finish_pended();
}

#define IOCTL_FL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x902, METHOD_BUFFERED, FILE_ANY_ACCESS)

static void body_overrun(void)
{
    PIRP irp =
        IoBuildDeviceIoControlRequest(IOCTL_FL, g.dev[0], NULL, 0, g.buf, 4, FALSE, NULL, &g.iosb);
    g.irp = irp;
    (void)IoCallDriver(g.dev[0], irp);
    g.pended->IoStatus.Information = 8; /* more than the 4 bytes asked for */
    finish_pended();
}

static void test_fixed_parameters(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(body_complete_pending_status, NULL, &st);
    const kdpc_violation *bc = assert_bugcheck(m, st, "io.complete_pending", 0xC9, 0x06);
    assert_int_equal(bc->params[1], (uint32_t)STATUS_PENDING);
    assert_int_equal(bc->params[2], ADDR(g.irp));
    assert_int_equal(bc->params[3], 0);
    kdpc_machine_destroy(m);
    m = run(body_complete_with_routine, pend_init, &st);
    bc = assert_bugcheck(m, st, "io.complete_cancelable", 0xC9, 0x07);
    assert_int_equal(bc->params[1], ADDR(FlCancel));
    assert_int_equal(bc->params[2], ADDR(g.irp));
    assert_int_equal(bc->params[3], 0);
    kdpc_machine_destroy(m);
    m = run(body_overrun, pend_init, &st);
    bc = assert_bugcheck(m, st, "io.buffer_overrun", 0xC9, 0x312);
    assert_caller_irp(bc, ADDR(g.dev[0]));
    kdpc_machine_destroy(m);
    m = run(body_complete_sent, NULL, &st);
    assert_clean(m, st, "io.complete_pending");
    KT_ASSERT_NO_VIOLATION(m, "io.complete_cancelable");
    KT_ASSERT_NO_VIOLATION(m, "io.buffer_overrun");
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_irql),        cmocka_unit_test(test_call_irql),
        cmocka_unit_test(test_forward_irql),         cmocka_unit_test(test_forward_apc_irql),
        cmocka_unit_test(test_call_cancelable),      cmocka_unit_test(test_stack_short),
        cmocka_unit_test(test_bad_stack_copy),       cmocka_unit_test(test_copy_without_completion),
        cmocka_unit_test(test_skipped_device),       cmocka_unit_test(test_status_overridden),
        cmocka_unit_test(test_complete_lock_held),   cmocka_unit_test(test_startio_recursion),
        cmocka_unit_test(test_signaled_event),       cmocka_unit_test(test_complete_unsent),
        cmocka_unit_test(test_cancel_not_completed), cmocka_unit_test(test_iosb_unwound),
        cmocka_unit_test(test_forward_owned_below),  cmocka_unit_test(test_fixed_parameters),
        cmocka_unit_test(test_legal_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
