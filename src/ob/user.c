/* SPDX-License-Identifier: MIT */
/*
 * user.c - the native calls of <kdpc/object.h>: the test as the user-mode app
 * making, opening, signalling, watching and closing event objects through
 * user-mode handles.
 */
#include <kdpc/object.h>

#include "io/io.h"
#include "ke/ke.h"
#include "ob/ob.h"

#define NAME_MAX_CHARS 200u

/* The caller is simulated code of @m at PASSIVE_LEVEL. */
static bool ctx_ok(kdpc_machine *m)
{
    kdpc__thread *t = kdpc__io_passive_thread();
    return m != NULL && t != NULL && t->m == m;
}

/* The access a new event handle is granted: generic rights mapped to the event's specific ones
 * (docs/facts/memory.md 2.2), MAXIMUM_ALLOWED to all of them. */
static ACCESS_MASK event_access(ACCESS_MASK a)
{
    ACCESS_MASK r = a & ~(ACCESS_MASK)(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE |
                                       GENERIC_ALL | MAXIMUM_ALLOWED);
    if ((a & GENERIC_READ) != 0)
        r |= STANDARD_RIGHTS_READ | EVENT_QUERY_STATE;
    if ((a & GENERIC_WRITE) != 0)
        r |= STANDARD_RIGHTS_WRITE | EVENT_MODIFY_STATE;
    if ((a & GENERIC_EXECUTE) != 0)
        r |= STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE;
    if ((a & (GENERIC_ALL | MAXIMUM_ALLOWED)) != 0)
        r |= EVENT_ALL_ACCESS;
    return r;
}

static NTSTATUS new_handle(kdpc_machine *m, PKEVENT ev, ACCESS_MASK access, HANDLE *handle)
{
    access = event_access(access);
    HANDLE h =
        kdpc__ob_handle_open_mode(m, KDPC__OB_EVENT, ev, access, kdpc__ob_event_closed, true);
    if (h == NULL) {
        (void)kdpc__ob_event_deref(m, ev);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    *handle = h;
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_user_event_create(kdpc_machine *m, BOOLEAN manual_reset, BOOLEAN initial_state,
                                ACCESS_MASK access, HANDLE *handle)
{
    if (handle != NULL)
        *handle = NULL;
    if (!ctx_ok(m) || handle == NULL)
        return STATUS_INVALID_PARAMETER;
    PKEVENT ev = kdpc__ob_event_new(m, manual_reset ? NotificationEvent : SynchronizationEvent,
                                    initial_state ? TRUE : FALSE);
    if (ev == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    return new_handle(m, ev, access, handle);
}

NTSTATUS kdpc_user_event_open(kdpc_machine *m, const char *name, ACCESS_MASK access, HANDLE *handle)
{
    if (handle != NULL)
        *handle = NULL;
    if (!ctx_ok(m) || handle == NULL || name == NULL)
        return STATUS_INVALID_PARAMETER;
    static const char global[] = "Global\\", dir[] = "\\BaseNamedObjects\\";
    if (strncmp(name, global, sizeof(global) - 1u) == 0)
        name += sizeof(global) - 1u;
    size_t n = strlen(name), nd = sizeof(dir) - 1u;
    if (n == 0 || n > NAME_MAX_CHARS)
        return STATUS_OBJECT_NAME_INVALID;
    WCHAR w[sizeof(dir) + NAME_MAX_CHARS];
    for (size_t i = 0; i < nd; i++)
        w[i] = (WCHAR)(unsigned char)dir[i];
    for (size_t i = 0; i < n; i++)
        w[nd + i] = (WCHAR)(unsigned char)name[i];
    bool created;
    PKEVENT ev = kdpc__ob_event_named(m, w, (USHORT)((nd + n) * sizeof(WCHAR)), NotificationEvent,
                                      false, &created);
    if (ev == NULL)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    return new_handle(m, ev, access, handle);
}

/* The event behind a user-mode event handle with @need granted; else the status. */
static NTSTATUS event_of(kdpc_machine *m, HANDLE h, ACCESS_MASK need, PKEVENT *ev)
{
    if (!ctx_ok(m))
        return STATUS_INVALID_PARAMETER;
    const kdpc__ob_slot *s = kdpc__ob_handle_slot(m, h);
    if (s == NULL || !s->user || s->kind != KDPC__OB_EVENT)
        return STATUS_INVALID_HANDLE;
    if ((s->granted & need) != need)
        return STATUS_ACCESS_DENIED;
    *ev = s->object;
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_user_event_set(kdpc_machine *m, HANDLE handle)
{
    PKEVENT ev;
    NTSTATUS st = event_of(m, handle, EVENT_MODIFY_STATE, &ev);
    if (NT_SUCCESS(st))
        (void)kdpc_KeSetEvent(ev, IO_NO_INCREMENT, FALSE);
    return st;
}

NTSTATUS kdpc_user_event_reset(kdpc_machine *m, HANDLE handle)
{
    PKEVENT ev;
    NTSTATUS st = event_of(m, handle, EVENT_MODIFY_STATE, &ev);
    if (NT_SUCCESS(st))
        (void)kdpc_KeResetEvent(ev);
    return st;
}

NTSTATUS kdpc_user_event_state(kdpc_machine *m, HANDLE handle, BOOLEAN *signaled)
{
    PKEVENT ev;
    if (signaled == NULL)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS st = event_of(m, handle, EVENT_QUERY_STATE, &ev);
    if (NT_SUCCESS(st))
        *signaled = kdpc_KeReadStateEvent(ev) != 0 ? TRUE : FALSE;
    return st;
}

NTSTATUS kdpc_user_event_wait(kdpc_machine *m, HANDLE handle, int64_t timeout_ns)
{
    PKEVENT ev;
    NTSTATUS st = event_of(m, handle, SYNCHRONIZE, &ev);
    if (!NT_SUCCESS(st))
        return st;
    (void)kdpc__ob_event_ref(m, ev); /* the wait's reference: a close meanwhile keeps it */
    LARGE_INTEGER due;
    due.QuadPart = timeout_ns < 0 ? 0 : -(timeout_ns / 100);
    st = kdpc_KeWaitForSingleObject(ev, UserRequest, UserMode, FALSE, timeout_ns < 0 ? NULL : &due);
    (void)kdpc__ob_event_deref(m, ev);
    return st;
}

NTSTATUS kdpc_user_event_close(kdpc_machine *m, HANDLE handle)
{
    PKEVENT ev;
    NTSTATUS st = event_of(m, handle, 0, &ev); /* closing needs no access */
    if (!NT_SUCCESS(st))
        return st;
    st = kdpc__ob_handle_close(m, handle);
    kdpc__ke_point(m);
    return st;
}
