/* SPDX-License-Identifier: MIT */
/*
 * test_free_active_index.c - ExFreePool's check for queued DPCs, set timers
 * and queued work items inside the block (mem.free_active) through the
 * address index (src/ke/liveindex.c).
 *
 * Contract: with several objects in one block, DPCs are reported first,
 * then timers, then work items; each kind in queue order (DPCs: High ones
 * at the head, newest first, then the others oldest first; timers: by due
 * time, equal due times in the order they were set; work items: Critical,
 * Delayed, HyperCritical pool, each first in first out), never in address
 * order. Objects next to the block, or that left their queue (removed,
 * cancelled, expired, run), are not reported. A timer re-initialised while
 * set (io 1.23) is reported once and taken out of its queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TAG 'xIvL'

typedef struct blk {
    KDPC dpc[5];
    KTIMER timer[4];
    WORK_QUEUE_ITEM wi[4];
} BLK;

static struct {
    BLK *a, *b; /* a is freed with everything queued in it; b stays */
    KDPC outside_dpc;
    KTIMER outside_timer;
    int variant;
    volatile LONG dpc_ran, work_ran;
    int reached_end;
} S;

static void CountDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    S.dpc_ran++;
}

static void CountWork(PVOID Parameter)
{
    (void)Parameter;
    S.work_ran++;
}

static LARGE_INTEGER ms(LONGLONG n)
{
    LARGE_INTEGER d;
    d.QuadPart = -10LL * 1000 * n;
    return d;
}

static void init_block(BLK *k)
{
    for (unsigned i = 0; i < 5; i++)
        KeInitializeDpc(&k->dpc[i], CountDpc, NULL);
    for (unsigned i = 0; i < 4; i++) {
        KeInitializeTimer(&k->timer[i]);
        ExInitializeWorkItem(&k->wi[i], CountWork, NULL);
    }
}

/* Queue everything in @k in an order that differs from address order. */
static void queue_block(BLK *k)
{
    KeSetImportanceDpc(&k->dpc[1], HighImportance);
    KeSetImportanceDpc(&k->dpc[4], HighImportance);
    KeSetImportanceDpc(&k->dpc[3], LowImportance);
    for (unsigned i = 0; i < 5; i++)
        (void)KeInsertQueueDpc(&k->dpc[i], NULL, NULL);
    /* queue: dpc4, dpc1 (head, newest first), dpc0, dpc2, dpc3 */
    (void)KeSetTimer(&k->timer[0], ms(3), NULL);
    (void)KeSetTimer(&k->timer[1], ms(1), NULL);
    (void)KeSetTimer(&k->timer[2], ms(3), NULL);
    (void)KeSetTimer(&k->timer[3], ms(2), NULL);
    (void)KeSetTimer(&k->timer[1], ms(3), NULL); /* set again: after the other 3 ms ones */
    /* expiry order: timer3, timer0, timer2, timer1 */
    ExQueueWorkItem(&k->wi[0], DelayedWorkQueue);
    ExQueueWorkItem(&k->wi[1], HyperCriticalWorkQueue);
    ExQueueWorkItem(&k->wi[2], CriticalWorkQueue);
    ExQueueWorkItem(&k->wi[3], DelayedWorkQueue);
    /* pools: Critical wi2; Delayed wi0, wi3; HyperCritical wi1 */
}

static void entry(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(BLK), TAG);
    S.b = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(BLK), TAG);
    if (S.a == NULL || S.b == NULL)
        return;
    init_block(S.a);
    init_block(S.b);
    KeInitializeDpc(&S.outside_dpc, CountDpc, NULL);
    KeInitializeTimer(&S.outside_timer);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* nothing queued can run on the only CPU yet */
    (void)KeInsertQueueDpc(&S.outside_dpc, NULL, NULL);
    (void)KeSetTimer(&S.outside_timer, ms(3), NULL);
    if (S.variant == 0) {
        queue_block(S.b);
        queue_block(S.a);
    } else {
        /* queued and left again: nothing to report */
        queue_block(S.a);
        for (unsigned i = 0; i < 5; i++)
            (void)KeRemoveQueueDpc(&S.a->dpc[i]);
        for (unsigned i = 0; i < 3; i++)
            (void)KeCancelTimer(&S.a->timer[i]);
        KeInitializeTimer(&S.a->timer[3]); /* re-initialised while set: still set (io 1.23) */
    }
    ExFreePoolWithTag(S.a, TAG);
    if (S.variant == 0) {
        /* b's objects are still queued and run normally once the CPU drops */
        for (unsigned i = 0; i < 4; i++)
            (void)KeCancelTimer(&S.b->timer[i]);
    }
    KeLowerIrql(old);
    LARGE_INTEGER d = ms(20);
    (void)KeDelayExecutionThread(KernelMode, FALSE, &d);
    ExFreePoolWithTag(S.b, TAG); /* whatever b held has run or was never queued: no report */
    S.reached_end = 1;
}

static kdpc_machine *run(int variant)
{
    memset(&S, 0, sizeof(S));
    S.variant = variant;
    kdpc_machine *m = kt_machine(1, 7);
    assert_int_equal(kdpc_rule_set(m, "mem.free_active", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, entry, NULL), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    return m;
}

/* The objects reported by mem.free_active, in report order (P2 of each). */
static size_t reported(kdpc_machine *m, uint64_t *objs, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++) {
        const kdpc_violation *v = kdpc_machine_violation(m, i);
        if (strcmp(v->rule, "mem.free_active") == 0 && n < cap)
            objs[n++] = v->params[1];
    }
    return n;
}

#define A(p) ((uint64_t)(uintptr_t)(p))

static void test_reports_dpcs_then_timers_then_work_items_each_in_queue_order(void **state)
{
    (void)state;
    kdpc_machine *m = run(0);
    uint64_t got[32];
    size_t n = reported(m, got, 32);
    BLK *a = S.a;
    const uint64_t want[] = {
        A(&a->dpc[4]),   A(&a->dpc[1]),   A(&a->dpc[0]),   A(&a->dpc[2]),   A(&a->dpc[3]),
        A(&a->timer[3]), A(&a->timer[0]), A(&a->timer[2]), A(&a->timer[1]), A(&a->wi[2]),
        A(&a->wi[0]),    A(&a->wi[3]),    A(&a->wi[1]),
    };
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
    /* b's DPCs and work items ran, and the outside DPC; none of a's */
    assert_int_equal(S.dpc_ran, 5 + 1);
    assert_int_equal(S.work_ran, 4);
    kdpc_machine_destroy(m);
}

static void test_objects_that_left_their_queues_are_not_reported(void **state)
{
    (void)state;
    kdpc_machine *m = run(1);
    uint64_t got[8];
    size_t n = reported(m, got, 8);
    /* only the re-initialised timer (KeCancelTimer no longer sees it) and the work items */
    assert_int_equal(n, 1 + 4);
    assert_int_equal(got[0], A(&S.a->timer[3]));
    assert_int_equal(S.dpc_ran, 1);
    assert_int_equal(S.work_ran, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Many objects, scrambled operations, against a model of the queues    */

#define ND 40 /* DPCs per block */
#define NT 30 /* timers per block */
#define NW 20 /* work items per block */

typedef struct many_blk {
    KDPC dpc[ND];
    KTIMER timer[NT];
    WORK_QUEUE_ITEM wi[NW];
} MANY;

static struct {
    MANY *blk[2]; /* blk[0] is freed; blk[1] holds the objects next to it */
    uint64_t rng;
    /* model: the CPU's DPC queue, timers by (due, set order), the three pools */
    const void *dq[2 * ND];
    unsigned ndq;
    struct tm_entry {
        const void *t;
        LONGLONG due;
        unsigned seq;
    } tm[2 * NT];
    unsigned ntm, tseq;
    const void *pool[3][2 * NW];
    unsigned npool[3];
    bool queued_wi[2][NW];
    uint64_t want[ND + NT + NW];
    unsigned nwant;
    volatile LONG ran;
} M;

static unsigned mrnd(unsigned n)
{
    M.rng = M.rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((M.rng >> 33) % n);
}

static void ManyDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    M.ran++;
}

static void ManyWork(PVOID Parameter)
{
    (void)Parameter;
    M.ran++;
}

static void model_dpc_insert(const KDPC *d, bool high)
{
    for (unsigned i = 0; i < M.ndq; i++)
        if (M.dq[i] == d)
            return; /* already queued: KeInsertQueueDpc returns FALSE */
    if (high) {
        memmove(&M.dq[1], &M.dq[0], M.ndq * sizeof(M.dq[0]));
        M.dq[0] = d;
    } else {
        M.dq[M.ndq] = d;
    }
    M.ndq++;
}

static void model_dpc_remove(const KDPC *d)
{
    for (unsigned i = 0; i < M.ndq; i++) {
        if (M.dq[i] == d) {
            memmove(&M.dq[i], &M.dq[i + 1], (M.ndq - i - 1) * sizeof(M.dq[0]));
            M.ndq--;
            return;
        }
    }
}

static void model_timer_cancel(const KTIMER *t)
{
    for (unsigned i = 0; i < M.ntm; i++) {
        if (M.tm[i].t == t) {
            M.tm[i] = M.tm[--M.ntm];
            return;
        }
    }
}

static int tm_cmp(const void *a, const void *b)
{
    const struct tm_entry *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static bool in_blk0(const void *p)
{
    const char *c = p, *lo = (const char *)M.blk[0];
    return c >= lo && c < lo + sizeof(MANY);
}

static void many_entry(void *ctx)
{
    (void)ctx;
    for (unsigned b = 0; b < 2; b++) {
        M.blk[b] = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(MANY), TAG);
        if (M.blk[b] == NULL)
            return;
        for (unsigned i = 0; i < ND; i++)
            KeInitializeDpc(&M.blk[b]->dpc[i], ManyDpc, NULL);
        for (unsigned i = 0; i < NT; i++)
            KeInitializeTimer(&M.blk[b]->timer[i]);
        for (unsigned i = 0; i < NW; i++)
            ExInitializeWorkItem(&M.blk[b]->wi[i], ManyWork, NULL);
    }
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* nothing queued runs on the only CPU until the end */
    static const WORK_QUEUE_TYPE types[3] = {CriticalWorkQueue, DelayedWorkQueue,
                                             HyperCriticalWorkQueue};
    for (unsigned op = 0; op < 600; op++) {
        unsigned b = mrnd(2);
        switch (mrnd(5)) {
        case 0:
        case 1: {
            KDPC *d = &M.blk[b]->dpc[mrnd(ND)];
            bool high = mrnd(3) == 0;
            KeSetImportanceDpc(d, high ? HighImportance
                                       : (mrnd(2) ? LowImportance : MediumImportance));
            model_dpc_insert(d, high);
            (void)KeInsertQueueDpc(d, NULL, NULL);
            break;
        }
        case 2: {
            KDPC *d = &M.blk[b]->dpc[mrnd(ND)];
            model_dpc_remove(d);
            (void)KeRemoveQueueDpc(d);
            break;
        }
        case 3: {
            KTIMER *t = &M.blk[b]->timer[mrnd(NT)];
            if (mrnd(4) == 0) {
                model_timer_cancel(t);
                (void)KeCancelTimer(t);
                break;
            }
            LARGE_INTEGER due;
            due.QuadPart = now.QuadPart + 10000 * (LONGLONG)(1 + mrnd(3)); /* 1..3 ms: equal ones */
            model_timer_cancel(t);
            M.tm[M.ntm].t = t;
            M.tm[M.ntm].due = due.QuadPart;
            M.tm[M.ntm].seq = ++M.tseq;
            M.ntm++;
            (void)KeSetTimer(t, due, NULL);
            break;
        }
        default: {
            unsigned i = mrnd(NW);
            if (M.queued_wi[b][i])
                break;
            unsigned p = mrnd(3);
            M.queued_wi[b][i] = true;
            M.pool[p][M.npool[p]++] = &M.blk[b]->wi[i];
            ExQueueWorkItem(&M.blk[b]->wi[i], types[p]);
            break;
        }
        }
    }
    for (unsigned i = 0; i < M.ndq; i++)
        if (in_blk0(M.dq[i]))
            M.want[M.nwant++] = (uint64_t)(uintptr_t)M.dq[i];
    qsort(M.tm, M.ntm, sizeof(M.tm[0]), tm_cmp);
    for (unsigned i = 0; i < M.ntm; i++)
        if (in_blk0(M.tm[i].t))
            M.want[M.nwant++] = (uint64_t)(uintptr_t)M.tm[i].t;
    for (unsigned p = 0; p < 3; p++)
        for (unsigned i = 0; i < M.npool[p]; i++)
            if (in_blk0(M.pool[p][i]))
                M.want[M.nwant++] = (uint64_t)(uintptr_t)M.pool[p][i];
    ExFreePoolWithTag(M.blk[0], TAG);
    for (unsigned i = 0; i < NT; i++)
        (void)KeCancelTimer(&M.blk[1]->timer[i]);
    KeLowerIrql(old);
    LARGE_INTEGER d = ms(5);
    (void)KeDelayExecutionThread(KernelMode, FALSE, &d);
    ExFreePoolWithTag(M.blk[1], TAG);
}

static void test_many_scrambled_objects_are_reported_in_queue_order(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        memset(&M, 0, sizeof(M));
        M.rng = seed * 0x9E3779B97F4A7C15ull;
        kdpc_machine *m = kt_machine(1, seed);
        assert_int_equal(kdpc_rule_set(m, "mem.free_active", KDPC_RULE_WARN), KDPC_OK);
        assert_int_equal(kdpc_machine_run(m, many_entry, NULL), KDPC_OK);
        uint64_t got[ND + NT + NW + 1];
        size_t n = reported(m, got, ND + NT + NW + 1);
        assert_true(M.nwant > 20); /* the block held many queued objects of each kind */
        assert_int_equal(n, M.nwant);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(got[i], M.want[i]);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_dpcs_then_timers_then_work_items_each_in_queue_order),
        cmocka_unit_test(test_objects_that_left_their_queues_are_not_reported),
        cmocka_unit_test(test_many_scrambled_objects_are_reported_in_queue_order),
    };
    return cmocka_run_group_tests_name("free_active_index", tests, NULL, NULL);
}
