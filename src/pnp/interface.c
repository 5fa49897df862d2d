/* SPDX-License-Identifier: MIT */
/*
 * interface.c - device interfaces: IoRegisterDeviceInterface and
 * IoSetDeviceInterfaceState; the names they hand out are freed with
 * RtlFreeUnicodeString (rtl/unicode.c) (docs/facts/pnp.md section 5).
 *
 * Each registered instance is (PDO, class GUID, reference string) with its
 * name; enabling it makes the name a symbolic link to the PDO's name (the
 * I/O manager's links, io/symlink.c), disabling it deletes the link. The
 * PnP manager disables a removed device's instances and forgets them when
 * the PDO goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pnp/pnp.h"
#include "verifier/ddiirql.h"

#define IFACE_TAG 0x496f4966u /* "fIoI": the tag of the names handed out */

typedef struct kdpc__iface {
    PDEVICE_OBJECT pdo;
    GUID guid;
    bool enabled;
    USHORT len; /* bytes of name, without the NUL */
    struct kdpc__iface *next;
    WCHAR name[]; /* NUL-terminated */
} kdpc__iface;

void kdpc__pnp_ifaces_free(kdpc__pnp *p)
{
    while (p->ifaces != NULL) {
        kdpc__iface *i = p->ifaces;
        p->ifaces = i->next;
        free(i);
    }
}

static bool same_name(const kdpc__iface *i, const UNICODE_STRING *s)
{
    if (s->Length != i->len || s->Buffer == NULL)
        return false;
    for (size_t k = 0; k < s->Length / sizeof(WCHAR); k++) {
        WCHAR a = i->name[k], b = s->Buffer[k];
        if (a >= 'a' && a <= 'z')
            a = (WCHAR)(a - 'a' + 'A');
        if (b >= 'a' && b <= 'z')
            b = (WCHAR)(b - 'a' + 'A');
        if (a != b)
            return false;
    }
    return true;
}

static kdpc__iface *find_named(kdpc__pnp *p, const UNICODE_STRING *s)
{
    for (kdpc__iface *i = p->ifaces; i != NULL; i = i->next) {
        if (same_name(i, s))
            return i;
    }
    return NULL;
}

/* Link or unlink @i's name to its PDO's name: the kernel's own link, so not IRQL-checked again
 * (the driver's IoSetDeviceInterfaceState was). */
static NTSTATUS set_link(kdpc_machine *m, kdpc__iface *i, bool on)
{
    UNICODE_STRING link = {i->len, (USHORT)(i->len + sizeof(WCHAR)), i->name};
    if (!on)
        return kdpc__io_symlink_delete(m, &link);
    UNICODE_STRING target = i->pdo->DeviceName;
    return kdpc__io_symlink_create(m, &link, &target);
}

NTSTATUS kdpc_IoRegisterDeviceInterface(PDEVICE_OBJECT PhysicalDeviceObject,
                                        const GUID *InterfaceClassGuid,
                                        PUNICODE_STRING ReferenceString,
                                        PUNICODE_STRING SymbolicLinkName)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoRegisterDeviceInterface", &c);
    if (m == NULL || InterfaceClassGuid == NULL || SymbolicLinkName == NULL)
        return STATUS_INVALID_PARAMETER;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoRegisterDeviceInterface",
                            (uintptr_t)PhysicalDeviceObject); /* goes on */
    kdpc__pdoext *x = kdpc__pnp_pdoext(m, PhysicalDeviceObject);
    if (x == NULL) {
        kdpc__pnp_not_pdo(m, "IoRegisterDeviceInterface", PhysicalDeviceObject,
                          (uintptr_t)__builtin_return_address(0));
        return STATUS_INVALID_DEVICE_REQUEST; /* not a PDO (fact 5.1) */
    }
    size_t nref = 0;
    if (ReferenceString != NULL && ReferenceString->Buffer != NULL) {
        nref = ReferenceString->Length / sizeof(WCHAR);
        for (size_t k = 0; k < nref; k++) {
            if (ReferenceString->Buffer[k] == '\\' || ReferenceString->Buffer[k] == '/')
                return STATUS_INVALID_DEVICE_REQUEST;
        }
    }
    const GUID *g = InterfaceClassGuid;
    char head[200];
    int n = snprintf(head, sizeof(head),
                     "\\??\\ROOT#%.64s#0000#{%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}",
                     kdpc_device_name(x->dev), (unsigned long)g->Data1, (unsigned)g->Data2,
                     (unsigned)g->Data3, g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3],
                     g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
    size_t chars = (size_t)n + (nref > 0 ? 1 + nref : 0);
    if (chars * sizeof(WCHAR) >= 0xFFFEu)
        return STATUS_INVALID_DEVICE_REQUEST;
    WCHAR *name = calloc(chars + 1, sizeof(WCHAR));
    if (name == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    for (int k = 0; k < n; k++)
        name[k] = (WCHAR)(unsigned char)head[k];
    if (nref > 0) {
        name[n] = '\\';
        memcpy(name + n + 1, ReferenceString->Buffer, nref * sizeof(WCHAR));
    }
    kdpc__pnp *p = kdpc__pnp_of(m, true);
    UNICODE_STRING us = {(USHORT)(chars * sizeof(WCHAR)), (USHORT)((chars + 1) * sizeof(WCHAR)),
                         name};
    kdpc__iface *i = p != NULL ? find_named(p, &us) : NULL;
    if (i == NULL && p != NULL) {
        i = calloc(1, sizeof(*i) + (chars + 1) * sizeof(WCHAR));
        if (i != NULL) {
            i->pdo = PhysicalDeviceObject;
            i->guid = *g;
            i->len = us.Length;
            memcpy(i->name, name, (chars + 1) * sizeof(WCHAR));
            i->next = p->ifaces;
            p->ifaces = i;
        }
    }
    free(name);
    if (i == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    /* the caller's copy, freed with RtlFreeUnicodeString (fact 5.1) */
    PWSTR out = kdpc__pool_kernel_alloc(PagedPool, (SIZE_T)i->len + sizeof(WCHAR), IFACE_TAG);
    if (out == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(out, i->name, (size_t)i->len + sizeof(WCHAR));
    SymbolicLinkName->Buffer = out;
    SymbolicLinkName->Length = i->len;
    SymbolicLinkName->MaximumLength = (USHORT)(i->len + sizeof(WCHAR));
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_IoSetDeviceInterfaceState(PUNICODE_STRING SymbolicLinkName, BOOLEAN Enable)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoSetDeviceInterfaceState", &c);
    if (m == NULL || SymbolicLinkName == NULL || SymbolicLinkName->Buffer == NULL)
        return STATUS_INVALID_PARAMETER;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoSetDeviceInterfaceState", 0); /* goes on */
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    kdpc__iface *i = p != NULL ? find_named(p, SymbolicLinkName) : NULL;
    if (i == NULL)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    if (Enable) {
        if (i->enabled)
            return STATUS_OBJECT_NAME_EXISTS; /* informational (fact 5.2) */
        NTSTATUS st = set_link(m, i, true);
        if (!NT_SUCCESS(st))
            return st;
        i->enabled = true;
    } else {
        if (!i->enabled)
            return STATUS_OBJECT_NAME_NOT_FOUND;
        (void)set_link(m, i, false);
        i->enabled = false;
    }
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

void kdpc__pnp_ifaces_disable(kdpc_machine *m, PDEVICE_OBJECT pdo, bool forget)
{
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    if (p == NULL)
        return;
    for (kdpc__iface **pi = &p->ifaces; *pi != NULL;) {
        kdpc__iface *i = *pi;
        if (i->pdo != pdo) {
            pi = &i->next;
            continue;
        }
        if (i->enabled) {
            (void)set_link(m, i, false);
            i->enabled = false;
        }
        if (forget) {
            *pi = i->next;
            free(i);
        } else {
            pi = &i->next;
        }
    }
}
