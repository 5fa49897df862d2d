/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/types.h - WDM base types with LLP64 widths, NTSTATUS (codes in ntstatus.h),
 * LIST_ENTRY helpers, CONTAINING_RECORD, Interlocked*, Rtl*Memory, ASSERT.
 *
 * Driver code includes <kdpc/wdm.h> (or <wdm.h> through the compat folder),
 * never this file directly. Widths follow x64 Windows (LLP64): ULONG is 32
 * bits, ULONG_PTR is pointer sized, LONGLONG is 64 bits. Everything here is
 * usable at any IRQL and outside a simulated machine.
 */
#ifndef KDPC_WDM_TYPES_H
#define KDPC_WDM_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <kdpc/export.h>
#include <kdpc/wdm/ntstatus.h>

/*
 * WCHAR is 16 bits, and driver code writes L"..." literals for WCHAR strings: the compiler's
 * wchar_t must be 16 bits as well. gcc and clang need -fshort-wchar (kdpc::kdpc and kdpc::wdm
 * add it; docs/driver-code.md).
 */
#if defined(__SIZEOF_WCHAR_T__)
#if __SIZEOF_WCHAR_T__ != 2
#error                                                                                             \
    "kdpc/wdm.h: wchar_t is not 16 bits (L\"...\" is no WCHAR string): compile with -fshort-wchar"
#endif
#elif defined(__WCHAR_MAX__)
#if __WCHAR_MAX__ > 0xffff
#error                                                                                             \
    "kdpc/wdm.h: wchar_t is not 16 bits (L\"...\" is no WCHAR string): compile with -fshort-wchar"
#endif
#endif

KDPC_BEGIN_DECLS

/** @defgroup wdm_types WDM base types
 * @{ */

#ifndef VOID
#define VOID void
#endif
typedef void *PVOID;
typedef const void *PCVOID;
typedef char CHAR, CCHAR, *PCHAR, *PSTR;
typedef const char *PCSTR, *PCSZ;
typedef unsigned char UCHAR, *PUCHAR, BOOLEAN, *PBOOLEAN;
typedef int16_t SHORT, CSHORT, *PSHORT;
typedef uint16_t USHORT, *PUSHORT;
/* A UTF-16 code unit. C: uint16_t, the very type of an L"..." element under -fshort-wchar.
 * C++: wchar_t (16 bits under -fshort-wchar), the only type an L"..." literal converts to. */
#ifdef __cplusplus
typedef wchar_t WCHAR, *PWCHAR, *PWSTR;
typedef const wchar_t *PCWSTR;
#else
typedef uint16_t WCHAR, *PWCHAR, *PWSTR;
typedef const uint16_t *PCWSTR;
#endif
typedef int32_t LONG, *PLONG;
typedef uint32_t ULONG, *PULONG, DWORD;
typedef int32_t INT;
typedef uint32_t UINT;
typedef int64_t LONGLONG, *PLONGLONG, LONG64, *PLONG64;
typedef uint64_t ULONGLONG, *PULONGLONG, ULONG64, *PULONG64;
typedef intptr_t LONG_PTR, *PLONG_PTR;
typedef uintptr_t ULONG_PTR, *PULONG_PTR, SIZE_T, *PSIZE_T;
typedef uint8_t UINT8;
typedef uint16_t UINT16;
typedef uint32_t UINT32;
typedef uint64_t UINT64;
typedef int8_t INT8;
typedef int16_t INT16;
typedef int32_t INT32;
typedef int64_t INT64;
typedef LONG NTSTATUS, *PNTSTATUS;
typedef PVOID HANDLE, *PHANDLE;
typedef ULONG_PTR KAFFINITY, *PKAFFINITY;
typedef UCHAR KIRQL, *PKIRQL;
typedef CCHAR KPROCESSOR_MODE;
typedef ULONG ACCESS_MASK;
typedef ULONG LOGICAL;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#ifndef NULL
#define NULL ((void *)0)
#endif

#define IN
#define OUT
#define OPTIONAL
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#define NTAPI
#define FASTCALL
/*
 * __declspec(...) of the Microsoft compiler, for the forms driver code writes: align(n),
 * noinline, noreturn, selectany (a weak definition), thread, deprecated; dllexport, dllimport,
 * novtable, restrict, noalias, code_seg(...) and allocate(...) mean nothing here. Another form
 * fails to compile naming KDPC_DECLSPEC_<form>.
 */
#if defined(__GNUC__) || defined(__clang__)
#define DECLSPEC_ALIGN(x) __attribute__((aligned(x)))
#ifndef __declspec
#define __declspec(x) KDPC_DECLSPEC_##x
#define KDPC_DECLSPEC_align(n)    __attribute__((aligned(n)))
#define KDPC_DECLSPEC_noinline    __attribute__((noinline))
#define KDPC_DECLSPEC_noreturn    __attribute__((noreturn))
#define KDPC_DECLSPEC_selectany   __attribute__((weak))
#define KDPC_DECLSPEC_deprecated  __attribute__((deprecated))
#define KDPC_DECLSPEC_dllexport   /* nothing */
#define KDPC_DECLSPEC_dllimport   /* nothing */
#define KDPC_DECLSPEC_novtable    /* nothing */
#define KDPC_DECLSPEC_restrict    /* nothing */
#define KDPC_DECLSPEC_noalias     /* nothing */
#define KDPC_DECLSPEC_code_seg(s) /* nothing: nothing is paged */
#define KDPC_DECLSPEC_allocate(s) /* nothing */
#ifdef __cplusplus
#define KDPC_DECLSPEC_thread thread_local
#else
#define KDPC_DECLSPEC_thread _Thread_local
#endif
#endif
#else
#define DECLSPEC_ALIGN(x)
#endif
#define DECLSPEC_CACHEALIGN DECLSPEC_ALIGN(64)
#define DECLSPEC_SELECTANY  __declspec(selectany)

/* ------------------------------------------------------------------ */
/* Build target and declaration macros of <ntdef.h>, <sdkddkver.h>    */

/*
 * The driver is built as a 64-bit driver for Windows 10 version 2004 (NTDDI_WIN10_VB, where
 * ExAllocatePool2 starts): _WIN64 is defined on 64-bit hosts (not _WIN32, which would send code
 * to user-mode headers), _WIN32_WINNT is 0x0A00. A driver may define NTDDI_VERSION or
 * _WIN32_WINNT itself before including <wdm.h>; kdpc declares the same routines either way.
 */
#if !defined(_WIN64) && defined(__SIZEOF_POINTER__)
#if __SIZEOF_POINTER__ == 8
#define _WIN64 1
#endif
#endif
#define _WIN32_WINNT_WIN7    0x0601
#define _WIN32_WINNT_WIN8    0x0602
#define _WIN32_WINNT_WINBLUE 0x0603
#define _WIN32_WINNT_WIN10   0x0A00
#define NTDDI_WIN7           0x06010000
#define NTDDI_WIN8           0x06020000
#define NTDDI_WINBLUE        0x06030000
#define NTDDI_WINTHRESHOLD   0x0A000000
#define NTDDI_WIN10          0x0A000000
#define NTDDI_WIN10_TH2      0x0A000001
#define NTDDI_WIN10_RS1      0x0A000002
#define NTDDI_WIN10_RS2      0x0A000003
#define NTDDI_WIN10_RS3      0x0A000004
#define NTDDI_WIN10_RS4      0x0A000005
#define NTDDI_WIN10_RS5      0x0A000006
#define NTDDI_WIN10_19H1     0x0A000007
#define NTDDI_WIN10_VB       0x0A000008
#define NTDDI_WIN10_MN       0x0A000009
#define NTDDI_WIN10_FE       0x0A00000A
#define NTDDI_WIN10_CO       0x0A00000B
#define NTDDI_WIN10_NI       0x0A00000C
#ifndef _WIN32_WINNT
#define _WIN32_WINNT _WIN32_WINNT_WIN10
#endif
#ifndef NTDDI_VERSION
#define NTDDI_VERSION NTDDI_WIN10_VB
#endif

/* Declaration decorations: import/export and calling conventions mean nothing here. */
#define NTKERNELAPI
#define NTHALAPI
#define NTSYSAPI
#define NTSYSCALLAPI
#define DECLSPEC_IMPORT
#ifdef __cplusplus
#define EXTERN_C       extern "C"
#define EXTERN_C_START extern "C" {
#define EXTERN_C_END   }
#else
#define EXTERN_C extern
#define EXTERN_C_START
#define EXTERN_C_END
#endif
#if defined(__GNUC__) || defined(__clang__)
#define DECLSPEC_NOINLINE __attribute__((noinline))
#define DECLSPEC_NORETURN __attribute__((noreturn))
/* __forceinline / FORCEINLINE: inlined even without optimisation. Plain __inline functions of
 * driver code get an external definition as with the Microsoft compiler because kdpc::wdm adds
 * -fgnu89-inline (docs/driver-code.md). Divergence: so does a non-static FORCEINLINE one, so
 * one defined in a header that two files include is defined twice at link time: write static
 * FORCEINLINE there. */
#define __forceinline __inline __attribute__((always_inline))
#else
#define DECLSPEC_NOINLINE
#define DECLSPEC_NORETURN
#define __forceinline __inline
#endif
#define FORCEINLINE __forceinline
#define NOTHING
/* __noop(...) - the Microsoft compiler's no-op: its arguments are compiled, never evaluated
 * (trace macros are often defined to it). They sit in a call in dead code, so a static function
 * named only there counts as used. */
static inline int kdpc__noop_args(int Unused, ...)
{
    return Unused;
}
#ifndef __noop
#define __noop(...) ((void)(0 && kdpc__noop_args(0, __VA_ARGS__)))
#endif
/* x64 reads unaligned data in hardware; the Microsoft compiler's __unaligned has no gcc twin. */
#define UNALIGNED
/* ExAllocatePool* returns blocks aligned to this (16 on x64). */
#define MEMORY_ALLOCATION_ALIGNMENT 16

/* More names for the base types */
typedef char *LPSTR, *PSZ;
typedef const char *LPCSTR;
typedef CCHAR *PCCHAR;
typedef PWSTR LPWSTR;
typedef PCWSTR LPCWSTR;
typedef WCHAR *PWCH, *LPWCH;
typedef const WCHAR *PCWCH, *LPCWCH;
typedef LONG_PTR SSIZE_T, *PSSIZE_T;
typedef intptr_t INT_PTR, *PINT_PTR;
typedef uintptr_t UINT_PTR, *PUINT_PTR;
typedef ULONG_PTR DWORD_PTR, *PDWORD_PTR;
typedef int32_t LONG32, *PLONG32;
typedef uint32_t ULONG32, *PULONG32, DWORD32, *PDWORD32;
typedef uint64_t DWORD64, *PDWORD64;
typedef int HALF_PTR, *PHALF_PTR; /* half a pointer's width on x64 */
typedef unsigned int UHALF_PTR, *PUHALF_PTR;
typedef const UCHAR *PCUCHAR;
typedef const USHORT *PCUSHORT;
typedef const ULONG *PCULONG;
typedef const WCHAR *PCWCHAR;
typedef void *PVOID64; /* every pointer is 64 bits on the x64 target */
#define CONST const
/* Calling conventions: the Microsoft compiler ignores them on x64 too. */
#ifndef __cdecl
#define __cdecl
#endif
#ifndef __stdcall
#define __stdcall
#endif
#ifndef __fastcall
#define __fastcall
#endif

/** A locally unique identifier (privileges, logon sessions). */
typedef struct _LUID {
    ULONG LowPart;
    LONG HighPart;
} LUID, *PLUID;

/* Limits */
#define MINCHAR      0x80
#define MAXCHAR      0x7f
#define MINSHORT     0x8000
#define MAXSHORT     0x7fff
#define MINLONG      0x80000000
#define MAXLONG      0x7fffffff
#define MAXUCHAR     0xff
#define MAXUSHORT    0xffff
#define MAXULONG     0xffffffff
#define MAXLONGLONG  (0x7fffffffffffffffLL)
#define MAXULONGLONG ((ULONGLONG) ~((ULONGLONG)0))
#define MAXULONG_PTR (~((ULONG_PTR)0))
#define MAXLONG_PTR  ((LONG_PTR)(MAXULONG_PTR >> 1))
#define MINLONG_PTR  (~MAXLONG_PTR)
#define MAXSIZE_T    ((SIZE_T) ~((SIZE_T)0))
#define MAXSSIZE_T   ((SSIZE_T)(MAXSIZE_T >> 1))
#define MINSSIZE_T   ((SSIZE_T)~MAXSSIZE_T)
#define MAXDWORD     0xffffffff

/** ARGUMENT_PRESENT - TRUE when an optional pointer argument was given (is not NULL). */
#define ARGUMENT_PRESENT(ArgumentPointer) ((CHAR *)((ULONG_PTR)(ArgumentPointer)) != (CHAR *)NULL)

/** Int32x32To64 - the full 64-bit product of two signed 32-bit values. */
#define Int32x32To64(a, b) ((LONGLONG)(LONG)(a) * (LONGLONG)(LONG)(b))
/** UInt32x32To64 - the full 64-bit product of two unsigned 32-bit values. */
#define UInt32x32To64(a, b) ((ULONGLONG)(ULONG)(a) * (ULONGLONG)(ULONG)(b))

/* Pointer <-> integer conversions of <basetsd.h>: a pointer to a 32-bit (or 16-bit) integer
 * keeps the low bits; an unsigned integer widens with zeros, a signed one with its sign. */
/** PtrToUlong - the low 32 bits of @p p. */
static inline ULONG PtrToUlong(const void *p)
{
    return (ULONG)(ULONG_PTR)p;
}
/** PtrToLong - the low 32 bits of @p p, as a signed value. */
static inline LONG PtrToLong(const void *p)
{
    return (LONG)(LONG_PTR)p;
}
/** PtrToUshort - the low 16 bits of @p p. */
static inline USHORT PtrToUshort(const void *p)
{
    return (USHORT)(ULONG_PTR)p;
}
/** PtrToUint / PtrToInt - PtrToUlong / PtrToLong. */
static inline UINT PtrToUint(const void *p)
{
    return (UINT)(ULONG_PTR)p;
}
static inline INT PtrToInt(const void *p)
{
    return (INT)(LONG_PTR)p;
}
/** ULongToPtr - @p ul zero-extended to a pointer. */
static inline PVOID ULongToPtr(ULONG ul)
{
    return (PVOID)(ULONG_PTR)ul;
}
/** LongToPtr - @p l sign-extended to a pointer. */
static inline PVOID LongToPtr(LONG l)
{
    return (PVOID)(LONG_PTR)l;
}
#define UlongToPtr(ul)    ULongToPtr(ul)
#define UIntToPtr(ui)     ULongToPtr(ui)
#define IntToPtr(i)       LongToPtr(i)
#define HandleToULong(h)  PtrToUlong(h)
#define HandleToUlong(h)  PtrToUlong(h)
#define HandleToLong(h)   PtrToLong(h)
#define ULongToHandle(ul) ((HANDLE)ULongToPtr(ul))
#define LongToHandle(l)   ((HANDLE)LongToPtr(l))

KDPC_STATIC_ASSERT(sizeof(ULONG) == 4, "ULONG is 32 bits (LLP64)");
KDPC_STATIC_ASSERT(sizeof(LONGLONG) == 8, "LONGLONG is 64 bits");
KDPC_STATIC_ASSERT(sizeof(ULONG_PTR) == sizeof(void *), "ULONG_PTR is pointer sized");
KDPC_STATIC_ASSERT(sizeof(WCHAR) == 2, "WCHAR is 16 bits");

/** 64-bit integer with the LowPart/HighPart view drivers use. */
typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    KDPC_EXTENSION struct {
        ULONG LowPart;
        LONG HighPart;
    };
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

/** A physical (bus) address: device windows, MmGetPhysicalAddress, DMA logical addresses. */
typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

/** Unsigned twin of LARGE_INTEGER. */
typedef union _ULARGE_INTEGER {
    struct {
        ULONG LowPart;
        ULONG HighPart;
    } u;
    KDPC_EXTENSION struct {
        ULONG LowPart;
        ULONG HighPart;
    };
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

/** Counted UTF-16 string; Length and MaximumLength are in bytes. */
typedef struct _UNICODE_STRING {
    USHORT Length;
    USHORT MaximumLength;
    PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

/** Counted 8-bit string. */
typedef struct _STRING {
    USHORT Length;
    USHORT MaximumLength;
    PCHAR Buffer;
} STRING, ANSI_STRING, *PSTRING, *PANSI_STRING;

/** Group-relative processor number (KeGetCurrentProcessorNumberEx). */
typedef struct _PROCESSOR_NUMBER {
    USHORT Group;
    UCHAR Number;
    UCHAR Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;

/** Group affinity (KeSetSystemAffinityThreadEx works with plain KAFFINITY). */
typedef struct _GROUP_AFFINITY {
    KAFFINITY Mask;
    USHORT Group;
    USHORT Reserved[3];
} GROUP_AFFINITY, *PGROUP_AFFINITY;

/* NTSTATUS values, NT_SUCCESS and the other severity tests: kdpc/wdm/ntstatus.h. */

/* ------------------------------------------------------------------ */
/* Doubly and singly linked lists (any IRQL; caller synchronizes)      */

/** Doubly linked list head or entry. */
typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

/** Singly linked list head or entry. */
typedef struct _SINGLE_LIST_ENTRY {
    struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

/** Address of the structure of type @p type whose member @p field is at @p address. */
#define CONTAINING_RECORD(address, type, field)                                                    \
    ((type *)(void *)((char *)(address)-offsetof(type, field)))

#define FIELD_OFFSET(type, field)   ((LONG)offsetof(type, field))
#define RTL_FIELD_SIZE(type, field) (sizeof(((type *)0)->field))
#define ARRAYSIZE(a)                (sizeof(a) / sizeof((a)[0]))
#define RTL_NUMBER_OF(a)            ARRAYSIZE(a)

/** C_ASSERT - a compile-time assertion, at file scope or in a block (a false @p e does not
 * compile). */
#define C_ASSERT(e)                        KDPC_STATIC_ASSERT(e, "C_ASSERT(" #e ")")
#define DBG_UNREFERENCED_PARAMETER(P)      ((void)(P))
#define DBG_UNREFERENCED_LOCAL_VARIABLE(V) ((void)(V))
/** ANYSIZE_ARRAY - the declared size of a variable-length trailing array member. */
#define ANYSIZE_ARRAY 1
/** RTL_BITS_OF - the size of @p x in bits. */
#define RTL_BITS_OF(x) (sizeof(x) * 8)
/** RTL_SIZEOF_THROUGH_FIELD - the size of @p type up to and including @p field. */
#define RTL_SIZEOF_THROUGH_FIELD(type, field) (offsetof(type, field) + RTL_FIELD_SIZE(type, field))
/** TYPE_ALIGNMENT - the alignment of type @p t. */
#ifdef __cplusplus
#define TYPE_ALIGNMENT(t) alignof(t)
#else
#define TYPE_ALIGNMENT(t) _Alignof(t)
#endif
/* Rounding to a power-of-two @p alignment (ALIGN_*_BY) or to the size of a type (ALIGN_UP/DOWN). */
#define ALIGN_DOWN_BY(length, alignment) ((ULONG_PTR)(length) & ~((ULONG_PTR)(alignment)-1))
#define ALIGN_UP_BY(length, alignment)                                                             \
    ALIGN_DOWN_BY(((ULONG_PTR)(length) + (ULONG_PTR)(alignment)-1), alignment)
#define ALIGN_DOWN_POINTER_BY(address, alignment) ((PVOID)ALIGN_DOWN_BY(address, alignment))
#define ALIGN_UP_POINTER_BY(address, alignment)   ((PVOID)ALIGN_UP_BY(address, alignment))
#define ALIGN_DOWN(length, type)                  ALIGN_DOWN_BY(length, sizeof(type))
#define ALIGN_UP(length, type)                    ALIGN_UP_BY(length, sizeof(type))
#define ALIGN_DOWN_POINTER(address, type)         ALIGN_DOWN_POINTER_BY(address, sizeof(type))
#define ALIGN_UP_POINTER(address, type)           ALIGN_UP_POINTER_BY(address, sizeof(type))
/* min and max of <ntdef.h> (each argument may be evaluated twice). C only, and not with
 * NOMINMAX: in C++ they would break std::min and std::max. */
#if !defined(__cplusplus) && !defined(NOMINMAX)
#ifndef min
#define min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef max
#define max(a, b) (((a) > (b)) ? (a) : (b))
#endif
#endif

/** InitializeListHead - make @p ListHead an empty list. */
static inline void InitializeListHead(PLIST_ENTRY ListHead)
{
    ListHead->Flink = ListHead->Blink = ListHead;
}

/** IsListEmpty - TRUE when @p ListHead has no entries. */
static inline BOOLEAN IsListEmpty(const LIST_ENTRY *ListHead)
{
    return (BOOLEAN)(ListHead->Flink == ListHead);
}

/** RemoveEntryList - unlink @p Entry; TRUE if the list is empty afterwards. */
static inline BOOLEAN RemoveEntryList(PLIST_ENTRY Entry)
{
    PLIST_ENTRY Flink = Entry->Flink;
    PLIST_ENTRY Blink = Entry->Blink;
    Blink->Flink = Flink;
    Flink->Blink = Blink;
    return (BOOLEAN)(Flink == Blink);
}

/** RemoveHeadList - unlink and return the first entry (list must not be empty). */
static inline PLIST_ENTRY RemoveHeadList(PLIST_ENTRY ListHead)
{
    PLIST_ENTRY Entry = ListHead->Flink;
    PLIST_ENTRY Next = Entry->Flink;
    ListHead->Flink = Next;
    Next->Blink = ListHead;
    return Entry;
}

/** RemoveTailList - unlink and return the last entry (list must not be empty). */
static inline PLIST_ENTRY RemoveTailList(PLIST_ENTRY ListHead)
{
    PLIST_ENTRY Entry = ListHead->Blink;
    PLIST_ENTRY Prev = Entry->Blink;
    ListHead->Blink = Prev;
    Prev->Flink = ListHead;
    return Entry;
}

/** InsertTailList - append @p Entry. */
static inline void InsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
    PLIST_ENTRY Prev = ListHead->Blink;
    Entry->Flink = ListHead;
    Entry->Blink = Prev;
    Prev->Flink = Entry;
    ListHead->Blink = Entry;
}

/** InsertHeadList - prepend @p Entry. */
static inline void InsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
    PLIST_ENTRY Next = ListHead->Flink;
    Entry->Flink = Next;
    Entry->Blink = ListHead;
    Next->Blink = Entry;
    ListHead->Flink = Entry;
}

/** AppendTailList - splice the list that starts at @p ListToAppend onto @p ListHead. */
static inline void AppendTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListToAppend)
{
    PLIST_ENTRY ListEnd = ListHead->Blink;
    ListHead->Blink->Flink = ListToAppend;
    ListHead->Blink = ListToAppend->Blink;
    ListToAppend->Blink->Flink = ListHead;
    ListToAppend->Blink = ListEnd;
}

/** PushEntryList - push @p Entry on a singly linked list. */
static inline void PushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY Entry)
{
    Entry->Next = ListHead->Next;
    ListHead->Next = Entry;
}

/** PopEntryList - pop the first entry of a singly linked list, or NULL. */
static inline PSINGLE_LIST_ENTRY PopEntryList(PSINGLE_LIST_ENTRY ListHead)
{
    PSINGLE_LIST_ENTRY First = ListHead->Next;
    if (First != NULL)
        ListHead->Next = First->Next;
    return First;
}

/* ------------------------------------------------------------------ */
/* Interlocked operations: full barriers, any IRQL, any memory.        */

/** InterlockedIncrement - atomically add 1; returns the new value. */
static inline LONG InterlockedIncrement(LONG volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
/** InterlockedDecrement - atomically subtract 1; returns the new value. */
static inline LONG InterlockedDecrement(LONG volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
/** InterlockedExchange - store @p Value; returns the previous value. */
static inline LONG InterlockedExchange(LONG volatile *Target, LONG Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedExchangeAdd - add @p Value; returns the previous value. */
static inline LONG InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedAdd - add @p Value; returns the new value. */
static inline LONG InterlockedAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedCompareExchange - store @p Exchange if *Destination == @p Comperand; returns the
 * initial value. */
static inline LONG InterlockedCompareExchange(LONG volatile *Destination, LONG Exchange,
                                              LONG Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}
/** InterlockedOr - OR in @p Value; returns the previous value. */
static inline LONG InterlockedOr(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_or(Destination, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedAnd - AND with @p Value; returns the previous value. */
static inline LONG InterlockedAnd(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_and(Destination, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedXor - XOR with @p Value; returns the previous value. */
static inline LONG InterlockedXor(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_xor(Destination, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedIncrement64 - 64-bit InterlockedIncrement. */
static inline LONG64 InterlockedIncrement64(LONG64 volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
/** InterlockedDecrement64 - 64-bit InterlockedDecrement. */
static inline LONG64 InterlockedDecrement64(LONG64 volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
/** InterlockedExchange64 - 64-bit InterlockedExchange. */
static inline LONG64 InterlockedExchange64(LONG64 volatile *Target, LONG64 Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedExchangeAdd64 - 64-bit InterlockedExchangeAdd. */
static inline LONG64 InterlockedExchangeAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedCompareExchange64 - 64-bit InterlockedCompareExchange. */
static inline LONG64 InterlockedCompareExchange64(LONG64 volatile *Destination, LONG64 Exchange,
                                                  LONG64 Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}
/** InterlockedExchangePointer - store @p Value; returns the previous pointer. */
static inline PVOID InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedCompareExchangePointer - pointer InterlockedCompareExchange. */
static inline PVOID InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID Exchange,
                                                      PVOID Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}
/** KeMemoryBarrier - full memory barrier. */
static inline void KeMemoryBarrier(void)
{
#if defined(__SANITIZE_THREAD__)
    /* gcc refuses fences under ThreadSanitizer (-Wtsan, an error with -Werror): a locked
     * read-modify-write, a full barrier on x86-64, compiles in driver code built that way */
    volatile LONG barrier = 0;
    (void)__atomic_fetch_or(&barrier, 0, __ATOMIC_SEQ_CST);
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}
/** InterlockedAnd64 / InterlockedOr64 / InterlockedXor64 - 64-bit AND / OR / XOR; return the
 * previous value. */
static inline LONG64 InterlockedAnd64(LONG64 volatile *Destination, LONG64 Value)
{
    return __atomic_fetch_and(Destination, Value, __ATOMIC_SEQ_CST);
}
static inline LONG64 InterlockedOr64(LONG64 volatile *Destination, LONG64 Value)
{
    return __atomic_fetch_or(Destination, Value, __ATOMIC_SEQ_CST);
}
static inline LONG64 InterlockedXor64(LONG64 volatile *Destination, LONG64 Value)
{
    return __atomic_fetch_xor(Destination, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedAdd64 - add @p Value; returns the new value. */
static inline LONG64 InterlockedAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedIncrement16 / InterlockedDecrement16 - 16-bit; return the new value. */
static inline SHORT InterlockedIncrement16(SHORT volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
static inline SHORT InterlockedDecrement16(SHORT volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
/** InterlockedCompareExchange16 - 16-bit InterlockedCompareExchange; returns the initial value. */
static inline SHORT InterlockedCompareExchange16(SHORT volatile *Destination, SHORT Exchange,
                                                 SHORT Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}
/** InterlockedExchange16 / InterlockedExchange8 - store; return the previous value. */
static inline SHORT InterlockedExchange16(SHORT volatile *Target, SHORT Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
static inline CHAR InterlockedExchange8(CHAR volatile *Target, CHAR Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedAnd16 / InterlockedOr16 / InterlockedXor16 and the 8-bit twins - return the
 * previous value. */
static inline SHORT InterlockedAnd16(SHORT volatile *Destination, SHORT Value)
{
    return __atomic_fetch_and(Destination, Value, __ATOMIC_SEQ_CST);
}
static inline SHORT InterlockedOr16(SHORT volatile *Destination, SHORT Value)
{
    return __atomic_fetch_or(Destination, Value, __ATOMIC_SEQ_CST);
}
static inline SHORT InterlockedXor16(SHORT volatile *Destination, SHORT Value)
{
    return __atomic_fetch_xor(Destination, Value, __ATOMIC_SEQ_CST);
}
static inline CHAR InterlockedAnd8(CHAR volatile *Destination, CHAR Value)
{
    return __atomic_fetch_and(Destination, Value, __ATOMIC_SEQ_CST);
}
static inline CHAR InterlockedOr8(CHAR volatile *Destination, CHAR Value)
{
    return __atomic_fetch_or(Destination, Value, __ATOMIC_SEQ_CST);
}
static inline CHAR InterlockedXor8(CHAR volatile *Destination, CHAR Value)
{
    return __atomic_fetch_xor(Destination, Value, __ATOMIC_SEQ_CST);
}
/** InterlockedBitTestAndSet / InterlockedBitTestAndReset - set / clear bit @p Offset of the bit
 * array at @p Base (bit 0 is the low bit of Base[0]); return the bit's previous value. */
static inline BOOLEAN InterlockedBitTestAndSet(LONG volatile *Base, LONG Offset)
{
    LONG volatile *word = Base + (Offset >> 5);
    LONG mask = (LONG)(1u << (Offset & 31));
    return (BOOLEAN)((__atomic_fetch_or(word, mask, __ATOMIC_SEQ_CST) & mask) != 0);
}
static inline BOOLEAN InterlockedBitTestAndReset(LONG volatile *Base, LONG Offset)
{
    LONG volatile *word = Base + (Offset >> 5);
    LONG mask = (LONG)(1u << (Offset & 31));
    return (BOOLEAN)((__atomic_fetch_and(word, ~mask, __ATOMIC_SEQ_CST) & mask) != 0);
}
/** InterlockedBitTestAndSet64 / InterlockedBitTestAndReset64 - the same on 64-bit words. */
static inline BOOLEAN InterlockedBitTestAndSet64(LONG64 volatile *Base, LONG64 Offset)
{
    LONG64 volatile *word = Base + (Offset >> 6);
    LONG64 mask = (LONG64)(1ull << (Offset & 63));
    return (BOOLEAN)((__atomic_fetch_or(word, mask, __ATOMIC_SEQ_CST) & mask) != 0);
}
static inline BOOLEAN InterlockedBitTestAndReset64(LONG64 volatile *Base, LONG64 Offset)
{
    LONG64 volatile *word = Base + (Offset >> 6);
    LONG64 mask = (LONG64)(1ull << (Offset & 63));
    return (BOOLEAN)((__atomic_fetch_and(word, ~mask, __ATOMIC_SEQ_CST) & mask) != 0);
}
/** InterlockedIncrementSizeT / InterlockedDecrementSizeT / InterlockedExchangeAddSizeT -
 * SIZE_T-wide: the new value (Increment, Decrement) or the previous one (ExchangeAdd). */
static inline SIZE_T InterlockedIncrementSizeT(SIZE_T volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1u, __ATOMIC_SEQ_CST);
}
static inline SIZE_T InterlockedDecrementSizeT(SIZE_T volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1u, __ATOMIC_SEQ_CST);
}
static inline SIZE_T InterlockedExchangeAddSizeT(SIZE_T volatile *Addend, SIZE_T Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}

/*
 * The Acquire, Release and NoFence forms ask for less ordering than the full barrier kdpc's
 * Interlocked routines give; a full barrier satisfies each of them.
 */
#define InterlockedIncrementAcquire              InterlockedIncrement
#define InterlockedIncrementRelease              InterlockedIncrement
#define InterlockedIncrementNoFence              InterlockedIncrement
#define InterlockedDecrementAcquire              InterlockedDecrement
#define InterlockedDecrementRelease              InterlockedDecrement
#define InterlockedDecrementNoFence              InterlockedDecrement
#define InterlockedCompareExchangeAcquire        InterlockedCompareExchange
#define InterlockedCompareExchangeRelease        InterlockedCompareExchange
#define InterlockedCompareExchangeNoFence        InterlockedCompareExchange
#define InterlockedExchangeAcquire               InterlockedExchange
#define InterlockedExchangeNoFence               InterlockedExchange
#define InterlockedExchangeAddNoFence            InterlockedExchangeAdd
#define InterlockedOrAcquire                     InterlockedOr
#define InterlockedOrRelease                     InterlockedOr
#define InterlockedOrNoFence                     InterlockedOr
#define InterlockedAndAcquire                    InterlockedAnd
#define InterlockedAndRelease                    InterlockedAnd
#define InterlockedAndNoFence                    InterlockedAnd
#define InterlockedXorAcquire                    InterlockedXor
#define InterlockedXorRelease                    InterlockedXor
#define InterlockedXorNoFence                    InterlockedXor
#define InterlockedIncrementAcquire64            InterlockedIncrement64
#define InterlockedIncrementRelease64            InterlockedIncrement64
#define InterlockedDecrementAcquire64            InterlockedDecrement64
#define InterlockedDecrementRelease64            InterlockedDecrement64
#define InterlockedCompareExchangeAcquire64      InterlockedCompareExchange64
#define InterlockedCompareExchangeRelease64      InterlockedCompareExchange64
#define InterlockedCompareExchangePointerAcquire InterlockedCompareExchangePointer
#define InterlockedCompareExchangePointerRelease InterlockedCompareExchangePointer
#define InterlockedCompareExchangePointerNoFence InterlockedCompareExchangePointer
#define InterlockedExchangePointerAcquire        InterlockedExchangePointer
#define InterlockedExchangePointerNoFence        InterlockedExchangePointer

/*
 * The compiler intrinsics the Interlocked routines are built on (<intrin.h>), which driver code
 * also calls directly: the same operations, with the same arguments and results.
 */
#define _InterlockedIncrement              InterlockedIncrement
#define _InterlockedDecrement              InterlockedDecrement
#define _InterlockedExchange               InterlockedExchange
#define _InterlockedExchangeAdd            InterlockedExchangeAdd
#define _InterlockedCompareExchange        InterlockedCompareExchange
#define _InterlockedOr                     InterlockedOr
#define _InterlockedAnd                    InterlockedAnd
#define _InterlockedXor                    InterlockedXor
#define _InterlockedIncrement16            InterlockedIncrement16
#define _InterlockedDecrement16            InterlockedDecrement16
#define _InterlockedCompareExchange16      InterlockedCompareExchange16
#define _InterlockedExchange16             InterlockedExchange16
#define _InterlockedExchange8              InterlockedExchange8
#define _InterlockedOr16                   InterlockedOr16
#define _InterlockedAnd16                  InterlockedAnd16
#define _InterlockedXor16                  InterlockedXor16
#define _InterlockedOr8                    InterlockedOr8
#define _InterlockedAnd8                   InterlockedAnd8
#define _InterlockedXor8                   InterlockedXor8
#define _InterlockedIncrement64            InterlockedIncrement64
#define _InterlockedDecrement64            InterlockedDecrement64
#define _InterlockedExchange64             InterlockedExchange64
#define _InterlockedExchangeAdd64          InterlockedExchangeAdd64
#define _InterlockedCompareExchange64      InterlockedCompareExchange64
#define _InterlockedOr64                   InterlockedOr64
#define _InterlockedAnd64                  InterlockedAnd64
#define _InterlockedXor64                  InterlockedXor64
#define _InterlockedExchangePointer        InterlockedExchangePointer
#define _InterlockedCompareExchangePointer InterlockedCompareExchangePointer
#define _interlockedbittestandset          InterlockedBitTestAndSet
#define _interlockedbittestandreset        InterlockedBitTestAndReset
#define _interlockedbittestandset64        InterlockedBitTestAndSet64
#define _interlockedbittestandreset64      InterlockedBitTestAndReset64

/* Bit scans and tests (<intrin.h>; BitScanForward etc. in wdm.h) */
/** BitScanForward - the index of the lowest set bit of @p Mask in *@p Index; FALSE (and *Index
 * unchanged) when @p Mask is 0. */
static inline BOOLEAN BitScanForward(ULONG *Index, ULONG Mask)
{
    if (Mask == 0)
        return 0;
    *Index = (ULONG)__builtin_ctz(Mask);
    return 1;
}
/** BitScanReverse - the index of the highest set bit of @p Mask; FALSE when @p Mask is 0. */
static inline BOOLEAN BitScanReverse(ULONG *Index, ULONG Mask)
{
    if (Mask == 0)
        return 0;
    *Index = 31u - (ULONG)__builtin_clz(Mask);
    return 1;
}
/** BitScanForward64 / BitScanReverse64 - the same on a 64-bit mask. */
static inline BOOLEAN BitScanForward64(ULONG *Index, ULONG64 Mask)
{
    if (Mask == 0)
        return 0;
    *Index = (ULONG)__builtin_ctzll(Mask);
    return 1;
}
static inline BOOLEAN BitScanReverse64(ULONG *Index, ULONG64 Mask)
{
    if (Mask == 0)
        return 0;
    *Index = 63u - (ULONG)__builtin_clzll(Mask);
    return 1;
}
/** BitTest / BitTestAndSet / BitTestAndReset / BitTestAndComplement - bit @p Offset of the bit
 * array at @p Base (not atomic); return the bit's previous value. */
static inline BOOLEAN BitTest(const LONG *Base, LONG Offset)
{
    return (BOOLEAN)(((ULONG)Base[Offset >> 5] >> (Offset & 31)) & 1u);
}
static inline BOOLEAN BitTestAndSet(LONG *Base, LONG Offset)
{
    BOOLEAN old = BitTest(Base, Offset);
    Base[Offset >> 5] = (LONG)((ULONG)Base[Offset >> 5] | (1u << (Offset & 31)));
    return old;
}
static inline BOOLEAN BitTestAndReset(LONG *Base, LONG Offset)
{
    BOOLEAN old = BitTest(Base, Offset);
    Base[Offset >> 5] = (LONG)((ULONG)Base[Offset >> 5] & ~(1u << (Offset & 31)));
    return old;
}
static inline BOOLEAN BitTestAndComplement(LONG *Base, LONG Offset)
{
    BOOLEAN old = BitTest(Base, Offset);
    Base[Offset >> 5] = (LONG)((ULONG)Base[Offset >> 5] ^ (1u << (Offset & 31)));
    return old;
}
#define _BitScanForward       BitScanForward
#define _BitScanReverse       BitScanReverse
#define _BitScanForward64     BitScanForward64
#define _BitScanReverse64     BitScanReverse64
#define _bittest              BitTest
#define _bittestandset        BitTestAndSet
#define _bittestandreset      BitTestAndReset
#define _bittestandcomplement BitTestAndComplement

/*
 * Read/Write with ordering (wdm.h, Windows 10): ReadAcquire loads with acquire ordering,
 * WriteRelease stores with release ordering, the NoFence forms are plain atomic accesses; each
 * reads or writes the whole value at once.
 */
static inline CHAR ReadAcquire8(CHAR const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline CHAR ReadNoFence8(CHAR const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WriteRelease8(CHAR volatile *Destination, CHAR Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WriteNoFence8(CHAR volatile *Destination, CHAR Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
static inline SHORT ReadAcquire16(SHORT const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline SHORT ReadNoFence16(SHORT const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WriteRelease16(SHORT volatile *Destination, SHORT Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WriteNoFence16(SHORT volatile *Destination, SHORT Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
static inline LONG ReadAcquire(LONG const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline LONG ReadNoFence(LONG const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WriteRelease(LONG volatile *Destination, LONG Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WriteNoFence(LONG volatile *Destination, LONG Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
static inline LONG64 ReadAcquire64(LONG64 const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline LONG64 ReadNoFence64(LONG64 const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WriteRelease64(LONG64 volatile *Destination, LONG64 Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WriteNoFence64(LONG64 volatile *Destination, LONG64 Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
static inline UCHAR ReadUCharAcquire(UCHAR const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline UCHAR ReadUCharNoFence(UCHAR const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WriteUCharRelease(UCHAR volatile *Destination, UCHAR Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WriteUCharNoFence(UCHAR volatile *Destination, UCHAR Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
static inline USHORT ReadUShortAcquire(USHORT const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline USHORT ReadUShortNoFence(USHORT const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WriteUShortRelease(USHORT volatile *Destination, USHORT Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WriteUShortNoFence(USHORT volatile *Destination, USHORT Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
static inline ULONG ReadULongAcquire(ULONG const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline ULONG ReadULongNoFence(ULONG const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WriteULongRelease(ULONG volatile *Destination, ULONG Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WriteULongNoFence(ULONG volatile *Destination, ULONG Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
static inline ULONG64 ReadULong64Acquire(ULONG64 const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline ULONG64 ReadULong64NoFence(ULONG64 const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WriteULong64Release(ULONG64 volatile *Destination, ULONG64 Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WriteULong64NoFence(ULONG64 volatile *Destination, ULONG64 Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
static inline BOOLEAN ReadBooleanAcquire(BOOLEAN const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline BOOLEAN ReadBooleanNoFence(BOOLEAN const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WriteBooleanRelease(BOOLEAN volatile *Destination, BOOLEAN Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WriteBooleanNoFence(BOOLEAN volatile *Destination, BOOLEAN Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}
static inline PVOID ReadPointerAcquire(PVOID const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}
static inline PVOID ReadPointerNoFence(PVOID const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}
static inline void WritePointerRelease(PVOID volatile *Destination, PVOID Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}
static inline void WritePointerNoFence(PVOID volatile *Destination, PVOID Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}

/** _ReadWriteBarrier - a compiler barrier: no memory access moves across it (no fence). */
#define _ReadWriteBarrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
/** KeMemoryBarrierWithoutFence - the same compiler barrier. */
#define KeMemoryBarrierWithoutFence() _ReadWriteBarrier()
/** MemoryBarrier - a full memory barrier (KeMemoryBarrier). */
#define MemoryBarrier() KeMemoryBarrier()
/** YieldProcessor - a spin-wait hint (PAUSE on x86); no other effect. */
#if defined(__x86_64__) || defined(__i386__)
#define YieldProcessor() __builtin_ia32_pause()
#else
#define YieldProcessor() ((void)0)
#endif

/* ------------------------------------------------------------------ */
/* Rtl memory helpers (any IRQL for resident memory)                   */

#define RtlZeroMemory(Destination, Length)          memset((Destination), 0, (Length))
#define RtlFillMemory(Destination, Length, Fill)    memset((Destination), (int)(Fill), (Length))
#define RtlMoveMemory(Destination, Source, Length)  memmove((Destination), (Source), (Length))
#define RtlEqualMemory(Destination, Source, Length) (!memcmp((Destination), (Source), (Length)))
#define RtlSecureZeroMemory(Destination, Length)    memset((Destination), 0, (Length))

KDPC_EXPORT void kdpc_rtl_copy_overlap(void *Destination, const void *Source, size_t Length);
/* RtlCopyMemory: memcpy, with Driver Verifier's check that the buffers do not overlap
 * (rtl.copy_overlap, 0xC4/0xF0); an overlapping copy that goes on is done as memmove. */
static inline void *kdpc_RtlCopyMemory(void *Destination, const void *Source, size_t Length)
{
    uintptr_t d = (uintptr_t)Destination, s = (uintptr_t)Source;
    if (Length != 0 && d < s + Length && s < d + Length) {
        kdpc_rtl_copy_overlap(Destination, Source, Length);
        return memmove(Destination, Source, Length);
    }
    return memcpy(Destination, Source, Length);
}
#define RtlCopyMemory(D, S, L) kdpc_RtlCopyMemory((D), (S), (L))

/** RtlCompareMemory - number of leading bytes that match (up to @p Length). */
static inline SIZE_T RtlCompareMemory(const void *Source1, const void *Source2, SIZE_T Length)
{
    const unsigned char *a = (const unsigned char *)Source1;
    const unsigned char *b = (const unsigned char *)Source2;
    SIZE_T i = 0;
    while (i < Length && a[i] == b[i])
        i++;
    return i;
}

/* RtlInitUnicodeString and the other string routines: kdpc/wdm/rtl.h. */

/** @} */

KDPC_END_DECLS

#endif /* KDPC_WDM_TYPES_H */
