/* SPDX-License-Identifier: MIT */
/*
 * machine.c - lifecycle of the machine layer: allocation, idle threads,
 * host threads of simulated threads, runs, stop and free.
 *
 * Every simulated thread is a host pthread that starts by waiting for the
 * baton. Its base (a setjmp in host_main) is where it lands when the
 * machine halts or is destroyed, so no simulated context ever unwinds
 * across host threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

_Thread_local kdpc__thread *kdpc__tls_self KDPC_TLS_MODEL;

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
    for (unsigned i = 0; i < m->ncpu; i++)
        m->cpus[i].index = i;
    atomic_init(&m->halted, false);
    m->next_event_ns = UINT64_MAX;
    atomic_init(&m->lines_active, 0u);
    kdpc__rng_seed(&m->rng, cfg->seed);
    kdpc__crash_handler_set(kdpc__contain_crash);
    return m;
}

/* A crash on a host thread: contain it when simulated code of a running machine crashed there
 * (siglongjmp to the thread's base, off the signal handler and its alternate stack). */
void kdpc__contain_crash(const kdpc__crash *cr)
{
    kdpc__thread *t = kdpc__tls_self;
    if (t == NULL || t->m->hooks.crash == NULL || atomic_load(&t->m->halted))
        return; /* not simulated code: the host's handler decides */
    /* Only the baton holder runs simulated code; elsewhere kdpc itself waits for the baton. */
    if (__atomic_load_n(&t->m->baton, __ATOMIC_RELAXED) != t)
        return;
    /* Inside host code holding a lock (kdpc's mutex, the symbolizer, the unwinder): a jump
     * would leave the lock held. The watchdog's signal comes again later; a crash there is
     * kdpc's own and goes to the host. */
    if (kdpc__host_busy != 0)
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
    siglongjmp(t->base, KDPC_UNWIND_CRASH);
}

/* Take t off m->all_threads (m->mu held). */
static void unlink_thread(kdpc_machine *m, kdpc__thread *t)
{
    for (kdpc__thread **link = &m->all_threads; *link != NULL; link = &(*link)->all_next) {
        if (*link == t) {
            *link = t->all_next;
            return;
        }
    }
}

static void free_thread(kdpc__thread *t)
{
    kdpc__cond_destroy(&t->cv);
    free(t);
}

static void *host_main(void *arg)
{
    kdpc__thread *volatile t = arg;
    kdpc_machine *m = t->m;
    kdpc__tls_self = t;
    /* Saves the signal mask: a crash lands here from a signal handler. */
    int how = sigsetjmp(t->base, 1);
    if (how == 0) {
        kdpc__mutex_lock(&m->mu);
        kdpc__wait_for_baton(m, t);
        kdpc__mutex_unlock(&m->mu);
        t->body(t);
    } else if (how == KDPC_UNWIND_CRASH) {
        t->reporting = true;
        m->hooks.crash(m, t); /* records the bug check and lands here again with HALT */
    }
    kdpc__thread_finish(m, t, how);
    kdpc__mutex_lock(&m->mu);
    m->live_hosts--;
    kdpc__cond_broadcast(&m->run_cv);
    kdpc__mutex_unlock(&m->mu);
    return NULL;
}

kdpc__thread *kdpc__thread_create(kdpc_machine *m, void (*body)(kdpc__thread *), void *arg,
                                  bool idle)
{
    kdpc__thread *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    if (kdpc__cond_init(&t->cv) != 0) {
        free(t);
        return NULL;
    }
    t->m = m;
    t->idle = idle;
    t->body = body;
    t->arg = arg;
    t->state = KDPC_T_NEW;
    t->affinity = m->ncpu >= 64 ? ~0ull : ((1ull << m->ncpu) - 1u);
    kdpc__mutex_lock(&m->mu);
    t->id = m->next_thread_id++;
    t->all_next = m->all_threads;
    m->all_threads = t;
    m->live_hosts++;
    t->started = true;
    kdpc__mutex_unlock(&m->mu);
    size_t stack = m->cfg.thread_stack_size;
    if (kdpc__hostthread_start(&t->host, host_main, t, stack) != 0) {
        kdpc__mutex_lock(&m->mu);
        unlink_thread(m, t); /* never started: nobody else knows it */
        m->live_hosts--;
        kdpc__mutex_unlock(&m->mu);
        free_thread(t);
        return NULL;
    }
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
            return EAGAIN;
        t->cpu = c;
        t->state = KDPC_T_RUNNING;
        t->affinity = 1ull << i;
        c->idle = t;
        c->thread = t;
    }
    return 0;
}

static void join_all(kdpc_machine *m)
{
    /* Called with m->mu held; drops it around each join. */
    for (;;) {
        kdpc__thread *victim = NULL;
        for (kdpc__thread *t = m->all_threads; t != NULL; t = t->all_next) {
            if (t->started && !t->joined) {
                victim = t;
                break;
            }
        }
        if (victim == NULL)
            return;
        victim->joined = true;
        kdpc__mutex_unlock(&m->mu);
        kdpc__hostthread_join(&victim->host);
        kdpc__mutex_lock(&m->mu);
    }
}

/* Join the host threads of finished simulated threads and free them, as they finish: a run
 * may create any number of threads one after another. Called with m->mu held; drops it around
 * each join. Idle threads and the halted machine's threads are left to join_all. */
static void reap_finished(kdpc_machine *m)
{
    for (;;) {
        kdpc__thread *victim = NULL;
        for (kdpc__thread *t = m->all_threads; t != NULL; t = t->all_next) {
            if (!t->idle && t->started && !t->joined && t->finished) {
                victim = t;
                break;
            }
        }
        if (victim == NULL)
            return;
        unlink_thread(m, victim); /* nobody reaches it any more */
        kdpc__mutex_unlock(&m->mu);
        kdpc__hostthread_join(&victim->host);
        free_thread(victim);
        kdpc__mutex_lock(&m->mu);
    }
}

/* ------------------------------------------------------------------ */
/* Host-time watchdog                                                   */
/*
 * Every run ends at its step limit, but a driver loop that never calls the
 * kernel passes no interleaving point. The run's caller, which only waits
 * while the run goes on, looks at the step count every WATCH_PERIOD_MS;
 * when it has not moved for cfg.host_hang_ms of host time, the host thread
 * holding the baton gets KDPC_HANG_SIGNAL, which the crash path turns into a
 * report (hooks.crash). Called with m->mu held.
 */
#define WATCH_PERIOD_MS 100u

static void watch(kdpc_machine *m, uint64_t *last_steps, unsigned *idle_ms)
{
    uint64_t steps = atomic_load_explicit(&m->steps, memory_order_relaxed);
    if (steps != *last_steps) {
        *last_steps = steps;
        *idle_ms = 0;
        return;
    }
    *idle_ms += WATCH_PERIOD_MS;
    if (*idle_ms < m->cfg.host_hang_ms)
        return;
    /* Again after every further host_hang_ms: the signal is ignored where the thread holds a
     * host lock, and a sanitizer may hold it until the thread's next intercepted call. */
    *idle_ms = 0;
    kdpc__thread *holder = m->baton;
    if (holder != NULL && !atomic_load(&m->halted)) {
        atomic_store_explicit(&m->hang_steps, steps, memory_order_relaxed);
        (void)kdpc__hostthread_signal(&holder->host, KDPC_HANG_SIGNAL);
    }
}

kdpc_status kdpc__machine_run(kdpc_machine *m, kdpc__thread *entry, uint64_t deadline_ns)
{
    kdpc__mutex_lock(&m->mu);
    /* The entry becomes ready; CPU 0's thread gets the baton first (its idle thread takes the
     * entry at once), unless a deadline stopped a thread last time: that one goes on first. */
    if (entry != NULL)
        kdpc__thread_ready(m, entry);
    kdpc__thread *first = m->resume != NULL ? m->resume : m->cpus[0].thread;
    m->resume = NULL;
    m->deadline_ns = deadline_ns;
    m->run_done = false;
    m->run_result = KDPC_OK;
    m->baton = first;
    kdpc__cond_signal(&first->cv);
    uint64_t last_steps = 0;
    unsigned idle_ms = 0;
    while (!m->run_done) {
        if (m->cfg.host_hang_ms != 0) {
            kdpc__cond_wait_ms(&m->run_cv, &m->mu, WATCH_PERIOD_MS);
            watch(m, &last_steps, &idle_ms);
        } else {
            kdpc__cond_wait(&m->run_cv, &m->mu);
        }
        if (!m->run_done && !atomic_load(&m->halted))
            reap_finished(m);
    }
    if (atomic_load(&m->halted)) {
        while (m->live_hosts > 0)
            kdpc__cond_wait(&m->run_cv, &m->mu);
        join_all(m);
    } else {
        reap_finished(m);
    }
    m->deadline_ns = 0;
    kdpc_status st = m->run_result;
    kdpc__mutex_unlock(&m->mu);
    return st;
}

void kdpc__machine_stop(kdpc_machine *m)
{
    kdpc__mutex_lock(&m->mu);
    m->shutdown = true;
    for (kdpc__thread *t = m->all_threads; t != NULL; t = t->all_next)
        kdpc__cond_signal(&t->cv);
    while (m->live_hosts > 0)
        kdpc__cond_wait(&m->run_cv, &m->mu);
    join_all(m);
    kdpc__mutex_unlock(&m->mu);
}

void kdpc__machine_free(kdpc_machine *m)
{
    kdpc__machine_stop(m);
    kdpc__thread *t = m->all_threads;
    while (t != NULL) {
        kdpc__thread *next = t->all_next;
        free_thread(t);
        t = next;
    }
    free(m->deadlock_report);
    kdpc__cond_destroy(&m->run_cv);
    kdpc__mutex_destroy(&m->mu);
    free(m->cpus);
    free(m);
}
