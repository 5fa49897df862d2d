/* SPDX-License-Identifier: MIT */
/*
 * nic_sim.h - the nic workload (sim.c) for its tests: a run with the
 * driver's and the device's counters at the end.
 */
#ifndef NIC_SIM_H
#define NIC_SIM_H

#include "example.h"
#include "device/nx2.h"
#include "driver/nicioctl.h"

typedef struct nic_sim_report {
    NIC_STATS stats;     /* IOCTL_NIC_STATS once the traffic stopped */
    nx2_counters device; /* the NX-2's own counters */
    uint64_t rx_ok;      /* frames the reader checked */
    uint64_t rx_cancelled;
    uint64_t sends_ok, sends_failed, stats_reads;
    uint64_t injected[KDPC_FAULT_KINDS];     /* faults the device injected, per kind */
    uint64_t longest_dpc_ns, longest_isr_ns; /* the longest call of any DPC / ISR routine */
} nic_sim_report;

/* Every fault kind the device models is on at o->faults_permille; NIC_FAULTS_ALL, or a mask
 * of (1u << kind) to switch on only some (the partner's CRC errors are drawn at the
 * transfer-error rate). */
#define NIC_FAULTS_ALL ((1u << KDPC_FAULT_KINDS) - 1u)
void nic_sim_run(kdpc_machine *m, const ex_options *o, unsigned fault_kinds, nic_sim_report *rep,
                 ex_result *r);

NTSTATUS nic_entry_clean(PDRIVER_OBJECT, PUNICODE_STRING);
NTSTATUS nic_entry_wait_in_dpc(PDRIVER_OBJECT, PUNICODE_STRING);
NTSTATUS nic_entry_no_budget(PDRIVER_OBJECT, PUNICODE_STRING);
NTSTATUS nic_entry_lock_in_isr(PDRIVER_OBJECT, PUNICODE_STRING);
/* Not in ex_nic.variants: sync.unlocked_shared sees it only in a machine made with
 * cfg.watch_device_extensions, which ex_nic.configure cannot switch on for one variant. */
NTSTATUS nic_entry_counters_unlocked(PDRIVER_OBJECT, PUNICODE_STRING);

#endif /* NIC_SIM_H */
