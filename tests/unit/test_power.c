/* SPDX-License-Identifier: MIT */
/*
 * test_power.c - IRP_MJ_POWER (kdpc/wdm/power.h, docs/facts/pnp.md section
 * 3): kdpc_power_set_system sends a sleeping system IRP_MN_QUERY_POWER then
 * IRP_MN_SET_POWER, and a wake IRP_MN_SET_POWER(S0); the driver, as power
 * policy owner, requests the device IRPs with PoRequestPowerIrp and its
 * callback gets them completed by the stack (the PDO powers the device);
 * PoSetPowerState returns the previous state (D0 at first); a refused query
 * stops the sleep; bad input of PoRequestPowerIrp and kdpc_power_set_system.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef struct EXT {
    PDEVICE_OBJECT Lower, Pdo;
} EXT;

#define LOG_MAX 32
static struct {
    kdpc_machine *m;
    char log[LOG_MAX][16];
    unsigned n;
    BOOLEAN refuse_query;
    PDEVICE_OBJECT fdo;
    DEVICE_POWER_STATE prev[4];
    unsigned nprev;
    NTSTATUS st_sleep, st_wake, st_bad_minor, st_wait_wake, st_bad_state, st_refused, st_again;
    KIRQL cb_irql;
    unsigned nquery_s, nset_s; /* system query / set IRPs the FDOs saw, all devices */
} g;

static void logf_(const char *what, int n)
{
    if (g.n < LOG_MAX)
        snprintf(g.log[g.n++], sizeof(g.log[0]), "%s%d", what, n);
}

static void DCallback(PDEVICE_OBJECT dev, UCHAR minor, POWER_STATE state, PVOID ctx,
                      PIO_STATUS_BLOCK iosb)
{
    (void)dev;
    (void)ctx;
    g.cb_irql = KeGetCurrentIrql();
    if (minor == IRP_MN_SET_POWER && NT_SUCCESS(iosb->Status))
        logf_("cbD", (int)state.DeviceState - 1);
}

static NTSTATUS FdoPower(PDEVICE_OBJECT dev, PIRP irp)
{
    EXT *x = dev->DeviceExtension;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    if (s->MinorFunction == IRP_MN_QUERY_POWER) {
        g.nquery_s++;
        logf_("qS", (int)s->Parameters.Power.State.SystemState - 1);
        if (g.refuse_query) {
            PoStartNextPowerIrp(irp);
            irp->IoStatus.Status = STATUS_UNSUCCESSFUL;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
            return STATUS_UNSUCCESSFUL;
        }
    } else if (s->MinorFunction == IRP_MN_SET_POWER) {
        if (s->Parameters.Power.Type == SystemPowerState) {
            SYSTEM_POWER_STATE ss = s->Parameters.Power.State.SystemState;
            g.nset_s++;
            logf_("sS", (int)ss - 1);
            POWER_STATE d;
            d.DeviceState = ss == PowerSystemWorking ? PowerDeviceD0 : PowerDeviceD3;
            (void)PoRequestPowerIrp(x->Pdo, IRP_MN_SET_POWER, d, DCallback, NULL, NULL);
        } else {
            logf_("sD", (int)s->Parameters.Power.State.DeviceState - 1);
            POWER_STATE old = PoSetPowerState(dev, DevicePowerState, s->Parameters.Power.State);
            if (g.nprev < 4)
                g.prev[g.nprev++] = old.DeviceState;
        }
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    PoStartNextPowerIrp(irp);
    IoSkipCurrentIrpStackLocation(irp);
    return PoCallDriver(x->Lower, irp);
}

static NTSTATUS FdoPnp(PDEVICE_OBJECT dev, PIRP irp)
{
    EXT *x = dev->DeviceExtension;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    if (s->MinorFunction == IRP_MN_START_DEVICE) {
        (void)IoForwardIrpSynchronously(x->Lower, irp);
        NTSTATUS st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->Lower, irp);
}

static NTSTATUS AddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    NTSTATUS st = IoCreateDevice(drv, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    EXT *x = fdo->DeviceExtension;
    x->Pdo = pdo;
    x->Lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    g.fdo = fdo;
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = AddDevice;
    drv->MajorFunction[IRP_MJ_PNP] = FdoPnp;
    drv->MajorFunction[IRP_MJ_POWER] = FdoPower;
    return STATUS_SUCCESS;
}

static kdpc_device *start_device(void)
{
    PDRIVER_OBJECT drv;
    (void)kdpc_driver_load(g.m, "tpow", Entry, &drv);
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "pow0";
    d.driver = "tpow";
    kdpc_device *dev = NULL;
    (void)kdpc_device_plug(g.m, &d, &dev);
    return dev;
}

static void sleep_and_wake(void *ctx)
{
    (void)ctx;
    (void)start_device();
    g.st_sleep = kdpc_power_set_system(g.m, PowerSystemSleeping3);
    g.st_wake = kdpc_power_set_system(g.m, PowerSystemWorking);
}

static void test_s0_s3_s0_sends_system_then_device_irps_in_order(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    g.m = kt_machine(2, 13);
    assert_int_equal(kdpc_machine_run(g.m, sleep_and_wake, NULL), KDPC_OK);
    assert_int_equal(g.st_sleep, STATUS_SUCCESS);
    assert_int_equal(g.st_wake, STATUS_SUCCESS);
    static const char *want[] = {"qS3", "sS3", "sD3", "cbD3", "sS0", "sD0", "cbD0"};
    assert_int_equal(g.n, 7);
    for (unsigned i = 0; i < 7; i++)
        assert_string_equal(g.log[i], want[i]);
    assert_int_equal(g.nprev, 2);
    assert_int_equal(g.prev[0], PowerDeviceD0); /* devices start in D0 */
    assert_int_equal(g.prev[1], PowerDeviceD3);
    assert_int_equal(g.cb_irql, PASSIVE_LEVEL);
    assert_null(kdpc_machine_bugcheck(g.m));
    kdpc_machine_destroy(g.m);
}

static void refused(void *ctx)
{
    (void)ctx;
    (void)start_device();
    g.refuse_query = TRUE;
    g.st_refused = kdpc_power_set_system(g.m, PowerSystemSleeping3);
    g.refuse_query = FALSE;
    g.st_again = kdpc_power_set_system(g.m, PowerSystemSleeping1);
}

static void test_refused_query_stops_the_sleep(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    g.m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(g.m, refused, NULL), KDPC_OK);
    assert_int_equal(g.st_refused, STATUS_UNSUCCESSFUL);
    assert_int_equal(g.st_again, STATUS_SUCCESS);
    assert_string_equal(g.log[0], "qS3");
    assert_string_equal(g.log[1], "qS1"); /* no set-power after the refused query */
    assert_string_equal(g.log[2], "sS1");
    kdpc_machine_destroy(g.m);
}

/* Every started device gets the system IRPs, however many there are (no fixed-size list) */
#define MANY 300
static char many_names[MANY][16];
static unsigned many_started;

static void many_sleep_and_wake(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    (void)kdpc_driver_load(g.m, "tpow", Entry, &drv);
    for (unsigned i = 0; i < MANY; i++) {
        kdpc_device_desc d;
        kdpc_device_desc_init(&d);
        snprintf(many_names[i], sizeof(many_names[i]), "pow%u", i);
        d.name = many_names[i];
        d.driver = "tpow";
        kdpc_device *dev = NULL;
        if (kdpc_device_plug(g.m, &d, &dev) == KDPC_OK &&
            kdpc_device_get_state(dev) == KDPC_DEVICE_STARTED)
            many_started++;
    }
    g.st_sleep = kdpc_power_set_system(g.m, PowerSystemSleeping3);
    g.st_wake = kdpc_power_set_system(g.m, PowerSystemWorking);
}

static void test_300_devices_all_get_the_system_irps(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    many_started = 0;
    g.m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(g.m, many_sleep_and_wake, NULL), KDPC_OK);
    assert_int_equal(many_started, MANY);
    assert_int_equal(g.st_sleep, STATUS_SUCCESS);
    assert_int_equal(g.st_wake, STATUS_SUCCESS);
    assert_int_equal(g.nquery_s, MANY);   /* one query each */
    assert_int_equal(g.nset_s, 2 * MANY); /* S3 then S0 each */
    assert_null(kdpc_machine_bugcheck(g.m));
    kdpc_machine_destroy(g.m);
}

static void bad_requests(void *ctx)
{
    (void)ctx;
    (void)start_device();
    POWER_STATE d;
    d.DeviceState = PowerDeviceD3;
    g.st_wait_wake = PoRequestPowerIrp(g.fdo, IRP_MN_WAIT_WAKE, d, NULL, NULL, NULL);
    g.st_bad_minor = PoRequestPowerIrp(g.fdo, 0x7F, d, NULL, NULL, NULL);
    d.DeviceState = PowerDeviceMaximum;
    g.st_bad_state = PoRequestPowerIrp(g.fdo, IRP_MN_SET_POWER, d, NULL, NULL, NULL);
    g.st_sleep = kdpc_power_set_system(g.m, PowerSystemShutdown);
}

static void test_bad_input(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    g.m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(g.m, bad_requests, NULL), KDPC_OK);
    assert_int_equal(g.st_wait_wake, STATUS_INVALID_PARAMETER_2);
    assert_int_equal(g.st_bad_minor, STATUS_INVALID_PARAMETER_2);
    assert_int_equal(g.st_bad_state, STATUS_INVALID_PARAMETER_2);
    assert_int_equal(g.st_sleep, STATUS_INVALID_PARAMETER);
    assert_int_equal(g.n, 0);
    /* from a host thread: not simulated code */
    assert_int_equal(kdpc_power_set_system(g.m, PowerSystemSleeping3), STATUS_INVALID_PARAMETER);
    assert_int_equal(kdpc_power_set_system(NULL, PowerSystemSleeping3), STATUS_INVALID_PARAMETER);
    kdpc_machine_destroy(g.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s0_s3_s0_sends_system_then_device_irps_in_order),
        cmocka_unit_test(test_refused_query_stops_the_sleep),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_300_devices_all_get_the_system_irps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
