/* SPDX-License-Identifier: MIT */
/*
 * kdpc/machine.h - the simulated machine: configuration, lifecycle, runs,
 * virtual time and interrupt lines.
 */
#ifndef KDPC_MACHINE_H
#define KDPC_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <kdpc/export.h>
#include <kdpc/status.h>

KDPC_BEGIN_DECLS

typedef struct kdpc_machine kdpc_machine;

/** Largest number of simulated CPUs. */
#define KDPC_MAX_CPUS 64
/** Number of interrupt lines (IoConnectInterrupt Vector 0 .. KDPC_MAX_LINES-1). */
#define KDPC_MAX_LINES 256

/** How the deterministic engine picks the next step at an interleaving point. */
typedef enum kdpc_policy {
    KDPC_POLICY_RANDOM = 0,     /**< seeded random choice (default) */
    KDPC_POLICY_ROUND_ROBIN = 1 /**< next CPU in index order at every point; no randomness */
} kdpc_policy;

/**
 * struct kdpc_config - everything a machine is built from.
 *
 * Always start from kdpc_config_init(): it fills every field with its
 * default, so fields added later keep working in old code.
 */
typedef struct kdpc_config {
    unsigned cpus;                     /**< simulated CPUs, 1..64 (default 1) */
    uint64_t seed;                     /**< seed of every random choice (default 0) */
    kdpc_policy policy;                /**< default KDPC_POLICY_RANDOM */
    uint64_t call_cost_ns;             /**< virtual time charged per kernel call (default 100) */
    uint64_t clock_tick_ns;            /**< clock tick (default 15625000 = 15.625 ms) */
    uint64_t dpc_time_limit_ns;        /**< dpc.too_long: one DPC call (default 100000) */
    uint64_t isr_time_limit_ns;        /**< isr.too_long: one ISR call (default 25000) */
    uint64_t spinlock_hold_limit_ns;   /**< spinlock.held_too_long (default 25000) */
    uint64_t dpc_stall_limit_us;       /**< dpc.stall_too_long inside a DPC (default 100) */
    uint64_t stall_limit_us;           /**< dpc.stall_too_long elsewhere (default 50) */
    uint64_t watchdog_single_ns;       /**< dpc.watchdog P1 0 allotment (default 100 ms) */
    uint64_t watchdog_cumulative_ns;   /**< dpc.watchdog P1 1 allotment (default 500 ms) */
    uint64_t yield_threshold_ns;       /**< KeShouldYieldProcessor after this long at DISPATCH
                                          (default 100000) */
    unsigned storm_threshold;          /**< isr.storm: level deliveries in a row, unclaimed or
                                            claimed with the line left asserted (default 64) */
    unsigned interrupt_delay_permille; /**< random policy: chance (per mille) that a deliverable
                                            interrupt waits one more point (default 500) */
    size_t trace_capacity;             /**< trace events kept (ring); 0 keeps none (default 0) */
    bool trace_stream;                 /**< every trace event is also written, as the run goes, to a
                                     spool file (unnamed, in trace_spool_dir), so the exports
                                     (kdpc_trace_export_json, kdpc_report_html,
                                     kdpc_trace_timeline) see the whole run while memory stays
                                     bounded (default false). If the spool cannot be created,
                                     kdpc_machine_create fails with that errno; if a write fails
                                     during the run (disk full, EFBIG), spooling stops, the run
                                     goes on, and the exports fail with KDPC_EOUTPUT and that
                                     errno */
    const char *trace_spool_dir;       /**< directory of the spool; NULL: $TMPDIR, else /tmp. The
                                      string must live as long as the machine */
    bool report;                       /**< keep the DPC/ISR report (kdpc/report.h) as the run goes
                                      (default false) */
    FILE *log;                         /**< bug check reports; default stderr; NULL: silent */
    size_t thread_stack_size;          /**< stack per simulated thread, with 64 KiB of guard
                                            pages below it (default 1 MiB, at least 64 KiB) */
    int64_t boot_system_time;          /**< KeQuerySystemTime at virtual time 0, in 100 ns
                                            units since 1601 (default 2026-01-01 00:00 UTC) */
    unsigned critical_workers;         /**< threads of the CriticalWorkQueue pool (default 5) */
    unsigned delayed_workers;          /**< threads of the DelayedWorkQueue pool (default 3) */
    unsigned hypercritical_workers;  /**< threads of the HyperCriticalWorkQueue pool (default 1) */
    size_t paged_pool_bytes;         /**< size of the paged pool arena (default 16 MiB) */
    unsigned low_resources_permille; /**< chance that ExAllocatePool*, IoAllocateIrp, IoAllocateMdl,
                                            IoAllocateWorkItem, IoAllocateErrorLogEntry fail, as
                                            Verifier's Low Resources Simulation (default 0) */
    uint64_t run_time_limit_ns;      /**< a kdpc_machine_run() that has not ended after this much
                                     virtual time ends with KDPC_TIMEOUT (default 3600 s of
                                     virtual time; 0: no limit). kdpc_machine_run_for() ends at
                                     its own duration instead. */
    uint64_t run_step_limit;         /**< any run that has not ended after this many interleaving
                                     points ends with KDPC_TIMEOUT (default 20,000,000: a few
                                     seconds of host time; 0: no limit) */
    unsigned host_hang_ms; /**< simulated code that passes no interleaving point for this much
                                HOST time (a driver loop that never calls the kernel, or a host
                                blocking call such as sleep()) ends the
                                run: dpc.watchdog (0x133) in a DPC or ISR, else KDPC_TIMEOUT
                                (default 5000; 0: never). The only limit measured in host time:
                                it ends a hang, and replaying the seed hangs at the same place */
    bool watch_device_extensions; /**< device extensions (IoCreateDevice) are watched memory for
                                       sync.unlocked_shared, every touch checked against a lock
                                       set per byte (Interlocked* touches and kdpc's own touches
                                       of the KDPC, locks and events inside are not counted;
                                       every byte of the operand is checked (decoded, else 16
                                       bytes: docs/rules.md); the owning driver's
                                       KeFlushQueuedDpcs starts its lock sets over). Default
                                       false: an IRP costs 200-500x more (bench_watched_ext), and
                                       state that StartIo hands to the DpcForIsr, or that a flag
                                       read under a lock guards, is reported though no race */
    bool watch_nonpaged_pool; /**< the same for every nonpaged pool block (ExAllocatePool*): each
                                   on pages of its own, checked as device extensions are
                                   (default false; dearer still: a mapping per block) */
} kdpc_config;

/**
 * kdpc_config_init() - fill @cfg with the defaults: 1 CPU, deterministic
 * engine, seeded random policy, seed 0, every rule at its docs/rules.md outcome.
 * Thread: any. A NULL @cfg is ignored.
 */
KDPC_EXPORT void kdpc_config_init(kdpc_config *cfg);

/**
 * kdpc_machine_create() - build a machine.
 * Thread: any host thread.
 * Return: the machine, or NULL with errno EINVAL (bad config: NULL, cpus not
 * 1..64, unknown policy, zero tick) or ENOMEM / EAGAIN (host resources), or, with
 * trace_stream, the errno of creating the spool file in trace_spool_dir (ENOENT, ENOTDIR,
 * EACCES, EROFS, ENOSPC ...).
 */
KDPC_EXPORT kdpc_machine *kdpc_machine_create(const kdpc_config *cfg);

/**
 * kdpc_machine_destroy() - free the machine and everything it allocated
 * (threads, device objects, interrupt objects). Always safe: after a bug
 * check, after a deadlock or timeout, or without any run. NULL is ignored.
 * Called from another host thread while a run of @m is in progress, it waits
 * until that run has returned, then frees: every run ends while its limits
 * are on (see kdpc_machine_run()); with cfg.run_step_limit,
 * cfg.run_time_limit_ns and cfg.host_hang_ms all 0, a hung driver keeps it
 * waiting. Called from simulated code of @m it does nothing and says so on
 * stderr; from simulated code of another machine it waits like any thread
 * (and that machine's run waits with it).
 * Thread: any.
 */
KDPC_EXPORT void kdpc_machine_destroy(kdpc_machine *m);

/**
 * kdpc_machine_reset() - bring @m back to the state kdpc_machine_create()
 * left it in, with the same configuration but @seed as its seed: for running
 * one test body under many schedules without paying for destroy + create.
 * Everything the runs built goes, as at destroy (threads, DPCs, timers, work
 * items, pool, device and driver objects, the trace - with trace_stream a new
 * spool file replaces the old one -, the violations, rule
 * outcomes set with kdpc_rule_set()); a halted, deadlocked or timed-out
 * machine runs again. Pointers the previous runs handed out (violations,
 * reports, objects) are invalid afterwards.
 * Thread: any host thread, not while a run of @m is in progress and not from
 * simulated code.
 * Return: KDPC_OK; KDPC_EINVAL for a NULL @m; KDPC_EBUSY from simulated code
 * or during a run or destroy of @m on another host thread; KDPC_ENOMEM or
 * KDPC_ESYSTEM when the host refused memory or (trace_stream) the new spool
 * file could not be created (the machine is then halted: destroy it).
 */
KDPC_EXPORT kdpc_status kdpc_machine_reset(kdpc_machine *m, uint64_t seed);

/** Entry routine of a run. */
typedef void kdpc_entry_fn(void *ctx);

/**
 * kdpc_machine_run() - run @entry(@ctx) as a system thread at PASSIVE_LEVEL
 * on CPU 0 and return once it has returned and the machine is quiescent (no
 * queued DPC, pending deliverable interrupt or live thread).
 * Thread: any host thread that is not a simulated thread; one run at a time.
 * Every simulated thread and CPU of @m runs on the calling host thread (as a
 * fiber, switched in user space); the next run may come from another host
 * thread. A driver's host blocking call (sleep, a host mutex) therefore stops
 * the whole machine until cfg.host_hang_ms ends the run.
 *
 * Every run ends. A crash of simulated code (a fault such as a NULL
 * dereference, abort(), an arithmetic trap, a stack overflow) is a bug check
 * (rule ke.crash). A run that goes on past cfg.run_step_limit interleaving
 * points or cfg.run_time_limit_ns of virtual time (a hang, a livelock) ends
 * with KDPC_TIMEOUT and a report of what was still alive.
 * Return: KDPC_OK; KDPC_BUGCHECK (a violation stopped the run, see
 * kdpc_machine_bugcheck()); KDPC_DEADLOCK (see kdpc_machine_deadlock_report());
 * KDPC_TIMEOUT (see kdpc_machine_timeout_report()); KDPC_EINVAL (NULL machine
 * or entry); KDPC_EBUSY (called from inside a run); KDPC_E_HALTED (an earlier
 * run bug checked, deadlocked or timed out).
 */
KDPC_EXPORT kdpc_status kdpc_machine_run(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx);

/**
 * kdpc_machine_run_for() - as kdpc_machine_run(), but the run also ends once
 * @duration_ns of virtual time has passed since it started, even with
 * threads still blocked or periodic timers set: so periodic activity can be
 * observed. While every CPU is idle virtual time jumps to the next timer.
 * Threads left running or blocked go on at the next run. @entry may be NULL
 * (only let time pass). A @duration_ns of 0 lets no time pass: nothing runs,
 * and @entry (when given) starts at the next run. cfg.run_time_limit_ns does
 * not apply (the duration is the limit); cfg.run_step_limit does.
 * Return: as kdpc_machine_run(); KDPC_OK when the time was up.
 */
KDPC_EXPORT kdpc_status kdpc_machine_run_for(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx,
                                             uint64_t duration_ns);

/**
 * kdpc_machine_shutdown() - tear the machine down as a system shutdown
 * would: a DPC still queued, a timer still set or a work item still queued
 * is bug check 0xCE (unload.pending). Afterwards the machine is halted;
 * kdpc_machine_destroy() frees it.
 * Thread: not simulated code. Return: KDPC_OK, KDPC_BUGCHECK, KDPC_EINVAL,
 * KDPC_EBUSY, KDPC_E_HALTED.
 */
KDPC_EXPORT kdpc_status kdpc_machine_shutdown(kdpc_machine *m);

/** Virtual time in nanoseconds since the machine was created; 0 for NULL. */
KDPC_EXPORT uint64_t kdpc_machine_time_ns(const kdpc_machine *m);

/** Number of simulated CPUs; 0 for NULL. */
KDPC_EXPORT unsigned kdpc_machine_cpu_count(const kdpc_machine *m);

/** Seed the machine was created with; 0 for NULL. */
KDPC_EXPORT uint64_t kdpc_machine_seed(const kdpc_machine *m);

/** True once a bug check or deadlock ended a run. */
KDPC_EXPORT bool kdpc_machine_halted(const kdpc_machine *m);

/**
 * kdpc_current_machine() - the machine whose simulated code is running on
 * this host thread, or NULL outside simulated code.
 */
KDPC_EXPORT kdpc_machine *kdpc_current_machine(void);

/**
 * kdpc_line_assert() - assert interrupt line @line. The mode comes from the
 * interrupt objects connected to it: Latched (edge) latches one interrupt
 * (further asserts before it is taken merge into it); LevelSensitive keeps
 * the line pending until kdpc_line_deassert(). An assert on a line with no
 * interrupt object stays pending until one is connected.
 * Thread: any (simulated code, or a host thread between runs).
 * Return: KDPC_OK, KDPC_EINVAL (NULL machine or @line >= KDPC_MAX_LINES),
 * KDPC_E_HALTED.
 */
KDPC_EXPORT kdpc_status kdpc_line_assert(kdpc_machine *m, unsigned line);

/**
 * kdpc_line_deassert() - deassert line @line (clears a level and any
 * latched edge not yet taken).
 * Return: as kdpc_line_assert().
 */
KDPC_EXPORT kdpc_status kdpc_line_deassert(kdpc_machine *m, unsigned line);

/** True while @line is asserted (level) or holds a latched edge. */
KDPC_EXPORT bool kdpc_line_pending(const kdpc_machine *m, unsigned line);

KDPC_END_DECLS

#endif /* KDPC_MACHINE_H */
