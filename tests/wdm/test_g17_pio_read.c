/* SPDX-License-Identifier: MIT */
/*
 * test_g17_pio_read.c - guideline G17 (docs/guidelines.md): "PIO reads call
 * KeFlushIoBuffers at the end of each transfer" (rule pio.not_flushed), in a
 * StartIo driver with an ISR and a DpcForIsr (docs/facts/io.md 7.4).
 *
 * The "device": a FIFO (a nonpaged buffer the test fills) that delivers at
 * most XFER bytes per transfer and raises its Latched line when they are
 * ready. The driver is DO_DIRECT_IO. StartIo programs the first transfer
 * through a SynchCritSection; the ISR acknowledges and calls IoRequestDpc;
 * the DpcForIsr reads the ready bytes from the FIFO into the IRP's MDL buffer
 * (MmGetSystemAddressForMdlSafe) in pieces of 16 bytes, calls
 * KeFlushIoBuffers(Mdl, TRUE, FALSE) at the end of the transfer (G17), then
 * programs the next transfer, or - when the request is complete - calls
 * IoStartNextPacket and completes the IRP (G6).
 *
 * A thread sends three reads (200, 64 and 37 bytes: 4 + 1 + 1 transfers) at
 * once on a 2-CPU machine, across seeds; each caller sees its slice of the
 * FIFO and no rule is broken. The broken twin forgets KeFlushIoBuffers:
 * pio.not_flushed, a warning, for each read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE       5
#define DIRQL      6
#define XFER       64 /* bytes the device delivers per transfer */
#define PIECE      16 /* bytes the DPC moves per FIFO read */
#define FIFO_BYTES 512
#define NREQ       3
#define TAG        'oiPG'

static const ULONG req_len[NREQ] = {200, 64, 37};

typedef struct EXT {
    PKINTERRUPT Interrupt;
    /* the device (touched at DIRQL under the interrupt lock, or by the DPC's FIFO reads) */
    PUCHAR Fifo; /* nonpaged */
    ULONG FifoPos;
    ULONG HwReady; /* bytes of the current transfer ready in the FIFO */
    LONG HwIntPending;
    /* the current request (StartIo / DPC) */
    ULONG Want;
    ULONG Done;
} EXT, *PEXT;

typedef struct PROGRAM {
    PEXT ext;
    ULONG bytes;
} PROGRAM;

static struct {
    BOOLEAN broken;
    BOOLEAN paged_buffers;
    kdpc_machine *m;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    NTSTATUS load_status;
    PUCHAR fifo;
    PUCHAR buf[NREQ];
    IO_STATUS_BLOCK iosb[NREQ];
    KEVENT ev[NREQ];
    NTSTATUS call_ret[NREQ];
    NTSTATUS wait_ret[NREQ];
    LONG transfers;
    LONG flushes;
    LONG pieces;
    LONG isr_runs;
    LONG dpc_runs;
    LONG max_dpc_irql;
    UCHAR copy[NREQ][256];
    LONG reached_end;
} t;

/* ------------------------------------------------------------------ */
/* The device                                                           */

static BOOLEAN ProgramTransfer(PVOID Context)
{
    PROGRAM *p = Context;
    p->ext->HwReady = p->bytes;
    p->ext->HwIntPending = 1;
    (void)kdpc_line_assert(t.m, LINE);
    return TRUE;
}

/* A FIFO read of up to PIECE bytes ("READ_PORT_BUFFER_UCHAR"). */
static void fifo_read(PEXT ext, PUCHAR dst, ULONG n)
{
    memcpy(dst, ext->Fifo + ext->FifoPos, n);
    ext->FifoPos += n;
}

static BOOLEAN TakeReady(PVOID Context)
{
    PROGRAM *p = Context;
    p->bytes = p->ext->HwReady;
    p->ext->HwReady = 0;
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* The driver                                                           */

static void start_transfer(PEXT ext)
{
    ULONG left = ext->Want - ext->Done;
    PROGRAM p = {ext, left < XFER ? left : XFER};
    (void)KeSynchronizeExecution(ext->Interrupt, ProgramTransfer, &p); /* G1 */
}

static BOOLEAN G17Isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PEXT ext = dev->DeviceExtension;
    if (ext->HwIntPending == 0)
        return FALSE;
    ext->HwIntPending = 0; /* acknowledge */
    t.isr_runs++;
    IoRequestDpc(dev, dev->CurrentIrp, NULL);
    return TRUE;
}

static void G17DpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Irp;
    (void)Context;
    PEXT ext = DeviceObject->DeviceExtension;
    PIRP irp = DeviceObject->CurrentIrp;
    InterlockedIncrement(&t.dpc_runs);
    if ((LONG)KeGetCurrentIrql() > t.max_dpc_irql)
        t.max_dpc_irql = KeGetCurrentIrql();
    PROGRAM p = {ext, 0};
    (void)KeSynchronizeExecution(ext->Interrupt, TakeReady, &p);
    if (irp == NULL || p.bytes == 0)
        return;
    PUCHAR dst = MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority);
    if (dst == NULL) {
        irp->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
        irp->IoStatus.Information = 0;
        IoStartNextPacket(DeviceObject, FALSE);
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return;
    }
    for (ULONG off = 0; off < p.bytes; off += PIECE) {
        ULONG n = p.bytes - off < PIECE ? p.bytes - off : PIECE;
        fifo_read(ext, dst + ext->Done + off, n);
        t.pieces++;
    }
    ext->Done += p.bytes;
    t.transfers++;
    if (!t.broken) {
        KeFlushIoBuffers(irp->MdlAddress, TRUE, FALSE); /* G17: end of each transfer */
        t.flushes++;
    }
    if (ext->Done < ext->Want) {
        start_transfer(ext); /* G7: the next range */
        return;
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = ext->Done;
    IoStartNextPacket(DeviceObject, FALSE); /* G6 */
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void G17StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PEXT ext = DeviceObject->DeviceExtension;
    ext->Want = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length;
    ext->Done = 0;
    start_transfer(ext);
}

static NTSTATUS G17Read(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    if (sl->Parameters.Read.Length == 0 || Irp->MdlAddress == NULL) {
        Irp->IoStatus.Status = STATUS_SUCCESS;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_SUCCESS;
    }
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, NULL);
    return STATUS_PENDING;
}

static void G17Unload(PDRIVER_OBJECT DriverObject)
{
    PEXT ext = DriverObject->DeviceObject->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
}

static NTSTATUS G17DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    dev->Flags |= DO_DIRECT_IO;
    PEXT ext = dev->DeviceExtension;
    ext->Fifo = t.fifo;
    DriverObject->MajorFunction[IRP_MJ_READ] = G17Read;
    DriverObject->DriverStartIo = G17StartIo;
    DriverObject->DriverUnload = G17Unload;
    IoInitializeDpcRequest(dev, G17DpcForIsr); /* G18 */
    st = IoConnectInterrupt(&ext->Interrupt, G17Isr, dev, NULL, LINE, DIRQL, DIRQL, Latched, FALSE,
                            0x3, FALSE);
    if (!NT_SUCCESS(st)) {
        IoDeleteDevice(dev);
        return st;
    }
    t.dev = dev;
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The test                                                             */

static UCHAR fifo_byte(ULONG i)
{
    return (UCHAR)(i * 13u + 5u);
}

static void TestEntry(void *ctx)
{
    (void)ctx;
    t.fifo = ExAllocatePoolWithTag(NonPagedPoolNx, FIFO_BYTES, TAG); /* the device FIFO */
    if (t.fifo == NULL)
        return;
    for (ULONG i = 0; i < FIFO_BYTES; i++)
        t.fifo[i] = fifo_byte(i);
    t.load_status = kdpc_driver_load(t.m, "g17pio", G17DriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load_status))
        return;
    for (int i = 0; i < NREQ; i++) {
        t.buf[i] =
            ExAllocatePoolWithTag(t.paged_buffers ? PagedPool : NonPagedPoolNx, req_len[i], TAG);
        if (t.buf[i] == NULL)
            return;
        memset(t.buf[i], 0xEE, req_len[i]);
        t.iosb[i].Status = (NTSTATUS)0x12345678L;
        KeInitializeEvent(&t.ev[i], NotificationEvent, FALSE);
    }
    /* all three in flight at once: the device queue keeps their order */
    for (int i = 0; i < NREQ; i++) {
        LARGE_INTEGER off;
        off.QuadPart = 0;
        PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, t.dev, t.buf[i], req_len[i], &off,
                                                &t.ev[i], &t.iosb[i]);
        if (irp == NULL)
            return;
        t.call_ret[i] = IoCallDriver(t.dev, irp);
    }
    for (int i = 0; i < NREQ; i++) {
        LARGE_INTEGER timeout;
        timeout.QuadPart = -10LL * 1000 * 1000; /* 1 s */
        t.wait_ret[i] = KeWaitForSingleObject(&t.ev[i], Executive, KernelMode, FALSE, &timeout);
        memcpy(t.copy[i], t.buf[i], req_len[i]);
        ExFreePoolWithTag(t.buf[i], TAG);
    }
    (void)kdpc_driver_unload(t.drv);
    ExFreePoolWithTag(t.fifo, TAG);
    t.reached_end = 1;
}

static kdpc_machine *run_seed(BOOLEAN broken, BOOLEAN paged, uint64_t seed, kdpc_status *st)
{
    memset(&t, 0, sizeof t);
    t.broken = broken;
    t.paged_buffers = paged;
    kdpc_machine *m = kt_machine(2, seed);
    t.m = m;
    KDPC_NAME(m, G17Isr);
    KDPC_NAME(m, G17DpcForIsr);
    KDPC_NAME(m, G17StartIo);
    *st = kdpc_machine_run(m, TestEntry, NULL);
    return m;
}

static void check_data(void)
{
    assert_int_equal(t.load_status, STATUS_SUCCESS);
    assert_int_equal(t.reached_end, 1);
    ULONG pos = 0;
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(t.call_ret[i], STATUS_PENDING);
        assert_int_equal(t.wait_ret[i], STATUS_SUCCESS);
        assert_int_equal(t.iosb[i].Status, STATUS_SUCCESS);
        assert_int_equal(t.iosb[i].Information, req_len[i]);
        for (ULONG k = 0; k < req_len[i]; k++)
            assert_int_equal(t.copy[i][k], fifo_byte(pos + k)); /* its slice of the FIFO */
        pos += req_len[i];
    }
    /* 200 = 4 transfers (64, 64, 64, 8), 64 = 1, 37 = 1; pieces of 16: 4+4+4+1, 4, 3 */
    assert_int_equal(t.transfers, 6);
    assert_int_equal(t.isr_runs, 6);
    assert_int_equal(t.pieces, 20);
    assert_int_equal(t.max_dpc_irql, DISPATCH_LEVEL);
}

static void test_pio_read_flushing_each_transfer_delivers_the_data_without_violation(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        kdpc_status st;
        kdpc_machine *m = run_seed(FALSE, FALSE, seed, &st);
        if (kdpc_machine_violation_count(m) > 0)
            print_error("seed %llu: %s: %s\n", (unsigned long long)seed,
                        kdpc_machine_violation(m, 0)->rule, kdpc_machine_violation(m, 0)->message);
        assert_int_equal(st, KDPC_OK);
        check_data();
        assert_int_equal(t.flushes, 6); /* one per transfer */
        KT_ASSERT_NO_VIOLATION(m, "pio.not_flushed");
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        size_t c = 1;
        assert_int_equal(kdpc_pool_outstanding(m, TAG, &c, NULL), KDPC_OK);
        assert_int_equal(c, 0);
        kdpc_machine_destroy(m);
    }
}

static void test_pio_read_without_flush_warns_pio_not_flushed_for_each_read(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run_seed(TRUE, FALSE, 3, &st);
    assert_int_equal(st, KDPC_OK); /* a warning: the run goes on */
    check_data();                  /* on x64 the data still arrives: the flush is a promise */
    assert_int_equal(t.flushes, 0);
    KT_ASSERT_WARNING(m, "pio.not_flushed");
    size_t n = 0;
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++)
        if (strcmp(kdpc_machine_violation(m, i)->rule, "pio.not_flushed") == 0)
            n++;
    assert_int_equal(n, NREQ);
    kdpc_machine_destroy(m);
}

/* io 7.4: a DISPATCH-level routine may touch "locked MDL pages mapped to system space". The
 * caller's buffer is paged pool; direct I/O locked it (IoBuildSynchronousFsdRequest probes and
 * locks) and the DPC writes it through MmGetSystemAddressForMdlSafe: no mem.paged_touch. */
static void test_pio_read_into_a_locked_paged_caller_buffer_is_fine(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run_seed(FALSE, TRUE, 4, &st);
    const kdpc_violation *v = kdpc_machine_find_violation(m, "mem.paged_touch");
    if (v != NULL)
        print_error("%s\n", v->message);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mem.paged_touch");
    check_data();
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pio_read_flushing_each_transfer_delivers_the_data_without_violation),
        cmocka_unit_test(test_pio_read_without_flush_warns_pio_not_flushed_for_each_read),
        cmocka_unit_test(test_pio_read_into_a_locked_paged_caller_buffer_is_fine),
    };
    return cmocka_run_group_tests_name("g17_pio_read", tests, NULL, NULL);
}
