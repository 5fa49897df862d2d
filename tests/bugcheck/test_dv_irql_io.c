/* SPDX-License-Identifier: MIT */
/*
 * test_dv_irql_io.c - the IRQL rules of the I/O manager, Mm and HAL routines (docs/rules.md):
 *   io.dispatch_irql  IrqlDispatch: IoAllocateController, IoFreeController and the
 *                     KeInsert/KeRemove (ByKey) device queue routines only at DISPATCH_LEVEL:
 *                     0xC4, P1 0x00020003, P2 the IRQL, P3 the controller or queue;
 *   io.apc_irql       IrqlIoApcLte: IoDeleteDevice at or below APC_LEVEL: 0xC4, P1 0x00020009,
 *                     P2 the IRQL, P3 the device;
 *   io.passive_irql   IrqlIoPassive1..5: the set-up routines at PASSIVE_LEVEL
 *                     (IoBuildDeviceIoControlRequest at or below APC_LEVEL): 0xC4, P1 0x2000A..
 *                     0x2000E by routine, P2 the IRQL, P3 the object the call acts on;
 *   hal.irql          MmMapIoSpace above DISPATCH_LEVEL: 0xC4 P1 0x73 (P3 the physical
 *                     address, P4 the size); MmUnmapIoSpace: 0x7B (P3 the address, P4 the size);
 *   errorlog.irql     IoAllocateErrorLogEntry above DISPATCH_LEVEL: 0xC4 P1 0x00020003;
 *   mm.section_irql   IrqlMmApcLte: MmLockPagableCodeSection above APC_LEVEL: 0xC4 P1 0x00020019,
 *                     P3 APC_LEVEL;
 *   mm.irql           MmUnmapLockedPages of a UserMode mapping above APC_LEVEL: 0xC4 P1 0x7A;
 *                     MmProbeAndLockPages / MmUnlockPages above DISPATCH_LEVEL: 0x70 / 0x78.
 * Each broken routine has a fixed twin that runs clean.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LINE 6

static struct {
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev, dev2;
    PCONTROLLER_OBJECT ctrl;
    KDEVICE_QUEUE q;
    KDEVICE_QUEUE_ENTRY e;
    PKINTERRUPT intr;
    KIRQL irql; /* the IRQL the broken call is made at */
    int reached_after;
} t;

static void reset(KIRQL irql)
{
    memset(&t, 0, sizeof(t));
    t.irql = irql;
}

static NTSTATUS IrqlIoDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    t.drv = DriverObject;
    NTSTATUS st = IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &t.dev);
    if (!NT_SUCCESS(st))
        return st;
    return IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &t.dev2);
}

static void load(void)
{
    PDRIVER_OBJECT drv;
    assert_true(
        NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "irqlio", IrqlIoDriverEntry, &drv)));
}

static void raise_to(KIRQL irql, KIRQL *old)
{
    *old = KeGetCurrentIrql();
    if (irql > *old)
        KeRaiseIrql(irql, old);
}

static void lower_to(KIRQL old)
{
    if (KeGetCurrentIrql() > old)
        KeLowerIrql(old);
}

static IO_ALLOCATION_ACTION ControllerControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                              PVOID MapRegisterBase, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)MapRegisterBase;
    (void)Context;
    return KeepObject;
}

static BOOLEAN QuietIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    (void)Context;
    return FALSE;
}

/* ------------------------------------------------------------------ */
/* The broken (or, at the right IRQL, fixed) routines                  */

static void InsertDeviceQueue(void *ctx)
{
    (void)ctx;
    KeInitializeDeviceQueue(&t.q);
    KIRQL old;
    raise_to(t.irql, &old);
    (void)KeInsertDeviceQueue(&t.q, &t.e); /* Not-Busy: makes the queue Busy */
    (void)KeRemoveDeviceQueue(&t.q);       /* empty: Not-Busy again */
    lower_to(old);
    t.reached_after = 1;
}

static void AllocateController(void *ctx)
{
    (void)ctx;
    load();
    t.ctrl = IoCreateController(0);
    assert_non_null(t.ctrl);
    KIRQL old;
    raise_to(t.irql, &old);
    IoAllocateController(t.ctrl, t.dev, ControllerControl, NULL);
    IoFreeController(t.ctrl);
    lower_to(old);
    IoDeleteController(t.ctrl);
    t.reached_after = 1;
}

static void DeleteDevice(void *ctx)
{
    (void)ctx;
    load();
    KIRQL old;
    raise_to(t.irql, &old);
    IoDeleteDevice(t.dev2);
    lower_to(old);
    t.reached_after = 1;
}

static void CreateDevice(void *ctx)
{
    (void)ctx;
    load();
    KIRQL old;
    raise_to(t.irql, &old);
    PDEVICE_OBJECT d = NULL;
    NTSTATUS st = IoCreateDevice(t.drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
    lower_to(old);
    if (NT_SUCCESS(st))
        IoDeleteDevice(d);
    t.reached_after = 1;
}

static void ConnectInterrupt(void *ctx)
{
    (void)ctx;
    KIRQL old;
    raise_to(t.irql, &old);
    NTSTATUS st =
        IoConnectInterrupt(&t.intr, QuietIsr, NULL, NULL, LINE, 5, 5, Latched, FALSE, 1, FALSE);
    lower_to(old);
    if (NT_SUCCESS(st))
        IoDisconnectInterrupt(t.intr);
    t.reached_after = 1;
}

static void CreateController(void *ctx)
{
    (void)ctx;
    KIRQL old;
    raise_to(t.irql, &old);
    PCONTROLLER_OBJECT c = IoCreateController(16);
    lower_to(old);
    if (c != NULL)
        IoDeleteController(c);
    t.reached_after = 1;
}

static void DeleteController(void *ctx)
{
    (void)ctx;
    t.ctrl = IoCreateController(0);
    assert_non_null(t.ctrl);
    KIRQL old;
    raise_to(t.irql, &old);
    IoDeleteController(t.ctrl);
    lower_to(old);
    t.reached_after = 1;
}

static void DetachDevice(void *ctx)
{
    (void)ctx;
    load();
    PDEVICE_OBJECT lower = IoAttachDeviceToDeviceStack(t.dev2, t.dev);
    assert_true(lower == t.dev);
    KIRQL old;
    raise_to(t.irql, &old);
    IoDetachDevice(t.dev);
    lower_to(old);
    t.reached_after = 1;
}

static void GetDmaAdapter(void *ctx)
{
    (void)ctx;
    load();
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof(dd));
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = 0x10000;
    ULONG n = 0;
    KIRQL old;
    raise_to(t.irql, &old);
    PDMA_ADAPTER a = IoGetDmaAdapter(t.dev, &dd, &n);
    lower_to(old);
    if (a != NULL)
        a->DmaOperations->PutDmaAdapter(a);
    t.reached_after = 1;
}

static void BuildIoctl(void *ctx)
{
    (void)ctx;
    load();
    IO_STATUS_BLOCK iosb;
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    KIRQL old;
    raise_to(t.irql, &old);
    PIRP irp = IoBuildDeviceIoControlRequest(0x222000, t.dev, NULL, 0, NULL, 0, FALSE, &ev, &iosb);
    lower_to(old);
    if (irp != NULL) /* no dispatch routine: the I/O manager completes and frees it */
        (void)IoCallDriver(t.dev, irp);
    t.reached_after = 1;
}

static void MapIoSpace(void *ctx)
{
    (void)ctx;
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = 0x7000;
    KIRQL old;
    raise_to(t.irql, &old);
    PVOID va = MmMapIoSpace(pa, 0x100, MmNonCached);
    lower_to(old);
    (void)va; /* no device owns 0x7000: with hal.map_unowned off the mapping is refused */
    t.reached_after = 1;
}

static void LockSection(void *ctx)
{
    (void)ctx;
    KIRQL old;
    raise_to(t.irql, &old);
    PVOID h = MmLockPagableCodeSection(LockSection);
    lower_to(old);
    if (h != NULL)
        MmUnlockPagableImageSection(h);
    t.reached_after = 1;
}

static void AllocateErrorLog(void *ctx)
{
    (void)ctx;
    load();
    KIRQL old;
    raise_to(t.irql, &old);
    PVOID e = IoAllocateErrorLogEntry(t.dev, (UCHAR)sizeof(IO_ERROR_LOG_PACKET));
    lower_to(old);
    if (e != NULL)
        IoFreeErrorLogEntry(e);
    t.reached_after = 1;
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */

typedef struct irql_case {
    const char *name;
    kdpc_entry_fn *entry;
    const char *rule;
    KIRQL bad, good;       /* a breaking IRQL, and the fixed twin's */
    uint64_t p1;           /* expected P1 */
    int p3;                /* expected P3: 0 zero, 1 the device queue, 2 the controller, 3 t.dev,
                         4 t.dev2, 5 t.drv, 6 the physical address 0x7000, 7 APC_LEVEL */
    uint64_t p4;           /* expected P4 */
    const char *extra_off; /* another rule the broken call breaks, off (if it exists), or NULL */
} irql_case;

static const irql_case cases[] = {
    {"KeInsertDeviceQueue at PASSIVE_LEVEL", InsertDeviceQueue, "io.dispatch_irql", PASSIVE_LEVEL,
     DISPATCH_LEVEL, 0x00020003, 1, 0, NULL},
    {"KeInsertDeviceQueue at DIRQL", InsertDeviceQueue, "io.dispatch_irql", 5, DISPATCH_LEVEL,
     0x00020003, 1, 0, NULL},
    {"IoAllocateController at PASSIVE_LEVEL", AllocateController, "io.dispatch_irql", PASSIVE_LEVEL,
     DISPATCH_LEVEL, 0x00020003, 2, 0, NULL},
    {"IoDeleteDevice at DISPATCH_LEVEL", DeleteDevice, "io.apc_irql", DISPATCH_LEVEL, APC_LEVEL,
     0x00020009, 4, 0, NULL},
    {"IoCreateDevice at APC_LEVEL", CreateDevice, "io.passive_irql", APC_LEVEL, PASSIVE_LEVEL,
     0x0002000A, 5, 0, NULL},
    {"IoBuildDeviceIoControlRequest at DISPATCH_LEVEL", BuildIoctl, "io.passive_irql",
     DISPATCH_LEVEL, APC_LEVEL, 0x0002000A, 3, 0, NULL},
    {"IoConnectInterrupt at DISPATCH_LEVEL", ConnectInterrupt, "io.passive_irql", DISPATCH_LEVEL,
     PASSIVE_LEVEL, 0x0002000B, 0, 0, NULL},
    {"IoCreateController at APC_LEVEL", CreateController, "io.passive_irql", APC_LEVEL,
     PASSIVE_LEVEL, 0x0002000B, 0, 0, NULL},
    {"IoDetachDevice at DISPATCH_LEVEL", DetachDevice, "io.passive_irql", DISPATCH_LEVEL,
     PASSIVE_LEVEL, 0x0002000C, 3, 0, NULL},
    {"IoDeleteController at APC_LEVEL", DeleteController, "io.passive_irql", APC_LEVEL,
     PASSIVE_LEVEL, 0x0002000D, 2, 0, NULL},
    {"IoGetDmaAdapter at APC_LEVEL", GetDmaAdapter, "io.passive_irql", APC_LEVEL, PASSIVE_LEVEL,
     0x0002000E, 3, 0, "dma.irql"}, /* DMA verification checks it too (0xE6/0x13) */
    {"MmMapIoSpace at DIRQL", MapIoSpace, "hal.irql", 5, DISPATCH_LEVEL, 0x73, 6, 0x100,
     "hal.map_unowned"},
    {"MmLockPagableCodeSection at DISPATCH_LEVEL", LockSection, "mm.section_irql", DISPATCH_LEVEL,
     APC_LEVEL, 0x00020019, 7, 0, NULL},
    {"IoAllocateErrorLogEntry at DIRQL", AllocateErrorLog, "errorlog.irql", 5, DISPATCH_LEVEL,
     0x00020003, 0, 0, NULL},
};

static uint64_t expected_p3(int which)
{
    switch (which) {
    case 1:
        return (uintptr_t)&t.q;
    case 2:
        return (uintptr_t)t.ctrl;
    case 3:
        return (uintptr_t)t.dev;
    case 4:
        return (uintptr_t)t.dev2;
    case 5:
        return (uintptr_t)t.drv;
    case 6:
        return 0x7000;
    case 7:
        return APC_LEVEL;
    default:
        return 0;
    }
}

static kdpc_machine *case_machine(const irql_case *k)
{
    kdpc_machine *m = kt_machine(1, 23);
    if (k->extra_off != NULL)
        (void)kdpc_rule_set(m, k->extra_off, KDPC_RULE_OFF); /* may not exist */
    return m;
}

static void test_broken_routines_bugcheck_with_microsofts_parameters(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const irql_case *k = &cases[i];
        print_message("broken: %s\n", k->name);
        reset(k->bad);
        kdpc_machine *m = case_machine(k);
        kdpc_status st = kdpc_machine_run(m, k->entry, NULL);
        KT_ASSERT_BUGCHECK(m, st, k->rule, 0xC4);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_int_equal(bc->params[0], k->p1);
        assert_int_equal(bc->params[1], k->bad);
        assert_int_equal(bc->params[2], expected_p3(k->p3));
        assert_int_equal(bc->params[3], k->p4);
        assert_int_equal(t.reached_after, 0);
        kdpc_machine_destroy(m);
    }
}

static void test_fixed_twins_run_clean(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const irql_case *k = &cases[i];
        print_message("fixed: %s\n", k->name);
        reset(k->good);
        kdpc_machine *m = case_machine(k);
        kdpc_status st = kdpc_machine_run(m, k->entry, NULL);
        assert_int_equal(st, KDPC_OK);
        KT_ASSERT_NO_VIOLATION(m, k->rule);
        assert_null(kdpc_machine_bugcheck(m));
        assert_int_equal(t.reached_after, 1);
        kdpc_machine_destroy(m);
    }
}

/* As a warning the broken calls go on as a free kernel would. */
static void test_broken_routines_go_on_as_warnings(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const irql_case *k = &cases[i];
        print_message("warn: %s\n", k->name);
        reset(k->bad);
        kdpc_machine *m = case_machine(k);
        assert_int_equal(kdpc_rule_set(m, k->rule, KDPC_RULE_WARN), KDPC_OK);
        kdpc_status st = kdpc_machine_run(m, k->entry, NULL);
        assert_int_equal(st, KDPC_OK);
        KT_ASSERT_WARNING(m, k->rule);
        assert_int_equal(t.reached_after, 1);
        kdpc_machine_destroy(m);
    }
}

/* IoStartPacket and IoStartNextPacket use the device queue themselves: a correct StartIo driver
 * never trips io.dispatch_irql, and IoStartNextPacket at PASSIVE_LEVEL is reported once, as
 * io.start_next_irql, not again for the queue it removes from. */
static void StartNextAtPassive(void *ctx)
{
    (void)ctx;
    load();
    IoStartNextPacket(t.dev, FALSE);
    t.reached_after = 1;
}

static void test_start_next_packet_reports_once(void **state)
{
    (void)state;
    reset(PASSIVE_LEVEL);
    kdpc_machine *m = kt_machine(1, 23);
    assert_int_equal(kdpc_rule_set(m, "io.start_next_irql", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_rule_set(m, "io.no_startio", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, StartNextAtPassive, NULL), KDPC_OK);
    KT_ASSERT_WARNING(m, "io.start_next_irql");
    KT_ASSERT_NO_VIOLATION(m, "io.dispatch_irql");
    kdpc_machine_destroy(m);
}

/* IoConnectInterruptEx is reported under its own name (IrqlIoPassive2's code, as
 * IoConnectInterrupt), for a line-based connection too (kdpc answers it STATUS_NOT_SUPPORTED),
 * not as the IoConnectInterrupt the kernel makes of it. */
static void ConnectInterruptEx(void *ctx)
{
    KIRQL old;
    raise_to(DISPATCH_LEVEL, &old);
    IO_CONNECT_INTERRUPT_PARAMETERS p;
    memset(&p, 0, sizeof(p));
    if (ctx != NULL) {
        p.Version = CONNECT_LINE_BASED;
    } else {
        p.Version = CONNECT_FULLY_SPECIFIED;
        p.FullySpecified.InterruptObject = &t.intr;
        p.FullySpecified.ServiceRoutine = QuietIsr;
        p.FullySpecified.Vector = LINE;
        p.FullySpecified.Irql = 5;
        p.FullySpecified.SynchronizeIrql = 5;
        p.FullySpecified.InterruptMode = Latched;
        p.FullySpecified.ProcessorEnableMask = 1;
    }
    NTSTATUS st = IoConnectInterruptEx(&p);
    lower_to(old);
    if (NT_SUCCESS(st))
        IoDisconnectInterrupt(t.intr);
    t.reached_after = 1;
}

static void test_connect_interrupt_ex_is_reported_by_its_own_name(void **state)
{
    (void)state;
    for (int line_based = 0; line_based < 2; line_based++) {
        reset(DISPATCH_LEVEL);
        kdpc_machine *m = kt_machine(1, 23);
        assert_int_equal(kdpc_rule_set(m, "io.passive_irql", KDPC_RULE_WARN), KDPC_OK);
        assert_int_equal(kdpc_machine_run(m, ConnectInterruptEx, line_based ? &t : NULL), KDPC_OK);
        assert_int_equal(kdpc_machine_violation_count(m), 1);
        const kdpc_violation *v = kdpc_machine_violation(m, 0);
        assert_string_equal(v->rule, "io.passive_irql");
        assert_int_equal(v->params[0], 0x0002000B);
        assert_int_equal(v->params[1], DISPATCH_LEVEL);
        assert_non_null(strstr(v->message, "IoConnectInterruptEx called"));
        assert_int_equal(t.reached_after, 1);
        kdpc_machine_destroy(m);
    }
}

/* mm.irql: MmUnmapLockedPages of a UserMode mapping above APC_LEVEL is Driver Verifier's 0x7A
 * (P3 the address, P4 the MDL); a system mapping may be unmapped at DISPATCH_LEVEL (0x79 only
 * above it). */
static PVOID um_va;
static PMDL um_mdl;

static void UnmapUserMapping(void *ctx)
{
    bool user = ctx != NULL;
    PVOID buf = ExAllocatePoolWithTag(PagedPool, 256, 'oIrI');
    assert_non_null(buf);
    um_mdl = IoAllocateMdl(buf, 256, FALSE, FALSE, NULL);
    assert_non_null(um_mdl);
    MmProbeAndLockPages(um_mdl, KernelMode, IoWriteAccess);
    um_va = MmMapLockedPagesSpecifyCache(um_mdl, user ? UserMode : KernelMode, MmCached, NULL,
                                         FALSE, NormalPagePriority);
    assert_non_null(um_va);
    KIRQL old;
    raise_to(t.irql, &old);
    MmUnmapLockedPages(um_va, um_mdl);
    lower_to(old);
    MmUnlockPages(um_mdl);
    IoFreeMdl(um_mdl);
    ExFreePoolWithTag(buf, 'oIrI');
    t.reached_after = 1;
}

static void test_unmapping_a_user_mapping_above_apc_level_is_c4_7a(void **state)
{
    (void)state;
    static int user = 1;
    reset(DISPATCH_LEVEL);
    kdpc_machine *m = kt_machine(1, 23);
    kdpc_status st = kdpc_machine_run(m, UnmapUserMapping, &user);
    KT_ASSERT_BUGCHECK(m, st, "mm.irql", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x7A);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], (uintptr_t)um_va);
    assert_int_equal(bc->params[3], (uintptr_t)um_mdl);
    assert_int_equal(t.reached_after, 0);
    kdpc_machine_destroy(m);

    reset(APC_LEVEL); /* the fixed twin: at APC_LEVEL */
    m = kt_machine(1, 23);
    assert_int_equal(kdpc_machine_run(m, UnmapUserMapping, &user), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mm.irql");
    assert_int_equal(t.reached_after, 1);
    kdpc_machine_destroy(m);

    reset(DISPATCH_LEVEL); /* a system mapping: DISPATCH_LEVEL is allowed */
    m = kt_machine(1, 23);
    assert_int_equal(kdpc_machine_run(m, UnmapUserMapping, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mm.irql");
    assert_int_equal(t.reached_after, 1);
    kdpc_machine_destroy(m);
}

/* mm.irql: MmProbeAndLockPages / MmUnlockPages above DISPATCH_LEVEL: 0x70 / 0x78 (P3 the MDL, P4
 * the access mode / 0) */
static void LockPages(void *ctx)
{
    bool unlock_high = ctx != NULL;
    PVOID buf = ExAllocatePoolWithTag(NonPagedPool, 256, 'oIrI');
    assert_non_null(buf);
    um_mdl = IoAllocateMdl(buf, 256, FALSE, FALSE, NULL);
    assert_non_null(um_mdl);
    KIRQL old;
    if (!unlock_high)
        raise_to(t.irql, &old);
    MmProbeAndLockPages(um_mdl, KernelMode, IoReadAccess);
    if (!unlock_high)
        lower_to(old);
    if (unlock_high)
        raise_to(t.irql, &old);
    MmUnlockPages(um_mdl);
    if (unlock_high)
        lower_to(old);
    IoFreeMdl(um_mdl);
    ExFreePoolWithTag(buf, 'oIrI');
    t.reached_after = 1;
}

static void test_locking_pages_above_dispatch_level_is_c4_70_78(void **state)
{
    (void)state;
    static int unlock_high = 1;
    for (int i = 0; i < 2; i++) {
        void *arg = i == 0 ? NULL : &unlock_high;
        reset(5); /* a DIRQL */
        kdpc_machine *m = kt_machine(1, 23);
        kdpc_status st = kdpc_machine_run(m, LockPages, arg);
        KT_ASSERT_BUGCHECK(m, st, "mm.irql", 0xC4);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_int_equal(bc->params[0], i == 0 ? 0x70 : 0x78);
        assert_int_equal(bc->params[1], 5);
        assert_int_equal(bc->params[2], (uintptr_t)um_mdl);
        assert_int_equal(bc->params[3], 0); /* KernelMode / 0 */
        assert_int_equal(t.reached_after, 0);
        kdpc_machine_destroy(m);

        reset(DISPATCH_LEVEL); /* the fixed twin */
        m = kt_machine(1, 23);
        assert_int_equal(kdpc_machine_run(m, LockPages, arg), KDPC_OK);
        KT_ASSERT_NO_VIOLATION(m, "mm.irql");
        assert_int_equal(t.reached_after, 1);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broken_routines_bugcheck_with_microsofts_parameters),
        cmocka_unit_test(test_fixed_twins_run_clean),
        cmocka_unit_test(test_broken_routines_go_on_as_warnings),
        cmocka_unit_test(test_start_next_packet_reports_once),
        cmocka_unit_test(test_connect_interrupt_ex_is_reported_by_its_own_name),
        cmocka_unit_test(test_unmapping_a_user_mapping_above_apc_level_is_c4_7a),
        cmocka_unit_test(test_locking_pages_above_dispatch_level_is_c4_70_78),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
