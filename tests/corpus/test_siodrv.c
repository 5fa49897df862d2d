/* SPDX-License-Identifier: MIT */
/*
 * test_siodrv.c - the corpus' StartIo driver (siodrv/siodrv.c) on its
 * virtual PIO-8 sector store: a registry parameter limits requests to four
 * sectors; writes and reads go through IoStartPacket / StartIo, a sector per
 * interrupt through the data port; requests in flight queue in the device
 * queue, a queued one is cancelled; bad offsets and lengths get their
 * status; a METHOD_NEITHER IOCTL fills the caller's buffer inside __try; the
 * driver writes MediaSectors into its service key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/registry.h>
#include "corpus_test.h"
#include "siodrv.h"

#define SERVICE_KEY "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\siodrv"
#define PORT_BASE   0x300

/* ---- the virtual PIO-8 --------------------------------------------------------------------- */

typedef struct pio_dev {
    kdpc_device *dev;
    uint8_t media[SIODRV_SECTORS * SIODRV_SECTOR];
    uint32_t buffer[SIODRV_SECTOR / 4];
    unsigned pos; /* ULONGs moved through DATA for the current command */
    uint32_t status, sector, cmd;
    uint32_t bad_sector; /* sector + 1 the medium cannot hold; 0: none */
    unsigned commands, bad_accesses;
} pio_dev;

static void pio_done(kdpc_device *dev, void *ctx, void *arg)
{
    (void)arg;
    pio_dev *p = ctx;
    p->status &= ~SIODRV_ST_BUSY;
    if (p->sector >= SIODRV_SECTORS || p->sector + 1 == p->bad_sector) {
        p->status |= SIODRV_ST_ERR;
    } else {
        if (p->cmd == SIODRV_CMD_WRITE)
            memcpy(p->media + p->sector * SIODRV_SECTOR, p->buffer, SIODRV_SECTOR);
        else
            memcpy(p->buffer, p->media + p->sector * SIODRV_SECTOR, SIODRV_SECTOR);
        p->status |= SIODRV_ST_DONE;
    }
    p->pos = 0;
    (void)kdpc_device_interrupt(dev, 0);
}

static uint64_t pio_read(const kdpc_reg_access *a)
{
    pio_dev *p = a->ctx;
    if (a->width != 4) {
        p->bad_accesses++;
        return 0;
    }
    switch (a->offset) {
    case SIODRV_PORT_STATUS:
        return p->status;
    case SIODRV_PORT_DATA:
        if (p->cmd != SIODRV_CMD_READ || p->pos >= SIODRV_SECTOR / 4) {
            p->bad_accesses++;
            return 0;
        }
        return p->buffer[p->pos++];
    default:
        p->bad_accesses++;
        return 0;
    }
}

static void pio_write(const kdpc_reg_access *a)
{
    pio_dev *p = a->ctx;
    if (a->width != 4) {
        p->bad_accesses++;
        return;
    }
    switch (a->offset) {
    case SIODRV_PORT_STATUS: /* acknowledge */
        p->status &= ~(uint32_t)a->value;
        (void)kdpc_device_line_set(a->device, 0, false);
        break;
    case SIODRV_PORT_SECTOR:
        p->sector = (uint32_t)a->value;
        break;
    case SIODRV_PORT_CMD:
        p->cmd = (uint32_t)a->value;
        p->pos = 0;
        p->commands++;
        p->status |= SIODRV_ST_BUSY;
        if (p->cmd == SIODRV_CMD_READ || p->sector >= SIODRV_SECTORS ||
            p->sector + 1 == p->bad_sector)
            (void)kdpc_device_schedule(a->device, 20000, pio_done, NULL, 0, NULL);
        break;
    case SIODRV_PORT_DATA:
        if (p->cmd != SIODRV_CMD_WRITE || p->pos >= SIODRV_SECTOR / 4) {
            p->bad_accesses++;
            break;
        }
        p->buffer[p->pos++] = (uint32_t)a->value;
        if (p->pos == SIODRV_SECTOR / 4)
            (void)kdpc_device_schedule(a->device, 20000, pio_done, NULL, 0, NULL);
        break;
    default:
        p->bad_accesses++;
        break;
    }
}

/* ---- requests ---------------------------------------------------------------------------------- */

typedef struct async_rw {
    UCHAR data[4 * SIODRV_SECTOR];
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    NTSTATUS call, final;
} async_rw;

static void send_write(PFILE_OBJECT f, async_rw *r, ULONG length, LONGLONG offset, UCHAR fill)
{
    LARGE_INTEGER at;
    at.QuadPart = offset;
    memset(r->data, fill, length);
    KeInitializeEvent(&r->done, NotificationEvent, FALSE);
    r->irp = IoBuildSynchronousFsdRequest(IRP_MJ_WRITE, f->DeviceObject, r->data, length, &at,
                                          &r->done, &r->iosb);
    assert_non_null(r->irp);
    IoGetNextIrpStackLocation(r->irp)->FileObject = f;
    r->call = IoCallDriver(f->DeviceObject, r->irp);
}

static NTSTATUS rw_done(async_rw *r)
{
    LARGE_INTEGER timeout;
    timeout.QuadPart = -100 * 10000;
    if (KeWaitForSingleObject(&r->done, Executive, KernelMode, FALSE, &timeout) != STATUS_SUCCESS)
        return STATUS_TIMEOUT;
    return r->call == STATUS_PENDING ? r->iosb.Status : r->call;
}

/* ---- the scenario ---------------------------------------------------------------------------- */

static struct {
    kdpc_machine *m;
    pio_dev p;
    kdpc_status reg;
    kdpc_status plug;
    NTSTATUS load, open;
    kdpc_device_state started;
    PDRIVER_OBJECT drv;
    UCHAR out[4 * SIODRV_SECTOR], in[4 * SIODRV_SECTOR];
    NTSTATUS w1, r1, sleep, wake, r2;
    ULONG_PTR w1_info, r1_info;
    NTSTATUS too_long, unaligned, past_end_w, past_end_r, empty;
    ULONG_PTR empty_info;
    SIODRV_GEOMETRY geo;
    NTSTATUS geo_st;
    ULONG_PTR geo_info;
    async_rw a[3];
    BOOLEAN cancel_ret;
    SIODRV_STATS stats;
    NTSTATUS stats_st, bad_write;
    size_t log_count;
    kdpc_errorlog_entry log;
    uint32_t media_sectors;
    kdpc_status media_st;
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
    desc.name = "pio0";
    desc.driver = "siodrv";
    desc.ctx = &t.p;
    desc.ports[0] = (kdpc_range_desc){PORT_BASE, SIODRV_PORTS, pio_read, pio_write};
    desc.nports = 1;
    desc.lines[0].line = 5;
    desc.lines[0].level = false; /* latched */
    desc.nlines = 1;
    t.reg = kdpc_registry_set_dword(t.m, SERVICE_KEY "\\Parameters", "MaxSectorsPerRequest", 4);
    t.plug = kdpc_device_plug(t.m, &desc, &t.p.dev);
    if (t.plug != KDPC_OK)
        return;
    t.load = kdpc_driver_load(t.m, "siodrv", SioDriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load))
        return;
    t.started = kdpc_device_get_state(t.p.dev);
    t.media_st = kdpc_registry_get_value(t.m, SERVICE_KEY, "MediaSectors", NULL, &t.media_sectors,
                                         sizeof t.media_sectors, NULL);

    PFILE_OBJECT f = NULL;
    t.open = kdpc_file_open(t.m, SIODRV_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &f);
    if (!NT_SUCCESS(t.open))
        return;

    for (ULONG i = 0; i < sizeof t.out; i++)
        t.out[i] = (UCHAR)(i * 7u + 3u);
    t.w1 = kdpc_file_write(f, t.out, sizeof t.out, SIODRV_SECTOR, &t.w1_info);
    t.r1 = kdpc_file_read(f, t.in, sizeof t.in, SIODRV_SECTOR, &t.r1_info);
    /* S3 and back: the power IRPs pass down the stack; the device serves again */
    t.sleep = kdpc_power_set_system(t.m, PowerSystemSleeping3);
    t.wake = kdpc_power_set_system(t.m, PowerSystemWorking);
    t.r2 = kdpc_file_read(f, t.in, SIODRV_SECTOR, SIODRV_SECTOR, NULL);

    UCHAR big[5 * SIODRV_SECTOR];
    memset(big, 0, sizeof big);
    t.too_long = kdpc_file_write(f, big, sizeof big, 0, NULL); /* over MaxSectorsPerRequest */
    t.unaligned = kdpc_file_read(f, big, SIODRV_SECTOR, 100, NULL);
    t.past_end_w = kdpc_file_write(f, big, 2 * SIODRV_SECTOR, 7 * SIODRV_SECTOR, NULL);
    t.past_end_r = kdpc_file_read(f, big, 2 * SIODRV_SECTOR, 7 * SIODRV_SECTOR, NULL);
    t.empty = kdpc_file_read(f, big, 0, 0, &t.empty_info);

    t.geo_st =
        kdpc_file_ioctl(f, IOCTL_SIODRV_GET_GEOMETRY, NULL, 0, &t.geo, sizeof t.geo, &t.geo_info);

    /* three writes at once: the first runs, the others queue; the third is cancelled there */
    send_write(f, &t.a[0], 4 * SIODRV_SECTOR, 0, 0xA0);
    send_write(f, &t.a[1], SIODRV_SECTOR, 4 * SIODRV_SECTOR, 0xA1);
    send_write(f, &t.a[2], SIODRV_SECTOR, 5 * SIODRV_SECTOR, 0xA2);
    t.cancel_ret = IoCancelIrp(t.a[2].irp);
    for (int i = 0; i < 3; i++)
        t.a[i].final = rw_done(&t.a[i]);
    /* sector 6 goes bad: the write fails and the driver writes an error log entry */
    t.p.bad_sector = 6 + 1;
    t.bad_write = kdpc_file_write(f, big, SIODRV_SECTOR, 6 * SIODRV_SECTOR, NULL);
    t.p.bad_sector = 0;
    t.log_count = kdpc_errorlog_count(t.m);
    if (t.log_count > 0)
        t.log = *kdpc_errorlog_entry_at(t.m, 0);
    t.stats_st =
        kdpc_file_ioctl(f, IOCTL_SIODRV_GET_STATS, NULL, 0, &t.stats, sizeof t.stats, NULL);

    t.close = kdpc_file_close(f);
    t.unplug = kdpc_device_unplug(t.p.dev, KDPC_UNPLUG_ORDERLY);
    t.removed = kdpc_device_get_state(t.p.dev);
    t.unload = kdpc_driver_unload(t.drv);
    t.reached_end = 1;
}

static void test_packets_through_startio(void **state)
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

        assert_int_equal(t.media_st, KDPC_OK); /* RtlWriteRegistryValue into the service key */
        assert_int_equal(t.media_sectors, SIODRV_SECTORS);

        assert_int_equal(t.w1, STATUS_SUCCESS);
        assert_int_equal(t.w1_info, sizeof t.out);
        assert_int_equal(t.r1, STATUS_SUCCESS);
        assert_int_equal(t.r1_info, sizeof t.in);
        assert_memory_equal(t.in, t.out, sizeof t.in);
        assert_int_equal(t.sleep, STATUS_SUCCESS);
        assert_int_equal(t.wake, STATUS_SUCCESS);
        assert_int_equal(t.r2, STATUS_SUCCESS);

        assert_int_equal(t.too_long, STATUS_INVALID_PARAMETER); /* the registry's limit: 4 */
        assert_int_equal(t.unaligned, STATUS_INVALID_PARAMETER);
        assert_int_equal(t.past_end_w, STATUS_DISK_FULL);
        assert_int_equal(t.past_end_r, STATUS_END_OF_FILE);
        assert_int_equal(t.empty, STATUS_SUCCESS);
        assert_int_equal(t.empty_info, 0);

        assert_int_equal(t.geo_st, STATUS_SUCCESS);
        assert_int_equal(t.geo_info, sizeof t.geo);
        assert_int_equal(t.geo.SectorSize, SIODRV_SECTOR);
        assert_int_equal(t.geo.Sectors, SIODRV_SECTORS);
        assert_int_equal(t.geo.MaxSectorsPerRequest, 4);

        for (int i = 0; i < 3; i++)
            assert_int_equal(t.a[i].call, STATUS_PENDING);
        assert_true(t.cancel_ret);
        assert_int_equal(t.a[0].final, STATUS_SUCCESS);
        assert_int_equal(t.a[1].final, STATUS_SUCCESS);
        assert_int_equal(t.a[2].final, STATUS_CANCELLED);
        for (unsigned s = 0; s < 4; s++)
            assert_int_equal(t.p.media[s * SIODRV_SECTOR + 17], 0xA0);
        assert_int_equal(t.p.media[4 * SIODRV_SECTOR + 3], 0xA1);
        assert_int_not_equal(t.p.media[5 * SIODRV_SECTOR + 3], 0xA2); /* never written */

        assert_int_equal(t.stats_st, STATUS_SUCCESS);
        assert_int_equal(t.stats.Writes, 3);
        assert_int_equal(t.stats.Reads, 2);
        assert_int_equal(t.stats.SectorsMoved, 4 + 4 + 1 + 4 + 1);
        assert_int_equal(t.stats.Cancelled, 1);
        assert_true(t.stats.MaxQueued >= 2);
        assert_int_equal(t.stats.DeviceErrors, 1);
        assert_int_equal(t.bad_write, STATUS_DEVICE_DATA_ERROR);
        assert_int_equal(t.log_count, 1); /* IoAllocateErrorLogEntry + IoWriteErrorLogEntry */
        assert_int_equal(t.log.ErrorCode, SIODRV_MSG_MEDIA_ERROR);
        assert_int_equal(t.log.FinalStatus, STATUS_DEVICE_DATA_ERROR);
        assert_int_equal(t.log.MajorFunctionCode, IRP_MJ_WRITE);
        assert_int_equal(t.log.DumpDataSize, sizeof(ULONG));
        assert_int_equal(t.log.DumpData[0], 6);

        assert_int_equal(t.close, STATUS_SUCCESS);
        assert_int_equal(t.unplug, KDPC_OK);
        assert_int_equal(t.removed, KDPC_DEVICE_REMOVED);
        assert_int_equal(t.unload, STATUS_SUCCESS);
        assert_int_equal(t.p.bad_accesses, 0);
        kdpc_machine_destroy(t.m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packets_through_startio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
