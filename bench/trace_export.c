/* SPDX-License-Identifier: MIT */
/*
 * trace_export.c - bench_trace_export: the cost of kdpc_trace_export_json on
 * a long trace. A run of more than 10M events (KeInsertQueueDpc round trips,
 * with an interrupt every 1000 of them) is recorded with cfg.trace_stream
 * (the spool), then exported to a file in $TMPDIR (else /tmp): host seconds,
 * events per second, the file's size and the growth of the process's peak
 * RSS (getrusage ru_maxrss) during the export, against the targets:
 * under 10 s, and memory bounded (not growing with the trace: at most
 * RSS_BOUND_MB). kdpc_trace_timeline of the whole run (one column per
 * microsecond, capped at 4096 columns) is timed too.
 *
 * Optional argument: the number of DPC round trips (default 2100000).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define LINE          9
#define TARGET_S      10.0
#define TARGET_EVENTS 10000000u
#define RSS_BOUND_MB  64.0

static unsigned Rounds = 2100000u;
static KDPC Dpc, IsrDpc;
static PKINTERRUPT Interrupt;

static void BtDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
}

static BOOLEAN BtIsr(PKINTERRUPT i, PVOID c)
{
    (void)i, (void)c;
    KeInsertQueueDpc(&IsrDpc, NULL, NULL);
    return TRUE;
}

static void entry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&Dpc, BtDpc, NULL);
    KeInitializeDpc(&IsrDpc, BtDpc, NULL);
    if (IoConnectInterrupt(&Interrupt, BtIsr, NULL, NULL, LINE, 5, 5, Latched, FALSE, 1, FALSE) !=
        STATUS_SUCCESS)
        return;
    for (unsigned i = 0; i < Rounds; i++) {
        KeInsertQueueDpc(&Dpc, NULL, NULL);
        if (i % 1000u == 999u) {
            kdpc_line_assert(kdpc_current_machine(), LINE);
            kdpc_line_deassert(kdpc_current_machine(), LINE);
        }
    }
    IoDisconnectInterrupt(Interrupt);
}

static double maxrss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

int main(int argc, char **argv)
{
    if (argc > 1)
        Rounds = (unsigned)strtoul(argv[1], NULL, 10);
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/kdpc-bench-trace-%ld.json", tmp != NULL ? tmp : "/tmp",
             (long)getpid());

    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.trace_stream = true;
    cfg.log = NULL;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        fprintf(stderr, "bench_trace_export: kdpc_machine_create: %s\n", strerror(errno));
        return 1;
    }
    uint64_t t0 = bench_host_ns();
    kdpc_status st = kdpc_machine_run(m, entry, NULL);
    uint64_t t1 = bench_host_ns();
    uint64_t events = kdpc_trace_total(m);
    printf("trace_export: recorded %llu events (spool, cfg.trace_stream) in %.2f s\n",
           (unsigned long long)events, (double)(t1 - t0) / 1e9);
    if (st != KDPC_OK) {
        fprintf(stderr, "bench_trace_export: run: %s\n", kdpc_strerror(st));
        kdpc_machine_destroy(m);
        return 1;
    }

    double rss0 = maxrss_mb();
    t0 = bench_host_ns();
    st = kdpc_trace_export_json(m, path);
    t1 = bench_host_ns();
    double rss1 = maxrss_mb();
    if (st != KDPC_OK) {
        fprintf(stderr, "bench_trace_export: export: %s (%s)\n", kdpc_strerror(st),
                strerror(errno));
        kdpc_machine_destroy(m);
        return 1;
    }
    struct stat sb;
    double mb = stat(path, &sb) == 0 ? (double)sb.st_size / 1048576.0 : 0;
    unlink(path);
    double s = (double)(t1 - t0) / 1e9;
    printf("trace_export: json: %.2f s, %.2f M events/s, %.0f MiB written, peak RSS +%.1f MiB "
           "(%.1f -> %.1f)\n",
           s, (double)events / s / 1e6, mb, rss1 - rss0, rss0, rss1);

    FILE *devnull = fopen("/dev/null", "w");
    t0 = bench_host_ns();
    kdpc_status tst =
        devnull != NULL ? kdpc_trace_timeline(m, devnull, 120, 0, 0, 0) : KDPC_EOUTPUT;
    t1 = bench_host_ns();
    if (devnull != NULL)
        fclose(devnull);
    double rss2 = maxrss_mb();
    printf("trace_export: timeline (4096 columns): %.2f s (%s), peak RSS +%.1f MiB\n",
           (double)(t1 - t0) / 1e9, kdpc_strerror(tst), rss2 - rss1);

    bool met = events >= TARGET_EVENTS && s < TARGET_S && rss1 - rss0 <= RSS_BOUND_MB;
    printf("trace_export: target: >= %u events exported in < %.0f s with peak RSS growth <= %.0f "
           "MiB: %s\n",
           TARGET_EVENTS, TARGET_S, RSS_BOUND_MB, met ? "MET" : "NOT MET");
    kdpc_machine_destroy(m);
    return tst == KDPC_OK ? 0 : 1;
}
