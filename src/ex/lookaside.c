/* SPDX-License-Identifier: MIT */
/*
 * lookaside.c - lookaside lists (ExInitialize/Delete/AllocateFrom/FreeTo
 * N(Paged)LookasideList): a bounded stack of free blocks of one size, so
 * a driver allocates fixed-size blocks without going to the pool each time.
 *
 * Driver Verifier's Miscellaneous checks (lookaside.misuse): kdpc keeps the set of
 * initialised lists (ex/pool.c, so that ExFreePool finds one inside a freed block: 0xC4/0xCC).
 * Initialising a list that is already live is 0xC4/0xCA, deleting one that is not 0xCB, a block
 * smaller than LOOKASIDE_MIN bytes 0xCD (P2 the list in each). Off or a warning: a second
 * initialisation or a small size goes ahead as before (the size rounded up); a delete of a list
 * that is not live does nothing, as its head cannot be trusted.
 */
#include "ke/ke.h"

/* Windows' smallest lookaside block: an SLIST_ENTRY (16 bytes on 64-bit hosts). */
#define LOOKASIDE_MIN (2u * sizeof(void *))

/* The machine of the calling simulated code, or NULL (the list routines also work outside). */
static kdpc_machine *machine_of_caller(void)
{
    kdpc__thread *t = kdpc__self();
    return t != NULL && t->cpu != NULL && t->m->ke != NULL ? t->m : NULL;
}

static PVOID default_allocate(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return kdpc_ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
}

static void default_free(PVOID Buffer)
{
    kdpc_ExFreePoolWithTag(Buffer, 0);
}

void kdpc_ExInitializeLookaside(GENERAL_LOOKASIDE *L, PALLOCATE_FUNCTION Allocate,
                                PFREE_FUNCTION Free, POOL_TYPE Type, SIZE_T Size, ULONG Tag,
                                USHORT Depth)
{
    if (L == NULL)
        return;
    (void)kdpc__ke_irql_lookaside_ok(L, (unsigned)Type, "ExInitializePagedLookasideList");
    kdpc_machine *m = machine_of_caller();
    if (m != NULL && !kdpc__pool_lookaside_add(m, L))
        kdpc__violation(m, KDPC_R_LOOKASIDE_MISUSE, 0xC4, 0xCA, (uintptr_t)L, 0, 0, NULL,
                        "lookaside list %p initialised again without being deleted", (void *)L);
    if (m != NULL && Size < LOOKASIDE_MIN)
        kdpc__violation(m, KDPC_R_LOOKASIDE_MISUSE, 0xC4, 0xCD, (uintptr_t)L, Size, LOOKASIDE_MIN,
                        NULL, "lookaside list %p initialised with %zu-byte blocks (at least %zu)",
                        (void *)L, (size_t)Size, (size_t)LOOKASIDE_MIN);
    L->ListHead.Next = NULL;
    L->Depth = Depth != 0 ? Depth : 4;
    L->MaximumDepth = L->Depth;
    L->TotalAllocates = L->AllocateMisses = L->TotalFrees = L->FreeMisses = 0;
    L->Type = Type;
    L->Tag = Tag;
    L->Size = (ULONG)(Size < sizeof(SINGLE_LIST_ENTRY) ? sizeof(SINGLE_LIST_ENTRY) : Size);
    L->Allocate = Allocate != NULL ? Allocate : default_allocate;
    L->Free = Free != NULL ? Free : default_free;
    InitializeListHead(&L->ListEntry);
    L->CurrentDepth = 0;
}

void kdpc_ExDeleteLookaside(GENERAL_LOOKASIDE *L)
{
    if (L == NULL)
        return;
    (void)kdpc__ke_irql_lookaside_ok(L, (unsigned)L->Type, "ExDeletePagedLookasideList");
    kdpc_machine *m = machine_of_caller();
    if (m != NULL && !kdpc__pool_lookaside_del(m, L)) {
        kdpc__violation(m, KDPC_R_LOOKASIDE_MISUSE, 0xC4, 0xCB, (uintptr_t)L, 0, 0, NULL,
                        "lookaside list %p deleted but not initialised (or deleted already)",
                        (void *)L);
        return;
    }
    PSINGLE_LIST_ENTRY e;
    while ((e = PopEntryList(&L->ListHead)) != NULL)
        L->Free(e);
    L->CurrentDepth = 0;
}

PVOID kdpc_ExAllocateFromLookaside(GENERAL_LOOKASIDE *L)
{
    if (L == NULL)
        return NULL;
    (void)kdpc__ke_irql_lookaside_ok(L, (unsigned)L->Type, "ExAllocateFromPagedLookasideList");
    L->TotalAllocates++;
    PSINGLE_LIST_ENTRY e = PopEntryList(&L->ListHead);
    if (e != NULL) {
        L->CurrentDepth--;
        return e;
    }
    L->AllocateMisses++;
    return L->Allocate(L->Type, L->Size, L->Tag);
}

void kdpc_ExFreeToLookaside(GENERAL_LOOKASIDE *L, PVOID Entry)
{
    if (L == NULL || Entry == NULL)
        return;
    (void)kdpc__ke_irql_lookaside_ok(L, (unsigned)L->Type, "ExFreeToPagedLookasideList");
    L->TotalFrees++;
    if (L->CurrentDepth >= L->Depth) {
        L->FreeMisses++;
        L->Free(Entry);
        return;
    }
    PushEntryList(&L->ListHead, (PSINGLE_LIST_ENTRY)Entry);
    L->CurrentDepth++;
}
