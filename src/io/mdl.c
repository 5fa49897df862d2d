/* SPDX-License-Identifier: MIT */
/*
 * mdl.c - MDLs: IoAllocateMdl, IoFreeMdl, MmBuildMdlForNonPagedPool. All
 * simulated memory is resident, so an MDL is a description of a buffer in
 * the host address space; page arithmetic follows 4 KiB pages.
 *
 * Objects: every MDL kdpc hands out (IoAllocateMdl, the IRP builders) is in
 * the I/O registry and is looked up before it is read. IoFreeMdl frees pool
 * on Windows: an MDL already freed is BAD_POOL_CALLER 0xC2/0x07 (P4 = the
 * MDL), anything else not allocated by kdpc 0xC2/0x46 (P2 = the pointer);
 * the Mm* routines and IoAllocateMdl's Irp take the access violation
 * Windows would (0x50 / 0x1E / 0xA, validate.c). Off or a warning: nothing done.
 *
 * MDL state (mm.mdl_flags, Driver Verifier's automatic checks; P2 the MDL, P3 its flags):
 * MmProbeAndLockPages on an MDL already locked, built for nonpaged pool or partial is 0xC4/0xB0
 * (P4 the flags that should not be there); MmUnlockPages on pages never locked 0x7C, or 0x7D for
 * an MDL built for nonpaged pool (those are never unlocked); MmBuildMdlForNonPagedPool over paged
 * pool 0x7F (P2 the IRQL, P3 the MDL, P4 its flags). Off or a warning, the call does what it did
 * before: the flags change as asked.
 */
#include "io/io.h"
#include "mm/mm.h"

PMDL kdpc_IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                        BOOLEAN ChargeQuota, PIRP Irp)
{
    (void)ChargeQuota;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAllocateMdl", &c);
    if (m == NULL || (Irp != NULL && !kdpc__io_need(m, "IoAllocateMdl", KDPC_RP(kdpc_IoAllocateMdl),
                                                    Irp, KDPC_IOK_IRP)))
        return NULL;
    if (Length == 0 || kdpc__pool_fail(m))
        return NULL;
    PMDL mdl = kdpc__io_alloc(m, kdpc__mm_mdl_bytes(VirtualAddress, Length)); /* + PFNs */
    if (mdl == NULL)
        return NULL;
    if (!kdpc__io_register(m, mdl, KDPC_IOK_MDL)) {
        kdpc__io_free_mem(m, mdl);
        return NULL;
    }
    uintptr_t a = (uintptr_t)VirtualAddress;
    mdl->StartVa = (PVOID)(a & ~(uintptr_t)(PAGE_SIZE - 1));
    mdl->ByteOffset = (ULONG)(a & (PAGE_SIZE - 1));
    mdl->ByteCount = Length;
    kdpc__mm_mdl_fill(mdl);
    if (Irp != NULL) {
        if (!SecondaryBuffer || Irp->MdlAddress == NULL) {
            kdpc__io_irp_set_mdl(m, Irp, mdl); /* KeFlushIoBuffers' index (irp.c) */
        } else {
            PMDL last = Irp->MdlAddress;
            while (last->Next != NULL)
                last = last->Next;
            last->Next = mdl;
        }
    }
    kdpc__ke_point(m);
    return mdl;
}

void kdpc_IoFreeMdl(PMDL Mdl)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoFreeMdl", &c);
    if (m == NULL)
        return;
    if (kdpc__io_live_kind(m, Mdl) != KDPC_IOK_MDL) {
        if (Mdl == NULL)
            kdpc__io_invalid_access(m, "IoFreeMdl", KDPC_RP(kdpc_IoFreeMdl), Mdl, KDPC_IOK_MDL);
        else if (kdpc__io_live_kind(m, Mdl) == KDPC_IOK_NONE &&
                 kdpc__io_retired_kind(m, Mdl) == KDPC_IOK_MDL)
            kdpc__io_invalid(m, "IoFreeMdl", Mdl, KDPC_IOK_MDL, 0xC2, 0x07, 0, 0, (uintptr_t)Mdl);
        else
            kdpc__io_invalid(m, "IoFreeMdl", Mdl, KDPC_IOK_MDL, 0xC2, 0x46, (uintptr_t)Mdl, 0, 0);
        return; /* off or a warning: nothing is freed */
    }
    if ((Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) ==
        MDL_MAPPED_TO_SYSTEM_VA) /* mm.mdl_flags 0xB8; as a warning or off, freed all the same */
        kdpc__violation(m, KDPC_R_MM_MDL_FLAGS, 0xC4, 0xB8, (uintptr_t)Mdl, (uint16_t)Mdl->MdlFlags,
                        0, NULL,
                        "IoFreeMdl(%p): its pages are still mapped to system space "
                        "(MmUnmapLockedPages, or MmUnlockPages, undoes the mapping first)",
                        (void *)Mdl);
    kdpc__io_unregister(m, Mdl);
    kdpc__trace_forget(m, Mdl, sizeof(MDL)); /* trace numbers, names of objects in it */
    kdpc__io_free_mem(m, Mdl);
}

/* The MDL routines below may be called where there is no machine (no registry to look in). */
static bool mdl_ok(const char *name, kdpc_routine_ptr fn, PMDL mdl)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->m->ke == NULL)
        return mdl != NULL;
    return kdpc__io_need(t->m, name, fn, mdl, KDPC_IOK_MDL);
}

/* mm.irql (irql-io): MmProbeAndLockPages and MmUnlockPages run at IRQL <= DISPATCH_LEVEL; above
 * it Driver Verifier's 0xC4 0x70 / 0x78, P2 the IRQL, P3 the MDL, P4 the access mode / 0. As a
 * warning or off the call goes on. */
#define VF_PROBE_LOCK_IRQL 0x70u
#define VF_UNLOCK_IRQL     0x78u

static void mm_irql(kdpc__thread *t, uint32_t p1, PMDL mdl, uint64_t p4, const char *routine)
{
    if (t != NULL && t->m->ke != NULL && t->cpu != NULL)
        (void)kdpc__ver_irql_at_most(t->m, KDPC_R_MM_IRQL, t->cpu->irql, DISPATCH_LEVEL, p1,
                                     (uintptr_t)mdl, p4, routine);
}

/* Flags MmProbeAndLockPages refuses: the pages are locked or need no lock already. */
#define MDL_NOT_TO_LOCK (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL)

void kdpc_MmProbeAndLockPages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Op)
{
    (void)AccessMode;
    (void)Op;
    if (!mdl_ok("MmProbeAndLockPages", KDPC_RP(kdpc_MmProbeAndLockPages), Mdl))
        return;
    kdpc__thread *t = kdpc__self();
    mm_irql(t, VF_PROBE_LOCK_IRQL, Mdl, (uint64_t)AccessMode, "MmProbeAndLockPages");
    unsigned bad = (unsigned)(uint16_t)Mdl->MdlFlags & MDL_NOT_TO_LOCK;
    if (bad != 0 && t != NULL && t->m->ke != NULL)
        kdpc__violation(t->m, KDPC_R_MM_MDL_FLAGS, 0xC4, 0xB0, (uintptr_t)Mdl,
                        (uint16_t)Mdl->MdlFlags, bad, NULL,
                        "MmProbeAndLockPages(%p): the MDL is %s", (void *)Mdl,
                        (bad & MDL_PAGES_LOCKED) != 0              ? "locked already"
                        : (bad & MDL_SOURCE_IS_NONPAGED_POOL) != 0 ? "built for nonpaged pool"
                                                                   : "a partial MDL");
    Mdl->MdlFlags |= MDL_PAGES_LOCKED;
}

void kdpc_MmUnlockPages(PMDL Mdl)
{
    if (!mdl_ok("MmUnlockPages", KDPC_RP(kdpc_MmUnlockPages), Mdl))
        return;
    kdpc__thread *t = kdpc__self();
    mm_irql(t, VF_UNLOCK_IRQL, Mdl, 0, "MmUnlockPages");
    if ((Mdl->MdlFlags & MDL_PAGES_LOCKED) == 0 && t != NULL && t->m->ke != NULL) {
        bool nonpaged = (Mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL) != 0;
        kdpc__violation(t->m, KDPC_R_MM_MDL_FLAGS, 0xC4, nonpaged ? 0x7Du : 0x7Cu, (uintptr_t)Mdl,
                        (uint16_t)Mdl->MdlFlags, 0, NULL, "MmUnlockPages(%p): %s", (void *)Mdl,
                        nonpaged ? "the MDL describes nonpaged pool, which is never unlocked"
                                 : "its pages were never locked");
    }
    /* as on Windows, unlocking also undoes a system mapping (MmGetSystemAddressForMdlSafe's) */
    if ((Mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL) == 0 &&
        (Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) != 0) {
        Mdl->MappedSystemVa = NULL;
        Mdl->MdlFlags &= (CSHORT)~MDL_MAPPED_TO_SYSTEM_VA;
    }
    Mdl->MdlFlags &= (CSHORT)~MDL_PAGES_LOCKED;
}

void kdpc_MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
    if (!mdl_ok("MmBuildMdlForNonPagedPool", KDPC_RP(kdpc_MmBuildMdlForNonPagedPool),
                MemoryDescriptorList))
        return;
    kdpc__thread *t = kdpc__self();
    PMDL mdl = MemoryDescriptorList;
    if (t != NULL && t->m->ke != NULL && t->cpu != NULL &&
        kdpc__pool_is_paged(t->m, MmGetMdlVirtualAddress(mdl), mdl->ByteCount))
        kdpc__violation(t->m, KDPC_R_MM_MDL_FLAGS, 0xC4, 0x7F, t->cpu->irql, (uintptr_t)mdl,
                        (uint16_t)mdl->MdlFlags, NULL,
                        "MmBuildMdlForNonPagedPool(%p): the buffer %p is paged pool", (void *)mdl,
                        MmGetMdlVirtualAddress(mdl));
    MemoryDescriptorList->MappedSystemVa = MmGetMdlVirtualAddress(MemoryDescriptorList);
    MemoryDescriptorList->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL | MDL_MAPPED_TO_SYSTEM_VA;
}

PVOID kdpc_MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
    (void)Priority;
    if (!mdl_ok("MmGetSystemAddressForMdlSafe", KDPC_RP(kdpc_MmGetSystemAddressForMdlSafe), Mdl))
        return NULL;
    if (Mdl->MappedSystemVa == NULL || (Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) == 0) {
        PVOID va = MmGetMdlVirtualAddress(Mdl);
        kdpc_machine *m = kdpc_current_machine();
        unsigned mapped_ok = MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL;
        if (m != NULL && ((unsigned)(uint16_t)Mdl->MdlFlags & mapped_ok) == 0)
            /* it maps through MmMapLockedPagesSpecifyCache on Windows: 0xC4/0xB3 there too */
            kdpc__violation(m, KDPC_R_MM_MDL_FLAGS, 0xC4, 0xB3, (uintptr_t)Mdl,
                            (uint16_t)Mdl->MdlFlags, mapped_ok, NULL,
                            "MmGetSystemAddressForMdlSafe(%p): the MDL's pages were never locked "
                            "(MmProbeAndLockPages) nor built for nonpaged pool",
                            (void *)Mdl);
        if (m != NULL && (Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL)) != 0)
            va = kdpc__pool_system_va(m, va);
        Mdl->MappedSystemVa = va;
        Mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
    }
    return Mdl->MappedSystemVa;
}
