/* SPDX-License-Identifier: MIT */
/*
 * test_timer.c - KTIMER and timer DPCs as documented: KeInitializeTimer(Ex),
 * KeSetTimer(Ex), KeSetCoalescableTimer, KeCancelTimer, KeReadStateTimer,
 * timers as waitable objects, the clock-tick granularity of expiry, the CPU
 * a timer DPC runs on, and how timers interact with kdpc_machine_run /
 * kdpc_machine_run_for.
 *
 * Numbers in comments are facts of docs/facts/io.md section 1
 * ("io 1.9"); dpc-irql.md facts are cited as "dpc 4.15". kdpc's clock rule
 * (include/kdpc/wdm/timer.h): a tick every clock_tick_ns of virtual time; a
 * timer expires at the FIRST TICK AT OR AFTER its due time. Most tests use a
 * 100 us tick, so expected expiry ticks are computed exactly. Observations
 * are recorded by simulated code and asserted after the run returns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TICK      100000ull /* 100 us clock tick used by most tests */
#define MS_TICK   1000000ull
#define US(x)     ((LONGLONG)(x)*10)  /* microseconds in 100 ns units */
#define REL_US(x) (-(LONGLONG)(x)*10) /* relative due time of x us */
#define EPS_NS    5000ull             /* a timer DPC runs within 5 us after its expiry tick */
#define MAXN      64
#define POLL_MAX  20000u /* bound of every polling loop */
#define NSLOTS    8

static LARGE_INTEGER li(LONGLONG v)
{
    LARGE_INTEGER r;
    r.QuadPart = v;
    return r;
}

static uint64_t now_ns(void)
{
    return (uint64_t)KeQueryInterruptTime() * 100u;
}

static LONGLONG tick_count(void)
{
    LARGE_INTEGER t;
    KeQueryTickCount(&t);
    return t.QuadPart;
}

/* Boot system time: KeQuerySystemTime - KeQueryInterruptTime (timer.h). */
static LONGLONG boot_time(void)
{
    LARGE_INTEGER s;
    KeQuerySystemTime(&s);
    ULONGLONG it = KeQueryInterruptTime();
    return s.QuadPart - (LONGLONG)it;
}

/* ------------------------------------------------------------------ */
/* A timer, its DPC and what the DPC saw, one entry per call.          */

typedef struct slot {
    KTIMER timer;
    KDPC dpc;
    unsigned n; /* DPC calls */
    uint64_t ns[MAXN];
    LONGLONG tick[MAXN];
    KIRQL irql[MAXN];
    ULONG cpu[MAXN];
    PKDPC dpc_arg[MAXN];
    PVOID ctx_arg[MAXN];
    /* probes made by ProbeDpc / RearmDpc */
    BOOLEAN state_in_dpc;
    BOOLEAN cancel_in_dpc;
    BOOLEAN set_in_dpc;
    unsigned rearm; /* re-arms RearmDpc still has to do */
    LONGLONG rearm_due;
    LONG rearm_period;
} slot;

static slot g_s[NSLOTS];

static void slots_reset(void)
{
    memset(g_s, 0, sizeof(g_s));
}

static void slot_record(slot *s, PKDPC Dpc, PVOID ctx)
{
    uint64_t ns = now_ns();
    if (s->n < MAXN) {
        unsigned i = s->n;
        s->ns[i] = ns;
        s->tick[i] = tick_count();
        s->irql[i] = KeGetCurrentIrql();
        s->cpu[i] = KeGetCurrentProcessorNumber();
        s->dpc_arg[i] = Dpc;
        s->ctx_arg[i] = ctx;
    }
    s->n++;
}

static void RecordDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                      PVOID SystemArgument2)
{
    (void)SystemArgument1; /* io 1.12: not used, tests must not depend on them */
    (void)SystemArgument2;
    slot_record((slot *)DeferredContext, Dpc, DeferredContext);
}

/* Reads the timer's state and cancels it from inside its own DPC (io 1.11, 1.15). */
static void ProbeDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    (void)SystemArgument1;
    (void)SystemArgument2;
    slot *s = (slot *)DeferredContext;
    slot_record(s, Dpc, DeferredContext);
    s->state_in_dpc = KeReadStateTimer(&s->timer);
    s->cancel_in_dpc = KeCancelTimer(&s->timer);
}

/* Re-arms its own timer (io 1.19) while s->rearm > 0. */
static void RearmDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    (void)SystemArgument1;
    (void)SystemArgument2;
    slot *s = (slot *)DeferredContext;
    slot_record(s, Dpc, DeferredContext);
    if (s->rearm > 0) {
        s->rearm--;
        s->set_in_dpc = KeSetTimerEx(&s->timer, li(s->rearm_due), s->rearm_period, &s->dpc);
    }
}

static void slot_init(slot *s, TIMER_TYPE type, PKDEFERRED_ROUTINE routine)
{
    KeInitializeTimerEx(&s->timer, type);
    KeInitializeDpc(&s->dpc, routine, s);
}

static kdpc_machine *tm_machine(unsigned cpus, uint64_t seed, uint64_t tick_ns)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.clock_tick_ns = tick_ns;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, RecordDpc);
    KDPC_NAME(m, ProbeDpc);
    KDPC_NAME(m, RearmDpc);
    return m;
}

static void run_ok(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx)
{
    assert_int_equal(kdpc_machine_run(m, entry, ctx), KDPC_OK);
}

static void run_for_ok(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx, uint64_t ns)
{
    assert_int_equal(kdpc_machine_run_for(m, entry, ctx, ns), KDPC_OK);
}

/* Call @i of slot @s ran at clock tick @k: tick count k, virtual time in [k tick, +EPS). */
static void assert_call_at_tick(const slot *s, unsigned i, uint64_t tick_ns, uint64_t k)
{
    assert_true(i < s->n);
    assert_int_equal(s->tick[i], k);
    assert_in_range(s->ns[i], k * tick_ns, k * tick_ns + EPS_NS - 1u);
}

/* Poll with 10 us stalls until slot @s has @n DPC calls. */
static void wait_calls(slot *s, unsigned n)
{
    for (unsigned i = 0; i < POLL_MAX && s->n < n; i++)
        KeStallExecutionProcessor(10);
}

/* Let @us microseconds of virtual time pass in 10 us stalls. */
static void stall_us(unsigned us)
{
    for (unsigned i = 0; i < us / 10u; i++)
        KeStallExecutionProcessor(10);
}

/* ------------------------------------------------------------------ */
/* KeInitializeTimer(Ex) (io 1.1, 1.2, 1.22)                           */

static struct {
    UCHAR type[3];
    LONG signal[3];
    UCHAR inserted[3];
    LONG period[3];
    ULONGLONG due[3];
    BOOLEAN read[3];
    BOOLEAN cancel[3];
} g_init;

static void entry_init(void *ctx)
{
    (void)ctx;
    TIMER_TYPE types[3] = {NotificationTimer, NotificationTimer, SynchronizationTimer};
    for (unsigned i = 0; i < 3; i++) {
        KTIMER *t = &g_s[i].timer;
        memset(t, 0x55, sizeof(*t));
        if (i == 0)
            KeInitializeTimer(t);
        else
            KeInitializeTimerEx(t, types[i]);
        g_init.type[i] = t->Header.Type;
        g_init.signal[i] = t->Header.SignalState;
        g_init.inserted[i] = t->Header.Inserted;
        g_init.period[i] = t->Period;
        g_init.due[i] = t->DueTime.QuadPart;
        g_init.read[i] = KeReadStateTimer(t);
        g_init.cancel[i] = KeCancelTimer(t);
    }
}

static void test_initialize_timer_is_notification_type_8_not_signaled_and_not_set(void **state)
{
    (void)state;
    slots_reset();
    memset(&g_init, 0xAA, sizeof(g_init));
    kdpc_machine *m = tm_machine(1, 1, TICK);
    run_ok(m, entry_init, NULL);
    kdpc_machine_destroy(m);

    for (unsigned i = 0; i < 3; i++) {
        /* io 1.1: not signaled, not queued, DueTime 0, Period 0 */
        assert_int_equal(g_init.signal[i], 0);
        assert_int_equal(g_init.inserted[i], 0);
        assert_int_equal(g_init.period[i], 0);
        assert_int_equal(g_init.due[i], 0);
        assert_false(g_init.read[i]);   /* io 1.22 */
        assert_false(g_init.cancel[i]); /* io 1.15: it was not in the timer queue */
    }
    /* io 1.1: KeInitializeTimer == KeInitializeTimerEx(NotificationTimer); io 1.2: types 8 / 9 */
    assert_int_equal(g_init.type[0], 8);
    assert_int_equal(g_init.type[1], 8);
    assert_int_equal(g_init.type[2], 9);
}

/* ------------------------------------------------------------------ */
/* Relative and absolute due times; tick granularity (io 1.6, 1.24)    */

static uint64_t g_set_ns[NSLOTS];
static BOOLEAN g_ret[16];

static void entry_relative(void *ctx)
{
    (void)ctx;
    static const unsigned rel_us[4] = {50, 250, 300, 1000};
    for (unsigned i = 0; i < 4; i++)
        slot_init(&g_s[i], NotificationTimer, RecordDpc);
    KeStallExecutionProcessor(1); /* now >= 1 us: no due time lands on a tick */
    for (unsigned i = 0; i < 4; i++) {
        g_set_ns[i] = now_ns();
        g_ret[i] = KeSetTimer(&g_s[i].timer, li(REL_US(rel_us[i])), &g_s[i].dpc);
    }
}

static void test_relative_due_time_expires_at_first_tick_at_or_after_due(void **state)
{
    (void)state;
    slots_reset();
    kdpc_machine *m = tm_machine(1, 2, TICK);
    run_ok(m, entry_relative, NULL); /* one-shot timers keep the run alive */
    uint64_t end = kdpc_machine_time_ns(m);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);

    static const unsigned rel_us[4] = {50, 250, 300, 1000};
    /* set at 1..2 us: due 51.x, 251.x, 301.x, 1001.x us -> ticks 1, 3, 4, 11 */
    static const uint64_t tick[4] = {1, 3, 4, 11};
    for (unsigned i = 0; i < 4; i++) {
        assert_false(g_ret[i]); /* io 1.9: it was not set */
        assert_int_equal(g_s[i].n, 1);
        assert_call_at_tick(&g_s[i], 0, TICK, tick[i]);
        /* never early (1.24 as kdpc models it) */
        assert_true(g_s[i].ns[0] >= g_set_ns[i] + (uint64_t)rel_us[i] * 1000u);
        /* io 1.11, 1.26: at DISPATCH_LEVEL with the KDPC and its DeferredContext */
        assert_int_equal(g_s[i].irql[0], DISPATCH_LEVEL);
        assert_ptr_equal(g_s[i].dpc_arg[0], &g_s[i].dpc);
        assert_ptr_equal(g_s[i].ctx_arg[0], &g_s[i]);
        assert_int_equal(g_s[i].cpu[0], 0);
    }
    assert_true(end >= 11 * TICK);
}

static void entry_absolute(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < 3; i++)
        slot_init(&g_s[i], NotificationTimer, RecordDpc);
    LONGLONG boot = boot_time();
    /* absolute system times: boot + 500 us (on a tick), + 450 us, + 501 us */
    g_ret[0] = KeSetTimer(&g_s[0].timer, li(boot + US(500)), &g_s[0].dpc);
    g_ret[1] = KeSetTimer(&g_s[1].timer, li(boot + US(450)), &g_s[1].dpc);
    g_ret[2] = KeSetTimer(&g_s[2].timer, li(boot + US(501)), &g_s[2].dpc);
}

static void test_absolute_due_time_expires_at_first_tick_at_or_after_it(void **state)
{
    (void)state;
    slots_reset();
    kdpc_machine *m = tm_machine(1, 3, TICK);
    run_ok(m, entry_absolute, NULL);
    kdpc_machine_destroy(m);

    /* io 1.6: DueTime >= 0 is an absolute system time */
    for (unsigned i = 0; i < 3; i++) {
        assert_false(g_ret[i]);
        assert_int_equal(g_s[i].n, 1);
        assert_int_equal(g_s[i].irql[0], DISPATCH_LEVEL);
    }
    assert_call_at_tick(&g_s[0], 0, TICK, 5); /* due exactly at the tick: at it, not later */
    assert_call_at_tick(&g_s[1], 0, TICK, 5);
    assert_call_at_tick(&g_s[2], 0, TICK, 6);
}

/* ------------------------------------------------------------------ */
/* Due time now or past: expires inside the call (io 1.7)              */

static struct {
    unsigned n_after_set[3];
    BOOLEAN state_after_set[3];
    BOOLEAN ret[3];
    unsigned n_at_dispatch;
    BOOLEAN state_at_dispatch;
    BOOLEAN ret_at_dispatch;
    unsigned n_after_lower;
} g_imm;

static void entry_immediate(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < 4; i++)
        slot_init(&g_s[i], NotificationTimer, RecordDpc);
    KeStallExecutionProcessor(5);
    LONGLONG boot = boot_time();
    /* DueTime 0; an absolute time in the past; the absolute time "now" */
    LONGLONG due[3] = {0, boot + US(2), 0};
    for (unsigned i = 0; i < 3; i++) {
        if (i == 2)
            due[2] = boot + (LONGLONG)KeQueryInterruptTime();
        g_imm.ret[i] = KeSetTimer(&g_s[i].timer, li(due[i]), &g_s[i].dpc);
        g_imm.n_after_set[i] = g_s[i].n;
        g_imm.state_after_set[i] = KeReadStateTimer(&g_s[i].timer);
    }
    /* at DISPATCH_LEVEL the timer is signaled inside the call; the DPC waits for the lower */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g_imm.ret_at_dispatch = KeSetTimer(&g_s[3].timer, li(0), &g_s[3].dpc);
    g_imm.state_at_dispatch = KeReadStateTimer(&g_s[3].timer);
    g_imm.n_at_dispatch = g_s[3].n;
    KeLowerIrql(old);
    g_imm.n_after_lower = g_s[3].n;
}

static void test_due_time_zero_expires_inside_the_call_and_dpc_has_run_at_passive(void **state)
{
    (void)state;
    slots_reset();
    memset(&g_imm, 0xAA, sizeof(g_imm));
    kdpc_machine *m = tm_machine(1, 4, TICK);
    run_ok(m, entry_immediate, NULL);
    kdpc_machine_destroy(m);

    for (unsigned i = 0; i < 3; i++) {
        assert_false(g_imm.ret[i]);
        assert_true(g_imm.state_after_set[i]);     /* io 1.7: signaled inside the call */
        assert_int_equal(g_imm.n_after_set[i], 1); /* io 1.7, dpc 4.15: ran before return */
        assert_int_equal(g_s[i].n, 1);             /* and only once */
        assert_int_equal(g_s[i].irql[0], DISPATCH_LEVEL);
        assert_int_equal(g_s[i].tick[0], 0); /* no tick needed */
    }
    assert_false(g_imm.ret_at_dispatch);
    assert_true(g_imm.state_at_dispatch);
    assert_int_equal(g_imm.n_at_dispatch, 0); /* dpc 4.15: not while at DISPATCH_LEVEL */
    assert_int_equal(g_imm.n_after_lower, 1); /* runs during the KeLowerIrql */
    assert_int_equal(g_s[3].n, 1);
}

/* ------------------------------------------------------------------ */
/* Return values of KeSetTimer and KeCancelTimer (io 1.9, 1.15)        */

static struct {
    BOOLEAN set_fresh, set_queued, set_expired, set_after_cancel;
    BOOLEAN cancel_fresh, cancel_set, cancel_again, cancel_expired;
    BOOLEAN state_after_cancel;
    unsigned n_after_cancel, n_before_cancel;
} g_rv;

static void entry_return_values(void *ctx)
{
    (void)ctx;
    slot *s = &g_s[0];
    slot *c = &g_s[1];
    slot_init(s, NotificationTimer, RecordDpc);
    slot_init(c, NotificationTimer, RecordDpc);
    KeStallExecutionProcessor(1);
    /* KeSetTimer: TRUE iff the timer was in the timer queue */
    g_rv.set_fresh = KeSetTimer(&s->timer, li(REL_US(300)), &s->dpc);
    g_rv.set_queued = KeSetTimer(&s->timer, li(REL_US(300)), &s->dpc);
    wait_calls(s, 1);
    g_rv.set_expired = KeSetTimer(&s->timer, li(REL_US(300)), &s->dpc);
    g_rv.cancel_set = KeCancelTimer(&s->timer);
    g_rv.set_after_cancel = KeSetTimer(&s->timer, li(REL_US(300)), &s->dpc);
    wait_calls(s, 2);
    g_rv.cancel_expired = KeCancelTimer(&s->timer);

    /* KeCancelTimer: TRUE iff set; removes it with no signal and no DPC */
    g_rv.cancel_fresh = KeCancelTimer(&c->timer);
    (void)KeSetTimer(&c->timer, li(REL_US(200)), &c->dpc);
    g_rv.n_before_cancel = c->n;
    g_rv.cancel_again = KeCancelTimer(&c->timer); /* TRUE: it was set */
    stall_us(600);                                /* well past the due time */
    g_rv.state_after_cancel = KeReadStateTimer(&c->timer);
    g_rv.n_after_cancel = c->n;
}

static void test_set_and_cancel_return_true_iff_the_timer_was_set(void **state)
{
    (void)state;
    slots_reset();
    memset(&g_rv, 0xAA, sizeof(g_rv));
    kdpc_machine *m = tm_machine(1, 5, TICK);
    run_ok(m, entry_return_values, NULL);
    kdpc_machine_destroy(m);

    assert_false(g_rv.set_fresh);   /* io 1.9 */
    assert_true(g_rv.set_queued);   /* io 1.9: it was queued */
    assert_false(g_rv.set_expired); /* io 1.9: an expired one-shot is not queued */
    assert_true(g_rv.cancel_set);   /* io 1.15 */
    assert_false(g_rv.set_after_cancel);
    assert_false(g_rv.cancel_expired); /* io 1.15: an expired one-shot */
    assert_int_equal(g_s[0].n, 2);     /* the re-set and the cancel ran no DPC (io 1.9) */

    assert_false(g_rv.cancel_fresh);
    assert_int_equal(g_rv.n_before_cancel, 0);
    assert_true(g_rv.cancel_again);
    assert_false(g_rv.state_after_cancel);    /* io 1.15: no signal */
    assert_int_equal(g_rv.n_after_cancel, 0); /* io 1.15: no DPC */
    assert_int_equal(g_s[1].n, 0);
}

/* Expired one-shot whose DPC is still queued (io 1.9, 1.15): its DPC targets CPU 1, which a
 * blocker DPC keeps busy at DISPATCH_LEVEL. */

static volatile LONG g_block_started, g_block_release;
static KDPC g_blocker;
static struct {
    BOOLEAN set_first, expired, cancel_expired, set_expired, state_after_reset, cancel_reset;
    unsigned n_seen;
} g_exp;

static void BlockerDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                       PVOID SystemArgument2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    g_block_started = 1;
    for (unsigned i = 0; i < 4000u && !g_block_release; i++)
        KeStallExecutionProcessor(10);
}

static void entry_expired_pending(void *ctx)
{
    (void)ctx;
    slot *s = &g_s[0];
    (void)KeSetSystemAffinityThreadEx(1); /* stay on CPU 0 */
    KeInitializeDpc(&g_blocker, BlockerDpc, NULL);
    KeSetTargetProcessorDpc(&g_blocker, 1);
    slot_init(s, NotificationTimer, RecordDpc);
    KeSetTargetProcessorDpc(&s->dpc, 1);
    (void)KeInsertQueueDpc(&g_blocker, NULL, NULL);
    for (unsigned i = 0; i < POLL_MAX && !g_block_started; i++)
        KeStallExecutionProcessor(1);

    g_exp.set_first = KeSetTimer(&s->timer, li(REL_US(200)), &s->dpc);
    for (unsigned i = 0; i < POLL_MAX && !KeReadStateTimer(&s->timer); i++)
        KeStallExecutionProcessor(10);
    g_exp.expired = KeReadStateTimer(&s->timer);
    g_exp.n_seen = s->n; /* its DPC is queued to the busy CPU 1 */
    g_exp.cancel_expired = KeCancelTimer(&s->timer);
    g_exp.set_expired = KeSetTimer(&s->timer, li(REL_US(50000)), &s->dpc);
    g_exp.state_after_reset = KeReadStateTimer(&s->timer);
    g_exp.cancel_reset = KeCancelTimer(&s->timer);
    g_block_release = 1;
    wait_calls(s, 1);
}

static void test_expired_one_shot_set_and_cancel_return_false_even_if_dpc_has_not_run(void **state)
{
    (void)state;
    slots_reset();
    memset(&g_exp, 0xAA, sizeof(g_exp));
    g_block_started = 0;
    g_block_release = 0;
    kdpc_machine *m = tm_machine(2, 6, TICK);
    KDPC_NAME(m, BlockerDpc);
    run_ok(m, entry_expired_pending, NULL);
    kdpc_machine_destroy(m);

    assert_false(g_exp.set_first);
    assert_true(g_exp.expired);
    assert_int_equal(g_exp.n_seen, 0);     /* the DPC had not run yet */
    assert_false(g_exp.cancel_expired);    /* io 1.15 */
    assert_false(g_exp.set_expired);       /* io 1.9 */
    assert_false(g_exp.state_after_reset); /* io 1.10 */
    assert_true(g_exp.cancel_reset);       /* the re-set had queued it */
    assert_int_equal(g_s[0].n, 1);         /* the pending DPC still ran, once */
    assert_int_equal(g_s[0].cpu[0], 1);
    assert_int_equal(g_s[0].irql[0], DISPATCH_LEVEL);
}

/* ------------------------------------------------------------------ */
/* Re-set before expiry (io 1.14)                                      */

static struct {
    BOOLEAN first, second;
    uint64_t reset_ns;
    unsigned n_at_reset;
} g_reset;

static void entry_reset_before_expiry(void *ctx)
{
    (void)ctx;
    slot *s = &g_s[0];
    slot_init(s, NotificationTimer, RecordDpc);
    KeStallExecutionProcessor(1);
    g_reset.first = KeSetTimer(&s->timer, li(REL_US(300)), &s->dpc); /* would be tick 4 */
    stall_us(100);
    g_reset.reset_ns = now_ns();
    g_reset.n_at_reset = s->n;
    g_reset.second = KeSetTimer(&s->timer, li(REL_US(500)), &s->dpc); /* due ~601 us: tick 7 */
}

static void test_reset_before_expiry_means_the_first_expiry_never_happens(void **state)
{
    (void)state;
    slots_reset();
    kdpc_machine *m = tm_machine(1, 7, TICK);
    run_ok(m, entry_reset_before_expiry, NULL);
    kdpc_machine_destroy(m);

    assert_false(g_reset.first);
    assert_true(g_reset.second); /* io 1.9: it was queued */
    assert_int_equal(g_reset.n_at_reset, 0);
    assert_in_range(g_reset.reset_ns, 101000u, 200000u - 1u);
    assert_int_equal(g_s[0].n, 1); /* io 1.14: only the second expiry */
    assert_call_at_tick(&g_s[0], 0, TICK, 7);
}

/* ------------------------------------------------------------------ */
/* Expiry order: periodic re-inserted before its DPC runs (io 1.11)     */

static void entry_probe(void *ctx)
{
    (void)ctx;
    slot_init(&g_s[0], NotificationTimer, ProbeDpc); /* periodic */
    slot_init(&g_s[1], NotificationTimer, ProbeDpc); /* one-shot */
    KeStallExecutionProcessor(1);
    (void)KeSetTimerEx(&g_s[0].timer, li(REL_US(150)), 1, &g_s[0].dpc);
    (void)KeSetTimerEx(&g_s[1].timer, li(REL_US(150)), 0, &g_s[1].dpc);
}

static void test_periodic_timer_is_reinserted_before_its_dpc_runs(void **state)
{
    (void)state;
    slots_reset();
    kdpc_machine *m = tm_machine(1, 8, TICK);
    run_for_ok(m, entry_probe, NULL, 5 * MS_TICK);
    kdpc_machine_destroy(m);

    /* periodic: already signaled and back in the queue when its DPC runs */
    assert_int_equal(g_s[0].n, 1); /* the DPC's own cancel stopped it */
    assert_true(g_s[0].state_in_dpc);
    assert_true(g_s[0].cancel_in_dpc); /* io 1.11, 1.15: periodic cancel is TRUE */
    assert_call_at_tick(&g_s[0], 0, TICK, 2);
    /* one-shot: signaled, out of the queue */
    assert_int_equal(g_s[1].n, 1);
    assert_true(g_s[1].state_in_dpc);
    assert_false(g_s[1].cancel_in_dpc);
    assert_call_at_tick(&g_s[1], 0, TICK, 2);
}

/* ------------------------------------------------------------------ */
/* Re-arming from the timer's own DPC (io 1.19)                        */

static void entry_rearm(void *ctx)
{
    (void)ctx;
    slot *one = &g_s[0];
    slot *per = &g_s[1];
    slot_init(one, NotificationTimer, RearmDpc);
    slot_init(per, NotificationTimer, RearmDpc);
    one->rearm = 1;
    one->rearm_due = REL_US(350);
    one->rearm_period = 0;
    per->rearm = 1;
    per->rearm_due = REL_US(350);
    per->rearm_period = 0; /* replaces Period 1 ms: one more expiry only */
    KeStallExecutionProcessor(1);
    (void)KeSetTimer(&one->timer, li(REL_US(150)), &one->dpc);
    (void)KeSetTimerEx(&per->timer, li(REL_US(150)), 1, &per->dpc);
}

static void test_timer_rearmed_from_its_own_dpc(void **state)
{
    (void)state;
    slots_reset();
    kdpc_machine *m = tm_machine(1, 9, TICK);
    run_for_ok(m, entry_rearm, NULL, 5 * MS_TICK);
    kdpc_machine_destroy(m);

    /* one-shot: dequeued at expiry, so the re-arm returns FALSE and re-arms it */
    assert_false(g_s[0].set_in_dpc);
    assert_int_equal(g_s[0].n, 2);
    assert_call_at_tick(&g_s[0], 0, TICK, 2);
    assert_call_at_tick(&g_s[0], 1, TICK, 6); /* 200 us + 350 us (+ call costs) -> tick 6 */
    /* periodic: already re-inserted, so TRUE; new DueTime and Period replace the old */
    assert_true(g_s[1].set_in_dpc);
    assert_int_equal(g_s[1].n, 2);
    assert_call_at_tick(&g_s[1], 0, TICK, 2);
    assert_call_at_tick(&g_s[1], 1, TICK, 6);
}

/* ------------------------------------------------------------------ */
/* Timers as waitable objects (io 1.3, 1.20)                           */

static struct {
    NTSTATUS wait_forever[2];
    NTSTATUS poll1[2], poll2[2];
    BOOLEAN state_after[2];
    uint64_t woke_ns[2];
    /* synchronization timer that expired with no waiter */
    BOOLEAN idle_state_before, idle_state_after;
    NTSTATUS idle_poll1, idle_poll2;
} g_wait;

static void entry_wait_types(void *ctx)
{
    (void)ctx;
    LARGE_INTEGER zero = li(0);
    TIMER_TYPE types[2] = {NotificationTimer, SynchronizationTimer};
    for (unsigned i = 0; i < 2; i++) {
        KTIMER *t = &g_s[i].timer;
        KeInitializeTimerEx(t, types[i]);
        KeStallExecutionProcessor(1);
        (void)KeSetTimer(t, li(REL_US(200)), NULL);
        g_wait.wait_forever[i] = KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
        g_wait.woke_ns[i] = now_ns();
        g_wait.poll1[i] = KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero);
        g_wait.poll2[i] = KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero);
        g_wait.state_after[i] = KeReadStateTimer(t);
        stall_us(30); /* leave the tick */
    }
    KTIMER *t = &g_s[2].timer;
    KeInitializeTimerEx(t, SynchronizationTimer);
    (void)KeSetTimer(t, li(REL_US(200)), NULL);
    stall_us(400);
    g_wait.idle_state_before = KeReadStateTimer(t);
    g_wait.idle_poll1 = KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero);
    g_wait.idle_state_after = KeReadStateTimer(t);
    g_wait.idle_poll2 = KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero);
}

static void
test_fired_notification_timer_satisfies_every_wait_synchronization_timer_one(void **state)
{
    (void)state;
    slots_reset();
    memset(&g_wait, 0xAA, sizeof(g_wait));
    kdpc_machine *m = tm_machine(1, 10, TICK);
    run_ok(m, entry_wait_types, NULL);
    kdpc_machine_destroy(m);

    /* notification (io 1.3): stays signaled, a second zero-timeout wait succeeds */
    assert_int_equal(g_wait.wait_forever[0], STATUS_SUCCESS);
    assert_int_equal(g_wait.poll1[0], STATUS_SUCCESS);
    assert_int_equal(g_wait.poll2[0], STATUS_SUCCESS);
    assert_true(g_wait.state_after[0]);
    /* synchronization (io 1.3): the wait consumed the signal */
    assert_int_equal(g_wait.wait_forever[1], STATUS_SUCCESS);
    assert_int_equal(g_wait.poll1[1], STATUS_TIMEOUT);
    assert_int_equal(g_wait.poll2[1], STATUS_TIMEOUT);
    assert_false(g_wait.state_after[1]);
    /* the waits ended at the expiry tick: set at ~1 us -> due ~201 us -> tick 3 */
    assert_in_range(g_wait.woke_ns[0], 3 * TICK, 3 * TICK + EPS_NS - 1u);
    /* second one set at ~331 us -> due ~531 us -> tick 6 */
    assert_in_range(g_wait.woke_ns[1], 6 * TICK, 6 * TICK + EPS_NS - 1u);
    /* synchronization timer with no waiter stays signaled until one wait consumes it */
    assert_true(g_wait.idle_state_before);
    assert_int_equal(g_wait.idle_poll1, STATUS_SUCCESS);
    assert_false(g_wait.idle_state_after);
    assert_int_equal(g_wait.idle_poll2, STATUS_TIMEOUT);
}

static NTSTATUS g_waiter_status[2];
static KTIMER g_wait_timer;

static void WaiterThread(PVOID ctx)
{
    unsigned i = (unsigned)(ULONG_PTR)ctx;
    LARGE_INTEGER timeout = li(REL_US(3000));
    g_waiter_status[i] =
        KeWaitForSingleObject(&g_wait_timer, Executive, KernelMode, FALSE, &timeout);
}

static void entry_two_waiters(void *ctx)
{
    TIMER_TYPE type = (TIMER_TYPE)(ULONG_PTR)ctx;
    KeInitializeTimerEx(&g_wait_timer, type);
    for (unsigned i = 0; i < 2; i++) {
        HANDLE h;
        NTSTATUS st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, WaiterThread,
                                           (PVOID)(ULONG_PTR)i);
        if (NT_SUCCESS(st))
            (void)ZwClose(h);
    }
    (void)KeSetTimer(&g_wait_timer, li(REL_US(300)), NULL);
}

static void run_two_waiters(TIMER_TYPE type, uint64_t seed)
{
    g_waiter_status[0] = g_waiter_status[1] = -1;
    kdpc_machine *m = tm_machine(1, seed, TICK);
    run_ok(m, entry_two_waiters, (void *)(ULONG_PTR)type);
    kdpc_machine_destroy(m);
}

static void test_notification_timer_releases_every_waiter_synchronization_timer_one(void **state)
{
    (void)state;
    run_two_waiters(NotificationTimer, 11); /* io 1.3: every waiter */
    assert_int_equal(g_waiter_status[0], STATUS_SUCCESS);
    assert_int_equal(g_waiter_status[1], STATUS_SUCCESS);

    run_two_waiters(SynchronizationTimer, 11); /* io 1.3: one waiter, then auto-reset */
    assert_true((g_waiter_status[0] == STATUS_SUCCESS && g_waiter_status[1] == STATUS_TIMEOUT) ||
                (g_waiter_status[0] == STATUS_TIMEOUT && g_waiter_status[1] == STATUS_SUCCESS));
}

static struct {
    NTSTATUS st[3];
    LONGLONG tick[3];
    BOOLEAN cancel;
} g_psync;

static void entry_periodic_sync(void *ctx)
{
    (void)ctx;
    KTIMER *t = &g_s[0].timer;
    KeInitializeTimerEx(t, SynchronizationTimer);
    KeStallExecutionProcessor(1);
    (void)KeSetTimerEx(t, li(REL_US(150)), 1, NULL);
    for (unsigned i = 0; i < 3; i++) {
        g_psync.st[i] = KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
        g_psync.tick[i] = tick_count();
    }
    g_psync.cancel = KeCancelTimer(t);
}

static void test_periodic_synchronization_timer_is_signaled_again_every_period(void **state)
{
    (void)state;
    slots_reset();
    memset(&g_psync, 0xAA, sizeof(g_psync));
    kdpc_machine *m = tm_machine(1, 12, TICK);
    run_ok(m, entry_periodic_sync, NULL);
    kdpc_machine_destroy(m);

    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(g_psync.st[i], STATUS_SUCCESS); /* io 1.20 */
    assert_int_equal(g_psync.tick[0], 2);
    /* io 1.21: allow one tick of drift per period */
    assert_in_range(g_psync.tick[1] - g_psync.tick[0], 10, 11);
    assert_in_range(g_psync.tick[2] - g_psync.tick[1], 10, 11);
    assert_true(g_psync.cancel); /* io 1.15: periodic */
}

/* ------------------------------------------------------------------ */
/* KeSetTimerEx resets the signal, replaces Period and DPC (io 1.10)    */

static struct {
    BOOLEAN state_fired, ret_b, state_after_b, ret_p1, ret_p0, ret_null, state_null;
    LONG period_p1, period_p0;
    PKDPC dpc_p1;
    unsigned na_after_b, nb_after_b;
} g_ex;

static void entry_set_ex(void *ctx)
{
    (void)ctx;
    slot *a = &g_s[0];
    slot *b = &g_s[1];
    slot_init(a, NotificationTimer, RecordDpc);
    KeInitializeDpc(&b->dpc, RecordDpc, b);
    KTIMER *t = &a->timer; /* one timer, two DPCs */
    KeStallExecutionProcessor(1);
    (void)KeSetTimer(t, li(0), &a->dpc);
    g_ex.state_fired = KeReadStateTimer(t);
    g_ex.ret_b = KeSetTimerEx(t, li(REL_US(300)), 0, &b->dpc);
    g_ex.state_after_b = KeReadStateTimer(t); /* io 1.10: not signaled any more */
    wait_calls(b, 1);
    g_ex.na_after_b = a->n;
    g_ex.nb_after_b = b->n;

    /* io 1.10 (Wine test_sync): periodic, then re-set with Period 0 -> fires exactly once */
    g_ex.ret_p1 = KeSetTimerEx(t, li(REL_US(200)), 1, &a->dpc);
    g_ex.period_p1 = t->Period;
    g_ex.dpc_p1 = t->Dpc;
    g_ex.ret_p0 = KeSetTimerEx(t, li(REL_US(200)), 0, &a->dpc);
    g_ex.period_p0 = t->Period;
    stall_us(3000);

    /* a NULL Dpc removes the association */
    g_ex.ret_null = KeSetTimerEx(t, li(REL_US(200)), 0, NULL);
    stall_us(500);
    g_ex.state_null = KeReadStateTimer(t);
}

static void test_set_timer_ex_resets_signal_state_and_replaces_period_and_dpc(void **state)
{
    (void)state;
    slots_reset();
    memset(&g_ex, 0xAA, sizeof(g_ex));
    kdpc_machine *m = tm_machine(1, 13, TICK);
    run_ok(m, entry_set_ex, NULL);
    kdpc_machine_destroy(m);

    assert_true(g_ex.state_fired);
    assert_false(g_ex.ret_b);
    assert_false(g_ex.state_after_b);
    assert_int_equal(g_ex.na_after_b, 1); /* the new DPC replaced the old one */
    assert_int_equal(g_ex.nb_after_b, 1);
    assert_false(g_ex.ret_p1);
    assert_int_equal(g_ex.period_p1, 1);
    assert_ptr_equal(g_ex.dpc_p1, &g_s[0].dpc);
    assert_true(g_ex.ret_p0);
    assert_int_equal(g_ex.period_p0, 0);
    assert_int_equal(g_s[0].n, 2); /* periodic re-set as one-shot: exactly one more */
    assert_false(g_ex.ret_null);   /* the one-shot had expired */
    assert_true(g_ex.state_null);  /* it still expired and was signaled ... */
    assert_int_equal(g_s[0].n, 2); /* ... with no DPC */
    assert_int_equal(g_s[1].n, 1);
}

/* ------------------------------------------------------------------ */
/* Periodic timer: cancel, signal, state (io 1.15, 1.20, 1.21)          */

static struct {
    BOOLEAN state_before, cancel, state_after, cancel_again;
    unsigned n_at_cancel, n_later;
} g_per;

static void entry_periodic_cancel(void *ctx)
{
    (void)ctx;
    slot *s = &g_s[0];
    slot_init(s, NotificationTimer, RecordDpc);
    KeStallExecutionProcessor(1);
    (void)KeSetTimerEx(&s->timer, li(REL_US(150)), 1, &s->dpc);
    wait_calls(s, 3);
    g_per.state_before = KeReadStateTimer(&s->timer); /* io 1.20: stays signaled */
    g_per.n_at_cancel = s->n;
    g_per.cancel = KeCancelTimer(&s->timer);
    g_per.state_after = KeReadStateTimer(&s->timer); /* io 1.15: unchanged */
    stall_us(3000);
    g_per.n_later = s->n;
    g_per.cancel_again = KeCancelTimer(&s->timer);
}

static void test_periodic_timer_cancel_returns_true_and_keeps_signal_state(void **state)
{
    (void)state;
    slots_reset();
    memset(&g_per, 0xAA, sizeof(g_per));
    kdpc_machine *m = tm_machine(1, 14, TICK);
    run_ok(m, entry_periodic_cancel, NULL);
    kdpc_machine_destroy(m);

    assert_int_equal(g_per.n_at_cancel, 3);
    assert_true(g_per.state_before);
    assert_true(g_per.cancel);
    assert_true(g_per.state_after);
    assert_int_equal(g_per.n_later, 3); /* no expiry after the cancel */
    assert_false(g_per.cancel_again);
    /* due ~151 us -> tick 2, then every 1 ms (10 ticks), one tick of drift allowed (1.21) */
    assert_int_equal(g_s[0].tick[0], 2);
    for (unsigned i = 1; i < 3; i++) {
        assert_in_range(g_s[0].tick[i] - g_s[0].tick[i - 1], 10, 11);
        assert_int_equal(g_s[0].irql[i], DISPATCH_LEVEL);
    }
}

/* ------------------------------------------------------------------ */
/* Which CPU runs a timer DPC (timer.h: its target, else the CPU that set it) */

static KDPC g_setter[4];
static ULONG g_setter_cpu[4];

static void SetterDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                      PVOID SystemArgument2)
{
    (void)Dpc;
    (void)SystemArgument1;
    (void)SystemArgument2;
    slot *s = (slot *)DeferredContext;
    unsigned k = (unsigned)(s - g_s);
    g_ret[k] = KeSetTimer(&s->timer, li(REL_US(100 * (k + 1) + 50)), &s->dpc);
    g_setter_cpu[k] = KeGetCurrentProcessorNumber();
}

static void entry_cpu_placement(void *ctx)
{
    unsigned n = (unsigned)(ULONG_PTR)ctx;
    (void)KeSetSystemAffinityThreadEx(1); /* the thread stays on CPU 0 */
    /* slots 0..n-1: untargeted DPCs, each timer set by a DPC running on CPU k */
    for (unsigned k = 0; k < n; k++) {
        slot_init(&g_s[k], NotificationTimer, RecordDpc);
        KeInitializeDpc(&g_setter[k], SetterDpc, &g_s[k]);
        KeSetTargetProcessorDpc(&g_setter[k], (CCHAR)k);
    }
    /* slots 4..4+n-1: DPCs targeted at CPU (k+1) % n, timers set from CPU 0 */
    for (unsigned k = 0; k < n; k++) {
        slot *s = &g_s[4 + k];
        slot_init(s, NotificationTimer, RecordDpc);
        KeSetTargetProcessorDpc(&s->dpc, (CCHAR)((k + 1) % n));
        g_ret[8 + k] = KeSetTimer(&s->timer, li(REL_US(100 * (k + 1) + 50)), &s->dpc);
    }
    for (unsigned k = 0; k < n; k++)
        (void)KeInsertQueueDpc(&g_setter[k], NULL, NULL);
}

static void check_cpu_placement(unsigned n, uint64_t seed)
{
    slots_reset();
    memset(g_ret, 0xAA, sizeof(g_ret));
    memset(g_setter_cpu, 0xAA, sizeof(g_setter_cpu));
    kdpc_machine *m = tm_machine(n, seed, TICK);
    KDPC_NAME(m, SetterDpc);
    run_ok(m, entry_cpu_placement, (void *)(ULONG_PTR)n);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);

    for (unsigned k = 0; k < n; k++) {
        assert_int_equal(g_setter_cpu[k], k); /* the setter ran on CPU k */
        assert_false(g_ret[k]);
        assert_int_equal(g_s[k].n, 1);
        assert_int_equal(g_s[k].cpu[0], k); /* untargeted: the CPU that set it */
        assert_int_equal(g_s[k].irql[0], DISPATCH_LEVEL);
        assert_false(g_ret[8 + k]);
        assert_int_equal(g_s[4 + k].n, 1);
        assert_int_equal(g_s[4 + k].cpu[0], (k + 1) % n); /* targeted: its target */
        assert_int_equal(g_s[4 + k].irql[0], DISPATCH_LEVEL);
    }
}

static void test_timer_dpc_runs_on_its_target_cpu_or_the_cpu_that_set_it_2_cpus(void **state)
{
    (void)state;
    check_cpu_placement(2, 15);
}

static void test_timer_dpc_runs_on_its_target_cpu_or_the_cpu_that_set_it_4_cpus(void **state)
{
    (void)state;
    check_cpu_placement(4, 16);
}

static ULONG g_thread_cpu;

static void entry_set_from_cpu1_thread(void *ctx)
{
    (void)ctx;
    slot_init(&g_s[0], NotificationTimer, RecordDpc);
    (void)KeSetSystemAffinityThreadEx(2);
    g_thread_cpu = KeGetCurrentProcessorNumber();
    (void)KeSetTimer(&g_s[0].timer, li(REL_US(250)), &g_s[0].dpc);
    KeRevertToUserAffinityThreadEx(0);
}

static void test_untargeted_timer_dpc_runs_on_the_cpu_of_the_thread_that_set_it(void **state)
{
    (void)state;
    slots_reset();
    g_thread_cpu = 99;
    kdpc_machine *m = tm_machine(2, 17, TICK);
    run_ok(m, entry_set_from_cpu1_thread, NULL);
    kdpc_machine_destroy(m);
    assert_int_equal(g_thread_cpu, 1);
    assert_int_equal(g_s[0].n, 1);
    assert_int_equal(g_s[0].cpu[0], 1);
    assert_int_equal(g_s[0].irql[0], DISPATCH_LEVEL);
}

/* ------------------------------------------------------------------ */
/* KeSetCoalescableTimer with TolerableDelay 0 == KeSetTimerEx (io 1.28) */

static struct {
    BOOLEAN r[3];
    BOOLEAN state_after_reset;
} g_co;

static BOOLEAN set_either(BOOLEAN coalescable, PKTIMER t, LONGLONG due, LONG period, PKDPC dpc)
{
    if (coalescable)
        return KeSetCoalescableTimer(t, li(due), (ULONG)period, 0, dpc);
    return KeSetTimerEx(t, li(due), period, dpc);
}

static void entry_coalescable(void *ctx)
{
    BOOLEAN co = (BOOLEAN)(ULONG_PTR)ctx;
    slot_init(&g_s[0], NotificationTimer, RecordDpc);
    slot_init(&g_s[1], NotificationTimer, RecordDpc);
    KeStallExecutionProcessor(1);
    g_co.r[0] = set_either(co, &g_s[0].timer, REL_US(250), 0, &g_s[0].dpc);
    g_co.r[1] = set_either(co, &g_s[0].timer, REL_US(350), 0, &g_s[0].dpc); /* queued: TRUE */
    g_co.state_after_reset = KeReadStateTimer(&g_s[0].timer);
    g_co.r[2] = set_either(co, &g_s[1].timer, REL_US(150), 1, &g_s[1].dpc); /* periodic 1 ms */
}

static void run_coalescable(BOOLEAN co, slot out[2])
{
    slots_reset();
    memset(&g_co, 0xAA, sizeof(g_co));
    kdpc_machine *m = tm_machine(1, 18, TICK);
    run_for_ok(m, entry_coalescable, (void *)(ULONG_PTR)co, 3450000u);
    kdpc_machine_destroy(m);
    memcpy(out, g_s, 2 * sizeof(slot));
}

static void test_coalescable_timer_with_zero_tolerable_delay_behaves_as_set_timer_ex(void **state)
{
    (void)state;
    static slot ex[2], co[2];
    run_coalescable(FALSE, ex);
    BOOLEAN ex_r[3];
    memcpy(ex_r, g_co.r, sizeof(ex_r));
    run_coalescable(TRUE, co);

    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(g_co.r[i], ex_r[i]);
    assert_false(g_co.r[0]);
    assert_true(g_co.r[1]); /* io 1.28: TRUE if it was already queued */
    assert_false(g_co.r[2]);
    assert_false(g_co.state_after_reset);
    for (unsigned s = 0; s < 2; s++) {
        assert_int_equal(co[s].n, ex[s].n);
        for (unsigned i = 0; i < co[s].n && i < MAXN; i++) {
            assert_int_equal(co[s].tick[i], ex[s].tick[i]);
            assert_int_equal(co[s].ns[i], ex[s].ns[i]);
            assert_int_equal(co[s].cpu[i], ex[s].cpu[i]);
        }
    }
    /* one-shot: only the second due time (~351 us -> tick 4) */
    assert_int_equal(co[0].n, 1);
    assert_call_at_tick(&co[0], 0, TICK, 4);
    /* periodic 1 ms from tick 2, within 3.45 ms: ticks 2, 12, 22, 32 */
    assert_int_equal(co[1].n, 4);
    assert_call_at_tick(&co[1], 0, TICK, 2);
    for (unsigned i = 1; i < 4; i++)
        assert_in_range(co[1].tick[i] - co[1].tick[i - 1], 10, 11);
}

/* ------------------------------------------------------------------ */
/* Timers and the length of a run (timer.h, machine.h)                 */

static BOOLEAN g_cancel_next_run;

static void entry_periodic_only(void *ctx)
{
    (void)ctx;
    slot_init(&g_s[0], NotificationTimer, RecordDpc);
    (void)KeSetTimerEx(&g_s[0].timer, li(REL_US(1000)), 1, &g_s[0].dpc);
}

static void entry_cancel_slot0(void *ctx)
{
    (void)ctx;
    g_cancel_next_run = KeCancelTimer(&g_s[0].timer);
}

static void entry_one_shot_50ms(void *ctx)
{
    (void)ctx;
    slot_init(&g_s[1], NotificationTimer, RecordDpc);
    (void)KeSetTimer(&g_s[1].timer, li(REL_US(50000)), &g_s[1].dpc);
}

static void test_periodic_timer_does_not_keep_the_run_alive_but_a_one_shot_does(void **state)
{
    (void)state;
    slots_reset();
    g_cancel_next_run = FALSE;
    kdpc_machine *m = tm_machine(1, 19, TICK);
    run_ok(m, entry_periodic_only, NULL);
    /* the run ended with the periodic timer still set and before its first expiry */
    assert_true(kdpc_machine_time_ns(m) < 1000000u);
    assert_int_equal(g_s[0].n, 0);
    assert_int_not_equal(g_s[0].timer.Header.Inserted, 0);
    run_ok(m, entry_cancel_slot0, NULL);
    assert_true(g_cancel_next_run); /* it was still set */
    assert_int_equal(g_s[0].n, 0);
    kdpc_machine_destroy(m);

    /* a one-shot keeps the run alive; default 15.625 ms tick: 50 ms -> tick 4 = 62.5 ms */
    kdpc_config cfg = kt_config(1, 20);
    m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    run_ok(m, entry_one_shot_50ms, NULL);
    assert_int_equal(g_s[1].n, 1);
    assert_call_at_tick(&g_s[1], 0, 15625000u, 4);
    assert_true(kdpc_machine_time_ns(m) >= 62500000u);
    assert_int_equal(g_s[1].timer.Header.Inserted, 0);
    kdpc_machine_destroy(m);
}

static void entry_periodic_10ms(void *ctx)
{
    (void)ctx;
    slot_init(&g_s[0], NotificationTimer, RecordDpc);
    KeStallExecutionProcessor(1);
    /* set at ~1 us: due ~5 ms + call costs -> first tick 6 ms, then every 10 ms */
    (void)KeSetTimerEx(&g_s[0].timer, li(REL_US(5000)), 10, &g_s[0].dpc);
}

static void test_run_for_100ms_runs_a_10ms_periodic_dpc_10_times_and_continues(void **state)
{
    (void)state;
    slots_reset();
    g_cancel_next_run = FALSE;
    kdpc_machine *m = tm_machine(1, 21, MS_TICK);
    assert_int_equal(kdpc_machine_run_for(m, entry_periodic_10ms, NULL, 100 * MS_TICK), KDPC_OK);
    uint64_t t1 = kdpc_machine_time_ns(m);
    unsigned n1 = g_s[0].n;
    /* expiries at 6, 16, ..., 96 ms: 10 inside the first 100 ms */
    assert_int_equal(n1, 10);
    assert_true(t1 >= 100 * MS_TICK);
    assert_true(t1 < 106 * MS_TICK);
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(g_s[0].irql[i], DISPATCH_LEVEL);
        assert_int_equal(g_s[0].tick[i], 6 + 10 * i);
    }
    /* the next stretch goes on counting: 106 .. 196 ms */
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 100 * MS_TICK), KDPC_OK);
    assert_int_equal(g_s[0].n, 20);
    for (unsigned i = 10; i < 20; i++)
        assert_int_equal(g_s[0].tick[i], 6 + 10 * i);
    assert_true(kdpc_machine_time_ns(m) >= t1 + 100 * MS_TICK);
    run_ok(m, entry_cancel_slot0, NULL);
    assert_true(g_cancel_next_run);
    assert_int_equal(g_s[0].n, 20);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Expiries while the timer's KDPC is still queued (io 1.13)            */

static struct {
    BOOLEAN queued_while_blocked, cancel;
    unsigned n_while_blocked;
    uint64_t blocked_ns;
} g_q;

static void entry_expiries_while_queued(void *ctx)
{
    (void)ctx;
    slot *s = &g_s[0];
    (void)KeSetSystemAffinityThreadEx(1);
    KeInitializeDpc(&g_blocker, BlockerDpc, NULL);
    KeSetTargetProcessorDpc(&g_blocker, 1);
    slot_init(s, NotificationTimer, RecordDpc);
    KeSetTargetProcessorDpc(&s->dpc, 1);
    (void)KeInsertQueueDpc(&g_blocker, NULL, NULL);
    for (unsigned i = 0; i < POLL_MAX && !g_block_started; i++)
        KeStallExecutionProcessor(1);
    uint64_t t0 = now_ns();
    (void)KeSetTimerEx(&s->timer, li(REL_US(100)), 1, &s->dpc); /* periodic 1 ms */
    /* 3.5 ms: about four expiries, each finding the KDPC still queued on the busy CPU 1 */
    for (unsigned i = 0; i < POLL_MAX && now_ns() < t0 + 3500000u; i++)
        KeStallExecutionProcessor(10);
    g_q.blocked_ns = now_ns() - t0;
    g_q.queued_while_blocked = s->dpc.DpcData != NULL;
    g_q.n_while_blocked = s->n;
    g_q.cancel = KeCancelTimer(&s->timer);
    g_block_release = 1;
    wait_calls(s, 1);
    stall_us(300);
}

static void test_expiry_finding_its_dpc_still_queued_does_not_queue_it_again(void **state)
{
    (void)state;
    slots_reset();
    memset(&g_q, 0xAA, sizeof(g_q));
    g_block_started = 0;
    g_block_release = 0;
    kdpc_machine *m = tm_machine(2, 22, TICK);
    KDPC_NAME(m, BlockerDpc);
    run_ok(m, entry_expiries_while_queued, NULL);
    kdpc_machine_destroy(m);

    assert_true(g_q.blocked_ns >= 3500000u);
    assert_true(g_q.queued_while_blocked);
    assert_int_equal(g_q.n_while_blocked, 0);
    assert_true(g_q.cancel);
    assert_int_equal(g_s[0].n, 1); /* io 1.13: the routine runs once */
    assert_int_equal(g_s[0].cpu[0], 1);
}

/* ------------------------------------------------------------------ */
/* A one-shot timer DPC may free the block holding its KTIMER and KDPC (io 1.18) */

typedef struct owned_timer {
    KTIMER timer;
    KDPC dpc;
    unsigned char payload[64];
} owned_timer;

static unsigned g_freed;

static void FreeingDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                       PVOID SystemArgument2)
{
    (void)Dpc;
    (void)SystemArgument1;
    (void)SystemArgument2;
    owned_timer *o = (owned_timer *)DeferredContext;
    memset(o, 0xDD, sizeof(*o)); /* the memory is reused at once */
    free(o);
    g_freed++;
}

static void entry_freeing(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < 3; i++) {
        owned_timer *o = (owned_timer *)calloc(1, sizeof(*o));
        if (o == NULL)
            return;
        KeInitializeTimer(&o->timer);
        KeInitializeDpc(&o->dpc, FreeingDpc, o);
        (void)KeSetTimer(&o->timer, li(i == 0 ? 0 : REL_US(150 * i)), &o->dpc);
    }
}

static void test_one_shot_timer_dpc_may_free_its_own_timer_and_dpc(void **state)
{
    (void)state;
    g_freed = 0;
    kdpc_machine *m = tm_machine(1, 23, TICK);
    KDPC_NAME(m, FreeingDpc);
    run_ok(m, entry_freeing, NULL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
    assert_int_equal(g_freed, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize_timer_is_notification_type_8_not_signaled_and_not_set),
        cmocka_unit_test(test_relative_due_time_expires_at_first_tick_at_or_after_due),
        cmocka_unit_test(test_absolute_due_time_expires_at_first_tick_at_or_after_it),
        cmocka_unit_test(test_due_time_zero_expires_inside_the_call_and_dpc_has_run_at_passive),
        cmocka_unit_test(test_set_and_cancel_return_true_iff_the_timer_was_set),
        cmocka_unit_test(test_expired_one_shot_set_and_cancel_return_false_even_if_dpc_has_not_run),
        cmocka_unit_test(test_reset_before_expiry_means_the_first_expiry_never_happens),
        cmocka_unit_test(test_periodic_timer_is_reinserted_before_its_dpc_runs),
        cmocka_unit_test(test_timer_rearmed_from_its_own_dpc),
        cmocka_unit_test(
            test_fired_notification_timer_satisfies_every_wait_synchronization_timer_one),
        cmocka_unit_test(test_notification_timer_releases_every_waiter_synchronization_timer_one),
        cmocka_unit_test(test_periodic_synchronization_timer_is_signaled_again_every_period),
        cmocka_unit_test(test_set_timer_ex_resets_signal_state_and_replaces_period_and_dpc),
        cmocka_unit_test(test_periodic_timer_cancel_returns_true_and_keeps_signal_state),
        cmocka_unit_test(test_timer_dpc_runs_on_its_target_cpu_or_the_cpu_that_set_it_2_cpus),
        cmocka_unit_test(test_timer_dpc_runs_on_its_target_cpu_or_the_cpu_that_set_it_4_cpus),
        cmocka_unit_test(test_untargeted_timer_dpc_runs_on_the_cpu_of_the_thread_that_set_it),
        cmocka_unit_test(test_coalescable_timer_with_zero_tolerable_delay_behaves_as_set_timer_ex),
        cmocka_unit_test(test_periodic_timer_does_not_keep_the_run_alive_but_a_one_shot_does),
        cmocka_unit_test(test_run_for_100ms_runs_a_10ms_periodic_dpc_10_times_and_continues),
        cmocka_unit_test(test_expiry_finding_its_dpc_still_queued_does_not_queue_it_again),
        cmocka_unit_test(test_one_shot_timer_dpc_may_free_its_own_timer_and_dpc),
    };
    return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
