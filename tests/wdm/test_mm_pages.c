/* SPDX-License-Identifier: MIT */
/*
 * test_mm_pages.c - <kdpc/wdm/mm.h>: MmAllocatePagesForMdl(Ex),
 * MmFreePagesFromMdl, MmGetMdlPfnArray, MmSizeOfMdl, PAGE_ALIGN,
 * MmMapLockedPagesSpecifyCache / MmUnmapLockedPages, the pageable-section
 * routines, MmQuerySystemSize, and the rules mm.irql, mm.bad_mdl and
 * mm.map_bugcheck
 * (docs/facts/memory.md, "Memory manager").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kdpc_test.h"

static struct {
    PMDL mdl[5];
    PVOID va[8];
    ULONG count[4];
    CSHORT flags[4];
    int zero, pattern, pfn_ok, io_pfn_ok, same;
    PVOID h[4];
    int done;
} R;

static PHYSICAL_ADDRESS pa(LONGLONG v)
{
    PHYSICAL_ADDRESS p;
    p.QuadPart = v;
    return p;
}

static int all_bytes(const void *p, size_t n, unsigned char v)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != v)
            return 0;
    return 1;
}

static void test_page_macros_and_mdl_size(void **state)
{
    (void)state;
    assert_ptr_equal(PAGE_ALIGN((PVOID)(uintptr_t)0x12345), (PVOID)(uintptr_t)0x12000);
    assert_ptr_equal(PAGE_ALIGN((PVOID)(uintptr_t)0x12000), (PVOID)(uintptr_t)0x12000);
    assert_int_equal(ROUND_TO_PAGES(1), PAGE_SIZE);
    assert_int_equal(ROUND_TO_PAGES(PAGE_SIZE), PAGE_SIZE);
    assert_int_equal(ROUND_TO_PAGES(PAGE_SIZE + 1), 2 * PAGE_SIZE);
    assert_int_equal(sizeof(MDL), 48); /* x64 layout */
    assert_int_equal(sizeof(PFN_NUMBER), sizeof(void *));
    assert_int_equal(MmSizeOfMdl((PVOID)(uintptr_t)0x1000, PAGE_SIZE), sizeof(MDL) + 8);
    assert_int_equal(MmSizeOfMdl((PVOID)(uintptr_t)0x1FFF, 2), sizeof(MDL) + 16);
    assert_int_equal(MmSizeOfMdl((PVOID)(uintptr_t)0x1000, 0), sizeof(MDL));
    assert_int_equal(MmSmallSystem, 0);
    assert_int_equal(MmMediumSystem, 1);
    assert_int_equal(MmLargeSystem, 2);
    assert_int_equal(MmQuerySystemSize(), MmLargeSystem);
    assert_int_equal(MM_DONT_ZERO_ALLOCATION, 1);
    assert_int_equal(MM_ALLOCATE_FROM_LOCAL_NODE_ONLY, 2);
    assert_int_equal(MM_ALLOCATE_FULLY_REQUIRED, 4);
    assert_int_equal(MM_ALLOCATE_NO_WAIT, 8);
    assert_int_equal(MM_ALLOCATE_PREFER_CONTIGUOUS, 0x10);
    assert_int_equal(MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS, 0x20);
    assert_int_equal(MM_ALLOCATE_FAST_LARGE_PAGES, 0x40);
    assert_int_equal(MmCached, 1);
    assert_int_equal(MmNonCached, 0);
}

static void Pages(void *ctx)
{
    (void)ctx;
    PMDL mdl = MmAllocatePagesForMdl(pa(0), pa(-1), pa(0), 3 * PAGE_SIZE - 100);
    R.mdl[0] = mdl;
    if (mdl == NULL)
        return;
    R.count[0] = MmGetMdlByteCount(mdl);
    R.flags[0] = mdl->MdlFlags;
    R.va[0] = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE,
                                           NormalPagePriority | MdlMappingNoExecute);
    if (R.va[0] == NULL)
        return;
    R.zero = all_bytes(R.va[0], R.count[0], 0);
    R.flags[1] = mdl->MdlFlags;
    R.va[1] = mdl->MappedSystemVa;
    R.va[2] = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE,
                                           NormalPagePriority); /* the same mapping */
    R.va[3] = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
    memset(R.va[0], 0x5A, R.count[0]);
    /* the PFN array names the pages of the mapping */
    PPFN_NUMBER pfn = MmGetMdlPfnArray(mdl);
    R.pfn_ok = 1;
    for (ULONG i = 0; i < 3; i++) {
        PHYSICAL_ADDRESS p = MmGetPhysicalAddress((char *)R.va[0] + i * PAGE_SIZE);
        if (pfn[i] != (PFN_NUMBER)((ULONGLONG)p.QuadPart >> PAGE_SHIFT))
            R.pfn_ok = 0;
    }
    /* a user-mode view of the same pages */
    R.va[4] =
        MmMapLockedPagesSpecifyCache(mdl, UserMode, MmCached, NULL, FALSE, NormalPagePriority);
    R.same = R.va[4] != NULL && all_bytes(R.va[4], R.count[0], 0x5A);
    MmUnmapLockedPages(R.va[4], mdl);
    /* a KernelMode call with a RequestedAddress (documented for UserMode only): the mapping */
    R.va[5] =
        MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, R.va[0], FALSE, NormalPagePriority);
    MmUnmapLockedPages(R.va[0], mdl);
    R.flags[2] = mdl->MdlFlags;
    R.va[6] = mdl->MappedSystemVa;
    MmFreePagesFromMdl(mdl);
    ExFreePool(mdl);
    /* MM_DONT_ZERO_ALLOCATION: not zero-filled (kdpc fills 0xCC) */
    mdl = MmAllocatePagesForMdlEx(pa(0), pa(-1), pa(0), PAGE_SIZE, MmNonCached,
                                  MM_DONT_ZERO_ALLOCATION);
    R.mdl[1] = mdl;
    if (mdl != NULL) {
        PVOID v = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
        R.pattern = v != NULL && !all_bytes(v, PAGE_SIZE, 0);
        MmFreePagesFromMdl(mdl);
        ExFreePool(mdl);
    }
    R.done = 1;
}

static void test_pages_for_mdl_map_and_free(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 9);
    assert_int_equal(kdpc_machine_run(m, Pages, NULL), KDPC_OK);
    assert_int_equal(R.done, 1);
    assert_int_equal(R.count[0], 3 * PAGE_SIZE);
    assert_true((R.flags[0] & MDL_PAGES_LOCKED) != 0);
    assert_true((R.flags[0] & MDL_MAPPED_TO_SYSTEM_VA) == 0);
    assert_non_null(R.va[0]);
    assert_int_equal((uintptr_t)R.va[0] % PAGE_SIZE, 0);
    assert_int_equal(R.zero, 1);
    assert_true((R.flags[1] & MDL_MAPPED_TO_SYSTEM_VA) != 0);
    assert_ptr_equal(R.va[1], R.va[0]);
    assert_ptr_equal(R.va[2], R.va[0]);
    assert_ptr_equal(R.va[3], R.va[0]);
    assert_int_equal(R.pfn_ok, 1);
    assert_int_equal(R.same, 1);
    assert_ptr_equal(R.va[5], R.va[0]);
    assert_true((R.flags[2] & MDL_MAPPED_TO_SYSTEM_VA) == 0);
    assert_null(R.va[6]);
    assert_non_null(R.mdl[1]);
    assert_int_equal(R.pattern, 1);
    size_t count = 1, bytes = 1;
    assert_int_equal(kdpc_pool_outstanding(m, 0, &count, &bytes), KDPC_OK);
    assert_int_equal(count, 0); /* the MDLs went back with ExFreePool */
    kdpc_machine_destroy(m);
}

static void Limits(void *ctx)
{
    (void)ctx;
    R.mdl[0] = MmAllocatePagesForMdl(pa(0), pa(-1), pa(0), 0);                  /* nothing asked */
    R.mdl[1] = MmAllocatePagesForMdl(pa(0), pa(-1), pa(100), PAGE_SIZE);        /* odd SkipBytes */
    R.mdl[2] = MmAllocatePagesForMdl(pa(0x1800), pa(0x27FF), pa(0), PAGE_SIZE); /* no whole page */
    /* more than one MDL describes: a partial allocation, or NULL when all is required */
    R.mdl[3] = MmAllocatePagesForMdlEx(pa(0), pa(-1), pa(0), (SIZE_T)32 << 20, MmCached,
                                       MM_ALLOCATE_FULLY_REQUIRED);
    PMDL part = MmAllocatePagesForMdlEx(pa(0), pa(-1), pa(0), (SIZE_T)32 << 20, MmCached, 0);
    if (part != NULL) {
        R.count[0] = MmGetMdlByteCount(part);
        MmFreePagesFromMdl(part);
        ExFreePool(part);
    }
    /* the largest sizes (a count rounded up to pages must not wrap to none): partial, or NULL
     * when all is required */
    R.mdl[4] = MmAllocatePagesForMdlEx(pa(0), pa(-1), pa(0), ~(SIZE_T)0, MmCached,
                                       MM_ALLOCATE_FULLY_REQUIRED);
    part = MmAllocatePagesForMdl(pa(0), pa(-1), pa(0), ~(SIZE_T)0 - 100);
    if (part != NULL) {
        R.count[1] = MmGetMdlByteCount(part);
        MmFreePagesFromMdl(part);
        ExFreePool(part);
    }
    /* a range holds fewer pages than asked: what it holds, or NULL when all is required; a
     * 32-bit limit (below 4 GiB) is honoured in count only (mm.h's Divergence) */
    R.va[0] = MmAllocatePagesForMdlEx(pa(0x1000), pa(0x2FFF), pa(0), 3 * PAGE_SIZE, MmCached,
                                      MM_ALLOCATE_FULLY_REQUIRED);
    part = MmAllocatePagesForMdlEx(pa(0x1000), pa(0x2FFF), pa(0), 3 * PAGE_SIZE, MmCached, 0);
    if (part != NULL) {
        R.count[2] = MmGetMdlByteCount(part);
        MmFreePagesFromMdl(part);
        ExFreePool(part);
    }
    part = MmAllocatePagesForMdl(pa(0), pa(0xFFFFFFFF), pa(0), 2 * PAGE_SIZE);
    if (part != NULL) {
        R.count[3] = MmGetMdlByteCount(part);
        MmFreePagesFromMdl(part);
        ExFreePool(part);
    }
    R.va[1] = MmAllocatePagesForMdl(pa(0x2000), pa(0x1000), pa(0), PAGE_SIZE); /* High < Low */
    /* every MDL kdpc makes carries its PFN array */
    static char buf[3 * PAGE_SIZE];
    PMDL io = IoAllocateMdl(buf + 100, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    if (io != NULL) {
        MmBuildMdlForNonPagedPool(io);
        PPFN_NUMBER pfn = MmGetMdlPfnArray(io);
        PFN_NUMBER first = (PFN_NUMBER)((uintptr_t)(buf + 100) >> PAGE_SHIFT);
        R.io_pfn_ok = pfn[0] == first && pfn[1] == first + 1 && pfn[2] == first + 2 &&
                      (size_t)io->Size == MmSizeOfMdl(buf + 100, 2 * PAGE_SIZE);
        IoFreeMdl(io);
    }
    R.done = 1;
}

static void test_allocation_limits_and_pfn_arrays(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 9);
    assert_int_equal(kdpc_machine_run(m, Limits, NULL), KDPC_OK);
    assert_int_equal(R.done, 1);
    assert_null(R.mdl[0]);
    assert_null(R.mdl[1]);
    assert_null(R.mdl[2]);
    assert_null(R.mdl[3]);
    assert_true(R.count[0] > 0 && R.count[0] < (32u << 20));
    assert_int_equal(R.count[0] % PAGE_SIZE, 0);
    assert_null(R.mdl[4]);
    assert_int_equal(R.count[1], R.count[0]); /* as many pages as one MDL describes */
    assert_null(R.va[0]);
    assert_int_equal(R.count[2], 2 * PAGE_SIZE);
    assert_int_equal(R.count[3], 2 * PAGE_SIZE);
    assert_null(R.va[1]);
    assert_int_equal(R.io_pfn_ok, 1);
    kdpc_machine_destroy(m);
}

static void Sections(void *ctx)
{
    (void)ctx;
    R.h[0] = MmLockPagableCodeSection(Sections);
    R.h[1] = MmLockPagableDataSection(&R);
    MmLockPagableSectionByHandle(R.h[0]);
    MmUnlockPagableImageSection(R.h[0]);
    MmUnlockPagableImageSection(R.h[0]);
    MmUnlockPagableImageSection(R.h[1]);
    R.h[2] = MmPageEntireDriver(Sections);
    MmResetDriverPaging(Sections);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old); /* allowed: APC_LEVEL */
    R.h[3] = MmLockPagableDataSection(&R);
    MmUnlockPagableImageSection(R.h[3]);
    KeLowerIrql(old);
    R.done = 1;
}

static void test_pageable_sections_at_passive_and_apc(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 9);
    assert_int_equal(kdpc_machine_run(m, Sections, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mm.irql");
    assert_int_equal(R.done, 1);
    assert_ptr_equal(R.h[0], (PVOID)(uintptr_t)Sections);
    assert_ptr_equal(R.h[1], (PVOID)&R);
    assert_ptr_equal(R.h[2], (PVOID)(uintptr_t)Sections);
    assert_ptr_equal(R.h[3], (PVOID)&R);
    kdpc_machine_destroy(m);
}

static void SectionAtDispatch(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    R.h[0] = MmLockPagableCodeSection(SectionAtDispatch);
    KeLowerIrql(old);
    R.done = 1;
}

static void PagesAtHigh(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    R.mdl[0] = MmAllocatePagesForMdl(pa(0), pa(-1), pa(0), PAGE_SIZE);
    KeLowerIrql(old);
    R.done = 1;
}

static void UserMapAtDispatch(void *ctx)
{
    (void)ctx;
    PMDL mdl = MmAllocatePagesForMdl(pa(0), pa(-1), pa(0), PAGE_SIZE);
    if (mdl == NULL)
        return;
    R.mdl[1] = mdl;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    R.va[0] =
        MmMapLockedPagesSpecifyCache(mdl, UserMode, MmCached, NULL, FALSE, NormalPagePriority);
    KeLowerIrql(old);
    MmFreePagesFromMdl(mdl);
    ExFreePool(mdl);
    R.done = 1;
}

static void KernelMapAtHigh(void *ctx)
{
    (void)ctx;
    PMDL mdl = MmAllocatePagesForMdl(pa(0), pa(-1), pa(0), PAGE_SIZE);
    if (mdl == NULL)
        return;
    R.mdl[1] = mdl;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    R.va[0] =
        MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE, NormalPagePriority);
    KeLowerIrql(old);
    R.done = 1;
}

static void UnmapAtHigh(void *ctx)
{
    (void)ctx;
    PMDL mdl = MmAllocatePagesForMdl(pa(0), pa(-1), pa(0), PAGE_SIZE);
    if (mdl == NULL)
        return;
    R.mdl[1] = mdl;
    R.va[1] =
        MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE, NormalPagePriority);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    MmUnmapLockedPages(R.va[1], mdl);
    KeLowerIrql(old);
    R.done = 1;
}

static void test_mm_irql_bugchecks(void **state)
{
    (void)state;
    /* P3/P4 as Driver Verifier's rows give them; W_MDL and W_VA stand for R.mdl[1] / R.va[1] */
    enum { W_MAX, W_MDL, W_VA, W_ZERO, W_USER, W_KERNEL };
    struct {
        kdpc_entry_fn *fn;
        uint64_t p1, irql;
        int p3, p4;
    } cases[] = {
        {SectionAtDispatch, 0x20019, DISPATCH_LEVEL, W_MAX, W_ZERO}, /* IrqlMmApcLte */
        {PagesAtHigh, 0x7E, HIGH_LEVEL, W_MAX, W_ZERO},              /* P3 DISPATCH_LEVEL */
        {UserMapAtDispatch, 0x77, DISPATCH_LEVEL, W_MDL, W_USER},
        {KernelMapAtHigh, 0x76, HIGH_LEVEL, W_MDL, W_KERNEL},
        {UnmapAtHigh, 0x79, HIGH_LEVEL, W_VA, W_MDL},
    };
    const uint64_t max[] = {APC_LEVEL, DISPATCH_LEVEL, APC_LEVEL, DISPATCH_LEVEL, DISPATCH_LEVEL};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&R, 0, sizeof(R));
        kdpc_machine *m = kt_machine(1, 9);
        kdpc_status st = kdpc_machine_run(m, cases[i].fn, NULL);
        /* the section routines are IrqlMmApcLte's own rule */
        KT_ASSERT_BUGCHECK(m, st, cases[i].p1 == 0x20019 ? "mm.section_irql" : "mm.irql", 0xC4);
        const kdpc_violation *v = kdpc_machine_bugcheck(m);
        const uint64_t want[] = {max[i],   (uintptr_t)R.mdl[1], (uintptr_t)R.va[1], 0,
                                 UserMode, KernelMode};
        assert_int_equal(v->params[0], cases[i].p1);
        assert_int_equal(v->params[1], cases[i].irql);
        assert_int_equal(v->params[2], want[cases[i].p3]);
        assert_int_equal(v->params[3], want[cases[i].p4]);
        assert_int_equal(R.done, 0);
        kdpc_machine_destroy(m);
    }
    /* as a warning: the page and mapping routines return NULL */
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 9);
    assert_int_equal(kdpc_rule_set(m, "mm.irql", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, PagesAtHigh, NULL), KDPC_OK);
    assert_null(R.mdl[0]);
    assert_int_equal(kdpc_machine_run(m, UserMapAtDispatch, NULL), KDPC_OK);
    assert_null(R.va[0]);
    kdpc_machine_destroy(m);
}

static void FreeIoMdl(void *ctx)
{
    (void)ctx;
    static char buf[64];
    PMDL io = IoAllocateMdl(buf, sizeof(buf), FALSE, FALSE, NULL);
    R.mdl[0] = io;
    if (io != NULL)
        MmFreePagesFromMdl(io); /* not pages of MmAllocatePagesForMdl */
    R.done = 1;
}

static void FreeTwiceFixed(void *ctx)
{
    (void)ctx;
    PMDL mdl = MmAllocatePagesForMdl(pa(0), pa(-1), pa(0), PAGE_SIZE);
    if (mdl != NULL) {
        MmFreePagesFromMdl(mdl);
        ExFreePool(mdl);
    }
    R.done = 1;
}

static void test_free_pages_of_foreign_mdl_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 9);
    kdpc_status st = kdpc_machine_run(m, FreeIoMdl, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mm.bad_mdl", 0x4E);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], 0x07);
    assert_int_equal(v->params[1], (uintptr_t)R.mdl[0]);
    kdpc_machine_destroy(m);
    /* the fixed twin: free the pages MmAllocatePagesForMdl gave, once */
    memset(&R, 0, sizeof(R));
    m = kt_machine(1, 9);
    assert_int_equal(kdpc_machine_run(m, FreeTwiceFixed, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mm.bad_mdl");
    assert_int_equal(R.done, 1);
    kdpc_machine_destroy(m);
}

/* BugCheckOnFailure TRUE: mm.map_bugcheck (0xC4/0x82); FALSE (the fixed twin) maps clean. */
static ULONG map_bugcheck_on_failure;
static void MapWithBugCheckOnFailure(void *ctx)
{
    (void)ctx;
    PMDL mdl = MmAllocatePagesForMdl(pa(0), pa(-1), pa(0), PAGE_SIZE);
    if (mdl == NULL)
        return;
    R.mdl[0] = mdl;
    R.flags[0] = mdl->MdlFlags;
    R.va[0] = MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, map_bugcheck_on_failure,
                                           NormalPagePriority);
    if (R.va[0] != NULL)
        MmUnmapLockedPages(R.va[0], mdl);
    MmFreePagesFromMdl(mdl);
    ExFreePool(mdl);
    R.done = 1;
}

static void test_map_with_bugcheck_on_failure_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    map_bugcheck_on_failure = TRUE;
    kdpc_machine *m = kt_machine(1, 9);
    kdpc_status st = kdpc_machine_run(m, MapWithBugCheckOnFailure, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mm.map_bugcheck", 0xC4);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], 0x82);
    assert_int_equal(v->params[1], (uintptr_t)R.mdl[0]);
    assert_int_equal(v->params[2], (uint16_t)R.flags[0]);
    assert_int_equal(R.done, 0);
    kdpc_machine_destroy(m);
    /* as a warning: the mapping is made */
    memset(&R, 0, sizeof(R));
    m = kt_machine(1, 9);
    assert_int_equal(kdpc_rule_set(m, "mm.map_bugcheck", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, MapWithBugCheckOnFailure, NULL), KDPC_OK);
    assert_non_null(R.va[0]);
    assert_int_equal(R.done, 1);
    kdpc_machine_destroy(m);
    /* the fixed twin: FALSE */
    memset(&R, 0, sizeof(R));
    map_bugcheck_on_failure = FALSE;
    m = kt_machine(1, 9);
    assert_int_equal(kdpc_machine_run(m, MapWithBugCheckOnFailure, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mm.map_bugcheck");
    assert_non_null(R.va[0]);
    assert_int_equal(R.done, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_macros_and_mdl_size),
        cmocka_unit_test(test_pages_for_mdl_map_and_free),
        cmocka_unit_test(test_allocation_limits_and_pfn_arrays),
        cmocka_unit_test(test_pageable_sections_at_passive_and_apc),
        cmocka_unit_test(test_mm_irql_bugchecks),
        cmocka_unit_test(test_free_pages_of_foreign_mdl_bugchecks),
        cmocka_unit_test(test_map_with_bugcheck_on_failure_bugchecks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
