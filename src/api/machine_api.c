/* SPDX-License-Identifier: MIT */
/*
 * machine_api.c - the native machine API. It sits above every layer and
 * assembles a machine from them: the machine layer (CPUs, threads as fibers),
 * the verifier, the trace, and the WDM kernel and I/O layers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <kdpc/kdpc.h>
#include "cm/cm.h"
#include "dev/dev.h"
#include "hal/hal.h"
#include "io/io.h"
#include "mm/mm.h"
#include "ob/ob.h"
#include "pnp/pnp.h"
#include "api/api.h"
#include "trace/stats.h"
#include "verifier/testfail.h"

void kdpc_config_init(kdpc_config *cfg)
{
    if (cfg == NULL)
        return;
    cfg->cpus = 1;
    cfg->seed = 0;
    cfg->policy = KDPC_POLICY_RANDOM;
    cfg->call_cost_ns = 100;
    cfg->clock_tick_ns = 15625000;
    cfg->dpc_time_limit_ns = 100000;
    cfg->isr_time_limit_ns = 25000;
    cfg->spinlock_hold_limit_ns = 25000;
    cfg->dpc_stall_limit_us = 100;
    cfg->stall_limit_us = 50;
    /* Divergence: Windows allots ~20 s / ~120 s (dpc-irql.md 6.6); kdpc defaults to 100 ms and
     * 500 ms of virtual time so that a runaway DPC ends a test in well under a second. */
    cfg->watchdog_single_ns = 100000000;
    cfg->watchdog_cumulative_ns = 500000000;
    cfg->yield_threshold_ns = 100000;
    cfg->storm_threshold = 64;
    cfg->interrupt_delay_permille = 500;
    cfg->trace_capacity = 0;
    cfg->trace_stream = false;
    cfg->trace_spool_dir = NULL;
    cfg->report = false;
    cfg->log = stderr;
    cfg->thread_stack_size = 1u << 20;
    /* 2026-01-01 00:00:00 UTC in 100 ns units since 1601-01-01. */
    cfg->boot_system_time = 134116992000000000LL;
    cfg->critical_workers = 5; /* io.md 2.11 (ReactOS's static pools) */
    cfg->delayed_workers = 3;
    cfg->hypercritical_workers = 1;
    cfg->paged_pool_bytes = (size_t)16 << 20;
    cfg->low_resources_permille = 0;
    cfg->run_time_limit_ns = 3600ull * 1000000000ull; /* one virtual hour */
    /* Divergence: Windows has no such limit (a hung machine hangs). A hung unit test must end:
     * 20 M interleaving points are a few seconds of host time. */
    cfg->run_step_limit = 20000000;
    cfg->host_hang_ms = 5000;
    /* Off: bench/watched_ext.c measures IRPs ~170-210x slower with it on, and StartIo-serialised
     * per-request state is reported falsely (ke/watch.c). A test turns it on to check a driver. */
    cfg->watch_device_extensions = false;
    cfg->watch_nonpaged_pool = false;
}

static bool config_ok(const kdpc_config *cfg)
{
    return cfg != NULL && cfg->cpus >= 1 && cfg->cpus <= KDPC_MAX_CPUS &&
           (cfg->policy == KDPC_POLICY_RANDOM || cfg->policy == KDPC_POLICY_ROUND_ROBIN) &&
           cfg->clock_tick_ns != 0 && cfg->interrupt_delay_permille < 1000 &&
           cfg->storm_threshold != 0 && cfg->trace_capacity <= ((size_t)1 << 28) &&
           cfg->low_resources_permille <= 1000 && cfg->paged_pool_bytes <= ((size_t)1 << 34);
}

static uint64_t trace_event_hook(kdpc_machine *m, unsigned kind, const kdpc__cpu *c, uintptr_t obj,
                                 uint64_t arg, uint64_t arg2)
{
    uint64_t seq = kdpc__trace_total_of(m);
    kdpc__trace2(m, kind, c, (const void *)obj, NULL, arg, arg2);
    return seq + 1u;
}

/* A run ended KDPC_DEADLOCK or KDPC_TIMEOUT: m->deadlock_report gets what was still alive
 * (for a deadlock, first what every CPU held and spun on), and the log gets it too. */
static void end_report(kdpc_machine *m, const char *headline, bool locks)
{
    FILE *log = m->cfg.log;
    if (locks) {
        m->cfg.log = NULL; /* printed with the rest below */
        kdpc__ver_deadlock_report(m);
        m->cfg.log = log;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return;
    fputs(headline, f);
    if (locks && m->deadlock_report != NULL)
        fputs(m->deadlock_report, f);
    kdpc__ke_describe_alive(m, f);
    kdpc__io_describe_alive(m, f);
    if (fclose(f) != 0 || text == NULL) {
        free(text);
        return;
    }
    free(m->deadlock_report);
    m->deadlock_report = text;
    if (log != NULL) {
        fputs(text, log);
        fflush(log);
    }
}

static void deadlock_hook(kdpc_machine *m)
{
    end_report(m, "KDPC DEADLOCK\n", true);
}

static void timeout_hook(kdpc_machine *m)
{
    char head[640];
    bool steps = m->timed_out_on_steps;
    if (m->timeout_reason[0] != '\0') {
        snprintf(head, sizeof(head),
                 "KDPC TIMEOUT: %s (virtual time %" PRIu64 " ns, seed %" PRIu64 ")\n",
                 m->timeout_reason, m->now_ns, m->cfg.seed);
        end_report(m, head, false);
        return;
    }
    snprintf(head, sizeof(head),
             "KDPC TIMEOUT: the run reached its %s limit (%" PRIu64 " %s) at virtual time %" PRIu64
             " ns, seed %" PRIu64 "\n",
             steps ? "step" : "virtual time",
             steps ? m->cfg.run_step_limit : m->cfg.run_time_limit_ns,
             steps ? "interleaving points" : "ns", m->now_ns, m->cfg.seed);
    end_report(m, head, false);
}

/* A jump out of simulated code (kdpc__abandoned_run) skipped the end of a run's native call:
 * end it now (hooks.abandoned, on the next native or kernel call from the host). */
static void abandoned_hook(kdpc_machine *m)
{
    kdpc__watch_run_end(m);
    kdpc__pool_run_end(m);
    kdpc__fault_disable();
    m->last_status = KDPC_E_HALTED;
    kdpc__api_end(m);
}

static void recover_abandoned(void)
{
    (void)kdpc__abandoned_run();
}

/* Free what the layers above the machine layer hold. */
static void layers_free(kdpc_machine *m)
{
    kdpc__test_stop_forget(m);
    kdpc__io_free(m);
    if (m->ke != NULL) {
        kdpc__cm_free(m);
        kdpc__ob_free(m);
        kdpc__mm_free(m);
        kdpc__pool_free_all(m);
        kdpc__watch_free_all(m);
        kdpc__hal_free(m);
    }
    kdpc__ke_free(m);
    kdpc__trace_free(m);
    kdpc__stats_free(m);
    kdpc__ver_free(m);
    kdpc__dev_free(m); /* the lowest layer above the machine: last */
}

static void teardown(kdpc_machine *m)
{
    layers_free(m);
    kdpc__machine_free(m);
}

/* Build the layers on a machine layer fresh from kdpc__machine_alloc (or _reset): 0 or an
 * errno. */
static int layers_init(kdpc_machine *m)
{
    int trace_err = 0; /* the spool's errno (cfg.trace_stream) or ENOMEM */
    if (kdpc__dev_init(m) != 0 || kdpc__ver_init(m) != 0 ||
        (trace_err = kdpc__trace_init(m)) != 0 || kdpc__stats_init(m) != 0 ||
        kdpc__ke_init(m) != 0 || kdpc__io_init(m) != 0 || kdpc__pnp_init(m) != 0 ||
        kdpc__pool_init(m) != 0)
        return trace_err != 0 ? trace_err : ENOMEM;
    m->hooks.deadlock = deadlock_hook;
    m->hooks.timeout = timeout_hook;
    m->hooks.crash = kdpc__ke_crash;
    m->hooks.abandoned = abandoned_hook;
    if (m->trace != NULL)
        m->hooks.event = trace_event_hook;
    return kdpc__machine_start(m);
}

kdpc_machine *kdpc_machine_create(const kdpc_config *cfg)
{
    recover_abandoned();
    kdpc__exit_watch_install(); /* exit() from simulated code is reported */
    if (!config_ok(cfg)) {
        errno = EINVAL;
        return NULL;
    }
    int err = 0;
    kdpc_machine *m = kdpc__machine_alloc(cfg, &err);
    if (m == NULL) {
        errno = err;
        return NULL;
    }
    err = layers_init(m);
    if (err != 0) {
        teardown(m);
        errno = err;
        return NULL;
    }
    return m;
}

/* A native call that drives the machine begins (KDPC_OK) or may not (KDPC_EBUSY from simulated code or
 * during another run or a destroy, KDPC_E_HALTED after a bug check, deadlock or timeout). While
 * one is in progress, kdpc_machine_destroy on another host thread waits for kdpc__api_end. */
kdpc_status kdpc__api_begin(kdpc_machine *m, bool halted_too)
{
    recover_abandoned();
    if (kdpc__self() != NULL)
        return KDPC_EBUSY;
    kdpc__mutex_lock(&m->mu);
    kdpc_status st = KDPC_OK;
    if (m->api_runs > 0 || m->destroying)
        st = KDPC_EBUSY;
    else if (!halted_too && (atomic_load(&m->halted) || m->dead))
        st = KDPC_E_HALTED;
    else
        m->api_runs++;
    kdpc__mutex_unlock(&m->mu);
    return st;
}

static kdpc_status drive_begin(kdpc_machine *m)
{
    return kdpc__api_begin(m, false);
}

void kdpc__api_end(kdpc_machine *m)
{
    kdpc__mutex_lock(&m->mu);
    m->api_runs--;
    kdpc__cond_broadcast(&m->run_cv);
    kdpc__mutex_unlock(&m->mu);
}

kdpc_status kdpc_machine_shutdown(kdpc_machine *m)
{
    if (m == NULL)
        return KDPC_EINVAL;
    kdpc_status st = drive_begin(m);
    if (st != KDPC_OK)
        return st;
    kdpc__scope all = {NULL, NULL, true};
    kdpc__io_check_pending(m, &all, "machine shut down");
    bool bugchecked = atomic_load(&m->halted);
    if (!bugchecked)
        kdpc__halt_from_host(m); /* nothing left to run: the machine is off */
    kdpc__api_end(m);
    return bugchecked ? KDPC_BUGCHECK : KDPC_OK;
}

void kdpc_machine_destroy(kdpc_machine *m)
{
    if (m == NULL)
        return;
    recover_abandoned();
    kdpc__thread *self = kdpc__self();
    if (self != NULL && self->m == m) {
        fprintf(stderr, "kdpc: kdpc_machine_destroy called from inside its own run; ignored\n");
        return;
    }
    /* A run in progress on another host thread ends first (every run ends: limits). */
    kdpc__mutex_lock(&m->mu);
    m->destroying = true;
    while (m->api_runs > 0)
        kdpc__cond_wait(&m->run_cv, &m->mu);
    kdpc__mutex_unlock(&m->mu);
    kdpc__machine_stop(m);
    teardown(m);
}

kdpc_status kdpc_machine_reset(kdpc_machine *m, uint64_t seed)
{
    if (m == NULL)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__api_begin(m, true); /* a destroy elsewhere waits for the reset */
    if (st != KDPC_OK)
        return st;
    layers_free(m);
    kdpc__machine_reset(m, seed);
    int err = layers_init(m);
    kdpc__api_end(m);
    if (err != 0) {
        /* Half built: no run may use it; destroy still frees what there is. */
        atomic_store(&m->halted, true);
        return err == ENOMEM ? KDPC_ENOMEM : KDPC_ESYSTEM;
    }
    return KDPC_OK;
}

static void run_entry(PVOID p)
{
    kdpc__run_box *b = p;
    b->entry(b->ctx);
}

static kdpc_status run(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx, uint64_t duration_ns,
                       bool timed)
{
    if (m == NULL || (entry == NULL && !timed))
        return KDPC_EINVAL;
    kdpc_status st = drive_begin(m);
    if (st != KDPC_OK)
        return st;
    kdpc__thread *t = NULL;
    kdpc__run_box *box = NULL;
    if (entry != NULL) {
        box = kdpc__ke_run_box(m, entry, ctx);
        if (box == NULL) {
            kdpc__api_end(m);
            return KDPC_ENOMEM;
        }
        struct _KTHREAD *kt = kdpc__ke_thread_new(m, run_entry, box, NULL);
        if (kt == NULL) {
            kdpc__api_end(m);
            return KDPC_ESYSTEM;
        }
        kt->t->routine = (kdpc_routine_ptr)entry;
        kdpc__trace(m, KDPC_EV_THREAD_START, &m->cpus[0], NULL, (kdpc_routine_ptr)entry, kt->t->id);
        t = kt->t;
    }
    if (timed && duration_ns == 0) {
        /* No time passes: nothing runs; the entry starts at the next run. */
        if (t != NULL) {
            kdpc__mutex_lock(&m->mu);
            kdpc__thread_ready(m, t);
            kdpc__mutex_unlock(&m->mu);
        }
        kdpc__api_end(m);
        return KDPC_OK;
    }
    uint64_t deadline = 0;
    if (timed)
        deadline = kdpc__time_add(m->now_ns, duration_ns);
    uint64_t limit = m->cfg.run_time_limit_ns;
    m->limit_ns = 0;
    if (!timed && limit != 0)
        m->limit_ns = kdpc__time_add(m->now_ns, limit);
    atomic_store_explicit(&m->steps, 0, memory_order_relaxed);
    m->step_limit = m->cfg.run_step_limit;
    m->timeout_reason[0] = '\0';
    kdpc__fault_enable(); /* a crash of simulated code becomes a bug check */
    kdpc__pool_run_begin(m);
    kdpc__watch_run_begin(m);
    st = kdpc__machine_run(m, t, deadline);
    kdpc__watch_run_end(m);
    kdpc__pool_run_end(m);
    kdpc__fault_disable();
    kdpc__ver_run_end(m); /* summary lines of repeated warnings */
    m->last_status = st;
    kdpc__api_end(m);
    return st;
}

kdpc_status kdpc_machine_run(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx)
{
    return run(m, entry, ctx, 0, false);
}

kdpc_status kdpc_machine_run_for(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx,
                                 uint64_t duration_ns)
{
    return run(m, entry, ctx, duration_ns, true);
}

const char *kdpc_machine_timeout_report(const kdpc_machine *m)
{
    return m != NULL && m->last_status == KDPC_TIMEOUT ? m->deadlock_report : NULL;
}

uint64_t kdpc_machine_time_ns(const kdpc_machine *m)
{
    return m != NULL ? m->now_ns : 0;
}

unsigned kdpc_machine_cpu_count(const kdpc_machine *m)
{
    return m != NULL ? m->ncpu : 0;
}

uint64_t kdpc_machine_seed(const kdpc_machine *m)
{
    return m != NULL ? m->cfg.seed : 0;
}

bool kdpc_machine_halted(const kdpc_machine *m)
{
    if (m == NULL)
        return false;
    if (atomic_load(&m->halted))
        return true;
    kdpc_machine *mm = (kdpc_machine *)(uintptr_t)m;
    kdpc__mutex_lock(&mm->mu);
    bool dead = mm->dead;
    kdpc__mutex_unlock(&mm->mu);
    return dead;
}

kdpc_machine *kdpc_current_machine(void)
{
    kdpc__thread *t = kdpc__self();
    return t != NULL ? t->m : NULL;
}

static kdpc_status line_op(kdpc_machine *m, unsigned line, bool assert)
{
    if (m == NULL || line >= KDPC_MAX_LINES)
        return KDPC_EINVAL;
    if (kdpc_machine_halted(m))
        return KDPC_E_HALTED;
    kdpc__line_set(m, line, assert);
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->m == m && t->cpu != NULL)
        kdpc__trace(m, assert ? KDPC_EV_LINE_ASSERT : KDPC_EV_LINE_DEASSERT, t->cpu, NULL, NULL,
                    line);
    return KDPC_OK;
}

kdpc_status kdpc_line_assert(kdpc_machine *m, unsigned line)
{
    return line_op(m, line, true);
}

kdpc_status kdpc_line_deassert(kdpc_machine *m, unsigned line)
{
    return line_op(m, line, false);
}

bool kdpc_line_pending(const kdpc_machine *m, unsigned line)
{
    if (m == NULL || line >= KDPC_MAX_LINES)
        return false;
    return kdpc__line_pending((kdpc_machine *)(uintptr_t)m, line);
}

const char *kdpc_strerror(kdpc_status status)
{
    switch (status) {
#define KDPC_STATUS_TEXT_(name, value, text)                                                       \
    case name:                                                                                     \
        return text;
        KDPC_STATUS_MAP(KDPC_STATUS_TEXT_)
#undef KDPC_STATUS_TEXT_
    }
    return "unknown status";
}
