/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/mm.h - the memory manager routines a driver uses beyond pool and
 * I/O space: physical pages for an MDL (MmAllocatePagesForMdl(Ex),
 * MmFreePagesFromMdl, MmGetMdlPfnArray), mapping locked pages
 * (MmMapLockedPagesSpecifyCache, MmUnmapLockedPages), pageable driver
 * sections (MmLockPagableCodeSection & co.), PAGE_ALIGN, MmSizeOfMdl and
 * MmQuerySystemSize (docs/facts/memory.md, "Memory manager").
 *
 * kdpc has no physical memory: a page's physical address is its host
 * address (the identity MmGetPhysicalAddress and DMA logical addresses use),
 * so a PFN is the host address >> PAGE_SHIFT. Every page is resident: the
 * pageable-section routines only check their IRQL. Rule mm.irql: a routine
 * called above the IRQL Microsoft documents for it (0xC4, P2 the IRQL; P1
 * Driver Verifier's code for the routine: 0x7E for the page routines, 0x76 /
 * 0x77 / 0x79 for the mapping routines, else 0x20019, IrqlMmApcLte;
 * docs/rules.md).
 */
#ifndef KDPC_WDM_MM_H
#define KDPC_WDM_MM_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/hal.h>
#include <kdpc/wdm/irp.h>

KDPC_BEGIN_DECLS

/** A page frame number: a physical address >> PAGE_SHIFT. */
typedef ULONG_PTR PFN_NUMBER, *PPFN_NUMBER;

/** The start of the page @Va lies in. */
#define PAGE_ALIGN(Va) ((PVOID)((ULONG_PTR)(Va) & ~((ULONG_PTR)PAGE_SIZE - 1)))
/** @Size rounded up to a whole number of pages. */
#define ROUND_TO_PAGES(Size) (((ULONG_PTR)(Size) + PAGE_SIZE - 1) & ~((ULONG_PTR)PAGE_SIZE - 1))

/**
 * MmGetMdlPfnArray - the array of page frame numbers that follows an MDL, one
 * per page the MDL spans. Every MDL kdpc makes (IoAllocateMdl, the IRP
 * builders, MmAllocatePagesForMdl(Ex)) has it filled. IRQL: any.
 */
#define MmGetMdlPfnArray(Mdl) ((PPFN_NUMBER)((PMDL)(Mdl) + 1))

KDPC_EXPORT SIZE_T kdpc_MmSizeOfMdl(PVOID Base, SIZE_T Length);
/** MmSizeOfMdl - the bytes an MDL for [Base, Base + Length) takes: the MDL and one PFN_NUMBER
 * per page the range spans. IRQL: any. */
static inline SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length)
{
    return kdpc_MmSizeOfMdl(Base, Length);
}

/* ------------------------------------------------------------------ */
/* Physical pages for an MDL                                           */

/* MmAllocatePagesForMdlEx Flags */
#define MM_DONT_ZERO_ALLOCATION               0x00000001u
#define MM_ALLOCATE_FROM_LOCAL_NODE_ONLY      0x00000002u
#define MM_ALLOCATE_FULLY_REQUIRED            0x00000004u
#define MM_ALLOCATE_NO_WAIT                   0x00000008u
#define MM_ALLOCATE_PREFER_CONTIGUOUS         0x00000010u
#define MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS 0x00000020u
#define MM_ALLOCATE_FAST_LARGE_PAGES          0x00000040u

KDPC_EXPORT PMDL kdpc_MmAllocatePagesForMdlEx(PHYSICAL_ADDRESS LowAddress,
                                              PHYSICAL_ADDRESS HighAddress,
                                              PHYSICAL_ADDRESS SkipBytes, SIZE_T TotalBytes,
                                              MEMORY_CACHING_TYPE CacheType, ULONG Flags);
KDPC_EXPORT void kdpc_MmFreePagesFromMdl(PMDL MemoryDescriptorList);

/**
 * MmAllocatePagesForMdlEx - nonpaged physical pages (zero-filled unless
 * MM_DONT_ZERO_ALLOCATION) described by a new MDL: ByteOffset 0,
 * ByteCount the bytes given (TotalBytes rounded up to pages; less when not all
 * could be had: check MmGetMdlByteCount), MDL_PAGES_LOCKED, the PFN array
 * filled, StartVa the pages' address (kdpc; Windows gives it no meaning: use
 * MmMapLockedPagesSpecifyCache or MmGetSystemAddressForMdlSafe for an address). Free the pages with
 * MmFreePagesFromMdl, then the MDL with ExFreePool.
 * kdpc: the pages are physically contiguous and come in one piece; one call
 * gives at most 16 MiB - 1 page (the most an MDL's CSHORT Size describes; a
 * larger request gets a partial MDL, or NULL with MM_ALLOCATE_FULLY_REQUIRED).
 * CacheType and the NUMA/contiguity flags change nothing.
 * IRQL: <= DISPATCH_LEVEL (mm.irql, P1 0x7E; as a warning or off: NULL).
 * Return: the MDL; NULL when TotalBytes is 0, SkipBytes is not a multiple of
 * PAGE_SIZE, [LowAddress, HighAddress] holds no whole page, or no memory (the
 * low-resources simulation included). A range that holds fewer pages than
 * asked gives that many (partial; NULL with MM_ALLOCATE_FULLY_REQUIRED).
 * Divergence: the range only bounds how many pages one call gives: the pages
 * are host memory and their physical (= host) addresses lie wherever the host
 * put them, usually above 4 GiB, so a driver that asks for pages below a
 * 32-bit device's limit still gets them (kdpc's DMA does not bounce either:
 * dma.h). Pages outside the first range are never looked for (SkipBytes is
 * only checked).
 */
static inline PMDL MmAllocatePagesForMdlEx(PHYSICAL_ADDRESS LowAddress,
                                           PHYSICAL_ADDRESS HighAddress, PHYSICAL_ADDRESS SkipBytes,
                                           SIZE_T TotalBytes, MEMORY_CACHING_TYPE CacheType,
                                           ULONG Flags)
{
    return kdpc_MmAllocatePagesForMdlEx(LowAddress, HighAddress, SkipBytes, TotalBytes, CacheType,
                                        Flags);
}
/** MmAllocatePagesForMdl - MmAllocatePagesForMdlEx(..., MmCached, 0): zero-filled pages. */
static inline PMDL MmAllocatePagesForMdl(PHYSICAL_ADDRESS LowAddress, PHYSICAL_ADDRESS HighAddress,
                                         PHYSICAL_ADDRESS SkipBytes, SIZE_T TotalBytes)
{
    return kdpc_MmAllocatePagesForMdlEx(LowAddress, HighAddress, SkipBytes, TotalBytes, MmCached,
                                        0);
}
/**
 * MmFreePagesFromMdl - free the pages of an MDL MmAllocatePagesForMdl(Ex)
 * returned (its system mapping, if any, goes with them); the MDL itself stays
 * for ExFreePool. IRQL: <= DISPATCH_LEVEL (mm.irql, P1 0x7E; as a warning or off:
 * nothing is freed).
 * Bug check: an MDL whose pages MmAllocatePagesForMdl(Ex) did not give (or that
 * were freed already) is 0x4E PFN_LIST_CORRUPT, P1 0x07 (mm.bad_mdl, P2 the MDL);
 * as a warning or off: nothing is freed.
 */
static inline void MmFreePagesFromMdl(PMDL MemoryDescriptorList)
{
    kdpc_MmFreePagesFromMdl(MemoryDescriptorList);
}

/* ------------------------------------------------------------------ */
/* Mapping locked pages                                                */

/* Flags ORed into MmMapLockedPagesSpecifyCache's Priority */
#define MdlMappingNoWrite   0x80000000u
#define MdlMappingNoExecute 0x40000000u

KDPC_EXPORT PVOID kdpc_MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList,
                                                    KPROCESSOR_MODE AccessMode,
                                                    MEMORY_CACHING_TYPE CacheType,
                                                    PVOID RequestedAddress, ULONG BugCheckOnFailure,
                                                    ULONG Priority);
KDPC_EXPORT void kdpc_MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList);

/**
 * MmMapLockedPagesSpecifyCache - map the locked pages an MDL describes (its
 * pages locked by MmProbeAndLockPages, built by MmBuildMdlForNonPagedPool, or
 * given by MmAllocatePagesForMdl(Ex)) and return the address of the MDL's
 * first byte in the mapping. KernelMode: a system address; the MDL gets
 * MappedSystemVa and MDL_MAPPED_TO_SYSTEM_VA (a second call returns the same
 * mapping). UserMode: an address for the app (kdpc: the same host address;
 * Divergence: there is no separate user address space, and nothing is
 * recorded in the MDL, as on Windows). CacheType and Priority (with
 * MdlMappingNoWrite / MdlMappingNoExecute) change nothing: the mapping never
 * fails.
 * Bug check: BugCheckOnFailure TRUE (Microsoft: drivers must pass FALSE) is
 * 0xC4/0x82, P2 the MDL, P3 its flags (mm.map_bugcheck, as Driver Verifier;
 * as a warning or off the mapping is made).
 * IRQL: <= DISPATCH_LEVEL for KernelMode, <= APC_LEVEL for UserMode (mm.irql,
 * P1 0x76 / 0x77, P3 the MDL, P4 AccessMode; as a warning or off: NULL).
 * RequestedAddress: Microsoft documents it for UserMode only, as a start
 * address the system may round down (the caller uses what is returned); kdpc
 * returns the host address whatever it asks, and a KernelMode call ignores it.
 * Return: the address; NULL for a NULL MDL.
 */
static inline PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList,
                                                 KPROCESSOR_MODE AccessMode,
                                                 MEMORY_CACHING_TYPE CacheType,
                                                 PVOID RequestedAddress, ULONG BugCheckOnFailure,
                                                 ULONG Priority)
{
    return kdpc_MmMapLockedPagesSpecifyCache(MemoryDescriptorList, AccessMode, CacheType,
                                             RequestedAddress, BugCheckOnFailure, Priority);
}
/**
 * MmUnmapLockedPages - undo a mapping MmMapLockedPagesSpecifyCache made:
 * BaseAddress is the address it returned. For the MDL's system mapping the MDL
 * loses MappedSystemVa and MDL_MAPPED_TO_SYSTEM_VA. IRQL: <= DISPATCH_LEVEL
 * (mm.irql, P1 0x79, P3 BaseAddress, P4 the MDL; as a warning or off: nothing
 * is done).
 * Divergence: an address that is no mapping of the MDL is ignored.
 */
static inline void MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList)
{
    kdpc_MmUnmapLockedPages(BaseAddress, MemoryDescriptorList);
}

/* ------------------------------------------------------------------ */
/* Pageable driver sections                                            */

KDPC_EXPORT PVOID kdpc_MmLockPagableSection(PVOID AddressWithinSection, const char *routine);
KDPC_EXPORT void kdpc_MmLockPagableSectionByHandle(PVOID ImageSectionHandle);
KDPC_EXPORT void kdpc_MmUnlockPagableImageSection(PVOID ImageSectionHandle);
KDPC_EXPORT PVOID kdpc_MmPageEntireDriver(PVOID AddressWithinSection);
KDPC_EXPORT void kdpc_MmResetDriverPaging(PVOID AddressWithinSection);

/**
 * MmLockPagableCodeSection / MmLockPagableDataSection - make the pageable
 * section holding AddressWithinSection (a routine or a variable: macros, so a
 * function name needs no cast) resident until MmUnlockPagableImageSection.
 * kdpc pages nothing: the return is a handle (the address itself) to pass to
 * MmUnlockPagableImageSection or MmLockPagableSectionByHandle.
 * IRQL: <= APC_LEVEL (mm.irql; as a warning or off the handle is returned anyway).
 */
#define MmLockPagableCodeSection(AddressWithinSection)                                             \
    kdpc_MmLockPagableSection((PVOID)(ULONG_PTR)(AddressWithinSection), "MmLockPagableCodeSectio"  \
                                                                        "n")
#define MmLockPagableDataSection(AddressWithinSection)                                             \
    kdpc_MmLockPagableSection((PVOID)(ULONG_PTR)(AddressWithinSection), "MmLockPagableDataSectio"  \
                                                                        "n")
/** MmLockPagableSectionByHandle - lock a section again by the handle MmLockPagable*Section
 * returned. IRQL: <= APC_LEVEL (mm.irql). */
static inline void MmLockPagableSectionByHandle(PVOID ImageSectionHandle)
{
    kdpc_MmLockPagableSectionByHandle(ImageSectionHandle);
}
/** MmUnlockPagableImageSection - release one lock of the section. IRQL: <= APC_LEVEL
 * (mm.irql). */
static inline void MmUnlockPagableImageSection(PVOID ImageSectionHandle)
{
    kdpc_MmUnlockPagableImageSection(ImageSectionHandle);
}
/** MmPageEntireDriver - let the whole driver image be paged (kdpc: nothing is paged).
 * AddressWithinSection: any address in the image, usually DriverEntry (a macro: no cast needed).
 * Return: the image's section handle (kdpc: the address). IRQL: <= APC_LEVEL (mm.irql). */
#define MmPageEntireDriver(AddressWithinSection)                                                   \
    kdpc_MmPageEntireDriver((PVOID)(ULONG_PTR)(AddressWithinSection))
/** MmResetDriverPaging - page the driver image as its sections say again (kdpc: nothing is
 * paged). IRQL: <= APC_LEVEL (mm.irql). */
#define MmResetDriverPaging(AddressWithinSection)                                                  \
    kdpc_MmResetDriverPaging((PVOID)(ULONG_PTR)(AddressWithinSection))

/* ------------------------------------------------------------------ */
/* System size                                                         */

typedef enum _MM_SYSTEM_SIZE {
    MmSmallSystem = 0,
    MmMediumSystem = 1,
    MmLargeSystem = 2
} MM_SYSTEMSIZE;

KDPC_EXPORT MM_SYSTEMSIZE kdpc_MmQuerySystemSize(void);
/** MmQuerySystemSize - a rough size of the machine's memory. kdpc: MmLargeSystem (Divergence:
 * always; a simulated machine has no memory size of its own). IRQL: any. */
static inline MM_SYSTEMSIZE MmQuerySystemSize(void)
{
    return kdpc_MmQuerySystemSize();
}

KDPC_END_DECLS

#endif /* KDPC_WDM_MM_H */
