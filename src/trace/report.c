/* SPDX-License-Identifier: MIT */
/*
 * report.c - the DPC/ISR report, kept from the event stream.
 */
#include <stdlib.h>

#include "trace/report.h"

typedef struct kdpc__report {
    uint64_t events;
} kdpc__report;

int kdpc__report_init(kdpc_machine *m)
{
    m->report = calloc(1, sizeof(kdpc__report));
    return m->report != NULL ? 0 : -1;
}

void kdpc__report_free(kdpc_machine *m)
{
    free(m->report);
    m->report = NULL;
}

void kdpc__report_event(kdpc_machine *m, const kdpc_event *e)
{
    (void)e;
    ((kdpc__report *)m->report)->events++;
}
