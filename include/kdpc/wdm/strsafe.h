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
 * Ex forms (RtlStringCbCopyExW and friends): also *ppszDestEnd (the NUL
 * that ends the result) and *pcchRemaining / *pcbRemaining (unused room,
 * the NUL included), both optional, and dwFlags: STRSAFE_IGNORE_NULLS (NULL
 * source = ""; a NULL destination only with size 0), STRSAFE_FILL_BEHIND_NULL
 * (success: fill the rest with the low byte), STRSAFE_FILL_ON_FAILURE
 * (failure: fill the whole buffer, NUL-terminated), STRSAFE_NULL_ON_FAILURE
 * (failure: empty string), STRSAFE_NO_TRUNCATION (a result that does not fit
 * is not written). Another flag bit is STATUS_INVALID_PARAMETER.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched
 * destination as empty (Copy, Printf) or as its old text (Cat).
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

/** dwFlags of the Ex forms (the low byte is a fill byte). */
#define STRSAFE_IGNORE_NULLS     0x00000100u
#define STRSAFE_FILL_BEHIND_NULL 0x00000200u
#define STRSAFE_FILL_ON_FAILURE  0x00000400u
#define STRSAFE_NULL_ON_FAILURE  0x00000800u
#define STRSAFE_NO_TRUNCATION    0x00001000u
#define STRSAFE_VALID_FLAGS      (0x000000FFu | 0x00001F00u)
/** The UNICODE_STRING forms' names: fill behind the text; Length 0 on failure. */
#define STRSAFE_FILL_BEHIND               STRSAFE_FILL_BEHIND_NULL
#define STRSAFE_ZERO_LENGTH_ON_FAILURE    0x00000800u
#define STRSAFE_FILL_BYTE(x)              ((DWORD)(((x)&0x000000FFu) | STRSAFE_FILL_BEHIND_NULL))
#define STRSAFE_FAILURE_BYTE(x)           ((DWORD)(((x)&0x000000FFu) | STRSAFE_FILL_ON_FAILURE))
#define STRSAFE_GET_FILL_PATTERN(dwFlags) ((int)((dwFlags)&0x000000FFu))

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

/** RtlStringCbCopyA - copy the 8-bit string @pszSrc into the @cbDest-byte buffer @pszDest (common
 * rules above).
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                        NTSTRSAFE_PCSTR pszSrc)
{
    return kdpc_RtlStringCbCopyA(pszDest, cbDest, pszSrc);
}
/** RtlStringCchCopyA - copy the 8-bit string @pszSrc into the @cchDest-character buffer
 * @pszDest.
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                         NTSTRSAFE_PCSTR pszSrc)
{
    return kdpc_RtlStringCchCopyA(pszDest, cchDest, pszSrc);
}
/** RtlStringCbCopyNA - RtlStringCbCopyA of at most @cbToCopy bytes of @pszSrc (more than
 * NTSTRSAFE_MAX_CCH characters: STATUS_INVALID_PARAMETER).
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                         NTSTRSAFE_PCSTR pszSrc, size_t cbToCopy)
{
    return kdpc_RtlStringCbCopyNA(pszDest, cbDest, pszSrc, cbToCopy);
}
/** RtlStringCchCopyNA - RtlStringCchCopyA of at most @cchToCopy characters of @pszSrc.
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                          NTSTRSAFE_PCSTR pszSrc, size_t cchToCopy)
{
    return kdpc_RtlStringCchCopyNA(pszDest, cchDest, pszSrc, cchToCopy);
}
/** RtlStringCbCatA - append @pszSrc to the NUL-terminated string in the @cbDest-byte buffer
 * @pszDest (no NUL within @cbDest: STATUS_INVALID_PARAMETER, unchanged). */
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
/** RtlStringCbVPrintfA - format @pszFormat with @argList into the @cbDest-byte buffer @pszDest
 * (common rules above).
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
static inline NTSTATUS RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCSTR pszFormat, va_list argList)
{
    return kdpc_RtlStringCbVPrintfA(pszDest, cbDest, pszFormat, argList);
}
/** RtlStringCchVPrintfA - RtlStringCbVPrintfA with the size in characters.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
static inline NTSTATUS RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCSTR pszFormat, va_list argList)
{
    return kdpc_RtlStringCchVPrintfA(pszDest, cchDest, pszFormat, argList);
}
/** RtlStringCbPrintfA - RtlStringCbVPrintfA with the arguments after @pszFormat.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
#define RtlStringCbPrintfA kdpc_RtlStringCbPrintfA
/** RtlStringCchPrintfA - RtlStringCchVPrintfA with the arguments after @pszFormat.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
#define RtlStringCchPrintfA kdpc_RtlStringCchPrintfA
/** RtlStringCbLengthA - *@pcbLength (optional) = the length in bytes of @psz, without its NUL.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (NULL @psz, @cbMax too large, or no NUL within
 * @cbMax bytes; *@pcbLength = 0). */
static inline NTSTATUS RtlStringCbLengthA(NTSTRSAFE_PCSTR psz, size_t cbMax, size_t *pcbLength)
{
    return kdpc_RtlStringCbLengthA(psz, cbMax, pcbLength);
}
/** RtlStringCchLengthA - RtlStringCbLengthA in characters. */
static inline NTSTATUS RtlStringCchLengthA(NTSTRSAFE_PCSTR psz, size_t cchMax, size_t *pcchLength)
{
    return kdpc_RtlStringCchLengthA(psz, cchMax, pcchLength);
}
/** RtlStringCbCopyW - copy the WCHAR string @pszSrc into the @cbDest-byte buffer @pszDest (common
 * rules above).
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                        NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlStringCbCopyW(pszDest, cbDest, pszSrc);
}
/** RtlStringCchCopyW - copy the WCHAR string @pszSrc into the @cchDest-character buffer
 * @pszDest.
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                         NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlStringCchCopyW(pszDest, cchDest, pszSrc);
}
/** RtlStringCbCopyNW - RtlStringCbCopyW of at most @cbToCopy bytes of @pszSrc (more than
 * NTSTRSAFE_MAX_CCH characters: STATUS_INVALID_PARAMETER).
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCbCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                         NTSTRSAFE_PCWSTR pszSrc, size_t cbToCopy)
{
    return kdpc_RtlStringCbCopyNW(pszDest, cbDest, pszSrc, cbToCopy);
}
/** RtlStringCchCopyNW - RtlStringCchCopyW of at most @cchToCopy characters of @pszSrc.
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCchCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                          NTSTRSAFE_PCWSTR pszSrc, size_t cchToCopy)
{
    return kdpc_RtlStringCchCopyNW(pszDest, cchDest, pszSrc, cchToCopy);
}
/** RtlStringCbCatW - append @pszSrc to the NUL-terminated string in the @cbDest-byte buffer
 * @pszDest (no NUL within @cbDest: STATUS_INVALID_PARAMETER, unchanged). */
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
/** RtlStringCbVPrintfW - format @pszFormat with @argList into the @cbDest-byte buffer @pszDest
 * (common rules above).
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
static inline NTSTATUS RtlStringCbVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    return kdpc_RtlStringCbVPrintfW(pszDest, cbDest, pszFormat, argList);
}
/** RtlStringCchVPrintfW - RtlStringCbVPrintfW with the size in characters.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
static inline NTSTATUS RtlStringCchVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    return kdpc_RtlStringCchVPrintfW(pszDest, cchDest, pszFormat, argList);
}
/** RtlStringCbPrintfW - RtlStringCbVPrintfW with the arguments after @pszFormat.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
#define RtlStringCbPrintfW kdpc_RtlStringCbPrintfW
/** RtlStringCchPrintfW - RtlStringCchVPrintfW with the arguments after @pszFormat.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
#define RtlStringCchPrintfW kdpc_RtlStringCchPrintfW
/** RtlStringCbLengthW - *@pcbLength (optional) = the length in bytes of @psz, without its NUL.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (NULL @psz, @cbMax too large, or no NUL within
 * @cbMax bytes; *@pcbLength = 0). */
static inline NTSTATUS RtlStringCbLengthW(NTSTRSAFE_PCWSTR psz, size_t cbMax, size_t *pcbLength)
{
    return kdpc_RtlStringCbLengthW(psz, cbMax, pcbLength);
}
/** RtlStringCchLengthW - RtlStringCbLengthW in characters. */
static inline NTSTATUS RtlStringCchLengthW(NTSTRSAFE_PCWSTR psz, size_t cchMax, size_t *pcchLength)
{
    return kdpc_RtlStringCchLengthW(psz, cchMax, pcchLength);
}
/** RtlUnicodeStringInit - RtlInitUnicodeString that refuses a source of
 * NTSTRSAFE_UNICODE_STRING_MAX_CCH characters or more (STATUS_INVALID_PARAMETER, empty string);
 * NULL @pszSrc gives an empty string. */
static inline NTSTATUS RtlUnicodeStringInit(PUNICODE_STRING DestinationString,
                                            NTSTRSAFE_PCWSTR pszSrc)
{
    return kdpc_RtlUnicodeStringInit(DestinationString, pszSrc);
}
/** RtlUnicodeStringValidate - STATUS_SUCCESS when @SourceString is a valid UNICODE_STRING (common
 * rules above), else STATUS_INVALID_PARAMETER. */
static inline NTSTATUS RtlUnicodeStringValidate(PCUNICODE_STRING SourceString)
{
    return kdpc_RtlUnicodeStringValidate(SourceString);
}
/** RtlUnicodeStringCopy - copy @SourceString into @DestinationString's buffer (Length set, no NUL);
 * truncated: STATUS_BUFFER_OVERFLOW. */
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
/** RtlUnicodeStringCat - append @SourceString to @DestinationString (no NUL); truncated:
 * STATUS_BUFFER_OVERFLOW; already full: STATUS_INVALID_PARAMETER. */
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
/** RtlUnicodeStringVPrintf - format the wide @pszFormat into @DestinationString's buffer (Length
 * set, no NUL); truncated: STATUS_BUFFER_OVERFLOW.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
static inline NTSTATUS RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString,
                                               NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    return kdpc_RtlUnicodeStringVPrintf(DestinationString, pszFormat, argList);
}
/** RtlUnicodeStringPrintf - RtlUnicodeStringVPrintf with the arguments after @pszFormat.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing. */
#define RtlUnicodeStringPrintf kdpc_RtlUnicodeStringPrintf
/** RtlStringCbCopyUnicodeString - copy the text of @SourceString into the @cbDest-byte buffer
 * @pszDest, NUL-terminated.
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCbCopyUnicodeString(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                                    PCUNICODE_STRING SourceString)
{
    return kdpc_RtlStringCbCopyUnicodeString(pszDest, cbDest, SourceString);
}
/** RtlStringCchCopyUnicodeString - RtlStringCbCopyUnicodeString with the size in characters (at
 * most NTSTRSAFE_UNICODE_STRING_MAX_CCH).
 * Divergence: after STATUS_INVALID_PARAMETER a destination of valid size holds "".
 */
static inline NTSTATUS RtlStringCchCopyUnicodeString(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                                     PCUNICODE_STRING SourceString)
{
    return kdpc_RtlStringCchCopyUnicodeString(pszDest, cchDest, SourceString);
}
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                             NTSTRSAFE_PCSTR pszSrc, NTSTRSAFE_PSTR *ppszDestEnd,
                                             size_t *pcbRemaining, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCatExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                            NTSTRSAFE_PCSTR pszSrc, NTSTRSAFE_PSTR *ppszDestEnd,
                                            size_t *pcbRemaining, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbVPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                                NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                                DWORD dwFlags, NTSTRSAFE_PCSTR pszFormat,
                                                va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                               NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                               DWORD dwFlags, NTSTRSAFE_PCSTR pszFormat, ...);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                              NTSTRSAFE_PCSTR pszSrc, NTSTRSAFE_PSTR *ppszDestEnd,
                                              size_t *pcchRemaining, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCatExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                             NTSTRSAFE_PCSTR pszSrc, NTSTRSAFE_PSTR *ppszDestEnd,
                                             size_t *pcchRemaining, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchVPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                                 NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                                 DWORD dwFlags, NTSTRSAFE_PCSTR pszFormat,
                                                 va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                                NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                                DWORD dwFlags, NTSTRSAFE_PCSTR pszFormat, ...);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                             NTSTRSAFE_PCWSTR pszSrc, NTSTRSAFE_PWSTR *ppszDestEnd,
                                             size_t *pcbRemaining, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCatExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                            NTSTRSAFE_PCWSTR pszSrc, NTSTRSAFE_PWSTR *ppszDestEnd,
                                            size_t *pcbRemaining, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbVPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                                NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                                DWORD dwFlags, NTSTRSAFE_PCWSTR pszFormat,
                                                va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                               NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                               DWORD dwFlags, NTSTRSAFE_PCWSTR pszFormat, ...);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                              NTSTRSAFE_PCWSTR pszSrc, NTSTRSAFE_PWSTR *ppszDestEnd,
                                              size_t *pcchRemaining, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCatExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                             NTSTRSAFE_PCWSTR pszSrc, NTSTRSAFE_PWSTR *ppszDestEnd,
                                             size_t *pcchRemaining, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchVPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                                 NTSTRSAFE_PWSTR *ppszDestEnd,
                                                 size_t *pcchRemaining, DWORD dwFlags,
                                                 NTSTRSAFE_PCWSTR pszFormat, va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                                NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                                DWORD dwFlags, NTSTRSAFE_PCWSTR pszFormat, ...);

/** RtlStringCbCopyExA - RtlStringCbCopyA with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCbCopyExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                          NTSTRSAFE_PCSTR pszSrc, NTSTRSAFE_PSTR *ppszDestEnd,
                                          size_t *pcbRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCbCopyExA(pszDest, cbDest, pszSrc, ppszDestEnd, pcbRemaining, dwFlags);
}
/** RtlStringCbCatExA - RtlStringCbCatA with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCbCatExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                         NTSTRSAFE_PCSTR pszSrc, NTSTRSAFE_PSTR *ppszDestEnd,
                                         size_t *pcbRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCbCatExA(pszDest, cbDest, pszSrc, ppszDestEnd, pcbRemaining, dwFlags);
}
/** RtlStringCbVPrintfExA - RtlStringCbVPrintfA with an end pointer, the room left and STRSAFE_*
 * flags.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing; with
 * STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the top). */
static inline NTSTATUS RtlStringCbVPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                             NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                             DWORD dwFlags, NTSTRSAFE_PCSTR pszFormat,
                                             va_list argList)
{
    return kdpc_RtlStringCbVPrintfExA(pszDest, cbDest, ppszDestEnd, pcbRemaining, dwFlags,
                                      pszFormat, argList);
}
/** RtlStringCbPrintfExA - RtlStringCbVPrintfExA with the arguments after @pszFormat.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing; with
 * STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the top). */
#define RtlStringCbPrintfExA kdpc_RtlStringCbPrintfExA
/** RtlStringCchCopyExA - RtlStringCchCopyA with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCchCopyExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                           NTSTRSAFE_PCSTR pszSrc, NTSTRSAFE_PSTR *ppszDestEnd,
                                           size_t *pcchRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCchCopyExA(pszDest, cchDest, pszSrc, ppszDestEnd, pcchRemaining, dwFlags);
}
/** RtlStringCchCatExA - RtlStringCchCatA with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCchCatExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                          NTSTRSAFE_PCSTR pszSrc, NTSTRSAFE_PSTR *ppszDestEnd,
                                          size_t *pcchRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCchCatExA(pszDest, cchDest, pszSrc, ppszDestEnd, pcchRemaining, dwFlags);
}
/** RtlStringCchVPrintfExA - RtlStringCchVPrintfA with an end pointer, the room left and STRSAFE_*
 * flags.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing; with
 * STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the top). */
static inline NTSTATUS RtlStringCchVPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                              NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                              DWORD dwFlags, NTSTRSAFE_PCSTR pszFormat,
                                              va_list argList)
{
    return kdpc_RtlStringCchVPrintfExA(pszDest, cchDest, ppszDestEnd, pcchRemaining, dwFlags,
                                       pszFormat, argList);
}
/** RtlStringCchPrintfExA - RtlStringCchVPrintfExA with the arguments after @pszFormat.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing; with
 * STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the top). */
#define RtlStringCchPrintfExA kdpc_RtlStringCchPrintfExA
/** RtlStringCbCopyExW - RtlStringCbCopyW with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCbCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                          NTSTRSAFE_PCWSTR pszSrc, NTSTRSAFE_PWSTR *ppszDestEnd,
                                          size_t *pcbRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCbCopyExW(pszDest, cbDest, pszSrc, ppszDestEnd, pcbRemaining, dwFlags);
}
/** RtlStringCbCatExW - RtlStringCbCatW with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCbCatExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                         NTSTRSAFE_PCWSTR pszSrc, NTSTRSAFE_PWSTR *ppszDestEnd,
                                         size_t *pcbRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCbCatExW(pszDest, cbDest, pszSrc, ppszDestEnd, pcbRemaining, dwFlags);
}
/** RtlStringCbVPrintfExW - RtlStringCbVPrintfW with an end pointer, the room left and STRSAFE_*
 * flags.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing; with
 * STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the top). */
static inline NTSTATUS RtlStringCbVPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                             NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                             DWORD dwFlags, NTSTRSAFE_PCWSTR pszFormat,
                                             va_list argList)
{
    return kdpc_RtlStringCbVPrintfExW(pszDest, cbDest, ppszDestEnd, pcbRemaining, dwFlags,
                                      pszFormat, argList);
}
/** RtlStringCbPrintfExW - RtlStringCbVPrintfExW with the arguments after @pszFormat.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing; with
 * STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the top). */
#define RtlStringCbPrintfExW kdpc_RtlStringCbPrintfExW
/** RtlStringCchCopyExW - RtlStringCchCopyW with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCchCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                           NTSTRSAFE_PCWSTR pszSrc, NTSTRSAFE_PWSTR *ppszDestEnd,
                                           size_t *pcchRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCchCopyExW(pszDest, cchDest, pszSrc, ppszDestEnd, pcchRemaining, dwFlags);
}
/** RtlStringCchCatExW - RtlStringCchCatW with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCchCatExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                          NTSTRSAFE_PCWSTR pszSrc, NTSTRSAFE_PWSTR *ppszDestEnd,
                                          size_t *pcchRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCchCatExW(pszDest, cchDest, pszSrc, ppszDestEnd, pcchRemaining, dwFlags);
}
/** RtlStringCchVPrintfExW - RtlStringCchVPrintfW with an end pointer, the room left and STRSAFE_*
 * flags.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing; with
 * STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the top). */
static inline NTSTATUS RtlStringCchVPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                              NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                              DWORD dwFlags, NTSTRSAFE_PCWSTR pszFormat,
                                              va_list argList)
{
    return kdpc_RtlStringCchVPrintfExW(pszDest, cchDest, ppszDestEnd, pcchRemaining, dwFlags,
                                       pszFormat, argList);
}
/** RtlStringCchPrintfExW - RtlStringCchVPrintfExW with the arguments after @pszFormat.
 * Divergence: the format is read as DbgPrint reads it; %n writes nothing; with
 * STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the top). */
#define RtlStringCchPrintfExW kdpc_RtlStringCchPrintfExW
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyNExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                              NTSTRSAFE_PCSTR pszSrc, size_t cbToCopy,
                                              NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                              DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCatNExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                             NTSTRSAFE_PCSTR pszSrc, size_t cbToAppend,
                                             NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                             DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyNExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                               NTSTRSAFE_PCSTR pszSrc, size_t cchToCopy,
                                               NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                               DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCatNExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                              NTSTRSAFE_PCSTR pszSrc, size_t cchToAppend,
                                              NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                              DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyNExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                              NTSTRSAFE_PCWSTR pszSrc, size_t cbToCopy,
                                              NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                              DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCatNExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                             NTSTRSAFE_PCWSTR pszSrc, size_t cbToAppend,
                                             NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                             DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyNExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                               NTSTRSAFE_PCWSTR pszSrc, size_t cchToCopy,
                                               NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                               DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCatNExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                              NTSTRSAFE_PCWSTR pszSrc, size_t cchToAppend,
                                              NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                              DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCbCopyN(PUNICODE_STRING DestinationString,
                                                  PCUNICODE_STRING SourceString, size_t cbToCopy);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCbCatN(PUNICODE_STRING DestinationString,
                                                 PCUNICODE_STRING SourceString, size_t cbToAppend);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCbCopyStringN(PUNICODE_STRING DestinationString,
                                                        NTSTRSAFE_PCWSTR pszSrc, size_t cbToCopy);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCbCatStringN(PUNICODE_STRING DestinationString,
                                                       NTSTRSAFE_PCWSTR pszSrc, size_t cbToAppend);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCchCopyN(PUNICODE_STRING DestinationString,
                                                   PCUNICODE_STRING SourceString, size_t cchToCopy);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCchCatN(PUNICODE_STRING DestinationString,
                                                  PCUNICODE_STRING SourceString,
                                                  size_t cchToAppend);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCchCopyStringN(PUNICODE_STRING DestinationString,
                                                         NTSTRSAFE_PCWSTR pszSrc, size_t cchToCopy);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCchCatStringN(PUNICODE_STRING DestinationString,
                                                        NTSTRSAFE_PCWSTR pszSrc,
                                                        size_t cchToAppend);

/** RtlStringCbCopyNExA - RtlStringCbCopyNA with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCbCopyNExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCSTR pszSrc, size_t cbToCopy,
                                           NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                           DWORD dwFlags)
{
    return kdpc_RtlStringCbCopyNExA(pszDest, cbDest, pszSrc, cbToCopy, ppszDestEnd, pcbRemaining,
                                    dwFlags);
}
/** RtlStringCbCatNExA - RtlStringCbCatNA with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCbCatNExA(NTSTRSAFE_PSTR pszDest, size_t cbDest,
                                          NTSTRSAFE_PCSTR pszSrc, size_t cbToAppend,
                                          NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                          DWORD dwFlags)
{
    return kdpc_RtlStringCbCatNExA(pszDest, cbDest, pszSrc, cbToAppend, ppszDestEnd, pcbRemaining,
                                   dwFlags);
}
/** RtlStringCchCopyNExA - RtlStringCchCopyNA with an end pointer, the room left and STRSAFE_*
 * flags. Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination
 * (see the top). */
static inline NTSTATUS RtlStringCchCopyNExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCSTR pszSrc, size_t cchToCopy,
                                            NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                            DWORD dwFlags)
{
    return kdpc_RtlStringCchCopyNExA(pszDest, cchDest, pszSrc, cchToCopy, ppszDestEnd,
                                     pcchRemaining, dwFlags);
}
/** RtlStringCchCatNExA - RtlStringCchCatNA with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCchCatNExA(NTSTRSAFE_PSTR pszDest, size_t cchDest,
                                           NTSTRSAFE_PCSTR pszSrc, size_t cchToAppend,
                                           NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                           DWORD dwFlags)
{
    return kdpc_RtlStringCchCatNExA(pszDest, cchDest, pszSrc, cchToAppend, ppszDestEnd,
                                    pcchRemaining, dwFlags);
}
/** RtlStringCbCopyNExW - RtlStringCbCopyNW with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCbCopyNExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                           NTSTRSAFE_PCWSTR pszSrc, size_t cbToCopy,
                                           NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                           DWORD dwFlags)
{
    return kdpc_RtlStringCbCopyNExW(pszDest, cbDest, pszSrc, cbToCopy, ppszDestEnd, pcbRemaining,
                                    dwFlags);
}
/** RtlStringCbCatNExW - RtlStringCbCatNW with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCbCatNExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                          NTSTRSAFE_PCWSTR pszSrc, size_t cbToAppend,
                                          NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                          DWORD dwFlags)
{
    return kdpc_RtlStringCbCatNExW(pszDest, cbDest, pszSrc, cbToAppend, ppszDestEnd, pcbRemaining,
                                   dwFlags);
}
/** RtlStringCchCopyNExW - RtlStringCchCopyNW with an end pointer, the room left and STRSAFE_*
 * flags. Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination
 * (see the top). */
static inline NTSTATUS RtlStringCchCopyNExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                            NTSTRSAFE_PCWSTR pszSrc, size_t cchToCopy,
                                            NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                            DWORD dwFlags)
{
    return kdpc_RtlStringCchCopyNExW(pszDest, cchDest, pszSrc, cchToCopy, ppszDestEnd,
                                     pcchRemaining, dwFlags);
}
/** RtlStringCchCatNExW - RtlStringCchCatNW with an end pointer, the room left and STRSAFE_* flags.
 * Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the untouched destination (see the
 * top). */
static inline NTSTATUS RtlStringCchCatNExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                           NTSTRSAFE_PCWSTR pszSrc, size_t cchToAppend,
                                           NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                           DWORD dwFlags)
{
    return kdpc_RtlStringCchCatNExW(pszDest, cchDest, pszSrc, cchToAppend, ppszDestEnd,
                                    pcchRemaining, dwFlags);
}
/** RtlUnicodeStringCbCopyN - RtlUnicodeStringCopy of at most @cbToCopy bytes of the source (more
 * than NTSTRSAFE_UNICODE_STRING_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlUnicodeStringCbCopyN(PUNICODE_STRING DestinationString,
                                               PCUNICODE_STRING SourceString, size_t cbToCopy)
{
    return kdpc_RtlUnicodeStringCbCopyN(DestinationString, SourceString, cbToCopy);
}
/** RtlUnicodeStringCbCatN - RtlUnicodeStringCat of at most @cbToAppend bytes of the source (more
 * than NTSTRSAFE_UNICODE_STRING_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlUnicodeStringCbCatN(PUNICODE_STRING DestinationString,
                                              PCUNICODE_STRING SourceString, size_t cbToAppend)
{
    return kdpc_RtlUnicodeStringCbCatN(DestinationString, SourceString, cbToAppend);
}
/** RtlUnicodeStringCbCopyStringN - RtlUnicodeStringCopyString of at most @cbToCopy bytes of the
 * source (more than NTSTRSAFE_UNICODE_STRING_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlUnicodeStringCbCopyStringN(PUNICODE_STRING DestinationString,
                                                     NTSTRSAFE_PCWSTR pszSrc, size_t cbToCopy)
{
    return kdpc_RtlUnicodeStringCbCopyStringN(DestinationString, pszSrc, cbToCopy);
}
/** RtlUnicodeStringCbCatStringN - RtlUnicodeStringCatString of at most @cbToAppend bytes of the
 * source (more than NTSTRSAFE_UNICODE_STRING_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlUnicodeStringCbCatStringN(PUNICODE_STRING DestinationString,
                                                    NTSTRSAFE_PCWSTR pszSrc, size_t cbToAppend)
{
    return kdpc_RtlUnicodeStringCbCatStringN(DestinationString, pszSrc, cbToAppend);
}
/** RtlUnicodeStringCchCopyN - RtlUnicodeStringCopy of at most @cchToCopy characters of the source
 * (more than NTSTRSAFE_UNICODE_STRING_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlUnicodeStringCchCopyN(PUNICODE_STRING DestinationString,
                                                PCUNICODE_STRING SourceString, size_t cchToCopy)
{
    return kdpc_RtlUnicodeStringCchCopyN(DestinationString, SourceString, cchToCopy);
}
/** RtlUnicodeStringCchCatN - RtlUnicodeStringCat of at most @cchToAppend characters of the source
 * (more than NTSTRSAFE_UNICODE_STRING_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlUnicodeStringCchCatN(PUNICODE_STRING DestinationString,
                                               PCUNICODE_STRING SourceString, size_t cchToAppend)
{
    return kdpc_RtlUnicodeStringCchCatN(DestinationString, SourceString, cchToAppend);
}
/** RtlUnicodeStringCchCopyStringN - RtlUnicodeStringCopyString of at most @cchToCopy characters of
 * the source (more than NTSTRSAFE_UNICODE_STRING_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlUnicodeStringCchCopyStringN(PUNICODE_STRING DestinationString,
                                                      NTSTRSAFE_PCWSTR pszSrc, size_t cchToCopy)
{
    return kdpc_RtlUnicodeStringCchCopyStringN(DestinationString, pszSrc, cchToCopy);
}
/** RtlUnicodeStringCchCatStringN - RtlUnicodeStringCatString of at most @cchToAppend characters of
 * the source (more than NTSTRSAFE_UNICODE_STRING_MAX_CCH characters: STATUS_INVALID_PARAMETER). */
static inline NTSTATUS RtlUnicodeStringCchCatStringN(PUNICODE_STRING DestinationString,
                                                     NTSTRSAFE_PCWSTR pszSrc, size_t cchToAppend)
{
    return kdpc_RtlUnicodeStringCchCatStringN(DestinationString, pszSrc, cchToAppend);
}
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringInitEx(PUNICODE_STRING DestinationString,
                                                 NTSTRSAFE_PCWSTR pszSrc, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringValidateEx(PCUNICODE_STRING SourceString, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCopyEx(PUNICODE_STRING DestinationString,
                                                 PCUNICODE_STRING SourceString,
                                                 PUNICODE_STRING RemainingString, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCatEx(PUNICODE_STRING DestinationString,
                                                PCUNICODE_STRING SourceString,
                                                PUNICODE_STRING RemainingString, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCopyStringEx(PUNICODE_STRING DestinationString,
                                                       NTSTRSAFE_PCWSTR pszSrc,
                                                       PUNICODE_STRING RemainingString,
                                                       DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringCatStringEx(PUNICODE_STRING DestinationString,
                                                      NTSTRSAFE_PCWSTR pszSrc,
                                                      PUNICODE_STRING RemainingString,
                                                      DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringVPrintfEx(PUNICODE_STRING DestinationString,
                                                    PUNICODE_STRING RemainingString, DWORD dwFlags,
                                                    NTSTRSAFE_PCWSTR pszFormat, va_list argList);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringPrintfEx(PUNICODE_STRING DestinationString,
                                                   PUNICODE_STRING RemainingString, DWORD dwFlags,
                                                   NTSTRSAFE_PCWSTR pszFormat, ...);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCbCopyUnicodeStringEx(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                                         PCUNICODE_STRING SourceString,
                                                         NTSTRSAFE_PWSTR *ppszDestEnd,
                                                         size_t *pcbRemaining, DWORD dwFlags);
KDPC_EXPORT NTSTATUS kdpc_RtlStringCchCopyUnicodeStringEx(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                                          PCUNICODE_STRING SourceString,
                                                          NTSTRSAFE_PWSTR *ppszDestEnd,
                                                          size_t *pcchRemaining, DWORD dwFlags);

/** RtlUnicodeStringInitEx - RtlUnicodeStringInit; with STRSAFE_IGNORE_NULLS (the only flag) a
 * NULL DestinationString is allowed. */
static inline NTSTATUS RtlUnicodeStringInitEx(PUNICODE_STRING DestinationString,
                                              NTSTRSAFE_PCWSTR pszSrc, DWORD dwFlags)
{
    return kdpc_RtlUnicodeStringInitEx(DestinationString, pszSrc, dwFlags);
}
/** RtlUnicodeStringValidateEx - RtlUnicodeStringValidate; with STRSAFE_IGNORE_NULLS (the only
 * flag) NULL is valid. */
static inline NTSTATUS RtlUnicodeStringValidateEx(PCUNICODE_STRING SourceString, DWORD dwFlags)
{
    return kdpc_RtlUnicodeStringValidateEx(SourceString, dwFlags);
}
/** RtlUnicodeStringCopyEx - RtlUnicodeStringCopy with *RemainingString (Buffer after the text,
 * Length 0, MaximumLength the bytes left) and STRSAFE_* flags (FILL_BEHIND fills the rest of the
 * buffer; FILL_ON_FAILURE fills it and sets Length 0; ZERO_LENGTH_ON_FAILURE sets Length 0;
 * NO_TRUNCATION writes nothing that does not fit). Divergence: RemainingString is optional
 * whatever the flags. */
static inline NTSTATUS RtlUnicodeStringCopyEx(PUNICODE_STRING DestinationString,
                                              PCUNICODE_STRING SourceString,
                                              PUNICODE_STRING RemainingString, DWORD dwFlags)
{
    return kdpc_RtlUnicodeStringCopyEx(DestinationString, SourceString, RemainingString, dwFlags);
}
/** RtlUnicodeStringCatEx - RtlUnicodeStringCat with *RemainingString (Buffer after the text,
 * Length 0, MaximumLength the bytes left) and STRSAFE_* flags (FILL_BEHIND fills the rest of the
 * buffer; FILL_ON_FAILURE fills it and sets Length 0; ZERO_LENGTH_ON_FAILURE sets Length 0;
 * NO_TRUNCATION writes nothing that does not fit). Divergence: RemainingString is optional
 * whatever the flags. */
static inline NTSTATUS RtlUnicodeStringCatEx(PUNICODE_STRING DestinationString,
                                             PCUNICODE_STRING SourceString,
                                             PUNICODE_STRING RemainingString, DWORD dwFlags)
{
    return kdpc_RtlUnicodeStringCatEx(DestinationString, SourceString, RemainingString, dwFlags);
}
/** RtlUnicodeStringCopyStringEx - RtlUnicodeStringCopyString with *RemainingString (Buffer after
 * the text, Length 0, MaximumLength the bytes left) and STRSAFE_* flags (FILL_BEHIND fills the
 * rest of the buffer; FILL_ON_FAILURE fills it and sets Length 0; ZERO_LENGTH_ON_FAILURE sets
 * Length 0; NO_TRUNCATION writes nothing that does not fit). Divergence: RemainingString is
 * optional whatever the flags. */
static inline NTSTATUS RtlUnicodeStringCopyStringEx(PUNICODE_STRING DestinationString,
                                                    NTSTRSAFE_PCWSTR pszSrc,
                                                    PUNICODE_STRING RemainingString, DWORD dwFlags)
{
    return kdpc_RtlUnicodeStringCopyStringEx(DestinationString, pszSrc, RemainingString, dwFlags);
}
/** RtlUnicodeStringCatStringEx - RtlUnicodeStringCatString with *RemainingString (Buffer after
 * the text, Length 0, MaximumLength the bytes left) and STRSAFE_* flags (FILL_BEHIND fills the
 * rest of the buffer; FILL_ON_FAILURE fills it and sets Length 0; ZERO_LENGTH_ON_FAILURE sets
 * Length 0; NO_TRUNCATION writes nothing that does not fit). Divergence: RemainingString is
 * optional whatever the flags. */
static inline NTSTATUS RtlUnicodeStringCatStringEx(PUNICODE_STRING DestinationString,
                                                   NTSTRSAFE_PCWSTR pszSrc,
                                                   PUNICODE_STRING RemainingString, DWORD dwFlags)
{
    return kdpc_RtlUnicodeStringCatStringEx(DestinationString, pszSrc, RemainingString, dwFlags);
}
/** RtlUnicodeStringVPrintfEx - RtlUnicodeStringVPrintf with *RemainingString and STRSAFE_* flags
 * as RtlUnicodeStringCopyEx. Divergence: RemainingString is optional whatever the flags. Formats
 * as DbgPrint does. */
static inline NTSTATUS RtlUnicodeStringVPrintfEx(PUNICODE_STRING DestinationString,
                                                 PUNICODE_STRING RemainingString, DWORD dwFlags,
                                                 NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    return kdpc_RtlUnicodeStringVPrintfEx(DestinationString, RemainingString, dwFlags, pszFormat,
                                          argList);
}
/** RtlUnicodeStringPrintfEx - RtlUnicodeStringVPrintfEx with the arguments after @pszFormat.
 * Divergence: RemainingString is optional whatever the flags. */
#define RtlUnicodeStringPrintfEx kdpc_RtlUnicodeStringPrintfEx
/** RtlStringCbCopyUnicodeStringEx - RtlStringCbCopyUnicodeString with an end pointer, the room
 * left and STRSAFE_* flags. Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the
 * untouched destination (see the top). */
static inline NTSTATUS RtlStringCbCopyUnicodeStringEx(NTSTRSAFE_PWSTR pszDest, size_t cbDest,
                                                      PCUNICODE_STRING SourceString,
                                                      NTSTRSAFE_PWSTR *ppszDestEnd,
                                                      size_t *pcbRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCbCopyUnicodeStringEx(pszDest, cbDest, SourceString, ppszDestEnd,
                                               pcbRemaining, dwFlags);
}
/** RtlStringCchCopyUnicodeStringEx - RtlStringCchCopyUnicodeString with an end pointer, the room
 * left and STRSAFE_* flags. Divergence: with STRSAFE_NO_TRUNCATION the outputs describe the
 * untouched destination (see the top). */
static inline NTSTATUS RtlStringCchCopyUnicodeStringEx(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
                                                       PCUNICODE_STRING SourceString,
                                                       NTSTRSAFE_PWSTR *ppszDestEnd,
                                                       size_t *pcchRemaining, DWORD dwFlags)
{
    return kdpc_RtlStringCchCopyUnicodeStringEx(pszDest, cchDest, SourceString, ppszDestEnd,
                                                pcchRemaining, dwFlags);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_STRSAFE_H */
