/* SPDX-License-Identifier: MIT */
/*
 * test_fault_injection.c - every fault kind of kdpc/device.h, injected into
 * the XF-1 device of pnpdrv/vdev.c, and the path of the driver in
 * pnpdrv/pnpdrv.c (written as for Windows) that copes with it:
 *
 *   KDPC_FAULT_TRANSFER_ERROR     a DMA transfer fails: STATUS ERR -> retry
 *                                 (PNPDRV_MAX_RETRIES), then STATUS_IO_DEVICE_ERROR
 *                                 and an error log entry;
 *   KDPC_FAULT_SHORT_TRANSFER     XFER < LEN: the same retry / error-log path;
 *   KDPC_FAULT_LOST_INTERRUPT     no interrupt: the watchdog timer DPC finds the
 *                                 operation overdue and done, finishes it and
 *                                 logs the lost interrupt;
 *   KDPC_FAULT_LATE_INTERRUPT     late past the watchdog: as a lost one (the
 *                                 acknowledgement cancels the late raise);
 *                                 late within it: only a slower completion;
 *   KDPC_FAULT_SPURIOUS_INTERRUPT the ISR finds nothing pending and returns
 *                                 FALSE; no request suffers.
 *
 * And a device that hangs (a model option, not an injected fault): the
 * watchdog resets it and retries. The same seed gives the same faults, the
 * same retries and the same error log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"
#include "pnpdrv.h"
#include "vdev.h"
#include "client.h"

#define NREQ 24

static struct {
    unsigned permille[KDPC_FAULT_KINDS];
    kdpc_machine *m;
    vdev *v;
    PDRIVER_OBJECT drv;
    NTSTATUS load;
    kdpc_status plug;
    xf_client client;
    NTSTATUS open;
    xf_req req[NREQ];
    NTSTATUS final[NREQ];
    PNPDRV_STATS stats;
    NTSTATUS stats_status;
    kdpc_status unplug;
    bool pull_while_lost;    /* surprise removal while the watchdog waits for a lost interrupt */
    kdpc_device_state after; /* the device's state at the end */
    int reached_end;
} t;

static void TestEntry(void *ctx)
{
    (void)ctx;
    t.plug = vdev_plug(t.v, t.m);
    if (t.plug != KDPC_OK)
        return;
    for (int k = 0; k < KDPC_FAULT_KINDS; k++)
        (void)kdpc_device_set_fault(t.v->dev, (kdpc_fault_kind)k, t.permille[k]);
    t.load = kdpc_driver_load(t.m, "pnpdrv", PnpDrvDriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load))
        return;
    t.open = xf_open(&t.client);
    if (!NT_SUCCESS(t.open))
        return;
    for (int i = 0; i < NREQ; i++)
        (void)xf_send(&t.client, &t.req[i], 8u + (ULONG)(i * 53) % (PNPDRV_MAX_DATA - 8u),
                      (ULONG)i);
    if (t.pull_while_lost) { /* one clock tick: the watchdog (20 ms) has not fired yet */
        LARGE_INTEGER d;
        d.QuadPart = -10000;
        (void)KeDelayExecutionThread(KernelMode, FALSE, &d);
        t.unplug = kdpc_device_unplug(t.v->dev, KDPC_UNPLUG_SURPRISE);
    }
    for (int i = 0; i < NREQ; i++)
        t.final[i] = xf_wait(&t.req[i], 20000);
    t.stats_status = xf_stats(&t.client, &t.stats);
    xf_close(&t.client);
    if (!t.pull_while_lost)
        t.unplug = kdpc_device_unplug(t.v->dev, KDPC_UNPLUG_ORDERLY);
    LARGE_INTEGER ms;
    ms.QuadPart = -10000;
    for (int i = 0; i < 100 && kdpc_device_get_state(t.v->dev) != KDPC_DEVICE_REMOVED; i++)
        (void)KeDelayExecutionThread(KernelMode, FALSE, &ms);
    t.after = kdpc_device_get_state(t.v->dev);
    (void)kdpc_driver_unload(t.drv);
    t.reached_end = 1;
}

static void run(unsigned cpus, uint64_t seed, const vdev_config *cfg)
{
    unsigned permille[KDPC_FAULT_KINDS];
    memcpy(permille, t.permille, sizeof permille);
    bool pull = t.pull_while_lost;
    memset(&t, 0, sizeof t);
    memcpy(t.permille, permille, sizeof permille);
    t.pull_while_lost = pull;
    PnpDrvBugs = 0;
    vdev_config c;
    vdev_config_init(&c);
    if (cfg != NULL)
        c = *cfg;
    t.v = vdev_new(&c);
    assert_non_null(t.v);
    t.m = kt_machine(cpus, seed);
    kdpc_status st = kdpc_machine_run(t.m, TestEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(t.plug, KDPC_OK);
    assert_int_equal(t.load, STATUS_SUCCESS);
    assert_int_equal(t.open, STATUS_SUCCESS);
    assert_int_equal(t.stats_status, STATUS_SUCCESS);
    assert_int_equal(t.unplug, KDPC_OK);
    assert_int_equal(t.after, KDPC_DEVICE_REMOVED);
    assert_int_equal(t.reached_end, 1);
    KT_ASSERT_NO_VIOLATION(t.m, "io.irp_lost");
    KT_ASSERT_NO_VIOLATION(t.m, "io.double_complete");
    KT_ASSERT_NO_VIOLATION(t.m, "isr.storm");
    KT_ASSERT_NO_VIOLATION(t.m, "sync.isr_unsynchronized");
    KT_ASSERT_NO_VIOLATION(t.m, "sync.unlocked_shared");
    assert_null(kdpc_machine_bugcheck(t.m));
}

static void done(void)
{
    kdpc_machine_destroy(t.m);
    vdev_free(t.v);
    memset(t.permille, 0, sizeof t.permille);
    t.pull_while_lost = false;
}

static void set_fault(kdpc_fault_kind k, unsigned permille)
{
    memset(t.permille, 0, sizeof t.permille);
    t.permille[k] = permille;
}

/* Every request completed once: with its bytes, or (@may_fail) STATUS_IO_DEVICE_ERROR.
 * Returns the number that failed. */
static ULONG check_requests(bool may_fail)
{
    ULONG failed = 0;
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(t.req[i].Completions, 1);
        if (may_fail && t.final[i] == STATUS_IO_DEVICE_ERROR) {
            assert_int_equal(t.req[i].Iosb.Information, 0);
            failed++;
            continue;
        }
        assert_int_equal(t.final[i], STATUS_SUCCESS);
        assert_true(xf_data_ok(&t.req[i]));
    }
    assert_int_equal(t.stats.Completed + t.stats.Failed, NREQ);
    assert_int_equal(t.stats.Failed, failed);
    return failed;
}

/* Error log entries with @code; *retry_sum gets the sum of their RetryCount. */
static ULONG log_count(NTSTATUS code, ULONG *retry_sum)
{
    ULONG n = 0, sum = 0;
    for (size_t i = 0; i < kdpc_errorlog_count(t.m); i++) {
        const kdpc_errorlog_entry *e = kdpc_errorlog_entry_at(t.m, i);
        assert_non_null(e);
        assert_int_equal(e->IoControlCode, IOCTL_PNPDRV_TRANSFORM);
        assert_int_equal(e->MajorFunctionCode, IRP_MJ_DEVICE_CONTROL);
        if (e->ErrorCode != code)
            continue;
        n++;
        sum += e->RetryCount;
        if (code == PNPDRV_MSG_TRANSFER_FAILED) {
            assert_int_equal(e->RetryCount, PNPDRV_MAX_RETRIES);
            assert_int_equal(e->FinalStatus, STATUS_IO_DEVICE_ERROR);
        }
        if (code == PNPDRV_MSG_RETRY_SUCCEEDED)
            assert_int_equal(e->FinalStatus, STATUS_SUCCESS);
    }
    if (retry_sum != NULL)
        *retry_sum = sum;
    return n;
}

/* The retry / error-log path: every failed attempt was retried or ended its request, and the
 * log says so. */
static void check_retry_path(void)
{
    ULONG failed = check_requests(true);
    ULONG sum_ok = 0, sum_failed = 0;
    ULONG ok_after_retry = log_count(PNPDRV_MSG_RETRY_SUCCEEDED, &sum_ok);
    ULONG gave_up = log_count(PNPDRV_MSG_TRANSFER_FAILED, &sum_failed);
    assert_int_equal(gave_up, failed);
    assert_int_equal(sum_ok + sum_failed, t.stats.Retries);
    assert_int_equal(t.stats.TransferErrors + t.stats.ShortTransfers,
                     t.stats.Retries + failed); /* each bad attempt: a retry or a failure */
    assert_int_equal(kdpc_errorlog_count(t.m), ok_after_retry + gave_up);
    assert_true(t.stats.Retries > 0);
}

static void test_transfer_error_retried_then_logged(void **state)
{
    (void)state;
    set_fault(KDPC_FAULT_TRANSFER_ERROR, 300);
    run(2, 1, NULL);
    uint64_t injected = kdpc_device_faults_injected(t.v->dev, KDPC_FAULT_TRANSFER_ERROR);
    assert_true(injected > 0);
    assert_int_equal(t.stats.TransferErrors, injected); /* one failed transfer fails the op */
    assert_int_equal(t.stats.ShortTransfers, 0);
    check_retry_path();
    assert_int_equal(t.stats.WatchdogFired, 0);
    done();
}

static void test_transfer_error_always_fails_every_request_after_its_retries(void **state)
{
    (void)state;
    set_fault(KDPC_FAULT_TRANSFER_ERROR, 1000);
    run(2, 2, NULL);
    assert_int_equal(check_requests(true), NREQ);
    assert_int_equal(t.stats.Retries, NREQ * PNPDRV_MAX_RETRIES);
    assert_int_equal(t.stats.TransferErrors, NREQ * (PNPDRV_MAX_RETRIES + 1));
    assert_int_equal(log_count(PNPDRV_MSG_TRANSFER_FAILED, NULL), NREQ);
    assert_int_equal(kdpc_errorlog_count(t.m), NREQ);
    done();
}

static void test_short_transfer_retried_then_logged(void **state)
{
    (void)state;
    set_fault(KDPC_FAULT_SHORT_TRANSFER, 300);
    run(2, 3, NULL);
    uint64_t injected = kdpc_device_faults_injected(t.v->dev, KDPC_FAULT_SHORT_TRANSFER);
    assert_true(injected > 0);
    assert_true(t.stats.ShortTransfers > 0);
    assert_true(t.stats.ShortTransfers <= injected); /* both transfers of one op may be short */
    assert_int_equal(t.stats.TransferErrors, 0);
    check_retry_path();
    done();
}

static void test_lost_interrupt_recovered_by_the_watchdog(void **state)
{
    (void)state;
    set_fault(KDPC_FAULT_LOST_INTERRUPT, 500);
    run(2, 4, NULL);
    uint64_t injected = kdpc_device_faults_injected(t.v->dev, KDPC_FAULT_LOST_INTERRUPT);
    assert_true(injected > 0);
    assert_int_equal(check_requests(false), 0);
    assert_int_equal(t.stats.LostInterrupts, injected);
    assert_int_equal(t.stats.WatchdogFired, injected);
    assert_int_equal(t.stats.IsrClaimed, NREQ - injected);
    assert_int_equal(t.stats.Retries, 0);
    assert_int_equal(log_count(PNPDRV_MSG_LOST_INTERRUPT, NULL), injected);
    assert_int_equal(kdpc_errorlog_count(t.m), injected);
    /* each lost one waited for the watchdog */
    assert_true(kdpc_machine_time_ns(t.m) >= injected * PNPDRV_WATCHDOG_MS * 1000000ull);
    done();
}

static void test_late_interrupt_past_the_watchdog_is_a_lost_one(void **state)
{
    (void)state;
    vdev_config c;
    vdev_config_init(&c);
    c.late_ns = 100000000; /* 100 ms: far past the 20 ms watchdog */
    set_fault(KDPC_FAULT_LATE_INTERRUPT, 500);
    run(2, 5, &c);
    uint64_t injected = kdpc_device_faults_injected(t.v->dev, KDPC_FAULT_LATE_INTERRUPT);
    assert_true(injected > 0);
    assert_int_equal(check_requests(false), 0);
    assert_int_equal(t.stats.LostInterrupts, injected);
    assert_int_equal(log_count(PNPDRV_MSG_LOST_INTERRUPT, NULL), injected);
    /* the acknowledgement lowered the line before the late raise: no stray ISR call */
    assert_int_equal(t.stats.Spurious, 0);
    done();
}

static void test_late_interrupt_within_the_watchdog_only_delays(void **state)
{
    (void)state;
    vdev_config c;
    vdev_config_init(&c);
    c.late_ns = 500000; /* 0.5 ms */
    set_fault(KDPC_FAULT_LATE_INTERRUPT, 500);
    run(2, 6, &c);
    uint64_t injected = kdpc_device_faults_injected(t.v->dev, KDPC_FAULT_LATE_INTERRUPT);
    assert_true(injected > 0);
    assert_int_equal(check_requests(false), 0);
    assert_int_equal(t.stats.WatchdogFired, 0);
    assert_int_equal(t.stats.IsrClaimed, NREQ);
    assert_int_equal(kdpc_errorlog_count(t.m), 0);
    assert_true(kdpc_machine_time_ns(t.m) >= injected * c.late_ns);
    done();
}

static void test_spurious_interrupt_not_claimed_by_the_isr(void **state)
{
    (void)state;
    set_fault(KDPC_FAULT_SPURIOUS_INTERRUPT, 500);
    run(1, 7, NULL); /* one CPU: every ISR call with nothing pending is the injected pulse */
    uint64_t injected = kdpc_device_faults_injected(t.v->dev, KDPC_FAULT_SPURIOUS_INTERRUPT);
    assert_true(injected > 0);
    assert_int_equal(check_requests(false), 0);
    /* the ISR looked at STATUS, found nothing and returned FALSE */
    assert_true(t.stats.Spurious > 0);
    assert_int_equal(t.stats.IsrClaimed, NREQ);
    assert_int_equal(t.stats.Retries + t.stats.WatchdogFired, 0);
    assert_int_equal(kdpc_errorlog_count(t.m), 0);
    done();
}

static void test_hung_device_reset_by_the_watchdog(void **state)
{
    (void)state;
    vdev_config c;
    vdev_config_init(&c);
    c.hang_at_op = 2;
    run(2, 8, &c);
    assert_int_equal(check_requests(false), 0);
    assert_int_equal(t.stats.HungDevice, 1);
    assert_int_equal(t.stats.WatchdogFired, 1);
    assert_int_equal(t.stats.Retries, 1);
    assert_int_equal(log_count(PNPDRV_MSG_DEVICE_HUNG, NULL), 1);
    assert_int_equal(log_count(PNPDRV_MSG_RETRY_SUCCEEDED, NULL), 1);
    done();
}

/* Every interrupt lost, and the device pulled out while the watchdog waits for the first one:
 * the removal completes the operation in flight and fails the queue (STATUS_NO_SUCH_DEVICE),
 * cancels the watchdog and waits for its DPC before the hardware goes: no request twice, none
 * lost, no DPC left queued when the driver is unloaded (unload.pending). */
static void test_surprise_removal_while_the_watchdog_waits(void **state)
{
    (void)state;
    set_fault(KDPC_FAULT_LOST_INTERRUPT, 1000);
    t.pull_while_lost = true;
    run(2, 9, NULL);
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(t.req[i].Completions, 1);
        assert_int_equal(t.final[i], STATUS_NO_SUCH_DEVICE);
    }
    assert_int_equal(t.stats.Removed, NREQ);
    assert_int_equal(t.stats.Completed + t.stats.Failed + t.stats.WatchdogFired, 0);
    assert_true(kdpc_device_faults_injected(t.v->dev, KDPC_FAULT_LOST_INTERRUPT) >= 1);
    assert_true(kdpc_machine_time_ns(t.m) < PNPDRV_WATCHDOG_MS * 1000000ull * 2);
    KT_ASSERT_NO_VIOLATION(t.m, "unload.pending");
    done();
}

typedef struct outcome {
    PNPDRV_STATS stats;
    NTSTATUS final[NREQ];
    size_t log;
    NTSTATUS codes[64];
    uint64_t time_ns;
    uint64_t injected[KDPC_FAULT_KINDS];
} outcome;

static void all_faults_run(uint64_t seed, outcome *o)
{
    for (int k = 0; k < KDPC_FAULT_KINDS; k++)
        t.permille[k] = 150;
    run(2, seed, NULL);
    memset(o, 0, sizeof *o);
    o->stats = t.stats;
    memcpy(o->final, t.final, sizeof o->final);
    o->log = kdpc_errorlog_count(t.m);
    for (size_t i = 0; i < o->log && i < 64; i++)
        o->codes[i] = kdpc_errorlog_entry_at(t.m, i)->ErrorCode;
    o->time_ns = kdpc_machine_time_ns(t.m);
    for (int k = 0; k < KDPC_FAULT_KINDS; k++)
        o->injected[k] = kdpc_device_faults_injected(t.v->dev, (kdpc_fault_kind)k);
    (void)check_requests(true);
    done();
}

static void test_every_kind_at_once_same_seed_same_faults(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        outcome a, b;
        all_faults_run(seed, &a);
        all_faults_run(seed, &b);
        assert_memory_equal(&a, &b, sizeof a);
        uint64_t total = 0;
        for (int k = 0; k < KDPC_FAULT_KINDS; k++)
            total += a.injected[k];
        assert_true(total > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_error_retried_then_logged),
        cmocka_unit_test(test_transfer_error_always_fails_every_request_after_its_retries),
        cmocka_unit_test(test_short_transfer_retried_then_logged),
        cmocka_unit_test(test_lost_interrupt_recovered_by_the_watchdog),
        cmocka_unit_test(test_late_interrupt_past_the_watchdog_is_a_lost_one),
        cmocka_unit_test(test_late_interrupt_within_the_watchdog_only_delays),
        cmocka_unit_test(test_spurious_interrupt_not_claimed_by_the_isr),
        cmocka_unit_test(test_hung_device_reset_by_the_watchdog),
        cmocka_unit_test(test_surprise_removal_while_the_watchdog_waits),
        cmocka_unit_test(test_every_kind_at_once_same_seed_same_faults),
    };
    return cmocka_run_group_tests_name("fault_injection", tests, NULL, NULL);
}
