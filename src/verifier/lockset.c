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
 * What is known of a lock lives as long as its memory: KeInitializeSpinLock
 * of a known address, a pool free over it and the end of the thread whose
 * stack held it forget it (kdpc__lock_forget_range finds the locks of a range
 * through a page index), so a machine keeps only the locks that can still be
 * used, however many runs it makes.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/verifier.h"

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
    return l;
}

static void unlink_page(kdpc__ver *v, kdpc__lock *l)
{
    uintptr_t pg = page_of(l->addr);
    kdpc__lock *first = kdpc__ptrmap_get(&v->lock_pages, pg);
    if (first == l) {
        if (l->page_next != NULL)
            (void)kdpc__ptrmap_put(&v->lock_pages, pg, l->page_next); /* replaces in place */
        else
            (void)kdpc__ptrmap_del(&v->lock_pages, pg);
        return;
    }
    for (kdpc__lock *q = first; q != NULL; q = q->page_next) {
        if (q->page_next == l) {
            q->page_next = l->page_next;
            return;
        }
    }
}

static void drop_edges_to(kdpc__ver *v, const kdpc__lock *gone)
{
    for (size_t i = 0; i < v->locks.cap; i++) {
        if (v->locks.keys[i] <= 1)
            continue;
        kdpc__lock *l = v->locks.vals[i];
        for (size_t k = 0; k < l->nsucc;) {
            if (l->succ[k] == gone)
                l->succ[k] = l->succ[--l->nsucc];
            else
                k++;
        }
    }
}

void kdpc__lock_forget(kdpc_machine *m, const void *addr)
{
    kdpc__ver *v = kdpc__ver_of(m);
    kdpc__lock *l = kdpc__ptrmap_get(&v->locks, (uintptr_t)addr);
    if (l == NULL || l->owner >= 0)
        return; /* a held lock is not forgotten: its holder still owns it */
    kdpc__ptrmap_del(&v->locks, (uintptr_t)addr);
    unlink_page(v, l);
    drop_edges_to(v, l);
    free(l->succ);
    free(l);
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
            uintptr_t a = v->locks.keys[i];
            if (a >= lo && a < hi && ((kdpc__lock *)v->locks.vals[i])->owner < 0) {
                kdpc__lock_forget(m, (const void *)a); /* leaves a tombstone: the scan goes on */
            }
        }
        return;
    }
    for (uintptr_t p = first; p <= last; p++) {
        kdpc__lock *l = kdpc__ptrmap_get(&v->lock_pages, p + 2u);
        while (l != NULL) {
            kdpc__lock *next = l->page_next;
            if (l->addr >= lo && l->addr < hi && l->owner < 0)
                kdpc__lock_forget(m, (const void *)l->addr);
            l = next;
        }
    }
}

static bool reaches(kdpc__ver *v, kdpc__lock *from, const kdpc__lock *to)
{
    if (from == to)
        return true;
    if (from->mark == v->epoch)
        return false;
    from->mark = v->epoch;
    for (size_t i = 0; i < from->nsucc; i++) {
        if (reaches(v, from->succ[i], to))
            return true;
    }
    return false;
}

static bool has_edge(const kdpc__lock *a, const kdpc__lock *b)
{
    for (size_t i = 0; i < a->nsucc; i++) {
        if (a->succ[i] == b)
            return true;
    }
    return false;
}

kdpc__lock *kdpc__lock_order(kdpc_machine *m, kdpc__cpu *c, kdpc__lock *l)
{
    kdpc__ver *v = kdpc__ver_of(m);
    kdpc__vcpu *vc = c->ver;
    for (unsigned i = 0; i < vc->nheld; i++) {
        kdpc__held *h = &vc->held[i];
        if (h->isr_depth != c->isr_depth || h->lock == l || has_edge(h->lock, l))
            continue;
        v->epoch++;
        if (reaches(v, l, h->lock))
            return h->lock;
        if (h->lock->nsucc == h->lock->capsucc) {
            size_t ncap = h->lock->capsucc ? h->lock->capsucc * 2 : 4;
            kdpc__lock **ns = realloc(h->lock->succ, ncap * sizeof(*ns));
            if (ns == NULL)
                continue; /* out of host memory: forget this edge, never crash */
            h->lock->succ = ns;
            h->lock->capsucc = ncap;
        }
        h->lock->succ[h->lock->nsucc++] = l;
    }
    return NULL;
}

void kdpc__lock_push(kdpc_machine *m, kdpc__cpu *c, kdpc__lock *l, unsigned kind)
{
    kdpc__vcpu *vc = c->ver;
    l->owner = (int)c->index;
    l->held_kind = kind;
    l->since_ns = c->own_ns;
    if (l->kind_used == 0)
        l->kind_used = kind;
    (void)m;
    if (vc->nheld < KDPC_MAX_HELD) {
        vc->held[vc->nheld].lock = l;
        vc->held[vc->nheld].kind = kind;
        vc->held[vc->nheld].isr_depth = c->isr_depth;
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
