/* SPDX-License-Identifier: MIT */
/*
 * mdl.c - MDL sizes and PFN arrays: MmSizeOfMdl, and the PFN array every MDL
 * kdpc makes carries after it (MmGetMdlPfnArray).
 */
#include "mm/mm.h"

size_t kdpc__mm_mdl_bytes(const void *va, size_t len)
{
    size_t pages = (((uintptr_t)va & (PAGE_SIZE - 1)) + len + PAGE_SIZE - 1) >> PAGE_SHIFT;
    return sizeof(MDL) + pages * sizeof(PFN_NUMBER);
}

void kdpc__mm_mdl_fill(PMDL mdl)
{
    size_t bytes = kdpc__mm_mdl_bytes((const char *)mdl->StartVa + mdl->ByteOffset, mdl->ByteCount);
    /* Size is a CSHORT: an MDL of more than 4089 pages cannot tell its size (kdpc keeps the
     * largest value; the PFN array is complete) */
    mdl->Size = (CSHORT)(bytes > 0x7FF8u ? 0x7FF8u : bytes);
    size_t n = (bytes - sizeof(MDL)) / sizeof(PFN_NUMBER);
    PPFN_NUMBER pfn = MmGetMdlPfnArray(mdl);
    PFN_NUMBER first = (PFN_NUMBER)((uintptr_t)mdl->StartVa >> PAGE_SHIFT);
    for (size_t i = 0; i < n; i++)
        pfn[i] = first + i;
}

SIZE_T kdpc_MmSizeOfMdl(PVOID Base, SIZE_T Length)
{
    return kdpc__mm_mdl_bytes(Base, Length);
}
