/* SPDX-License-Identifier: MIT */
/*
 * kdpc/device.h - virtual hardware: devices with register windows, I/O port
 * ranges, interrupt lines, a DMA engine, events in virtual time and seeded
 * fault injection, plugged into a machine's root bus.
 *
 * A device is described by the test or the example (struct
 * kdpc_device_desc) and plugged with kdpc_device_plug(). The PnP manager
 * then finds it on the root bus: the driver named in the description gets
 * a PDO through its AddDevice routine and an IRP_MN_START_DEVICE whose
 * CM_RESOURCE_LISTs carry the windows, ports, lines and DMA channel below.
 * The driver reaches the registers with READ_/WRITE_REGISTER_* (after
 * MmMapIoSpace) and READ_/WRITE_PORT_*; each access calls the range's
 * handler.
 *
 * What device code may do: handlers and event callbacks are the device, not
 * the driver. They run on the CPU that made the access (a handler) or that
 * reached the event's time (an event), never call driver code or kernel
 * routines, and are never interleaving points of their own: they change
 * the device's state, move data with the DMA engine, raise or lower lines
 * and schedule further events. Nothing they do is checked by the verifier.
 */
#ifndef KDPC_DEVICE_H
#define KDPC_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <kdpc/export.h>
#include <kdpc/machine.h>
#include <kdpc/status.h>

KDPC_BEGIN_DECLS

typedef struct kdpc_device kdpc_device;

/** Register windows, port ranges and lines one device may have. */
#define KDPC_DEVICE_MAX_RANGES 6
#define KDPC_DEVICE_MAX_LINES  4

/**
 * struct kdpc_reg_access - one register access, as a handler sees it.
 * @machine:  the machine of the access.
 * @device:   the device that owns the range.
 * @ctx:      the description's ctx.
 * @range:    index of the window (in desc.windows) or port range (desc.ports).
 * @port:     true for an I/O port range.
 * @offset:   bytes from the start of the range.
 * @width:    1, 2, 4 or 8 bytes.
 * @value:    for a write, the value written (zero-extended).
 */
typedef struct kdpc_reg_access {
    kdpc_machine *machine;
    kdpc_device *device;
    void *ctx;
    unsigned range;
    bool port;
    uint64_t offset;
    unsigned width;
    uint64_t value;
} kdpc_reg_access;

/** Read handler: the value read (bits above @width are dropped). */
typedef uint64_t kdpc_reg_read_fn(const kdpc_reg_access *a);
/** Write handler. */
typedef void kdpc_reg_write_fn(const kdpc_reg_access *a);

/**
 * struct kdpc_range_desc - a register window (physical addresses) or an I/O
 * port range (port numbers 0..0xFFFF).
 * @base:   first physical address or port; 0 for a window lets kdpc choose
 *          one (page aligned, above 4 GiB - 256 MiB). Ports need a base.
 * @length: bytes (a window: 1..1 GiB; ports: 1..0x10000, within 0..0xFFFF).
 * @read, @write: handlers, both required.
 */
typedef struct kdpc_range_desc {
    uint64_t base;
    uint64_t length;
    kdpc_reg_read_fn *read;
    kdpc_reg_write_fn *write;
} kdpc_range_desc;

/**
 * struct kdpc_line_desc - an interrupt line of the device and what its
 * CmResourceTypeInterrupt descriptor carries.
 * @line:     the line, 0..KDPC_MAX_LINES-1 (the Vector IoConnectInterrupt gets).
 * @level:    true LevelSensitive (stays asserted until lowered), false
 *            Latched (edge: each assert is one interrupt).
 * @irql:     the DIRQL (3..12, default 5 from kdpc_device_desc_init).
 * @affinity: CPUs it may be delivered to (0: every CPU of the machine).
 * @shared:   CmResourceShareShared instead of DeviceExclusive.
 */
typedef struct kdpc_line_desc {
    unsigned line;
    bool level;
    uint8_t irql;
    uint64_t affinity;
    bool shared;
} kdpc_line_desc;

/**
 * struct kdpc_device_desc - everything a device is built from. Start from
 * kdpc_device_desc_init(). kdpc_device_plug() copies it (strings included).
 * @name:       the device's name in reports and the trace ("uart0"); required.
 * @driver:     the name given to kdpc_driver_load() of the driver whose
 *              AddDevice takes it ("serial"); NULL: no driver (a device
 *              reached only through its ranges).
 * @ctx:        passed to every handler and event.
 * @windows, @nwindows: register windows (CmResourceTypeMemory).
 * @ports, @nports:     I/O port ranges (CmResourceTypePort, CM_RESOURCE_PORT_IO).
 * @lines, @nlines:     interrupt lines (CmResourceTypeInterrupt), in order.
 * @dma:         the device has a DMA engine (a CmResourceTypeDma descriptor
 *               with @dma_channel; bus-master devices use the engine too).
 * @dma_channel: the DMA channel of that descriptor.
 * @late_ns:     how much later a KDPC_FAULT_LATE_INTERRUPT arrives (default
 *               1 ms of virtual time).
 */
typedef struct kdpc_device_desc {
    const char *name;
    const char *driver;
    void *ctx;
    kdpc_range_desc windows[KDPC_DEVICE_MAX_RANGES];
    unsigned nwindows;
    kdpc_range_desc ports[KDPC_DEVICE_MAX_RANGES];
    unsigned nports;
    kdpc_line_desc lines[KDPC_DEVICE_MAX_LINES];
    unsigned nlines;
    bool dma;
    unsigned dma_channel;
    uint64_t late_ns;
} kdpc_device_desc;

/** kdpc_device_desc_init() - zero @d and set the defaults (line irql 5, late_ns 1 ms). */
KDPC_EXPORT void kdpc_device_desc_init(kdpc_device_desc *d);

/** Where a device is in its life, as the PnP manager sees it. */
typedef enum kdpc_device_state {
    KDPC_DEVICE_PLUGGED = 0,      /**< on the bus; its driver has not started it (yet) */
    KDPC_DEVICE_STARTED,          /**< IRP_MN_START_DEVICE succeeded */
    KDPC_DEVICE_FAILED,           /**< AddDevice or IRP_MN_START_DEVICE failed */
    KDPC_DEVICE_STOPPED,          /**< IRP_MN_STOP_DEVICE (resources released) */
    KDPC_DEVICE_SURPRISE_REMOVED, /**< gone from the bus; IRP_MN_REMOVE_DEVICE not yet sent */
    KDPC_DEVICE_REMOVED           /**< gone; IRP_MN_REMOVE_DEVICE sent (or never started) */
} kdpc_device_state;

/**
 * kdpc_device_plug() - put a device described by @desc on @m's root bus.
 * When the driver @desc->driver is loaded, the PnP manager (a system thread
 * of @m) creates the PDO, calls the driver's AddDevice and sends
 * IRP_MN_START_DEVICE; a device plugged before its driver is loaded is
 * started when kdpc_driver_load() loads it.
 * Called from simulated code at PASSIVE_LEVEL, it returns once the PnP
 * manager is done with the device (started or failed: see
 * kdpc_device_state()). From a host thread between runs, the start happens
 * during the next run. From a device event, from code above PASSIVE_LEVEL
 * or from a routine the PnP manager's thread runs (a driver's PnP dispatch
 * routine), it is queued and happens later in the same run.
 * Return: KDPC_OK and *@dev; KDPC_EINVAL (NULL argument, no name, a
 * zero-length range, a window over 1 GiB or past the end of the address
 * space, a port range past 0xFFFF, a line >= KDPC_MAX_LINES or an irql
 * outside 3..12, an affinity naming no CPU of @m, a NULL handler, more
 * ranges or lines than the arrays hold); KDPC_EEXIST (a range overlaps one
 * of the same description or of a device already plugged, a line already
 * used by another device without both sides shared, one line twice in the
 * description, or the name of a device not yet removed); KDPC_ENOMEM;
 * KDPC_E_HALTED;
 * KDPC_EBUSY (called from a handler or with a run of @m in progress on
 * another host thread). On error nothing is registered.
 */
KDPC_EXPORT kdpc_status kdpc_device_plug(kdpc_machine *m, const kdpc_device_desc *desc,
                                         kdpc_device **dev);

/** How a device leaves the bus. */
typedef enum kdpc_unplug_how {
    /** IRP_MN_QUERY_REMOVE_DEVICE, then IRP_MN_REMOVE_DEVICE; a driver that
     * fails the query gets IRP_MN_CANCEL_REMOVE_DEVICE and the device stays. */
    KDPC_UNPLUG_ORDERLY = 0,
    /** The hardware is gone at once: reads return all ones, writes are
     * dropped, lines fall, pending events are cancelled. Then
     * IRP_MN_SURPRISE_REMOVAL, and IRP_MN_REMOVE_DEVICE once the last file
     * object opened on the device stack is closed. */
    KDPC_UNPLUG_SURPRISE = 1
} kdpc_unplug_how;

/**
 * kdpc_device_unplug() - take @dev off its bus. Threads and return as
 * kdpc_device_plug(); from simulated code at PASSIVE_LEVEL it returns once
 * the PnP IRPs of the removal have been sent. Afterwards @dev stays valid
 * (for its state and counters) until the machine is destroyed or reset.
 * Return: KDPC_OK; KDPC_EBUSY (an orderly removal vetoed because a file
 * object is still open on the device's stack: decided at the call, whatever
 * the thread, nothing queued; or, from simulated code at PASSIVE_LEVEL, one
 * the driver refused with its QUERY_REMOVE answer; the device stays);
 * KDPC_EINVAL (NULL, not a device, already removed); KDPC_E_HALTED.
 * From a host thread between runs (or wherever the removal is only
 * queued) the QUERY_REMOVE answer comes later: the call has returned
 * KDPC_OK, and a refused query (IRP_MN_CANCEL_REMOVE_DEVICE follows) leaves
 * the device KDPC_DEVICE_STARTED; check kdpc_device_get_state() after the
 * run.
 */
KDPC_EXPORT kdpc_status kdpc_device_unplug(kdpc_device *dev, kdpc_unplug_how how);

/** The device's PnP state; KDPC_DEVICE_REMOVED for NULL. */
KDPC_EXPORT kdpc_device_state kdpc_device_get_state(const kdpc_device *dev);

/** The machine @dev is plugged into; NULL for NULL. */
KDPC_EXPORT kdpc_machine *kdpc_device_machine(const kdpc_device *dev);

/** The description's ctx; NULL for NULL. */
KDPC_EXPORT void *kdpc_device_ctx(const kdpc_device *dev);

/** The description's name (kdpc's copy); "" for NULL. */
KDPC_EXPORT const char *kdpc_device_name(const kdpc_device *dev);

/**
 * kdpc_device_window_base() - the physical base of window @index (chosen by
 * kdpc when the description said 0); 0 when out of range.
 */
KDPC_EXPORT uint64_t kdpc_device_window_base(const kdpc_device *dev, unsigned index);

/**
 * kdpc_device_line_set() - raise (@asserted true) or lower line @index of
 * the description. For a LevelSensitive line this is the device's interrupt
 * output; for a Latched line raising it latches one interrupt. No fault is
 * injected here (see kdpc_device_interrupt()).
 * Thread: device code (handlers, events), or a host thread between runs.
 * Return: KDPC_OK; KDPC_EINVAL (NULL, @index out of range); KDPC_ENOENT
 * (the device is removed: nothing happens); KDPC_E_HALTED; KDPC_EBUSY (a
 * host thread while a run of the machine is in progress on another one).
 */
KDPC_EXPORT kdpc_status kdpc_device_line_set(kdpc_device *dev, unsigned index, bool asserted);

/**
 * kdpc_device_interrupt() - the device signals "work done" on line @index:
 * as kdpc_device_line_set(@dev, @index, true), with the interrupt faults
 * applied: KDPC_FAULT_LOST_INTERRUPT drops it, KDPC_FAULT_LATE_INTERRUPT
 * raises the line desc.late_ns later instead (cancelled if the device lowers
 * the line first). Return: as kdpc_device_line_set().
 */
KDPC_EXPORT kdpc_status kdpc_device_interrupt(kdpc_device *dev, unsigned index);

/** Device event callback: runs at the virtual time it was scheduled for. */
typedef void kdpc_device_event_fn(kdpc_device *dev, void *ctx, void *arg);

/** kdpc_device_schedule() flags. */
#define KDPC_EVENT_BACKGROUND                                                                      \
    1u /**< does not keep kdpc_machine_run() going (like a periodic timer) */

/**
 * kdpc_device_schedule() - call @fn(@dev, ctx, @arg) @delay_ns of virtual
 * time from now, at the first interleaving point at or after that time on
 * any CPU (or when an idle machine's time jumps there). Events due at the
 * same time run in the order they were scheduled. From inside an event
 * callback, "now" is that event's own time (so a periodic device keeps an
 * exact period). A pending event keeps kdpc_machine_run() from returning
 * unless scheduled with KDPC_EVENT_BACKGROUND. Each event run counts as one
 * interleaving point towards cfg.run_step_limit.
 * @id: receives an id for kdpc_device_cancel() (may be NULL).
 * Thread: device code, or a host thread between runs.
 * Return: KDPC_OK; KDPC_EINVAL (NULL @dev or @fn, unknown flags);
 * KDPC_ENOENT (the device is removed); KDPC_ENOMEM; KDPC_E_HALTED;
 * KDPC_EBUSY (as kdpc_device_line_set()).
 */
KDPC_EXPORT kdpc_status kdpc_device_schedule(kdpc_device *dev, uint64_t delay_ns,
                                             kdpc_device_event_fn *fn, void *arg, unsigned flags,
                                             uint64_t *id);

/**
 * kdpc_device_cancel() - cancel a pending event.
 * Thread: as kdpc_device_schedule().
 * Return: KDPC_OK; KDPC_ENOENT (it ran already, was cancelled, or is not
 * @dev's); KDPC_EINVAL (NULL); KDPC_EBUSY and KDPC_E_HALTED as
 * kdpc_device_schedule() (nothing changes).
 */
KDPC_EXPORT kdpc_status kdpc_device_cancel(kdpc_device *dev, uint64_t id);

/**
 * kdpc_device_dma_read() - the DMA engine reads @len bytes at DMA logical
 * address @logical (from MapTransfer, GetScatterGatherList or a common
 * buffer) into @dst (device memory). kdpc_device_dma_write() moves @src to
 * @logical. The whole range must lie in one mapped transfer or common
 * buffer: an address the driver did not map is the driver's bug (it
 * programmed the device with it): bug check dev.dma_unmapped.
 * Injected faults: KDPC_FAULT_TRANSFER_ERROR moves nothing and returns
 * KDPC_EIO; KDPC_FAULT_SHORT_TRANSFER moves a seeded part (*@moved < @len).
 * @moved: receives the bytes moved (may be NULL).
 * Thread: device code. Return: KDPC_OK; KDPC_EIO (injected error, or an
 * unmapped address with dev.dma_unmapped switched to a warning or off:
 * nothing moves); KDPC_EINVAL (NULL, no DMA engine in the description,
 * @len 0); KDPC_ENOENT (device removed); KDPC_BUGCHECK (unmapped, called
 * between runs: the machine halts). From simulated code, the bug check of
 * an unmapped address ends the run inside the call: it does not return to
 * the device code.
 */
KDPC_EXPORT kdpc_status kdpc_device_dma_read(kdpc_device *dev, uint64_t logical, void *dst,
                                             size_t len, size_t *moved);
KDPC_EXPORT kdpc_status kdpc_device_dma_write(kdpc_device *dev, uint64_t logical, const void *src,
                                              size_t len, size_t *moved);

/** Kinds of injected faults. */
typedef enum kdpc_fault_kind {
    KDPC_FAULT_TRANSFER_ERROR = 0, /**< a DMA transfer fails (kdpc_device_dma_*: KDPC_EIO) */
    KDPC_FAULT_LOST_INTERRUPT,     /**< kdpc_device_interrupt() raises nothing */
    KDPC_FAULT_SPURIOUS_INTERRUPT, /**< an extra interrupt with no cause: after a
                                        kdpc_device_interrupt(), a Latched line may fire once
                                        more (1 us later), a LevelSensitive line may pulse
                                        (raised, lowered 1 us later) once the device has lowered
                                        it, or at once when it is not up */
    KDPC_FAULT_LATE_INTERRUPT,     /**< kdpc_device_interrupt() raises the line late_ns later */
    KDPC_FAULT_SHORT_TRANSFER,     /**< a DMA transfer moves only part of the bytes */
    KDPC_FAULT_KINDS
} kdpc_fault_kind;

/**
 * kdpc_device_set_fault() - inject fault @kind with probability
 * @permille/1000 per chance (per DMA transfer, per kdpc_device_interrupt()).
 * 0 switches it off (the default). The draws come from a generator seeded
 * with the machine's seed and the device's name: the same seed and the same
 * calls give the same faults.
 * Thread: any code of @dev's machine, or a host thread between runs.
 * Return: KDPC_OK; KDPC_EINVAL (NULL, unknown kind, @permille > 1000);
 * KDPC_EBUSY (a host thread while a run of the machine is in progress, or
 * another machine's code); KDPC_E_HALTED (the machine halted). Nothing
 * changes on an error.
 */
KDPC_EXPORT kdpc_status kdpc_device_set_fault(kdpc_device *dev, kdpc_fault_kind kind,
                                              unsigned permille);

/**
 * kdpc_device_fault_now() - for device logic with faults of its own making
 * (a parity error, a CRC error): draw once for @kind at its set
 * probability. Thread: as kdpc_device_set_fault(). Return: true when the
 * fault happens now; false also for NULL, an unknown kind, or a call
 * kdpc_device_set_fault() would refuse.
 */
KDPC_EXPORT bool kdpc_device_fault_now(kdpc_device *dev, kdpc_fault_kind kind);

/** kdpc_device_faults_injected() - how many faults of @kind were injected so far. */
KDPC_EXPORT uint64_t kdpc_device_faults_injected(const kdpc_device *dev, kdpc_fault_kind kind);

/**
 * struct kdpc_device_counters - what happened to a device, for tests and
 * reports. Accesses are counted by the HAL, the rest by the device layer.
 */
typedef struct kdpc_device_counters {
    uint64_t reads, writes;  /**< register and port accesses by driver code */
    uint64_t interrupts;     /**< lines raised (kdpc_device_line_set/interrupt) */
    uint64_t events;         /**< events run */
    uint64_t dma_bytes_read; /**< moved from host memory by the DMA engine */
    uint64_t dma_bytes_written;
} kdpc_device_counters;

/** kdpc_device_get_counters() - copy @dev's counters into @out. Return: KDPC_OK, KDPC_EINVAL. */
KDPC_EXPORT kdpc_status kdpc_device_get_counters(const kdpc_device *dev, kdpc_device_counters *out);

KDPC_END_DECLS

#endif /* KDPC_DEVICE_H */
