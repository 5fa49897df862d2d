/* SPDX-License-Identifier: MIT */
/*
 * test_pnp_driver.c - a PnP driver written as for Windows (pnpdrv/pnpdrv.c:
 * <wdm.h> only) on its virtual device (pnpdrv/vdev.c: a register window, a
 * level-sensitive line, bus-master DMA, operations as events in virtual
 * time), driven the way Windows drives it:
 *
 *  - the device is plugged, the driver loaded: the PnP manager calls
 *    AddDevice and sends IRP_MN_START_DEVICE with the CM resources; the
 *    driver maps the window and connects the interrupt from them;
 *  - two threads send IOCTLs through a file object (IoGetDeviceObjectPointer),
 *    all in flight at once: dispatch -> IoStartPacket -> StartIo -> device
 *    -> ISR -> DpcForIsr; every one completes once with the right bytes;
 *  - an orderly removal is refused while a handle is open, and done once
 *    it is closed; a rebalance stops and restarts the device;
 *  - surprise removal with IRPs in flight (from a thread at seeded times,
 *    and from the device itself half-way through an operation): each IRP
 *    completes exactly once, with its data or STATUS_NO_SUCH_DEVICE; none is
 *    lost; IRP_MN_REMOVE_DEVICE comes when the last handle is closed;
 *  - the broken twins: a register the ISR owns read in the DPC without
 *    KeSynchronizeExecution (sync.isr_unsynchronized), the extension's
 *    counters read without their lock (sync.unlocked_shared), the remove lock
 *    released twice.
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

#define NTHREADS   2
#define PER_THREAD 4
#define NREQ       (NTHREADS * PER_THREAD)

enum { SC_SERVE, SC_SURPRISE, SC_SELF_UNPLUG, SC_REBALANCE, SC_SLEEP };

static struct {
    int scenario;
    LONG unplug_after;       /* SC_SURPRISE: unplug once this many requests completed */
    volatile LONG completed; /* requests completed so far */
    KEVENT reached;
    kdpc_machine *m;
    vdev *v;
    PDRIVER_OBJECT drv;
    NTSTATUS load;
    kdpc_status plug;
    kdpc_device_state started_state;
    xf_client client;
    NTSTATUS open;
    xf_req req[NREQ], late;
    NTSTATUS final[NREQ];
    KEVENT thread_done[NTHREADS];
    PNPDRV_STATS stats;
    NTSTATUS stats_status;
    /* kdpc_file_open */
    NTSTATUS fopen;
    PVOID fs_context;
    UCHAR uin[100], uout[100];
    ULONG_PTR uinfo;
    NTSTATUS uioctl, uclose;
    PDEVICE_OBJECT fdo_seen;
    /* removal */
    kdpc_status orderly_busy, orderly, surprise, rebalance;
    NTSTATUS sleep, wake;
    kdpc_device_state state_busy, state_after_unplug, state_after_close;
    NTSTATUS after_removal;
    PDEVICE_OBJECT devobj_left;
    NTSTATUS unload;
    int reached_end;
} t;

static void Requester(PVOID Context)
{
    int th = (int)(uintptr_t)Context;
    for (int k = 0; k < PER_THREAD; k++) {
        int i = th * PER_THREAD + k;
        (void)xf_send(&t.client, &t.req[i], 1u + (ULONG)(i * 37) % PNPDRV_MAX_DATA, (ULONG)i);
    }
    for (int k = 0; k < PER_THREAD; k++) {
        int i = th * PER_THREAD + k;
        t.final[i] = xf_wait(&t.req[i], 2000);
    }
    KeSetEvent(&t.thread_done[th], IO_NO_INCREMENT, FALSE);
}

static void CompletionSeen(xf_req *r)
{
    (void)r;
    if (InterlockedIncrement(&t.completed) == t.unplug_after)
        KeSetEvent(&t.reached, IO_NO_INCREMENT, FALSE);
}

static void run_requesters(void)
{
    KeInitializeEvent(&t.reached, NotificationEvent, FALSE);
    t.completed = 0;
    xf_completion_hook = CompletionSeen;
    HANDLE h[NTHREADS];
    for (int th = 0; th < NTHREADS; th++) {
        KeInitializeEvent(&t.thread_done[th], NotificationEvent, FALSE);
        (void)PsCreateSystemThread(&h[th], 0, NULL, NULL, NULL, Requester, (PVOID)(uintptr_t)th);
    }
    if (t.scenario == SC_SURPRISE) {
        if (t.unplug_after > 0)
            (void)KeWaitForSingleObject(&t.reached, Executive, KernelMode, FALSE, NULL);
        t.surprise = kdpc_device_unplug(t.v->dev, KDPC_UNPLUG_SURPRISE);
    }
    for (int th = 0; th < NTHREADS; th++) {
        (void)KeWaitForSingleObject(&t.thread_done[th], Executive, KernelMode, FALSE, NULL);
        (void)ZwClose(h[th]);
    }
}

/* IRP_MN_REMOVE_DEVICE after the last close comes from the PnP manager's thread: give it time. */
static kdpc_device_state settled_state(void)
{
    LARGE_INTEGER ms;
    ms.QuadPart = -10000;
    for (int i = 0; i < 100 && kdpc_device_get_state(t.v->dev) == KDPC_DEVICE_SURPRISE_REMOVED; i++)
        (void)KeDelayExecutionThread(KernelMode, FALSE, &ms);
    return kdpc_device_get_state(t.v->dev);
}

static void TestEntry(void *ctx)
{
    (void)ctx;
    t.plug = vdev_plug(t.v, t.m);
    if (t.plug != KDPC_OK)
        return;
    t.load = kdpc_driver_load(t.m, "pnpdrv", PnpDrvDriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load))
        return;
    t.started_state = kdpc_device_get_state(t.v->dev);
    t.open = xf_open(&t.client);
    if (!NT_SUCCESS(t.open))
        return;
    if (t.scenario == SC_REBALANCE) {
        t.orderly_busy = kdpc_device_rebalance(t.v->dev); /* refused: a handle is open */
        xf_close(&t.client);
        t.rebalance = kdpc_device_rebalance(t.v->dev);
        t.open = xf_open(&t.client);
        if (!NT_SUCCESS(t.open))
            return;
    }
    run_requesters();
    if (t.scenario == SC_SLEEP) { /* S0 -> S3 -> S0, then the device serves again */
        t.sleep = kdpc_power_set_system(t.m, PowerSystemSleeping3);
        t.wake = kdpc_power_set_system(t.m, PowerSystemWorking);
        run_requesters();
    }
    if (t.scenario != SC_SURPRISE && t.scenario != SC_SELF_UNPLUG) {
        t.stats_status = xf_stats(&t.client, &t.stats);
        /* opened as a program would: the driver sees the FILE_OBJECT of the create */
        PFILE_OBJECT f = NULL;
        t.fopen = kdpc_file_open(t.m, PNPDRV_DOS_NAMEA, FILE_READ_DATA, &f);
        if (NT_SUCCESS(t.fopen)) {
            t.fs_context = f->FsContext;
            t.fdo_seen = f->DeviceObject;
            for (ULONG i = 0; i < sizeof t.uin; i++)
                t.uin[i] = (UCHAR)(i * 3u);
            t.uioctl = kdpc_file_ioctl(f, IOCTL_PNPDRV_TRANSFORM, t.uin, sizeof t.uin, t.uout,
                                       sizeof t.uout, &t.uinfo);
            t.uclose = kdpc_file_close(f);
        }
        t.orderly_busy = kdpc_device_unplug(t.v->dev, KDPC_UNPLUG_ORDERLY); /* a handle is open */
        t.state_busy = kdpc_device_get_state(t.v->dev);
        xf_close(&t.client);
        t.orderly = kdpc_device_unplug(t.v->dev, KDPC_UNPLUG_ORDERLY);
        t.state_after_close = kdpc_device_get_state(t.v->dev);
    } else {
        /* the device is gone; the handle still works and is refused */
        (void)xf_send(&t.client, &t.late, 4, 99);
        t.after_removal = xf_wait(&t.late, 2000);
        t.state_after_unplug = kdpc_device_get_state(t.v->dev);
        xf_close(&t.client); /* the last handle: IRP_MN_REMOVE_DEVICE */
        t.state_after_close = settled_state();
    }
    t.devobj_left = t.drv->DeviceObject;
    t.unload = kdpc_driver_unload(t.drv);
    t.reached_end = 1;
}

/* The next run() watches the device extension (cfg.watch_device_extensions, off by default). */
static bool watch_next;

static kdpc_status run(int scenario, ULONG bugs, uint64_t seed, const vdev_config *cfg,
                       LONG unplug_after)
{
    memset(&t, 0, sizeof t);
    t.scenario = scenario;
    t.unplug_after = unplug_after;
    PnpDrvBugs = bugs;
    vdev_config c;
    vdev_config_init(&c);
    if (cfg != NULL)
        c = *cfg;
    t.v = vdev_new(&c);
    assert_non_null(t.v);
    kdpc_config mc = kt_config(2, seed);
    mc.watch_device_extensions = watch_next; /* sync.unlocked_shared sees the extension */
    t.m = kdpc_machine_create(&mc);
    assert_non_null(t.m);
    return kdpc_machine_run(t.m, TestEntry, NULL);
}

static void done(void)
{
    kdpc_machine_destroy(t.m);
    vdev_free(t.v);
    PnpDrvBugs = 0;
    xf_completion_hook = NULL;
    watch_next = false;
}

static void assert_clean(kdpc_machine *m)
{
    KT_ASSERT_NO_VIOLATION(m, "io.irp_lost");
    KT_ASSERT_NO_VIOLATION(m, "io.double_complete");
    KT_ASSERT_NO_VIOLATION(m, "sync.isr_unsynchronized");
    KT_ASSERT_NO_VIOLATION(m, "sync.unlocked_shared");
    assert_null(kdpc_machine_bugcheck(m));
}

static void test_starts_from_cm_resources_and_serves_ioctls(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_status st = run(SC_SERVE, 0, seed, NULL, 0);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(t.plug, KDPC_OK);
        assert_int_equal(t.load, STATUS_SUCCESS);
        assert_int_equal(t.started_state, KDPC_DEVICE_STARTED);
        assert_int_equal(t.open, STATUS_SUCCESS);
        assert_int_equal(t.reached_end, 1);
        assert_clean(t.m);
        for (int i = 0; i < NREQ; i++) {
            assert_int_equal(t.req[i].CallStatus, STATUS_PENDING);
            assert_int_equal(t.final[i], STATUS_SUCCESS);
            assert_int_equal(t.req[i].Completions, 1);
            assert_true(xf_data_ok(&t.req[i]));
        }
        assert_int_equal(t.stats_status, STATUS_SUCCESS);
        assert_int_equal(t.stats.Completed, NREQ);
        assert_int_equal(t.stats.Failed + t.stats.Retries + t.stats.WatchdogFired, 0);
        assert_int_equal(t.stats.IsrClaimed, NREQ); /* one interrupt per operation */
        assert_int_equal(kdpc_errorlog_count(t.m), 0);
        /* kdpc_file_open: IRP_MJ_CREATE reached the FDO with a FILE_OBJECT it could fill */
        assert_int_equal(t.fopen, STATUS_SUCCESS);
        assert_int_equal((uintptr_t)t.fs_context, 2); /* the driver's second open */
        assert_non_null(t.fdo_seen);
        assert_int_equal(t.uioctl, STATUS_SUCCESS);
        assert_int_equal(t.uinfo, sizeof t.uout);
        for (ULONG i = 0; i < sizeof t.uin; i++)
            assert_int_equal(t.uout[i], t.uin[i] ^ 0x5A);
        assert_int_equal(t.uclose, STATUS_SUCCESS);
        /* orderly removal: the driver refuses IRP_MN_QUERY_REMOVE_DEVICE while a handle is open */
        assert_int_equal(t.orderly_busy, KDPC_EBUSY);
        assert_int_equal(t.state_busy, KDPC_DEVICE_STARTED);
        assert_int_equal(t.orderly, KDPC_OK);
        assert_int_equal(t.state_after_close, KDPC_DEVICE_REMOVED);
        assert_null(t.devobj_left); /* the FDO went with IRP_MN_REMOVE_DEVICE */
        assert_int_equal(t.unload, STATUS_SUCCESS);
        kdpc_device_counters k;
        assert_int_equal(kdpc_device_get_counters(t.v->dev, &k), KDPC_OK);
        assert_true(k.interrupts >= NREQ);
        assert_true(k.dma_bytes_read > 0 && k.dma_bytes_read == k.dma_bytes_written);
        assert_int_equal(t.v->odd_accesses, 0);
        done();
    }
}

/* The same driver on a device whose line is Latched: the CM_RESOURCE_INTERRUPT_LATCHED flag of
 * the translated descriptor makes it connect Latched, and every request still completes. */
static void test_latched_line_from_the_resource_descriptor(void **state)
{
    (void)state;
    vdev_config c;
    vdev_config_init(&c);
    c.latched = true;
    kdpc_status st = run(SC_SERVE, 0, 5, &c, 0);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(t.reached_end, 1);
    assert_clean(t.m);
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(t.req[i].Completions, 1);
        assert_true(xf_data_ok(&t.req[i]));
    }
    assert_int_equal(t.stats.Completed, NREQ);
    assert_int_equal(t.stats.IsrClaimed, NREQ);
    assert_int_equal(t.stats.WatchdogFired, 0);
    done();
}

static void test_rebalance_stops_and_restarts_the_device(void **state)
{
    (void)state;
    kdpc_status st = run(SC_REBALANCE, 0, 3, NULL, 0);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(t.reached_end, 1);
    assert_int_equal(t.orderly_busy, KDPC_EBUSY); /* QUERY_STOP refused: a handle was open */
    assert_int_equal(t.rebalance, KDPC_OK);       /* STOP, then START with the same resources */
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(t.req[i].Completions, 1);
        assert_true(xf_data_ok(&t.req[i]));
    }
    assert_int_equal(t.stats.Completed, NREQ);
    assert_clean(t.m);
    done();
}

/* S0 -> S3 -> S0 (kdpc_power_set_system): the driver, power policy owner of its stack, turns
 * each system set-power IRP into a device one with PoRequestPowerIrp, completes the system IRP
 * from that request's callback, and restores the device's registers on the way back to D0. */
static void test_sleep_and_wake_then_serves_again(void **state)
{
    (void)state;
    kdpc_status st = run(SC_SLEEP, 0, 2, NULL, 0);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(t.reached_end, 1);
    assert_int_equal(t.sleep, STATUS_SUCCESS);
    assert_int_equal(t.wake, STATUS_SUCCESS);
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(t.req[i].Completions, 1);
        assert_true(xf_data_ok(&t.req[i]));
    }
    assert_int_equal(t.stats.Completed, 2 * NREQ);
    /* power policy owner: S3 became D3, S0 became D0 (registers restored before new I/O) */
    assert_int_equal(t.stats.PowerDowns, 1);
    assert_int_equal(t.stats.PowerUps, 1);
    assert_int_equal(t.orderly, KDPC_OK);
    assert_clean(t.m);
    done();
}

/* Each IRP completed exactly once: with its data, or STATUS_NO_SUCH_DEVICE. Returns how many
 * the removal failed. */
static int check_surprise_outcome(void)
{
    assert_int_equal(t.reached_end, 1);
    assert_clean(t.m);
    int removed = 0;
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(t.req[i].Completions, 1);
        if (t.final[i] == STATUS_NO_SUCH_DEVICE)
            removed++;
        else
            assert_true(xf_data_ok(&t.req[i]));
    }
    assert_int_equal(t.after_removal, STATUS_NO_SUCH_DEVICE); /* new I/O refused */
    assert_int_equal(t.late.Completions, 1);
    assert_int_equal(t.state_after_unplug, KDPC_DEVICE_SURPRISE_REMOVED);
    assert_int_equal(t.state_after_close, KDPC_DEVICE_REMOVED);
    assert_null(t.devobj_left);
    assert_int_equal(t.unload, STATUS_SUCCESS);
    return removed;
}

static void test_surprise_removal_with_irps_in_flight(void **state)
{
    (void)state;
    int removed_total = 0, some_done_some_removed = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        /* from "before the first interrupt" to "all but one done" */
        kdpc_status st = run(SC_SURPRISE, 0, seed, NULL, (LONG)seed - 1);
        assert_int_equal(st, KDPC_OK);
        int removed = check_surprise_outcome();
        assert_int_equal(t.surprise, KDPC_OK);
        /* the requests done before the unplug kept their data; every later one was refused */
        assert_true(removed >= 1 && removed <= NREQ - ((int)seed - 1));
        removed_total += removed;
        if (removed > 0 && removed < NREQ)
            some_done_some_removed++;
        done();
    }
    assert_true(removed_total > 0);
    assert_true(some_done_some_removed > 0);
}

/* The same seed replays the same run: trace digest, virtual time, every request's outcome. */
static void test_surprise_removal_replays_from_its_seed(void **state)
{
    (void)state;
    uint64_t digest[2], time_ns[2];
    NTSTATUS final[2][NREQ];
    for (int k = 0; k < 2; k++) {
        kdpc_status st = run(SC_SURPRISE, 0, 5, NULL, 3);
        assert_int_equal(st, KDPC_OK);
        (void)check_surprise_outcome();
        digest[k] = kdpc_trace_digest(t.m);
        time_ns[k] = kdpc_machine_time_ns(t.m);
        memcpy(final[k], t.final, sizeof final[k]);
        done();
    }
    assert_int_equal(digest[0], digest[1]);
    assert_int_equal(time_ns[0], time_ns[1]);
    assert_memory_equal(final[0], final[1], sizeof final[0]);
}

static void test_device_pulled_out_mid_operation(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        vdev_config c;
        vdev_config_init(&c);
        c.unplug_at_op = 3;
        kdpc_status st = run(SC_SELF_UNPLUG, 0, seed, &c, 0);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(t.v->unplug_status, KDPC_OK);
        int removed = check_surprise_outcome();
        assert_true(removed >= NREQ - 2); /* the third operation and everything behind it */
        done();
    }
}

/* A level-triggered interrupt goes to one CPU, and not again until that CPU's ISR returned
 * (the interrupt controller holds it until the end of interrupt): the ISR never runs on a
 * second CPU for an interrupt the first one is serving, so it never finds STATUS acknowledged
 * already (the driver would count that as spurious). */
static void test_level_interrupt_served_by_one_cpu_at_a_time(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_status st = run(SC_SERVE, 0, seed, NULL, 0);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(t.stats.IsrClaimed, NREQ);
        assert_int_equal(t.stats.Spurious, 0);
        done();
    }
}

/* ---- broken twins ---------------------------------------------------------------------------- */

static void test_twin_register_outside_synchronize_execution(void **state)
{
    (void)state;
    kdpc_status st = run(SC_SERVE, PNPDRV_BUG_REG_UNSYNC, 1, NULL, 0);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(t.m, "sync.isr_unsynchronized");
    const kdpc_violation *v = kdpc_machine_find_violation(t.m, "sync.isr_unsynchronized");
    assert_non_null(strstr(v->message, "PnpDrvIsr"));
    assert_non_null(strstr(v->message, "PnpDrvDpcForIsr"));
    KT_ASSERT_NO_VIOLATION(t.m, "sync.unlocked_shared");
    done();
}

/* The correct driver, its extension watched: nothing it shares between its DPCs and its
 * threads is touched without the lock the other touches hold. */
static void test_correct_driver_clean_with_watched_extension(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        watch_next = true;
        kdpc_status st = run(SC_SERVE, 0, seed, NULL, 0);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(t.reached_end, 1);
        assert_clean(t.m);
        done();
    }
}

/* GET_STATS copies the counters the DPCs keep under ext->Lock without taking it: with the
 * extension watched, the first unlocked read of a counter is reported at its address. */
static void test_twin_counters_read_without_their_lock(void **state)
{
    (void)state;
    watch_next = true;
    kdpc_status st = run(SC_SERVE, PNPDRV_BUG_STATS_UNLOCKED, 1, NULL, 0);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(t.m, "sync.unlocked_shared");
    const kdpc_violation *v = kdpc_machine_find_violation(t.m, "sync.unlocked_shared");
    assert_non_null(strstr(v->message, "device extension of \\Device\\PnpDrv0"));
    assert_int_equal(v->params[1], 0); /* a read */
    KT_ASSERT_NO_VIOLATION(t.m, "sync.isr_unsynchronized");
    done();
}

static void test_twin_remove_lock_released_twice(void **state)
{
    (void)state;
    kdpc_status st = run(SC_SERVE, PNPDRV_BUG_REMOVE_LOCK_TWICE, 1, NULL, 0);
    /* the first completed request releases its tag a second time: 0xC4, P1 0xD5, P2 the lock */
    KT_ASSERT_BUGCHECK(t.m, st, "removelock.release_unheld", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(t.m);
    assert_int_equal(bc->params[0], 0xD5);
    assert_non_null(strstr(bc->routine, "PnpDrvDpcForIsr"));
    done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_from_cm_resources_and_serves_ioctls),
        cmocka_unit_test(test_latched_line_from_the_resource_descriptor),
        cmocka_unit_test(test_rebalance_stops_and_restarts_the_device),
        cmocka_unit_test(test_sleep_and_wake_then_serves_again),
        cmocka_unit_test(test_surprise_removal_with_irps_in_flight),
        cmocka_unit_test(test_surprise_removal_replays_from_its_seed),
        cmocka_unit_test(test_device_pulled_out_mid_operation),
        cmocka_unit_test(test_level_interrupt_served_by_one_cpu_at_a_time),
        cmocka_unit_test(test_twin_register_outside_synchronize_execution),
        cmocka_unit_test(test_correct_driver_clean_with_watched_extension),
        cmocka_unit_test(test_twin_counters_read_without_their_lock),
        cmocka_unit_test(test_twin_remove_lock_released_twice),
    };
    return cmocka_run_group_tests_name("pnp_driver", tests, NULL, NULL);
}
