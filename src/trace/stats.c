/* SPDX-License-Identifier: MIT */
/*
 * stats.c - per-routine ISR and DPC times: a table in order of first return,
 * found by routine address through a hash map.
 */
#include "trace/stats.h"

#include <stdlib.h>
#include <string.h>

int kdpc__stats_init(kdpc_machine *m)
{
    kdpc__stats *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    m->stats = s;
    return 0;
}

void kdpc__stats_free(kdpc_machine *m)
{
    kdpc__stats *s = m->stats;
    if (s == NULL)
        return;
    kdpc__ptrmap_free(&s->index);
    free(s->v);
    free(s);
    m->stats = NULL;
}

/* The entry of (@key's routine, kind), made on first sight; NULL when out of host memory (that
 * call is then not counted). */
static kdpc__stat *entry(kdpc__stats *s, uintptr_t key)
{
    uintptr_t at = (uintptr_t)kdpc__ptrmap_get(&s->index, key);
    if (at != 0)
        return &s->v[at - 1];
    if (s->n == s->cap) {
        size_t cap = s->cap != 0 ? s->cap * 2 : 32;
        kdpc__stat *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    if (!kdpc__ptrmap_put(&s->index, key, (void *)(s->n + 1)))
        return NULL;
    kdpc__stat *e = &s->v[s->n++];
    memset(e, 0, sizeof *e);
    return e;
}

void kdpc__stats_routine(kdpc_machine *m, kdpc_routine_kind kind, kdpc_routine_ptr routine,
                         uint64_t ran, unsigned cpu)
{
    kdpc__stats *s = m->stats;
    uintptr_t addr = kdpc__fnaddr(routine);
    /* User-space code lives below 2^63: doubling keeps the address whole and frees the low bit
     * for the kind; no routine is at 0, so the key is never the map's reserved 0 or 1. */
    kdpc__stat *e = entry(s, (addr << 1) | (uintptr_t)kind);
    if (e == NULL)
        return;
    if (e->calls == 0) {
        e->routine = routine;
        e->kind = kind;
    }
    e->calls++;
    e->total_ns += ran;
    if (ran > e->longest_ns || e->calls == 1) {
        e->longest_ns = ran;
        e->longest_end_ns = m->now_ns;
        e->longest_cpu = cpu;
    }
}
