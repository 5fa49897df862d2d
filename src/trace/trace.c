/* SPDX-License-Identifier: MIT */
/*
 * trace.c - event ring, digest and dump.
 *
 * The digest must be equal for equal runs inside one process and across
 * processes, so it never hashes an address: objects are replaced by ids
 * handed out in order of first sight, routines are left out (their order
 * is already fixed by the objects' ids).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace/report.h"
#include "trace/trace.h"
#include "verifier/verifier.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

static const char *const kind_names[] = {
#define KDPC_EVENT_NAME_(name, text) text,
    KDPC_EVENT_MAP(KDPC_EVENT_NAME_)
#undef KDPC_EVENT_NAME_
};

const char *kdpc_event_kind_name(uint32_t kind)
{
    return kind < KDPC_EV_COUNT_ ? kind_names[kind] : "?";
}

int kdpc__trace_init(kdpc_machine *m)
{
    if (m->cfg.trace_capacity == 0 && !m->cfg.trace_stream && !m->cfg.report)
        return 0;
    kdpc__tracebuf *tr = calloc(1, sizeof(*tr));
    if (tr == NULL)
        return -1;
    tr->ring = m->cfg.trace_capacity > 0 ? calloc(m->cfg.trace_capacity, sizeof(*tr->ring)) : NULL;
    tr->dpc_id = calloc(m->ncpu, sizeof(*tr->dpc_id));
    if ((m->cfg.trace_capacity > 0 && tr->ring == NULL) || tr->dpc_id == NULL ||
        (m->cfg.report && kdpc__report_init(m) != 0)) {
        free(tr->dpc_id);
        free(tr->ring);
        free(tr);
        return -1;
    }
    tr->cap = m->cfg.trace_capacity;
    tr->digest = FNV_OFFSET;
    m->trace = tr;
    return 0;
}

void kdpc__trace_free(kdpc_machine *m)
{
    kdpc__tracebuf *tr = m->trace;
    if (tr == NULL)
        return;
    kdpc__report_free(m);
    kdpc__ptrmap_free(&tr->ids);
    free(tr->dpc_id);
    free(tr->ring);
    free(tr);
    m->trace = NULL;
}

/* FNV-1a over 64-bit words (not bytes): order-sensitive and cheap. */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= FNV_PRIME;
    return h ^ (h >> 29);
}

static uint64_t object_id(kdpc__tracebuf *tr, const void *object)
{
    if (object == NULL)
        return 0;
    uintptr_t key = (uintptr_t)object;
    void *v = kdpc__ptrmap_get(&tr->ids, key);
    if (v != NULL)
        return (uint64_t)(uintptr_t)v;
    uint64_t id = ++tr->next_id;
    (void)kdpc__ptrmap_put(&tr->ids, key, (void *)(uintptr_t)id);
    return id;
}

/* Drop the ids of [lo, hi): probe each 4-byte aligned address when that is cheaper than a
 * scan of the whole map. */
static void forget_ids(kdpc__ptrmap *pm, uintptr_t lo, uintptr_t hi)
{
    if (pm->live == 0 || hi <= lo)
        return;
    if ((hi - lo) / 4u <= pm->cap) {
        for (uintptr_t a = lo & ~(uintptr_t)3; a < hi; a += 4) {
            if (a >= lo && a > 1)
                (void)kdpc__ptrmap_del(pm, a);
        }
        return;
    }
    for (size_t i = 0; i < pm->cap; i++) {
        uintptr_t k = pm->keys[i];
        if (k > 1 && k >= lo && k < hi)
            (void)kdpc__ptrmap_del(pm, k);
    }
}

void kdpc__trace_forget(kdpc_machine *m, const void *p, size_t bytes)
{
    if (m == NULL || p == NULL || bytes == 0)
        return;
    kdpc__ver_forget_range(m, p, bytes);
    kdpc__tracebuf *tr = m->trace;
    if (tr == NULL)
        return;
    uintptr_t lo = (uintptr_t)p;
    uintptr_t hi = lo + bytes < lo ? UINTPTR_MAX : lo + bytes;
    forget_ids(&tr->ids, lo, hi);
}

void kdpc__trace_forget_stack(kdpc_machine *m)
{
    uintptr_t lo = 0;
    size_t size = 0;
    if (kdpc__stack_bounds(&lo, &size) == 0)
        kdpc__trace_forget(m, (const void *)lo, size);
}

uint64_t kdpc__trace_id(kdpc_machine *m, const void *object)
{
    return object_id(m->trace, object);
}

void kdpc__trace_emit(kdpc_machine *m, unsigned kind, const kdpc__cpu *c, const void *object,
                      kdpc_routine_ptr routine, uint64_t arg, uint64_t arg2)
{
    kdpc__tracebuf *tr = m->trace;
    if (kind == KDPC_EV_THREAD_EXIT) {
        /* The thread's stack dies with it, and the host may give it to the next thread. */
        kdpc__thread *self = kdpc__self();
        if (self != NULL && self->m == m && !self->idle && self->id == arg)
            kdpc__trace_forget_stack(m);
    }
    kdpc_event ev;
    kdpc_event *e = tr->cap > 0 ? &tr->ring[tr->head] : &ev;
    e->seq = tr->total++;
    e->time_ns = m->now_ns;
    e->kind = kind;
    e->cpu = (uint16_t)(c != NULL ? c->index : 0);
    e->irql = c != NULL ? c->irql : 0;
    unsigned held = c != NULL && c->ver != NULL ? kdpc__locks_held(m, c) : 0u;
    e->locks = (uint8_t)(held > 255u ? 255u : held);
    e->object = (uintptr_t)object;
    e->routine = 0;
    if (routine != NULL)
        memcpy(&e->routine, &routine, sizeof(e->routine));
    e->arg = arg;
    e->arg2 = arg2;
    if (kind >= KDPC_EV_REG_READ && kind <= KDPC_EV_PORT_WRITE) {
        /* A register's physical address or a port number, not host memory: the same in every
         * run, so it is its own id (and never a key of the id map). */
        e->object_id = (uint64_t)(uintptr_t)object;
    } else if (kind == KDPC_EV_DPC_END && c != NULL && object != NULL) {
        /* The routine may have freed its KDPC (or let a thread free it): the end is the
         * object the begin saw, whatever lives at that address now. */
        e->object_id = tr->dpc_id[c->index];
    } else {
        e->object_id = object_id(tr, object);
        if (kind == KDPC_EV_DPC_BEGIN && c != NULL)
            tr->dpc_id[c->index] = e->object_id;
    }
    uint64_t h = tr->digest;
    h = mix(h, kind);
    h = mix(h, e->cpu);
    h = mix(h, e->irql);
    h = mix(h, e->time_ns);
    h = mix(h, arg);
    h = mix(h, arg2);
    h = mix(h, e->object_id);
    tr->digest = h;
    if (m->report != NULL)
        kdpc__report_event(m, e);
    if (tr->cap == 0)
        return;
    if (++tr->head == tr->cap)
        tr->head = 0;
    if (tr->count < tr->cap)
        tr->count++;
}

size_t kdpc_trace_count(const kdpc_machine *m)
{
    return m != NULL && m->trace != NULL ? ((const kdpc__tracebuf *)m->trace)->count : 0;
}

const kdpc_event *kdpc_trace_event(const kdpc_machine *m, size_t i)
{
    if (m == NULL || m->trace == NULL)
        return NULL;
    const kdpc__tracebuf *tr = m->trace;
    if (i >= tr->count)
        return NULL;
    size_t first = (tr->head + tr->cap - tr->count) % tr->cap;
    return &tr->ring[(first + i) % tr->cap];
}

uint64_t kdpc_trace_total(const kdpc_machine *m)
{
    return m != NULL ? kdpc__trace_total_of(m) : 0;
}

uint64_t kdpc_trace_digest(const kdpc_machine *m)
{
    return m != NULL && m->trace != NULL ? ((const kdpc__tracebuf *)m->trace)->digest : 0;
}

kdpc_status kdpc_trace_dump(const kdpc_machine *m, FILE *out)
{
    if (m == NULL || out == NULL)
        return KDPC_EINVAL;
    /* Names are looked up, never changed: the machine is only read. */
    kdpc_machine *mm = (kdpc_machine *)(uintptr_t)m;
    size_t n = kdpc_trace_count(m);
    for (size_t i = 0; i < n; i++) {
        const kdpc_event *e = kdpc_trace_event(m, i);
        char obj[224], name[192];
        if (e->kind >= KDPC_EV_REG_READ && e->kind <= KDPC_EV_PORT_WRITE)
            snprintf(obj, sizeof(obj), "%#" PRIx64, e->object_id);
        else if (e->object_id == 0)
            snprintf(obj, sizeof(obj), "-");
        else {
            /* the name of what lives at that address now, if it is still this object */
            const kdpc__tracebuf *tr = m->trace;
            bool alive = (uint64_t)(uintptr_t)kdpc__ptrmap_get(&tr->ids, e->object) == e->object_id;
            const char *l =
                alive ? kdpc__object_label(mm, (const void *)e->object, name, sizeof(name)) : NULL;
            if (l != NULL)
                snprintf(obj, sizeof(obj), "#%" PRIu64 " %s", e->object_id, l);
            else
                snprintf(obj, sizeof(obj), "#%" PRIu64, e->object_id);
        }
        const char *routine = "-";
        if (e->routine != 0) {
            kdpc_routine_ptr r;
            memcpy(&r, &e->routine, sizeof(r));
            routine = kdpc__routine_name(mm, r);
        }
        fprintf(out,
                "%8" PRIu64 " %10" PRIu64 ".%03u us cpu%u irql%-2u locks%u %-14s obj=%s "
                "routine=%s arg=%" PRIu64 "\n",
                e->seq, e->time_ns / 1000u, (unsigned)(e->time_ns % 1000u), (unsigned)e->cpu,
                (unsigned)e->irql, (unsigned)e->locks, kdpc_event_kind_name(e->kind), obj, routine,
                e->arg);
    }
    return KDPC_OK;
}
