/* SPDX-License-Identifier: MIT */
/*
 * test_g7_partial_direct_io.c - guideline G7 (docs/guidelines.md): "Direct I/O, large
 * transfers: save partial-transfer state, compute the next range, program
 * the device through a SynchCritSection before IoStartNextPacket", with G1
 * (a DPC touches ISR-shared state only inside a SynchCritSection), G6 and
 * G17 (docs/facts/io.md 4.2-4.4, 4.26, 4.30; dpc-irql.md 3.3, 3.9).
 *
 * The "device": a PIO disk with a 512-byte data window; one operation moves
 * at most XFER = 512 bytes between the window and its media, whatever count
 * it is given. Its registers are OFFSET, COUNT, CMD, STATUS and MOVED; a
 * write of CMD starts the operation, which ends at once with STATUS DONE and
 * the device's Latched line raised. A register write takes 1 us on the bus
 * (KeStallExecutionProcessor(1)): another CPU, or the device's interrupt, can
 * get in between two of them, as on real hardware.
 *
 * The driver is DO_DIRECT_IO. StartIo takes the IRP's MDL
 * (MmGetSystemAddressForMdlSafe, MmGetMdlVirtualAddress, MmGetMdlByteCount)
 * and programs the first piece through KeSynchronizeExecution: the
 * SynchCritSection fills the window (writes), writes OFFSET, COUNT and CMD,
 * and records in the ISR-shared context where a read's piece must go. The
 * ISR acknowledges, empties the window into that address for a read, adds
 * the bytes moved to the ISR-shared count and calls IoRequestDpc. The
 * DpcForIsr takes the count in a SynchCritSection, advances the offset,
 * flushes (reads, G17) and programs the next piece again through
 * KeSynchronizeExecution; after the last piece it completes the IRP with
 * Information = bytes moved and calls IoStartNextPacket (G6).
 *
 * Two threads each send three requests of 700 bytes to 4 KB (reads and
 * writes, odd lengths, buffers not page-aligned), all in flight at once, on
 * 1 and 2 CPUs across seeds: the media and the callers' buffers hold exactly
 * the right bytes, Information is each request's length, the IRPs complete
 * in the order they were started, and no rule is broken.
 *
 * The broken twin's DPC calls the same programming routine directly,
 * without KeSynchronizeExecution. The device's registers are watched memory
 * (kdpc_shared_alloc, bound to the interrupt), so the verifier warns
 * sync.isr_unsynchronized (G1) in the DPC on every run; the damage shows too:
 * when the device's interrupt is taken between the CMD write and the store
 * of the ISR-shared address, the ISR puts the new piece over the previous
 * one, and the piece where it belonged keeps the caller's fill bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE        9
#define DIRQL       7
#define XFER        512 /* bytes the device moves per operation, at most */
#define MEDIA_BYTES 32768
#define NREQ        6
#define PAD         3  /* buffers start 3 bytes into a pool block: ByteOffset != 0 */
#define GUARD       16 /* fill bytes after each buffer, never touched */
#define FILL        0xEE
#define MAX_LEN     4096
#define TAG         'oiPG'

enum { REG_OFFSET, REG_COUNT, REG_CMD, REG_STATUS, REG_MOVED, NREGS };
#define CMD_READ  1u
#define CMD_WRITE 2u
#define ST_DONE   1u

static const struct {
    UCHAR major;
    ULONG offset;
    ULONG length;
} req[NREQ] = {
    {IRP_MJ_WRITE, 0, 3000},    {IRP_MJ_READ, 8192, 4096},   {IRP_MJ_WRITE, 16384, 1537},
    {IRP_MJ_READ, 20485, 2500}, {IRP_MJ_WRITE, 24576, 4096}, {IRP_MJ_READ, 29000, 700},
};

typedef struct EXT {
    PKINTERRUPT Interrupt;
    /* the device: registers (watched memory from kdpc_shared_alloc, bound to the interrupt:
     * sync.isr_unsynchronized) and data window (touched at DIRQL under the interrupt lock) */
    volatile ULONG *Reg;
    UCHAR Window[XFER];
    /* ISR-shared transfer context (interrupt lock) */
    PUCHAR IsrVa;   /* where the ISR stores the piece a read brings in */
    ULONG IsrMoved; /* bytes moved, not yet taken by the DPC */
    /* the current request (StartIo / DPC): the partial-transfer state of G7 */
    BOOLEAN Read;
    PUCHAR SysVa; /* MmGetSystemAddressForMdlSafe */
    PUCHAR MdlVa; /* MmGetMdlVirtualAddress */
    ULONG Want;   /* MmGetMdlByteCount */
    ULONG MediaBase;
    ULONG Done;
} EXT, *PEXT;

typedef struct PIECE {
    PEXT ext;
    BOOLEAN read;
    PUCHAR sys; /* system address of the piece */
    ULONG media_off;
    ULONG len;
} PIECE;

static struct {
    BOOLEAN broken;
    kdpc_machine *m;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    NTSTATUS load_status;
    UCHAR media[MEDIA_BYTES]; /* the device's storage */
    PUCHAR block[NREQ];       /* pool blocks; the buffer is block + PAD */
    IO_STATUS_BLOCK iosb[NREQ];
    KEVENT ev[NREQ];
    NTSTATUS call_ret[NREQ];
    NTSTATUS wait_ret[NREQ];
    LONG completions[NREQ];
    int started[NREQ];   /* request index by StartIo order */
    int completed[NREQ]; /* request index by completion order */
    LONG nstarted, ncompleted;
    KEVENT thread_done[2];
    LONG hw_ops;
    ULONG max_op_bytes;
    LONG isr_runs;
    LONG dpc_runs;
    LONG flushes;
    LONG sync_calls; /* ProgramPiece run at the interrupt's SynchronizeIrql */
    LONG bad_sync_irql;
    LONG bad_dpc_irql;
    UCHAR copy[NREQ][MAX_LEN + GUARD];
    LONG reached_end;
} t;

static UCHAR media_byte(ULONG i)
{
    return (UCHAR)((i * 7u + 3u) ^ (i >> 8));
}

static UCHAR write_byte(int r, ULONG k)
{
    return (UCHAR)(0x40u + (ULONG)r * 31u + k * 13u);
}

/* ------------------------------------------------------------------ */
/* The device                                                           */

static void hw_start(PEXT ext)
{
    ULONG off = ext->Reg[REG_OFFSET];
    ULONG n = ext->Reg[REG_COUNT];
    if (n > XFER)
        n = XFER; /* the device's limit: one window per operation */
    if (off >= MEDIA_BYTES)
        n = 0;
    else if (n > MEDIA_BYTES - off)
        n = MEDIA_BYTES - off;
    if (ext->Reg[REG_CMD] == CMD_READ)
        memcpy(ext->Window, t.media + off, n);
    else
        memcpy(t.media + off, ext->Window, n);
    if (n > t.max_op_bytes)
        t.max_op_bytes = n;
    t.hw_ops++;
    ext->Reg[REG_MOVED] = n;
    ext->Reg[REG_STATUS] = ST_DONE;
    (void)kdpc_line_assert(t.m, LINE);
}

/* A register write ("WRITE_REGISTER_ULONG"): 1 us on the bus. */
static void hw_write(PEXT ext, int reg, ULONG value)
{
    ext->Reg[reg] = value;
    if (reg == REG_CMD)
        hw_start(ext);
    KeStallExecutionProcessor(1);
}

/* ------------------------------------------------------------------ */
/* The driver                                                           */

/* SynchCritSection: program one piece. Inside the interrupt lock the order of these stores does
 * not matter: the ISR cannot run before the routine returns. */
static BOOLEAN ProgramPiece(PVOID Context)
{
    PIECE *p = Context;
    PEXT ext = p->ext;
    if (KeGetCurrentIrql() == DIRQL)
        InterlockedIncrement(&t.sync_calls);
    if (!p->read)
        memcpy(ext->Window, p->sys, p->len); /* PIO out: fill the data window */
    hw_write(ext, REG_OFFSET, p->media_off);
    hw_write(ext, REG_COUNT, p->len);
    hw_write(ext, REG_CMD, p->read ? CMD_READ : CMD_WRITE); /* the device starts */
    ext->IsrVa = p->sys;                                    /* where the ISR puts a read's piece */
    return TRUE;
}

typedef struct TAKE {
    PEXT ext;
    ULONG moved;
} TAKE;

static BOOLEAN TakeMoved(PVOID Context)
{
    TAKE *tk = Context;
    tk->moved = tk->ext->IsrMoved;
    tk->ext->IsrMoved = 0;
    return TRUE;
}

/* G7: the next range, from the saved partial-transfer state. */
static void next_piece(PEXT ext, PIECE *p)
{
    PUCHAR current_va = ext->MdlVa + ext->Done; /* as a DMA driver's CurrentVa */
    ULONG left = ext->Want - ext->Done;
    p->ext = ext;
    p->read = ext->Read;
    p->sys = ext->SysVa + (current_va - ext->MdlVa);
    p->media_off = ext->MediaBase + ext->Done;
    p->len = left < XFER ? left : XFER;
}

static BOOLEAN G7Isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PEXT ext = dev->DeviceExtension;
    if ((ext->Reg[REG_STATUS] & ST_DONE) == 0)
        return FALSE;
    ULONG n = ext->Reg[REG_MOVED];
    if (ext->Reg[REG_CMD] == CMD_READ)
        memcpy(ext->IsrVa, ext->Window, n); /* PIO in: empty the data window */
    ext->Reg[REG_STATUS] = 0;               /* acknowledge */
    ext->IsrMoved += n;
    t.isr_runs++;
    IoRequestDpc(dev, dev->CurrentIrp, NULL);
    return TRUE;
}

/* Which request an IRP carries: its buffer tells (test bookkeeping). */
static int request_of(PIRP irp)
{
    PVOID va = MmGetMdlVirtualAddress(irp->MdlAddress);
    for (int i = 0; i < NREQ; i++)
        if (va == t.block[i] + PAD)
            return i;
    return -1;
}

static void record(int *order, LONG *n, int i)
{
    LONG k = InterlockedIncrement(n) - 1;
    if (k >= 0 && k < NREQ)
        order[k] = i;
}

static void G7DpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Irp;
    (void)Context;
    PEXT ext = DeviceObject->DeviceExtension;
    PIRP irp = DeviceObject->CurrentIrp;
    InterlockedIncrement(&t.dpc_runs);
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        InterlockedIncrement(&t.bad_dpc_irql);
    TAKE tk = {ext, 0};
    (void)KeSynchronizeExecution(ext->Interrupt, TakeMoved, &tk); /* G1 */
    if (irp == NULL || tk.moved == 0)
        return; /* nothing finished */
    ext->Done += tk.moved;
    if (ext->Read) {
        KeFlushIoBuffers(irp->MdlAddress, TRUE, FALSE); /* G17: end of each transfer */
        InterlockedIncrement(&t.flushes);
    }
    if (ext->Done < ext->Want) {
        PIECE p;
        next_piece(ext, &p); /* G7 */
        if (!t.broken)
            (void)KeSynchronizeExecution(ext->Interrupt, ProgramPiece, &p); /* G1 */
        else
            (void)ProgramPiece(&p); /* broken: the device and the ISR's context, unlocked */
        return;
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = ext->Done; /* bytes moved */
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoStartNextPacket(DeviceObject, FALSE); /* G6 */
}

static void G7StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PEXT ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PMDL mdl = Irp->MdlAddress;
    record(t.started, &t.nstarted, request_of(Irp));
    ext->Read = sl->MajorFunction == IRP_MJ_READ;
    ext->SysVa = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
    if (ext->SysVa == NULL) {
        Irp->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        IoStartNextPacket(DeviceObject, FALSE);
        return;
    }
    ext->MdlVa = MmGetMdlVirtualAddress(mdl);
    ext->Want = MmGetMdlByteCount(mdl);
    ext->MediaBase = (ULONG)(ext->Read ? sl->Parameters.Read.ByteOffset.QuadPart
                                       : sl->Parameters.Write.ByteOffset.QuadPart);
    ext->Done = 0;
    PIECE p;
    next_piece(ext, &p);
    (void)KeSynchronizeExecution(ext->Interrupt, ProgramPiece, &p); /* G1 */
}

static NTSTATUS G7ReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG len = sl->Parameters.Read.Length;
    LONGLONG off = sl->Parameters.Read.ByteOffset.QuadPart;
    if (len == 0 || Irp->MdlAddress == NULL || off < 0 || off + len > MEDIA_BYTES) {
        Irp->IoStatus.Status = len == 0 ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return len == 0 ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    }
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, NULL);
    return STATUS_PENDING;
}

static void G7Unload(PDRIVER_OBJECT DriverObject)
{
    PEXT ext = DriverObject->DeviceObject->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
}

static NTSTATUS G7DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st = IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_DISK, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    dev->Flags |= DO_DIRECT_IO;
    PEXT ext = dev->DeviceExtension;
    DriverObject->MajorFunction[IRP_MJ_READ] = G7ReadWrite;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = G7ReadWrite;
    DriverObject->DriverStartIo = G7StartIo;
    DriverObject->DriverUnload = G7Unload;
    IoInitializeDpcRequest(dev, G7DpcForIsr);                                    /* G18 */
    ext->Reg = kdpc_shared_alloc(kdpc_current_machine(), NREGS * sizeof(ULONG)); /* the BAR */
    if (ext->Reg == NULL) {
        IoDeleteDevice(dev);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    st = IoConnectInterrupt(&ext->Interrupt, G7Isr, dev, NULL, LINE, DIRQL, DIRQL, Latched, FALSE,
                            0x3, FALSE);
    if (!NT_SUCCESS(st)) {
        IoDeleteDevice(dev);
        return st;
    }
    (void)kdpc_shared_bind_interrupt(kdpc_current_machine(), (void *)(uintptr_t)ext->Reg,
                                     ext->Interrupt);
    t.dev = dev;
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The requesters                                                       */

static NTSTATUS RecordCompletion(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Irp;
    int i = (int)(uintptr_t)Ctx;
    InterlockedIncrement(&t.completions[i]);
    record(t.completed, &t.ncompleted, i);
    return STATUS_SUCCESS; /* let the I/O manager finish (IOSB, event, MDL) */
}

static void Requester(PVOID Context)
{
    int th = (int)(uintptr_t)Context;
    for (int k = 0; k < NREQ / 2; k++) {
        int i = th * (NREQ / 2) + k;
        PUCHAR buf = t.block[i] + PAD;
        if (req[i].major == IRP_MJ_WRITE)
            for (ULONG j = 0; j < req[i].length; j++)
                buf[j] = write_byte(i, j);
        t.iosb[i].Status = (NTSTATUS)0x12345678L;
        KeInitializeEvent(&t.ev[i], NotificationEvent, FALSE);
        LARGE_INTEGER off;
        off.QuadPart = req[i].offset;
        PIRP irp = IoBuildSynchronousFsdRequest(req[i].major, t.dev, buf, req[i].length, &off,
                                                &t.ev[i], &t.iosb[i]);
        if (irp == NULL)
            continue;
        IoSetCompletionRoutine(irp, RecordCompletion, (PVOID)(uintptr_t)i, TRUE, TRUE, TRUE);
        t.call_ret[i] = IoCallDriver(t.dev, irp);
    }
    for (int k = 0; k < NREQ / 2; k++) {
        int i = th * (NREQ / 2) + k;
        LARGE_INTEGER timeout;
        timeout.QuadPart = -10LL * 1000 * 1000; /* 1 s */
        t.wait_ret[i] = KeWaitForSingleObject(&t.ev[i], Executive, KernelMode, FALSE, &timeout);
    }
    KeSetEvent(&t.thread_done[th], IO_NO_INCREMENT, FALSE);
}

static void TestEntry(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < NREQ; i++) {
        t.block[i] = ExAllocatePoolWithTag(NonPagedPoolNx, PAD + MAX_LEN + GUARD, TAG);
        if (t.block[i] == NULL)
            return;
        memset(t.block[i], FILL, PAD + MAX_LEN + GUARD);
    }
    t.load_status = kdpc_driver_load(t.m, "g7disk", G7DriverEntry, &t.drv);
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
    for (int i = 0; i < NREQ; i++) {
        memcpy(t.copy[i], t.block[i] + PAD, req[i].length + GUARD);
        ExFreePoolWithTag(t.block[i], TAG);
    }
    t.reached_end = 1;
}

static kdpc_machine *run_seed(BOOLEAN broken, unsigned cpus, uint64_t seed, kdpc_status *st)
{
    memset(&t, 0, sizeof t);
    t.broken = broken;
    for (ULONG i = 0; i < MEDIA_BYTES; i++)
        t.media[i] = media_byte(i);
    kdpc_machine *m = kt_machine(cpus, seed);
    t.m = m;
    KDPC_NAME(m, G7Isr);
    KDPC_NAME(m, G7DpcForIsr);
    KDPC_NAME(m, G7StartIo);
    KDPC_NAME(m, ProgramPiece);
    *st = kdpc_machine_run(m, TestEntry, NULL);
    return m;
}

static ULONG pieces_of(ULONG len)
{
    return (len + XFER - 1) / XFER;
}

/* Bytes of read request i that differ from the media; *lost: its XFER-sized pieces that still
 * hold only the fill byte (the ISR put them elsewhere). */
static ULONG read_damage(int i, ULONG *lost)
{
    ULONG bad = 0;
    *lost = 0;
    for (ULONG k = 0; k < req[i].length; k++)
        if (t.copy[i][k] != media_byte(req[i].offset + k))
            bad++;
    for (ULONG s = 0; s < req[i].length; s += XFER) {
        ULONG n = req[i].length - s < XFER ? req[i].length - s : XFER;
        ULONG fill = 0;
        for (ULONG k = 0; k < n; k++)
            if (t.copy[i][s + k] == FILL)
                fill++;
        if (fill == n)
            (*lost)++;
    }
    return bad;
}

static void check_correct_run(kdpc_machine *m, kdpc_status st, unsigned cpus, uint64_t seed)
{
    if (kdpc_machine_violation_count(m) > 0)
        print_error("cpus %u seed %llu: %s: %s\n", cpus, (unsigned long long)seed,
                    kdpc_machine_violation(m, 0)->rule, kdpc_machine_violation(m, 0)->message);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(t.load_status, STATUS_SUCCESS);
    assert_int_equal(t.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    ULONG pieces = 0, read_pieces = 0;
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(t.call_ret[i], STATUS_PENDING);
        assert_int_equal(t.wait_ret[i], STATUS_SUCCESS);
        assert_int_equal(t.completions[i], 1);
        assert_int_equal(t.iosb[i].Status, STATUS_SUCCESS);
        assert_int_equal(t.iosb[i].Information, req[i].length); /* bytes moved */
        pieces += pieces_of(req[i].length);
        if (req[i].major == IRP_MJ_READ) {
            read_pieces += pieces_of(req[i].length);
            ULONG lost;
            assert_int_equal(read_damage(i, &lost), 0); /* byte for byte */
            assert_int_equal(lost, 0);
        } else {
            for (ULONG k = 0; k < req[i].length; k++)
                assert_int_equal(t.media[req[i].offset + k], write_byte(i, k));
            /* the device wrote nothing past the request */
            ULONG end = req[i].offset + req[i].length;
            assert_int_equal(t.media[end], media_byte(end));
            if (req[i].offset > 0)
                assert_int_equal(t.media[req[i].offset - 1], media_byte(req[i].offset - 1));
        }
        for (ULONG g = 0; g < GUARD; g++)
            assert_int_equal(t.copy[i][req[i].length + g], FILL); /* nothing past the buffer */
    }
    /* 3000, 4096, 1537, 2500, 4096, 700 bytes: 6 + 8 + 4 + 5 + 8 + 2 pieces of at most 512 */
    assert_int_equal(pieces, 33);
    assert_int_equal(t.hw_ops, pieces);
    assert_int_equal(t.isr_runs, pieces);
    assert_int_equal(t.dpc_runs, pieces);
    assert_int_equal(t.flushes, read_pieces);
    assert_int_equal(t.max_op_bytes, XFER);
    assert_int_equal(t.sync_calls, pieces); /* every piece programmed at the interrupt's DIRQL */
    assert_int_equal(t.bad_dpc_irql, 0);
    /* completion order = start order (the device queue), each thread's requests in its order */
    assert_int_equal(t.nstarted, NREQ);
    assert_int_equal(t.ncompleted, NREQ);
    for (int k = 0; k < NREQ; k++)
        assert_int_equal(t.completed[k], t.started[k]);
    for (int th = 0; th < 2; th++) {
        int last = -1;
        for (int k = 0; k < NREQ; k++) {
            if (t.started[k] / (NREQ / 2) != th)
                continue;
            assert_true(t.started[k] > last);
            last = t.started[k];
        }
    }
    size_t c = 1;
    assert_int_equal(kdpc_pool_outstanding(m, TAG, &c, NULL), KDPC_OK);
    assert_int_equal(c, 0);
}

static void test_partial_direct_io_moves_every_byte_in_pieces_without_violation(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        for (uint64_t seed = 1; seed <= 6; seed++) {
            kdpc_status st;
            kdpc_machine *m = run_seed(FALSE, cpus, seed, &st);
            check_correct_run(m, st, cpus, seed);
            kdpc_machine_destroy(m);
        }
    }
}

static void test_dpc_programming_the_device_without_synch_crit_section_loses_pieces(void **state)
{
    (void)state;
    int damaged_runs = 0;
    ULONG lost_total = 0;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        for (uint64_t seed = 1; seed <= 6; seed++) {
            kdpc_status st;
            kdpc_machine *m = run_seed(TRUE, cpus, seed, &st);
            assert_int_equal(st, KDPC_OK);
            assert_int_equal(t.reached_end, 1);
            ULONG bad = 0, lost = 0;
            for (int i = 0; i < NREQ; i++) {
                /* the byte counts still look right: only the data went astray */
                assert_int_equal(t.wait_ret[i], STATUS_SUCCESS);
                assert_int_equal(t.iosb[i].Status, STATUS_SUCCESS);
                assert_int_equal(t.iosb[i].Information, req[i].length);
                if (req[i].major != IRP_MJ_READ)
                    continue;
                ULONG l;
                bad += read_damage(i, &l);
                lost += l;
            }
            if (lost > 0) {
                assert_true(bad >= lost * XFER / 2);
                damaged_runs++;
            }
            lost_total += lost;
            /* G1: the DPC touched the ISR-shared registers without the interrupt lock */
            KT_ASSERT_WARNING(m, "sync.isr_unsynchronized");
            assert_string_equal(kdpc_machine_find_violation(m, "sync.isr_unsynchronized")->routine,
                                "G7DpcForIsr");
            KT_ASSERT_NO_VIOLATION(m, "io.irp_lost");
            kdpc_machine_destroy(m);
        }
    }
    print_message("broken twin: %d of 12 runs lost %lu pieces of read data\n", damaged_runs,
                  (unsigned long)lost_total);
    assert_true(damaged_runs > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_direct_io_moves_every_byte_in_pieces_without_violation),
        cmocka_unit_test(test_dpc_programming_the_device_without_synch_crit_section_loses_pieces),
    };
    return cmocka_run_group_tests_name("g7_partial_direct_io", tests, NULL, NULL);
}
