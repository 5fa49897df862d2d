/* SPDX-License-Identifier: MIT */
/*
 * evsrc.c - the reader the exports use: over the ring (newest events only)
 * or over the spool (every event; spool.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/evsrc.h"
#include "trace/trace.h"
#include "verifier/verifier.h"

struct kdpc__evsrc {
    kdpc_machine *m;
    size_t next, count; /* ring */
    int error;
    kdpc__ptrmap routines; /* routine address -> malloc'd name */
    char name[224];
};

kdpc_status kdpc__evsrc_open(kdpc_machine *m, kdpc__evsrc **out)
{
    *out = NULL;
    if (m == NULL || m->trace == NULL || m->cfg.trace_capacity == 0)
        return KDPC_EINVAL;
    kdpc__evsrc *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return KDPC_ENOMEM;
    s->m = m;
    s->count = kdpc_trace_count(m);
    *out = s;
    return KDPC_OK;
}

bool kdpc__evsrc_next(kdpc__evsrc *s, kdpc_event *e)
{
    if (s->next >= s->count)
        return false;
    *e = *kdpc_trace_event(s->m, s->next++);
    return true;
}

int kdpc__evsrc_error(const kdpc__evsrc *s)
{
    return s->error;
}

bool kdpc__evsrc_complete(const kdpc__evsrc *s)
{
    return kdpc_trace_total(s->m) == (uint64_t)s->count;
}

uint64_t kdpc__evsrc_count(const kdpc__evsrc *s)
{
    return s->count;
}

const char *kdpc__evsrc_object_name(kdpc__evsrc *s, uint64_t id)
{
    /* The ring keeps addresses: the name of what lives there now, if it is still that object. */
    const kdpc__tracebuf *tr = s->m->trace;
    if (id == 0)
        return NULL;
    for (size_t i = s->count; i-- > 0;) {
        const kdpc_event *e = kdpc_trace_event(s->m, i);
        if (e->object_id != id || e->object == 0 ||
            (e->kind >= KDPC_EV_REG_READ && e->kind <= KDPC_EV_PORT_WRITE))
            continue;
        if ((uint64_t)(uintptr_t)kdpc__ptrmap_get(&tr->ids, e->object) != id)
            return NULL;
        return kdpc__object_label(s->m, (const void *)e->object, s->name, sizeof(s->name));
    }
    return NULL;
}

const char *kdpc__evsrc_routine_name(kdpc__evsrc *s, uintptr_t routine)
{
    if (routine == 0)
        return "";
    const char *name = kdpc__ptrmap_get(&s->routines, routine);
    if (name != NULL)
        return name;
    kdpc_routine_ptr r;
    memcpy(&r, &routine, sizeof(r));
    const char *n = kdpc__routine_name(s->m, r);
    char *copy = malloc(strlen(n) + 1);
    if (copy == NULL)
        return n;
    strcpy(copy, n);
    if (!kdpc__ptrmap_put(&s->routines, routine, copy)) {
        free(copy);
        return n;
    }
    return copy;
}

kdpc_machine *kdpc__evsrc_machine(const kdpc__evsrc *s)
{
    return s->m;
}

void kdpc__evsrc_close(kdpc__evsrc *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->routines.cap; i++) {
        if (s->routines.keys[i] > 1)
            free(s->routines.vals[i]);
    }
    kdpc__ptrmap_free(&s->routines);
    free(s);
}
