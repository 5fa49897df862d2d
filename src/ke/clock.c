/* SPDX-License-Identifier: MIT */
/*
 * clock.c - the clock tick and virtual time: KeQuerySystemTime,
 * KeQueryTickCount, KeQueryTimeIncrement, the per-tick DPC queue tuning,
 * and the time jump of an idle machine.
 *
 * A tick happens every cfg.clock_tick_ns of virtual time. At each tick, on
 * every CPU (dpc-irql.md 4.14, ReactOS's algorithm): the DPC request rate
 * becomes the average of the insertions since the last tick and the old
 * rate; a CPU whose queue is not empty and which runs no DPC routine gets a
 * DISPATCH request (so deferred DPCs run no later than the next tick) and,
 * when its rate is below IdealDpcRate, a smaller MaximumDpcQueueDepth;
 * otherwise AdjustDpcThreshold counts down and, at 0, lets the depth grow
 * back to its default. Then every timer due at or before the tick expires.
 *
 * Ticks are processed at the first interleaving point at or after their
 * time, on whichever CPU reaches it. Divergence: Windows interrupts every
 * CPU at CLOCK_LEVEL; kdpc applies the same per-CPU bookkeeping from one
 * place, since the tick has no driver-visible routine of its own.
 *
 * When nothing can run, time jumps to the tick at which the next timer
 * expires (a one-shot timer or a wait timeout; periodic timers too while a
 * thread is blocked or a timed run goes on), skipping the idle ticks.
 *
 * Device events (dev/event.c) run at their exact virtual time, not on a
 * tick: the tick's time is kept in ke->next_tick_ns and m->next_event_ns is
 * the earlier of the next tick and the next device event, so the time hook
 * runs at the first interleaving point at or after either. When nothing can
 * run, time jumps to the earlier of the timer's tick and the next event
 * (exactly); a pending foreground event keeps the run going, a background
 * one only when periodic timers would (a blocked thread, a timed run).
 */
#include <stdlib.h>

#include "dev/dev.h"
#include "ke/ke.h"

static void tick_cpu(kdpc_machine *m, kdpc__cpu *c)
{
    kdpc__kecpu *kc = kdpc__kecpu_of(c);
    kc->dpc_rate = ((kc->dpc_count - kc->dpc_last_count) + kc->dpc_rate) / 2u;
    kc->dpc_last_count = kc->dpc_count;
    if (!IsListEmpty(&kc->dpc_queue) && !kc->dpc_active) {
        kc->adjust = KDPC_ADJUST_DPC_THRESHOLD;
        c->soft_pending |= KDPC_SOFT_DISPATCH;
        kdpc__cpu_work(m, c);
        if (kc->dpc_rate < KDPC_IDEAL_DPC_RATE && kc->max_depth > 1)
            kc->max_depth--;
    } else if (--kc->adjust == 0) {
        kc->adjust = KDPC_ADJUST_DPC_THRESHOLD;
        if (kc->max_depth < KDPC_MAX_DPC_QUEUE_DEPTH)
            kc->max_depth++;
    }
}

/* First tick at or after @ns. */
static uint64_t tick_at_or_after(const kdpc_machine *m, uint64_t ns)
{
    uint64_t tick = m->cfg.clock_tick_ns;
    uint64_t k = ns / tick + (ns % tick != 0);
    return k > UINT64_MAX / tick ? UINT64_MAX - (UINT64_MAX % tick) : k * tick;
}

static void process_ticks(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    uint64_t tick = m->cfg.clock_tick_ns;
    unsigned bookkeeping = 0;
    while (ke->next_tick_ns <= m->now_ns) {
        if (bookkeeping >= 64) {
            /* The rate has decayed to 0 and the depths are back: skip the idle ticks up to
             * the next timer due (or now), counting them. */
            uint64_t due = m->now_ns;
            uint64_t first;
            if (kdpc__ke_timers_pending(m, true, &first) && first < due)
                due = first;
            uint64_t to = tick_at_or_after(m, due);
            if (to > ke->next_tick_ns) {
                ke->ticks += (to - ke->next_tick_ns) / tick;
                ke->next_tick_ns = to;
            }
            if (ke->next_tick_ns > m->now_ns)
                break;
        }
        uint64_t at = ke->next_tick_ns;
        ke->ticks++;
        if (bookkeeping < 64) {
            for (unsigned i = 0; i < m->ncpu; i++)
                tick_cpu(m, &m->cpus[i]);
        }
        bookkeeping++;
        kdpc__ke_expire_timers(m, at);
        if (at > UINT64_MAX - tick) {
            /* The end of virtual time: it saturates there; no tick follows. */
            ke->next_tick_ns = UINT64_MAX;
            break;
        }
        ke->next_tick_ns = at + tick;
    }
}

/* When the time hook must run next: the next tick or the next device event. */
static void set_next_event(kdpc_machine *m)
{
    uint64_t ev = kdpc__dev_next_event(m, false);
    uint64_t tick = kdpc__ke_of(m)->next_tick_ns;
    m->next_event_ns = ev < tick ? ev : tick;
}

/* The ticks due, then the device events due (events touch no kernel state, so running them
 * after the ticks of the same point changes nothing a driver sees). */
static void process_due(kdpc_machine *m)
{
    process_ticks(m);
    kdpc__dev_run_events(m);
    set_next_event(m);
}

static void time_hook(kdpc_machine *m)
{
    process_due(m);
}

static bool advance_hook(kdpc_machine *m)
{
    /* Periodic timers keep time going while a thread is blocked (their DPC may wake it) or a
     * timed run goes on; kdpc__ke_timers_pending leaves out those that can wake nobody. */
    bool keep_periodic = m->live_workers > 0 || m->deadline_ns != 0;
    uint64_t due;
    bool timers = kdpc__ke_timers_pending(m, keep_periodic, &due);
    /* Device events: a foreground one keeps the run going; background ones count only as
     * periodic timers do, or on the way to a foreground one. An event's time is exact, not a
     * tick. */
    bool fg = kdpc__dev_next_event(m, true) != UINT64_MAX;
    uint64_t ev = kdpc__dev_next_event(m, !(keep_periodic || fg));
    if (!timers && ev == UINT64_MAX)
        return false;
    uint64_t when = UINT64_MAX;
    if (timers) {
        when = tick_at_or_after(m, due > m->now_ns ? due : m->now_ns);
        if (when < kdpc__ke_of(m)->next_tick_ns)
            when = kdpc__ke_of(m)->next_tick_ns;
    }
    if (ev != UINT64_MAX) {
        uint64_t at = ev > m->now_ns ? ev : m->now_ns;
        if (at < when)
            when = at;
    }
    /* The run ends at its deadline (kdpc_machine_run_for) or its time limit, whichever comes
     * first: time stops there instead of jumping past it. */
    uint64_t end = m->deadline_ns;
    if (m->limit_ns != 0 && (end == 0 || m->limit_ns < end))
        end = m->limit_ns;
    if (end != 0 && when > end) {
        if (m->now_ns < end)
            m->now_ns = end;
        return false;
    }
    m->now_ns = when;
    process_due(m);
    return true;
}

void kdpc__ke_clock_init(kdpc_machine *m)
{
    kdpc__ke_of(m)->next_tick_ns = m->cfg.clock_tick_ns;
    m->next_event_ns = m->cfg.clock_tick_ns;
    m->hooks.time = time_hook;
    m->hooks.advance = advance_hook;
}

uint64_t kdpc__ke_due_ns(kdpc_machine *m, LONGLONG due)
{
    if (due < 0) {
        uint64_t rel = (uint64_t)(-(due + 1)) + 1u; /* no overflow for LLONG_MIN */
        uint64_t ns = rel > UINT64_MAX / 100u ? UINT64_MAX : rel * 100u;
        return kdpc__time_add(m->now_ns, ns);
    }
    /* Absolute system time; before boot means now. */
    if (due <= m->cfg.boot_system_time)
        return 0;
    uint64_t since = (uint64_t)(due - m->cfg.boot_system_time);
    return since > UINT64_MAX / 100u ? UINT64_MAX : since * 100u;
}

void kdpc_KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    kdpc__thread *t = kdpc__self();
    if (CurrentTime == NULL)
        return;
    if (t == NULL) {
        CurrentTime->QuadPart = 0;
        return;
    }
    CurrentTime->QuadPart = t->m->cfg.boot_system_time + (LONGLONG)(t->m->now_ns / 100u);
}

void kdpc_KeQueryTickCount(PLARGE_INTEGER CurrentCount)
{
    kdpc__thread *t = kdpc__self();
    if (CurrentCount == NULL)
        return;
    CurrentCount->QuadPart = t != NULL ? (LONGLONG)kdpc__ke_of(t->m)->ticks : 0;
}

ULONG kdpc_KeQueryTimeIncrement(void)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL)
        return 156250;
    uint64_t inc = t->m->cfg.clock_tick_ns / 100u;
    return inc > 0xffffffffu ? 0xffffffffu : (ULONG)inc;
}

kdpc__run_box *kdpc__ke_run_box(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    kdpc__run_box *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->entry = entry;
    b->ctx = ctx;
    b->next = ke->boxes;
    ke->boxes = b;
    return b;
}
