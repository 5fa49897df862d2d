/* SPDX-License-Identifier: MIT */
/*
 * sched.c - interleaving points, the baton (the running context: switching
 * it is a fiber switch, machine.c), thread switches on a CPU, blocking,
 * spinning, and the end of a run (quiescence or deadlock).
 *
 * At an interleaving point the running context, in this order:
 *   1. takes a deliverable device interrupt on its CPU (the random policy
 *      may let it wait one more point; an idle CPU never waits);
 *   2. runs the DISPATCH software interrupt if its IRQL is below
 *      DISPATCH_LEVEL and no DPC routine is active there;
 *   3. below DISPATCH_LEVEL, lets a ready thread onto its CPU (always from
 *      the idle thread; by policy from a running thread: preemption);
 *   4. picks the CPU that runs next among the enabled ones (policy) and,
 *      if that is another CPU, switches to the thread on it. When it is
 *      switched back to, this context was chosen: it does its CPU's urgent
 *      work (steps 1-2) and goes on without choosing again.
 * Steps 1-2 run driver code nested on this thread's stack; after them the
 * loop starts again, so a return from kdpc__sched always leaves nothing
 * urgent behind on this CPU.
 *
 * A CPU is enabled when the thread on it can make progress: a running
 * thread that is not spinning (or whose spin predicate now holds, or that
 * has a deliverable interrupt), or an idle thread with work (a DISPATCH
 * request, a deliverable interrupt, a ready thread it may run, deferred
 * DPCs). No enabled CPU ends the run: quiescent when no thread is left,
 * deadlocked when some thread spins or is blocked forever. Only the CPUs in
 * the machine's bit sets (busy, spinning, with work, reachable by an active
 * line or a ready thread) are looked at: an interleaving point costs O(1) in
 * the number of CPUs, and the choice is the same as looking at all of them.
 */
#include <stdlib.h>

#include <kdpc/trace.h>
#include "base/assert.h"
#include "sim/sim.h"

/* Invariants 2 and 3 of sim.h: one thread per CPU, RUNNING iff on a CPU. */
static bool sim_check(const kdpc_machine *m)
{
    for (unsigned i = 0; i < m->ncpu; i++) {
        const kdpc__cpu *c = &m->cpus[i];
        if (c->thread == NULL || c->idle == NULL || c->idle->cpu != c)
            return false;
        if (!c->thread->idle && (c->thread->state != KDPC_T_RUNNING || c->thread->cpu != c))
            return false;
    }
    for (const kdpc__thread *r = m->ready_head; r != NULL; r = r->ready_next) {
        if (r->state != KDPC_T_READY || r->cpu != NULL)
            return false;
    }
    return true;
}

static void event(kdpc_machine *m, unsigned kind, const kdpc__cpu *c, uintptr_t obj, uint64_t arg)
{
    if (m->hooks.event != NULL)
        (void)m->hooks.event(m, kind, c, obj, arg, 0);
}

/* Keep c's bits in m->busy_cpus and m->spin_cpus in step with its thread, in_hook and
 * spin_pred: called wherever one of those changes. */
static inline void update_cpu(kdpc_machine *m, const kdpc__cpu *c)
{
    uint64_t bit = 1ull << c->index;
    if (c->thread->idle && c->in_hook == 0 && c->spin_pred == NULL)
        m->busy_cpus &= ~bit;
    else
        m->busy_cpus |= bit;
    if (c->spin_pred != NULL)
        m->spin_cpus |= bit;
    else
        m->spin_cpus &= ~bit;
}

void kdpc__charge(kdpc_machine *m, kdpc__cpu *c, uint64_t ns)
{
    m->now_ns = kdpc__time_add(m->now_ns, ns);
    c->own_ns = kdpc__time_add(c->own_ns, ns);
}

/* One more interleaving point: the run ends at its step or time limit. */
static inline void count_step(kdpc_machine *m)
{
    uint64_t steps = atomic_load_explicit(&m->steps, memory_order_relaxed) + 1;
    atomic_store_explicit(&m->steps, steps, memory_order_relaxed);
    if ((m->step_limit != 0 && steps > m->step_limit) ||
        (m->limit_ns != 0 && m->now_ns >= m->limit_ns))
        kdpc__timeout_and_unwind(m);
}

static void handoff(kdpc_machine *m, kdpc__thread *from, kdpc__thread *to)
{
    kdpc__enter(m, from, to);
    if (m->hooks.resumed != NULL)
        m->hooks.resumed(m);
}

static kdpc__thread *ready_for(kdpc_machine *m, const kdpc__cpu *c, kdpc__thread **prevp)
{
    kdpc__thread *prev = NULL;
    for (kdpc__thread *r = m->ready_head; r != NULL; prev = r, r = r->ready_next) {
        if ((r->affinity >> c->index) & 1u) {
            *prevp = prev;
            return r;
        }
    }
    return NULL;
}

static void ready_unlink(kdpc_machine *m, kdpc__thread *r, kdpc__thread *prev)
{
    if (prev == NULL)
        m->ready_head = r->ready_next;
    else
        prev->ready_next = r->ready_next;
    if (m->ready_tail == r)
        m->ready_tail = prev;
    r->ready_next = NULL;
    uint64_t cpus = 0;
    for (const kdpc__thread *o = m->ready_head; o != NULL; o = o->ready_next)
        cpus |= o->affinity;
    m->ready_cpus = cpus;
}

static void ready_append(kdpc_machine *m, kdpc__thread *t)
{
    m->ready_cpus |= t->affinity;
    t->ready_next = NULL;
    if (m->ready_tail != NULL)
        m->ready_tail->ready_next = t;
    else
        m->ready_head = t;
    m->ready_tail = t;
}

static bool deliverable(kdpc_machine *m, const kdpc__cpu *c, unsigned *line)
{
    return atomic_load_explicit(&m->lines_active, memory_order_acquire) != 0 &&
           kdpc__line_deliverable(m, c, line);
}

static bool enabled(kdpc_machine *m, kdpc__cpu *e)
{
    unsigned line;
    kdpc__thread *th = e->thread;
    if (th->idle && e->in_hook == 0 && e->spin_pred == NULL) {
        kdpc__thread *prev;
        if (e->soft_pending & KDPC_SOFT_DISPATCH)
            return true;
        if (deliverable(m, e, &line))
            return true;
        if (m->ready_head != NULL && ready_for(m, e, &prev) != NULL)
            return true;
        return m->hooks.idle_work != NULL && m->hooks.idle_work(m, e);
    }
    if (e->spin_pred != NULL && !e->spin_pred(e->spin_arg))
        return deliverable(m, e, &line);
    return true;
}

/* Without -mpopcnt, __builtin_popcountll is a call into libgcc. */
static inline unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/* CPUs that may be enabled: every one outside this set is an idle thread at rest with nothing
 * to do, for which enabled() would say false without side effects. Busy CPUs that do not spin
 * are enabled for sure. Costs O(1) in the number of CPUs. */
static uint64_t maybe_enabled(kdpc_machine *m)
{
    uint64_t lines = atomic_load_explicit(&m->lines_active, memory_order_acquire) != 0
                         ? atomic_load_explicit(&m->line_cpus, memory_order_acquire)
                         : 0;
    uint64_t ready = m->ready_head != NULL ? m->ready_cpus : 0;
    return m->busy_cpus | m->work_cpus | lines | ready;
}

/* enabled() for a CPU of the maybe set; an idle CPU found without work leaves work_cpus. */
static bool check(kdpc_machine *m, kdpc__cpu *e)
{
    uint64_t bit = 1ull << e->index;
    if ((m->busy_cpus & bit) && !(m->spin_cpus & bit))
        return true;
    if (enabled(m, e))
        return true;
    if (!(m->busy_cpus & bit))
        m->work_cpus &= ~bit; /* no DISPATCH request, no queued DPC (idle_work said so) */
    return false;
}

static kdpc__cpu *choose(kdpc_machine *m, kdpc__cpu *c)
{
    if (m->ncpu == 1)
        return enabled(m, c) ? c : NULL;
    uint64_t maybe = maybe_enabled(m);
    if (m->cfg.policy == KDPC_POLICY_ROUND_ROBIN) {
        /* The first enabled CPU after c, cyclically: those above c first, then the rest. */
        unsigned from = (c->index + 1u) % m->ncpu;
        uint64_t above = from == 0 ? maybe : maybe & ~((1ull << from) - 1u);
        uint64_t order[2] = {above, maybe & ~above};
        for (unsigned part = 0; part < 2; part++) {
            for (uint64_t bits = order[part]; bits != 0; bits &= bits - 1) {
                kdpc__cpu *e = &m->cpus[__builtin_ctzll(bits)];
                if (check(m, e))
                    return e;
            }
        }
        return NULL;
    }
    /* Seeded random: uniform among the enabled CPUs, in index order. When every CPU of the
     * maybe set is surely enabled (busy, not spinning) no CPU needs a closer look. */
    uint64_t sure = m->busy_cpus & ~m->spin_cpus;
    uint64_t en = sure & maybe;
    for (uint64_t bits = maybe & ~sure; bits != 0; bits &= bits - 1) {
        unsigned i = (unsigned)__builtin_ctzll(bits);
        if (check(m, &m->cpus[i]))
            en |= 1ull << i;
    }
    unsigned n = popcount64(en);
    if (n == 0)
        return NULL;
    unsigned k = n == 1 ? 0 : kdpc__rng_below(&m->rng, n);
    while (k-- > 0)
        en &= en - 1;
    return &m->cpus[__builtin_ctzll(en)];
}

static bool any_spinning(const kdpc_machine *m)
{
    return m->spin_cpus != 0;
}

/* Nothing is enabled: let the layers above advance time, else end the run. */
static kdpc__cpu *choose_or_end(kdpc_machine *m, kdpc__cpu *c)
{
    for (;;) {
        kdpc__cpu *d = choose(m, c);
        if (d != NULL)
            return d;
        bool advanced = m->hooks.advance != NULL && m->hooks.advance(m);
        if (m->limit_ns != 0 && m->now_ns >= m->limit_ns)
            kdpc__timeout_and_unwind(m);
        if (advanced)
            continue;
        kdpc_status result = KDPC_OK;
        bool time_up = m->deadline_ns != 0 && m->now_ns >= m->deadline_ns;
        if (!time_up && (m->live_workers > 0 || any_spinning(m))) {
            result = KDPC_DEADLOCK;
            if (m->hooks.deadlock != NULL)
                m->hooks.deadlock(m);
        }
        if (result == KDPC_OK && !time_up && m->hooks.quiescent != NULL)
            m->hooks.quiescent(m);
        if (result == KDPC_DEADLOCK) {
            kdpc__mutex_lock(&m->mu);
            m->dead = true;
            kdpc__mutex_unlock(&m->mu);
        }
        m->run_result = result;
        return NULL;
    }
}

/* The run is over: back to the host context until a later run picks t. */
static void park(kdpc_machine *m, kdpc__thread *t)
{
    handoff(m, t, NULL);
}

static void go_to(kdpc_machine *m, kdpc__thread *t, kdpc__cpu *from, kdpc__cpu *d)
{
    if (d->index != from->index)
        event(m, KDPC_EV_CPU_SWITCH, from, 0, d->index);
    handoff(m, t, d->thread);
}

/* Put r on CPU c in place of t (t: idle, or a preempted thread that becomes READY). */
static void switch_to(kdpc_machine *m, kdpc__thread *t, kdpc__cpu *c, kdpc__thread *r,
                      kdpc__thread *prev)
{
    ready_unlink(m, r, prev);
    if (!t->idle) {
        t->state = KDPC_T_READY;
        t->cpu = NULL;
        t->saved_irql = c->irql;
        ready_append(m, t);
    }
    c->thread = r;
    r->cpu = c;
    r->state = KDPC_T_RUNNING;
    c->irql = r->saved_irql;
    update_cpu(m, c);
    event(m, KDPC_EV_THREAD_SWITCH, c, 0, r->id);
    handoff(m, t, r);
}

static bool policy_coin(kdpc_machine *m, unsigned permille)
{
    if (m->cfg.policy == KDPC_POLICY_ROUND_ROBIN)
        return true;
    return kdpc__rng_below(&m->rng, 1000) >= permille;
}

/* What a CPU spins on (kdpc__spin_until), saved around work that must not see it. */
typedef struct spin_state {
    bool (*pred)(void *);
    void *arg;
    const void *on;
} spin_state;

static spin_state spin_save(const kdpc__cpu *c)
{
    spin_state s = {c->spin_pred, c->spin_arg, c->spin_on};
    return s;
}

static void spin_restore(kdpc_machine *m, kdpc__cpu *c, spin_state s)
{
    c->spin_pred = s.pred;
    c->spin_arg = s.arg;
    c->spin_on = s.on;
    update_cpu(m, c);
}

/* An interrupt or the DPC drain runs on top of a spinning context: not spinning itself. */
static spin_state hook_enter(kdpc_machine *m, kdpc__cpu *c)
{
    spin_state s = spin_save(c);
    c->spin_pred = NULL;
    c->spin_on = NULL;
    c->in_hook++;
    update_cpu(m, c);
    return s;
}

static void hook_leave(kdpc_machine *m, kdpc__cpu *c, spin_state s)
{
    c->in_hook--;
    spin_restore(m, c, s);
}

static void run_hook_interrupt(kdpc_machine *m, kdpc__cpu *c, unsigned line)
{
    spin_state s = hook_enter(m, c);
    m->hooks.interrupt(m, c, line);
    kdpc__line_eoi(m, line);
    hook_leave(m, c, s);
}

static void run_hook_dispatch(kdpc_machine *m, kdpc__cpu *c)
{
    spin_state s = hook_enter(m, c);
    m->hooks.dispatch(m, c);
    hook_leave(m, c, s);
}

void kdpc__sched(kdpc_machine *m, kdpc__thread *t)
{
    /* Once the baton has come back to t, t was chosen: after its CPU's urgent work it goes
     * on. Choosing again would let round robin pass the baton around forever. */
    bool resumed = false;
    for (;;) {
        count_step(m);
        KDPC_ASSERT(m->baton == t && t->cpu != NULL && t->cpu->thread == t);
        /* The whole machine every 1024 points (O(CPUs + ready threads)): debug builds keep an
         * interleaving point O(1) on average too. */
        KDPC_ASSERT((atomic_load_explicit(&m->steps, memory_order_relaxed) & 1023u) != 0 ||
                    sim_check(m));
        kdpc__cpu *c = t->cpu;
        unsigned line;
        if (deliverable(m, c, &line) &&
            (t->idle || policy_coin(m, m->cfg.interrupt_delay_permille))) {
            kdpc__line_take(m, line);
            run_hook_interrupt(m, c, line);
            continue;
        }
        if (c->irql < KDPC_IRQL_DISPATCH && c->no_switch == 0) {
            if (c->soft_pending & KDPC_SOFT_DISPATCH) {
                c->soft_pending &= ~KDPC_SOFT_DISPATCH;
                run_hook_dispatch(m, c);
                continue;
            }
            if (m->ready_head != NULL && c->spin_pred == NULL &&
                (t->idle ? c->in_hook == 0 : true)) {
                kdpc__thread *prev;
                kdpc__thread *r = ready_for(m, c, &prev);
                if (r != NULL && (t->idle || (!resumed && policy_coin(m, 500)))) {
                    switch_to(m, t, c, r, prev);
                    resumed = true;
                    continue;
                }
            }
        }
        if (resumed || (m->ncpu == 1 && !t->idle && c->spin_pred == NULL))
            return; /* chosen, or the only CPU running a thread that can go on */
        kdpc__cpu *d = choose_or_end(m, c);
        if (d == c)
            return;
        if (d == NULL)
            park(m, t);
        else
            go_to(m, t, c, d);
        resumed = true;
    }
}

/* kdpc_machine_run_for's time is up: end the run here; t goes on first in the next run. */
static void stop_at_deadline(kdpc_machine *m, kdpc__thread *t)
{
    m->resume = t;
    m->run_result = KDPC_OK;
    kdpc__enter(m, t, NULL);
}

void kdpc__sched_point(kdpc_machine *m)
{
    kdpc__thread *t = kdpc__self();
    kdpc__cpu *c = t->cpu;
    kdpc__charge(m, c, m->cfg.call_cost_ns);
    count_step(m);
    if (m->now_ns >= m->next_event_ns && m->hooks.time != NULL)
        m->hooks.time(m);
    if (m->deadline_ns != 0 && m->now_ns >= m->deadline_ns)
        stop_at_deadline(m, t);
    /* Fast path: one CPU running a thread, no interrupt line active, nobody ready. Then
     * kdpc__sched would at most run the DISPATCH request and return; no random choice is
     * drawn either way, so taking the shortcut changes nothing in the run. */
    if (m->ncpu == 1 && !t->idle && c->spin_pred == NULL && m->ready_head == NULL &&
        atomic_load_explicit(&m->lines_active, memory_order_acquire) == 0) {
        if (c->soft_pending == 0 || c->irql >= KDPC_IRQL_DISPATCH || c->no_switch != 0)
            return;
        c->soft_pending &= ~KDPC_SOFT_DISPATCH;
        /* (busy_cpus needs no update: a CPU running a thread is busy either way) */
        c->in_hook++;
        m->hooks.dispatch(m, c);
        c->in_hook--;
        if (c->soft_pending == 0 && m->ready_head == NULL &&
            atomic_load_explicit(&m->lines_active, memory_order_acquire) == 0)
            return;
    }
    kdpc__sched(m, t);
}

/* The current thread t has left CPU c (blocked, migrating, finished): run something else. */
static void give_away(kdpc_machine *m, kdpc__thread *t, kdpc__cpu *c)
{
    kdpc__cpu *d = choose_or_end(m, c);
    if (d == NULL) {
        park(m, t);
        return;
    }
    event(m, KDPC_EV_CPU_SWITCH, c, 0, d->index);
    handoff(m, t, d->thread);
}

void kdpc__thread_ready(kdpc_machine *m, kdpc__thread *t)
{
    if (t->state == KDPC_T_NEW || t->daemon_wait)
        m->live_workers++;
    t->daemon_wait = false;
    t->state = KDPC_T_READY;
    ready_append(m, t);
}

/* The current thread leaves its CPU in @state (its IRQL goes with it); something else runs. */
static void leave_cpu(kdpc_machine *m, kdpc__tstate state)
{
    kdpc__thread *t = kdpc__self();
    kdpc__cpu *c = t->cpu;
    t->state = state;
    t->cpu = NULL;
    t->saved_irql = c->irql;
    c->irql = 0;
    c->thread = c->idle;
    update_cpu(m, c);
    event(m, KDPC_EV_THREAD_SWITCH, c, 0, c->idle->id); /* the trace sees the CPU go idle */
    if (state == KDPC_T_READY)
        ready_append(m, t);
    give_away(m, t, c);
}

void kdpc__thread_block(kdpc_machine *m)
{
    leave_cpu(m, KDPC_T_BLOCKED);
}

void kdpc__thread_block_daemon(kdpc_machine *m)
{
    kdpc__thread *t = kdpc__self();
    t->daemon_wait = true;
    m->live_workers--;
    kdpc__thread_block(m);
}

void kdpc__thread_migrate(kdpc_machine *m)
{
    leave_cpu(m, KDPC_T_READY);
}

void kdpc__spin_until(kdpc_machine *m, bool (*pred)(void *), void *arg, const void *what)
{
    kdpc__thread *t = kdpc__self();
    if (pred(arg))
        return;
    kdpc__cpu *c = t->cpu;
    spin_state saved = spin_save(c);
    for (;;) {
        c->spin_pred = pred;
        c->spin_arg = arg;
        c->spin_on = what;
        update_cpu(m, c);
        kdpc__sched(m, t);
        c = t->cpu;
        if (pred(arg))
            break;
    }
    spin_restore(m, c, saved);
}

/* End the run with @result: every simulated context unwinds to its base, the machine halts. */
static KDPC_NORETURN void halt_and_unwind(kdpc_machine *m, kdpc_status result)
{
    kdpc__thread *t = kdpc__self();
    atomic_store(&m->halted, true);
    m->run_result = result;
    siglongjmp(t->base, KDPC_UNWIND_HALT);
}

void kdpc__halt_and_unwind(kdpc_machine *m)
{
    halt_and_unwind(m, KDPC_BUGCHECK);
}

void kdpc__timeout_and_unwind(kdpc_machine *m)
{
    m->timed_out_on_steps =
        m->step_limit != 0 && atomic_load_explicit(&m->steps, memory_order_relaxed) > m->step_limit;
    m->step_limit = 0; /* the report below may pass interleaving points of its own */
    m->limit_ns = 0;
    if (m->hooks.timeout != NULL)
        m->hooks.timeout(m);
    halt_and_unwind(m, KDPC_TIMEOUT);
}

void kdpc__halt_from_host(kdpc_machine *m)
{
    atomic_store(&m->halted, true);
    kdpc__drop_all(m);
}

void kdpc__thread_terminate(kdpc_machine *m)
{
    (void)m;
    siglongjmp(kdpc__self()->base, KDPC_UNWIND_TERMINATE);
}

kdpc__thread *kdpc__thread_finish(kdpc_machine *m, kdpc__thread *t, int how)
{
    if (how == KDPC_UNWIND_HALT || t->idle) {
        t->state = KDPC_T_DONE;
        t->finished = true;
        return NULL; /* back to the host context, which unwinds the others */
    }
    if (m->hooks.thread_exit != NULL)
        m->hooks.thread_exit(m, t); /* may bug check: lands at the base again with HALT */
    kdpc__cpu *c = t->cpu;
    event(m, KDPC_EV_THREAD_EXIT, c, 0, t->id);
    t->cpu = NULL;
    c->thread = c->idle;
    update_cpu(m, c);
    m->live_workers--;
    t->state = KDPC_T_DONE;
    t->finished = true;
    kdpc__cpu *d = choose_or_end(m, c);
    return d != NULL ? d->thread : NULL;
}
