/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"
#include "nic_sim.h"

static void test_smoke(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 1);
    ex_nic.configure(&cfg);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    ex_options o = {.duration_ns = 50000000, .load = EX_LOAD_LIGHT};
    ex_result r;
    nic_sim_run(m, &o, NULL, &r);
    printf("status %d lost %llu req %llu problem '%s'\n%s\n", r.status, (unsigned long long)r.lost,
           (unsigned long long)r.requests, r.problem, r.notes);
    assert_true(ex_clean(m, &r));
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
