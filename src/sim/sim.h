/* SPDX-License-Identifier: MIT */
/*
 * sim.h - the machine layer: simulated CPUs, simulated threads on fibers,
 * the baton, interleaving points, the virtual clock, interrupt lines and
 * software interrupt requests.
 *
 * DESIGN
 * The machine knows nothing of DPCs, spin locks or IRPs. It offers:
 *  - CPUs with an IRQL byte, the thread on them, and pending software
 *    interrupt bits (DISPATCH_LEVEL requests);
 *  - simulated threads: fibers (user-level contexts with their own guarded
 *    stacks) on the one host thread that runs the machine; the running one
 *    holds the baton. A thread runs only while it is on a CPU;
 *  - interleaving points (kdpc__sched_point): the running context lets the
 *    machine deliver a pending interrupt on its CPU, run the DISPATCH
 *    software interrupt when IRQL allows it, switch threads on its CPU,
 *    or hand the baton to another CPU, as the seeded policy decides;
 *  - blocking, waking and spinning with a predicate, so the upper layers
 *    can build waits and spin locks and the machine can see a deadlock;
 *  - a halt: the halting context unwinds to its base, the others are
 *    dropped where they stand.
 * ISRs and DPCs run nested on the stack of the thread on the CPU, because
 * the hooks that run them are called from inside its interleaving point.
 *
 * Invariants (checked by sim_check in debug builds):
 *  1. baton != NULL while a run is in progress and not halted;
 *  2. every CPU has exactly one thread on it (its idle thread if none else);
 *  3. a thread is RUNNING iff it is some CPU's thread;
 *  4. only the baton holder reads or writes machine state, except
 *     lines[] / lines_active (kdpc_line_assert may come from any host
 *     thread) and the run bookkeeping of the native API, guarded by mu.
 *
 * Lock legend: B baton holder only (the host thread running the machine,
 * in whichever context); M m->mu; I init-only.
 */
#ifndef KDPC_SIM_H
#define KDPC_SIM_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <kdpc/machine.h>
#include <kdpc/verifier.h>
#include "platform/platform.h"

#define KDPC_IRQL_DISPATCH 2u
#define KDPC_IRQL_HIGH     15u
#define KDPC_SOFT_DISPATCH (1u << 2)

typedef struct kdpc__cpu kdpc__cpu;
typedef struct kdpc__thread kdpc__thread;

typedef enum kdpc__tstate {
    KDPC_T_NEW,
    KDPC_T_READY,
    KDPC_T_RUNNING,
    KDPC_T_BLOCKED,
    KDPC_T_DONE
} kdpc__tstate;

/* Why a thread's base was reached by siglongjmp. */
#define KDPC_UNWIND_HALT      1
#define KDPC_UNWIND_TERMINATE 2
#define KDPC_UNWIND_CRASH     3 /* simulated code crashed: t->crash says how */

struct kdpc__thread {
    kdpc_machine *m;                   /* I */
    unsigned id;                       /* I: 0.. in creation order */
    bool idle;                         /* I: a CPU's idle thread */
    kdpc__fiber fiber;                 /* I: its context and stack */
    sigjmp_buf base;                   /* where it unwinds to (set on its own stack) */
    kdpc__crash crash;                 /* what crashed (KDPC_UNWIND_CRASH) */
    bool reporting;                    /* writing the report of a crash */
    kdpc__tstate state;                /* B */
    kdpc__cpu *cpu;                    /* B: CPU it is on while RUNNING; idle: its CPU */
    uint64_t affinity;                 /* B */
    kdpc__thread *ready_next;          /* B */
    uint8_t saved_irql;                /* B: IRQL (< DISPATCH) while off its CPU */
    bool daemon_wait;                  /* B: blocked waiting for work: keeps no run alive */
    kdpc__thread *all_next, *all_prev; /* B */
    bool started;                      /* B: its fiber has been entered */
    bool finished;                 /* B: its body is over (DONE); its fiber is not entered again */
    void (*body)(kdpc__thread *t); /* I */
    void *arg;                     /* I */
    kdpc_routine_ptr routine;      /* I: driver start routine, for reports */
    void *ke;                      /* B: the WDM layer's thread object */
};

struct kdpc__cpu {
    unsigned index;        /* I */
    uint8_t irql;          /* B */
    kdpc__thread *thread;  /* B: thread on this CPU */
    kdpc__thread *idle;    /* I */
    uint32_t soft_pending; /* B: KDPC_SOFT_DISPATCH */
    uint32_t no_switch;    /* B: > 0 while a DPC routine runs: no drain, no thread switch */
    uint32_t isr_depth;    /* B: nested ISRs running on this CPU */
    uint64_t own_ns;       /* B: virtual time charged on this CPU */
    /* B: spinning state; spin_pred(spin_arg) true means it may go on. */
    bool (*spin_pred)(void *arg);
    void *spin_arg;
    const void *spin_on;
    uint32_t in_hook;         /* B: > 0 while the thread on it runs an ISR or DPC list */
    kdpc_routine_ptr routine; /* B: driver routine running on this CPU (DPC/ISR) or NULL */
    void *ke;                 /* B: the WDM layer's per-CPU data */
    void *ver;                /* B: the verifier's per-CPU data */
};

typedef struct kdpc__line {
    bool connected;  /* M: at least one interrupt object */
    bool level;      /* M: LevelSensitive */
    bool asserted;   /* M: level asserted */
    bool edge;       /* M: latched edge not yet taken */
    bool in_service; /* M: level: taken by a CPU whose ISRs have not returned (no other CPU
                        takes it until then: the end of interrupt) */
    uint8_t irql;    /* M: DIRQL */
    uint64_t mask;   /* M: CPUs that may take it */
} kdpc__line;

/* Upcalls into the layers above; set once at machine creation (I). */
typedef struct kdpc__hooks {
    /* DISPATCH software interrupt on c (IRQL < DISPATCH): retire the DPC list. */
    void (*dispatch)(kdpc_machine *m, kdpc__cpu *c);
    /* Device interrupt on line for c (IRQL < the line's DIRQL): run the ISRs. */
    void (*interrupt)(kdpc_machine *m, kdpc__cpu *c, unsigned line);
    /* Idle CPU: is there deferred work (queued DPCs not yet requested)? May set soft_pending. */
    bool (*idle_work)(kdpc_machine *m, kdpc__cpu *c);
    /* Nothing can run: advance virtual time to the next event; true if something became ready.
     * Never past m->deadline_ns (when set). */
    bool (*advance)(kdpc_machine *m);
    /* The baton came back to the calling context (its CPU may differ from the last one's). */
    void (*resumed)(kdpc_machine *m);
    /* The run is about to end quiescent: last checks (may record warnings). */
    void (*quiescent)(kdpc_machine *m);
    /* Virtual time reached m->next_event_ns (a clock tick): process it. */
    void (*time)(kdpc_machine *m);
    /* Deadlock found: write what each CPU holds and waits for into m->deadlock_report. */
    void (*deadlock)(kdpc_machine *m);
    /* A non-idle thread's body returned (not on halt): check what it left behind. */
    void (*thread_exit)(kdpc_machine *m, kdpc__thread *t);
    /* Simulated code on t crashed (fault, trap, abort, stack overflow; t->crash): record the
     * bug check and halt. Called on t's host thread, off the signal handler, with t's stack
     * unwound to its base; it must not return. */
    void (*crash)(kdpc_machine *m, kdpc__thread *t);
    /* The run is about to end on a limit (KDPC_TIMEOUT): write what is still alive into
     * m->end_report. */
    void (*timeout)(kdpc_machine *m);
    /* A jump left the run from simulated code (kdpc__abandoned_run): the machine layer is
     * cleaned up and halted; end the native call that ran it. On the host context. */
    void (*abandoned)(kdpc_machine *m);
    /* An event of a layer below the trace (the machine's KDPC_EV_CPU_SWITCH, _THREAD_*, _LINE_*;
     * the devices' _DEVICE_EVENT, _LINE_*) for the trace, with its arg2: returns 1 + the event's
     * sequence number. NULL when not tracing. */
    uint64_t (*event)(kdpc_machine *m, unsigned kind, const kdpc__cpu *c, uintptr_t object,
                      uint64_t arg, uint64_t arg2);
    /* kdpc_name_object named @object (the trace's spool records it); NULL when not tracing. */
    void (*named)(kdpc_machine *m, const void *object, const char *name);
} kdpc__hooks;

typedef struct kdpc__rng {
    uint64_t s[4];
} kdpc__rng;

struct kdpc_machine {
    kdpc_config cfg; /* I */
    unsigned ncpu;   /* I */
    kdpc__cpu *cpus; /* I (array) */
    kdpc__hooks hooks;
    kdpc__rng rng; /* B */

    uint64_t now_ns;             /* B: virtual clock */
    uint64_t next_event_ns;      /* B: when hooks.time must run next (UINT64_MAX: never) */
    uint64_t deadline_ns;        /* B: kdpc_machine_run_for's end (0: none) */
    uint64_t limit_ns;           /* B: the run's virtual time limit ends it here (0: none) */
    _Atomic uint64_t steps;      /* B (relaxed atomic: the host-time watchdog reads it) */
    _Atomic uint64_t hang_steps; /* the step count when the watchdog last signalled */
    uint64_t step_limit;         /* B: the run ends after this many (0: none) */
    bool timed_out_on_steps;     /* B: the last KDPC_TIMEOUT came from the step limit */
    char timeout_reason[384];    /* B: why the run timed out, when not a limit ("" otherwise) */
    kdpc__thread *resume;        /* B: thread stopped by the deadline; goes on first next run */
    uint64_t switches;           /* B: baton handoffs */

    /* threads */
    kdpc__thread *ready_head, *ready_tail; /* B */
    kdpc__thread *all_threads;             /* B */
    unsigned next_thread_id;               /* B */
    unsigned live_workers;                 /* B: non-idle threads not DONE */
    kdpc__thread *zombie;                  /* B: finished; its fiber is freed by the next context */

    /* baton and run control */
    kdpc__fiber host_ctx;    /* B: the context of the host thread running the machine */
    kdpc__thread *baton;     /* B: the running simulated thread (NULL: the host context) */
    kdpc_status run_result;  /* B */
    atomic_bool halted;      /* set once by a bug check */
    bool shutdown;           /* B: destroy in progress: every context unwinds */
    kdpc__hostwatch watch;   /* the host-time watchdog's view of the run */
    uint64_t watch_steps;    /* watchdog thread: the step count it last saw */
    unsigned watch_idle_ms;  /* watchdog thread: host time that count has not moved */
    kdpc_status last_status; /* what the last run returned */

    /* interrupt lines */
    kdpc__line lines[KDPC_MAX_LINES];        /* M */
    atomic_uint lines_active;                /* number of lines asserted or latched */
    uint64_t line_bits[KDPC_MAX_LINES / 64]; /* M: lines asserted or latched */
    _Atomic uint64_t line_cpus;              /* CPUs some active line may go to */

    /* CPU sets (bit i: CPU i), so that choosing the CPU that runs next costs O(1) in the number
     * of CPUs: only CPUs in a set are looked at closely. */
    uint64_t busy_cpus;  /* B: the thread on it is not an idle thread at rest (runs, nested
                            ISR/DPC, or spins) */
    uint64_t spin_cpus;  /* B: spinning (spin_pred set) */
    uint64_t work_cpus;  /* B: may have a DISPATCH request or queued DPCs (kdpc__cpu_work) */
    uint64_t ready_cpus; /* B: CPUs some ready thread may run on (a superset) */

    char *deadlock_report; /* B: why the last run ended KDPC_DEADLOCK or KDPC_TIMEOUT */

    /* layers above */
    void *dev;    /* device layer (src/dev) */
    void *ke;     /* WDM layer */
    void *ver;    /* verifier */
    void *trace;  /* trace */
    void *report; /* trace/report.c: the DPC/ISR report, when cfg.report */
    void *stats;  /* per-routine ISR and DPC times (src/trace/stats.c) */

    /* Last, and kept by kdpc__machine_reset (which clears everything above mu): host objects
     * another host thread may be waiting on, and the native API's bookkeeping. */
    kdpc__mutex mu;
    kdpc__cond run_cv; /* M: kdpc_machine_destroy waits here for api_runs to end */
    bool dead;         /* M: deadlocked; no further runs */
    bool destroying;   /* M: kdpc_machine_destroy waits for api_runs to end */
    unsigned api_runs; /* M: native calls driving the machine (run, shutdown, reset) */
};

/* machine.c */
/* initial-exec: one %fs-relative load, no __tls_get_addr call, also in libkdpc.so. */
#if defined(__GNUC__) || defined(__clang__)
#define KDPC_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define KDPC_TLS_MODEL
#endif
extern _Thread_local kdpc__thread *kdpc__tls_self KDPC_TLS_MODEL;
/* The running simulated thread, NULL on the host context. Code outside machine.c reads it only
 * through here (see KDPC_TLS_ASM in platform.h). */
#if defined(KDPC_TLS_OUTLINE)
kdpc__thread *kdpc__self(void);
#else
static inline kdpc__thread *kdpc__self(void)
{
    uintptr_t off;
    kdpc__thread *t;
    __asm__ volatile("movq kdpc__tls_self@gottpoff(%%rip), %0" : "=r"(off));
    __asm__ volatile("movq %%fs:(%1), %0" : "=r"(t) : "r"(off) : "memory");
    return t;
}
#endif
kdpc_machine *kdpc__machine_alloc(const kdpc_config *cfg, int *err);
/* The platform's crash callback (set at every machine allocation). */
void kdpc__contain_crash(const kdpc__crash *cr);
int kdpc__machine_start(kdpc_machine *m); /* idle threads; 0 or errno */
kdpc_status kdpc__machine_run(kdpc_machine *m, kdpc__thread *entry, uint64_t deadline_ns);
/* Called by native calls from the host context: when a jump (a failing CMocka check without
 * <kdpc/cmocka.h>, a longjmp in driver code) left a run from simulated code, so that the host
 * now runs on with that run's state, the run's machine-layer state is cleaned up, the machine
 * halted, and the machine returned (the caller ends the run's native call). Else NULL. */
kdpc_machine *kdpc__abandoned_run(void);
void kdpc__machine_free(kdpc_machine *m); /* stops first */
/* Stop, free every thread, and bring the machine layer back to what kdpc__machine_alloc made of
 * cfg with @seed (the layers above are torn down and built again by the caller). */
void kdpc__machine_reset(kdpc_machine *m, uint64_t seed);
void kdpc__machine_stop(kdpc_machine *m); /* every context unwinds; their stacks are freed */
/* Create a simulated thread (state NEW) that runs body(t); it becomes READY with kdpc__thread_ready.
 * Returns NULL when the host has no memory for its stack. */
kdpc__thread *kdpc__thread_create(kdpc_machine *m, void (*body)(kdpc__thread *), void *arg,
                                  bool idle);

/* sched.c: every function here is called by the baton holder. */
void kdpc__sched_point(kdpc_machine *m); /* charge call cost, then kdpc__sched */
void kdpc__sched(kdpc_machine *m, kdpc__thread *t);
void kdpc__charge(kdpc_machine *m, kdpc__cpu *c, uint64_t ns); /* saturates at UINT64_MAX */
void kdpc__thread_ready(kdpc_machine *m, kdpc__thread *t);     /* NEW/BLOCKED -> READY */
void kdpc__thread_block(kdpc_machine *m);                      /* current thread: -> BLOCKED */
void kdpc__thread_block_daemon(kdpc_machine *m); /* BLOCKED waiting for work: keeps no run alive */
void kdpc__thread_migrate(kdpc_machine *m);      /* current thread left its affinity */
void kdpc__spin_until(kdpc_machine *m, bool (*pred)(void *), void *arg, const void *what);
KDPC_NORETURN void kdpc__halt_and_unwind(kdpc_machine *m); /* after a bug check is recorded */
/* The run's limit (steps or virtual time) is reached: report and end it with KDPC_TIMEOUT. */
KDPC_NORETURN void kdpc__timeout_and_unwind(kdpc_machine *m);
void kdpc__halt_from_host(kdpc_machine *m); /* the same, from the host context (between runs) */
KDPC_NORETURN void kdpc__thread_terminate(kdpc_machine *m); /* PsTerminateSystemThread */
/* t's body is over (@how: 0 returned, or the KDPC_UNWIND_* that ended it): the context to run
 * next (NULL: the host context). */
kdpc__thread *kdpc__thread_finish(kdpc_machine *m, kdpc__thread *t, int how);
/* Switch from the running thread @from to @to (NULL: back to the host context). Returns when
 * @from is switched to again; unwinds @from when the machine halted or shuts down meanwhile. */
void kdpc__enter(kdpc_machine *m, kdpc__thread *from, kdpc__thread *to);
/* After a halt, or at destroy, from the host context: every simulated thread that has not
 * finished is dropped where it stands (DONE, its stack freed; nothing on it runs again). */
void kdpc__drop_all(kdpc_machine *m);

/* lines (sim/line.c) */
void kdpc__line_config(kdpc_machine *m, unsigned line, bool connected, bool level, uint8_t irql,
                       uint64_t mask);
bool kdpc__line_deliverable(kdpc_machine *m, const kdpc__cpu *c, unsigned *line);
void kdpc__line_take(kdpc_machine *m, unsigned line); /* clear a latched edge before the ISRs */
void kdpc__line_eoi(kdpc_machine *m, unsigned line);  /* the ISRs of a take returned */
bool kdpc__line_asserted(kdpc_machine *m, unsigned line);
void kdpc__line_set(kdpc_machine *m, unsigned line, bool assert);
bool kdpc__line_pending(kdpc_machine *m, unsigned line);

/* rng.c */
void kdpc__rng_seed(kdpc__rng *r, uint64_t seed);
uint64_t kdpc__rng_next(kdpc__rng *r);
uint32_t kdpc__rng_below(kdpc__rng *r, uint32_t n); /* uniform in [0, n) */

/* The layer above queued a DPC on c or requested the DISPATCH software interrupt there: an idle
 * c has work (sched.c clears the bit when it finds none). */
static inline void kdpc__cpu_work(kdpc_machine *m, const kdpc__cpu *c)
{
    m->work_cpus |= 1ull << c->index;
}

/* True when @addr lies on t's stack, guard pages included (one compare: the code runs on every
 * kernel call). False once t's fiber is freed. */
static inline bool kdpc__on_own_stack(const kdpc__thread *t, uintptr_t addr)
{
    return addr - (uintptr_t)t->fiber.map < t->fiber.map_size;
}

/* Virtual time saturates: a 600-year timeout or a cost of UINT64_MAX ends at the end of time
 * instead of wrapping to the beginning. */
static inline uint64_t kdpc__time_add(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

static inline kdpc__cpu *kdpc__cur_cpu(void)
{
    kdpc__thread *t = kdpc__self();
    return t ? t->cpu : NULL;
}

/* Address of a routine: for bug check parameters, and as the key of a routine in a map. */
static inline uintptr_t kdpc__fnaddr(kdpc_routine_ptr fn)
{
    uintptr_t u = 0;
    memcpy(&u, &fn, sizeof(u) < sizeof(fn) ? sizeof(u) : sizeof(fn));
    return u;
}

#endif /* KDPC_SIM_H */
