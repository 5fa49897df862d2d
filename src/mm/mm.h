/* SPDX-License-Identifier: MIT */
/*
 * mm.h - the memory manager layer's internal interface: MDL sizes and PFN
 * arrays (every MDL kdpc makes carries one), the pages
 * MmAllocatePagesForMdl(Ex) gave, and the IRQL check of the Mm routines.
 *
 * A page's physical address is its host address (identity, as in
 * MmGetPhysicalAddress), so its PFN is the host address >> PAGE_SHIFT.
 * Lock legend: B baton holder only (every call here).
 */
#ifndef KDPC_MM_H
#define KDPC_MM_H

#include <kdpc/wdm.h>
#include "sim/sim.h"
#include "verifier/verifier.h"

/* Bytes of an MDL for [va, va + len): the MDL and one PFN_NUMBER per page spanned. */
size_t kdpc__mm_mdl_bytes(const void *va, size_t len);
/* Set @mdl's Size and fill its PFN array from StartVa, ByteOffset and ByteCount (the memory
 * after it must be kdpc__mm_mdl_bytes long). */
void kdpc__mm_mdl_fill(PMDL mdl);

/* Pages MmAllocatePagesForMdl(Ex) gave, one record per MDL (pages.c). */
typedef struct kdpc__mm_pages {
    PMDL mdl;
    void *base; /* page-aligned host memory */
    size_t bytes;
    struct kdpc__mm_pages *next;
} kdpc__mm_pages;

typedef struct kdpc__mm {
    kdpc__mm_pages *pages;
} kdpc__mm;

kdpc__mm *kdpc__mm_get(kdpc_machine *m); /* made on first use; NULL: no host memory */
kdpc__mm_pages *kdpc__mm_pages_of(kdpc_machine *m, const MDL *mdl);
/* Machine teardown: pages never freed go back to the host. */
void kdpc__mm_free(kdpc_machine *m);

#define KDPC_DDI_IRQL_MM_APC_LTE 0x20019u /* IrqlMmApcLte: the pageable-section routines */
/* Driver Verifier's own 0xC4 codes (docs/facts/memory.md 4.1, 4.3): */
#define KDPC_VF_MM_PAGES_IRQL      0x7Eu /* MmAllocatePagesForMdl(Ex)/MmFreePagesFromMdl > DISPATCH */
#define KDPC_VF_MM_MAP_KERNEL_IRQL 0x76u /* MmMapLockedPagesSpecifyCache, KernelMode > DISPATCH */
#define KDPC_VF_MM_MAP_USER_IRQL   0x77u /* MmMapLockedPagesSpecifyCache, UserMode > APC */
#define KDPC_VF_MM_UNMAP_IRQL      0x79u /* MmUnmapLockedPages (kernel mapping) > DISPATCH */
#define KDPC_VF_MM_UNMAP_USER_IRQL 0x7Au /* MmUnmapLockedPages (UserMode mapping) > APC */

/* IRQL check of an Mm routine: true when the calling CPU is at most @max; else the mm.irql
 * report (0xC4, P1 @p1, P2 the IRQL, P3 @p3, P4 @p4), which returns as a warning or off: then
 * false. */
static inline bool kdpc__mm_irql_ok_p(kdpc_machine *m, const kdpc__cpu *c, KIRQL max, uint32_t p1,
                                      uint64_t p3, uint64_t p4, const char *routine)
{
    return kdpc__ver_irql_at_most(m, KDPC_R_MM_IRQL, c->irql, max, p1, p3, p4, routine);
}
/* The same with P3 @max and P4 0 (IrqlMmApcLte's and Driver Verifier's 0x7E layout). */
static inline bool kdpc__mm_irql_ok(kdpc_machine *m, const kdpc__cpu *c, KIRQL max, uint32_t p1,
                                    const char *routine)
{
    return kdpc__mm_irql_ok_p(m, c, max, p1, max, 0, routine);
}

#endif /* KDPC_MM_H */
