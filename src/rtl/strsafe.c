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
    if (dst_ok(d))
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
        if (src_at(d->n, d->w, i) == 0) {
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

/* Format @fmt into the whole of @d's buffer (counted, no NUL); STATUS_BUFFER_OVERFLOW when cut. */
static NTSTATUS us_vformat(PUNICODE_STRING d, const WCHAR *fmt, va_list ap)
{
    kdpc__rtl_out o = {NULL, d->Buffer, d->MaximumLength / sizeof(WCHAR), true, 0, 0, false, false};
    va_list cp;
    va_copy(cp, ap);
    kdpc__rtl_vformat(&o, fmt, true, cp);
    va_end(cp);
    d->Length = (USHORT)(o.len * sizeof(WCHAR));
    return o.need > o.len ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTSTATUS kdpc_RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat,
                                      va_list argList)
{
    if (!us_ok(DestinationString) || pszFormat == NULL)
        return STATUS_INVALID_PARAMETER;
    return us_vformat(DestinationString, pszFormat, argList);
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

/* ------------------------------------------------------------------ */
/* The Ex forms: end pointer, remaining count, STRSAFE_* flags          */

typedef enum ex_op { EX_COPY, EX_CAT, EX_PRINTF } ex_op;

/* Address of unit @i of @d (NULL when @d has no buffer). */
static void *unit_ptr(const dst *d, size_t i)
{
    if (d->w != NULL)
        return d->w + i;
    return d->n != NULL ? d->n + i : NULL;
}

static void fill_units(const dst *d, size_t from, size_t n, int byte)
{
    memset(unit_ptr(d, from), byte, n * (d->w != NULL ? sizeof(WCHAR) : 1u));
}

/* The Ex outputs for a text ending at unit @at: *@end its address, *@remaining the units from
 * there to the end of the buffer. */
static void ex_out(const dst *d, size_t at, void **end, size_t *remaining)
{
    if (end != NULL)
        *end = unit_ptr(d, at);
    if (remaining != NULL)
        *remaining = d->cch - at;
}

/* Length of the result @op would write after @base units (the source up to @max units, or the
 * formatted text), bounded by what the caller can hold plus one. */
static size_t result_len(const dst *d, size_t base, ex_op op, const char *sn, const WCHAR *sw,
                         size_t max, const void *fmt, va_list *ap)
{
    if (op == EX_PRINTF) {
        kdpc__rtl_out o = {NULL, NULL, 0, false, 0, 0, false, false};
        va_list cp;
        va_copy(cp, *ap);
        kdpc__rtl_vformat(&o, fmt, d->w != NULL, cp);
        va_end(cp);
        return o.need;
    }
    size_t n = 0, limit = d->cch - base + 1;
    while (n < max && n < limit && src_at(sn, sw, n) != 0)
        n++;
    return n;
}

static NTSTATUS ex(const dst *d, ex_op op, const char *sn, const WCHAR *sw, size_t max,
                   const void *fmt, va_list *ap, void **end, size_t *remaining, ULONG flags)
{
    bool nulls = (flags & STRSAFE_IGNORE_NULLS) != 0;
    bool has_dst = d->n != NULL || d->w != NULL;
    if ((flags & ~(ULONG)STRSAFE_VALID_FLAGS) != 0 || d->cch > NTSTRSAFE_MAX_CCH ||
        max > NTSTRSAFE_MAX_CCH || (!has_dst && (!nulls || d->cch != 0)) || (d->cch == 0 && !nulls))
        return STATUS_INVALID_PARAMETER;
    bool no_src = op == EX_PRINTF ? fmt == NULL : (sn == NULL && sw == NULL);
    if (no_src && !nulls && d->cch == 0)
        return STATUS_INVALID_PARAMETER;
    if (no_src && nulls) {
        if (op == EX_PRINTF)
            fmt = d->w != NULL ? (const void *)L"" : (const void *)"";
        else if (d->w != NULL)
            sw = L"";
        else
            sn = "";
    }
    if (d->cch == 0) { /* a NULL or empty destination takes only an empty result */
        if (result_len(d, 0, op, sn, sw, max, fmt, ap) != 0)
            return STATUS_INVALID_PARAMETER;
        ex_out(d, 0, end, remaining);
        return STATUS_SUCCESS;
    }
    size_t base = 0;
    NTSTATUS st;
    if (no_src && !nulls) {
        st = STATUS_INVALID_PARAMETER; /* a NULL pointer without STRSAFE_IGNORE_NULLS */
    } else if (op == EX_CAT && !dst_len(d, &base)) {
        st = STATUS_INVALID_PARAMETER; /* the destination is already full */
    } else if ((flags & STRSAFE_NO_TRUNCATION) != 0 &&
               result_len(d, base, op, sn, sw, max, fmt, ap) >= d->cch - base) {
        st = STATUS_BUFFER_OVERFLOW; /* nothing written */
        ex_out(d, base, end, remaining);
    } else {
        if (op == EX_PRINTF)
            st = vprintf_(d, fmt, d->w != NULL, *ap);
        else
            st = copy_at(d, base, sn, sw, max);
        size_t len = 0;
        (void)dst_len(d, &len);
        ex_out(d, len, end, remaining);
        if (NT_SUCCESS(st) && (flags & STRSAFE_FILL_BEHIND_NULL) != 0 && len + 1 < d->cch)
            fill_units(d, len + 1, d->cch - len - 1, STRSAFE_GET_FILL_PATTERN(flags));
    }
    bool truncated_kept = st == STATUS_BUFFER_OVERFLOW && (flags & STRSAFE_NO_TRUNCATION) != 0;
    if (!NT_SUCCESS(st) && !truncated_kept) {
        if ((flags & STRSAFE_FILL_ON_FAILURE) != 0) {
            int fill = STRSAFE_GET_FILL_PATTERN(flags);
            fill_units(d, 0, d->cch, fill);
            size_t at = fill == 0 ? 0 : d->cch - 1;
            set_at(d, at, 0);
            ex_out(d, at, end, remaining);
        }
        if ((flags & STRSAFE_NULL_ON_FAILURE) != 0) {
            set_at(d, 0, 0);
            ex_out(d, 0, end, remaining);
        }
    }
    return st;
}

/* The Cb forms give the remaining room in bytes. */
static size_t *cb_rem(size_t *user, size_t *tmp)
{
    return user != NULL ? tmp : NULL;
}
static void cb_out(size_t *user, size_t tmp, size_t unit)
{
    if (user != NULL)
        *user = tmp * unit;
}

NTSTATUS kdpc_RtlStringCchCopyExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
                                  NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining, DWORD dwFlags)
{
    return ex(&DA(pszDest, cchDest), EX_COPY, pszSrc, NULL, NTSTRSAFE_MAX_CCH, NULL, NULL,
              (void **)ppszDestEnd, pcchRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCchCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
                                  NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                  DWORD dwFlags)
{
    return ex(&DW(pszDest, cchDest), EX_COPY, NULL, pszSrc, NTSTRSAFE_MAX_CCH, NULL, NULL,
              (void **)ppszDestEnd, pcchRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCbCopyExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
                                 NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCchCopyExA(pszDest, cbDest, pszSrc, ppszDestEnd, pcbRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCbCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
                                 NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining, DWORD dwFlags)
{
    size_t r = 0;
    NTSTATUS st = ex(&DW(pszDest, wcch(cbDest)), EX_COPY, NULL, pszSrc, NTSTRSAFE_MAX_CCH, NULL,
                     NULL, (void **)ppszDestEnd, cb_rem(pcbRemaining, &r), dwFlags);
    cb_out(pcbRemaining, r, sizeof(WCHAR));
    return st;
}
NTSTATUS kdpc_RtlStringCchCatExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
                                 NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining, DWORD dwFlags)
{
    return ex(&DA(pszDest, cchDest), EX_CAT, pszSrc, NULL, NTSTRSAFE_MAX_CCH, NULL, NULL,
              (void **)ppszDestEnd, pcchRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCchCatExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
                                 NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining, DWORD dwFlags)
{
    return ex(&DW(pszDest, cchDest), EX_CAT, NULL, pszSrc, NTSTRSAFE_MAX_CCH, NULL, NULL,
              (void **)ppszDestEnd, pcchRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCbCatExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
                                NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCchCatExA(pszDest, cbDest, pszSrc, ppszDestEnd, pcbRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCbCatExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
                                NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining, DWORD dwFlags)
{
    size_t r = 0;
    NTSTATUS st = ex(&DW(pszDest, wcch(cbDest)), EX_CAT, NULL, pszSrc, NTSTRSAFE_MAX_CCH, NULL,
                     NULL, (void **)ppszDestEnd, cb_rem(pcbRemaining, &r), dwFlags);
    cb_out(pcbRemaining, r, sizeof(WCHAR));
    return st;
}
NTSTATUS kdpc_RtlStringCchVPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                     NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                     DWORD dwFlags, NTSTRSAFE_PCSTR pszFormat, va_list argList)
{
    va_list ap;
    va_copy(ap, argList);
    NTSTATUS st = ex(&DA(pszDest, cchDest), EX_PRINTF, NULL, NULL, 0, pszFormat, &ap,
                     (void **)ppszDestEnd, pcchRemaining, dwFlags);
    va_end(ap);
    return st;
}
NTSTATUS kdpc_RtlStringCchVPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                     NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                     DWORD dwFlags, NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    va_list ap;
    va_copy(ap, argList);
    NTSTATUS st = ex(&DW(pszDest, cchDest), EX_PRINTF, NULL, NULL, 0, pszFormat, &ap,
                     (void **)ppszDestEnd, pcchRemaining, dwFlags);
    va_end(ap);
    return st;
}
NTSTATUS kdpc_RtlStringCbVPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                    NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                    DWORD dwFlags, NTSTRSAFE_PCSTR pszFormat, va_list argList)
{
    return kdpc_RtlStringCchVPrintfExA(pszDest, cbDest, ppszDestEnd, pcbRemaining, dwFlags,
                                       pszFormat, argList);
}
NTSTATUS kdpc_RtlStringCbVPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                    NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                    DWORD dwFlags, NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    size_t r = 0;
    va_list ap;
    va_copy(ap, argList);
    NTSTATUS st = ex(&DW(pszDest, wcch(cbDest)), EX_PRINTF, NULL, NULL, 0, pszFormat, &ap,
                     (void **)ppszDestEnd, cb_rem(pcbRemaining, &r), dwFlags);
    va_end(ap);
    cb_out(pcbRemaining, r, sizeof(WCHAR));
    return st;
}
NTSTATUS kdpc_RtlStringCchPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                    NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                    DWORD dwFlags, NTSTRSAFE_PCSTR pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st = kdpc_RtlStringCchVPrintfExA(pszDest, cchDest, ppszDestEnd, pcchRemaining, dwFlags,
                                              pszFormat, ap);
    va_end(ap);
    return st;
}
NTSTATUS kdpc_RtlStringCchPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                    NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                    DWORD dwFlags, NTSTRSAFE_PCWSTR pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st = kdpc_RtlStringCchVPrintfExW(pszDest, cchDest, ppszDestEnd, pcchRemaining, dwFlags,
                                              pszFormat, ap);
    va_end(ap);
    return st;
}
NTSTATUS kdpc_RtlStringCbPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                   NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining, DWORD dwFlags,
                                   NTSTRSAFE_PCSTR pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st = kdpc_RtlStringCchVPrintfExA(pszDest, cbDest, ppszDestEnd, pcbRemaining, dwFlags,
                                              pszFormat, ap);
    va_end(ap);
    return st;
}
NTSTATUS kdpc_RtlStringCbPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                   NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                   DWORD dwFlags, NTSTRSAFE_PCWSTR pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st = kdpc_RtlStringCbVPrintfExW(pszDest, cbDest, ppszDestEnd, pcbRemaining, dwFlags,
                                             pszFormat, ap);
    va_end(ap);
    return st;
}

NTSTATUS kdpc_RtlStringCchCopyNExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
                                   size_t cchToCopy, NTSTRSAFE_PSTR *ppszDestEnd,
                                   size_t *pcchRemaining, DWORD dwFlags)
{
    return ex(&DA(pszDest, cchDest), EX_COPY, pszSrc, NULL, cchToCopy, NULL, NULL,
              (void **)ppszDestEnd, pcchRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCchCopyNExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
                                   size_t cchToCopy, NTSTRSAFE_PWSTR *ppszDestEnd,
                                   size_t *pcchRemaining, DWORD dwFlags)
{
    return ex(&DW(pszDest, cchDest), EX_COPY, NULL, pszSrc, cchToCopy, NULL, NULL,
              (void **)ppszDestEnd, pcchRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCbCopyNExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
                                  size_t cbToCopy, NTSTRSAFE_PSTR *ppszDestEnd,
                                  size_t *pcbRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCchCopyNExA(pszDest, cbDest, pszSrc, cbToCopy, ppszDestEnd, pcbRemaining,
                                     dwFlags);
}
NTSTATUS kdpc_RtlStringCbCopyNExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
                                  size_t cbToCopy, NTSTRSAFE_PWSTR *ppszDestEnd,
                                  size_t *pcbRemaining, DWORD dwFlags)
{
    size_t r = 0;
    NTSTATUS st = ex(&DW(pszDest, wcch(cbDest)), EX_COPY, NULL, pszSrc, wcch(cbToCopy), NULL, NULL,
                     (void **)ppszDestEnd, cb_rem(pcbRemaining, &r), dwFlags);
    cb_out(pcbRemaining, r, sizeof(WCHAR));
    return st;
}
NTSTATUS kdpc_RtlStringCchCatNExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
                                  size_t cchToAppend, NTSTRSAFE_PSTR *ppszDestEnd,
                                  size_t *pcchRemaining, DWORD dwFlags)
{
    return ex(&DA(pszDest, cchDest), EX_CAT, pszSrc, NULL, cchToAppend, NULL, NULL,
              (void **)ppszDestEnd, pcchRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCchCatNExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
                                  size_t cchToAppend, NTSTRSAFE_PWSTR *ppszDestEnd,
                                  size_t *pcchRemaining, DWORD dwFlags)
{
    return ex(&DW(pszDest, cchDest), EX_CAT, NULL, pszSrc, cchToAppend, NULL, NULL,
              (void **)ppszDestEnd, pcchRemaining, dwFlags);
}
NTSTATUS kdpc_RtlStringCbCatNExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
                                 size_t cbToAppend, NTSTRSAFE_PSTR *ppszDestEnd,
                                 size_t *pcbRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCchCatNExA(pszDest, cbDest, pszSrc, cbToAppend, ppszDestEnd, pcbRemaining,
                                    dwFlags);
}
NTSTATUS kdpc_RtlStringCbCatNExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
                                 size_t cbToAppend, NTSTRSAFE_PWSTR *ppszDestEnd,
                                 size_t *pcbRemaining, DWORD dwFlags)
{
    size_t r = 0;
    NTSTATUS st = ex(&DW(pszDest, wcch(cbDest)), EX_CAT, NULL, pszSrc, wcch(cbToAppend), NULL, NULL,
                     (void **)ppszDestEnd, cb_rem(pcbRemaining, &r), dwFlags);
    cb_out(pcbRemaining, r, sizeof(WCHAR));
    return st;
}

/* ------------------------------------------------------------------ */
/* UNICODE_STRING, at most N characters                                 */

static NTSTATUS us_n(PUNICODE_STRING d, bool cat, const WCHAR *src, size_t n, size_t max)
{
    if (!us_ok(d) || src == NULL || max > NTSTRSAFE_UNICODE_STRING_MAX_CCH)
        return STATUS_INVALID_PARAMETER;
    return us_put(d, cat ? d->Length : 0u, src, n < max ? n : max);
}
/* Characters of the NUL-terminated @s, at most @max (the caller refuses a larger @max). */
static size_t wlen_n(const WCHAR *s, size_t max)
{
    size_t n = 0;
    while (s != NULL && n < max && s[n] != 0)
        n++;
    return n;
}
static size_t us_chars(PCUNICODE_STRING s)
{
    return s->Length / sizeof(WCHAR);
}

NTSTATUS kdpc_RtlUnicodeStringCchCopyN(PUNICODE_STRING DestinationString,
                                       PCUNICODE_STRING SourceString, size_t cchToCopy)
{
    if (!us_ok(SourceString))
        return STATUS_INVALID_PARAMETER;
    return us_n(DestinationString, false, SourceString->Buffer, us_chars(SourceString), cchToCopy);
}
NTSTATUS kdpc_RtlUnicodeStringCbCopyN(PUNICODE_STRING DestinationString,
                                      PCUNICODE_STRING SourceString, size_t cbToCopy)
{
    return kdpc_RtlUnicodeStringCchCopyN(DestinationString, SourceString, wcch(cbToCopy));
}
NTSTATUS kdpc_RtlUnicodeStringCchCatN(PUNICODE_STRING DestinationString,
                                      PCUNICODE_STRING SourceString, size_t cchToAppend)
{
    if (!us_ok(SourceString))
        return STATUS_INVALID_PARAMETER;
    return us_n(DestinationString, true, SourceString->Buffer, us_chars(SourceString), cchToAppend);
}
NTSTATUS kdpc_RtlUnicodeStringCbCatN(PUNICODE_STRING DestinationString,
                                     PCUNICODE_STRING SourceString, size_t cbToAppend)
{
    return kdpc_RtlUnicodeStringCchCatN(DestinationString, SourceString, wcch(cbToAppend));
}
NTSTATUS kdpc_RtlUnicodeStringCchCopyStringN(PUNICODE_STRING DestinationString,
                                             NTSTRSAFE_PCWSTR pszSrc, size_t cchToCopy)
{
    if (cchToCopy > NTSTRSAFE_UNICODE_STRING_MAX_CCH)
        return STATUS_INVALID_PARAMETER;
    return us_n(DestinationString, false, pszSrc, wlen_n(pszSrc, cchToCopy), cchToCopy);
}
NTSTATUS kdpc_RtlUnicodeStringCbCopyStringN(PUNICODE_STRING DestinationString,
                                            NTSTRSAFE_PCWSTR pszSrc, size_t cbToCopy)
{
    return kdpc_RtlUnicodeStringCchCopyStringN(DestinationString, pszSrc, wcch(cbToCopy));
}
NTSTATUS kdpc_RtlUnicodeStringCchCatStringN(PUNICODE_STRING DestinationString,
                                            NTSTRSAFE_PCWSTR pszSrc, size_t cchToAppend)
{
    if (cchToAppend > NTSTRSAFE_UNICODE_STRING_MAX_CCH)
        return STATUS_INVALID_PARAMETER;
    return us_n(DestinationString, true, pszSrc, wlen_n(pszSrc, cchToAppend), cchToAppend);
}
NTSTATUS kdpc_RtlUnicodeStringCbCatStringN(PUNICODE_STRING DestinationString,
                                           NTSTRSAFE_PCWSTR pszSrc, size_t cbToAppend)
{
    return kdpc_RtlUnicodeStringCchCatStringN(DestinationString, pszSrc, wcch(cbToAppend));
}

/* ------------------------------------------------------------------ */
/* UNICODE_STRING Ex forms: remaining string and STRSAFE_* flags       */

static void us_remaining(PCUNICODE_STRING d, PUNICODE_STRING rem)
{
    if (rem == NULL)
        return;
    if (d == NULL) {
        rem->Buffer = NULL;
        rem->Length = rem->MaximumLength = 0;
        return;
    }
    rem->Buffer = d->Buffer != NULL ? d->Buffer + d->Length / sizeof(WCHAR) : NULL;
    rem->Length = 0;
    rem->MaximumLength = (USHORT)(d->MaximumLength - d->Length);
}

/* After the operation: the fill and failure flags, then the remaining string. */
static NTSTATUS us_finish(PUNICODE_STRING d, NTSTATUS st, PUNICODE_STRING rem, DWORD flags)
{
    int fill = STRSAFE_GET_FILL_PATTERN(flags);
    if (NT_SUCCESS(st)) {
        if ((flags & STRSAFE_FILL_BEHIND) != 0 && d->MaximumLength > d->Length)
            memset((unsigned char *)d->Buffer + d->Length, fill,
                   (size_t)(d->MaximumLength - d->Length));
    } else if (!(st == STATUS_BUFFER_OVERFLOW && (flags & STRSAFE_NO_TRUNCATION) != 0)) {
        if ((flags & STRSAFE_FILL_ON_FAILURE) != 0) {
            if (d->MaximumLength > 0)
                memset(d->Buffer, fill, d->MaximumLength);
            d->Length = 0;
        }
        if ((flags & STRSAFE_ZERO_LENGTH_ON_FAILURE) != 0)
            d->Length = 0;
    }
    us_remaining(d, rem);
    return st;
}

/* A refused Ex call: STATUS_INVALID_PARAMETER, after the failure flags and the remaining string
 * when the destination is a valid UNICODE_STRING. */
static NTSTATUS us_refuse(PUNICODE_STRING d, PUNICODE_STRING rem, DWORD flags)
{
    return us_ok(d) ? us_finish(d, STATUS_INVALID_PARAMETER, rem, flags) : STATUS_INVALID_PARAMETER;
}

/* Put @n units of @src into @d (after its text when @cat), honouring STRSAFE_NO_TRUNCATION. */
static NTSTATUS us_ex(PUNICODE_STRING d, bool cat, const WCHAR *src, size_t n, PUNICODE_STRING rem,
                      DWORD flags)
{
    if (d == NULL) { /* only with STRSAFE_IGNORE_NULLS (checked by the callers), empty source */
        us_remaining(NULL, rem);
        return n == 0 ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    }
    size_t at = cat ? d->Length : 0u;
    size_t room = (d->MaximumLength - at) / sizeof(WCHAR);
    NTSTATUS st;
    if (n > 0 && room == 0)
        st = STATUS_INVALID_PARAMETER; /* the destination is already full */
    else if (n > room && (flags & STRSAFE_NO_TRUNCATION) != 0)
        st = STATUS_BUFFER_OVERFLOW; /* nothing written */
    else
        st = us_put(d, at, src, n);
    return us_finish(d, st, rem, flags);
}

/* Common argument checks: NULL pointers, flags, the destination's contents. */
static bool us_ex_args(PCUNICODE_STRING d, bool src_null, DWORD flags)
{
    bool nulls = (flags & STRSAFE_IGNORE_NULLS) != 0;
    if ((flags & ~(DWORD)STRSAFE_VALID_FLAGS) != 0)
        return false;
    if ((d == NULL || src_null) && !nulls)
        return false;
    return d == NULL || us_ok(d);
}

NTSTATUS kdpc_RtlUnicodeStringInitEx(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
                                     DWORD dwFlags)
{
    if ((dwFlags & ~(DWORD)STRSAFE_IGNORE_NULLS) != 0)
        return STATUS_INVALID_PARAMETER;
    if (DestinationString == NULL)
        return (dwFlags & STRSAFE_IGNORE_NULLS) != 0 ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    return kdpc_RtlUnicodeStringInit(DestinationString, pszSrc);
}

NTSTATUS kdpc_RtlUnicodeStringValidateEx(PCUNICODE_STRING SourceString, DWORD dwFlags)
{
    if ((dwFlags & ~(DWORD)STRSAFE_IGNORE_NULLS) != 0)
        return STATUS_INVALID_PARAMETER;
    if (SourceString == NULL)
        return (dwFlags & STRSAFE_IGNORE_NULLS) != 0 ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    return kdpc_RtlUnicodeStringValidate(SourceString);
}

static NTSTATUS us_src_ex(PUNICODE_STRING d, bool cat, PCUNICODE_STRING s, PUNICODE_STRING rem,
                          DWORD flags)
{
    if (!us_ex_args(d, s == NULL, flags) || (s != NULL && !us_ok(s)))
        return us_refuse(d, rem, flags);
    return us_ex(d, cat, s != NULL ? s->Buffer : NULL, s != NULL ? s->Length / sizeof(WCHAR) : 0,
                 rem, flags);
}

static NTSTATUS us_psz_ex(PUNICODE_STRING d, bool cat, const WCHAR *psz, PUNICODE_STRING rem,
                          DWORD flags)
{
    bool too_long = false;
    size_t n = psz != NULL ? wlen_max(psz, &too_long) : 0;
    if (!us_ex_args(d, psz == NULL, flags) || too_long)
        return us_refuse(d, rem, flags);
    return us_ex(d, cat, psz, n, rem, flags);
}

NTSTATUS kdpc_RtlUnicodeStringCopyEx(PUNICODE_STRING DestinationString,
                                     PCUNICODE_STRING SourceString, PUNICODE_STRING RemainingString,
                                     DWORD dwFlags)
{
    return us_src_ex(DestinationString, false, SourceString, RemainingString, dwFlags);
}
NTSTATUS kdpc_RtlUnicodeStringCatEx(PUNICODE_STRING DestinationString,
                                    PCUNICODE_STRING SourceString, PUNICODE_STRING RemainingString,
                                    DWORD dwFlags)
{
    return us_src_ex(DestinationString, true, SourceString, RemainingString, dwFlags);
}
NTSTATUS kdpc_RtlUnicodeStringCopyStringEx(PUNICODE_STRING DestinationString,
                                           NTSTRSAFE_PCWSTR pszSrc, PUNICODE_STRING RemainingString,
                                           DWORD dwFlags)
{
    return us_psz_ex(DestinationString, false, pszSrc, RemainingString, dwFlags);
}
NTSTATUS kdpc_RtlUnicodeStringCatStringEx(PUNICODE_STRING DestinationString,
                                          NTSTRSAFE_PCWSTR pszSrc, PUNICODE_STRING RemainingString,
                                          DWORD dwFlags)
{
    return us_psz_ex(DestinationString, true, pszSrc, RemainingString, dwFlags);
}

NTSTATUS kdpc_RtlUnicodeStringVPrintfEx(PUNICODE_STRING DestinationString,
                                        PUNICODE_STRING RemainingString, DWORD dwFlags,
                                        NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    PUNICODE_STRING d = DestinationString;
    if (!us_ex_args(d, pszFormat == NULL, dwFlags))
        return us_refuse(d, RemainingString, dwFlags);
    if (pszFormat == NULL)
        pszFormat = L"";
    kdpc__rtl_out count = {NULL, NULL, 0, true, 0, 0, false, false};
    va_list cp;
    va_copy(cp, argList);
    kdpc__rtl_vformat(&count, pszFormat, true, cp);
    va_end(cp);
    if (d == NULL) {
        us_remaining(NULL, RemainingString);
        return count.need == 0 ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    }
    size_t room = d->MaximumLength / sizeof(WCHAR);
    NTSTATUS st;
    if (count.need > 0 && room == 0) {
        st = STATUS_INVALID_PARAMETER;
    } else if (count.need > room && (dwFlags & STRSAFE_NO_TRUNCATION) != 0) {
        st = STATUS_BUFFER_OVERFLOW;
    } else {
        st = us_vformat(d, pszFormat, argList);
    }
    return us_finish(d, st, RemainingString, dwFlags);
}

NTSTATUS kdpc_RtlUnicodeStringPrintfEx(PUNICODE_STRING DestinationString,
                                       PUNICODE_STRING RemainingString, DWORD dwFlags,
                                       NTSTRSAFE_PCWSTR pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS st =
        kdpc_RtlUnicodeStringVPrintfEx(DestinationString, RemainingString, dwFlags, pszFormat, ap);
    va_end(ap);
    return st;
}

NTSTATUS kdpc_RtlStringCchCopyUnicodeStringEx(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                              PCUNICODE_STRING SourceString,
                                              NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                              DWORD dwFlags)
{
    const WCHAR *src = NULL;
    size_t n = 0;
    if (SourceString != NULL) {
        if (!us_ok(SourceString) || cchDest > NTSTRSAFE_UNICODE_STRING_MAX_CCH)
            return STATUS_INVALID_PARAMETER;
        n = SourceString->Length / sizeof(WCHAR);
        src = n > 0 ? SourceString->Buffer : L"";
    }
    return ex(&DW(pszDest, cchDest), EX_COPY, NULL, src, n, NULL, NULL, (void **)ppszDestEnd,
              pcchRemaining, dwFlags);
}

NTSTATUS kdpc_RtlStringCbCopyUnicodeStringEx(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                             PCUNICODE_STRING SourceString,
                                             NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                             DWORD dwFlags)
{
    size_t r = 0;
    NTSTATUS st = kdpc_RtlStringCchCopyUnicodeStringEx(
        pszDest, wcch(cbDest), SourceString, ppszDestEnd, cb_rem(pcbRemaining, &r), dwFlags);
    cb_out(pcbRemaining, r, sizeof(WCHAR));
    return st;
}
