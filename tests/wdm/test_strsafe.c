/* SPDX-License-Identifier: MIT */
/*
 * test_strsafe.c - the ntstrsafe routines of <ntstrsafe.h>
 * (kdpc/wdm/strsafe.h): Copy, CopyN, Cat, CatN, Printf, VPrintf, Length in
 * their Cb/Cch and A/W forms, and the RtlUnicodeString* routines, with the
 * documented STATUS_BUFFER_OVERFLOW truncation and STATUS_INVALID_PARAMETER
 * cases (docs/facts/rtl.md section 7).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ntstrsafe.h>

#include "kdpc_test.h"

static void test_copy(void **state)
{
    (void)state;
    char a[6];
    assert_int_equal(RtlStringCbCopyA(a, sizeof(a), "hello"), STATUS_SUCCESS);
    assert_string_equal(a, "hello");
    assert_int_equal(RtlStringCbCopyA(a, sizeof(a), "hello!"), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(a, "hello"); /* truncated, NUL-terminated */
    assert_false(NT_SUCCESS(STATUS_BUFFER_OVERFLOW));
    assert_int_equal(RtlStringCchCopyA(a, sizeof(a), ""), STATUS_SUCCESS);
    assert_string_equal(a, "");
    assert_int_equal(RtlStringCchCopyA(a, 0, "x"), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCchCopyA(NULL, 4, "x"), STATUS_INVALID_PARAMETER);
    strcpy(a, "keep");
    assert_int_equal(RtlStringCchCopyA(a, sizeof(a), NULL), STATUS_INVALID_PARAMETER);
    assert_string_equal(a, ""); /* a valid destination becomes empty */
    assert_int_equal(RtlStringCchCopyA(a, (size_t)NTSTRSAFE_MAX_CCH + 1, "x"),
                     STATUS_INVALID_PARAMETER);

    WCHAR w[4];
    assert_int_equal(RtlStringCbCopyW(w, sizeof(w), L"abc"), STATUS_SUCCESS);
    assert_memory_equal(w, L"abc", 8);
    assert_int_equal(RtlStringCbCopyW(w, sizeof(w), L"abcd"), STATUS_BUFFER_OVERFLOW);
    assert_memory_equal(w, L"abc", 8);
    assert_int_equal(RtlStringCbCopyW(w, 1, L"a"), STATUS_INVALID_PARAMETER); /* < 1 WCHAR */
    assert_int_equal(RtlStringCchCopyW(w, 4, L"xy"), STATUS_SUCCESS);
    assert_memory_equal(w, L"xy", 6);

    assert_int_equal(RtlStringCchCopyNA(a, sizeof(a), "abcdef", 3), STATUS_SUCCESS);
    assert_string_equal(a, "abc");
    assert_int_equal(RtlStringCbCopyNA(a, sizeof(a), "abcdef", 6), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(a, "abcde");
    assert_int_equal(RtlStringCchCopyNW(w, 4, L"abcdef", 2), STATUS_SUCCESS);
    assert_memory_equal(w, L"ab", 6);
    assert_int_equal(RtlStringCbCopyNW(w, sizeof(w), L"abcdef", 4 * sizeof(WCHAR)),
                     STATUS_BUFFER_OVERFLOW);
    assert_memory_equal(w, L"abc", 8);
}

static void test_cat(void **state)
{
    (void)state;
    char a[8] = "ab";
    assert_int_equal(RtlStringCbCatA(a, sizeof(a), "cd"), STATUS_SUCCESS);
    assert_string_equal(a, "abcd");
    assert_int_equal(RtlStringCchCatA(a, sizeof(a), "efgh"), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(a, "abcdefg");
    char full[4] = {'x', 'y', 'z', 'w'}; /* no NUL within its size */
    assert_int_equal(RtlStringCchCatA(full, sizeof(full), "a"), STATUS_INVALID_PARAMETER);
    assert_memory_equal(full, "xyzw", 4);
    char b[8] = "";
    assert_int_equal(RtlStringCchCatNA(b, sizeof(b), "12345", 2), STATUS_SUCCESS);
    assert_int_equal(RtlStringCbCatNA(b, sizeof(b), "345", 3), STATUS_SUCCESS);
    assert_string_equal(b, "12345");

    WCHAR w[6] = L"a";
    assert_int_equal(RtlStringCbCatW(w, sizeof(w), L"bc"), STATUS_SUCCESS);
    assert_memory_equal(w, L"abc", 8);
    assert_int_equal(RtlStringCchCatW(w, 6, L"defg"), STATUS_BUFFER_OVERFLOW);
    assert_memory_equal(w, L"abcde", 12);
    WCHAR v[6] = L"";
    assert_int_equal(RtlStringCchCatNW(v, 6, L"xyz", 1), STATUS_SUCCESS);
    assert_int_equal(RtlStringCbCatNW(v, sizeof(v), L"yz", 4), STATUS_SUCCESS);
    assert_memory_equal(v, L"xyz", 8);
}

static NTSTATUS vp(char *d, size_t cb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    NTSTATUS st = RtlStringCbVPrintfA(d, cb, fmt, ap);
    va_end(ap);
    return st;
}

static NTSTATUS vpw(WCHAR *d, size_t cch, const WCHAR *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    NTSTATUS st = RtlStringCchVPrintfW(d, cch, fmt, ap);
    va_end(ap);
    return st;
}

static void test_printf(void **state)
{
    (void)state;
    char a[16];
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"COM3");
    assert_int_equal(RtlStringCbPrintfA(a, sizeof(a), "%wZ:%u", &name, 7u), STATUS_SUCCESS);
    assert_string_equal(a, "COM3:7");
    assert_int_equal(RtlStringCchPrintfA(a, 6, "%s", "overflowing"), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(a, "overf");
    assert_int_equal(vp(a, sizeof(a), "%04lX", 0xABu), STATUS_SUCCESS);
    assert_string_equal(a, "00AB");
    assert_int_equal(RtlStringCbPrintfA(a, sizeof(a), NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCbPrintfA(a, 0, "x"), STATUS_INVALID_PARAMETER);

    WCHAR w[24];
    /* wide format: %s is a WCHAR string, %S an 8-bit one, %wZ a UNICODE_STRING */
    assert_int_equal(RtlStringCchPrintfW(w, 24, L"%s-%S-%wZ-%d", L"wide", "narrow", &name, -3),
                     STATUS_SUCCESS);
    assert_memory_equal(w, L"wide-narrow-COM3--3", 20 * sizeof(WCHAR));
    assert_int_equal(RtlStringCbPrintfW(w, 4 * sizeof(WCHAR), L"%d", 123456),
                     STATUS_BUFFER_OVERFLOW);
    assert_memory_equal(w, L"123", 4 * sizeof(WCHAR));
    assert_int_equal(vpw(w, 24, L"\\Device\\Serial%u", 2u), STATUS_SUCCESS);
    assert_memory_equal(w, L"\\Device\\Serial2", 16 * sizeof(WCHAR));
}

/* The printf engine's fields, through RtlStringCbPrintfA / W. */
static void expect(const char *want, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    assert_int_equal(RtlStringCbVPrintfA(buf, sizeof(buf), fmt, ap), STATUS_SUCCESS);
    va_end(ap);
    assert_string_equal(buf, want);
}

static void test_printf_fields(void **state)
{
    (void)state;
    expect("17 021 0x11 0X11 11", "%o %#o %#x %#X %X", 15u, 17u, 17u, 17u, 17u);
    expect("-1 255 65535 -2", "%hhd %hhu %hu %hd", 255, 255, 65535, 65534);
    expect("18446744073709551615 -9", "%llu %lld", 0xFFFFFFFFFFFFFFFFull, -9LL);
    expect("4294967296 -3 7", "%zu %Id %I32u", (size_t)4294967296ull, (ptrdiff_t)-3, 7u);
    expect("[] [1] [ 5] [-5 ]", "[%.0d] [%.0d] [% d] [%-3d]", 0, 1, 5, -5);
    expect("[ab   ] [   ab] [a]", "[%-5s] [%5s] [%.1s]", "ab", "ab", "ab");
    expect("[  kd] [kd  ]", "[%*s] [%-*s]", 4, "kd", 4, "kd");
    expect("[x  ]", "[%*s]", -3, "x");
    expect("[%] [%q]", "[%%] [%q]");
    expect("1.50 2e+00", "%.2f %.0e", 1.5, 2.0);
    UNICODE_STRING u = RTL_CONSTANT_STRING(L"abcdef");
    ANSI_STRING a = RTL_CONSTANT_STRING("xyz");
    expect("[   abc] [xy]", "[%6.3wZ] [%.2Z]", &u, &a);
    expect("A B \xe9", "%C %lc %wc", (int)L'A', (int)L'B', 0xE9);
    int n = 0;
    expect("ab", "a%nb", &n); /* %n writes nothing */
    assert_int_equal(n, 0);
    expect("?", "%C", 0x20AC); /* not in the code page */

    WCHAR w[32];
    assert_int_equal(
        RtlStringCchPrintfW(w, 32, L"%c%C%hs%ls%5.1s|", (int)L'w', (int)'n', "h", L"l", L"xyz"),
        STATUS_SUCCESS);
    assert_memory_equal(w, L"wnhl    x|", 11 * sizeof(WCHAR));
}

static void test_length(void **state)
{
    (void)state;
    size_t n = 99;
    assert_int_equal(RtlStringCchLengthA("abc", 10, &n), STATUS_SUCCESS);
    assert_int_equal(n, 3);
    assert_int_equal(RtlStringCchLengthA("abc", 3, &n), STATUS_INVALID_PARAMETER);
    assert_int_equal(n, 0);
    assert_int_equal(RtlStringCbLengthA("abc", 4, NULL), STATUS_SUCCESS);
    assert_int_equal(RtlStringCchLengthA(NULL, 4, &n), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCbLengthW(L"abc", 8, &n), STATUS_SUCCESS);
    assert_int_equal(n, 6);
    assert_int_equal(RtlStringCbLengthW(L"abc", 6, &n), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCchLengthW(L"abcd", 5, &n), STATUS_SUCCESS);
    assert_int_equal(n, 4);
    assert_int_equal(RtlStringCchLengthW(L"a", (size_t)NTSTRSAFE_MAX_CCH + 1, &n),
                     STATUS_INVALID_PARAMETER);
}

static void test_unicode_string_forms(void **state)
{
    (void)state;
    UNICODE_STRING u;
    assert_int_equal(RtlUnicodeStringInit(&u, L"abc"), STATUS_SUCCESS);
    assert_int_equal(u.Length, 6);
    assert_int_equal(u.MaximumLength, 8);
    assert_int_equal(RtlUnicodeStringInit(&u, NULL), STATUS_SUCCESS);
    assert_int_equal(u.MaximumLength, 0);
    assert_int_equal(RtlUnicodeStringValidate(&u), STATUS_SUCCESS);
    UNICODE_STRING odd = {3, 8, (PWSTR)L"abcd"}, over = {10, 8, (PWSTR)L"abcd"};
    assert_int_equal(RtlUnicodeStringValidate(&odd), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringValidate(&over), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringValidate(NULL), STATUS_INVALID_PARAMETER);

    DECLARE_UNICODE_STRING_SIZE(d, 5);
    UNICODE_STRING src = RTL_CONSTANT_STRING(L"abc");
    assert_int_equal(RtlUnicodeStringCopy(&d, &src), STATUS_SUCCESS);
    assert_int_equal(d.Length, 6);
    assert_int_equal(RtlUnicodeStringCat(&d, &src), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 10);
    assert_memory_equal(d.Buffer, L"abcab", 10);
    assert_int_equal(RtlUnicodeStringCatString(&d, L"z"), STATUS_INVALID_PARAMETER); /* full */
    assert_int_equal(RtlUnicodeStringCopyString(&d, L"xy"), STATUS_SUCCESS);
    assert_int_equal(d.Length, 4);
    assert_int_equal(RtlUnicodeStringCatString(&d, L"z"), STATUS_SUCCESS);
    assert_memory_equal(d.Buffer, L"xyz", 6);
    assert_int_equal(RtlUnicodeStringCopyString(&d, L"0123456"), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 10);
    assert_int_equal(RtlUnicodeStringCopyString(&d, NULL), STATUS_INVALID_PARAMETER);

    assert_int_equal(RtlUnicodeStringPrintf(&d, L"%d-%d", 1, 2), STATUS_SUCCESS);
    assert_int_equal(d.Length, 6);
    assert_memory_equal(d.Buffer, L"1-2", 6);
    assert_int_equal(RtlUnicodeStringPrintf(&d, L"%s", L"toolong"), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 10); /* all five characters, no NUL */
    assert_memory_equal(d.Buffer, L"toolo", 10);

    WCHAR w[4];
    UNICODE_STRING s5 = RTL_CONSTANT_STRING(L"12345");
    assert_int_equal(RtlStringCchCopyUnicodeString(w, 4, &s5), STATUS_BUFFER_OVERFLOW);
    assert_memory_equal(w, L"123", 8);
    assert_int_equal(RtlStringCbCopyUnicodeString(w, sizeof(w), &src), STATUS_SUCCESS);
    assert_memory_equal(w, L"abc", 8);
}

static void test_ex_forms(void **state)
{
    (void)state;
    char a[8];
    char *end = NULL;
    size_t rem = 0;
    assert_int_equal(RtlStringCchCopyExA(a, sizeof(a), "abc", &end, &rem, 0), STATUS_SUCCESS);
    assert_ptr_equal(end, a + 3);
    assert_int_equal(rem, 5);
    /* fill behind the NUL */
    assert_int_equal(RtlStringCbCopyExA(a, sizeof(a), "ab", NULL, NULL, STRSAFE_FILL_BYTE('#')),
                     STATUS_SUCCESS);
    assert_memory_equal(a, "ab\0#####", 8);
    /* NULL source only with STRSAFE_IGNORE_NULLS */
    assert_int_equal(RtlStringCchCopyExA(a, sizeof(a), NULL, &end, &rem, STRSAFE_IGNORE_NULLS),
                     STATUS_SUCCESS);
    assert_string_equal(a, "");
    assert_int_equal(rem, 8);
    assert_int_equal(RtlStringCchCopyExA(a, sizeof(a), NULL, NULL, NULL, 0),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCchCopyExA(NULL, 0, "", &end, &rem, STRSAFE_IGNORE_NULLS),
                     STATUS_SUCCESS);
    assert_int_equal(RtlStringCchCopyExA(NULL, 0, "x", NULL, NULL, STRSAFE_IGNORE_NULLS),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCchCopyExA(a, sizeof(a), "x", NULL, NULL, 0x2000u),
                     STATUS_INVALID_PARAMETER); /* not a flag */
    /* truncation: kept, cut, emptied, filled */
    strcpy(a, "old");
    assert_int_equal(RtlStringCchCopyExA(a, 4, "toolong", &end, &rem, STRSAFE_NO_TRUNCATION),
                     STATUS_BUFFER_OVERFLOW);
    assert_string_equal(a, "old");
    assert_int_equal(RtlStringCchCopyExA(a, 4, "toolong", &end, &rem, 0), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(a, "too");
    assert_ptr_equal(end, a + 3);
    assert_int_equal(rem, 1);
    assert_int_equal(RtlStringCchCopyExA(a, 4, "toolong", &end, &rem, STRSAFE_NULL_ON_FAILURE),
                     STATUS_BUFFER_OVERFLOW);
    assert_string_equal(a, "");
    assert_ptr_equal(end, a);
    assert_int_equal(rem, 4);
    assert_int_equal(RtlStringCchCopyExA(a, 4, "toolong", &end, &rem, STRSAFE_FAILURE_BYTE('*')),
                     STATUS_BUFFER_OVERFLOW);
    assert_memory_equal(a, "***\0", 4);
    assert_ptr_equal(end, a + 3);
    assert_int_equal(rem, 1);

    /* Cat */
    char c[8] = "ab";
    assert_int_equal(RtlStringCchCatExA(c, sizeof(c), "cd", &end, &rem, 0), STATUS_SUCCESS);
    assert_string_equal(c, "abcd");
    assert_ptr_equal(end, c + 4);
    assert_int_equal(rem, 4);
    assert_int_equal(RtlStringCchCatExA(c, sizeof(c), "efgh", &end, &rem, STRSAFE_NO_TRUNCATION),
                     STATUS_BUFFER_OVERFLOW);
    assert_string_equal(c, "abcd");
    assert_int_equal(RtlStringCbCatNExA(c, sizeof(c), "efgh", 2, NULL, NULL, 0), STATUS_SUCCESS);
    assert_string_equal(c, "abcdef");
    assert_int_equal(RtlStringCchCopyNExA(c, sizeof(c), "xyz", 1, NULL, NULL, 0), STATUS_SUCCESS);
    assert_string_equal(c, "x");

    /* Printf and the W forms, remaining room in bytes for Cb */
    WCHAR w[8];
    WCHAR *wend = NULL;
    assert_int_equal(RtlStringCbPrintfExW(w, sizeof(w), &wend, &rem, 0, L"%d-%s", 42, L"x"),
                     STATUS_SUCCESS);
    assert_memory_equal(w, L"42-x", 10);
    assert_ptr_equal(wend, w + 4);
    assert_int_equal(rem, 4 * sizeof(WCHAR));
    assert_int_equal(RtlStringCchPrintfExA(a, sizeof(a), &end, &rem, STRSAFE_NO_TRUNCATION, "%s",
                                           "much too long"),
                     STATUS_BUFFER_OVERFLOW);
    assert_int_equal(RtlStringCchPrintfExA(a, sizeof(a), &end, &rem, 0, "%u", 7u), STATUS_SUCCESS);
    assert_string_equal(a, "7");
    assert_int_equal(RtlStringCbCopyExW(w, sizeof(w), L"abc", &wend, &rem, 0), STATUS_SUCCESS);
    assert_int_equal(rem, 5 * sizeof(WCHAR));
    assert_int_equal(RtlStringCchCatExW(w, 8, L"de", &wend, &rem, 0), STATUS_SUCCESS);
    assert_memory_equal(w, L"abcde", 12);
    assert_int_equal(RtlStringCbCopyNExW(w, sizeof(w), L"abcdef", 2 * sizeof(WCHAR), NULL, NULL, 0),
                     STATUS_SUCCESS);
    assert_memory_equal(w, L"ab", 6);
}

static void test_unicode_string_n_forms(void **state)
{
    (void)state;
    DECLARE_UNICODE_STRING_SIZE(d, 6);
    UNICODE_STRING src = RTL_CONSTANT_STRING(L"abcdef");
    assert_int_equal(RtlUnicodeStringCchCopyN(&d, &src, 2), STATUS_SUCCESS);
    assert_int_equal(d.Length, 4);
    assert_int_equal(RtlUnicodeStringCbCatN(&d, &src, 3 * sizeof(WCHAR)), STATUS_SUCCESS);
    assert_int_equal(d.Length, 10);
    assert_memory_equal(d.Buffer, L"ababc", 10);
    assert_int_equal(RtlUnicodeStringCchCatStringN(&d, L"xyz", 3), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 12);
    assert_int_equal(RtlUnicodeStringCbCopyStringN(&d, L"xyz", 2 * sizeof(WCHAR)), STATUS_SUCCESS);
    assert_int_equal(d.Length, 4);
    assert_int_equal(RtlUnicodeStringCchCopyStringN(&d, L"q", 10), STATUS_SUCCESS);
    assert_int_equal(d.Length, 2);
    assert_int_equal(RtlUnicodeStringCbCatStringN(&d, L"rs", 100), STATUS_SUCCESS);
    assert_memory_equal(d.Buffer, L"qrs", 6);
    assert_int_equal(RtlUnicodeStringCchCopyN(&d, &src, 40000), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringCbCopyN(&d, &src, 2), STATUS_SUCCESS);
    assert_int_equal(d.Length, 2);
    assert_int_equal(RtlUnicodeStringCchCatN(&d, &src, 0), STATUS_SUCCESS);
    assert_int_equal(d.Length, 2);
}

static void test_unicode_string_ex_forms(void **state)
{
    (void)state;
    DECLARE_UNICODE_STRING_SIZE(d, 6);
    UNICODE_STRING rem, src = RTL_CONSTANT_STRING(L"abc");
    assert_int_equal(RtlUnicodeStringCopyEx(&d, &src, &rem, 0), STATUS_SUCCESS);
    assert_int_equal(d.Length, 6);
    assert_ptr_equal(rem.Buffer, d.Buffer + 3);
    assert_int_equal(rem.Length, 0);
    assert_int_equal(rem.MaximumLength, 6);
    /* fill behind the text with 0: the result is NUL-terminated */
    assert_int_equal(RtlUnicodeStringCatStringEx(&d, L"d", NULL, STRSAFE_FILL_BYTE(0)),
                     STATUS_SUCCESS);
    assert_memory_equal(d.Buffer, L"abcd\0", 10);
    /* no truncation: unchanged */
    assert_int_equal(RtlUnicodeStringCatEx(&d, &src, &rem, STRSAFE_NO_TRUNCATION),
                     STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 8);
    assert_int_equal(rem.MaximumLength, 4);
    /* truncation, then Length 0 on failure */
    assert_int_equal(RtlUnicodeStringCatEx(&d, &src, NULL, 0), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 12);
    assert_int_equal(
        RtlUnicodeStringCopyStringEx(&d, L"0123456", &rem, STRSAFE_ZERO_LENGTH_ON_FAILURE),
        STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 0);
    assert_int_equal(rem.MaximumLength, 12);
    assert_int_equal(RtlUnicodeStringCopyStringEx(&d, L"0123456", NULL, STRSAFE_FAILURE_BYTE('z')),
                     STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 0);
    assert_int_equal(((unsigned char *)d.Buffer)[11], 'z');
    /* NULLs, flags */
    assert_int_equal(RtlUnicodeStringCopyEx(&d, NULL, NULL, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringCopyEx(&d, NULL, NULL, STRSAFE_IGNORE_NULLS), STATUS_SUCCESS);
    assert_int_equal(d.Length, 0);
    assert_int_equal(RtlUnicodeStringCopyEx(NULL, &src, NULL, STRSAFE_IGNORE_NULLS),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringCopyEx(&d, &src, NULL, 0x4000u), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringInitEx(&rem, L"xy", 0), STATUS_SUCCESS);
    assert_int_equal(rem.Length, 4);
    assert_int_equal(RtlUnicodeStringInitEx(NULL, L"xy", STRSAFE_IGNORE_NULLS), STATUS_SUCCESS);
    assert_int_equal(RtlUnicodeStringInitEx(&rem, L"xy", STRSAFE_FILL_BEHIND),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringValidateEx(NULL, STRSAFE_IGNORE_NULLS), STATUS_SUCCESS);
    assert_int_equal(RtlUnicodeStringValidateEx(NULL, 0), STATUS_INVALID_PARAMETER);
    /* Printf */
    assert_int_equal(RtlUnicodeStringPrintfEx(&d, &rem, 0, L"%u-%u", 1u, 2u), STATUS_SUCCESS);
    assert_memory_equal(d.Buffer, L"1-2", 6);
    assert_int_equal(rem.MaximumLength, 6);
    assert_int_equal(RtlUnicodeStringPrintfEx(&d, NULL, STRSAFE_NO_TRUNCATION, L"%s", L"0123456"),
                     STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 6);
    /* into a WCHAR buffer */
    WCHAR w[4];
    WCHAR *end;
    size_t left;
    assert_int_equal(RtlStringCchCopyUnicodeStringEx(w, 4, &src, &end, &left, 0), STATUS_SUCCESS);
    assert_ptr_equal(end, w + 3);
    assert_int_equal(left, 1);
    assert_int_equal(
        RtlStringCbCopyUnicodeStringEx(w, sizeof(w), NULL, &end, &left, STRSAFE_IGNORE_NULLS),
        STATUS_SUCCESS);
    assert_int_equal(w[0], 0);
    assert_int_equal(left, sizeof(w));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_cat),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_printf_fields),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_unicode_string_forms),
        cmocka_unit_test(test_ex_forms),
        cmocka_unit_test(test_unicode_string_n_forms),
        cmocka_unit_test(test_unicode_string_ex_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
