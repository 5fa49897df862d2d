/* SPDX-License-Identifier: MIT */
/*
 * vdc_dev.h - the virtual VDC-2 disk controller (driver/vdc.h) on kdpc's
 * device API: two units whose media are host memory (the backing images the
 * workload checks), one register window, one level-triggered interrupt line,
 * a bus-master DMA engine.
 */
#ifndef VDC_DEV_H
#define VDC_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include <kdpc/device.h>

#include "driver/vdc.h"

typedef struct vdc_dev {
    kdpc_device *dev;
    uint8_t *image[VDC_UNITS]; /* the media: sectors[u] * VDC_SECTOR bytes each */
    uint64_t sectors[VDC_UNITS];
    /* registers */
    uint32_t status, unit, sector_lo, sector_hi, count, addr_lo, addr_hi, xferred, control;
    /* the command in progress */
    bool busy;
    uint64_t event; /* its completion event */
    uint32_t cmd, cmd_unit, cmd_count;
    uint64_t cmd_sector, cmd_addr;
    /* what happened */
    uint64_t commands, aborts, errors, bad_accesses;
} vdc_dev;

/* Zero @d and allocate two units of @sectors sectors each (zeroed media). False: no memory. */
bool vdc_init(vdc_dev *d, uint64_t sectors);
void vdc_free(vdc_dev *d);
/* Fill @desc (already kdpc_device_desc_init'ed) for @d: one window, line @line (level), DMA. */
void vdc_describe(vdc_dev *d, kdpc_device_desc *desc, const char *name, const char *driver,
                  unsigned line);

#endif /* VDC_DEV_H */
