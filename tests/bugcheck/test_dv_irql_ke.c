/* SPDX-License-Identifier: MIT */
/*
 * test_dv_irql_ke.c - the IRQL rules of the Ke, Ex, Ps and Ob routines
 * (docs/rules.md, area irql-ke), each with a broken driver routine (rule id,
 * code and P1..P4 asserted) and its fixed twin, which runs clean:
 *   irql.ke_dispatch        IrqlKeDispatchLte: 0xC4/0x20011, P2 IRQL, P3 2, P4 the object
 *                           (0xC4/0xE5 for the routines no DDI rule names); KeReadStateEvent
 *                           and KeReadStateSemaphore run clean at HIGH_LEVEL (their pages)
 *   irql.ke_set_event       KeSetEvent above DISPATCH_LEVEL: 0xC4/0x80, P2 IRQL, P3 the event
 *   irql.ke_set_event_wait  KeSetEvent(Wait TRUE) above APC_LEVEL: 0xC4/0x20016, P3 1, P4 event
 *   ps.passive_irql         IrqlPsPassive 0xC4/0x2001C; KeSetPriorityThread 0xC4/0xE5
 *   irql.ex_apc             IrqlExApcLte2 0xC4/0x20006; ExRaiseStatus IrqlExPassive 0x20008
 *   ob.bad_handle           ObReferenceObjectByHandle(KernelMode): NULL 0xC4/0xF5, else 0x3C
 * and the codes this area changed: the Unsafe fast mutex calls outside APC_LEVEL and outside a
 * critical region (sync.apc_irql 0x39 / 0x3A, P3 the APC disable count, P4 the mutex),
 * IoQueueWorkItem above DISPATCH_LEVEL (work.queue_irql 0xC4/0xE5), RtlDeleteRegistryValue above
 * PASSIVE_LEVEL (zw.passive_irql, P1 0x2001E: IrqlRtlPassive) or inside a guarded region
 * (zw.passive_irql, 0xC4/0xE6).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static int which;   /* the call a parameterised entry makes */
static int reached; /* set after the call: 1 when the run went on */
static KTIMER g_timer;
static KEVENT g_event;
static KMUTEX g_mutex;
static KSEMAPHORE g_sem;
static KDEVICE_QUEUE g_dq;
static KDEVICE_QUEUE_ENTRY g_dqe;
static FAST_MUTEX g_fm;
static PAGED_LOOKASIDE_LIST g_la;
static KDPC g_dpc;
static UCHAR g_buf[64];
static PMDL g_mdl;
static HANDLE g_handle;
static NTSTATUS g_st;

#define TAG 'eKrI'

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void expect_bc(kdpc_machine *m, kdpc_status st, const char *rule, uint64_t p1, uint64_t p2,
                      uint64_t p3, uint64_t p4)
{
    KT_ASSERT_BUGCHECK(m, st, rule, 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], p1);
    assert_int_equal(bc->params[1], p2);
    assert_int_equal(bc->params[2], p3);
    assert_int_equal(bc->params[3], p4);
    assert_int_equal(reached, 0);
}

static kdpc_machine *run(kdpc_entry_fn *entry, int w, kdpc_status *st)
{
    which = w;
    reached = 0;
    kdpc_machine *m = kt_machine(1, 31);
    *st = kdpc_machine_run(m, entry, NULL);
    return m;
}

static void clean(kdpc_entry_fn *entry, int w, const char *rule)
{
    kdpc_status st;
    kdpc_machine *m = run(entry, w, &st);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, rule);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(reached, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* irql.ke_dispatch: IrqlKeDispatchLte                                 */

enum {
    D_SET_TIMER,
    D_CANCEL_TIMER,
    D_INIT_TIMER,
    D_READ_TIMER,
    D_CLEAR_EVENT,
    D_RESET_EVENT,
    D_READ_EVENT,
    D_INIT_SEM,
    D_RELEASE_MUTEX,
    D_INIT_DQ,
    D_REMOVE_ENTRY_DQ,
    D_FLUSH_IO,
    /* routines no DDI rule names: P1 0xE5 */
    D_RELEASE_SEM,
    D_READ_SEM,
    D_READ_MUTEX,
    D_INIT_FAST_MUTEX,
    D_COUNT
};
#define D_FIRST_E5 D_RELEASE_SEM

static const void *const dispatch_obj[D_COUNT] = {
    &g_timer, &g_timer, &g_timer, &g_timer, &g_event, &g_event,
    &g_event, &g_sem,   &g_mutex, &g_dq,    &g_dq,    NULL /* the MDL, made at run time */,
    &g_sem,   &g_sem,   &g_mutex, &g_fm};

static void dispatch_call(void)
{
    LARGE_INTEGER due;
    due.QuadPart = -10000;
    switch (which) {
    case D_SET_TIMER:
        (void)KeSetTimer(&g_timer, due, NULL);
        break;
    case D_CANCEL_TIMER:
        (void)KeCancelTimer(&g_timer);
        break;
    case D_INIT_TIMER:
        KeInitializeTimer(&g_timer);
        break;
    case D_READ_TIMER:
        (void)KeReadStateTimer(&g_timer);
        break;
    case D_CLEAR_EVENT:
        KeClearEvent(&g_event);
        break;
    case D_RESET_EVENT:
        (void)KeResetEvent(&g_event);
        break;
    case D_READ_EVENT:
        (void)KeReadStateEvent(&g_event);
        break;
    case D_INIT_SEM:
        KeInitializeSemaphore(&g_sem, 0, 1);
        break;
    case D_RELEASE_MUTEX:
        (void)KeReleaseMutex(&g_mutex, FALSE);
        break;
    case D_INIT_DQ:
        KeInitializeDeviceQueue(&g_dq);
        break;
    case D_REMOVE_ENTRY_DQ:
        (void)KeRemoveEntryDeviceQueue(&g_dq, &g_dqe);
        break;
    case D_FLUSH_IO:
        KeFlushIoBuffers(g_mdl, TRUE, FALSE);
        break;
    case D_RELEASE_SEM:
        (void)KeReleaseSemaphore(&g_sem, IO_NO_INCREMENT, 1, FALSE);
        break;
    case D_READ_SEM:
        (void)KeReadStateSemaphore(&g_sem);
        break;
    case D_READ_MUTEX:
        (void)KeReadStateMutex(&g_mutex);
        break;
    default:
        ExInitializeFastMutex(&g_fm);
        break;
    }
}

static void dispatch_setup(void)
{
    KeInitializeTimer(&g_timer);
    KeInitializeEvent(&g_event, NotificationEvent, FALSE);
    KeInitializeMutex(&g_mutex, 0);
    KeInitializeDeviceQueue(&g_dq);
    KeInitializeSemaphore(&g_sem, 0, 8);
    g_mdl = IoAllocateMdl(g_buf, sizeof(g_buf), FALSE, FALSE, NULL);
    if (which == D_RELEASE_MUTEX)
        (void)KeWaitForSingleObject(&g_mutex, Executive, KernelMode, FALSE, NULL);
}

static void dispatch_teardown(void)
{
    (void)KeCancelTimer(&g_timer);
    if (g_mdl != NULL)
        IoFreeMdl(g_mdl);
    g_mdl = NULL;
}

/* Broken: the call from an ISR's IRQL. */
static void DispatchCallAtHigh(void *ctx)
{
    (void)ctx;
    dispatch_setup();
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    dispatch_call();
    reached = 1;
    KeLowerIrql(old);
    dispatch_teardown();
}

/* Fixed: the same call at DISPATCH_LEVEL (a DPC's IRQL), the highest it allows. */
static void DispatchCallAtDispatch(void *ctx)
{
    (void)ctx;
    dispatch_setup();
    KIRQL old = KeRaiseIrqlToDpcLevel();
    dispatch_call();
    KeLowerIrql(old);
    dispatch_teardown();
    reached = 1;
}

static void test_ke_dispatch_calls_above_dispatch_level(void **state)
{
    (void)state;
    for (int w = 0; w < D_COUNT; w++) {
        kdpc_status st;
        if (w == D_READ_EVENT || w == D_READ_SEM) {
            /* KeReadStateEvent may be called from an ISR (its page), KeReadStateSemaphore at
             * any IRQL: neither is reported, though IrqlKeDispatchLte lists the first */
            clean(DispatchCallAtHigh, w, "irql.ke_dispatch");
            continue;
        }
        kdpc_machine *m = run(DispatchCallAtHigh, w, &st);
        const void *obj = w == D_FLUSH_IO ? (const void *)g_mdl : dispatch_obj[w];
        expect_bc(m, st, "irql.ke_dispatch", w >= D_FIRST_E5 ? 0xE5 : 0x20011, HIGH_LEVEL,
                  DISPATCH_LEVEL, addr(obj));
        kdpc_machine_destroy(m);
        clean(DispatchCallAtDispatch, w, "irql.ke_dispatch");
    }
}

/* ------------------------------------------------------------------ */
/* irql.ke_set_event, irql.ke_set_event_wait: IrqlKeSetEvent, 0xC4/0x80 */

static void SetEventAtHigh(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&g_event, NotificationEvent, FALSE);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    if (which == 0)
        (void)KeSetEvent(&g_event, IO_NO_INCREMENT, FALSE);
    else
        (void)KePulseEvent(&g_event, IO_NO_INCREMENT, FALSE);
    reached = 1;
    KeLowerIrql(old);
}

static void SetEventDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    /* which 0: the fixed twin (Wait FALSE); 1: Wait TRUE, broken */
    (void)KeSetEvent(&g_event, IO_NO_INCREMENT, which == 1 ? TRUE : FALSE);
    reached = 1;
}

static void SetEventFromDpc(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&g_event, NotificationEvent, FALSE);
    KeInitializeDpc(&g_dpc, SetEventDpc, NULL);
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
    (void)KeWaitForSingleObject(&g_event, Executive, KernelMode, FALSE, NULL);
}

/* Fixed twin of Wait TRUE: a thread at PASSIVE_LEVEL sets and waits next. */
static void SetEventWaitAtPassive(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&g_event, NotificationEvent, FALSE);
    (void)KeSetEvent(&g_event, IO_NO_INCREMENT, TRUE);
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    (void)KeWaitForSingleObject(&g_event, Executive, KernelMode, FALSE, &zero);
    reached = KeGetCurrentIrql() == PASSIVE_LEVEL;
}

static void test_ke_set_event_above_dispatch_level_is_c4_80(void **state)
{
    (void)state;
    for (int w = 0; w < 2; w++) {
        kdpc_status st;
        kdpc_machine *m = run(SetEventAtHigh, w, &st);
        expect_bc(m, st, "irql.ke_set_event", 0x80, HIGH_LEVEL, addr(&g_event), 0);
        kdpc_machine_destroy(m);
    }
    clean(SetEventFromDpc, 0, "irql.ke_set_event");
}

static void test_ke_set_event_wait_true_in_a_dpc_is_c4_20016(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(SetEventFromDpc, 1, &st);
    expect_bc(m, st, "irql.ke_set_event_wait", 0x20016, DISPATCH_LEVEL, APC_LEVEL, addr(&g_event));
    kdpc_machine_destroy(m);
    clean(SetEventWaitAtPassive, 0, "irql.ke_set_event_wait");
    clean(SetEventFromDpc, 0, "irql.ke_set_event_wait");
}

/* As a warning, the event is set anyway (a free kernel). */
static void test_ke_set_event_as_a_warning_sets_the_event(void **state)
{
    (void)state;
    which = 0;
    reached = 0;
    kdpc_machine *m = kt_machine(1, 31);
    assert_int_equal(kdpc_rule_set(m, "irql.ke_set_event", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, SetEventAtHigh, NULL), KDPC_OK);
    KT_ASSERT_WARNING(m, "irql.ke_set_event");
    assert_int_equal(g_event.Header.SignalState, 1);
    assert_int_equal(reached, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* ps.passive_irql: IrqlPsPassive; KeSetPriorityThread 0xE5            */

static void Nothing(PVOID ctx)
{
    (void)ctx;
}

static void CreateThreadDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    g_st = PsCreateSystemThread(&g_handle, THREAD_ALL_ACCESS, NULL, NULL, NULL, Nothing, NULL);
    reached = 1;
}

static void CreateThreadFromDpc(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&g_dpc, CreateThreadDpc, NULL);
    (void)KeInsertQueueDpc(&g_dpc, NULL, NULL);
}

static void TerminatingThread(PVOID ctx)
{
    (void)ctx;
    KIRQL old;
    if (which == 1)
        KeRaiseIrql(APC_LEVEL, &old);
    (void)PsTerminateSystemThread(STATUS_SUCCESS);
}

/* which 0: fixed (create and terminate at PASSIVE_LEVEL); 1: terminate at APC_LEVEL; 2: set a
 * thread's priority at DISPATCH_LEVEL; 3: the same at PASSIVE_LEVEL */
static void ThreadCalls(void *ctx)
{
    (void)ctx;
    g_st = PsCreateSystemThread(&g_handle, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                which <= 1 ? TerminatingThread : Nothing, NULL);
    if (which >= 2) {
        KIRQL old = PASSIVE_LEVEL;
        if (which == 2)
            old = KeRaiseIrqlToDpcLevel();
        (void)KeSetPriorityThread(KeGetCurrentThread(), LOW_REALTIME_PRIORITY);
        if (which == 2)
            KeLowerIrql(old);
    }
    if (NT_SUCCESS(g_st))
        (void)ZwClose(g_handle);
    reached = 1;
}

static void test_ps_routines_above_passive_level(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(CreateThreadFromDpc, 0, &st);
    expect_bc(m, st, "ps.passive_irql", 0x2001C, DISPATCH_LEVEL, PASSIVE_LEVEL, 0);
    kdpc_machine_destroy(m);

    m = run(ThreadCalls, 1, &st);
    KT_ASSERT_BUGCHECK(m, st, "ps.passive_irql", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x2001C);
    assert_int_equal(bc->params[1], APC_LEVEL);
    assert_int_equal(bc->params[2], PASSIVE_LEVEL);
    kdpc_machine_destroy(m);

    which = 2;
    reached = 0;
    m = kt_machine(1, 31);
    st = kdpc_machine_run(m, ThreadCalls, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ps.passive_irql", 0xC4);
    bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0xE5);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], PASSIVE_LEVEL);
    assert_true(bc->params[3] != 0); /* the thread */
    kdpc_machine_destroy(m);

    clean(ThreadCalls, 0, "ps.passive_irql");
    clean(ThreadCalls, 3, "ps.passive_irql");
}

/* ------------------------------------------------------------------ */
/* irql.ex_apc: IrqlExApcLte2, IrqlExPassive                           */

static KSPIN_LOCK g_lock;

/* which 0: paged lookaside allocate holding a spin lock; 1: paged quota allocation holding a
 * spin lock; 2: ExRaiseStatus holding a spin lock; 3..5: the same at PASSIVE_LEVEL (5 raises:
 * the 0x1E of an unhandled exception, and no irql.ex_apc); 7: nonpaged quota allocation holding
 * a spin lock, which the routine's page allows at DISPATCH_LEVEL */
static void ExCalls(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&g_lock);
    ExInitializePagedLookasideList(&g_la, NULL, NULL, 0, 64, TAG, 0);
    KIRQL old = PASSIVE_LEVEL;
    bool locked = which < 3 || which == 7;
    if (locked)
        KeAcquireSpinLock(&g_lock, &old);
    PVOID p = NULL;
    switch (which % 3) {
    case 0:
        p = ExAllocateFromPagedLookasideList(&g_la);
        break;
    case 1:
        p = ExAllocatePoolWithQuotaTag((POOL_TYPE)((which == 1 ? PagedPool : NonPagedPoolNx) |
                                                   POOL_QUOTA_FAIL_INSTEAD_OF_RAISE),
                                       32, TAG);
        break;
    default:
        ExRaiseStatus(STATUS_DATA_ERROR);
    }
    if (locked)
        KeReleaseSpinLock(&g_lock, old);
    if (p != NULL && which % 3 == 0)
        ExFreeToPagedLookasideList(&g_la, p);
    else if (p != NULL)
        ExFreePoolWithTag(p, TAG);
    ExDeletePagedLookasideList(&g_la);
    reached = 1;
}

static void test_ex_routines_above_apc_level(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(ExCalls, 0, &st);
    expect_bc(m, st, "irql.ex_apc", 0x20006, DISPATCH_LEVEL, APC_LEVEL, addr(&g_la));
    kdpc_machine_destroy(m);

    which = 1; /* paged quota pool under a spin lock; mem.paged_alloc, which comes first, off */
    reached = 0;
    m = kt_machine(1, 31);
    assert_int_equal(kdpc_rule_set(m, "mem.paged_alloc", KDPC_RULE_OFF), KDPC_OK);
    st = kdpc_machine_run(m, ExCalls, NULL);
    KT_ASSERT_BUGCHECK(m, st, "irql.ex_apc", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x20006);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], APC_LEVEL);
    assert_true(bc->params[3] != 0); /* the block just allocated */
    kdpc_machine_destroy(m);

    m = run(ExCalls, 2, &st);
    expect_bc(m, st, "irql.ex_apc", 0x20008, DISPATCH_LEVEL, APC_LEVEL, 0);
    kdpc_machine_destroy(m);

    clean(ExCalls, 3, "irql.ex_apc");
    clean(ExCalls, 4, "irql.ex_apc");
    clean(ExCalls, 7, "irql.ex_apc"); /* nonpaged quota pool at DISPATCH_LEVEL: legal */
    m = run(ExCalls, 5, &st);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    KT_ASSERT_NO_VIOLATION(m, "irql.ex_apc");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* ob.bad_handle: 0xC4/0xF5, 0xC4/0x3C                                 */

/* which 0: NULL (KernelMode); 1: a closed handle (KernelMode); 2: both with UserMode (an app's
 * handle: answered with a status) and a live handle with KernelMode (fixed) */
static void ReferenceHandles(void *ctx)
{
    (void)ctx;
    PVOID obj = NULL;
    g_st = PsCreateSystemThread(&g_handle, THREAD_ALL_ACCESS, NULL, NULL, NULL, Nothing, NULL);
    if (which == 0) {
        (void)ObReferenceObjectByHandle(NULL, SYNCHRONIZE, *PsThreadType, KernelMode, &obj, NULL);
    } else if (which == 1) {
        (void)ZwClose(g_handle);
        (void)ObReferenceObjectByHandle(g_handle, SYNCHRONIZE, *PsThreadType, KernelMode, &obj,
                                        NULL);
    } else {
        NTSTATUS a =
            ObReferenceObjectByHandle(NULL, SYNCHRONIZE, *PsThreadType, UserMode, &obj, NULL);
        NTSTATUS b =
            ObReferenceObjectByHandle(g_handle, SYNCHRONIZE, *PsThreadType, KernelMode, &obj, NULL);
        if (NT_SUCCESS(b))
            ObDereferenceObject(obj);
        (void)ZwClose(g_handle);
        NTSTATUS c =
            ObReferenceObjectByHandle(g_handle, SYNCHRONIZE, *PsThreadType, UserMode, &obj, NULL);
        /* a pseudo handle is no bad handle (kdpc has no process object: a status only) */
        (void)ObReferenceObjectByHandle(NtCurrentProcess(), 0, NULL, KernelMode, &obj, NULL);
        reached = a == STATUS_INVALID_HANDLE && b == STATUS_SUCCESS && c == STATUS_INVALID_HANDLE;
        return;
    }
    reached = 1;
}

static void test_ob_reference_by_bad_kernel_handle(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(ReferenceHandles, 0, &st);
    expect_bc(m, st, "ob.bad_handle", 0xF5, 0, addr(*PsThreadType), 0);
    kdpc_machine_destroy(m);
    m = run(ReferenceHandles, 1, &st);
    expect_bc(m, st, "ob.bad_handle", 0x3C, addr(g_handle), addr(*PsThreadType), 0);
    kdpc_machine_destroy(m);
    clean(ReferenceHandles, 2, "ob.bad_handle");
}

/* ------------------------------------------------------------------ */
/* sync.apc_irql: the Unsafe fast mutex calls (0x39 / 0x3A)            */

/* which 0: acquire at PASSIVE_LEVEL outside a critical region; 1: release likewise (acquired
 * inside one); 2: fixed (inside a critical region, and at APC_LEVEL) */
static void UnsafeCalls(void *ctx)
{
    (void)ctx;
    ExInitializeFastMutex(&g_fm);
    if (which == 0) {
        ExAcquireFastMutexUnsafe(&g_fm);
        reached = 1;
        return;
    }
    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&g_fm);
    if (which == 1)
        KeLeaveCriticalRegion();
    ExReleaseFastMutexUnsafe(&g_fm);
    if (which == 1) {
        reached = 1;
        return;
    }
    KeLeaveCriticalRegion();
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExAcquireFastMutexUnsafe(&g_fm);
    ExReleaseFastMutexUnsafe(&g_fm);
    KeLowerIrql(old);
    reached = 1;
}

static void test_unsafe_fast_mutex_with_apcs_enabled(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(UnsafeCalls, 0, &st);
    expect_bc(m, st, "sync.apc_irql", 0x39, PASSIVE_LEVEL, 0, addr(&g_fm));
    kdpc_machine_destroy(m);
    m = run(UnsafeCalls, 1, &st);
    expect_bc(m, st, "sync.apc_irql", 0x3A, PASSIVE_LEVEL, 0, addr(&g_fm));
    kdpc_machine_destroy(m);
    clean(UnsafeCalls, 2, "sync.apc_irql");
}

/* ------------------------------------------------------------------ */
/* work.queue_irql (0xE5) and RtlDeleteRegistryValue (0x2001E)         */

static WORK_QUEUE_ITEM g_item;
static void Work(PVOID ctx)
{
    (void)ctx;
}

static void QueueAtHigh(void *ctx)
{
    (void)ctx;
    ExInitializeWorkItem(&g_item, Work, NULL);
    KIRQL old;
    KeRaiseIrql(which == 0 ? HIGH_LEVEL : DISPATCH_LEVEL, &old);
    ExQueueWorkItem(&g_item, DelayedWorkQueue);
    KeLowerIrql(old);
    reached = 1;
}

static void test_work_queue_above_dispatch_level_is_c4_e5(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(QueueAtHigh, 0, &st);
    expect_bc(m, st, "work.queue_irql", 0xE5, HIGH_LEVEL, addr(&g_item), 0);
    kdpc_machine_destroy(m);
    clean(QueueAtHigh, 1, "work.queue_irql");
}

static void DeleteValue(void *ctx)
{
    (void)ctx;
    KIRQL old = PASSIVE_LEVEL;
    if (which == 0)
        KeRaiseIrql(APC_LEVEL, &old);
    if (which == 2)
        KeEnterGuardedRegion(); /* special kernel APCs off */
    (void)RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, L"irqlke", L"Value");
    if (which == 2)
        KeLeaveGuardedRegion();
    if (which == 0)
        KeLowerIrql(old);
    reached = 1;
}

static void test_rtl_delete_registry_value_above_passive_is_c4_2001e(void **state)
{
    (void)state;
    kdpc_status st;
    kdpc_machine *m = run(DeleteValue, 0, &st);
    expect_bc(m, st, "zw.passive_irql", 0x2001E, APC_LEVEL, 0, 0);
    kdpc_machine_destroy(m);
    m = run(DeleteValue, 2, &st);
    expect_bc(m, st, "zw.passive_irql", 0xE6, 0, PASSIVE_LEVEL, 1);
    kdpc_machine_destroy(m);
    clean(DeleteValue, 1, "zw.passive_irql");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ke_dispatch_calls_above_dispatch_level),
        cmocka_unit_test(test_ke_set_event_above_dispatch_level_is_c4_80),
        cmocka_unit_test(test_ke_set_event_wait_true_in_a_dpc_is_c4_20016),
        cmocka_unit_test(test_ke_set_event_as_a_warning_sets_the_event),
        cmocka_unit_test(test_ps_routines_above_passive_level),
        cmocka_unit_test(test_ex_routines_above_apc_level),
        cmocka_unit_test(test_ob_reference_by_bad_kernel_handle),
        cmocka_unit_test(test_unsafe_fast_mutex_with_apcs_enabled),
        cmocka_unit_test(test_work_queue_above_dispatch_level_is_c4_e5),
        cmocka_unit_test(test_rtl_delete_registry_value_above_passive_is_c4_2001e),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
