/* SPDX-License-Identifier: MIT */
/*
 * test_rtl_unicode.c - UNICODE_STRING routines of kdpc/wdm/rtl.h: the
 * declaration macros, RtlInitUnicodeString, RtlCopyUnicodeString, the two
 * appends, compare / equal / upcase, RtlFreeUnicodeString and its pool bug
 * checks, the IRQL rule rtl.irql and a NULL pointer (docs/facts/rtl.md
 * section 2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"
#include "global_other.h"

/* global_other.c declares the same string: one copy links in (selectany). */
DECLARE_GLOBAL_CONST_UNICODE_STRING(GlobalName, L"\\Device\\Global");

static void test_macros_and_init(void **state)
{
    (void)state;
    UNICODE_STRING c = RTL_CONSTANT_STRING(L"\\Device\\kdpc");
    assert_int_equal(c.Length, 12 * sizeof(WCHAR));
    assert_int_equal(c.MaximumLength, 13 * sizeof(WCHAR));
    assert_int_equal(c.Buffer[0], '\\');
    ANSI_STRING a = RTL_CONSTANT_STRING("abc");
    assert_int_equal(a.Length, 3);
    assert_int_equal(a.MaximumLength, 4);
    DECLARE_CONST_UNICODE_STRING(k, L"xyz");
    assert_int_equal(k.Length, 6);
    assert_int_equal(k.MaximumLength, 8);
    assert_int_equal(k.Buffer[2], 'z');
    assert_int_equal(GlobalName.Length, 14 * sizeof(WCHAR));
    assert_ptr_equal(kt_global_name_other(), &GlobalName);
    assert_ptr_equal(kt_global_name_other()->Buffer, GlobalName.Buffer);
    DECLARE_UNICODE_STRING_SIZE(d, 16);
    assert_int_equal(d.Length, 0);
    assert_int_equal(d.MaximumLength, 32);
    assert_ptr_equal(d.Buffer, d_buffer);
    assert_int_equal(UNICODE_NULL, 0);

    UNICODE_STRING u;
    RtlInitUnicodeString(&u, L"abcd");
    assert_int_equal(u.Length, 8);
    assert_int_equal(u.MaximumLength, 10);
    RtlInitUnicodeString(&u, NULL);
    assert_null(u.Buffer);
    assert_int_equal(u.Length, 0);
    assert_int_equal(u.MaximumLength, 0);

    char bytes[4] = {1, 2, 3, 4}, z[4];
    RtlCopyBytes(z, bytes, 4);
    assert_memory_equal(z, bytes, 4);
    RtlZeroBytes(z, 2);
    assert_int_equal(z[0] | z[1], 0);
    assert_int_equal(z[2], 3);
    assert_true(RtlEqualMemory(bytes + 2, z + 2, 2));
    assert_int_equal(RtlCompareMemory(bytes, z, 4), 0);
}

static WCHAR huge[40000];
static char huge8[70000];

static void test_init_limits(void **state)
{
    (void)state;
    for (size_t i = 0; i + 1 < sizeof(huge) / sizeof(huge[0]); i++)
        huge[i] = 'x';
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, huge); /* 39999 characters: cut to the largest counted string */
    assert_int_equal(u.Length, 65532);
    assert_int_equal(u.MaximumLength, 65534);
    memset(huge8, 'y', sizeof(huge8) - 1);
    STRING s;
    RtlInitString(&s, huge8);
    assert_int_equal(s.Length, 65534);
    assert_int_equal(s.MaximumLength, 65535);
    s.Length = 7;
    assert_int_equal(RtlInitStringEx(&s, huge8), STATUS_NAME_TOO_LONG);
    assert_int_equal(s.Length, 7);
    ANSI_STRING a;
    assert_int_equal(RtlInitAnsiStringEx(&a, "abc"), STATUS_SUCCESS);
    assert_int_equal(a.Length, 3);
    assert_int_equal(RtlInitStringEx(&s, NULL), STATUS_SUCCESS);
    assert_int_equal(s.MaximumLength, 0);
}

static void test_copy_and_append(void **state)
{
    (void)state;
    DECLARE_UNICODE_STRING_SIZE(d, 6);
    UNICODE_STRING s = RTL_CONSTANT_STRING(L"abcdefgh");
    RtlCopyUnicodeString(&d, &s); /* 8 characters into room for 6: cut */
    assert_int_equal(d.Length, 12);
    assert_int_equal(d.MaximumLength, 12);
    assert_memory_equal(d.Buffer, L"abcdef", 12);
    RtlCopyUnicodeString(&d, NULL);
    assert_int_equal(d.Length, 0);

    UNICODE_STRING ab = RTL_CONSTANT_STRING(L"ab");
    RtlCopyUnicodeString(&d, &ab);
    assert_int_equal(d.Length, 4);
    assert_int_equal(d.Buffer[2], 0); /* the terminator kdpc writes when room remains */
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &ab), STATUS_SUCCESS);
    assert_int_equal(d.Length, 8);
    assert_memory_equal(d.Buffer, L"abab", 8);
    /* 4 + 3 characters do not fit 6: unchanged */
    UNICODE_STRING xyz = RTL_CONSTANT_STRING(L"xyz");
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &xyz), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(d.Length, 8);
    assert_memory_equal(d.Buffer, L"abab", 8);
    assert_int_equal(RtlAppendUnicodeToString(&d, L"xyz"), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(d.Length, 8);
    assert_int_equal(RtlAppendUnicodeToString(&d, L"xy"), STATUS_SUCCESS);
    assert_int_equal(d.Length, 12);
    assert_memory_equal(d.Buffer, L"ababxy", 12);
    assert_int_equal(RtlAppendUnicodeToString(&d, NULL), STATUS_SUCCESS);
    assert_int_equal(RtlAppendUnicodeToString(&d, L""), STATUS_SUCCESS);
    assert_int_equal(d.Length, 12);
}

static void test_compare_equal_upcase(void **state)
{
    (void)state;
    UNICODE_STRING a = RTL_CONSTANT_STRING(L"Serial0"), b = RTL_CONSTANT_STRING(L"SERIAL0"),
                   c = RTL_CONSTANT_STRING(L"Serial"), d = RTL_CONSTANT_STRING(L"Serial1");
    assert_int_equal(RtlCompareUnicodeString(&a, &b, TRUE), 0);
    assert_true(RtlCompareUnicodeString(&a, &b, FALSE) > 0); /* 'e' > 'E' */
    assert_true(RtlCompareUnicodeString(&c, &a, FALSE) < 0); /* a prefix sorts first */
    assert_true(RtlCompareUnicodeString(&a, &c, TRUE) > 0);
    assert_true(RtlCompareUnicodeString(&a, &d, FALSE) < 0);
    assert_true(RtlEqualUnicodeString(&a, &b, TRUE));
    assert_false(RtlEqualUnicodeString(&a, &b, FALSE));
    assert_false(RtlEqualUnicodeString(&a, &c, TRUE));
    assert_true(RtlEqualUnicodeString(&a, &a, FALSE));

    assert_int_equal(RtlUpcaseUnicodeChar('q'), 'Q');
    assert_int_equal(RtlUpcaseUnicodeChar('Q'), 'Q');
    assert_int_equal(RtlUpcaseUnicodeChar('1'), '1');
    assert_int_equal(RtlUpcaseUnicodeChar(0x00E9), 0x00C9); /* e acute */
    assert_int_equal(RtlUpcaseUnicodeChar(0x00F7), 0x00F7); /* division sign */
    assert_int_equal(RtlUpcaseUnicodeChar(0x00FF), 0x0178);
    assert_int_equal(RtlUpcaseUnicodeChar(0x03B1), 0x0391); /* alpha */
    assert_int_equal(RtlUpcaseUnicodeChar(0x0436), 0x0416); /* zhe */

    DECLARE_UNICODE_STRING_SIZE(up, 8);
    assert_int_equal(RtlUpcaseUnicodeString(&up, &a, FALSE), STATUS_SUCCESS);
    assert_int_equal(up.Length, 14);
    assert_memory_equal(up.Buffer, L"SERIAL0", 14);
    DECLARE_UNICODE_STRING_SIZE(small, 3);
    assert_int_equal(RtlUpcaseUnicodeString(&small, &a, FALSE), STATUS_BUFFER_OVERFLOW);

    UNICODE_STRING pre = RTL_CONSTANT_STRING(L"\\??\\"), path = RTL_CONSTANT_STRING(L"\\??\\COM1"),
                   empty = {0, 0, NULL};
    assert_true(RtlPrefixUnicodeString(&pre, &path, FALSE));
    assert_false(RtlPrefixUnicodeString(&path, &pre, FALSE)); /* longer than the string */
    assert_true(RtlPrefixUnicodeString(&empty, &path, FALSE));
    assert_true(RtlPrefixUnicodeString(&c, &b, TRUE)); /* "Serial" / "SERIAL0" */
    assert_false(RtlPrefixUnicodeString(&c, &b, FALSE));
}

static void test_init_empty(void **state)
{
    (void)state;
    WCHAR wb[10];
    UNICODE_STRING u;
    RtlInitEmptyUnicodeString(&u, wb, sizeof(wb));
    assert_int_equal(u.Length, 0);
    assert_int_equal(u.MaximumLength, 20);
    assert_ptr_equal(u.Buffer, wb);
    assert_int_equal(RtlAppendUnicodeToString(&u, L"kdpc"), STATUS_SUCCESS);
    assert_int_equal(u.Length, 8);
    char ab[5];
    ANSI_STRING a;
    RtlInitEmptyAnsiString(&a, ab, sizeof(ab));
    assert_int_equal(a.Length, 0);
    assert_int_equal(a.MaximumLength, 5);
    assert_ptr_equal(a.Buffer, ab);
}

/* ------------------------------------------------------------------ */
/* In a machine: pool-backed strings, IRQL, bad pointers               */

static struct {
    NTSTATUS st[8];
    LONG cmp;
    size_t count_before, count_after;
} R;

static void alloc_free_body(void *ctx)
{
    kdpc_machine *m = ctx;
    UNICODE_STRING u = RTL_CONSTANT_STRING(L"kdpc");
    UNICODE_STRING up = {0, 0, NULL};
    (void)kdpc_pool_outstanding(m, 0, &R.count_before, NULL);
    R.st[0] = RtlUpcaseUnicodeString(&up, &u, TRUE);
    R.cmp = (LONG)(up.MaximumLength == 8 && memcmp(up.Buffer, L"KDPC", 8) == 0);
    RtlFreeUnicodeString(&up);
    R.st[1] = up.Buffer == NULL && up.Length == 0 && up.MaximumLength == 0 ? STATUS_SUCCESS
                                                                           : STATUS_UNSUCCESSFUL;
    RtlFreeUnicodeString(&up); /* Buffer NULL: nothing to do */
    (void)kdpc_pool_outstanding(m, 0, &R.count_after, NULL);
}

static void test_allocated_string_is_freed(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, alloc_free_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.cmp, 1);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.count_after, R.count_before);
    kdpc_machine_destroy(m);
}

/* Two structures sharing one pool buffer: the second free is a double free. */
static void double_free_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING u = RTL_CONSTANT_STRING(L"kdpc");
    UNICODE_STRING up = {0, 0, NULL};
    (void)RtlUpcaseUnicodeString(&up, &u, TRUE);
    UNICODE_STRING copy = up;
    RtlFreeUnicodeString(&up);
    RtlFreeUnicodeString(&copy);
}

static void test_free_twice_is_bad_pool_caller(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 5);
    (void)kdpc_rule_set(m, "mem.bad_free", KDPC_RULE_OFF); /* the kernel's own 0xC2 */
    kdpc_status st = kdpc_machine_run(m, double_free_body, m);
    assert_int_equal(st, KDPC_BUGCHECK);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_non_null(bc);
    assert_int_equal(bc->code, 0xC2);
    assert_int_equal(bc->params[0], 0x07);
    kdpc_machine_destroy(m);
}

static void literal_free_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, L"not pool");
    RtlFreeUnicodeString(&u);
}

static void test_free_of_a_literal_is_bad_pool_caller(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 5);
    (void)kdpc_rule_set(m, "mem.bad_free", KDPC_RULE_OFF); /* the kernel's own 0xC2 */
    kdpc_status st = kdpc_machine_run(m, literal_free_body, m);
    assert_int_equal(st, KDPC_BUGCHECK);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_non_null(bc);
    assert_int_equal(bc->code, 0xC2);
    assert_int_equal(bc->params[0], 0x46);
    kdpc_machine_destroy(m);
}

/* rtl.irql: the broken driver compares at DISPATCH_LEVEL, the fixed twin at PASSIVE_LEVEL. */
static void compare_at(KIRQL irql)
{
    UNICODE_STRING a = RTL_CONSTANT_STRING(L"a"), b = RTL_CONSTANT_STRING(L"A");
    KIRQL old;
    KeRaiseIrql(irql, &old);
    R.cmp = RtlCompareUnicodeString(&a, &b, TRUE);
    KeLowerIrql(old);
}
static void compare_dispatch_body(void *ctx)
{
    (void)ctx;
    compare_at(DISPATCH_LEVEL);
}
static void compare_passive_body(void *ctx)
{
    (void)ctx;
    compare_at(PASSIVE_LEVEL);
}

static void test_compare_above_passive_is_rtl_irql(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 5);
    kdpc_status st = kdpc_machine_run(m, compare_dispatch_body, m);
    KT_ASSERT_BUGCHECK(m, st, "rtl.irql", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x20023);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], PASSIVE_LEVEL);
    kdpc_machine_destroy(m);

    m = kt_machine(1, 5);
    R.cmp = 99;
    assert_int_equal(kdpc_machine_run(m, compare_passive_body, m), KDPC_OK);
    assert_int_equal(R.cmp, 0);
    KT_ASSERT_NO_VIOLATION(m, "rtl.irql");
    kdpc_machine_destroy(m);
}

/* Any-IRQL routines (copy, append, init) run clean at DISPATCH_LEVEL. */
static void any_irql_body(void *ctx)
{
    (void)ctx;
    DECLARE_UNICODE_STRING_SIZE(d, 8);
    UNICODE_STRING s;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    RtlInitUnicodeString(&s, L"ab");
    RtlCopyUnicodeString(&d, &s);
    R.st[0] = RtlAppendUnicodeStringToString(&d, &s);
    R.st[1] = RtlAppendUnicodeToString(&d, L"cd");
    KeLowerIrql(old);
    R.cmp = (LONG)d.Length;
}

static void test_any_irql_routines_at_dispatch(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, any_irql_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.cmp, 12);
    KT_ASSERT_NO_VIOLATION(m, "rtl.irql");
    kdpc_machine_destroy(m);
}

/* RtlFreeUnicodeString and RtlUpcaseUnicodeChar are documented at IRQL <= APC_LEVEL: clean at
 * APC_LEVEL, rtl.irql (P3 APC_LEVEL) at DISPATCH_LEVEL. */
static void free_at(KIRQL irql)
{
    UNICODE_STRING u = RTL_CONSTANT_STRING(L"kdpc");
    UNICODE_STRING up = {0, 0, NULL};
    (void)RtlUpcaseUnicodeString(&up, &u, TRUE);
    KIRQL old;
    KeRaiseIrql(irql, &old);
    R.cmp = (LONG)RtlUpcaseUnicodeChar('a');
    RtlFreeUnicodeString(&up);
    KeLowerIrql(old);
}
static void free_apc_body(void *ctx)
{
    (void)ctx;
    free_at(APC_LEVEL);
}
static void free_dispatch_body(void *ctx)
{
    (void)ctx;
    free_at(DISPATCH_LEVEL);
}

static void test_apc_level_routines(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, free_apc_body, m), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "rtl.irql");
    assert_int_equal(R.cmp, 'A');
    kdpc_machine_destroy(m);

    m = kt_machine(1, 5);
    kdpc_status st = kdpc_machine_run(m, free_dispatch_body, m);
    KT_ASSERT_BUGCHECK(m, st, "rtl.irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], DISPATCH_LEVEL);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[2], APC_LEVEL);
    kdpc_machine_destroy(m);
}

static void null_dest_body(void *ctx)
{
    (void)ctx;
    (void)RtlAppendUnicodeToString(NULL, L"x");
}

static void test_null_destination_is_an_access_violation(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 5);
    kdpc_status st = kdpc_machine_run(m, null_dest_body, m);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x7E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0xC0000005u);
    assert_non_null(strstr(kdpc_machine_bugcheck(m)->message, " is NULL: ")); /* not a fault */
    kdpc_machine_destroy(m);
}

/* A counted string whose Buffer is NULL while its Length (or the room written into) is not 0, or
 * a NULL string for RtlInitUnicodeString / RtlInitAnsiString: each routine that must touch those
 * bytes raises the access violation (0x7E below DISPATCH_LEVEL), never a host crash. */
static int null_buffer_case;

static void null_buffer_body(void *ctx)
{
    (void)ctx;
    WCHAR w[8] = {'a', 'b', 0};
    CHAR c[8] = "ab";
    UNICODE_STRING bad = {4, 4, NULL};   /* text claimed, no buffer */
    UNICODE_STRING room = {0, 16, NULL}; /* room claimed, no buffer */
    UNICODE_STRING good = {4, 16, w};
    ANSI_STRING abad = {2, 2, NULL};
    ANSI_STRING agood = {2, 8, c};
    ANSI_STRING aroom = {0, 8, NULL};
    switch (null_buffer_case) {
    case 0:
        RtlCopyUnicodeString(&good, &bad);
        break;
    case 1:
        RtlCopyUnicodeString(&room, &good);
        break;
    case 2:
        (void)RtlAppendUnicodeStringToString(&room, &good);
        break;
    case 3:
        (void)RtlAppendUnicodeStringToString(&good, &bad);
        break;
    case 4:
        (void)RtlCompareUnicodeString(&good, &bad, TRUE);
        break;
    case 5:
        (void)RtlEqualUnicodeString(&bad, &bad, FALSE);
        break;
    case 6:
        (void)RtlPrefixUnicodeString(&bad, &good, FALSE);
        break;
    case 7:
        (void)RtlUpcaseUnicodeString(&good, &bad, FALSE);
        break;
    case 8:
        (void)RtlUpcaseUnicodeString(&room, &good, FALSE);
        break;
    case 9:
        (void)RtlUnicodeStringToAnsiString(&agood, &bad, FALSE);
        break;
    case 10:
        (void)RtlAnsiStringToUnicodeString(&room, &agood, FALSE);
        break;
    case 11:
        (void)RtlAnsiStringToUnicodeString(&good, &abad, FALSE);
        break;
    case 12:
        (void)RtlUnicodeStringToAnsiString(&aroom, &good, FALSE);
        break;
    case 13:
        RtlCopyString(&aroom, &agood);
        break;
    case 14:
        (void)RtlCompareString(&abad, &agood, FALSE);
        break;
    case 15:
        (void)RtlIntegerToUnicodeString(42, 10, &room);
        break;
    case 16:
        RtlInitUnicodeString(NULL, L"x");
        break;
    case 17:
        RtlInitAnsiString(NULL, "x");
        break;
    default:
        /* nothing to touch: no access violation */
        RtlCopyUnicodeString(&good, &(UNICODE_STRING){0, 0, NULL});
        (void)RtlAppendUnicodeStringToString(&good, &(UNICODE_STRING){0, 0, NULL});
        (void)RtlCompareUnicodeString(&(UNICODE_STRING){0, 0, NULL}, &good, FALSE);
        break;
    }
}

static void test_null_buffer_is_an_access_violation(void **state)
{
    (void)state;
    for (null_buffer_case = 0; null_buffer_case < 18; null_buffer_case++) {
        kdpc_machine *m = kt_machine(1, 5);
        kdpc_status st = kdpc_machine_run(m, null_buffer_body, m);
        KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x7E);
        assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0xC0000005u);
        /* kdpc's own check, not a host fault the crash handler caught (its text names the
         * faulting access instead) */
        assert_non_null(strstr(kdpc_machine_bugcheck(m)->message, " is NULL: "));
        kdpc_machine_destroy(m);
    }
    kdpc_machine *m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, null_buffer_body, m), KDPC_OK);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_macros_and_init),
        cmocka_unit_test(test_init_limits),
        cmocka_unit_test(test_copy_and_append),
        cmocka_unit_test(test_init_empty),
        cmocka_unit_test(test_compare_equal_upcase),
        cmocka_unit_test(test_allocated_string_is_freed),
        cmocka_unit_test(test_free_twice_is_bad_pool_caller),
        cmocka_unit_test(test_free_of_a_literal_is_bad_pool_caller),
        cmocka_unit_test(test_compare_above_passive_is_rtl_irql),
        cmocka_unit_test(test_any_irql_routines_at_dispatch),
        cmocka_unit_test(test_apc_level_routines),
        cmocka_unit_test(test_null_destination_is_an_access_violation),
        cmocka_unit_test(test_null_buffer_is_an_access_violation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
