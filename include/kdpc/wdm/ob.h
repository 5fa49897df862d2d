/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/ob.h - the object manager surface: OBJECT_ATTRIBUTES and
 * InitializeObjectAttributes, the OBJ_* handle attributes, standard and
 * event access rights, object types, ZwClose and the Ob* reference routines
 * (docs/facts/memory.md, "Objects and handles").
 *
 * kdpc's handles live in one table per machine: kernel handles (values as on
 * x64: multiples of 4 with the kernel bit set) for thread objects
 * (PsCreateSystemThread), event objects (IoCreateNotificationEvent,
 * IoCreateSynchronizationEvent) and registry keys, and the user-mode handles
 * the test makes as the app (<kdpc/object.h>). Rules: ob.irql (IRQL of the
 * routines), ob.user_handle (a user-mode handle referenced with KernelMode),
 * obj.invalid (a reference of a pointer that is no object).
 */
#ifndef KDPC_WDM_OB_H
#define KDPC_WDM_OB_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/ke.h>
#include <kdpc/wdm/dispatcher.h>

KDPC_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* Object attributes                                                   */

/** What a routine that creates or opens an object is told about the object and its handle:
 * its name (relative to RootDirectory when that is not NULL), handle attributes (OBJ_*), and
 * security (kdpc ignores SecurityDescriptor and SecurityQualityOfService). */
typedef struct _OBJECT_ATTRIBUTES {
    ULONG Length; /* sizeof(OBJECT_ATTRIBUTES) */
    HANDLE RootDirectory;
    PUNICODE_STRING ObjectName;
    ULONG Attributes; /* OBJ_* */
    PVOID SecurityDescriptor;
    PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
typedef const OBJECT_ATTRIBUTES *PCOBJECT_ATTRIBUTES;

/* Handle attributes (OBJECT_ATTRIBUTES.Attributes) */
#define OBJ_INHERIT                       0x00000002L
#define OBJ_PERMANENT                     0x00000010L
#define OBJ_EXCLUSIVE                     0x00000020L
#define OBJ_CASE_INSENSITIVE              0x00000040L
#define OBJ_OPENIF                        0x00000080L
#define OBJ_OPENLINK                      0x00000100L
#define OBJ_KERNEL_HANDLE                 0x00000200L
#define OBJ_FORCE_ACCESS_CHECK            0x00000400L
#define OBJ_IGNORE_IMPERSONATED_DEVICEMAP 0x00000800L
#define OBJ_DONT_REPARSE                  0x00001000L
#define OBJ_VALID_ATTRIBUTES              0x00001FF2L

/**
 * InitializeObjectAttributes - fill *p: Length = sizeof(OBJECT_ATTRIBUTES),
 * ObjectName = n, Attributes = a, RootDirectory = r, SecurityDescriptor = s,
 * SecurityQualityOfService = NULL. A statement (usable as `...;` anywhere a
 * statement is). IRQL: any.
 */
#define InitializeObjectAttributes(p, n, a, r, s)                                                  \
    do {                                                                                           \
        (p)->Length = (ULONG)sizeof(OBJECT_ATTRIBUTES);                                            \
        (p)->RootDirectory = (r);                                                                  \
        (p)->Attributes = (ULONG)(a);                                                              \
        (p)->ObjectName = (n);                                                                     \
        (p)->SecurityDescriptor = (s);                                                             \
        (p)->SecurityQualityOfService = NULL;                                                      \
    } while (0)

/** The handle attributes and access of an open handle (ObReferenceObjectByHandle). */
typedef struct _OBJECT_HANDLE_INFORMATION {
    ULONG HandleAttributes;
    ACCESS_MASK GrantedAccess;
} OBJECT_HANDLE_INFORMATION, *POBJECT_HANDLE_INFORMATION;

/* ------------------------------------------------------------------ */
/* Access rights                                                       */

#ifndef DELETE
#define DELETE 0x00010000L
#endif
#define READ_CONTROL 0x00020000L
#define WRITE_DAC    0x00040000L
#define WRITE_OWNER  0x00080000L
#ifndef SYNCHRONIZE
#define SYNCHRONIZE 0x00100000L
#endif
#define STANDARD_RIGHTS_REQUIRED 0x000F0000L
#define STANDARD_RIGHTS_READ     READ_CONTROL
#define STANDARD_RIGHTS_WRITE    READ_CONTROL
#define STANDARD_RIGHTS_EXECUTE  READ_CONTROL
#define STANDARD_RIGHTS_ALL      0x001F0000L
#define SPECIFIC_RIGHTS_ALL      0x0000FFFFL
#define ACCESS_SYSTEM_SECURITY   0x01000000L
#define MAXIMUM_ALLOWED          0x02000000L

/* Event objects */
#define EVENT_QUERY_STATE  0x0001
#define EVENT_MODIFY_STATE 0x0002
#define EVENT_ALL_ACCESS   (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3)

/* ------------------------------------------------------------------ */
/* Object types                                                        */

typedef struct _OBJECT_TYPE *POBJECT_TYPE;
/** Object types for ObReferenceObjectByHandle / ObReferenceObjectByPointer: *PsThreadType
 * (KTHREAD), *ExEventObjectType (KEVENT), *IoFileObjectType (FILE_OBJECT), *IoDeviceObjectType
 * (DEVICE_OBJECT), *IoDriverObjectType (DRIVER_OBJECT). */
KDPC_EXPORT extern POBJECT_TYPE *kdpc_PsThreadType;
KDPC_EXPORT extern POBJECT_TYPE *kdpc_ExEventObjectType;
KDPC_EXPORT extern POBJECT_TYPE *kdpc_IoFileObjectType;
KDPC_EXPORT extern POBJECT_TYPE *kdpc_IoDeviceObjectType;
KDPC_EXPORT extern POBJECT_TYPE *kdpc_IoDriverObjectType;
#define PsThreadType       kdpc_PsThreadType
#define ExEventObjectType  kdpc_ExEventObjectType
#define IoFileObjectType   kdpc_IoFileObjectType
#define IoDeviceObjectType kdpc_IoDeviceObjectType
#define IoDriverObjectType kdpc_IoDriverObjectType

/** The calling thread, as a handle for ObReferenceObjectByHandle (no table entry). */
#define NtCurrentThread() ((HANDLE)(LONG_PTR)-2)
#define ZwCurrentThread() NtCurrentThread()

/* ------------------------------------------------------------------ */
/* Handles and references                                              */

KDPC_EXPORT NTSTATUS kdpc_ZwClose(HANDLE Handle);
KDPC_EXPORT NTSTATUS kdpc_ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                                    POBJECT_TYPE ObjectType,
                                                    KPROCESSOR_MODE AccessMode, PVOID *Object,
                                                    POBJECT_HANDLE_INFORMATION HandleInformation);
KDPC_EXPORT void kdpc_ObDereferenceObject(PVOID Object);
KDPC_EXPORT void kdpc_ObReferenceObject(PVOID Object);
KDPC_EXPORT NTSTATUS kdpc_ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
                                                     POBJECT_TYPE ObjectType,
                                                     KPROCESSOR_MODE AccessMode);
KDPC_EXPORT PKEVENT kdpc_IoCreateNotificationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle);
KDPC_EXPORT PKEVENT kdpc_IoCreateSynchronizationEvent(PUNICODE_STRING EventName,
                                                      PHANDLE EventHandle);

/**
 * ZwClose - close a handle of any kind (thread, event, registry key; a
 * user-mode handle too, as the driver runs in the app's context). The object
 * lives on while references to it remain; the value may be given out again.
 * IRQL: PASSIVE_LEVEL (ob.irql: 0xC4, P1 0x2001F, IrqlZwPassive; as a
 * warning or off the handle is closed anyway).
 * Return: STATUS_SUCCESS, STATUS_INVALID_HANDLE (not an open handle).
 */
static inline NTSTATUS ZwClose(HANDLE Handle)
{
    return kdpc_ZwClose(Handle);
}

/**
 * ObReferenceObjectByHandle - the object behind an open handle, with one more
 * reference (drop it with ObDereferenceObject). ObjectType, when not NULL, must
 * match the object (*PsThreadType, *ExEventObjectType). With UserMode the
 * handle must be a user-mode one (<kdpc/object.h>) and its granted access must
 * cover DesiredAccess; with KernelMode no access check is made.
 * NtCurrentThread() names the calling thread.
 * *HandleInformation (when not NULL) gets the granted access and
 * OBJ_KERNEL_HANDLE for a kernel handle.
 * IRQL: PASSIVE_LEVEL (ob.irql: 0xC4, P1 0x2001B, IrqlObPassive; as a warning
 * or off: STATUS_INVALID_HANDLE).
 * Return: STATUS_SUCCESS; STATUS_INVALID_HANDLE (not an open handle, a kernel
 * handle with UserMode, NULL Object); STATUS_OBJECT_TYPE_MISMATCH;
 * STATUS_ACCESS_DENIED. *Object is NULL on failure.
 * Bug check: a user-mode handle with KernelMode is Driver Verifier's 0xC4/0xF6
 * (ob.user_handle, P2 the handle; as a warning or off the reference is made).
 * Divergence: a registry key handle gives STATUS_OBJECT_TYPE_MISMATCH (kdpc has
 * no key object type); NtCurrentProcess() is not modelled (STATUS_INVALID_HANDLE).
 */
static inline NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                                 POBJECT_TYPE ObjectType,
                                                 KPROCESSOR_MODE AccessMode, PVOID *Object,
                                                 POBJECT_HANDLE_INFORMATION HandleInformation)
{
    return kdpc_ObReferenceObjectByHandle(Handle, DesiredAccess, ObjectType, AccessMode, Object,
                                          HandleInformation);
}
/* Drivers pass the address of their own typed pointer (&Ext->ThreadObject, a PETHREAD or
 * PKEVENT) as Object, which Microsoft's compiler converts to PVOID * silently while gcc and
 * clang reject it (-Wincompatible-pointer-types): the macro converts it, as MSVC does. */
#define ObReferenceObjectByHandle(Handle, DesiredAccess, ObjectType, AccessMode, Object,           \
                                  HandleInformation)                                               \
    ObReferenceObjectByHandle((Handle), (DesiredAccess), (ObjectType), (AccessMode),               \
                              (PVOID *)(Object), (HandleInformation))
/**
 * ObReferenceObjectByPointer - one more reference of an object kdpc made
 * (thread, event object, file, device or driver object), after checking its
 * type when ObjectType is not NULL. No access check is made.
 * IRQL: <= DISPATCH_LEVEL (ob.irql, P1 0x20011).
 * Return: STATUS_SUCCESS, STATUS_OBJECT_TYPE_MISMATCH (no reference taken).
 * Bug check: a pointer that is no such object is 0xC4/0x3F (obj.invalid, P2 the
 * pointer, P3 1); as a warning or off: STATUS_INVALID_PARAMETER.
 */
static inline NTSTATUS ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
                                                  POBJECT_TYPE ObjectType,
                                                  KPROCESSOR_MODE AccessMode)
{
    return kdpc_ObReferenceObjectByPointer(Object, DesiredAccess, ObjectType, AccessMode);
}
/**
 * ObReferenceObject - one more reference of an object kdpc made (thread, event
 * object, file, device or driver object), to be dropped with
 * ObDereferenceObject. IRQL: <= DISPATCH_LEVEL (ob.irql, P1 0x20011).
 * Bug check: NULL faults (obj.invalid: 0x1E, 0xA at raised IRQL); a pointer that
 * is no such object is 0xC4/0x3F (obj.invalid, P3 1); as a warning: ignored.
 * Divergence: a DEVICE_OBJECT's references do not hold back IoDeleteDevice's free.
 */
static inline void ObReferenceObject(PVOID Object)
{
    kdpc_ObReferenceObject(Object);
}
/**
 * ObDereferenceObject - drop one reference taken by ObReferenceObject(ByHandle/
 * ByPointer) or returned by IoGetDeviceObjectPointer (a file object's last
 * reference sends IRP_MJ_CLOSE; an ended thread's or an event object's last
 * reference, with no handle left, frees it).
 * IRQL: <= DISPATCH_LEVEL (ob.irql, P1 0x20011).
 * Bug check: 0xC4/0x3F (obj.invalid, P2 the object, P3 -1) when no reference is
 * held; NULL faults; as a warning: ignored.
 */
static inline void ObDereferenceObject(PVOID Object)
{
    kdpc_ObDereferenceObject(Object);
}

/**
 * IoCreateNotificationEvent / IoCreateSynchronizationEvent - open the event
 * object named EventName (e.g. L"\\BaseNamedObjects\\Name"; names compare
 * without case), or create it, signaled, when there is none; *EventHandle gets
 * a kernel handle (close it with ZwClose) and the result is the event, which
 * lives while a handle or reference to it remains. Also named by the app's
 * kdpc_user_event_open. IRQL: PASSIVE_LEVEL (io.passive_irql: 0xC4, P1 0x2000D,
 * IrqlIoPassive4; as a warning or off: NULL).
 * Return: the event, or NULL (NULL, empty or odd-length name, out of memory;
 * *EventHandle is then NULL).
 */
static inline PKEVENT IoCreateNotificationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle)
{
    return kdpc_IoCreateNotificationEvent(EventName, EventHandle);
}
static inline PKEVENT IoCreateSynchronizationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle)
{
    return kdpc_IoCreateSynchronizationEvent(EventName, EventHandle);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_OB_H */
