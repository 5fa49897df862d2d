/* SPDX-License-Identifier: MIT */
/*
 * examples.c - how fast the example simulations run (issue 12).
 *
 * For each example (serial, disk, nic) at light and heavy load on 1 and 4
 * CPUs: simulated seconds per host second (the speed against real time),
 * requests (IRPs) per host second and payload bytes per host second; the
 * median of 5 runs of the same seed, with the spread (lowest..highest). A run
 * lasts a stretch of virtual time picked so that it takes about 0.2 s of host
 * time. The DPC round-trip rate is measured in the same run, as the baseline
 * that makes the figures comparable between hosts: the last column is the
 * ratio of the two, the host time of one request in DPC round trips.
 *
 * Targets: the serial example at light load runs at least 1,000x faster than
 * real time on 1 CPU; the disk example moves at least 1 GB of simulated data
 * per host second through MapTransfer on 1 CPU (heavy load).
 */
#include <inttypes.h>
#include <string.h>

#include "bench.h"
#include "example.h"

#define REPS        5
#define HOST_TARGET 0.2             /* host seconds one measured run aims at */
#define MAX_VIRTUAL 600000000000ull /* 600 s of virtual time at most */

typedef struct measure {
    double speed[REPS]; /* virtual s per host s */
    double irps[REPS];  /* requests per host s */
    double bytes[REPS]; /* payload bytes per host s */
    uint64_t duration_ns;
    bool clean;
} measure;

/* One run: fills *@r, returns host seconds (< 0 when the run was not clean). */
static double run_once(const ex_example *ex, unsigned cpus, ex_load load, uint64_t duration_ns,
                       ex_result *r)
{
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.cpus = cpus;
    cfg.seed = 1;
    cfg.log = NULL;
    if (ex->configure != NULL)
        ex->configure(&cfg);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL)
        return -1;
    ex_options o = {.duration_ns = duration_ns, .load = load};
    uint64_t t0 = bench_host_ns();
    ex->run(m, &o, r);
    uint64_t t1 = bench_host_ns();
    bool clean = ex_clean(m, r);
    if (!clean)
        fprintf(stderr,
                "bench_examples: %s %s on %u CPU(s) not clean: %s, %zu violation(s), "
                "%" PRIu64 " lost %s\n",
                ex->name, load == EX_LOAD_HEAVY ? "heavy" : "light", cpus, kdpc_strerror(r->status),
                kdpc_machine_violation_count(m), r->lost, r->problem);
    kdpc_machine_destroy(m);
    double host = (double)(t1 - t0) / 1e9;
    return clean ? host : -1;
}

static void measure_one(const ex_example *ex, unsigned cpus, ex_load load, measure *out)
{
    memset(out, 0, sizeof *out);
    out->clean = true;
    /* Calibrate: 10 ms of virtual time, then scale to about HOST_TARGET. */
    ex_result r;
    uint64_t d = 10000000u;
    double host = run_once(ex, cpus, load, d, &r);
    for (int tries = 0; host >= 0 && host < HOST_TARGET / 4 && d < MAX_VIRTUAL && tries < 8;
         tries++) {
        double scale = host > 0 ? HOST_TARGET / host : 64;
        if (scale > 64)
            scale = 64;
        d = (uint64_t)((double)d * scale);
        if (d > MAX_VIRTUAL)
            d = MAX_VIRTUAL;
        host = run_once(ex, cpus, load, d, &r);
    }
    out->duration_ns = d;
    for (int i = 0; i < REPS && host >= 0; i++) {
        host = run_once(ex, cpus, load, d, &r);
        if (host <= 0)
            break;
        out->speed[i] = (double)r.virtual_ns / 1e9 / host;
        out->irps[i] = (double)r.requests / host;
        out->bytes[i] = (double)r.bytes / host;
    }
    if (host < 0) {
        out->clean = false;
        bench_broken = 1;
    }
    qsort(out->speed, REPS, sizeof(double), bench_cmp_double);
    qsort(out->irps, REPS, sizeof(double), bench_cmp_double);
    qsort(out->bytes, REPS, sizeof(double), bench_cmp_double);
}

int main(void)
{
    static const ex_example *const examples[] = {&ex_serial, &ex_disk, &ex_nic};
    double base = bench_dpc_roundtrips_per_second();
    printf("bench_examples: example simulations, median of %d runs (lowest..highest), seed 1\n",
           REPS);
    printf("baseline: %.2f million DPC round trips per host second; \"IRP in DPCs\": the host time "
           "of one request, in DPC round trips\n\n",
           base / 1e6);
    printf("%-7s %-5s %4s %10s %26s %22s %24s %12s\n", "example", "load", "cpus", "virtual",
           "simulated s / host s", "IRPs / host s", "MB / host s", "IRP in DPCs");

    double serial_light_1 = 0, disk_heavy_1 = 0;
    for (size_t e = 0; e < sizeof examples / sizeof examples[0]; e++) {
        for (int l = 0; l < 2; l++) {
            static const unsigned cpus[] = {1, 4};
            for (size_t c = 0; c < 2; c++) {
                measure mm;
                ex_load load = l == 0 ? EX_LOAD_LIGHT : EX_LOAD_HEAVY;
                measure_one(examples[e], cpus[c], load, &mm);
                if (!mm.clean) {
                    printf("%-7s %-5s %4u  NOT CLEAN (see stderr)\n", examples[e]->name,
                           l == 0 ? "light" : "heavy", cpus[c]);
                    continue;
                }
                char sp[40], ir[40], by[40];
                int dp = mm.speed[REPS / 2] >= 100 ? 0 : mm.speed[REPS / 2] >= 10 ? 1 : 2;
                snprintf(sp, sizeof sp, "%.*f (%.*f..%.*f)", dp, mm.speed[REPS / 2], dp,
                         mm.speed[0], dp, mm.speed[REPS - 1]);
                snprintf(ir, sizeof ir, "%.0f (%.0f..%.0f)", mm.irps[REPS / 2], mm.irps[0],
                         mm.irps[REPS - 1]);
                snprintf(by, sizeof by, "%.1f (%.1f..%.1f)", mm.bytes[REPS / 2] / 1e6,
                         mm.bytes[0] / 1e6, mm.bytes[REPS - 1] / 1e6);
                printf("%-7s %-5s %4u %8.3f s %26s %22s %24s %12.0f\n", examples[e]->name,
                       l == 0 ? "light" : "heavy", cpus[c], (double)mm.duration_ns / 1e9, sp, ir,
                       by, mm.irps[REPS / 2] > 0 ? base / mm.irps[REPS / 2] : 0.0);
                fflush(stdout);
                if (e == 0 && l == 0 && cpus[c] == 1)
                    serial_light_1 = mm.speed[REPS / 2];
                if (e == 1 && l == 1 && cpus[c] == 1)
                    disk_heavy_1 = mm.bytes[REPS / 2];
            }
        }
    }
    printf("\ntarget: serial, light load, 1 CPU: >= 1000x real time: %.0fx: %s\n", serial_light_1,
           serial_light_1 >= 1000 ? "met" : "NOT met");
    printf("target: disk, heavy load, 1 CPU: >= 1 GB simulated data per host s: %.2f GB/s: %s\n",
           disk_heavy_1 / 1e9, disk_heavy_1 >= 1e9 ? "met" : "NOT met");
    return bench_broken;
}
