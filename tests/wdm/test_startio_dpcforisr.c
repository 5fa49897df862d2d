/* SPDX-License-Identifier: MIT */
/*
 * test_startio_dpcforisr.c - guidelines G6, G13, G14 and G16 (docs/guidelines.md) in
 * one StartIo driver with an ISR and a DpcForIsr
 * (docs/facts/io.md 4.2-4.4, 4.26-4.30, 6.1-6.5).
 *
 * The "device": a request is three word transfers. StartIo programs the
 * device through a SynchCritSection; the device performs one transfer and
 * raises its Latched line; the ISR acknowledges it, moves the word into
 * ISR-shared context, lets the device go on with the next transfer (another
 * interrupt) and calls IoRequestDpc. Several ISR runs may therefore happen
 * before one DPC run (IoRequestDpc coalesces, 4.29), and the DPC may run on
 * both CPUs at once.
 *
 * The correct DPC drains the completed-word count in a SynchCritSection
 * (G14), claims the request once all words are in, copies them to
 * SystemBuffer with Information = 12 (G16), calls IoStartNextPacket and
 * completes the IRP (G6). Request tag 5 fails on the device: it is retried
 * once, then logged with IoWriteErrorLogEntry and completed with
 * STATUS_IO_DEVICE_ERROR (G13).
 *
 * Two threads send three METHOD_BUFFERED IOCTLs each, all in flight at once,
 * on a 2-CPU machine, across seeds. The broken twin's DPC counts one word per
 * DPC run; where ISR runs coalesced it never sees the last word, so the IRP
 * and everything queued behind it are lost: io.irp_lost at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE                 7
#define DIRQL                6
#define WORDS                3
#define NREQ                 6
#define ERR_TAG              5
#define IOCTL_RD             CTL_CODE(FILE_DEVICE_UNKNOWN, 0x810, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IO_ERR_DEVICE_FAILED ((NTSTATUS)0xC0040011L)

typedef struct EXT {
    PKINTERRUPT Interrupt;
    PDEVICE_OBJECT Self;
    /* the device's registers (touched at DIRQL under the interrupt lock) */
    ULONG HwTag;
    ULONG HwNext;      /* next word index */
    ULONG HwRemaining; /* transfers still to do */
    ULONG HwFifo[WORDS];
    ULONG HwFifoN;
    BOOLEAN HwError;
    LONG HwIntPending;
    /* ISR-shared context, read by the DPC in a SynchCritSection */
    ULONG Words[WORDS];
    ULONG WordsDone;
    BOOLEAN OpError;
    BOOLEAN Claimed;
    /* DPC-only state */
    ULONG Retry;
    LONG BrokenSeen;
} EXT, *PEXT;

static struct {
    BOOLEAN broken;
    kdpc_machine *m;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    NTSTATUS load_status;
    ULONG tags[NREQ];
    UCHAR out[NREQ][WORDS * sizeof(ULONG)];
    IO_STATUS_BLOCK iosb[NREQ];
    KEVENT ev[NREQ];
    NTSTATUS call_ret[NREQ];
    NTSTATUS wait_ret[NREQ];
    LONG completions[NREQ];
    LONG attempts[NREQ + 1]; /* by tag */
    KEVENT thread_done[2];
    LONG isr_runs;
    LONG dpc_runs;
    LONG max_drained; /* most new words one DPC run found (> 1: requests coalesced) */
    LONG seen_done;   /* words the DPC side already accounted for */
    LONG concurrent_dpcs, dpc_inside;
    LONG reached_end;
} t;

/* ------------------------------------------------------------------ */
/* The device                                                           */

/* One transfer; raises the interrupt. Called at DIRQL holding the interrupt lock. */
static void hw_do_op(PEXT ext)
{
    if (ext->HwTag == ERR_TAG) {
        ext->HwError = TRUE;
        ext->HwRemaining = 0;
    } else {
        ext->HwFifo[ext->HwFifoN++] = ext->HwTag * 0x100u + ext->HwNext;
        ext->HwNext++;
        ext->HwRemaining--;
    }
    ext->HwIntPending = 1;
    (void)kdpc_line_assert(t.m, LINE);
}

static BOOLEAN ProgramDevice(PVOID Context)
{
    PEXT ext = Context;
    ext->WordsDone = 0;
    ext->OpError = FALSE;
    ext->Claimed = FALSE;
    ext->HwNext = 0;
    ext->HwFifoN = 0;
    ext->HwError = FALSE;
    ext->HwRemaining = WORDS;
    hw_do_op(ext);
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* The driver                                                           */

static BOOLEAN G6Isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PEXT ext = dev->DeviceExtension;
    if (ext->HwIntPending == 0)
        return FALSE;
    ext->HwIntPending = 0; /* acknowledge */
    for (ULONG i = 0; i < ext->HwFifoN && ext->WordsDone < WORDS; i++)
        ext->Words[ext->WordsDone++] = ext->HwFifo[i];
    ext->HwFifoN = 0;
    if (ext->HwError)
        ext->OpError = TRUE;
    if (ext->HwRemaining > 0)
        hw_do_op(ext); /* the device goes on: another interrupt */
    t.isr_runs++;
    IoRequestDpc(dev, NULL, NULL);
    return TRUE;
}

typedef struct TAKE {
    PEXT ext;
    BOOLEAN claim;
    BOOLEAN error;
    ULONG done;
    ULONG words[WORDS];
} TAKE;

static BOOLEAN TakeWork(PVOID Context)
{
    TAKE *tk = Context;
    PEXT ext = tk->ext;
    tk->done = ext->WordsDone;
    tk->error = ext->OpError;
    if (!ext->Claimed && (ext->OpError || ext->WordsDone == WORDS)) {
        ext->Claimed = TRUE;
        tk->claim = TRUE;
        memcpy(tk->words, ext->Words, sizeof tk->words);
    }
    return tk->claim;
}

static BOOLEAN TakeWordsBroken(PVOID Context)
{
    TAKE *tk = Context;
    PEXT ext = tk->ext;
    tk->error = ext->OpError;
    memcpy(tk->words, ext->Words, sizeof tk->words);
    return TRUE;
}

static void log_device_error(PDEVICE_OBJECT dev, PIRP irp, ULONG tag, ULONG retries)
{
    PIO_ERROR_LOG_PACKET p = IoAllocateErrorLogEntry(dev, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    if (p == NULL)
        return; /* 6.1: not fatal */
    p->MajorFunctionCode = IRP_MJ_DEVICE_CONTROL;
    p->RetryCount = (UCHAR)retries;
    p->ErrorCode = IO_ERR_DEVICE_FAILED;
    p->UniqueErrorValue = tag;
    p->FinalStatus = STATUS_IO_DEVICE_ERROR;
    p->IoControlCode = IoGetCurrentIrpStackLocation(irp)->Parameters.DeviceIoControl.IoControlCode;
    IoWriteErrorLogEntry(p);
}

static void finish_request(PDEVICE_OBJECT dev, PEXT ext, PIRP irp, const TAKE *tk)
{
    ULONG tag = *(PULONG)irp->AssociatedIrp.SystemBuffer;
    if (tk->error) {
        if (ext->Retry == 0) { /* G13: retry once */
            ext->Retry = 1;
            InterlockedIncrement(&t.attempts[tag]);
            (void)KeSynchronizeExecution(ext->Interrupt, ProgramDevice, ext);
            return;
        }
        log_device_error(dev, irp, tag, ext->Retry);
        irp->IoStatus.Status = STATUS_IO_DEVICE_ERROR;
        irp->IoStatus.Information = 0;
    } else {
        memcpy(irp->AssociatedIrp.SystemBuffer, tk->words, sizeof tk->words); /* G16 */
        irp->IoStatus.Status = STATUS_SUCCESS;
        irp->IoStatus.Information = sizeof tk->words;
    }
    ext->Retry = 0;
    IoStartNextPacket(dev, FALSE); /* G6 */
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void G6DpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Irp;
    (void)Context;
    PEXT ext = DeviceObject->DeviceExtension;
    if (InterlockedIncrement(&t.dpc_inside) > 1)
        InterlockedIncrement(&t.concurrent_dpcs);
    InterlockedIncrement(&t.dpc_runs);
    TAKE tk;
    memset(&tk, 0, sizeof tk);
    tk.ext = ext;
    if (!t.broken) {
        /* G14: find all completed work, not one per request */
        (void)KeSynchronizeExecution(ext->Interrupt, TakeWork, &tk);
        LONG fresh = (LONG)tk.done - t.seen_done;
        if (fresh > t.max_drained)
            t.max_drained = fresh;
        t.seen_done = tk.claim ? 0 : (LONG)tk.done;
        if (tk.claim)
            finish_request(DeviceObject, ext, DeviceObject->CurrentIrp, &tk);
    } else {
        /* broken: one DPC run per transfer (ignores coalescing) */
        LONG seen = InterlockedIncrement(&ext->BrokenSeen);
        (void)KeSynchronizeExecution(ext->Interrupt, TakeWordsBroken, &tk);
        if (tk.error || seen == WORDS) {
            ext->BrokenSeen = 0;
            finish_request(DeviceObject, ext, DeviceObject->CurrentIrp, &tk);
        }
    }
    InterlockedDecrement(&t.dpc_inside);
}

static void G6StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PEXT ext = DeviceObject->DeviceExtension;
    ULONG tag = *(PULONG)Irp->AssociatedIrp.SystemBuffer;
    InterlockedIncrement(&t.attempts[tag]);
    ext->HwTag = tag;
    (void)KeSynchronizeExecution(ext->Interrupt, ProgramDevice, ext); /* G1 */
}

static NTSTATUS G6DeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    if (sl->Parameters.DeviceIoControl.IoControlCode != IOCTL_RD ||
        sl->Parameters.DeviceIoControl.InputBufferLength < sizeof(ULONG) ||
        sl->Parameters.DeviceIoControl.OutputBufferLength < WORDS * sizeof(ULONG)) {
        Irp->IoStatus.Status = STATUS_INVALID_PARAMETER;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_INVALID_PARAMETER;
    }
    IoMarkIrpPending(Irp); /* 4.18, 4.28 */
    IoStartPacket(DeviceObject, Irp, NULL, NULL);
    return STATUS_PENDING;
}

static void G6Unload(PDRIVER_OBJECT DriverObject)
{
    PEXT ext = DriverObject->DeviceObject->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
}

static NTSTATUS G6DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    dev->Flags |= DO_BUFFERED_IO;
    PEXT ext = dev->DeviceExtension;
    ext->Self = dev;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = G6DeviceControl;
    DriverObject->DriverStartIo = G6StartIo;
    DriverObject->DriverUnload = G6Unload;
    IoInitializeDpcRequest(dev, G6DpcForIsr); /* G18 */
    st = IoConnectInterrupt(&ext->Interrupt, G6Isr, dev, NULL, LINE, DIRQL, DIRQL, Latched, FALSE,
                            0x3, FALSE);
    if (!NT_SUCCESS(st)) {
        IoDeleteDevice(dev);
        return st;
    }
    t.dev = dev;
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The requesters                                                       */

static NTSTATUS CountCompletion(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Irp;
    InterlockedIncrement(&t.completions[(int)(uintptr_t)Ctx]);
    return STATUS_SUCCESS; /* let the I/O manager finish (IOSB, copy, event) */
}

static void Requester(PVOID Context)
{
    int th = (int)(uintptr_t)Context;
    for (int k = 0; k < NREQ / 2; k++) {
        int i = th * (NREQ / 2) + k;
        t.tags[i] = (ULONG)i + 1;
        memset(t.out[i], 0xEE, sizeof t.out[i]);
        t.iosb[i].Status = (NTSTATUS)0x12345678L;
        KeInitializeEvent(&t.ev[i], NotificationEvent, FALSE);
        PIRP irp =
            IoBuildDeviceIoControlRequest(IOCTL_RD, t.dev, &t.tags[i], sizeof(ULONG), t.out[i],
                                          sizeof t.out[i], FALSE, &t.ev[i], &t.iosb[i]);
        if (irp == NULL)
            continue;
        IoSetCompletionRoutine(irp, CountCompletion, (PVOID)(uintptr_t)i, TRUE, TRUE, TRUE);
        t.call_ret[i] = IoCallDriver(t.dev, irp);
    }
    for (int k = 0; k < NREQ / 2; k++) {
        int i = th * (NREQ / 2) + k;
        LARGE_INTEGER timeout;
        timeout.QuadPart = -10LL * 1000 * 1000; /* 1 s: the broken twin never completes some */
        t.wait_ret[i] = KeWaitForSingleObject(&t.ev[i], Executive, KernelMode, FALSE, &timeout);
    }
    KeSetEvent(&t.thread_done[th], IO_NO_INCREMENT, FALSE);
}

static void TestEntry(void *ctx)
{
    (void)ctx;
    t.load_status = kdpc_driver_load(t.m, "g6dev", G6DriverEntry, &t.drv);
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
    if (!t.broken)
        (void)kdpc_driver_unload(t.drv);
    t.reached_end = 1;
}

static kdpc_machine *run_seed(BOOLEAN broken, uint64_t seed, kdpc_status *st)
{
    memset(&t, 0, sizeof t);
    t.broken = broken;
    kdpc_machine *m = kt_machine(2, seed);
    t.m = m;
    KDPC_NAME(m, G6Isr);
    KDPC_NAME(m, G6DpcForIsr);
    KDPC_NAME(m, G6StartIo);
    *st = kdpc_machine_run(m, TestEntry, NULL);
    return m;
}

static void test_every_irp_completes_once_with_its_data_across_seeds(void **state)
{
    (void)state;
    int coalesced_seeds = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        kdpc_status st;
        kdpc_machine *m = run_seed(FALSE, seed, &st);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(t.load_status, STATUS_SUCCESS);
        assert_int_equal(t.reached_end, 1);
        KT_ASSERT_NO_VIOLATION(m, "io.irp_lost");
        KT_ASSERT_NO_VIOLATION(m, "io.double_complete");
        for (int i = 0; i < NREQ; i++) {
            ULONG tag = (ULONG)i + 1;
            assert_int_equal(t.call_ret[i], STATUS_PENDING);
            assert_int_equal(t.wait_ret[i], STATUS_SUCCESS);
            assert_int_equal(t.completions[i], 1); /* exactly once */
            if (tag == ERR_TAG) {
                assert_int_equal(t.iosb[i].Status, STATUS_IO_DEVICE_ERROR);
                assert_int_equal(t.iosb[i].Information, 0);
                assert_int_equal(t.attempts[tag], 2); /* retried once (G13) */
                continue;
            }
            assert_int_equal(t.attempts[tag], 1);
            assert_int_equal(t.iosb[i].Status, STATUS_SUCCESS);
            assert_int_equal(t.iosb[i].Information, WORDS * sizeof(ULONG));
            for (ULONG j = 0; j < WORDS; j++) {
                ULONG w;
                memcpy(&w, &t.out[i][j * sizeof(ULONG)], sizeof w);
                assert_int_equal(w, tag * 0x100u + j); /* G16: the right data */
            }
        }
        /* G13: one entry for the failed request, after its retry */
        assert_int_equal(kdpc_errorlog_count(m), 1);
        const kdpc_errorlog_entry *e = kdpc_errorlog_entry_at(m, 0);
        assert_non_null(e);
        assert_int_equal(e->ErrorCode, IO_ERR_DEVICE_FAILED);
        assert_int_equal(e->UniqueErrorValue, ERR_TAG);
        assert_int_equal(e->FinalStatus, STATUS_IO_DEVICE_ERROR);
        assert_int_equal(e->RetryCount, 1);
        assert_int_equal(e->MajorFunctionCode, IRP_MJ_DEVICE_CONTROL);
        assert_int_equal(e->IoControlCode, IOCTL_RD);
        assert_ptr_equal(e->Device, t.dev);
        assert_int_equal(t.isr_runs, (NREQ - 1) * WORDS + 2);
        if (t.max_drained > 1)
            coalesced_seeds++;
        kdpc_machine_destroy(m);
    }
    /* the seeds exercise G14: in some, one DPC run found several finished transfers */
    assert_true(coalesced_seeds > 0);
}

/* Seed where the broken twin's ISR runs coalesce (found by running seeds 1..8). */
#define BROKEN_SEED 1

static void test_broken_dpc_ignoring_coalescing_loses_irps(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run_seed(TRUE, BROKEN_SEED, &st);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(t.reached_end, 1);
    assert_true(t.dpc_runs < t.isr_runs); /* requests coalesced */
    int lost = 0;
    for (int i = 0; i < NREQ; i++) {
        assert_true(t.completions[i] <= 1);
        if (t.completions[i] == 0) {
            lost++;
            assert_int_equal(t.wait_ret[i], STATUS_TIMEOUT);
        }
    }
    assert_true(lost > 0);
    KT_ASSERT_WARNING(m, "io.irp_lost");
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_irp_completes_once_with_its_data_across_seeds),
        cmocka_unit_test(test_broken_dpc_ignoring_coalescing_loses_irps),
    };
    return cmocka_run_group_tests_name("startio_dpcforisr", tests, NULL, NULL);
}
