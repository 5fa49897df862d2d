/* SPDX-License-Identifier: MIT */
/*
 * test_io_rules.c - the io.* and errorlog.irql rules of docs/rules.md:
 *   io.double_complete   IoCompleteRequest on a completed IRP: 0x44, P1 = IRP (io 4.13, 4.15);
 *   io.complete_pending  IoCompleteRequest with STATUS_PENDING: 0xC9 P1 0x06 (io 4.13);
 *   io.start_next_irql   IoStartNextPacket at PASSIVE_LEVEL: 0xC4 P1 0x00020003 (io 4.4);
 *   io.buffer_overrun    METHOD_BUFFERED IRP completed with Information > OutputBufferLength:
 *                        0xC9 P1 0x312;
 *   io.irp_lost          warning at the end of the run: an IRP queued with IoStartPacket
 *                        never completed because the DPC forgot IoStartNextPacket (G6);
 *   errorlog.irql        IoAllocateErrorLogEntry / IoWriteErrorLogEntry above
 *                        DISPATCH_LEVEL: 0xC4 (io 6.1, 6.5).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define IOCTL_BUF CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef enum DISP_MODE {
    DISP_COMPLETE = 0,    /* complete with r.status / r.info */
    DISP_START_PACKET = 1 /* IoMarkIrpPending + IoStartPacket */
} DISP_MODE;

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    DISP_MODE mode;
    NTSTATUS status;
    ULONG_PTR info;
    KDPC dpc;
    KEVENT dpc_done;
    PIRP irp;
    PIRP irps[2];
    LONG started;
    LONG reached_after; /* set after the violating call: must stay 0 */
    LONG reached_end;
    IO_STATUS_BLOCK iosb;
    UCHAR in[8], out[8];
} r;

static WCHAR dev_name[] = u"\\Device\\KdpcLostDev";

static NTSTATUS RulesDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    if (r.mode == DISP_START_PACKET) {
        IoMarkIrpPending(Irp);
        IoStartPacket(Dev, Irp, NULL, NULL);
        return STATUS_PENDING;
    }
    Irp->IoStatus.Status = r.status;
    Irp->IoStatus.Information = r.info;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return r.status;
}

static void RulesStartIo(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    (void)Irp;
    r.started++; /* programs the "device"; the DPC finishes */
}

/* The broken DPC: completes the current IRP and forgets IoStartNextPacket (G6). */
static void ForgetfulDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    PDEVICE_OBJECT dev = Context;
    PIRP irp = dev->CurrentIrp;
    if (irp != NULL) {
        irp->IoStatus.Status = STATUS_SUCCESS;
        irp->IoStatus.Information = 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
    KeSetEvent(&r.dpc_done, IO_NO_INCREMENT, FALSE);
}

static NTSTATUS RulesEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Drv->MajorFunction[i] = RulesDispatch;
    Drv->DriverStartIo = RulesStartIo;
    UNICODE_STRING name;
    name.Buffer = dev_name;
    name.Length = (USHORT)(sizeof dev_name - sizeof(WCHAR));
    name.MaximumLength = (USHORT)sizeof dev_name;
    NTSTATUS st = IoCreateDevice(Drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &r.dev);
    if (NT_SUCCESS(st))
        r.dev->Flags |= DO_BUFFERED_IO;
    return st;
}

static void load(void)
{
    (void)kdpc_driver_load(kdpc_current_machine(), "iorules", RulesEntry, &r.drv);
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    load();
    if (r.dev != NULL)
        body();
    r.reached_end = 1;
}

static kdpc_machine *machine(uint64_t seed)
{
    memset(&r, 0, sizeof r);
    return kt_machine(1, seed);
}

static kdpc_status run(kdpc_machine *m, BODY *body)
{
    return kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
}

/* ------------------------------------------------------------------ */

static void body_double_complete(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    r.irp = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    r.status = STATUS_SUCCESS;
    (void)IoCallDriver(r.dev, irp); /* completed: CurrentLocation = StackCount + 2 */
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    r.reached_after = 1;
}

static void test_double_complete_bugchecks_44_with_irp(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = run(m, body_double_complete);
    KT_ASSERT_BUGCHECK(m, st, "io.double_complete", 0x44);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], (uint64_t)(uintptr_t)r.irp); /* P1 = IRP (io 4.13) */
    assert_string_equal(bc->name, "MULTIPLE_IRP_COMPLETE_REQUESTS");
    assert_int_equal(r.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void body_complete_pending(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    r.irp = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    r.status = STATUS_PENDING; /* the dispatch routine completes with STATUS_PENDING */
    (void)IoCallDriver(r.dev, irp);
    r.reached_after = 1;
}

static void test_complete_with_status_pending_bugchecks_c9_06(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2);
    kdpc_status st = run(m, body_complete_pending);
    KT_ASSERT_BUGCHECK(m, st, "io.complete_pending", 0xC9);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x06);
    assert_int_equal(r.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void body_start_next_passive(void)
{
    IoStartNextPacket(r.dev, FALSE); /* at PASSIVE_LEVEL */
    r.reached_after = 1;
}

static void test_start_next_packet_at_passive_bugchecks_c4_20003(void **state)
{
    (void)state;
    kdpc_machine *m = machine(3);
    kdpc_status st = run(m, body_start_next_passive);
    KT_ASSERT_BUGCHECK(m, st, "io.start_next_irql", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x00020003); /* IrqlDispatch (io 4.4) */
    assert_int_equal(r.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void body_buffer_overrun(void)
{
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_BUF, r.dev, r.in, sizeof r.in, r.out,
                                             sizeof r.out, FALSE, &ev, &r.iosb);
    r.irp = irp;
    if (irp == NULL)
        return;
    r.status = STATUS_SUCCESS;
    r.info = 2 * sizeof r.out; /* more than OutputBufferLength */
    (void)IoCallDriver(r.dev, irp);
    r.reached_after = 1;
}

static void test_buffered_information_beyond_output_length_bugchecks_c9_312(void **state)
{
    (void)state;
    kdpc_machine *m = machine(4);
    kdpc_status st = run(m, body_buffer_overrun);
    KT_ASSERT_BUGCHECK(m, st, "io.buffer_overrun", 0xC9);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x312);
    assert_int_equal(r.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void body_irp_lost(void)
{
    r.mode = DISP_START_PACKET;
    KeInitializeEvent(&r.dpc_done, NotificationEvent, FALSE);
    KeInitializeDpc(&r.dpc, ForgetfulDpc, r.dev);
    for (int i = 0; i < 2; i++) {
        PIRP irp = IoAllocateIrp(1, FALSE);
        r.irps[i] = irp;
        IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
        (void)IoCallDriver(r.dev, irp); /* first starts, second queues */
    }
    (void)KeInsertQueueDpc(&r.dpc, NULL, NULL);
    (void)KeWaitForSingleObject(&r.dpc_done, Executive, KernelMode, FALSE, NULL);
    r.reached_after = 1;
}

static void test_irp_queued_and_never_started_is_reported_lost_at_end(void **state)
{
    (void)state;
    kdpc_machine *m = machine(5);
    KDPC_NAME(m, ForgetfulDpc);
    kdpc_status st = run(m, body_irp_lost);
    assert_int_equal(st, KDPC_OK); /* a warning: the run goes on */
    assert_int_equal(r.reached_after, 1);
    assert_int_equal(r.reached_end, 1);
    assert_int_equal(r.started, 1);
    KT_ASSERT_WARNING(m, "io.irp_lost");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "io.irp_lost");
    assert_non_null(w->message);
    /* docs/rules.md: names the IRP and the device (by address; the second IRP is the lost one) */
    char want[64];
    snprintf(want, sizeof want, "%p", (void *)r.dev);
    assert_non_null(strstr(w->message, want));
    snprintf(want, sizeof want, "%p", (void *)r.irps[1]);
    assert_non_null(strstr(w->message, want));
    snprintf(want, sizeof want, "%p", (void *)r.irps[0]);
    assert_null(strstr(w->message, want)); /* the completed one is not reported */
    /* and by name: the device's and its driver's */
    assert_non_null(strstr(w->message, "\\Device\\KdpcLostDev of \\Driver\\iorules"));
    kdpc_machine_destroy(m);
}

static void body_errorlog_alloc_high(void)
{
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    PVOID e = IoAllocateErrorLogEntry(r.dev, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    r.reached_after = 1;
    KeLowerIrql(old);
    if (e != NULL)
        IoFreeErrorLogEntry(e);
}

static void test_errorlog_allocate_at_high_level_bugchecks_c4(void **state)
{
    (void)state;
    kdpc_machine *m = machine(6);
    kdpc_status st = run(m, body_errorlog_alloc_high);
    KT_ASSERT_BUGCHECK(m, st, "errorlog.irql", 0xC4);
    assert_int_equal(r.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void body_errorlog_write_high(void)
{
    PVOID e = IoAllocateErrorLogEntry(r.dev, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    if (e == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    IoWriteErrorLogEntry(e);
    r.reached_after = 1;
    KeLowerIrql(old);
}

static void test_errorlog_write_at_high_level_bugchecks_c4(void **state)
{
    (void)state;
    kdpc_machine *m = machine(7);
    kdpc_status st = run(m, body_errorlog_write_high);
    KT_ASSERT_BUGCHECK(m, st, "errorlog.irql", 0xC4);
    assert_int_equal(r.reached_after, 0);
    assert_int_equal(kdpc_errorlog_count(m), 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_complete_bugchecks_44_with_irp),
        cmocka_unit_test(test_complete_with_status_pending_bugchecks_c9_06),
        cmocka_unit_test(test_start_next_packet_at_passive_bugchecks_c4_20003),
        cmocka_unit_test(test_buffered_information_beyond_output_length_bugchecks_c9_312),
        cmocka_unit_test(test_irp_queued_and_never_started_is_reported_lost_at_end),
        cmocka_unit_test(test_errorlog_allocate_at_high_level_bugchecks_c4),
        cmocka_unit_test(test_errorlog_write_at_high_level_bugchecks_c4),
    };
    return cmocka_run_group_tests_name("io_rules", tests, NULL, NULL);
}
