/* SPDX-License-Identifier: MIT */
/*
 * irqlcheck.c - the IRQL checks of the Ke, Ex and Ps routines a driver calls
 * (the DDI compliance rules IrqlKeDispatchLte, IrqlKeSetEvent, IrqlPsPassive,
 * IrqlExApcLte2 and IrqlExPassive, and Driver Verifier's 0xC4/0x80).
 *
 * Each check runs in the public routine only, before it does anything: the
 * kernel's own calls of the same routines (IoCompleteRequest setting an IRP's
 * UserEvent, a free cancelling the timers inside it) are not checked, so one
 * mistake is reported once, by the rule of the routine the driver called.
 * Every check returns true when the IRQL is right; else it reports, and when
 * the rule is a warning or off it returns false and the caller goes on as a
 * free kernel would (said at each call).
 *
 * Parameters follow kdpc's other DDI-rule reports (docs/rules.md): 0xC4, P1
 * the rule's code, P2 the IRQL at the call, P3 the highest IRQL the routine
 * allows, P4 the object the call is about (0 when none). Windows' own P2..P4
 * of a DDI compliance rule are pointers into Verifier's rule state, which
 * kdpc does not have.
 */
#include "ke/ke.h"

#define DDI_KE_DISPATCH_LTE 0x00020011u /* IrqlKeDispatchLte */
#define DDI_KE_SET_EVENT    0x00020016u /* IrqlKeSetEvent */
#define DDI_PS_PASSIVE      0x0002001Cu /* IrqlPsPassive */
#define DDI_EX_APC_LTE2     0x00020006u /* IrqlExApcLte2 */
#define DDI_EX_PASSIVE      0x00020008u /* IrqlExPassive (ExRaiseStatus: <= APC_LEVEL) */
#define DV_KE_SET_EVENT     0x80u       /* 0xC4/0x80: KeSetEvent above DISPATCH_LEVEL */
#define DV_WRONG_IRQL       0xE5u       /* 0xC4/0xE5: a kernel API at the wrong IRQL */

/* The calling CPU when the caller runs in simulated code, else NULL (no check then). */
static kdpc__cpu *here(kdpc_machine **m)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->cpu == NULL)
        return NULL;
    *m = t->m;
    return t->cpu;
}

static bool irql_at_most(kdpc_machine *m, const kdpc__cpu *c, kdpc__rule rule, KIRQL max,
                         uint64_t p1, const void *obj, const char *routine)
{
    if (c->irql <= max)
        return true;
    kdpc__violation(m, rule, 0xC4, p1, c->irql, max, (uintptr_t)obj, NULL,
                    "%s called at IRQL %u: it runs only at IRQL <= %u", routine, (unsigned)c->irql,
                    (unsigned)max);
    return false;
}

bool kdpc__ke_irql_dispatch_ok(const void *obj, const char *routine)
{
    kdpc_machine *m;
    kdpc__cpu *c = here(&m);
    return c == NULL || irql_at_most(m, c, KDPC_R_IRQL_KE_DISPATCH, DISPATCH_LEVEL,
                                     DDI_KE_DISPATCH_LTE, obj, routine);
}

bool kdpc__ke_irql_dispatch_other_ok(const void *obj, const char *routine)
{
    kdpc_machine *m;
    kdpc__cpu *c = here(&m);
    return c == NULL ||
           irql_at_most(m, c, KDPC_R_IRQL_KE_DISPATCH, DISPATCH_LEVEL, DV_WRONG_IRQL, obj, routine);
}

bool kdpc__ke_irql_set_event_ok(const void *event, BOOLEAN wait, const char *routine)
{
    kdpc_machine *m;
    kdpc__cpu *c = here(&m);
    if (c == NULL)
        return true;
    if (c->irql > DISPATCH_LEVEL) {
        /* Driver Verifier's own check (P2 the IRQL, P3 the event, as its 0xC4 table says) */
        kdpc__violation(m, KDPC_R_IRQL_KE_SET_EVENT, 0xC4, DV_KE_SET_EVENT, c->irql,
                        (uintptr_t)event, 0, NULL,
                        "%s called at IRQL %u: it runs only at IRQL <= DISPATCH_LEVEL (an ISR "
                        "queues a DPC that sets the event)",
                        routine, (unsigned)c->irql);
        return false;
    }
    if (wait && c->irql > APC_LEVEL) {
        kdpc__violation(m, KDPC_R_IRQL_KE_SET_EVENT_WAIT, 0xC4, DDI_KE_SET_EVENT, c->irql,
                        APC_LEVEL, (uintptr_t)event, NULL,
                        "%s with Wait = TRUE called at IRQL %u: a wait must follow, so it runs "
                        "only at IRQL <= APC_LEVEL",
                        routine, (unsigned)c->irql);
        return false;
    }
    return true;
}

bool kdpc__ke_irql_passive_ok(bool ps, const void *obj, const char *routine)
{
    kdpc_machine *m;
    kdpc__cpu *c = here(&m);
    return c == NULL || irql_at_most(m, c, KDPC_R_PS_PASSIVE_IRQL, PASSIVE_LEVEL,
                                     ps ? DDI_PS_PASSIVE : DV_WRONG_IRQL, obj, routine);
}

bool kdpc__ke_irql_ex_apc_ok(bool passive_rule, const void *obj, const char *routine)
{
    kdpc_machine *m;
    kdpc__cpu *c = here(&m);
    return c == NULL || irql_at_most(m, c, KDPC_R_IRQL_EX_APC, APC_LEVEL,
                                     passive_rule ? DDI_EX_PASSIVE : DDI_EX_APC_LTE2, obj, routine);
}

bool kdpc__ke_irql_lookaside_ok(const void *list, unsigned pool_type, const char *paged_routine)
{
    if ((pool_type & 1u) == 0) /* NonPagedPool(Nx) and friends: <= DISPATCH_LEVEL, unchecked */
        return true;
    return kdpc__ke_irql_ex_apc_ok(false, list, paged_routine);
}
