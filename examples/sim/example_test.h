/* SPDX-License-Identifier: MIT */
/*
 * example_test.h - what the examples' CMocka tests (examples/<name>/test_*.c)
 * share: a machine configured as the example wants it, and the comparison of
 * two runs of the same seed. Include after <cmocka.h> and "kdpc_test.h".
 */
#ifndef KDPC_EXAMPLE_TEST_H
#define KDPC_EXAMPLE_TEST_H

#include "example.h"

/* A machine of kt_config(@cpus, @seed) adjusted by @ex's configure; fails the test if it
 * cannot be made. */
static inline kdpc_machine *ex_test_machine(const ex_example *ex, unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    if (ex->configure != NULL)
        ex->configure(&cfg);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* Two runs of the same config, seed and options gave the same numbers. */
static inline void ex_assert_same_numbers(const ex_result *a, const ex_result *b)
{
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->virtual_ns, b->virtual_ns);
    assert_int_equal(a->requests, b->requests);
    assert_int_equal(a->requests_failed, b->requests_failed);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->lost, b->lost);
    assert_int_equal(a->faults, b->faults);
    assert_int_equal(a->errorlog, b->errorlog);
    assert_string_equal(a->notes, b->notes);
}

#endif /* KDPC_EXAMPLE_TEST_H */
