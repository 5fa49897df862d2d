/* SPDX-License-Identifier: MIT */
/*
 * report_print.c - the DPC/ISR report as text (kdpc_report_print): the
 * routines table, one xperf-style histogram per routine, latencies, IRP
 * latency per device, IRQL time per CPU, queue depth and the violations.
 */
#include <inttypes.h>
#include <kdpc/verifier.h>

#include "trace/report.h"

/* @ns as microseconds with 3 decimals, into @buf. */
static const char *us(char *buf, size_t n, uint64_t ns)
{
    snprintf(buf, n, "%" PRIu64 ".%03u", ns / 1000u, (unsigned)(ns % 1000u));
    return buf;
}

static const char *kind_name(kdpc_routine_kind k)
{
    return k == KDPC_ROUTINE_ISR ? "ISR" : "DPC";
}

/* "1-2 us", "<1 us", ">=4194304 us" for bucket @b. */
static const char *bucket_label(char *buf, size_t n, unsigned b)
{
    if (b == 0)
        snprintf(buf, n, "<1 us");
    else if (b == KDPC_REPORT_BUCKETS - 1u)
        snprintf(buf, n, ">=%llu us", 1ull << (b - 1u));
    else
        snprintf(buf, n, "%llu-%llu us", 1ull << (b - 1u), 1ull << b);
    return buf;
}

static void hist_block(FILE *out, const kdpc_report_hist *h)
{
    unsigned lo = KDPC_REPORT_BUCKETS, hi = 0;
    for (unsigned b = 0; b < KDPC_REPORT_BUCKETS; b++) {
        if (h->bucket[b] != 0) {
            if (lo == KDPC_REPORT_BUCKETS)
                lo = b;
            hi = b;
        }
    }
    for (unsigned b = lo; b <= hi && lo < KDPC_REPORT_BUCKETS; b++) {
        char l[48]; /* two 20-digit numbers and " us": no truncation whatever b is */
        uint64_t c = h->bucket[b];
        uint64_t pm = h->count != 0 ? (c * 1000u + h->count / 2u) / h->count : 0; /* per mille */
        fprintf(out, "    %-14s %10" PRIu64 " %5u.%u%%\n", bucket_label(l, sizeof l, b), c,
                (unsigned)(pm / 10u), (unsigned)(pm % 10u));
    }
}

/* One row of a latency table: count, p50, p90, p99, max. */
static void latency_row(FILE *out, const char *name, const kdpc_report_hist *h)
{
    char a[32], b[32], c[32], d[32];
    fprintf(out, "  %-32s %8" PRIu64 " %12s %12s %12s %12s\n", name, h->count,
            us(a, sizeof a, h->p50_ns), us(b, sizeof b, h->p90_ns), us(c, sizeof c, h->p99_ns),
            us(d, sizeof d, h->max_ns));
}

int kdpc__report_write_text(kdpc_machine *m, const kdpc_report *rep, FILE *out)
{
    char t1[32], t2[32], t3[32], t4[32], t5[32];
    fprintf(out, "DPC/ISR report: virtual time %s .. %s us, %u CPU%s\n",
            us(t1, sizeof t1, rep->start_ns), us(t2, sizeof t2, rep->end_ns), rep->cpus,
            rep->cpus == 1 ? "" : "s");

    fprintf(out, "\nRoutines, busiest first (! = calls over the guideline: DPC %s us, ISR %s us)\n",
            us(t1, sizeof t1, m->cfg.dpc_time_limit_ns),
            us(t2, sizeof t2, m->cfg.isr_time_limit_ns));
    if (rep->nroutines == 0) {
        fprintf(out, "  (no ISR or DPC returned)\n");
    } else {
        fprintf(out, "  %-4s %8s %14s %12s %12s %12s %8s  %s\n", "kind", "calls", "total us",
                "avg us", "p99 us", "max us", "over", "routine");
    }
    for (size_t i = 0; i < rep->nroutines; i++) {
        const kdpc_report_routine *r = &rep->routines[i];
        uint64_t avg = r->time.count != 0 ? r->time.total_ns / r->time.count : 0;
        fprintf(out, "  %-4s %8" PRIu64 " %14s %12s %12s %12s %7" PRIu64 "%c  %s\n",
                kind_name(r->kind), r->time.count, us(t1, sizeof t1, r->time.total_ns),
                us(t2, sizeof t2, avg), us(t3, sizeof t3, r->time.p99_ns),
                us(t4, sizeof t4, r->time.max_ns), r->over_limit, r->flagged ? '!' : ' ', r->name);
    }
    for (size_t i = 0; i < rep->nroutines; i++) {
        const kdpc_report_routine *r = &rep->routines[i];
        uint64_t limit =
            r->kind == KDPC_ROUTINE_ISR ? m->cfg.isr_time_limit_ns : m->cfg.dpc_time_limit_ns;
        fprintf(out,
                "\n%s %s: %" PRIu64
                " calls, p50 %s p90 %s p99 %s, longest %s us at %s us on CPU %u\n",
                kind_name(r->kind), r->name, r->time.count, us(t1, sizeof t1, r->time.p50_ns),
                us(t2, sizeof t2, r->time.p90_ns), us(t3, sizeof t3, r->time.p99_ns),
                us(t4, sizeof t4, r->time.max_ns), us(t5, sizeof t5, r->longest_end_ns),
                r->longest_cpu);
        if (r->flagged)
            fprintf(out, "  ! %" PRIu64 " call%s over the %s us guideline\n", r->over_limit,
                    r->over_limit == 1 ? "" : "s", us(t1, sizeof t1, limit));
        hist_block(out, &r->time);
    }

    fprintf(out, "\nLatency (us)\n  %-32s %8s %12s %12s %12s %12s\n", "", "count", "p50", "p90",
            "p99", "max");
    latency_row(out, "interrupt -> DPC (queued in ISR)", &rep->interrupt_to_dpc);
    latency_row(out, "DPC queued -> DPC runs (all)", &rep->dpc_latency);

    fprintf(out, "\nIRP latency per device, IoCallDriver -> IoCompleteRequest (us)\n");
    if (rep->ndevices == 0) {
        fprintf(out, "  (no IRP sent)\n");
    } else {
        fprintf(out, "  %-24s %9s %7s %9s %12s %12s %12s %12s\n", "device", "completed", "failed",
                "cancelled", "p50", "p90", "p99", "max");
    }
    for (size_t i = 0; i < rep->ndevices; i++) {
        const kdpc_report_device *d = &rep->devices[i];
        fprintf(out, "  %-24s %9" PRIu64 " %7" PRIu64 " %9" PRIu64 " %12s %12s %12s %12s\n",
                d->name, d->completed, d->failed, d->cancelled,
                us(t1, sizeof t1, d->latency.p50_ns), us(t2, sizeof t2, d->latency.p90_ns),
                us(t3, sizeof t3, d->latency.p99_ns), us(t4, sizeof t4, d->latency.max_ns));
    }

    /* IRQL time: the columns of the IRQLs some CPU spent time at */
    bool used[KDPC_REPORT_IRQLS] = {false};
    for (unsigned c = 0; c < rep->cpus; c++)
        for (unsigned q = 0; q < KDPC_REPORT_IRQLS; q++)
            used[q] = used[q] || rep->cpu[c].irql_ns[q] != 0;
    fprintf(out, "\nTime per CPU (us; %% of the run)\n  %-4s", "CPU");
    for (unsigned q = 0; q < KDPC_REPORT_IRQLS; q++)
        if (used[q])
            fprintf(out, " %21s",
                    q == 0   ? "IRQL 0 (PASSIVE)"
                    : q == 1 ? "IRQL 1 (APC)"
                    : q == 2 ? "IRQL 2 (DISPATCH)"
                             : (snprintf(t1, sizeof t1, "IRQL %u", q), t1));
    fprintf(out, " %14s %8s %14s %8s %6s\n", "DPC us", "DPCs", "ISR us", "ISRs", "depth");
    uint64_t span = rep->end_ns - rep->start_ns;
    for (unsigned c = 0; c < rep->cpus; c++) {
        const kdpc_report_cpu *rc = &rep->cpu[c];
        fprintf(out, "  %-4u", c);
        for (unsigned q = 0; q < KDPC_REPORT_IRQLS; q++) {
            if (!used[q])
                continue;
            uint64_t pm = span != 0 ? (rc->irql_ns[q] * 1000u + span / 2u) / span : 0;
            char cell[48];
            snprintf(cell, sizeof cell, "%s (%u.%u%%)", us(t1, sizeof t1, rc->irql_ns[q]),
                     (unsigned)(pm / 10u), (unsigned)(pm % 10u));
            fprintf(out, " %21s", cell);
        }
        fprintf(out, " %14s %8" PRIu64 " %14s %8" PRIu64 " %6u\n", us(t1, sizeof t1, rc->dpc_ns),
                rc->dpcs, us(t2, sizeof t2, rc->isr_ns), rc->isrs, rc->max_queue_depth);
    }

    /* depth: the windows where something was queued, max per CPU */
    fprintf(out, "\nDPC queue depth, windows of %s us (start us: max depth per CPU, DPCs queued)\n",
            us(t1, sizeof t1, rep->depth_window_ns));
    size_t shown = 0;
    for (size_t w = 0; w < rep->ndepth; w++) {
        const kdpc_report_depth *d = &rep->depth[w];
        bool any = d->inserted != 0;
        for (unsigned c = 0; c < rep->cpus && !any; c++)
            any = d->max_depth[c] != 0;
        if (!any)
            continue;
        fprintf(out, "  %12s:", us(t1, sizeof t1, d->start_ns));
        for (unsigned c = 0; c < rep->cpus; c++)
            fprintf(out, " %u", d->max_depth[c]);
        fprintf(out, "  (%" PRIu64 ")\n", d->inserted);
        shown++;
    }
    if (shown == 0)
        fprintf(out, "  (no DPC queued)\n");

    fprintf(out, "\nViolations: %zu\n", rep->nviolations);
    for (size_t i = 0; i < rep->nviolations; i++) {
        const kdpc_violation *v = kdpc_machine_violation(m, i);
        if (v == NULL)
            continue;
        fprintf(out, "  %s us CPU %u %s%s: %s%s%s\n    guideline: %s\n    %s\n",
                us(t1, sizeof t1, v->time_ns), v->cpu, v->rule, v->fatal ? " (bug check)" : "",
                v->routine != NULL && v->routine[0] != '\0' ? "in " : "",
                v->routine != NULL ? v->routine : "",
                v->routine != NULL && v->routine[0] != '\0' ? "" : "-",
                v->guideline != NULL ? v->guideline : "-", v->message != NULL ? v->message : "");
    }
    return ferror(out) || fflush(out) != 0 ? -1 : 0;
}
