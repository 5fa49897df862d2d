/* SPDX-License-Identifier: MIT */
/*
 * test_io_objects.c - garbage, uninitialised and misused I/O manager objects
 * get the outcome Windows + Driver Verifier give: a bug check report, never a
 * host crash, never silence. Every case runs twice: with the default rules
 * (the bug check, its code, and the object's address where Windows puts it)
 * and with io.* switched to warnings (a warning is recorded, the call returns
 * safely, the run goes on to its end).
 *
 * Outcomes (rule: code, parameters):
 *   X   io.invalid_object: the fault Windows takes reading the object (kdpc
 *       reports before it reads): NULL is 0x1E KMODE_EXCEPTION_NOT_HANDLED
 *       (0xC0000005, the I/O manager routine, 0, NULL); any other address
 *       0x50 PAGE_FAULT_IN_NONPAGED_AREA (the object, 0 read, the routine,
 *       0 freed / 2 never an object); at DISPATCH_LEVEL 0xA
 *       IRQL_NOT_LESS_OR_EQUAL (the object, 2, 0, the routine);
 *   C1  io.invalid_object: 0xC9/0x01 (P2 = object): IoFreeIrp of a non-IRP;
 *   C2  io.invalid_object: 0xC9/0x02 (P2 = IRP): IoFreeIrp of a thread IRP;
 *   C20B io.invalid_object: 0xC9/0x20B (P3 = IRP, P4 = device): IoFreeIrp of a queued IRP;
 *   C3  io.invalid_object: 0xC9/0x03 (P2 = IRP): IoCallDriver, not an IRP;
 *   C4  io.invalid_object: 0xC9/0x04 (P2 = device): IoCallDriver, bad device;
 *   C204 io.invalid_object: 0xC9/0x204 (P3 = IRP): IoCallDriver, NULL device;
 *   C240 io.invalid_object: 0xC9/0x240 (P4 = device): IoDeleteDevice twice;
 *   C201 io.invalid_object: 0xC9/0x201 (P4 = device): deleted while attached;
 *   C202 io.invalid_object: 0xC9/0x202 (P4 = device): IoDetachDevice twice;
 *   P7  io.invalid_object: 0xC2/0x07 (P4 = object): pool freed twice;
 *   P46 io.invalid_object: 0xC2/0x46 (P2 = object): not an allocated block;
 *   D44 io.double_complete: 0x44 (P1 = IRP): completing a freed IRP;
 *   N   io.no_startio: 0xD1 (0, DISPATCH_LEVEL, 8 = execute, 0);
 *   M   io.pending_not_returned: 0xC9/0x23E (P2 = dispatch, P3 = IRP, P4 = device);
 *   S   a documented status or NULL, no bug check (native calls; Windows'
 *       own NULL result).
 *
 * Catalogue (object: NULL / zero-filled / 0xCC-filled / freed / wrong type):
 *   IoCompleteRequest(Irp)            X / X / X / D44 / X
 *   IoFreeIrp(Irp)                    X / C1 / C1 / C1 / C1; thread IRP C2; still queued C20B
 *   IoReuseIrp(Irp)                   X / X / X / X / X
 *   IoCallDriver(Dev, Irp): Irp       X / C3 / C3 / C3 / C3
 *   IoCallDriver(Dev, Irp): Dev       C204 / C4 / C4 / C4 / C4
 *   IoStartPacket: Dev                X / X / X / X / X
 *   IoStartPacket: Irp                X / X / X / X / X
 *   IoStartPacket, driver without StartIo: N
 *   IoStartNextPacket(Dev)            X / X / X / X / X
 *   IoStartNextPacketByKey(Dev)       - / - / X / - / -
 *   IoSetStartIoAttributes(Dev)       X / - / X / X / -
 *   IoDeleteDevice(Dev)               X / X / X / C240 / X; still attached C201; a KTIMER
 *                                     set in its extension: unload.pending 0xCE (P1 = the
 *                                     timer), and as a warning the timer never fires in freed
 *                                     memory
 *   IoCreateDevice(Driver)            S / X / X / X / X
 *   IoInitializeDpcRequest(Dev)       X / - / X / X / -
 *   IoRequestDpc(Dev)                 X / X / - / X / -
 *   IoBuildDeviceIoControlRequest(Dev) X / - / X / X / -
 *   IoBuildSynchronousFsdRequest(Dev) - / X / - / - / -
 *   IoBuildAsynchronousFsdRequest(Dev) - / - / - / - / X
 *   IoAllocateMdl(Irp)                - / - / X / X / -
 *   IoFreeMdl(Mdl)                    X / P46 / - / P7 / P46
 *   MmBuildMdlForNonPagedPool(Mdl)    X / - / - / X / -
 *   MmGetSystemAddressForMdlSafe(Mdl) - / - / X / - / -
 *   IoCancelIrp(Irp)                  X / X / - / X / -
 *   IoAttachDeviceToDeviceStack       Source 0xCC X; Target freed X, NULL X
 *   IoDetachDevice(Dev)               X / - / - / X / -; nothing attached C202
 *   IoAllocateErrorLogEntry(Object)   S (NULL) / S (NULL, as Windows) / - / X / S (NULL)
 *   IoWriteErrorLogEntry(Entry)       - / - / X / X (written twice) / -
 *   IoFreeErrorLogEntry(Entry)        - / P46 / - / P7 / -
 *   IoGetDmaAdapter(Pdo)              - / - / X / - / -
 *   AllocateAdapterChannel            adapter zero-filled X; device freed X
 *   IoAllocateController              controller 0xCC X; device freed X
 *   IoFreeController                  deleted X; zero-filled X
 *   IoDeleteController                deleted twice X
 *   IoCsqInsertIrp                    queue never initialised X; IRP freed X
 *   IoCsqRemoveNextIrp                queue 0xCC X
 *   IoAllocateWorkItem(Dev)           X / - / - / X / -
 *   IoFreeWorkItem(Item)              P46 / P46 / - / P7 / -; IoInitializeWorkItem'd P46
 *   IoQueueWorkItem(Item)             - / X / X / X / -;  IoQueueWorkItemEx NULL X
 *   IoInitializeWorkItem              item NULL X; IoObject 0xCC X
 *   dispatch: IoMarkIrpPending then STATUS_SUCCESS: completed inside (M), completed
 *             through StartIo with a thread IRP freed at completion (M), still pending (M)
 *   kdpc_driver_unload                unloaded twice S; 0xCC S
 *   kdpc_driver_machine               0xCC S (NULL)
 *   => 125 cases, 125 caught (each a test below, run twice: 250 tests).
 *
 * Left to fault containment (the pointer cannot be checked without reading it,
 * or the read happens in the driver's own code): the inline IRP macros
 * (IoGetCurrentIrpStackLocation, IoGetNextIrpStackLocation, IoSkip/
 * IoCopyCurrentIrpStackLocation(ToNext), IoSetCompletionRoutine,
 * IoMarkIrpPending, IoSetCancelRoutine, IoSetNextIrpStackLocation), the MDL
 * macros (MmGetMdlVirtualAddress, MmGetMdlByteCount, MmGetMdlByteOffset,
 * MmProbeAndLockPages, MmUnlockPages), DmaAdapter->DmaOperations (read by the
 * driver), an IO_CSQ_IRP_CONTEXT, IoCreateDevice's output pointer, a wild
 * pointer to IoAllocateErrorLogEntry (read for its Type, as Windows does),
 * kdpc_driver_machine from a host thread, and caller-initialised work items
 * or queues inside pool freed without IoUninitializeWorkItem (the registry
 * entry outlives the memory). 8 groups, 22 routines or macros.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define ANY UINT64_MAX

typedef enum bad { B_NULL, B_ZERO, B_CC, B_FREED, B_WRONG, B_CUSTOM } bad;
typedef enum otype { T_IRP, T_DEV, T_DRV, T_MDL, T_WI, T_CTRL, T_EL, T_CSQ, T_ADAPTER } otype;

static struct {
    PDRIVER_OBJECT drv, drv_nostart;
    PDEVICE_OBJECT dev, dev2, dev_nostart;
    void *bad;     /* the object under test: expected in the report */
    void *aux;     /* a second object expected in the report (0x204: the IRP) */
    int after;     /* reached the line after the misuse */
    int end;       /* reached the end of the entry routine */
    int disp_mode; /* dispatch behaviour */
    PIRP last_irp; /* the IRP the dispatch routine saw */
    IO_STATUS_BLOCK iosb;
    KEVENT ev;
    LONG wi_runs;
} g;

static _Alignas(64) unsigned char zbuf[1024]; /* never-initialised object, zero-filled */
static _Alignas(64) unsigned char cbuf[1024]; /* never-initialised object, 0xCC-filled */
static _Alignas(64) unsigned char storage[512];
static UCHAR mdl_buf[256];

enum { DISP_COMPLETE, DISP_MARK_COMPLETE, DISP_MARK_STARTIO, DISP_MARK_KEEP };

/* ------------------------------------------------------------------ */
/* The driver                                                          */

static void ObjStartIo(PDEVICE_OBJECT Dev, PIRP Irp)
{
    if (g.disp_mode == DISP_MARK_STARTIO) { /* the "device" is done at once */
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        IoStartNextPacket(Dev, FALSE);
    }
}

static NTSTATUS ObjDispatch(PDEVICE_OBJECT Dev, PIRP Irp)
{
    g.last_irp = Irp;
    switch (g.disp_mode) {
    case DISP_MARK_COMPLETE:
        IoMarkIrpPending(Irp);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_SUCCESS; /* must be STATUS_PENDING */
    case DISP_MARK_STARTIO:
        IoMarkIrpPending(Irp);
        IoStartPacket(Dev, Irp, NULL, NULL);
        return STATUS_SUCCESS; /* must be STATUS_PENDING */
    case DISP_MARK_KEEP:
        IoMarkIrpPending(Irp);
        return STATUS_SUCCESS; /* must be STATUS_PENDING */
    default:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_SUCCESS;
    }
}

static void ObjUnload(PDRIVER_OBJECT Drv)
{
    (void)Drv;
}

static NTSTATUS ObjEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Drv->MajorFunction[i] = ObjDispatch;
    Drv->DriverStartIo = ObjStartIo;
    Drv->DriverUnload = ObjUnload;
    NTSTATUS st = IoCreateDevice(Drv, 16, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.dev);
    if (NT_SUCCESS(st))
        st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.dev2);
    return st;
}

static NTSTATUS NoStartEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Drv->MajorFunction[i] = ObjDispatch;
    Drv->DriverUnload = ObjUnload; /* and no DriverStartIo */
    return IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g.dev_nostart);
}

static NTSTATUS EmptyEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->DriverUnload = ObjUnload;
    return STATUS_SUCCESS;
}

static void ObjDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT Dev, PIRP Irp, PVOID Ctx)
{
    (void)Dpc;
    (void)Dev;
    (void)Irp;
    (void)Ctx;
}

static void ObjWork(PDEVICE_OBJECT Dev, PVOID Ctx)
{
    (void)Dev;
    (void)Ctx;
    g.wi_runs++;
}

static void ObjWorkEx(PVOID IoObject, PVOID Ctx, PIO_WORKITEM Item)
{
    (void)IoObject;
    (void)Ctx;
    (void)Item;
    g.wi_runs++;
}

static IO_ALLOCATION_ACTION ObjControl(PDEVICE_OBJECT Dev, PIRP Irp, PVOID Base, PVOID Ctx)
{
    (void)Dev;
    (void)Irp;
    (void)Base;
    (void)Ctx;
    return DeallocateObject;
}

/* A cancel-safe queue of one IRP. */
static PIRP csq_slot;
static KSPIN_LOCK csq_lock;
static void CsqIns(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    csq_slot = Irp;
}
static void CsqRem(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    if (csq_slot == Irp)
        csq_slot = NULL;
}
static PIRP CsqPeek(PIO_CSQ Csq, PIRP Irp, PVOID Ctx)
{
    (void)Csq;
    (void)Ctx;
    return Irp == NULL ? csq_slot : NULL;
}
static void CsqAcq(PIO_CSQ Csq, PKIRQL Irql)
{
    (void)Csq;
    KeAcquireSpinLock(&csq_lock, Irql);
}
static void CsqRel(PIO_CSQ Csq, KIRQL Irql)
{
    (void)Csq;
    KeReleaseSpinLock(&csq_lock, Irql);
}
static void CsqDone(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    Irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}
static IO_CSQ good_csq;

static PDMA_ADAPTER good_adapter(void)
{
    DEVICE_DESCRIPTION d;
    memset(&d, 0, sizeof d);
    d.Version = DEVICE_DESCRIPTION_VERSION;
    d.Master = TRUE;
    d.ScatterGather = TRUE;
    d.MaximumLength = 4 * PAGE_SIZE;
    ULONG n = 0;
    return IoGetDmaAdapter(NULL, &d, &n);
}

/* ------------------------------------------------------------------ */
/* Bad objects                                                         */

static void *freed(otype t)
{
    switch (t) {
    case T_IRP: {
        PIRP irp = IoAllocateIrp(1, FALSE);
        IoFreeIrp(irp);
        return irp;
    }
    case T_DEV: {
        PDEVICE_OBJECT d = NULL;
        (void)IoCreateDevice(g.drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
        IoDeleteDevice(d);
        return d;
    }
    case T_DRV: {
        PDRIVER_OBJECT d = NULL;
        (void)kdpc_driver_load(kdpc_current_machine(), "gone", EmptyEntry, &d);
        (void)kdpc_driver_unload(d);
        return d;
    }
    case T_MDL: {
        PMDL m = IoAllocateMdl(mdl_buf, sizeof mdl_buf, FALSE, FALSE, NULL);
        IoFreeMdl(m);
        return m;
    }
    case T_WI: {
        PIO_WORKITEM w = IoAllocateWorkItem(g.dev);
        IoFreeWorkItem(w);
        return w;
    }
    case T_CTRL: {
        PCONTROLLER_OBJECT c = IoCreateController(0);
        IoDeleteController(c);
        return c;
    }
    case T_EL: {
        PVOID e = IoAllocateErrorLogEntry(g.dev, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
        IoFreeErrorLogEntry(e);
        return e;
    }
    default:
        return NULL;
    }
}

static void *make_bad(otype t, bad b)
{
    memset(zbuf, 0, sizeof zbuf);
    memset(cbuf, 0xCC, sizeof cbuf);
    switch (b) {
    case B_NULL:
        return NULL;
    case B_ZERO:
        return zbuf;
    case B_CC:
        return cbuf;
    case B_FREED:
        return freed(t);
    case B_WRONG:
        /* an object of another type: a live IRP where a device is wanted, else a device */
        return t == T_DEV || t == T_MDL ? (void *)IoAllocateIrp(1, FALSE) : (void *)g.dev;
    default:
        return NULL;
    }
}

/* ------------------------------------------------------------------ */
/* Operations: each passes g.bad where the case says                   */

static void op_complete(void)
{
    IoCompleteRequest((PIRP)g.bad, IO_NO_INCREMENT);
}
static void op_free_irp(void)
{
    IoFreeIrp((PIRP)g.bad);
}
static void op_reuse_irp(void)
{
    IoReuseIrp((PIRP)g.bad, STATUS_SUCCESS);
}
static void op_call_irp(void)
{
    (void)IoCallDriver(g.dev, (PIRP)g.bad);
}
static void op_call_dev(void)
{
    PIRP irp = IoAllocateIrp(2, FALSE);
    g.aux = irp;
    (void)IoCallDriver((PDEVICE_OBJECT)g.bad, irp);
}
static void op_start_dev(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoStartPacket((PDEVICE_OBJECT)g.bad, irp, NULL, NULL);
}
static void op_start_irp(void)
{
    IoStartPacket(g.dev, (PIRP)g.bad, NULL, NULL);
}
static void op_start_next(void)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoStartNextPacket((PDEVICE_OBJECT)g.bad, FALSE);
    KeLowerIrql(old);
}
static void op_start_next_key(void)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoStartNextPacketByKey((PDEVICE_OBJECT)g.bad, FALSE, 3);
    KeLowerIrql(old);
}
static void op_set_attr(void)
{
    IoSetStartIoAttributes((PDEVICE_OBJECT)g.bad, TRUE, FALSE);
}
static void op_delete_dev(void)
{
    IoDeleteDevice((PDEVICE_OBJECT)g.bad);
}
static void op_create_dev(void)
{
    PDEVICE_OBJECT d = NULL;
    NTSTATUS st = IoCreateDevice((PDRIVER_OBJECT)g.bad, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
    if (g.bad == NULL && st == STATUS_INVALID_PARAMETER && d == NULL)
        g.aux = (void *)1; /* the documented status */
}
static void op_init_dpc(void)
{
    IoInitializeDpcRequest((PDEVICE_OBJECT)g.bad, ObjDpcForIsr);
}
static void op_request_dpc(void)
{
    IoRequestDpc((PDEVICE_OBJECT)g.bad, NULL, NULL);
}
static void op_build_ioctl(void)
{
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    (void)IoBuildDeviceIoControlRequest(0x222000, (PDEVICE_OBJECT)g.bad, NULL, 0, NULL, 0, FALSE,
                                        &g.ev, &g.iosb);
}
static void op_build_sync(void)
{
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    (void)IoBuildSynchronousFsdRequest(IRP_MJ_READ, (PDEVICE_OBJECT)g.bad, mdl_buf, 16, NULL, &g.ev,
                                       &g.iosb);
}
static void op_build_async(void)
{
    (void)IoBuildAsynchronousFsdRequest(IRP_MJ_WRITE, (PDEVICE_OBJECT)g.bad, mdl_buf, 16, NULL,
                                        &g.iosb);
}
static void op_alloc_mdl(void)
{
    (void)IoAllocateMdl(mdl_buf, 64, FALSE, FALSE, (PIRP)g.bad);
}
static void op_free_mdl(void)
{
    IoFreeMdl((PMDL)g.bad);
}
static void op_mdl_nonpaged(void)
{
    MmBuildMdlForNonPagedPool((PMDL)g.bad);
}
static void op_mdl_sysaddr(void)
{
    (void)MmGetSystemAddressForMdlSafe((PMDL)g.bad, NormalPagePriority);
}
static void op_cancel(void)
{
    (void)IoCancelIrp((PIRP)g.bad);
}
static void op_attach_src(void)
{
    (void)IoAttachDeviceToDeviceStack((PDEVICE_OBJECT)g.bad, g.dev);
}
static void op_attach_tgt(void)
{
    (void)IoAttachDeviceToDeviceStack(g.dev2, (PDEVICE_OBJECT)g.bad);
}
static void op_detach(void)
{
    IoDetachDevice((PDEVICE_OBJECT)g.bad);
}
static void op_el_alloc(void)
{
    PVOID e = IoAllocateErrorLogEntry(g.bad, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    if (e == NULL)
        g.aux = (void *)1; /* NULL, as Windows returns */
    else
        IoFreeErrorLogEntry(e);
}
static void op_el_write(void)
{
    IoWriteErrorLogEntry(g.bad);
}
static void op_el_free(void)
{
    IoFreeErrorLogEntry(g.bad);
}
static void op_dma_pdo(void)
{
    DEVICE_DESCRIPTION d;
    memset(&d, 0, sizeof d);
    d.Master = TRUE;
    d.MaximumLength = PAGE_SIZE;
    ULONG n = 0;
    (void)IoGetDmaAdapter((PDEVICE_OBJECT)g.bad, &d, &n);
}
static void op_dma_adapter(void)
{
    PDMA_ADAPTER a = good_adapter();
    if (a == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)a->DmaOperations->AllocateAdapterChannel((PDMA_ADAPTER)g.bad, g.dev, 1, ObjControl, NULL);
    KeLowerIrql(old);
}
static void op_dma_dev(void)
{
    PDMA_ADAPTER a = good_adapter();
    if (a == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)a->DmaOperations->AllocateAdapterChannel(a, (PDEVICE_OBJECT)g.bad, 1, ObjControl, NULL);
    KeLowerIrql(old);
}
static void op_ctrl_alloc(void)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoAllocateController((PCONTROLLER_OBJECT)g.bad, g.dev, ObjControl, NULL);
    KeLowerIrql(old);
}
static void op_ctrl_alloc_dev(void)
{
    PCONTROLLER_OBJECT c = IoCreateController(0);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoAllocateController(c, (PDEVICE_OBJECT)g.bad, ObjControl, NULL);
    KeLowerIrql(old);
}
static void op_ctrl_free(void)
{
    IoFreeController((PCONTROLLER_OBJECT)g.bad);
}
static void op_csq_insert(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    (void)IoCsqInsertIrp((PIO_CSQ)g.bad, irp, NULL);
}
static void op_csq_remove_next(void)
{
    (void)IoCsqRemoveNextIrp((PIO_CSQ)g.bad, NULL);
}
static void op_csq_insert_irp(void)
{
    (void)IoCsqInitialize(&good_csq, CsqIns, CsqRem, CsqPeek, CsqAcq, CsqRel, CsqDone);
    (void)IoCsqInsertIrp(&good_csq, (PIRP)g.bad, NULL);
}
static void op_wi_alloc(void)
{
    (void)IoAllocateWorkItem((PDEVICE_OBJECT)g.bad);
}
static void op_wi_free(void)
{
    IoFreeWorkItem((PIO_WORKITEM)g.bad);
}
static void op_wi_queue(void)
{
    IoQueueWorkItem((PIO_WORKITEM)g.bad, ObjWork, DelayedWorkQueue, NULL);
}
static void op_wi_queue_ex(void)
{
    IoQueueWorkItemEx((PIO_WORKITEM)g.bad, ObjWorkEx, DelayedWorkQueue, NULL);
}
static void op_wi_init_item(void)
{
    IoInitializeWorkItem(g.dev, (PIO_WORKITEM)g.bad);
}
static void op_wi_init_obj(void)
{
    IoInitializeWorkItem(g.bad, (PIO_WORKITEM)(void *)storage);
}

/* Custom cases: each sets g.bad (and g.aux) itself. */
static void cu_free_thread_irp(void)
{
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    g.bad =
        IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, g.dev, NULL, 0, NULL, &g.ev, &g.iosb);
    IoFreeIrp((PIRP)g.bad);
}
static void cu_free_queued_irp(void)
{
    PIRP first = IoAllocateIrp(1, FALSE);
    PIRP second = IoAllocateIrp(1, FALSE);
    IoStartPacket(g.dev, first, NULL, NULL);  /* the device is busy with it (StartIo keeps it) */
    IoStartPacket(g.dev, second, NULL, NULL); /* queued behind it */
    g.bad = second;
    g.aux = g.dev;
    IoFreeIrp(second);
}
static void cu_delete_with_timer_set(void)
{
    PDEVICE_OBJECT d = NULL;
    if (!NT_SUCCESS(IoCreateDevice(g.drv, sizeof(KTIMER), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d)))
        return;
    PKTIMER timer = (PKTIMER)d->DeviceExtension;
    KeInitializeTimer(timer);
    LARGE_INTEGER due;
    due.QuadPart = -10000; /* 1 ms */
    (void)KeSetTimer(timer, due, NULL);
    g.bad = timer;
    IoDeleteDevice(d); /* unload.pending; as a warning the timer leaves its queue first */
    LARGE_INTEGER wait;
    wait.QuadPart = -50 * 10000; /* 50 ms: past the due time and several clock ticks */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &wait);
}
static void cu_no_startio(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoStartPacket(g.dev_nostart, irp, NULL, NULL);
}
static void cu_delete_attached(void)
{
    (void)IoAttachDeviceToDeviceStack(g.dev2, g.dev); /* dev2 sits on dev */
    g.bad = g.dev2;
    IoDeleteDevice(g.dev2); /* without IoDetachDevice(g.dev) */
}
static void cu_detach_twice(void)
{
    (void)IoAttachDeviceToDeviceStack(g.dev2, g.dev);
    g.bad = g.dev;
    IoDetachDevice(g.dev);
    IoDetachDevice(g.dev);
}
static void cu_el_write_twice(void)
{
    g.bad = IoAllocateErrorLogEntry(g.dev, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    IoWriteErrorLogEntry(g.bad);
    IoWriteErrorLogEntry(g.bad);
}
static void cu_el_free_twice(void)
{
    g.bad = IoAllocateErrorLogEntry(g.dev, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    IoFreeErrorLogEntry(g.bad);
    IoFreeErrorLogEntry(g.bad);
}
static void cu_ctrl_delete_twice(void)
{
    g.bad = IoCreateController(8);
    IoDeleteController((PCONTROLLER_OBJECT)g.bad);
    IoDeleteController((PCONTROLLER_OBJECT)g.bad);
}
static void cu_ctrl_free_deleted(void)
{
    g.bad = IoCreateController(0);
    IoDeleteController((PCONTROLLER_OBJECT)g.bad);
    IoFreeController((PCONTROLLER_OBJECT)g.bad);
}
static void cu_wi_free_twice(void)
{
    g.bad = IoAllocateWorkItem(g.dev);
    IoFreeWorkItem((PIO_WORKITEM)g.bad);
    IoFreeWorkItem((PIO_WORKITEM)g.bad);
}
static void cu_wi_free_initialized(void)
{
    g.bad = storage;
    IoInitializeWorkItem(g.dev, (PIO_WORKITEM)g.bad);
    IoFreeWorkItem((PIO_WORKITEM)g.bad);
}
static void cu_wi_queue_freed(void)
{
    g.bad = IoAllocateWorkItem(g.dev);
    IoFreeWorkItem((PIO_WORKITEM)g.bad);
    IoQueueWorkItem((PIO_WORKITEM)g.bad, ObjWork, DelayedWorkQueue, NULL);
}
static void cu_pending_completed(void)
{
    g.disp_mode = DISP_MARK_COMPLETE;
    PIRP irp = IoAllocateIrp(1, FALSE);
    g.bad = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    (void)IoCallDriver(g.dev, irp);
}
static void cu_pending_startio_thread_irp(void)
{
    g.disp_mode = DISP_MARK_STARTIO;
    KeInitializeEvent(&g.ev, NotificationEvent, FALSE);
    PIRP irp =
        IoBuildDeviceIoControlRequest(0x222000, g.dev, NULL, 0, NULL, 0, FALSE, &g.ev, &g.iosb);
    g.bad = irp; /* freed by the I/O manager at completion, inside the dispatch routine */
    (void)IoCallDriver(g.dev, irp);
}
static void cu_pending_kept(void)
{
    g.disp_mode = DISP_MARK_KEEP;
    PIRP irp = IoAllocateIrp(1, FALSE);
    g.bad = irp;
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_WRITE;
    (void)IoCallDriver(g.dev, irp);
}
static void cu_unload_twice(void)
{
    PDRIVER_OBJECT d = NULL;
    (void)kdpc_driver_load(kdpc_current_machine(), "twice", EmptyEntry, &d);
    NTSTATUS a = kdpc_driver_unload(d);
    NTSTATUS b = kdpc_driver_unload(d);
    if (a == STATUS_SUCCESS && b == STATUS_INVALID_PARAMETER)
        g.aux = (void *)1;
}
static void cu_unload_cc(void)
{
    memset(cbuf, 0xCC, sizeof cbuf);
    if (kdpc_driver_unload((PDRIVER_OBJECT)(void *)cbuf) == STATUS_INVALID_PARAMETER)
        g.aux = (void *)1;
}
static void cu_driver_machine_cc(void)
{
    memset(cbuf, 0xCC, sizeof cbuf);
    if (kdpc_driver_machine((PDRIVER_OBJECT)(void *)cbuf) == NULL &&
        kdpc_driver_machine(g.drv) == kdpc_current_machine())
        g.aux = (void *)1;
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */

typedef struct tcase {
    const char *name;
    void (*op)(void);
    otype type;
    bad how;
    const char *rule; /* NULL: no bug check, g.aux == 1 says the documented result came */
    uint32_t code;
    uint64_t p1; /* ANY: not checked */
    int obj_idx; /* parameter holding g.bad, or -1 */
    int aux_idx; /* parameter holding g.aux, or -1 */
} tcase;

#define INV "io.invalid_object"
/* the fault of X: its code and parameters follow from the pointer and the IRQL */
#define FAULT                  0
#define X(op, t, b)            op, t, b, INV, FAULT, ANY, -1, -1
#define C9(op, t, b, sub, idx) op, t, b, INV, 0xC9, sub, idx, -1
#define C2(op, t, b, sub, idx) op, t, b, INV, 0xC2, sub, idx, -1

static const tcase cases[] = {
    {"IoCompleteRequest NULL", X(op_complete, T_IRP, B_NULL)},
    {"IoCompleteRequest zero-filled IRP", X(op_complete, T_IRP, B_ZERO)},
    {"IoCompleteRequest 0xCC IRP", X(op_complete, T_IRP, B_CC)},
    {"IoCompleteRequest freed IRP", op_complete, T_IRP, B_FREED, "io.double_complete", 0x44, ANY, 0,
     -1},
    {"IoCompleteRequest device as IRP", X(op_complete, T_IRP, B_WRONG)},
    {"IoFreeIrp NULL", X(op_free_irp, T_IRP, B_NULL)},
    {"IoFreeIrp zero-filled", C9(op_free_irp, T_IRP, B_ZERO, 0x01, 1)},
    {"IoFreeIrp 0xCC", C9(op_free_irp, T_IRP, B_CC, 0x01, 1)},
    {"IoFreeIrp twice", C9(op_free_irp, T_IRP, B_FREED, 0x01, 1)},
    {"IoFreeIrp device as IRP", C9(op_free_irp, T_IRP, B_WRONG, 0x01, 1)},
    {"IoFreeIrp thread IRP", C9(cu_free_thread_irp, T_IRP, B_CUSTOM, 0x02, 1)},
    {"IoFreeIrp still queued", cu_free_queued_irp, T_IRP, B_CUSTOM, INV, 0xC9, 0x20B, 2, 3},
    {"IoReuseIrp NULL", X(op_reuse_irp, T_IRP, B_NULL)},
    {"IoReuseIrp zero-filled", X(op_reuse_irp, T_IRP, B_ZERO)},
    {"IoReuseIrp 0xCC", X(op_reuse_irp, T_IRP, B_CC)},
    {"IoReuseIrp freed", X(op_reuse_irp, T_IRP, B_FREED)},
    {"IoReuseIrp device as IRP", X(op_reuse_irp, T_IRP, B_WRONG)},
    {"IoCallDriver NULL IRP", X(op_call_irp, T_IRP, B_NULL)},
    {"IoCallDriver zero-filled IRP", C9(op_call_irp, T_IRP, B_ZERO, 0x03, 1)},
    {"IoCallDriver 0xCC IRP", C9(op_call_irp, T_IRP, B_CC, 0x03, 1)},
    {"IoCallDriver freed IRP", C9(op_call_irp, T_IRP, B_FREED, 0x03, 1)},
    {"IoCallDriver device as IRP", C9(op_call_irp, T_IRP, B_WRONG, 0x03, 1)},
    {"IoCallDriver NULL device", op_call_dev, T_DEV, B_NULL, INV, 0xC9, 0x204, -1, 2},
    {"IoCallDriver zero-filled device", C9(op_call_dev, T_DEV, B_ZERO, 0x04, 1)},
    {"IoCallDriver 0xCC device", C9(op_call_dev, T_DEV, B_CC, 0x04, 1)},
    {"IoCallDriver deleted device", C9(op_call_dev, T_DEV, B_FREED, 0x04, 1)},
    {"IoCallDriver IRP as device", C9(op_call_dev, T_DEV, B_WRONG, 0x04, 1)},
    {"IoStartPacket NULL device", X(op_start_dev, T_DEV, B_NULL)},
    {"IoStartPacket zero-filled device", X(op_start_dev, T_DEV, B_ZERO)},
    {"IoStartPacket 0xCC device", X(op_start_dev, T_DEV, B_CC)},
    {"IoStartPacket deleted device", X(op_start_dev, T_DEV, B_FREED)},
    {"IoStartPacket IRP as device", X(op_start_dev, T_DEV, B_WRONG)},
    {"IoStartPacket NULL IRP", X(op_start_irp, T_IRP, B_NULL)},
    {"IoStartPacket zero-filled IRP", X(op_start_irp, T_IRP, B_ZERO)},
    {"IoStartPacket 0xCC IRP", X(op_start_irp, T_IRP, B_CC)},
    {"IoStartPacket freed IRP", X(op_start_irp, T_IRP, B_FREED)},
    {"IoStartPacket device as IRP", X(op_start_irp, T_IRP, B_WRONG)},
    {"IoStartPacket driver without StartIo", cu_no_startio, T_IRP, B_CUSTOM, "io.no_startio", 0xD1,
     0, -1, -1},
    {"IoStartNextPacket NULL", X(op_start_next, T_DEV, B_NULL)},
    {"IoStartNextPacket zero-filled", X(op_start_next, T_DEV, B_ZERO)},
    {"IoStartNextPacket 0xCC", X(op_start_next, T_DEV, B_CC)},
    {"IoStartNextPacket deleted", X(op_start_next, T_DEV, B_FREED)},
    {"IoStartNextPacket IRP as device", X(op_start_next, T_DEV, B_WRONG)},
    {"IoStartNextPacketByKey 0xCC", X(op_start_next_key, T_DEV, B_CC)},
    {"IoSetStartIoAttributes NULL", X(op_set_attr, T_DEV, B_NULL)},
    {"IoSetStartIoAttributes 0xCC", X(op_set_attr, T_DEV, B_CC)},
    {"IoSetStartIoAttributes deleted", X(op_set_attr, T_DEV, B_FREED)},
    {"IoDeleteDevice NULL", X(op_delete_dev, T_DEV, B_NULL)},
    {"IoDeleteDevice zero-filled", X(op_delete_dev, T_DEV, B_ZERO)},
    {"IoDeleteDevice 0xCC", X(op_delete_dev, T_DEV, B_CC)},
    {"IoDeleteDevice twice", C9(op_delete_dev, T_DEV, B_FREED, 0x240, 3)},
    {"IoDeleteDevice IRP as device", X(op_delete_dev, T_DEV, B_WRONG)},
    {"IoDeleteDevice still attached", C9(cu_delete_attached, T_DEV, B_CUSTOM, 0x201, 3)},
    {"IoDeleteDevice with a timer set in its extension", cu_delete_with_timer_set, T_DEV, B_CUSTOM,
     "unload.pending", 0xCE, ANY, 0, -1},
    {"IoCreateDevice NULL driver", op_create_dev, T_DRV, B_NULL, NULL, 0, ANY, -1, -1},
    {"IoCreateDevice zero-filled driver", X(op_create_dev, T_DRV, B_ZERO)},
    {"IoCreateDevice 0xCC driver", X(op_create_dev, T_DRV, B_CC)},
    {"IoCreateDevice unloaded driver", X(op_create_dev, T_DRV, B_FREED)},
    {"IoCreateDevice device as driver", X(op_create_dev, T_DRV, B_WRONG)},
    {"IoInitializeDpcRequest NULL", X(op_init_dpc, T_DEV, B_NULL)},
    {"IoInitializeDpcRequest 0xCC", X(op_init_dpc, T_DEV, B_CC)},
    {"IoInitializeDpcRequest deleted", X(op_init_dpc, T_DEV, B_FREED)},
    {"IoRequestDpc NULL", X(op_request_dpc, T_DEV, B_NULL)},
    {"IoRequestDpc zero-filled", X(op_request_dpc, T_DEV, B_ZERO)},
    {"IoRequestDpc deleted", X(op_request_dpc, T_DEV, B_FREED)},
    {"IoBuildDeviceIoControlRequest NULL device", X(op_build_ioctl, T_DEV, B_NULL)},
    {"IoBuildDeviceIoControlRequest 0xCC device", X(op_build_ioctl, T_DEV, B_CC)},
    {"IoBuildDeviceIoControlRequest deleted device", X(op_build_ioctl, T_DEV, B_FREED)},
    {"IoBuildSynchronousFsdRequest zero-filled device", X(op_build_sync, T_DEV, B_ZERO)},
    {"IoBuildAsynchronousFsdRequest IRP as device", X(op_build_async, T_DEV, B_WRONG)},
    {"IoAllocateMdl 0xCC IRP", X(op_alloc_mdl, T_IRP, B_CC)},
    {"IoAllocateMdl freed IRP", X(op_alloc_mdl, T_IRP, B_FREED)},
    {"IoFreeMdl NULL", X(op_free_mdl, T_MDL, B_NULL)},
    {"IoFreeMdl zero-filled", C2(op_free_mdl, T_MDL, B_ZERO, 0x46, 1)},
    {"IoFreeMdl twice", C2(op_free_mdl, T_MDL, B_FREED, 0x07, 3)},
    {"IoFreeMdl IRP as MDL", C2(op_free_mdl, T_MDL, B_WRONG, 0x46, 1)},
    {"MmBuildMdlForNonPagedPool NULL", X(op_mdl_nonpaged, T_MDL, B_NULL)},
    {"MmBuildMdlForNonPagedPool freed", X(op_mdl_nonpaged, T_MDL, B_FREED)},
    {"MmGetSystemAddressForMdlSafe 0xCC", X(op_mdl_sysaddr, T_MDL, B_CC)},
    {"IoCancelIrp NULL", X(op_cancel, T_IRP, B_NULL)},
    {"IoCancelIrp zero-filled", X(op_cancel, T_IRP, B_ZERO)},
    {"IoCancelIrp freed", X(op_cancel, T_IRP, B_FREED)},
    {"IoAttachDeviceToDeviceStack 0xCC source", X(op_attach_src, T_DEV, B_CC)},
    {"IoAttachDeviceToDeviceStack deleted target", X(op_attach_tgt, T_DEV, B_FREED)},
    {"IoAttachDeviceToDeviceStack NULL target", X(op_attach_tgt, T_DEV, B_NULL)},
    {"IoDetachDevice NULL", X(op_detach, T_DEV, B_NULL)},
    {"IoDetachDevice deleted", X(op_detach, T_DEV, B_FREED)},
    {"IoDetachDevice twice", C9(cu_detach_twice, T_DEV, B_CUSTOM, 0x202, 3)},
    {"IoAllocateErrorLogEntry NULL", op_el_alloc, T_DEV, B_NULL, NULL, 0, ANY, -1, -1},
    {"IoAllocateErrorLogEntry zero-filled", op_el_alloc, T_DEV, B_ZERO, NULL, 0, ANY, -1, -1},
    {"IoAllocateErrorLogEntry deleted device", X(op_el_alloc, T_DEV, B_FREED)},
    {"IoAllocateErrorLogEntry IRP as object", op_el_alloc, T_DEV, B_WRONG, NULL, 0, ANY, -1, -1},
    {"IoWriteErrorLogEntry 0xCC", X(op_el_write, T_EL, B_CC)},
    {"IoWriteErrorLogEntry written twice", X(cu_el_write_twice, T_EL, B_CUSTOM)},
    {"IoFreeErrorLogEntry zero-filled", C2(op_el_free, T_EL, B_ZERO, 0x46, 1)},
    {"IoFreeErrorLogEntry twice", C2(cu_el_free_twice, T_EL, B_CUSTOM, 0x07, 3)},
    {"IoGetDmaAdapter 0xCC PDO", X(op_dma_pdo, T_DEV, B_CC)},
    {"AllocateAdapterChannel zero-filled adapter", X(op_dma_adapter, T_ADAPTER, B_ZERO)},
    {"AllocateAdapterChannel deleted device", X(op_dma_dev, T_DEV, B_FREED)},
    {"IoAllocateController 0xCC controller", X(op_ctrl_alloc, T_CTRL, B_CC)},
    {"IoAllocateController deleted device", X(op_ctrl_alloc_dev, T_DEV, B_FREED)},
    {"IoFreeController deleted controller", X(cu_ctrl_free_deleted, T_CTRL, B_CUSTOM)},
    {"IoFreeController zero-filled controller", X(op_ctrl_free, T_CTRL, B_ZERO)},
    {"IoDeleteController twice", X(cu_ctrl_delete_twice, T_CTRL, B_CUSTOM)},
    {"IoCsqInsertIrp queue never initialised", X(op_csq_insert, T_CSQ, B_ZERO)},
    {"IoCsqRemoveNextIrp 0xCC queue", X(op_csq_remove_next, T_CSQ, B_CC)},
    {"IoCsqInsertIrp freed IRP", X(op_csq_insert_irp, T_IRP, B_FREED)},
    {"IoAllocateWorkItem NULL", X(op_wi_alloc, T_DEV, B_NULL)},
    {"IoAllocateWorkItem deleted device", X(op_wi_alloc, T_DEV, B_FREED)},
    {"IoFreeWorkItem twice", C2(cu_wi_free_twice, T_WI, B_CUSTOM, 0x07, 3)},
    {"IoFreeWorkItem NULL", C2(op_wi_free, T_WI, B_NULL, 0x46, 1)},
    {"IoFreeWorkItem zero-filled", C2(op_wi_free, T_WI, B_ZERO, 0x46, 1)},
    {"IoFreeWorkItem of an IoInitializeWorkItem item",
     C2(cu_wi_free_initialized, T_WI, B_CUSTOM, 0x46, 1)},
    {"IoQueueWorkItem freed", X(cu_wi_queue_freed, T_WI, B_CUSTOM)},
    {"IoQueueWorkItem zero-filled", X(op_wi_queue, T_WI, B_ZERO)},
    {"IoQueueWorkItem 0xCC", X(op_wi_queue, T_WI, B_CC)},
    {"IoQueueWorkItemEx NULL", X(op_wi_queue_ex, T_WI, B_NULL)},
    {"IoInitializeWorkItem NULL item", X(op_wi_init_item, T_WI, B_NULL)},
    {"IoInitializeWorkItem 0xCC IoObject", X(op_wi_init_obj, T_DEV, B_CC)},
    {"IoMarkIrpPending, completed, STATUS_SUCCESS", cu_pending_completed, T_IRP, B_CUSTOM,
     "io.pending_not_returned", 0xC9, 0x23E, 2, -1},
    {"IoMarkIrpPending, StartIo completed a thread IRP, STATUS_SUCCESS",
     cu_pending_startio_thread_irp, T_IRP, B_CUSTOM, "io.pending_not_returned", 0xC9, 0x23E, 2, -1},
    {"IoMarkIrpPending, kept, STATUS_SUCCESS", cu_pending_kept, T_IRP, B_CUSTOM,
     "io.pending_not_returned", 0xC9, 0x23E, 2, -1},
    {"kdpc_driver_unload twice", cu_unload_twice, T_DRV, B_CUSTOM, NULL, 0, ANY, -1, -1},
    {"kdpc_driver_unload 0xCC", cu_unload_cc, T_DRV, B_CUSTOM, NULL, 0, ANY, -1, -1},
    {"kdpc_driver_machine 0xCC", cu_driver_machine_cc, T_DRV, B_CUSTOM, NULL, 0, ANY, -1, -1},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const tcase *current;

static void entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    if (!NT_SUCCESS(kdpc_driver_load(m, "iobj", ObjEntry, &g.drv)) ||
        !NT_SUCCESS(kdpc_driver_load(m, "nostart", NoStartEntry, &g.drv_nostart)))
        return;
    KeInitializeSpinLock(&csq_lock);
    if (current->how != B_CUSTOM)
        g.bad = make_bad(current->type, current->how);
    current->op();
    g.after = 1;
    g.end = 1;
}

static kdpc_machine *run_case(const tcase *tc, kdpc_rule_action action, kdpc_status *st)
{
    memset(&g, 0, sizeof g);
    csq_slot = NULL;
    memset(&good_csq, 0, sizeof good_csq);
    memset(storage, 0, sizeof storage);
    current = tc;
    kdpc_machine *m = kt_machine(1, 77);
    if (action != KDPC_RULE_DEFAULT) {
        assert_int_equal(kdpc_rule_set(m, "io.*", action), KDPC_OK);
        assert_int_equal(kdpc_rule_set(m, "unload.pending", action), KDPC_OK);
    }
    *st = kdpc_machine_run(m, entry, NULL);
    return m;
}

/* Default rules: the bug check Windows + Verifier give, with the object's address. */
static void test_default_outcome(void **state)
{
    const tcase *tc = *state;
    kdpc_status st;
    kdpc_machine *m = run_case(tc, KDPC_RULE_DEFAULT, &st);
    if (tc->rule == NULL) {
        assert_int_equal(st, KDPC_OK);
        assert_null(kdpc_machine_bugcheck(m));
        assert_int_equal(g.end, 1);
        assert_ptr_equal(g.aux, (void *)1); /* the documented status or NULL */
        kdpc_machine_destroy(m);
        return;
    }
    if (tc->code == FAULT) {
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        uint64_t addr = (uint64_t)(uintptr_t)g.bad;
        assert_non_null(bc);
        bool raised = tc->op == op_start_next || tc->op == op_start_next_key ||
                      tc->op == op_dma_adapter || tc->op == op_dma_dev || tc->op == op_ctrl_alloc ||
                      tc->op == op_ctrl_alloc_dev;
        if (raised) { /* at DISPATCH_LEVEL: 0xA (obj, 2, 0, routine) */
            KT_ASSERT_BUGCHECK(m, st, tc->rule, 0xA);
            assert_int_equal(bc->params[0], addr);
            assert_int_equal(bc->params[1], DISPATCH_LEVEL);
            assert_true(bc->params[3] != 0);
        } else if (g.bad == NULL) { /* 0x1E (C0000005, routine, 0, NULL) */
            KT_ASSERT_BUGCHECK(m, st, tc->rule, 0x1E);
            assert_int_equal(bc->params[0], 0xC0000005u);
            assert_true(bc->params[1] != 0);
            assert_int_equal(bc->params[3], 0);
        } else { /* 0x50 (obj, 0 read, routine, 0 freed / 2 never an object) */
            KT_ASSERT_BUGCHECK(m, st, tc->rule, 0x50);
            assert_int_equal(bc->params[0], addr);
            assert_int_equal(bc->params[1], 0);
            assert_true(bc->params[2] != 0);
            bool was_freed = tc->how == B_FREED || (tc->how == B_CUSTOM && tc->type != T_EL);
            if (tc->op == cu_el_write_twice)
                was_freed = true;
            assert_int_equal(bc->params[3], was_freed ? 0u : 2u);
        }
        assert_int_equal(g.after, 0);
        kdpc_machine_destroy(m);
        return;
    }
    KT_ASSERT_BUGCHECK(m, st, tc->rule, tc->code);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    if (tc->p1 != ANY)
        assert_int_equal(bc->params[0], tc->p1);
    if (tc->obj_idx >= 0)
        assert_int_equal(bc->params[tc->obj_idx], (uint64_t)(uintptr_t)g.bad);
    if (tc->aux_idx >= 0)
        assert_int_equal(bc->params[tc->aux_idx], (uint64_t)(uintptr_t)g.aux);
    assert_int_equal(g.after, 0);
    kdpc_machine_destroy(m);
}

/* io.* as warnings: recorded, the call returns safely, the run goes on to its end. */
static void test_warn_outcome(void **state)
{
    const tcase *tc = *state;
    kdpc_status st;
    kdpc_machine *m = run_case(tc, KDPC_RULE_WARN, &st);
    assert_int_equal(st, KDPC_OK);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(g.end, 1);
    if (tc->rule != NULL)
        KT_ASSERT_WARNING(m, tc->rule);
    kdpc_machine_destroy(m);
}

static struct CMUnitTest tests[2 * NCASES];
static char names[2 * NCASES][96];

int main(void)
{
    for (size_t i = 0; i < NCASES; i++) {
        snprintf(names[2 * i], sizeof names[0], "bugcheck: %s", cases[i].name);
        snprintf(names[2 * i + 1], sizeof names[0], "warn, run goes on: %s", cases[i].name);
        tests[2 * i] = (struct CMUnitTest){names[2 * i], test_default_outcome, NULL, NULL,
                                           (void *)(uintptr_t)&cases[i]};
        tests[2 * i + 1] = (struct CMUnitTest){names[2 * i + 1], test_warn_outcome, NULL, NULL,
                                               (void *)(uintptr_t)&cases[i]};
    }
    return _cmocka_run_group_tests("io_objects", tests, 2 * NCASES, NULL, NULL);
}
