/* SPDX-License-Identifier: MIT */
/*
 * test_event.c - event objects (include/kdpc/wdm/dispatcher.h, io.md 3.1-3.5):
 * KeInitializeEvent, KeSetEvent (previous raw state, notification vs
 * synchronization wake-ups, the Wait = TRUE contract), KeResetEvent,
 * KeClearEvent, KeReadStateEvent, KePulseEvent, and a DPC handing work to a
 * blocked thread through an event (G5).
 *
 * Threads are "settled" with a short KeDelayExecutionThread: virtual time
 * only jumps to the delay's expiry once every thread is blocked, so after
 * the delay every waiter thread is blocked in its wait (or done).
 * Observations are recorded by simulated code and asserted after the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TICK_NS  1000000u /* 1 ms clock tick */
#define NWAITERS 3

static struct {
    KEVENT e;
    KEVENT e2;
    KDPC dpc;
    volatile LONG reached;
    volatile LONG woken;
    NTSTATUS st[16];
    LONG ret[16];
    LONG state[16];
    LONG woken_at[16];
    KIRQL irql[16];
    UCHAR type[4];
    volatile LONG dpc_ran;
    KIRQL dpc_irql;
    LONG dpc_ret;
    LONG dpc_ran_at_wake;
    int done;
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

/* Sleep @ms of virtual time: every other thread runs until it blocks. */
static void settle(LONGLONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -ms * 10000;
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* ------------------------------------------------------------------ */
/* KeInitializeEvent (3.1)                                             */

static void init_entry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old); /* 3.1: any IRQL */
    KeInitializeEvent(&S.e, NotificationEvent, FALSE);
    KeInitializeEvent(&S.e2, SynchronizationEvent, TRUE);
    KeLowerIrql(old);
    S.type[0] = S.e.Header.Type;
    S.state[0] = S.e.Header.SignalState;
    S.type[1] = S.e2.Header.Type;
    S.state[1] = S.e2.Header.SignalState;
    S.state[2] = KeReadStateEvent(&S.e);
    S.state[3] = KeReadStateEvent(&S.e2);
    KeInitializeEvent(&S.e, SynchronizationEvent, FALSE);
    S.type[2] = S.e.Header.Type;
    S.state[4] = S.e.Header.SignalState;
    KeInitializeEvent(&S.e2, NotificationEvent, TRUE);
    S.type[3] = S.e2.Header.Type;
    S.state[5] = S.e2.Header.SignalState;
}

static void test_initialize_event_sets_type_and_state_at_any_irql(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 1);
    assert_int_equal(kdpc_machine_run(m, init_entry, NULL), KDPC_OK);
    assert_int_equal(S.type[0], NotificationEvent); /* 3.1: Type 0 */
    assert_int_equal(S.state[0], 0);
    assert_int_equal(S.type[1], SynchronizationEvent); /* 3.1: Type 1 */
    assert_int_equal(S.state[1], 1);
    assert_int_equal(S.state[2], 0);
    assert_int_equal(S.state[3], 1);
    assert_int_equal(S.type[2], SynchronizationEvent);
    assert_int_equal(S.state[4], 0);
    assert_int_equal(S.type[3], NotificationEvent);
    assert_int_equal(S.state[5], 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* KeSetEvent's return value (3.2)                                     */

static void set_return_entry(void *ctx)
{
    EVENT_TYPE type = (EVENT_TYPE)(intptr_t)ctx;
    KeInitializeEvent(&S.e, type, FALSE);
    S.ret[0] = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE); /* was 0 */
    S.state[0] = S.e.Header.SignalState;
    S.ret[1] = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE); /* was 1 */
    S.state[1] = S.e.Header.SignalState;
    S.e.Header.SignalState = 0x23456789; /* as the KMT KeEvent.c does */
    S.ret[2] = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE);
    S.state[2] = S.e.Header.SignalState;
    S.state[3] = KeReadStateEvent(&S.e);
}

static void test_set_event_returns_previous_raw_state_and_sets_one(void **state)
{
    (void)state;
    const EVENT_TYPE types[2] = {NotificationEvent, SynchronizationEvent};
    for (int k = 0; k < 2; k++) {
        reset();
        kdpc_machine *m = machine(1, 2);
        assert_int_equal(kdpc_machine_run(m, set_return_entry, (void *)(intptr_t)types[k]),
                         KDPC_OK);
        assert_int_equal(S.ret[0], 0); /* 3.2: previous SignalState */
        assert_int_equal(S.state[0], 1);
        assert_int_equal(S.ret[1], 1);
        assert_int_equal(S.state[1], 1);
        assert_int_equal(S.ret[2], 0x23456789); /* 3.2: raw, not normalised */
        assert_int_equal(S.state[2], 1);        /* 3.2: set to exactly 1 */
        assert_int_equal(S.state[3], 1);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* KeResetEvent, KeClearEvent, KeReadStateEvent, KePulseEvent (3.5)    */

static void reset_clear_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.e, NotificationEvent, TRUE);
    S.ret[0] = KeResetEvent(&S.e); /* was 1 */
    S.state[0] = S.e.Header.SignalState;
    S.ret[1] = KeResetEvent(&S.e); /* was 0 */
    S.state[1] = KeReadStateEvent(&S.e);
    S.e.Header.SignalState = 0x23456789;
    S.ret[2] = KeResetEvent(&S.e);
    S.state[2] = S.e.Header.SignalState;

    KeInitializeEvent(&S.e2, SynchronizationEvent, TRUE);
    KeClearEvent(&S.e2);
    S.state[3] = S.e2.Header.SignalState;
    S.state[4] = KeReadStateEvent(&S.e2);
    KeClearEvent(&S.e2); /* already clear */
    S.state[5] = KeReadStateEvent(&S.e2);
    (void)KeSetEvent(&S.e2, IO_NO_INCREMENT, FALSE);
    S.state[6] = KeReadStateEvent(&S.e2);

    /* 3.5: all three are legal at DISPATCH_LEVEL */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    S.ret[3] = KeResetEvent(&S.e2);
    (void)KeSetEvent(&S.e2, IO_NO_INCREMENT, FALSE);
    KeClearEvent(&S.e2);
    S.state[7] = KeReadStateEvent(&S.e2);
    KeLowerIrql(old);
}

static void test_reset_clear_and_read_state_event(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 3);
    assert_int_equal(kdpc_machine_run(m, reset_clear_entry, NULL), KDPC_OK);
    assert_int_equal(S.ret[0], 1); /* 3.5: KeResetEvent returns the previous state */
    assert_int_equal(S.state[0], 0);
    assert_int_equal(S.ret[1], 0);
    assert_int_equal(S.state[1], 0);
    assert_int_equal(S.ret[2], 0x23456789);
    assert_int_equal(S.state[2], 0);
    assert_int_equal(S.state[3], 0); /* 3.5: KeClearEvent sets 0 */
    assert_int_equal(S.state[4], 0);
    assert_int_equal(S.state[5], 0);
    assert_int_equal(S.state[6], 1);
    assert_int_equal(S.ret[3], 1);
    assert_int_equal(S.state[7], 0);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void pulse_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.e, NotificationEvent, TRUE);
    S.ret[0] = KePulseEvent(&S.e, IO_NO_INCREMENT, FALSE); /* was signaled */
    S.state[0] = KeReadStateEvent(&S.e);
    S.ret[1] = KePulseEvent(&S.e, IO_NO_INCREMENT, FALSE); /* was clear */
    S.state[1] = KeReadStateEvent(&S.e);
    KeInitializeEvent(&S.e2, SynchronizationEvent, FALSE);
    S.ret[2] = KePulseEvent(&S.e2, IO_NO_INCREMENT, FALSE);
    S.state[2] = KeReadStateEvent(&S.e2);
}

static void test_pulse_event_returns_previous_state_and_leaves_event_clear(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 4);
    assert_int_equal(kdpc_machine_run(m, pulse_entry, NULL), KDPC_OK);
    assert_int_equal(S.ret[0], 1); /* 3.5 */
    assert_int_equal(S.state[0], 0);
    assert_int_equal(S.ret[1], 0);
    assert_int_equal(S.state[1], 0);
    assert_int_equal(S.ret[2], 0);
    assert_int_equal(S.state[2], 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Wake-ups (3.4)                                                      */

static void Waiter(PVOID ctx)
{
    int i = (int)(intptr_t)ctx;
    S.reached++;
    S.st[i] = KeWaitForSingleObject(&S.e, Executive, KernelMode, FALSE, NULL);
    S.woken++;
}

static void notification_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.e, NotificationEvent, FALSE);
    for (int i = 0; i < NWAITERS; i++) {
        S.st[i] = (NTSTATUS)-1;
        start(Waiter, (PVOID)(intptr_t)i);
    }
    settle(1);
    S.woken_at[0] = S.woken; /* all blocked, none woken */
    S.state[0] = S.reached;
    S.ret[0] = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE);
    S.state[1] = KeReadStateEvent(&S.e);
    settle(1);
    S.woken_at[1] = S.woken;
    S.state[2] = KeReadStateEvent(&S.e); /* 3.4: stays signaled */
    /* a later wait is satisfied at once and does not clear it */
    S.st[8] = KeWaitForSingleObject(&S.e, Executive, KernelMode, FALSE, NULL);
    S.state[3] = KeReadStateEvent(&S.e);
}

static void test_notification_event_releases_all_waiters_and_stays_signaled(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 4};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            reset();
            kdpc_machine *m = machine(cpus[c], seed);
            assert_int_equal(kdpc_machine_run(m, notification_entry, NULL), KDPC_OK);
            assert_int_equal(S.state[0], NWAITERS);
            assert_int_equal(S.woken_at[0], 0);
            assert_int_equal(S.ret[0], 0);
            assert_int_equal(S.state[1], 1);
            assert_int_equal(S.woken_at[1], NWAITERS); /* 3.4: all waiters released */
            for (int i = 0; i < NWAITERS; i++)
                assert_int_equal(S.st[i], STATUS_SUCCESS);
            assert_int_equal(S.state[2], 1);
            assert_int_equal(S.st[8], STATUS_SUCCESS);
            assert_int_equal(S.state[3], 1);
            assert_int_equal(kdpc_machine_violation_count(m), 0);
            kdpc_machine_destroy(m);
        }
    }
}

static void synchronization_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.e, SynchronizationEvent, FALSE);
    for (int i = 0; i < NWAITERS; i++) {
        S.st[i] = (NTSTATUS)-1;
        start(Waiter, (PVOID)(intptr_t)i);
    }
    settle(1);
    S.woken_at[0] = S.woken;
    for (int k = 0; k < NWAITERS; k++) {
        S.ret[k] = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE);
        S.state[k] = S.e.Header.SignalState; /* 3.4: 0 right after: a waiter consumed it */
        settle(1);
        S.woken_at[k + 1] = S.woken;
    }
    /* no waiter left: the event stays signaled */
    S.ret[3] = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE);
    settle(1);
    S.state[3] = KeReadStateEvent(&S.e);
}

static void test_synchronization_event_releases_one_waiter_per_set(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 4};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            reset();
            kdpc_machine *m = machine(cpus[c], seed);
            assert_int_equal(kdpc_machine_run(m, synchronization_entry, NULL), KDPC_OK);
            assert_int_equal(S.woken_at[0], 0);
            for (int k = 0; k < NWAITERS; k++) {
                assert_int_equal(S.ret[k], 0);
                assert_int_equal(S.state[k], 0);            /* 3.4 */
                assert_int_equal(S.woken_at[k + 1], k + 1); /* 3.4: exactly one per set */
            }
            for (int i = 0; i < NWAITERS; i++)
                assert_int_equal(S.st[i], STATUS_SUCCESS);
            assert_int_equal(S.ret[3], 0);
            assert_int_equal(S.state[3], 1);
            kdpc_machine_destroy(m);
        }
    }
}

static void signaled_set_entry(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    KeInitializeEvent(&S.e, SynchronizationEvent, FALSE);
    S.ret[0] = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE);
    S.ret[1] = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE); /* already signaled */
    S.state[0] = KeReadStateEvent(&S.e);
    /* one signal, not two: the first poll consumes it, the second finds it clear */
    S.st[0] = KeWaitForSingleObject(&S.e, Executive, KernelMode, FALSE, &zero);
    S.st[1] = KeWaitForSingleObject(&S.e, Executive, KernelMode, FALSE, &zero);
    S.state[1] = KeReadStateEvent(&S.e);

    /* a waiter blocked after the double set: one more set releases it, none is left over */
    start(Waiter, (PVOID)(intptr_t)2);
    settle(1);
    S.woken_at[0] = S.woken;
    S.ret[2] = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE);
    settle(1);
    S.woken_at[1] = S.woken;
    S.state[2] = KeReadStateEvent(&S.e);
}

static void test_setting_signaled_event_wakes_nobody_and_does_not_accumulate(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, signaled_set_entry, NULL), KDPC_OK);
    assert_int_equal(S.ret[0], 0);
    assert_int_equal(S.ret[1], 1); /* 3.2 / 3.4 */
    assert_int_equal(S.state[0], 1);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.st[1], STATUS_TIMEOUT);
    assert_int_equal(S.state[1], 0);
    assert_int_equal(S.woken_at[0], 0);
    assert_int_equal(S.ret[2], 0);
    assert_int_equal(S.woken_at[1], 1);
    assert_int_equal(S.st[2], STATUS_SUCCESS);
    assert_int_equal(S.state[2], 0);
    kdpc_machine_destroy(m);
}

static void pulse_waiters_entry(void *ctx)
{
    EVENT_TYPE type = (EVENT_TYPE)(intptr_t)ctx;
    KeInitializeEvent(&S.e, type, FALSE);
    for (int i = 0; i < 2; i++) {
        S.st[i] = (NTSTATUS)-1;
        start(Waiter, (PVOID)(intptr_t)i);
    }
    settle(1);
    S.woken_at[0] = S.woken;
    S.ret[0] = KePulseEvent(&S.e, IO_NO_INCREMENT, FALSE);
    S.state[0] = S.e.Header.SignalState; /* 3.5: left at 0 */
    settle(1);
    S.woken_at[1] = S.woken;
    S.state[1] = KeReadStateEvent(&S.e);
    if (S.woken < 2) { /* a synchronization event released one: release the other */
        (void)KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE);
        settle(1);
    }
}

static void test_pulse_event_releases_waiters_as_set_then_clears(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        reset();
        kdpc_machine *m = machine(2, seed);
        assert_int_equal(
            kdpc_machine_run(m, pulse_waiters_entry, (void *)(intptr_t)NotificationEvent), KDPC_OK);
        assert_int_equal(S.woken_at[0], 0);
        assert_int_equal(S.ret[0], 0);
        assert_int_equal(S.state[0], 0);
        assert_int_equal(S.woken_at[1], 2); /* notification: every waiter */
        assert_int_equal(S.state[1], 0);
        kdpc_machine_destroy(m);

        reset();
        m = machine(2, seed);
        assert_int_equal(
            kdpc_machine_run(m, pulse_waiters_entry, (void *)(intptr_t)SynchronizationEvent),
            KDPC_OK);
        assert_int_equal(S.ret[0], 0);
        assert_int_equal(S.state[0], 0);
        assert_int_equal(S.woken_at[1], 1); /* synchronization: one waiter */
        assert_int_equal(S.state[1], 0);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* KeSetEvent(..., Wait = TRUE) (3.3)                                  */

static void wait_true_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.e, NotificationEvent, FALSE);
    S.irql[0] = KeGetCurrentIrql();
    S.ret[0] = KeSetEvent(&S.e, IO_NO_INCREMENT, TRUE);
    S.irql[1] = KeGetCurrentIrql(); /* 3.3: raised until the next wait */
    S.st[0] = KeWaitForSingleObject(&S.e, Executive, KernelMode, FALSE, NULL);
    S.irql[2] = KeGetCurrentIrql(); /* 3.3: the wait restored it */
    S.state[0] = KeReadStateEvent(&S.e);
}

static void test_set_event_wait_true_returns_at_dispatch_until_next_wait(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 6);
    kdpc_status st = kdpc_machine_run(m, wait_true_entry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(S.irql[0], PASSIVE_LEVEL);
    assert_int_equal(S.ret[0], 0);
    assert_int_equal(S.irql[1], DISPATCH_LEVEL);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.irql[2], PASSIVE_LEVEL);
    assert_int_equal(S.state[0], 1);
    KT_ASSERT_NO_VIOLATION(m, "dpc.wait"); /* the wait after Wait = TRUE is the contract */
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* The classic request/reply pattern: signal the server and block for its answer. */
static void Server(PVOID ctx)
{
    (void)ctx;
    S.st[1] = KeWaitForSingleObject(&S.e, Executive, KernelMode, FALSE, NULL);
    S.irql[3] = KeGetCurrentIrql();
    S.done = 1;
    S.ret[1] = KeSetEvent(&S.e2, IO_NO_INCREMENT, FALSE);
}

static void request_reply_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.e, SynchronizationEvent, FALSE);  /* request */
    KeInitializeEvent(&S.e2, SynchronizationEvent, FALSE); /* reply */
    start(Server, NULL);
    S.ret[0] = KeSetEvent(&S.e, IO_NO_INCREMENT, TRUE);
    S.irql[1] = KeGetCurrentIrql();
    S.st[0] = KeWaitForSingleObject(&S.e2, Executive, KernelMode, FALSE, NULL); /* blocks */
    S.irql[2] = KeGetCurrentIrql();
    S.state[0] = S.done;
}

static void test_set_event_wait_true_then_blocking_wait_for_the_reply(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 2};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 4; seed++) {
            reset();
            kdpc_machine *m = machine(cpus[c], seed);
            assert_int_equal(kdpc_machine_run(m, request_reply_entry, NULL), KDPC_OK);
            assert_int_equal(S.ret[0], 0);
            assert_int_equal(S.irql[1], DISPATCH_LEVEL); /* 3.3 */
            assert_int_equal(S.st[0], STATUS_SUCCESS);
            assert_int_equal(S.irql[2], PASSIVE_LEVEL);
            assert_int_equal(S.state[0], 1); /* the reply came after the server ran */
            assert_int_equal(S.st[1], STATUS_SUCCESS);
            assert_int_equal(S.irql[3], PASSIVE_LEVEL);
            KT_ASSERT_NO_VIOLATION(m, "dpc.wait");
            kdpc_machine_destroy(m);
        }
    }
}

/* ------------------------------------------------------------------ */
/* A DPC wakes a blocked thread (3.13, G5)                             */

static void SetEventDpc(PKDPC Dpc, PVOID DeferredContext, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)A1;
    (void)A2;
    S.dpc_irql = KeGetCurrentIrql();
    S.dpc_ran++; /* before the set: the woken thread may run on another CPU at once */
    S.dpc_ret = KeSetEvent(&S.e, IO_NO_INCREMENT, FALSE); /* 3.13: Wait = FALSE in a DPC */
}

static void Kicker(PVOID ctx)
{
    (void)ctx;
    settle(1); /* the entry thread is blocked by now */
    S.state[1] = S.dpc_ran;
    (void)KeInsertQueueDpc(&S.dpc, NULL, NULL);
}

static void dpc_wakes_entry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&S.e, SynchronizationEvent, FALSE);
    KeInitializeDpc(&S.dpc, SetEventDpc, NULL);
    start(Kicker, NULL);
    S.st[0] = KeWaitForSingleObject(&S.e, Executive, KernelMode, FALSE, NULL);
    S.dpc_ran_at_wake = S.dpc_ran;
    S.irql[0] = KeGetCurrentIrql();
    S.state[0] = KeReadStateEvent(&S.e); /* consumed by this wait */
}

static void test_dpc_setting_event_wakes_blocked_thread(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 2};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 4; seed++) {
            reset();
            kdpc_machine *m = machine(cpus[c], seed);
            KDPC_NAME(m, SetEventDpc);
            assert_int_equal(kdpc_machine_run(m, dpc_wakes_entry, NULL), KDPC_OK);
            assert_int_equal(S.state[1], 0);
            assert_int_equal(S.dpc_ran, 1);
            assert_int_equal(S.dpc_irql, DISPATCH_LEVEL);
            assert_int_equal(S.dpc_ret, 0);
            assert_int_equal(S.st[0], STATUS_SUCCESS);
            assert_int_equal(S.dpc_ran_at_wake, 1);
            assert_int_equal(S.irql[0], PASSIVE_LEVEL);
            assert_int_equal(S.state[0], 0);
            assert_int_equal(kdpc_machine_violation_count(m), 0);
            kdpc_machine_destroy(m);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize_event_sets_type_and_state_at_any_irql),
        cmocka_unit_test(test_set_event_returns_previous_raw_state_and_sets_one),
        cmocka_unit_test(test_reset_clear_and_read_state_event),
        cmocka_unit_test(test_pulse_event_returns_previous_state_and_leaves_event_clear),
        cmocka_unit_test(test_notification_event_releases_all_waiters_and_stays_signaled),
        cmocka_unit_test(test_synchronization_event_releases_one_waiter_per_set),
        cmocka_unit_test(test_setting_signaled_event_wakes_nobody_and_does_not_accumulate),
        cmocka_unit_test(test_pulse_event_releases_waiters_as_set_then_clears),
        cmocka_unit_test(test_set_event_wait_true_returns_at_dispatch_until_next_wait),
        cmocka_unit_test(test_set_event_wait_true_then_blocking_wait_for_the_reply),
        cmocka_unit_test(test_dpc_setting_event_wakes_blocked_thread),
    };
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
