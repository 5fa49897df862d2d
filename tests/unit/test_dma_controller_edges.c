/* SPDX-License-Identifier: MIT */
/*
 * test_dma_controller_edges.c - edges of DMA adapters and controller
 * objects that once went wrong (io.md 5.1, 5.5, 5.10):
 *
 * 1. IoGetDmaAdapter counts a partial page of MaximumLength as a page:
 *    BYTES_TO_PAGES(MaximumLength) + 1 map registers.
 * 2. An AdapterControl that completes the IRP and returns DeallocateObject
 *    is correct (MSL ne-wdm-_io_allocation_action, io.md 5.5); one that
 *    completes it and keeps the channel (KeepObject) is dma.adapter_held.
 * 3. The same for ControllerControl (controller.held, code 0).
 * 4. kdpc_machine_destroy with a direct-I/O IRP from IoBuild*Request still
 *    alive (e.g. after a bug check) frees it without touching freed memory.
 * 5. PutScatterGatherList twice is dma.double_free (0xE6/0x05), found
 *    without reading the freed list.
 *
 * 4 and 5 run in a forked child so that a crash fails one test, not the
 * executable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kdpc_test.h"

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    PDMA_ADAPTER a;
    PCONTROLLER_OBJECT ctrl;
    BOOLEAN use_controller;
    BOOLEAN keep; /* the broken routine: completes the IRP and returns KeepObject */
    ULONG regs[8];
    LONG control_calls;
    LONG done;
    NTSTATUS done_status;
    PIRP irp;
    LONG reached_end;
} b;

static UCHAR buf[256];

/* ------------------------------------------------------------------ */
/* A StartIo driver whose AdapterControl / ControllerControl completes   */

static IO_ALLOCATION_ACTION CompletingControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                              PVOID MapRegisterBase, PVOID Context)
{
    (void)MapRegisterBase;
    (void)Context;
    b.control_calls++;
    /* e.g. the request turned out to need no transfer: complete it here */
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoStartNextPacket(DeviceObject, FALSE);
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    if (b.keep)
        return KeepObject;   /* broken: the channel / controller outlives its IRP */
    return DeallocateObject; /* as documented for a routine that completes the IRP */
}

static void BugStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)Irp;
    if (b.use_controller)
        IoAllocateController(b.ctrl, DeviceObject, CompletingControl, NULL);
    else
        (void)b.a->DmaOperations->AllocateAdapterChannel(b.a, DeviceObject, 1, CompletingControl,
                                                         NULL);
}

static NTSTATUS BugDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, NULL);
    return STATUS_PENDING;
}

static void BugUnload(PDRIVER_OBJECT Drv)
{
    while (Drv->DeviceObject != NULL)
        IoDeleteDevice(Drv->DeviceObject);
}

static NTSTATUS BugEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->MajorFunction[IRP_MJ_READ] = BugDispatch;
    Drv->DriverStartIo = BugStartIo;
    Drv->DriverUnload = BugUnload;
    NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &b.dev);
    if (NT_SUCCESS(st)) {
        b.dev->Flags |= DO_DIRECT_IO;
        IoSetStartIoAttributes(b.dev, TRUE, FALSE); /* the control routine starts the next */
    }
    return st;
}

static PDMA_ADAPTER adapter(ULONG max_len, PULONG regs)
{
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = max_len;
    return IoGetDmaAdapter(b.dev, &dd, regs);
}

static NTSTATUS OwnerDone(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dev;
    (void)Ctx;
    b.done++;
    b.done_status = Irp->IoStatus.Status;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void body_completing_control(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "bugs", BugEntry, &b.drv)))
        return;
    ULONG regs;
    b.a = adapter(PAGE_SIZE, &regs);
    b.ctrl = IoCreateController(0);
    PIRP irp = IoAllocateIrp(b.dev->StackSize, FALSE);
    if (irp == NULL || b.a == NULL || b.ctrl == NULL)
        return;
    IoSetCompletionRoutine(irp, OwnerDone, NULL, TRUE, TRUE, TRUE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    (void)IoCallDriver(b.dev, irp);
    IoFreeIrp(irp);
    IoDeleteController(b.ctrl);
    b.a->DmaOperations->PutDmaAdapter(b.a);
    (void)kdpc_driver_unload(b.drv);
    b.reached_end = 1;
}

/* 2 */
static void test_adapter_control_may_complete_the_irp_and_return_deallocate_object(void **state)
{
    (void)state;
    memset(&b, 0, sizeof b);
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_status st = kdpc_machine_run(m, body_completing_control, NULL);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    if (bc != NULL)
        print_message("%s 0x%X P1 0x%llX\n", bc->rule, (unsigned)bc->code,
                      (unsigned long long)bc->params[0]);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(b.reached_end, 1);
    assert_int_equal(b.control_calls, 1);
    assert_int_equal(b.done, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* 3 */
static void test_controller_control_may_complete_the_irp_and_return_deallocate_object(void **state)
{
    (void)state;
    memset(&b, 0, sizeof b);
    b.use_controller = TRUE;
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_status st = kdpc_machine_run(m, body_completing_control, NULL);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    if (bc != NULL)
        print_message("%s 0x%X\n", bc->rule, (unsigned)bc->code);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(b.reached_end, 1);
    assert_int_equal(b.control_calls, 1);
    assert_int_equal(b.done, 1);
    kdpc_machine_destroy(m);
}

static void
test_adapter_control_completing_the_irp_and_keeping_the_channel_bugchecks_e6_2a(void **state)
{
    (void)state;
    memset(&b, 0, sizeof b);
    b.keep = TRUE;
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_status st = kdpc_machine_run(m, body_completing_control, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dma.adapter_held", 0xE6);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x2A);
    assert_int_equal(b.control_calls, 1);
    assert_int_equal(b.reached_end, 0);
    kdpc_machine_destroy(m);
}

static void
test_controller_control_completing_the_irp_and_keeping_it_is_controller_held(void **state)
{
    (void)state;
    memset(&b, 0, sizeof b);
    b.keep = TRUE;
    b.use_controller = TRUE;
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_status st = kdpc_machine_run(m, body_completing_control, NULL);
    KT_ASSERT_BUGCHECK(m, st, "controller.held", 0);
    assert_int_equal(b.control_calls, 1);
    assert_int_equal(b.reached_end, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 1                                                                */

static const ULONG lens[] = {1, PAGE_SIZE + 1, 2 * PAGE_SIZE - 1, 5 * PAGE_SIZE + 100};
static const ULONG want[] = {2, 3, 3, 7}; /* BYTES_TO_PAGES(len) + 1 */

static void body_regs(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "bugs", BugEntry, &b.drv)))
        return;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        PDMA_ADAPTER a = adapter(lens[i], &b.regs[i]);
        if (a != NULL)
            a->DmaOperations->PutDmaAdapter(a);
    }
    (void)kdpc_driver_unload(b.drv);
    b.reached_end = 1;
}

static void test_get_dma_adapter_counts_a_partial_page_as_a_page(void **state)
{
    (void)state;
    memset(&b, 0, sizeof b);
    kdpc_machine *m = kt_machine(1, 2);
    assert_int_equal(kdpc_machine_run(m, body_regs, NULL), KDPC_OK);
    assert_int_equal(b.reached_end, 1);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        print_message("MaximumLength %lu -> %lu map registers (expected %lu)\n",
                      (unsigned long)lens[i], (unsigned long)b.regs[i], (unsigned long)want[i]);
    }
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        assert_int_equal(b.regs[i], want[i]); /* actual: 1, 2, 2, 6 */
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 4 and 5: in a child process                                           */

typedef void CHILD(void);

/* Run @fn in a child; return its wait status. */
static int in_child(CHILD *fn)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* cmocka's handlers would catch the crash and go on with the next test */
        static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            (void)signal(sigs[i], SIG_DFL);
        fn();
        _exit(0);
    }
    int status = -1;
    if (pid > 0)
        (void)waitpid(pid, &status, 0);
    return status;
}

static void body_live_direct_irp(void *ctx)
{
    (void)ctx;
    static IO_STATUS_BLOCK iosb;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "bugs", BugEntry, &b.drv)))
        return;
    /* a direct-I/O IRP with an MDL the I/O manager owns, never sent (or stuck when a bug check
     * stops the run) */
    b.irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, b.dev, buf, sizeof buf, NULL, &iosb);
    b.reached_end = b.irp != NULL && b.irp->MdlAddress != NULL;
}

static void child_destroy_with_live_irp(void)
{
    memset(&b, 0, sizeof b);
    kdpc_machine *m = kt_machine(1, 3);
    if (kdpc_machine_run(m, body_live_direct_irp, NULL) != KDPC_OK || !b.reached_end)
        _exit(3);
    kdpc_machine_destroy(m); /* crashes here (use after free) */
}

static void test_destroy_with_a_live_direct_io_irp_does_not_touch_freed_memory(void **state)
{
    (void)state;
    int status = in_child(child_destroy_with_live_irp);
    if (!WIFEXITED(status))
        print_message("kdpc_machine_destroy died with signal %d\n",
                      WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static PSCATTER_GATHER_LIST sg_seen;

static void BugListControl(PDEVICE_OBJECT DeviceObject, PIRP Irp, PSCATTER_GATHER_LIST Sg,
                           PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)Context;
    sg_seen = Sg;
}

static void body_double_put(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "bugs", BugEntry, &b.drv)))
        return;
    ULONG regs;
    b.a = adapter(PAGE_SIZE, &regs);
    PMDL mdl = IoAllocateMdl(buf, sizeof buf, FALSE, FALSE, NULL);
    if (b.a == NULL || mdl == NULL)
        return;
    MmBuildMdlForNonPagedPool(mdl);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    (void)b.a->DmaOperations->GetScatterGatherList(b.a, b.dev, mdl, MmGetMdlVirtualAddress(mdl),
                                                   sizeof buf, BugListControl, NULL, FALSE);
    b.a->DmaOperations->PutScatterGatherList(b.a, sg_seen, FALSE);
    b.a->DmaOperations->PutScatterGatherList(b.a, sg_seen, FALSE); /* driver bug: twice */
    KeLowerIrql(old);
    b.reached_end = 1;
}

static void child_double_put(void)
{
    memset(&b, 0, sizeof b);
    kdpc_machine *m = kt_machine(1, 4);
    kdpc_status st = kdpc_machine_run(m, body_double_put, NULL);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    /* expected: a clean bug check dma.double_free 0xE6/0x06 without reading freed memory */
    if (st != KDPC_BUGCHECK || bc == NULL || strcmp(bc->rule, "dma.double_free") != 0 ||
        bc->code != 0xE6 || bc->params[0] != 0x06)
        _exit(5);
    kdpc_machine_destroy(m);
}

static void test_put_scatter_gather_list_twice_bugchecks_without_reading_freed_memory(void **state)
{
    (void)state;
    int status = in_child(child_double_put);
    if (!WIFEXITED(status))
        print_message("the double PutScatterGatherList check died with signal %d\n",
                      WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    assert_true(WIFEXITED(status)); /* asan: heap-use-after-free in put_sg_list */
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_dma_adapter_counts_a_partial_page_as_a_page),
        cmocka_unit_test(test_adapter_control_may_complete_the_irp_and_return_deallocate_object),
        cmocka_unit_test(test_controller_control_may_complete_the_irp_and_return_deallocate_object),
        cmocka_unit_test(
            test_adapter_control_completing_the_irp_and_keeping_the_channel_bugchecks_e6_2a),
        cmocka_unit_test(
            test_controller_control_completing_the_irp_and_keeping_it_is_controller_held),
        cmocka_unit_test(test_destroy_with_a_live_direct_io_irp_does_not_touch_freed_memory),
        cmocka_unit_test(test_put_scatter_gather_list_twice_bugchecks_without_reading_freed_memory),
    };
    return cmocka_run_group_tests_name("dma_controller_edges", tests, NULL, NULL);
}
