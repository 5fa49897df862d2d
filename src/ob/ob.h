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
#include "base/ptrmap.h"
#include "sim/sim.h"
#include "verifier/verifier.h"

typedef enum { KDPC__OB_THREAD, KDPC__OB_EVENT, KDPC__OB_KEY } kdpc__ob_kind;
typedef void (*kdpc__ob_close_fn)(void *object);

/* A new handle for @object in the machine's kernel handle table; NULL when full/no memory. */
HANDLE kdpc__ob_handle_open(kdpc_machine *m, kdpc__ob_kind kind, void *object, ACCESS_MASK granted,
                            kdpc__ob_close_fn on_close);
/* The object behind @h if it is open and of @kind (else NULL); *granted gets its access. */
void *kdpc__ob_handle_object(kdpc_machine *m, HANDLE h, kdpc__ob_kind kind, ACCESS_MASK *granted);
/* Close @h (calls on_close). STATUS_INVALID_HANDLE when @h is not open. */
NTSTATUS kdpc__ob_handle_close(kdpc_machine *m, HANDLE h);

/* ---- the rest of the layer's internals ---- */

/* One handle-table slot. */
typedef struct kdpc__ob_slot {
    void *object; /* NULL: free */
    kdpc__ob_close_fn on_close;
    ACCESS_MASK granted;
    uint8_t kind;  /* kdpc__ob_kind */
    bool user;     /* a user-mode handle (the test's app, <kdpc/object.h>) */
    uint32_t next; /* free list: next free index + 1; 0 = none */
} kdpc__ob_slot;

typedef struct kdpc__ob_event kdpc__ob_event;

typedef struct kdpc__ob {
    kdpc__ob_slot *slots;
    uint32_t n, cap;        /* slots in use at least once; allocated */
    uint32_t free_head;     /* free index + 1; 0 = none (last closed first, as Windows) */
    uint32_t open;          /* open handles */
    kdpc__ob_event *events; /* event objects the layer made (event.c) */
    kdpc__ptrmap refs;      /* device/driver object -> (void *)(uintptr_t) extra references */
} kdpc__ob;

/* The layer's state (made on first use); NULL when out of host memory. */
kdpc__ob *kdpc__ob_get(kdpc_machine *m);

/* As kdpc__ob_handle_open, for a user-mode handle (no kernel bit) when @user. */
HANDLE kdpc__ob_handle_open_mode(kdpc_machine *m, kdpc__ob_kind kind, void *object,
                                 ACCESS_MASK granted, kdpc__ob_close_fn on_close, bool user);
/* The slot of an open handle, or NULL. */
const kdpc__ob_slot *kdpc__ob_handle_slot(kdpc_machine *m, HANDLE h);

/* Event objects (event.c): a new one with one reference (the caller's); NULL when out of memory.
 */
PKEVENT kdpc__ob_event_new(kdpc_machine *m, EVENT_TYPE type, BOOLEAN state);
/* +1 / -1 reference of an event the layer made (true); false when @ev is not one, or its count
 * is 0 (a dead event kept only while a waiter is linked). The last reference frees it. */
bool kdpc__ob_event_ref(kdpc_machine *m, void *ev);
bool kdpc__ob_event_deref(kdpc_machine *m, void *ev);
/* Handle close function of event handles: drops the handle's reference. */
void kdpc__ob_event_closed(void *ev);
void kdpc__ob_events_free(kdpc__ob *ob);
/* The live event named @name (@len bytes, compared without case) with one more reference; else,
 * when @create, a new one of @type (signaled) with one reference and *created set. NULL when
 * none / out of memory. */
PKEVENT kdpc__ob_event_named(kdpc_machine *m, const WCHAR *name, USHORT len, EVENT_TYPE type,
                             bool create, bool *created);

/* IRQL check of an Ob routine: true when the calling CPU's IRQL is at most @max; else the
 * ob.irql report (0xC4, P1 @ddi: the DDI compliance rule's code, P2 the IRQL, P3 @max), which
 * returns as a warning or off: then false. */
static inline bool kdpc__ob_irql_ok(kdpc_machine *m, const kdpc__cpu *c, KIRQL max, uint32_t ddi,
                                    const char *routine)
{
    return kdpc__ver_irql_at_most(m, KDPC_R_OB_IRQL, c->irql, max, ddi, max, 0, routine);
}
#define KDPC_DDI_IRQL_OB_PASSIVE      0x2001Bu /* IrqlObPassive */
#define KDPC_DDI_IRQL_ZW_PASSIVE      0x2001Fu /* IrqlZwPassive (ZwClose) */
#define KDPC_DDI_IRQL_KE_DISPATCH_LTE 0x20011u /* IrqlKeDispatchLte */

/* ObReferenceObjectByHandle got @h, which is no open handle of the table (badhandle.c, area
 * irql-ke): with AccessMode KernelMode the ob.bad_handle report (0xC4/0xF5 for NULL, else
 * 0xC4/0x3C); returns when it is a warning or off. A UserMode caller is not reported: a bad
 * handle from an application is the application's error, answered with a status. */
void kdpc__ob_bad_handle(kdpc_machine *m, HANDLE h, POBJECT_TYPE type, KPROCESSOR_MODE mode);

/* Machine teardown: drop the table without calling any on_close (each layer frees its own
 * objects), and the events the native user-event calls made. */
void kdpc__ob_free(kdpc_machine *m);

#endif /* KDPC_OB_H */
