/* SPDX-License-Identifier: MIT */
/*
 * interlocked.c - ExInterlocked list routines: the list operation under
 * the caller's spin lock with interrupts disabled (kdpc: raised to
 * HIGH_LEVEL), so they may be used from an ISR too.
 */
#include "ke/ke.h"

typedef struct guard {
    kdpc_machine *m;
    kdpc__cpu *c;
    KIRQL old;
} guard;

static bool enter(const char *name, PKSPIN_LOCK lock, guard *g)
{
    g->m = kdpc__ke_ctx(name, &g->c);
    if (g->m == NULL)
        return false;
    g->old = g->c->irql;
    if (g->old < HIGH_LEVEL)
        kdpc__ke_set_irql(g->m, g->c, HIGH_LEVEL);
    kdpc__ke_lock_acquire(g->m, g->c, lock, KDPC_LOCK_ORDINARY, NULL);
    g->c = kdpc__cur_cpu();
    return true;
}

static void leave(PKSPIN_LOCK lock, guard *g)
{
    kdpc__ke_lock_release(g->m, g->c, lock, KDPC_LOCK_ORDINARY, NULL);
    kdpc__ke_set_irql(g->m, g->c, g->old);
    kdpc__ke_point(g->m);
}

PLIST_ENTRY kdpc_ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                             PKSPIN_LOCK Lock)
{
    guard g;
    if (!enter("ExInterlockedInsertHeadList", Lock, &g))
        return NULL;
    PLIST_ENTRY first = IsListEmpty(ListHead) ? NULL : ListHead->Flink;
    InsertHeadList(ListHead, ListEntry);
    leave(Lock, &g);
    return first;
}

PLIST_ENTRY kdpc_ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                             PKSPIN_LOCK Lock)
{
    guard g;
    if (!enter("ExInterlockedInsertTailList", Lock, &g))
        return NULL;
    PLIST_ENTRY last = IsListEmpty(ListHead) ? NULL : ListHead->Blink;
    InsertTailList(ListHead, ListEntry);
    leave(Lock, &g);
    return last;
}

PLIST_ENTRY kdpc_ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    guard g;
    if (!enter("ExInterlockedRemoveHeadList", Lock, &g))
        return NULL;
    PLIST_ENTRY e = IsListEmpty(ListHead) ? NULL : RemoveHeadList(ListHead);
    leave(Lock, &g);
    return e;
}

PSINGLE_LIST_ENTRY kdpc_ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                   PSINGLE_LIST_ENTRY ListEntry, PKSPIN_LOCK Lock)
{
    guard g;
    if (!enter("ExInterlockedPushEntryList", Lock, &g))
        return NULL;
    PSINGLE_LIST_ENTRY first = ListHead->Next;
    PushEntryList(ListHead, ListEntry);
    leave(Lock, &g);
    return first;
}

PSINGLE_LIST_ENTRY kdpc_ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    guard g;
    if (!enter("ExInterlockedPopEntryList", Lock, &g))
        return NULL;
    PSINGLE_LIST_ENTRY e = PopEntryList(ListHead);
    leave(Lock, &g);
    return e;
}
