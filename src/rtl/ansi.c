/* SPDX-License-Identifier: MIT */
/*
 * ansi.c - STRING / ANSI_STRING routines and the ANSI <-> Unicode
 * conversions: RtlCopyString, RtlCompareString, RtlEqualString,
 * RtlUpperChar, RtlAnsiStringToUnicodeString, RtlUnicodeStringToAnsiString,
 * RtlFreeAnsiString (docs/facts/rtl.md section 3). kdpc's ANSI code page is
 * ISO-8859-1 (Divergence in kdpc/wdm/rtl.h).
 */
#include <string.h>

#include "rtl/rtl.h"

static unsigned char upper8(unsigned char c)
{
    WCHAR u = kdpc__rtl_upcase(c);
    return u <= 0xFF ? (unsigned char)u : c;
}

void kdpc_RtlInitString(PSTRING DestinationString, PCSZ SourceString)
{
    if (kdpc__rtl_null(DestinationString, "RtlInitString", "DestinationString"))
        return;
    size_t n = SourceString != NULL ? strlen(SourceString) : 0;
    if (n > 65534u)
        n = 65534u;
    DestinationString->Buffer = (PCHAR)(uintptr_t)SourceString;
    DestinationString->Length = (USHORT)n;
    DestinationString->MaximumLength = (USHORT)(SourceString != NULL ? n + 1 : 0);
}

void kdpc_RtlCopyString(PSTRING DestinationString, const STRING *SourceString)
{
    if (kdpc__rtl_null(DestinationString, "RtlCopyString", "DestinationString"))
        return;
    if (SourceString == NULL) {
        DestinationString->Length = 0;
        return;
    }
    size_t n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength;
    if (kdpc__rtl_buf(SourceString->Buffer, n, "RtlCopyString", "SourceString->Buffer") ||
        kdpc__rtl_buf(DestinationString->Buffer, DestinationString->MaximumLength, "RtlCopyString",
                      "DestinationString->Buffer"))
        return;
    if (n > 0)
        memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = (USHORT)n;
    if (n < DestinationString->MaximumLength)
        DestinationString->Buffer[n] = '\0';
}

void kdpc_RtlUpperString(PSTRING DestinationString, const STRING *SourceString)
{
    kdpc__rtl_irql("RtlUpperString", APC_LEVEL);
    if (kdpc__rtl_null(DestinationString, "RtlUpperString", "DestinationString") ||
        kdpc__rtl_null(SourceString, "RtlUpperString", "SourceString"))
        return;
    size_t n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength;
    if (kdpc__rtl_buf(SourceString->Buffer, n, "RtlUpperString", "SourceString->Buffer") ||
        kdpc__rtl_buf(DestinationString->Buffer, n, "RtlUpperString", "DestinationString->Buffer"))
        return;
    for (size_t i = 0; i < n; i++)
        DestinationString->Buffer[i] = (CHAR)upper8((unsigned char)SourceString->Buffer[i]);
    DestinationString->Length = (USHORT)n;
}

ULONG kdpc_RtlxAnsiStringToUnicodeSize(PCANSI_STRING AnsiString)
{
    kdpc__rtl_passive("RtlxAnsiStringToUnicodeSize");
    if (kdpc__rtl_null(AnsiString, "RtlxAnsiStringToUnicodeSize", "AnsiString"))
        return 0;
    return ((ULONG)AnsiString->Length + 1u) * (ULONG)sizeof(WCHAR);
}

ULONG kdpc_RtlxUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString)
{
    kdpc__rtl_passive("RtlxUnicodeStringToAnsiSize");
    if (kdpc__rtl_null(UnicodeString, "RtlxUnicodeStringToAnsiSize", "UnicodeString"))
        return 0;
    return (ULONG)(UnicodeString->Length / sizeof(WCHAR)) + 1u;
}

static LONG compare(const STRING *a, const STRING *b, BOOLEAN ci, const char *routine)
{
    size_t n = a->Length < b->Length ? a->Length : b->Length;
    if (kdpc__rtl_buf(a->Buffer, n, routine, "String1->Buffer") ||
        kdpc__rtl_buf(b->Buffer, n, routine, "String2->Buffer"))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a->Buffer[i], y = (unsigned char)b->Buffer[i];
        if (ci) {
            x = upper8(x);
            y = upper8(y);
        }
        if (x != y)
            return (LONG)x - (LONG)y;
    }
    return (LONG)a->Length - (LONG)b->Length;
}

LONG kdpc_RtlCompareString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
    kdpc__rtl_passive("RtlCompareString");
    if (kdpc__rtl_null(String1, "RtlCompareString", "String1") ||
        kdpc__rtl_null(String2, "RtlCompareString", "String2"))
        return 0;
    return compare(String1, String2, CaseInSensitive, "RtlCompareString");
}

BOOLEAN kdpc_RtlEqualString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
    kdpc__rtl_passive("RtlEqualString");
    if (kdpc__rtl_null(String1, "RtlEqualString", "String1") ||
        kdpc__rtl_null(String2, "RtlEqualString", "String2"))
        return FALSE;
    return String1->Length == String2->Length &&
           compare(String1, String2, CaseInSensitive, "RtlEqualString") == 0;
}

CHAR kdpc_RtlUpperChar(CHAR Character)
{
    kdpc__rtl_irql("RtlUpperChar", APC_LEVEL);
    return (CHAR)upper8((unsigned char)Character);
}

NTSTATUS kdpc_RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                           PCANSI_STRING SourceString,
                                           BOOLEAN AllocateDestinationString)
{
    kdpc__rtl_passive("RtlAnsiStringToUnicodeString");
    if (kdpc__rtl_null(DestinationString, "RtlAnsiStringToUnicodeString", "DestinationString") ||
        kdpc__rtl_null(SourceString, "RtlAnsiStringToUnicodeString", "SourceString"))
        return STATUS_INVALID_PARAMETER;
    size_t n = SourceString->Length;
    size_t need = (n + 1) * sizeof(WCHAR);
    if (need > UNICODE_STRING_MAX_BYTES)
        return STATUS_INVALID_PARAMETER_2;
    if (kdpc__rtl_buf(SourceString->Buffer, n, "RtlAnsiStringToUnicodeString",
                      "SourceString->Buffer"))
        return STATUS_INVALID_PARAMETER;
    if (AllocateDestinationString) {
        PWSTR b = kdpc__pool_kernel_alloc(PagedPool, need, KDPC_RTL_TAG);
        if (b == NULL)
            return STATUS_NO_MEMORY;
        DestinationString->Buffer = b;
        DestinationString->MaximumLength = (USHORT)need;
    } else if (need > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    } else if (kdpc__rtl_null(DestinationString->Buffer, "RtlAnsiStringToUnicodeString",
                              "DestinationString->Buffer")) {
        return STATUS_INVALID_PARAMETER;
    }
    for (size_t i = 0; i < n; i++)
        DestinationString->Buffer[i] = (WCHAR)(unsigned char)SourceString->Buffer[i];
    DestinationString->Buffer[n] = UNICODE_NULL;
    DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                           PCUNICODE_STRING SourceString,
                                           BOOLEAN AllocateDestinationString)
{
    kdpc__rtl_passive("RtlUnicodeStringToAnsiString");
    if (kdpc__rtl_null(DestinationString, "RtlUnicodeStringToAnsiString", "DestinationString") ||
        kdpc__rtl_null(SourceString, "RtlUnicodeStringToAnsiString", "SourceString"))
        return STATUS_INVALID_PARAMETER;
    size_t n = SourceString->Length / sizeof(WCHAR);
    size_t need = n + 1;
    if (kdpc__rtl_buf(SourceString->Buffer, n, "RtlUnicodeStringToAnsiString",
                      "SourceString->Buffer"))
        return STATUS_INVALID_PARAMETER;
    if (AllocateDestinationString) {
        PCHAR b = kdpc__pool_kernel_alloc(PagedPool, need, KDPC_RTL_TAG);
        if (b == NULL)
            return STATUS_NO_MEMORY;
        DestinationString->Buffer = b;
        DestinationString->MaximumLength = (USHORT)need;
    } else if (need > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    } else if (kdpc__rtl_null(DestinationString->Buffer, "RtlUnicodeStringToAnsiString",
                              "DestinationString->Buffer")) {
        return STATUS_INVALID_PARAMETER;
    }
    for (size_t i = 0; i < n; i++) {
        WCHAR c = SourceString->Buffer[i];
        DestinationString->Buffer[i] = (CHAR)(c <= 0xFF ? c : '?');
    }
    DestinationString->Buffer[n] = '\0';
    DestinationString->Length = (USHORT)n;
    return STATUS_SUCCESS;
}

void kdpc_RtlFreeAnsiString(PANSI_STRING AnsiString)
{
    kdpc__rtl_irql("RtlFreeAnsiString", APC_LEVEL);
    if (kdpc__rtl_null(AnsiString, "RtlFreeAnsiString", "AnsiString"))
        return;
    if (AnsiString->Buffer != NULL)
        ExFreePoolWithTag(AnsiString->Buffer, 0);
    AnsiString->Buffer = NULL;
    AnsiString->Length = AnsiString->MaximumLength = 0;
}
