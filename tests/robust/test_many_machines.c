/* SPDX-License-Identifier: MIT */
/*
 * test_many_machines.c - no fixed process-wide limit breaks silently: far
 * more than 64 machines alive at once each catch a paged-pool touch at
 * DISPATCH_LEVEL (the fault regions used to be a table of 64 slots: the 65th
 * machine's touch was a host SIGSEGV), and each still reports a crash of its
 * own driver code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define MACHINES 100

static volatile UCHAR sink;

static void TouchPagedAtDispatch(void *arg)
{
    (void)arg;
    volatile UCHAR *p = ExAllocatePoolWithTag(PagedPool, 64, 'tseT');
    assert_non_null((void *)(uintptr_t)p);
    p[0] = 1; /* fine at PASSIVE_LEVEL */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    sink = p[1];                  /* paged pool at DISPATCH_LEVEL */
    KeStallExecutionProcessor(1); /* the bug check comes at this interleaving point */
    KeLowerIrql(old);
}

static void test_a_hundred_live_machines_each_catch_a_paged_touch(void **state)
{
    (void)state;
    kdpc_machine *m[MACHINES];
    for (int i = 0; i < MACHINES; i++)
        m[i] = kt_machine(1, (uint64_t)i);
    for (int i = 0; i < MACHINES; i++) {
        kdpc_status st = kdpc_machine_run(m[i], TouchPagedAtDispatch, NULL);
        KT_ASSERT_BUGCHECK(m[i], st, "mem.paged_touch", 0xD1);
    }
    for (int i = 0; i < MACHINES; i++)
        kdpc_machine_destroy(m[i]);
}

static volatile int *volatile nowhere;

/* UBSan would report the NULL load itself and end the process: the crash is the point here. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((no_sanitize("address", "undefined")))
#endif
static void
NullRead(void *arg)
{
    (void)arg;
    sink = (UCHAR)*nowhere;
}

static void test_a_hundred_live_machines_each_contain_a_crash(void **state)
{
    (void)state;
    kdpc_machine *m[MACHINES];
    for (int i = 0; i < MACHINES; i++)
        m[i] = kt_machine(2, (uint64_t)i);
    for (int i = 0; i < MACHINES; i++) {
        kdpc_status st = kdpc_machine_run(m[i], NullRead, NULL);
        KT_ASSERT_BUGCHECK(m[i], st, "ke.crash", 0x7E);
    }
    for (int i = 0; i < MACHINES; i++)
        kdpc_machine_destroy(m[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_hundred_live_machines_each_catch_a_paged_touch),
        cmocka_unit_test(test_a_hundred_live_machines_each_contain_a_crash),
    };
    return cmocka_run_group_tests_name("many_machines", tests, NULL, NULL);
}
