/* SPDX-License-Identifier: MIT */
/*
 * pages.c - physical pages for an MDL: MmAllocatePagesForMdl(Ex) and
 * MmFreePagesFromMdl (docs/facts/memory.md, "Memory manager").
 *
 * The pages of one call are one page-aligned host block, so they are
 * physically contiguous (physical = host address) and StartVa can name them:
 * the existing MDL routines (MmGetSystemAddressForMdlSafe, IoBuildPartialMdl)
 * then work on the MDL unchanged. The MDL itself is pool (tag 'MmMd'), as the
 * caller frees it with ExFreePool; it is in the I/O manager's registry of
 * MDLs from allocation until MmFreePagesFromMdl.
 */
#include <stdlib.h>

#include "io/io.h"
#include "ke/ke.h"
#include "mm/mm.h"

#define MDL_TAG   0x644d6d4du                                    /* 'MmMd' */
#define MAX_PAGES ((0x7FF8u - sizeof(MDL)) / sizeof(PFN_NUMBER)) /* what a CSHORT Size holds */
#define FILL_BYTE 0xCCu /* MM_DONT_ZERO_ALLOCATION: not zero, so reliance on zero shows */

kdpc__mm *kdpc__mm_get(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke->mm == NULL)
        ke->mm = calloc(1, sizeof(kdpc__mm));
    return ke->mm;
}

kdpc__mm_pages *kdpc__mm_pages_of(kdpc_machine *m, const MDL *mdl)
{
    kdpc__mm *mm = kdpc__ke_of(m)->mm;
    for (kdpc__mm_pages *p = mm == NULL ? NULL : mm->pages; p != NULL; p = p->next)
        if (p->mdl == mdl)
            return p;
    return NULL;
}

void kdpc__mm_free(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    kdpc__mm *mm = ke == NULL ? NULL : ke->mm;
    if (mm == NULL)
        return;
    while (mm->pages != NULL) {
        kdpc__mm_pages *p = mm->pages;
        mm->pages = p->next;
        free(p->base);
        free(p);
    }
    free(mm);
    ke->mm = NULL;
}

/* How many whole pages [@lo, @hi] holds (a negative @hi: no upper limit). The range bounds how
 * much one call gives; the pages themselves are host memory wherever the host puts it
 * (Divergence, mm.h: like kdpc's DMA addresses, they are not kept below a 32-bit device's limit).
 */
static uint64_t range_pages(PHYSICAL_ADDRESS lo, PHYSICAL_ADDRESS hi)
{
    if (lo.QuadPart < 0)
        return 0;
    uint64_t h = hi.QuadPart < 0 ? UINT64_MAX : (uint64_t)hi.QuadPart;
    uint64_t l = (uint64_t)lo.QuadPart;
    uint64_t first = l / PAGE_SIZE + (l % PAGE_SIZE != 0 ? 1u : 0u);
    uint64_t end = h / PAGE_SIZE + (h % PAGE_SIZE == PAGE_SIZE - 1 ? 1u : 0u); /* pages <= h */
    return end > first ? end - first : 0;
}

PMDL kdpc_MmAllocatePagesForMdlEx(PHYSICAL_ADDRESS LowAddress, PHYSICAL_ADDRESS HighAddress,
                                  PHYSICAL_ADDRESS SkipBytes, SIZE_T TotalBytes,
                                  MEMORY_CACHING_TYPE CacheType, ULONG Flags)
{
    (void)CacheType;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("MmAllocatePagesForMdlEx", &c);
    if (m == NULL ||
        !kdpc__mm_irql_ok(m, c, DISPATCH_LEVEL, KDPC_VF_MM_PAGES_IRQL, "MmAllocatePagesForMdlEx"))
        return NULL;
    if (TotalBytes == 0 || SkipBytes.QuadPart < 0 || (SkipBytes.QuadPart % PAGE_SIZE) != 0 ||
        kdpc__pool_fail(m))
        return NULL;
    /* (no TotalBytes + PAGE_SIZE - 1: near SIZE_T's top it wraps to 0 pages) */
    size_t pages = TotalBytes / PAGE_SIZE + (TotalBytes % PAGE_SIZE != 0 ? 1u : 0u);
    uint64_t range = range_pages(LowAddress, HighAddress);
    size_t most = range < MAX_PAGES ? (size_t)range : MAX_PAGES;
    if (most == 0)
        return NULL; /* no whole page in [LowAddress, HighAddress] */
    if (pages > most) {
        if ((Flags & MM_ALLOCATE_FULLY_REQUIRED) != 0)
            return NULL;
        pages = most; /* a partial allocation, as Windows may give */
    }
    size_t bytes = pages * PAGE_SIZE;
    kdpc__mm *mm = kdpc__mm_get(m);
    kdpc__mm_pages *rec = mm == NULL ? NULL : calloc(1, sizeof(*rec));
    void *base = rec == NULL ? NULL : aligned_alloc(PAGE_SIZE, bytes);
    if (base == NULL) {
        free(rec);
        return NULL;
    }
    memset(base, (Flags & MM_DONT_ZERO_ALLOCATION) != 0 ? FILL_BYTE : 0, bytes);
    PMDL mdl = kdpc__pool_kernel_alloc(NonPagedPoolNx, kdpc__mm_mdl_bytes(base, bytes), MDL_TAG);
    if (mdl == NULL || !kdpc__io_register(m, mdl, KDPC_IOK_MDL)) {
        if (mdl != NULL)
            kdpc_ExFreePoolWithTag(mdl, MDL_TAG);
        free(base);
        free(rec);
        return NULL;
    }
    memset(mdl, 0, sizeof(*mdl));
    mdl->StartVa = base;
    mdl->ByteOffset = 0;
    mdl->ByteCount = (ULONG)bytes;
    mdl->MdlFlags = MDL_PAGES_LOCKED;
    kdpc__mm_mdl_fill(mdl);
    rec->mdl = mdl;
    rec->base = base;
    rec->bytes = bytes;
    rec->next = mm->pages;
    mm->pages = rec;
    kdpc__ke_point(m);
    return mdl;
}

void kdpc_MmFreePagesFromMdl(PMDL MemoryDescriptorList)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("MmFreePagesFromMdl", &c);
    if (m == NULL ||
        !kdpc__mm_irql_ok(m, c, DISPATCH_LEVEL, KDPC_VF_MM_PAGES_IRQL, "MmFreePagesFromMdl"))
        return;
    kdpc__mm *mm = kdpc__ke_of(m)->mm;
    kdpc__mm_pages **pp = mm == NULL ? NULL : &mm->pages;
    while (pp != NULL && *pp != NULL && (*pp)->mdl != MemoryDescriptorList)
        pp = &(*pp)->next;
    if (pp == NULL || *pp == NULL) {
        /* pages MmAllocatePagesForMdl(Ex) did not give, or freed already: kdpc's choice of
         * Windows's code is PFN_LIST_CORRUPT 0x07 (pages freed more often than taken) */
        kdpc__violation(m, KDPC_R_MM_BAD_MDL, 0x4E, 0x07, (uintptr_t)MemoryDescriptorList, 0, 0,
                        NULL,
                        "MmFreePagesFromMdl(%p): not an MDL whose pages MmAllocatePagesForMdl(Ex) "
                        "gave, or its pages were freed already",
                        (void *)MemoryDescriptorList);
        return;
    }
    kdpc__mm_pages *p = *pp;
    *pp = p->next;
    kdpc__io_unregister(m, p->mdl);
    /* kdpc: the MDL describes no pages any more, and its mapping went with them */
    p->mdl->ByteCount = 0;
    p->mdl->MappedSystemVa = NULL;
    p->mdl->MdlFlags &= (CSHORT) ~(MDL_MAPPED_TO_SYSTEM_VA | MDL_PAGES_LOCKED);
    free(p->base);
    free(p);
    kdpc__ke_point(m);
}
