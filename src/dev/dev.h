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
 * called from it, or the native API between runs). Events may run with no
 * current CPU (kdpc__self()->cpu NULL): the clock's advance hook runs them
 * when a thread that leaves its CPU finds nothing else to run.
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
    /* The DMA engine met an unmapped address: report dev.dma_unmapped (io/dma.c). A bug check
     * from simulated code does not return (the run unwinds); between runs it halts the machine
     * and returns; as a warning or off it returns. */
    void (*dma_unmapped)(kdpc_machine *m, kdpc_device *dev, uint64_t logical, size_t len,
                         bool write);
    /* A device event or kdpc_device_plug/unplug from device code wants the PnP manager (pnp):
     * start @dev, or finish a surprise removal. (Not called by the device layer: the PnP layer
     * submits its own requests from kdpc_device_plug/unplug; kept for it.) */
    void (*pnp_kick)(kdpc_machine *m, kdpc_device *dev);
    /* kdpc__dev_free meets a device whose PnP slot is still set: free it (pnp). The PnP layer
     * may instead free its slots itself at its own teardown and set them to NULL. */
    void (*free_pnp)(kdpc_machine *m, kdpc_device *dev, void *pnp);
} kdpc__dev_hooks;

/* Machine lifetime (api/machine_api.c's layers_init / teardown / reset). */
int kdpc__dev_init(kdpc_machine *m); /* 0 or ENOMEM */
void kdpc__dev_free(kdpc_machine *m);
kdpc__dev_hooks *kdpc__dev_hooks_of(kdpc_machine *m);

/* Events: the earliest pending event time (UINT64_MAX: none); @foreground_only leaves out
 * KDPC_EVENT_BACKGROUND ones. */
uint64_t kdpc__dev_next_event(kdpc_machine *m, bool foreground_only);
/* Run every event due at or before m->now_ns that was scheduled before this call, in (time,
 * scheduling order); events they schedule for a time already reached run at the next call.
 * Each event run counts as one step towards the run's step limit. */
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

/* The bits of a @width-byte access (1, 2, 4 or 8): what a read keeps, all ones on a bus that
 * nobody drives. */
static inline uint64_t kdpc__dev_width_mask(unsigned width)
{
    return width >= 8u ? UINT64_MAX : (1ull << (width * 8u)) - 1u;
}

/* Devices, in plug order (for PnP). */
kdpc_device *kdpc__dev_first(kdpc_machine *m);
kdpc_device *kdpc__dev_next(kdpc_device *d);
/* @d as one of @m's devices (a garbage pointer is compared, never followed), else NULL. */
kdpc_device *kdpc__dev_lookup(kdpc_machine *m, const void *d);
/* kdpc's copy of the description (window bases filled in). */
const kdpc_device_desc *kdpc__dev_desc(const kdpc_device *d);
/* The PnP layer's per-device state (NULL until it sets one; freed by it, or through
 * kdpc__dev_hooks.free_pnp at kdpc__dev_free). */
void **kdpc__dev_pnp_slot(kdpc_device *d);
/* KDPC_DEVICE_REMOVED also detaches the device (if not yet) and takes its ranges and lines out
 * of the machine's index: a later device may use them. The device itself stays valid (state,
 * counters, and a kdpc__devrange a caller kept) until kdpc__dev_free. */
void kdpc__dev_set_state(kdpc_device *d, kdpc_device_state s);
/* The hardware side of a removal: from now on reads return all ones, writes are dropped,
 * lines are lowered, events cancelled. */
void kdpc__dev_detach(kdpc_device *d);
bool kdpc__dev_detached(const kdpc_device *d);

/* Validate @desc and add the device (plug's hardware side; PnP is the caller's). Returns
 * KDPC_OK, KDPC_EINVAL, KDPC_EEXIST or KDPC_ENOMEM as kdpc_device_plug documents; on error
 * nothing is registered. The caller checks the thread (kdpc__dev_api_check). */
kdpc_status kdpc__dev_add(kdpc_machine *m, const kdpc_device_desc *desc, kdpc_device **out);

/* May a native device call on @m go on from the calling thread? KDPC_OK from @m's simulated code
 * (device code included) or from a host thread while no native call drives @m;
 * KDPC_EBUSY from another machine's simulated code or while a run of @m is in progress on
 * another host thread; KDPC_E_HALTED once @m is halted or dead. */
kdpc_status kdpc__dev_api_check(kdpc_machine *m);
/* True while a handler or an event callback of @m runs (kdpc_device_plug answers KDPC_EBUSY
 * from a handler). */
bool kdpc__dev_in_device_code(kdpc_machine *m);

/* ------------------------------------------------------------------ */
/* Inside src/dev only.                                                */

#include "base/ordset.h"
#include "base/ptrmap.h"

/* One line of a device: what holds it asserted (level), and the fault events pending on it. */
typedef struct kdpc__devline {
    bool own;         /* the device holds it asserted (LevelSensitive) */
    bool pulse;       /* a spurious pulse holds it asserted (LevelSensitive) */
    bool pulse_due;   /* a spurious pulse starts when the device lowers it (LevelSensitive) */
    uint64_t late_id; /* pending late interrupt (0: none) */
} kdpc__devline;

struct kdpc_device {
    kdpc_machine *m;
    kdpc_device_desc desc; /* kdpc's copy: name and driver point to the strings below */
    char *name, *driver;
    kdpc__devrange windows[KDPC_DEVICE_MAX_RANGES];
    kdpc__devrange ports[KDPC_DEVICE_MAX_RANGES];
    kdpc__devline lines[KDPC_DEVICE_MAX_LINES];
    kdpc_device_state state;
    bool detached; /* the hardware is gone (reads all ones) */
    bool indexed;  /* its ranges and lines are in the machine's index */
    void *pnp;
    kdpc_device_counters counters;
    kdpc__rng fault_rng[KDPC_FAULT_KINDS]; /* one generator per kind (fault.c) */
    unsigned permille[KDPC_FAULT_KINDS];
    uint64_t injected[KDPC_FAULT_KINDS];
    kdpc_device *next; /* plug order */
};

/* The device layer's state of one machine (m->dev). */
typedef struct kdpc__devm {
    kdpc__dev_hooks hooks;
    kdpc_device *first, *last; /* plug order */
    kdpc__ptrmap known;        /* device address -> itself */
    /* range index (range.c): indexed ranges sorted by base, windows and ports apart */
    kdpc__devrange **win, **port;
    size_t nwin, nport, capwin, capport;
    const kdpc__devrange *last_win, *last_port; /* the last hit of a lookup */
    /* lines (line.c): device lines holding each machine line asserted */
    uint16_t high[KDPC_MAX_LINES];
    /* events (event.c): by (due time, id); foreground and background apart */
    kdpc__ordset fg, bg;
    kdpc__ptrmap events; /* id + 1 -> struct kdpc__devevent */
    uint64_t event_seq;  /* ids handed out */
    bool in_event;       /* an event callback runs: delays count from event_now */
    uint64_t event_now;
    uint64_t event_trace; /* in_event: 1 + the trace sequence number of its device-event, or 0 */
    unsigned in_device;   /* > 0 while a handler or an event callback runs */
} kdpc__devm;

static inline kdpc__devm *kdpc__devm_of(const kdpc_machine *m)
{
    return (kdpc__devm *)m->dev;
}

/* range.c */
/* Check @d's ranges against each other and the index, choose the bases of windows given as 0
 * (into d->windows[].base): KDPC_OK, KDPC_EEXIST. */
kdpc_status kdpc__dev_ranges_place(kdpc_machine *m, kdpc_device *d);
/* Room for @d's ranges in the index (so that kdpc__dev_ranges_insert cannot fail). */
bool kdpc__dev_ranges_reserve(kdpc_machine *m, const kdpc_device *d);
void kdpc__dev_ranges_insert(kdpc_machine *m, kdpc_device *d);
void kdpc__dev_ranges_remove(kdpc_machine *m, kdpc_device *d);
void kdpc__dev_ranges_free(kdpc_machine *m);
/* line.c */
kdpc_status kdpc__dev_lines_check(kdpc_machine *m, const kdpc_device *d); /* KDPC_EEXIST */
void kdpc__dev_lines_lower(kdpc_device *d); /* detach: every line of @d falls */
/* event.c */
void kdpc__dev_events_cancel_all(kdpc_device *d);
void kdpc__dev_events_free(kdpc_machine *m);
/* An event kdpc itself schedules (late interrupt, spurious pulse): not counted as the
 * device's events; a background one keeps no run alive. */
kdpc_status kdpc__dev_schedule_internal(kdpc_device *d, uint64_t delay_ns, kdpc_device_event_fn *fn,
                                        void *arg, uint64_t *id);
void kdpc__dev_cancel_internal(kdpc_device *d, uint64_t id); /* no-op when it ran (or 0) */
/* fault.c */
void kdpc__dev_faults_seed(kdpc_device *d);
/* Draw for @kind at its probability (no draw when it is off); the caller counts an injection
 * in d->injected when it applies the fault. */
bool kdpc__dev_fault_roll(kdpc_device *d, kdpc_fault_kind kind);
/* A seeded number in [0, n) from @kind's generator (n <= 2^32). */
uint64_t kdpc__dev_fault_below(kdpc_device *d, kdpc_fault_kind kind, uint64_t n);

#endif /* KDPC_DEV_H */
