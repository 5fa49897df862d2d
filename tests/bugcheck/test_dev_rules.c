/* SPDX-License-Identifier: MIT */
/*
 * test_dev_rules.c - the device layer's rule of docs/rules.md:
 *   dev.dma_unmapped  a device's DMA engine reached a logical address no live mapping covers
 *                     (the driver programmed it with a buffer it had freed): 0xE6 P1 0x26,
 *                     P2 the device, P3 the logical address, P4 the fault type (2: a write).
 * Each broken driver has a fixed twin that runs clean.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/device.h>
#include "kdpc_test.h"

#define BUF_LEN 64

/* The device: the driver "programs" it by storing the logical address in its context (what a
 * register write would do); 20 us later its DMA engine writes the result there. */
typedef struct dma_dev {
    uint64_t dma_address;
    volatile LONG done;
    kdpc_status st;
} dma_dev;

static struct {
    dma_dev hw;
    kdpc_device *dev;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT devobj;
    PDMA_ADAPTER adapter;
    int broken;
    int reached_end;
} s;

static void transfer_done(kdpc_device *dev, void *ctx, void *arg)
{
    (void)arg;
    dma_dev *hw = ctx;
    hw->st = kdpc_device_dma_write(dev, hw->dma_address, "result", 7, NULL);
    hw->done = 1;
}

static NTSTATUS DevRulesEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    return IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &s.devobj);
}

/* The driver's transfer routine: a common buffer, the device programmed with it, and the
 * buffer freed - before the device is done (broken) or after (fixed). */
static void DriverTransfer(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "devrules", DevRulesEntry, &s.drv)))
        return;
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = PAGE_SIZE;
    ULONG regs = 0;
    s.adapter = IoGetDmaAdapter(s.devobj, &dd, &regs);
    if (s.adapter == NULL)
        return;
    PHYSICAL_ADDRESS la;
    PVOID va = s.adapter->DmaOperations->AllocateCommonBuffer(s.adapter, BUF_LEN, &la, FALSE);
    if (va == NULL)
        return;
    s.hw.dma_address = (uint64_t)la.QuadPart; /* program the device */
    (void)kdpc_device_schedule(s.dev, 20000, transfer_done, NULL, 0, NULL);
    if (s.broken) {
        /* BUG: the buffer goes away while the device still owns it */
        s.adapter->DmaOperations->FreeCommonBuffer(s.adapter, BUF_LEN, la, va, FALSE);
    }
    for (int i = 0; i < 1000 && !s.hw.done; i++)
        KeStallExecutionProcessor(1);
    if (!s.broken)
        s.adapter->DmaOperations->FreeCommonBuffer(s.adapter, BUF_LEN, la, va, FALSE);
    s.adapter->DmaOperations->PutDmaAdapter(s.adapter);
    IoDeleteDevice(s.devobj);
    s.reached_end = 1;
}

static kdpc_machine *setup(int broken)
{
    memset(&s, 0, sizeof(s));
    s.broken = broken;
    kdpc_machine *m = kt_machine(1, 21);
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "dmadev";
    d.ctx = &s.hw;
    d.dma = true;
    assert_int_equal(kdpc_device_plug(m, &d, &s.dev), KDPC_OK);
    return m;
}

static void test_dma_to_a_freed_common_buffer_is_dev_dma_unmapped(void **state)
{
    (void)state;
    kdpc_machine *m = setup(1);
    kdpc_status st = kdpc_machine_run(m, DriverTransfer, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dev.dma_unmapped", 0xE6);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x26);
    assert_int_equal(bc->params[1], (uint64_t)(uintptr_t)s.dev);
    assert_int_equal(bc->params[2], s.hw.dma_address);
    assert_int_equal(bc->params[3], 2); /* a write */
    assert_non_null(strstr(bc->message, "dmadev"));
    assert_int_equal(s.hw.done, 0); /* the device code did not go on */
    assert_int_equal(s.reached_end, 0);
    kdpc_machine_destroy(m);
}

static void test_dma_to_a_live_common_buffer_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = setup(0);
    assert_int_equal(kdpc_machine_run(m, DriverTransfer, NULL), KDPC_OK);
    assert_int_equal(s.reached_end, 1);
    assert_int_equal(s.hw.st, KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_as_a_warning_the_transfer_moves_nothing_and_fails(void **state)
{
    (void)state;
    kdpc_machine *m = setup(1);
    assert_int_equal(kdpc_rule_set(m, "dev.dma_unmapped", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, DriverTransfer, NULL), KDPC_OK);
    KT_ASSERT_WARNING(m, "dev.dma_unmapped");
    assert_int_equal(s.hw.st, KDPC_EIO);
    assert_int_equal(s.reached_end, 1);
    kdpc_machine_destroy(m);
}

static void test_between_runs_an_unmapped_transfer_halts_the_machine(void **state)
{
    (void)state;
    kdpc_machine *m = setup(0);
    UCHAR b[4];
    assert_int_equal(kdpc_device_dma_read(s.dev, 0x10000, b, sizeof b, NULL), KDPC_BUGCHECK);
    assert_true(kdpc_machine_halted(m));
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_non_null(bc);
    assert_string_equal(bc->rule, "dev.dma_unmapped");
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dma_to_a_freed_common_buffer_is_dev_dma_unmapped),
        cmocka_unit_test(test_dma_to_a_live_common_buffer_is_clean),
        cmocka_unit_test(test_as_a_warning_the_transfer_moves_nothing_and_fails),
        cmocka_unit_test(test_between_runs_an_unmapped_transfer_halts_the_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
