/* SPDX-License-Identifier: MIT */
/*
 * test_dv_power.c - the power and remove-lock rules (docs/rules.md, area
 * power): one small PnP function driver with a remove lock in its device
 * extension breaks one rule per mode and the run stops with the rule's code
 * and P1..P4; the same driver with the mistake fixed runs clean through a
 * sleep, a wake and an orderly removal.
 *
 *   power.requested_irp             0xC4/0x0004100B (RequestedPowerIrp)
 *   removelock.wait_outside_remove  0 (IoReleaseRemoveLockAndWaitOutsideRemoveDevice)
 *   removelock.delete_unwaited      0 (RemoveLockCheck, RemoveLockMnRemove)
 *   pnp.must_not_fail               0xC9/0x247 for IRP_MN_SET_POWER (PowerDownFail, PowerUpFail)
 *   power.irp_status                0xC9/0x219
 *   power.not_passed_down           0xC9/0x230, 0x231, 0x232
 *   power.pagable_not_inherited     0xC9/0x23F
 *   removelock.held_on_return       0 (RemoveLock, RemoveLockRelease2, RemoveLockRelease<Major>)
 *   removelock.forward_unheld       0 (RemoveLockForward*, RemoveLockMnRemove, ...)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef enum mode {
    FIXED,
    REQUESTED_IRP,  /* PoRequestPowerIrp(SET_POWER) with an Irp out-pointer */
    WAIT_OUTSIDE,   /* IoReleaseRemoveLockAndWait on IRP_MN_QUERY_REMOVE_DEVICE */
    NO_WAIT,        /* REMOVE: IoReleaseRemoveLock, then detach and delete */
    FAIL_SLEEP,     /* system IRP_MN_SET_POWER(S3) failed */
    FAIL_DEVICE,    /* device IRP_MN_SET_POWER(D3) failed (the driver requested it) */
    FWD_FAILED,     /* 0x219: system query passed down failed */
    DONE_SUCCESS,   /* 0x231: system query completed with success, not passed down */
    DONE_UNTOUCHED, /* 0x232: system query completed STATUS_NOT_SUPPORTED */
    DONE_UNKNOWN,   /* 0x230: the entry's own power IRP of an unknown minor completed */
    NOT_PAGABLE,    /* 0x23F: the FDO over a DO_POWER_PAGABLE PDO without the flag */
    HELD,           /* a device set-power passed down, the remove lock never released */
    UNHELD          /* a device set-power passed down without the remove lock */
} mode;

typedef struct ext {
    IO_REMOVE_LOCK lock;
    PDEVICE_OBJECT lower;
} ext;

static mode g_mode;
static PDEVICE_OBJECT g_fdo, g_pdo;
static IO_REMOVE_LOCK *g_lock;
static PIRP g_irp;     /* the IRP the broken branch got */
static PIRP g_out;     /* what PoRequestPowerIrp gave back */
static int g_done;     /* the entry reached its end */
static int g_dev_sets; /* device set-power IRPs the driver saw */

static uint64_t fn_addr(void (*fn)(void))
{
    uintptr_t u = 0;
    memcpy(&u, &fn, sizeof(u));
    return u;
}

static ext *x_of(PDEVICE_OBJECT dev)
{
    return dev->DeviceExtension;
}

static NTSTATUS Pnp(PDEVICE_OBJECT dev, PIRP irp)
{
    ext *x = x_of(dev);
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    NTSTATUS st = IoAcquireRemoveLock(&x->lock, irp);
    if (!NT_SUCCESS(st)) {
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    if (minor == IRP_MN_QUERY_REMOVE_DEVICE || minor == IRP_MN_REMOVE_DEVICE ||
        minor == IRP_MN_SURPRISE_REMOVAL || minor == IRP_MN_QUERY_STOP_DEVICE ||
        minor == IRP_MN_STOP_DEVICE)
        irp->IoStatus.Status = STATUS_SUCCESS; /* answered going down */
    PDEVICE_OBJECT lower = x->lower;
    if (minor == IRP_MN_START_DEVICE) {
        (void)IoForwardIrpSynchronously(lower, irp);
        st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&x->lock, irp);
        return st;
    }
    IoSkipCurrentIrpStackLocation(irp);
    st = IoCallDriver(lower, irp);
    if (minor == IRP_MN_QUERY_REMOVE_DEVICE && g_mode == WAIT_OUTSIDE) {
        g_irp = irp;
        IoReleaseRemoveLockAndWait(&x->lock, irp); /* only the remove handler waits */
        return st;
    }
    if (minor != IRP_MN_REMOVE_DEVICE) {
        IoReleaseRemoveLock(&x->lock, irp);
        return st;
    }
    g_irp = irp;
    if (g_mode == NO_WAIT)
        IoReleaseRemoveLock(&x->lock, irp); /* the delete below does not wait for others */
    else
        IoReleaseRemoveLockAndWait(&x->lock, irp);
    IoDetachDevice(lower);
    IoDeleteDevice(dev);
    return st;
}

static void DevicePowerDone(PDEVICE_OBJECT dev, UCHAR minor, POWER_STATE state, PVOID ctx,
                            PIO_STATUS_BLOCK iosb)
{
    (void)dev;
    (void)minor;
    (void)state;
    (void)iosb;
    PIRP sirp = ctx; /* the system IRP, completed once the device is in its state */
    IoCompleteRequest(sirp, IO_NO_INCREMENT);
}

static NTSTATUS SystemPowerUp(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)ctx;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    if (irp->PendingReturned)
        IoMarkIrpPending(irp);
    if (!NT_SUCCESS(irp->IoStatus.Status)) {
        IoReleaseRemoveLock(&x_of(dev)->lock, irp);
        return STATUS_CONTINUE_COMPLETION;
    }
    SYSTEM_POWER_STATE sys = s->Parameters.Power.State.SystemState;
    POWER_STATE d;
    d.DeviceState = sys == PowerSystemWorking ? PowerDeviceD0 : PowerDeviceD3;
    IoReleaseRemoveLock(&x_of(dev)->lock, irp);
    NTSTATUS st = PoRequestPowerIrp(dev, IRP_MN_SET_POWER, d, DevicePowerDone, irp, NULL);
    return NT_SUCCESS(st) ? STATUS_MORE_PROCESSING_REQUIRED : STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS Power(PDEVICE_OBJECT dev, PIRP irp)
{
    ext *x = x_of(dev);
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    PIO_STACK_LOCATION cur = IoGetCurrentIrpStackLocation(irp);
    if (g_mode == UNHELD && cur->MinorFunction == IRP_MN_SET_POWER &&
        cur->Parameters.Power.Type == DevicePowerState) {
        g_irp = irp; /* passed down with no acquisition of the remove lock */
        PoStartNextPowerIrp(irp);
        IoSkipCurrentIrpStackLocation(irp);
        return PoCallDriver(x->lower, irp);
    }
    NTSTATUS st = IoAcquireRemoveLock(&x->lock, irp);
    if (!NT_SUCCESS(st)) {
        PoStartNextPowerIrp(irp);
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    bool query = s->MinorFunction == IRP_MN_QUERY_POWER;
    if ((query && (g_mode == FWD_FAILED || g_mode == DONE_SUCCESS || g_mode == DONE_UNTOUCHED)) ||
        (s->MinorFunction == 0x7 && g_mode == DONE_UNKNOWN)) {
        g_irp = irp;
        PoStartNextPowerIrp(irp);
        if (g_mode == FWD_FAILED) { /* failed: completed, never passed down */
            irp->IoStatus.Status = STATUS_UNSUCCESSFUL;
            IoSkipCurrentIrpStackLocation(irp);
            st = PoCallDriver(x->lower, irp);
        } else {
            if (g_mode == DONE_SUCCESS)
                irp->IoStatus.Status = STATUS_SUCCESS;
            st = irp->IoStatus.Status;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
        }
        IoReleaseRemoveLock(&x->lock, irp);
        return st;
    }
    bool set = s->MinorFunction == IRP_MN_SET_POWER;
    bool sys = s->Parameters.Power.Type == SystemPowerState;
    if (set && !sys)
        g_dev_sets++;
    if (set && ((sys && g_mode == FAIL_SLEEP &&
                 s->Parameters.Power.State.SystemState != PowerSystemWorking) ||
                (!sys && g_mode == FAIL_DEVICE))) {
        g_irp = irp;
        PoStartNextPowerIrp(irp);
        irp->IoStatus.Status = STATUS_UNSUCCESSFUL; /* a set is never failed */
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&x->lock, irp);
        return STATUS_UNSUCCESSFUL;
    }
    PoStartNextPowerIrp(irp);
    if (set && sys) { /* power policy owner: the device IRP on the way up */
        IoMarkIrpPending(irp);
        IoCopyCurrentIrpStackLocationToNext(irp);
        IoSetCompletionRoutine(irp, SystemPowerUp, NULL, TRUE, TRUE, TRUE);
        (void)PoCallDriver(x->lower, irp);
        return STATUS_PENDING;
    }
    IoSkipCurrentIrpStackLocation(irp);
    if (g_mode == HELD && set && !sys)
        g_irp = irp;
    st = PoCallDriver(x->lower, irp);
    if (g_mode != HELD || !set || sys)
        IoReleaseRemoveLock(&x->lock, irp);
    return st;
}

static NTSTATUS SystemControl(PDEVICE_OBJECT dev, PIRP irp)
{
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x_of(dev)->lower, irp);
}

static NTSTATUS AddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    NTSTATUS st = IoCreateDevice(drv, sizeof(ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_fdo);
    if (!NT_SUCCESS(st))
        return st;
    ext *x = x_of(g_fdo);
    IoInitializeRemoveLock(&x->lock, 'rwpd', 0, 0);
    g_lock = &x->lock;
    g_pdo = pdo;
    pdo->Flags |= DO_POWER_PAGABLE; /* what a bus driver may set */
    x->lower = IoAttachDeviceToDeviceStack(g_fdo, pdo);
    g_fdo->Flags |= x->lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO);
    if (g_mode != NOT_PAGABLE)
        g_fdo->Flags |= x->lower->Flags & DO_POWER_PAGABLE;
    g_fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = AddDevice;
    drv->MajorFunction[IRP_MJ_PNP] = Pnp;
    drv->MajorFunction[IRP_MJ_POWER] = Power;
    drv->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = SystemControl;
    return STATUS_SUCCESS;
}

static NTSTATUS OwnDone(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev;
    (void)ctx;
    IoFreeIrp(irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void run(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(m, "dvpow", Entry, &drv)))
        return;
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "dvpow0";
    d.driver = "dvpow";
    kdpc_device *dev = NULL;
    if (kdpc_device_plug(m, &d, &dev) != KDPC_OK)
        return;
    POWER_STATE d0;
    d0.DeviceState = PowerDeviceD0;
    (void)PoRequestPowerIrp(g_fdo, IRP_MN_SET_POWER, d0, NULL, NULL,
                            g_mode == REQUESTED_IRP ? &g_out : NULL);
    if (g_mode == DONE_UNKNOWN) { /* the entry's own power IRP, minor 7: nobody knows it */
        PIRP own = IoAllocateIrp(g_fdo->StackSize, FALSE);
        if (own == NULL)
            return;
        own->IoStatus.Status = STATUS_NOT_SUPPORTED;
        PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(own);
        s->MajorFunction = IRP_MJ_POWER;
        s->MinorFunction = 0x7;
        IoSetCompletionRoutine(own, OwnDone, NULL, TRUE, TRUE, TRUE);
        (void)IoCallDriver(g_fdo, own);
    }
    if (g_mode == FAIL_DEVICE) {
        POWER_STATE d3;
        d3.DeviceState = PowerDeviceD3;
        (void)PoRequestPowerIrp(g_fdo, IRP_MN_SET_POWER, d3, NULL, NULL, NULL);
    }
    (void)kdpc_power_set_system(m, PowerSystemSleeping3);
    (void)kdpc_power_set_system(m, PowerSystemWorking);
    (void)kdpc_device_unplug(dev, KDPC_UNPLUG_ORDERLY);
    g_done = 1;
}

static const kdpc_violation *broken(mode md, const char *rule, uint32_t code, uint64_t p1)
{
    g_mode = md;
    g_done = 0;
    g_fdo = g_pdo = NULL;
    g_lock = NULL;
    g_irp = g_out = NULL;
    kdpc_machine *m = kt_machine(1, 37);
    kdpc_status st = kdpc_machine_run(m, run, NULL);
    KT_ASSERT_BUGCHECK(m, st, rule, code);
    assert_int_equal(g_done, 0);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    if (code != 0) /* code 0: P1 is known once the run made the lock */
        assert_int_equal(v->params[0], p1);
    static kdpc_violation copy;
    copy = *v;
    kdpc_machine_destroy(m);
    return &copy;
}

static void test_fixed_driver_runs_clean(void **state)
{
    (void)state;
    g_mode = FIXED;
    g_done = 0;
    g_dev_sets = 0;
    kdpc_machine *m = kt_machine(1, 37);
    assert_int_equal(kdpc_machine_run(m, run, NULL), KDPC_OK);
    assert_int_equal(g_done, 1);
    assert_true(g_dev_sets >= 3); /* D0 asked for, D3 for S3, D0 for S0 */
    static const char *const ids[] = {"power.requested_irp",
                                      "removelock.wait_outside_remove",
                                      "removelock.delete_unwaited",
                                      "pnp.must_not_fail",
                                      "removelock.release_unheld",
                                      "removelock.after_wait",
                                      "power.irp_status",
                                      "power.not_passed_down",
                                      "power.pagable_not_inherited",
                                      "removelock.held_on_return",
                                      "removelock.forward_unheld"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        KT_ASSERT_NO_VIOLATION(m, ids[i]);
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);
}

static void test_requested_irp(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(REQUESTED_IRP, "power.requested_irp", 0xC4, 0x0004100B);
    assert_int_equal(v->params[1], (uintptr_t)g_fdo);
    assert_int_equal(v->params[2], IRP_MN_SET_POWER);
    assert_int_equal(v->params[3], (uintptr_t)&g_out);
}

static void test_wait_outside_remove(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(WAIT_OUTSIDE, "removelock.wait_outside_remove", 0, 0);
    assert_int_equal(v->params[0], (uintptr_t)g_lock);
    assert_int_equal(v->params[1], (uintptr_t)g_irp); /* the tag */
    assert_int_equal(v->params[2], (uintptr_t)g_irp); /* the dispatch routine's IRP */
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_delete_unwaited(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(NO_WAIT, "removelock.delete_unwaited", 0, 0);
    assert_int_equal(v->params[0], (uintptr_t)g_lock);
    assert_int_equal(v->params[1], (uintptr_t)g_irp); /* IRP_MN_REMOVE_DEVICE */
    assert_int_equal(v->params[2], (uintptr_t)g_fdo);
    assert_int_equal(v->params[3], 0);
}

static void test_set_power_failed(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(FAIL_SLEEP, "pnp.must_not_fail", 0xC9, 0x247);
    assert_int_equal(v->params[1], fn_addr((void (*)(void))Power));
    assert_int_equal(v->params[2], (uintptr_t)g_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
    v = broken(FAIL_DEVICE, "pnp.must_not_fail", 0xC9, 0x247);
    assert_int_equal(v->params[1], 0);
    assert_int_equal(v->params[2], (uintptr_t)g_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_power_irp_status(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(FWD_FAILED, "power.irp_status", 0xC9, 0x219);
    assert_true(v->params[1] != 0); /* the caller */
    assert_int_equal(v->params[2], (uintptr_t)g_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_pdo); /* sent to */
}

static void test_power_not_passed_down(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(DONE_SUCCESS, "power.not_passed_down", 0xC9, 0x231);
    assert_true(v->params[1] != 0);
    assert_int_equal(v->params[2], (uintptr_t)g_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo); /* completing it */
    v = broken(DONE_UNTOUCHED, "power.not_passed_down", 0xC9, 0x232);
    assert_int_equal(v->params[2], (uintptr_t)g_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
    v = broken(DONE_UNKNOWN, "power.not_passed_down", 0xC9, 0x230);
    assert_int_equal(v->params[2], (uintptr_t)g_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_pagable_not_inherited(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(NOT_PAGABLE, "power.pagable_not_inherited", 0xC9, 0x23F);
    assert_int_equal(v->params[1], fn_addr((void (*)(void))AddDevice));
    assert_int_equal(v->params[2], 0);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_held_on_return(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(HELD, "removelock.held_on_return", 0, 0);
    assert_int_equal(v->params[0], (uintptr_t)g_lock);
    assert_int_equal(v->params[1], (uintptr_t)g_irp);
    assert_int_equal(v->params[2], (uintptr_t)g_fdo);
    assert_int_equal(v->params[3], 0);
}

static void test_forward_unheld(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(UNHELD, "removelock.forward_unheld", 0, 0);
    assert_int_equal(v->params[0], (uintptr_t)g_lock);
    assert_int_equal(v->params[1], (uintptr_t)g_irp);
    assert_int_equal(v->params[2], (uintptr_t)g_fdo);
    assert_int_equal(v->params[3], (uintptr_t)g_pdo); /* sent to */
}

/* removelock.held_on_return, clean: the dispatch routine pends its IRP and hands it to a DPC on
 * CPU 1, which completes it and then releases the remove lock (IoCompleteRequest first, as the
 * WDK samples do). The dispatch routine may return STATUS_PENDING between the two: the lock is
 * the DPC's to release, nothing is held on return. */
static struct race {
    IO_REMOVE_LOCK *lock;
    KDPC dpc;
    PIRP irp;
    volatile LONG completed, returned;
} g_race;

static void RaceDpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)dpc;
    (void)ctx;
    (void)a1;
    (void)a2;
    PIRP irp = g_race.irp;
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    InterlockedExchange(&g_race.completed, 1);
    for (int i = 0; !g_race.returned && i < 10000; i++) /* the dispatch routine returns */
        KeStallExecutionProcessor(1);
    IoReleaseRemoveLock(g_race.lock, irp);
}

static NTSTATUS RaceRead(PDEVICE_OBJECT dev, PIRP irp)
{
    ext *x = x_of(dev);
    NTSTATUS st = IoAcquireRemoveLock(&x->lock, irp);
    if (!NT_SUCCESS(st)) {
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    IoMarkIrpPending(irp);
    g_race.irp = irp;
    (void)KeInsertQueueDpc(&g_race.dpc, NULL, NULL);
    for (int i = 0; !g_race.completed && i < 10000; i++)
        KeStallExecutionProcessor(1);
    return STATUS_PENDING;
}

static NTSTATUS RaceEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->MajorFunction[IRP_MJ_READ] = RaceRead;
    PDEVICE_OBJECT dev;
    NTSTATUS st = IoCreateDevice(drv, sizeof(ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    IoInitializeRemoveLock(&x_of(dev)->lock, 'cari', 0, 0);
    g_race.lock = &x_of(dev)->lock;
    g_fdo = dev;
    dev->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static void race_run(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dvrace", RaceEntry, &drv)))
        return;
    KeInitializeDpc(&g_race.dpc, RaceDpc, NULL);
    KeSetTargetProcessorDpc(&g_race.dpc, 1);
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, g_fdo, NULL, 0, NULL, &ev, &iosb);
    if (irp == NULL)
        return;
    if (IoCallDriver(g_fdo, irp) == STATUS_PENDING)
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    InterlockedExchange(&g_race.returned, 1);
    for (int i = 0; i < 10000 && g_race.lock->Common.IoCount > 1; i++)
        KeStallExecutionProcessor(1);
    g_done = 1;
}

static void test_released_by_the_completing_dpc_is_clean(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        memset(&g_race, 0, sizeof(g_race));
        g_done = 0;
        kdpc_machine *m = kt_machine(2, seed);
        kdpc_status rst = kdpc_machine_run(m, race_run, NULL);
        for (size_t i = 0; i < kdpc_machine_violation_count(m); i++)
            fprintf(stderr, "seed %llu: %s (%s)\n", (unsigned long long)seed,
                    kdpc_machine_violation(m, i)->rule, kdpc_machine_violation(m, i)->message);
        assert_int_equal(rst, KDPC_OK);
        KT_ASSERT_NO_VIOLATION(m, "removelock.held_on_return");
        assert_null(kdpc_machine_bugcheck(m));
        assert_int_equal(g_done, 1);
        kdpc_machine_destroy(m);
    }
}

/* removelock.after_wait, clean: a remove lock in a pool block (a per-object context) waited on
 * and freed; the next contexts, which may get the same address, initialise their own lock. The
 * record of the old lock dies with its block. */
static int g_pool_rounds;

static void PoolLocks(void *ctx)
{
    (void)ctx;
    for (g_pool_rounds = 0; g_pool_rounds < 20; g_pool_rounds++) {
        IO_REMOVE_LOCK *l = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*l), 'lrpD');
        if (l == NULL)
            return;
        IoInitializeRemoveLock(l, 'lrpD', 0, 0);
        if (!NT_SUCCESS(IoAcquireRemoveLock(l, l)))
            return;
        IoReleaseRemoveLockAndWait(l, l);
        ExFreePoolWithTag(l, 'lrpD');
    }
    g_done = 1;
}

static void test_pool_lock_reused_after_free_is_clean(void **state)
{
    (void)state;
    g_done = 0;
    kdpc_machine *m = kt_machine(1, 37);
    assert_int_equal(kdpc_machine_run(m, PoolLocks, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "removelock.after_wait");
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(g_done, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_driver_runs_clean),
        cmocka_unit_test(test_requested_irp),
        cmocka_unit_test(test_wait_outside_remove),
        cmocka_unit_test(test_delete_unwaited),
        cmocka_unit_test(test_set_power_failed),
        cmocka_unit_test(test_power_irp_status),
        cmocka_unit_test(test_power_not_passed_down),
        cmocka_unit_test(test_pagable_not_inherited),
        cmocka_unit_test(test_held_on_return),
        cmocka_unit_test(test_forward_unheld),
        cmocka_unit_test(test_released_by_the_completing_dpc_is_clean),
        cmocka_unit_test(test_pool_lock_reused_after_free_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
