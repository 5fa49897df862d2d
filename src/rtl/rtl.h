/* SPDX-License-Identifier: MIT */
/*
 * rtl.h - internals of the Rtl layer: counted strings, ntstrsafe, the
 * printf engine that DbgPrint and the RtlString*Printf routines share
 * (docs/facts/rtl.md).
 */
#ifndef KDPC_RTL_INTERNAL_H
#define KDPC_RTL_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <kdpc/wdm.h>
#include "ke/ke.h"

/* Pool tag of the buffers the Rtl routines allocate ("Strg" in a pool dump). */
#define KDPC_RTL_TAG 0x67727453u

/* rtl.irql when a simulated CPU calls @routine above @max (PASSIVE_LEVEL or APC_LEVEL, as
 * Microsoft documents it). Returns when the rule is a warning or off (the routine then does its
 * work); nothing from host code. */
void kdpc__rtl_irql(const char *routine, KIRQL max);
static inline void kdpc__rtl_passive(const char *routine)
{
    kdpc__rtl_irql(routine, PASSIVE_LEVEL);
}
/* @p is a required pointer: NULL is the access violation Windows would raise (bug check 0x7E,
 * or 0x1E at DISPATCH_LEVEL and above, P1 STATUS_ACCESS_VIOLATION). From host code it prints a
 * diagnostic and returns true (the caller then returns without doing anything). */
bool kdpc__rtl_null(const void *p, const char *routine, const char *what);
/* @buf is the Buffer of a counted string the routine reads or writes @len bytes of: a NULL
 * Buffer with @len != 0 is kdpc__rtl_null's access violation (true: do nothing). */
static inline bool kdpc__rtl_buf(const void *buf, size_t len, const char *routine, const char *what)
{
    return len != 0 && kdpc__rtl_null(buf, routine, what);
}

/* Upper case of one UTF-16 unit (kdpc's case table). */
WCHAR kdpc__rtl_upcase(WCHAR c);

/* Output of the printf engine: narrow (n) or wide (w) buffer of @cap units (0: count only). */
typedef struct kdpc__rtl_out {
    char *n;
    WCHAR *w;
    size_t cap;   /* units, the NUL included (counted: no NUL, all cap units hold text) */
    bool counted; /* a counted string's buffer (UNICODE_STRING): no NUL is written */
    size_t len;   /* units stored (without the NUL) */
    size_t need;  /* units the whole result has */
    bool unicode; /* a Unicode format code (%C %S %lc %ls %wc %ws %wZ) was used */
    bool bad;     /* an unsupported request (%n) */
} kdpc__rtl_out;

/* Format @fmt (narrow when !@wide_fmt, else WCHAR) with @ap into @o, NUL-terminated when cap > 0
 * (and not counted).
 * Narrow format: %s %hs char *, %S %ls %ws WCHAR *, %c char, %C %lc %wc WCHAR; a wide format
 * swaps the meaning of s/c and S/C (as Microsoft's wide printf does). %Z PANSI_STRING, %wZ
 * PUNICODE_STRING. */
void kdpc__rtl_vformat(kdpc__rtl_out *o, const void *fmt, bool wide_fmt, va_list ap);

#endif /* KDPC_RTL_INTERNAL_H */
