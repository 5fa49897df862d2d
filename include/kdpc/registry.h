/* SPDX-License-Identifier: MIT */
/*
 * kdpc/registry.h - native calls that fill and read the machine's registry,
 * the in-memory tree a driver reaches with ZwOpenKey, RtlQueryRegistryValues
 * and IoOpenDeviceRegistryKey (kdpc/wdm/registry.h). A test sets a driver's
 * parameters before kdpc_driver_load and reads back what the driver wrote.
 *
 * Paths are ASCII, absolute and '\'-separated: "\Registry\Machine\System\
 * CurrentControlSet\Services\mydrv\Parameters"; names compare without regard
 * to case. Value names are ASCII too ("" is the key's default value). Types
 * are the REG_* numbers (REG_SZ 1, REG_BINARY 3, REG_DWORD 4, REG_MULTI_SZ 7,
 * REG_QWORD 11, ...).
 *
 * Each machine has its own registry; kdpc_machine_reset() empties it back to the
 * keys a new machine starts with (see kdpc/wdm/registry.h), as it frees everything
 * else the runs built.
 *
 * Thread: a host thread between runs, or simulated code of @m (then at any
 * IRQL: these calls are the test's, not the driver's).
 * Every call returns KDPC_EINVAL for a NULL @m or path, a path that does not
 * start with "\Registry", or one with an empty component or a name over 255
 * characters; KDPC_EBUSY from a host thread while @m runs; KDPC_E_HALTED after
 * a bug check; KDPC_ENOMEM.
 */
#ifndef KDPC_REGISTRY_H
#define KDPC_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <kdpc/machine.h>
#include <kdpc/status.h>

KDPC_BEGIN_DECLS

/**
 * kdpc_registry_create_key() - make the key @path and every missing key
 * above it; an existing key is left as it is. Return: KDPC_OK.
 */
KDPC_EXPORT kdpc_status kdpc_registry_create_key(kdpc_machine *m, const char *path);

/**
 * kdpc_registry_delete_key() - delete the key @path with all its subkeys
 * and values. Handles a driver holds on them stay valid for ZwClose only
 * (STATUS_KEY_DELETED otherwise). Return: KDPC_OK; KDPC_ENOENT (no such
 * key); KDPC_EINVAL (also for "\Registry" itself).
 */
KDPC_EXPORT kdpc_status kdpc_registry_delete_key(kdpc_machine *m, const char *path);

/**
 * kdpc_registry_set_value() - set the value @name of the key @path (made,
 * with the keys above it, when missing) to @type and @size bytes of @data
 * (copied; @data may be NULL when @size is 0). Return: KDPC_OK; KDPC_EINVAL
 * (also NULL @name, @size over 4 GiB - 1, NULL @data with a @size).
 */
KDPC_EXPORT kdpc_status kdpc_registry_set_value(kdpc_machine *m, const char *path, const char *name,
                                                uint32_t type, const void *data, size_t size);

/** kdpc_registry_set_dword() - kdpc_registry_set_value of a REG_DWORD. */
KDPC_EXPORT kdpc_status kdpc_registry_set_dword(kdpc_machine *m, const char *path, const char *name,
                                                uint32_t value);

/**
 * kdpc_registry_set_string() - kdpc_registry_set_value of a REG_SZ: @value
 * (ASCII) as UTF-16 with its terminating NUL, as Windows stores strings.
 */
KDPC_EXPORT kdpc_status kdpc_registry_set_string(kdpc_machine *m, const char *path,
                                                 const char *name, const char *value);

/**
 * kdpc_registry_get_value() - read the value @name of the key @path: *@type
 * (may be NULL) gets its type, *@size (may be NULL) its size in bytes, and
 * @data up to @capacity bytes of it (@data may be NULL when @capacity is 0).
 * Return: KDPC_OK (when *@size exceeds @capacity, only the first @capacity
 * bytes were copied); KDPC_ENOENT (no such key or value).
 */
KDPC_EXPORT kdpc_status kdpc_registry_get_value(kdpc_machine *m, const char *path, const char *name,
                                                uint32_t *type, void *data, size_t capacity,
                                                size_t *size);

/**
 * kdpc_registry_delete_value() - remove the value @name of the key @path.
 * Return: KDPC_OK; KDPC_ENOENT (no such key or value).
 */
KDPC_EXPORT kdpc_status kdpc_registry_delete_value(kdpc_machine *m, const char *path,
                                                   const char *name);

/**
 * kdpc_registry_key_exists() - 1 when the key @path exists, 0 when not (or
 * on any error of the call).
 */
KDPC_EXPORT int kdpc_registry_key_exists(kdpc_machine *m, const char *path);

KDPC_END_DECLS

#endif /* KDPC_REGISTRY_H */
