/* SPDX-License-Identifier: MIT */
/*
 * ptrmap.c - linear-probing hash map keyed by address (see ptrmap.h).
 */
#include <stdlib.h>

#include "base/ptrmap.h"

#define EMPTY   ((uintptr_t)0)
#define DELETED ((uintptr_t)1)

static size_t slot_of(uintptr_t key, size_t cap)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

void kdpc__ptrmap_free(kdpc__ptrmap *pm)
{
    free(pm->keys);
    free(pm->vals);
    pm->keys = NULL;
    pm->vals = NULL;
    pm->cap = pm->used = pm->live = 0;
}

void *kdpc__ptrmap_get(const kdpc__ptrmap *pm, uintptr_t key)
{
    if (pm->live == 0 || key <= DELETED)
        return NULL;
    for (size_t i = slot_of(key, pm->cap);; i = (i + 1) & (pm->cap - 1)) {
        if (pm->keys[i] == key)
            return pm->vals[i];
        if (pm->keys[i] == EMPTY)
            return NULL;
    }
}

static bool grow(kdpc__ptrmap *pm)
{
    /* Mostly tombstones: rehash at the same size, so put/del churn keeps the map small. */
    size_t ncap = pm->cap == 0 ? 64 : pm->live * 4 < pm->cap ? pm->cap : pm->cap * 2;
    while (pm->live * 2 >= ncap)
        ncap *= 2;
    uintptr_t *nk = calloc(ncap, sizeof(*nk));
    void **nv = calloc(ncap, sizeof(*nv));
    if (nk == NULL || nv == NULL) {
        free(nk);
        free(nv);
        return false;
    }
    for (size_t i = 0; i < pm->cap; i++) {
        if (pm->keys[i] > DELETED) {
            size_t j = slot_of(pm->keys[i], ncap);
            while (nk[j] != EMPTY)
                j = (j + 1) & (ncap - 1);
            nk[j] = pm->keys[i];
            nv[j] = pm->vals[i];
        }
    }
    free(pm->keys);
    free(pm->vals);
    pm->keys = nk;
    pm->vals = nv;
    pm->cap = ncap;
    pm->used = pm->live;
    return true;
}

bool kdpc__ptrmap_put(kdpc__ptrmap *pm, uintptr_t key, void *val)
{
    if (key <= DELETED)
        return false;
    if ((pm->used + 1) * 4 >= pm->cap * 3 && !grow(pm))
        return false;
    size_t tomb = SIZE_MAX;
    for (size_t i = slot_of(key, pm->cap);; i = (i + 1) & (pm->cap - 1)) {
        if (pm->keys[i] == key) {
            pm->vals[i] = val;
            return true;
        }
        if (pm->keys[i] == DELETED && tomb == SIZE_MAX)
            tomb = i;
        if (pm->keys[i] == EMPTY) {
            if (tomb != SIZE_MAX)
                i = tomb;
            else
                pm->used++;
            pm->keys[i] = key;
            pm->vals[i] = val;
            pm->live++;
            return true;
        }
    }
}

void *kdpc__ptrmap_del(kdpc__ptrmap *pm, uintptr_t key)
{
    if (pm->live == 0 || key <= DELETED)
        return NULL;
    for (size_t i = slot_of(key, pm->cap);; i = (i + 1) & (pm->cap - 1)) {
        if (pm->keys[i] == key) {
            void *v = pm->vals[i];
            pm->keys[i] = DELETED;
            pm->vals[i] = NULL;
            pm->live--;
            return v;
        }
        if (pm->keys[i] == EMPTY)
            return NULL;
    }
}
