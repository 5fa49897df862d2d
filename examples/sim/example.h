/* SPDX-License-Identifier: MIT */
/*
 * example.h - what an example device simulation offers the kdpc-sim command,
 * the benchmarks and the example's own tests.
 *
 * An example is a real WDM driver (examples/<name>/driver/, WDK headers
 * only), the virtual device it drives (examples/<name>/device/, kdpc's
 * device API) and a workload (examples/<name>/sim.c) that plugs the device,
 * loads the driver through PnP, sends it requests as programs would for a
 * stretch of virtual time, then checks that every request came back exactly
 * once with the right data and unloads the driver.
 *
 * The driver is built once as written and once per broken variant: the
 * variant's macro BROKEN_<NAME> (upper case, '-' as '_') switches in the
 * mistake, and its entry point DriverEntry is renamed <example>_entry_<name>
 * ('-' as '_'; the clean build's is <example>_entry_clean).
 */
#ifndef KDPC_EXAMPLE_H
#define KDPC_EXAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <kdpc/driver.h>
#include <kdpc/kdpc.h>

/* How hard the workload pushes. */
typedef enum ex_load { EX_LOAD_LIGHT = 0, EX_LOAD_HEAVY = 1 } ex_load;

/* One run's settings (the machine's CPUs and seed are in its kdpc_config). */
typedef struct ex_options {
    uint64_t duration_ns;             /* virtual time the workload sends requests (> 0) */
    ex_load load;                     /* light: a trickle with idle gaps; heavy: queues kept full */
    unsigned faults_permille;         /* chance per opportunity of each fault kind the device
                                 injects (0..1000; 0: none) */
    const struct ex_variant *variant; /* NULL: the clean driver; else a broken variant */
    const char *mode;                 /* NULL: the default; else one of the example's modes
                                         (the nic's "threaded": threaded DPCs) */
} ex_options;

/* What a run did. Deterministic: the same config, seed and options give the same numbers. */
typedef struct ex_result {
    kdpc_status status;       /* what the last kdpc_machine_run returned */
    uint64_t virtual_ns;      /* virtual time at the end of the run */
    uint64_t requests;        /* requests (IRPs) the workload saw completed */
    uint64_t requests_failed; /* of those, completed with an error status (injected faults,
                                 timeouts) - expected with faults, not a data loss */
    uint64_t bytes;           /* payload bytes moved to or from the device */
    uint64_t lost;            /* requests lost, completed twice, or with wrong data; a clean
                                 run has 0 */
    uint64_t faults;          /* faults the device injected */
    uint64_t errorlog;        /* error log entries the driver wrote */
    char notes[256];          /* the example's own numbers, one line ("retries 3, ...") */
    char problem[256];        /* the first data problem in words, or "" */
} ex_result;

/* A broken variant: the same driver with one guideline broken. */
typedef struct ex_variant {
    const char *name;         /* "wait-in-dpc" (the --broken NAME) */
    const char *guideline;    /* "G4" */
    const char *rule;         /* the rule id the simulator reports ("dpc.wait") */
    const char *what;         /* one line: what the driver does wrong */
    PDRIVER_INITIALIZE entry; /* DriverEntry of that build */
} ex_variant;

typedef struct ex_example {
    const char *name; /* "serial" */
    const char *what; /* one line */
    const ex_variant *variants;
    size_t nvariants;
    const char *const *modes; /* the modes ex_options.mode may name (NULL-terminated), or NULL */
    /* Adjust a config (already holding cpus, seed, log, trace) before the machine is made;
     * NULL when the example needs nothing. */
    void (*configure)(kdpc_config *cfg);
    /* Run the workload on @m (fresh or just reset; made from a configured config) from a host
     * thread. Fills *@r completely (zeroes it first). */
    void (*run)(kdpc_machine *m, const ex_options *o, ex_result *r);
} ex_example;

extern const ex_example ex_serial;
extern const ex_example ex_disk;
extern const ex_example ex_nic;

/* The variant of @ex called @name, or NULL. */
static inline const ex_variant *ex_find_variant(const ex_example *ex, const char *name)
{
    for (size_t i = 0; i < ex->nvariants; i++)
        if (strcmp(ex->variants[i].name, name) == 0)
            return &ex->variants[i];
    return NULL;
}

/* True when a run is clean: finished, no violation recorded, nothing lost. */
static inline bool ex_clean(const kdpc_machine *m, const ex_result *r)
{
    return r->status == KDPC_OK && kdpc_machine_violation_count(m) == 0 && r->lost == 0;
}

#endif /* KDPC_EXAMPLE_H */
