/* SPDX-License-Identifier: MIT */
/*
 * test_dv_pnp.c - Driver Verifier's PnP, device-object and WMI checks
 * (docs/rules.md, area pnp): one small PnP driver breaks one rule per mode
 * and the run stops with the rule's code and P1..P4; the same driver with
 * the mistake fixed runs clean.
 *
 *   pnp.irp_init                 0xC9/0x20E, 0x210, 0x233..0x236 (a driver's own PnP/WMI IRP)
 *   pnp.system_irp               0xC9/0x237 (a driver sends IRP_MN_QUERY_STOP_DEVICE)
 *   pnp.irp_status               0xC9/0x215, 0x216, 0x217 (NsRemoveLock*)
 *   pnp.not_passed_down          0xC9/0x22E, 0x22F (PnpIrpCompletion)
 *   pnp.surprise_remove_delete   0xC9/0x241, 0x242 (PnpSurpriseRemove)
 *   pnp.delete_before_lower      0 (DeleteDevice)
 *   pnp.remove_not_deleted       0xC9/0x21D, 0x21E
 *   pnp.adddevice_initializing   0xC9/0x243
 *   dev.attach_flags             0xC9/0x244, 0x245
 *   pnp.not_pdo                  0xC9/0x24D
 *   wmi.not_forwarded            0xC9/0x220 (WmiForward)
 *   wmi.registered               0xC4/0xDB
 *   pnp.no_dispatch              0xC9/0x21F
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

typedef enum mode {
    FIXED,
    INIT_STATUS,      /* 0x20E: own PnP IRP sent with Status 0 */
    INIT_WMI_STATUS,  /* 0x210: own WMI IRP sent with Status 0 */
    INIT_CAPS,        /* 0x235: query capabilities with Address 0 */
    SYSTEM_IRP,       /* 0x237: own IRP_MN_QUERY_STOP_DEVICE */
    FWD_FAILED,       /* 0x215: QUERY_REMOVE passed down failed */
    FWD_UNANSWERED,   /* 0x217: QUERY_REMOVE passed down untouched */
    FWD_REVERTED,     /* 0x216: START completed STATUS_NOT_SUPPORTED over the PDO's success */
    DONE_SUCCESS,     /* 0x22E: QUERY_REMOVE completed with success, not passed down */
    DONE_UNTOUCHED,   /* 0x22F: QUERY_REMOVE completed STATUS_NOT_SUPPORTED */
    SURPRISE_DETACH,  /* 0x241 */
    SURPRISE_DELETE,  /* 0x242 */
    DELETE_EARLY,     /* pnp.delete_before_lower */
    REMOVE_ATTACHED,  /* 0x21D: neither detached nor deleted */
    REMOVE_ALIVE,     /* 0x21E: detached, not deleted */
    INITIALIZING,     /* 0x243 */
    NO_IO_FLAG,       /* 0x244: the PDO has DO_DIRECT_IO, the FDO neither */
    BOTH_IO_FLAGS,    /* 0x245 */
    NOT_PDO,          /* 0x24D */
    WMI_COMPLETED,    /* 0x220 */
    WMI_LEFT,         /* 0xC4/0xDB */
    NO_POWER_ROUTINE, /* 0x21F: a power IRP to a PnP driver with no IRP_MJ_POWER routine */
    CAPS_GARBAGE      /* query capabilities whose Capabilities pointer is garbage: not read */
} mode;

static mode g_mode;
static PDEVICE_OBJECT g_fdo, g_pdo, g_lower;
static PIRP g_pnp_irp; /* the PnP manager's IRP the broken branch got */
static PIRP g_sent;    /* the IRP the entry sent itself */
static int g_done;     /* the entry reached its end */
static DEVICE_CAPABILITIES g_caps;

static uint64_t fn_addr(void (*fn)(void))
{
    uintptr_t u = 0;
    memcpy(&u, &fn, sizeof(u));
    return u;
}

static bool answered_down(UCHAR minor)
{
    return minor == IRP_MN_QUERY_REMOVE_DEVICE || minor == IRP_MN_REMOVE_DEVICE ||
           minor == IRP_MN_SURPRISE_REMOVAL || minor == IRP_MN_QUERY_STOP_DEVICE ||
           minor == IRP_MN_STOP_DEVICE;
}

static NTSTATUS Pnp(PDEVICE_OBJECT dev, PIRP irp)
{
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    PDEVICE_OBJECT lower = g_lower;
    if (minor == IRP_MN_QUERY_REMOVE_DEVICE &&
        (g_mode == DONE_SUCCESS || g_mode == DONE_UNTOUCHED)) {
        g_pnp_irp = irp;
        if (g_mode == DONE_SUCCESS)
            irp->IoStatus.Status = STATUS_SUCCESS;
        NTSTATUS st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    if (minor == IRP_MN_START_DEVICE) { /* answered on the way up */
        (void)IoForwardIrpSynchronously(lower, irp);
        if (g_mode == FWD_REVERTED) {
            g_pnp_irp = irp;
            irp->IoStatus.Status = STATUS_NOT_SUPPORTED; /* over the bus driver's success */
        }
        NTSTATUS st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    if (answered_down(minor))
        irp->IoStatus.Status = STATUS_SUCCESS;
    if (minor == IRP_MN_QUERY_REMOVE_DEVICE && g_mode == FWD_FAILED)
        irp->IoStatus.Status = STATUS_UNSUCCESSFUL;
    if (minor == IRP_MN_QUERY_REMOVE_DEVICE && g_mode == FWD_UNANSWERED)
        irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    if (minor == IRP_MN_QUERY_REMOVE_DEVICE || minor == IRP_MN_REMOVE_DEVICE ||
        minor == IRP_MN_SURPRISE_REMOVAL)
        g_pnp_irp = irp;
    if (minor == IRP_MN_SURPRISE_REMOVAL && g_mode == SURPRISE_DETACH)
        IoDetachDevice(lower);
    if (minor == IRP_MN_SURPRISE_REMOVAL && g_mode == SURPRISE_DELETE) {
        (void)IoWMIRegistrationControl(dev, WMIREG_ACTION_DEREGISTER);
        IoDetachDevice(lower); /* (as a warning: 0x241 first) */
        IoDeleteDevice(dev);
    }
    if (minor == IRP_MN_REMOVE_DEVICE && g_mode == DELETE_EARLY) {
        (void)IoWMIRegistrationControl(dev, WMIREG_ACTION_DEREGISTER);
        IoDetachDevice(lower);
        IoDeleteDevice(dev);
        IoSkipCurrentIrpStackLocation(irp);
        return IoCallDriver(lower, irp);
    }
    IoSkipCurrentIrpStackLocation(irp);
    NTSTATUS st = IoCallDriver(lower, irp);
    if (minor == IRP_MN_REMOVE_DEVICE && g_mode != REMOVE_ATTACHED) {
        if (g_mode != WMI_LEFT)
            (void)IoWMIRegistrationControl(dev, WMIREG_ACTION_DEREGISTER);
        if (lower->AttachedDevice == dev)
            IoDetachDevice(lower);
        if (g_mode != REMOVE_ALIVE)
            IoDeleteDevice(dev);
    }
    return st;
}

static NTSTATUS SystemControl(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(irp);
    if (g_mode == WMI_COMPLETED || s->Parameters.WMI.ProviderId == (ULONG_PTR)dev) {
        NTSTATUS st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    IoSkipCurrentIrpStackLocation(irp); /* another provider's: passed down */
    return IoCallDriver(g_lower, irp);
}

static NTSTATUS Power(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    PoStartNextPowerIrp(irp);
    IoSkipCurrentIrpStackLocation(irp);
    return PoCallDriver(g_lower, irp);
}

static NTSTATUS AddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    NTSTATUS st = IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_fdo);
    if (!NT_SUCCESS(st))
        return st;
    g_pdo = pdo;
    if (g_mode == NO_IO_FLAG || g_mode == FIXED)
        pdo->Flags |= DO_DIRECT_IO; /* what a bus driver may set */
    g_lower = IoAttachDeviceToDeviceStack(g_fdo, pdo);
    if (g_mode != NO_IO_FLAG)
        g_fdo->Flags |= g_lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO);
    if (g_mode == BOTH_IO_FLAGS)
        g_fdo->Flags |= DO_BUFFERED_IO | DO_DIRECT_IO;
    (void)IoWMIRegistrationControl(g_fdo, WMIREG_ACTION_REGISTER);
    HANDLE h;
    if (NT_SUCCESS(IoOpenDeviceRegistryKey(g_mode == NOT_PDO ? g_fdo : pdo, PLUGPLAY_REGKEY_DEVICE,
                                           KEY_READ, &h)))
        (void)ZwClose(h);
    if (g_mode != INITIALIZING)
        g_fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    (void)path;
    drv->DriverExtension->AddDevice = AddDevice;
    drv->MajorFunction[IRP_MJ_PNP] = Pnp;
    drv->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = SystemControl;
    if (g_mode != NO_POWER_ROUTINE)
        drv->MajorFunction[IRP_MJ_POWER] = Power;
    return STATUS_SUCCESS;
}

static NTSTATUS Sent(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev;
    (void)ctx;
    IoFreeIrp(irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* The entry's own IRP to the top of the stack, set up right unless the mode breaks it. */
static void send_own(UCHAR major, UCHAR minor)
{
    PIRP irp = IoAllocateIrp(g_fdo->StackSize, FALSE);
    if (irp == NULL)
        return;
    g_sent = irp;
    bool bad = (g_mode == INIT_STATUS && major == IRP_MJ_PNP) ||
               (g_mode == INIT_WMI_STATUS && major == IRP_MJ_SYSTEM_CONTROL);
    irp->IoStatus.Status = bad ? STATUS_SUCCESS : STATUS_NOT_SUPPORTED;
    PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(irp);
    s->MajorFunction = major;
    s->MinorFunction = minor;
    if (major == IRP_MJ_SYSTEM_CONTROL)
        s->Parameters.WMI.ProviderId = (ULONG_PTR)g_pdo;
    if (minor == IRP_MN_QUERY_CAPABILITIES && major == IRP_MJ_PNP) {
        memset(&g_caps, 0, sizeof(g_caps));
        g_caps.Size = sizeof(g_caps);
        g_caps.Version = 1;
        g_caps.Address = g_mode == INIT_CAPS ? 0 : 0xFFFFFFFFu;
        g_caps.UINumber = 0xFFFFFFFFu;
        s->Parameters.DeviceCapabilities.Capabilities = &g_caps;
        if (g_mode == CAPS_GARBAGE) /* the bus driver would fault on it; the check must not */
            s->Parameters.DeviceCapabilities.Capabilities =
                (PDEVICE_CAPABILITIES)(uintptr_t)0xCCCCCCCCCCCCCCCCull;
    }
    IoSetCompletionRoutine(irp, Sent, NULL, TRUE, TRUE, TRUE);
    (void)IoCallDriver(g_fdo, irp);
}

static void run(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    PDRIVER_OBJECT drv;
    if (!NT_SUCCESS(kdpc_driver_load(m, "dvpnp", Entry, &drv)))
        return;
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "dvpnp0";
    d.driver = "dvpnp";
    kdpc_device *dev = NULL;
    if (kdpc_device_plug(m, &d, &dev) != KDPC_OK)
        return;
    send_own(IRP_MJ_PNP, IRP_MN_QUERY_CAPABILITIES);
    send_own(IRP_MJ_SYSTEM_CONTROL, IRP_MN_QUERY_ALL_DATA);
    send_own(IRP_MJ_POWER, IRP_MN_QUERY_POWER);
    if (g_mode == SYSTEM_IRP)
        send_own(IRP_MJ_PNP, IRP_MN_QUERY_STOP_DEVICE);
    bool surprise = g_mode == SURPRISE_DETACH || g_mode == SURPRISE_DELETE;
    (void)kdpc_device_unplug(dev, surprise ? KDPC_UNPLUG_SURPRISE : KDPC_UNPLUG_ORDERLY);
    g_done = 1;
}

static const kdpc_violation *broken(mode md, const char *rule, uint32_t code, uint64_t p1)
{
    g_mode = md;
    g_done = 0;
    g_fdo = g_pdo = g_lower = NULL;
    g_pnp_irp = g_sent = NULL;
    kdpc_machine *m = kt_machine(1, 31);
    kdpc_status st = kdpc_machine_run(m, run, NULL);
    KT_ASSERT_BUGCHECK(m, st, rule, code);
    assert_int_equal(g_done, 0);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], p1);
    static kdpc_violation copy;
    copy = *v;
    kdpc_machine_destroy(m);
    return &copy;
}

/* The fixed driver, every rule of the area at its default: no violation at all. */
static void test_fixed_driver_runs_clean(void **state)
{
    (void)state;
    g_mode = FIXED;
    g_done = 0;
    kdpc_machine *m = kt_machine(1, 31);
    assert_int_equal(kdpc_machine_run(m, run, NULL), KDPC_OK);
    assert_int_equal(g_done, 1);
    static const char *const ids[] = {"pnp.irp_init",
                                      "pnp.system_irp",
                                      "pnp.irp_status",
                                      "pnp.not_passed_down",
                                      "pnp.surprise_remove_delete",
                                      "pnp.delete_before_lower",
                                      "pnp.remove_not_deleted",
                                      "pnp.adddevice_initializing",
                                      "dev.attach_flags",
                                      "pnp.not_pdo",
                                      "wmi.not_forwarded",
                                      "wmi.registered",
                                      "pnp.no_dispatch"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        KT_ASSERT_NO_VIOLATION(m, ids[i]);
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);
}

/* A DEVICE_CAPABILITIES pointer that is no address: the check reads nothing (no host fault) and
 * reports nothing; kdpc's root bus does not answer the IRP. */
static void test_irp_init_caps_garbage_not_read(void **state)
{
    (void)state;
    g_mode = CAPS_GARBAGE;
    g_done = 0;
    kdpc_machine *m = kt_machine(1, 31);
    assert_int_equal(kdpc_machine_run(m, run, NULL), KDPC_OK);
    assert_int_equal(g_done, 1);
    KT_ASSERT_NO_VIOLATION(m, "pnp.irp_init");
    assert_null(kdpc_machine_bugcheck(m));
    kdpc_machine_destroy(m);
}

static void test_irp_init(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(INIT_STATUS, "pnp.irp_init", 0xC9, 0x20E);
    assert_true(v->params[1] != 0); /* the caller */
    assert_int_equal(v->params[2], (uintptr_t)g_sent);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
    v = broken(INIT_WMI_STATUS, "pnp.irp_init", 0xC9, 0x210);
    assert_int_equal(v->params[2], (uintptr_t)g_sent);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
    v = broken(INIT_CAPS, "pnp.irp_init", 0xC9, 0x235);
    assert_int_equal(v->params[2], (uintptr_t)g_sent);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_system_irp(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(SYSTEM_IRP, "pnp.system_irp", 0xC9, 0x237);
    assert_true(v->params[1] != 0);
    assert_int_equal(v->params[2], (uintptr_t)g_sent);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_irp_status(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(FWD_FAILED, "pnp.irp_status", 0xC9, 0x215);
    assert_int_equal(v->params[2], (uintptr_t)g_pnp_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_pdo); /* sent to */
    v = broken(FWD_UNANSWERED, "pnp.irp_status", 0xC9, 0x217);
    assert_int_equal(v->params[2], (uintptr_t)g_pnp_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_pdo);
    v = broken(FWD_REVERTED, "pnp.irp_status", 0xC9, 0x216);
    assert_int_equal(v->params[2], (uintptr_t)g_pnp_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo); /* completing it */
}

static void test_not_passed_down(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(DONE_SUCCESS, "pnp.not_passed_down", 0xC9, 0x22E);
    assert_true(v->params[1] != 0);
    assert_int_equal(v->params[2], (uintptr_t)g_pnp_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
    v = broken(DONE_UNTOUCHED, "pnp.not_passed_down", 0xC9, 0x22F);
    assert_int_equal(v->params[2], (uintptr_t)g_pnp_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_surprise_remove_delete(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(SURPRISE_DETACH, "pnp.surprise_remove_delete", 0xC9, 0x241);
    assert_int_equal(v->params[2], (uintptr_t)g_pnp_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
    /* the delete alone, with the detach a warning */
    g_mode = SURPRISE_DELETE;
    g_done = 0;
    kdpc_machine *m = kt_machine(1, 31);
    assert_int_equal(kdpc_rule_set(m, "pnp.surprise_remove_delete", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, run, NULL), KDPC_OK);
    assert_int_equal(g_done, 1);
    KT_ASSERT_WARNING(m, "pnp.surprise_remove_delete");
    kdpc_machine_destroy(m);
}

static void test_delete_before_lower(void **state)
{
    (void)state;
    /* code 0 (an SDV rule): P1 the device, P2 the IRP */
    g_mode = DELETE_EARLY;
    g_done = 0;
    kdpc_machine *m = kt_machine(1, 31);
    kdpc_status st = kdpc_machine_run(m, run, NULL);
    KT_ASSERT_BUGCHECK(m, st, "pnp.delete_before_lower", 0);
    assert_int_equal(g_done, 0);
    const kdpc_violation *b = kdpc_machine_bugcheck(m);
    assert_int_equal(b->params[0], (uintptr_t)g_fdo);
    assert_int_equal(b->params[1], (uintptr_t)g_pnp_irp);
    assert_int_equal(b->params[2], 0);
    assert_int_equal(b->params[3], 0);
    kdpc_machine_destroy(m);
}

static void test_remove_not_deleted(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(REMOVE_ATTACHED, "pnp.remove_not_deleted", 0xC9, 0x21D);
    assert_int_equal(v->params[1], fn_addr((void (*)(void))Pnp));
    assert_int_equal(v->params[2], (uintptr_t)g_pnp_irp);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
    v = broken(REMOVE_ALIVE, "pnp.remove_not_deleted", 0xC9, 0x21E);
    assert_int_equal(v->params[1], fn_addr((void (*)(void))Pnp));
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_adddevice_initializing(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(INITIALIZING, "pnp.adddevice_initializing", 0xC9, 0x243);
    assert_int_equal(v->params[1], fn_addr((void (*)(void))AddDevice));
    assert_int_equal(v->params[2], 0);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_attach_flags(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(NO_IO_FLAG, "dev.attach_flags", 0xC9, 0x244);
    assert_int_equal(v->params[1], fn_addr((void (*)(void))AddDevice));
    assert_int_equal(v->params[2], 0);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
    v = broken(BOTH_IO_FLAGS, "dev.attach_flags", 0xC9, 0x245);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_not_pdo(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(NOT_PDO, "pnp.not_pdo", 0xC9, 0x24D);
    assert_true(v->params[1] != 0);
    assert_int_equal(v->params[2], 0);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_wmi_not_forwarded(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(WMI_COMPLETED, "wmi.not_forwarded", 0xC9, 0x220);
    assert_true(v->params[1] != 0);
    assert_int_equal(v->params[2], (uintptr_t)g_sent);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

static void test_wmi_registered(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(WMI_LEFT, "wmi.registered", 0xC4, 0xDB);
    assert_int_equal(v->params[1], (uintptr_t)g_fdo);
    assert_int_equal(v->params[2], 0);
    assert_int_equal(v->params[3], 0);
}

static void test_no_dispatch(void **state)
{
    (void)state;
    const kdpc_violation *v = broken(NO_POWER_ROUTINE, "pnp.no_dispatch", 0xC9, 0x21F);
    assert_true(v->params[1] != 0);
    assert_int_equal(v->params[2], (uintptr_t)g_sent);
    assert_int_equal(v->params[3], (uintptr_t)g_fdo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_driver_runs_clean),
        cmocka_unit_test(test_irp_init),
        cmocka_unit_test(test_irp_init_caps_garbage_not_read),
        cmocka_unit_test(test_system_irp),
        cmocka_unit_test(test_irp_status),
        cmocka_unit_test(test_not_passed_down),
        cmocka_unit_test(test_surprise_remove_delete),
        cmocka_unit_test(test_delete_before_lower),
        cmocka_unit_test(test_remove_not_deleted),
        cmocka_unit_test(test_adddevice_initializing),
        cmocka_unit_test(test_attach_flags),
        cmocka_unit_test(test_not_pdo),
        cmocka_unit_test(test_wmi_not_forwarded),
        cmocka_unit_test(test_wmi_registered),
        cmocka_unit_test(test_no_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
