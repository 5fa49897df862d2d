/* SPDX-License-Identifier: MIT */
/*
 * disk_sim.h - what the disk example offers its own tests beyond example.h:
 * a run with a chosen set of fault kinds, and what the driver and the device
 * reported.
 */
#ifndef DISK_SIM_H
#define DISK_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "example.h"

/* Bit (1u << kind) for each kdpc_fault_kind the device injects at o->faults_permille. */
#define DISK_FAULTS_ALL                                                                            \
    ((1u << KDPC_FAULT_TRANSFER_ERROR) | (1u << KDPC_FAULT_SHORT_TRANSFER) |                       \
     (1u << KDPC_FAULT_LOST_INTERRUPT) | (1u << KDPC_FAULT_LATE_INTERRUPT) |                       \
     (1u << KDPC_FAULT_SPURIOUS_INTERRUPT))

/* Sectors of each unit (4 MiB). */
#define DISK_SIM_SECTORS 8192u

/* The driver's counters (IOCTL_VDISK_GET_INFO, both units added) and the device's. */
typedef struct disk_sim_report {
    uint64_t reads, writes;   /* read / write requests the workload completed */
    uint64_t driver_requests; /* VDISK_INFO.Requests */
    uint64_t pieces, retries, timeouts, failed, spurious; /* VDISK_INFO */
    uint64_t map_registers;                               /* VDISK_INFO.MapRegisters */
    uint64_t commands, aborts, device_errors;             /* the controller's */
    uint64_t injected[KDPC_FAULT_KINDS];
    uint64_t dma_bytes;  /* moved by the DMA engine (both directions) */
    bool busy_at_unplug; /* disk_sim_run_surprise: a command was in progress when pulled */
    uint64_t checks;     /* bad requests and controls whose answer was checked */
} disk_sim_report;

/* Run the workload as ex_disk.run does, with only the fault kinds in @fault_kinds on (at
 * o->faults_permille); @rep may be NULL. */
void disk_sim_run(kdpc_machine *m, const ex_options *o, unsigned fault_kinds, disk_sim_report *rep,
                  ex_result *r);

/* As disk_sim_run, and pull the controller out (surprise removal) @after_ns (> 0) of virtual
 * time after the workers start; the workers stop once their request in flight has come back.
 * Requests that fail because of the removal count in requests_failed. */
void disk_sim_run_surprise(kdpc_machine *m, const ex_options *o, unsigned fault_kinds,
                           uint64_t after_ns, disk_sim_report *rep, ex_result *r);

#endif /* DISK_SIM_H */
