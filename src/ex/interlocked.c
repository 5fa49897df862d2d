/* SPDX-License-Identifier: MIT */
/*
 * interlocked.c - ExInterlocked list routines: the list operation under
 * the caller's spin lock with interrupts disabled (kdpc: raised to
 * HIGH_LEVEL), so they may be used from an ISR too.
 *
 * Misuse (rule obj.invalid): a NULL or garbage lock is 0xC4/0xE1 or 0x1002
 * (objcheck.c); a NULL list head or entry faults at HIGH_LEVEL, 0xA; a list
 * head whose links are NULL or garbage (never InitializeListHead'ed) is 0x139
 * KERNEL_SECURITY_CHECK_FAILURE P1 = 3 (a corrupted LIST_ENTRY), which the
 * checked list macros of current Windows raise. Divergence: there P2/P3 are
 * the trap frame and exception record; kdpc gives P2 the list head and P3 the
 * bad link. As a warning the call does nothing and returns NULL.
 */
#include "ke/ke.h"

typedef struct guard {
    kdpc_machine *m;
    kdpc__cpu *c;
    KIRQL old;
} guard;

static bool list_ok(kdpc_machine *m, const void *head, const void *entry, bool doubly,
                    kdpc_routine_ptr fn, const char *name)
{
    if (!kdpc__ke_check_ptr(m, head, 0, true, HIGH_LEVEL, fn, name))
        return false;
    if (entry != NULL && !kdpc__ke_check_ptr(m, entry, 0, true, HIGH_LEVEL, fn, name))
        return false;
    const void *bad = NULL;
    bool corrupt;
    if (doubly) {
        const LIST_ENTRY *h = head;
        corrupt = kdpc__ke_bad_ptr(h->Flink) || kdpc__ke_bad_ptr(h->Blink);
        bad = kdpc__ke_bad_ptr(h->Flink) ? (const void *)h->Flink : (const void *)h->Blink;
    } else {
        const SINGLE_LIST_ENTRY *h = head;
        corrupt = h->Next != NULL && kdpc__ke_bad_ptr(h->Next);
        bad = h->Next;
    }
    if (!corrupt)
        return true;
    kdpc__violation(m, KDPC_R_OBJ_INVALID, 0x139, 3, (uintptr_t)head, (uintptr_t)bad, 0, NULL,
                    "%s: list head %p links to %p: it was never initialised (InitializeListHead) "
                    "or is corrupted",
                    name, head, bad);
    return false;
}

static bool enter(const char *name, PKSPIN_LOCK lock, guard *g, const void *head, const void *entry,
                  bool doubly, kdpc_routine_ptr fn, bool need_entry)
{
    g->m = kdpc__ke_ctx(name, &g->c);
    if (g->m == NULL)
        return false;
    if (need_entry && entry == NULL) {
        (void)kdpc__ke_check_ptr(g->m, entry, 0, true, HIGH_LEVEL, fn, name);
        return false;
    }
    if (!kdpc__ke_check_spinlock(g->m, lock, name) || !list_ok(g->m, head, entry, doubly, fn, name))
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
    if (!enter("ExInterlockedInsertHeadList", Lock, &g, ListHead, ListEntry, true,
               KDPC_RP(kdpc_ExInterlockedInsertHeadList), true))
        return NULL;
    PLIST_ENTRY first = IsListEmpty(ListHead) ? NULL : ListHead->Flink;
    InsertHeadList(ListHead, ListEntry);
    kdpc__ke_irp_queued(g.m, ListHead, ListEntry); /* io.queued_before_marked */
    leave(Lock, &g);
    return first;
}

PLIST_ENTRY kdpc_ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                             PKSPIN_LOCK Lock)
{
    guard g;
    if (!enter("ExInterlockedInsertTailList", Lock, &g, ListHead, ListEntry, true,
               KDPC_RP(kdpc_ExInterlockedInsertTailList), true))
        return NULL;
    PLIST_ENTRY last = IsListEmpty(ListHead) ? NULL : ListHead->Blink;
    InsertTailList(ListHead, ListEntry);
    kdpc__ke_irp_queued(g.m, ListHead, ListEntry); /* io.queued_before_marked */
    leave(Lock, &g);
    return last;
}

PLIST_ENTRY kdpc_ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    guard g;
    if (!enter("ExInterlockedRemoveHeadList", Lock, &g, ListHead, NULL, true,
               KDPC_RP(kdpc_ExInterlockedRemoveHeadList), false))
        return NULL;
    PLIST_ENTRY e = IsListEmpty(ListHead) ? NULL : RemoveHeadList(ListHead);
    leave(Lock, &g);
    return e;
}

PSINGLE_LIST_ENTRY kdpc_ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                   PSINGLE_LIST_ENTRY ListEntry, PKSPIN_LOCK Lock)
{
    guard g;
    if (!enter("ExInterlockedPushEntryList", Lock, &g, ListHead, ListEntry, false,
               KDPC_RP(kdpc_ExInterlockedPushEntryList), true))
        return NULL;
    PSINGLE_LIST_ENTRY first = ListHead->Next;
    PushEntryList(ListHead, ListEntry);
    leave(Lock, &g);
    return first;
}

PSINGLE_LIST_ENTRY kdpc_ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    guard g;
    if (!enter("ExInterlockedPopEntryList", Lock, &g, ListHead, NULL, false,
               KDPC_RP(kdpc_ExInterlockedPopEntryList), false))
        return NULL;
    PSINGLE_LIST_ENTRY e = PopEntryList(ListHead);
    leave(Lock, &g);
    return e;
}
