/* SPDX-License-Identifier: MIT */
/*
 * report_api.c - kdpc/report.h: the DPC/ISR report that src/trace/report.c
 * keeps as the run goes, handed out as a struct, text or JSON.
 */
#include <errno.h>
#include <string.h>

#include <kdpc/report.h>
#include "api/api.h"
#include "trace/report.h"

kdpc_status kdpc_report_get(kdpc_machine *m, kdpc_report *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (m == NULL || out == NULL || m->report == NULL)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__api_begin(m, true);
    if (st != KDPC_OK)
        return st;
    int rc = kdpc__report_build(m, out);
    kdpc__api_end(m);
    return rc == 0 ? KDPC_OK : KDPC_ENOMEM;
}

/* Build the report and hand it to @write (text or JSON). */
static kdpc_status write_report(kdpc_machine *m, FILE *out,
                                int (*write)(kdpc_machine *, const kdpc_report *, FILE *))
{
    if (m == NULL || out == NULL || m->report == NULL)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__api_begin(m, true);
    if (st != KDPC_OK)
        return st;
    kdpc_report rep;
    if (kdpc__report_build(m, &rep) != 0) {
        kdpc__api_end(m);
        return KDPC_ENOMEM;
    }
    int rc = write(m, &rep, out);
    int err = errno;
    kdpc__api_end(m);
    errno = err;
    return rc == 0 ? KDPC_OK : KDPC_EOUTPUT;
}

kdpc_status kdpc_report_print(kdpc_machine *m, FILE *out)
{
    return write_report(m, out, kdpc__report_write_text);
}

kdpc_status kdpc_report_json(kdpc_machine *m, FILE *out)
{
    return write_report(m, out, kdpc__report_write_json);
}
