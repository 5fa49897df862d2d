/* SPDX-License-Identifier: MIT */
/*
 * lookaside.c - lookaside lists (ExInitialize/Delete/AllocateFrom/FreeTo
 * N(Paged)LookasideList): a bounded stack of free blocks of one size, so
 * a driver allocates fixed-size blocks without going to the pool each time.
 */
#include "ke/ke.h"

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
    PSINGLE_LIST_ENTRY e;
    while ((e = PopEntryList(&L->ListHead)) != NULL)
        L->Free(e);
    L->CurrentDepth = 0;
}

PVOID kdpc_ExAllocateFromLookaside(GENERAL_LOOKASIDE *L)
{
    if (L == NULL)
        return NULL;
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
    L->TotalFrees++;
    if (L->CurrentDepth >= L->Depth) {
        L->FreeMisses++;
        L->Free(Entry);
        return;
    }
    PushEntryList(&L->ListHead, (PSINGLE_LIST_ENTRY)Entry);
    L->CurrentDepth++;
}
