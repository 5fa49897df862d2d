/* SPDX-License-Identifier: MIT */
/*
 * ptrmap.h - open-addressing hash map from an address to a pointer.
 *
 * Used where a WDM object has no room for kdpc's bookkeeping (a KSPIN_LOCK
 * is one word; a KDPC is exactly 64 bytes). Not thread-safe: the machine's
 * baton serialises every user.
 */
#ifndef KDPC_BASE_PTRMAP_H
#define KDPC_BASE_PTRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kdpc__ptrmap {
    uintptr_t *keys; /* 0 = empty, 1 = deleted */
    void **vals;
    size_t cap;  /* power of two or 0 */
    size_t used; /* live + deleted */
    size_t live;
} kdpc__ptrmap;

void kdpc__ptrmap_free(kdpc__ptrmap *pm);
void *kdpc__ptrmap_get(const kdpc__ptrmap *pm, uintptr_t key);
/* Returns false when out of host memory (the map is unchanged). */
bool kdpc__ptrmap_put(kdpc__ptrmap *pm, uintptr_t key, void *val);
void *kdpc__ptrmap_del(kdpc__ptrmap *pm, uintptr_t key);

#endif /* KDPC_BASE_PTRMAP_H */
