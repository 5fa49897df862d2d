/* SPDX-License-Identifier: MIT */
/*
 * dbgprint.c - DbgPrint, DbgPrintEx, vDbgPrintEx, vDbgPrintExWithPrefix:
 * formatted text to the machine's log (docs/facts/rtl.md section 6).
 */
#include <stdio.h>

#include "rtl/rtl.h"

/* At most this many bytes of one message reach the log, as on Windows. */
#define DBGPRINT_MAX 512u

static ULONG print(PCSTR Prefix, PCSTR Format, va_list ap)
{
    kdpc__thread *t = kdpc__self();
    FILE *out = t != NULL ? t->m->cfg.log : stderr;
    char buf[DBGPRINT_MAX];
    size_t np = 0;
    if (Prefix != NULL) {
        while (Prefix[np] != '\0' && np < DBGPRINT_MAX - 1) {
            buf[np] = Prefix[np];
            np++;
        }
    }
    kdpc__rtl_out o = {buf + np, NULL, DBGPRINT_MAX - np, false, 0, 0, false, false};
    if (Format != NULL)
        kdpc__rtl_vformat(&o, Format, false, ap);
    else
        buf[np] = '\0';
    /* Unicode format codes only at PASSIVE_LEVEL (rtl.irql); checked before writing, so that a
     * bug check leaves no stream lock held. */
    if (o.unicode && t != NULL && t->cpu != NULL && t->cpu->irql != PASSIVE_LEVEL)
        kdpc__rtl_passive("DbgPrint with a Unicode format code (%C %S %lc %ls %wc %ws %wZ)");
    if (out != NULL && buf[0] != '\0') {
        /* Written while kdpc__host_busy says a jump must not leave here: the stream's lock would
         * stay held and the next report on it would wait forever. */
        kdpc__host_busy_enter();
        fputs(buf, out);
        kdpc__host_busy_leave();
    }
    return (ULONG)STATUS_SUCCESS;
}

ULONG kdpc_DbgPrint(PCSTR Format, ...)
{
    va_list ap;
    va_start(ap, Format);
    ULONG r = print(NULL, Format, ap);
    va_end(ap);
    return r;
}

ULONG kdpc_DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
    (void)ComponentId;
    (void)Level;
    va_list ap;
    va_start(ap, Format);
    ULONG r = print(NULL, Format, ap);
    va_end(ap);
    return r;
}

ULONG kdpc_vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, va_list arglist)
{
    (void)ComponentId;
    (void)Level;
    va_list ap;
    va_copy(ap, arglist);
    ULONG r = print(NULL, Format, ap);
    va_end(ap);
    return r;
}

ULONG kdpc_vDbgPrintExWithPrefix(PCSTR Prefix, ULONG ComponentId, ULONG Level, PCSTR Format,
                                 va_list arglist)
{
    (void)ComponentId;
    (void)Level;
    va_list ap;
    va_copy(ap, arglist);
    ULONG r = print(Prefix, Format, ap);
    va_end(ap);
    return r;
}
