/* SPDX-License-Identifier: MIT */
/*
 * trace.h - the event trace: a ring of the newest events and a digest of
 * all of them. Calls nobody; everybody above the machine layer calls it.
 */
#ifndef KDPC_TRACE_INTERNAL_H
#define KDPC_TRACE_INTERNAL_H

#include <kdpc/trace.h>
#include "base/ptrmap.h"
#include "sim/sim.h"
#include "trace/spool.h"

#define KDPC_TRACE_IDCACHE 64u

typedef struct kdpc__trace {
    kdpc_event *ring; /* capacity cfg.trace_capacity */
    size_t cap, count, head;
    uint64_t total;
    uint64_t digest;
    kdpc__ptrmap ids; /* object address -> 1-based id, in order of first sight */
    struct {
        uintptr_t addr; /* 0: empty */
        uint64_t id;
    } idcache[KDPC_TRACE_IDCACHE]; /* direct-mapped cache in front of ids */
    uint64_t next_id;
    uint64_t *dpc_id;     /* per CPU: id of the KDPC whose routine runs (its memory may die) */
    kdpc__ptrmap work_id; /* thread id + 2 -> id of the work item whose routine runs on it */
    kdpc__spool *spool;   /* cfg.trace_stream: every event, on disk; else NULL */
    bool keep_names;      /* ring without spool: names kept in memory */
    kdpc__ptrmap names;   /* keep_names: object number + 1 -> malloc'd name (outlives it) */
} kdpc__tracebuf;

/* Tracing on (trace_capacity, trace_stream or report): m->trace. 0, or an errno (ENOMEM; the
 * spool's: the spool directory is missing, not writable ...). */
int kdpc__trace_init(kdpc_machine *m);
void kdpc__trace_free(kdpc_machine *m);
void kdpc__trace_emit(kdpc_machine *m, unsigned kind, const kdpc__cpu *c, const void *object,
                      kdpc_routine_ptr routine, uint64_t arg, uint64_t arg2);
/* The number of @object in the trace (handed out now if it has none); 0 for NULL. For an
 * event's arg2 that names a second object ("id of the DEVICE_OBJECT"). Tracing must be on. */
uint64_t kdpc__trace_id(kdpc_machine *m, const void *object);

/* Cheap enough to leave in every hot path: one load and a branch when tracing is off. */
static inline void kdpc__trace(kdpc_machine *m, unsigned kind, const kdpc__cpu *c,
                               const void *object, kdpc_routine_ptr routine, uint64_t arg)
{
    if (m->trace != NULL)
        kdpc__trace_emit(m, kind, c, object, routine, arg, 0);
}

/* The same with the kind's arg2 (KDPC_EVENT_MAP). */
static inline void kdpc__trace2(kdpc_machine *m, unsigned kind, const kdpc__cpu *c,
                                const void *object, kdpc_routine_ptr routine, uint64_t arg,
                                uint64_t arg2)
{
    if (m->trace != NULL)
        kdpc__trace_emit(m, kind, c, object, routine, arg, arg2);
}

/* The same with arg2 the number of a second object (a DEVICE_OBJECT). */
static inline void kdpc__trace_obj2(kdpc_machine *m, unsigned kind, const kdpc__cpu *c,
                                    const void *object, kdpc_routine_ptr routine, uint64_t arg,
                                    const void *object2)
{
    if (m->trace != NULL)
        kdpc__trace_emit(m, kind, c, object, routine, arg, kdpc__trace_id(m, object2));
}

/* [p, p + bytes) died (freed pool, IRP, MDL, work item, device; a thread's stack): forget the
 * numbers of objects inside it, so the next object there gets a new one, and their names. */
void kdpc__trace_forget(kdpc_machine *m, const void *p, size_t bytes);
/* The calling host thread's simulated thread ends: forget what lived on its stack. */
void kdpc__trace_forget_stack(kdpc_machine *m);

/* The name recorded for object number @id (ring without spool: names kept in memory when the
 * object got its number or was named); NULL when none. */
const char *kdpc__trace_name_of(const kdpc_machine *m, uint64_t id);

static inline uint64_t kdpc__trace_total_of(const kdpc_machine *m)
{
    return m->trace != NULL ? ((const kdpc__tracebuf *)m->trace)->total : 0;
}

#endif /* KDPC_TRACE_INTERNAL_H */
