/* SPDX-License-Identifier: MIT */
/*
 * test_pool_quota_nx_optin.c - a driver built with POOL_NX_OPTIN: its
 * NonPagedPool means NonPagedPoolNx once DriverEntry called
 * ExInitializeDriverRuntime(DrvRtPoolNxOptIn) (docs/facts/memory.md 3.4).
 */
#define POOL_NX_OPTIN 1
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kdpc_test.h"

static struct {
    POOL_TYPE type;
    PVOID p;
} R;

static void Entry(void *ctx)
{
    (void)ctx;
    ExInitializeDriverRuntime(DrvRtPoolNxOptIn);
    R.type = NonPagedPool;
    R.p = ExAllocatePoolWithTag(NonPagedPool, 16, 0x784e4f50u);
    if (R.p != NULL)
        ExFreePoolWithTag(R.p, 0x784e4f50u);
}

static void test_nonpaged_pool_means_nx_after_opt_in(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_machine_run(m, Entry, NULL), KDPC_OK);
    assert_int_equal(R.type, NonPagedPoolNx);
    assert_non_null(R.p);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonpaged_pool_means_nx_after_opt_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
