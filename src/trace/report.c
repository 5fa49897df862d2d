/* SPDX-License-Identifier: MIT */
/*
 * report.c - the DPC/ISR report (kdpc/report.h), kept live from the event
 * stream: trace.c hands every event to kdpc__report_event when cfg.report.
 *
 * One source of truth: every number comes from the events (dpc-end's arg and
 * isr-end's arg2 are the ns a call ran; dpc-insert/-remove/-begin give
 * latency and queue depth; irp-call/irp-complete give IRP latency; every
 * event's IRQL gives the time at each IRQL). Memory is bounded by the
 * routines, devices and CPUs, plus one entry per DPC waiting in a queue and
 * per IRP between its first IoCallDriver and its IoCompleteRequest.
 *
 * Percentiles come from a finer histogram kept per distribution: values
 * below 1024 ns are counted exactly (an array made on the first such value),
 * larger ones in 8 steps per power of two, so a percentile read off it is at
 * most 1/8 above the true value (and never above the largest value).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kdpc/verifier.h>

#include "trace/report.h"
#include "trace/trace.h"
#include "verifier/verifier.h"

#define EXACT_NS   1024u /* values below are counted exactly */
#define FINE_STEPS 8u    /* per power of two from EXACT_NS on */
#define FINE_N     ((64u - 10u) * FINE_STEPS)
#define WINDOWS    128u /* at most this many depth windows */
#define WINDOW0_NS 1000000u

void kdpc__rhist_add(kdpc__rhist *h, uint64_t v)
{
    if (h->count == 0 || v > h->max)
        h->max = v;
    h->count++;
    h->total = h->total + v < h->total ? UINT64_MAX : h->total + v;
    uint64_t us = v / 1000u;
    unsigned b = 0;
    if (us > 0) {
        b = 1u + (unsigned)(63 - __builtin_clzll(us)); /* [2^(b-1), 2^b) us */
        if (b > KDPC_REPORT_BUCKETS - 1u)
            b = KDPC_REPORT_BUCKETS - 1u;
    }
    h->bucket[b]++;
    if (v < EXACT_NS) {
        if (h->exact == NULL)
            h->exact = calloc(EXACT_NS, sizeof *h->exact);
        if (h->exact != NULL)
            h->exact[v]++;
        else
            h->fine[0]++; /* out of host memory: counted as [1024, 1152) */
        return;
    }
    unsigned e = (unsigned)(63 - __builtin_clzll(v)); /* 10..63 */
    unsigned sub = (unsigned)(v >> (e - 3u)) & (FINE_STEPS - 1u);
    h->fine[(e - 10u) * FINE_STEPS + sub]++;
}

/* The smallest value v with at least @rank values <= v, as the fine histogram knows it. */
static uint64_t rank_value(const kdpc__rhist *h, uint64_t rank)
{
    uint64_t seen = 0;
    if (h->exact != NULL) {
        for (unsigned v = 0; v < EXACT_NS; v++) {
            seen += h->exact[v];
            if (seen >= rank)
                return v;
        }
    }
    for (unsigned i = 0; i < FINE_N; i++) {
        seen += h->fine[i];
        if (seen >= rank) {
            unsigned e = 10u + i / FINE_STEPS, sub = i % FINE_STEPS;
            uint64_t hi = e >= 63u && sub == FINE_STEPS - 1u
                              ? UINT64_MAX
                              : ((uint64_t)(FINE_STEPS + sub + 1u) << (e - 3u)) - 1u;
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;
}

/* Nearest rank: the value at rank ceil(p/100 * count). */
static uint64_t percentile(const kdpc__rhist *h, unsigned p)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (h->count / 100u) * p + ((h->count % 100u) * p + 99u) / 100u;
    return rank_value(h, rank == 0 ? 1 : rank);
}

void kdpc__rhist_out(const kdpc__rhist *h, kdpc_report_hist *out)
{
    memset(out, 0, sizeof *out);
    out->count = h->count;
    out->total_ns = h->total;
    out->max_ns = h->max;
    out->p50_ns = percentile(h, 50);
    out->p90_ns = percentile(h, 90);
    out->p99_ns = percentile(h, 99);
    memcpy(out->bucket, h->bucket, sizeof out->bucket);
}

static void rhist_free(kdpc__rhist *h)
{
    free(h->exact);
    h->exact = NULL;
}

int kdpc__report_init(kdpc_machine *m)
{
    kdpc__report *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -1;
    r->ncpu = m->ncpu;
    r->cpu = calloc(m->ncpu, sizeof *r->cpu);
    r->win_max = calloc((size_t)WINDOWS * m->ncpu, sizeof *r->win_max);
    if (r->cpu == NULL || r->win_max == NULL) {
        free(r->cpu);
        free(r->win_max);
        free(r);
        return -1;
    }
    r->start_ns = m->now_ns;
    r->win_ns = WINDOW0_NS;
    for (unsigned i = 0; i < m->ncpu; i++) {
        r->cpu[i].irql = m->cpus != NULL ? m->cpus[i].irql : 0;
        r->cpu[i].since = m->now_ns;
    }
    m->report = r;
    return 0;
}

void kdpc__report_free(kdpc_machine *m)
{
    kdpc__report *r = m->report;
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nroutines; i++)
        rhist_free(&r->routines[i].time);
    for (size_t i = 0; i < r->ndevices; i++) {
        rhist_free(&r->devices[i].latency);
        free(r->devices[i].name);
    }
    rhist_free(&r->interrupt_to_dpc);
    rhist_free(&r->dpc_latency);
    free(r->routines);
    free(r->devices);
    kdpc__ptrmap_free(&r->routine_index);
    kdpc__ptrmap_free(&r->device_index);
    kdpc__ptrmap_free(&r->live_dpc);
    kdpc__ptrmap_free(&r->live_irp);
    free(r->slots);
    free(r->cpu);
    free(r->win_max);
    free(r->win_ins);
    kdpc__report_out_free(r);
    free(r);
    m->report = NULL;
}

/* A slot for a live DPC or IRP; 0 when out of host memory. */
static uint32_t slot_new(kdpc__report *r)
{
    if (r->free_slot != 0) {
        uint32_t s = r->free_slot;
        r->free_slot = r->slots[s - 1].next_free;
        return s;
    }
    if (r->nslots == r->cap_slots) {
        size_t cap = r->cap_slots != 0 ? r->cap_slots * 2 : 64;
        kdpc__rslot *v = realloc(r->slots, cap * sizeof *v);
        if (v == NULL)
            return 0;
        r->slots = v;
        r->cap_slots = cap;
    }
    return (uint32_t)++r->nslots;
}

static void slot_free(kdpc__report *r, uint32_t s)
{
    r->slots[s - 1].next_free = r->free_slot;
    r->free_slot = s;
}

/* Object ids start at 1; the map reserves keys 0 and 1. */
static uintptr_t id_key(uint64_t id)
{
    return (uintptr_t)id << 1;
}

static kdpc__rroutine *routine_entry(kdpc__report *r, uintptr_t routine, kdpc_routine_kind kind)
{
    uintptr_t key = (routine << 1) | (uintptr_t)kind;
    if (key < 2)
        key += 2; /* a NULL routine (a DPC without DeferredRoutine) */
    uintptr_t at = (uintptr_t)kdpc__ptrmap_get(&r->routine_index, key);
    if (at != 0)
        return &r->routines[at - 1];
    if (r->nroutines == r->cap_routines) {
        size_t cap = r->cap_routines != 0 ? r->cap_routines * 2 : 32;
        kdpc__rroutine *v = realloc(r->routines, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        r->routines = v;
        r->cap_routines = cap;
    }
    if (!kdpc__ptrmap_put(&r->routine_index, key, (void *)(r->nroutines + 1)))
        return NULL;
    kdpc__rroutine *e = &r->routines[r->nroutines++];
    memset(e, 0, sizeof *e);
    e->routine = routine;
    e->kind = kind;
    return e;
}

/* The device object numbered @id: its name is taken now, while it lives (the trace's id map
 * still holds its address: irp-call's arg2 was numbered by kdpc__trace_id just before). */
static kdpc__rdevice *device_entry(kdpc_machine *m, kdpc__report *r, uint64_t id)
{
    uintptr_t at = (uintptr_t)kdpc__ptrmap_get(&r->device_index, id_key(id));
    if (at != 0)
        return &r->devices[at - 1];
    if (r->ndevices == r->cap_devices) {
        size_t cap = r->cap_devices != 0 ? r->cap_devices * 2 : 16;
        kdpc__rdevice *v = realloc(r->devices, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        r->devices = v;
        r->cap_devices = cap;
    }
    if (!kdpc__ptrmap_put(&r->device_index, id_key(id), (void *)(r->ndevices + 1)))
        return NULL;
    kdpc__rdevice *d = &r->devices[r->ndevices++];
    memset(d, 0, sizeof *d);
    d->id = id;
    /* Once per device: a scan of the id map for the address numbered @id. */
    const kdpc__tracebuf *tr = m->trace;
    const char *label = NULL;
    char buf[160];
    for (size_t i = 0; tr != NULL && i < tr->ids.cap && label == NULL; i++) {
        uintptr_t k = tr->ids.keys[i];
        if (k > 1 && (uint64_t)(uintptr_t)kdpc__ptrmap_get(&tr->ids, k) == id)
            label = kdpc__object_label(m, (const void *)k, buf, sizeof buf);
    }
    if (label != NULL) {
        size_t n = strlen(label);
        d->name = malloc(n + 1);
        if (d->name != NULL)
            memcpy(d->name, label, n + 1);
    }
    return d;
}

/* Bring the depth windows up to virtual time @t: merge pairs while @t lies beyond the last
 * window, start the windows up to @t with the depth each CPU has now. */
static void depth_advance(kdpc__report *r, uint64_t t)
{
    if (t < r->win_next_ns)
        return; /* still in the last window: the common case, no division */
    uint64_t rel = t > r->start_ns ? t - r->start_ns : 0;
    while (rel / r->win_ns >= WINDOWS) {
        size_t half = (r->nwin + 1) / 2;
        for (size_t j = 0; j < half; j++) {
            unsigned *dst = &r->win_max[j * r->ncpu];
            const unsigned *a = &r->win_max[2 * j * r->ncpu];
            uint64_t ins = r->win_ins[2 * j];
            for (unsigned c = 0; c < r->ncpu; c++)
                dst[c] = a[c];
            if (2 * j + 1 < r->nwin) {
                const unsigned *b = &r->win_max[(2 * j + 1) * r->ncpu];
                for (unsigned c = 0; c < r->ncpu; c++)
                    dst[c] = b[c] > dst[c] ? b[c] : dst[c];
                ins += r->win_ins[2 * j + 1];
            }
            r->win_ins[j] = ins;
        }
        r->nwin = half;
        r->win_ns *= 2;
    }
    size_t idx = (size_t)(rel / r->win_ns);
    if (r->win_ins == NULL) {
        r->win_ins = calloc(WINDOWS, sizeof *r->win_ins);
        if (r->win_ins == NULL)
            return;
    }
    while (r->nwin <= idx) {
        unsigned *w = &r->win_max[r->nwin * r->ncpu];
        for (unsigned c = 0; c < r->ncpu; c++)
            w[c] = r->cpu[c].depth;
        r->win_ins[r->nwin] = 0;
        r->nwin++;
    }
    r->win_next_ns = r->start_ns + r->nwin * r->win_ns;
}

static void depth_change(kdpc__report *r, unsigned cpu, bool up)
{
    kdpc__rcpu *c = &r->cpu[cpu];
    if (up) {
        c->depth++;
        if (c->depth > c->max_depth)
            c->max_depth = c->depth;
    } else if (c->depth > 0) {
        c->depth--;
    }
    if (r->win_ins == NULL || r->nwin == 0)
        return;
    size_t cur = r->nwin - 1;
    unsigned *w = &r->win_max[cur * r->ncpu + cpu];
    if (c->depth > *w)
        *w = c->depth;
    if (up)
        r->win_ins[cur]++;
}

static void dpc_insert(kdpc__report *r, const kdpc_event *e)
{
    unsigned cpu = e->arg < r->ncpu ? (unsigned)e->arg : e->cpu;
    uintptr_t key = id_key(e->object_id);
    if (e->object_id == 0 || kdpc__ptrmap_get(&r->live_dpc, key) != NULL)
        return; /* already queued: the first insertion counts */
    uint32_t s = slot_new(r);
    if (s == 0)
        return;
    if (!kdpc__ptrmap_put(&r->live_dpc, key, (void *)(uintptr_t)s)) {
        slot_free(r, s);
        return;
    }
    kdpc__rslot *sl = &r->slots[s - 1];
    sl->t = e->time_ns;
    sl->cpu = cpu;
    sl->flags = (uint32_t)e->arg2;
    depth_change(r, cpu, true);
}

/* dpc-begin (@latency) or dpc-remove: the DPC left its queue. */
static void dpc_dequeue(kdpc__report *r, const kdpc_event *e, bool latency)
{
    uint32_t s = (uint32_t)(uintptr_t)kdpc__ptrmap_del(&r->live_dpc, id_key(e->object_id));
    if (s == 0)
        return;
    kdpc__rslot *sl = &r->slots[s - 1];
    depth_change(r, sl->cpu, false);
    if (latency) {
        uint64_t d = e->time_ns - sl->t;
        kdpc__rhist_add(&r->dpc_latency, d);
        if (sl->flags & KDPC_DPCF_FROM_ISR)
            kdpc__rhist_add(&r->interrupt_to_dpc, d);
    }
    slot_free(r, s);
}

void kdpc__report_own_routine(kdpc_machine *m, kdpc_routine_ptr routine)
{
    ((kdpc__report *)m->report)->own_routine = kdpc__fnaddr(routine);
}

static void routine_end(kdpc__report *r, const kdpc_event *e, kdpc_routine_kind kind, uint64_t ran,
                        uint64_t limit)
{
    if (kind == KDPC_ROUTINE_DPC && e->routine == r->own_routine && e->routine != 0)
        return;
    kdpc__rcpu *c = &r->cpu[e->cpu < r->ncpu ? e->cpu : 0];
    if (kind == KDPC_ROUTINE_DPC) {
        c->dpc_ns += ran;
        c->dpcs++;
    } else {
        c->isr_ns += ran;
        c->isrs++;
    }
    kdpc__rroutine *ro = routine_entry(r, e->routine, kind);
    if (ro == NULL)
        return;
    if (ro->time.count == 0 || ran > ro->time.max) {
        ro->longest_end_ns = e->time_ns;
        ro->longest_cpu = e->cpu;
    }
    kdpc__rhist_add(&ro->time, ran);
    if (ran > limit)
        ro->over_limit++;
}

static void irp_call(kdpc_machine *m, kdpc__report *r, const kdpc_event *e)
{
    uintptr_t key = id_key(e->object_id);
    if (e->object_id == 0 || kdpc__ptrmap_get(&r->live_irp, key) != NULL)
        return; /* passed down its stack: the first call counts */
    kdpc__rdevice *d = device_entry(m, r, e->arg2);
    if (d == NULL)
        return;
    uint32_t s = slot_new(r);
    if (s == 0)
        return;
    if (!kdpc__ptrmap_put(&r->live_irp, key, (void *)(uintptr_t)s)) {
        slot_free(r, s);
        return;
    }
    r->slots[s - 1].t = e->time_ns;
    r->slots[s - 1].cpu = (unsigned)(d - r->devices);
}

static void irp_complete(kdpc__report *r, const kdpc_event *e)
{
    uint32_t s = (uint32_t)(uintptr_t)kdpc__ptrmap_del(&r->live_irp, id_key(e->object_id));
    if (s == 0)
        return;
    kdpc__rdevice *d = &r->devices[r->slots[s - 1].cpu];
    int32_t status = (int32_t)(uint32_t)e->arg;
    d->completed++;
    if (status < 0)
        d->failed++;
    if ((uint32_t)status == 0xC0000120u) /* STATUS_CANCELLED */
        d->cancelled++;
    kdpc__rhist_add(&d->latency, e->time_ns - r->slots[s - 1].t);
    slot_free(r, s);
}

void kdpc__report_event(kdpc_machine *m, const kdpc_event *e)
{
    kdpc__report *r = m->report;
    r->events++;
    /* Every event carries its CPU's IRQL, except those the device layer may emit with no CPU
     * (from the clock's advance hook: CPU 0 and IRQL 0 in the event). Those also carry their
     * own due time, which may lie before the CPU's last event: time never runs back here. */
    if (e->cpu < r->ncpu && e->kind != KDPC_EV_DEVICE_EVENT && e->kind != KDPC_EV_LINE_ASSERT &&
        e->kind != KDPC_EV_LINE_DEASSERT) {
        kdpc__rcpu *c = &r->cpu[e->cpu];
        if (e->irql != c->irql) {
            if (e->time_ns > c->since) {
                c->irql_ns[c->irql < KDPC_REPORT_IRQLS ? c->irql : KDPC_REPORT_IRQLS - 1] +=
                    e->time_ns - c->since;
                c->since = e->time_ns;
            }
            c->irql = e->irql;
        }
    }
    switch (e->kind) {
    case KDPC_EV_DPC_INSERT:
        depth_advance(r, e->time_ns);
        dpc_insert(r, e);
        break;
    case KDPC_EV_DPC_REMOVE:
        depth_advance(r, e->time_ns);
        dpc_dequeue(r, e, false);
        break;
    case KDPC_EV_DPC_BEGIN:
        depth_advance(r, e->time_ns);
        dpc_dequeue(r, e, true);
        break;
    case KDPC_EV_DPC_END:
        routine_end(r, e, KDPC_ROUTINE_DPC, e->arg, m->cfg.dpc_time_limit_ns);
        break;
    case KDPC_EV_ISR_END:
        routine_end(r, e, KDPC_ROUTINE_ISR, e->arg2, m->cfg.isr_time_limit_ns);
        break;
    case KDPC_EV_IRP_CALL:
        irp_call(m, r, e);
        break;
    case KDPC_EV_IRP_COMPLETE:
        irp_complete(r, e);
        break;
    default:
        break;
    }
}

void kdpc__report_out_free(kdpc__report *r)
{
    for (size_t i = 0; i < r->out_nroutines; i++)
        free((char *)(uintptr_t)r->out_routines[i].name);
    for (size_t i = 0; i < r->out_ndevices; i++)
        free((char *)(uintptr_t)r->out_devices[i].name);
    free(r->out_routines);
    free(r->out_devices);
    free(r->out_cpu);
    free(r->out_depth);
    r->out_routines = NULL;
    r->out_devices = NULL;
    r->out_cpu = NULL;
    r->out_depth = NULL;
    r->out_nroutines = r->out_ndevices = 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d != NULL)
        memcpy(d, s, n + 1);
    return d;
}

static int cmp_routine(const void *a, const void *b)
{
    const kdpc_report_routine *x = a, *y = b;
    if (x->time.total_ns != y->time.total_ns)
        return x->time.total_ns > y->time.total_ns ? -1 : 1;
    if (x->time.count != y->time.count)
        return x->time.count > y->time.count ? -1 : 1;
    return 0;
}

int kdpc__report_build(kdpc_machine *m, kdpc_report *out)
{
    kdpc__report *r = m->report;
    memset(out, 0, sizeof *out);
    kdpc__report_out_free(r);
    uint64_t now = m->now_ns;
    depth_advance(r, now);
    size_t nr = r->nroutines, nd = r->ndevices;
    r->out_routines = calloc(nr != 0 ? nr : 1, sizeof *r->out_routines);
    r->out_devices = calloc(nd != 0 ? nd : 1, sizeof *r->out_devices);
    r->out_cpu = calloc(r->ncpu, sizeof *r->out_cpu);
    r->out_depth = calloc(r->nwin != 0 ? r->nwin : 1, sizeof *r->out_depth);
    if (r->out_routines == NULL || r->out_devices == NULL || r->out_cpu == NULL ||
        r->out_depth == NULL) {
        kdpc__report_out_free(r);
        return -1;
    }
    /* qsort is not stable: order of first return breaks ties, by sorting indexes. */
    size_t *order = malloc((nr != 0 ? nr : 1) * sizeof *order);
    if (order == NULL) {
        kdpc__report_out_free(r);
        return -1;
    }
    for (size_t i = 0; i < nr; i++) {
        kdpc_report_routine *o = &r->out_routines[i];
        const kdpc__rroutine *ro = &r->routines[i];
        kdpc__rhist_out(&ro->time, &o->time);
        o->routine = ro->routine;
        o->kind = ro->kind;
        o->longest_end_ns = ro->longest_end_ns;
        o->longest_cpu = ro->longest_cpu;
        o->over_limit = ro->over_limit;
        o->flagged = ro->over_limit > 0;
        order[i] = i;
    }
    /* insertion sort by (total desc, calls desc, first return): routines are few */
    for (size_t i = 1; i < nr; i++) {
        size_t k = order[i], j = i;
        while (j > 0 && cmp_routine(&r->out_routines[order[j - 1]], &r->out_routines[k]) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    kdpc_report_routine *sorted = calloc(nr != 0 ? nr : 1, sizeof *sorted);
    if (sorted == NULL) {
        free(order);
        kdpc__report_out_free(r);
        return -1;
    }
    for (size_t i = 0; i < nr; i++)
        sorted[i] = r->out_routines[order[i]];
    free(order);
    free(r->out_routines);
    r->out_routines = sorted;
    for (size_t i = 0; i < nr; i++) {
        kdpc_routine_ptr p;
        uintptr_t a = sorted[i].routine;
        memcpy(&p, &a, sizeof p);
        sorted[i].name = dup_str(a != 0 ? kdpc__routine_name(m, p) : "(none)");
        r->out_nroutines = i + 1;
        if (sorted[i].name == NULL) {
            kdpc__report_out_free(r);
            return -1;
        }
    }
    for (size_t i = 0; i < nd; i++) {
        kdpc_report_device *o = &r->out_devices[i];
        const kdpc__rdevice *d = &r->devices[i];
        char buf[48];
        if (d->name == NULL)
            snprintf(buf, sizeof buf, "device #%llu", (unsigned long long)d->id);
        o->name = dup_str(d->name != NULL ? d->name : buf);
        r->out_ndevices = i + 1;
        if (o->name == NULL) {
            kdpc__report_out_free(r);
            return -1;
        }
        o->completed = d->completed;
        o->failed = d->failed;
        o->cancelled = d->cancelled;
        kdpc__rhist_out(&d->latency, &o->latency);
    }
    for (unsigned c = 0; c < r->ncpu; c++) {
        kdpc_report_cpu *o = &r->out_cpu[c];
        const kdpc__rcpu *rc = &r->cpu[c];
        memcpy(o->irql_ns, rc->irql_ns, sizeof o->irql_ns);
        o->irql_ns[rc->irql < KDPC_REPORT_IRQLS ? rc->irql : KDPC_REPORT_IRQLS - 1] +=
            now - rc->since;
        o->dpc_ns = rc->dpc_ns;
        o->isr_ns = rc->isr_ns;
        o->dpcs = rc->dpcs;
        o->isrs = rc->isrs;
        o->max_queue_depth = rc->max_depth;
    }
    for (size_t w = 0; w < r->nwin; w++) {
        r->out_depth[w].start_ns = r->start_ns + w * r->win_ns;
        r->out_depth[w].max_depth = &r->win_max[w * r->ncpu];
        r->out_depth[w].inserted = r->win_ins != NULL ? r->win_ins[w] : 0;
    }
    out->start_ns = r->start_ns;
    out->end_ns = now;
    out->cpus = r->ncpu;
    out->nroutines = nr;
    out->routines = r->out_routines;
    kdpc__rhist_out(&r->interrupt_to_dpc, &out->interrupt_to_dpc);
    kdpc__rhist_out(&r->dpc_latency, &out->dpc_latency);
    out->ndevices = nd;
    out->devices = r->out_devices;
    out->cpu = r->out_cpu;
    out->ndepth = r->win_ins != NULL ? r->nwin : 0;
    out->depth_window_ns = r->win_ns;
    out->depth = r->out_depth;
    out->nviolations = kdpc_machine_violation_count(m);
    return 0;
}
