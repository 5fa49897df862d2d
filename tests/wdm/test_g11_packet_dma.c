/* SPDX-License-Identifier: MIT */
/*
 * test_g11_packet_dma.c - guideline G11 (docs/guidelines.md) in a packet-based
 * bus-master DMA driver (docs/facts/io.md 5.2-5.9, 5.11, 4.26, 4.30).
 *
 * The "device": a block of media (the device's own storage) and a DMA engine
 * programmed with a logical address, a length, a media offset and a
 * direction. When programmed it moves the bytes between the media and the
 * host memory behind the logical address (kdpc_dma_host_address: only a
 * mapped, unflushed range is reachable; otherwise the transfer fails) and
 * raises its Latched interrupt line.
 *
 * The driver "g11" (DO_DIRECT_IO, reads and writes) follows G11:
 *   StartIo:        KeFlushIoBuffers, AllocateAdapterChannel for the map
 *                   registers the transfer needs (at most the adapter's limit);
 *   AdapterControl: saves MapRegisterBase, MapTransfer of the first piece,
 *                   programs the device in a SynchCritSection, returns
 *                   KeepObject (or DeallocateObjectKeepRegisters);
 *   ISR:            acknowledges, records the result, IoRequestDpc;
 *   DpcForIsr:      FlushAdapterBuffers of the piece; if bytes remain, maps
 *                   and programs the next piece; at the end FreeAdapterChannel
 *                   (or FreeMapRegisters with the same count), then
 *                   IoStartNextPacket and IoCompleteRequest.
 * The adapter has 2 map registers (MaximumLength = PAGE_SIZE), so transfers
 * of more than a page or two are split over several MapTransfer calls.
 *
 * Two threads keep three requests each in flight (reads of media prefilled
 * with a pattern, writes of buffers filled with another), with buffers at
 * odd page offsets, on 1 and 2 CPUs over several seeds, in both modes: the
 * data really moved, every piece was flushed, no violation. The broken
 * twins: completing before freeing (dma.adapter_held, 0xE6 P1 0x2A),
 * no FlushAdapterBuffers (dma.not_flushed, 0xE6 P1 0x0D), freeing twice
 * (dma.double_free, 0xE6 P1 0x04 for the channel, 0x05 for the registers),
 * and one that stops after the first piece (not a rule: the data is short).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE  11
#define DIRQL 8
#define NREQ  6
#define CHUNK (5 * PAGE_SIZE) /* media per request */
#define MEDIA (NREQ * CHUNK)
#define BUFSZ (6 * PAGE_SIZE)
#define GUARD 0xEE

typedef enum MODE {
    MODE_KEEP_OBJECT = 0,    /* AdapterControl returns KeepObject: FreeAdapterChannel */
    MODE_KEEP_REGISTERS = 1, /* DeallocateObjectKeepRegisters: FreeMapRegisters */
} MODE;

typedef enum BROKEN {
    OK = 0,
    BROKEN_COMPLETE_FIRST, /* IoCompleteRequest, then the free */
    BROKEN_NO_FLUSH,       /* never FlushAdapterBuffers */
    BROKEN_DOUBLE_FREE,    /* the free twice */
    BROKEN_NO_SPLIT,       /* completes after the first piece */
} BROKEN;

typedef struct EXT {
    PKINTERRUPT Interrupt;
    PDMA_ADAPTER Adapter;
    ULONG MaxRegs;
    /* the device's registers (under the interrupt lock) */
    uint64_t HwAddr;
    ULONG HwLen;
    ULONG HwMediaOff;
    BOOLEAN HwToDevice;
    BOOLEAN HwError;
    LONG HwIntPending;
    /* ISR-shared result */
    BOOLEAN OpError;
    ULONG OpMoved;
    /* the transfer in progress (StartIo -> AdapterControl -> DPC: one at a time) */
    PMDL Mdl;
    PUCHAR CurrentVa;
    ULONG Remaining;
    ULONG MediaOff;
    BOOLEAN WriteToDevice;
    PVOID MapRegisterBase;
    ULONG NRegs;
    ULONG PieceLen;
    PHYSICAL_ADDRESS PieceLa;
    ULONG Moved;
    BOOLEAN Error;
    int Req; /* test bookkeeping: the request index */
} EXT, *PEXT;

static _Alignas(4096) UCHAR bufs[NREQ][BUFSZ];
static UCHAR media[MEDIA];

/* per request: direction, buffer offset, length */
static const BOOLEAN req_write[NREQ] = {FALSE, TRUE, FALSE, TRUE, FALSE, TRUE};
static const ULONG req_off[NREQ] = {0x000, 0x080, 0xF00, 0x010, 0x800, 0x234};
static const ULONG req_len[NREQ] = {100,           PAGE_SIZE, 3 * PAGE_SIZE + 0x123,
                                    2 * PAGE_SIZE, 5000,      4 * PAGE_SIZE};

static struct {
    MODE mode;
    BROKEN broken;
    unsigned cpus;
    kdpc_machine *m;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    PDMA_ADAPTER adapter;
    NTSTATUS load_status;

    IO_STATUS_BLOCK iosb[NREQ];
    KEVENT ev[NREQ];
    NTSTATUS call_ret[NREQ];
    NTSTATUS wait_ret[NREQ];
    PIRP irps[NREQ];
    LONG done[NREQ];
    KEVENT thread_done[2];

    LONG maps[NREQ];
    LONG flushes[NREQ];
    LONG flush_failed;
    LONG unmapped; /* the device found no mapping behind a logical address */
    LONG control_calls;
    LONG control_bad_irp;
    KIRQL control_irql;
    LONG isr_runs;
    LONG dpc_runs;
    LONG alloc_failed;
    PIRP bad_irp;       /* the IRP the broken DPC completes */
    LONG reached_after; /* the broken DPC got past the violating call */
    LONG reached_end;
} t;

static UCHAR media_pattern(ULONG pos)
{
    return (UCHAR)(pos * 7u + (pos >> 12) + 1u);
}

static UCHAR write_pattern(int i, ULONG j)
{
    return (UCHAR)(i * 13 + (int)(j * 3u) + 5);
}

/* Pieces a transfer of @len from page offset @off is split into with at most @max registers. */
static ULONG expected_pieces(ULONG off, ULONG len, ULONG max)
{
    ULONG need = ADDRESS_AND_SIZE_TO_SPAN_PAGES(off, len);
    ULONG regs = need < max ? need : max;
    ULONG n = 0;
    while (len > 0) {
        ULONG piece = regs * PAGE_SIZE - BYTE_OFFSET(off);
        if (piece > len)
            piece = len;
        off += piece;
        len -= piece;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* The device                                                           */

static BOOLEAN ProgramDevice(PVOID Context)
{
    PEXT ext = Context;
    ext->HwAddr = (uint64_t)ext->PieceLa.QuadPart;
    ext->HwLen = ext->PieceLen;
    ext->HwMediaOff = ext->MediaOff;
    ext->HwToDevice = ext->WriteToDevice;
    /* the DMA engine: bus-master transfer through the logical address */
    PUCHAR host = kdpc_dma_host_address(t.m, ext->HwAddr, ext->HwLen);
    if (host == NULL || (size_t)ext->HwMediaOff + ext->HwLen > MEDIA) {
        t.unmapped++;
        ext->HwError = TRUE;
    } else {
        ext->HwError = FALSE;
        if (ext->HwToDevice)
            memcpy(&media[ext->HwMediaOff], host, ext->HwLen);
        else
            memcpy(host, &media[ext->HwMediaOff], ext->HwLen);
    }
    ext->HwIntPending = 1;
    (void)kdpc_line_assert(t.m, LINE);
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* The driver                                                           */

/* Map the next piece of the transfer and start the device on it. */
static void map_and_program(PEXT ext)
{
    ULONG len = ext->Remaining; /* MapTransfer cuts it to what the registers map */
    ext->PieceLa = ext->Adapter->DmaOperations->MapTransfer(
        ext->Adapter, ext->Mdl, ext->MapRegisterBase, ext->CurrentVa, &len, ext->WriteToDevice);
    ext->PieceLen = len;
    InterlockedIncrement(&t.maps[ext->Req]);
    (void)KeSynchronizeExecution(ext->Interrupt, ProgramDevice, ext); /* G1 */
}

static IO_ALLOCATION_ACTION G11AdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                              PVOID MapRegisterBase, PVOID Context)
{
    PEXT ext = Context;
    t.control_calls++;
    t.control_irql = KeGetCurrentIrql();
    if (Irp != DeviceObject->CurrentIrp || Irp == NULL)
        t.control_bad_irp++;
    ext->MapRegisterBase = MapRegisterBase; /* 5.3: save it */
    map_and_program(ext);
    return t.mode == MODE_KEEP_OBJECT ? KeepObject : DeallocateObjectKeepRegisters;
}

static BOOLEAN G11Isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PEXT ext = dev->DeviceExtension;
    if (ext->HwIntPending == 0)
        return FALSE;
    ext->HwIntPending = 0; /* acknowledge */
    ext->OpError = ext->HwError;
    ext->OpMoved = ext->HwLen;
    t.isr_runs++;
    IoRequestDpc(dev, dev->CurrentIrp, NULL);
    return TRUE;
}

typedef struct TAKE {
    PEXT ext;
    BOOLEAN error;
    ULONG moved;
} TAKE;

static BOOLEAN TakeResult(PVOID Context)
{
    TAKE *tk = Context;
    tk->error = tk->ext->OpError;
    tk->moved = tk->ext->OpMoved;
    return TRUE;
}

static void free_dma(PEXT ext)
{
    PDMA_OPERATIONS ops = ext->Adapter->DmaOperations;
    if (t.mode == MODE_KEEP_OBJECT)
        ops->FreeAdapterChannel(ext->Adapter);
    else
        ops->FreeMapRegisters(ext->Adapter, ext->MapRegisterBase, ext->NRegs); /* same count */
}

static void G11DpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Context;
    PEXT ext = DeviceObject->DeviceExtension;
    PIRP irp = DeviceObject->CurrentIrp;
    InterlockedIncrement(&t.dpc_runs);
    if (irp == NULL || irp != Irp)
        return;
    TAKE tk;
    tk.ext = ext;
    tk.error = FALSE;
    tk.moved = 0;
    (void)KeSynchronizeExecution(ext->Interrupt, TakeResult, &tk);
    PDMA_OPERATIONS ops = ext->Adapter->DmaOperations;
    if (t.broken != BROKEN_NO_FLUSH) {
        /* G11: after each transfer, with the CurrentVa and length given to MapTransfer */
        BOOLEAN ok = ops->FlushAdapterBuffers(ext->Adapter, ext->Mdl, ext->MapRegisterBase,
                                              ext->CurrentVa, ext->PieceLen, ext->WriteToDevice);
        InterlockedIncrement(&t.flushes[ext->Req]);
        if (!ok) {
            InterlockedIncrement(&t.flush_failed);
            tk.error = TRUE;
        }
    }
    if (tk.error) {
        ext->Error = TRUE;
    } else {
        ext->CurrentVa += tk.moved;
        ext->Remaining -= tk.moved;
        ext->MediaOff += tk.moved;
        ext->Moved += tk.moved;
    }
    if (!ext->Error && ext->Remaining > 0 && t.broken != BROKEN_NO_SPLIT) {
        map_and_program(ext); /* G11: set up transfers until all bytes moved */
        return;
    }
    /* the transfer is over: capture what completion needs before StartIo reuses ext */
    irp->IoStatus.Status = ext->Error ? STATUS_IO_DEVICE_ERROR : STATUS_SUCCESS;
    irp->IoStatus.Information = ext->Moved;
    if (t.broken == BROKEN_COMPLETE_FIRST) {
        t.bad_irp = irp;
        IoCompleteRequest(irp, IO_NO_INCREMENT); /* still holding the channel / registers */
        t.reached_after = 1;
        free_dma(ext);
        IoStartNextPacket(DeviceObject, FALSE);
        return;
    }
    free_dma(ext); /* G11: before completing the IRP */
    if (t.broken == BROKEN_DOUBLE_FREE) {
        free_dma(ext);
        t.reached_after = 1;
    }
    if (t.broken == BROKEN_NO_FLUSH)
        t.reached_after = 1;
    IoStartNextPacket(DeviceObject, FALSE); /* G6 */
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void G11StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PEXT ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG len = sl->Parameters.Read.Length;
    ext->Mdl = Irp->MdlAddress;
    ext->CurrentVa = MmGetMdlVirtualAddress(ext->Mdl); /* 5.7: the first CurrentVa */
    ext->Remaining = len;
    ext->MediaOff = (ULONG)sl->Parameters.Read.ByteOffset.QuadPart;
    ext->Req = (int)(ext->MediaOff / CHUNK);
    ext->WriteToDevice = sl->MajorFunction == IRP_MJ_WRITE;
    ext->Moved = 0;
    ext->Error = FALSE;
    ULONG need = ADDRESS_AND_SIZE_TO_SPAN_PAGES(ext->CurrentVa, len); /* 5.9 */
    ext->NRegs = need < ext->MaxRegs ? need : ext->MaxRegs;
    KeFlushIoBuffers(ext->Mdl, !ext->WriteToDevice, TRUE); /* 5.11 step 1 */
    NTSTATUS st = ext->Adapter->DmaOperations->AllocateAdapterChannel(
        ext->Adapter, DeviceObject, ext->NRegs, G11AdapterControl, ext);
    if (!NT_SUCCESS(st)) {
        t.alloc_failed++;
        Irp->IoStatus.Status = st;
        Irp->IoStatus.Information = 0;
        IoStartNextPacket(DeviceObject, FALSE);
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
    }
}

static NTSTATUS G11ReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG len = sl->Parameters.Read.Length;
    LONGLONG off = sl->Parameters.Read.ByteOffset.QuadPart;
    if (len == 0 || Irp->MdlAddress == NULL || off < 0 || (ULONGLONG)off + len > MEDIA) {
        Irp->IoStatus.Status = len == 0 ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
        Irp->IoStatus.Information = 0;
        NTSTATUS st = Irp->IoStatus.Status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return st;
    }
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, NULL);
    return STATUS_PENDING;
}

static void G11Unload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT dev = DriverObject->DeviceObject;
    PEXT ext = dev->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
    IoDeleteDevice(dev);
}

static NTSTATUS G11DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    dev->Flags |= DO_DIRECT_IO;
    PEXT ext = dev->DeviceExtension;
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE; /* 5.7: MapTransfer updates Length */
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = PAGE_SIZE; /* 2 map registers: larger transfers are split */
    ext->Adapter = IoGetDmaAdapter(dev, &dd, &ext->MaxRegs);
    if (ext->Adapter == NULL) {
        IoDeleteDevice(dev);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    t.adapter = ext->Adapter;
    DriverObject->MajorFunction[IRP_MJ_READ] = G11ReadWrite;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = G11ReadWrite;
    DriverObject->DriverStartIo = G11StartIo;
    DriverObject->DriverUnload = G11Unload;
    IoInitializeDpcRequest(dev, G11DpcForIsr); /* G18 */
    KAFFINITY mask = (KAFFINITY)((1u << t.cpus) - 1u);
    st = IoConnectInterrupt(&ext->Interrupt, G11Isr, dev, NULL, LINE, DIRQL, DIRQL, Latched, FALSE,
                            mask, FALSE);
    if (!NT_SUCCESS(st)) {
        ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
        IoDeleteDevice(dev);
        return st;
    }
    t.dev = dev;
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The requesters                                                       */

/*
 * The requests are IoAllocateIrp IRPs with an MDL from IoAllocateMdl (as a
 * higher driver builds them); the owner's completion routine takes the
 * status, signals and returns STATUS_MORE_PROCESSING_REQUIRED, and the
 * requester frees the MDL and the IRP.
 */
static NTSTATUS OwnerDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    int i = (int)(uintptr_t)Ctx;
    t.iosb[i] = Irp->IoStatus;
    t.done[i]++;
    KeSetEvent(&t.ev[i], IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void Requester(PVOID Context)
{
    int th = (int)(uintptr_t)Context;
    int first = th * (NREQ / 2);
    for (int i = first; i < first + NREQ / 2; i++) {
        t.iosb[i].Status = (NTSTATUS)0x12345678L;
        KeInitializeEvent(&t.ev[i], NotificationEvent, FALSE);
        PIRP irp = IoAllocateIrp(t.dev->StackSize, FALSE);
        t.irps[i] = irp;
        if (irp == NULL)
            continue;
        PMDL mdl = IoAllocateMdl(&bufs[i][req_off[i]], req_len[i], FALSE, FALSE, irp);
        if (mdl == NULL)
            continue;
        MmBuildMdlForNonPagedPool(mdl);
        PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
        sl->MajorFunction = req_write[i] ? IRP_MJ_WRITE : IRP_MJ_READ;
        sl->Parameters.Read.Length = req_len[i];
        sl->Parameters.Read.ByteOffset.QuadPart = (LONGLONG)i * CHUNK;
        IoSetCompletionRoutine(irp, OwnerDone, (PVOID)(uintptr_t)i, TRUE, TRUE, TRUE);
        t.call_ret[i] = IoCallDriver(t.dev, irp);
    }
    for (int i = first; i < first + NREQ / 2; i++) {
        LARGE_INTEGER timeout;
        timeout.QuadPart = -10LL * 1000 * 1000;
        t.wait_ret[i] = KeWaitForSingleObject(&t.ev[i], Executive, KernelMode, FALSE, &timeout);
        if (t.wait_ret[i] == STATUS_SUCCESS && t.irps[i] != NULL) {
            if (t.irps[i]->MdlAddress != NULL)
                IoFreeMdl(t.irps[i]->MdlAddress);
            IoFreeIrp(t.irps[i]);
        }
    }
    KeSetEvent(&t.thread_done[th], IO_NO_INCREMENT, FALSE);
}

static void TestEntry(void *ctx)
{
    (void)ctx;
    t.load_status = kdpc_driver_load(t.m, "g11", G11DriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load_status))
        return;
    HANDLE h[2];
    for (int th = 0; th < 2; th++) {
        KeInitializeEvent(&t.thread_done[th], NotificationEvent, FALSE);
        (void)PsCreateSystemThread(&h[th], 0, NULL, NULL, NULL, Requester, (PVOID)(uintptr_t)th);
    }
    for (int th = 0; th < 2; th++) {
        (void)KeWaitForSingleObject(&t.thread_done[th], Executive, KernelMode, FALSE, NULL);
        (void)ZwClose(h[th]);
    }
    (void)kdpc_driver_unload(t.drv);
    t.reached_end = 1;
}

static void fill(void)
{
    for (ULONG p = 0; p < MEDIA; p++)
        media[p] = media_pattern(p);
    for (int i = 0; i < NREQ; i++) {
        memset(bufs[i], GUARD, BUFSZ);
        if (req_write[i])
            for (ULONG j = 0; j < req_len[i]; j++)
                bufs[i][req_off[i] + j] = write_pattern(i, j);
    }
}

static kdpc_machine *run(MODE mode, BROKEN broken, unsigned cpus, uint64_t seed, kdpc_status *st)
{
    memset(&t, 0, sizeof t);
    fill();
    t.mode = mode;
    t.broken = broken;
    t.cpus = cpus;
    kdpc_machine *m = kt_machine(cpus, seed);
    t.m = m;
    KDPC_NAME(m, G11Isr);
    KDPC_NAME(m, G11DpcForIsr);
    KDPC_NAME(m, G11StartIo);
    KDPC_NAME(m, G11AdapterControl);
    *st = kdpc_machine_run(m, TestEntry, NULL);
    return m;
}

/* The data of request @i moved completely (reads: into the buffer; writes: onto the media). */
static void check_data(int i)
{
    ULONG off = req_off[i], len = req_len[i];
    for (ULONG j = 0; j < off; j++)
        assert_int_equal(bufs[i][j], GUARD);
    for (ULONG j = off + len; j < BUFSZ; j++)
        assert_int_equal(bufs[i][j], GUARD);
    ULONG base = (ULONG)i * CHUNK;
    if (req_write[i]) {
        for (ULONG j = 0; j < len; j++)
            assert_int_equal(media[base + j], write_pattern(i, j));
        for (ULONG j = len; j < CHUNK; j++)
            assert_int_equal(media[base + j], media_pattern(base + j));
    } else {
        for (ULONG j = 0; j < len; j++)
            assert_int_equal(bufs[i][off + j], media_pattern(base + j));
        for (ULONG j = 0; j < CHUNK; j++)
            assert_int_equal(media[base + j], media_pattern(base + j));
    }
}

static void test_packet_dma_moves_all_data_across_seeds_cpus_and_modes(void **state)
{
    (void)state;
    LONG split = 0;
    for (int mode = MODE_KEEP_OBJECT; mode <= MODE_KEEP_REGISTERS; mode++) {
        for (unsigned cpus = 1; cpus <= 2; cpus++) {
            for (uint64_t seed = 1; seed <= 5; seed++) {
                kdpc_status st;
                kdpc_machine *m = run((MODE)mode, OK, cpus, seed, &st);
                assert_int_equal(st, KDPC_OK);
                assert_int_equal(t.load_status, STATUS_SUCCESS);
                assert_int_equal(t.reached_end, 1);
                assert_int_equal(kdpc_machine_violation_count(m), 0);
                assert_int_equal(t.unmapped, 0); /* the device always reached the buffer */
                assert_int_equal(t.flush_failed, 0);
                assert_int_equal(t.alloc_failed, 0);
                assert_int_equal(t.control_calls, NREQ); /* once per IRP (5.3) */
                assert_int_equal(t.control_bad_irp, 0);
                assert_int_equal(t.control_irql, DISPATCH_LEVEL);
                LONG pieces = 0;
                for (int i = 0; i < NREQ; i++) {
                    assert_int_equal(t.call_ret[i], STATUS_PENDING);
                    assert_int_equal(t.wait_ret[i], STATUS_SUCCESS);
                    assert_int_equal(t.done[i], 1);
                    assert_int_equal(t.iosb[i].Status, STATUS_SUCCESS);
                    assert_int_equal(t.iosb[i].Information, req_len[i]);
                    /* split as 5.9 says; one flush per MapTransfer (5.8) */
                    assert_int_equal(t.maps[i], expected_pieces(req_off[i], req_len[i], 2));
                    assert_int_equal(t.flushes[i], t.maps[i]);
                    pieces += t.maps[i];
                    check_data(i);
                    /* nothing of the buffer stays reachable by the device */
                    assert_null(kdpc_dma_host_address(m, (uint64_t)(uintptr_t)bufs[i], 1));
                    assert_null(kdpc_dma_host_address(m, (uint64_t)(uintptr_t)&bufs[i][req_off[i]],
                                                      req_len[i]));
                }
                assert_int_equal(t.isr_runs, pieces);
                if (pieces > NREQ)
                    split++;
                kdpc_machine_destroy(m);
            }
        }
    }
    assert_int_equal(split, 20); /* every run split some transfers */
}

/* ------------------------------------------------------------------ */
/* Broken twins                                                         */

static void test_completing_before_freeing_the_channel_bugchecks_e6_2a(void **state)
{
    (void)state;
    for (int mode = MODE_KEEP_OBJECT; mode <= MODE_KEEP_REGISTERS; mode++) {
        kdpc_status st;
        kdpc_machine *m = run((MODE)mode, BROKEN_COMPLETE_FIRST, 2, 3, &st);
        KT_ASSERT_BUGCHECK(m, st, "dma.adapter_held", 0xE6);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_int_equal(bc->params[0], 0x2A);
        assert_int_equal(bc->params[1], (uint64_t)(uintptr_t)t.adapter);
        assert_non_null(t.bad_irp);
        assert_int_equal(bc->params[3], (uint64_t)(uintptr_t)t.bad_irp);
        assert_string_equal(bc->routine, "G11DpcForIsr");
        assert_int_equal(t.reached_after, 0);
        assert_int_equal(t.reached_end, 0);
        kdpc_machine_destroy(m);
    }
}

static void test_forgetting_flush_adapter_buffers_bugchecks_e6_0d(void **state)
{
    (void)state;
    for (int mode = MODE_KEEP_OBJECT; mode <= MODE_KEEP_REGISTERS; mode++) {
        kdpc_status st;
        kdpc_machine *m = run((MODE)mode, BROKEN_NO_FLUSH, 1, 4, &st);
        KT_ASSERT_BUGCHECK(m, st, "dma.not_flushed", 0xE6);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_int_equal(bc->params[0], 0x10); /* map registers freed while still mapped */
        assert_int_equal(bc->params[2], (uint64_t)(uintptr_t)t.adapter);
        assert_int_equal(t.reached_after, 0); /* stopped in the free, before completing */
        for (int i = 0; i < NREQ; i++)
            assert_int_equal(t.flushes[i], 0);
        kdpc_machine_destroy(m);
    }
}

static void test_freeing_the_adapter_channel_twice_bugchecks_e6_04(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(MODE_KEEP_OBJECT, BROKEN_DOUBLE_FREE, 2, 5, &st);
    KT_ASSERT_BUGCHECK(m, st, "dma.double_free", 0xE6);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x04);
    assert_int_equal(bc->params[1], 1); /* one adapter channel freed too many */
    assert_int_equal(bc->params[2], (uint64_t)(uintptr_t)t.adapter);
    assert_int_equal(t.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void test_freeing_the_map_registers_twice_bugchecks_e6_05(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(MODE_KEEP_REGISTERS, BROKEN_DOUBLE_FREE, 2, 6, &st);
    KT_ASSERT_BUGCHECK(m, st, "dma.double_free", 0xE6);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x05);
    assert_true(bc->params[1] != 0); /* the map registers freed too many */
    assert_int_equal(bc->params[2], (uint64_t)(uintptr_t)t.adapter);
    assert_int_equal(t.reached_after, 0);
    kdpc_machine_destroy(m);
}

/* G11 "sets up transfers until all bytes moved": no rule catches the short
 * transfer, the requester sees it: Information and the data fall short. */
static void test_stopping_after_the_first_piece_moves_only_part_of_the_data(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(MODE_KEEP_OBJECT, BROKEN_NO_SPLIT, 2, 7, &st);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(t.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    int short_reqs = 0;
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(t.iosb[i].Status, STATUS_SUCCESS);
        assert_int_equal(t.maps[i], 1);
        ULONG first = expected_pieces(req_off[i], req_len[i], 2) == 1
                          ? req_len[i]
                          : 2 * PAGE_SIZE - BYTE_OFFSET(req_off[i]);
        assert_int_equal(t.iosb[i].Information, first);
        if (first < req_len[i]) {
            short_reqs++;
            ULONG base = (ULONG)i * CHUNK;
            if (req_write[i]) /* the media past the first piece is as it was */
                assert_int_equal(media[base + first], media_pattern(base + first));
            else /* the buffer past the first piece was never written */
                assert_int_equal(bufs[i][req_off[i] + first], GUARD);
        }
    }
    assert_int_equal(short_reqs, 3);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packet_dma_moves_all_data_across_seeds_cpus_and_modes),
        cmocka_unit_test(test_completing_before_freeing_the_channel_bugchecks_e6_2a),
        cmocka_unit_test(test_forgetting_flush_adapter_buffers_bugchecks_e6_0d),
        cmocka_unit_test(test_freeing_the_adapter_channel_twice_bugchecks_e6_04),
        cmocka_unit_test(test_freeing_the_map_registers_twice_bugchecks_e6_05),
        cmocka_unit_test(test_stopping_after_the_first_piece_moves_only_part_of_the_data),
    };
    return cmocka_run_group_tests_name("g11_packet_dma", tests, NULL, NULL);
}
