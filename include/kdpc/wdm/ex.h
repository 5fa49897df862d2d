/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/ex.h - executive support: interlocked lists guarded by a spin lock.
 */
#ifndef KDPC_WDM_EX_H
#define KDPC_WDM_EX_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/ke.h>

KDPC_BEGIN_DECLS

KDPC_EXPORT PLIST_ENTRY kdpc_ExInterlockedInsertHeadList(PLIST_ENTRY ListHead,
                                                         PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock);
KDPC_EXPORT PLIST_ENTRY kdpc_ExInterlockedInsertTailList(PLIST_ENTRY ListHead,
                                                         PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock);
KDPC_EXPORT PLIST_ENTRY kdpc_ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock);
KDPC_EXPORT PSINGLE_LIST_ENTRY kdpc_ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                               PSINGLE_LIST_ENTRY ListEntry,
                                                               PKSPIN_LOCK Lock);
KDPC_EXPORT PSINGLE_LIST_ENTRY kdpc_ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                              PKSPIN_LOCK Lock);

/*
 * The ExInterlocked routines take @Lock with interrupts disabled (kdpc:
 * raised to HIGH_LEVEL), so they may be called at any IRQL when the lock is
 * used only with ExInterlocked routines, and at <= DISPATCH_LEVEL otherwise.
 *
 * Bugchecks (rule obj.invalid): a NULL lock 0xC4/0xE1, a garbage lock word
 * 0xC4/0x1002; a NULL list head or entry 0xA; a list head whose links are
 * NULL or garbage (never InitializeListHead'ed) 0x139 P1 3 (P2 the head). As a
 * warning or off the call does nothing and returns NULL.
 */

/** ExInterlockedInsertHeadList - insert at the head; returns the old first entry or NULL. */
static inline PLIST_ENTRY ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                                      PKSPIN_LOCK Lock)
{
    return kdpc_ExInterlockedInsertHeadList(ListHead, ListEntry, Lock);
}
/** ExInterlockedInsertTailList - insert at the tail; returns the old last entry or NULL. */
static inline PLIST_ENTRY ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                                      PKSPIN_LOCK Lock)
{
    return kdpc_ExInterlockedInsertTailList(ListHead, ListEntry, Lock);
}
/** ExInterlockedRemoveHeadList - remove the first entry; NULL when the list is empty. */
static inline PLIST_ENTRY ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    return kdpc_ExInterlockedRemoveHeadList(ListHead, Lock);
}
/** ExInterlockedPushEntryList - push; returns the old first entry or NULL. */
static inline PSINGLE_LIST_ENTRY ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                            PSINGLE_LIST_ENTRY ListEntry,
                                                            PKSPIN_LOCK Lock)
{
    return kdpc_ExInterlockedPushEntryList(ListHead, ListEntry, Lock);
}
/** ExInterlockedPopEntryList - pop; NULL when the list is empty. */
static inline PSINGLE_LIST_ENTRY ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                           PKSPIN_LOCK Lock)
{
    return kdpc_ExInterlockedPopEntryList(ListHead, Lock);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_EX_H */
