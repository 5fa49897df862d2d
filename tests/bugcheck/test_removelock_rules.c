/* SPDX-License-Identifier: MIT */
/*
 * test_removelock_rules.c - removelock.release_unheld and removelock.after_wait
 * (docs/rules.md, G13; docs/facts/pnp.md section 4): a tiny broken routine
 * per misuse stops the run with 0xC4 and kdpc's subcode (P2 the lock, P3 the
 * tag); its fixed twin runs clean.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static IO_REMOVE_LOCK lock;
static int reached_after; /* set after the violating call: must stay 0 */
static int tag1, tag2;

static void ReleaseTwice(void *ctx)
{
    BOOLEAN fixed = ctx != NULL;
    IoInitializeRemoveLock(&lock, 'brl0', 0, 0);
    (void)IoAcquireRemoveLock(&lock, &tag1);
    IoReleaseRemoveLock(&lock, &tag1);
    if (!fixed)
        IoReleaseRemoveLock(&lock, &tag1);
    reached_after = !fixed;
}

static void ReleaseWithoutAcquire(void *ctx)
{
    BOOLEAN fixed = ctx != NULL;
    IoInitializeRemoveLock(&lock, 'brl1', 0, 0);
    (void)IoAcquireRemoveLock(&lock, &tag1);
    IoReleaseRemoveLock(&lock, fixed ? (PVOID)&tag1 : (PVOID)&tag2); /* tag2 never acquired */
    reached_after = !fixed;
}

static void WaitWithoutAcquire(void *ctx)
{
    BOOLEAN fixed = ctx != NULL;
    IoInitializeRemoveLock(&lock, 'brl2', 0, 0);
    if (fixed)
        (void)IoAcquireRemoveLock(&lock, &tag1);
    IoReleaseRemoveLockAndWait(&lock, &tag1);
    reached_after = !fixed;
}

/* not a misuse: an acquire after IoReleaseRemoveLockAndWait returned is documented to fail with
 * STATUS_DELETE_PENDING (docs/facts/pnp.md 4.5) */
static NTSTATUS late_acquire;

static void AcquireAfterWait(void *ctx)
{
    (void)ctx;
    IoInitializeRemoveLock(&lock, 'brl3', 0, 0);
    (void)IoAcquireRemoveLock(&lock, &tag1);
    IoReleaseRemoveLockAndWait(&lock, &tag1);
    late_acquire = IoAcquireRemoveLock(&lock, &tag2);
    reached_after = 1;
}

static void InitAfterWait(void *ctx)
{
    BOOLEAN fixed = ctx != NULL;
    IoInitializeRemoveLock(&lock, 'brl4', 0, 0);
    (void)IoAcquireRemoveLock(&lock, &tag1);
    IoReleaseRemoveLockAndWait(&lock, &tag1);
    if (!fixed)
        IoInitializeRemoveLock(&lock, 'brl4', 0, 0);
    reached_after = !fixed;
}

static void WaitTwice(void *ctx)
{
    BOOLEAN fixed = ctx != NULL;
    IoInitializeRemoveLock(&lock, 'brl5', 0, 0);
    (void)IoAcquireRemoveLock(&lock, &tag1);
    IoReleaseRemoveLockAndWait(&lock, &tag1);
    if (!fixed)
        IoReleaseRemoveLockAndWait(&lock, &tag1);
    reached_after = !fixed;
}

static void expect(kdpc_entry_fn *fn, const char *rule, uint64_t sub, const void *tag)
{
    kdpc_machine *m = kt_machine(1, 11);
    reached_after = 0;
    kdpc_status st = kdpc_machine_run(m, fn, NULL);
    KT_ASSERT_BUGCHECK(m, st, rule, 0xC4);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], sub);
    assert_int_equal(v->params[1], (uint64_t)(uintptr_t)&lock);
    assert_int_equal(v->params[2], (uint64_t)(uintptr_t)tag);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
    /* the fixed twin */
    m = kt_machine(1, 11);
    assert_int_equal(kdpc_machine_run(m, fn, (void *)1), KDPC_OK);
    assert_null(kdpc_machine_bugcheck(m));
    KT_ASSERT_NO_VIOLATION(m, rule);
    kdpc_machine_destroy(m);
}

static void test_release_twice(void **state)
{
    (void)state;
    expect(ReleaseTwice, "removelock.release_unheld", 0xD5, &tag1);
}

static void test_release_without_acquire(void **state)
{
    (void)state;
    expect(ReleaseWithoutAcquire, "removelock.release_unheld", 0xD5, &tag2);
}

static void test_release_and_wait_without_acquire(void **state)
{
    (void)state;
    expect(WaitWithoutAcquire, "removelock.release_unheld", 0xD6, &tag1);
}

static void test_acquire_after_release_and_wait_is_no_violation(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 11);
    reached_after = 0;
    assert_int_equal(kdpc_machine_run(m, AcquireAfterWait, NULL), KDPC_OK);
    assert_null(kdpc_machine_bugcheck(m));
    KT_ASSERT_NO_VIOLATION(m, "removelock.after_wait");
    assert_int_equal(late_acquire, STATUS_DELETE_PENDING);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

static void test_initialize_after_release_and_wait(void **state)
{
    (void)state;
    expect(InitAfterWait, "removelock.after_wait", 0xD3, NULL);
}

static void test_release_and_wait_twice(void **state)
{
    (void)state;
    expect(WaitTwice, "removelock.after_wait", 0xD4, &tag1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_twice),
        cmocka_unit_test(test_release_without_acquire),
        cmocka_unit_test(test_release_and_wait_without_acquire),
        cmocka_unit_test(test_acquire_after_release_and_wait_is_no_violation),
        cmocka_unit_test(test_initialize_after_release_and_wait),
        cmocka_unit_test(test_release_and_wait_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
