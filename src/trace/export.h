/* SPDX-License-Identifier: MIT */
/*
 * export.h - the writers of the recorded trace (chrome.c: Perfetto / Chrome
 * trace-event JSON; timeline.c: the ASCII timeline) and the output file every
 * export writes (outfile.c: a temporary file beside the path, renamed into
 * place once complete). Called by src/api (trace_api.c, report_api.c, ...).
 */
#ifndef KDPC_TRACE_EXPORT_H
#define KDPC_TRACE_EXPORT_H

#include <stdint.h>
#include <stdio.h>
#include "sim/sim.h"
#include "trace/evsrc.h"

/* Is thread @id one of @m's idle threads (a CPU where nothing runs)? A thread leaving its CPU
 * is traced as a thread-switch to the idle thread: the exports end the thread's slice there and
 * open none for the idle thread. */
static inline bool kdpc__trace_idle_thread(const kdpc_machine *m, uint64_t id)
{
    for (unsigned i = 0; i < m->ncpu; i++) {
        if (m->cpus[i].idle != NULL && m->cpus[i].idle->id == id)
            return true;
    }
    return false;
}

/* An output file being written: the stream to write into, and how to finish it. */
typedef struct kdpc__outfile {
    FILE *f;
    char *path; /* the final path (resolved through a symbolic link) */
    char *tmp;  /* the temporary file beside it, or NULL when writing in place */
} kdpc__outfile;

/* Open @path for an export. A regular file (or a path that does not exist yet) is written
 * under a temporary name in the same directory (mode 0666 less the umask); a path that exists
 * and is not a regular file (a character device such as /dev/full or /dev/stdout, a FIFO) is
 * written in place, since renaming over it would replace the device. Return: KDPC_OK;
 * KDPC_EOUTPUT with errno set (nothing created); KDPC_ENOMEM. */
kdpc_status kdpc__outfile_open(kdpc__outfile *o, const char *path);

/* Finish: @ok false (the writer failed; errno holds why) or a failed flush / fclose removes
 * the temporary file and returns KDPC_EOUTPUT with errno kept; else renames it into place.
 * Frees @o's strings in every case. */
kdpc_status kdpc__outfile_close(kdpc__outfile *o, bool ok);

/* Write the events of @s to @f as a Chrome trace-event JSON object. Return: KDPC_OK;
 * KDPC_EOUTPUT (write or read error: errno set); KDPC_ENOMEM. */
kdpc_status kdpc__chrome_write(kdpc__evsrc *s, FILE *f);

/* Print the ASCII timeline of @s (kdpc_trace_timeline's contract; arguments checked by the
 * caller except @to_ns 0, the end of the trace). Return: KDPC_OK; KDPC_EINVAL (the window is
 * empty: from_ns past the last event); KDPC_EOUTPUT; KDPC_ENOMEM. */
kdpc_status kdpc__timeline_write(kdpc__evsrc *s, FILE *out, unsigned width, uint64_t from_ns,
                                 uint64_t to_ns, unsigned columns);

#endif /* KDPC_TRACE_EXPORT_H */
