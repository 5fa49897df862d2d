/* SPDX-License-Identifier: MIT */
/*
 * copycheck.c - RtlCopyMemory with overlapping source and destination
 * (rtl.copy_overlap): Driver Verifier's 0xC4/0xF0, P2 the destination, P3
 * the source, P4 the length. The overlap test itself is inline in
 * <kdpc/wdm/types.h>, so a copy that does not overlap costs two compares;
 * only an overlap calls here. Host code (no simulated CPU) is not checked.
 * As a warning or off, the copy is done as memmove does it (Divergence: on
 * Windows the result of an overlapping memcpy is undefined).
 */
#include "rtl/rtl.h"
#include "verifier/verifier.h"

void kdpc_rtl_copy_overlap(void *Destination, const void *Source, size_t Length)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->cpu == NULL || t->m->ke == NULL)
        return;
    kdpc__violation(t->m, KDPC_R_RTL_COPY_OVERLAP, 0xC4, 0xF0, (uintptr_t)Destination,
                    (uintptr_t)Source, Length, NULL,
                    "RtlCopyMemory(%p, %p, %zu): source and destination overlap (RtlMoveMemory "
                    "copies overlapping buffers)",
                    Destination, Source, Length);
}
