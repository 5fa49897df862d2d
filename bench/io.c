/* SPDX-License-Identifier: MIT */
/*
 * bench_io - host cost of the I/O path (issue 4's figures), in one run.
 * Each figure is the median of REPS repetitions on the host monotonic clock.
 *
 *   irps_per_second_1cpu / _4cpu
 *       REQUESTERS system threads each send IRPS_EACH METHOD_BUFFERED IOCTLs
 *       one after the other (IoBuildDeviceIoControlRequest, IoCallDriver,
 *       wait on the IRP's event), so REQUESTERS IRPs are in flight. Every
 *       IRP goes dispatch -> IoStartPacket -> StartIo -> KeSynchronizeExecution
 *       programs the virtual device -> interrupt -> ISR -> IoRequestDpc ->
 *       DpcForIsr -> IoStartNextPacket + IoCompleteRequest -> the
 *       requester's event. IRPs completed per host second, on a 1-CPU and a
 *       4-CPU machine.
 *   dma_bytes_per_second
 *       DMA_TOTAL bytes in DMA_CHUNK transfers through one bus-master
 *       adapter: AllocateAdapterChannel, then MapTransfer pieces (at most
 *       the map registers allocated each), the "device" copies each piece
 *       through kdpc_dma_host_address(), FlushAdapterBuffers per piece,
 *       DeallocateObject. Bytes moved per host second.
 *   baselines, measured in the same run
 *       dpc_roundtrips_per_second: KeInsertQueueDpc at PASSIVE_LEVEL;
 *       memcpy_bytes_per_second: host memcpy of the same chunks.
 * Ratios: one IRP in DPC round trips; DMA throughput as a fraction of memcpy.
 *
 *   verifier cost (issue 11)
 *       the 1-CPU IRP run and the DPC round trip with every Driver Verifier option on (all
 *       but low resources simulation, which fails IRPs on purpose) against the same run with
 *       every option off, and against one with every switchable rule off as well. The runs
 *       alternate, REPS pairs; printed: the median of the per-pair ratios (host time on /
 *       host time off) and their spread. Target: all options on <= 1.5x off on the IRP path.
 *
 * A measurement, not a test: the exit status is 0 unless a run failed.
 */
#include <string.h>

#include <kdpc/driver.h>

#include "bench.h"

#define REPS        5
#define REQUESTERS  4u
#define IRPS_EACH   2500u
#define LINE        5
#define DIRQL       5
#define IOCTL_BENCH CTL_CODE(FILE_DEVICE_UNKNOWN, 0x820, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define DMA_CHUNK   (256u * 1024u)
#define DMA_TOTAL   (256u * 1024u * 1024u)
#define DPCS        2000000u

/* ------------------------------------------------------------------ */
/* IRPs through StartIo, the ISR and the DpcForIsr                     */

typedef struct EXT {
    PKINTERRUPT Interrupt;
    LONG HwPending; /* the device's interrupt-pending register */
} EXT, *PEXT;

static kdpc_machine *irp_machine;
static PDEVICE_OBJECT irp_dev;
static volatile long irps_done;

static BOOLEAN Program(PVOID Context)
{
    PEXT ext = Context;
    ext->HwPending = 1;
    (void)kdpc_line_assert(irp_machine, LINE);
    return TRUE;
}

static BOOLEAN BenchIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PEXT ext = dev->DeviceExtension;
    if (ext->HwPending == 0)
        return FALSE;
    ext->HwPending = 0;
    IoRequestDpc(dev, dev->CurrentIrp, NULL);
    return TRUE;
}

static void BenchDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Context;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = sizeof(ULONG);
    *(PULONG)Irp->AssociatedIrp.SystemBuffer = 0x600d;
    IoStartNextPacket(DeviceObject, FALSE);
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static void BenchStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)Irp;
    PEXT ext = DeviceObject->DeviceExtension;
    (void)KeSynchronizeExecution(ext->Interrupt, Program, ext);
}

static NTSTATUS BenchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, NULL);
    return STATUS_PENDING;
}

static void BenchUnload(PDRIVER_OBJECT DriverObject)
{
    PEXT ext = DriverObject->DeviceObject->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
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
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = BenchDeviceControl;
    DriverObject->DriverStartIo = BenchStartIo;
    DriverObject->DriverUnload = BenchUnload;
    IoInitializeDpcRequest(dev, BenchDpcForIsr);
    st = IoConnectInterrupt(&ext->Interrupt, BenchIsr, dev, NULL, LINE, DIRQL, DIRQL, Latched,
                            FALSE, 0xF, FALSE);
    if (!NT_SUCCESS(st)) {
        IoDeleteDevice(dev);
        return st;
    }
    irp_dev = dev;
    return STATUS_SUCCESS;
}

static KEVENT requesters_done[REQUESTERS];

static void Requester(PVOID Context)
{
    unsigned id = (unsigned)(uintptr_t)Context;
    ULONG in = id, out = 0;
    IO_STATUS_BLOCK iosb;
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    for (unsigned i = 0; i < IRPS_EACH; i++) {
        KeClearEvent(&ev);
        PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_BENCH, irp_dev, &in, sizeof in, &out,
                                                 sizeof out, FALSE, &ev, &iosb);
        if (irp == NULL)
            break;
        if (IoCallDriver(irp_dev, irp) == STATUS_PENDING)
            (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
        if (iosb.Status == STATUS_SUCCESS && out == 0x600d)
            InterlockedIncrement((volatile LONG *)&irps_done);
        out = 0;
    }
    KeSetEvent(&requesters_done[id], IO_NO_INCREMENT, FALSE);
}

static void irp_entry(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(irp_machine, "benchio", BenchDriverEntry, &drv)))
        return;
    for (unsigned i = 0; i < REQUESTERS; i++) {
        KeInitializeEvent(&requesters_done[i], NotificationEvent, FALSE);
        HANDLE h;
        if (!NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Requester,
                                             (PVOID)(uintptr_t)i)))
            continue;
        ZwClose(h);
    }
    for (unsigned i = 0; i < REQUESTERS; i++)
        (void)KeWaitForSingleObject(&requesters_done[i], Executive, KernelMode, FALSE, NULL);
    (void)kdpc_driver_unload(drv);
}

static double bench_irps(unsigned cpus)
{
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.cpus = cpus;
    cfg.log = NULL;
    irp_machine = kdpc_machine_create(&cfg);
    if (irp_machine == NULL) {
        bench_broken = 1;
        return 0;
    }
    bench_setup_machine(irp_machine);
    irps_done = 0;
    uint64_t t0 = bench_host_ns();
    kdpc_status st = kdpc_machine_run(irp_machine, irp_entry, NULL);
    uint64_t t1 = bench_host_ns();
    if (st != KDPC_OK || irps_done != (long)(REQUESTERS * IRPS_EACH)) {
        fprintf(stderr, "bench_io: IRP run on %u CPU(s): %s, %ld of %u IRPs\n", cpus,
                kdpc_strerror(st), irps_done, REQUESTERS * IRPS_EACH);
        bench_broken = 1;
    }
    kdpc_machine_destroy(irp_machine);
    irp_machine = NULL;
    return (double)(REQUESTERS * IRPS_EACH) / ((double)(t1 - t0) / 1e9);
}

static double bench_irps_1(void)
{
    return bench_irps(1);
}

static double bench_irps_4(void)
{
    return bench_irps(4);
}

/* ------------------------------------------------------------------ */
/* DMA through MapTransfer                                             */

static unsigned char *dma_src, *dma_dev_mem;
static PDMA_ADAPTER dma_adapter;
static ULONG dma_regs;
static PMDL dma_mdl;
static volatile unsigned long long dma_moved;
static kdpc_machine *dma_machine;

static IO_ALLOCATION_ACTION DmaControl(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID MapRegisterBase,
                                       PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    ULONG offset = (ULONG)(uintptr_t)Context;
    PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(dma_mdl) + offset;
    ULONG left = DMA_CHUNK;
    while (left > 0) {
        ULONG len = left;
        PHYSICAL_ADDRESS la = dma_adapter->DmaOperations->MapTransfer(
            dma_adapter, dma_mdl, MapRegisterBase, va, &len, TRUE);
        void *host = kdpc_dma_host_address(dma_machine, (uint64_t)la.QuadPart, len);
        if (host == NULL || len == 0) {
            bench_broken = 1;
            break;
        }
        memcpy(dma_dev_mem + (va - (PUCHAR)MmGetMdlVirtualAddress(dma_mdl)), host, len);
        (void)dma_adapter->DmaOperations->FlushAdapterBuffers(dma_adapter, dma_mdl, MapRegisterBase,
                                                              va, len, TRUE);
        dma_moved += len;
        va += len;
        left -= len;
    }
    return DeallocateObject;
}

static NTSTATUS DmaDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = DMA_CHUNK;
    dma_adapter = IoGetDmaAdapter(dev, &dd, &dma_regs);
    return dma_adapter != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

static void dma_entry(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(dma_machine, "benchdma", DmaDriverEntry, &drv)))
        return;
    dma_mdl = IoAllocateMdl(dma_src, DMA_CHUNK * 4u, FALSE, FALSE, NULL);
    if (dma_mdl == NULL)
        return;
    MmBuildMdlForNonPagedPool(dma_mdl);
    for (unsigned long long done = 0; done < DMA_TOTAL; done += DMA_CHUNK) {
        ULONG offset = (ULONG)(done % (DMA_CHUNK * 4u));
        KIRQL old = KeRaiseIrqlToDpcLevel();
        (void)dma_adapter->DmaOperations->AllocateAdapterChannel(
            dma_adapter, drv->DeviceObject, dma_regs, DmaControl, (PVOID)(uintptr_t)offset);
        KeLowerIrql(old);
    }
    IoFreeMdl(dma_mdl);
    dma_adapter->DmaOperations->PutDmaAdapter(dma_adapter);
    IoDeleteDevice(drv->DeviceObject);
}

static double bench_dma(void)
{
    kdpc_config cfg;
    bench_config_init(&cfg);
    cfg.log = NULL;
    dma_machine = kdpc_machine_create(&cfg);
    if (dma_machine == NULL) {
        bench_broken = 1;
        return 0;
    }
    dma_moved = 0;
    uint64_t t0 = bench_host_ns();
    kdpc_status st = kdpc_machine_run(dma_machine, dma_entry, NULL);
    uint64_t t1 = bench_host_ns();
    if (st != KDPC_OK || dma_moved != DMA_TOTAL ||
        memcmp(dma_src, dma_dev_mem, DMA_CHUNK * 4u) != 0) {
        fprintf(stderr, "bench_io: DMA run: %s, %llu of %u bytes\n", kdpc_strerror(st), dma_moved,
                DMA_TOTAL);
        bench_broken = 1;
    }
    kdpc_machine_destroy(dma_machine);
    dma_machine = NULL;
    return (double)DMA_TOTAL / ((double)(t1 - t0) / 1e9);
}

static double bench_memcpy(void)
{
    uint64_t t0 = bench_host_ns();
    for (unsigned long long done = 0; done < DMA_TOTAL; done += DMA_CHUNK) {
        size_t offset = (size_t)(done % (DMA_CHUNK * 4u));
        memcpy(dma_dev_mem + offset, dma_src + offset, DMA_CHUNK);
        __asm__ volatile("" ::: "memory"); /* keep every copy */
    }
    uint64_t t1 = bench_host_ns();
    return (double)DMA_TOTAL / ((double)(t1 - t0) / 1e9);
}

/* Median and spread of REPS ratios rate(off) / rate(on) = host time on / host time off, the
 * runs of each pair back to back so that drift of the host hits both. */
static double verifier_ratio(const char *name, double (*fn)(void), bench_checks off)
{
    double r[REPS];
    for (int i = 0; i < REPS; i++) {
        bench_check_mode = BENCH_CHECKS_ALL;
        double on = fn();
        bench_check_mode = off;
        double offr = fn();
        r[i] = on > 0 ? offr / on : 0;
    }
    bench_check_mode = BENCH_CHECKS_DEFAULT;
    qsort(r, REPS, sizeof(r[0]), bench_cmp_double);
    printf("%s: %.2f (spread %.2f-%.2f)\n", name, r[REPS / 2], r[0], r[REPS - 1]);
    return r[REPS / 2];
}

int main(void)
{
    dma_src = malloc(DMA_CHUNK * 4u);
    dma_dev_mem = malloc(DMA_CHUNK * 4u);
    if (dma_src == NULL || dma_dev_mem == NULL)
        return 1;
    for (size_t i = 0; i < DMA_CHUNK * 4u; i++)
        dma_src[i] = (unsigned char)(i * 131u + 7u);
    double base = bench_median(bench_dpc_roundtrips_per_second, REPS);
    double copy = bench_median(bench_memcpy, REPS);
    double irps1 = bench_median(bench_irps_1, REPS);
    double irps4 = bench_median(bench_irps_4, REPS);
    memset(dma_dev_mem, 0, DMA_CHUNK * 4u);
    double dma = bench_median(bench_dma, REPS);
    printf("dpc_roundtrips_per_second: %.0f /s (baseline)\n", base);
    printf("memcpy_bytes_per_second: %.0f B/s (baseline)\n", copy);
    printf("irps_per_second_1cpu: %.0f /s (%u requesters x %u IRPs)\n", irps1, REQUESTERS,
           IRPS_EACH);
    printf("irps_per_second_4cpu: %.0f /s\n", irps4);
    printf("dma_bytes_per_second: %.0f B/s (%u-byte transfers, %lu map registers)\n", dma,
           DMA_CHUNK, (unsigned long)dma_regs);
    printf("ratios:\n");
    printf("irp_cost_in_dpc_roundtrips_1cpu: %.1f\n", base / irps1);
    printf("irp_cost_in_dpc_roundtrips_4cpu: %.1f\n", base / irps4);
    printf("irps_4cpu_over_1cpu: %.2f\n", irps4 / irps1);
    printf("dma_over_memcpy: %.3f\n", dma / copy);
    printf("verifier cost, host time with every option on / off (median of %d pairs):\n", REPS);
    double irp_on_off = verifier_ratio("irp_path_1cpu_all_options_over_none", bench_irps_1,
                                       BENCH_CHECKS_NO_CLASSES);
    (void)verifier_ratio("irp_path_1cpu_all_options_over_no_checks", bench_irps_1,
                         BENCH_CHECKS_NONE);
    (void)verifier_ratio("dpc_roundtrip_all_options_over_none", bench_dpc_roundtrips_per_second,
                         BENCH_CHECKS_NO_CLASSES);
    printf("target: irp_path_1cpu_all_options_over_none <= 1.5: %s\n",
           irp_on_off <= 1.5 ? "met" : "NOT met");
    free(dma_src);
    free(dma_dev_mem);
    return bench_broken;
}
