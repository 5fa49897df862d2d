/* SPDX-License-Identifier: MIT */
/*
 * trace_api.c - kdpc/trace.h's exports: kdpc_trace_export_json (chrome.c)
 * and kdpc_trace_timeline (timeline.c), over the event source of
 * src/trace/evsrc.h, between runs only.
 */
#include <errno.h>
#include <stdio.h>

#include <kdpc/trace.h>
#include "api/api.h"
#include "sim/sim.h"
#include "trace/evsrc.h"
#include "trace/export.h"

kdpc_status kdpc_trace_export_json(kdpc_machine *m, const char *path)
{
    if (m == NULL || path == NULL || path[0] == '\0')
        return KDPC_EINVAL;
    kdpc_status st = kdpc__api_begin(m, true);
    if (st != KDPC_OK)
        return st;
    kdpc__evsrc *s = NULL;
    st = kdpc__evsrc_open(m, &s);
    if (st == KDPC_OK) {
        kdpc__outfile o;
        st = kdpc__outfile_open(&o, path);
        if (st == KDPC_OK) {
            kdpc_status wst = kdpc__chrome_write(s, o.f);
            st = kdpc__outfile_close(&o, wst == KDPC_OK);
            if (wst != KDPC_OK && wst != KDPC_EOUTPUT)
                st = wst; /* ENOMEM; the file is removed all the same */
        }
        int e = errno;
        kdpc__evsrc_close(s);
        errno = e;
    }
    kdpc__api_end(m);
    return st;
}

kdpc_status kdpc_trace_timeline(kdpc_machine *m, FILE *out, unsigned width, uint64_t from_ns,
                                uint64_t to_ns, unsigned columns)
{
    if (m == NULL || out == NULL || (to_ns != 0 && from_ns >= to_ns))
        return KDPC_EINVAL;
    kdpc_status st = kdpc__api_begin(m, true);
    if (st != KDPC_OK)
        return st;
    kdpc__evsrc *s = NULL;
    st = kdpc__evsrc_open(m, &s);
    if (st == KDPC_OK) {
        st = kdpc__timeline_write(s, out, width, from_ns, to_ns, columns);
        int e = errno;
        kdpc__evsrc_close(s);
        errno = e;
    }
    kdpc__api_end(m);
    return st;
}
