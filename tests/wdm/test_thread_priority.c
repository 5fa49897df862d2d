/* SPDX-License-Identifier: MIT */
/*
 * test_thread_priority.c - KeSetPriorityThread / KeQueryPriorityThread
 * (docs/facts/dpc-irql.md section 12): the old priority comes back, the
 * new one is kept, every thread starts at 8; a priority outside 1..31 is
 * bug check 0x1E (STATUS_INVALID_PARAMETER) and a pointer that is not a live
 * thread is obj.invalid (0x50), never a host read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kdpc_test.h"

static struct {
    KPRIORITY start, old, now, self_old, self_now, worker_seen;
    NTSTATUS st;
    int done;
} R;

static void Worker(PVOID ctx)
{
    (void)ctx;
    /* the thread raises itself, as Microsoft's cancel sample does */
    R.self_old = KeSetPriorityThread(KeGetCurrentThread(), LOW_REALTIME_PRIORITY);
    R.self_now = KeQueryPriorityThread(KeGetCurrentThread());
}

static void Body(void *ctx)
{
    (void)ctx;
    PKTHREAD me = KeGetCurrentThread();
    R.start = KeQueryPriorityThread(me);
    R.old = KeSetPriorityThread(me, 12);
    R.now = KeQueryPriorityThread(me);
    HANDLE h;
    R.st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    if (NT_SUCCESS(R.st)) {
        /* the driver's own typed pointer, passed as drivers do (no (PVOID *) cast) */
        PKTHREAD t = NULL;
        if (NT_SUCCESS(
                ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &t, NULL))) {
            R.worker_seen = KeQueryPriorityThread(t); /* before or after it raised */
            (void)KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
            ObDereferenceObject(t);
        }
        (void)ZwClose(h);
    }
    R.done = 1;
}

static void test_set_returns_the_old_priority_and_query_reads_the_new(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(2, 11);
    assert_int_equal(kdpc_machine_run(m, Body, NULL), KDPC_OK);
    assert_int_equal(R.done, 1);
    assert_int_equal(R.start, 8);
    assert_int_equal(R.old, 8);
    assert_int_equal(R.now, 12);
    assert_int_equal(R.st, STATUS_SUCCESS);
    assert_int_equal(R.self_old, 8);
    assert_int_equal(R.self_now, LOW_REALTIME_PRIORITY);
    assert_true(R.worker_seen == 8 || R.worker_seen == LOW_REALTIME_PRIORITY);
    assert_int_equal(LOW_PRIORITY, 0);
    assert_int_equal(HIGH_PRIORITY, 31);
    kdpc_machine_destroy(m);
}

static KPRIORITY bad_priority;
static void BadPriority(void *ctx)
{
    (void)ctx;
    (void)KeSetPriorityThread(KeGetCurrentThread(), bad_priority);
    R.done = 1;
}

static void test_a_priority_outside_1_to_31_bugchecks_1e(void **state)
{
    (void)state;
    const KPRIORITY bad[] = {LOW_PRIORITY, 32, -1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&R, 0, sizeof(R));
        bad_priority = bad[i];
        kdpc_machine *m = kt_machine(1, 3);
        kdpc_status st = kdpc_machine_run(m, BadPriority, NULL);
        KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
        const kdpc_violation *v = kdpc_machine_bugcheck(m);
        assert_int_equal((NTSTATUS)v->params[0], STATUS_INVALID_PARAMETER);
        assert_int_equal((KPRIORITY)v->params[2], bad[i]);
        assert_int_equal(R.done, 0);
        kdpc_machine_destroy(m);
    }
    /* the fixed twin: the edges are accepted */
    memset(&R, 0, sizeof(R));
    bad_priority = HIGH_PRIORITY;
    kdpc_machine *m = kt_machine(1, 3);
    assert_int_equal(kdpc_machine_run(m, BadPriority, NULL), KDPC_OK);
    assert_int_equal(R.done, 1);
    kdpc_machine_destroy(m);
}

static KTHREAD *volatile garbage_thread;
static void GarbageThread(void *ctx)
{
    (void)ctx;
    (void)KeQueryPriorityThread((PKTHREAD)garbage_thread);
    R.done = 1;
}

static void test_a_pointer_that_is_no_thread_is_obj_invalid(void **state)
{
    (void)state;
    static uint64_t not_a_thread[64]; /* zeroed memory, never a KTHREAD */
    memset(&R, 0, sizeof(R));
    garbage_thread = (KTHREAD *)(void *)not_a_thread;
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_status st = kdpc_machine_run(m, GarbageThread, NULL);
    KT_ASSERT_BUGCHECK(m, st, "obj.invalid", 0x50);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], (uintptr_t)(void *)not_a_thread);
    assert_int_equal(R.done, 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_returns_the_old_priority_and_query_reads_the_new),
        cmocka_unit_test(test_a_priority_outside_1_to_31_bugchecks_1e),
        cmocka_unit_test(test_a_pointer_that_is_no_thread_is_obj_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
