/* SPDX-License-Identifier: MIT */
/*
 * evsrc.h - a reader over the recorded events of a machine, for the exports
 * (chrome.c, timeline.c, html.c): the spool when cfg.trace_stream is on
 * (every event since creation or reset), else the ring (the newest
 * trace_capacity events). The exports never look at the ring or the spool
 * directly, and never hold more than a bounded state of their own.
 */
#ifndef KDPC_TRACE_EVSRC_H
#define KDPC_TRACE_EVSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <kdpc/trace.h>

typedef struct kdpc_machine kdpc_machine;
typedef struct kdpc__evsrc kdpc__evsrc;

/* Open a reader over @m's recorded events, oldest first. The machine must not run while it is
 * open. Return: KDPC_OK; KDPC_EINVAL (tracing off: neither trace_stream nor trace_capacity);
 * KDPC_EOUTPUT (the spool could not be written during the run, or cannot be read: errno is
 * set); KDPC_ENOMEM. */
kdpc_status kdpc__evsrc_open(kdpc_machine *m, kdpc__evsrc **out);

/* The next event into *@e (object is 0 for events read from the spool: use object_id); false
 * at the end or on a read error (then kdpc__evsrc_error is nonzero). */
bool kdpc__evsrc_next(kdpc__evsrc *s, kdpc_event *e);

/* 0, or the errno of a failed read. */
int kdpc__evsrc_error(const kdpc__evsrc *s);

/* true when the reader sees every event since the machine was created (or reset); false when
 * the ring dropped older ones (kdpc_trace_total() - kdpc_trace_count() of them). */
bool kdpc__evsrc_complete(const kdpc__evsrc *s);

/* Events the reader will yield in all (known in advance for the ring and the spool). */
uint64_t kdpc__evsrc_count(const kdpc__evsrc *s);

/* The name of object number @id: the one given with kdpc_name_object, a device's name, a
 * named DEVICE_OBJECT's name, a spin lock's initialising call site or a static variable's
 * symbol, as known when the object was first seen (or named); NULL when it has none. The
 * string lives until the reader is closed. */
const char *kdpc__evsrc_object_name(kdpc__evsrc *s, uint64_t id);

/* The name of a routine address (kdpc__routine_name), cached: valid until close. */
const char *kdpc__evsrc_routine_name(kdpc__evsrc *s, uintptr_t routine);

/* The machine the reader reads (for CPU count, violations, config). */
kdpc_machine *kdpc__evsrc_machine(const kdpc__evsrc *s);

void kdpc__evsrc_close(kdpc__evsrc *s);

#endif /* KDPC_TRACE_EVSRC_H */
