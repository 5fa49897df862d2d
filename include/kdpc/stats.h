/* SPDX-License-Identifier: MIT */
/*
 * kdpc/stats.h - how long each ISR and DPC routine ran (G10: measure DPC and
 * ISR time): per routine the number of calls, the total and the longest
 * time of one call, and where and when that longest call ended.
 *
 * Kept on every machine, with tracing on or off, from its creation (or last
 * kdpc_machine_reset) on. Times are virtual: what the routine's CPU was
 * charged from the routine's entry to its return, as the dpc.too_long and
 * isr.too_long rules measure it. That includes any interrupt that nested
 * inside the routine on its CPU: an ISR's time also counts in the DPC (or
 * lower-IRQL ISR) it interrupted.
 */
#ifndef KDPC_STATS_H
#define KDPC_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <kdpc/export.h>
#include <kdpc/status.h>

KDPC_BEGIN_DECLS

typedef struct kdpc_machine kdpc_machine;

/** What a routine is. */
typedef enum kdpc_routine_kind {
    KDPC_ROUTINE_ISR = 0, /**< an interrupt service routine (IoConnectInterrupt(Ex)) */
    KDPC_ROUTINE_DPC = 1  /**< a DPC's DeferredRoutine: DpcForIsr, CustomDpc, timer DPC,
                               threaded DPC */
} kdpc_routine_kind;

/**
 * struct kdpc_routine_stats - one routine's numbers.
 * @name:          the routine's name: kdpc_name_routine's, else the host's symbol table's,
 *                 else "routine@0x..."; kdpc's copy, valid until the next
 *                 kdpc_stats_routine() call on the same machine, its reset or destroy.
 * @routine:       its address.
 * @kind:          ISR or DPC (a routine used as both has two entries).
 * @calls:         calls that returned.
 * @total_ns:      virtual time of all of them.
 * @longest_ns:    the longest one call.
 * @longest_end_ns: virtual time at which that longest call returned.
 * @longest_cpu:   the CPU it ran on.
 */
typedef struct kdpc_routine_stats {
    const char *name;
    uintptr_t routine;
    kdpc_routine_kind kind;
    uint64_t calls;
    uint64_t total_ns;
    uint64_t longest_ns;
    uint64_t longest_end_ns;
    unsigned longest_cpu;
} kdpc_routine_stats;

/**
 * kdpc_stats_routine_count() - how many routines have returned at least once on @m, each
 * (routine, kind) counted once; kdpc_stats_routine() indexes them in the order they first
 * returned.
 * Thread: a host thread between runs.
 * Return: that number; 0 for a NULL @m.
 */
KDPC_EXPORT size_t kdpc_stats_routine_count(const kdpc_machine *m);

/**
 * kdpc_stats_routine() - copy the @i-th routine's numbers into *@out.
 * Thread: a host thread between runs.
 * Return: KDPC_OK; KDPC_EINVAL (NULL @m or @out); KDPC_ENOENT (@i out of range; *@out is
 * zeroed).
 */
KDPC_EXPORT kdpc_status kdpc_stats_routine(kdpc_machine *m, size_t i, kdpc_routine_stats *out);

KDPC_END_DECLS

#endif /* KDPC_STATS_H */
