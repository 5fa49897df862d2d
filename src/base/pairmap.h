/* SPDX-License-Identifier: MIT */
/*
 * pairmap.h - open-addressing hash map from a pair of addresses to a pointer.
 *
 * Used for sets of relations between two objects (the lock-order edges
 * "B was acquired while A was held"): membership of (a, b) is one probe
 * sequence, whatever the number of pairs. Keys with a <= 1 are reserved
 * (empty and deleted marks). Iteration order is the host's: callers that
 * need a visible order keep one of their own. Not thread-safe: one machine
 * is driven by one host thread at a time.
 */
#ifndef KDPC_BASE_PAIRMAP_H
#define KDPC_BASE_PAIRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kdpc__pairslot {
    uintptr_t a; /* 0 = empty, 1 = deleted */
    uintptr_t b;
    void *val;
} kdpc__pairslot;

typedef struct kdpc__pairmap {
    kdpc__pairslot *slots;
    size_t cap;  /* power of two or 0 */
    size_t used; /* live + deleted */
    size_t live;
} kdpc__pairmap;

void kdpc__pairmap_free(kdpc__pairmap *pm);
/* The value of (a, b), or NULL when the pair is not in the map. */
void *kdpc__pairmap_get(const kdpc__pairmap *pm, uintptr_t a, uintptr_t b);
/* Inserts or replaces. Returns false when a <= 1 or out of host memory (the map is unchanged). */
bool kdpc__pairmap_put(kdpc__pairmap *pm, uintptr_t a, uintptr_t b, void *val);
/* Removes (a, b); returns its value, or NULL when it was not there. */
void *kdpc__pairmap_del(kdpc__pairmap *pm, uintptr_t a, uintptr_t b);

#endif /* KDPC_BASE_PAIRMAP_H */
