/* SPDX-License-Identifier: MIT */
/*
 * hello_dpc - the smallest DpcForIsr story on a 2-CPU machine.
 *
 * DriverEntry creates a device, binds its DpcForIsr with
 * IoInitializeDpcRequest and connects an ISR to line 5 (both CPUs may take
 * it). The test thread asserts the line three times; each time an ISR runs
 * on some CPU at its DIRQL, acknowledges the device and queues the DPC with
 * IoRequestDpc; the DPC runs later at DISPATCH_LEVEL. Every routine prints
 * where it ran and at which IRQL. Run it with another seed
 * (hello_dpc 7) to see another interleaving.
 */
#include <stdio.h>
#include <stdlib.h>

#include <kdpc/driver.h>
#include <kdpc/kdpc.h>
#include <wdm.h>

#define LINE 5

typedef struct DEVICE_EXTENSION {
    PKINTERRUPT Interrupt;
    PDEVICE_OBJECT Self;
    LONG InterruptsServiced;
    LONG DpcsRun;
    ULONG PendingWork;            /* set by the ISR, taken by the DPC in a SynchCritSection */
    LONG volatile StatusRegister; /* the "device": 1 = I raised the interrupt */
} DEVICE_EXTENSION, *PDEVICE_EXTENSION;

static kdpc_machine *machine;

static BOOLEAN HelloIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    PDEVICE_EXTENSION ext = dev->DeviceExtension;
    if (InterlockedExchange(&ext->StatusRegister, 0) == 0)
        return FALSE; /* not our device */
    ext->PendingWork++;
    ext->InterruptsServiced++;
    printf("  [%8.3f us] ISR        on CPU %lu at IRQL %u: interrupt #%ld, queueing DpcForIsr\n",
           (double)kdpc_machine_time_ns(machine) / 1000.0,
           (unsigned long)KeGetCurrentProcessorNumber(), (unsigned)KeGetCurrentIrql(),
           (long)ext->InterruptsServiced);
    IoRequestDpc(dev, NULL, NULL);
    return TRUE;
}

static BOOLEAN TakeWork(PVOID Context)
{
    PDEVICE_EXTENSION ext = Context;
    ULONG n = ext->PendingWork;
    ext->PendingWork = 0;
    return n != 0;
}

static void HelloDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Irp;
    (void)Context;
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    BOOLEAN had = KeSynchronizeExecution(ext->Interrupt, TakeWork, ext);
    ext->DpcsRun++;
    printf("  [%8.3f us] DpcForIsr  on CPU %lu at IRQL %u: run #%ld, work %s\n",
           (double)kdpc_machine_time_ns(machine) / 1000.0,
           (unsigned long)KeGetCurrentProcessorNumber(), (unsigned)KeGetCurrentIrql(),
           (long)ext->DpcsRun, had ? "found" : "already taken (requests coalesced)");
}

static NTSTATUS HelloDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st = IoCreateDevice(DriverObject, sizeof(DEVICE_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
                                 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    PDEVICE_EXTENSION ext = dev->DeviceExtension;
    ext->Self = dev;
    IoInitializeDpcRequest(dev, HelloDpcForIsr);
    st = IoConnectInterrupt(&ext->Interrupt, HelloIsr, dev, NULL, LINE, 5, 5, Latched, FALSE, 0x3,
                            FALSE);
    if (!NT_SUCCESS(st))
        IoDeleteDevice(dev);
    return st;
}

static void HelloUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_EXTENSION ext = DriverObject->DeviceObject->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
}

static void test_thread(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    NTSTATUS st = kdpc_driver_load(machine, "hello", HelloDriverEntry, &drv);
    if (!NT_SUCCESS(st)) {
        printf("DriverEntry failed: 0x%08lx\n", (unsigned long)st);
        return;
    }
    drv->DriverUnload = HelloUnload;
    PDEVICE_EXTENSION ext = drv->DeviceObject->DeviceExtension;
    for (int i = 0; i < 3; i++) {
        printf("  [%8.3f us] thread     on CPU %lu at IRQL %u: device raises line %d\n",
               (double)kdpc_machine_time_ns(machine) / 1000.0,
               (unsigned long)KeGetCurrentProcessorNumber(), (unsigned)KeGetCurrentIrql(), LINE);
        InterlockedExchange(&ext->StatusRegister, 1);
        kdpc_line_assert(machine, LINE);
        /* Poll until this interrupt's DPC has run (events come with the timers issue). */
        while (ext->DpcsRun <= i)
            KeStallExecutionProcessor(1);
    }
    kdpc_driver_unload(drv);
}

int main(int argc, char **argv)
{
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    cfg.cpus = 2;
    cfg.seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
    machine = kdpc_machine_create(&cfg);
    if (machine == NULL) {
        perror("kdpc_machine_create");
        return 1;
    }
    KDPC_NAME(machine, HelloIsr);
    KDPC_NAME(machine, HelloDpcForIsr);
    printf("hello_dpc: 2 CPUs, seed %llu\n", (unsigned long long)cfg.seed);
    kdpc_status st = kdpc_machine_run(machine, test_thread, NULL);
    printf("run: %s after %.3f us of virtual time, %zu violation(s)\n", kdpc_strerror(st),
           (double)kdpc_machine_time_ns(machine) / 1000.0, kdpc_machine_violation_count(machine));
    kdpc_machine_destroy(machine);
    return st == KDPC_OK ? 0 : 1;
}
