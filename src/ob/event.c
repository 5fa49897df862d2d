/* SPDX-License-Identifier: MIT */
/*
 * event.c - event objects the object manager owns: the ones the test's
 * user-mode app makes (<kdpc/object.h>) and IoCreateNotificationEvent /
 * IoCreateSynchronizationEvent. Unlike a KEVENT a driver initialises in its
 * own memory, such an event has a reference count: each handle holds one,
 * ObReferenceObjectByHandle adds one, and the last ObDereferenceObject or
 * handle close frees it (docs/facts/memory.md, "Event objects").
 */
#include <stdlib.h>

#include "io/io.h"
#include "ke/ke.h"
#include "ob/ob.h"

struct kdpc__ob_event {
    KEVENT ev; /* first: the object pointer is the record's */
    LONG refs;
    kdpc_machine *m;
    WCHAR *name;     /* IoCreate*Event's name (its own copy), or NULL */
    USHORT name_len; /* bytes */
    kdpc__ob_event *next;
};

PKEVENT kdpc__ob_event_new(kdpc_machine *m, EVENT_TYPE type, BOOLEAN state)
{
    kdpc__ob *ob = kdpc__ob_get(m);
    kdpc__ob_event *e = ob == NULL ? NULL : calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    kdpc_KeInitializeEvent(&e->ev, type, state);
    e->refs = 1;
    e->m = m;
    e->next = ob->events;
    ob->events = e;
    return &e->ev;
}

static kdpc__ob_event *find(kdpc_machine *m, const void *p)
{
    kdpc__ob *ob = kdpc__ke_of(m)->ob;
    for (kdpc__ob_event *e = ob == NULL ? NULL : ob->events; e != NULL; e = e->next)
        if (&e->ev == p)
            return e;
    return NULL;
}

bool kdpc__ob_event_ref(kdpc_machine *m, void *ev)
{
    kdpc__ob_event *e = find(m, ev);
    if (e == NULL || e->refs <= 0)
        return false; /* none, or dead (kept only for a waiter): no reference from zero */
    e->refs++;
    return true;
}

/* A waiter still linked keeps the record until teardown (its wait block points into it). */
static void release(kdpc__ob *ob, kdpc__ob_event *e)
{
    if (e->refs > 0 || !IsListEmpty(&e->ev.Header.WaitListHead))
        return;
    for (kdpc__ob_event **p = &ob->events; *p != NULL; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            break;
        }
    }
    free(e->name);
    free(e);
}

bool kdpc__ob_event_deref(kdpc_machine *m, void *ev)
{
    kdpc__ob_event *e = find(m, ev);
    if (e == NULL || e->refs <= 0)
        return false;
    e->refs--;
    release(kdpc__ke_of(m)->ob, e);
    return true;
}

void kdpc__ob_event_closed(void *ev)
{
    kdpc__ob_event *e = ev;
    (void)kdpc__ob_event_deref(e->m, ev);
}

void kdpc__ob_events_free(kdpc__ob *ob)
{
    while (ob->events != NULL) {
        kdpc__ob_event *e = ob->events;
        ob->events = e->next;
        free(e->name);
        free(e);
    }
}

/* ------------------------------------------------------------------ */
/* Named events                                                        */

static WCHAR fold(WCHAR c)
{
    return c >= 'a' && c <= 'z' ? (WCHAR)(c - 'a' + 'A') : c;
}

static bool same_name(const kdpc__ob_event *e, const WCHAR *name, USHORT len)
{
    if (e->name == NULL || e->name_len != len)
        return false;
    for (USHORT i = 0; i < len / 2u; i++)
        if (fold(e->name[i]) != fold(name[i]))
            return false;
    return true;
}

PKEVENT kdpc__ob_event_named(kdpc_machine *m, const WCHAR *name, USHORT len, EVENT_TYPE type,
                             bool create, bool *created)
{
    kdpc__ob *ob = kdpc__ob_get(m);
    *created = false;
    if (ob == NULL)
        return NULL;
    for (kdpc__ob_event *e = ob->events; e != NULL; e = e->next) {
        if (e->refs > 0 && same_name(e, name, len)) {
            e->refs++;
            return &e->ev;
        }
    }
    if (!create)
        return NULL;
    WCHAR *copy = malloc(len == 0 ? 1u : len);
    if (copy == NULL)
        return NULL;
    memcpy(copy, name, len);
    PKEVENT ev = kdpc__ob_event_new(m, type, TRUE); /* a new named event starts signaled */
    if (ev == NULL) {
        free(copy);
        return NULL;
    }
    kdpc__ob_event *e = (kdpc__ob_event *)ev;
    e->name = copy;
    e->name_len = len;
    *created = true;
    return ev;
}

/* IoCreateNotificationEvent / IoCreateSynchronizationEvent. */
static PKEVENT create_named(const char *routine, PUNICODE_STRING EventName, PHANDLE EventHandle,
                            EVENT_TYPE type)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(routine, &c);
    if (m == NULL)
        return NULL;
    bool irql_ok = kdpc__io_passive_ok(m, c, routine); /* IrqlIoPassive4 names both routines */
    if (!irql_ok || EventHandle == NULL || EventName == NULL || EventName->Buffer == NULL ||
        EventName->Length == 0 || (EventName->Length & 1u) != 0) {
        if (EventHandle != NULL)
            *EventHandle = NULL;
        return NULL;
    }
    bool created;
    PKEVENT ev =
        kdpc__ob_event_named(m, EventName->Buffer, EventName->Length, type, true, &created);
    HANDLE h = ev == NULL ? NULL
                          : kdpc__ob_handle_open(m, KDPC__OB_EVENT, ev, EVENT_ALL_ACCESS,
                                                 kdpc__ob_event_closed);
    if (ev != NULL && h == NULL) {
        (void)kdpc__ob_event_deref(m, ev);
        ev = NULL;
    }
    *EventHandle = h;
    kdpc__ke_point(m);
    return ev;
}

PKEVENT kdpc_IoCreateNotificationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle)
{
    return create_named("IoCreateNotificationEvent", EventName, EventHandle, NotificationEvent);
}

PKEVENT kdpc_IoCreateSynchronizationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle)
{
    return create_named("IoCreateSynchronizationEvent", EventName, EventHandle,
                        SynchronizationEvent);
}
