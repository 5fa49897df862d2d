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
#include "verifier/ddiirql.h"

bool kdpc__io_in_device(const kdpc__devrec *d, const void *addr)
{
    const unsigned char *p = addr;
    const unsigned char *lo = (const unsigned char *)d;
    if (d->wext != NULL && p >= d->wext && p < d->wext + d->ext_size)
        return true;
    return p >= lo && p < lo + kdpc__io_devrec_bytes(d);
}

kdpc__devrec *kdpc__io_devrec(kdpc_machine *m, PDEVICE_OBJECT dev)
{
    if (kdpc__io_live_kind(m, dev) != KDPC_IOK_DEVICE)
        return NULL;
    return CONTAINING_RECORD(dev, kdpc__devrec, obj);
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

static size_t narrow(char *out, size_t n, const WCHAR *w, size_t len);

NTSTATUS kdpc_IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                             PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                             ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                             PDEVICE_OBJECT *DeviceObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCreateDevice", &c);
    if (m == NULL || DriverObject == NULL || DeviceObject == NULL)
        return STATUS_INVALID_PARAMETER;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoCreateDevice", (uintptr_t)DriverObject); /* goes on */
    /* Windows links the device into DriverObject->DeviceObject: not a live driver is a fault */
    if (!kdpc__io_need(m, "IoCreateDevice", KDPC_RP(kdpc_IoCreateDevice), DriverObject,
                       KDPC_IOK_DRIVER))
        return STATUS_INVALID_PARAMETER;
    if ((size_t)DeviceExtensionSize > 0xFFFFu - sizeof(DEVICE_OBJECT))
        return STATUS_INVALID_PARAMETER; /* Size is a USHORT of object + extension */
    kdpc__io *io = kdpc__io_of(m);
    if (DeviceName != NULL && DeviceName->Buffer != NULL && DeviceName->Length > 0) {
        for (kdpc__devrec *d = io->devices; d != NULL; d = d->next) {
            if (d->name != NULL && same_name(d->name, DeviceName))
                return STATUS_OBJECT_NAME_COLLISION;
        }
    }
    /* Watched extensions (sync.unlocked_shared sees them) live on pages of their own. */
    bool watched = m->cfg.watch_device_extensions && DeviceExtensionSize != 0;
    kdpc__devrec *d = calloc(1, sizeof(*d) + (watched ? 0 : DeviceExtensionSize));
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
    if (watched) {
        char label[200], what[240];
        d->obj.DriverObject = DriverObject; /* for the label */
        snprintf(what, sizeof(what), "the device extension of %s",
                 kdpc__io_device_label(d, label, sizeof(label)));
        d->wext = kdpc__watch_region(m, DeviceExtensionSize, what);
    }
    if ((watched && d->wext == NULL) || !kdpc__io_register(m, dev, KDPC_IOK_DEVICE)) {
        kdpc__watch_region_free(m, d->wext);
        free(d->name);
        free(d);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    dev->Type = IO_TYPE_DEVICE;
    dev->Size = (USHORT)(sizeof(DEVICE_OBJECT) + DeviceExtensionSize); /* as Windows sets it */
    dev->DriverObject = DriverObject;
    dev->NextDevice = DriverObject->DeviceObject;
    DriverObject->DeviceObject = dev;
    dev->Flags = DO_DEVICE_INITIALIZING | (Exclusive ? DO_EXCLUSIVE : 0u);
    dev->Characteristics = DeviceCharacteristics;
    dev->DeviceExtension = DeviceExtensionSize == 0 ? NULL : d->wext != NULL ? d->wext : d->ext;
    dev->DeviceType = DeviceType;
    dev->StackSize = 1;
    kdpc__ke_device_queue_init(&dev->DeviceQueue);
    d->next = io->devices;
    io->devices = d;
    if (d->name != NULL) { /* its name labels it in the trace and in reports */
        char label[256];
        (void)narrow(label, sizeof(label), d->name, d->obj.DeviceName.Length / sizeof(WCHAR));
        (void)kdpc_name_object(m, dev, label); /* out of host memory: unlabelled */
    }
    *DeviceObject = dev;
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

void kdpc__io_device_free(kdpc_machine *m, kdpc__devrec *d)
{
    kdpc__io *io = kdpc__io_of(m);
    kdpc__io_unregister(m, &d->obj);
    kdpc__io_forget_range(m, d, kdpc__io_devrec_bytes(d));
    if (d->wext != NULL) {
        kdpc__io_forget_range(m, d->wext, d->ext_size);
        kdpc__watch_region_free(m, d->wext);
    }
    kdpc__io_files_device_gone(m, d);
    /* a device it was attached to must not keep pointing at it */
    for (kdpc__devrec *o = io->devices; o != NULL; o = o->next) {
        if (o->obj.AttachedDevice == &d->obj)
            o->obj.AttachedDevice = NULL;
    }
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
    if (d->name != NULL) /* the name IoCreateDevice gave it (kdpc_name_object) dies with it */
        kdpc__ver_forget_range(m, &d->obj, 1);
    free(d->name);
    free(d);
}

/*
 * Objects: a device deleted before is Verifier's 0xC9/0x240 ("delete a device
 * object that has already been deleted", WDM DRIVER ERROR: P2 = the caller,
 * P4 = the device); anything else that is not a live device object (NULL,
 * never created, another type) is the fault Windows takes reading it (0x50 / 0x1E, see
 * validate.c).
 * A device still attached to a lower one (IoDetachDevice forgotten) is
 * 0xC9/0x201. With io.invalid_object off or a warning: nothing is deleted
 * for a bad object; an attached device is detached, then deleted.
 * A device with another still attached above it (an upper filter that
 * detaches after the IRP_MN_REMOVE_DEVICE it passed down came back) stays
 * until that one detaches, as Windows keeps it (DOE_DELETE_PENDING): its
 * memory is freed at that IoDetachDevice; deleting it again is 0x240.
 */
static void delete_now(kdpc_machine *m, kdpc__devrec *d);

void kdpc_IoDeleteDevice(PDEVICE_OBJECT DeviceObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoDeleteDevice", &c);
    if (m == NULL)
        return;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoDeleteDevice", (uintptr_t)DeviceObject); /* goes on */
    if (!kdpc__io_valid(m, DeviceObject, KDPC_IOK_DEVICE)) {
        if (DeviceObject != NULL && kdpc__io_live_kind(m, DeviceObject) == KDPC_IOK_NONE &&
            kdpc__io_retired_kind(m, DeviceObject) == KDPC_IOK_DEVICE)
            kdpc__io_invalid(m, "IoDeleteDevice", DeviceObject, KDPC_IOK_DEVICE, 0xC9, 0x240,
                             (uintptr_t)__builtin_return_address(0), 0, (uintptr_t)DeviceObject);
        else
            kdpc__io_invalid_access(m, "IoDeleteDevice", KDPC_RP(kdpc_IoDeleteDevice), DeviceObject,
                                    KDPC_IOK_DEVICE);
        return;
    }
    kdpc__devrec *d = kdpc__io_devrec(m, DeviceObject);
    if (d->delete_pending) {
        kdpc__io_invalid(m, "IoDeleteDevice", DeviceObject, KDPC_IOK_DEVICE, 0xC9, 0x240,
                         (uintptr_t)__builtin_return_address(0), 0, (uintptr_t)DeviceObject);
        return;
    }
    kdpc__io_pnp_on_delete(m, DeviceObject, (uintptr_t)__builtin_return_address(0)); /* goes on */
    if (kdpc__io_of(m)->pnp_hooks.device_deleting != NULL) /* power: removelock.delete_unwaited */
        kdpc__io_of(m)->pnp_hooks.device_deleting(m, DeviceObject, DeviceObject->DeviceExtension,
                                                  d->ext_size);
    for (kdpc__devrec *o = kdpc__io_of(m)->devices; o != NULL; o = o->next) {
        if (o->obj.AttachedDevice == DeviceObject) {
            kdpc__violation(m, KDPC_R_IO_INVALID_OBJECT, 0xC9, 0x201,
                            (uintptr_t)__builtin_return_address(0), 0, (uintptr_t)DeviceObject,
                            NULL,
                            "IoDeleteDevice(%p): the device is still attached to device %p "
                            "beneath it; IoDetachDevice first",
                            (void *)DeviceObject, (void *)&o->obj);
            break; /* as a warning: kdpc__io_device_free detaches it */
        }
    }
    kdpc__scope scope = {NULL, d, false};
    kdpc__io_check_pending(m, &scope, "IoDeleteDevice");
    kdpc__io_dma_device_deleted(m, DeviceObject); /* goes on */
    PDEVICE_OBJECT above = DeviceObject->AttachedDevice;
    if (above != NULL && kdpc__io_devrec(m, above) != NULL) {
        d->delete_pending = true; /* freed by the IoDetachDevice of @above */
        kdpc__ke_point(m);
        return;
    }
    delete_now(m, d);
}

static void delete_now(kdpc_machine *m, kdpc__devrec *d)
{
    kdpc__io_unqueue_inside(m, d, kdpc__io_devrec_bytes(d)); /* unload.pending was a warning */
    kdpc__trace_forget(m, d, kdpc__io_devrec_bytes(d)); /* trace numbers, names of its objects */
    if (d->wext != NULL) {
        kdpc__io_unqueue_inside(m, d->wext, d->ext_size);
        kdpc__trace_forget(m, d->wext, d->ext_size);
    }
    kdpc__io_device_free(m, d);
    kdpc__ke_point(m);
}

void kdpc__io_device_detached(kdpc_machine *m, kdpc__devrec *d)
{
    if (d != NULL && d->delete_pending)
        delete_now(m, d);
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

void kdpc_IoInitializeDpcRequest(PDEVICE_OBJECT DeviceObject, PIO_DPC_ROUTINE DpcRoutine)
{
    /* outside simulated code there is no registry to look in: KeInitializeDpc decides */
    kdpc__thread *t = kdpc__self();
    kdpc_machine *m = t != NULL ? t->m : NULL;
    if (m != NULL && m->ke != NULL &&
        !kdpc__io_need(m, "IoInitializeDpcRequest", KDPC_RP(kdpc_IoInitializeDpcRequest),
                       DeviceObject, KDPC_IOK_DEVICE))
        return;
    kdpc_KeInitializeDpc(&DeviceObject->Dpc, (PKDEFERRED_ROUTINE)(void (*)(void))DpcRoutine,
                         DeviceObject);
}

void kdpc_IoRequestDpc(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoRequestDpc", &c);
    if (m == NULL || !kdpc__io_need(m, "IoRequestDpc", KDPC_RP(kdpc_IoRequestDpc), DeviceObject,
                                    KDPC_IOK_DEVICE))
        return;
    (void)kdpc__ke_request_dpc(&DeviceObject->Dpc, Irp, Context); /* KeInsertQueueDpc */
}
