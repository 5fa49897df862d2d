/* SPDX-License-Identifier: MIT */
/*
 * extimer.c - EX_TIMER: ExAllocateTimer, ExSetTimer, ExCancelTimer,
 * ExDeleteTimer (docs/facts/io.md 1.29-1.32).
 *
 * An EX_TIMER wraps a KTIMER and a KDPC whose routine calls the driver's
 * callback at DISPATCH_LEVEL. Its period is in 100 ns units, kept here
 * (KTIMER.Period is in ms); Header.Signalling = 1 marks the KTIMER as an
 * EX_TIMER's for the expiry code. A deleted timer stays allocated until the
 * machine is destroyed, so later calls on it are safe no-ops returning
 * FALSE (1.32). Every call looks its timer up by address (a hash map,
 * O(1) however many EX_TIMERs the machine has) before touching it.
 */
#include <stdlib.h>

#include "ke/ke.h"

typedef struct kdpc__extimer {
    KTIMER timer; /* first: CONTAINING_RECORD from the KTIMER */
    KDPC dpc;
    PEXT_CALLBACK callback;
    PVOID context;
    ULONG attributes;
    uint64_t period_ns;
    bool deleted;
    struct kdpc__extimer *next;
} kdpc__extimer;

struct _EX_TIMER {
    kdpc__extimer x;
};

kdpc_routine_ptr kdpc__ke_timer_routine(const KTIMER *t)
{
    if (t->Header.Signalling == 1) /* an EX_TIMER's DPC calls the driver's callback */
        return KDPC_RP(((const kdpc__extimer *)(const void *)t)->callback);
    return t->Dpc != NULL ? KDPC_RP(t->Dpc->DeferredRoutine) : NULL;
}

uint64_t kdpc__ke_timer_period_ns(const KTIMER *t)
{
    if (t->Header.Signalling == 1) /* 2: a thread's wait timeout, a plain one-shot KTIMER */
        return ((const kdpc__extimer *)(const void *)t)->period_ns;
    return (uint64_t)(t->Period > 0 ? t->Period : 0) * 1000000u;
}

static void ex_dpc(PKDPC Dpc, PVOID Context, PVOID a1, PVOID a2)
{
    (void)Dpc;
    (void)a1;
    (void)a2;
    kdpc__extimer *x = Context;
    if (x->callback != NULL)
        x->callback((PEX_TIMER)x, x->context);
}

PEX_TIMER kdpc_ExAllocateTimer(PEXT_CALLBACK Callback, PVOID CallbackContext, ULONG Attributes)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExAllocateTimer", &c);
    if (m == NULL)
        return NULL;
    if ((Attributes & EX_TIMER_HIGH_RESOLUTION) && (Attributes & EX_TIMER_NO_WAKE))
        kdpc__bugcheck_forced(m, 0xC4, Attributes, 0, 0, 0,
                              "ExAllocateTimer with EX_TIMER_HIGH_RESOLUTION and "
                              "EX_TIMER_NO_WAKE together (1.29)");
    kdpc__ke *ke = kdpc__ke_of(m);
    kdpc__extimer *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    if (!kdpc__ptrmap_put(&ke->extimer_known, (uintptr_t)x, x)) {
        free(x);
        return NULL;
    }
    kdpc__ke_timer_init(&x->timer, (Attributes & EX_TIMER_NOTIFICATION) ? NotificationTimer
                                                                        : SynchronizationTimer);
    x->timer.Header.Signalling = 1;
    kdpc_KeInitializeDpc(&x->dpc, ex_dpc, x);
    x->callback = Callback;
    x->context = CallbackContext;
    x->attributes = Attributes;
    x->next = ke->extimers;
    ke->extimers = x;
    kdpc__ke_point(m);
    return (PEX_TIMER)x;
}

/* @Timer came from ExAllocateTimer (looked up, never followed). obj.invalid otherwise: NULL
 * faults (0x1E / 0xA), anything else is no timer (0xC7 P1 0). As a warning the call does
 * nothing and returns FALSE. */
static bool extimer_ok(kdpc_machine *m, PEX_TIMER Timer, kdpc_routine_ptr fn, const char *name)
{
    if (Timer == NULL) {
        kdpc__cpu *c = kdpc__cur_cpu();
        return kdpc__ke_check_ptr(m, Timer, 0, false, c->irql, fn, name);
    }
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke->extimer_known.live != 0 &&
        kdpc__ptrmap_get(&ke->extimer_known, (uintptr_t)Timer) != NULL)
        return true;
    kdpc__violation(m, KDPC_R_OBJ_INVALID, 0xC7, 0, (uintptr_t)Timer, (uintptr_t)Timer,
                    (uintptr_t)Timer + sizeof(KTIMER), NULL,
                    "%s(%p): not a timer from ExAllocateTimer", name, (void *)Timer);
    return false;
}

BOOLEAN kdpc_ExSetTimer(PEX_TIMER Timer, LONGLONG DueTime, LONGLONG Period,
                        PEXT_SET_PARAMETERS Parameters)
{
    (void)Parameters;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExSetTimer", &c);
    if (m == NULL || !extimer_ok(m, Timer, KDPC_RP(kdpc_ExSetTimer), "ExSetTimer"))
        return FALSE;
    kdpc__extimer *x = &Timer->x;
    if (x->deleted)
        return FALSE;
    if (Period < 0)
        kdpc__ke_bad_argument(m, "ExSetTimer", Timer, Period, "Period",
                              "a period in 100 ns units, >= 0"); /* as a warning: one-shot */
    if ((x->attributes & EX_TIMER_HIGH_RESOLUTION) && DueTime > 0)
        kdpc__bugcheck_forced(m, 0xC4, (uint64_t)DueTime, 0, 0, 0,
                              "ExSetTimer on a high-resolution timer with an absolute due time "
                              "(1.30)");
    BOOLEAN was = kdpc__ke_timer_cancel(m, &x->timer) ? TRUE : FALSE;
    uint64_t period = Period > 0 ? (uint64_t)Period * 100u : 0;
    /* A periodic EX_TIMER expires at most once per clock tick (1.30). */
    if (period != 0 && period < m->cfg.clock_tick_ns)
        period = m->cfg.clock_tick_ns;
    x->period_ns = period;
    kdpc__ke_timer_set(m, c, &x->timer, kdpc__ke_due_ns(m, DueTime), &x->dpc);
    kdpc__ke_point(m);
    return was;
}

BOOLEAN kdpc_ExCancelTimer(PEX_TIMER Timer, PVOID Parameters)
{
    (void)Parameters;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExCancelTimer", &c);
    if (m == NULL || !extimer_ok(m, Timer, KDPC_RP(kdpc_ExCancelTimer), "ExCancelTimer") ||
        Timer->x.deleted)
        return FALSE;
    BOOLEAN was = kdpc__ke_timer_cancel(m, &Timer->x.timer) ? TRUE : FALSE;
    kdpc__trace(m, KDPC_EV_TIMER_CANCEL, c, &Timer->x.timer, NULL, was);
    kdpc__ke_point(m);
    return was;
}

BOOLEAN kdpc_ExDeleteTimer(PEX_TIMER Timer, BOOLEAN Cancel, BOOLEAN Wait,
                           PEXT_DELETE_PARAMETERS Parameters)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ExDeleteTimer", &c);
    if (m == NULL || !extimer_ok(m, Timer, KDPC_RP(kdpc_ExDeleteTimer), "ExDeleteTimer") ||
        Timer->x.deleted)
        return FALSE;
    kdpc__extimer *x = &Timer->x;
    BOOLEAN was = FALSE;
    if (Cancel) {
        was = kdpc__ke_timer_cancel(m, &x->timer) ? TRUE : FALSE;
        kdpc__trace(m, KDPC_EV_TIMER_CANCEL, c, &x->timer, NULL, was);
    } else
        x->period_ns = 0; /* a periodic timer fires at most once more (1.32) */
    if (Wait && c->irql <= APC_LEVEL && x->dpc.DpcData != NULL)
        kdpc_KeFlushQueuedDpcs();
    x->deleted = true;
    if (Parameters != NULL && Parameters->DeleteCallback != NULL)
        Parameters->DeleteCallback(Parameters->DeleteContext);
    kdpc__ke_point(m);
    return was;
}

void kdpc__ke_extimers_free(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    while (ke->extimers != NULL) {
        kdpc__extimer *x = ke->extimers;
        ke->extimers = x->next;
        free(x);
    }
    kdpc__ptrmap_free(&ke->extimer_known);
}
