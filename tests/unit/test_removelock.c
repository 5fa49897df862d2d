/* SPDX-License-Identifier: MIT */
/*
 * test_removelock.c - remove locks (kdpc/wdm/pnp.h, docs/facts/pnp.md
 * section 4): IoInitializeRemoveLock leaves one reference and not removed;
 * acquisitions count and are released per tag (NULL included, a tag held
 * twice released twice), at DISPATCH_LEVEL too; IoReleaseRemoveLockAndWait
 * waits for the acquisitions other threads still hold, and acquisitions
 * while it waits get STATUS_DELETE_PENDING (no report).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static IO_REMOVE_LOCK lock;
static KEVENT go;
static struct {
    LONG count_init, count_after_acquire, count_after_release;
    BOOLEAN removed_init;
    NTSTATUS acq1, acq_dispatch, acq_during_wait;
    int order[8];
    int n;
    volatile LONG holder_has_it;
} g;

static void note(int what)
{
    if (g.n < 8)
        g.order[g.n++] = what;
}

static void basics(void *ctx)
{
    (void)ctx;
    IoInitializeRemoveLock(&lock, 'tsrl', 1, 100);
    g.count_init = lock.Common.IoCount;
    g.removed_init = lock.Common.Removed;
    g.acq1 = IoAcquireRemoveLock(&lock, NULL);
    (void)IoAcquireRemoveLock(&lock, &lock); /* same tag twice */
    (void)IoAcquireRemoveLock(&lock, &lock);
    g.count_after_acquire = lock.Common.IoCount;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g.acq_dispatch = IoAcquireRemoveLock(&lock, &g);
    IoReleaseRemoveLock(&lock, &g);
    KeLowerIrql(old);
    IoReleaseRemoveLock(&lock, &lock);
    IoReleaseRemoveLock(&lock, &lock);
    IoReleaseRemoveLock(&lock, NULL);
    g.count_after_release = lock.Common.IoCount;
}

static void test_acquire_release_count_per_tag(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    kdpc_machine *m = kt_machine(1, 3);
    assert_int_equal(kdpc_machine_run(m, basics, NULL), KDPC_OK);
    assert_int_equal(g.count_init, 1);
    assert_false(g.removed_init);
    assert_int_equal(g.acq1, STATUS_SUCCESS);
    assert_int_equal(g.count_after_acquire, 4);
    assert_int_equal(g.acq_dispatch, STATUS_SUCCESS);
    assert_int_equal(g.count_after_release, 1);
    assert_null(kdpc_machine_find_violation(m, "removelock.release_unheld"));
    kdpc_machine_destroy(m);
}

/* A thread holds the lock until it is told to let go. */
static void Holder(PVOID ctx)
{
    (void)ctx;
    (void)IoAcquireRemoveLock(&lock, &g.order);
    g.holder_has_it = 1;
    (void)KeWaitForSingleObject(&go, Executive, KernelMode, FALSE, NULL);
    g.acq_during_wait = IoAcquireRemoveLock(&lock, &go); /* the remover waits already */
    note(1);
    IoReleaseRemoveLock(&lock, &g.order);
}

static void remover(void *ctx)
{
    (void)ctx;
    HANDLE h;
    IoInitializeRemoveLock(&lock, 'tsrl', 0, 0);
    KeInitializeEvent(&go, NotificationEvent, FALSE);
    assert_true(
        NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Holder, NULL)));
    while (!g.holder_has_it) {
        LARGE_INTEGER t;
        t.QuadPart = -10000; /* 1 ms */
        (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    }
    (void)IoAcquireRemoveLock(&lock, &g.n);
    KeSetEvent(&go, IO_NO_INCREMENT, FALSE);
    note(0);
    IoReleaseRemoveLockAndWait(&lock, &g.n);
    note(2);
    (void)ZwClose(h);
}

static void test_release_and_wait_waits_for_other_holders(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    kdpc_machine *m = kt_machine(2, 5);
    assert_int_equal(kdpc_machine_run(m, remover, NULL), KDPC_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.order[2], 2); /* the wait returned after the holder released */
    assert_int_equal(g.acq_during_wait, STATUS_DELETE_PENDING);
    assert_true(lock.Common.Removed);
    assert_int_equal(lock.Common.IoCount, 0);
    assert_null(kdpc_machine_find_violation(m, "removelock.after_wait"));
    assert_null(kdpc_machine_find_violation(m, "removelock.release_unheld"));
    kdpc_machine_destroy(m);
}

static void reinit_on_fresh_memory(void *ctx)
{
    (void)ctx;
    /* a lock inside a device extension: IoDeleteDevice forgets it, so a new device at the same
     * address initialises its lock freely */
    PDRIVER_OBJECT drv = NULL;
    (void)drv;
    IoInitializeRemoveLock(&lock, 'tsrl', 0, 0);
    (void)IoAcquireRemoveLock(&lock, NULL);
    IoReleaseRemoveLockAndWait(&lock, NULL);
}

static void test_wait_without_other_holders_returns_at_once(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    kdpc_machine *m = kt_machine(1, 7);
    assert_int_equal(kdpc_machine_run(m, reinit_on_fresh_memory, NULL), KDPC_OK);
    assert_true(lock.Common.Removed);
    assert_int_equal(lock.Common.IoCount, 0);
    kdpc_machine_destroy(m);
}

static NTSTATUS after_wait[2];

static void acquire_after_wait(void *ctx)
{
    (void)ctx;
    IoInitializeRemoveLock(&lock, 'tsrl', 0, 0);
    (void)IoAcquireRemoveLock(&lock, NULL);
    IoReleaseRemoveLockAndWait(&lock, NULL);
    after_wait[0] = IoAcquireRemoveLock(&lock, &g.n); /* a late IRP: documented, no misuse */
    after_wait[1] = IoAcquireRemoveLock(&lock, NULL);
}

/* docs/facts/pnp.md 4.5: once IoReleaseRemoveLockAndWait was called, every later acquire gets
 * STATUS_DELETE_PENDING; after the wait returned as during it, with no report */
static void test_acquire_after_wait_returned_is_delete_pending_unreported(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 7);
    assert_int_equal(kdpc_machine_run(m, acquire_after_wait, NULL), KDPC_OK);
    assert_int_equal(after_wait[0], STATUS_DELETE_PENDING);
    assert_int_equal(after_wait[1], STATUS_DELETE_PENDING);
    assert_int_equal(lock.Common.IoCount, 0); /* nothing taken */
    assert_null(kdpc_machine_bugcheck(m));
    assert_null(kdpc_machine_find_violation(m, "removelock.after_wait"));
    kdpc_machine_destroy(m);
}

typedef struct EXT {
    IO_REMOVE_LOCK Lock;
} EXT;

static NTSTATUS Entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    for (int i = 0; i < 2; i++) {
        PDEVICE_OBJECT dev = NULL;
        if (!NT_SUCCESS(
                IoCreateDevice(drv, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev)))
            return STATUS_UNSUCCESSFUL;
        EXT *x = dev->DeviceExtension;
        IoInitializeRemoveLock(&x->Lock, 'tsrl', 0, 0);
        (void)IoAcquireRemoveLock(&x->Lock, NULL);
        IoReleaseRemoveLockAndWait(&x->Lock, NULL);
        IoDeleteDevice(dev); /* the next device may reuse the memory */
    }
    return STATUS_SUCCESS;
}

static void deleted_devices(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    (void)kdpc_driver_load(kdpc_current_machine(), "trl", Entry, &drv);
}

static void test_lock_in_deleted_device_is_forgotten(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 7);
    assert_int_equal(kdpc_machine_run(m, deleted_devices, NULL), KDPC_OK);
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_release_count_per_tag),
        cmocka_unit_test(test_release_and_wait_waits_for_other_holders),
        cmocka_unit_test(test_wait_without_other_holders_returns_at_once),
        cmocka_unit_test(test_lock_in_deleted_device_is_forgotten),
        cmocka_unit_test(test_acquire_after_wait_returned_is_delete_pending_unreported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
