/* SPDX-License-Identifier: MIT */
/*
 * hal.h - the HAL layer: I/O space mappings (iospace.c), register and port
 * accesses (register.c, port.c, access.c), bad accesses (badaccess.c) and
 * sync.isr_unsynchronized per register (regsync.c).
 *
 * DESIGN
 * The HAL sits beside ke/io on top of the device layer: it turns a driver's
 * virtual address (from MmMapIoSpace) or port number into a device range
 * and an offset, and calls the range's handler through kdpc__dev_read /
 * kdpc__dev_write. A mapping owns a few host pages reserved without access,
 * so that a direct dereference faults into a report; their address is only
 * ever compared. Mappings are kept sorted by address, with the last hit
 * cached: a lookup is one compare on the hot path and a binary search on a
 * miss. An unmapped mapping stays (pages reserved, marked dead) so that a
 * later access or unmap is named as such; the oldest dead ones are released
 * beyond KDPC_HAL_DEAD_KEEP.
 *
 * Lock legend: B baton holder only (every field here).
 */
#ifndef KDPC_HAL_H
#define KDPC_HAL_H

#include <stdbool.h>
#include <stdint.h>

#include <kdpc/wdm.h>
#include "base/pairmap.h"
#include "base/ptrmap.h"
#include "dev/dev.h"
#include "ke/ke.h"

#define KDPC_HAL_DEAD_KEEP 256u /* unmapped mappings remembered for their reports */

typedef struct kdpc__iomap {
    void *pages;       /* host pages reserved for it (no access) */
    size_t pages_size; /* bytes */
    uintptr_t va;      /* what MmMapIoSpace returned */
    uint64_t len;      /* NumberOfBytes */
    uint64_t phys;     /* PhysicalAddress */
    const kdpc__devrange *range;
    uint64_t range_off; /* phys - range->base */
    bool live;          /* false once unmapped */
    bool writable;
    ULONG protect; /* MmMapIoSpaceEx's Protect, or PAGE_READWRITE */
    uint64_t dead_seq;
} kdpc__iomap;

typedef struct kdpc__hal {
    kdpc__iomap **maps; /* sorted by va; live and dead */
    size_t n, cap;
    const kdpc__iomap *last; /* last live hit */
    size_t ndead;
    uint64_t dead_seq;
    kdpc__pairmap regs; /* (range, offset) -> struct kdpc__regsync (regsync.c) */
} kdpc__hal;

static inline kdpc__hal *kdpc__hal_of(const kdpc_machine *m)
{
    return (kdpc__hal *)kdpc__ke_of(m)->hal;
}
/* @m's HAL state, created at first use; NULL when out of host memory. */
kdpc__hal *kdpc__hal_get(kdpc_machine *m);
/* Everything the HAL holds (machine teardown and reset). */
void kdpc__hal_free(kdpc_machine *m);

/* iospace.c: the mapping (live or dead) whose [va, va + len) holds @va, or NULL. */
const kdpc__iomap *kdpc__hal_find_slow(kdpc__hal *h, uintptr_t va);
static inline const kdpc__iomap *kdpc__hal_find(kdpc__hal *h, uintptr_t va)
{
    const kdpc__iomap *l = h->last;
    if (l != NULL && va - l->va < l->len)
        return l;
    return kdpc__hal_find_slow(h, va);
}

/* access.c: one access by the HAL routine @what to a register (@addr: an address MmMapIoSpace
 * returned) or an I/O port (@port: @addr is the port number): the interleaving point, then the
 * access. @ip is the caller's address. Returns the value read (all ones when refused or
 * outside a run). */
kdpc_machine *kdpc__hal_enter(const char *what);
uint64_t kdpc__hal_reg_access(kdpc_machine *m, uintptr_t va, unsigned width, bool write,
                              uint64_t value, const char *what, uintptr_t ip);
uint64_t kdpc__hal_port_access(kdpc_machine *m, uint64_t port, unsigned width, bool write,
                               uint64_t value, const char *what, uintptr_t ip);
/* Inline: each routine's @port is a constant, so the choice folds away on the hot path. */
static inline uint64_t kdpc__hal_io(const char *what, bool port, uintptr_t addr, unsigned width,
                                    bool write, uint64_t value, uintptr_t ip)
{
    kdpc_machine *m = kdpc__hal_enter(what);
    if (m == NULL)
        return UINT64_MAX;
    return port ? kdpc__hal_port_access(m, addr, width, write, value, what, ip)
                : kdpc__hal_reg_access(m, addr, width, write, value, what, ip);
}
/* The _BUFFER_ forms: @count values of @width bytes between @buf and consecutive registers
 * (@port false) or one port, after one interleaving point. */
void kdpc__hal_io_buffer(const char *what, bool port, uintptr_t addr, void *buf, ULONG count,
                         unsigned width, bool write, uintptr_t ip);

/* badaccess.c: hal.bad_address for @addr (a physical or virtual address, or a port); returns
 * when the rule is a warning or off. @readonly: a write through a read-only mapping. */
void kdpc__hal_bad_access(kdpc_machine *m, uint64_t addr, bool write, bool port, bool readonly,
                          uintptr_t ip, const char *what, const char *why);

/* regsync.c: sync.isr_unsynchronized for one access to register @r + @offset. */
void kdpc__hal_regsync(kdpc_machine *m, kdpc__cpu *c, const kdpc__devrange *r, uint64_t offset,
                       bool write, uintptr_t ip);
void kdpc__hal_regsync_free(kdpc__hal *h);
/* ke's intr_disconnected hook: forget the registers whose history @obj's connection made. */
void kdpc__hal_regsync_disconnected(kdpc_machine *m, struct _KINTERRUPT *obj);

#endif /* KDPC_HAL_H */
