/* SPDX-License-Identifier: MIT */
/*
 * test_irql.c - documented behaviour of the IRQL routines, processor
 * queries and virtual time (docs/facts/dpc-irql.md section 1).
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

/* Poll with a kernel call (an interleaving point) until *flag is non-zero. */
static void wait_flag(volatile LONG *flag)
{
    for (int i = 0; i < SPIN_LIMIT && *flag == 0; i++)
        KeStallExecutionProcessor(1);
}

static kdpc_machine *machine_with(kdpc_config *cfg)
{
    kdpc_machine *m = kdpc_machine_create(cfg);
    assert_non_null(m);
    return m;
}

/* ------------------------------------------------------------------ */
/* 1.1: named levels (x64).                                            */

static void test_named_levels_have_x64_values(void **state)
{
    (void)state;
    /* 1.1 */
    assert_int_equal(PASSIVE_LEVEL, 0);
    assert_int_equal(LOW_LEVEL, 0);
    assert_int_equal(APC_LEVEL, 1);
    assert_int_equal(DISPATCH_LEVEL, 2);
    assert_int_equal(CMCI_LEVEL, 5);
    assert_int_equal(SYNCH_LEVEL, 12);
    assert_int_equal(CLOCK_LEVEL, 13);
    assert_int_equal(IPI_LEVEL, 14);
    assert_int_equal(POWER_LEVEL, 14);
    assert_int_equal(PROFILE_LEVEL, 15);
    assert_int_equal(HIGH_LEVEL, 15);
    assert_int_equal(SYNCH_LEVEL, IPI_LEVEL - 2);
}

/* ------------------------------------------------------------------ */
/* Entry IRQL and CPU (1.6: driver threads run at PASSIVE_LEVEL).      */

typedef struct entry_ctx {
    KIRQL irql;
    ULONG cpu;
} entry_ctx;

static void entry_observe(void *p)
{
    entry_ctx *x = p;
    x->irql = KeGetCurrentIrql();
    x->cpu = KeGetCurrentProcessorNumber();
}

static void test_entry_runs_at_passive_level_on_cpu0(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 1);
    entry_ctx x = {0xEE, 0xEE};
    assert_int_equal(kdpc_machine_run(m, entry_observe, &x), KDPC_OK);
    assert_int_equal(x.irql, PASSIVE_LEVEL); /* 1.6 */
    assert_int_equal(x.cpu, 0);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* KeRaiseIrql / KeLowerIrql (1.7, 1.8).                               */

typedef struct raise_ctx {
    KIRQL old[HIGH_LEVEL + 1];
    KIRQL raised[HIGH_LEVEL + 1];
    KIRQL lowered[HIGH_LEVEL + 1];
} raise_ctx;

static void entry_raise_each_level(void *p)
{
    raise_ctx *x = p;
    for (unsigned n = 0; n <= HIGH_LEVEL; n++) {
        KIRQL old = 0xEE;
        KeRaiseIrql((KIRQL)n, &old);
        x->old[n] = old;
        x->raised[n] = KeGetCurrentIrql();
        KeLowerIrql(old);
        x->lowered[n] = KeGetCurrentIrql();
    }
}

static void test_raise_irql_stores_old_and_sets_new(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    raise_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_raise_each_level, &x), KDPC_OK);
    for (unsigned n = 0; n <= HIGH_LEVEL; n++) {
        assert_int_equal(x.old[n], PASSIVE_LEVEL);     /* 1.7: OldIrql = IRQL on entry */
        assert_int_equal(x.raised[n], n);              /* 1.7: current IRQL = NewIrql */
        assert_int_equal(x.lowered[n], PASSIVE_LEVEL); /* 1.8 */
    }
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

typedef struct noop_ctx {
    KIRQL old_passive, cur_passive;
    KIRQL old_dispatch, cur_dispatch;
    KIRQL old_high, cur_high;
    KIRQL after_lower_same;
    KIRQL final;
} noop_ctx;

static void entry_raise_to_current(void *p)
{
    noop_ctx *x = p;
    KIRQL old = 0xEE;
    KeRaiseIrql(PASSIVE_LEVEL, &old);
    x->old_passive = old;
    x->cur_passive = KeGetCurrentIrql();

    KIRQL entry;
    KeRaiseIrql(DISPATCH_LEVEL, &entry);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    x->old_dispatch = old;
    x->cur_dispatch = KeGetCurrentIrql();
    KeLowerIrql(old); /* 1.8: lowering to the current level is a no-op */
    x->after_lower_same = KeGetCurrentIrql();

    KIRQL at_dispatch;
    KeRaiseIrql(HIGH_LEVEL, &at_dispatch);
    KeRaiseIrql(HIGH_LEVEL, &old);
    x->old_high = old;
    x->cur_high = KeGetCurrentIrql();
    KeLowerIrql(old);
    KeLowerIrql(at_dispatch);
    KeLowerIrql(entry);
    x->final = KeGetCurrentIrql();
}

static void test_raise_to_current_irql_is_noop(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    noop_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_raise_to_current, &x), KDPC_OK);
    /* 1.7: raising to the current level is valid and returns the current level */
    assert_int_equal(x.old_passive, PASSIVE_LEVEL);
    assert_int_equal(x.cur_passive, PASSIVE_LEVEL);
    assert_int_equal(x.old_dispatch, DISPATCH_LEVEL);
    assert_int_equal(x.cur_dispatch, DISPATCH_LEVEL);
    assert_int_equal(x.after_lower_same, DISPATCH_LEVEL); /* 1.8 */
    assert_int_equal(x.old_high, HIGH_LEVEL);
    assert_int_equal(x.cur_high, HIGH_LEVEL);
    assert_int_equal(x.final, PASSIVE_LEVEL);
    KT_ASSERT_NO_VIOLATION(m, "irql.raise_lower");
    KT_ASSERT_NO_VIOLATION(m, "irql.lower_raise");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* Nested raises PASSIVE -> APC -> DISPATCH -> 5 -> SYNCH -> HIGH, unwound in reverse. */
static const KIRQL nest_levels[] = {APC_LEVEL, DISPATCH_LEVEL, 5, SYNCH_LEVEL, HIGH_LEVEL};
#define NEST_N (sizeof(nest_levels) / sizeof(nest_levels[0]))

typedef struct nest_ctx {
    KIRQL saved[NEST_N];
    KIRQL up[NEST_N];
    KIRQL down[NEST_N];
} nest_ctx;

static void entry_nested_raise_lower(void *p)
{
    nest_ctx *x = p;
    for (size_t i = 0; i < NEST_N; i++) {
        KeRaiseIrql(nest_levels[i], &x->saved[i]);
        x->up[i] = KeGetCurrentIrql();
    }
    for (size_t i = NEST_N; i-- > 0;) {
        KeLowerIrql(x->saved[i]);
        x->down[i] = KeGetCurrentIrql();
    }
}

static void test_lower_irql_restores_saved_irql(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 3);
    nest_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_nested_raise_lower, &x), KDPC_OK);
    for (size_t i = 0; i < NEST_N; i++) {
        KIRQL before = i == 0 ? PASSIVE_LEVEL : nest_levels[i - 1];
        assert_int_equal(x.saved[i], before);      /* 1.7 */
        assert_int_equal(x.up[i], nest_levels[i]); /* 1.7 */
        assert_int_equal(x.down[i], before);       /* 1.8: restores the saved IRQL */
    }
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* KeRaiseIrqlToDpcLevel / KeRaiseIrqlToSynchLevel (1.15), Kz (1.16).  */

typedef struct shortcut_ctx {
    KIRQL dpc_ret[3], dpc_cur[3];     /* from PASSIVE, APC, DISPATCH */
    KIRQL synch_ret[3], synch_cur[3]; /* from PASSIVE, DISPATCH, SYNCH */
    KIRQL after[6];
} shortcut_ctx;

static void entry_shortcuts(void *p)
{
    shortcut_ctx *x = p;
    static const KIRQL dpc_from[3] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL};
    static const KIRQL synch_from[3] = {PASSIVE_LEVEL, DISPATCH_LEVEL, SYNCH_LEVEL};
    for (int i = 0; i < 3; i++) {
        KIRQL entry;
        KeRaiseIrql(dpc_from[i], &entry);
        KIRQL r = KeRaiseIrqlToDpcLevel();
        x->dpc_ret[i] = r;
        x->dpc_cur[i] = KeGetCurrentIrql();
        KeLowerIrql(r);
        KeLowerIrql(entry);
        x->after[i] = KeGetCurrentIrql();
    }
    for (int i = 0; i < 3; i++) {
        KIRQL entry;
        KeRaiseIrql(synch_from[i], &entry);
        KIRQL r = KeRaiseIrqlToSynchLevel();
        x->synch_ret[i] = r;
        x->synch_cur[i] = KeGetCurrentIrql();
        KeLowerIrql(r);
        KeLowerIrql(entry);
        x->after[3 + i] = KeGetCurrentIrql();
    }
}

static void test_raise_to_dpc_and_synch_level_return_entry_irql(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    shortcut_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_shortcuts, &x), KDPC_OK);
    /* 1.15: returns the entry IRQL and sets DISPATCH; at DISPATCH it returns DISPATCH */
    assert_int_equal(x.dpc_ret[0], PASSIVE_LEVEL);
    assert_int_equal(x.dpc_ret[1], APC_LEVEL);
    assert_int_equal(x.dpc_ret[2], DISPATCH_LEVEL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(x.dpc_cur[i], DISPATCH_LEVEL);
    /* 1.15, 1.1: KeRaiseIrqlToSynchLevel returns the entry IRQL and sets 12 */
    assert_int_equal(x.synch_ret[0], PASSIVE_LEVEL);
    assert_int_equal(x.synch_ret[1], DISPATCH_LEVEL);
    assert_int_equal(x.synch_ret[2], SYNCH_LEVEL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(x.synch_cur[i], 12);
    for (int i = 0; i < 6; i++)
        assert_int_equal(x.after[i], PASSIVE_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

typedef struct kz_ctx {
    KIRQL r1, c1, r2, c2, c3, c4;
} kz_ctx;

static void entry_kz(void *p)
{
    kz_ctx *x = p;
    x->r1 = KzRaiseIrql(DISPATCH_LEVEL);
    x->c1 = KeGetCurrentIrql();
    x->r2 = KzRaiseIrql(HIGH_LEVEL);
    x->c2 = KeGetCurrentIrql();
    KzLowerIrql(x->r2);
    x->c3 = KeGetCurrentIrql();
    KzLowerIrql(x->r1);
    x->c4 = KeGetCurrentIrql();
}

static void test_kz_raise_returns_old_and_kz_lower_restores(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    kz_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_kz, &x), KDPC_OK);
    /* 1.16: same semantics as KeRaiseIrql / KeLowerIrql, old IRQL returned */
    assert_int_equal(x.r1, PASSIVE_LEVEL);
    assert_int_equal(x.c1, DISPATCH_LEVEL);
    assert_int_equal(x.r2, DISPATCH_LEVEL);
    assert_int_equal(x.c2, HIGH_LEVEL);
    assert_int_equal(x.c3, DISPATCH_LEVEL);
    assert_int_equal(x.c4, PASSIVE_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 1.5: IRQL is per processor.                                         */

typedef struct percpu_dpc_ctx {
    KDPC dpc;
    volatile LONG raised; /* CPU 0 is at HIGH_LEVEL */
    volatile LONG dpc_ran;
    KIRQL dpc_irql;
    ULONG dpc_cpu;
    LONG dpc_saw_raised;
    KIRQL entry_irql_after;
    KIRQL entry_final;
} percpu_dpc_ctx;

static void percpu_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    percpu_dpc_ctx *x = Context;
    x->dpc_irql = KeGetCurrentIrql();
    x->dpc_cpu = KeGetCurrentProcessorNumber();
    x->dpc_saw_raised = x->raised;
    x->dpc_ran = 1;
}

static void entry_percpu_dpc(void *p)
{
    percpu_dpc_ctx *x = p;
    KeInitializeDpc(&x->dpc, percpu_dpc, x);
    KeSetTargetProcessorDpc(&x->dpc, 1);
    KeSetImportanceDpc(&x->dpc, MediumHighImportance);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    x->raised = 1;
    KeInsertQueueDpc(&x->dpc, NULL, NULL);
    wait_flag(&x->dpc_ran);
    x->entry_irql_after = KeGetCurrentIrql();
    x->raised = 0;
    KeLowerIrql(old);
    x->entry_final = KeGetCurrentIrql();
}

static void test_irql_is_per_cpu_dpc_on_other_cpu_runs_at_dispatch(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_machine *m = kt_machine(2, seed);
        percpu_dpc_ctx x;
        memset(&x, 0, sizeof(x));
        x.dpc_irql = 0xEE;
        assert_int_equal(kdpc_machine_run(m, entry_percpu_dpc, &x), KDPC_OK);
        /* 1.5: CPU 0 at HIGH_LEVEL does not mask DISPATCH on CPU 1 */
        assert_int_equal(x.dpc_ran, 1);
        assert_int_equal(x.dpc_saw_raised, 1);
        assert_int_equal(x.dpc_cpu, 1);
        assert_int_equal(x.dpc_irql, DISPATCH_LEVEL);
        assert_int_equal(x.entry_irql_after, HIGH_LEVEL);
        assert_int_equal(x.entry_final, PASSIVE_LEVEL);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

typedef struct percpu_thread_ctx {
    volatile LONG raised;
    volatile LONG worker_done;
    KIRQL worker_irql;
    ULONG worker_cpu;
    ULONG entry_cpu;
    KIRQL entry_irql_after;
    NTSTATUS create_status;
} percpu_thread_ctx;

static void percpu_worker(PVOID p)
{
    percpu_thread_ctx *x = p;
    KeSetSystemAffinityThreadEx(2);
    wait_flag(&x->raised);
    x->worker_irql = KeGetCurrentIrql();
    x->worker_cpu = KeGetCurrentProcessorNumber();
    x->worker_done = 1;
}

static void entry_percpu_thread(void *p)
{
    percpu_thread_ctx *x = p;
    KeSetSystemAffinityThreadEx(1);
    HANDLE h = NULL;
    x->create_status =
        PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, percpu_worker, x);
    if (!NT_SUCCESS(x->create_status))
        return;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    x->entry_cpu = KeGetCurrentProcessorNumber();
    x->raised = 1;
    wait_flag(&x->worker_done);
    x->entry_irql_after = KeGetCurrentIrql();
    KeLowerIrql(old);
    ZwClose(h);
}

static void test_irql_is_per_cpu_thread_on_other_cpu_stays_passive(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_machine *m = kt_machine(2, seed);
        percpu_thread_ctx x;
        memset(&x, 0, sizeof(x));
        x.worker_irql = 0xEE;
        assert_int_equal(kdpc_machine_run(m, entry_percpu_thread, &x), KDPC_OK);
        assert_int_equal(x.create_status, STATUS_SUCCESS);
        /* 1.5: CPU 0 at HIGH_LEVEL; the thread on CPU 1 is still at PASSIVE_LEVEL */
        assert_int_equal(x.worker_done, 1);
        assert_int_equal(x.entry_cpu, 0);
        assert_int_equal(x.worker_cpu, 1);
        assert_int_equal(x.worker_irql, PASSIVE_LEVEL);
        assert_int_equal(x.entry_irql_after, HIGH_LEVEL);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* 1.5: raising to N masks device interrupts of IRQL <= N on that processor only. */

#define MASK_LINE_CPU0 3
#define MASK_LINE_ANY  4
#define MASK_DIRQL     5

typedef struct mask_ctx {
    PKINTERRUPT int0, int_any;
    NTSTATUS st0, st_any;
    volatile LONG isr0_count;
    volatile LONG isr_any_count;
    KIRQL isr0_irql;
    ULONG isr0_cpu;
    ULONG isr_any_cpu;
    KIRQL isr_any_irql;
    LONG isr0_while_masked; /* ISR calls seen while CPU 0 sat at DIRQL */
    BOOLEAN pending_while_masked;
    volatile LONG at_high;
    LONG isr_any_saw_high;
    KIRQL entry_irql_after_any;
} mask_ctx;

static BOOLEAN mask_isr0(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    mask_ctx *x = Context;
    x->isr0_irql = KeGetCurrentIrql();
    x->isr0_cpu = KeGetCurrentProcessorNumber();
    x->isr0_count++;
    return TRUE;
}

static BOOLEAN mask_isr_any(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    mask_ctx *x = Context;
    x->isr_any_irql = KeGetCurrentIrql();
    x->isr_any_cpu = KeGetCurrentProcessorNumber();
    x->isr_any_saw_high = x->at_high;
    x->isr_any_count++;
    return TRUE;
}

static void entry_mask(void *p)
{
    mask_ctx *x = p;
    kdpc_machine *m = kdpc_current_machine();
    KeSetSystemAffinityThreadEx(1);
    x->st0 = IoConnectInterrupt(&x->int0, mask_isr0, x, NULL, MASK_LINE_CPU0, MASK_DIRQL,
                                MASK_DIRQL, Latched, FALSE, 0x1, FALSE);
    x->st_any = IoConnectInterrupt(&x->int_any, mask_isr_any, x, NULL, MASK_LINE_ANY, MASK_DIRQL,
                                   MASK_DIRQL, Latched, FALSE, 0x3, FALSE);
    if (!NT_SUCCESS(x->st0) || !NT_SUCCESS(x->st_any))
        return;

    /* Part 1: line only CPU 0 may take; CPU 0 raised to the line's DIRQL. */
    KIRQL old;
    KeRaiseIrql(MASK_DIRQL, &old);
    kdpc_line_assert(m, MASK_LINE_CPU0);
    for (int i = 0; i < 50; i++)
        KeStallExecutionProcessor(1);
    x->isr0_while_masked = x->isr0_count;
    x->pending_while_masked = kdpc_line_pending(m, MASK_LINE_CPU0);
    KeLowerIrql(old);
    wait_flag(&x->isr0_count);

    /* Part 2: line either CPU may take; CPU 0 at HIGH_LEVEL, so CPU 1 takes it. */
    KeRaiseIrql(HIGH_LEVEL, &old);
    x->at_high = 1;
    kdpc_line_assert(m, MASK_LINE_ANY);
    wait_flag(&x->isr_any_count);
    x->entry_irql_after_any = KeGetCurrentIrql();
    x->at_high = 0;
    KeLowerIrql(old);

    IoDisconnectInterrupt(x->int0);
    IoDisconnectInterrupt(x->int_any);
}

static void test_raised_irql_masks_device_interrupts_on_that_cpu_only(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_machine *m = kt_machine(2, seed);
        mask_ctx x;
        memset(&x, 0, sizeof(x));
        assert_int_equal(kdpc_machine_run(m, entry_mask, &x), KDPC_OK);
        assert_int_equal(x.st0, STATUS_SUCCESS);
        assert_int_equal(x.st_any, STATUS_SUCCESS);
        /* 1.5: at DIRQL the CPU does not take an interrupt of that DIRQL ... */
        assert_int_equal(x.isr0_while_masked, 0);
        assert_true(x.pending_while_masked);
        /* ... and takes it once the IRQL drops below it (3.3: ISR at SynchronizeIrql) */
        assert_int_equal(x.isr0_count, 1);
        assert_int_equal(x.isr0_cpu, 0);
        assert_int_equal(x.isr0_irql, MASK_DIRQL);
        /* 1.5: CPU 0 at HIGH_LEVEL does not mask the interrupt on CPU 1 */
        assert_int_equal(x.isr_any_count, 1);
        assert_int_equal(x.isr_any_cpu, 1);
        assert_int_equal(x.isr_any_irql, MASK_DIRQL);
        assert_int_equal(x.isr_any_saw_high, 1);
        assert_int_equal(x.entry_irql_after_any, HIGH_LEVEL);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* 1.9, 4.15: a DPC queued while raised runs during the lowering KeLowerIrql. */

typedef struct drain_ctx {
    KDPC dpc;
    volatile LONG ran;
    KIRQL dpc_irql;
    LONG ran_after_insert_at_dispatch;
    LONG ran_after_high_and_back;
    LONG ran_after_lower;
    KIRQL irql_after_lower;
    /* 4.15 contrast: inserted at PASSIVE, it has run when KeInsertQueueDpc returns */
    KDPC dpc2;
    volatile LONG ran2;
    LONG ran2_after_insert;
    BOOLEAN inserted, inserted2;
} drain_ctx;

static void drain_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    drain_ctx *x = Context;
    x->dpc_irql = KeGetCurrentIrql();
    x->ran++;
}

static void drain_dpc2(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    drain_ctx *x = Context;
    x->ran2++;
}

static void entry_drain(void *p)
{
    drain_ctx *x = p;
    KeInitializeDpc(&x->dpc, drain_dpc, x);
    KeInitializeDpc(&x->dpc2, drain_dpc2, x);

    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    x->inserted = KeInsertQueueDpc(&x->dpc, NULL, NULL);
    KeStallExecutionProcessor(1);
    x->ran_after_insert_at_dispatch = x->ran;
    KIRQL at_dispatch;
    KeRaiseIrql(HIGH_LEVEL, &at_dispatch);
    KeStallExecutionProcessor(1);
    KeLowerIrql(at_dispatch);
    KeStallExecutionProcessor(1);
    x->ran_after_high_and_back = x->ran;
    KeLowerIrql(old);
    x->ran_after_lower = x->ran;
    x->irql_after_lower = KeGetCurrentIrql();

    x->inserted2 = KeInsertQueueDpc(&x->dpc2, NULL, NULL);
    x->ran2_after_insert = x->ran2;
}

static void test_dpc_queued_while_raised_runs_when_lowered_below_dispatch(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        kdpc_machine *m = kt_machine(1, seed);
        drain_ctx x;
        memset(&x, 0, sizeof(x));
        assert_int_equal(kdpc_machine_run(m, entry_drain, &x), KDPC_OK);
        assert_true(x.inserted);
        /* 4.15: not while IRQL >= DISPATCH, not by HIGH and back to DISPATCH */
        assert_int_equal(x.ran_after_insert_at_dispatch, 0);
        assert_int_equal(x.ran_after_high_and_back, 0);
        /* 1.9: it has run before the KeLowerIrql below DISPATCH returned, once, at DISPATCH */
        assert_int_equal(x.ran_after_lower, 1);
        assert_int_equal(x.irql_after_lower, PASSIVE_LEVEL);
        assert_int_equal(x.dpc_irql, DISPATCH_LEVEL);
        assert_int_equal(x.ran, 1);
        /* 4.15: inserted at PASSIVE, it has already run when KeInsertQueueDpc returns */
        assert_true(x.inserted2);
        assert_int_equal(x.ran2_after_insert, 1);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* 1.11: free-kernel behaviour with the rules switched to warnings.    */

typedef struct warn_ctx {
    KIRQL old;
    KIRQL cur;
    KIRQL final;
} warn_ctx;

static void entry_raise_to_lower(void *p)
{
    warn_ctx *x = p;
    KIRQL entry;
    KeRaiseIrql(HIGH_LEVEL, &entry);
    KeRaiseIrql(APC_LEVEL, &x->old); /* a raise that lowers */
    x->cur = KeGetCurrentIrql();
    KeLowerIrql(PASSIVE_LEVEL);
    x->final = KeGetCurrentIrql();
}

static void test_warn_mode_raise_to_lower_sets_requested_irql(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_rule_set(m, "irql.raise_lower", KDPC_RULE_WARN), KDPC_OK);
    /* the final KeLowerIrql(PASSIVE_LEVEL) is not the HIGH_LEVEL the raise saved */
    assert_int_equal(kdpc_rule_set(m, "irql.lower_other", KDPC_RULE_OFF), KDPC_OK);
    warn_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_raise_to_lower, &x), KDPC_OK);
    /* 1.11: at HIGH_LEVEL, KeRaiseIrql(APC_LEVEL) sets APC_LEVEL with OldIrql = HIGH */
    assert_int_equal(x.old, HIGH_LEVEL);
    assert_int_equal(x.cur, APC_LEVEL);
    assert_int_equal(x.final, PASSIVE_LEVEL);
    KT_ASSERT_WARNING(m, "irql.raise_lower");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "irql.raise_lower");
    /* 1.13: P1 0x30, P2 current IRQL, P3 requested IRQL */
    assert_int_equal(w->params[0], 0x30);
    assert_int_equal(w->params[1], HIGH_LEVEL);
    assert_int_equal(w->params[2], APC_LEVEL);
    assert_int_equal(w->irql, HIGH_LEVEL);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(kdpc_machine_violation_count(m), 1);
    kdpc_machine_destroy(m);
}

static void entry_lower_to_higher(void *p)
{
    warn_ctx *x = p;
    KeRaiseIrql(APC_LEVEL, &x->old);
    KeLowerIrql(HIGH_LEVEL); /* a lower that raises */
    x->cur = KeGetCurrentIrql();
    KeLowerIrql(PASSIVE_LEVEL);
    x->final = KeGetCurrentIrql();
}

static void test_warn_mode_lower_to_higher_sets_requested_irql(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_rule_set(m, "irql.lower_raise", KDPC_RULE_WARN), KDPC_OK);
    /* KeLowerIrql(HIGH_LEVEL) is not the PASSIVE_LEVEL the raise saved; the next has no raise */
    assert_int_equal(kdpc_rule_set(m, "irql.lower_other", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_rule_set(m, "irql.lower_unmatched", KDPC_RULE_OFF), KDPC_OK);
    warn_ctx x;
    memset(&x, 0xEE, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_lower_to_higher, &x), KDPC_OK);
    /* 1.11: at APC_LEVEL, KeLowerIrql(HIGH_LEVEL) sets HIGH_LEVEL */
    assert_int_equal(x.old, PASSIVE_LEVEL);
    assert_int_equal(x.cur, HIGH_LEVEL);
    assert_int_equal(x.final, PASSIVE_LEVEL);
    KT_ASSERT_WARNING(m, "irql.lower_raise");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "irql.lower_raise");
    /* 1.13: P1 0x31, P2 current IRQL, P3 requested IRQL */
    assert_int_equal(w->params[0], 0x31);
    assert_int_equal(w->params[1], APC_LEVEL);
    assert_int_equal(w->params[2], HIGH_LEVEL);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(kdpc_machine_violation_count(m), 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Processor queries.                                                  */

typedef struct proc_ctx {
    ULONG num, num_ex, index;
    PROCESSOR_NUMBER pn;
    ULONG count;
    KAFFINITY mask;
    ULONG count_null;
    ULONG count_ex0, count_ex_all, count_ex1;
    KAFFINITY active;
    ULONG max_count;
    ULONG pinned_num;
    PROCESSOR_NUMBER pinned_pn;
    KDPC dpc;
    volatile LONG dpc_ran;
    ULONG dpc_num;
} proc_ctx;

static void proc_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    proc_ctx *x = Context;
    x->dpc_num = KeGetCurrentProcessorNumber();
    x->dpc_ran = 1;
}

static void entry_proc(void *p)
{
    proc_ctx *x = p;
    x->num = KeGetCurrentProcessorNumber();
    memset(&x->pn, 0xEE, sizeof(x->pn));
    x->num_ex = KeGetCurrentProcessorNumberEx(&x->pn);
    x->index = KeGetCurrentProcessorIndex();
    x->count = KeQueryActiveProcessorCount(&x->mask);
    x->count_null = KeQueryActiveProcessorCount(NULL);
    x->count_ex0 = KeQueryActiveProcessorCountEx(0);
    x->count_ex_all = KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);
    x->count_ex1 = KeQueryActiveProcessorCountEx(1);
    x->active = KeQueryActiveProcessors();
    x->max_count = KeQueryMaximumProcessorCount();

    KeSetSystemAffinityThreadEx((KAFFINITY)1 << 2);
    x->pinned_num = KeGetCurrentProcessorNumber();
    memset(&x->pinned_pn, 0xEE, sizeof(x->pinned_pn));
    (void)KeGetCurrentProcessorNumberEx(&x->pinned_pn);
    KeRevertToUserAffinityThreadEx(0);

    KeInitializeDpc(&x->dpc, proc_dpc, x);
    KeSetTargetProcessorDpc(&x->dpc, 3);
    KeSetImportanceDpc(&x->dpc, HighImportance);
    KeInsertQueueDpc(&x->dpc, NULL, NULL);
    wait_flag(&x->dpc_ran);
}

static void test_processor_queries_on_four_cpus(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(4, 1);
    proc_ctx x;
    memset(&x, 0xEE, sizeof(x));
    x.dpc_ran = 0;
    assert_int_equal(kdpc_machine_run(m, entry_proc, &x), KDPC_OK);
    assert_int_equal(x.num, 0);
    assert_int_equal(x.num_ex, 0);
    assert_int_equal(x.index, 0);
    assert_int_equal(x.pn.Group, 0);
    assert_int_equal(x.pn.Number, 0);
    assert_int_equal(x.count, 4);
    assert_int_equal(x.mask, 0xF);
    assert_int_equal(x.count_null, 4);
    assert_int_equal(x.count_ex0, 4);
    assert_int_equal(x.count_ex_all, 4);
    assert_int_equal(x.count_ex1, 0); /* group 1 does not exist */
    assert_int_equal(x.active, 0xF);
    assert_int_equal(x.max_count, 4);
    assert_int_equal(x.pinned_num, 2);
    assert_int_equal(x.pinned_pn.Group, 0);
    assert_int_equal(x.pinned_pn.Number, 2);
    assert_int_equal(x.dpc_ran, 1);
    assert_int_equal(x.dpc_num, 3); /* 4.8: a targeted DPC runs on its target */
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Virtual time: KeQueryInterruptTime, KeQueryPerformanceCounter (6.4). */

typedef struct time_ctx {
    uint64_t ns0;
    ULONGLONG it0, it1, it2;
    LARGE_INTEGER pc0, pc1, pc2, freq;
    uint64_t ns1;
} time_ctx;

static void entry_time(void *p)
{
    time_ctx *x = p;
    kdpc_machine *m = kdpc_current_machine();
    x->ns0 = kdpc_machine_time_ns(m);
    x->it0 = KeQueryInterruptTime();
    x->pc0 = KeQueryPerformanceCounter(&x->freq);
    KeStallExecutionProcessor(50);
    x->it1 = KeQueryInterruptTime();
    x->pc1 = KeQueryPerformanceCounter(NULL);
    KeStallExecutionProcessor(10);
    KeStallExecutionProcessor(20);
    x->it2 = KeQueryInterruptTime();
    x->pc2 = KeQueryPerformanceCounter(NULL);
    x->ns1 = kdpc_machine_time_ns(m);
}

static void test_interrupt_time_and_performance_counter_advance_with_stall(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 1);
    cfg.call_cost_ns = 0; /* only the stalls advance the clock */
    kdpc_machine *m = machine_with(&cfg);
    time_ctx x;
    memset(&x, 0, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_time, &x), KDPC_OK);
    /* 100 ns units since the machine started, 10 MHz counter */
    assert_int_equal(x.it0, x.ns0 / 100u);
    assert_int_equal(x.pc0.QuadPart, (LONGLONG)(x.ns0 / 100u));
    assert_int_equal(x.freq.QuadPart, 10000000);
    /* 6.4: a stall of 50 us advances both by exactly 500 units */
    assert_int_equal(x.it1 - x.it0, 500);
    assert_int_equal(x.pc1.QuadPart - x.pc0.QuadPart, 500);
    assert_int_equal(x.it2 - x.it1, 300);
    assert_int_equal(x.pc2.QuadPart - x.pc1.QuadPart, 300);
    assert_int_equal(x.ns1 - x.ns0, 80000);
    /* 50 us is the limit outside a DPC, not above it */
    KT_ASSERT_NO_VIOLATION(m, "dpc.stall_too_long");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_levels_have_x64_values),
        cmocka_unit_test(test_entry_runs_at_passive_level_on_cpu0),
        cmocka_unit_test(test_raise_irql_stores_old_and_sets_new),
        cmocka_unit_test(test_raise_to_current_irql_is_noop),
        cmocka_unit_test(test_lower_irql_restores_saved_irql),
        cmocka_unit_test(test_raise_to_dpc_and_synch_level_return_entry_irql),
        cmocka_unit_test(test_kz_raise_returns_old_and_kz_lower_restores),
        cmocka_unit_test(test_irql_is_per_cpu_dpc_on_other_cpu_runs_at_dispatch),
        cmocka_unit_test(test_irql_is_per_cpu_thread_on_other_cpu_stays_passive),
        cmocka_unit_test(test_raised_irql_masks_device_interrupts_on_that_cpu_only),
        cmocka_unit_test(test_dpc_queued_while_raised_runs_when_lowered_below_dispatch),
        cmocka_unit_test(test_warn_mode_raise_to_lower_sets_requested_irql),
        cmocka_unit_test(test_warn_mode_lower_to_higher_sets_requested_irql),
        cmocka_unit_test(test_processor_queries_on_four_cpus),
        cmocka_unit_test(test_interrupt_time_and_performance_counter_advance_with_stall),
    };
    return cmocka_run_group_tests_name("irql", tests, NULL, NULL);
}
