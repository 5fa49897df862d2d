/* SPDX-License-Identifier: MIT */
/*
 * thread.c - system threads (PsCreateSystemThread, PsTerminateSystemThread,
 * their handles in the object manager's table), the current thread, and system affinity.
 *
 * A KTHREAD wraps a simulated thread. The machine's run waits for every
 * system thread. A thread that ends (returns or terminates) still at a
 * raised IRQL or holding a spin lock is reported as thread.exit_state.
 *
 * Lifetime: as Windows frees a thread object when its last reference goes,
 * a KTHREAD is freed once its thread has ended, its handle is closed (ZwClose;
 * the entry routine's thread and worker threads have none) and every
 * ObReferenceObjectByHandle reference is dropped; so is the run box of an
 * entry routine. A machine keeps only live threads, whatever number of runs
 * and threads it has seen. A thread object that still has a waiter linked
 * (a WaitAll not yet satisfied) is kept until destroy.
 */
#include <stdlib.h>

#include "ke/ke.h"
#include "ob/ob.h"

/* The entry routine's thread has ended: its run box (its start context) is not needed any more.
 * Only live boxes are compared, so a driver context is never taken for one. */
static void drop_run_box(kdpc_machine *m, void *ctx)
{
    for (kdpc__run_box **pb = &kdpc__ke_of(m)->boxes; *pb != NULL; pb = &(*pb)->next) {
        if (*pb == ctx) {
            kdpc__run_box *b = *pb;
            *pb = b->next;
            free(b);
            return;
        }
    }
}

static void thread_body(kdpc__thread *t)
{
    struct _KTHREAD *kt = t->ke;
    kt->stack_top = (uintptr_t)__builtin_frame_address(0); /* for timers and DPCs on its stack */
    kt->start(kt->ctx);
}

/* The thread's stack frames are gone: forget the spin locks that lived in them, from the bottom
 * of its host stack (as the host tells it; else cfg.thread_stack_size down, which the stack has
 * at least, with guard pages under it) up to thread_body's frame. Runs on the ending thread. */
static void forget_stack_locks(kdpc_machine *m, const struct _KTHREAD *kt)
{
    uintptr_t top = kt->stack_top, lo = 0;
    size_t size = 0;
    if (top == 0)
        return;
    if (kdpc__stack_bounds(&lo, &size) != 0 || top <= lo || top > lo + size) {
        size = m->cfg.thread_stack_size;
        if (size == 0 || top < size)
            return;
        lo = top - size;
    }
    kdpc__lock_forget_range(m, lo, top);
    /* the reports' names and KeInitializeSpinLock call sites of objects there (with a trace, the
     * trace forgets them at the thread's exit event) */
    if (m->trace == NULL)
        kdpc__ver_forget_range(m, (const void *)lo, (size_t)(top - lo));
}

struct _KTHREAD *kdpc__ke_thread_new(kdpc_machine *m, PKSTART_ROUTINE start, PVOID ctx,
                                     void *driver)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    struct _KTHREAD *kt = calloc(1, sizeof(*kt));
    if (kt == NULL)
        return NULL;
    kt->Header.Type = 6; /* ThreadObject: waitable, signaled when the thread ends */
    kt->Header.Size = (UCHAR)(sizeof(DISPATCHER_HEADER) / sizeof(LONG));
    kt->Header.SignalState = 0;
    InitializeListHead(&kt->Header.WaitListHead);
    kt->start = start;
    kt->ctx = ctx;
    kt->driver = driver;
    kt->exit_status = STATUS_SUCCESS;
    kt->priority = KDPC_THREAD_START_PRIORITY;
    kdpc__thread *t = kdpc__thread_create(m, thread_body, kt, false);
    if (t == NULL) {
        free(kt);
        return NULL;
    }
    t->ke = kt;
    t->routine = KDPC_RP(start);
    kt->t = t;
    kt->all_next = ke->all_threads;
    kt->all_prev = NULL;
    if (ke->all_threads != NULL)
        ke->all_threads->all_prev = kt;
    ke->all_threads = kt;
    return kt;
}

/* The thread handle PsCreateSystemThread gave was closed (ZwClose, src/ob/handle.c). */
static void handle_closed(void *object)
{
    struct _KTHREAD *kt = object;
    kt->handle_open = false;
    kdpc__thread *self = kdpc__self();
    if (self != NULL)
        kdpc__ke_thread_reap(self->m, kt);
}

NTSTATUS kdpc_PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                   POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                                   PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                   PVOID StartContext)
{
    (void)DesiredAccess;
    (void)ObjectAttributes;
    (void)ProcessHandle;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("PsCreateSystemThread", &c);
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    /* ps.passive_irql (IrqlPsPassive); as a warning or off the thread is created */
    (void)kdpc__ke_irql_passive_ok(true, NULL, "PsCreateSystemThread");
    if (ThreadHandle == NULL || StartRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    struct _KTHREAD *kt =
        kdpc__ke_thread_new(m, StartRoutine, StartContext, kdpc__ke_current_driver(m, c));
    if (kt == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    HANDLE h = kdpc__ob_handle_open(m, KDPC__OB_THREAD, kt, THREAD_ALL_ACCESS, handle_closed);
    if (h == NULL) {
        /* the host refused memory for the table: no handle, the thread runs anyway */
        *ThreadHandle = NULL;
    } else {
        kt->handle_open = true;
        *ThreadHandle = h;
    }
    if (ClientId != NULL) {
        ClientId->UniqueProcess = (HANDLE)(uintptr_t)4; /* the System process */
        ClientId->UniqueThread = (HANDLE)(uintptr_t)(8u + 4u * kt->t->id);
    }
    kdpc__trace(m, KDPC_EV_THREAD_START, c, NULL, KDPC_RP(StartRoutine), kt->t->id);
    kdpc__thread_ready(m, kt->t);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("PsTerminateSystemThread", &c);
    /* ps.passive_irql (IrqlPsPassive); as a warning or off: STATUS_INVALID_PARAMETER below */
    if (m != NULL)
        (void)kdpc__ke_irql_passive_ok(true, NULL, "PsTerminateSystemThread");
    /* Only the system thread itself, at PASSIVE_LEVEL, not from a DPC or ISR it hosts. */
    if (m == NULL || c->thread->idle || c->thread->ke == NULL || c->irql != PASSIVE_LEVEL ||
        kdpc__kecpu_of(c)->nframes != 0 || c->no_switch != 0)
        return STATUS_INVALID_PARAMETER;
    ((struct _KTHREAD *)c->thread->ke)->exit_status = ExitStatus;
    kdpc__thread_terminate(m);
}

PKTHREAD kdpc_KeGetCurrentThread(void)
{
    kdpc__thread *t = kdpc__self();
    return t != NULL && t->cpu != NULL ? (PKTHREAD)t->cpu->thread->ke : NULL;
}

static uint64_t active_mask(const kdpc_machine *m)
{
    return m->ncpu >= 64 ? ~0ull : ((1ull << m->ncpu) - 1u);
}

/* Run the current thread only on @mask; move it first when its CPU is not in it. */
static void set_affinity(kdpc_machine *m, kdpc__cpu *c, uint64_t mask)
{
    c->thread->affinity = mask;
    if (!((mask >> c->index) & 1u) && c->irql < DISPATCH_LEVEL)
        kdpc__thread_migrate(m);
    else
        kdpc__ke_point(m);
}

KAFFINITY kdpc_KeSetSystemAffinityThreadEx(KAFFINITY Affinity)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeSetSystemAffinityThreadEx", &c);
    if (m == NULL || c->thread->idle || c->thread->ke == NULL)
        return 0;
    struct _KTHREAD *kt = c->thread->ke;
    KAFFINITY old = kt->system_affinity; /* 0 when the thread had no system affinity */
    uint64_t want = (uint64_t)Affinity & active_mask(m);
    if (want == 0)
        return old;
    kt->system_affinity = (KAFFINITY)want;
    set_affinity(m, c, want);
    return old;
}

void kdpc_KeRevertToUserAffinityThreadEx(KAFFINITY Affinity)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeRevertToUserAffinityThreadEx", &c);
    if (m == NULL || c->thread->idle || c->thread->ke == NULL)
        return;
    struct _KTHREAD *kt = c->thread->ke;
    uint64_t want = (uint64_t)Affinity & active_mask(m);
    /* 0 (or a mask naming no active CPU) restores the user affinity: every CPU. */
    kt->system_affinity = (KAFFINITY)want;
    set_affinity(m, c, want != 0 ? want : active_mask(m));
}

void kdpc__ke_thread_exit_check(kdpc_machine *m, kdpc__thread *t)
{
    if (t->ke != NULL)
        kdpc__ke_stack_check(m, t->ke); /* timers and DPCs left on its stack: 0xC7 */
    kdpc__cpu *c = t->cpu;
    unsigned held = kdpc__locks_held(m, c);
    if (held > 0) {
        kdpc__lock *l = kdpc__lock_held_at(m, c, held - 1);
        kdpc__violation(m, KDPC_R_THREAD_EXIT_STATE, 0xC4, 0x100A, (uintptr_t)t->ke, l->addr, 0,
                        t->routine, "system thread ended holding spin lock %#lx",
                        (unsigned long)l->addr);
    }
    if (c->irql != PASSIVE_LEVEL) {
        KIRQL now = c->irql;
        kdpc__violation(m, KDPC_R_THREAD_EXIT_STATE, 0xC8, ((uint64_t)now << 16) | 2u, 0, 0, 0,
                        t->routine, "system thread ended at IRQL %u instead of PASSIVE_LEVEL",
                        (unsigned)now);
        kdpc__ke_set_irql(m, c, PASSIVE_LEVEL);
    }
    struct _KTHREAD *kt = t->ke;
    if (kt != NULL) {
        kt->Header.SignalState = 1;
        kdpc__ke_signal(m, kt);
        drop_run_box(m, kt->ctx);
        forget_stack_locks(m, kt);
        kt->exited = true;
        kt->t = NULL; /* the machine layer may free t once it has finished */
        t->ke = NULL;
        kdpc__ke_thread_reap(m, kt);
    }
}

void kdpc__ke_thread_reap(kdpc_machine *m, struct _KTHREAD *kt)
{
    if (!kt->exited || kt->handle_open || kt->refs > 0 || !IsListEmpty(&kt->Header.WaitListHead))
        return;
    kdpc__ke *ke = kdpc__ke_of(m);
    (void)kdpc__ke_timer_cancel(m, &kt->timeout); /* never set at the end; kept as a safety */
    if (ke->timer_owner.live != 0)
        (void)kdpc__ptrmap_del(&ke->timer_owner, (uintptr_t)&kt->timeout);
    if (kt->all_prev != NULL)
        kt->all_prev->all_next = kt->all_next;
    else
        ke->all_threads = kt->all_next;
    if (kt->all_next != NULL)
        kt->all_next->all_prev = kt->all_prev;
    kdpc__trace_forget(m, kt, sizeof(*kt)); /* a later object may get this memory */
    free(kt);
}

struct _KTHREAD *kdpc__ke_thread_find(kdpc_machine *m, const void *p)
{
    for (struct _KTHREAD *kt = kdpc__ke_of(m)->all_threads; kt != NULL; kt = kt->all_next)
        if (kt == p)
            return kt;
    return NULL;
}

/* The live KTHREAD @p of @m, else obj.invalid (0x50, P1 the pointer, P4 2 as for other objects
 * that are none) and NULL: a thread pointer is looked up, never read. */
static struct _KTHREAD *thread_arg(kdpc_machine *m, const void *p, const char *routine,
                                   uintptr_t caller)
{
    struct _KTHREAD *kt = kdpc__ke_thread_find(m, p);
    if (kt != NULL && !kt->exited)
        return kt;
    kdpc__violation(m, KDPC_R_OBJ_INVALID, 0x50, (uintptr_t)p, 0, caller, 2u, NULL,
                    "%s: PKTHREAD %p is no running thread of this machine (ended, garbage or "
                    "uninitialised?)",
                    routine, p);
    return NULL;
}

KPRIORITY kdpc_KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeSetPriorityThread", &c);
    if (m == NULL)
        return 0;
    /* ps.passive_irql: no DDI rule names KeSetPriorityThread; Verifier's generic 0xC4/0xE5 (a
     * kernel API at the wrong IRQL). As a warning or off the priority is set. */
    (void)kdpc__ke_irql_passive_ok(false, Thread, "KeSetPriorityThread");
    struct _KTHREAD *kt = thread_arg(m, Thread, "KeSetPriorityThread", caller);
    if (kt == NULL)
        return 0;
    if (Priority < LOW_PRIORITY + 1 || Priority > HIGH_PRIORITY) /* 1..31 (dpc-irql.md 12.1) */
        kdpc__bugcheck_forced(m, 0x1E, (ULONG_PTR)(LONG_PTR)STATUS_INVALID_PARAMETER, caller,
                              (ULONG_PTR)(LONG_PTR)Priority, 0,
                              "KeSetPriorityThread(%p, %ld): the priority must be 1 to 31",
                              (void *)Thread, (long)Priority);
    KPRIORITY old = kt->priority;
    kt->priority = Priority;
    kdpc__ke_point(m);
    return old;
}

KPRIORITY kdpc_KeQueryPriorityThread(PKTHREAD Thread)
{
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeQueryPriorityThread", &c);
    if (m == NULL)
        return 0;
    (void)kdpc__ke_irql_dispatch_other_ok(Thread, "KeQueryPriorityThread"); /* 0xE5; goes on */
    struct _KTHREAD *kt = thread_arg(m, Thread, "KeQueryPriorityThread", caller);
    return kt != NULL ? kt->priority : 0;
}
