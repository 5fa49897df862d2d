/* SPDX-License-Identifier: MIT */
/*
 * tree.c - the machine's registry as an in-memory tree of keys and values
 * (cm.h). Subkeys are kept sorted by name (ASCII case folded), as the
 * registry enumerates them; values in the order they were first set.
 * Divergence: names fold only ASCII letters (Windows upcases all of Unicode);
 * nothing is written to disk (REG_OPTION_VOLATILE and non-volatile keys live
 * alike until the machine's end); CurrentControlSet is a key, not a link to
 * ControlSet001.
 */
#include <stdlib.h>
#include <string.h>

#include "cm/cm.h"

static WCHAR fold(WCHAR c)
{
    return c >= 'a' && c <= 'z' ? (WCHAR)(c - 'a' + 'A') : c;
}

bool kdpc__cm_same(const WCHAR *a, const WCHAR *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fold(a[i]) != fold(b[i]))
            return false;
    }
    return true;
}

/* <0, 0, >0 as @a (@an) sorts before, with, after @b (@bn). */
static int order(const WCHAR *a, size_t an, const WCHAR *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        WCHAR x = fold(a[i]), y = fold(b[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return an == bn ? 0 : (an < bn ? -1 : 1);
}

static LONGLONG now(kdpc_machine *m)
{
    return m->cfg.boot_system_time + (LONGLONG)(m->now_ns / 100u);
}

void kdpc__cm_touch(kdpc_machine *m, kdpc__cm_key *k)
{
    k->written = now(m);
}

WCHAR *kdpc__cm_name_dup(const WCHAR *name, size_t n)
{
    WCHAR *d = malloc((n + 1) * sizeof(WCHAR));
    if (d == NULL)
        return NULL;
    if (n != 0)
        memcpy(d, name, n * sizeof(WCHAR));
    d[n] = 0;
    return d;
}

static kdpc__cm_key *key_new(kdpc_machine *m, const WCHAR *name, size_t n)
{
    kdpc__cm_key *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NULL;
    k->name = kdpc__cm_name_dup(name, n);
    if (k->name == NULL) {
        free(k);
        return NULL;
    }
    k->nlen = (USHORT)n;
    kdpc__cm_touch(m, k);
    return k;
}

static void value_free(kdpc__cm_value *v)
{
    free(v->name);
    free(v->data);
    free(v);
}

static void key_free(kdpc__cm_key *k)
{
    while (k->children != NULL) {
        kdpc__cm_key *c = k->children;
        k->children = c->sibling;
        key_free(c);
    }
    while (k->values != NULL) {
        kdpc__cm_value *v = k->values;
        k->values = v->next;
        value_free(v);
    }
    free(k->name);
    free(k->cls);
    free(k);
}

static kdpc__cm_key *child(const kdpc__cm_key *k, const WCHAR *name, size_t n)
{
    for (kdpc__cm_key *c = k->children; c != NULL; c = c->sibling) {
        int o = order(c->name, c->nlen, name, n);
        if (o == 0)
            return c;
        if (o > 0)
            break;
    }
    return NULL;
}

static void link_child(kdpc__cm_key *parent, kdpc__cm_key *c)
{
    kdpc__cm_key **p = &parent->children;
    while (*p != NULL && order((*p)->name, (*p)->nlen, c->name, c->nlen) < 0)
        p = &(*p)->sibling;
    c->sibling = *p;
    *p = c;
    c->parent = parent;
}

static kdpc__cm_key *make_path(kdpc_machine *m, kdpc__cm_key *k, const char *path)
{
    WCHAR buf[64];
    while (k != NULL && *path != '\0') {
        size_t n = 0;
        while (path[n] != '\0' && path[n] != '\\') {
            buf[n] = (WCHAR)(unsigned char)path[n];
            n++;
        }
        kdpc__cm_key *c = child(k, buf, n);
        if (c == NULL) {
            c = key_new(m, buf, n);
            if (c == NULL)
                return NULL;
            link_child(k, c);
        }
        k = c;
        path += n;
        if (*path == '\\')
            path++;
    }
    return k;
}

kdpc__cm *kdpc__cm_of(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke->cm != NULL)
        return ke->cm;
    kdpc__cm *cm = calloc(1, sizeof(*cm));
    if (cm == NULL)
        return NULL;
    static const WCHAR reg[] = {'R', 'e', 'g', 'i', 's', 't', 'r', 'y'};
    cm->root = key_new(m, reg, 8);
    static const char *const paths[] = {
        "Machine\\System\\CurrentControlSet\\Services",
        "Machine\\System\\CurrentControlSet\\Control",
        "Machine\\System\\CurrentControlSet\\Enum",
        "Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion",
        "Machine\\Hardware\\DeviceMap",
        "User\\.Default",
    };
    bool ok = cm->root != NULL;
    for (size_t i = 0; ok && i < sizeof(paths) / sizeof(paths[0]); i++)
        ok = make_path(m, cm->root, paths[i]) != NULL;
    if (!ok) {
        if (cm->root != NULL)
            key_free(cm->root);
        free(cm);
        return NULL;
    }
    ke->cm = cm;
    return cm;
}

void kdpc__cm_free(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke == NULL || ke->cm == NULL)
        return;
    kdpc__cm *cm = ke->cm;
    key_free(cm->root);
    while (cm->deleted != NULL) {
        kdpc__cm_key *k = cm->deleted;
        cm->deleted = k->sibling;
        key_free(k);
    }
    free(cm);
    ke->cm = NULL;
}

NTSTATUS kdpc__cm_walk(kdpc_machine *m, kdpc__cm_key *from, const WCHAR *path, size_t len,
                       bool create, bool create_all, bool vol, kdpc__cm_key **out, bool *created)
{
    *out = NULL;
    if (created != NULL)
        *created = false;
    kdpc__cm *cm = kdpc__cm_of(m);
    if (cm == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (len > KDPC__CM_PATH_MAX)
        return STATUS_OBJECT_NAME_INVALID;
    size_t i = 0;
    kdpc__cm_key *k = from;
    if (from == NULL) {
        static const WCHAR reg[] = {'\\', 'R', 'e', 'g', 'i', 's', 't', 'r', 'y'};
        if (len == 0 || path[0] != '\\')
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        if (len < 9 || !kdpc__cm_same(path, reg, 9) || (len > 9 && path[9] != '\\'))
            return STATUS_OBJECT_NAME_NOT_FOUND; /* not under \Registry */
        k = cm->root;
        i = 9;
        if (i < len)
            i++; /* the '\' after \Registry */
        if (i == len && len > 9)
            return STATUS_OBJECT_NAME_INVALID; /* trailing '\' */
    } else {
        if (from->deleted)
            return STATUS_KEY_DELETED;
        if (len != 0 && path[0] == '\\')
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
    }
    while (i < len) {
        size_t s = i;
        while (i < len && path[i] != '\\')
            i++;
        size_t n = i - s;
        bool last = i == len;
        if (i < len) {
            i++;
            if (i == len)
                return STATUS_OBJECT_NAME_INVALID; /* trailing '\' */
        }
        if (n == 0 || n > KDPC__CM_KEY_NAME_MAX)
            return STATUS_OBJECT_NAME_INVALID;
        kdpc__cm_key *c = child(k, path + s, n);
        if (c == NULL) {
            if (!(create_all || (create && last)))
                return STATUS_OBJECT_NAME_NOT_FOUND;
            if (k->is_volatile && !vol)
                return STATUS_CHILD_MUST_BE_VOLATILE;
            c = key_new(m, path + s, n);
            if (c == NULL)
                return STATUS_INSUFFICIENT_RESOURCES;
            c->is_volatile = vol;
            link_child(k, c);
            kdpc__cm_touch(m, k);
            if (last && created != NULL)
                *created = true;
        }
        k = c;
    }
    *out = k;
    return STATUS_SUCCESS;
}

kdpc__cm_value *kdpc__cm_value_find(const kdpc__cm_key *k, const WCHAR *name, size_t len)
{
    for (kdpc__cm_value *v = k->values; v != NULL; v = v->next) {
        if (v->nlen == len && kdpc__cm_same(v->name, name, len))
            return v;
    }
    return NULL;
}

NTSTATUS kdpc__cm_value_set(kdpc_machine *m, kdpc__cm_key *k, const WCHAR *name, size_t len,
                            ULONG type, const void *data, ULONG size)
{
    unsigned char *copy = malloc(size != 0 ? size : 1);
    if (copy == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (size != 0)
        memcpy(copy, data, size);
    kdpc__cm_value *v = kdpc__cm_value_find(k, name, len);
    if (v == NULL) {
        v = calloc(1, sizeof(*v));
        WCHAR *nm = kdpc__cm_name_dup(name, len);
        if (v == NULL || nm == NULL) {
            free(v);
            free(nm);
            free(copy);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        v->name = nm;
        v->nlen = (USHORT)len;
        kdpc__cm_value **p = &k->values;
        while (*p != NULL)
            p = &(*p)->next;
        *p = v;
    } else {
        free(v->data);
    }
    v->data = copy;
    v->size = size;
    v->type = type;
    kdpc__cm_touch(m, k);
    return STATUS_SUCCESS;
}

NTSTATUS kdpc__cm_value_delete(kdpc_machine *m, kdpc__cm_key *k, const WCHAR *name, size_t len)
{
    for (kdpc__cm_value **p = &k->values; *p != NULL; p = &(*p)->next) {
        kdpc__cm_value *v = *p;
        if (v->nlen == len && kdpc__cm_same(v->name, name, len)) {
            *p = v->next;
            value_free(v);
            kdpc__cm_touch(m, k);
            return STATUS_SUCCESS;
        }
    }
    return STATUS_OBJECT_NAME_NOT_FOUND;
}

NTSTATUS kdpc__cm_key_delete(kdpc_machine *m, kdpc__cm_key *k)
{
    kdpc__cm *cm = kdpc__cm_of(m);
    if (k->deleted)
        return STATUS_KEY_DELETED;
    if (cm == NULL || k == cm->root || k->children != NULL)
        return STATUS_CANNOT_DELETE;
    kdpc__cm_key *parent = k->parent;
    for (kdpc__cm_key **p = &parent->children; *p != NULL; p = &(*p)->sibling) {
        if (*p == k) {
            *p = k->sibling;
            break;
        }
    }
    kdpc__cm_touch(m, parent);
    k->parent = NULL;
    k->deleted = true;
    if (k->handles == 0) {
        key_free(k);
    } else {
        k->owner = cm;
        k->sibling = cm->deleted;
        cm->deleted = k;
    }
    return STATUS_SUCCESS;
}

void kdpc__cm_key_release(kdpc__cm_key *k)
{
    if (k->handles > 0)
        k->handles--;
    if (!k->deleted || k->handles != 0)
        return;
    kdpc__cm *cm = k->owner;
    for (kdpc__cm_key **p = &cm->deleted; *p != NULL; p = &(*p)->sibling) {
        if (*p == k) {
            *p = k->sibling;
            key_free(k);
            return;
        }
    }
}

size_t kdpc__cm_key_path(const kdpc__cm_key *k, WCHAR *buf, size_t cap)
{
    size_t total = 0;
    for (const kdpc__cm_key *p = k; p != NULL; p = p->parent)
        total += 1u + p->nlen;
    if (total > cap)
        return 0;
    size_t end = total;
    for (const kdpc__cm_key *p = k; p != NULL; p = p->parent) {
        end -= p->nlen;
        memcpy(buf + end, p->name, p->nlen * sizeof(WCHAR));
        buf[--end] = '\\';
    }
    return total;
}
