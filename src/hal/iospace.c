/* SPDX-License-Identifier: MIT */
/*
 * iospace.c - MmMapIoSpace, MmMapIoSpaceEx, MmUnmapIoSpace and
 * MmGetPhysicalAddress (docs/facts/hal.md section 1), and the HAL's state.
 *
 * A mapping is a few host pages reserved with no access (the returned
 * address has the physical address's offset in its page, as on Windows);
 * READ_/WRITE_REGISTER_* look it up, a direct dereference faults. Facts:
 * the range must be greater than zero bytes; the routines run at IRQL <=
 * DISPATCH_LEVEL; MmUnmapIoSpace takes the address and the byte count of
 * the mapping; MmGetPhysicalAddress works at any IRQL on a valid address.
 * Divergence: mapping a range no device window covers is a bug check
 * (hal.map_unowned, 0xC4/0x83) where Windows maps whatever lies there;
 * a mapping of 0 bytes or an MmMapIoSpaceEx protection outside the
 * documented set returns NULL; memory that is not an I/O space mapping has
 * its host address as its physical address (kdpc has no physical memory;
 * DMA logical addresses are host addresses too).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "hal/hal.h"
#include "platform/platform.h"

kdpc__hal *kdpc__hal_get(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke->hal == NULL) {
        ke->hal = calloc(1, sizeof(kdpc__hal));
        ke->intr_disconnected = kdpc__hal_regsync_disconnected;
    }
    return ke->hal;
}

static void release(kdpc__iomap *mp)
{
    kdpc__pages_release(mp->pages, mp->pages_size);
    free(mp);
}

void kdpc__hal_free(kdpc_machine *m)
{
    if (m->ke == NULL)
        return;
    kdpc__hal *h = kdpc__hal_of(m);
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n; i++)
        release(h->maps[i]);
    free(h->maps);
    kdpc__hal_regsync_free(h);
    free(h);
    kdpc__ke_of(m)->hal = NULL;
}

/* Index of the first mapping whose va is above @va (0..n). */
static size_t upper(const kdpc__hal *h, uintptr_t va)
{
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->maps[mid]->va <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const kdpc__iomap *kdpc__hal_find_slow(kdpc__hal *h, uintptr_t va)
{
    size_t i = upper(h, va);
    if (i == 0)
        return NULL;
    const kdpc__iomap *mp = h->maps[i - 1];
    if (va - mp->va >= mp->len)
        return NULL;
    if (mp->live)
        h->last = mp;
    return mp;
}

static bool insert(kdpc__hal *h, kdpc__iomap *mp)
{
    if (h->n == h->cap) {
        size_t ncap = h->cap != 0 ? h->cap * 2 : 16;
        kdpc__iomap **nm = realloc(h->maps, ncap * sizeof(*nm));
        if (nm == NULL)
            return false;
        h->maps = nm;
        h->cap = ncap;
    }
    size_t i = upper(h, mp->va);
    memmove(&h->maps[i + 1], &h->maps[i], (h->n - i) * sizeof(*h->maps));
    h->maps[i] = mp;
    h->n++;
    return true;
}

/* Forget the dead mapping unmapped longest ago (its pages go back to the host). */
static void drop_oldest_dead(kdpc__hal *h)
{
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < h->n; i++) {
        if (!h->maps[i]->live && (at == SIZE_MAX || h->maps[i]->dead_seq < h->maps[at]->dead_seq))
            at = i;
    }
    if (at == SIZE_MAX)
        return;
    kdpc__iomap *mp = h->maps[at];
    memmove(&h->maps[at], &h->maps[at + 1], (h->n - at - 1) * sizeof(*h->maps));
    h->n--;
    h->ndead--;
    release(mp);
}

/* hal.irql: the routines run at IRQL <= DISPATCH_LEVEL (facts 1.1, 1.3), with Driver Verifier's
 * codes: 0x73 for a mapping (P3 the physical address, P4 the size), 0x7B for an unmapping (P3
 * the address, P4 the size). Divergence: Verifier raises 0x7B above APC_LEVEL, but the DDI
 * reference allows MmUnmapIoSpace at DISPATCH_LEVEL; kdpc follows the reference. As a warning
 * or off the call goes on. */
#define VF_MAP_IO_SPACE_IRQL   0x73u
#define VF_UNMAP_IO_SPACE_IRQL 0x7Bu

static void check_irql(kdpc_machine *m, const kdpc__cpu *c, const char *what, uint32_t p1,
                       uint64_t p3, uint64_t p4)
{
    if (c->irql > DISPATCH_LEVEL)
        kdpc__violation(m, KDPC_R_HAL_IRQL, 0xC4, p1, c->irql, p3, p4, NULL,
                        "%s called at IRQL %u, above DISPATCH_LEVEL", what, (unsigned)c->irql);
}

/* The mapping itself, once the caller made its interleaving point and IRQL check. */
static PVOID map(kdpc_machine *m, kdpc__cpu *c, PHYSICAL_ADDRESS PhysicalAddress,
                 SIZE_T NumberOfBytes, ULONG protect, const char *what)
{
    uint64_t phys = (uint64_t)PhysicalAddress.QuadPart;
    if (NumberOfBytes == 0)
        return NULL;
    const kdpc__devrange *r = m->dev != NULL && phys + NumberOfBytes > phys
                                  ? kdpc__dev_find_window_span(m, phys, NumberOfBytes)
                                  : NULL;
    if (r == NULL) {
        kdpc__violation(m, KDPC_R_HAL_MAP_UNOWNED, 0xC4, 0x83, phys, NumberOfBytes,
                        phys >> PAGE_SHIFT, NULL,
                        "%s(%#" PRIx64 ", %#zx): no register window of a plugged device holds "
                        "the whole range; a driver maps only the CmResourceTypeMemory ranges "
                        "its START_DEVICE resources gave it",
                        what, phys, (size_t)NumberOfBytes);
        return NULL;
    }
    /* A driver maps only the windows the PnP manager gave it. Divergence: code that runs for no
     * driver (a test's thread), or a window of a device no driver is named for or has taken
     * through AddDevice (a legacy driver), is only checked against the plugged devices'
     * windows. */
    void *drv = kdpc__ke_current_driver(m, c);
    bool (*owns)(kdpc_machine *, const void *, uint64_t, uint64_t) =
        kdpc__ke_of(m)->driver_owns_window;
    if (drv != NULL && owns != NULL && kdpc__dev_desc(r->dev)->driver != NULL &&
        !owns(m, drv, phys, NumberOfBytes)) {
        kdpc__violation(m, KDPC_R_HAL_MAP_UNOWNED, 0xC4, 0x83, phys, NumberOfBytes,
                        phys >> PAGE_SHIFT, NULL,
                        "%s(%#" PRIx64 ", %#zx): the range is in a window of device %s, but no "
                        "START_DEVICE gave it to this driver as a CmResourceTypeMemory resource; "
                        "a driver maps only its own translated memory resources",
                        what, phys, (size_t)NumberOfBytes, kdpc_device_name(r->dev));
        return NULL;
    }
    kdpc__hal *h = kdpc__hal_get(m);
    kdpc__iomap *mp = h != NULL ? calloc(1, sizeof(*mp)) : NULL;
    if (mp == NULL)
        return NULL;
    size_t in_page = (size_t)(phys & (PAGE_SIZE - 1u));
    mp->pages_size = (in_page + NumberOfBytes + PAGE_SIZE - 1u) & ~(size_t)(PAGE_SIZE - 1u);
    mp->pages = kdpc__pages_reserve(mp->pages_size);
    if (mp->pages == NULL) {
        free(mp);
        return NULL;
    }
    mp->va = (uintptr_t)mp->pages + in_page;
    mp->len = NumberOfBytes;
    mp->phys = phys;
    mp->range = r;
    mp->range_off = phys - r->base;
    mp->live = true;
    mp->protect = protect;
    ULONG base = protect & 0xFFu;
    mp->writable = base == PAGE_READWRITE || base == PAGE_EXECUTE_READWRITE;
    if (kdpc__pages_protect(mp->pages, mp->pages_size, false) != 0 || !insert(h, mp)) {
        release(mp);
        return NULL;
    }
    return (PVOID)mp->va;
}

PVOID kdpc_MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                        MEMORY_CACHING_TYPE CacheType)
{
    (void)CacheType; /* no cache between a CPU and a virtual device */
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("MmMapIoSpace", &c);
    if (m == NULL)
        return NULL;
    kdpc__ke_point(m);
    c = kdpc__cur_cpu(); /* the point may have moved the thread to another CPU */
    check_irql(m, c, "MmMapIoSpace", VF_MAP_IO_SPACE_IRQL, (uint64_t)PhysicalAddress.QuadPart,
               NumberOfBytes);
    return map(m, c, PhysicalAddress, NumberOfBytes, PAGE_READWRITE, "MmMapIoSpace");
}

PVOID kdpc_MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, ULONG Protect)
{
    ULONG base = Protect & 0xFFu, extra = Protect & ~0xFFu;
    bool base_ok = base == PAGE_READONLY || base == PAGE_READWRITE || base == PAGE_EXECUTE ||
                   base == PAGE_EXECUTE_READ || base == PAGE_EXECUTE_READWRITE;
    bool extra_ok = extra == 0 || extra == PAGE_NOCACHE || extra == PAGE_WRITECOMBINE;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("MmMapIoSpaceEx", &c);
    if (m == NULL)
        return NULL;
    check_irql(m, c, "MmMapIoSpaceEx", VF_MAP_IO_SPACE_IRQL, (uint64_t)PhysicalAddress.QuadPart,
               NumberOfBytes);
    if (!base_ok || !extra_ok) {
        return NULL; /* Divergence: the outcome of another protection is not documented */
    }
    kdpc__ke_point(m);
    return map(m, kdpc__cur_cpu(), PhysicalAddress, NumberOfBytes, Protect, "MmMapIoSpaceEx");
}

void kdpc_MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("MmUnmapIoSpace", &c);
    if (m == NULL)
        return;
    kdpc__ke_point(m);
    check_irql(m, kdpc__cur_cpu(), "MmUnmapIoSpace", VF_UNMAP_IO_SPACE_IRQL, (uintptr_t)BaseAddress,
               NumberOfBytes);
    kdpc__hal *h = kdpc__hal_of(m);
    uintptr_t va = (uintptr_t)BaseAddress;
    size_t i = h != NULL ? upper(h, va) : 0;
    kdpc__iomap *mp = i > 0 && h->maps[i - 1]->va == va ? h->maps[i - 1] : NULL;
    if (mp == NULL || !mp->live) {
        kdpc__violation(m, KDPC_R_HAL_BAD_UNMAP, 0xDA, 0x03, 0, 0, va, NULL,
                        "MmUnmapIoSpace(%#" PRIxPTR ", %#zx): %s", va, (size_t)NumberOfBytes,
                        mp != NULL ? "this mapping was unmapped already (unmapped twice)"
                                   : "the address is not one MmMapIoSpace returned");
        return;
    }
    if (NumberOfBytes != mp->len) {
        kdpc__violation(m, KDPC_R_HAL_BAD_UNMAP, 0xDA, 0x02, va, mp->len, NumberOfBytes, NULL,
                        "MmUnmapIoSpace(%#" PRIxPTR ", %#zx): the mapping has %#" PRIx64
                        " bytes; unmap it with the size it was mapped with",
                        va, (size_t)NumberOfBytes, mp->len);
        return;
    }
    mp->live = false;
    mp->dead_seq = ++h->dead_seq;
    if (h->last == mp)
        h->last = NULL;
    if (++h->ndead > KDPC_HAL_DEAD_KEEP)
        drop_oldest_dead(h);
}

PHYSICAL_ADDRESS kdpc_MmGetPhysicalAddress(PVOID BaseAddress)
{
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = (LONGLONG)(uintptr_t)BaseAddress;
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->m->ke == NULL)
        return pa;
    kdpc__hal *h = kdpc__hal_of(t->m);
    const kdpc__iomap *mp = h != NULL ? kdpc__hal_find(h, (uintptr_t)BaseAddress) : NULL;
    if (mp != NULL && mp->live)
        pa.QuadPart = (LONGLONG)(mp->phys + ((uintptr_t)BaseAddress - mp->va));
    return pa;
}
