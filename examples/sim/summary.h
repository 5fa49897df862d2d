/* SPDX-License-Identifier: MIT */
/*
 * summary.h - what kdpc-sim prints about a finished run: requests, bytes,
 * ISR and DPC times per routine, violations, and how fast it ran.
 */
#ifndef KDPC_SIM_SUMMARY_H
#define KDPC_SIM_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "example.h"

/* What the run was asked to do, for the heading. */
typedef struct sim_run_info {
    const ex_example *example;
    const ex_options *options;
    unsigned cpus;
    uint64_t seed;
    double host_seconds; /* host time the run took */
    bool report;         /* --report: violations in full, error log, device counters */
} sim_run_info;

/* Print the summary of the run on @m to @out. */
void sim_print_summary(FILE *out, kdpc_machine *m, const sim_run_info *info, const ex_result *r);

/* "2.000 s", "150.000 ms", "12.5 us": @ns in a unit a person reads, into @buf. */
const char *sim_format_duration(char *buf, size_t size, uint64_t ns);

#endif /* KDPC_SIM_SUMMARY_H */
