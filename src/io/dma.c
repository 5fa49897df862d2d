/* SPDX-License-Identifier: MIT */
/*
 * dma.c - DMA adapters: IoGetDmaAdapter and the DMA_OPERATIONS
 * (docs/facts/io.md 5.1-5.12, docs/facts/dma.md).
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
 *
 * Versions 2 and 3 (docs/facts/dma.md) reuse the same grants and queue. A
 * version 3 request names a DMA transfer context; kdpc's record of it (tcrec)
 * lives beside the driver's opaque buffer, which is only compared. A
 * synchronous request without an execution routine is a grant the caller
 * holds until FreeAdapterObject. MapTransferEx maps one range per MDL of the
 * chain (host memory is contiguous within an MDL), tagged with (Mdl, Offset)
 * so FlushAdapterBuffersEx finds it; a system DMA completion routine is a DPC
 * (dmadone) queued on the calling CPU, cancelled by a flush or
 * CancelMappedTransfer that comes first.
 *
 * DMA verification (bug check 0xE6, class DMA): every member checks its adapter (0x19 NULL,
 * 0x18 released) and IRQL (0x13) in ctx_of; the buffer checks (0x0E, 0x1B, 0x1F, 0x21, 0x24,
 * 0x1D) run before anything is mapped; FlushAdapterBuffers checks what it flushes (0x20, 0x16,
 * 0x00); frees check what is still held or mapped (0x03-0x06, 0x10); PutDmaAdapter what is
 * left (0x07-0x0A) and marks the adapter released; a common buffer carries padding that
 * FreeCommonBuffer checks (0x0F). As a warning or off, each goes on as a free kernel would.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <inttypes.h>

#include <kdpc/driver.h>
#include "dev/dev.h"
#include "io/io.h"
#include "verifier/ddiirql.h"

#define MAX_MAP_REGISTERS 16u
#define MAX_RANGES        32u

typedef struct tcrec tcrec;

typedef struct mapreg {
    struct adapter *a;
    PIRP irp;
    PDEVICE_OBJECT dev; /* whose request it was (a DmaCompletionRoutine's DeviceObject) */
    tcrec *tc;          /* the DMA transfer context it was granted for (version 3), or NULL */
    ULONG count;
    bool held;            /* registers */
    bool mapped_once;     /* MapTransfer mapped something with it (FlushAdapterBuffers' 0x20) */
    bool channel;         /* the adapter channel too (KeepObject) */
    bool in_control;      /* AdapterControl is running */
    bool done_in_control; /* ... and completed its IRP (fine if it returns DeallocateObject) */
    struct {
        uintptr_t lo, hi;
        const MDL *mdl; /* MapTransferEx's Mdl and Offset: what FlushAdapterBuffersEx names */
        ULONGLONG off;
        bool ex;
    } ranges[MAX_RANGES];
    unsigned nranges;        /* mapped and not flushed */
    PSCATTER_GATHER_LIST sg; /* GetScatterGatherList's list (compared, never read once put) */
    bool sg_owned;           /* kdpc allocated sg (else it is the driver's buffer) */
    bool sg_put;             /* its list was put back while the adapter object was still held */
    struct mapreg *next;
} mapreg;

/* What happened to a DMA transfer context (InitializeDmaTransferContext's buffer). */
typedef enum { TC_IDLE, TC_PENDING, TC_GRANTED, TC_CANCELLED } tc_state;

/* kdpc's record of a DMA transfer context: kept beside the driver's opaque buffer (which is
 * only compared, never read), so a stale or foreign pointer is never followed. */
struct tcrec {
    const void *ptr;
    tc_state state;
    bool transfers_cancelled; /* CancelMappedTransfer: no further MapTransferEx */
    struct tcrec *next;
};

/* Released grants kept so a second free of a recent MapRegisterBase or list is
 * recognised by its address alone; older ones are freed. */
#define RETIRED_KEPT 64u

typedef struct request {
    PDEVICE_OBJECT dev;
    ULONG count;
    PDRIVER_CONTROL routine; /* AdapterControl, or NULL for a synchronous caller (version 3) */
    PVOID ctx;
    tcrec *tc;        /* version 3: the transfer context, else NULL */
    PVOID *out_base;  /* synchronous without AdapterControl: gets the MapRegisterBase */
    bool list;        /* GetScatterGatherListEx / BuildScatterGatherListEx */
    const char *name; /* the routine that made the request (for a report) */
    PDRIVER_LIST_CONTROL list_routine;
    const MDL *mdl; /* list: the transfer */
    ULONGLONG off;
    ULONG len;
    PSCATTER_GATHER_LIST sgbuf; /* list: the driver's buffer, or NULL (kdpc allocates) */
    PSCATTER_GATHER_LIST *out_sg;
    struct request *next;
} request;

/* A common buffer: DMA verification's padding of PAD_BYTES of PAD_FILL on each side (what the
 * driver or device writes outside the buffer shows at FreeCommonBuffer: dma.buffer_overrun). */
#define PAD_BYTES 64u
#define PAD_FILL  0x0Fu
typedef struct common {
    void *va;
    unsigned char *base; /* va - PAD_BYTES: what malloc gave */
    ULONG len;
    struct common *next;
} common;

/* A system DMA transfer's DmaCompletionRoutine, due when its DPC runs (the controller's
 * completion interrupt). */
typedef struct dmadone {
    KDPC dpc;
    struct adapter *a;
    PDEVICE_OBJECT dev;
    PDMA_COMPLETION_ROUTINE routine;
    PVOID ctx;
    const void *grant; /* the MapRegisterBase (compared only) */
    tcrec *tc;
    bool cancelled; /* flushed or CancelMappedTransfer before it ended */
    struct dmadone *next;
} dmadone;

typedef struct adapter {
    DMA_ADAPTER pub; /* first */
    kdpc_machine *m;
    DEVICE_DESCRIPTION desc;
    ULONG version; /* 1..3: the DMA_OPERATIONS members the driver asked for */
    ULONG max_regs, free_regs;
    tcrec *contexts;
    dmadone *done; /* completion routines not run yet */
    bool channel_busy;
    request *queue, *queue_tail;
    mapreg *grants;
    common *commons;
    bool put;                     /* PutDmaAdapter: every later use is dma.adapter_released */
    const DEVICE_OBJECT *pdo;     /* IoGetDmaAdapter's PhysicalDeviceObject (compared only) */
    ULONG sg_allocated, sg_freed; /* scatter/gather lists made and put back (0xE6/0x06) */
    struct adapter *next;
} adapter;

static adapter *A(PDMA_ADAPTER p)
{
    return (adapter *)(void *)p;
}

/* The IRQL a DMA_OPERATIONS member is documented for (DMA verification checks it: dma.irql). */
#define IRQL_EXACT    0x100u
#define AT_PASSIVE    (PASSIVE_LEVEL | IRQL_EXACT)
#define AT_DISPATCH   (DISPATCH_LEVEL | IRQL_EXACT)
#define UPTO_DISPATCH DISPATCH_LEVEL
#define ANY_IRQL      HIGH_LEVEL

/*
 * DMA verification's IRQL check: 0xE6 P1 0x13, P2 0x01 (a member called at exactly one IRQL
 * found at another; P3 that IRQL) or 0x02 (above a member's highest; P3 that IRQL), P4 the
 * IRQL found. A warning or off: the call goes on.
 * Divergence: the DDI compliance rule IrqlDispatch (0xC4/0x20003) names FreeAdapterChannel,
 * FreeMapRegisters, GetScatterGatherList and PutScatterGatherList too, but DDI compliance
 * checking sees a driver's imports; a DMA_OPERATIONS member is called through the adapter's
 * table, where only DMA verification (0xE6) sees it.
 */
static void irql_check(kdpc_machine *m, const char *name, unsigned spec, unsigned now)
{
    unsigned want = spec & 0xFFu;
    bool exact = (spec & IRQL_EXACT) != 0;
    if (exact ? now == want : now <= want)
        return;
    kdpc__violation(m, KDPC_R_DMA_IRQL, 0xE6, 0x13, exact ? 0x01u : 0x02u, want, now, NULL,
                    "%s called at IRQL %u: it is called at %s %s", name, now,
                    exact ? "exactly" : "or below",
                    want == DISPATCH_LEVEL ? "DISPATCH_LEVEL" : "PASSIVE_LEVEL");
}

/*
 * The machine of a DMA operation on @a at an IRQL @irql allows, or NULL. A NULL adapter is
 * dma.null_adapter (0xE6/0x19); one PutDmaAdapter released is dma.adapter_released (0x18); any
 * other pointer that is not a live adapter of this machine (never returned by IoGetDmaAdapter,
 * garbage) is not read: io.invalid_object, the access fault Windows takes (0x50, 0x1E or 0xA,
 * see validate.c). As a warning or off, those operations do nothing; a wrong IRQL (dma.irql)
 * goes on.
 */
static kdpc_machine *ctx_of(const char *name, adapter *a, unsigned irql)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    if (m == NULL)
        return NULL;
    if (a == NULL) {
        kdpc__violation(m, KDPC_R_DMA_NULL_ADAPTER, 0xE6, 0x19, 0, 0, 0, NULL,
                        "%s with a NULL DMA adapter", name);
        /* as a warning or off: what Windows without DMA verification does, the HAL routine
         * reads through the NULL adapter (io.invalid_object's access fault) */
        kdpc__io_invalid_access(m, name, KDPC_RP(kdpc_IoGetDmaAdapter), a, KDPC_IOK_ADAPTER);
        return NULL;
    }
    if (!kdpc__io_need(m, name, KDPC_RP(kdpc_IoGetDmaAdapter), a, KDPC_IOK_ADAPTER) || a->m != m)
        return NULL;
    if (a->put) {
        kdpc__violation(m, KDPC_R_DMA_ADAPTER_RELEASED, 0xE6, 0x18, (uintptr_t)&a->pub, 0, 0, NULL,
                        "%s on a DMA adapter already released by PutDmaAdapter", name);
        return NULL;
    }
    irql_check(m, name, irql, c->irql);
    return m;
}

/* Tracing: a dma-grant / -map / -flush / -free event of @a (KDPC_EVENT_MAP). */
static void trace_dma(kdpc_machine *m, unsigned kind, adapter *a, kdpc_routine_ptr routine,
                      uint64_t arg, uint64_t arg2, const void *dev)
{
    if (m->trace == NULL)
        return;
    if (kind == KDPC_EV_DMA_GRANT)
        arg2 = kdpc__trace_id(m, dev);
    kdpc__trace_emit(m, kind, kdpc__cur_cpu(), &a->pub, routine, arg, arg2);
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

/* The grant holding @a's adapter channel (FreeAdapterChannel / FreeAdapterObject), or NULL. */
static mapreg *channel_grant(adapter *a)
{
    for (mapreg *r = a->grants; r != NULL; r = r->next)
        if (r->channel && r->held)
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

/*
 * dma.not_flushed: @r still has mapped transfers no FlushAdapterBuffers ended. Freeing its map
 * registers (@freeing: FreeAdapterChannel, FreeMapRegisters, FreeAdapterObject) is 0xE6 P1 0x10
 * (P2 the registers still mapped, P3 the adapter, P4 kdpc's record of the grant); completing
 * its IRP is 0x0D (P2 the bytes mapped, P3 the most its registers map at a time, P4 the
 * adapter). As a warning the transfers count as flushed from then on.
 */
static void check_flushed(kdpc_machine *m, mapreg *r, const char *when, bool freeing)
{
    if (r->nranges == 0)
        return;
    ULONG regs = 0, bytes = 0;
    for (unsigned i = 0; i < r->nranges; i++) {
        ULONG len = (ULONG)(r->ranges[i].hi - r->ranges[i].lo);
        regs += ADDRESS_AND_SIZE_TO_SPAN_PAGES(r->ranges[i].lo, len);
        bytes += len;
    }
    if (freeing)
        kdpc__violation(m, KDPC_R_DMA_NOT_FLUSHED, 0xE6, 0x10, regs, (uintptr_t)&r->a->pub,
                        (uintptr_t)r, NULL,
                        "%s while %lu map register(s) are still mapped by %u transfer(s) never "
                        "flushed: call FlushAdapterBuffers after each transfer",
                        when, (unsigned long)regs, r->nranges);
    else
        kdpc__violation(m, KDPC_R_DMA_NOT_FLUSHED, 0xE6, 0x0D, bytes,
                        (uint64_t)r->count * PAGE_SIZE, (uintptr_t)&r->a->pub, NULL,
                        "%s with %u mapped transfer(s) never flushed: call FlushAdapterBuffers "
                        "after each transfer",
                        when, r->nranges);
    r->nranges = 0; /* as a warning: flushed now */
}

static NTSTATUS build_list(mapreg *r, const MDL *mdl, ULONGLONG off, ULONG len,
                           PSCATTER_GATHER_LIST buf, PSCATTER_GATHER_LIST *out);
static void call_list(PDRIVER_LIST_CONTROL routine, PDEVICE_OBJECT dev, PSCATTER_GATHER_LIST sg,
                      PVOID ctx);
static bool mdl_chain_ok(kdpc_machine *m, const char *name, const MDL *mdl);

/*
 * Grant @q now (the caller saw the channel and q->count registers free) and
 * run what it asked for; @q is freed. AdapterControl's IO_ALLOCATION_ACTION
 * decides what stays held (5.5); a version 3 request without AdapterControl
 * keeps the channel and registers until FreeAdapterObject; a scatter/gather
 * request (GetScatterGatherListEx / BuildScatterGatherListEx) keeps its
 * registers until PutScatterGatherList.
 */
static bool run_request(kdpc_machine *m, adapter *a, request *heap)
{
    /* freed before any driver routine runs: a bug check inside AdapterControl or
     * AdapterListControl ends the run there, and nothing after the call frees it */
    request copy = *heap, *q = &copy;
    free(heap);
    a->channel_busy = true;
    a->free_regs -= q->count;
    mapreg *r = new_grant(a, q->dev->CurrentIrp, q->count);
    if (r == NULL) {
        a->channel_busy = false;
        a->free_regs += q->count;
        if (q->tc != NULL)
            q->tc->state = TC_IDLE;
        return false;
    }
    r->channel = true;
    r->dev = q->dev;
    r->tc = q->tc;
    if (q->tc != NULL)
        q->tc->state = TC_GRANTED;
    trace_dma(m, KDPC_EV_DMA_GRANT, a, q->list ? KDPC_RP(q->list_routine) : KDPC_RP(q->routine),
              q->count, 0, q->dev);
    if (q->list) {
        PSCATTER_GATHER_LIST sg = NULL;
        if (build_list(r, q->mdl, q->off, q->len, q->sgbuf, &sg) != STATUS_SUCCESS) {
            drop_registers(a, r); /* checked before queueing: only memory can run out here */
            return false;
        }
        if (q->out_sg != NULL)
            *q->out_sg = sg;
        if (q->list_routine != NULL) {
            if (r->irp != NULL)
                kdpc__io_irp_note(r->irp, "AdapterListControl");
            call_list(q->list_routine, q->dev, sg, q->ctx);
            drop_channel(a, r); /* the adapter is free again; the list keeps the registers */
            if (r->sg_put)
                r->held = false; /* put back inside AdapterListControl: nothing is left */
        }
        return true;
    }
    if (q->routine == NULL) { /* synchronous, no AdapterControl: the caller holds it all */
        *q->out_base = r;
        return true;
    }
    if (r->irp != NULL)
        kdpc__io_irp_note(r->irp, "AdapterControl");
    PIRP irp = r->irp;
    r->in_control = true;
    IO_ALLOCATION_ACTION act = kdpc__io_call_control(q->routine, q->dev, r, q->ctx);
    r->in_control = false;
    if (act == DeallocateObjectKeepRegisters)
        drop_channel(a, r);
    if (act == DeallocateObject) {
        drop_registers(a, r);
    } else if (r->done_in_control) {
        /* 5.5: a routine that completes the IRP must return DeallocateObject */
        kdpc__violation(m, KDPC_R_DMA_ADAPTER_HELD, 0xE6, 0x2A, (uintptr_t)&a->pub, (uintptr_t)r,
                        (uintptr_t)irp, NULL,
                        "AdapterControl completed IRP %p and kept its %s: return "
                        "DeallocateObject",
                        (void *)irp,
                        act == KeepObject ? "adapter channel and map registers" : "map registers");
    }
    return true;
}

static void serve(kdpc_machine *m, adapter *a)
{
    while (a->queue != NULL && !a->channel_busy && a->free_regs >= a->queue->count) {
        request *q = a->queue;
        /* The driver may have deleted the device or freed the MDL while the request waited:
         * checked before either is read, with the request still queued (a bug check leaves it
         * for kdpc__io_dma_free); as a warning the request is dropped (its context can be
         * initialised again). */
        bool ok =
            kdpc__io_need(m, q->name, KDPC_RP(kdpc_IoGetDmaAdapter), q->dev, KDPC_IOK_DEVICE) &&
            (!q->list || mdl_chain_ok(m, q->name, q->mdl));
        a->queue = q->next;
        if (a->queue == NULL)
            a->queue_tail = NULL;
        if (!ok) {
            if (q->tc != NULL)
                q->tc->state = TC_IDLE;
            free(q);
            continue;
        }
        (void)run_request(m, a, q); /* out of memory: the request is dropped */
    }
    reap(a);
}

static void enqueue(adapter *a, request *q)
{
    if (a->queue_tail != NULL)
        a->queue_tail->next = q;
    else
        a->queue = q;
    a->queue_tail = q;
}

/*
 * dma.second_channel: @dev asks @a for an adapter channel (AllocateAdapterChannel) while it
 * holds one, or while one it asked for still waits. Windows allows one adapter channel per
 * adapter at a time: 0xE6 P1 0x0B, P2 the channels that would be outstanding, P3 the adapter,
 * P4 the device object. As a warning the request is queued behind the first.
 * Divergence: counted per device object (AllocateAdapterChannel keeps its wait block in the
 * device object), so device objects that share one adapter still queue for its channel as a
 * free kernel serves them; AllocateAdapterChannelEx is not checked (a transfer context per
 * request: several may wait).
 */
static void check_second_channel(kdpc_machine *m, adapter *a, PDEVICE_OBJECT dev, const char *name)
{
    ULONG n = 0;
    for (mapreg *r = a->grants; r != NULL; r = r->next)
        n += r->held && r->channel && r->dev == dev;
    for (request *q = a->queue; q != NULL; q = q->next)
        n += !q->list && q->dev == dev;
    if (n == 0)
        return;
    kdpc__violation(m, KDPC_R_DMA_SECOND_CHANNEL, 0xE6, 0x0B, n + 1, (uintptr_t)&a->pub,
                    (uintptr_t)dev, NULL,
                    "%s while device %p already holds or waits for this adapter's channel: free "
                    "it (FreeAdapterChannel) before asking for the next",
                    name, (void *)dev);
}

/* dma.too_many_map_registers: one request needs more map registers than IoGetDmaAdapter said
 * the adapter has (0xE6 P1 0x0C, P2 the registers needed, P3 the maximum, P4 the adapter).
 * Off or a warning: false, and the caller fails the request as a free kernel does. */
static bool regs_ok(kdpc_machine *m, adapter *a, ULONG need, const char *name)
{
    if (need <= a->max_regs)
        return true;
    kdpc__violation(m, KDPC_R_DMA_TOO_MANY_MAP_REGISTERS, 0xE6, 0x0C, need, a->max_regs,
                    (uintptr_t)&a->pub, NULL,
                    "%s needs %lu map registers; the adapter has %lu (the NumberOfMapRegisters "
                    "IoGetDmaAdapter returned): split the transfer",
                    name, (unsigned long)need, (unsigned long)a->max_regs);
    return false;
}

static NTSTATUS allocate_channel(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                 ULONG NumberOfMapRegisters, PDRIVER_CONTROL ExecutionRoutine,
                                 PVOID Context)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("AllocateAdapterChannel", a, AT_DISPATCH);
    if (m == NULL ||
        !kdpc__io_need(m, "AllocateAdapterChannel", KDPC_RP(kdpc_IoGetDmaAdapter), DeviceObject,
                       KDPC_IOK_DEVICE) ||
        ExecutionRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!regs_ok(m, a, NumberOfMapRegisters, "AllocateAdapterChannel"))
        return STATUS_INSUFFICIENT_RESOURCES;
    check_second_channel(m, a, DeviceObject, "AllocateAdapterChannel");
    request *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    q->dev = DeviceObject;
    q->name = "AllocateAdapterChannel";
    q->count = NumberOfMapRegisters == 0 ? 1 : NumberOfMapRegisters;
    q->routine = ExecutionRoutine;
    q->ctx = Context;
    enqueue(a, q);
    serve(m, a);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

static void free_channel(PDMA_ADAPTER DmaAdapter)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("FreeAdapterChannel", a, AT_DISPATCH);
    if (m == NULL)
        return;
    mapreg *r = channel_grant(a);
    if (r == NULL) {
        kdpc__violation(m, KDPC_R_DMA_DOUBLE_FREE, 0xE6, 0x04, 1, (uintptr_t)DmaAdapter, 0, NULL,
                        "FreeAdapterChannel while no adapter channel is held (freed twice?)");
        return;
    }
    check_flushed(m, r, "FreeAdapterChannel", true);
    trace_dma(m, KDPC_EV_DMA_FREE, a, NULL, r->count, 0, NULL);
    drop_registers(a, r);
    serve(m, a);
    kdpc__ke_point(m);
}

static void free_map_registers(PDMA_ADAPTER DmaAdapter, PVOID MapRegisterBase,
                               ULONG NumberOfMapRegisters)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("FreeMapRegisters", a, AT_DISPATCH);
    if (m == NULL)
        return;
    mapreg *r = find_grant(a, MapRegisterBase);
    if (r == NULL || !r->held) {
        kdpc__violation(m, KDPC_R_DMA_DOUBLE_FREE, 0xE6, 0x05, NumberOfMapRegisters,
                        (uintptr_t)DmaAdapter, (uintptr_t)MapRegisterBase, NULL,
                        "FreeMapRegisters for map registers that are not held (freed twice?)");
        return;
    }
    check_flushed(m, r, "FreeMapRegisters", true);
    trace_dma(m, KDPC_EV_DMA_FREE, a, NULL, r->count, 0, NULL);
    drop_registers(a, r); /* after KeepObject the channel goes too */
    serve(m, a);
    kdpc__ke_point(m);
}

/*
 * The buffer checks of DMA verification, for a transfer of @len bytes at @va of the MDL chain
 * @mdl (@one: of that one MDL, as MapTransfer maps it): false after a report, and the caller
 * maps nothing.
 *   dma.zero_length   @len is 0 (0xE6 P1 0x21, P2 @grant: kdpc's record, or 0)
 *   dma.outside_mdl   @va outside the MDL or chain (0x1B, P2 @va, P3 @mdl); @len past the end of the
 *                     MDL (MapTransfer: 0x1F, P2 0x03, P3 @mdl, P4 @len) or of the chain (0x24,
 *                     P2 the bytes past its end, P3 @mdl)
 * @mdl NULL: only the length is checked (the callers decide what NULL means).
 */
static bool span_ok(kdpc_machine *m, const char *name, const MDL *mdl, uintptr_t va, ULONG len,
                    bool one, const void *grant)
{
    if (len == 0) {
        kdpc__violation(m, KDPC_R_DMA_ZERO_LENGTH, 0xE6, 0x21, (uintptr_t)grant, 0, 0, NULL,
                        "%s of a zero-length buffer", name);
        return false;
    }
    if (mdl == NULL)
        return true;
    uintptr_t base = (uintptr_t)MmGetMdlVirtualAddress(mdl);
    ULONGLONG total = 0;
    for (const MDL *p = mdl; p != NULL; p = one ? NULL : p->Next)
        total += p->ByteCount;
    if (va < base || va - base >= total) {
        kdpc__violation(m, KDPC_R_DMA_OUTSIDE_MDL, 0xE6, 0x1B, va, (uintptr_t)mdl, 0, NULL,
                        "%s at address %p, outside its MDL %p ([%p, +%lu))", name, (void *)va,
                        (const void *)mdl, (void *)base, (unsigned long)mdl->ByteCount);
        return false;
    }
    ULONGLONG room = total - (va - base);
    if (len <= room)
        return true;
    if (one)
        kdpc__violation(m, KDPC_R_DMA_OUTSIDE_MDL, 0xE6, 0x1F, 0x03, (uintptr_t)mdl, len, NULL,
                        "%s of %lu bytes at %p: the MDL %p holds only %llu from there", name,
                        (unsigned long)len, (void *)va, (const void *)mdl,
                        (unsigned long long)room);
    else
        kdpc__violation(m, KDPC_R_DMA_OUTSIDE_MDL, 0xE6, 0x24, len - room, (uintptr_t)mdl, 0, NULL,
                        "%s of %lu bytes: the MDL chain %p holds only %llu from there", name,
                        (unsigned long)len, (const void *)mdl, (unsigned long long)room);
    return false;
}

/* dma.unlocked_buffer: every MDL of the chain at @mdl (valid: mdl_chain_ok) describes locked
 * memory (MmProbeAndLockPages, MmBuildMdlForNonPagedPool, an IRP's direct I/O MDL,
 * MmAllocatePagesForMdl): else 0xE6 P1 0x0E, P2 the MDL. kdpc's memory is always resident,
 * so as a warning or off the transfer goes on. */
static void mdl_locked(kdpc_machine *m, const char *name, const MDL *mdl)
{
    for (const MDL *p = mdl; p != NULL; p = p->Next) {
        if ((p->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL)) != 0)
            continue;
        kdpc__violation(m, KDPC_R_DMA_UNLOCKED_BUFFER, 0xE6, 0x0E, (uintptr_t)p, 0, 0, NULL,
                        "%s of MDL %p, whose pages were never locked (MmProbeAndLockPages or "
                        "MmBuildMdlForNonPagedPool)",
                        name, (const void *)p);
        return;
    }
}

/* dma.double_map: [lo, hi) overlaps a range mapped on @a and not flushed yet (0xE6 P1 0x1D,
 * P2 @lo, P3 @hi, P4 the first address already mapped). As a warning it is mapped again. */
static void check_double_map(kdpc_machine *m, adapter *a, const char *name, uintptr_t lo,
                             uintptr_t hi)
{
    for (mapreg *r = a->grants; r != NULL; r = r->next) {
        for (unsigned i = 0; i < r->nranges; i++) {
            if (lo >= r->ranges[i].hi || hi <= r->ranges[i].lo)
                continue;
            uintptr_t at = lo > r->ranges[i].lo ? lo : r->ranges[i].lo;
            kdpc__violation(m, KDPC_R_DMA_DOUBLE_MAP, 0xE6, 0x1D, lo, hi, at, NULL,
                            "%s of [%p, %p), already mapped from %p and not flushed yet", name,
                            (void *)lo, (void *)hi, (void *)at);
            return;
        }
    }
}

static PHYSICAL_ADDRESS map_transfer(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                     PVOID CurrentVa, PULONG Length, BOOLEAN WriteToDevice)
{
    (void)WriteToDevice;
    PHYSICAL_ADDRESS la;
    la.QuadPart = 0;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("MapTransfer", a, UPTO_DISPATCH);
    mapreg *r = m != NULL ? find_grant(a, MapRegisterBase) : NULL;
    if (r == NULL || Length == NULL || !r->held) {
        if (Length != NULL)
            *Length = 0; /* nothing mapped */
        return la;
    }
    if (Mdl != NULL && !mdl_chain_ok(m, "MapTransfer", Mdl)) {
        *Length = 0;
        return la;
    }
    if (Mdl != NULL)
        mdl_locked(m, "MapTransfer", Mdl);
    if (!span_ok(m, "MapTransfer", Mdl, (uintptr_t)CurrentVa, *Length, true, r)) {
        *Length = 0;
        return la;
    }
    ULONG limit = r->count * PAGE_SIZE - BYTE_OFFSET(CurrentVa);
    if (*Length > limit)
        *Length = limit;
    check_double_map(m, a, "MapTransfer", (uintptr_t)CurrentVa, (uintptr_t)CurrentVa + *Length);
    r->mapped_once = true;
    if (r->nranges < MAX_RANGES) {
        r->ranges[r->nranges].lo = (uintptr_t)CurrentVa;
        r->ranges[r->nranges].hi = (uintptr_t)CurrentVa + *Length;
        r->ranges[r->nranges].ex = false;
        r->nranges++;
    }
    la.QuadPart = (LONGLONG)(uintptr_t)CurrentVa;
    trace_dma(m, KDPC_EV_DMA_MAP, a, NULL, *Length, (uint64_t)la.QuadPart, NULL);
    kdpc__ke_point(m);
    return la;
}

/*
 * dma.flush_unmapped: FlushAdapterBuffers of map registers that never mapped anything (0xE6
 * P1 0x20, P2 the MapRegisterBase, P3 CurrentVa, P4 the MDL), of an address no mapped,
 * unflushed transfer starts at (0x16, P2 CurrentVa, P3 kdpc's record of the grant), or of more
 * bytes than the transfer mapped (0x00, P2 0x01, P3 the bytes mapped, P4 Length; the transfer
 * is flushed). Off or a warning: FALSE for the first two, as before.
 */
static BOOLEAN flush_buffers(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                             PVOID CurrentVa, ULONG Length, BOOLEAN WriteToDevice)
{
    (void)WriteToDevice;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("FlushAdapterBuffers", a, UPTO_DISPATCH);
    if (m == NULL)
        return FALSE;
    mapreg *r = find_grant(a, MapRegisterBase);
    if (r == NULL || !r->mapped_once) {
        kdpc__violation(m, KDPC_R_DMA_FLUSH_UNMAPPED, 0xE6, 0x20, (uintptr_t)MapRegisterBase,
                        (uintptr_t)CurrentVa, (uintptr_t)Mdl, NULL,
                        "FlushAdapterBuffers with map registers %p that never mapped a transfer",
                        MapRegisterBase);
        return FALSE;
    }
    for (unsigned i = 0; i < r->nranges; i++) {
        if (r->ranges[i].lo != (uintptr_t)CurrentVa)
            continue;
        ULONG mapped = (ULONG)(r->ranges[i].hi - r->ranges[i].lo);
        if (Length > mapped)
            kdpc__violation(m, KDPC_R_DMA_FLUSH_UNMAPPED, 0xE6, 0x00, 0x01, mapped, Length, NULL,
                            "FlushAdapterBuffers of %lu bytes at %p; MapTransfer mapped %lu "
                            "there",
                            (unsigned long)Length, CurrentVa, (unsigned long)mapped);
        r->ranges[i] = r->ranges[--r->nranges];
        trace_dma(m, KDPC_EV_DMA_FLUSH, a, NULL, Length < mapped ? Length : mapped, 0, NULL);
        kdpc__ke_point(m);
        return TRUE;
    }
    kdpc__violation(m, KDPC_R_DMA_FLUSH_UNMAPPED, 0xE6, 0x16, (uintptr_t)CurrentVa, (uintptr_t)r, 0,
                    NULL,
                    "FlushAdapterBuffers at %p, where no mapped transfer of these map registers "
                    "starts (flushed already?)",
                    CurrentVa);
    kdpc__ke_point(m);
    return FALSE;
}

static ULONG get_alignment(PDMA_ADAPTER DmaAdapter)
{
    (void)ctx_of("GetDmaAlignment", A(DmaAdapter), ANY_IRQL); /* NULL or released: reported */
    return 1;
}

static ULONG read_counter(PDMA_ADAPTER DmaAdapter)
{
    (void)ctx_of("ReadDmaCounter", A(DmaAdapter), ANY_IRQL);
    return 0; /* the simulated transfer is always complete when the device says so */
}

/* A common buffer of @len bytes on @a with DMA verification's padding on each side. */
static PVOID common_new(kdpc_machine *m, adapter *a, ULONG Length, PPHYSICAL_ADDRESS LogicalAddress)
{
    if (LogicalAddress == NULL || Length == 0 || kdpc__pool_fail(m))
        return NULL;
    common *cb = calloc(1, sizeof(*cb));
    unsigned char *base = malloc((size_t)Length + 2u * PAD_BYTES);
    if (cb == NULL || base == NULL) {
        free(cb);
        free(base);
        return NULL;
    }
    memset(base, PAD_FILL, PAD_BYTES);
    memset(base + PAD_BYTES, 0, Length);
    memset(base + PAD_BYTES + Length, PAD_FILL, PAD_BYTES);
    cb->base = base;
    cb->va = base + PAD_BYTES;
    cb->len = Length;
    cb->next = a->commons;
    a->commons = cb;
    LogicalAddress->QuadPart = (LONGLONG)(uintptr_t)cb->va;
    return cb->va;
}

/* dma.buffer_overrun: the driver or its device wrote into the padding of common buffer @cb
 * (0xE6 P1 0x0F, P2 0x04 before the buffer or 0x05 after it, P3 the buffer, P4 the first byte
 * changed). The padding is restored (as a warning the buffer is checked again later). */
static void check_padding(kdpc_machine *m, common *cb, const char *when)
{
    unsigned char *after = cb->base + PAD_BYTES + cb->len;
    for (unsigned i = PAD_BYTES; i-- > 0;) {
        if (cb->base[i] == PAD_FILL)
            continue;
        memset(cb->base, PAD_FILL, PAD_BYTES);
        kdpc__violation(m, KDPC_R_DMA_BUFFER_OVERRUN, 0xE6, 0x0F, 0x04, (uintptr_t)cb->va,
                        (uintptr_t)&cb->base[i], NULL,
                        "%s: the %u bytes before common buffer %p were written (at %p)", when,
                        PAD_BYTES, cb->va, (void *)&cb->base[i]);
        break;
    }
    for (unsigned i = 0; i < PAD_BYTES; i++) {
        if (after[i] == PAD_FILL)
            continue;
        memset(after, PAD_FILL, PAD_BYTES);
        kdpc__violation(m, KDPC_R_DMA_BUFFER_OVERRUN, 0xE6, 0x0F, 0x05, (uintptr_t)cb->va,
                        (uintptr_t)&after[i], NULL,
                        "%s: common buffer %p of %lu bytes was written past its end (at %p)", when,
                        cb->va, (unsigned long)cb->len, (void *)&after[i]);
        break;
    }
}

static PVOID alloc_common(PDMA_ADAPTER DmaAdapter, ULONG Length, PPHYSICAL_ADDRESS LogicalAddress,
                          BOOLEAN CacheEnabled)
{
    (void)CacheEnabled;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("AllocateCommonBuffer", a, AT_PASSIVE);
    return m != NULL ? common_new(m, a, Length, LogicalAddress) : NULL;
}

/* dma.double_free: a buffer that is not a live common buffer of the adapter (freed twice) is
 * 0xE6 P1 0x03, P2 the extra buffers freed (1), P3 the adapter, P4 the address given. */
static void free_common(PDMA_ADAPTER DmaAdapter, ULONG Length, PHYSICAL_ADDRESS LogicalAddress,
                        PVOID VirtualAddress, BOOLEAN CacheEnabled)
{
    (void)Length;
    (void)LogicalAddress;
    (void)CacheEnabled;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("FreeCommonBuffer", a, AT_PASSIVE);
    if (m == NULL)
        return;
    for (common **p = &a->commons; *p != NULL; p = &(*p)->next) {
        if ((*p)->va == VirtualAddress) {
            common *cb = *p;
            check_padding(m, cb, "FreeCommonBuffer");
            *p = cb->next;
            free(cb->base);
            free(cb);
            return;
        }
    }
    kdpc__violation(m, KDPC_R_DMA_DOUBLE_FREE, 0xE6, 0x03, 1, (uintptr_t)DmaAdapter,
                    (uintptr_t)VirtualAddress, NULL,
                    "FreeCommonBuffer of %p, which is no live common buffer of this adapter (freed "
                    "twice?)",
                    VirtualAddress);
}

static NTSTATUS get_sg_list(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl,
                            PVOID CurrentVa, ULONG Length, PDRIVER_LIST_CONTROL ExecutionRoutine,
                            PVOID Context, BOOLEAN WriteToDevice)
{
    (void)WriteToDevice;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("GetScatterGatherList", a, UPTO_DISPATCH);
    if (m == NULL ||
        !kdpc__io_need(m, "GetScatterGatherList", KDPC_RP(kdpc_IoGetDmaAdapter), DeviceObject,
                       KDPC_IOK_DEVICE) ||
        ExecutionRoutine == NULL || !mdl_chain_ok(m, "GetScatterGatherList", Mdl))
        return STATUS_INVALID_PARAMETER;
    if (Mdl != NULL)
        mdl_locked(m, "GetScatterGatherList", Mdl);
    if (!span_ok(m, "GetScatterGatherList", Mdl, (uintptr_t)CurrentVa, Length, false, NULL))
        return STATUS_INVALID_PARAMETER;
    ULONG need = ADDRESS_AND_SIZE_TO_SPAN_PAGES(CurrentVa, Length);
    if (!regs_ok(m, a, need, "GetScatterGatherList") || need > a->free_regs)
        return STATUS_INSUFFICIENT_RESOURCES; /* Divergence: not queued for later */
    PSCATTER_GATHER_LIST sg = calloc(1, sizeof(*sg));
    mapreg *r = sg != NULL ? new_grant(a, DeviceObject->CurrentIrp, need) : NULL;
    if (r == NULL) {
        free(sg);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    a->free_regs -= need;
    a->sg_allocated++;
    r->mapped_once = true;
    r->ranges[0].lo = (uintptr_t)CurrentVa;
    r->ranges[0].hi = (uintptr_t)CurrentVa + Length;
    r->nranges = 1;
    sg->NumberOfElements = 1;
    r->sg = sg;
    r->sg_owned = true;
    r->dev = DeviceObject;
    sg->Elements[0].Address.QuadPart = (LONGLONG)(uintptr_t)CurrentVa;
    sg->Elements[0].Length = Length;
    trace_dma(m, KDPC_EV_DMA_GRANT, a, KDPC_RP(ExecutionRoutine), need, 0, DeviceObject);
    ExecutionRoutine(DeviceObject, DeviceObject->CurrentIrp, sg, Context);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

static void put_sg_list(PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather,
                        BOOLEAN WriteToDevice)
{
    (void)WriteToDevice;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("PutScatterGatherList", a, AT_DISPATCH);
    if (m == NULL || ScatterGather == NULL)
        return;
    mapreg *r = a->grants;
    while (r != NULL && !(r->sg == ScatterGather && r->held))
        r = r->next;
    if (r == NULL) {
        kdpc__violation(m, KDPC_R_DMA_DOUBLE_FREE, 0xE6, 0x06, a->sg_allocated, a->sg_freed + 1,
                        (uintptr_t)ScatterGather, NULL,
                        "PutScatterGatherList of a list already put back");
        return;
    }
    a->sg_freed++;
    r->nranges = 0; /* PutScatterGatherList flushes (5.10) */
    trace_dma(m, KDPC_EV_DMA_FREE, a, NULL, r->count, 0, NULL);
    if (r->channel) {
        /* A synchronous list without AdapterListControl: the caller still holds the adapter
         * object, which FreeAdapterObject releases after the DMA operations, this put included
         * (4.1, 2.4). The list and its registers go now; the grant stays for the channel. */
        a->free_regs += r->count;
        r->count = 0;
        r->sg = NULL;
        r->sg_put = true;
    } else {
        drop_registers(a, r);
    }
    if (r->sg_owned)
        free(ScatterGather);
    serve(m, a);
    kdpc__ke_point(m);
}

/* ------------------------------------------------------------------ */
/* versions 2 and 3 (docs/facts/dma.md)                                */

#define SGL_SIZE(n)                                                                                \
    ((ULONG)(offsetof(SCATTER_GATHER_LIST, Elements) +                                             \
             (size_t)(n) * sizeof(SCATTER_GATHER_ELEMENT)))

/* The machine of a version-@v operation on @a, or NULL (not a live adapter; or an adapter got
 * with an older DEVICE_DESCRIPTION version, whose DMA_OPERATIONS has no such member). */
static kdpc_machine *ctx_v(const char *name, adapter *a, ULONG v, unsigned irql)
{
    kdpc_machine *m = ctx_of(name, a, irql);
    return m != NULL && a->version >= v ? m : NULL;
}

/* Every MDL of the chain at @mdl is a live MDL of this machine (IoAllocateMdl, an IRP's
 * direct I/O MDL, MmAllocatePagesForMdl): nothing else is followed. A pointer that is not one is
 * io.invalid_object (as a warning: false); a chain that does not end is false. NULL is true (the
 * callers decide what NULL means). */
#define MAX_CHAIN 65536u
static bool mdl_chain_ok(kdpc_machine *m, const char *name, const MDL *mdl)
{
    unsigned n = 0;
    for (const MDL *p = mdl; p != NULL; p = p->Next) {
        if (!kdpc__io_need(m, name, KDPC_RP(kdpc_IoGetDmaAdapter), p, KDPC_IOK_MDL) ||
            ++n > MAX_CHAIN)
            return false;
    }
    return true;
}

/* Walk [off, off + len) of an MDL chain: one host-contiguous piece per MDL. With @fn, each
 * piece is handed to it (it returns false to stop). Returns false when the chain does not
 * hold the range (NULL chain, len 0, off or len past its end). *pieces / *regs (optional) get
 * the number of pieces and of map registers (pages spanned) the whole range needs. */
typedef bool piece_fn(void *arg, const MDL *mdl, uintptr_t va, ULONG len);
static bool walk_mdl(const MDL *mdl, ULONGLONG off, ULONG len, piece_fn *fn, void *arg,
                     ULONG *pieces, ULONG *regs)
{
    ULONGLONG total = 0;
    for (const MDL *p = mdl; p != NULL; p = p->Next)
        total += p->ByteCount;
    if (mdl == NULL || len == 0 || off >= total || len > total - off)
        return false;
    ULONG n = 0, pages = 0;
    bool go = true;
    for (const MDL *p = mdl; p != NULL && len > 0; p = p->Next) {
        if (off >= p->ByteCount) {
            off -= p->ByteCount;
            continue;
        }
        uintptr_t va = (uintptr_t)MmGetMdlVirtualAddress(p) + (uintptr_t)off;
        ULONG take = p->ByteCount - (ULONG)off;
        if (take > len)
            take = len;
        n++;
        pages += ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, take);
        if (go && fn != NULL)
            go = fn(arg, p, va, take);
        len -= take;
        off = 0;
    }
    if (pieces != NULL)
        *pieces = n;
    if (regs != NULL)
        *regs = pages;
    return true;
}

/* Filling a scatter/gather list and the grant's mapped ranges, within limits. */
typedef struct fill {
    mapreg *r;
    PSCATTER_GATHER_LIST sg; /* NULL: ranges only */
    ULONG max_elems;
    ULONG regs_left;
    ULONGLONG tag_off;
    const MDL *tag_mdl;
    ULONG mapped;
    bool cut; /* stopped early (registers, elements or ranges ran out) */
} fill;

static bool fill_piece(void *arg, const MDL *mdl, uintptr_t va, ULONG len)
{
    (void)mdl;
    fill *f = arg;
    ULONG n = f->sg != NULL ? f->sg->NumberOfElements : 0;
    if (f->regs_left == 0 || n >= f->max_elems || f->r->nranges >= MAX_RANGES) {
        f->cut = true;
        return false;
    }
    ULONG room = f->regs_left * PAGE_SIZE - BYTE_OFFSET(va);
    if (len > room) {
        len = room;
        f->cut = true;
    }
    f->regs_left -= ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, len);
    mapreg *r = f->r;
    r->mapped_once = true;
    r->ranges[r->nranges].lo = va;
    r->ranges[r->nranges].hi = va + len;
    r->ranges[r->nranges].mdl = f->tag_mdl;
    r->ranges[r->nranges].off = f->tag_off;
    r->ranges[r->nranges].ex = true;
    r->nranges++;
    if (f->sg != NULL) {
        f->sg->Elements[n].Address.QuadPart = (LONGLONG)va;
        f->sg->Elements[n].Length = len;
        f->sg->Elements[n].Reserved = 0;
        f->sg->NumberOfElements = n + 1;
    }
    f->mapped += len;
    return !f->cut;
}

/* Build the list of [off, off + len) of @mdl for grant @r (into @buf, or a list kdpc
 * allocates) and map its ranges until PutScatterGatherList. */
static NTSTATUS build_list(mapreg *r, const MDL *mdl, ULONGLONG off, ULONG len,
                           PSCATTER_GATHER_LIST buf, PSCATTER_GATHER_LIST *out)
{
    ULONG n = 0;
    if (!walk_mdl(mdl, off, len, NULL, NULL, &n, NULL))
        return STATUS_INVALID_PARAMETER;
    PSCATTER_GATHER_LIST sg = buf;
    if (sg == NULL) {
        sg = calloc(1, SGL_SIZE(n));
        if (sg == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        r->sg_owned = true;
    }
    sg->NumberOfElements = 0;
    sg->Reserved = 0;
    fill f = {r, sg, n, r->count, off, mdl, 0, false};
    (void)walk_mdl(mdl, off, len, fill_piece, &f, NULL, NULL);
    r->sg = sg;
    r->a->sg_allocated++;
    *out = sg;
    return STATUS_SUCCESS;
}

/* AdapterListControl at DISPATCH_LEVEL (5.10). */
static void call_list(PDRIVER_LIST_CONTROL routine, PDEVICE_OBJECT dev, PSCATTER_GATHER_LIST sg,
                      PVOID ctx)
{
    KIRQL old = kdpc__self()->cpu->irql;
    if (old < DISPATCH_LEVEL)
        kdpc_KeRaiseIrql(DISPATCH_LEVEL, &old);
    routine(dev, dev->CurrentIrp, sg, ctx);
    if (old < DISPATCH_LEVEL)
        kdpc_KeLowerIrql(old);
}

static NTSTATUS calculate_sg_list(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID CurrentVa, ULONG Length,
                                  PULONG ScatterGatherListSize, PULONG pNumberOfMapRegisters)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_v("CalculateScatterGatherList", a, 2, UPTO_DISPATCH);
    if (m == NULL)
        return STATUS_NOT_SUPPORTED;
    if (ScatterGatherListSize == NULL)
        return STATUS_INVALID_PARAMETER;
    ULONG n, regs;
    if (Mdl == NULL) { /* the largest list any buffer at CurrentVa could need: a page each */
        n = regs = ADDRESS_AND_SIZE_TO_SPAN_PAGES(CurrentVa, Length);
    } else {
        if (!mdl_chain_ok(m, "CalculateScatterGatherList", Mdl))
            return STATUS_INVALID_PARAMETER;
        uintptr_t base = (uintptr_t)MmGetMdlVirtualAddress(Mdl);
        uintptr_t va = (uintptr_t)CurrentVa;
        if (va < base || !walk_mdl(Mdl, va - base, Length, NULL, NULL, &n, &regs))
            return STATUS_BUFFER_TOO_SMALL; /* Length does not fit in the buffer */
    }
    if (regs > a->max_regs)
        return STATUS_INSUFFICIENT_RESOURCES;
    *ScatterGatherListSize = SGL_SIZE(n);
    if (pNumberOfMapRegisters != NULL)
        *pNumberOfMapRegisters = regs;
    return STATUS_SUCCESS;
}

static NTSTATUS build_sg_list(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl,
                              PVOID CurrentVa, ULONG Length, PDRIVER_LIST_CONTROL ExecutionRoutine,
                              PVOID Context, BOOLEAN WriteToDevice, PVOID ScatterGatherBuffer,
                              ULONG ScatterGatherLength)
{
    (void)WriteToDevice;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_v("BuildScatterGatherList", a, 2, UPTO_DISPATCH);
    if (m == NULL)
        return STATUS_NOT_SUPPORTED;
    if (!kdpc__io_need(m, "BuildScatterGatherList", KDPC_RP(kdpc_IoGetDmaAdapter), DeviceObject,
                       KDPC_IOK_DEVICE) ||
        ExecutionRoutine == NULL || ScatterGatherBuffer == NULL || Mdl == NULL ||
        !mdl_chain_ok(m, "BuildScatterGatherList", Mdl))
        return STATUS_INVALID_PARAMETER;
    mdl_locked(m, "BuildScatterGatherList", Mdl);
    uintptr_t base = (uintptr_t)MmGetMdlVirtualAddress(Mdl);
    uintptr_t va = (uintptr_t)CurrentVa;
    ULONG n, regs;
    if (!span_ok(m, "BuildScatterGatherList", Mdl, va, Length, false, NULL) ||
        !walk_mdl(Mdl, va - base, Length, NULL, NULL, &n, &regs))
        return STATUS_INVALID_PARAMETER;
    if (SGL_SIZE(n) > ScatterGatherLength)
        return STATUS_BUFFER_TOO_SMALL;
    if (!regs_ok(m, a, regs, "BuildScatterGatherList") || regs > a->free_regs)
        return STATUS_INSUFFICIENT_RESOURCES; /* Divergence: not queued for later (as 5.10) */
    mapreg *r = new_grant(a, DeviceObject->CurrentIrp, regs);
    if (r == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    a->free_regs -= regs;
    r->dev = DeviceObject;
    PSCATTER_GATHER_LIST sg;
    (void)build_list(r, Mdl, va - base, Length, ScatterGatherBuffer, &sg);
    trace_dma(m, KDPC_EV_DMA_GRANT, a, KDPC_RP(ExecutionRoutine), regs, 0, DeviceObject);
    call_list(ExecutionRoutine, DeviceObject, sg, Context);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

static NTSTATUS build_mdl_from_sg(PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather,
                                  PMDL OriginalMdl, PMDL *TargetMdl)
{
    (void)ScatterGather;
    if (ctx_v("BuildMdlFromScatterGatherList", A(DmaAdapter), 2, UPTO_DISPATCH) == NULL)
        return STATUS_NOT_SUPPORTED;
    if (OriginalMdl == NULL || TargetMdl == NULL)
        return STATUS_INVALID_PARAMETER;
    *TargetMdl = OriginalMdl; /* kdpc never copies a buffer: the list describes the original */
    return STATUS_SUCCESS;
}

static NTSTATUS get_adapter_info(PDMA_ADAPTER DmaAdapter, PDMA_ADAPTER_INFO AdapterInfo)
{
    adapter *a = A(DmaAdapter);
    if (ctx_v("GetDmaAdapterInfo", a, 3, ANY_IRQL) == NULL)
        return STATUS_NOT_SUPPORTED;
    if (AdapterInfo == NULL)
        return STATUS_INVALID_PARAMETER;
    if (AdapterInfo->Version != DMA_ADAPTER_INFO_VERSION1)
        return STATUS_NOT_SUPPORTED;
    AdapterInfo->V1.ReadDmaCounterAvailable = FALSE; /* ReadDmaCounter is always 0 */
    AdapterInfo->V1.ScatterGatherLimit = a->max_regs;
    AdapterInfo->V1.DmaAddressWidth = a->desc.Master ? a->desc.DmaAddressWidth : 64;
    AdapterInfo->V1.Flags = 0;
    AdapterInfo->V1.MinimumTransferUnit = 1;
    return STATUS_SUCCESS;
}

static NTSTATUS get_transfer_info(PDMA_ADAPTER DmaAdapter, PMDL Mdl, ULONGLONG Offset, ULONG Length,
                                  BOOLEAN WriteOnly, PDMA_TRANSFER_INFO TransferInfo)
{
    (void)WriteOnly;
    kdpc_machine *m = ctx_v("GetDmaTransferInfo", A(DmaAdapter), 3, UPTO_DISPATCH);
    if (m == NULL)
        return STATUS_NOT_SUPPORTED;
    if (TransferInfo == NULL || !mdl_chain_ok(m, "GetDmaTransferInfo", Mdl))
        return STATUS_INVALID_PARAMETER;
    if (TransferInfo->Version != DMA_TRANSFER_INFO_VERSION1)
        return STATUS_NOT_SUPPORTED;
    ULONG n, regs;
    if (!walk_mdl(Mdl, Offset, Length, NULL, NULL, &n, &regs))
        return STATUS_INVALID_PARAMETER;
    TransferInfo->V1.MapRegisterCount = regs;
    TransferInfo->V1.ScatterGatherElementCount = n;
    TransferInfo->V1.ScatterGatherListSize = SGL_SIZE(n);
    return STATUS_SUCCESS;
}

static tcrec *find_tc(adapter *a, const void *p)
{
    if (p == NULL)
        return NULL;
    for (tcrec *t = a->contexts; t != NULL; t = t->next)
        if (t->ptr == p)
            return t;
    return NULL;
}

static NTSTATUS init_transfer_context(PDMA_ADAPTER DmaAdapter, PVOID DmaTransferContext)
{
    adapter *a = A(DmaAdapter);
    if (ctx_v("InitializeDmaTransferContext", a, 3, UPTO_DISPATCH) == NULL)
        return STATUS_NOT_SUPPORTED;
    if (DmaTransferContext == NULL)
        return STATUS_INVALID_PARAMETER;
    tcrec *t = find_tc(a, DmaTransferContext);
    if (t != NULL && t->state == TC_PENDING)
        return STATUS_INVALID_PARAMETER; /* still in a pending request */
    if (t == NULL) {
        t = calloc(1, sizeof(*t));
        if (t == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        t->ptr = DmaTransferContext;
        t->next = a->contexts;
        a->contexts = t;
    }
    for (mapreg *r = a->grants; r != NULL; r = r->next)
        if (r->tc == t)
            r->tc = NULL; /* a fresh transfer: the old grant no longer answers to it */
    t->state = TC_IDLE;
    t->transfers_cancelled = false;
    memset(DmaTransferContext, 0, DMA_TRANSFER_CONTEXT_SIZE_V1);
    return STATUS_SUCCESS;
}

static PVOID alloc_common_ex(PDMA_ADAPTER DmaAdapter, PPHYSICAL_ADDRESS MaximumAddress,
                             ULONG Length, PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled,
                             NODE_REQUIREMENT PreferredNode)
{
    (void)MaximumAddress; /* Divergence: logical addresses are host addresses (dma.h) */
    (void)PreferredNode;
    (void)CacheEnabled;
    kdpc_machine *m = ctx_v("AllocateCommonBufferEx", A(DmaAdapter), 3, AT_PASSIVE);
    return m != NULL ? common_new(m, A(DmaAdapter), Length, LogicalAddress) : NULL;
}

/* The checks AllocateAdapterChannelEx, GetScatterGatherListEx and BuildScatterGatherListEx
 * share: a known, free transfer context and a valid flag word. */
static NTSTATUS check_tc(tcrec *t, ULONG Flags)
{
    if (t == NULL || (Flags & ~(ULONG)DMA_SYNCHRONOUS_CALLBACK) != 0 || t->state == TC_PENDING)
        return STATUS_INVALID_PARAMETER;
    if (t->state == TC_CANCELLED)
        return STATUS_CANCELLED; /* CancelAdapterChannel came first */
    return STATUS_SUCCESS;
}

/* Run @q now when @sync (or fail), else queue it. */
static NTSTATUS submit(kdpc_machine *m, adapter *a, request *q, bool sync)
{
    if (sync) {
        if (a->channel_busy || a->queue != NULL || a->free_regs < q->count) {
            free(q);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        bool ran = run_request(m, a, q);
        reap(a);
        if (!ran)
            return STATUS_INSUFFICIENT_RESOURCES;
    } else {
        if (q->tc != NULL)
            q->tc->state = TC_PENDING;
        enqueue(a, q);
        serve(m, a);
    }
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

static NTSTATUS allocate_channel_ex(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                    PVOID DmaTransferContext, ULONG NumberOfMapRegisters,
                                    ULONG Flags, PDRIVER_CONTROL ExecutionRoutine,
                                    PVOID ExecutionContext, PVOID *MapRegisterBase)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_v("AllocateAdapterChannelEx", a, 3, UPTO_DISPATCH);
    if (m == NULL)
        return STATUS_NOT_SUPPORTED;
    if (!kdpc__io_need(m, "AllocateAdapterChannelEx", KDPC_RP(kdpc_IoGetDmaAdapter), DeviceObject,
                       KDPC_IOK_DEVICE))
        return STATUS_INVALID_PARAMETER;
    bool sync = (Flags & DMA_SYNCHRONOUS_CALLBACK) != 0;
    /* exactly one of AdapterControl and MapRegisterBase; no AdapterControl only when sync */
    if ((ExecutionRoutine != NULL) == (MapRegisterBase != NULL) ||
        (ExecutionRoutine == NULL && !sync))
        return STATUS_INVALID_PARAMETER;
    tcrec *t = find_tc(a, DmaTransferContext);
    NTSTATUS st = check_tc(t, Flags);
    if (st != STATUS_SUCCESS)
        return st;
    if (!regs_ok(m, a, NumberOfMapRegisters, "AllocateAdapterChannelEx"))
        return STATUS_INSUFFICIENT_RESOURCES;
    /* no dma.second_channel: each request has its own transfer context (its wait block), so a
     * device may have several waiting; they queue for the channel (facts/dma.md 2.1) */
    request *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    q->dev = DeviceObject;
    q->name = "AllocateAdapterChannelEx";
    q->count = NumberOfMapRegisters == 0 ? 1 : NumberOfMapRegisters;
    q->routine = ExecutionRoutine;
    q->ctx = ExecutionContext;
    q->tc = t;
    q->out_base = MapRegisterBase;
    return submit(m, a, q, sync);
}

static NTSTATUS configure_channel(PDMA_ADAPTER DmaAdapter, ULONG FunctionNumber, PVOID Context)
{
    (void)FunctionNumber;
    (void)Context;
    if (ctx_v("ConfigureAdapterChannel", A(DmaAdapter), 3, ANY_IRQL) == NULL)
        return STATUS_NOT_SUPPORTED;
    return STATUS_NOT_IMPLEMENTED; /* kdpc's DMA controller has no custom functions */
}

static BOOLEAN cancel_channel(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                              PVOID DmaTransferContext)
{
    (void)DeviceObject;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_v("CancelAdapterChannel", a, 3, UPTO_DISPATCH);
    tcrec *t = m != NULL ? find_tc(a, DmaTransferContext) : NULL;
    if (t == NULL || t->state == TC_GRANTED)
        return FALSE; /* unknown, or AdapterControl / AdapterListControl already ran */
    if (t->state == TC_PENDING) {
        /* remove its one queued request (a pending context makes no other: check_tc) */
        request *prev = NULL;
        for (request *q = a->queue; q != NULL; prev = q, q = q->next) {
            if (q->tc != t)
                continue;
            if (prev != NULL)
                prev->next = q->next;
            else
                a->queue = q->next;
            if (a->queue_tail == q)
                a->queue_tail = prev;
            free(q);
            break;
        }
    }
    t->state = TC_CANCELLED; /* also cancels a request not made yet */
    serve(m, a);             /* a smaller request behind it may fit now */
    kdpc__ke_point(m);
    return TRUE;
}

/* The system DMA controller's completion: DmaCompletionRoutine at DISPATCH_LEVEL, once. */
static void done_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)a1;
    (void)a2;
    dmadone *x = Context;
    for (dmadone **p = &x->a->done; *p != NULL; p = &(*p)->next) {
        if (*p == x) {
            *p = x->next;
            break;
        }
    }
    x->routine(&x->a->pub, x->dev, x->ctx, x->cancelled ? DmaCancelled : DmaComplete);
    free(x);
}

/* Transfers of grant @grant (or, with @tc, of that context) whose completion is still due end
 * as cancelled. */
static void cancel_done(adapter *a, const void *grant, const tcrec *tc)
{
    for (dmadone *x = a->done; x != NULL; x = x->next)
        if ((grant != NULL && x->grant == grant) || (tc != NULL && x->tc == tc))
            x->cancelled = true;
}

/* MapTransferEx's dma.double_map check of one piece of its MDL chain. */
typedef struct dmap {
    kdpc_machine *m;
    adapter *a;
} dmap;

static bool double_map_piece(void *arg, const MDL *mdl, uintptr_t va, ULONG len)
{
    (void)mdl;
    dmap *d = arg;
    check_double_map(d->m, d->a, "MapTransferEx", va, va + len);
    return true;
}

static NTSTATUS map_transfer_ex(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                ULONGLONG Offset, ULONG DeviceOffset, PULONG Length,
                                BOOLEAN WriteToDevice, PSCATTER_GATHER_LIST ScatterGatherBuffer,
                                ULONG ScatterGatherBufferLength,
                                PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
                                PVOID CompletionContext)
{
    (void)DeviceOffset;
    (void)WriteToDevice;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_v("MapTransferEx", a, 3, UPTO_DISPATCH);
    if (m == NULL)
        return STATUS_NOT_SUPPORTED;
    mapreg *r = find_grant(a, MapRegisterBase);
    bool master = a->desc.Master != FALSE;
    if (r == NULL || !r->held || Length == NULL || Mdl == NULL ||
        (master && (ScatterGatherBuffer == NULL || DmaCompletionRoutine != NULL)) ||
        (ScatterGatherBuffer != NULL && ScatterGatherBufferLength < SGL_SIZE(1)) ||
        !mdl_chain_ok(m, "MapTransferEx", Mdl))
        return STATUS_INVALID_PARAMETER;
    if (r->tc != NULL && r->tc->transfers_cancelled)
        return STATUS_CANCELLED;
    mdl_locked(m, "MapTransferEx", Mdl);
    uintptr_t va = (uintptr_t)MmGetMdlVirtualAddress(Mdl) + (uintptr_t)Offset;
    if (*Length == 0)
        (void)span_ok(m, "MapTransferEx", Mdl, va, 0, false, r); /* off: nothing is mapped */
    else if (!span_ok(m, "MapTransferEx", Mdl, va, *Length, false, r) ||
             !walk_mdl(Mdl, Offset, *Length, NULL, NULL, NULL, NULL))
        return STATUS_INVALID_PARAMETER;
    dmadone *x = NULL;
    if (DmaCompletionRoutine != NULL) {
        x = calloc(1, sizeof(*x));
        if (x == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
    }
    /* without a buffer (system DMA), kdpc's default list holds one element */
    ULONG max_elems = ScatterGatherBuffer != NULL ? (ScatterGatherBufferLength - SGL_SIZE(0)) /
                                                        sizeof(SCATTER_GATHER_ELEMENT)
                                                  : 1;
    SCATTER_GATHER_LIST one;
    PSCATTER_GATHER_LIST sg = ScatterGatherBuffer != NULL ? ScatterGatherBuffer : &one;
    sg->NumberOfElements = 0;
    sg->Reserved = 0;
    if (*Length != 0) { /* dma.double_map, piece by piece (as a warning mapped again) */
        dmap dm = {m, a};
        (void)walk_mdl(Mdl, Offset, *Length, double_map_piece, &dm, NULL, NULL);
    }
    fill f = {r, sg, max_elems, r->count, Offset, Mdl, 0, false};
    if (*Length != 0)
        (void)walk_mdl(Mdl, Offset, *Length, fill_piece, &f, NULL, NULL);
    *Length = f.mapped;
    trace_dma(m, KDPC_EV_DMA_MAP, a, NULL, f.mapped,
              sg->NumberOfElements > 0 ? (uint64_t)sg->Elements[0].Address.QuadPart : 0, NULL);
    if (x != NULL) { /* the controller's completion interrupt: a DPC on this CPU */
        x->a = a;
        x->dev = r->dev;
        x->routine = DmaCompletionRoutine;
        x->ctx = CompletionContext;
        x->grant = r;
        x->tc = r->tc;
        x->next = a->done;
        a->done = x;
        kdpc_KeInitializeDpc(&x->dpc, done_dpc, x);
        (void)kdpc_KeInsertQueueDpc(&x->dpc, NULL, NULL);
    }
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

/* GetScatterGatherListEx and BuildScatterGatherListEx (@buf NULL: kdpc allocates the list). */
static NTSTATUS sg_list_ex(const char *name, PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                           PVOID DmaTransferContext, PMDL Mdl, ULONGLONG Offset, ULONG Length,
                           ULONG Flags, PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                           bool need_buf, PVOID buf, ULONG buflen, PSCATTER_GATHER_LIST *out)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_v(name, a, 3, UPTO_DISPATCH);
    if (m == NULL)
        return STATUS_NOT_SUPPORTED;
    bool sync = (Flags & DMA_SYNCHRONOUS_CALLBACK) != 0;
    if (!kdpc__io_need(m, name, KDPC_RP(kdpc_IoGetDmaAdapter), DeviceObject, KDPC_IOK_DEVICE) ||
        !a->desc.Master || (need_buf && buf == NULL) ||
        (ExecutionRoutine == NULL && (!sync || out == NULL)))
        return STATUS_INVALID_PARAMETER; /* bus masters only; AdapterListControl or a list out */
    tcrec *t = find_tc(a, DmaTransferContext);
    NTSTATUS st = check_tc(t, Flags);
    if (st != STATUS_SUCCESS)
        return st;
    ULONG n, regs;
    if (!mdl_chain_ok(m, name, Mdl) || Mdl == NULL)
        return STATUS_INVALID_PARAMETER;
    mdl_locked(m, name, Mdl);
    if (!span_ok(m, name, Mdl, (uintptr_t)MmGetMdlVirtualAddress(Mdl) + (uintptr_t)Offset, Length,
                 false, NULL) ||
        !walk_mdl(Mdl, Offset, Length, NULL, NULL, &n, &regs))
        return STATUS_INVALID_PARAMETER;
    if (buf != NULL && SGL_SIZE(n) > buflen)
        return STATUS_BUFFER_TOO_SMALL;
    if (!regs_ok(m, a, regs, name))
        return STATUS_INSUFFICIENT_RESOURCES;
    request *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    q->dev = DeviceObject;
    q->count = regs;
    q->ctx = Context;
    q->tc = t;
    q->list = true;
    q->name = name;
    q->list_routine = ExecutionRoutine;
    q->mdl = Mdl;
    q->off = Offset;
    q->len = Length;
    q->sgbuf = buf;
    /* The list pointer is written only by a synchronous request, while the caller still waits:
     * a queued one hands its list to AdapterListControl, and a write through @out later could
     * land in a stack frame that is gone. */
    q->out_sg = sync ? out : NULL;
    return submit(m, a, q, sync);
}

static NTSTATUS get_sg_list_ex(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                               PVOID DmaTransferContext, PMDL Mdl, ULONGLONG Offset, ULONG Length,
                               ULONG Flags, PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                               BOOLEAN WriteToDevice, PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
                               PVOID CompletionContext, PSCATTER_GATHER_LIST *ScatterGatherList)
{
    (void)WriteToDevice;
    (void)DmaCompletionRoutine; /* documented as unused */
    (void)CompletionContext;
    return sg_list_ex("GetScatterGatherListEx", DmaAdapter, DeviceObject, DmaTransferContext, Mdl,
                      Offset, Length, Flags, ExecutionRoutine, Context, false, NULL, 0,
                      ScatterGatherList);
}

static NTSTATUS build_sg_list_ex(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                 PVOID DmaTransferContext, PMDL Mdl, ULONGLONG Offset, ULONG Length,
                                 ULONG Flags, PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                                 BOOLEAN WriteToDevice, PVOID ScatterGatherBuffer,
                                 ULONG ScatterGatherLength,
                                 PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
                                 PVOID CompletionContext, PVOID ScatterGatherList)
{
    (void)WriteToDevice;
    (void)DmaCompletionRoutine; /* documented as unused */
    (void)CompletionContext;
    return sg_list_ex("BuildScatterGatherListEx", DmaAdapter, DeviceObject, DmaTransferContext, Mdl,
                      Offset, Length, Flags, ExecutionRoutine, Context, true, ScatterGatherBuffer,
                      ScatterGatherLength, (PSCATTER_GATHER_LIST *)ScatterGatherList);
}

static NTSTATUS flush_buffers_ex(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                 ULONGLONG Offset, ULONG Length, BOOLEAN WriteToDevice)
{
    (void)Length;
    (void)WriteToDevice;
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_v("FlushAdapterBuffersEx", a, 3, UPTO_DISPATCH);
    if (m == NULL)
        return STATUS_NOT_SUPPORTED;
    mapreg *r = find_grant(a, MapRegisterBase);
    if (r == NULL || Mdl == NULL || !mdl_chain_ok(m, "FlushAdapterBuffersEx", Mdl))
        return STATUS_INVALID_PARAMETER;
    unsigned before = r->nranges;
    /* dma.channel_flush: a system DMA transfer still running (its completion not reported,
     * not cancelled) is flushed: 0xE6 P1 0x23, P2 0x00, P3 the controller (kdpc has one: 0),
     * P4 the channel. Off or a warning: it stops there and reports DmaCancelled. */
    for (dmadone *x = a->done; x != NULL; x = x->next) {
        if (x->grant != r || x->cancelled)
            continue;
        kdpc__violation(m, KDPC_R_DMA_CHANNEL_FLUSH, 0xE6, 0x23, 0x00, 0, a->desc.DmaChannel, NULL,
                        "FlushAdapterBuffersEx while the system DMA transfer is still running: "
                        "wait for its DmaCompletionRoutine or CancelMappedTransfer first");
        break;
    }
    cancel_done(a, r, NULL); /* flushed before it ended: the transfer stops there */
    /* what MapTransferEx mapped from (Mdl, Offset); else a MapTransfer piece starting there */
    for (unsigned i = r->nranges; i-- > 0;)
        if (r->ranges[i].ex && r->ranges[i].mdl == Mdl && r->ranges[i].off == Offset)
            r->ranges[i] = r->ranges[--r->nranges];
    if (r->nranges == before) {
        uintptr_t va = (uintptr_t)MmGetMdlVirtualAddress(Mdl) + (uintptr_t)Offset;
        for (unsigned i = 0; i < r->nranges; i++) {
            if (!r->ranges[i].ex && r->ranges[i].lo == va) {
                r->ranges[i] = r->ranges[--r->nranges];
                break;
            }
        }
    }
    if (r->nranges == before)
        kdpc__violation(m, KDPC_R_DMA_FLUSH_UNMAPPED, 0xE6, r->mapped_once ? 0x16u : 0x20u,
                        r->mapped_once ? (uintptr_t)MmGetMdlVirtualAddress(Mdl) + (uintptr_t)Offset
                                       : (uintptr_t)r,
                        r->mapped_once ? (uintptr_t)r : (uintptr_t)MmGetMdlVirtualAddress(Mdl),
                        r->mapped_once ? 0 : (uintptr_t)Mdl, NULL,
                        "FlushAdapterBuffersEx of MDL %p at offset %llu, where no mapped "
                        "transfer of these map registers starts (flushed already?)",
                        (void *)Mdl, (unsigned long long)Offset);
    if (r->nranges != before)
        trace_dma(m, KDPC_EV_DMA_FLUSH, a, NULL, Length, 0, NULL);
    kdpc__ke_point(m);
    return r->nranges == before ? STATUS_INVALID_PARAMETER : STATUS_SUCCESS;
}

static void free_adapter_object(PDMA_ADAPTER DmaAdapter, IO_ALLOCATION_ACTION AllocationAction)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_v("FreeAdapterObject", a, 3, UPTO_DISPATCH);
    if (m == NULL || AllocationAction == KeepObject)
        return; /* KeepObject: no effect */
    mapreg *r = channel_grant(a);
    if (r == NULL) {
        kdpc__violation(m, KDPC_R_DMA_DOUBLE_FREE, 0xE6, 0x04, 1, (uintptr_t)DmaAdapter, 0, NULL,
                        "FreeAdapterObject while no adapter object is held (freed twice?)");
        return;
    }
    if (AllocationAction == DeallocateObject && r->sg == NULL) {
        check_flushed(m, r, "FreeAdapterObject", true);
        trace_dma(m, KDPC_EV_DMA_FREE, a, NULL, r->count, 0, NULL);
        drop_registers(a, r);
    } else {
        drop_channel(a, r); /* a scatter/gather list keeps its registers until put back */
        if (r->sg_put)
            r->held = false; /* ... and one put back already has none left */
    }
    serve(m, a);
    kdpc__ke_point(m);
}

static NTSTATUS cancel_mapped_transfer(PDMA_ADAPTER DmaAdapter, PVOID DmaTransferContext)
{
    adapter *a = A(DmaAdapter);
    if (ctx_v("CancelMappedTransfer", a, 3, UPTO_DISPATCH) == NULL)
        return STATUS_NOT_SUPPORTED;
    tcrec *t = find_tc(a, DmaTransferContext);
    if (t == NULL)
        return STATUS_INVALID_PARAMETER;
    t->transfers_cancelled = true;
    cancel_done(a, NULL, t); /* a completion still due reports DmaCancelled */
    return STATUS_SUCCESS;
}

/*
 * dma.put_outstanding: PutDmaAdapter while the adapter still has common buffers (0xE6 P1 0x07),
 * an adapter channel held or asked for (0x08), map registers (0x09) or scatter/gather lists
 * (0x0A): P2 the adapter, P3 how many, P4 kdpc's record of the first. Then the adapter is
 * released: any later use is dma.adapter_released. Its memory is kept until the machine goes,
 * so later calls stay safe.
 */
static void put_adapter(PDMA_ADAPTER DmaAdapter)
{
    adapter *a = A(DmaAdapter);
    kdpc_machine *m = ctx_of("PutDmaAdapter", a, AT_PASSIVE);
    if (m == NULL)
        return;
    ULONG n[4] = {0, 0, 0, 0};
    const void *first[4] = {a->commons, NULL, NULL, NULL};
    for (common *cb = a->commons; cb != NULL; cb = cb->next)
        n[0]++;
    for (request *q = a->queue; q != NULL; q = q->next) {
        if (!q->list && n[1]++ == 0)
            first[1] = q;
    }
    for (mapreg *r = a->grants; r != NULL; r = r->next) {
        if (!r->held)
            continue;
        unsigned k = r->sg != NULL ? 3 : 2;
        if (r->channel && n[1]++ == 0)
            first[1] = r;
        if (first[k] == NULL)
            first[k] = r;
        n[k] += k == 3 ? 1 : r->count;
    }
    static const char *const what[4] = {"common buffer(s)", "adapter channel(s)", "map register(s)",
                                        "scatter/gather list(s)"};
    for (unsigned k = 0; k < 4; k++) {
        if (n[k] != 0)
            kdpc__violation(m, KDPC_R_DMA_PUT_OUTSTANDING, 0xE6, 0x07u + k, (uintptr_t)DmaAdapter,
                            n[k], (uintptr_t)first[k], NULL,
                            "PutDmaAdapter with %lu %s still outstanding: free them first",
                            (unsigned long)n[k], what[k]);
    }
    a->put = true;
    kdpc__ke_point(m);
}

static DMA_OPERATIONS ops = {
    sizeof(DMA_OPERATIONS),
    put_adapter,
    alloc_common,
    free_common,
    allocate_channel,
    flush_buffers,
    free_channel,
    free_map_registers,
    map_transfer,
    get_alignment,
    read_counter,
    get_sg_list,
    put_sg_list,
    calculate_sg_list,
    build_sg_list,
    build_mdl_from_sg,
    get_adapter_info,
    get_transfer_info,
    init_transfer_context,
    alloc_common_ex,
    allocate_channel_ex,
    configure_channel,
    cancel_channel,
    map_transfer_ex,
    get_sg_list_ex,
    build_sg_list_ex,
    flush_buffers_ex,
    free_adapter_object,
    cancel_mapped_transfer,
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
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoGetDmaAdapter", (uintptr_t)PhysicalDeviceObject);
    irql_check(m, "IoGetDmaAdapter", AT_PASSIVE, c->irql);
    if (DeviceDescription == NULL)
        return NULL;
    if (DeviceDescription->Version > DEVICE_DESCRIPTION_VERSION3) {
        /* dma.bad_description: 0xE6 P1 0x25; P2 the version given (kdpc's). Off: NULL. */
        kdpc__violation(m, KDPC_R_DMA_BAD_DESCRIPTION, 0xE6, 0x25, DeviceDescription->Version, 0, 0,
                        NULL,
                        "IoGetDmaAdapter with DEVICE_DESCRIPTION version %lu: versions 0 to 3 "
                        "exist",
                        (unsigned long)DeviceDescription->Version);
        return NULL;
    }
    /* version 3: a bus master's address width must be 1..64 bits */
    if (DeviceDescription->Version == DEVICE_DESCRIPTION_VERSION3 && DeviceDescription->Master &&
        (DeviceDescription->DmaAddressWidth == 0 || DeviceDescription->DmaAddressWidth > 64))
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
    a->pdo = PhysicalDeviceObject;
    a->desc = *DeviceDescription;
    a->version = DeviceDescription->Version < 1 ? 1 : DeviceDescription->Version;
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
            check_flushed(m, r, "IoCompleteRequest", false);
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

/*
 * dma.adapter_not_put: @dev is deleted while adapters IoGetDmaAdapter gave for it were never put
 * back with PutDmaAdapter: 0xE6 P1 0x11 (too many outstanding references on an adapter), P2
 * the references left (those adapters), P3 the first adapter, P4 @dev. Once per device; the
 * adapters stay usable (a later use is not a use after free: their memory lives until the
 * machine goes).
 */
void kdpc__io_dma_device_deleted(kdpc_machine *m, const DEVICE_OBJECT *dev)
{
    ULONG refs = 0;
    adapter *first = NULL;
    for (adapter *a = kdpc__io_of(m)->adapters; a != NULL; a = a->next) {
        if (a->pdo != dev || a->put)
            continue;
        refs++;
        first = a;
        a->pdo = NULL; /* its device is gone: not counted again */
    }
    if (refs == 0)
        return;
    kdpc__violation(m, KDPC_R_DMA_ADAPTER_NOT_PUT, 0xE6, 0x11, refs, (uintptr_t)&first->pub,
                    (uintptr_t)dev, NULL,
                    "device %p deleted while %lu DMA adapter(s) IoGetDmaAdapter gave for it were "
                    "never put back: call PutDmaAdapter (at IRP_MN_STOP_DEVICE / "
                    "IRP_MN_REMOVE_DEVICE)",
                    (const void *)dev, (unsigned long)refs);
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
            if (r->sg != NULL && r->held && r->sg_owned)
                free(r->sg); /* never put back */
            free(r);
        }
        while (a->queue != NULL) {
            request *q = a->queue;
            a->queue = q->next;
            free(q);
        }
        while (a->done != NULL) { /* DPCs that never ran: the machine is going */
            dmadone *x = a->done;
            a->done = x->next;
            free(x);
        }
        while (a->contexts != NULL) {
            tcrec *t = a->contexts;
            a->contexts = t->next;
            free(t);
        }
        while (a->commons != NULL) {
            common *cb = a->commons;
            a->commons = cb->next;
            free(cb->base);
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

/* The start of a live mapping (mapped, unflushed range or common buffer) [lo, hi) overlaps,
 * or 0. */
static uintptr_t overlapped(kdpc_machine *m, uintptr_t lo, uintptr_t hi, uintptr_t *end)
{
    for (adapter *a = kdpc__io_of(m)->adapters; a != NULL; a = a->next) {
        for (mapreg *r = a->grants; r != NULL; r = r->next) {
            for (unsigned i = 0; i < r->nranges; i++) {
                if (lo < r->ranges[i].hi && hi > r->ranges[i].lo) {
                    *end = r->ranges[i].hi;
                    return r->ranges[i].lo;
                }
            }
        }
        for (common *cb = a->commons; cb != NULL; cb = cb->next) {
            uintptr_t b = (uintptr_t)cb->va;
            if (lo < b + cb->len && hi > b) {
                *end = b + cb->len;
                return b;
            }
        }
    }
    return 0;
}

/*
 * A device moved data at an address no live mapping covers: the driver programmed it with a
 * logical address it never mapped, already flushed, or freed. A write that begins or ends
 * inside a live buffer and runs out of it is what DMA verification's padding shows:
 * dma.buffer_overrun (0xE6 P1 0x0F, P2 0x04 before the buffer or 0x05 past its end, P3 the
 * buffer, P4 the first address outside it). Anything else is dev.dma_unmapped, 0xE6 P1 0x26
 * (the IOMMU reported a DMA violation): P2 the faulting device (kdpc's kdpc_device, there is no
 * DEVICE_OBJECT of the hardware), P3 the logical address, P4 the fault type (kdpc's: 1 read,
 * 2 write).
 */
static void dev_dma_unmapped(kdpc_machine *m, kdpc_device *dev, uint64_t logical, size_t len,
                             bool write)
{
    uintptr_t lo = (uintptr_t)logical, end = 0;
    uintptr_t b = write ? overlapped(m, lo, lo + len, &end) : 0;
    if (b != 0) {
        bool before = lo < b;
        kdpc__violation(m, KDPC_R_DMA_BUFFER_OVERRUN, 0xE6, 0x0F, before ? 0x04u : 0x05u, b,
                        before ? lo : end, NULL,
                        "device %s: its DMA engine wrote %zu bytes at logical address 0x%" PRIx64
                        ", %s the DMA buffer at %p: the driver programmed a transfer longer than "
                        "its buffer",
                        kdpc_device_name(dev), len, logical, before ? "starting before" : "past",
                        (void *)b);
        return;
    }
    kdpc__violation(m, KDPC_R_DEV_DMA_UNMAPPED, 0xE6, 0x26, (uintptr_t)dev, logical,
                    write ? 2u : 1u, NULL,
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
