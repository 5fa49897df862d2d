/* SPDX-License-Identifier: MIT */
/*
 * mdl.c - MDLs: IoAllocateMdl, IoFreeMdl, MmBuildMdlForNonPagedPool. All
 * simulated memory is resident, so an MDL is a description of a buffer in
 * the host address space; page arithmetic follows 4 KiB pages.
 */
#include "io/io.h"

PMDL kdpc_IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                        BOOLEAN ChargeQuota, PIRP Irp)
{
    (void)ChargeQuota;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAllocateMdl", &c);
    if (m == NULL || Length == 0 || kdpc__pool_fail(m))
        return NULL;
    PMDL mdl = kdpc__io_alloc(m, sizeof(*mdl));
    if (mdl == NULL)
        return NULL;
    uintptr_t a = (uintptr_t)VirtualAddress;
    mdl->Size = (CSHORT)sizeof(MDL);
    mdl->StartVa = (PVOID)(a & ~(uintptr_t)(PAGE_SIZE - 1));
    mdl->ByteOffset = (ULONG)(a & (PAGE_SIZE - 1));
    mdl->ByteCount = Length;
    if (Irp != NULL) {
        if (!SecondaryBuffer || Irp->MdlAddress == NULL) {
            Irp->MdlAddress = mdl;
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
    if (m == NULL || Mdl == NULL)
        return;
    kdpc__trace_forget(m, Mdl, sizeof(MDL)); /* trace numbers, names of objects in it */
    kdpc__io_free_mem(m, Mdl);
}

void kdpc_MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
    if (MemoryDescriptorList == NULL)
        return;
    MemoryDescriptorList->MappedSystemVa = MmGetMdlVirtualAddress(MemoryDescriptorList);
    MemoryDescriptorList->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL | MDL_MAPPED_TO_SYSTEM_VA;
}

PVOID kdpc_MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
    (void)Priority;
    if (Mdl == NULL)
        return NULL;
    if (Mdl->MappedSystemVa == NULL || (Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) == 0) {
        PVOID va = MmGetMdlVirtualAddress(Mdl);
        kdpc_machine *m = kdpc_current_machine();
        if (m != NULL && (Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL)) != 0)
            va = kdpc__pool_system_va(m, va);
        Mdl->MappedSystemVa = va;
        Mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
    }
    return Mdl->MappedSystemVa;
}
