/* SPDX-License-Identifier: MIT */
/*
 * corpus_test.h - what the corpus tests share (test code: kdpc's native API
 * and CMocka). Include after <cmocka.h>.
 */
#ifndef CORPUS_TEST_H
#define CORPUS_TEST_H

#include "kdpc_test.h"

/* A machine for a corpus driver: @cpus CPUs, @seed, a 1 ms clock tick so that periodic timers of
 * a few milliseconds expire on time. */
static inline kdpc_machine *ct_machine(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.clock_tick_ns = 1000000;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* No rule fired, no bug check. */
static inline void ct_assert_clean(kdpc_machine *m)
{
    assert_null(kdpc_machine_bugcheck(m));
    KT_ASSERT_NO_VIOLATION(m, "io.irp_lost");
    KT_ASSERT_NO_VIOLATION(m, "io.double_complete");
    KT_ASSERT_NO_VIOLATION(m, "sync.isr_unsynchronized");
}

/* Sleep @ms of virtual time (simulated code at PASSIVE_LEVEL). */
static inline void ct_sleep_ms(ULONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)ms * 10000;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* An IOCTL through kdpc_file_ioctl with a ULONG in and nothing out. */
static inline NTSTATUS ct_ioctl_ulong(PFILE_OBJECT f, ULONG code, ULONG value)
{
    return kdpc_file_ioctl(f, code, &value, sizeof value, NULL, 0, NULL);
}

#endif /* CORPUS_TEST_H */
