/* SPDX-License-Identifier: MIT */
/*
 * test_dv_pool.c - Driver Verifier's pool, lookaside and MDL checks (docs/rules.md), each as a
 * small broken routine asserting rule, code and P1..P4, and its fixed twin that runs clean:
 *   mem.zero_alloc       0xC4/0x00  a zero-byte allocation;
 *   mem.bad_free         0xC4/0x13 double free, 0x13E inside a block, 0x10 no block or NULL,
 *                        0x16 wrong tag; off: the kernel's 0xC2;
 *   mem.overrun          0xC1/0x24  special pool: written past the end, seen at the free;
 *   mem.overrun_tracked  0xC4/0x51  the same through pool tracking, special pool off;
 *   mem.leak             0xC4/0x62  a driver unloads owning pool;
 *   mem.alloc_unloaded   0xC4/0x61  a thread of an unloaded driver allocates pool;
 *   lookaside.misuse     0xC4/0xCA, 0xCB, 0xCC, 0xCD;
 *   mm.mdl_flags         0xC4/0x7C, 0x7D, 0x7F, 0xB0, 0xB3;
 *   mem.paged_code       0xD1 (P3 8, execute) PAGED_CODE above APC_LEVEL;
 *   mem.paged_object     0xC4/0xE1 a synchronization object, 0x131 a work item, in paged pool;
 *   rtl.copy_overlap     0xC4/0xF0  RtlCopyMemory over overlapping buffers;
 * and that turning a class off stops its checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TAG 'lPvD'

typedef struct {
    PUCHAR a;
    PVOID list;
    PMDL mdl;
    USHORT flags;
    PDRIVER_OBJECT drv;
    int fixed;
    int done;
} dv_state;

static dv_state S;    /* the running routine's */
static dv_state B;    /* broken_then_fixed: the broken run's, for its P1..P4 */
static uint64_t P[4]; /* broken_then_fixed: the broken run's P1..P4 */

static kdpc_machine *machine(uint64_t seed)
{
    memset(&S, 0, sizeof S);
    return kt_machine(1, seed);
}

static const kdpc_violation *run_bugcheck(kdpc_machine *m, kdpc_entry_fn *fn, const char *rule,
                                          uint32_t code)
{
    kdpc_status st = kdpc_machine_run(m, fn, NULL);
    KT_ASSERT_BUGCHECK(m, st, rule, code);
    assert_int_equal(S.done, 0);
    return kdpc_machine_bugcheck(m);
}

static void run_clean(kdpc_machine *m, kdpc_entry_fn *fn, const char *rule)
{
    S.fixed = 1;
    assert_int_equal(kdpc_machine_run(m, fn, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, rule);
    assert_int_equal(S.done, 1);
}

static void assert_params(const uint64_t *params, uint64_t p1, uint64_t p2, uint64_t p3,
                          uint64_t p4)
{
    assert_int_equal(params[0], p1);
    assert_int_equal(params[1], p2);
    assert_int_equal(params[2], p3);
    assert_int_equal(params[3], p4);
}

/* The usual pair: fn broken on a fresh machine bugchecks with rule and code (its P1..P4 kept in P
 * and its state in B, for the test to check), then fn fixed on another of the same seed runs
 * clean. */
static void broken_then_fixed(uint64_t seed, kdpc_entry_fn *fn, const char *rule, uint32_t code)
{
    kdpc_machine *m = machine(seed);
    const kdpc_violation *v = run_bugcheck(m, fn, rule, code);
    memcpy(P, v->params, sizeof P);
    B = S;
    kdpc_machine_destroy(m);
    m = machine(seed);
    run_clean(m, fn, rule);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* mem.zero_alloc                                                      */

static void zero_alloc(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(PagedPool, S.fixed ? 16 : 0, TAG);
    if (S.a != NULL)
        ExFreePoolWithTag(S.a, TAG);
    S.done = 1;
}

static void test_zero_byte_allocation_is_c4_00(void **state)
{
    (void)state;
    broken_then_fixed(1, zero_alloc, "mem.zero_alloc", 0xC4);
    assert_params(P, 0x00, PASSIVE_LEVEL, 1 /* paged */, 0);
}

/* ------------------------------------------------------------------ */
/* mem.bad_free                                                        */

static UCHAR not_pool[32];

static void double_free(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(NonPagedPoolNx, 48, TAG);
    ExFreePoolWithTag(S.a, TAG);
    if (!S.fixed)
        ExFreePoolWithTag(S.a, TAG);
    S.done = 1;
}

static void free_inside(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(PagedPool, 64, TAG);
    ExFreePool(S.fixed ? S.a : S.a + 8);
    S.done = 1;
}

static void free_null(void *ctx)
{
    (void)ctx;
    S.a = S.fixed ? ExAllocatePoolWithTag(NonPagedPoolNx, 8, TAG) : NULL;
    ExFreePool(S.a);
    S.done = 1;
}

static void free_static(void *ctx)
{
    (void)ctx;
    S.a = S.fixed ? ExAllocatePoolWithTag(NonPagedPoolNx, 8, TAG) : not_pool;
    ExFreePool(S.a);
    S.done = 1;
}

static void free_wrong_tag(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(NonPagedPoolNx, 8, TAG);
    ExFreePoolWithTag(S.a, S.fixed ? TAG : 'gnrW');
    S.done = 1;
}

static void test_double_free_is_c4_13(void **state)
{
    (void)state;
    broken_then_fixed(2, double_free, "mem.bad_free", 0xC4);
    assert_params(P, 0x13, 0, (uintptr_t)B.a, 0);
}

static void test_free_inside_a_block_is_c4_13e(void **state)
{
    (void)state;
    broken_then_fixed(3, free_inside, "mem.bad_free", 0xC4);
    assert_params(P, 0x13E, (uintptr_t)B.a + 8, (uintptr_t)B.a, 0);
}

static void test_free_of_null_is_c4_10_and_c2_46_with_the_rule_off(void **state)
{
    (void)state;
    kdpc_machine *m = machine(4);
    const kdpc_violation *v = run_bugcheck(m, free_null, "mem.bad_free", 0xC4);
    assert_params(v->params, 0x10, 0, 0, 0);
    kdpc_machine_destroy(m);
    /* off: Windows without Verifier stops too, with BAD_POOL_CALLER */
    m = machine(4);
    assert_int_equal(kdpc_rule_set(m, "mem.bad_free", KDPC_RULE_OFF), KDPC_OK);
    v = run_bugcheck(m, free_null, "ke.bugcheck", 0xC2);
    assert_params(v->params, 0x46, 0, 0, 0);
    KT_ASSERT_NO_VIOLATION(m, "mem.bad_free");
    kdpc_machine_destroy(m);
    m = machine(4);
    run_clean(m, free_null, "mem.bad_free");
    kdpc_machine_destroy(m);
}

static void test_free_of_no_block_is_c4_10(void **state)
{
    (void)state;
    broken_then_fixed(5, free_static, "mem.bad_free", 0xC4);
    assert_params(P, 0x10, (uintptr_t)not_pool, 0, 0);
}

static void test_wrong_tag_is_c4_16_and_c2_0a_as_a_warning(void **state)
{
    (void)state;
    kdpc_machine *m = machine(6);
    const kdpc_violation *v = run_bugcheck(m, free_wrong_tag, "mem.bad_free", 0xC4);
    assert_params(v->params, 0x16, 0, (uintptr_t)S.a, 0);
    kdpc_machine_destroy(m);
    m = machine(6);
    assert_int_equal(kdpc_rule_set(m, "mem.bad_free", KDPC_RULE_WARN), KDPC_OK);
    v = run_bugcheck(m, free_wrong_tag, "ke.bugcheck", 0xC2);
    assert_params(v->params, 0x0A, (uintptr_t)S.a, TAG, 'gnrW');
    KT_ASSERT_WARNING(m, "mem.bad_free");
    kdpc_machine_destroy(m);
    m = machine(6);
    run_clean(m, free_wrong_tag, "mem.bad_free");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* mem.overrun, mem.overrun_tracked                                    */

static void overrun(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(NonPagedPoolNx, 10, TAG);
    memset(S.a, 0x5A, S.fixed ? 10 : 11);
    ExFreePoolWithTag(S.a, TAG);
    S.done = 1;
}

static void test_overrun_is_c1_24_with_special_pool(void **state)
{
    (void)state;
    broken_then_fixed(7, overrun, "mem.overrun", 0xC1);
    assert_params(P, (uintptr_t)B.a, (uintptr_t)B.a + 10, 0, 0x24);
}

static void test_overrun_is_c4_51_with_pool_tracking_alone(void **state)
{
    (void)state;
    kdpc_machine *m = machine(8);
    assert_int_equal(kdpc_verifier_class_set(m, "special_pool", false), KDPC_OK);
    const kdpc_violation *v = run_bugcheck(m, overrun, "mem.overrun_tracked", 0xC4);
    assert_params(v->params, 0x51, (uintptr_t)S.a, (uintptr_t)S.a + 10, 10);
    KT_ASSERT_NO_VIOLATION(m, "mem.overrun");
    kdpc_machine_destroy(m);
    m = machine(8);
    assert_int_equal(kdpc_verifier_class_set(m, "special_pool", false), KDPC_OK);
    run_clean(m, overrun, "mem.overrun_tracked");
    kdpc_machine_destroy(m);
}

static void test_overrun_goes_unseen_with_both_classes_off(void **state)
{
    (void)state;
    kdpc_machine *m = machine(9);
    assert_int_equal(kdpc_verifier_class_set(m, "special_pool", false), KDPC_OK);
    assert_int_equal(kdpc_verifier_class_set(m, "pool_tracking", false), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, overrun, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(S.done, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* mem.leak                                                            */

static PVOID leak_block;

static void LeakUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    if (S.fixed)
        ExFreePoolWithTag(leak_block, TAG);
}

static NTSTATUS LeakEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->DriverUnload = LeakUnload;
    leak_block = ExAllocatePoolWithTag(PagedPool, 100, TAG);
    return leak_block != NULL ? STATUS_SUCCESS : STATUS_NO_MEMORY;
}

static void leak(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dvleak", LeakEntry, &S.drv)))
        return;
    S.list = &S.drv->DriverName; /* the driver's name, P2 of 0x62 */
    (void)kdpc_driver_unload(S.drv);
    S.done = 1;
}

static void test_unload_with_pool_left_is_c4_62(void **state)
{
    (void)state;
    broken_then_fixed(10, leak, "mem.leak", 0xC4);
    assert_params(P, 0x62, (uintptr_t)B.list, 0, 1);
    /* pool tracking off: the leak is the machine's, reported only to the log at destroy */
    kdpc_machine *m = machine(10);
    assert_int_equal(kdpc_verifier_class_set(m, "pool_tracking", false), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, leak, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mem.leak");
    size_t n = 0;
    assert_int_equal(kdpc_pool_outstanding(m, TAG, &n, NULL), KDPC_OK);
    assert_int_equal(n, 1);
    kdpc_machine_destroy(m);
}

/* Pool a dispatch routine allocates is its own driver's, not its caller's: driver A's DriverEntry
 * sends an IOCTL to driver B, whose dispatch routine allocates a cache on first use and frees it
 * in B's DriverUnload. Unloading A first is clean; B leaving the cache is B's leak (P2 B's name). */

#define IOCTL_DV_CACHE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

static PDEVICE_OBJECT svc_dev;
static PVOID svc_cache;

static NTSTATUS SvcIoctl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    if (svc_cache == NULL)
        svc_cache = ExAllocatePoolWithTag(NonPagedPoolNx, 64, TAG);
    Irp->IoStatus.Status = svc_cache != NULL ? STATUS_SUCCESS : STATUS_NO_MEMORY;
    Irp->IoStatus.Information = 0;
    NTSTATUS st = Irp->IoStatus.Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return st;
}

static void SvcUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    if (S.fixed && svc_cache != NULL)
        ExFreePoolWithTag(svc_cache, TAG);
    svc_cache = NULL;
    IoDeleteDevice(svc_dev);
}

static NTSTATUS SvcEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->DriverUnload = SvcUnload;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SvcIoctl;
    return IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &svc_dev);
}

static void ClientUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
}

static NTSTATUS ClientEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->DriverUnload = ClientUnload;
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp =
        IoBuildDeviceIoControlRequest(IOCTL_DV_CACHE, svc_dev, NULL, 0, NULL, 0, FALSE, &ev, &iosb);
    if (irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS st = IoCallDriver(svc_dev, irp);
    if (st == STATUS_PENDING) {
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
        st = iosb.Status;
    }
    return st;
}

static void cross_driver(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    PDRIVER_OBJECT client = NULL;
    if (!NT_SUCCESS(kdpc_driver_load(m, "dvsvc", SvcEntry, &S.drv)) ||
        !NT_SUCCESS(kdpc_driver_load(m, "dvclient", ClientEntry, &client)))
        return;
    assert_non_null(svc_cache);
    S.list = &S.drv->DriverName;
    (void)kdpc_driver_unload(client); /* the cache is not the client's */
    (void)kdpc_driver_unload(S.drv);
    S.done = 1;
}

static void test_pool_a_dispatch_routine_allocates_is_its_drivers(void **state)
{
    (void)state;
    broken_then_fixed(12, cross_driver, "mem.leak", 0xC4);
    assert_params(P, 0x62, (uintptr_t)B.list, 0, 1);
}

/* Pool the kernel allocated for the driver (RtlAnsiStringToUnicodeString's buffer) is not the
 * driver's own allocation: Windows' pool tracking only counts what the driver's code allocates,
 * so a driver unloading with such a buffer is no mem.leak (the block stays outstanding: the
 * machine logs it at destroy). */

static UNICODE_STRING kept_name;

static void KeptUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
}

static NTSTATUS KeptEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->DriverUnload = KeptUnload;
    ANSI_STRING a;
    RtlInitAnsiString(&a, "dvkept");
    return RtlAnsiStringToUnicodeString(&kept_name, &a, TRUE);
}

static void kept_string(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dvkept", KeptEntry, &S.drv)))
        return;
    (void)kdpc_driver_unload(S.drv);
    S.done = 1;
}

static void test_pool_the_kernel_allocated_for_the_driver_is_no_leak_of_it(void **state)
{
    (void)state;
    kdpc_machine *m = machine(13);
    assert_int_equal(kdpc_machine_run(m, kept_string, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mem.leak");
    assert_int_equal(S.done, 1);
    size_t n = 0;
    assert_int_equal(kdpc_pool_outstanding(m, 0, &n, NULL), KDPC_OK);
    assert_int_equal(n, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* mem.alloc_unloaded                                                  */

static KEVENT late_done;

static void LateThread(PVOID Context)
{
    (void)Context;
    LARGE_INTEGER ms = {.QuadPart = -10000};
    (void)KeDelayExecutionThread(KernelMode, FALSE, &ms);
    PVOID b = ExAllocatePoolWithTag(NonPagedPoolNx, 24, TAG);
    if (b != NULL)
        ExFreePoolWithTag(b, TAG);
    (void)KeSetEvent(&late_done, IO_NO_INCREMENT, FALSE);
}

static void LateUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    if (S.fixed) /* waits for its thread before it goes */
        (void)KeWaitForSingleObject(&late_done, Executive, KernelMode, FALSE, NULL);
}

static NTSTATUS LateEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DriverObject->DriverUnload = LateUnload;
    KeInitializeEvent(&late_done, NotificationEvent, FALSE);
    HANDLE h;
    NTSTATUS st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, LateThread, NULL);
    if (NT_SUCCESS(st))
        (void)ZwClose(h);
    return st;
}

static void late_alloc(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dvlate", LateEntry, &S.drv)))
        return;
    (void)kdpc_driver_unload(S.drv);
    (void)KeWaitForSingleObject(&late_done, Executive, KernelMode, FALSE, NULL);
    S.done = 1;
}

static void test_allocation_by_an_unloaded_drivers_thread_is_c4_61(void **state)
{
    (void)state;
    broken_then_fixed(27, late_alloc, "mem.alloc_unloaded", 0xC4);
    assert_params(P, 0x61, 0, 24, 1);
}

/* ------------------------------------------------------------------ */
/* lookaside.misuse                                                    */

static NPAGED_LOOKASIDE_LIST g_list;

static void lookaside_twice(void *ctx)
{
    (void)ctx;
    S.list = &g_list;
    ExInitializeNPagedLookasideList(&g_list, NULL, NULL, 0, 64, TAG, 0);
    if (!S.fixed)
        ExInitializeNPagedLookasideList(&g_list, NULL, NULL, 0, 64, TAG, 0);
    PVOID e = ExAllocateFromNPagedLookasideList(&g_list);
    if (e != NULL)
        ExFreeToNPagedLookasideList(&g_list, e);
    ExDeleteNPagedLookasideList(&g_list);
    S.done = 1;
}

static void lookaside_delete_uninit(void *ctx)
{
    (void)ctx;
    memset(&g_list, 0, sizeof(g_list));
    S.list = &g_list;
    if (S.fixed)
        ExInitializeNPagedLookasideList(&g_list, NULL, NULL, 0, 64, TAG, 0);
    ExDeleteNPagedLookasideList(&g_list);
    S.done = 1;
}

typedef struct EXT {
    ULONG pad[4];
    PAGED_LOOKASIDE_LIST list;
} EXT;

static void lookaside_in_freed_block(void *ctx)
{
    (void)ctx;
    EXT *x = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(EXT), TAG);
    S.a = (PUCHAR)x;
    S.list = &x->list;
    ExInitializePagedLookasideList(&x->list, NULL, NULL, 0, 32, TAG, 0);
    if (S.fixed)
        ExDeletePagedLookasideList(&x->list);
    ExFreePoolWithTag(x, TAG);
    S.done = 1;
}

static void lookaside_too_small(void *ctx)
{
    (void)ctx;
    S.list = &g_list;
    ExInitializeNPagedLookasideList(&g_list, NULL, NULL, 0, S.fixed ? 2 * sizeof(void *) : 4, TAG,
                                    0);
    ExDeleteNPagedLookasideList(&g_list);
    S.done = 1;
}

static void test_lookaside_initialised_twice_is_c4_ca(void **state)
{
    (void)state;
    broken_then_fixed(11, lookaside_twice, "lookaside.misuse", 0xC4);
    assert_params(P, 0xCA, (uintptr_t)&g_list, 0, 0);
}

static void test_lookaside_deleted_uninitialised_is_c4_cb(void **state)
{
    (void)state;
    broken_then_fixed(12, lookaside_delete_uninit, "lookaside.misuse", 0xC4);
    assert_params(P, 0xCB, (uintptr_t)&g_list, 0, 0);
}

static void test_lookaside_in_freed_pool_is_c4_cc(void **state)
{
    (void)state;
    broken_then_fixed(13, lookaside_in_freed_block, "lookaside.misuse", 0xC4);
    assert_params(P, 0xCC, (uintptr_t)B.list, (uintptr_t)B.a, sizeof(EXT));
}

static void test_lookaside_block_too_small_is_c4_cd(void **state)
{
    (void)state;
    broken_then_fixed(14, lookaside_too_small, "lookaside.misuse", 0xC4);
    assert_params(P, 0xCD, (uintptr_t)&g_list, 4, 2 * sizeof(void *));
}

static void test_lookaside_checks_stop_with_misc_checks_off(void **state)
{
    (void)state;
    kdpc_machine *m = machine(15);
    assert_int_equal(kdpc_verifier_class_set(m, "misc_checks", false), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, lookaside_twice, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "lookaside.misuse");
    assert_int_equal(S.done, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* mm.mdl_flags                                                        */

static UCHAR mdl_buf[256];

static void unlock_unlocked(void *ctx)
{
    (void)ctx;
    S.mdl = IoAllocateMdl(mdl_buf, sizeof(mdl_buf), FALSE, FALSE, NULL);
    if (S.fixed)
        MmProbeAndLockPages(S.mdl, KernelMode, IoWriteAccess);
    S.flags = (USHORT)S.mdl->MdlFlags;
    MmUnlockPages(S.mdl);
    IoFreeMdl(S.mdl);
    S.done = 1;
}

static void unlock_nonpaged(void *ctx)
{
    (void)ctx;
    S.mdl = IoAllocateMdl(mdl_buf, sizeof(mdl_buf), FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(S.mdl);
    S.flags = (USHORT)S.mdl->MdlFlags;
    if (!S.fixed)
        MmUnlockPages(S.mdl);
    IoFreeMdl(S.mdl);
    S.done = 1;
}

static void lock_twice(void *ctx)
{
    (void)ctx;
    S.mdl = IoAllocateMdl(mdl_buf, sizeof(mdl_buf), FALSE, FALSE, NULL);
    MmProbeAndLockPages(S.mdl, KernelMode, IoReadAccess);
    S.flags = (USHORT)S.mdl->MdlFlags;
    if (!S.fixed)
        MmProbeAndLockPages(S.mdl, KernelMode, IoReadAccess);
    MmUnlockPages(S.mdl);
    IoFreeMdl(S.mdl);
    S.done = 1;
}

static void build_over_paged(void *ctx)
{
    (void)ctx;
    S.a = ExAllocatePoolWithTag(S.fixed ? NonPagedPoolNx : PagedPool, 128, TAG);
    S.mdl = IoAllocateMdl(S.a, 128, FALSE, FALSE, NULL);
    S.flags = (USHORT)S.mdl->MdlFlags;
    MmBuildMdlForNonPagedPool(S.mdl);
    IoFreeMdl(S.mdl);
    ExFreePoolWithTag(S.a, TAG);
    S.done = 1;
}

static void map_unlocked(void *ctx)
{
    (void)ctx;
    S.mdl = IoAllocateMdl(mdl_buf, sizeof(mdl_buf), FALSE, FALSE, NULL);
    if (S.fixed)
        MmProbeAndLockPages(S.mdl, KernelMode, IoWriteAccess);
    S.flags = (USHORT)S.mdl->MdlFlags;
    PVOID va =
        MmMapLockedPagesSpecifyCache(S.mdl, KernelMode, MmCached, NULL, FALSE, NormalPagePriority);
    if (va != NULL)
        MmUnmapLockedPages(va, S.mdl);
    if (S.fixed)
        MmUnlockPages(S.mdl);
    IoFreeMdl(S.mdl);
    S.done = 1;
}

static void system_address_unlocked(void *ctx)
{
    (void)ctx;
    S.mdl = IoAllocateMdl(mdl_buf, sizeof(mdl_buf), FALSE, FALSE, NULL);
    if (S.fixed)
        MmBuildMdlForNonPagedPool(S.mdl);
    S.flags = (USHORT)S.mdl->MdlFlags;
    (void)MmGetSystemAddressForMdlSafe(S.mdl, NormalPagePriority);
    IoFreeMdl(S.mdl);
    S.done = 1;
}

static void test_system_address_of_an_unlocked_mdl_is_c4_b3(void **state)
{
    (void)state;
    broken_then_fixed(25, system_address_unlocked, "mm.mdl_flags", 0xC4);
    assert_params(P, 0xB3, (uintptr_t)B.mdl, B.flags,
                  MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL);
}

static void free_mapped(void *ctx)
{
    (void)ctx;
    S.mdl = IoAllocateMdl(mdl_buf, sizeof(mdl_buf), FALSE, FALSE, NULL);
    MmProbeAndLockPages(S.mdl, KernelMode, IoWriteAccess);
    PVOID va =
        MmMapLockedPagesSpecifyCache(S.mdl, KernelMode, MmCached, NULL, FALSE, NormalPagePriority);
    S.flags = (USHORT)S.mdl->MdlFlags;
    if (S.fixed)
        MmUnmapLockedPages(va, S.mdl);
    IoFreeMdl(S.mdl);
    S.done = 1;
}

static void test_free_of_a_mapped_mdl_is_c4_b8(void **state)
{
    (void)state;
    broken_then_fixed(26, free_mapped, "mm.mdl_flags", 0xC4);
    assert_params(P, 0xB8, (uintptr_t)B.mdl, B.flags, 0);
}

static void test_unlock_of_pages_never_locked_is_c4_7c(void **state)
{
    (void)state;
    broken_then_fixed(16, unlock_unlocked, "mm.mdl_flags", 0xC4);
    assert_params(P, 0x7C, (uintptr_t)B.mdl, B.flags, 0);
}

static void test_unlock_of_a_nonpaged_pool_mdl_is_c4_7d(void **state)
{
    (void)state;
    broken_then_fixed(17, unlock_nonpaged, "mm.mdl_flags", 0xC4);
    assert_params(P, 0x7D, (uintptr_t)B.mdl, B.flags, 0);
}

static void test_locking_a_locked_mdl_is_c4_b0(void **state)
{
    (void)state;
    broken_then_fixed(18, lock_twice, "mm.mdl_flags", 0xC4);
    assert_params(P, 0xB0, (uintptr_t)B.mdl, B.flags, MDL_PAGES_LOCKED);
}

static void test_nonpaged_build_over_paged_pool_is_c4_7f(void **state)
{
    (void)state;
    broken_then_fixed(19, build_over_paged, "mm.mdl_flags", 0xC4);
    assert_params(P, 0x7F, PASSIVE_LEVEL, (uintptr_t)B.mdl, B.flags);
}

static void test_mapping_an_unlocked_mdl_is_c4_b3(void **state)
{
    (void)state;
    broken_then_fixed(20, map_unlocked, "mm.mdl_flags", 0xC4);
    assert_params(P, 0xB3, (uintptr_t)B.mdl, B.flags,
                  MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL);
}

/* ------------------------------------------------------------------ */
/* mem.paged_code                                                      */

static void paged_code(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(S.fixed ? APC_LEVEL : DISPATCH_LEVEL, &old);
    PAGED_CODE();
    KeLowerIrql(old);
    S.done = 1;
}

static void test_paged_code_at_dispatch_is_d1_execute(void **state)
{
    (void)state;
    kdpc_machine *m = machine(21);
    const kdpc_violation *v = run_bugcheck(m, paged_code, "mem.paged_code", 0xD1);
    assert_true(v->params[0] != 0);
    assert_int_equal(v->params[1], DISPATCH_LEVEL);
    assert_int_equal(v->params[2], 8);
    assert_int_equal(v->params[3], v->params[0]);
    kdpc_machine_destroy(m);
    m = machine(21);
    run_clean(m, paged_code, "mem.paged_code");
    kdpc_machine_destroy(m);
    m = machine(21); /* Force IRQL checking off: not checked */
    assert_int_equal(kdpc_verifier_class_set(m, "force_irql", false), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, paged_code, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "mem.paged_code");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* mem.paged_object                                                    */

static void paged_event(void *ctx)
{
    (void)ctx;
    PKEVENT e = ExAllocatePoolWithTag(S.fixed ? NonPagedPoolNx : PagedPool, sizeof(KEVENT), TAG);
    S.list = e;
    KeInitializeEvent(e, NotificationEvent, FALSE);
    (void)KeSetEvent(e, IO_NO_INCREMENT, FALSE);
    ExFreePoolWithTag(e, TAG);
    S.done = 1;
}

static void WorkRoutine(PVOID Context)
{
    (void)Context;
}

static void paged_work_item(void *ctx)
{
    (void)ctx;
    PWORK_QUEUE_ITEM w =
        ExAllocatePoolWithTag(S.fixed ? NonPagedPoolNx : PagedPool, sizeof(*w), TAG);
    S.list = w;
    ExInitializeWorkItem(w, WorkRoutine, NULL);
    ExQueueWorkItem(w, DelayedWorkQueue);
    LARGE_INTEGER ms = {.QuadPart = -10000}; /* let it run before its memory goes */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &ms);
    ExFreePoolWithTag(w, TAG);
    S.done = 1;
}

static void test_event_in_paged_pool_is_c4_e1(void **state)
{
    (void)state;
    broken_then_fixed(22, paged_event, "mem.paged_object", 0xC4);
    assert_params(P, 0xE1, (uintptr_t)B.list, 0, 0);
}

static void test_work_item_in_paged_pool_is_c4_131(void **state)
{
    (void)state;
    broken_then_fixed(23, paged_work_item, "mem.paged_object", 0xC4);
    assert_params(P, 0x131, (uintptr_t)B.list, 0, 0);
}

/* ------------------------------------------------------------------ */
/* rtl.copy_overlap                                                    */

static UCHAR copy_buf[32];

static void overlapping_copy(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 32; i++)
        copy_buf[i] = (UCHAR)i;
    if (S.fixed)
        RtlMoveMemory(copy_buf, copy_buf + 4, 16);
    else
        RtlCopyMemory(copy_buf, copy_buf + 4, 16);
    RtlCopyMemory(copy_buf + 16, copy_buf, 16); /* adjacent: no overlap */
    S.done = copy_buf[0] == 4 ? 1 : 2;
}

static void test_overlapping_copy_is_c4_f0(void **state)
{
    (void)state;
    broken_then_fixed(24, overlapping_copy, "rtl.copy_overlap", 0xC4);
    assert_params(P, 0xF0, (uintptr_t)copy_buf, (uintptr_t)copy_buf + 4, 16);
    /* Miscellaneous checks off: copied as RtlMoveMemory does */
    kdpc_machine *m = machine(24);
    assert_int_equal(kdpc_verifier_class_set(m, "misc_checks", false), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, overlapping_copy, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "rtl.copy_overlap");
    assert_int_equal(S.done, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_byte_allocation_is_c4_00),
        cmocka_unit_test(test_double_free_is_c4_13),
        cmocka_unit_test(test_free_inside_a_block_is_c4_13e),
        cmocka_unit_test(test_free_of_null_is_c4_10_and_c2_46_with_the_rule_off),
        cmocka_unit_test(test_free_of_no_block_is_c4_10),
        cmocka_unit_test(test_wrong_tag_is_c4_16_and_c2_0a_as_a_warning),
        cmocka_unit_test(test_overrun_is_c1_24_with_special_pool),
        cmocka_unit_test(test_overrun_is_c4_51_with_pool_tracking_alone),
        cmocka_unit_test(test_overrun_goes_unseen_with_both_classes_off),
        cmocka_unit_test(test_unload_with_pool_left_is_c4_62),
        cmocka_unit_test(test_pool_a_dispatch_routine_allocates_is_its_drivers),
        cmocka_unit_test(test_pool_the_kernel_allocated_for_the_driver_is_no_leak_of_it),
        cmocka_unit_test(test_allocation_by_an_unloaded_drivers_thread_is_c4_61),
        cmocka_unit_test(test_lookaside_initialised_twice_is_c4_ca),
        cmocka_unit_test(test_lookaside_deleted_uninitialised_is_c4_cb),
        cmocka_unit_test(test_lookaside_in_freed_pool_is_c4_cc),
        cmocka_unit_test(test_lookaside_block_too_small_is_c4_cd),
        cmocka_unit_test(test_lookaside_checks_stop_with_misc_checks_off),
        cmocka_unit_test(test_unlock_of_pages_never_locked_is_c4_7c),
        cmocka_unit_test(test_unlock_of_a_nonpaged_pool_mdl_is_c4_7d),
        cmocka_unit_test(test_locking_a_locked_mdl_is_c4_b0),
        cmocka_unit_test(test_nonpaged_build_over_paged_pool_is_c4_7f),
        cmocka_unit_test(test_mapping_an_unlocked_mdl_is_c4_b3),
        cmocka_unit_test(test_system_address_of_an_unlocked_mdl_is_c4_b3),
        cmocka_unit_test(test_free_of_a_mapped_mdl_is_c4_b8),
        cmocka_unit_test(test_paged_code_at_dispatch_is_d1_execute),
        cmocka_unit_test(test_event_in_paged_pool_is_c4_e1),
        cmocka_unit_test(test_work_item_in_paged_pool_is_c4_131),
        cmocka_unit_test(test_overlapping_copy_is_c4_f0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
