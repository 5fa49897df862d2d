/* SPDX-License-Identifier: MIT */
/*
 * test_ob_handles.c - the handle table and object references of
 * <kdpc/wdm/ob.h> (docs/facts/memory.md, "Objects and handles"):
 * OBJECT_ATTRIBUTES, thread handles, ZwClose, ObReferenceObjectByHandle,
 * NtCurrentThread, handle values, the IRQL rule ob.irql.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kdpc_test.h"

static struct {
    NTSTATUS st[16];
    HANDLE h[4];
    PVOID obj[4];
    OBJECT_HANDLE_INFORMATION info;
    volatile LONG ran;
    int done;
} R;

static void settle(LONGLONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -ms * 10000;
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static void Worker(PVOID ctx)
{
    (void)ctx;
    settle(1);
    InterlockedIncrement(&R.ran);
}

static kdpc_status run(kdpc_entry_fn *entry)
{
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(2, 7);
    kdpc_status st = kdpc_machine_run(m, entry, NULL);
    kdpc_machine_destroy(m);
    return st;
}

/* ------------------------------------------------------------------ */
/* OBJECT_ATTRIBUTES                                                   */

static void test_object_attributes_layout_and_init(void **state)
{
    (void)state;
    /* x64 layout: ULONG, then pointers aligned to 8 */
    assert_int_equal(sizeof(OBJECT_ATTRIBUTES), 48);
    assert_int_equal(offsetof(OBJECT_ATTRIBUTES, RootDirectory), 8);
    assert_int_equal(offsetof(OBJECT_ATTRIBUTES, ObjectName), 16);
    assert_int_equal(offsetof(OBJECT_ATTRIBUTES, Attributes), 24);
    assert_int_equal(offsetof(OBJECT_ATTRIBUTES, SecurityDescriptor), 32);
    assert_int_equal(offsetof(OBJECT_ATTRIBUTES, SecurityQualityOfService), 40);
    OBJECT_ATTRIBUTES oa;
    memset(&oa, 0xCC, sizeof(oa));
    UNICODE_STRING name = {0, 0, NULL};
    int sd = 0; /* only its address is stored; read once below as a runtime condition */
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE,
                               (HANDLE)(uintptr_t)0x40, &sd);
    assert_int_equal(oa.Length, sizeof(OBJECT_ATTRIBUTES));
    assert_ptr_equal(oa.ObjectName, &name);
    assert_int_equal(oa.Attributes, 0x240);
    assert_ptr_equal(oa.RootDirectory, (HANDLE)(uintptr_t)0x40);
    assert_ptr_equal(oa.SecurityDescriptor, &sd);
    assert_null(oa.SecurityQualityOfService);
    /* a statement: fine without braces in an if/else */
    if (sd == 12345)
        InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
    else
        InitializeObjectAttributes(&oa, NULL, OBJ_INHERIT, NULL, NULL);
    assert_int_equal(oa.Attributes, OBJ_INHERIT);
}

static void test_obj_flag_and_access_values(void **state)
{
    (void)state;
    assert_int_equal(OBJ_INHERIT, 0x2);
    assert_int_equal(OBJ_PERMANENT, 0x10);
    assert_int_equal(OBJ_EXCLUSIVE, 0x20);
    assert_int_equal(OBJ_CASE_INSENSITIVE, 0x40);
    assert_int_equal(OBJ_OPENIF, 0x80);
    assert_int_equal(OBJ_OPENLINK, 0x100);
    assert_int_equal(OBJ_KERNEL_HANDLE, 0x200);
    assert_int_equal(OBJ_FORCE_ACCESS_CHECK, 0x400);
    assert_int_equal(OBJ_IGNORE_IMPERSONATED_DEVICEMAP, 0x800);
    assert_int_equal(OBJ_DONT_REPARSE, 0x1000);
    assert_int_equal(OBJ_VALID_ATTRIBUTES, 0x1FF2);
    assert_int_equal(SYNCHRONIZE, 0x100000);
    assert_int_equal(STANDARD_RIGHTS_REQUIRED, 0xF0000);
    assert_int_equal(EVENT_QUERY_STATE, 1);
    assert_int_equal(EVENT_MODIFY_STATE, 2);
    assert_int_equal(EVENT_ALL_ACCESS, 0x1F0003);
}

/* ------------------------------------------------------------------ */
/* Thread handles, ZwClose                                             */

static void ThreadHandles(void *ctx)
{
    (void)ctx;
    /* the free kernel's answer to a closed handle (ob.bad_handle off) */
    (void)kdpc_rule_set(kdpc_current_machine(), "ob.bad_handle", KDPC_RULE_OFF);
    R.st[0] = PsCreateSystemThread(&R.h[0], THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    R.st[1] = ObReferenceObjectByHandle(R.h[0], SYNCHRONIZE, *PsThreadType, KernelMode, &R.obj[0],
                                        &R.info);
    R.st[2] = ObReferenceObjectByHandle(R.h[0], SYNCHRONIZE, *ExEventObjectType, KernelMode,
                                        &R.obj[1], NULL);
    R.st[3] = ZwClose(R.h[0]);
    R.st[4] = ZwClose(R.h[0]); /* twice */
    R.st[5] = ObReferenceObjectByHandle(R.h[0], SYNCHRONIZE, NULL, KernelMode, &R.obj[2], NULL);
    /* the reference keeps the thread object: wait for its end */
    R.st[6] = KeWaitForSingleObject(R.obj[0], Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(R.obj[0]);
    R.st[7] = ZwClose(NULL);
    R.st[8] = ZwClose((HANDLE)(uintptr_t)3);
    R.done = 1;
}

static void test_thread_handle_reference_close(void **state)
{
    (void)state;
    assert_int_equal(run(ThreadHandles), KDPC_OK);
    assert_int_equal(R.done, 1);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    uintptr_t v = (uintptr_t)R.h[0];
    assert_int_equal(v & 3u, 0);
    assert_true((v & 0x80000000u) != 0); /* a kernel handle */
    assert_true((intptr_t)v < 0);        /* sign-extended, as on x64 */
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_non_null(R.obj[0]);
    assert_int_equal(R.info.GrantedAccess, THREAD_ALL_ACCESS);
    assert_int_equal(R.info.HandleAttributes, OBJ_KERNEL_HANDLE);
    assert_int_equal(R.st[2], STATUS_OBJECT_TYPE_MISMATCH);
    assert_null(R.obj[1]);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.st[4], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[5], STATUS_INVALID_HANDLE);
    assert_null(R.obj[2]);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    assert_int_equal(R.ran, 1);
    assert_int_equal(R.st[7], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[8], STATUS_INVALID_HANDLE);
}

/* A closed slot is given out again, first (LIFO), and distinct open handles differ. */
static void HandleReuse(void *ctx)
{
    (void)ctx;
    R.st[0] = PsCreateSystemThread(&R.h[0], THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    R.st[1] = PsCreateSystemThread(&R.h[1], THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    R.st[2] = ZwClose(R.h[0]);
    R.st[3] = PsCreateSystemThread(&R.h[2], THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    R.st[4] = ZwClose(R.h[1]);
    R.st[5] = ZwClose(R.h[2]);
    R.done = 1;
}

static void test_closed_handle_value_is_reused(void **state)
{
    (void)state;
    assert_int_equal(run(HandleReuse), KDPC_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(R.st[i], STATUS_SUCCESS);
    assert_true(R.h[0] != R.h[1]);
    assert_ptr_equal(R.h[2], R.h[0]);
    assert_int_equal(R.ran, 3);
}

/* NtCurrentThread(): the caller's own thread object, referenced. */
static void CurrentThread(void *ctx)
{
    (void)ctx;
    R.st[0] = ObReferenceObjectByHandle(NtCurrentThread(), THREAD_ALL_ACCESS, *PsThreadType,
                                        KernelMode, &R.obj[0], NULL);
    R.obj[1] = KeGetCurrentThread();
    if (NT_SUCCESS(R.st[0]))
        ObDereferenceObject(R.obj[0]);
    R.st[1] = ObReferenceObjectByHandle(NtCurrentThread(), 0, *PsThreadType, KernelMode, NULL,
                                        NULL); /* no Object pointer */
    R.done = 1;
}

static void test_nt_current_thread(void **state)
{
    (void)state;
    assert_int_equal(run(CurrentThread), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_ptr_equal(R.obj[0], R.obj[1]);
    assert_int_equal(R.st[1], STATUS_INVALID_HANDLE);
}

/* A kernel handle cannot be referenced with UserMode (it is no user-mode handle). */
static void KernelHandleUserMode(void *ctx)
{
    (void)ctx;
    R.st[0] = PsCreateSystemThread(&R.h[0], THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    R.st[1] =
        ObReferenceObjectByHandle(R.h[0], SYNCHRONIZE, *PsThreadType, UserMode, &R.obj[0], NULL);
    R.st[2] = ZwClose(R.h[0]);
    R.done = 1;
}

static void test_kernel_handle_with_user_mode_is_invalid(void **state)
{
    (void)state;
    assert_int_equal(run(KernelHandleUserMode), KDPC_OK);
    assert_int_equal(R.st[1], STATUS_INVALID_HANDLE);
    assert_null(R.obj[0]);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* ob.irql                                                             */

static void RefAtApc(void *ctx)
{
    (void)ctx;
    R.st[0] = PsCreateSystemThread(&R.h[0], THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    R.st[1] =
        ObReferenceObjectByHandle(R.h[0], SYNCHRONIZE, *PsThreadType, KernelMode, &R.obj[0], NULL);
    KeLowerIrql(old);
    R.done = 1;
}

static void test_reference_by_handle_above_passive_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_status st = kdpc_machine_run(m, RefAtApc, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ob.irql", 0xC4);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], 0x2001B);
    assert_int_equal(v->params[1], APC_LEVEL);
    assert_int_equal(R.done, 0);
    kdpc_machine_destroy(m);
    /* as a warning: STATUS_INVALID_HANDLE, nothing referenced */
    memset(&R, 0, sizeof(R));
    m = kt_machine(1, 3);
    assert_int_equal(kdpc_rule_set(m, "ob.irql", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, RefAtApc, NULL), KDPC_OK);
    KT_ASSERT_WARNING(m, "ob.irql");
    assert_int_equal(R.st[1], STATUS_INVALID_HANDLE);
    assert_null(R.obj[0]);
    kdpc_machine_destroy(m);
}

static void CloseAtDispatch(void *ctx)
{
    (void)ctx;
    R.st[0] = PsCreateSystemThread(&R.h[0], THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    R.st[1] = ZwClose(R.h[0]);
    KeLowerIrql(old);
    R.st[2] = ZwClose(R.h[0]);
    R.done = 1;
}

static void test_zw_close_above_passive_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_status st = kdpc_machine_run(m, CloseAtDispatch, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ob.irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x2001F);
    kdpc_machine_destroy(m);
    /* off: the handle is closed anyway */
    memset(&R, 0, sizeof(R));
    m = kt_machine(1, 3);
    assert_int_equal(kdpc_rule_set(m, "ob.irql", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, CloseAtDispatch, NULL), KDPC_OK);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_INVALID_HANDLE);
    kdpc_machine_destroy(m);
}

/* The fixed twin: the same calls at PASSIVE_LEVEL report nothing. */
static void Clean(void *ctx)
{
    (void)ctx;
    R.st[0] = PsCreateSystemThread(&R.h[0], THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    R.st[1] =
        ObReferenceObjectByHandle(R.h[0], SYNCHRONIZE, *PsThreadType, KernelMode, &R.obj[0], NULL);
    R.st[2] = ZwClose(R.h[0]);
    ObDereferenceObject(R.obj[0]);
    R.done = 1;
}

static void test_passive_twin_is_clean(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 3);
    assert_int_equal(kdpc_machine_run(m, Clean, NULL), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "ob.irql");
    KT_ASSERT_NO_VIOLATION(m, "obj.invalid");
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_attributes_layout_and_init),
        cmocka_unit_test(test_obj_flag_and_access_values),
        cmocka_unit_test(test_thread_handle_reference_close),
        cmocka_unit_test(test_closed_handle_value_is_reused),
        cmocka_unit_test(test_nt_current_thread),
        cmocka_unit_test(test_kernel_handle_with_user_mode_is_invalid),
        cmocka_unit_test(test_reference_by_handle_above_passive_bugchecks),
        cmocka_unit_test(test_zw_close_above_passive_bugchecks),
        cmocka_unit_test(test_passive_twin_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
