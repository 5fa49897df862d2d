/* SPDX-License-Identifier: MIT */
/*
 * map.c - mapping locked pages: MmMapLockedPagesSpecifyCache and
 * MmUnmapLockedPages. Every page is resident in the host's address space, so
 * a mapping is the MDL's own buffer address (for locked paged pool, the
 * pool's second view that stays valid at DISPATCH_LEVEL, as
 * MmGetSystemAddressForMdlSafe gives).
 */
#include "io/io.h"
#include "ke/ke.h"
#include "mm/mm.h"

static bool mdl_ok(kdpc_machine *m, const char *routine, kdpc_routine_ptr fn, PMDL mdl)
{
    return kdpc__io_need(m, routine, fn, mdl, KDPC_IOK_MDL);
}

PVOID kdpc_MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                        MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                        ULONG BugCheckOnFailure, ULONG Priority)
{
    (void)CacheType;
    (void)Priority;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("MmMapLockedPagesSpecifyCache", &c);
    if (m == NULL ||
        !kdpc__mm_irql_ok_p(m, c, AccessMode == KernelMode ? DISPATCH_LEVEL : APC_LEVEL,
                            AccessMode == KernelMode ? KDPC_VF_MM_MAP_KERNEL_IRQL
                                                     : KDPC_VF_MM_MAP_USER_IRQL,
                            (uintptr_t)MemoryDescriptorList, (uint64_t)AccessMode,
                            "MmMapLockedPagesSpecifyCache") ||
        !mdl_ok(m, "MmMapLockedPagesSpecifyCache", KDPC_RP(kdpc_MmMapLockedPagesSpecifyCache),
                MemoryDescriptorList))
        return NULL;
    PMDL mdl = MemoryDescriptorList;
    unsigned mapped_ok = MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL;
    if (((unsigned)(uint16_t)mdl->MdlFlags & mapped_ok) == 0)
        /* Driver Verifier's 0xC4/0xB3: the pages of an MDL are mapped only once locked (or
         * nonpaged, or through a partial MDL); P2 the MDL, P3 its flags, P4 the flags one of
         * which was expected. As a warning or off the mapping is made. */
        kdpc__violation(m, KDPC_R_MM_MDL_FLAGS, 0xC4, 0xB3, (uintptr_t)mdl, (uint16_t)mdl->MdlFlags,
                        mapped_ok, NULL,
                        "MmMapLockedPagesSpecifyCache(%p): the MDL's pages were never locked "
                        "(MmProbeAndLockPages) nor built for nonpaged pool",
                        (void *)mdl);
    if (BugCheckOnFailure != FALSE)
        /* Microsoft: drivers must pass FALSE; Driver Verifier's 0xC4/0x82, P2 the MDL, P3 its
         * flags. As a warning or off the mapping is made (it never fails in kdpc). */
        kdpc__violation(m, KDPC_R_MM_MAP_BUGCHECK, 0xC4, 0x82, (uintptr_t)mdl,
                        (uint64_t)(uint16_t)mdl->MdlFlags, 0, NULL,
                        "MmMapLockedPagesSpecifyCache(%p) with BugCheckOnFailure TRUE: drivers "
                        "must pass FALSE and check for NULL",
                        (void *)mdl);
    PVOID va = (char *)mdl->StartVa + mdl->ByteOffset;
    /* RequestedAddress: Microsoft documents it for UserMode only, as a start the system may
     * round down (the caller checks what comes back); kdpc gives the host address either way */
    (void)RequestedAddress;
    if (AccessMode != KernelMode)
        return va; /* the app's view: the same host memory */
    if ((mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) == 0 || mdl->MappedSystemVa == NULL) {
        mdl->MappedSystemVa = kdpc__pool_system_va(m, va);
        mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
    }
    kdpc__ke_point(m);
    return mdl->MappedSystemVa;
}

/* True when @va is a UserMode mapping of @mdl (irql-io, mm.irql 0x7A): kdpc's UserMode mapping is
 * the buffer's own address, its system mapping the one the MDL records. An MDL over nonpaged
 * pool, whose two mappings may be one address, counts as a system mapping. */
static bool user_mapping(kdpc_machine *m, PVOID va, PMDL mdl)
{
    if (!kdpc__io_valid(m, mdl, KDPC_IOK_MDL) || va == NULL ||
        (mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL) != 0)
        return false;
    if ((mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) != 0 && mdl->MappedSystemVa == va)
        return false;
    return va == (PVOID)((char *)mdl->StartVa + mdl->ByteOffset);
}

void kdpc_MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("MmUnmapLockedPages", &c);
    bool user = m != NULL && user_mapping(m, BaseAddress, MemoryDescriptorList);
    if (m == NULL ||
        !kdpc__mm_irql_ok_p(m, c, user ? APC_LEVEL : DISPATCH_LEVEL,
                            user ? KDPC_VF_MM_UNMAP_USER_IRQL : KDPC_VF_MM_UNMAP_IRQL,
                            (uintptr_t)BaseAddress, (uintptr_t)MemoryDescriptorList,
                            "MmUnmapLockedPages") ||
        !mdl_ok(m, "MmUnmapLockedPages", KDPC_RP(kdpc_MmUnmapLockedPages), MemoryDescriptorList))
        return;
    PMDL mdl = MemoryDescriptorList;
    if ((mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) != 0 && mdl->MappedSystemVa == BaseAddress &&
        (mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL) == 0) {
        mdl->MappedSystemVa = NULL;
        mdl->MdlFlags &= (CSHORT)~MDL_MAPPED_TO_SYSTEM_VA;
    }
    /* a user-mode mapping (or an address that is none) leaves nothing to undo */
    kdpc__ke_point(m);
}
