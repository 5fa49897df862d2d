/* SPDX-License-Identifier: MIT */
/*
 * test_registry.c - the machine's registry (kdpc/registry.h, kdpc/wdm/registry.h,
 * docs/facts/registry.md): a test fills it natively, a driver reads its
 * parameters in DriverEntry under RegistryPath (ZwOpenKey, ZwQueryValueKey,
 * RtlQueryRegistryValues) and writes back (ZwSetValueKey,
 * RtlWriteRegistryValue); ZwCreateKey dispositions, enumeration order,
 * ZwQueryKey, ZwDeleteKey with open handles, access checks, buffer-size
 * answers, bad input, and zw.passive_irql above PASSIVE_LEVEL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define SVC    "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\treg"
#define PARAMS SVC "\\Parameters"

static struct {
    NTSTATUS st[40];
    ULONG u[16];
    WCHAR name[64];
    USHORT name_len;
    UNICODE_STRING str;
    unsigned calls;
    WCHAR seen[8][16];
    ULONG seen_type[8];
} R;

static kdpc_machine *setup(void)
{
    memset(&R, 0, sizeof(R));
    return kt_machine(1, 7);
}

static void oa_init(OBJECT_ATTRIBUTES *oa, UNICODE_STRING *u, const WCHAR *s, HANDLE root)
{
    RtlInitUnicodeString(u, s);
    InitializeObjectAttributes(oa, u, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, root, NULL);
}

/* ---- native calls ---------------------------------------------------- */

static void test_native_set_get_delete(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_registry_key_exists(m, SVC), 0);
    assert_int_equal(kdpc_registry_set_dword(m, PARAMS, "Speed", 9600), KDPC_OK);
    assert_int_equal(kdpc_registry_key_exists(m, SVC), 1); /* made with the keys above it */
    assert_int_equal(kdpc_registry_key_exists(m, "\\REGISTRY\\machine\\SYSTEM"), 1);
    uint32_t type = 0, v = 0;
    size_t size = 0;
    assert_int_equal(kdpc_registry_get_value(m, PARAMS, "speed", &type, &v, sizeof(v), &size),
                     KDPC_OK);
    assert_int_equal(type, REG_DWORD);
    assert_int_equal(size, 4);
    assert_int_equal(v, 9600);
    assert_int_equal(kdpc_registry_set_string(m, PARAMS, "Port", "COM1"), KDPC_OK);
    WCHAR w[8];
    assert_int_equal(kdpc_registry_get_value(m, PARAMS, "Port", &type, w, sizeof(w), &size),
                     KDPC_OK);
    assert_int_equal(type, REG_SZ);
    assert_int_equal(size, 10); /* "COM1" and its NUL in UTF-16 */
    assert_memory_equal(w, L"COM1", 10);
    /* a small buffer gets the start, *size the whole */
    assert_int_equal(kdpc_registry_get_value(m, PARAMS, "Port", NULL, w, 2, &size), KDPC_OK);
    assert_int_equal(size, 10);
    assert_int_equal(kdpc_registry_delete_value(m, PARAMS, "Port"), KDPC_OK);
    assert_int_equal(kdpc_registry_delete_value(m, PARAMS, "Port"), KDPC_ENOENT);
    assert_int_equal(kdpc_registry_get_value(m, PARAMS, "Port", NULL, NULL, 0, NULL), KDPC_ENOENT);
    assert_int_equal(kdpc_registry_get_value(m, SVC "\\None", "x", NULL, NULL, 0, NULL),
                     KDPC_ENOENT);
    /* a reset empties the registry back to a new machine's keys */
    assert_int_equal(kdpc_registry_set_dword(m, PARAMS, "Speed", 1), KDPC_OK);
    assert_int_equal(kdpc_machine_reset(m, 8), KDPC_OK);
    assert_int_equal(kdpc_registry_key_exists(m, PARAMS), 0);
    assert_int_equal(
        kdpc_registry_key_exists(m, "\\Registry\\Machine\\System\\CurrentControlSet\\Services"), 1);
    assert_int_equal(kdpc_registry_set_dword(m, PARAMS, "Speed", 1), KDPC_OK);
    assert_int_equal(kdpc_registry_delete_key(m, SVC), KDPC_OK); /* with its subkeys */
    assert_int_equal(kdpc_registry_key_exists(m, PARAMS), 0);
    assert_int_equal(kdpc_registry_delete_key(m, SVC), KDPC_ENOENT);
    kdpc_machine_destroy(m);
}

static void test_native_bad_input(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_registry_create_key(NULL, SVC), KDPC_EINVAL);
    assert_int_equal(kdpc_registry_create_key(m, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_registry_create_key(m, "\\Device\\x"), KDPC_EINVAL);
    assert_int_equal(kdpc_registry_create_key(m, "Registry\\Machine"), KDPC_EINVAL);
    assert_int_equal(kdpc_registry_create_key(m, "\\Registry\\Machine\\\\x"), KDPC_EINVAL);
    assert_int_equal(kdpc_registry_create_key(m, "\\Registry\\Machine\\x\\"), KDPC_EINVAL);
    assert_int_equal(kdpc_registry_delete_key(m, "\\Registry"), KDPC_EINVAL);
    assert_int_equal(kdpc_registry_set_value(m, PARAMS, NULL, REG_DWORD, NULL, 0), KDPC_EINVAL);
    assert_int_equal(kdpc_registry_set_value(m, PARAMS, "x", REG_BINARY, NULL, 4), KDPC_EINVAL);
    assert_int_equal(kdpc_registry_set_string(m, PARAMS, "x", NULL), KDPC_EINVAL);
    char longname[300];
    memset(longname, 'a', sizeof(longname));
    memcpy(longname, "\\Registry\\", 10);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(kdpc_registry_create_key(m, longname), KDPC_EINVAL); /* a 289-char name */
    assert_int_equal(kdpc_registry_key_exists(NULL, SVC), 0);
    kdpc_machine_destroy(m);
}

/* ---- a driver reads its parameters ----------------------------------- */

static NTSTATUS CountValues(PWSTR ValueName, ULONG ValueType, PVOID ValueData, ULONG ValueLength,
                            PVOID Context, PVOID EntryContext)
{
    (void)ValueData;
    (void)ValueLength;
    (void)EntryContext;
    assert_ptr_equal(Context, &R);
    if (R.calls < 8) {
        size_t i = 0;
        for (; ValueName != NULL && ValueName[i] != 0 && i < 15; i++)
            R.seen[R.calls][i] = ValueName[i];
        R.seen[R.calls][i] = 0;
        R.seen_type[R.calls] = ValueType;
    }
    R.calls++;
    return STATUS_SUCCESS;
}

static NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void Unload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
}

static NTSTATUS ParamsEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    DriverObject->DriverUnload = Unload;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = Dispatch;
    /* the service key exists: RegistryPath opens */
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, RegistryPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL,
                               NULL);
    HANDLE svc = NULL, params = NULL;
    R.st[0] = ZwOpenKey(&svc, KEY_READ, &oa);
    UNICODE_STRING sub;
    oa_init(&oa, &sub, L"Parameters", svc);
    R.st[1] = ZwOpenKey(&params, KEY_READ | KEY_SET_VALUE, &oa);
    /* ZwQueryValueKey: too small, overflow, whole */
    UNICODE_STRING speed;
    RtlInitUnicodeString(&speed, L"Speed");
    union {
        KEY_VALUE_PARTIAL_INFORMATION p;
        UCHAR raw[64];
    } buf;
    ULONG need = 0;
    R.st[2] = ZwQueryValueKey(params, &speed, KeyValuePartialInformation, &buf, 4, &need);
    R.u[0] = need;
    R.st[3] = ZwQueryValueKey(params, &speed, KeyValuePartialInformation, &buf,
                              (ULONG)offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data) + 2, &need);
    R.u[1] = buf.p.DataLength;
    R.st[4] = ZwQueryValueKey(params, &speed, KeyValuePartialInformation, &buf, sizeof(buf), &need);
    R.u[2] = buf.p.Type;
    memcpy(&R.u[3], buf.p.Data, sizeof(ULONG));
    UNICODE_STRING missing;
    RtlInitUnicodeString(&missing, L"Missing");
    R.st[5] =
        ZwQueryValueKey(params, &missing, KeyValuePartialInformation, &buf, sizeof(buf), &need);
    /* write back */
    ULONG seen = 1;
    UNICODE_STRING seen_name;
    RtlInitUnicodeString(&seen_name, L"Seen");
    R.st[6] = ZwSetValueKey(params, &seen_name, 0, REG_DWORD, &seen, sizeof(seen));
    /* KEY_READ only: setting a value is denied */
    R.st[7] = ZwSetValueKey(svc, &seen_name, 0, REG_DWORD, &seen, sizeof(seen));
    R.st[8] = ZwClose(params);
    R.st[9] = ZwClose(svc);
    R.st[10] = ZwClose(svc); /* closed already */

    /* RtlQueryRegistryValues on the same key, relative to the services key */
    ULONG speed_v = 0, parity = 0, def_dw = 77;
    UNICODE_STRING port = {0, 0, NULL};
    WCHAR fixed_buf[4];
    UNICODE_STRING small = {0, sizeof(fixed_buf), fixed_buf};
    RTL_QUERY_REGISTRY_TABLE t[8];
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = L"Speed";
    t[0].EntryContext = &speed_v;
    t[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[1].Name = L"Parity"; /* missing: the default stands in */
    t[1].EntryContext = &parity;
    t[1].DefaultType = REG_DWORD;
    t[1].DefaultData = &def_dw;
    t[1].DefaultLength = sizeof(def_dw);
    t[2].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[2].Name = L"Port"; /* a string into a buffer allocated for it */
    t[2].EntryContext = &port;
    R.st[11] = RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"treg\\Parameters", t, NULL, NULL);
    R.u[4] = speed_v;
    R.u[5] = parity;
    R.u[6] = port.Length;
    if (port.Buffer != NULL) {
        memcpy(R.name, port.Buffer, port.Length < sizeof(R.name) ? port.Length : sizeof(R.name));
        R.name_len = port.Length;
        ExFreePool(port.Buffer);
    }
    /* the caller's buffer is too small for "COM1" */
    t[2].EntryContext = &small;
    t[2].Flags = RTL_QUERY_REGISTRY_DIRECT;
    memset(&t[3], 0, sizeof(t[3]));
    R.st[12] =
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"treg\\Parameters", &t[2], NULL, NULL);
    /* REQUIRED and missing */
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = L"Missing";
    t[0].EntryContext = &speed_v;
    R.st[13] = RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"treg\\Parameters", t, NULL, NULL);
    /* a routine for every value (Name NULL) */
    memset(t, 0, sizeof(t));
    t[0].QueryRoutine = CountValues;
    R.st[14] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, RegistryPath->Buffer, t, &R, NULL);
    t[0].QueryRoutine = NULL;
    t[0].Flags = RTL_QUERY_REGISTRY_SUBKEY;
    t[0].Name = L"Parameters";
    t[1].QueryRoutine = CountValues;
    R.st[15] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, RegistryPath->Buffer, t, &R, NULL);
    /* a key that is not there, optional or not */
    memset(t, 0, sizeof(t));
    t[0].QueryRoutine = CountValues;
    R.st[16] = RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"nothere", t, &R, NULL);
    R.st[17] = RtlQueryRegistryValues(RTL_REGISTRY_SERVICES | RTL_REGISTRY_OPTIONAL, L"nothere", t,
                                      &R, NULL);
    /* typecheck: Speed is no string */
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK;
    t[0].Name = L"Speed";
    t[0].EntryContext = &port;
    t[0].DefaultType = (REG_SZ << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) | REG_NONE;
    R.st[18] = RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"treg\\Parameters", t, NULL, NULL);
    /* RtlWriteRegistryValue / RtlCheckRegistryKey / RtlDeleteRegistryValue */
    ULONG w = 5;
    R.st[19] = RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"treg\\Parameters", L"Written",
                                     REG_DWORD, &w, sizeof(w));
    R.st[20] = RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"treg\\New", L"Made", REG_DWORD, &w,
                                     sizeof(w)); /* the key is made */
    R.st[21] = RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"treg\\A\\B", L"x", REG_DWORD, &w,
                                     sizeof(w)); /* its parent is missing */
    R.st[22] = RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"treg\\New");
    R.st[23] = RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"treg\\A");
    R.st[24] = RtlCreateRegistryKey(RTL_REGISTRY_SERVICES, L"treg\\A\\B");
    R.st[25] = RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"treg\\A\\B");
    R.st[26] = RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, L"treg\\New", L"Made");
    R.st[27] = RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, L"treg\\New", L"Made");
    R.st[28] = RtlCheckRegistryKey(RTL_REGISTRY_MAXIMUM, L"x");
    return STATUS_SUCCESS;
}

static void params_body(void *ctx)
{
    kdpc_machine *m = ctx;
    PDRIVER_OBJECT drv;
    assert_int_equal(kdpc_driver_load(m, "treg", ParamsEntry, &drv), STATUS_SUCCESS);
    assert_int_equal(kdpc_driver_unload(drv), STATUS_SUCCESS);
}

static void test_driver_reads_parameters(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_registry_set_dword(m, PARAMS, "Speed", 115200), KDPC_OK);
    assert_int_equal(kdpc_registry_set_string(m, PARAMS, "Port", "COM1"), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, params_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    ULONG fixed = (ULONG)offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data);
    assert_int_equal(R.st[2], STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(R.u[0], fixed + 4);
    assert_int_equal(R.st[3], STATUS_BUFFER_OVERFLOW);
    assert_int_equal(R.u[1], 4);
    assert_int_equal(R.st[4], STATUS_SUCCESS);
    assert_int_equal(R.u[2], REG_DWORD);
    assert_int_equal(R.u[3], 115200);
    assert_int_equal(R.st[5], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    assert_int_equal(R.st[7], STATUS_ACCESS_DENIED);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    assert_int_equal(R.st[9], STATUS_SUCCESS);
    assert_int_equal(R.st[10], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[11], STATUS_SUCCESS);
    assert_int_equal(R.u[4], 115200);
    assert_int_equal(R.u[5], 77);
    assert_int_equal(R.u[6], 8);
    assert_int_equal(R.name_len, 8);
    assert_memory_equal(R.name, L"COM1", 8);
    assert_int_equal(R.st[12], STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(R.st[13], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[14], STATUS_SUCCESS); /* the service key has no values */
    assert_int_equal(R.st[15], STATUS_SUCCESS); /* Parameters: Speed, Port, Seen in that order */
    assert_int_equal(R.calls, 3);
    assert_memory_equal(R.seen[0], L"Speed", 12);
    assert_memory_equal(R.seen[1], L"Port", 10);
    assert_memory_equal(R.seen[2], L"Seen", 10);
    assert_int_equal(R.seen_type[1], REG_SZ);
    assert_int_equal(R.st[16], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[17], STATUS_SUCCESS);
    assert_int_equal(R.st[18], STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(R.st[19], STATUS_SUCCESS);
    assert_int_equal(R.st[20], STATUS_SUCCESS);
    assert_int_equal(R.st[21], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[22], STATUS_SUCCESS);
    assert_int_equal(R.st[23], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[24], STATUS_SUCCESS);
    assert_int_equal(R.st[25], STATUS_SUCCESS);
    assert_int_equal(R.st[26], STATUS_SUCCESS);
    assert_int_equal(R.st[27], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[28], STATUS_INVALID_PARAMETER);
    /* what the driver wrote is there for the test */
    uint32_t v = 0;
    assert_int_equal(kdpc_registry_get_value(m, PARAMS, "Seen", NULL, &v, sizeof(v), NULL),
                     KDPC_OK);
    assert_int_equal(v, 1);
    assert_int_equal(kdpc_registry_get_value(m, PARAMS, "Written", NULL, &v, sizeof(v), NULL),
                     KDPC_OK);
    assert_int_equal(v, 5);
    size_t count = 1;
    assert_int_equal(kdpc_pool_outstanding(m, 0, &count, NULL), KDPC_OK);
    assert_int_equal(count, 0); /* the driver freed the string buffer */
    kdpc_machine_destroy(m);
}

/* ---- keys: create, enumerate, query, delete ---------------------------- */

static void keys_body(void *ctx)
{
    (void)ctx;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING u;
    HANDLE root = NULL, a = NULL, b = NULL, v = NULL, x = NULL;
    ULONG disp = 0;
    oa_init(&oa, &u, L"\\Registry\\Machine\\Software\\kdpc", NULL);
    R.st[0] = ZwCreateKey(&root, KEY_ALL_ACCESS, &oa, 0, NULL, REG_OPTION_NON_VOLATILE, &disp);
    R.u[0] = disp;
    R.st[1] = ZwCreateKey(&x, KEY_READ, &oa, 0, NULL, 0, &disp);
    R.u[1] = disp;
    R.st[2] = ZwClose(x);
    /* relative names; subkeys enumerate in name order */
    UNICODE_STRING cls;
    RtlInitUnicodeString(&cls, L"Cls");
    oa_init(&oa, &u, L"beta", root);
    R.st[3] = ZwCreateKey(&b, KEY_ALL_ACCESS, &oa, 0, &cls, 0, NULL);
    oa_init(&oa, &u, L"Alpha", root);
    R.st[4] = ZwCreateKey(&a, KEY_ALL_ACCESS, &oa, 0, NULL, 0, NULL);
    oa_init(&oa, &u, L"vol", root);
    R.st[5] = ZwCreateKey(&v, KEY_ALL_ACCESS, &oa, 0, NULL, REG_OPTION_VOLATILE, NULL);
    oa_init(&oa, &u, L"child", v);
    R.st[6] = ZwCreateKey(&x, KEY_ALL_ACCESS, &oa, 0, NULL, 0, NULL); /* non-volatile child */
    oa_init(&oa, &u, L"missing\\deeper", root);
    R.st[7] = ZwCreateKey(&x, KEY_ALL_ACCESS, &oa, 0, NULL, 0, NULL);
    union {
        KEY_BASIC_INFORMATION b;
        KEY_NODE_INFORMATION n;
        KEY_FULL_INFORMATION f;
        KEY_NAME_INFORMATION nm;
        KEY_VALUE_FULL_INFORMATION vf;
        KEY_VALUE_BASIC_INFORMATION vb;
        UCHAR raw[256];
    } buf;
    ULONG need = 0;
    R.st[8] = ZwEnumerateKey(root, 0, KeyBasicInformation, &buf, sizeof(buf), &need);
    memcpy(R.name, buf.b.Name, buf.b.NameLength);
    R.name_len = (USHORT)buf.b.NameLength;
    R.st[9] = ZwEnumerateKey(root, 1, KeyNodeInformation, &buf, sizeof(buf), &need);
    R.u[2] = buf.n.ClassLength;
    R.u[3] = memcmp(buf.raw + buf.n.ClassOffset, L"Cls", 6) == 0;
    R.st[10] = ZwEnumerateKey(root, 3, KeyBasicInformation, &buf, sizeof(buf), &need);
    /* values: full information, enumeration */
    UNICODE_STRING n1, n2;
    RtlInitUnicodeString(&n1, L"One");
    RtlInitUnicodeString(&n2, L"Two");
    ULONG one = 1;
    ULONGLONG two = 2;
    R.st[11] = ZwSetValueKey(root, &n1, 0, REG_DWORD, &one, sizeof(one));
    R.st[12] = ZwSetValueKey(root, &n2, 0, REG_QWORD, &two, sizeof(two));
    R.st[13] = ZwQueryKey(root, KeyFullInformation, &buf, sizeof(buf), &need);
    R.u[4] = buf.f.SubKeys;
    R.u[5] = buf.f.Values;
    R.u[6] = buf.f.MaxValueDataLen;
    R.u[7] = buf.f.MaxNameLen;
    R.st[14] = ZwEnumerateValueKey(root, 1, KeyValueFullInformation, &buf, sizeof(buf), &need);
    ULONGLONG got = 0;
    memcpy(&got, buf.raw + buf.vf.DataOffset, sizeof(got));
    R.u[8] = (ULONG)got;
    R.u[9] = buf.vf.DataOffset % 4u;
    R.st[15] = ZwEnumerateValueKey(root, 2, KeyValueBasicInformation, &buf, sizeof(buf), &need);
    R.st[16] = ZwQueryKey(a, KeyNameInformation, &buf, sizeof(buf), &need);
    R.u[10] = buf.nm.NameLength;
    memcpy(R.seen[0], buf.nm.Name, 16 * sizeof(WCHAR));
    R.st[17] = ZwDeleteValueKey(root, &n1);
    R.st[18] = ZwDeleteValueKey(root, &n1);
    /* deletion: not with subkeys; a deleted key's handle answers STATUS_KEY_DELETED */
    R.st[19] = ZwDeleteKey(root);
    R.st[20] = ZwDeleteKey(a);
    R.st[21] = ZwSetValueKey(a, &n1, 0, REG_DWORD, &one, sizeof(one));
    R.st[22] = ZwDeleteKey(a);
    R.st[23] = ZwClose(a);
    oa_init(&oa, &u, L"Alpha", root);
    R.st[24] = ZwOpenKey(&x, KEY_READ, &oa);
    /* bad names and handles */
    oa_init(&oa, &u, L"\\Registry\\Machine\\Software\\kdpc\\", NULL);
    R.st[25] = ZwOpenKey(&x, KEY_READ, &oa);
    oa_init(&oa, &u, L"Registry\\Machine", NULL);
    R.st[26] = ZwOpenKey(&x, KEY_READ, &oa);
    oa_init(&oa, &u, L"\\Device\\Foo", NULL);
    R.st[27] = ZwOpenKey(&x, KEY_READ, &oa);
    oa_init(&oa, &u, L"\\beta", root);
    R.st[28] = ZwOpenKey(&x, KEY_READ, &oa);
    R.st[29] =
        ZwQueryKey((HANDLE)(uintptr_t)0x12345, KeyBasicInformation, &buf, sizeof(buf), &need);
    R.st[30] = ZwQueryKey(b, KeyCachedInformation, &buf, sizeof(buf), &need);
    R.st[31] = ZwCreateKey(&x, KEY_READ, &oa, 0, NULL, 0x100, NULL);
    oa.Length = 3;
    R.st[32] = ZwOpenKey(&x, KEY_READ, &oa);
    R.st[33] = ZwOpenKey(NULL, KEY_READ, NULL);
    oa_init(&oa, &u, L"", b); /* the key itself */
    R.st[34] = ZwOpenKey(&x, GENERIC_READ, &oa);
    R.st[35] = ZwFlushKey(x);
    R.st[36] = ZwEnumerateKey(x, 0, KeyBasicInformation, &buf, sizeof(buf), &need);
    R.st[37] = ZwSetValueKey(x, &n1, 0, REG_DWORD, &one, sizeof(one)); /* GENERIC_READ only */
    (void)ZwClose(x);
    (void)ZwClose(b);
    (void)ZwClose(v);
    (void)ZwClose(root);
}

static void test_keys_values_enumeration_deletion(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_machine_run(m, keys_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.u[0], REG_CREATED_NEW_KEY);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.u[1], REG_OPENED_EXISTING_KEY);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    for (int i = 3; i <= 5; i++)
        assert_int_equal(R.st[i], STATUS_SUCCESS);
    assert_int_equal(R.st[6], STATUS_CHILD_MUST_BE_VOLATILE);
    assert_int_equal(R.st[7], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    assert_int_equal(R.name_len, 10);
    assert_memory_equal(R.name, L"Alpha", 10); /* before "beta" */
    assert_int_equal(R.st[9], STATUS_SUCCESS);
    assert_int_equal(R.u[2], 6);
    assert_int_equal(R.u[3], 1);
    assert_int_equal(R.st[10], STATUS_NO_MORE_ENTRIES);
    assert_int_equal(R.st[11], STATUS_SUCCESS);
    assert_int_equal(R.st[12], STATUS_SUCCESS);
    assert_int_equal(R.st[13], STATUS_SUCCESS);
    assert_int_equal(R.u[4], 3);
    assert_int_equal(R.u[5], 2);
    assert_int_equal(R.u[6], 8);
    assert_int_equal(R.u[7], 10);
    assert_int_equal(R.st[14], STATUS_SUCCESS);
    assert_int_equal(R.u[8], 2);
    assert_int_equal(R.u[9], 0);
    assert_int_equal(R.st[15], STATUS_NO_MORE_ENTRIES);
    assert_int_equal(R.st[16], STATUS_SUCCESS);
    static const char want[] = "\\REGISTRY\\MACHINE\\Software\\kdpc\\Alpha";
    assert_int_equal(R.u[10], (sizeof(want) - 1) * 2);
    for (int i = 0; i < 16; i++)
        assert_int_equal(R.seen[0][i], (WCHAR)want[i]);
    assert_int_equal(R.st[17], STATUS_SUCCESS);
    assert_int_equal(R.st[18], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[19], STATUS_CANNOT_DELETE);
    assert_int_equal(R.st[20], STATUS_SUCCESS);
    assert_int_equal(R.st[21], STATUS_KEY_DELETED);
    assert_int_equal(R.st[22], STATUS_KEY_DELETED);
    assert_int_equal(R.st[23], STATUS_SUCCESS);
    assert_int_equal(R.st[24], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[25], STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(R.st[26], STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(R.st[27], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[28], STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(R.st[29], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[30], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[31], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[32], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[33], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[34], STATUS_SUCCESS);
    assert_int_equal(R.st[35], STATUS_SUCCESS);
    assert_int_equal(R.st[36], STATUS_NO_MORE_ENTRIES);
    assert_int_equal(R.st[37], STATUS_ACCESS_DENIED);
    /* the native side sees the volatile key and not the deleted one */
    assert_int_equal(kdpc_registry_key_exists(m, "\\Registry\\Machine\\Software\\kdpc\\vol"), 1);
    assert_int_equal(kdpc_registry_key_exists(m, "\\Registry\\Machine\\Software\\kdpc\\alpha"), 0);
    kdpc_machine_destroy(m);
}

/* A handle left open and a deleted key still referenced are freed with the machine. */
static void leak_body(void *ctx)
{
    (void)ctx;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING u;
    HANDLE h = NULL;
    oa_init(&oa, &u, L"\\Registry\\Machine\\Software\\left", NULL);
    R.st[0] = ZwCreateKey(&h, KEY_ALL_ACCESS, &oa, 0, NULL, 0, NULL);
    R.st[1] = ZwDeleteKey(h);
}

static void test_open_handles_freed_with_machine(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    assert_int_equal(kdpc_machine_run(m, leak_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    kdpc_machine_destroy(m); /* ASan/valgrind: nothing leaks */
}

/* ---- IRQL ------------------------------------------------------------- */

static void dispatch_body(void *ctx)
{
    bool raise = *(bool *)ctx;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING u;
    HANDLE h = NULL;
    oa_init(&oa, &u, L"\\Registry\\Machine\\Software", NULL);
    KIRQL old = PASSIVE_LEVEL;
    if (raise)
        KeRaiseIrql(DISPATCH_LEVEL, &old);
    R.st[0] = ZwOpenKey(&h, KEY_READ, &oa); /* the broken twin: at DISPATCH_LEVEL */
    if (raise)
        KeLowerIrql(old);
    if (NT_SUCCESS(R.st[0]))
        (void)ZwClose(h);
}

static void test_zw_above_passive_is_bugcheck(void **state)
{
    (void)state;
    kdpc_machine *m = setup();
    bool raise = true;
    kdpc_status st = kdpc_machine_run(m, dispatch_body, &raise);
    KT_ASSERT_BUGCHECK(m, st, "zw.passive_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x2001F);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], DISPATCH_LEVEL);
    kdpc_machine_destroy(m);
    /* the fixed twin, at PASSIVE_LEVEL, is clean */
    m = setup();
    raise = false;
    assert_int_equal(kdpc_machine_run(m, dispatch_body, &raise), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    KT_ASSERT_NO_VIOLATION(m, "zw.passive_irql");
    kdpc_machine_destroy(m);
}

/* The x64 layouts Windows documents: the tests above use offsetof, so only fixed numbers catch a
 * structure that differs from Windows' (a driver's own size arithmetic would then be wrong). */
static void test_information_layouts(void **state)
{
    (void)state;
    assert_int_equal(offsetof(KEY_VALUE_BASIC_INFORMATION, Name), 12);
    assert_int_equal(offsetof(KEY_VALUE_FULL_INFORMATION, DataOffset), 8);
    assert_int_equal(offsetof(KEY_VALUE_FULL_INFORMATION, Name), 20);
    assert_int_equal(offsetof(KEY_VALUE_PARTIAL_INFORMATION, DataLength), 8);
    assert_int_equal(offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data), 12);
    assert_int_equal(offsetof(KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, Data), 8);
    assert_int_equal(offsetof(KEY_BASIC_INFORMATION, NameLength), 12);
    assert_int_equal(offsetof(KEY_BASIC_INFORMATION, Name), 16);
    assert_int_equal(offsetof(KEY_NODE_INFORMATION, Name), 24);
    assert_int_equal(offsetof(KEY_FULL_INFORMATION, SubKeys), 20);
    assert_int_equal(offsetof(KEY_FULL_INFORMATION, Class), 44);
    assert_int_equal(offsetof(KEY_NAME_INFORMATION, Name), 4);
    assert_int_equal(sizeof(RTL_QUERY_REGISTRY_TABLE), 0x38);
    assert_int_equal(offsetof(RTL_QUERY_REGISTRY_TABLE, DefaultType), 0x20);
    assert_int_equal(KeyValueBasicInformation, 0);
    assert_int_equal(KeyValueFullInformation, 1);
    assert_int_equal(KeyValuePartialInformation, 2);
    assert_int_equal(KeyValuePartialInformationAlign64, 4);
    assert_int_equal(KeyBasicInformation, 0);
    assert_int_equal(KeyNodeInformation, 1);
    assert_int_equal(KeyFullInformation, 2);
    assert_int_equal(KeyNameInformation, 3);
    assert_int_equal(KEY_READ, 0x20019);
    assert_int_equal(KEY_WRITE, 0x20006);
    assert_int_equal(KEY_ALL_ACCESS, 0xF003F);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_set_get_delete),
        cmocka_unit_test(test_native_bad_input),
        cmocka_unit_test(test_driver_reads_parameters),
        cmocka_unit_test(test_keys_values_enumeration_deletion),
        cmocka_unit_test(test_open_handles_freed_with_machine),
        cmocka_unit_test(test_zw_above_passive_is_bugcheck),
        cmocka_unit_test(test_information_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
