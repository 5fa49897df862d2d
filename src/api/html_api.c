/* SPDX-License-Identifier: MIT */
/*
 * html_api.c - kdpc_report_html (kdpc/report.h): the report of
 * src/trace/report.c and the trace's slices as one HTML page
 * (src/trace/html.c).
 */
#include <errno.h>
#include <string.h>

#include <kdpc/report.h>
#include "trace/html.h"
#include "trace/report.h"

/* As report_api.c: the machine is read (KDPC_OK) or a run is in progress (KDPC_EBUSY: from
 * simulated code, or a native call drives the machine on another host thread). */
static kdpc_status read_begin(kdpc_machine *m)
{
    if (kdpc__self() != NULL)
        return KDPC_EBUSY;
    kdpc__mutex_lock(&m->mu);
    kdpc_status st = KDPC_OK;
    if (m->api_runs > 0 || m->destroying)
        st = KDPC_EBUSY;
    else
        m->api_runs++;
    kdpc__mutex_unlock(&m->mu);
    return st;
}

static void read_end(kdpc_machine *m)
{
    kdpc__mutex_lock(&m->mu);
    m->api_runs--;
    kdpc__cond_broadcast(&m->run_cv);
    kdpc__mutex_unlock(&m->mu);
}

kdpc_status kdpc_report_html(kdpc_machine *m, const char *path)
{
    if (m == NULL || path == NULL || path[0] == '\0' || m->report == NULL)
        return KDPC_EINVAL;
    kdpc_status st = read_begin(m);
    if (st != KDPC_OK)
        return st;
    kdpc_report rep;
    if (kdpc__report_build(m, &rep) != 0) {
        read_end(m);
        return KDPC_ENOMEM;
    }
    st = kdpc__html_write(m, &rep, path);
    int err = errno;
    read_end(m);
    errno = err;
    return st;
}
