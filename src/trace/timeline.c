/* SPDX-License-Identifier: MIT */
/*
 * timeline.c - the ASCII timeline of the recorded trace (kdpc_trace_timeline):
 *
 *   kdpc timeline: 0us .. 40us, 40 columns of 1us, 2 CPUs
 *
 *            |0us      |10us     |20us     |30us
 *   CPU 0    ..AAAA..........BBBB............
 *   IRQL 0   ..2222..........CCCC............
 *   CPU 1    ........................
 *   IRQL 1   ........................
 *
 *   legend (most time first):
 *     A  dpc     4.000us  MyDpcRoutine
 *     ...
 *
 * A cell is the routine that ran longest in its slice of time on that CPU
 * (the innermost one: an ISR over a DPC over a thread), '.' when none did; the
 * IRQL cell the highest IRQL seen in it (hex digit, '.' for PASSIVE_LEVEL).
 * Letters go to routines by time in the window, most first (ties by name),
 * A-Z then a-z, '+' for the rest. State: per CPU a slice stack and
 * columns x (4 candidates, IRQL), the routines table; no event array.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/ptrmap.h"
#include "sim/sim.h"
#include "trace/export.h"

#define MAX_DEPTH   64u
#define CANDIDATES  4u
#define MAX_COLUMNS 65536u
#define AUTO_MAX    4096u
#define LABEL_W     9u

__extension__ typedef unsigned __int128 u128;

enum tl_kind { K_THREAD, K_WORK, K_DPC, K_SYNC, K_ISR };
static const char *const kind_name[] = {"thread", "work", "dpc", "sync", "isr"};

typedef struct routine {
    uintptr_t key;
    char *name;
    uint64_t ns;
    uint32_t order;
    uint8_t kind;
    char letter;
} routine;

typedef struct cand {
    uint32_t r; /* routine index + 1, 0 empty */
    uint32_t ns;
} cand;

typedef struct frame {
    uint8_t kind;
    uint32_t r; /* routine index */
    uint64_t id;
} frame;

typedef struct tl_cpu {
    frame st[MAX_DEPTH];
    unsigned depth;
    uint8_t irql;
    uint64_t t; /* time accounted up to */
} tl_cpu;

typedef struct tl {
    kdpc__evsrc *s;
    unsigned ncpu, cols;
    uint64_t from, to;
    tl_cpu *cpus;
    cand *cells;   /* ncpu * cols * CANDIDATES */
    uint8_t *irql; /* ncpu * cols: highest IRQL + 1, 0 nothing seen */
    routine *rt;
    size_t nrt, caprt;
    kdpc__ptrmap rmap;    /* key -> index + 1 */
    kdpc__ptrmap threads; /* thread id + 2 -> start routine */
    kdpc__ptrmap parked;  /* thread id + 2 -> parked: its work items while it is off-CPU */
    bool oom;
} tl;

/* Column of virtual time @t (from <= t < to). */
static unsigned col_of(const tl *T, uint64_t t)
{
    u128 x = (u128)(t - T->from) * T->cols;
    return (unsigned)(x / (T->to - T->from));
}

/* Start of column @c. */
static uint64_t col_start(const tl *T, unsigned c)
{
    u128 x = (u128)(T->to - T->from) * c;
    return T->from + (uint64_t)(x / T->cols);
}

static uint32_t routine_index(tl *T, uint8_t kind, uintptr_t key, const char *name)
{
    void *v = kdpc__ptrmap_get(&T->rmap, key);
    if (v != NULL)
        return (uint32_t)((uintptr_t)v - 1u);
    if (T->nrt == T->caprt) {
        size_t cap = T->caprt ? T->caprt * 2 : 32;
        routine *n = realloc(T->rt, cap * sizeof *n);
        if (n == NULL) {
            T->oom = true;
            return 0;
        }
        T->rt = n;
        T->caprt = cap;
    }
    routine *r = &T->rt[T->nrt];
    memset(r, 0, sizeof *r);
    size_t len = strlen(name) + 1;
    r->name = malloc(len);
    if (r->name == NULL || !kdpc__ptrmap_put(&T->rmap, key, (void *)(uintptr_t)(T->nrt + 1))) {
        free(r->name);
        T->oom = true;
        return 0;
    }
    memcpy(r->name, name, len);
    r->key = key;
    r->kind = kind;
    r->order = (uint32_t)T->nrt;
    return (uint32_t)T->nrt++;
}

/* Routine of a slice: its address; a thread without a known start routine is keyed by its id
 * (addresses are even, so odd keys 2 * id + 3 cannot clash with them... nor with 0/1). */
static uint32_t frame_routine(tl *T, uint8_t kind, uintptr_t addr, uint64_t thread_id)
{
    if (addr != 0)
        return routine_index(T, kind, addr, kdpc__evsrc_routine_name(T->s, addr));
    char name[40];
    snprintf(name, sizeof name, "thread %" PRIu64, thread_id);
    return routine_index(T, kind, (uintptr_t)(2u * thread_id + 3u), name);
}

static void credit(tl *T, unsigned cpu, unsigned c, uint32_t r, uint64_t ns)
{
    cand *cs = &T->cells[((size_t)cpu * T->cols + c) * CANDIDATES];
    uint32_t add = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
    unsigned empty = CANDIDATES, small = 0;
    for (unsigned i = 0; i < CANDIDATES; i++) {
        if (cs[i].r == r + 1u) {
            cs[i].ns = cs[i].ns + add < cs[i].ns ? UINT32_MAX : cs[i].ns + add;
            return;
        }
        if (cs[i].r == 0 && empty == CANDIDATES)
            empty = i;
        if (cs[i].ns < cs[small].ns)
            small = i;
    }
    unsigned at = empty < CANDIDATES ? empty : small;
    if (empty == CANDIDATES && cs[small].ns >= add)
        return;
    cs[at].r = r + 1u;
    cs[at].ns = add;
}

static void mark_irql(tl *T, unsigned cpu, unsigned c, uint8_t irql)
{
    uint8_t *p = &T->irql[(size_t)cpu * T->cols + c];
    if (*p < (uint8_t)(irql + 1u))
        *p = (uint8_t)(irql + 1u);
}

/* Account CPU @cpu's state from its last time up to @t (clipped to the window). */
static void advance(tl *T, unsigned cpu, uint64_t t)
{
    tl_cpu *C = &T->cpus[cpu];
    uint64_t a = C->t > T->from ? C->t : T->from;
    uint64_t b = t < T->to ? t : T->to;
    if (t > C->t)
        C->t = t;
    if (a >= b)
        return;
    bool running = C->depth > 0;
    uint32_t r = running ? C->st[(C->depth < MAX_DEPTH ? C->depth : MAX_DEPTH) - 1].r : 0;
    if (running)
        T->rt[r].ns += b - a;
    for (unsigned c = col_of(T, a); c < T->cols; c++) {
        uint64_t cs = col_start(T, c), ce = c + 1 < T->cols ? col_start(T, c + 1) : T->to;
        if (cs >= b)
            break;
        uint64_t lo = a > cs ? a : cs, hi = b < ce ? b : ce;
        if (hi <= lo)
            continue;
        mark_irql(T, cpu, c, C->irql);
        if (running)
            credit(T, cpu, c, r, hi - lo);
    }
}

static void push(tl *T, unsigned cpu, uint8_t kind, uint32_t r, uint64_t id)
{
    tl_cpu *C = &T->cpus[cpu];
    if (C->depth < MAX_DEPTH)
        C->st[C->depth] = (frame){kind, r, id};
    C->depth++;
}

/* Pop the innermost frame of @kind (and those above it); nothing when there is none. */
static void pop(tl *T, unsigned cpu, uint8_t kind, bool match_id, uint64_t id)
{
    tl_cpu *C = &T->cpus[cpu];
    unsigned top = C->depth < MAX_DEPTH ? C->depth : MAX_DEPTH;
    if (C->depth > MAX_DEPTH) {
        C->depth--;
        return;
    }
    for (unsigned i = top; i-- > 0;) {
        if (C->st[i].kind == kind && (!match_id || C->st[i].id == id)) {
            C->depth = i;
            return;
        }
    }
}

/* The work item frames of a thread that left its CPU (its routine blocked): they go back on
 * top of the thread where it is switched in next, so the time of whatever runs meanwhile is
 * not theirs. */
#define MAX_PARKED 8u
typedef struct parked {
    unsigned n;
    frame f[MAX_PARKED];
} parked;

/* Take the work frames off @cpu's stack for the thread whose frame is at @at. */
static void park_work(tl *T, unsigned cpu, unsigned at)
{
    tl_cpu *C = &T->cpus[cpu];
    if (C->depth > MAX_DEPTH)
        return;
    parked *p = NULL;
    unsigned kept = 0;
    for (unsigned i = 0; i < C->depth; i++) {
        if (i <= at || C->st[i].kind != K_WORK) {
            C->st[kept++] = C->st[i];
            continue;
        }
        if (p == NULL) {
            uintptr_t key = (uintptr_t)C->st[at].id + 2u;
            p = kdpc__ptrmap_get(&T->parked, key);
            if (p == NULL) {
                p = calloc(1, sizeof *p);
                if (p == NULL || !kdpc__ptrmap_put(&T->parked, key, p)) {
                    free(p);
                    T->oom = true;
                    return;
                }
            }
        }
        if (p->n < MAX_PARKED)
            p->f[p->n++] = C->st[i];
    }
    C->depth = kept;
}

static void push(tl *T, unsigned cpu, uint8_t kind, uint32_t r, uint64_t id);

/* Thread @id was switched in on @cpu: its parked work frames go back on top. */
static void unpark_work(tl *T, unsigned cpu, uint64_t id)
{
    parked *p = kdpc__ptrmap_del(&T->parked, (uintptr_t)id + 2u);
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->n; i++)
        push(T, cpu, p->f[i].kind, p->f[i].r, p->f[i].id);
    free(p);
}

/* Index of the thread frame on @C's stack, or -1. */
static int thread_frame(const tl_cpu *C)
{
    unsigned top = C->depth < MAX_DEPTH ? C->depth : MAX_DEPTH;
    for (unsigned i = top; i-- > 0;) {
        if (C->st[i].kind == K_THREAD)
            return (int)i;
    }
    return -1;
}

static void on_event(tl *T, const kdpc_event *e)
{
    if (e->cpu >= T->ncpu)
        return;
    advance(T, e->cpu, e->time_ns);
    tl_cpu *C = &T->cpus[e->cpu];
    switch (e->kind) {
    case KDPC_EV_THREAD_START:
        if (e->routine != 0 &&
            !kdpc__ptrmap_put(&T->threads, (uintptr_t)e->arg + 2u, (void *)e->routine))
            T->oom = true;
        break;
    case KDPC_EV_THREAD_SWITCH: {
        int at = thread_frame(C);
        if (at >= 0)
            park_work(T, e->cpu, (unsigned)at); /* the leaving thread takes its work items */
        if (kdpc__trace_idle_thread(kdpc__evsrc_machine(T->s), e->arg)) {
            pop(T, e->cpu, K_THREAD, false, 0); /* the CPU went idle */
            break;
        }
        uintptr_t r = (uintptr_t)kdpc__ptrmap_get(&T->threads, (uintptr_t)e->arg + 2u);
        frame f = {K_THREAD, frame_routine(T, K_THREAD, r, e->arg), e->arg};
        bool found = at >= 0;
        if (found)
            C->st[at] = f;
        if (!found) {
            if (C->depth < MAX_DEPTH) {
                memmove(&C->st[1], &C->st[0],
                        (C->depth < MAX_DEPTH - 1 ? C->depth : MAX_DEPTH - 1) * sizeof C->st[0]);
                C->st[0] = f;
            }
            C->depth++;
        }
        if (C->depth <= MAX_DEPTH && (C->depth == 0 || C->st[C->depth - 1].kind == K_THREAD))
            unpark_work(T, e->cpu, e->arg);
        break;
    }
    case KDPC_EV_THREAD_EXIT:
        pop(T, e->cpu, K_THREAD, true, e->arg);
        (void)kdpc__ptrmap_del(&T->threads, (uintptr_t)e->arg + 2u);
        free(kdpc__ptrmap_del(&T->parked, (uintptr_t)e->arg + 2u));
        break;
    case KDPC_EV_DPC_BEGIN:
        push(T, e->cpu, K_DPC, frame_routine(T, K_DPC, e->routine, 0), e->object_id);
        break;
    case KDPC_EV_ISR_BEGIN:
        push(T, e->cpu, K_ISR, frame_routine(T, K_ISR, e->routine, 0), e->object_id);
        break;
    case KDPC_EV_SYNC_BEGIN:
        push(T, e->cpu, K_SYNC, frame_routine(T, K_SYNC, e->routine, 0), e->object_id);
        break;
    case KDPC_EV_WORK_BEGIN:
        push(T, e->cpu, K_WORK, frame_routine(T, K_WORK, e->routine, 0), e->object_id);
        break;
    case KDPC_EV_DPC_END:
        pop(T, e->cpu, K_DPC, false, 0);
        break;
    case KDPC_EV_ISR_END:
        pop(T, e->cpu, K_ISR, false, 0);
        break;
    case KDPC_EV_SYNC_END:
        pop(T, e->cpu, K_SYNC, false, 0);
        break;
    case KDPC_EV_WORK_END:
        pop(T, e->cpu, K_WORK, false, 0);
        break;
    default:
        break;
    }
    C->irql = e->irql;
    if (e->time_ns >= T->from && e->time_ns < T->to)
        mark_irql(T, e->cpu, col_of(T, e->time_ns), e->irql);
}

static int by_time(const void *a, const void *b)
{
    const routine *x = a, *y = b;
    if (x->ns != y->ns)
        return x->ns > y->ns ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* A time as microseconds, shortest exact form: "0us", "12us", "12.5us", "0.125us". */
static void fmt_us(char *buf, size_t n, uint64_t ns)
{
    unsigned frac = (unsigned)(ns % 1000u);
    if (frac == 0)
        snprintf(buf, n, "%" PRIu64 "us", ns / 1000u);
    else if (frac % 100u == 0)
        snprintf(buf, n, "%" PRIu64 ".%uus", ns / 1000u, frac / 100u);
    else if (frac % 10u == 0)
        snprintf(buf, n, "%" PRIu64 ".%02uus", ns / 1000u, frac / 10u);
    else
        snprintf(buf, n, "%" PRIu64 ".%03uus", ns / 1000u, frac);
}

static char cell_letter(const tl *T, const uint32_t *letter_of, unsigned cpu, unsigned c)
{
    const cand *cs = &T->cells[((size_t)cpu * T->cols + c) * CANDIDATES];
    unsigned best = CANDIDATES;
    for (unsigned i = 0; i < CANDIDATES; i++) {
        if (cs[i].r == 0)
            continue;
        if (best == CANDIDATES || cs[i].ns > cs[best].ns ||
            (cs[i].ns == cs[best].ns && letter_of[cs[i].r - 1] < letter_of[cs[best].r - 1]))
            best = i;
    }
    if (best == CANDIDATES)
        return '.';
    uint32_t rank = letter_of[cs[best].r - 1];
    if (rank < 26)
        return (char)('A' + rank);
    if (rank < 52)
        return (char)('a' + rank - 26);
    return '+';
}

static void print(tl *T, FILE *out, unsigned width)
{
    char a[40], b[40], c[40];
    fmt_us(a, sizeof a, T->from);
    fmt_us(b, sizeof b, T->to);
    fmt_us(c, sizeof c, (T->to - T->from) / T->cols);
    fprintf(out, "kdpc timeline: %s .. %s, %u columns of %s%s, %u CPU%s\n", a, b, T->cols, c,
            (T->to - T->from) % T->cols != 0 ? " (about)" : "", T->ncpu, T->ncpu == 1 ? "" : "s");

    /* Letters by time, most first. */
    uint32_t *letter_of = calloc(T->nrt ? T->nrt : 1, sizeof *letter_of);
    routine *sorted = malloc((T->nrt ? T->nrt : 1) * sizeof *sorted);
    if (letter_of == NULL || sorted == NULL) {
        free(letter_of);
        free(sorted);
        T->oom = true;
        return;
    }
    memcpy(sorted, T->rt, T->nrt * sizeof *sorted);
    qsort(sorted, T->nrt, sizeof *sorted, by_time);
    for (size_t i = 0; i < T->nrt; i++)
        letter_of[sorted[i].order] = (uint32_t)i;

    unsigned per = width - LABEL_W;
    char *line = malloc(width + 2);
    if (line == NULL) {
        free(letter_of);
        free(sorted);
        T->oom = true;
        return;
    }
    for (unsigned start = 0; start < T->cols; start += per) {
        unsigned end = start + per < T->cols ? start + per : T->cols;
        /* Axis: a tick every 10 columns, with its time when it fits before the next one. */
        memset(line, ' ', width);
        unsigned len = LABEL_W;
        for (unsigned col = start; col < end; col++) {
            if (col % 10u != 0)
                continue;
            unsigned at = LABEL_W + col - start;
            char t[40];
            fmt_us(t, sizeof t, col_start(T, col));
            size_t tlen = strlen(t);
            line[at] = '|';
            unsigned room = col + 10u < end ? 10u : end - col;
            if (1u + tlen <= room) {
                memcpy(line + at + 1, t, tlen);
                if (at + 1 + tlen > len)
                    len = (unsigned)(at + 1 + tlen);
            }
            if (at + 1 > len)
                len = at + 1;
        }
        line[len] = '\0';
        fprintf(out, "\n%s\n", line);
        for (unsigned cpu = 0; cpu < T->ncpu; cpu++) {
            fprintf(out, "CPU %-*u", (int)LABEL_W - 4, cpu);
            for (unsigned col = start; col < end; col++)
                line[col - start] = cell_letter(T, letter_of, cpu, col);
            line[end - start] = '\0';
            fprintf(out, "%s\n", line);
            fprintf(out, "%-*s", (int)LABEL_W, "  irql"); /* the IRQL of the CPU above */
            for (unsigned col = start; col < end; col++) {
                uint8_t q = T->irql[(size_t)cpu * T->cols + col];
                line[col - start] =
                    q <= 1 ? '.' : (q - 1u < 16u ? "0123456789ABCDEF"[q - 1u] : '#');
            }
            fprintf(out, "%s\n", line);
        }
    }
    free(line);
    fprintf(out, "\nlegend (most time first):\n");
    size_t shown = 0;
    for (size_t i = 0; i < T->nrt; i++) {
        if (sorted[i].ns == 0)
            continue;
        char t[40];
        fmt_us(t, sizeof t, sorted[i].ns);
        char l = i < 26 ? (char)('A' + i) : i < 52 ? (char)('a' + i - 26) : '+';
        fprintf(out, "  %c  %-6s %12s  %s\n", l, kind_name[sorted[i].kind], t, sorted[i].name);
        shown++;
    }
    if (shown == 0)
        fprintf(out, "  (nothing ran in this window)\n");
    free(letter_of);
    free(sorted);
}

/* The last event's time; false when there is none. */
static kdpc_status last_time(kdpc_machine *m, uint64_t *t, bool *any)
{
    kdpc__evsrc *s = NULL;
    kdpc_status st = kdpc__evsrc_open(m, &s);
    if (st != KDPC_OK)
        return st;
    kdpc_event e;
    *any = false;
    while (kdpc__evsrc_next(s, &e)) {
        *t = e.time_ns;
        *any = true;
    }
    int err = kdpc__evsrc_error(s);
    kdpc__evsrc_close(s);
    if (err != 0) {
        errno = err;
        return KDPC_EOUTPUT;
    }
    return KDPC_OK;
}

kdpc_status kdpc__timeline_write(kdpc__evsrc *s, FILE *out, unsigned width, uint64_t from_ns,
                                 uint64_t to_ns, unsigned columns)
{
    kdpc_machine *m = kdpc__evsrc_machine(s);
    if (to_ns == 0) {
        bool any = false;
        uint64_t last = 0;
        kdpc_status st = last_time(m, &last, &any);
        if (st != KDPC_OK)
            return st;
        to_ns = last + 1u; /* the window includes the last event */
        if (!any || from_ns >= to_ns)
            return KDPC_EINVAL;
    }
    if (width == 0) {
        const char *cols = getenv("COLUMNS");
        long w = cols != NULL ? strtol(cols, NULL, 10) : 0;
        width = w > 0 && w < 100000 ? (unsigned)w : 80u;
    }
    if (width < 40)
        width = 40;
    if (columns == 0) {
        uint64_t us = (to_ns - from_ns + 999u) / 1000u;
        columns = us > AUTO_MAX ? AUTO_MAX : (unsigned)us;
    }
    if (columns > MAX_COLUMNS)
        columns = MAX_COLUMNS;
    if ((uint64_t)columns > to_ns - from_ns)
        columns = (unsigned)(to_ns - from_ns);
    if (width - LABEL_W > columns && columns + LABEL_W > 40u)
        width = columns + LABEL_W; /* wider than all the columns: one block (and a line buffer
                                      of that size, never of a width up to UINT_MAX) */
    else if (width - LABEL_W > columns)
        width = 40u;

    tl T;
    memset(&T, 0, sizeof T);
    T.s = s;
    T.ncpu = m->ncpu;
    T.cols = columns;
    T.from = from_ns;
    T.to = to_ns;
    T.cpus = calloc(T.ncpu, sizeof *T.cpus);
    T.cells = calloc((size_t)T.ncpu * T.cols * CANDIDATES, sizeof *T.cells);
    T.irql = calloc((size_t)T.ncpu * T.cols, 1);
    kdpc_status st = KDPC_OK;
    if (T.cpus == NULL || T.cells == NULL || T.irql == NULL) {
        st = KDPC_ENOMEM;
        goto done;
    }
    kdpc_event e;
    bool started = false;
    while (!T.oom && kdpc__evsrc_next(s, &e)) {
        if (!started) {
            for (unsigned i = 0; i < T.ncpu; i++)
                T.cpus[i].t = e.time_ns;
            started = true;
        }
        if (e.time_ns >= to_ns)
            break;
        on_event(&T, &e);
    }
    if (kdpc__evsrc_error(s) != 0) {
        errno = kdpc__evsrc_error(s);
        st = KDPC_EOUTPUT;
        goto done;
    }
    for (unsigned i = 0; i < T.ncpu && started; i++)
        advance(&T, i, to_ns);
    if (T.oom) {
        st = KDPC_ENOMEM;
        goto done;
    }
    print(&T, out, width);
    if (T.oom)
        st = KDPC_ENOMEM;
    else if (fflush(out) != 0 || ferror(out))
        st = KDPC_EOUTPUT;
done:
    for (size_t i = 0; i < T.nrt; i++)
        free(T.rt[i].name);
    free(T.rt);
    kdpc__ptrmap_free(&T.rmap);
    kdpc__ptrmap_free(&T.threads);
    for (size_t i = 0; i < T.parked.cap; i++) {
        if (T.parked.keys[i] > 1)
            free(T.parked.vals[i]);
    }
    kdpc__ptrmap_free(&T.parked);
    free(T.cells);
    free(T.irql);
    free(T.cpus);
    return st;
}
