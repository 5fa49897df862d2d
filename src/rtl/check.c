/* SPDX-License-Identifier: MIT */
/*
 * check.c - the checks the Rtl routines share: the documented IRQL
 * (rtl.irql) and required pointers (docs/facts/rtl.md section 1).
 */
#include <stdio.h>

#include "rtl/rtl.h"
#include "verifier/verifier.h"

#define STATUS_ACCESS_VIOLATION_ 0xC0000005u

/* The machine and CPU of a simulated caller; NULL (quietly) for host code. */
static kdpc_machine *caller(const char *routine, kdpc__cpu **c)
{
    *c = NULL;
    if (kdpc__self() == NULL)
        return NULL;
    return kdpc__ke_ctx(routine, c);
}

void kdpc__rtl_irql(const char *routine, KIRQL max)
{
    kdpc__cpu *c;
    kdpc_machine *m = caller(routine, &c);
    if (m == NULL || c->irql <= max)
        return;
    kdpc__violation(m, KDPC_R_RTL_IRQL, 0xC4, 0x00020023u, c->irql, max, 0, NULL,
                    "%s called at IRQL %u: it runs only at %s", routine, (unsigned)c->irql,
                    max == PASSIVE_LEVEL ? "PASSIVE_LEVEL" : "IRQL <= APC_LEVEL");
}

bool kdpc__rtl_null(const void *p, const char *routine, const char *what)
{
    if (p != NULL)
        return false;
    kdpc__cpu *c;
    kdpc_machine *m = caller(routine, &c);
    if (m == NULL) {
        fprintf(stderr, "kdpc: %s: %s is NULL (host code: the call does nothing)\n", routine, what);
        return true;
    }
    uint32_t code = c->irql >= DISPATCH_LEVEL ? 0x1Eu : 0x7Eu;
    kdpc__bugcheck_rule(m, KDPC_R_KE_CRASH, code, STATUS_ACCESS_VIOLATION_, 0, 0, 0,
                        "%s: %s is NULL: access violation reading address 0 (%s)", routine, what,
                        code == 0x1Eu ? "KMODE_EXCEPTION_NOT_HANDLED"
                                      : "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED");
}
