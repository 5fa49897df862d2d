/* SPDX-License-Identifier: MIT */
/*
 * html.c - the self-contained HTML report: the page template of
 * src/trace/html/ (report.html with report.css and report.js inlined by
 * CMake into kdpc_html_assets.h) around one JSON block with the run's data:
 *
 *   slices      [cpu, start ns, duration ns, depth, kind, name, irql, flags] in the order
 *               they ended; kind 0 thread, 1 DPC, 2 ISR, 3 work item, 4 SynchronizeRoutine;
 *               name an index into strings; flags 1: still open when the trace ended.
 *               A work item whose thread left the CPU (its routine blocked) has one slice
 *               per stretch it ran, each above its thread, on the CPU it ran on
 *   irql        [cpu, time ns, IRQL] at each change
 *   violations  the machine's, with rule, guideline, message
 *   report      kdpc_report_get's report
 *
 * The events are read twice through evsrc (slices, then IRQL changes) with per-CPU stacks of
 * bounded depth: nothing grows with the length of the trace except the string table (one
 * entry per routine and thread) and the output, which is capped at KDPC__HTML_MAX_SLICES
 * slices and KDPC__HTML_MAX_IRQL IRQL changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdpc_html_assets.h"
#include "trace/evsrc.h"
#include "trace/export.h"
#include "trace/html.h"
#include "trace/json.h"
#include "trace/trace.h"

#define STACK_DEPTH 32 /* nested ISR/DPC/work/sync slices per CPU */

enum { K_THREAD, K_DPC, K_ISR, K_WORK, K_SYNC };

typedef struct frame {
    uint64_t start;
    uint32_t name;
    uint8_t kind, irql;
} frame;

typedef struct cpu_state {
    frame stack[STACK_DEPTH];
    unsigned depth; /* may exceed STACK_DEPTH: the frames above it are not kept */
    bool thread_open;
    frame thread;
    uint64_t thread_id;
    uint64_t slices;
    int irql; /* last IRQL written (pass 2), -1 none */
} cpu_state;

typedef struct writer {
    FILE *f;
    kdpc_machine *m;
    kdpc__evsrc *src;
    cpu_state *cpu;
    unsigned ncpu;
    /* string table */
    char **str;
    size_t nstr, capstr;
    kdpc__ptrmap routine_idx; /* routine address -> 1 + string index */
    kdpc__ptrmap thread_idx;  /* 2 + thread id -> 1 + string index */
    kdpc__ptrmap parked;      /* 2 + thread id -> parked: its work items while it is off-CPU */
    uint64_t slices, dropped_slices;
    uint64_t first_ns, last_ns;
    bool any;
    bool oom;
} writer;

static void put(writer *w, const char *s)
{
    fputs(s, w->f);
}

static void put_u64(writer *w, uint64_t v)
{
    char b[24];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    fwrite(b + i, 1, sizeof b - i, w->f);
}

/* A JSON string that may sit inside a <script> element: '<', '>' and '&' are escaped too. */
/* Escaped for a <script> element too (a name holding "</script>" cannot end it). */
static void put_str(writer *w, const char *s)
{
    kdpc__json_str(w->f, s, true);
}

static void put_key(writer *w, const char *key)
{
    put_str(w, key);
    putc(':', w->f);
}

static uint32_t add_string(writer *w, const char *s)
{
    if (w->nstr == w->capstr) {
        size_t cap = w->capstr != 0 ? 2 * w->capstr : 64;
        char **n = realloc(w->str, cap * sizeof(*n));
        if (n == NULL) {
            w->oom = true;
            return 0;
        }
        w->str = n;
        w->capstr = cap;
    }
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        w->oom = true;
        return 0;
    }
    memcpy(copy, s, len + 1);
    w->str[w->nstr] = copy;
    return (uint32_t)w->nstr++;
}

static uint32_t routine_string(writer *w, uintptr_t routine)
{
    void *v = kdpc__ptrmap_get(&w->routine_idx, routine + 2);
    if (v != NULL)
        return (uint32_t)((uintptr_t)v - 1);
    const char *name = routine != 0 ? kdpc__evsrc_routine_name(w->src, routine) : "?";
    uint32_t i = add_string(w, name);
    if (!kdpc__ptrmap_put(&w->routine_idx, routine + 2, (void *)(uintptr_t)(i + 1)))
        w->oom = true;
    return i;
}

/* The name of thread @id: its start routine (thread-start) and number. */
static uint32_t thread_string(writer *w, uint64_t id, uintptr_t start)
{
    uintptr_t key = (uintptr_t)id + 2;
    void *v = kdpc__ptrmap_get(&w->thread_idx, key);
    if (v != NULL && start == 0)
        return (uint32_t)((uintptr_t)v - 1);
    char b[288];
    if (start != 0)
        snprintf(b, sizeof b, "%s (thread %llu)", kdpc__evsrc_routine_name(w->src, start),
                 (unsigned long long)id);
    else
        snprintf(b, sizeof b, "thread %llu", (unsigned long long)id);
    uint32_t i = add_string(w, b);
    if (!kdpc__ptrmap_put(&w->thread_idx, key, (void *)(uintptr_t)(i + 1)))
        w->oom = true;
    return i;
}

static void emit_slice(writer *w, unsigned cpu, const frame *f, unsigned depth, uint64_t end,
                       bool unfinished)
{
    w->cpu[cpu].slices++;
    if (w->slices >= KDPC__HTML_MAX_SLICES) {
        w->dropped_slices++;
        return;
    }
    put(w, w->slices == 0 ? "\n[" : ",\n[");
    w->slices++;
    put_u64(w, cpu);
    putc(',', w->f);
    put_u64(w, f->start);
    putc(',', w->f);
    put_u64(w, end >= f->start ? end - f->start : 0);
    putc(',', w->f);
    put_u64(w, depth);
    putc(',', w->f);
    put_u64(w, f->kind);
    putc(',', w->f);
    put_u64(w, f->name);
    putc(',', w->f);
    put_u64(w, f->irql);
    put(w, unfinished ? ",1]" : ",0]");
}

/* The work item frames of a thread that left its CPU (its routine blocked): they begin again
 * above the thread where it is switched in next, on whichever CPU. */
#define MAX_PARKED 8u
typedef struct parked {
    unsigned n;
    frame f[MAX_PARKED];
} parked;

static void push(writer *w, const kdpc_event *e, uint8_t kind, uint32_t name)
{
    cpu_state *c = &w->cpu[e->cpu];
    if (c->depth < STACK_DEPTH)
        c->stack[c->depth] =
            (frame){.start = e->time_ns, .name = name, .kind = kind, .irql = e->irql};
    c->depth++;
}

/* The end of a @kind slice: the innermost open one of that kind (begins the ring dropped have
 * no frame: their ends are skipped). */
static void pop(writer *w, const kdpc_event *e, uint8_t kind)
{
    cpu_state *c = &w->cpu[e->cpu];
    if (c->depth > STACK_DEPTH) { /* the frame was not kept: nothing to write */
        c->depth--;
        return;
    }
    for (unsigned i = c->depth; i-- > 0;) {
        if (c->stack[i].kind != kind)
            continue;
        /* frames above it that never ended (dropped ends) close here too */
        for (unsigned j = c->depth; j-- > i;)
            emit_slice(w, e->cpu, &c->stack[j], j + 1, e->time_ns, j != i);
        c->depth = i;
        return;
    }
}

/* The thread leaving @e's CPU takes its work item frames along: each ends here as a slice and
 * is parked for the thread. */
static void park_work(writer *w, const kdpc_event *e)
{
    cpu_state *c = &w->cpu[e->cpu];
    if (c->depth > STACK_DEPTH)
        return; /* frames were not kept: leave the stack alone */
    unsigned kept = 0;
    parked *p = NULL;
    for (unsigned i = 0; i < c->depth; i++) {
        if (c->stack[i].kind != K_WORK) {
            c->stack[kept++] = c->stack[i];
            continue;
        }
        emit_slice(w, e->cpu, &c->stack[i], kept + 1, e->time_ns, false);
        if (p == NULL) {
            uintptr_t key = (uintptr_t)c->thread_id + 2;
            p = kdpc__ptrmap_get(&w->parked, key);
            if (p == NULL) {
                p = calloc(1, sizeof *p);
                if (p == NULL || !kdpc__ptrmap_put(&w->parked, key, p)) {
                    free(p);
                    w->oom = true;
                    return;
                }
            }
        }
        if (p->n < MAX_PARKED)
            p->f[p->n++] = c->stack[i];
    }
    c->depth = kept;
}

/* Thread @id is switched in on @e's CPU: its parked work item frames begin again. */
static void unpark_work(writer *w, const kdpc_event *e, uint64_t id)
{
    parked *p = kdpc__ptrmap_del(&w->parked, (uintptr_t)id + 2);
    if (p == NULL)
        return;
    cpu_state *c = &w->cpu[e->cpu];
    for (unsigned i = 0; i < p->n; i++) {
        if (c->depth < STACK_DEPTH) {
            c->stack[c->depth] = p->f[i];
            c->stack[c->depth].start = e->time_ns;
        }
        c->depth++;
    }
    free(p);
}

/* The thread slice on the CPU ends; @is_switch: the switched-to thread's begins, unless it is
 * the idle thread (a CPU where nothing runs gets no slice, as in chrome.c), and the work items
 * of the thread that left follow it. */
static void thread_to(writer *w, const kdpc_event *e, bool is_switch)
{
    cpu_state *c = &w->cpu[e->cpu];
    bool open = is_switch && !kdpc__trace_idle_thread(w->m, e->arg);
    if (c->thread_open) {
        if (is_switch)
            park_work(w, e);
        emit_slice(w, e->cpu, &c->thread, 0, e->time_ns, false);
    }
    if (!is_switch)
        free(kdpc__ptrmap_del(&w->parked, (uintptr_t)e->arg + 2));
    c->thread_open = open;
    if (open) {
        c->thread = (frame){.start = e->time_ns,
                            .name = thread_string(w, e->arg, 0),
                            .kind = K_THREAD,
                            .irql = e->irql};
        c->thread_id = e->arg;
        unpark_work(w, e, e->arg);
    }
}

static void slice_event(writer *w, const kdpc_event *e)
{
    switch (e->kind) {
    case KDPC_EV_DPC_BEGIN:
        push(w, e, K_DPC, routine_string(w, e->routine));
        break;
    case KDPC_EV_ISR_BEGIN:
        push(w, e, K_ISR, routine_string(w, e->routine));
        break;
    case KDPC_EV_WORK_BEGIN:
        push(w, e, K_WORK, routine_string(w, e->routine));
        break;
    case KDPC_EV_SYNC_BEGIN:
        push(w, e, K_SYNC, routine_string(w, e->routine));
        break;
    case KDPC_EV_DPC_END:
        pop(w, e, K_DPC);
        break;
    case KDPC_EV_ISR_END:
        pop(w, e, K_ISR);
        break;
    case KDPC_EV_WORK_END:
        pop(w, e, K_WORK);
        break;
    case KDPC_EV_SYNC_END:
        pop(w, e, K_SYNC);
        break;
    case KDPC_EV_THREAD_START:
        (void)thread_string(w, e->arg, e->routine);
        break;
    case KDPC_EV_THREAD_SWITCH:
        thread_to(w, e, true);
        break;
    case KDPC_EV_THREAD_EXIT:
        thread_to(w, e, false);
        break;
    default:
        break;
    }
}

static int read_error(writer *w)
{
    int err = kdpc__evsrc_error(w->src);
    return err;
}

/* Pass 1: the slices. Returns 0 or an errno. */
static int write_slices(writer *w)
{
    kdpc_event e;
    put(w, "\"slices\":[");
    while (kdpc__evsrc_next(w->src, &e)) {
        if (!w->any)
            w->first_ns = e.time_ns;
        w->any = true;
        w->last_ns = e.time_ns;
        if (e.cpu < w->ncpu)
            slice_event(w, &e);
    }
    if (read_error(w) != 0)
        return read_error(w);
    /* A run that ended in a bug check, deadlock or timeout: close what is open at the last
     * event's time, marked unfinished. */
    for (unsigned i = 0; i < w->ncpu; i++) {
        cpu_state *c = &w->cpu[i];
        unsigned kept = c->depth < STACK_DEPTH ? c->depth : STACK_DEPTH;
        for (unsigned j = kept; j-- > 0;)
            emit_slice(w, i, &c->stack[j], j + 1, w->last_ns, true);
        if (c->thread_open)
            emit_slice(w, i, &c->thread, 0, w->last_ns, true);
    }
    put(w, "],\n");
    return 0;
}

/* Pass 2: IRQL changes per CPU. */
static int write_irql(writer *w, kdpc__evsrc *src)
{
    kdpc_event e;
    uint64_t n = 0;
    bool truncated = false;
    put(w, "\"irql\":[");
    for (unsigned i = 0; i < w->ncpu; i++)
        w->cpu[i].irql = -1;
    while (kdpc__evsrc_next(src, &e)) {
        if (e.cpu >= w->ncpu || e.irql == w->cpu[e.cpu].irql)
            continue;
        w->cpu[e.cpu].irql = e.irql;
        if (n >= KDPC__HTML_MAX_IRQL) {
            truncated = true;
            continue;
        }
        put(w, n == 0 ? "\n[" : ",\n[");
        n++;
        put_u64(w, e.cpu);
        putc(',', w->f);
        put_u64(w, e.time_ns);
        putc(',', w->f);
        put_u64(w, e.irql);
        putc(']', w->f);
    }
    if (kdpc__evsrc_error(src) != 0)
        return kdpc__evsrc_error(src);
    put(w, "],\n\"irql_truncated\":");
    put(w, truncated ? "true" : "false");
    put(w, ",\n");
    return 0;
}

static void write_violations(writer *w)
{
    size_t n = kdpc_machine_violation_count(w->m);
    put(w, "\"violations\":[");
    for (size_t i = 0; i < n; i++) {
        const kdpc_violation *v = kdpc_machine_violation(w->m, i);
        put(w, i == 0 ? "\n{" : ",\n{");
        put_key(w, "time");
        put_u64(w, v->time_ns);
        put(w, ",");
        put_key(w, "cpu");
        put_u64(w, v->cpu);
        put(w, ",");
        put_key(w, "irql");
        put_u64(w, v->irql);
        put(w, ",");
        put_key(w, "code");
        put_u64(w, v->code);
        put(w, ",");
        put_key(w, "fatal");
        put(w, v->fatal ? "true," : "false,");
        put_key(w, "rule");
        put_str(w, v->rule);
        put(w, ",");
        put_key(w, "name");
        put_str(w, v->name);
        put(w, ",");
        put_key(w, "guideline");
        put_str(w, v->guideline);
        put(w, ",");
        put_key(w, "routine");
        put_str(w, v->routine);
        put(w, ",");
        put_key(w, "message");
        put_str(w, v->message);
        put(w, "}");
    }
    put(w, "],\n");
}

static void write_hist(writer *w, const char *key, const kdpc_report_hist *h)
{
    put_key(w, key);
    put(w, "{\"count\":");
    put_u64(w, h->count);
    put(w, ",\"total_ns\":");
    put_u64(w, h->total_ns);
    put(w, ",\"max_ns\":");
    put_u64(w, h->max_ns);
    put(w, ",\"p50_ns\":");
    put_u64(w, h->p50_ns);
    put(w, ",\"p90_ns\":");
    put_u64(w, h->p90_ns);
    put(w, ",\"p99_ns\":");
    put_u64(w, h->p99_ns);
    put(w, ",\"buckets\":[");
    for (unsigned i = 0; i < KDPC_REPORT_BUCKETS; i++) {
        if (i > 0)
            putc(',', w->f);
        put_u64(w, h->bucket[i]);
    }
    put(w, "]}");
}

static void write_report(writer *w, const kdpc_report *r)
{
    put(w, "\"report\":");
    if (r == NULL) {
        put(w, "null");
        return;
    }
    put(w, "{\"start_ns\":");
    put_u64(w, r->start_ns);
    put(w, ",\"end_ns\":");
    put_u64(w, r->end_ns);
    put(w, ",\"cpus\":");
    put_u64(w, r->cpus);
    put(w, ",\"dpc_limit_ns\":");
    put_u64(w, w->m->cfg.dpc_time_limit_ns);
    put(w, ",\"isr_limit_ns\":");
    put_u64(w, w->m->cfg.isr_time_limit_ns);
    put(w, ",\n\"routines\":[");
    for (size_t i = 0; i < r->nroutines; i++) {
        const kdpc_report_routine *x = &r->routines[i];
        put(w, i == 0 ? "\n{" : ",\n{");
        put_key(w, "name");
        put_str(w, x->name);
        put(w, x->kind == KDPC_ROUTINE_ISR ? ",\"kind\":\"ISR\"," : ",\"kind\":\"DPC\",");
        write_hist(w, "time", &x->time);
        put(w, ",\"longest_end_ns\":");
        put_u64(w, x->longest_end_ns);
        put(w, ",\"longest_cpu\":");
        put_u64(w, x->longest_cpu);
        put(w, ",\"over_limit\":");
        put_u64(w, x->over_limit);
        put(w, x->flagged ? ",\"flagged\":true}" : ",\"flagged\":false}");
    }
    put(w, "],\n");
    write_hist(w, "interrupt_to_dpc", &r->interrupt_to_dpc);
    put(w, ",\n");
    write_hist(w, "dpc_latency", &r->dpc_latency);
    put(w, ",\n\"devices\":[");
    for (size_t i = 0; i < r->ndevices; i++) {
        const kdpc_report_device *d = &r->devices[i];
        put(w, i == 0 ? "\n{" : ",\n{");
        put_key(w, "name");
        put_str(w, d->name);
        put(w, ",\"completed\":");
        put_u64(w, d->completed);
        put(w, ",\"failed\":");
        put_u64(w, d->failed);
        put(w, ",\"cancelled\":");
        put_u64(w, d->cancelled);
        put(w, ",");
        write_hist(w, "latency", &d->latency);
        put(w, "}");
    }
    put(w, "],\n\"cpu\":[");
    for (unsigned i = 0; i < r->cpus && r->cpu != NULL; i++) {
        const kdpc_report_cpu *c = &r->cpu[i];
        put(w, i == 0 ? "\n{\"irql_ns\":[" : ",\n{\"irql_ns\":[");
        for (unsigned q = 0; q < KDPC_REPORT_IRQLS; q++) {
            if (q > 0)
                putc(',', w->f);
            put_u64(w, c->irql_ns[q]);
        }
        put(w, "],\"dpc_ns\":");
        put_u64(w, c->dpc_ns);
        put(w, ",\"isr_ns\":");
        put_u64(w, c->isr_ns);
        put(w, ",\"dpcs\":");
        put_u64(w, c->dpcs);
        put(w, ",\"isrs\":");
        put_u64(w, c->isrs);
        put(w, ",\"max_queue_depth\":");
        put_u64(w, c->max_queue_depth);
        put(w, "}");
    }
    put(w, "],\n\"depth_window_ns\":");
    put_u64(w, r->depth_window_ns);
    put(w, ",\"depth\":[");
    for (size_t i = 0; i < r->ndepth; i++) {
        const kdpc_report_depth *d = &r->depth[i];
        put(w, i == 0 ? "\n[" : ",\n[");
        put_u64(w, d->start_ns);
        putc(',', w->f);
        put_u64(w, d->inserted);
        for (unsigned c = 0; c < r->cpus && d->max_depth != NULL; c++) {
            putc(',', w->f);
            put_u64(w, d->max_depth[c]);
        }
        putc(']', w->f);
    }
    put(w, "],\"violations\":");
    put_u64(w, r->nviolations);
    put(w, "}");
}

/* The JSON data block. Returns 0, or an errno (ENOMEM included). */
static int write_data(writer *w, const kdpc_report *rep)
{
    kdpc__evsrc *src = NULL;
    kdpc_status st = kdpc__evsrc_open(w->m, &src);
    const char *trace = "none";
    bool complete = true;
    if (st == KDPC_ENOMEM)
        return ENOMEM;
    if (st == KDPC_EOUTPUT)
        return errno != 0 ? errno : EIO;
    put(w, "{\"format\":\"kdpc-html-1\",\n");
    if (st == KDPC_OK) {
        w->src = src;
        trace = w->m->cfg.trace_stream ? "spool" : "ring";
        complete = kdpc__evsrc_complete(src);
        int err = write_slices(w);
        if (err == 0 && !w->oom) {
            kdpc__evsrc *again = NULL;
            st = kdpc__evsrc_open(w->m, &again);
            if (st == KDPC_OK) {
                err = write_irql(w, again);
                kdpc__evsrc_close(again);
            } else {
                err = st == KDPC_ENOMEM ? ENOMEM : (errno != 0 ? errno : EIO);
            }
        }
        if (err != 0 || w->oom) {
            kdpc__evsrc_close(src);
            w->src = NULL;
            return err != 0 ? err : ENOMEM;
        }
    } else {
        put(w, "\"slices\":[],\"irql\":[],\"irql_truncated\":false,\n");
    }
    put(w, "\"strings\":[");
    for (size_t i = 0; i < w->nstr; i++) {
        if (i > 0)
            put(w, ",\n");
        put_str(w, w->str[i]);
    }
    put(w, "],\n\"slice_counts\":[");
    for (unsigned i = 0; i < w->ncpu; i++) {
        if (i > 0)
            putc(',', w->f);
        put_u64(w, w->cpu[i].slices);
    }
    put(w, "],\n\"trace\":");
    put_str(w, trace);
    put(w, ",\"complete\":");
    put(w, complete ? "true" : "false");
    put(w, ",\"dropped_events\":");
    put_u64(w, kdpc_trace_total(w->m) - (src != NULL ? kdpc__evsrc_count(src) : 0));
    put(w, ",\"max_slices\":");
    put_u64(w, KDPC__HTML_MAX_SLICES);
    put(w, ",\"slices_written\":");
    put_u64(w, w->slices);
    put(w, ",\"slices_left_out\":");
    put_u64(w, w->dropped_slices);
    put(w, ",\"seed\":");
    put_u64(w, w->m->cfg.seed);
    put(w, ",\"cpus\":");
    put_u64(w, w->ncpu);
    put(w, ",\"first_ns\":");
    put_u64(w, w->first_ns);
    put(w, ",\"last_ns\":");
    put_u64(w, w->any ? w->last_ns : w->m->now_ns);
    put(w, ",\"now_ns\":");
    put_u64(w, w->m->now_ns);
    put(w, ",\n");
    if (src != NULL)
        kdpc__evsrc_close(src);
    w->src = NULL;
    write_violations(w);
    write_report(w, rep);
    put(w, "}");
    return 0;
}

static void writer_free(writer *w)
{
    for (size_t i = 0; i < w->nstr; i++)
        free(w->str[i]);
    free(w->str);
    free(w->cpu);
    kdpc__ptrmap_free(&w->routine_idx);
    kdpc__ptrmap_free(&w->thread_idx);
    for (size_t i = 0; i < w->parked.cap; i++) {
        if (w->parked.keys[i] > 1)
            free(w->parked.vals[i]);
    }
    kdpc__ptrmap_free(&w->parked);
}

static const unsigned char *find_marker(const unsigned char *p, size_t n, const char *marker,
                                        size_t *at)
{
    size_t k = strlen(marker);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(p + i, marker, k) == 0) {
            *at = i;
            return p + i;
        }
    }
    return NULL;
}

kdpc_status kdpc__html_write(kdpc_machine *m, const kdpc_report *rep, const char *path)
{
    static const char marker[] = "@KDPC_DATA@";
    size_t at = 0;
    if (find_marker(kdpc__html_page, sizeof kdpc__html_page, marker, &at) == NULL)
        return KDPC_EINVAL; /* cannot happen: the build checks the template */

    kdpc__outfile o; /* a temporary file beside the path, renamed into place (outfile.c) */
    kdpc_status st = kdpc__outfile_open(&o, path);
    if (st != KDPC_OK)
        return st;
    FILE *f = o.f;
    setvbuf(f, NULL, _IOFBF, 1 << 20);

    writer w = {.f = f, .m = m, .ncpu = m->ncpu};
    w.cpu = calloc(m->ncpu, sizeof(*w.cpu));
    int err = w.cpu == NULL ? ENOMEM : 0;
    if (err == 0) {
        fwrite(kdpc__html_page, 1, at, f);
        err = write_data(&w, rep);
        size_t rest = at + sizeof marker - 1;
        fwrite(kdpc__html_page + rest, 1, sizeof kdpc__html_page - rest, f);
    }
    writer_free(&w);
    if (err == 0 && ferror(f))
        err = errno != 0 ? errno : EIO;
    errno = err;
    st = kdpc__outfile_close(&o, err == 0); /* flush, fclose, rename; or remove */
    if (err == ENOMEM) {
        errno = ENOMEM;
        return KDPC_ENOMEM;
    }
    return st;
}
