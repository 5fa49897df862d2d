/* SPDX-License-Identifier: MIT */
/*
 * event.c - device events in virtual time: "call this 40 us from now".
 *
 * Pending events are kept by (due time, id) in two ordered sets, the
 * foreground ones (they keep a run going) and the background ones (they
 * do not, like a periodic timer); ids grow with every schedule, so events
 * due at the same time run in the order they were scheduled. ke/clock.c
 * runs them from the machine's time hook (at the first interleaving point
 * at or after their time, on whichever CPU reaches it) and from its advance
 * hook (an idle machine's time jumps exactly to the next event, not to a
 * clock tick), and keeps m->next_event_ns at the earlier of the next tick
 * and the next event. kdpc_device_schedule lowers m->next_event_ns itself
 * when the new event comes first.
 *
 * Time inside an event: delays scheduled from an event callback count from
 * the event's own due time, not from the (possibly later) interleaving
 * point that ran it, so a device ticking every 10 us keeps an exact period.
 * Elsewhere (a handler, a host thread) they count from m->now_ns.
 *
 * One call of kdpc__dev_run_events runs the events due when it starts;
 * events they schedule for a time already reached run at the next
 * interleaving point. Each event run counts as one interleaving point
 * towards the run's step limit, so a device that reschedules itself with no
 * delay forever ends the run with KDPC_TIMEOUT rather than hanging it.
 */
#include <stdlib.h>

#include <kdpc/trace.h>
#include "dev/dev.h"

typedef struct kdpc__devevent {
    kdpc_device *dev;
    kdpc_device_event_fn *fn;
    void *arg;
    uint64_t id;
    bool background;
    bool internal; /* kdpc's own (fault.c, line.c): not counted as the device's */
    kdpc__osnode *node;
} kdpc__devevent;

static uint64_t first_due(const kdpc__ordset *s)
{
    const kdpc__osnode *n = kdpc__ordset_first(s);
    return n != NULL ? n->k1 : UINT64_MAX;
}

uint64_t kdpc__dev_next_event(kdpc_machine *m, bool foreground_only)
{
    const kdpc__devm *dm = kdpc__devm_of(m);
    if (dm == NULL)
        return UINT64_MAX;
    uint64_t fg = first_due(&dm->fg);
    if (foreground_only)
        return fg;
    uint64_t bg = first_due(&dm->bg);
    return bg < fg ? bg : fg;
}

static void unlink_event(kdpc__devm *dm, kdpc__devevent *e)
{
    kdpc__ordset_remove(e->background ? &dm->bg : &dm->fg, e->node);
    (void)kdpc__ptrmap_del(&dm->events, (uintptr_t)(e->id + 1u));
}

/* The earliest of the two sets' first events if due at or before @now with an id below @below. */
static kdpc__devevent *next_due(kdpc__devm *dm, uint64_t now, uint64_t below)
{
    kdpc__osnode *f = kdpc__ordset_first(&dm->fg);
    kdpc__osnode *b = kdpc__ordset_first(&dm->bg);
    kdpc__osnode *n = f;
    if (n == NULL || (b != NULL && (b->k1 < n->k1 || (b->k1 == n->k1 && b->k2 < n->k2))))
        n = b;
    if (n == NULL || n->k1 > now || n->k2 >= below)
        return NULL;
    return n->val;
}

/* One event ran: one more interleaving point towards the run's step limit. */
static void count_step(kdpc_machine *m)
{
    uint64_t steps = atomic_load_explicit(&m->steps, memory_order_relaxed) + 1u;
    atomic_store_explicit(&m->steps, steps, memory_order_relaxed);
    if (m->step_limit != 0 && steps > m->step_limit && kdpc__self() != NULL)
        kdpc__timeout_and_unwind(m);
}

void kdpc__dev_run_events(kdpc_machine *m)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    if (dm == NULL)
        return;
    uint64_t below = dm->event_seq + 1u; /* those scheduled before this call */
    kdpc__devevent *e;
    while ((e = next_due(dm, m->now_ns, below)) != NULL) {
        uint64_t due = e->node->k1;
        unlink_event(dm, e);
        /* Copied and freed first: a callback that ends the run (a bug check) leaks nothing. */
        kdpc__devevent ev = *e;
        free(e);
        uint64_t traced = 0; /* 1 + the device-event's sequence number in the trace */
        if (!ev.internal) {
            ev.dev->counters.events++;
            /* (no CPU when the clock's advance hook runs it for a thread leaving its CPU) */
            if (m->hooks.event != NULL)
                traced = m->hooks.event(m, KDPC_EV_DEVICE_EVENT, kdpc__cur_cpu(), (uintptr_t)ev.dev,
                                        ev.id, 0);
        }
        bool was_in = dm->in_event;
        uint64_t was_now = dm->event_now;
        uint64_t was_traced = dm->event_trace;
        dm->in_event = true;
        dm->event_now = due;
        dm->event_trace = traced;
        dm->in_device++;
        ev.fn(ev.dev, ev.dev->desc.ctx, ev.arg);
        dm->in_device--;
        dm->in_event = was_in;
        dm->event_now = was_now;
        dm->event_trace = was_traced;
        count_step(m);
    }
}

static kdpc_status schedule(kdpc_device *dev, uint64_t delay_ns, kdpc_device_event_fn *fn,
                            void *arg, bool background, bool internal, uint64_t *id)
{
    kdpc_machine *m = dev->m;
    kdpc__devm *dm = kdpc__devm_of(m);
    uint64_t now = dm->in_event ? dm->event_now : m->now_ns;
    uint64_t due = kdpc__time_add(now, delay_ns);
    kdpc__devevent *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return KDPC_ENOMEM;
    e->dev = dev;
    e->fn = fn;
    e->arg = arg;
    e->id = dm->event_seq + 1u;
    e->background = background;
    e->internal = internal;
    e->node = kdpc__ordset_insert(background ? &dm->bg : &dm->fg, due, e->id, e);
    if (e->node == NULL) {
        free(e);
        return KDPC_ENOMEM;
    }
    if (!kdpc__ptrmap_put(&dm->events, (uintptr_t)(e->id + 1u), e)) {
        kdpc__ordset_remove(background ? &dm->bg : &dm->fg, e->node);
        free(e);
        return KDPC_ENOMEM;
    }
    dm->event_seq = e->id;
    if (due < m->next_event_ns)
        m->next_event_ns = due; /* the time hook runs it (ke/clock.c) */
    if (id != NULL)
        *id = e->id;
    return KDPC_OK;
}

kdpc_status kdpc__dev_schedule_internal(kdpc_device *d, uint64_t delay_ns, kdpc_device_event_fn *fn,
                                        void *arg, uint64_t *id)
{
    return schedule(d, delay_ns, fn, arg, false, true, id);
}

void kdpc__dev_events_cancel_all(kdpc_device *d)
{
    kdpc__devm *dm = kdpc__devm_of(d->m);
    kdpc__ordset *sets[2] = {&dm->fg, &dm->bg};
    for (unsigned s = 0; s < 2; s++) {
        kdpc__osnode *n = kdpc__ordset_first(sets[s]);
        while (n != NULL) {
            kdpc__osnode *next = kdpc__ordset_next(n);
            kdpc__devevent *e = n->val;
            if (e->dev == d) {
                unlink_event(dm, e);
                free(e);
            }
            n = next;
        }
    }
}

void kdpc__dev_events_free(kdpc_machine *m)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    kdpc__ordset *sets[2] = {&dm->fg, &dm->bg};
    for (unsigned s = 0; s < 2; s++) {
        for (kdpc__osnode *n = kdpc__ordset_first(sets[s]); n != NULL; n = kdpc__ordset_next(n))
            free(n->val);
        kdpc__ordset_free(sets[s]);
    }
    kdpc__ptrmap_free(&dm->events);
}

/* ------------------------------------------------------------------ */
/* Native API                                                          */

kdpc_status kdpc_device_schedule(kdpc_device *dev, uint64_t delay_ns, kdpc_device_event_fn *fn,
                                 void *arg, unsigned flags, uint64_t *id)
{
    if (dev == NULL || fn == NULL || (flags & ~KDPC_EVENT_BACKGROUND) != 0)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__dev_api_check(dev->m);
    if (st != KDPC_OK)
        return st;
    if (dev->detached)
        return KDPC_ENOENT;
    return schedule(dev, delay_ns, fn, arg, (flags & KDPC_EVENT_BACKGROUND) != 0, false, id);
}

kdpc_status kdpc_device_cancel(kdpc_device *dev, uint64_t id)
{
    if (dev == NULL)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__dev_api_check(dev->m);
    if (st != KDPC_OK)
        return st;
    kdpc__devm *dm = kdpc__devm_of(dev->m);
    if (dm == NULL || id == 0 || id == UINT64_MAX)
        return KDPC_ENOENT;
    kdpc__devevent *e = kdpc__ptrmap_get(&dm->events, (uintptr_t)(id + 1u));
    if (e == NULL || e->dev != dev || e->internal)
        return KDPC_ENOENT;
    unlink_event(dm, e);
    free(e);
    return KDPC_OK;
}

void kdpc__dev_cancel_internal(kdpc_device *d, uint64_t id)
{
    kdpc__devm *dm = kdpc__devm_of(d->m);
    if (id == 0)
        return;
    kdpc__devevent *e = kdpc__ptrmap_get(&dm->events, (uintptr_t)(id + 1u));
    if (e != NULL && e->dev == d && e->internal) {
        unlink_event(dm, e);
        free(e);
    }
}
