/* SPDX-License-Identifier: MIT */
/*
 * ordset.h - ordered set: an AVL tree of nodes keyed by two 64-bit words.
 *
 * Used where kdpc needs order and O(log n) change at once: set timers in
 * expiry order (ke/timer.c), queued objects by address (ke/liveindex.c).
 * Nodes are kdpc's own memory, never the driver's: a node handle stays
 * valid until the node is removed, so a caller may keep it for an
 * O(log n) removal without a search. Keys compare k1 first, then k2; equal
 * keys are allowed and kept in insertion order (a node goes after every node
 * with an equal key). Iteration is in key order, never in host address
 * order, so what a caller derives from it is deterministic.
 *
 * Insert, remove and lower_bound are O(log n) (the tree's height is at most
 * 1.44 log2(n + 2)); first is O(1) (the minimum is cached); next is O(1)
 * amortised. An insert before the first node or at or after the last one
 * (due times or addresses that only grow, or only shrink) skips the search:
 * its rebalancing is O(1) amortised. Nodes come from chunks the set allocates and recycles; the
 * chunks are given back when the set becomes empty after having held more
 * than a few thousand nodes, and by kdpc__ordset_free.
 *
 * Not thread-safe: the machine's baton serialises every user. A zeroed
 * kdpc__ordset is an empty set.
 */
#ifndef KDPC_BASE_ORDSET_H
#define KDPC_BASE_ORDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kdpc__osnode {
    struct kdpc__osnode *left, *right, *parent;
    uint64_t k1, k2; /* the key: k1, then k2 */
    void *val;       /* the caller's */
    uint64_t aux;    /* the caller's; the set never reads it */
    int height;      /* of the subtree rooted here: 1 for a leaf */
} kdpc__osnode;

typedef struct kdpc__ordset {
    kdpc__osnode *root;
    kdpc__osnode *min;   /* leftmost node, NULL when empty */
    kdpc__osnode *max;   /* rightmost node, NULL when empty */
    size_t count;        /* nodes in the tree */
    kdpc__osnode *spare; /* recycled nodes, linked through ->right */
    struct kdpc__oschunk *chunks;
    size_t held; /* nodes in all chunks */
} kdpc__ordset;

/* Gives back every node and chunk; the set is empty (and usable) afterwards. */
void kdpc__ordset_free(kdpc__ordset *s);
/* Inserts (k1, k2) after every node with an equal key; NULL when out of host memory (the set is
 * unchanged). */
kdpc__osnode *kdpc__ordset_insert(kdpc__ordset *s, uint64_t k1, uint64_t k2, void *val);
/* Removes @n (a node of @s); @n is invalid afterwards. */
void kdpc__ordset_remove(kdpc__ordset *s, kdpc__osnode *n);
/* First node in key order, or NULL. */
static inline kdpc__osnode *kdpc__ordset_first(const kdpc__ordset *s)
{
    return s->min;
}
/* Node after @n in key order, or NULL. */
kdpc__osnode *kdpc__ordset_next(const kdpc__osnode *n);
/* First node whose key is >= (k1, k2), or NULL. */
kdpc__osnode *kdpc__ordset_lower_bound(const kdpc__ordset *s, uint64_t k1, uint64_t k2);
/* Every invariant (order, balance, heights, parent links, count, minimum): O(n), for tests. */
bool kdpc__ordset_valid(const kdpc__ordset *s);

#endif /* KDPC_BASE_ORDSET_H */
