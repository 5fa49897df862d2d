/* SPDX-License-Identifier: MIT */
/*
 * test_rtl_ansi.c - STRING / ANSI_STRING routines, the ANSI <-> Unicode
 * conversions with and without allocation, RtlFreeAnsiString, and the
 * integer routines RtlUnicodeStringToInteger, RtlCharToInteger and
 * RtlIntegerToUnicodeString (docs/facts/rtl.md sections 3 and 5).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static void test_init_copy_compare(void **state)
{
    (void)state;
    ANSI_STRING a;
    RtlInitAnsiString(&a, "Serial");
    assert_int_equal(a.Length, 6);
    assert_int_equal(a.MaximumLength, 7);
    STRING s;
    RtlInitString(&s, NULL);
    assert_null(s.Buffer);
    assert_int_equal(s.Length, 0);
    assert_int_equal(s.MaximumLength, 0);

    char buf[4];
    STRING d = {0, sizeof(buf), buf};
    RtlCopyString(&d, &a); /* cut to MaximumLength */
    assert_int_equal(d.Length, 4);
    assert_memory_equal(buf, "Seri", 4);
    RtlCopyString(&d, NULL);
    assert_int_equal(d.Length, 0);

    STRING up = RTL_CONSTANT_STRING("SERIAL"), shorter = RTL_CONSTANT_STRING("Ser");
    assert_int_equal(RtlCompareString(&a, &up, TRUE), 0);
    assert_true(RtlCompareString(&a, &up, FALSE) > 0);
    assert_true(RtlCompareString(&shorter, &a, FALSE) < 0);
    assert_true(RtlEqualString(&a, &up, TRUE));
    assert_false(RtlEqualString(&a, &up, FALSE));
    assert_false(RtlEqualString(&a, &shorter, TRUE));
    assert_int_equal(RtlUpperChar('x'), 'X');
    assert_int_equal(RtlUpperChar('7'), '7');

    char ub[4];
    STRING u = {9, sizeof(ub), ub};
    RtlUpperString(&u, &a); /* "Serial": cut to the 4 bytes of room */
    assert_int_equal(u.Length, 4);
    assert_int_equal(u.MaximumLength, 4);
    assert_memory_equal(ub, "SERI", 4);
}

static void test_sizes(void **state)
{
    (void)state;
    ANSI_STRING a = RTL_CONSTANT_STRING("COM12");
    UNICODE_STRING w = RTL_CONSTANT_STRING(L"COM12");
    assert_int_equal(RtlxAnsiStringToUnicodeSize(&a), 12);
    assert_int_equal(RtlAnsiStringToUnicodeSize(&a), 12);
    assert_int_equal(RtlxUnicodeStringToAnsiSize(&w), 6);
    assert_int_equal(RtlUnicodeStringToAnsiSize(&w), 6);
}

static void test_conversions_into_caller_buffers(void **state)
{
    (void)state;
    ANSI_STRING a = RTL_CONSTANT_STRING("COM1\xe9");
    WCHAR wb[6];
    UNICODE_STRING u = {0, sizeof(wb), wb};
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, FALSE), STATUS_SUCCESS);
    assert_int_equal(u.Length, 10);
    assert_int_equal(wb[3], '1');
    assert_int_equal(wb[4], 0x00E9); /* ISO-8859-1 */
    assert_int_equal(wb[5], 0);      /* NUL-terminated */
    WCHAR small[5];                  /* the text fits, the NUL does not */
    UNICODE_STRING us = {0, sizeof(small), small};
    assert_int_equal(RtlAnsiStringToUnicodeString(&us, &a, FALSE), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(us.Length, 0);

    UNICODE_STRING w = RTL_CONSTANT_STRING(L"ab\x20AC"); /* euro sign: not in the code page */
    char nb[4];
    ANSI_STRING n = {0, sizeof(nb), nb};
    assert_int_equal(RtlUnicodeStringToAnsiString(&n, &w, FALSE), STATUS_SUCCESS);
    assert_int_equal(n.Length, 3);
    assert_string_equal(nb, "ab?");
    char nsmall[3];
    ANSI_STRING ns = {0, sizeof(nsmall), nsmall};
    assert_int_equal(RtlUnicodeStringToAnsiString(&ns, &w, FALSE), STATUS_BUFFER_OVERFLOW);
}

static void test_integers(void **state)
{
    (void)state;
    struct {
        const WCHAR *s;
        ULONG base;
        ULONG want;
    } ok[] = {
        {L"123", 10, 123},
        {L"-345", 10, (ULONG)-345},
        {L"xyz", 10, 0},
        {L"+678abc", 10, 678},
        {L"+678abc", 16, 0x678abc},
        {L"0x1F", 0, 0x1F},
        {L"0o17", 0, 15},
        {L"0b101", 0, 5},
        {L"  \t42", 0, 42},
        {L"12", 8, 10},
        {L"129", 8, 10},
        {L"4294967296", 10, 0},
        {L"-0x10", 0, (ULONG)-16},
        {L"101", 2, 5},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        UNICODE_STRING u;
        RtlInitUnicodeString(&u, ok[i].s);
        ULONG v = 0xDEAD;
        assert_int_equal(RtlUnicodeStringToInteger(&u, ok[i].base, &v), STATUS_SUCCESS);
        assert_int_equal(v, ok[i].want);
    }
    UNICODE_STRING empty = {0, 0, NULL}, one = RTL_CONSTANT_STRING(L"1");
    ULONG v;
    assert_int_equal(RtlUnicodeStringToInteger(&empty, 10, &v), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringToInteger(&one, 7, &v), STATUS_INVALID_PARAMETER);

    assert_int_equal(RtlCharToInteger("0x20", 0, &v), STATUS_SUCCESS);
    assert_int_equal(v, 32);
    assert_int_equal(RtlCharToInteger("", 0, &v), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlCharToInteger("10", 3, &v), STATUS_INVALID_PARAMETER);

    DECLARE_UNICODE_STRING_SIZE(out, 12);
    assert_int_equal(RtlIntegerToUnicodeString(4096, 0, &out), STATUS_SUCCESS);
    assert_int_equal(out.Length, 8);
    assert_memory_equal(out.Buffer, L"4096", 10); /* with its NUL */
    assert_int_equal(RtlIntegerToUnicodeString(0xBEEF, 16, &out), STATUS_SUCCESS);
    assert_memory_equal(out.Buffer, L"BEEF", 10);
    assert_int_equal(RtlIntegerToUnicodeString(5, 2, &out), STATUS_SUCCESS);
    assert_memory_equal(out.Buffer, L"101", 8);
    assert_int_equal(RtlIntegerToUnicodeString(8, 8, &out), STATUS_SUCCESS);
    assert_memory_equal(out.Buffer, L"10", 6);
    assert_int_equal(RtlIntegerToUnicodeString(1, 3, &out), STATUS_INVALID_PARAMETER);
    DECLARE_UNICODE_STRING_SIZE(tiny, 4); /* "12345" and a NUL need 6 */
    assert_int_equal(RtlIntegerToUnicodeString(12345, 10, &tiny), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(tiny.Length, 0);
    DECLARE_UNICODE_STRING_SIZE(exact, 6);
    assert_int_equal(RtlIntegerToUnicodeString(12345, 10, &exact), STATUS_SUCCESS);

    DECLARE_UNICODE_STRING_SIZE(wide, 24);
    assert_int_equal(RtlInt64ToUnicodeString(0xFFFFFFFFFFFFFFFFull, 10, &wide), STATUS_SUCCESS);
    assert_int_equal(wide.Length, 20 * sizeof(WCHAR));
    assert_memory_equal(wide.Buffer, L"18446744073709551615", 21 * sizeof(WCHAR));
    assert_int_equal(RtlIntPtrToUnicodeString((ULONG_PTR)0xABCDEF012ull, 16, &wide),
                     STATUS_SUCCESS);
    assert_memory_equal(wide.Buffer, L"ABCDEF012", 10 * sizeof(WCHAR));
    assert_int_equal(RtlInt64ToUnicodeString(1, 7, &wide), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlInt64ToUnicodeString(1ull << 40, 2, &wide), STATUS_BUFFER_OVERFLOW);
}

static struct {
    NTSTATUS st[4];
    int ok[4];
    size_t before, after;
} R;

static void alloc_body(void *ctx)
{
    kdpc_machine *m = ctx;
    (void)kdpc_pool_outstanding(m, 0, &R.before, NULL);
    ANSI_STRING a = RTL_CONSTANT_STRING("\\Device\\Serial0");
    UNICODE_STRING u;
    R.st[0] = RtlAnsiStringToUnicodeString(&u, &a, TRUE);
    R.ok[0] = u.Length == 15 * 2 && u.MaximumLength == 16 * 2 && u.Buffer[15] == 0 &&
              memcmp(u.Buffer, L"\\Device\\Serial0", 30) == 0;
    ANSI_STRING back;
    R.st[1] = RtlUnicodeStringToAnsiString(&back, &u, TRUE);
    R.ok[1] = back.Length == 15 && back.MaximumLength == 16 &&
              memcmp(back.Buffer, "\\Device\\Serial0", 16) == 0;
    RtlFreeUnicodeString(&u);
    RtlFreeAnsiString(&back);
    R.ok[2] = u.Buffer == NULL && back.Buffer == NULL && back.Length == 0;
    (void)kdpc_pool_outstanding(m, 0, &R.after, NULL);
}

static void test_allocating_conversions(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 9);
    assert_int_equal(kdpc_machine_run(m, alloc_body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_true(R.ok[0] && R.ok[1] && R.ok[2]);
    assert_int_equal(R.after, R.before);
    kdpc_machine_destroy(m);
}

static void ansi_double_free_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING u = RTL_CONSTANT_STRING(L"x");
    ANSI_STRING a;
    (void)RtlUnicodeStringToAnsiString(&a, &u, TRUE);
    ANSI_STRING copy = a;
    RtlFreeAnsiString(&a);
    RtlFreeAnsiString(&copy);
}

static void test_ansi_double_free_is_bad_pool_caller(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 9);
    (void)kdpc_rule_set(m, "mem.bad_free", KDPC_RULE_OFF); /* the kernel's own 0xC2 */
    assert_int_equal(kdpc_machine_run(m, ansi_double_free_body, m), KDPC_BUGCHECK);
    assert_int_equal(kdpc_machine_bugcheck(m)->code, 0xC2);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x07);
    kdpc_machine_destroy(m);
}

/* The conversions are PASSIVE_LEVEL routines: at APC_LEVEL, rtl.irql (here a warning). */
static void apc_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING u = RTL_CONSTANT_STRING(L"7");
    ULONG v = 0;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    R.st[0] = RtlUnicodeStringToInteger(&u, 10, &v);
    KeLowerIrql(old);
    R.ok[0] = v == 7;
}

static void test_integer_at_apc_level_is_rtl_irql(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 9);
    assert_int_equal(kdpc_rule_set(m, "rtl.irql", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, apc_body, m), KDPC_OK);
    KT_ASSERT_WARNING(m, "rtl.irql");
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_true(R.ok[0]);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_copy_compare),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_conversions_into_caller_buffers),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_allocating_conversions),
        cmocka_unit_test(test_ansi_double_free_is_bad_pool_caller),
        cmocka_unit_test(test_integer_at_apc_level_is_rtl_irql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
