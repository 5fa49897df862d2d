/* SPDX-License-Identifier: MIT */
/*
 * irql.c - KeGetCurrentIrql, KeRaiseIrql, KeLowerIrql and the raise-to
 * shortcuts (dpc-irql.md 1.7-1.16).
 *
 * Verifier mode is the default: raising to a lower IRQL is 0xC4/0x30,
 * lowering to a higher one 0xC4/0x31 (1.13). With the rule switched to a
 * warning kdpc behaves like a free kernel and sets the requested IRQL
 * anyway (1.11). Dropping below DISPATCH_LEVEL runs requested DPCs before
 * the call returns (1.9), at the interleaving point that ends the call.
 */
#include "ke/ke.h"

KIRQL kdpc_KeGetCurrentIrql(void)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    return c != NULL ? c->irql : PASSIVE_LEVEL;
}

static void check_valid(kdpc_machine *m, kdpc__cpu *c, KIRQL irql, uint64_t p1)
{
    if (irql > HIGH_LEVEL)
        kdpc__violation(m, KDPC_R_IRQL_INVALID, 0xC4, p1, c->irql, irql, 0, NULL,
                        "IRQL %u does not exist (HIGH_LEVEL is 15 on x64)", (unsigned)irql);
}

void kdpc_KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeRaiseIrql", &c);
    if (m == NULL) {
        if (OldIrql != NULL)
            *OldIrql = PASSIVE_LEVEL;
        return;
    }
    KIRQL cur = c->irql;
    /* A NULL OldIrql is written (obj.invalid, 0x1E / 0xA); as a warning the raise goes on */
    if (OldIrql == NULL)
        (void)kdpc__ke_check_ptr(m, OldIrql, 0, true, NewIrql > HIGH_LEVEL ? HIGH_LEVEL : NewIrql,
                                 KDPC_RP(kdpc_KeRaiseIrql), "KeRaiseIrql");
    check_valid(m, c, NewIrql, 0x30);
    if (NewIrql < cur)
        kdpc__violation(m, KDPC_R_IRQL_RAISE_LOWER, 0xC4, 0x30, cur, NewIrql, 0, NULL,
                        "KeRaiseIrql to IRQL %u while at IRQL %u: a raise must not lower",
                        (unsigned)NewIrql, (unsigned)cur);
    if (OldIrql != NULL)
        *OldIrql = cur;
    kdpc__ke_raise_note(c, cur); /* irqlpair.c */
    kdpc__ke_set_irql(m, c, NewIrql > HIGH_LEVEL ? HIGH_LEVEL : NewIrql);
    kdpc__ke_point(m);
}

void kdpc_KeLowerIrql(KIRQL NewIrql)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeLowerIrql", &c);
    if (m == NULL)
        return;
    KIRQL cur = c->irql;
    check_valid(m, c, NewIrql, 0x31);
    if (NewIrql > cur)
        kdpc__violation(m, KDPC_R_IRQL_LOWER_RAISE, 0xC4, 0x31, cur, NewIrql, 0, NULL,
                        "KeLowerIrql to IRQL %u while at IRQL %u: a lower must not raise",
                        (unsigned)NewIrql, (unsigned)cur);
    if (NewIrql <= HIGH_LEVEL)
        kdpc__ke_lower_check(m, c, NewIrql); /* irqlpair.c: IrqlKeRaiseLower(2) */
    kdpc__ke_set_irql(m, c, NewIrql > HIGH_LEVEL ? HIGH_LEVEL : NewIrql);
    kdpc__ke_point(m);
}

static KIRQL raise_to(const char *name, KIRQL level)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    if (m == NULL)
        return PASSIVE_LEVEL;
    KIRQL cur = c->irql;
    if (cur > level)
        kdpc__violation(m, KDPC_R_IRQL_RAISE_LOWER, 0xC4, 0x30, cur, level, 0, NULL,
                        "%s called at IRQL %u, above the level it raises to (%u)", name,
                        (unsigned)cur, (unsigned)level);
    kdpc__ke_raise_note(c, cur); /* irqlpair.c */
    kdpc__ke_set_irql(m, c, level);
    kdpc__ke_point(m);
    return cur;
}

KIRQL kdpc_KeRaiseIrqlToDpcLevel(void)
{
    return raise_to("KeRaiseIrqlToDpcLevel", DISPATCH_LEVEL);
}

KIRQL kdpc_KeRaiseIrqlToSynchLevel(void)
{
    return raise_to("KeRaiseIrqlToSynchLevel", SYNCH_LEVEL);
}
