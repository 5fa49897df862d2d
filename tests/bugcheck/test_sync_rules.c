/* SPDX-License-Identifier: MIT */
/*
 * test_sync_rules.c - sync.isr_unsynchronized (G1) and sync.unlocked_shared
 * (G2) on memory watched through kdpc_shared_alloc (docs/rules.md).
 *
 *   G1: a DpcForIsr reads the device's status register, which the ISR also
 *       writes. The correct DPC reads it in a SynchCritSection
 *       (KeSynchronizeExecution); the broken twin reads it directly.
 *   G2: a thread and a DPC update one counter. The correct pair holds one
 *       driver spin lock (KeAcquireSpinLock / KeAcquireSpinLockAtDpcLevel);
 *       the broken twin's DPC takes no lock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE  9
#define DIRQL 7

typedef struct REGS {
    volatile ULONG status; /* written by the device and the ISR, read by the DPC */
    volatile ULONG data;
} REGS;

static struct {
    kdpc_machine *m;
    BOOLEAN broken;
    REGS *regs;
    PKINTERRUPT intr;
    KDPC dpc;
    KSPIN_LOCK lock;
    volatile LONG *counter;
    ULONG seen[4];
    LONG dpc_runs;
    LONG reached_end;
} S;

/* ------------------------------------------------------------------ */
/* G1                                                                   */

static BOOLEAN RegsIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    (void)Context;
    if (S.regs->status == 0)
        return FALSE;
    S.regs->data = S.regs->status * 10u; /* acknowledge: move the status to data */
    (void)KeInsertQueueDpc(&S.dpc, NULL, NULL);
    return TRUE;
}

static BOOLEAN ReadStatus(PVOID Context)
{
    ULONG *out = Context;
    *out = S.regs->data;
    S.regs->status = 0;
    return TRUE;
}

static void RegsDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    ULONG v = 0;
    if (!S.broken) {
        (void)KeSynchronizeExecution(S.intr, ReadStatus, &v); /* G1 */
    } else {
        v = S.regs->data; /* broken: the ISR may be writing it right now */
        S.regs->status = 0;
    }
    if (S.dpc_runs < 4)
        S.seen[S.dpc_runs] = v;
    S.dpc_runs++;
}

static BOOLEAN RaiseStatus(PVOID Context)
{
    S.regs->status = (ULONG)(uintptr_t)Context;
    (void)kdpc_line_assert(S.m, LINE);
    return TRUE;
}

static void g1_entry(void *ctx)
{
    (void)ctx;
    S.regs = kdpc_shared_alloc(S.m, sizeof(REGS));
    if (S.regs == NULL)
        return;
    KeInitializeDpc(&S.dpc, RegsDpc, NULL);
    if (!NT_SUCCESS(IoConnectInterrupt(&S.intr, RegsIsr, NULL, NULL, LINE, DIRQL, DIRQL, Latched,
                                       FALSE, 1, FALSE)))
        return;
    if (kdpc_shared_bind_interrupt(S.m, S.regs, S.intr) != KDPC_OK)
        return;
    for (ULONG i = 1; i <= 3; i++) {
        (void)KeSynchronizeExecution(S.intr, RaiseStatus, (PVOID)(uintptr_t)i); /* "the device" */
        KeStallExecutionProcessor(2);
    }
    IoDisconnectInterrupt(S.intr);
    S.reached_end = 1;
}

static kdpc_machine *run_g1(BOOLEAN broken)
{
    memset(&S, 0, sizeof S);
    S.broken = broken;
    S.m = kt_machine(1, 5);
    KDPC_NAME(S.m, RegsDpc);
    assert_int_equal(kdpc_machine_run(S.m, g1_entry, NULL), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    assert_int_equal(S.dpc_runs, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(S.seen[i], (ULONG)(i + 1) * 10u);
    return S.m;
}

static void test_dpc_reading_isr_registers_in_a_synch_crit_section_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = run_g1(FALSE);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(S.regs->data, 30u); /* the host reads it after the run */
    kdpc_machine_destroy(m);
}

static void test_dpc_reading_isr_registers_directly_warns_isr_unsynchronized(void **state)
{
    (void)state;
    kdpc_machine *m = run_g1(TRUE);
    KT_ASSERT_WARNING(m, "sync.isr_unsynchronized");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "sync.isr_unsynchronized");
    assert_int_equal(w->params[0], (uint64_t)(uintptr_t)&S.regs->data); /* P1: the address */
    assert_int_equal(w->params[1], 0);                                  /* P2: a read */
    assert_string_equal(w->routine, "RegsDpc");
    assert_int_equal(w->irql, DISPATCH_LEVEL);
    kdpc_machine_destroy(m);
}

static void test_isr_unsynchronized_can_be_switched_off_and_made_fatal(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    S.broken = TRUE;
    S.m = kt_machine(1, 5);
    assert_int_equal(kdpc_rule_set(S.m, "sync.isr_unsynchronized", KDPC_RULE_BUGCHECK), KDPC_OK);
    kdpc_status st = kdpc_machine_run(S.m, g1_entry, NULL);
    KT_ASSERT_BUGCHECK(S.m, st, "sync.isr_unsynchronized", 0); /* code 0: no Windows bug check */
    kdpc_machine_destroy(S.m);

    memset(&S, 0, sizeof S);
    S.broken = TRUE;
    S.m = kt_machine(1, 5);
    assert_int_equal(kdpc_rule_set(S.m, "sync.isr_unsynchronized", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_machine_run(S.m, g1_entry, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(S.m), 0);
    kdpc_machine_destroy(S.m);
}

/* ------------------------------------------------------------------ */
/* G2                                                                   */

static void CounterDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    if (!S.broken)
        KeAcquireSpinLockAtDpcLevel(&S.lock);
    (*S.counter)++;
    if (!S.broken)
        KeReleaseSpinLockFromDpcLevel(&S.lock);
    S.dpc_runs++;
}

static void g2_entry(void *ctx)
{
    (void)ctx;
    S.counter = kdpc_shared_alloc(S.m, sizeof(LONG));
    if (S.counter == NULL)
        return;
    KeInitializeSpinLock(&S.lock);
    KeInitializeDpc(&S.dpc, CounterDpc, NULL);
    *S.counter = 100; /* the thread alone: initialisation needs no lock */
    KeStallExecutionProcessor(1);
    for (int i = 0; i < 4; i++) {
        KIRQL old;
        KeAcquireSpinLock(&S.lock, &old);
        (*S.counter)++;
        KeReleaseSpinLock(&S.lock, old);
        (void)KeInsertQueueDpc(&S.dpc, NULL, NULL);
        KeStallExecutionProcessor(3);
    }
    S.reached_end = 1;
}

static kdpc_machine *run_g2(BOOLEAN broken, unsigned cpus, uint64_t seed)
{
    memset(&S, 0, sizeof S);
    S.broken = broken;
    S.m = kt_machine(cpus, seed);
    KDPC_NAME(S.m, CounterDpc);
    assert_int_equal(kdpc_machine_run(S.m, g2_entry, NULL), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    assert_int_equal(S.dpc_runs, 4);
    assert_int_equal(*S.counter, 108);
    return S.m;
}

static void test_thread_and_dpc_under_one_spin_lock_are_clean(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        for (uint64_t seed = 1; seed <= 4; seed++) {
            kdpc_machine *m = run_g2(FALSE, cpus, seed);
            assert_int_equal(kdpc_machine_violation_count(m), 0);
            kdpc_machine_destroy(m);
        }
    }
}

static void test_dpc_without_the_lock_warns_unlocked_shared_once(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        for (uint64_t seed = 1; seed <= 4; seed++) {
            kdpc_machine *m = run_g2(TRUE, cpus, seed);
            KT_ASSERT_WARNING(m, "sync.unlocked_shared");
            assert_int_equal(kdpc_machine_violation_count(m), 1); /* once per region */
            const kdpc_violation *w = kdpc_machine_find_violation(m, "sync.unlocked_shared");
            assert_int_equal(w->params[0], (uint64_t)(uintptr_t)S.counter);
            kdpc_machine_destroy(m);
        }
    }
}

/* ------------------------------------------------------------------ */
/* The native calls                                                     */

static void test_shared_alloc_and_bind_reject_bad_arguments(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_null(kdpc_shared_alloc(NULL, 16));
    assert_null(kdpc_shared_alloc(m, 0));
    PUCHAR p = kdpc_shared_alloc(m, 100);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 4096u, 0);
    assert_int_equal(p[99], 0); /* zeroed, and the host may touch it outside a run */
    p[0] = 1;
    int dummy;
    assert_int_equal(kdpc_shared_bind_interrupt(m, p, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_shared_bind_interrupt(m, &dummy, &dummy), KDPC_EINVAL);
    assert_int_equal(kdpc_shared_bind_interrupt(NULL, p, &dummy), KDPC_EINVAL);
    void *more[40];
    size_t got = 0;
    for (size_t i = 0; i < 40; i++)
        if ((more[i] = kdpc_shared_alloc(m, 8)) != NULL)
            got++;
    assert_int_equal(got, 40); /* no fixed limit (tests/robust/test_limits.c goes further) */
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpc_reading_isr_registers_in_a_synch_crit_section_is_clean),
        cmocka_unit_test(test_dpc_reading_isr_registers_directly_warns_isr_unsynchronized),
        cmocka_unit_test(test_isr_unsynchronized_can_be_switched_off_and_made_fatal),
        cmocka_unit_test(test_thread_and_dpc_under_one_spin_lock_are_clean),
        cmocka_unit_test(test_dpc_without_the_lock_warns_unlocked_shared_once),
        cmocka_unit_test(test_shared_alloc_and_bind_reject_bad_arguments),
    };
    return cmocka_run_group_tests_name("sync_rules", tests, NULL, NULL);
}
