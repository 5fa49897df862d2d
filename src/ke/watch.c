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
 *
 * Regions made with kdpc__watch_region (device extensions: io/device.c) keep
 * the lock-set state per 8-byte granule instead of per region: one extension
 * holds many variables, each with its own lock. As for shared memory, a
 * read counts like a write (a touch is sampled: a read-modify-write shows
 * as its read). Known false reports, why the option is off by default: a
 * value set once before the other party runs and only read afterwards (a
 * pointer set in DriverEntry, read by the DPC), and per-request state that
 * the device queue hands from StartIo to the DpcForIsr (IoStartPacket /
 * IoStartNextPacket serialise it; lock sets cannot see that). Two kinds of
 * touches do not
 * count there: an atomic instruction (x86 LOCK prefix or XCHG: an Interlocked*
 * routine is its own synchronisation), and a touch by kdpc's own code (a
 * KDPC, KTIMER, spin lock or event inside the extension is the kernel's to
 * touch): the handler cannot tell kdpc's code, so a granule whose candidate
 * set went empty is reported only when the touching instruction is in no
 * compile unit of kdpc's source tree (libdw, platform/posix/symbol.c; without
 * it, no function named kdpc_*), else it is marked as the kernel's and never
 * reported.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kdpc/verifier.h>
#include "ke/ke.h"

#define MAX_CAND 8

enum { PARTY_NONE = 0, PARTY_THREAD = 1, PARTY_DPC = 2 };

#define GRANULE 8u /* bytes of a granular region that share one lock set */

/* Eraser's state of one location (a whole region, or one granule). */
typedef struct lockset {
    int owner_party; /* the one party that touched it so far */
    bool shared;     /* both parties have touched it */
    bool reported;   /* reported, or the kernel's (granules): never again */
    unsigned ncand;
    uintptr_t cand[MAX_CAND];
} lockset;

typedef struct watched {
    kdpc_machine *m;
    unsigned char *base;
    size_t size;           /* page rounded */
    int slot;              /* fault region */
    bool open;             /* accessible now */
    const void *intr_lock; /* bound: the interrupt's lock, else NULL */
    lockset ls;            /* region-wide state (kdpc_shared_alloc) */
    lockset *g;            /* per-granule state (kdpc__watch_region), or NULL */
    size_t bytes;          /* bytes asked for (granules cover these) */
    char what[96];         /* what the region is, for reports */
} watched;

typedef struct note {
    volatile sig_atomic_t pending;
    int rule; /* kdpc__rule */
    uintptr_t addr, ip;
    bool write;
    unsigned cpu;
    KIRQL irql;
    watched *r;  /* the region touched */
    lockset *ls; /* the state that went empty */
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
static bool refine(lockset *r, const kdpc__cpu *c, int party)
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

/* True when the instruction at @ip is atomic: x86 LOCK prefix, or XCHG with memory (always
 * locked). Reads the code bytes only (mapped and readable). Elsewhere: false. */
static bool atomic_insn(uintptr_t ip)
{
#if defined(__x86_64__) || defined(__i386__)
    const unsigned char *p = (const unsigned char *)ip;
    for (unsigned i = 0; i < 15; i++) {
        unsigned char b = p[i];
        if (b == 0xF0)
            return true; /* LOCK */
        if (b == 0x66 || b == 0x67 || b == 0xF2 || b == 0xF3 || b == 0x2E || b == 0x36 ||
            b == 0x3E || b == 0x26 || b == 0x64 || b == 0x65)
            continue; /* other legacy prefixes */
#if defined(__x86_64__)
        if (b >= 0x40 && b <= 0x4F)
            b = p[++i]; /* REX, then the opcode */
#endif
        return b == 0x86 || b == 0x87; /* XCHG r/m */
    }
    return false;
#else
    (void)ip;
    return false;
#endif
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
        lockset *ls = &r->ls;
        if (r->g != NULL) {
            size_t gi = (addr - (uintptr_t)r->base) / GRANULE;
            ls = addr >= (uintptr_t)r->base && gi < (r->bytes + GRANULE - 1) / GRANULE &&
                         !atomic_insn(ip)
                     ? &r->g[gi]
                     : NULL;
        }
        if (ls == NULL) {
            /* padding after the extension, or an Interlocked* touch: not checked */
        } else if (r->intr_lock != NULL) {
            if (!holds(c, (uintptr_t)r->intr_lock))
                rule = KDPC_R_SYNC_ISR_UNSYNC;
        } else if (c->irql <= DISPATCH_LEVEL) {
            int party = ((kdpc__kecpu *)c->ke)->dpc_active ? PARTY_DPC : PARTY_THREAD;
            if (refine(ls, c, party)) {
                ls->reported = true;
                rule = KDPC_R_SYNC_UNLOCKED_SHARED;
            }
        }
        w->note.r = r;
        w->note.ls = ls;
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

/* Prefix of kdpc's source tree ("/.../src/"), from this file's own path. */
static size_t tree_prefix(const char **root)
{
    static const char self[] = __FILE__;
    const char *s = strstr(self, "src/ke/watch.c");
    *root = self;
    return s != NULL ? (size_t)(s - self) + 4u : 0;
}

/* The instruction at @ip is kdpc's own code (not a driver's): see DESIGN. */
static bool kernel_code(uintptr_t ip)
{
    const char *root;
    size_t n = tree_prefix(&root);
    const char *unit = kdpc__symbol_unit(ip);
    if (unit != NULL)
        return n != 0 && strncmp(unit, root, n) == 0;
    char buf[160];
    kdpc__symbol_describe(ip, buf, sizeof(buf));
    return strncmp(buf, "kdpc_", 5) == 0;
}

void kdpc__watch_report(kdpc_machine *m)
{
    kdpc__watch *w = watch_of(m);
    if (w == NULL)
        return;
    if (w->note.pending && w->note.r != NULL && w->note.r->g != NULL &&
        w->note.rule == KDPC_R_SYNC_UNLOCKED_SHARED && kernel_code(w->note.ip))
        w->note.pending = 0; /* the kernel's own object (the granule stays marked reported) */
    if (w->note.pending && w->note.r != NULL && w->note.r->g != NULL) {
        w->note.pending = 0;
        watched *r = w->note.r;
        kdpc__ver_where(m, w->note.cpu, w->note.irql);
        kdpc__violation(m, KDPC_R_SYNC_UNLOCKED_SHARED, 0, w->note.addr, w->note.write ? 1u : 0u,
                        w->note.ip, 0, NULL,
                        "%s, offset %#lx (address %#lx), is shared by a DPC and a thread and "
                        "was %s with no lock that every touch holds: guard it with one driver "
                        "spin lock (or use Interlocked* on it)",
                        r->what, (unsigned long)(w->note.addr - (uintptr_t)r->base),
                        (unsigned long)w->note.addr, w->note.write ? "written" : "read");
    }
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
        free(w->w[i]->g);
        free(w->w[i]);
    }
    free(w->w);
    free(w);
    kdpc__ke_of(m)->watch = NULL;
}

/* A new region of @bytes on pages of its own, watched at once inside a run; per-granule state
 * when @granular. NULL with errno EINVAL / ENOMEM. */
static watched *region_new(kdpc_machine *m, size_t bytes, bool granular, const char *what)
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
    if (granular) {
        r->g = calloc((bytes + GRANULE - 1) / GRANULE, sizeof(lockset));
        if (r->g == NULL) {
            free(r);
            errno = ENOMEM;
            return NULL;
        }
    }
    r->m = m;
    r->bytes = bytes;
    snprintf(r->what, sizeof(r->what), "%s", what != NULL ? what : "watched memory");
    r->size = (bytes + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
    r->base = kdpc__pages_reserve(r->size);
    r->open = true;
    r->slot = r->base != NULL ? kdpc__fault_region_add((uintptr_t)r->base,
                                                       (uintptr_t)r->base + r->size, on_fault, r)
                              : -1;
    if (r->slot < 0) {
        kdpc__pages_release(r->base, r->size);
        free(r->g);
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
    return r;
}

void *kdpc_shared_alloc(kdpc_machine *m, size_t bytes)
{
    watched *r = region_new(m, bytes, false, NULL);
    return r != NULL ? r->base : NULL;
}

void *kdpc__watch_region(kdpc_machine *m, size_t bytes, const char *what)
{
    watched *r = region_new(m, bytes, true, what);
    return r != NULL ? r->base : NULL;
}

void kdpc__watch_region_free(kdpc_machine *m, void *base)
{
    kdpc__watch *w = m != NULL && m->ke != NULL ? watch_of(m) : NULL;
    if (w == NULL || base == NULL)
        return;
    for (unsigned i = 0; i < w->n; i++) {
        watched *r = w->w[i];
        if (r->base != base)
            continue;
        if (w->note.r == r) {
            w->note.pending = 0;
            w->note.r = NULL;
            w->note.ls = NULL;
        }
        w->w[i] = w->w[--w->n];
        kdpc__fault_region_remove(r->slot);
        kdpc__pages_release(r->base, r->size);
        free(r->g);
        free(r);
        return;
    }
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
