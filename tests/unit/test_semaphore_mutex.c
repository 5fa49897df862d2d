/* SPDX-License-Identifier: MIT */
/*
 * test_semaphore_mutex.c - semaphores and mutexes (include/kdpc/wdm/dispatcher.h,
 * io.md 3.10, 3.11): KeReleaseSemaphore's previous count, waits taking
 * units, KeReadStateSemaphore; a mutex's initial state, recursive ownership
 * with KeReleaseMutex returning the previous SignalState, and another thread
 * blocking until the final release. The bug checks (limit exceeded, release
 * by a non-owner) are in tests/bugcheck/test_wait_rules.c.
 *
 * Threads are "settled" with a short KeDelayExecutionThread: virtual time
 * only jumps to its expiry once every other thread is blocked or done.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TICK_NS 1000000u /* 1 ms clock tick */

static struct {
    KSEMAPHORE s;
    KMUTEX mx;
    volatile LONG woken;
    volatile LONG reached;
    NTSTATUS st[32];
    LONG ret[32];
    LONG state[32];
    LONG woken_at[8];
    UCHAR type[2];
    LONG limit;
    PKTHREAD owner[8];
    PKTHREAD self[4];
} S;

static void reset(void)
{
    memset(&S, 0, sizeof(S));
}

static kdpc_machine *machine(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.clock_tick_ns = TICK_NS;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static void start(PKSTART_ROUTINE routine, PVOID ctx)
{
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, routine, ctx)))
        ZwClose(h);
}

static void settle(LONGLONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -ms * 10000;
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* ------------------------------------------------------------------ */
/* Semaphores (3.10)                                                   */

static void sem_count_entry(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    KeInitializeSemaphore(&S.s, 0, 5);
    S.type[0] = S.s.Header.Type;
    S.limit = S.s.Limit;
    S.state[0] = KeReadStateSemaphore(&S.s);
    S.ret[0] = KeReleaseSemaphore(&S.s, SEMAPHORE_INCREMENT, 1, FALSE); /* 0 -> 1 */
    S.ret[1] = KeReleaseSemaphore(&S.s, SEMAPHORE_INCREMENT, 2, FALSE); /* 1 -> 3 */
    S.ret[2] = KeReleaseSemaphore(&S.s, SEMAPHORE_INCREMENT, 1, FALSE); /* 3 -> 4 */
    S.state[1] = KeReadStateSemaphore(&S.s);
    S.state[2] = S.s.Header.SignalState;
    /* each satisfied wait takes one unit */
    for (int i = 0; i < 5; i++) {
        S.st[i] = KeWaitForSingleObject(&S.s, Executive, KernelMode, FALSE, &zero);
        S.state[3 + i] = KeReadStateSemaphore(&S.s);
    }
    /* up to the limit exactly is fine; from DISPATCH_LEVEL too (Wait = FALSE) */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    S.ret[3] = KeReleaseSemaphore(&S.s, SEMAPHORE_INCREMENT, 5, FALSE);
    KeLowerIrql(old);
    S.state[8] = KeReadStateSemaphore(&S.s);
}

static void test_release_semaphore_returns_previous_count_and_waits_take_units(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 1);
    assert_int_equal(kdpc_machine_run(m, sem_count_entry, NULL), KDPC_OK);
    assert_int_equal(S.type[0], 5); /* Semaphore */
    assert_int_equal(S.limit, 5);
    assert_int_equal(S.state[0], 0);
    assert_int_equal(S.ret[0], 0); /* 3.10: previous count, observed 0, 1, 3 */
    assert_int_equal(S.ret[1], 1);
    assert_int_equal(S.ret[2], 3);
    assert_int_equal(S.state[1], 4);
    assert_int_equal(S.state[2], 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(S.st[i], STATUS_SUCCESS);
        assert_int_equal(S.state[3 + i], 3 - i); /* 3.10: each wait decrements */
    }
    assert_int_equal(S.st[4], STATUS_TIMEOUT); /* count 0: not signaled */
    assert_int_equal(S.state[7], 0);
    assert_int_equal(S.ret[3], 0);
    assert_int_equal(S.state[8], 5);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void SemWaiter(PVOID ctx)
{
    int i = (int)(intptr_t)ctx;
    S.reached++;
    S.st[i] = KeWaitForSingleObject(&S.s, Executive, KernelMode, FALSE, NULL);
    S.woken++;
}

static void sem_waiters_entry(void *ctx)
{
    (void)ctx;
    KeInitializeSemaphore(&S.s, 0, 10);
    for (int i = 0; i < 3; i++) {
        S.st[i] = (NTSTATUS)-1;
        start(SemWaiter, (PVOID)(intptr_t)i);
    }
    settle(1);
    S.woken_at[0] = S.woken;
    S.ret[0] = KeReleaseSemaphore(&S.s, SEMAPHORE_INCREMENT, 1, FALSE);
    settle(1);
    S.woken_at[1] = S.woken;
    S.state[0] = KeReadStateSemaphore(&S.s); /* the waiter took the unit */
    S.ret[1] = KeReleaseSemaphore(&S.s, SEMAPHORE_INCREMENT, 4, FALSE);
    settle(1);
    S.woken_at[2] = S.woken;
    S.state[1] = KeReadStateSemaphore(&S.s); /* 4 units, 2 taken */
}

static void test_semaphore_release_wakes_as_many_waiters_as_units(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 4};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            reset();
            kdpc_machine *m = machine(cpus[c], seed);
            assert_int_equal(kdpc_machine_run(m, sem_waiters_entry, NULL), KDPC_OK);
            assert_int_equal(S.woken_at[0], 0);
            assert_int_equal(S.ret[0], 0);
            assert_int_equal(S.woken_at[1], 1);
            assert_int_equal(S.state[0], 0);
            assert_int_equal(S.ret[1], 0);
            assert_int_equal(S.woken_at[2], 3);
            assert_int_equal(S.state[1], 2);
            for (int i = 0; i < 3; i++)
                assert_int_equal(S.st[i], STATUS_SUCCESS);
            kdpc_machine_destroy(m);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Mutexes (3.11)                                                      */

static void mutex_recursive_entry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    KeInitializeMutex(&S.mx, 0); /* 3.11: any IRQL */
    KeLowerIrql(old);
    S.type[0] = S.mx.Header.Type;
    S.state[0] = KeReadStateMutex(&S.mx); /* 3.11: signaled */
    S.owner[0] = S.mx.OwnerThread;
    S.self[0] = KeGetCurrentThread();
    for (int i = 0; i < 10; i++)
        S.st[i] = KeWaitForSingleObject(&S.mx, Executive, KernelMode, FALSE, NULL);
    S.state[1] = KeReadStateMutex(&S.mx);
    S.owner[1] = S.mx.OwnerThread;
    for (int i = 0; i < 10; i++)
        S.ret[i] = KeReleaseMutex(&S.mx, FALSE);
    S.state[2] = KeReadStateMutex(&S.mx);
    S.owner[2] = S.mx.OwnerThread;
}

static void test_mutex_is_recursive_for_its_owner_and_release_returns_previous_state(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 2);
    assert_int_equal(kdpc_machine_run(m, mutex_recursive_entry, NULL), KDPC_OK);
    assert_int_equal(S.type[0], 2); /* Mutant */
    assert_int_equal(S.state[0], 1);
    assert_null(S.owner[0]);
    for (int i = 0; i < 10; i++)
        assert_int_equal(S.st[i], STATUS_SUCCESS);
    assert_int_equal(S.state[1], -9); /* 1 - 10 */
    assert_ptr_equal(S.owner[1], S.self[0]);
    for (int i = 0; i < 10; i++)
        assert_int_equal(S.ret[i], -9 + i); /* 3.11: -9, -8 ... 0 */
    assert_int_equal(S.state[2], 1);
    assert_null(S.owner[2]);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void MutexContender(PVOID ctx)
{
    (void)ctx;
    LARGE_INTEGER t;
    t.QuadPart = -2 * 10000; /* 2 ms: the owner holds it meanwhile */
    S.self[1] = KeGetCurrentThread();
    S.reached = 1;
    S.st[20] = KeWaitForSingleObject(&S.mx, Executive, KernelMode, FALSE, &t);
    S.st[21] = KeWaitForSingleObject(&S.mx, Executive, KernelMode, FALSE, NULL);
    S.woken = 1;
    S.owner[3] = S.mx.OwnerThread;
    S.state[5] = KeReadStateMutex(&S.mx);
    S.ret[20] = KeReleaseMutex(&S.mx, FALSE);
}

static void mutex_contend_entry(void *ctx)
{
    (void)ctx;
    KeInitializeMutex(&S.mx, 0);
    S.self[0] = KeGetCurrentThread();
    S.st[0] = KeWaitForSingleObject(&S.mx, Executive, KernelMode, FALSE, NULL);
    S.st[1] = KeWaitForSingleObject(&S.mx, Executive, KernelMode, FALSE, NULL);
    start(MutexContender, NULL);
    settle(5); /* the contender timed out once and blocks again */
    S.woken_at[0] = S.woken;
    S.ret[0] = KeReleaseMutex(&S.mx, FALSE); /* still owned once */
    settle(1);
    S.woken_at[1] = S.woken;
    S.owner[0] = S.mx.OwnerThread;
    S.ret[1] = KeReleaseMutex(&S.mx, FALSE); /* final release */
    settle(1);
    S.woken_at[2] = S.woken;
    S.state[0] = KeReadStateMutex(&S.mx);
}

static void test_other_thread_blocks_on_mutex_until_final_release(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 2};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            reset();
            kdpc_machine *m = machine(cpus[c], seed);
            assert_int_equal(kdpc_machine_run(m, mutex_contend_entry, NULL), KDPC_OK);
            assert_int_equal(S.st[0], STATUS_SUCCESS);
            assert_int_equal(S.st[1], STATUS_SUCCESS);
            assert_int_equal(S.reached, 1);
            assert_int_equal(S.st[20], STATUS_TIMEOUT); /* owned by another thread */
            assert_int_equal(S.woken_at[0], 0);
            assert_int_equal(S.ret[0], -1);
            assert_int_equal(S.woken_at[1], 0); /* one release of two: still owned */
            assert_ptr_equal(S.owner[0], S.self[0]);
            assert_int_equal(S.ret[1], 0);
            assert_int_equal(S.woken_at[2], 1);
            assert_int_equal(S.st[21], STATUS_SUCCESS);
            assert_ptr_equal(S.owner[3], S.self[1]); /* the contender owns it now */
            assert_int_equal(S.state[5], 0);
            assert_int_equal(S.ret[20], 0);
            assert_int_equal(S.state[0], 1);
            kdpc_machine_destroy(m);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_semaphore_returns_previous_count_and_waits_take_units),
        cmocka_unit_test(test_semaphore_release_wakes_as_many_waiters_as_units),
        cmocka_unit_test(test_mutex_is_recursive_for_its_owner_and_release_returns_previous_state),
        cmocka_unit_test(test_other_thread_blocks_on_mutex_until_final_release),
    };
    return cmocka_run_group_tests_name("semaphore_mutex", tests, NULL, NULL);
}
