/* SPDX-License-Identifier: MIT */
/*
 * test_fastmutex.c - fast (and guarded) mutexes, critical and guarded
 * regions (include/kdpc/wdm/dispatcher.h, io.md 3.12, dpc-irql.md 2.16):
 * ExAcquireFastMutex raising to APC_LEVEL and ExReleaseFastMutex restoring
 * the entry IRQL, mutual exclusion between CPUs, a contending thread
 * blocking, ExTryToAcquireFastMutex, the Unsafe variants, the self-deadlock
 * of a recursive acquire, and KeAreApcsDisabled / KeAreAllApcsDisabled.
 * The IRQL bug checks (sync.apc_irql) are in tests/bugcheck/test_wait_rules.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TICK_NS 1000000u /* 1 ms clock tick */
#define ROUNDS  20

static struct {
    FAST_MUTEX fm;
    KEVENT ev;
    KSPIN_LOCK lock;
    volatile LONG counter;
    volatile LONG inside;
    volatile LONG max_inside;
    volatile LONG flag;
    volatile LONG acquired;
    LONG count[8];
    KIRQL irql[16];
    BOOLEAN b[32];
    PKTHREAD owner[4];
    PKTHREAD self[4];
    ULONG cpu[4];
    LONG state[8];
    LONG order[8];
    LONG norder;
    volatile LONG done;
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
/* IRQL of acquire and release (3.12)                                  */

static void irql_entry(void *ctx)
{
    (void)ctx;
    ExInitializeFastMutex(&S.fm);
    S.count[0] = S.fm.Count;
    S.owner[0] = S.fm.Owner;
    S.self[0] = KeGetCurrentThread();
    S.irql[0] = KeGetCurrentIrql();
    ExAcquireFastMutex(&S.fm);
    S.irql[1] = KeGetCurrentIrql(); /* 3.12: raised to APC_LEVEL */
    S.count[1] = S.fm.Count;
    S.owner[1] = S.fm.Owner;
    ExReleaseFastMutex(&S.fm);
    S.irql[2] = KeGetCurrentIrql(); /* 3.12: the saved IRQL */
    S.count[2] = S.fm.Count;
    S.owner[2] = S.fm.Owner;

    /* entered at APC_LEVEL: released back to APC_LEVEL */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExAcquireFastMutex(&S.fm);
    S.irql[3] = KeGetCurrentIrql();
    ExReleaseFastMutex(&S.fm);
    S.irql[4] = KeGetCurrentIrql();
    KeLowerIrql(old);

    /* guarded mutexes are fast mutexes (3.12) */
    KeInitializeGuardedMutex(&S.fm);
    KeAcquireGuardedMutex(&S.fm);
    S.irql[5] = KeGetCurrentIrql();
    KeReleaseGuardedMutex(&S.fm);
    S.irql[6] = KeGetCurrentIrql();
}

static void test_acquire_raises_to_apc_level_and_release_restores_entry_irql(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 1);
    assert_int_equal(kdpc_machine_run(m, irql_entry, NULL), KDPC_OK);
    assert_int_equal(S.count[0], 1); /* free */
    assert_null(S.owner[0]);
    assert_int_equal(S.irql[0], PASSIVE_LEVEL);
    assert_int_equal(S.irql[1], APC_LEVEL);
    assert_int_equal(S.count[1], 0); /* owned */
    assert_ptr_equal(S.owner[1], S.self[0]);
    assert_int_equal(S.irql[2], PASSIVE_LEVEL);
    assert_int_equal(S.count[2], 1);
    assert_null(S.owner[2]);
    assert_int_equal(S.irql[3], APC_LEVEL);
    assert_int_equal(S.irql[4], APC_LEVEL);
    assert_int_equal(S.irql[5], APC_LEVEL);
    assert_int_equal(S.irql[6], PASSIVE_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Mutual exclusion (3.12)                                             */

static void count_rounds(int who)
{
    (void)KeSetSystemAffinityThreadEx((KAFFINITY)1 << who);
    S.cpu[who] = KeGetCurrentProcessorNumber();
    for (int i = 0; i < ROUNDS; i++) {
        ExAcquireFastMutex(&S.fm);
        S.inside++;
        if (S.inside > S.max_inside)
            S.max_inside = S.inside;
        LONG v = S.counter;
        KeStallExecutionProcessor(2); /* interleaving points inside */
        KeStallExecutionProcessor(2);
        S.counter = v + 1;
        S.inside--;
        ExReleaseFastMutex(&S.fm);
    }
}

static void CounterThread(PVOID ctx)
{
    (void)ctx;
    count_rounds(1);
    S.done++;
}

static void exclusion_entry(void *ctx)
{
    (void)ctx;
    ExInitializeFastMutex(&S.fm);
    start(CounterThread, NULL);
    count_rounds(0);
    S.done++;
}

static void test_fast_mutex_excludes_a_thread_on_another_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        reset();
        kdpc_machine *m = machine(2, seed);
        assert_int_equal(kdpc_machine_run(m, exclusion_entry, NULL), KDPC_OK);
        assert_int_equal(S.cpu[0], 0);
        assert_int_equal(S.cpu[1], 1);
        assert_int_equal(S.done, 2);
        assert_int_equal(S.max_inside, 1);
        assert_int_equal(S.counter, 2 * ROUNDS); /* no lost update */
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* A contending thread blocks and frees its CPU                        */

static void Contender(PVOID ctx)
{
    (void)ctx;
    (void)KeWaitForSingleObject(&S.ev, Executive, KernelMode, FALSE, NULL);
    S.self[1] = KeGetCurrentThread();
    S.order[S.norder++] = 1; /* about to contend */
    ExAcquireFastMutex(&S.fm);
    S.order[S.norder++] = 3; /* acquired */
    S.irql[1] = KeGetCurrentIrql();
    S.owner[1] = S.fm.Owner;
    ExReleaseFastMutex(&S.fm);
}

static KEVENT bystander_go;

static void Bystander(PVOID ctx)
{
    (void)ctx;
    (void)KeWaitForSingleObject(&bystander_go, Executive, KernelMode, FALSE, NULL);
    S.order[S.norder++] = 2; /* ran while the contender waited */
}

static void contention_entry(void *ctx)
{
    (void)ctx;
    ExInitializeFastMutex(&S.fm);
    KeInitializeEvent(&S.ev, NotificationEvent, FALSE);
    KeInitializeEvent(&bystander_go, NotificationEvent, FALSE);
    start(Contender, NULL); /* threads are created at PASSIVE_LEVEL */
    start(Bystander, NULL);
    ExAcquireFastMutex(&S.fm);
    (void)KeSetEvent(&S.ev, IO_NO_INCREMENT, FALSE);
    settle(1); /* the contender blocks on the fast mutex: it frees the only CPU */
    (void)KeSetEvent(&bystander_go, IO_NO_INCREMENT, FALSE);
    settle(1);
    S.state[0] = S.norder;
    S.self[0] = KeGetCurrentThread();
    S.owner[0] = S.fm.Owner;
    ExReleaseFastMutex(&S.fm);
    S.irql[0] = KeGetCurrentIrql();
    settle(1);
}

static void test_contending_thread_blocks_until_release(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        reset();
        kdpc_machine *m = machine(1, seed);
        kdpc_status st = kdpc_machine_run(m, contention_entry, NULL);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(S.state[0], 2); /* contender waiting, bystander done */
        assert_ptr_equal(S.owner[0], S.self[0]);
        assert_int_equal(S.norder, 3);
        assert_int_equal(S.order[0], 1);
        assert_int_equal(S.order[1], 2);
        assert_int_equal(S.order[2], 3);
        assert_int_equal(S.irql[0], PASSIVE_LEVEL);
        assert_int_equal(S.irql[1], APC_LEVEL);
        assert_ptr_equal(S.owner[1], S.self[1]);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* ExTryToAcquireFastMutex (3.12)                                      */

static void Holder(PVOID ctx)
{
    (void)ctx;
    ExAcquireFastMutex(&S.fm);
    S.acquired = 1;
    (void)KeWaitForSingleObject(&S.ev, Executive, KernelMode, FALSE, NULL); /* legal at APC */
    ExReleaseFastMutex(&S.fm);
}

static void try_entry(void *ctx)
{
    (void)ctx;
    ExInitializeFastMutex(&S.fm);
    KeInitializeEvent(&S.ev, NotificationEvent, FALSE);
    /* free: TRUE, raised to APC_LEVEL */
    S.b[0] = ExTryToAcquireFastMutex(&S.fm);
    S.irql[0] = KeGetCurrentIrql();
    /* owned by self: FALSE, no deadlock, IRQL unchanged */
    S.b[1] = ExTryToAcquireFastMutex(&S.fm);
    S.irql[1] = KeGetCurrentIrql();
    ExReleaseFastMutex(&S.fm);
    S.irql[2] = KeGetCurrentIrql();
    /* owned by another thread: FALSE at once, IRQL unchanged */
    start(Holder, NULL);
    settle(1);
    S.state[0] = S.acquired;
    S.b[2] = ExTryToAcquireFastMutex(&S.fm);
    S.irql[3] = KeGetCurrentIrql();
    (void)KeSetEvent(&S.ev, IO_NO_INCREMENT, FALSE);
    settle(1);
    S.b[3] = ExTryToAcquireFastMutex(&S.fm); /* released again: TRUE */
    S.irql[4] = KeGetCurrentIrql();
    if (S.b[3])
        ExReleaseFastMutex(&S.fm);
}

static void test_try_to_acquire_fails_when_owned_by_other_or_self(void **state)
{
    (void)state;
    const unsigned cpus[2] = {1, 2};
    for (int c = 0; c < 2; c++) {
        reset();
        kdpc_machine *m = machine(cpus[c], 3);
        assert_int_equal(kdpc_machine_run(m, try_entry, NULL), KDPC_OK);
        assert_true(S.b[0]);
        assert_int_equal(S.irql[0], APC_LEVEL);
        assert_false(S.b[1]); /* 3.12: by the owner, FALSE */
        assert_int_equal(S.irql[1], APC_LEVEL);
        assert_int_equal(S.irql[2], PASSIVE_LEVEL);
        assert_int_equal(S.state[0], 1);
        assert_false(S.b[2]);
        assert_int_equal(S.irql[3], PASSIVE_LEVEL);
        assert_true(S.b[3]);
        assert_int_equal(S.irql[4], APC_LEVEL);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* Unsafe variants keep the IRQL (3.12)                                */

static void unsafe_entry(void *ctx)
{
    (void)ctx;
    ExInitializeFastMutex(&S.fm);
    S.self[0] = KeGetCurrentThread();
    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&S.fm);
    S.irql[0] = KeGetCurrentIrql();
    S.owner[0] = S.fm.Owner;
    S.count[0] = S.fm.Count;
    ExReleaseFastMutexUnsafe(&S.fm);
    S.irql[1] = KeGetCurrentIrql();
    S.count[1] = S.fm.Count;
    KeLeaveCriticalRegion();

    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExAcquireFastMutexUnsafe(&S.fm);
    S.irql[2] = KeGetCurrentIrql();
    ExReleaseFastMutexUnsafe(&S.fm);
    S.irql[3] = KeGetCurrentIrql();
    KeLowerIrql(old);
}

static void test_unsafe_variants_keep_the_irql(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 4);
    assert_int_equal(kdpc_machine_run(m, unsafe_entry, NULL), KDPC_OK);
    assert_int_equal(S.irql[0], PASSIVE_LEVEL);
    assert_ptr_equal(S.owner[0], S.self[0]);
    assert_int_equal(S.count[0], 0);
    assert_int_equal(S.irql[1], PASSIVE_LEVEL);
    assert_int_equal(S.count[1], 1);
    assert_int_equal(S.irql[2], APC_LEVEL);
    assert_int_equal(S.irql[3], APC_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Not recursive (3.12)                                                */

static void recursive_entry(void *ctx)
{
    (void)ctx;
    ExInitializeFastMutex(&S.fm);
    ExAcquireFastMutex(&S.fm);
    S.flag = 1;
    ExAcquireFastMutex(&S.fm); /* self-deadlock */
    S.flag = 2;
    ExReleaseFastMutex(&S.fm);
    ExReleaseFastMutex(&S.fm);
}

static void test_recursive_acquire_deadlocks(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        reset();
        kdpc_machine *m = machine(cpus, 5);
        /* lock.recursive (0xC4/0x1000) off: a free kernel's thread waits on itself */
        assert_int_equal(kdpc_rule_set(m, "lock.recursive", KDPC_RULE_OFF), KDPC_OK);
        kdpc_status st = kdpc_machine_run(m, recursive_entry, NULL);
        assert_int_equal(st, KDPC_DEADLOCK);
        assert_non_null(kdpc_machine_deadlock_report(m));
        assert_int_equal(S.flag, 1);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* Critical and guarded regions, KeAre(All)ApcsDisabled (2.16, 3.12)   */

static void regions_entry(void *ctx)
{
    (void)ctx;
    int k = 0;
    S.b[k++] = KeAreApcsDisabled();    /* 0: PASSIVE, no region */
    S.b[k++] = KeAreAllApcsDisabled(); /* 1 */
    KeEnterCriticalRegion();
    S.b[k++] = KeAreApcsDisabled();    /* 2: TRUE */
    S.b[k++] = KeAreAllApcsDisabled(); /* 3: FALSE: special APCs still on */
    KeEnterCriticalRegion();           /* counted */
    KeLeaveCriticalRegion();
    S.b[k++] = KeAreApcsDisabled(); /* 4: still TRUE */
    KeLeaveCriticalRegion();
    S.b[k++] = KeAreApcsDisabled();    /* 5: FALSE */
    S.b[k++] = KeAreAllApcsDisabled(); /* 6: FALSE */
    KeEnterGuardedRegion();
    S.b[k++] = KeAreApcsDisabled();    /* 7: TRUE */
    S.b[k++] = KeAreAllApcsDisabled(); /* 8: TRUE */
    KeEnterGuardedRegion();
    KeLeaveGuardedRegion();
    S.b[k++] = KeAreAllApcsDisabled(); /* 9: still TRUE */
    KeLeaveGuardedRegion();
    S.b[k++] = KeAreApcsDisabled();    /* 10: FALSE */
    S.b[k++] = KeAreAllApcsDisabled(); /* 11: FALSE */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    S.b[k++] = KeAreAllApcsDisabled(); /* 12: TRUE at APC_LEVEL */
    KeLowerIrql(old);
    KeInitializeSpinLock(&S.lock);
    KeAcquireSpinLock(&S.lock, &old);
    S.b[k++] = KeAreApcsDisabled();    /* 13: FALSE holding a spin lock (2.16) */
    S.b[k++] = KeAreAllApcsDisabled(); /* 14: TRUE at DISPATCH_LEVEL */
    KeReleaseSpinLock(&S.lock, old);
    S.b[k++] = KeAreAllApcsDisabled(); /* 15: FALSE */
    S.irql[0] = KeGetCurrentIrql();
    S.state[0] = k;
}

static void test_critical_and_guarded_regions_disable_apcs(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine(1, 6);
    assert_int_equal(kdpc_machine_run(m, regions_entry, NULL), KDPC_OK);
    assert_int_equal(S.state[0], 16);
    const BOOLEAN expected[16] = {FALSE, FALSE, TRUE,  FALSE, TRUE, FALSE, FALSE, TRUE,
                                  TRUE,  TRUE,  FALSE, FALSE, TRUE, FALSE, TRUE,  FALSE};
    for (int i = 0; i < 16; i++) {
        if (S.b[i] != expected[i])
            fail_msg("query %d returned %d, expected %d", i, S.b[i], expected[i]);
    }
    assert_int_equal(S.irql[0], PASSIVE_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_raises_to_apc_level_and_release_restores_entry_irql),
        cmocka_unit_test(test_fast_mutex_excludes_a_thread_on_another_cpu),
        cmocka_unit_test(test_contending_thread_blocks_until_release),
        cmocka_unit_test(test_try_to_acquire_fails_when_owned_by_other_or_self),
        cmocka_unit_test(test_unsafe_variants_keep_the_irql),
        cmocka_unit_test(test_recursive_acquire_deadlocks),
        cmocka_unit_test(test_critical_and_guarded_regions_disable_apcs),
    };
    return cmocka_run_group_tests_name("fastmutex", tests, NULL, NULL);
}
