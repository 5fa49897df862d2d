/* SPDX-License-Identifier: MIT */
/*
 * regsync.c - sync.isr_unsynchronized per device register (G1): a register
 * that an ISR touches is touched elsewhere only while holding that
 * interrupt's lock (a SynchCritSection run by KeSynchronizeExecution, or
 * KeAcquireInterruptSpinLock).
 *
 * Per register (a device's window or port range and an offset, as accessed:
 * two widths at one offset are one register) kdpc keeps the first ISR that
 * touched it with the interrupt lock it held, and the first touch by other
 * code (a DPC, a thread) that held no interrupt lock at all. The rule is
 * broken, and reported once per register naming both routines, when both
 * exist, in either order: an unlocked touch after the ISR's, or the ISR's
 * after an unlocked one; also when other code holds some interrupt lock but
 * not the ISR's. Register accesses of the device model itself never come
 * here.
 * A touch by other code counts only while an interrupt that may run the ISR
 * is connected: once an ISR touched the register, that ISR's interrupt; before,
 * an interrupt connected on one of the device's lines. A touch while none is
 * connected (a device init before IoConnectInterrupt, a touch after
 * IoDisconnectInterrupt) is not remembered, and a register's history is
 * forgotten when the interrupt it was made under disconnects (ke's
 * intr_disconnected hook), so a replug or a restart begins clean.
 * Divergence: a touch holding another interrupt's lock made before the ISR's
 * first touch is not remembered (it is not reported); an unlocked touch made
 * before any ISR touch is tied to the first interrupt connected on the
 * device's lines (one of its lines' chain when several are).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "hal/hal.h"

typedef struct kdpc__regsync {
    struct _KINTERRUPT *intr; /* the connection this history was made under */
    kdpc_routine_ptr isr;     /* first ISR that touched it (NULL: none yet) */
    uintptr_t isr_lock;       /* the interrupt lock it held */
    bool other_seen;          /* an unlocked touch by other code is remembered */
    bool reported;
    bool other_write;
    uint8_t other_irql;
    unsigned other_cpu;
    kdpc_routine_ptr other; /* its routine (NULL: a thread without one) */
    uintptr_t other_ip;
} kdpc__regsync;

/* The connected interrupt object whose spin lock is @lock, or NULL. */
static struct _KINTERRUPT *intr_of_lock(kdpc_machine *m, uintptr_t lock)
{
    for (struct _KINTERRUPT *i = kdpc__ke_of(m)->all_interrupts; i != NULL; i = i->all_next)
        if (i->connected && (uintptr_t)i->lock == lock)
            return i;
    return NULL;
}

/* An interrupt connected on one of @d's lines (its ISR may touch @d's registers), or NULL. */
static struct _KINTERRUPT *intr_of_device(kdpc_machine *m, kdpc_device *d)
{
    const kdpc_device_desc *desc = kdpc__dev_desc(d);
    kdpc__ke *ke = kdpc__ke_of(m);
    for (unsigned i = 0; i < desc->nlines; i++)
        if (desc->lines[i].line < KDPC_MAX_LINES && ke->lines[desc->lines[i].line] != NULL)
            return ke->lines[desc->lines[i].line];
    return NULL;
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
    kdpc__regsync *s = kdpc__pairmap_get(&h->regs, (uintptr_t)r, (uintptr_t)offset);
    if (s != NULL && s->reported)
        return;
    uintptr_t lock = intr_lock(c);
    bool in_isr = c->isr_depth > 0 && lock != 0;
    if (!in_isr) {
        if (s != NULL && s->isr != NULL) {
            if (kdpc__cpu_holds_lock(c, s->isr_lock))
                return;
        } else if (lock != 0 || (s != NULL && s->other_seen)) {
            return; /* synchronized with some interrupt, or already remembered */
        }
    }
    struct _KINTERRUPT *intr = NULL;
    if (in_isr ? s == NULL || s->isr == NULL : s == NULL) {
        intr = in_isr ? intr_of_lock(m, lock) : intr_of_device(m, r->dev);
        if (intr == NULL)
            return; /* no connection: nothing an ISR could race with now */
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return;
        if (!kdpc__pairmap_put(&h->regs, (uintptr_t)r, (uintptr_t)offset, s)) {
            free(s);
            return;
        }
        s->intr = intr;
    }
    if (in_isr) {
        if (s->isr == NULL) {
            s->isr = c->routine;
            s->isr_lock = lock;
            s->intr = intr; /* the ISR's own connection from now on */
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

void kdpc__hal_regsync_disconnected(kdpc_machine *m, struct _KINTERRUPT *obj)
{
    kdpc__hal *h = m->ke != NULL ? kdpc__hal_of(m) : NULL;
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->regs.cap; i++) {
        kdpc__pairslot *sl = &h->regs.slots[i];
        if (sl->a > 1 && ((kdpc__regsync *)sl->val)->intr == obj)
            free(kdpc__pairmap_del(&h->regs, sl->a, sl->b));
    }
}

void kdpc__hal_regsync_free(kdpc__hal *h)
{
    for (size_t i = 0; i < h->regs.cap; i++) {
        if (h->regs.slots[i].a > 1)
            free(h->regs.slots[i].val);
    }
    kdpc__pairmap_free(&h->regs);
}
