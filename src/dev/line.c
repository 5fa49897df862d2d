/* SPDX-License-Identifier: MIT */
/*
 * line.c - a device's interrupt lines: raising and lowering them, the
 * interrupt faults (lost, late, spurious), and which device may use which
 * machine line.
 *
 * A LevelSensitive line is a wire: the machine line (sim/line.c) is
 * asserted while any device holding it asserts it, either itself or by an
 * injected spurious pulse (devices sharing a line are wired-OR; dm->high
 * counts the holders). A Latched line is a pulse: each raise latches one
 * interrupt in the machine line, and the device line is low again at once,
 * so lowering it does nothing but cancel a late interrupt still pending.
 *
 * A spurious interrupt is an interrupt with no cause behind it: on a Latched
 * line one more edge 1 us after the real one; on a LevelSensitive line a
 * pulse of 1 us that starts when the device lowers the line (its cause
 * cleared by the ISR), or at once when the line is not up. An ISR that
 * passes interleaving points (its register accesses) is called again during
 * the pulse and finds nothing to do; one that passes none would see the line
 * stay up (virtual time does not move) and end in isr.storm.
 * Divergence: real edge hardware needs a low-to-high transition for each
 * interrupt; kdpc takes every raise as one, so device code need not lower
 * a Latched line between two interrupts.
 */
#include <kdpc/trace.h>
#include "dev/dev.h"

#define SPURIOUS_PULSE_NS 1000u

/* Traced in a run only (as kdpc_line_assert), on the CPU of the device code (none when the
 * clock's advance hook runs an event for a thread leaving its CPU: CPU 0 in the trace). An
 * assert from an event's handler names that device-event (arg2: 1 + its sequence number). */
static void trace_line(kdpc_machine *m, unsigned line, bool asserted)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    if (kdpc__self() != NULL && m->hooks.event != NULL)
        (void)m->hooks.event(m, asserted ? KDPC_EV_LINE_ASSERT : KDPC_EV_LINE_DEASSERT,
                             kdpc__cur_cpu(), 0, line,
                             asserted && dm->in_event ? dm->event_trace : 0);
}

/* A LevelSensitive line of @d changed what holds it: follow it on the machine line. */
static void level_update(kdpc_device *d, unsigned index, bool before)
{
    const kdpc__devline *l = &d->lines[index];
    bool after = l->own || l->pulse;
    if (before == after)
        return;
    kdpc_machine *m = d->m;
    kdpc__devm *dm = kdpc__devm_of(m);
    unsigned line = d->desc.lines[index].line;
    if (after) {
        if (dm->high[line]++ == 0) {
            kdpc__line_set(m, line, true);
            trace_line(m, line, true);
        }
    } else if (--dm->high[line] == 0) {
        kdpc__line_set(m, line, false);
        trace_line(m, line, false);
    }
}

static void set_level(kdpc_device *d, unsigned index, bool *field, bool value)
{
    const kdpc__devline *l = &d->lines[index];
    bool before = l->own || l->pulse;
    *field = value;
    level_update(d, index, before);
}

static unsigned index_of(void *arg)
{
    return (unsigned)(uintptr_t)arg;
}

static void pulse_end(kdpc_device *d, void *ctx, void *arg)
{
    (void)ctx;
    set_level(d, index_of(arg), &d->lines[index_of(arg)].pulse, false);
}

/* A spurious pulse on LevelSensitive line @index starts now. */
static kdpc_status pulse_start(kdpc_device *d, unsigned index)
{
    kdpc__devline *l = &d->lines[index];
    l->pulse_due = false;
    if (l->pulse)
        return KDPC_OK; /* one pulse at a time */
    kdpc_status st = kdpc__dev_schedule_internal(d, SPURIOUS_PULSE_NS, pulse_end,
                                                 (void *)(uintptr_t)index, NULL);
    if (st != KDPC_OK)
        return st;
    d->injected[KDPC_FAULT_SPURIOUS_INTERRUPT]++;
    d->counters.interrupts++;
    set_level(d, index, &l->pulse, true);
    return KDPC_OK;
}

/* The device raises line @index now (no fault applied). */
static void raise_now(kdpc_device *d, unsigned index)
{
    kdpc__devline *l = &d->lines[index];
    if (d->desc.lines[index].level) {
        if (!l->own)
            d->counters.interrupts++;
        set_level(d, index, &l->own, true);
        return;
    }
    d->counters.interrupts++;
    unsigned line = d->desc.lines[index].line;
    kdpc__line_set(d->m, line, true);
    trace_line(d->m, line, true);
}

static void late_fire(kdpc_device *d, void *ctx, void *arg)
{
    (void)ctx;
    d->lines[index_of(arg)].late_id = 0;
    raise_now(d, index_of(arg));
}

static void spurious_edge(kdpc_device *d, void *ctx, void *arg)
{
    (void)ctx;
    d->injected[KDPC_FAULT_SPURIOUS_INTERRUPT]++;
    raise_now(d, index_of(arg));
}

static kdpc_status line_call(kdpc_device *dev, unsigned index)
{
    if (dev == NULL || index >= dev->desc.nlines)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__dev_api_check(dev->m);
    if (st != KDPC_OK)
        return st;
    return dev->detached ? KDPC_ENOENT : KDPC_OK;
}

kdpc_status kdpc_device_line_set(kdpc_device *dev, unsigned index, bool asserted)
{
    kdpc_status st = line_call(dev, index);
    if (st != KDPC_OK)
        return st;
    kdpc__devline *l = &dev->lines[index];
    if (asserted) {
        raise_now(dev, index);
        return KDPC_OK;
    }
    kdpc__dev_cancel_internal(dev, l->late_id);
    l->late_id = 0;
    if (!dev->desc.lines[index].level)
        return KDPC_OK;
    set_level(dev, index, &l->own, false);
    return l->pulse_due ? pulse_start(dev, index) : KDPC_OK;
}

kdpc_status kdpc_device_interrupt(kdpc_device *dev, unsigned index)
{
    kdpc_status st = line_call(dev, index);
    if (st != KDPC_OK)
        return st;
    /* Every kind is drawn at every chance, so that switching one kind on leaves the others'
     * sequences as they were; a lost interrupt wins over a late one. */
    bool lost = kdpc__dev_fault_roll(dev, KDPC_FAULT_LOST_INTERRUPT);
    bool late = kdpc__dev_fault_roll(dev, KDPC_FAULT_LATE_INTERRUPT);
    bool spurious = kdpc__dev_fault_roll(dev, KDPC_FAULT_SPURIOUS_INTERRUPT);
    kdpc__devline *l = &dev->lines[index];
    void *arg = (void *)(uintptr_t)index;
    if (lost) {
        dev->injected[KDPC_FAULT_LOST_INTERRUPT]++;
    } else if (late) {
        kdpc__dev_cancel_internal(dev, l->late_id);
        l->late_id = 0;
        st = kdpc__dev_schedule_internal(dev, dev->desc.late_ns, late_fire, arg, &l->late_id);
        if (st != KDPC_OK)
            return st;
        dev->injected[KDPC_FAULT_LATE_INTERRUPT]++;
    } else {
        raise_now(dev, index);
    }
    if (!spurious)
        return KDPC_OK;
    if (dev->desc.lines[index].level) {
        if (!l->own)
            return pulse_start(dev, index);
        l->pulse_due = true; /* once the device lowers it */
        return KDPC_OK;
    }
    /* One more edge, 1 us later, with no cause behind it (counted when it fires). */
    return kdpc__dev_schedule_internal(dev, SPURIOUS_PULSE_NS, spurious_edge, arg, NULL);
}

kdpc_status kdpc__dev_lines_check(kdpc_machine *m, const kdpc_device *d)
{
    const kdpc__devm *dm = kdpc__devm_of(m);
    for (unsigned i = 0; i < d->desc.nlines; i++) {
        const kdpc_line_desc *l = &d->desc.lines[i];
        for (unsigned k = 0; k < i; k++) {
            if (d->desc.lines[k].line == l->line)
                return KDPC_EEXIST; /* one line twice in one description */
        }
        for (const kdpc_device *o = dm->first; o != NULL; o = o->next) {
            if (!o->indexed)
                continue;
            for (unsigned k = 0; k < o->desc.nlines; k++) {
                const kdpc_line_desc *ol = &o->desc.lines[k];
                if (ol->line == l->line && !(ol->shared && l->shared))
                    return KDPC_EEXIST;
            }
        }
    }
    return KDPC_OK;
}

void kdpc__dev_lines_lower(kdpc_device *d)
{
    for (unsigned i = 0; i < d->desc.nlines; i++) {
        kdpc__devline *l = &d->lines[i];
        l->late_id = 0; /* its event went with the others */
        l->pulse_due = false;
        if (!d->desc.lines[i].level)
            continue;
        bool before = l->own || l->pulse;
        l->own = false;
        l->pulse = false;
        level_update(d, i, before);
    }
}
