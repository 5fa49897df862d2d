/* SPDX-License-Identifier: MIT */
/*
 * test_nicdrv.c - the corpus' PCI NIC-like driver (nicdrv/nicdrv.c) on its
 * virtual NX-1 with a loopback port: a version 3 bus-master adapter
 * (GetDmaAdapterInfo: 64 address bits), descriptor rings in a common buffer,
 * frames sent from METHOD_IN_DIRECT buffers through
 * CalculateScatterGatherList / BuildScatterGatherList (a descriptor per
 * scatter/gather element) come back through the receive ring to
 * waiting or later receive requests; MaxFrameSize from the registry; a full
 * receive ring drops; a waiting receive is cancelled.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/registry.h>
#include "corpus_test.h"
#include "nicdrv.h"

#define PARAMETERS_KEY                                                                             \
    "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\nicdrv\\Parameters"

/* ---- the virtual NX-1 ---------------------------------------------------------------------- */

typedef struct nx_dev {
    kdpc_device *dev;
    uint32_t ctrl, icr, tx_lo, tx_hi, rx_lo, rx_hi, tx_tail, rx_drops;
    unsigned tx_head, rx_next, frag_len;
    uint8_t frame[4096];
    unsigned frames, bad_accesses, dma_errors;
} nx_dev;

static const uint8_t nx_mac[6] = {0x02, 0x4B, 0x44, 0x50, 0x43, 0x01};

static uint64_t ring_la(uint32_t lo, uint32_t hi, unsigned index)
{
    return (((uint64_t)hi << 32) | lo) + (uint64_t)index * sizeof(NICDRV_DESC);
}

static void nx_deliver(nx_dev *n)
{
    NICDRV_DESC d;
    uint64_t la = ring_la(n->rx_lo, n->rx_hi, n->rx_next);
    if (kdpc_device_dma_read(n->dev, la, &d, sizeof d, NULL) != KDPC_OK) {
        n->dma_errors++;
        return;
    }
    if (d.Status != 0 || d.Length < n->frag_len) {
        n->rx_drops++;
        return;
    }
    if (kdpc_device_dma_write(n->dev, d.Address, n->frame, n->frag_len, NULL) != KDPC_OK)
        n->dma_errors++;
    d.Status = NICDRV_DESC_DONE | ((uint32_t)n->frag_len << 16);
    (void)kdpc_device_dma_write(n->dev, la, &d, sizeof d, NULL);
    n->rx_next = (n->rx_next + 1) % NICDRV_RING;
    n->icr |= NICDRV_ICR_RX;
}

/* Sends every descriptor up to TX_TAIL; each frame comes back on the receive ring. */
static void nx_transmit(kdpc_device *dev, void *ctx, void *arg)
{
    (void)dev, (void)arg;
    nx_dev *n = ctx;
    while (n->tx_head != n->tx_tail) {
        NICDRV_DESC d;
        uint64_t la = ring_la(n->tx_lo, n->tx_hi, n->tx_head);
        if (kdpc_device_dma_read(n->dev, la, &d, sizeof d, NULL) != KDPC_OK ||
            n->frag_len + d.Length > sizeof n->frame ||
            kdpc_device_dma_read(n->dev, d.Address, n->frame + n->frag_len, d.Length, NULL) !=
                KDPC_OK) {
            n->dma_errors++;
            return;
        }
        n->frag_len += d.Length;
        d.Status = NICDRV_DESC_DONE;
        (void)kdpc_device_dma_write(n->dev, la, &d, sizeof d, NULL);
        if (d.Flags & NICDRV_DESC_EOP) {
            n->frames++;
            nx_deliver(n);
            n->frag_len = 0;
        }
        n->tx_head = (n->tx_head + 1) % NICDRV_RING;
    }
    n->icr |= NICDRV_ICR_TX;
    if (n->ctrl & NICDRV_CTRL_INT_EN)
        (void)kdpc_device_line_set(n->dev, 0, true);
}

static uint64_t nx_read(const kdpc_reg_access *a)
{
    nx_dev *n = a->ctx;
    if (a->width != 4) {
        n->bad_accesses++;
        return 0;
    }
    switch (a->offset) {
    case NICDRV_REG_ID:
        return NICDRV_ID;
    case NICDRV_REG_ICR:
        return n->icr;
    case NICDRV_REG_MAC_LO:
        return (uint32_t)nx_mac[0] | (uint32_t)nx_mac[1] << 8 | (uint32_t)nx_mac[2] << 16 |
               (uint32_t)nx_mac[3] << 24;
    case NICDRV_REG_MAC_HI:
        return (uint32_t)nx_mac[4] | (uint32_t)nx_mac[5] << 8;
    case NICDRV_REG_RX_DROPS:
        return n->rx_drops;
    default:
        n->bad_accesses++;
        return 0;
    }
}

static void nx_write(const kdpc_reg_access *a)
{
    nx_dev *n = a->ctx;
    uint32_t v = (uint32_t)a->value;
    if (a->width != 4) {
        n->bad_accesses++;
        return;
    }
    switch (a->offset) {
    case NICDRV_REG_CTRL:
        if (v & NICDRV_CTRL_RESET) {
            n->ctrl = 0;
            n->icr = 0;
            n->tx_head = n->tx_tail = n->rx_next = n->frag_len = 0;
            (void)kdpc_device_line_set(a->device, 0, false);
        } else {
            n->ctrl = v;
        }
        break;
    case NICDRV_REG_ICR:
        n->icr &= ~v;
        if (n->icr == 0)
            (void)kdpc_device_line_set(a->device, 0, false);
        break;
    case NICDRV_REG_TXRING_LO:
        n->tx_lo = v;
        break;
    case NICDRV_REG_TXRING_HI:
        n->tx_hi = v;
        break;
    case NICDRV_REG_RXRING_LO:
        n->rx_lo = v;
        break;
    case NICDRV_REG_RXRING_HI:
        n->rx_hi = v;
        break;
    case NICDRV_REG_TX_TAIL:
        n->tx_tail = v % NICDRV_RING;
        if (n->ctrl & NICDRV_CTRL_ENABLE)
            (void)kdpc_device_schedule(a->device, 10000, nx_transmit, NULL, 0, NULL);
        break;
    default:
        n->bad_accesses++;
        break;
    }
}

/* ---- requests ----------------------------------------------------------------------------------- */

typedef struct rx_req {
    UCHAR data[NICDRV_RX_BUFFER];
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    NTSTATUS call, final;
} rx_req;

static void send_receive(PFILE_OBJECT f, rx_req *r)
{
    KeInitializeEvent(&r->done, NotificationEvent, FALSE);
    r->irp = IoBuildDeviceIoControlRequest(IOCTL_NICDRV_RECEIVE, f->DeviceObject, NULL, 0, r->data,
                                           sizeof r->data, FALSE, &r->done, &r->iosb);
    assert_non_null(r->irp);
    IoGetNextIrpStackLocation(r->irp)->FileObject = f;
    r->call = IoCallDriver(f->DeviceObject, r->irp);
}

static NTSTATUS rx_done(rx_req *r)
{
    LARGE_INTEGER timeout;
    timeout.QuadPart = -100 * 10000;
    if (KeWaitForSingleObject(&r->done, Executive, KernelMode, FALSE, &timeout) != STATUS_SUCCESS)
        return STATUS_TIMEOUT;
    return r->call == STATUS_PENDING ? r->iosb.Status : r->call;
}

static _Alignas(4096) UCHAR frames[4 * 4096];

static NTSTATUS send_frame(PFILE_OBJECT f, UCHAR *frame, ULONG len, UCHAR seed)
{
    for (ULONG i = 0; i < len; i++)
        frame[i] = (UCHAR)(seed + i * 3u);
    ULONG_PTR info = 0;
    NTSTATUS st = kdpc_file_ioctl(f, IOCTL_NICDRV_SEND, NULL, 0, frame, len, &info);
    if (NT_SUCCESS(st) && info != len)
        return STATUS_UNSUCCESSFUL;
    return st;
}

static bool frame_ok(const UCHAR *data, ULONG len, UCHAR seed)
{
    for (ULONG i = 0; i < len; i++)
        if (data[i] != (UCHAR)(seed + i * 3u))
            return false;
    return true;
}

/* ---- the scenario ------------------------------------------------------------------------------ */

static struct {
    kdpc_machine *m;
    nx_dev n;
    kdpc_status reg, plug;
    NTSTATUS load, open;
    kdpc_device_state started;
    PDRIVER_OBJECT drv;
    NICDRV_STATS stats0, stats;
    rx_req waiting, later, small_rx, drained[8], cancelled;
    NTSTATUS send_a, send_b, send_big, send_tiny, send_c, send_fill[9];
    UCHAR small[50];
    NTSTATUS small_st;
    ULONG_PTR small_info, later_info;
    BOOLEAN cancel_ret;
    NTSTATUS sleep, wake, send_after;
    rx_req after;
    NICDRV_STATS stats_after;
    NTSTATUS close;
    kdpc_status unplug;
    kdpc_device_state removed;
    NTSTATUS unload;
    int reached_end;
} t;

static void TestEntry(void *ctx)
{
    (void)ctx;
    kdpc_device_desc desc;
    kdpc_device_desc_init(&desc);
    desc.name = "nx0";
    desc.driver = "nicdrv";
    desc.ctx = &t.n;
    desc.windows[0] = (kdpc_range_desc){0, NICDRV_WINDOW, nx_read, nx_write};
    desc.nwindows = 1;
    desc.lines[0].line = 10;
    desc.lines[0].level = true;
    desc.nlines = 1;
    desc.dma = true;
    t.reg = kdpc_registry_set_dword(t.m, PARAMETERS_KEY, "MaxFrameSize", 1000);
    t.plug = kdpc_device_plug(t.m, &desc, &t.n.dev);
    if (t.plug != KDPC_OK)
        return;
    t.load = kdpc_driver_load(t.m, "nicdrv", NicDriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load))
        return;
    t.started = kdpc_device_get_state(t.n.dev);
    PFILE_OBJECT f = NULL;
    t.open = kdpc_file_open(t.m, NICDRV_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &f);
    if (!NT_SUCCESS(t.open))
        return;
    (void)kdpc_file_ioctl(f, IOCTL_NICDRV_STATS, NULL, 0, &t.stats0, sizeof t.stats0, NULL);

    /* a receive waits; frame A (60 bytes, one page) completes it */
    send_receive(f, &t.waiting);
    t.send_a = send_frame(f, frames, 60, 0xA0);
    t.waiting.final = rx_done(&t.waiting);

    /* frame B (900 bytes across a page boundary: two fragments), received later */
    t.send_b = send_frame(f, frames + 4096 - 300, 900, 0xB0);
    ct_sleep_ms(1);
    send_receive(f, &t.later);
    t.later.final = rx_done(&t.later);

    /* the limits: MaxFrameSize 1000 from the registry, 14 bytes at least */
    t.send_big = send_frame(f, frames + 8192, 1200, 0);
    t.send_tiny = send_frame(f, frames + 8192, 10, 0);

    /* a receive buffer smaller than the frame */
    t.send_c = send_frame(f, frames + 8192, 100, 0xC0);
    ct_sleep_ms(1);
    t.small_st =
        kdpc_file_ioctl(f, IOCTL_NICDRV_RECEIVE, NULL, 0, t.small, sizeof t.small, &t.small_info);

    /* nine frames, nobody receiving: eight wait in the ring, one is dropped */
    for (int i = 0; i < 9; i++) {
        t.send_fill[i] = send_frame(f, frames + 12288, 64, (UCHAR)(0x10 * i));
        ct_sleep_ms(1);
    }
    for (int i = 0; i < 8; i++) {
        send_receive(f, &t.drained[i]);
        t.drained[i].final = rx_done(&t.drained[i]);
    }
    (void)kdpc_file_ioctl(f, IOCTL_NICDRV_STATS, NULL, 0, &t.stats, sizeof t.stats, NULL);

    /* a waiting receive is cancelled */
    send_receive(f, &t.cancelled);
    t.cancel_ret = IoCancelIrp(t.cancelled.irp);
    t.cancelled.final = rx_done(&t.cancelled);

    /* S3 and back: the driver, power policy owner, asks for D3 and D0 (PoRequestPowerIrp) and
     * programs the rings again in D0; frames loop as before */
    t.sleep = kdpc_power_set_system(t.m, PowerSystemSleeping3);
    t.wake = kdpc_power_set_system(t.m, PowerSystemWorking);
    send_receive(f, &t.after);
    t.send_after = send_frame(f, frames + 12288, 80, 0xD0);
    t.after.final = rx_done(&t.after);
    (void)kdpc_file_ioctl(f, IOCTL_NICDRV_STATS, NULL, 0, &t.stats_after, sizeof t.stats_after,
                          NULL);

    t.close = kdpc_file_close(f);
    t.unplug = kdpc_device_unplug(t.n.dev, KDPC_UNPLUG_ORDERLY);
    t.removed = kdpc_device_get_state(t.n.dev);
    t.unload = kdpc_driver_unload(t.drv);
    t.reached_end = 1;
}

static void test_loopback_frames(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        memset(&t, 0, sizeof t);
        t.m = ct_machine(2, seed);
        assert_int_equal(kdpc_machine_run(t.m, TestEntry, NULL), KDPC_OK);
        assert_int_equal(t.reg, KDPC_OK);
        assert_int_equal(t.plug, KDPC_OK);
        assert_int_equal(t.load, STATUS_SUCCESS);
        assert_int_equal(t.started, KDPC_DEVICE_STARTED);
        assert_int_equal(t.open, STATUS_SUCCESS);
        assert_int_equal(t.reached_end, 1);
        ct_assert_clean(t.m);

        assert_memory_equal(t.stats0.Mac, nx_mac, 6);
        assert_int_equal(t.stats0.AddressBits, 64);
        assert_int_equal(t.stats0.MaxFrame, 1000);

        assert_int_equal(t.send_a, STATUS_SUCCESS);
        assert_int_equal(t.waiting.call, STATUS_PENDING);
        assert_int_equal(t.waiting.final, STATUS_SUCCESS);
        assert_int_equal(t.waiting.iosb.Information, 60);
        assert_true(frame_ok(t.waiting.data, 60, 0xA0));

        assert_int_equal(t.send_b, STATUS_SUCCESS);
        assert_int_equal(t.later.final, STATUS_SUCCESS);
        assert_int_equal(t.later.iosb.Information, 900);
        assert_true(frame_ok(t.later.data, 900, 0xB0));

        assert_int_equal(t.send_big, STATUS_INVALID_BUFFER_SIZE);
        assert_int_equal(t.send_tiny, STATUS_INVALID_BUFFER_SIZE);
        assert_int_equal(t.send_c, STATUS_SUCCESS);
        assert_int_equal(t.small_st, STATUS_BUFFER_OVERFLOW);
        assert_int_equal(t.small_info, sizeof t.small);
        assert_true(frame_ok(t.small, sizeof t.small, 0xC0));

        for (int i = 0; i < 9; i++)
            assert_int_equal(t.send_fill[i], STATUS_SUCCESS);
        for (int i = 0; i < 8; i++) {
            assert_int_equal(t.drained[i].final, STATUS_SUCCESS);
            assert_int_equal(t.drained[i].iosb.Information, 64);
            assert_true(frame_ok(t.drained[i].data, 64, (UCHAR)(0x10 * i)));
        }
        assert_int_equal(t.stats.RxDrops, 1);
        assert_int_equal(t.stats.FramesSent, 12);
        assert_int_equal(t.stats.FramesReceived, 11);
        /* one descriptor per scatter/gather element: at least one a frame (frame B crosses a
         * page; its pages are contiguous for the adapter, so one element may cover both) */
        assert_true(t.stats.Fragments >= 12);

        assert_true(t.cancel_ret);
        assert_int_equal(t.cancelled.final, STATUS_CANCELLED);

        assert_int_equal(t.sleep, STATUS_SUCCESS);
        assert_int_equal(t.wake, STATUS_SUCCESS);
        assert_int_equal(t.stats_after.PowerDowns, 1);
        assert_int_equal(t.stats_after.PowerUps, 1);
        assert_int_equal(t.send_after, STATUS_SUCCESS);
        assert_int_equal(t.after.final, STATUS_SUCCESS);
        assert_int_equal(t.after.iosb.Information, 80);
        assert_true(frame_ok(t.after.data, 80, 0xD0));

        assert_int_equal(t.close, STATUS_SUCCESS);
        assert_int_equal(t.unplug, KDPC_OK);
        assert_int_equal(t.removed, KDPC_DEVICE_REMOVED);
        assert_int_equal(t.unload, STATUS_SUCCESS);
        assert_int_equal(t.n.bad_accesses, 0);
        assert_int_equal(t.n.dma_errors, 0);
        assert_int_equal(t.n.frames, 13);
        kdpc_machine_destroy(t.m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
