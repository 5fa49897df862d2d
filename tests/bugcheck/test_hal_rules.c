/* SPDX-License-Identifier: MIT */
/*
 * test_hal_rules.c - hal.bad_address (0x50 / 0xD1 / 0xBE), hal.map_unowned
 * (0xC4/0x83), hal.bad_unmap (0xDA/2, 0xDA/3), a direct dereference of a
 * mapped register (ke.crash 0x50), and sync.isr_unsynchronized per device
 * register (docs/facts/hal.md 1.5, 1.6, 2.4, section 3). Each broken driver
 * routine has a fixed twin that runs clean.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/device.h>
#include "kdpc_test.h"

#define WIN_BASE  0xFEC00000ull
#define WIN_LEN   0x1000u
#define PORT_BASE 0x2F8u
#define LINE      5u
#define REG_GO    0x10u /* write 1: the device raises its line */
#define REG_ST    0x00u /* status: the ISR reads it */
#define REG_DATA  0x08u

static uint32_t regs[WIN_LEN / 4];
static kdpc_device *dev;
static int reached_after; /* set by code after the violating call */

static uint64_t dev_read(const kdpc_reg_access *a)
{
    return a->port ? 0 : regs[a->offset / 4];
}

static void dev_write(const kdpc_reg_access *a)
{
    if (a->port)
        return;
    regs[a->offset / 4] = (uint32_t)a->value;
    if (a->offset == REG_GO && a->value == 1)
        (void)kdpc_device_line_set(a->device, 0, true);
}

static kdpc_machine *machine(void)
{
    memset(regs, 0, sizeof(regs));
    reached_after = 0;
    kdpc_machine *m = kt_machine(1, 11);
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "ruledev";
    d.windows[0] = (kdpc_range_desc){WIN_BASE, WIN_LEN, dev_read, dev_write};
    d.nwindows = 1;
    d.ports[0] = (kdpc_range_desc){PORT_BASE, 8, dev_read, dev_write};
    d.nports = 1;
    d.lines[0].line = LINE;
    d.lines[0].level = false;
    d.nlines = 1;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_OK);
    return m;
}

static unsigned count_rule(kdpc_machine *m, const char *rule);

static PHYSICAL_ADDRESS pa(uint64_t a)
{
    PHYSICAL_ADDRESS p;
    p.QuadPart = (LONGLONG)a;
    return p;
}

static volatile ULONG *map_all(void)
{
    return MmMapIoSpace(pa(WIN_BASE), WIN_LEN, MmNonCached);
}

static uint64_t addr(const volatile void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* ------------------------------------------------------------------ */
/* hal.bad_address                                                     */

static ULONG not_a_register;
static volatile ULONG *bad_va;

static void ReadsUnmappedAddress(void *ctx)
{
    (void)ctx;
    (void)READ_REGISTER_ULONG(&not_a_register);
    reached_after = 1;
}

static void test_read_of_an_address_no_mapping_covers_is_0x50(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, ReadsUnmappedAddress, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.bad_address", 0x50);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], addr(&not_a_register));
    assert_int_equal(bc->params[1], 0); /* read */
    assert_non_null(strstr(bc->message, "READ_REGISTER_ULONG"));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void WritesUnmappedAtDispatch(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    WRITE_REGISTER_ULONG(&not_a_register, 1);
    KeLowerIrql(old);
    reached_after = 1;
}

static void test_write_at_dispatch_level_is_0xd1(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, WritesUnmappedAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.bad_address", 0xD1);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], addr(&not_a_register));
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], 1); /* write */
    assert_int_equal(not_a_register, 0);
    kdpc_machine_destroy(m);
}

static void TouchesAfterUnmap(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = map_all();
    if (r == NULL)
        return;
    bad_va = &r[2];
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
    (void)READ_REGISTER_ULONG(&r[2]);
    reached_after = 1;
}

static void UnmapsAfterTouch(void *ctx) /* the fixed twin */
{
    (void)ctx;
    volatile ULONG *r = map_all();
    if (r == NULL)
        return;
    (void)READ_REGISTER_ULONG(&r[2]);
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
    reached_after = 1;
}

static void test_access_after_unmap_is_0x50_naming_the_unmap(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, TouchesAfterUnmap, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.bad_address", 0x50);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], addr(bad_va));
    assert_non_null(strstr(bc->message, "MmUnmapIoSpace"));
    kdpc_machine_destroy(m);

    m = machine();
    assert_int_equal(kdpc_machine_run(m, UnmapsAfterTouch, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void ReadsPastTheMapping(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = MmMapIoSpace(pa(WIN_BASE), 16, MmNonCached);
    if (r == NULL)
        return;
    bad_va = &r[4];
    (void)READ_REGISTER_ULONG(&r[4]); /* bytes 16..19 of a 16-byte mapping */
    reached_after = 1;
}

static void test_access_past_the_end_of_the_mapping_is_0x50(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, ReadsPastTheMapping, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.bad_address", 0x50);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], addr(bad_va));
    kdpc_machine_destroy(m);
}

static void ReadsUnownedPort(void *ctx)
{
    (void)ctx;
    (void)READ_PORT_UCHAR((PUCHAR)(uintptr_t)0x80); /* no device decodes port 0x80 */
    reached_after = 1;
}

static void ReadsOwnedPort(void *ctx)
{
    (void)ctx;
    (void)READ_PORT_UCHAR((PUCHAR)(uintptr_t)(PORT_BASE + 7));
    reached_after = 1;
}

static void test_unowned_port_is_0x50_and_an_owned_one_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, ReadsUnownedPort, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.bad_address", 0x50);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x80);
    kdpc_machine_destroy(m);

    m = machine();
    assert_int_equal(kdpc_machine_run(m, ReadsOwnedPort, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

static void WritesReadOnlyMapping(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = MmMapIoSpaceEx(pa(WIN_BASE), 64, PAGE_READONLY);
    if (r == NULL)
        return;
    bad_va = &r[1];
    WRITE_REGISTER_ULONG(&r[1], 3);
    reached_after = 1;
}

static void test_write_through_a_read_only_mapping_is_0xbe(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, WritesReadOnlyMapping, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.bad_address", 0xBE);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], addr(bad_va));
    assert_int_equal(regs[1], 0);
    kdpc_machine_destroy(m);
}

static void DereferencesMappedRegister(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = map_all();
    if (r == NULL)
        return;
    bad_va = &r[3];
    not_a_register = r[3]; /* not through READ_REGISTER_ULONG: faults */
    reached_after = 1;
}

static void test_direct_dereference_of_a_mapping_is_a_report_not_a_silent_read(void **state)
{
    (void)state;
    if (KT_TSAN)
        skip(); /* a contained fault needs a signal delivered at the access */
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, DereferencesMappedRegister, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", 0x50);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], addr(bad_va));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void test_bad_address_as_a_warning_reads_all_ones(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_rule_set(m, "hal.bad_address", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, ReadsUnmappedAddress, NULL), KDPC_OK);
    KT_ASSERT_WARNING(m, "hal.bad_address");
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* hal.map_unowned                                                     */

static void MapsOutsideTheWindow(void *ctx)
{
    (void)ctx;
    (void)MmMapIoSpace(pa(WIN_BASE + WIN_LEN - 0x10), 0x20, MmNonCached); /* runs past it */
    reached_after = 1;
}

static void MapsInsideTheWindow(void *ctx)
{
    (void)ctx;
    PVOID p = MmMapIoSpace(pa(WIN_BASE + WIN_LEN - 0x20), 0x20, MmNonCached);
    if (p != NULL) {
        MmUnmapIoSpace(p, 0x20);
        reached_after = 1;
    }
}

static void test_mapping_a_range_no_window_covers_is_c4_83(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, MapsOutsideTheWindow, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.map_unowned", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x83);
    assert_int_equal(bc->params[1], WIN_BASE + WIN_LEN - 0x10);
    assert_int_equal(bc->params[2], 0x20);
    assert_int_equal(bc->params[3], (WIN_BASE + WIN_LEN - 0x10) >> 12);
    assert_non_null(strstr(bc->message, "MmMapIoSpace"));
    kdpc_machine_destroy(m);

    m = machine();
    assert_int_equal(kdpc_machine_run(m, MapsInsideTheWindow, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* hal.irql                                                            */

static KIRQL map_irql;

static void MapsAtIrql(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(map_irql, &old);
    PVOID p = (PVOID)(uintptr_t)map_all();
    if (p != NULL)
        MmUnmapIoSpace(p, WIN_LEN);
    KeLowerIrql(old);
    reached_after = p != NULL;
}

static void test_mapping_above_dispatch_level_is_c4_73(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    map_irql = 5; /* a DIRQL: an ISR's */
    kdpc_status st = kdpc_machine_run(m, MapsAtIrql, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.irql", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x73);
    assert_int_equal(bc->params[1], 5);
    assert_non_null(strstr(bc->message, "MmMapIoSpace"));
    kdpc_machine_destroy(m);

    m = machine(); /* unmapping at DIRQL too */
    assert_int_equal(kdpc_rule_set(m, "hal.irql", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, MapsAtIrql, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    assert_int_equal(count_rule(m, "hal.irql"), 2);
    assert_non_null(strstr(kdpc_machine_violation(m, 1)->message, "MmUnmapIoSpace"));
    kdpc_machine_destroy(m);

    m = machine(); /* the fixed twin: DISPATCH_LEVEL is allowed */
    map_irql = DISPATCH_LEVEL;
    assert_int_equal(kdpc_machine_run(m, MapsAtIrql, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* A PnP driver maps, from its START_DEVICE, only the windows its translated resources give it:
 * another device's window is hal.map_unowned even though a plugged device owns it. */

#define OWN_BASE   0xFED00000ull
#define OTHER_BASE 0xFEE00000ull

static uint64_t start_maps; /* the physical address the driver's START maps */
static PVOID start_va;

typedef struct MAP_EXT {
    PDEVICE_OBJECT Lower;
} MAP_EXT;

static NTSTATUS MapPnp(PDEVICE_OBJECT fdo, PIRP irp)
{
    MAP_EXT *x = fdo->DeviceExtension;
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    if (s->MinorFunction == IRP_MN_START_DEVICE) {
        (void)IoForwardIrpSynchronously(x->Lower, irp);
        start_va = MmMapIoSpace(pa(start_maps), 0x100, MmNonCached);
        if (start_va != NULL)
            MmUnmapIoSpace(start_va, 0x100);
        reached_after = start_va != NULL;
        NTSTATUS st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    IoSkipCurrentIrpStackLocation(irp);
    NTSTATUS st = IoCallDriver(x->Lower, irp);
    if (s->MinorFunction == IRP_MN_REMOVE_DEVICE) {
        IoDetachDevice(x->Lower);
        IoDeleteDevice(fdo);
    }
    return st;
}

static NTSTATUS MapAddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    NTSTATUS st = IoCreateDevice(drv, sizeof(MAP_EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    MAP_EXT *x = fdo->DeviceExtension;
    x->Lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    if (x->Lower == NULL) {
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS MapDriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = MapAddDevice;
    drv->MajorFunction[IRP_MJ_PNP] = MapPnp;
    return STATUS_SUCCESS;
}

static void plug(const char *name, const char *driver, uint64_t base)
{
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = name;
    d.driver = driver;
    d.windows[0] = (kdpc_range_desc){base, WIN_LEN, dev_read, dev_write};
    d.nwindows = 1;
    kdpc_device *out;
    assert_int_equal(kdpc_device_plug(kdpc_current_machine(), &d, &out), KDPC_OK);
}

static void StartsAndMaps(void *ctx)
{
    (void)ctx;
    plug("otherdev", "otherdrv", OTHER_BASE); /* its driver is not loaded */
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "mapdrv", MapDriverEntry, &drv)))
        return;
    plug("owndev", "mapdrv", OWN_BASE); /* AddDevice and START_DEVICE run now */
}

/* A legacy driver (no AddDevice: the PnP manager never gives it resources) maps the window of
 * the device named for it from DriverEntry, as NT4-style drivers do: only the plugged-window
 * check applies, so it is clean. */
static NTSTATUS LegacyDriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)drv;
    (void)path;
    start_va = MmMapIoSpace(pa(OWN_BASE), 0x100, MmNonCached);
    reached_after = start_va != NULL;
    if (start_va != NULL)
        MmUnmapIoSpace(start_va, 0x100);
    return STATUS_SUCCESS;
}

static void LegacyLoadsAndMaps(void *ctx)
{
    (void)ctx;
    plug("legacydev", "legacydrv", OWN_BASE);
    PDRIVER_OBJECT drv;
    (void)kdpc_driver_load(kdpc_current_machine(), "legacydrv", LegacyDriverEntry, &drv);
}

static void test_legacy_driver_maps_its_device_window_cleanly(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    reached_after = 0;
    assert_int_equal(kdpc_machine_run(m, LegacyLoadsAndMaps, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_mapping_another_devices_window_from_start_is_c4_83(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    start_maps = OTHER_BASE + 0x100;
    kdpc_status st = kdpc_machine_run(m, StartsAndMaps, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.map_unowned", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x83);
    assert_int_equal(bc->params[1], OTHER_BASE + 0x100);
    assert_int_equal(bc->params[2], 0x100);
    assert_non_null(strstr(bc->message, "otherdev"));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);

    m = machine(); /* the fixed twin: its own window */
    start_maps = OWN_BASE + 0x100;
    assert_int_equal(kdpc_machine_run(m, StartsAndMaps, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);

    m = machine(); /* a device no driver is named for: only the plugged windows are checked */
    start_maps = WIN_BASE;
    assert_int_equal(kdpc_machine_run(m, StartsAndMaps, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* hal.bad_unmap                                                       */

static void UnmapsTwice(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = map_all();
    if (r == NULL)
        return;
    bad_va = r;
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
    reached_after = 1;
}

static void UnmapsWithAnotherSize(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = map_all();
    if (r == NULL)
        return;
    bad_va = r;
    MmUnmapIoSpace((PVOID)(uintptr_t)r, 0x10);
    reached_after = 1;
}

static void UnmapsOnce(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = map_all();
    if (r == NULL)
        return;
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
    reached_after = 1;
}

static void test_unmapping_twice_is_da_3(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, UnmapsTwice, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.bad_unmap", 0xDA);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 3);
    assert_int_equal(bc->params[3], addr(bad_va));
    assert_non_null(strstr(bc->message, "twice"));
    kdpc_machine_destroy(m);

    m = machine();
    assert_int_equal(kdpc_machine_run(m, UnmapsOnce, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_unmapping_with_another_size_is_da_2(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, UnmapsWithAnotherSize, NULL);
    KT_ASSERT_BUGCHECK(m, st, "hal.bad_unmap", 0xDA);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 2);
    assert_int_equal(bc->params[1], addr(bad_va));
    assert_int_equal(bc->params[2], WIN_LEN);
    assert_int_equal(bc->params[3], 0x10);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* sync.isr_unsynchronized per register (2.4)                          */

static PKINTERRUPT intr;
static volatile ULONG *R;
static KDPC dpc;

static volatile LONG isr_runs;

static BOOLEAN StatusIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    (void)Context;
    isr_runs++;
    (void)READ_REGISTER_ULONG(&R[REG_ST / 4]);
    return TRUE;
}

static void UnlockedDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    for (int i = 0; i < 5; i++)
        (void)READ_REGISTER_ULONG(&R[REG_ST / 4]); /* without the interrupt's lock */
}

static BOOLEAN ReadStatus(PVOID Ctx)
{
    (void)Ctx;
    (void)READ_REGISTER_ULONG(&R[REG_ST / 4]);
    return TRUE;
}

static void LockedDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2) /* the fixed twin */
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    for (int i = 0; i < 5; i++)
        (void)KeSynchronizeExecution(intr, ReadStatus, NULL);
}

static bool setup(void)
{
    isr_runs = 0;
    if (!NT_SUCCESS(
            IoConnectInterrupt(&intr, StatusIsr, NULL, NULL, LINE, 5, 5, Latched, FALSE, 1, FALSE)))
        return false;
    R = map_all();
    return R != NULL;
}

/* The device interrupts; the ISR runs at one of the next interleaving points (the random
 * policy may let a deliverable interrupt wait a few). */
static void fire_isr(void)
{
    LONG before = isr_runs;
    WRITE_REGISTER_ULONG(&R[REG_GO / 4], 1); /* the device raises its line */
    for (int i = 0; i < 1000 && isr_runs == before; i++)
        KeStallExecutionProcessor(1);
    (void)READ_REGISTER_ULONG(&R[REG_DATA / 4]);
    WRITE_REGISTER_ULONG(&R[REG_GO / 4], 0);
}

static void run_dpc(PKDEFERRED_ROUTINE routine)
{
    KeInitializeDpc(&dpc, routine, NULL);
    (void)KeInsertQueueDpc(&dpc, NULL, NULL); /* at PASSIVE on this CPU: has run */
}

static PKDEFERRED_ROUTINE dpc_routine; /* the DPC the scenario runs */

static void IsrThenDpc(void *ctx)
{
    (void)ctx;
    if (!setup())
        return;
    fire_isr();
    run_dpc(dpc_routine);
    fire_isr();
    run_dpc(dpc_routine);
    MmUnmapIoSpace((PVOID)(uintptr_t)R, WIN_LEN);
    IoDisconnectInterrupt(intr);
    reached_after = 1;
}

static void DpcThenIsr(void *ctx)
{
    (void)ctx;
    if (!setup())
        return;
    run_dpc(dpc_routine);
    fire_isr();
    fire_isr();
    MmUnmapIoSpace((PVOID)(uintptr_t)R, WIN_LEN);
    IoDisconnectInterrupt(intr);
    reached_after = 1;
}

/* The device's init writes the status register before IoConnectInterrupt: no ISR can run, so
 * nothing races with it (clean). */
static void InitsThenIsr(void *ctx)
{
    (void)ctx;
    isr_runs = 0;
    R = map_all();
    if (R == NULL)
        return;
    WRITE_REGISTER_ULONG(&R[REG_ST / 4], 0); /* no interrupt connected yet */
    if (!NT_SUCCESS(
            IoConnectInterrupt(&intr, StatusIsr, NULL, NULL, LINE, 5, 5, Latched, FALSE, 1, FALSE)))
        return;
    fire_isr();
    fire_isr();
    IoDisconnectInterrupt(intr);
    MmUnmapIoSpace((PVOID)(uintptr_t)R, WIN_LEN);
    reached_after = 1;
}

/* After IoDisconnectInterrupt the ISR cannot run: a touch then is clean; a new connection and
 * its ISR start from a clean history. */
static void IsrThenDisconnectThenDpc(void *ctx)
{
    (void)ctx;
    if (!setup())
        return;
    fire_isr();
    IoDisconnectInterrupt(intr);
    run_dpc(UnlockedDpc);
    if (!NT_SUCCESS(
            IoConnectInterrupt(&intr, StatusIsr, NULL, NULL, LINE, 5, 5, Latched, FALSE, 1, FALSE)))
        return;
    fire_isr();
    IoDisconnectInterrupt(intr);
    MmUnmapIoSpace((PVOID)(uintptr_t)R, WIN_LEN);
    reached_after = 1;
}

static void ThreadReadsStatus(PVOID ctx)
{
    (void)ctx;
    (void)READ_REGISTER_ULONG(&R[REG_ST / 4]); /* a system thread, without the lock */
}

static void IsrThenThread(void *ctx)
{
    (void)ctx;
    if (!setup())
        return;
    fire_isr();
    HANDLE h;
    if (!NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, ThreadReadsStatus, NULL)))
        return;
    PVOID obj;
    if (NT_SUCCESS(ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, NULL, KernelMode, &obj, NULL))) {
        (void)KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(obj);
    }
    ZwClose(h);
    MmUnmapIoSpace((PVOID)(uintptr_t)R, WIN_LEN);
    IoDisconnectInterrupt(intr);
    reached_after = 1;
}

static unsigned count_rule(kdpc_machine *m, const char *rule)
{
    unsigned n = 0;
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++)
        n += strcmp(kdpc_machine_violation(m, i)->rule, rule) == 0;
    return n;
}

static kdpc_machine *sync_machine(void)
{
    kdpc_machine *m = machine();
    KDPC_NAME(m, StatusIsr);
    KDPC_NAME(m, UnlockedDpc);
    KDPC_NAME(m, LockedDpc);
    return m;
}

static void check_one_report(kdpc_machine *m)
{
    assert_int_equal(count_rule(m, "sync.isr_unsynchronized"), 1);
    const kdpc_violation *w = kdpc_machine_find_violation(m, "sync.isr_unsynchronized");
    assert_false(w->fatal);
    assert_string_equal(w->routine, "UnlockedDpc");
    assert_non_null(strstr(w->message, "UnlockedDpc"));
    assert_non_null(strstr(w->message, "StatusIsr"));
    assert_non_null(strstr(w->message, "ruledev"));
    assert_int_equal(w->params[0], WIN_BASE + REG_ST);
    assert_int_equal(w->params[1], 0); /* a read */
}

static void test_register_touched_by_isr_then_unlocked_dpc_is_reported_once(void **state)
{
    (void)state;
    kdpc_machine *m = sync_machine();
    assert_int_equal((dpc_routine = UnlockedDpc, kdpc_machine_run(m, IsrThenDpc, NULL)), KDPC_OK);
    assert_int_equal(reached_after, 1);
    check_one_report(m);
    kdpc_machine_destroy(m);
}

static void test_register_touched_by_unlocked_dpc_then_isr_is_reported_once(void **state)
{
    (void)state;
    kdpc_machine *m = sync_machine();
    assert_int_equal((dpc_routine = UnlockedDpc, kdpc_machine_run(m, DpcThenIsr, NULL)), KDPC_OK);
    assert_int_equal(reached_after, 1);
    check_one_report(m);
    kdpc_machine_destroy(m);
}

static void test_register_touched_by_a_thread_names_its_start_routine(void **state)
{
    (void)state;
    kdpc_machine *m = sync_machine();
    KDPC_NAME(m, ThreadReadsStatus);
    assert_int_equal(kdpc_machine_run(m, IsrThenThread, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    assert_int_equal(count_rule(m, "sync.isr_unsynchronized"), 1);
    const kdpc_violation *w = kdpc_machine_find_violation(m, "sync.isr_unsynchronized");
    assert_string_equal(w->routine, "ThreadReadsStatus");
    assert_non_null(strstr(w->message, "ThreadReadsStatus"));
    assert_non_null(strstr(w->message, "StatusIsr"));
    kdpc_machine_destroy(m);
}

static void test_register_touched_in_a_synch_crit_section_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = sync_machine();
    assert_int_equal((dpc_routine = LockedDpc, kdpc_machine_run(m, IsrThenDpc, NULL)), KDPC_OK);
    assert_int_equal(reached_after, 1);
    KT_ASSERT_NO_VIOLATION(m, "sync.isr_unsynchronized");
    kdpc_machine_destroy(m);

    m = sync_machine();
    assert_int_equal((dpc_routine = LockedDpc, kdpc_machine_run(m, DpcThenIsr, NULL)), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "sync.isr_unsynchronized");
    kdpc_machine_destroy(m);
}

/* Registers only the DPC touches (GO, DATA here) are not shared with the ISR: no report. */
static void test_registers_the_isr_never_touches_are_not_reported(void **state)
{
    (void)state;
    kdpc_machine *m = sync_machine();
    assert_int_equal((dpc_routine = UnlockedDpc, kdpc_machine_run(m, IsrThenDpc, NULL)), KDPC_OK);
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++) {
        const kdpc_violation *v = kdpc_machine_violation(m, i);
        if (strcmp(v->rule, "sync.isr_unsynchronized") == 0)
            assert_int_equal(v->params[0], WIN_BASE + REG_ST);
    }
    kdpc_machine_destroy(m);
}

static void test_register_initialised_before_the_connect_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = sync_machine();
    assert_int_equal(kdpc_machine_run(m, InitsThenIsr, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    assert_true(isr_runs > 0);
    KT_ASSERT_NO_VIOLATION(m, "sync.isr_unsynchronized");
    kdpc_machine_destroy(m);
}

static void test_register_touched_after_the_disconnect_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = sync_machine();
    assert_int_equal(kdpc_machine_run(m, IsrThenDisconnectThenDpc, NULL), KDPC_OK);
    assert_int_equal(reached_after, 1);
    KT_ASSERT_NO_VIOLATION(m, "sync.isr_unsynchronized");
    kdpc_machine_destroy(m);
}

static void test_register_rule_off_and_as_a_bug_check(void **state)
{
    (void)state;
    kdpc_machine *m = sync_machine();
    assert_int_equal(kdpc_rule_set(m, "sync.isr_unsynchronized", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal((dpc_routine = UnlockedDpc, kdpc_machine_run(m, IsrThenDpc, NULL)), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "sync.isr_unsynchronized");
    kdpc_machine_destroy(m);

    m = sync_machine();
    assert_int_equal(kdpc_rule_set(m, "sync.isr_unsynchronized", KDPC_RULE_BUGCHECK), KDPC_OK);
    kdpc_status st = (dpc_routine = UnlockedDpc, kdpc_machine_run(m, IsrThenDpc, NULL));
    KT_ASSERT_BUGCHECK(m, st, "sync.isr_unsynchronized", 0);
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_of_an_address_no_mapping_covers_is_0x50),
        cmocka_unit_test(test_write_at_dispatch_level_is_0xd1),
        cmocka_unit_test(test_access_after_unmap_is_0x50_naming_the_unmap),
        cmocka_unit_test(test_access_past_the_end_of_the_mapping_is_0x50),
        cmocka_unit_test(test_unowned_port_is_0x50_and_an_owned_one_is_clean),
        cmocka_unit_test(test_write_through_a_read_only_mapping_is_0xbe),
        cmocka_unit_test(test_direct_dereference_of_a_mapping_is_a_report_not_a_silent_read),
        cmocka_unit_test(test_bad_address_as_a_warning_reads_all_ones),
        cmocka_unit_test(test_mapping_a_range_no_window_covers_is_c4_83),
        cmocka_unit_test(test_unmapping_twice_is_da_3),
        cmocka_unit_test(test_unmapping_with_another_size_is_da_2),
        cmocka_unit_test(test_register_touched_by_isr_then_unlocked_dpc_is_reported_once),
        cmocka_unit_test(test_register_touched_by_unlocked_dpc_then_isr_is_reported_once),
        cmocka_unit_test(test_register_touched_by_a_thread_names_its_start_routine),
        cmocka_unit_test(test_register_touched_in_a_synch_crit_section_is_clean),
        cmocka_unit_test(test_registers_the_isr_never_touches_are_not_reported),
        cmocka_unit_test(test_register_initialised_before_the_connect_is_clean),
        cmocka_unit_test(test_register_touched_after_the_disconnect_is_clean),
        cmocka_unit_test(test_register_rule_off_and_as_a_bug_check),
        cmocka_unit_test(test_mapping_above_dispatch_level_is_c4_73),
        cmocka_unit_test(test_mapping_another_devices_window_from_start_is_c4_83),
        cmocka_unit_test(test_legacy_driver_maps_its_device_window_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
