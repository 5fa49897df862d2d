/* SPDX-License-Identifier: MIT */
/*
 * test_pool_misuse.c - pool misuse ends in a report, never in a host crash
 * (issue 7, "No fixed process-wide limits that break silently"):
 *   - a size within a page of SIZE_MAX (or above kdpc's 16 GiB limit) fails
 *     for every allocator instead of wrapping to a tiny block; with
 *     POOL_FLAG_RAISE_ON_FAILURE ExAllocatePool2 raises
 *     STATUS_INSUFFICIENT_RESOURCES (unhandled: 0x1E);
 *   - a write one byte past the end of a paged or nonpaged block is bug
 *     check 0xC1 (mem.overrun: P1 the block, P2 the byte, P4 0x24) at its
 *     free, and the neighbour block is untouched;
 *   - with mem.bad_free off (Windows without Verifier), a double free is
 *     0xC2/0x07 (P4 the address), a free of something that is not a block
 *     0xC2/0x46 (P2 the address), a wrong tag 0xC2/0x0A (mem.bad_free's own
 *     0xC4 codes: tests/bugcheck/test_dv_pool.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TAG 'sMlP'

static struct {
    POOL_TYPE type;
    bool paged;
    SIZE_T size;
    PUCHAR a, b;
    int reached;
    ULONG nulls, tries;
} S;

static void reset(void)
{
    memset(&S, 0, sizeof S);
}

/* ------------------------------------------------------------------ */
/* Sizes near SIZE_MAX                                                 */

static const SIZE_T huge_sizes[] = {
    (SIZE_T)-1,        (SIZE_T)-1 - 15,       (SIZE_T)-1 - 4095,     (SIZE_T)-1 - 4096,
    (SIZE_T)-1 - 8191, ((SIZE_T)1 << 63) + 1, ((SIZE_T)1 << 34) + 1, /* just above kdpc's 16 GiB limit */
};
#define NHUGE (sizeof(huge_sizes) / sizeof(huge_sizes[0]))

static void count(PVOID p)
{
    S.tries++;
    if (p == NULL)
        S.nulls++;
    else
        ExFreePool(p);
}

static void every_allocator_with_huge_sizes(void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < NHUGE; i++) {
        SIZE_T n = huge_sizes[i];
        count(ExAllocatePoolWithTag(NonPagedPoolNx, n, TAG));
        count(ExAllocatePoolWithTag(PagedPool, n, TAG));
        count(ExAllocatePool(NonPagedPool, n));
        count(ExAllocatePool(PagedPool, n));
        count(ExAllocatePool2(POOL_FLAG_NON_PAGED, n, TAG));
        count(ExAllocatePool2(POOL_FLAG_PAGED, n, TAG));
        count(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, n, TAG));
        count(ExAllocatePool3(POOL_FLAG_NON_PAGED, n, TAG, NULL, 0));
        count(ExAllocatePool3(POOL_FLAG_PAGED, n, TAG, NULL, 0));
        count(ExAllocatePoolZero(NonPagedPoolNx, n, TAG));
        count(ExAllocatePoolZero(PagedPool, n, TAG));
        count(ExAllocatePoolUninitialized(NonPagedPoolNx, n, TAG));
        count(ExAllocatePoolUninitialized(PagedPool, n, TAG));
        count(ExAllocatePoolWithTagPriority(NonPagedPoolNx, n, TAG, NormalPoolPriority));
        count(ExAllocatePoolWithTagPriority(PagedPool, n, TAG, HighPoolPriority));
    }
    /* the pool still works afterwards */
    PUCHAR p = ExAllocatePoolZero(PagedPool, 100, TAG);
    PUCHAR q = ExAllocatePool2(POOL_FLAG_NON_PAGED, 100, TAG);
    if (p != NULL && q != NULL && p[99] == 0 && q[99] == 0)
        S.reached = 1;
    ExFreePool(p);
    ExFreePool(q);
}

static void test_every_allocator_fails_sizes_near_size_max_without_a_crash(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_machine_run(m, every_allocator_with_huge_sizes, NULL), KDPC_OK);
    assert_int_equal(S.tries, NHUGE * 15);
    assert_int_equal(S.nulls, S.tries);
    assert_int_equal(S.reached, 1);
    size_t n = 1;
    assert_int_equal(kdpc_pool_outstanding(m, 0, &n, NULL), KDPC_OK);
    assert_int_equal(n, 0);
    kdpc_machine_destroy(m);
}

static void pool2_raise_huge(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_RAISE_ON_FAILURE, (SIZE_T)-1 - 4095, TAG);
    S.reached = 1;
}

static void test_pool2_raise_on_failure_with_a_huge_size_raises_insufficient_resources(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_status st = kdpc_machine_run(m, pool2_raise_huge, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], (uint32_t)STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(S.reached, 0);
    kdpc_machine_destroy(m);
}

static void pool2_raise_ok(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RAISE_ON_FAILURE, 64, TAG);
    S.reached = S.a != NULL && S.a[63] == 0;
    ExFreePool(S.a);
}

static void test_pool2_raise_on_failure_that_succeeds_returns_the_block(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_machine_run(m, pool2_raise_ok, NULL), KDPC_OK);
    assert_int_equal(S.reached, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Overruns                                                            */

static void overrun_by_one(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(S.type, S.size, TAG);
    S.b = ExAllocatePoolWithTag(S.type, S.size, TAG);
    if (S.a == NULL || S.b == NULL)
        return;
    memset(S.a, 0x11, S.size);
    memset(S.b, 0x22, S.size);
    S.a[S.size] = 0x33; /* one byte too far */
    for (SIZE_T i = 0; i < S.size; i++) {
        if (S.b[i] != 0x22)
            return; /* the neighbour was hit */
    }
    S.reached = 1;
    ExFreePool(S.b);
    ExFreePool(S.a); /* 0xC1 */
    S.reached = 2;
}

static void expect_overrun(POOL_TYPE type, SIZE_T size)
{
    reset();
    S.type = type;
    S.size = size;
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_status st = kdpc_machine_run(m, overrun_by_one, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.overrun", 0xC1);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], (uintptr_t)S.a);
    assert_int_equal(bc->params[1], (uintptr_t)S.a + size);
    assert_int_equal(bc->params[3], 0x24);
    assert_int_equal(S.reached, 1);
    kdpc_machine_destroy(m);
}

static void test_paged_overrun_by_one_byte_bugchecks_c1_at_the_free_naming_the_block(void **state)
{
    (void)state;
    static const SIZE_T sizes[] = {1, 15, 16, 24, 32, 100, 4095, 4096, 5000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        expect_overrun(PagedPool, sizes[i]);
}

static void
test_nonpaged_overrun_by_one_byte_bugchecks_c1_at_the_free_naming_the_block(void **state)
{
    (void)state;
    static const SIZE_T sizes[] = {1, 15, 16, 24, 32, 100, 4095, 4096, 5000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        expect_overrun(NonPagedPoolNx, sizes[i]);
}

static void fill_exactly(void *ctx)
{
    (void)ctx;
    for (SIZE_T n = 0; n <= 80; n++) {
        PUCHAR p = ExAllocatePoolWithTag(S.paged ? PagedPool : NonPagedPoolNx, n, TAG);
        PUCHAR q = ExAllocatePool2(S.paged ? POOL_FLAG_PAGED : POOL_FLAG_NON_PAGED, n + 1, TAG);
        if (p == NULL || q == NULL)
            return;
        memset(p, 0xB7 ^ 0xFF, n);
        memset(q, 0xFF, n + 1);
        ExFreePoolWithTag(q, TAG);
        ExFreePoolWithTag(p, TAG);
    }
    S.reached = 1;
}

static void test_writing_every_byte_of_a_block_and_no_more_is_fine(void **state)
{
    (void)state;
    for (int paged = 0; paged < 2; paged++) {
        reset();
        S.paged = paged != 0;
        kdpc_machine *m = kt_machine(1, 5);
        (void)kdpc_rule_set(m, "mem.zero_alloc", KDPC_RULE_OFF); /* n = 0 included */
        assert_int_equal(kdpc_machine_run(m, fill_exactly, NULL), KDPC_OK);
        assert_int_equal(S.reached, 1);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* Bad frees                                                           */

static void double_free(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(S.type, 48, TAG);
    ExFreePoolWithTag(S.a, TAG);
    S.reached = 1;
    ExFreePoolWithTag(S.a, TAG);
    S.reached = 2;
}

static void test_double_free_bugchecks_c2_07_with_the_address(void **state)
{
    (void)state;
    static const POOL_TYPE types[] = {PagedPool, NonPagedPoolNx};
    for (size_t i = 0; i < 2; i++) {
        reset();
        S.type = types[i];
        kdpc_machine *m = kt_machine(1, 7);
        (void)kdpc_rule_set(m, "mem.bad_free", KDPC_RULE_OFF); /* the kernel's own 0xC2 */
        kdpc_status st = kdpc_machine_run(m, double_free, NULL);
        KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0xC2);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_int_equal(bc->params[0], 0x07);
        assert_int_equal(bc->params[3], (uintptr_t)S.a);
        assert_int_equal(S.reached, 1);
        kdpc_machine_destroy(m);
    }
}

static void free_not_a_block(void *ctx)
{
    (void)ctx;
    if (S.type == PagedPool) {
        S.a = ExAllocatePoolWithTag(PagedPool, 64, TAG);
        S.b = S.a + 16; /* the middle of a block */
    } else {
        static UCHAR not_pool[32];
        S.b = not_pool;
    }
    S.reached = 1;
    ExFreePool(S.b);
    S.reached = 2;
}

static void test_free_of_a_pointer_that_is_no_block_bugchecks_c2_46_with_the_address(void **state)
{
    (void)state;
    static const POOL_TYPE types[] = {PagedPool, NonPagedPoolNx};
    for (size_t i = 0; i < 2; i++) {
        reset();
        S.type = types[i];
        kdpc_machine *m = kt_machine(1, 9);
        (void)kdpc_rule_set(m, "mem.bad_free", KDPC_RULE_OFF); /* the kernel's own 0xC2 */
        kdpc_status st = kdpc_machine_run(m, free_not_a_block, NULL);
        KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0xC2);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_int_equal(bc->params[0], 0x46);
        assert_int_equal(bc->params[1], (uintptr_t)S.b);
        assert_int_equal(S.reached, 1);
        kdpc_machine_destroy(m);
    }
}

static void wrong_tag(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(NonPagedPoolNx, 8, TAG);
    ExFreePoolWithTag(S.a, 'gnrW');
}

static void test_free_with_the_wrong_tag_bugchecks_c2_0a(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 11);
    (void)kdpc_rule_set(m, "mem.bad_free", KDPC_RULE_OFF); /* the kernel's own 0xC2 */
    kdpc_status st = kdpc_machine_run(m, wrong_tag, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0xC2);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x0A);
    assert_int_equal(bc->params[1], (uintptr_t)S.a);
    assert_int_equal(bc->params[2], TAG);
    assert_int_equal(bc->params[3], 'gnrW');
    kdpc_machine_destroy(m);
}

/* A block freed, then the same address handed out again: freeing it again is fine. */
static void reuse_then_free(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 3000; i++) {
        PVOID p = ExAllocatePoolWithTag(i % 2 ? PagedPool : NonPagedPoolNx, 32, TAG);
        if (p == NULL)
            return;
        ExFreePool(p);
    }
    S.reached = 1;
}

static void test_freeing_a_reused_address_is_not_a_double_free(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(m, reuse_then_free, NULL), KDPC_OK);
    assert_int_equal(S.reached, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocator_fails_sizes_near_size_max_without_a_crash),
        cmocka_unit_test(
            test_pool2_raise_on_failure_with_a_huge_size_raises_insufficient_resources),
        cmocka_unit_test(test_pool2_raise_on_failure_that_succeeds_returns_the_block),
        cmocka_unit_test(test_paged_overrun_by_one_byte_bugchecks_c1_at_the_free_naming_the_block),
        cmocka_unit_test(
            test_nonpaged_overrun_by_one_byte_bugchecks_c1_at_the_free_naming_the_block),
        cmocka_unit_test(test_writing_every_byte_of_a_block_and_no_more_is_fine),
        cmocka_unit_test(test_double_free_bugchecks_c2_07_with_the_address),
        cmocka_unit_test(test_free_of_a_pointer_that_is_no_block_bugchecks_c2_46_with_the_address),
        cmocka_unit_test(test_free_with_the_wrong_tag_bugchecks_c2_0a),
        cmocka_unit_test(test_freeing_a_reused_address_is_not_a_double_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
