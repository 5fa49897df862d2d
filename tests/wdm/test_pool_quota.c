/* SPDX-License-Identifier: MIT */
/*
 * test_pool_quota.c - the quota pool routines (ExAllocatePoolWithQuotaTag,
 * ExAllocatePoolWithQuota, ExAllocatePoolQuotaZero/Uninitialized), the
 * POOL_* flags a POOL_TYPE carries, every POOL_TYPE value, and
 * ExInitializeDriverRuntime (docs/facts/memory.md, "Pool").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kdpc_test.h"

#define TAG  0x74516f51u       /* 'QoQt' */
#define HUGE ((SIZE_T)1 << 40) /* over kdpc's 16 GiB limit: always fails */

static struct {
    PVOID p[8];
    int zero_ok;
    int done;
    POOL_TYPE before, after;
} R;

static kdpc_status run(kdpc_entry_fn *entry, kdpc_machine **out)
{
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 21);
    kdpc_status st = kdpc_machine_run(m, entry, NULL);
    *out = m;
    return st;
}

static void test_pool_type_and_flag_values(void **state)
{
    (void)state;
    assert_int_equal(NonPagedPool, 0);
    assert_int_equal(NonPagedPoolExecute, 0);
    assert_int_equal(PagedPool, 1);
    assert_int_equal(NonPagedPoolMustSucceed, 2);
    assert_int_equal(DontUseThisType, 3);
    assert_int_equal(NonPagedPoolCacheAligned, 4);
    assert_int_equal(PagedPoolCacheAligned, 5);
    assert_int_equal(NonPagedPoolCacheAlignedMustS, 6);
    assert_int_equal(MaxPoolType, 7);
    assert_int_equal(NonPagedPoolBase, 0);
    assert_int_equal(NonPagedPoolBaseMustSucceed, 2);
    assert_int_equal(NonPagedPoolBaseCacheAligned, 4);
    assert_int_equal(NonPagedPoolBaseCacheAlignedMustS, 6);
    assert_int_equal(NonPagedPoolSession, 32);
    assert_int_equal(PagedPoolSession, 33);
    assert_int_equal(NonPagedPoolMustSucceedSession, 34);
    assert_int_equal(DontUseThisTypeSession, 35);
    assert_int_equal(NonPagedPoolCacheAlignedSession, 36);
    assert_int_equal(PagedPoolCacheAlignedSession, 37);
    assert_int_equal(NonPagedPoolCacheAlignedMustSSession, 38);
    assert_int_equal(NonPagedPoolNx, 512);
    assert_int_equal(NonPagedPoolNxCacheAligned, 516);
    assert_int_equal(NonPagedPoolSessionNx, 544);
    assert_int_equal(POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, 8);
    assert_int_equal(POOL_RAISE_IF_ALLOCATION_FAILURE, 16);
    assert_int_equal(POOL_COLD_ALLOCATION, 256);
    assert_int_equal(POOL_NX_ALLOCATION, 512);
    assert_int_equal(POOL_ZERO_ALLOCATION, 1024);
    assert_int_equal(DrvRtPoolNxOptIn, 1);
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static void QuotaAllocs(void *ctx)
{
    (void)ctx;
    R.p[0] = ExAllocatePoolWithQuotaTag(NonPagedPoolNx, 100, TAG);
    R.p[1] = ExAllocatePoolWithQuotaTag(PagedPool, 4096, TAG);
    R.p[2] = ExAllocatePoolQuotaZero(PagedPool | POOL_COLD_ALLOCATION, 300, TAG);
    R.zero_ok = R.p[2] != NULL && all_zero(R.p[2], 300);
    R.p[3] = ExAllocatePoolQuotaUninitialized(NonPagedPoolSession, 16, TAG);
    R.p[4] = ExAllocatePoolWithQuota(PagedPoolSession, 16);
    /* POOL_QUOTA_FAIL_INSTEAD_OF_RAISE: NULL, no raise */
    R.p[5] = ExAllocatePoolWithQuotaTag(
        (POOL_TYPE)(NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), HUGE, TAG);
    R.p[6] = ExAllocatePoolWithTag((POOL_TYPE)(PagedPool | POOL_ZERO_ALLOCATION), 64, TAG);
    if (R.p[6] != NULL && !all_zero(R.p[6], 64))
        R.zero_ok = 0;
    for (int i = 0; i < 7; i++)
        if (R.p[i] != NULL && i != 4)
            ExFreePoolWithTag(R.p[i], TAG);
    if (R.p[4] != NULL)
        ExFreePool(R.p[4]);
    R.done = 1;
}

static void test_quota_allocations(void **state)
{
    (void)state;
    kdpc_machine *m;
    assert_int_equal(run(QuotaAllocs, &m), KDPC_OK);
    assert_int_equal(R.done, 1);
    for (int i = 0; i < 7; i++)
        if (i != 5)
            assert_non_null(R.p[i]);
    assert_null(R.p[5]);
    assert_int_equal(R.zero_ok, 1);
    assert_int_equal((uintptr_t)R.p[0] % 16, 0);
    size_t count = 1, bytes = 1;
    assert_int_equal(kdpc_pool_outstanding(m, TAG, &count, &bytes), KDPC_OK);
    assert_int_equal(count, 0);
    kdpc_machine_destroy(m);
}

/* Paged types (odd) at DISPATCH_LEVEL are mem.paged_alloc whatever flag they carry. */
static void QuotaPagedAtDispatch(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    R.p[0] = ExAllocatePoolWithQuotaTag(
        (POOL_TYPE)(PagedPoolSession | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), 32, TAG);
    KeLowerIrql(old);
    R.done = 1;
}

static void test_quota_paged_at_dispatch_bugchecks(void **state)
{
    (void)state;
    kdpc_machine *m;
    kdpc_status st = run(QuotaPagedAtDispatch, &m);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_alloc", 0xC4);
    assert_int_equal(R.done, 0);
    kdpc_machine_destroy(m);
}

/* A failing quota allocation raises STATUS_INSUFFICIENT_RESOURCES: unhandled, bug check 0x1E. */
static void QuotaRaise(void *ctx)
{
    (void)ctx;
    R.p[0] = ExAllocatePoolWithQuotaTag(PagedPool, HUGE, TAG);
    R.done = 1;
}

static void ZeroRaise(void *ctx)
{
    (void)ctx;
    R.p[0] = ExAllocatePoolQuotaZero(NonPagedPoolNx, HUGE, TAG);
    R.done = 1;
}

static void TagRaise(void *ctx)
{
    (void)ctx;
    R.p[0] = ExAllocatePoolWithTag((POOL_TYPE)(NonPagedPoolNx | POOL_RAISE_IF_ALLOCATION_FAILURE),
                                   HUGE, TAG);
    R.done = 1;
}

static void TagNoRaise(void *ctx)
{
    (void)ctx;
    R.p[0] = ExAllocatePoolWithTag(NonPagedPoolNx, HUGE, TAG);
    R.done = 1;
}

static void test_failures_raise_unless_asked_not_to(void **state)
{
    (void)state;
    kdpc_entry_fn *raising[] = {QuotaRaise, ZeroRaise, TagRaise};
    for (size_t i = 0; i < sizeof(raising) / sizeof(raising[0]); i++) {
        kdpc_machine *m;
        kdpc_status st = run(raising[i], &m);
        KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
        assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0xC000009Au);
        assert_int_equal(R.done, 0);
        kdpc_machine_destroy(m);
    }
    kdpc_machine *m;
    assert_int_equal(run(TagNoRaise, &m), KDPC_OK);
    assert_null(R.p[0]);
    assert_int_equal(R.done, 1);
    kdpc_machine_destroy(m);
}

static void DriverRuntime(void *ctx)
{
    (void)ctx;
    R.before = ExDefaultNonPagedPoolType;
    ExInitializeDriverRuntime(0);
    ExInitializeDriverRuntime(DrvRtPoolNxOptIn);
    R.after = ExDefaultNonPagedPoolType;
    R.p[0] = ExAllocatePoolWithTag(ExDefaultNonPagedPoolType, 8, TAG);
    if (R.p[0] != NULL)
        ExFreePoolWithTag(R.p[0], TAG);
    R.done = 1;
}

static void test_driver_runtime_nx_opt_in(void **state)
{
    (void)state;
    kdpc_machine *m;
    assert_int_equal(run(DriverRuntime, &m), KDPC_OK);
    assert_true(R.before == NonPagedPoolExecute || R.before == NonPagedPoolNx);
    assert_int_equal(R.after, NonPagedPoolNx);
    assert_non_null(R.p[0]);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_type_and_flag_values),
        cmocka_unit_test(test_quota_allocations),
        cmocka_unit_test(test_quota_paged_at_dispatch_bugchecks),
        cmocka_unit_test(test_failures_raise_unless_asked_not_to),
        cmocka_unit_test(test_driver_runtime_nx_opt_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
