/* SPDX-License-Identifier: MIT */
/*
 * test_pool_quota_irql.c - rule mem.pool_irql: nonpaged pool allocated above DISPATCH_LEVEL
 * (0xC4/0x02), paged pool freed above APC_LEVEL (0x11), nonpaged pool freed above
 * DISPATCH_LEVEL (0x12), and quota charged from a DPC routine (0x10B), Driver Verifier's codes
 * (docs/facts/memory.md, "Pool"); each with its fixed twin, and the warning setting that lets
 * the call go on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kdpc_test.h"

#define TAG 0x72496f51u /* 'QoIr' */

static struct {
    PVOID p;
    int done;
} R;

static KIRQL at; /* the IRQL the broken routines allocate or free at */

static void AllocNonPagedAt(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(at, &old);
    R.p = ExAllocatePoolWithTag(NonPagedPoolNx, 32, TAG);
    KeLowerIrql(old);
    if (R.p != NULL)
        ExFreePoolWithTag(R.p, TAG);
    R.done = 1;
}

static POOL_TYPE free_type;
static void FreeAt(void *ctx)
{
    (void)ctx;
    R.p = ExAllocatePoolWithTag(free_type, 32, TAG);
    if (R.p == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(at, &old);
    ExFreePoolWithTag(R.p, TAG);
    KeLowerIrql(old);
    R.done = 1;
}

static void expect_bugcheck(kdpc_entry_fn *fn, uint64_t p1, uint64_t p3, int p4_is_block)
{
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 23);
    kdpc_status st = kdpc_machine_run(m, fn, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.pool_irql", 0xC4);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], p1);
    assert_int_equal(v->params[1], at);
    assert_int_equal(v->params[2], p3);
    if (p4_is_block)
        assert_int_equal(v->params[3], (uintptr_t)R.p);
    else
        assert_int_equal(v->params[3], 32);
    assert_int_equal(R.done, 0);
    kdpc_machine_destroy(m);
}

static void expect_clean(kdpc_entry_fn *fn)
{
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 23);
    assert_int_equal(kdpc_machine_run(m, fn, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mem.pool_irql");
    assert_int_equal(R.done, 1);
    size_t count = 1;
    assert_int_equal(kdpc_pool_outstanding(m, TAG, &count, NULL), KDPC_OK);
    assert_int_equal(count, 0);
    kdpc_machine_destroy(m);
}

static void test_nonpaged_alloc_above_dispatch_bugchecks(void **state)
{
    (void)state;
    at = HIGH_LEVEL;
    expect_bugcheck(AllocNonPagedAt, 0x02, 0 /* nonpaged */, 0);
    at = DISPATCH_LEVEL; /* the fixed twin: DISPATCH_LEVEL is allowed */
    expect_clean(AllocNonPagedAt);
}

static void test_free_above_its_pool_irql_bugchecks(void **state)
{
    (void)state;
    free_type = NonPagedPoolNx;
    at = HIGH_LEVEL;
    expect_bugcheck(FreeAt, 0x12, 0, 1);
    at = DISPATCH_LEVEL;
    expect_clean(FreeAt);
    free_type = PagedPool;
    at = DISPATCH_LEVEL;
    expect_bugcheck(FreeAt, 0x11, 1 /* paged */, 1);
    at = APC_LEVEL;
    expect_clean(FreeAt);
}

/* As a warning the allocation and the free happen anyway. */
static void test_warning_lets_the_call_go_on(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 23);
    assert_int_equal(kdpc_rule_set(m, "mem.pool_irql", KDPC_RULE_WARN), KDPC_OK);
    at = HIGH_LEVEL;
    assert_int_equal(kdpc_machine_run(m, AllocNonPagedAt, NULL), KDPC_OK);
    assert_non_null(R.p);
    assert_int_equal(R.done, 1);
    size_t count = 1;
    assert_int_equal(kdpc_pool_outstanding(m, TAG, &count, NULL), KDPC_OK);
    assert_int_equal(count, 0);
    assert_non_null(kdpc_machine_find_violation(m, "mem.pool_irql"));
    kdpc_machine_destroy(m);
}

/* Quota from a DPC routine: 0x10B. Its twin charges the quota from the dispatch thread. */
static KDPC quota_dpc;
static void QuotaDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    R.p = ExAllocatePoolWithQuotaTag((POOL_TYPE)(NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE),
                                     32, TAG);
    if (R.p != NULL)
        ExFreePoolWithTag(R.p, TAG);
    R.done = 1;
}

static void QueueQuotaDpc(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&quota_dpc, QuotaDpc, NULL);
    KeInsertQueueDpc(&quota_dpc, NULL, NULL);
}

static void QuotaAtPassive(void *ctx)
{
    (void)ctx;
    R.p = ExAllocatePoolWithQuotaTag((POOL_TYPE)(NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE),
                                     32, TAG);
    if (R.p != NULL)
        ExFreePoolWithTag(R.p, TAG);
    R.done = 1;
}

static void test_quota_from_a_dpc_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 23);
    kdpc_status st = kdpc_machine_run(m, QueueQuotaDpc, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.pool_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x10B);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "QuotaDpc");
    assert_int_equal(R.done, 0);
    kdpc_machine_destroy(m);
    expect_clean(QuotaAtPassive);
}

/* ExAllocatePool2 with POOL_FLAG_USE_QUOTA charges quota too: from a DPC routine 0x10B; its twin
 * (the same call without the quota flag in the DPC, and with it at PASSIVE_LEVEL) is clean. */
static POOL_FLAGS pool2_flags;
static void Pool2Dpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    R.p = ExAllocatePool2(pool2_flags, 32, TAG);
    if (R.p != NULL)
        ExFreePoolWithTag(R.p, TAG);
    R.done = 1;
}

static void QueuePool2Dpc(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&quota_dpc, Pool2Dpc, NULL);
    KeInsertQueueDpc(&quota_dpc, NULL, NULL);
}

static void Pool2AtPassive(void *ctx)
{
    (void)ctx;
    R.p = ExAllocatePool2(POOL_FLAG_USE_QUOTA | POOL_FLAG_NON_PAGED, 32, TAG);
    if (R.p != NULL)
        ExFreePoolWithTag(R.p, TAG);
    R.done = R.p != NULL;
}

static void test_pool2_quota_from_a_dpc_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    pool2_flags = POOL_FLAG_USE_QUOTA | POOL_FLAG_NON_PAGED;
    kdpc_machine *m = kt_machine(1, 23);
    kdpc_status st = kdpc_machine_run(m, QueuePool2Dpc, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.pool_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x10B);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "Pool2Dpc");
    assert_int_equal(R.done, 0);
    kdpc_machine_destroy(m);
    pool2_flags = POOL_FLAG_NON_PAGED; /* no quota: fine in a DPC */
    expect_clean(QueuePool2Dpc);
    expect_clean(Pool2AtPassive);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonpaged_alloc_above_dispatch_bugchecks),
        cmocka_unit_test(test_free_above_its_pool_irql_bugchecks),
        cmocka_unit_test(test_warning_lets_the_call_go_on),
        cmocka_unit_test(test_quota_from_a_dpc_bugchecks),
        cmocka_unit_test(test_pool2_quota_from_a_dpc_bugchecks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
