/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/pool.h - pool memory, lookaside lists, PAGED_CODE and
 * KeFlushIoBuffers (docs/facts/io.md section 7).
 *
 * Paged pool is really protected: while the CPU that runs is at
 * DISPATCH_LEVEL or above, every page of paged pool is inaccessible, as
 * Driver Verifier's Force IRQL Checking trims it, so a stray touch faults at
 * the touch and becomes bug check 0xD1 (mem.paged_touch) naming the address.
 *
 * Every block is followed by guard bytes that ExFreePool checks, as Driver
 * Verifier's special pool does: a write past the end of a block (paged or
 * nonpaged) is bug check 0xC1 at its free. A request above 16 GiB fails.
 */
#ifndef KDPC_WDM_POOL_H
#define KDPC_WDM_POOL_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/ke.h>
#include <kdpc/wdm/irp.h>

KDPC_BEGIN_DECLS

/** Pool types (7.2; docs/facts/memory.md, "Pool"). Every paged type is odd, every nonpaged
 * type even. kdpc: the session types are the same pools as the others (one session); NX and
 * executable nonpaged pool are the same memory. */
typedef enum _POOL_TYPE {
    NonPagedPool = 0,
    NonPagedPoolExecute = 0,
    PagedPool = 1,
    NonPagedPoolMustSucceed = 2,
    DontUseThisType = 3,
    NonPagedPoolCacheAligned = 4,
    PagedPoolCacheAligned = 5,
    NonPagedPoolCacheAlignedMustS = 6,
    MaxPoolType = 7,
    NonPagedPoolBase = 0,
    NonPagedPoolBaseMustSucceed = 2,
    NonPagedPoolBaseCacheAligned = 4,
    NonPagedPoolBaseCacheAlignedMustS = 6,
    NonPagedPoolSession = 32,
    PagedPoolSession = 33,
    NonPagedPoolMustSucceedSession = 34,
    DontUseThisTypeSession = 35,
    NonPagedPoolCacheAlignedSession = 36,
    PagedPoolCacheAlignedSession = 37,
    NonPagedPoolCacheAlignedMustSSession = 38,
    NonPagedPoolNx = 512,
    NonPagedPoolNxCacheAligned = 516,
    NonPagedPoolSessionNx = 544
} POOL_TYPE;

/* Flags ORed into a POOL_TYPE (ExAllocatePoolWithTag, ExAllocatePoolWithQuotaTag). */
#define POOL_QUOTA_FAIL_INSTEAD_OF_RAISE 8    /**< quota routines: NULL instead of raising */
#define POOL_RAISE_IF_ALLOCATION_FAILURE 16   /**< ExAllocatePoolWithTag: raise, not NULL */
#define POOL_COLD_ALLOCATION             256  /**< a hint (kdpc: ignored) */
#define POOL_NX_ALLOCATION               512  /**< nonpaged pool that is not executable */
#define POOL_ZERO_ALLOCATION             1024 /**< zero-filled */

/* ExAllocatePool2 flags (7.3). */
#define POOL_FLAG_USE_QUOTA         0x0000000000000001ull
#define POOL_FLAG_UNINITIALIZED     0x0000000000000002ull
#define POOL_FLAG_SESSION           0x0000000000000004ull
#define POOL_FLAG_CACHE_ALIGNED     0x0000000000000008ull
#define POOL_FLAG_RAISE_ON_FAILURE  0x0000000000000020ull
#define POOL_FLAG_NON_PAGED         0x0000000000000040ull
#define POOL_FLAG_NON_PAGED_EXECUTE 0x0000000000000080ull
#define POOL_FLAG_PAGED             0x0000000000000100ull
#define POOL_FLAG_SPECIAL_POOL      0x0000000100000000ull
typedef ULONG64 POOL_FLAGS;

typedef struct _POOL_EXTENDED_PARAMETER POOL_EXTENDED_PARAMETER;
typedef const POOL_EXTENDED_PARAMETER *PCPOOL_EXTENDED_PARAMETER;

KDPC_EXPORT PVOID kdpc_ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
KDPC_EXPORT PVOID kdpc_ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
KDPC_EXPORT void kdpc_ExFreePoolWithTag(PVOID P, ULONG Tag);
KDPC_EXPORT PVOID kdpc_ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
KDPC_EXPORT PVOID kdpc_ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes,
                                                  ULONG Tag);

/** Pool priorities of ExAllocatePoolWithTagPriority. */
typedef enum _EX_POOL_PRIORITY {
    LowPoolPriority = 0,
    LowPoolPrioritySpecialPoolOverrun = 8,
    LowPoolPrioritySpecialPoolUnderrun = 9,
    NormalPoolPriority = 16,
    NormalPoolPrioritySpecialPoolOverrun = 24,
    NormalPoolPrioritySpecialPoolUnderrun = 25,
    HighPoolPriority = 32,
    HighPoolPrioritySpecialPoolOverrun = 40,
    HighPoolPrioritySpecialPoolUnderrun = 41
} EX_POOL_PRIORITY;

/**
 * ExAllocatePoolWithTag - @NumberOfBytes of uninitialised pool, 16-byte
 * aligned, or NULL (out of memory, more than 16 GiB asked, or low-resources
 * simulation) (7.1). PoolType may carry POOL_* flags: POOL_ZERO_ALLOCATION
 * zero-fills; POOL_RAISE_IF_ALLOCATION_FAILURE raises
 * STATUS_INSUFFICIENT_RESOURCES instead of returning NULL (unhandled in kdpc:
 * bug check 0x1E, P1 0xC000009A).
 * IRQL: <= DISPATCH_LEVEL for nonpaged, <= APC_LEVEL for paged.
 * Bugchecks: mem.paged_alloc (0xC4/0x01) for paged pool above APC_LEVEL;
 * mem.pool_irql (0xC4/0x02) for nonpaged pool above DISPATCH_LEVEL.
 */
static inline PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return kdpc_ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
}
/** ExAllocatePoolWithTagPriority - ExAllocatePoolWithTag; the priority is ignored. */
static inline PVOID ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes,
                                                  ULONG Tag, EX_POOL_PRIORITY Priority)
{
    (void)Priority;
    return kdpc_ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
}
/** ExAllocatePoolZero - ExAllocatePoolWithTag, zero-filled. NULL on failure. */
static inline PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return kdpc_ExAllocatePoolZero(PoolType, NumberOfBytes, Tag);
}
/** ExAllocatePoolUninitialized - ExAllocatePoolWithTag. NULL on failure. */
static inline PVOID ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return kdpc_ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
}
/** ExAllocatePool - ExAllocatePoolWithTag with tag "None". */
static inline PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
    return kdpc_ExAllocatePoolWithTag(PoolType, NumberOfBytes, 0x656e6f4e);
}
/**
 * ExAllocatePoolWithQuotaTag - ExAllocatePoolWithTag for a highest-level
 * driver, charging the pool to the process that made the I/O request. When
 * the block cannot be had it raises STATUS_INSUFFICIENT_RESOURCES (unhandled
 * in kdpc: bug check 0x1E, P1 0xC000009A, rule ke.bugcheck), unless PoolType
 * carries POOL_QUOTA_FAIL_INSTEAD_OF_RAISE: then NULL. Uninitialised unless
 * POOL_ZERO_ALLOCATION. IRQL: as ExAllocatePoolWithTag (mem.paged_alloc,
 * mem.pool_irql); called from a DPC routine, which charges no particular
 * process: mem.pool_irql (0xC4/0x10B).
 * Divergence: kdpc has no per-process quota, so no allocation fails for quota
 * (only as ExAllocatePoolWithTag's do).
 */
static inline PVOID ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return kdpc_ExAllocatePoolWithQuotaTag(PoolType, NumberOfBytes, Tag);
}
/** ExAllocatePoolWithQuota - ExAllocatePoolWithQuotaTag with tag "None". */
static inline PVOID ExAllocatePoolWithQuota(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
    return kdpc_ExAllocatePoolWithQuotaTag(PoolType, NumberOfBytes, 0x656e6f4e);
}
/** ExAllocatePoolQuotaZero - ExAllocatePoolWithQuotaTag, zero-filled (raises or returns NULL
 * as it does). */
static inline PVOID ExAllocatePoolQuotaZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return kdpc_ExAllocatePoolWithQuotaTag((POOL_TYPE)(PoolType | POOL_ZERO_ALLOCATION),
                                           NumberOfBytes, Tag);
}
/** ExAllocatePoolQuotaUninitialized - ExAllocatePoolWithQuotaTag. */
static inline PVOID ExAllocatePoolQuotaUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes,
                                                     ULONG Tag)
{
    return kdpc_ExAllocatePoolWithQuotaTag(PoolType, NumberOfBytes, Tag);
}

/* --- driver runtime: NX nonpaged pool opt-in --- */
#define DrvRtPoolNxOptIn 0x00000001u
/** The pool type a POOL_NX_OPTIN driver's NonPagedPool means: NonPagedPoolExecute until
 * ExInitializeDriverRuntime(DrvRtPoolNxOptIn), NonPagedPoolNx after. Divergence: one variable
 * for every driver and machine of the process (Windows: one per driver image); kdpc's NX and
 * executable nonpaged pool are the same memory, so only the value differs. */
KDPC_EXPORT extern POOL_TYPE kdpc_ExDefaultNonPagedPoolType;
#define ExDefaultNonPagedPoolType kdpc_ExDefaultNonPagedPoolType
KDPC_EXPORT void kdpc_ExInitializeDriverRuntime(ULONG RuntimeFlags);
/** ExInitializeDriverRuntime - with DrvRtPoolNxOptIn, a POOL_NX_OPTIN driver's NonPagedPool
 * becomes NonPagedPoolNx (the OS supports NX pool); other bits are ignored. IRQL: any (kdpc;
 * drivers call it from DriverEntry). */
static inline void ExInitializeDriverRuntime(ULONG RuntimeFlags)
{
    kdpc_ExInitializeDriverRuntime(RuntimeFlags);
}
#if defined(POOL_NX_OPTIN_AUTO) && POOL_NX_OPTIN_AUTO
#define NonPagedPool             NonPagedPoolNx
#define NonPagedPoolCacheAligned NonPagedPoolNxCacheAligned
#elif defined(POOL_NX_OPTIN) && POOL_NX_OPTIN
#define NonPagedPool kdpc_ExDefaultNonPagedPoolType
#endif

/**
 * ExAllocatePool2 - zero-filled unless POOL_FLAG_UNINITIALIZED; NULL for tag 0,
 * unknown required flags, no pool type flag, more than 16 GiB or no memory
 * (7.3). With POOL_FLAG_RAISE_ON_FAILURE each of these raises
 * STATUS_INSUFFICIENT_RESOURCES instead; unhandled in kdpc, that is bug check
 * 0x1E (ke.bugcheck, P1 0xC000009A).
 * IRQL: as ExAllocatePoolWithTag (mem.paged_alloc, mem.pool_irql); POOL_FLAG_USE_QUOTA
 * charges the current process, so from a DPC routine it is mem.pool_irql (0xC4/0x10B).
 */
static inline PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
    return kdpc_ExAllocatePool2(Flags, NumberOfBytes, Tag);
}
/** ExAllocatePool3 - ExAllocatePool2; the extended parameters are ignored. */
static inline PVOID ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag,
                                    PCPOOL_EXTENDED_PARAMETER ExtendedParameters, ULONG Count)
{
    (void)ExtendedParameters;
    (void)Count;
    return kdpc_ExAllocatePool2(Flags, NumberOfBytes, Tag);
}
/**
 * ExFreePoolWithTag - free pool. IRQL: <= DISPATCH_LEVEL (nonpaged),
 * <= APC_LEVEL (paged). Bugchecks: mem.pool_irql above them (0xC4/0x12
 * nonpaged, 0x11 paged; P2 the IRQL, P4 the block); mem.free_active when the block holds a
 * queued DPC (0xC7/1), a set timer (0xC4/0x15) or a queued work item
 * (0xE4/0 or 2); ke.bugcheck (no switch turns these off): 0xC2/0x07 for a
 * block freed twice (P4 the address), 0xC2/0x46 for a pointer that is not the
 * start of allocated pool (P2 the address), 0xC2/0x0A for a wrong tag, 0xC1
 * (P1 the block, P2 the first byte written, P4 0x24) for a block written past
 * its end.
 */
static inline void ExFreePoolWithTag(PVOID P, ULONG Tag)
{
    kdpc_ExFreePoolWithTag(P, Tag);
}
/** ExFreePool - ExFreePoolWithTag without a tag check. */
static inline void ExFreePool(PVOID P)
{
    kdpc_ExFreePoolWithTag(P, 0);
}

KDPC_EXPORT void kdpc_paged_code(const char *File, int Line);
/** PAGED_CODE - this code is pageable: bug check mem.paged_code above APC_LEVEL (7.6). Checked
 * in every build (as Driver Verifier would). */
#define PAGED_CODE()        kdpc_paged_code(__FILE__, __LINE__)
#define PAGED_CODE_LOCKED() ((void)0)

/* --- lookaside lists --- */
typedef PVOID ALLOCATE_FUNCTION(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
typedef ALLOCATE_FUNCTION *PALLOCATE_FUNCTION;
typedef void FREE_FUNCTION(PVOID Buffer);
typedef FREE_FUNCTION *PFREE_FUNCTION;

/** A lookaside list: up to Depth free blocks of Size bytes kept for reuse. */
typedef struct _GENERAL_LOOKASIDE {
    SINGLE_LIST_ENTRY ListHead;
    USHORT Depth;
    USHORT MaximumDepth;
    ULONG TotalAllocates;
    ULONG AllocateMisses;
    ULONG TotalFrees;
    ULONG FreeMisses;
    POOL_TYPE Type;
    ULONG Tag;
    ULONG Size;
    PALLOCATE_FUNCTION Allocate;
    PFREE_FUNCTION Free;
    LIST_ENTRY ListEntry;
    USHORT CurrentDepth;
} GENERAL_LOOKASIDE;
typedef struct _NPAGED_LOOKASIDE_LIST {
    GENERAL_LOOKASIDE L;
} NPAGED_LOOKASIDE_LIST, *PNPAGED_LOOKASIDE_LIST;
typedef struct _PAGED_LOOKASIDE_LIST {
    GENERAL_LOOKASIDE L;
} PAGED_LOOKASIDE_LIST, *PPAGED_LOOKASIDE_LIST;

KDPC_EXPORT void kdpc_ExInitializeLookaside(GENERAL_LOOKASIDE *L, PALLOCATE_FUNCTION Allocate,
                                            PFREE_FUNCTION Free, POOL_TYPE Type, SIZE_T Size,
                                            ULONG Tag, USHORT Depth);
KDPC_EXPORT void kdpc_ExDeleteLookaside(GENERAL_LOOKASIDE *L);
KDPC_EXPORT PVOID kdpc_ExAllocateFromLookaside(GENERAL_LOOKASIDE *L);
KDPC_EXPORT void kdpc_ExFreeToLookaside(GENERAL_LOOKASIDE *L, PVOID Entry);

/** ExInitializeNPagedLookasideList - blocks of @Size nonpaged bytes; NULL Allocate/Free use
 * ExAllocatePoolWithTag / ExFreePool; Depth 0 picks 4. IRQL: <= DISPATCH_LEVEL. */
static inline void ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside,
                                                   PALLOCATE_FUNCTION Allocate, PFREE_FUNCTION Free,
                                                   ULONG Flags, SIZE_T Size, ULONG Tag,
                                                   USHORT Depth)
{
    (void)Flags;
    kdpc_ExInitializeLookaside(&Lookaside->L, Allocate, Free, NonPagedPoolNx, Size, Tag, Depth);
}
/** ExDeleteNPagedLookasideList - free every block it keeps. */
static inline void ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside)
{
    kdpc_ExDeleteLookaside(&Lookaside->L);
}
/** ExAllocateFromNPagedLookasideList - a kept block, else a new one (NULL on failure). */
static inline PVOID ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside)
{
    return kdpc_ExAllocateFromLookaside(&Lookaside->L);
}
/** ExFreeToNPagedLookasideList - keep the block (up to Depth), else free it. */
static inline void ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
    kdpc_ExFreeToLookaside(&Lookaside->L, Entry);
}
/** ExInitializePagedLookasideList - the paged twin. IRQL: <= APC_LEVEL. */
static inline void ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside,
                                                  PALLOCATE_FUNCTION Allocate, PFREE_FUNCTION Free,
                                                  ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth)
{
    (void)Flags;
    kdpc_ExInitializeLookaside(&Lookaside->L, Allocate, Free, PagedPool, Size, Tag, Depth);
}
static inline void ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside)
{
    kdpc_ExDeleteLookaside(&Lookaside->L);
}
static inline PVOID ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside)
{
    return kdpc_ExAllocateFromLookaside(&Lookaside->L);
}
static inline void ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
    kdpc_ExFreeToLookaside(&Lookaside->L, Entry);
}

KDPC_EXPORT void kdpc_KeFlushIoBuffers(PMDL Mdl, BOOLEAN ReadOperation, BOOLEAN DmaOperation);
/**
 * KeFlushIoBuffers - make a PIO read's data visible to the processors (a
 * no-op for the cache on x64; kdpc records it for pio.not_flushed).
 * IRQL: <= DISPATCH_LEVEL.
 */
static inline void KeFlushIoBuffers(PMDL Mdl, BOOLEAN ReadOperation, BOOLEAN DmaOperation)
{
    kdpc_KeFlushIoBuffers(Mdl, ReadOperation, DmaOperation);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_POOL_H */
