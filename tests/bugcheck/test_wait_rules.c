/* SPDX-License-Identifier: MIT */
/*
 * test_wait_rules.c - bug checks of dispatcher objects and waits
 * (include/kdpc/wdm/dispatcher.h, io.md 3.7-3.13, docs/rules.md):
 *   dpc.wait       0xC4 P1 0x3B: a wait with a NULL or nonzero timeout at
 *                  DISPATCH_LEVEL (thread or DPC), KeDelayExecutionThread there;
 *                  as a warning, 0xB8 when a DPC's wait really blocks;
 *   wait.objects   0xC: KeWaitForMultipleObjects with Count > 64, or Count > 3
 *                  without a WaitBlockArray;
 *   sync.apc_irql  0xC4 P1 0x33 / 0x34 / 0x11A / 0x11B: fast mutex acquire above
 *                  APC_LEVEL, release at an IRQL other than APC_LEVEL, critical
 *                  region enter / leave above APC_LEVEL;
 *   ke.bugcheck    0x1E: KeReleaseSemaphore over the limit (count unchanged),
 *                  KeReleaseMutex by a thread that does not own the mutex.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TICK_NS 1000000u

static int reached_after; /* set by code after the violating call: must stay 0 */
static int reached_before;
static KEVENT ev[MAXIMUM_WAIT_OBJECTS + 1];
static PVOID objs[MAXIMUM_WAIT_OBJECTS + 1];
static KWAIT_BLOCK wb[MAXIMUM_WAIT_OBJECTS + 1];
static KSEMAPHORE sem;
static KMUTEX mx;
static FAST_MUTEX fm;
static KDPC dpc;
static volatile LONG holder_ready;

static kdpc_machine *machine(unsigned cpus)
{
    reached_after = 0;
    reached_before = 0;
    holder_ready = 0;
    memset(ev, 0, sizeof(ev));
    memset(&sem, 0, sizeof(sem));
    memset(&mx, 0, sizeof(mx));
    kdpc_config cfg = kt_config(cpus, 11);
    cfg.clock_tick_ns = TICK_NS;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static void assert_p1(kdpc_machine *m, uint64_t p1)
{
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_non_null(bc);
    assert_int_equal(bc->params[0], p1);
}

static void settle(LONGLONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -ms * 10000;
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* ------------------------------------------------------------------ */
/* dpc.wait (3.7, 3.9)                                                 */

static void WaitNullAtDispatch(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&ev[0], NotificationEvent, TRUE); /* signaled: flagged anyway (3.7) */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    reached_before = 1;
    (void)KeWaitForSingleObject(&ev[0], Executive, KernelMode, FALSE, NULL);
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_wait_with_null_timeout_at_dispatch_bugchecks_c4_3b(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, WaitNullAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4);
    assert_p1(m, 0x3B);
    assert_int_equal(reached_before, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void WaitNonzeroTimeoutAtDispatch(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&ev[0], NotificationEvent, FALSE);
    LARGE_INTEGER to;
    to.QuadPart = -10000; /* 1 ms: only a zero timeout may be used at DISPATCH (3.7) */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)KeWaitForSingleObject(&ev[0], Executive, KernelMode, FALSE, &to);
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_wait_with_nonzero_timeout_at_dispatch_bugchecks_c4_3b(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, WaitNonzeroTimeoutAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4);
    assert_p1(m, 0x3B);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void WaitMultipleAtDispatch(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&ev[0], NotificationEvent, TRUE);
    KeInitializeEvent(&ev[1], NotificationEvent, TRUE);
    objs[0] = &ev[0];
    objs[1] = &ev[1];
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode, FALSE, NULL, NULL);
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_wait_for_multiple_with_null_timeout_at_dispatch_bugchecks_c4_3b(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, WaitMultipleAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4); /* 3.8: IRQL rules as in 3.7 */
    assert_p1(m, 0x3B);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void WaitingDpc(PKDPC Dpc, PVOID DeferredContext, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)A1;
    (void)A2;
    reached_before = 1;
    (void)KeWaitForSingleObject(&ev[0], Executive, KernelMode, FALSE, NULL);
    reached_after = 1;
}

static void DelayingDpc(PKDPC Dpc, PVOID DeferredContext, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)A1;
    (void)A2;
    LARGE_INTEGER iv;
    iv.QuadPart = -10000;
    reached_before = 1;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &iv);
    reached_after = 1;
}

/* ctx NULL: WaitingDpc; otherwise DelayingDpc. */
static void QueueDpcEntry(void *ctx)
{
    KeInitializeEvent(&ev[0], SynchronizationEvent, FALSE);
    KeInitializeDpc(&dpc, ctx != NULL ? DelayingDpc : WaitingDpc, NULL);
    (void)KeInsertQueueDpc(&dpc, NULL, NULL);
    for (int i = 0; i < 1000 && !reached_before; i++)
        KeStallExecutionProcessor(1);
}

static void test_wait_inside_a_dpc_bugchecks_c4_3b(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, WaitingDpc);
    kdpc_status st = kdpc_machine_run(m, QueueDpcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4);
    assert_p1(m, 0x3B);
    assert_int_equal(reached_before, 1);
    assert_int_equal(reached_after, 0);
    assert_string_equal(kdpc_machine_bugcheck(m)->routine, "WaitingDpc");
    kdpc_machine_destroy(m);
}

static void DelayAtDispatch(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER iv;
    iv.QuadPart = -10000;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)KeDelayExecutionThread(KernelMode, FALSE, &iv);
    reached_after = 1;
    KeLowerIrql(old);
}

static void test_delay_execution_at_dispatch_bugchecks_dpc_wait(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, DelayAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4); /* 3.9 */
    assert_p1(m, 0x3B);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);

    m = machine(1);
    KDPC_NAME(m, DelayingDpc);
    st = kdpc_machine_run(m, QueueDpcEntry, &dpc);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xC4); /* 3.13: never from a DPC */
    assert_p1(m, 0x3B);
    assert_int_equal(reached_before, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* With dpc.wait switched to a warning the wait goes ahead: in a DPC, a wait that
 * really blocks is 0xB8 ATTEMPTED_SWITCH_FROM_DPC (3.7, docs/rules.md dpc.wait). */
static void test_dpc_wait_as_warning_then_blocking_in_a_dpc_bugchecks_b8(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, WaitingDpc);
    assert_int_equal(kdpc_rule_set(m, "dpc.wait", KDPC_RULE_WARN), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, QueueDpcEntry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.wait", 0xB8);
    assert_int_equal(reached_before, 1);
    assert_int_equal(reached_after, 0);
    const kdpc_violation *w = kdpc_machine_violation(m, 0); /* the warning came first */
    assert_non_null(w);
    assert_string_equal(w->rule, "dpc.wait");
    assert_false(w->fatal);
    kdpc_machine_destroy(m);
}

/* 3.7 UNCERTAIN: a DISPATCH-level wait on a signaled object needs no switch; with the rule
 * as a warning it is flagged and returns. */
static NTSTATUS signaled_wait_status;

static void WaitSignaledAtDispatch(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&ev[0], SynchronizationEvent, TRUE);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    signaled_wait_status = KeWaitForSingleObject(&ev[0], Executive, KernelMode, FALSE, NULL);
    KeLowerIrql(old);
    reached_after = 1;
}

static void test_dpc_wait_as_warning_on_signaled_object_returns(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    signaled_wait_status = (NTSTATUS)-1;
    assert_int_equal(kdpc_rule_set(m, "dpc.wait", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, WaitSignaledAtDispatch, NULL), KDPC_OK);
    KT_ASSERT_WARNING(m, "dpc.wait");
    assert_int_equal(signaled_wait_status, STATUS_SUCCESS);
    assert_int_equal(ev[0].Header.SignalState, 0);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* wait.objects (3.8)                                                  */

static void WaitFourWithoutArray(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 4; i++) {
        KeInitializeEvent(&ev[i], NotificationEvent, TRUE);
        objs[i] = &ev[i];
    }
    (void)KeWaitForMultipleObjects(THREAD_WAIT_OBJECTS + 1, objs, WaitAny, Executive, KernelMode,
                                   FALSE, NULL, NULL);
    reached_after = 1;
}

static void test_four_objects_without_wait_block_array_bugchecks_0xc(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, WaitFourWithoutArray, NULL);
    KT_ASSERT_BUGCHECK(m, st, "wait.objects", 0xC);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void WaitSixtyFive(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS + 1; i++) {
        KeInitializeEvent(&ev[i], NotificationEvent, TRUE);
        objs[i] = &ev[i];
    }
    (void)KeWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS + 1, objs, WaitAny, Executive, KernelMode,
                                   FALSE, NULL, wb);
    reached_after = 1;
}

static void test_sixty_five_objects_bugchecks_0xc(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, WaitSixtyFive, NULL);
    KT_ASSERT_BUGCHECK(m, st, "wait.objects", 0xC);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* sync.apc_irql (3.12)                                                */

static void AcquireFastMutexAtDispatch(void *ctx)
{
    BOOLEAN try_ = (BOOLEAN)(intptr_t)ctx;
    ExInitializeFastMutex(&fm);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    if (try_)
        (void)ExTryToAcquireFastMutex(&fm);
    else
        ExAcquireFastMutex(&fm);
    reached_after = 1;
}

static void test_fast_mutex_acquire_at_dispatch_bugchecks_c4_33(void **state)
{
    (void)state;
    for (int try_ = 0; try_ <= 1; try_++) {
        kdpc_machine *m = machine(1);
        kdpc_status st = kdpc_machine_run(m, AcquireFastMutexAtDispatch, (void *)(intptr_t)try_);
        KT_ASSERT_BUGCHECK(m, st, "sync.apc_irql", 0xC4);
        assert_p1(m, 0x33);
        assert_int_equal(reached_after, 0);
        kdpc_machine_destroy(m);
    }
}

static void ReleaseFastMutexAtPassive(void *ctx)
{
    (void)ctx;
    ExInitializeFastMutex(&fm);
    ExAcquireFastMutex(&fm); /* APC_LEVEL */
    KeLowerIrql(PASSIVE_LEVEL);
    reached_before = 1;
    ExReleaseFastMutex(&fm); /* must be at APC_LEVEL */
    reached_after = 1;
}

static void test_fast_mutex_release_at_passive_bugchecks_c4_34(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, ReleaseFastMutexAtPassive, NULL);
    KT_ASSERT_BUGCHECK(m, st, "sync.apc_irql", 0xC4);
    assert_p1(m, 0x34);
    assert_int_equal(reached_before, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void EnterCriticalRegionAtDispatch(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeEnterCriticalRegion();
    reached_after = 1;
}

static void test_enter_critical_region_at_dispatch_bugchecks_c4_11a(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, EnterCriticalRegionAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "sync.apc_irql", 0xC4);
    assert_p1(m, 0x11A);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void LeaveCriticalRegionAtDispatch(void *ctx)
{
    (void)ctx;
    KeEnterCriticalRegion();
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    reached_before = 1;
    KeLeaveCriticalRegion();
    reached_after = 1;
}

static void test_leave_critical_region_at_dispatch_bugchecks_c4_11b(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, LeaveCriticalRegionAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "sync.apc_irql", 0xC4);
    assert_p1(m, 0x11B);
    assert_int_equal(reached_before, 1);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* ke.bugcheck: semaphore limit (3.10), mutex not owned (3.11)         */

static void SemaphoreOverLimit(void *ctx)
{
    (void)ctx;
    KeInitializeSemaphore(&sem, 0, 3);
    (void)KeReleaseSemaphore(&sem, SEMAPHORE_INCREMENT, 2, FALSE); /* count 2 */
    reached_before = 1;
    (void)KeReleaseSemaphore(&sem, SEMAPHORE_INCREMENT, 2, FALSE); /* 4 > 3 */
    reached_after = 1;
}

static void test_semaphore_release_over_limit_bugchecks_1e_count_unchanged(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, SemaphoreOverLimit, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    assert_p1(m, (uint32_t)STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(reached_before, 1);
    assert_int_equal(reached_after, 0);
    assert_int_equal(sem.Header.SignalState, 2); /* 3.10: count unchanged */
    assert_int_equal(sem.Limit, 3);
    kdpc_machine_destroy(m);
}

static void MutexHolder(PVOID ctx)
{
    (void)ctx;
    (void)KeWaitForSingleObject(&mx, Executive, KernelMode, FALSE, NULL);
    holder_ready = 1;
    (void)KeWaitForSingleObject(&ev[0], Executive, KernelMode, FALSE, NULL); /* never set */
}

static void ReleaseOthersMutex(void *ctx)
{
    (void)ctx;
    KeInitializeMutex(&mx, 0);
    KeInitializeEvent(&ev[0], NotificationEvent, FALSE);
    HANDLE h;
    if (NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, MutexHolder, NULL)))
        ZwClose(h);
    settle(1);
    reached_before = (int)holder_ready;
    (void)KeReleaseMutex(&mx, FALSE); /* not the owner */
    reached_after = 1;
}

static void test_mutex_release_by_non_owner_bugchecks_1e_mutant_not_owned(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, MutexHolder);
    kdpc_status st = kdpc_machine_run(m, ReleaseOthersMutex, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    assert_p1(m, (uint32_t)STATUS_MUTANT_NOT_OWNED); /* 3.11 */
    assert_int_equal(reached_before, 1);
    assert_int_equal(reached_after, 0);
    assert_int_equal(mx.Header.SignalState, 0); /* still owned once by the holder */
    kdpc_machine_destroy(m);
}

static void ReleaseFreeMutex(void *ctx)
{
    (void)ctx;
    KeInitializeMutex(&mx, 0);
    (void)KeReleaseMutex(&mx, FALSE); /* nobody owns it */
    reached_after = 1;
}

static void test_release_of_unowned_mutex_bugchecks_1e_mutant_not_owned(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    kdpc_status st = kdpc_machine_run(m, ReleaseFreeMutex, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    assert_p1(m, (uint32_t)STATUS_MUTANT_NOT_OWNED);
    assert_int_equal(reached_after, 0);
    assert_int_equal(mx.Header.SignalState, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_with_null_timeout_at_dispatch_bugchecks_c4_3b),
        cmocka_unit_test(test_wait_with_nonzero_timeout_at_dispatch_bugchecks_c4_3b),
        cmocka_unit_test(test_wait_for_multiple_with_null_timeout_at_dispatch_bugchecks_c4_3b),
        cmocka_unit_test(test_wait_inside_a_dpc_bugchecks_c4_3b),
        cmocka_unit_test(test_delay_execution_at_dispatch_bugchecks_dpc_wait),
        cmocka_unit_test(test_dpc_wait_as_warning_then_blocking_in_a_dpc_bugchecks_b8),
        cmocka_unit_test(test_dpc_wait_as_warning_on_signaled_object_returns),
        cmocka_unit_test(test_four_objects_without_wait_block_array_bugchecks_0xc),
        cmocka_unit_test(test_sixty_five_objects_bugchecks_0xc),
        cmocka_unit_test(test_fast_mutex_acquire_at_dispatch_bugchecks_c4_33),
        cmocka_unit_test(test_fast_mutex_release_at_passive_bugchecks_c4_34),
        cmocka_unit_test(test_enter_critical_region_at_dispatch_bugchecks_c4_11a),
        cmocka_unit_test(test_leave_critical_region_at_dispatch_bugchecks_c4_11b),
        cmocka_unit_test(test_semaphore_release_over_limit_bugchecks_1e_count_unchanged),
        cmocka_unit_test(test_mutex_release_by_non_owner_bugchecks_1e_mutant_not_owned),
        cmocka_unit_test(test_release_of_unowned_mutex_bugchecks_1e_mutant_not_owned),
    };
    return cmocka_run_group_tests_name("wait_rules", tests, NULL, NULL);
}
