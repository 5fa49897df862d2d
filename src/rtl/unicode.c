/* SPDX-License-Identifier: MIT */
/*
 * unicode.c - UNICODE_STRING routines: RtlCopyUnicodeString, the two
 * appends, compare / equal, upcase, RtlFreeUnicodeString
 * (docs/facts/rtl.md section 2).
 */
#include <string.h>

#include "rtl/rtl.h"

/* kdpc's case table: ASCII, Latin-1, basic Greek and Cyrillic (Divergence in rtl.h). */
WCHAR kdpc__rtl_upcase(WCHAR c)
{
    if (c >= 'a' && c <= 'z')
        return (WCHAR)(c - 0x20);
    if (c < 0xE0)
        return c == 0xB5 ? (WCHAR)0x039C : c;
    if (c <= 0xFE)
        return c == 0xF7 ? c : (WCHAR)(c - 0x20);
    if (c == 0xFF)
        return 0x0178;
    if (c >= 0x03B1 && c <= 0x03CB && c != 0x03C2)
        return (WCHAR)(c - 0x20);
    if (c >= 0x0430 && c <= 0x044F)
        return (WCHAR)(c - 0x20);
    if (c >= 0x0450 && c <= 0x045F)
        return (WCHAR)(c - 0x50);
    return c;
}

/* Whole characters of @u (an odd byte count loses its last byte). */
static size_t chars(const UNICODE_STRING *u)
{
    return u->Length / sizeof(WCHAR);
}

/* NUL after @d's text when its buffer has room for one. */
static void terminate(PUNICODE_STRING d, const char *routine)
{
    if ((size_t)d->Length + sizeof(WCHAR) <= d->MaximumLength &&
        !kdpc__rtl_null(d->Buffer, routine, "Destination->Buffer"))
        d->Buffer[d->Length / sizeof(WCHAR)] = UNICODE_NULL;
}

void kdpc_RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    if (kdpc__rtl_null(DestinationString, "RtlInitUnicodeString", "DestinationString"))
        return;
    size_t n = 0;
    if (SourceString != NULL) {
        while (SourceString[n] != 0)
            n++;
    }
    if (n > 32766u)
        n = 32766u;
    DestinationString->Buffer = (PWSTR)(uintptr_t)SourceString;
    DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
    DestinationString->MaximumLength = (USHORT)(SourceString != NULL ? (n + 1) * sizeof(WCHAR) : 0);
}

void kdpc_RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    if (kdpc__rtl_null(DestinationString, "RtlCopyUnicodeString", "DestinationString"))
        return;
    if (SourceString == NULL) {
        DestinationString->Length = 0;
        return;
    }
    size_t n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength;
    n &= ~(size_t)1;
    if (kdpc__rtl_buf(SourceString->Buffer, n, "RtlCopyUnicodeString", "SourceString->Buffer") ||
        kdpc__rtl_buf(DestinationString->Buffer, n, "RtlCopyUnicodeString",
                      "DestinationString->Buffer"))
        return;
    if (n > 0)
        memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = (USHORT)n;
    terminate(DestinationString, "RtlCopyUnicodeString");
}

static NTSTATUS append(PUNICODE_STRING d, const WCHAR *src, size_t bytes, const char *routine)
{
    if (bytes == 0)
        return STATUS_SUCCESS;
    if ((size_t)d->Length + bytes > d->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    if (kdpc__rtl_buf(src, bytes, routine, "Source->Buffer") ||
        kdpc__rtl_buf(d->Buffer, bytes, routine, "Destination->Buffer"))
        return STATUS_INVALID_PARAMETER;
    memmove((unsigned char *)d->Buffer + d->Length, src, bytes);
    d->Length = (USHORT)(d->Length + bytes);
    terminate(d, routine);
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source)
{
    if (kdpc__rtl_null(Destination, "RtlAppendUnicodeStringToString", "Destination") ||
        kdpc__rtl_null(Source, "RtlAppendUnicodeStringToString", "Source"))
        return STATUS_INVALID_PARAMETER;
    return append(Destination, Source->Buffer, Source->Length & ~1u,
                  "RtlAppendUnicodeStringToString");
}

NTSTATUS kdpc_RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source)
{
    if (kdpc__rtl_null(Destination, "RtlAppendUnicodeToString", "Destination"))
        return STATUS_INVALID_PARAMETER;
    if (Source == NULL)
        return STATUS_SUCCESS;
    size_t n = 0;
    while (Source[n] != 0 && n <= 0x8000u)
        n++;
    return append(Destination, Source, n * sizeof(WCHAR), "RtlAppendUnicodeToString");
}

static LONG compare(const UNICODE_STRING *a, const UNICODE_STRING *b, BOOLEAN ci,
                    const char *routine)
{
    size_t na = chars(a), nb = chars(b), n = na < nb ? na : nb;
    if (kdpc__rtl_buf(a->Buffer, n, routine, "String1->Buffer") ||
        kdpc__rtl_buf(b->Buffer, n, routine, "String2->Buffer"))
        return 0;
    for (size_t i = 0; i < n; i++) {
        WCHAR x = a->Buffer[i], y = b->Buffer[i];
        if (ci) {
            x = kdpc__rtl_upcase(x);
            y = kdpc__rtl_upcase(y);
        }
        if (x != y)
            return (LONG)x - (LONG)y;
    }
    return (LONG)na - (LONG)nb;
}

LONG kdpc_RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                  BOOLEAN CaseInSensitive)
{
    kdpc__rtl_passive("RtlCompareUnicodeString");
    if (kdpc__rtl_null(String1, "RtlCompareUnicodeString", "String1") ||
        kdpc__rtl_null(String2, "RtlCompareUnicodeString", "String2"))
        return 0;
    return compare(String1, String2, CaseInSensitive, "RtlCompareUnicodeString");
}

BOOLEAN kdpc_RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                   BOOLEAN CaseInSensitive)
{
    kdpc__rtl_passive("RtlEqualUnicodeString");
    if (kdpc__rtl_null(String1, "RtlEqualUnicodeString", "String1") ||
        kdpc__rtl_null(String2, "RtlEqualUnicodeString", "String2"))
        return FALSE;
    if (chars(String1) != chars(String2))
        return FALSE;
    return compare(String1, String2, CaseInSensitive, "RtlEqualUnicodeString") == 0;
}

BOOLEAN kdpc_RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                    BOOLEAN CaseInSensitive)
{
    kdpc__rtl_passive("RtlPrefixUnicodeString");
    if (kdpc__rtl_null(String1, "RtlPrefixUnicodeString", "String1") ||
        kdpc__rtl_null(String2, "RtlPrefixUnicodeString", "String2"))
        return FALSE;
    size_t n = chars(String1);
    if (n > chars(String2))
        return FALSE;
    UNICODE_STRING head = {(USHORT)(n * sizeof(WCHAR)), (USHORT)(n * sizeof(WCHAR)),
                           String2->Buffer};
    return compare(String1, &head, CaseInSensitive, "RtlPrefixUnicodeString") == 0;
}

WCHAR kdpc_RtlUpcaseUnicodeChar(WCHAR SourceCharacter)
{
    kdpc__rtl_irql("RtlUpcaseUnicodeChar", APC_LEVEL);
    return kdpc__rtl_upcase(SourceCharacter);
}

NTSTATUS kdpc_RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                     PCUNICODE_STRING SourceString,
                                     BOOLEAN AllocateDestinationString)
{
    kdpc__rtl_irql("RtlUpcaseUnicodeString", APC_LEVEL);
    if (kdpc__rtl_null(DestinationString, "RtlUpcaseUnicodeString", "DestinationString") ||
        kdpc__rtl_null(SourceString, "RtlUpcaseUnicodeString", "SourceString"))
        return STATUS_INVALID_PARAMETER;
    size_t n = chars(SourceString);
    if (kdpc__rtl_buf(SourceString->Buffer, n, "RtlUpcaseUnicodeString", "SourceString->Buffer"))
        return STATUS_INVALID_PARAMETER;
    if (AllocateDestinationString) {
        PWSTR b =
            n == 0 ? NULL : kdpc__pool_kernel_alloc(PagedPool, n * sizeof(WCHAR), KDPC_RTL_TAG);
        if (n != 0 && b == NULL)
            return STATUS_NO_MEMORY;
        DestinationString->Buffer = b;
        DestinationString->MaximumLength = (USHORT)(n * sizeof(WCHAR));
    } else if (n * sizeof(WCHAR) > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    } else if (kdpc__rtl_buf(DestinationString->Buffer, n, "RtlUpcaseUnicodeString",
                             "DestinationString->Buffer")) {
        return STATUS_INVALID_PARAMETER;
    }
    for (size_t i = 0; i < n; i++)
        DestinationString->Buffer[i] = kdpc__rtl_upcase(SourceString->Buffer[i]);
    DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

void kdpc_RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
    kdpc__rtl_irql("RtlFreeUnicodeString", APC_LEVEL);
    if (kdpc__rtl_null(UnicodeString, "RtlFreeUnicodeString", "UnicodeString"))
        return;
    if (UnicodeString->Buffer != NULL)
        ExFreePoolWithTag(UnicodeString->Buffer, 0);
    UnicodeString->Buffer = NULL;
    UnicodeString->Length = UnicodeString->MaximumLength = 0;
}
