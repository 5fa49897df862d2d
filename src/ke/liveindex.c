/* SPDX-License-Identifier: MIT */
/*
 * liveindex.c - queued DPCs, set timers and queued work items by address,
 * so that ExFreePool (mem.free_active) asks "is one of them inside this
 * block?" in O(log n + k) instead of walking every queue.
 *
 * DESIGN
 * One set per kind (kdpc__liveset, ke.h), keyed by the object's address;
 * each entry also carries the object's place in its queue (o1, o2), so that
 * of several objects inside one block the one reported first is the one
 * first in queue order, as a walk of the queues would find it:
 *   DPC        (target CPU, position: head insertions count down from 2^63,
 *               tail insertions up from it; dpc.c)
 *   timer      (due time, set order; timer.c)
 *   work item  (worker pool, queue order; ex/worker.c)
 * The owners keep it current: an entry is added when the object is queued
 * or set and removed when it leaves its queue, however it leaves (run,
 * removed, cancelled, expired, taken out for a freed block or a dead stack
 * frame). It never follows a link in the object: a block freed with a
 * corrupted object in it is still looked up correctly.
 *
 * A set is two parts. The last KDPC_LIVE_STAGE objects added wait in a
 * small array, oldest first; when it is full, the oldest of them moves into an
 * ordered set (base/ordset.h) keyed by (address, o1). So an object queued
 * and dequeued soon after (a DPC round trip: appended, then dropped as the
 * last entry, inline in ke.h) costs a few instructions, one dequeued later
 * a scan of at most KDPC_LIVE_STAGE entries, and one that stays queued an
 * O(log n) insert and remove, at most once per time it is queued. Timers
 * skip the array: timer.c keeps each one's tree node as a handle
 * (kdpc__ke_live_insert / kdpc__ke_live_remove, no search). A lookup
 * scans the array and the tree's range. What a lookup returns depends only
 * on the objects queued and their places, never on which part holds them.
 *
 * An object is added once per time it is queued: each owner refuses to
 * queue a queued object again. (A driver that re-initialises a queued DPC or
 * work item and queues it again corrupts the queue itself; the index may then
 * keep an entry for it after it ran.) Out of host memory an object is not
 * indexed: a free of its block then goes unreported (the queue itself is
 * unaffected).
 */
#include <string.h>

#include "ke/ke.h"

/* The oldest staged entry (the first) moves into the tree. */
void kdpc__ke_live_evict(kdpc__liveset *ls)
{
    kdpc__osnode *n = kdpc__ordset_insert(&ls->tree, ls->staged[0].addr, ls->staged[0].o1,
                                          (void *)ls->staged[0].addr);
    if (n != NULL)
        n->aux = ls->staged[0].o2;
    ls->nstaged--;
    memmove(&ls->staged[0], &ls->staged[1], ls->nstaged * sizeof(ls->staged[0]));
}

/* Not the last staged entry (ke.h has that case inline): the others, then the tree. */
void kdpc__ke_live_del_slow(kdpc__liveset *ls, uintptr_t addr)
{
    for (unsigned i = ls->nstaged; i-- > 0;) {
        if (ls->staged[i].addr == addr) {
            ls->nstaged--;
            memmove(&ls->staged[i], &ls->staged[i + 1], (ls->nstaged - i) * sizeof(ls->staged[0]));
            return;
        }
    }
    if (ls->tree.count == 0)
        return;
    kdpc__osnode *n = kdpc__ordset_lower_bound(&ls->tree, addr, 0);
    if (n != NULL && n->k1 == addr)
        kdpc__ordset_remove(&ls->tree, n);
}

void *kdpc__ke_live_first_in(kdpc_machine *m, kdpc__live_kind kind, uintptr_t lo, uintptr_t hi)
{
    kdpc__liveset *ls = &kdpc__ke_of(m)->live[kind];
    bool found = false;
    uintptr_t best = 0;
    uint64_t b1 = 0, b2 = 0;
    for (unsigned i = 0; i < ls->nstaged; i++) {
        uintptr_t a = ls->staged[i].addr;
        uint64_t o1 = ls->staged[i].o1, o2 = ls->staged[i].o2;
        if (a >= lo && a < hi && (!found || o1 < b1 || (o1 == b1 && o2 < b2))) {
            found = true;
            best = a;
            b1 = o1;
            b2 = o2;
        }
    }
    if (ls->tree.count != 0) {
        for (kdpc__osnode *n = kdpc__ordset_lower_bound(&ls->tree, lo, 0); n != NULL && n->k1 < hi;
             n = kdpc__ordset_next(n)) {
            if (!found || n->k2 < b1 || (n->k2 == b1 && n->aux < b2)) {
                found = true;
                best = (uintptr_t)n->k1;
                b1 = n->k2;
                b2 = n->aux;
            }
        }
    }
    return found ? (void *)best : NULL;
}

void kdpc__ke_live_free(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    for (unsigned k = 0; k < KDPC_LIVE_KINDS; k++) {
        kdpc__ordset_free(&ke->live[k].tree);
        ke->live[k].nstaged = 0;
    }
}
