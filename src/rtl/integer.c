/* SPDX-License-Identifier: MIT */
/*
 * integer.c - numbers in strings: RtlUnicodeStringToInteger,
 * RtlCharToInteger, RtlIntegerToUnicodeString, RtlInt64ToUnicodeString (docs/facts/rtl.md
 * section 5).
 */
#include <string.h>

#include "rtl/rtl.h"

/* Parse @n units of @s (narrow when @w is NULL). */
static NTSTATUS parse(const char *s, const WCHAR *w, size_t n, ULONG base, PULONG value)
{
    if (base != 0 && base != 2 && base != 8 && base != 10 && base != 16)
        return STATUS_INVALID_PARAMETER;
    if (n == 0)
        return STATUS_INVALID_PARAMETER;
#define AT(k) ((unsigned)(w != NULL ? w[k] : (unsigned char)s[k]))
    size_t i = 0;
    while (i < n && AT(i) <= ' ')
        i++;
    bool neg = false;
    if (i < n && (AT(i) == '-' || AT(i) == '+')) {
        neg = AT(i) == '-';
        i++;
    }
    if (base == 0) {
        base = 10;
        if (i + 1 < n && AT(i) == '0') {
            unsigned p = AT(i + 1);
            if (p == 'x' || p == 'X')
                base = 16;
            else if (p == 'o' || p == 'O')
                base = 8;
            else if (p == 'b' || p == 'B')
                base = 2;
            if (base != 10)
                i += 2;
        }
    }
    ULONG v = 0;
    for (; i < n; i++) {
        unsigned c = AT(i), d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            break;
        if (d >= base)
            break;
        v = v * base + d;
    }
#undef AT
    *value = neg ? 0u - v : v;
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value)
{
    kdpc__rtl_passive("RtlUnicodeStringToInteger");
    if (kdpc__rtl_null(String, "RtlUnicodeStringToInteger", "String") ||
        kdpc__rtl_null(Value, "RtlUnicodeStringToInteger", "Value"))
        return STATUS_INVALID_PARAMETER;
    size_t n = String->Length / sizeof(WCHAR);
    if (n > 0 && kdpc__rtl_null(String->Buffer, "RtlUnicodeStringToInteger", "String->Buffer"))
        return STATUS_INVALID_PARAMETER;
    return parse(NULL, String->Buffer, n, Base, Value);
}

NTSTATUS kdpc_RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value)
{
    kdpc__rtl_passive("RtlCharToInteger");
    if (kdpc__rtl_null(Value, "RtlCharToInteger", "Value"))
        return STATUS_INVALID_PARAMETER;
    if (String == NULL)
        return STATUS_INVALID_PARAMETER;
    return parse(String, NULL, strlen(String), Base, Value);
}

static NTSTATUS to_string(const char *routine, ULONGLONG Value, ULONG Base, PUNICODE_STRING String)
{
    kdpc__rtl_passive(routine);
    if (kdpc__rtl_null(String, routine, "String"))
        return STATUS_INVALID_PARAMETER;
    if (Base == 0)
        Base = 10;
    if (Base != 2 && Base != 8 && Base != 10 && Base != 16)
        return STATUS_INVALID_PARAMETER;
    char d[65];
    size_t n = 0;
    do {
        d[n++] = "0123456789ABCDEF"[Value % Base];
        Value /= Base;
    } while (Value != 0);
    if ((n + 1) * sizeof(WCHAR) > String->MaximumLength)
        return STATUS_BUFFER_OVERFLOW;
    if (kdpc__rtl_null(String->Buffer, routine, "String->Buffer"))
        return STATUS_INVALID_PARAMETER;
    for (size_t i = 0; i < n; i++)
        String->Buffer[i] = (WCHAR)(unsigned char)d[n - 1 - i];
    String->Buffer[n] = UNICODE_NULL;
    String->Length = (USHORT)(n * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String)
{
    return to_string("RtlIntegerToUnicodeString", Value, Base, String);
}

NTSTATUS kdpc_RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String)
{
    return to_string("RtlInt64ToUnicodeString", Value, Base, String);
}
