/* SPDX-License-Identifier: MIT */
/*
 * test_file.c - opening a device: kdpc_file_open / kdpc_file_close /
 * kdpc_file_ioctl / kdpc_file_read / kdpc_file_write (include/kdpc/driver.h),
 * IoGetDeviceObjectPointer and ObDereferenceObject of its file object
 * (include/kdpc/wdm/file.h), FILE_OBJECT as the driver sees it
 * (docs/facts/io.md section 10).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define IOCTL_ECHO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

static WCHAR kDev[] = u"\\Device\\kdpcFile";
static WCHAR kFilter[] = u"\\Device\\kdpcFileFilter";

typedef struct ev {
    UCHAR major;
    PDEVICE_OBJECT dev;
    PFILE_OBJECT file;
    PFILE_OBJECT original;
    KIRQL irql;
    ULONG flags;
    ACCESS_MASK access;
    PVOID fscontext;
    KPROCESSOR_MODE mode;
} ev;

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev, filter;
    ev log[32];
    unsigned n;
    NTSTATUS create_status; /* what IRP_MJ_CREATE completes with */
    bool pend_create;       /* IRP_MJ_CREATE pends, a timer DPC completes it */
    bool exclusive, buffered, no_filter, keep_initializing;
    PIRP pended;
    KTIMER timer;
    KDPC dpc;
    UCHAR data[64];
    /* observations */
    NTSTATUS st[16];
    PFILE_OBJECT f[4];
    PDEVICE_OBJECT top;
    LONG refcount[8];
    ULONG_PTR info[4];
    UCHAR buf[64];
    USHORT name_len;
    WCHAR name[32];
} R;

static UNICODE_STRING ustr(WCHAR *s)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

static void CompletePended(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    PIRP irp = R.pended;
    R.pended = NULL;
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(Irp);
    if (R.n < 32) {
        ev *e = &R.log[R.n++];
        e->major = s->MajorFunction;
        e->dev = DeviceObject;
        e->file = s->FileObject;
        e->original = Irp->Tail.Overlay.OriginalFileObject;
        e->irql = KeGetCurrentIrql();
        e->flags = Irp->Flags;
        e->access = s->MajorFunction == IRP_MJ_CREATE && s->Parameters.Create.SecurityContext
                        ? s->Parameters.Create.SecurityContext->DesiredAccess
                        : 0;
        e->fscontext = s->FileObject != NULL ? s->FileObject->FsContext : NULL;
        e->mode = Irp->RequestorMode;
    }
    if (DeviceObject == R.filter) { /* pass everything down */
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(R.dev, Irp);
    }
    NTSTATUS st = STATUS_SUCCESS;
    ULONG_PTR info = 0;
    switch (s->MajorFunction) {
    case IRP_MJ_CREATE:
        if (R.pend_create) {
            IoMarkIrpPending(Irp);
            R.pended = Irp;
            LARGE_INTEGER due;
            due.QuadPart = -10000; /* 1 ms */
            KeSetTimer(&R.timer, due, &R.dpc);
            return STATUS_PENDING;
        }
        st = R.create_status;
        if (NT_SUCCESS(st))
            s->FileObject->FsContext = (PVOID)(ULONG_PTR)0xF5C0;
        break;
    case IRP_MJ_DEVICE_CONTROL: {
        ULONG in = s->Parameters.DeviceIoControl.InputBufferLength;
        ULONG out = s->Parameters.DeviceIoControl.OutputBufferLength;
        info = in < out ? in : out; /* echo */
        break;
    }
    case IRP_MJ_WRITE: {
        ULONG len = s->Parameters.Write.Length;
        if (len > sizeof(R.data))
            len = sizeof(R.data);
        memcpy(R.data, Irp->AssociatedIrp.SystemBuffer, len);
        info = len;
        break;
    }
    case IRP_MJ_READ: {
        ULONG len = s->Parameters.Read.Length;
        if (len > sizeof(R.data))
            len = sizeof(R.data);
        memcpy(Irp->AssociatedIrp.SystemBuffer, R.data, len);
        info = len;
        break;
    }
    default:
        break;
    }
    Irp->IoStatus.Status = st;
    Irp->IoStatus.Information = info;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return st;
}

static NTSTATUS Entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = Dispatch;
    UNICODE_STRING n = ustr(kDev);
    NTSTATUS st = IoCreateDevice(DriverObject, 0, &n, FILE_DEVICE_UNKNOWN, 0,
                                 R.exclusive ? TRUE : FALSE, &R.dev);
    if (!NT_SUCCESS(st))
        return st;
    if (R.buffered)
        R.dev->Flags |= DO_BUFFERED_IO;
    if (!R.no_filter) {
        UNICODE_STRING fn = ustr(kFilter);
        st = IoCreateDevice(DriverObject, 0, &fn, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.filter);
        if (!NT_SUCCESS(st))
            return st;
        R.filter->Flags |= DO_BUFFERED_IO;
        (void)IoAttachDeviceToDeviceStack(R.filter, R.dev);
    }
    KeInitializeTimer(&R.timer);
    KeInitializeDpc(&R.dpc, CompletePended, NULL);
    return STATUS_SUCCESS;
}

static kdpc_machine *setup(void)
{
    memset(&R, 0, sizeof(R));
    R.create_status = STATUS_SUCCESS;
    R.no_filter = true;
    R.buffered = true;
    return kt_machine(1, 1);
}

static void load(kdpc_machine *m)
{
    assert_int_equal(kdpc_driver_load(m, "tfile", Entry, &R.drv), STATUS_SUCCESS);
}

static void finish(kdpc_machine *m, kdpc_entry_fn *body)
{
    assert_int_equal(kdpc_machine_run(m, body, m), KDPC_OK);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */

static void open_close_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    R.st[0] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA | FILE_WRITE_DATA, &R.f[0]);
    R.refcount[0] = R.dev->ReferenceCount;
    UCHAR in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8] = {0};
    R.st[1] = kdpc_file_ioctl(R.f[0], IOCTL_ECHO, in, 8, out, 4, &R.info[0]);
    R.st[2] = kdpc_file_close(R.f[0]);
    R.refcount[1] = R.dev->ReferenceCount;
    R.st[3] = kdpc_file_close(R.f[0]); /* closed already */
}

static void test_open_sends_create_with_file_object_and_close_sends_cleanup_then_close(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    kdpc_machine_run(m, open_close_body, m);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_non_null(R.f[0]);
    assert_int_equal(R.refcount[0], 1);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.info[0], 4);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.refcount[1], 0);
    assert_int_equal(R.st[3], STATUS_INVALID_HANDLE);
    assert_int_equal(R.n, 4);
    const UCHAR order[] = {IRP_MJ_CREATE, IRP_MJ_DEVICE_CONTROL, IRP_MJ_CLEANUP, IRP_MJ_CLOSE};
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(R.log[i].major, order[i]);
        assert_ptr_equal(R.log[i].file, R.f[0]);
        assert_ptr_equal(R.log[i].original, R.f[0]);
        assert_ptr_equal(R.log[i].dev, R.dev);
        assert_int_equal(R.log[i].irql, PASSIVE_LEVEL);
        assert_int_equal(R.log[i].mode, UserMode); /* a program's handle and requests */
    }
    /* the driver's FsContext is what later IRPs see */
    assert_null(R.log[0].fscontext);
    assert_ptr_equal(R.log[1].fscontext, (PVOID)(ULONG_PTR)0xF5C0);
    assert_ptr_equal(R.log[3].fscontext, (PVOID)(ULONG_PTR)0xF5C0);
    assert_int_equal(R.log[0].access, FILE_READ_DATA | FILE_WRITE_DATA);
    assert_true(R.log[0].flags & IRP_CREATE_OPERATION);
    assert_true(R.log[0].flags & IRP_SYNCHRONOUS_API);
    assert_true(R.log[2].flags & IRP_CLOSE_OPERATION);
    assert_true(R.log[3].flags & IRP_CLOSE_OPERATION);
    kdpc_machine_destroy(m);
}

static void fields_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    R.st[0] = kdpc_file_open(m, "\\Device\\kdpcFile\\sub\\Name", FILE_READ_DATA, &R.f[0]);
    if (R.f[0] != NULL) {
        PFILE_OBJECT f = R.f[0];
        R.st[1] = f->Type == IO_TYPE_FILE && f->Size == (CSHORT)sizeof(FILE_OBJECT) &&
                          f->DeviceObject == R.dev && f->ReadAccess && !f->WriteAccess &&
                          (f->Flags & FO_HANDLE_CREATED) && f->FsContext2 == NULL
                      ? STATUS_SUCCESS
                      : STATUS_UNSUCCESSFUL;
        R.name_len = f->FileName.Length;
        memcpy(R.name, f->FileName.Buffer, f->FileName.Length < 60 ? f->FileName.Length : 60);
        R.st[2] = kdpc_file_close(f);
    }
    R.st[3] = kdpc_file_open(m, "\\Device\\kdpcFile", GENERIC_WRITE, &R.f[1]);
    R.st[4] =
        R.f[1] != NULL && R.f[1]->FileName.Length == 0 && R.f[1]->WriteAccess && !R.f[1]->ReadAccess
            ? STATUS_SUCCESS
            : STATUS_UNSUCCESSFUL;
    (void)kdpc_file_close(R.f[1]);
}

static void test_file_object_fields_and_file_name_after_the_device_name(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, fields_body);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    static const WCHAR want[] = u"\\sub\\Name";
    assert_int_equal(R.name_len, sizeof(want) - sizeof(WCHAR));
    assert_memory_equal(R.name, want, sizeof(want) - sizeof(WCHAR));
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.st[4], STATUS_SUCCESS);
}

static void failed_create_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    R.create_status = STATUS_ACCESS_DENIED;
    R.f[0] = (PFILE_OBJECT)(ULONG_PTR)1;
    R.st[0] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[0]);
    R.refcount[0] = R.dev->ReferenceCount;
}

static void test_failed_create_returns_its_status_and_sends_no_close(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, failed_create_body);
    assert_int_equal(R.st[0], STATUS_ACCESS_DENIED);
    assert_null(R.f[0]);
    assert_int_equal(R.refcount[0], 0);
    assert_int_equal(R.n, 1);
    assert_int_equal(R.log[0].major, IRP_MJ_CREATE);
}

static void pending_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    R.pend_create = true;
    R.st[0] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[0]);
    R.st[1] = R.pended == NULL ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
    R.st[2] = kdpc_file_close(R.f[0]);
}

static void test_pending_create_is_waited_for(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, pending_body);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
}

static void exclusive_body(void *ctx)
{
    kdpc_machine *m = ctx;
    R.exclusive = true;
    load(m);
    R.st[0] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[0]);
    R.st[1] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[1]);
    (void)kdpc_file_close(R.f[0]);
    R.st[2] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[2]);
    (void)kdpc_file_close(R.f[2]);
}

static void test_exclusive_device_opens_once_at_a_time(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, exclusive_body);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_ACCESS_DENIED);
    assert_null(R.f[1]);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
}

static NTSTATUS LateEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = Dispatch;
    return STATUS_SUCCESS;
}

static void initializing_body(void *ctx)
{
    kdpc_machine *m = ctx;
    assert_int_equal(kdpc_driver_load(m, "tlate", LateEntry, &R.drv), STATUS_SUCCESS);
    UNICODE_STRING n = ustr(kDev);
    R.st[0] = IoCreateDevice(R.drv, 0, &n, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev);
    R.st[1] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[0]);
    R.dev->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    R.st[2] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[1]);
    (void)kdpc_file_close(R.f[1]);
}

static void test_device_still_initializing_cannot_be_opened(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, initializing_body);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_NO_SUCH_DEVICE);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
}

static void bad_input_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    PFILE_OBJECT f = (PFILE_OBJECT)(ULONG_PTR)1;
    R.st[0] = kdpc_file_open(m, "\\Device\\nothere", FILE_READ_DATA, &f);
    R.f[0] = f;
    R.st[1] = kdpc_file_open(m, "Device\\kdpcFile", FILE_READ_DATA, &f);
    R.st[2] = kdpc_file_open(m, "", FILE_READ_DATA, &f);
    R.st[3] = kdpc_file_open(m, NULL, FILE_READ_DATA, &f);
    R.st[4] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, NULL);
    R.st[5] = kdpc_file_open(NULL, "\\Device\\kdpcFile", FILE_READ_DATA, &f);
    R.st[6] = kdpc_file_close(NULL);
    R.st[7] = kdpc_file_close((PFILE_OBJECT)(void *)&R); /* not a file object */
    R.st[8] = kdpc_file_ioctl((PFILE_OBJECT)(void *)&R, IOCTL_ECHO, NULL, 0, NULL, 0, NULL);
    R.st[9] = kdpc_file_read(NULL, R.buf, 4, 0, NULL);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    R.st[10] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &f);
    KeLowerIrql(old);
    /* \Device\kdpcFileX is not \Device\kdpcFile followed by more: a name ends at '\' */
    R.st[11] = kdpc_file_open(m, "\\Device\\kdpcFileX", FILE_READ_DATA, &f);
    R.st[12] = kdpc_file_open(m, "\\device\\KDPCFILE", FILE_READ_DATA, &f); /* any case */
    if (NT_SUCCESS(R.st[12]))
        (void)kdpc_file_close(f);
}

static void test_bad_input_returns_errors_and_no_file(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, bad_input_body);
    assert_int_equal(R.st[0], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_null(R.f[0]);
    assert_int_equal(R.st[1], STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(R.st[2], STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(R.st[3], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[4], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[5], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[6], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[7], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[8], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[9], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[10], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[11], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[12], STATUS_SUCCESS);
}

static void test_open_from_a_host_thread_is_invalid(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    PFILE_OBJECT f = NULL;
    assert_int_equal(kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &f),
                     STATUS_INVALID_PARAMETER);
    assert_null(f);
    kdpc_machine_destroy(m);
}

static void read_write_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    R.st[0] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA | FILE_WRITE_DATA, &R.f[0]);
    UCHAR msg[5] = {'h', 'e', 'l', 'l', 'o'};
    R.st[1] = kdpc_file_write(R.f[0], msg, 5, 0, &R.info[0]);
    R.st[2] = kdpc_file_read(R.f[0], R.buf, 5, 0, &R.info[1]);
    R.st[3] = kdpc_file_read(R.f[0], NULL, 5, 0, &R.info[2]);
    (void)kdpc_file_close(R.f[0]);
}

static void test_read_and_write_go_through_the_file_object(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, read_write_body);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.info[0], 5);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.info[1], 5);
    assert_memory_equal(R.buf, "hello", 5);
    assert_int_equal(R.st[3], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.log[1].major, IRP_MJ_WRITE);
    assert_ptr_equal(R.log[1].file, R.f[0]);
    assert_int_equal(R.log[1].mode, UserMode);
    assert_int_equal(R.log[2].major, IRP_MJ_READ);
    assert_int_equal(R.log[2].mode, UserMode);
}

static void stack_body(void *ctx)
{
    kdpc_machine *m = ctx;
    R.no_filter = false;
    load(m);
    R.st[0] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[0]);
    R.refcount[0] = R.dev->ReferenceCount;
    R.refcount[1] = R.filter->ReferenceCount;
    R.st[1] =
        R.f[0] != NULL && R.f[0]->DeviceObject == R.dev ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
    (void)kdpc_file_close(R.f[0]);
}

static void test_irps_go_to_the_top_of_the_stack_and_the_file_names_the_opened_device(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, stack_body);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.refcount[0], 1);
    assert_int_equal(R.refcount[1], 0);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    /* create, cleanup, close: each first at the filter, then passed down */
    assert_int_equal(R.n, 6);
    for (unsigned i = 0; i < 6; i += 2) {
        assert_ptr_equal(R.log[i].dev, R.filter);
        assert_ptr_equal(R.log[i + 1].dev, R.dev);
        assert_ptr_equal(R.log[i].file, R.f[0]);
        assert_ptr_equal(R.log[i + 1].file, R.f[0]);
    }
}

static void pointer_body(void *ctx)
{
    kdpc_machine *m = ctx;
    R.no_filter = false;
    load(m);
    UNICODE_STRING n = ustr(kDev);
    PFILE_OBJECT f = NULL;
    PDEVICE_OBJECT d = NULL;
    R.st[0] = IoGetDeviceObjectPointer(&n, FILE_READ_DATA, &f, &d);
    R.f[0] = f;
    R.top = d;
    R.st[1] = f != NULL && f->DeviceObject == R.dev ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
    R.refcount[0] = R.dev->ReferenceCount;
    R.info[0] = R.n;              /* create and cleanup so far */
    R.st[2] = kdpc_file_close(f); /* no handle: it is dereferenced instead */
    /* an IRP the upper driver builds against it */
    KEVENT e;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_ECHO, d, NULL, 0, NULL, 0, FALSE, &e, &iosb);
    IoGetNextIrpStackLocation(irp)->FileObject = f;
    R.st[3] = IoCallDriver(d, irp);
    ObDereferenceObject(f);
    R.refcount[1] = R.dev->ReferenceCount;
    UNICODE_STRING bad = ustr(u"\\Device\\none");
    f = (PFILE_OBJECT)(ULONG_PTR)1;
    R.st[4] = IoGetDeviceObjectPointer(&bad, FILE_READ_DATA, &f, &d);
    R.f[1] = f;
    R.st[5] = IoGetDeviceObjectPointer(NULL, FILE_READ_DATA, &f, &d);
}

static void test_get_device_object_pointer_opens_the_top_and_dereference_closes(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, pointer_body);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_ptr_equal(R.top, R.filter);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.refcount[0], 1);
    assert_int_equal(R.info[0], 4); /* create and cleanup, each through the filter */
    assert_int_equal(R.log[0].major, IRP_MJ_CREATE);
    assert_int_equal(R.log[0].mode, KernelMode); /* a kernel-mode open */
    assert_int_equal(R.log[2].major, IRP_MJ_CLEANUP);
    assert_int_equal(R.st[2], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.log[4].major, IRP_MJ_DEVICE_CONTROL);
    assert_ptr_equal(R.log[5].file, R.f[0]);
    assert_int_equal(R.log[6].major, IRP_MJ_CLOSE);
    assert_int_equal(R.log[7].major, IRP_MJ_CLOSE);
    assert_int_equal(R.n, 8);
    assert_int_equal(R.refcount[1], 0);
    assert_int_equal(R.st[4], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_ptr_equal(R.f[1], (PFILE_OBJECT)(ULONG_PTR)1); /* outputs set only on success */
    assert_int_equal(R.st[5], STATUS_INVALID_PARAMETER);
}

static void double_deref_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    UNICODE_STRING n = ustr(kDev);
    PFILE_OBJECT f = NULL;
    PDEVICE_OBJECT d = NULL;
    (void)IoGetDeviceObjectPointer(&n, FILE_READ_DATA, &f, &d);
    ObDereferenceObject(f);
    ObDereferenceObject(f); /* no reference left */
}

static void test_dereference_of_a_closed_file_object_bug_checks(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    kdpc_status st = kdpc_machine_run(m, double_deref_body, m);
    KT_ASSERT_BUGCHECK(m, st, "obj.invalid", 0xC4);
    kdpc_machine_destroy(m);
}

static void deleted_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    R.st[0] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[0]);
    IoDeleteDevice(R.dev);
    unsigned before = R.n;
    R.st[1] = kdpc_file_ioctl(R.f[0], IOCTL_ECHO, NULL, 0, NULL, 0, NULL);
    R.st[2] = kdpc_file_close(R.f[0]);
    R.info[0] = R.n - before;
}

static void test_file_of_a_deleted_device_closes_without_irps(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, deleted_body);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_NO_SUCH_DEVICE);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.info[0], 0);
}

/* The last reference dropped in a DPC (DISPATCH_LEVEL): IRP_MJ_CLOSE comes later, from a
 * system worker thread at PASSIVE_LEVEL (10.4). */
static PFILE_OBJECT dpc_file;

static void DerefDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    R.info[0] = R.n; /* IRPs before the dereference */
    ObDereferenceObject(dpc_file);
    R.info[1] = R.n; /* none sent from the DPC */
}

static void dpc_deref_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    UNICODE_STRING n = ustr(kDev);
    PDEVICE_OBJECT d = NULL;
    R.st[0] = IoGetDeviceObjectPointer(&n, FILE_READ_DATA, &dpc_file, &d);
    KDPC dpc;
    KeInitializeDpc(&dpc, DerefDpc, NULL);
    (void)KeInsertQueueDpc(&dpc, NULL, NULL);
    KeFlushQueuedDpcs();
    LARGE_INTEGER t;
    t.QuadPart = -10 * 1000 * 10; /* 10 ms: the worker thread runs meanwhile */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    R.refcount[0] = R.dev->ReferenceCount;
}

static void test_last_dereference_in_a_dpc_closes_at_passive_level(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, dpc_deref_body);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.info[0], 2); /* create, cleanup */
    assert_int_equal(R.info[1], 2);
    assert_int_equal(R.n, 3);
    assert_int_equal(R.log[2].major, IRP_MJ_CLOSE);
    assert_int_equal(R.log[2].irql, PASSIVE_LEVEL);
    assert_int_equal(R.refcount[0], 0);
}

/* IoGetDeviceObjectPointer is PASSIVE_LEVEL only: at APC_LEVEL io.passive_irql, no create */
static void apc_pointer_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    R.pend_create = true; /* at APC_LEVEL a pended create used to come back as success */
    UNICODE_STRING n = ustr(kDev);
    PFILE_OBJECT f = NULL;
    PDEVICE_OBJECT d = NULL;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    R.st[0] = IoGetDeviceObjectPointer(&n, FILE_READ_DATA, &f, &d);
    KeLowerIrql(old);
}

static void test_get_device_object_pointer_at_apc_level_is_reported(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    kdpc_status st = kdpc_machine_run(m, apc_pointer_body, m);
    KT_ASSERT_BUGCHECK(m, st, "io.passive_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x2000Eu);
    assert_int_equal(R.n, 0); /* no IRP_MJ_CREATE */
    kdpc_machine_destroy(m);
    m = setup();
    assert_int_equal(kdpc_rule_set(m, "io.passive_irql", KDPC_RULE_WARN), KDPC_OK);
    finish(m, apc_pointer_body);
    assert_int_equal(R.st[0], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.n, 0);
}

static void leak_body(void *ctx)
{
    kdpc_machine *m = ctx;
    load(m);
    R.st[0] = kdpc_file_open(m, "\\Device\\kdpcFile", FILE_READ_DATA, &R.f[0]);
}

static void test_files_left_open_are_freed_with_the_machine(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    finish(m, leak_body); /* ASan / valgrind would see a leak */
    assert_int_equal(R.st[0], STATUS_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_open_sends_create_with_file_object_and_close_sends_cleanup_then_close),
        cmocka_unit_test(test_file_object_fields_and_file_name_after_the_device_name),
        cmocka_unit_test(test_failed_create_returns_its_status_and_sends_no_close),
        cmocka_unit_test(test_pending_create_is_waited_for),
        cmocka_unit_test(test_exclusive_device_opens_once_at_a_time),
        cmocka_unit_test(test_device_still_initializing_cannot_be_opened),
        cmocka_unit_test(test_bad_input_returns_errors_and_no_file),
        cmocka_unit_test(test_open_from_a_host_thread_is_invalid),
        cmocka_unit_test(test_read_and_write_go_through_the_file_object),
        cmocka_unit_test(test_irps_go_to_the_top_of_the_stack_and_the_file_names_the_opened_device),
        cmocka_unit_test(test_get_device_object_pointer_opens_the_top_and_dereference_closes),
        cmocka_unit_test(test_dereference_of_a_closed_file_object_bug_checks),
        cmocka_unit_test(test_file_of_a_deleted_device_closes_without_irps),
        cmocka_unit_test(test_files_left_open_are_freed_with_the_machine),
        cmocka_unit_test(test_last_dereference_in_a_dpc_closes_at_passive_level),
        cmocka_unit_test(test_get_device_object_pointer_at_apc_level_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
