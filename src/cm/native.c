/* SPDX-License-Identifier: MIT */
/*
 * native.c - the native calls of <kdpc/registry.h> (a test fills and reads
 * the machine's registry) and the service key kdpc_driver_load makes.
 */
#include <stdlib.h>
#include <string.h>

#include <kdpc/registry.h>
#include "cm/cm.h"
#include "dev/dev.h"

WCHAR *kdpc__cm_widen(const char *s, size_t *n)
{
    size_t len = strlen(s);
    WCHAR *w = malloc((len + 1) * sizeof(WCHAR));
    if (w == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++)
        w[i] = (WCHAR)(unsigned char)s[i];
    w[len] = 0;
    *n = len;
    return w;
}

static kdpc_status to_kdpc(NTSTATUS st)
{
    if (NT_SUCCESS(st))
        return KDPC_OK;
    if (st == STATUS_INSUFFICIENT_RESOURCES)
        return KDPC_ENOMEM;
    if (st == STATUS_OBJECT_NAME_NOT_FOUND)
        return KDPC_ENOENT;
    return KDPC_EINVAL;
}

/* The key @path (made with the keys above it when @create), after the thread checks. */
static kdpc_status find(kdpc_machine *m, const char *path, bool create, kdpc__cm_key **k)
{
    *k = NULL;
    if (m == NULL || path == NULL)
        return KDPC_EINVAL;
    kdpc_status ks = kdpc__dev_api_check(m);
    if (ks != KDPC_OK)
        return ks;
    size_t n;
    WCHAR *w = kdpc__cm_widen(path, &n);
    if (w == NULL)
        return KDPC_ENOMEM;
    static const WCHAR reg[] = {'\\', 'R', 'e', 'g', 'i', 's', 't', 'r', 'y'};
    if (n < 9 || !kdpc__cm_same(w, reg, 9) || (n > 9 && w[9] != '\\')) {
        free(w);
        return KDPC_EINVAL;
    }
    NTSTATUS st = kdpc__cm_walk(m, NULL, w, n, create, create, false, k, NULL);
    free(w);
    return to_kdpc(st);
}

kdpc_status kdpc_registry_create_key(kdpc_machine *m, const char *path)
{
    kdpc__cm_key *k;
    return find(m, path, true, &k);
}

static NTSTATUS delete_tree(kdpc_machine *m, kdpc__cm_key *k)
{
    while (k->children != NULL) {
        NTSTATUS st = delete_tree(m, k->children);
        if (!NT_SUCCESS(st))
            return st;
    }
    return kdpc__cm_key_delete(m, k);
}

kdpc_status kdpc_registry_delete_key(kdpc_machine *m, const char *path)
{
    kdpc__cm_key *k;
    kdpc_status ks = find(m, path, false, &k);
    if (ks != KDPC_OK)
        return ks;
    if (k->parent == NULL)
        return KDPC_EINVAL; /* \Registry */
    return to_kdpc(delete_tree(m, k));
}

kdpc_status kdpc_registry_set_value(kdpc_machine *m, const char *path, const char *name,
                                    uint32_t type, const void *data, size_t size)
{
    if (name == NULL || size > 0xFFFFFFFFu || (data == NULL && size != 0))
        return KDPC_EINVAL;
    kdpc__cm_key *k;
    kdpc_status ks = find(m, path, true, &k);
    if (ks != KDPC_OK)
        return ks;
    size_t n;
    WCHAR *w = kdpc__cm_widen(name, &n);
    if (w == NULL)
        return KDPC_ENOMEM;
    NTSTATUS st = n > KDPC__CM_VALUE_NAME_MAX
                      ? STATUS_OBJECT_NAME_INVALID
                      : kdpc__cm_value_set(m, k, w, n, type, data, (ULONG)size);
    free(w);
    return to_kdpc(st);
}

kdpc_status kdpc_registry_set_dword(kdpc_machine *m, const char *path, const char *name,
                                    uint32_t value)
{
    return kdpc_registry_set_value(m, path, name, REG_DWORD, &value, sizeof(value));
}

kdpc_status kdpc_registry_set_string(kdpc_machine *m, const char *path, const char *name,
                                     const char *value)
{
    if (value == NULL)
        return KDPC_EINVAL;
    size_t n;
    WCHAR *w = kdpc__cm_widen(value, &n);
    if (w == NULL)
        return KDPC_ENOMEM;
    kdpc_status st = kdpc_registry_set_value(m, path, name, REG_SZ, w, (n + 1) * sizeof(WCHAR));
    free(w);
    return st;
}

/* The value @name of the key @path. */
static kdpc_status find_value(kdpc_machine *m, const char *path, const char *name, kdpc__cm_key **k,
                              kdpc__cm_value **v)
{
    *v = NULL;
    if (name == NULL)
        return KDPC_EINVAL;
    kdpc_status ks = find(m, path, false, k);
    if (ks != KDPC_OK)
        return ks;
    size_t n;
    WCHAR *w = kdpc__cm_widen(name, &n);
    if (w == NULL)
        return KDPC_ENOMEM;
    *v = kdpc__cm_value_find(*k, w, n);
    free(w);
    return *v != NULL ? KDPC_OK : KDPC_ENOENT;
}

kdpc_status kdpc_registry_get_value(kdpc_machine *m, const char *path, const char *name,
                                    uint32_t *type, void *data, size_t capacity, size_t *size)
{
    if (data == NULL && capacity != 0)
        return KDPC_EINVAL;
    kdpc__cm_key *k;
    kdpc__cm_value *v;
    kdpc_status ks = find_value(m, path, name, &k, &v);
    if (ks != KDPC_OK)
        return ks;
    if (type != NULL)
        *type = v->type;
    if (size != NULL)
        *size = v->size;
    if (capacity != 0 && v->size != 0)
        memcpy(data, v->data, v->size < capacity ? v->size : capacity);
    return KDPC_OK;
}

kdpc_status kdpc_registry_delete_value(kdpc_machine *m, const char *path, const char *name)
{
    kdpc__cm_key *k;
    kdpc__cm_value *v;
    kdpc_status ks = find_value(m, path, name, &k, &v);
    if (ks != KDPC_OK)
        return ks;
    return to_kdpc(kdpc__cm_value_delete(m, k, v->name, v->nlen));
}

int kdpc_registry_key_exists(kdpc_machine *m, const char *path)
{
    kdpc__cm_key *k;
    return find(m, path, false, &k) == KDPC_OK ? 1 : 0;
}

NTSTATUS kdpc__cm_service_key(kdpc_machine *m, const char *name)
{
    static const char prefix[] = "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";
    size_t len = strlen(name);
    char *path = malloc(sizeof(prefix) + len);
    if (path == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(path, prefix, sizeof(prefix) - 1);
    memcpy(path + sizeof(prefix) - 1, name, len + 1);
    size_t n;
    WCHAR *w = kdpc__cm_widen(path, &n);
    free(path);
    if (w == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    kdpc__cm_key *k;
    NTSTATUS st = kdpc__cm_walk(m, NULL, w, n, true, false, false, &k, NULL);
    free(w);
    /* a driver name that is no key name (empty, a '\' in it) gets no key: DriverEntry's opens
     * of it then fail as on a machine where the service was never installed */
    return st == STATUS_INSUFFICIENT_RESOURCES ? st : STATUS_SUCCESS;
}
