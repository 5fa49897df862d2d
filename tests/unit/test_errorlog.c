/* SPDX-License-Identifier: MIT */
/*
 * test_errorlog.c - IoAllocateErrorLogEntry / IoWriteErrorLogEntry /
 * IoFreeErrorLogEntry (docs/facts/io.md 6.1-6.5) read back through
 * kdpc_errorlog_count / kdpc_errorlog_entry_at (include/kdpc/driver.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define IO_ERR_TEST_CODE ((NTSTATUS)0xC0040007L)

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    KDPC dpc;
    KEVENT dpc_done;
    UCHAR size;
    PVOID e_dev, e_drv, e_max;
    BOOLEAN zero_dev, zero_drv, zero_max;
    PVOID e_null_obj, e_small, e_big, e_zero, e_event;
    KIRQL dpc_irql;
    uint64_t t_before, t_after;
    LONG reached_end;
} el;

static void ElUnload(PDRIVER_OBJECT Drv)
{
    while (Drv->DeviceObject != NULL)
        IoDeleteDevice(Drv->DeviceObject);
}

static NTSTATUS ElEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->DriverUnload = ElUnload;
    return IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &el.dev);
}

static BOOLEAN all_zero(const void *p, size_t n)
{
    const UCHAR *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return FALSE;
    return TRUE;
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    (void)kdpc_driver_load(kdpc_current_machine(), "errlog", ElEntry, &el.drv);
    if (el.dev != NULL)
        body();
    (void)kdpc_driver_unload(el.drv);
    el.reached_end = 1;
}

static kdpc_machine *run(BODY *body, uint64_t seed)
{
    memset(&el, 0, sizeof el);
    kdpc_machine *m = kt_machine(1, seed);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(el.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    return m;
}

/* ------------------------------------------------------------------ */

static void body_allocate(void)
{
    el.size = (UCHAR)(sizeof(IO_ERROR_LOG_PACKET) + 2 * sizeof(ULONG));
    el.e_dev = IoAllocateErrorLogEntry(el.dev, el.size);
    if (el.e_dev != NULL) {
        el.zero_dev = all_zero(el.e_dev, el.size);
        IoFreeErrorLogEntry(el.e_dev);
    }
    el.e_drv = IoAllocateErrorLogEntry(el.drv, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    if (el.e_drv != NULL) {
        el.zero_drv = all_zero(el.e_drv, sizeof(IO_ERROR_LOG_PACKET));
        IoFreeErrorLogEntry(el.e_drv);
    }
    el.e_max = IoAllocateErrorLogEntry(el.dev, ERROR_LOG_MAXIMUM_SIZE);
    if (el.e_max != NULL) {
        el.zero_max = all_zero(el.e_max, ERROR_LOG_MAXIMUM_SIZE);
        IoFreeErrorLogEntry(el.e_max);
    }
}

static void test_allocate_returns_zeroed_entry_for_device_and_driver(void **state)
{
    (void)state;
    kdpc_machine *m = run(body_allocate, 1);
    assert_non_null(el.e_dev); /* 6.1 */
    assert_true(el.zero_dev);  /* zeroed */
    assert_non_null(el.e_drv);
    assert_true(el.zero_drv);
    assert_non_null(el.e_max); /* 6.3: 240 on 64-bit is allowed */
    assert_true(el.zero_max);
    assert_int_equal(kdpc_errorlog_count(m), 0); /* freed, not written (6.5) */
    kdpc_machine_destroy(m);
}

static void body_allocate_bad(void)
{
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    el.e_null_obj = IoAllocateErrorLogEntry(NULL, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    el.e_small = IoAllocateErrorLogEntry(el.dev, (UCHAR)(sizeof(IO_ERROR_LOG_PACKET) - 1));
    el.e_zero = IoAllocateErrorLogEntry(el.dev, 0);
    el.e_big = IoAllocateErrorLogEntry(el.dev, (UCHAR)(ERROR_LOG_MAXIMUM_SIZE + 1));
    el.e_event = IoAllocateErrorLogEntry(&ev, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    PVOID leaked[] = {el.e_null_obj, el.e_small, el.e_zero, el.e_big, el.e_event};
    for (size_t i = 0; i < ARRAYSIZE(leaked); i++)
        if (leaked[i] != NULL)
            IoFreeErrorLogEntry(leaked[i]);
}

static void test_allocate_returns_null_for_bad_object_or_size(void **state)
{
    (void)state;
    kdpc_machine *m = run(body_allocate_bad, 2);
    assert_null(el.e_null_obj); /* 6.1 */
    assert_null(el.e_small);
    assert_null(el.e_zero);
    assert_null(el.e_big);   /* > ERROR_LOG_MAXIMUM_SIZE */
    assert_null(el.e_event); /* neither a device nor a driver object */
    kdpc_machine_destroy(m);
}

static void WriteDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    PVOID obj = Context;
    el.dpc_irql = KeGetCurrentIrql();
    UCHAR size = (UCHAR)(sizeof(IO_ERROR_LOG_PACKET) + sizeof(ULONG));
    PIO_ERROR_LOG_PACKET p = IoAllocateErrorLogEntry(obj, size);
    if (p != NULL) {
        p->MajorFunctionCode = IRP_MJ_READ;
        p->RetryCount = 1;
        p->DumpDataSize = 2 * sizeof(ULONG);
        p->ErrorCode = IO_ERR_TEST_CODE;
        p->UniqueErrorValue = 0x77;
        p->FinalStatus = STATUS_IO_DEVICE_ERROR;
        p->SequenceNumber = 9;
        p->IoControlCode = 0x222;
        const ULONG dump[2] = {0x11111111u, 0x22222222u};
        memcpy((PUCHAR)p + offsetof(IO_ERROR_LOG_PACKET, DumpData), dump, sizeof dump);
        el.t_before = kdpc_machine_time_ns(kdpc_current_machine());
        IoWriteErrorLogEntry(p); /* frees it (6.5) */
        el.t_after = kdpc_machine_time_ns(kdpc_current_machine());
    }
    KeSetEvent(&el.dpc_done, IO_NO_INCREMENT, FALSE);
}

static void write_from_dpc(PVOID obj)
{
    KeInitializeEvent(&el.dpc_done, NotificationEvent, FALSE);
    KeInitializeDpc(&el.dpc, WriteDpc, obj);
    (void)KeInsertQueueDpc(&el.dpc, NULL, NULL);
    (void)KeWaitForSingleObject(&el.dpc_done, Executive, KernelMode, FALSE, NULL);
}

static void body_write_dev(void)
{
    write_from_dpc(el.dev);
}

static void test_write_from_dpc_records_the_entry(void **state)
{
    (void)state;
    kdpc_machine *m = run(body_write_dev, 3);
    assert_int_equal(el.dpc_irql, DISPATCH_LEVEL);
    assert_int_equal(kdpc_errorlog_count(m), 1);
    const kdpc_errorlog_entry *e = kdpc_errorlog_entry_at(m, 0);
    assert_non_null(e);
    assert_int_equal(e->ErrorCode, IO_ERR_TEST_CODE);
    assert_int_equal(e->UniqueErrorValue, 0x77);
    assert_int_equal(e->FinalStatus, STATUS_IO_DEVICE_ERROR);
    assert_int_equal(e->RetryCount, 1);
    assert_int_equal(e->MajorFunctionCode, IRP_MJ_READ);
    assert_int_equal(e->SequenceNumber, 9);
    assert_int_equal(e->IoControlCode, 0x222);
    assert_int_equal(e->DumpDataSize, 8);
    assert_non_null(e->DumpData);
    assert_int_equal(e->DumpData[0], 0x11111111u);
    assert_int_equal(e->DumpData[1], 0x22222222u);
    assert_ptr_equal(e->Device, el.dev);
    assert_ptr_equal(e->Driver, el.drv);
    assert_true(e->time_ns >= el.t_before);
    assert_true(e->time_ns <= el.t_after);
    assert_true(el.t_before > 0);
    assert_null(kdpc_errorlog_entry_at(m, 1));
    kdpc_machine_destroy(m);
}

static void body_write_drv(void)
{
    write_from_dpc(el.drv);
}

static void test_write_for_driver_object_has_no_device(void **state)
{
    (void)state;
    kdpc_machine *m = run(body_write_drv, 4);
    assert_int_equal(kdpc_errorlog_count(m), 1);
    const kdpc_errorlog_entry *e = kdpc_errorlog_entry_at(m, 0);
    assert_non_null(e);
    assert_null(e->Device);
    assert_ptr_equal(e->Driver, el.drv);
    assert_int_equal(e->ErrorCode, IO_ERR_TEST_CODE);
    kdpc_machine_destroy(m);
}

static void body_free(void)
{
    PIO_ERROR_LOG_PACKET p = IoAllocateErrorLogEntry(el.dev, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    if (p != NULL) {
        p->ErrorCode = IO_ERR_TEST_CODE;
        IoFreeErrorLogEntry(p);
    }
    el.e_dev = p;
}

static void test_free_records_nothing(void **state)
{
    (void)state;
    kdpc_machine *m = run(body_free, 5);
    assert_non_null(el.e_dev);
    assert_int_equal(kdpc_errorlog_count(m), 0); /* 6.5 */
    assert_null(kdpc_errorlog_entry_at(m, 0));
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocate_returns_zeroed_entry_for_device_and_driver),
        cmocka_unit_test(test_allocate_returns_null_for_bad_object_or_size),
        cmocka_unit_test(test_write_from_dpc_records_the_entry),
        cmocka_unit_test(test_write_for_driver_object_has_no_device),
        cmocka_unit_test(test_free_records_nothing),
    };
    return cmocka_run_group_tests_name("errorlog", tests, NULL, NULL);
}
