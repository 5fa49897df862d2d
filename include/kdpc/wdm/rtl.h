/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/rtl.h - counted strings (UNICODE_STRING, ANSI_STRING) and the Rtl
 * routines drivers use on them, the byte helpers RtlCopyBytes/RtlZeroBytes,
 * and the debug output family DbgPrint / DbgPrintEx / vDbgPrintEx / KdPrint /
 * KdPrintEx with the DPFLTR_* component ids and levels (docs/facts/rtl.md).
 *
 * IRQL: a routine Microsoft documents at PASSIVE_LEVEL (or at <= APC_LEVEL)
 * reports rtl.irql (0xC4/0x20023) when a simulated CPU calls it above that
 * level; as a warning or off, it goes on. From host code (no simulated
 * CPU) no IRQL is checked, and the routines that need no pool still work.
 * A required pointer that is NULL, or a NULL Buffer of a counted string
 * whose bytes the routine must read or write (Length, or the room it
 * writes into, not 0), is the access violation Windows would raise: bug
 * check 0x7E SYSTEM_THREAD_EXCEPTION_NOT_HANDLED below DISPATCH_LEVEL,
 * 0x1E KMODE_EXCEPTION_NOT_HANDLED at or above it (P1 STATUS_ACCESS_VIOLATION,
 * rule ke.crash); from host code a diagnostic, and the call does nothing.
 *
 * Code pages: kdpc's "ANSI" code page is ISO-8859-1. Divergence: Windows
 * converts with the system's ANSI code page (usually 1252 or a DBCS one);
 * kdpc maps byte b to U+00bb and back, and any character above U+00FF to '?'.
 */
#ifndef KDPC_WDM_RTL_H
#define KDPC_WDM_RTL_H

#include <stdarg.h>

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/guid.h>

KDPC_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* Constants and declaration helpers                                   */

#ifndef UNICODE_NULL
#define UNICODE_NULL ((WCHAR)0)
#endif
#ifndef ANSI_NULL
#define ANSI_NULL ((CHAR)0)
#endif
/** Largest Length/MaximumLength of a UNICODE_STRING, in bytes (an even number). */
#define UNICODE_STRING_MAX_BYTES ((USHORT)65534)
#define UNICODE_STRING_MAX_CHARS (32767)

typedef const STRING *PCSTRING;
typedef const ANSI_STRING *PCANSI_STRING;
typedef STRING OEM_STRING, *POEM_STRING;
typedef const STRING *PCOEM_STRING;
/* PWCH, PCWCH: kdpc/wdm/types.h. */
typedef CHAR *PCH;
typedef const CHAR *PCCH;

/**
 * RTL_CONSTANT_STRING - an initializer for a UNICODE_STRING (from L"...") or
 * a STRING / ANSI_STRING (from "...") over a string literal: Length without
 * the terminating NUL, MaximumLength with it.
 */
#ifdef __cplusplus
/* C++: a string literal is const; the counted string's Buffer is not (as in the WDK, the
 * literal must not be written through it). */
extern "C++" {
inline char *kdpc_rtl_unconst_(const char *s)
{
    return const_cast<char *>(s);
}
inline WCHAR *kdpc_rtl_unconst_(const WCHAR *s)
{
    return const_cast<WCHAR *>(s);
}
}
#define RTL_CONSTANT_STRING(s)                                                                     \
    {                                                                                              \
        (USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), kdpc_rtl_unconst_(s)              \
    }
#else
#define RTL_CONSTANT_STRING(s)                                                                     \
    {                                                                                              \
        (USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), (s)                               \
    }
#endif

/** DECLARE_CONST_UNICODE_STRING - a const UNICODE_STRING @_var over the literal @_string. */
#define DECLARE_CONST_UNICODE_STRING(_var, _string)                                                \
    const WCHAR _var##_buffer[] = _string;                                                         \
    const UNICODE_STRING _var = {(USHORT)(sizeof(_string) - sizeof(WCHAR)),                        \
                                 (USHORT)sizeof(_string), (PWCH)_var##_buffer}

/**
 * DECLARE_GLOBAL_CONST_UNICODE_STRING - the same at file scope, with external linkage and
 * "selectany" as in the WDK: a header using it may be included by several files of a driver
 * (one copy is kept at link time).
 */
#ifdef __cplusplus
#define KDPC_RTL_GLOBAL_ extern
#else
#define KDPC_RTL_GLOBAL_
#endif
#define DECLARE_GLOBAL_CONST_UNICODE_STRING(_var, _string)                                         \
    KDPC_RTL_GLOBAL_ const WCHAR _var##_buffer[] DECLSPEC_SELECTANY = _string;                     \
    KDPC_RTL_GLOBAL_ const UNICODE_STRING _var DECLSPEC_SELECTANY = {                              \
        (USHORT)(sizeof(_string) - sizeof(WCHAR)), (USHORT)sizeof(_string), (PWCH)_var##_buffer}

/**
 * DECLARE_UNICODE_STRING_SIZE - an empty UNICODE_STRING @_var over a local
 * buffer of @_size WCHARs (Length 0, MaximumLength @_size * 2).
 */
#define DECLARE_UNICODE_STRING_SIZE(_var, _size)                                                   \
    WCHAR _var##_buffer[_size];                                                                    \
    UNICODE_STRING _var = {0, (USHORT)((_size) * sizeof(WCHAR)), _var##_buffer}

/** RtlCopyBytes / RtlZeroBytes - RtlCopyMemory / RtlZeroMemory by other names. Any IRQL
 * (resident memory). */
#define RtlCopyBytes(Destination, Source, Length) memcpy((Destination), (Source), (Length))
#define RtlZeroBytes(Destination, Length)         memset((Destination), 0, (Length))

/* ------------------------------------------------------------------ */
/* Exported entry points                                               */

KDPC_EXPORT void kdpc_RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString);
KDPC_EXPORT void kdpc_RtlInitString(PSTRING DestinationString, PCSZ SourceString);
KDPC_EXPORT void kdpc_RtlCopyUnicodeString(PUNICODE_STRING DestinationString,
                                           PCUNICODE_STRING SourceString);
KDPC_EXPORT NTSTATUS kdpc_RtlAppendUnicodeStringToString(PUNICODE_STRING Destination,
                                                         PCUNICODE_STRING Source);
KDPC_EXPORT NTSTATUS kdpc_RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source);
KDPC_EXPORT LONG kdpc_RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                              BOOLEAN CaseInSensitive);
KDPC_EXPORT BOOLEAN kdpc_RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                               BOOLEAN CaseInSensitive);
KDPC_EXPORT WCHAR kdpc_RtlUpcaseUnicodeChar(WCHAR SourceCharacter);
KDPC_EXPORT NTSTATUS kdpc_RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                                 PCUNICODE_STRING SourceString,
                                                 BOOLEAN AllocateDestinationString);
KDPC_EXPORT void kdpc_RtlFreeUnicodeString(PUNICODE_STRING UnicodeString);
KDPC_EXPORT BOOLEAN kdpc_RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                                BOOLEAN CaseInSensitive);
KDPC_EXPORT void kdpc_RtlUpperString(PSTRING DestinationString, const STRING *SourceString);
KDPC_EXPORT ULONG kdpc_RtlxAnsiStringToUnicodeSize(PCANSI_STRING AnsiString);
KDPC_EXPORT ULONG kdpc_RtlxUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString);
KDPC_EXPORT void kdpc_RtlCopyString(PSTRING DestinationString, const STRING *SourceString);
KDPC_EXPORT LONG kdpc_RtlCompareString(const STRING *String1, const STRING *String2,
                                       BOOLEAN CaseInSensitive);
KDPC_EXPORT BOOLEAN kdpc_RtlEqualString(const STRING *String1, const STRING *String2,
                                        BOOLEAN CaseInSensitive);
KDPC_EXPORT CHAR kdpc_RtlUpperChar(CHAR Character);
KDPC_EXPORT NTSTATUS kdpc_RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                                       PCANSI_STRING SourceString,
                                                       BOOLEAN AllocateDestinationString);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                                       PCUNICODE_STRING SourceString,
                                                       BOOLEAN AllocateDestinationString);
KDPC_EXPORT void kdpc_RtlFreeAnsiString(PANSI_STRING AnsiString);
KDPC_EXPORT NTSTATUS kdpc_RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base,
                                                    PULONG Value);
KDPC_EXPORT NTSTATUS kdpc_RtlIntegerToUnicodeString(ULONG Value, ULONG Base,
                                                    PUNICODE_STRING String);
KDPC_EXPORT NTSTATUS kdpc_RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base,
                                                  PUNICODE_STRING String);
KDPC_EXPORT NTSTATUS kdpc_RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value);
KDPC_EXPORT NTSTATUS kdpc_RtlStringFromGUID(const GUID *Guid, PUNICODE_STRING GuidString);
KDPC_EXPORT NTSTATUS kdpc_RtlGUIDFromString(PCUNICODE_STRING GuidString, GUID *Guid);
KDPC_EXPORT ULONG kdpc_DbgPrint(PCSTR Format, ...);
KDPC_EXPORT ULONG kdpc_DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...);
KDPC_EXPORT ULONG kdpc_vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, va_list arglist);
KDPC_EXPORT ULONG kdpc_vDbgPrintExWithPrefix(PCSTR Prefix, ULONG ComponentId, ULONG Level,
                                             PCSTR Format, va_list arglist);

/* ------------------------------------------------------------------ */
/* Initialising counted strings                                        */

/**
 * RtlInitUnicodeString - point @DestinationString at the NUL-terminated
 * @SourceString (no copy): Length = its length in bytes, MaximumLength =
 * Length + 2; NULL gives an empty string (Buffer NULL, both lengths 0).
 * IRQL: <= DISPATCH_LEVEL (the source resident above APC_LEVEL).
 * A NULL @DestinationString is the access violation bug check (see the top).
 * Divergence: a source of 32767 characters or more is cut to Length 65532,
 * MaximumLength 65534 (Microsoft does not document the limit).
 */
static inline void RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    kdpc_RtlInitUnicodeString(DestinationString, SourceString);
}

/**
 * RtlInitString / RtlInitAnsiString - point @DestinationString at the
 * NUL-terminated 8-bit @SourceString: Length = strlen, MaximumLength =
 * Length + 1; NULL gives an empty string. IRQL: <= DISPATCH_LEVEL. A NULL
 * @DestinationString is the access violation bug check (see the top).
 * Divergence: a source of 65535 bytes or more is cut to Length 65534.
 */
static inline void RtlInitString(PSTRING DestinationString, PCSZ SourceString)
{
    kdpc_RtlInitString(DestinationString, SourceString);
}
static inline void RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString)
{
    RtlInitString(DestinationString, SourceString);
}

/**
 * RtlInitStringEx / RtlInitAnsiStringEx - RtlInitString that refuses a source longer than 65534
 * bytes. Return: STATUS_SUCCESS; STATUS_NAME_TOO_LONG. IRQL: <= DISPATCH_LEVEL.
 * Divergence: after STATUS_NAME_TOO_LONG the destination is left unchanged (Microsoft does not
 * say what it holds).
 */
static inline NTSTATUS RtlInitStringEx(PSTRING DestinationString, PCSZ SourceString)
{
    if (SourceString != NULL && strlen(SourceString) > 65534u)
        return STATUS_NAME_TOO_LONG;
    RtlInitString(DestinationString, SourceString);
    return STATUS_SUCCESS;
}
static inline NTSTATUS RtlInitAnsiStringEx(PANSI_STRING DestinationString, PCSZ SourceString)
{
    return RtlInitStringEx(DestinationString, SourceString);
}

/**
 * RtlInitEmptyUnicodeString - an empty string over the caller's @Buffer of @BufferSize bytes:
 * Length 0, MaximumLength @BufferSize. IRQL: any.
 */
static inline void RtlInitEmptyUnicodeString(PUNICODE_STRING UnicodeString, PWCHAR Buffer,
                                             USHORT BufferSize)
{
    UnicodeString->Length = 0;
    UnicodeString->MaximumLength = BufferSize;
    UnicodeString->Buffer = Buffer;
}
/** RtlInitEmptyAnsiString - RtlInitEmptyUnicodeString for an ANSI_STRING. IRQL: any. */
static inline void RtlInitEmptyAnsiString(PANSI_STRING AnsiString, PCHAR Buffer, USHORT BufferSize)
{
    AnsiString->Length = 0;
    AnsiString->MaximumLength = BufferSize;
    AnsiString->Buffer = Buffer;
}

/* ------------------------------------------------------------------ */
/* Copy, append, compare                                               */

/**
 * RtlCopyUnicodeString - copy min(Source->Length, Destination->MaximumLength)
 * bytes (whole characters) of @SourceString into @DestinationString's buffer
 * and set its Length; NULL @SourceString sets Length 0. MaximumLength and
 * Buffer are left alone. IRQL: any (buffers resident at DISPATCH_LEVEL and
 * above). Divergence: a NUL follows the copy when the buffer has room for it
 * (Microsoft does not say either way).
 */
static inline void RtlCopyUnicodeString(PUNICODE_STRING DestinationString,
                                        PCUNICODE_STRING SourceString)
{
    kdpc_RtlCopyUnicodeString(DestinationString, SourceString);
}
/**
 * RtlAppendUnicodeStringToString - append @Source to @Destination.
 * Return: STATUS_SUCCESS (Length grows); STATUS_BUFFER_TOO_SMALL when the
 * sum exceeds MaximumLength (destination unchanged). IRQL: any (buffers
 * resident at DISPATCH_LEVEL and above). Divergence: a NUL follows the text
 * when room remains.
 */
static inline NTSTATUS RtlAppendUnicodeStringToString(PUNICODE_STRING Destination,
                                                      PCUNICODE_STRING Source)
{
    return kdpc_RtlAppendUnicodeStringToString(Destination, Source);
}
/**
 * RtlAppendUnicodeToString - append the NUL-terminated @Source (NULL: nothing)
 * to @Destination. Return: STATUS_SUCCESS; STATUS_BUFFER_TOO_SMALL when the
 * result (without @Source's NUL) does not fit MaximumLength (destination
 * unchanged). IRQL: any (resident buffer at DISPATCH_LEVEL and above).
 * Divergence: a NUL follows the text when room remains.
 */
static inline NTSTATUS RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source)
{
    return kdpc_RtlAppendUnicodeToString(Destination, Source);
}
/**
 * RtlCompareUnicodeString - < 0, 0 or > 0 as @String1 sorts before, equal
 * to or after @String2, character by character (upcased when
 * @CaseInSensitive), a shorter prefix first. IRQL: PASSIVE_LEVEL (rtl.irql).
 * Divergence: case is folded with kdpc's table (RtlUpcaseUnicodeChar).
 */
static inline LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                           BOOLEAN CaseInSensitive)
{
    return kdpc_RtlCompareUnicodeString(String1, String2, CaseInSensitive);
}
/**
 * RtlEqualUnicodeString - TRUE when both strings have the same length and
 * characters (upcased when @CaseInSensitive). IRQL: PASSIVE_LEVEL (rtl.irql).
 * Divergence: case is folded with kdpc's table (RtlUpcaseUnicodeChar).
 */
static inline BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                            BOOLEAN CaseInSensitive)
{
    return kdpc_RtlEqualUnicodeString(String1, String2, CaseInSensitive);
}
/**
 * RtlUpcaseUnicodeChar - the upper-case form of @SourceCharacter.
 * IRQL: <= APC_LEVEL (rtl.irql). Divergence: kdpc's case table covers
 * ASCII, Latin-1 (U+00FF -> U+0178), basic Greek and Cyrillic; other
 * characters are returned unchanged (Windows uses its full NLS table).
 */
static inline WCHAR RtlUpcaseUnicodeChar(WCHAR SourceCharacter)
{
    return kdpc_RtlUpcaseUnicodeChar(SourceCharacter);
}
/**
 * RtlUpcaseUnicodeString - @DestinationString = @SourceString upcased; with
 * @AllocateDestinationString the buffer comes from paged pool (free it with
 * RtlFreeUnicodeString). Return: STATUS_SUCCESS; STATUS_BUFFER_OVERFLOW
 * (the caller's buffer is too small); STATUS_NO_MEMORY.
 * IRQL: <= APC_LEVEL (rtl.irql). Divergence: kdpc's case table (RtlUpcaseUnicodeChar).
 */
static inline NTSTATUS RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                              PCUNICODE_STRING SourceString,
                                              BOOLEAN AllocateDestinationString)
{
    return kdpc_RtlUpcaseUnicodeString(DestinationString, SourceString, AllocateDestinationString);
}
/**
 * RtlFreeUnicodeString - free the pool buffer of a string that an Rtl or Io
 * routine allocated (RtlAnsiStringToUnicodeString with allocation,
 * IoRegisterDeviceInterface, ...), then zero the structure. A NULL Buffer
 * is nothing to do. IRQL: <= APC_LEVEL (rtl.irql).
 * Bugchecks: a buffer already freed (through a copy of the structure) is
 * 0xC2 BAD_POOL_CALLER 0x07; a buffer that is not pool (a literal, a stack
 * array) is 0xC2/0x46.
 */
static inline void RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
    kdpc_RtlFreeUnicodeString(UnicodeString);
}
/**
 * RtlPrefixUnicodeString - TRUE when @String1 is a prefix of @String2 (characters upcased when
 * @CaseInSensitive; an empty @String1 is a prefix of every string). IRQL: PASSIVE_LEVEL
 * (rtl.irql). Divergence: case is folded with kdpc's table (RtlUpcaseUnicodeChar).
 */
static inline BOOLEAN RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                             BOOLEAN CaseInSensitive)
{
    return kdpc_RtlPrefixUnicodeString(String1, String2, CaseInSensitive);
}
/** RtlCopyString - the 8-bit RtlCopyUnicodeString (same rules). IRQL: any.
 * Divergence: a NUL follows the copy when the buffer has room for it. */
static inline void RtlCopyString(PSTRING DestinationString, const STRING *SourceString)
{
    kdpc_RtlCopyString(DestinationString, SourceString);
}
/**
 * RtlUpperString - RtlCopyString with each character upcased (RtlUpperChar's table):
 * min(Source Length, Destination MaximumLength) bytes; MaximumLength and Buffer unchanged.
 * IRQL: <= APC_LEVEL (rtl.irql). Divergence: ISO-8859-1 stands for the ANSI code page.
 */
static inline void RtlUpperString(PSTRING DestinationString, const STRING *SourceString)
{
    kdpc_RtlUpperString(DestinationString, SourceString);
}
/** RtlCompareString - the 8-bit RtlCompareUnicodeString (bytes compared unsigned).
 * IRQL: PASSIVE_LEVEL (rtl.irql). */
static inline LONG RtlCompareString(const STRING *String1, const STRING *String2,
                                    BOOLEAN CaseInSensitive)
{
    return kdpc_RtlCompareString(String1, String2, CaseInSensitive);
}
/** RtlEqualString - the 8-bit RtlEqualUnicodeString. IRQL: PASSIVE_LEVEL (rtl.irql). */
static inline BOOLEAN RtlEqualString(const STRING *String1, const STRING *String2,
                                     BOOLEAN CaseInSensitive)
{
    return kdpc_RtlEqualString(String1, String2, CaseInSensitive);
}
/** RtlUpperChar - the upper-case form of an 8-bit character ('a'..'z' and the
 * Latin-1 letters). IRQL: <= APC_LEVEL (rtl.irql).
 * Divergence: ISO-8859-1 stands for the ANSI code page. */
static inline CHAR RtlUpperChar(CHAR Character)
{
    return kdpc_RtlUpperChar(Character);
}

/* ------------------------------------------------------------------ */
/* ANSI <-> Unicode, integers                                          */

/**
 * RtlAnsiStringToUnicodeString - convert @SourceString into
 * @DestinationString (NUL-terminated). With @AllocateDestinationString the
 * buffer comes from paged pool (MaximumLength = 2 * Length + 2; free it
 * with RtlFreeUnicodeString); else the caller's buffer must hold the text
 * and a NUL. Return: STATUS_SUCCESS; STATUS_BUFFER_OVERFLOW (caller's
 * buffer too small, nothing written); STATUS_INVALID_PARAMETER_2 (the
 * result would exceed 65534 bytes); STATUS_NO_MEMORY. On failure nothing
 * is allocated. IRQL: PASSIVE_LEVEL (rtl.irql).
 * Divergence: ISO-8859-1 stands for the ANSI code page (byte b is U+00bb).
 */
static inline NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                                    PCANSI_STRING SourceString,
                                                    BOOLEAN AllocateDestinationString)
{
    return kdpc_RtlAnsiStringToUnicodeString(DestinationString, SourceString,
                                             AllocateDestinationString);
}
/**
 * RtlUnicodeStringToAnsiString - convert @SourceString into
 * @DestinationString (NUL-terminated; characters above U+00FF become '?').
 * With @AllocateDestinationString the buffer comes from paged pool (free it
 * with RtlFreeAnsiString). Return: STATUS_SUCCESS; STATUS_BUFFER_OVERFLOW
 * (caller's buffer too small: nothing written); STATUS_NO_MEMORY.
 * IRQL: PASSIVE_LEVEL (rtl.irql). Divergence: ISO-8859-1 stands for the ANSI code page.
 */
static inline NTSTATUS RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                                    PCUNICODE_STRING SourceString,
                                                    BOOLEAN AllocateDestinationString)
{
    return kdpc_RtlUnicodeStringToAnsiString(DestinationString, SourceString,
                                             AllocateDestinationString);
}
/**
 * RtlxAnsiStringToUnicodeSize / RtlAnsiStringToUnicodeSize - bytes that @AnsiString needs as a
 * NUL-terminated Unicode string: (Length + 1) * 2 in kdpc's single-byte code page.
 * IRQL: PASSIVE_LEVEL (rtl.irql).
 */
static inline ULONG RtlxAnsiStringToUnicodeSize(PCANSI_STRING AnsiString)
{
    return kdpc_RtlxAnsiStringToUnicodeSize(AnsiString);
}
#define RtlAnsiStringToUnicodeSize(STRING) RtlxAnsiStringToUnicodeSize(STRING)
/**
 * RtlxUnicodeStringToAnsiSize / RtlUnicodeStringToAnsiSize - bytes that @UnicodeString needs as
 * a NUL-terminated ANSI string: Length / 2 + 1 (every character converts, unmappable ones to '?').
 * IRQL: PASSIVE_LEVEL (rtl.irql).
 */
static inline ULONG RtlxUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString)
{
    return kdpc_RtlxUnicodeStringToAnsiSize(UnicodeString);
}
#define RtlUnicodeStringToAnsiSize(STRING) RtlxUnicodeStringToAnsiSize(STRING)
/** RtlFreeAnsiString - RtlFreeUnicodeString for an ANSI_STRING (same bug checks).
 * IRQL: <= APC_LEVEL (rtl.irql). */
static inline void RtlFreeAnsiString(PANSI_STRING AnsiString)
{
    kdpc_RtlFreeAnsiString(AnsiString);
}
/**
 * RtlUnicodeStringToInteger - parse @String: leading white space skipped, an
 * optional '+' or '-', then digits of @Base (2, 8, 10 or 16; 0: a "0x", "0o"
 * or "0b" prefix picks 16, 8 or 2, else 10) up to the first non-digit; the
 * value is kept modulo 2^32 ('-' negates it). No digits: *Value = 0, success.
 * Divergence: a value beyond 32 bits wraps (Microsoft does not say what happens).
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (empty string, or a
 * @Base other than 0, 2, 8, 10, 16). IRQL: PASSIVE_LEVEL (rtl.irql).
 */
static inline NTSTATUS RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value)
{
    return kdpc_RtlUnicodeStringToInteger(String, Base, Value);
}
/** RtlCharToInteger - RtlUnicodeStringToInteger over a NUL-terminated 8-bit string
 * (NULL or empty: STATUS_INVALID_PARAMETER). IRQL: PASSIVE_LEVEL (rtl.irql). */
static inline NTSTATUS RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value)
{
    return kdpc_RtlCharToInteger(String, Base, Value);
}
/**
 * RtlIntegerToUnicodeString - write @Value in @Base (0 or 10, 16 with
 * upper-case digits, 8, 2; no prefix, no sign) into @String's buffer,
 * NUL-terminated; Length = the digits. Return: STATUS_SUCCESS;
 * STATUS_BUFFER_OVERFLOW (digits and NUL do not fit MaximumLength: nothing
 * written); STATUS_INVALID_PARAMETER (another @Base). IRQL: PASSIVE_LEVEL (rtl.irql).
 */
static inline NTSTATUS RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String)
{
    return kdpc_RtlIntegerToUnicodeString(Value, Base, String);
}
/** RtlInt64ToUnicodeString - RtlIntegerToUnicodeString for a 64-bit @Value (same results).
 * IRQL: PASSIVE_LEVEL (rtl.irql). Divergence: the digits and a NUL must fit, as for
 * RtlIntegerToUnicodeString. */
static inline NTSTATUS RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String)
{
    return kdpc_RtlInt64ToUnicodeString(Value, Base, String);
}
/** RtlIntPtrToUnicodeString - RtlInt64ToUnicodeString of a ULONG_PTR (64-bit Windows).
 * IRQL: PASSIVE_LEVEL (rtl.irql). */
#define RtlIntPtrToUnicodeString(Value, Base, String)                                              \
    RtlInt64ToUnicodeString((ULONGLONG)(Value), (Base), (String))

/**
 * RtlStringFromGUID - *@GuidString = @Guid as "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" (upper-case
 * hex, 38 characters, NUL-terminated) in a paged-pool buffer the caller frees with
 * RtlFreeUnicodeString. Return: STATUS_SUCCESS; STATUS_NO_MEMORY. IRQL: PASSIVE_LEVEL (rtl.irql).
 */
static inline NTSTATUS RtlStringFromGUID(const GUID *Guid, PUNICODE_STRING GuidString)
{
    return kdpc_RtlStringFromGUID(Guid, GuidString);
}
/**
 * RtlGUIDFromString - parse @GuidString, exactly "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" (38
 * characters, hex digits of either case), into *@Guid. Return: STATUS_SUCCESS;
 * STATUS_INVALID_PARAMETER (any other text; *@Guid unchanged). IRQL: PASSIVE_LEVEL (rtl.irql).
 */
static inline NTSTATUS RtlGUIDFromString(PCUNICODE_STRING GuidString, GUID *Guid)
{
    return kdpc_RtlGUIDFromString(GuidString, Guid);
}

/* ------------------------------------------------------------------ */
/* Debug output                                                        */

/** Message levels of DbgPrintEx (0..31 name one bit of the filter mask). */
#define DPFLTR_ERROR_LEVEL   0
#define DPFLTR_WARNING_LEVEL 1
#define DPFLTR_TRACE_LEVEL   2
#define DPFLTR_INFO_LEVEL    3
/** A Level with this bit set is itself a mask (its low 31 bits), not a bit number. */
#define DPFLTR_MASK 0x80000000u

/** Component ids of DbgPrintEx. */
typedef enum _DPFLTR_TYPE {
    DPFLTR_SYSTEM_ID = 0,
    DPFLTR_SMSS_ID = 1,
    DPFLTR_SETUP_ID = 2,
    DPFLTR_NTFS_ID = 3,
    DPFLTR_FSTUB_ID = 4,
    DPFLTR_CRASHDUMP_ID = 5,
    DPFLTR_CDAUDIO_ID = 6,
    DPFLTR_CDROM_ID = 7,
    DPFLTR_CLASSPNP_ID = 8,
    DPFLTR_DISK_ID = 9,
    DPFLTR_REDBOOK_ID = 10,
    DPFLTR_STORPROP_ID = 11,
    DPFLTR_SCSIPORT_ID = 12,
    DPFLTR_SCSIMINIPORT_ID = 13,
    DPFLTR_CONFIG_ID = 14,
    DPFLTR_I8042PRT_ID = 15,
    DPFLTR_SERMOUSE_ID = 16,
    DPFLTR_LSERMOUS_ID = 17,
    DPFLTR_KBDHID_ID = 18,
    DPFLTR_MOUHID_ID = 19,
    DPFLTR_KBDCLASS_ID = 20,
    DPFLTR_MOUCLASS_ID = 21,
    DPFLTR_TWOTRACK_ID = 22,
    DPFLTR_WMILIB_ID = 23,
    DPFLTR_ACPI_ID = 24,
    DPFLTR_AMLI_ID = 25,
    DPFLTR_HALIA64_ID = 26,
    DPFLTR_VIDEO_ID = 27,
    DPFLTR_SVCHOST_ID = 28,
    DPFLTR_VIDEOPRT_ID = 29,
    DPFLTR_TCPIP_ID = 30,
    DPFLTR_DMSYNTH_ID = 31,
    DPFLTR_NTOSPNP_ID = 32,
    DPFLTR_FASTFAT_ID = 33,
    DPFLTR_SAMSS_ID = 34,
    DPFLTR_PNPMGR_ID = 35,
    DPFLTR_NETAPI_ID = 36,
    DPFLTR_SCSERVER_ID = 37,
    DPFLTR_SCCLIENT_ID = 38,
    DPFLTR_SERIAL_ID = 39,
    DPFLTR_SERENUM_ID = 40,
    DPFLTR_UHCD_ID = 41,
    DPFLTR_RPCPROXY_ID = 42,
    DPFLTR_AUTOCHK_ID = 43,
    DPFLTR_DCOMSS_ID = 44,
    DPFLTR_UNIMODEM_ID = 45,
    DPFLTR_SIS_ID = 46,
    DPFLTR_FLTMGR_ID = 47,
    DPFLTR_WMICORE_ID = 48,
    DPFLTR_BURNENG_ID = 49,
    DPFLTR_IMAPI_ID = 50,
    DPFLTR_SXS_ID = 51,
    DPFLTR_FUSION_ID = 52,
    DPFLTR_IDLETASK_ID = 53,
    DPFLTR_SOFTPCI_ID = 54,
    DPFLTR_TAPE_ID = 55,
    DPFLTR_MCHGR_ID = 56,
    DPFLTR_IDEP_ID = 57,
    DPFLTR_PCIIDE_ID = 58,
    DPFLTR_FLOPPY_ID = 59,
    DPFLTR_FDC_ID = 60,
    DPFLTR_TERMSRV_ID = 61,
    DPFLTR_W32TIME_ID = 62,
    DPFLTR_PREFETCHER_ID = 63,
    DPFLTR_RSFILTER_ID = 64,
    DPFLTR_FCPORT_ID = 65,
    DPFLTR_PCI_ID = 66,
    DPFLTR_DMIO_ID = 67,
    DPFLTR_DMCONFIG_ID = 68,
    DPFLTR_DMADMIN_ID = 69,
    DPFLTR_WSOCKTRANSPORT_ID = 70,
    DPFLTR_VSS_ID = 71,
    DPFLTR_PNPMEM_ID = 72,
    DPFLTR_PROCESSOR_ID = 73,
    DPFLTR_DMSERVER_ID = 74,
    DPFLTR_SR_ID = 75,
    DPFLTR_INFINIBAND_ID = 76,
    DPFLTR_IHVDRIVER_ID = 77,
    DPFLTR_IHVVIDEO_ID = 78,
    DPFLTR_IHVAUDIO_ID = 79,
    DPFLTR_IHVNETWORK_ID = 80,
    DPFLTR_IHVSTREAMING_ID = 81,
    DPFLTR_IHVBUS_ID = 82,
    DPFLTR_HPS_ID = 83,
    DPFLTR_RTLTHREADPOOL_ID = 84,
    DPFLTR_LDR_ID = 85,
    DPFLTR_TCPIP6_ID = 86,
    DPFLTR_ISAPNP_ID = 87,
    DPFLTR_SHPC_ID = 88,
    DPFLTR_STORPORT_ID = 89,
    DPFLTR_STORMINIPORT_ID = 90,
    DPFLTR_PRINTSPOOLER_ID = 91,
    DPFLTR_VSSDYNDISK_ID = 92,
    DPFLTR_VERIFIER_ID = 93,
    DPFLTR_VDS_ID = 94,
    DPFLTR_VDSBAS_ID = 95,
    DPFLTR_VDSDYN_ID = 96,
    DPFLTR_VDSDYNDR_ID = 97,
    DPFLTR_VDSLDR_ID = 98,
    DPFLTR_VDSUTIL_ID = 99,
    DPFLTR_DFRGIFC_ID = 100,
    DPFLTR_DEFAULT_ID = 101,
    DPFLTR_MM_ID = 102,
    DPFLTR_DFSC_ID = 103,
    DPFLTR_WOW64_ID = 104,
    DPFLTR_ENDOFTABLE_ID
} DPFLTR_TYPE;

/**
 * DbgPrint - format @Format (printf fields plus the Windows ones: %wZ
 * PUNICODE_STRING, %Z PANSI_STRING, %ws / %S / %ls wide string, %wc / %C /
 * %lc wide character, %hs narrow string, I64 / I32 / I size prefixes, 'l'
 * = 32 bits as on LLP64 Windows) and write it to the machine's log (stderr
 * by default). At most 512 bytes per call reach the log. Returns
 * STATUS_SUCCESS. IRQL: <= DIRQL, but the Unicode codes (%C %S %lc %ls %wc
 * %ws %wZ) only at PASSIVE_LEVEL: above it, rtl.irql (as a warning or off,
 * the text is still written).
 * Divergence: every message reaches the log: kdpc acts as if every
 * component's filter mask had every bit set. Floating-point fields (which
 * Windows does not support here) are formatted.
 */
#define DbgPrint kdpc_DbgPrint
/**
 * DbgPrintEx - DbgPrint for component @ComponentId (a DPFLTR_*_ID) at
 * @Level (DPFLTR_*_LEVEL, or a mask with DPFLTR_MASK). Same output and IRQL
 * rules as DbgPrint. Divergence: every message reaches the log, whatever
 * @ComponentId and @Level (no filter masks).
 */
#define DbgPrintEx kdpc_DbgPrintEx
/** vDbgPrintEx - DbgPrintEx with a va_list. Divergence: as DbgPrintEx (no filter masks). */
#define vDbgPrintEx kdpc_vDbgPrintEx
/** vDbgPrintExWithPrefix - vDbgPrintEx with @Prefix written before the text. Divergence: as
 * DbgPrintEx (no filter masks). */
#define vDbgPrintExWithPrefix kdpc_vDbgPrintExWithPrefix
/**
 * KdPrint / KdPrintEx - DbgPrint / DbgPrintEx with the arguments in double
 * parentheses. Divergence: they print in every build (the WDK makes them
 * nothing unless DBG is 1).
 */
#define KdPrint(args) ((void)DbgPrint args)
/** KdPrintEx - DbgPrintEx with its arguments in double parentheses. Divergence: it prints in
 * every build (the WDK makes it nothing unless DBG is 1). */
#define KdPrintEx(args) ((void)DbgPrintEx args)

KDPC_END_DECLS

#endif /* KDPC_WDM_RTL_H */
