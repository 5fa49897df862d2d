/* SPDX-License-Identifier: MIT */
/*
 * test_report.c - kdpc/report.h: the DPC/ISR report against scripted runs
 * with known virtual times: routine histograms and the guideline flag,
 * percentiles of a known distribution, queue depth, latencies, IRQL time,
 * IRP latency per device, the text and JSON output, and bad arguments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_json.h"

static kdpc_machine *report_machine(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.report = true;
    cfg.clock_tick_ns = 10000; /* delays end within 10 us of what they ask */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static void debug_print(kdpc_machine *m)
{
    if (getenv("KT_REPORT_DEBUG") != NULL)
        (void)kdpc_report_print(m, stderr);
}

static const kdpc_report_routine *find(const kdpc_report *r, const char *name)
{
    for (size_t i = 0; i < r->nroutines; i++)
        if (strcmp(r->routines[i].name, name) == 0)
            return &r->routines[i];
    return NULL;
}

static void delay_us(LONGLONG us)
{
    LARGE_INTEGER t = {.QuadPart = -10 * us};
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* ------------------------------------------------------------------ */
/* A DPC that stalls as long as its argument says.                     */

static KDPC StallDpc;

static void RepStallDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a2;
    KeStallExecutionProcessor((ULONG)(ULONG_PTR)a1);
}

/* Calls of 1, 2, ... 100 us, one at a time, then one of 150 us. */
static void body_distribution(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&StallDpc, RepStallDpc, NULL);
    for (ULONG i = 1; i <= 100; i++) {
        KeInsertQueueDpc(&StallDpc, (PVOID)(ULONG_PTR)i, NULL);
        delay_us(1000);
    }
    KeInsertQueueDpc(&StallDpc, (PVOID)(ULONG_PTR)150, NULL);
    delay_us(1000);
}

static void test_histogram_percentiles_and_flag(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 1);
    KDPC_NAME(m, RepStallDpc);
    assert_int_equal(kdpc_machine_run(m, body_distribution, NULL), KDPC_OK);
    kdpc_report r;
    debug_print(m);
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    const kdpc_report_routine *ro = find(&r, "RepStallDpc");
    assert_non_null(ro);
    assert_int_equal(ro->kind, KDPC_ROUTINE_DPC);
    assert_int_equal(ro->time.count, 101);
    /* each call ran its stall plus a constant overhead (kernel calls), under 1 us */
    assert_true(ro->time.max_ns >= 150000 && ro->time.max_ns < 151000);
    /* over 100 us: the 150 us call, and the 100 us one with its overhead (as dpc.too_long) */
    assert_int_equal(ro->over_limit, 2);
    assert_true(ro->flagged);
    /* power-of-two buckets: [1,2) us holds the 1 us call, [64,128) us the 64..100 us calls,
     * [128,256) us the 150 us call */
    assert_int_equal(ro->time.bucket[0], 0);
    assert_int_equal(ro->time.bucket[1], 1);
    assert_int_equal(ro->time.bucket[2], 2);  /* 2, 3 */
    assert_int_equal(ro->time.bucket[3], 4);  /* 4..7 */
    assert_int_equal(ro->time.bucket[7], 37); /* 64..100 */
    assert_int_equal(ro->time.bucket[8], 1);
    uint64_t sum = 0;
    for (unsigned b = 0; b < KDPC_REPORT_BUCKETS; b++)
        sum += ro->time.bucket[b];
    assert_int_equal(sum, 101);
    /* nearest rank: p50 is the 51st value (51 us), p90 the 91st, p99 the 100th; read off the
     * finer histogram, at most 1/8 above */
    assert_true(ro->time.p50_ns >= 51000 && ro->time.p50_ns <= 52000 * 9 / 8);
    assert_true(ro->time.p90_ns >= 91000 && ro->time.p90_ns <= 92000 * 9 / 8);
    assert_true(ro->time.p99_ns >= 100000 && ro->time.p99_ns <= ro->time.max_ns);
    assert_true(ro->longest_end_ns > 100u * 1000000u);
    assert_int_equal(ro->longest_cpu, 0);
    /* the per-CPU DPC time is the routine's */
    assert_int_equal(r.cpu[0].dpc_ns, ro->time.total_ns);
    assert_int_equal(r.cpu[0].dpcs, 101);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Queue depth: three DPCs queued at once at DISPATCH_LEVEL            */

static KDPC Three[3];

static void RepNopDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
}

static void body_three(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 3; i++)
        KeInitializeDpc(&Three[i], RepNopDpc, NULL);
    delay_us(2500); /* into the third 1 ms window */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    for (int i = 0; i < 3; i++)
        KeInsertQueueDpc(&Three[i], NULL, NULL);
    KeLowerIrql(old); /* the three run now */
    delay_us(1000);
}

static void test_queue_depth_and_dpc_latency(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 2);
    KDPC_NAME(m, RepNopDpc);
    assert_int_equal(kdpc_machine_run(m, body_three, NULL), KDPC_OK);
    kdpc_report r;
    debug_print(m);
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    assert_int_equal(r.cpus, 1);
    assert_int_equal(r.cpu[0].max_queue_depth, 3);
    assert_int_equal(r.depth_window_ns, 1000000);
    assert_true(r.ndepth >= 3 && r.ndepth <= 5);
    assert_int_equal(r.depth[0].start_ns, r.start_ns);
    /* the three were queued in the window of 2.5 ms */
    uint64_t w = (2500000 + r.depth[0].start_ns) / r.depth_window_ns;
    size_t found = r.ndepth;
    for (size_t i = 0; i < r.ndepth; i++) {
        if (r.depth[i].inserted != 0) {
            assert_int_equal(found, r.ndepth); /* one window only */
            found = i;
        }
    }
    assert_true(found < r.ndepth);
    assert_true(found >= w);
    assert_int_equal(r.depth[found].inserted, 3);
    assert_int_equal(r.depth[found].max_depth[0], 3);
    assert_int_equal(r.depth[0].max_depth[0], 0);
    /* latency: each waited for those queued before it; none was queued in an ISR */
    assert_int_equal(r.dpc_latency.count, 3);
    assert_true(r.dpc_latency.max_ns > 0 && r.dpc_latency.max_ns < 20000);
    assert_int_equal(r.interrupt_to_dpc.count, 0);
    const kdpc_report_routine *ro = find(&r, "RepNopDpc");
    assert_non_null(ro);
    assert_int_equal(ro->time.count, 3);
    assert_false(ro->flagged);
    kdpc_machine_destroy(m);
}

/* KeRemoveQueueDpc takes one out of the queue: no latency for it; KeFlushQueuedDpcs' own DPC
 * is no driver routine: not in the routines nor in the CPU's DPC calls. */
static void body_remove(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 2; i++)
        KeInitializeDpc(&Three[i], RepNopDpc, NULL);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    for (int i = 0; i < 2; i++)
        KeInsertQueueDpc(&Three[i], NULL, NULL);
    assert_true(KeRemoveQueueDpc(&Three[1]));
    KeLowerIrql(old);
    KeFlushQueuedDpcs();
}

static void test_removed_dpc_and_flush(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 2);
    KDPC_NAME(m, RepNopDpc);
    assert_int_equal(kdpc_machine_run(m, body_remove, NULL), KDPC_OK);
    kdpc_report r;
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    assert_int_equal(r.cpu[0].max_queue_depth, 2);
    assert_int_equal(r.nroutines, 1);
    assert_string_equal(r.routines[0].name, "RepNopDpc");
    assert_int_equal(r.routines[0].time.count, 1);
    assert_int_equal(r.cpu[0].dpcs, 1);
    /* the one that ran, and the flush's DPC (its queueing counts) */
    assert_int_equal(r.dpc_latency.count, 2);
    uint64_t ins = 0;
    for (size_t i = 0; i < r.ndepth; i++)
        ins += r.depth[i].inserted;
    assert_int_equal(ins, 3);
    kdpc_machine_destroy(m);
}

/* Windows double and merge: a run of 300 ms has windows of 4 ms (128 * 2 ms < 300 ms). */
static void body_long(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&StallDpc, RepStallDpc, NULL);
    for (int i = 0; i < 30; i++) {
        KeInsertQueueDpc(&StallDpc, (PVOID)(ULONG_PTR)1, NULL);
        delay_us(10000);
    }
}

static void test_depth_windows_double(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 3);
    assert_int_equal(kdpc_machine_run(m, body_long, NULL), KDPC_OK);
    kdpc_report r;
    debug_print(m);
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    assert_true(r.end_ns - r.start_ns >= 300000000u);
    assert_int_equal(r.depth_window_ns, 4000000);
    assert_true(r.ndepth <= 128);
    assert_int_equal(r.ndepth, (r.end_ns - r.start_ns) / r.depth_window_ns + 1);
    uint64_t ins = 0;
    for (size_t i = 0; i < r.ndepth; i++) {
        ins += r.depth[i].inserted;
        assert_int_equal(r.depth[i].start_ns, r.start_ns + i * r.depth_window_ns);
    }
    assert_int_equal(ins, 30);
    kdpc_machine_destroy(m);
}

/* IRQL time adds up to the run's time on every CPU. */
static void test_irql_time_sums_to_run(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(2, 4);
    assert_int_equal(kdpc_machine_run(m, body_distribution, NULL), KDPC_OK);
    kdpc_report r;
    debug_print(m);
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    assert_int_equal(r.cpus, 2);
    assert_true(r.end_ns > r.start_ns);
    assert_int_equal(r.end_ns, kdpc_machine_time_ns(m));
    uint64_t dpc = 0;
    for (unsigned c = 0; c < 2; c++) {
        uint64_t sum = 0;
        for (unsigned q = 0; q < KDPC_REPORT_IRQLS; q++)
            sum += r.cpu[c].irql_ns[q];
        assert_int_equal(sum, r.end_ns - r.start_ns);
        /* DPCs ran at DISPATCH_LEVEL: at least that long there */
        assert_true(r.cpu[c].irql_ns[DISPATCH_LEVEL] >= r.cpu[c].dpc_ns);
        dpc += r.cpu[c].dpc_ns;
    }
    assert_true(dpc >= 5050u * 1000u + 150000u); /* 1 + 2 + ... + 100 us, and 150 us */
    /* a second get is the same */
    uint64_t passive0 = r.cpu[0].irql_ns[0];
    size_t nroutines = r.nroutines;
    kdpc_report r2; /* r's pointers die here */
    assert_int_equal(kdpc_report_get(m, &r2), KDPC_OK);
    assert_int_equal(r2.cpu[0].irql_ns[0], passive0);
    assert_int_equal(r2.nroutines, nroutines);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Interrupt -> DPC: a line asserted, the ISR, IoRequestDpc            */

#define LINE 7
static PDEVICE_OBJECT IsrDev;
static PKINTERRUPT Interrupt;
static volatile LONG Pending;
static int DpcForIsrCalls;

static BOOLEAN RepIsr(PKINTERRUPT i, PVOID ctx)
{
    (void)i;
    if (InterlockedExchange(&Pending, 0) == 0)
        return FALSE;
    KeStallExecutionProcessor(2);
    IoRequestDpc((PDEVICE_OBJECT)ctx, NULL, NULL);
    return TRUE;
}

static void RepDpcForIsr(PKDPC d, PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)d, (void)dev, (void)irp, (void)ctx;
    DpcForIsrCalls++;
}

static void RepUnload(PDRIVER_OBJECT drv)
{
    while (drv->DeviceObject != NULL)
        IoDeleteDevice(drv->DeviceObject);
}

static NTSTATUS RepIsrEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    (void)reg;
    drv->DriverUnload = RepUnload;
    NTSTATUS st = IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &IsrDev);
    if (NT_SUCCESS(st))
        IoInitializeDpcRequest(IsrDev, RepDpcForIsr);
    return st;
}

static void body_isr(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    assert_int_equal(kdpc_driver_load(kdpc_current_machine(), "repisr", RepIsrEntry, &drv),
                     STATUS_SUCCESS);
    assert_int_equal(
        IoConnectInterrupt(&Interrupt, RepIsr, IsrDev, NULL, LINE, 5, 5, Latched, FALSE, 1, FALSE),
        STATUS_SUCCESS);
    for (int i = 0; i < 3; i++) {
        InterlockedExchange(&Pending, 1);
        kdpc_line_assert(kdpc_current_machine(), LINE);
        delay_us(1000);
    }
    IoDisconnectInterrupt(Interrupt);
    (void)kdpc_driver_unload(drv);
}

static void test_interrupt_to_dpc(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 5);
    KDPC_NAME(m, RepIsr);
    KDPC_NAME(m, RepDpcForIsr);
    DpcForIsrCalls = 0;
    assert_int_equal(kdpc_machine_run(m, body_isr, NULL), KDPC_OK);
    assert_int_equal(DpcForIsrCalls, 3);
    kdpc_report r;
    debug_print(m);
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    assert_int_equal(r.interrupt_to_dpc.count, 3);
    assert_int_equal(r.dpc_latency.count, 3);
    /* queued in the ISR, which still had to return (and the interrupt to end) first */
    assert_true(r.interrupt_to_dpc.p50_ns > 0 && r.interrupt_to_dpc.max_ns < 100000);
    const kdpc_report_routine *isr = find(&r, "RepIsr");
    assert_non_null(isr);
    assert_int_equal(isr->kind, KDPC_ROUTINE_ISR);
    assert_int_equal(isr->time.count, 3);
    assert_true(isr->time.max_ns >= 2000 && isr->time.max_ns < 10000); /* isr-end arg2 */
    assert_int_equal(isr->time.bucket[2], 3);                          /* [2, 4) us */
    assert_int_equal(r.cpu[0].isrs, 3);
    assert_int_equal(r.cpu[0].isr_ns, isr->time.total_ns);
    assert_non_null(find(&r, "RepDpcForIsr"));
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IRP latency per device                                              */

static PDEVICE_OBJECT DiskDev;
static PIRP Parked;

static NTSTATUS RepDispatch(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    if (sl->MajorFunction == IRP_MJ_READ) { /* completed later by the test's thread */
        IoMarkIrpPending(irp);
        Parked = irp;
        return STATUS_PENDING;
    }
    NTSTATUS st = sl->MajorFunction == IRP_MJ_WRITE ? STATUS_CANCELLED : STATUS_SUCCESS;
    if (sl->MajorFunction == IRP_MJ_FLUSH_BUFFERS)
        st = STATUS_INVALID_DEVICE_REQUEST;
    irp->IoStatus.Status = st;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return st;
}

static NTSTATUS RepDiskEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    (void)reg;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        drv->MajorFunction[i] = RepDispatch;
    drv->DriverUnload = RepUnload;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"\\Device\\RepDisk0");
    return IoCreateDevice(drv, 0, &name, FILE_DEVICE_DISK, 0, FALSE, &DiskDev);
}

static NTSTATUS RepOwnerCompletion(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev, (void)irp, (void)ctx;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static PIRP send(UCHAR major)
{
    PIRP irp = IoAllocateIrp(DiskDev->StackSize, FALSE);
    assert_non_null(irp);
    IoGetNextIrpStackLocation(irp)->MajorFunction = major;
    IoSetCompletionRoutine(irp, RepOwnerCompletion, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(DiskDev, irp);
    return irp;
}

static void body_irp(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    assert_int_equal(kdpc_driver_load(kdpc_current_machine(), "repdisk", RepDiskEntry, &drv),
                     STATUS_SUCCESS);
    for (int i = 0; i < 4; i++) { /* latencies of 100, 200, 300, 400 us */
        PIRP irp = send(IRP_MJ_READ);
        assert_ptr_equal(Parked, irp);
        delay_us(100 * (i + 1));
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        IoFreeIrp(irp);
    }
    IoFreeIrp(send(IRP_MJ_WRITE));         /* cancelled (and failed) */
    IoFreeIrp(send(IRP_MJ_FLUSH_BUFFERS)); /* failed */
    (void)kdpc_driver_unload(drv);
}

static void test_irp_latency_per_device(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 6);
    assert_int_equal(kdpc_machine_run(m, body_irp, NULL), KDPC_OK);
    kdpc_report r;
    debug_print(m);
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK); /* after the device was deleted */
    assert_int_equal(r.ndevices, 1);
    const kdpc_report_device *d = &r.devices[0];
    assert_non_null(strstr(d->name, "RepDisk0"));
    assert_int_equal(d->completed, 6);
    assert_int_equal(d->failed, 2);
    assert_int_equal(d->cancelled, 1);
    assert_int_equal(d->latency.count, 6);
    assert_true(d->latency.max_ns >= 400000 && d->latency.max_ns < 410000);
    /* ranks: two quick ones, then 100, 200, 300, 400 us: p50 is the 3rd (100 us) */
    assert_true(d->latency.p50_ns >= 100000 && d->latency.p50_ns <= 110000 * 9 / 8);
    assert_int_equal(d->latency.p99_ns, d->latency.max_ns);
    assert_int_equal(d->latency.bucket[9] + d->latency.bucket[8] + d->latency.bucket[7], 4);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Text, JSON, bad arguments                                           */

static char *read_all(FILE *f)
{
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    return buf;
}

static void test_text_output(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 1);
    KDPC_NAME(m, RepStallDpc);
    assert_int_equal(kdpc_machine_run(m, body_distribution, NULL), KDPC_OK);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(kdpc_report_print(m, f), KDPC_OK);
    char *text = read_all(f);
    fclose(f);
    assert_non_null(strstr(text, "DPC/ISR report: virtual time 0.000 .. "));
    /* the routines table row, flagged */
    char *row = strstr(text, "\n  DPC       101 ");
    assert_non_null(row);
    char *eol = strchr(row + 1, '\n');
    assert_non_null(eol);
    assert_non_null(strstr(row, "2!  RepStallDpc\n"));
    assert_true(strstr(row, "2!  RepStallDpc\n") < eol + 1);
    /* its histogram block */
    assert_non_null(strstr(text, "! 2 calls over the 100.000 us guideline"));
    assert_non_null(strstr(text, "    1-2 us                  1     1.0%\n"));
    assert_non_null(strstr(text, "    64-128 us              37    36.6%\n"));
    assert_non_null(strstr(text, "    128-256 us              1     1.0%\n"));
    assert_non_null(strstr(text, "interrupt -> DPC (queued in ISR)"));
    assert_non_null(strstr(text, "(no IRP sent)"));
    assert_non_null(strstr(text, "IRQL 2 (DISPATCH)"));
    assert_non_null(strstr(text, "dpc.too_long"));
    assert_non_null(strstr(text, "guideline: "));
    free(text);
    kdpc_machine_destroy(m);
}

static void test_json_output(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(2, 6);
    KDPC_NAME(m, RepStallDpc);
    assert_int_equal(kdpc_machine_run(m, body_distribution, NULL), KDPC_OK);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(kdpc_report_json(m, f), KDPC_OK);
    char *text = read_all(f);
    fclose(f);
    kdpc_report r; /* after kdpc_report_json, which builds the report again */
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    char err[128];
    kt_json *doc = kt_json_parse(text, strlen(text), err, sizeof err);
    if (doc == NULL)
        fail_msg("report JSON: %s", err);
    assert_int_equal((uint64_t)kt_json_num(doc, "cpus", -1), 2);
    assert_int_equal((uint64_t)kt_json_num(doc, "end_ns", -1), r.end_ns);
    const kt_json *ro = kt_json_get(doc, "routines");
    assert_int_equal(kt_json_len(ro), r.nroutines);
    const kt_json *first = kt_json_at(ro, 0);
    assert_string_equal(kt_json_str(first, "name"), r.routines[0].name);
    assert_string_equal(kt_json_str(first, "kind"), "dpc");
    const kt_json *time = kt_json_get(first, "time");
    assert_int_equal((uint64_t)kt_json_num(time, "count", -1), r.routines[0].time.count);
    assert_int_equal((uint64_t)kt_json_num(time, "p90_ns", -1), r.routines[0].time.p90_ns);
    assert_int_equal(kt_json_len(kt_json_get(time, "bucket")), KDPC_REPORT_BUCKETS);
    assert_int_equal(kt_json_len(kt_json_get(doc, "cpu")), 2);
    assert_int_equal(kt_json_len(kt_json_get(doc, "depth")), r.ndepth);
    const kt_json *v = kt_json_get(doc, "violations");
    assert_int_equal(kt_json_len(v), kdpc_machine_violation_count(m));
    assert_true(kt_json_len(v) >= 2);
    assert_string_equal(kt_json_str(kt_json_at(v, 0), "rule"), kdpc_machine_violation(m, 0)->rule);
    assert_non_null(kt_json_str(kt_json_at(v, 0), "guideline"));
    kt_json_free(doc);
    free(text);
    kdpc_machine_destroy(m);
}

static kdpc_status InsideGet, InsidePrint;

static void body_inside(void *ctx)
{
    kdpc_machine *m = ctx;
    kdpc_report r;
    InsideGet = kdpc_report_get(m, &r);
    InsidePrint = kdpc_report_print(m, stdout);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    kdpc_report r;
    assert_int_equal(kdpc_report_get(NULL, &r), KDPC_EINVAL);
    kdpc_machine *off = kt_machine(1, 1); /* cfg.report false */
    memset(&r, 0xff, sizeof r);
    assert_int_equal(kdpc_report_get(off, &r), KDPC_EINVAL);
    assert_int_equal(r.nroutines, 0);
    assert_null(r.routines);
    assert_int_equal(kdpc_report_print(off, stdout), KDPC_EINVAL);
    assert_int_equal(kdpc_report_json(off, stdout), KDPC_EINVAL);
    kdpc_machine_destroy(off);

    kdpc_machine *m = report_machine(1, 1);
    assert_int_equal(kdpc_report_get(m, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_report_print(m, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_report_json(m, NULL), KDPC_EINVAL);
    /* from simulated code: a run is in progress */
    assert_int_equal(kdpc_machine_run(m, body_inside, m), KDPC_OK);
    assert_int_equal(InsideGet, KDPC_EBUSY);
    assert_int_equal(InsidePrint, KDPC_EBUSY);
    /* an empty report is fine */
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    assert_int_equal(r.nroutines, 0);
    assert_int_equal(r.nviolations, 0);
    /* a write error is KDPC_EOUTPUT */
    FILE *full = fopen("/dev/full", "w");
    if (full != NULL) {
        assert_int_equal(kdpc_report_print(m, full), KDPC_EOUTPUT);
        assert_int_equal(kdpc_report_json(m, full), KDPC_EOUTPUT);
        fclose(full);
    }
    /* reset: a new report */
    assert_int_equal(kdpc_machine_run(m, body_three, NULL), KDPC_OK);
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    assert_int_equal(r.nroutines, 1);
    assert_int_equal(kdpc_machine_reset(m, 2), KDPC_OK);
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    assert_int_equal(r.nroutines, 0);
    assert_int_equal(r.dpc_latency.count, 0);
    kdpc_machine_destroy(m);
}

/* A run that ended in a bug check is still reported. */
static void RepBadDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old); /* returns at HIGH_LEVEL: dpc.irql_changed */
}

static void body_bad(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&StallDpc, RepBadDpc, NULL);
    KeInsertQueueDpc(&StallDpc, NULL, NULL);
    delay_us(1000);
}

static void test_bugchecked_run(void **state)
{
    (void)state;
    kdpc_machine *m = report_machine(1, 1);
    KDPC_NAME(m, RepBadDpc);
    assert_int_equal(kdpc_machine_run(m, body_bad, NULL), KDPC_BUGCHECK);
    kdpc_report r;
    debug_print(m);
    assert_int_equal(kdpc_report_get(m, &r), KDPC_OK);
    assert_non_null(find(&r, "RepBadDpc"));
    assert_int_equal(r.nviolations, 1);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(kdpc_report_print(m, f), KDPC_OK);
    char *text = read_all(f);
    fclose(f);
    assert_non_null(strstr(text, "dpc.irql_changed (bug check)"));
    assert_non_null(strstr(text, "in RepBadDpc"));
    free(text);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_percentiles_and_flag),
        cmocka_unit_test(test_queue_depth_and_dpc_latency),
        cmocka_unit_test(test_removed_dpc_and_flush),
        cmocka_unit_test(test_depth_windows_double),
        cmocka_unit_test(test_irql_time_sums_to_run),
        cmocka_unit_test(test_interrupt_to_dpc),
        cmocka_unit_test(test_irp_latency_per_device),
        cmocka_unit_test(test_text_output),
        cmocka_unit_test(test_json_output),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_bugchecked_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
