/* SPDX-License-Identifier: MIT */
/*
 * stats.h - per-routine ISR and DPC times (kdpc/stats.h). Calls nobody; the
 * WDM layer reports each call that returned.
 */
#ifndef KDPC_TRACE_STATS_H
#define KDPC_TRACE_STATS_H

#include <kdpc/stats.h>
#include "base/ptrmap.h"
#include "sim/sim.h"

typedef struct kdpc__stat {
    kdpc_routine_ptr routine;
    kdpc_routine_kind kind;
    uint64_t calls, total_ns, longest_ns, longest_end_ns;
    unsigned longest_cpu;
} kdpc__stat;

typedef struct kdpc__stats {
    kdpc__stat *v; /* in order of first return */
    size_t n, cap;
    kdpc__ptrmap index; /* routine address * 2 + kind -> 1-based index into v */
    char name[128];     /* the name kdpc_stats_routine handed out last */
} kdpc__stats;

int kdpc__stats_init(kdpc_machine *m);
void kdpc__stats_free(kdpc_machine *m);
/* One call of @routine (an ISR or DPC routine) returned on CPU @cpu after @ran ns. */
void kdpc__stats_routine(kdpc_machine *m, kdpc_routine_kind kind, kdpc_routine_ptr routine,
                         uint64_t ran, unsigned cpu);

static inline kdpc__stats *kdpc__stats_of(const kdpc_machine *m)
{
    return (kdpc__stats *)m->stats;
}

#endif /* KDPC_TRACE_STATS_H */
