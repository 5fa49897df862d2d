/* SPDX-License-Identifier: MIT */
/*
 * chrome.c - the recorded trace as Chrome / Perfetto trace-event JSON
 * (the "JSON object format": {"traceEvents":[...],"displayTimeUnit":"ns",
 * "metadata":{...}}), streamed: one pass over the event source, with a state
 * bounded by what is open or pending at a time (per-CPU slice stacks, maps of
 * queued KDPCs, started IRPs and asserted lines), never an array of events.
 *
 * Tracks (pid 1, the machine): tid n = CPU n, with thread, work item, DPC,
 * SynchronizeRoutine and ISR slices ("B"/"E", nested as they ran) and
 * instant events; tid DEVICE_TID + id = the device of that object number,
 * with its device events. Counters "IRQL CPU n". Flows ("s"/"f", "bp":"e"):
 * dpc-insert -> dpc-begin, irp-start -> irp-complete, device-event ->
 * (line-assert) -> isr-begin. A flow's "s" is written when its "f" is, so
 * every "s" has its "f" (a removed DPC or an IRP never completed has none).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <kdpc/verifier.h>
#include "base/ptrmap.h"
#include "sim/sim.h"
#include "trace/export.h"
#include "trace/json.h"

#define DEVICE_TID 100000u /* tid of a device track: DEVICE_TID + the device's object number */
#define MAX_DEPTH  64u     /* slices kept per CPU stack; deeper ones are counted, not shown */
#define DEV_RING   1024u   /* recent device events a line-assert can point back to */
#define NAME_CACHE 4096u   /* object names cached (locks, timers, devices) */
#define OUT_CAP    (1u << 20)

enum slice_kind { S_THREAD, S_WORK, S_DPC, S_SYNC, S_ISR };
static const char *const slice_cat[] = {"thread", "work", "dpc", "sync", "isr"};

typedef struct slice {
    uint8_t kind;
    uint64_t id; /* thread id or object number */
    uintptr_t routine;
    uint64_t arg, arg2;
} slice;

typedef struct cpu_state {
    slice st[MAX_DEPTH];
    unsigned depth; /* may exceed MAX_DEPTH: those are not shown */
    int irql;       /* last IRQL written to the counter, -1 none */
} cpu_state;

/* The work item slices a thread had open when it left its CPU (its routine blocked): they
 * end there and begin again above the thread's slice where it is switched in next, on
 * whichever CPU, so the work item's end finds them. */
#define MAX_PARKED 8u
typedef struct parked {
    unsigned n;
    slice st[MAX_PARKED];
} parked;

typedef struct pending {
    uint64_t ts;
    uint32_t tid;
    bool anchor; /* no slice was open at the start: the arrow needs one to leave from */
} pending;

typedef struct dev_ev {
    uint64_t seq, ts, dev;
} dev_ev;

typedef struct jw {
    kdpc__evsrc *s;
    kdpc_machine *m;
    FILE *f;
    char *buf;
    size_t n;
    int err;
    bool first;
    cpu_state *cpus;
    unsigned ncpu;
    kdpc__ptrmap threads; /* thread id + 2 -> start routine */
    kdpc__ptrmap parked;  /* thread id + 2 -> parked (work slices of a thread off its CPU) */
    kdpc__ptrmap dpcs;    /* KDPC number + 2 -> pending (queued) */
    kdpc__ptrmap irps;    /* IRP number + 2 -> pending (started) */
    kdpc__ptrmap lines;   /* line + 2 -> pending (asserted by a device event) */
    kdpc__ptrmap devices; /* device number + 2 -> 1: its track is named */
    kdpc__ptrmap names;   /* object number + 2 -> malloc'd name or the empty marker */
    size_t names_n;
    dev_ev devring[DEV_RING];
    uint64_t flow_id;
    uint64_t last_ts;
    uint64_t events, skipped_ends, hidden, dropped_flows;
    size_t viol_next;
    bool oom;
} jw;

static char empty_name[1];

/* --- output ------------------------------------------------------------------------------- */

static void flush_out(jw *w)
{
    if (w->n > 0 && w->err == 0 && fwrite(w->buf, 1, w->n, w->f) != w->n)
        w->err = errno != 0 ? errno : EIO;
    w->n = 0;
}

static inline void room(jw *w, size_t k)
{
    if (w->n + k > OUT_CAP)
        flush_out(w);
}

static inline void raw(jw *w, const char *p, size_t k)
{
    if (k > OUT_CAP / 2) {
        flush_out(w);
        if (w->err == 0 && fwrite(p, 1, k, w->f) != k)
            w->err = errno != 0 ? errno : EIO;
        return;
    }
    room(w, k);
    memcpy(w->buf + w->n, p, k);
    w->n += k;
}

#define LIT(w, s) raw((w), "" s, sizeof(s) - 1) /* s: a string literal */

static inline void u64(jw *w, uint64_t v)
{
    char t[24];
    size_t i = sizeof t;
    do {
        t[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    raw(w, t + i, sizeof t - i);
}

static inline void i64(jw *w, int64_t v)
{
    if (v < 0) {
        LIT(w, "-");
        u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        u64(w, (uint64_t)v);
    }
}

/* Virtual ns as microseconds with 3 decimals. */
static inline void ts_us(jw *w, uint64_t ns)
{
    u64(w, ns / 1000u);
    char t[4] = {'.', (char)('0' + ns / 100u % 10u), (char)('0' + ns / 10u % 10u),
                 (char)('0' + ns % 10u)};
    raw(w, t, 4);
}

/* A JSON string, quoted and escaped (control characters as \u00XX; bytes >= 0x80 as they
 * are when they are well-formed UTF-8, else U+FFFD). */
static void str(jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    LIT(w, "\"");
    if (s != NULL) {
        const char *run = s;
        for (; *s != '\0'; s++) {
            unsigned char c = (unsigned char)*s;
            if (c >= 0x80) {
                size_t k = kdpc__utf8_len(s);
                if (k > 0) {
                    s += k - 1;
                    continue;
                }
                raw(w, run, (size_t)(s - run)); /* not UTF-8: U+FFFD, the file stays JSON */
                run = s + 1;
                LIT(w, "\\ufffd");
                continue;
            }
            if (c >= 0x20 && c != '"' && c != '\\')
                continue;
            raw(w, run, (size_t)(s - run));
            run = s + 1;
            switch (c) {
            case '"':
                LIT(w, "\\\"");
                break;
            case '\\':
                LIT(w, "\\\\");
                break;
            case '\n':
                LIT(w, "\\n");
                break;
            case '\t':
                LIT(w, "\\t");
                break;
            case '\r':
                LIT(w, "\\r");
                break;
            default: {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                raw(w, e, 6);
            }
            }
        }
        raw(w, run, (size_t)(s - run));
    }
    LIT(w, "\"");
}

/* Start of an event: ,{"ph":"X","pid":1,"tid":T,"ts":U */
static void ev_head(jw *w, char ph, uint64_t tid, uint64_t ns)
{
    if (w->first) {
        w->first = false;
        LIT(w, "\n{\"ph\":\"");
    } else {
        LIT(w, ",\n{\"ph\":\"");
    }
    raw(w, &ph, 1);
    LIT(w, "\",\"pid\":1,\"tid\":");
    u64(w, tid);
    LIT(w, ",\"ts\":");
    ts_us(w, ns);
}

static void field_u64(jw *w, const char *key, size_t klen, uint64_t v)
{
    raw(w, key, klen);
    u64(w, v);
}

#define FU64(w, k, v) field_u64((w), (k), sizeof(k) - 1, (v))

/* --- names -------------------------------------------------------------------------------- */

static const char *object_name(jw *w, uint64_t id)
{
    if (id == 0)
        return NULL;
    const char *c = kdpc__ptrmap_get(&w->names, (uintptr_t)id + 2u);
    if (c != NULL)
        return c == empty_name ? NULL : c;
    const char *n = kdpc__evsrc_object_name(w->s, id);
    if (w->names_n >= NAME_CACHE)
        return n;
    char *copy = empty_name;
    if (n != NULL) {
        size_t len = strlen(n) + 1;
        copy = malloc(len);
        if (copy == NULL)
            return n;
        memcpy(copy, n, len);
    }
    if (!kdpc__ptrmap_put(&w->names, (uintptr_t)id + 2u, copy)) {
        if (copy != empty_name)
            free(copy);
        return n;
    }
    w->names_n++;
    return copy == empty_name ? NULL : copy;
}

static const char *routine_name(jw *w, uintptr_t r)
{
    return r != 0 ? kdpc__evsrc_routine_name(w->s, r) : "";
}

/* --- metadata events ---------------------------------------------------------------------- */

static void meta_name(jw *w, const char *what, uint64_t tid, const char *name, uint64_t sort)
{
    ev_head(w, 'M', tid, 0);
    LIT(w, ",\"name\":");
    str(w, what);
    LIT(w, ",\"args\":{\"name\":");
    str(w, name);
    LIT(w, "}}");
    ev_head(w, 'M', tid, 0);
    LIT(w, ",\"name\":");
    str(w, strcmp(what, "process_name") == 0 ? "process_sort_index" : "thread_sort_index");
    FU64(w, ",\"args\":{\"sort_index\":", sort);
    LIT(w, "}}");
}

static void name_device(jw *w, uint64_t dev)
{
    if (kdpc__ptrmap_get(&w->devices, (uintptr_t)dev + 2u) != NULL)
        return;
    if (!kdpc__ptrmap_put(&w->devices, (uintptr_t)dev + 2u, (void *)(uintptr_t)1)) {
        w->oom = true;
        return;
    }
    const char *n = object_name(w, dev);
    char buf[64];
    if (n == NULL) {
        snprintf(buf, sizeof buf, "device #%" PRIu64, dev);
        n = buf;
    }
    meta_name(w, "thread_name", DEVICE_TID + dev, n, DEVICE_TID + dev);
}

/* --- slices ------------------------------------------------------------------------------- */

static void slice_name(jw *w, const slice *sl)
{
    if (sl->kind == S_THREAD) {
        char buf[256];
        if (sl->routine != 0)
            snprintf(buf, sizeof buf, "thread %" PRIu64 " %s", sl->id,
                     routine_name(w, sl->routine));
        else
            snprintf(buf, sizeof buf, "thread %" PRIu64, sl->id);
        str(w, buf);
        return;
    }
    str(w, routine_name(w, sl->routine));
}

static void begin_slice(jw *w, unsigned cpu, uint64_t ns, const slice *sl, bool continued)
{
    cpu_state *c = &w->cpus[cpu];
    if (c->depth >= MAX_DEPTH) {
        c->depth++;
        w->hidden++;
        return;
    }
    c->st[c->depth++] = *sl;
    ev_head(w, 'B', cpu, ns);
    LIT(w, ",\"cat\":");
    str(w, slice_cat[sl->kind]);
    LIT(w, ",\"name\":");
    slice_name(w, sl);
    LIT(w, ",\"args\":{");
    switch (sl->kind) {
    case S_THREAD:
        FU64(w, "\"thread\":", sl->id);
        break;
    case S_WORK:
        FU64(w, "\"work_item\":", sl->id);
        FU64(w, ",\"queue_type\":", sl->arg);
        break;
    case S_DPC:
        FU64(w, "\"kdpc\":", sl->id);
        FU64(w, ",\"importance\":", sl->arg2 & KDPC_DPCF_IMPORTANCE);
        FU64(w, ",\"queue_cpu\":", sl->arg);
        FU64(w, ",\"flags\":", sl->arg2);
        break;
    case S_SYNC:
        FU64(w, "\"interrupt\":", sl->id);
        break;
    case S_ISR:
        FU64(w, "\"interrupt\":", sl->id);
        FU64(w, ",\"line\":", sl->arg);
        break;
    }
    if (continued)
        LIT(w, ",\"continued\":true");
    LIT(w, "}}");
}

static void end_top(jw *w, unsigned cpu, uint64_t ns, const char *args)
{
    cpu_state *c = &w->cpus[cpu];
    if (c->depth > MAX_DEPTH) {
        c->depth--;
        return;
    }
    c->depth--;
    ev_head(w, 'E', cpu, ns);
    if (args != NULL) {
        LIT(w, ",\"args\":{");
        raw(w, args, strlen(args));
        LIT(w, "}");
    }
    LIT(w, "}");
}

/* Index of the innermost open slice of @kind on @cpu (and, for threads, of @id), or -1. */
static int find_open(const cpu_state *c, unsigned kind, bool match_id, uint64_t id)
{
    unsigned top = c->depth < MAX_DEPTH ? c->depth : MAX_DEPTH;
    for (unsigned i = top; i-- > 0;) {
        if (c->st[i].kind == kind && (!match_id || c->st[i].id == id))
            return (int)i;
    }
    return -1;
}

/* Keep @sl (a work item slice of thread @tid, which leaves its CPU) to begin again where the
 * thread runs next. */
static void park(jw *w, uint64_t tid, const slice *sl)
{
    parked *p = kdpc__ptrmap_get(&w->parked, (uintptr_t)tid + 2u);
    if (p == NULL) {
        p = calloc(1, sizeof *p);
        if (p == NULL || !kdpc__ptrmap_put(&w->parked, (uintptr_t)tid + 2u, p)) {
            free(p);
            w->oom = true;
            return;
        }
    }
    if (p->n < MAX_PARKED)
        p->st[p->n++] = *sl;
    else
        w->hidden++;
}

/* Thread @tid's slice just began on @cpu: its parked work slices begin again above it. */
static void unpark(jw *w, unsigned cpu, uint64_t ns, uint64_t tid)
{
    parked *p = kdpc__ptrmap_del(&w->parked, (uintptr_t)tid + 2u);
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->n; i++)
        begin_slice(w, cpu, ns, &p->st[i], true);
    free(p);
}

/* Close the slice at @at on @cpu with an end carrying @args_json (may be NULL). Slices above it
 * (which should have ended first: never in a complete trace) are closed before it and, when
 * @reopen, opened again above what replaces it; except, when the slice at @at is a thread's
 * (it leaves the CPU), the thread's work item slices, which are parked to follow the thread. */
static void close_at(jw *w, unsigned cpu, uint64_t ns, int at, const char *args_json,
                     const slice *replace, bool reopen)
{
    cpu_state *c = &w->cpus[cpu];
    slice above[MAX_DEPTH], leaving = c->st[at];
    unsigned nabove = 0;
    bool thread = reopen && leaving.kind == S_THREAD;
    while (c->depth > (unsigned)at + 1u) {
        if (c->depth <= MAX_DEPTH)
            above[nabove++] = c->st[c->depth - 1];
        end_top(w, cpu, ns, reopen ? "\"interrupted\":true" : "\"unmatched\":true");
    }
    end_top(w, cpu, ns, args_json);
    if (thread) {
        for (unsigned i = nabove; i-- > 0;) {
            if (above[i].kind == S_WORK)
                park(w, leaving.id, &above[i]);
        }
    }
    if (replace != NULL) {
        begin_slice(w, cpu, ns, replace, false);
        if (replace->kind == S_THREAD)
            unpark(w, cpu, ns, replace->id);
    }
    if (reopen) {
        while (nabove > 0) {
            --nabove;
            if (!thread || above[nabove].kind != S_WORK)
                begin_slice(w, cpu, ns, &above[nabove], true);
        }
    }
}

/* An end event: close the innermost open slice of @kind (with @args_json), or skip the end
 * when its begin was not seen (the ring dropped it). */
static void end_kind(jw *w, const kdpc_event *e, unsigned kind, const char *args_json)
{
    int at = find_open(&w->cpus[e->cpu], kind, false, 0);
    if (at < 0) {
        w->skipped_ends++;
        return;
    }
    close_at(w, e->cpu, e->time_ns, at, args_json, NULL, false);
}

/* --- flows -------------------------------------------------------------------------------- */

static bool remember(jw *w, kdpc__ptrmap *pm, uint64_t key, uint64_t ts, uint32_t tid)
{
    pending *p = kdpc__ptrmap_get(pm, (uintptr_t)key + 2u);
    if (p != NULL && pm == &w->irps)
        return true; /* StartIo called for an IRP IoStartPacket queued: the arrow starts at
                        IoStartPacket */
    if (p == NULL) {
        p = malloc(sizeof *p);
        if (p == NULL || !kdpc__ptrmap_put(pm, (uintptr_t)key + 2u, p)) {
            free(p);
            w->oom = true;
            return false;
        }
    } else {
        w->dropped_flows++; /* queued again before it ran: the older start has no end */
    }
    p->ts = ts;
    p->tid = tid;
    /* A viewer binds an arrow's start to the slice around it: a device track has none, and a
     * CPU may have none open (a timer expiring on an idle CPU). */
    p->anchor = tid >= DEVICE_TID || tid >= w->ncpu || w->cpus[tid].depth == 0;
    return true;
}

static bool forget(kdpc__ptrmap *pm, uint64_t key)
{
    void *p = kdpc__ptrmap_del(pm, (uintptr_t)key + 2u);
    free(p);
    return p != NULL;
}

/* If @key has a pending start in @pm, write the flow from it to (@tid, @ns). */
static void flow_to(jw *w, kdpc__ptrmap *pm, uint64_t key, const char *cat, uint64_t tid,
                    uint64_t ns)
{
    pending *p = kdpc__ptrmap_del(pm, (uintptr_t)key + 2u);
    if (p == NULL)
        return;
    uint64_t id = ++w->flow_id;
    if (p->anchor) { /* a zero-length slice for the arrow to leave from */
        ev_head(w, 'X', p->tid, p->ts);
        LIT(w, ",\"dur\":0,\"cat\":");
        str(w, cat);
        LIT(w, ",\"name\":");
        str(w, cat);
        LIT(w, "}");
    }
    ev_head(w, 's', p->tid, p->ts);
    LIT(w, ",\"cat\":");
    str(w, cat);
    LIT(w, ",\"name\":");
    str(w, cat);
    FU64(w, ",\"id\":", id);
    LIT(w, "}");
    ev_head(w, 'f', tid, ns);
    LIT(w, ",\"bp\":\"e\",\"cat\":");
    str(w, cat);
    LIT(w, ",\"name\":");
    str(w, cat);
    FU64(w, ",\"id\":", id);
    LIT(w, "}");
    free(p);
}

/* --- instants ----------------------------------------------------------------------------- */

/* The names of arg and arg2 in an instant's args, per kind (NULL: left out). */
static void arg_names(uint32_t kind, const char **a, const char **a2)
{
    *a = "arg";
    *a2 = NULL;
    switch (kind) {
    case KDPC_EV_LOCK_SPIN:
        *a = "holder_cpu";
        break;
    case KDPC_EV_STALL:
        *a = "us";
        break;
    case KDPC_EV_TIMER_SET:
        *a = "due_ns";
        *a2 = "period_ns";
        break;
    case KDPC_EV_TIMER_CANCEL:
        *a = "was_set";
        break;
    case KDPC_EV_TIMER_EXPIRE:
        *a = "dpc_queued";
        *a2 = "period_ns";
        break;
    case KDPC_EV_WORK_QUEUE:
        *a = "queue_type";
        *a2 = "device";
        break;
    case KDPC_EV_IRP_CALL:
        *a = "major_minor";
        *a2 = "device";
        break;
    case KDPC_EV_IRP_START:
        *a = "started_now";
        *a2 = "device";
        break;
    case KDPC_EV_IRP_QUEUE:
        *a = "pending";
        *a2 = "device";
        break;
    case KDPC_EV_IRP_COMPLETE:
        *a = "status";
        *a2 = "information";
        break;
    case KDPC_EV_IRP_CANCEL:
        *a = "routine_called";
        break;
    case KDPC_EV_DMA_GRANT:
        *a = "map_registers";
        *a2 = "device";
        break;
    case KDPC_EV_DMA_MAP:
        *a = "bytes";
        *a2 = "logical_address";
        break;
    case KDPC_EV_DMA_FLUSH:
        *a = "bytes";
        break;
    case KDPC_EV_DMA_FREE:
        *a = "map_registers";
        break;
    case KDPC_EV_DEVICE_EVENT:
        *a = "event";
        break;
    default:
        break;
    }
}

static const char *instant_cat(uint32_t kind)
{
    switch (kind) {
    case KDPC_EV_LOCK_SPIN:
        return "lock";
    case KDPC_EV_STALL:
        return "stall";
    case KDPC_EV_TIMER_SET:
    case KDPC_EV_TIMER_CANCEL:
    case KDPC_EV_TIMER_EXPIRE:
        return "timer";
    case KDPC_EV_WORK_QUEUE:
        return "work";
    case KDPC_EV_DEVICE_EVENT:
        return "device";
    case KDPC_EV_DMA_GRANT:
    case KDPC_EV_DMA_MAP:
    case KDPC_EV_DMA_FLUSH:
    case KDPC_EV_DMA_FREE:
        return "dma";
    default:
        return "irp";
    }
}

static void instant(jw *w, const kdpc_event *e, uint64_t tid, bool named_object)
{
    const char *a, *a2;
    arg_names(e->kind, &a, &a2);
    ev_head(w, 'i', tid, e->time_ns);
    LIT(w, ",\"s\":\"t\",\"cat\":");
    str(w, instant_cat(e->kind));
    LIT(w, ",\"name\":");
    str(w, kdpc_event_kind_name(e->kind));
    FU64(w, ",\"args\":{\"object\":", e->object_id);
    if (named_object) {
        const char *n = object_name(w, e->object_id);
        if (n != NULL) {
            LIT(w, ",\"object_name\":");
            str(w, n);
        }
    }
    if (e->routine != 0) {
        LIT(w, ",\"routine\":");
        str(w, routine_name(w, e->routine));
    }
    LIT(w, ",");
    str(w, a);
    LIT(w, ":");
    if (e->kind == KDPC_EV_IRP_COMPLETE)
        i64(w, (int64_t)(int32_t)(uint32_t)e->arg); /* an NTSTATUS */
    else
        u64(w, e->arg);
    if (a2 != NULL) {
        LIT(w, ",");
        str(w, a2);
        LIT(w, ":");
        u64(w, e->arg2);
    }
    LIT(w, "}}");
}

static const kdpc_violation *violation_of(jw *w, const kdpc_event *e)
{
    size_t n = kdpc_machine_violation_count(w->m);
    const kdpc_violation *v = e->arg2 < n ? kdpc_machine_violation(w->m, (size_t)e->arg2) : NULL;
    if (v != NULL && v->event == e->seq)
        return v;
    for (size_t i = w->viol_next; i < n; i++) {
        v = kdpc_machine_violation(w->m, i);
        if (v != NULL && v->event == e->seq) {
            w->viol_next = i + 1;
            return v;
        }
        if (v != NULL && v->event > e->seq)
            break;
    }
    return NULL;
}

static void violation(jw *w, const kdpc_event *e)
{
    const kdpc_violation *v = violation_of(w, e);
    ev_head(w, 'i', e->cpu, e->time_ns);
    LIT(w, ",\"s\":\"g\",\"cat\":\"violation\",\"name\":");
    str(w, v != NULL ? v->rule : "violation");
    LIT(w, ",\"args\":{");
    if (v != NULL) {
        LIT(w, "\"rule\":");
        str(w, v->rule);
        LIT(w, ",\"guideline\":");
        str(w, v->guideline);
        LIT(w, ",\"message\":");
        str(w, v->message);
        FU64(w, ",\"code\":", v->code);
        LIT(w, ",\"bugcheck\":");
        str(w, v->name);
        if (v->fatal)
            LIT(w, ",\"fatal\":true,");
        else
            LIT(w, ",\"fatal\":false,");
    }
    LIT(w, "\"routine\":");
    str(w, routine_name(w, e->routine));
    FU64(w, ",\"cpu\":", e->cpu);
    LIT(w, "}}");
}

/* --- the event walk ----------------------------------------------------------------------- */

static void irql_counter(jw *w, const kdpc_event *e)
{
    cpu_state *c = &w->cpus[e->cpu];
    if (c->irql == (int)e->irql)
        return;
    c->irql = e->irql;
    ev_head(w, 'C', e->cpu, e->time_ns);
    LIT(w, ",\"name\":\"IRQL CPU ");
    u64(w, e->cpu);
    FU64(w, "\",\"args\":{\"irql\":", e->irql);
    LIT(w, "}}");
}

/* A thread switch: the thread slice (at the bottom) ends and the new thread's begins, under
 * whatever is still open above it; the idle thread gets no slice. */
static void thread_switch(jw *w, const kdpc_event *e)
{
    bool idle = kdpc__trace_idle_thread(w->m, e->arg);
    slice sl = {S_THREAD, e->arg, (uintptr_t)kdpc__ptrmap_get(&w->threads, (uintptr_t)e->arg + 2u),
                0, 0};
    cpu_state *c = &w->cpus[e->cpu];
    int at = find_open(c, S_THREAD, false, 0);
    if (at >= 0) {
        close_at(w, e->cpu, e->time_ns, at, NULL, idle ? NULL : &sl, true);
        return;
    }
    /* No thread slice open: open one unless something else is (the ring dropped the switch
     * that started it; a thread slice can only go at the bottom). */
    if (!idle && c->depth == 0) {
        begin_slice(w, e->cpu, e->time_ns, &sl, false);
        unpark(w, e->cpu, e->time_ns, e->arg);
    }
}

static void one(jw *w, const kdpc_event *e)
{
    if (e->cpu >= w->ncpu)
        return;
    w->last_ts = e->time_ns;
    irql_counter(w, e);
    slice sl = {0, e->object_id, e->routine, e->arg, e->arg2};
    char args[96];
    switch (e->kind) {
    case KDPC_EV_THREAD_START:
        if (e->routine != 0 &&
            !kdpc__ptrmap_put(&w->threads, (uintptr_t)e->arg + 2u, (void *)e->routine))
            w->oom = true;
        break;
    case KDPC_EV_THREAD_SWITCH:
        thread_switch(w, e);
        break;
    case KDPC_EV_THREAD_EXIT: {
        int at = find_open(&w->cpus[e->cpu], S_THREAD, true, e->arg);
        if (at >= 0)
            close_at(w, e->cpu, e->time_ns, at, NULL, NULL, false);
        (void)kdpc__ptrmap_del(&w->threads, (uintptr_t)e->arg + 2u);
        free(kdpc__ptrmap_del(&w->parked, (uintptr_t)e->arg + 2u));
        break;
    }
    case KDPC_EV_DPC_INSERT:
        remember(w, &w->dpcs, e->object_id, e->time_ns, e->cpu);
        break;
    case KDPC_EV_DPC_REMOVE:
        if (forget(&w->dpcs, e->object_id))
            w->dropped_flows++; /* removed before it ran: its insert has no arrow */
        break;
    case KDPC_EV_DPC_BEGIN:
        sl.kind = S_DPC;
        begin_slice(w, e->cpu, e->time_ns, &sl, false);
        flow_to(w, &w->dpcs, e->object_id, "dpc", e->cpu, e->time_ns);
        break;
    case KDPC_EV_DPC_END:
        snprintf(args, sizeof args, "\"ns\":%" PRIu64, e->arg);
        end_kind(w, e, S_DPC, args);
        break;
    case KDPC_EV_ISR_BEGIN:
        sl.kind = S_ISR;
        begin_slice(w, e->cpu, e->time_ns, &sl, false);
        flow_to(w, &w->lines, e->arg, "interrupt", e->cpu, e->time_ns);
        break;
    case KDPC_EV_ISR_END:
        snprintf(args, sizeof args, "\"returned\":%" PRIu64 ",\"ns\":%" PRIu64, e->arg, e->arg2);
        end_kind(w, e, S_ISR, args);
        break;
    case KDPC_EV_SYNC_BEGIN:
        sl.kind = S_SYNC;
        begin_slice(w, e->cpu, e->time_ns, &sl, false);
        break;
    case KDPC_EV_SYNC_END:
        snprintf(args, sizeof args, "\"returned\":%" PRIu64, e->arg);
        end_kind(w, e, S_SYNC, args);
        break;
    case KDPC_EV_WORK_BEGIN:
        sl.kind = S_WORK;
        begin_slice(w, e->cpu, e->time_ns, &sl, false);
        break;
    case KDPC_EV_WORK_END:
        snprintf(args, sizeof args, "\"ns\":%" PRIu64, e->arg);
        end_kind(w, e, S_WORK, args);
        break;
    case KDPC_EV_VIOLATION:
        violation(w, e);
        break;
    case KDPC_EV_DEVICE_EVENT: {
        dev_ev *d = &w->devring[e->seq % DEV_RING];
        d->seq = e->seq;
        d->ts = e->time_ns;
        d->dev = e->object_id;
        name_device(w, e->object_id);
        instant(w, e, DEVICE_TID + e->object_id, false);
        break;
    }
    case KDPC_EV_LINE_ASSERT:
        if (e->arg2 != 0) {
            const dev_ev *d = &w->devring[(e->arg2 - 1u) % DEV_RING];
            if (d->seq == e->arg2 - 1u && d->dev != 0)
                remember(w, &w->lines, e->arg, d->ts, (uint32_t)(DEVICE_TID + d->dev));
        }
        break;
    case KDPC_EV_IRP_START:
        remember(w, &w->irps, e->object_id, e->time_ns, e->cpu);
        instant(w, e, e->cpu, false);
        break;
    case KDPC_EV_IRP_COMPLETE:
        instant(w, e, e->cpu, false);
        flow_to(w, &w->irps, e->object_id, "irp", e->cpu, e->time_ns);
        break;
    case KDPC_EV_LOCK_SPIN:
    case KDPC_EV_TIMER_SET:
    case KDPC_EV_TIMER_CANCEL:
    case KDPC_EV_TIMER_EXPIRE:
        instant(w, e, e->cpu, true);
        break;
    case KDPC_EV_STALL:
    case KDPC_EV_WORK_QUEUE:
    case KDPC_EV_IRP_CALL:
    case KDPC_EV_IRP_QUEUE:
    case KDPC_EV_IRP_CANCEL:
    case KDPC_EV_DMA_GRANT:
    case KDPC_EV_DMA_MAP:
    case KDPC_EV_DMA_FLUSH:
    case KDPC_EV_DMA_FREE:
        instant(w, e, e->cpu, false);
        break;
    default:
        break; /* irql (the counter), locks, registers, ports, lines, cpu-switch */
    }
}

static void free_pending(kdpc__ptrmap *pm, uint64_t *count)
{
    for (size_t i = 0; i < pm->cap; i++) {
        if (pm->keys[i] > 1) {
            free(pm->vals[i]);
            if (count != NULL)
                (*count)++;
        }
    }
    kdpc__ptrmap_free(pm);
}

kdpc_status kdpc__chrome_write(kdpc__evsrc *s, FILE *f)
{
    kdpc_machine *m = kdpc__evsrc_machine(s);
    jw *w = calloc(1, sizeof *w);
    if (w == NULL)
        return KDPC_ENOMEM;
    w->s = s;
    w->m = m;
    w->f = f;
    w->first = true;
    w->ncpu = m->ncpu;
    w->buf = malloc(OUT_CAP);
    w->cpus = calloc(w->ncpu, sizeof *w->cpus);
    if (w->buf == NULL || w->cpus == NULL) {
        free(w->buf);
        free(w->cpus);
        free(w);
        return KDPC_ENOMEM;
    }
    for (unsigned i = 0; i < w->ncpu; i++)
        w->cpus[i].irql = -1;

    LIT(w, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
    char name[64];
    snprintf(name, sizeof name, "kdpc machine, seed %" PRIu64, m->cfg.seed);
    meta_name(w, "process_name", 0, name, 1);
    for (unsigned i = 0; i < w->ncpu; i++) {
        snprintf(name, sizeof name, "CPU %u", i);
        meta_name(w, "thread_name", i, name, i);
    }

    kdpc_event e;
    while (w->err == 0 && !w->oom && kdpc__evsrc_next(s, &e)) {
        w->events++;
        one(w, &e);
    }
    int rerr = kdpc__evsrc_error(s);

    /* Close what is still open (the run stopped in it) at the last event's time. */
    for (unsigned i = 0; i < w->ncpu; i++) {
        while (w->cpus[i].depth > 0)
            end_top(w, i, w->last_ts, "\"unfinished\":true");
    }
    uint64_t unmatched = w->dropped_flows;
    free_pending(&w->dpcs, &unmatched);
    free_pending(&w->irps, &unmatched);
    free_pending(&w->lines, &unmatched);

    bool complete = kdpc__evsrc_complete(s);
    LIT(w, "\n],\"metadata\":{\"generator\":\"kdpc\"");
    FU64(w, ",\"seed\":", m->cfg.seed);
    FU64(w, ",\"cpus\":", w->ncpu);
    FU64(w, ",\"events\":", w->events);
    FU64(w, ",\"total_events\":", kdpc_trace_total(m));
    if (complete)
        LIT(w, ",\"complete\":true");
    else
        LIT(w, ",\"complete\":false");
    if (!complete) {
        FU64(w, ",\"dropped_events\":", kdpc_trace_total(m) - w->events);
        LIT(w, ",\"note\":\"the ring kept only the newest events: slices whose begin was "
               "dropped are not shown\"");
    }
    FU64(w, ",\"skipped_ends\":", w->skipped_ends);
    FU64(w, ",\"hidden_slices\":", w->hidden);
    FU64(w, ",\"flows_without_end\":", unmatched);
    FU64(w, ",\"violations\":", kdpc_machine_violation_count(m));
    FU64(w, ",\"end_ns\":", w->last_ts);
    LIT(w, "}}\n");
    flush_out(w);

    kdpc_status st = KDPC_OK;
    if (w->oom) {
        st = KDPC_ENOMEM;
    } else if (rerr != 0) {
        errno = rerr;
        st = KDPC_EOUTPUT;
    } else if (w->err != 0) {
        errno = w->err;
        st = KDPC_EOUTPUT;
    }
    kdpc__ptrmap_free(&w->threads);
    free_pending(&w->parked, NULL);
    kdpc__ptrmap_free(&w->devices);
    for (size_t i = 0; i < w->names.cap; i++) {
        if (w->names.keys[i] > 1 && w->names.vals[i] != empty_name)
            free(w->names.vals[i]);
    }
    kdpc__ptrmap_free(&w->names);
    free(w->cpus);
    free(w->buf);
    free(w);
    return st;
}
