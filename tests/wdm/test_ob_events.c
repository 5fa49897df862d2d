/* SPDX-License-Identifier: MIT */
/*
 * test_ob_events.c - event objects shared between the test (as the user-mode
 * app, <kdpc/object.h>) and driver code: the app's handle passed to the
 * driver and referenced with ObReferenceObjectByHandle(UserMode), access
 * checks, lifetime, waits, IoCreateNotificationEvent /
 * IoCreateSynchronizationEvent and opening them by name
 * (docs/facts/memory.md, "Event objects").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kdpc_test.h"
#include <kdpc/object.h>

static struct {
    NTSTATUS st[24];
    HANDLE h[4];
    PKEVENT ev[4];
    BOOLEAN sig[8];
    UCHAR type[4];
    OBJECT_HANDLE_INFORMATION info;
    PKEVENT shared; /* what the "driver" thread signals */
    int done;
} R;

static void settle(LONGLONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -ms * 10000;
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static kdpc_status run(kdpc_entry_fn *entry)
{
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(2, 11);
    kdpc_status st = kdpc_machine_run(m, entry, NULL);
    kdpc_machine_destroy(m);
    return st;
}

/* The driver's side of an IOCTL that carries the app's event handle. */
static NTSTATUS DriverTakesHandle(HANDLE h, PKEVENT *out)
{
    return ObReferenceObjectByHandle(h, EVENT_MODIFY_STATE, *ExEventObjectType, UserMode,
                                     (PVOID *)out, NULL);
}

static void AppPassesHandle(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    R.st[0] = kdpc_user_event_create(m, TRUE, FALSE,
                                     EVENT_MODIFY_STATE | SYNCHRONIZE | EVENT_QUERY_STATE, &R.h[0]);
    R.st[1] = DriverTakesHandle(R.h[0], &R.ev[0]);
    R.st[2] = kdpc_user_event_state(m, R.h[0], &R.sig[0]);
    if (NT_SUCCESS(R.st[1]))
        R.type[0] = R.ev[0]->Header.Type;
    if (NT_SUCCESS(R.st[1]))
        (void)KeSetEvent(R.ev[0], IO_NO_INCREMENT, FALSE); /* the driver signals */
    R.st[3] = kdpc_user_event_state(m, R.h[0], &R.sig[1]);
    R.st[4] = kdpc_user_event_reset(m, R.h[0]);
    R.sig[2] = (BOOLEAN)KeReadStateEvent(R.ev[0]);
    R.st[5] = kdpc_user_event_set(m, R.h[0]);
    R.sig[3] = (BOOLEAN)KeReadStateEvent(R.ev[0]);
    R.st[6] = ObReferenceObjectByHandle(R.h[0], EVENT_ALL_ACCESS, *ExEventObjectType, UserMode,
                                        (PVOID *)&R.ev[1], &R.info); /* more than granted */
    R.st[7] = ObReferenceObjectByHandle(R.h[0], SYNCHRONIZE, *PsThreadType, UserMode,
                                        (PVOID *)&R.ev[2], NULL);
    R.st[8] =
        ObReferenceObjectByHandle(R.h[0], SYNCHRONIZE, NULL, UserMode, (PVOID *)&R.ev[3], &R.info);
    if (NT_SUCCESS(R.st[8]))
        ObDereferenceObject(R.ev[3]);
    /* the app closes its handle; the driver's reference keeps the event */
    R.st[9] = kdpc_user_event_close(m, R.h[0]);
    R.st[10] = kdpc_user_event_state(m, R.h[0], &R.sig[4]);
    R.st[11] = kdpc_user_event_close(m, R.h[0]);
    if (NT_SUCCESS(R.st[1])) {
        (void)KeResetEvent(R.ev[0]);
        (void)KeSetEvent(R.ev[0], IO_NO_INCREMENT, FALSE);
        R.sig[5] = (BOOLEAN)KeReadStateEvent(R.ev[0]);
        ObDereferenceObject(R.ev[0]); /* the last reference: the event goes */
    }
    R.done = 1;
}

static void test_app_event_handle_passed_to_driver(void **state)
{
    (void)state;
    assert_int_equal(run(AppPassesHandle), KDPC_OK);
    assert_int_equal(R.done, 1);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    uintptr_t v = (uintptr_t)R.h[0];
    assert_int_equal(v & 3u, 0);
    assert_true(v != 0 && v < 0x80000000u); /* a user-mode handle: no kernel bit */
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_non_null(R.ev[0]);
    assert_int_equal(R.type[0], NotificationEvent); /* manual reset */
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_false(R.sig[0]);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_true(R.sig[1]);
    assert_int_equal(R.st[4], STATUS_SUCCESS);
    assert_false(R.sig[2]);
    assert_int_equal(R.st[5], STATUS_SUCCESS);
    assert_true(R.sig[3]);
    assert_int_equal(R.st[6], STATUS_ACCESS_DENIED);
    assert_null(R.ev[1]);
    assert_int_equal(R.st[7], STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    assert_int_equal(R.info.GrantedAccess, EVENT_MODIFY_STATE | SYNCHRONIZE | EVENT_QUERY_STATE);
    assert_int_equal(R.info.HandleAttributes, 0);
    assert_int_equal(R.st[9], STATUS_SUCCESS);
    assert_int_equal(R.st[10], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[11], STATUS_INVALID_HANDLE);
    assert_true(R.sig[5]);
}

/* The app's own calls check the access its handle was granted. */
static void AppAccess(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    R.st[0] = kdpc_user_event_create(m, FALSE, TRUE, SYNCHRONIZE, &R.h[0]);
    R.st[1] = kdpc_user_event_set(m, R.h[0]);
    R.st[2] = kdpc_user_event_reset(m, R.h[0]);
    R.st[3] = kdpc_user_event_state(m, R.h[0], &R.sig[0]);
    R.st[4] = kdpc_user_event_wait(m, R.h[0], 0); /* signaled: a synchronization event resets */
    R.st[5] = kdpc_user_event_wait(m, R.h[0], 0);
    R.st[6] = kdpc_user_event_create(m, FALSE, FALSE, 0, &R.h[1]);
    R.st[7] = kdpc_user_event_wait(m, R.h[1], 0);
    R.st[8] = kdpc_user_event_close(m, R.h[0]);
    R.st[9] = kdpc_user_event_close(m, R.h[1]);
    /* bad input */
    R.st[10] = kdpc_user_event_create(m, FALSE, FALSE, 0, NULL);
    R.st[11] = kdpc_user_event_state(m, (HANDLE)(uintptr_t)0x1000, &R.sig[1]);
    R.st[12] = kdpc_user_event_state(m, R.h[0], NULL);
    R.st[13] = kdpc_user_event_set(m, NULL);
    R.done = 1;
}

static void test_app_calls_check_access_and_input(void **state)
{
    (void)state;
    assert_int_equal(run(AppAccess), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_ACCESS_DENIED);
    assert_int_equal(R.st[2], STATUS_ACCESS_DENIED);
    assert_int_equal(R.st[3], STATUS_ACCESS_DENIED);
    assert_int_equal(R.st[4], STATUS_SUCCESS);
    assert_int_equal(R.st[5], STATUS_TIMEOUT);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    assert_int_equal(R.st[7], STATUS_ACCESS_DENIED);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    assert_int_equal(R.st[9], STATUS_SUCCESS);
    assert_int_equal(R.st[10], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[11], STATUS_INVALID_HANDLE);
    assert_int_equal(R.st[12], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.st[13], STATUS_INVALID_HANDLE);
}

/* Generic rights are mapped to the event's own when the handle is made. */
static void GenericAccess(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    R.st[0] = kdpc_user_event_create(m, TRUE, FALSE, GENERIC_ALL, &R.h[0]);
    R.st[1] = DriverTakesHandle(R.h[0], &R.ev[0]);
    if (NT_SUCCESS(R.st[1]))
        ObDereferenceObject(R.ev[0]);
    R.st[2] = kdpc_user_event_create(m, TRUE, FALSE, GENERIC_READ, &R.h[1]);
    R.st[3] = kdpc_user_event_state(m, R.h[1], &R.sig[0]);
    R.st[4] = kdpc_user_event_set(m, R.h[1]);
    R.st[5] = DriverTakesHandle(R.h[1], &R.ev[1]);
    R.st[6] = kdpc_user_event_create(m, TRUE, FALSE, GENERIC_EXECUTE | GENERIC_WRITE, &R.h[2]);
    R.st[7] = kdpc_user_event_wait(m, R.h[2], 0);
    R.st[8] = kdpc_user_event_set(m, R.h[2]);
    R.st[9] = kdpc_user_event_state(m, R.h[2], &R.sig[1]);
    for (int i = 0; i < 3; i++)
        (void)kdpc_user_event_close(m, R.h[i]);
    R.done = 1;
}

static void test_generic_rights_are_mapped(void **state)
{
    (void)state;
    assert_int_equal(run(GenericAccess), KDPC_OK);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    assert_int_equal(R.st[4], STATUS_ACCESS_DENIED);
    assert_int_equal(R.st[5], STATUS_ACCESS_DENIED);
    assert_int_equal(R.st[7], STATUS_TIMEOUT);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    assert_int_equal(R.st[9], STATUS_ACCESS_DENIED);
}

static void test_native_calls_outside_simulated_code_fail(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    HANDLE h = (HANDLE)(uintptr_t)1;
    BOOLEAN s;
    assert_int_equal(kdpc_user_event_create(m, TRUE, FALSE, EVENT_ALL_ACCESS, &h),
                     STATUS_INVALID_PARAMETER);
    assert_null(h);
    assert_int_equal(kdpc_user_event_open(m, "x", EVENT_ALL_ACCESS, &h), STATUS_INVALID_PARAMETER);
    assert_int_equal(kdpc_user_event_state(m, h, &s), STATUS_INVALID_PARAMETER);
    assert_int_equal(kdpc_user_event_set(m, h), STATUS_INVALID_PARAMETER);
    assert_int_equal(kdpc_user_event_wait(m, h, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(kdpc_user_event_close(m, h), STATUS_INVALID_PARAMETER);
    assert_int_equal(kdpc_user_event_create(NULL, TRUE, FALSE, 0, &h), STATUS_INVALID_PARAMETER);
    kdpc_machine_destroy(m);
}

/* The app waits; a driver thread signals after 5 ms of virtual time. */
static void DriverSignals(PVOID ctx)
{
    (void)ctx;
    settle(5);
    (void)KeSetEvent(R.shared, IO_NO_INCREMENT, FALSE);
    ObDereferenceObject(R.shared);
}

static void AppWaits(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    R.st[0] = kdpc_user_event_create(m, FALSE, FALSE, EVENT_ALL_ACCESS, &R.h[0]);
    R.st[1] = DriverTakesHandle(R.h[0], &R.shared);
    R.st[2] = kdpc_user_event_wait(m, R.h[0], 1000000); /* 1 ms: too short */
    HANDLE t;
    R.st[3] = PsCreateSystemThread(&t, THREAD_ALL_ACCESS, NULL, NULL, NULL, DriverSignals, NULL);
    if (NT_SUCCESS(R.st[3]))
        (void)ZwClose(t);
    R.st[4] = kdpc_user_event_wait(m, R.h[0], -1);
    R.st[5] = kdpc_user_event_state(m, R.h[0], &R.sig[0]); /* the wait reset it */
    R.st[6] = kdpc_user_event_close(m, R.h[0]);
    R.done = 1;
}

static void test_app_waits_for_driver_signal(void **state)
{
    (void)state;
    assert_int_equal(run(AppWaits), KDPC_OK);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_int_equal(R.st[2], STATUS_TIMEOUT);
    assert_int_equal(R.st[4], STATUS_SUCCESS);
    assert_int_equal(R.st[5], STATUS_SUCCESS);
    assert_false(R.sig[0]);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
}

/* ------------------------------------------------------------------ */
/* Named events                                                        */

static void NamedEvents(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    UNICODE_STRING n;
    RtlInitUnicodeString(&n, L"\\BaseNamedObjects\\KdpcReady");
    R.ev[0] = IoCreateNotificationEvent(&n, &R.h[0]);
    R.sig[0] = R.ev[0] != NULL ? (BOOLEAN)KeReadStateEvent(R.ev[0]) : 2; /* new: signaled */
    R.type[0] = R.ev[0] != NULL ? R.ev[0]->Header.Type : 9;
    if (R.ev[0] != NULL)
        KeClearEvent(R.ev[0]);
    UNICODE_STRING upper;
    RtlInitUnicodeString(&upper, L"\\BASENAMEDOBJECTS\\kdpcready");
    R.ev[1] = IoCreateNotificationEvent(&upper, &R.h[1]); /* opens the same one */
    R.sig[1] = R.ev[1] != NULL ? (BOOLEAN)KeReadStateEvent(R.ev[1]) : 2;
    /* the app opens it by name */
    R.st[0] =
        kdpc_user_event_open(m, "Global\\KdpcReady", SYNCHRONIZE | EVENT_QUERY_STATE, &R.h[2]);
    R.st[1] = kdpc_user_event_state(m, R.h[2], &R.sig[2]);
    if (R.ev[0] != NULL)
        (void)KeSetEvent(R.ev[0], IO_NO_INCREMENT, FALSE);
    R.st[2] = kdpc_user_event_state(m, R.h[2], &R.sig[3]);
    R.st[3] = kdpc_user_event_open(m, "NoSuchEvent", SYNCHRONIZE, &R.h[3]);
    R.st[4] = kdpc_user_event_open(m, "", SYNCHRONIZE, &R.h[3]);
    R.st[5] = ZwClose(R.h[0]);
    R.st[6] = ZwClose(R.h[1]);
    R.st[7] = kdpc_user_event_state(m, R.h[2], &R.sig[4]); /* the app's handle keeps it */
    R.st[8] = kdpc_user_event_close(m, R.h[2]);
    /* every handle closed: the name is gone, a new event starts signaled again */
    R.st[9] = kdpc_user_event_open(m, "KdpcReady", SYNCHRONIZE, &R.h[3]);
    RtlInitUnicodeString(&n, L"\\BaseNamedObjects\\KdpcSync");
    R.ev[2] = IoCreateSynchronizationEvent(&n, &R.h[3]);
    R.sig[5] = R.ev[2] != NULL ? (BOOLEAN)KeReadStateEvent(R.ev[2]) : 2;
    R.type[2] = R.ev[2] != NULL ? R.ev[2]->Header.Type : 9;
    R.st[10] = R.ev[2] != NULL ? ZwClose(R.h[3]) : -1;
    /* bad names: NULL */
    UNICODE_STRING empty = {0, 0, NULL};
    R.ev[3] = IoCreateNotificationEvent(&empty, &R.h[3]);
    R.st[11] = R.h[3] == NULL ? STATUS_SUCCESS : -1;
    R.ev[3] = IoCreateNotificationEvent(NULL, &R.h[3]);
    R.st[12] = R.ev[3] == NULL && R.h[3] == NULL ? STATUS_SUCCESS : -1;
    R.done = 1;
}

static void test_named_events(void **state)
{
    (void)state;
    assert_int_equal(run(NamedEvents), KDPC_OK);
    assert_int_equal(R.done, 1);
    assert_non_null(R.ev[0]);
    assert_int_equal(R.type[0], NotificationEvent);
    assert_int_equal(R.sig[0], 1);
    assert_ptr_equal(R.ev[1], R.ev[0]);
    assert_true(R.h[1] != R.h[0]);
    assert_int_equal(R.sig[1], 0); /* opened, not reset to signaled */
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_false(R.sig[2]);
    assert_true(R.sig[3]);
    assert_int_equal(R.st[3], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(R.st[4], STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(R.st[5], STATUS_SUCCESS);
    assert_int_equal(R.st[6], STATUS_SUCCESS);
    assert_int_equal(R.st[7], STATUS_SUCCESS);
    assert_true(R.sig[4]);
    assert_int_equal(R.st[8], STATUS_SUCCESS);
    assert_int_equal(R.st[9], STATUS_OBJECT_NAME_NOT_FOUND);
    assert_non_null(R.ev[2]);
    assert_int_equal(R.type[2], SynchronizationEvent);
    assert_int_equal(R.sig[5], 1);
    assert_int_equal(R.st[10], STATUS_SUCCESS);
    assert_int_equal(R.st[11], STATUS_SUCCESS);
    assert_int_equal(R.st[12], STATUS_SUCCESS);
}

static void NamedAtApc(void *ctx)
{
    (void)ctx;
    UNICODE_STRING n;
    RtlInitUnicodeString(&n, L"\\BaseNamedObjects\\X");
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    R.ev[0] = IoCreateNotificationEvent(&n, &R.h[0]);
    KeLowerIrql(old);
    R.done = 1;
}

static void test_named_event_above_passive_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_status st = kdpc_machine_run(m, NamedAtApc, NULL);
    KT_ASSERT_BUGCHECK(m, st, "io.passive_irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], 0x2000D);
    kdpc_machine_destroy(m);
    memset(&R, 0, sizeof(R));
    m = kt_machine(1, 3);
    assert_int_equal(kdpc_rule_set(m, "io.passive_irql", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, NamedAtApc, NULL), KDPC_OK);
    assert_null(R.ev[0]);
    assert_null(R.h[0]);
    kdpc_machine_destroy(m);
}

/* ob.user_handle: the app's handle referenced with KernelMode; fixed twin uses UserMode. */
static void KernelModeRef(void *ctx)
{
    BOOLEAN user_mode = ctx != NULL;
    kdpc_machine *m = kdpc_current_machine();
    R.st[0] = kdpc_user_event_create(m, TRUE, FALSE, SYNCHRONIZE, &R.h[0]);
    R.st[1] = ObReferenceObjectByHandle(R.h[0], EVENT_MODIFY_STATE, *ExEventObjectType,
                                        user_mode ? UserMode : KernelMode, (PVOID *)&R.ev[0], NULL);
    if (NT_SUCCESS(R.st[1]))
        ObDereferenceObject(R.ev[0]);
    R.st[2] = kdpc_user_event_close(m, R.h[0]);
    R.done = 1;
}

static void test_user_handle_with_kernel_mode_bugchecks(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_status st = kdpc_machine_run(m, KernelModeRef, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ob.user_handle", 0xC4);
    const kdpc_violation *v = kdpc_machine_bugcheck(m);
    assert_int_equal(v->params[0], 0xF6);
    assert_int_equal(v->params[1], (uintptr_t)R.h[0]);
    kdpc_machine_destroy(m);
    /* the fixed twin: UserMode, and the access check says no */
    memset(&R, 0, sizeof(R));
    m = kt_machine(1, 3);
    assert_int_equal(kdpc_machine_run(m, KernelModeRef, (void *)1), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "ob.user_handle");
    assert_int_equal(R.st[1], STATUS_ACCESS_DENIED);
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_event_handle_passed_to_driver),
        cmocka_unit_test(test_app_calls_check_access_and_input),
        cmocka_unit_test(test_generic_rights_are_mapped),
        cmocka_unit_test(test_native_calls_outside_simulated_code_fail),
        cmocka_unit_test(test_app_waits_for_driver_signal),
        cmocka_unit_test(test_named_events),
        cmocka_unit_test(test_named_event_above_passive_bugchecks),
        cmocka_unit_test(test_user_handle_with_kernel_mode_bugchecks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
