/* SPDX-License-Identifier: MIT */
/*
 * rtlreg.c - the Rtl registry helpers over the machine's registry:
 * RtlQueryRegistryValues, RtlWriteRegistryValue, RtlDeleteRegistryValue,
 * RtlCheckRegistryKey, RtlCreateRegistryKey (include/kdpc/wdm/registry.h,
 * docs/facts/registry.md).
 */
#include <stdlib.h>
#include <string.h>

#include "cm/cm.h"
#include "rtl/rtl.h"

/* Pool tag of the string buffers RtlQueryRegistryValues allocates: "RegQ" in a pool dump. */
#define REGQ_TAG ((ULONG)'R' | ((ULONG)'e' << 8) | ((ULONG)'g' << 16) | ((ULONG)'Q' << 24))

static size_t wlen(PCWSTR s)
{
    size_t n = 0;
    while (s[n] != 0)
        n++;
    return n;
}

/* The key RelativeTo/Path names. @need: the access a RTL_REGISTRY_HANDLE handle must grant. */
static NTSTATUS resolve(kdpc_machine *m, ULONG rel, PCWSTR path, bool create, bool create_all,
                        ACCESS_MASK need, kdpc__cm_key **k)
{
    static const char *const bases[] = {
        "",
        "\\Registry\\Machine\\System\\CurrentControlSet\\Services",
        "\\Registry\\Machine\\System\\CurrentControlSet\\Control",
        "\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion",
        "\\Registry\\Machine\\Hardware\\DeviceMap",
        "\\Registry\\User\\.Default",
    };
    *k = NULL;
    if (path == NULL)
        return STATUS_INVALID_PARAMETER;
    if (rel & RTL_REGISTRY_HANDLE)
        return kdpc__cm_handle_key(m, (HANDLE)(uintptr_t)path, need, k);
    ULONG base = rel & ~(ULONG)RTL_REGISTRY_OPTIONAL;
    if (base >= RTL_REGISTRY_MAXIMUM)
        return STATUS_INVALID_PARAMETER;
    size_t pn = wlen(path), bn = strlen(bases[base]);
    if (pn > KDPC__CM_PATH_MAX)
        return STATUS_OBJECT_NAME_INVALID;
    WCHAR *full = malloc((bn + 1 + pn) * sizeof(WCHAR));
    if (full == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    size_t n = 0;
    for (size_t i = 0; i < bn; i++)
        full[n++] = (WCHAR)(unsigned char)bases[base][i];
    if (bn != 0 && pn != 0 && path[0] != '\\')
        full[n++] = '\\';
    memcpy(full + n, path, pn * sizeof(WCHAR));
    n += pn;
    NTSTATUS st = kdpc__cm_walk(m, NULL, full, n, create, create_all, false, k, NULL);
    free(full);
    return st;
}

static bool is_string(ULONG type)
{
    return type == REG_SZ || type == REG_EXPAND_SZ || type == REG_MULTI_SZ;
}

/* RTL_QUERY_REGISTRY_DIRECT: store @data (@len bytes of @type) where @e->EntryContext says. */
static NTSTATUS store_direct(const RTL_QUERY_REGISTRY_TABLE *e, ULONG type, const void *data,
                             ULONG len)
{
    if (e->Flags & RTL_QUERY_REGISTRY_TYPECHECK) {
        ULONG want = e->DefaultType >> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT;
        if (want != type)
            return STATUS_OBJECT_TYPE_MISMATCH;
    } else {
        /* Without TYPECHECK Windows stores a string into what it takes for a UNICODE_STRING and
         * anything else into what it takes for a ULONG or a sized buffer, whatever the caller
         * gave: a value of the other kind overruns the caller's variable. kdpc refuses it when
         * DefaultType says which kind the caller expects (Divergence in kdpc/wdm/registry.h). */
        ULONG def = e->DefaultType & ~(ULONG)RTL_QUERY_REGISTRY_TYPECHECK_MASK;
        if (def != REG_NONE && is_string(def) != is_string(type))
            return STATUS_OBJECT_TYPE_MISMATCH;
        /* a REG_DWORD default says EntryContext is a ULONG: a longer value would be stored in
         * the sized-buffer form, the ULONG's value taken for the buffer's size */
        if ((def == REG_DWORD || def == REG_DWORD_BIG_ENDIAN) && !is_string(type) &&
            len > sizeof(ULONG))
            return STATUS_OBJECT_TYPE_MISMATCH;
    }
    if (is_string(type)) {
        UNICODE_STRING *u = e->EntryContext;
        if (len > 0xFFFFu)
            return STATUS_BUFFER_TOO_SMALL;
        const WCHAR *w = data;
        ULONG chars = len / sizeof(WCHAR);
        /* whole characters only: an odd last byte is dropped (a UNICODE_STRING's Length is even) */
        USHORT length =
            (USHORT)((chars != 0 && w[chars - 1] == 0 ? chars - 1 : chars) * sizeof(WCHAR));
        if (u->Buffer == NULL) {
            ULONG alloc = length + (ULONG)sizeof(WCHAR);
            if (alloc > 0xFFFFu)
                return STATUS_BUFFER_TOO_SMALL;
            u->Buffer = kdpc__pool_kernel_alloc(PagedPool, alloc, REGQ_TAG);
            if (u->Buffer == NULL)
                return STATUS_INSUFFICIENT_RESOURCES;
            u->MaximumLength = (USHORT)alloc;
        } else if (len > u->MaximumLength) {
            return STATUS_BUFFER_TOO_SMALL; /* the terminator must fit too */
        }
        if (length != 0) /* an empty default may have no DefaultData: memcpy takes no NULL */
            memcpy(u->Buffer, data, length);
        if ((ULONG)length + sizeof(WCHAR) <= u->MaximumLength)
            u->Buffer[length / sizeof(WCHAR)] = 0;
        u->Length = length;
        return STATUS_SUCCESS;
    }
    if (len <= sizeof(ULONG)) {
        if (len != 0)
            memcpy(e->EntryContext, data, len);
        return STATUS_SUCCESS;
    }
    LONG head;
    memcpy(&head, e->EntryContext, sizeof(head));
    if (head < 0) {
        if ((ULONG)(-(head + 1)) + 1u < len)
            return STATUS_BUFFER_TOO_SMALL;
        memcpy(e->EntryContext, data, len);
        return STATUS_SUCCESS;
    }
    if ((ULONG)head < len + 2u * sizeof(ULONG))
        return STATUS_BUFFER_TOO_SMALL;
    unsigned char *p = e->EntryContext; /* any alignment: copied, never dereferenced */
    memcpy(p, &len, sizeof(ULONG));
    memcpy(p + sizeof(ULONG), &type, sizeof(ULONG));
    memcpy(p + 2 * sizeof(ULONG), data, len);
    return STATUS_SUCCESS;
}

/* Hand one value (or default) to the entry: DIRECT store or QueryRoutine. */
static NTSTATUS deliver(const RTL_QUERY_REGISTRY_TABLE *e, PWSTR name, ULONG type, void *data,
                        ULONG len, PVOID ctx)
{
    if (e->Flags & RTL_QUERY_REGISTRY_DIRECT)
        return store_direct(e, type, data, len);
    bool expand = !(e->Flags & RTL_QUERY_REGISTRY_NOEXPAND);
    if (type == REG_MULTI_SZ && expand) {
        WCHAR *w = data;
        size_t chars = len / sizeof(WCHAR), i = 0;
        while (i < chars && w[i] != 0) {
            size_t s = i;
            while (i < chars && w[i] != 0)
                i++;
            ULONG bytes = (ULONG)((i - s + (i < chars ? 1 : 0)) * sizeof(WCHAR));
            NTSTATUS st = e->QueryRoutine(name, REG_SZ, w + s, bytes, ctx, e->EntryContext);
            if (!NT_SUCCESS(st))
                return st;
            i++;
        }
        return STATUS_SUCCESS;
    }
    if (type == REG_EXPAND_SZ && expand)
        type = REG_SZ; /* nothing to expand: kdpc has no environment */
    return e->QueryRoutine(name, type, data, len, ctx, e->EntryContext);
}

/* The value @v as a QueryRoutine sees it: a copy, its name NUL-terminated. */
static NTSTATUS deliver_value(kdpc_machine *m, kdpc__cm_key *k, const RTL_QUERY_REGISTRY_TABLE *e,
                              const kdpc__cm_value *v, PVOID ctx)
{
    void *copy = malloc(v->size != 0 ? v->size : 1);
    WCHAR *name = kdpc__cm_name_dup(v->name, v->nlen);
    NTSTATUS st = STATUS_INSUFFICIENT_RESOURCES;
    if (copy != NULL && name != NULL) {
        memcpy(copy, v->data, v->size);
        ULONG type = v->type, size = v->size;
        st = deliver(e, name, type, copy, size, ctx);
        if (NT_SUCCESS(st) && (e->Flags & RTL_QUERY_REGISTRY_DELETE))
            (void)kdpc__cm_value_delete(m, k, name, wlen(name));
    }
    free(copy);
    free(name);
    return st;
}

/* Every value of @k to the entry's routine (NOVALUE: one call with no value). */
static NTSTATUS deliver_all(kdpc_machine *m, kdpc__cm_key *k, const RTL_QUERY_REGISTRY_TABLE *e,
                            PVOID ctx)
{
    if (e->Flags & RTL_QUERY_REGISTRY_NOVALUE)
        return e->QueryRoutine(NULL, REG_NONE, NULL, 0, ctx, e->EntryContext);
    /* by index: the routine may change the key (DELETE removes what it read) */
    for (size_t i = 0;; i++) {
        if (k->deleted)
            return STATUS_KEY_DELETED; /* a routine deleted the key (it stays pinned) */
        const kdpc__cm_value *v = k->values;
        for (size_t j = 0; v != NULL && j < i; j++)
            v = v->next;
        if (v == NULL)
            return STATUS_SUCCESS;
        NTSTATUS st = deliver_value(m, k, e, v, ctx);
        if (!NT_SUCCESS(st))
            return st;
        if (e->Flags & RTL_QUERY_REGISTRY_DELETE)
            i--; /* the next value moved into this index */
    }
}

static ULONG default_length(ULONG type, const void *data)
{
    const WCHAR *w = data;
    if (type == REG_SZ || type == REG_EXPAND_SZ)
        return (ULONG)((wlen(w) + 1) * sizeof(WCHAR));
    if (type == REG_MULTI_SZ) {
        size_t n = 0;
        while (w[n] != 0)
            n += wlen(w + n) + 1;
        return (ULONG)((n + 1) * sizeof(WCHAR));
    }
    return 0;
}

static NTSTATUS query_entry(kdpc_machine *m, kdpc__cm_key *k, RTL_QUERY_REGISTRY_TABLE *e,
                            PVOID ctx)
{
    bool direct = (e->Flags & RTL_QUERY_REGISTRY_DIRECT) != 0;
    if (e->Name == NULL) {
        if (direct || e->QueryRoutine == NULL)
            return STATUS_INVALID_PARAMETER;
        return deliver_all(m, k, e, ctx);
    }
    if (direct && e->EntryContext == NULL)
        return STATUS_INVALID_PARAMETER;
    if (k->deleted)
        return STATUS_KEY_DELETED;
    const kdpc__cm_value *v = kdpc__cm_value_find(k, e->Name, wlen(e->Name));
    if (v != NULL)
        return deliver_value(m, k, e, v, ctx);
    if (e->Flags & RTL_QUERY_REGISTRY_REQUIRED)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    ULONG type = e->DefaultType & ~(ULONG)RTL_QUERY_REGISTRY_TYPECHECK_MASK;
    if (type == REG_NONE)
        return STATUS_SUCCESS;
    ULONG len = e->DefaultLength;
    if (len == 0 && e->DefaultData != NULL)
        len = default_length(type, e->DefaultData);
    /* DefaultData must hold DefaultType's data: Windows reads through the NULL pointer */
    if (len != 0 && kdpc__rtl_null(e->DefaultData, "RtlQueryRegistryValues", "DefaultData"))
        return STATUS_INVALID_PARAMETER;
    return deliver(e, e->Name, type, e->DefaultData, len, ctx);
}

/* Keep @k alive while the table is walked, as the handle Windows opens on it does: a routine may
 * delete the key and close every handle of its own (the key then goes at unpin). */
static kdpc__cm_key *pin(kdpc__cm_key *k)
{
    if (k != NULL)
        k->handles++;
    return k;
}

static void unpin(kdpc__cm_key *k)
{
    if (k != NULL)
        kdpc__cm_key_release(k);
}

/* Make @k the key the next entries read (NULL: skip them). */
static void set_cur(kdpc__cm_key **cur, kdpc__cm_key *k)
{
    pin(k);
    unpin(*cur);
    *cur = k;
}

static NTSTATUS query_table(kdpc_machine *m, kdpc__cm_key *top,
                            PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                            kdpc__cm_key **curp);

NTSTATUS kdpc_RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path,
                                     PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                                     PVOID Environment)
{
    (void)Environment;
    kdpc_machine *m = kdpc__cm_enter("RtlQueryRegistryValues");
    if (m == NULL || QueryTable == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *top;
    NTSTATUS st = resolve(m, RelativeTo, Path, false, false, KEY_QUERY_VALUE, &top);
    if (st == STATUS_OBJECT_NAME_NOT_FOUND && (RelativeTo & RTL_REGISTRY_OPTIONAL) &&
        !(RelativeTo & RTL_REGISTRY_HANDLE))
        return STATUS_SUCCESS;
    if (!NT_SUCCESS(st))
        return st;
    pin(top);
    kdpc__cm_key *cur = pin(top);
    st = query_table(m, top, QueryTable, Context, &cur);
    unpin(cur);
    unpin(top);
    return st;
}

static NTSTATUS query_table(kdpc_machine *m, kdpc__cm_key *top,
                            PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                            kdpc__cm_key **curp)
{
    NTSTATUS st;
    for (RTL_QUERY_REGISTRY_TABLE *e = QueryTable;; e++) {
        ULONG f = e->Flags;
        if (e->QueryRoutine == NULL &&
            !(f & (RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_DIRECT))) {
            if (f & RTL_QUERY_REGISTRY_TOPKEY) {
                set_cur(curp, top);
                continue;
            }
            if (e->Name == NULL)
                break; /* the end of the table */
            return STATUS_INVALID_PARAMETER;
        }
        if (f & RTL_QUERY_REGISTRY_TOPKEY)
            set_cur(curp, top);
        if (f & RTL_QUERY_REGISTRY_SUBKEY) {
            if (e->Name == NULL)
                return STATUS_INVALID_PARAMETER;
            kdpc__cm_key *sub;
            st = kdpc__cm_walk(m, top, e->Name, wlen(e->Name), false, false, false, &sub, NULL);
            if (st == STATUS_OBJECT_NAME_NOT_FOUND && !(f & RTL_QUERY_REGISTRY_REQUIRED)) {
                set_cur(curp, NULL); /* the entries for this subkey are skipped */
                continue;
            }
            if (!NT_SUCCESS(st))
                return st;
            set_cur(curp, sub);
            if (e->QueryRoutine == NULL)
                continue;
            st = deliver_all(m, sub, e, Context);
        } else {
            if (*curp == NULL)
                continue;
            st = query_entry(m, *curp, e, Context);
        }
        if (!NT_SUCCESS(st))
            return st;
    }
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName,
                                    ULONG ValueType, PVOID ValueData, ULONG ValueLength)
{
    kdpc_machine *m = kdpc__cm_enter("RtlWriteRegistryValue");
    if (m == NULL || ValueName == NULL || (ValueData == NULL && ValueLength != 0))
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    NTSTATUS st = resolve(m, RelativeTo, Path, true, false, KEY_SET_VALUE, &k);
    if (!NT_SUCCESS(st))
        return st;
    size_t n = wlen(ValueName);
    if (n > KDPC__CM_VALUE_NAME_MAX)
        return STATUS_OBJECT_NAME_INVALID;
    return kdpc__cm_value_set(m, k, ValueName, n, ValueType, ValueData, ValueLength);
}

NTSTATUS kdpc_RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName)
{
    kdpc_machine *m = kdpc__cm_enter("RtlDeleteRegistryValue");
    if (m == NULL || ValueName == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    NTSTATUS st = resolve(m, RelativeTo, Path, false, false, KEY_SET_VALUE, &k);
    if (!NT_SUCCESS(st))
        return st;
    return kdpc__cm_value_delete(m, k, ValueName, wlen(ValueName));
}

NTSTATUS kdpc_RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    kdpc_machine *m = kdpc__cm_enter("RtlCheckRegistryKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    return resolve(m, RelativeTo, Path, false, false, 0, &k);
}

NTSTATUS kdpc_RtlCreateRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    kdpc_machine *m = kdpc__cm_enter("RtlCreateRegistryKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    return resolve(m, RelativeTo, Path, true, true, 0, &k);
}
