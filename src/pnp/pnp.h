/* SPDX-License-Identifier: MIT */
/*
 * pnp.h - the PnP manager of a machine: root bus, device stacks of the
 * virtual devices, PnP and power IRPs, remove locks, device interfaces.
 *
 * DESIGN
 * One system thread per machine (manager.c) serves a FIFO of requests
 * (start a device, remove it orderly or by surprise, finish a surprise
 * removal, rebalance, change the system power state). A request from
 * simulated code at PASSIVE_LEVEL waits for its answer on an event; one
 * from a device event, a raised IRQL or a host thread between runs is
 * queued and answered by nobody. The thread blocks as a daemon when the
 * queue is empty, so it keeps no run alive.
 *
 * The root bus driver ("\Driver\PnpManager", rootbus.c) is loaded by that
 * thread on first use; it owns one PDO per device that reached a driver
 * (no extension: what it keeps is in the device's PnP record). Its dispatch routines
 * complete what reaches the PDO (the bus driver's part of each PnP and
 * power IRP). The per-device PnP record sits in the device layer's slot
 * (kdpc__dev_pnp_slot); the per-machine state in kdpc__io.pnp.
 *
 *   plugged --START ok--> started --QUERY_REMOVE ok, REMOVE--> removed
 *      |        \--AddDevice/START fails (REMOVE sent)--> failed
 *      |                started --SURPRISE_REMOVAL--> surprise removed
 *      |                           --last file closed, REMOVE--> removed
 *      \--unplugged before a driver took it--> removed
 */
#ifndef KDPC_PNP_H
#define KDPC_PNP_H

#include "dev/dev.h"
#include "io/io.h"

typedef enum kdpc__pnpreq_kind {
    KDPC_PNPREQ_START,
    KDPC_PNPREQ_UNPLUG,
    KDPC_PNPREQ_FINISH_SURPRISE,
    KDPC_PNPREQ_REBALANCE,
    KDPC_PNPREQ_SYSTEM_POWER,
    KDPC_PNPREQ_DRIVER_GONE /* remove the stacks @driver has devices in (kdpc_driver_unload) */
} kdpc__pnpreq_kind;

typedef struct kdpc__pnpreq {
    kdpc__pnpreq_kind kind;
    kdpc_device *dev;
    kdpc_unplug_how how;
    SYSTEM_POWER_STATE sstate;
    PDRIVER_OBJECT driver;
    bool async;  /* never wait, even from PASSIVE_LEVEL (a call from inside the I/O path) */
    bool waited; /* a thread waits on @done (else the thread frees the request) */
    KEVENT done;
    kdpc_status result;
    NTSTATUS nt;
    struct kdpc__pnpreq *next;
} kdpc__pnpreq;

/* What the bus driver keeps for its PDO. Divergence: kept here, not in the PDO's extension (the
 * PDO has none), so that kdpc's own bookkeeping is never watched device-extension memory. */
typedef struct kdpc__pdoext {
    kdpc_device *dev;
    DEVICE_POWER_STATE dstate;
} kdpc__pdoext;

/* Per device (in the device layer's PnP slot). */
typedef struct kdpc__pnpdev {
    kdpc_device *dev;
    PDEVICE_OBJECT pdo;
    kdpc__pdoext x;
    PCM_RESOURCE_LIST raw, translated;
    bool added;          /* AddDevice succeeded */
    bool started;        /* START succeeded, no STOP / REMOVE since */
    bool stack_removed;  /* IRP_MN_REMOVE_DEVICE sent */
    bool remove_pending; /* surprise removed: REMOVE waits for the last close */
} kdpc__pnpdev;

typedef struct kdpc__pnp {
    kdpc__pnpreq *head, *tail;
    struct _KTHREAD *thread;
    bool idle; /* the thread blocks waiting for requests */
    PDRIVER_OBJECT root;
    unsigned pdo_seq;
    SYSTEM_POWER_STATE sstate;
    kdpc__ptrmap dpower;        /* device object -> DEVICE_POWER_STATE set by PoSetPowerState */
    kdpc__ptrmap locks;         /* remove lock address -> struct kdpc__rlock (removelock.c) */
    struct kdpc__iface *ifaces; /* registered device interfaces (interface.c) */
} kdpc__pnp;

/* manager.c */
int kdpc__pnp_init(kdpc_machine *m); /* sets io's PnP hooks (kdpc__io_pnp_hooks); 0 */
kdpc__pnp *kdpc__pnp_of(kdpc_machine *m, bool create); /* NULL: none yet / no memory */
void kdpc__pnp_free(kdpc_machine *m);                  /* io's free hook */
kdpc__pnpdev *kdpc__pnp_dev(kdpc_device *d, bool create);
/* Queue @r; from simulated code at PASSIVE_LEVEL (not the PnP thread itself) wait for it and
 * return its result, else return KDPC_OK at once (@r is copied to the heap). */
kdpc_status kdpc__pnp_submit(kdpc_machine *m, const kdpc__pnpreq *r, NTSTATUS *nt);
bool kdpc__pnp_on_manager(kdpc_machine *m); /* the caller is the PnP manager's thread */
/* Send a PnP or power IRP down @pdo's stack from the PnP thread and wait for it: the final
 * status (*info: IoStatus.Information). @fill sets the stack location's Parameters. */
NTSTATUS kdpc__pnp_send(kdpc_machine *m, PDEVICE_OBJECT pdo, UCHAR major, UCHAR minor,
                        void (*fill)(PIO_STACK_LOCATION s, void *arg), void *arg);
/* From kdpc_driver_load: start the plugged devices that name @driver. */
void kdpc__pnp_driver_loaded(kdpc_machine *m, PDRIVER_OBJECT driver, const char *name);
/* The last file object open on @dev's stack was closed (io/file.c, through io's hook): a
 * surprise-removed device gets IRP_MN_REMOVE_DEVICE now. */
void kdpc__pnp_last_close(kdpc_machine *m, PDEVICE_OBJECT dev);
/* kdpc_driver_unload(@driver) (io's hook): send IRP_MN_REMOVE_DEVICE to every stack @driver has
 * a device in and wait; STATUS_INVALID_DEVICE_REQUEST (nothing sent) when a file object is open
 * on one of them or the caller cannot wait. */
NTSTATUS kdpc__pnp_driver_unloading(kdpc_machine *m, PDRIVER_OBJECT driver);

/* rootbus.c */
NTSTATUS kdpc__pnp_root_load(kdpc_machine *m, kdpc__pnp *p);
NTSTATUS kdpc__pnp_pdo_create(kdpc_machine *m, kdpc__pnp *p, kdpc__pnpdev *r); /* sets r->pdo */
kdpc__pdoext *kdpc__pnp_pdoext(kdpc_machine *m, PDEVICE_OBJECT pdo);           /* NULL: not a PDO */
PDEVICE_OBJECT kdpc__pnp_top(PDEVICE_OBJECT pdo);

/* resources.c: the raw and translated lists of @d (NULL each when it has no resources);
 * false: no memory. */
bool kdpc__pnp_resources(kdpc_machine *m, kdpc_device *d, PCM_RESOURCE_LIST *raw,
                         PCM_RESOURCE_LIST *translated);
/* ke's driver_owns_window hook: @driver has a device object in the stack of a device whose
 * translated resources (START_DEVICE sent or being sent) hold [phys, phys + len) as one
 * CmResourceTypeMemory range. */
bool kdpc__pnp_driver_owns_window(kdpc_machine *m, const void *driver, uint64_t phys, uint64_t len);

/* power.c */
DEVICE_POWER_STATE kdpc__pnp_dpower(kdpc_machine *m, PDEVICE_OBJECT dev);
NTSTATUS kdpc__pnp_system_power(kdpc_machine *m, kdpc__pnp *p, SYSTEM_POWER_STATE s);
/* pnp.must_not_fail for IRP_MN_SET_POWER (@irp, sent to @dev, came back with @st; @fn the top
 * driver's dispatch routine or NULL): 0xC9/0x247. */
void kdpc__pnp_power_failed(kdpc_machine *m, PIRP irp, PDEVICE_OBJECT dev, NTSTATUS st,
                            PDRIVER_DISPATCH fn);
/* power.pagable_not_inherited (0xC9/0x23F) for the device objects of @drv above @pdo, after
 * its AddDevice @add returned. */
void kdpc__pnp_check_pagable(kdpc_machine *m, PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo,
                             PDRIVER_ADD_DEVICE add);

/* removelock.c */
void kdpc__pnp_locks_free(kdpc__pnp *p);
/* The remove locks kdpc tracks inside [@lo, @lo + @bytes) go (io's forget_range hook). */
void kdpc__pnp_forget_removelocks(kdpc_machine *m, const void *lo, size_t bytes);
/* IoDeleteDevice(@dev) will free its extension [@ext, @ext + @bytes) (io's device_deleting
 * hook): removelock.delete_unwaited for a lock in it that was used and never waited on while
 * IRP_MN_REMOVE_DEVICE is outstanding. */
void kdpc__pnp_removelocks_deleting(kdpc_machine *m, PDEVICE_OBJECT dev, const void *ext,
                                    size_t bytes);
/* Dispatch routine @fn of @dev returns with its IRP @irp completed (io's dispatch_done hook):
 * removelock.held_on_return for a remove lock in @dev's extension still held with tag @irp by
 * an acquisition made for this request (the dispatch frame's IRP serial), not an earlier one. */
void kdpc__pnp_removelocks_dispatch_done(kdpc_machine *m, PDEVICE_OBJECT dev, PIRP irp,
                                         PDRIVER_DISPATCH fn);
/* IoCallDriver(@dev, @irp) (io's forwarding hook): removelock.forward_unheld when the dispatch
 * routine running sends its own IRP on while no acquisition of its device's remove lock is held. */
void kdpc__pnp_removelocks_forwarding(kdpc_machine *m, PIRP irp, PDEVICE_OBJECT dev);
/* interface.c */
void kdpc__pnp_ifaces_free(kdpc__pnp *p);
/* The PnP manager removes @pdo's device: disable its enabled interfaces (@forget: the PDO goes,
 * drop its registrations too). */
void kdpc__pnp_ifaces_disable(kdpc_machine *m, PDEVICE_OBJECT pdo, bool forget);

/* stackcheck.c (area pnp): after @add (of @drv) returned for @pdo: pnp.adddevice_initializing,
 * dev.attach_flags on the device objects of @drv in the stack. */
void kdpc__pnp_check_added(kdpc_machine *m, PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo,
                           PDRIVER_ADD_DEVICE add);
/* The device objects above @pdo, bottom up (at most @cap). */
size_t kdpc__pnp_stack_above(PDEVICE_OBJECT pdo, PDEVICE_OBJECT *out, size_t cap);
/* IRP_MN_REMOVE_DEVICE (@irp) came back: pnp.remove_not_deleted for each of the @n device
 * objects @was (the stack above the PDO before it) still alive. */
void kdpc__pnp_check_removed(kdpc_machine *m, PIRP irp, PDEVICE_OBJECT *was, size_t n);
/* pnp.not_pdo (0xC9/0x24D): @routine, which needs a PDO, got @dev. Returns as a warning or
 * off. */
void kdpc__pnp_not_pdo(kdpc_machine *m, const char *routine, PDEVICE_OBJECT dev, uintptr_t caller);

#endif /* KDPC_PNP_H */
