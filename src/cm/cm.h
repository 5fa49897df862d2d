/* SPDX-License-Identifier: MIT */
/*
 * cm.h - the configuration manager layer: one in-memory registry tree per
 * machine (tree.c), the Zw*Key routines over key handles (key.c), the Rtl
 * registry helpers (rtlreg.c) and the native calls a test fills the tree with
 * (native.c). docs/facts/registry.md has the Windows facts.
 *
 * The tree starts with \Registry\Machine\{System\CurrentControlSet\{Services,
 * Control,Enum},Software\Microsoft\Windows NT\CurrentVersion,Hardware\DeviceMap}
 * and \Registry\User. Names compare without regard to ASCII case. A key with
 * open handles that is deleted leaves the tree at once and is freed at its
 * last close (or at the machine's end). Lock legend: B baton holder only
 * (every call here runs in simulated code or a host thread between runs).
 */
#ifndef KDPC_CM_H
#define KDPC_CM_H

#include <kdpc/wdm.h>
#include "ke/ke.h"

#define KDPC__CM_KEY_NAME_MAX   255u   /* WCHARs of one key name */
#define KDPC__CM_VALUE_NAME_MAX 16383u /* WCHARs of a value name */
#define KDPC__CM_PATH_MAX       32767u /* WCHARs of a full path */

typedef struct kdpc__cm_value {
    struct kdpc__cm_value *next; /* creation order */
    ULONG type, size;
    USHORT nlen; /* WCHARs */
    WCHAR *name;
    unsigned char *data;
} kdpc__cm_value;

typedef struct kdpc__cm_key {
    struct kdpc__cm_key *parent;   /* NULL for \Registry and deleted keys */
    struct kdpc__cm_key *children; /* sorted by name, ASCII case folded */
    struct kdpc__cm_key *sibling;  /* next child of parent / next deleted key */
    kdpc__cm_value *values;
    size_t handles;         /* open handles */
    bool deleted;           /* ZwDeleteKey: out of the tree, kept for its handles */
    struct kdpc__cm *owner; /* set when deleted: the registry whose deleted list holds it */
    bool is_volatile;       /* REG_OPTION_VOLATILE */
    LONGLONG written;       /* LastWriteTime, system time */
    USHORT nlen, clen;      /* WCHARs of name and class */
    WCHAR *name, *cls;
} kdpc__cm_key;

typedef struct kdpc__cm {
    kdpc__cm_key *root;    /* \Registry */
    kdpc__cm_key *deleted; /* deleted keys with open handles */
} kdpc__cm;

/* tree.c */
/* The machine's registry, built on first use; NULL when the host has no memory. */
kdpc__cm *kdpc__cm_of(kdpc_machine *m);
/* Machine teardown: free the tree and every deleted key (no handle is closed). */
void kdpc__cm_free(kdpc_machine *m);
bool kdpc__cm_same(const WCHAR *a, const WCHAR *b, size_t n); /* ASCII case folded */
/* @n WCHARs of @name and a NUL in a new malloc'd buffer; NULL: no memory. */
WCHAR *kdpc__cm_name_dup(const WCHAR *name, size_t n);
/* Walk @path (@len WCHARs, components separated by '\') from @from (NULL: @path is absolute,
 * starting "\Registry"). @create: make a missing last component (volatile when @vol);
 * @create_all: make every missing component. *@created tells whether the last one was made.
 * Return: STATUS_SUCCESS, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_NAME_INVALID (empty
 * component, over-long name), STATUS_OBJECT_PATH_SYNTAX_BAD (an absolute path not starting
 * with '\', a relative one that does), STATUS_KEY_DELETED (@from deleted),
 * STATUS_CHILD_MUST_BE_VOLATILE, STATUS_INSUFFICIENT_RESOURCES. */
NTSTATUS kdpc__cm_walk(kdpc_machine *m, kdpc__cm_key *from, const WCHAR *path, size_t len,
                       bool create, bool create_all, bool vol, kdpc__cm_key **out, bool *created);
kdpc__cm_value *kdpc__cm_value_find(const kdpc__cm_key *k, const WCHAR *name, size_t len);
/* Set (replace) a value; STATUS_INSUFFICIENT_RESOURCES. */
NTSTATUS kdpc__cm_value_set(kdpc_machine *m, kdpc__cm_key *k, const WCHAR *name, size_t len,
                            ULONG type, const void *data, ULONG size);
NTSTATUS kdpc__cm_value_delete(kdpc_machine *m, kdpc__cm_key *k, const WCHAR *name, size_t len);
/* Delete @k (no subkeys): STATUS_CANNOT_DELETE (subkeys, or \Registry itself). */
NTSTATUS kdpc__cm_key_delete(kdpc_machine *m, kdpc__cm_key *k);
/* A handle was closed on @k: a deleted key goes with its last handle. */
void kdpc__cm_key_release(kdpc__cm_key *k);
/* Full path of @k into @buf (@cap WCHARs): its length (0 when it does not fit). */
size_t kdpc__cm_key_path(const kdpc__cm_key *k, WCHAR *buf, size_t cap);
void kdpc__cm_touch(kdpc_machine *m, kdpc__cm_key *k); /* LastWriteTime = now */

/* key.c */
/* A kernel handle for @k with @access (GENERIC_* mapped to KEY_*): STATUS_SUCCESS,
 * STATUS_INSUFFICIENT_RESOURCES. */
NTSTATUS kdpc__cm_handle_open(kdpc_machine *m, kdpc__cm_key *k, ACCESS_MASK access, HANDLE *h);
/* The key behind @h when @h is an open key handle granted every right in @need:
 * STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH (another kind of handle),
 * STATUS_ACCESS_DENIED, STATUS_KEY_DELETED (@need != 0 and the key was deleted). */
NTSTATUS kdpc__cm_handle_key(kdpc_machine *m, HANDLE h, ACCESS_MASK need, kdpc__cm_key **k);
/* The registry routines run at PASSIVE_LEVEL: false after reporting zw.passive_irql. */
bool kdpc__cm_passive_ok(kdpc_machine *m, const kdpc__cpu *c, const char *routine);
/* The simulated context of a PASSIVE_LEVEL registry routine, or NULL (then the routine returns
 * STATUS_INVALID_PARAMETER; the rule was reported). */
kdpc_machine *kdpc__cm_enter(const char *routine);
/* A UNICODE_STRING a routine may read: Length even and <= MaximumLength, Buffer set unless
 * Length is 0. */
bool kdpc__cm_ustr_ok(const UNICODE_STRING *u);

/* native.c */
/* @s (ASCII) as UTF-16 into a new malloc'd buffer of *@n WCHARs (+ a NUL); NULL: no memory. */
WCHAR *kdpc__cm_widen(const char *s, size_t *n);
/* Make \Registry\Machine\System\CurrentControlSet\Services\<name> (kdpc_driver_load,
 * before DriverEntry); STATUS_INSUFFICIENT_RESOURCES or STATUS_SUCCESS. */
NTSTATUS kdpc__cm_service_key(kdpc_machine *m, const char *name);

#endif /* KDPC_CM_H */
