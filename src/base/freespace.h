/* SPDX-License-Identifier: MIT */
/*
 * freespace.h - the free space of an arena: disjoint ranges of offsets, kept
 * in offset order in a balanced (AVL) tree, that coalesce when a range is
 * given back and hand out the lowest-addressed place that fits a request with
 * its alignment (first fit), both in O(log n) for n free ranges.
 *
 * First fit with alignment: each node also keeps, for every alignment
 * 2^min_shift .. 2^max_shift, the largest request its subtree can hold at
 * that alignment, so the search goes down one path. The result is the one a
 * walk of the ranges in offset order would give, so it depends only on the
 * sequence of calls (never on host addresses).
 *
 * Offsets, lengths and alignments are multiples of 2^min_shift (the arena's
 * granule). Self-contained (C library only), not thread-safe.
 */
#ifndef KDPC_BASE_FREESPACE_H
#define KDPC_BASE_FREESPACE_H

#include <stdbool.h>
#include <stddef.h>

#define KDPC__FREESPACE_ALIGNS 13 /* at most max_shift - min_shift + 1 alignments */

typedef struct kdpc__fs_node kdpc__fs_node;

typedef struct kdpc__freespace {
    kdpc__fs_node *root;
    kdpc__fs_node *spare; /* nodes kept for reuse (a singly linked list through ->l) */
    size_t nspare;
    size_t count; /* free ranges */
    size_t bytes; /* free bytes */
    unsigned min_shift, naligns;
} kdpc__freespace;

/* An empty free space whose alignments run from 2^min_shift to 2^max_shift (at most
 * KDPC__FREESPACE_ALIGNS of them). Returns false when the shifts are out of range. */
bool kdpc__freespace_init(kdpc__freespace *fs, unsigned min_shift, unsigned max_shift);
/* Frees every node; the free space is empty (and still usable) afterwards. */
void kdpc__freespace_destroy(kdpc__freespace *fs);

#define KDPC__FS_OK      0
#define KDPC__FS_NOMEM   (-1) /* out of host memory: nothing changed */
#define KDPC__FS_OVERLAP (-2) /* the range overlaps a free one, or wraps: no change */
#define KDPC__FS_BADARG  (-3) /* empty, or not a multiple of the granule: no change */
#define KDPC__FS_FULL    (-4) /* no free range holds the request */

/* Gives [off, off + len) back; it merges with a free neighbour that touches it. Returns
 * KDPC__FS_OK, or one of the errors above. */
int kdpc__freespace_add(kdpc__freespace *fs, size_t off, size_t len);

/* Takes @len bytes at the lowest offset that is a multiple of @align (a power of two, at most
 * 2^max_shift; smaller ones count as 2^min_shift) and lies in one free range. Returns
 * KDPC__FS_OK and *off; KDPC__FS_FULL when no range fits, KDPC__FS_NOMEM when a split needs a
 * node the host cannot give, KDPC__FS_BADARG for a bad @len or @align (nothing changed). */
int kdpc__freespace_take(kdpc__freespace *fs, size_t len, size_t align, size_t *off);

/* The free range with the lowest offset >= @from: false when there is none. Walks the ranges in
 * offset order: for (f = 0; next(fs, f, &o, &l); f = o + l). */
bool kdpc__freespace_next(const kdpc__freespace *fs, size_t from, size_t *off, size_t *len);

/* Consistency of the tree (order, no touching neighbours, heights, balance, cached maxima,
 * count and bytes): for tests. */
bool kdpc__freespace_check(const kdpc__freespace *fs);

#endif /* KDPC_BASE_FREESPACE_H */
