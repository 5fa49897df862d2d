/* SPDX-License-Identifier: MIT */
/*
 * test_g12_controller.c - guideline G12 (docs/guidelines.md): a driver using a
 * controller object frees it (IoFreeController) before completing the IRP
 * (docs/facts/io.md 5.13-5.15, 4.30).
 *
 * The hardware: one controller with two units (think of a floppy controller
 * with two drives) and one interrupt line. The driver "g12" creates a
 * controller object whose extension holds the controller's registers and
 * interrupt object, and one device object per unit. Each device has its own
 * StartIo queue; StartIo calls IoAllocateController. ControllerControl
 * (which may run at once or later, nested in another device's
 * IoFreeController) programs the controller for its unit through a
 * SynchCritSection and returns KeepObject. The ISR acknowledges the
 * controller and queues the DpcForIsr of the unit that owns it. The DPC
 * takes the result, copies it to SystemBuffer (G16), calls IoFreeController,
 * IoStartNextPacket and IoCompleteRequest, in that order.
 *
 * Two threads keep three reads in flight on each unit, on 1 and 2 CPUs over
 * several seeds: the controller is never held by both units at once, the
 * grants follow the order of the IoAllocateController calls (FIFO), and
 * every read returns its unit's data. The broken twin completes the IRP
 * while it still holds the controller: controller.held, a bug check with
 * code 0 (Windows has none; docs/rules.md). A small deterministic test checks
 * the FIFO queue of three devices at DISPATCH_LEVEL, DeallocateObject, the
 * ControllerControl arguments and the zeroed controller extension.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE   9
#define DIRQL  7
#define NUNIT  2
#define NDEV   3 /* the third device only serves the FIFO test */
#define PER    3 /* reads in flight per unit */
#define NREQ   (NUNIT * PER)
#define NGRANT 32
#define EXT_SZ 40

typedef struct CTRL_EXT {
    PKINTERRUPT Interrupt;
    /* controller registers (touched under the interrupt lock) */
    ULONG HwUnit;
    ULONG HwTag;
    ULONG HwResult;
    LONG HwIntPending;
    /* which device owns the controller (set by ControllerControl) */
    PDEVICE_OBJECT Active;
    ULONG Result; /* ISR-shared: result of the last operation */
} CTRL_EXT, *PCTRL_EXT;

typedef struct DEV_EXT {
    ULONG Unit;
} DEV_EXT, *PDEV_EXT;

static struct {
    BOOLEAN broken;
    unsigned cpus;
    kdpc_machine *m;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev[NDEV];
    PCONTROLLER_OBJECT ctrl;
    NTSTATUS load_status;

    /* requests */
    ULONG out[NREQ];
    IO_STATUS_BLOCK iosb[NREQ];
    KEVENT ev[NREQ];
    NTSTATUS call_ret[NREQ];
    NTSTATUS wait_ret[NREQ];
    KEVENT thread_done[NUNIT];

    /* controller bookkeeping, all at DISPATCH_LEVEL or above */
    KSPIN_LOCK book;  /* guards the bookkeeping below across CPUs */
    KSPIN_LOCK alloc; /* held around IoAllocateController and its log entry */
    int nreq_log, ngrant_log;
    int req_log[NGRANT];   /* unit of each IoAllocateController, in call order */
    int grant_log[NGRANT]; /* unit of each ControllerControl, in run order */
    PDEVICE_OBJECT holder;
    LONG overlap;  /* ControllerControl ran while another unit held the controller */
    LONG in_free;  /* > 0 inside IoFreeController */
    LONG nested;   /* ControllerControl runs inside IoFreeController */
    LONG bad_args; /* ControllerControl got a wrong Irp / MapRegisterBase */
    LONG isr_runs;
    LONG dpc_runs;
    PIRP broken_irp;
    LONG reached_after; /* the broken DPC got past IoCompleteRequest */
    LONG reached_end;

    /* the FIFO test */
    PVOID ext;
    BOOLEAN ext_zero;
    int fifo_n;
    int fifo_order[8];
    int fifo_phase[8];
    PIRP fifo_irp[8];
    PVOID fifo_base[8];
    PVOID fifo_ctx[8];
    KIRQL fifo_irql[8];
    IO_ALLOCATION_ACTION fifo_action[NDEV];
    int phase;
} g;

/* ------------------------------------------------------------------ */
/* The controller hardware                                              */

static BOOLEAN ProgramController(PVOID Context)
{
    PDEVICE_OBJECT dev = Context;
    PCTRL_EXT ce = g.ctrl->ControllerExtension;
    PDEV_EXT de = dev->DeviceExtension;
    PIRP irp = dev->CurrentIrp;
    ce->Active = dev;
    ce->HwUnit = de->Unit;
    ce->HwTag = (ULONG)IoGetCurrentIrpStackLocation(irp)->Parameters.Read.ByteOffset.QuadPart;
    /* the operation completes at once and raises the line */
    ce->HwResult = 0xC0000000u | (ce->HwUnit << 16) | ce->HwTag;
    ce->HwIntPending = 1;
    (void)kdpc_line_assert(g.m, LINE);
    return TRUE;
}

typedef struct TAKE {
    PCTRL_EXT ce;
    ULONG result;
} TAKE;

/* The DPC reads ISR-shared context in a SynchCritSection (G1). */
static BOOLEAN TakeResult(PVOID Context)
{
    TAKE *tk = Context;
    tk->result = tk->ce->Result;
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* The driver                                                           */

static void book_lock(KIRQL *old)
{
    KeAcquireSpinLock(&g.book, old);
}

static IO_ALLOCATION_ACTION G12ControllerControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                 PVOID MapRegisterBase, PVOID Context)
{
    (void)Context;
    PDEV_EXT de = DeviceObject->DeviceExtension;
    KIRQL old;
    book_lock(&old);
    if (g.holder != NULL)
        g.overlap++;
    g.holder = DeviceObject;
    if (g.ngrant_log < NGRANT)
        g.grant_log[g.ngrant_log++] = (int)de->Unit;
    if (g.in_free > 0)
        g.nested++;
    if (Irp != DeviceObject->CurrentIrp || Irp == NULL || MapRegisterBase != NULL)
        g.bad_args++;
    KeReleaseSpinLock(&g.book, old);
    PCTRL_EXT ce = g.ctrl->ControllerExtension;
    (void)KeSynchronizeExecution(ce->Interrupt, ProgramController, DeviceObject); /* G1 */
    return KeepObject; /* the DPC finishes the operation (5.15) */
}

static BOOLEAN G12Isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PCTRL_EXT ce = ServiceContext;
    if (ce->HwIntPending == 0)
        return FALSE;
    ce->HwIntPending = 0; /* acknowledge */
    ce->Result = ce->HwResult;
    g.isr_runs++;
    IoRequestDpc(ce->Active, ce->Active->CurrentIrp, NULL);
    return TRUE;
}

static void G12DpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    (void)Context;
    PCTRL_EXT ce = g.ctrl->ControllerExtension;
    InterlockedIncrement(&g.dpc_runs);
    TAKE tk;
    tk.ce = ce;
    tk.result = 0;
    (void)KeSynchronizeExecution(ce->Interrupt, TakeResult, &tk);
    ULONG result = tk.result;
    PIRP irp = DeviceObject->CurrentIrp;
    if (irp == NULL || irp != Irp)
        return;
    *(PULONG)irp->AssociatedIrp.SystemBuffer = result; /* G16 */
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = sizeof(ULONG);
    if (g.broken) {
        /* broken: completes first, frees the controller afterwards */
        g.broken_irp = irp;
        IoStartNextPacket(DeviceObject, FALSE);
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        g.reached_after = 1;
        IoFreeController(g.ctrl);
        return;
    }
    KIRQL old;
    book_lock(&old);
    g.holder = NULL;
    g.in_free++;
    KeReleaseSpinLock(&g.book, old);
    IoFreeController(g.ctrl); /* G12: before completing; the next unit may start inside */
    book_lock(&old);
    g.in_free--;
    KeReleaseSpinLock(&g.book, old);
    IoStartNextPacket(DeviceObject, FALSE); /* G6 */
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void G12StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)Irp;
    PDEV_EXT de = DeviceObject->DeviceExtension;
    /* the test's own lock makes the log order the order of the calls */
    KeAcquireSpinLockAtDpcLevel(&g.alloc);
    if (g.nreq_log < NGRANT)
        g.req_log[g.nreq_log++] = (int)de->Unit;
    IoAllocateController(g.ctrl, DeviceObject, G12ControllerControl, NULL);
    KeReleaseSpinLockFromDpcLevel(&g.alloc);
}

static NTSTATUS G12Read(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    if (sl->Parameters.Read.Length < sizeof(ULONG)) {
        Irp->IoStatus.Status = STATUS_INVALID_PARAMETER;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_INVALID_PARAMETER;
    }
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, NULL);
    return STATUS_PENDING;
}

static void G12Unload(PDRIVER_OBJECT DriverObject)
{
    PCTRL_EXT ce = g.ctrl->ControllerExtension;
    IoDisconnectInterrupt(ce->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteController(g.ctrl);
    while (DriverObject->DeviceObject != NULL)
        IoDeleteDevice(DriverObject->DeviceObject);
}

static NTSTATUS G12DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    g.ctrl = IoCreateController(sizeof(CTRL_EXT));
    if (g.ctrl == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    PCTRL_EXT ce = g.ctrl->ControllerExtension;
    for (ULONG u = 0; u < NDEV; u++) {
        NTSTATUS st = IoCreateDevice(DriverObject, sizeof(DEV_EXT), NULL, FILE_DEVICE_UNKNOWN, 0,
                                     FALSE, &g.dev[u]);
        if (!NT_SUCCESS(st))
            return st;
        g.dev[u]->Flags |= DO_BUFFERED_IO;
        ((PDEV_EXT)g.dev[u]->DeviceExtension)->Unit = u;
        IoInitializeDpcRequest(g.dev[u], G12DpcForIsr); /* G18 */
    }
    DriverObject->MajorFunction[IRP_MJ_READ] = G12Read;
    DriverObject->DriverStartIo = G12StartIo;
    DriverObject->DriverUnload = G12Unload;
    KAFFINITY mask = (KAFFINITY)((1u << g.cpus) - 1u);
    return IoConnectInterrupt(&ce->Interrupt, G12Isr, ce, NULL, LINE, DIRQL, DIRQL, Latched, FALSE,
                              mask, FALSE);
}

/* ------------------------------------------------------------------ */
/* The requesters                                                       */

static void Requester(PVOID Context)
{
    int u = (int)(uintptr_t)Context;
    for (int k = 0; k < PER; k++) {
        int i = u * PER + k;
        g.out[i] = 0xEEEEEEEEu;
        g.iosb[i].Status = (NTSTATUS)0x12345678L;
        KeInitializeEvent(&g.ev[i], NotificationEvent, FALSE);
        LARGE_INTEGER off;
        off.QuadPart = i + 1; /* the tag */
        PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, g.dev[u], &g.out[i], sizeof(ULONG),
                                                &off, &g.ev[i], &g.iosb[i]);
        if (irp == NULL)
            continue;
        g.call_ret[i] = IoCallDriver(g.dev[u], irp);
    }
    for (int k = 0; k < PER; k++) {
        int i = u * PER + k;
        LARGE_INTEGER timeout;
        timeout.QuadPart = -10LL * 1000 * 1000;
        g.wait_ret[i] = KeWaitForSingleObject(&g.ev[i], Executive, KernelMode, FALSE, &timeout);
    }
    KeSetEvent(&g.thread_done[u], IO_NO_INCREMENT, FALSE);
}

static void TestEntry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&g.book);
    KeInitializeSpinLock(&g.alloc);
    g.load_status = kdpc_driver_load(g.m, "g12", G12DriverEntry, &g.drv);
    if (!NT_SUCCESS(g.load_status))
        return;
    HANDLE h[NUNIT];
    for (int u = 0; u < NUNIT; u++) {
        KeInitializeEvent(&g.thread_done[u], NotificationEvent, FALSE);
        (void)PsCreateSystemThread(&h[u], 0, NULL, NULL, NULL, Requester, (PVOID)(uintptr_t)u);
    }
    for (int u = 0; u < NUNIT; u++) {
        (void)KeWaitForSingleObject(&g.thread_done[u], Executive, KernelMode, FALSE, NULL);
        (void)ZwClose(h[u]);
    }
    (void)kdpc_driver_unload(g.drv);
    g.reached_end = 1;
}

static kdpc_machine *setup(BOOLEAN broken, unsigned cpus, uint64_t seed)
{
    memset(&g, 0, sizeof g);
    g.broken = broken;
    g.cpus = cpus;
    kdpc_machine *m = kt_machine(cpus, seed);
    g.m = m;
    KDPC_NAME(m, G12Isr);
    KDPC_NAME(m, G12DpcForIsr);
    KDPC_NAME(m, G12StartIo);
    KDPC_NAME(m, G12ControllerControl);
    return m;
}

static void check_correct_run(kdpc_machine *m, kdpc_status st)
{
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(g.load_status, STATUS_SUCCESS);
    assert_int_equal(g.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    for (int i = 0; i < NREQ; i++) {
        ULONG unit = (ULONG)(i / PER);
        assert_int_equal(g.call_ret[i], STATUS_PENDING);
        assert_int_equal(g.wait_ret[i], STATUS_SUCCESS);
        assert_int_equal(g.iosb[i].Status, STATUS_SUCCESS);
        assert_int_equal(g.iosb[i].Information, sizeof(ULONG));
        assert_int_equal(g.out[i], 0xC0000000u | (unit << 16) | (ULONG)(i + 1));
    }
    /* one grant per request, never two holders */
    assert_int_equal(g.nreq_log, NREQ);
    assert_int_equal(g.ngrant_log, NREQ);
    assert_int_equal(g.overlap, 0);
    assert_int_equal(g.bad_args, 0);
    /* FIFO: grants in the order IoAllocateController was called */
    for (int k = 0; k < NREQ; k++)
        assert_int_equal(g.grant_log[k], g.req_log[k]);
    assert_int_equal(g.isr_runs, NREQ);
}

static void test_two_units_share_the_controller_fifo_across_seeds_and_cpus(void **state)
{
    (void)state;
    LONG nested_total = 0;
    int switches = 0;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        for (uint64_t seed = 1; seed <= 6; seed++) {
            kdpc_machine *m = setup(FALSE, cpus, seed);
            kdpc_status st = kdpc_machine_run(m, TestEntry, NULL);
            check_correct_run(m, st);
            nested_total += g.nested;
            for (int k = 1; k < g.ngrant_log; k++)
                if (g.grant_log[k] != g.grant_log[k - 1])
                    switches++;
            kdpc_machine_destroy(m);
        }
    }
    /* the second unit really waited: its ControllerControl ran inside the first's
     * IoFreeController, and the controller went back and forth between the units */
    assert_true(nested_total > 0);
    assert_true(switches > 0);
}

static void test_completing_while_holding_the_controller_bugchecks_code_0(void **state)
{
    (void)state;
    for (unsigned cpus = 1; cpus <= 2; cpus++) {
        kdpc_machine *m = setup(TRUE, cpus, 3);
        kdpc_status st = kdpc_machine_run(m, TestEntry, NULL);
        KT_ASSERT_BUGCHECK(m, st, "controller.held", 0);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_int_equal(bc->params[0], (uint64_t)(uintptr_t)g.ctrl);
        assert_int_equal(bc->params[1], (uint64_t)(uintptr_t)g.broken_irp);
        assert_non_null(g.broken_irp);
        assert_int_equal(g.reached_after, 0); /* stopped at IoCompleteRequest */
        assert_int_equal(g.reached_end, 0);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* 5.13-5.14 at DISPATCH_LEVEL: FIFO of three devices, DeallocateObject   */

static IO_ALLOCATION_ACTION FifoControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                        PVOID MapRegisterBase, PVOID Context)
{
    int u = (int)((PDEV_EXT)DeviceObject->DeviceExtension)->Unit;
    if (g.fifo_n < 8) {
        g.fifo_order[g.fifo_n] = u;
        g.fifo_phase[g.fifo_n] = g.phase;
        g.fifo_irp[g.fifo_n] = Irp;
        g.fifo_base[g.fifo_n] = MapRegisterBase;
        g.fifo_ctx[g.fifo_n] = Context;
        g.fifo_irql[g.fifo_n] = KeGetCurrentIrql();
    }
    g.fifo_n++;
    return g.fifo_action[u];
}

static void FifoEntry(void *ctx)
{
    (void)ctx;
    g.load_status = kdpc_driver_load(g.m, "g12", G12DriverEntry, &g.drv);
    if (!NT_SUCCESS(g.load_status))
        return;
    PCONTROLLER_OBJECT k = IoCreateController(EXT_SZ);
    if (k == NULL)
        return;
    g.ext = k->ControllerExtension;
    g.ext_zero = g.ext != NULL;
    for (int i = 0; g.ext != NULL && i < EXT_SZ; i++)
        if (((PUCHAR)g.ext)[i] != 0)
            g.ext_zero = FALSE;
    if (g.ext != NULL)
        memset(g.ext, 0xAB, EXT_SZ); /* writable, all of it */
    PIRP irps[NDEV];
    for (int u = 0; u < NDEV; u++) {
        irps[u] = IoAllocateIrp(1, FALSE);
        g.dev[u]->CurrentIrp = irps[u]; /* as IoStartPacket leaves it */
    }
    g.fifo_action[0] = KeepObject;
    g.fifo_action[1] = KeepObject;
    g.fifo_action[2] = DeallocateObject;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    g.phase = 1;
    IoAllocateController(k, g.dev[0], FifoControl, (PVOID)(uintptr_t)100); /* runs now */
    g.phase = 2;
    IoAllocateController(k, g.dev[2], FifoControl, (PVOID)(uintptr_t)102); /* queued */
    g.phase = 3;
    IoAllocateController(k, g.dev[1], FifoControl, (PVOID)(uintptr_t)101); /* queued */
    g.phase = 4;
    IoFreeController(k); /* device 2 runs inside, returns DeallocateObject: device 1 runs too */
    g.phase = 5;
    IoFreeController(k); /* device 1 frees it: free again */
    g.phase = 6;
    g.fifo_action[0] = DeallocateObject;
    IoAllocateController(k, g.dev[0], FifoControl, NULL); /* free: runs now */
    g.phase = 7;
    g.fifo_action[1] = DeallocateObject;
    IoAllocateController(k, g.dev[1], FifoControl, NULL); /* DeallocateObject freed it: runs */
    g.phase = 0;
    KeLowerIrql(old);
    for (int u = 0; u < NDEV; u++) {
        g.dev[u]->CurrentIrp = NULL;
        if (irps[u] != NULL)
            IoFreeIrp(irps[u]);
    }
    IoDeleteController(k);
    (void)kdpc_driver_unload(g.drv);
    g.reached_end = 1;
}

static void test_allocate_controller_fifo_and_deallocate_object_at_dispatch(void **state)
{
    (void)state;
    kdpc_machine *m = setup(FALSE, 2, 7);
    KDPC_NAME(m, FifoControl);
    kdpc_status st = kdpc_machine_run(m, FifoEntry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(g.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_non_null(g.ext);
    assert_true(g.ext_zero); /* 5.13: zeroed extension */
    assert_int_equal(g.fifo_n, 5);
    static const int order[5] = {0, 2, 1, 0, 1};
    static const int phase[5] = {1, 4, 4, 6, 7};
    for (int k = 0; k < 5; k++) {
        assert_int_equal(g.fifo_order[k], order[k]);
        assert_int_equal(g.fifo_phase[k], phase[k]);
        assert_null(g.fifo_base[k]); /* MapRegisterBase is NULL */
        assert_int_equal(g.fifo_irql[k], DISPATCH_LEVEL);
        assert_non_null(g.fifo_irp[k]); /* Dev->CurrentIrp */
    }
    assert_ptr_equal(g.fifo_ctx[0], (PVOID)100);
    assert_ptr_equal(g.fifo_ctx[1], (PVOID)102);
    assert_ptr_equal(g.fifo_ctx[2], (PVOID)101);
    assert_ptr_not_equal(g.fifo_irp[1], g.fifo_irp[2]);
    assert_ptr_equal(g.fifo_irp[0], g.fifo_irp[3]);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_units_share_the_controller_fifo_across_seeds_and_cpus),
        cmocka_unit_test(test_completing_while_holding_the_controller_bugchecks_code_0),
        cmocka_unit_test(test_allocate_controller_fifo_and_deallocate_object_at_dispatch),
    };
    return cmocka_run_group_tests_name("g12_controller", tests, NULL, NULL);
}
