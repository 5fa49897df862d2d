/* SPDX-License-Identifier: MIT */
/*
 * test_seeds.c - one small, correct driver under many interleavings: an
 * ISR that records work and queues its DpcForIsr (G18), a DpcForIsr that
 * takes the work in a SynchCritSection (G1) and adds it to a counter under
 * an executive spin lock (G2, G4), and a second system thread that adds to
 * the same counter under the same lock. Every seed on 2 and 4 CPUs must end
 * KDPC_OK, without a single rule violation, with the exact count.
 *
 * A failing seed is printed as KDPC_SEED=<n>; running this test with that
 * variable set replays only that seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NSEEDS         200
#define LINE           5
#define NINTERRUPTS    6
#define THREAD_LOOPS   8
#define EXPECTED_COUNT (NINTERRUPTS + THREAD_LOOPS)

typedef struct DEVICE_EXTENSION {
    PKINTERRUPT Interrupt;
    KSPIN_LOCK CounterLock;
    LONG Counter;            /* guarded by CounterLock */
    LONG Handled;            /* guarded by CounterLock: interrupts the DPC accounted for */
    LONG ThreadDone;         /* guarded by CounterLock */
    ULONG PendingWork;       /* guarded by the interrupt lock (ISR / SynchCritSection) */
    LONG volatile DeviceIrq; /* the "device": 1 = it raised the interrupt */
    LONG IsrCalls;
    LONG DpcCalls;
} DEVICE_EXTENSION, *PDEVICE_EXTENSION;

typedef struct run_ctx {
    kdpc_machine *m;
    NTSTATUS load;
    NTSTATUS unload;
    LONG counter;
    LONG handled;
    LONG isr_calls;
    LONG dpc_calls;
} run_ctx;

static BOOLEAN StressIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PDEVICE_EXTENSION ext = dev->DeviceExtension;
    if (InterlockedExchange(&ext->DeviceIrq, 0) == 0)
        return FALSE;
    ext->IsrCalls++;
    ext->PendingWork++;
    IoRequestDpc(dev, NULL, NULL); /* 5.7: just before returning */
    return TRUE;
}

static BOOLEAN TakeWork(PVOID Context)
{
    PDEVICE_EXTENSION ext = Context;
    ULONG n = ext->PendingWork;
    ext->PendingWork = 0;
    return (BOOLEAN)(n > 255 ? 255 : n);
}

static void StressDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Irp;
    (void)Context;
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    ext->DpcCalls++;
    /* 3.9: KeSynchronizeExecution returns the routine's value unchanged. */
    LONG n = (LONG)KeSynchronizeExecution(ext->Interrupt, TakeWork, ext);
    KeAcquireSpinLockAtDpcLevel(&ext->CounterLock);
    ext->Counter += n;
    ext->Handled += n;
    KeReleaseSpinLockFromDpcLevel(&ext->CounterLock);
}

static void StressThread(PVOID StartContext)
{
    PDEVICE_EXTENSION ext = StartContext;
    for (int i = 0; i < THREAD_LOOPS; i++) {
        KIRQL old;
        KeAcquireSpinLock(&ext->CounterLock, &old);
        LONG v = ext->Counter;
        KeStallExecutionProcessor(1); /* a window for the DPC on another CPU */
        ext->Counter = v + 1;
        KeReleaseSpinLock(&ext->CounterLock, old);
    }
    KIRQL old;
    KeAcquireSpinLock(&ext->CounterLock, &old);
    ext->ThreadDone = 1;
    KeReleaseSpinLock(&ext->CounterLock, old);
}

static NTSTATUS StressDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st = IoCreateDevice(DriverObject, sizeof(DEVICE_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
                                 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    PDEVICE_EXTENSION ext = dev->DeviceExtension;
    KeInitializeSpinLock(&ext->CounterLock);
    IoInitializeDpcRequest(dev, StressDpcForIsr);
    st = IoConnectInterrupt(&ext->Interrupt, StressIsr, dev, NULL, LINE, 6, 6, Latched, FALSE,
                            KeQueryActiveProcessors(), FALSE);
    if (!NT_SUCCESS(st))
        IoDeleteDevice(dev);
    return st;
}

static void StressUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_EXTENSION ext = DriverObject->DeviceObject->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
}

static LONG locked_read(PDEVICE_EXTENSION ext, const LONG *field)
{
    KIRQL old;
    KeAcquireSpinLock(&ext->CounterLock, &old);
    LONG v = *field;
    KeReleaseSpinLock(&ext->CounterLock, old);
    return v;
}

static void stress_entry(void *ctx)
{
    run_ctx *r = ctx;
    PDRIVER_OBJECT drv;
    r->load = kdpc_driver_load(r->m, "stress", StressDriverEntry, &drv);
    if (!NT_SUCCESS(r->load))
        return;
    drv->DriverUnload = StressUnload;
    PDEVICE_EXTENSION ext = drv->DeviceObject->DeviceExtension;
    HANDLE h;
    if (NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, StressThread, ext)))
        ZwClose(h);
    for (LONG i = 0; i < NINTERRUPTS; i++) {
        InterlockedExchange(&ext->DeviceIrq, 1);
        kdpc_line_assert(r->m, LINE);
        while (locked_read(ext, &ext->Handled) <= i)
            KeStallExecutionProcessor(1);
    }
    while (locked_read(ext, &ext->ThreadDone) == 0)
        KeStallExecutionProcessor(1);
    r->counter = ext->Counter;
    r->handled = ext->Handled;
    r->isr_calls = ext->IsrCalls;
    r->dpc_calls = ext->DpcCalls;
    r->unload = kdpc_driver_unload(drv);
}

/* Run one seed; returns true when everything held, else prints the replay line. */
static bool run_seed(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.seed = seed;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        print_message("KDPC_SEED=%llu cpus=%u: kdpc_machine_create failed\n",
                      (unsigned long long)seed, cpus);
        return false;
    }
    KDPC_NAME(m, StressIsr);
    KDPC_NAME(m, StressDpcForIsr);
    KDPC_NAME(m, StressThread);
    run_ctx r = {.m = m, .load = STATUS_UNSUCCESSFUL, .unload = STATUS_UNSUCCESSFUL};
    kdpc_status st = kdpc_machine_run(m, stress_entry, &r);
    size_t nv = kdpc_machine_violation_count(m);
    bool ok = st == KDPC_OK && nv == 0 && NT_SUCCESS(r.load) && NT_SUCCESS(r.unload) &&
              r.counter == EXPECTED_COUNT && r.handled == NINTERRUPTS &&
              r.isr_calls == NINTERRUPTS && r.dpc_calls >= 1 && r.dpc_calls <= NINTERRUPTS;
    if (!ok) {
        const kdpc_violation *v = nv > 0 ? kdpc_machine_violation(m, 0) : NULL;
        print_message("KDPC_SEED=%llu cpus=%u: %s, counter %ld (expected %d), handled %ld, "
                      "ISR %ld, DPC %ld, load 0x%08lx, unload 0x%08lx, %zu violation(s)%s%s\n",
                      (unsigned long long)seed, cpus, kdpc_strerror(st), (long)r.counter,
                      EXPECTED_COUNT, (long)r.handled, (long)r.isr_calls, (long)r.dpc_calls,
                      (unsigned long)r.load, (unsigned long)r.unload, nv,
                      v != NULL ? ", first: " : "", v != NULL ? v->rule : "");
    }
    kdpc_machine_destroy(m);
    return ok;
}

static void run_seeds(unsigned cpus)
{
    const char *only = getenv("KDPC_SEED");
    unsigned failures = 0;
    if (only != NULL && only[0] != '\0') {
        if (!run_seed(cpus, strtoull(only, NULL, 0)))
            failures++;
    } else {
        for (uint64_t seed = 0; seed < NSEEDS; seed++) {
            if (!run_seed(cpus, seed))
                failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_every_seed_on_2_cpus_ends_ok_with_the_exact_count(void **state)
{
    (void)state;
    run_seeds(2);
}

static void test_every_seed_on_4_cpus_ends_ok_with_the_exact_count(void **state)
{
    (void)state;
    run_seeds(4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_seed_on_2_cpus_ends_ok_with_the_exact_count),
        cmocka_unit_test(test_every_seed_on_4_cpus_ends_ok_with_the_exact_count),
    };
    return cmocka_run_group_tests_name("seeds", tests, NULL, NULL);
}
