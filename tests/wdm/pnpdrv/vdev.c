/* SPDX-License-Identifier: MIT */
/*
 * vdev.c - the virtual XF-1 transformer (see vdev.h and pnpdrv.h).
 *
 * CTRL_GO starts an operation: STATUS BUSY, an event op_ns later reads LEN
 * bytes from the common buffer with the DMA engine, XORs them with KEY,
 * writes them at PNPDRV_DMA_OUT, sets XFER and STATUS DONE (ERR when a
 * transfer failed) and signals its line with kdpc_device_interrupt() (so
 * the injected interrupt faults apply). The line stays up (level) until the
 * driver writes the bits to INTACK; CTRL_RESET abandons the operation.
 */
#include <stdlib.h>
#include <string.h>

#include "vdev.h"
#include "pnpdrv.h"

void vdev_config_init(vdev_config *c)
{
    memset(c, 0, sizeof *c);
    c->name = "xf0";
    c->driver = "pnpdrv";
    c->line = 9;
    c->irql = 6;
    c->op_ns = 40000;
}

static void op_done(kdpc_device *dev, void *ctx, void *arg)
{
    (void)arg;
    vdev *v = ctx;
    uint8_t in[PNPDRV_MAX_DATA], out[PNPDRV_MAX_DATA];
    size_t n = v->len > PNPDRV_MAX_DATA ? PNPDRV_MAX_DATA : v->len, got = 0, put = 0;
    uint64_t la = ((uint64_t)v->dma_hi << 32) | v->dma_lo;
    bool err = false;
    v->op_pending = false;
    kdpc_status st = kdpc_device_dma_read(dev, la, in, n, &got);
    if (st == KDPC_EIO) {
        err = true;
    } else if (st != KDPC_OK) {
        return; /* removed, or a driver bug the model reported */
    } else {
        for (size_t i = 0; i < got; i++)
            out[i] = (uint8_t)(in[i] ^ (v->key & 0xFF));
        st = kdpc_device_dma_write(dev, la + PNPDRV_DMA_OUT, out, got, &put);
        if (st == KDPC_EIO)
            err = true;
        else if (st != KDPC_OK)
            return;
    }
    v->xfer = err ? 0 : (uint32_t)put;
    v->status =
        (v->status & ~PNPDRV_STATUS_BUSY) | PNPDRV_STATUS_DONE | (err ? PNPDRV_STATUS_ERR : 0);
    v->seq++;
    if (v->ctrl & PNPDRV_CTRL_IRQ_EN)
        (void)kdpc_device_interrupt(dev, 0);
}

static void pull_out(kdpc_device *dev, void *ctx, void *arg)
{
    (void)arg;
    vdev *v = ctx;
    v->unplug_status = kdpc_device_unplug(dev, KDPC_UNPLUG_SURPRISE);
}

static uint64_t reg_read(const kdpc_reg_access *a)
{
    vdev *v = a->ctx;
    if (a->width != 4 || (a->offset & 3) != 0) {
        v->odd_accesses++;
        return 0;
    }
    switch (a->offset) {
    case PNPDRV_REG_ID:
        return PNPDRV_ID;
    case PNPDRV_REG_STATUS:
        return v->status;
    case PNPDRV_REG_DMA_LO:
        return v->dma_lo;
    case PNPDRV_REG_DMA_HI:
        return v->dma_hi;
    case PNPDRV_REG_LEN:
        return v->len;
    case PNPDRV_REG_XFER:
        return v->xfer;
    case PNPDRV_REG_SEQ:
        return v->seq;
    case PNPDRV_REG_KEY:
        return v->key;
    default:
        return 0;
    }
}

static void reg_write(const kdpc_reg_access *a)
{
    vdev *v = a->ctx;
    uint32_t val = (uint32_t)a->value;
    if (a->width != 4 || (a->offset & 3) != 0) {
        v->odd_accesses++;
        return;
    }
    switch (a->offset) {
    case PNPDRV_REG_CTRL:
        if (val & PNPDRV_CTRL_RESET) {
            if (v->op_pending)
                (void)kdpc_device_cancel(a->device, v->op_event);
            v->op_pending = false;
            v->status = 0;
            v->ctrl = 0;
            (void)kdpc_device_line_set(a->device, 0, false);
            return;
        }
        v->ctrl = val & PNPDRV_CTRL_IRQ_EN;
        if (!(val & PNPDRV_CTRL_GO) || (v->status & PNPDRV_STATUS_BUSY))
            return;
        v->status = PNPDRV_STATUS_BUSY;
        v->ops_started++;
        if (v->cfg.unplug_at_op == v->ops_started)
            (void)kdpc_device_schedule(a->device, v->cfg.op_ns / 2, pull_out, NULL, 0, NULL);
        if (v->cfg.hang_at_op == v->ops_started)
            return; /* stays BUSY until reset */
        v->op_pending = kdpc_device_schedule(a->device, v->cfg.op_ns, op_done, NULL, 0,
                                             &v->op_event) == KDPC_OK;
        return;
    case PNPDRV_REG_INTACK:
        v->status &= ~(val & (PNPDRV_STATUS_DONE | PNPDRV_STATUS_ERR));
        if (!(v->status & (PNPDRV_STATUS_DONE | PNPDRV_STATUS_ERR)))
            (void)kdpc_device_line_set(a->device, 0, false);
        return;
    case PNPDRV_REG_DMA_LO:
        v->dma_lo = val;
        return;
    case PNPDRV_REG_DMA_HI:
        v->dma_hi = val;
        return;
    case PNPDRV_REG_LEN:
        v->len = val;
        return;
    case PNPDRV_REG_KEY:
        v->key = val;
        return;
    default:
        return;
    }
}

vdev *vdev_new(const vdev_config *c)
{
    vdev *v = calloc(1, sizeof *v);
    if (v != NULL)
        v->cfg = *c;
    return v;
}

kdpc_status vdev_plug(vdev *v, kdpc_machine *m)
{
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = v->cfg.name;
    d.driver = v->cfg.driver;
    d.ctx = v;
    d.windows[0].length = PNPDRV_WINDOW;
    d.windows[0].read = reg_read;
    d.windows[0].write = reg_write;
    d.nwindows = 1;
    d.lines[0].line = v->cfg.line;
    d.lines[0].level = !v->cfg.latched;
    d.lines[0].irql = v->cfg.irql;
    d.nlines = 1;
    d.dma = true;
    if (v->cfg.late_ns != 0)
        d.late_ns = v->cfg.late_ns;
    return kdpc_device_plug(m, &d, &v->dev);
}

void vdev_free(vdev *v)
{
    free(v);
}
