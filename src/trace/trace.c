/* SPDX-License-Identifier: MIT */
/*
 * trace.c - event ring, digest and dump.
 *
 * The digest must be equal for equal runs inside one process and across
 * processes, so it never hashes an address: objects are replaced by ids
 * handed out in order of first sight, routines are left out (their order
 * is already fixed by the objects' ids).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace/report.h"
#include "trace/trace.h"
#include "verifier/verifier.h"

#define DIGEST_SEED 0xcbf29ce484222325ull

static const char *const kind_names[] = {
#define KDPC_EVENT_NAME_(name, text) text,
    KDPC_EVENT_MAP(KDPC_EVENT_NAME_)
#undef KDPC_EVENT_NAME_
};

const char *kdpc_event_kind_name(uint32_t kind)
{
    return kind < KDPC_EV_COUNT_ ? kind_names[kind] : "?";
}

static void named_hook(kdpc_machine *m, const void *object, const char *name);

static void free_names(kdpc__tracebuf *tr)
{
    for (size_t i = 0; i < tr->names.cap; i++) {
        if (tr->names.keys[i] > 1)
            free(tr->names.vals[i]);
    }
    kdpc__ptrmap_free(&tr->names);
}

int kdpc__trace_init(kdpc_machine *m)
{
    if (m->cfg.trace_capacity == 0 && !m->cfg.trace_stream && !m->cfg.report)
        return 0;
    kdpc__tracebuf *tr = calloc(1, sizeof(*tr));
    if (tr == NULL)
        return ENOMEM;
    if (m->cfg.trace_stream) {
        tr->spool = calloc(1, sizeof(*tr->spool));
        int err = tr->spool == NULL ? ENOMEM : kdpc__spool_open(tr->spool, m->cfg.trace_spool_dir);
        if (err != 0) {
            free(tr->spool);
            free(tr);
            return err;
        }
    }
    tr->keep_names = tr->spool == NULL && m->cfg.trace_capacity > 0;
    tr->ring = m->cfg.trace_capacity > 0 ? calloc(m->cfg.trace_capacity, sizeof(*tr->ring)) : NULL;
    tr->dpc_id = calloc(m->ncpu, sizeof(*tr->dpc_id));
    if ((m->cfg.trace_capacity > 0 && tr->ring == NULL) || tr->dpc_id == NULL ||
        (m->cfg.report && kdpc__report_init(m) != 0)) {
        if (tr->spool != NULL)
            kdpc__spool_close(tr->spool);
        free(tr->spool);
        free(tr->dpc_id);
        free(tr->ring);
        free(tr);
        return ENOMEM;
    }
    tr->cap = m->cfg.trace_capacity;
    tr->digest = DIGEST_SEED;
    /* the inline path writes tiny records to the spool and nothing else */
    tr->fast = tr->spool != NULL && tr->cap == 0 && m->report == NULL ? tr->spool : NULL;
    m->trace = tr;
    if (tr->spool != NULL || tr->keep_names)
        m->hooks.named = named_hook;
    return 0;
}

void kdpc__trace_free(kdpc_machine *m)
{
    kdpc__tracebuf *tr = m->trace;
    if (tr == NULL)
        return;
    kdpc__report_free(m);
    if (tr->spool != NULL)
        kdpc__spool_close(tr->spool);
    free(tr->spool);
    free_names(tr);
    m->hooks.named = NULL;
    kdpc__ptrmap_free(&tr->ids);
    kdpc__ptrmap_free(&tr->work_id);
    free(tr->dpc_id);
    free(tr->ring);
    free(tr);
    m->trace = NULL;
}

/* The digest's word of an event too large for a tiny word (kdpc__trace_mix): the fields
 * folded into one word, a polynomial in an odd constant (Horner). A field that differs alone
 * always changes the word (it is multiplied by a power of an odd number, invertible mod
 * 2^64). kind, CPU, IRQL and locks share a word (8, 16, 8 and 8 bits: no overlap). */
static uint64_t fold_event(uint64_t kind, uint64_t cpu, uint64_t irql, uint64_t locks, uint64_t dt,
                           uint64_t arg, uint64_t arg2, uint64_t id)
{
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t x = (kind | cpu << 8 | irql << 24 | locks << 32) * k + dt;
    x = x * k + arg;
    x = x * k + arg2;
    x = x * k + id;
    return x ^ (x >> 32);
}

/* Keep @name as the name of object number @id: a name record in the spool, else in memory
 * for the ring's reader. */
static void record_name(kdpc__tracebuf *tr, uint64_t id, const char *name)
{
    if (tr->spool != NULL) {
        kdpc__spool_name(tr->spool, id, name);
        return;
    }
    if (!tr->keep_names)
        return;
    size_t len = strlen(name);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return;
    memcpy(copy, name, len + 1);
    uintptr_t key = (uintptr_t)id + 1u;
    char *old = kdpc__ptrmap_get(&tr->names, key);
    if (!kdpc__ptrmap_put(&tr->names, key, copy)) {
        free(copy);
        return;
    }
    free(old);
}

const char *kdpc__trace_name_of(const kdpc_machine *m, uint64_t id)
{
    const kdpc__tracebuf *tr = m->trace;
    if (tr == NULL || id == 0)
        return NULL;
    return kdpc__ptrmap_get(&tr->names, (uintptr_t)id + 1u);
}

/* Kinds whose objects are few and long-lived (locks, interrupt objects, timers, devices, DMA
 * adapters): their label (a name, a spin lock's init site, a static symbol) is looked up once
 * when they get a number. Others (KDPCs, IRPs, work items, device objects in arg2) come and go
 * by the thousand: only a name given with kdpc_name_object (one map lookup). */
static bool labelled_kind(unsigned kind)
{
    switch (kind) {
    case KDPC_EV_LOCK_ACQUIRE:
    case KDPC_EV_LOCK_RELEASE:
    case KDPC_EV_LOCK_SPIN:
    case KDPC_EV_ISR_BEGIN:
    case KDPC_EV_ISR_END:
    case KDPC_EV_SYNC_BEGIN:
    case KDPC_EV_SYNC_END:
    case KDPC_EV_TIMER_SET:
    case KDPC_EV_TIMER_CANCEL:
    case KDPC_EV_TIMER_EXPIRE:
    case KDPC_EV_DEVICE_EVENT:
    case KDPC_EV_DMA_GRANT:
    case KDPC_EV_DMA_MAP:
    case KDPC_EV_DMA_FLUSH:
    case KDPC_EV_DMA_FREE:
        return true;
    default:
        return false;
    }
}

/* @object was just given number @id: record its name, if it has one. */
static void first_sight(kdpc_machine *m, kdpc__tracebuf *tr, const void *object, uint64_t id,
                        unsigned kind)
{
    if (tr->spool == NULL && !tr->keep_names)
        return;
    char buf[224];
    const char *name = labelled_kind(kind) ? kdpc__object_label(m, object, buf, sizeof(buf))
                                           : kdpc__object_given_name(m, object);
    if (name != NULL)
        record_name(tr, id, name);
}

static uint64_t object_id_slow(kdpc_machine *m, kdpc__tracebuf *tr, uintptr_t key, size_t slot,
                               unsigned kind)
{
    const void *object = (const void *)key;
    uint64_t id = (uint64_t)(uintptr_t)kdpc__ptrmap_get(&tr->ids, key);
    if (id == 0) {
        id = ++tr->next_id;
        if (!kdpc__ptrmap_put(&tr->ids, key, (void *)(uintptr_t)id))
            return id; /* out of host memory: not remembered (nor cached) */
        first_sight(m, tr, object, id, kind);
    }
    tr->idcache[slot].addr = key;
    tr->idcache[slot].id = id;
    return id;
}

/* The cache hit inline, the rest out of line. */
static inline uint64_t object_id(kdpc_machine *m, kdpc__tracebuf *tr, const void *object,
                                 unsigned kind)
{
    if (object == NULL)
        return 0;
    uintptr_t key = (uintptr_t)object;
    size_t slot = kdpc__trace_cache_slot(key);
    if (tr->idcache[slot].addr == key)
        return tr->idcache[slot].id;
    return object_id_slow(m, tr, key, slot, kind);
}

static void named_hook(kdpc_machine *m, const void *object, const char *name)
{
    kdpc__tracebuf *tr = m->trace;
    if (tr == NULL)
        return;
    uint64_t id = (uint64_t)(uintptr_t)kdpc__ptrmap_get(&tr->ids, (uintptr_t)object);
    if (id != 0)
        record_name(tr, id, name);
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
    for (size_t i = 0; i < KDPC_TRACE_IDCACHE; i++) {
        if (tr->idcache[i].addr >= lo && tr->idcache[i].addr < hi)
            tr->idcache[i].addr = 0;
    }
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
    return object_id(m, m->trace, object, KDPC_EV_COUNT_);
}

void kdpc__trace_emit_slow(kdpc_machine *m, unsigned kind, const kdpc__cpu *c, const void *object,
                           kdpc_routine_ptr routine, uint64_t arg, uint64_t arg2)
{
    kdpc__tracebuf *tr = m->trace;
    if (kind == KDPC_EV_THREAD_EXIT) {
        /* The thread's stack dies with it, and the host may give it to the next thread. */
        kdpc__thread *self = kdpc__self();
        if (self != NULL && self->m == m && !self->idle && self->id == arg)
            kdpc__trace_forget_stack(m);
    }
    /* The fields in locals (registers), for the digest and the spool; an event in memory
     * only for the ring and the report. */
    uint64_t time_ns = m->now_ns;
    uint64_t dt = time_ns - tr->last_time;
    tr->last_time = time_ns;
    unsigned cpu = c != NULL ? c->index : 0u;
    uint8_t irql = c != NULL ? c->irql : 0u;
    unsigned held = c != NULL && c->ver != NULL ? kdpc__locks_held(m, c) : 0u;
    uint8_t locks = (uint8_t)(held > 255u ? 255u : held);
    uintptr_t raddr = 0;
    if (routine != NULL)
        memcpy(&raddr, &routine, sizeof(raddr));
    uint64_t id;
    if (kind >= KDPC_EV_REG_READ && kind <= KDPC_EV_PORT_WRITE) {
        /* A register's physical address or a port number, not host memory: the same in every
         * run, so it is its own id (and never a key of the id map). */
        id = (uint64_t)(uintptr_t)object;
    } else if (kind == KDPC_EV_DPC_END && c != NULL && object != NULL) {
        /* The routine may have freed its KDPC (or let a thread free it): the end is the
         * object the begin saw, whatever lives at that address now. */
        id = tr->dpc_id[cpu];
    } else if (kind == KDPC_EV_WORK_END && object != NULL &&
               kdpc__ptrmap_get(&tr->work_id, (uintptr_t)arg2 + 2u) != NULL) {
        /* the same for a work item (arg2: the worker thread, which runs one item at a time) */
        id = (uint64_t)(uintptr_t)kdpc__ptrmap_del(&tr->work_id, (uintptr_t)arg2 + 2u);
    } else {
        id = object_id(m, tr, object, kind);
        if (kind == KDPC_EV_DPC_BEGIN && c != NULL)
            tr->dpc_id[cpu] = id;
        else if (kind == KDPC_EV_WORK_BEGIN && id != 0)
            (void)kdpc__ptrmap_put(&tr->work_id, (uintptr_t)arg2 + 2u, (void *)(uintptr_t)id);
    }
    uint64_t seq = tr->total++;
    /* the same word as the inline path's for an event it could have taken */
    uint64_t w = kdpc__spool_tiny(kind, cpu, irql, locks, dt, id, arg, arg2);
    tr->digest = kdpc__trace_mix(
        tr->digest, w != 0 ? w : fold_event(kind, cpu, irql, locks, dt, arg, arg2, id));
    if (tr->spool != NULL && tr->spool->live)
        kdpc__spool_put(tr->spool, kind, cpu, irql, locks, time_ns, dt, id, raddr, arg, arg2);
    if (tr->cap == 0 && m->report == NULL)
        return;
    kdpc_event ev;
    kdpc_event *e = tr->cap > 0 ? &tr->ring[tr->head] : &ev;
    e->seq = seq;
    e->time_ns = time_ns;
    e->kind = kind;
    e->cpu = (uint16_t)cpu;
    e->irql = irql;
    e->locks = locks;
    e->object = (uintptr_t)object;
    e->routine = raddr;
    e->arg = arg;
    e->object_id = id;
    e->arg2 = arg2;
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
                "routine=%s arg=%" PRIu64,
                e->seq, e->time_ns / 1000u, (unsigned)(e->time_ns % 1000u), (unsigned)e->cpu,
                (unsigned)e->irql, (unsigned)e->locks, kdpc_event_kind_name(e->kind), obj, routine,
                e->arg);
        /* arg2 (KDPC_EVENT_MAP); the DEVICE_OBJECT of these kinds by number and name */
        bool dev2 = e->kind == KDPC_EV_WORK_QUEUE || e->kind == KDPC_EV_IRP_CALL ||
                    e->kind == KDPC_EV_IRP_START || e->kind == KDPC_EV_IRP_QUEUE ||
                    e->kind == KDPC_EV_DMA_GRANT;
        const char *n2 = dev2 ? kdpc__trace_name_of(m, e->arg2) : NULL;
        if (n2 != NULL)
            fprintf(out, " arg2=#%" PRIu64 " %s", e->arg2, n2);
        else if (e->arg2 != 0)
            fprintf(out, " arg2=%" PRIu64, e->arg2);
        fputc('\n', out);
    }
    return KDPC_OK;
}
