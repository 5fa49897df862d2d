/* SPDX-License-Identifier: MIT */
/*
 * test_dma_control_bugcheck.c - a bug check inside AdapterControl or
 * AdapterListControl ends the run there (ke.bugcheck, the driver's code), and
 * kdpc's record of the adapter request does not leak: it is freed before the
 * driver's routine runs (src/io/dma.c, run_request; the same as
 * IoAllocateController's waiter, src/io/controller.c). The leak shows only
 * under LeakSanitizer (the asan preset), at this executable's exit.
 *
 * Four ways in: AllocateAdapterChannel granted at once, one granted later
 * from the adapter's queue (FreeAdapterChannel of the request before it),
 * GetScatterGatherList's AdapterListControl, and GetScatterGatherListEx's
 * (version 3), which goes through the same request path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef enum mode { DIRECT, QUEUED, LIST, LIST_EX } mode;

static struct {
    mode mode;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev, dev2; /* dev2: a second unit sharing the adapter (QUEUED) */
    PDMA_ADAPTER a;
    LONG controls;
    int reached_end;
} g;

static UCHAR buf[2 * PAGE_SIZE];
static UCHAR tc[DMA_TRANSFER_CONTEXT_SIZE_V1];

static IO_ALLOCATION_ACTION BugCheckingControl(PDEVICE_OBJECT dev, PIRP irp, PVOID base, PVOID ctx)
{
    (void)dev;
    (void)irp;
    (void)base;
    (void)ctx;
    g.controls++;
    KeBugCheckEx(0xD3AD, 1, 2, 3, 4);
    return DeallocateObject; /* not reached */
}

static IO_ALLOCATION_ACTION KeepingControl(PDEVICE_OBJECT dev, PIRP irp, PVOID base, PVOID ctx)
{
    (void)dev;
    (void)irp;
    (void)base;
    (void)ctx;
    g.controls++;
    return KeepObject; /* the channel stays held: the next request queues */
}

static void BugCheckingListControl(PDEVICE_OBJECT dev, PIRP irp, PSCATTER_GATHER_LIST sg, PVOID ctx)
{
    (void)dev;
    (void)irp;
    (void)sg;
    (void)ctx;
    g.controls++;
    KeBugCheckEx(0xD3AD, 5, 6, 7, 8);
}

static void Unload(PDRIVER_OBJECT drv)
{
    while (drv->DeviceObject != NULL)
        IoDeleteDevice(drv->DeviceObject);
}

static NTSTATUS Entry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    (void)reg;
    drv->DriverUnload = Unload;
    NTSTATUS st = IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.dev);
    if (NT_SUCCESS(st))
        st = IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.dev2);
    return st;
}

static void body(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dmabug", Entry, &g.drv)))
        return;
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = g.mode == LIST_EX ? DEVICE_DESCRIPTION_VERSION3 : DEVICE_DESCRIPTION_VERSION;
    dd.DmaAddressWidth = g.mode == LIST_EX ? 64 : 0;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = 2 * PAGE_SIZE;
    ULONG regs = 0;
    g.a = IoGetDmaAdapter(g.dev, &dd, &regs);
    if (g.a == NULL)
        return;
    PDMA_OPERATIONS ops = g.a->DmaOperations;
    PMDL mdl = IoAllocateMdl(buf, PAGE_SIZE, FALSE, FALSE, NULL);
    if (mdl == NULL)
        return;
    MmBuildMdlForNonPagedPool(mdl);
    if (g.mode == LIST_EX && !NT_SUCCESS(ops->InitializeDmaTransferContext(g.a, tc)))
        return;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    switch (g.mode) {
    case DIRECT:
        (void)ops->AllocateAdapterChannel(g.a, g.dev, 1, BugCheckingControl, NULL);
        break;
    case QUEUED:
        (void)ops->AllocateAdapterChannel(g.a, g.dev, 1, KeepingControl, NULL);
        (void)ops->AllocateAdapterChannel(g.a, g.dev2, 1, BugCheckingControl, NULL); /* waits */
        ops->FreeAdapterChannel(g.a); /* grants the waiting request: its routine bug-checks */
        break;
    case LIST:
        (void)ops->GetScatterGatherList(g.a, g.dev, mdl, MmGetMdlVirtualAddress(mdl), PAGE_SIZE,
                                        BugCheckingListControl, NULL, TRUE);
        break;
    case LIST_EX: /* granted through the adapter's request path, as AllocateAdapterChannel */
        (void)ops->GetScatterGatherListEx(g.a, g.dev, tc, mdl, 0, PAGE_SIZE, 0,
                                          BugCheckingListControl, NULL, TRUE, NULL, NULL, NULL);
        break;
    }
    KeLowerIrql(old);
    g.reached_end = 1;
}

static void run(mode how, ULONG p1)
{
    memset(&g, 0, sizeof g);
    g.mode = how;
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_status st = kdpc_machine_run(m, body, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0xD3AD);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], p1);
    assert_int_equal(g.controls, how == QUEUED ? 2 : 1);
    assert_int_equal(g.reached_end, 0);
    kdpc_machine_destroy(m); /* frees what the run left; the request record was freed before */
}

static void test_bug_check_in_adapter_control(void **state)
{
    (void)state;
    run(DIRECT, 1);
}

static void test_bug_check_in_adapter_control_granted_from_the_queue(void **state)
{
    (void)state;
    run(QUEUED, 1);
}

static void test_bug_check_in_adapter_list_control(void **state)
{
    (void)state;
    run(LIST, 5);
}

static void test_bug_check_in_adapter_list_control_of_get_scatter_gather_list_ex(void **state)
{
    (void)state;
    run(LIST_EX, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bug_check_in_adapter_control),
        cmocka_unit_test(test_bug_check_in_adapter_control_granted_from_the_queue),
        cmocka_unit_test(test_bug_check_in_adapter_list_control),
        cmocka_unit_test(test_bug_check_in_adapter_list_control_of_get_scatter_gather_list_ex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
