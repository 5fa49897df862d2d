/* SPDX-License-Identifier: MIT */
/*
 * test_hang.c - every run ends: the hangs that used to run forever end with
 * KDPC_TIMEOUT (and a report of what was still alive) or KDPC_DEADLOCK.
 *
 *  - a thread blocked forever plus a periodic timer with a DPC: the virtual
 *    time limit ends the run (the DPC could wake the thread, so it is no
 *    deadlock); the report names the thread, what it waits on and the timer;
 *  - a thread blocked forever plus a periodic timer with no DPC and no waiter:
 *    that timer wakes nobody, so it is a deadlock at once;
 *  - a StartIo driver that forgets IoStartNextPacket while the test thread
 *    polls: the time limit ends it; the report names the IRP in progress and
 *    the one left in the device queue;
 *  - a livelock with every rule set to warn (a DPC that queues itself again
 *    forever): the step limit ends it;
 *  - virtual time saturates instead of wrapping (a 600-year timeout, a call
 *    cost of UINT64_MAX); run_for with 0 lets no time pass;
 *  - kdpc_machine_destroy from another host thread during a run waits for
 *    the run to end;
 *  - a run may create far more threads one after another than the host could
 *    hold at once;
 *  - a driver loop that never calls the kernel (no interleaving point) is
 *    ended by the host-time watchdog: dpc.watchdog 0x133 in a DPC or ISR,
 *    KDPC_TIMEOUT in a thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "kdpc_test.h"

/* KT_TSAN (kdpc_test.h): ThreadSanitizer delivers a signal to a thread only at its next
 * intercepted call, which such a loop never makes: the watchdog cannot end it there. */
static KEVENT never;
static KTIMER periodic;
static KDPC tick_dpc;
static volatile LONG ticks;

static void TickDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)ctx, (void)a1, (void)a2;
    ticks++;
}

static void BlockedForeverWithTimer(void *arg)
{
    BOOLEAN with_dpc = (BOOLEAN)(uintptr_t)arg;
    LARGE_INTEGER due;
    due.QuadPart = -10000; /* 1 ms */
    KeInitializeEvent(&never, NotificationEvent, FALSE);
    KeInitializeTimer(&periodic);
    KeInitializeDpc(&tick_dpc, TickDpc, NULL);
    KeSetTimerEx(&periodic, due, 10, with_dpc ? &tick_dpc : NULL);
    KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, NULL);
}

static void test_blocked_thread_and_periodic_timer_dpc_ends_at_the_time_limit(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 1);
    cfg.run_time_limit_ns = 60ull * 1000000000ull; /* one virtual minute */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, BlockedForeverWithTimer);
    KDPC_NAME(m, TickDpc);
    ticks = 0;
    kdpc_status st = kdpc_machine_run(m, BlockedForeverWithTimer, (void *)(uintptr_t)TRUE);
    assert_int_equal(st, KDPC_TIMEOUT);
    assert_true(kdpc_machine_time_ns(m) >= cfg.run_time_limit_ns);
    assert_true(ticks > 1000); /* the timer went on firing until the limit */
    const char *r = kdpc_machine_timeout_report(m);
    assert_non_null(r);
    assert_non_null(strstr(r, "KDPC TIMEOUT"));
    assert_non_null(strstr(r, "virtual time limit"));
    assert_non_null(strstr(r, "BlockedForeverWithTimer"));
    assert_non_null(strstr(r, "notification event"));
    assert_non_null(strstr(r, "without a timeout"));
    assert_non_null(strstr(r, "TickDpc"));
    assert_null(kdpc_machine_bugcheck(m));
    assert_true(kdpc_machine_halted(m));
    assert_int_equal(kdpc_machine_run(m, BlockedForeverWithTimer, NULL), KDPC_E_HALTED);
    kdpc_machine_destroy(m);
}

static void test_blocked_thread_and_a_timer_that_wakes_nobody_is_a_deadlock(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 1);
    kdpc_status st = kdpc_machine_run(m, BlockedForeverWithTimer, (void *)(uintptr_t)FALSE);
    assert_int_equal(st, KDPC_DEADLOCK);
    assert_true(kdpc_machine_time_ns(m) < 1000000000ull); /* at once, not at the limit */
    assert_non_null(kdpc_machine_deadlock_report(m));
    assert_null(kdpc_machine_timeout_report(m));
    kdpc_machine_destroy(m);
}

/* A StartIo driver that forgets IoStartNextPacket and never completes. */
#define IOCTL_HANG CTL_CODE(FILE_DEVICE_UNKNOWN, 0x820, METHOD_BUFFERED, FILE_ANY_ACCESS)
static PDEVICE_OBJECT hang_dev;

static void ForgetfulStartIo(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev, (void)Irp; /* neither completes nor starts the next packet */
}

static NTSTATUS HangDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    IoStartPacket(Dev, Irp, NULL, NULL);
    return STATUS_PENDING;
}

static NTSTATUS HangDriverEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->MajorFunction[IRP_MJ_DEVICE_CONTROL] = HangDispatch;
    Drv->DriverStartIo = ForgetfulStartIo;
    return IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &hang_dev);
}

static KEVENT io_done[2];
static IO_STATUS_BLOCK io_sb[2];

static void PollingEntry(void *arg)
{
    kdpc_machine *m = arg;
    PDRIVER_OBJECT drv;
    assert_int_equal(kdpc_driver_load(m, "hangdev", HangDriverEntry, &drv), STATUS_SUCCESS);
    for (int i = 0; i < 2; i++) {
        KeInitializeEvent(&io_done[i], NotificationEvent, FALSE);
        PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_HANG, hang_dev, NULL, 0, NULL, 0, FALSE,
                                                 &io_done[i], &io_sb[i]);
        assert_non_null(irp);
        (void)IoCallDriver(hang_dev, irp);
    }
    while (KeReadStateEvent(&io_done[0]) == 0) /* polls forever */
        KeStallExecutionProcessor(50);
}

static void test_forgotten_start_next_packet_times_out_naming_the_irps(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 4);
    cfg.run_time_limit_ns = 2ull * 1000000000ull;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_status st = kdpc_machine_run(m, PollingEntry, m);
    assert_int_equal(st, KDPC_TIMEOUT);
    const char *r = kdpc_machine_timeout_report(m);
    assert_non_null(r);
    assert_non_null(strstr(r, "in progress (CurrentIrp, StartIo)"));
    assert_non_null(strstr(r, "in the device queue"));
    assert_non_null(strstr(r, "hangdev"));
    kdpc_machine_destroy(m);
}

/* A DPC that queues itself again forever: a livelock once dpc.watchdog is only a warning. */
static KDPC again;
static void AgainDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)ctx, (void)a1, (void)a2;
    KeInsertQueueDpc(d, NULL, NULL);
}

static void LivelockEntry(void *arg)
{
    (void)arg;
    KeInitializeDpc(&again, AgainDpc, NULL);
    KeInsertQueueDpc(&again, NULL, NULL);
}

static void test_livelock_with_rules_set_to_warn_ends_at_the_step_limit(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 7);
    cfg.run_step_limit = 200000;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_rule_set(m, "*", KDPC_RULE_WARN), KDPC_OK);
    KDPC_NAME(m, AgainDpc);
    kdpc_status st = kdpc_machine_run(m, LivelockEntry, NULL);
    assert_int_equal(st, KDPC_TIMEOUT);
    const char *r = kdpc_machine_timeout_report(m);
    assert_non_null(r);
    assert_non_null(strstr(r, "step limit"));
    assert_non_null(strstr(r, "AgainDpc"));
    kdpc_machine_destroy(m);
}

/* Virtual time saturates. */
static volatile NTSTATUS wait_status;
static void SixHundredYears(void *arg)
{
    (void)arg;
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)(600.0 * 365 * 24 * 3600 * 1e7); /* 600 years in 100 ns units */
    KeInitializeEvent(&never, NotificationEvent, FALSE);
    wait_status = KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, &t);
}

static void test_a_six_hundred_year_timeout_saturates_virtual_time(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 0);
    cfg.run_time_limit_ns = 0; /* no limit: the wait itself must end */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    wait_status = STATUS_SUCCESS;
    assert_int_equal(kdpc_machine_run(m, SixHundredYears, NULL), KDPC_OK);
    assert_int_equal(wait_status, STATUS_TIMEOUT);
    assert_true(kdpc_machine_time_ns(m) == UINT64_MAX); /* the end of time, not a wrap */
    kdpc_machine_destroy(m);

    m = kt_machine(1, 0); /* default limit: one virtual hour, then KDPC_TIMEOUT */
    assert_int_equal(kdpc_machine_run(m, SixHundredYears, NULL), KDPC_TIMEOUT);
    kdpc_machine_destroy(m);
}

static void SomeCalls(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        KeStallExecutionProcessor(1);
}

static void test_call_cost_and_tick_of_uint64_max_saturate(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 0);
    cfg.call_cost_ns = UINT64_MAX;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, SomeCalls, NULL), KDPC_TIMEOUT);
    assert_true(kdpc_machine_time_ns(m) == UINT64_MAX);
    kdpc_machine_destroy(m);

    cfg = kt_config(1, 0);
    cfg.call_cost_ns = UINT64_MAX;
    cfg.run_time_limit_ns = 0;
    m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, SomeCalls, NULL), KDPC_OK);
    assert_true(kdpc_machine_time_ns(m) == UINT64_MAX);
    kdpc_machine_destroy(m);

    cfg = kt_config(1, 0);
    cfg.clock_tick_ns = UINT64_MAX;
    m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, SomeCalls, NULL), KDPC_OK);
    kdpc_machine_destroy(m);
}

static volatile LONG entered;
static void Enter(void *arg)
{
    (void)arg;
    entered++;
}

static void test_run_for_zero_lets_no_time_pass(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 0);
    entered = 0;
    assert_int_equal(kdpc_machine_run_for(m, Enter, NULL, 0), KDPC_OK);
    assert_int_equal(kdpc_machine_time_ns(m), 0);
    assert_int_equal(entered, 0);
    /* the entry starts at the next run */
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 1000000), KDPC_OK);
    assert_int_equal(entered, 1);
    kdpc_machine_destroy(m);
}

/* destroy from a foreign host thread during a run waits for the run to end */
static void *destroyer(void *arg)
{
    kdpc_machine_destroy(arg);
    return NULL;
}

static atomic_int destroy_started, run_started;
static void SlowEntry(void *arg)
{
    (void)arg;
    atomic_store(&run_started, 1);
    while (!atomic_load(&destroy_started))
        KeStallExecutionProcessor(10);
    for (int i = 0; i < 2000; i++)
        KeStallExecutionProcessor(10);
    entered = 7;
}

static void *runner(void *arg)
{
    kdpc_machine *m = arg;
    return (void *)(uintptr_t)kdpc_machine_run(m, SlowEntry, NULL);
}

static void test_destroy_from_another_thread_waits_for_the_run(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 0);
    entered = 0;
    atomic_store(&destroy_started, 0);
    atomic_store(&run_started, 0);
    pthread_t run_thread, destroy_thread;
    assert_int_equal(pthread_create(&run_thread, NULL, runner, m), 0);
    while (!atomic_load(&run_started))
        sched_yield();
    assert_int_equal(pthread_create(&destroy_thread, NULL, destroyer, m), 0);
    atomic_store(&destroy_started, 1);
    void *st;
    pthread_join(run_thread, &st);
    assert_int_equal((int)(uintptr_t)st, KDPC_OK);
    assert_int_equal(entered, 7); /* the run was not cut short */
    pthread_join(destroy_thread, NULL);
}

/* Many threads, one after another, in one run. */
static volatile LONG finished;
static void Short(PVOID arg)
{
    (void)arg;
    finished++;
}

static void ManyThreads(void *arg)
{
    LONG n = (LONG)(uintptr_t)arg;
    for (LONG i = 0; i < n; i++) {
        HANDLE h;
        if (PsCreateSystemThread(&h, 0, NULL, NULL, NULL, Short, NULL) != STATUS_SUCCESS)
            return;
        ZwClose(h);
        while (finished <= i)
            KeStallExecutionProcessor(1);
    }
}

static void test_a_run_creates_threads_beyond_what_the_host_holds_at_once(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 0);
    finished = 0;
    /* more than pid_max (32768) threads could ever live at once; fewer under ThreadSanitizer,
     * where each host thread costs milliseconds */
    const LONG n = KT_TSAN ? 2000 : 33000;
    assert_int_equal(kdpc_machine_run(m, ManyThreads, (void *)(uintptr_t)n), KDPC_OK);
    assert_int_equal(finished, n);
    kdpc_machine_destroy(m);
}

/* Loops that never call the kernel. */
static volatile int spin_forever = 1;
static KDPC loop_dpc;

static void LoopingDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d, (void)ctx, (void)a1, (void)a2;
    while (spin_forever)
        ;
}

static void QueueLoopingDpc(void *arg)
{
    (void)arg;
    KeInitializeDpc(&loop_dpc, LoopingDpc, NULL);
    KeInsertQueueDpc(&loop_dpc, NULL, NULL);
}

static void LoopingThread(void *arg)
{
    (void)arg;
    while (spin_forever)
        ;
}

static kdpc_machine *hang_machine(unsigned cpus)
{
    kdpc_config cfg = kt_config(cpus, 3);
    cfg.host_hang_ms = 300;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, LoopingDpc);
    KDPC_NAME(m, LoopingThread);
    return m;
}

static void test_a_dpc_looping_without_kernel_calls_is_the_dpc_watchdog(void **state)
{
    (void)state;
    if (KT_TSAN)
        skip();
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        kdpc_machine *m = hang_machine(cpus);
        kdpc_status st = kdpc_machine_run(m, QueueLoopingDpc, NULL);
        KT_ASSERT_BUGCHECK(m, st, "dpc.watchdog", 0x133);
        assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0);
        assert_string_equal(kdpc_machine_bugcheck(m)->routine, "LoopingDpc");
        kdpc_machine_destroy(m);
    }
}

static void test_a_looping_dpc_with_the_watchdog_off_times_out(void **state)
{
    (void)state;
    if (KT_TSAN)
        skip();
    kdpc_machine *m = hang_machine(1);
    assert_int_equal(kdpc_rule_set(m, "dpc.watchdog", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, QueueLoopingDpc, NULL), KDPC_TIMEOUT);
    const char *r = kdpc_machine_timeout_report(m);
    assert_non_null(r);
    assert_non_null(strstr(r, "LoopingDpc ran 300 ms of host time without calling the kernel"));
    kdpc_machine_destroy(m);
}

static void test_a_thread_looping_without_kernel_calls_times_out(void **state)
{
    (void)state;
    if (KT_TSAN)
        skip();
    kdpc_machine *m = hang_machine(2);
    assert_int_equal(kdpc_machine_run(m, LoopingThread, NULL), KDPC_TIMEOUT);
    assert_null(kdpc_machine_bugcheck(m));
    const char *r = kdpc_machine_timeout_report(m);
    assert_non_null(r);
    assert_non_null(strstr(r, "LoopingThread ran 300 ms"));
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocked_thread_and_periodic_timer_dpc_ends_at_the_time_limit),
        cmocka_unit_test(test_blocked_thread_and_a_timer_that_wakes_nobody_is_a_deadlock),
        cmocka_unit_test(test_forgotten_start_next_packet_times_out_naming_the_irps),
        cmocka_unit_test(test_livelock_with_rules_set_to_warn_ends_at_the_step_limit),
        cmocka_unit_test(test_a_six_hundred_year_timeout_saturates_virtual_time),
        cmocka_unit_test(test_call_cost_and_tick_of_uint64_max_saturate),
        cmocka_unit_test(test_run_for_zero_lets_no_time_pass),
        cmocka_unit_test(test_destroy_from_another_thread_waits_for_the_run),
        cmocka_unit_test(test_a_run_creates_threads_beyond_what_the_host_holds_at_once),
        cmocka_unit_test(test_a_dpc_looping_without_kernel_calls_is_the_dpc_watchdog),
        cmocka_unit_test(test_a_looping_dpc_with_the_watchdog_off_times_out),
        cmocka_unit_test(test_a_thread_looping_without_kernel_calls_times_out),
    };
    return cmocka_run_group_tests_name("hang", tests, NULL, NULL);
}
