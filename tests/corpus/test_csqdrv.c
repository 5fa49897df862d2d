/* SPDX-License-Identifier: MIT */
/*
 * test_csqdrv.c - the corpus' cancel-safe-queue driver (csqdrv/csqdrv.c) on
 * its virtual EVT-1: WAIT requests pend in the driver's IoCsq queue; events
 * the device raises (one interrupt each) complete them oldest first; a
 * request cancelled with IoCancelIrp, or left behind by a handle that
 * closes, completes with STATUS_CANCELLED exactly once; an event nobody
 * waits for waits in the backlog (BacklogDepth) or is counted lost; the
 * program's event handle, referenced with ObReferenceObjectByHandle, is
 * signaled at each device event.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/object.h>
#include <kdpc/registry.h>
#include "corpus_test.h"
#include "csqdrv.h"

/* ---- the virtual EVT-1 ------------------------------------------------------------------------ */

typedef struct evt_dev {
    kdpc_device *dev;
    uint32_t delay, value, status, data;
    bool armed;
    unsigned fired, bad_accesses;
} evt_dev;

static void evt_fire(kdpc_device *dev, void *ctx, void *arg)
{
    (void)arg;
    evt_dev *d = ctx;
    d->armed = false;
    d->data = d->value;
    d->status |= CSQDRV_STATUS_EVENT;
    d->fired++;
    (void)kdpc_device_interrupt(dev, 0);
}

static uint64_t evt_read(const kdpc_reg_access *a)
{
    evt_dev *d = a->ctx;
    if (a->width != 4) {
        d->bad_accesses++;
        return 0;
    }
    switch (a->offset) {
    case CSQDRV_REG_ID:
        return CSQDRV_ID;
    case CSQDRV_REG_DELAY:
        return d->delay;
    case CSQDRV_REG_VALUE:
        return d->value;
    case CSQDRV_REG_STATUS:
        return d->status;
    case CSQDRV_REG_DATA:
        d->status &= ~CSQDRV_STATUS_EVENT;
        (void)kdpc_device_line_set(a->device, 0, false);
        return d->data;
    default:
        d->bad_accesses++;
        return 0;
    }
}

static void evt_write(const kdpc_reg_access *a)
{
    evt_dev *d = a->ctx;
    if (a->width != 4) {
        d->bad_accesses++;
        return;
    }
    switch (a->offset) {
    case CSQDRV_REG_DELAY:
        d->delay = (uint32_t)a->value;
        break;
    case CSQDRV_REG_VALUE:
        d->value = (uint32_t)a->value;
        break;
    case CSQDRV_REG_CTRL:
        if ((a->value & CSQDRV_CTRL_FIRE) && !d->armed) {
            d->armed = true;
            (void)kdpc_device_schedule(a->device, (uint64_t)d->delay * 1000, evt_fire, NULL, 0,
                                       NULL);
        }
        break;
    default:
        d->bad_accesses++;
        break;
    }
}

/* ---- requests ------------------------------------------------------------------------------------ */

typedef struct wait_req {
    ULONG out;
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    NTSTATUS call;
    NTSTATUS final;
} wait_req;

static void send_wait(PFILE_OBJECT f, wait_req *w)
{
    KeInitializeEvent(&w->done, NotificationEvent, FALSE);
    w->out = 0xEEEEEEEEu;
    w->iosb.Status = (NTSTATUS)0x12345678L;
    w->irp = IoBuildDeviceIoControlRequest(IOCTL_CSQDRV_WAIT, f->DeviceObject, NULL, 0, &w->out,
                                           sizeof w->out, FALSE, &w->done, &w->iosb);
    assert_non_null(w->irp);
    IoGetNextIrpStackLocation(w->irp)->FileObject = f;
    w->call = IoCallDriver(f->DeviceObject, w->irp);
}

static NTSTATUS wait_done(wait_req *w)
{
    LARGE_INTEGER timeout;
    timeout.QuadPart = -100 * 10000; /* 100 ms of virtual time */
    if (KeWaitForSingleObject(&w->done, Executive, KernelMode, FALSE, &timeout) != STATUS_SUCCESS)
        return STATUS_TIMEOUT;
    return w->call == STATUS_PENDING ? w->iosb.Status : w->call;
}

static NTSTATUS fire(PFILE_OBJECT f, ULONG delay_us, ULONG value)
{
    CSQDRV_FIRE in = {delay_us, value};
    return kdpc_file_ioctl(f, IOCTL_CSQDRV_FIRE, &in, sizeof in, NULL, 0, NULL);
}

/* ---- the scenario ------------------------------------------------------------------------------ */

static struct {
    kdpc_machine *m;
    evt_dev d;
    kdpc_status plug;
    NTSTATUS load, open1, open2;
    kdpc_device_state started;
    PDRIVER_OBJECT drv;
    wait_req w[6];
    BOOLEAN cancel_ret;
    NTSTATUS fire_bad, wait_small, close2;
    HANDLE ev, ev_weak;
    NTSTATUS ev_create, weak_create, notify, notify_weak, notify_bad, notified, not_yet;
    CSQDRV_STATS stats;
    NTSTATUS stats_st;
    kdpc_status unplug;
    kdpc_device_state removed;
    NTSTATUS unload, close1;
    int reached_end;
} t;

static void TestEntry(void *ctx)
{
    (void)ctx;
    kdpc_device_desc desc;
    kdpc_device_desc_init(&desc);
    desc.name = "evt0";
    desc.driver = "csqdrv";
    desc.ctx = &t.d;
    desc.windows[0] = (kdpc_range_desc){0, CSQDRV_WINDOW, evt_read, evt_write};
    desc.nwindows = 1;
    desc.lines[0].line = 7;
    desc.lines[0].level = true;
    desc.nlines = 1;
    t.plug = kdpc_device_plug(t.m, &desc, &t.d.dev);
    if (t.plug != KDPC_OK)
        return;
    t.load = kdpc_driver_load(t.m, "csqdrv", CsqDriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load))
        return;
    t.started = kdpc_device_get_state(t.d.dev);

    PFILE_OBJECT f1 = NULL, f2 = NULL;
    t.open1 = kdpc_file_open(t.m, CSQDRV_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &f1);
    t.open2 = kdpc_file_open(t.m, CSQDRV_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &f2);
    if (!NT_SUCCESS(t.open1) || !NT_SUCCESS(t.open2))
        return;

    /* the program's event, signaled at each device event (ObReferenceObjectByHandle) */
    t.ev_create = kdpc_user_event_create(t.m, FALSE, FALSE, EVENT_ALL_ACCESS, &t.ev);
    t.weak_create = kdpc_user_event_create(t.m, FALSE, FALSE, SYNCHRONIZE, &t.ev_weak);
    CSQDRV_NOTIFY n = {t.ev};
    t.notify = kdpc_file_ioctl(f1, IOCTL_CSQDRV_SET_NOTIFY, &n, sizeof n, NULL, 0, NULL);
    n.Event = t.ev_weak; /* no EVENT_MODIFY_STATE */
    t.notify_weak = kdpc_file_ioctl(f1, IOCTL_CSQDRV_SET_NOTIFY, &n, sizeof n, NULL, 0, NULL);
    n.Event = (HANDLE)(ULONG_PTR)0x7FF4;
    t.notify_bad = kdpc_file_ioctl(f1, IOCTL_CSQDRV_SET_NOTIFY, &n, sizeof n, NULL, 0, NULL);
    t.not_yet = kdpc_user_event_wait(t.m, t.ev, 0);

    /* three waiters; two events answer the first two, oldest first */
    for (int i = 0; i < 3; i++)
        send_wait(f1, &t.w[i]);
    (void)fire(f1, 100, 0xA1);
    ct_sleep_ms(1);
    (void)fire(f1, 100, 0xA2);
    t.w[0].final = wait_done(&t.w[0]);
    t.w[1].final = wait_done(&t.w[1]);
    t.notified = kdpc_user_event_wait(t.m, t.ev, 0);
    /* the third is cancelled */
    t.cancel_ret = IoCancelIrp(t.w[2].irp);
    t.w[2].final = wait_done(&t.w[2]);

    /* two waiters on the second handle; closing it cancels them */
    send_wait(f2, &t.w[3]);
    send_wait(f2, &t.w[4]);
    t.close2 = kdpc_file_close(f2);
    t.w[3].final = wait_done(&t.w[3]);
    t.w[4].final = wait_done(&t.w[4]);

    /* an event before anyone waits: the next WAIT gets it from the backlog */
    (void)fire(f1, 50, 0xB1);
    ct_sleep_ms(1);
    send_wait(f1, &t.w[5]);
    t.w[5].final = wait_done(&t.w[5]);

    /* six events, nobody waiting: the backlog keeps four, two are lost */
    for (ULONG i = 0; i < 6; i++) {
        (void)fire(f1, 50, 0xC0 + i);
        ct_sleep_ms(1);
    }
    t.stats_st = kdpc_file_ioctl(f1, IOCTL_CSQDRV_STATS, NULL, 0, &t.stats, sizeof t.stats, NULL);

    /* bad input */
    t.fire_bad = fire(f1, 0, 1);
    USHORT small;
    t.wait_small = kdpc_file_ioctl(f1, IOCTL_CSQDRV_WAIT, NULL, 0, &small, sizeof small, NULL);

    (void)kdpc_user_event_close(t.m, t.ev); /* the driver keeps its reference until removal */
    (void)kdpc_user_event_close(t.m, t.ev_weak);
    t.close1 = kdpc_file_close(f1);
    t.unplug = kdpc_device_unplug(t.d.dev, KDPC_UNPLUG_ORDERLY);
    t.removed = kdpc_device_get_state(t.d.dev);
    t.unload = kdpc_driver_unload(t.drv);
    t.reached_end = 1;
}

static void test_waits_cancels_and_backlog(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        memset(&t, 0, sizeof t);
        t.m = ct_machine(2, seed);
        assert_int_equal(kdpc_machine_run(t.m, TestEntry, NULL), KDPC_OK);
        assert_int_equal(t.plug, KDPC_OK);
        assert_int_equal(t.load, STATUS_SUCCESS);
        assert_int_equal(t.started, KDPC_DEVICE_STARTED);
        assert_int_equal(t.open1, STATUS_SUCCESS);
        assert_int_equal(t.open2, STATUS_SUCCESS);
        assert_int_equal(t.reached_end, 1);
        ct_assert_clean(t.m);

        for (int i = 0; i < 5; i++)
            assert_int_equal(t.w[i].call, STATUS_PENDING);
        assert_int_equal(t.ev_create, STATUS_SUCCESS);
        assert_int_equal(t.weak_create, STATUS_SUCCESS);
        assert_int_equal(t.notify, STATUS_SUCCESS);
        assert_int_equal(t.notify_weak, STATUS_ACCESS_DENIED);
        assert_int_equal(t.notify_bad, STATUS_INVALID_HANDLE);
        assert_int_equal(t.not_yet, STATUS_TIMEOUT);
        assert_int_equal(t.notified, STATUS_SUCCESS);
        assert_int_equal(t.w[0].final, STATUS_SUCCESS);
        assert_int_equal(t.w[0].out, 0xA1);
        assert_int_equal(t.w[0].iosb.Information, sizeof(ULONG));
        assert_int_equal(t.w[1].final, STATUS_SUCCESS);
        assert_int_equal(t.w[1].out, 0xA2);
        assert_true(t.cancel_ret);
        assert_int_equal(t.w[2].final, STATUS_CANCELLED);
        assert_int_equal(t.close2, STATUS_SUCCESS);
        assert_int_equal(t.w[3].final, STATUS_CANCELLED);
        assert_int_equal(t.w[4].final, STATUS_CANCELLED);
        assert_int_equal(t.w[5].final, STATUS_SUCCESS); /* from the backlog */
        assert_int_equal(t.w[5].out, 0xB1);

        assert_int_equal(t.stats_st, STATUS_SUCCESS);
        assert_int_equal(t.stats.Events, 9);
        assert_int_equal(t.stats.Delivered, 3);
        assert_int_equal(t.stats.Cancelled, 3);
        assert_int_equal(t.stats.BacklogDepth, 4); /* no device parameter: the default */
        assert_int_equal(t.stats.Backlog, 4);
        assert_int_equal(t.stats.Lost, 2);
        assert_int_equal(t.d.fired, 9);

        assert_int_equal(t.fire_bad, STATUS_INVALID_PARAMETER);
        assert_int_equal(t.wait_small, STATUS_BUFFER_TOO_SMALL);
        assert_int_equal(t.close1, STATUS_SUCCESS);
        assert_int_equal(t.unplug, KDPC_OK);
        assert_int_equal(t.removed, KDPC_DEVICE_REMOVED);
        assert_int_equal(t.unload, STATUS_SUCCESS);
        assert_int_equal(t.d.bad_accesses, 0);
        kdpc_machine_destroy(t.m);
    }
}

/* BacklogDepth from the device's registry key; surprise removal with waits pending: they complete
 * with STATUS_NO_SUCH_DEVICE, a new wait is refused, IRP_MN_REMOVE_DEVICE comes once the handle is
 * closed. */
static struct {
    kdpc_machine *m;
    evt_dev d;
    PDRIVER_OBJECT drv;
    NTSTATUS load, open, late;
    kdpc_status reg;
    CSQDRV_STATS stats;
    wait_req w[2];
    kdpc_status unplug;
    kdpc_device_state gone, removed;
    NTSTATUS close, unload;
    int reached_end;
} s;

static void SurpriseEntry(void *ctx)
{
    (void)ctx;
    kdpc_device_desc desc;
    kdpc_device_desc_init(&desc);
    desc.name = "evt1";
    desc.driver = "csqdrv";
    desc.ctx = &s.d;
    desc.windows[0] = (kdpc_range_desc){0, CSQDRV_WINDOW, evt_read, evt_write};
    desc.nwindows = 1;
    desc.lines[0].line = 7;
    desc.lines[0].level = true;
    desc.nlines = 1;
    /* the device's hardware key, as its INF would set it */
    s.reg =
        kdpc_registry_set_dword(s.m,
                                "\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\Root\\evt1"
                                "\\0000\\Device Parameters",
                                "BacklogDepth", 2);
    if (kdpc_device_plug(s.m, &desc, &s.d.dev) != KDPC_OK)
        return;
    s.load = kdpc_driver_load(s.m, "csqdrv", CsqDriverEntry, &s.drv);
    if (!NT_SUCCESS(s.load))
        return;
    PFILE_OBJECT f = NULL;
    s.open = kdpc_file_open(s.m, CSQDRV_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &f);
    if (!NT_SUCCESS(s.open))
        return;
    (void)kdpc_file_ioctl(f, IOCTL_CSQDRV_STATS, NULL, 0, &s.stats, sizeof s.stats, NULL);
    send_wait(f, &s.w[0]);
    send_wait(f, &s.w[1]);
    s.unplug = kdpc_device_unplug(s.d.dev, KDPC_UNPLUG_SURPRISE);
    s.w[0].final = wait_done(&s.w[0]);
    s.w[1].final = wait_done(&s.w[1]);
    ULONG out;
    s.late = kdpc_file_ioctl(f, IOCTL_CSQDRV_WAIT, NULL, 0, &out, sizeof out, NULL);
    s.gone = kdpc_device_get_state(s.d.dev);
    s.close = kdpc_file_close(f);
    for (int i = 0; i < 100 && kdpc_device_get_state(s.d.dev) != KDPC_DEVICE_REMOVED; i++)
        ct_sleep_ms(1);
    s.removed = kdpc_device_get_state(s.d.dev);
    s.unload = kdpc_driver_unload(s.drv);
    s.reached_end = 1;
}

static void test_surprise_removal_with_waits_pending(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        memset(&s, 0, sizeof s);
        s.m = ct_machine(2, seed);
        assert_int_equal(kdpc_machine_run(s.m, SurpriseEntry, NULL), KDPC_OK);
        assert_int_equal(s.load, STATUS_SUCCESS);
        assert_int_equal(s.open, STATUS_SUCCESS);
        assert_int_equal(s.reached_end, 1);
        ct_assert_clean(s.m);
        assert_int_equal(s.reg, KDPC_OK);
        assert_int_equal(s.stats.BacklogDepth, 2); /* IoOpenDeviceRegistryKey + ZwQueryValueKey */
        assert_int_equal(s.unplug, KDPC_OK);
        assert_int_equal(s.w[0].final, STATUS_NO_SUCH_DEVICE);
        assert_int_equal(s.w[1].final, STATUS_NO_SUCH_DEVICE);
        assert_int_equal(s.late, STATUS_DEVICE_NOT_READY);
        assert_int_equal(s.gone, KDPC_DEVICE_SURPRISE_REMOVED);
        assert_int_equal(s.close, STATUS_SUCCESS);
        assert_int_equal(s.removed, KDPC_DEVICE_REMOVED);
        assert_int_equal(s.unload, STATUS_SUCCESS);
        kdpc_machine_destroy(s.m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waits_cancels_and_backlog),
        cmocka_unit_test(test_surprise_removal_with_waits_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
