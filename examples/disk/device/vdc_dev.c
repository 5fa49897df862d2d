/* SPDX-License-Identifier: MIT */
/*
 * vdc_dev.c - the virtual VDC-2 (see driver/vdc.h for the registers).
 *
 * Time is modelled lazily: a command is one device event, VDC_COMMAND_NS plus
 * VDC_NS_PER_KIB per KiB after it is written; the DMA engine moves the whole
 * transfer (one memcpy between the media and the mapped host range) at that
 * event, then the controller sets DONE and interrupts. A transfer error moves
 * nothing (DONE|ERR, VDC_ERR_DMA); a short transfer moves a part (DONE|ERR,
 * VDC_ERR_SHORT, XFERRED tells how much: a write leaves that part on the
 * media). The interrupt line is level-triggered: up while DONE or ERR is set
 * and CONTROL.IE is on; kdpc_device_interrupt applies the interrupt faults
 * (lost, late, spurious).
 */
#include <stdlib.h>
#include <string.h>

#include "device/vdc_dev.h"

static bool vdc_pending(const vdc_dev *d)
{
    return (d->status & (VDC_ST_DONE | VDC_ST_ERR)) != 0 && (d->control & VDC_CTL_IE) != 0;
}

static void vdc_complete(kdpc_device *dev, void *ctx, void *arg)
{
    (void)arg;
    vdc_dev *d = ctx;
    size_t len = (size_t)d->cmd_count * VDC_SECTOR, moved = 0;
    uint8_t *media = d->image[d->cmd_unit] + d->cmd_sector * VDC_SECTOR;
    kdpc_status st = d->cmd == VDC_CMD_READ
                         ? kdpc_device_dma_write(dev, d->cmd_addr, media, len, &moved)
                         : kdpc_device_dma_read(dev, d->cmd_addr, media, len, &moved);
    d->busy = false;
    d->event = 0;
    d->xferred = (uint32_t)moved;
    if (st != KDPC_OK) {
        d->status = VDC_ST_DONE | VDC_ST_ERR | (VDC_ERR_DMA << 8);
        d->errors++;
    } else if (moved < len) {
        d->status = VDC_ST_DONE | VDC_ST_ERR | (VDC_ERR_SHORT << 8);
        d->errors++;
    } else {
        d->status = VDC_ST_DONE;
    }
    if (vdc_pending(d))
        (void)kdpc_device_interrupt(dev, 0);
}

/* A command that cannot start: it fails after the command time, moving nothing. */
static void vdc_reject(kdpc_device *dev, void *ctx, void *arg)
{
    (void)arg;
    vdc_dev *d = ctx;
    d->busy = false;
    d->event = 0;
    d->xferred = 0;
    d->status = VDC_ST_DONE | VDC_ST_ERR | (VDC_ERR_RANGE << 8);
    d->errors++;
    if (vdc_pending(d))
        (void)kdpc_device_interrupt(dev, 0);
}

static void vdc_command(vdc_dev *d, kdpc_device *dev, uint32_t cmd)
{
    if (cmd == VDC_CMD_ABORT) {
        d->aborts++;
        if (d->busy)
            (void)kdpc_device_cancel(dev, d->event);
        d->busy = false;
        d->event = 0;
        d->status = 0;
        d->xferred = 0;
        (void)kdpc_device_line_set(dev, 0, false);
        return;
    }
    if (d->busy || (cmd != VDC_CMD_READ && cmd != VDC_CMD_WRITE))
        return; /* ignored, as the datasheet says */
    d->commands++;
    d->busy = true;
    d->status = 0; /* DONE and ERR clear: the line falls, as when they are acknowledged */
    (void)kdpc_device_line_set(dev, 0, false);
    d->cmd = cmd;
    d->cmd_unit = d->unit;
    d->cmd_count = d->count;
    d->cmd_sector = ((uint64_t)d->sector_hi << 32) | d->sector_lo;
    d->cmd_addr = ((uint64_t)d->addr_hi << 32) | d->addr_lo;
    bool ok = d->cmd_unit < VDC_UNITS && d->cmd_count > 0 && d->cmd_count <= VDC_MAX_SECTORS &&
              d->cmd_sector <= d->sectors[d->cmd_unit] &&
              d->cmd_count <= d->sectors[d->cmd_unit] - d->cmd_sector;
    uint64_t ns = VDC_COMMAND_NS;
    if (ok)
        ns += (uint64_t)d->cmd_count * VDC_SECTOR * VDC_NS_PER_KIB / 1024u; /* 1 us a sector */
    if (kdpc_device_schedule(dev, ns, ok ? vdc_complete : vdc_reject, NULL, 0, &d->event) !=
        KDPC_OK)
        d->busy = false;
}

static uint64_t vdc_read(const kdpc_reg_access *a)
{
    vdc_dev *d = a->ctx;
    if (a->width != 4) {
        d->bad_accesses++;
        return 0;
    }
    switch (a->offset) {
    case VDC_REG_STATUS:
        return d->status | (d->busy ? VDC_ST_BUSY : 0u);
    case VDC_REG_XFERRED:
        return d->xferred;
    case VDC_REG_CAPACITY:
        return d->unit < VDC_UNITS ? d->sectors[d->unit] : 0;
    default:
        return 0; /* the write-only registers read as 0 */
    }
}

static void vdc_write(const kdpc_reg_access *a)
{
    vdc_dev *d = a->ctx;
    uint32_t v = (uint32_t)a->value;
    if (a->width != 4) {
        d->bad_accesses++;
        return;
    }
    switch (a->offset) {
    case VDC_REG_STATUS:
        d->status &= ~(v & (VDC_ST_DONE | VDC_ST_ERR));
        if ((d->status & (VDC_ST_DONE | VDC_ST_ERR)) == 0) {
            d->status = 0;
            (void)kdpc_device_line_set(a->device, 0, false);
        }
        break;
    case VDC_REG_COMMAND:
        vdc_command(d, a->device, v);
        break;
    case VDC_REG_UNIT:
        d->unit = v;
        break;
    case VDC_REG_SECTOR_LO:
        d->sector_lo = v;
        break;
    case VDC_REG_SECTOR_HI:
        d->sector_hi = v;
        break;
    case VDC_REG_COUNT:
        d->count = v;
        break;
    case VDC_REG_ADDR_LO:
        d->addr_lo = v;
        break;
    case VDC_REG_ADDR_HI:
        d->addr_hi = v;
        break;
    case VDC_REG_CONTROL:
        d->control = v;
        (void)kdpc_device_line_set(a->device, 0, vdc_pending(d));
        break;
    default:
        d->bad_accesses++;
        break;
    }
}

bool vdc_init(vdc_dev *d, uint64_t sectors)
{
    memset(d, 0, sizeof *d);
    for (unsigned u = 0; u < VDC_UNITS; u++) {
        d->sectors[u] = sectors;
        d->image[u] = calloc((size_t)sectors, VDC_SECTOR);
        if (d->image[u] == NULL) {
            vdc_free(d);
            return false;
        }
    }
    return true;
}

void vdc_free(vdc_dev *d)
{
    for (unsigned u = 0; u < VDC_UNITS; u++) {
        free(d->image[u]);
        d->image[u] = NULL;
    }
}

void vdc_describe(vdc_dev *d, kdpc_device_desc *desc, const char *name, const char *driver,
                  unsigned line)
{
    desc->name = name;
    desc->driver = driver;
    desc->ctx = d;
    desc->windows[0] = (kdpc_range_desc){0, VDC_WINDOW, vdc_read, vdc_write};
    desc->nwindows = 1;
    desc->lines[0].line = line;
    desc->lines[0].level = true;
    desc->nlines = 1;
    desc->dma = true; /* bus master */
}
