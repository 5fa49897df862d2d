/* SPDX-License-Identifier: MIT */
/*
 * dmaengine.c - a device's DMA engine: moves bytes between device memory
 * and host memory at DMA logical addresses.
 *
 * The engine sees host memory only through what the driver mapped for it:
 * kdpc__dev_hooks.dma_host (set by io/dma.c) answers for a range inside one
 * mapped, unflushed transfer (MapTransfer, GetScatterGatherList) or one
 * common buffer, and nothing else. Any other address is the driver's bug
 * (it programmed the device with it): kdpc__dev_hooks.dma_unmapped reports
 * rule dev.dma_unmapped. The transfer faults are drawn per transfer, both
 * kinds at every transfer; an error wins over a short transfer.
 */
#include <string.h>

#include "dev/dev.h"

static kdpc_status transfer(kdpc_device *dev, uint64_t logical, void *dev_buf, size_t len,
                            size_t *moved, bool write)
{
    if (moved != NULL)
        *moved = 0;
    if (dev == NULL || dev_buf == NULL || len == 0 || !dev->desc.dma)
        return KDPC_EINVAL;
    kdpc_machine *m = dev->m;
    kdpc_status st = kdpc__dev_api_check(m);
    if (st != KDPC_OK)
        return st;
    if (dev->detached)
        return KDPC_ENOENT;
    kdpc__devm *dm = kdpc__devm_of(m);
    void *host = NULL;
    if (dm->hooks.dma_host != NULL && logical <= UINT64_MAX - len)
        host = dm->hooks.dma_host(m, logical, len);
    if (host == NULL) {
        /* A bug check ends the run inside this call (it does not return to the device code);
         * between runs the machine halts. Switched to a warning or off: nothing moves. */
        if (dm->hooks.dma_unmapped != NULL)
            dm->hooks.dma_unmapped(m, dev, logical, len, write);
        return atomic_load(&m->halted) ? KDPC_BUGCHECK : KDPC_EIO;
    }
    bool error = kdpc__dev_fault_roll(dev, KDPC_FAULT_TRANSFER_ERROR);
    bool short_ = kdpc__dev_fault_roll(dev, KDPC_FAULT_SHORT_TRANSFER);
    if (error) {
        dev->injected[KDPC_FAULT_TRANSFER_ERROR]++;
        return KDPC_EIO;
    }
    size_t n = len;
    if (short_) {
        n = (size_t)kdpc__dev_fault_below(dev, KDPC_FAULT_SHORT_TRANSFER, len);
        dev->injected[KDPC_FAULT_SHORT_TRANSFER]++;
    }
    if (write) {
        memcpy(host, dev_buf, n);
        dev->counters.dma_bytes_written += n;
    } else {
        memcpy(dev_buf, host, n);
        dev->counters.dma_bytes_read += n;
    }
    if (moved != NULL)
        *moved = n;
    return KDPC_OK;
}

kdpc_status kdpc_device_dma_read(kdpc_device *dev, uint64_t logical, void *dst, size_t len,
                                 size_t *moved)
{
    return transfer(dev, logical, dst, len, moved, false);
}

kdpc_status kdpc_device_dma_write(kdpc_device *dev, uint64_t logical, const void *src, size_t len,
                                  size_t *moved)
{
    return transfer(dev, logical, (void *)(uintptr_t)src, len, moved, true);
}
