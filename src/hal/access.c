/* SPDX-License-Identifier: MIT */
/*
 * access.c - one register or port access: find the device range, check the
 * access, call the handler, trace it and feed sync.isr_unsynchronized.
 *
 * The callers (register.c, port.c) make the interleaving point first, so an
 * interrupt, a DPC on another CPU or a device event may come between two
 * accesses, as on real hardware; the access itself is not a point (a handler
 * never is one either). A refused access (hal.bad_address as a warning or
 * off) reads all ones and writes nothing, as a bus does when no device
 * answers.
 */
#include <inttypes.h>
#include <string.h>

#include "hal/hal.h"

kdpc_machine *kdpc__hal_enter(const char *what)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(what, &c);
    if (m == NULL)
        return NULL;
    kdpc__ke_point(m);
    return m;
}

/* Handler call, trace event and the sync rule of one access that has a range. */
static uint64_t touch(kdpc_machine *m, const kdpc__devrange *r, uint64_t offset, unsigned width,
                      bool write, uint64_t value, uintptr_t ip)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    if (kdpc__rule_on(m, KDPC_R_SYNC_ISR_UNSYNC))
        kdpc__hal_regsync(m, c, r, offset, write, ip);
    if (write)
        kdpc__dev_write(m, r, offset, width, value);
    else
        value = kdpc__dev_read(m, r, offset, width);
    if (m->trace != NULL) {
        unsigned kind = r->port ? (write ? KDPC_EV_PORT_WRITE : KDPC_EV_PORT_READ)
                                : (write ? KDPC_EV_REG_WRITE : KDPC_EV_REG_READ);
        kdpc__trace2(m, kind, c, (const void *)(uintptr_t)(r->base + offset), c->routine, value,
                     width); /* arg2: the access width in bytes */
    }
    return value;
}

uint64_t kdpc__hal_reg_access(kdpc_machine *m, uintptr_t va, unsigned width, bool write,
                              uint64_t value, const char *what, uintptr_t ip)
{
    kdpc__hal *h = kdpc__hal_of(m);
    const kdpc__iomap *mp = h != NULL ? kdpc__hal_find(h, va) : NULL;
    if (mp == NULL || !mp->live || mp->len - (va - mp->va) < width) {
        kdpc__hal_bad_access(m, va, write, false, false, ip, what,
                             mp == NULL  ? "no MmMapIoSpace mapping holds this address"
                             : !mp->live ? "its mapping was undone by MmUnmapIoSpace"
                                         : "the access runs past the end of its mapping");
        return kdpc__dev_width_mask(width);
    }
    if (write && !mp->writable) {
        kdpc__hal_bad_access(m, va, true, false, true, ip, what,
                             "MmMapIoSpaceEx mapped it without write access");
        return 0;
    }
    return touch(m, mp->range, mp->range_off + (va - mp->va), width, write, value, ip);
}

uint64_t kdpc__hal_port_access(kdpc_machine *m, uint64_t port, unsigned width, bool write,
                               uint64_t value, const char *what, uintptr_t ip)
{
    const kdpc__devrange *r = m->dev != NULL ? kdpc__dev_find_port(m, port, width) : NULL;
    if (r == NULL) {
        kdpc__hal_bad_access(m, port, write, true, false, ip, what,
                             "no plugged device owns this I/O port");
        return kdpc__dev_width_mask(width);
    }
    return touch(m, r, port - r->base, width, write, value, ip);
}

void kdpc__hal_io_buffer(const char *what, bool port, uintptr_t addr, void *buf, ULONG count,
                         unsigned width, bool write, uintptr_t ip)
{
    kdpc_machine *m = kdpc__hal_enter(what);
    if (m == NULL || count == 0)
        return;
    unsigned char *b = buf;
    uintptr_t step = port ? 0u : width; /* a port form repeats its port; a register form walks */
    for (ULONG i = 0; i < count; i++, b += width, addr += step) {
        uint64_t v = 0;
        if (write)
            memcpy(&v, b, width); /* little endian: the low bytes */
        v = port ? kdpc__hal_port_access(m, addr, width, write, v, what, ip)
                 : kdpc__hal_reg_access(m, addr, width, write, v, what, ip);
        if (!write)
            memcpy(b, &v, width);
    }
}
