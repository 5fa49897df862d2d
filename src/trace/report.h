/* SPDX-License-Identifier: MIT */
/*
 * report.h - the DPC/ISR report (kdpc/report.h), kept from the event stream
 * while the machine runs: trace.c hands it every event when cfg.report.
 */
#ifndef KDPC_TRACE_REPORT_INTERNAL_H
#define KDPC_TRACE_REPORT_INTERNAL_H

#include <kdpc/report.h>
#include <kdpc/trace.h>
#include "sim/sim.h"

/* Create m->report (cfg.report): 0, or -1 out of memory. */
int kdpc__report_init(kdpc_machine *m);
/* Free m->report; NULL is fine. */
void kdpc__report_free(kdpc_machine *m);
/* One event, in order, as it happens (e's seq, time, CPU, IRQL, object_id, arg, arg2 are set;
 * object and routine are addresses that may die after the call). */
void kdpc__report_event(kdpc_machine *m, const kdpc_event *e);

#endif /* KDPC_TRACE_REPORT_INTERNAL_H */
