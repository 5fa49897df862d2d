/* SPDX-License-Identifier: MIT */
/*
 * test_symlink.c - IoCreateSymbolicLink / IoDeleteSymbolicLink and the
 * lookup of "\DosDevices\X", "\??\X", "\GLOBAL??\X" and "\Device\X" names
 * when a device is opened (include/kdpc/wdm/file.h, docs/facts/io.md
 * section 10).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev, dev2;
    unsigned creates;
    PDEVICE_OBJECT created_on;
    NTSTATUS st[24];
    PFILE_OBJECT f;
    USHORT name_len;
    WCHAR name[32];
} R;

static UNICODE_STRING us(const WCHAR *s)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

static NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    if (IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE) {
        R.creates++;
        R.created_on = DeviceObject;
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = Dispatch;
    UNICODE_STRING n = us(u"\\Device\\kdpcSym");
    return IoCreateDevice(DriverObject, 0, &n, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev);
}

static kdpc_machine *setup(void)
{
    memset(&R, 0, sizeof(R));
    return kt_machine(1, 3);
}

/* Open @name, close it; the status of the open. */
static NTSTATUS try_open(kdpc_machine *m, const char *name)
{
    PFILE_OBJECT f = NULL;
    NTSTATUS st = kdpc_file_open(m, name, FILE_READ_DATA, &f);
    if (NT_SUCCESS(st))
        (void)kdpc_file_close(f);
    return st;
}

static void spellings_body(void *ctx)
{
    kdpc_machine *m = ctx;
    assert_int_equal(kdpc_driver_load(m, "tsym", Entry, &R.drv), STATUS_SUCCESS);
    UNICODE_STRING link = us(u"\\DosDevices\\SymA"), dev = us(u"\\Device\\kdpcSym");
    R.st[0] = IoCreateSymbolicLink(&link, &dev);
    R.st[1] = try_open(m, "\\DosDevices\\SymA");
    R.st[2] = try_open(m, "\\??\\SymA");
    R.st[3] = try_open(m, "\\GLOBAL??\\syma"); /* another spelling, any case */
    R.st[4] = try_open(m, "\\Device\\kdpcSym");
    R.st[5] = try_open(m, "\\??\\SymB");
    R.st[6] = kdpc_file_open(m, "\\??\\SymA\\inner", FILE_READ_DATA, &R.f);
    if (R.f != NULL) {
        R.name_len = R.f->FileName.Length;
        memcpy(R.name, R.f->FileName.Buffer, R.name_len < 60 ? R.name_len : 60);
        R.st[7] = R.f->DeviceObject == R.dev ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
        (void)kdpc_file_close(R.f);
    }
}

static void test_link_opens_under_every_dos_device_spelling(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_machine_run(m, spellings_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(R.st[i], STATUS_SUCCESS);
    assert_int_equal(R.st[5], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    assert_int_equal(R.st[7], STATUS_SUCCESS);
    static const WCHAR want[] = u"\\inner";
    assert_int_equal(R.name_len, sizeof(want) - sizeof(WCHAR));
    assert_memory_equal(R.name, want, sizeof(want) - sizeof(WCHAR));
    assert_int_equal(R.creates, 5);
    assert_ptr_equal(R.created_on, R.dev);
    kdpc_machine_destroy(m);
}

static void collision_body(void *ctx)
{
    kdpc_machine *m = ctx;
    assert_int_equal(kdpc_driver_load(m, "tsym", Entry, &R.drv), STATUS_SUCCESS);
    UNICODE_STRING a = us(u"\\??\\SymA"), a2 = us(u"\\DosDevices\\syma"),
                   dev = us(u"\\Device\\kdpcSym"), other = us(u"\\Device\\Other");
    R.st[0] = IoCreateSymbolicLink(&a, &dev);
    R.st[1] = IoCreateSymbolicLink(&a2, &other);  /* same link, other spelling */
    R.st[2] = IoCreateSymbolicLink(&dev, &other); /* a device's name */
    R.st[3] = try_open(m, "\\??\\SymA");          /* the first link still stands */
}

static void test_create_twice_or_over_a_device_name_collides(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_machine_run(m, collision_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(R.st[2], STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

static void delete_body(void *ctx)
{
    kdpc_machine *m = ctx;
    assert_int_equal(kdpc_driver_load(m, "tsym", Entry, &R.drv), STATUS_SUCCESS);
    UNICODE_STRING a = us(u"\\DosDevices\\SymA"), a2 = us(u"\\??\\SYMA"),
                   dev = us(u"\\Device\\kdpcSym");
    R.st[0] = IoCreateSymbolicLink(&a, &dev);
    R.st[1] = kdpc_file_open(m, "\\??\\SymA", FILE_READ_DATA, &R.f);
    R.st[2] = IoDeleteSymbolicLink(&a2); /* any spelling and case */
    R.st[3] = try_open(m, "\\??\\SymA");
    R.st[4] = IoDeleteSymbolicLink(&a);
    R.st[5] = kdpc_file_ioctl(R.f, 0, NULL, 0, NULL, 0, NULL); /* the open file stays usable */
    R.st[6] = kdpc_file_close(R.f);
    R.st[7] = IoCreateSymbolicLink(&a, &dev); /* the name is free again */
    R.st[8] = try_open(m, "\\DosDevices\\SymA");
}

static void test_delete_removes_the_name_and_leaves_open_files(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_machine_run(m, delete_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[4], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[5], STATUS_SUCCESS);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    assert_int_equal(R.st[7], STATUS_SUCCESS);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

static NTSTATUS EmptyEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = Dispatch;
    return STATUS_SUCCESS;
}

static void lazy_body(void *ctx)
{
    kdpc_machine *m = ctx;
    assert_int_equal(kdpc_driver_load(m, "tlazy", EmptyEntry, &R.drv), STATUS_SUCCESS);
    UNICODE_STRING a = us(u"\\??\\Later"), dev = us(u"\\Device\\kdpcLater");
    R.st[0] = IoCreateSymbolicLink(&a, &dev);
    R.st[1] = try_open(m, "\\??\\Later"); /* nothing behind it yet */
    R.st[2] = IoCreateDevice(R.drv, 0, &dev, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev);
    R.dev->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    R.st[3] = try_open(m, "\\??\\Later");
    IoDeleteDevice(R.dev);
    R.st[4] = try_open(m, "\\??\\Later"); /* the link outlives the device */
    /* chains: B -> A -> device; a loop ends as not found */
    UNICODE_STRING b = us(u"\\??\\ChainB"), bt = us(u"\\??\\ChainA"), c = us(u"\\??\\ChainA"),
                   ct = us(u"\\Device\\kdpcLater2"), l1 = us(u"\\??\\Loop1"),
                   l2 = us(u"\\??\\Loop2");
    UNICODE_STRING dev2 = us(u"\\Device\\kdpcLater2");
    R.st[5] = IoCreateDevice(R.drv, 0, &dev2, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev2);
    R.dev2->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    R.st[6] = IoCreateSymbolicLink(&b, &bt);
    R.st[7] = IoCreateSymbolicLink(&c, &ct);
    R.st[8] = try_open(m, "\\DosDevices\\ChainB");
    R.st[9] = IoCreateSymbolicLink(&l1, &l2);
    R.st[10] = IoCreateSymbolicLink(&l2, &l1);
    R.st[11] = try_open(m, "\\??\\Loop1");
}

static void test_links_are_followed_at_open_time_and_chains_resolve(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_machine_run(m, lazy_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.st[4], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[5], STATUS_SUCCESS);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    assert_int_equal(R.st[7], STATUS_SUCCESS);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    assert_int_equal(R.st[9], STATUS_SUCCESS);
    assert_int_equal(R.st[10], STATUS_SUCCESS);
    assert_int_equal(R.st[11], STATUS_OBJECT_NAME_NOT_FOUND);
    kdpc_machine_destroy(m);
}

static void bad_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING ok = us(u"\\??\\Fine"), dev = us(u"\\Device\\x"), rel = us(u"Rel"),
                   empty = us(u"");
    UNICODE_STRING nobuf = {4, 4, NULL};
    R.st[0] = IoCreateSymbolicLink(NULL, &dev);
    R.st[1] = IoCreateSymbolicLink(&ok, NULL);
    R.st[2] = IoCreateSymbolicLink(&rel, &dev);
    R.st[3] = IoCreateSymbolicLink(&ok, &rel);
    R.st[4] = IoCreateSymbolicLink(&empty, &dev);
    R.st[5] = IoCreateSymbolicLink(&nobuf, &dev);
    R.st[6] = IoDeleteSymbolicLink(NULL);
    R.st[7] = IoDeleteSymbolicLink(&ok);
}

static void test_bad_names_return_errors(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_machine_run(m, bad_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[1], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[2], STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(R.st[3], STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(R.st[4], STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(R.st[5], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[6], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[7], STATUS_OBJECT_NAME_NOT_FOUND);
    kdpc_machine_destroy(m);
}

static void dispatch_level_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING a = us(u"\\??\\SymA"), dev = us(u"\\Device\\kdpcSym");
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)IoCreateSymbolicLink(&a, &dev);
    KeLowerIrql(old);
}

static void test_create_at_dispatch_level_bug_checks(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    kdpc_status st = kdpc_machine_run(m, dispatch_level_body, m);
    KT_ASSERT_BUGCHECK(m, st, "io.passive_irql", 0xC4);
    kdpc_machine_destroy(m);
}

/* PASSIVE_LEVEL only, as documented: APC_LEVEL is reported too, for create and delete */
static void apc_level_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING a = us(u"\\??\\SymA"), dev = us(u"\\Device\\kdpcSym");
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    R.st[0] = IoCreateSymbolicLink(&a, &dev);
    R.st[1] = IoDeleteSymbolicLink(&a);
    KeLowerIrql(old);
}

static void test_create_and_delete_at_apc_level_are_reported(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    kdpc_status st = kdpc_machine_run(m, apc_level_body, m);
    KT_ASSERT_BUGCHECK(m, st, "io.passive_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], APC_LEVEL);
    kdpc_machine_destroy(m);
    m = setup();
    assert_int_equal(kdpc_rule_set(m, "io.passive_irql", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, apc_level_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[1], STATUS_INVALID_PARAMETER);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_opens_under_every_dos_device_spelling),
        cmocka_unit_test(test_create_twice_or_over_a_device_name_collides),
        cmocka_unit_test(test_delete_removes_the_name_and_leaves_open_files),
        cmocka_unit_test(test_links_are_followed_at_open_time_and_chains_resolve),
        cmocka_unit_test(test_bad_names_return_errors),
        cmocka_unit_test(test_create_at_dispatch_level_bug_checks),
        cmocka_unit_test(test_create_and_delete_at_apc_level_are_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
