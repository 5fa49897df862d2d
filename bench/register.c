/* SPDX-License-Identifier: MIT */
/*
 * bench_register - host cost of a device register access (issue 9's
 * figure), in one run. Each figure is the median of REPS repetitions on the
 * host monotonic clock, with the spread (min-max).
 *
 *   register_accesses_per_second_sync_off / _sync_on
 *       A system thread at PASSIVE_LEVEL makes ACCESSES accesses through
 *       MmMapIoSpace'd registers of a virtual device, alternately
 *       READ_REGISTER_ULONG and WRITE_REGISTER_ULONG over 16 registers: each
 *       is an interleaving point, a mapping lookup, a handler call and the
 *       device's counters. "sync_off" runs with sync.isr_unsynchronized
 *       off, "sync_on" with it on (the default: every access looks its
 *       register up in the per-register table).
 *   lookup curve
 *       The same accesses spread round robin over 1, 16 and 256 live
 *       mappings (every access misses the last-hit cache above 1): ns per
 *       access at each size.
 *   baseline, measured in the same run
 *       dpc_roundtrips_per_second: KeInsertQueueDpc at PASSIVE_LEVEL.
 * Ratios: one register access in DPC round trips (target: at most 1.0 with
 * sync off, 1.5 with sync on); 256 mappings over 1 (target: at most 2.0,
 * the binary search's log factor).
 *
 * A measurement, not a test: a missed target prints "NOT met" and the exit
 * status is 0 unless a run failed.
 */
#include <string.h>

#include <kdpc/device.h>

#include "bench.h"

#define REPS        7
#define ACCESSES    2000000u
#define WIN_BASE    0xFE000000ull
#define WIN_LEN     0x100000u /* 1 MiB: room for 256 mappings of one page each */
#define TARGET_OFF  1.0
#define TARGET_ON   1.5
#define TARGET_LOOK 2.0

static uint32_t regs[16];

static uint64_t dev_read(const kdpc_reg_access *a)
{
    return regs[(a->offset / 4) & 15u];
}

static void dev_write(const kdpc_reg_access *a)
{
    regs[(a->offset / 4) & 15u] = (uint32_t)a->value;
}

static unsigned nmaps; /* mappings the entry spreads its accesses over */
static volatile ULONG *maps[256];
static unsigned long long done;

static void Entry(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < nmaps; i++) {
        PHYSICAL_ADDRESS pa;
        pa.QuadPart = (LONGLONG)(WIN_BASE + (uint64_t)i * 4096u);
        maps[i] = MmMapIoSpace(pa, 4096, MmNonCached);
        if (maps[i] == NULL)
            return;
    }
    unsigned k = 0;
    for (unsigned i = 0; i < ACCESSES; i += 2) {
        volatile ULONG *r = maps[k];
        if (++k == nmaps)
            k = 0;
        ULONG v = READ_REGISTER_ULONG(&r[i & 15u]);
        WRITE_REGISTER_ULONG(&r[(i + 1) & 15u], v + 1);
        done += 2;
    }
    for (unsigned i = 0; i < nmaps; i++)
        MmUnmapIoSpace((PVOID)(uintptr_t)maps[i], 4096);
}

/* Host ns per access of one run over @n mappings, sync rule @sync_on. */
static double one_run(unsigned n, bool sync_on)
{
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.log = NULL;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        bench_broken = 1;
        return 0;
    }
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "benchdev";
    d.windows[0] = (kdpc_range_desc){WIN_BASE, WIN_LEN, dev_read, dev_write};
    d.nwindows = 1;
    kdpc_device *dev;
    if (kdpc_device_plug(m, &d, &dev) != KDPC_OK ||
        kdpc_rule_set(m, "sync.isr_unsynchronized", sync_on ? KDPC_RULE_WARN : KDPC_RULE_OFF) !=
            KDPC_OK) {
        bench_broken = 1;
        kdpc_machine_destroy(m);
        return 0;
    }
    nmaps = n;
    done = 0;
    uint64_t t0 = bench_host_ns();
    kdpc_status st = kdpc_machine_run(m, Entry, NULL);
    uint64_t t1 = bench_host_ns();
    if (st != KDPC_OK || done != ACCESSES) {
        fprintf(stderr, "bench_register: run: %s, %llu of %u accesses\n", kdpc_strerror(st), done,
                ACCESSES);
        bench_broken = 1;
    }
    kdpc_machine_destroy(m);
    return done != 0 ? (double)(t1 - t0) / (double)done : 0;
}

typedef struct stat {
    double med, lo, hi;
} stat;

static stat measure(unsigned n, bool sync_on)
{
    double v[REPS];
    for (int i = 0; i < REPS; i++)
        v[i] = one_run(n, sync_on);
    qsort(v, REPS, sizeof(v[0]), bench_cmp_double);
    return (stat){v[REPS / 2], v[0], v[REPS - 1]};
}

static void print_target(const char *what, double value, double target)
{
    printf("target %s: %.2f <= %.2f: %s\n", what, value, target,
           value <= target ? "met" : "NOT met");
}

int main(void)
{
    double base_v[REPS];
    for (int i = 0; i < REPS; i++)
        base_v[i] = bench_dpc_roundtrips_per_second();
    qsort(base_v, REPS, sizeof(base_v[0]), bench_cmp_double);
    double base = base_v[REPS / 2];
    double base_ns = base > 0 ? 1e9 / base : 0;

    stat off = measure(1, false);
    stat on = measure(1, true);
    printf("dpc_roundtrips_per_second: %.0f /s (baseline; %.1f ns each; median of %d, spread "
           "%.0f-%.0f)\n",
           base, base_ns, REPS, base_v[0], base_v[REPS - 1]);
    printf("register_accesses_per_second_sync_off: %.0f /s (%.1f ns each; median of %d, spread "
           "%.1f-%.1f ns)\n",
           1e9 / off.med, off.med, REPS, off.lo, off.hi);
    printf("register_accesses_per_second_sync_on: %.0f /s (%.1f ns each; median of %d, spread "
           "%.1f-%.1f ns)\n",
           1e9 / on.med, on.med, REPS, on.lo, on.hi);
    static const unsigned sizes[] = {1, 16, 256};
    stat curve[3];
    for (unsigned i = 0; i < 3; i++) {
        curve[i] = measure(sizes[i], false);
        printf("lookup: %u mappings: %.1f ns/access (spread %.1f-%.1f)\n", sizes[i], curve[i].med,
               curve[i].lo, curve[i].hi);
    }
    printf("ratios:\n");
    double r_off = base_ns > 0 ? off.med / base_ns : 0;
    double r_on = base_ns > 0 ? on.med / base_ns : 0;
    double r_look = curve[0].med > 0 ? curve[2].med / curve[0].med : 0;
    printf("access_cost_in_dpc_roundtrips_sync_off: %.2f\n", r_off);
    printf("access_cost_in_dpc_roundtrips_sync_on: %.2f\n", r_on);
    printf("lookup_256_over_1: %.2f\n", r_look);
    print_target("access (sync off) in DPC round trips", r_off, TARGET_OFF);
    print_target("access (sync on) in DPC round trips", r_on, TARGET_ON);
    print_target("lookup 256 mappings over 1", r_look, TARGET_LOOK);
    return bench_broken;
}
