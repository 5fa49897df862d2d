/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/strsafe.h - the ntstrsafe routines drivers use (what <ntstrsafe.h>
 * gives a driver built against kdpc): RtlStringCb* / RtlStringCch* Copy,
 * CopyN, Cat, CatN, Printf, VPrintf and Length for 8-bit (A) and WCHAR (W)
 * strings, and the RtlUnicodeString* routines over UNICODE_STRING
 * (docs/facts/rtl.md section 7). Unlike the WDK's header-only ntstrsafe.h,
 * the routines are exported by libkdpc; the names and results are the same.
 *
 * Common rules (Microsoft's ntstrsafe documentation):
 *  - Cb routines take sizes in bytes, Cch routines in characters; a size of
 *    0 or above NTSTRSAFE_MAX_CCH characters is STATUS_INVALID_PARAMETER.
 *  - STATUS_SUCCESS: the whole result fit, NUL-terminated.
 *  - STATUS_BUFFER_OVERFLOW (a warning: NT_SUCCESS is false, the text is
 *    usable): the result did not fit; the destination holds as much as fits,
 *    NUL-terminated.
 *  - STATUS_INVALID_PARAMETER: a NULL pointer, a bad size, or (Cat) a
 *    destination with no NUL within its size; the destination, when it has
 *    a valid size, becomes the empty string (Copy, Printf).
 *  - Printf formats as DbgPrint does (kdpc/wdm/rtl.h); the W forms take a
 *    wide format in which %s is a WCHAR string and %S an 8-bit one.
 *  - UNICODE_STRING forms: a string is valid when Length and MaximumLength
 *    are even, Length <= MaximumLength <= NTSTRSAFE_UNICODE_STRING_MAX_CCH * 2
 *    and Buffer is not NULL unless MaximumLength is 0; no NUL is written;
 *    copying into a full destination (no room left, source not empty) is
 *    STATUS_INVALID_PARAMETER.
 * IRQL: any when the strings are resident, else PASSIVE_LEVEL (a paged
 * buffer touched at DISPATCH_LEVEL is the pool's mem.paged_touch).
 * Divergence: the Ex forms (RtlStringCbCopyEx and friends, with
 * STRSAFE_* flags) are not declared (docs/wdm-absent.in).
 */
#ifndef KDPC_WDM_STRSAFE_H
#define KDPC_WDM_STRSAFE_H

#include <stdarg.h>
#include <stddef.h>

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/rtl.h>

KDPC_BEGIN_DECLS

/** Largest size in characters of an ntstrsafe buffer (INT_MAX). */
#define NTSTRSAFE_MAX_CCH 2147483647
/** Largest size in characters of a UNICODE_STRING buffer for the RtlUnicodeString* routines. */
#define NTSTRSAFE_UNICODE_STRING_MAX_CCH 32767
#define NTSTRSAFE_MAX_LENGTH             (NTSTRSAFE_MAX_CCH - 1)

typedef char *NTSTRSAFE_PSTR;
typedef const char *NTSTRSAFE_PCSTR;
typedef WCHAR *NTSTRSAFE_PWSTR;
typedef const WCHAR *NTSTRSAFE_PCWSTR;
typedef const WCHAR *NTSTRSAFE_PCUWSTR;
#define NTSTRSAFEDDI NTSTATUS

KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                            NTSTRSAFE_PCSTR pszSrc, size_t cbToCopy);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                             NTSTRSAFE_PCSTR pszSrc, size_t cchToCopy);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCatA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                          NTSTRSAFE_PCSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCatA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                           NTSTRSAFE_PCSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCatNA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCSTR pszSrc, size_t cbToAppend);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCatNA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCSTR pszSrc, size_t cchToAppend);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                              NTSTRSAFE_PCSTR pszFormat, va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                               NTSTRSAFE_PCSTR pszFormat, va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                             NTSTRSAFE_PCSTR pszFormat, ...);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                              NTSTRSAFE_PCSTR pszFormat, ...);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbLengthA(NTSTRSAFE_PCSTR psz, size_t cbMax, size_t *pcbLength);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchLengthA(NTSTRSAFE_PCSTR psz, size_t cchMax,
                                              size_t *pcchLength);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCWSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCWSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                            NTSTRSAFE_PCWSTR pszSrc, size_t cbToCopy);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                             NTSTRSAFE_PCWSTR pszSrc, size_t cchToCopy);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCatW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                          NTSTRSAFE_PCWSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCatW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                           NTSTRSAFE_PCWSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCatNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCWSTR pszSrc, size_t cbToAppend);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCatNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCWSTR pszSrc, size_t cchToAppend);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                              NTSTRSAFE_PCWSTR pszFormat, va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                               NTSTRSAFE_PCWSTR pszFormat, va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                             NTSTRSAFE_PCWSTR pszFormat, ...);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                              NTSTRSAFE_PCWSTR pszFormat, ...);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbLengthW(NTSTRSAFE_PCWSTR psz, size_t cbMax, size_t *pcbLength);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchLengthW(NTSTRSAFE_PCWSTR psz, size_t cchMax,
                                              size_t *pcchLength);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringInit(PUNICODE_STRING DestinationString,
                                               NTSTRSAFE_PCWSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringValidate(PCUNICODE_STRING SourceString);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCopy(PUNICODE_STRING DestinationString,
                                               PCUNICODE_STRING SourceString);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString,
                                                     NTSTRSAFE_PCWSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCat(PUNICODE_STRING DestinationString,
                                              PCUNICODE_STRING SourceString);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCatString(PUNICODE_STRING DestinationString,
                                                    NTSTRSAFE_PCWSTR pszSrc);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString,
                                                  NTSTRSAFE_PCWSTR pszFormat, va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString,
                                                 NTSTRSAFE_PCWSTR pszFormat, ...);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyUnicodeString(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                                       PCUNICODE_STRING SourceString);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyUnicodeString(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                                        PCUNICODE_STRING SourceString);

/** RtlStringCbCopyA - copy the 8-bit string @pszSrc into the @cbDest-byte buffer @pszDest (common rules above). */
static inline NTSTATUS RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                        NTSTRSAFE_PCSTR pszSrc)
{
    return kdpc_RtlStringCbCopyA(pszDest, cbDest, pszSrc);
}
/** RtlStringCchCopyA - copy the 8-bit string @pszSrc into the @cchDest-character buffer @pszDest. */
static inline NTSTATUS RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                         NTSTRSAFE_PCSTR pszSrc)
{
    return kdpc_RtlStringCchCopyA(pszDest, cchDest, pszSrc);
}
/** RtlStringCbCopyNA - RtlStringCbCopyA of at most @cbToCopy bytes of @pszSrc (more than NTSTRSAFE_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                         NTSTRSAFE_PCSTR pszSrc, size_t cbToCopy)
{
    return kdpc_RtlStringCbCopyNA(pszDest, cbDest, pszSrc, cbToCopy);
}
/** RtlStringCchCopyNA - RtlStringCchCopyA of at most @cchToCopy characters of @pszSrc. */
static inline NTSTATUS RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                          NTSTRSAFE_PCSTR pszSrc, size_t cchToCopy)
{
    return kdpc_RtlStringCchCopyNA(pszDest, cchDest, pszSrc, cchToCopy);
}
/** RtlStringCbCatA - append @pszSrc to the NUL-terminated string in the @cbDest-byte buffer @pszDest (no NUL within @cbDest: STATUS_INVALID_PARAMETER, unchanged). */
static inline NTSTATUS RtlStringCbCatA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                       NTSTRSAFE_PCSTR pszSrc)
{
    return kdpc_RtlStringCbCatA(pszDest, cbDest, pszSrc);
}
/** RtlStringCchCatA - RtlStringCbCatA with the size in characters. */
static inline NTSTATUS RtlStringCchCatA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                        NTSTRSAFE_PCSTR pszSrc)
{
    return kdpc_RtlStringCchCatA(pszDest, cchDest, pszSrc);
}
/** RtlStringCbCatNA - RtlStringCbCatA of at most @cbToAppend bytes of @pszSrc. */
static inline NTSTATUS RtlStringCbCatNA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                        NTSTRSAFE_PCSTR pszSrc, size_t cbToAppend)
{
    return kdpc_RtlStringCbCatNA(pszDest, cbDest, pszSrc, cbToAppend);
}
/** RtlStringCchCatNA - RtlStringCchCatA of at most @cchToAppend characters of @pszSrc. */
static inline NTSTATUS RtlStringCchCatNA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                         NTSTRSAFE_PCSTR pszSrc, size_t cchToAppend)
{
    return kdpc_RtlStringCchCatNA(pszDest, cchDest, pszSrc, cchToAppend);
}
/** RtlStringCbVPrintfA - format @pszFormat with @argList into the @cbDest-byte buffer @pszDest (Divergence: formats as DbgPrint does; %n writes nothing). */
static inline NTSTATUS RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCSTR pszFormat, va_list argList)
{
    return kdpc_RtlStringCbVPrintfA(pszDest, cbDest, pszFormat, argList);
}
/** RtlStringCchVPrintfA - RtlStringCbVPrintfA with the size in characters (same Divergence). */
static inline NTSTATUS RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCSTR pszFormat, va_list argList)
{
    return kdpc_RtlStringCchVPrintfA(pszDest, cchDest, pszFormat, argList);
}
/** RtlStringCbPrintfA - RtlStringCbVPrintfA with the arguments after @pszFormat (same Divergence). */
#define RtlStringCbPrintfA kdpc_RtlStringCbPrintfA
/** RtlStringCchPrintfA - RtlStringCchVPrintfA with the arguments after @pszFormat (same Divergence). */
#define RtlStringCchPrintfA kdpc_RtlStringCchPrintfA
/** RtlStringCbLengthA - *@pcbLength (optional) = the length in bytes of @psz, without its NUL. Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (NULL @psz, @cbMax too large, or no NUL within @cbMax bytes; *@pcbLength = 0). */
static inline NTSTATUS RtlStringCbLengthA(NTSTRSAFE_PCSTR psz, size_t cbMax, size_t *pcbLength)
{
    return kdpc_RtlStringCbLengthA(psz, cbMax, pcbLength);
}
/** RtlStringCchLengthA - RtlStringCbLengthA in characters. */
static inline NTSTATUS RtlStringCchLengthA(NTSTRSAFE_PCSTR psz, size_t cchMax, size_t *pcchLength)
{
    return kdpc_RtlStringCchLengthA(psz, cchMax, pcchLength);
}
/** RtlStringCbCopyW - copy the WCHAR string @pszSrc into the @cbDest-byte buffer @pszDest (common rules above). */
static inline NTSTATUS RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                        NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlStringCbCopyW(pszDest, cbDest, pszSrc);
}
/** RtlStringCchCopyW - copy the WCHAR string @pszSrc into the @cchDest-character buffer @pszDest. */
static inline NTSTATUS RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                         NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlStringCchCopyW(pszDest, cchDest, pszSrc);
}
/** RtlStringCbCopyNW - RtlStringCbCopyW of at most @cbToCopy bytes of @pszSrc (more than NTSTRSAFE_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlStringCbCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                         NTSTRSAFE_PCWSTR pszSrc, size_t cbToCopy)
{
    return kdpc_RtlStringCbCopyNW(pszDest, cbDest, pszSrc, cbToCopy);
}
/** RtlStringCchCopyNW - RtlStringCchCopyW of at most @cchToCopy characters of @pszSrc. */
static inline NTSTATUS RtlStringCchCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                          NTSTRSAFE_PCWSTR pszSrc, size_t cchToCopy)
{
    return kdpc_RtlStringCchCopyNW(pszDest, cchDest, pszSrc, cchToCopy);
}
/** RtlStringCbCatW - append @pszSrc to the NUL-terminated string in the @cbDest-byte buffer @pszDest (no NUL within @cbDest: STATUS_INVALID_PARAMETER, unchanged). */
static inline NTSTATUS RtlStringCbCatW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                       NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlStringCbCatW(pszDest, cbDest, pszSrc);
}
/** RtlStringCchCatW - RtlStringCbCatW with the size in characters. */
static inline NTSTATUS RtlStringCchCatW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                        NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlStringCchCatW(pszDest, cchDest, pszSrc);
}
/** RtlStringCbCatNW - RtlStringCbCatW of at most @cbToAppend bytes of @pszSrc. */
static inline NTSTATUS RtlStringCbCatNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                        NTSTRSAFE_PCWSTR pszSrc, size_t cbToAppend)
{
    return kdpc_RtlStringCbCatNW(pszDest, cbDest, pszSrc, cbToAppend);
}
/** RtlStringCchCatNW - RtlStringCchCatW of at most @cchToAppend characters of @pszSrc. */
static inline NTSTATUS RtlStringCchCatNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                         NTSTRSAFE_PCWSTR pszSrc, size_t cchToAppend)
{
    return kdpc_RtlStringCchCatNW(pszDest, cchDest, pszSrc, cchToAppend);
}
/** RtlStringCbVPrintfW - format @pszFormat with @argList into the @cbDest-byte buffer @pszDest (Divergence: formats as DbgPrint does; %n writes nothing). */
static inline NTSTATUS RtlStringCbVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    return kdpc_RtlStringCbVPrintfW(pszDest, cbDest, pszFormat, argList);
}
/** RtlStringCchVPrintfW - RtlStringCbVPrintfW with the size in characters (same Divergence). */
static inline NTSTATUS RtlStringCchVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    return kdpc_RtlStringCchVPrintfW(pszDest, cchDest, pszFormat, argList);
}
/** RtlStringCbPrintfW - RtlStringCbVPrintfW with the arguments after @pszFormat (same Divergence). */
#define RtlStringCbPrintfW kdpc_RtlStringCbPrintfW
/** RtlStringCchPrintfW - RtlStringCchVPrintfW with the arguments after @pszFormat (same Divergence). */
#define RtlStringCchPrintfW kdpc_RtlStringCchPrintfW
/** RtlStringCbLengthW - *@pcbLength (optional) = the length in bytes of @psz, without its NUL. Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (NULL @psz, @cbMax too large, or no NUL within @cbMax bytes; *@pcbLength = 0). */
static inline NTSTATUS RtlStringCbLengthW(NTSTRSAFE_PCWSTR psz, size_t cbMax, size_t *pcbLength)
{
    return kdpc_RtlStringCbLengthW(psz, cbMax, pcbLength);
}
/** RtlStringCchLengthW - RtlStringCbLengthW in characters. */
static inline NTSTATUS RtlStringCchLengthW(NTSTRSAFE_PCWSTR psz, size_t cchMax, size_t *pcchLength)
{
    return kdpc_RtlStringCchLengthW(psz, cchMax, pcchLength);
}
/** RtlUnicodeStringInit - RtlInitUnicodeString that refuses a source of NTSTRSAFE_UNICODE_STRING_MAX_CCH characters or more (STATUS_INVALID_PARAMETER, empty string); NULL @pszSrc gives an empty string. */
static inline NTSTATUS RtlUnicodeStringInit(PUNICODE_STRING DestinationString,
                                            NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlUnicodeStringInit(DestinationString, pszSrc);
}
/** RtlUnicodeStringValidate - STATUS_SUCCESS when @SourceString is a valid UNICODE_STRING (common rules above), else STATUS_INVALID_PARAMETER. */
static inline NTSTATUS RtlUnicodeStringValidate(PCUNICODE_STRING SourceString)
{
    return kdpc_RtlUnicodeStringValidate(SourceString);
}
/** RtlUnicodeStringCopy - copy @SourceString into @DestinationString's buffer (Length set, no NUL); truncated: STATUS_BUFFER_OVERFLOW. */
static inline NTSTATUS RtlUnicodeStringCopy(PUNICODE_STRING DestinationString,
                                            PCUNICODE_STRING SourceString)
{
    return kdpc_RtlUnicodeStringCopy(DestinationString, SourceString);
}
/** RtlUnicodeStringCopyString - RtlUnicodeStringCopy from a NUL-terminated string. */
static inline NTSTATUS RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString,
                                                  NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlUnicodeStringCopyString(DestinationString, pszSrc);
}
/** RtlUnicodeStringCat - append @SourceString to @DestinationString (no NUL); truncated: STATUS_BUFFER_OVERFLOW; already full: STATUS_INVALID_PARAMETER. */
static inline NTSTATUS RtlUnicodeStringCat(PUNICODE_STRING DestinationString,
                                           PCUNICODE_STRING SourceString)
{
    return kdpc_RtlUnicodeStringCat(DestinationString, SourceString);
}
/** RtlUnicodeStringCatString - RtlUnicodeStringCat from a NUL-terminated string. */
static inline NTSTATUS RtlUnicodeStringCatString(PUNICODE_STRING DestinationString,
                                                 NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlUnicodeStringCatString(DestinationString, pszSrc);
}
/** RtlUnicodeStringVPrintf - format the wide @pszFormat into @DestinationString's buffer (Length set, no NUL); truncated: STATUS_BUFFER_OVERFLOW (Divergence: formats as DbgPrint does). */
static inline NTSTATUS RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString,
                                               NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    return kdpc_RtlUnicodeStringVPrintf(DestinationString, pszFormat, argList);
}
/** RtlUnicodeStringPrintf - RtlUnicodeStringVPrintf with the arguments after @pszFormat (same Divergence). */
#define RtlUnicodeStringPrintf kdpc_RtlUnicodeStringPrintf
/** RtlStringCbCopyUnicodeString - copy the text of @SourceString into the @cbDest-byte buffer @pszDest, NUL-terminated. */
static inline NTSTATUS RtlStringCbCopyUnicodeString(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                                    PCUNICODE_STRING SourceString)
{
    return kdpc_RtlStringCbCopyUnicodeString(pszDest, cbDest, SourceString);
}
/** RtlStringCchCopyUnicodeString - RtlStringCbCopyUnicodeString with the size in characters (at most NTSTRSAFE_UNICODE_STRING_MAX_CCH). */
static inline NTSTATUS RtlStringCchCopyUnicodeString(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                                     PCUNICODE_STRING SourceString)
{
    return kdpc_RtlStringCchCopyUnicodeString(pszDest, cchDest, SourceString);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_STRSAFE_H */
