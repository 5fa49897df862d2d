/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/intsafe.h - the integer-safe conversion and arithmetic routines of
 * the WDK's ntintsafe.h: RtlXxxToYyy, RtlXxxAdd, RtlXxxSub, RtlXxxMult.
 *
 * Driver code gets this as <ntintsafe.h> through kdpc::wdm, or through
 * <kdpc/wdm.h>. Every routine is a static inline function usable at any IRQL
 * and outside a simulated machine. As Microsoft documents them (facts and
 * pages: docs/facts/status.md):
 *  - a routine returns STATUS_SUCCESS and stores the exact result, or
 *    STATUS_INTEGER_OVERFLOW when the result does not fit the destination
 *    type (a negative value into an unsigned type counts); the documentation
 *    calls *Result "not valid" then: kdpc stores the type's error value, -1
 *    for a signed type and all ones for an unsigned one, as the WDK's own
 *    inline implementation does;
 *  - the result pointer must be valid (a NULL one faults, as on Windows);
 *  - the conversions exist where a value can fail to fit on 32-bit or 64-bit
 *    Windows (RtlULongLongToSizeT always succeeds on x64 but is declared);
 *    widening ones that always fit (RtlUShortToULong) exist in neither,
 *    except the few Microsoft's reference lists (RtlLongToInt,
 *    RtlULongToUInt, RtlLongToIntPtr, ...: always STATUS_SUCCESS);
 *  - one routine has several names (RtlIntToULong, RtlInt32ToDWord,
 *    RtlIntToSIZET, ...): the other names are #defines of the first.
 * Widths are x64 Windows' (LLP64): LONG/ULONG 32 bits, the _PTR types and
 * SIZE_T 64 bits. CHAR is the compiler's char: RtlXxxToChar checks the range
 * of a signed or an unsigned char accordingly.
 */
#ifndef KDPC_WDM_INTSAFE_H
#define KDPC_WDM_INTSAFE_H

#include <limits.h>
#include <kdpc/wdm/types.h>

KDPC_BEGIN_DECLS

/** @defgroup wdm_intsafe Integer-safe routines (ntintsafe.h)
 * @{ */

KDPC_STATIC_ASSERT(sizeof(ULONG_PTR) == 8, "the _PTR routines follow x64 Windows");

/* ------------------------------------------------------------------ */
/* Conversions                                                         */

/** RtlInt8ToUChar - convert INT8 to UCHAR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlInt8ToUChar(INT8 Operand, UCHAR *Result)
{
    if (Operand < 0) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (UCHAR)Operand;
    return STATUS_SUCCESS;
}

/** RtlInt8ToUShort - convert INT8 to USHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlInt8ToUShort(INT8 Operand, USHORT *Result)
{
    if (Operand < 0) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (USHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlInt8ToULong - convert INT8 to ULONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlInt8ToULong(INT8 Operand, ULONG *Result)
{
    if (Operand < 0) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlInt8ToULongPtr - convert INT8 to ULONG_PTR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlInt8ToULongPtr(INT8 Operand, ULONG_PTR *Result)
{
    if (Operand < 0) {
        *Result = (ULONG_PTR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlInt8ToULongLong - convert INT8 to ULONGLONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlInt8ToULongLong(INT8 Operand, ULONGLONG *Result)
{
    if (Operand < 0) {
        *Result = (ULONGLONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONGLONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlInt8ToChar - convert INT8 to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlInt8ToChar(INT8 Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    *Result = (CHAR)Operand;
    return STATUS_SUCCESS;
#else
    UCHAR Value = 0;
    NTSTATUS Status = RtlInt8ToUChar(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#endif
}

/** RtlUCharToInt8 - convert UCHAR to INT8; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlUCharToInt8(UCHAR Operand, INT8 *Result)
{
    if (Operand > (UCHAR)0x7FULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (INT8)Operand;
    return STATUS_SUCCESS;
}

/** RtlUCharToChar - convert UCHAR to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlUCharToChar(UCHAR Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    INT8 Value = 0;
    NTSTATUS Status = RtlUCharToInt8(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#else
    *Result = (CHAR)Operand;
    return STATUS_SUCCESS;
#endif
}

/** RtlShortToInt8 - convert SHORT to INT8; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlShortToInt8(SHORT Operand, INT8 *Result)
{
    if (Operand < (SHORT)(-128) || Operand > (SHORT)0x7FLL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (INT8)Operand;
    return STATUS_SUCCESS;
}

/** RtlShortToUChar - convert SHORT to UCHAR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlShortToUChar(SHORT Operand, UCHAR *Result)
{
    if (Operand < 0 || Operand > (SHORT)0xFFLL) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (UCHAR)Operand;
    return STATUS_SUCCESS;
}

/** RtlShortToUShort - convert SHORT to USHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlShortToUShort(SHORT Operand, USHORT *Result)
{
    if (Operand < 0) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (USHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlShortToULong - convert SHORT to ULONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlShortToULong(SHORT Operand, ULONG *Result)
{
    if (Operand < 0) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlShortToULongPtr - convert SHORT to ULONG_PTR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlShortToULongPtr(SHORT Operand, ULONG_PTR *Result)
{
    if (Operand < 0) {
        *Result = (ULONG_PTR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlShortToULongLong - convert SHORT to ULONGLONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlShortToULongLong(SHORT Operand, ULONGLONG *Result)
{
    if (Operand < 0) {
        *Result = (ULONGLONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONGLONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlShortToChar - convert SHORT to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlShortToChar(SHORT Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    INT8 Value = 0;
    NTSTATUS Status = RtlShortToInt8(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#else
    UCHAR Value = 0;
    NTSTATUS Status = RtlShortToUChar(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#endif
}

/** RtlUShortToInt8 - convert USHORT to INT8; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlUShortToInt8(USHORT Operand, INT8 *Result)
{
    if (Operand > (USHORT)0x7FULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (INT8)Operand;
    return STATUS_SUCCESS;
}

/** RtlUShortToUChar - convert USHORT to UCHAR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlUShortToUChar(USHORT Operand, UCHAR *Result)
{
    if (Operand > (USHORT)0xFFULL) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (UCHAR)Operand;
    return STATUS_SUCCESS;
}

/** RtlUShortToShort - convert USHORT to SHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlUShortToShort(USHORT Operand, SHORT *Result)
{
    if (Operand > (USHORT)0x7FFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (SHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlUShortToChar - convert USHORT to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlUShortToChar(USHORT Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    INT8 Value = 0;
    NTSTATUS Status = RtlUShortToInt8(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#else
    UCHAR Value = 0;
    NTSTATUS Status = RtlUShortToUChar(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#endif
}

/** RtlLongToInt8 - convert LONG to INT8; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongToInt8(LONG Operand, INT8 *Result)
{
    if (Operand < (LONG)(-128) || Operand > (LONG)0x7FLL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (INT8)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongToUChar - convert LONG to UCHAR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongToUChar(LONG Operand, UCHAR *Result)
{
    if (Operand < 0 || Operand > (LONG)0xFFLL) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (UCHAR)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongToShort - convert LONG to SHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongToShort(LONG Operand, SHORT *Result)
{
    if (Operand < (LONG)(-32768) || Operand > (LONG)0x7FFFLL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (SHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongToUShort - convert LONG to USHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongToUShort(LONG Operand, USHORT *Result)
{
    if (Operand < 0 || Operand > (LONG)0xFFFFLL) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (USHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongToULong - convert LONG to ULONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongToULong(LONG Operand, ULONG *Result)
{
    if (Operand < 0) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongToULongPtr - convert LONG to ULONG_PTR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongToULongPtr(LONG Operand, ULONG_PTR *Result)
{
    if (Operand < 0) {
        *Result = (ULONG_PTR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongToULongLong - convert LONG to ULONGLONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongToULongLong(LONG Operand, ULONGLONG *Result)
{
    if (Operand < 0) {
        *Result = (ULONGLONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONGLONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongToChar - convert LONG to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongToChar(LONG Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    INT8 Value = 0;
    NTSTATUS Status = RtlLongToInt8(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#else
    UCHAR Value = 0;
    NTSTATUS Status = RtlLongToUChar(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#endif
}

/** RtlULongToInt8 - convert ULONG to INT8; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongToInt8(ULONG Operand, INT8 *Result)
{
    if (Operand > (ULONG)0x7FULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (INT8)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongToUChar - convert ULONG to UCHAR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlULongToUChar(ULONG Operand, UCHAR *Result)
{
    if (Operand > (ULONG)0xFFULL) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (UCHAR)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongToShort - convert ULONG to SHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongToShort(ULONG Operand, SHORT *Result)
{
    if (Operand > (ULONG)0x7FFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (SHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongToUShort - convert ULONG to USHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlULongToUShort(ULONG Operand, USHORT *Result)
{
    if (Operand > (ULONG)0xFFFFULL) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (USHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongToLong - convert ULONG to LONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongToLong(ULONG Operand, LONG *Result)
{
    if (Operand > (ULONG)0x7FFFFFFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (LONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongToLongPtr - convert ULONG to LONG_PTR; any IRQL.
 * Always fits on x64 (it can fail on 32-bit Windows): STATUS_SUCCESS. */
static inline NTSTATUS RtlULongToLongPtr(ULONG Operand, LONG_PTR *Result)
{
    *Result = (LONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongToChar - convert ULONG to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongToChar(ULONG Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    INT8 Value = 0;
    NTSTATUS Status = RtlULongToInt8(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#else
    UCHAR Value = 0;
    NTSTATUS Status = RtlULongToUChar(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#endif
}

/** RtlLongPtrToInt8 - convert LONG_PTR to INT8; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongPtrToInt8(LONG_PTR Operand, INT8 *Result)
{
    if (Operand < (LONG_PTR)(-128) || Operand > (LONG_PTR)0x7FLL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (INT8)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongPtrToUChar - convert LONG_PTR to UCHAR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongPtrToUChar(LONG_PTR Operand, UCHAR *Result)
{
    if (Operand < 0 || Operand > (LONG_PTR)0xFFLL) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (UCHAR)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongPtrToShort - convert LONG_PTR to SHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongPtrToShort(LONG_PTR Operand, SHORT *Result)
{
    if (Operand < (LONG_PTR)(-32768) || Operand > (LONG_PTR)0x7FFFLL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (SHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongPtrToUShort - convert LONG_PTR to USHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongPtrToUShort(LONG_PTR Operand, USHORT *Result)
{
    if (Operand < 0 || Operand > (LONG_PTR)0xFFFFLL) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (USHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongPtrToLong - convert LONG_PTR to LONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongPtrToLong(LONG_PTR Operand, LONG *Result)
{
    if (Operand < (LONG_PTR)(-2147483648) || Operand > (LONG_PTR)0x7FFFFFFFLL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (LONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongPtrToULong - convert LONG_PTR to ULONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongPtrToULong(LONG_PTR Operand, ULONG *Result)
{
    if (Operand < 0 || Operand > (LONG_PTR)0xFFFFFFFFLL) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongPtrToULongPtr - convert LONG_PTR to ULONG_PTR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongPtrToULongPtr(LONG_PTR Operand, ULONG_PTR *Result)
{
    if (Operand < 0) {
        *Result = (ULONG_PTR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongPtrToULongLong - convert LONG_PTR to ULONGLONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongPtrToULongLong(LONG_PTR Operand, ULONGLONG *Result)
{
    if (Operand < 0) {
        *Result = (ULONGLONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONGLONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongPtrToChar - convert LONG_PTR to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongPtrToChar(LONG_PTR Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    INT8 Value = 0;
    NTSTATUS Status = RtlLongPtrToInt8(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#else
    UCHAR Value = 0;
    NTSTATUS Status = RtlLongPtrToUChar(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#endif
}

/** RtlULongPtrToInt8 - convert ULONG_PTR to INT8; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongPtrToInt8(ULONG_PTR Operand, INT8 *Result)
{
    if (Operand > (ULONG_PTR)0x7FULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (INT8)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongPtrToUChar - convert ULONG_PTR to UCHAR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlULongPtrToUChar(ULONG_PTR Operand, UCHAR *Result)
{
    if (Operand > (ULONG_PTR)0xFFULL) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (UCHAR)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongPtrToShort - convert ULONG_PTR to SHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongPtrToShort(ULONG_PTR Operand, SHORT *Result)
{
    if (Operand > (ULONG_PTR)0x7FFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (SHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongPtrToUShort - convert ULONG_PTR to USHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlULongPtrToUShort(ULONG_PTR Operand, USHORT *Result)
{
    if (Operand > (ULONG_PTR)0xFFFFULL) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (USHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongPtrToLong - convert ULONG_PTR to LONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongPtrToLong(ULONG_PTR Operand, LONG *Result)
{
    if (Operand > (ULONG_PTR)0x7FFFFFFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (LONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongPtrToULong - convert ULONG_PTR to ULONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlULongPtrToULong(ULONG_PTR Operand, ULONG *Result)
{
    if (Operand > (ULONG_PTR)0xFFFFFFFFULL) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongPtrToLongPtr - convert ULONG_PTR to LONG_PTR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongPtrToLongPtr(ULONG_PTR Operand, LONG_PTR *Result)
{
    if (Operand > (ULONG_PTR)0x7FFFFFFFFFFFFFFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (LONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongPtrToLongLong - convert ULONG_PTR to LONGLONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongPtrToLongLong(ULONG_PTR Operand, LONGLONG *Result)
{
    if (Operand > (ULONG_PTR)0x7FFFFFFFFFFFFFFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (LONGLONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongPtrToChar - convert ULONG_PTR to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongPtrToChar(ULONG_PTR Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    INT8 Value = 0;
    NTSTATUS Status = RtlULongPtrToInt8(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#else
    UCHAR Value = 0;
    NTSTATUS Status = RtlULongPtrToUChar(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#endif
}

/** RtlLongLongToInt8 - convert LONGLONG to INT8; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongLongToInt8(LONGLONG Operand, INT8 *Result)
{
    if (Operand < (LONGLONG)(-128) || Operand > (LONGLONG)0x7FLL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (INT8)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongLongToUChar - convert LONGLONG to UCHAR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongLongToUChar(LONGLONG Operand, UCHAR *Result)
{
    if (Operand < 0 || Operand > (LONGLONG)0xFFLL) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (UCHAR)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongLongToShort - convert LONGLONG to SHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongLongToShort(LONGLONG Operand, SHORT *Result)
{
    if (Operand < (LONGLONG)(-32768) || Operand > (LONGLONG)0x7FFFLL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (SHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongLongToUShort - convert LONGLONG to USHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongLongToUShort(LONGLONG Operand, USHORT *Result)
{
    if (Operand < 0 || Operand > (LONGLONG)0xFFFFLL) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (USHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongLongToLong - convert LONGLONG to LONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongLongToLong(LONGLONG Operand, LONG *Result)
{
    if (Operand < (LONGLONG)(-2147483648) || Operand > (LONGLONG)0x7FFFFFFFLL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (LONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongLongToULong - convert LONGLONG to ULONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongLongToULong(LONGLONG Operand, ULONG *Result)
{
    if (Operand < 0 || Operand > (LONGLONG)0xFFFFFFFFLL) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongLongToLongPtr - convert LONGLONG to LONG_PTR; any IRQL.
 * Always fits on x64 (it can fail on 32-bit Windows): STATUS_SUCCESS. */
static inline NTSTATUS RtlLongLongToLongPtr(LONGLONG Operand, LONG_PTR *Result)
{
    *Result = (LONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongLongToULongPtr - convert LONGLONG to ULONG_PTR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongLongToULongPtr(LONGLONG Operand, ULONG_PTR *Result)
{
    if (Operand < 0) {
        *Result = (ULONG_PTR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongLongToULongLong - convert LONGLONG to ULONGLONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlLongLongToULongLong(LONGLONG Operand, ULONGLONG *Result)
{
    if (Operand < 0) {
        *Result = (ULONGLONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONGLONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongLongToChar - convert LONGLONG to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlLongLongToChar(LONGLONG Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    INT8 Value = 0;
    NTSTATUS Status = RtlLongLongToInt8(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#else
    UCHAR Value = 0;
    NTSTATUS Status = RtlLongLongToUChar(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#endif
}

/** RtlULongLongToInt8 - convert ULONGLONG to INT8; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongLongToInt8(ULONGLONG Operand, INT8 *Result)
{
    if (Operand > (ULONGLONG)0x7FULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (INT8)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongLongToUChar - convert ULONGLONG to UCHAR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlULongLongToUChar(ULONGLONG Operand, UCHAR *Result)
{
    if (Operand > (ULONGLONG)0xFFULL) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (UCHAR)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongLongToShort - convert ULONGLONG to SHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongLongToShort(ULONGLONG Operand, SHORT *Result)
{
    if (Operand > (ULONGLONG)0x7FFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (SHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongLongToUShort - convert ULONGLONG to USHORT; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlULongLongToUShort(ULONGLONG Operand, USHORT *Result)
{
    if (Operand > (ULONGLONG)0xFFFFULL) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (USHORT)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongLongToLong - convert ULONGLONG to LONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongLongToLong(ULONGLONG Operand, LONG *Result)
{
    if (Operand > (ULONGLONG)0x7FFFFFFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (LONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongLongToULong - convert ULONGLONG to ULONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when the value does not fit. */
static inline NTSTATUS RtlULongLongToULong(ULONGLONG Operand, ULONG *Result)
{
    if (Operand > (ULONGLONG)0xFFFFFFFFULL) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (ULONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongLongToLongPtr - convert ULONGLONG to LONG_PTR; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongLongToLongPtr(ULONGLONG Operand, LONG_PTR *Result)
{
    if (Operand > (ULONGLONG)0x7FFFFFFFFFFFFFFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (LONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongLongToULongPtr - convert ULONGLONG to ULONG_PTR; any IRQL.
 * Always fits on x64 (it can fail on 32-bit Windows): STATUS_SUCCESS. */
static inline NTSTATUS RtlULongLongToULongPtr(ULONGLONG Operand, ULONG_PTR *Result)
{
    *Result = (ULONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongLongToLongLong - convert ULONGLONG to LONGLONG; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongLongToLongLong(ULONGLONG Operand, LONGLONG *Result)
{
    if (Operand > (ULONGLONG)0x7FFFFFFFFFFFFFFFULL) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    *Result = (LONGLONG)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongLongToChar - convert ULONGLONG to CHAR (signed or unsigned like char); any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when the value does not fit. */
static inline NTSTATUS RtlULongLongToChar(ULONGLONG Operand, CHAR *Result)
{
#if CHAR_MIN < 0
    INT8 Value = 0;
    NTSTATUS Status = RtlULongLongToInt8(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#else
    UCHAR Value = 0;
    NTSTATUS Status = RtlULongLongToUChar(Operand, &Value);
    *Result = (CHAR)Value;
    return Status;
#endif
}

/* ------------------------------------------------------------------ */
/* Conversions Microsoft documents that never lose a value (the same   */
/* width on 32-bit and x64 Windows, or wider on x64)                   */

/** RtlLongToInt - convert LONG to INT (also RtlLongToInt32); any IRQL.
 * Always fits (both 32 bits): STATUS_SUCCESS. */
static inline NTSTATUS RtlLongToInt(LONG Operand, INT *Result)
{
    *Result = (INT)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongToUInt - convert ULONG to UINT; any IRQL.
 * Always fits (both 32 bits): STATUS_SUCCESS. */
static inline NTSTATUS RtlULongToUInt(ULONG Operand, UINT *Result)
{
    *Result = (UINT)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongToIntPtr - convert LONG to INT_PTR (a LONG_PTR on x64); any IRQL.
 * Always fits: STATUS_SUCCESS. */
static inline NTSTATUS RtlLongToIntPtr(LONG Operand, LONG_PTR *Result)
{
    *Result = (LONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlULongToUIntPtr - convert ULONG to UINT_PTR (a ULONG_PTR on x64); any IRQL.
 * Always fits: STATUS_SUCCESS. */
static inline NTSTATUS RtlULongToUIntPtr(ULONG Operand, ULONG_PTR *Result)
{
    *Result = (ULONG_PTR)Operand;
    return STATUS_SUCCESS;
}

/** RtlLongPtrToIntPtr - convert LONG_PTR to INT_PTR (also RtlIntPtrToLongPtr); any IRQL.
 * The same type: STATUS_SUCCESS. */
static inline NTSTATUS RtlLongPtrToIntPtr(LONG_PTR Operand, LONG_PTR *Result)
{
    *Result = Operand;
    return STATUS_SUCCESS;
}

/** RtlULongPtrToUIntPtr - convert ULONG_PTR to UINT_PTR; any IRQL.
 * The same type: STATUS_SUCCESS. */
static inline NTSTATUS RtlULongPtrToUIntPtr(ULONG_PTR Operand, ULONG_PTR *Result)
{
    *Result = Operand;
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Addition, subtraction, multiplication                               */

/** RtlInt8Add - the sum of two INT8 values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a INT8. */
static inline NTSTATUS RtlInt8Add(INT8 Augend, INT8 Addend, INT8 *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlInt8Sub - the difference of two INT8 values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a INT8. */
static inline NTSTATUS RtlInt8Sub(INT8 Minuend, INT8 Subtrahend, INT8 *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlInt8Mult - the product of two INT8 values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a INT8. */
static inline NTSTATUS RtlInt8Mult(INT8 Multiplicand, INT8 Multiplier, INT8 *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlUCharAdd - the sum of two UCHAR values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a UCHAR. */
static inline NTSTATUS RtlUCharAdd(UCHAR Augend, UCHAR Addend, UCHAR *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlUCharSub - the difference of two UCHAR values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a UCHAR. */
static inline NTSTATUS RtlUCharSub(UCHAR Minuend, UCHAR Subtrahend, UCHAR *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlUCharMult - the product of two UCHAR values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a UCHAR. */
static inline NTSTATUS RtlUCharMult(UCHAR Multiplicand, UCHAR Multiplier, UCHAR *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = (UCHAR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlShortAdd - the sum of two SHORT values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a SHORT. */
static inline NTSTATUS RtlShortAdd(SHORT Augend, SHORT Addend, SHORT *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlShortSub - the difference of two SHORT values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a SHORT. */
static inline NTSTATUS RtlShortSub(SHORT Minuend, SHORT Subtrahend, SHORT *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlShortMult - the product of two SHORT values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a SHORT. */
static inline NTSTATUS RtlShortMult(SHORT Multiplicand, SHORT Multiplier, SHORT *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlUShortAdd - the sum of two USHORT values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a USHORT. */
static inline NTSTATUS RtlUShortAdd(USHORT Augend, USHORT Addend, USHORT *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlUShortSub - the difference of two USHORT values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a USHORT. */
static inline NTSTATUS RtlUShortSub(USHORT Minuend, USHORT Subtrahend, USHORT *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlUShortMult - the product of two USHORT values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a USHORT. */
static inline NTSTATUS RtlUShortMult(USHORT Multiplicand, USHORT Multiplier, USHORT *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = (USHORT)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlLongAdd - the sum of two LONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a LONG. */
static inline NTSTATUS RtlLongAdd(LONG Augend, LONG Addend, LONG *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlLongSub - the difference of two LONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a LONG. */
static inline NTSTATUS RtlLongSub(LONG Minuend, LONG Subtrahend, LONG *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlLongMult - the product of two LONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a LONG. */
static inline NTSTATUS RtlLongMult(LONG Multiplicand, LONG Multiplier, LONG *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlULongAdd - the sum of two ULONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a ULONG. */
static inline NTSTATUS RtlULongAdd(ULONG Augend, ULONG Addend, ULONG *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlULongSub - the difference of two ULONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a ULONG. */
static inline NTSTATUS RtlULongSub(ULONG Minuend, ULONG Subtrahend, ULONG *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlULongMult - the product of two ULONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a ULONG. */
static inline NTSTATUS RtlULongMult(ULONG Multiplicand, ULONG Multiplier, ULONG *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = (ULONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlLongPtrAdd - the sum of two LONG_PTR values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a LONG_PTR. */
static inline NTSTATUS RtlLongPtrAdd(LONG_PTR Augend, LONG_PTR Addend, LONG_PTR *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlLongPtrSub - the difference of two LONG_PTR values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a LONG_PTR. */
static inline NTSTATUS RtlLongPtrSub(LONG_PTR Minuend, LONG_PTR Subtrahend, LONG_PTR *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlLongPtrMult - the product of two LONG_PTR values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a LONG_PTR. */
static inline NTSTATUS RtlLongPtrMult(LONG_PTR Multiplicand, LONG_PTR Multiplier, LONG_PTR *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlULongPtrAdd - the sum of two ULONG_PTR values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a ULONG_PTR. */
static inline NTSTATUS RtlULongPtrAdd(ULONG_PTR Augend, ULONG_PTR Addend, ULONG_PTR *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = (ULONG_PTR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlULongPtrSub - the difference of two ULONG_PTR values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a ULONG_PTR. */
static inline NTSTATUS RtlULongPtrSub(ULONG_PTR Minuend, ULONG_PTR Subtrahend, ULONG_PTR *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = (ULONG_PTR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlULongPtrMult - the product of two ULONG_PTR values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a ULONG_PTR. */
static inline NTSTATUS RtlULongPtrMult(ULONG_PTR Multiplicand, ULONG_PTR Multiplier,
                                       ULONG_PTR *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = (ULONG_PTR)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlLongLongAdd - the sum of two LONGLONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a LONGLONG. */
static inline NTSTATUS RtlLongLongAdd(LONGLONG Augend, LONGLONG Addend, LONGLONG *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlLongLongSub - the difference of two LONGLONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a LONGLONG. */
static inline NTSTATUS RtlLongLongSub(LONGLONG Minuend, LONGLONG Subtrahend, LONGLONG *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlLongLongMult - the product of two LONGLONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = -1, when it does not fit in a LONGLONG. */
static inline NTSTATUS RtlLongLongMult(LONGLONG Multiplicand, LONGLONG Multiplier, LONGLONG *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = -1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlULongLongAdd - the sum of two ULONGLONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a ULONGLONG. */
static inline NTSTATUS RtlULongLongAdd(ULONGLONG Augend, ULONGLONG Addend, ULONGLONG *Result)
{
    if (__builtin_add_overflow(Augend, Addend, Result)) {
        *Result = (ULONGLONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlULongLongSub - the difference of two ULONGLONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a ULONGLONG. */
static inline NTSTATUS RtlULongLongSub(ULONGLONG Minuend, ULONGLONG Subtrahend, ULONGLONG *Result)
{
    if (__builtin_sub_overflow(Minuend, Subtrahend, Result)) {
        *Result = (ULONGLONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/** RtlULongLongMult - the product of two ULONGLONG values; any IRQL.
 * STATUS_INTEGER_OVERFLOW, *Result = all ones, when it does not fit in a ULONGLONG. */
static inline NTSTATUS RtlULongLongMult(ULONGLONG Multiplicand, ULONGLONG Multiplier,
                                        ULONGLONG *Result)
{
    if (__builtin_mul_overflow(Multiplicand, Multiplier, Result)) {
        *Result = (ULONGLONG)-1;
        return STATUS_INTEGER_OVERFLOW;
    }
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The other names of the routines above                               */

#define RtlByteAdd             RtlUCharAdd
#define RtlByteMult            RtlUCharMult
#define RtlByteSub             RtlUCharSub
#define RtlByteToChar          RtlUCharToChar
#define RtlByteToInt8          RtlUCharToInt8
#define RtlDWord64Add          RtlULongLongAdd
#define RtlDWord64Mult         RtlULongLongMult
#define RtlDWord64Sub          RtlULongLongSub
#define RtlDWord64ToByte       RtlULongLongToUChar
#define RtlDWord64ToChar       RtlULongLongToChar
#define RtlDWord64ToDWord      RtlULongLongToULong
#define RtlDWord64ToDWordPtr   RtlULongLongToULongPtr
#define RtlDWord64ToInt        RtlULongLongToLong
#define RtlDWord64ToInt32      RtlULongLongToLong
#define RtlDWord64ToInt64      RtlULongLongToLongLong
#define RtlDWord64ToInt8       RtlULongLongToInt8
#define RtlDWord64ToIntPtr     RtlULongLongToLongPtr
#define RtlDWord64ToLong       RtlULongLongToLong
#define RtlDWord64ToLong64     RtlULongLongToLongLong
#define RtlDWord64ToLongLong   RtlULongLongToLongLong
#define RtlDWord64ToLongPtr    RtlULongLongToLongPtr
#define RtlDWord64ToSIZET      RtlULongLongToULongPtr
#define RtlDWord64ToSSIZET     RtlULongLongToLongPtr
#define RtlDWord64ToShort      RtlULongLongToShort
#define RtlDWord64ToSizeT      RtlULongLongToULongPtr
#define RtlDWord64ToUChar      RtlULongLongToUChar
#define RtlDWord64ToUInt       RtlULongLongToULong
#define RtlDWord64ToUInt32     RtlULongLongToULong
#define RtlDWord64ToUInt8      RtlULongLongToUChar
#define RtlDWord64ToUIntPtr    RtlULongLongToULongPtr
#define RtlDWord64ToULong      RtlULongLongToULong
#define RtlDWord64ToULongPtr   RtlULongLongToULongPtr
#define RtlDWord64ToUShort     RtlULongLongToUShort
#define RtlDWord64ToWord       RtlULongLongToUShort
#define RtlDWordAdd            RtlULongAdd
#define RtlDWordLongAdd        RtlULongLongAdd
#define RtlDWordLongMult       RtlULongLongMult
#define RtlDWordLongSub        RtlULongLongSub
#define RtlDWordLongToByte     RtlULongLongToUChar
#define RtlDWordLongToChar     RtlULongLongToChar
#define RtlDWordLongToDWord    RtlULongLongToULong
#define RtlDWordLongToDWordPtr RtlULongLongToULongPtr
#define RtlDWordLongToInt      RtlULongLongToLong
#define RtlDWordLongToInt32    RtlULongLongToLong
#define RtlDWordLongToInt64    RtlULongLongToLongLong
#define RtlDWordLongToInt8     RtlULongLongToInt8
#define RtlDWordLongToIntPtr   RtlULongLongToLongPtr
#define RtlDWordLongToLong     RtlULongLongToLong
#define RtlDWordLongToLong64   RtlULongLongToLongLong
#define RtlDWordLongToLongLong RtlULongLongToLongLong
#define RtlDWordLongToLongPtr  RtlULongLongToLongPtr
#define RtlDWordLongToSIZET    RtlULongLongToULongPtr
#define RtlDWordLongToSSIZET   RtlULongLongToLongPtr
#define RtlDWordLongToShort    RtlULongLongToShort
#define RtlDWordLongToSizeT    RtlULongLongToULongPtr
#define RtlDWordLongToUChar    RtlULongLongToUChar
#define RtlDWordLongToUInt     RtlULongLongToULong
#define RtlDWordLongToUInt32   RtlULongLongToULong
#define RtlDWordLongToUInt8    RtlULongLongToUChar
#define RtlDWordLongToUIntPtr  RtlULongLongToULongPtr
#define RtlDWordLongToULong    RtlULongLongToULong
#define RtlDWordLongToULongPtr RtlULongLongToULongPtr
#define RtlDWordLongToUShort   RtlULongLongToUShort
#define RtlDWordLongToWord     RtlULongLongToUShort
#define RtlDWordMult           RtlULongMult
#define RtlDWordPtrAdd         RtlULongPtrAdd
#define RtlDWordPtrMult        RtlULongPtrMult
#define RtlDWordPtrSub         RtlULongPtrSub
#define RtlDWordPtrToByte      RtlULongPtrToUChar
#define RtlDWordPtrToChar      RtlULongPtrToChar
#define RtlDWordPtrToDWord     RtlULongPtrToULong
#define RtlDWordPtrToInt       RtlULongPtrToLong
#define RtlDWordPtrToInt32     RtlULongPtrToLong
#define RtlDWordPtrToInt64     RtlULongPtrToLongLong
#define RtlDWordPtrToInt8      RtlULongPtrToInt8
#define RtlDWordPtrToIntPtr    RtlULongPtrToLongPtr
#define RtlDWordPtrToLong      RtlULongPtrToLong
#define RtlDWordPtrToLong64    RtlULongPtrToLongLong
#define RtlDWordPtrToLongLong  RtlULongPtrToLongLong
#define RtlDWordPtrToLongPtr   RtlULongPtrToLongPtr
#define RtlDWordPtrToSSIZET    RtlULongPtrToLongPtr
#define RtlDWordPtrToShort     RtlULongPtrToShort
#define RtlDWordPtrToUChar     RtlULongPtrToUChar
#define RtlDWordPtrToUInt      RtlULongPtrToULong
#define RtlDWordPtrToUInt32    RtlULongPtrToULong
#define RtlDWordPtrToUInt8     RtlULongPtrToUChar
#define RtlDWordPtrToULong     RtlULongPtrToULong
#define RtlDWordPtrToUShort    RtlULongPtrToUShort
#define RtlDWordPtrToWord      RtlULongPtrToUShort
#define RtlDWordSub            RtlULongSub
#define RtlDWordToByte         RtlULongToUChar
#define RtlDWordToChar         RtlULongToChar
#define RtlDWordToInt          RtlULongToLong
#define RtlDWordToInt32        RtlULongToLong
#define RtlDWordToInt8         RtlULongToInt8
#define RtlDWordToIntPtr       RtlULongToLongPtr
#define RtlDWordToLong         RtlULongToLong
#define RtlDWordToLongPtr      RtlULongToLongPtr
#define RtlDWordToSSIZET       RtlULongToLongPtr
#define RtlDWordToShort        RtlULongToShort
#define RtlDWordToUChar        RtlULongToUChar
#define RtlDWordToUInt8        RtlULongToUChar
#define RtlDWordToUShort       RtlULongToUShort
#define RtlDWordToWord         RtlULongToUShort
#define RtlInt32Add            RtlLongAdd
#define RtlInt32Mult           RtlLongMult
#define RtlInt32Sub            RtlLongSub
#define RtlInt32ToByte         RtlLongToUChar
#define RtlInt32ToChar         RtlLongToChar
#define RtlInt32ToDWord        RtlLongToULong
#define RtlInt32ToDWord64      RtlLongToULongLong
#define RtlInt32ToDWordLong    RtlLongToULongLong
#define RtlInt32ToDWordPtr     RtlLongToULongPtr
#define RtlInt32ToInt8         RtlLongToInt8
#define RtlInt32ToSIZET        RtlLongToULongPtr
#define RtlInt32ToShort        RtlLongToShort
#define RtlInt32ToSizeT        RtlLongToULongPtr
#define RtlInt32ToUChar        RtlLongToUChar
#define RtlInt32ToUInt         RtlLongToULong
#define RtlInt32ToUInt32       RtlLongToULong
#define RtlInt32ToUInt64       RtlLongToULongLong
#define RtlInt32ToUInt8        RtlLongToUChar
#define RtlInt32ToUIntPtr      RtlLongToULongPtr
#define RtlInt32ToULong        RtlLongToULong
#define RtlInt32ToULong64      RtlLongToULongLong
#define RtlInt32ToULongLong    RtlLongToULongLong
#define RtlInt32ToULongPtr     RtlLongToULongPtr
#define RtlInt32ToUShort       RtlLongToUShort
#define RtlInt32ToWord         RtlLongToUShort
#define RtlInt64Add            RtlLongLongAdd
#define RtlInt64Mult           RtlLongLongMult
#define RtlInt64Sub            RtlLongLongSub
#define RtlInt64ToByte         RtlLongLongToUChar
#define RtlInt64ToChar         RtlLongLongToChar
#define RtlInt64ToDWord        RtlLongLongToULong
#define RtlInt64ToDWord64      RtlLongLongToULongLong
#define RtlInt64ToDWordLong    RtlLongLongToULongLong
#define RtlInt64ToDWordPtr     RtlLongLongToULongPtr
#define RtlInt64ToInt          RtlLongLongToLong
#define RtlInt64ToInt32        RtlLongLongToLong
#define RtlInt64ToInt8         RtlLongLongToInt8
#define RtlInt64ToIntPtr       RtlLongLongToLongPtr
#define RtlInt64ToLong         RtlLongLongToLong
#define RtlInt64ToLongPtr      RtlLongLongToLongPtr
#define RtlInt64ToSIZET        RtlLongLongToULongPtr
#define RtlInt64ToSSIZET       RtlLongLongToLongPtr
#define RtlInt64ToShort        RtlLongLongToShort
#define RtlInt64ToSizeT        RtlLongLongToULongPtr
#define RtlInt64ToUChar        RtlLongLongToUChar
#define RtlInt64ToUInt         RtlLongLongToULong
#define RtlInt64ToUInt32       RtlLongLongToULong
#define RtlInt64ToUInt64       RtlLongLongToULongLong
#define RtlInt64ToUInt8        RtlLongLongToUChar
#define RtlInt64ToUIntPtr      RtlLongLongToULongPtr
#define RtlInt64ToULong        RtlLongLongToULong
#define RtlInt64ToULong64      RtlLongLongToULongLong
#define RtlInt64ToULongLong    RtlLongLongToULongLong
#define RtlInt64ToULongPtr     RtlLongLongToULongPtr
#define RtlInt64ToUShort       RtlLongLongToUShort
#define RtlInt64ToWord         RtlLongLongToUShort
#define RtlInt8ToByte          RtlInt8ToUChar
#define RtlInt8ToDWord         RtlInt8ToULong
#define RtlInt8ToDWord64       RtlInt8ToULongLong
#define RtlInt8ToDWordLong     RtlInt8ToULongLong
#define RtlInt8ToDWordPtr      RtlInt8ToULongPtr
#define RtlInt8ToSIZET         RtlInt8ToULongPtr
#define RtlInt8ToSizeT         RtlInt8ToULongPtr
#define RtlInt8ToUInt          RtlInt8ToULong
#define RtlInt8ToUInt32        RtlInt8ToULong
#define RtlInt8ToUInt64        RtlInt8ToULongLong
#define RtlInt8ToUInt8         RtlInt8ToUChar
#define RtlInt8ToUIntPtr       RtlInt8ToULongPtr
#define RtlInt8ToULong64       RtlInt8ToULongLong
#define RtlInt8ToWord          RtlInt8ToUShort
#define RtlIntAdd              RtlLongAdd
#define RtlIntMult             RtlLongMult
#define RtlIntPtrAdd           RtlLongPtrAdd
#define RtlIntPtrMult          RtlLongPtrMult
#define RtlIntPtrSub           RtlLongPtrSub
#define RtlIntPtrToByte        RtlLongPtrToUChar
#define RtlIntPtrToChar        RtlLongPtrToChar
#define RtlIntPtrToDWord       RtlLongPtrToULong
#define RtlIntPtrToDWord64     RtlLongPtrToULongLong
#define RtlIntPtrToDWordLong   RtlLongPtrToULongLong
#define RtlIntPtrToDWordPtr    RtlLongPtrToULongPtr
#define RtlIntPtrToInt         RtlLongPtrToLong
#define RtlIntPtrToInt32       RtlLongPtrToLong
#define RtlIntPtrToInt8        RtlLongPtrToInt8
#define RtlIntPtrToLong        RtlLongPtrToLong
#define RtlIntPtrToSIZET       RtlLongPtrToULongPtr
#define RtlIntPtrToShort       RtlLongPtrToShort
#define RtlIntPtrToSizeT       RtlLongPtrToULongPtr
#define RtlIntPtrToUChar       RtlLongPtrToUChar
#define RtlIntPtrToUInt        RtlLongPtrToULong
#define RtlIntPtrToUInt32      RtlLongPtrToULong
#define RtlIntPtrToUInt64      RtlLongPtrToULongLong
#define RtlIntPtrToUInt8       RtlLongPtrToUChar
#define RtlIntPtrToUIntPtr     RtlLongPtrToULongPtr
#define RtlIntPtrToULong       RtlLongPtrToULong
#define RtlIntPtrToULong64     RtlLongPtrToULongLong
#define RtlIntPtrToULongLong   RtlLongPtrToULongLong
#define RtlIntPtrToULongPtr    RtlLongPtrToULongPtr
#define RtlIntPtrToUShort      RtlLongPtrToUShort
#define RtlIntPtrToWord        RtlLongPtrToUShort
#define RtlIntSub              RtlLongSub
#define RtlIntToByte           RtlLongToUChar
#define RtlIntToChar           RtlLongToChar
#define RtlIntToDWord          RtlLongToULong
#define RtlIntToDWord64        RtlLongToULongLong
#define RtlIntToDWordLong      RtlLongToULongLong
#define RtlIntToDWordPtr       RtlLongToULongPtr
#define RtlIntToInt8           RtlLongToInt8
#define RtlIntToSIZET          RtlLongToULongPtr
#define RtlIntToShort          RtlLongToShort
#define RtlIntToSizeT          RtlLongToULongPtr
#define RtlIntToUChar          RtlLongToUChar
#define RtlIntToUInt           RtlLongToULong
#define RtlIntToUInt32         RtlLongToULong
#define RtlIntToUInt64         RtlLongToULongLong
#define RtlIntToUInt8          RtlLongToUChar
#define RtlIntToUIntPtr        RtlLongToULongPtr
#define RtlIntToULong          RtlLongToULong
#define RtlIntToULong64        RtlLongToULongLong
#define RtlIntToULongLong      RtlLongToULongLong
#define RtlIntToULongPtr       RtlLongToULongPtr
#define RtlIntToUShort         RtlLongToUShort
#define RtlIntToWord           RtlLongToUShort
#define RtlLong64Add           RtlLongLongAdd
#define RtlLong64Mult          RtlLongLongMult
#define RtlLong64Sub           RtlLongLongSub
#define RtlLong64ToByte        RtlLongLongToUChar
#define RtlLong64ToChar        RtlLongLongToChar
#define RtlLong64ToDWord       RtlLongLongToULong
#define RtlLong64ToDWord64     RtlLongLongToULongLong
#define RtlLong64ToDWordLong   RtlLongLongToULongLong
#define RtlLong64ToDWordPtr    RtlLongLongToULongPtr
#define RtlLong64ToInt         RtlLongLongToLong
#define RtlLong64ToInt32       RtlLongLongToLong
#define RtlLong64ToInt8        RtlLongLongToInt8
#define RtlLong64ToIntPtr      RtlLongLongToLongPtr
#define RtlLong64ToLong        RtlLongLongToLong
#define RtlLong64ToLongPtr     RtlLongLongToLongPtr
#define RtlLong64ToSIZET       RtlLongLongToULongPtr
#define RtlLong64ToSSIZET      RtlLongLongToLongPtr
#define RtlLong64ToShort       RtlLongLongToShort
#define RtlLong64ToSizeT       RtlLongLongToULongPtr
#define RtlLong64ToUChar       RtlLongLongToUChar
#define RtlLong64ToUInt        RtlLongLongToULong
#define RtlLong64ToUInt32      RtlLongLongToULong
#define RtlLong64ToUInt64      RtlLongLongToULongLong
#define RtlLong64ToUInt8       RtlLongLongToUChar
#define RtlLong64ToUIntPtr     RtlLongLongToULongPtr
#define RtlLong64ToULong       RtlLongLongToULong
#define RtlLong64ToULong64     RtlLongLongToULongLong
#define RtlLong64ToULongLong   RtlLongLongToULongLong
#define RtlLong64ToULongPtr    RtlLongLongToULongPtr
#define RtlLong64ToUShort      RtlLongLongToUShort
#define RtlLong64ToWord        RtlLongLongToUShort
#define RtlLongLongToByte      RtlLongLongToUChar
#define RtlLongLongToDWord     RtlLongLongToULong
#define RtlLongLongToDWord64   RtlLongLongToULongLong
#define RtlLongLongToDWordLong RtlLongLongToULongLong
#define RtlLongLongToDWordPtr  RtlLongLongToULongPtr
#define RtlLongLongToInt       RtlLongLongToLong
#define RtlLongLongToInt32     RtlLongLongToLong
#define RtlLongLongToIntPtr    RtlLongLongToLongPtr
#define RtlLongLongToSIZET     RtlLongLongToULongPtr
#define RtlLongLongToSSIZET    RtlLongLongToLongPtr
#define RtlLongLongToSizeT     RtlLongLongToULongPtr
#define RtlLongLongToUInt      RtlLongLongToULong
#define RtlLongLongToUInt32    RtlLongLongToULong
#define RtlLongLongToUInt64    RtlLongLongToULongLong
#define RtlLongLongToUInt8     RtlLongLongToUChar
#define RtlLongLongToUIntPtr   RtlLongLongToULongPtr
#define RtlLongLongToULong64   RtlLongLongToULongLong
#define RtlLongLongToWord      RtlLongLongToUShort
#define RtlLongPtrToByte       RtlLongPtrToUChar
#define RtlLongPtrToDWord      RtlLongPtrToULong
#define RtlLongPtrToDWord64    RtlLongPtrToULongLong
#define RtlLongPtrToDWordLong  RtlLongPtrToULongLong
#define RtlLongPtrToDWordPtr   RtlLongPtrToULongPtr
#define RtlLongPtrToInt        RtlLongPtrToLong
#define RtlLongPtrToInt32      RtlLongPtrToLong
#define RtlLongPtrToSIZET      RtlLongPtrToULongPtr
#define RtlLongPtrToSizeT      RtlLongPtrToULongPtr
#define RtlLongPtrToUInt       RtlLongPtrToULong
#define RtlLongPtrToUInt32     RtlLongPtrToULong
#define RtlLongPtrToUInt64     RtlLongPtrToULongLong
#define RtlLongPtrToUInt8      RtlLongPtrToUChar
#define RtlLongPtrToUIntPtr    RtlLongPtrToULongPtr
#define RtlLongPtrToULong64    RtlLongPtrToULongLong
#define RtlLongPtrToWord       RtlLongPtrToUShort
#define RtlLongToByte          RtlLongToUChar
#define RtlLongToDWord         RtlLongToULong
#define RtlLongToDWord64       RtlLongToULongLong
#define RtlLongToDWordLong     RtlLongToULongLong
#define RtlLongToDWordPtr      RtlLongToULongPtr
#define RtlLongToSIZET         RtlLongToULongPtr
#define RtlLongToSizeT         RtlLongToULongPtr
#define RtlLongToUInt          RtlLongToULong
#define RtlLongToUInt32        RtlLongToULong
#define RtlLongToUInt64        RtlLongToULongLong
#define RtlLongToUInt8         RtlLongToUChar
#define RtlLongToUIntPtr       RtlLongToULongPtr
#define RtlLongToULong64       RtlLongToULongLong
#define RtlLongToWord          RtlLongToUShort
#define RtlSIZETAdd            RtlULongPtrAdd
#define RtlSIZETMult           RtlULongPtrMult
#define RtlSIZETSub            RtlULongPtrSub
#define RtlSIZETToByte         RtlULongPtrToUChar
#define RtlSIZETToChar         RtlULongPtrToChar
#define RtlSIZETToDWord        RtlULongPtrToULong
#define RtlSIZETToInt          RtlULongPtrToLong
#define RtlSIZETToInt32        RtlULongPtrToLong
#define RtlSIZETToInt64        RtlULongPtrToLongLong
#define RtlSIZETToInt8         RtlULongPtrToInt8
#define RtlSIZETToIntPtr       RtlULongPtrToLongPtr
#define RtlSIZETToLong         RtlULongPtrToLong
#define RtlSIZETToLong64       RtlULongPtrToLongLong
#define RtlSIZETToLongLong     RtlULongPtrToLongLong
#define RtlSIZETToLongPtr      RtlULongPtrToLongPtr
#define RtlSIZETToSSIZET       RtlULongPtrToLongPtr
#define RtlSIZETToShort        RtlULongPtrToShort
#define RtlSIZETToUChar        RtlULongPtrToUChar
#define RtlSIZETToUInt         RtlULongPtrToULong
#define RtlSIZETToUInt32       RtlULongPtrToULong
#define RtlSIZETToUInt8        RtlULongPtrToUChar
#define RtlSIZETToULong        RtlULongPtrToULong
#define RtlSIZETToUShort       RtlULongPtrToUShort
#define RtlSIZETToWord         RtlULongPtrToUShort
#define RtlSSIZETAdd           RtlLongPtrAdd
#define RtlSSIZETMult          RtlLongPtrMult
#define RtlSSIZETSub           RtlLongPtrSub
#define RtlSSIZETToByte        RtlLongPtrToUChar
#define RtlSSIZETToChar        RtlLongPtrToChar
#define RtlSSIZETToDWord       RtlLongPtrToULong
#define RtlSSIZETToDWord64     RtlLongPtrToULongLong
#define RtlSSIZETToDWordLong   RtlLongPtrToULongLong
#define RtlSSIZETToDWordPtr    RtlLongPtrToULongPtr
#define RtlSSIZETToInt         RtlLongPtrToLong
#define RtlSSIZETToInt32       RtlLongPtrToLong
#define RtlSSIZETToInt8        RtlLongPtrToInt8
#define RtlSSIZETToLong        RtlLongPtrToLong
#define RtlSSIZETToSIZET       RtlLongPtrToULongPtr
#define RtlSSIZETToShort       RtlLongPtrToShort
#define RtlSSIZETToSizeT       RtlLongPtrToULongPtr
#define RtlSSIZETToUChar       RtlLongPtrToUChar
#define RtlSSIZETToUInt        RtlLongPtrToULong
#define RtlSSIZETToUInt32      RtlLongPtrToULong
#define RtlSSIZETToUInt64      RtlLongPtrToULongLong
#define RtlSSIZETToUInt8       RtlLongPtrToUChar
#define RtlSSIZETToUIntPtr     RtlLongPtrToULongPtr
#define RtlSSIZETToULong       RtlLongPtrToULong
#define RtlSSIZETToULong64     RtlLongPtrToULongLong
#define RtlSSIZETToULongLong   RtlLongPtrToULongLong
#define RtlSSIZETToULongPtr    RtlLongPtrToULongPtr
#define RtlSSIZETToUShort      RtlLongPtrToUShort
#define RtlSSIZETToWord        RtlLongPtrToUShort
#define RtlShortToByte         RtlShortToUChar
#define RtlShortToDWord        RtlShortToULong
#define RtlShortToDWord64      RtlShortToULongLong
#define RtlShortToDWordLong    RtlShortToULongLong
#define RtlShortToDWordPtr     RtlShortToULongPtr
#define RtlShortToSIZET        RtlShortToULongPtr
#define RtlShortToSizeT        RtlShortToULongPtr
#define RtlShortToUInt         RtlShortToULong
#define RtlShortToUInt32       RtlShortToULong
#define RtlShortToUInt64       RtlShortToULongLong
#define RtlShortToUInt8        RtlShortToUChar
#define RtlShortToUIntPtr      RtlShortToULongPtr
#define RtlShortToULong64      RtlShortToULongLong
#define RtlShortToWord         RtlShortToUShort
#define RtlSizeTAdd            RtlULongPtrAdd
#define RtlSizeTMult           RtlULongPtrMult
#define RtlSizeTSub            RtlULongPtrSub
#define RtlSizeTToByte         RtlULongPtrToUChar
#define RtlSizeTToChar         RtlULongPtrToChar
#define RtlSizeTToDWord        RtlULongPtrToULong
#define RtlSizeTToInt          RtlULongPtrToLong
#define RtlSizeTToInt32        RtlULongPtrToLong
#define RtlSizeTToInt64        RtlULongPtrToLongLong
#define RtlSizeTToInt8         RtlULongPtrToInt8
#define RtlSizeTToIntPtr       RtlULongPtrToLongPtr
#define RtlSizeTToLong         RtlULongPtrToLong
#define RtlSizeTToLong64       RtlULongPtrToLongLong
#define RtlSizeTToLongLong     RtlULongPtrToLongLong
#define RtlSizeTToLongPtr      RtlULongPtrToLongPtr
#define RtlSizeTToSSIZET       RtlULongPtrToLongPtr
#define RtlSizeTToShort        RtlULongPtrToShort
#define RtlSizeTToUChar        RtlULongPtrToUChar
#define RtlSizeTToUInt         RtlULongPtrToULong
#define RtlSizeTToUInt32       RtlULongPtrToULong
#define RtlSizeTToUInt8        RtlULongPtrToUChar
#define RtlSizeTToULong        RtlULongPtrToULong
#define RtlSizeTToUShort       RtlULongPtrToUShort
#define RtlSizeTToWord         RtlULongPtrToUShort
#define RtlUInt32Add           RtlULongAdd
#define RtlUInt32Mult          RtlULongMult
#define RtlUInt32Sub           RtlULongSub
#define RtlUInt32ToByte        RtlULongToUChar
#define RtlUInt32ToChar        RtlULongToChar
#define RtlUInt32ToInt         RtlULongToLong
#define RtlUInt32ToInt32       RtlULongToLong
#define RtlUInt32ToInt8        RtlULongToInt8
#define RtlUInt32ToIntPtr      RtlULongToLongPtr
#define RtlUInt32ToLong        RtlULongToLong
#define RtlUInt32ToLongPtr     RtlULongToLongPtr
#define RtlUInt32ToSSIZET      RtlULongToLongPtr
#define RtlUInt32ToShort       RtlULongToShort
#define RtlUInt32ToUChar       RtlULongToUChar
#define RtlUInt32ToUInt8       RtlULongToUChar
#define RtlUInt32ToUShort      RtlULongToUShort
#define RtlUInt32ToWord        RtlULongToUShort
#define RtlUInt64Add           RtlULongLongAdd
#define RtlUInt64Mult          RtlULongLongMult
#define RtlUInt64Sub           RtlULongLongSub
#define RtlUInt64ToByte        RtlULongLongToUChar
#define RtlUInt64ToChar        RtlULongLongToChar
#define RtlUInt64ToDWord       RtlULongLongToULong
#define RtlUInt64ToDWordPtr    RtlULongLongToULongPtr
#define RtlUInt64ToInt         RtlULongLongToLong
#define RtlUInt64ToInt32       RtlULongLongToLong
#define RtlUInt64ToInt64       RtlULongLongToLongLong
#define RtlUInt64ToInt8        RtlULongLongToInt8
#define RtlUInt64ToIntPtr      RtlULongLongToLongPtr
#define RtlUInt64ToLong        RtlULongLongToLong
#define RtlUInt64ToLong64      RtlULongLongToLongLong
#define RtlUInt64ToLongLong    RtlULongLongToLongLong
#define RtlUInt64ToLongPtr     RtlULongLongToLongPtr
#define RtlUInt64ToSIZET       RtlULongLongToULongPtr
#define RtlUInt64ToSSIZET      RtlULongLongToLongPtr
#define RtlUInt64ToShort       RtlULongLongToShort
#define RtlUInt64ToSizeT       RtlULongLongToULongPtr
#define RtlUInt64ToUChar       RtlULongLongToUChar
#define RtlUInt64ToUInt        RtlULongLongToULong
#define RtlUInt64ToUInt32      RtlULongLongToULong
#define RtlUInt64ToUInt8       RtlULongLongToUChar
#define RtlUInt64ToUIntPtr     RtlULongLongToULongPtr
#define RtlUInt64ToULong       RtlULongLongToULong
#define RtlUInt64ToULongPtr    RtlULongLongToULongPtr
#define RtlUInt64ToUShort      RtlULongLongToUShort
#define RtlUInt64ToWord        RtlULongLongToUShort
#define RtlUInt8Add            RtlUCharAdd
#define RtlUInt8Mult           RtlUCharMult
#define RtlUInt8Sub            RtlUCharSub
#define RtlUInt8ToChar         RtlUCharToChar
#define RtlUInt8ToInt8         RtlUCharToInt8
#define RtlUIntAdd             RtlULongAdd
#define RtlUIntMult            RtlULongMult
#define RtlUIntPtrAdd          RtlULongPtrAdd
#define RtlUIntPtrMult         RtlULongPtrMult
#define RtlUIntPtrSub          RtlULongPtrSub
#define RtlUIntPtrToByte       RtlULongPtrToUChar
#define RtlUIntPtrToChar       RtlULongPtrToChar
#define RtlUIntPtrToDWord      RtlULongPtrToULong
#define RtlUIntPtrToInt        RtlULongPtrToLong
#define RtlUIntPtrToInt32      RtlULongPtrToLong
#define RtlUIntPtrToInt64      RtlULongPtrToLongLong
#define RtlUIntPtrToInt8       RtlULongPtrToInt8
#define RtlUIntPtrToIntPtr     RtlULongPtrToLongPtr
#define RtlUIntPtrToLong       RtlULongPtrToLong
#define RtlUIntPtrToLong64     RtlULongPtrToLongLong
#define RtlUIntPtrToLongLong   RtlULongPtrToLongLong
#define RtlUIntPtrToLongPtr    RtlULongPtrToLongPtr
#define RtlUIntPtrToSSIZET     RtlULongPtrToLongPtr
#define RtlUIntPtrToShort      RtlULongPtrToShort
#define RtlUIntPtrToUChar      RtlULongPtrToUChar
#define RtlUIntPtrToUInt       RtlULongPtrToULong
#define RtlUIntPtrToUInt32     RtlULongPtrToULong
#define RtlUIntPtrToUInt8      RtlULongPtrToUChar
#define RtlUIntPtrToULong      RtlULongPtrToULong
#define RtlUIntPtrToUShort     RtlULongPtrToUShort
#define RtlUIntPtrToWord       RtlULongPtrToUShort
#define RtlUIntSub             RtlULongSub
#define RtlUIntToByte          RtlULongToUChar
#define RtlUIntToChar          RtlULongToChar
#define RtlUIntToInt           RtlULongToLong
#define RtlUIntToInt32         RtlULongToLong
#define RtlUIntToInt8          RtlULongToInt8
#define RtlUIntToIntPtr        RtlULongToLongPtr
#define RtlUIntToLong          RtlULongToLong
#define RtlUIntToLongPtr       RtlULongToLongPtr
#define RtlUIntToSSIZET        RtlULongToLongPtr
#define RtlUIntToShort         RtlULongToShort
#define RtlUIntToUChar         RtlULongToUChar
#define RtlUIntToUInt8         RtlULongToUChar
#define RtlUIntToUShort        RtlULongToUShort
#define RtlUIntToWord          RtlULongToUShort
#define RtlULong64Add          RtlULongLongAdd
#define RtlULong64Mult         RtlULongLongMult
#define RtlULong64Sub          RtlULongLongSub
#define RtlULong64ToByte       RtlULongLongToUChar
#define RtlULong64ToChar       RtlULongLongToChar
#define RtlULong64ToDWord      RtlULongLongToULong
#define RtlULong64ToDWordPtr   RtlULongLongToULongPtr
#define RtlULong64ToInt        RtlULongLongToLong
#define RtlULong64ToInt32      RtlULongLongToLong
#define RtlULong64ToInt64      RtlULongLongToLongLong
#define RtlULong64ToInt8       RtlULongLongToInt8
#define RtlULong64ToIntPtr     RtlULongLongToLongPtr
#define RtlULong64ToLong       RtlULongLongToLong
#define RtlULong64ToLong64     RtlULongLongToLongLong
#define RtlULong64ToLongLong   RtlULongLongToLongLong
#define RtlULong64ToLongPtr    RtlULongLongToLongPtr
#define RtlULong64ToSIZET      RtlULongLongToULongPtr
#define RtlULong64ToSSIZET     RtlULongLongToLongPtr
#define RtlULong64ToShort      RtlULongLongToShort
#define RtlULong64ToSizeT      RtlULongLongToULongPtr
#define RtlULong64ToUChar      RtlULongLongToUChar
#define RtlULong64ToUInt       RtlULongLongToULong
#define RtlULong64ToUInt32     RtlULongLongToULong
#define RtlULong64ToUInt8      RtlULongLongToUChar
#define RtlULong64ToUIntPtr    RtlULongLongToULongPtr
#define RtlULong64ToULong      RtlULongLongToULong
#define RtlULong64ToULongPtr   RtlULongLongToULongPtr
#define RtlULong64ToUShort     RtlULongLongToUShort
#define RtlULong64ToWord       RtlULongLongToUShort
#define RtlULongLongToByte     RtlULongLongToUChar
#define RtlULongLongToDWord    RtlULongLongToULong
#define RtlULongLongToDWordPtr RtlULongLongToULongPtr
#define RtlULongLongToInt      RtlULongLongToLong
#define RtlULongLongToInt32    RtlULongLongToLong
#define RtlULongLongToInt64    RtlULongLongToLongLong
#define RtlULongLongToIntPtr   RtlULongLongToLongPtr
#define RtlULongLongToLong64   RtlULongLongToLongLong
#define RtlULongLongToSIZET    RtlULongLongToULongPtr
#define RtlULongLongToSSIZET   RtlULongLongToLongPtr
#define RtlULongLongToSizeT    RtlULongLongToULongPtr
#define RtlULongLongToUInt     RtlULongLongToULong
#define RtlULongLongToUInt32   RtlULongLongToULong
#define RtlULongLongToUInt8    RtlULongLongToUChar
#define RtlULongLongToUIntPtr  RtlULongLongToULongPtr
#define RtlULongLongToWord     RtlULongLongToUShort
#define RtlULongPtrToByte      RtlULongPtrToUChar
#define RtlULongPtrToDWord     RtlULongPtrToULong
#define RtlULongPtrToInt       RtlULongPtrToLong
#define RtlULongPtrToInt32     RtlULongPtrToLong
#define RtlULongPtrToInt64     RtlULongPtrToLongLong
#define RtlULongPtrToIntPtr    RtlULongPtrToLongPtr
#define RtlULongPtrToLong64    RtlULongPtrToLongLong
#define RtlULongPtrToSSIZET    RtlULongPtrToLongPtr
#define RtlULongPtrToUInt      RtlULongPtrToULong
#define RtlULongPtrToUInt32    RtlULongPtrToULong
#define RtlULongPtrToUInt8     RtlULongPtrToUChar
#define RtlULongPtrToWord      RtlULongPtrToUShort
#define RtlULongToByte         RtlULongToUChar
#define RtlULongToInt          RtlULongToLong
#define RtlULongToInt32        RtlULongToLong
#define RtlULongToIntPtr       RtlULongToLongPtr
#define RtlULongToSSIZET       RtlULongToLongPtr
#define RtlULongToUInt8        RtlULongToUChar
#define RtlULongToWord         RtlULongToUShort
#define RtlUShortToByte        RtlUShortToUChar
#define RtlUShortToUInt8       RtlUShortToUChar
#define RtlWordAdd             RtlUShortAdd
#define RtlWordMult            RtlUShortMult
#define RtlWordSub             RtlUShortSub
#define RtlWordToByte          RtlUShortToUChar
#define RtlWordToChar          RtlUShortToChar
#define RtlWordToInt8          RtlUShortToInt8
#define RtlWordToShort         RtlUShortToShort
#define RtlWordToUChar         RtlUShortToUChar
#define RtlWordToUInt8         RtlUShortToUChar
/* Names Microsoft documents for the routines above that the type groups do not produce:
 * PTRDIFF_T is a LONG_PTR and INT16 / UINT16 a SHORT / USHORT on x64. */
#define RtlIntPtrToLongPtr RtlLongPtrToIntPtr
#define RtlLongToInt32     RtlLongToInt
#define RtlPtrdiffTAdd     RtlLongPtrAdd
#define RtlPtrdiffTMult    RtlLongPtrMult
#define RtlPtrdiffTSub     RtlLongPtrSub
#define RtlUIntPtrToInt16  RtlULongPtrToShort
#define RtlUIntPtrToUInt16 RtlULongPtrToUShort
/** @} */

KDPC_END_DECLS

#endif /* KDPC_WDM_INTSAFE_H */
