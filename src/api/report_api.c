/* SPDX-License-Identifier: MIT */
/*
 * report_api.c - kdpc/report.h: the DPC/ISR report that src/trace/report.c
 * keeps as the run goes, handed out as a struct, text or JSON.
 */
#include <errno.h>
#include <string.h>

#include <kdpc/report.h>
#include "trace/report.h"

/* The report may be read (KDPC_OK) or a run is in progress (KDPC_EBUSY: simulated code, or a
 * native call drives the machine on another host thread). While read, such calls wait or
 * fail with KDPC_EBUSY as for any native call that drives the machine. */
static kdpc_status read_begin(kdpc_machine *m)
{
    (void)kdpc__abandoned_run(); /* a jump left a run: end it first, as every native call */
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

kdpc_status kdpc_report_get(kdpc_machine *m, kdpc_report *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (m == NULL || out == NULL || m->report == NULL)
        return KDPC_EINVAL;
    kdpc_status st = read_begin(m);
    if (st != KDPC_OK)
        return st;
    int rc = kdpc__report_build(m, out);
    read_end(m);
    return rc == 0 ? KDPC_OK : KDPC_ENOMEM;
}

/* Build the report and hand it to @write (text or JSON). */
static kdpc_status write_report(kdpc_machine *m, FILE *out,
                                int (*write)(kdpc_machine *, const kdpc_report *, FILE *))
{
    if (m == NULL || out == NULL || m->report == NULL)
        return KDPC_EINVAL;
    kdpc_status st = read_begin(m);
    if (st != KDPC_OK)
        return st;
    kdpc_report rep;
    if (kdpc__report_build(m, &rep) != 0) {
        read_end(m);
        return KDPC_ENOMEM;
    }
    int rc = write(m, &rep, out);
    int err = errno;
    read_end(m);
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
