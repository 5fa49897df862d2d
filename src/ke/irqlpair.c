/* SPDX-License-Identifier: MIT */
/*
 * irqlpair.c - KeRaiseIrql / KeLowerIrql pairing (Microsoft's IrqlKeRaiseLower and
 * IrqlKeRaiseLower2, Static Driver Verifier rules with no Driver Verifier code).
 *
 * Each thread keeps the IRQLs its KeRaiseIrql, KeRaiseIrqlToDpcLevel and KeRaiseIrqlToSynchLevel
 * calls saved, newest last, tagged with the context they ran in (the CPU's ISR depth and whether
 * a DPC routine runs): an ISR or DPC that interrupts the thread pairs its own calls. KeLowerIrql
 * takes the newest entry of its context (and the entries of contexts nested above it, which are
 * over):
 *   none          irql.lower_unmatched (IrqlKeRaiseLower): code 0, P1 the current IRQL, P2 the
 *                 NewIrql, P3 0, P4 0;
 *   another IRQL  irql.lower_other (IrqlKeRaiseLower2): code 0, P1 the current IRQL, P2 the
 *                 NewIrql, P3 the IRQL the raise saved, P4 0.
 * Off or a warning: the IRQL is lowered to NewIrql, as a free kernel does. Only KeRaiseIrql and
 * the raise-to routines count as raises: an IRQL restored with KeLowerIrql after
 * KeAcquireSpinLock + KeReleaseSpinLockFromDpcLevel is a lower with no raise, as for SDV. More
 * than 16 raises outstanding: the oldest is forgotten (a report missed, never a false one for the
 * newest).
 */
#include "ke/ke.h"

#define NRAISES 16u

static uint8_t ctx_isr(const kdpc__cpu *c)
{
    return (uint8_t)(c->isr_depth > 255u ? 255u : c->isr_depth);
}

static uint8_t ctx_dpc(const kdpc__cpu *c)
{
    return (uint8_t)(c->no_switch > 0 ? 1u : 0u);
}

void kdpc__ke_raise_note(kdpc__cpu *c, KIRQL saved)
{
    struct _KTHREAD *t = c->thread->ke;
    if (t == NULL)
        return;
    if (t->nraises == NRAISES) {
        memmove(&t->raises[0], &t->raises[1], (NRAISES - 1u) * sizeof(t->raises[0]));
        t->nraises--;
    }
    t->raises[t->nraises].saved = saved;
    t->raises[t->nraises].isr = ctx_isr(c);
    t->raises[t->nraises].dpc = ctx_dpc(c);
    t->nraises++;
}

void kdpc__ke_lower_check(kdpc_machine *m, kdpc__cpu *c, KIRQL new_irql)
{
    struct _KTHREAD *t = c->thread->ke;
    if (t == NULL)
        return;
    uint8_t isr = ctx_isr(c), dpc = ctx_dpc(c);
    for (unsigned i = t->nraises; i-- > 0;) {
        if (t->raises[i].isr != isr || t->raises[i].dpc != dpc)
            continue;
        KIRQL saved = t->raises[i].saved;
        t->nraises = i; /* this raise and the contexts nested above it are over */
        if (saved != new_irql)
            kdpc__violation(m, KDPC_R_IRQL_LOWER_OTHER, 0, c->irql, new_irql, saved, 0, NULL,
                            "KeLowerIrql(%u): the KeRaiseIrql it pairs with saved IRQL %u, the "
                            "IRQL to restore",
                            (unsigned)new_irql, (unsigned)saved);
        return;
    }
    kdpc__violation(m, KDPC_R_IRQL_LOWER_UNMATCHED, 0, c->irql, new_irql, 0, 0, NULL,
                    "KeLowerIrql(%u) at IRQL %u with no KeRaiseIrql before it in this context",
                    (unsigned)new_irql, (unsigned)c->irql);
}
