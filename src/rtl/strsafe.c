/* SPDX-License-Identifier: MIT */
/*
 * strsafe.c - the ntstrsafe routines: RtlStringCb/Cch Copy, CopyN, Cat,
 * CatN, Printf, VPrintf, Length for 8-bit (A) and WCHAR (W) strings, and the
 * RtlUnicodeString* routines over counted strings (docs/facts/rtl.md
 * section 7). Truncation is STATUS_BUFFER_OVERFLOW with what fits kept (and a
 * NUL after it for the NUL-terminated forms); a bad argument is
 * STATUS_INVALID_PARAMETER.
 */
#include <string.h>

#include "rtl/rtl.h"

/* A NUL-terminated destination of @cch units, narrow (@n) or wide (@w). */
typedef struct dst {
    char *n;
    WCHAR *w;
    size_t cch;
} dst;

static unsigned src_at(const char *n, const WCHAR *w, size_t i)
{
    return w != NULL ? w[i] : (unsigned char)n[i];
}

static void set_at(const dst *d, size_t i, unsigned v)
{
    if (d->w != NULL)
        d->w[i] = (WCHAR)v;
    else
        d->n[i] = (char)v;
}

static bool dst_ok(const dst *d)
{
    return (d->n != NULL || d->w != NULL) && d->cch != 0 && d->cch <= NTSTRSAFE_MAX_CCH;
}

/* On a bad argument the destination, when it can be written, becomes the empty string. */
static NTSTATUS bad(const dst *d)
{
    if ((d->n != NULL || d->w != NULL) && d->cch != 0 && d->cch <= NTSTRSAFE_MAX_CCH)
        set_at(d, 0, 0);
    return STATUS_INVALID_PARAMETER;
}

/* Copy at most @max units of the source into @d from unit @at on, NUL-terminated. */
static NTSTATUS copy_at(const dst *d, size_t at, const char *sn, const WCHAR *sw, size_t max)
{
    size_t i = 0;
    while (i < max && src_at(sn, sw, i) != 0) {
        if (at + i + 1 >= d->cch) {
            set_at(d, at + i, 0);
            return STATUS_BUFFER_OVERFLOW;
        }
        set_at(d, at + i, src_at(sn, sw, i));
        i++;
    }
    set_at(d, at + i, 0);
    return STATUS_SUCCESS;
}

static NTSTATUS copy(const dst *d, const char *sn, const WCHAR *sw, size_t max)
{
    if (!dst_ok(d) || (sn == NULL && sw == NULL) || max > NTSTRSAFE_MAX_CCH)
        return bad(d);
    return copy_at(d, 0, sn, sw, max);
}

/* Length of the destination's text; false when no NUL within its size. */
static bool dst_len(const dst *d, size_t *len)
{
    for (size_t i = 0; i < d->cch; i++) {
        if ((d->w != NULL ? d->w[i] : (unsigned char)d->n[i]) == 0) {
            *len = i;
            return true;
        }
    }
    return false;
}

static NTSTATUS cat(const dst *d, const char *sn, const WCHAR *sw, size_t max)
{
    size_t len;
    if (!dst_ok(d) || (sn == NULL && sw == NULL) || max > NTSTRSAFE_MAX_CCH)
        return STATUS_INVALID_PARAMETER;
    if (!dst_len(d, &len))
        return STATUS_INVALID_PARAMETER; /* the destination is already full */
    return copy_at(d, len, sn, sw, max);
}

static NTSTATUS vprintf_(const dst *d, const void *fmt, bool wide, va_list ap)
{
    if (!dst_ok(d) || fmt == NULL)
        return bad(d);
    kdpc__rtl_out o = {d->n, d->w, d->cch, false, 0, 0, false, false};
    va_list cp;
    va_copy(cp, ap);
    kdpc__rtl_vformat(&o, fmt, wide, cp);
    va_end(cp);
    return o.need > o.len ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static NTSTATUS length(const char *n, const WCHAR *w, size_t max, size_t *len)
{
    if ((n == NULL && w == NULL) || max > NTSTRSAFE_MAX_CCH)
        return STATUS_INVALID_PARAMETER;
    for (size_t i = 0; i < max; i++) {
        if (src_at(n, w, i) == 0) {
            *len = i;
            return STATUS_SUCCESS;
        }
    }
    return STATUS_INVALID_PARAMETER;
}

#define DA(p, c) ((dst){(p), NULL, (c)})
#define DW(p, c) ((dst){NULL, (p), (c)})
#define BIG      (NTSTRSAFE_MAX_CCH + (size_t)1) /* a byte count too large to be valid */
/* A byte size as a count of WCHARs: an odd byte count drops its last byte; too large stays
 * too large. */
static size_t wcch(size_t cb)
{
    return cb > NTSTRSAFE_MAX_CCH * sizeof(WCHAR) ? BIG : cb / sizeof(WCHAR);
}

NTSTATUS kdpc_RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc)
{
    return copy(&DA(pszDest, cchDest), pszSrc, NULL, NTSTRSAFE_MAX_CCH);
}
NTSTATUS kdpc_RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc)
{
    return copy(&DW(pszDest, cchDest), NULL, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTSTATUS kdpc_RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc)
{
    return copy(&DA(pszDest, cbDest), pszSrc, NULL, NTSTRSAFE_MAX_CCH);
}
NTSTATUS kdpc_RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc)
{
    return copy(&DW(pszDest, wcch(cbDest)), NULL, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTSTATUS kdpc_RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
                                 size_t cchToCopy)
{
    return copy(&DA(pszDest, cchDest), pszSrc, NULL, cchToCopy);
}
NTSTATUS kdpc_RtlStringCchCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
                                 size_t cchToCopy)
{
    return copy(&DW(pszDest, cchDest), NULL, pszSrc, cchToCopy);
}
NTSTATUS kdpc_RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
                                size_t cbToCopy)
{
    return copy(&DA(pszDest, cbDest), pszSrc, NULL, cbToCopy);
}
NTSTATUS kdpc_RtlStringCbCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
                                size_t cbToCopy)
{
    return copy(&DW(pszDest, wcch(cbDest)), NULL, pszSrc, wcch(cbToCopy));
}

NTSTATUS kdpc_RtlStringCchCatA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc)
{
    return cat(&DA(pszDest, cchDest), pszSrc, NULL, NTSTRSAFE_MAX_CCH);
}
NTSTATUS kdpc_RtlStringCchCatW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc)
{
    return cat(&DW(pszDest, cchDest), NULL, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTSTATUS kdpc_RtlStringCbCatA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc)
{
    return cat(&DA(pszDest, cbDest), pszSrc, NULL, NTSTRSAFE_MAX_CCH);
}
NTSTATUS kdpc_RtlStringCbCatW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc)
{
    return cat(&DW(pszDest, wcch(cbDest)), NULL, pszSrc, NTSTRSAFE_MAX_CCH);
}
NTSTATUS kdpc_RtlStringCchCatNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
                                size_t cchToAppend)
{
    return cat(&DA(pszDest, cchDest), pszSrc, NULL, cchToAppend);
}
NTSTATUS kdpc_RtlStringCchCatNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
                                size_t cchToAppend)
{
    return cat(&DW(pszDest, cchDest), NULL, pszSrc, cchToAppend);
}
NTSTATUS kdpc_RtlStringCbCatNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
                               size_t cbToAppend)
{
    return cat(&DA(pszDest, cbDest), pszSrc, NULL, cbToAppend);
}
NTSTATUS kdpc_RtlStringCbCatNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
                               size_t cbToAppend)
{
    return cat(&DW(pszDest, wcch(cbDest)), NULL, pszSrc, wcch(cbToAppend));
}

NTSTATUS kdpc_RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                   NTSTRSAFE_PCSTR pszFormat, va_list argList)
{
    return vprintf_(&DA(pszDest, cchDest), pszFormat, false, argList);
}
NTSTATUS kdpc_RtlStringCchVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                   NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    return vprintf_(&DW(pszDest, cchDest), pszFormat, true, argList);
}
NTSTATUS kdpc_RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat,
                                  va_list argList)
{
    return vprintf_(&DA(pszDest, cbDest), pszFormat, false, argList);
}
NTSTATUS kdpc_RtlStringCbVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                  NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    return vprintf_(&DW(pszDest, wcch(cbDest)), pszFormat, true, argList);
}
NTSTATUS kdpc_RtlStringCchPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat,
                                  ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st = vprintf_(&DA(pszDest, cchDest), pszFormat, false, ap);
    va_end(ap);
    return st;
}
NTSTATUS kdpc_RtlStringCchPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                  NTSTRSAFE_PCWSTR pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st = vprintf_(&DW(pszDest, cchDest), pszFormat, true, ap);
    va_end(ap);
    return st;
}
NTSTATUS kdpc_RtlStringCbPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat,
                                 ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st = vprintf_(&DA(pszDest, cbDest), pszFormat, false, ap);
    va_end(ap);
    return st;
}
NTSTATUS kdpc_RtlStringCbPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat,
                                 ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st = vprintf_(&DW(pszDest, wcch(cbDest)), pszFormat, true, ap);
    va_end(ap);
    return st;
}

NTSTATUS kdpc_RtlStringCchLengthA(NTSTRSAFE_PCSTR psz, size_t cchMax, size_t *pcchLength)
{
    size_t n = 0;
    NTSTATUS st = length(psz, NULL, cchMax, &n);
    if (pcchLength != NULL)
        *pcchLength = NT_SUCCESS(st) ? n : 0;
    return st;
}
NTSTATUS kdpc_RtlStringCchLengthW(NTSTRSAFE_PCWSTR psz, size_t cchMax, size_t *pcchLength)
{
    size_t n = 0;
    NTSTATUS st = length(NULL, psz, cchMax, &n);
    if (pcchLength != NULL)
        *pcchLength = NT_SUCCESS(st) ? n : 0;
    return st;
}
NTSTATUS kdpc_RtlStringCbLengthA(NTSTRSAFE_PCSTR psz, size_t cbMax, size_t *pcbLength)
{
    return kdpc_RtlStringCchLengthA(psz, cbMax, pcbLength);
}
NTSTATUS kdpc_RtlStringCbLengthW(NTSTRSAFE_PCWSTR psz, size_t cbMax, size_t *pcbLength)
{
    size_t n = 0;
    NTSTATUS st = length(NULL, psz, wcch(cbMax), &n);
    if (pcbLength != NULL)
        *pcbLength = NT_SUCCESS(st) ? n * sizeof(WCHAR) : 0;
    return st;
}

/* ------------------------------------------------------------------ */
/* UNICODE_STRING                                                      */

#define US_MAX_BYTES (NTSTRSAFE_UNICODE_STRING_MAX_CCH * sizeof(WCHAR))

static bool us_ok(PCUNICODE_STRING u)
{
    return u != NULL && (u->Length % 2u) == 0 && (u->MaximumLength % 2u) == 0 &&
           u->Length <= u->MaximumLength && u->MaximumLength <= US_MAX_BYTES &&
           (u->Buffer != NULL || u->MaximumLength == 0);
}

NTSTATUS kdpc_RtlUnicodeStringValidate(PCUNICODE_STRING SourceString)
{
    return us_ok(SourceString) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

NTSTATUS kdpc_RtlUnicodeStringInit(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc)
{
    if (DestinationString == NULL)
        return STATUS_INVALID_PARAMETER;
    size_t n = 0;
    if (pszSrc != NULL) {
        while (pszSrc[n] != 0) {
            if (++n >= NTSTRSAFE_UNICODE_STRING_MAX_CCH) {
                DestinationString->Buffer = NULL;
                DestinationString->Length = DestinationString->MaximumLength = 0;
                return STATUS_INVALID_PARAMETER;
            }
        }
    }
    DestinationString->Buffer = (PWSTR)(uintptr_t)pszSrc;
    DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
    DestinationString->MaximumLength = (USHORT)(pszSrc != NULL ? (n + 1) * sizeof(WCHAR) : 0);
    return STATUS_SUCCESS;
}

/* Put @n units of @src after the first @at bytes of @d (counted, no NUL). */
static NTSTATUS us_put(PUNICODE_STRING d, size_t at, const WCHAR *src, size_t n)
{
    size_t room = (d->MaximumLength - at) / sizeof(WCHAR);
    if (n > 0 && room == 0)
        return STATUS_INVALID_PARAMETER; /* the destination is already full */
    NTSTATUS st = STATUS_SUCCESS;
    if (n > room) {
        n = room;
        st = STATUS_BUFFER_OVERFLOW;
    }
    if (n > 0)
        memmove((unsigned char *)d->Buffer + at, src, n * sizeof(WCHAR));
    d->Length = (USHORT)(at + n * sizeof(WCHAR));
    return st;
}

static size_t wlen_max(const WCHAR *s, bool *too_long)
{
    size_t n = 0;
    while (s[n] != 0) {
        if (++n > NTSTRSAFE_UNICODE_STRING_MAX_CCH) {
            *too_long = true;
            return n;
        }
    }
    *too_long = false;
    return n;
}

NTSTATUS kdpc_RtlUnicodeStringCopy(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    if (!us_ok(DestinationString) || !us_ok(SourceString))
        return STATUS_INVALID_PARAMETER;
    return us_put(DestinationString, 0, SourceString->Buffer, SourceString->Length / sizeof(WCHAR));
}

NTSTATUS kdpc_RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc)
{
    bool too_long;
    if (!us_ok(DestinationString) || pszSrc == NULL)
        return STATUS_INVALID_PARAMETER;
    size_t n = wlen_max(pszSrc, &too_long);
    if (too_long)
        return STATUS_INVALID_PARAMETER;
    return us_put(DestinationString, 0, pszSrc, n);
}

NTSTATUS kdpc_RtlUnicodeStringCat(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    if (!us_ok(DestinationString) || !us_ok(SourceString))
        return STATUS_INVALID_PARAMETER;
    return us_put(DestinationString, DestinationString->Length, SourceString->Buffer,
                  SourceString->Length / sizeof(WCHAR));
}

NTSTATUS kdpc_RtlUnicodeStringCatString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc)
{
    bool too_long;
    if (!us_ok(DestinationString) || pszSrc == NULL)
        return STATUS_INVALID_PARAMETER;
    size_t n = wlen_max(pszSrc, &too_long);
    if (too_long)
        return STATUS_INVALID_PARAMETER;
    return us_put(DestinationString, DestinationString->Length, pszSrc, n);
}

NTSTATUS kdpc_RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat,
                                      va_list argList)
{
    if (!us_ok(DestinationString) || pszFormat == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc__rtl_out o = {NULL,
                       DestinationString->Buffer,
                       DestinationString->MaximumLength / sizeof(WCHAR),
                       true,
                       0,
                       0,
                       false,
                       false};
    va_list cp;
    va_copy(cp, argList);
    kdpc__rtl_vformat(&o, pszFormat, true, cp);
    va_end(cp);
    DestinationString->Length = (USHORT)(o.len * sizeof(WCHAR));
    return o.need > o.len ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTSTATUS kdpc_RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat,
                                     ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st = kdpc_RtlUnicodeStringVPrintf(DestinationString, pszFormat, ap);
    va_end(ap);
    return st;
}

NTSTATUS kdpc_RtlStringCchCopyUnicodeString(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                            PCUNICODE_STRING SourceString)
{
    dst d = DW(pszDest, cchDest);
    if (!us_ok(SourceString) || cchDest > NTSTRSAFE_UNICODE_STRING_MAX_CCH)
        return bad(&d);
    if (!dst_ok(&d))
        return bad(&d);
    size_t n = SourceString->Length / sizeof(WCHAR);
    NTSTATUS st = STATUS_SUCCESS;
    if (n >= cchDest) {
        n = cchDest - 1;
        st = STATUS_BUFFER_OVERFLOW;
    }
    if (n > 0)
        memmove(pszDest, SourceString->Buffer, n * sizeof(WCHAR));
    pszDest[n] = 0;
    return st;
}

NTSTATUS kdpc_RtlStringCbCopyUnicodeString(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                           PCUNICODE_STRING SourceString)
{
    return kdpc_RtlStringCchCopyUnicodeString(pszDest, wcch(cbDest), SourceString);
}
