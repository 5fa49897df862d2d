/* SPDX-License-Identifier: MIT */
/*
 * html_api.c - kdpc_report_html (kdpc/report.h): the report of
 * src/trace/report.c and the trace's slices as one HTML page
 * (src/trace/html.c).
 */
#include <errno.h>
#include <string.h>

#include <kdpc/report.h>
#include "api/api.h"
#include "trace/html.h"
#include "trace/report.h"

kdpc_status kdpc_report_html(kdpc_machine *m, const char *path)
{
    if (m == NULL || path == NULL || path[0] == '\0' || m->report == NULL)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__api_begin(m, true);
    if (st != KDPC_OK)
        return st;
    kdpc_report rep;
    if (kdpc__report_build(m, &rep) != 0) {
        kdpc__api_end(m);
        return KDPC_ENOMEM;
    }
    st = kdpc__html_write(m, &rep, path);
    int err = errno;
    kdpc__api_end(m);
    errno = err;
    return st;
}
