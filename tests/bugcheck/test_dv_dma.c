/* SPDX-License-Identifier: MIT */
/*
 * test_dv_dma.c - DMA verification (docs/rules.md, bug check 0xE6): each rule's broken routine
 * with its code and P1..P4, and a fixed twin that runs clean.
 *   dma.irql                   0x13: P2 0x01 (exact IRQL) / 0x02 (above), P3 expected, P4 found
 *   dma.null_adapter           0x19
 *   dma.adapter_released       0x18: P2 the adapter
 *   dma.put_outstanding        0x07..0x0A: P2 the adapter, P3 how many
 *   dma.second_channel         0x0B: P2 channels, P3 the adapter, P4 the device
 *   dma.too_many_map_registers 0x0C: P2 needed, P3 the maximum, P4 the adapter
 *   dma.unlocked_buffer        0x0E: P2 the MDL
 *   dma.buffer_overrun         0x0F: P2 0x04 / 0x05, P3 the buffer, P4 the first byte outside
 *   dma.outside_mdl            0x1B / 0x1F (P2 0x03) / 0x24
 *   dma.double_map             0x1D: P2 start, P3 end, P4 the address already mapped
 *   dma.zero_length            0x21: P2 the grant
 *   dma.flush_unmapped         0x20 / 0x16 / 0x00 (P2 0x01)
 *   dma.not_flushed            0x10 at a free, 0x0D at IoCompleteRequest
 *   dma.double_free            0x03 (common buffer), 0x06 (scatter/gather list)
 *   dma.channel_flush          0x23: P2 0, P3 the controller, P4 the channel
 *   dma.bad_description        0x25: P2 the version
 *   dma.adapter_not_put        0x11: P2 the adapters left, P3 the adapter, P4 the device
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static _Alignas(4096) UCHAR buf[2 * PAGE_SIZE];

static struct {
    bool broken;
    int variant;
    PDEVICE_OBJECT dev;
    PDMA_ADAPTER a;
    ULONG regs;
    PVOID base;
    IO_ALLOCATION_ACTION action;
    PMDL mdl;
    PUCHAR va;
    PHYSICAL_ADDRESS la;
    PSCATTER_GATHER_LIST sg;
    kdpc_device *hw;
    int done_status;
    int reached_end;
} t;

static NTSTATUS DvDmaEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    return IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &t.dev);
}

static IO_ALLOCATION_ACTION DvControl(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID MapRegisterBase,
                                      PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    t.base = MapRegisterBase;
    return t.action;
}

static VOID DvList(PDEVICE_OBJECT DeviceObject, PIRP Irp, PSCATTER_GATHER_LIST Sg, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    t.sg = Sg;
}

static VOID DvDmaDone(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PVOID Ctx,
                      DMA_COMPLETION_STATUS Status)
{
    (void)DmaAdapter;
    (void)DeviceObject;
    (void)Ctx;
    t.done_status = (int)Status;
}

/* The driver, a 2-register bus master adapter (MaximumLength one page) and an MDL of buf's first
 * 64 bytes (built unless @unlocked). */
static void setup(bool unlocked)
{
    PDRIVER_OBJECT drv;
    assert_true(NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dvdma", DvDmaEntry, &drv)));
    DEVICE_DESCRIPTION dd = {0};
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = PAGE_SIZE;
    t.a = IoGetDmaAdapter(t.dev, &dd, &t.regs);
    t.mdl = IoAllocateMdl(buf, 64, FALSE, FALSE, NULL);
    assert_non_null(t.a);
    assert_non_null(t.mdl);
    if (!unlocked)
        MmBuildMdlForNonPagedPool(t.mdl);
}

/* setup, with t.a a version 3 scatter/gather bus master adapter in place of the first one. */
static void setup_v3_list(void)
{
    setup(false);
    t.a->DmaOperations->PutDmaAdapter(t.a);
    DEVICE_DESCRIPTION dd = {0};
    dd.Version = DEVICE_DESCRIPTION_VERSION3;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.InterfaceType = PCIBus;
    dd.DmaWidth = Width32Bits;
    dd.DmaAddressWidth = 64;
    dd.MaximumLength = PAGE_SIZE;
    t.a = IoGetDmaAdapter(t.dev, &dd, &t.regs);
    assert_non_null(t.a);
}

/* AllocateAdapterChannel at DISPATCH_LEVEL; AdapterControl returns @action. */
static void grant(IO_ALLOCATION_ACTION action, ULONG regs)
{
    t.action = action;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    (void)t.a->DmaOperations->AllocateAdapterChannel(t.a, t.dev, regs, DvControl, NULL);
    KeLowerIrql(old);
}

static void teardown(void)
{
    IoFreeMdl(t.mdl);
    t.a->DmaOperations->PutDmaAdapter(t.a);
    t.reached_end = 1;
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    ((BODY *)(uintptr_t)ctx)();
}

static kdpc_machine *run(BODY *body, bool broken, int variant, kdpc_status *st)
{
    memset(&t, 0, sizeof t);
    memset(buf, 0, sizeof buf);
    t.broken = broken;
    t.variant = variant;
    kdpc_machine *m = kt_machine(1, 31);
    *st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
    return m;
}

/* The broken routine stops with 0xE6 of @rule: its report, on *@mp, for the caller to check
 * (against t, which holds the run's state) and to destroy. */
static const kdpc_violation *broken(BODY *body, int variant, const char *rule, kdpc_machine **mp)
{
    kdpc_status st;
    *mp = run(body, true, variant, &st);
    KT_ASSERT_BUGCHECK(*mp, st, rule, 0xE6);
    return kdpc_machine_bugcheck(*mp);
}

static void assert_params(const kdpc_violation *bc, uint64_t p1, uint64_t p2, uint64_t p3,
                          uint64_t p4)
{
    assert_int_equal(bc->params[0], p1);
    assert_int_equal(bc->params[1], p2);
    assert_int_equal(bc->params[2], p3);
    assert_int_equal(bc->params[3], p4);
}

/* The broken routine stops with 0xE6 of @rule and these parameters. */
static void expect(BODY *body, int variant, const char *rule, uint64_t p1, uint64_t p2, uint64_t p3,
                   uint64_t p4)
{
    kdpc_machine *m;
    assert_params(broken(body, variant, rule, &m), p1, p2, p3, p4);
    assert_int_equal(t.reached_end, 0);
    kdpc_machine_destroy(m);
}

/* The fixed twin runs clean. */
static void clean(BODY *body, int variant)
{
    kdpc_status st;
    kdpc_machine *m = run(body, false, variant, &st);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(t.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

#define P(x) ((uint64_t)(uintptr_t)(x))

/* ------------------------------------------------------------------ */
/* dma.irql                                                             */

static void body_irql(void)
{
    setup(false);
    grant(KeepObject, 1);
    if (t.broken && t.variant == 0) {
        t.a->DmaOperations->FreeAdapterChannel(t.a); /* at PASSIVE_LEVEL */
    } else if (t.broken) {
        KIRQL old;
        KeRaiseIrql(5, &old); /* above DISPATCH_LEVEL */
        (void)t.a->DmaOperations->FlushAdapterBuffers(t.a, t.mdl, t.base, buf, 64, FALSE);
        KeLowerIrql(old);
    } else {
        KIRQL old = KeRaiseIrqlToDpcLevel();
        t.a->DmaOperations->FreeAdapterChannel(t.a);
        KeLowerIrql(old);
    }
    teardown();
}

static void test_dma_irql(void **state)
{
    (void)state;
    expect(body_irql, 0, "dma.irql", 0x13, 0x01, DISPATCH_LEVEL, PASSIVE_LEVEL);
    expect(body_irql, 1, "dma.irql", 0x13, 0x02, DISPATCH_LEVEL, 5);
    clean(body_irql, 0);
}

/* ------------------------------------------------------------------ */
/* dma.null_adapter, dma.adapter_released, dma.bad_description          */

static void body_null(void)
{
    setup(false);
    grant(KeepObject, 1);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    t.a->DmaOperations->FreeAdapterChannel(t.broken ? NULL : t.a);
    KeLowerIrql(old);
    teardown();
}

static void body_released(void)
{
    setup(false);
    if (t.broken)
        t.a->DmaOperations->PutDmaAdapter(t.a);
    t.va = t.a->DmaOperations->AllocateCommonBuffer(t.a, 64, &t.la, FALSE);
    if (t.va != NULL)
        t.a->DmaOperations->FreeCommonBuffer(t.a, 64, t.la, t.va, FALSE);
    teardown();
}

static void body_description(void)
{
    setup(false);
    DEVICE_DESCRIPTION dd = {0};
    dd.Version = t.broken ? DEVICE_DESCRIPTION_VERSION3 + 1 : DEVICE_DESCRIPTION_VERSION3;
    dd.Master = TRUE;
    dd.InterfaceType = PCIBus;
    dd.DmaAddressWidth = 64;
    dd.MaximumLength = PAGE_SIZE;
    ULONG regs;
    PDMA_ADAPTER a = IoGetDmaAdapter(t.dev, &dd, &regs);
    assert_non_null(a);
    a->DmaOperations->PutDmaAdapter(a);
    teardown();
}

static void test_dma_null_released_description(void **state)
{
    (void)state;
    expect(body_null, 0, "dma.null_adapter", 0x19, 0, 0, 0);
    clean(body_null, 0);
    kdpc_status st;
    /* DMA verification off: what Windows does without it, an access through the NULL adapter
     * (io.invalid_object, 0xA at DISPATCH_LEVEL) */
    memset(&t, 0, sizeof t);
    t.broken = true;
    kdpc_machine *m0 = kt_machine(1, 31);
    assert_int_equal(kdpc_verifier_class_set(m0, "dma_verification", false), KDPC_OK);
    st = kdpc_machine_run(m0, run_body, (void *)(uintptr_t)body_null);
    KT_ASSERT_BUGCHECK(m0, st, "io.invalid_object", 0xA);
    KT_ASSERT_NO_VIOLATION(m0, "dma.null_adapter");
    kdpc_machine_destroy(m0);
    kdpc_machine *m;
    const kdpc_violation *bc = broken(body_released, 0, "dma.adapter_released", &m);
    assert_int_equal(bc->params[0], 0x18);
    assert_int_equal(bc->params[1], P(t.a));
    kdpc_machine_destroy(m);
    clean(body_released, 0);
    expect(body_description, 0, "dma.bad_description", 0x25, 4, 0, 0);
    clean(body_description, 0);
}

/* ------------------------------------------------------------------ */
/* dma.put_outstanding                                                  */

/* variant 0: a common buffer; 1: the channel (KeepObject); 2: two map registers
 * (DeallocateObjectKeepRegisters); 3: a scatter/gather list */
static void body_put(void)
{
    setup(false);
    KIRQL old;
    switch (t.variant) {
    case 0:
        t.va = t.a->DmaOperations->AllocateCommonBuffer(t.a, 64, &t.la, FALSE);
        if (!t.broken)
            t.a->DmaOperations->FreeCommonBuffer(t.a, 64, t.la, t.va, FALSE);
        break;
    case 1:
    case 2:
        grant(t.variant == 1 ? KeepObject : DeallocateObjectKeepRegisters, 2);
        old = KeRaiseIrqlToDpcLevel();
        if (!t.broken && t.variant == 1)
            t.a->DmaOperations->FreeAdapterChannel(t.a);
        if (!t.broken && t.variant == 2)
            t.a->DmaOperations->FreeMapRegisters(t.a, t.base, 2);
        KeLowerIrql(old);
        break;
    default:
        old = KeRaiseIrqlToDpcLevel();
        (void)t.a->DmaOperations->GetScatterGatherList(t.a, t.dev, t.mdl, buf, 64, DvList, NULL,
                                                       FALSE);
        if (!t.broken)
            t.a->DmaOperations->PutScatterGatherList(t.a, t.sg, FALSE);
        KeLowerIrql(old);
        break;
    }
    teardown();
}

static void test_dma_put_outstanding(void **state)
{
    (void)state;
    static const uint64_t count[4] = {1, 1, 2, 1};
    for (int v = 0; v < 4; v++) {
        kdpc_machine *m;
        const kdpc_violation *bc = broken(body_put, v, "dma.put_outstanding", &m);
        assert_int_equal(bc->params[0], 0x07u + (unsigned)v);
        assert_int_equal(bc->params[1], P(t.a));
        assert_int_equal(bc->params[2], count[v]);
        assert_true(bc->params[3] != 0);
        kdpc_machine_destroy(m);
        clean(body_put, v);
    }
}

/* ------------------------------------------------------------------ */
/* dma.second_channel, dma.too_many_map_registers                       */

static void body_second(void)
{
    setup(false);
    grant(KeepObject, 1);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    if (!t.broken)
        t.a->DmaOperations->FreeAdapterChannel(t.a);
    (void)t.a->DmaOperations->AllocateAdapterChannel(t.a, t.dev, 1, DvControl, NULL);
    t.a->DmaOperations->FreeAdapterChannel(t.a);
    KeLowerIrql(old);
    teardown();
}

static void body_too_many(void)
{
    setup(false);
    grant(DeallocateObject, t.broken ? t.regs + 1 : t.regs);
    teardown();
}

static void test_dma_second_channel_and_too_many_map_registers(void **state)
{
    (void)state;
    kdpc_machine *m;
    const kdpc_violation *bc = broken(body_second, 0, "dma.second_channel", &m);
    assert_params(bc, 0x0B, 2, P(t.a), P(t.dev));
    kdpc_machine_destroy(m);
    clean(body_second, 0);
    bc = broken(body_too_many, 0, "dma.too_many_map_registers", &m);
    assert_params(bc, 0x0C, 3, 2, P(t.a));
    kdpc_machine_destroy(m);
    clean(body_too_many, 0);
}

/* ------------------------------------------------------------------ */
/* MapTransfer's buffer: unlocked, outside the MDL, zero length, mapped twice */

/* variant 0: an MDL never locked; 1: CurrentVa past the MDL; 2: a length past the MDL;
 * 3: zero bytes; 4: the same range mapped twice; 5: a chain too short for the list */
static void body_map(void)
{
    setup(t.broken && t.variant == 0);
    grant(KeepObject, 2);
    PDMA_OPERATIONS ops = t.a->DmaOperations;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(t.mdl);
    ULONG len = 64;
    if (t.broken && t.variant == 1)
        va += 64;
    if (t.broken && t.variant == 2)
        len = 65;
    if (t.broken && t.variant == 3)
        len = 0;
    if (t.variant == 5) {
        t.base = NULL;
        ops->FreeAdapterChannel(t.a);
        (void)ops->GetScatterGatherList(t.a, t.dev, t.mdl, va, t.broken ? 65 : 64, DvList, NULL,
                                        FALSE);
        ops->PutScatterGatherList(t.a, t.sg, FALSE);
        KeLowerIrql(old);
        teardown();
        return;
    }
    (void)ops->MapTransfer(t.a, t.mdl, t.base, va, &len, FALSE);
    if (t.variant == 4) {
        if (!t.broken)
            (void)ops->FlushAdapterBuffers(t.a, t.mdl, t.base, va, len, FALSE);
        (void)ops->MapTransfer(t.a, t.mdl, t.base, va, &len, FALSE);
    }
    (void)ops->FlushAdapterBuffers(t.a, t.mdl, t.base, va, len, FALSE);
    ops->FreeAdapterChannel(t.a);
    KeLowerIrql(old);
    teardown();
}

static void test_dma_map_transfer_buffer_checks(void **state)
{
    (void)state;
    kdpc_machine *m;
    const kdpc_violation *bc = broken(body_map, 0, "dma.unlocked_buffer", &m);
    assert_int_equal(bc->params[0], 0x0E);
    assert_int_equal(bc->params[1], P(t.mdl));
    kdpc_machine_destroy(m);

    bc = broken(body_map, 1, "dma.outside_mdl", &m);
    assert_int_equal(bc->params[0], 0x1B);
    assert_int_equal(bc->params[1], P(buf + 64));
    assert_int_equal(bc->params[2], P(t.mdl));
    kdpc_machine_destroy(m);

    bc = broken(body_map, 2, "dma.outside_mdl", &m);
    assert_params(bc, 0x1F, 0x03, P(t.mdl), 65);
    kdpc_machine_destroy(m);

    bc = broken(body_map, 3, "dma.zero_length", &m);
    assert_int_equal(bc->params[0], 0x21);
    assert_int_equal(bc->params[1], P(t.base));
    kdpc_machine_destroy(m);

    expect(body_map, 4, "dma.double_map", 0x1D, P(buf), P(buf + 64), P(buf));

    bc = broken(body_map, 5, "dma.outside_mdl", &m);
    assert_int_equal(bc->params[0], 0x24);
    assert_int_equal(bc->params[1], 1); /* one byte past the chain */
    assert_int_equal(bc->params[2], P(t.mdl));
    kdpc_machine_destroy(m);

    for (int v = 0; v <= 5; v++)
        clean(body_map, v);
}

/* ------------------------------------------------------------------ */
/* dma.flush_unmapped, dma.not_flushed                                  */

/* variant 0: flush of registers that mapped nothing; 1: flushed twice; 2: flush of more than
 * was mapped; 3: FreeAdapterChannel unflushed; 4: IoCompleteRequest unflushed */
static void body_flush(void)
{
    setup(false);
    PIRP irp = IoAllocateIrp(1, FALSE);
    assert_non_null(irp);
    IoSetNextIrpStackLocation(irp);
    t.dev->CurrentIrp = irp;
    grant(t.variant == 4 ? DeallocateObjectKeepRegisters : KeepObject, 1);
    PDMA_OPERATIONS ops = t.a->DmaOperations;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ULONG len = 16;
    if (!(t.broken && t.variant == 0))
        (void)ops->MapTransfer(t.a, t.mdl, t.base, buf, &len, FALSE);
    bool flush = !(t.broken && (t.variant == 3 || t.variant == 4));
    if (flush)
        (void)ops->FlushAdapterBuffers(t.a, t.mdl, t.base, buf,
                                       t.broken && t.variant == 2 ? 32 : len, FALSE);
    if (t.broken && t.variant == 1)
        (void)ops->FlushAdapterBuffers(t.a, t.mdl, t.base, buf, len, FALSE);
    if (t.variant == 4) {
        KeLowerIrql(old);
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(irp, IO_NO_INCREMENT); /* the registers must be freed first */
        old = KeRaiseIrqlToDpcLevel();
    }
    if (t.variant == 4)
        ops->FreeMapRegisters(t.a, t.base, 1);
    else
        ops->FreeAdapterChannel(t.a);
    KeLowerIrql(old);
    t.dev->CurrentIrp = NULL;
    if (t.variant != 4)
        IoFreeIrp(irp);
    teardown();
}

static void test_dma_flush_checks(void **state)
{
    (void)state;
    kdpc_machine *m;
    const kdpc_violation *bc = broken(body_flush, 0, "dma.flush_unmapped", &m);
    assert_params(bc, 0x20, P(t.base), P(buf), P(t.mdl));
    kdpc_machine_destroy(m);

    bc = broken(body_flush, 1, "dma.flush_unmapped", &m);
    assert_int_equal(bc->params[0], 0x16);
    assert_int_equal(bc->params[1], P(buf));
    assert_int_equal(bc->params[2], P(t.base));
    kdpc_machine_destroy(m);

    expect(body_flush, 2, "dma.flush_unmapped", 0x00, 0x01, 16, 32);

    bc = broken(body_flush, 3, "dma.not_flushed", &m);
    assert_params(bc, 0x10, 1 /* one register still mapped */, P(t.a), P(t.base));
    kdpc_machine_destroy(m);

    bc = broken(body_flush, 4, "dma.not_flushed", &m);
    assert_params(bc, 0x0D, 16 /* bytes mapped */, PAGE_SIZE /* one register maps */, P(t.a));
    kdpc_machine_destroy(m);

    for (int v = 0; v <= 3; v++)
        clean(body_flush, v);
}

/* ------------------------------------------------------------------ */
/* dma.double_free (0x03, 0x06), dma.buffer_overrun                     */

static void body_double_free(void)
{
    setup(false);
    PDMA_OPERATIONS ops = t.a->DmaOperations;
    if (t.variant == 0) {
        t.va = ops->AllocateCommonBuffer(t.a, 64, &t.la, FALSE);
        ops->FreeCommonBuffer(t.a, 64, t.la, t.va, FALSE);
        if (t.broken)
            ops->FreeCommonBuffer(t.a, 64, t.la, t.va, FALSE);
    } else {
        KIRQL old = KeRaiseIrqlToDpcLevel();
        (void)ops->GetScatterGatherList(t.a, t.dev, t.mdl, buf, 64, DvList, NULL, FALSE);
        ops->PutScatterGatherList(t.a, t.sg, FALSE);
        if (t.broken)
            ops->PutScatterGatherList(t.a, t.sg, FALSE);
        KeLowerIrql(old);
    }
    teardown();
}

/* variant 0: the driver writes past the buffer; 1: before it; 2: the device writes past it */
static void body_overrun(void)
{
    setup(false);
    PDMA_OPERATIONS ops = t.a->DmaOperations;
    t.va = ops->AllocateCommonBuffer(t.a, 64, &t.la, FALSE);
    assert_non_null(t.va);
    if (t.variant == 2) {
        kdpc_device_desc d;
        kdpc_device_desc_init(&d);
        d.name = "dvdmahw";
        d.dma = true;
        assert_int_equal(kdpc_device_plug(kdpc_current_machine(), &d, &t.hw), KDPC_OK);
        UCHAR data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        (void)kdpc_device_dma_write(t.hw, (uint64_t)t.la.QuadPart + (t.broken ? 60 : 56), data,
                                    sizeof data, NULL);
    } else if (t.broken) {
        t.va[t.variant == 0 ? 64 : -1] = 1;
    } else {
        t.va[0] = t.va[63] = 1;
    }
    ops->FreeCommonBuffer(t.a, 64, t.la, t.va, FALSE);
    teardown();
}

static void test_dma_double_free_and_overrun(void **state)
{
    (void)state;
    kdpc_machine *m;
    const kdpc_violation *bc = broken(body_double_free, 0, "dma.double_free", &m);
    assert_params(bc, 0x03, 1, P(t.a), P(t.va));
    kdpc_machine_destroy(m);
    bc = broken(body_double_free, 1, "dma.double_free", &m);
    assert_params(bc, 0x06, 1 /* lists made */, 2 /* lists put back, this one included */, P(t.sg));
    kdpc_machine_destroy(m);
    clean(body_double_free, 0);
    clean(body_double_free, 1);

    bc = broken(body_overrun, 0, "dma.buffer_overrun", &m);
    assert_params(bc, 0x0F, 0x05, P(t.va), P(t.va + 64));
    kdpc_machine_destroy(m);
    bc = broken(body_overrun, 1, "dma.buffer_overrun", &m);
    assert_int_equal(bc->params[1], 0x04);
    assert_int_equal(bc->params[2], P(t.va));
    assert_int_equal(bc->params[3], P(t.va - 1));
    kdpc_machine_destroy(m);
    bc = broken(body_overrun, 2, "dma.buffer_overrun", &m);
    assert_int_equal(bc->params[1], 0x05);
    assert_int_equal(bc->params[2], (uint64_t)t.la.QuadPart);
    assert_int_equal(bc->params[3], (uint64_t)t.la.QuadPart + 64); /* the first byte outside */
    kdpc_machine_destroy(m);
    for (int v = 0; v <= 2; v++)
        clean(body_overrun, v);
}

/* ------------------------------------------------------------------ */
/* dma.channel_flush (DMA version 3, system DMA)                        */

static UCHAR tc[DMA_TRANSFER_CONTEXT_SIZE_V1];

static void body_channel_flush(void)
{
    setup(false);
    DEVICE_DESCRIPTION dd = {0};
    dd.Version = DEVICE_DESCRIPTION_VERSION3;
    dd.InterfaceType = Isa;
    dd.DmaChannel = 3;
    dd.DmaWidth = Width8Bits;
    dd.MaximumLength = PAGE_SIZE;
    ULONG regs;
    PDMA_ADAPTER a = IoGetDmaAdapter(t.dev, &dd, &regs);
    assert_non_null(a);
    PDMA_OPERATIONS ops = a->DmaOperations;
    PVOID base = NULL;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    (void)ops->InitializeDmaTransferContext(a, tc);
    (void)ops->AllocateAdapterChannelEx(a, t.dev, tc, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL,
                                        &base);
    ULONG len = 64;
    (void)ops->MapTransferEx(a, t.mdl, base, 0, 0, &len, FALSE, NULL, 0, DvDmaDone, NULL);
    if (!t.broken) { /* the completion DPC runs when IRQL drops */
        KeLowerIrql(old);
        old = KeRaiseIrqlToDpcLevel();
    }
    (void)ops->FlushAdapterBuffersEx(a, t.mdl, base, 0, len, FALSE);
    ops->FreeAdapterObject(a, DeallocateObject);
    KeLowerIrql(old);
    ops->PutDmaAdapter(a);
    teardown();
}

/* MapTransferEx of a bus master (version 3) twice, flushed between only when fixed */
static void body_map_ex_twice(void)
{
    setup(false);
    DEVICE_DESCRIPTION dd = {0};
    dd.Version = DEVICE_DESCRIPTION_VERSION3;
    dd.Master = TRUE;
    dd.InterfaceType = PCIBus;
    dd.DmaAddressWidth = 64;
    dd.MaximumLength = PAGE_SIZE;
    ULONG regs;
    PDMA_ADAPTER a = IoGetDmaAdapter(t.dev, &dd, &regs);
    assert_non_null(a);
    PDMA_OPERATIONS ops = a->DmaOperations;
    PVOID base = NULL;
    static UCHAR sgbuf[256];
    KIRQL old = KeRaiseIrqlToDpcLevel();
    (void)ops->InitializeDmaTransferContext(a, tc);
    (void)ops->AllocateAdapterChannelEx(a, t.dev, tc, 2, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL,
                                        &base);
    for (int i = 0; i < 2; i++) {
        ULONG len = 64;
        (void)ops->MapTransferEx(a, t.mdl, base, 0, 0, &len, FALSE,
                                 (PSCATTER_GATHER_LIST)(void *)sgbuf, sizeof sgbuf, NULL, NULL);
        if (!t.broken || i == 1)
            (void)ops->FlushAdapterBuffersEx(a, t.mdl, base, 0, len, FALSE);
    }
    ops->FreeAdapterObject(a, DeallocateObject);
    KeLowerIrql(old);
    ops->PutDmaAdapter(a);
    teardown();
}

static void test_dma_map_transfer_ex_twice(void **state)
{
    (void)state;
    expect(body_map_ex_twice, 0, "dma.double_map", 0x1D, P(buf), P(buf + 64), P(buf));
    clean(body_map_ex_twice, 0);
}

static void test_dma_channel_flush(void **state)
{
    (void)state;
    expect(body_channel_flush, 0, "dma.channel_flush", 0x23, 0x00, 0, 3);
    clean(body_channel_flush, 0);
    assert_int_equal(t.done_status, DmaComplete);
}

/* ------------------------------------------------------------------ */
/* dma.adapter_not_put                                                  */

static void body_not_put(void)
{
    setup(false);
    IoFreeMdl(t.mdl);
    if (!t.broken)
        t.a->DmaOperations->PutDmaAdapter(t.a);
    IoDeleteDevice(t.dev); /* the adapter was got for it */
    t.reached_end = 1;
}

static void test_dma_adapter_not_put(void **state)
{
    (void)state;
    kdpc_machine *m;
    const kdpc_violation *bc = broken(body_not_put, 0, "dma.adapter_not_put", &m);
    assert_params(bc, 0x11, 1, P(t.a), P(t.dev));
    kdpc_machine_destroy(m);
    clean(body_not_put, 0);
}

/* ------------------------------------------------------------------ */
/* A synchronous GetScatterGatherListEx without AdapterListControl: the caller holds the adapter
 * object until FreeAdapterObject, which Microsoft's page says comes after the DMA operations are
 * done, so after PutScatterGatherList too. Variant 0: put, then free the adapter object; 1: the
 * other order. Both are clean and leave the adapter free (a synchronous AllocateAdapterChannelEx
 * gets it). Broken: FreeAdapterObject a second time is still 0xE6/0x04. */

static UCHAR sync_tc[DMA_TRANSFER_CONTEXT_SIZE_V1];
static NTSTATUS sync_status[2];

static void body_sync_list(void)
{
    setup_v3_list();
    PDMA_OPERATIONS ops = t.a->DmaOperations;
    (void)ops->InitializeDmaTransferContext(t.a, sync_tc);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    PSCATTER_GATHER_LIST sg = NULL;
    sync_status[0] =
        ops->GetScatterGatherListEx(t.a, t.dev, sync_tc, t.mdl, 0, 64, DMA_SYNCHRONOUS_CALLBACK,
                                    NULL, NULL, TRUE, NULL, NULL, &sg);
    assert_non_null(sg);
    if (t.variant == 0) {
        ops->PutScatterGatherList(t.a, sg, TRUE);
        ops->FreeAdapterObject(t.a, DeallocateObject);
    } else {
        ops->FreeAdapterObject(t.a, DeallocateObjectKeepRegisters);
        ops->PutScatterGatherList(t.a, sg, TRUE);
    }
    if (t.broken)
        ops->FreeAdapterObject(t.a, DeallocateObject);
    PVOID base = NULL;
    (void)ops->InitializeDmaTransferContext(t.a, sync_tc);
    sync_status[1] = ops->AllocateAdapterChannelEx(t.a, t.dev, sync_tc, 1, DMA_SYNCHRONOUS_CALLBACK,
                                                   NULL, NULL, &base);
    if (NT_SUCCESS(sync_status[1]))
        ops->FreeAdapterObject(t.a, DeallocateObject);
    KeLowerIrql(old);
    teardown();
}

static void test_dma_sync_list_free_adapter_object(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        clean(body_sync_list, v);
        assert_int_equal(sync_status[0], STATUS_SUCCESS);
        assert_int_equal(sync_status[1], STATUS_SUCCESS);
        kdpc_machine *m;
        const kdpc_violation *bc = broken(body_sync_list, v, "dma.double_free", &m);
        assert_int_equal(bc->params[0], 0x04);
        assert_int_equal(bc->params[2], P(t.a));
        kdpc_machine_destroy(m);
    }
}

/* DMA v3: a transfer context tracks each pending allocation, so one device may have several
 * AllocateAdapterChannelEx requests outstanding, each with its own context: the second waits for
 * the channel and is no dma.second_channel (that check is for AllocateAdapterChannel, whose wait
 * block lives in the device object). */

static UCHAR two_tc[2][DMA_TRANSFER_CONTEXT_SIZE_V1];
static int two_ran;

static IO_ALLOCATION_ACTION DvControlCount(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                           PVOID MapRegisterBase, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)MapRegisterBase;
    (void)Context;
    two_ran++;
    return KeepObject;
}

static void body_two_contexts(void)
{
    setup_v3_list();
    PDMA_OPERATIONS ops = t.a->DmaOperations;
    two_ran = 0;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (int i = 0; i < 2; i++) {
        (void)ops->InitializeDmaTransferContext(t.a, two_tc[i]);
        (void)ops->AllocateAdapterChannelEx(t.a, t.dev, two_tc[i], 1, 0, DvControlCount, NULL,
                                            NULL);
    }
    sync_status[0] = two_ran; /* the first ran, the second waits */
    ops->FreeAdapterObject(t.a, DeallocateObject);
    sync_status[1] = two_ran; /* now the second ran */
    ops->FreeAdapterObject(t.a, DeallocateObject);
    KeLowerIrql(old);
    teardown();
}

static void test_dma_v3_two_contexts_of_one_device(void **state)
{
    (void)state;
    clean(body_two_contexts, 0);
    assert_int_equal(sync_status[0], 1);
    assert_int_equal(sync_status[1], 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dma_irql),
        cmocka_unit_test(test_dma_null_released_description),
        cmocka_unit_test(test_dma_put_outstanding),
        cmocka_unit_test(test_dma_second_channel_and_too_many_map_registers),
        cmocka_unit_test(test_dma_map_transfer_buffer_checks),
        cmocka_unit_test(test_dma_flush_checks),
        cmocka_unit_test(test_dma_double_free_and_overrun),
        cmocka_unit_test(test_dma_channel_flush),
        cmocka_unit_test(test_dma_map_transfer_ex_twice),
        cmocka_unit_test(test_dma_adapter_not_put),
        cmocka_unit_test(test_dma_sync_list_free_adapter_object),
        cmocka_unit_test(test_dma_v3_two_contexts_of_one_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
