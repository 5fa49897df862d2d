/* SPDX-License-Identifier: MIT */
/*
 * range.c - the range index: every plugged device's register windows
 * (physical addresses) and I/O port ranges, for the HAL's address lookup,
 * and the calls of their handlers.
 *
 * Ranges never overlap (kdpc_device_plug refuses it), so each space is an
 * array of ranges sorted by base: a lookup is a binary search for the last
 * base at or below the address, after a check of the range the previous
 * lookup found (a driver's accesses mostly go to one device in a row).
 * Devices are plugged rarely and accessed often: inserting is O(n).
 *
 * Windows given with base 0 get one chosen here: the lowest page-aligned
 * address at or above 4 GiB - 256 MiB where the window overlaps nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "dev/dev.h"

#define AUTO_BASE 0xF0000000ull
#define PAGE      4096ull

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Index of the last range with base <= addr, or -1. */
static long floor_of(kdpc__devrange *const *v, size_t n, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (v[mid]->base <= addr)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

static bool space_overlaps(kdpc__devrange *const *v, size_t n, uint64_t base, uint64_t len)
{
    long i = floor_of(v, n, base);
    if (i >= 0 && overlaps(v[i]->base, v[i]->length, base, len))
        return true;
    size_t j = (size_t)(i + 1);
    return j < n && overlaps(v[j]->base, v[j]->length, base, len);
}

/* Does [base, base + len) overlap one of @d's ranges 0..upto-1 of the same kind? */
static bool own_overlaps(const kdpc__devrange *r, unsigned upto, uint64_t base, uint64_t len)
{
    for (unsigned i = 0; i < upto; i++) {
        if (overlaps(r[i].base, r[i].length, base, len))
            return true;
    }
    return false;
}

/* The lowest page-aligned base >= AUTO_BASE for @len bytes overlapping neither the index nor
 * the @np windows @placed; 0 when the address space is full. */
static uint64_t choose_base(const kdpc__devm *dm, const kdpc__devrange *placed, unsigned np,
                            uint64_t len)
{
    uint64_t a = AUTO_BASE;
    for (;;) {
        if (a > UINT64_MAX - len)
            return 0;
        uint64_t end = 0;
        long i = floor_of(dm->win, dm->nwin, a + len - 1u);
        /* The windows of the index that may overlap lie at or below i: walk down while they
         * end above a. */
        for (; i >= 0 && dm->win[i]->base + dm->win[i]->length > a; i--) {
            const kdpc__devrange *r = dm->win[i];
            if (overlaps(r->base, r->length, a, len) && r->base + r->length > end)
                end = r->base + r->length;
        }
        for (unsigned k = 0; k < np; k++) {
            const kdpc__devrange *r = &placed[k];
            if (overlaps(r->base, r->length, a, len) && r->base + r->length > end)
                end = r->base + r->length;
        }
        if (end == 0)
            return a;
        if (end > UINT64_MAX - (PAGE - 1u))
            return 0;
        a = (end + PAGE - 1u) & ~(PAGE - 1u);
    }
}

kdpc_status kdpc__dev_ranges_place(kdpc_machine *m, kdpc_device *d)
{
    const kdpc__devm *dm = kdpc__devm_of(m);
    /* Explicit bases first, so that a chosen one avoids them all. */
    for (unsigned i = 0; i < d->desc.nwindows; i++) {
        kdpc__devrange *r = &d->windows[i];
        if (r->base == 0)
            continue;
        if (space_overlaps(dm->win, dm->nwin, r->base, r->length))
            return KDPC_EEXIST;
        for (unsigned k = 0; k < i; k++) {
            if (d->windows[k].base != 0 &&
                overlaps(d->windows[k].base, d->windows[k].length, r->base, r->length))
                return KDPC_EEXIST;
        }
    }
    for (unsigned i = 0; i < d->desc.nwindows; i++) {
        kdpc__devrange *r = &d->windows[i];
        if (r->base != 0)
            continue;
        /* Only the windows already placed count: the explicit ones and chosen ones so far. */
        kdpc__devrange placed[KDPC_DEVICE_MAX_RANGES];
        unsigned np = 0;
        for (unsigned k = 0; k < d->desc.nwindows; k++) {
            if (d->windows[k].base != 0)
                placed[np++] = d->windows[k];
        }
        uint64_t base = choose_base(dm, placed, np, r->length);
        if (base == 0)
            return KDPC_EEXIST;
        r->base = base;
    }
    for (unsigned i = 0; i < d->desc.nports; i++) {
        const kdpc__devrange *r = &d->ports[i];
        if (space_overlaps(dm->port, dm->nport, r->base, r->length) ||
            own_overlaps(d->ports, i, r->base, r->length))
            return KDPC_EEXIST;
    }
    return KDPC_OK;
}

static bool reserve(kdpc__devrange ***v, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap != 0 ? *cap * 2u : 16u;
    while (ncap < need)
        ncap *= 2u;
    kdpc__devrange **nv = realloc(*v, ncap * sizeof(*nv));
    if (nv == NULL)
        return false;
    *v = nv;
    *cap = ncap;
    return true;
}

bool kdpc__dev_ranges_reserve(kdpc_machine *m, const kdpc_device *d)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    return reserve(&dm->win, &dm->capwin, dm->nwin + d->desc.nwindows) &&
           reserve(&dm->port, &dm->capport, dm->nport + d->desc.nports);
}

static void insert(kdpc__devrange **v, size_t *n, kdpc__devrange *r)
{
    size_t at = (size_t)(floor_of(v, *n, r->base) + 1);
    memmove(&v[at + 1u], &v[at], (*n - at) * sizeof(*v));
    v[at] = r;
    (*n)++;
}

static void erase(kdpc__devrange **v, size_t *n, const kdpc__devrange *r)
{
    for (size_t i = 0; i < *n; i++) {
        if (v[i] == r) {
            memmove(&v[i], &v[i + 1u], (*n - i - 1u) * sizeof(*v));
            (*n)--;
            return;
        }
    }
}

void kdpc__dev_ranges_insert(kdpc_machine *m, kdpc_device *d)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    for (unsigned i = 0; i < d->desc.nwindows; i++)
        insert(dm->win, &dm->nwin, &d->windows[i]);
    for (unsigned i = 0; i < d->desc.nports; i++)
        insert(dm->port, &dm->nport, &d->ports[i]);
}

void kdpc__dev_ranges_remove(kdpc_machine *m, kdpc_device *d)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    for (unsigned i = 0; i < d->desc.nwindows; i++)
        erase(dm->win, &dm->nwin, &d->windows[i]);
    for (unsigned i = 0; i < d->desc.nports; i++)
        erase(dm->port, &dm->nport, &d->ports[i]);
    dm->last_win = NULL;
    dm->last_port = NULL;
}

void kdpc__dev_ranges_free(kdpc_machine *m)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    free(dm->win);
    free(dm->port);
    dm->win = dm->port = NULL;
    dm->nwin = dm->nport = dm->capwin = dm->capport = 0;
    dm->last_win = dm->last_port = NULL;
}

static bool holds(const kdpc__devrange *r, uint64_t addr, uint64_t len)
{
    return addr >= r->base && len <= r->length && addr - r->base <= r->length - len;
}

static const kdpc__devrange *find(kdpc__devrange *const *v, size_t n, const kdpc__devrange **last,
                                  uint64_t addr, uint64_t len)
{
    if (*last != NULL && holds(*last, addr, len))
        return *last;
    long i = floor_of(v, n, addr);
    if (i < 0 || !holds(v[i], addr, len))
        return NULL;
    *last = v[i];
    return v[i];
}

const kdpc__devrange *kdpc__dev_find_window(kdpc_machine *m, uint64_t phys, unsigned width)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    if (dm == NULL || width == 0)
        return NULL;
    return find(dm->win, dm->nwin, &dm->last_win, phys, width);
}

const kdpc__devrange *kdpc__dev_find_port(kdpc_machine *m, uint64_t port, unsigned width)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    if (dm == NULL || width == 0)
        return NULL;
    return find(dm->port, dm->nport, &dm->last_port, port, width);
}

const kdpc__devrange *kdpc__dev_find_window_span(kdpc_machine *m, uint64_t phys, uint64_t len)
{
    kdpc__devm *dm = kdpc__devm_of(m);
    if (dm == NULL || len == 0)
        return NULL;
    return find(dm->win, dm->nwin, &dm->last_win, phys, len);
}

uint64_t kdpc__dev_read(kdpc_machine *m, const kdpc__devrange *r, uint64_t offset, unsigned width)
{
    kdpc_device *d = r->dev;
    kdpc__devm *dm = kdpc__devm_of(m);
    d->counters.reads++;
    if (d->detached)
        return kdpc__dev_width_mask(width); /* nobody drives the bus: all ones */
    kdpc_reg_access a = {m, d, d->desc.ctx, r->index, r->port, offset, width, 0};
    dm->in_device++;
    uint64_t v = r->read(&a);
    dm->in_device--;
    return v & kdpc__dev_width_mask(width);
}

void kdpc__dev_write(kdpc_machine *m, const kdpc__devrange *r, uint64_t offset, unsigned width,
                     uint64_t value)
{
    kdpc_device *d = r->dev;
    kdpc__devm *dm = kdpc__devm_of(m);
    d->counters.writes++;
    if (d->detached)
        return; /* dropped */
    kdpc_reg_access a = {m,       d,      d->desc.ctx, r->index,
                         r->port, offset, width,       value & kdpc__dev_width_mask(width)};
    dm->in_device++;
    r->write(&a);
    dm->in_device--;
}
