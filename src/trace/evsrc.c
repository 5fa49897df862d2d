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
    size_t next, count; /* ring: next index, events kept; spool: count is the total */
    int error;
    bool spooled;
    kdpc__spool_reader rd; /* spooled */
    kdpc__ptrmap names;    /* spooled: object number + 1 -> malloc'd name */
    bool names_failed;     /* out of memory while loading them: some are missing */
    kdpc__ptrmap routines; /* routine address -> malloc'd name */
};

static void free_values(kdpc__ptrmap *pm)
{
    for (size_t i = 0; i < pm->cap; i++) {
        if (pm->keys[i] > 1)
            free(pm->vals[i]);
    }
    kdpc__ptrmap_free(pm);
}

static void add_name(void *ctx, uint64_t id, const char *name)
{
    kdpc__evsrc *s = ctx;
    size_t len = strlen(name);
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        s->names_failed = true;
        return;
    }
    memcpy(copy, name, len + 1);
    uintptr_t key = (uintptr_t)id + 1u;
    char *old = kdpc__ptrmap_get(&s->names, key);
    if (!kdpc__ptrmap_put(&s->names, key, copy)) {
        free(copy);
        s->names_failed = true;
        return;
    }
    free(old);
}

kdpc_status kdpc__evsrc_open(kdpc_machine *m, kdpc__evsrc **out)
{
    *out = NULL;
    if (m == NULL || m->trace == NULL)
        return KDPC_EINVAL;
    kdpc__tracebuf *tr = m->trace;
    if (tr->spool == NULL && tr->cap == 0)
        return KDPC_EINVAL;
    kdpc__evsrc *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return KDPC_ENOMEM;
    s->m = m;
    if (tr->spool == NULL) {
        s->count = kdpc_trace_count(m);
        *out = s;
        return KDPC_OK;
    }
    s->spooled = true;
    s->count = (size_t)tr->total;
    int err = kdpc__spool_reader_open(tr->spool, &s->rd);
    if (err == 0)
        err = kdpc__spool_names(tr->spool, add_name, s);
    if (err != 0) {
        kdpc__evsrc_close(s);
        errno = err;
        return err == ENOMEM ? KDPC_ENOMEM : KDPC_EOUTPUT;
    }
    *out = s;
    return KDPC_OK;
}

bool kdpc__evsrc_next(kdpc__evsrc *s, kdpc_event *e)
{
    if (s->next >= s->count || s->error != 0)
        return false;
    if (s->spooled) {
        if (!kdpc__spool_reader_next(&s->rd, e)) {
            /* fewer records than events: the spool is cut */
            s->error = s->rd.error != 0 ? s->rd.error : EIO;
            return false;
        }
        s->next++;
        return true;
    }
    *e = *kdpc_trace_event(s->m, s->next++);
    return true;
}

int kdpc__evsrc_error(const kdpc__evsrc *s)
{
    return s->error;
}

bool kdpc__evsrc_complete(const kdpc__evsrc *s)
{
    return s->spooled || kdpc_trace_total(s->m) == (uint64_t)s->count;
}

uint64_t kdpc__evsrc_count(const kdpc__evsrc *s)
{
    return s->count;
}

const char *kdpc__evsrc_object_name(kdpc__evsrc *s, uint64_t id)
{
    /* Names recorded when the object got its number or was named (trace.c): from the spool's
     * name records, else kept in memory for the ring. */
    if (id == 0)
        return NULL;
    if (s->spooled)
        return kdpc__ptrmap_get(&s->names, (uintptr_t)id + 1u);
    return kdpc__trace_name_of(s->m, id);
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
    free_values(&s->routines);
    free_values(&s->names);
    if (s->spooled)
        kdpc__spool_reader_close(&s->rd);
    free(s);
}
