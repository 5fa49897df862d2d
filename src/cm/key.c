/* SPDX-License-Identifier: MIT */
/*
 * key.c - key handles and the Zw*Key routines over the machine's registry
 * tree (include/kdpc/wdm/registry.h, docs/facts/registry.md).
 *
 * A key handle is a kernel handle of kind KDPC__OB_KEY in the object
 * manager's table (src/ob/ob.h); its object is the kdpc__cm_key, whose
 * handle count keeps a deleted key alive until ZwClose.
 */
#include <stdlib.h>
#include <string.h>

#include "cm/cm.h"
#include "ob/ob.h"
#include "verifier/verifier.h"

bool kdpc__cm_passive_ok(kdpc_machine *m, const kdpc__cpu *c, const char *routine)
{
    const struct _KTHREAD *t = c->thread->ke;
    if (c->irql == PASSIVE_LEVEL && t != NULL && t->guarded > 0) {
        /* Verifier's 0xC4/0xE6: a Zw routine with special kernel APCs disabled (a guarded
         * region), P3 the IRQL, P4 1 (special kernel APCs off). P2, on Windows the caller's
         * address, is 0. As a warning or off the call goes on. */
        kdpc__violation(m, KDPC_R_ZW_PASSIVE_IRQL, 0xC4, 0xE6u, 0, c->irql, 1, NULL,
                        "%s called inside a guarded region: registry routines need special "
                        "kernel APCs enabled",
                        routine);
        return true;
    }
    if (c->irql == PASSIVE_LEVEL)
        return true;
    /* P1: IrqlRtlPassive (0x2001E) names RtlDeleteRegistryValue, IrqlZwPassive (0x2001F) the rest */
    uint64_t p1 = strcmp(routine, "RtlDeleteRegistryValue") == 0 ? 0x0002001Eu : 0x0002001Fu;
    kdpc__violation(m, KDPC_R_ZW_PASSIVE_IRQL, 0xC4, p1, c->irql, 0, 0, NULL,
                    "%s called at IRQL %u: registry routines run only at PASSIVE_LEVEL", routine,
                    (unsigned)c->irql);
    return false;
}

kdpc_machine *kdpc__cm_enter(const char *routine)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(routine, &c);
    if (m == NULL || !kdpc__cm_passive_ok(m, c, routine))
        return NULL;
    kdpc__ke_point(m);
    return m;
}

bool kdpc__cm_ustr_ok(const UNICODE_STRING *u)
{
    return u != NULL && (u->Length % 2u) == 0 && u->Length <= u->MaximumLength &&
           (u->Buffer != NULL || u->Length == 0);
}

static ACCESS_MASK map_generic(ACCESS_MASK a)
{
    if (a & (ACCESS_MASK)MAXIMUM_ALLOWED)
        a |= KEY_ALL_ACCESS;
    if (a & (ACCESS_MASK)GENERIC_READ)
        a |= KEY_READ;
    if (a & (ACCESS_MASK)GENERIC_WRITE)
        a |= KEY_WRITE;
    if (a & (ACCESS_MASK)GENERIC_EXECUTE)
        a |= KEY_EXECUTE;
    if (a & (ACCESS_MASK)GENERIC_ALL)
        a |= KEY_ALL_ACCESS;
    return a & ~(ACCESS_MASK)(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL |
                              MAXIMUM_ALLOWED);
}

static void key_closed(void *object)
{
    kdpc__cm_key_release(object);
}

NTSTATUS kdpc__cm_handle_open(kdpc_machine *m, kdpc__cm_key *k, ACCESS_MASK access, HANDLE *h)
{
    *h = kdpc__ob_handle_open(m, KDPC__OB_KEY, k, map_generic(access), key_closed);
    if (*h == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    k->handles++;
    return STATUS_SUCCESS;
}

NTSTATUS kdpc__cm_handle_key(kdpc_machine *m, HANDLE h, ACCESS_MASK need, kdpc__cm_key **k)
{
    ACCESS_MASK granted = 0;
    *k = kdpc__ob_handle_object(m, h, KDPC__OB_KEY, &granted);
    if (*k == NULL) {
        /* an open handle of another kind, or none at all */
        static const kdpc__ob_kind others[] = {KDPC__OB_THREAD, KDPC__OB_EVENT};
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
            if (kdpc__ob_handle_object(m, h, others[i], &granted) != NULL)
                return STATUS_OBJECT_TYPE_MISMATCH;
        }
        return STATUS_INVALID_HANDLE;
    }
    if ((granted & need) != need) {
        *k = NULL;
        return STATUS_ACCESS_DENIED;
    }
    if (need != 0 && (*k)->deleted) {
        *k = NULL;
        return STATUS_KEY_DELETED;
    }
    return STATUS_SUCCESS;
}

/* The key ObjectAttributes names (made when @create). */
static NTSTATUS open_common(kdpc_machine *m, PHANDLE KeyHandle, ACCESS_MASK access,
                            POBJECT_ATTRIBUTES oa, bool create, bool vol, PUNICODE_STRING cls,
                            PULONG disposition)
{
    if (KeyHandle == NULL || oa == NULL || oa->Length != sizeof(OBJECT_ATTRIBUTES) ||
        !kdpc__cm_ustr_ok(oa->ObjectName) || (cls != NULL && !kdpc__cm_ustr_ok(cls)))
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *from = NULL;
    if (oa->RootDirectory != NULL) {
        NTSTATUS st = kdpc__cm_handle_key(m, oa->RootDirectory, 0, &from);
        if (!NT_SUCCESS(st))
            return st;
    }
    kdpc__cm_key *k;
    bool created = false;
    NTSTATUS st =
        kdpc__cm_walk(m, from, oa->ObjectName->Buffer, oa->ObjectName->Length / sizeof(WCHAR),
                      create, false, vol, &k, &created);
    if (!NT_SUCCESS(st))
        return st;
    if (created && cls != NULL && cls->Length != 0) {
        k->cls = malloc(cls->Length);
        if (k->cls != NULL) {
            memcpy(k->cls, cls->Buffer, cls->Length);
            k->clen = (USHORT)(cls->Length / sizeof(WCHAR));
        }
    }
    HANDLE h;
    st = kdpc__cm_handle_open(m, k, access, &h);
    if (!NT_SUCCESS(st)) {
        if (created)
            (void)kdpc__cm_key_delete(m, k);
        return st;
    }
    *KeyHandle = h;
    if (disposition != NULL)
        *disposition = created ? REG_CREATED_NEW_KEY : REG_OPENED_EXISTING_KEY;
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                        POBJECT_ATTRIBUTES ObjectAttributes)
{
    kdpc_machine *m = kdpc__cm_enter("ZwOpenKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    return open_common(m, KeyHandle, DesiredAccess, ObjectAttributes, false, false, NULL, NULL);
}

NTSTATUS kdpc_ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                          POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex,
                          PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition)
{
    (void)TitleIndex;
    kdpc_machine *m = kdpc__cm_enter("ZwCreateKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if ((CreateOptions & ~(ULONG)REG_LEGAL_OPTION) != 0 ||
        (CreateOptions & (REG_OPTION_CREATE_LINK | REG_OPTION_BACKUP_RESTORE)) != 0)
        return STATUS_INVALID_PARAMETER;
    return open_common(m, KeyHandle, DesiredAccess, ObjectAttributes, true,
                       (CreateOptions & REG_OPTION_VOLATILE) != 0, Class, Disposition);
}

/* Copy @n bytes of @src to @dst + @at as far as @cap allows. */
static void put(void *dst, ULONG cap, ULONG at, const void *src, ULONG n)
{
    if (at >= cap || n == 0)
        return;
    ULONG room = cap - at;
    memcpy((unsigned char *)dst + at, src, n < room ? n : room);
}

/* One variable part of an answer: @n bytes of @src at offset @at. */
typedef struct part {
    ULONG at;
    const void *src;
    ULONG n;
} part;
static const part none = {0, NULL, 0};

/* An information answer: @fixed bytes of @head, then parts @a and @b, copied as far as @len
 * allows. *@result gets the bytes the whole answer needs (the end of its last part, at least
 * @fixed). */
static NTSTATUS answer(PVOID out, ULONG len, PULONG result, const void *head, ULONG fixed, part a,
                       part b)
{
    ULONG total = fixed;
    if (a.at + a.n > total)
        total = a.at + a.n;
    if (b.at + b.n > total)
        total = b.at + b.n;
    *result = total;
    if (len < fixed)
        return STATUS_BUFFER_TOO_SMALL;
    put(out, len, 0, head, fixed);
    put(out, len, a.at, a.src, a.n);
    put(out, len, b.at, b.src, b.n);
    return len < total ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

/* The answer of ZwQueryValueKey / ZwEnumerateValueKey for @v. */
static NTSTATUS value_info(const kdpc__cm_value *v, KEY_VALUE_INFORMATION_CLASS cls, PVOID out,
                           ULONG len, PULONG result)
{
    ULONG name_bytes = (ULONG)v->nlen * sizeof(WCHAR);
    switch (cls) {
    case KeyValueBasicInformation: {
        KEY_VALUE_BASIC_INFORMATION b = {0, v->type, name_bytes, {0}};
        ULONG fixed = (ULONG)offsetof(KEY_VALUE_BASIC_INFORMATION, Name);
        return answer(out, len, result, &b, fixed, (part){fixed, v->name, name_bytes}, none);
    }
    case KeyValueFullInformation: {
        ULONG fixed = (ULONG)offsetof(KEY_VALUE_FULL_INFORMATION, Name);
        ULONG data_at = (fixed + name_bytes + 3u) & ~3u;
        KEY_VALUE_FULL_INFORMATION f = {0, v->type, data_at, v->size, name_bytes, {0}};
        return answer(out, len, result, &f, fixed, (part){fixed, v->name, name_bytes},
                      (part){data_at, v->data, v->size});
    }
    case KeyValuePartialInformation: {
        KEY_VALUE_PARTIAL_INFORMATION p = {0, v->type, v->size, {0}};
        ULONG fixed = (ULONG)offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data);
        return answer(out, len, result, &p, fixed, (part){fixed, v->data, v->size}, none);
    }
    case KeyValuePartialInformationAlign64: {
        KEY_VALUE_PARTIAL_INFORMATION_ALIGN64 p = {v->type, v->size, {0}};
        ULONG fixed = (ULONG)offsetof(KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, Data);
        return answer(out, len, result, &p, fixed, (part){fixed, v->data, v->size}, none);
    }
    default:
        return STATUS_INVALID_PARAMETER;
    }
}

static bool info_args_ok(PVOID out, ULONG len, PULONG result)
{
    return result != NULL && (out != NULL || len == 0);
}

NTSTATUS kdpc_ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                              KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                              PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
    kdpc_machine *m = kdpc__cm_enter("ZwQueryValueKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!kdpc__cm_ustr_ok(ValueName) || !info_args_ok(KeyValueInformation, Length, ResultLength))
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    NTSTATUS st = kdpc__cm_handle_key(m, KeyHandle, KEY_QUERY_VALUE, &k);
    if (!NT_SUCCESS(st))
        return st;
    if ((unsigned)KeyValueInformationClass > (unsigned)KeyValuePartialInformationAlign64 ||
        KeyValueInformationClass == KeyValueFullInformationAlign64)
        return STATUS_INVALID_PARAMETER;
    const kdpc__cm_value *v =
        kdpc__cm_value_find(k, ValueName->Buffer, ValueName->Length / sizeof(WCHAR));
    if (v == NULL)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    return value_info(v, KeyValueInformationClass, KeyValueInformation, Length, ResultLength);
}

NTSTATUS kdpc_ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index,
                                  KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                  PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
    kdpc_machine *m = kdpc__cm_enter("ZwEnumerateValueKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!info_args_ok(KeyValueInformation, Length, ResultLength))
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    NTSTATUS st = kdpc__cm_handle_key(m, KeyHandle, KEY_QUERY_VALUE, &k);
    if (!NT_SUCCESS(st))
        return st;
    if ((unsigned)KeyValueInformationClass > (unsigned)KeyValuePartialInformationAlign64 ||
        KeyValueInformationClass == KeyValueFullInformationAlign64)
        return STATUS_INVALID_PARAMETER;
    const kdpc__cm_value *v = k->values;
    for (ULONG i = 0; v != NULL && i < Index; i++)
        v = v->next;
    if (v == NULL)
        return STATUS_NO_MORE_ENTRIES;
    return value_info(v, KeyValueInformationClass, KeyValueInformation, Length, ResultLength);
}

NTSTATUS kdpc_ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex,
                            ULONG Type, PVOID Data, ULONG DataSize)
{
    (void)TitleIndex;
    kdpc_machine *m = kdpc__cm_enter("ZwSetValueKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!kdpc__cm_ustr_ok(ValueName) || (Data == NULL && DataSize != 0))
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    NTSTATUS st = kdpc__cm_handle_key(m, KeyHandle, KEY_SET_VALUE, &k);
    if (!NT_SUCCESS(st))
        return st;
    size_t n = ValueName->Length / sizeof(WCHAR);
    if (n > KDPC__CM_VALUE_NAME_MAX)
        return STATUS_OBJECT_NAME_INVALID;
    return kdpc__cm_value_set(m, k, ValueName->Buffer, n, Type, Data, DataSize);
}

NTSTATUS kdpc_ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)
{
    kdpc_machine *m = kdpc__cm_enter("ZwDeleteValueKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!kdpc__cm_ustr_ok(ValueName))
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    NTSTATUS st = kdpc__cm_handle_key(m, KeyHandle, KEY_SET_VALUE, &k);
    if (!NT_SUCCESS(st))
        return st;
    return kdpc__cm_value_delete(m, k, ValueName->Buffer, ValueName->Length / sizeof(WCHAR));
}

/* The answer of ZwQueryKey / ZwEnumerateKey about @k. */
static NTSTATUS key_info(const kdpc__cm_key *k, KEY_INFORMATION_CLASS cls, PVOID out, ULONG len,
                         PULONG result)
{
    ULONG name_bytes = (ULONG)k->nlen * sizeof(WCHAR);
    ULONG class_bytes = (ULONG)k->clen * sizeof(WCHAR);
    LARGE_INTEGER when;
    when.QuadPart = k->written;
    switch (cls) {
    case KeyBasicInformation: {
        KEY_BASIC_INFORMATION b;
        memset(&b, 0, sizeof(b));
        b.LastWriteTime = when;
        b.NameLength = name_bytes;
        ULONG fixed = (ULONG)offsetof(KEY_BASIC_INFORMATION, Name);
        return answer(out, len, result, &b, fixed, (part){fixed, k->name, name_bytes}, none);
    }
    case KeyNodeInformation: {
        KEY_NODE_INFORMATION n;
        memset(&n, 0, sizeof(n));
        ULONG fixed = (ULONG)offsetof(KEY_NODE_INFORMATION, Name);
        n.LastWriteTime = when;
        n.NameLength = name_bytes;
        n.ClassLength = class_bytes;
        n.ClassOffset = class_bytes != 0 ? fixed + name_bytes : 0xFFFFFFFFu;
        return answer(out, len, result, &n, fixed, (part){fixed, k->name, name_bytes},
                      (part){fixed + name_bytes, k->cls, class_bytes});
    }
    case KeyFullInformation: {
        KEY_FULL_INFORMATION f;
        memset(&f, 0, sizeof(f));
        ULONG fixed = (ULONG)offsetof(KEY_FULL_INFORMATION, Class);
        f.LastWriteTime = when;
        f.ClassLength = class_bytes;
        f.ClassOffset = class_bytes != 0 ? fixed : 0xFFFFFFFFu;
        for (const kdpc__cm_key *c = k->children; c != NULL; c = c->sibling) {
            f.SubKeys++;
            if ((ULONG)c->nlen * sizeof(WCHAR) > f.MaxNameLen)
                f.MaxNameLen = (ULONG)(c->nlen * sizeof(WCHAR));
            if ((ULONG)c->clen * sizeof(WCHAR) > f.MaxClassLen)
                f.MaxClassLen = (ULONG)(c->clen * sizeof(WCHAR));
        }
        for (const kdpc__cm_value *v = k->values; v != NULL; v = v->next) {
            f.Values++;
            if ((ULONG)v->nlen * sizeof(WCHAR) > f.MaxValueNameLen)
                f.MaxValueNameLen = (ULONG)(v->nlen * sizeof(WCHAR));
            if (v->size > f.MaxValueDataLen)
                f.MaxValueDataLen = v->size;
        }
        return answer(out, len, result, &f, fixed, (part){fixed, k->cls, class_bytes}, none);
    }
    default:
        return STATUS_INVALID_PARAMETER;
    }
}

NTSTATUS kdpc_ZwEnumerateKey(HANDLE KeyHandle, ULONG Index,
                             KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation,
                             ULONG Length, PULONG ResultLength)
{
    kdpc_machine *m = kdpc__cm_enter("ZwEnumerateKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!info_args_ok(KeyInformation, Length, ResultLength))
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    NTSTATUS st = kdpc__cm_handle_key(m, KeyHandle, KEY_ENUMERATE_SUB_KEYS, &k);
    if (!NT_SUCCESS(st))
        return st;
    if ((unsigned)KeyInformationClass > (unsigned)KeyFullInformation)
        return STATUS_INVALID_PARAMETER;
    const kdpc__cm_key *c = k->children;
    for (ULONG i = 0; c != NULL && i < Index; i++)
        c = c->sibling;
    if (c == NULL)
        return STATUS_NO_MORE_ENTRIES;
    return key_info(c, KeyInformationClass, KeyInformation, Length, ResultLength);
}

/* KEY_NAME_INFORMATION: the full path, "\REGISTRY\MACHINE" / "\REGISTRY\USER" upper case. */
static NTSTATUS name_info(const kdpc__cm_key *k, PVOID out, ULONG len, PULONG result)
{
    WCHAR *path = malloc(KDPC__CM_PATH_MAX * sizeof(WCHAR));
    if (path == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    size_t n = kdpc__cm_key_path(k, path, KDPC__CM_PATH_MAX);
    /* the first two components as the object manager names them */
    for (size_t i = 1, slashes = 0; i < n && slashes < 2; i++) {
        if (path[i] == '\\')
            slashes++;
        else if (path[i] >= 'a' && path[i] <= 'z')
            path[i] = (WCHAR)(path[i] - 'a' + 'A');
    }
    ULONG bytes = (ULONG)(n * sizeof(WCHAR));
    ULONG fixed = (ULONG)offsetof(KEY_NAME_INFORMATION, Name);
    NTSTATUS st = answer(out, len, result, &bytes, fixed, (part){fixed, path, bytes}, none);
    free(path);
    return st;
}

NTSTATUS kdpc_ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass,
                         PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
    kdpc_machine *m = kdpc__cm_enter("ZwQueryKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!info_args_ok(KeyInformation, Length, ResultLength))
        return STATUS_INVALID_PARAMETER;
    bool name = KeyInformationClass == KeyNameInformation;
    kdpc__cm_key *k;
    NTSTATUS st = kdpc__cm_handle_key(m, KeyHandle, name ? 0 : KEY_QUERY_VALUE, &k);
    if (!NT_SUCCESS(st))
        return st;
    if (k->deleted)
        return STATUS_KEY_DELETED;
    if (name)
        return name_info(k, KeyInformation, Length, ResultLength);
    if ((unsigned)KeyInformationClass > (unsigned)KeyFullInformation)
        return STATUS_INVALID_PARAMETER;
    return key_info(k, KeyInformationClass, KeyInformation, Length, ResultLength);
}

NTSTATUS kdpc_ZwDeleteKey(HANDLE KeyHandle)
{
    kdpc_machine *m = kdpc__cm_enter("ZwDeleteKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    NTSTATUS st = kdpc__cm_handle_key(m, KeyHandle, DELETE, &k);
    if (!NT_SUCCESS(st))
        return st;
    return kdpc__cm_key_delete(m, k);
}

NTSTATUS kdpc_ZwFlushKey(HANDLE KeyHandle)
{
    kdpc_machine *m = kdpc__cm_enter("ZwFlushKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc__cm_key *k;
    NTSTATUS st = kdpc__cm_handle_key(m, KeyHandle, 0, &k);
    if (!NT_SUCCESS(st))
        return st;
    return k->deleted ? STATUS_KEY_DELETED : STATUS_SUCCESS;
}
