/* SPDX-License-Identifier: MIT */
/*
 * machine.c - lifecycle of the machine layer: allocation, idle threads,
 * the fibers of simulated threads, switching between them, runs, the
 * host-time watchdog, stop and free.
 *
 * Every simulated thread is a fiber on the host thread that runs the
 * machine. Its base (a sigsetjmp at the bottom of its own stack, in
 * fiber_main) is where it lands when it bug checks or its code crashed (the
 * report is written there, off the signal handler) or it terminates; from
 * there it leaves its fiber for good. A run starts by switching from the
 * host context to the first thread and ends when some thread switches back
 * to it. After a halt, and at destroy, the other threads are dropped where
 * they stand: nothing on their stacks runs again, so no fiber ever resumes
 * on a host thread that did not run it last (destroy may come from another
 * host thread).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

_Thread_local kdpc__thread *kdpc__tls_self KDPC_TLS_MODEL;

#if defined(KDPC_TLS_OUTLINE)
kdpc__thread *kdpc__self(void)
{
    return kdpc__tls_self;
}
#endif

/* Writes of the thread-local pointer after a switch go through a frame of their own (see
 * KDPC_TLS_ASM in platform.h). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void
set_self(kdpc__thread *t)
{
    kdpc__tls_self = t;
}

/* The fields that do not start at zero. */
static void init_fields(kdpc_machine *m)
{
    for (unsigned i = 0; i < m->ncpu; i++)
        m->cpus[i].index = i;
    atomic_init(&m->halted, false);
    atomic_init(&m->steps, 0u);
    atomic_init(&m->hang_steps, 0u);
    atomic_init(&m->line_cpus, 0u);
    m->next_event_ns = UINT64_MAX;
    atomic_init(&m->lines_active, 0u);
    kdpc__rng_seed(&m->rng, m->cfg.seed);
    kdpc__crash_handler_set(kdpc__contain_crash);
}

kdpc_machine *kdpc__machine_alloc(const kdpc_config *cfg, int *err)
{
    kdpc_machine *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        *err = ENOMEM;
        return NULL;
    }
    m->cfg = *cfg;
    m->ncpu = cfg->cpus;
    m->cpus = calloc(cfg->cpus, sizeof(*m->cpus));
    if (m->cpus == NULL) {
        free(m);
        *err = ENOMEM;
        return NULL;
    }
    if (kdpc__mutex_init(&m->mu) != 0) {
        free(m->cpus);
        free(m);
        *err = EAGAIN;
        return NULL;
    }
    if (kdpc__cond_init(&m->run_cv) != 0) {
        kdpc__mutex_destroy(&m->mu);
        free(m->cpus);
        free(m);
        *err = EAGAIN;
        return NULL;
    }
    init_fields(m);
    return m;
}

/* A crash on a host thread: contain it when simulated code of a running machine crashed there
 * (siglongjmp to the thread's base, off the signal handler and its alternate stack). */
void kdpc__contain_crash(const kdpc__crash *cr)
{
    kdpc__thread *t = kdpc__tls_self;
    if (t == NULL || t->m->hooks.crash == NULL || atomic_load(&t->m->halted))
        return; /* not simulated code: the host's handler decides */
    /* Only the baton holder runs simulated code (the host context runs none). */
    if (t->m->baton != t)
        return;
    /* Inside host code holding a lock (kdpc's mutex, the symbolizer, the unwinder): a jump
     * would leave the lock held. The watchdog's signal comes again later; a crash there is
     * kdpc's own and goes to the host. */
    if (__atomic_load_n(&kdpc__host_busy, __ATOMIC_RELAXED) != 0)
        return;
    /* Not on t's stack: a jump (a CMocka check failing in simulated code of a file without
     * <kdpc/cmocka.h>) left t's run behind and this is the host's code. */
    if (cr->sp != 0 && !kdpc__on_own_stack(t, cr->sp))
        return;
    /* A report is being written on this thread: anything now is the report's own. */
    if (t->reporting)
        return;
    /* The watchdog's signal is stale once the thread has passed another interleaving point:
     * it may now be in kdpc code whose state a jump would leave half-updated. */
    if (cr->sig == KDPC_HANG_SIGNAL &&
        atomic_load_explicit(&t->m->steps, memory_order_relaxed) !=
            atomic_load_explicit(&t->m->hang_steps, memory_order_relaxed))
        return;
    t->crash = *cr;
    t->crash.sigmask = NULL; /* the handler's frame is about to go */
    kdpc__crash_unblock(cr); /* t->base did not save the mask */
    siglongjmp(t->base, KDPC_UNWIND_CRASH);
}

/* Take t off m->all_threads. */
static void unlink_thread(kdpc_machine *m, kdpc__thread *t)
{
    if (t->all_prev != NULL)
        t->all_prev->all_next = t->all_next;
    else if (m->all_threads == t)
        m->all_threads = t->all_next;
    if (t->all_next != NULL)
        t->all_next->all_prev = t->all_prev;
    t->all_next = t->all_prev = NULL;
}

static void free_thread(kdpc__thread *t)
{
    kdpc__fiber_destroy(&t->fiber);
    free(t);
}

/* The thread that finished last left its fiber for the context running now: free it. A thread
 * that ended normally leaves the machine; after a halt, records stay for the reports. */
static void reap(kdpc_machine *m)
{
    kdpc__thread *z = m->zombie;
    if (z == NULL)
        return;
    m->zombie = NULL;
    if (!z->idle && !atomic_load(&m->halted) && !m->shutdown) {
        unlink_thread(m, z);
        free_thread(z);
    } else {
        kdpc__fiber_destroy(&z->fiber);
    }
}

/* The bookkeeping of a switch to @to (NULL: the host context); returns its fiber. The
 * context switched to lowers the host-busy count again (no jump out of a half-done switch). */
static kdpc__fiber *switching_to(kdpc_machine *m, kdpc__thread *to)
{
    kdpc__host_busy_enter();
    m->baton = to;
    m->switches++;
    kdpc__tls_self = to;
    return to != NULL ? &to->fiber : &m->host_ctx;
}

/* Leave the running context for @to; returns when switched back to. No fiber is switched back
 * to after a halt or at destroy: those drop the machine's threads instead (kdpc__drop_all). */
static void switch_to_ctx(kdpc_machine *m, kdpc__fiber *from, kdpc__thread *to)
{
    kdpc__fiber_switch(from, switching_to(m, to));
    kdpc__host_busy_leave();
    reap(m);
}

void kdpc__enter(kdpc_machine *m, kdpc__thread *from, kdpc__thread *to)
{
    switch_to_ctx(m, &from->fiber, to);
}

/* @t is over: it leaves its fiber for the next context and is never entered again. */
static KDPC_NORETURN void leave_for_good(kdpc_machine *m, kdpc__thread *t, kdpc__thread *to)
{
    m->zombie = t;
    kdpc__fiber_exit(&t->fiber, switching_to(m, to));
}

static void fiber_main(void *arg)
{
    kdpc__thread *volatile t = arg;
    kdpc_machine *m = t->m;
    kdpc__host_busy_leave(); /* the switch that entered this fiber */
    reap(m);
    t->started = true;
    /* The signal mask is not saved here (a system call per thread): a crash that lands here
     * from a signal handler gives back the interrupted code's mask first (kdpc__crash_unblock);
     * the other jumps here come from code that has it. */
    int how = sigsetjmp(t->base, 0);
    if (how != 0)
        kdpc__fiber_unwound();
    if (how == 0) {
        t->body(t);
    } else if (how == KDPC_UNWIND_CRASH) {
        t->reporting = true;
        m->hooks.crash(m, t); /* records the bug check and lands here again with HALT */
    }
    leave_for_good(m, t, kdpc__thread_finish(m, t, how));
}

kdpc__thread *kdpc__thread_create(kdpc_machine *m, void (*body)(kdpc__thread *), void *arg,
                                  bool idle)
{
    kdpc__thread *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    if (kdpc__fiber_create(&t->fiber, fiber_main, t, m->cfg.thread_stack_size) != 0) {
        free(t);
        return NULL;
    }
    t->m = m;
    t->idle = idle;
    t->body = body;
    t->arg = arg;
    t->state = KDPC_T_NEW;
    t->affinity = m->ncpu >= 64 ? ~0ull : ((1ull << m->ncpu) - 1u);
    t->id = m->next_thread_id++;
    t->all_next = m->all_threads;
    if (m->all_threads != NULL)
        m->all_threads->all_prev = t;
    m->all_threads = t;
    return t;
}

static void idle_body(kdpc__thread *t)
{
    for (;;)
        kdpc__sched(t->m, t);
}

int kdpc__machine_start(kdpc_machine *m)
{
    for (unsigned i = 0; i < m->ncpu; i++) {
        kdpc__cpu *c = &m->cpus[i];
        kdpc__thread *t = kdpc__thread_create(m, idle_body, NULL, true);
        if (t == NULL)
            return ENOMEM;
        t->cpu = c;
        t->state = KDPC_T_RUNNING;
        t->affinity = 1ull << i;
        c->idle = t;
        c->thread = t;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Host-time watchdog                                                   */
/*
 * Every run ends at its step limit, but a driver loop that never calls the
 * kernel passes no interleaving point, and a driver blocked in a host call
 * (sleep, a host mutex another simulated context holds) passes none either.
 * The process's watchdog thread looks at the step count every
 * KDPC_WATCH_PERIOD_MS; when it has not moved for cfg.host_hang_ms of host
 * time, the host thread running the machine gets KDPC_HANG_SIGNAL, which the
 * crash path turns into a report (hooks.crash).
 */
static void watch_fn(kdpc__hostwatch *w)
{
    kdpc_machine *m = w->ctx;
    uint64_t steps = atomic_load_explicit(&m->steps, memory_order_relaxed);
    if (steps != m->watch_steps) {
        m->watch_steps = steps;
        m->watch_idle_ms = 0;
        return;
    }
    m->watch_idle_ms += KDPC_WATCH_PERIOD_MS;
    if (m->watch_idle_ms < m->cfg.host_hang_ms)
        return;
    /* Again after every further host_hang_ms: the signal is ignored where the thread holds a
     * host lock, and a sanitizer may hold it until the thread's next intercepted call. */
    m->watch_idle_ms = 0;
    if (!atomic_load(&m->halted)) {
        atomic_store_explicit(&m->hang_steps, steps, memory_order_relaxed);
        (void)kdpc__hostwatch_signal(w, KDPC_HANG_SIGNAL);
    }
}

/* The host context's side of a switch into a simulated thread. */
static void host_enter(kdpc_machine *m, kdpc__thread *to)
{
    switch_to_ctx(m, &m->host_ctx, to);
    set_self(NULL);
}

void kdpc__drop_all(kdpc_machine *m)
{
    for (kdpc__thread *t = m->all_threads; t != NULL; t = t->all_next) {
        if (!t->finished) {
            t->finished = true;
            t->state = KDPC_T_DONE;
        }
        kdpc__fiber_destroy(&t->fiber);
    }
}

kdpc_machine *kdpc__abandoned_run(void)
{
    kdpc__thread *t = kdpc__tls_self;
    if (t == NULL)
        return NULL;
    if (kdpc__on_own_stack(t, (uintptr_t)__builtin_frame_address(0)))
        return NULL; /* really simulated code */
    kdpc_machine *m = t->m;
    kdpc__tls_self = NULL;
    kdpc__fiber_abandoned(&m->host_ctx);
    __atomic_store_n(&kdpc__host_busy, 0u, __ATOMIC_RELAXED);
    kdpc__hostwatch_remove(&m->watch);
    kdpc__altstack_pop();
    m->baton = NULL;
    atomic_store(&m->halted, true);
    m->run_result = KDPC_E_HALTED;
    kdpc__drop_all(m); /* t's stack too: the jump went back to the host's own */
    if (m->hooks.abandoned != NULL)
        m->hooks.abandoned(m);
    if (m->cfg.log != NULL) {
        fprintf(m->cfg.log,
                "kdpc: a jump left the run of machine %p (seed %llu) from simulated code without "
                "ending it - a CMocka check failing in a file that does not include "
                "<kdpc/cmocka.h>, or a longjmp out of driver code; the machine is halted\n",
                (void *)m, (unsigned long long)m->cfg.seed);
        fflush(m->cfg.log);
    }
    return m;
}

/* The host thread ended with a run a jump left behind (see kdpc__host_exit_arm): a destroy on
 * another host thread would wait for that run forever. */
static void abandoned_at_exit(void)
{
    (void)kdpc__abandoned_run();
}

kdpc_status kdpc__machine_run(kdpc_machine *m, kdpc__thread *entry, uint64_t deadline_ns)
{
    /* The entry becomes ready; CPU 0's thread runs first (its idle thread takes the entry at
     * once), unless a deadline stopped a thread last time: that one goes on first. */
    if (entry != NULL)
        kdpc__thread_ready(m, entry);
    kdpc__thread *first = m->resume != NULL ? m->resume : m->cpus[0].thread;
    m->resume = NULL;
    m->deadline_ns = deadline_ns;
    m->run_result = KDPC_OK;
    bool watched = false;
    if (m->cfg.host_hang_ms != 0) {
        m->watch.fn = watch_fn;
        m->watch.ctx = m;
        m->watch_steps = atomic_load_explicit(&m->steps, memory_order_relaxed);
        m->watch_idle_ms = 0;
        watched = kdpc__hostwatch_add(&m->watch) == 0;
    }
    kdpc__altstack_push();
    kdpc__host_exit_arm(abandoned_at_exit);
    kdpc__fiber_host(&m->host_ctx);
    host_enter(m, first);
    kdpc__fiber_host_done();
    kdpc__host_exit_disarm();
    if (watched)
        kdpc__hostwatch_remove(&m->watch);
    if (atomic_load(&m->halted))
        kdpc__drop_all(m);
    kdpc__altstack_pop();
    m->deadline_ns = 0;
    return m->run_result;
}

void kdpc__machine_stop(kdpc_machine *m)
{
    m->shutdown = true;
    reap(m);
    kdpc__drop_all(m);
}

/* Stop, then free every thread and the last report. */
static void release_all(kdpc_machine *m)
{
    kdpc__machine_stop(m);
    kdpc__thread *t = m->all_threads;
    while (t != NULL) {
        kdpc__thread *next = t->all_next;
        free_thread(t);
        t = next;
    }
    m->all_threads = NULL;
    free(m->deadlock_report);
    m->deadlock_report = NULL;
}

void kdpc__machine_reset(kdpc_machine *m, uint64_t seed)
{
    release_all(m);
    /* Everything as kdpc__machine_alloc leaves it, except the tail from mu on (host objects
     * and the native API's bookkeeping: a destroy on another host thread may be waiting). Under
     * mu: kdpc_line_assert may come from another host thread. */
    kdpc_config cfg = m->cfg;
    cfg.seed = seed;
    kdpc__cpu *cpus = m->cpus;
    kdpc__mutex_lock(&m->mu);
    memset(m, 0, offsetof(kdpc_machine, mu));
    memset(cpus, 0, cfg.cpus * sizeof(*cpus));
    m->cfg = cfg;
    m->ncpu = cfg.cpus;
    m->cpus = cpus;
    m->dead = false;
    init_fields(m);
    kdpc__mutex_unlock(&m->mu);
}

void kdpc__machine_free(kdpc_machine *m)
{
    release_all(m);
    kdpc__cond_destroy(&m->run_cv);
    kdpc__mutex_destroy(&m->mu);
    free(m->cpus);
    free(m);
}
