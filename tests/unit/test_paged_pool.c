/* SPDX-License-Identifier: MIT */
/*
 * test_paged_pool - the paged pool's arena: where blocks go and when its
 * pages are protected.
 *
 *   placement: first fit, lowest address first, holes reused, the rules of
 *   io.md 7.1 (a block of PAGE_SIZE or more starts on a page, a smaller one
 *   never crosses one), the arena filled to its last byte and no further,
 *   everything coalesces back, and the same calls give the same offsets on
 *   another machine (nothing depends on host addresses but the arena's);
 *   protection: pages opened at PASSIVE_LEVEL (one, a few here and there, a
 *   buffer in order, more runs than the list of open runs holds) are all
 *   protected again by the next raise; a block allocated or zeroed while the arena is protected is
 *   protected at DISPATCH_LEVEL too, and its guard bytes hold; two CPUs
 *   flipping the protection in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kdpc_test.h"

#define TAG 'tgPT'

static struct {
    PUCHAR blk[4096];
    uintptr_t off[64]; /* offsets of the placement test's results from its first block */
    size_t noff;
    volatile LONG stop, dpc_running, dpc_ran;
    volatile UCHAR sink;
    KDPC dpc;
    size_t count;
    int touched;
} S;

static void reset(void)
{
    memset(&S, 0, sizeof(S));
}

static kdpc_machine *machine(uint64_t seed, size_t paged_bytes)
{
    kdpc_config cfg = kt_config(1, seed);
    if (paged_bytes != 0)
        cfg.paged_pool_bytes = paged_bytes;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static void raise_and_lower(void)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeLowerIrql(old);
}

/* ------------------------------------------------------------------ */
/* Placement                                                            */

static void note(PVOID p)
{
    S.off[S.noff++] = p == NULL ? (uintptr_t)-1 : (uintptr_t)p - (uintptr_t)S.blk[0];
}

static void placement_entry(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 8; i++) /* 100 bytes take 112: one every 128 bytes */
        S.blk[i] = ExAllocatePoolWithTag(PagedPool, 100, TAG);
    for (int i = 0; i < 8; i++)
        note(S.blk[i]);
    ExFreePoolWithTag(S.blk[5], TAG);
    ExFreePoolWithTag(S.blk[2], TAG);
    S.blk[2] = ExAllocatePoolWithTag(PagedPool, 100, TAG); /* the lowest hole first */
    note(S.blk[2]);
    S.blk[5] = ExAllocatePoolWithTag(PagedPool, 100, TAG);
    note(S.blk[5]);
    S.blk[8] = ExAllocatePoolWithTag(PagedPool, 20, TAG); /* 32 bytes at 32: after the 8 */
    note(S.blk[8]);
    S.blk[9] = ExAllocatePoolWithTag(PagedPool, PAGE_SIZE, TAG); /* the next page */
    note(S.blk[9]);
    /* 4096-aligned, and the page block's guard bytes take the start of the page after it */
    S.blk[10] = ExAllocatePoolWithTag(PagedPool, 3000, TAG);
    note(S.blk[10]);
    S.blk[11] = ExAllocatePoolWithTag(PagedPool, 10, TAG); /* the 16 bytes behind block 0 */
    note(S.blk[11]);
    for (int i = 0; i < 12; i++)
        ExFreePoolWithTag(S.blk[i], TAG);
    /* everything merged back: a block of the whole first 3 pages lands at the start */
    PVOID all = ExAllocatePoolWithTag(PagedPool, 3 * PAGE_SIZE - 1, TAG);
    note(all);
    ExFreePoolWithTag(all, TAG);
}

static void test_first_fit_lowest_hole_first_and_the_same_offsets_on_every_machine(void **state)
{
    (void)state;
    static const uintptr_t want[] = {0,   128, 256,  384,  512,   640, 768, 896, /* the 8 */
                                     256, 640, 1024, 4096, 12288, 112, 0};
    uintptr_t first[sizeof(want) / sizeof(want[0])];
    for (uint64_t seed = 1; seed <= 2; seed++) {
        reset();
        kdpc_machine *m = machine(seed, 0);
        assert_int_equal(kdpc_machine_run(m, placement_entry, NULL), KDPC_OK);
        assert_int_equal(S.noff, sizeof(want) / sizeof(want[0]));
        assert_int_equal((uintptr_t)S.blk[0] % PAGE_SIZE, 0); /* the arena's start */
        for (size_t i = 0; i < S.noff; i++) {
            assert_int_equal(S.off[i], want[i]);
            if (seed == 1)
                first[i] = S.off[i];
            else
                assert_int_equal(S.off[i], first[i]);
        }
        size_t n = 1;
        assert_int_equal(kdpc_pool_outstanding(m, TAG, &n, NULL), KDPC_OK);
        assert_int_equal(n, 0);
        kdpc_machine_destroy(m);
    }
}

#define SMALL_ARENA ((size_t)64 << 10)

static void fill_entry(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 4; i++) /* 16383 bytes and a guard byte: a quarter each */
        S.blk[i] = ExAllocatePoolWithTag(PagedPool, 16383, TAG);
    S.blk[4] = ExAllocatePoolWithTag(PagedPool, 1, TAG); /* no room left */
    kdpc_pool_outstanding(kdpc_current_machine(), TAG, &S.count, NULL);
    PUCHAR second = S.blk[1];
    ExFreePoolWithTag(S.blk[1], TAG);
    S.blk[1] = ExAllocatePoolWithTag(PagedPool, 16383, TAG); /* the same place again */
    S.touched = S.blk[1] == second;
    for (int i = 0; i < 4; i++)
        ExFreePoolWithTag(S.blk[i], TAG);
    S.blk[5] = ExAllocatePoolWithTag(PagedPool, SMALL_ARENA - 1, TAG); /* all of it */
    if (S.blk[5] != NULL)
        ExFreePoolWithTag(S.blk[5], TAG);
}

static void test_the_arena_fills_to_its_last_byte_and_no_further(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(3, SMALL_ARENA);
    assert_int_equal(kdpc_machine_run(m, fill_entry, NULL), KDPC_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal((uintptr_t)S.blk[i] - (uintptr_t)S.blk[0], (uintptr_t)i * 16384u);
    assert_null(S.blk[4]);
    assert_int_equal(S.count, 4);
    assert_int_equal(S.touched, 1);
    assert_ptr_equal(S.blk[5], S.blk[0]);
    size_t n = 1;
    assert_int_equal(kdpc_pool_outstanding(m, 0, &n, NULL), KDPC_OK);
    assert_int_equal(n, 0);
    kdpc_machine_destroy(m);
}

#define HOLES 2000

static void holes_entry(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 2 * HOLES; i++)
        S.blk[i] = ExAllocatePoolWithTag(PagedPool, 15, TAG); /* 16 bytes each */
    for (int i = 0; i < 2 * HOLES; i += 2)
        ExFreePoolWithTag(S.blk[i], TAG);
    PUCHAR big = ExAllocatePoolWithTag(PagedPool, 100, TAG); /* fits no hole: above them */
    S.off[0] = (uintptr_t)big - (uintptr_t)S.blk[0];
    PUCHAR small = ExAllocatePoolWithTag(PagedPool, 10, TAG); /* the first hole */
    S.off[1] = (uintptr_t)small - (uintptr_t)S.blk[0];
    ExFreePoolWithTag(small, TAG);
    ExFreePoolWithTag(big, TAG);
    for (int i = 1; i < 2 * HOLES; i += 2)
        ExFreePoolWithTag(S.blk[i], TAG);
    PUCHAR again = ExAllocatePoolWithTag(PagedPool, 2 * HOLES * 16 - 1, TAG);
    S.off[2] = (uintptr_t)again - (uintptr_t)S.blk[0];
    ExFreePoolWithTag(again, TAG);
}

static void test_many_holes_are_passed_over_and_merge_back_into_one(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(4, 0);
    assert_int_equal(kdpc_machine_run(m, holes_entry, NULL), KDPC_OK);
    assert_int_equal(S.off[0], 2 * HOLES * 16); /* 128-aligned end of the small blocks */
    assert_int_equal(S.off[1], 0);
    assert_int_equal(S.off[2], 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Protection                                                           */

#define PAGES 600

static void touch_at_dispatch(PUCHAR p)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    S.sink = *p;                  /* mem.paged_touch (a warning here) */
    KeStallExecutionProcessor(1); /* reported at this point */
    KeLowerIrql(old);
}

static void reopen_entry(void *ctx)
{
    (void)ctx;
    PUCHAR p = ExAllocatePoolWithTag(PagedPool, PAGES * PAGE_SIZE, TAG);
    if (p == NULL)
        return;
    S.blk[0] = p;
    memset(p, 1, PAGES * PAGE_SIZE);
    raise_and_lower(); /* the whole arena protected */
    /* one page opened by a touch at PASSIVE_LEVEL, protected by the next raise */
    p[300 * PAGE_SIZE + 5] = 2;
    touch_at_dispatch(p + 300 * PAGE_SIZE);
    /* a few pages here and there (the faults open growing groups of pages around them) */
    for (int i = 0; i < 10; i++)
        p[(size_t)i * 3 * PAGE_SIZE] = 2;
    touch_at_dispatch(p + 9 * PAGE_SIZE);  /* touched: caught */
    touch_at_dispatch(p + 10 * PAGE_SIZE); /* not touched: caught */
    /* a buffer written in order */
    memset(p + 100 * PAGE_SIZE, 3, 150 * PAGE_SIZE);
    touch_at_dispatch(p + 249 * PAGE_SIZE + 17);
    touch_at_dispatch(p + 599 * PAGE_SIZE + PAGE_SIZE - 1);
    /* and everything reads back at PASSIVE_LEVEL */
    for (size_t i = 0; i < PAGES * PAGE_SIZE; i += PAGE_SIZE)
        S.touched += p[i] != 0;
    ExFreePoolWithTag(p, TAG);
}

static void test_pages_opened_at_passive_are_all_protected_again_by_the_next_raise(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(5, 0);
    assert_int_equal(kdpc_rule_set(m, "mem.paged_touch", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, reopen_entry, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 5);
    PUCHAR p = S.blk[0];
    static const size_t at[] = {300 * PAGE_SIZE, 9 * PAGE_SIZE, 10 * PAGE_SIZE,
                                249 * PAGE_SIZE + 17, 599 * PAGE_SIZE + PAGE_SIZE - 1};
    for (size_t i = 0; i < 5; i++) {
        const kdpc_violation *v = kdpc_machine_violation(m, i);
        assert_string_equal(v->rule, "mem.paged_touch");
        assert_int_equal(v->params[0], (uintptr_t)(p + at[i]));
        assert_int_equal(v->params[1], DISPATCH_LEVEL);
        assert_int_equal(v->params[2], 0); /* a read */
    }
    assert_int_equal(S.touched, PAGES);
    kdpc_machine_destroy(m);
}

/* More separate runs of open pages than the list holds (touches 128 pages apart: a fault opens at
 * most 64): the whole arena opens, and the next raise protects it all. */
#define STRIDE  128u
#define TOUCHED 150u

static void overflow_entry(void *ctx)
{
    (void)ctx;
    PUCHAR p = ExAllocatePoolWithTag(PagedPool, (size_t)STRIDE * TOUCHED * PAGE_SIZE, TAG);
    if (p == NULL)
        return;
    S.blk[0] = p;
    raise_and_lower();
    for (size_t i = 0; i < TOUCHED; i++)
        p[i * STRIDE * PAGE_SIZE + i] = (UCHAR)(i + 1);
    touch_at_dispatch(p + 3 * STRIDE * PAGE_SIZE);
    touch_at_dispatch(p + (TOUCHED - 1u) * STRIDE * PAGE_SIZE + 100);
    touch_at_dispatch(p + 5 * STRIDE * PAGE_SIZE + 40 * PAGE_SIZE); /* never touched */
    for (size_t i = 0; i < TOUCHED; i++)
        S.touched += p[i * STRIDE * PAGE_SIZE + i] == (UCHAR)(i + 1);
    ExFreePoolWithTag(p, TAG);
}

static void test_more_open_runs_than_the_list_holds_open_and_protect_the_whole_arena(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(8, (size_t)STRIDE * (TOUCHED + 1u) * PAGE_SIZE);
    assert_int_equal(kdpc_rule_set(m, "mem.paged_touch", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, overflow_entry, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 3);
    PUCHAR p = S.blk[0];
    assert_int_equal(kdpc_machine_violation(m, 0)->params[0],
                     (uintptr_t)(p + 3 * STRIDE * PAGE_SIZE));
    assert_int_equal(kdpc_machine_violation(m, 1)->params[0],
                     (uintptr_t)(p + (TOUCHED - 1u) * STRIDE * PAGE_SIZE + 100));
    assert_int_equal(kdpc_machine_violation(m, 2)->params[0],
                     (uintptr_t)(p + 5 * STRIDE * PAGE_SIZE + 40 * PAGE_SIZE));
    assert_int_equal(S.touched, TOUCHED);
    kdpc_machine_destroy(m);
}

static void grown_entry(void *ctx)
{
    (void)ctx;
    PUCHAR a = ExAllocatePoolWithTag(PagedPool, 64, TAG);
    if (a == NULL)
        return;
    raise_and_lower(); /* protected; the arena's used part ends after a's page */
    /* allocated and zeroed while protected, above everything used so far */
    PUCHAR b = ExAllocatePoolZero(PagedPool, 5 * PAGE_SIZE, TAG);
    PUCHAR c = ExAllocatePoolWithTag(PagedPool, 200, TAG); /* a's page, not touched since */
    if (b == NULL || c == NULL)
        return;
    S.blk[0] = b;
    S.blk[1] = c;
    touch_at_dispatch(b + 4 * PAGE_SIZE + 1);
    touch_at_dispatch(c + 5);
    for (size_t i = 0; i < 5 * PAGE_SIZE; i++) /* zeroed, readable at PASSIVE_LEVEL */
        S.touched += b[i] != 0;
    memset(c, 0xAB, 200); /* up to its end, not beyond: the guard bytes hold */
    ExFreePoolWithTag(c, TAG);
    ExFreePoolWithTag(b, TAG);
    ExFreePoolWithTag(a, TAG);
}

static void test_blocks_allocated_while_protected_are_protected_and_keep_their_guards(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(6, 0);
    assert_int_equal(kdpc_rule_set(m, "mem.paged_touch", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, grown_entry, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 2);
    assert_int_equal(kdpc_machine_violation(m, 0)->params[0],
                     (uintptr_t)(S.blk[0] + 4 * PAGE_SIZE + 1));
    assert_int_equal(kdpc_machine_violation(m, 1)->params[0], (uintptr_t)(S.blk[1] + 5));
    assert_int_equal(S.touched, 0);
    kdpc_machine_destroy(m);
}

static void overrun_entry(void *ctx)
{
    (void)ctx;
    PUCHAR p = ExAllocatePoolWithTag(PagedPool, 100, TAG);
    if (p == NULL)
        return;
    raise_and_lower(); /* protected: the free checks the guard bytes all the same */
    p[100] = 0;        /* opens the page at PASSIVE_LEVEL, one byte past the end */
    raise_and_lower(); /* protected again */
    S.blk[0] = p;
    ExFreePoolWithTag(p, TAG);
}

static void test_an_overrun_is_found_at_the_free_while_the_pages_are_protected(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(7, 0);
    kdpc_status st = kdpc_machine_run(m, overrun_entry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.overrun", 0xC1);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], (uintptr_t)S.blk[0]);
    assert_int_equal(bc->params[1], (uintptr_t)S.blk[0] + 100);
    assert_int_equal(bc->params[3], 0x24);
    kdpc_machine_destroy(m);
}

/* Two CPUs flip the protection in turn: CPU 1 in a DPC protects at every resume, CPU 0's thread
 * at PASSIVE_LEVEL opens pages by touching them. Nothing is reported, every byte lands. */
static void SpinDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    S.dpc_running = 1;
    for (int i = 0; i < 4000 && !S.stop; i++)
        KeStallExecutionProcessor(1);
    S.dpc_running = 0;
    S.dpc_ran = 1;
}

static void two_cpu_entry(void *ctx)
{
    (void)ctx;
    PUCHAR p = ExAllocatePoolWithTag(PagedPool, 300 * PAGE_SIZE, TAG);
    if (p == NULL)
        return;
    KeInitializeDpc(&S.dpc, SpinDpc, NULL);
    KeSetTargetProcessorDpc(&S.dpc, 1);
    (void)KeInsertQueueDpc(&S.dpc, NULL, NULL);
    for (int i = 0; i < 1000 && !S.dpc_running; i++)
        KeStallExecutionProcessor(1);
    for (size_t i = 0; i < 300; i++) { /* 300 pages, here and there */
        p[i * PAGE_SIZE + i] = (UCHAR)(i + 1);
        KeStallExecutionProcessor(1);
        p[((i * 7) % 300) * PAGE_SIZE + PAGE_SIZE - 1] ^= 1;
    }
    for (size_t i = 0; i < 300; i++)
        S.touched += p[i * PAGE_SIZE + i] == (UCHAR)(i + 1);
    S.stop = 1;
    for (int i = 0; i < 5000 && !S.dpc_ran; i++)
        KeStallExecutionProcessor(1);
    ExFreePoolWithTag(p, TAG);
}

static void test_two_cpus_flipping_the_protection_in_turn_report_nothing(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        reset();
        kdpc_config cfg = kt_config(2, seed);
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        assert_int_equal(kdpc_machine_run(m, two_cpu_entry, NULL), KDPC_OK);
        KT_ASSERT_NO_VIOLATION(m, "mem.paged_touch");
        assert_int_equal(S.dpc_ran, 1);
        assert_int_equal(S.touched, 300);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_fit_lowest_hole_first_and_the_same_offsets_on_every_machine),
        cmocka_unit_test(test_the_arena_fills_to_its_last_byte_and_no_further),
        cmocka_unit_test(test_many_holes_are_passed_over_and_merge_back_into_one),
        cmocka_unit_test(test_pages_opened_at_passive_are_all_protected_again_by_the_next_raise),
        cmocka_unit_test(test_more_open_runs_than_the_list_holds_open_and_protect_the_whole_arena),
        cmocka_unit_test(test_blocks_allocated_while_protected_are_protected_and_keep_their_guards),
        cmocka_unit_test(test_an_overrun_is_found_at_the_free_while_the_pages_are_protected),
        cmocka_unit_test(test_two_cpus_flipping_the_protection_in_turn_report_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
