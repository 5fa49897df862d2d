/* SPDX-License-Identifier: MIT */
/*
 * test_nic.c - the nic example: the NX-2 driver on its virtual device
 * through the workload (sim.c), and its I/O controls one by one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdpc_test.h"
#include "example_test.h"
#include "nic_sim.h"
#include "device/nxframe.h"
#include "driver/nx2hw.h"

#define MS 1000000ull

static kdpc_machine *machine(unsigned cpus, uint64_t seed)
{
    return ex_test_machine(&ex_nic, cpus, seed);
}

static void show(const char *what, const ex_result *r)
{
    if (getenv("NIC_TEST_VERBOSE") != NULL)
        printf("%s: status %d, %llu requests (%llu failed), %llu bytes, lost %llu, faults %llu, "
               "errorlog %llu, %.1f ms\n  %s\n  %s\n",
               what, (int)r->status, (unsigned long long)r->requests,
               (unsigned long long)r->requests_failed, (unsigned long long)r->bytes,
               (unsigned long long)r->lost, (unsigned long long)r->faults,
               (unsigned long long)r->errorlog, (double)r->virtual_ns / 1e6, r->notes, r->problem);
}

/* A clean run's common checks: every request back once with the right data, the books
 * balanced (sim.c checks them and counts any difference in lost). */
static void assert_clean_run(kdpc_machine *m, const ex_result *r, const nic_sim_report *rep)
{
    if (!ex_clean(m, r))
        show("not clean", r);
    assert_int_equal(r->status, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(r->lost, 0);
    assert_string_equal(r->problem, "");
    assert_true(rep->sends_ok > 0);
    assert_true(rep->rx_ok > 0);
    assert_int_equal(rep->stats.Queues, NX2_QUEUES);
    assert_int_equal(rep->device.bad_accesses, 0);
}

/* ---- normal paths ------------------------------------------------------------------------------ */

/* Light load on 2 CPUs: frames loop back, the partner's trickle arrives, the link goes down
 * mid-run and the work item brings it back, the watchdog runs. The one burst of the first
 * 200 ms (queue 0's, 2 ms in: 4096 frames at line rate) overruns queue 0's ring: the budget
 * chains the rest and keeps every DPC call short, the ring's overflow is counted missed, and
 * nothing else is dropped. */
static void test_light_load(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2, 1);
    ex_options o = {.duration_ns = 200 * MS, .load = EX_LOAD_LIGHT};
    ex_result r;
    nic_sim_report rep;
    nic_sim_run(m, &o, NIC_FAULTS_ALL, &rep, &r);
    show("light", &r);
    assert_clean_run(m, &r, &rep);
    assert_int_equal(rep.stats.LinkDowns, 1);
    assert_int_equal(rep.stats.LinkUps, 1);
    assert_int_equal(rep.device.link_downs, 1);
    assert_int_equal(rep.device.link_ups, 1);
    assert_int_equal(rep.stats.Threaded, 0);
    assert_int_equal(rep.stats.PowerDowns, 1); /* S3 and back, three quarters in */
    assert_int_equal(rep.stats.PowerUps, 1);
    assert_true(rep.device.generated > 50);
    assert_true(rep.stats.WatchdogRuns >= 15);
    assert_int_equal(rep.stats.WatchdogKicks, 0);
    assert_int_equal(rep.stats.RxCrcErrors + rep.stats.RxErrors + rep.stats.TxErrors, 0);
    assert_int_equal(rep.stats.RxNoBuffer, 0);
    assert_true(rep.stats.RxMissed > 0 && rep.stats.RxMissed < 4096); /* the burst's alone */
    assert_int_equal(rep.stats.RxMissed, rep.device.missed);
    assert_true(rep.stats.DpcChained > 0);
    assert_true(rep.longest_dpc_ns > 0 && rep.longest_dpc_ns < 100000); /* G8 */
    assert_true(rep.stats.Interrupts > 0 && rep.stats.DpcRuns > 0);
    assert_true(rep.stats_reads > 5);
    assert_int_equal(r.errorlog, 0);
    assert_int_equal(r.requests_failed, 0);
    /* each sent frame came back (none was sent while the link was down: the ring stalled) */
    assert_int_equal(rep.stats.TxFrames, rep.sends_ok);
    assert_true(rep.rx_ok >= rep.sends_ok);
    assert_true(r.virtual_ns >= o.duration_ns);
    kdpc_machine_destroy(m);
}

/* Heavy load on 1 and 4 CPUs: the partner's bursts overrun the rings; the DPC stops after its
 * budget and the chain timer takes the rest; frames beyond the rings are counted missed. */
static void test_heavy_load(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 4; cpus += 3) {
        kdpc_machine *m = machine(cpus, 3);
        ex_options o = {.duration_ns = 20 * MS, .load = EX_LOAD_HEAVY};
        ex_result r;
        nic_sim_report rep;
        nic_sim_run(m, &o, NIC_FAULTS_ALL, &rep, &r);
        show("heavy", &r);
        assert_clean_run(m, &r, &rep);
        assert_true(rep.stats.DpcChained > 0);
        assert_true(rep.stats.RxMissed > 0);
        assert_true(rep.device.generated > 10000);
        assert_true(rep.sends_ok > 100);
        /* each queue's DPC runs on the CPU of its message, queue q on CPU q % cpus */
        for (unsigned q = 0; q < NX2_QUEUES; q++)
            assert_int_equal(rep.stats.DpcCpus[q], 1u << (q % cpus));
        /* G8: the budget keeps every DPC call well under 100 us */
        assert_true(rep.longest_dpc_ns > 0 && rep.longest_dpc_ns < 100000);
        kdpc_machine_destroy(m);
    }
}

/* The threaded mode: DpcMode = 1 in the device key, read at start. */
static void test_threaded_mode(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2, 5);
    ex_options o = {.duration_ns = 40 * MS, .load = EX_LOAD_HEAVY, .mode = "threaded"};
    ex_result r;
    nic_sim_report rep;
    nic_sim_run(m, &o, NIC_FAULTS_ALL, &rep, &r);
    show("threaded", &r);
    assert_clean_run(m, &r, &rep);
    assert_int_equal(rep.stats.Threaded, 1);
    assert_true(rep.stats.DpcChained > 0);
    assert_non_null(ex_nic.modes);
    assert_string_equal(ex_nic.modes[0], "threaded");
    assert_null(ex_nic.modes[1]);
    kdpc_machine_destroy(m);
}

/* ---- the I/O controls one by one ------------------------------------------------------------ */

typedef struct rx_req {
    uint8_t data[NX2_BUFFER];
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    NTSTATUS call, final;
    ULONG_PTR info;
} rx_req;

static void receive_async(PFILE_OBJECT f, rx_req *r, ULONG room)
{
    KeInitializeEvent(&r->done, NotificationEvent, FALSE);
    r->irp = IoBuildDeviceIoControlRequest(IOCTL_NIC_RECEIVE, f->DeviceObject, NULL, 0, r->data,
                                           room, FALSE, &r->done, &r->iosb);
    assert_non_null(r->irp);
    IoGetNextIrpStackLocation(r->irp)->FileObject = f;
    r->call = IoCallDriver(f->DeviceObject, r->irp);
}

static void receive_wait(rx_req *r)
{
    LARGE_INTEGER t;
    t.QuadPart = -10000LL * 100;
    if (KeWaitForSingleObject(&r->done, Executive, KernelMode, FALSE, &t) != STATUS_SUCCESS) {
        r->final = STATUS_TIMEOUT;
        return;
    }
    r->final = r->call == STATUS_PENDING ? r->iosb.Status : r->call;
    r->info = r->iosb.Information;
}

static NTSTATUS send_frame(PFILE_OBJECT f, uint8_t *frame, unsigned len, unsigned flow,
                           uint32_t seq)
{
    nxf_build(frame, len, flow, seq, nx2_mac());
    ULONG_PTR info = 99;
    NTSTATUS st = kdpc_file_ioctl(f, IOCTL_NIC_SEND, frame, len, NULL, 0, &info);
    return st == STATUS_SUCCESS && info != 0 ? STATUS_UNSUCCESSFUL : st;
}

static struct {
    kdpc_machine *m;
    nx2 *hw;
    PDRIVER_OBJECT drv;
    NTSTATUS load, open;
    NIC_STATS stats0, stats1;
    NTSTATUS stats_small, send_tiny, send_big, recv_tiny, bad_code;
    NTSTATUS send[8];
    rx_req waiting, small, backlog, cancelled, closed, removed, after, across;
    NTSTATUS sleep, wake, send_wake;
    NIC_STATS stats2;
    kdpc_status rebalance;
    NTSTATUS send_after;
    BOOLEAN cancel_ret;
    uint8_t frame[NX2_BUFFER];
    NTSTATUS close1, open2, close2, unload;
    kdpc_status unplug;
    kdpc_device_state state;
    int end;
} io;

static void IoEntry(void *ctx)
{
    (void)ctx;
    nx2_params p;
    memset(&p, 0, sizeof p);
    p.queues = NX2_QUEUES;
    p.cpus = KeQueryActiveProcessorCount(NULL);
    if (nx2_plug(io.m, &p, &io.hw) != KDPC_OK)
        return;
    io.load = kdpc_driver_load(io.m, "nic", nic_entry_clean, &io.drv);
    if (!NT_SUCCESS(io.load))
        return;
    PFILE_OBJECT f = NULL;
    io.open = kdpc_file_open(io.m, NIC_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &f);
    if (!NT_SUCCESS(io.open))
        return;
    (void)kdpc_file_ioctl(f, IOCTL_NIC_STATS, NULL, 0, &io.stats0, sizeof io.stats0, NULL);
    io.stats_small = kdpc_file_ioctl(f, IOCTL_NIC_STATS, NULL, 0, io.frame, 8, NULL);
    io.send_tiny = kdpc_file_ioctl(f, IOCTL_NIC_SEND, io.frame, NX2_MIN_FRAME - 1, NULL, 0, NULL);
    io.send_big = kdpc_file_ioctl(f, IOCTL_NIC_SEND, io.frame, NX2_MAX_FRAME + 1, NULL, 0, NULL);
    io.recv_tiny = kdpc_file_ioctl(f, IOCTL_NIC_RECEIVE, NULL, 0, io.frame, 30, NULL);
    io.bad_code =
        kdpc_file_ioctl(f, CTL_CODE(FILE_DEVICE_NETWORK, 0x8FF, METHOD_BUFFERED, FILE_ANY_ACCESS),
                        NULL, 0, NULL, 0, NULL);

    /* a receive waits; a frame on flow 1 (queue 1) comes back to it */
    receive_async(f, &io.waiting, NX2_BUFFER);
    io.send[0] = send_frame(f, io.frame, 200, 1, 0);
    receive_wait(&io.waiting);
    /* a receive buffer smaller than the frame */
    receive_async(f, &io.small, 100);
    io.send[1] = send_frame(f, io.frame, 300, 2, 0);
    receive_wait(&io.small);
    /* no receive waiting: the frame waits in the backlog, the next receive takes it at once */
    io.send[2] = send_frame(f, io.frame, 1514, 3, 0);
    for (unsigned q = 0; q < NX2_QUEUES; q++) /* one frame out of every queue */
        io.send[3 + q] = send_frame(f, io.frame, 64, 4 + q, 0);
    LARGE_INTEGER t;
    t.QuadPart = -10000LL * 2;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    receive_async(f, &io.backlog, NX2_BUFFER);
    receive_wait(&io.backlog);
    for (unsigned q = 0; q < NX2_QUEUES; q++) { /* take the other four */
        rx_req *r = &io.cancelled;
        receive_async(f, r, NX2_BUFFER);
        receive_wait(r);
    }
    (void)kdpc_file_ioctl(f, IOCTL_NIC_STATS, NULL, 0, &io.stats1, sizeof io.stats1, NULL);
    /* a resource rebalance: stop (rings freed, interrupts disconnected) and start again */
    io.rebalance = kdpc_device_rebalance(nx2_device(io.hw));
    receive_async(f, &io.after, NX2_BUFFER);
    io.send_after = send_frame(f, io.frame, 128, 0, 1);
    receive_wait(&io.after);
    /* S3 and back: the driver asks for D3 (the device is reset) and D0 (rings programmed
     * again); a receive pended across it gets the first frame after */
    receive_async(f, &io.across, NX2_BUFFER);
    io.sleep = kdpc_power_set_system(io.m, PowerSystemSleeping3);
    io.wake = kdpc_power_set_system(io.m, PowerSystemWorking);
    io.send_wake = send_frame(f, io.frame, 256, 2, 1);
    receive_wait(&io.across);
    (void)kdpc_file_ioctl(f, IOCTL_NIC_STATS, NULL, 0, &io.stats2, sizeof io.stats2, NULL);
    /* a pended receive is cancelled */
    receive_async(f, &io.cancelled, NX2_BUFFER);
    io.cancel_ret = IoCancelIrp(io.cancelled.irp);
    receive_wait(&io.cancelled);
    /* closing the file cancels its pended receives (IRP_MJ_CLEANUP) */
    receive_async(f, &io.closed, NX2_BUFFER);
    io.close1 = kdpc_file_close(f);
    receive_wait(&io.closed);
    /* a surprise removal completes the pended receives */
    io.open2 = kdpc_file_open(io.m, NIC_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &f);
    if (!NT_SUCCESS(io.open2))
        return;
    receive_async(f, &io.removed, NX2_BUFFER);
    io.unplug = kdpc_device_unplug(nx2_device(io.hw), KDPC_UNPLUG_SURPRISE);
    receive_wait(&io.removed);
    io.close2 = kdpc_file_close(f);
    io.unload = kdpc_driver_unload(io.drv);
    io.state = kdpc_device_get_state(nx2_device(io.hw));
    io.end = 1;
}

static void test_ioctls(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        memset(&io, 0, sizeof io);
        io.m = machine(cpus, 9);
        assert_int_equal(kdpc_machine_run(io.m, IoEntry, NULL), KDPC_OK);
        assert_int_equal(io.end, 1);
        assert_int_equal(kdpc_machine_violation_count(io.m), 0);
        assert_int_equal(io.load, STATUS_SUCCESS);
        assert_memory_equal(io.stats0.Mac, nx2_mac(), 6);
        assert_int_equal(io.stats0.Queues, NX2_QUEUES);
        assert_int_equal(io.stats0.LinkUp, 1);
        assert_int_equal(io.stats0.Threaded, 0);
        assert_int_equal(io.stats_small, STATUS_BUFFER_TOO_SMALL);
        assert_int_equal(io.send_tiny, STATUS_INVALID_BUFFER_SIZE);
        assert_int_equal(io.send_big, STATUS_INVALID_BUFFER_SIZE);
        assert_int_equal(io.recv_tiny, STATUS_BUFFER_TOO_SMALL);
        assert_int_equal(io.bad_code, STATUS_INVALID_DEVICE_REQUEST);
        for (unsigned i = 0; i < 7; i++)
            assert_int_equal(io.send[i], STATUS_SUCCESS);
        unsigned flow;
        uint32_t seq;
        assert_int_equal(io.waiting.call, STATUS_PENDING);
        assert_int_equal(io.waiting.final, STATUS_SUCCESS);
        assert_int_equal(io.waiting.info, 200);
        assert_true(nxf_check(io.waiting.data, 200, &flow, &seq));
        assert_int_equal(flow, 1);
        assert_int_equal(io.small.final, STATUS_BUFFER_OVERFLOW);
        assert_int_equal(io.small.info, 100);
        uint8_t expect[300];
        nxf_build(expect, 300, 2, 0, nx2_mac());
        assert_memory_equal(io.small.data, expect, 100);
        assert_int_equal(io.backlog.call, STATUS_SUCCESS); /* at once, from the backlog */
        assert_int_equal(io.backlog.info, 1514);
        assert_true(nxf_check(io.backlog.data, 1514, &flow, &seq));
        assert_int_equal(flow, 3);
        assert_int_equal(io.stats1.TxFrames, 7);
        assert_int_equal(io.stats1.RxFrames, 7);
        assert_int_equal(io.stats1.Backlog, 0);
        assert_true(io.stats1.DpcRuns >= NX2_QUEUES);
        assert_int_equal(io.rebalance, KDPC_OK);
        assert_int_equal(io.send_after, STATUS_SUCCESS);
        assert_int_equal(io.after.final, STATUS_SUCCESS);
        assert_int_equal(io.after.info, 128);
        assert_true(nxf_check(io.after.data, 128, &flow, &seq));
        assert_int_equal(seq, 1);
        assert_int_equal(io.sleep, STATUS_SUCCESS);
        assert_int_equal(io.wake, STATUS_SUCCESS);
        assert_int_equal(io.send_wake, STATUS_SUCCESS);
        assert_int_equal(io.across.call, STATUS_PENDING);
        assert_int_equal(io.across.final, STATUS_SUCCESS);
        assert_true(nxf_check(io.across.data, 256, &flow, &seq));
        assert_int_equal(flow, 2);
        assert_int_equal(io.stats2.PowerDowns, 1);
        assert_int_equal(io.stats2.PowerUps, 1);
        assert_int_equal(io.stats2.LinkUp, 1);
        assert_true(io.cancel_ret);
        assert_int_equal(io.cancelled.final, STATUS_CANCELLED);
        assert_int_equal(io.close1, STATUS_SUCCESS);
        assert_int_equal(io.closed.final, STATUS_CANCELLED);
        assert_int_equal(io.open2, STATUS_SUCCESS);
        assert_int_equal(io.unplug, KDPC_OK);
        assert_int_equal(io.removed.final, STATUS_NO_SUCH_DEVICE);
        assert_int_equal(io.close2, STATUS_SUCCESS);
        assert_int_equal(io.state, KDPC_DEVICE_REMOVED);
        assert_int_equal(io.unload, STATUS_SUCCESS);
        assert_int_equal(nx2_get_counters(io.hw)->bad_accesses, 0);
        nx2_free(io.hw);
        kdpc_machine_destroy(io.m);
    }
}

/* ---- faults ------------------------------------------------------------------------------------ */

/* Every fault kind at 20 permille: CRC-error frames dropped and counted, DMA errors on both
 * sides (a failed send completes with STATUS_ADAPTER_HARDWARE_ERROR and an error log entry),
 * lost messages found by the watchdog, spurious and late ones ignored. Still no violation, no
 * loss, the books balanced. */
static void test_faults(void **state)
{
    (void)state;
    uint64_t injected[KDPC_FAULT_KINDS] = {0};
    for (unsigned load = 0; load < 2; load++) {
        kdpc_machine *m = machine(2, 11);
        ex_options o = {.duration_ns = load ? 40 * MS : 400 * MS,
                        .load = load ? EX_LOAD_HEAVY : EX_LOAD_LIGHT,
                        .faults_permille = 20};
        ex_result r;
        nic_sim_report rep;
        nic_sim_run(m, &o, NIC_FAULTS_ALL, &rep, &r);
        show("faults", &r);
        if (getenv("NIC_TEST_VERBOSE") != NULL)
            printf("  injected %llu %llu %llu %llu %llu, messages %llu\n",
                   (unsigned long long)rep.injected[0], (unsigned long long)rep.injected[1],
                   (unsigned long long)rep.injected[2], (unsigned long long)rep.injected[3],
                   (unsigned long long)rep.injected[4], (unsigned long long)rep.device.messages);
        assert_clean_run(m, &r, &rep);
        assert_true(r.faults > 0);
        assert_true(rep.stats.RxCrcErrors > 0);
        assert_int_equal(rep.stats.RxCrcErrors, rep.device.delivered_crc);
        assert_true(rep.stats.TxErrors > 0);
        assert_int_equal(rep.sends_failed, rep.stats.TxErrors);
        assert_int_equal(r.requests_failed, rep.sends_failed);
        assert_true(rep.stats.RxErrors > 0);
        /* one entry per failed send and per receive DMA error */
        assert_int_equal(r.errorlog, rep.stats.TxErrors + rep.stats.RxErrors);
        /* the next message of a queue, or the watchdog, makes up for a lost one
         * (test_all_messages_lost) */
        for (unsigned k = 0; k < KDPC_FAULT_KINDS; k++)
            injected[k] += rep.injected[k];
        kdpc_machine_destroy(m);
    }
    for (unsigned k = 0; k < KDPC_FAULT_KINDS; k++)
        assert_true(injected[k] > 0);
}

/* Every queue message lost: only the watchdog's kicks run the queue DPCs (a lost message's
 * work waits at most two watchdog periods), and the chain timer the rest of a burst, and
 * nothing is lost. */
static void test_all_messages_lost(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2, 13);
    ex_options o = {.duration_ns = 200 * MS, .load = EX_LOAD_LIGHT, .faults_permille = 1000};
    ex_result r;
    nic_sim_report rep;
    nic_sim_run(m, &o, 1u << KDPC_FAULT_LOST_INTERRUPT, &rep, &r);
    show("all lost", &r);
    assert_clean_run(m, &r, &rep);
    assert_int_equal(rep.stats.Interrupts, 0);
    assert_true(rep.stats.WatchdogKicks > 10);
    /* plus the one the driver queues itself at D0 to look at the link, and the runs the
     * chain timer queued after a budget's worth of queue 0's burst (each chain at most one:
     * its insert does nothing while the DPC is queued) */
    assert_true(rep.stats.DpcChained > 0);
    assert_true(rep.stats.DpcRuns >= rep.stats.WatchdogKicks + rep.stats.PowerUps);
    assert_true(rep.stats.DpcRuns <=
                rep.stats.WatchdogKicks + rep.stats.PowerUps + rep.stats.DpcChained);
    assert_int_equal(rep.stats.LinkDowns, 1); /* the link change, seen by a kicked DPC */
    assert_int_equal(rep.stats.LinkUps, 1);
    assert_true(rep.injected[KDPC_FAULT_LOST_INTERRUPT] > 10);
    assert_int_equal(rep.injected[KDPC_FAULT_TRANSFER_ERROR], 0);
    kdpc_machine_destroy(m);
}

/* ---- stop and power down under traffic ------------------------------------------------------- */

/* The partner's bursts keep every queue's DPC chaining (masked, the chain timer armed) and
 * the watchdog running when the PnP manager stops the device (rebalance), a sleep takes it
 * to D3, and the device is pulled out: no DPC of the driver may run once its interrupt is
 * disconnected or its rings freed, nor beside the power-down's own draining of the rings. */
static struct {
    kdpc_machine *m;
    nx2 *hw;
    kdpc_status steps[8];
    NTSTATUS load, unload;
    int end;
} st;

static void StopEntry(void *ctx)
{
    (void)ctx;
    nx2_params p;
    memset(&p, 0, sizeof p);
    p.queues = NX2_QUEUES;
    p.cpus = KeQueryActiveProcessorCount(NULL);
    p.gen_for_ns = 1000 * MS;
    p.burst_frames = 4096;
    p.burst_period_ns = 1 * MS;
    p.gen_max_len = 128;
    if (nx2_plug(st.m, &p, &st.hw) != KDPC_OK)
        return;
    PDRIVER_OBJECT drv;
    st.load = kdpc_driver_load(st.m, "nic", nic_entry_clean, &drv);
    if (!NT_SUCCESS(st.load))
        return;
    LARGE_INTEGER t;
    for (unsigned i = 0; i < 6; i++) {
        t.QuadPart = -10000LL * 2 - (LONGLONG)(kdpc_machine_seed(st.m) * 37 % 10000);
        (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
        if (i % 2 == 0)
            st.steps[i] = kdpc_device_rebalance(nx2_device(st.hw));
        else
            st.steps[i] = kdpc_power_set_system(st.m, PowerSystemSleeping3) == STATUS_SUCCESS &&
                                  kdpc_power_set_system(st.m, PowerSystemWorking) == STATUS_SUCCESS
                              ? KDPC_OK
                              : KDPC_EINVAL;
    }
    t.QuadPart = -10000LL * 2;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    st.steps[6] = kdpc_device_unplug(nx2_device(st.hw), KDPC_UNPLUG_SURPRISE);
    st.unload = kdpc_driver_unload(drv);
    st.end = 1;
}

static void test_stop_under_traffic(void **state)
{
    (void)state;
    for (unsigned cpus = 2; cpus <= 4; cpus += 2) {
        for (uint64_t seed = 1; seed <= 8; seed++) {
            memset(&st, 0, sizeof st);
            st.m = machine(cpus, seed);
            assert_int_equal(kdpc_machine_run(st.m, StopEntry, NULL), KDPC_OK);
            if (kdpc_machine_violation_count(st.m) != 0)
                printf("cpus %u seed %llu: %s\n", cpus, (unsigned long long)seed,
                       kdpc_machine_violation(st.m, 0)->rule);
            assert_int_equal(st.end, 1);
            assert_int_equal(kdpc_machine_violation_count(st.m), 0);
            assert_int_equal(st.load, STATUS_SUCCESS);
            for (unsigned i = 0; i < 7; i++)
                assert_int_equal(st.steps[i], KDPC_OK);
            assert_int_equal(st.unload, STATUS_SUCCESS);
            assert_int_equal(nx2_get_counters(st.hw)->bad_accesses, 0);
            /* the bursts overran the rings: the queue DPCs were chaining throughout */
            assert_true(nx2_get_counters(st.hw)->missed > 10000);
            nx2_free(st.hw);
            kdpc_machine_destroy(st.m);
        }
    }
}

/* ---- clean over 50 seeds on 1, 2 and 4 CPUs ------------------------------------------------------ */

static void test_seeds(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 4; cpus *= 2) {
        kdpc_machine *m = machine(cpus, 1);
        for (uint64_t seed = 1; seed <= 50; seed++) {
            assert_int_equal(kdpc_machine_reset(m, seed), KDPC_OK);
            ex_options o = {.duration_ns = 12 * MS,
                            .load = seed % 5 == 0 ? EX_LOAD_HEAVY : EX_LOAD_LIGHT,
                            .faults_permille = seed % 3 == 0 ? 10u : 0u,
                            .mode = seed % 4 == 0 ? "threaded" : NULL};
            ex_result r;
            nic_sim_report rep;
            nic_sim_run(m, &o, NIC_FAULTS_ALL, &rep, &r);
            if (!ex_clean(m, &r)) {
                printf("cpus %u seed %llu\n", cpus, (unsigned long long)seed);
                show("seed", &r);
            }
            assert_true(ex_clean(m, &r));
            assert_true(rep.sends_ok > 0);
        }
        kdpc_machine_destroy(m);
    }
}

/* ---- broken variants ----------------------------------------------------------------------------- */

static void test_broken_variants(void **state)
{
    (void)state;
    assert_true(ex_nic.nvariants >= 2);
    for (size_t i = 0; i < ex_nic.nvariants; i++) {
        const ex_variant *v = &ex_nic.variants[i];
        assert_ptr_equal(ex_find_variant(&ex_nic, v->name), v);
        /* light load too (kdpc-sim's default): no-budget's DPC runs through queue 0's burst,
         * 2 ms in */
        for (unsigned cpus = 1; cpus <= 4; cpus *= 2) {
            for (unsigned heavy = 0; heavy < 2; heavy++) {
                ex_options o = {.duration_ns = 20 * MS,
                                .load = heavy ? EX_LOAD_HEAVY : EX_LOAD_LIGHT,
                                .variant = v};
                ex_result r;
                kdpc_machine *m = machine(cpus, 21);
                nic_sim_report rep;
                nic_sim_run(m, &o, NIC_FAULTS_ALL, &rep, &r);
                show(v->name, &r);
                if (getenv("NIC_TEST_VERBOSE") != NULL)
                    printf("  longest DPC %.1f us, ISR %.1f us\n", (double)rep.longest_dpc_ns / 1e3,
                           (double)rep.longest_isr_ns / 1e3);
                if (kdpc_machine_find_violation(m, v->rule) == NULL)
                    printf("%s on %u CPUs, %s load: %s not found\n", v->name, cpus,
                           heavy ? "heavy" : "light", v->rule);
                assert_non_null(kdpc_machine_find_violation(m, v->rule));
                kdpc_machine_destroy(m);

                /* the clean driver, same seed and load */
                o.variant = NULL;
                m = machine(cpus, 21);
                nic_sim_run(m, &o, NIC_FAULTS_ALL, NULL, &r);
                assert_true(ex_clean(m, &r));
                kdpc_machine_destroy(m);
            }
        }
    }
    assert_null(ex_find_variant(&ex_nic, "no-such-variant"));
}

/* ---- G2: the counters under the lock ------------------------------------------------------- */

/* Marks in @at the extension offsets sync.unlocked_shared reported in @m ("... offset 0x548
 * ..."); every violation must be that rule. */
static void unlocked_offsets(kdpc_machine *m, bool *at, size_t n)
{
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++) {
        const kdpc_violation *v = kdpc_machine_violation(m, i);
        assert_string_equal(v->rule, "sync.unlocked_shared");
        const char *p = strstr(v->message, "offset 0x");
        unsigned long off = 0;
        assert_non_null(p);
        assert_int_equal(sscanf(p, "offset 0x%lx", &off), 1);
        assert_true(off < n);
        at[off] = true;
    }
}

/* counters-unlocked (G2): the queue DPC adds to the transmit counters without Lock, which
 * IOCTL_NIC_STATS copies under it. sync.unlocked_shared sees device extensions only with
 * cfg.watch_device_extensions, so this variant is not in ex_nic.variants (kdpc-sim would run
 * it unwatched). Watched, the clean driver draws reports too, for state handed over while no
 * DPC can run (RxNext, WdStalled): the variant is caught by the offsets only it adds. */
static void test_counters_unlocked(void **state)
{
    (void)state;
    static const ex_variant v = {"counters-unlocked", "G2", "sync.unlocked_shared",
                                 "the queue DPC adds to the transmit counters without the lock",
                                 nic_entry_counters_unlocked};
    static bool clean_at[0x4000], broken_at[0x4000];
    memset(clean_at, 0, sizeof clean_at);
    memset(broken_at, 0, sizeof broken_at);
    for (unsigned broken = 0; broken < 2; broken++) {
        kdpc_config cfg = kt_config(2, 23);
        ex_nic.configure(&cfg);
        cfg.watch_device_extensions = true;
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        ex_options o = {
            .duration_ns = 20 * MS, .load = EX_LOAD_LIGHT, .variant = broken ? &v : NULL};
        ex_result r;
        nic_sim_report rep;
        nic_sim_run(m, &o, NIC_FAULTS_ALL, &rep, &r);
        show(broken ? "counters-unlocked" : "clean, watched", &r);
        assert_int_equal(r.status, KDPC_OK);
        assert_int_equal(r.lost, 0);
        assert_true(rep.sends_ok > 0);
        unlocked_offsets(m, broken ? broken_at : clean_at, sizeof clean_at);
        kdpc_machine_destroy(m);
    }
    unsigned only_broken = 0, only_clean = 0;
    for (size_t i = 0; i < sizeof clean_at; i++) {
        only_broken += broken_at[i] && !clean_at[i];
        only_clean += clean_at[i] && !broken_at[i];
    }
    if (getenv("NIC_TEST_VERBOSE") != NULL)
        printf("  offsets only the variant drew: %u, only the clean driver: %u\n", only_broken,
               only_clean);
    assert_true(only_broken > 0);
}

/* ---- determinism --------------------------------------------------------------------------------- */

static void test_deterministic(void **state)
{
    (void)state;
    ex_result a, b;
    nic_sim_report ra, rb;
    ex_options o = {.duration_ns = 30 * MS, .load = EX_LOAD_HEAVY, .faults_permille = 10};
    kdpc_machine *m = machine(4, 77);
    nic_sim_run(m, &o, NIC_FAULTS_ALL, &ra, &a);
    assert_int_equal(kdpc_machine_reset(m, 77), KDPC_OK);
    nic_sim_run(m, &o, NIC_FAULTS_ALL, &rb, &b);
    kdpc_machine_destroy(m);
    ex_assert_same_numbers(&a, &b);
    assert_memory_equal(&ra.stats, &rb.stats, sizeof ra.stats);
    assert_memory_equal(&ra.device, &rb.device, sizeof ra.device);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_light_load),
        cmocka_unit_test(test_heavy_load),
        cmocka_unit_test(test_threaded_mode),
        cmocka_unit_test(test_ioctls),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_all_messages_lost),
        cmocka_unit_test(test_stop_under_traffic),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_broken_variants),
        cmocka_unit_test(test_counters_unlocked),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
