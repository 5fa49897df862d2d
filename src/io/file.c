/* SPDX-License-Identifier: MIT */
/*
 * file.c - opening a device: file objects, IRP_MJ_CREATE / IRP_MJ_CLEANUP /
 * IRP_MJ_CLOSE, the kdpc_file_* natives (kdpc/driver.h),
 * IoGetDeviceObjectPointer, and ObDereferenceObject of a file object
 * (docs/facts/io.md section 10).
 *
 * A file object has a handle count (0 or 1: kdpc_file_open's handle) and a
 * reference count (the handle's reference plus IoGetDeviceObjectPointer's).
 * The handle going (kdpc_file_close, or at once inside
 * IoGetDeviceObjectPointer) sends IRP_MJ_CLEANUP; the last reference going
 * sends IRP_MJ_CLOSE and frees the object (10.4). Every IRP goes to the
 * top of the opened device's stack as it is at that moment; the opened
 * device's ReferenceCount counts its open file objects (10.3).
 *
 * Divergence: IoDeleteDevice frees a device object at once in kdpc, so a
 * file still open on a deleted device gets no IRP_MJ_CLEANUP / IRP_MJ_CLOSE
 * (Windows keeps the object until its last reference and still sends them);
 * such a file can only be closed.
 */
#include <stdlib.h>
#include <string.h>

#include <kdpc/driver.h>
#include "io/io.h"

typedef struct kdpc__filerec {
    FILE_OBJECT obj;
    kdpc_machine *m;
    struct kdpc__filerec *next;
    unsigned handles;     /* 0 or 1 */
    KPROCESSOR_MODE mode; /* RequestorMode of its IRPs: UserMode for a program's handle
                             (kdpc_file_open), KernelMode for IoGetDeviceObjectPointer */
    LONG refs;            /* object references, the handle's included */
    bool closing;         /* IRP_MJ_CLOSE being sent: no longer a file object for callers, still
                         open for kdpc__io_open_count until the close returns */
    bool closed;          /* IRP_MJ_CLOSE sent (kept only while that IRP is pending) */
    bool gone;            /* the opened device was deleted */
    KEVENT done;          /* cleanup / close IRPs that return STATUS_PENDING */
    WORK_QUEUE_ITEM close_work; /* the close, when the last reference went above PASSIVE_LEVEL */
    IO_STATUS_BLOCK iosb;
    WCHAR name[]; /* FileName */
} kdpc__filerec;

static kdpc__filerec *file_rec(kdpc_machine *m, const void *p)
{
    if (m == NULL || m->ke == NULL || kdpc__io_of(m) == NULL || p == NULL)
        return NULL;
    for (kdpc__filerec *f = kdpc__io_of(m)->files; f != NULL; f = f->next) {
        if (&f->obj == p && !f->closed && !f->closing)
            return f;
    }
    return NULL;
}

static PDEVICE_OBJECT stack_top(PDEVICE_OBJECT d)
{
    while (d->AttachedDevice != NULL)
        d = d->AttachedDevice;
    return d;
}

size_t kdpc__io_open_count(kdpc_machine *m, PDEVICE_OBJECT dev)
{
    if (m == NULL || m->ke == NULL || kdpc__io_of(m) == NULL || dev == NULL)
        return 0;
    PDEVICE_OBJECT top = stack_top(dev);
    size_t n = 0;
    for (kdpc__filerec *f = kdpc__io_of(m)->files; f != NULL; f = f->next) {
        if (!f->closed && !f->gone && stack_top(f->obj.DeviceObject) == top)
            n++;
    }
    return n;
}

void kdpc__io_files_device_gone(kdpc_machine *m, kdpc__devrec *d)
{
    for (kdpc__filerec *f = kdpc__io_of(m)->files; f != NULL; f = f->next) {
        if (f->obj.DeviceObject == &d->obj)
            f->gone = true;
    }
}

void kdpc__io_files_free(kdpc_machine *m)
{
    kdpc__io *io = kdpc__io_of(m);
    while (io->files != NULL) {
        kdpc__filerec *f = io->files;
        io->files = f->next;
        free(f);
    }
}

static void unlink_file(kdpc__io *io, kdpc__filerec *r)
{
    for (kdpc__filerec **p = &io->files; *p != NULL; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            return;
        }
    }
}

/* Send @major for @f to the top of its device's stack; wait when it pends and the caller may
 * (PASSIVE_LEVEL). Return: the dispatch status, or the final one after a wait. */
static NTSTATUS send_file_irp(kdpc_machine *m, kdpc__filerec *f, UCHAR major, ACCESS_MASK access,
                              bool *pending)
{
    *pending = false;
    PDEVICE_OBJECT top = stack_top(f->obj.DeviceObject);
    PIRP irp = kdpc__io_new_irp(m, top->StackSize > 0 ? top->StackSize : 1);
    if (irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    kdpc__irprec *r = kdpc__io_irprec(irp);
    r->thread_irp = true; /* freed at completion */
    IO_SECURITY_CONTEXT sec;
    memset(&sec, 0, sizeof(sec));
    sec.DesiredAccess = access;
    kdpc_KeClearEvent(&f->done);
    memset(&f->iosb, 0, sizeof(f->iosb));
    irp->UserEvent = &f->done;
    irp->UserIosb = &f->iosb;
    irp->RequestorMode = f->mode;
    irp->Flags =
        IRP_SYNCHRONOUS_API | (major == IRP_MJ_CREATE ? IRP_CREATE_OPERATION : IRP_CLOSE_OPERATION);
    irp->Tail.Overlay.OriginalFileObject = &f->obj;
    PIO_STACK_LOCATION s = IoGetNextIrpStackLocation(irp);
    s->MajorFunction = major;
    s->FileObject = &f->obj;
    if (major == IRP_MJ_CREATE) {
        s->Parameters.Create.SecurityContext = &sec; /* valid until the create completes */
        s->Parameters.Create.Options = 1u << 24;     /* FILE_OPEN disposition */
    }
    kdpc__io_irp_note(irp, "file object %p: MJ %u", (void *)&f->obj, (unsigned)major);
    NTSTATUS st = kdpc_IoCallDriver(top, irp);
    if (st == STATUS_PENDING) {
        *pending = true;
        if (kdpc__cur_cpu()->irql > PASSIVE_LEVEL && major != IRP_MJ_CREATE)
            return st; /* the IRP finishes on its own; f stays until then */
        (void)kdpc_KeWaitForSingleObject(&f->done, Executive, KernelMode, FALSE, NULL);
        *pending = false;
        st = f->iosb.Status;
    }
    return st;
}

/* The handle goes: IRP_MJ_CLEANUP. */
static void cleanup_file(kdpc_machine *m, kdpc__filerec *f)
{
    f->handles = 0;
    bool pending;
    if (!f->gone)
        (void)send_file_irp(m, f, IRP_MJ_CLEANUP, 0, &pending);
    f->obj.Flags |= FO_CLEANUP_COMPLETE;
}

/* The last reference goes: IRP_MJ_CLOSE, then the object is freed. */
static void close_file(kdpc_machine *m, kdpc__filerec *f)
{
    kdpc__io *io = kdpc__io_of(m);
    f->closing = true;
    bool pending = false;
    if (!f->gone)
        (void)send_file_irp(m, f, IRP_MJ_CLOSE, 0, &pending);
    f->closed = true; /* counted open until here: PnP removes the device after the close */
    PDEVICE_OBJECT dev = f->gone ? NULL : f->obj.DeviceObject; /* deleted meanwhile? */
    if (dev != NULL && dev->ReferenceCount > 0)
        dev->ReferenceCount--;
    if (!pending) { /* else kept (closed) until the machine goes: the IRP still points at it */
        unlink_file(io, f);
        free(f);
    }
    if (dev != NULL && kdpc__io_open_count(m, dev) == 0)
        kdpc__io_last_close(m, dev); /* a surprise-removed device gets its REMOVE now */
}

/* A system worker thread, at PASSIVE_LEVEL: the close ObDereferenceObject deferred. */
static void deferred_close(PVOID ctx)
{
    kdpc__filerec *f = ctx;
    close_file(f->m, f);
}

bool kdpc__io_file_ref(kdpc_machine *m, void *object)
{
    kdpc__filerec *f = file_rec(m, object);
    if (f == NULL || f->refs <= 0)
        return false;
    f->refs++;
    return true;
}

bool kdpc__io_file_deref(kdpc_machine *m, void *object)
{
    kdpc__filerec *f = file_rec(m, object);
    if (f == NULL)
        return false;
    if (--f->refs > 0)
        return true;
    kdpc__cpu *c = kdpc__cur_cpu();
    if (c->irql > PASSIVE_LEVEL) {
        /* 10.4: the last reference went above PASSIVE_LEVEL (a DPC): the object manager
         * deletes the object, and the I/O manager sends IRP_MJ_CLOSE, from a system worker
         * thread at PASSIVE_LEVEL. No longer a file object for callers from here on. */
        f->closing = true;
        ExInitializeWorkItem(&f->close_work, deferred_close, f);
        kdpc__ke_queue_work(m, c, &f->close_work, DelayedWorkQueue, "ObDereferenceObject", NULL,
                            NULL);
        return true;
    }
    if (f->handles != 0) /* cannot happen: the handle holds a reference */
        cleanup_file(m, f);
    close_file(m, f);
    return true;
}

static bool wants(ACCESS_MASK a, ACCESS_MASK bits)
{
    return (a & (bits | (ACCESS_MASK)GENERIC_ALL)) != 0 ||
           (a & (ACCESS_MASK)FILE_ALL_ACCESS) == (ACCESS_MASK)FILE_ALL_ACCESS;
}

/* Open @name (@len WCHARs): IRP_MJ_CREATE to the top of the stack; on success *out is the file
 * object, linked, with one handle and one reference. */
static NTSTATUS open_file(kdpc_machine *m, const WCHAR *name, size_t len, ACCESS_MASK access,
                          KPROCESSOR_MODE mode, kdpc__filerec **out)
{
    *out = NULL;
    WCHAR *rest = malloc(KDPC_IO_NAME_MAX * sizeof(WCHAR));
    if (rest == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    kdpc__devrec *d;
    size_t rest_len;
    NTSTATUS st = kdpc__io_resolve(m, name, len, &d, rest, &rest_len);
    if (!NT_SUCCESS(st)) {
        free(rest);
        return st;
    }
    PDEVICE_OBJECT dev = &d->obj;
    if (dev->Flags & DO_DEVICE_INITIALIZING) {
        free(rest);
        return STATUS_NO_SUCH_DEVICE; /* 10.3: not opened before initialization is done */
    }
    if ((dev->Flags & DO_EXCLUSIVE) && dev->ReferenceCount != 0) {
        free(rest);
        return STATUS_ACCESS_DENIED; /* 10.3: one open at a time */
    }
    kdpc__filerec *f = calloc(1, sizeof(*f) + (rest_len + 1) * sizeof(WCHAR));
    if (f == NULL) {
        free(rest);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memcpy(f->name, rest, rest_len * sizeof(WCHAR));
    free(rest);
    f->m = m;
    f->mode = mode;
    FILE_OBJECT *fo = &f->obj;
    fo->Type = IO_TYPE_FILE;
    fo->Size = (CSHORT)sizeof(FILE_OBJECT);
    fo->DeviceObject = dev;
    fo->FileName.Buffer = rest_len != 0 ? f->name : NULL;
    fo->FileName.Length = (USHORT)(rest_len * sizeof(WCHAR));
    fo->FileName.MaximumLength = (USHORT)(rest_len != 0 ? (rest_len + 1) * sizeof(WCHAR) : 0);
    fo->ReadAccess = wants(access, FILE_READ_DATA | GENERIC_READ) ? TRUE : FALSE;
    fo->WriteAccess =
        wants(access, FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_WRITE) ? TRUE : FALSE;
    fo->DeleteAccess = wants(access, DELETE) ? TRUE : FALSE;
    kdpc_KeInitializeEvent(&fo->Lock, SynchronizationEvent, FALSE);
    kdpc_KeInitializeEvent(&fo->Event, NotificationEvent, FALSE);
    kdpc_KeInitializeSpinLock(&fo->IrpListLock);
    InitializeListHead(&fo->IrpList);
    kdpc_KeInitializeEvent(&f->done, NotificationEvent, FALSE);
    kdpc__io *io = kdpc__io_of(m);
    /* linked while the create runs: the driver may already see it counted */
    f->next = io->files;
    io->files = f;
    dev->ReferenceCount++;
    bool pending;
    st = send_file_irp(m, f, IRP_MJ_CREATE, access, &pending);
    /* a create's final status is never STATUS_PENDING: send_file_irp waited for it (only
     * PASSIVE_LEVEL callers get here); a driver that completes it with STATUS_PENDING failed it */
    if (st == STATUS_PENDING)
        st = STATUS_UNSUCCESSFUL;
    if (!NT_SUCCESS(st)) { /* no cleanup or close for a failed create (10.4) */
        if (!f->gone && dev->ReferenceCount > 0)
            dev->ReferenceCount--;
        unlink_file(io, f);
        free(f);
        return st;
    }
    f->handles = 1;
    f->refs = 1;
    fo->Flags |= FO_HANDLE_CREATED;
    *out = f;
    return STATUS_SUCCESS;
}

/* A native called from simulated code of @m at PASSIVE_LEVEL; the CPU, or NULL. */
static kdpc__cpu *native_ctx(kdpc_machine *m)
{
    kdpc__thread *t = kdpc__io_passive_thread();
    return m != NULL && t != NULL && t->m == m ? t->cpu : NULL;
}

NTSTATUS kdpc_file_open(kdpc_machine *m, const char *name, ACCESS_MASK access, PFILE_OBJECT *file)
{
    if (file != NULL)
        *file = NULL;
    kdpc__cpu *c = native_ctx(m);
    if (c == NULL || name == NULL || file == NULL)
        return STATUS_INVALID_PARAMETER;
    size_t len = strlen(name);
    if (len == 0 || len > KDPC_IO_NAME_MAX)
        return STATUS_OBJECT_NAME_INVALID;
    WCHAR *w = malloc(len * sizeof(WCHAR));
    if (w == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    for (size_t i = 0; i < len; i++)
        w[i] = (WCHAR)(unsigned char)name[i];
    kdpc__filerec *f;
    NTSTATUS st = open_file(m, w, len, access, UserMode, &f);
    free(w);
    if (NT_SUCCESS(st))
        *file = &f->obj;
    kdpc__ke_point(m);
    return st;
}

/* @file as a live file object of the calling machine (looked up, never read blindly). */
static kdpc__filerec *native_file(PFILE_OBJECT file, kdpc__cpu **c)
{
    kdpc__thread *t = kdpc__io_passive_thread();
    *c = NULL;
    if (t == NULL)
        return NULL;
    *c = t->cpu;
    return file_rec(t->m, file);
}

NTSTATUS kdpc_file_close(PFILE_OBJECT file)
{
    kdpc__cpu *c;
    kdpc__filerec *f = native_file(file, &c);
    if (c == NULL)
        return STATUS_INVALID_PARAMETER;
    if (f == NULL || f->handles == 0)
        return STATUS_INVALID_HANDLE;
    kdpc_machine *m = f->m;
    cleanup_file(m, f);
    if (--f->refs == 0)
        close_file(m, f);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

/* Send an IRP built for the top of @f's stack, with @f as its file object; wait for it. */
static NTSTATUS call_and_wait(kdpc_machine *m, kdpc__filerec *f, PIRP irp, KEVENT *ev,
                              IO_STATUS_BLOCK *iosb, ULONG_PTR *information)
{
    IoGetNextIrpStackLocation(irp)->FileObject = &f->obj;
    irp->Tail.Overlay.OriginalFileObject = &f->obj;
    irp->RequestorMode = f->mode; /* the program's request (built as a kernel one) */
    NTSTATUS st = kdpc_IoCallDriver(stack_top(f->obj.DeviceObject), irp);
    bool written = true;
    if (st == STATUS_PENDING) {
        (void)kdpc_KeWaitForSingleObject(ev, Executive, KernelMode, FALSE, NULL);
        st = iosb->Status;
    } else if (NT_ERROR(st)) {
        written = false; /* the I/O manager writes no status block for a synchronous error */
    }
    if (information != NULL)
        *information = written ? iosb->Information : 0;
    kdpc__ke_point(m);
    return st;
}

static NTSTATUS file_ready(PFILE_OBJECT file, kdpc__filerec **fp)
{
    kdpc__cpu *c;
    kdpc__filerec *f = native_file(file, &c);
    *fp = f;
    if (c == NULL)
        return STATUS_INVALID_PARAMETER;
    if (f == NULL || f->handles == 0)
        return STATUS_INVALID_HANDLE;
    if (f->gone)
        return STATUS_NO_SUCH_DEVICE;
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_file_ioctl(PFILE_OBJECT file, ULONG code, PVOID input, ULONG input_length,
                         PVOID output, ULONG output_length, ULONG_PTR *information)
{
    if (information != NULL)
        *information = 0;
    kdpc__filerec *f;
    NTSTATUS st = file_ready(file, &f);
    if (!NT_SUCCESS(st))
        return st;
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    memset(&iosb, 0, sizeof(iosb));
    kdpc_KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp =
        kdpc_IoBuildDeviceIoControlRequest(code, stack_top(f->obj.DeviceObject), input,
                                           input_length, output, output_length, FALSE, &ev, &iosb);
    if (irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    return call_and_wait(f->m, f, irp, &ev, &iosb, information);
}

static NTSTATUS read_write(UCHAR major, PFILE_OBJECT file, PVOID buffer, ULONG length,
                           LONGLONG offset, ULONG_PTR *information)
{
    if (information != NULL)
        *information = 0;
    kdpc__filerec *f;
    NTSTATUS st = file_ready(file, &f);
    if (!NT_SUCCESS(st))
        return st;
    if (buffer == NULL && length != 0)
        return STATUS_INVALID_PARAMETER;
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    memset(&iosb, 0, sizeof(iosb));
    kdpc_KeInitializeEvent(&ev, NotificationEvent, FALSE);
    LARGE_INTEGER off;
    off.QuadPart = offset;
    PIRP irp = kdpc_IoBuildSynchronousFsdRequest(major, stack_top(f->obj.DeviceObject), buffer,
                                                 length, &off, &ev, &iosb);
    if (irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    return call_and_wait(f->m, f, irp, &ev, &iosb, information);
}

NTSTATUS kdpc_file_read(PFILE_OBJECT file, PVOID buffer, ULONG length, LONGLONG offset,
                        ULONG_PTR *information)
{
    return read_write(IRP_MJ_READ, file, buffer, length, offset, information);
}

NTSTATUS kdpc_file_write(PFILE_OBJECT file, PVOID buffer, ULONG length, LONGLONG offset,
                         ULONG_PTR *information)
{
    return read_write(IRP_MJ_WRITE, file, buffer, length, offset, information);
}

NTSTATUS kdpc_IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess,
                                       PFILE_OBJECT *FileObject, PDEVICE_OBJECT *DeviceObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoGetDeviceObjectPointer", &c);
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!kdpc__io_passive_ok(m, c, "IoGetDeviceObjectPointer"))
        return STATUS_INVALID_PARAMETER;
    if (ObjectName == NULL || FileObject == NULL || DeviceObject == NULL ||
        (ObjectName->Buffer == NULL && ObjectName->Length != 0))
        return STATUS_INVALID_PARAMETER;
    if (ObjectName->Length == 0)
        return STATUS_OBJECT_NAME_INVALID;
    kdpc__filerec *f;
    NTSTATUS st = open_file(m, ObjectName->Buffer, ObjectName->Length / sizeof(WCHAR),
                            DesiredAccess, KernelMode, &f);
    if (NT_SUCCESS(st)) {
        f->refs++;          /* the caller's reference (10.6) */
        cleanup_file(m, f); /* no handle is left behind: cleanup at once */
        f->refs--;
        *FileObject = &f->obj;
        *DeviceObject = stack_top(f->obj.DeviceObject);
    }
    kdpc__ke_point(m);
    return st;
}
