/* SPDX-License-Identifier: MIT */
/*
 * kdpc/object.h - native calls with which a test plays the user-mode app
 * that shares an event object with a driver: it creates (or opens by name)
 * an event, gets a user-mode handle, passes the handle in an IOCTL (the
 * driver references it with ObReferenceObjectByHandle(..., UserMode, ...)),
 * and watches or waits for the driver's KeSetEvent.
 *
 * User-mode handles are small multiples of 4 without the kernel bit; the
 * driver runs in the app's context (kdpc has one process), so a handle the
 * app passes is valid in the driver's dispatch routine, as on Windows for a
 * top-level driver. Access rights: EVENT_QUERY_STATE, EVENT_MODIFY_STATE,
 * SYNCHRONIZE, EVENT_ALL_ACCESS (<kdpc/wdm/ob.h>); kdpc maps generic
 * rights (GENERIC_READ: READ_CONTROL | EVENT_QUERY_STATE,
 * GENERIC_WRITE: READ_CONTROL | EVENT_MODIFY_STATE, GENERIC_EXECUTE:
 * READ_CONTROL | SYNCHRONIZE, GENERIC_ALL and MAXIMUM_ALLOWED: EVENT_ALL_ACCESS).
 *
 * Thread of every call: simulated code of @m at PASSIVE_LEVEL (inside
 * kdpc_machine_run, not an idle context); else STATUS_INVALID_PARAMETER.
 */
#ifndef KDPC_OBJECT_H
#define KDPC_OBJECT_H

#include <kdpc/machine.h>
#include <kdpc/wdm.h>

KDPC_BEGIN_DECLS

/**
 * kdpc_user_event_create() - as the app's CreateEventEx with @access (CreateEvent's
 * handles get EVENT_ALL_ACCESS): a new unnamed event object (a NotificationEvent when
 * @manual_reset, else a SynchronizationEvent) and a user-mode handle to it
 * with @access granted. The event lives while a handle or a reference to it
 * remains.
 * Return: STATUS_SUCCESS with *@handle set; STATUS_INVALID_PARAMETER (NULL
 * @handle, wrong thread or IRQL); STATUS_INSUFFICIENT_RESOURCES. *@handle is
 * NULL on failure.
 */
KDPC_EXPORT NTSTATUS kdpc_user_event_create(kdpc_machine *m, BOOLEAN manual_reset,
                                            BOOLEAN initial_state, ACCESS_MASK access,
                                            HANDLE *handle);

/**
 * kdpc_user_event_open() - as the app's OpenEvent(@access, FALSE, @name): a
 * user-mode handle to the event a driver made with IoCreateNotificationEvent /
 * IoCreateSynchronizationEvent as "\BaseNamedObjects\<X>"; @name is "Global\<X>"
 * or "<X>" (ASCII; compared without case).
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_NOT_FOUND; STATUS_OBJECT_NAME_INVALID
 * (empty, over 200 characters); STATUS_INVALID_PARAMETER;
 * STATUS_INSUFFICIENT_RESOURCES.
 */
KDPC_EXPORT NTSTATUS kdpc_user_event_open(kdpc_machine *m, const char *name, ACCESS_MASK access,
                                          HANDLE *handle);

/**
 * kdpc_user_event_set() / kdpc_user_event_reset() - as SetEvent / ResetEvent
 * (KeSetEvent / KeResetEvent on the object).
 * Return: STATUS_SUCCESS; STATUS_INVALID_HANDLE (not an open user-mode event
 * handle); STATUS_ACCESS_DENIED (no EVENT_MODIFY_STATE); STATUS_INVALID_PARAMETER.
 */
KDPC_EXPORT NTSTATUS kdpc_user_event_set(kdpc_machine *m, HANDLE handle);
KDPC_EXPORT NTSTATUS kdpc_user_event_reset(kdpc_machine *m, HANDLE handle);

/**
 * kdpc_user_event_state() - whether the event is signaled now, without
 * changing it (KeReadStateEvent).
 * Return: STATUS_SUCCESS with *@signaled set; STATUS_INVALID_HANDLE;
 * STATUS_ACCESS_DENIED (no EVENT_QUERY_STATE); STATUS_INVALID_PARAMETER.
 */
KDPC_EXPORT NTSTATUS kdpc_user_event_state(kdpc_machine *m, HANDLE handle, BOOLEAN *signaled);

/**
 * kdpc_user_event_wait() - as WaitForSingleObject: wait (in virtual time) until
 * the event is signaled, at most @timeout_ns nanoseconds (negative: no limit).
 * A synchronization event is reset by the satisfied wait.
 * Return: STATUS_SUCCESS; STATUS_TIMEOUT; STATUS_INVALID_HANDLE;
 * STATUS_ACCESS_DENIED (no SYNCHRONIZE); STATUS_INVALID_PARAMETER.
 */
KDPC_EXPORT NTSTATUS kdpc_user_event_wait(kdpc_machine *m, HANDLE handle, int64_t timeout_ns);

/**
 * kdpc_user_event_close() - as CloseHandle on a user-mode event handle: the
 * event goes when no handle or reference is left.
 * Return: STATUS_SUCCESS; STATUS_INVALID_HANDLE (not an open user-mode event
 * handle: closed already, or a kernel handle); STATUS_INVALID_PARAMETER.
 */
KDPC_EXPORT NTSTATUS kdpc_user_event_close(kdpc_machine *m, HANDLE handle);

KDPC_END_DECLS

#endif /* KDPC_OBJECT_H */
