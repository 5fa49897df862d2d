/* SPDX-License-Identifier: MIT */
/*
 * test_thread.c - system threads: PsCreateSystemThread, ZwClose on their
 * handles, PsTerminateSystemThread, the current thread, and system
 * affinity (KeSetSystemAffinityThreadEx / KeRevertToUserAffinityThreadEx).
 *
 * Driver threads run at PASSIVE_LEVEL (dpc-irql.md 1.6, 1.20). Observations
 * are recorded by simulated code and asserted after kdpc_machine_run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define MAX_POLL 5000

static void stall_points(int n)
{
    for (int i = 0; i < n; i++)
        KeStallExecutionProcessor(1);
}

static struct {
    NTSTATUS st[16];
    HANDLE h[4];
    volatile LONG ran[4];
    KIRQL irql[4];
    PVOID ctx[4];
    LONG marker[4];
    volatile LONG before, after;
    KAFFINITY aff[16];
    ULONG cpu[32];
    BOOLEAN flags[16];
    PKTHREAD self[4][4];
    uint64_t t_end;
} T;

static void reset(void)
{
    memset(&T, 0, sizeof(T));
}

/* ------------------------------------------------------------------ */
/* PsCreateSystemThread                                                */

static void RecordStart(PVOID StartContext)
{
    LONG *marker = StartContext;
    int k = (int)(marker - T.marker);
    T.irql[k] = KeGetCurrentIrql();
    T.ctx[k] = StartContext;
    T.ran[k]++;
}

static void create_entry(void *ctx)
{
    (void)ctx;
    for (int k = 0; k < 2; k++)
        T.st[k] = PsCreateSystemThread(&T.h[k], THREAD_ALL_ACCESS, NULL, NULL, NULL, RecordStart,
                                       &T.marker[k]);
    for (int k = 0; k < 2; k++) {
        if (T.st[k] == STATUS_SUCCESS)
            ZwClose(T.h[k]);
    }
}

static void test_system_thread_runs_start_routine_at_passive_with_its_context(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        reset();
        kdpc_machine *m = kt_machine(2, seed);
        assert_int_equal(kdpc_machine_run(m, create_entry, NULL), KDPC_OK);
        for (int k = 0; k < 2; k++) {
            assert_int_equal(T.st[k], STATUS_SUCCESS);
            assert_non_null(T.h[k]);
            assert_int_equal(T.ran[k], 1);
            assert_int_equal(T.irql[k], PASSIVE_LEVEL); /* 1.6: driver threads at PASSIVE */
            assert_ptr_equal(T.ctx[k], &T.marker[k]);
        }
        assert_ptr_not_equal(T.h[0], T.h[1]);
        kdpc_machine_destroy(m);
    }
}

static void SlowWorker(PVOID StartContext)
{
    LONG depth = (LONG)(intptr_t)StartContext;
    if (depth > 0) {
        HANDLE h;
        /* a thread may start another one; the run waits for it too */
        T.st[1] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, SlowWorker,
                                       (PVOID)(intptr_t)(depth - 1));
        if (T.st[1] == STATUS_SUCCESS)
            ZwClose(h);
    }
    stall_points(200);
    T.ran[depth]++;
}

static void waits_entry(void *ctx)
{
    (void)ctx;
    HANDLE h;
    T.st[0] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, SlowWorker,
                                   (PVOID)(intptr_t)1);
    if (T.st[0] == STATUS_SUCCESS)
        ZwClose(h);
    /* return at once: the workers are still running */
}

static void test_run_waits_for_created_threads(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        reset();
        kdpc_machine *m = kt_machine(1, seed);
        assert_int_equal(kdpc_machine_run(m, waits_entry, NULL), KDPC_OK);
        assert_int_equal(T.st[0], STATUS_SUCCESS);
        assert_int_equal(T.st[1], STATUS_SUCCESS);
        assert_int_equal(T.ran[1], 1);
        assert_int_equal(T.ran[0], 1);
        assert_true(kdpc_machine_time_ns(m) >= 400u * 1000u); /* both stalled 200 us */
        kdpc_machine_destroy(m);
    }
}

static void CountingWorker(PVOID StartContext)
{
    (void)StartContext;
    stall_points(20);
    T.ran[0]++;
}

static void close_entry(void *ctx)
{
    (void)ctx;
    HANDLE h = NULL;
    T.st[0] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, CountingWorker, NULL);
    T.st[1] = ZwClose(h); /* closing the handle does not stop the thread */
    T.st[2] = ZwClose(h);
    T.st[3] = ZwClose(NULL);
    T.st[4] = ZwClose((HANDLE)&T); /* not a handle */
}

static void test_zw_close_succeeds_once_then_invalid_handle(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 4);
    assert_int_equal(kdpc_machine_run(m, close_entry, NULL), KDPC_OK);
    assert_int_equal(T.st[0], STATUS_SUCCESS);
    assert_int_equal(T.st[1], STATUS_SUCCESS);
    assert_int_equal(T.st[2], STATUS_INVALID_HANDLE);
    assert_int_equal(T.st[3], STATUS_INVALID_HANDLE);
    assert_int_equal(T.st[4], STATUS_INVALID_HANDLE);
    assert_int_equal(T.ran[0], 1);
    kdpc_machine_destroy(m);
}

static void null_args_entry(void *ctx)
{
    (void)ctx;
    HANDLE h = NULL;
    T.st[0] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, NULL, NULL);
    T.st[1] = PsCreateSystemThread(NULL, THREAD_ALL_ACCESS, NULL, NULL, NULL, CountingWorker, NULL);
    T.flags[0] = h == NULL;
}

static void test_create_with_null_routine_or_handle_returns_invalid_parameter(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, null_args_entry, NULL), KDPC_OK);
    assert_int_equal(T.st[0], STATUS_INVALID_PARAMETER);
    assert_int_equal(T.st[1], STATUS_INVALID_PARAMETER);
    assert_true(T.flags[0]);
    assert_int_equal(T.ran[0], 0); /* no thread was started */
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* PsTerminateSystemThread                                             */

static void deep_terminate(int depth)
{
    if (depth > 0) {
        deep_terminate(depth - 1);
        return;
    }
    T.st[1] = PsTerminateSystemThread(STATUS_SUCCESS);
    T.after++; /* must not run */
}

static void TerminatingWorker(PVOID StartContext)
{
    (void)StartContext;
    T.before++;
    KeStallExecutionProcessor(1);
    deep_terminate(3);
    T.after++; /* must not run */
}

static void terminate_entry(void *ctx)
{
    (void)ctx;
    HANDLE h;
    T.st[0] =
        PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, TerminatingWorker, NULL);
    if (T.st[0] == STATUS_SUCCESS)
        ZwClose(h);
    T.st[2] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, CountingWorker, NULL);
    if (T.st[2] == STATUS_SUCCESS)
        ZwClose(h);
    stall_points(50);
    T.ran[3]++; /* the creator goes on */
}

static void test_terminate_system_thread_ends_the_calling_thread(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        reset();
        kdpc_machine *m = kt_machine(2, seed);
        assert_int_equal(kdpc_machine_run(m, terminate_entry, NULL), KDPC_OK);
        assert_int_equal(T.st[0], STATUS_SUCCESS);
        assert_int_equal(T.before, 1);
        assert_int_equal(T.after, 0);  /* PsTerminateSystemThread does not return */
        assert_int_equal(T.ran[0], 1); /* other threads are not affected */
        assert_int_equal(T.ran[3], 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* System affinity                                                     */

static void affinity_entry(void *ctx)
{
    (void)ctx;
    int n = 0;
    KAFFINITY first = KeSetSystemAffinityThreadEx(0x2);
    T.aff[0] = first;
    T.cpu[n++] = KeGetCurrentProcessorNumber(); /* 1, before any other call */
    for (int i = 0; i < 10; i++) {
        KeStallExecutionProcessor(1);
        if (KeGetCurrentProcessorNumber() != 1)
            T.flags[0] = TRUE; /* left the mask */
    }
    T.aff[1] = KeSetSystemAffinityThreadEx(0x4);
    T.cpu[n++] = KeGetCurrentProcessorNumber(); /* 2 */
    KeRevertToUserAffinityThreadEx(T.aff[1]);   /* back to 0x2 */
    T.cpu[n++] = KeGetCurrentProcessorNumber(); /* 1 */
    T.aff[2] = KeSetSystemAffinityThreadEx(0x8);
    T.cpu[n++] = KeGetCurrentProcessorNumber(); /* 3 */
    KeRevertToUserAffinityThreadEx(T.aff[2]);
    T.cpu[n++] = KeGetCurrentProcessorNumber(); /* 1 */
    KeRevertToUserAffinityThreadEx(first);
    /* after the full revert the thread has no system affinity again */
    T.aff[3] = KeSetSystemAffinityThreadEx(0x1);
    T.cpu[n++] = KeGetCurrentProcessorNumber(); /* 0 */
    KeRevertToUserAffinityThreadEx(T.aff[3]);
    /* a mask with several CPUs: any of them */
    T.aff[4] = KeSetSystemAffinityThreadEx(0xC);
    T.cpu[n++] = KeGetCurrentProcessorNumber(); /* 2 or 3 */
    KeRevertToUserAffinityThreadEx(T.aff[4]);
}

static void test_set_system_affinity_moves_thread_and_revert_restores(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        reset();
        kdpc_machine *m = kt_machine(4, seed);
        assert_int_equal(kdpc_machine_run(m, affinity_entry, NULL), KDPC_OK);
        assert_int_equal(T.cpu[0], 1); /* moved onto the mask before returning */
        assert_false(T.flags[0]);      /* and kept there */
        assert_int_equal(T.cpu[1], 2);
        assert_int_equal(T.aff[1], 0x2); /* previous system affinity */
        assert_int_equal(T.cpu[2], 1);   /* revert to 0x2 moved it back */
        assert_int_equal(T.aff[2], 0x2); /* and the affinity is 0x2 again */
        assert_int_equal(T.cpu[3], 3);
        assert_int_equal(T.cpu[4], 1);
        assert_int_equal(T.aff[3], T.aff[0]); /* same state as before the first call */
        assert_int_equal(T.cpu[5], 0);
        assert_true(T.cpu[6] == 2 || T.cpu[6] == 3);
        kdpc_machine_destroy(m);
    }
}

static void first_affinity_entry(void *ctx)
{
    (void)ctx;
    T.aff[0] = KeSetSystemAffinityThreadEx(0x2);
    KeRevertToUserAffinityThreadEx(T.aff[0]);
}

/* MS Learn, KeSetSystemAffinityThreadEx: "returns either the previous system
 * affinity of the current thread, or zero to indicate that there was no
 * previous system affinity"; KeRevertToUserAffinityThreadEx(0) restores the
 * user affinity. */
static void test_first_set_system_affinity_returns_zero(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(4, 1);
    assert_int_equal(kdpc_machine_run(m, first_affinity_entry, NULL), KDPC_OK);
    assert_int_equal(T.aff[0], 0);
    kdpc_machine_destroy(m);
}

static void ignored_mask_entry(void *ctx)
{
    (void)ctx;
    KAFFINITY first = KeSetSystemAffinityThreadEx(0x2);
    T.cpu[0] = KeGetCurrentProcessorNumber();
    (void)KeSetSystemAffinityThreadEx(0x30); /* CPUs 4 and 5 do not exist on 4 CPUs */
    T.cpu[1] = KeGetCurrentProcessorNumber();
    for (int i = 0; i < 10; i++) {
        KeStallExecutionProcessor(1);
        if (KeGetCurrentProcessorNumber() != 1)
            T.flags[0] = TRUE;
    }
    T.aff[0] = KeSetSystemAffinityThreadEx(0x4); /* still 0x2 before this call */
    T.cpu[2] = KeGetCurrentProcessorNumber();
    KeRevertToUserAffinityThreadEx(first);
}

static void test_set_system_affinity_ignores_mask_without_active_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        reset();
        kdpc_machine *m = kt_machine(4, seed);
        assert_int_equal(kdpc_machine_run(m, ignored_mask_entry, NULL), KDPC_OK);
        assert_int_equal(T.cpu[0], 1);
        assert_int_equal(T.cpu[1], 1);
        assert_false(T.flags[0]);
        assert_int_equal(T.aff[0], 0x2);
        assert_int_equal(T.cpu[2], 2);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* Two threads really run side by side                                 */

#define ROUNDS 20

static struct {
    volatile LONG turn;
    volatile LONG timeouts;
    volatile LONG done[2];
    ULONG cpu[2];
    BOOLEAN pin;
} P;

static void PingPong(PVOID StartContext)
{
    LONG me = (LONG)(intptr_t)StartContext;
    KAFFINITY old = 0;
    if (P.pin)
        old = KeSetSystemAffinityThreadEx((KAFFINITY)1 << me);
    P.cpu[me] = KeGetCurrentProcessorNumber();
    for (LONG r = 0; r < ROUNDS; r++) {
        LONG want = 2 * r + me;
        int i = 0;
        /* spin while the other thread has the turn: it must progress meanwhile */
        while (P.turn != want && i++ < MAX_POLL)
            KeStallExecutionProcessor(1);
        if (P.turn != want) {
            P.timeouts++;
            break;
        }
        P.turn = want + 1;
    }
    P.done[me] = 1;
    if (P.pin)
        KeRevertToUserAffinityThreadEx(old);
}

static void pingpong_entry(void *ctx)
{
    (void)ctx;
    for (LONG k = 0; k < 2; k++) {
        HANDLE h;
        T.st[k] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, PingPong,
                                       (PVOID)(intptr_t)k);
        if (T.st[k] == STATUS_SUCCESS)
            ZwClose(h);
    }
}

static void test_threads_on_two_cpus_interleave(void **state)
{
    (void)state;
    for (int pin = 0; pin < 2; pin++) {
        for (uint64_t seed = 1; seed <= 4; seed++) {
            reset();
            memset(&P, 0, sizeof(P));
            P.pin = (BOOLEAN)pin;
            kdpc_machine *m = kt_machine(2, seed);
            assert_int_equal(kdpc_machine_run(m, pingpong_entry, NULL), KDPC_OK);
            assert_int_equal(T.st[0], STATUS_SUCCESS);
            assert_int_equal(T.st[1], STATUS_SUCCESS);
            assert_int_equal(P.timeouts, 0);
            assert_int_equal(P.turn, 2 * ROUNDS); /* every round of both threads */
            assert_int_equal(P.done[0], 1);
            assert_int_equal(P.done[1], 1);
            if (pin) {
                assert_int_equal(P.cpu[0], 0);
                assert_int_equal(P.cpu[1], 1);
            }
            kdpc_machine_destroy(m);
        }
    }
}

/* ------------------------------------------------------------------ */
/* KeGetCurrentThread / PsGetCurrentThread                             */

static void WhoAmI(PVOID StartContext)
{
    int k = (int)(intptr_t)StartContext;
    T.self[k][0] = KeGetCurrentThread();
    stall_points(10);
    T.self[k][1] = KeGetCurrentThread();
    T.self[k][2] = PsGetCurrentThread();
    /* moving to another CPU does not change the thread */
    KAFFINITY old = KeSetSystemAffinityThreadEx(k == 0 ? 0x2 : 0x1);
    T.self[k][3] = KeGetCurrentThread();
    KeRevertToUserAffinityThreadEx(old);
}

static void whoami_entry(void *ctx)
{
    (void)ctx;
    T.self[2][0] = KeGetCurrentThread();
    for (int k = 0; k < 2; k++) {
        HANDLE h;
        T.st[k] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, WhoAmI,
                                       (PVOID)(intptr_t)k);
        if (T.st[k] == STATUS_SUCCESS)
            ZwClose(h);
    }
    stall_points(10);
    T.self[2][1] = PsGetCurrentThread();
}

static void test_current_thread_differs_between_threads_and_is_stable(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        reset();
        kdpc_machine *m = kt_machine(2, seed);
        assert_int_equal(kdpc_machine_run(m, whoami_entry, NULL), KDPC_OK);
        for (int k = 0; k < 2; k++) {
            assert_non_null(T.self[k][0]);
            for (int i = 1; i < 4; i++)
                assert_ptr_equal(T.self[k][i], T.self[k][0]);
        }
        assert_non_null(T.self[2][0]);
        assert_ptr_equal(T.self[2][1], T.self[2][0]);
        assert_ptr_not_equal(T.self[0][0], T.self[1][0]);
        assert_ptr_not_equal(T.self[0][0], T.self[2][0]);
        assert_ptr_not_equal(T.self[1][0], T.self[2][0]);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_thread_runs_start_routine_at_passive_with_its_context),
        cmocka_unit_test(test_run_waits_for_created_threads),
        cmocka_unit_test(test_zw_close_succeeds_once_then_invalid_handle),
        cmocka_unit_test(test_create_with_null_routine_or_handle_returns_invalid_parameter),
        cmocka_unit_test(test_terminate_system_thread_ends_the_calling_thread),
        cmocka_unit_test(test_set_system_affinity_moves_thread_and_revert_restores),
        cmocka_unit_test(test_first_set_system_affinity_returns_zero),
        cmocka_unit_test(test_set_system_affinity_ignores_mask_without_active_cpu),
        cmocka_unit_test(test_threads_on_two_cpus_interleave),
        cmocka_unit_test(test_current_thread_differs_between_threads_and_is_stable),
    };
    return cmocka_run_group_tests_name("thread", tests, NULL, NULL);
}
