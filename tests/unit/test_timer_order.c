/* SPDX-License-Identifier: MIT */
/*
 * test_timer_order.c - the order in which many set timers expire, against a
 * model of the timer queue (src/ke/timer.c keeps it in an ordered set).
 *
 * Contract (timer.c, io 1.11, 1.24): timers expire by due time; among equal
 * due times, in the order they were set (a timer set again goes after the
 * others of its new due time; a cancelled one never expires); timers due
 * within one clock tick expire at that tick in that order, and their DPCs
 * (all Medium importance, one CPU) run in expiry order. Due times are
 * chosen from a few values so that many are equal, and set in non-increasing
 * order as often as not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NTIMERS 300
#define NOPS    1500

static KTIMER timers[NTIMERS];
static KDPC dpcs[NTIMERS];

static struct {
    uint64_t rng;
    struct set_entry {
        unsigned idx;
        LONGLONG due;
        unsigned seq;
    } set[NTIMERS];
    unsigned nset, seq;
    unsigned fired[NTIMERS + 1];
    unsigned nfired;
    unsigned reinit; /* a timer re-initialised while set: still expires (io 1.23) */
} S;

static unsigned rnd(unsigned n)
{
    S.rng = S.rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((S.rng >> 33) % n);
}

static void RecordDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    if (S.nfired <= NTIMERS)
        S.fired[S.nfired++] = (unsigned)(uintptr_t)Context;
}

static void model_cancel(unsigned idx)
{
    for (unsigned i = 0; i < S.nset; i++) {
        if (S.set[i].idx == idx) {
            S.set[i] = S.set[--S.nset];
            return;
        }
    }
}

static int by_due_then_seq(const void *a, const void *b)
{
    const struct set_entry *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static void entry(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < NTIMERS; i++) {
        KeInitializeTimer(&timers[i]);
        KeInitializeDpc(&dpcs[i], RecordDpc, (PVOID)(uintptr_t)i);
    }
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    LONGLONG last = 0;
    for (unsigned op = 0; op < NOPS; op++) {
        unsigned i = rnd(NTIMERS);
        if (rnd(5) == 0) {
            model_cancel(i);
            (void)KeCancelTimer(&timers[i]);
            continue;
        }
        /* 2 ms .. 5 ms ahead in 0.5 ms steps (the tick is 1 ms); half the time no later than
         * the previous due time */
        LARGE_INTEGER due;
        due.QuadPart = now.QuadPart + 20000 + 5000 * (LONGLONG)rnd(7);
        if (last != 0 && rnd(2) == 0 && due.QuadPart > last)
            due.QuadPart = last;
        last = due.QuadPart;
        model_cancel(i);
        S.set[S.nset].idx = i;
        S.set[S.nset].due = due.QuadPart;
        S.set[S.nset].seq = ++S.seq;
        S.nset++;
        (void)KeSetTimer(&timers[i], due, &dpcs[i]);
    }
    /* a set timer initialised again keeps its place (its DPC is forgotten: it records nothing) */
    for (unsigned k = 0; k < S.nset; k++) {
        if (S.set[k].idx % 7 == 3) {
            S.reinit = S.set[k].idx;
            KeInitializeTimer(&timers[S.reinit]);
            model_cancel(S.reinit);
            break;
        }
    }
    LARGE_INTEGER d;
    d.QuadPart = -10LL * 1000 * 20; /* 20 ms: every timer has expired */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &d);
}

static void test_many_timers_expire_by_due_time_then_set_order(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        memset(&S, 0, sizeof(S));
        S.rng = seed * 0x2545F4914F6CDD1Dull;
        kdpc_config cfg = kt_config(1, seed);
        cfg.clock_tick_ns = 1000000;
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        assert_int_equal(kdpc_machine_run(m, entry, NULL), KDPC_OK);
        qsort(S.set, S.nset, sizeof(S.set[0]), by_due_then_seq);
        assert_true(S.nset > 100);
        assert_int_equal(S.nfired, S.nset);
        for (unsigned k = 0; k < S.nset; k++)
            assert_int_equal(S.fired[k], S.set[k].idx);
        /* the re-initialised one expired too: signaled, no longer set */
        assert_int_not_equal(KeReadStateTimer(&timers[S.reinit]), 0);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_timers_expire_by_due_time_then_set_order),
    };
    return cmocka_run_group_tests_name("timer_order", tests, NULL, NULL);
}
