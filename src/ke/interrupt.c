/* SPDX-License-Identifier: MIT */
/*
 * interrupt.c - interrupt objects: IoConnectInterrupt(Ex),
 * IoDisconnectInterrupt(Ex), ISR dispatch on a line, KeSynchronizeExecution
 * and the interrupt spin lock (dpc-irql.md section 3).
 *
 * An ISR runs nested on the stack of the thread on the CPU that takes the
 * interrupt, at the object's SynchronizeIrql, holding its ActualLock (3.3).
 * Shared lines: LevelSensitive stops at the first ISR that claims the
 * interrupt; Latched keeps passing over the chain until a whole pass in
 * which no ISR claimed it (3.6: Divergence from ReactOS, which looks only at
 * the last ISR; this is what Windows is believed to do). An unshared line
 * calls its one ISR once.
 *
 * Storm: a level-triggered line that is still asserted after a delivery in
 * which no ISR claimed it counts one unclaimed delivery; storm_threshold of
 * them in a row is bug check 0xF2 (3.7). Windows counts interrupts per
 * unit of time; kdpc counts in a row so the outcome does not depend on costs.
 * With the rule off or a warning, kdpc deasserts the stuck line afterwards
 * (Windows would hang), so a run always ends.
 */
#include <stdlib.h>

#include "ke/ke.h"

static void configure_line(kdpc_machine *m, unsigned line)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    struct _KINTERRUPT *head = ke->lines[line];
    if (head == NULL) {
        kdpc__line_config(m, line, false, false, 0, 0);
        return;
    }
    KIRQL irql = 0;
    uint64_t mask = 0;
    for (struct _KINTERRUPT *i = head; i != NULL; i = i->next_on_line) {
        if (i->irql > irql)
            irql = i->irql;
        mask |= i->mask;
    }
    kdpc__line_config(m, line, true, head->mode == LevelSensitive, irql, mask);
}

NTSTATUS kdpc_IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                                 PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector,
                                 KIRQL Irql, KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                                 BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                                 BOOLEAN FloatingSave)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoConnectInterrupt", &c);
    if (m == NULL || InterruptObject == NULL || ServiceRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    uint64_t active = m->ncpu >= 64 ? ~0ull : ((1ull << m->ncpu) - 1u);
    if (Vector >= KDPC_MAX_LINES || Irql <= DISPATCH_LEVEL || Irql > HIGH_LEVEL ||
        SynchronizeIrql < Irql || SynchronizeIrql > HIGH_LEVEL || FloatingSave ||
        (InterruptMode != LevelSensitive && InterruptMode != Latched) ||
        (ProcessorEnableMask & active) == 0)
        return STATUS_INVALID_PARAMETER;
    kdpc__ke *ke = kdpc__ke_of(m);
    for (struct _KINTERRUPT *i = ke->lines[Vector]; i != NULL; i = i->next_on_line) {
        if (!ShareVector || !i->share || i->mode != InterruptMode)
            return STATUS_INVALID_PARAMETER;
    }
    struct _KINTERRUPT *obj = calloc(1, sizeof(*obj));
    if (obj == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    obj->m = m;
    obj->isr = ServiceRoutine;
    obj->ctx = ServiceContext;
    obj->lock = SpinLock != NULL ? SpinLock : &obj->own_lock;
    obj->vector = Vector;
    obj->irql = Irql;
    obj->sync_irql = SynchronizeIrql;
    obj->mode = InterruptMode;
    obj->share = ShareVector;
    obj->mask = ProcessorEnableMask & active;
    obj->driver = kdpc__ke_current_driver(m, c);
    obj->connected = true;
    struct _KINTERRUPT **tail = &ke->lines[Vector];
    while (*tail != NULL)
        tail = &(*tail)->next_on_line;
    *tail = obj;
    obj->all_next = ke->all_interrupts;
    ke->all_interrupts = obj;
    *InterruptObject = obj;
    configure_line(m, Vector);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

static void unlink_and_free(kdpc_machine *m, struct _KINTERRUPT *obj)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    for (struct _KINTERRUPT **p = &ke->lines[obj->vector]; *p != NULL; p = &(*p)->next_on_line) {
        if (*p == obj) {
            *p = obj->next_on_line;
            break;
        }
    }
    for (struct _KINTERRUPT **p = &ke->all_interrupts; *p != NULL; p = &(*p)->all_next) {
        if (*p == obj) {
            *p = obj->all_next;
            break;
        }
    }
    configure_line(m, obj->vector);
    if (obj->lock == &obj->own_lock && m->ver != NULL)
        kdpc__lock_forget(m, &obj->own_lock);
    kdpc__trace_forget(m, obj, sizeof(*obj)); /* trace number and name of the object */
    free(obj);
}

static bool known(kdpc_machine *m, struct _KINTERRUPT *obj)
{
    for (struct _KINTERRUPT *i = kdpc__ke_of(m)->all_interrupts; i != NULL; i = i->all_next) {
        if (i == obj)
            return true;
    }
    return false;
}

void kdpc_IoDisconnectInterrupt(PKINTERRUPT InterruptObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoDisconnectInterrupt", &c);
    if (m == NULL || InterruptObject == NULL || !known(m, InterruptObject))
        return;
    unlink_and_free(m, InterruptObject);
    kdpc__ke_point(m);
}

void kdpc__ke_disconnect_all(kdpc_machine *m)
{
    while (kdpc__ke_of(m)->all_interrupts != NULL)
        unlink_and_free(m, kdpc__ke_of(m)->all_interrupts);
}

NTSTATUS kdpc_IoConnectInterruptEx(PIO_CONNECT_INTERRUPT_PARAMETERS Parameters)
{
    if (Parameters == NULL)
        return STATUS_INVALID_PARAMETER;
    if (Parameters->Version == CONNECT_LINE_BASED || Parameters->Version == CONNECT_MESSAGE_BASED)
        return STATUS_NOT_SUPPORTED;
    if (Parameters->Version != CONNECT_FULLY_SPECIFIED &&
        Parameters->Version != CONNECT_FULLY_SPECIFIED_GROUP)
        return STATUS_INVALID_PARAMETER;
    PIO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS p = &Parameters->FullySpecified;
    if (Parameters->Version == CONNECT_FULLY_SPECIFIED_GROUP && p->Group != 0)
        return STATUS_INVALID_PARAMETER;
    return kdpc_IoConnectInterrupt(p->InterruptObject, p->ServiceRoutine, p->ServiceContext,
                                   p->SpinLock, p->Vector, p->Irql, p->SynchronizeIrql,
                                   p->InterruptMode, p->ShareVector, p->ProcessorEnableMask,
                                   p->FloatingSave);
}

void kdpc_IoDisconnectInterruptEx(PIO_DISCONNECT_INTERRUPT_PARAMETERS Parameters)
{
    if (Parameters == NULL)
        return;
    if (Parameters->Version != CONNECT_FULLY_SPECIFIED &&
        Parameters->Version != CONNECT_FULLY_SPECIFIED_GROUP)
        return;
    kdpc_IoDisconnectInterrupt(Parameters->ConnectionContext.InterruptObject);
}

/* ------------------------------------------------------------------ */
/* Delivery                                                            */

#define ISR_UNIQUE_VALUE 3u /* 0xC8 UniqueValue for an ISR (7.8) */
#define RULE_SPINLOCK    0x00040009u

static BOOLEAN call_isr(kdpc_machine *m, kdpc__cpu *c, struct _KINTERRUPT *i, KIRQL line_irql)
{
    if (i->sync_irql > c->irql)
        kdpc__ke_set_irql(m, c, i->sync_irql);
    kdpc__ke_lock_acquire(m, c, i->lock, KDPC_LOCK_INTERRUPT, NULL);
    c = kdpc__cur_cpu();
    unsigned held_before = kdpc__locks_held(m, c);
    kdpc__ke_push_frame(c, KDPC_RP(i->isr), i->driver);
    kdpc__trace(m, KDPC_EV_ISR_BEGIN, c, i, KDPC_RP(i->isr), i->vector);
    BOOLEAN r = i->isr(i, i->ctx);
    if (kdpc__ke_of(m)->fault_pending)
        kdpc__ke_report_faults(m);
    uint64_t ran = kdpc__ke_pop_frame(c);
    kdpc__trace(m, KDPC_EV_ISR_END, c, i, KDPC_RP(i->isr), r);
    if (c->irql != i->sync_irql) {
        KIRQL now = c->irql;
        kdpc__violation(m, KDPC_R_ISR_IRQL_CHANGED, 0xC8,
                        ((uint64_t)now << 16) | ((uint64_t)i->sync_irql << 8) | ISR_UNIQUE_VALUE,
                        kdpc__fnaddr(KDPC_RP(i->isr)), (uintptr_t)i, 0, KDPC_RP(i->isr),
                        "ISR returned at IRQL %u; it runs and must return at its SynchronizeIrql "
                        "%u",
                        (unsigned)now, (unsigned)i->sync_irql);
        kdpc__ke_set_irql(m, c, i->sync_irql);
    }
    unsigned held_after = kdpc__locks_held(m, c);
    if (held_after > held_before) {
        kdpc__lock *l = kdpc__lock_held_at(m, c, held_after - 1);
        kdpc__violation(m, KDPC_R_DPC_LOCK_HELD, 0xC4, RULE_SPINLOCK, l->addr, (uintptr_t)i, 0,
                        KDPC_RP(i->isr),
                        "ISR returned holding spin lock %#lx; every lock it takes must be "
                        "released before it returns",
                        (unsigned long)l->addr);
    }
    kdpc__ke_lock_release(m, c, i->lock, KDPC_LOCK_INTERRUPT, NULL);
    if (ran > m->cfg.isr_time_limit_ns)
        kdpc__violation(m, KDPC_R_ISR_TOO_LONG, 0, ran, m->cfg.isr_time_limit_ns, 0, 0,
                        KDPC_RP(i->isr),
                        "one ISR call ran %llu.%03llu us (guideline: at most %llu us)",
                        (unsigned long long)(ran / 1000u), (unsigned long long)(ran % 1000u),
                        (unsigned long long)(m->cfg.isr_time_limit_ns / 1000u));
    kdpc__ke_set_irql(m, c, line_irql);
    return r;
}

void kdpc__ke_interrupt(kdpc_machine *m, kdpc__cpu *c, unsigned line)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    struct _KINTERRUPT *head = ke->lines[line];
    if (head == NULL)
        return;
    KIRQL old = c->irql;
    KIRQL line_irql = 0;
    for (struct _KINTERRUPT *i = head; i != NULL; i = i->next_on_line)
        line_irql = i->irql > line_irql ? i->irql : line_irql;
    bool latched = head->mode == Latched;
    bool chained = head->next_on_line != NULL;
    bool claimed_any = false;
    c->isr_depth++;
    kdpc__ke_set_irql(m, c, line_irql);
    for (unsigned pass = 0;; pass++) {
        bool claimed_pass = false;
        for (struct _KINTERRUPT *i = ke->lines[line]; i != NULL; i = i->next_on_line) {
            if (!((i->mask >> c->index) & 1u))
                continue;
            if (call_isr(m, c, i, line_irql)) {
                claimed_pass = true;
                claimed_any = true;
                if (!latched)
                    break;
            }
        }
        if (!latched || !chained || !claimed_pass || pass > 64)
            break;
    }
    kdpc__ke_set_irql(m, c, old);
    c->isr_depth--;
    if (latched)
        return;
    if (!claimed_any && kdpc__line_asserted(m, line)) {
        if (++ke->unclaimed[line] >= m->cfg.storm_threshold) {
            ke->unclaimed[line] = 0;
            kdpc__violation(m, KDPC_R_ISR_STORM, 0xF2, kdpc__fnaddr(KDPC_RP(head->isr)),
                            (uintptr_t)head->ctx, (uintptr_t)head, chained ? 2u : 1u,
                            KDPC_RP(head->isr),
                            "level-triggered line %u stayed asserted through %u deliveries that "
                            "no ISR claimed: an interrupt storm",
                            line, m->cfg.storm_threshold);
            /* Divergence: with isr.storm off or a warning, Windows would hang in the storm;
             * kdpc deasserts the stuck line so the run can go on. */
            kdpc__line_set(m, line, false);
        }
    } else {
        ke->unclaimed[line] = 0;
    }
}

/* ------------------------------------------------------------------ */
/* Synchronization with the ISR                                        */

static void check_sync_irql(kdpc_machine *m, kdpc__cpu *c, struct _KINTERRUPT *i, const char *n)
{
    if (c->irql > i->sync_irql)
        kdpc__violation(m, KDPC_R_SYNC_IRQL_TOO_HIGH, 0xC4, 0x30, c->irql, i->sync_irql, 0, NULL,
                        "%s called at IRQL %u, above the interrupt's SynchronizeIrql %u", n,
                        (unsigned)c->irql, (unsigned)i->sync_irql);
}

BOOLEAN kdpc_KeSynchronizeExecution(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                    PVOID SynchronizeContext)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeSynchronizeExecution", &c);
    if (m == NULL || Interrupt == NULL || SynchronizeRoutine == NULL)
        return FALSE;
    KIRQL old = c->irql;
    check_sync_irql(m, c, Interrupt, "KeSynchronizeExecution");
    kdpc__ke_set_irql(m, c, Interrupt->sync_irql);
    kdpc__ke_lock_acquire(m, c, Interrupt->lock, KDPC_LOCK_INTERRUPT, NULL);
    c = kdpc__cur_cpu();
    kdpc__trace(m, KDPC_EV_SYNC_BEGIN, c, Interrupt, KDPC_RP(SynchronizeRoutine), 0);
    BOOLEAN r = SynchronizeRoutine(SynchronizeContext);
    kdpc__trace(m, KDPC_EV_SYNC_END, c, Interrupt, KDPC_RP(SynchronizeRoutine), r);
    kdpc__ke_lock_release(m, c, Interrupt->lock, KDPC_LOCK_INTERRUPT, NULL);
    kdpc__ke_set_irql(m, c, old);
    kdpc__ke_point(m);
    return r;
}

KIRQL kdpc_KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeAcquireInterruptSpinLock", &c);
    if (m == NULL || Interrupt == NULL)
        return PASSIVE_LEVEL;
    KIRQL old = c->irql;
    check_sync_irql(m, c, Interrupt, "KeAcquireInterruptSpinLock");
    kdpc__ke_set_irql(m, c, Interrupt->sync_irql);
    kdpc__ke_lock_acquire(m, c, Interrupt->lock, KDPC_LOCK_INTERRUPT, NULL);
    kdpc__ke_point(m);
    return old;
}

void kdpc_KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeReleaseInterruptSpinLock", &c);
    if (m == NULL || Interrupt == NULL)
        return;
    kdpc__ke_lock_release(m, c, Interrupt->lock, KDPC_LOCK_INTERRUPT, NULL);
    kdpc__ke_set_irql(m, c, OldIrql);
    kdpc__ke_point(m);
}
