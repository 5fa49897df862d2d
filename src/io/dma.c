/* SPDX-License-Identifier: MIT */
/*
 * dma.c - DMA adapters: IoGetDmaAdapter and the DMA_OPERATIONS
 * (docs/facts/io.md 5.1-5.12).
 *
 * DESIGN
 * An adapter has one channel and a pool of map registers (pages of
 * MaximumLength + 1, at most 16). AllocateAdapterChannel requests are served
 * FIFO: when the channel is free and enough registers are, AdapterControl
 * runs at once, inside the call or later inside the call that freed them.
 * A MapRegisterBase is kdpc's record of one grant: which IRP it was for
 * (Dev->CurrentIrp), whether the channel and the registers are still held,
 * and which ranges are mapped and not yet flushed.
 *
 *   AdapterControl returns KeepObject ............ channel + registers held -> FreeAdapterChannel
 *                          DeallocateObjectKeepRegisters  registers held -> FreeMapRegisters
 *                          DeallocateObject ............. nothing held
 *
 * A logical address is the host address of the buffer; kdpc_dma_host_address
 * gives memory back only for a mapped, unflushed range or a common buffer.
 * Divergence: every kind of adapter (bus master or system DMA, 32- or
 * 64-bit, scatter/gather or not) behaves the same: 1 to 16 map registers, and
 * logical addresses that are host addresses (no 4 GB bounce buffering for a
 * 32-bit device), so a virtual device reaches memory only through
 * kdpc_dma_host_address.
 * Divergence: MapTransfer cuts Length to what the granted registers can map
 * for every adapter (Windows documents the update for scatter/gather only),
 * so an oversized transfer is visibly split rather than silently overrun.
 */
#include <stdlib.h>
#include <string.h>

#include <inttypes.h>

#include <kdpc/driver.h>
#include "dev/dev.h"
#include "io/io.h"

#define MAX_MAP_REGISTERS 16u
#define MAX_RANGES        32u

typedef struct mapreg {
    struct adapter *a;
    PIRP irp;
    ULONG count;
    bool held;            /* registers */
    bool channel;         /* the adapter channel too (KeepObject) */
    bool in_control;      /* AdapterControl is running */
    bool done_in_control; /* ... and completed its IRP (fine if it returns DeallocateObject) */
    struct {
        uintptr_t lo, hi;
    } ranges[MAX_RANGES];
    unsigned nranges;        /* mapped and not flushed */
    PSCATTER_GATHER_LIST sg; /* GetScatterGatherList's list (compared, never read once put) */
    struct mapreg *next;
} mapreg;

/* Released grants kept so a second free of a recent MapRegisterBase or list is
 * recognised by its address alone; older ones are freed. */
#define RETIRED_KEPT 64u

typedef struct request {
    PDEVICE_OBJECT dev;
    ULONG count;
    PDRIVER_CONTROL routine;
    PVOID ctx;
    struct request *next;
} request;

typedef struct common {
    void *va;
    ULONG len;
    struct common *next;
} common;

typedef struct adapter {
    DMA_ADAPTER pub; /* first */
    kdpc_machine *m;
    DEVICE_DESCRIPTION desc;
    ULONG max_regs, free_regs;
    bool channel_busy;
    request *queue, *queue_tail;
    mapreg *grants;
    common *commons;
    struct adapter *next;
} adapter;

static adapter *A(PDMA_ADAPTER p)
{
    return (adapter *)(void *)p;
}

/*
 * The machine of a DMA operation on @a, or NULL. An adapter pointer that is
 * not a live adapter of this machine (NULL, never returned by
 * IoGetDmaAdapter, garbage) is not read: io.invalid_object, the access
 * fault Windows takes (0x50, 0x1E or 0xA, see validate.c); off or a warning: the
 * operation does nothing.
 */
static kdpc_machine *ctx_of(const char *name, adapter *a)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    if (m == NULL || !kdpc__io_need(m, name, KDPC_RP(kdpc_IoGetDmaAdapter), a, KDPC_IOK_ADAPTER))
        return NULL;
    return a->m == m ? m : NULL;
}

static mapreg *new_grant(adapter *a, PIRP irp, ULONG count)
{
    mapreg *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->a = a;
    r->irp = irp;
    r->count = count;
    r->held = true;
    r->next = a->grants;
    a->grants = r;
    return r;
}

/* The grant @base names on @a, or NULL: a MapRegisterBase is only ever
 * compared, never followed, until it is found here. */
static mapreg *find_grant(adapter *a, PVOID base)
{
    for (mapreg *r = a->grants; r != NULL; r = r->next)
        if (r == base)
            return r;
    return NULL;
}

/* Free released grants beyond the RETIRED_KEPT most recent (the list is newest first). */
static void reap(adapter *a)
{
    unsigned kept = 0;
    for (mapreg **pr = &a->grants; *pr != NULL;) {
        mapreg *r = *pr;
        if (!r->held && !r->in_control && ++kept > RETIRED_KEPT) {
            *pr = r->next;
            free(r);
        } else {
            pr = &r->next;
        }
    }
}

/* The grant gives up the adapter channel, if it holds it. */
static void drop_channel(adapter *a, mapreg *r)
{
    if (r->channel) {
        r->channel = false;
        a->channel_busy = false;
    }
}

/* The grant gives up everything: the channel and its map registers. */
static void drop_registers(adapter *a, mapreg *r)
{
    drop_channel(a, r);
    r->held = false;
    a->free_regs += r->count;
}

static void check_flushed(kdpc_machine *m, mapreg *r, const char *when)
{
    if (r->nranges == 0)
        return;
    kdpc__violation(m, KDPC_R_DMA_NOT_FLUSHED, 0xE6, 0x0D, (uintptr_t)&r->a->pub, (uintptr_t)r,
                    r->ranges[0].lo, NULL,
                    "%s with %u mapped transfer(s) never flushed: call FlushAdapterBuffers "
                    "after each transfer",
                    when, r->nranges);
    r->nranges = 0; /* as a warning: flushed now */
}

static void serve(kdpc_machine *m, adapter *a)
{
    while (a->queue != NULL && !a->channel_busy && a->free_regs >= a->queue->count) {
        request *q = a->queue;
        a->queue = q->next;
        if (a->queue == NULL)
            a->queue_tail = NULL;
        a->channel_busy = true;
        a->free_regs -= q->count;
        mapreg *r = new_grant(a, q->dev->CurrentIrp, q->count);
        if (r == NULL) {
            a->channel_busy = false;
            a->free_regs += q->count;
            free(q);
            continue;
        }
        r->channel = true;
        if (r->irp != NULL)
            kdpc__io_irp_note(r->irp, "AdapterControl");
        PIRP irp = r->irp;
        r->in_control = true;
        IO_ALLOCATION_ACTION act = kdpc__io_call_control(q->routine, q->dev, r, q->ctx);
        r->in_control = false;
        free(q);
        if (act == DeallocateObjectKeepRegisters)
            drop_channel(a, r);
        if (act == DeallocateObject) {
            drop_registers(a, r);
        } else if (r->done_in_control) {
            /* 5.5: a routine that completes the IRP must return DeallocateObject */
            kdpc__violation(m, KDPC_R_DMA_ADAPTER_HELD, 0xE6, 0x2A, (uintptr_t)&a->pub,
                            (uintptr_t)r, (uintptr_t)irp, NULL,
                            "AdapterControl completed IRP %p and kept its %s: return "
                            "DeallocateObject",
                            (void *)irp,
                            act == KeepObject ? "adapter channel and map registers"
                                              : "map registers");
        }
    }
    reap(a);
}

static NTSTATUS allocate_channel(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                 ULONG NumberOfMapRegisters, PDRIVER_CONTROL ExecutionRoutine,
                                 PVOID Context)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("AllocateAdapterChannel", a);
    if (m == NULL ||
        !kdpc__io_need(m, "AllocateAdapterChannel", KDPC_RP(kdpc_IoGetDmaAdapter), DeviceObject,
                       KDPC_IOK_DEVICE) ||
        ExecutionRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    if (NumberOfMapRegisters > a->max_regs)
        return STATUS_INSUFFICIENT_RESOURCES;
    request *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    q->dev = DeviceObject;
    q->count = NumberOfMapRegisters == 0 ? 1 : NumberOfMapRegisters;
    q->routine = ExecutionRoutine;
    q->ctx = Context;
    if (a->queue_tail != NULL)
        a->queue_tail->next = q;
    else
        a->queue = q;
    a->queue_tail = q;
    serve(m, a);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

static void free_channel(PDMA_ADAPTER DmaAdapter)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("FreeAdapterChannel", a);
    if (m == NULL)
        return;
    mapreg *r = a->grants;
    while (r != NULL && !(r->channel && r->held))
        r = r->next;
    if (r == NULL) {
        kdpc__violation(m, KDPC_R_DMA_DOUBLE_FREE, 0xE6, 0x04, (uintptr_t)DmaAdapter, 0, 0, NULL,
                        "FreeAdapterChannel while no adapter channel is held (freed twice?)");
        return;
    }
    check_flushed(m, r, "FreeAdapterChannel");
    drop_registers(a, r);
    serve(m, a);
    kdpc__ke_point(m);
}

static void free_map_registers(PDMA_ADAPTER DmaAdapter, PVOID MapRegisterBase,
                               ULONG NumberOfMapRegisters)
{
    (void)NumberOfMapRegisters;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("FreeMapRegisters", a);
    if (m == NULL)
        return;
    mapreg *r = find_grant(a, MapRegisterBase);
    if (r == NULL || !r->held) {
        kdpc__violation(m, KDPC_R_DMA_DOUBLE_FREE, 0xE6, 0x05, (uintptr_t)DmaAdapter,
                        (uintptr_t)MapRegisterBase, 0, NULL,
                        "FreeMapRegisters for map registers that are not held (freed twice?)");
        return;
    }
    check_flushed(m, r, "FreeMapRegisters");
    drop_registers(a, r); /* after KeepObject the channel goes too */
    serve(m, a);
    kdpc__ke_point(m);
}

static PHYSICAL_ADDRESS map_transfer(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                     PVOID CurrentVa, PULONG Length, BOOLEAN WriteToDevice)
{
    (void)Mdl;
    (void)WriteToDevice;
    PHYSICAL_ADDRESS la;
    la.QuadPart = 0;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("MapTransfer", a);
    mapreg *r = m != NULL ? find_grant(a, MapRegisterBase) : NULL;
    if (r == NULL || Length == NULL || !r->held) {
        if (Length != NULL)
            *Length = 0; /* nothing mapped */
        return la;
    }
    ULONG limit = r->count * PAGE_SIZE - BYTE_OFFSET(CurrentVa);
    if (*Length > limit)
        *Length = limit;
    if (r->nranges < MAX_RANGES) {
        r->ranges[r->nranges].lo = (uintptr_t)CurrentVa;
        r->ranges[r->nranges].hi = (uintptr_t)CurrentVa + *Length;
        r->nranges++;
    }
    la.QuadPart = (LONGLONG)(uintptr_t)CurrentVa;
    kdpc__ke_point(m);
    return la;
}

static BOOLEAN flush_buffers(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                             PVOID CurrentVa, ULONG Length, BOOLEAN WriteToDevice)
{
    (void)Mdl;
    (void)Length;
    (void)WriteToDevice;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("FlushAdapterBuffers", a);
    mapreg *r = m != NULL ? find_grant(a, MapRegisterBase) : NULL;
    if (r == NULL)
        return FALSE;
    for (unsigned i = 0; i < r->nranges; i++) {
        if (r->ranges[i].lo == (uintptr_t)CurrentVa) {
            r->ranges[i] = r->ranges[--r->nranges];
            kdpc__ke_point(m);
            return TRUE;
        }
    }
    kdpc__ke_point(m);
    return FALSE;
}

static ULONG get_alignment(PDMA_ADAPTER DmaAdapter)
{
    (void)DmaAdapter;
    return 1;
}

static ULONG read_counter(PDMA_ADAPTER DmaAdapter)
{
    (void)DmaAdapter;
    return 0; /* the simulated transfer is always complete when the device says so */
}

static PVOID alloc_common(PDMA_ADAPTER DmaAdapter, ULONG Length, PPHYSICAL_ADDRESS LogicalAddress,
                          BOOLEAN CacheEnabled)
{
    (void)CacheEnabled;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("AllocateCommonBuffer", a);
    if (m == NULL || LogicalAddress == NULL || Length == 0 || kdpc__pool_fail(m))
        return NULL;
    common *cb = calloc(1, sizeof(*cb));
    void *va = calloc(1, Length);
    if (cb == NULL || va == NULL) {
        free(cb);
        free(va);
        return NULL;
    }
    cb->va = va;
    cb->len = Length;
    cb->next = a->commons;
    a->commons = cb;
    LogicalAddress->QuadPart = (LONGLONG)(uintptr_t)va;
    return va;
}

static void free_common(PDMA_ADAPTER DmaAdapter, ULONG Length, PHYSICAL_ADDRESS LogicalAddress,
                        PVOID VirtualAddress, BOOLEAN CacheEnabled)
{
    (void)Length;
    (void)LogicalAddress;
    (void)CacheEnabled;
    adapter *a = A(DmaAdapter);
    if (ctx_of("FreeCommonBuffer", a) == NULL)
        return;
    for (common **p = &a->commons; *p != NULL; p = &(*p)->next) {
        if ((*p)->va == VirtualAddress) {
            common *cb = *p;
            *p = cb->next;
            free(cb->va);
            free(cb);
            return;
        }
    }
}

static NTSTATUS get_sg_list(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl,
                            PVOID CurrentVa, ULONG Length, PDRIVER_LIST_CONTROL ExecutionRoutine,
                            PVOID Context, BOOLEAN WriteToDevice)
{
    (void)Mdl;
    (void)WriteToDevice;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("GetScatterGatherList", a);
    if (m == NULL ||
        !kdpc__io_need(m, "GetScatterGatherList", KDPC_RP(kdpc_IoGetDmaAdapter), DeviceObject,
                       KDPC_IOK_DEVICE) ||
        ExecutionRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    ULONG need = ADDRESS_AND_SIZE_TO_SPAN_PAGES(CurrentVa, Length);
    if (need > a->max_regs || need > a->free_regs)
        return STATUS_INSUFFICIENT_RESOURCES; /* Divergence: not queued for later */
    PSCATTER_GATHER_LIST sg = calloc(1, sizeof(*sg));
    mapreg *r = sg != NULL ? new_grant(a, DeviceObject->CurrentIrp, need) : NULL;
    if (r == NULL) {
        free(sg);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    a->free_regs -= need;
    r->ranges[0].lo = (uintptr_t)CurrentVa;
    r->ranges[0].hi = (uintptr_t)CurrentVa + Length;
    r->nranges = 1;
    sg->NumberOfElements = 1;
    r->sg = sg;
    sg->Elements[0].Address.QuadPart = (LONGLONG)(uintptr_t)CurrentVa;
    sg->Elements[0].Length = Length;
    ExecutionRoutine(DeviceObject, DeviceObject->CurrentIrp, sg, Context);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

static void put_sg_list(PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather,
                        BOOLEAN WriteToDevice)
{
    (void)WriteToDevice;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("PutScatterGatherList", a);
    if (m == NULL || ScatterGather == NULL)
        return;
    mapreg *r = a->grants;
    while (r != NULL && !(r->sg == ScatterGather && r->held))
        r = r->next;
    if (r == NULL) {
        kdpc__violation(m, KDPC_R_DMA_DOUBLE_FREE, 0xE6, 0x05, (uintptr_t)DmaAdapter,
                        (uintptr_t)ScatterGather, 0, NULL,
                        "PutScatterGatherList of a list already put back");
        return;
    }
    r->nranges = 0; /* PutScatterGatherList flushes (5.10) */
    drop_registers(a, r);
    free(ScatterGather);
    serve(m, a);
    kdpc__ke_point(m);
}

static void put_adapter(PDMA_ADAPTER DmaAdapter)
{
    (void)DmaAdapter; /* kept until the machine goes: later calls stay safe */
}

static DMA_OPERATIONS ops = {
    sizeof(DMA_OPERATIONS), put_adapter,  alloc_common,       free_common,  allocate_channel,
    flush_buffers,          free_channel, free_map_registers, map_transfer, get_alignment,
    read_counter,           get_sg_list,  put_sg_list,
};

PDMA_ADAPTER kdpc_IoGetDmaAdapter(PDEVICE_OBJECT PhysicalDeviceObject,
                                  PDEVICE_DESCRIPTION DeviceDescription,
                                  PULONG NumberOfMapRegisters)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoGetDmaAdapter", &c);
    /* NULL is a legacy driver's call; anything else must be a live device object */
    if (m == NULL || (PhysicalDeviceObject != NULL &&
                      !kdpc__io_need(m, "IoGetDmaAdapter", KDPC_RP(kdpc_IoGetDmaAdapter),
                                     PhysicalDeviceObject, KDPC_IOK_DEVICE)))
        return NULL;
    if (DeviceDescription == NULL || DeviceDescription->Version > DEVICE_DESCRIPTION_VERSION2)
        return NULL;
    adapter *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    if (!kdpc__io_register(m, &a->pub, KDPC_IOK_ADAPTER)) {
        free(a);
        return NULL;
    }
    a->pub.Version = 1;
    a->pub.Size = (USHORT)sizeof(DMA_ADAPTER);
    a->pub.DmaOperations = &ops;
    a->m = m;
    a->desc = *DeviceDescription;
    ULONG regs = BYTES_TO_PAGES(DeviceDescription->MaximumLength) + 1;
    a->max_regs = regs > MAX_MAP_REGISTERS ? MAX_MAP_REGISTERS : regs;
    a->free_regs = a->max_regs;
    kdpc__io *io = kdpc__io_of(m);
    a->next = io->adapters;
    io->adapters = a;
    if (NumberOfMapRegisters != NULL)
        *NumberOfMapRegisters = a->max_regs;
    kdpc__ke_point(m);
    return &a->pub;
}

void kdpc__io_dma_completion(kdpc_machine *m, PIRP irp, bool *used)
{
    for (adapter *a = kdpc__io_of(m)->adapters; a != NULL; a = a->next) {
        for (mapreg *r = a->grants; r != NULL; r = r->next) {
            if (r->irp != irp)
                continue;
            *used = true;
            check_flushed(m, r, "IoCompleteRequest");
            if (r->in_control)
                r->done_in_control = true; /* judged by what the routine returns */
            else if (r->held)
                kdpc__violation(m, KDPC_R_DMA_ADAPTER_HELD, 0xE6, 0x2A, (uintptr_t)&a->pub,
                                (uintptr_t)r, (uintptr_t)irp, NULL,
                                "IRP %p completed while its %s still held: FreeAdapterChannel / "
                                "FreeMapRegisters first",
                                (void *)irp,
                                r->channel ? "adapter channel and map registers are"
                                           : "map registers are");
            r->irp = NULL; /* this IRP is done with; the grant stays as it is */
        }
    }
}

void kdpc__io_dma_free(kdpc_machine *m)
{
    kdpc__io *io = kdpc__io_of(m);
    while (io->adapters != NULL) {
        adapter *a = io->adapters;
        io->adapters = a->next;
        while (a->grants != NULL) {
            mapreg *r = a->grants;
            a->grants = r->next;
            if (r->sg != NULL && r->held)
                free(r->sg); /* never put back */
            free(r);
        }
        while (a->queue != NULL) {
            request *q = a->queue;
            a->queue = q->next;
            free(q);
        }
        while (a->commons != NULL) {
            common *cb = a->commons;
            a->commons = cb->next;
            free(cb->va);
            free(cb);
        }
        free(a);
    }
}

void *kdpc_dma_host_address(const kdpc_machine *m, uint64_t logical, size_t length)
{
    if (m == NULL || m->ke == NULL)
        return NULL;
    uintptr_t lo = (uintptr_t)logical;
    uintptr_t hi = lo + length;
    for (adapter *a = kdpc__io_of(m)->adapters; a != NULL; a = a->next) {
        for (mapreg *r = a->grants; r != NULL; r = r->next) {
            for (unsigned i = 0; i < r->nranges; i++) {
                if (lo >= r->ranges[i].lo && hi <= r->ranges[i].hi) /* the pages are locked */
                    return kdpc__pool_system_va((kdpc_machine *)(uintptr_t)m, (void *)lo);
            }
        }
        for (common *cb = a->commons; cb != NULL; cb = cb->next) {
            uintptr_t b = (uintptr_t)cb->va;
            if (lo >= b && hi <= b + cb->len)
                return (void *)lo;
        }
    }
    return NULL;
}

/* The device layer's DMA engine (dev/dmaengine.c) reaches host memory through here. */
static void *dev_dma_host(kdpc_machine *m, uint64_t logical, size_t len)
{
    return kdpc_dma_host_address(m, logical, len);
}

/*
 * A device moved data at an address no live mapping covers: the driver programmed it with a
 * logical address it never mapped, already flushed, or freed. Windows' nearest counterpart is
 * DMA verification's 0xE6 with P1 0x26 (the IOMMU reported a DMA violation by a device).
 * Divergence: P2..P4 are kdpc's own: the logical address, the length, and the device.
 */
static void dev_dma_unmapped(kdpc_machine *m, kdpc_device *dev, uint64_t logical, size_t len,
                             bool write)
{
    kdpc__violation(m, KDPC_R_DEV_DMA_UNMAPPED, 0xE6, 0x26, logical, len, (uintptr_t)dev, NULL,
                    "device %s: its DMA engine %s %zu bytes at logical address 0x%" PRIx64
                    ", which no mapped, unflushed transfer and no common buffer covers: the "
                    "driver programmed the device with an address it does not map",
                    kdpc_device_name(dev), write ? "wrote" : "read", len, logical);
}

void kdpc__io_dma_init(kdpc_machine *m)
{
    kdpc__dev_hooks *h = kdpc__dev_hooks_of(m);
    h->dma_host = dev_dma_host;
    h->dma_unmapped = dev_dma_unmapped;
}
