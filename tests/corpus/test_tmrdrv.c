/* SPDX-License-Identifier: MIT */
/*
 * test_tmrdrv.c - the corpus' timer-DPC driver (tmrdrv/tmrdrv.c) on its
 * virtual TMR-1 sampler: the driver is loaded, the device plugged and started
 * by the PnP manager, opened by name as a program would, and driven with its
 * IOCTLs: a periodic KTIMER's DPC samples the device's microsecond counter
 * every SamplePeriodMs (a registry parameter) into a ring of RingSize.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/registry.h>
#include "corpus_test.h"
#include "tmrdrv.h"

#define SERVICE_KEY "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\tmrdrv"
#define PARAMETERS_KEY                                                                             \
    "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\tmrdrv\\Parameters"

/* ---- the virtual TMR-1 ------------------------------------------------------------------------ */

typedef struct tmr_dev {
    kdpc_device *dev;
    bool enabled;
    uint64_t enabled_at_ns;
    unsigned bad_accesses;
} tmr_dev;

static uint64_t tmr_read(const kdpc_reg_access *a)
{
    tmr_dev *d = a->ctx;
    if (a->width != 4) {
        d->bad_accesses++;
        return 0;
    }
    switch (a->offset) {
    case TMRDRV_REG_ID:
        return TMRDRV_ID;
    case TMRDRV_REG_COUNT:
        return d->enabled ? (uint32_t)((kdpc_machine_time_ns(a->machine) - d->enabled_at_ns) / 1000)
                          : 0;
    default:
        return 0;
    }
}

static void tmr_write(const kdpc_reg_access *a)
{
    tmr_dev *d = a->ctx;
    if (a->width != 4 || a->offset != TMRDRV_REG_CTRL) {
        d->bad_accesses++;
        return;
    }
    bool on = (a->value & TMRDRV_CTRL_ENABLE) != 0;
    if (on && !d->enabled)
        d->enabled_at_ns = kdpc_machine_time_ns(a->machine);
    d->enabled = on;
}

/* ---- the scenario ------------------------------------------------------------------------------ */

#define MAX_SAMPLES 64

typedef struct samples_buf {
    TMRDRV_SAMPLES h;
    ULONG more[MAX_SAMPLES];
} samples_buf;

static struct {
    kdpc_machine *m;
    tmr_dev d;
    bool registry; /* set SamplePeriodMs/RingSize before loading */
    kdpc_status plug, reg1, reg2;
    NTSTATUS load, open;
    kdpc_device_state started;
    PDRIVER_OBJECT drv;
    TMRDRV_INFO info;
    NTSTATUS info_st;
    samples_buf s1, s2, s3;
    NTSTATUS s1_st, s2_st, s3_st;
    ULONG_PTR s1_info;
    NTSTATUS period2, period0, period_big, period_short, small_out, bad_code;
    ULONG ticks_before_remove;
    kdpc_status unplug;
    kdpc_device_state removed;
    NTSTATUS unload, close;
    uint32_t overflows;
    kdpc_status overflows_st;
    int reached_end;
} t;

static void TestEntry(void *ctx)
{
    (void)ctx;
    kdpc_device_desc desc;
    kdpc_device_desc_init(&desc);
    desc.name = "tmr0";
    desc.driver = "tmrdrv";
    desc.ctx = &t.d;
    desc.windows[0] = (kdpc_range_desc){0, TMRDRV_WINDOW, tmr_read, tmr_write};
    desc.nwindows = 1;
    t.plug = kdpc_device_plug(t.m, &desc, &t.d.dev);
    if (t.plug != KDPC_OK)
        return;
    if (t.registry) { /* as the service's INF would have set them */
        t.reg1 = kdpc_registry_set_dword(t.m, PARAMETERS_KEY, "SamplePeriodMs", 5);
        t.reg2 = kdpc_registry_set_dword(t.m, PARAMETERS_KEY, "RingSize", 4);
    }
    t.load = kdpc_driver_load(t.m, "tmrdrv", TmrDriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load))
        return;
    t.started = kdpc_device_get_state(t.d.dev);

    PFILE_OBJECT f = NULL;
    t.open = kdpc_file_open(t.m, TMRDRV_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &f);
    if (!NT_SUCCESS(t.open))
        return;
    t.info_st = kdpc_file_ioctl(f, IOCTL_TMRDRV_GET_INFO, NULL, 0, &t.info, sizeof t.info, NULL);

    /* 55 ms at the default 10 ms period: about five samples, 10 ms of counter apart */
    ct_sleep_ms(55);
    t.s1_st = kdpc_file_ioctl(f, IOCTL_TMRDRV_GET_SAMPLES, NULL, 0, &t.s1, sizeof t.s1, &t.s1_info);

    /* a 2 ms period */
    t.period2 = ct_ioctl_ulong(f, IOCTL_TMRDRV_SET_PERIOD, 2);
    (void)kdpc_file_ioctl(f, IOCTL_TMRDRV_GET_SAMPLES, NULL, 0, &t.s2, sizeof t.s2, NULL);
    ct_sleep_ms(21);
    t.s2_st = kdpc_file_ioctl(f, IOCTL_TMRDRV_GET_SAMPLES, NULL, 0, &t.s2, sizeof t.s2, NULL);

    /* bad input */
    t.period0 = ct_ioctl_ulong(f, IOCTL_TMRDRV_SET_PERIOD, 0);
    t.period_big = ct_ioctl_ulong(f, IOCTL_TMRDRV_SET_PERIOD, 5000);
    USHORT two = 2;
    t.period_short = kdpc_file_ioctl(f, IOCTL_TMRDRV_SET_PERIOD, &two, sizeof two, NULL, 0, NULL);
    ULONG tiny = 0;
    t.small_out = kdpc_file_ioctl(f, IOCTL_TMRDRV_GET_SAMPLES, NULL, 0, &tiny, sizeof tiny, NULL);
    t.bad_code =
        kdpc_file_ioctl(f, CTL_CODE(FILE_DEVICE_UNKNOWN, 0x8FF, METHOD_BUFFERED, FILE_ANY_ACCESS),
                        NULL, 0, NULL, 0, NULL);

    /* the ring overflows: 1 ms period, 40 ms without draining */
    (void)ct_ioctl_ulong(f, IOCTL_TMRDRV_SET_PERIOD, 1);
    (void)kdpc_file_ioctl(f, IOCTL_TMRDRV_GET_SAMPLES, NULL, 0, &t.s3, sizeof t.s3, NULL);
    ct_sleep_ms(40);
    t.s3_st = kdpc_file_ioctl(f, IOCTL_TMRDRV_GET_SAMPLES, NULL, 0, &t.s3, sizeof t.s3, NULL);

    t.close = kdpc_file_close(f);
    t.unplug = kdpc_device_unplug(t.d.dev, KDPC_UNPLUG_ORDERLY);
    t.removed = kdpc_device_get_state(t.d.dev);
    t.unload = kdpc_driver_unload(t.drv);
    t.overflows_st = kdpc_registry_get_value(t.m, SERVICE_KEY, "Overflows", NULL, &t.overflows,
                                             sizeof t.overflows, NULL);
    t.reached_end = 1;
}

static void run(uint64_t seed, bool registry)
{
    memset(&t, 0, sizeof t);
    t.registry = registry;
    t.m = ct_machine(2, seed);
    assert_int_equal(kdpc_machine_run(t.m, TestEntry, NULL), KDPC_OK);
    assert_int_equal(t.plug, KDPC_OK);
    assert_int_equal(t.load, STATUS_SUCCESS);
    assert_int_equal(t.started, KDPC_DEVICE_STARTED);
    assert_int_equal(t.open, STATUS_SUCCESS);
    assert_int_equal(t.reached_end, 1);
    ct_assert_clean(t.m);
}

static void check_spacing(const TMRDRV_SAMPLES *s, ULONG period_us)
{
    for (ULONG i = 1; i < s->Count; i++) {
        ULONG gap = s->Samples[i] - s->Samples[i - 1];
        assert_true(gap >= period_us - period_us / 10 && gap <= period_us + period_us / 10);
    }
}

static void test_samples_on_the_timer_period(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        run(seed, false);
        /* IoCreateDeviceSecure's name, copied out with RtlStringCbCopyNW */
        assert_int_equal(t.info_st, STATUS_SUCCESS);
        static const WCHAR want[] = L"\\Device\\Tmr0";
        assert_memory_equal(t.info.DeviceName, want, sizeof want);
        assert_int_equal(t.info.PeriodMs, 10); /* no Parameters key: the defaults */
        assert_int_equal(t.info.RingSize, 16);
        assert_int_equal(t.info.Opens, 1);

        assert_int_equal(t.s1_st, STATUS_SUCCESS);
        assert_true(t.s1.h.Count >= 4 && t.s1.h.Count <= 6);
        assert_int_equal(t.s1_info,
                         FIELD_OFFSET(TMRDRV_SAMPLES, Samples) + t.s1.h.Count * sizeof(ULONG));
        assert_int_equal(t.s1.h.Dropped, 0);
        check_spacing(&t.s1.h, 10000);

        assert_int_equal(t.period2, STATUS_SUCCESS);
        assert_int_equal(t.s2_st, STATUS_SUCCESS);
        assert_true(t.s2.h.Count >= 9 && t.s2.h.Count <= 11);
        check_spacing(&t.s2.h, 2000);

        assert_int_equal(t.s3_st, STATUS_SUCCESS);
        assert_int_equal(t.s3.h.Count, 16); /* the ring is full ... */
        assert_true(t.s3.h.Dropped >= 20);  /* ... and counted what it dropped */
        /* a work item wrote the drops under the service key (RtlWriteRegistryValue) */
        assert_int_equal(t.overflows_st, KDPC_OK);
        assert_true(t.overflows >= 1 && t.overflows <= t.s3.h.Dropped);
        check_spacing(&t.s3.h, 1000);

        assert_int_equal(t.close, STATUS_SUCCESS);
        assert_int_equal(t.unplug, KDPC_OK);
        assert_int_equal(t.removed, KDPC_DEVICE_REMOVED);
        assert_int_equal(t.unload, STATUS_SUCCESS);
        assert_int_equal(t.d.bad_accesses, 0);
        assert_false(t.d.enabled); /* stopped at IRP_MN_REMOVE_DEVICE */
        size_t count = 1;
        assert_int_equal(kdpc_pool_outstanding(t.m, 'rmTk', &count, NULL), KDPC_OK);
        assert_int_equal(count, 0);
        kdpc_machine_destroy(t.m);
    }
}

static void test_bad_requests_get_their_status(void **state)
{
    (void)state;
    run(7, false);
    assert_int_equal(t.period0, STATUS_INVALID_PARAMETER);
    assert_int_equal(t.period_big, STATUS_INVALID_PARAMETER);
    assert_int_equal(t.period_short, STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(t.small_out, STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(t.bad_code, STATUS_INVALID_DEVICE_REQUEST);
    kdpc_machine_destroy(t.m);
}

/* SamplePeriodMs and RingSize from <service key>\Parameters (RtlQueryRegistryValues). */
static void test_registry_parameters(void **state)
{
    (void)state;
    run(9, true);
    assert_int_equal(t.reg1, KDPC_OK);
    assert_int_equal(t.reg2, KDPC_OK);
    assert_int_equal(t.info_st, STATUS_SUCCESS);
    assert_int_equal(t.info.PeriodMs, 5);
    assert_int_equal(t.info.RingSize, 4);
    assert_int_equal(t.s1_st, STATUS_SUCCESS);
    assert_int_equal(t.s1.h.Count, 4); /* 55 ms at 5 ms: eleven samples, four kept */
    assert_true(t.s1.h.Dropped >= 6);
    check_spacing(&t.s1.h, 5000);
    kdpc_machine_destroy(t.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_on_the_timer_period),
        cmocka_unit_test(test_bad_requests_get_their_status),
        cmocka_unit_test(test_registry_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
