/* SPDX-License-Identifier: MIT */
/*
 * lockset.c - what the checker knows of each spin lock: owner, API family,
 * FIFO of queued waiters, and the lock-order graph.
 *
 * Order graph: an edge A -> B means B was acquired while A was held, in the
 * same context of one CPU (an ISR that interrupts a lock holder is another
 * context: its locks do not nest under the interrupted ones). Acquiring B
 * while holding A when a path B ->* A already exists means the two orders
 * were both used: spinlock.order, found before any real deadlock, as
 * Driver Verifier's deadlock detection does (0xC4/0x1001).
 *
 * The edges are in a hash set keyed by (from, to) (one probe to know an edge)
 * and on two lists per lock, successors and predecessors, in the order they
 * were recorded: the cycle search walks successors in that order, and
 * forgetting a lock takes away its own edges only.
 *
 * What is known of a lock lives as long as its memory: KeInitializeSpinLock
 * of a known address (one lookup), a pool free over it and the end of the
 * thread whose stack held it forget it (kdpc__lock_forget_range finds the
 * locks of a range through a page index: the cost follows the range's pages
 * and the locks on them, never every lock), so a machine keeps only the locks
 * that can still be used, however many runs it makes. A lock still held when
 * its memory goes is lock.freed_held (Deadlock Detection 0xC4/0x100B).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/verifier.h"

_Static_assert(sizeof(void *) != 8 || sizeof(kdpc__lock) <= 64, "a lock record is 64 bytes");

kdpc__lock *kdpc__lock_find(kdpc_machine *m, const void *addr)
{
    return kdpc__ptrmap_get(&kdpc__ver_of(m)->locks, (uintptr_t)addr);
}

#define LOCK_PAGE_SHIFT 12u

static uintptr_t page_of(uintptr_t addr)
{
    return (addr >> LOCK_PAGE_SHIFT) + 2u; /* keys 0 and 1 are the map's empty and deleted marks */
}

kdpc__lock *kdpc__lock_get(kdpc_machine *m, const void *addr)
{
    kdpc__ver *v = kdpc__ver_of(m);
    kdpc__lock *l = kdpc__ptrmap_get(&v->locks, (uintptr_t)addr);
    if (l != NULL)
        return l;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->addr = (uintptr_t)addr;
    l->owner = -1;
    uintptr_t pg = page_of(l->addr);
    l->page_next = kdpc__ptrmap_get(&v->lock_pages, pg);
    if (!kdpc__ptrmap_put(&v->lock_pages, pg, l)) {
        free(l);
        return NULL;
    }
    if (!kdpc__ptrmap_put(&v->locks, l->addr, l)) {
        if (l->page_next != NULL)
            (void)kdpc__ptrmap_put(&v->lock_pages, pg, l->page_next); /* no new slot needed */
        else
            (void)kdpc__ptrmap_del(&v->lock_pages, pg);
        free(l);
        return NULL;
    }
    if (l->page_next != NULL)
        l->page_next->page_prev = l;
    return l;
}

static void unlink_page(kdpc__ver *v, kdpc__lock *l)
{
    if (l->page_next != NULL)
        l->page_next->page_prev = l->page_prev;
    if (l->page_prev != NULL) {
        l->page_prev->page_next = l->page_next;
        return;
    }
    uintptr_t pg = page_of(l->addr);
    if (l->page_next != NULL)
        (void)kdpc__ptrmap_put(&v->lock_pages, pg, l->page_next); /* replaces in place */
    else
        (void)kdpc__ptrmap_del(&v->lock_pages, pg);
}

/* ------------------------------------------------------------------ */
/* Edges                                                               */

static void out_unlink(kdpc__lock_edge *e)
{
    if (e->out_next == e) {
        e->from->out = NULL;
        return;
    }
    e->out_prev->out_next = e->out_next;
    e->out_next->out_prev = e->out_prev;
    if (e->from->out == e)
        e->from->out = e->out_next;
}

static void in_unlink(kdpc__lock_edge *e)
{
    if (e->in_next == e) {
        e->to->in = NULL;
        return;
    }
    e->in_prev->in_next = e->in_next;
    e->in_next->in_prev = e->in_prev;
    if (e->to->in == e)
        e->to->in = e->in_next;
}

static bool add_edge(kdpc__ver *v, kdpc__lock *from, kdpc__lock *to)
{
    kdpc__lock_edge *e = malloc(sizeof(*e));
    if (e == NULL)
        return false;
    if (!kdpc__pairmap_put(&v->lock_edges, (uintptr_t)from, (uintptr_t)to, e)) {
        free(e);
        return false;
    }
    e->from = from;
    e->to = to;
    if (from->out == NULL) {
        from->out = e->out_next = e->out_prev = e;
    } else { /* at the end: successors stay in the order they were recorded */
        e->out_next = from->out;
        e->out_prev = from->out->out_prev;
        e->out_prev->out_next = e;
        from->out->out_prev = e;
    }
    if (to->in == NULL) {
        to->in = e->in_next = e->in_prev = e;
    } else {
        e->in_next = to->in;
        e->in_prev = to->in->in_prev;
        e->in_prev->in_next = e;
        to->in->in_prev = e;
    }
    return true;
}

static void drop_edge(kdpc__ver *v, kdpc__lock_edge *e)
{
    (void)kdpc__pairmap_del(&v->lock_edges, (uintptr_t)e->from, (uintptr_t)e->to);
    out_unlink(e);
    in_unlink(e);
    free(e);
}

/* Forget a lock that nobody holds: its record, its page link and its edges both ways. */
static void drop(kdpc__ver *v, kdpc__lock *l)
{
    (void)kdpc__ptrmap_del(&v->locks, l->addr);
    unlink_page(v, l);
    while (l->out != NULL)
        drop_edge(v, l->out);
    while (l->in != NULL)
        drop_edge(v, l->in);
    free(l->queue);
    free(l);
}

void kdpc__lock_forget(kdpc_machine *m, const void *addr)
{
    kdpc__ver *v = kdpc__ver_of(m);
    kdpc__lock *l = kdpc__ptrmap_get(&v->locks, (uintptr_t)addr);
    if (l == NULL || l->owner >= 0)
        return; /* a held lock is not forgotten: its holder still owns it */
    drop(v, l);
}

/* lock.freed_held (Deadlock Detection 0xC4/0x100B): the memory of a held spin lock goes away (a
 * pool block freed, the stack of an ending thread). P2 the lock, P3 the start of the memory, P4
 * its size. Divergence: Verifier's P3/P4 name the resource's owner thread and an internal
 * record; kdpc gives the memory that went away. Off or a warning: the lock is forgotten with
 * its memory, as if released (a later release of it is spinlock.not_owned). */
static void freed_held(kdpc_machine *m, kdpc__lock *l, uintptr_t lo, uintptr_t hi)
{
    if (l->owner < 0)
        return;
    kdpc__violation(m, KDPC_R_LOCK_FREED_HELD, 0xC4, 0x100B, l->addr, lo, hi - lo, NULL,
                    "the memory of spin lock %#" PRIxPTR " (%#" PRIxPTR ", %" PRIuPTR
                    " bytes) goes away while CPU %d holds the lock",
                    l->addr, lo, hi - lo, l->owner);
    (void)kdpc__lock_pop(m, (unsigned)l->owner, l);
}

void kdpc__lock_forget_range(kdpc_machine *m, uintptr_t lo, uintptr_t hi)
{
    kdpc__ver *v = kdpc__ver_of(m);
    if (v == NULL || v->locks.live == 0 || hi <= lo)
        return;
    uintptr_t first = lo >> LOCK_PAGE_SHIFT, last = (hi - 1u) >> LOCK_PAGE_SHIFT;
    if (last - first >= v->lock_pages.live) {
        /* a range of more pages than there are pages with locks: look at each lock once */
        for (size_t i = 0; i < v->locks.cap; i++) {
            if (v->locks.keys[i] <= 1)
                continue;
            kdpc__lock *l = v->locks.vals[i];
            if (l->addr >= lo && l->addr < hi) {
                freed_held(m, l, lo, hi);
                drop(v, l); /* leaves a tombstone: the scan goes on */
            }
        }
        return;
    }
    for (uintptr_t p = first; p <= last; p++) {
        kdpc__lock *l = kdpc__ptrmap_get(&v->lock_pages, p + 2u);
        while (l != NULL) {
            kdpc__lock *next = l->page_next;
            if (l->addr >= lo && l->addr < hi) {
                freed_held(m, l, lo, hi);
                drop(v, l);
            }
            l = next;
        }
    }
}

void kdpc__lockset_free(kdpc__ver *v)
{
    for (size_t i = 0; i < v->locks.cap; i++) {
        if (v->locks.keys[i] <= 1)
            continue;
        kdpc__lock *l = v->locks.vals[i];
        kdpc__lock_edge *e = l->out; /* each edge is freed once: by its from */
        if (e != NULL)
            e->out_prev->out_next = NULL;
        while (e != NULL) {
            kdpc__lock_edge *next = e->out_next;
            free(e);
            e = next;
        }
        free(l->queue);
        free(l);
    }
    kdpc__ptrmap_free(&v->locks);
    kdpc__ptrmap_free(&v->lock_pages);
    kdpc__pairmap_free(&v->lock_edges);
    free(v->dfs);
    v->dfs = NULL;
    v->dfs_cap = 0;
}

/* ------------------------------------------------------------------ */
/* Order check                                                         */

/* A new DFS epoch; at wrap-around every mark is cleared so that none looks current. */
static void next_epoch(kdpc__ver *v)
{
    if (++v->epoch != 0)
        return;
    for (size_t i = 0; i < v->locks.cap; i++) {
        if (v->locks.keys[i] > 1)
            ((kdpc__lock *)v->locks.vals[i])->mark = 0;
    }
    v->epoch = 1;
}

/* Is there a path of edges from @from to @to? Depth first, successors in the order they were
 * recorded, with a stack of its own (a chain of 100k locks is no deeper than one). Out of host
 * memory for the stack: false (an order report missed, never a crash). */
static bool reaches(kdpc__ver *v, kdpc__lock *from, const kdpc__lock *to)
{
    if (from == to)
        return true;
    next_epoch(v);
    from->mark = v->epoch;
    if (from->out == NULL)
        return false;
    size_t sp = 0;
    if (v->dfs_cap == 0) {
        v->dfs = malloc(64 * sizeof(*v->dfs));
        if (v->dfs == NULL)
            return false;
        v->dfs_cap = 64;
    }
    v->dfs[sp++] = from->out; /* next edge to follow out of each lock on the path */
    while (sp > 0) {
        kdpc__lock_edge *e = v->dfs[sp - 1];
        if (e == NULL) {
            sp--;
            continue;
        }
        v->dfs[sp - 1] = e->out_next == e->from->out ? NULL : e->out_next;
        kdpc__lock *t = e->to;
        if (t == to)
            return true;
        if (t->mark == v->epoch)
            continue;
        t->mark = v->epoch;
        if (t->out == NULL)
            continue;
        if (sp == v->dfs_cap) {
            kdpc__lock_edge **ns = realloc(v->dfs, v->dfs_cap * 2 * sizeof(*ns));
            if (ns == NULL)
                return false;
            v->dfs = ns;
            v->dfs_cap *= 2;
        }
        v->dfs[sp++] = t->out;
    }
    return false;
}

kdpc__lock *kdpc__lock_order(kdpc_machine *m, kdpc__cpu *c, kdpc__lock *l)
{
    kdpc__ver *v = kdpc__ver_of(m);
    kdpc__vcpu *vc = c->ver;
    for (unsigned i = 0; i < vc->nheld; i++) {
        kdpc__held *h = &vc->held[i];
        if (h->isr_depth != c->isr_depth || h->lock == l ||
            kdpc__pairmap_get(&v->lock_edges, (uintptr_t)h->lock, (uintptr_t)l) != NULL)
            continue;
        if (reaches(v, l, h->lock))
            return h->lock;
        (void)add_edge(v, h->lock, l); /* out of host memory: forget this edge, never crash */
    }
    return NULL;
}

void kdpc__lock_push(kdpc_machine *m, kdpc__cpu *c, kdpc__lock *l, unsigned kind)
{
    kdpc__vcpu *vc = c->ver;
    l->owner = (int16_t)c->index;
    l->held_kind = (uint8_t)kind;
    l->since_ns = c->own_ns;
    if (l->kind_used == 0)
        l->kind_used = (uint8_t)kind;
    (void)m;
    if (vc->nheld < KDPC_MAX_HELD) {
        vc->held[vc->nheld].lock = l;
        vc->held[vc->nheld].kind = kind;
        vc->held[vc->nheld].isr_depth = c->isr_depth;
        vc->held[vc->nheld].old_irql = -1;
        vc->nheld++;
    }
}

bool kdpc__lock_pop(kdpc_machine *m, unsigned cpu, kdpc__lock *l)
{
    kdpc__vcpu *vc = m->cpus[cpu].ver;
    for (unsigned i = vc->nheld; i-- > 0;) {
        if (vc->held[i].lock == l) {
            memmove(&vc->held[i], &vc->held[i + 1], (vc->nheld - i - 1) * sizeof(vc->held[0]));
            vc->nheld--;
            l->owner = -1;
            l->held_kind = 0;
            return true;
        }
    }
    return false;
}

kdpc__lock *kdpc__lock_held_at(kdpc_machine *m, const kdpc__cpu *c, unsigned i)
{
    (void)m;
    const kdpc__vcpu *vc = c->ver;
    return i < vc->nheld ? vc->held[i].lock : NULL;
}

static kdpc__held *held_entry(const kdpc__cpu *c, const kdpc__lock *l)
{
    kdpc__vcpu *vc = c->ver;
    for (unsigned i = vc->nheld; i-- > 0;) {
        if (vc->held[i].lock == l)
            return &vc->held[i];
    }
    return NULL;
}

void kdpc__lock_set_old_irql(const kdpc__cpu *c, const kdpc__lock *l, int irql)
{
    kdpc__held *h = held_entry(c, l);
    if (h != NULL)
        h->old_irql = irql;
}

kdpc__lock *kdpc__lock_newer_held(const kdpc__cpu *c, const kdpc__lock *l)
{
    const kdpc__vcpu *vc = c->ver;
    const kdpc__held *h = held_entry(c, l);
    if (h == NULL)
        return NULL;
    for (unsigned i = vc->nheld; i-- > 0 && &vc->held[i] != h;) {
        if (vc->held[i].isr_depth == h->isr_depth)
            return vc->held[i].lock;
    }
    return NULL;
}

int kdpc__lock_old_irql(const kdpc__cpu *c, const kdpc__lock *l)
{
    const kdpc__held *h = held_entry(c, l);
    return h != NULL ? h->old_irql : -1;
}

bool kdpc__lock_enqueue(kdpc__lock *l, unsigned cpu)
{
    kdpc__lock_queue *q = l->queue;
    if (q == NULL || q->n == q->cap) {
        unsigned ncap = q == NULL ? 4u : q->cap * 2u;
        kdpc__lock_queue *nq = realloc(q, sizeof(*nq) + ncap * sizeof(nq->cpu[0]));
        if (nq == NULL)
            return false;
        if (q == NULL)
            nq->n = 0;
        nq->cap = ncap;
        l->queue = q = nq;
    }
    q->cpu[q->n++] = cpu;
    return true;
}

int kdpc__lock_queue_head(const kdpc__lock *l)
{
    return l->queue != NULL && l->queue->n > 0 ? (int)l->queue->cpu[0] : -1;
}

void kdpc__lock_dequeue(kdpc__lock *l)
{
    kdpc__lock_queue *q = l->queue;
    if (q == NULL || q->n == 0)
        return;
    memmove(&q->cpu[0], &q->cpu[1], (q->n - 1u) * sizeof(q->cpu[0]));
    q->n--;
}

static size_t app(char *buf, size_t cap, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t app(char *buf, size_t cap, size_t n, const char *fmt, ...)
{
    if (n + 1 >= cap)
        return n;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
    if (k < 0)
        return n;
    n += (size_t)k;
    return n < cap ? n : cap - 1;
}

/* " (name)" of a lock for the deadlock report, or "" when it has none. */
static const char *label(kdpc_machine *m, const void *lock, char *buf, size_t n)
{
    char name[192];
    const char *l = kdpc__object_label(m, lock, name, sizeof(name));
    if (l == NULL)
        return "";
    snprintf(buf, n, " (%s)", l);
    return buf;
}

void kdpc__ver_deadlock_report(kdpc_machine *m)
{
    char lb[208];
    size_t cap = 256 + (size_t)m->ncpu * 256 * 4;
    char *buf = malloc(cap);
    if (buf == NULL)
        return;
    size_t n = 0;
    n = app(buf, cap, n, "deadlock at virtual time %" PRIu64 " ns (seed %" PRIu64 "):\n", m->now_ns,
            m->cfg.seed);
    for (unsigned i = 0; i < m->ncpu; i++) {
        kdpc__cpu *c = &m->cpus[i];
        kdpc__vcpu *vc = c->ver;
        n = app(buf, cap, n, "  CPU %u IRQL %u%s: holds", i, (unsigned)c->irql,
                c->thread->idle ? " (idle thread)" : "");
        if (vc->nheld == 0)
            n = app(buf, cap, n, " nothing");
        for (unsigned k = 0; k < vc->nheld; k++)
            n = app(buf, cap, n, " %#" PRIxPTR "%s", vc->held[k].lock->addr,
                    label(m, (const void *)vc->held[k].lock->addr, lb, sizeof(lb)));
        if (c->spin_on != NULL) {
            kdpc__lock *l = kdpc__lock_find(m, c->spin_on);
            const char *what = label(m, c->spin_on, lb, sizeof(lb));
            if (l != NULL && l->owner >= 0)
                n = app(buf, cap, n, "; spins on %#" PRIxPTR "%s held by CPU %d", l->addr, what,
                        l->owner);
            else
                n = app(buf, cap, n, "; spins on %p%s", c->spin_on, what);
        }
        n = app(buf, cap, n, "\n");
    }
    unsigned on_cpu = 0;
    for (unsigned i = 0; i < m->ncpu; i++)
        on_cpu += m->cpus[i].thread->idle ? 0u : 1u;
    if (m->live_workers > on_cpu)
        n = app(buf, cap, n, "  %u thread(s) blocked or waiting for a CPU\n",
                m->live_workers - on_cpu);
    free(m->deadlock_report);
    m->deadlock_report = buf;
    if (m->cfg.log != NULL) {
        fprintf(m->cfg.log, "KDPC DEADLOCK\n%s", buf);
        fflush(m->cfg.log);
    }
}
