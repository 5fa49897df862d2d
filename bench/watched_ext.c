/* SPDX-License-Identifier: MIT */
/*
 * bench_watched_ext - what watching device extensions costs on the IRP path
 * (cfg.watch_device_extensions, issue 9), in one run. Each figure is the
 * median of REPS repetitions on the host monotonic clock; the spread
 * (min-max) is printed with it.
 *
 *   irps_per_second_{watched,unwatched}_{1,2}cpu
 *       REQUESTERS system threads each send IRPS_EACH (IRPS_EACH_WATCHED when
 *       watched: the bench stays within run-bench's budget) METHOD_BUFFERED IOCTLs
 *       one after the other (IoBuildDeviceIoControlRequest, IoCallDriver,
 *       wait on the IRP's event). The dispatch routine queues the IRP in the
 *       device extension under the extension's spin lock, counts it and
 *       queues the extension's KDPC; the DPC takes the IRPs off under the
 *       lock, counts them and completes them: every IRP touches the lock,
 *       the queue, two counters and the KDPC inside the extension, from a
 *       thread and from a DPC. IRPs completed per host second with the
 *       extension watched (on its own pages, lock sets per granule) and not.
 *   baseline: dpc_roundtrips_per_second (KeInsertQueueDpc at PASSIVE_LEVEL).
 *
 * Target: watched IRPs cost at most TARGET times the unwatched ones (the
 * slowdown a test pays for catching unlocked extension state by default).
 * A measurement, not a test: the exit status is 0 unless a run failed.
 */
#include <string.h>

#include <kdpc/driver.h>

#include "bench.h"

#define REPS              5
#define REQUESTERS        2u
#define IRPS_EACH         5000u
#define IRPS_EACH_WATCHED 1000u
#define TARGET            3.0
#define IOCTL_BENCH       CTL_CODE(FILE_DEVICE_UNKNOWN, 0x821, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct EXT {
    KSPIN_LOCK Lock;
    KDPC Dpc;
    LIST_ENTRY Queue;
    LONG Submitted;
    LONG Completed;
} EXT, *PEXT;

static PDEVICE_OBJECT bench_dev;
static volatile long irps_done;
static unsigned irps_each; /* IRPS_EACH or IRPS_EACH_WATCHED */
static KEVENT requesters_done[REQUESTERS];

static void CompleteDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    PEXT ext = ((PDEVICE_OBJECT)Context)->DeviceExtension;
    for (;;) {
        KeAcquireSpinLockAtDpcLevel(&ext->Lock);
        PLIST_ENTRY e = IsListEmpty(&ext->Queue) ? NULL : RemoveHeadList(&ext->Queue);
        if (e != NULL)
            ext->Completed++;
        KeReleaseSpinLockFromDpcLevel(&ext->Lock);
        if (e == NULL)
            return;
        PIRP irp = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        irp->IoStatus.Status = STATUS_SUCCESS;
        irp->IoStatus.Information = 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
}

static NTSTATUS BenchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PEXT ext = DeviceObject->DeviceExtension;
    KIRQL old;
    IoMarkIrpPending(Irp);
    KeAcquireSpinLock(&ext->Lock, &old);
    InsertTailList(&ext->Queue, &Irp->Tail.Overlay.ListEntry);
    ext->Submitted++;
    KeReleaseSpinLock(&ext->Lock, old);
    (void)KeInsertQueueDpc(&ext->Dpc, NULL, NULL);
    return STATUS_PENDING;
}

static NTSTATUS BenchDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    dev->Flags |= DO_BUFFERED_IO;
    PEXT ext = dev->DeviceExtension;
    KeInitializeSpinLock(&ext->Lock);
    InitializeListHead(&ext->Queue);
    KeInitializeDpc(&ext->Dpc, CompleteDpc, dev);
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = BenchDeviceControl;
    bench_dev = dev;
    return STATUS_SUCCESS;
}

static void Requester(PVOID Context)
{
    ULONG_PTR index = (ULONG_PTR)Context;
    for (unsigned i = 0; i < irps_each; i++) {
        KEVENT done;
        IO_STATUS_BLOCK iosb;
        ULONG out = 0;
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_BENCH, bench_dev, NULL, 0, &out, sizeof(out),
                                                 FALSE, &done, &iosb);
        if (irp == NULL)
            break;
        if (IoCallDriver(bench_dev, irp) == STATUS_PENDING)
            (void)KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
        if (iosb.Status == STATUS_SUCCESS)
            InterlockedIncrement((volatile LONG *)&irps_done);
    }
    (void)KeSetEvent(&requesters_done[index], IO_NO_INCREMENT, FALSE);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void irp_entry(void *ctx)
{
    kdpc_machine *m = ctx;
    PDRIVER_OBJECT drv;
    if (kdpc_driver_load(m, "benchwext", BenchDriverEntry, &drv) != STATUS_SUCCESS)
        return;
    for (ULONG_PTR r = 0; r < REQUESTERS; r++) {
        HANDLE h;
        KeInitializeEvent(&requesters_done[r], NotificationEvent, FALSE);
        if (PsCreateSystemThread(&h, 0, NULL, NULL, NULL, Requester, (PVOID)r) == STATUS_SUCCESS)
            ZwClose(h);
    }
    for (unsigned r = 0; r < REQUESTERS; r++)
        (void)KeWaitForSingleObject(&requesters_done[r], Executive, KernelMode, FALSE, NULL);
}

static double irps(unsigned cpus, bool watched)
{
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.cpus = cpus;
    cfg.watch_device_extensions = watched;
    cfg.log = NULL;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        bench_broken = 1;
        return 0;
    }
    irps_done = 0;
    irps_each = watched ? IRPS_EACH_WATCHED : IRPS_EACH;
    uint64_t t0 = bench_host_ns();
    kdpc_status st = kdpc_machine_run(m, irp_entry, m);
    uint64_t t1 = bench_host_ns();
    if (st != KDPC_OK || irps_done != (long)(REQUESTERS * irps_each)) {
        fprintf(stderr, "bench_watched_ext: %u CPU(s), watched %d: %s, %ld of %u IRPs\n", cpus,
                (int)watched, kdpc_strerror(st), irps_done, REQUESTERS * irps_each);
        bench_broken = 1;
    }
    if (kdpc_machine_find_violation(m, "sync.unlocked_shared") != NULL) {
        fprintf(stderr, "bench_watched_ext: a false sync.unlocked_shared report\n");
        bench_broken = 1;
    }
    kdpc_machine_destroy(m);
    return (double)(REQUESTERS * irps_each) / ((double)(t1 - t0) / 1e9);
}

static double w1(void)
{
    return irps(1, true);
}
static double u1(void)
{
    return irps(1, false);
}
static double w2(void)
{
    return irps(2, true);
}
static double u2(void)
{
    return irps(2, false);
}

/* Median, min and max of REPS calls of @fn. */
static double measure(double (*fn)(void), double *lo, double *hi)
{
    double v[REPS];
    for (int i = 0; i < REPS; i++)
        v[i] = fn();
    qsort(v, REPS, sizeof(v[0]), bench_cmp_double);
    *lo = v[0];
    *hi = v[REPS - 1];
    return v[REPS / 2];
}

int main(void)
{
    double base = bench_median(bench_dpc_roundtrips_per_second, REPS);
    printf("dpc_roundtrips_per_second: %.0f /s (baseline)\n", base);
    struct {
        const char *name;
        double (*fn)(void);
        double med, lo, hi;
    } f[] = {{"irps_per_second_unwatched_1cpu", u1, 0, 0, 0},
             {"irps_per_second_watched_1cpu", w1, 0, 0, 0},
             {"irps_per_second_unwatched_2cpu", u2, 0, 0, 0},
             {"irps_per_second_watched_2cpu", w2, 0, 0, 0}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        f[i].med = measure(f[i].fn, &f[i].lo, &f[i].hi);
        printf("%s: %.0f /s (spread %.0f-%.0f; %u requesters x %u IRPs)\n", f[i].name, f[i].med,
               f[i].lo, f[i].hi, REQUESTERS, (i % 2) != 0 ? IRPS_EACH_WATCHED : IRPS_EACH);
    }
    printf("ratios:\n");
    double r1 = f[0].med / f[1].med, r2 = f[2].med / f[3].med;
    printf("watched_cost_1cpu (unwatched / watched IRPs per second): %.2f\n", r1);
    printf("watched_cost_2cpu: %.2f\n", r2);
    printf("irp_cost_in_dpc_roundtrips_watched_1cpu: %.1f, unwatched: %.1f\n", base / f[1].med,
           base / f[0].med);
    bool met = r1 <= TARGET && r2 <= TARGET;
    printf("target: watched IRPs cost at most %.1fx unwatched (the default is on when met): %s\n",
           TARGET, met ? "met" : "NOT met");
    return bench_broken;
}
