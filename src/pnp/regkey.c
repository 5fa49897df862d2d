/* SPDX-License-Identifier: MIT */
/*
 * regkey.c - IoOpenDeviceRegistryKey: the hardware and software registry
 * keys of a device the PnP manager enumerated (include/kdpc/wdm/registry.h,
 * docs/facts/registry.md). The PnP layer knows the PDOs; the keys live in
 * the configuration manager's tree (src/cm).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cm.h"
#include "pnp/pnp.h"

NTSTATUS kdpc_IoOpenDeviceRegistryKey(PDEVICE_OBJECT DeviceObject, ULONG DevInstKeyType,
                                      ACCESS_MASK DesiredAccess, PHANDLE DeviceRegKey)
{
    kdpc_machine *m = kdpc__cm_enter("IoOpenDeviceRegistryKey");
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    ULONG which = DevInstKeyType & (PLUGPLAY_REGKEY_DEVICE | PLUGPLAY_REGKEY_DRIVER);
    if (DeviceRegKey == NULL ||
        (DevInstKeyType & ~(ULONG)(PLUGPLAY_REGKEY_DEVICE | PLUGPLAY_REGKEY_DRIVER |
                                   PLUGPLAY_REGKEY_CURRENT_HWPROFILE)) != 0 ||
        (which != PLUGPLAY_REGKEY_DEVICE && which != PLUGPLAY_REGKEY_DRIVER))
        return STATUS_INVALID_PARAMETER;
    /* looked up among the PDOs, never read */
    kdpc__pdoext *x = kdpc__pnp_pdoext(m, DeviceObject);
    if (x == NULL || x->dev == NULL) {
        kdpc__pnp_not_pdo(m, "IoOpenDeviceRegistryKey", DeviceObject,
                          (uintptr_t)__builtin_return_address(0));
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    const char *name = kdpc_device_name(x->dev);
    size_t cap = 200 + 4 * strlen(name);
    char *path = malloc(cap);
    if (path == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (which == PLUGPLAY_REGKEY_DEVICE)
        snprintf(path, cap,
                 "\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\Root\\%s\\0000\\"
                 "Device Parameters",
                 name);
    else
        snprintf(path, cap,
                 "\\Registry\\Machine\\System\\CurrentControlSet\\Control\\Class\\"
                 "{4d36e97d-e325-11ce-bfc1-08002be10318}\\%s",
                 name);
    size_t n;
    WCHAR *w = kdpc__cm_widen(path, &n);
    NTSTATUS st = STATUS_INSUFFICIENT_RESOURCES;
    if (w != NULL) {
        kdpc__cm_key *k;
        st = kdpc__cm_walk(m, NULL, w, n, true, true, false, &k, NULL);
        if (NT_SUCCESS(st))
            st = kdpc__cm_handle_open(m, k, DesiredAccess, DeviceRegKey);
        else if (st != STATUS_INSUFFICIENT_RESOURCES)
            st = STATUS_INVALID_DEVICE_REQUEST; /* a device name that is no key name */
    }
    free(w);
    free(path);
    return st;
}
