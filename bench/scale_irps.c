/* SPDX-License-Identifier: MIT */
/*
 * bench_scale_irps - scaling curve of KeFlushIoBuffers (issue 8): its host
 * cost must not grow with the number of outstanding IRPs.
 *
 * A DO_DIRECT_IO device; the "driver" holds N IRPs, never sent: half from
 * IoAllocateIrp with an MDL from IoAllocateMdl(..., Irp) (which sets
 * Irp->MdlAddress), half from IoBuildDeviceIoControlRequest with a
 * METHOD_OUT_DIRECT output buffer (the I/O manager builds the MDL). One
 * operation is KeFlushIoBuffers(Irp->MdlAddress, TRUE, FALSE) of one of
 * WORKING IRPs spread evenly over the N (all N when fewer), in turn: the
 * same working set at every size, so the curve shows what grows with N and
 * not the host's cache misses. `bench_scale_irps --all` cycles over all N
 * instead (at 100k that is ~50 MB of IRP records: mostly cache misses).
 *
 * Sizes 1, 10, 100, 1k, 10k, 100k outstanding IRPs; each point is the median
 * of REPS machine runs. Target: largest / smallest <= 2 (O(1) in N).
 * A measurement, not a test: the exit status is 0 unless a run failed.
 */
#include <string.h>

#include <kdpc/driver.h>

#include "bench.h"

#define REPS             5
#define TARGET           2.0
#define OPS              20000u
#define WORKING          64u
#define IOCTL_OUT_DIRECT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x821, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)

static const unsigned sizes[] = {1u, 10u, 100u, 1000u, 10000u, 100000u};
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

static kdpc_machine *machine;
static PDEVICE_OBJECT dev;
static unsigned char buffer[4096];

static bool cycle_all;

typedef struct run {
    unsigned n;
    uint64_t ns;
    PIRP *irps;
} run;

static NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS ScaleDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    NTSTATUS st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    dev->Flags |= DO_DIRECT_IO;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = Dispatch;
    return STATUS_SUCCESS;
}

static void flush_entry(void *ctx)
{
    run *r = ctx;
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(machine, "scaleirps", ScaleDriverEntry, &drv))) {
        bench_broken = 1;
        return;
    }
    static IO_STATUS_BLOCK iosb;
    static KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    for (unsigned i = 0; i < r->n; i++) {
        PVOID va = &buffer[(i * 64u) % (sizeof(buffer) - 64u)];
        PIRP irp;
        if (i % 2u == 0) {
            irp = IoAllocateIrp(dev->StackSize, FALSE);
            if (irp != NULL && IoAllocateMdl(va, 64, FALSE, FALSE, irp) == NULL) {
                IoFreeIrp(irp);
                irp = NULL;
            }
        } else {
            irp = IoBuildDeviceIoControlRequest(IOCTL_OUT_DIRECT, dev, NULL, 0, va, 64, FALSE, &ev,
                                                &iosb);
        }
        if (irp == NULL || irp->MdlAddress == NULL) {
            bench_broken = 1;
            return;
        }
        r->irps[i] = irp;
    }
    unsigned w = cycle_all || r->n < WORKING ? r->n : WORKING;
    uint64_t t0 = bench_host_ns();
    for (unsigned i = 0; i < OPS; i++) {
        unsigned k = (unsigned)((uint64_t)(i % w) * r->n / w);
        KeFlushIoBuffers(r->irps[k]->MdlAddress, TRUE, FALSE);
    }
    r->ns = bench_host_ns() - t0;
    /* the driver's own IRPs and MDLs go back; the built ones die with the machine */
    for (unsigned i = 0; i < r->n; i += 2u) {
        IoFreeMdl(r->irps[i]->MdlAddress);
        r->irps[i]->MdlAddress = NULL;
        IoFreeIrp(r->irps[i]);
    }
}

static double flush_at(unsigned n)
{
    run r = {n, 0, calloc(n, sizeof(PIRP))};
    if (r.irps == NULL) {
        bench_broken = 1;
        return 0;
    }
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.log = NULL;
    machine = kdpc_machine_create(&cfg);
    if (machine == NULL) {
        bench_broken = 1;
        free(r.irps);
        return 0;
    }
    kdpc_status st = kdpc_machine_run(machine, flush_entry, &r);
    if (st != KDPC_OK) {
        fprintf(stderr, "bench_scale_irps: run ended with %s\n", kdpc_strerror(st));
        bench_broken = 1;
    }
    kdpc_machine_destroy(machine);
    machine = NULL;
    free(r.irps);
    return (double)r.ns / OPS;
}

int main(int argc, char **argv)
{
    cycle_all = argc > 1 && strcmp(argv[1], "--all") == 0;
    printf("bench_scale_irps: KeFlushIoBuffers host ns per call at 1..100k outstanding IRPs "
           "(flushing %s), median of %d runs\n",
           cycle_all ? "every IRP in turn" : "64 of them in turn", REPS);
    bool ok = bench_curve("flush (KeFlushIoBuffers of one IRP's MDL)", flush_at, sizes, NSIZES,
                          REPS, TARGET, "O(1) in outstanding IRPs");
    printf("bench_scale_irps: target %s\n", ok ? "met" : "NOT met");
    return bench_broken ? 1 : 0;
}
