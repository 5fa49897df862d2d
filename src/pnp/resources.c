/* SPDX-License-Identifier: MIT */
/*
 * resources.c - the raw and translated CM_RESOURCE_LISTs of
 * IRP_MN_START_DEVICE, built from a device description
 * (docs/facts/pnp.md 1.5-1.8).
 *
 * One full descriptor (InterfaceType Internal, bus 0, version 1 revision 1)
 * with, in this order: the I/O port ranges, the register windows, the
 * interrupt lines, the DMA channel. kdpc's root bus maps nothing: raw and
 * translated ports and memory are the same; an interrupt's raw descriptor
 * has the line as Level and Vector, the translated one has the DIRQL as
 * Level and the line as Vector (what IoConnectInterrupt takes).
 */
#include <stdlib.h>

#include "pnp/pnp.h"

static uint64_t all_cpus(kdpc_machine *m)
{
    unsigned n = m->cfg.cpus;
    return n >= 64 ? ~0ull : (1ull << n) - 1;
}

static PCM_RESOURCE_LIST build(kdpc_machine *m, const kdpc_device_desc *d, bool translated,
                               ULONG count)
{
    size_t size = sizeof(CM_RESOURCE_LIST) + (count - 1) * sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR);
    PCM_RESOURCE_LIST l = calloc(1, size);
    if (l == NULL)
        return NULL;
    l->Count = 1;
    CM_FULL_RESOURCE_DESCRIPTOR *f = &l->List[0];
    f->InterfaceType = Internal;
    f->BusNumber = 0;
    f->PartialResourceList.Version = 1;
    f->PartialResourceList.Revision = 1;
    f->PartialResourceList.Count = count;
    PCM_PARTIAL_RESOURCE_DESCRIPTOR p = f->PartialResourceList.PartialDescriptors;
    for (unsigned i = 0; i < d->nports; i++, p++) {
        p->Type = CmResourceTypePort;
        p->ShareDisposition = CmResourceShareDeviceExclusive;
        p->Flags = CM_RESOURCE_PORT_IO;
        p->u.Port.Start.QuadPart = (LONGLONG)d->ports[i].base;
        p->u.Port.Length = (ULONG)d->ports[i].length;
    }
    for (unsigned i = 0; i < d->nwindows; i++, p++) {
        p->Type = CmResourceTypeMemory;
        p->ShareDisposition = CmResourceShareDeviceExclusive;
        p->Flags = CM_RESOURCE_MEMORY_READ_WRITE;
        p->u.Memory.Start.QuadPart = (LONGLONG)d->windows[i].base;
        p->u.Memory.Length = (ULONG)d->windows[i].length;
    }
    for (unsigned i = 0; i < d->nlines; i++, p++) {
        const kdpc_line_desc *ln = &d->lines[i];
        p->Type = CmResourceTypeInterrupt;
        p->ShareDisposition = ln->shared ? CmResourceShareShared : CmResourceShareDeviceExclusive;
        p->Flags =
            ln->level ? CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE : CM_RESOURCE_INTERRUPT_LATCHED;
        p->u.Interrupt.Level = translated ? ln->irql : ln->line;
        p->u.Interrupt.Vector = ln->line;
        p->u.Interrupt.Affinity = (KAFFINITY)(ln->affinity != 0 ? ln->affinity : all_cpus(m));
    }
    if (d->dma) {
        p->Type = CmResourceTypeDma;
        p->ShareDisposition = CmResourceShareDeviceExclusive;
        p->Flags = CM_RESOURCE_DMA_32;
        p->u.Dma.Channel = d->dma_channel;
        p->u.Dma.Port = 0;
    }
    return l;
}

bool kdpc__pnp_resources(kdpc_machine *m, kdpc_device *dev, PCM_RESOURCE_LIST *raw,
                         PCM_RESOURCE_LIST *translated)
{
    const kdpc_device_desc *d = kdpc__dev_desc(dev);
    ULONG count = d->nports + d->nwindows + d->nlines + (d->dma ? 1u : 0u);
    *raw = *translated = NULL;
    if (count == 0)
        return true; /* no resources: both NULL (fact 1.6) */
    *raw = build(m, d, false, count);
    *translated = build(m, d, true, count);
    if (*raw == NULL || *translated == NULL) {
        free(*raw);
        free(*translated);
        *raw = *translated = NULL;
        return false;
    }
    return true;
}

bool kdpc__pnp_driver_owns_window(kdpc_machine *m, const void *driver, uint64_t phys, uint64_t len)
{
    /* A legacy driver (no AddDevice: the PnP manager never gives it resources) mapping a window
     * of a device no driver has taken through AddDevice: only the plugged-window check. */
    const DRIVER_OBJECT *dobj = driver;
    if (dobj->DriverExtension == NULL || dobj->DriverExtension->AddDevice == NULL) {
        const kdpc__devrange *w = kdpc__dev_find_window_span(m, phys, len);
        const kdpc__pnpdev *r = w != NULL ? kdpc__pnp_dev(w->dev, false) : NULL;
        if (w != NULL && (r == NULL || !r->added))
            return true;
    }
    for (kdpc_device *d = kdpc__dev_first(m); d != NULL; d = kdpc__dev_next(d)) {
        const kdpc__pnpdev *r = kdpc__pnp_dev(d, false);
        if (r == NULL || !r->added || r->stack_removed || r->pdo == NULL || r->translated == NULL)
            continue;
        bool in_stack = false;
        for (PDEVICE_OBJECT o = r->pdo->AttachedDevice; o != NULL && !in_stack;
             o = o->AttachedDevice)
            in_stack = (const void *)o->DriverObject == driver;
        if (!in_stack)
            continue;
        const CM_PARTIAL_RESOURCE_LIST *pl = &r->translated->List[0].PartialResourceList;
        for (ULONG i = 0; i < pl->Count; i++) {
            const CM_PARTIAL_RESOURCE_DESCRIPTOR *pd = &pl->PartialDescriptors[i];
            if (pd->Type != CmResourceTypeMemory)
                continue;
            uint64_t start = (uint64_t)pd->u.Memory.Start.QuadPart;
            if (phys >= start && phys - start <= pd->u.Memory.Length &&
                len <= pd->u.Memory.Length - (phys - start))
                return true;
        }
    }
    return false;
}
