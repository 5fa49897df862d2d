/* SPDX-License-Identifier: MIT */
/*
 * dev.h - the device layer: virtual hardware on a machine's root bus.
 *
 * DESIGN
 * The device layer sits above the machine layer (CPUs, lines, virtual
 * time) and below the verifier, the trace and the WDM layers. It knows
 * nothing of drivers, IRPs or PnP: it keeps the plugged devices, their
 * register windows and port ranges (one ordered index each, for the HAL's
 * address lookup), their lines, their pending events in virtual time and
 * their fault injectors. The layers above call down into it:
 *  - ke/clock.c runs due events from the time and advance hooks and counts
 *    a pending foreground event as work that keeps a run alive;
 *  - src/hal looks an address up and calls the handlers;
 *  - src/pnp walks the devices, keeps its own state in dev->pnp, and asks
 *    for a removal's hardware side (kdpc__dev_detach);
 *  - the DMA engine asks the WDM layer's DMA map through a hook set by io
 *    (kdpc__dev_hooks.dma_host), since that map lives above.
 * Everything here runs on the baton holder (simulated code, device code
 * called from it, or the native API between runs).
 */
#ifndef KDPC_DEV_H
#define KDPC_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include <kdpc/device.h>
#include "sim/sim.h"

/* One register window or port range as the index holds it. */
typedef struct kdpc__devrange {
    kdpc_device *dev;
    unsigned index; /* in desc.windows / desc.ports */
    bool port;
    uint64_t base, length;
    kdpc_reg_read_fn *read;
    kdpc_reg_write_fn *write;
} kdpc__devrange;

/* Calls up, set by the layers above at machine creation (NULL: absent). */
typedef struct kdpc__dev_hooks {
    /* Host memory behind [logical, logical + len) of a mapped DMA transfer or common buffer,
     * else NULL (io/dma.c). */
    void *(*dma_host)(kdpc_machine *m, uint64_t logical, size_t len);
    /* The DMA engine met an unmapped address: record the bug check (the run ends at the next
     * interleaving point). */
    void (*dma_unmapped)(kdpc_machine *m, kdpc_device *dev, uint64_t logical, size_t len,
                         bool write);
    /* A device event or kdpc_device_plug/unplug from device code wants the PnP manager (pnp):
     * start @dev, or finish a surprise removal. */
    void (*pnp_kick)(kdpc_machine *m, kdpc_device *dev);
} kdpc__dev_hooks;

/* Machine lifetime (api/machine_api.c's layers_init / teardown / reset). */
int kdpc__dev_init(kdpc_machine *m); /* 0 or ENOMEM */
void kdpc__dev_free(kdpc_machine *m);
kdpc__dev_hooks *kdpc__dev_hooks_of(kdpc_machine *m);

/* Events: the earliest pending event time (UINT64_MAX: none); @foreground_only leaves out
 * KDPC_EVENT_BACKGROUND ones. */
uint64_t kdpc__dev_next_event(kdpc_machine *m, bool foreground_only);
/* Run every event due at or before m->now_ns, in (time, scheduling order). */
void kdpc__dev_run_events(kdpc_machine *m);

/* Address lookup for the HAL: the range holding [addr, addr + width), or NULL. */
const kdpc__devrange *kdpc__dev_find_window(kdpc_machine *m, uint64_t phys, unsigned width);
const kdpc__devrange *kdpc__dev_find_port(kdpc_machine *m, uint64_t port, unsigned width);
/* Is [phys, phys + len) inside one window of one device (for MmMapIoSpace)? */
const kdpc__devrange *kdpc__dev_find_window_span(kdpc_machine *m, uint64_t phys, uint64_t len);
/* Call the handler (a removed device reads all ones and drops writes); the value is masked to
 * width bytes. Counts the access in the device's counters. */
uint64_t kdpc__dev_read(kdpc_machine *m, const kdpc__devrange *r, uint64_t offset, unsigned width);
void kdpc__dev_write(kdpc_machine *m, const kdpc__devrange *r, uint64_t offset, unsigned width,
                     uint64_t value);

/* Devices, in plug order (for PnP). */
kdpc_device *kdpc__dev_first(kdpc_machine *m);
kdpc_device *kdpc__dev_next(kdpc_device *d);
/* @d as one of @m's devices (a garbage pointer is compared, never followed), else NULL. */
kdpc_device *kdpc__dev_lookup(kdpc_machine *m, const void *d);
/* kdpc's copy of the description (window bases filled in). */
const kdpc_device_desc *kdpc__dev_desc(const kdpc_device *d);
/* The PnP layer's per-device state (NULL until it sets one; freed by it through free_pnp). */
void **kdpc__dev_pnp_slot(kdpc_device *d);
void kdpc__dev_set_state(kdpc_device *d, kdpc_device_state s);
/* The hardware side of a removal: from now on reads return all ones, writes are dropped,
 * lines are lowered, events cancelled. */
void kdpc__dev_detach(kdpc_device *d);
bool kdpc__dev_detached(const kdpc_device *d);

/* Validate @desc and add the device (plug's hardware side; PnP is the caller's). */
kdpc_status kdpc__dev_add(kdpc_machine *m, const kdpc_device_desc *desc, kdpc_device **out);

#endif /* KDPC_DEV_H */
