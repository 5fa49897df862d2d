/* SPDX-License-Identifier: MIT */
/*
 * test_dpc_kmt.c - driver-style DPC scenarios in the spirit of a kernel-mode
 * test: a DPC life cycle checked from inside its routine, the DpcForIsr
 * pair of a loaded driver (IoInitializeDpcRequest / IoRequestDpc, also from
 * an ISR), DPCs aimed at busy and idle CPUs, and KeFlushQueuedDpcs.
 *
 * Numbers in comments are facts of docs/facts/dpc-irql.md. Simulated
 * code only records what it sees; the asserts run after kdpc_machine_run().
 *
 * Multi-CPU scenarios use the seeded random policy over several fixed seeds
 * (each seed is one deterministic interleaving) and assert only what must
 * hold in every interleaving: threads are pinned with
 * KeSetSystemAffinityThreadEx, and "before the flag was released" is
 * recorded by the DPC routine itself. (KDPC_POLICY_ROUND_ROBIN is not used
 * here: with two CPUs that both run a thread, an interleaving point never
 * returns under it; reported to the lead.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define PV(x)    ((PVOID)(ULONG_PTR)(x))
#define FN(f)    ((void (*)(void))(f))
#define WAIT_MAX 5000u /* bound of every polling loop (kernel calls) */
#define NSEEDS   6u
#define BUSY_MAX                                                                                   \
    20000 /* a busy thread gives up after this many rounds: no hang if a DPC never comes */
#define MAX_LOG 32

static void run_ok(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx)
{
    kdpc_status st = kdpc_machine_run(m, entry, ctx);
    assert_int_equal(st, KDPC_OK);
}

/* Poll with one kernel call per round until *v >= want; FALSE on timeout. */
static BOOLEAN wait_for(volatile LONG *v, LONG want)
{
    for (unsigned i = 0; i < WAIT_MAX && *v < want; i++)
        KeStallExecutionProcessor(1);
    return *v >= want;
}

/* ------------------------------------------------------------------ */
/* 1. A DPC life cycle, checked from inside the routine (section 4)    */

static struct {
    KDPC dpc;
    PVOID fill;
    LIST_ENTRY fill_links;
    /* after KeInitializeDpc */
    UCHAR type, importance;
    USHORT number;
    BOOLEAN links_untouched, args_untouched;
    PVOID data_init;
    /* steps */
    BOOLEAN remove_unqueued;
    BOOLEAN insert_passive;
    LONG calls_after_passive;
    BOOLEAN insert_dispatch, insert_again;
    LONG calls_at_dispatch, calls_after_high, calls_after_lower;
    PVOID data_while_queued;
    BOOLEAN insert_high, remove_high;
    LONG calls_after_remove_high;
    KIRQL irql_end;
    /* seen by the routine */
    volatile LONG calls;
    struct {
        PKDPC dpc;
        PVOID context, arg1, arg2, data;
        KIRQL irql;
        LOGICAL executing;
        UCHAR type, importance;
        USHORT number;
    } seen[4];
} g_life;

static void LifeDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    LONG i = g_life.calls;
    if (i < 4) {
        g_life.seen[i].dpc = Dpc;
        g_life.seen[i].context = DeferredContext;
        g_life.seen[i].arg1 = SystemArgument1;
        g_life.seen[i].arg2 = SystemArgument2;
        g_life.seen[i].data = Dpc->DpcData;
        g_life.seen[i].irql = KeGetCurrentIrql();
        g_life.seen[i].executing = KeIsExecutingDpc();
        g_life.seen[i].type = Dpc->Type;
        g_life.seen[i].importance = Dpc->Importance;
        g_life.seen[i].number = Dpc->Number;
    }
    g_life.calls = i + 1;
}

static void entry_life(void *ctx)
{
    (void)ctx;
    KIRQL old, old2;
    PKDPC d = &g_life.dpc;

    memset(d, 0x55, sizeof(*d));
    KeInitializeDpc(d, LifeDpc, PV(0xc0ffee));
    g_life.type = d->Type;
    g_life.importance = d->Importance;
    g_life.number = d->Number;
    g_life.data_init = d->DpcData;
    g_life.links_untouched = memcmp(&d->DpcListEntry, &g_life.fill_links, sizeof(LIST_ENTRY)) == 0;
    g_life.args_untouched = d->SystemArgument1 == g_life.fill && d->SystemArgument2 == g_life.fill;

    g_life.remove_unqueued = KeRemoveQueueDpc(d);

    g_life.insert_passive = KeInsertQueueDpc(d, PV(0x1111), PV(0x2222));
    g_life.calls_after_passive = g_life.calls;

    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g_life.insert_dispatch = KeInsertQueueDpc(d, PV(0xabc123), PV(0x5678));
    g_life.data_while_queued = d->DpcData;
    g_life.insert_again = KeInsertQueueDpc(d, PV(0xdef), PV(0x123));
    g_life.calls_at_dispatch = g_life.calls;
    KeRaiseIrql(HIGH_LEVEL, &old2);
    KeLowerIrql(old2);
    g_life.calls_after_high = g_life.calls;
    KeLowerIrql(old);
    g_life.calls_after_lower = g_life.calls;

    KeRaiseIrql(HIGH_LEVEL, &old);
    g_life.insert_high = KeInsertQueueDpc(d, PV(0x9), PV(0x9));
    g_life.remove_high = KeRemoveQueueDpc(d);
    KeLowerIrql(old);
    g_life.calls_after_remove_high = g_life.calls;
    g_life.irql_end = KeGetCurrentIrql();
}

static void test_dpc_life_cycle_as_seen_by_driver_and_routine(void **state)
{
    (void)state;
    memset(&g_life, 0, sizeof(g_life));
    memset(&g_life.fill, 0x55, sizeof(g_life.fill));
    memset(&g_life.fill_links, 0x55, sizeof(g_life.fill_links));
    kdpc_machine *m = kt_machine(1, 101);
    KDPC_NAME(m, LifeDpc);
    run_ok(m, entry_life, NULL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);

    /* 4.2 */
    assert_int_equal(g_life.type, DpcObject);
    assert_int_equal(g_life.importance, MediumImportance);
    assert_int_equal(g_life.number, 0);
    assert_null(g_life.data_init);
    assert_true(g_life.links_untouched);
    assert_true(g_life.args_untouched);
    /* 4.17 */
    assert_false(g_life.remove_unqueued);
    /* 4.15: at PASSIVE_LEVEL it has run when the insert returns */
    assert_true(g_life.insert_passive);
    assert_int_equal(g_life.calls_after_passive, 1);
    /* 4.7, 4.15: at DISPATCH_LEVEL: queued, second insert refused, not run even across HIGH */
    assert_true(g_life.insert_dispatch);
    assert_non_null(g_life.data_while_queued); /* 4.1 */
    assert_false(g_life.insert_again);
    assert_int_equal(g_life.calls_at_dispatch, 1);
    assert_int_equal(g_life.calls_after_high, 1);
    assert_int_equal(g_life.calls_after_lower, 2);
    /* 4.17 at HIGH_LEVEL */
    assert_true(g_life.insert_high);
    assert_true(g_life.remove_high);
    assert_int_equal(g_life.calls_after_remove_high, 2);
    assert_int_equal(g_life.irql_end, PASSIVE_LEVEL);
    assert_int_equal(g_life.calls, 2);

    /* what the routine saw: 4.19, 4.24, 4.7 */
    assert_ptr_equal(g_life.seen[0].arg1, PV(0x1111));
    assert_ptr_equal(g_life.seen[0].arg2, PV(0x2222));
    assert_ptr_equal(g_life.seen[1].arg1, PV(0xabc123));
    assert_ptr_equal(g_life.seen[1].arg2, PV(0x5678));
    for (unsigned i = 0; i < 2; i++) {
        assert_ptr_equal(g_life.seen[i].dpc, &g_life.dpc);
        assert_ptr_equal(g_life.seen[i].context, PV(0xc0ffee));
        assert_null(g_life.seen[i].data);
        assert_int_equal(g_life.seen[i].irql, DISPATCH_LEVEL);
        assert_int_not_equal(g_life.seen[i].executing, 0);
        assert_int_equal(g_life.seen[i].type, DpcObject);
        assert_int_equal(g_life.seen[i].importance, MediumImportance);
        assert_int_equal(g_life.seen[i].number, 0);
    }
}

/* ------------------------------------------------------------------ */
/* 2. DpcForIsr: IoInitializeDpcRequest / IoRequestDpc (section 5)     */

#define DEV_LINE 7

static char g_irp_a, g_irp_b, g_ctx_a, g_ctx_b; /* stand-ins: only their addresses matter */
#define IRP_A ((PIRP)(void *)&g_irp_a)
#define IRP_B ((PIRP)(void *)&g_irp_b)
#define CTX_A ((PVOID)&g_ctx_a)
#define CTX_B ((PVOID)&g_ctx_b)

static struct {
    kdpc_machine *m;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    PKINTERRUPT interrupt;
    BOOLEAN connect;
    NTSTATUS load_st, unload_st;
    /* binding seen right after DriverEntry */
    UCHAR type, importance;
    USHORT number;
    PVOID deferred_context;
    BOOLEAN routine_is_dpc_for_isr;
    PVOID data;
    /* steps */
    LONG calls_after_passive_request;
    LONG calls_at_dispatch, calls_after_lower;
    BOOLEAN waited;
    /* ISR */
    volatile LONG isr_calls;
    volatile LONG isr_returning;
    KIRQL isr_irql;
    LONG calls_seen_by_isr_end;
    /* DpcForIsr */
    volatile LONG calls;
    struct {
        PKDPC dpc;
        PDEVICE_OBJECT dev;
        PIRP irp;
        PVOID context;
        KIRQL irql;
        ULONG cpu;
        LONG isr_returning;
    } seen[4];
} g_io;

static void TestDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    LONG i = g_io.calls;
    if (i < 4) {
        g_io.seen[i].dpc = Dpc;
        g_io.seen[i].dev = DeviceObject;
        g_io.seen[i].irp = Irp;
        g_io.seen[i].context = Context;
        g_io.seen[i].irql = KeGetCurrentIrql();
        g_io.seen[i].cpu = KeGetCurrentProcessorNumber();
        g_io.seen[i].isr_returning = g_io.isr_returning;
    }
    g_io.calls = i + 1;
}

static BOOLEAN TestIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    g_io.isr_calls++;
    g_io.isr_irql = KeGetCurrentIrql();
    /* two completions reported before the DPC can run: 5.4 */
    IoRequestDpc(dev, IRP_A, CTX_A);
    IoRequestDpc(dev, IRP_B, CTX_B);
    g_io.calls_seen_by_isr_end = g_io.calls;
    g_io.isr_returning = 1;
    return TRUE;
}

static NTSTATUS TestDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st = IoCreateDevice(DriverObject, 16, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    IoInitializeDpcRequest(dev, TestDpcForIsr);
    if (g_io.connect) {
        st = IoConnectInterrupt(&g_io.interrupt, TestIsr, dev, NULL, DEV_LINE, 5, 5, Latched, FALSE,
                                0x1, FALSE);
        if (!NT_SUCCESS(st)) {
            IoDeleteDevice(dev);
            return st;
        }
    }
    g_io.dev = dev;
    return STATUS_SUCCESS;
}

static void TestUnload(PDRIVER_OBJECT DriverObject)
{
    if (g_io.interrupt != NULL)
        IoDisconnectInterrupt(g_io.interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
}

static BOOLEAN load_test_driver(void)
{
    g_io.load_st = kdpc_driver_load(g_io.m, "dpctest", TestDriverEntry, &g_io.drv);
    if (!NT_SUCCESS(g_io.load_st))
        return FALSE;
    g_io.drv->DriverUnload = TestUnload;
    PDEVICE_OBJECT dev = g_io.dev;
    g_io.type = dev->Dpc.Type;
    g_io.importance = dev->Dpc.Importance;
    g_io.number = dev->Dpc.Number;
    g_io.deferred_context = dev->Dpc.DeferredContext;
    g_io.routine_is_dpc_for_isr = FN(dev->Dpc.DeferredRoutine) == FN(TestDpcForIsr);
    g_io.data = dev->Dpc.DpcData;
    return TRUE;
}

static void entry_request_dpc(void *ctx)
{
    (void)ctx;
    KIRQL old;
    if (!load_test_driver())
        return;
    IoRequestDpc(g_io.dev, IRP_A, CTX_A);
    g_io.calls_after_passive_request = g_io.calls;

    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoRequestDpc(g_io.dev, IRP_A, CTX_A);
    IoRequestDpc(g_io.dev, IRP_B, CTX_B); /* dropped with its arguments (5.4) */
    g_io.calls_at_dispatch = g_io.calls;
    KeLowerIrql(old);
    g_io.calls_after_lower = g_io.calls;
    g_io.unload_st = kdpc_driver_unload(g_io.drv);
}

static kdpc_machine *io_machine(unsigned cpus, uint64_t seed, BOOLEAN connect)
{
    memset(&g_io, 0, sizeof(g_io));
    g_io.connect = connect;
    g_io.m = kt_machine(cpus, seed);
    KDPC_NAME(g_io.m, TestDpcForIsr);
    KDPC_NAME(g_io.m, TestIsr);
    return g_io.m;
}

static void test_initialize_dpc_request_binds_device_dpc_with_device_as_context(void **state)
{
    (void)state;
    kdpc_machine *m = io_machine(1, 102, FALSE);
    run_ok(m, entry_request_dpc, NULL);
    kdpc_machine_destroy(m);

    assert_int_equal(g_io.load_st, STATUS_SUCCESS);
    /* 5.1: KeInitializeDpc(&DeviceObject->Dpc, DpcForIsr, DeviceObject) */
    assert_int_equal(g_io.type, DpcObject);
    assert_int_equal(g_io.importance, MediumImportance);
    assert_int_equal(g_io.number, 0);
    assert_ptr_equal(g_io.deferred_context, g_io.dev);
    assert_true(g_io.routine_is_dpc_for_isr);
    assert_null(g_io.data);
    assert_int_equal(g_io.unload_st, STATUS_SUCCESS);
}

static void test_io_request_dpc_passes_device_irp_and_context_to_dpc_for_isr(void **state)
{
    (void)state;
    kdpc_machine *m = io_machine(1, 103, FALSE);
    run_ok(m, entry_request_dpc, NULL);
    kdpc_machine_destroy(m);

    /* 5.2, 5.3, 4.15 */
    assert_int_equal(g_io.calls_after_passive_request, 1);
    assert_ptr_equal(g_io.seen[0].dpc, &g_io.dev->Dpc);
    assert_ptr_equal(g_io.seen[0].dev, g_io.dev);
    assert_ptr_equal(g_io.seen[0].irp, IRP_A);
    assert_ptr_equal(g_io.seen[0].context, CTX_A);
    assert_int_equal(g_io.seen[0].irql, DISPATCH_LEVEL);
}

static void test_two_io_request_dpc_before_it_runs_give_one_run_with_first_irp(void **state)
{
    (void)state;
    kdpc_machine *m = io_machine(1, 104, FALSE);
    run_ok(m, entry_request_dpc, NULL);
    kdpc_machine_destroy(m);

    /* 5.4 */
    assert_int_equal(g_io.calls_at_dispatch, 1);
    assert_int_equal(g_io.calls_after_lower, 2);
    assert_int_equal(g_io.calls, 2);
    assert_ptr_equal(g_io.seen[1].dev, g_io.dev);
    assert_ptr_equal(g_io.seen[1].irp, IRP_A);
    assert_ptr_equal(g_io.seen[1].context, CTX_A);
}

static void entry_isr_request(void *ctx)
{
    (void)ctx;
    if (!load_test_driver())
        return;
    (void)kdpc_line_assert(g_io.m, DEV_LINE);
    g_io.waited = wait_for(&g_io.calls, 1);
    /* give a wrongly second run every chance to show up */
    for (unsigned i = 0; i < 50; i++)
        KeStallExecutionProcessor(1);
    g_io.unload_st = kdpc_driver_unload(g_io.drv);
}

static void test_isr_requests_twice_dpc_for_isr_runs_once_after_isr_returns(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        kdpc_machine *m = io_machine(1, seed, TRUE);
        run_ok(m, entry_isr_request, NULL);
        kdpc_machine_destroy(m);

        assert_int_equal(g_io.load_st, STATUS_SUCCESS);
        assert_true(g_io.waited);
        assert_int_equal(g_io.isr_calls, 1);
        assert_true(g_io.isr_irql > DISPATCH_LEVEL);
        /* 4.15: not while the ISR runs, only after it returned and IRQL dropped */
        assert_int_equal(g_io.calls_seen_by_isr_end, 0);
        assert_int_equal(g_io.seen[0].isr_returning, 1);
        /* 5.4: one run, with the first request's Irp and Context */
        assert_int_equal(g_io.calls, 1);
        assert_ptr_equal(g_io.seen[0].dev, g_io.dev);
        assert_ptr_equal(g_io.seen[0].irp, IRP_A);
        assert_ptr_equal(g_io.seen[0].context, CTX_A);
        assert_int_equal(g_io.seen[0].irql, DISPATCH_LEVEL);
        assert_int_equal(g_io.unload_st, STATUS_SUCCESS);
    }
}

static void entry_request_targeted(void *ctx)
{
    (void)ctx;
    if (!load_test_driver())
        return;
    KeSetTargetProcessorDpc(&g_io.dev->Dpc, 1); /* 5.5 */
    IoRequestDpc(g_io.dev, IRP_B, CTX_B);
    g_io.waited = wait_for(&g_io.calls, 1);
    g_io.unload_st = kdpc_driver_unload(g_io.drv);
}

static void test_target_processor_of_device_dpc_applies_to_io_request_dpc(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        kdpc_machine *m = io_machine(2, seed, FALSE);
        run_ok(m, entry_request_targeted, NULL);
        kdpc_machine_destroy(m);

        assert_true(g_io.waited);
        assert_int_equal(g_io.calls, 1);
        assert_int_equal(g_io.seen[0].cpu, 1); /* 5.5, 4.8 */
        assert_ptr_equal(g_io.seen[0].irp, IRP_B);
        assert_int_equal(g_io.unload_st, STATUS_SUCCESS);
    }
}

/* ------------------------------------------------------------------ */
/* 3. DPCs aimed at a busy CPU and at an idle CPU (4.8, 4.10, 4.12)    */
/*                                                                     */
/* CPU 0 runs the entry thread (pinned); CPU 1 runs a system thread    */
/* pinned there that loops on KeStallExecutionProcessor(1) until       */
/* g_busy.release is set.                                              */

static struct {
    volatile LONG started;
    volatile LONG release;
    volatile LONG iters;
    volatile LONG exited;
    ULONG cpu;
} g_busy;

static void BusyThread(PVOID StartContext)
{
    (void)StartContext;
    (void)KeSetSystemAffinityThreadEx((KAFFINITY)1 << 1);
    g_busy.cpu = KeGetCurrentProcessorNumber();
    g_busy.started = 1;
    while (!g_busy.release && g_busy.iters < BUSY_MAX) {
        KeStallExecutionProcessor(1);
        g_busy.iters++;
    }
    g_busy.exited = 1;
}

/* From the entry thread: pin it to CPU 0 and start the busy thread on CPU 1. */
static BOOLEAN start_busy_cpu1(void)
{
    HANDLE h;
    (void)KeSetSystemAffinityThreadEx(1);
    if (!NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, BusyThread, NULL)))
        return FALSE;
    (void)ZwClose(h);
    return wait_for(&g_busy.started, 1);
}

typedef struct seen_run {
    ULONG cpu;
    KIRQL irql;
    LONG release; /* g_busy.release when it ran */
    LONG exited;  /* g_busy.exited when it ran */
    LONG iters;   /* g_busy.iters when it ran */
    PVOID context;
} seen_run;

static struct {
    KDPC dpc[6];
    volatile LONG calls;
    seen_run seen[MAX_LOG];
    BOOLEAN started, waited, inserted[6], removed;
    ULONG entry_cpu;
    LONG calls_while_busy;   /* calls when the entry stopped waiting, before release */
    LONG iters_at_insert;    /* g_busy.iters right before the insertion */
    LONG iters_while_queued; /* busy iterations that passed while the DPC stayed queued */
} g_x;

static void CrossDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    (void)Dpc;
    (void)SystemArgument1;
    (void)SystemArgument2;
    LONG i = g_x.calls;
    if (i < MAX_LOG) {
        g_x.seen[i].cpu = KeGetCurrentProcessorNumber();
        g_x.seen[i].irql = KeGetCurrentIrql();
        g_x.seen[i].release = g_busy.release;
        g_x.seen[i].exited = g_busy.exited;
        g_x.seen[i].iters = g_busy.iters;
        g_x.seen[i].context = DeferredContext;
    }
    g_x.calls = i + 1;
}

static void reset_cross(void)
{
    memset(&g_busy, 0, sizeof(g_busy));
    memset(&g_x, 0, sizeof(g_x));
}

static KDPC_IMPORTANCE g_cross_importance;

/* One DPC of g_cross_importance aimed at busy CPU 1; then 200 kernel calls
 * on CPU 0; then the busy thread is released. */
static void entry_busy_target(void *ctx)
{
    (void)ctx;
    g_x.started = start_busy_cpu1();
    if (!g_x.started)
        return;
    g_x.entry_cpu = KeGetCurrentProcessorNumber();
    KeInitializeDpc(&g_x.dpc[0], CrossDpc, PV(1));
    KeSetImportanceDpc(&g_x.dpc[0], g_cross_importance);
    KeSetTargetProcessorDpc(&g_x.dpc[0], 1);
    g_x.iters_at_insert = g_busy.iters;
    g_x.inserted[0] = KeInsertQueueDpc(&g_x.dpc[0], NULL, NULL);
    for (unsigned i = 0; i < 200; i++)
        KeStallExecutionProcessor(1);
    g_x.calls_while_busy = g_x.calls;
    g_x.iters_while_queued = g_busy.iters - g_x.iters_at_insert;
    g_busy.release = 1;
    g_x.waited = wait_for(&g_x.calls, 1);
}

static void run_busy_target(KDPC_IMPORTANCE imp, uint64_t seed)
{
    reset_cross();
    g_cross_importance = imp;
    kdpc_machine *m = kt_machine(2, seed);
    KDPC_NAME(m, CrossDpc);
    KDPC_NAME(m, BusyThread);
    run_ok(m, entry_busy_target, NULL);
    kdpc_machine_destroy(m);

    assert_true(g_x.started);
    assert_int_equal(g_x.entry_cpu, 0);
    assert_int_equal(g_busy.cpu, 1);
    assert_true(g_x.inserted[0]);
    assert_true(g_x.waited);
    assert_int_equal(g_x.calls, 1);
    assert_int_equal(g_x.seen[0].cpu, 1); /* 4.8 */
    assert_int_equal(g_x.seen[0].irql, DISPATCH_LEVEL);
    assert_int_equal(g_busy.exited, 1);
}

static void test_medium_dpc_for_busy_other_cpu_waits_until_that_cpu_is_idle(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        run_busy_target(MediumImportance, seed);
        /* 4.10: Medium for another CPU requests no drain; 4.12: it waits for idle */
        assert_int_equal(g_x.calls_while_busy, 0);
        assert_true(g_x.iters_while_queued >= 10); /* CPU 1 really kept running meanwhile */
        assert_int_equal(g_x.seen[0].release, 1);
        assert_int_equal(g_x.seen[0].exited, 1);
    }
}

static void test_low_dpc_for_busy_other_cpu_waits_until_that_cpu_is_idle(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        run_busy_target(LowImportance, seed);
        assert_int_equal(g_x.calls_while_busy, 0); /* 4.10 */
        assert_int_equal(g_x.seen[0].exited, 1);   /* 4.12 */
    }
}

static void test_high_dpc_for_busy_other_cpu_runs_at_its_next_interleaving_point(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        run_busy_target(HighImportance, seed);
        /* 4.10: High drains the target at once, while its thread is still busy */
        assert_int_equal(g_x.calls_while_busy, 1);
        assert_int_equal(g_x.seen[0].release, 0);
        assert_int_equal(g_x.seen[0].exited, 0);
        /* ... at CPU 1's next interleaving point: inside the stall it was in */
        assert_int_equal(g_x.seen[0].iters, g_x.iters_at_insert);
    }
}

static void
test_medium_high_dpc_for_busy_other_cpu_runs_at_its_next_interleaving_point(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        run_busy_target(MediumHighImportance, seed);
        /* 4.10 (documented rule; kdpc follows it, not ReactOS's 4.11) */
        assert_int_equal(g_x.calls_while_busy, 1);
        assert_int_equal(g_x.seen[0].release, 0);
        assert_int_equal(g_x.seen[0].exited, 0);
        assert_int_equal(g_x.seen[0].iters, g_x.iters_at_insert);
    }
}

/* Five Medium DPCs for busy CPU 1: the fifth makes the depth exceed 4. */
static void entry_busy_depth(void *ctx)
{
    (void)ctx;
    g_x.started = start_busy_cpu1();
    if (!g_x.started)
        return;
    for (unsigned i = 0; i < 5; i++) {
        KeInitializeDpc(&g_x.dpc[i], CrossDpc, PV('1' + i));
        KeSetTargetProcessorDpc(&g_x.dpc[i], 1);
    }
    for (unsigned i = 0; i < 4; i++)
        g_x.inserted[i] = KeInsertQueueDpc(&g_x.dpc[i], NULL, NULL);
    for (unsigned i = 0; i < 100; i++)
        KeStallExecutionProcessor(1);
    g_x.calls_while_busy = g_x.calls; /* 4 queued: none ran */
    g_x.iters_at_insert = g_busy.iters;
    g_x.inserted[4] = KeInsertQueueDpc(&g_x.dpc[4], NULL, NULL);
    g_x.waited = wait_for(&g_x.calls, 5);
    g_busy.release = 1;
}

static void test_queue_depth_over_limit_drains_busy_other_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        reset_cross();
        kdpc_machine *m = kt_machine(2, seed);
        run_ok(m, entry_busy_depth, NULL);
        kdpc_machine_destroy(m);

        assert_true(g_x.started);
        for (unsigned i = 0; i < 5; i++)
            assert_true(g_x.inserted[i]);
        /* 4.10, 4.13: depth 4 is not over the limit (MaximumDpcQueueDepth 4) */
        assert_int_equal(g_x.calls_while_busy, 0);
        /* depth 5 > 4: drained at once, all five, in FIFO order (4.9), while CPU 1 is busy */
        assert_true(g_x.waited);
        assert_int_equal(g_x.calls, 5);
        for (unsigned i = 0; i < 5; i++) {
            assert_ptr_equal(g_x.seen[i].context, PV('1' + i));
            assert_int_equal(g_x.seen[i].cpu, 1);
            assert_int_equal(g_x.seen[i].release, 0);
            assert_int_equal(g_x.seen[i].iters, g_x.iters_at_insert);
        }
    }
}

static void entry_busy_remove(void *ctx)
{
    (void)ctx;
    g_x.started = start_busy_cpu1();
    if (!g_x.started)
        return;
    KeInitializeDpc(&g_x.dpc[0], CrossDpc, PV(1));
    KeSetTargetProcessorDpc(&g_x.dpc[0], 1);
    g_x.inserted[0] = KeInsertQueueDpc(&g_x.dpc[0], NULL, NULL);
    for (unsigned i = 0; i < 50; i++)
        KeStallExecutionProcessor(1);
    g_x.removed = KeRemoveQueueDpc(&g_x.dpc[0]);
    g_busy.release = 1;
    (void)wait_for(&g_busy.exited, 1);
    for (unsigned i = 0; i < 50; i++)
        KeStallExecutionProcessor(1);
}

static void test_remove_dpc_queued_on_busy_other_cpu_prevents_its_run(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        reset_cross();
        kdpc_machine *m = kt_machine(2, seed);
        run_ok(m, entry_busy_remove, NULL);
        kdpc_machine_destroy(m);

        assert_true(g_x.started);
        assert_true(g_x.inserted[0]);
        assert_true(g_x.removed); /* 4.17: queued on CPU 1, removed from CPU 0 */
        assert_int_equal(g_busy.exited, 1);
        assert_int_equal(g_x.calls, 0);
    }
}

static void entry_idle_target(void *ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(1);
    KeInitializeDpc(&g_x.dpc[0], CrossDpc, PV('M'));
    KeSetTargetProcessorDpc(&g_x.dpc[0], 1);
    KeInitializeDpc(&g_x.dpc[1], CrossDpc, PV('L'));
    KeSetImportanceDpc(&g_x.dpc[1], LowImportance);
    KeSetTargetProcessorDpc(&g_x.dpc[1], 1);
    g_x.inserted[0] = KeInsertQueueDpc(&g_x.dpc[0], NULL, NULL);
    g_x.waited = wait_for(&g_x.calls, 1);
    g_x.inserted[1] = KeInsertQueueDpc(&g_x.dpc[1], NULL, NULL);
    g_x.waited = g_x.waited && wait_for(&g_x.calls, 2);
    g_x.entry_cpu = KeGetCurrentProcessorNumber();
}

static void test_idle_cpu_drains_dpcs_targeted_at_it(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        reset_cross();
        kdpc_machine *m = kt_machine(2, seed);
        run_ok(m, entry_idle_target, NULL);
        kdpc_machine_destroy(m);

        /* 4.12: an idle CPU drains its own queue, Medium and Low alike, while the
         * inserting thread still runs on CPU 0 */
        assert_true(g_x.waited);
        assert_int_equal(g_x.entry_cpu, 0);
        assert_int_equal(g_x.calls, 2);
        assert_ptr_equal(g_x.seen[0].context, PV('M'));
        assert_ptr_equal(g_x.seen[1].context, PV('L'));
        assert_int_equal(g_x.seen[0].cpu, 1);
        assert_int_equal(g_x.seen[1].cpu, 1);
    }
}

/* ------------------------------------------------------------------ */
/* 4. KeFlushQueuedDpcs (4.22)                                         */

static struct {
    KDPC d0, d1;
    volatile LONG go;        /* entry -> busy thread: insert d0 now */
    volatile LONG d0_queued; /* busy thread -> entry */
    BOOLEAN d0_inserted, d1_inserted, waited;
    volatile LONG d0_runs, d1_runs;
    LONG d0_before, d1_before; /* runs seen right before KeFlushQueuedDpcs */
    LONG d0_after, d1_after;   /* runs seen right after it returned */
    ULONG d0_cpu, d1_cpu;
    LONG d1_release; /* g_busy.release when d1 ran */
    LONG d1_exited;  /* g_busy.exited when d1 ran */
    /* running-routine scenario */
    volatile LONG r_started, r_done, flush_called;
    LONG r_done_after;
    LONG r_seen_flush_called;
    ULONG r_cpu;
} g_fl;

static void FlushDpc0(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                      PVOID SystemArgument2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    g_fl.d0_cpu = KeGetCurrentProcessorNumber();
    g_fl.d0_runs++;
}

static void FlushDpc1(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                      PVOID SystemArgument2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    g_fl.d1_cpu = KeGetCurrentProcessorNumber();
    g_fl.d1_release = g_busy.release;
    g_fl.d1_exited = g_busy.exited;
    g_fl.d1_runs++;
}

/* Busy thread of the flush scenario: on CPU 1 it queues d0 for CPU 0 (busy with
 * the entry thread, so Medium waits there: 4.10), then loops. */
static void FlushBusyThread(PVOID StartContext)
{
    (void)StartContext;
    (void)KeSetSystemAffinityThreadEx((KAFFINITY)1 << 1);
    g_busy.cpu = KeGetCurrentProcessorNumber();
    g_busy.started = 1;
    (void)wait_for(&g_fl.go, 1);
    g_fl.d0_inserted = KeInsertQueueDpc(&g_fl.d0, NULL, NULL);
    g_fl.d0_queued = 1;
    while (!g_busy.release && g_busy.iters < BUSY_MAX) {
        KeStallExecutionProcessor(1);
        g_busy.iters++;
    }
    g_busy.exited = 1;
}

static void entry_flush_queued(void *ctx)
{
    (void)ctx;
    HANDLE h;
    (void)KeSetSystemAffinityThreadEx(1);
    KeInitializeDpc(&g_fl.d0, FlushDpc0, NULL);
    KeSetTargetProcessorDpc(&g_fl.d0, 0);
    KeInitializeDpc(&g_fl.d1, FlushDpc1, NULL);
    KeSetTargetProcessorDpc(&g_fl.d1, 1);
    if (!NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, FlushBusyThread, NULL)))
        return;
    (void)ZwClose(h);
    if (!wait_for(&g_busy.started, 1))
        return;
    g_fl.go = 1;
    if (!wait_for(&g_fl.d0_queued, 1))
        return;
    g_fl.d1_inserted = KeInsertQueueDpc(&g_fl.d1, NULL, NULL); /* Medium, busy CPU 1 */
    for (unsigned i = 0; i < 50; i++)
        KeStallExecutionProcessor(1);
    g_fl.d0_before = g_fl.d0_runs;
    g_fl.d1_before = g_fl.d1_runs;
    KeFlushQueuedDpcs();
    g_fl.d0_after = g_fl.d0_runs;
    g_fl.d1_after = g_fl.d1_runs;
    g_busy.release = 1;
    g_fl.waited = TRUE;
}

static void test_flush_queued_dpcs_returns_after_dpcs_queued_on_every_cpu_ran(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        memset(&g_busy, 0, sizeof(g_busy));
        memset(&g_fl, 0, sizeof(g_fl));
        kdpc_machine *m = kt_machine(2, seed);
        run_ok(m, entry_flush_queued, NULL);
        kdpc_machine_destroy(m);

        assert_true(g_fl.waited);
        assert_int_equal(g_busy.cpu, 1);
        assert_true(g_fl.d0_inserted);
        assert_true(g_fl.d1_inserted);
        /* both deferred: targeted at a CPU busy with a thread (4.10) */
        assert_int_equal(g_fl.d0_before, 0);
        assert_int_equal(g_fl.d1_before, 0);
        /* 4.22: all have run when KeFlushQueuedDpcs returns */
        assert_int_equal(g_fl.d0_after, 1);
        assert_int_equal(g_fl.d1_after, 1);
        assert_int_equal(g_fl.d0_cpu, 0);
        assert_int_equal(g_fl.d1_cpu, 1);
        /* the flush made busy CPU 1 drain; it did not wait for its thread to end */
        assert_int_equal(g_fl.d1_release, 0);
        assert_int_equal(g_fl.d1_exited, 0);
    }
}

static void RunningDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                       PVOID SystemArgument2)
{
    (void)Dpc;
    (void)DeferredContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    g_fl.r_cpu = KeGetCurrentProcessorNumber();
    g_fl.r_started = 1;
    /* keep running until CPU 0 has called KeFlushQueuedDpcs, then a bit more */
    for (unsigned i = 0; i < WAIT_MAX && !g_fl.flush_called; i++)
        KeStallExecutionProcessor(1);
    g_fl.r_seen_flush_called = g_fl.flush_called;
    for (unsigned i = 0; i < 10; i++)
        KeStallExecutionProcessor(1);
    g_fl.r_done = 1;
}

static void entry_flush_running(void *ctx)
{
    (void)ctx;
    (void)KeSetSystemAffinityThreadEx(1);
    KeInitializeDpc(&g_fl.d1, RunningDpc, NULL);
    KeSetTargetProcessorDpc(&g_fl.d1, 1);
    g_fl.d1_inserted = KeInsertQueueDpc(&g_fl.d1, NULL, NULL); /* idle CPU 1 takes it */
    if (!wait_for(&g_fl.r_started, 1))
        return;
    g_fl.flush_called = 1;
    KeFlushQueuedDpcs();
    g_fl.r_done_after = g_fl.r_done;
    g_fl.waited = TRUE;
}

static void test_flush_queued_dpcs_waits_for_routine_running_on_other_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        memset(&g_busy, 0, sizeof(g_busy));
        memset(&g_fl, 0, sizeof(g_fl));
        kdpc_machine *m = kt_machine(2, seed);
        run_ok(m, entry_flush_running, NULL);
        kdpc_machine_destroy(m);

        assert_true(g_fl.waited);
        assert_true(g_fl.d1_inserted);
        assert_int_equal(g_fl.r_cpu, 1);
        /* the routine was running on CPU 1 when KeFlushQueuedDpcs was called ... */
        assert_int_equal(g_fl.r_seen_flush_called, 1);
        /* ... and had completed when it returned (4.22, ke.h) */
        assert_int_equal(g_fl.r_done_after, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpc_life_cycle_as_seen_by_driver_and_routine),
        cmocka_unit_test(test_initialize_dpc_request_binds_device_dpc_with_device_as_context),
        cmocka_unit_test(test_io_request_dpc_passes_device_irp_and_context_to_dpc_for_isr),
        cmocka_unit_test(test_two_io_request_dpc_before_it_runs_give_one_run_with_first_irp),
        cmocka_unit_test(test_isr_requests_twice_dpc_for_isr_runs_once_after_isr_returns),
        cmocka_unit_test(test_target_processor_of_device_dpc_applies_to_io_request_dpc),
        cmocka_unit_test(test_medium_dpc_for_busy_other_cpu_waits_until_that_cpu_is_idle),
        cmocka_unit_test(test_low_dpc_for_busy_other_cpu_waits_until_that_cpu_is_idle),
        cmocka_unit_test(test_high_dpc_for_busy_other_cpu_runs_at_its_next_interleaving_point),
        cmocka_unit_test(
            test_medium_high_dpc_for_busy_other_cpu_runs_at_its_next_interleaving_point),
        cmocka_unit_test(test_queue_depth_over_limit_drains_busy_other_cpu),
        cmocka_unit_test(test_remove_dpc_queued_on_busy_other_cpu_prevents_its_run),
        cmocka_unit_test(test_idle_cpu_drains_dpcs_targeted_at_it),
        cmocka_unit_test(test_flush_queued_dpcs_returns_after_dpcs_queued_on_every_cpu_ran),
        cmocka_unit_test(test_flush_queued_dpcs_waits_for_routine_running_on_other_cpu),
    };
    return cmocka_run_group_tests_name("dpc_kmt", tests, NULL, NULL);
}
