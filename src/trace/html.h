/* SPDX-License-Identifier: MIT */
/*
 * html.h - the self-contained HTML report (kdpc_report_html): the page of
 * src/trace/html/ (embedded at build time) with the run's data as JSON.
 */
#ifndef KDPC_TRACE_HTML_H
#define KDPC_TRACE_HTML_H

#include <kdpc/report.h>

/* Most timeline slices a page holds: later ones are left out and the page says so. */
#define KDPC__HTML_MAX_SLICES 200000u
/* Most IRQL changes a page holds (all CPUs): the same. */
#define KDPC__HTML_MAX_IRQL 400000u

/* Write the page of @m to @path (temporary file beside it, renamed once complete) with the
 * report @rep (NULL: the page says there is none), the slices read back through evsrc (no
 * trace: the page says so) and the machine's violations. The machine must not run.
 * Return: KDPC_OK; KDPC_EOUTPUT (errno kept; nothing left at @path); KDPC_ENOMEM. */
kdpc_status kdpc__html_write(kdpc_machine *m, const kdpc_report *rep, const char *path);

#endif /* KDPC_TRACE_HTML_H */
