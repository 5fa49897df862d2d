/* SPDX-License-Identifier: MIT */
/*
 * stats_api.c - kdpc/stats.h: the per-routine table of src/trace/stats.c,
 * with names from the verifier's routine names.
 */
#include <stdio.h>
#include <string.h>

#include <kdpc/stats.h>
#include "trace/stats.h"
#include "verifier/verifier.h"

size_t kdpc_stats_routine_count(const kdpc_machine *m)
{
    if (m == NULL || m->stats == NULL)
        return 0;
    return kdpc__stats_of(m)->n;
}

kdpc_status kdpc_stats_routine(kdpc_machine *m, size_t i, kdpc_routine_stats *out)
{
    if (m == NULL || out == NULL)
        return KDPC_EINVAL;
    memset(out, 0, sizeof *out);
    kdpc__stats *s = kdpc__stats_of(m);
    if (s == NULL || i >= s->n)
        return KDPC_ENOENT;
    const kdpc__stat *e = &s->v[i];
    snprintf(s->name, sizeof s->name, "%s", kdpc__routine_name(m, e->routine));
    out->name = s->name;
    out->routine = kdpc__fnaddr(e->routine);
    out->kind = e->kind;
    out->calls = e->calls;
    out->total_ns = e->total_ns;
    out->longest_ns = e->longest_ns;
    out->longest_end_ns = e->longest_end_ns;
    out->longest_cpu = e->longest_cpu;
    return KDPC_OK;
}
