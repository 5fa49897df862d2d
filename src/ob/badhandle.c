/* SPDX-License-Identifier: MIT */
/*
 * badhandle.c - ob.bad_handle: ObReferenceObjectByHandle in kernel mode with a
 * handle that is not open (Driver Verifier's 0xC4/0x3C, and 0xC4/0xF5 for a
 * NULL handle; docs/facts/memory.md, "Objects and handles").
 *
 * A kernel-mode caller names handles it opened itself (or the current
 * thread's pseudo handle): a NULL, closed or made-up one is a driver bug. A
 * user-mode caller passes on a handle that came from an application, whose
 * mistakes the routine answers with STATUS_INVALID_HANDLE: not reported.
 */
#include "ob/ob.h"

void kdpc__ob_bad_handle(kdpc_machine *m, HANDLE h, POBJECT_TYPE type, KPROCESSOR_MODE mode)
{
    /* NtCurrentProcess() (-1) and the other pseudo handles (-2..-6) name the caller's own
     * objects on Windows; kdpc has no process or token objects and fails them without a report */
    if (mode != KernelMode || ((intptr_t)h < 0 && (intptr_t)h >= -6))
        return;
    if (h == NULL) {
        /* 0xF5: P2 the handle (NULL), P3 the object type asked for */
        kdpc__violation(m, KDPC_R_OB_BAD_HANDLE, 0xC4, 0xF5, 0, (uintptr_t)type, 0, NULL,
                        "ObReferenceObjectByHandle with a NULL handle (KernelMode)");
        return;
    }
    /* 0x3C: P2 the handle, P3 the object type asked for */
    kdpc__violation(m, KDPC_R_OB_BAD_HANDLE, 0xC4, 0x3C, (uintptr_t)h, (uintptr_t)type, 0, NULL,
                    "ObReferenceObjectByHandle(%p) with KernelMode: not an open kernel handle "
                    "(closed, never opened, or a user-mode handle value)",
                    h);
}
