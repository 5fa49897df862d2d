/* SPDX-License-Identifier: MIT */
/*
 * kdpc/report.h - the DPC/ISR report of a run (G10: measure DPC and ISR time
 * the way Windows' tracing tools report it): per routine the calls, total and
 * longest time, where the longest happened and a power-of-two microsecond
 * histogram in the shape of `xperf -a dpcisr`; interrupt -> DPC latency; DPC
 * queue depth over time; IRP latency percentiles per device; time at each
 * IRQL per CPU; the violations with their guideline. Also written as text,
 * JSON and a self-contained HTML page.
 *
 * Kept while the machine runs when kdpc_config.report is true (from its
 * creation or last kdpc_machine_reset on). All times are virtual.
 */
#ifndef KDPC_REPORT_H
#define KDPC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <kdpc/export.h>
#include <kdpc/stats.h>
#include <kdpc/status.h>

KDPC_BEGIN_DECLS

typedef struct kdpc_machine kdpc_machine;

/**
 * Buckets of a duration histogram: bucket 0 counts durations under 1 us, bucket k (1..N-2)
 * durations in [2^(k-1), 2^k) us, the last bucket everything from 2^(N-2) us on
 * (N = KDPC_REPORT_BUCKETS: 1 us, 2 us, 4 us ... 2^(N-2) us and more).
 */
#define KDPC_REPORT_BUCKETS 24

/**
 * struct kdpc_report_hist - a distribution of durations.
 * @count:   values.
 * @total_ns: their sum.
 * @max_ns:  the largest.
 * @p50_ns, @p90_ns, @p99_ns: percentiles, read off a finer histogram kept inside (8 steps per
 *           power of two: at most 1/8 above the true value; exact below 1 us).
 * @bucket:  the power-of-two histogram described above.
 */
typedef struct kdpc_report_hist {
    uint64_t count;
    uint64_t total_ns;
    uint64_t max_ns;
    uint64_t p50_ns, p90_ns, p99_ns;
    uint64_t bucket[KDPC_REPORT_BUCKETS];
} kdpc_report_hist;

/**
 * struct kdpc_report_routine - one ISR or DPC routine.
 * @name:      kdpc_name_routine's name, else the host's symbol table's, else "routine@0x...".
 * @routine:   its address.
 * @kind:      ISR or DPC (a routine used as both has two entries).
 * @time:      its calls' durations (count, total, longest, percentiles, histogram).
 * @longest_end_ns, @longest_cpu: when and where the longest call returned.
 * @over_limit: calls longer than the guideline (cfg.dpc_time_limit_ns, 100 us by default,
 *             for a DPC; cfg.isr_time_limit_ns, 25 us, for an ISR).
 * @flagged:   over_limit > 0: the report marks the routine.
 */
typedef struct kdpc_report_routine {
    const char *name;
    uintptr_t routine;
    kdpc_routine_kind kind;
    kdpc_report_hist time;
    uint64_t longest_end_ns;
    unsigned longest_cpu;
    uint64_t over_limit;
    bool flagged;
} kdpc_report_routine;

/**
 * struct kdpc_report_device - IRPs by the device object they were sent to from outside its
 * stack (the first IoCallDriver of the IRP), from that call to IoCompleteRequest.
 * @name:      the device object's name (IoCreateDevice's, kdpc_name_object's) or "device #N".
 * @completed: IRPs completed (cancelled ones included).
 * @failed:    of them, completed with an error status (not NT_SUCCESS).
 * @cancelled: of them, completed with STATUS_CANCELLED.
 * @latency:   call -> completion.
 */
typedef struct kdpc_report_device {
    const char *name;
    uint64_t completed;
    uint64_t failed;
    uint64_t cancelled;
    kdpc_report_hist latency;
} kdpc_report_device;

/** Highest IRQL the report tells apart (HIGH_LEVEL on x64). */
#define KDPC_REPORT_IRQLS 16

/**
 * struct kdpc_report_cpu - one simulated CPU.
 * @irql_ns:     virtual time spent at each IRQL 0..15 (PASSIVE_LEVEL, APC_LEVEL,
 *               DISPATCH_LEVEL, device IRQLs ... HIGH_LEVEL); they add up to the run's time.
 * @dpc_ns, @isr_ns: time inside DPC and ISR routines (an ISR nested in a DPC counts in both).
 * @dpcs, @isrs: calls.
 * @max_queue_depth: most DPCs waiting in this CPU's queue at once.
 */
typedef struct kdpc_report_cpu {
    uint64_t irql_ns[KDPC_REPORT_IRQLS];
    uint64_t dpc_ns, isr_ns;
    uint64_t dpcs, isrs;
    unsigned max_queue_depth;
} kdpc_report_cpu;

/**
 * struct kdpc_report_depth - DPC queue depth over one window of virtual time.
 * @start_ns:  the window's start; it lasts kdpc_report.depth_window_ns.
 * @max_depth: most DPCs queued at once in the window, per CPU (kdpc_report.cpus entries).
 * @inserted:  DPCs queued in the window, all CPUs.
 */
typedef struct kdpc_report_depth {
    uint64_t start_ns;
    const unsigned *max_depth;
    uint64_t inserted;
} kdpc_report_depth;

/**
 * struct kdpc_report - the whole report. Pointers are the machine's, valid until the next
 * kdpc_report_get, kdpc_machine_run, kdpc_machine_reset or kdpc_machine_destroy on it.
 * @start_ns, @end_ns: the virtual time covered.
 * @cpus:         simulated CPUs; @cpu has that many entries.
 * @routines:     every ISR and DPC routine that returned, busiest (total time) first.
 * @interrupt_to_dpc: from a DPC queued above DISPATCH_LEVEL (IoRequestDpc or KeInsertQueueDpc
 *                in an ISR) to the start of its DeferredRoutine.
 * @dpc_latency:  the same for every DPC, wherever it was queued.
 * @devices:      one entry per device object that received an IRP.
 * @depth:        queue depth windows, oldest first, covering the run: windows start at 1 ms
 *                and double (merging pairs) whenever more than 128 would be needed, so at
 *                most 128 entries.
 * @violations:   kdpc_machine_violation_count(); each one's rule, guideline and time are in
 *                kdpc_machine_violation().
 */
typedef struct kdpc_report {
    uint64_t start_ns, end_ns;
    unsigned cpus;
    size_t nroutines;
    const kdpc_report_routine *routines;
    kdpc_report_hist interrupt_to_dpc;
    kdpc_report_hist dpc_latency;
    size_t ndevices;
    const kdpc_report_device *devices;
    const kdpc_report_cpu *cpu;
    size_t ndepth;
    uint64_t depth_window_ns;
    const kdpc_report_depth *depth;
    size_t nviolations;
} kdpc_report;

/**
 * kdpc_report_get() - the report of @m so far.
 * Thread: a host thread between runs.
 * Return: KDPC_OK; KDPC_EINVAL (NULL argument, or kdpc_config.report was false: *@out is
 * zeroed); KDPC_EBUSY (a run is in progress); KDPC_ENOMEM.
 */
KDPC_EXPORT kdpc_status kdpc_report_get(kdpc_machine *m, kdpc_report *out);

/**
 * kdpc_report_print() - the report as text, for a terminal: the routines table with the
 * xperf-style histograms, latencies, IRP latency per device, IRQL time per CPU, queue depth
 * and the violations with their guideline. Routines over the guideline are marked "!".
 * Thread: a host thread between runs.
 * Return: KDPC_OK; KDPC_EINVAL; KDPC_EBUSY; KDPC_EOUTPUT (writing @out failed).
 */
KDPC_EXPORT kdpc_status kdpc_report_print(kdpc_machine *m, FILE *out);

/**
 * kdpc_report_json() - the report as one JSON object (the same fields as struct kdpc_report,
 * violations included), to @out. Routines are named, not given by address (kdpc_report_routine
 * .routine is left out), so the same run gives the same bytes in every process; a routine no
 * name is known for is still "routine@0x...".
 * Thread: a host thread between runs.
 * Return: KDPC_OK; KDPC_EINVAL; KDPC_EBUSY; KDPC_EOUTPUT (writing @out failed).
 */
KDPC_EXPORT kdpc_status kdpc_report_json(kdpc_machine *m, FILE *out);

/**
 * kdpc_report_html() - write one self-contained HTML page to @path: the per-CPU timeline of
 * the recorded trace (zoomable; needs kdpc_config.trace_stream or trace_capacity), the
 * report's histograms and tables, and the violations, each linked to its moment on the
 * timeline. No network access is needed to view it.
 * The file is written under a temporary name beside @path and renamed into place once
 * complete: @path is either the whole page or untouched.
 * Thread: a host thread between runs.
 * Return: KDPC_OK; KDPC_EINVAL (NULL argument, report off); KDPC_EBUSY; KDPC_EOUTPUT
 * (@path could not be created or written, or the spool could not be read: errno says why);
 * KDPC_ENOMEM.
 */
KDPC_EXPORT kdpc_status kdpc_report_html(kdpc_machine *m, const char *path);

KDPC_END_DECLS

#endif /* KDPC_REPORT_H */
