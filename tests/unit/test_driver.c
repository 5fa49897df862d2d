/* SPDX-License-Identifier: MIT */
/*
 * test_driver.c - driver and device objects: kdpc_driver_load /
 * kdpc_driver_unload (include/kdpc/driver.h), IoCreateDevice /
 * IoDeleteDevice (include/kdpc/wdm/io.h), the device's embedded DPC
 * (dpc-irql.md 5.1) and a clean unload.
 *
 * Observations are recorded by simulated code and asserted after
 * kdpc_machine_run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

/* WCHAR is 16 bits; u"..." literals are char16_t (uint_least16_t), the same type. */
static const WCHAR kDriverName[] = u"\\Driver\\tdrv";
static const WCHAR kRegistryTail[] = u"\\tdrv";
static WCHAR kDevName1[] = u"\\Device\\kdpcTest1";
static WCHAR kDevName2[] = u"\\Device\\kdpcTest2";

static UNICODE_STRING ustr(WCHAR *buf, size_t chars_with_nul)
{
    UNICODE_STRING u;
    u.Buffer = buf;
    u.Length = (USHORT)((chars_with_nul - 1) * sizeof(WCHAR));
    u.MaximumLength = (USHORT)(chars_with_nul * sizeof(WCHAR));
    return u;
}
#define USTR(arr) ustr((arr), sizeof(arr) / sizeof((arr)[0]))

#define NAME_MAX_CHARS 128

static struct {
    kdpc_machine *m;
    NTSTATUS st[24];
    NTSTATUS entry_ret;
    volatile LONG entry_calls, unload_calls, dpc_calls;
    KIRQL entry_irql, unload_irql;
    PDRIVER_OBJECT entry_drv, unload_drv, drv, drv2;
    WCHAR name[NAME_MAX_CHARS], reg[NAME_MAX_CHARS];
    USHORT name_len, reg_len;
    CSHORT drv_type;
    PDEVICE_OBJECT dev[8];
    ULONG flags_inside, flags[8];
    BOOLEAN ok[32];
    kdpc_machine *machine_of;
} R;

static void reset(void)
{
    memset(&R, 0, sizeof(R));
}

static void copy_ustr(WCHAR *dst, USHORT *len, const UNICODE_STRING *u)
{
    *len = u->Length;
    size_t n = u->Length / sizeof(WCHAR);
    if (n >= NAME_MAX_CHARS)
        n = NAME_MAX_CHARS - 1;
    if (u->Buffer != NULL)
        memcpy(dst, u->Buffer, n * sizeof(WCHAR));
    dst[n] = 0;
}

static size_t wlen(const WCHAR *s)
{
    size_t n = 0;
    while (s[n] != 0)
        n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* kdpc_driver_load                                                    */

static NTSTATUS RecordingEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    R.entry_calls++;
    R.entry_irql = KeGetCurrentIrql();
    R.entry_drv = DriverObject;
    R.drv_type = DriverObject->Type;
    copy_ustr(R.name, &R.name_len, &DriverObject->DriverName);
    copy_ustr(R.reg, &R.reg_len, RegistryPath);
    return R.entry_ret;
}

static void load_entry(void *ctx)
{
    (void)ctx;
    R.st[0] = kdpc_driver_load(R.m, "tdrv", RecordingEntry, &R.drv);
}

static void test_load_calls_driver_entry_at_passive_with_names(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 1);
    R.m = m;
    R.entry_ret = STATUS_SUCCESS;
    assert_int_equal(kdpc_machine_run(m, load_entry, NULL), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.entry_calls, 1);
    assert_int_equal(R.entry_irql, PASSIVE_LEVEL); /* 1.6: DriverEntry at PASSIVE */
    assert_non_null(R.drv);
    assert_ptr_equal(R.entry_drv, R.drv);
    assert_int_equal(R.drv_type, IO_TYPE_DRIVER);
    /* DriverName "\Driver\tdrv" in UTF-16, Length in bytes without the NUL */
    size_t n = wlen(kDriverName);
    assert_int_equal(R.name_len, n * sizeof(WCHAR));
    assert_memory_equal(R.name, kDriverName, n * sizeof(WCHAR));
    /* RegistryPath ends in "\tdrv" */
    size_t t = wlen(kRegistryTail);
    size_t r = R.reg_len / sizeof(WCHAR);
    assert_true(r > t);
    assert_memory_equal(R.reg + (r - t), kRegistryTail, t * sizeof(WCHAR));
    kdpc_machine_destroy(m);
}

static void test_load_returns_what_driver_entry_returned(void **state)
{
    (void)state;
    /* an informational success status comes back as it is, and the driver exists */
    reset();
    kdpc_machine *m = kt_machine(1, 2);
    R.m = m;
    R.entry_ret = (NTSTATUS)0x40000001L;
    assert_int_equal(kdpc_machine_run(m, load_entry, NULL), KDPC_OK);
    assert_int_equal(R.st[0], (NTSTATUS)0x40000001L);
    assert_non_null(R.drv);
    kdpc_machine_destroy(m);

    /* a failure comes back as it is, and leaves no driver object */
    reset();
    m = kt_machine(1, 2);
    R.m = m;
    R.entry_ret = STATUS_DEVICE_NOT_READY;
    R.drv = (PDRIVER_OBJECT)(uintptr_t)0x1234; /* must be overwritten with NULL */
    assert_int_equal(kdpc_machine_run(m, load_entry, NULL), KDPC_OK);
    assert_int_equal(R.entry_calls, 1);
    assert_int_equal(R.st[0], STATUS_DEVICE_NOT_READY);
    assert_null(R.drv);
    kdpc_machine_destroy(m);
}

static void bad_load_entry(void *ctx)
{
    kdpc_machine *other = ctx;
    PDRIVER_OBJECT d;
    int k = 0;
    d = (PDRIVER_OBJECT)(uintptr_t)0x1234;
    R.st[k++] = kdpc_driver_load(NULL, "tdrv", RecordingEntry, &d);
    R.st[k++] = kdpc_driver_load(R.m, NULL, RecordingEntry, &d);
    R.st[k++] = kdpc_driver_load(R.m, "tdrv", NULL, &d);
    R.st[k++] = kdpc_driver_load(R.m, "tdrv", RecordingEntry, NULL);
    /* a machine that is not the one running this code */
    R.st[k++] = kdpc_driver_load(other, "tdrv", RecordingEntry, &d);
    /* above PASSIVE_LEVEL */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    R.st[k++] = kdpc_driver_load(R.m, "tdrv", RecordingEntry, &d);
    KeLowerIrql(old);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    R.st[k++] = kdpc_driver_load(R.m, "tdrv", RecordingEntry, &d);
    KeLowerIrql(old);
    R.ok[0] = d == NULL;
    R.st[k] = (NTSTATUS)k; /* count */
}

static void test_load_with_bad_arguments_or_context_returns_invalid_parameter(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_machine *other = kt_machine(1, 3);
    R.m = m;
    /* outside any run (a host thread) */
    PDRIVER_OBJECT d = (PDRIVER_OBJECT)(uintptr_t)0x1234;
    assert_int_equal(kdpc_driver_load(m, "tdrv", RecordingEntry, &d), STATUS_INVALID_PARAMETER);
    assert_null(d);
    assert_int_equal(R.entry_calls, 0);

    assert_int_equal(kdpc_machine_run(m, bad_load_entry, other), KDPC_OK);
    assert_int_equal(R.st[7], 7);
    for (int k = 0; k < 7; k++) {
        if (R.st[k] != STATUS_INVALID_PARAMETER)
            fail_msg("bad load #%d returned 0x%08x, expected STATUS_INVALID_PARAMETER", k,
                     (unsigned)R.st[k]);
    }
    assert_true(R.ok[0]);
    assert_int_equal(R.entry_calls, 0); /* DriverEntry never called */
    kdpc_machine_destroy(other);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* DO_DEVICE_INITIALIZING                                              */

static NTSTATUS DeviceEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    R.st[10] = IoCreateDevice(DriverObject, 32, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[0]);
    R.st[11] = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[1]);
    if (R.dev[0] != NULL)
        R.flags_inside = R.dev[0]->Flags;
    return STATUS_SUCCESS;
}

static void initializing_entry(void *ctx)
{
    (void)ctx;
    R.st[0] = kdpc_driver_load(R.m, "tdrv", DeviceEntry, &R.drv);
    if (R.st[0] != STATUS_SUCCESS)
        return;
    R.flags[0] = R.dev[0]->Flags;
    R.flags[1] = R.dev[1]->Flags;
    R.st[1] = IoCreateDevice(R.drv, 16, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[2]);
    if (R.st[1] == STATUS_SUCCESS) {
        KeStallExecutionProcessor(1);
        R.flags[2] = R.dev[2]->Flags;
        R.flags[3] = R.dev[0]->Flags;
    }
}

static void test_devices_created_in_driver_entry_lose_initializing_flag(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 4);
    R.m = m;
    assert_int_equal(kdpc_machine_run(m, initializing_entry, NULL), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[10], STATUS_SUCCESS);
    assert_int_equal(R.st[11], STATUS_SUCCESS);
    assert_true(R.flags_inside & DO_DEVICE_INITIALIZING); /* set while DriverEntry runs */
    assert_false(R.flags[0] & DO_DEVICE_INITIALIZING);    /* cleared when it returned */
    assert_false(R.flags[1] & DO_DEVICE_INITIALIZING);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_true(R.flags[2] & DO_DEVICE_INITIALIZING); /* created later: the driver clears it */
    assert_false(R.flags[3] & DO_DEVICE_INITIALIZING);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoCreateDevice / IoDeleteDevice                                     */

static NTSTATUS EmptyEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)DriverObject;
    (void)RegistryPath;
    return STATUS_SUCCESS;
}

static void EmptyUnload(PDRIVER_OBJECT DriverObject)
{
    R.unload_calls++;
    R.unload_irql = KeGetCurrentIrql();
    R.unload_drv = DriverObject;
}

static const ULONG kExtSizes[5] = {1, 7, 24, 100, 4096};

static BOOLEAN all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0)
            return FALSE;
    }
    return TRUE;
}

static void extension_entry(void *ctx)
{
    (void)ctx;
    R.st[0] = kdpc_driver_load(R.m, "tdrv", EmptyEntry, &R.drv);
    if (R.st[0] != STATUS_SUCCESS)
        return;
    /* two rounds: the second reuses memory the first one dirtied */
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 5; k++) {
            PDEVICE_OBJECT d = NULL;
            NTSTATUS st =
                IoCreateDevice(R.drv, kExtSizes[k], NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
            R.st[1 + k] |= st;
            if (st != STATUS_SUCCESS || d == NULL)
                continue;
            unsigned char *ext = d->DeviceExtension;
            BOOLEAN ok = ext != NULL && ((uintptr_t)ext % 16u) == 0 && all_zero(ext, kExtSizes[k]);
            if (!ok)
                R.ok[10 * round + k] = TRUE; /* TRUE marks a failure */
            if (ext != NULL)
                memset(ext, 0xA5, kExtSizes[k]); /* the whole requested size is usable */
            IoDeleteDevice(d);
        }
    }
}

static void test_create_device_extension_is_zeroed_aligned_and_sized(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 5);
    R.m = m;
    assert_int_equal(kdpc_machine_run(m, extension_entry, NULL), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(R.st[1 + k], STATUS_SUCCESS);
        if (R.ok[k] || R.ok[10 + k])
            fail_msg("extension of %u bytes not zeroed or not 16-byte aligned",
                     (unsigned)kExtSizes[k]);
    }
    kdpc_machine_destroy(m);
}

static void fields_entry(void *ctx)
{
    (void)ctx;
    R.st[0] = kdpc_driver_load(R.m, "tdrv", EmptyEntry, &R.drv);
    if (R.st[0] != STATUS_SUCCESS)
        return;
    R.st[1] =
        IoCreateDevice(R.drv, 8, NULL, FILE_DEVICE_DISK, FILE_DEVICE_SECURE_OPEN, FALSE, &R.dev[0]);
    R.st[2] = IoCreateDevice(R.drv, 8, NULL, FILE_DEVICE_SERIAL_PORT, 0, TRUE, &R.dev[1]);
    R.st[3] = IoCreateDevice(R.drv, 8, NULL, FILE_DEVICE_NETWORK, 0, FALSE, &R.dev[2]);
    if (R.st[1] != STATUS_SUCCESS || R.st[2] != STATUS_SUCCESS || R.st[3] != STATUS_SUCCESS)
        return;
    /* newest first: dev2 -> dev1 -> dev0 */
    R.ok[0] = R.drv->DeviceObject == R.dev[2];
    R.ok[1] = R.dev[2]->NextDevice == R.dev[1];
    R.ok[2] = R.dev[1]->NextDevice == R.dev[0];
    R.ok[3] = R.dev[0]->NextDevice == NULL;
    for (int k = 0; k < 3; k++) {
        PDEVICE_OBJECT d = R.dev[k];
        R.ok[4 + k] = d->DriverObject == R.drv && d->Type == IO_TYPE_DEVICE && d->StackSize == 1;
        R.flags[k] = d->Flags;
    }
    R.ok[7] = R.dev[0]->DeviceType == FILE_DEVICE_DISK &&
              R.dev[0]->Characteristics == FILE_DEVICE_SECURE_OPEN;
    R.ok[8] = R.dev[1]->DeviceType == FILE_DEVICE_SERIAL_PORT;
    /* 5.1: every device embeds its DPC object; not queued before IoInitializeDpcRequest */
    R.ok[9] = R.dev[0]->Dpc.DpcData == NULL;
    /* delete the middle one, then the head */
    IoDeleteDevice(R.dev[1]);
    R.ok[10] = R.drv->DeviceObject == R.dev[2] && R.dev[2]->NextDevice == R.dev[0];
    IoDeleteDevice(R.dev[2]);
    R.ok[11] = R.drv->DeviceObject == R.dev[0] && R.dev[0]->NextDevice == NULL;
    IoDeleteDevice(R.dev[0]);
    R.ok[12] = R.drv->DeviceObject == NULL;
}

static void test_create_device_fields_and_links_newest_first_and_delete_unlinks(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 6);
    R.m = m;
    assert_int_equal(kdpc_machine_run(m, fields_entry, NULL), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    const char *what[13] = {"DeviceObject is newest",
                            "dev2->dev1",
                            "dev1->dev0",
                            "dev0 is last",
                            "dev0 fields",
                            "dev1 fields",
                            "dev2 fields",
                            "dev0 type/characteristics",
                            "dev1 type",
                            "embedded DPC idle",
                            "delete middle",
                            "delete head",
                            "delete last"};
    for (int k = 0; k < 13; k++) {
        if (!R.ok[k])
            fail_msg("%s", what[k]);
    }
    assert_false(R.flags[0] & DO_EXCLUSIVE);
    assert_true(R.flags[1] & DO_EXCLUSIVE); /* Exclusive TRUE */
    assert_false(R.flags[2] & DO_EXCLUSIVE);
    kdpc_machine_destroy(m);
}

static void names_entry(void *ctx)
{
    (void)ctx;
    R.st[0] = kdpc_driver_load(R.m, "tdrv", EmptyEntry, &R.drv);
    R.st[1] = kdpc_driver_load(R.m, "tdrv2", EmptyEntry, &R.drv2);
    if (R.st[0] != STATUS_SUCCESS || R.st[1] != STATUS_SUCCESS)
        return;
    UNICODE_STRING n1 = USTR(kDevName1);
    UNICODE_STRING n2 = USTR(kDevName2);
    PDEVICE_OBJECT d = NULL;
    R.st[2] = IoCreateDevice(R.drv, 0, &n1, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[0]);
    R.st[3] = IoCreateDevice(R.drv, 0, &n1, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
    R.st[4] = IoCreateDevice(R.drv2, 0, &n1, FILE_DEVICE_UNKNOWN, 0, FALSE, &d); /* global */
    R.st[5] = IoCreateDevice(R.drv, 0, &n2, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[1]);
    /* unnamed devices never collide */
    R.st[6] = IoCreateDevice(R.drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[2]);
    R.st[7] = IoCreateDevice(R.drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[3]);
    R.ok[0] = R.drv->DeviceObject == R.dev[3]; /* the failed creates linked nothing */
    if (R.dev[0] != NULL) {
        R.ok[1] = R.dev[0]->DeviceName.Length == n1.Length &&
                  memcmp(R.dev[0]->DeviceName.Buffer, kDevName1, n1.Length) == 0;
        IoDeleteDevice(R.dev[0]);
    }
    /* the name is free again once its device is deleted */
    R.st[8] = IoCreateDevice(R.drv2, 0, &n1, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[4]);
}

static void test_create_device_with_name_in_use_returns_name_collision(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 7);
    R.m = m;
    assert_int_equal(kdpc_machine_run(m, names_entry, NULL), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(R.st[4], STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(R.st[5], STATUS_SUCCESS);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    assert_int_equal(R.st[7], STATUS_SUCCESS);
    assert_true(R.ok[0]);
    assert_true(R.ok[1]);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

static void null_create_entry(void *ctx)
{
    (void)ctx;
    R.st[0] = kdpc_driver_load(R.m, "tdrv", EmptyEntry, &R.drv);
    if (R.st[0] != STATUS_SUCCESS)
        return;
    PDEVICE_OBJECT d = NULL;
    R.st[1] = IoCreateDevice(R.drv, 16, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, NULL);
    R.st[2] = IoCreateDevice(NULL, 16, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
    R.ok[0] = d == NULL;
    R.ok[1] = R.drv->DeviceObject == NULL;
}

static void test_create_device_with_null_output_or_driver_returns_invalid_parameter(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 8);
    R.m = m;
    assert_int_equal(kdpc_machine_run(m, null_create_entry, NULL), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[2], STATUS_INVALID_PARAMETER);
    assert_true(R.ok[0]);
    assert_true(R.ok[1]); /* nothing linked */
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* kdpc_driver_unload                                                  */

static void unload_entry(void *ctx)
{
    (void)ctx;
    R.st[0] = kdpc_driver_load(R.m, "tdrv", EmptyEntry, &R.drv);
    if (R.st[0] != STATUS_SUCCESS)
        return;
    R.machine_of = kdpc_driver_machine(R.drv);
    R.ok[0] = kdpc_driver_machine(NULL) == NULL;
    /* no DriverUnload: the driver cannot be unloaded */
    R.st[1] = kdpc_driver_unload(R.drv);
    R.ok[1] = R.unload_calls == 0;
    /* a device the driver leaves behind is freed with it: its name becomes free */
    UNICODE_STRING n1 = USTR(kDevName1);
    R.st[2] = IoCreateDevice(R.drv, 0, &n1, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[0]);
    R.drv->DriverUnload = EmptyUnload;
    R.st[3] = kdpc_driver_unload(R.drv);
    R.st[4] = kdpc_driver_load(R.m, "tdrv2", EmptyEntry, &R.drv2);
    if (R.st[4] == STATUS_SUCCESS)
        R.st[5] = IoCreateDevice(R.drv2, 0, &n1, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev[1]);
    R.st[6] = kdpc_driver_unload(NULL);
}

static void test_unload_calls_driver_unload_and_needs_one(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 9);
    R.m = m;
    assert_int_equal(kdpc_machine_run(m, unload_entry, NULL), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_ptr_equal(R.machine_of, m); /* kdpc_driver_machine */
    assert_true(R.ok[0]);
    assert_int_equal(R.st[1], STATUS_INVALID_DEVICE_REQUEST);
    assert_true(R.ok[1]);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.unload_calls, 1);
    assert_int_equal(R.unload_irql, PASSIVE_LEVEL); /* 1.6: Unload at PASSIVE */
    assert_ptr_equal(R.unload_drv, R.drv);
    assert_int_equal(R.st[4], STATUS_SUCCESS);
    assert_int_equal(R.st[5], STATUS_SUCCESS);
    assert_int_equal(R.st[6], STATUS_INVALID_PARAMETER);
    kdpc_machine_destroy(m);
}

/* A clean unload: the device DPC may still be queued on CPU 1 when
 * DriverUnload starts; KeFlushQueuedDpcs lets it run before IoDeleteDevice. */
static void SlowDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    for (int i = 0; i < 5; i++)
        KeStallExecutionProcessor(1);
    R.dpc_calls++;
}

static NTSTATUS DpcEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st = IoCreateDevice(DriverObject, 64, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    IoInitializeDpcRequest(dev, SlowDpcForIsr); /* 5.1 */
    KeSetTargetProcessorDpc(&dev->Dpc, 1);
    return STATUS_SUCCESS;
}

static void FlushingUnload(PDRIVER_OBJECT DriverObject)
{
    R.unload_calls++;
    R.ok[0] = R.dpc_calls == 0; /* observed: the DPC had not run yet (informational) */
    KeFlushQueuedDpcs();
    R.ok[1] = R.dpc_calls == 1;
    IoDeleteDevice(DriverObject->DeviceObject);
}

static void clean_unload_entry(void *ctx)
{
    (void)ctx;
    R.st[0] = kdpc_driver_load(R.m, "tdrv", DpcEntry, &R.drv);
    if (R.st[0] != STATUS_SUCCESS)
        return;
    R.drv->DriverUnload = FlushingUnload;
    IoRequestDpc(R.drv->DeviceObject, NULL, NULL);
    R.st[1] = kdpc_driver_unload(R.drv);
}

static void test_clean_unload_with_flush_records_no_violation(void **state)
{
    (void)state;
    int still_queued = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        reset();
        kdpc_machine *m = kt_machine(2, seed);
        R.m = m;
        assert_int_equal(kdpc_machine_run(m, clean_unload_entry, NULL), KDPC_OK);
        assert_int_equal(R.st[0], STATUS_SUCCESS);
        assert_int_equal(R.st[1], STATUS_SUCCESS);
        assert_int_equal(R.unload_calls, 1);
        assert_true(R.ok[1]); /* KeFlushQueuedDpcs returned after the DPC ran */
        assert_int_equal(R.dpc_calls, 1);
        KT_ASSERT_NO_VIOLATION(m, "unload.pending");
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        still_queued += R.ok[0];
        kdpc_machine_destroy(m);
    }
    /* the seeds include runs where the flush really had to wait */
    assert_true(still_queued > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_calls_driver_entry_at_passive_with_names),
        cmocka_unit_test(test_load_returns_what_driver_entry_returned),
        cmocka_unit_test(test_load_with_bad_arguments_or_context_returns_invalid_parameter),
        cmocka_unit_test(test_devices_created_in_driver_entry_lose_initializing_flag),
        cmocka_unit_test(test_create_device_extension_is_zeroed_aligned_and_sized),
        cmocka_unit_test(test_create_device_fields_and_links_newest_first_and_delete_unlinks),
        cmocka_unit_test(test_create_device_with_name_in_use_returns_name_collision),
        cmocka_unit_test(test_create_device_with_null_output_or_driver_returns_invalid_parameter),
        cmocka_unit_test(test_unload_calls_driver_unload_and_needs_one),
        cmocka_unit_test(test_clean_unload_with_flush_records_no_violation),
    };
    return cmocka_run_group_tests_name("driver", tests, NULL, NULL);
}
