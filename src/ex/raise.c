/* SPDX-License-Identifier: MIT */
/*
 * raise.c - ExRaiseStatus: an exception that nothing catches.
 *
 * kdpc has no structured exception handling (kdpc/wdm/seh.h): a raised status is the bug check
 * Windows takes when no handler accepts a kernel-mode exception, 0x1E KMODE_EXCEPTION_NOT_HANDLED
 * with P1 = the status, under rule "ke.bugcheck".
 */
#include <stdio.h>
#include <stdlib.h>

#include "ke/ke.h"

static void raise_status(NTSTATUS Status, bool check)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->cpu == NULL) {
        fprintf(stderr, "kdpc: ExRaiseStatus(0x%08lX) called outside a simulated CPU; aborting\n",
                (unsigned long)(ULONG)Status);
        abort();
    }
    /* irql.ex_apc (IrqlExPassive: ExRaiseStatus at IRQL <= APC_LEVEL); then the raise */
    if (check)
        (void)kdpc__ke_irql_ex_apc_ok(true, NULL, "ExRaiseStatus");
    kdpc__bugcheck_forced(t->m, 0x1E, (ULONG)Status, 0, 0, 0,
                          "ExRaiseStatus(0x%08lX): an exception no handler catches (kdpc runs no "
                          "__except handler)",
                          (unsigned long)(ULONG)Status);
}

void kdpc_ExRaiseStatus(NTSTATUS Status)
{
    raise_status(Status, true);
    abort(); /* not reached: the bug check does not return */
}

void kdpc__ex_raise_status(NTSTATUS Status)
{
    raise_status(Status, false);
    abort(); /* not reached */
}
