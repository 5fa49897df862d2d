/* SPDX-License-Identifier: MIT */
/*
 * test_spinlock.c - documented behaviour of executive, at-DPC-level, try,
 * test, ForDpc and in-stack queued spin locks (docs/facts/dpc-irql.md
 * section 2): lock word encoding, IRQL on acquire and release, mutual
 * exclusion on several CPUs, interrupts while spinning, FIFO of queued
 * locks, and the hold-time warning.
 *
 * Simulated code records what it sees into context structs; the asserts run
 * on the host thread after kdpc_machine_run returns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

/* Upper bound of every polling loop: a broken library fails the test instead of hanging. */
#define SPIN_LIMIT 5000

/* Poll with a kernel call (an interleaving point) until *v >= want. */
static void wait_at_least(volatile LONG *v, LONG want)
{
    for (int i = 0; i < SPIN_LIMIT && *v < want; i++)
        KeStallExecutionProcessor(1);
}

#define QUEUE_OWNER ((ULONG_PTR)2) /* LOCK_QUEUE_OWNER (2.3) */

/* ------------------------------------------------------------------ */
/* 2.1: KeInitializeSpinLock stores 0.                                  */

typedef struct init_ctx {
    KSPIN_LOCK lock;
    KSPIN_LOCK after;
    KIRQL irql_high_after;
} init_ctx;

static void entry_init(void *p)
{
    init_ctx *x = p;
    x->lock = (KSPIN_LOCK)0xDEADBEEFu;
    KeInitializeSpinLock(&x->lock);
    x->after = x->lock;
    /* any IRQL (1.20) */
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    x->lock = ~(KSPIN_LOCK)0;
    KeInitializeSpinLock(&x->lock);
    x->irql_high_after = KeGetCurrentIrql();
    KeLowerIrql(old);
}

static void test_initialize_stores_zero(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    init_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_init, &x), KDPC_OK);
    assert_int_equal(x.after, 0); /* 2.1 */
    assert_int_equal(x.lock, 0);  /* 2.1, at HIGH_LEVEL */
    assert_int_equal(x.irql_high_after, HIGH_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* KeAcquireSpinLock / KeReleaseSpinLock (2.2, 2.5, 2.9, 2.11).         */

static const KIRQL entry_levels[3] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL};

typedef struct acquire_ctx {
    KSPIN_LOCK lock;
    KIRQL old[3];
    KIRQL held_irql[3];
    KSPIN_LOCK held_word[3];
    BOOLEAN held_test[3];
    KIRQL released_irql[3];
    KSPIN_LOCK released_word[3];
    BOOLEAN released_test[3];
    /* KeAcquireSpinLockRaiseToDpc (2.11) */
    KIRQL rtd_old[3];
    KIRQL rtd_irql[3];
    KSPIN_LOCK rtd_word[3];
    KIRQL rtd_released_irql[3];
} acquire_ctx;

static void entry_acquire(void *p)
{
    acquire_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    for (int i = 0; i < 3; i++) {
        KIRQL entry;
        KeRaiseIrql(entry_levels[i], &entry);
        KIRQL old = 0xEE;
        KeAcquireSpinLock(&x->lock, &old);
        x->old[i] = old;
        x->held_irql[i] = KeGetCurrentIrql();
        x->held_word[i] = x->lock;
        x->held_test[i] = KeTestSpinLock(&x->lock);
        KeReleaseSpinLock(&x->lock, old);
        x->released_irql[i] = KeGetCurrentIrql();
        x->released_word[i] = x->lock;
        x->released_test[i] = KeTestSpinLock(&x->lock);

        KIRQL r = KeAcquireSpinLockRaiseToDpc(&x->lock);
        x->rtd_old[i] = r;
        x->rtd_irql[i] = KeGetCurrentIrql();
        x->rtd_word[i] = x->lock;
        KeReleaseSpinLock(&x->lock, r);
        x->rtd_released_irql[i] = KeGetCurrentIrql();
        KeLowerIrql(entry);
    }
}

static void test_acquire_returns_at_dispatch_with_entry_irql_and_release_restores(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    acquire_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_acquire, &x), KDPC_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(x.old[i], entry_levels[i]);           /* 2.5: OldIrql = entry IRQL */
        assert_int_equal(x.held_irql[i], DISPATCH_LEVEL);      /* 2.5: returns at DISPATCH */
        assert_int_equal(x.held_word[i], 1);                   /* 2.2: MP free kernel */
        assert_false(x.held_test[i]);                          /* 2.4 */
        assert_int_equal(x.released_irql[i], entry_levels[i]); /* 2.9 */
        assert_int_equal(x.released_word[i], 0);
        assert_true(x.released_test[i]);
        assert_int_equal(x.rtd_old[i], entry_levels[i]); /* 2.11 */
        assert_int_equal(x.rtd_irql[i], DISPATCH_LEVEL);
        assert_int_equal(x.rtd_word[i], 1);
        assert_int_equal(x.rtd_released_irql[i], entry_levels[i]);
    }
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* 2.9 + 1.9: releasing to below DISPATCH runs a DPC queued while the lock was held. */

typedef struct release_dpc_ctx {
    KSPIN_LOCK lock;
    KDPC dpc;
    volatile LONG ran;
    LONG ran_while_held;
    LONG ran_after_release;
    KSPIN_LOCK word_in_dpc;
} release_dpc_ctx;

static void release_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    release_dpc_ctx *x = Context;
    x->word_in_dpc = x->lock;
    x->ran++;
}

static void entry_release_runs_dpc(void *p)
{
    release_dpc_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    KeInitializeDpc(&x->dpc, release_dpc, x);
    KIRQL old;
    KeAcquireSpinLock(&x->lock, &old);
    KeInsertQueueDpc(&x->dpc, NULL, NULL);
    KeStallExecutionProcessor(2);
    x->ran_while_held = x->ran;
    KeReleaseSpinLock(&x->lock, old);
    x->ran_after_release = x->ran;
}

static void test_release_to_passive_runs_dpc_queued_under_lock(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 2);
    release_dpc_ctx x;
    memset(&x, 0, sizeof(x));
    x.word_in_dpc = 0xEE;
    assert_int_equal(kdpc_machine_run(m, entry_release_runs_dpc, &x), KDPC_OK);
    assert_int_equal(x.ran_while_held, 0);    /* 4.15: not at DISPATCH */
    assert_int_equal(x.ran_after_release, 1); /* 2.9, 1.9: before KeReleaseSpinLock returns */
    assert_int_equal(x.word_in_dpc, 0);       /* released before the DPC ran */
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 2.7, 2.8: AtDpcLevel / FromDpcLevel do not change IRQL.              */

typedef struct atdpc_ctx {
    KSPIN_LOCK lock;
    /* raised by the thread to DISPATCH and to SYNCH_LEVEL (2.7: >= DISPATCH) */
    KIRQL levels[2];
    KIRQL held_irql[2];
    KSPIN_LOCK held_word[2];
    KIRQL released_irql[2];
    KSPIN_LOCK released_word[2];
    /* inside a DPC routine */
    KDPC dpc;
    KIRQL dpc_held_irql, dpc_released_irql;
    KSPIN_LOCK dpc_held_word, dpc_released_word;
    volatile LONG dpc_ran;
} atdpc_ctx;

static void atdpc_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    atdpc_ctx *x = Context;
    KeAcquireSpinLockAtDpcLevel(&x->lock);
    x->dpc_held_irql = KeGetCurrentIrql();
    x->dpc_held_word = x->lock;
    KeReleaseSpinLockFromDpcLevel(&x->lock);
    x->dpc_released_irql = KeGetCurrentIrql();
    x->dpc_released_word = x->lock;
    x->dpc_ran = 1;
}

static void entry_atdpc(void *p)
{
    atdpc_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    x->levels[0] = DISPATCH_LEVEL;
    x->levels[1] = SYNCH_LEVEL;
    for (int i = 0; i < 2; i++) {
        KIRQL old;
        KeRaiseIrql(x->levels[i], &old);
        KeAcquireSpinLockAtDpcLevel(&x->lock);
        x->held_irql[i] = KeGetCurrentIrql();
        x->held_word[i] = x->lock;
        KeReleaseSpinLockFromDpcLevel(&x->lock);
        x->released_irql[i] = KeGetCurrentIrql();
        x->released_word[i] = x->lock;
        KeLowerIrql(old);
    }
    KeInitializeDpc(&x->dpc, atdpc_dpc, x);
    KeInsertQueueDpc(&x->dpc, NULL, NULL);
    wait_at_least(&x->dpc_ran, 1);
}

static void test_at_dpc_level_variants_keep_irql(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    atdpc_ctx x;
    memset(&x, 0xEE, sizeof(x));
    x.dpc_ran = 0;
    assert_int_equal(kdpc_machine_run(m, entry_atdpc, &x), KDPC_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(x.held_irql[i], x.levels[i]);     /* 2.7: IRQL unchanged */
        assert_int_equal(x.held_word[i], 1);               /* 2.2 */
        assert_int_equal(x.released_irql[i], x.levels[i]); /* 2.8: IRQL unchanged */
        assert_int_equal(x.released_word[i], 0);
    }
    assert_int_equal(x.dpc_ran, 1);
    assert_int_equal(x.dpc_held_irql, DISPATCH_LEVEL);
    assert_int_equal(x.dpc_held_word, 1);
    assert_int_equal(x.dpc_released_irql, DISPATCH_LEVEL);
    assert_int_equal(x.dpc_released_word, 0);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 2.4: KeTestSpinLock.                                                 */

static const KSPIN_LOCK test_words[] = {
    0, 1, 2, ~(KSPIN_LOCK)0, (KSPIN_LOCK)1 << (sizeof(KSPIN_LOCK) * 8 - 1),
};
#define TEST_WORDS_N (sizeof(test_words) / sizeof(test_words[0]))

typedef struct test_ctx {
    BOOLEAN result[TEST_WORDS_N];
    KSPIN_LOCK word_after[TEST_WORDS_N];
    KIRQL irql_after[TEST_WORDS_N];
    BOOLEAN at_high_free;
    KIRQL at_high_irql;
} test_ctx;

static void entry_test_spin_lock(void *p)
{
    test_ctx *x = p;
    for (size_t i = 0; i < TEST_WORDS_N; i++) {
        KSPIN_LOCK word = test_words[i];
        x->result[i] = KeTestSpinLock(&word);
        x->word_after[i] = word;
        x->irql_after[i] = KeGetCurrentIrql();
    }
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    KSPIN_LOCK free_word = 0;
    x->at_high_free = KeTestSpinLock(&free_word);
    x->at_high_irql = KeGetCurrentIrql();
    KeLowerIrql(old);
}

static void test_test_spin_lock_true_only_for_zero_word(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    test_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_test_spin_lock, &x), KDPC_OK);
    for (size_t i = 0; i < TEST_WORDS_N; i++) {
        /* 2.4: TRUE iff the word is 0; FALSE for 1, 2, all-ones, top bit */
        if (test_words[i] == 0)
            assert_true(x.result[i]);
        else
            assert_false(x.result[i]);
        assert_int_equal(x.word_after[i], test_words[i]); /* never acquires */
        assert_int_equal(x.irql_after[i], PASSIVE_LEVEL); /* never changes IRQL */
    }
    assert_true(x.at_high_free);
    assert_int_equal(x.at_high_irql, HIGH_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 2.10: KeTryToAcquireSpinLockAtDpcLevel.                              */

typedef struct try_ctx {
    KSPIN_LOCK lock;
    /* same CPU */
    BOOLEAN first, second, after_acquire;
    KIRQL irql_after_first;
    KSPIN_LOCK word_after_first;
    KSPIN_LOCK word_after_release;
    /* another CPU (a DPC on CPU 1) */
    KDPC dpc;
    volatile LONG phase_done;
    BOOLEAN other_held;
    BOOLEAN other_free;
    ULONG other_cpu;
    KIRQL other_irql;
    KSPIN_LOCK other_word_held;
    KSPIN_LOCK word_at_end;
} try_ctx;

static void try_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A2;
    try_ctx *x = Context;
    if (A1 == NULL) {
        x->other_held = KeTryToAcquireSpinLockAtDpcLevel(&x->lock);
        x->other_cpu = KeGetCurrentProcessorNumber();
        x->other_irql = KeGetCurrentIrql();
        if (x->other_held)
            KeReleaseSpinLockFromDpcLevel(&x->lock); /* only on failure of the test */
    } else {
        x->other_free = KeTryToAcquireSpinLockAtDpcLevel(&x->lock);
        x->other_word_held = x->lock;
        if (x->other_free)
            KeReleaseSpinLockFromDpcLevel(&x->lock);
    }
    x->phase_done++;
}

static void entry_try(void *p)
{
    try_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    x->first = KeTryToAcquireSpinLockAtDpcLevel(&x->lock);
    x->irql_after_first = KeGetCurrentIrql();
    x->word_after_first = x->lock;
    x->second = KeTryToAcquireSpinLockAtDpcLevel(&x->lock); /* held by this CPU */
    if (x->first)
        KeReleaseSpinLockFromDpcLevel(&x->lock);
    x->word_after_release = x->lock;
    KeLowerIrql(old);

    /* Held by this CPU through KeAcquireSpinLock. */
    KeAcquireSpinLock(&x->lock, &old);
    x->after_acquire = KeTryToAcquireSpinLockAtDpcLevel(&x->lock);

    /* Held by CPU 0: a DPC on CPU 1 tries. */
    KeInitializeDpc(&x->dpc, try_dpc, x);
    KeSetTargetProcessorDpc(&x->dpc, 1);
    KeSetImportanceDpc(&x->dpc, MediumHighImportance);
    KeInsertQueueDpc(&x->dpc, NULL, NULL);
    wait_at_least(&x->phase_done, 1);
    KeReleaseSpinLock(&x->lock, old);

    /* Free: the DPC on CPU 1 gets it. */
    KeInsertQueueDpc(&x->dpc, (PVOID)1, NULL);
    wait_at_least(&x->phase_done, 2);
    x->word_at_end = x->lock;
}

static void test_try_to_acquire_true_when_free_false_when_held_by_any_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        kdpc_machine *m = kt_machine(2, seed);
        try_ctx x;
        memset(&x, 0xEE, sizeof(x));
        x.phase_done = 0;
        assert_int_equal(kdpc_machine_run(m, entry_try, &x), KDPC_OK);
        assert_true(x.first);                                 /* 2.10: free -> TRUE */
        assert_int_equal(x.irql_after_first, DISPATCH_LEVEL); /* no IRQL change */
        assert_int_equal(x.word_after_first, 1);
        assert_false(x.second); /* 2.10: MP free kernel, same owner -> FALSE */
        assert_int_equal(x.word_after_release, 0);
        assert_false(x.after_acquire);
        assert_int_equal(x.phase_done, 2);
        assert_false(x.other_held); /* 2.10: held by another CPU -> FALSE at once */
        assert_int_equal(x.other_cpu, 1);
        assert_int_equal(x.other_irql, DISPATCH_LEVEL);
        assert_true(x.other_free);
        assert_int_equal(x.other_word_held, 1);
        assert_int_equal(x.word_at_end, 0);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* 2.15: ForDpc variants.                                               */

typedef struct fordpc_ctx {
    KSPIN_LOCK lock;
    KSPIN_LOCK qlock;
    /* from PASSIVE (kdpc's documented choice: decides by IRQL, raises) and DISPATCH */
    KIRQL ret[2], held_irql[2], released_irql[2];
    KSPIN_LOCK held_word[2], released_word[2];
    KIRQL q_old[2], q_held_irql[2], q_released_irql[2];
    ULONG_PTR q_held_word[2];
    KSPIN_LOCK q_released_word[2];
    ULONG_PTR q_handle[2];
} fordpc_ctx;

static void entry_fordpc(void *p)
{
    fordpc_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    KeInitializeSpinLock(&x->qlock);
    static const KIRQL from[2] = {PASSIVE_LEVEL, DISPATCH_LEVEL};
    for (int i = 0; i < 2; i++) {
        KIRQL entry;
        KeRaiseIrql(from[i], &entry);
        KIRQL r = KeAcquireSpinLockForDpc(&x->lock);
        x->ret[i] = r;
        x->held_irql[i] = KeGetCurrentIrql();
        x->held_word[i] = x->lock;
        KeReleaseSpinLockForDpc(&x->lock, r);
        x->released_irql[i] = KeGetCurrentIrql();
        x->released_word[i] = x->lock;

        KLOCK_QUEUE_HANDLE h;
        memset(&h, 0xEE, sizeof(h));
        KeAcquireInStackQueuedSpinLockForDpc(&x->qlock, &h);
        x->q_old[i] = h.OldIrql;
        x->q_held_irql[i] = KeGetCurrentIrql();
        x->q_held_word[i] = x->qlock;
        x->q_handle[i] = (ULONG_PTR)&h.LockQueue;
        KeReleaseInStackQueuedSpinLockForDpc(&h);
        x->q_released_irql[i] = KeGetCurrentIrql();
        x->q_released_word[i] = x->qlock;
        KeLowerIrql(entry);
    }
}

static void test_for_dpc_variants_raise_only_below_dispatch(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    fordpc_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_fordpc, &x), KDPC_OK);
    /* 2.15 at PASSIVE: returns PASSIVE, raises to DISPATCH (kdpc decides by IRQL), restores */
    assert_int_equal(x.ret[0], PASSIVE_LEVEL);
    assert_int_equal(x.held_irql[0], DISPATCH_LEVEL);
    assert_int_equal(x.released_irql[0], PASSIVE_LEVEL);
    /* 2.15 at DISPATCH: returns DISPATCH, leaves IRQL alone */
    assert_int_equal(x.ret[1], DISPATCH_LEVEL);
    assert_int_equal(x.held_irql[1], DISPATCH_LEVEL);
    assert_int_equal(x.released_irql[1], DISPATCH_LEVEL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(x.held_word[i], 1);
        assert_int_equal(x.released_word[i], 0);
        assert_int_equal(x.q_held_word[i], x.q_handle[i]); /* 2.3 */
        assert_int_equal(x.q_released_word[i], 0);
    }
    /* 2.15: same for the in-stack queued ForDpc pair */
    assert_int_equal(x.q_old[0], PASSIVE_LEVEL);
    assert_int_equal(x.q_held_irql[0], DISPATCH_LEVEL);
    assert_int_equal(x.q_released_irql[0], PASSIVE_LEVEL);
    assert_int_equal(x.q_old[1], DISPATCH_LEVEL);
    assert_int_equal(x.q_held_irql[1], DISPATCH_LEVEL);
    assert_int_equal(x.q_released_irql[1], DISPATCH_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* In-stack queued spin locks (2.3, 2.12, 2.13).                        */

typedef struct queued_ctx {
    KSPIN_LOCK lock;
    KIRQL old[3];
    KIRQL held_irql[3];
    ULONG_PTR held_word[3];
    ULONG_PTR handle_queue[3];
    ULONG_PTR held_lock_field[3];
    ULONG_PTR held_next[3];
    BOOLEAN held_test[3];
    KIRQL released_irql[3];
    ULONG_PTR released_word[3];
    ULONG_PTR released_lock_field[3];
} queued_ctx;

static void entry_queued(void *p)
{
    queued_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    for (int i = 0; i < 3; i++) {
        KIRQL entry;
        KeRaiseIrql(entry_levels[i], &entry);
        KLOCK_QUEUE_HANDLE h;
        memset(&h, 0xEE, sizeof(h)); /* garbage: the acquire must fill it */
        KeAcquireInStackQueuedSpinLock(&x->lock, &h);
        x->old[i] = h.OldIrql;
        x->held_irql[i] = KeGetCurrentIrql();
        x->held_word[i] = x->lock;
        x->handle_queue[i] = (ULONG_PTR)&h.LockQueue;
        x->held_lock_field[i] = (ULONG_PTR)h.LockQueue.Lock;
        x->held_next[i] = (ULONG_PTR)h.LockQueue.Next;
        x->held_test[i] = KeTestSpinLock(&x->lock);
        KeReleaseInStackQueuedSpinLock(&h);
        x->released_irql[i] = KeGetCurrentIrql();
        x->released_word[i] = x->lock;
        x->released_lock_field[i] = (ULONG_PTR)h.LockQueue.Lock;
        KeLowerIrql(entry);
    }
}

static void test_in_stack_queued_lock_encoding_and_irql(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    static queued_ctx x; /* static: &x.lock is compared below */
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_queued, &x), KDPC_OK);
    ULONG_PTR lock_addr = (ULONG_PTR)&x.lock;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(x.old[i], entry_levels[i]);      /* 2.12: OldIrql = entry IRQL */
        assert_int_equal(x.held_irql[i], DISPATCH_LEVEL); /* 2.12: raises to DISPATCH */
        /* 2.3: *SpinLock == &LockHandle.LockQueue, Lock == SpinLock | 2, Next NULL */
        assert_int_equal(x.held_word[i], x.handle_queue[i]);
        assert_int_equal(x.held_lock_field[i], lock_addr | QUEUE_OWNER);
        assert_int_equal(x.held_next[i], 0);
        assert_false(x.held_test[i]);
        /* 2.12: restores OldIrql; 2.3: word 0, Lock == SpinLock with the flag cleared */
        assert_int_equal(x.released_irql[i], entry_levels[i]);
        assert_int_equal(x.released_word[i], 0);
        assert_int_equal(x.released_lock_field[i], lock_addr);
    }
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

typedef struct queued_dpc_ctx {
    KSPIN_LOCK lock;
    KIRQL levels[2];
    KIRQL held_irql[2];
    ULONG_PTR held_word[2];
    ULONG_PTR handle_queue[2];
    ULONG_PTR held_lock_field[2];
    KIRQL released_irql[2];
    ULONG_PTR released_word[2];
    ULONG_PTR released_lock_field[2];
} queued_dpc_ctx;

static void entry_queued_at_dpc(void *p)
{
    queued_dpc_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    x->levels[0] = DISPATCH_LEVEL;
    x->levels[1] = SYNCH_LEVEL;
    for (int i = 0; i < 2; i++) {
        KIRQL old;
        KeRaiseIrql(x->levels[i], &old);
        KLOCK_QUEUE_HANDLE h;
        memset(&h, 0xEE, sizeof(h));
        KeAcquireInStackQueuedSpinLockAtDpcLevel(&x->lock, &h);
        x->held_irql[i] = KeGetCurrentIrql();
        x->held_word[i] = x->lock;
        x->handle_queue[i] = (ULONG_PTR)&h.LockQueue;
        x->held_lock_field[i] = (ULONG_PTR)h.LockQueue.Lock;
        KeReleaseInStackQueuedSpinLockFromDpcLevel(&h);
        x->released_irql[i] = KeGetCurrentIrql();
        x->released_word[i] = x->lock;
        x->released_lock_field[i] = (ULONG_PTR)h.LockQueue.Lock;
        KeLowerIrql(old);
    }
}

static void test_in_stack_queued_at_dpc_level_keeps_irql(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    static queued_dpc_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_queued_at_dpc, &x), KDPC_OK);
    ULONG_PTR lock_addr = (ULONG_PTR)&x.lock;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(x.held_irql[i], x.levels[i]);       /* 2.13: no IRQL change */
        assert_int_equal(x.held_word[i], x.handle_queue[i]); /* 2.3 */
        assert_int_equal(x.held_lock_field[i], lock_addr | QUEUE_OWNER);
        assert_int_equal(x.released_irql[i], x.levels[i]); /* 2.13 */
        assert_int_equal(x.released_word[i], 0);
        assert_int_equal(x.released_lock_field[i], lock_addr);
    }
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Mutual exclusion on 2 and 4 CPUs (G2; 2.2, 2.12).                    */

typedef enum excl_mode { EXCL_ORDINARY, EXCL_QUEUED, EXCL_NONE } excl_mode;

#define EXCL_ROUNDS 10

typedef struct excl_ctx {
    excl_mode mode;
    unsigned cpus;
    KSPIN_LOCK lock;
    LONG counter;
    KDPC dpcs[4];
    NTSTATUS create_status;
    LONG contexts; /* threads + DPCs that ran their rounds */
} excl_ctx;

/* One round: read, a kernel call (interleaving point), write. */
static void excl_bump(excl_ctx *x)
{
    LONG v = x->counter;
    KeStallExecutionProcessor(1);
    x->counter = v + 1;
}

static void excl_thread(PVOID p)
{
    excl_ctx *x = p;
    for (int i = 0; i < EXCL_ROUNDS; i++) {
        if (x->mode == EXCL_ORDINARY) {
            KIRQL old;
            KeAcquireSpinLock(&x->lock, &old);
            excl_bump(x);
            KeReleaseSpinLock(&x->lock, old);
        } else if (x->mode == EXCL_QUEUED) {
            KLOCK_QUEUE_HANDLE h;
            KeAcquireInStackQueuedSpinLock(&x->lock, &h);
            excl_bump(x);
            KeReleaseInStackQueuedSpinLock(&h);
        } else {
            excl_bump(x);
        }
    }
    InterlockedIncrement(&x->contexts);
}

static void excl_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    excl_ctx *x = Context;
    for (int i = 0; i < EXCL_ROUNDS; i++) {
        if (x->mode == EXCL_ORDINARY) {
            KeAcquireSpinLockAtDpcLevel(&x->lock);
            excl_bump(x);
            KeReleaseSpinLockFromDpcLevel(&x->lock);
        } else if (x->mode == EXCL_QUEUED) {
            KLOCK_QUEUE_HANDLE h;
            KeAcquireInStackQueuedSpinLockAtDpcLevel(&x->lock, &h);
            excl_bump(x);
            KeReleaseInStackQueuedSpinLockFromDpcLevel(&h);
        } else {
            excl_bump(x);
        }
    }
    InterlockedIncrement(&x->contexts);
}

static void entry_excl(void *p)
{
    excl_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    for (unsigned i = 1; i < x->cpus; i++) {
        HANDLE h;
        NTSTATUS st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, excl_thread, x);
        if (!NT_SUCCESS(st)) {
            x->create_status = st;
            return;
        }
        ZwClose(h);
    }
    for (unsigned i = 0; i < x->cpus; i++) {
        KeInitializeDpc(&x->dpcs[i], excl_dpc, x);
        KeSetTargetProcessorDpc(&x->dpcs[i], (CCHAR)i);
        KeSetImportanceDpc(&x->dpcs[i], MediumHighImportance);
    }
    /* Queue the DPCs at DISPATCH so none runs before the entry's own rounds start. */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    for (unsigned i = 0; i < x->cpus; i++)
        KeInsertQueueDpc(&x->dpcs[i], NULL, NULL);
    KeLowerIrql(old);
    excl_thread(x);
}

/*
 * Runs cpus threads + cpus DPCs of EXCL_ROUNDS rounds each; returns the
 * counter. *spins gets the number of times a CPU had to spin on the lock.
 */
static LONG run_excl(excl_mode mode, unsigned cpus, uint64_t seed, size_t *violations,
                     unsigned *spins)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.trace_capacity = 1u << 16;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    static excl_ctx x; /* static: &x.lock is matched against trace events */
    memset(&x, 0, sizeof(x));
    x.mode = mode;
    x.cpus = cpus;
    assert_int_equal(kdpc_machine_run(m, entry_excl, &x), KDPC_OK);
    assert_int_equal(x.create_status, STATUS_SUCCESS);
    assert_int_equal(x.contexts, (LONG)(2 * cpus));
    assert_true(kdpc_trace_total(m) <= cfg.trace_capacity);
    *spins = 0;
    for (size_t i = 0; i < kdpc_trace_count(m); i++) {
        const kdpc_event *e = kdpc_trace_event(m, i);
        if (e->kind == KDPC_EV_LOCK_SPIN && e->object == (uintptr_t)&x.lock)
            (*spins)++;
    }
    *violations = kdpc_machine_violation_count(m);
    kdpc_machine_destroy(m);
    return x.counter;
}

static void test_spin_lock_gives_mutual_exclusion_on_2_and_4_cpus(void **state)
{
    (void)state;
    static const unsigned cpus[2] = {2, 4};
    for (int c = 0; c < 2; c++) {
        unsigned contended = 0;
        for (uint64_t seed = 1; seed <= 5; seed++) {
            size_t violations;
            unsigned spins;
            LONG total = run_excl(EXCL_ORDINARY, cpus[c], seed, &violations, &spins);
            assert_int_equal(total, (LONG)(2 * cpus[c] * EXCL_ROUNDS));
            assert_int_equal(violations, 0);
            contended += spins;
        }
        /* the lock was really contended: CPUs waited for it */
        assert_true(contended > 0);
    }
}

static void test_queued_spin_lock_gives_mutual_exclusion_on_2_and_4_cpus(void **state)
{
    (void)state;
    static const unsigned cpus[2] = {2, 4};
    for (int c = 0; c < 2; c++) {
        unsigned contended = 0;
        for (uint64_t seed = 1; seed <= 5; seed++) {
            size_t violations;
            unsigned spins;
            LONG total = run_excl(EXCL_QUEUED, cpus[c], seed, &violations, &spins);
            assert_int_equal(total, (LONG)(2 * cpus[c] * EXCL_ROUNDS));
            assert_int_equal(violations, 0);
            contended += spins;
        }
        /* the lock was really contended: CPUs waited for it */
        assert_true(contended > 0);
    }
}

static void test_without_lock_the_same_rounds_lose_updates(void **state)
{
    (void)state;
    /* Shows that the interleaving above is real: unguarded, some seed loses updates. */
    static const unsigned cpus[2] = {2, 4};
    for (int c = 0; c < 2; c++) {
        int lossy = 0;
        for (uint64_t seed = 1; seed <= 5; seed++) {
            size_t violations;
            unsigned spins;
            LONG total = run_excl(EXCL_NONE, cpus[c], seed, &violations, &spins);
            assert_true(total <= (LONG)(2 * cpus[c] * EXCL_ROUNDS));
            if (total < (LONG)(2 * cpus[c] * EXCL_ROUNDS))
                lossy++;
        }
        assert_true(lossy >= 1);
    }
}

/* ------------------------------------------------------------------ */
/* 2.16: a CPU spinning on a lock still takes device interrupts.        */

#define SPIN_ISR_LINE  9
#define SPIN_ISR_DIRQL 6

typedef struct spin_isr_ctx {
    KSPIN_LOCK lock;
    PKINTERRUPT interrupt;
    NTSTATUS connect_status, create_status;
    volatile LONG lock_held;
    volatile LONG trying;
    volatile LONG acquired;
    volatile LONG isr_count;
    ULONG isr_cpu;
    KIRQL isr_irql;
    LONG isr_saw_acquired;
    BOOLEAN isr_saw_lock_free;
    LONG acquired_when_isr_seen; /* by the holder, after the ISR ran */
    ULONG worker_cpu;
    KIRQL worker_irql_held;
} spin_isr_ctx;

static BOOLEAN spin_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    spin_isr_ctx *x = Context;
    x->isr_cpu = KeGetCurrentProcessorNumber();
    x->isr_irql = KeGetCurrentIrql();
    x->isr_saw_acquired = x->acquired;
    x->isr_saw_lock_free = KeTestSpinLock(&x->lock);
    x->isr_count++;
    return TRUE;
}

static void spin_worker(PVOID p)
{
    spin_isr_ctx *x = p;
    KeSetSystemAffinityThreadEx(2);
    wait_at_least(&x->lock_held, 1);
    x->worker_cpu = KeGetCurrentProcessorNumber();
    KIRQL old;
    x->trying = 1; /* no kernel call until the acquire spins */
    KeAcquireSpinLock(&x->lock, &old);
    x->acquired = 1;
    x->worker_irql_held = KeGetCurrentIrql();
    KeReleaseSpinLock(&x->lock, old);
}

static void entry_spin_isr(void *p)
{
    spin_isr_ctx *x = p;
    kdpc_machine *m = kdpc_current_machine();
    KeSetSystemAffinityThreadEx(1);
    KeInitializeSpinLock(&x->lock);
    /* Only CPU 1 (the spinner's) may take the interrupt. */
    x->connect_status =
        IoConnectInterrupt(&x->interrupt, spin_isr, x, NULL, SPIN_ISR_LINE, SPIN_ISR_DIRQL,
                           SPIN_ISR_DIRQL, Latched, FALSE, 0x2, FALSE);
    if (!NT_SUCCESS(x->connect_status))
        return;
    HANDLE h;
    x->create_status =
        PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, spin_worker, x);
    if (!NT_SUCCESS(x->create_status))
        return;
    ZwClose(h);
    KIRQL old;
    KeAcquireSpinLock(&x->lock, &old);
    x->lock_held = 1;
    wait_at_least(&x->trying, 1);
    KeStallExecutionProcessor(1);
    kdpc_line_assert(m, SPIN_ISR_LINE);
    wait_at_least(&x->isr_count, 1);
    x->acquired_when_isr_seen = x->acquired;
    KeReleaseSpinLock(&x->lock, old);
    wait_at_least(&x->acquired, 1);
    IoDisconnectInterrupt(x->interrupt);
}

static void test_cpu_spinning_on_lock_still_takes_device_interrupt(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_machine *m = kt_machine(2, seed);
        spin_isr_ctx x;
        memset(&x, 0, sizeof(x));
        assert_int_equal(kdpc_machine_run(m, entry_spin_isr, &x), KDPC_OK);
        assert_int_equal(x.connect_status, STATUS_SUCCESS);
        assert_int_equal(x.create_status, STATUS_SUCCESS);
        assert_int_equal(x.worker_cpu, 1);
        /* 2.16: the ISR ran on the spinning CPU while it was still waiting for the lock */
        assert_int_equal(x.isr_count, 1);
        assert_int_equal(x.isr_cpu, 1);
        assert_int_equal(x.isr_irql, SPIN_ISR_DIRQL);
        assert_int_equal(x.isr_saw_acquired, 0);
        assert_false(x.isr_saw_lock_free);
        assert_int_equal(x.acquired_when_isr_seen, 0);
        /* and the spinner got the lock after the release */
        assert_int_equal(x.acquired, 1);
        assert_int_equal(x.worker_irql_held, DISPATCH_LEVEL);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* 2.12: queued locks are granted in FIFO order of arrival.             */

#define FIFO_CPUS    4
#define FIFO_WAITERS (FIFO_CPUS - 1)

typedef struct fifo_ctx {
    KSPIN_LOCK lock;
    NTSTATUS create_status;
    volatile LONG holder_has_lock;
    volatile LONG narrived;
    ULONG arrival[FIFO_WAITERS];
    LONG ngranted;
    ULONG grant[FIFO_WAITERS];
    volatile LONG slots;
    volatile LONG done;
} fifo_ctx;

static void fifo_waiter(PVOID p)
{
    fifo_ctx *x = p;
    /* The thread's CPU: thread i of the creation loop does not know i, so claim a slot. */
    static const KAFFINITY masks[FIFO_WAITERS] = {0x2, 0x4, 0x8};
    LONG slot = InterlockedIncrement(&x->slots) - 1;
    KeSetSystemAffinityThreadEx(masks[slot]);
    wait_at_least(&x->holder_has_lock, 1);
    ULONG cpu = KeGetCurrentProcessorNumber();
    KLOCK_QUEUE_HANDLE h;
    /* No kernel call between recording the arrival and joining the queue. */
    x->arrival[x->narrived++] = cpu;
    KeAcquireInStackQueuedSpinLock(&x->lock, &h);
    x->grant[x->ngranted++] = KeGetCurrentProcessorNumber();
    KeStallExecutionProcessor(1);
    KeReleaseInStackQueuedSpinLock(&h);
    InterlockedIncrement(&x->done);
}

static void entry_fifo(void *p)
{
    fifo_ctx *x = p;
    KeSetSystemAffinityThreadEx(1);
    KeInitializeSpinLock(&x->lock);
    for (int i = 0; i < FIFO_WAITERS; i++) {
        HANDLE h;
        x->create_status =
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, fifo_waiter, x);
        if (!NT_SUCCESS(x->create_status))
            return;
        ZwClose(h);
    }
    KLOCK_QUEUE_HANDLE h;
    KeAcquireInStackQueuedSpinLock(&x->lock, &h);
    x->holder_has_lock = 1;
    wait_at_least(&x->narrived, FIFO_WAITERS);
    KeStallExecutionProcessor(2);
    KeReleaseInStackQueuedSpinLock(&h);
    wait_at_least(&x->done, FIFO_WAITERS);
}

static void test_queued_lock_granted_in_fifo_order_of_arrival(void **state)
{
    (void)state;
    unsigned distinct_orders = 0;
    ULONG seen[8][FIFO_WAITERS];
    for (uint64_t seed = 1; seed <= 8; seed++) {
        kdpc_config cfg = kt_config(FIFO_CPUS, seed);
        cfg.trace_capacity = 1u << 16;
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        static fifo_ctx x; /* static: &x.lock is matched against trace events */
        memset(&x, 0, sizeof(x));
        assert_int_equal(kdpc_machine_run(m, entry_fifo, &x), KDPC_OK);
        assert_int_equal(x.create_status, STATUS_SUCCESS);
        assert_int_equal(x.narrived, FIFO_WAITERS);
        assert_int_equal(x.ngranted, FIFO_WAITERS);
        assert_int_equal(x.done, FIFO_WAITERS);
        /* 2.12: grant order == arrival order */
        for (int i = 0; i < FIFO_WAITERS; i++)
            assert_int_equal(x.grant[i], x.arrival[i]);

        /* The trace agrees: spins on the lock in arrival order, acquires CPU 0 then FIFO. */
        assert_true(kdpc_trace_total(m) <= cfg.trace_capacity); /* nothing dropped */
        ULONG spins[FIFO_WAITERS + 1], acquires[FIFO_WAITERS + 2];
        unsigned nspin = 0, nacq = 0;
        for (size_t i = 0; i < kdpc_trace_count(m); i++) {
            const kdpc_event *e = kdpc_trace_event(m, i);
            if (e->object != (uintptr_t)&x.lock)
                continue;
            if (e->kind == KDPC_EV_LOCK_SPIN && nspin < FIFO_WAITERS + 1)
                spins[nspin++] = e->cpu;
            if (e->kind == KDPC_EV_LOCK_ACQUIRE && nacq < FIFO_WAITERS + 2)
                acquires[nacq++] = e->cpu;
        }
        assert_int_equal(nspin, FIFO_WAITERS);
        assert_int_equal(nacq, FIFO_WAITERS + 1);
        assert_int_equal(acquires[0], 0);
        for (int i = 0; i < FIFO_WAITERS; i++) {
            assert_int_equal(spins[i], x.arrival[i]);
            assert_int_equal(acquires[i + 1], x.arrival[i]);
        }

        bool is_new = true;
        for (unsigned k = 0; k < distinct_orders; k++) {
            if (memcmp(seen[k], x.arrival, sizeof(x.arrival)) == 0)
                is_new = false;
        }
        if (is_new)
            memcpy(seen[distinct_orders++], x.arrival, sizeof(x.arrival));
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
    /* The seeds produce different arrival orders, so FIFO is not CPU-index order by chance. */
    assert_true(distinct_orders >= 2);
}

/* ------------------------------------------------------------------ */
/* spinlock.held_too_long (6.3, 2.20: hold <= 25 us).                   */

typedef struct hold_ctx {
    KSPIN_LOCK lock;
    KSPIN_LOCK qlock;
    ULONG stall_us;
    bool queued;
} hold_ctx;

static void entry_hold(void *p)
{
    hold_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    KeInitializeSpinLock(&x->qlock);
    if (x->queued) {
        KLOCK_QUEUE_HANDLE h;
        KeAcquireInStackQueuedSpinLock(&x->qlock, &h);
        KeStallExecutionProcessor(x->stall_us);
        KeReleaseInStackQueuedSpinLock(&h);
    } else {
        KIRQL old;
        KeAcquireSpinLock(&x->lock, &old);
        KeStallExecutionProcessor(x->stall_us);
        KeReleaseSpinLock(&x->lock, old);
    }
}

static void test_lock_held_30us_warns_held_too_long(void **state)
{
    (void)state;
    for (int q = 0; q < 2; q++) {
        kdpc_machine *m = kt_machine(1, 1);
        static hold_ctx x;
        memset(&x, 0, sizeof(x));
        x.stall_us = 30;
        x.queued = q != 0;
        assert_int_equal(kdpc_machine_run(m, entry_hold, &x), KDPC_OK);
        KT_ASSERT_WARNING(m, "spinlock.held_too_long"); /* 6.3 */
        const kdpc_violation *w = kdpc_machine_find_violation(m, "spinlock.held_too_long");
        assert_int_equal(w->params[0], q ? (uintptr_t)&x.qlock : (uintptr_t)&x.lock);
        assert_true(w->params[1] > 25000); /* held time in ns */
        assert_true(w->params[1] >= 30000);
        assert_null(kdpc_machine_bugcheck(m));
        assert_int_equal(kdpc_machine_violation_count(m), 1);
        kdpc_machine_destroy(m);
    }
}

static void test_lock_held_10us_does_not_warn(void **state)
{
    (void)state;
    for (int q = 0; q < 2; q++) {
        kdpc_machine *m = kt_machine(1, 1);
        hold_ctx x;
        memset(&x, 0, sizeof(x));
        x.stall_us = 10;
        x.queued = q != 0;
        assert_int_equal(kdpc_machine_run(m, entry_hold, &x), KDPC_OK);
        KT_ASSERT_NO_VIOLATION(m, "spinlock.held_too_long");
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize_stores_zero),
        cmocka_unit_test(test_acquire_returns_at_dispatch_with_entry_irql_and_release_restores),
        cmocka_unit_test(test_release_to_passive_runs_dpc_queued_under_lock),
        cmocka_unit_test(test_at_dpc_level_variants_keep_irql),
        cmocka_unit_test(test_test_spin_lock_true_only_for_zero_word),
        cmocka_unit_test(test_try_to_acquire_true_when_free_false_when_held_by_any_cpu),
        cmocka_unit_test(test_for_dpc_variants_raise_only_below_dispatch),
        cmocka_unit_test(test_in_stack_queued_lock_encoding_and_irql),
        cmocka_unit_test(test_in_stack_queued_at_dpc_level_keeps_irql),
        cmocka_unit_test(test_spin_lock_gives_mutual_exclusion_on_2_and_4_cpus),
        cmocka_unit_test(test_queued_spin_lock_gives_mutual_exclusion_on_2_and_4_cpus),
        cmocka_unit_test(test_without_lock_the_same_rounds_lose_updates),
        cmocka_unit_test(test_cpu_spinning_on_lock_still_takes_device_interrupt),
        cmocka_unit_test(test_queued_lock_granted_in_fifo_order_of_arrival),
        cmocka_unit_test(test_lock_held_30us_warns_held_too_long),
        cmocka_unit_test(test_lock_held_10us_does_not_warn),
    };
    return cmocka_run_group_tests_name("spinlock", tests, NULL, NULL);
}
