/* SPDX-License-Identifier: MIT */
/*
 * section.c - pageable driver sections: MmLockPagableCodeSection /
 * MmLockPagableDataSection, MmLockPagableSectionByHandle,
 * MmUnlockPagableImageSection, MmPageEntireDriver, MmResetDriverPaging.
 * kdpc pages no code or data (alloc_text pragmas vanish), so they only check
 * the IRQL Microsoft documents (<= APC_LEVEL: they may page).
 */
#include "ke/ke.h"
#include "mm/mm.h"

static bool ctx_ok(const char *routine)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(routine, &c);
    if (m == NULL)
        return false;
    /* mm.section_irql (IrqlMmApcLte): P3 APC_LEVEL, P4 0 */
    bool ok = kdpc__ver_irql_at_most(m, KDPC_R_MM_SECTION_IRQL, c->irql, APC_LEVEL,
                                     KDPC_DDI_IRQL_MM_APC_LTE, APC_LEVEL, 0, routine);
    kdpc__ke_point(m);
    return ok;
}

PVOID kdpc_MmLockPagableSection(PVOID AddressWithinSection, const char *routine)
{
    (void)ctx_ok(routine != NULL ? routine : "MmLockPagableDataSection");
    return AddressWithinSection;
}

void kdpc_MmLockPagableSectionByHandle(PVOID ImageSectionHandle)
{
    (void)ImageSectionHandle;
    (void)ctx_ok("MmLockPagableSectionByHandle");
}

void kdpc_MmUnlockPagableImageSection(PVOID ImageSectionHandle)
{
    (void)ImageSectionHandle;
    (void)ctx_ok("MmUnlockPagableImageSection");
}

PVOID kdpc_MmPageEntireDriver(PVOID AddressWithinSection)
{
    (void)ctx_ok("MmPageEntireDriver");
    return AddressWithinSection;
}

void kdpc_MmResetDriverPaging(PVOID AddressWithinSection)
{
    (void)AddressWithinSection;
    (void)ctx_ok("MmResetDriverPaging");
}
