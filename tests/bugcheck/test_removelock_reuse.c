/* SPDX-License-Identifier: MIT */
/*
 * test_removelock_reuse.c - removelock.held_on_return when one IRP address
 * carries two requests (docs/facts/pnp.md section 4; src/pnp/removelock.c).
 *
 * A remove-lock tag is an IRP's address, and an address is not a request: an
 * IRP is freed (or reused) at its completion, and a driver that completes its
 * IRP and only then releases the lock (the WDK samples' order) still holds it
 * under that address while the next request at the same address is
 * dispatched. kdpc ties each acquisition to the request (the IRP serial), so:
 *
 * 1. Deterministic, allocator-independent: IoReuseIrp gives the same address
 *    a new request. Request 1 is pended and completed by a DPC, whose lock is
 *    released only at a timer DPC later; meanwhile request 2, at the same
 *    address, is acquired, completed and released by its dispatch routine:
 *    clean (the lock count ends right), on 1 and 2 CPUs over seeds. Its broken
 *    twin (request 2 never released) is held_on_return naming the IRP.
 * 2. The WDK order from a DPC on CPU 0 while two threads send
 *    IoBuildDeviceIoControlRequest IRPs (freed at completion, so the host's
 *    allocator may hand the address on at once) on 2 CPUs, over many seeds:
 *    clean; a driver that forgets one release on the synchronous path is
 *    caught in every seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef struct ext {
    IO_REMOVE_LOCK lock;
} ext;

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    int broken;
    LONG calls;
    KDPC complete_dpc, release_dpc;
    KTIMER release_timer;
    PIRP pended, to_release;
    volatile LONG released;
    LONG io_count_at_end;
    int reached_end;
    /* the sweep */
    KSPIN_LOCK qlock;
    LIST_ENTRY queue;
    PIRP window; /* completed by the DPC, lock not yet released */
    LONG reuse_seen, served;
    volatile LONG threads_left;
    KEVENT threads_done;
} g;

static ext *x_of(PDEVICE_OBJECT dev)
{
    return (ext *)dev->DeviceExtension;
}

/* ------------------------------------------------------------------ */
/* 1. IoReuseIrp                                                        */

static void ReleaseDpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)dpc;
    (void)ctx;
    (void)a1;
    (void)a2;
    IoReleaseRemoveLock(&x_of(g.dev)->lock, g.to_release);
    InterlockedExchange(&g.released, 1);
}

static void CompleteDpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)dpc;
    (void)ctx;
    (void)a1;
    (void)a2;
    PIRP irp = g.pended;
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    /* the release comes later, by the address: the owner reuses the IRP in between */
    g.to_release = irp;
    LARGE_INTEGER due = {.QuadPart = -10000}; /* 1 ms */
    (void)KeSetTimer(&g.release_timer, due, &g.release_dpc);
}

static NTSTATUS ReuseIoctl(PDEVICE_OBJECT dev, PIRP irp)
{
    ext *x = x_of(dev);
    NTSTATUS st = IoAcquireRemoveLock(&x->lock, irp);
    if (!NT_SUCCESS(st)) {
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    if (InterlockedIncrement(&g.calls) == 1) {
        IoMarkIrpPending(irp);
        g.pended = irp;
        (void)KeInsertQueueDpc(&g.complete_dpc, NULL, NULL);
        return STATUS_PENDING;
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    if (!g.broken)
        IoReleaseRemoveLock(&x->lock, irp);
    return STATUS_SUCCESS;
}

static void Unload(PDRIVER_OBJECT drv)
{
    while (drv->DeviceObject != NULL)
        IoDeleteDevice(drv->DeviceObject);
}

static NTSTATUS ReuseEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    (void)reg;
    drv->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ReuseIoctl;
    drv->DriverUnload = Unload;
    NTSTATUS st = IoCreateDevice(drv, sizeof(ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.dev);
    if (NT_SUCCESS(st))
        IoInitializeRemoveLock(&x_of(g.dev)->lock, 'rlru', 0, 0);
    return st;
}

static NTSTATUS Back(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev;
    (void)irp;
    (void)KeSetEvent((PKEVENT)ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED; /* the IRP is the sender's again */
}

static void reuse_body(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&g.complete_dpc, CompleteDpc, NULL);
    KeInitializeDpc(&g.release_dpc, ReleaseDpc, NULL);
    KeInitializeTimer(&g.release_timer);
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "rlreuse", ReuseEntry, &g.drv)))
        return;
    PIRP irp = IoAllocateIrp(g.dev->StackSize, FALSE);
    if (irp == NULL)
        return;
    KEVENT back;
    KeInitializeEvent(&back, NotificationEvent, FALSE);
    for (int i = 0; i < 2; i++) {
        if (i > 0)
            IoReuseIrp(irp, STATUS_SUCCESS); /* a new request at the same address */
        KeClearEvent(&back);
        PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(irp);
        s->MajorFunction = IRP_MJ_DEVICE_CONTROL;
        s->Parameters.DeviceIoControl.IoControlCode = 0x222000u + (ULONG)i * 4u;
        IoSetCompletionRoutine(irp, Back, &back, TRUE, TRUE, TRUE);
        if (IoCallDriver(g.dev, irp) == STATUS_PENDING)
            (void)KeWaitForSingleObject(&back, Executive, KernelMode, FALSE, NULL);
    }
    LARGE_INTEGER ms = {.QuadPart = -10000};
    while (!g.released)
        (void)KeDelayExecutionThread(KernelMode, FALSE, &ms);
    IoFreeIrp(irp);
    g.io_count_at_end = x_of(g.dev)->lock.Common.IoCount; /* the initial reference only */
    (void)kdpc_driver_unload(g.drv);
    g.reached_end = 1;
}

static void test_reused_irp_wdk_order_is_clean(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        for (uint64_t seed = 0; seed < 20; seed++) {
            memset(&g, 0, sizeof g);
            kdpc_machine *m = kt_machine(cpus, seed);
            kdpc_status st = kdpc_machine_run(m, reuse_body, NULL);
            const kdpc_violation *bc = kdpc_machine_bugcheck(m);
            if (bc != NULL)
                print_message("cpus %u seed %llu: %s\n", cpus, (unsigned long long)seed, bc->rule);
            assert_int_equal(st, KDPC_OK);
            assert_int_equal(g.reached_end, 1);
            assert_int_equal(g.calls, 2);
            assert_int_equal(g.io_count_at_end, 1);
            assert_int_equal(kdpc_machine_violation_count(m), 0);
            kdpc_machine_destroy(m);
        }
    }
}

static void test_reused_irp_unreleased_is_held_on_return(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        for (uint64_t seed = 0; seed < 5; seed++) {
            memset(&g, 0, sizeof g);
            g.broken = 1;
            kdpc_machine *m = kt_machine(cpus, seed);
            kdpc_status st = kdpc_machine_run(m, reuse_body, NULL);
            KT_ASSERT_BUGCHECK(m, st, "removelock.held_on_return", 0);
            const kdpc_violation *v = kdpc_machine_bugcheck(m);
            assert_int_equal(v->params[0], (uintptr_t)&x_of(g.dev)->lock);
            assert_int_equal(v->params[1], (uintptr_t)g.pended); /* the reused address */
            assert_int_equal(v->params[2], (uintptr_t)g.dev);
            assert_int_equal(g.calls, 2);
            assert_int_equal(g.reached_end, 0);
            kdpc_machine_destroy(m);
        }
    }
}

/* ------------------------------------------------------------------ */
/* 2. Two threads, IRPs freed at completion, the WDK order in a DPC     */

#define PER_THREAD 12

static void DrainDpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)dpc;
    (void)ctx;
    (void)a1;
    (void)a2;
    for (;;) {
        KeAcquireSpinLockAtDpcLevel(&g.qlock);
        PLIST_ENTRY e = IsListEmpty(&g.queue) ? NULL : RemoveHeadList(&g.queue);
        KeReleaseSpinLockFromDpcLevel(&g.qlock);
        if (e == NULL)
            return;
        ext *x = x_of(g.dev);
        PIRP irp = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        irp->IoStatus.Status = STATUS_SUCCESS;
        g.window = irp;
        IoCompleteRequest(irp, IO_NO_INCREMENT); /* freed here: the waiter's IRP */
        KeStallExecutionProcessor(3);            /* room for the other CPU's next request */
        IoReleaseRemoveLock(&x->lock, irp);      /* the WDK order: after the completion */
        g.window = NULL;
    }
}

static NTSTATUS SweepIoctl(PDEVICE_OBJECT dev, PIRP irp)
{
    ext *x = x_of(dev);
    NTSTATUS st = IoAcquireRemoveLock(&x->lock, irp);
    if (!NT_SUCCESS(st)) {
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    if (irp == g.window)
        InterlockedIncrement(&g.reuse_seen);
    LONG n = InterlockedIncrement(&g.calls);
    if (n % 2 == 1) { /* pended: the DPC completes it, then releases */
        IoMarkIrpPending(irp);
        KIRQL old;
        KeAcquireSpinLock(&g.qlock, &old);
        InsertTailList(&g.queue, &irp->Tail.Overlay.ListEntry);
        KeReleaseSpinLock(&g.qlock, old);
        (void)KeInsertQueueDpc(&g.complete_dpc, NULL, NULL);
        return STATUS_PENDING;
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* freed here too */
    if (!(g.broken && n == 6))
        IoReleaseRemoveLock(&x->lock, irp);
    return STATUS_SUCCESS;
}

static NTSTATUS SweepEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    (void)reg;
    drv->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SweepIoctl;
    drv->DriverUnload = Unload;
    NTSTATUS st = IoCreateDevice(drv, sizeof(ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.dev);
    if (NT_SUCCESS(st))
        IoInitializeRemoveLock(&x_of(g.dev)->lock, 'rlsw', 0, 0);
    return st;
}

static void Sender(PVOID ctx)
{
    (void)ctx;
    for (int i = 0; i < PER_THREAD; i++) {
        KEVENT ev;
        IO_STATUS_BLOCK iosb;
        KeInitializeEvent(&ev, NotificationEvent, FALSE);
        PIRP irp =
            IoBuildDeviceIoControlRequest(0x222000u, g.dev, NULL, 0, NULL, 0, FALSE, &ev, &iosb);
        if (irp == NULL)
            break;
        if (IoCallDriver(g.dev, irp) == STATUS_PENDING)
            (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
        InterlockedIncrement(&g.served);
    }
    if (InterlockedDecrement(&g.threads_left) == 0)
        (void)KeSetEvent(&g.threads_done, IO_NO_INCREMENT, FALSE);
    (void)PsTerminateSystemThread(STATUS_SUCCESS);
}

static void sweep_body(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&g.qlock);
    InitializeListHead(&g.queue);
    KeInitializeDpc(&g.complete_dpc, DrainDpc, NULL);
    KeSetTargetProcessorDpc(&g.complete_dpc, 0);
    KeInitializeEvent(&g.threads_done, NotificationEvent, FALSE);
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "rlsweep", SweepEntry, &g.drv)))
        return;
    g.threads_left = 2;
    for (int i = 0; i < 2; i++) {
        HANDLE h;
        if (!NT_SUCCESS(
                PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Sender, NULL)))
            return;
        (void)ZwClose(h);
    }
    (void)KeWaitForSingleObject(&g.threads_done, Executive, KernelMode, FALSE, NULL);
    LARGE_INTEGER ms = {.QuadPart = -10000};
    while (x_of(g.dev)->lock.Common.IoCount != 1) /* the DPC's last release */
        (void)KeDelayExecutionThread(KernelMode, FALSE, &ms);
    KeFlushQueuedDpcs(); /* a DPC queued again while it drained: gone before the device */
    (void)kdpc_driver_unload(g.drv);
    g.reached_end = 1;
}

static void test_wdk_order_in_a_dpc_with_concurrent_dispatch_is_clean(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 0);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    LONG reuse = 0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        memset(&g, 0, sizeof g);
        kdpc_machine_reset(m, seed);
        kdpc_status st = kdpc_machine_run(m, sweep_body, NULL);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        if (bc != NULL)
            print_message("seed %llu: %s\n", (unsigned long long)seed, bc->rule);
        assert_int_equal(st, KDPC_OK);
        assert_int_equal(g.reached_end, 1);
        assert_int_equal(g.served, 2 * PER_THREAD);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        reuse += g.reuse_seen;
    }
    /* how often the host's allocator gave a request the address of one whose lock the DPC still
     * held (0 under a sanitizer's quarantine): informative, the outcome does not depend on it */
    print_message("requests dispatched at an address still held: %ld\n", (long)reuse);
    kdpc_machine_destroy(m);
}

static void test_forgotten_release_with_concurrent_dispatch_is_caught(void **state)
{
    (void)state;
    for (uint64_t seed = 0; seed < 20; seed++) {
        memset(&g, 0, sizeof g);
        g.broken = 1;
        kdpc_machine *m = kt_machine(2, seed);
        kdpc_status st = kdpc_machine_run(m, sweep_body, NULL);
        KT_ASSERT_BUGCHECK(m, st, "removelock.held_on_return", 0);
        assert_int_equal(kdpc_machine_bugcheck(m)->params[2], (uintptr_t)g.dev);
        assert_int_equal(g.reached_end, 0);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reused_irp_wdk_order_is_clean),
        cmocka_unit_test(test_reused_irp_unreleased_is_held_on_return),
        cmocka_unit_test(test_wdk_order_in_a_dpc_with_concurrent_dispatch_is_clean),
        cmocka_unit_test(test_forgotten_release_with_concurrent_dispatch_is_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
