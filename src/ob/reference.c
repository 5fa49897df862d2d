/* SPDX-License-Identifier: MIT */
/*
 * reference.c - object types and references: ObReferenceObjectByHandle,
 * ObReferenceObjectByPointer, ObReferenceObject, ObDereferenceObject
 * (docs/facts/memory.md, "Objects and handles").
 *
 * kdpc's referenced objects and where their count lives:
 *   KTHREAD        kt->refs (ke/thread.c frees an ended thread at 0 with no handle)
 *   event objects  the layer's own record (event.c: the last reference frees it)
 *   FILE_OBJECT    io/file.c's count (kdpc__io_file_ref / kdpc__io_file_deref)
 *   DEVICE_OBJECT, DRIVER_OBJECT  extra references in the layer's map (the I/O manager owns the
 *                  object; Divergence: IoDeleteDevice does not wait for them)
 * A pointer that is none of these is not an object: referencing or dereferencing it is the
 * obj.invalid report.
 */
#include "io/io.h"
#include "ke/ke.h"
#include "ob/ob.h"

/* One object type per kind of referenced object; only their addresses matter. */
static struct _OBJECT_TYPE {
    int unused;
} types[5];
enum { T_THREAD, T_EVENT, T_FILE, T_DEVICE, T_DRIVER, T_NONE };
static POBJECT_TYPE type_ptr[5] = {&types[0], &types[1], &types[2], &types[3], &types[4]};
POBJECT_TYPE *kdpc_PsThreadType = &type_ptr[T_THREAD];
POBJECT_TYPE *kdpc_ExEventObjectType = &type_ptr[T_EVENT];
POBJECT_TYPE *kdpc_IoFileObjectType = &type_ptr[T_FILE];
POBJECT_TYPE *kdpc_IoDeviceObjectType = &type_ptr[T_DEVICE];
POBJECT_TYPE *kdpc_IoDriverObjectType = &type_ptr[T_DRIVER];

/* Extra references of a device or driver object in the layer's map. */
static uintptr_t io_refs(kdpc__ob *ob, const void *p)
{
    return (uintptr_t)kdpc__ptrmap_get(&ob->refs, (uintptr_t)p);
}

static int io_kind(kdpc_machine *m, const void *p)
{
    if (kdpc__ke_of(m)->io == NULL)
        return T_NONE;
    switch (kdpc__io_live_kind(m, p)) {
    case KDPC_IOK_DEVICE:
        return T_DEVICE;
    case KDPC_IOK_DRIVER:
        return T_DRIVER;
    default:
        return T_NONE;
    }
}

/* One more reference of @p when it is an object; its type index, or T_NONE. */
static int reference(kdpc_machine *m, void *p)
{
    struct _KTHREAD *kt = kdpc__ke_thread_find(m, p);
    if (kt != NULL) {
        kt->refs++;
        return T_THREAD;
    }
    if (kdpc__ob_event_ref(m, p))
        return T_EVENT;
    if (kdpc__io_file_ref(m, p))
        return T_FILE;
    int t = io_kind(m, p);
    kdpc__ob *ob = t == T_NONE ? NULL : kdpc__ob_get(m);
    if (ob == NULL || !kdpc__ptrmap_put(&ob->refs, (uintptr_t)p, (void *)(io_refs(ob, p) + 1u)))
        return T_NONE;
    return t;
}

/* One reference less of @p; false when no reference of it is held. */
static bool dereference(kdpc_machine *m, void *p)
{
    struct _KTHREAD *kt = kdpc__ke_thread_find(m, p);
    if (kt != NULL && kt->refs > 0) {
        kt->refs--;
        kdpc__ke_thread_reap(m, kt); /* the last reference of an ended thread frees it */
        return true;
    }
    if (kdpc__ob_event_deref(m, p))
        return true;
    if (kdpc__io_file_deref(m, p))
        return true; /* a file object (io/file.c) */
    kdpc__ob *ob = kdpc__ke_of(m)->ob;
    uintptr_t n = ob == NULL ? 0 : io_refs(ob, p);
    if (n == 0)
        return false;
    if (n == 1)
        (void)kdpc__ptrmap_del(&ob->refs, (uintptr_t)p);
    else
        (void)kdpc__ptrmap_put(&ob->refs, (uintptr_t)p, (void *)(n - 1u)); /* no growth */
    return true;
}

/* Not an object (or none of its references held): Driver Verifier's 0xC4/0x3F, P2 the
 * pointer, P3 +1 (a reference) or -1 (a dereference). As a warning: ignored. */
static void not_object(kdpc_machine *m, const void *p, bool ref, const char *routine)
{
    kdpc__violation(
        m, KDPC_R_OBJ_INVALID, 0xC4, 0x3F, (uintptr_t)p, ref ? 1u : (uint64_t)-1, 0, NULL,
        ref ? "%s(%p): not an object kdpc references" : "%s(%p): no reference to it is held",
        routine, p);
}

NTSTATUS kdpc_ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                        POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                        PVOID *Object, POBJECT_HANDLE_INFORMATION HandleInformation)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ObReferenceObjectByHandle", &c);
    if (Object != NULL)
        *Object = NULL;
    if (m == NULL || Object == NULL)
        return STATUS_INVALID_HANDLE;
    if (!kdpc__ob_irql_ok(m, c, PASSIVE_LEVEL, KDPC_DDI_IRQL_OB_PASSIVE,
                          "ObReferenceObjectByHandle"))
        return STATUS_INVALID_HANDLE;
    void *obj;
    int type;
    ACCESS_MASK granted;
    ULONG attributes = 0;
    if (Handle == NtCurrentThread()) {
        /* the calling thread: every access (a system thread has no user-mode side) */
        obj = c->thread->ke;
        if (obj == NULL)
            return STATUS_INVALID_HANDLE;
        type = T_THREAD;
        granted = THREAD_ALL_ACCESS;
    } else {
        const kdpc__ob_slot *s = kdpc__ob_handle_slot(m, Handle);
        if (s == NULL) {
            /* ob.bad_handle (0xC4/0xF5 NULL, 0xC4/0x3C any other bad handle); as a warning or
             * off: STATUS_INVALID_HANDLE, as a free kernel returns */
            kdpc__ob_bad_handle(m, Handle, ObjectType, AccessMode);
            return STATUS_INVALID_HANDLE;
        }
        if (s->user && AccessMode == KernelMode)
            /* Windows 7 on: Driver Verifier's 0xC4/0xF6, P2 the handle; as a warning or off
             * the reference is made as a free kernel does */
            kdpc__violation(m, KDPC_R_OB_USER_HANDLE, 0xC4, 0xF6, (uintptr_t)Handle, 0, 0, NULL,
                            "ObReferenceObjectByHandle(%p) with KernelMode: a user-mode handle "
                            "must be referenced with UserMode",
                            Handle);
        if (!s->user && AccessMode != KernelMode)
            return STATUS_INVALID_HANDLE; /* a kernel handle is no handle to user mode */
        switch ((kdpc__ob_kind)s->kind) {
        case KDPC__OB_THREAD:
            type = T_THREAD;
            break;
        case KDPC__OB_EVENT:
            type = T_EVENT;
            break;
        default:
            /* Divergence: registry keys have no object type here: no reference is made */
            return STATUS_OBJECT_TYPE_MISMATCH;
        }
        obj = s->object;
        granted = s->granted;
        if (!s->user)
            attributes = (ULONG)OBJ_KERNEL_HANDLE;
    }
    if (ObjectType != NULL && ObjectType != type_ptr[type])
        return STATUS_OBJECT_TYPE_MISMATCH;
    if (AccessMode != KernelMode && (DesiredAccess & ~granted) != 0)
        return STATUS_ACCESS_DENIED;
    if (reference(m, obj) != type)
        return STATUS_INVALID_HANDLE; /* not reached: a handle's object is alive */
    *Object = obj;
    if (HandleInformation != NULL) {
        HandleInformation->HandleAttributes = attributes;
        HandleInformation->GrantedAccess = granted;
    }
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
                                         POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode)
{
    (void)DesiredAccess;
    (void)AccessMode;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ObReferenceObjectByPointer", &c);
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!kdpc__ob_irql_ok(m, c, DISPATCH_LEVEL, KDPC_DDI_IRQL_KE_DISPATCH_LTE,
                          "ObReferenceObjectByPointer"))
        return STATUS_INVALID_PARAMETER;
    int t = reference(m, Object);
    if (t == T_NONE) {
        not_object(m, Object, true, "ObReferenceObjectByPointer");
        return STATUS_INVALID_PARAMETER;
    }
    if (ObjectType != NULL && ObjectType != type_ptr[t]) {
        (void)dereference(m, Object); /* not the last: taken just now */
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    return STATUS_SUCCESS;
}

void kdpc_ObReferenceObject(PVOID Object)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("ObReferenceObject", &c);
    if (m == NULL ||
        !kdpc__ob_irql_ok(m, c, DISPATCH_LEVEL, KDPC_DDI_IRQL_KE_DISPATCH_LTE, "ObReferenceObject"))
        return;
    if (Object == NULL) {
        (void)kdpc__ke_check_ptr(m, Object, 0, true, c->irql, KDPC_RP(kdpc_ObReferenceObject),
                                 "ObReferenceObject");
        return;
    }
    if (reference(m, Object) == T_NONE)
        not_object(m, Object, true, "ObReferenceObject");
}

void kdpc_ObDereferenceObject(PVOID Object)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL)
        return;
    /* obj.invalid: NULL faults (0x1E / 0xA); as a warning: ignored */
    if (Object == NULL) {
        if (t->cpu != NULL)
            (void)kdpc__ke_check_ptr(t->m, Object, 0, false, t->cpu->irql,
                                     KDPC_RP(kdpc_ObDereferenceObject), "ObDereferenceObject");
        return;
    }
    if (t->cpu != NULL && !kdpc__ob_irql_ok(t->m, t->cpu, DISPATCH_LEVEL,
                                            KDPC_DDI_IRQL_KE_DISPATCH_LTE, "ObDereferenceObject"))
        return;
    if (dereference(t->m, Object))
        return;
    /* No reference of it is held: Driver Verifier's 0xC4/0x3F, P2 the object, P3 -1 (the
     * dereference case). As a warning: ignored. */
    if (t->cpu != NULL)
        not_object(t->m, Object, false, "ObDereferenceObject");
}
