/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/ob.h - the object manager surface: OBJECT_ATTRIBUTES and
 * InitializeObjectAttributes, the OBJ_* handle attributes, standard and
 * event access rights, object types, ZwClose and the Ob* reference routines
 * (docs/facts/memory.md, "Objects and handles").
 *
 * kdpc's handles are kernel handles in one table per machine (values as on
 * x64: multiples of 4 with the kernel bit set), holding thread objects
 * (PsCreateSystemThread).
 */
#ifndef KDPC_WDM_OB_H
#define KDPC_WDM_OB_H

#include <kdpc/wdm/types.h>

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
/** Object types for ObReferenceObjectByHandle: *PsThreadType (KTHREAD). */
KDPC_EXPORT extern POBJECT_TYPE *kdpc_PsThreadType;
#define PsThreadType kdpc_PsThreadType

/* ------------------------------------------------------------------ */
/* Handles and references                                              */

KDPC_EXPORT NTSTATUS kdpc_ZwClose(HANDLE Handle);
KDPC_EXPORT NTSTATUS kdpc_ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                                    POBJECT_TYPE ObjectType,
                                                    KPROCESSOR_MODE AccessMode, PVOID *Object,
                                                    POBJECT_HANDLE_INFORMATION HandleInformation);
KDPC_EXPORT void kdpc_ObDereferenceObject(PVOID Object);

/**
 * ZwClose - close a kernel handle (a PsCreateSystemThread thread handle).
 * The object lives on while references to it remain. IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS, STATUS_INVALID_HANDLE (not an open handle).
 */
static inline NTSTATUS ZwClose(HANDLE Handle)
{
    return kdpc_ZwClose(Handle);
}

/**
 * ObReferenceObjectByHandle - the object behind an open handle, with one more
 * reference (drop it with ObDereferenceObject). ObjectType, when not NULL, must
 * match the handle's object (*PsThreadType).
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS, STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH,
 * STATUS_ACCESS_DENIED.
 */
static inline NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                                 POBJECT_TYPE ObjectType,
                                                 KPROCESSOR_MODE AccessMode, PVOID *Object,
                                                 POBJECT_HANDLE_INFORMATION HandleInformation)
{
    return kdpc_ObReferenceObjectByHandle(Handle, DesiredAccess, ObjectType, AccessMode, Object,
                                          HandleInformation);
}
/** ObDereferenceObject - drop a reference taken by ObReferenceObjectByHandle, or the file
 * object reference IoGetDeviceObjectPointer returned (its last reference sends IRP_MJ_CLOSE).
 * IRQL: <= DISPATCH_LEVEL. Bug check: 0xC4/0x3F (obj.invalid) when no reference is held. */
static inline void ObDereferenceObject(PVOID Object)
{
    kdpc_ObDereferenceObject(Object);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_OB_H */
