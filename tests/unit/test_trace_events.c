/* SPDX-License-Identifier: MIT */
/*
 * test_trace_events.c - the events of the trace (include/kdpc/trace.h, KDPC_EVENT_MAP) that
 * the kernel, I/O, DMA and device layers emit, with their objects, routines, arg and arg2.
 *
 * A small packet driver "tev" on 1 CPU: IoCallDriver -> dispatch (IoMarkIrpPending,
 * IoStartPacket) -> StartIo -> AllocateAdapterChannel -> AdapterControl (MapTransfer, a port
 * write that makes the device model schedule an event) -> the event raises the line -> ISR
 * (IoRequestDpc) -> DpcForIsr (FlushAdapterBuffers, FreeAdapterChannel, IoStartNextPacket,
 * IoCompleteRequest). A second IRP finds the device busy (queued), a third is held
 * cancelable and cancelled, and an I/O work item frees itself in its routine. Then timers,
 * DPC flags on 2 CPUs, violations, names in kdpc_trace_dump, and the digest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE    5
#define DIRQL   6
#define PORT    0x3F0u
#define XFER    1000u /* bytes per read */
#define FIRE_NS 100000u
#define CAP     ((size_t)1 << 16)
#define NONE    ((size_t)-1)

typedef struct EXT {
    PKINTERRUPT Interrupt;
    PDMA_ADAPTER Adapter;
    ULONG MaxRegs;
    PVOID MapRegisterBase;
    KDEVICE_QUEUE Queue; /* flushes: the driver's own device queue */
} EXT, *PEXT;

static _Alignas(4096) UCHAR bufs[2][PAGE_SIZE];

static struct {
    kdpc_machine *m;
    kdpc_device *hw;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    PIRP irp[5];
    KEVENT done[5];
    PIO_WORKITEM wi;
    KEVENT work_done;
    NTSTATUS load;
    LONG isr_runs;
    LONG cancelled;
} t;

/* ------------------------------------------------------------------ */
/* The device model: a port; writing 1 starts a transfer that ends with an interrupt. */

static void hw_fire(kdpc_device *d, void *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    (void)kdpc_device_interrupt(d, 0);
}

static uint64_t hw_read(const kdpc_reg_access *a)
{
    (void)a;
    return 0x5A;
}

static void hw_write(const kdpc_reg_access *a)
{
    if (a->value == 1)
        (void)kdpc_device_schedule(a->device, FIRE_NS, hw_fire, NULL, 0, NULL);
}

/* ------------------------------------------------------------------ */
/* The driver */

static BOOLEAN TevProgram(PVOID ctx)
{
    (void)ctx;
    WRITE_PORT_ULONG((PULONG)(uintptr_t)PORT, 1);
    return TRUE;
}

static IO_ALLOCATION_ACTION TevAdapterControl(PDEVICE_OBJECT dev, PIRP irp, PVOID base, PVOID ctx)
{
    (void)ctx;
    PEXT ext = dev->DeviceExtension;
    ext->MapRegisterBase = base;
    ULONG len = MmGetMdlByteCount(irp->MdlAddress);
    (void)ext->Adapter->DmaOperations->MapTransfer(
        ext->Adapter, irp->MdlAddress, base, MmGetMdlVirtualAddress(irp->MdlAddress), &len, FALSE);
    (void)KeSynchronizeExecution(ext->Interrupt, TevProgram, NULL); /* G1 */
    return KeepObject;
}

static void TevStartIo(PDEVICE_OBJECT dev, PIRP irp)
{
    PEXT ext = dev->DeviceExtension;
    (void)ext->Adapter->DmaOperations->AllocateAdapterChannel(ext->Adapter, dev, 1,
                                                              TevAdapterControl, NULL);
    (void)irp;
}

static BOOLEAN TevIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = Context;
    (void)READ_PORT_UCHAR((PUCHAR)(uintptr_t)PORT);
    t.isr_runs++;
    IoRequestDpc(dev, dev->CurrentIrp, NULL);
    return TRUE;
}

static void TevDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)Dpc;
    (void)ctx;
    PEXT ext = dev->DeviceExtension;
    PMDL mdl = irp->MdlAddress;
    ULONG len = MmGetMdlByteCount(mdl);
    (void)ext->Adapter->DmaOperations->FlushAdapterBuffers(ext->Adapter, mdl, ext->MapRegisterBase,
                                                           MmGetMdlVirtualAddress(mdl), len, FALSE);
    ext->Adapter->DmaOperations->FreeAdapterChannel(ext->Adapter);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = len;
    IoStartNextPacket(dev, FALSE);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void TevCancel(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    IoReleaseCancelSpinLock(irp->CancelIrql);
    t.cancelled++;
    irp->IoStatus.Status = STATUS_CANCELLED;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static NTSTATUS TevRead(PDEVICE_OBJECT dev, PIRP irp)
{
    IoMarkIrpPending(irp);
    IoStartPacket(dev, irp, NULL, NULL);
    return STATUS_PENDING;
}

/* Writes are held, cancelable, until cancelled. */
static NTSTATUS TevWrite(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    IoMarkIrpPending(irp);
    KIRQL old;
    IoAcquireCancelSpinLock(&old);
    (void)IoSetCancelRoutine(irp, TevCancel);
    IoReleaseCancelSpinLock(old);
    return STATUS_PENDING;
}

/* Flushes go through the driver's own KDEVICE_QUEUE: the second one is queued there. */
static NTSTATUS TevFlush(PDEVICE_OBJECT dev, PIRP irp)
{
    PEXT ext = dev->DeviceExtension;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    BOOLEAN queued = KeInsertDeviceQueue(&ext->Queue, &irp->Tail.Overlay.DeviceQueueEntry);
    KeLowerIrql(old);
    if (queued) {
        IoMarkIrpPending(irp);
        return STATUS_PENDING;
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

/* The queued flush: taken off the queue and completed (the queue is idle again). */
static void TevFlushNext(PDEVICE_OBJECT dev)
{
    PEXT ext = dev->DeviceExtension;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PKDEVICE_QUEUE_ENTRY e = KeRemoveDeviceQueue(&ext->Queue);
    (void)KeRemoveDeviceQueue(&ext->Queue);
    KeLowerIrql(old);
    assert_non_null(e);
    PIRP irp = CONTAINING_RECORD(e, IRP, Tail.Overlay.DeviceQueueEntry);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void TevUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT dev = DriverObject->DeviceObject;
    PEXT ext = dev->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
    IoDeleteDevice(dev);
}

static NTSTATUS TevEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"\\Device\\Tev0");
    PDEVICE_OBJECT dev;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    dev->Flags |= DO_DIRECT_IO;
    PEXT ext = dev->DeviceExtension;
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = PAGE_SIZE;
    ext->Adapter = IoGetDmaAdapter(dev, &dd, &ext->MaxRegs);
    if (ext->Adapter == NULL) {
        IoDeleteDevice(dev);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    DriverObject->MajorFunction[IRP_MJ_READ] = TevRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = TevWrite;
    DriverObject->MajorFunction[IRP_MJ_FLUSH_BUFFERS] = TevFlush;
    KeInitializeDeviceQueue(&ext->Queue);
    DriverObject->DriverStartIo = TevStartIo;
    DriverObject->DriverUnload = TevUnload;
    IoInitializeDpcRequest(dev, TevDpcForIsr);
    st = IoConnectInterrupt(&ext->Interrupt, TevIsr, dev, NULL, LINE, DIRQL, DIRQL, Latched, FALSE,
                            1, FALSE);
    if (!NT_SUCCESS(st)) {
        ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
        IoDeleteDevice(dev);
        return st;
    }
    t.dev = dev;
    return STATUS_SUCCESS;
}

static NTSTATUS OwnerDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Irp;
    KeSetEvent(&t.done[(int)(uintptr_t)Ctx], IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void TevWork(PDEVICE_OBJECT dev, PVOID ctx)
{
    (void)dev;
    IoFreeWorkItem(ctx); /* the work-end still names the item the work-begin saw */
    KeSetEvent(&t.work_done, IO_NO_INCREMENT, FALSE);
}

static PIRP send(int i, UCHAR major)
{
    KeInitializeEvent(&t.done[i], NotificationEvent, FALSE);
    PIRP irp = IoAllocateIrp(t.dev->StackSize, FALSE);
    assert_non_null(irp);
    if (major == IRP_MJ_READ) {
        PMDL mdl = IoAllocateMdl(bufs[i], XFER, FALSE, FALSE, irp);
        assert_non_null(mdl);
        MmBuildMdlForNonPagedPool(mdl);
    }
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = major;
    sl->Parameters.Read.Length = XFER;
    IoSetCompletionRoutine(irp, OwnerDone, (PVOID)(uintptr_t)i, TRUE, TRUE, TRUE);
    t.irp[i] = irp;
    (void)IoCallDriver(t.dev, irp);
    return irp;
}

static void Requester(void *ctx)
{
    (void)ctx;
    t.load = kdpc_driver_load(t.m, "tev", TevEntry, &t.drv);
    if (!NT_SUCCESS(t.load))
        return;
    (void)send(0, IRP_MJ_READ); /* StartIo at once */
    (void)send(1, IRP_MJ_READ); /* the device is busy: queued */
    PIRP held = send(2, IRP_MJ_WRITE);
    (void)IoCancelIrp(held);
    (void)send(3, IRP_MJ_FLUSH_BUFFERS); /* completed at once */
    (void)send(4, IRP_MJ_FLUSH_BUFFERS); /* KeInsertDeviceQueue queues it */
    TevFlushNext(t.dev);
    for (int i = 0; i < 5; i++)
        (void)KeWaitForSingleObject(&t.done[i], Executive, KernelMode, FALSE, NULL);
    for (int i = 0; i < 5; i++) {
        if (t.irp[i]->MdlAddress != NULL)
            IoFreeMdl(t.irp[i]->MdlAddress);
        IoFreeIrp(t.irp[i]);
    }
    KeInitializeEvent(&t.work_done, NotificationEvent, FALSE);
    t.wi = IoAllocateWorkItem(t.dev);
    assert_non_null(t.wi);
    IoQueueWorkItem(t.wi, TevWork, DelayedWorkQueue, t.wi);
    (void)KeWaitForSingleObject(&t.work_done, Executive, KernelMode, FALSE, NULL);
    (void)kdpc_driver_unload(t.drv);
}

static kdpc_machine *run_driver(uint64_t seed)
{
    memset(&t, 0, sizeof t);
    kdpc_config cfg = kt_config(1, seed);
    cfg.trace_capacity = CAP;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    t.m = m;
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "tevhw";
    d.nports = 1;
    d.ports[0].base = PORT;
    d.ports[0].length = 4;
    d.ports[0].read = hw_read;
    d.ports[0].write = hw_write;
    d.nlines = 1;
    d.lines[0].line = LINE;
    d.lines[0].level = false;
    d.lines[0].irql = DIRQL;
    assert_int_equal(kdpc_device_plug(m, &d, &t.hw), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, Requester, NULL), KDPC_OK);
    assert_true(NT_SUCCESS(t.load));
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(t.isr_runs, 2);
    assert_int_equal(t.cancelled, 1);
    assert_true(kdpc_trace_total(m) < CAP); /* nothing dropped */
    return m;
}

/* ------------------------------------------------------------------ */
/* Finding events */

static const kdpc_event *ev(kdpc_machine *m, size_t i)
{
    const kdpc_event *e = kdpc_trace_event(m, i);
    assert_non_null(e);
    return e;
}

/* The first event of @kind at or after @from whose object is @object (NULL: any), or NONE. */
static size_t find(kdpc_machine *m, size_t from, uint32_t kind, const void *object)
{
    size_t n = kdpc_trace_count(m);
    for (size_t i = from; i < n; i++) {
        const kdpc_event *e = ev(m, i);
        if (e->kind == kind && (object == NULL || e->object == (uintptr_t)object))
            return i;
    }
    return NONE;
}

/* As find(), and the event must be there. */
static size_t need(kdpc_machine *m, size_t from, uint32_t kind, const void *object)
{
    size_t i = find(m, from, kind, object);
    if (i == NONE)
        fail_msg("no %s event after #%zu", kdpc_event_kind_name(kind), from);
    return i;
}

#define RP(fn) ((uintptr_t)(fn))

/* ------------------------------------------------------------------ */

static void test_irp_dma_isr_and_dpc_events(void **state)
{
    (void)state;
    kdpc_machine *m = run_driver(1);
    PIRP irp0 = t.irp[0], irp1 = t.irp[1], irp2 = t.irp[2];
    /* IRP 0: call, StartIo at once, the DMA grant and map, the port write, marked pending */
    size_t call0 = need(m, 0, KDPC_EV_IRP_CALL, irp0);
    const kdpc_event *e = ev(m, call0);
    assert_int_equal(e->routine, RP(TevRead));
    assert_int_equal(e->arg, (uint64_t)IRP_MJ_READ << 8);
    uint64_t dev_id = e->arg2;
    uint64_t irp0_id = e->object_id;
    assert_true(dev_id != 0 && dev_id != irp0_id);
    size_t start0 = need(m, call0, KDPC_EV_IRP_START, irp0);
    e = ev(m, start0);
    assert_int_equal(e->object_id, irp0_id);
    assert_int_equal(e->routine, RP(TevStartIo));
    assert_int_equal(e->arg, 1);
    assert_int_equal(e->arg2, dev_id);
    size_t grant = need(m, start0, KDPC_EV_DMA_GRANT, NULL);
    e = ev(m, grant);
    uintptr_t adapter = e->object;
    uint64_t adapter_id = e->object_id;
    assert_int_equal(e->routine, RP(TevAdapterControl));
    assert_int_equal(e->arg, 1); /* map registers */
    assert_int_equal(e->arg2, dev_id);
    size_t map = need(m, grant, KDPC_EV_DMA_MAP, (const void *)adapter);
    assert_int_equal(ev(m, map)->arg, XFER);
    assert_int_equal(ev(m, map)->arg2, (uint64_t)(uintptr_t)bufs[0]); /* logical address */
    size_t pw = need(m, map, KDPC_EV_PORT_WRITE, NULL);
    assert_int_equal(ev(m, pw)->object_id, PORT);
    assert_int_equal(ev(m, pw)->arg, 1);
    assert_int_equal(ev(m, pw)->arg2, 4); /* WRITE_PORT_ULONG: 4 bytes */
    size_t pend0 = need(m, pw, KDPC_EV_IRP_QUEUE, irp0);
    assert_int_equal(ev(m, pend0)->arg, 1); /* IoMarkIrpPending */
    assert_int_equal(ev(m, pend0)->arg2, dev_id);

    /* IRP 1: the device is busy: irp-start 0 and irp-queue 0, then marked pending */
    size_t call1 = need(m, pend0, KDPC_EV_IRP_CALL, irp1);
    uint64_t irp1_id = ev(m, call1)->object_id;
    assert_true(irp1_id != irp0_id);
    size_t start1q = need(m, call1, KDPC_EV_IRP_START, irp1);
    assert_int_equal(ev(m, start1q)->arg, 0);
    assert_int_equal(ev(m, start1q)->routine, RP(TevStartIo));
    size_t q1 = need(m, start1q, KDPC_EV_IRP_QUEUE, irp1);
    assert_int_equal(ev(m, q1)->arg, 0);
    assert_int_equal(ev(m, q1)->arg2, dev_id);
    size_t pend1 = need(m, q1 + 1, KDPC_EV_IRP_QUEUE, irp1);
    assert_int_equal(ev(m, pend1)->arg, 1);

    /* IRP 2: held, cancelled: the cancel routine completes it */
    size_t call2 = need(m, pend1, KDPC_EV_IRP_CALL, irp2);
    assert_int_equal(ev(m, call2)->arg, (uint64_t)IRP_MJ_WRITE << 8);
    assert_int_equal(ev(m, call2)->routine, RP(TevWrite));
    size_t cancel = need(m, call2, KDPC_EV_IRP_CANCEL, irp2);
    assert_int_equal(ev(m, cancel)->routine, RP(TevCancel));
    assert_int_equal(ev(m, cancel)->arg, 1);
    size_t done2 = need(m, cancel, KDPC_EV_IRP_COMPLETE, irp2);
    assert_int_equal(ev(m, done2)->arg, (uint32_t)STATUS_CANCELLED);
    assert_int_equal(ev(m, done2)->arg2, 0);

    /* IRP 4: a driver's KeInsertDeviceQueue on its own queue (no device object's: arg2 0) */
    assert_int_equal(find(m, 0, KDPC_EV_IRP_QUEUE, t.irp[3]), NONE);
    size_t q4 = need(m, 0, KDPC_EV_IRP_QUEUE, t.irp[4]);
    assert_int_equal(ev(m, q4)->arg, 0);
    assert_int_equal(ev(m, q4)->arg2, 0);
    assert_int_equal(ev(m, need(m, q4 + 1, KDPC_EV_IRP_QUEUE, t.irp[4]))->arg, 1); /* pending */
    need(m, q4, KDPC_EV_IRP_COMPLETE, t.irp[4]);

    /* the device event, its line, the ISR and the DpcForIsr it queued */
    size_t dev_ev = need(m, 0, KDPC_EV_DEVICE_EVENT, t.hw);
    size_t assert_ev = need(m, dev_ev, KDPC_EV_LINE_ASSERT, NULL);
    assert_int_equal(ev(m, assert_ev)->arg, LINE);
    assert_int_equal(ev(m, assert_ev)->arg2, ev(m, dev_ev)->seq + 1u);
    size_t isr = need(m, assert_ev, KDPC_EV_ISR_BEGIN, NULL);
    assert_int_equal(ev(m, isr)->routine, RP(TevIsr));
    assert_int_equal(ev(m, isr)->arg, LINE);
    size_t pr = need(m, isr, KDPC_EV_PORT_READ, NULL);
    assert_int_equal(ev(m, pr)->arg, 0x5A);
    assert_int_equal(ev(m, pr)->arg2, 1); /* READ_PORT_UCHAR */
    size_t isr_end = need(m, isr, KDPC_EV_ISR_END, (const void *)ev(m, isr)->object);
    assert_int_equal(ev(m, isr_end)->arg, TRUE);
    size_t ins = need(m, isr, KDPC_EV_DPC_INSERT, &t.dev->Dpc);
    assert_true(ins < isr_end);
    unsigned flags = MediumImportance | KDPC_DPCF_IOREQUEST | KDPC_DPCF_FROM_ISR;
    assert_int_equal(ev(m, ins)->routine, RP(TevDpcForIsr));
    assert_int_equal(ev(m, ins)->arg, 0);
    assert_int_equal(ev(m, ins)->arg2, flags);
    size_t begin = need(m, isr_end, KDPC_EV_DPC_BEGIN, &t.dev->Dpc);
    assert_int_equal(ev(m, begin)->object_id, ev(m, ins)->object_id);
    assert_int_equal(ev(m, begin)->arg, 0);
    assert_int_equal(ev(m, begin)->arg2, flags);
    size_t flush = need(m, begin, KDPC_EV_DMA_FLUSH, (const void *)adapter);
    assert_int_equal(ev(m, flush)->object_id, adapter_id);
    assert_int_equal(ev(m, flush)->arg, XFER);
    size_t dfree = need(m, flush, KDPC_EV_DMA_FREE, (const void *)adapter);
    assert_int_equal(ev(m, dfree)->arg, 1);
    /* IoStartNextPacket: StartIo of IRP 1 now, its grant; then IRP 0 completes */
    size_t start1 = need(m, dfree, KDPC_EV_IRP_START, irp1);
    assert_int_equal(ev(m, start1)->arg, 1);
    assert_int_equal(ev(m, start1)->object_id, irp1_id);
    size_t grant1 = need(m, start1, KDPC_EV_DMA_GRANT, (const void *)adapter);
    size_t done0 = need(m, grant1, KDPC_EV_IRP_COMPLETE, irp0);
    assert_int_equal(ev(m, done0)->object_id, irp0_id);
    assert_int_equal(ev(m, done0)->arg, STATUS_SUCCESS);
    assert_int_equal(ev(m, done0)->arg2, XFER);
    size_t end = need(m, done0, KDPC_EV_DPC_END, NULL);
    assert_int_equal(ev(m, end)->object_id, ev(m, begin)->object_id);
    /* the second transfer ends the same way */
    size_t done1 = need(m, end, KDPC_EV_IRP_COMPLETE, irp1);
    assert_int_equal(ev(m, done1)->object_id, irp1_id);
    /* the ISR's time: isr-end arg2 is what the call ran, as the stats table has it */
    uint64_t isr_total = UINT64_MAX;
    for (size_t i = 0; i < kdpc_stats_routine_count(m); i++) {
        kdpc_routine_stats rs;
        assert_int_equal(kdpc_stats_routine(m, i, &rs), KDPC_OK);
        if (rs.routine == RP(TevIsr) && rs.kind == KDPC_ROUTINE_ISR)
            isr_total = rs.total_ns;
    }
    uint64_t ran = 0;
    for (size_t i = 0; i != NONE && (i = find(m, i, KDPC_EV_ISR_END, NULL)) != NONE; i++)
        ran += ev(m, i)->arg2;
    assert_int_equal(ran, isr_total);
    kdpc_machine_destroy(m);
}

static void test_work_item_events(void **state)
{
    (void)state;
    kdpc_machine *m = run_driver(2);
    size_t q = need(m, 0, KDPC_EV_WORK_QUEUE, t.wi);
    const kdpc_event *e = ev(m, q);
    assert_int_equal(e->routine, RP(TevWork));
    assert_int_equal(e->arg, DelayedWorkQueue);
    size_t call = need(m, 0, KDPC_EV_IRP_CALL, NULL);
    assert_int_equal(e->arg2, ev(m, call)->arg2); /* the device object */
    uint64_t id = e->object_id;
    size_t b = need(m, q, KDPC_EV_WORK_BEGIN, t.wi);
    assert_int_equal(ev(m, b)->object_id, id);
    assert_int_equal(ev(m, b)->routine, RP(TevWork));
    assert_int_equal(ev(m, b)->arg, DelayedWorkQueue);
    uint64_t thread = ev(m, b)->arg2;
    assert_true(thread != 0);
    size_t en = need(m, b, KDPC_EV_WORK_END, t.wi);
    assert_int_equal(ev(m, en)->object_id, id); /* freed inside: still the begin's object */
    assert_int_equal(ev(m, en)->routine, RP(TevWork));
    assert_int_equal(ev(m, en)->arg2, thread);
    assert_int_equal(ev(m, en)->arg, ev(m, en)->time_ns - ev(m, b)->time_ns);
    kdpc_machine_destroy(m);
}

/* The dump names the DEVICE_OBJECT (arg2 of irp-call) and the device model (device-event),
 * and a static routine by its own name (the host's symbols, no KDPC_NAME). */
static void test_dump_names_devices_and_static_routines(void **state)
{
    (void)state;
    kdpc_machine *m = run_driver(3);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(kdpc_trace_dump(m, f), KDPC_OK);
    fclose(f);
    assert_non_null(strstr(text, "\\Device\\Tev0"));
    const char *line = strstr(text, "irp-call");
    assert_non_null(line);
    const char *eol = strchr(line, '\n');
    const char *dev = strstr(line, "\\Device\\Tev0");
    assert_true(dev != NULL && dev < eol);
    line = strstr(text, "device-event");
    assert_non_null(line);
    eol = strchr(line, '\n');
    const char *hw = strstr(line, "tevhw");
    assert_true(hw != NULL && hw < eol);
#ifdef KDPC_TEST_HAVE_LIBDW /* without libdw only exported symbols have names */
    assert_non_null(strstr(text, "routine=TevDpcForIsr"));
    assert_non_null(strstr(text, "routine=TevAdapterControl"));
#endif
    free(text);
    kdpc_machine_destroy(m);
}

static void test_digest_is_the_same_for_the_same_seed(void **state)
{
    (void)state;
    kdpc_machine *a = run_driver(7);
    uint64_t da = kdpc_trace_digest(a);
    uint64_t na = kdpc_trace_total(a);
    kdpc_machine_destroy(a);
    kdpc_machine *b = run_driver(7);
    assert_int_equal(kdpc_trace_digest(b), da);
    assert_int_equal(kdpc_trace_total(b), na);
    kdpc_machine_destroy(b);
}

/* ------------------------------------------------------------------ */
/* Timers, DPC flags, violations */

static struct {
    KTIMER timer, periodic;
    KDPC tdpc, pdpc, high, threaded;
    KEVENT fired;
    LONG periodic_runs;
    BOOLEAN cancel_was;
    PEX_TIMER ex;
    WORK_QUEUE_ITEM wq;
} k;

static void TimerDpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)Context;
    (void)a1;
    (void)a2;
    KeSetEvent(&k.fired, IO_NO_INCREMENT, FALSE);
}

static void PeriodicDpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)Context;
    (void)a1;
    (void)a2;
    if (++k.periodic_runs == 2)
        (void)KeCancelTimer(&k.periodic);
}

static void PlainDpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)Context;
    (void)a1;
    (void)a2;
}

static void ExCallback(PEX_TIMER Timer, PVOID Context)
{
    (void)Timer;
    (void)Context;
    KeSetEvent(&k.fired, IO_NO_INCREMENT, FALSE);
}

static void ExWork(PVOID Parameter)
{
    (void)Parameter;
    KeSetEvent(&k.fired, IO_NO_INCREMENT, FALSE);
}

static void TimerEntry(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&k.fired, NotificationEvent, FALSE);
    KeInitializeTimer(&k.timer);
    KeInitializeDpc(&k.tdpc, TimerDpc, NULL);
    LARGE_INTEGER due;
    due.QuadPart = -10000; /* 1 ms */
    (void)KeSetTimer(&k.timer, due, &k.tdpc);
    (void)KeWaitForSingleObject(&k.fired, Executive, KernelMode, FALSE, NULL);
    due.QuadPart = -100000; /* 10 ms, then cancelled */
    (void)KeSetTimer(&k.timer, due, NULL);
    k.cancel_was = KeCancelTimer(&k.timer);
    /* an EX_TIMER: its callback is the routine; ExDeleteTimer(Cancel) is a timer-cancel */
    KeClearEvent(&k.fired);
    k.ex = ExAllocateTimer(ExCallback, NULL, 0);
    (void)ExSetTimer(k.ex, -10000, 0, NULL);
    (void)KeWaitForSingleObject(&k.fired, Executive, KernelMode, FALSE, NULL);
    (void)ExSetTimer(k.ex, -10000, 0, NULL);
    (void)ExDeleteTimer(k.ex, TRUE, FALSE, NULL);
    /* an executive work item: no device object */
    KeClearEvent(&k.fired);
    ExInitializeWorkItem(&k.wq, ExWork, NULL);
    ExQueueWorkItem(&k.wq, CriticalWorkQueue);
    (void)KeWaitForSingleObject(&k.fired, Executive, KernelMode, FALSE, NULL);
    KeInitializeTimer(&k.periodic);
    KeInitializeDpc(&k.pdpc, PeriodicDpc, NULL);
    due.QuadPart = -20000;
    (void)KeSetTimerEx(&k.periodic, due, 3, &k.pdpc);
    /* DPC flags: High importance targeted at CPU 1; a threaded one */
    KeInitializeDpc(&k.high, PlainDpc, NULL);
    KeSetImportanceDpc(&k.high, HighImportance);
    KeSetTargetProcessorDpc(&k.high, 1);
    (void)KeInsertQueueDpc(&k.high, NULL, NULL);
    KeInitializeThreadedDpc(&k.threaded, PlainDpc, NULL);
    (void)KeInsertQueueDpc(&k.threaded, NULL, NULL);
    LARGE_INTEGER wait;
    wait.QuadPart = -200000; /* 20 ms: both periodic expiries */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &wait);
}

static void test_timer_and_dpc_flag_events(void **state)
{
    (void)state;
    memset(&k, 0, sizeof k);
    kdpc_config cfg = kt_config(2, 5);
    cfg.trace_capacity = CAP;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, TimerEntry, NULL), KDPC_OK);
    assert_int_equal(k.periodic_runs, 2);
    assert_true(k.cancel_was);

    size_t set = need(m, 0, KDPC_EV_TIMER_SET, &k.timer);
    const kdpc_event *e = ev(m, set);
    uint64_t timer_id = e->object_id;
    assert_int_equal(e->routine, RP(TimerDpc));
    assert_int_equal(e->arg, e->time_ns + 1000000u); /* due: 1 ms from then */
    assert_int_equal(e->arg2, 0);                    /* one-shot */
    size_t exp = need(m, set, KDPC_EV_TIMER_EXPIRE, &k.timer);
    e = ev(m, exp);
    assert_int_equal(e->object_id, timer_id);
    assert_int_equal(e->routine, RP(TimerDpc));
    assert_int_equal(e->arg, 1); /* its DPC was queued */
    assert_int_equal(e->arg2, 0);
    assert_true(e->time_ns >= ev(m, set)->arg);
    size_t ins = need(m, exp, KDPC_EV_DPC_INSERT, &k.tdpc);
    assert_int_equal(ev(m, ins)->arg2, MediumImportance | KDPC_DPCF_TIMER);
    size_t beg = need(m, ins, KDPC_EV_DPC_BEGIN, &k.tdpc);
    assert_int_equal(ev(m, beg)->arg2, MediumImportance | KDPC_DPCF_TIMER);
    assert_int_equal(ev(m, beg)->arg, ev(m, ins)->arg);
    size_t set2 = need(m, beg, KDPC_EV_TIMER_SET, &k.timer);
    assert_int_equal(ev(m, set2)->routine, 0); /* no DPC */
    size_t can = need(m, set2, KDPC_EV_TIMER_CANCEL, &k.timer);
    assert_int_equal(ev(m, can)->object_id, timer_id);
    assert_int_equal(ev(m, can)->arg, 1);
    /* EX_TIMER: set, expiry (its DPC queued as a timer's), set again, deleted with Cancel */
    size_t xs = need(m, can, KDPC_EV_TIMER_SET, k.ex);
    assert_int_equal(ev(m, xs)->routine, RP(ExCallback));
    size_t xe = need(m, xs, KDPC_EV_TIMER_EXPIRE, k.ex);
    assert_int_equal(ev(m, xe)->routine, RP(ExCallback));
    assert_int_equal(ev(m, xe)->arg, 1);
    assert_int_equal(ev(m, need(m, xe, KDPC_EV_DPC_INSERT, NULL))->arg2 & KDPC_DPCF_TIMER,
                     KDPC_DPCF_TIMER);
    size_t xs2 = need(m, xe, KDPC_EV_TIMER_SET, k.ex);
    size_t xc = need(m, xs2, KDPC_EV_TIMER_CANCEL, k.ex);
    assert_int_equal(ev(m, xc)->arg, 1);
    assert_int_equal(ev(m, xc)->object_id, ev(m, xs)->object_id);
    size_t wq = need(m, xc, KDPC_EV_WORK_QUEUE, &k.wq);
    assert_int_equal(ev(m, wq)->routine, RP(ExWork));
    assert_int_equal(ev(m, wq)->arg, CriticalWorkQueue);
    assert_int_equal(ev(m, wq)->arg2, 0);
    size_t wb = need(m, wq, KDPC_EV_WORK_BEGIN, &k.wq);
    assert_int_equal(ev(m, wb)->arg, CriticalWorkQueue);
    assert_int_equal(ev(m, need(m, wb, KDPC_EV_WORK_END, &k.wq))->object_id, ev(m, wq)->object_id);
    /* periodic: arg2 the period in ns, on the set and each expiry; its cancel in the DPC */
    size_t pset = need(m, wq, KDPC_EV_TIMER_SET, &k.periodic);
    assert_int_equal(ev(m, pset)->arg2, 3000000u);
    size_t p1 = need(m, pset, KDPC_EV_TIMER_EXPIRE, &k.periodic);
    assert_int_equal(ev(m, p1)->arg2, 3000000u);
    size_t p2 = need(m, p1 + 1, KDPC_EV_TIMER_EXPIRE, &k.periodic);
    size_t pcan = need(m, p2, KDPC_EV_TIMER_CANCEL, &k.periodic);
    assert_int_equal(ev(m, pcan)->arg, 1);
    assert_int_equal(find(m, pcan, KDPC_EV_TIMER_EXPIRE, &k.periodic), NONE);
    /* targeted High importance DPC: queued for CPU 1, run there */
    size_t hi = need(m, 0, KDPC_EV_DPC_INSERT, &k.high);
    unsigned hf = HighImportance | KDPC_DPCF_TARGETED;
    assert_int_equal(ev(m, hi)->arg, 1);
    assert_int_equal(ev(m, hi)->arg2, hf);
    size_t hb = need(m, hi, KDPC_EV_DPC_BEGIN, &k.high);
    assert_int_equal(ev(m, hb)->arg, 1);
    assert_int_equal(ev(m, hb)->cpu, 1);
    assert_int_equal(ev(m, hb)->arg2, hf);
    size_t th = need(m, 0, KDPC_EV_DPC_INSERT, &k.threaded);
    assert_int_equal(ev(m, th)->arg2, MediumImportance | KDPC_DPCF_THREADED);
    /* no timer events for the kernel's own wait timeout (KeDelayExecutionThread) */
    size_t n = kdpc_trace_count(m);
    for (size_t i = 0; i < n; i++) {
        e = ev(m, i);
        if (e->kind >= KDPC_EV_TIMER_SET && e->kind <= KDPC_EV_TIMER_EXPIRE)
            assert_true(e->object == (uintptr_t)&k.timer || e->object == (uintptr_t)&k.periodic ||
                        e->object == (uintptr_t)k.ex);
    }
    kdpc_machine_destroy(m);
}

static void BadEntry(void *ctx)
{
    (void)ctx;
    KTIMER tm;
    KeInitializeTimer(&tm);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    (void)KeReadStateTimer(&tm); /* irql.ke_dispatch, a warning here */
    (void)KeReadStateTimer(&tm);
    KeLowerIrql(old);
}

static void test_violation_event_names_its_index(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 1);
    cfg.trace_capacity = CAP;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_rule_set(m, "irql.ke_dispatch", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, BadEntry, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 2);
    size_t a = need(m, 0, KDPC_EV_VIOLATION, NULL);
    size_t b = need(m, a + 1, KDPC_EV_VIOLATION, NULL);
    assert_int_equal(ev(m, a)->arg2, 0);
    assert_int_equal(ev(m, b)->arg2, 1);
    for (size_t i = 0; i < 2; i++) {
        const kdpc_violation *v = kdpc_machine_violation(m, ev(m, i == 0 ? a : b)->arg2);
        assert_non_null(v);
        assert_string_equal(v->rule, "irql.ke_dispatch");
        assert_int_equal(v->event, ev(m, i == 0 ? a : b)->seq);
    }
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_irp_dma_isr_and_dpc_events),
        cmocka_unit_test(test_work_item_events),
        cmocka_unit_test(test_dump_names_devices_and_static_routines),
        cmocka_unit_test(test_digest_is_the_same_for_the_same_seed),
        cmocka_unit_test(test_timer_and_dpc_flag_events),
        cmocka_unit_test(test_violation_event_names_its_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
