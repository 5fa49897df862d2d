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
 * the lock-set state per byte (per 8 bytes above 16 KiB) instead of per
 * region: one extension holds many variables, each with its own lock. There
 * every touch is checked, not only the first after a point: after the fault
 * the touching instruction is single-stepped (x86-64 Linux) and the region
 * protected again at once; elsewhere touches are sampled as above. A read
 * opens the region for reads only, so a write right after it faults too.
 * A granule follows Eraser's states: a value set by one party and then only
 * read by both (a pointer set in AddDevice, read by the DPC) is no race;
 * the empty candidate set counts once the granule is written while shared,
 * or when its first party wrote it under a lock (a counter the DPC keeps
 * under its spin lock, read by a dispatch routine without it).
 * A touch covers the bytes of its operand (access_size decodes the usual
 * x86-64 data instructions; rep movs/stos per element, as each element
 * faults on its own); an instruction it does not decode covers only the
 * byte at the fault address (ACCESS_GUESS): a wider guess would refine its
 * neighbours' lock sets with this touch's locks and report fields it never
 * touched; the narrow one may miss a race on the other bytes of that operand.
 * KeFlushQueuedDpcs is a barrier: every DPC queued before it has run, so
 * the lock sets of the flushing driver's regions (the extensions and pool
 * its code made: the driver current when the region was made) start over
 * (teardown after the flush touches freely); a flush by code of no driver
 * (the test's own thread) starts every region over. A granule reported (or
 * the kernel's) stays so across a flush: the same race is reported once.
 * Known false reports, why the option is off by default (with its cost):
 * per-request state the device queue hands from StartIo to the DpcForIsr
 * (IoStartPacket / IoStartNextPacket serialise it), and state guarded by a
 * flag read under a lock rather than by the lock itself: lock sets cannot
 * see either.
 * Two kinds of touches do not count: an atomic instruction (x86 LOCK prefix
 * or XCHG: an Interlocked* routine is its own synchronisation), and a touch
 * by kdpc's own code (a KDPC, KTIMER, spin lock or event inside the
 * extension is the kernel's to touch): the handler cannot tell kdpc's code,
 * so a granule whose candidate set went empty is reported only when the
 * touching instruction is in no compile unit of kdpc's source tree (libdw,
 * platform/posix/symbol.c; without it, no function named kdpc_*), else it is
 * marked as the kernel's and never reported.
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

#define GRANULE_MAX_BYTES (16u * 1024u) /* up to here a lock set per byte, then per 8 bytes */

/* Eraser's state of one location (a whole region, or one granule). */
typedef struct lockset {
    int owner_party;   /* the one party that touched it so far */
    bool shared;       /* both parties have touched it */
    bool reported;     /* reported, or the kernel's (granules): never again */
    bool modified;     /* granules: written while shared (Eraser's shared-modified state) */
    bool locked_write; /* granules: written under a lock before it was shared */
    unsigned ncand;
    uintptr_t cand[MAX_CAND];
} lockset;

typedef struct watched {
    kdpc_machine *m;
    unsigned char *base;
    size_t size;           /* page rounded */
    int slot;              /* fault region */
    bool open;             /* accessible now (readable at least) */
    bool ro;               /* open for reads only (granular regions): a write faults again */
    const void *intr_lock; /* bound: the interrupt's lock, else NULL */
    lockset ls;            /* region-wide state (kdpc_shared_alloc) */
    lockset *g;            /* per-granule state (kdpc__watch_region), or NULL */
    unsigned gshift;       /* log2 of the granule's bytes */
    size_t bytes;          /* bytes asked for (granules cover these) */
    void *owner;           /* the driver whose code made it (kdpc__ke_current_driver), or NULL */
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
    if (r->open == open && !r->ro)
        return;
    if (kdpc__pages_protect(r->base, r->size, open) == 0) {
        r->open = open;
        r->ro = false;
    }
}

/* A read of a granular region opens it for reads only, so the next write in the same window
 * (the store of a read-modify-write) is seen too. */
static void set_readable(watched *r)
{
    if (kdpc__pages_readonly(r->base, r->size) == 0) {
        r->open = true;
        r->ro = true;
    }
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
        if (kdpc__cpu_holds_lock(c, r->cand[i]))
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

/* The bytes the instruction at @ip reads or writes at its memory operand (per element for
 * string instructions), decoded for the forms compilers emit for plain data (x86-64): MOV,
 * MOVZX/MOVSX(D), the ALU group (ADD..CMP, TEST, INC/DEC, NOT/NEG, shifts), MOVS/STOS/LODS/
 * SCAS/CMPS, PUSH/POP/CALL/JMP through memory, SSE/AVX moves (scalar ones by their prefix),
 * IMUL. 0 when not decoded: the caller then takes ACCESS_GUESS bytes (see DESIGN). */
#define ACCESS_GUESS 1u
static size_t access_size(uintptr_t ip)
{
#if defined(__x86_64__)
    const unsigned char *p = (const unsigned char *)ip;
    bool opsize = false, rexw = false, rep = false, repne = false;
    unsigned i = 0;
    for (; i < 14; i++) {
        unsigned char b = p[i];
        if (b == 0x66)
            opsize = true;
        else if (b == 0xF3)
            rep = true;
        else if (b == 0xF2)
            repne = true;
        else if (!(b == 0x67 || b == 0xF0 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26 ||
                   b == 0x64 || b == 0x65))
            break;
    }
    if (p[i] == 0xC5 || p[i] == 0xC4) { /* VEX: the moves only (map 0F), by pp, W and L */
        bool c5 = p[i] == 0xC5;
        if (!c5 && (p[i + 1] & 0x1F) != 1)
            return 0; /* map 0F38 / 0F3A: not decoded */
        unsigned char last = c5 ? p[i + 1] : p[i + 2];
        unsigned char vop = c5 ? p[i + 2] : p[i + 3];
        unsigned pp = last & 3u; /* 0: none, 1: 66, 2: F3, 3: F2 */
        bool w = !c5 && (p[i + 2] & 0x80) != 0;
        if ((vop == 0x10 || vop == 0x11) && pp >= 2)
            return pp == 2 ? 4u : 8u; /* VMOVSS / VMOVSD */
        if ((vop == 0x6E || vop == 0x7E) && pp == 1)
            return w ? 8u : 4u; /* VMOVD / VMOVQ */
        if ((vop == 0x7E && pp == 2) || vop == 0xD6)
            return 8; /* VMOVQ */
        if (vop == 0x10 || vop == 0x11 || vop == 0x28 || vop == 0x29 || vop == 0x6F ||
            vop == 0x7F || vop == 0x2B || vop == 0xE7)
            return (last & 0x04) ? 32u : 16u; /* vector moves, VEX.L */
        return 0;
    }
    if (p[i] >= 0x40 && p[i] <= 0x4F) {
        rexw = (p[i] & 0x08) != 0;
        i++;
    }
    size_t wide = rexw ? 8u : opsize ? 2u : 4u;
    unsigned char op = p[i];
    if (op == 0x0F) {
        unsigned char op2 = p[i + 1];
        if (op2 == 0xB6 || op2 == 0xBE)
            return 1; /* MOVZX/MOVSX from a byte */
        if (op2 == 0xB7 || op2 == 0xBF)
            return 2; /* from a word */
        if ((op2 == 0x10 || op2 == 0x11) && (rep || repne))
            return rep ? 4u : 8u; /* MOVSS / MOVSD */
        if ((op2 == 0x6E || op2 == 0x7E) && !rep)
            return rexw ? 8u : 4u; /* MOVD (MOVQ with REX.W) */
        if (op2 == 0x10 || op2 == 0x11 || op2 == 0x28 || op2 == 0x29 || op2 == 0x6F ||
            op2 == 0x7F || op2 == 0x2B || op2 == 0xE7)
            return 16; /* SSE vector moves */
        if (op2 == 0xD6 || op2 == 0x7E || op2 == 0x12 || op2 == 0x13 || op2 == 0x16 || op2 == 0x17)
            return 8; /* MOVQ / MOVLPS / MOVHPS */
        if (op2 == 0xB0 || (op2 >= 0x90 && op2 <= 0x9F))
            return 1; /* CMPXCHG r/m8, SETcc */
        if (op2 == 0xB1 || op2 == 0xC1 || op2 == 0xAF || (op2 >= 0x40 && op2 <= 0x4F) ||
            op2 == 0xA3 || op2 == 0xAB || op2 == 0xB3 || op2 == 0xBB || op2 == 0xBA)
            return wide; /* CMPXCHG, XADD, IMUL, CMOVcc, BT* */
        return 0;
    }
    if (op < 0x40 && (op & 7) <= 3) /* ADD OR ADC SBB AND SUB XOR CMP with r/m */
        return (op & 1) ? wide : 1;
    switch (op) {
    case 0x63:
        return 4; /* MOVSXD */
    case 0x69:
    case 0x6B:
        return wide; /* IMUL r, r/m, imm */
    case 0x84:
    case 0x86:
    case 0x88:
    case 0x8A:
    case 0x80:
    case 0xC0:
    case 0xC6:
    case 0xD0:
    case 0xD2:
    case 0xF6:
    case 0xFE:
    case 0xA4:
    case 0xAA:
    case 0xAC:
    case 0xAE:
    case 0xA6:
        return 1;
    case 0x85:
    case 0x87:
    case 0x89:
    case 0x8B:
    case 0x81:
    case 0x83:
    case 0xC1:
    case 0xC7:
    case 0xD1:
    case 0xD3:
    case 0xF7:
    case 0xA5:
    case 0xAB:
    case 0xAD:
    case 0xAF:
    case 0xA7:
        return wide;
    case 0xFF: /* INC/DEC r/m, or CALL/JMP/PUSH through memory (8) */
        return ((p[i + 1] >> 3) & 7) >= 2 ? 8u : wide;
    case 0x8F:
        return 8; /* POP r/m */
    default:
        return 0;
    }
#else
    (void)ip;
    return 0;
#endif
}

/* One touch of one lock set (kdpc_shared_alloc's region, or a granule); true when it is to be
 * reported now. */
static bool touch(watched *r, lockset *ls, const kdpc__cpu *c, int party, bool write)
{
    if (r->g != NULL && !ls->shared && write && ((const kdpc__vcpu *)c->ver)->nheld > 0)
        ls->locked_write = true;
    bool empty = refine(ls, c, party);
    if (r->g != NULL) {
        /* Eraser's states: a value set by one party and then only read by both (a pointer set
         * in AddDevice, read by the DPC) is no race; the empty set counts once it is written
         * while shared, or when its first party wrote it under a lock (a counter the DPC keeps
         * under its spin lock, read without it) */
        if (ls->shared && (write || ls->locked_write))
            ls->modified = true;
        empty = ls->shared && ls->modified && ls->ncand == 0 && !ls->reported;
    }
    if (empty)
        ls->reported = true;
    return empty;
}

/* After the single step of a touch (SIGTRAP handler): protect the region again. */
static void close_after_step(void *ctx)
{
    watched *r = ctx;
    if (watch_of(r->m) != NULL && watch_of(r->m)->running)
        set_open(r, false);
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
        /* granular regions: every granule the access covers (its operand size decoded at ip,
         * else ACCESS_GUESS bytes), clipped to the bytes asked for */
        size_t first = 0, last = 0;
        if (r->g != NULL) {
            ls = NULL;
            if (addr >= (uintptr_t)r->base && addr < (uintptr_t)r->base + r->bytes &&
                !atomic_insn(ip)) {
                size_t off = addr - (uintptr_t)r->base, len = access_size(ip);
                if (len == 0)
                    len = ACCESS_GUESS;
                size_t end = off + len < r->bytes ? off + len : r->bytes;
                first = off >> r->gshift;
                last = (end - 1) >> r->gshift;
                ls = &r->g[first];
            }
        }
        if (ls == NULL) {
            /* padding after the extension, or an Interlocked* touch: not checked */
        } else if (r->intr_lock != NULL) {
            if (!kdpc__cpu_holds_lock(c, (uintptr_t)r->intr_lock))
                rule = KDPC_R_SYNC_ISR_UNSYNC;
        } else if (c->irql <= DISPATCH_LEVEL) {
            int party = ((kdpc__kecpu *)c->ke)->dpc_active ? PARTY_DPC : PARTY_THREAD;
            if (r->g == NULL) {
                if (touch(r, ls, c, party, write))
                    rule = KDPC_R_SYNC_UNLOCKED_SHARED;
            } else {
                for (size_t gi = first; gi <= last; gi++) {
                    if (touch(r, &r->g[gi], c, party, write) && rule < 0) {
                        rule = KDPC_R_SYNC_UNLOCKED_SHARED;
                        ls = &r->g[gi];
                        addr = (uintptr_t)r->base + (gi << r->gshift); /* the byte reported */
                    }
                }
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
    if (r->g != NULL && !write)
        set_readable(r);
    else
        set_open(r, true);
    /* granular regions: every touch is checked where the host single-steps (x86-64 Linux),
     * the region protected again right after the touching instruction */
    if (r->g != NULL && w->running)
        (void)kdpc__fault_step(close_after_step, r);
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
        r->gshift = bytes <= GRANULE_MAX_BYTES ? 0u : 3u;
        r->g = calloc(((bytes - 1) >> r->gshift) + 1, sizeof(lockset));
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
    if (kdpc__self() != NULL && kdpc__self()->m == m && kdpc__self()->cpu != NULL)
        r->owner = kdpc__ke_current_driver(m, kdpc__self()->cpu);
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

void kdpc__watch_barrier(kdpc_machine *m)
{
    kdpc__watch *w = watch_of(m);
    if (w == NULL)
        return;
    /* the flushing driver's regions (its device extensions, the pool its code allocated) and
     * regions of no driver (pool a system worker thread allocated, running a work item of
     * any driver); a flush by code of no driver (the test's own thread) resets every region.
     * A granule
     * reported (or the kernel's) stays so: the same race is never reported twice */
    kdpc__thread *t = kdpc__self();
    void *drv = t != NULL && t->cpu != NULL ? kdpc__ke_current_driver(m, t->cpu) : NULL;
    for (unsigned i = 0; i < w->n; i++) {
        watched *r = w->w[i];
        if (r->g == NULL || (drv != NULL && r->owner != NULL && r->owner != drv))
            continue;
        size_t n = ((r->bytes - 1) >> r->gshift) + 1;
        for (size_t k = 0; k < n; k++) {
            bool reported = r->g[k].reported;
            memset(&r->g[k], 0, sizeof(lockset));
            r->g[k].reported = reported;
        }
    }
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
