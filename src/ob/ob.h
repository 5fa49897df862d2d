/* SPDX-License-Identifier: MIT */
/*
 * ob.h - the object manager layer's internal interface: the machine's kernel
 * handle table (handle.c) that thread, event and registry key handles live
 * in, and the object references of ObReferenceObject / ObDereferenceObject.
 *
 * Handles look like x64 kernel handles: multiples of 4 with the kernel bit
 * (sign-extended 0x80000000) set. A closed handle's value may be given out
 * again, as on Windows. Lock legend: B baton holder only (every call here).
 */
#ifndef KDPC_OB_H
#define KDPC_OB_H

#include <kdpc/wdm.h>
#include "sim/sim.h"

typedef enum { KDPC__OB_THREAD, KDPC__OB_EVENT, KDPC__OB_KEY } kdpc__ob_kind;
typedef void (*kdpc__ob_close_fn)(void *object);

/* A new handle for @object in the machine's kernel handle table; NULL when full/no memory. */
HANDLE kdpc__ob_handle_open(kdpc_machine *m, kdpc__ob_kind kind, void *object, ACCESS_MASK granted,
                            kdpc__ob_close_fn on_close);
/* The object behind @h if it is open and of @kind (else NULL); *granted gets its access. */
void *kdpc__ob_handle_object(kdpc_machine *m, HANDLE h, kdpc__ob_kind kind, ACCESS_MASK *granted);
/* Close @h (calls on_close). STATUS_INVALID_HANDLE when @h is not open. */
NTSTATUS kdpc__ob_handle_close(kdpc_machine *m, HANDLE h);

/* Machine teardown: drop the table without calling any on_close (each layer frees its own
 * objects), and the events the native user-event calls made. */
void kdpc__ob_free(kdpc_machine *m);

#endif /* KDPC_OB_H */
