/* SPDX-License-Identifier: MIT */
/*
 * test_irp.c - IRPs and their stack locations, IoCallDriver, completion
 * routines, pending propagation, the IRP builders and MDLs
 * (docs/facts/io.md 4.1, 4.13-4.19, 4.26, 4.27; include/kdpc/wdm/irp.h).
 *
 * Two drivers: "irplow" owns device L (the lowest driver, completes
 * synchronously or from a DPC), "irpup" owns device U attached on top of L
 * (skips or copies its stack location). The test body runs as the run's
 * entry thread at PASSIVE_LEVEL and records what it sees in g; asserts
 * come after the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define IOCTL_BUF  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_OUTD CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)
#define IOCTL_NEI  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803, METHOD_NEITHER, FILE_ANY_ACCESS)

#ifndef STATUS_CONTINUE_COMPLETION
#define STATUS_CONTINUE_COMPLETION STATUS_SUCCESS
#endif

#define SENTINEL_STATUS ((NTSTATUS)0x12345678L)
#define SENTINEL_INFO   ((ULONG_PTR)0xDEADBEEFu)

typedef enum LOW_MODE {
    LOW_COMPLETE = 0, /* complete inside the dispatch routine */
    LOW_PEND_DPC = 1  /* IoMarkIrpPending, complete later from a DPC */
} LOW_MODE;

typedef enum UP_MODE {
    UP_SKIP = 0,     /* IoSkipCurrentIrpStackLocation, no completion routine */
    UP_COPY = 1,     /* copy + completion routine that propagates pending */
    UP_COPY_SMPR = 2 /* copy + routine returning STATUS_MORE_PROCESSING_REQUIRED,
                        then complete the IRP again itself */
} UP_MODE;

static struct {
    PDRIVER_OBJECT low_drv, up_drv;
    PDEVICE_OBJECT L, U;
    PDEVICE_OBJECT attach_ret;
    CCHAR L_stack_before, U_stack_after;
    PDEVICE_OBJECT L_attached;

    LOW_MODE low_mode;
    UP_MODE up_mode;
    NTSTATUS low_status;    /* IoStatus.Status the lower driver completes with */
    ULONG_PTR low_info;     /* IoStatus.Information */
    ULONG low_write;        /* bytes of output the lower driver writes */
    NTSTATUS low_return;    /* what the lower dispatch returns when completing at once */
    BOOLEAN low_return_set; /* use low_return instead of low_status */

    /* seen by the lower dispatch routine */
    LONG low_calls;
    int low_cur_loc;
    PIO_STACK_LOCATION low_sl;
    PDEVICE_OBJECT low_sl_dev;
    UCHAR low_major;
    ULONG low_code, low_inlen, low_outlen;
    ULONG low_rw_len;
    LONGLONG low_rw_offset;
    PVOID low_sysbuf, low_userbuf, low_type3, low_mdl_va;
    ULONG low_mdl_count;
    PMDL low_mdl;
    UCHAR low_input[32];
    KIRQL low_irql;

    /* the DPC completion */
    KDPC dpc;
    PIRP pending_irp;
    KIRQL dpc_irql;

    /* seen by the upper dispatch / completion routine */
    LONG up_calls;
    int up_cur_loc_after_call;
    LONG up_owner_calls_before_recomplete;
    LONG up_cr_calls;
    PDEVICE_OBJECT up_cr_dev;
    BOOLEAN up_cr_pending;
    KIRQL up_cr_irql;
    int up_cr_cur_loc;
    NTSTATUS up_dispatch_ret;

    /* the IRP owner's completion routine */
    LONG owner_calls;
    PDEVICE_OBJECT owner_dev;
    BOOLEAN owner_pending;
    KIRQL owner_irql;
    int owner_cur_loc;
    NTSTATUS owner_status;
    ULONG_PTR owner_info;
    BOOLEAN owner_free; /* IoFreeIrp (and the MDL) inside the routine */
    KEVENT done;

    /* completion routine under test (invoke flags) */
    LONG test_cr_calls;

    /* values the body records */
    PIRP irp;
    int i_type, i_stackcount, i_curloc, i_curloc2;
    PIO_STACK_LOCATION i_csl, i_first;
    BOOLEAN i_cancel, i_pending;
    PVOID i_cancel_routine, i_mdl;
    NTSTATUS call_ret;
    NTSTATUS wait_ret;
    LONG event_state;
    IO_STATUS_BLOCK iosb;
    UCHAR in[16];
    UCHAR out[32];
    PMDL mdl, mdl2;
    PVOID mdl_startva, mdl_va, mdl_sysva;
    ULONG mdl_offset, mdl_count;
    CSHORT mdl_flags;
    PMDL irp_mdl, irp_mdl_next;
    LONG reached_end;
} g;

static unsigned char pages[4 * PAGE_SIZE] __attribute__((aligned(4096)));

static UCHAR pattern(ULONG i)
{
    return (UCHAR)(0xA0u + i);
}

/* ------------------------------------------------------------------ */
/* The lower driver                                                     */

static PVOID low_output_buffer(PDEVICE_OBJECT Dev, PIRP Irp, PIO_STACK_LOCATION sl)
{
    if (sl->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
        switch (METHOD_FROM_CTL_CODE(sl->Parameters.DeviceIoControl.IoControlCode)) {
        case METHOD_BUFFERED:
            return Irp->AssociatedIrp.SystemBuffer;
        case METHOD_IN_DIRECT:
        case METHOD_OUT_DIRECT:
            return Irp->MdlAddress
                       ? MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority)
                       : NULL;
        default:
            return Irp->UserBuffer;
        }
    }
    if (Dev->Flags & DO_BUFFERED_IO)
        return Irp->AssociatedIrp.SystemBuffer;
    if (Dev->Flags & DO_DIRECT_IO)
        return Irp->MdlAddress ? MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority)
                               : NULL;
    return Irp->UserBuffer;
}

static void low_finish(PDEVICE_OBJECT Dev, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    if (g.low_write != 0 && sl->MajorFunction != IRP_MJ_WRITE) {
        PUCHAR out = low_output_buffer(Dev, Irp, sl);
        if (out != NULL)
            for (ULONG i = 0; i < g.low_write; i++)
                out[i] = pattern(i);
    }
    Irp->IoStatus.Status = g.low_status;
    Irp->IoStatus.Information = g.low_info;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static void LowDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    g.dpc_irql = KeGetCurrentIrql();
    PIRP irp = g.pending_irp;
    g.pending_irp = NULL;
    low_finish(Context, irp);
}

static NTSTATUS LowDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    g.low_calls++;
    g.low_irql = KeGetCurrentIrql();
    g.low_cur_loc = Irp->CurrentLocation;
    g.low_sl = sl;
    g.low_sl_dev = sl->DeviceObject;
    g.low_major = sl->MajorFunction;
    g.low_sysbuf = Irp->AssociatedIrp.SystemBuffer;
    g.low_userbuf = Irp->UserBuffer;
    g.low_mdl = Irp->MdlAddress;
    if (Irp->MdlAddress != NULL) {
        g.low_mdl_va = MmGetMdlVirtualAddress(Irp->MdlAddress);
        g.low_mdl_count = MmGetMdlByteCount(Irp->MdlAddress);
    }
    if (sl->MajorFunction == IRP_MJ_DEVICE_CONTROL ||
        sl->MajorFunction == IRP_MJ_INTERNAL_DEVICE_CONTROL) {
        g.low_code = sl->Parameters.DeviceIoControl.IoControlCode;
        g.low_inlen = sl->Parameters.DeviceIoControl.InputBufferLength;
        g.low_outlen = sl->Parameters.DeviceIoControl.OutputBufferLength;
        g.low_type3 = sl->Parameters.DeviceIoControl.Type3InputBuffer;
        ULONG method = METHOD_FROM_CTL_CODE(g.low_code);
        PVOID in = method == METHOD_NEITHER ? g.low_type3 : Irp->AssociatedIrp.SystemBuffer;
        if (in != NULL && g.low_inlen <= sizeof g.low_input)
            memcpy(g.low_input, in, g.low_inlen);
    } else if (sl->MajorFunction == IRP_MJ_READ || sl->MajorFunction == IRP_MJ_WRITE) {
        g.low_rw_len = sl->Parameters.Read.Length;
        g.low_rw_offset = sl->Parameters.Read.ByteOffset.QuadPart;
        if (sl->MajorFunction == IRP_MJ_WRITE) {
            PVOID in = (Dev->Flags & DO_BUFFERED_IO) ? Irp->AssociatedIrp.SystemBuffer
                       : Irp->MdlAddress
                           ? MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority)
                           : Irp->UserBuffer;
            if (in != NULL && g.low_rw_len <= sizeof g.low_input)
                memcpy(g.low_input, in, g.low_rw_len);
        }
    }
    if (g.low_mode == LOW_PEND_DPC) {
        IoMarkIrpPending(Irp); /* 4.18: before queuing */
        g.pending_irp = Irp;
        (void)KeInsertQueueDpc(&g.dpc, NULL, NULL);
        return STATUS_PENDING;
    }
    NTSTATUS ret = g.low_return_set ? g.low_return : g.low_status;
    low_finish(Dev, Irp);
    return ret;
}

static void LowUnload(PDRIVER_OBJECT Drv)
{
    while (Drv->DeviceObject != NULL)
        IoDeleteDevice(Drv->DeviceObject);
}

static NTSTATUS LowEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Drv->MajorFunction[i] = LowDispatch;
    Drv->DriverUnload = LowUnload;
    NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.L);
    if (NT_SUCCESS(st))
        g.L->Flags |= DO_BUFFERED_IO;
    return st;
}

/* ------------------------------------------------------------------ */
/* The upper (filter) driver                                            */

static NTSTATUS UpCompletion(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Ctx;
    g.up_cr_calls++;
    g.up_cr_dev = Dev;
    g.up_cr_pending = Irp->PendingReturned;
    g.up_cr_irql = KeGetCurrentIrql();
    g.up_cr_cur_loc = Irp->CurrentLocation;
    if (g.up_mode == UP_COPY_SMPR)
        return STATUS_MORE_PROCESSING_REQUIRED;
    if (Irp->PendingReturned)
        IoMarkIrpPending(Irp); /* 4.18 */
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS UpDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    g.up_calls++;
    if (g.up_mode == UP_SKIP) {
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(g.attach_ret, Irp);
    }
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, UpCompletion, NULL, TRUE, TRUE, TRUE);
    NTSTATUS st = IoCallDriver(g.attach_ret, Irp);
    if (g.up_mode == UP_COPY_SMPR) {
        /* the routine stopped the walk: the IRP is ours again, at our location (4.14.3) */
        g.up_cur_loc_after_call = Irp->CurrentLocation;
        g.up_owner_calls_before_recomplete = g.owner_calls;
        st = Irp->IoStatus.Status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
    }
    return st;
}

static void UpUnload(PDRIVER_OBJECT Drv)
{
    if (g.attach_ret != NULL)
        IoDetachDevice(g.attach_ret);
    while (Drv->DeviceObject != NULL)
        IoDeleteDevice(Drv->DeviceObject);
}

static NTSTATUS UpEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Drv->MajorFunction[i] = UpDispatch;
    Drv->DriverUnload = UpUnload;
    NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.U);
    if (!NT_SUCCESS(st))
        return st;
    g.L_stack_before = g.L->StackSize;
    g.attach_ret = IoAttachDeviceToDeviceStack(g.U, g.L);
    g.U_stack_after = g.U->StackSize;
    g.L_attached = g.L->AttachedDevice;
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The IRP owner                                                        */

static NTSTATUS OwnerCompletion(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Ctx;
    g.owner_calls++;
    g.owner_dev = Dev;
    g.owner_pending = Irp->PendingReturned;
    g.owner_irql = KeGetCurrentIrql();
    g.owner_cur_loc = Irp->CurrentLocation;
    g.owner_status = Irp->IoStatus.Status;
    g.owner_info = Irp->IoStatus.Information;
    if (g.owner_free) {
        if (Irp->MdlAddress != NULL) {
            MmUnlockPages(Irp->MdlAddress);
            IoFreeMdl(Irp->MdlAddress);
            Irp->MdlAddress = NULL;
        }
        IoFreeIrp(Irp);
    }
    KeSetEvent(&g.done, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void load_drivers(BOOLEAN with_upper)
{
    kdpc_machine *m = kdpc_current_machine();
    KeInitializeEvent(&g.done, NotificationEvent, FALSE);
    (void)kdpc_driver_load(m, "irplow", LowEntry, &g.low_drv);
    KeInitializeDpc(&g.dpc, LowDpc, g.L);
    if (with_upper)
        (void)kdpc_driver_load(m, "irpup", UpEntry, &g.up_drv);
}

static void unload_drivers(void)
{
    if (g.up_drv != NULL)
        (void)kdpc_driver_unload(g.up_drv);
    if (g.low_drv != NULL)
        (void)kdpc_driver_unload(g.low_drv);
}

static NTSTATUS wait_done(PKEVENT e)
{
    return KeWaitForSingleObject(e, Executive, KernelMode, FALSE, NULL);
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    body();
    g.reached_end = 1;
}

static kdpc_machine *run(BODY *body, unsigned cpus, uint64_t seed)
{
    kdpc_machine *m = kt_machine(cpus, seed);
    KDPC_NAME(m, LowDpc);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(g.reached_end, 1);
    return m;
}

static void reset(void)
{
    memset(&g, 0, sizeof g);
    g.low_status = STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* 4.1: a fresh IRP                                                     */

static void body_allocate(void)
{
    PIRP irp = IoAllocateIrp(3, FALSE);
    if (irp == NULL)
        return;
    g.irp = irp;
    g.i_type = irp->Type;
    g.i_stackcount = irp->StackCount;
    g.i_curloc = irp->CurrentLocation;
    g.i_csl = IoGetCurrentIrpStackLocation(irp);
    g.i_first = (PIO_STACK_LOCATION)(void *)(irp + 1);
    g.i_cancel = irp->Cancel;
    g.i_pending = irp->PendingReturned;
    g.i_cancel_routine = (PVOID)(uintptr_t)irp->CancelRoutine;
    g.i_mdl = irp->MdlAddress;
    IoFreeIrp(irp);
}

static void test_allocate_irp_sets_type_stack_count_and_location_past_the_last(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_allocate, 1, 1);
    assert_non_null(g.irp);
    assert_int_equal(g.i_type, IO_TYPE_IRP); /* io 4.1: Type 6 */
    assert_int_equal(g.i_type, 6);
    assert_int_equal(g.i_stackcount, 3);
    assert_int_equal(g.i_curloc, 4);          /* N + 1 */
    assert_ptr_equal(g.i_csl, g.i_first + 3); /* one past the last location */
    assert_false(g.i_cancel);
    assert_false(g.i_pending);
    assert_null(g.i_cancel_routine);
    assert_null(g.i_mdl);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoCallDriver and the completion walk on one device                  */

static void body_call_one(void)
{
    load_drivers(FALSE);
    PIRP irp = IoAllocateIrp(1, FALSE);
    g.irp = irp;
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
    g.i_first = (PIO_STACK_LOCATION)(void *)(irp + 1);
    next->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    next->Parameters.DeviceIoControl.IoControlCode = 0x1234;
    IoSetCompletionRoutine(irp, OwnerCompletion, NULL, TRUE, TRUE, TRUE);
    g.call_ret = IoCallDriver(g.L, irp);
    g.i_curloc = irp->CurrentLocation; /* stopped by the owner's routine */
    IoFreeIrp(irp);
    unload_drivers();
}

static void test_call_driver_moves_to_next_location_and_returns_dispatch_status(void **state)
{
    (void)state;
    reset();
    /* an unusual value: IoCallDriver passes it through (completed with it too: a dispatch
     * routine returns the status it completed its IRP with, io.status_mismatch) */
    g.low_status = (NTSTATUS)0x40001234L;
    g.low_return = (NTSTATUS)0x40001234L;
    g.low_return_set = TRUE;
    kdpc_machine *m = run(body_call_one, 1, 2);
    assert_int_equal(g.low_calls, 1);
    assert_int_equal(g.low_cur_loc, 1);    /* 4.1: decremented from 2 */
    assert_ptr_equal(g.low_sl, g.i_first); /* the only location */
    assert_ptr_equal(g.low_sl_dev, g.L);   /* the location's DeviceObject */
    assert_int_equal(g.low_major, IRP_MJ_DEVICE_CONTROL);
    assert_int_equal(g.low_code, 0x1234);
    assert_int_equal(g.low_irql, PASSIVE_LEVEL);
    assert_int_equal(g.call_ret, 0x40001234L); /* the dispatch routine's return value */
    assert_int_equal(g.owner_calls, 1);
    assert_null(g.owner_dev); /* the IRP's creator has no device at its location */
    assert_int_equal(g.owner_status, 0x40001234L);
    assert_int_equal(g.owner_cur_loc, 2); /* StackCount + 1: stopped there (4.14.3) */
    assert_int_equal(g.i_curloc, 2);
    kdpc_machine_destroy(m);
}

static void body_full_completion(void)
{
    load_drivers(FALSE);
    PIRP irp = IoAllocateIrp(1, FALSE);
    g.irp = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    g.call_ret = IoCallDriver(g.L, irp); /* no completion routine anywhere */
    g.i_stackcount = irp->StackCount;
    g.i_curloc = irp->CurrentLocation;
    IoFreeIrp(irp);
    unload_drivers();
}

static void test_full_completion_leaves_current_location_at_stack_count_plus_two(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_full_completion, 1, 3);
    assert_int_equal(g.low_calls, 1);
    assert_int_equal(g.call_ret, STATUS_SUCCESS);
    assert_int_equal(g.i_curloc, g.i_stackcount + 2); /* 4.15 */
    assert_int_equal(g.i_curloc, 3);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Two-driver stacks                                                    */

static void body_stack(void)
{
    load_drivers(TRUE);
    PIRP irp = IoAllocateIrp(g.U->StackSize, FALSE);
    g.irp = irp;
    g.i_first = (PIO_STACK_LOCATION)(void *)(irp + 1);
    g.i_stackcount = irp->StackCount;
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
    next->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    next->Parameters.DeviceIoControl.IoControlCode = 0xBEEF;
    next->Parameters.DeviceIoControl.InputBufferLength = 7;
    IoSetCompletionRoutine(irp, OwnerCompletion, NULL, TRUE, TRUE, TRUE);
    g.call_ret = IoCallDriver(g.U, irp);
    if (g.call_ret == STATUS_PENDING)
        g.wait_ret = wait_done(&g.done);
    g.i_curloc = irp->CurrentLocation;
    IoFreeIrp(irp);
    unload_drivers();
}

static void assert_attached(void)
{
    assert_ptr_equal(g.attach_ret, g.L); /* returns the device it now sits on */
    assert_int_equal(g.U_stack_after, g.L_stack_before + 1);
    assert_int_equal(g.U_stack_after, 2);
    assert_ptr_equal(g.L_attached, g.U);
    assert_int_equal(g.i_stackcount, 2);
}

static void test_attach_returns_target_and_stack_size_grows_by_one(void **state)
{
    (void)state;
    reset();
    g.up_mode = UP_SKIP;
    kdpc_machine *m = run(body_stack, 1, 4);
    assert_attached();
    kdpc_machine_destroy(m);
}

static void test_skip_lets_lower_driver_reuse_the_upper_location(void **state)
{
    (void)state;
    reset();
    g.up_mode = UP_SKIP;
    kdpc_machine *m = run(body_stack, 1, 5);
    assert_attached();
    assert_int_equal(g.up_calls, 1);
    assert_int_equal(g.low_calls, 1);
    assert_int_equal(g.low_cur_loc, 2);        /* 3 -> 2 -> skip 3 -> 2 */
    assert_ptr_equal(g.low_sl, g.i_first + 1); /* the location the owner filled */
    assert_ptr_equal(g.low_sl_dev, g.L);       /* IoCallDriver records the lower device */
    assert_int_equal(g.low_code, 0xBEEF);
    assert_int_equal(g.low_inlen, 7);
    assert_int_equal(g.call_ret, STATUS_SUCCESS);
    assert_int_equal(g.owner_calls, 1);
    assert_int_equal(g.up_cr_calls, 0);
    assert_int_equal(g.i_curloc, 3); /* stopped by the owner's routine at StackCount + 1 */
    kdpc_machine_destroy(m);
}

static void test_copy_gives_lower_driver_its_own_location_with_same_parameters(void **state)
{
    (void)state;
    reset();
    g.up_mode = UP_COPY;
    kdpc_machine *m = run(body_stack, 1, 6);
    assert_attached();
    assert_int_equal(g.low_cur_loc, 1);
    assert_ptr_equal(g.low_sl, g.i_first); /* the lowest location */
    assert_ptr_equal(g.low_sl_dev, g.L);
    assert_int_equal(g.low_major, IRP_MJ_DEVICE_CONTROL);
    assert_int_equal(g.low_code, 0xBEEF);
    assert_int_equal(g.low_inlen, 7);
    /* the upper routine runs for the upper location, with the upper device (4.14) */
    assert_int_equal(g.up_cr_calls, 1);
    assert_ptr_equal(g.up_cr_dev, g.U);
    assert_int_equal(g.up_cr_cur_loc, 2);
    assert_false(g.up_cr_pending); /* completed synchronously: not pending */
    assert_int_equal(g.up_cr_irql, PASSIVE_LEVEL);
    assert_int_equal(g.owner_calls, 1);
    assert_false(g.owner_pending);
    assert_int_equal(g.call_ret, STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

static void test_completion_from_dpc_runs_routines_at_dispatch_with_pending_returned(void **state)
{
    (void)state;
    reset();
    g.up_mode = UP_COPY;
    g.low_mode = LOW_PEND_DPC;
    kdpc_machine *m = run(body_stack, 1, 7);
    assert_int_equal(g.call_ret, STATUS_PENDING);
    assert_int_equal(g.wait_ret, STATUS_SUCCESS);
    assert_int_equal(g.dpc_irql, DISPATCH_LEVEL);
    assert_int_equal(g.up_cr_calls, 1);
    assert_int_equal(g.up_cr_irql, DISPATCH_LEVEL); /* the completer's IRQL (4.14) */
    assert_true(g.up_cr_pending);                   /* lower marked pending (4.14.1) */
    assert_int_equal(g.owner_calls, 1);
    assert_int_equal(g.owner_irql, DISPATCH_LEVEL);
    assert_true(g.owner_pending); /* the upper routine re-marked it (4.18) */
    kdpc_machine_destroy(m);
}

static void test_pending_mark_propagates_through_a_location_without_routine(void **state)
{
    (void)state;
    reset();
    g.up_mode = UP_SKIP;
    g.low_mode = LOW_PEND_DPC;
    kdpc_machine *m = run(body_stack, 1, 8);
    assert_int_equal(g.call_ret, STATUS_PENDING);
    assert_int_equal(g.owner_calls, 1);
    assert_true(g.owner_pending);
    assert_int_equal(g.owner_irql, DISPATCH_LEVEL);
    kdpc_machine_destroy(m);
}

static void test_more_processing_required_stops_walk_and_owner_completes_again(void **state)
{
    (void)state;
    reset();
    g.up_mode = UP_COPY_SMPR;
    kdpc_machine *m = run(body_stack, 1, 9);
    assert_int_equal(g.up_cr_calls, 1);
    assert_int_equal(g.up_cr_cur_loc, 2);
    /* 4.14.3: the walk stopped at the upper location; the owner's routine did not run yet */
    assert_int_equal(g.up_cur_loc_after_call, 2);
    assert_int_equal(g.up_owner_calls_before_recomplete, 0);
    /* the second IoCompleteRequest went on from there */
    assert_int_equal(g.owner_calls, 1);
    assert_int_equal(g.owner_cur_loc, 3);
    assert_int_equal(g.up_cr_calls, 1); /* not called again */
    assert_int_equal(g.call_ret, STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 4.14.2: InvokeOnSuccess / Error / Cancel                             */

static BOOLEAN inv_s, inv_e, inv_c, inv_cancel;

static NTSTATUS TestCompletion(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Irp;
    (void)Ctx;
    g.test_cr_calls++;
    return STATUS_CONTINUE_COMPLETION;
}

static void body_invoke(void)
{
    load_drivers(FALSE);
    PIRP irp = IoAllocateIrp(2, FALSE);
    g.irp = irp;
    /* location 1 (ours): a catch-all that stops the walk */
    IoSetCompletionRoutine(irp, OwnerCompletion, NULL, TRUE, TRUE, TRUE);
    IoSetNextIrpStackLocation(irp);
    /* location 0 (the lower driver's): the routine under test */
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    IoSetCompletionRoutine(irp, TestCompletion, NULL, inv_s, inv_e, inv_c);
    if (inv_cancel)
        (void)IoCancelIrp(irp); /* no cancel routine: only sets Irp->Cancel */
    g.call_ret = IoCallDriver(g.L, irp);
    IoFreeIrp(irp);
    unload_drivers();
}

static LONG invoke_case(BOOLEAN s, BOOLEAN e, BOOLEAN c, NTSTATUS status, BOOLEAN cancelled)
{
    reset();
    inv_s = s;
    inv_e = e;
    inv_c = c;
    inv_cancel = cancelled;
    g.low_status = status;
    kdpc_machine *m = run(body_invoke, 1, 10);
    assert_int_equal(g.low_calls, 1);
    assert_int_equal(g.owner_calls, 1);
    kdpc_machine_destroy(m);
    return g.test_cr_calls;
}

static void test_completion_routine_called_iff_invoke_condition_matches(void **state)
{
    (void)state;
    /* 4.14.2: (NT_SUCCESS && OnSuccess) || (!NT_SUCCESS && OnError) || (Cancel && OnCancel) */
    assert_int_equal(invoke_case(TRUE, FALSE, FALSE, STATUS_SUCCESS, FALSE), 1);
    assert_int_equal(invoke_case(TRUE, FALSE, FALSE, STATUS_UNSUCCESSFUL, FALSE), 0);
    assert_int_equal(invoke_case(FALSE, TRUE, FALSE, STATUS_UNSUCCESSFUL, FALSE), 1);
    assert_int_equal(invoke_case(FALSE, TRUE, FALSE, STATUS_SUCCESS, FALSE), 0);
    /* a warning is not NT_SUCCESS: OnError applies, OnSuccess does not */
    assert_int_equal(invoke_case(FALSE, TRUE, FALSE, STATUS_BUFFER_OVERFLOW, FALSE), 1);
    assert_int_equal(invoke_case(TRUE, FALSE, FALSE, STATUS_BUFFER_OVERFLOW, FALSE), 0);
    assert_int_equal(invoke_case(FALSE, FALSE, TRUE, STATUS_SUCCESS, FALSE), 0);
    assert_int_equal(invoke_case(FALSE, FALSE, TRUE, STATUS_SUCCESS, TRUE), 1);
    assert_int_equal(invoke_case(FALSE, FALSE, TRUE, STATUS_CANCELLED, TRUE), 1);
    assert_int_equal(invoke_case(FALSE, TRUE, FALSE, STATUS_CANCELLED, TRUE), 1);
    assert_int_equal(invoke_case(TRUE, FALSE, FALSE, STATUS_CANCELLED, TRUE), 0);
    assert_int_equal(invoke_case(FALSE, FALSE, FALSE, STATUS_CANCELLED, TRUE), 0); /* [W] */
    assert_int_equal(invoke_case(FALSE, FALSE, FALSE, STATUS_SUCCESS, FALSE), 0);
    assert_int_equal(invoke_case(TRUE, TRUE, TRUE, STATUS_UNSUCCESSFUL, FALSE), 1);
}

/* ------------------------------------------------------------------ */
/* IoBuildDeviceIoControlRequest (4.19, 4.26, 4.27)                     */

static ULONG ioctl_code;
static ULONG ioctl_outlen;

static void body_ioctl(void)
{
    load_drivers(FALSE);
    for (ULONG i = 0; i < sizeof g.in; i++)
        g.in[i] = (UCHAR)(0x10u + i);
    memset(g.out, 0xEE, sizeof g.out);
    g.iosb.Status = SENTINEL_STATUS;
    g.iosb.Information = SENTINEL_INFO;
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IoBuildDeviceIoControlRequest(ioctl_code, g.L, g.in, 8, g.out, ioctl_outlen, FALSE,
                                             &ev, &g.iosb);
    g.irp = irp;
    if (irp == NULL)
        return;
    g.call_ret = IoCallDriver(g.L, irp);
    if (g.call_ret == STATUS_PENDING)
        g.wait_ret = wait_done(&ev);
    g.event_state = KeReadStateEvent(&ev);
    unload_drivers();
}

static kdpc_machine *ioctl_run(ULONG code, ULONG outlen, LOW_MODE mode, NTSTATUS status,
                               ULONG_PTR info, ULONG write, uint64_t seed)
{
    reset();
    ioctl_code = code;
    ioctl_outlen = outlen;
    g.low_mode = mode;
    g.low_status = status;
    g.low_info = info;
    g.low_write = write;
    return run(body_ioctl, 1, seed);
}

static void assert_input_seen(void)
{
    assert_int_equal(g.low_inlen, 8);
    for (ULONG i = 0; i < 8; i++)
        assert_int_equal(g.low_input[i], 0x10u + i);
}

static void assert_out_copied(ULONG n)
{
    for (ULONG i = 0; i < n; i++)
        assert_int_equal(g.out[i], pattern(i));
    for (ULONG i = n; i < sizeof g.out; i++)
        assert_int_equal(g.out[i], 0xEE);
}

static void test_ioctl_buffered_copies_input_in_and_information_bytes_out(void **state)
{
    (void)state;
    kdpc_machine *m = ioctl_run(IOCTL_BUF, 16, LOW_COMPLETE, STATUS_SUCCESS, 12, 16, 20);
    assert_non_null(g.irp);
    assert_int_equal(g.low_major, IRP_MJ_DEVICE_CONTROL);
    assert_int_equal(g.low_code, IOCTL_BUF);
    assert_int_equal(g.low_outlen, 16);
    assert_non_null(g.low_sysbuf); /* 4.27: one system buffer */
    assert_ptr_not_equal(g.low_sysbuf, g.in);
    assert_ptr_not_equal(g.low_sysbuf, g.out);
    assert_input_seen(); /* copied in before dispatch (4.26) */
    assert_int_equal(g.call_ret, STATUS_SUCCESS);
    assert_int_equal(g.iosb.Status, STATUS_SUCCESS);
    assert_int_equal(g.iosb.Information, 12);
    assert_out_copied(12); /* copy length = Information (4.19) */
    assert_int_equal(g.event_state, 1);
    kdpc_machine_destroy(m);
}

static void test_ioctl_buffered_error_not_pending_copies_nothing_and_leaves_iosb(void **state)
{
    (void)state;
    kdpc_machine *m = ioctl_run(IOCTL_BUF, 16, LOW_COMPLETE, STATUS_INVALID_PARAMETER, 12, 16, 21);
    assert_int_equal(g.low_calls, 1);
    assert_int_equal(g.call_ret, STATUS_INVALID_PARAMETER); /* the dispatch routine's value */
    assert_int_equal(g.iosb.Status, SENTINEL_STATUS);       /* 4.19: not written */
    assert_int_equal(g.iosb.Information, SENTINEL_INFO);
    assert_out_copied(0); /* not copied */
    kdpc_machine_destroy(m);
}

static void test_ioctl_buffered_warning_still_copies_and_writes_iosb(void **state)
{
    (void)state;
    kdpc_machine *m = ioctl_run(IOCTL_BUF, 16, LOW_COMPLETE, STATUS_BUFFER_OVERFLOW, 16, 16, 22);
    assert_int_equal(g.call_ret, STATUS_BUFFER_OVERFLOW);
    assert_int_equal(g.iosb.Status, STATUS_BUFFER_OVERFLOW); /* 4.19: warnings still copy */
    assert_int_equal(g.iosb.Information, 16);
    assert_out_copied(16);
    assert_int_equal(g.event_state, 1);
    kdpc_machine_destroy(m);
}

static void test_ioctl_completed_later_from_dpc_signals_event_and_copies(void **state)
{
    (void)state;
    kdpc_machine *m = ioctl_run(IOCTL_BUF, 16, LOW_PEND_DPC, STATUS_SUCCESS, 10, 16, 23);
    assert_int_equal(g.call_ret, STATUS_PENDING);
    assert_int_equal(g.wait_ret, STATUS_SUCCESS);
    assert_int_equal(g.dpc_irql, DISPATCH_LEVEL);
    assert_input_seen();
    assert_int_equal(g.iosb.Status, STATUS_SUCCESS);
    assert_int_equal(g.iosb.Information, 10);
    assert_out_copied(10);
    assert_int_equal(g.event_state, 1);
    kdpc_machine_destroy(m);
}

static void test_ioctl_pending_error_writes_iosb_and_signals(void **state)
{
    (void)state;
    kdpc_machine *m = ioctl_run(IOCTL_BUF, 16, LOW_PEND_DPC, STATUS_IO_DEVICE_ERROR, 0, 0, 24);
    assert_int_equal(g.call_ret, STATUS_PENDING);
    assert_int_equal(g.wait_ret, STATUS_SUCCESS);
    assert_int_equal(g.iosb.Status, STATUS_IO_DEVICE_ERROR); /* 4.19: pending: always written */
    assert_int_equal(g.iosb.Information, 0);
    assert_int_equal(g.event_state, 1);
    kdpc_machine_destroy(m);
}

static void test_ioctl_out_direct_mdl_describes_caller_output_buffer(void **state)
{
    (void)state;
    kdpc_machine *m = ioctl_run(IOCTL_OUTD, 20, LOW_COMPLETE, STATUS_SUCCESS, 20, 20, 25);
    assert_int_equal(g.low_outlen, 20);
    assert_non_null(g.low_sysbuf); /* input still buffered (4.27) */
    assert_ptr_not_equal(g.low_sysbuf, g.in);
    assert_input_seen();
    assert_non_null(g.low_mdl);
    assert_ptr_equal(g.low_mdl_va, g.out);
    assert_int_equal(g.low_mdl_count, 20);
    assert_int_equal(g.call_ret, STATUS_SUCCESS);
    assert_int_equal(g.iosb.Information, 20);
    assert_out_copied(20); /* written through MmGetSystemAddressForMdlSafe */
    kdpc_machine_destroy(m);
}

static void test_ioctl_neither_passes_caller_pointers(void **state)
{
    (void)state;
    kdpc_machine *m = ioctl_run(IOCTL_NEI, 16, LOW_COMPLETE, STATUS_SUCCESS, 4, 4, 26);
    assert_ptr_equal(g.low_type3, g.in); /* 4.27 */
    assert_ptr_equal(g.low_userbuf, g.out);
    assert_input_seen();
    assert_int_equal(g.iosb.Status, STATUS_SUCCESS);
    assert_int_equal(g.iosb.Information, 4);
    assert_out_copied(4);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoBuildSynchronousFsdRequest / IoBuildAsynchronousFsdRequest         */

static ULONG fsd_major;
static ULONG fsd_flags;

static void body_fsd(void)
{
    load_drivers(FALSE);
    g.L->Flags = (g.L->Flags & ~(ULONG)(DO_BUFFERED_IO | DO_DIRECT_IO)) | fsd_flags;
    for (ULONG i = 0; i < sizeof g.out; i++)
        g.out[i] = fsd_major == IRP_MJ_WRITE ? (UCHAR)(0x30u + i) : 0xEE;
    g.iosb.Status = SENTINEL_STATUS;
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    LARGE_INTEGER off;
    off.QuadPart = 4096;
    PIRP irp = IoBuildSynchronousFsdRequest(fsd_major, g.L, g.out, 24, &off, &ev, &g.iosb);
    g.irp = irp;
    if (irp == NULL)
        return;
    g.call_ret = IoCallDriver(g.L, irp);
    if (g.call_ret == STATUS_PENDING)
        g.wait_ret = wait_done(&ev);
    g.event_state = KeReadStateEvent(&ev);
    unload_drivers();
}

static kdpc_machine *fsd_run(ULONG major, ULONG flags, LOW_MODE mode, uint64_t seed)
{
    reset();
    fsd_major = major;
    fsd_flags = flags;
    g.low_mode = mode;
    g.low_info = 24;
    g.low_write = 24;
    return run(body_fsd, 1, seed);
}

static void test_sync_fsd_read_buffered_copies_out_at_completion(void **state)
{
    (void)state;
    kdpc_machine *m = fsd_run(IRP_MJ_READ, DO_BUFFERED_IO, LOW_PEND_DPC, 30);
    assert_int_equal(g.low_major, IRP_MJ_READ);
    assert_int_equal(g.low_rw_len, 24);
    assert_int_equal(g.low_rw_offset, 4096);
    assert_non_null(g.low_sysbuf);
    assert_ptr_not_equal(g.low_sysbuf, g.out);
    assert_int_equal(g.call_ret, STATUS_PENDING);
    assert_int_equal(g.iosb.Status, STATUS_SUCCESS);
    assert_int_equal(g.iosb.Information, 24);
    assert_out_copied(24); /* 4.26: read data copied out at completion */
    assert_int_equal(g.event_state, 1);
    kdpc_machine_destroy(m);
}

static void test_sync_fsd_write_buffered_copies_in_before_dispatch(void **state)
{
    (void)state;
    kdpc_machine *m = fsd_run(IRP_MJ_WRITE, DO_BUFFERED_IO, LOW_COMPLETE, 31);
    assert_int_equal(g.low_major, IRP_MJ_WRITE);
    assert_non_null(g.low_sysbuf);
    assert_ptr_not_equal(g.low_sysbuf, g.out);
    for (ULONG i = 0; i < 24; i++)
        assert_int_equal(g.low_input[i], 0x30u + i);
    assert_int_equal(g.iosb.Status, STATUS_SUCCESS);
    assert_int_equal(g.iosb.Information, 24);
    kdpc_machine_destroy(m);
}

static void test_sync_fsd_read_direct_writes_land_in_caller_buffer(void **state)
{
    (void)state;
    kdpc_machine *m = fsd_run(IRP_MJ_READ, DO_DIRECT_IO, LOW_PEND_DPC, 32);
    assert_non_null(g.low_mdl);
    assert_ptr_equal(g.low_mdl_va, g.out);
    assert_int_equal(g.low_mdl_count, 24);
    assert_int_equal(g.iosb.Status, STATUS_SUCCESS);
    assert_out_copied(24);
    kdpc_machine_destroy(m);
}

static void test_sync_fsd_write_direct_mdl_shows_caller_data(void **state)
{
    (void)state;
    kdpc_machine *m = fsd_run(IRP_MJ_WRITE, DO_DIRECT_IO, LOW_COMPLETE, 33);
    assert_non_null(g.low_mdl);
    assert_ptr_equal(g.low_mdl_va, g.out);
    for (ULONG i = 0; i < 24; i++)
        assert_int_equal(g.low_input[i], 0x30u + i);
    assert_int_equal(g.iosb.Status, STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

static void body_async(void)
{
    load_drivers(FALSE);
    g.L->Flags = (g.L->Flags & ~(ULONG)DO_BUFFERED_IO) | DO_DIRECT_IO;
    for (ULONG i = 0; i < sizeof g.out; i++)
        g.out[i] = (UCHAR)(0x30u + i);
    LARGE_INTEGER off;
    off.QuadPart = 0;
    PIRP irp = IoBuildAsynchronousFsdRequest(IRP_MJ_WRITE, g.L, g.out, 16, &off, &g.iosb);
    g.irp = irp;
    if (irp == NULL)
        return;
    g.owner_free = TRUE;
    IoSetCompletionRoutine(irp, OwnerCompletion, NULL, TRUE, TRUE, TRUE);
    g.call_ret = IoCallDriver(g.L, irp);
    g.wait_ret = wait_done(&g.done);
    unload_drivers();
}

static void test_async_fsd_routine_frees_irp_and_stops_completion(void **state)
{
    (void)state;
    reset();
    g.low_mode = LOW_PEND_DPC;
    g.low_info = 16;
    kdpc_machine *m = run(body_async, 1, 34);
    assert_non_null(g.irp);
    assert_int_equal(g.low_major, IRP_MJ_WRITE);
    assert_int_equal(g.low_rw_len, 16);
    for (ULONG i = 0; i < 16; i++)
        assert_int_equal(g.low_input[i], 0x30u + i);
    assert_int_equal(g.call_ret, STATUS_PENDING);
    assert_int_equal(g.wait_ret, STATUS_SUCCESS);
    assert_int_equal(g.owner_calls, 1);
    assert_int_equal(g.owner_irql, DISPATCH_LEVEL);
    assert_true(g.owner_pending);
    assert_int_equal(g.owner_status, STATUS_SUCCESS);
    assert_int_equal(g.owner_info, 16);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoReuseIrp                                                           */

static void body_reuse(void)
{
    load_drivers(FALSE);
    PIRP irp = IoAllocateIrp(2, FALSE);
    g.irp = irp;
    g.i_first = (PIO_STACK_LOCATION)(void *)(irp + 1);
    IoSetCompletionRoutine(irp, OwnerCompletion, NULL, TRUE, TRUE, TRUE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    irp->Cancel = TRUE;
    (void)IoCallDriver(g.L, irp);
    IoReuseIrp(irp, STATUS_NOT_SUPPORTED);
    g.i_type = irp->Type;
    g.i_stackcount = irp->StackCount;
    g.i_curloc = irp->CurrentLocation;
    g.i_csl = IoGetCurrentIrpStackLocation(irp);
    g.i_cancel = irp->Cancel;
    g.i_pending = irp->PendingReturned;
    g.wait_ret = irp->IoStatus.Status; /* reused: the given status */
    /* it works for another request */
    IoSetCompletionRoutine(irp, OwnerCompletion, NULL, TRUE, TRUE, TRUE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    g.call_ret = IoCallDriver(g.L, irp);
    g.i_curloc2 = irp->CurrentLocation;
    IoFreeIrp(irp);
    unload_drivers();
}

static void test_reuse_irp_resets_location_and_sets_status(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_reuse, 1, 35);
    assert_int_equal(g.i_type, IO_TYPE_IRP);
    assert_int_equal(g.i_stackcount, 2);
    assert_int_equal(g.i_curloc, 3);
    assert_ptr_equal(g.i_csl, g.i_first + 2);
    assert_false(g.i_cancel);
    assert_false(g.i_pending);
    assert_int_equal(g.wait_ret, STATUS_NOT_SUPPORTED);
    assert_int_equal(g.low_calls, 2);
    assert_int_equal(g.owner_calls, 2);
    assert_int_equal(g.call_ret, STATUS_SUCCESS);
    assert_int_equal(g.i_curloc2, 3);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* MDLs                                                                 */

static void body_mdl(void)
{
    PVOID va = pages + PAGE_SIZE + 100;
    PMDL mdl = IoAllocateMdl(va, 5000, FALSE, FALSE, NULL);
    g.mdl = mdl;
    if (mdl == NULL)
        return;
    g.mdl_startva = mdl->StartVa;
    g.mdl_va = MmGetMdlVirtualAddress(mdl);
    g.mdl_offset = MmGetMdlByteOffset(mdl);
    g.mdl_count = MmGetMdlByteCount(mdl);
    MmBuildMdlForNonPagedPool(mdl);
    g.mdl_flags = mdl->MdlFlags;
    g.mdl_sysva = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
    IoFreeMdl(mdl);

    /* attached to an IRP: MdlAddress, then chained as a secondary buffer */
    PIRP irp = IoAllocateIrp(1, FALSE);
    g.irp = irp;
    PMDL a = IoAllocateMdl(pages, 64, FALSE, FALSE, irp);
    PMDL b = IoAllocateMdl(pages + 2 * PAGE_SIZE, 64, TRUE, FALSE, irp);
    g.mdl2 = a;
    g.irp_mdl = irp->MdlAddress;
    g.irp_mdl_next = a != NULL ? a->Next : NULL;
    g.i_mdl = b;
    irp->MdlAddress = NULL;
    if (b != NULL)
        IoFreeMdl(b);
    if (a != NULL) {
        a->Next = NULL;
        IoFreeMdl(a);
    }
    IoFreeIrp(irp);
}

static void test_mdl_page_arithmetic_and_nonpaged_mapping(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = run(body_mdl, 1, 36);
    assert_non_null(g.mdl);
    assert_ptr_equal(g.mdl_startva, pages + PAGE_SIZE); /* page aligned */
    assert_int_equal(g.mdl_offset, 100);
    assert_int_equal(g.mdl_count, 5000);
    assert_ptr_equal(g.mdl_va, pages + PAGE_SIZE + 100);
    assert_true(g.mdl_flags & MDL_SOURCE_IS_NONPAGED_POOL);
    assert_ptr_equal(g.mdl_sysva, pages + PAGE_SIZE + 100);
    assert_non_null(g.mdl2);
    assert_ptr_equal(g.irp_mdl, g.mdl2);
    assert_non_null(g.i_mdl);
    assert_ptr_equal(g.irp_mdl_next, g.i_mdl);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocate_irp_sets_type_stack_count_and_location_past_the_last),
        cmocka_unit_test(test_call_driver_moves_to_next_location_and_returns_dispatch_status),
        cmocka_unit_test(test_full_completion_leaves_current_location_at_stack_count_plus_two),
        cmocka_unit_test(test_attach_returns_target_and_stack_size_grows_by_one),
        cmocka_unit_test(test_skip_lets_lower_driver_reuse_the_upper_location),
        cmocka_unit_test(test_copy_gives_lower_driver_its_own_location_with_same_parameters),
        cmocka_unit_test(test_completion_from_dpc_runs_routines_at_dispatch_with_pending_returned),
        cmocka_unit_test(test_pending_mark_propagates_through_a_location_without_routine),
        cmocka_unit_test(test_more_processing_required_stops_walk_and_owner_completes_again),
        cmocka_unit_test(test_completion_routine_called_iff_invoke_condition_matches),
        cmocka_unit_test(test_ioctl_buffered_copies_input_in_and_information_bytes_out),
        cmocka_unit_test(test_ioctl_buffered_error_not_pending_copies_nothing_and_leaves_iosb),
        cmocka_unit_test(test_ioctl_buffered_warning_still_copies_and_writes_iosb),
        cmocka_unit_test(test_ioctl_completed_later_from_dpc_signals_event_and_copies),
        cmocka_unit_test(test_ioctl_pending_error_writes_iosb_and_signals),
        cmocka_unit_test(test_ioctl_out_direct_mdl_describes_caller_output_buffer),
        cmocka_unit_test(test_ioctl_neither_passes_caller_pointers),
        cmocka_unit_test(test_sync_fsd_read_buffered_copies_out_at_completion),
        cmocka_unit_test(test_sync_fsd_write_buffered_copies_in_before_dispatch),
        cmocka_unit_test(test_sync_fsd_read_direct_writes_land_in_caller_buffer),
        cmocka_unit_test(test_sync_fsd_write_direct_mdl_shows_caller_data),
        cmocka_unit_test(test_async_fsd_routine_frees_irp_and_stops_completion),
        cmocka_unit_test(test_reuse_irp_resets_location_and_sets_status),
        cmocka_unit_test(test_mdl_page_arithmetic_and_nonpaged_mapping),
    };
    return cmocka_run_group_tests_name("irp", tests, NULL, NULL);
}
