/* SPDX-License-Identifier: MIT */
/*
 * vdev.h - the virtual XF-1 transformer (register map in pnpdrv.h) on
 * kdpc's device model: one 4 KiB register window, one interrupt line, a
 * bus-master DMA engine, each operation a device event op_ns of virtual
 * time after CTRL_GO. Test code (kdpc's native API), not driver code.
 */
#ifndef VDEV_H
#define VDEV_H

#include <stdbool.h>
#include <stdint.h>

#include <kdpc/device.h>

typedef struct vdev_config {
    const char *name;      /* device name ("xf0") */
    const char *driver;    /* driver name given to kdpc_driver_load ("pnpdrv") */
    unsigned line;         /* interrupt line (default 9) */
    bool latched;          /* Latched instead of LevelSensitive */
    uint8_t irql;          /* DIRQL (default 6) */
    uint64_t op_ns;        /* one operation (default 40 us) */
    uint64_t late_ns;      /* KDPC_FAULT_LATE_INTERRUPT delay (default: the model's 1 ms) */
    unsigned hang_at_op;   /* operation number (1-based) the device never finishes; 0: none */
    unsigned unplug_at_op; /* the device pulls itself off the bus (surprise) half-way through
                              this operation; 0: never */
} vdev_config;

typedef struct vdev {
    kdpc_device *dev;
    vdev_config cfg;
    /* registers */
    uint32_t ctrl, status, dma_lo, dma_hi, len, xfer, seq, key;
    /* model state */
    uint64_t op_event;
    bool op_pending;
    unsigned ops_started;
    unsigned odd_accesses; /* accesses that were not aligned 32-bit ones */
    kdpc_status unplug_status;
} vdev;

void vdev_config_init(vdev_config *c);
/* Allocate the model (host side, before the run). */
vdev *vdev_new(const vdev_config *c);
/* Plug it into @m (kdpc_device_plug). */
kdpc_status vdev_plug(vdev *v, kdpc_machine *m);
/* Free the model (after the machine is destroyed). */
void vdev_free(vdev *v);

#endif /* VDEV_H */
