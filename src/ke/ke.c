/* SPDX-License-Identifier: MIT */
/*
 * ke.c - setup of the kernel layer and the helpers every kernel routine
 * shares: finding the current CPU, changing IRQL, the interleaving point
 * with the DPC watchdog, and the per-CPU stack of running driver routines.
 */
#include <stdlib.h>

#include "ke/ke.h"

void kdpc__ke_outside(const char *routine)
{
    fprintf(stderr,
            "kdpc: %s called outside a simulated CPU (not inside kdpc_machine_run); "
            "ignored\n",
            routine);
}

static uint64_t ticks(const kdpc_machine *m, uint64_t ns)
{
    return ns / m->cfg.clock_tick_ns;
}

void kdpc__ke_watchdog(kdpc_machine *m, kdpc__cpu *c)
{
    kdpc__kecpu *kc = kdpc__kecpu_of(c);
    if (kc->nframes > 0 && m->cfg.watchdog_single_ns != 0) {
        kdpc__frame *f = &kc->frames[kc->nframes - 1];
        uint64_t ran = c->own_ns - f->allot_ns;
        if (ran > m->cfg.watchdog_single_ns) {
            f->allot_ns = c->own_ns; /* as a warning it fires once per allotment */
            kdpc__violation(m, KDPC_R_DPC_WATCHDOG, 0x133, 0, ticks(m, ran),
                            ticks(m, m->cfg.watchdog_single_ns), 0, f->routine,
                            "one DPC or ISR call has run %llu us, over the watchdog allotment of "
                            "%llu us",
                            (unsigned long long)(ran / 1000u),
                            (unsigned long long)(m->cfg.watchdog_single_ns / 1000u));
        }
    }
    if (c->irql >= DISPATCH_LEVEL && m->cfg.watchdog_cumulative_ns != 0) {
        uint64_t at = c->own_ns - kc->dispatch_since;
        if (at > m->cfg.watchdog_cumulative_ns) {
            kc->dispatch_since = c->own_ns;
            kdpc__violation(m, KDPC_R_DPC_WATCHDOG, 0x133, 1,
                            ticks(m, m->cfg.watchdog_cumulative_ns), 0, 0, NULL,
                            "CPU %u has been at IRQL >= DISPATCH_LEVEL for %llu us without "
                            "dropping below it (cumulative watchdog %llu us)",
                            c->index, (unsigned long long)(at / 1000u),
                            (unsigned long long)(m->cfg.watchdog_cumulative_ns / 1000u));
        }
    }
}

void *kdpc__ke_current_driver(kdpc_machine *m, const kdpc__cpu *c)
{
    (void)m;
    const kdpc__kecpu *kc = kdpc__kecpu_of(c);
    if (kc->nframes > 0)
        return kc->frames[kc->nframes - 1].driver;
    const kdpc__thread *t = c->thread;
    if (t != NULL && t->ke != NULL)
        return ((struct _KTHREAD *)t->ke)->driver;
    return NULL;
}

int kdpc__ke_init(kdpc_machine *m)
{
    kdpc__ke *ke = calloc(1, sizeof(*ke));
    if (ke == NULL)
        return -1;
    ke->cpus = calloc(m->ncpu, sizeof(*ke->cpus));
    if (ke->cpus == NULL) {
        free(ke);
        return -1;
    }
    for (unsigned i = 0; i < m->ncpu; i++) {
        kdpc__kecpu *kc = &ke->cpus[i];
        InitializeListHead(&kc->dpc_queue);
        kc->m = m;
        kc->max_depth = KDPC_MAX_DPC_QUEUE_DEPTH;
        kc->adjust = KDPC_ADJUST_DPC_THRESHOLD;
        m->cpus[i].ke = kc;
    }
    m->ke = ke;
    kdpc__ke_clock_init(m);
    m->hooks.dispatch = kdpc__ke_dispatch;
    m->hooks.interrupt = kdpc__ke_interrupt;
    m->hooks.idle_work = kdpc__ke_idle_work;
    m->hooks.thread_exit = kdpc__ke_thread_exit_check;
    return 0;
}

void kdpc__ke_free(kdpc_machine *m)
{
    kdpc__ke *ke = m->ke;
    if (ke == NULL)
        return;
    kdpc__ke_disconnect_all(m);
    kdpc__ke_free_flushes(m);
    kdpc__ke_extimers_free(m);
    kdpc__ke_workers_free(m);
    while (ke->boxes != NULL) {
        kdpc__run_box *b = ke->boxes;
        ke->boxes = b->next;
        free(b);
    }
    kdpc__ptrmap_free(&ke->timer_owner);
    kdpc__ke_timers_free(m);
    kdpc__ke_live_free(m);
    kdpc__ptrmap_free(&ke->stack_objs);
    struct _KTHREAD *t = ke->all_threads;
    while (t != NULL) {
        struct _KTHREAD *next = t->all_next;
        free(t);
        t = next;
    }
    kdpc__ptrmap_free(&ke->dpc_owner);
    kdpc__ptrmap_free(&ke->dpc_how);
    free(ke->cpus);
    free(ke);
    m->ke = NULL;
}
