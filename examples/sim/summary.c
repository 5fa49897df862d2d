/* SPDX-License-Identifier: MIT */
/*
 * summary.c - the text kdpc-sim prints after a run.
 */
#include "summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *sim_format_duration(char *buf, size_t size, uint64_t ns)
{
    if (ns >= 1000000000u)
        snprintf(buf, size, "%.3f s", (double)ns / 1e9);
    else if (ns >= 1000000u)
        snprintf(buf, size, "%.3f ms", (double)ns / 1e6);
    else if (ns >= 1000u)
        snprintf(buf, size, "%.1f us", (double)ns / 1e3);
    else
        snprintf(buf, size, "%" PRIu64 " ns", ns);
    return buf;
}

/* @v with thousands separators ("1,234,567"). */
static const char *grouped(char *buf, size_t size, uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    size_t out = 0;
    for (int i = 0; i < n && out + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
    return buf;
}

/* The routines, ISRs first, each kind by calls (most first), then name. */
static int by_kind_calls(const void *a, const void *b)
{
    const kdpc_routine_stats *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->calls != y->calls)
        return x->calls > y->calls ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void print_routines(FILE *out, kdpc_machine *m, const kdpc_config *limits)
{
    size_t n = kdpc_stats_routine_count(m);
    if (n == 0) {
        fprintf(out, "  no ISR or DPC ran\n");
        return;
    }
    kdpc_routine_stats *v = calloc(n, sizeof *v);
    char **names = calloc(n, sizeof *names);
    if (v == NULL || names == NULL) {
        free(v);
        free(names);
        fprintf(out, "  (out of memory for the routine table)\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        (void)kdpc_stats_routine(m, i, &v[i]);
        names[i] = strdup(v[i].name != NULL ? v[i].name : "?");
        v[i].name = names[i] != NULL ? names[i] : "?";
    }
    qsort(v, n, sizeof *v, by_kind_calls);

    uint64_t calls[2] = {0, 0}, longest[2] = {0, 0};
    const char *longest_name[2] = {"", ""};
    fprintf(out, "  %-28s %-4s %12s %12s %12s  %s\n", "routine", "kind", "calls", "average",
            "longest", "longest ended");
    for (size_t i = 0; i < n; i++) {
        char c[32], a[32], l[32], at[32];
        unsigned k = v[i].kind == KDPC_ROUTINE_ISR ? 0 : 1;
        uint64_t limit = k == 0 ? limits->isr_time_limit_ns : limits->dpc_time_limit_ns;
        calls[k] += v[i].calls;
        if (v[i].longest_ns >= longest[k]) {
            longest[k] = v[i].longest_ns;
            longest_name[k] = v[i].name;
        }
        fprintf(out, "  %-28s %-4s %12s %12s %12s  CPU %u at %s%s\n", v[i].name,
                k == 0 ? "ISR" : "DPC", grouped(c, sizeof c, v[i].calls),
                sim_format_duration(a, sizeof a, v[i].calls ? v[i].total_ns / v[i].calls : 0),
                sim_format_duration(l, sizeof l, v[i].longest_ns), v[i].longest_cpu,
                sim_format_duration(at, sizeof at, v[i].longest_end_ns),
                v[i].longest_ns > limit ? "  OVER GUIDELINE" : "");
    }
    for (unsigned k = 0; k < 2; k++) {
        char c[32], l[32], g[32];
        fprintf(out, "  %-5s %s calls, longest %s%s%s; guideline: at most %s a call\n",
                k == 0 ? "ISRs" : "DPCs", grouped(c, sizeof c, calls[k]),
                sim_format_duration(l, sizeof l, longest[k]), calls[k] ? " in " : "",
                calls[k] ? longest_name[k] : "",
                sim_format_duration(
                    g, sizeof g, k == 0 ? limits->isr_time_limit_ns : limits->dpc_time_limit_ns));
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(v);
}

/* How often one rule was broken, and its first violation. */
typedef struct rule_tally {
    const char *rule;
    size_t first, count;
} rule_tally;

/* Tally the @n violations of @m per rule, in order of first appearance, into @t (room for
 * every rule of the table); returns the number of rules seen. */
static size_t tally_rules(kdpc_machine *m, size_t n, rule_tally *t, size_t room)
{
    size_t rules = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rule = kdpc_machine_violation(m, i)->rule;
        size_t k = 0;
        while (k < rules && strcmp(t[k].rule, rule) != 0)
            k++;
        if (k == rules) {
            if (rules == room)
                continue; /* not a rule of the table: cannot happen */
            t[rules++] = (rule_tally){rule, i, 0};
        }
        t[k].count++;
    }
    return rules;
}

static void print_violation(FILE *out, const kdpc_violation *v, size_t same)
{
    char t[32];
    const char *kind = v->fatal ? "BUGCHECK" : "warning";
    const char *routine = v->routine[0] ? v->routine : "(no routine)";
    if (same <= 1)
        fprintf(out, "  %-8s %s in %s on CPU %u at %s: %s\n", kind, v->rule, routine, v->cpu,
                sim_format_duration(t, sizeof t, v->time_ns), v->message);
    else
        fprintf(out, "  %-8s %s (%zu times; first in %s on CPU %u at %s): %s\n", kind, v->rule,
                same, routine, v->cpu, sim_format_duration(t, sizeof t, v->time_ns), v->message);
}

/* Violations grouped by rule, in order of first appearance; every one with --report. */
static void print_violations(FILE *out, kdpc_machine *m, bool full)
{
    size_t n = kdpc_machine_violation_count(m);
    if (n == 0) {
        fprintf(out, "violations:         none\n");
        return;
    }
    fprintf(out, "violations:         %zu\n", n);
    size_t room = kdpc_rule_count();
    rule_tally *t = calloc(room, sizeof *t);
    if (t == NULL) {
        fprintf(out, "  (out of memory for the violation table)\n");
        return;
    }
    size_t rules = tally_rules(m, n, t, room);
    /* Each rule's first violation (with its count), or with --report every one in order;
     * the guideline follows a rule's first. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        while (k < rules && t[k].first < i)
            k++;
        bool first = k < rules && t[k].first == i;
        if (!first && !full)
            continue;
        const kdpc_violation *v = kdpc_machine_violation(m, i);
        print_violation(out, v, full ? 1 : t[k].count);
        if (first)
            fprintf(out, "           guideline: %s\n", v->guideline[0] ? v->guideline : "-");
    }
    free(t);
}

static void print_errorlog(FILE *out, kdpc_machine *m)
{
    size_t n = kdpc_errorlog_count(m);
    fprintf(out, "error log:          %zu entries\n", n);
    for (size_t i = 0; i < n && i < 20; i++) {
        const kdpc_errorlog_entry *e = kdpc_errorlog_entry_at(m, i);
        char t[32];
        fprintf(out,
                "  %s  ErrorCode 0x%08lx  UniqueErrorValue %lu  FinalStatus 0x%08lx  retry %u\n",
                sim_format_duration(t, sizeof t, e->time_ns), (unsigned long)e->ErrorCode,
                (unsigned long)e->UniqueErrorValue, (unsigned long)e->FinalStatus,
                (unsigned)e->RetryCount);
    }
    if (n > 20)
        fprintf(out, "  ... %zu more\n", n - 20);
}

void sim_print_summary(FILE *out, kdpc_machine *m, const sim_run_info *info, const ex_result *r)
{
    char a[32], b[32], c[32];
    const ex_options *o = info->options;
    kdpc_config limits;
    kdpc_config_init(&limits); /* the examples keep the default time guidelines */

    fprintf(out, "requests served:    %s (%s completed with an error status)\n",
            grouped(a, sizeof a, r->requests), grouped(b, sizeof b, r->requests_failed));
    fprintf(out, "bytes moved:        %s\n", grouped(a, sizeof a, r->bytes));
    fprintf(out, "faults injected:    %s; error log entries: %s\n", grouped(a, sizeof a, r->faults),
            grouped(b, sizeof b, r->errorlog));
    if (r->notes[0] != '\0')
        fprintf(out, "%-20s%s\n", "driver:", r->notes);
    if (r->lost != 0)
        fprintf(out, "LOST DATA:          %s request(s)%s%s\n", grouped(a, sizeof a, r->lost),
                r->problem[0] ? "; first: " : "", r->problem);
    fprintf(out, "\nISR and DPC times (virtual):\n");
    print_routines(out, m, &limits);
    fprintf(out, "\n");
    print_violations(out, m, info->report);
    if (info->report) {
        print_errorlog(out, m);
        fprintf(out, "\n");
        if (kdpc_report_print(m, out) != KDPC_OK)
            fprintf(out, "(no DPC/ISR report)\n");
    }

    double virt = (double)r->virtual_ns / 1e9;
    fprintf(out, "\n");
    if (o->variant != NULL && kdpc_machine_find_violation(m, o->variant->rule) != NULL)
        fprintf(out, "result: caught: broken variant %s breaks %s, reported as %s\n",
                o->variant->name, o->variant->guideline, o->variant->rule);
    else if (r->status != KDPC_OK)
        fprintf(out, "result: NOT CLEAN: %s (%s)\n", kdpc_strerror(r->status),
                r->status == KDPC_TIMEOUT
                    ? "a hang or livelock: the requests did not all come back in time"
                : r->status == KDPC_DEADLOCK ? "a hang: no CPU can go on"
                                             : "the run stopped early");
    else if (!ex_clean(m, r))
        fprintf(out, "result: NOT CLEAN\n");
    else if (o->variant != NULL)
        /* A broken variant's mistake needs the workload to reach it (a run shorter than the
         * first burst or request that shows it): say so rather than a bare "clean" after the
         * heading's promise. */
        fprintf(out,
                "result: clean: the broken variant %s did not show its mistake in this run (no "
                "%s); %s\n",
                o->variant->name, o->variant->rule,
                o->load == EX_LOAD_HEAVY ? "try a longer run or other seeds"
                                         : "try a longer run or --load heavy");
    else
        fprintf(out, "result: clean\n");
    double speed = info->host_seconds > 0 ? virt / info->host_seconds : 0.0;
    fprintf(out, "        %s of virtual time in %s of host time (%.*fx real time)\n",
            sim_format_duration(b, sizeof b, r->virtual_ns),
            sim_format_duration(c, sizeof c, (uint64_t)(info->host_seconds * 1e9)),
            speed >= 10 ? 0 : 2, speed);
}
