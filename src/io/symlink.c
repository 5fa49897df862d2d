/* SPDX-License-Identifier: MIT */
/*
 * symlink.c - the object namespace of device names: IoCreateSymbolicLink,
 * IoDeleteSymbolicLink and the lookup of a path to a named device
 * (docs/facts/io.md section 10).
 *
 * The namespace holds the names IoCreateDevice gave (the device list, io.h)
 * and the links made here. A link stores its target as text and is followed
 * at lookup time, so it may point at a device that does not exist yet, and
 * a link may point at another link. Names compare without regard to ASCII
 * case. "\DosDevices\" and "\GLOBAL??\" are spelled "\??\" internally.
 * Divergence: one global DOS-device directory (Windows has one per logon
 * session plus the global one); links outlive their device and driver (as
 * on Windows) until IoDeleteSymbolicLink or the machine's end.
 */
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "verifier/ddiirql.h"

#define MAX_LINK_DEPTH 32 /* links followed in one lookup (a loop ends as "not found") */

typedef struct kdpc__symlink {
    struct kdpc__symlink *next;
    size_t nlen, tlen; /* WCHARs */
    WCHAR *target;     /* points into text, after the name */
    WCHAR text[];      /* name, then target */
} kdpc__symlink;

static WCHAR fold(WCHAR c)
{
    return c >= 'a' && c <= 'z' ? (WCHAR)(c - 'a' + 'A') : c;
}

static bool same(const WCHAR *a, const WCHAR *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fold(a[i]) != fold(b[i]))
            return false;
    }
    return true;
}

/* True when @prefix (@plen) names @s (@slen) or a path below it: equal, or followed by '\'. */
static bool names_prefix(const WCHAR *s, size_t slen, const WCHAR *prefix, size_t plen)
{
    return plen != 0 && plen <= slen && same(s, prefix, plen) && (plen == slen || s[plen] == '\\');
}

static bool starts_with(const WCHAR *s, size_t len, const char *ascii)
{
    size_t n = strlen(ascii);
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (fold(s[i]) != fold((WCHAR)(unsigned char)ascii[i]))
            return false;
    }
    return true;
}

/* @in (@len) with "\DosDevices\" or "\GLOBAL??\" spelled "\??\", into @out (KDPC_IO_NAME_MAX):
 * its length, or 0 when it does not fit. */
static size_t canonical(const WCHAR *in, size_t len, WCHAR *out)
{
    static const char *const aliases[] = {"\\DosDevices\\", "\\GLOBAL??\\"};
    size_t skip = 0;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (starts_with(in, len, aliases[i])) {
            skip = strlen(aliases[i]);
            break;
        }
    }
    size_t n = 0;
    if (skip != 0) {
        if (len - skip + 4 > KDPC_IO_NAME_MAX)
            return 0;
        out[n++] = '\\';
        out[n++] = '?';
        out[n++] = '?';
        out[n++] = '\\';
    } else if (len > KDPC_IO_NAME_MAX) {
        return 0;
    }
    memcpy(out + n, in + skip, (len - skip) * sizeof(WCHAR));
    return n + len - skip;
}

static kdpc__devrec *named_device(kdpc__io *io, const WCHAR *s, size_t len, size_t *used)
{
    kdpc__devrec *best = NULL;
    size_t best_len = 0;
    for (kdpc__devrec *d = io->devices; d != NULL; d = d->next) {
        size_t n = d->obj.DeviceName.Length / sizeof(WCHAR);
        if (d->name != NULL && n > best_len && names_prefix(s, len, d->name, n)) {
            best = d;
            best_len = n;
        }
    }
    *used = best_len;
    return best;
}

static kdpc__symlink *named_link(kdpc__io *io, const WCHAR *s, size_t len, size_t *used)
{
    kdpc__symlink *best = NULL;
    size_t best_len = 0;
    for (kdpc__symlink *l = io->links; l != NULL; l = l->next) {
        if (l->nlen > best_len && names_prefix(s, len, l->text, l->nlen)) {
            best = l;
            best_len = l->nlen;
        }
    }
    *used = best_len;
    return best;
}

NTSTATUS kdpc__io_resolve(kdpc_machine *m, const WCHAR *name, size_t len, kdpc__devrec **dev,
                          WCHAR *rest, size_t *rest_len)
{
    *dev = NULL;
    *rest_len = 0;
    if (name == NULL || len == 0 || name[0] != '\\')
        return STATUS_OBJECT_NAME_INVALID;
    kdpc__io *io = kdpc__io_of(m);
    WCHAR *cur = malloc(2 * KDPC_IO_NAME_MAX * sizeof(WCHAR));
    if (cur == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    WCHAR *tmp = cur + KDPC_IO_NAME_MAX;
    size_t n = canonical(name, len, cur);
    NTSTATUS st = n == 0 ? STATUS_OBJECT_NAME_INVALID : STATUS_OBJECT_NAME_NOT_FOUND;
    for (unsigned depth = 0; n != 0 && depth <= MAX_LINK_DEPTH; depth++) {
        size_t used;
        kdpc__devrec *d = named_device(io, cur, n, &used);
        if (d != NULL) {
            *dev = d;
            memcpy(rest, cur + used, (n - used) * sizeof(WCHAR));
            *rest_len = n - used;
            st = STATUS_SUCCESS;
            break;
        }
        kdpc__symlink *l = named_link(io, cur, n, &used);
        if (l == NULL)
            break;
        /* target + what followed the link's name */
        if (l->tlen + (n - used) > KDPC_IO_NAME_MAX) {
            st = STATUS_OBJECT_NAME_INVALID;
            break;
        }
        memcpy(tmp, l->target, l->tlen * sizeof(WCHAR));
        memcpy(tmp + l->tlen, cur + used, (n - used) * sizeof(WCHAR));
        n = canonical(tmp, l->tlen + (n - used), cur);
        if (n == 0)
            st = STATUS_OBJECT_NAME_INVALID;
    }
    free(cur);
    return st;
}

/* Routines Microsoft documents at PASSIVE_LEVEL (IoCreateSymbolicLink, IoDeleteSymbolicLink,
 * IoGetDeviceObjectPointer): io.passive_irql at any higher IRQL, APC_LEVEL included, with the
 * P1 of the IrqlIoPassive rule that names the routine (verifier/ddiirql.c). */
bool kdpc__io_passive_ok(kdpc_machine *m, const kdpc__cpu *c, const char *routine)
{
    return kdpc__ddi_irql_ok(m, c->irql, routine, 0);
}

static bool ustr_ok(const UNICODE_STRING *u)
{
    return u != NULL && (u->Buffer != NULL || u->Length == 0) && (u->Length % 2u) == 0;
}

NTSTATUS kdpc_IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCreateSymbolicLink", &c);
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!kdpc__io_passive_ok(m, c, "IoCreateSymbolicLink"))
        return STATUS_INVALID_PARAMETER;
    return kdpc__io_symlink_create(m, SymbolicLinkName, DeviceName);
}

NTSTATUS kdpc__io_symlink_create(kdpc_machine *m, PUNICODE_STRING SymbolicLinkName,
                                 PUNICODE_STRING DeviceName)
{
    if (!ustr_ok(SymbolicLinkName) || !ustr_ok(DeviceName))
        return STATUS_INVALID_PARAMETER;
    size_t ln = SymbolicLinkName->Length / sizeof(WCHAR);
    size_t tn = DeviceName->Length / sizeof(WCHAR);
    if (ln == 0 || tn == 0 || SymbolicLinkName->Buffer[0] != '\\' ||
        DeviceName->Buffer[0] != '\\' || tn > KDPC_IO_NAME_MAX || ln > KDPC_IO_NAME_MAX)
        return STATUS_OBJECT_NAME_INVALID;
    /* the canonical name is never longer than the name: "\??\" replaces a longer prefix */
    kdpc__symlink *l = calloc(1, sizeof(*l) + (ln + tn) * sizeof(WCHAR));
    if (l == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    l->nlen = canonical(SymbolicLinkName->Buffer, ln, l->text);
    if (l->nlen == 0) {
        free(l);
        return STATUS_OBJECT_NAME_INVALID;
    }
    kdpc__io *io = kdpc__io_of(m);
    for (kdpc__symlink *o = io->links; o != NULL; o = o->next) {
        if (o->nlen == l->nlen && same(o->text, l->text, l->nlen)) {
            free(l);
            return STATUS_OBJECT_NAME_COLLISION;
        }
    }
    for (kdpc__devrec *d = io->devices; d != NULL; d = d->next) {
        if (d->name != NULL && d->obj.DeviceName.Length / sizeof(WCHAR) == l->nlen &&
            same(d->name, l->text, l->nlen)) {
            free(l);
            return STATUS_OBJECT_NAME_COLLISION;
        }
    }
    l->target = l->text + l->nlen;
    memcpy(l->target, DeviceName->Buffer, tn * sizeof(WCHAR));
    l->tlen = tn;
    l->next = io->links;
    io->links = l;
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoDeleteSymbolicLink", &c);
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!kdpc__io_passive_ok(m, c, "IoDeleteSymbolicLink"))
        return STATUS_INVALID_PARAMETER;
    return kdpc__io_symlink_delete(m, SymbolicLinkName);
}

NTSTATUS kdpc__io_symlink_delete(kdpc_machine *m, PUNICODE_STRING SymbolicLinkName)
{
    if (!ustr_ok(SymbolicLinkName))
        return STATUS_INVALID_PARAMETER;
    WCHAR *buf = malloc(KDPC_IO_NAME_MAX * sizeof(WCHAR));
    if (buf == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    size_t n = canonical(SymbolicLinkName->Buffer, SymbolicLinkName->Length / sizeof(WCHAR), buf);
    NTSTATUS st = STATUS_OBJECT_NAME_NOT_FOUND;
    kdpc__io *io = kdpc__io_of(m);
    for (kdpc__symlink **p = &io->links; n != 0 && *p != NULL; p = &(*p)->next) {
        kdpc__symlink *l = *p;
        if (l->nlen == n && same(l->text, buf, n)) {
            *p = l->next;
            free(l);
            st = STATUS_SUCCESS;
            break;
        }
    }
    free(buf);
    kdpc__ke_point(m);
    return st;
}

void kdpc__io_links_free(kdpc_machine *m)
{
    kdpc__io *io = kdpc__io_of(m);
    while (io->links != NULL) {
        kdpc__symlink *l = io->links;
        io->links = l->next;
        free(l);
    }
}
