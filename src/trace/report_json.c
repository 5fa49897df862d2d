/* SPDX-License-Identifier: MIT */
/*
 * report_json.c - the DPC/ISR report as one JSON object (kdpc_report_json):
 * the fields of struct kdpc_report with their names, times in ns, and the
 * violations. Routines are given by name only, never by address: the same
 * seed gives the same bytes in every process (ASLR moves the addresses).
 */
#include <inttypes.h>
#include <kdpc/verifier.h>

#include "trace/json.h"
#include "trace/report.h"

static void jstr(FILE *out, const char *s)
{
    kdpc__json_str(out, s, false);
}

static void jhist(FILE *out, const kdpc_report_hist *h)
{
    fprintf(out,
            "{\"count\":%" PRIu64 ",\"total_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64
            ",\"p50_ns\":%" PRIu64 ",\"p90_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"bucket\":[",
            h->count, h->total_ns, h->max_ns, h->p50_ns, h->p90_ns, h->p99_ns);
    for (unsigned b = 0; b < KDPC_REPORT_BUCKETS; b++)
        fprintf(out, "%s%" PRIu64, b != 0 ? "," : "", h->bucket[b]);
    fputs("]}", out);
}

int kdpc__report_write_json(kdpc_machine *m, const kdpc_report *rep, FILE *out)
{
    fprintf(out,
            "{\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64
            ",\"cpus\":%u,\"dpc_time_limit_ns\":%" PRIu64 ",\"isr_time_limit_ns\":%" PRIu64
            ",\n\"routines\":[",
            rep->start_ns, rep->end_ns, rep->cpus, m->cfg.dpc_time_limit_ns,
            m->cfg.isr_time_limit_ns);
    for (size_t i = 0; i < rep->nroutines; i++) {
        const kdpc_report_routine *r = &rep->routines[i];
        fputs(i != 0 ? ",\n{\"name\":" : "\n{\"name\":", out);
        jstr(out, r->name);
        fprintf(out,
                ",\"kind\":\"%s\",\"longest_end_ns\":%" PRIu64
                ",\"longest_cpu\":%u,\"over_limit\":%" PRIu64 ",\"flagged\":%s,\"time\":",
                r->kind == KDPC_ROUTINE_ISR ? "isr" : "dpc", r->longest_end_ns, r->longest_cpu,
                r->over_limit, r->flagged ? "true" : "false");
        jhist(out, &r->time);
        fputc('}', out);
    }
    fputs("],\n\"interrupt_to_dpc\":", out);
    jhist(out, &rep->interrupt_to_dpc);
    fputs(",\n\"dpc_latency\":", out);
    jhist(out, &rep->dpc_latency);
    fputs(",\n\"devices\":[", out);
    for (size_t i = 0; i < rep->ndevices; i++) {
        const kdpc_report_device *d = &rep->devices[i];
        fputs(i != 0 ? ",\n{\"name\":" : "\n{\"name\":", out);
        jstr(out, d->name);
        fprintf(out,
                ",\"completed\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"cancelled\":%" PRIu64
                ",\"latency\":",
                d->completed, d->failed, d->cancelled);
        jhist(out, &d->latency);
        fputc('}', out);
    }
    fputs("],\n\"cpu\":[", out);
    for (unsigned c = 0; c < rep->cpus; c++) {
        const kdpc_report_cpu *rc = &rep->cpu[c];
        fputs(c != 0 ? ",\n{\"irql_ns\":[" : "\n{\"irql_ns\":[", out);
        for (unsigned q = 0; q < KDPC_REPORT_IRQLS; q++)
            fprintf(out, "%s%" PRIu64, q != 0 ? "," : "", rc->irql_ns[q]);
        fprintf(out,
                "],\"dpc_ns\":%" PRIu64 ",\"isr_ns\":%" PRIu64 ",\"dpcs\":%" PRIu64
                ",\"isrs\":%" PRIu64 ",\"max_queue_depth\":%u}",
                rc->dpc_ns, rc->isr_ns, rc->dpcs, rc->isrs, rc->max_queue_depth);
    }
    fprintf(out, "],\n\"depth_window_ns\":%" PRIu64 ",\"depth\":[", rep->depth_window_ns);
    for (size_t w = 0; w < rep->ndepth; w++) {
        const kdpc_report_depth *d = &rep->depth[w];
        fprintf(out, "%s{\"start_ns\":%" PRIu64 ",\"inserted\":%" PRIu64 ",\"max_depth\":[",
                w != 0 ? ",\n" : "\n", d->start_ns, d->inserted);
        for (unsigned c = 0; c < rep->cpus; c++)
            fprintf(out, "%s%u", c != 0 ? "," : "", d->max_depth[c]);
        fputs("]}", out);
    }
    fprintf(out, "],\n\"nviolations\":%zu,\"violations\":[", rep->nviolations);
    for (size_t i = 0; i < rep->nviolations; i++) {
        const kdpc_violation *v = kdpc_machine_violation(m, i);
        if (v == NULL)
            continue;
        fputs(i != 0 ? ",\n{\"rule\":" : "\n{\"rule\":", out);
        jstr(out, v->rule);
        fputs(",\"guideline\":", out);
        jstr(out, v->guideline);
        fputs(",\"routine\":", out);
        jstr(out, v->routine);
        fputs(",\"message\":", out);
        jstr(out, v->message);
        fputs(",\"name\":", out);
        jstr(out, v->name);
        fprintf(out,
                ",\"code\":%" PRIu32 ",\"fatal\":%s,\"cpu\":%u,\"irql\":%u,\"time_ns\":%" PRIu64
                ",\"event\":%" PRIu64 "}",
                v->code, v->fatal ? "true" : "false", v->cpu, (unsigned)v->irql, v->time_ns,
                v->event);
    }
    fputs("]}\n", out);
    return ferror(out) || fflush(out) != 0 ? -1 : 0;
}
