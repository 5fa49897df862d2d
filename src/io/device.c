/* SPDX-License-Identifier: MIT */
/*
 * device.c - IoCreateDevice and IoDeleteDevice.
 *
 * A device object and its extension are one allocation; the extension is
 * zeroed and 16-byte aligned. The embedded Dpc is zeroed too (DpcData NULL)
 * until IoInitializeDpcRequest binds it (fact 5.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"

bool kdpc__io_in_device(const kdpc__devrec *d, const void *addr)
{
    const unsigned char *p = addr;
    const unsigned char *lo = (const unsigned char *)d;
    return p >= lo && p < d->ext + d->ext_size;
}

kdpc__devrec *kdpc__io_devrec(kdpc_machine *m, PDEVICE_OBJECT dev)
{
    for (kdpc__devrec *d = kdpc__io_of(m)->devices; d != NULL; d = d->next) {
        if (&d->obj == dev)
            return d;
    }
    return NULL;
}

static bool same_name(const WCHAR *a, const UNICODE_STRING *b)
{
    size_t n = b->Length / sizeof(WCHAR);
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b->Buffer[i])
            return false;
    }
    return a[n] == 0;
}

NTSTATUS kdpc_IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                             PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                             ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                             PDEVICE_OBJECT *DeviceObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCreateDevice", &c);
    if (m == NULL || DriverObject == NULL || DeviceObject == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc__io *io = kdpc__io_of(m);
    if (DeviceName != NULL && DeviceName->Buffer != NULL && DeviceName->Length > 0) {
        for (kdpc__devrec *d = io->devices; d != NULL; d = d->next) {
            if (d->name != NULL && same_name(d->name, DeviceName))
                return STATUS_OBJECT_NAME_COLLISION;
        }
    }
    kdpc__devrec *d = calloc(1, sizeof(*d) + DeviceExtensionSize);
    if (d == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (DeviceName != NULL && DeviceName->Buffer != NULL && DeviceName->Length > 0) {
        size_t n = DeviceName->Length / sizeof(WCHAR);
        d->name = calloc(n + 1, sizeof(WCHAR));
        if (d->name == NULL) {
            free(d);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        memcpy(d->name, DeviceName->Buffer, n * sizeof(WCHAR));
        d->obj.DeviceName.Buffer = d->name;
        d->obj.DeviceName.Length = (USHORT)(n * sizeof(WCHAR));
        d->obj.DeviceName.MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
    }
    d->ext_size = DeviceExtensionSize;
    PDEVICE_OBJECT dev = &d->obj;
    dev->Type = IO_TYPE_DEVICE;
    dev->Size = (USHORT)sizeof(DEVICE_OBJECT);
    dev->DriverObject = DriverObject;
    dev->NextDevice = DriverObject->DeviceObject;
    DriverObject->DeviceObject = dev;
    dev->Flags = DO_DEVICE_INITIALIZING | (Exclusive ? DO_EXCLUSIVE : 0u);
    dev->Characteristics = DeviceCharacteristics;
    dev->DeviceExtension = DeviceExtensionSize != 0 ? d->ext : NULL;
    dev->DeviceType = DeviceType;
    dev->StackSize = 1;
    kdpc_KeInitializeDeviceQueue(&dev->DeviceQueue);
    d->next = io->devices;
    io->devices = d;
    *DeviceObject = dev;
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

void kdpc__io_device_free(kdpc_machine *m, kdpc__devrec *d)
{
    kdpc__io *io = kdpc__io_of(m);
    for (kdpc__devrec **p = &io->devices; *p != NULL; p = &(*p)->next) {
        if (*p == d) {
            *p = d->next;
            break;
        }
    }
    PDRIVER_OBJECT drv = d->obj.DriverObject;
    if (drv != NULL) {
        for (PDEVICE_OBJECT *p = &drv->DeviceObject; *p != NULL; p = &(*p)->NextDevice) {
            if (*p == &d->obj) {
                *p = d->obj.NextDevice;
                break;
            }
        }
    }
    free(d->name);
    free(d);
}

void kdpc_IoDeleteDevice(PDEVICE_OBJECT DeviceObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoDeleteDevice", &c);
    if (m == NULL || DeviceObject == NULL)
        return;
    kdpc__devrec *d = kdpc__io_devrec(m, DeviceObject);
    if (d == NULL)
        return;
    kdpc__scope scope = {NULL, d, false};
    kdpc__io_check_pending(m, &scope, "IoDeleteDevice");
    kdpc__trace_forget(m, d, sizeof(*d) + d->ext_size); /* trace numbers, names of its objects */
    kdpc__io_device_free(m, d);
    kdpc__ke_point(m);
}

static size_t narrow(char *out, size_t n, const WCHAR *w, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && w != NULL && k + 1 < n; i++)
        out[k++] = w[i] < 0x80 ? (char)w[i] : '?';
    out[k < n ? k : n - 1] = '\0';
    return k;
}

const char *kdpc__io_device_label(const kdpc__devrec *d, char *buf, size_t n)
{
    char dev[96], drv[96];
    if (d == NULL) {
        snprintf(buf, n, "an unknown device");
        return buf;
    }
    const UNICODE_STRING *dn = &d->obj.DeviceName;
    (void)narrow(dev, sizeof(dev), dn->Buffer, dn->Length / sizeof(WCHAR));
    drv[0] = '\0';
    if (d->obj.DriverObject != NULL) {
        const UNICODE_STRING *rn = &d->obj.DriverObject->DriverName;
        (void)narrow(drv, sizeof(drv), rn->Buffer, rn->Length / sizeof(WCHAR));
    }
    snprintf(buf, n, "%s%s of %s", dev[0] != '\0' ? "" : "an unnamed device", dev,
             drv[0] != '\0' ? drv : "an unknown driver");
    return buf;
}
