/* SPDX-License-Identifier: MIT */
/*
 * watch.c - shared memory the checker watches: kdpc_shared_alloc and
 * kdpc_shared_bind_interrupt (docs/rules.md sync.isr_unsynchronized, G1, and
 * sync.unlocked_shared, G2).
 *
 * DESIGN
 * A watched region has pages of its own, inaccessible while the machine
 * runs. A touch faults; the handler (async-signal-safe: plain reads and
 * writes, mprotect) looks at the touching CPU:
 *
 *   region bound to an interrupt:  the CPU must hold that interrupt's lock
 *                                  (the ISR, a SynchCritSection, or
 *                                  KeAcquireInterruptSpinLock) - else
 *                                  sync.isr_unsynchronized;
 *   other regions (lock sets, as Eraser does, with "DPC" and "thread" as the
 *   two parties):  exclusive while only one party touches it; from the
 *                  first touch by the other party on, the candidate set is
 *                  the locks held at every touch; empty -> sync.unlocked_shared.
 *
 * The handler notes what it found and opens the region so the access
 * completes; the warning is recorded, and the region closed again, at the
 * next interleaving point of the same context (at the latest when the DPC or
 * ISR returns). So the first touch after each interleaving point is checked,
 * not every one: a race shows up as soon as one unlocked touch falls first.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <kdpc/verifier.h>
#include "ke/ke.h"

#define MAX_CAND 8

enum { PARTY_NONE = 0, PARTY_THREAD = 1, PARTY_DPC = 2 };

typedef struct watched {
    kdpc_machine *m;
    unsigned char *base;
    size_t size;           /* page rounded */
    int slot;              /* fault region */
    bool open;             /* accessible now */
    const void *intr_lock; /* bound: the interrupt's lock, else NULL */
    /* lock-set state */
    int owner_party; /* the one party that touched it so far */
    bool shared;     /* both parties have touched it */
    uintptr_t cand[MAX_CAND];
    unsigned ncand;
    bool reported;
} watched;

typedef struct note {
    volatile sig_atomic_t pending;
    int rule; /* kdpc__rule */
    uintptr_t addr, ip;
    bool write;
    unsigned cpu;
    KIRQL irql;
} note;

typedef struct kdpc__watch {
    watched **w; /* any number of regions (the fault-region table is unbounded too) */
    unsigned n, cap;
    bool running; /* between run begin and end: regions closed, handler on */
    note note;
    volatile sig_atomic_t reopen; /* some region is open and should be closed again */
} kdpc__watch;

static kdpc__watch *watch_of(const kdpc_machine *m)
{
    return (kdpc__watch *)kdpc__ke_of(m)->watch;
}

static void set_open(watched *r, bool open)
{
    if (r->open == open)
        return;
    if (kdpc__pages_protect(r->base, r->size, open) == 0)
        r->open = open;
}

static bool holds(const kdpc__cpu *c, uintptr_t lock)
{
    const kdpc__vcpu *v = c->ver;
    for (unsigned i = 0; i < v->nheld && i < KDPC_MAX_HELD; i++)
        if (v->held[i].lock != NULL && v->held[i].lock->addr == lock)
            return true;
    return false;
}

/* Eraser's refinement for one touch by @party; true when the candidate set just went empty. */
static bool refine(watched *r, const kdpc__cpu *c, int party)
{
    if (r->reported)
        return false;
    if (r->owner_party == PARTY_NONE) {
        r->owner_party = party;
        return false;
    }
    if (!r->shared) {
        if (party == r->owner_party)
            return false; /* still exclusive */
        r->shared = true;
        const kdpc__vcpu *v = c->ver;
        r->ncand = 0;
        for (unsigned i = 0; i < v->nheld && r->ncand < MAX_CAND; i++)
            if (v->held[i].lock != NULL)
                r->cand[r->ncand++] = v->held[i].lock->addr;
        return r->ncand == 0;
    }
    unsigned k = 0;
    for (unsigned i = 0; i < r->ncand; i++)
        if (holds(c, r->cand[i]))
            r->cand[k++] = r->cand[i];
    r->ncand = k;
    return k == 0;
}

/* Inside the SIGSEGV handler: plain memory and mprotect only. */
static bool on_fault(void *ctx, uintptr_t addr, bool write, uintptr_t ip)
{
    watched *r = ctx;
    kdpc_machine *m = r->m;
    kdpc__watch *w = watch_of(m);
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->m == m && t->cpu != NULL && !w->note.pending) {
        kdpc__cpu *c = t->cpu;
        int rule = -1;
        if (r->intr_lock != NULL) {
            if (!holds(c, (uintptr_t)r->intr_lock))
                rule = KDPC_R_SYNC_ISR_UNSYNC;
        } else if (c->irql <= DISPATCH_LEVEL) {
            int party = ((kdpc__kecpu *)c->ke)->dpc_active ? PARTY_DPC : PARTY_THREAD;
            if (refine(r, c, party)) {
                r->reported = true;
                rule = KDPC_R_SYNC_UNLOCKED_SHARED;
            }
        }
        if (rule >= 0) {
            w->note.rule = rule;
            w->note.addr = addr;
            w->note.ip = ip;
            w->note.write = write;
            w->note.cpu = c->index;
            w->note.irql = c->irql;
            w->note.pending = 1;
        }
        kdpc__ke_of(m)->fault_pending = 1; /* close the region at the next point */
    }
    w->reopen = 1;
    set_open(r, true);
    return true;
}

void kdpc__watch_report(kdpc_machine *m)
{
    kdpc__watch *w = watch_of(m);
    if (w == NULL)
        return;
    if (w->note.pending) {
        w->note.pending = 0;
        kdpc__ver_where(m, w->note.cpu, w->note.irql); /* the touch's context, not this one */
        if (w->note.rule == KDPC_R_SYNC_ISR_UNSYNC)
            kdpc__violation(m, KDPC_R_SYNC_ISR_UNSYNC, 0, w->note.addr, w->note.write ? 1u : 0u,
                            w->note.ip, 0, NULL,
                            "CPU %u at IRQL %u %s ISR-shared memory at %#lx without the "
                            "interrupt's lock: do it in a SynchCritSection "
                            "(KeSynchronizeExecution)",
                            w->note.cpu, (unsigned)w->note.irql, w->note.write ? "wrote" : "read",
                            (unsigned long)w->note.addr);
        else
            kdpc__violation(m, KDPC_R_SYNC_UNLOCKED_SHARED, 0, w->note.addr,
                            w->note.write ? 1u : 0u, w->note.ip, 0, NULL,
                            "memory at %#lx shared by a DPC and a thread is %s with no lock "
                            "that every touch holds: guard it with one driver spin lock",
                            (unsigned long)w->note.addr, w->note.write ? "written" : "read");
    }
    if (w->reopen && w->running) {
        w->reopen = 0;
        for (unsigned i = 0; i < w->n; i++)
            set_open(w->w[i], false);
    }
}

void kdpc__watch_run_begin(kdpc_machine *m)
{
    kdpc__watch *w = watch_of(m);
    if (w == NULL || w->n == 0)
        return;
    kdpc__fault_enable();
    w->running = true;
    for (unsigned i = 0; i < w->n; i++)
        set_open(w->w[i], false);
}

void kdpc__watch_run_end(kdpc_machine *m)
{
    kdpc__watch *w = watch_of(m);
    if (w == NULL || !w->running)
        return;
    for (unsigned i = 0; i < w->n; i++)
        set_open(w->w[i], true); /* the host may read it between runs */
    w->running = false;
    kdpc__fault_disable();
}

void kdpc__watch_free_all(kdpc_machine *m)
{
    kdpc__watch *w = watch_of(m);
    if (w == NULL)
        return;
    kdpc__watch_run_end(m);
    for (unsigned i = 0; i < w->n; i++) {
        if (w->w[i]->slot >= 0)
            kdpc__fault_region_remove(w->w[i]->slot);
        kdpc__pages_release(w->w[i]->base, w->w[i]->size);
        free(w->w[i]);
    }
    free(w->w);
    free(w);
    kdpc__ke_of(m)->watch = NULL;
}

void *kdpc_shared_alloc(kdpc_machine *m, size_t bytes)
{
    if (m == NULL || m->ke == NULL || bytes == 0 || bytes > ((size_t)1 << 30)) {
        errno = EINVAL;
        return NULL;
    }
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke->watch == NULL) {
        ke->watch = calloc(1, sizeof(kdpc__watch));
        if (ke->watch == NULL) {
            errno = ENOMEM;
            return NULL;
        }
    }
    kdpc__watch *w = ke->watch;
    if (w->n == w->cap) {
        unsigned ncap = w->cap != 0 ? w->cap * 2u : 8u;
        watched **nw = ncap > w->cap ? realloc(w->w, ncap * sizeof(*nw)) : NULL;
        if (nw == NULL) {
            errno = ENOMEM;
            return NULL;
        }
        w->w = nw;
        w->cap = ncap;
    }
    watched *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    r->m = m;
    r->size = (bytes + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
    r->base = kdpc__pages_reserve(r->size);
    r->open = true;
    r->slot = r->base != NULL ? kdpc__fault_region_add((uintptr_t)r->base,
                                                       (uintptr_t)r->base + r->size, on_fault, r)
                              : -1;
    if (r->slot < 0) {
        kdpc__pages_release(r->base, r->size);
        free(r);
        errno = ENOMEM;
        return NULL;
    }
    w->w[w->n++] = r;
    if (kdpc__self() != NULL && kdpc__self()->m == m) { /* inside a run: watch at once */
        if (!w->running) {
            kdpc__fault_enable();
            w->running = true;
        }
        set_open(r, false);
    }
    return r->base;
}

/* @interrupt as one of @m's connected interrupt objects, or NULL: a garbage pointer is compared,
 * never followed. */
static const struct _KINTERRUPT *connected_interrupt(kdpc_machine *m, const void *interrupt)
{
    for (const struct _KINTERRUPT *i = kdpc__ke_of(m)->all_interrupts; i != NULL; i = i->all_next) {
        if ((const void *)i == interrupt)
            return i->connected ? i : NULL;
    }
    return NULL;
}

kdpc_status kdpc_shared_bind_interrupt(kdpc_machine *m, void *shared, const void *interrupt)
{
    kdpc__watch *w = m != NULL && m->ke != NULL ? watch_of(m) : NULL;
    if (w == NULL || interrupt == NULL)
        return KDPC_EINVAL;
    const struct _KINTERRUPT *obj = connected_interrupt(m, interrupt);
    if (obj == NULL)
        return KDPC_EINVAL;
    for (unsigned i = 0; i < w->n; i++) {
        if (w->w[i]->base == shared) {
            w->w[i]->intr_lock = obj->lock;
            return KDPC_OK;
        }
    }
    return KDPC_EINVAL;
}
