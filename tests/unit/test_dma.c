/* SPDX-License-Identifier: MIT */
/*
 * test_dma.c - DMA adapters (docs/facts/io.md 5.1-5.12;
 * include/kdpc/wdm/dma.h): IoGetDmaAdapter and its map register limit,
 * AllocateAdapterChannel (AdapterControl at once when free, FIFO queue when
 * busy, the next waiter run inside FreeAdapterChannel / FreeMapRegisters),
 * the three IO_ALLOCATION_ACTION values, MapTransfer (Length cut to the
 * registers granted, split transfers, logical address usable by a device
 * through kdpc_dma_host_address only while mapped), FlushAdapterBuffers,
 * common buffers, scatter/gather lists, GetDmaAlignment, PutDmaAdapter,
 * ADDRESS_AND_SIZE_TO_SPAN_PAGES and BYTE_OFFSET.
 *
 * The driver "dmat" has three device objects (no StartIo: the bodies set
 * CurrentIrp themselves where the Irp argument matters). Every body runs as
 * the run's entry thread, raises to DISPATCH_LEVEL for the calls that need
 * it, records what it sees in d; the asserts come after the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NDEV   3
#define NCALLS 8

static _Alignas(4096) UCHAR dbuf[6 * PAGE_SIZE];

typedef struct CALL {
    int dev; /* index of the DeviceObject argument */
    PIRP irp;
    PVOID base;
    PVOID ctx;
    KIRQL irql;
    int inside; /* which call of the body it ran inside (d.phase) */
} CALL;

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev[NDEV];
    PDMA_ADAPTER a;
    ULONG regs;
    int phase; /* set by the body around each call */

    /* AdapterControl calls, in order */
    IO_ALLOCATION_ACTION action[NDEV]; /* what each device's AdapterControl returns */
    int ncalls;
    CALL calls[NCALLS];
    PVOID base_of[NDEV];

    /* results the bodies record */
    NTSTATUS st[8];
    ULONG val[16];
    PVOID ptr[16];
    BOOLEAN ok[16];
    PHYSICAL_ADDRESS la[8];
    LONG reached_after;
    LONG reached_end;

    /* scatter/gather */
    int sg_calls;
    PDEVICE_OBJECT sg_dev;
    PIRP sg_irp;
    PVOID sg_ctx;
    KIRQL sg_irql;
    PSCATTER_GATHER_LIST sg;
    ULONG sg_elements;
    ULONG sg_total;
    BOOLEAN sg_mapped;
    uint64_t sg_first;
    ULONG sg_first_len;
} d;

static int dev_index(PDEVICE_OBJECT dev)
{
    for (int i = 0; i < NDEV; i++)
        if (d.dev[i] == dev)
            return i;
    return -1;
}

static IO_ALLOCATION_ACTION DmatControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                        PVOID MapRegisterBase, PVOID Context)
{
    int i = dev_index(DeviceObject);
    if (d.ncalls < NCALLS) {
        CALL *c = &d.calls[d.ncalls];
        c->dev = i;
        c->irp = Irp;
        c->base = MapRegisterBase;
        c->ctx = Context;
        c->irql = KeGetCurrentIrql();
        c->inside = d.phase;
    }
    d.ncalls++;
    if (i >= 0) {
        d.base_of[i] = MapRegisterBase;
        return d.action[i];
    }
    return DeallocateObject;
}

static NTSTATUS DmatEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    for (int i = 0; i < NDEV; i++) {
        NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d.dev[i]);
        if (!NT_SUCCESS(st))
            return st;
    }
    return STATUS_SUCCESS;
}

static void DmatUnload(PDRIVER_OBJECT Drv)
{
    while (Drv->DeviceObject != NULL)
        IoDeleteDevice(Drv->DeviceObject);
}

static NTSTATUS DmatEntryWithUnload(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    Drv->DriverUnload = DmatUnload;
    return DmatEntry(Drv, Reg);
}

/* An adapter for a bus master; *regs gets the map register limit. */
static PDMA_ADAPTER get_adapter(ULONG max_len, PULONG regs)
{
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = max_len;
    return IoGetDmaAdapter(d.dev[0], &dd, regs);
}

static NTSTATUS alloc_channel(int dev, ULONG regs, PVOID ctx)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    NTSTATUS st =
        d.a->DmaOperations->AllocateAdapterChannel(d.a, d.dev[dev], regs, DmatControl, ctx);
    KeLowerIrql(old);
    return st;
}

static void free_channel(void)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    d.a->DmaOperations->FreeAdapterChannel(d.a);
    KeLowerIrql(old);
}

static void free_regs(PVOID base, ULONG n)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    d.a->DmaOperations->FreeMapRegisters(d.a, base, n);
    KeLowerIrql(old);
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dmat", DmatEntryWithUnload, &d.drv)))
        return;
    body();
    (void)kdpc_driver_unload(d.drv);
    d.reached_end = 1;
}

static kdpc_machine *start(uint64_t seed)
{
    memset(&d, 0, sizeof d);
    memset(dbuf, 0, sizeof dbuf);
    for (int i = 0; i < NDEV; i++)
        d.action[i] = KeepObject;
    kdpc_machine *m = kt_machine(2, seed);
    KDPC_NAME(m, DmatControl);
    return m;
}

/* Run @body with @rule off (NULL: none); it must end normally without any violation. */
static kdpc_machine *run_ok_off(BODY *body, uint64_t seed, const char *rule)
{
    kdpc_machine *m = start(seed);
    if (rule != NULL)
        assert_int_equal(kdpc_rule_set(m, rule, KDPC_RULE_OFF), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(d.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    return m;
}

static kdpc_machine *run_ok(BODY *body, uint64_t seed)
{
    return run_ok_off(body, seed, NULL);
}

/* ------------------------------------------------------------------ */
/* 5.1 IoGetDmaAdapter                                                  */

static const ULONG max_lengths[] = {
    0, PAGE_SIZE, 3 * PAGE_SIZE, 15 * PAGE_SIZE, 16 * PAGE_SIZE, 1024 * 1024};
static const ULONG expect_regs[] = {1, 2, 4, 16, 16, 16};
#define NLEN (sizeof max_lengths / sizeof max_lengths[0])

static PDMA_ADAPTER adapters[NLEN];
static ULONG regs_of[NLEN];

static void body_get_adapter(void)
{
    for (size_t i = 0; i < NLEN; i++) {
        regs_of[i] = 0xEEEEEEEEu;
        adapters[i] = get_adapter(max_lengths[i], &regs_of[i]);
    }
    ULONG regs = 0xEEEEEEEEu;
    d.ptr[0] = IoGetDmaAdapter(d.dev[0], NULL, &regs);
    /* a system (slave) DMA device, a 64-bit scatter/gather bus master, an unknown version */
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.InterfaceType = Isa;
    dd.DmaChannel = 2;
    dd.DmaWidth = Width8Bits;
    dd.MaximumLength = PAGE_SIZE;
    d.ptr[1] = IoGetDmaAdapter(d.dev[0], &dd, &regs);
    dd.Version = DEVICE_DESCRIPTION_VERSION2;
    dd.InterfaceType = PCIBus;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.Dma64BitAddresses = TRUE;
    d.ptr[2] = IoGetDmaAdapter(d.dev[0], &dd, &regs);
    dd.Version = DEVICE_DESCRIPTION_VERSION3 + 1;
    d.ptr[3] = IoGetDmaAdapter(d.dev[0], &dd, &regs);
    for (int i = 1; i <= 2; i++)
        if (d.ptr[i] != NULL)
            ((PDMA_ADAPTER)d.ptr[i])->DmaOperations->PutDmaAdapter(d.ptr[i]);
    for (size_t i = 0; i < NLEN; i++)
        if (adapters[i] != NULL)
            adapters[i]->DmaOperations->PutDmaAdapter(adapters[i]);
}

static void test_get_dma_adapter_map_registers_are_pages_plus_one_capped_at_16(void **state)
{
    (void)state;
    /* an unknown description version is dma.bad_description: off, IoGetDmaAdapter fails */
    kdpc_machine *m = run_ok_off(body_get_adapter, 1, "dma.bad_description");
    for (size_t i = 0; i < NLEN; i++) {
        assert_non_null(adapters[i]);
        assert_int_equal(adapters[i]->Version, 1); /* 5.1: always 1 */
        assert_non_null(adapters[i]->DmaOperations);
        PDMA_OPERATIONS ops = adapters[i]->DmaOperations;
        assert_int_equal(ops->Size, sizeof(DMA_OPERATIONS));
        assert_non_null(ops->PutDmaAdapter);
        assert_non_null(ops->AllocateCommonBuffer);
        assert_non_null(ops->FreeCommonBuffer);
        assert_non_null(ops->AllocateAdapterChannel);
        assert_non_null(ops->FlushAdapterBuffers);
        assert_non_null(ops->FreeAdapterChannel);
        assert_non_null(ops->FreeMapRegisters);
        assert_non_null(ops->MapTransfer);
        assert_non_null(ops->GetDmaAlignment);
        assert_non_null(ops->GetScatterGatherList);
        assert_non_null(ops->PutScatterGatherList);
        assert_int_equal(regs_of[i], expect_regs[i]);
        for (size_t j = 0; j < i; j++)
            assert_ptr_not_equal(adapters[i], adapters[j]); /* one adapter per call */
    }
    assert_null(d.ptr[0]);     /* NULL description -> NULL */
    assert_non_null(d.ptr[1]); /* system DMA */
    assert_non_null(d.ptr[2]); /* 64-bit scatter/gather bus master */
    assert_null(d.ptr[3]);     /* a description version kdpc does not know */
    kdpc_machine_destroy(m);
}

/* 5.2: more map registers than the limit -> STATUS_INSUFFICIENT_RESOURCES, never called */
static void body_too_many_registers(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs); /* 2 registers */
    d.phase = 1;
    d.st[0] = alloc_channel(0, d.regs + 1, NULL);
    d.val[0] = (ULONG)d.ncalls;
    d.phase = 2;
    d.st[1] = alloc_channel(0, d.regs, NULL); /* exactly the limit: granted */
    d.val[1] = (ULONG)d.ncalls;
    free_channel();
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_allocate_more_than_the_limit_fails_without_calling_adapter_control(void **state)
{
    (void)state;
    /* dma.too_many_map_registers off: the free kernel's answer */
    kdpc_machine *m = run_ok_off(body_too_many_registers, 2, "dma.too_many_map_registers");
    assert_int_equal(d.regs, 2);
    assert_int_equal(d.st[0], STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(d.val[0], 0);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.val[1], 1);
    assert_int_equal(d.calls[0].inside, 2);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 5.2 / 5.3 AllocateAdapterChannel: at once when free                 */

static void body_at_once(void)
{
    d.a = get_adapter(4 * PAGE_SIZE, &d.regs);
    PIRP irp = IoAllocateIrp(1, FALSE);
    d.ptr[0] = irp;
    d.dev[1]->CurrentIrp = irp;
    d.phase = 1;
    d.st[0] = alloc_channel(1, 3, (PVOID)(uintptr_t)0xC0FFEE);
    d.phase = 0;
    d.val[0] = (ULONG)d.ncalls; /* called before AllocateAdapterChannel returned */
    d.dev[1]->CurrentIrp = NULL;
    free_channel();
    if (irp != NULL)
        IoFreeIrp(irp);
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_adapter_control_runs_inside_the_call_when_the_adapter_is_free(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_at_once, 3);
    assert_non_null(d.ptr[0]);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.val[0], 1);
    assert_int_equal(d.ncalls, 1);
    assert_int_equal(d.calls[0].inside, 1);            /* synchronously */
    assert_int_equal(d.calls[0].dev, 1);               /* the device object passed */
    assert_ptr_equal(d.calls[0].irp, d.ptr[0]);        /* Dev->CurrentIrp */
    assert_non_null(d.calls[0].base);                  /* a MapRegisterBase to save */
    assert_ptr_equal(d.calls[0].ctx, (PVOID)0xC0FFEE); /* the Context */
    assert_int_equal(d.calls[0].irql, DISPATCH_LEVEL); /* 5.3 */
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* FIFO queue; KeepObject held until FreeAdapterChannel                 */

static void body_fifo(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs); /* 2 registers */
    d.phase = 1;
    d.st[0] = alloc_channel(0, 1, (PVOID)(uintptr_t)10); /* runs: KeepObject */
    d.phase = 2;
    d.st[1] = alloc_channel(2, 1, (PVOID)(uintptr_t)12); /* channel busy: queued */
    d.phase = 3;
    d.st[2] = alloc_channel(1, 2, (PVOID)(uintptr_t)11); /* queued behind device 2 */
    d.val[0] = (ULONG)d.ncalls;
    d.phase = 4;
    free_channel(); /* device 2 runs inside */
    d.val[1] = (ULONG)d.ncalls;
    d.phase = 5;
    free_channel(); /* device 1 runs inside */
    d.val[2] = (ULONG)d.ncalls;
    d.phase = 6;
    free_channel();
    d.val[3] = (ULONG)d.ncalls;
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_busy_adapter_queues_fifo_and_each_free_runs_the_next_waiter(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_fifo, 4);
    for (int i = 0; i < 3; i++)
        assert_int_equal(d.st[i], STATUS_SUCCESS); /* queued requests succeed too */
    assert_int_equal(d.val[0], 1);                 /* only the first ran */
    assert_int_equal(d.val[1], 2);
    assert_int_equal(d.val[2], 3);
    assert_int_equal(d.val[3], 3);
    assert_int_equal(d.calls[0].dev, 0);
    assert_int_equal(d.calls[0].inside, 1);
    assert_int_equal(d.calls[1].dev, 2); /* FIFO: in the order requested */
    assert_int_equal(d.calls[1].inside, 4);
    assert_ptr_equal(d.calls[1].ctx, (PVOID)12);
    assert_int_equal(d.calls[1].irql, DISPATCH_LEVEL);
    assert_int_equal(d.calls[2].dev, 1);
    assert_int_equal(d.calls[2].inside, 5);
    assert_ptr_equal(d.calls[2].ctx, (PVOID)11);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 5.5: DeallocateObjectKeepRegisters releases the channel at once       */

static void body_keep_registers(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs); /* 2 registers */
    d.action[0] = DeallocateObjectKeepRegisters;
    d.action[1] = DeallocateObjectKeepRegisters;
    d.action[2] = DeallocateObjectKeepRegisters;
    d.phase = 1;
    d.st[0] = alloc_channel(0, 1, NULL); /* runs; keeps 1 register */
    d.phase = 2;
    d.st[1] = alloc_channel(1, 1, NULL); /* channel free, 1 register free: runs at once */
    d.phase = 3;
    d.st[2] = alloc_channel(2, 1, NULL); /* no register left: waits */
    d.val[0] = (ULONG)d.ncalls;
    d.phase = 4;
    free_regs(d.base_of[0], 1); /* device 2 runs inside */
    d.val[1] = (ULONG)d.ncalls;
    d.phase = 0;
    free_regs(d.base_of[1], 1);
    free_regs(d.base_of[2], 1);
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_deallocate_object_keep_registers_frees_the_channel_not_the_registers(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_keep_registers, 5);
    assert_int_equal(d.val[0], 2);
    assert_int_equal(d.calls[0].inside, 1);
    assert_int_equal(d.calls[1].dev, 1);
    assert_int_equal(d.calls[1].inside, 2); /* the next AdapterControl may run (5.5) */
    assert_int_equal(d.val[1], 3);
    assert_int_equal(d.calls[2].dev, 2);
    assert_int_equal(d.calls[2].inside, 4); /* ran inside FreeMapRegisters */
    assert_ptr_not_equal(d.calls[0].base, d.calls[1].base);
    kdpc_machine_destroy(m);
}

/* KeepObject keeps the channel: a request waits even with registers free. */
static void body_keep_object_blocks(void)
{
    d.a = get_adapter(4 * PAGE_SIZE, &d.regs); /* 5 registers */
    d.phase = 1;
    d.st[0] = alloc_channel(0, 1, NULL); /* KeepObject */
    d.phase = 2;
    d.st[1] = alloc_channel(1, 1, NULL); /* 4 registers free, channel held: waits */
    d.val[0] = (ULONG)d.ncalls;
    d.phase = 3;
    free_channel();
    d.val[1] = (ULONG)d.ncalls;
    d.phase = 0;
    free_channel();
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_keep_object_holds_the_channel_until_free_adapter_channel(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_keep_object_blocks, 6);
    assert_int_equal(d.regs, 5);
    assert_int_equal(d.val[0], 1);
    assert_int_equal(d.val[1], 2);
    assert_int_equal(d.calls[1].dev, 1);
    assert_int_equal(d.calls[1].inside, 3);
    kdpc_machine_destroy(m);
}

/* FreeAdapterChannel after KeepObject also frees the map registers (5.5). */
static void body_free_channel_frees_registers(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs); /* 2 registers */
    d.action[1] = DeallocateObjectKeepRegisters;
    d.phase = 1;
    d.st[0] = alloc_channel(0, 2, NULL); /* KeepObject with every register */
    d.phase = 2;
    d.st[1] = alloc_channel(1, 2, NULL); /* waits */
    d.phase = 3;
    free_channel(); /* channel and registers back: device 1 runs */
    d.val[0] = (ULONG)d.ncalls;
    d.phase = 0;
    free_regs(d.base_of[1], 2);
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_free_adapter_channel_returns_the_map_registers_too(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_free_channel_frees_registers, 7);
    assert_int_equal(d.val[0], 2);
    assert_int_equal(d.calls[1].dev, 1);
    assert_int_equal(d.calls[1].inside, 3);
    kdpc_machine_destroy(m);
}

/* DeallocateObject: nothing kept; the next request runs at once. */
static void body_deallocate_object(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs);
    d.action[0] = DeallocateObject;
    d.action[1] = DeallocateObject;
    d.phase = 1;
    d.st[0] = alloc_channel(0, 2, NULL);
    d.phase = 2;
    d.st[1] = alloc_channel(1, 2, NULL); /* every register back already */
    d.val[0] = (ULONG)d.ncalls;
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_deallocate_object_keeps_nothing(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_deallocate_object, 8);
    assert_int_equal(d.val[0], 2);
    assert_int_equal(d.calls[0].inside, 1);
    assert_int_equal(d.calls[1].inside, 2);
    kdpc_machine_destroy(m);
}

/* 5.5: after DeallocateObject the driver "must not call either free". */
static void body_free_after_deallocate_object(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs);
    d.action[0] = DeallocateObject;
    d.st[0] = alloc_channel(0, 1, NULL);
    free_channel();
    d.reached_after = 1;
}

static void test_free_adapter_channel_after_deallocate_object_bugchecks_e6_04(void **state)
{
    (void)state;
    kdpc_machine *m = start(9);
    kdpc_status st =
        kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_free_after_deallocate_object);
    KT_ASSERT_BUGCHECK(m, st, "dma.double_free", 0xE6);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x04);
    assert_int_equal(d.ncalls, 1);
    assert_int_equal(d.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void test_io_allocation_action_values(void **state)
{
    (void)state;
    assert_int_equal(KeepObject, 1); /* 5.4 */
    assert_int_equal(DeallocateObject, 2);
    assert_int_equal(DeallocateObjectKeepRegisters, 3);
}

/* ------------------------------------------------------------------ */
/* 5.7-5.9 MapTransfer, splitting, FlushAdapterBuffers                  */

#define XFER_OFF 0x100u
#define XFER_LEN (4 * PAGE_SIZE) /* from dbuf + 0x100: spans 5 pages */

static void body_map_split(void)
{
    for (ULONG i = 0; i < sizeof dbuf; i++)
        dbuf[i] = (UCHAR)(i * 7u);
    d.a = get_adapter(PAGE_SIZE, &d.regs); /* 2 registers */
    PMDL mdl = IoAllocateMdl(dbuf + XFER_OFF, XFER_LEN, FALSE, FALSE, NULL);
    if (mdl == NULL)
        return;
    MmBuildMdlForNonPagedPool(mdl);
    kdpc_machine *m = kdpc_current_machine();
    PUCHAR va = MmGetMdlVirtualAddress(mdl);
    d.val[15] = ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, XFER_LEN);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    d.st[0] = d.a->DmaOperations->AllocateAdapterChannel(d.a, d.dev[0], d.regs, DmatControl, NULL);
    PVOID base = d.base_of[0];
    ULONG remaining = XFER_LEN;
    int piece = 0;
    while (remaining > 0 && piece < 4) {
        ULONG len = remaining;
        PHYSICAL_ADDRESS la = d.a->DmaOperations->MapTransfer(d.a, mdl, base, va, &len, TRUE);
        d.val[piece] = len;
        d.la[piece] = la;
        /* the "device" reads the mapped range through the logical address */
        PUCHAR host = kdpc_dma_host_address(m, (uint64_t)la.QuadPart, len);
        d.ptr[piece] = host;
        d.ok[piece] = host == va;
        if (host != NULL) {
            /* exactly the mapped range: one byte more is not reachable */
            d.ptr[8 + piece] = kdpc_dma_host_address(m, (uint64_t)la.QuadPart, (size_t)len + 1);
            host[0] = 0xA5; /* and it is the driver's memory */
            host[len - 1] = 0x5A;
        }
        BOOLEAN flushed = d.a->DmaOperations->FlushAdapterBuffers(d.a, mdl, base, va, len, TRUE);
        d.ok[4 + piece] = flushed;
        /* flushed: the device can no longer reach it */
        d.ok[8 + piece] = kdpc_dma_host_address(m, (uint64_t)la.QuadPart, len) == NULL;
        va += len;
        remaining -= len;
        piece++;
    }
    d.val[4] = (ULONG)piece;
    d.val[5] = remaining;
    d.a->DmaOperations->FreeAdapterChannel(d.a);
    KeLowerIrql(old);
    IoFreeMdl(mdl);
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_map_transfer_cuts_length_to_the_registers_and_splits(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_map_split, 10);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.val[15], 5); /* 4 pages from offset 0x100 span 5 */
    /* 5 pages, 2 registers: 3 transfers (5.9) */
    assert_int_equal(d.val[4], 3);
    assert_int_equal(d.val[5], 0);
    assert_int_equal(d.val[0], 2 * PAGE_SIZE - XFER_OFF); /* cut to the registers */
    assert_int_equal(d.val[1], 2 * PAGE_SIZE);            /* page-aligned now */
    assert_int_equal(d.val[2], XFER_OFF);                 /* the rest, unchanged */
    for (int p = 0; p < 3; p++) {
        assert_non_null(d.ptr[p]);
        assert_true(d.ok[p]);      /* the logical address is the mapped piece */
        assert_null(d.ptr[8 + p]); /* not a byte beyond it */
        assert_true(d.ok[4 + p]);  /* FlushAdapterBuffers succeeded */
        assert_true(d.ok[8 + p]);  /* unreachable once flushed */
    }
    /* the device's writes landed at the starts and ends of the three pieces */
    assert_int_equal(dbuf[XFER_OFF], 0xA5);
    assert_int_equal(dbuf[2 * PAGE_SIZE - 1], 0x5A);
    assert_int_equal(dbuf[2 * PAGE_SIZE], 0xA5);
    assert_int_equal(dbuf[4 * PAGE_SIZE - 1], 0x5A);
    assert_int_equal(dbuf[4 * PAGE_SIZE], 0xA5);
    assert_int_equal(dbuf[4 * PAGE_SIZE + XFER_OFF - 1], 0x5A);
    assert_int_equal(dbuf[XFER_OFF + 1], (UCHAR)((XFER_OFF + 1) * 7u)); /* rest untouched */
    kdpc_machine_destroy(m);
}

/* Length within what the registers map is left as it is. */
static void body_map_short(void)
{
    d.a = get_adapter(3 * PAGE_SIZE, &d.regs); /* 4 registers */
    PMDL mdl = IoAllocateMdl(dbuf + 0x80, 100, FALSE, FALSE, NULL);
    if (mdl == NULL)
        return;
    MmBuildMdlForNonPagedPool(mdl);
    kdpc_machine *m = kdpc_current_machine();
    KIRQL old = KeRaiseIrqlToDpcLevel();
    d.st[0] = d.a->DmaOperations->AllocateAdapterChannel(d.a, d.dev[0], 1, DmatControl, NULL);
    ULONG len = 100;
    PVOID va = MmGetMdlVirtualAddress(mdl);
    PHYSICAL_ADDRESS la = d.a->DmaOperations->MapTransfer(d.a, mdl, d.base_of[0], va, &len, FALSE);
    d.val[0] = len;
    d.ptr[0] = kdpc_dma_host_address(m, (uint64_t)la.QuadPart, 100);
    d.ptr[1] = kdpc_dma_host_address(m, (uint64_t)la.QuadPart + 50, 50); /* inside */
    d.ok[0] = d.a->DmaOperations->FlushAdapterBuffers(d.a, mdl, d.base_of[0], va, len, FALSE);
    d.a->DmaOperations->FreeAdapterChannel(d.a);
    d.ptr[2] = kdpc_dma_host_address(m, (uint64_t)la.QuadPart, 100);
    KeLowerIrql(old);
    IoFreeMdl(mdl);
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_map_transfer_keeps_a_length_that_fits(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_map_short, 11);
    assert_int_equal(d.val[0], 100);
    assert_ptr_equal(d.ptr[0], dbuf + 0x80);
    assert_ptr_equal(d.ptr[1], dbuf + 0x80 + 50);
    assert_true(d.ok[0]);
    assert_null(d.ptr[2]);
    kdpc_machine_destroy(m);
}

/* A range never mapped is not reachable through kdpc_dma_host_address. */
static void body_unmapped(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs);
    kdpc_machine *m = kdpc_current_machine();
    d.ptr[0] = kdpc_dma_host_address(m, (uint64_t)(uintptr_t)dbuf, 16);
    d.ptr[1] = kdpc_dma_host_address(NULL, (uint64_t)(uintptr_t)dbuf, 16);
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_host_address_of_an_unmapped_range_is_null(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_unmapped, 12);
    assert_null(d.ptr[0]);
    assert_null(d.ptr[1]);
    assert_null(kdpc_dma_host_address(m, (uint64_t)(uintptr_t)dbuf, 16)); /* after the run */
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Common buffers                                                       */

static void body_common(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs);
    kdpc_machine *m = kdpc_current_machine();
    PHYSICAL_ADDRESS la1, la2;
    la1.QuadPart = 0;
    la2.QuadPart = 0;
    PUCHAR va1 = d.a->DmaOperations->AllocateCommonBuffer(d.a, 3000, &la1, FALSE);
    PUCHAR va2 = d.a->DmaOperations->AllocateCommonBuffer(d.a, 2 * PAGE_SIZE, &la2, TRUE);
    d.ptr[0] = va1;
    d.ptr[1] = va2;
    d.la[0] = la1;
    d.la[1] = la2;
    if (va1 == NULL || va2 == NULL)
        return;
    d.ok[0] = TRUE;
    for (ULONG i = 0; i < 3000; i++)
        if (va1[i] != 0)
            d.ok[0] = FALSE; /* zeroed */
    /* the device writes through the logical address; the driver reads va */
    PUCHAR host1 = kdpc_dma_host_address(m, (uint64_t)la1.QuadPart, 3000);
    d.ptr[2] = host1;
    if (host1 != NULL)
        memset(host1 + 10, 0x77, 20);
    d.ok[1] = va1[10] == 0x77 && va1[29] == 0x77 && va1[30] == 0;
    d.ptr[3] = kdpc_dma_host_address(m, (uint64_t)la1.QuadPart + 2999, 1);
    d.ptr[4] = kdpc_dma_host_address(m, (uint64_t)la1.QuadPart, 3001); /* past the end */
    d.ptr[5] = kdpc_dma_host_address(m, (uint64_t)la2.QuadPart, 2 * PAGE_SIZE);
    d.a->DmaOperations->FreeCommonBuffer(d.a, 3000, la1, va1, FALSE);
    d.ptr[6] = kdpc_dma_host_address(m, (uint64_t)la1.QuadPart, 1); /* gone */
    d.ptr[7] = kdpc_dma_host_address(m, (uint64_t)la2.QuadPart, 1); /* the other stays */
    d.a->DmaOperations->FreeCommonBuffer(d.a, 2 * PAGE_SIZE, la2, va2, TRUE);
    d.ptr[8] = kdpc_dma_host_address(m, (uint64_t)la2.QuadPart, 1);
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_common_buffer_is_zeroed_reachable_by_the_device_until_freed(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_common, 13);
    assert_non_null(d.ptr[0]);
    assert_non_null(d.ptr[1]);
    assert_ptr_not_equal(d.ptr[0], d.ptr[1]);
    assert_true(d.la[0].QuadPart != 0);
    assert_true(d.la[0].QuadPart != d.la[1].QuadPart);
    assert_true(d.ok[0]);
    assert_ptr_equal(d.ptr[2], d.ptr[0]);
    assert_true(d.ok[1]);
    assert_ptr_equal(d.ptr[3], (PUCHAR)d.ptr[0] + 2999);
    assert_null(d.ptr[4]);
    assert_ptr_equal(d.ptr[5], d.ptr[1]);
    assert_null(d.ptr[6]);
    assert_ptr_equal(d.ptr[7], d.ptr[1]);
    assert_null(d.ptr[8]);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 5.10 Scatter/gather                                                  */

static void DmatListControl(PDEVICE_OBJECT DeviceObject, PIRP Irp, PSCATTER_GATHER_LIST Sg,
                            PVOID Context)
{
    kdpc_machine *m = kdpc_current_machine();
    d.sg_calls++;
    d.sg_dev = DeviceObject;
    d.sg_irp = Irp;
    d.sg_ctx = Context;
    d.sg_irql = KeGetCurrentIrql();
    d.sg = Sg;
    if (Sg == NULL)
        return;
    d.sg_elements = Sg->NumberOfElements;
    d.sg_mapped = TRUE;
    for (ULONG i = 0; i < Sg->NumberOfElements; i++) {
        PSCATTER_GATHER_ELEMENT e = &Sg->Elements[i];
        d.sg_total += e->Length;
        PUCHAR host = kdpc_dma_host_address(m, (uint64_t)e->Address.QuadPart, e->Length);
        if (host == NULL) {
            d.sg_mapped = FALSE;
            continue;
        }
        memset(host, 0x3C, e->Length); /* the device transfers */
    }
    d.sg_first = (uint64_t)Sg->Elements[0].Address.QuadPart;
    d.sg_first_len = Sg->Elements[0].Length;
}

#define SG_OFF 0x200u
#define SG_LEN (PAGE_SIZE + 0x300u) /* spans 2 pages */

static void body_sg(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs); /* 2 registers */
    kdpc_machine *m = kdpc_current_machine();
    PIRP irp = IoAllocateIrp(1, FALSE);
    d.ptr[0] = irp;
    PMDL mdl = IoAllocateMdl(dbuf + SG_OFF, SG_LEN, FALSE, FALSE, NULL);
    PMDL big = IoAllocateMdl(dbuf + SG_OFF, 2 * PAGE_SIZE, FALSE, FALSE, NULL); /* 3 pages */
    if (irp == NULL || mdl == NULL || big == NULL)
        return;
    MmBuildMdlForNonPagedPool(mdl);
    MmBuildMdlForNonPagedPool(big);
    d.dev[2]->CurrentIrp = irp;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    d.st[0] =
        d.a->DmaOperations->GetScatterGatherList(d.a, d.dev[2], mdl, MmGetMdlVirtualAddress(mdl),
                                                 SG_LEN, DmatListControl, (PVOID)0x5C, TRUE);
    d.val[0] = (ULONG)d.sg_calls; /* called inside */
    /* still mapped after AdapterListControl returned: the device is at work */
    d.ptr[1] = kdpc_dma_host_address(m, d.sg_first, d.sg_first_len);
    if (d.sg != NULL)
        d.a->DmaOperations->PutScatterGatherList(d.a, d.sg, TRUE);
    d.ptr[2] = kdpc_dma_host_address(m, d.sg_first, d.sg_first_len); /* put back: gone */
    /* more pages than the adapter has map registers */
    d.st[1] =
        d.a->DmaOperations->GetScatterGatherList(d.a, d.dev[2], big, MmGetMdlVirtualAddress(big),
                                                 2 * PAGE_SIZE, DmatListControl, NULL, TRUE);
    d.val[1] = (ULONG)d.sg_calls;
    KeLowerIrql(old);
    d.dev[2]->CurrentIrp = NULL;
    IoFreeMdl(mdl);
    IoFreeMdl(big);
    IoFreeIrp(irp);
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_scatter_gather_list_maps_until_put_back(void **state)
{
    (void)state;
    /* dma.too_many_map_registers off: the free kernel's answer to the 3-page list */
    kdpc_machine *m = run_ok_off(body_sg, 14, "dma.too_many_map_registers");
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.val[0], 1);
    assert_ptr_equal(d.sg_dev, d.dev[2]);
    assert_ptr_equal(d.sg_irp, d.ptr[0]); /* Dev->CurrentIrp */
    assert_ptr_equal(d.sg_ctx, (PVOID)0x5C);
    assert_int_equal(d.sg_irql, DISPATCH_LEVEL);
    assert_true(d.sg_elements >= 1);
    assert_int_equal(d.sg_total, SG_LEN); /* the elements cover the whole transfer */
    assert_true(d.sg_mapped);
    assert_non_null(d.ptr[1]);
    assert_null(d.ptr[2]);
    /* the device's transfer reached exactly the buffer */
    assert_int_equal(dbuf[SG_OFF - 1], 0);
    assert_int_equal(dbuf[SG_OFF], 0x3C);
    assert_int_equal(dbuf[SG_OFF + SG_LEN - 1], 0x3C);
    assert_int_equal(dbuf[SG_OFF + SG_LEN], 0);
    /* 3 pages with 2 map registers */
    assert_int_equal(d.st[1], STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(d.val[1], 1); /* not called */
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* GetDmaAlignment, PutDmaAdapter                                       */

static void body_alignment_put(void)
{
    d.a = get_adapter(PAGE_SIZE, &d.regs);
    d.val[0] = d.a->DmaOperations->GetDmaAlignment(d.a);
    /* an adapter that is put back has nothing outstanding: no report, no leak */
    d.st[0] = alloc_channel(0, 1, NULL);
    free_channel();
    d.a->DmaOperations->PutDmaAdapter(d.a);
    d.reached_after = 1;
}

static void test_dma_alignment_is_one_byte_and_put_dma_adapter_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_alignment_put, 15);
    assert_int_equal(d.val[0], 1);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.reached_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 5.9 macros                                                           */

static void test_span_pages_and_byte_offset(void **state)
{
    (void)state;
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(0x10000, 0), 0);
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(0x10000, 1), 1);
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(0x10000, PAGE_SIZE), 1);
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(0x10000, PAGE_SIZE + 1), 2);
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(0x10FFF, 1), 1);
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(0x10FFF, 2), 2); /* crosses a boundary */
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(0x10800, 2 * PAGE_SIZE), 3);
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(0x10100, 4 * PAGE_SIZE), 5);
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES((PVOID)(dbuf + 1), 12 * PAGE_SIZE - 1), 12);
    assert_int_equal(BYTE_OFFSET(0x12345), 0x345);
    assert_int_equal(BYTE_OFFSET(0x12000), 0);
    assert_int_equal(BYTE_OFFSET(0x12FFF), 0xFFF);
    assert_int_equal(BYTE_OFFSET((PVOID)(dbuf + PAGE_SIZE + 7)), 7);
    /* 5.9's example: 12 pages needed with 5 map registers -> 3 transfers */
    ULONG need = ADDRESS_AND_SIZE_TO_SPAN_PAGES(0x20000, 12 * PAGE_SIZE);
    assert_int_equal(need, 12);
    assert_int_equal((need + 5 - 1) / 5, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_dma_adapter_map_registers_are_pages_plus_one_capped_at_16),
        cmocka_unit_test(test_allocate_more_than_the_limit_fails_without_calling_adapter_control),
        cmocka_unit_test(test_adapter_control_runs_inside_the_call_when_the_adapter_is_free),
        cmocka_unit_test(test_busy_adapter_queues_fifo_and_each_free_runs_the_next_waiter),
        cmocka_unit_test(test_deallocate_object_keep_registers_frees_the_channel_not_the_registers),
        cmocka_unit_test(test_keep_object_holds_the_channel_until_free_adapter_channel),
        cmocka_unit_test(test_free_adapter_channel_returns_the_map_registers_too),
        cmocka_unit_test(test_deallocate_object_keeps_nothing),
        cmocka_unit_test(test_free_adapter_channel_after_deallocate_object_bugchecks_e6_04),
        cmocka_unit_test(test_io_allocation_action_values),
        cmocka_unit_test(test_map_transfer_cuts_length_to_the_registers_and_splits),
        cmocka_unit_test(test_map_transfer_keeps_a_length_that_fits),
        cmocka_unit_test(test_host_address_of_an_unmapped_range_is_null),
        cmocka_unit_test(test_common_buffer_is_zeroed_reachable_by_the_device_until_freed),
        cmocka_unit_test(test_scatter_gather_list_maps_until_put_back),
        cmocka_unit_test(test_dma_alignment_is_one_byte_and_put_dma_adapter_is_clean),
        cmocka_unit_test(test_span_pages_and_byte_offset),
    };
    return cmocka_run_group_tests_name("dma", tests, NULL, NULL);
}
