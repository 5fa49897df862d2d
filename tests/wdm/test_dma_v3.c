/* SPDX-License-Identifier: MIT */
/*
 * test_dma_v3.c - the version 2 and 3 DMA_OPERATIONS members
 * (docs/facts/dma.md; include/kdpc/wdm/dma.h): DEVICE_DESCRIPTION_VERSION3
 * and DmaAddressWidth, InitializeDmaTransferContext, AllocateAdapterChannelEx
 * (queued, synchronous with and without AdapterControl, the parameter rules),
 * CancelAdapterChannel, GetDmaTransferInfo, MapTransferEx (scatter/gather
 * output, cuts, the system DMA completion routine), FlushAdapterBuffersEx,
 * FreeAdapterObject, CancelMappedTransfer, GetScatterGatherListEx,
 * BuildScatterGatherListEx, CalculateScatterGatherList,
 * BuildScatterGatherList, BuildMdlFromScatterGatherList, GetDmaAdapterInfo,
 * ConfigureAdapterChannel, AllocateCommonBufferEx, and every INTERFACE_TYPE.
 *
 * The driver "dmav3" has two device objects. Every body runs as the run's
 * entry thread and records what it sees in d; the asserts come after the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NDEV 2

static _Alignas(4096) UCHAR dbuf[8 * PAGE_SIZE];
static UCHAR tc1[DMA_TRANSFER_CONTEXT_SIZE_V1], tc2[DMA_TRANSFER_CONTEXT_SIZE_V1];
static _Alignas(8) UCHAR sgbuf[512];

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev[NDEV];
    PDMA_ADAPTER a;
    ULONG regs;

    /* AdapterControl / AdapterListControl / DmaCompletionRoutine calls */
    int ncontrol;
    PVOID control_base;
    PVOID control_ctx;
    KIRQL control_irql;
    IO_ALLOCATION_ACTION action;
    int nlist;
    PSCATTER_GATHER_LIST list;
    PVOID list_ctx;
    KIRQL list_irql;
    int ndone;
    PDMA_ADAPTER done_adapter;
    PDEVICE_OBJECT done_dev;
    PVOID done_ctx;
    DMA_COMPLETION_STATUS done_status;
    KIRQL done_irql;
    ULONG done_saw_length;
    PULONG length_ptr;

    NTSTATUS st[24];
    ULONG val[24];
    PVOID ptr[16];
    BOOLEAN ok[16];
    LONG reached_end;
} d;

static IO_ALLOCATION_ACTION V3Control(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID MapRegisterBase,
                                      PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    d.ncontrol++;
    d.control_base = MapRegisterBase;
    d.control_ctx = Context;
    d.control_irql = KeGetCurrentIrql();
    return d.action;
}

static void V3ListControl(PDEVICE_OBJECT DeviceObject, PIRP Irp, PSCATTER_GATHER_LIST Sg,
                          PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    d.nlist++;
    d.list = Sg;
    d.list_ctx = Context;
    d.list_irql = KeGetCurrentIrql();
}

static void V3DmaDone(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PVOID CompletionContext,
                      DMA_COMPLETION_STATUS Status)
{
    d.ndone++;
    d.done_adapter = DmaAdapter;
    d.done_dev = DeviceObject;
    d.done_ctx = CompletionContext;
    d.done_status = Status;
    d.done_irql = KeGetCurrentIrql();
    d.done_saw_length = d.length_ptr != NULL ? *d.length_ptr : 0;
}

static DRIVER_STARTIO V3StartIo;
static DRIVER_DISPATCH V3Read;
static IO_COMPLETION_ROUTINE V3OwnerDone;

static NTSTATUS V3Entry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->MajorFunction[IRP_MJ_READ] = V3Read;
    Drv->DriverStartIo = V3StartIo;
    for (int i = 0; i < NDEV; i++) {
        NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d.dev[i]);
        if (!NT_SUCCESS(st))
            return st;
        IoSetStartIoAttributes(d.dev[i], TRUE, FALSE); /* V3StartIo starts the next packet */
    }
    return STATUS_SUCCESS;
}

static void V3Unload(PDRIVER_OBJECT Drv)
{
    while (Drv->DeviceObject != NULL)
        IoDeleteDevice(Drv->DeviceObject);
}

static NTSTATUS V3EntryWithUnload(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    Drv->DriverUnload = V3Unload;
    return V3Entry(Drv, Reg);
}

/* A version-@version adapter: a 64-bit bus master when @master, else system DMA. */
static PDMA_ADAPTER get_adapter(ULONG version, BOOLEAN master, ULONG max_len, PULONG regs)
{
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = version;
    dd.Master = master;
    dd.ScatterGather = master;
    dd.InterfaceType = master ? PCIBus : Isa;
    dd.DmaWidth = Width32Bits;
    dd.MaximumLength = max_len;
    dd.DmaAddressWidth = master ? 64 : 0;
    return IoGetDmaAdapter(d.dev[0], &dd, regs);
}

static PMDL mdl_at(ULONG off, ULONG len)
{
    PMDL mdl = IoAllocateMdl(dbuf + off, len, FALSE, FALSE, NULL);
    if (mdl != NULL)
        MmBuildMdlForNonPagedPool(mdl);
    return mdl;
}

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dmav3", V3EntryWithUnload, &d.drv)))
        return;
    body();
    (void)kdpc_driver_unload(d.drv);
    d.reached_end = 1;
}

static kdpc_machine *start(uint64_t seed)
{
    memset(&d, 0, sizeof d);
    memset(dbuf, 0, sizeof dbuf);
    d.action = DeallocateObjectKeepRegisters;
    kdpc_machine *m = kt_machine(2, seed);
    KDPC_NAME(m, V3Control);
    KDPC_NAME(m, V3ListControl);
    KDPC_NAME(m, V3DmaDone);
    KDPC_NAME(m, V3StartIo);
    KDPC_NAME(m, V3Read);
    KDPC_NAME(m, V3OwnerDone);
    return m;
}

/* Run @body with the DMA verification rules @off (NULL-terminated, or NULL) off: the free
 * kernel's answers to the calls that break them; it must end normally without any violation. */
static kdpc_machine *run_ok_off(BODY *body, uint64_t seed, const char *const *off)
{
    kdpc_machine *m = start(seed);
    for (size_t i = 0; off != NULL && off[i] != NULL; i++)
        assert_int_equal(kdpc_rule_set(m, off[i], KDPC_RULE_OFF), KDPC_OK);
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
/* IoGetDmaAdapter with DEVICE_DESCRIPTION_VERSION3                     */

static void body_get_v3(void)
{
    ULONG regs = 0;
    d.ptr[0] = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, 4 * PAGE_SIZE, &regs);
    d.val[0] = regs;
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION3;
    dd.Master = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = PAGE_SIZE;
    dd.DmaAddressWidth = 0; /* a bus master must give 1..64 */
    d.ptr[1] = IoGetDmaAdapter(d.dev[0], &dd, &regs);
    dd.DmaAddressWidth = 65;
    d.ptr[2] = IoGetDmaAdapter(d.dev[0], &dd, &regs);
    dd.DmaAddressWidth = 32;
    d.ptr[3] = IoGetDmaAdapter(d.dev[0], &dd, &regs);
    /* system DMA: DmaAddressWidth is not used */
    d.ptr[4] = get_adapter(DEVICE_DESCRIPTION_VERSION3, FALSE, PAGE_SIZE, &regs);
    for (int i = 0; i < 5; i++)
        if (d.ptr[i] != NULL)
            ((PDMA_ADAPTER)d.ptr[i])->DmaOperations->PutDmaAdapter(d.ptr[i]);
}

static void test_version3_adapter_and_its_address_width(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_get_v3, 1);
    PDMA_ADAPTER a = d.ptr[0];
    assert_non_null(a);
    assert_int_equal(d.val[0], 5);
    PDMA_OPERATIONS ops = a->DmaOperations;
    assert_int_equal(ops->Size, sizeof(DMA_OPERATIONS));
    assert_non_null(ops->CalculateScatterGatherList);
    assert_non_null(ops->BuildScatterGatherList);
    assert_non_null(ops->BuildMdlFromScatterGatherList);
    assert_non_null(ops->GetDmaAdapterInfo);
    assert_non_null(ops->GetDmaTransferInfo);
    assert_non_null(ops->InitializeDmaTransferContext);
    assert_non_null(ops->AllocateCommonBufferEx);
    assert_non_null(ops->AllocateAdapterChannelEx);
    assert_non_null(ops->ConfigureAdapterChannel);
    assert_non_null(ops->CancelAdapterChannel);
    assert_non_null(ops->MapTransferEx);
    assert_non_null(ops->GetScatterGatherListEx);
    assert_non_null(ops->BuildScatterGatherListEx);
    assert_non_null(ops->FlushAdapterBuffersEx);
    assert_non_null(ops->FreeAdapterObject);
    assert_non_null(ops->CancelMappedTransfer);
    assert_null(d.ptr[1]);
    assert_null(d.ptr[2]);
    assert_non_null(d.ptr[3]);
    assert_non_null(d.ptr[4]);
    kdpc_machine_destroy(m);
}

/* The layout drivers compile against: members in wdm.h's order (x64 offsets). */
static void test_device_description_and_dma_operations_layout(void **state)
{
    (void)state;
    assert_int_equal(DEVICE_DESCRIPTION_VERSION3, 3);
    assert_int_equal(offsetof(DEVICE_DESCRIPTION, BusNumber), 12);
    assert_int_equal(offsetof(DEVICE_DESCRIPTION, DmaPort), 36);
    assert_int_equal(offsetof(DEVICE_DESCRIPTION, DmaAddressWidth), 40);
    assert_int_equal(offsetof(DEVICE_DESCRIPTION, DmaControllerInstance), 44);
    assert_int_equal(offsetof(DEVICE_DESCRIPTION, DmaRequestLine), 48);
    assert_int_equal(offsetof(DEVICE_DESCRIPTION, DeviceAddress), 56);
    assert_int_equal(sizeof(DEVICE_DESCRIPTION), 64);
    if (sizeof(void *) == 8) {
        assert_int_equal(offsetof(DMA_OPERATIONS, PutScatterGatherList), 0x60);
        assert_int_equal(offsetof(DMA_OPERATIONS, CalculateScatterGatherList), 0x68);
        assert_int_equal(offsetof(DMA_OPERATIONS, GetDmaAdapterInfo), 0x80);
        assert_int_equal(offsetof(DMA_OPERATIONS, AllocateAdapterChannelEx), 0xA0);
        assert_int_equal(offsetof(DMA_OPERATIONS, MapTransferEx), 0xB8);
        assert_int_equal(offsetof(DMA_OPERATIONS, FreeAdapterObject), 0xD8);
        assert_int_equal(sizeof(DMA_OPERATIONS), 0xE8);
    }
    assert_int_equal(DMA_SYNCHRONOUS_CALLBACK, 1);
    assert_int_equal(DMA_TRANSFER_CONTEXT_SIZE_V1, 128);
    assert_int_equal(DmaComplete, 0);
    assert_int_equal(DmaAborted, 1);
    assert_int_equal(DmaError, 2);
    assert_int_equal(DmaCancelled, 3);
}

static void test_every_interface_type_value(void **state)
{
    (void)state;
    static const struct {
        INTERFACE_TYPE t;
        int v;
    } want[] = {
        {InterfaceTypeUndefined, -1},
        {Internal, 0},
        {Isa, 1},
        {Eisa, 2},
        {MicroChannel, 3},
        {TurboChannel, 4},
        {PCIBus, 5},
        {VMEBus, 6},
        {NuBus, 7},
        {PCMCIABus, 8},
        {CBus, 9},
        {MPIBus, 10},
        {MPSABus, 11},
        {ProcessorInternal, 12},
        {InternalPowerBus, 13},
        {PNPISABus, 14},
        {PNPBus, 15},
        {Vmcs, 16},
        {ACPIBus, 17},
        {MaximumInterfaceType, 18},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal((int)want[i].t, want[i].v);
}

/* ------------------------------------------------------------------ */
/* AllocateAdapterChannelEx, CancelAdapterChannel                       */

static NTSTATUS alloc_ex(int dev, PVOID tc, ULONG n, ULONG flags, PDRIVER_CONTROL routine,
                         PVOID ctx, PVOID *base)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    NTSTATUS st = d.a->DmaOperations->AllocateAdapterChannelEx(d.a, d.dev[dev], tc, n, flags,
                                                               routine, ctx, base);
    KeLowerIrql(old);
    return st;
}

static void body_alloc_queue_cancel(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, 2 * PAGE_SIZE, &d.regs); /* 3 */
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    d.st[0] = ops->InitializeDmaTransferContext(d.a, tc1);
    d.st[1] = ops->InitializeDmaTransferContext(d.a, tc2);
    d.st[2] = ops->InitializeDmaTransferContext(d.a, NULL);
    d.action = KeepObject;
    /* free adapter: AdapterControl runs inside the call, at DISPATCH_LEVEL */
    d.st[3] = alloc_ex(0, tc1, 2, 0, V3Control, (PVOID)0x11, NULL);
    d.val[0] = (ULONG)d.ncontrol;
    PVOID base = d.control_base;
    /* busy: queued */
    d.st[4] = alloc_ex(1, tc2, 1, 0, V3Control, (PVOID)0x22, NULL);
    d.val[1] = (ULONG)d.ncontrol;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    d.ok[0] = ops->CancelAdapterChannel(d.a, d.dev[0], tc1); /* already granted: FALSE */
    d.ok[1] = ops->CancelAdapterChannel(d.a, d.dev[1], tc2); /* pending: TRUE */
    ops->FreeAdapterChannel(d.a);
    KeLowerIrql(old);
    d.val[2] = (ULONG)d.ncontrol; /* the cancelled request never ran */
    d.ptr[0] = base;
    /* a cancelled context cancels the request made with it later */
    d.st[5] = alloc_ex(1, tc2, 1, 0, V3Control, NULL, NULL);
    d.val[3] = (ULONG)d.ncontrol;
    /* CancelAdapterChannel before any request: TRUE, and that request is cancelled */
    d.st[6] = ops->InitializeDmaTransferContext(d.a, tc1);
    d.ok[2] = ops->CancelAdapterChannel(d.a, d.dev[0], tc1);
    d.st[7] = alloc_ex(0, tc1, 1, 0, V3Control, NULL, NULL);
    d.val[4] = (ULONG)d.ncontrol;
    /* a context kdpc never initialised */
    UCHAR other[DMA_TRANSFER_CONTEXT_SIZE_V1];
    d.ok[3] = ops->CancelAdapterChannel(d.a, d.dev[0], other);
    ops->PutDmaAdapter(d.a);
}

static void test_allocate_adapter_channel_ex_queues_and_cancel_adapter_channel(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_alloc_queue_cancel, 2);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.st[2], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[3], STATUS_SUCCESS);
    assert_int_equal(d.val[0], 1);
    assert_int_equal(d.control_irql, DISPATCH_LEVEL);
    assert_non_null(d.ptr[0]);
    assert_int_equal(d.st[4], STATUS_SUCCESS); /* queued: still STATUS_SUCCESS */
    assert_int_equal(d.val[1], 1);
    assert_false(d.ok[0]);
    assert_true(d.ok[1]);
    assert_int_equal(d.val[2], 1);
    assert_int_equal(d.st[5], STATUS_CANCELLED);
    assert_int_equal(d.val[3], 1);
    assert_int_equal(d.st[6], STATUS_SUCCESS);
    assert_true(d.ok[2]);
    assert_int_equal(d.st[7], STATUS_CANCELLED);
    assert_int_equal(d.val[4], 1);
    assert_false(d.ok[3]);
    kdpc_machine_destroy(m);
}

/* a queued request runs inside the call that frees the adapter object */
static void body_queued_runs_on_free(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, PAGE_SIZE, &d.regs); /* 2 */
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    (void)ops->InitializeDmaTransferContext(d.a, tc2);
    PVOID base = NULL;
    d.st[0] = alloc_ex(0, tc1, 2, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base);
    d.action = KeepObject;
    d.st[1] = alloc_ex(1, tc2, 2, 0, V3Control, (PVOID)0x77, NULL);
    d.val[0] = (ULONG)d.ncontrol; /* waiting */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ops->FreeAdapterObject(d.a, DeallocateObject);
    d.val[1] = (ULONG)d.ncontrol; /* ran inside FreeAdapterObject */
    d.ok[0] = ops->CancelAdapterChannel(d.a, d.dev[1], tc2);
    ops->FreeAdapterChannel(d.a); /* KeepObject: the channel is freed as in version 1 */
    KeLowerIrql(old);
    ops->PutDmaAdapter(d.a);
}

static void test_queued_request_runs_when_the_adapter_object_is_freed(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_queued_runs_on_free, 13);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.val[0], 0);
    assert_int_equal(d.val[1], 1);
    assert_ptr_equal(d.control_ctx, (PVOID)0x77);
    assert_int_equal(d.control_irql, DISPATCH_LEVEL);
    assert_false(d.ok[0]); /* already granted */
    kdpc_machine_destroy(m);
}

static void body_alloc_params(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, PAGE_SIZE, &d.regs); /* 2 */
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    PVOID base = NULL;
    /* V3 routines need a transfer context */
    d.st[0] = alloc_ex(0, NULL, 1, 0, V3Control, NULL, NULL);
    /* AdapterControl and MapRegisterBase together */
    d.st[1] = alloc_ex(0, tc1, 1, DMA_SYNCHRONOUS_CALLBACK, V3Control, NULL, &base);
    /* MapRegisterBase without DMA_SYNCHRONOUS_CALLBACK */
    d.st[2] = alloc_ex(0, tc1, 1, 0, NULL, NULL, &base);
    /* neither */
    d.st[3] = alloc_ex(0, tc1, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, NULL);
    /* an unknown flag */
    d.st[4] = alloc_ex(0, tc1, 1, 0x80, V3Control, NULL, NULL);
    /* more registers than the adapter has */
    d.st[5] = alloc_ex(0, tc1, d.regs + 1, 0, V3Control, NULL, NULL);
    d.val[0] = (ULONG)d.ncontrol;
    /* a version 1 adapter has no version 3 members */
    PDMA_ADAPTER v1 = get_adapter(DEVICE_DESCRIPTION_VERSION, TRUE, PAGE_SIZE, NULL);
    if (v1 != NULL) {
        d.st[6] = v1->DmaOperations->InitializeDmaTransferContext(v1, tc2);
        d.st[7] = v1->DmaOperations->AllocateAdapterChannelEx(v1, d.dev[0], tc2, 1, 0, V3Control,
                                                              NULL, NULL);
        ULONG size = 0;
        d.st[8] = v1->DmaOperations->CalculateScatterGatherList(v1, NULL, dbuf, 10, &size, NULL);
        v1->DmaOperations->PutDmaAdapter(v1);
    }
    ops->PutDmaAdapter(d.a);
}

static void test_allocate_adapter_channel_ex_parameter_rules(void **state)
{
    (void)state;
    static const char *const off[] = {"dma.too_many_map_registers", NULL};
    kdpc_machine *m = run_ok_off(body_alloc_params, 3, off);
    assert_int_equal(d.st[0], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[1], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[2], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[3], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[4], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[5], STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(d.val[0], 0);
    assert_int_equal(d.st[6], STATUS_NOT_SUPPORTED);
    assert_int_equal(d.st[7], STATUS_NOT_SUPPORTED);
    assert_int_equal(d.st[8], STATUS_NOT_SUPPORTED);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* synchronous allocation, MapTransferEx, FlushAdapterBuffersEx, FreeAdapterObject */

#define X_OFF1 0x100u
#define X_LEN1 (PAGE_SIZE + 0x100u) /* first MDL: spans 2 pages */
#define X_OFF2 (4 * PAGE_SIZE)
#define X_LEN2 0x800u /* second MDL: 1 page */

static void body_sync_map(void)
{
    kdpc_machine *m = kdpc_current_machine();
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, 3 * PAGE_SIZE, &d.regs); /* 4 */
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL m1 = mdl_at(X_OFF1, X_LEN1);
    PMDL m2 = mdl_at(X_OFF2, X_LEN2);
    if (m1 == NULL || m2 == NULL)
        return;
    m1->Next = m2;
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    (void)ops->InitializeDmaTransferContext(d.a, tc2);
    /* the whole chain, and from an offset into the first MDL */
    DMA_TRANSFER_INFO ti;
    memset(&ti, 0, sizeof ti);
    ti.Version = DMA_TRANSFER_INFO_VERSION1;
    d.st[0] = ops->GetDmaTransferInfo(d.a, m1, 0, X_LEN1 + X_LEN2, TRUE, &ti);
    d.val[0] = ti.V1.MapRegisterCount;
    d.val[1] = ti.V1.ScatterGatherElementCount;
    d.val[2] = ti.V1.ScatterGatherListSize;
    d.st[1] = ops->GetDmaTransferInfo(d.a, m1, PAGE_SIZE, X_LEN1 - PAGE_SIZE + 0x10, TRUE, &ti);
    d.val[3] = ti.V1.MapRegisterCount;
    d.val[4] = ti.V1.ScatterGatherElementCount;
    d.st[2] = ops->GetDmaTransferInfo(d.a, m1, 0, 0, TRUE, &ti); /* Length 0 */
    d.st[3] = ops->GetDmaTransferInfo(d.a, m1, 0, X_LEN1 + X_LEN2 + 1, TRUE, &ti);
    ti.Version = 7;
    d.st[4] = ops->GetDmaTransferInfo(d.a, m1, 0, 10, TRUE, &ti);

    /* synchronous, no AdapterControl: the caller gets the MapRegisterBase */
    PVOID base = NULL;
    d.st[5] = alloc_ex(0, tc1, 4, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base);
    d.ptr[0] = base;
    /* the adapter is held: a second synchronous request fails at once */
    PVOID base2 = NULL;
    d.st[6] = alloc_ex(1, tc2, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base2);
    d.ptr[1] = base2;

    KIRQL old = KeRaiseIrqlToDpcLevel();
    PSCATTER_GATHER_LIST sg = (PSCATTER_GATHER_LIST)(void *)sgbuf;
    ULONG len = X_LEN1 + X_LEN2;
    d.st[7] = ops->MapTransferEx(d.a, m1, base, 0, 0, &len, TRUE, sg, sizeof sgbuf, NULL, NULL);
    d.val[5] = len;
    d.val[6] = sg->NumberOfElements;
    d.ok[0] = sg->Elements[0].Length == X_LEN1 && sg->Elements[1].Length == X_LEN2;
    d.ok[1] = (uintptr_t)sg->Elements[0].Address.QuadPart == (uintptr_t)(dbuf + X_OFF1) &&
              (uintptr_t)sg->Elements[1].Address.QuadPart == (uintptr_t)(dbuf + X_OFF2);
    /* the device reaches each element while mapped */
    PUCHAR h1 = kdpc_dma_host_address(m, (uint64_t)sg->Elements[0].Address.QuadPart, X_LEN1);
    PUCHAR h2 = kdpc_dma_host_address(m, (uint64_t)sg->Elements[1].Address.QuadPart, X_LEN2);
    d.ok[2] = h1 == dbuf + X_OFF1 && h2 == dbuf + X_OFF2;
    if (h1 != NULL && h2 != NULL) {
        memset(h1, 0x11, X_LEN1);
        memset(h2, 0x22, X_LEN2);
    }
    uint64_t la0 = (uint64_t)sg->Elements[0].Address.QuadPart;
    d.st[8] = ops->FlushAdapterBuffersEx(d.a, m1, base, 0, X_LEN1 + X_LEN2, TRUE);
    d.ok[3] = kdpc_dma_host_address(m, la0, X_LEN1) == NULL; /* flushed: unreachable */
    d.st[9] = ops->FlushAdapterBuffersEx(d.a, m1, base, 0, X_LEN1 + X_LEN2, TRUE); /* again */

    /* a list buffer with room for one element: *Length is cut to what it describes */
    len = X_LEN1 + X_LEN2;
    d.st[10] = ops->MapTransferEx(d.a, m1, base, 0, 0, &len, TRUE, sg, sizeof(SCATTER_GATHER_LIST),
                                  NULL, NULL);
    d.val[7] = len;
    d.val[8] = sg->NumberOfElements;
    d.st[11] = ops->FlushAdapterBuffersEx(d.a, m1, base, 0, len, TRUE);
    /* too small for even one element; a bus master without a list; with a completion routine */
    len = 16;
    d.st[12] = ops->MapTransferEx(d.a, m1, base, 0, 0, &len, TRUE, sg, 8, NULL, NULL);
    d.st[13] = ops->MapTransferEx(d.a, m1, base, 0, 0, &len, TRUE, NULL, 0, NULL, NULL);
    d.st[14] =
        ops->MapTransferEx(d.a, m1, base, 0, 0, &len, TRUE, sg, sizeof sgbuf, V3DmaDone, NULL);
    /* past the end of the chain */
    len = X_LEN2 + 1;
    d.st[15] =
        ops->MapTransferEx(d.a, m1, base, X_LEN1, 0, &len, TRUE, sg, sizeof sgbuf, NULL, NULL);
    /* a MapRegisterBase that is not one */
    len = 16;
    d.st[16] = ops->MapTransferEx(d.a, m1, &len, 0, 0, &len, TRUE, sg, sizeof sgbuf, NULL, NULL);
    KeLowerIrql(old);
    ops->FreeAdapterObject(d.a, KeepObject); /* no effect */
    d.st[17] = alloc_ex(1, tc2, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base2);
    ops->FreeAdapterObject(d.a, DeallocateObject); /* channel and registers */
    /* free again: the next synchronous request succeeds */
    (void)ops->InitializeDmaTransferContext(d.a, tc2);
    base2 = NULL;
    d.st[18] = alloc_ex(1, tc2, 4, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base2);
    d.ptr[2] = base2;
    ops->FreeAdapterObject(d.a, DeallocateObjectKeepRegisters); /* the channel only */
    old = KeRaiseIrqlToDpcLevel();
    ops->FreeMapRegisters(d.a, base2, 4);
    KeLowerIrql(old);
    IoFreeMdl(m2);
    IoFreeMdl(m1);
    ops->PutDmaAdapter(d.a);
}

static void test_synchronous_allocation_map_transfer_ex_flush_and_free_adapter_object(void **state)
{
    (void)state;
    /* the second flush; a transfer past the end of the chain */
    static const char *const off[] = {"dma.flush_unmapped", "dma.outside_mdl", NULL};
    kdpc_machine *m = run_ok_off(body_sync_map, 4, off);
    assert_int_equal(d.regs, 4);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.val[0], 3); /* 2 pages + 1 page */
    assert_int_equal(d.val[1], 2); /* one element per MDL */
    assert_int_equal(d.val[2],
                     offsetof(SCATTER_GATHER_LIST, Elements) + 2 * sizeof(SCATTER_GATHER_ELEMENT));
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.val[3], 2); /* the rest of MDL 1 (1 page) and 0x10 bytes of MDL 2 */
    assert_int_equal(d.val[4], 2);
    assert_int_equal(d.st[2], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[3], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[4], STATUS_NOT_SUPPORTED);
    assert_int_equal(d.st[5], STATUS_SUCCESS);
    assert_non_null(d.ptr[0]);
    assert_int_equal(d.st[6], STATUS_INSUFFICIENT_RESOURCES);
    assert_null(d.ptr[1]);
    assert_int_equal(d.st[7], STATUS_SUCCESS);
    assert_int_equal(d.val[5], X_LEN1 + X_LEN2);
    assert_int_equal(d.val[6], 2);
    assert_true(d.ok[0]);
    assert_true(d.ok[1]);
    assert_true(d.ok[2]);
    assert_int_equal(dbuf[X_OFF1], 0x11);
    assert_int_equal(dbuf[X_OFF2 + X_LEN2 - 1], 0x22);
    assert_int_equal(dbuf[X_OFF2 + X_LEN2], 0);
    assert_int_equal(d.st[8], STATUS_SUCCESS);
    assert_true(d.ok[3]);
    assert_int_equal(d.st[9], STATUS_INVALID_PARAMETER); /* nothing mapped there any more */
    assert_int_equal(d.st[10], STATUS_SUCCESS);
    assert_int_equal(d.val[7], X_LEN1);
    assert_int_equal(d.val[8], 1);
    assert_int_equal(d.st[11], STATUS_SUCCESS);
    assert_int_equal(d.st[12], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[13], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[14], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[15], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[16], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[17], STATUS_INSUFFICIENT_RESOURCES); /* KeepObject freed nothing */
    assert_int_equal(d.st[18], STATUS_SUCCESS);
    assert_non_null(d.ptr[2]);
    kdpc_machine_destroy(m);
}

/* MapTransferEx cuts *Length to the map registers granted */
static void body_map_cut(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, 3 * PAGE_SIZE, &d.regs); /* 4 */
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL mdl = mdl_at(0x100, 5 * PAGE_SIZE); /* spans 6 pages */
    if (mdl == NULL)
        return;
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    PVOID base = NULL;
    d.st[0] = alloc_ex(0, tc1, 2, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base);
    ULONG len = 5 * PAGE_SIZE;
    PSCATTER_GATHER_LIST sg = (PSCATTER_GATHER_LIST)(void *)sgbuf;
    d.st[1] = ops->MapTransferEx(d.a, mdl, base, 0, 0, &len, FALSE, sg, sizeof sgbuf, NULL, NULL);
    d.val[0] = len;
    d.st[2] = ops->FlushAdapterBuffersEx(d.a, mdl, base, 0, len, FALSE);
    /* the next piece, from where the first stopped */
    ULONGLONG next = len;
    len = 5 * PAGE_SIZE - (ULONG)next;
    d.st[3] =
        ops->MapTransferEx(d.a, mdl, base, next, 0, &len, FALSE, sg, sizeof sgbuf, NULL, NULL);
    d.val[1] = len;
    d.st[4] = ops->FlushAdapterBuffersEx(d.a, mdl, base, next, len, FALSE);
    ops->FreeAdapterObject(d.a, DeallocateObject);
    IoFreeMdl(mdl);
    ops->PutDmaAdapter(d.a);
}

static void test_map_transfer_ex_cuts_length_to_the_map_registers(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_map_cut, 5);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.val[0], 2 * PAGE_SIZE - 0x100); /* 2 registers from offset 0x100 */
    assert_int_equal(d.st[2], STATUS_SUCCESS);
    assert_int_equal(d.st[3], STATUS_SUCCESS);
    assert_int_equal(d.val[1], 2 * PAGE_SIZE); /* page-aligned now: 2 full pages */
    assert_int_equal(d.st[4], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* system DMA: the completion routine, CancelMappedTransfer             */

static void body_system_dma(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, FALSE, 2 * PAGE_SIZE, &d.regs);
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL mdl = mdl_at(0, 2 * PAGE_SIZE);
    if (mdl == NULL)
        return;
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    d.action = KeepObject; /* system DMA keeps the channel */
    d.st[0] = alloc_ex(1, tc1, 2, 0, V3Control, (PVOID)0x33, NULL);
    PVOID base = d.control_base;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    /* no list buffer: kdpc's default list holds one element */
    ULONG len = 2 * PAGE_SIZE;
    d.length_ptr = &len;
    d.st[1] =
        ops->MapTransferEx(d.a, mdl, base, 0, 0, &len, FALSE, NULL, 0, V3DmaDone, (PVOID)0x44);
    d.val[0] = len;
    d.val[1] = (ULONG)d.ndone; /* the completion interrupt's DPC waits for IRQL to drop */
    KeLowerIrql(old);
    d.val[2] = (ULONG)d.ndone;
    d.ok[0] = d.done_status == DmaComplete;
    d.ok[1] = d.done_irql == DISPATCH_LEVEL;
    d.ok[2] = d.done_saw_length == 2 * PAGE_SIZE; /* *Length is written first */
    d.ok[3] = d.done_ctx == (PVOID)0x44 && d.done_dev == d.dev[1] && d.done_adapter == d.a;
    old = KeRaiseIrqlToDpcLevel();
    d.st[2] = ops->FlushAdapterBuffersEx(d.a, mdl, base, 0, len, FALSE);
    /* flushed before the transfer ended: it ends cancelled */
    len = PAGE_SIZE;
    d.st[3] = ops->MapTransferEx(d.a, mdl, base, 0, 0, &len, FALSE, NULL, 0, V3DmaDone, NULL);
    d.st[4] = ops->FlushAdapterBuffersEx(d.a, mdl, base, 0, len, FALSE);
    KeLowerIrql(old);
    d.val[3] = (ULONG)d.ndone;
    d.ok[4] = d.done_status == DmaCancelled;
    /* CancelMappedTransfer: the pending completion says DmaCancelled, no further transfer */
    old = KeRaiseIrqlToDpcLevel();
    len = PAGE_SIZE;
    d.st[5] = ops->MapTransferEx(d.a, mdl, base, 0, 0, &len, FALSE, NULL, 0, V3DmaDone, NULL);
    d.st[6] = ops->CancelMappedTransfer(d.a, tc1);
    KeLowerIrql(old);
    d.val[4] = (ULONG)d.ndone;
    d.ok[5] = d.done_status == DmaCancelled;
    old = KeRaiseIrqlToDpcLevel();
    d.st[7] = ops->FlushAdapterBuffersEx(d.a, mdl, base, 0, len, FALSE); /* still due */
    len = PAGE_SIZE;
    d.st[8] = ops->MapTransferEx(d.a, mdl, base, 0, 0, &len, FALSE, NULL, 0, V3DmaDone, NULL);
    d.st[9] = ops->CancelMappedTransfer(d.a, tc2); /* never initialised */
    /* ConfigureAdapterChannel: kdpc's controller has no custom functions */
    d.st[10] = ops->ConfigureAdapterChannel(d.a, 1, NULL);
    /* GetScatterGatherListEx is for bus masters only */
    (void)ops->InitializeDmaTransferContext(d.a, tc2);
    d.st[11] = ops->GetScatterGatherListEx(d.a, d.dev[0], tc2, mdl, 0, 16, 0, V3ListControl, NULL,
                                           TRUE, NULL, NULL, NULL);
    ops->FreeAdapterChannel(d.a);
    KeLowerIrql(old);
    d.val[5] = (ULONG)d.ndone;
    d.length_ptr = NULL;
    IoFreeMdl(mdl);
    ops->PutDmaAdapter(d.a);
}

static void test_system_dma_completion_routine_and_cancel_mapped_transfer(void **state)
{
    (void)state;
    /* flushed before the transfer ended; flushed again */
    static const char *const off[] = {"dma.channel_flush", "dma.flush_unmapped", NULL};
    kdpc_machine *m = run_ok_off(body_system_dma, 6, off);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.control_ctx, (PVOID)0x33);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.val[0], 2 * PAGE_SIZE); /* one element: the MDL is one host-contiguous run */
    assert_int_equal(d.val[1], 0);
    assert_int_equal(d.val[2], 1);
    assert_true(d.ok[0]);
    assert_true(d.ok[1]);
    assert_true(d.ok[2]);
    assert_true(d.ok[3]);
    assert_int_equal(d.st[2], STATUS_SUCCESS);
    assert_int_equal(d.st[3], STATUS_SUCCESS);
    assert_int_equal(d.st[4], STATUS_SUCCESS);
    assert_int_equal(d.val[3], 2);
    assert_true(d.ok[4]);
    assert_int_equal(d.st[5], STATUS_SUCCESS);
    assert_int_equal(d.st[6], STATUS_SUCCESS);
    assert_int_equal(d.val[4], 3);
    assert_true(d.ok[5]);
    assert_int_equal(d.st[7], STATUS_SUCCESS);
    assert_int_equal(d.st[8], STATUS_CANCELLED);
    assert_int_equal(d.st[9], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[10], STATUS_NOT_IMPLEMENTED);
    assert_int_equal(d.st[11], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.val[5], 3); /* nothing more completed */
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* GetScatterGatherListEx, BuildScatterGatherListEx                     */

static void body_sg_ex(void)
{
    kdpc_machine *m = kdpc_current_machine();
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, 3 * PAGE_SIZE, &d.regs); /* 4 */
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL m1 = mdl_at(X_OFF1, X_LEN1);
    PMDL m2 = mdl_at(X_OFF2, X_LEN2);
    if (m1 == NULL || m2 == NULL)
        return;
    m1->Next = m2;
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    (void)ops->InitializeDmaTransferContext(d.a, tc2);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    /* asynchronous with AdapterListControl: called inside (the adapter is free) */
    d.st[0] = ops->GetScatterGatherListEx(d.a, d.dev[0], tc1, m1, 0, X_LEN1 + X_LEN2, 0,
                                          V3ListControl, (PVOID)0x55, TRUE, NULL, NULL, NULL);
    d.val[0] = (ULONG)d.nlist;
    PSCATTER_GATHER_LIST sg = d.list;
    d.val[1] = sg != NULL ? sg->NumberOfElements : 0;
    d.ok[0] = sg != NULL && kdpc_dma_host_address(m, (uint64_t)sg->Elements[1].Address.QuadPart,
                                                  X_LEN2) == dbuf + X_OFF2;
    /* the adapter is free again; the list keeps its 3 registers: 1 left */
    PVOID base = NULL;
    d.st[1] = alloc_ex(1, tc2, 2, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base);
    uint64_t la1 = sg != NULL ? (uint64_t)sg->Elements[1].Address.QuadPart : 0;
    if (sg != NULL)
        ops->PutScatterGatherList(d.a, sg, TRUE); /* frees the list kdpc allocated */
    d.ok[1] = sg == NULL || kdpc_dma_host_address(m, la1, X_LEN2) == NULL;
    (void)ops->InitializeDmaTransferContext(d.a, tc2);
    d.st[2] = alloc_ex(1, tc2, 2, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base);
    ops->FreeAdapterObject(d.a, DeallocateObject);

    /* synchronous, no AdapterListControl: the list comes back in *ScatterGatherList */
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    PSCATTER_GATHER_LIST out = NULL;
    d.st[3] =
        ops->GetScatterGatherListEx(d.a, d.dev[0], tc1, m1, X_LEN1 - 0x10, 0x20,
                                    DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, TRUE, NULL, NULL, &out);
    d.val[2] = out != NULL ? out->NumberOfElements : 0;
    d.ok[2] = out != NULL && out->Elements[0].Length == 0x10 && out->Elements[1].Length == 0x10;
    ops->FreeAdapterObject(d.a, DeallocateObjectKeepRegisters);
    if (out != NULL)
        ops->PutScatterGatherList(d.a, out, TRUE);
    /* neither AdapterListControl nor a list pointer; asynchronous without a routine */
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    d.st[4] = ops->GetScatterGatherListEx(d.a, d.dev[0], tc1, m1, 0, 16, DMA_SYNCHRONOUS_CALLBACK,
                                          NULL, NULL, TRUE, NULL, NULL, NULL);
    d.st[5] = ops->GetScatterGatherListEx(d.a, d.dev[0], tc1, m1, 0, 16, 0, NULL, NULL, TRUE, NULL,
                                          NULL, &out);

    /* BuildScatterGatherListEx: the driver's buffer */
    out = NULL;
    d.st[6] = ops->BuildScatterGatherListEx(d.a, d.dev[0], tc1, m1, 0, X_LEN1 + X_LEN2,
                                            DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, TRUE, sgbuf,
                                            sizeof(SCATTER_GATHER_LIST), NULL, NULL, &out);
    d.st[7] = ops->BuildScatterGatherListEx(d.a, d.dev[0], tc1, m1, 0, X_LEN1 + X_LEN2,
                                            DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, TRUE, sgbuf,
                                            sizeof sgbuf, NULL, NULL, &out);
    d.ok[3] = out == (PSCATTER_GATHER_LIST)(void *)sgbuf;
    d.val[3] = out != NULL ? out->NumberOfElements : 0;
    ops->FreeAdapterObject(d.a, DeallocateObjectKeepRegisters);
    if (out != NULL)
        ops->PutScatterGatherList(d.a, out, TRUE); /* the buffer stays the driver's */
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    d.st[8] = ops->BuildScatterGatherListEx(d.a, d.dev[0], tc1, m1, 0, 16, 0, V3ListControl, NULL,
                                            TRUE, NULL, 0, NULL, NULL, NULL);
    KeLowerIrql(old);
    IoFreeMdl(m2);
    IoFreeMdl(m1);
    ops->PutDmaAdapter(d.a);
}

static void test_get_and_build_scatter_gather_list_ex(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_sg_ex, 7);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.val[0], 1);
    assert_int_equal(d.list_ctx, (PVOID)0x55);
    assert_int_equal(d.list_irql, DISPATCH_LEVEL);
    assert_int_equal(d.val[1], 2);
    assert_true(d.ok[0]);
    assert_int_equal(d.st[1], STATUS_INSUFFICIENT_RESOURCES); /* 3 of 4 registers in the list */
    assert_true(d.ok[1]);
    assert_int_equal(d.st[2], STATUS_SUCCESS);
    assert_int_equal(d.st[3], STATUS_SUCCESS);
    assert_int_equal(d.val[2], 2);
    assert_true(d.ok[2]);
    assert_int_equal(d.st[4], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[5], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[6], STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(d.st[7], STATUS_SUCCESS);
    assert_true(d.ok[3]);
    assert_int_equal(d.val[3], 2);
    assert_int_equal(d.st[8], STATUS_INVALID_PARAMETER); /* no buffer */
    assert_int_equal(d.nlist, 1);
    kdpc_machine_destroy(m);
}

/* scatter/gather requests wait for a busy adapter too, and can be cancelled while they wait; a
 * queued request never writes the caller's list pointer (the list goes to AdapterListControl) */
static PSCATTER_GATHER_LIST queued_out = (PSCATTER_GATHER_LIST)(ULONG_PTR)0x5A5A;
static void body_sg_queued(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, 3 * PAGE_SIZE, &d.regs); /* 4 */
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL mdl = mdl_at(0x100, 0x200);
    static UCHAR tc3[DMA_TRANSFER_CONTEXT_SIZE_V1];
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    (void)ops->InitializeDmaTransferContext(d.a, tc2);
    (void)ops->InitializeDmaTransferContext(d.a, tc3);
    PVOID base = NULL;
    d.st[0] = alloc_ex(0, tc1, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base); /* busy now */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    d.st[1] = ops->GetScatterGatherListEx(d.a, d.dev[0], tc2, mdl, 0, 0x200, 0, V3ListControl,
                                          (PVOID)0x88, TRUE, NULL, NULL, &queued_out);
    d.st[2] =
        ops->BuildScatterGatherListEx(d.a, d.dev[1], tc3, mdl, 0, 0x200, 0, V3ListControl,
                                      (PVOID)0x99, TRUE, sgbuf, sizeof sgbuf, NULL, NULL, NULL);
    d.val[0] = (ULONG)d.nlist;                               /* both wait */
    d.ok[0] = ops->CancelAdapterChannel(d.a, d.dev[1], tc3); /* the second one: cancelled */
    ops->FreeAdapterObject(d.a, DeallocateObject);
    d.val[1] = (ULONG)d.nlist; /* the first ran inside FreeAdapterObject */
    PSCATTER_GATHER_LIST sg = d.list;
    d.val[2] = sg != NULL ? sg->Elements[0].Length : 0;
    d.ok[1] = ops->CancelAdapterChannel(d.a, d.dev[0], tc2); /* too late */
    if (sg != NULL)
        ops->PutScatterGatherList(d.a, sg, TRUE);
    KeLowerIrql(old);
    d.val[3] = (ULONG)d.nlist;
    IoFreeMdl(mdl);
    ops->PutDmaAdapter(d.a);
}

static void test_scatter_gather_ex_requests_queue_and_cancel(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_sg_queued, 15);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.st[2], STATUS_SUCCESS);
    assert_int_equal(d.val[0], 0);
    assert_true(d.ok[0]);
    assert_int_equal(d.val[1], 1);
    assert_ptr_equal(d.list_ctx, (PVOID)0x88);
    assert_int_equal(d.list_irql, DISPATCH_LEVEL);
    assert_int_equal(d.val[2], 0x200);
    assert_false(d.ok[1]);
    assert_int_equal(d.val[3], 1); /* the cancelled one never ran */
    assert_ptr_equal(queued_out, (PSCATTER_GATHER_LIST)(ULONG_PTR)0x5A5A);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* version 2: CalculateScatterGatherList, BuildScatterGatherList,       */
/* BuildMdlFromScatterGatherList                                        */

static void body_v2(void)
{
    kdpc_machine *m = kdpc_current_machine();
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION2, TRUE, PAGE_SIZE, &d.regs); /* 2 */
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL mdl = mdl_at(0x200, PAGE_SIZE + 0x300); /* spans 2 pages */
    PMDL big = mdl_at(0x200, 2 * PAGE_SIZE);     /* spans 3 */
    if (mdl == NULL || big == NULL)
        return;
    PVOID va = MmGetMdlVirtualAddress(mdl);
    ULONG size = 0, regs = 0;
    d.st[0] = ops->CalculateScatterGatherList(d.a, NULL, va, PAGE_SIZE + 0x300, &size, &regs);
    d.val[0] = size;
    d.val[1] = regs;
    d.st[1] = ops->CalculateScatterGatherList(d.a, mdl, va, PAGE_SIZE + 0x300, &size, &regs);
    d.val[2] = size;
    d.val[3] = regs;
    d.st[2] = ops->CalculateScatterGatherList(d.a, mdl, va, PAGE_SIZE + 0x301, &size, NULL);
    d.st[3] = ops->CalculateScatterGatherList(d.a, big, MmGetMdlVirtualAddress(big), 2 * PAGE_SIZE,
                                              &size, NULL);
    d.st[4] = ops->CalculateScatterGatherList(d.a, mdl, va, 16, NULL, NULL);

    KIRQL old = KeRaiseIrqlToDpcLevel();
    d.st[5] = ops->BuildScatterGatherList(d.a, d.dev[0], mdl, va, PAGE_SIZE + 0x300, V3ListControl,
                                          (PVOID)0x66, TRUE, sgbuf, 8);
    d.val[4] = (ULONG)d.nlist;
    d.st[6] = ops->BuildScatterGatherList(d.a, d.dev[0], mdl, va, PAGE_SIZE + 0x300, V3ListControl,
                                          (PVOID)0x66, TRUE, sgbuf, sizeof sgbuf);
    d.val[5] = (ULONG)d.nlist;
    d.ok[0] = d.list == (PSCATTER_GATHER_LIST)(void *)sgbuf;
    d.ok[1] = kdpc_dma_host_address(m, (uint64_t)(uintptr_t)va, PAGE_SIZE + 0x300) == va;
    PMDL target = NULL;
    d.st[7] = ops->BuildMdlFromScatterGatherList(d.a, d.list, mdl, &target);
    d.ok[2] = target == mdl;
    d.st[8] = ops->BuildMdlFromScatterGatherList(d.a, d.list, NULL, &target);
    ops->PutScatterGatherList(d.a, d.list, TRUE);
    d.ok[3] = kdpc_dma_host_address(m, (uint64_t)(uintptr_t)va, 16) == NULL;
    /* more pages than map registers */
    d.st[9] =
        ops->BuildScatterGatherList(d.a, d.dev[0], big, MmGetMdlVirtualAddress(big), 2 * PAGE_SIZE,
                                    V3ListControl, NULL, TRUE, sgbuf, sizeof sgbuf);
    KeLowerIrql(old);
    IoFreeMdl(big);
    IoFreeMdl(mdl);
    ops->PutDmaAdapter(d.a);
}

static void test_version2_calculate_and_build_scatter_gather_list(void **state)
{
    (void)state;
    static const char *const off[] = {"dma.too_many_map_registers", "dma.outside_mdl", NULL};
    kdpc_machine *m = run_ok_off(body_v2, 8, off);
    ULONG one = (ULONG)(offsetof(SCATTER_GATHER_LIST, Elements) + sizeof(SCATTER_GATHER_ELEMENT));
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.val[0], one + sizeof(SCATTER_GATHER_ELEMENT)); /* at most a page each */
    assert_int_equal(d.val[1], 2);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.val[2], one); /* the MDL is one run */
    assert_int_equal(d.val[3], 2);
    assert_int_equal(d.st[2], STATUS_BUFFER_TOO_SMALL);       /* longer than the MDL */
    assert_int_equal(d.st[3], STATUS_INSUFFICIENT_RESOURCES); /* 3 pages, 2 registers */
    assert_int_equal(d.st[4], STATUS_INVALID_PARAMETER);
    assert_int_equal(d.st[5], STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(d.val[4], 0);
    assert_int_equal(d.st[6], STATUS_SUCCESS);
    assert_int_equal(d.val[5], 1);
    assert_int_equal(d.list_ctx, (PVOID)0x66);
    assert_int_equal(d.list_irql, DISPATCH_LEVEL);
    assert_true(d.ok[0]);
    assert_true(d.ok[1]);
    assert_int_equal(d.st[7], STATUS_SUCCESS);
    assert_true(d.ok[2]);
    assert_int_equal(d.st[8], STATUS_INVALID_PARAMETER);
    assert_true(d.ok[3]);
    assert_int_equal(d.st[9], STATUS_INSUFFICIENT_RESOURCES);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* GetDmaAdapterInfo, AllocateCommonBufferEx                            */

static void body_info_common(void)
{
    kdpc_machine *m = kdpc_current_machine();
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, FALSE, PAGE_SIZE, &d.regs);
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    DMA_ADAPTER_INFO info;
    memset(&info, 0xEE, sizeof info);
    info.Version = DMA_ADAPTER_INFO_VERSION1;
    d.st[0] = ops->GetDmaAdapterInfo(d.a, &info);
    d.val[0] = info.V1.ReadDmaCounterAvailable;
    d.val[1] = info.V1.ScatterGatherLimit;
    d.val[2] = info.V1.DmaAddressWidth;
    d.val[3] = info.V1.Flags;
    d.val[4] = info.V1.MinimumTransferUnit;
    info.Version = 2;
    d.st[1] = ops->GetDmaAdapterInfo(d.a, &info);
    d.st[2] = ops->GetDmaAdapterInfo(d.a, NULL);
    PHYSICAL_ADDRESS max, la;
    max.QuadPart = 0xFFFFFFFF;
    la.QuadPart = 0;
    PUCHAR va = ops->AllocateCommonBufferEx(d.a, &max, 256, &la, TRUE, MM_ANY_NODE_OK);
    d.ptr[0] = va;
    d.ok[0] = va != NULL && kdpc_dma_host_address(m, (uint64_t)la.QuadPart, 256) == va;
    d.ok[1] = va != NULL && va[0] == 0 && va[255] == 0;
    if (va != NULL)
        ops->FreeCommonBuffer(d.a, 256, la, va, TRUE);
    d.ok[2] = kdpc_dma_host_address(m, (uint64_t)la.QuadPart, 256) == NULL;
    d.ptr[1] = ops->AllocateCommonBufferEx(d.a, NULL, 256, NULL, TRUE, MM_ANY_NODE_OK);
    ops->PutDmaAdapter(d.a);
}

static void test_get_dma_adapter_info_and_allocate_common_buffer_ex(void **state)
{
    (void)state;
    kdpc_machine *m = run_ok(body_info_common, 9);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.val[0], FALSE);
    assert_int_equal(d.val[1], d.regs);
    assert_int_equal(d.val[2], 64);
    assert_int_equal(d.val[3], 0);
    assert_int_equal(d.val[4], 1);
    assert_int_equal(d.st[1], STATUS_NOT_SUPPORTED);
    assert_int_equal(d.st[2], STATUS_INVALID_PARAMETER);
    assert_non_null(d.ptr[0]);
    assert_true(d.ok[0]);
    assert_true(d.ok[1]);
    assert_true(d.ok[2]);
    assert_null(d.ptr[1]); /* no LogicalAddress */
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* bug checks                                                           */

static void body_free_object_twice(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, PAGE_SIZE, &d.regs);
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    PVOID base = NULL;
    d.st[0] = alloc_ex(0, tc1, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base);
    ops->FreeAdapterObject(d.a, DeallocateObject);
    d.ok[0] = TRUE;
    ops->FreeAdapterObject(d.a, DeallocateObject); /* twice */
    d.ok[1] = TRUE;
}

static void test_free_adapter_object_twice_bugchecks_e6_04(void **state)
{
    (void)state;
    kdpc_machine *m = start(10);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_free_object_twice);
    KT_ASSERT_BUGCHECK(m, st, "dma.double_free", 0xE6);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x04);
    assert_true(d.ok[0]);
    assert_false(d.ok[1]);
    kdpc_machine_destroy(m);
}

static void body_not_flushed(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, PAGE_SIZE, &d.regs);
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL mdl = mdl_at(0, 64);
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    PVOID base = NULL;
    d.st[0] = alloc_ex(0, tc1, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base);
    ULONG len = 64;
    d.st[1] = ops->MapTransferEx(d.a, mdl, base, 0, 0, &len, TRUE,
                                 (PSCATTER_GATHER_LIST)(void *)sgbuf, sizeof sgbuf, NULL, NULL);
    d.ok[0] = TRUE;
    ops->FreeAdapterObject(d.a, DeallocateObject); /* never flushed */
    d.ok[1] = TRUE;
}

/* the fixed twin: flushed first, clean */
static void body_flushed(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, PAGE_SIZE, &d.regs);
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL mdl = mdl_at(0, 64);
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    PVOID base = NULL;
    d.st[0] = alloc_ex(0, tc1, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base);
    ULONG len = 64;
    d.st[1] = ops->MapTransferEx(d.a, mdl, base, 0, 0, &len, TRUE,
                                 (PSCATTER_GATHER_LIST)(void *)sgbuf, sizeof sgbuf, NULL, NULL);
    d.st[2] = ops->FlushAdapterBuffersEx(d.a, mdl, base, 0, len, TRUE);
    ops->FreeAdapterObject(d.a, DeallocateObject);
    IoFreeMdl(mdl);
    ops->PutDmaAdapter(d.a);
}

static void test_free_adapter_object_before_flush_bugchecks_e6_0d(void **state)
{
    (void)state;
    kdpc_machine *m = start(11);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_not_flushed);
    KT_ASSERT_BUGCHECK(m, st, "dma.not_flushed", 0xE6);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x10); /* map registers still mapped */
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_true(d.ok[0]);
    assert_false(d.ok[1]);
    kdpc_machine_destroy(m);
    m = run_ok(body_flushed, 11);
    assert_int_equal(d.st[2], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

/* A StartIo driver: the IRP's grant (synchronous AllocateAdapterChannelEx, no AdapterControl)
 * must be freed with FreeAdapterObject before the IRP is completed. */
static BOOLEAN complete_holding;

static void V3StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PVOID base = NULL;
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    d.st[0] = ops->AllocateAdapterChannelEx(d.a, DeviceObject, tc1, 1, DMA_SYNCHRONOUS_CALLBACK,
                                            NULL, NULL, &base);
    PMDL mdl = mdl_at(0, 64);
    ULONG len = 64;
    d.st[1] = ops->MapTransferEx(d.a, mdl, base, 0, 0, &len, FALSE,
                                 (PSCATTER_GATHER_LIST)(void *)sgbuf, sizeof sgbuf, NULL, NULL);
    d.st[2] = ops->FlushAdapterBuffersEx(d.a, mdl, base, 0, len, FALSE);
    IoFreeMdl(mdl);
    if (!complete_holding)
        ops->FreeAdapterObject(d.a, DeallocateObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = len;
    IoStartNextPacket(DeviceObject, FALSE);
    d.ok[0] = TRUE;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    d.ok[1] = TRUE;
}

static NTSTATUS V3Read(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, NULL);
    return STATUS_PENDING;
}

static NTSTATUS V3OwnerDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Ctx;
    d.val[0] = (ULONG)Irp->IoStatus.Information;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void body_startio(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, PAGE_SIZE, &d.regs);
    PIRP irp = IoAllocateIrp(d.dev[0]->StackSize, FALSE);
    if (irp == NULL || d.a == NULL)
        return;
    IoSetCompletionRoutine(irp, V3OwnerDone, NULL, TRUE, TRUE, TRUE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    (void)IoCallDriver(d.dev[0], irp);
    IoFreeIrp(irp);
    d.a->DmaOperations->PutDmaAdapter(d.a);
}

static void test_completing_the_irp_before_free_adapter_object_bugchecks_e6_2a(void **state)
{
    (void)state;
    complete_holding = TRUE;
    kdpc_machine *m = start(12);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_startio);
    KT_ASSERT_BUGCHECK(m, st, "dma.adapter_held", 0xE6);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x2A);
    assert_true(d.ok[0]);
    assert_false(d.ok[1]);
    kdpc_machine_destroy(m);
    complete_holding = FALSE; /* the fixed driver: FreeAdapterObject first */
    m = run_ok(body_startio, 12);
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.st[2], STATUS_SUCCESS);
    assert_true(d.ok[1]);
    assert_int_equal(d.val[0], 64);
    kdpc_machine_destroy(m);
}

/* an MDL that is not one of the machine's (built on the stack) is never followed */
static void body_fake_mdl(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, PAGE_SIZE, &d.regs);
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    DMA_TRANSFER_INFO ti;
    memset(&ti, 0, sizeof ti);
    ti.Version = DMA_TRANSFER_INFO_VERSION1;
    MDL fake;
    memset(&fake, 0, sizeof fake);
    fake.StartVa = dbuf;
    fake.ByteCount = 64;
    fake.Next = (PMDL)(uintptr_t)0x10; /* never followed */
    d.ok[0] = TRUE;
    d.st[0] = ops->GetDmaTransferInfo(d.a, &fake, 0, 64, TRUE, &ti);
    d.ok[1] = TRUE;
    ops->PutDmaAdapter(d.a);
}

static void test_an_mdl_kdpc_does_not_know_is_io_invalid_object(void **state)
{
    (void)state;
    kdpc_machine *m = start(14);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_fake_mdl);
    KT_ASSERT_BUGCHECK(m, st, "io.invalid_object", 0x50);
    assert_true(d.ok[0]);
    assert_false(d.ok[1]);
    kdpc_machine_destroy(m);
    /* as a warning: nothing is read, STATUS_INVALID_PARAMETER */
    m = start(14);
    assert_int_equal(kdpc_rule_set(m, "io.invalid_object", KDPC_RULE_WARN), KDPC_OK);
    st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_fake_mdl);
    assert_int_equal(st, KDPC_OK);
    assert_true(d.ok[1]);
    assert_int_equal(d.st[0], STATUS_INVALID_PARAMETER);
    assert_non_null(kdpc_machine_find_violation(m, "io.invalid_object"));
    kdpc_machine_destroy(m);
}

/* a queued GetScatterGatherListEx whose MDL the driver frees before the request runs: the
 * freed MDL is never read when the adapter comes free (io.invalid_object), the list is never
 * built and AdapterListControl never runs */
static void body_mdl_freed_while_queued(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, 3 * PAGE_SIZE, &d.regs);
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL mdl = mdl_at(0x100, 0x200);
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    (void)ops->InitializeDmaTransferContext(d.a, tc2);
    PVOID base = NULL;
    d.st[0] = alloc_ex(0, tc1, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base); /* busy now */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    d.st[1] = ops->GetScatterGatherListEx(d.a, d.dev[0], tc2, mdl, 0, 0x200, 0, V3ListControl, NULL,
                                          TRUE, NULL, NULL, NULL);
    KeLowerIrql(old);
    IoFreeMdl(mdl); /* the driver's bug: the request still names it */
    d.ok[0] = TRUE;
    old = KeRaiseIrqlToDpcLevel();
    ops->FreeAdapterObject(d.a, DeallocateObject); /* the queued request comes up */
    KeLowerIrql(old);
    d.ok[1] = TRUE;
    d.val[0] = (ULONG)d.nlist;
    ops->PutDmaAdapter(d.a);
}

static void test_an_mdl_freed_while_its_request_waits_is_io_invalid_object(void **state)
{
    (void)state;
    kdpc_machine *m = start(16);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_mdl_freed_while_queued);
    KT_ASSERT_BUGCHECK(m, st, "io.invalid_object", 0xA); /* at DISPATCH_LEVEL */
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_true(d.ok[0]);
    assert_false(d.ok[1]);
    assert_int_equal(d.nlist, 0);
    kdpc_machine_destroy(m);
    /* as a warning: the request is dropped unread, nothing else changes */
    m = start(16);
    assert_int_equal(kdpc_rule_set(m, "io.invalid_object", KDPC_RULE_WARN), KDPC_OK);
    st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_mdl_freed_while_queued);
    assert_int_equal(st, KDPC_OK);
    assert_true(d.ok[1]);
    assert_int_equal(d.val[0], 0);
    assert_non_null(kdpc_machine_find_violation(m, "io.invalid_object"));
    kdpc_machine_destroy(m);
}

/* a queued AllocateAdapterChannelEx whose device object the driver deletes before the request
 * runs: the deleted device is never read when the adapter comes free (io.invalid_object) and
 * AdapterControl never runs for it */
static void body_device_deleted_while_queued(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, TRUE, 3 * PAGE_SIZE, &d.regs);
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    (void)ops->InitializeDmaTransferContext(d.a, tc2);
    PVOID base = NULL;
    d.st[0] = alloc_ex(0, tc1, 1, DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &base); /* busy now */
    d.st[1] = alloc_ex(1, tc2, 1, 0, V3Control, NULL, NULL);                    /* waits */
    IoDeleteDevice(d.dev[1]); /* the driver's bug: its request still waits */
    d.ok[0] = TRUE;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ops->FreeAdapterObject(d.a, DeallocateObject); /* the queued request comes up */
    KeLowerIrql(old);
    d.ok[1] = TRUE;
    d.val[0] = (ULONG)d.ncontrol;
    ops->PutDmaAdapter(d.a);
}

static void test_a_device_deleted_while_its_request_waits_is_io_invalid_object(void **state)
{
    (void)state;
    kdpc_machine *m = start(17);
    kdpc_status st =
        kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_device_deleted_while_queued);
    KT_ASSERT_BUGCHECK(m, st, "io.invalid_object", 0xA); /* at DISPATCH_LEVEL */
    assert_int_equal(d.st[0], STATUS_SUCCESS);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_true(d.ok[0]);
    assert_false(d.ok[1]);
    assert_int_equal(d.ncontrol, 0);
    kdpc_machine_destroy(m);
    /* as a warning: the request is dropped unread */
    m = start(17);
    assert_int_equal(kdpc_rule_set(m, "io.invalid_object", KDPC_RULE_WARN), KDPC_OK);
    st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_device_deleted_while_queued);
    assert_int_equal(st, KDPC_OK);
    assert_true(d.ok[1]);
    assert_int_equal(d.val[0], 0);
    assert_non_null(kdpc_machine_find_violation(m, "io.invalid_object"));
    kdpc_machine_destroy(m);
}

/* a run that ends (bug check) while a system DMA completion DPC is still queued: the routine
 * never runs and kdpc_machine_destroy frees the record (ASan: no leak, no use after free) */
static void body_done_pending_at_bugcheck(void)
{
    d.a = get_adapter(DEVICE_DESCRIPTION_VERSION3, FALSE, 2 * PAGE_SIZE, &d.regs);
    PDMA_OPERATIONS ops = d.a->DmaOperations;
    PMDL mdl = mdl_at(0, PAGE_SIZE);
    (void)ops->InitializeDmaTransferContext(d.a, tc1);
    d.action = KeepObject;
    d.st[0] = alloc_ex(1, tc1, 1, 0, V3Control, NULL, NULL);
    PVOID base = d.control_base;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ULONG len = PAGE_SIZE;
    d.st[1] = ops->MapTransferEx(d.a, mdl, base, 0, 0, &len, FALSE, NULL, 0, V3DmaDone, NULL);
    ops->FreeAdapterObject(d.a, DeallocateObject); /* not flushed: 0xE6/0x0D, DPC still queued */
    KeLowerIrql(old);
    d.ok[0] = TRUE;
}

static void test_a_completion_pending_when_the_run_ends_is_freed(void **state)
{
    (void)state;
    kdpc_machine *m = start(18);
    kdpc_status st =
        kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_done_pending_at_bugcheck);
    KT_ASSERT_BUGCHECK(m, st, "dma.not_flushed", 0xE6);
    assert_false(d.ok[0]);
    assert_int_equal(d.st[1], STATUS_SUCCESS);
    assert_int_equal(d.ndone, 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version3_adapter_and_its_address_width),
        cmocka_unit_test(test_device_description_and_dma_operations_layout),
        cmocka_unit_test(test_every_interface_type_value),
        cmocka_unit_test(test_allocate_adapter_channel_ex_queues_and_cancel_adapter_channel),
        cmocka_unit_test(test_queued_request_runs_when_the_adapter_object_is_freed),
        cmocka_unit_test(test_allocate_adapter_channel_ex_parameter_rules),
        cmocka_unit_test(test_synchronous_allocation_map_transfer_ex_flush_and_free_adapter_object),
        cmocka_unit_test(test_map_transfer_ex_cuts_length_to_the_map_registers),
        cmocka_unit_test(test_system_dma_completion_routine_and_cancel_mapped_transfer),
        cmocka_unit_test(test_get_and_build_scatter_gather_list_ex),
        cmocka_unit_test(test_scatter_gather_ex_requests_queue_and_cancel),
        cmocka_unit_test(test_version2_calculate_and_build_scatter_gather_list),
        cmocka_unit_test(test_get_dma_adapter_info_and_allocate_common_buffer_ex),
        cmocka_unit_test(test_free_adapter_object_twice_bugchecks_e6_04),
        cmocka_unit_test(test_free_adapter_object_before_flush_bugchecks_e6_0d),
        cmocka_unit_test(test_completing_the_irp_before_free_adapter_object_bugchecks_e6_2a),
        cmocka_unit_test(test_an_mdl_kdpc_does_not_know_is_io_invalid_object),
        cmocka_unit_test(test_an_mdl_freed_while_its_request_waits_is_io_invalid_object),
        cmocka_unit_test(test_a_device_deleted_while_its_request_waits_is_io_invalid_object),
        cmocka_unit_test(test_a_completion_pending_when_the_run_ends_is_freed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
