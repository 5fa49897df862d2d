/* SPDX-License-Identifier: MIT */
/*
 * test_dv_irp_life.c - the rules on IRPs a driver makes itself (docs/rules.md), each with a
 * broken routine (rule id, code, P1..P4) and its fixed twin (clean):
 *   io.reuse_not_allocated  IoReuseIrp of an IoBuildDeviceIoControlRequest IRP: 0xC9/0x311;
 *   io.reuse_in_use         IoReuseIrp of an IRP a lower driver still holds: 0xC9/0x310;
 *   io.local_no_completion  IoAllocateIrp IRP sent without a completion routine (warning);
 *   io.build_bad_buffer     IoBuildDeviceIoControlRequest / IoBuildAsynchronousFsdRequest
 *                           with a NULL buffer: 0xC9/0x09, 0x08;
 *   io.build_event_set      KeSetEvent on an IoBuildDeviceIoControlRequest event while the
 *                           IRP is pending: code 0;
 *   io.invalid_object       IoFreeIrp of an IRP still at the lower driver: 0xC9/0x20B;
 *   io.completion_ex_unchecked  IoCallDriver after IoSetCompletionRoutineEx failed:
 *                           0xC4/0x0004100F;
 *   io.completion_ex_unsent IoCompleteRequest right after IoSetCompletionRoutineEx: code 0;
 *   io.completion_ex_device IoSetCompletionRoutineEx given the lower driver's device: code 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define IOCTL_BUF CTL_CODE(FILE_DEVICE_UNKNOWN, 0x902, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_DIR CTL_CODE(FILE_DEVICE_UNKNOWN, 0x903, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    BOOLEAN park; /* the dispatch routine keeps the IRP pending in held */
    PIRP held;
    PIRP irp;
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    UCHAR buf[16];
    LONG reached_end;
    int ex_mode;         /* the upper dispatch routine's use of IoSetCompletionRoutineEx */
    PDEVICE_OBJECT low;  /* a second driver's device, below dev */
    NTSTATUS ex_status;  /* what IoSetCompletionRoutineEx returned */
    LONG ex_ran;         /* ExDone calls */
    BOOLEAN park_second; /* the dispatch routine completes its first IRP and keeps the next */
    LONG calls;          /* LifeDispatch calls */
    LONG resent;         /* Resend: the IRP was reused and sent again */
} g;

enum { EX_NONE, EX_FORWARD, EX_COMPLETE, EX_LOWER_DEVICE, EX_NO_MARK };

static NTSTATUS ExDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Ctx;
    g.ex_ran++;
    if (Irp->PendingReturned && g.ex_mode != EX_NO_MARK) /* EX_NO_MARK: broken, mark dropped */
        IoMarkIrpPending(Irp);
    return STATUS_CONTINUE_COMPLETION;
}

/* The upper driver's use of IoSetCompletionRoutineEx (g.ex_mode). */
static NTSTATUS ExDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    IoCopyCurrentIrpStackLocationToNext(Irp);
    g.ex_status = IoSetCompletionRoutineEx(g.ex_mode == EX_LOWER_DEVICE ? g.low : Dev, Irp, ExDone,
                                           NULL, TRUE, TRUE, TRUE);
    if (!NT_SUCCESS(g.ex_status)) {
        Irp->IoStatus.Status = g.ex_status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return g.ex_status;
    }
    if (g.ex_mode == EX_COMPLETE) { /* broken: set, then completed here */
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_SUCCESS;
    }
    return IoCallDriver(g.low, Irp);
}

static NTSTATUS LowDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    if (g.ex_mode == EX_NO_MARK) /* pended and completed: the routine gets PendingReturned */
        IoMarkIrpPending(Irp);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return g.ex_mode == EX_NO_MARK ? STATUS_PENDING : STATUS_SUCCESS;
}

static NTSTATUS LowEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Drv->MajorFunction[i] = LowDispatch;
    return IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.low);
}

static NTSTATUS LifeDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    if (g.ex_mode != EX_NONE)
        return ExDispatch(Dev, Irp);
    if (g.park || (g.park_second && g.calls++ > 0)) {
        IoMarkIrpPending(Irp);
        g.held = Irp;
        return STATUS_PENDING;
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS LifeEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Drv->MajorFunction[i] = LifeDispatch;
    NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.dev);
    if (NT_SUCCESS(st))
        g.dev->Flags |= DO_DIRECT_IO;
    return st;
}

/* The maker's completion routine: takes the IRP back. */
static NTSTATUS TakeBack(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Irp;
    KeSetEvent((PKEVENT)Ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    if (NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "irplife", LifeEntry, &g.drv)) &&
        g.dev != NULL)
        body();
    g.reached_end = 1;
}

static kdpc_status run(kdpc_machine **mp, uint64_t seed, BODY *body)
{
    memset(&g, 0, sizeof g);
    *mp = kt_machine(1, seed);
    return kdpc_machine_run(*mp, run_body, (void *)(uintptr_t)body);
}

static void assert_params(kdpc_machine *m, uint64_t p1, uint64_t p2, uint64_t p3, uint64_t p4)
{
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_non_null(bc);
    assert_int_equal(bc->params[0], p1);
    assert_int_equal(bc->params[1], p2);
    assert_int_equal(bc->params[2], p3);
    assert_int_equal(bc->params[3], p4);
}

/* A fresh machine of @seed runs @body, which bugchecks with @rule and @code; the caller checks
 * P1..P4 (assert_params) and destroys the machine. */
static kdpc_machine *run_bugcheck(uint64_t seed, BODY *body, const char *rule, uint32_t code)
{
    kdpc_machine *m;
    kdpc_status st = run(&m, seed, body);
    KT_ASSERT_BUGCHECK(m, st, rule, code);
    return m;
}

/* A fresh machine of @seed runs @body to its end with no violation at all. */
static void run_clean(uint64_t seed, BODY *body)
{
    kdpc_machine *m;
    assert_int_equal(run(&m, seed, body), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* Send an IoAllocateIrp IRP with the maker's routine and wait until it is back. */
static PIRP send_own(void)
{
    PIRP irp = IoAllocateIrp(g.dev->StackSize, FALSE);
    if (irp == NULL)
        return NULL;
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
    IoSetCompletionRoutine(irp, TakeBack, &g.ev, TRUE, TRUE, TRUE);
    if (IoCallDriver(g.dev, irp) == STATUS_PENDING)
        (void)KeWaitForSingleObject(&g.ev, Executive, KernelMode, FALSE, NULL);
    return irp;
}

/* ------------------------------------------------------------------ */
/* io.reuse_not_allocated                                              */

static void body_reuse_built(void)
{
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    PIRP irp =
        IoBuildDeviceIoControlRequest(IOCTL_BUF, g.dev, NULL, 0, NULL, 0, FALSE, &g.ev, &g.iosb);
    g.irp = irp;
    if (irp != NULL)
        IoReuseIrp(irp, STATUS_SUCCESS); /* broken: not an IoAllocateIrp IRP */
}

static void body_reuse_allocated(void)
{
    PIRP irp = send_own();
    if (irp == NULL)
        return;
    IoReuseIrp(irp, STATUS_SUCCESS); /* fixed: its own IRP, back with it */
    IoFreeIrp(irp);
}

static void test_reuse_of_built_irp_bugchecks_c9_311(void **state)
{
    (void)state;
    kdpc_machine *m = run_bugcheck(1, body_reuse_built, "io.reuse_not_allocated", 0xC9);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_params(m, 0x311, bc->params[1], (uintptr_t)g.irp, 2 /* IoBuildDeviceIoControlRequest */);
    assert_true(bc->params[1] != 0); /* the caller */
    kdpc_machine_destroy(m);
}

static void test_reuse_of_own_irp_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m;
    assert_int_equal(run(&m, 2, body_reuse_allocated), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "io.reuse_not_allocated");
    KT_ASSERT_NO_VIOLATION(m, "io.reuse_in_use");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* io.reuse_in_use, io.invalid_object 0x20B                            */

/* Send an IoAllocateIrp IRP with the maker's routine to the dispatch routine, which keeps it
 * pending (g.held); NULL when none could be allocated. */
static PIRP send_parked(void)
{
    g.park = TRUE;
    PIRP irp = IoAllocateIrp(g.dev->StackSize, FALSE);
    g.irp = irp;
    if (irp == NULL)
        return NULL;
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    IoSetCompletionRoutine(irp, TakeBack, &g.ev, TRUE, TRUE, TRUE);
    (void)IoCallDriver(g.dev, irp);
    return irp;
}

static void body_reuse_out(void)
{
    PIRP irp = send_parked(); /* pending at the lower driver */
    if (irp != NULL)
        IoReuseIrp(irp, STATUS_SUCCESS); /* broken: still in use */
}

/* The maker's routine reuses its IRP and sends it again, from inside the lower driver's
 * IoCompleteRequest; that driver pends the new request and then returns STATUS_SUCCESS for the
 * first one, which it completed unmarked: no io.pending_not_returned (the new request's pending
 * mark is not the first one's) and no io.pending_not_marked. */
static NTSTATUS Resend(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    if (g.resent++ == 0) {
        IoReuseIrp(Irp, STATUS_SUCCESS);
        IoGetNextIrpStackLocation(Irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
        IoSetCompletionRoutine(Irp, Resend, Ctx, TRUE, TRUE, TRUE);
        (void)IoCallDriver(g.dev, Irp);
        return STATUS_MORE_PROCESSING_REQUIRED;
    }
    KeSetEvent((PKEVENT)Ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void body_reuse_from_completion(void)
{
    g.park_second = TRUE;
    PIRP irp = IoAllocateIrp(g.dev->StackSize, FALSE);
    g.irp = irp;
    if (irp == NULL)
        return;
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
    IoSetCompletionRoutine(irp, Resend, &g.ev, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(g.dev, irp), STATUS_SUCCESS); /* the first request */
    assert_non_null(g.held);                                    /* the second, kept */
    g.held->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(g.held, IO_NO_INCREMENT); /* on behalf of its driver */
    (void)KeWaitForSingleObject(&g.ev, Executive, KernelMode, FALSE, NULL);
    IoFreeIrp(irp);
}

static void test_reuse_from_completion_routine_is_clean(void **state)
{
    (void)state;
    run_clean(19, body_reuse_from_completion);
    assert_int_equal(g.resent, 2);
}

static void test_reuse_while_at_lower_driver_bugchecks_c9_310(void **state)
{
    (void)state;
    kdpc_machine *m = run_bugcheck(3, body_reuse_out, "io.reuse_in_use", 0xC9);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_params(m, 0x310, bc->params[1], (uintptr_t)g.irp, (uintptr_t)g.dev);
    kdpc_machine_destroy(m);
}

static void body_free_out(void)
{
    PIRP irp = send_parked();
    if (irp != NULL)
        IoFreeIrp(irp); /* broken: the lower driver still holds it */
}

static void body_free_back(void)
{
    PIRP irp = send_parked();
    if (irp == NULL)
        return;
    g.held->IoStatus.Status = STATUS_SUCCESS; /* the lower driver finishes */
    IoCompleteRequest(g.held, IO_NO_INCREMENT);
    (void)KeWaitForSingleObject(&g.ev, Executive, KernelMode, FALSE, NULL);
    IoFreeIrp(irp); /* fixed: back with its maker */
}

static void test_free_while_at_lower_driver_bugchecks_c9_20b(void **state)
{
    (void)state;
    kdpc_machine *m = run_bugcheck(4, body_free_out, "io.invalid_object", 0xC9);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_params(m, 0x20B, bc->params[1], (uintptr_t)g.irp, (uintptr_t)g.dev);
    kdpc_machine_destroy(m);
}

static void test_free_after_completion_is_clean(void **state)
{
    (void)state;
    run_clean(5, body_free_back);
}

/* ------------------------------------------------------------------ */
/* io.local_no_completion                                              */

static void body_send_bare(void)
{
    PIRP irp = IoAllocateIrp(g.dev->StackSize, FALSE);
    g.irp = irp;
    if (irp == NULL)
        return;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
    (void)IoCallDriver(g.dev, irp); /* broken: nobody takes it back */
    IoFreeIrp(irp);
}

static void body_send_own(void)
{
    PIRP irp = send_own(); /* fixed: with TakeBack */
    if (irp != NULL)
        IoFreeIrp(irp);
}

static void test_allocated_irp_sent_without_completion_routine_warns(void **state)
{
    (void)state;
    kdpc_machine *m;
    assert_int_equal(run(&m, 8, body_send_bare), KDPC_OK);
    KT_ASSERT_WARNING(m, "io.local_no_completion");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "io.local_no_completion");
    assert_int_equal(w->params[0], (uintptr_t)g.irp);
    assert_int_equal(w->params[1], 1);
    assert_int_equal(w->params[2], (uintptr_t)g.dev);
    assert_int_equal(w->params[3], 0);
    kdpc_machine_destroy(m);
    /* as a bug check: code 0 and the same parameters */
    memset(&g, 0, sizeof g);
    m = kt_machine(1, 8);
    assert_int_equal(kdpc_rule_set(m, "io.local_no_completion", KDPC_RULE_BUGCHECK), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_send_bare);
    KT_ASSERT_BUGCHECK(m, st, "io.local_no_completion", 0);
    assert_params(m, (uintptr_t)g.irp, 1, (uintptr_t)g.dev, 0);
    kdpc_machine_destroy(m);
}

static void test_allocated_irp_sent_with_completion_routine_is_clean(void **state)
{
    (void)state;
    run_clean(9, body_send_own);
}

/* ------------------------------------------------------------------ */
/* io.build_bad_buffer                                                 */

static void body_devctl_null(void)
{
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    g.irp = IoBuildDeviceIoControlRequest(IOCTL_DIR, g.dev, NULL, 0, NULL, 64, FALSE, &g.ev,
                                          &g.iosb); /* broken: 64 bytes at NULL to lock */
}

static void body_fsd_null(void)
{
    g.irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, g.dev, NULL, 16, NULL, &g.iosb);
}

static void body_devctl_ok(void)
{
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_DIR, g.dev, NULL, 0, g.buf, sizeof g.buf, FALSE,
                                             &g.ev, &g.iosb);
    if (irp != NULL && IoCallDriver(g.dev, irp) == STATUS_PENDING)
        (void)KeWaitForSingleObject(&g.ev, Executive, KernelMode, FALSE, NULL);
}

static void test_devctl_null_buffer_bugchecks_c9_09(void **state)
{
    (void)state;
    kdpc_machine *m = run_bugcheck(10, body_devctl_null, "io.build_bad_buffer", 0xC9);
    assert_params(m, 0x09, (uintptr_t)g.dev, IOCTL_DIR, (uint32_t)STATUS_ACCESS_VIOLATION);
    kdpc_machine_destroy(m);
}

static void test_fsd_null_buffer_bugchecks_c9_08(void **state)
{
    (void)state;
    kdpc_machine *m = run_bugcheck(11, body_fsd_null, "io.build_bad_buffer", 0xC9);
    assert_params(m, 0x08, (uintptr_t)g.dev, IRP_MJ_READ, (uint32_t)STATUS_ACCESS_VIOLATION);
    kdpc_machine_destroy(m);
}

static void test_devctl_with_buffer_is_clean(void **state)
{
    (void)state;
    run_clean(12, body_devctl_ok);
}

/* ------------------------------------------------------------------ */
/* io.build_event_set                                                  */

static void body_event_set(void)
{
    g.park = TRUE;
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    PIRP irp =
        IoBuildDeviceIoControlRequest(IOCTL_BUF, g.dev, NULL, 0, NULL, 0, FALSE, &g.ev, &g.iosb);
    g.irp = irp;
    if (irp == NULL)
        return;
    (void)IoCallDriver(g.dev, irp);
    KeSetEvent(&g.ev, IO_NO_INCREMENT, FALSE); /* broken: the I/O manager's event */
    g.held->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(g.held, IO_NO_INCREMENT);
}

static void body_event_wait(void)
{
    g.park = TRUE;
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    PIRP irp =
        IoBuildDeviceIoControlRequest(IOCTL_BUF, g.dev, NULL, 0, NULL, 0, FALSE, &g.ev, &g.iosb);
    if (irp == NULL)
        return;
    (void)IoCallDriver(g.dev, irp);
    g.held->IoStatus.Status = STATUS_SUCCESS; /* fixed: only completion sets it */
    IoCompleteRequest(g.held, IO_NO_INCREMENT);
    (void)KeWaitForSingleObject(&g.ev, Executive, KernelMode, FALSE, NULL);
}

static void test_driver_setting_build_event_bugchecks_code_0(void **state)
{
    (void)state;
    kdpc_machine *m = run_bugcheck(13, body_event_set, "io.build_event_set", 0);
    assert_params(m, (uintptr_t)g.irp, (uintptr_t)&g.ev, 2, 0);
    kdpc_machine_destroy(m);
}

static void test_build_event_left_to_io_manager_is_clean(void **state)
{
    (void)state;
    run_clean(14, body_event_wait);
}

/* ------------------------------------------------------------------ */
/* IoSetCompletionRoutineEx                                            */

/* Send an IRP with room for the upper driver's routine to dev (which goes on to low). */
static void send_two(void)
{
    PDRIVER_OBJECT low;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "irplifelow", LowEntry, &low)))
        return;
    PIRP irp = IoAllocateIrp(2, FALSE);
    g.irp = irp;
    if (irp == NULL)
        return;
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
    IoSetCompletionRoutine(irp, TakeBack, &g.ev, TRUE, TRUE, TRUE);
    if (IoCallDriver(g.dev, irp) == STATUS_PENDING)
        (void)KeWaitForSingleObject(&g.ev, Executive, KernelMode, FALSE, NULL);
    IoFreeIrp(irp);
}

static void body_ex_forward(void)
{
    g.ex_mode = EX_FORWARD; /* fixed: set with its own device, then sent */
    send_two();
}

static void body_ex_complete(void)
{
    g.ex_mode = EX_COMPLETE;
    send_two();
}

static void body_ex_lower_device(void)
{
    g.ex_mode = EX_LOWER_DEVICE;
    send_two();
}

static void body_ex_no_mark(void)
{
    g.ex_mode = EX_NO_MARK;
    send_two();
}

static void test_completion_ex_set_then_sent_is_clean(void **state)
{
    (void)state;
    run_clean(15, body_ex_forward);
    assert_int_equal(g.ex_status, STATUS_SUCCESS);
    assert_int_equal(g.ex_ran, 1);
}

static void test_completion_ex_set_then_completed_bugchecks_code_0(void **state)
{
    (void)state;
    kdpc_machine *m = run_bugcheck(16, body_ex_complete, "io.completion_ex_unsent", 0);
    assert_params(m, (uintptr_t)g.irp, (uintptr_t)ExDone, 0, 0);
    kdpc_machine_destroy(m);
}

static void test_completion_ex_with_lower_device_bugchecks_code_0(void **state)
{
    (void)state;
    kdpc_machine *m = run_bugcheck(17, body_ex_lower_device, "io.completion_ex_device", 0);
    assert_params(m, (uintptr_t)g.irp, (uintptr_t)g.low, (uintptr_t)g.dev, 0);
    kdpc_machine_destroy(m);
}

/* The checks of a completion routine name the driver's routine, not the one IoSetCompletionRoutineEx
 * sets in its place (io.completion_not_pending: P2 the routine). */
static void test_completion_ex_routine_is_named_in_reports(void **state)
{
    (void)state;
    kdpc_machine *m = run_bugcheck(18, body_ex_no_mark, "io.completion_not_pending", 0xC9);
    assert_params(m, 0x228, (uintptr_t)ExDone, (uintptr_t)g.irp, (uintptr_t)g.dev);
    kdpc_machine_destroy(m);
}

/* IoSetCompletionRoutineEx fails (low resources simulation, on for that one call). */
static NTSTATUS ex_failing(PIRP irp)
{
    kdpc_machine *m = kdpc_current_machine();
    (void)kdpc_verifier_class_set(m, "low_resources", true);
    NTSTATUS st = IoSetCompletionRoutineEx(g.dev, irp, ExDone, NULL, TRUE, TRUE, TRUE);
    (void)kdpc_verifier_class_set(m, "low_resources", false);
    return st;
}

static void body_ex_failed_sent(void)
{
    PIRP irp = IoAllocateIrp(g.dev->StackSize, FALSE);
    g.irp = irp;
    if (irp == NULL)
        return;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
    g.ex_status = ex_failing(irp);
    (void)IoCallDriver(g.dev, irp); /* broken: sent although the routine is not set */
}

static void body_ex_failed_checked(void)
{
    PIRP irp = IoAllocateIrp(g.dev->StackSize, FALSE);
    if (irp == NULL)
        return;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
    g.ex_status = ex_failing(irp);
    if (!NT_SUCCESS(g.ex_status)) { /* fixed: not sent */
        IoFreeIrp(irp);
        return;
    }
    (void)IoCallDriver(g.dev, irp);
}

static kdpc_machine *low_resources_machine(uint64_t seed)
{
    memset(&g, 0, sizeof g);
    kdpc_config cfg = kt_config(1, seed);
    cfg.low_resources_permille = 1000;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_verifier_class_set(m, "low_resources", false), KDPC_OK);
    return m;
}

static void test_sending_after_failed_completion_ex_bugchecks_c4_4100f(void **state)
{
    (void)state;
    kdpc_machine *m = low_resources_machine(18);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_ex_failed_sent);
    KT_ASSERT_BUGCHECK(m, st, "io.completion_ex_unchecked", 0xC4);
    assert_int_equal(g.ex_status, STATUS_INSUFFICIENT_RESOURCES);
    assert_params(m, 0x0004100F, (uintptr_t)g.irp, (uintptr_t)g.dev, 0);
    kdpc_machine_destroy(m);
}

static void test_failed_completion_ex_checked_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = low_resources_machine(19);
    assert_int_equal(kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_ex_failed_checked),
                     KDPC_OK);
    assert_int_equal(g.ex_status, STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_of_built_irp_bugchecks_c9_311),
        cmocka_unit_test(test_reuse_of_own_irp_is_clean),
        cmocka_unit_test(test_reuse_while_at_lower_driver_bugchecks_c9_310),
        cmocka_unit_test(test_free_while_at_lower_driver_bugchecks_c9_20b),
        cmocka_unit_test(test_free_after_completion_is_clean),
        cmocka_unit_test(test_allocated_irp_sent_without_completion_routine_warns),
        cmocka_unit_test(test_allocated_irp_sent_with_completion_routine_is_clean),
        cmocka_unit_test(test_devctl_null_buffer_bugchecks_c9_09),
        cmocka_unit_test(test_fsd_null_buffer_bugchecks_c9_08),
        cmocka_unit_test(test_devctl_with_buffer_is_clean),
        cmocka_unit_test(test_driver_setting_build_event_bugchecks_code_0),
        cmocka_unit_test(test_build_event_left_to_io_manager_is_clean),
        cmocka_unit_test(test_completion_ex_set_then_sent_is_clean),
        cmocka_unit_test(test_completion_ex_set_then_completed_bugchecks_code_0),
        cmocka_unit_test(test_completion_ex_with_lower_device_bugchecks_code_0),
        cmocka_unit_test(test_completion_ex_routine_is_named_in_reports),
        cmocka_unit_test(test_reuse_from_completion_routine_is_clean),
        cmocka_unit_test(test_sending_after_failed_completion_ex_bugchecks_c4_4100f),
        cmocka_unit_test(test_failed_completion_ex_checked_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
