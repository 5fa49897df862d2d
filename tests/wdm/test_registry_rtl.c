/* SPDX-License-Identifier: MIT */
/*
 * test_registry_rtl.c - RtlQueryRegistryValues in detail (kdpc/wdm/registry.h,
 * docs/facts/registry.md section 3): RTL_REGISTRY_HANDLE, TOPKEY after SUBKEY,
 * NOVALUE, DELETE, REG_MULTI_SZ string by string (and whole with NOEXPAND),
 * REG_EXPAND_SZ as REG_SZ, DIRECT storage of data larger than a ULONG (negative
 * and positive size header, too small), string defaults, a routine's error
 * ending the call, bad tables; the Zw information classes not covered
 * elsewhere; the native calls from simulated code; zw.passive_irql for an Rtl
 * helper.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define KEY "\\Registry\\Machine\\Software\\rtlq"

static struct {
    NTSTATUS st[32];
    unsigned calls;
    ULONG types[16];
    ULONG lens[16];
    WCHAR first[16][8];
    ULONG u[16];
    UCHAR blob[32];
} R;

static NTSTATUS Record(PWSTR ValueName, ULONG ValueType, PVOID ValueData, ULONG ValueLength,
                       PVOID Context, PVOID EntryContext)
{
    (void)Context;
    (void)EntryContext;
    if (R.calls < 16) {
        R.types[R.calls] = ValueType;
        R.lens[R.calls] = ValueLength;
        if (ValueType == REG_SZ && ValueData != NULL)
            memcpy(R.first[R.calls], ValueData, ValueLength < 14 ? ValueLength : 14);
        if (ValueName == NULL)
            R.first[R.calls][7] = 0x7777; /* NOVALUE: no name */
    }
    R.calls++;
    return STATUS_SUCCESS;
}

static NTSTATUS Fail(PWSTR ValueName, ULONG ValueType, PVOID ValueData, ULONG ValueLength,
                     PVOID Context, PVOID EntryContext)
{
    (void)ValueName;
    (void)ValueType;
    (void)ValueData;
    (void)ValueLength;
    (void)Context;
    (void)EntryContext;
    R.calls++;
    return STATUS_DEVICE_CONFIGURATION_ERROR;
}

static void query_body(void *ctx)
{
    kdpc_machine *m = ctx;
    /* the native calls work from simulated code too */
    static const WCHAR multi[] = L"ab\0cde\0";
    R.st[0] =
        kdpc_registry_set_value(m, KEY, "Multi", REG_MULTI_SZ, multi, sizeof(multi)) == KDPC_OK
            ? STATUS_SUCCESS
            : STATUS_UNSUCCESSFUL;
    static const WCHAR exp[] = L"%SystemRoot%";
    (void)kdpc_registry_set_value(m, KEY, "Exp", REG_EXPAND_SZ, exp, sizeof(exp));
    static const UCHAR bin[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    (void)kdpc_registry_set_value(m, KEY, "Bin", REG_BINARY, bin, sizeof(bin));
    (void)kdpc_registry_set_dword(m, KEY "\\Sub", "Inner", 5);
    (void)kdpc_registry_set_dword(m, KEY, "Gone", 9);

    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"\\Registry\\Machine\\Software\\rtlq");
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h = NULL;
    R.st[1] = ZwOpenKey(&h, KEY_READ | KEY_SET_VALUE, &oa);

    RTL_QUERY_REGISTRY_TABLE t[8];
    /* REG_MULTI_SZ string by string; NOEXPAND: whole; REG_EXPAND_SZ as REG_SZ */
    memset(t, 0, sizeof(t));
    t[0].QueryRoutine = Record;
    t[0].Name = L"Multi";
    t[1].QueryRoutine = Record;
    t[1].Name = L"Multi";
    t[1].Flags = RTL_QUERY_REGISTRY_NOEXPAND;
    t[2].QueryRoutine = Record;
    t[2].Name = L"Exp";
    t[3].QueryRoutine = Record;
    t[3].Name = L"Exp";
    t[3].Flags = RTL_QUERY_REGISTRY_NOEXPAND;
    R.st[2] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);

    /* SUBKEY then TOPKEY; NOVALUE with Name NULL */
    ULONG inner = 0, top = 0;
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_SUBKEY;
    t[0].Name = L"Sub";
    t[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[1].Name = L"Inner";
    t[1].EntryContext = &inner;
    t[2].Flags = RTL_QUERY_REGISTRY_TOPKEY | RTL_QUERY_REGISTRY_DIRECT;
    t[2].Name = L"Gone";
    t[2].EntryContext = &top;
    t[3].QueryRoutine = Record;
    t[3].Flags = RTL_QUERY_REGISTRY_NOVALUE;
    R.st[3] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, L"\\Registry\\Machine\\Software\\rtlq",
                                     t, NULL, NULL);
    R.u[0] = inner;
    R.u[1] = top;
    /* a missing subkey skips its entries; REQUIRED makes it an error */
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_SUBKEY;
    t[0].Name = L"NoSub";
    t[1].QueryRoutine = Fail;
    t[1].Name = L"Inner";
    R.st[4] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);
    t[0].Flags |= RTL_QUERY_REGISTRY_REQUIRED;
    R.st[5] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);

    /* DIRECT binary: negative header (data only), positive (length, type, data), too small */
    union {
        LONG head;
        UCHAR b[32];
    } neg, pos, tiny;
    neg.head = -(LONG)sizeof(neg);
    pos.head = (LONG)sizeof(pos);
    tiny.head = -8;
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Bin";
    t[0].EntryContext = &neg;
    t[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[1].Name = L"Bin";
    t[1].EntryContext = &pos;
    R.st[6] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);
    memcpy(R.blob, neg.b, 12);
    memcpy(&R.u[2], pos.b, 4);
    memcpy(&R.u[3], pos.b + 4, 4);
    memcpy(R.blob + 12, pos.b + 8, 12);
    t[0].EntryContext = &tiny;
    memset(&t[1], 0, sizeof(t[1]));
    R.st[7] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);

    /* a string default with DefaultLength 0; a REG_MULTI_SZ default */
    UNICODE_STRING def = {0, 0, NULL};
    static const WCHAR def_multi[] = L"x\0yz\0";
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Missing";
    t[0].EntryContext = &def;
    t[0].DefaultType = REG_SZ;
    t[0].DefaultData = (PVOID)L"dflt";
    t[1].QueryRoutine = Record;
    t[1].Name = L"MissingMulti";
    t[1].DefaultType = REG_MULTI_SZ;
    t[1].DefaultData = (PVOID)def_multi;
    t[1].Flags = RTL_QUERY_REGISTRY_NOEXPAND;
    unsigned before = R.calls;
    R.st[8] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);
    R.u[4] = def.Length;
    R.u[5] = def.Buffer != NULL && memcmp(def.Buffer, L"dflt", 8) == 0;
    R.u[6] = R.lens[before];
    if (def.Buffer != NULL)
        ExFreePool(def.Buffer);

    /* DELETE: the value goes once read; a routine's error ends the call */
    memset(t, 0, sizeof(t));
    t[0].QueryRoutine = Record;
    t[0].Name = L"Gone";
    t[0].Flags = RTL_QUERY_REGISTRY_DELETE;
    R.st[9] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);
    t[0].Flags = RTL_QUERY_REGISTRY_REQUIRED;
    R.st[10] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);
    memset(t, 0, sizeof(t));
    t[0].QueryRoutine = Fail;
    t[1].QueryRoutine = Fail;
    before = R.calls;
    R.st[11] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);
    R.u[7] = R.calls - before; /* stopped at the first value */

    /* bad tables and arguments */
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT; /* DIRECT needs a Name */
    t[0].EntryContext = &inner;
    R.st[12] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);
    memset(t, 0, sizeof(t));
    t[0].Name = L"Inner"; /* neither a routine nor DIRECT */
    R.st[13] = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)h, t, NULL, NULL);
    R.st[14] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, NULL, t, NULL, NULL);
    R.st[15] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, L"\\Registry", NULL, NULL, NULL);
    R.st[16] = RtlQueryRegistryValues(42, L"x", t, NULL, NULL);
    R.st[17] =
        RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)(uintptr_t)0x4444, t, NULL, NULL);

    /* Zw classes: basic value info too small / overflow; key basic and node info */
    union {
        KEY_VALUE_BASIC_INFORMATION vb;
        KEY_VALUE_FULL_INFORMATION vf;
        KEY_BASIC_INFORMATION kb;
        UCHAR raw[128];
    } buf;
    ULONG need = 0;
    RtlInitUnicodeString(&name, L"Multi");
    R.st[18] = ZwQueryValueKey(h, &name, KeyValueBasicInformation, &buf, 8, &need);
    R.u[8] = need;
    R.st[19] = ZwQueryValueKey(h, &name, KeyValueFullInformation, &buf,
                               (ULONG)offsetof(KEY_VALUE_FULL_INFORMATION, Name) + 4, &need);
    R.u[9] = buf.vf.DataLength;
    R.st[20] = ZwQueryKey(h, KeyBasicInformation, &buf, sizeof(buf), &need);
    R.u[10] = buf.kb.NameLength;
    R.st[21] = ZwQueryValueKey(h, &name, (KEY_VALUE_INFORMATION_CLASS)99, &buf, sizeof(buf), &need);
    R.st[22] = ZwQueryValueKey(h, &name, KeyValuePartialInformation, NULL, 16, &need);
    R.st[23] = ZwQueryValueKey(h, &name, KeyValuePartialInformation, NULL, 0, &need); /* size */
    R.u[11] = need;
    (void)ZwClose(h);
}

static void test_query_table_details(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(m, query_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    /* "ab" and "cde" one by one as REG_SZ, then the whole REG_MULTI_SZ, then the REG_EXPAND_SZ
     * as REG_SZ (nothing expanded), then as REG_EXPAND_SZ */
    assert_int_equal(R.types[0], REG_SZ);
    assert_int_equal(R.lens[0], 6);
    assert_memory_equal(R.first[0], L"ab", 6);
    assert_int_equal(R.types[1], REG_SZ);
    assert_int_equal(R.lens[1], 8);
    assert_memory_equal(R.first[1], L"cde", 8);
    assert_int_equal(R.types[2], REG_MULTI_SZ);
    assert_int_equal(R.lens[2], 16);
    assert_int_equal(R.types[3], REG_SZ);
    assert_memory_equal(R.first[3], L"%System", 14);
    assert_int_equal(R.types[4], REG_EXPAND_SZ);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.u[0], 5);
    assert_int_equal(R.u[1], 9);
    assert_int_equal(R.types[5], REG_NONE); /* NOVALUE */
    assert_int_equal(R.lens[5], 0);
    assert_int_equal(R.first[5][7], 0x7777);
    assert_int_equal(R.st[4], STATUS_SUCCESS); /* the entries of the missing subkey skipped */
    assert_int_equal(R.st[5], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    static const UCHAR bin[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assert_memory_equal(R.blob, bin, 12);
    assert_int_equal(R.u[2], 12);
    assert_int_equal(R.u[3], REG_BINARY);
    assert_memory_equal(R.blob + 12, bin, 12);
    assert_int_equal(R.st[7], STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    assert_int_equal(R.u[4], 8);
    assert_int_equal(R.u[5], 1);
    assert_int_equal(R.u[6], 12); /* "x\0yz\0\0" */
    assert_int_equal(R.st[9], STATUS_SUCCESS);
    assert_int_equal(R.st[10], STATUS_OBJECT_NAME_NOT_FOUND); /* deleted by the first query */
    assert_int_equal(R.st[11], STATUS_DEVICE_CONFIGURATION_ERROR);
    assert_int_equal(R.u[7], 1);
    for (int i = 12; i <= 16; i++)
        assert_int_equal(R.st[i], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[17], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[18], STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(R.u[8], offsetof(KEY_VALUE_BASIC_INFORMATION, Name) + 10);
    assert_int_equal(R.st[19], STATUS_BUFFER_OVERFLOW);
    assert_int_equal(R.u[9], 16);
    assert_int_equal(R.st[20], STATUS_SUCCESS);
    assert_int_equal(R.u[10], 8); /* "rtlq" */
    assert_int_equal(R.st[21], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[22], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[23], STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(R.u[11], offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data) + 16);
    assert_int_equal(kdpc_registry_get_value(m, KEY, "Gone", NULL, NULL, 0, NULL), KDPC_ENOENT);
    size_t count = 1;
    assert_int_equal(kdpc_pool_outstanding(m, 0, &count, NULL), KDPC_OK);
    assert_int_equal(count, 0);
    kdpc_machine_destroy(m);
}

/* ---- IRQL: an Rtl helper and IoOpenDeviceRegistryKey ------------------ */

static void apc_body(void *ctx)
{
    bool raise = *(bool *)ctx;
    KIRQL old = PASSIVE_LEVEL;
    if (raise)
        KeRaiseIrql(APC_LEVEL, &old);
    R.st[0] = RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L""); /* APC_LEVEL: broken */
    if (raise)
        KeLowerIrql(old);
}

static void test_rtl_helper_above_passive_is_bugcheck(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 13);
    bool raise = true;
    kdpc_status st = kdpc_machine_run(m, apc_body, &raise);
    KT_ASSERT_BUGCHECK(m, st, "zw.passive_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x2001F);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], APC_LEVEL);
    kdpc_machine_destroy(m);
    m = kt_machine(1, 13);
    raise = false;
    assert_int_equal(kdpc_machine_run(m, apc_body, &raise), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    KT_ASSERT_NO_VIOLATION(m, "zw.passive_irql");
    kdpc_machine_destroy(m);
}

/* As a warning, the call fails and does nothing. */
static void test_rtl_helper_above_passive_as_warning_fails(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_config cfg = kt_config(1, 13);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_rule_set(m, "zw.passive_irql", KDPC_RULE_WARN), KDPC_OK);
    bool raise = true;
    assert_int_equal(kdpc_machine_run(m, apc_body, &raise), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_INVALID_PARAMETER);
    KT_ASSERT_WARNING(m, "zw.passive_irql");
    kdpc_machine_destroy(m);
}

/* ---- a handle of another kind ----------------------------------------- */

static VOID ThreadMain(PVOID Context)
{
    (void)Context;
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void kind_body(void *ctx)
{
    (void)ctx;
    HANDLE th = NULL;
    R.st[0] = PsCreateSystemThread(&th, THREAD_ALL_ACCESS, NULL, NULL, NULL, ThreadMain, NULL);
    union {
        KEY_BASIC_INFORMATION kb;
        UCHAR raw[64];
    } buf;
    ULONG need = 0;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"x");
    R.st[1] = ZwQueryKey(th, KeyBasicInformation, &buf, sizeof(buf), &need);
    R.st[2] = ZwSetValueKey(th, &name, 0, REG_NONE, NULL, 0);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, th, NULL);
    HANDLE k = NULL;
    R.st[3] = ZwOpenKey(&k, KEY_READ, &oa); /* a thread as RootDirectory */
    R.st[4] = ZwClose(th);
}

static void test_other_handle_kind_is_type_mismatch(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(m, kind_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(R.st[2], STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(R.st[3], STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(R.st[4], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

/* A QueryRoutine that deletes the key being read and closes its own handle: the walk keeps the
 * key alive (as the handle Windows holds on it does) and the next read is STATUS_KEY_DELETED,
 * never a read of freed memory. */
static NTSTATUS DeleteKey(PWSTR ValueName, ULONG ValueType, PVOID ValueData, ULONG ValueLength,
                          PVOID Context, PVOID EntryContext)
{
    (void)ValueName;
    (void)ValueType;
    (void)ValueData;
    (void)ValueLength;
    (void)EntryContext;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, (PCWSTR)Context);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    HANDLE h = NULL;
    NTSTATUS st = ZwOpenKey(&h, KEY_ALL_ACCESS, &oa);
    if (NT_SUCCESS(st)) {
        st = ZwDeleteKey(h);
        (void)ZwClose(h);
    }
    R.st[R.calls++ + 8] = st;
    return STATUS_SUCCESS;
}

static void delete_during_query_body(void *ctx)
{
    kdpc_machine *m = ctx;
    (void)kdpc_registry_set_dword(m, KEY "\\Del", "A", 1);
    (void)kdpc_registry_set_dword(m, KEY "\\Del", "B", 2);
    (void)kdpc_registry_set_dword(m, KEY "\\Del2", "A", 1);
    (void)kdpc_registry_set_dword(m, KEY "\\Del2", "B", 2);
    static const WCHAR del[] = L"\\Registry\\Machine\\Software\\rtlq\\Del";
    static const WCHAR del2[] = L"\\Registry\\Machine\\Software\\rtlq\\Del2";
    ULONG b = 77;
    RTL_QUERY_REGISTRY_TABLE t[3];
    memset(t, 0, sizeof(t));
    t[0].QueryRoutine = DeleteKey;
    t[0].Name = L"A";
    t[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[1].Name = L"B";
    t[1].EntryContext = &b;
    R.st[0] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, del, t, (PVOID)del, NULL);
    R.u[0] = b;
    /* every value of the key: the routine deletes it at the first */
    memset(t, 0, sizeof(t));
    t[0].QueryRoutine = DeleteKey;
    R.st[1] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, del2, t, (PVOID)del2, NULL);
    R.st[2] = RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, (PWSTR)del);
    R.st[3] = RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, (PWSTR)del2);
}

static void test_routine_deleting_the_key_is_key_deleted(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(m, delete_during_query_body, m), KDPC_OK);
    assert_int_equal(R.calls, 2); /* one routine call per query */
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    assert_int_equal(R.st[9], STATUS_SUCCESS);
    assert_int_equal(R.st[0], STATUS_KEY_DELETED);
    assert_int_equal(R.u[0], 77); /* B was not stored */
    assert_int_equal(R.st[1], STATUS_KEY_DELETED);
    assert_int_equal(R.st[2], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[3], STATUS_OBJECT_NAME_NOT_FOUND);
    kdpc_machine_destroy(m);
}

/* DIRECT without TYPECHECK: a value of the other kind than DefaultType says is refused instead of
 * overrunning the caller's variable; an odd-length string keeps an even Length. */
static void direct_kind_body(void *ctx)
{
    kdpc_machine *m = ctx;
    static const WCHAR text[] = L"a long string, not a number";
    (void)kdpc_registry_set_value(m, KEY "\\Kind", "Num", REG_SZ, text, sizeof(text));
    static const UCHAR blob[40] = {0x7F, 0x7F, 0x7F, 0x7F};
    (void)kdpc_registry_set_value(m, KEY "\\Kind", "Name", REG_BINARY, blob, sizeof(blob));
    static const UCHAR odd[5] = {'x', 0, 'y', 0, 'z'};
    (void)kdpc_registry_set_value(m, KEY "\\Kind", "Odd", REG_SZ, odd, sizeof(odd));
    static const WCHAR path[] = L"\\Registry\\Machine\\Software\\rtlq\\Kind";

    struct {
        ULONG num;
        ULONG guard;
    } n = {5, 0xA5A5A5A5u};
    ULONG zero = 0;
    RTL_QUERY_REGISTRY_TABLE t[2];
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Num";
    t[0].EntryContext = &n.num;
    t[0].DefaultType = REG_DWORD;
    t[0].DefaultData = &zero;
    t[0].DefaultLength = sizeof(zero);
    R.st[0] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, path, t, NULL, NULL);
    R.u[0] = n.num;
    R.u[1] = n.guard;

    struct {
        UNICODE_STRING s;
        ULONG guard;
    } u = {{0, 0, NULL}, 0xA5A5A5A5u};
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Name";
    t[0].EntryContext = &u.s;
    t[0].DefaultType = REG_SZ;
    t[0].DefaultData = L"";
    R.st[1] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, path, t, NULL, NULL);
    R.u[2] = u.guard;
    R.u[3] = u.s.Buffer == NULL;

    /* a 40-byte REG_BINARY where DefaultType says REG_DWORD: the ULONG (1000) is no size header */
    n.num = 1000;
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Name";
    t[0].EntryContext = &n.num;
    t[0].DefaultType = REG_DWORD;
    t[0].DefaultData = &zero;
    t[0].DefaultLength = sizeof(zero);
    R.st[5] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, path, t, NULL, NULL);
    R.u[8] = n.num;
    R.u[9] = n.guard;

    /* the same value with the matching kind, and with REG_NONE (kind unknown), still works */
    UCHAR raw[48];
    memset(raw, 0, sizeof(raw));
    LONG head = -(LONG)sizeof(raw);
    memcpy(raw, &head, sizeof(head));
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Name";
    t[0].EntryContext = raw;
    t[0].DefaultType = REG_BINARY;
    R.st[2] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, path, t, NULL, NULL);
    R.u[4] = raw[0];
    n.num = 5;
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Num";
    t[0].EntryContext = &u.s;
    t[0].DefaultType = REG_NONE;
    R.st[3] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, path, t, NULL, NULL);
    R.u[5] = u.s.Length;
    RtlFreeUnicodeString(&u.s);

    /* 5 bytes of REG_SZ: "xy" (Length 4), the stray byte dropped, NUL-terminated */
    UNICODE_STRING o = {0, 0, NULL};
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"Odd";
    t[0].EntryContext = &o;
    t[0].DefaultType = REG_SZ;
    t[0].DefaultData = L"";
    R.st[4] = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, path, t, NULL, NULL);
    R.u[6] = o.Length;
    R.u[7] = o.Buffer != NULL && o.Buffer[0] == 'x' && o.Buffer[1] == 'y' && o.Buffer[2] == 0;
    RtlFreeUnicodeString(&o);
}

static void test_direct_value_of_the_other_kind_is_refused(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(m, direct_kind_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(R.u[0], 5);
    assert_int_equal(R.u[1], 0xA5A5A5A5u);
    assert_int_equal(R.st[1], STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(R.u[2], 0xA5A5A5A5u);
    assert_int_equal(R.u[3], 1);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.u[4], 0x7F);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.u[5], sizeof(L"a long string, not a number") - sizeof(WCHAR));
    assert_int_equal(R.st[4], STATUS_SUCCESS);
    assert_int_equal(R.st[5], STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(R.u[8], 1000);
    assert_int_equal(R.u[9], 0xA5A5A5A5u);
    assert_int_equal(R.u[6], 4);
    assert_int_equal(R.u[7], 1);
    kdpc_machine_destroy(m);
}

/* A default whose DefaultData is NULL while DefaultLength says 4 bytes: the access violation
 * Windows would raise reading it (0x7E below DISPATCH_LEVEL), not a host crash. */
static void null_default_body(void *ctx)
{
    (void)ctx;
    ULONG v = 3;
    RTL_QUERY_REGISTRY_TABLE t[2];
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"NoSuchValue";
    t[0].EntryContext = &v;
    t[0].DefaultType = REG_DWORD;
    t[0].DefaultData = NULL;
    t[0].DefaultLength = sizeof(ULONG);
    (void)RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"", t, NULL, NULL);
}

/* Its fixed twin: a DefaultLength of 0 reads nothing, so a NULL DefaultData is fine there; the
 * ULONG is left as it was. */
static void empty_default_body(void *ctx)
{
    (void)ctx;
    R.u[0] = 3;
    RTL_QUERY_REGISTRY_TABLE t[2];
    memset(t, 0, sizeof(t));
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[0].Name = L"NoSuchValue";
    t[0].EntryContext = &R.u[0];
    t[0].DefaultType = REG_DWORD;
    R.st[0] = RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"", t, NULL, NULL);
}

static void test_null_default_data_is_an_access_violation(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 13);
    kdpc_status st = kdpc_machine_run(m, null_default_body, m);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x7E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0xC0000005u);
    assert_non_null(strstr(kdpc_machine_bugcheck(m)->message, " is NULL: ")); /* not a fault */
    kdpc_machine_destroy(m);
    memset(&R, 0, sizeof(R));
    m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(m, empty_default_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.u[0], 3);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_table_details),
        cmocka_unit_test(test_rtl_helper_above_passive_is_bugcheck),
        cmocka_unit_test(test_rtl_helper_above_passive_as_warning_fails),
        cmocka_unit_test(test_other_handle_kind_is_type_mismatch),
        cmocka_unit_test(test_routine_deleting_the_key_is_key_deleted),
        cmocka_unit_test(test_direct_value_of_the_other_kind_is_refused),
        cmocka_unit_test(test_null_default_data_is_an_access_violation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
