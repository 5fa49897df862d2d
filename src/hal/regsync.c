/* SPDX-License-Identifier: MIT */
/*
 * regsync.c - sync.isr_unsynchronized per device register (G1): a register
 * that an ISR touches is touched elsewhere only while holding that
 * interrupt's lock (a SynchCritSection run by KeSynchronizeExecution, or
 * KeAcquireInterruptSpinLock).
 *
 * Per register (a window's physical address or a port number, as accessed:
 * two widths at one address are one register) kdpc keeps the first ISR that
 * touched it with the interrupt lock it held, and the first touch by other
 * code (a DPC, a thread) that held no interrupt lock at all. The rule is
 * broken, and reported once per register naming both routines, when both
 * exist, in either order: an unlocked touch after the ISR's, or the ISR's
 * after an unlocked one; also when other code holds some interrupt lock but
 * not the ISR's. Register accesses of the device model itself never come
 * here.
 * Divergence: a touch holding another interrupt's lock made before the ISR's
 * first touch is not remembered (it is not reported).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "hal/hal.h"

typedef struct kdpc__regsync {
    kdpc_routine_ptr isr; /* first ISR that touched it (NULL: none yet) */
    uintptr_t isr_lock;   /* the interrupt lock it held */
    bool other_seen;      /* an unlocked touch by other code is remembered */
    bool reported;
    bool other_write;
    uint8_t other_irql;
    unsigned other_cpu;
    kdpc_routine_ptr other; /* its routine (NULL: a thread without one) */
    uintptr_t other_ip;
} kdpc__regsync;

static uintptr_t key_of(const kdpc__devrange *r, uint64_t offset)
{
    uintptr_t k = (uintptr_t)(r->base + offset);
    if (r->port)
        k |= (uintptr_t)1 << 62;
    return k < 2 ? k | ((uintptr_t)1 << 61) : k; /* 0 and 1 are the map's own */
}

/* The innermost interrupt lock @c holds, or 0. */
static uintptr_t intr_lock(const kdpc__cpu *c)
{
    const kdpc__vcpu *v = c->ver;
    for (unsigned i = v->nheld; i-- > 0;) {
        if (i < KDPC_MAX_HELD && v->held[i].kind == KDPC_LOCK_INTERRUPT && v->held[i].lock != NULL)
            return v->held[i].lock->addr;
    }
    return 0;
}

static bool holds(const kdpc__cpu *c, uintptr_t lock)
{
    const kdpc__vcpu *v = c->ver;
    for (unsigned i = 0; i < v->nheld && i < KDPC_MAX_HELD; i++)
        if (v->held[i].lock != NULL && v->held[i].lock->addr == lock)
            return true;
    return false;
}

static kdpc_routine_ptr current_routine(const kdpc__cpu *c)
{
    if (c->routine != NULL)
        return c->routine;
    const kdpc__thread *t = kdpc__self();
    return t != NULL ? t->routine : NULL;
}

static const char *name_of(kdpc_machine *m, kdpc_routine_ptr fn)
{
    return fn != NULL ? kdpc__routine_name(m, fn) : "a thread";
}

static void report(kdpc_machine *m, const kdpc__cpu *c, kdpc__regsync *s, const kdpc__devrange *r,
                   uint64_t offset)
{
    s->reported = true;
    if (c->index != s->other_cpu || c->irql != s->other_irql)
        kdpc__ver_where(m, s->other_cpu, s->other_irql); /* the unlocked touch's context */
    uint64_t addr = r->base + offset;
    kdpc__violation(m, KDPC_R_SYNC_ISR_UNSYNC, 0, addr, s->other_write ? 1u : 0u, s->other_ip,
                    kdpc__fnaddr(s->isr), s->other,
                    "%s %s %s %#" PRIx64 " of device %s (%s %u, offset %#" PRIx64
                    ") without the interrupt's lock, and the ISR %s touches it under that lock: "
                    "touch it in a SynchCritSection (KeSynchronizeExecution)",
                    name_of(m, s->other), s->other_write ? "wrote" : "read",
                    r->port ? "port" : "register", addr, kdpc_device_name(r->dev),
                    r->port ? "port range" : "window", r->index, offset, name_of(m, s->isr));
}

void kdpc__hal_regsync(kdpc_machine *m, kdpc__cpu *c, const kdpc__devrange *r, uint64_t offset,
                       bool write, uintptr_t ip)
{
    kdpc__hal *h = kdpc__hal_get(m);
    if (h == NULL)
        return;
    uintptr_t key = key_of(r, offset);
    kdpc__regsync *s = kdpc__ptrmap_get(&h->regs, key);
    if (s != NULL && s->reported)
        return;
    uintptr_t lock = intr_lock(c);
    bool in_isr = c->isr_depth > 0 && lock != 0;
    if (!in_isr) {
        if (s != NULL && s->isr != NULL) {
            if (holds(c, s->isr_lock))
                return;
        } else if (lock != 0 || (s != NULL && s->other_seen)) {
            return; /* synchronized with some interrupt, or already remembered */
        }
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return;
        if (!kdpc__ptrmap_put(&h->regs, key, s)) {
            free(s);
            return;
        }
    }
    if (in_isr) {
        if (s->isr == NULL) {
            s->isr = c->routine;
            s->isr_lock = lock;
        }
        if (s->other_seen && !s->reported)
            report(m, c, s, r, offset);
        return;
    }
    s->other_seen = true;
    s->other = current_routine(c);
    s->other_write = write;
    s->other_cpu = c->index;
    s->other_irql = c->irql;
    s->other_ip = ip;
    if (s->isr != NULL)
        report(m, c, s, r, offset);
}

void kdpc__hal_regsync_free(kdpc__hal *h)
{
    for (size_t i = 0; i < h->regs.cap; i++) {
        if (h->regs.keys[i] > 1)
            free(h->regs.vals[i]);
    }
    kdpc__ptrmap_free(&h->regs);
}
