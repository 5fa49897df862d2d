/* SPDX-License-Identifier: MIT */
/*
 * pairmap.c - linear-probing hash map keyed by a pair of addresses (see
 * pairmap.h). Same growth policy as ptrmap.c: at most 3/4 used (live pairs
 * and tombstones); a table that is mostly tombstones is rehashed at the same
 * size, so insert/delete churn keeps it small.
 */
#include <stdlib.h>

#include "pairmap.h" /* same folder: the unit test compiles this file on its own */

#define EMPTY   ((uintptr_t)0)
#define DELETED ((uintptr_t)1)

static size_t slot_of(uintptr_t a, uintptr_t b, size_t cap)
{
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)b + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    return (size_t)h & (cap - 1);
}

void kdpc__pairmap_free(kdpc__pairmap *pm)
{
    free(pm->slots);
    pm->slots = NULL;
    pm->cap = pm->used = pm->live = 0;
}

void *kdpc__pairmap_get(const kdpc__pairmap *pm, uintptr_t a, uintptr_t b)
{
    if (pm->live == 0 || a <= DELETED)
        return NULL;
    for (size_t i = slot_of(a, b, pm->cap);; i = (i + 1) & (pm->cap - 1)) {
        const kdpc__pairslot *s = &pm->slots[i];
        if (s->a == a && s->b == b)
            return s->val;
        if (s->a == EMPTY)
            return NULL;
    }
}

static bool grow(kdpc__pairmap *pm)
{
    size_t ncap = pm->cap == 0 ? 64 : pm->live * 4 < pm->cap ? pm->cap : pm->cap * 2;
    while (pm->live * 2 >= ncap)
        ncap *= 2;
    kdpc__pairslot *ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return false;
    for (size_t i = 0; i < pm->cap; i++) {
        const kdpc__pairslot *s = &pm->slots[i];
        if (s->a > DELETED) {
            size_t j = slot_of(s->a, s->b, ncap);
            while (ns[j].a != EMPTY)
                j = (j + 1) & (ncap - 1);
            ns[j] = *s;
        }
    }
    free(pm->slots);
    pm->slots = ns;
    pm->cap = ncap;
    pm->used = pm->live;
    return true;
}

bool kdpc__pairmap_put(kdpc__pairmap *pm, uintptr_t a, uintptr_t b, void *val)
{
    if (a <= DELETED)
        return false;
    if ((pm->used + 1) * 4 >= pm->cap * 3 && !grow(pm))
        return false;
    size_t tomb = SIZE_MAX;
    for (size_t i = slot_of(a, b, pm->cap);; i = (i + 1) & (pm->cap - 1)) {
        kdpc__pairslot *s = &pm->slots[i];
        if (s->a == a && s->b == b) {
            s->val = val;
            return true;
        }
        if (s->a == DELETED && tomb == SIZE_MAX)
            tomb = i;
        if (s->a == EMPTY) {
            if (tomb != SIZE_MAX)
                s = &pm->slots[tomb];
            else
                pm->used++;
            s->a = a;
            s->b = b;
            s->val = val;
            pm->live++;
            return true;
        }
    }
}

void *kdpc__pairmap_del(kdpc__pairmap *pm, uintptr_t a, uintptr_t b)
{
    if (pm->live == 0 || a <= DELETED)
        return NULL;
    for (size_t i = slot_of(a, b, pm->cap);; i = (i + 1) & (pm->cap - 1)) {
        kdpc__pairslot *s = &pm->slots[i];
        if (s->a == a && s->b == b) {
            void *v = s->val;
            s->a = DELETED;
            s->b = 0;
            s->val = NULL;
            pm->live--;
            return v;
        }
        if (s->a == EMPTY)
            return NULL;
    }
}
