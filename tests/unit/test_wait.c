/* SPDX-License-Identifier: MIT */
/*
 * test_wait.c - KeWaitForSingleObject, KeWaitForMultipleObjects,
 * KeDelayExecutionThread and thread objects (include/kdpc/wdm/dispatcher.h,
 * io.md 3.6-3.9, 3.13): NULL / zero / relative / absolute timeouts on
 * virtual time (a timeout expires at the first clock tick at or after its
 * due time), WaitAny and WaitAll side effects, the wait-block limits with a
 * caller's array, waiting for a thread to end, and a blocked thread freeing
 * its CPU for other threads and DPCs. The bug checks are in
 * tests/bugcheck/test_wait_rules.c.
 *
 * Every machine here has a 1 ms clock tick. Virtual time is read with
 * kdpc_machine_time_ns(kdpc_current_machine()), which is no kernel call.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TICK_NS 1000000u /* 1 ms clock tick */
#define MS      1000000u

static struct {
    KEVENT ev[MAXIMUM_WAIT_OBJECTS + 1];
    KSEMAPHORE s;
    KMUTEX mx;
    KDPC dpc;
    KWAIT_BLOCK wb[MAXIMUM_WAIT_OBJECTS + 1];
    PVOID objs[MAXIMUM_WAIT_OBJECTS + 1];
    volatile LONG woken;
    volatile LONG reached;
    volatile LONG flag;
    NTSTATUS st[32];
    LONG state[32];
    LONG woken_at[8];
    uint64_t t[16];
    KIRQL irql[8];
    ULONG cpu[4];
    PKTHREAD self;
    PKTHREAD owner;
    PVOID obj[4];
    HANDLE h;
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

static uint64_t now(void)
{
    return kdpc_machine_time_ns(kdpc_current_machine());
}

/* First clock tick at or after @t (ns). */
static uint64_t tick_at_or_after(uint64_t t)
{
    return (t + TICK_NS - 1) / TICK_NS * TICK_NS;
}

static void start(PKSTART_ROUTINE routine, PVOID ctx)
{
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, routine, ctx)))
        ZwClose(h);
}

static LARGE_INTEGER relative_ms(LONGLONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -ms * 10000;
    return t;
}

static void settle(LONGLONG ms)
{
    LARGE_INTEGER t = relative_ms(ms);
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* Move virtual time ~300 us away from a tick boundary (no stall over 50 us). */
static void offset_300us(void)
{
    for (int i = 0; i < 6; i++)
        KeStallExecutionProcessor(50);
}

static NTSTATUS wait1(PVOID obj, PLARGE_INTEGER timeout)
{
    return KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, timeout);
}

/* ------------------------------------------------------------------ */
/* Timeout NULL: forever (3.6)                                         */

static void forever_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.ev[0], NotificationEvent, FALSE);
    S.st[0] = wait1(&S.ev[0], NULL); /* nobody ever sets it */
    S.flag = 1;
}

static void test_null_timeout_waits_forever(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 1);
    kdpc_status st = kdpc_machine_run(m, forever_entry, NULL);
    assert_int_equal(st, KDPC_DEADLOCK); /* blocked forever, no timeout to end it */
    assert_non_null(kdpc_machine_deadlock_report(m));
    assert_int_equal(S.flag, 0);
    kdpc_machine_destroy(m);
}

static void Setter(PVOID ctx)
{
    (void)ctx;
    settle(3);
    S.t[9] = now();
    (void)KeSetEvent(&S.ev[0], IO_NO_INCREMENT, FALSE);
}

static void null_timeout_set_later_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.ev[0], SynchronizationEvent, FALSE);
    start(Setter, NULL);
    S.st[0] = wait1(&S.ev[0], NULL);
    S.t[0] = now();
    /* a timeout longer than the wait: satisfied when signaled, not at the timeout */
    start(Setter, NULL);
    LARGE_INTEGER to = relative_ms(10);
    S.t[1] = now();
    S.st[1] = wait1(&S.ev[0], &to);
    S.t[2] = now();
}

static void test_wait_returns_when_object_is_signaled(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        reset();
        kdpc_machine *m = machine(2, seed);
        assert_int_equal(kdpc_machine_run(m, null_timeout_set_later_entry, NULL), KDPC_OK);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_true(S.t[0] >= 3 * MS);
        assert_int_equal(S.st[1], STATUS_SUCCESS);
        assert_true(S.t[2] >= S.t[1] + 3 * MS);
        assert_true(S.t[2] < S.t[1] + 10 * MS); /* woken by the set, not the timeout */
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* *Timeout == 0: poll, side effects applied (3.6)                     */

static void poll_entry(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    KeInitializeEvent(&S.ev[0], NotificationEvent, FALSE);
    KeInitializeEvent(&S.ev[1], SynchronizationEvent, TRUE);
    KeInitializeEvent(&S.ev[2], NotificationEvent, TRUE);
    KeInitializeSemaphore(&S.s, 1, 4);
    KeInitializeMutex(&S.mx, 0);
    S.self = KeGetCurrentThread();

    S.t[0] = now();
    S.st[0] = wait1(&S.ev[0], &zero); /* not signaled */
    S.t[1] = now();
    S.state[0] = KeReadStateEvent(&S.ev[0]);

    S.st[1] = wait1(&S.ev[1], &zero); /* sync event: consumed */
    S.state[1] = KeReadStateEvent(&S.ev[1]);
    S.st[2] = wait1(&S.ev[1], &zero);

    S.st[3] = wait1(&S.ev[2], &zero); /* notification: stays signaled */
    S.state[3] = KeReadStateEvent(&S.ev[2]);

    S.st[4] = wait1(&S.s, &zero); /* semaphore: one unit taken */
    S.state[4] = KeReadStateSemaphore(&S.s);
    S.st[5] = wait1(&S.s, &zero);

    S.st[6] = wait1(&S.mx, &zero); /* mutex: acquired */
    S.state[6] = KeReadStateMutex(&S.mx);
    S.owner = S.mx.OwnerThread;
    S.state[7] = KeReleaseMutex(&S.mx, FALSE);
    S.state[8] = KeReadStateMutex(&S.mx);
}

static void test_zero_timeout_polls_and_applies_side_effects(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 2);
    assert_int_equal(kdpc_machine_run(m, poll_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_TIMEOUT);
    assert_true(S.t[1] - S.t[0] < 10000); /* no tick waited for */
    assert_int_equal(S.state[0], 0);
    assert_int_equal(S.st[1], STATUS_SUCCESS);
    assert_int_equal(S.state[1], 0); /* 3.6: side effect of a successful poll */
    assert_int_equal(S.st[2], STATUS_TIMEOUT);
    assert_int_equal(S.st[3], STATUS_SUCCESS);
    assert_int_equal(S.state[3], 1);
    assert_int_equal(S.st[4], STATUS_SUCCESS);
    assert_int_equal(S.state[4], 0);
    assert_int_equal(S.st[5], STATUS_TIMEOUT);
    assert_int_equal(S.st[6], STATUS_SUCCESS);
    assert_int_equal(S.state[6], 0); /* 3.6: "acquiring a mutex still happens" */
    assert_ptr_equal(S.owner, S.self);
    assert_int_equal(S.state[7], 0);
    assert_int_equal(S.state[8], 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Relative and absolute timeouts on virtual time (3.6)                */

static void relative_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.ev[0], NotificationEvent, FALSE);
    offset_300us();
    LARGE_INTEGER to = relative_ms(10);
    S.t[0] = now();
    S.st[0] = wait1(&S.ev[0], &to);
    S.t[1] = now();
}

static void test_relative_timeout_expires_at_first_tick_after_due(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        reset();
        kdpc_machine *m = machine(1, seed);
        assert_int_equal(kdpc_machine_run(m, relative_entry, NULL), KDPC_OK);
        assert_int_equal(S.st[0], STATUS_TIMEOUT);
        assert_true(S.t[0] > 300000 && S.t[0] < 900000);
        uint64_t expected = tick_at_or_after(S.t[0] + 10 * MS); /* 11 ms */
        assert_int_equal(expected, 11 * MS);
        assert_true(S.t[1] >= expected); /* never early */
        assert_true(S.t[1] <= expected + 2000);
        kdpc_machine_destroy(m);
    }
}

static void absolute_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.ev[0], NotificationEvent, FALSE);
    offset_300us();
    LARGE_INTEGER sys;
    S.t[0] = now();
    KeQuerySystemTime(&sys);
    LARGE_INTEGER to;
    to.QuadPart = sys.QuadPart + 5 * 10000; /* positive: absolute system time, +5 ms */
    S.st[0] = wait1(&S.ev[0], &to);
    S.t[1] = now();
    LARGE_INTEGER after;
    KeQuerySystemTime(&after);
    S.state[0] = after.QuadPart >= to.QuadPart;
}

static void test_absolute_timeout_expires_at_first_tick_after_due(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 3);
    assert_int_equal(kdpc_machine_run(m, absolute_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_TIMEOUT);
    assert_true(S.t[0] > 300000 && S.t[0] < 900000);
    uint64_t expected = tick_at_or_after(S.t[0] + 5 * MS); /* 6 ms */
    assert_int_equal(expected, 6 * MS);
    assert_true(S.t[1] >= expected);
    assert_true(S.t[1] <= expected + 2000);
    assert_int_equal(S.state[0], 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* KeWaitForMultipleObjects (3.8)                                      */

static NTSTATUS wait_n(ULONG n, WAIT_TYPE type, PLARGE_INTEGER timeout, PKWAIT_BLOCK wb)
{
    return KeWaitForMultipleObjects(n, S.objs, type, Executive, KernelMode, FALSE, timeout, wb);
}

static void wait_any_entry(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    KeInitializeEvent(&S.ev[0], NotificationEvent, FALSE);
    KeInitializeEvent(&S.ev[1], SynchronizationEvent, TRUE);
    KeInitializeEvent(&S.ev[2], SynchronizationEvent, TRUE);
    for (int i = 0; i < 3; i++)
        S.objs[i] = &S.ev[i];
    S.st[0] = wait_n(3, WaitAny, NULL, NULL); /* 1 and 2 signaled: lowest wins */
    S.state[0] = KeReadStateEvent(&S.ev[1]);
    S.state[1] = KeReadStateEvent(&S.ev[2]); /* not consumed */
    S.st[1] = wait_n(3, WaitAny, &zero, NULL);
    S.state[2] = KeReadStateEvent(&S.ev[2]);
    S.st[2] = wait_n(3, WaitAny, &zero, NULL); /* none signaled */
    /* index 0 (notification) and 2 signaled: 0 wins, 2 stays signaled */
    (void)KeSetEvent(&S.ev[0], IO_NO_INCREMENT, FALSE);
    (void)KeSetEvent(&S.ev[2], IO_NO_INCREMENT, FALSE);
    S.st[3] = wait_n(3, WaitAny, &zero, NULL);
    S.state[3] = KeReadStateEvent(&S.ev[0]);
    S.state[4] = KeReadStateEvent(&S.ev[2]);
}

static void test_wait_any_returns_lowest_signaled_index_and_consumes_only_it(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 4);
    assert_int_equal(kdpc_machine_run(m, wait_any_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_WAIT_0 + 1); /* 3.8 */
    assert_int_equal(S.state[0], 0);
    assert_int_equal(S.state[1], 1); /* 3.8: the other auto-reset event is not consumed */
    assert_int_equal(S.st[1], STATUS_WAIT_0 + 2);
    assert_int_equal(S.state[2], 0);
    assert_int_equal(S.st[2], STATUS_TIMEOUT);
    assert_int_equal(S.st[3], STATUS_WAIT_0);
    assert_int_equal(S.state[3], 1);
    assert_int_equal(S.state[4], 1);
    kdpc_machine_destroy(m);
}

static void AnyWaiter(PVOID ctx)
{
    (void)ctx;
    S.st[10] = wait_n(3, WaitAny, NULL, NULL);
    S.woken++;
}

static void wait_any_blocked_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.ev[0], SynchronizationEvent, FALSE);
    KeInitializeEvent(&S.ev[1], NotificationEvent, FALSE);
    KeInitializeSemaphore(&S.s, 0, 5);
    S.objs[0] = &S.ev[0];
    S.objs[1] = &S.ev[1];
    S.objs[2] = &S.s;
    start(AnyWaiter, NULL);
    settle(1);
    S.woken_at[0] = S.woken;
    S.state[0] = KeReleaseSemaphore(&S.s, SEMAPHORE_INCREMENT, 2, FALSE);
    settle(1);
    S.woken_at[1] = S.woken;
    S.state[1] = KeReadStateSemaphore(&S.s); /* one unit taken */
    S.state[2] = KeReadStateEvent(&S.ev[0]);
}

static void test_blocked_wait_any_returns_index_of_object_signaled(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 2};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            reset();
            kdpc_machine *m = machine(cpus[c], seed);
            assert_int_equal(kdpc_machine_run(m, wait_any_blocked_entry, NULL), KDPC_OK);
            assert_int_equal(S.woken_at[0], 0);
            assert_int_equal(S.state[0], 0);
            assert_int_equal(S.woken_at[1], 1);
            assert_int_equal(S.st[10], STATUS_WAIT_0 + 2);
            assert_int_equal(S.state[1], 1);
            assert_int_equal(S.state[2], 0);
            kdpc_machine_destroy(m);
        }
    }
}

static void wait_all_entry(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    KeInitializeEvent(&S.ev[0], SynchronizationEvent, TRUE);
    KeInitializeEvent(&S.ev[1], SynchronizationEvent, FALSE);
    KeInitializeSemaphore(&S.s, 1, 5);
    S.objs[0] = &S.ev[0];
    S.objs[1] = &S.ev[1];
    S.objs[2] = &S.s;
    S.st[0] = wait_n(3, WaitAll, &zero, NULL); /* partly signaled */
    S.state[0] = KeReadStateEvent(&S.ev[0]);
    S.state[1] = KeReadStateSemaphore(&S.s);
    LARGE_INTEGER to = relative_ms(2);
    S.t[0] = now();
    S.st[1] = wait_n(3, WaitAll, &to, NULL);
    S.t[1] = now();
    S.state[2] = KeReadStateEvent(&S.ev[0]);
    S.state[3] = KeReadStateSemaphore(&S.s);
    (void)KeSetEvent(&S.ev[1], IO_NO_INCREMENT, FALSE);
    S.st[2] = wait_n(3, WaitAll, &zero, NULL); /* all signaled */
    S.state[4] = KeReadStateEvent(&S.ev[0]);
    S.state[5] = KeReadStateEvent(&S.ev[1]);
    S.state[6] = KeReadStateSemaphore(&S.s);
}

static void test_wait_all_applies_all_side_effects_only_when_all_signaled(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, wait_all_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_TIMEOUT);
    assert_int_equal(S.state[0], 1); /* 3.8: no side effect */
    assert_int_equal(S.state[1], 1);
    assert_int_equal(S.st[1], STATUS_TIMEOUT);
    assert_true(S.t[1] >= S.t[0] + 2 * MS);
    assert_int_equal(S.state[2], 1);
    assert_int_equal(S.state[3], 1);
    assert_int_equal(S.st[2], STATUS_SUCCESS);
    assert_int_equal(S.state[4], 0); /* 3.8: every side effect at once */
    assert_int_equal(S.state[5], 0);
    assert_int_equal(S.state[6], 0);
    kdpc_machine_destroy(m);
}

static void AllWaiter(PVOID ctx)
{
    (void)ctx;
    S.st[10] = wait_n(2, WaitAll, NULL, NULL);
    S.woken++;
}

static void wait_all_blocked_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.ev[0], SynchronizationEvent, FALSE);
    KeInitializeEvent(&S.ev[1], SynchronizationEvent, FALSE);
    S.objs[0] = &S.ev[0];
    S.objs[1] = &S.ev[1];
    start(AllWaiter, NULL);
    settle(1);
    (void)KeSetEvent(&S.ev[0], IO_NO_INCREMENT, FALSE);
    settle(1);
    S.woken_at[0] = S.woken;
    S.state[0] = KeReadStateEvent(&S.ev[0]); /* not consumed by the waiting WaitAll */
    (void)KeSetEvent(&S.ev[1], IO_NO_INCREMENT, FALSE);
    settle(1);
    S.woken_at[1] = S.woken;
    S.state[1] = KeReadStateEvent(&S.ev[0]);
    S.state[2] = KeReadStateEvent(&S.ev[1]);
}

static void test_blocked_wait_all_wakes_only_when_every_object_is_signaled(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 2};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            reset();
            kdpc_machine *m = machine(cpus[c], seed);
            assert_int_equal(kdpc_machine_run(m, wait_all_blocked_entry, NULL), KDPC_OK);
            assert_int_equal(S.woken_at[0], 0);
            assert_int_equal(S.state[0], 1);
            assert_int_equal(S.woken_at[1], 1);
            assert_int_equal(S.st[10], STATUS_SUCCESS);
            assert_int_equal(S.state[1], 0);
            assert_int_equal(S.state[2], 0);
            kdpc_machine_destroy(m);
        }
    }
}

static void wait_block_array_entry(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++) {
        KeInitializeEvent(&S.ev[i], SynchronizationEvent, FALSE);
        S.objs[i] = &S.ev[i];
    }
    (void)KeSetEvent(&S.ev[3], IO_NO_INCREMENT, FALSE);
    S.st[0] = wait_n(THREAD_WAIT_OBJECTS + 1, WaitAny, &zero, S.wb); /* 4 with an array */
    (void)KeSetEvent(&S.ev[MAXIMUM_WAIT_OBJECTS - 1], IO_NO_INCREMENT, FALSE);
    S.st[1] = wait_n(MAXIMUM_WAIT_OBJECTS, WaitAny, NULL, S.wb); /* 64: the limit */
    S.st[2] = wait_n(THREAD_WAIT_OBJECTS, WaitAny, &zero, NULL); /* 3 without an array */
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        (void)KeSetEvent(&S.ev[i], IO_NO_INCREMENT, FALSE);
    S.st[3] = wait_n(MAXIMUM_WAIT_OBJECTS, WaitAll, NULL, S.wb);
    S.state[0] = 0;
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        S.state[0] += KeReadStateEvent(&S.ev[i]);
}

static void test_wait_block_array_allows_up_to_64_objects(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 6);
    assert_int_equal(kdpc_machine_run(m, wait_block_array_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_WAIT_0 + 3);
    assert_int_equal(S.st[1], STATUS_WAIT_0 + 63);
    assert_int_equal(S.st[2], STATUS_TIMEOUT);
    assert_int_equal(S.st[3], STATUS_SUCCESS);
    assert_int_equal(S.state[0], 0); /* all 64 consumed */
    KT_ASSERT_NO_VIOLATION(m, "wait.objects");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Thread objects from ObReferenceObjectByHandle                        */

static void ShortLived(PVOID ctx)
{
    (void)ctx;
    settle(3);
    S.t[5] = now();
    S.flag = 1;
}

static void thread_object_entry(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    HANDLE h = NULL;
    S.st[0] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, ShortLived, NULL);
    S.st[1] =
        ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, *PsThreadType, KernelMode, &S.obj[0], NULL);
    S.st[2] = ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, NULL, KernelMode, &S.obj[1], NULL);
    S.st[3] = ZwClose(h);             /* the references keep the object */
    S.st[4] = wait1(S.obj[0], &zero); /* still running */
    S.st[5] = wait1(S.obj[0], NULL);
    S.t[0] = now();
    S.state[0] = S.flag;
    S.st[6] = wait1(S.obj[1], &zero); /* an ended thread stays signaled */
    S.st[7] = wait1(S.obj[0], NULL);
    ObDereferenceObject(S.obj[1]);
    ObDereferenceObject(S.obj[0]);
}

static void test_wait_on_thread_object_returns_when_the_thread_ends(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 2};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            reset();
            kdpc_machine *m = machine(cpus[c], seed);
            assert_int_equal(kdpc_machine_run(m, thread_object_entry, NULL), KDPC_OK);
            assert_int_equal(S.st[0], STATUS_SUCCESS);
            assert_int_equal(S.st[1], STATUS_SUCCESS);
            assert_non_null(S.obj[0]);
            assert_int_equal(S.st[2], STATUS_SUCCESS);
            assert_ptr_equal(S.obj[1], S.obj[0]);
            assert_int_equal(S.st[3], STATUS_SUCCESS);
            assert_int_equal(S.st[4], STATUS_TIMEOUT);
            assert_int_equal(S.st[5], STATUS_SUCCESS);
            assert_int_equal(S.state[0], 1); /* the thread had finished its work */
            assert_true(S.t[0] >= 3 * MS);
            assert_true(S.t[0] >= S.t[5]);
            assert_int_equal(S.st[6], STATUS_SUCCESS);
            assert_int_equal(S.st[7], STATUS_SUCCESS);
            kdpc_machine_destroy(m);
        }
    }
}

static void Nothing(PVOID ctx)
{
    (void)ctx;
}

static void bad_handle_entry(void *ctx)
{
    (void)ctx;
    /* the free kernel's answer to bad kernel handles (ob.bad_handle off) */
    (void)kdpc_rule_set(kdpc_current_machine(), "ob.bad_handle", KDPC_RULE_OFF);
    PVOID obj = NULL;
    HANDLE h = NULL;
    S.st[0] =
        ObReferenceObjectByHandle(NULL, THREAD_ALL_ACCESS, *PsThreadType, KernelMode, &obj, NULL);
    S.st[1] = ObReferenceObjectByHandle((HANDLE)&S, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
                                        &obj, NULL);
    S.st[2] = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Nothing, NULL);
    S.st[3] =
        ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, (POBJECT_TYPE)&S, KernelMode, &obj, NULL);
    S.st[4] = ZwClose(h);
    S.st[5] =
        ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, *PsThreadType, KernelMode, &obj, NULL);
}

static void test_reference_by_bad_handle_is_invalid_handle(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 7);
    assert_int_equal(kdpc_machine_run(m, bad_handle_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_INVALID_HANDLE);
    assert_int_equal(S.st[1], STATUS_INVALID_HANDLE);
    assert_int_equal(S.st[2], STATUS_SUCCESS);
    assert_int_equal(S.st[3], STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(S.st[4], STATUS_SUCCESS);
    assert_int_equal(S.st[5], STATUS_INVALID_HANDLE); /* closed */
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* KeDelayExecutionThread (3.9) and blocked threads freeing their CPU  */

static void Busy(PVOID ctx)
{
    (void)ctx;
    S.t[4] = now();
    for (int i = 0; i < 40; i++) /* 2 ms of work */
        KeStallExecutionProcessor(50);
    S.t[5] = now();
    S.flag = 1;
}

static void delay_entry(void *ctx)
{
    (void)ctx;
    offset_300us();
    start(Busy, NULL);
    LARGE_INTEGER iv = relative_ms(5);
    S.t[0] = now();
    S.st[0] = KeDelayExecutionThread(KernelMode, FALSE, &iv);
    S.t[1] = now();
    S.state[0] = S.flag;
}

static void test_delay_execution_sleeps_on_virtual_time_and_frees_the_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        reset();
        kdpc_machine *m = machine(1, seed);
        assert_int_equal(kdpc_machine_run(m, delay_entry, NULL), KDPC_OK);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_true(S.t[1] >= S.t[0] + 5 * MS); /* never early */
        /* the other thread ran on the only CPU meanwhile: the sleep is not a spin */
        assert_int_equal(S.state[0], 1);
        assert_true(S.t[5] <= S.t[1]);
        /* 2 ms of work inside the 5 ms sleep: the wake-up is the first tick after due */
        uint64_t expected = tick_at_or_after(S.t[0] + 5 * MS);
        assert_true(S.t[1] >= expected);
        assert_true(S.t[1] <= expected + 2000);
        kdpc_machine_destroy(m);
    }
}

static void absolute_delay_entry(void *ctx)
{
    (void)ctx;
    offset_300us();
    LARGE_INTEGER iv;
    S.t[0] = now();
    KeQuerySystemTime(&iv);
    iv.QuadPart += 3 * 10000; /* positive: absolute system time, +3 ms */
    S.st[0] = KeDelayExecutionThread(KernelMode, FALSE, &iv);
    S.t[1] = now();
}

static void test_delay_execution_with_absolute_interval_wakes_at_first_tick_after_due(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 9);
    assert_int_equal(kdpc_machine_run(m, absolute_delay_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_true(S.t[0] > 300000 && S.t[0] < 900000);
    uint64_t expected = tick_at_or_after(S.t[0] + 3 * MS); /* 4 ms */
    assert_int_equal(expected, 4 * MS);
    assert_true(S.t[1] >= expected);
    assert_true(S.t[1] <= expected + 2000);
    kdpc_machine_destroy(m);
}

static void CpuDpc(PKDPC Dpc, PVOID DeferredContext, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)A1;
    (void)A2;
    S.cpu[1] = KeGetCurrentProcessorNumber();
    S.woken_at[0] = S.woken; /* the thread on this CPU is still waiting */
    S.irql[1] = KeGetCurrentIrql();
    (void)KeSetEvent(&S.ev[0], IO_NO_INCREMENT, FALSE);
}

static void PinnedWaiter(PVOID ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx((KAFFINITY)1 << 1);
    S.cpu[0] = KeGetCurrentProcessorNumber();
    S.reached = 1;
    S.st[0] = wait1(&S.ev[0], NULL);
    S.cpu[2] = KeGetCurrentProcessorNumber();
    S.woken++;
}

static void dpc_on_waiting_cpu_entry(void *ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx((KAFFINITY)1); /* this thread stays on CPU 0 */
    KeInitializeEvent(&S.ev[0], SynchronizationEvent, FALSE);
    KeInitializeDpc(&S.dpc, CpuDpc, NULL);
    KeSetTargetProcessorDpc(&S.dpc, 1);
    start(PinnedWaiter, NULL);
    settle(1);
    S.state[0] = S.reached;
    (void)KeInsertQueueDpc(&S.dpc, NULL, NULL);
    settle(1);
    S.woken_at[1] = S.woken;
}

static void test_blocked_thread_frees_its_cpu_for_dpcs(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        reset();
        kdpc_machine *m = machine(2, seed);
        assert_int_equal(kdpc_machine_run(m, dpc_on_waiting_cpu_entry, NULL), KDPC_OK);
        assert_int_equal(S.state[0], 1);
        assert_int_equal(S.cpu[0], 1);
        assert_int_equal(S.cpu[1], 1); /* the DPC ran on the waiting thread's CPU */
        assert_int_equal(S.irql[1], DISPATCH_LEVEL);
        assert_int_equal(S.woken_at[0], 0);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_int_equal(S.cpu[2], 1);
        assert_int_equal(S.woken_at[1], 1);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* IRQL: polling at DISPATCH_LEVEL, blocking at APC_LEVEL (3.7, 3.9)   */

static void PollingDpc(PKDPC Dpc, PVOID DeferredContext, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)A1;
    (void)A2;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    S.st[10] = wait1(&S.ev[1], &zero);
    S.st[11] = wait1(&S.ev[2], &zero);
    S.objs[0] = &S.ev[1];
    S.objs[1] = &S.ev[2];
    S.st[12] = wait_n(2, WaitAny, &zero, NULL);
    S.flag = 1;
}

static void dispatch_poll_entry(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    KeInitializeEvent(&S.ev[0], SynchronizationEvent, TRUE);
    KeInitializeEvent(&S.ev[1], SynchronizationEvent, TRUE);
    KeInitializeEvent(&S.ev[2], NotificationEvent, FALSE);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    S.st[0] = wait1(&S.ev[0], &zero);
    S.state[0] = KeReadStateEvent(&S.ev[0]);
    S.st[1] = wait1(&S.ev[0], &zero);
    S.irql[0] = KeGetCurrentIrql();
    KeLowerIrql(old);
    /* the same from a DPC (3.13) */
    KeInitializeDpc(&S.dpc, PollingDpc, NULL);
    (void)KeInsertQueueDpc(&S.dpc, NULL, NULL);
    while (!S.flag)
        KeStallExecutionProcessor(1);
    /* at APC_LEVEL a blocking wait and a delay are legal (3.7, 3.9) */
    KeInitializeEvent(&S.ev[3], NotificationEvent, TRUE);
    KeRaiseIrql(APC_LEVEL, &old);
    S.st[2] = wait1(&S.ev[3], NULL);
    LARGE_INTEGER iv = relative_ms(1);
    S.st[3] = KeDelayExecutionThread(KernelMode, FALSE, &iv);
    S.irql[1] = KeGetCurrentIrql();
    KeLowerIrql(old);
}

static void test_zero_timeout_wait_at_dispatch_level_is_legal(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 8);
    assert_int_equal(kdpc_machine_run(m, dispatch_poll_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.state[0], 0);
    assert_int_equal(S.st[1], STATUS_TIMEOUT);
    assert_int_equal(S.irql[0], DISPATCH_LEVEL);
    assert_int_equal(S.st[10], STATUS_SUCCESS);
    assert_int_equal(S.st[11], STATUS_TIMEOUT);
    assert_int_equal(S.st[12], STATUS_TIMEOUT); /* ev[1] was consumed by the first poll */
    assert_int_equal(S.st[2], STATUS_SUCCESS);
    assert_int_equal(S.st[3], STATUS_SUCCESS);
    assert_int_equal(S.irql[1], APC_LEVEL);
    KT_ASSERT_NO_VIOLATION(m, "dpc.wait");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_timeout_waits_forever),
        cmocka_unit_test(test_wait_returns_when_object_is_signaled),
        cmocka_unit_test(test_zero_timeout_polls_and_applies_side_effects),
        cmocka_unit_test(test_relative_timeout_expires_at_first_tick_after_due),
        cmocka_unit_test(test_absolute_timeout_expires_at_first_tick_after_due),
        cmocka_unit_test(test_wait_any_returns_lowest_signaled_index_and_consumes_only_it),
        cmocka_unit_test(test_blocked_wait_any_returns_index_of_object_signaled),
        cmocka_unit_test(test_wait_all_applies_all_side_effects_only_when_all_signaled),
        cmocka_unit_test(test_blocked_wait_all_wakes_only_when_every_object_is_signaled),
        cmocka_unit_test(test_wait_block_array_allows_up_to_64_objects),
        cmocka_unit_test(test_wait_on_thread_object_returns_when_the_thread_ends),
        cmocka_unit_test(test_reference_by_bad_handle_is_invalid_handle),
        cmocka_unit_test(test_delay_execution_sleeps_on_virtual_time_and_frees_the_cpu),
        cmocka_unit_test(test_delay_execution_with_absolute_interval_wakes_at_first_tick_after_due),
        cmocka_unit_test(test_blocked_thread_frees_its_cpu_for_dpcs),
        cmocka_unit_test(test_zero_timeout_wait_at_dispatch_level_is_legal),
    };
    return cmocka_run_group_tests_name("wait", tests, NULL, NULL);
}
