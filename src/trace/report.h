/* SPDX-License-Identifier: MIT */
/*
 * report.h - the DPC/ISR report (kdpc/report.h), kept from the event stream
 * while the machine runs: trace.c hands it every event when cfg.report.
 * report.c keeps it, report_print.c and report_json.c write it,
 * src/api/report_api.c is the public side.
 */
#ifndef KDPC_TRACE_REPORT_INTERNAL_H
#define KDPC_TRACE_REPORT_INTERNAL_H

#include <stdio.h>

#include <kdpc/report.h>
#include <kdpc/trace.h>
#include "base/ptrmap.h"
#include "sim/sim.h"

/* A distribution: the public power-of-two buckets plus a finer histogram for percentiles
 * (exact below 1024 ns, 8 steps per power of two above). */
typedef struct kdpc__rhist {
    uint64_t count, total, max;
    uint64_t bucket[KDPC_REPORT_BUCKETS];
    uint64_t *exact;              /* [1024], made on the first value below 1024 ns */
    uint64_t fine[(64 - 10) * 8]; /* [2^e, 2^(e+1)) ns in 8 steps, e = 10..63 */
} kdpc__rhist;

typedef struct kdpc__rroutine {
    uintptr_t routine;
    kdpc_routine_kind kind;
    kdpc__rhist time;
    uint64_t longest_end_ns;
    unsigned longest_cpu;
    uint64_t over_limit;
} kdpc__rroutine;

typedef struct kdpc__rdevice {
    uint64_t id;
    char *name; /* its label when first seen, or NULL */
    uint64_t completed, failed, cancelled;
    kdpc__rhist latency;
} kdpc__rdevice;

typedef struct kdpc__rcpu {
    uint64_t irql_ns[KDPC_REPORT_IRQLS];
    uint8_t irql;   /* now */
    uint64_t since; /* at irql since */
    uint64_t dpc_ns, isr_ns, dpcs, isrs;
    unsigned depth, max_depth;
} kdpc__rcpu;

/* A DPC in a queue (t: inserted, cpu: the queue, flags: KDPC_DPCF_*) or an IRP between its
 * first IoCallDriver and IoCompleteRequest (t: called, cpu: index of its device). */
typedef struct kdpc__rslot {
    uint64_t t;
    unsigned cpu;
    uint32_t flags;
    uint32_t next_free;
} kdpc__rslot;

typedef struct kdpc__report {
    uint64_t events;
    uintptr_t own_routine; /* kdpc__report_own_routine's */
    uint64_t start_ns;
    unsigned ncpu;
    kdpc__rcpu *cpu;
    kdpc__rroutine *routines; /* in order of first return */
    size_t nroutines, cap_routines;
    kdpc__ptrmap routine_index; /* address * 2 + kind -> 1 + index */
    kdpc__rdevice *devices;
    size_t ndevices, cap_devices;
    kdpc__ptrmap device_index; /* device id * 2 -> 1 + index */
    kdpc__rhist interrupt_to_dpc, dpc_latency;
    kdpc__ptrmap live_dpc, live_irp; /* object id * 2 -> 1 + slot */
    kdpc__rslot *slots;
    size_t nslots, cap_slots;
    uint32_t free_slot;
    /* depth windows: win_max[w * ncpu + c], win_ins[w], w < nwin <= 128 */
    unsigned *win_max;
    uint64_t *win_ins;
    size_t nwin;
    uint64_t win_ns;
    uint64_t win_next_ns; /* the end of the last window (0 before the first) */
    /* what the last kdpc__report_build handed out */
    kdpc_report_routine *out_routines;
    size_t out_nroutines;
    kdpc_report_device *out_devices;
    size_t out_ndevices;
    kdpc_report_cpu *out_cpu;
    kdpc_report_depth *out_depth;
} kdpc__report;

/* Create m->report (cfg.report): 0, or -1 out of memory. */
int kdpc__report_init(kdpc_machine *m);
/* Free m->report; NULL is fine. */
void kdpc__report_free(kdpc_machine *m);
/* One event, in order, as it happens (e's seq, time, CPU, IRQL, object_id, arg, arg2 are set;
 * object and routine are addresses that may die after the call). */
void kdpc__report_event(kdpc_machine *m, const kdpc_event *e);

/* @routine is kdpc's own DPC routine (KeFlushQueuedDpcs): no driver code, so its calls are
 * left out of the routines and the per-CPU DPC time (its queueing still counts). */
void kdpc__report_own_routine(kdpc_machine *m, kdpc_routine_ptr routine);

/* Fill @out from m->report (cfg.report on; between runs): 0, or -1 out of memory (@out
 * zeroed). The pointers in @out live until the next build or the report's free. */
int kdpc__report_build(kdpc_machine *m, kdpc_report *out);
/* Free what the last build handed out. */
void kdpc__report_out_free(kdpc__report *r);
/* Add @v to @h / read @h out. */
void kdpc__rhist_add(kdpc__rhist *h, uint64_t v);
void kdpc__rhist_out(const kdpc__rhist *h, kdpc_report_hist *out);

/* Write a built report as text / JSON: 0, or -1 when writing @out failed. */
int kdpc__report_write_text(kdpc_machine *m, const kdpc_report *rep, FILE *out);
int kdpc__report_write_json(kdpc_machine *m, const kdpc_report *rep, FILE *out);

#endif /* KDPC_TRACE_REPORT_INTERNAL_H */
