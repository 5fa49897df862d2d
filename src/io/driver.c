/* SPDX-License-Identifier: MIT */
/*
 * driver.c - driver objects: kdpc_driver_load / kdpc_driver_unload, as the
 * I/O manager loads and unloads a driver.
 *
 * Attribution: while DriverEntry or DriverUnload runs, the calling thread
 * acts for the driver, so DPCs it initialises, threads it creates and
 * interrupts it connects are the driver's. Unload then finds what the
 * driver left queued (unload.pending, 0xCE).
 */
#include <stdlib.h>
#include <string.h>

#include <kdpc/driver.h>
#include "cm/cm.h"
#include "io/io.h"

int kdpc__io_init(kdpc_machine *m)
{
    kdpc__io *io = calloc(1, sizeof(*io));
    if (io == NULL)
        return -1;
    kdpc__io_mem_init(io);
    kdpc__ke_of(m)->io = io;
    m->hooks.quiescent = kdpc__io_irps_at_quiescence;
    kdpc__ke_of(m)->irp_queued = kdpc__io_irp_queued;               /* io.queued_before_marked */
    kdpc__ke_of(m)->devqueue_inserted = kdpc__io_devqueue_inserted; /* trace: irp-queue */
    kdpc__io_dma_init(m);
    return 0;
}

static void driver_free(kdpc_machine *m, kdpc__drvrec *r)
{
    kdpc__io *io = kdpc__io_of(m);
    while (r->obj.DeviceObject != NULL) {
        kdpc__devrec *d = kdpc__io_devrec(m, r->obj.DeviceObject);
        if (d == NULL) {
            r->obj.DeviceObject = r->obj.DeviceObject->NextDevice;
            continue;
        }
        kdpc__io_device_free(m, d);
    }
    kdpc__io_unregister(m, &r->obj);
    for (kdpc__drvrec **p = &io->drivers; *p != NULL; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    free(r);
}

void kdpc__io_free(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke == NULL || ke->io == NULL)
        return;
    kdpc__io *io = ke->io;
    if (io->pnp_hooks.free != NULL)
        io->pnp_hooks.free(m); /* the PnP layer's state first (it points at devices) */
    while (io->drivers != NULL)
        driver_free(m, io->drivers);
    while (io->devices != NULL)
        kdpc__io_device_free(m, io->devices);
    kdpc__io_irps_free(m);  /* before the I/O memory: an IRP may still point at its MDL */
    kdpc__io_files_free(m); /* after the IRPs: a pending close IRP points at its file */
    kdpc__io_links_free(m);
    kdpc__io_mem_free_all(io);
    kdpc__io_errlog_free(m);
    kdpc__io_dma_free(m);
    kdpc__io_controllers_free(m);
    kdpc__io_registry_free(io);
    free(io);
    ke->io = NULL;
}

static size_t put_wide(WCHAR *dst, const char *prefix, const char *name)
{
    size_t n = 0;
    for (const char *p = prefix; *p != '\0'; p++)
        dst[n++] = (WCHAR)(unsigned char)*p;
    for (const char *p = name; *p != '\0'; p++)
        dst[n++] = (WCHAR)(unsigned char)*p;
    dst[n] = 0;
    return n;
}

/* The live driver object @driver names, found without reading it. */
static kdpc__drvrec *find_driver(kdpc_machine *m, PDRIVER_OBJECT driver)
{
    if (kdpc__io_live_kind(m, driver) != KDPC_IOK_DRIVER)
        return NULL;
    return CONTAINING_RECORD(driver, kdpc__drvrec, obj);
}

static void *swap_driver(kdpc__cpu *c, void *driver)
{
    struct _KTHREAD *kt = c->thread->ke;
    if (kt == NULL)
        return NULL;
    void *old = kt->driver;
    kt->driver = driver;
    return old;
}

void *kdpc__io_enter_driver(kdpc__cpu *c, void *driver)
{
    kdpc__kecpu *kc = kdpc__kecpu_of(c);
    if (kc->nframes > 0) { /* a DPC or ISR: the driver of its frame (kdpc__ke_current_driver) */
        void *old = kc->frames[kc->nframes - 1].driver;
        kc->frames[kc->nframes - 1].driver = driver;
        return old;
    }
    return c->thread != NULL ? swap_driver(c, driver) : NULL;
}

NTSTATUS kdpc_driver_load(kdpc_machine *m, const char *name, PDRIVER_INITIALIZE entry,
                          PDRIVER_OBJECT *driver)
{
    kdpc__thread *t = kdpc__io_passive_thread();
    if (driver != NULL)
        *driver = NULL;
    if (m == NULL || name == NULL || entry == NULL || driver == NULL || t == NULL || t->m != m)
        return STATUS_INVALID_PARAMETER;
    static const char drv_prefix[] = "\\Driver\\";
    static const char reg_prefix[] = "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";
    size_t len = strlen(name);
    if (len > 1000)
        return STATUS_INVALID_PARAMETER;
    size_t n1 = sizeof(drv_prefix) + len, n2 = sizeof(reg_prefix) + len;
    kdpc__drvrec *r = calloc(1, sizeof(*r) + (n1 + n2) * sizeof(WCHAR));
    if (r == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    kdpc__pool_driver_gone(m, r, NULL, false); /* area: pool: a new driver, not an unloaded one */
    r->m = m;
    size_t l1 = put_wide(r->names, drv_prefix, name);
    size_t l2 = put_wide(r->names + n1, reg_prefix, name);
    r->obj.Type = IO_TYPE_DRIVER;
    r->obj.Size = (CSHORT)sizeof(DRIVER_OBJECT);
    r->obj.DriverExtension = &r->ext;
    r->ext.DriverObject = &r->obj;
    r->obj.DriverName.Buffer = r->names;
    r->obj.DriverName.Length = (USHORT)(l1 * sizeof(WCHAR));
    r->obj.DriverName.MaximumLength = (USHORT)((l1 + 1) * sizeof(WCHAR));
    r->registry_path.Buffer = r->names + n1;
    r->registry_path.Length = (USHORT)(l2 * sizeof(WCHAR));
    r->registry_path.MaximumLength = (USHORT)((l2 + 1) * sizeof(WCHAR));
    r->obj.DriverInit = entry;
    /* the service key RegistryPath names exists when DriverEntry runs, as after an install */
    if (!NT_SUCCESS(kdpc__cm_service_key(m, name)) ||
        !kdpc__io_register(m, &r->obj, KDPC_IOK_DRIVER)) {
        free(r);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    kdpc__io *io = kdpc__io_of(m);
    r->next = io->drivers;
    io->drivers = r;
    void *old = swap_driver(t->cpu, r);
    NTSTATUS st = entry(&r->obj, &r->registry_path);
    kdpc__cpu *c = kdpc__cur_cpu();
    swap_driver(c, old);
    if (!NT_SUCCESS(st)) {
        kdpc__pool_driver_gone(m, r, NULL, false); /* area: pool: blocks outlive the record */
        driver_free(m, r);
        return st;
    }
    for (PDEVICE_OBJECT d = r->obj.DeviceObject; d != NULL; d = d->NextDevice)
        d->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    *driver = &r->obj;
    if (io->pnp_hooks.driver_loaded != NULL) /* devices plugged for it start now (pnp) */
        io->pnp_hooks.driver_loaded(m, &r->obj, name);
    kdpc__ke_point(m);
    return st;
}

NTSTATUS kdpc_driver_unload(PDRIVER_OBJECT driver)
{
    kdpc__thread *t = kdpc__io_passive_thread();
    if (driver == NULL || t == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc_machine *m = t->m;
    /* looked up, never read: an unloaded (freed), never loaded or garbage driver object, or
     * an object of another type, is STATUS_INVALID_PARAMETER (a native call: no bug check) */
    kdpc__drvrec *r = find_driver(m, driver);
    if (r == NULL || r->obj.Type != IO_TYPE_DRIVER)
        return STATUS_INVALID_PARAMETER;
    if (driver->DriverUnload == NULL)
        return STATUS_INVALID_DEVICE_REQUEST;
    /* a PnP driver's device stacks are removed first (IRP_MN_REMOVE_DEVICE, pnp's hook) */
    kdpc__io *io = kdpc__io_of(m);
    if (io->pnp_hooks.driver_unloading != NULL) {
        NTSTATUS pst = io->pnp_hooks.driver_unloading(m, driver);
        if (!NT_SUCCESS(pst))
            return pst;
        if (find_driver(m, driver) == NULL)
            return STATUS_INVALID_PARAMETER; /* unloaded meanwhile */
    }
    void *old = swap_driver(t->cpu, r);
    driver->DriverUnload(driver);
    kdpc__cpu *c = kdpc__cur_cpu();
    swap_driver(c, old);
    kdpc__pool_driver_gone(m, r, &r->obj.DriverName, true); /* area: pool: mem.leak */
    kdpc__scope scope = {r, NULL, false};
    kdpc__io_check_pending(m, &scope, "driver unloaded");
    /* unload.pending was a warning: nothing queued inside the objects freed below may run */
    kdpc__io_unqueue_inside(m, r, sizeof(*r));
    for (PDEVICE_OBJECT d = r->obj.DeviceObject; d != NULL; d = d->NextDevice) {
        kdpc__devrec *rec = kdpc__io_devrec(m, d);
        if (rec == NULL)
            break;
        kdpc__io_unqueue_inside(m, rec, kdpc__io_devrec_bytes(rec));
        if (rec->wext != NULL)
            kdpc__io_unqueue_inside(m, rec->wext, rec->ext_size);
    }
    driver_free(m, r);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

kdpc_machine *kdpc_driver_machine(PDRIVER_OBJECT driver)
{
    if (driver == NULL)
        return NULL;
    kdpc__thread *self = kdpc__self();
    if (self != NULL) /* simulated code: looked up in its machine, never read blindly */
        return self->m->ke != NULL && find_driver(self->m, driver) != NULL ? self->m : NULL;
    /* a host thread has no machine to look in: @driver must be a live driver object */
    kdpc__drvrec *r = CONTAINING_RECORD(driver, kdpc__drvrec, obj);
    kdpc_machine *m = r->m;
    kdpc__thread *t = kdpc__self();
    if (t != NULL && t->m != m)
        return NULL;
    return m;
}
