/* SPDX-License-Identifier: MIT */
/*
 * test_sdmadrv.c - the corpus' system-DMA driver (sdmadrv/sdmadrv.c) on its
 * virtual SDM-1: a slave adapter for DMA channel 3 (from the
 * CmResourceTypeDma descriptor) with the map registers of two pages, so a
 * transfer of several pages is mapped, moved, flushed piece by piece; the
 * data lands in the device's memory and comes back; bad ranges get their
 * status; the driver records its byte count in its software key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/registry.h>
#include "corpus_test.h"
#include "sdmadrv.h"

#define PORT_BASE 0x240
#define SOFTWARE_KEY                                                                               \
    "\\Registry\\Machine\\System\\CurrentControlSet\\Control\\Class\\"                             \
    "{4d36e97d-e325-11ce-bfc1-08002be10318}\\sdm0"

/* ---- the virtual SDM-1 -------------------------------------------------------------------- */

typedef struct sdm_dev {
    kdpc_device *dev;
    uint8_t media[SDMADRV_MEDIA];
    uint32_t status, addr_lo, addr_hi, count, offset, cmd;
    unsigned transfers, bad_accesses;
    kdpc_status last_dma;
} sdm_dev;

static void sdm_move(kdpc_device *dev, void *ctx, void *arg)
{
    (void)arg;
    sdm_dev *s = ctx;
    uint64_t la = ((uint64_t)s->addr_hi << 32) | s->addr_lo;
    size_t moved = 0;
    if ((uint64_t)s->offset + s->count > SDMADRV_MEDIA || s->count == 0) {
        s->status |= SDMADRV_ST_ERR;
    } else {
        s->last_dma = s->cmd == SDMADRV_CMD_PLAY
                          ? kdpc_device_dma_read(dev, la, s->media + s->offset, s->count, &moved)
                          : kdpc_device_dma_write(dev, la, s->media + s->offset, s->count, &moved);
        s->status |=
            (s->last_dma == KDPC_OK && moved == s->count) ? SDMADRV_ST_DONE : SDMADRV_ST_ERR;
        s->transfers++;
    }
    (void)kdpc_device_interrupt(dev, 0);
}

static uint64_t sdm_read(const kdpc_reg_access *a)
{
    sdm_dev *s = a->ctx;
    if (a->width != 4 || a->offset != SDMADRV_PORT_STATUS) {
        s->bad_accesses++;
        return 0;
    }
    return s->status;
}

static void sdm_write(const kdpc_reg_access *a)
{
    sdm_dev *s = a->ctx;
    uint32_t v = (uint32_t)a->value;
    if (a->width != 4) {
        s->bad_accesses++;
        return;
    }
    switch (a->offset) {
    case SDMADRV_PORT_STATUS:
        s->status &= ~v;
        (void)kdpc_device_line_set(a->device, 0, false);
        break;
    case SDMADRV_PORT_CMD:
        s->cmd = v;
        (void)kdpc_device_schedule(a->device, 50000, sdm_move, NULL, 0, NULL);
        break;
    case SDMADRV_PORT_ADDR_LO:
        s->addr_lo = v;
        break;
    case SDMADRV_PORT_ADDR_HI:
        s->addr_hi = v;
        break;
    case SDMADRV_PORT_COUNT:
        s->count = v;
        break;
    case SDMADRV_PORT_OFFSET:
        s->offset = v;
        break;
    default:
        s->bad_accesses++;
        break;
    }
}

/* ---- the scenario -------------------------------------------------------------------------- */

#define XFER 9000u

static struct {
    kdpc_machine *m;
    sdm_dev s;
    kdpc_status plug;
    NTSTATUS load, open;
    kdpc_device_state started;
    PDRIVER_OBJECT drv;
    UCHAR out[XFER + 100], in[XFER + 100];
    NTSTATUS w, r, past_w, past_r, empty;
    ULONG_PTR w_info, r_info;
    SDMADRV_STATS stats;
    NTSTATUS stats_st;
    NTSTATUS close;
    kdpc_status unplug;
    kdpc_device_state removed;
    NTSTATUS unload;
    uint32_t total;
    kdpc_status total_st;
    int reached_end;
} t;

static void TestEntry(void *ctx)
{
    (void)ctx;
    kdpc_device_desc desc;
    kdpc_device_desc_init(&desc);
    desc.name = "sdm0";
    desc.driver = "sdmadrv";
    desc.ctx = &t.s;
    desc.ports[0] = (kdpc_range_desc){PORT_BASE, SDMADRV_PORTS, sdm_read, sdm_write};
    desc.nports = 1;
    desc.lines[0].line = 6;
    desc.nlines = 1;
    desc.dma = true;
    desc.dma_channel = SDMADRV_DMA_CHANNEL;
    t.plug = kdpc_device_plug(t.m, &desc, &t.s.dev);
    if (t.plug != KDPC_OK)
        return;
    t.load = kdpc_driver_load(t.m, "sdmadrv", SdmaDriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load))
        return;
    t.started = kdpc_device_get_state(t.s.dev);
    PFILE_OBJECT f = NULL;
    t.open = kdpc_file_open(t.m, SDMADRV_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &f);
    if (!NT_SUCCESS(t.open))
        return;

    /* a buffer at an odd offset in its page: the transfer spans three pages or more */
    UCHAR *src = t.out + 37, *dst = t.in + 91;
    for (ULONG i = 0; i < XFER; i++)
        src[i] = (UCHAR)(i * 13u + 5u);
    t.w = kdpc_file_write(f, src, XFER, 1000, &t.w_info);
    t.r = kdpc_file_read(f, dst, XFER, 1000, &t.r_info);
    t.past_w = kdpc_file_write(f, src, 4096, SDMADRV_MEDIA - 100, NULL);
    t.past_r = kdpc_file_read(f, dst, 4096, SDMADRV_MEDIA + 1, NULL);
    t.empty = kdpc_file_read(f, dst, 0, 0, NULL);
    t.stats_st =
        kdpc_file_ioctl(f, IOCTL_SDMADRV_GET_STATS, NULL, 0, &t.stats, sizeof t.stats, NULL);

    t.close = kdpc_file_close(f);
    t.unplug = kdpc_device_unplug(t.s.dev, KDPC_UNPLUG_ORDERLY);
    t.removed = kdpc_device_get_state(t.s.dev);
    t.unload = kdpc_driver_unload(t.drv);
    t.total_st = kdpc_registry_get_value(t.m, SOFTWARE_KEY, "TotalBytes", NULL, &t.total,
                                         sizeof t.total, NULL);
    t.reached_end = 1;
}

static void test_system_dma_in_pieces(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        memset(&t, 0, sizeof t);
        t.m = ct_machine(2, seed);
        assert_int_equal(kdpc_machine_run(t.m, TestEntry, NULL), KDPC_OK);
        assert_int_equal(t.plug, KDPC_OK);
        assert_int_equal(t.load, STATUS_SUCCESS);
        assert_int_equal(t.started, KDPC_DEVICE_STARTED);
        assert_int_equal(t.open, STATUS_SUCCESS);
        assert_int_equal(t.reached_end, 1);
        ct_assert_clean(t.m);
        KT_ASSERT_NO_VIOLATION(t.m, "dma.not_flushed");
        KT_ASSERT_NO_VIOLATION(t.m, "dma.adapter_held");

        assert_int_equal(t.w, STATUS_SUCCESS);
        assert_int_equal(t.w_info, XFER);
        assert_memory_equal(t.s.media + 1000, t.out + 37, XFER);
        assert_int_equal(t.r, STATUS_SUCCESS);
        assert_int_equal(t.r_info, XFER);
        assert_memory_equal(t.in + 91, t.out + 37, XFER);
        assert_int_equal(t.past_w, STATUS_DISK_FULL);
        assert_int_equal(t.past_r, STATUS_END_OF_FILE);
        assert_int_equal(t.empty, STATUS_SUCCESS);

        assert_int_equal(t.stats_st, STATUS_SUCCESS);
        assert_int_equal(t.stats.Transfers, 2);
        assert_int_equal(t.stats.Bytes, 2 * XFER);
        assert_int_equal(t.stats.Errors, 0);
        assert_int_equal(t.stats.MapRegisters, 2); /* MaximumLength a page: 1 + 1 */
        assert_true(t.stats.Pieces >= 4);          /* each transfer in two pieces or more */
        assert_int_equal(t.s.transfers, t.stats.Pieces);

        assert_int_equal(t.close, STATUS_SUCCESS);
        assert_int_equal(t.unplug, KDPC_OK);
        assert_int_equal(t.removed, KDPC_DEVICE_REMOVED);
        assert_int_equal(t.unload, STATUS_SUCCESS);
        assert_int_equal(t.total_st, KDPC_OK); /* ZwSetValueKey in the software key */
        assert_int_equal(t.total, 2 * XFER);
        assert_int_equal(t.s.bad_accesses, 0);
        kdpc_machine_destroy(t.m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_dma_in_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
