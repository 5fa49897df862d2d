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
#error "kdpc/wdm.h: wchar_t is not 16 bits, so L\"...\" literals are not WCHAR strings: compile with -fshort-wchar (kdpc::wdm adds it; see docs/driver-code.md)"
#endif
#elif defined(__WCHAR_MAX__)
#if __WCHAR_MAX__ > 0xffff
#error "kdpc/wdm.h: wchar_t is not 16 bits, so L\"...\" literals are not WCHAR strings: compile with -fshort-wchar (kdpc::wdm adds it; see docs/driver-code.md)"
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
#define DECLSPEC_ALIGN(x)

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
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ------------------------------------------------------------------ */
/* Rtl memory helpers (any IRQL for resident memory)                   */

#define RtlZeroMemory(Destination, Length)          memset((Destination), 0, (Length))
#define RtlFillMemory(Destination, Length, Fill)    memset((Destination), (int)(Fill), (Length))
#define RtlCopyMemory(Destination, Source, Length)  memcpy((Destination), (Source), (Length))
#define RtlMoveMemory(Destination, Source, Length)  memmove((Destination), (Source), (Length))
#define RtlEqualMemory(Destination, Source, Length) (!memcmp((Destination), (Source), (Length)))
#define RtlSecureZeroMemory(Destination, Length)    memset((Destination), 0, (Length))

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
