/* SPDX-License-Identifier: MIT */
/*
 * trace.h - the event trace: a ring of the newest events, the spool, the report and a digest
 * of all of them. Everybody above the trace layer calls it; the common case of a streamed run
 * is inline (kdpc__trace_emit).
 */
#ifndef KDPC_TRACE_INTERNAL_H
#define KDPC_TRACE_INTERNAL_H

#include <kdpc/trace.h>
#include "base/ptrmap.h"
#include "sim/sim.h"
#include "trace/spool.h"
#include "verifier/verifier.h"

#define KDPC_TRACE_IDCACHE 64u

typedef struct kdpc__trace {
    /* hot: the inline fast path (kdpc__trace_emit) reads these first */
    kdpc__spool *fast; /* the spool when it is the only sink (no ring, no report), else NULL */
    uint64_t total;
    uint64_t digest;
    uint64_t last_time; /* time of the previous event (events carry the delta) */
    uint64_t *dpc_id;   /* per CPU: id of the KDPC whose routine runs (its memory may die) */
    struct {
        uintptr_t addr; /* 0: empty */
        uint64_t id;
    } idcache[KDPC_TRACE_IDCACHE]; /* direct-mapped cache in front of ids */
    kdpc_event *ring;              /* capacity cfg.trace_capacity */
    size_t cap, count, head;
    kdpc__ptrmap ids; /* object address -> 1-based id, in order of first sight */
    uint64_t next_id;
    kdpc__ptrmap work_id; /* thread id + 2 -> id of the work item whose routine runs on it */
    kdpc__spool *spool;   /* cfg.trace_stream: every event, on disk; else NULL */
    bool keep_names;      /* ring without spool: names kept in memory */
    kdpc__ptrmap names;   /* keep_names: object number + 1 -> malloc'd name (outlives it) */
} kdpc__tracebuf;

/* Tracing on (trace_capacity, trace_stream or report): m->trace. 0, or an errno (ENOMEM; the
 * spool's: the spool directory is missing, not writable ...). */
int kdpc__trace_init(kdpc_machine *m);
void kdpc__trace_free(kdpc_machine *m);
/* Every event: kdpc__trace_emit's fast path, or all of it (any sink, any event). */
void kdpc__trace_emit_slow(kdpc_machine *m, unsigned kind, const kdpc__cpu *c, const void *object,
                           kdpc_routine_ptr routine, uint64_t arg, uint64_t arg2);
/* The number of @object in the trace (handed out now if it has none); 0 for NULL. For an
 * event's arg2 that names a second object ("id of the DEVICE_OBJECT"). Tracing must be on. */
uint64_t kdpc__trace_id(kdpc_machine *m, const void *object);

static inline size_t kdpc__trace_cache_slot(uintptr_t key)
{
    return (size_t)((key >> 4) ^ (key >> 11)) & (KDPC_TRACE_IDCACHE - 1u);
}

/* One event into the digest: @w is the event's tiny word without its routine
 * (kdpc__spool_tiny), or, for an event with a field too large for it, a fold of all its
 * fields (trace.c). Either way every field the digest covers is in it (kind, CPU, IRQL, locks
 * held, time as the delta to the previous event, object number, arg, arg2), never an
 * address. One step per event chains them in order; the step is a bijection of the state
 * for a given word, so two runs that differ in one event never meet again when the rest is
 * equal. */
static inline uint64_t kdpc__trace_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

/* Kinds that always take the slow path: they forget a stack, have an id that is no address,
 * or keep a work item's number in a map. */
static inline bool kdpc__trace_kind_slow(unsigned kind)
{
    return kind == KDPC_EV_THREAD_EXIT ||
           (kind >= KDPC_EV_REG_READ && kind <= KDPC_EV_PORT_WRITE) || kind == KDPC_EV_WORK_BEGIN ||
           kind == KDPC_EV_WORK_END;
}

/* One event to every sink; tracing must be on (m->trace). Inline, the common case of a
 * streamed run (the spool the only sink, a CPU, an object and routine seen before, fields
 * small enough for a tiny record): a few dozen instructions and no call; anything else is
 * kdpc__trace_emit_slow, which gives the same digest and records. Always inlined: most
 * arguments are constants at the call (the kind, NULL object or routine, arg2 0), which folds
 * away half of the work. */
#if defined(__GNUC__)
#define KDPC__TRACE_INLINE static inline __attribute__((always_inline))
#else
#define KDPC__TRACE_INLINE static inline
#endif
KDPC__TRACE_INLINE void kdpc__trace_emit(kdpc_machine *m, unsigned kind, const kdpc__cpu *c,
                                         const void *object, kdpc_routine_ptr routine, uint64_t arg,
                                         uint64_t arg2)
{
    kdpc__tracebuf *tr = m->trace;
    kdpc__spool *s = tr->fast;
    if (s == NULL || c == NULL || kdpc__trace_kind_slow(kind))
        goto slow;
    uint64_t id = 0;
    if (kind == KDPC_EV_DPC_END && object != NULL) {
        id = tr->dpc_id[c->index]; /* the KDPC the begin saw (the routine may have freed it) */
    } else if (object != NULL) {
        uintptr_t key = (uintptr_t)object;
        size_t slot = kdpc__trace_cache_slot(key);
        if (tr->idcache[slot].addr != key)
            goto slow;
        id = tr->idcache[slot].id;
    }
    uint64_t ridx = 0;
    if (routine != NULL) {
        uintptr_t raddr;
        memcpy(&raddr, &routine, sizeof(raddr));
        size_t rs = kdpc__spool_rcache_slot(raddr);
        if (s->rcache[rs].addr != raddr)
            goto slow;
        ridx = s->rcache[rs].idx;
    }
    uint64_t time_ns = m->now_ns;
    uint64_t locks = c->ver != NULL ? ((const kdpc__vcpu *)c->ver)->nheld : 0u;
    uint64_t w =
        kdpc__spool_tiny(kind, c->index, c->irql, locks, time_ns - tr->last_time, id, arg, arg2);
    if (w == 0 || ridx >= KDPC_SPOOL_TINY_ROUTINES)
        goto slow;
    tr->last_time = time_ns;
    tr->total++;
    tr->digest = kdpc__trace_mix(tr->digest, w);
    if (kind == KDPC_EV_DPC_BEGIN)
        tr->dpc_id[c->index] = id;
    kdpc__spool_put_tiny(s, w | ridx << KDPC_SPOOL_TINY_RSHIFT);
    return;
slow:
    kdpc__trace_emit_slow(m, kind, c, object, routine, arg, arg2);
}

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
