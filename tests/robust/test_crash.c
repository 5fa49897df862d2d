/* SPDX-License-Identifier: MIT */
/*
 * test_crash.c - a crash of driver code inside simulated code is a bug check
 * report (rule ke.crash), the run returns KDPC_BUGCHECK and the test process
 * goes on: every crash kind (NULL read and write, a garbage pointer, a wild
 * address, abort(), integer division by zero, an illegal instruction, a stack
 * overflow) in every context (the entry thread, a system thread, a DPC, an
 * ISR, a timer DPC, a work item), on 1 and 2 CPUs, followed by a clean run on
 * a fresh machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>

#include "kdpc_test.h"

/* ------------------------------------------------------------------ */
/* The crashes                                                         */

typedef enum crash_kind {
    CRASH_NULL_READ,
    CRASH_NULL_WRITE,
    CRASH_GARBAGE, /* a 0xCC-filled pointer: non-canonical, a general-protection fault */
    CRASH_WILD,    /* a canonical address nobody mapped */
    CRASH_ABORT,
    CRASH_DIVIDE,
    CRASH_ILLEGAL,
    CRASH_RECURSION,
    CRASH_KINDS
} crash_kind;

static volatile crash_kind kind;
static volatile int sink;
static volatile int zero;
static volatile uintptr_t poison = (uintptr_t)0xCCCCCCCCCCCCCCCCull;
static volatile uintptr_t wild = (uintptr_t)0x00007ff0deadb000ull;

static volatile int depth_limit = 1 << 30; /* never reached: the stack ends first */

#if defined(__GNUC__) || defined(__clang__)
__attribute__((no_sanitize("address", "undefined")))
#endif
static int
recurse(int depth)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    frame[511] = (char)depth;
    if (depth >= depth_limit)
        return 0;
    return recurse(depth + 1) + frame[0] + frame[511];
}

/* The sanitizers would report these before the hardware does (UBSan ends the process at a
 * division by zero or NULL load): the crash itself is what this test is about. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((no_sanitize("address", "undefined")))
#endif
static void
crash_now(void)
{
    switch (kind) {
    case CRASH_NULL_READ:
        sink = *(volatile int *)(uintptr_t)(zero + 8);
        break;
    case CRASH_NULL_WRITE:
        *(volatile int *)(uintptr_t)(zero + 16) = 1;
        break;
    case CRASH_GARBAGE:
        sink = *(volatile int *)poison;
        break;
    case CRASH_WILD:
        sink = *(volatile int *)wild;
        break;
    case CRASH_ABORT:
        abort();
    case CRASH_DIVIDE:
        sink = 100 / zero;
        break;
    case CRASH_ILLEGAL:
        __builtin_trap();
    case CRASH_RECURSION:
        sink = recurse(0);
        break;
    case CRASH_KINDS:
        break;
    }
}

/* ------------------------------------------------------------------ */
/* The contexts                                                        */

typedef enum context {
    IN_ENTRY,
    IN_THREAD,
    IN_DPC,
    IN_ISR,
    IN_TIMER_DPC,
    IN_WORK_ITEM,
    CONTEXTS
} context;

static KDPC dpc;
static KTIMER timer;
static KDPC timer_dpc;
static PKINTERRUPT interrupt;
static WORK_QUEUE_ITEM work;
static volatile LONG reached;

static void CrashingDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)ctx, (void)a1, (void)a2;
    crash_now();
}

static BOOLEAN CrashingIsr(PKINTERRUPT i, PVOID ctx)
{
    (void)i, (void)ctx;
    crash_now();
    return TRUE;
}

static void CrashingWork(PVOID ctx)
{
    (void)ctx;
    crash_now();
}

static void CrashingThread(PVOID ctx)
{
    (void)ctx;
    crash_now();
}

static void Entry(void *arg)
{
    kdpc_machine *m = arg;
    switch ((context)(uintptr_t)kdpc_machine_seed(m) % CONTEXTS) {
    case IN_ENTRY:
        crash_now();
        break;
    case IN_THREAD: {
        HANDLE h;
        assert_int_equal(PsCreateSystemThread(&h, 0, NULL, NULL, NULL, CrashingThread, NULL),
                         STATUS_SUCCESS);
        ZwClose(h);
        break;
    }
    case IN_DPC:
        KeInitializeDpc(&dpc, CrashingDpc, NULL);
        KeInsertQueueDpc(&dpc, NULL, NULL);
        break;
    case IN_ISR:
        assert_int_equal(IoConnectInterrupt(&interrupt, CrashingIsr, NULL, NULL, 9, 5, 5, Latched,
                                            FALSE, 0x3, FALSE),
                         STATUS_SUCCESS);
        kdpc_line_assert(m, 9);
        for (;;)
            KeStallExecutionProcessor(1);
    case IN_TIMER_DPC: {
        LARGE_INTEGER due;
        due.QuadPart = -10000; /* 1 ms */
        KeInitializeDpc(&timer_dpc, CrashingDpc, NULL);
        KeInitializeTimer(&timer);
        KeSetTimer(&timer, due, &timer_dpc);
        break;
    }
    case IN_WORK_ITEM:
        ExInitializeWorkItem(&work, CrashingWork, NULL);
        ExQueueWorkItem(&work, DelayedWorkQueue);
        break;
    case CONTEXTS:
        break;
    }
    reached = 1;
}

/* The seed selects the context (seed % CONTEXTS), so a failing case replays by its seed. */
static kdpc_status crash_run(crash_kind k, context where, unsigned cpus, kdpc_machine **out)
{
    kind = k;
    reached = 0;
    kdpc_config cfg = kt_config(cpus, (uint64_t)where + CONTEXTS * (uint64_t)k);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, Entry);
    KDPC_NAME(m, CrashingThread);
    KDPC_NAME(m, CrashingDpc);
    KDPC_NAME(m, CrashingIsr);
    KDPC_NAME(m, CrashingWork);
    kdpc_status st = kdpc_machine_run(m, Entry, m);
    *out = m;
    return st;
}

static const char *const context_names[CONTEXTS] = {
    "Entry", "CrashingThread", "CrashingDpc", "CrashingIsr", "CrashingDpc", "CrashingWork"};

/* What Windows raises for each crash kind in each context (see src/ke/crash.c). */
static uint32_t expected_code(crash_kind k, context where)
{
    bool raised = where == IN_DPC || where == IN_ISR || where == IN_TIMER_DPC;
    switch (k) {
    case CRASH_NULL_READ:
    case CRASH_NULL_WRITE:
        return raised ? 0xD1 : 0x7E;
    case CRASH_GARBAGE:
        return raised ? 0x1E : 0x7E;
    case CRASH_WILD:
        return raised ? 0xD1 : 0x50;
    case CRASH_ABORT:
        return 0x139;
    case CRASH_DIVIDE:
    case CRASH_ILLEGAL:
        return raised ? 0x1E : 0x7E;
    case CRASH_RECURSION:
        return 0x7F;
    case CRASH_KINDS:
        break;
    }
    return 0;
}

static void check_crash(crash_kind k, context where, unsigned cpus)
{
    kdpc_machine *m = NULL;
    kdpc_status st = crash_run(k, where, cpus, &m);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    if (st != KDPC_BUGCHECK || bc == NULL || strcmp(bc->rule, "ke.crash") != 0 ||
        bc->code != expected_code(k, where)) {
        print_error("crash kind %d in context %d on %u CPU(s): status %d, rule %s, code %#x "
                    "(expected %#x)\n",
                    (int)k, (int)where, cpus, (int)st, bc != NULL ? bc->rule : "-",
                    bc != NULL ? (unsigned)bc->code : 0u, (unsigned)expected_code(k, where));
        fail();
    }
    assert_true(bc->fatal);
    /* The report names the routine that crashed. */
    assert_string_equal(bc->routine, context_names[where]);
    assert_true(kdpc_machine_halted(m));
    assert_int_equal(kdpc_machine_run(m, Entry, m), KDPC_E_HALTED);
    kdpc_machine_destroy(m);
}

static void test_every_crash_kind_in_every_context_is_a_bugcheck(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        for (int k = 0; k < CRASH_KINDS; k++) {
            for (int c = 0; c < CONTEXTS; c++)
                check_crash((crash_kind)k, (context)c, cpus);
        }
    }
}

static void test_null_write_in_a_dpc_names_address_irql_and_access(void **state)
{
    (void)state;
    kdpc_machine *m = NULL;
    kdpc_status st = crash_run(CRASH_NULL_WRITE, IN_DPC, 1, &m);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0xD1);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 16);    /* the address */
    assert_int_equal(bc->params[1], 2);     /* DISPATCH_LEVEL */
    assert_int_equal(bc->params[2], 1);     /* a write */
    assert_int_not_equal(bc->params[3], 0); /* the instruction */
    assert_int_equal(bc->irql, 2);
    assert_non_null(strstr(bc->message, "NULL pointer dereference"));
    kdpc_machine_destroy(m);
}

static void test_garbage_pointer_in_a_thread_is_an_access_violation(void **state)
{
    (void)state;
    kdpc_machine *m = NULL;
    kdpc_status st = crash_run(CRASH_GARBAGE, IN_ENTRY, 1, &m);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x7E);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0xC0000005u);
    assert_non_null(strstr(kdpc_machine_bugcheck(m)->message, "general-protection"));
    kdpc_machine_destroy(m);
}

static void test_divide_by_zero_in_an_isr_is_kmode_exception(void **state)
{
    (void)state;
    kdpc_machine *m = NULL;
    kdpc_status st = crash_run(CRASH_DIVIDE, IN_ISR, 2, &m);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x1E);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0xC0000094u);
    assert_int_equal(bc->irql, 5);
    kdpc_machine_destroy(m);
}

static void test_stack_overflow_in_a_dpc_is_a_double_fault(void **state)
{
    (void)state;
    kdpc_machine *m = NULL;
    kdpc_status st = crash_run(CRASH_RECURSION, IN_DPC, 1, &m);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x7F);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 8);
    assert_non_null(strstr(kdpc_machine_bugcheck(m)->message, "stack overflow"));
    kdpc_machine_destroy(m);
}

static void test_abort_is_a_fast_fail(void **state)
{
    (void)state;
    kdpc_machine *m = NULL;
    kdpc_status st = crash_run(CRASH_ABORT, IN_WORK_ITEM, 1, &m);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x139);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 7);
    kdpc_machine_destroy(m);
}

static void test_ke_crash_cannot_be_switched(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 0);
    assert_int_equal(kdpc_rule_set(m, "ke.crash", KDPC_RULE_OFF), KDPC_EINVAL);
    assert_int_equal(kdpc_rule_set(m, "*", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, "ke.crash"), KDPC_RULE_BUGCHECK);
    kind = CRASH_NULL_READ;
    kdpc_status st = kdpc_machine_run(m, Entry, m); /* seed 0: in the entry */
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x7E);
    kdpc_machine_destroy(m);
}

static void CleanEntry(void *arg)
{
    (void)arg;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeLowerIrql(old);
    reached = 2;
}

/* After many contained crashes the process, its signal handlers and new machines work. */
static void test_a_clean_machine_runs_after_crashes(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        kdpc_machine *m = NULL;
        (void)crash_run((crash_kind)(i % CRASH_KINDS), (context)(i % CONTEXTS), 1, &m);
        kdpc_machine_destroy(m);
    }
    kdpc_machine *m = kt_machine(2, 3);
    assert_int_equal(kdpc_machine_run(m, CleanEntry, NULL), KDPC_OK);
    assert_int_equal(reached, 2);
    kdpc_machine_destroy(m);
}

/* Outside simulated code a fault is the host's: kdpc's handler hands it on (here to a handler
 * the test installs), between runs and while no machine exists. */
static sigjmp_buf host_jump;
static void host_handler(int sig)
{
    siglongjmp(host_jump, sig);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((no_sanitize("undefined")))
#endif
static void
host_divide(void)
{
    sink = 100 / zero; /* not 1 / x: compilers turn that into a comparison */
}

static void test_a_host_fault_outside_simulated_code_goes_to_the_host_handler(void **state)
{
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = host_handler;
    sa.sa_flags = SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGFPE, &sa, &old);
    kdpc_machine *m = kt_machine(1, 0);
    int sig = sigsetjmp(host_jump, 1);
    if (sig == 0)
        host_divide();
    assert_int_equal(sig, SIGFPE);
    kdpc_machine_destroy(m);
    sigaction(SIGFPE, &old, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_crash_kind_in_every_context_is_a_bugcheck),
        cmocka_unit_test(test_null_write_in_a_dpc_names_address_irql_and_access),
        cmocka_unit_test(test_garbage_pointer_in_a_thread_is_an_access_violation),
        cmocka_unit_test(test_divide_by_zero_in_an_isr_is_kmode_exception),
        cmocka_unit_test(test_stack_overflow_in_a_dpc_is_a_double_fault),
        cmocka_unit_test(test_abort_is_a_fast_fail),
        cmocka_unit_test(test_ke_crash_cannot_be_switched),
        cmocka_unit_test(test_a_clean_machine_runs_after_crashes),
        cmocka_unit_test(test_a_host_fault_outside_simulated_code_goes_to_the_host_handler),
    };
    return cmocka_run_group_tests_name("crash", tests, NULL, NULL);
}
