/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/irp.h - IRPs and their stack locations, MDLs, IoCallDriver and
 * completion, the IRP builders, device queues, StartIo, cancel, device
 * stacks and the error log (docs/facts/io.md sections 4 and 6).
 */
#ifndef KDPC_WDM_IRP_H
#define KDPC_WDM_IRP_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/ke.h>
#include <kdpc/wdm/io.h>
#include <kdpc/wdm/dispatcher.h>
#include <kdpc/wdm/power.h>
#include <kdpc/wdm/irpparams.h>

KDPC_BEGIN_DECLS

/** Final status and byte count of an I/O request (4.17). */
typedef struct _IO_STATUS_BLOCK {
    KDPC_EXTENSION union {
        NTSTATUS Status;
        PVOID Pointer;
    };
    ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

/** Memory descriptor list: describes a buffer (kdpc: always resident, "locked"). */
typedef struct _MDL {
    struct _MDL *Next;
    CSHORT Size;
    CSHORT MdlFlags;
    PVOID Process;
    PVOID MappedSystemVa;
    PVOID StartVa; /* page-aligned */
    ULONG ByteCount;
    ULONG ByteOffset;
} MDL, *PMDL;

#define MDL_MAPPED_TO_SYSTEM_VA     0x0001
#define MDL_PAGES_LOCKED            0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define MDL_PARTIAL                 0x0010
#define PAGE_SIZE                   4096u
#define PAGE_SHIFT                  12

typedef enum _MM_PAGE_PRIORITY {
    LowPagePriority = 0,
    NormalPagePriority = 16,
    HighPagePriority = 32
} MM_PAGE_PRIORITY;
typedef enum _LOCK_OPERATION { IoReadAccess, IoWriteAccess, IoModifyAccess } LOCK_OPERATION;

typedef struct _FILE_OBJECT FILE_OBJECT, *PFILE_OBJECT;

/**
 * FILE_OBJECT - an open instance of a device (docs/facts/io.md section 10):
 * what kdpc_file_open / IoGetDeviceObjectPointer created. DeviceObject is
 * the named device that was opened (not the top of its stack); FileName is
 * what followed the device's name in the opened path (empty for the device
 * itself); FsContext / FsContext2 belong to the driver (kdpc never reads
 * them). Members kdpc does not model (Vpb, SectionObjectPointer, the cache
 * fields, CompletionContext) stay zero.
 */
struct _FILE_OBJECT {
    CSHORT Type; /* IO_TYPE_FILE */
    CSHORT Size;
    PDEVICE_OBJECT DeviceObject;
    struct _VPB *Vpb;
    PVOID FsContext;
    PVOID FsContext2;
    struct _SECTION_OBJECT_POINTERS *SectionObjectPointer;
    PVOID PrivateCacheMap;
    NTSTATUS FinalStatus;
    struct _FILE_OBJECT *RelatedFileObject;
    BOOLEAN LockOperation;
    BOOLEAN DeletePending;
    BOOLEAN ReadAccess;
    BOOLEAN WriteAccess;
    BOOLEAN DeleteAccess;
    BOOLEAN SharedRead;
    BOOLEAN SharedWrite;
    BOOLEAN SharedDelete;
    ULONG Flags;
    UNICODE_STRING FileName;
    LARGE_INTEGER CurrentByteOffset;
    volatile ULONG Waiters;
    volatile ULONG Busy;
    PVOID LastLock;
    KEVENT Lock;
    KEVENT Event;
    struct _IO_COMPLETION_CONTEXT *volatile CompletionContext;
    KSPIN_LOCK IrpListLock;
    LIST_ENTRY IrpList;
    volatile PVOID FileObjectExtension;
};

#define IO_TYPE_FILE 5

/* FILE_OBJECT Flags (every FO_* wdm.h has; kdpc sets FO_SYNCHRONOUS_IO, FO_HANDLE_CREATED and
 * FO_CLEANUP_COMPLETE, the others are the driver's or a file system's to read and set) */
#define FO_FILE_OPEN                  0x00000001u
#define FO_SYNCHRONOUS_IO             0x00000002u
#define FO_ALERTABLE_IO               0x00000004u
#define FO_NO_INTERMEDIATE_BUFFERING  0x00000008u
#define FO_WRITE_THROUGH              0x00000010u
#define FO_SEQUENTIAL_ONLY            0x00000020u
#define FO_CACHE_SUPPORTED            0x00000040u
#define FO_NAMED_PIPE                 0x00000080u
#define FO_STREAM_FILE                0x00000100u
#define FO_MAILSLOT                   0x00000200u
#define FO_GENERATE_AUDIT_ON_CLOSE    0x00000400u
#define FO_QUEUE_IRP_TO_THREAD        FO_GENERATE_AUDIT_ON_CLOSE
#define FO_DIRECT_DEVICE_OPEN         0x00000800u
#define FO_FILE_MODIFIED              0x00001000u
#define FO_FILE_SIZE_CHANGED          0x00002000u
#define FO_CLEANUP_COMPLETE           0x00004000u
#define FO_TEMPORARY_FILE             0x00008000u
#define FO_DELETE_ON_CLOSE            0x00010000u
#define FO_OPENED_CASE_SENSITIVE      0x00020000u
#define FO_HANDLE_CREATED             0x00040000u
#define FO_FILE_FAST_IO_READ          0x00080000u
#define FO_RANDOM_ACCESS              0x00100000u
#define FO_FILE_OPEN_CANCELLED        0x00200000u
#define FO_VOLUME_OPEN                0x00400000u
#define FO_REMOTE_ORIGIN              0x01000000u
#define FO_DISALLOW_EXCLUSIVE         0x02000000u
#define FO_SKIP_COMPLETION_PORT       FO_DISALLOW_EXCLUSIVE
#define FO_SKIP_SET_EVENT             0x04000000u
#define FO_SKIP_SET_FAST_IO           0x08000000u
#define FO_INDIRECT_WAIT_OBJECT       0x10000000u
#define FO_SECTION_MINSTORE_TREATMENT 0x20000000u

/* Access rights (ACCESS_MASK) a device open asks for */
#define FILE_READ_DATA    0x0001
#define FILE_WRITE_DATA   0x0002
#define FILE_APPEND_DATA  0x0004
#define DELETE            0x00010000L
#define SYNCHRONIZE       0x00100000L
#define GENERIC_READ      0x80000000L
#define GENERIC_WRITE     0x40000000L
#define GENERIC_EXECUTE   0x20000000L
#define GENERIC_ALL       0x10000000L
#define FILE_ALL_ACCESS   0x001F01FFL
#define FILE_GENERIC_READ 0x00120089L

/** Parameters.Create.SecurityContext of IRP_MJ_CREATE: the access asked for. */
typedef struct _IO_SECURITY_CONTEXT {
    struct _SECURITY_QUALITY_OF_SERVICE *SecurityQos;
    struct _ACCESS_STATE *AccessState;
    ACCESS_MASK DesiredAccess;
    ULONG FullCreateOptions;
} IO_SECURITY_CONTEXT, *PIO_SECURITY_CONTEXT;

/** Completion routine prototype (4.14). */
typedef NTSTATUS IO_COMPLETION_ROUTINE(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context);
typedef IO_COMPLETION_ROUTINE *PIO_COMPLETION_ROUTINE;
/** Cancel routine prototype (4.23): entered at DISPATCH_LEVEL holding the cancel spin lock. */
typedef void DRIVER_CANCEL(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef DRIVER_CANCEL *PDRIVER_CANCEL;

/* IO_STACK_LOCATION.Control */
#define SL_PENDING_RETURNED  0x01
#define SL_INVOKE_ON_CANCEL  0x20
#define SL_INVOKE_ON_SUCCESS 0x40
#define SL_INVOKE_ON_ERROR   0x80

/** One driver's view of the request. */
typedef struct _IO_STACK_LOCATION {
    UCHAR MajorFunction;
    UCHAR MinorFunction;
    UCHAR Flags;
    UCHAR Control;
    /* Every member an IRP kdpc sends (or a driver's handler reads) uses, with wdm.h's x64
     * layout: POINTER_ALIGNMENT members start on an 8-byte boundary; 32 bytes in all. */
    union {
        struct {
            PIO_SECURITY_CONTEXT SecurityContext;
            ULONG Options;
            USHORT KDPC_PTR_ALIGNED FileAttributes;
            USHORT ShareAccess;
            ULONG KDPC_PTR_ALIGNED EaLength;
        } Create; /* IRP_MJ_CREATE */
        struct {
            ULONG Length;
            ULONG KDPC_PTR_ALIGNED Key;
#if UINTPTR_MAX > 0xFFFFFFFFu
            ULONG Flags;
#endif
            LARGE_INTEGER ByteOffset;
        } Read; /* IRP_MJ_READ */
        struct {
            ULONG Length;
            ULONG KDPC_PTR_ALIGNED Key;
#if UINTPTR_MAX > 0xFFFFFFFFu
            ULONG Flags;
#endif
            LARGE_INTEGER ByteOffset;
        } Write; /* IRP_MJ_WRITE */
        struct {
            ULONG Length;
            FILE_INFORMATION_CLASS KDPC_PTR_ALIGNED FileInformationClass;
        } QueryFile; /* IRP_MJ_QUERY_INFORMATION */
        struct {
            ULONG Length;
            FILE_INFORMATION_CLASS KDPC_PTR_ALIGNED FileInformationClass;
            PFILE_OBJECT FileObject;
            KDPC_EXTENSION union {
                KDPC_EXTENSION struct {
                    BOOLEAN ReplaceIfExists;
                    BOOLEAN AdvanceOnly;
                };
                ULONG ClusterCount;
                HANDLE DeleteHandle;
            };
        } SetFile; /* IRP_MJ_SET_INFORMATION */
        struct {
            ULONG Length;
            FS_INFORMATION_CLASS KDPC_PTR_ALIGNED FsInformationClass;
        } QueryVolume; /* IRP_MJ_QUERY_VOLUME_INFORMATION */
        struct {
            ULONG OutputBufferLength;
            ULONG KDPC_PTR_ALIGNED InputBufferLength;
            ULONG KDPC_PTR_ALIGNED IoControlCode;
            PVOID Type3InputBuffer;
        } DeviceIoControl; /* IRP_MJ_DEVICE_CONTROL, IRP_MJ_INTERNAL_DEVICE_CONTROL */
        struct {
            struct _SCSI_REQUEST_BLOCK *Srb;
        } Scsi; /* IRP_MJ_SCSI (IRP_MJ_INTERNAL_DEVICE_CONTROL) */
        struct {
            DEVICE_RELATION_TYPE Type;
        } QueryDeviceRelations; /* IRP_MN_QUERY_DEVICE_RELATIONS */
        struct {
            const struct _GUID *InterfaceType;
            USHORT Size;
            USHORT Version;
            PINTERFACE Interface;
            PVOID InterfaceSpecificData;
        } QueryInterface; /* IRP_MN_QUERY_INTERFACE */
        struct {
            PDEVICE_CAPABILITIES Capabilities;
        } DeviceCapabilities; /* IRP_MN_QUERY_CAPABILITIES */
        struct {
            struct _IO_RESOURCE_REQUIREMENTS_LIST *IoResourceRequirementList;
        } FilterResourceRequirements; /* IRP_MN_FILTER_RESOURCE_REQUIREMENTS */
        struct {
            ULONG WhichSpace;
            PVOID Buffer;
            ULONG Offset;
            ULONG KDPC_PTR_ALIGNED Length;
        } ReadWriteConfig; /* IRP_MN_READ_CONFIG, IRP_MN_WRITE_CONFIG */
        struct {
            BOOLEAN Lock;
        } SetLock; /* IRP_MN_SET_LOCK */
        struct {
            BUS_QUERY_ID_TYPE IdType;
        } QueryId; /* IRP_MN_QUERY_ID */
        struct {
            DEVICE_TEXT_TYPE DeviceTextType;
            LCID KDPC_PTR_ALIGNED LocaleId;
        } QueryDeviceText; /* IRP_MN_QUERY_DEVICE_TEXT */
        struct {
            BOOLEAN InPath;
            BOOLEAN Reserved[3];
            DEVICE_USAGE_NOTIFICATION_TYPE KDPC_PTR_ALIGNED Type;
        } UsageNotification; /* IRP_MN_DEVICE_USAGE_NOTIFICATION */
        struct {
            SYSTEM_POWER_STATE PowerState;
        } WaitWake; /* IRP_MN_WAIT_WAKE */
        struct {
            struct _POWER_SEQUENCE *PowerSequence;
        } PowerSequence; /* IRP_MN_POWER_SEQUENCE */
        struct {
            KDPC_EXTENSION union {
                ULONG SystemContext;
                SYSTEM_POWER_STATE_CONTEXT SystemPowerStateContext;
            };
            POWER_STATE_TYPE KDPC_PTR_ALIGNED Type;
            POWER_STATE KDPC_PTR_ALIGNED State;
            POWER_ACTION KDPC_PTR_ALIGNED ShutdownType;
        } Power; /* IRP_MJ_POWER / IRP_MN_SET_POWER, IRP_MN_QUERY_POWER (kdpc/wdm/power.h) */
        struct {
            struct _CM_RESOURCE_LIST *AllocatedResources; /* raw (kdpc/wdm/pnp.h) */
            struct _CM_RESOURCE_LIST *AllocatedResourcesTranslated;
        } StartDevice; /* IRP_MJ_PNP / IRP_MN_START_DEVICE */
        struct {
            ULONG_PTR ProviderId;
            PVOID DataPath;
            ULONG BufferSize;
            PVOID Buffer;
        } WMI; /* IRP_MJ_SYSTEM_CONTROL */
        struct {
            PVOID Argument1;
            PVOID Argument2;
            PVOID Argument3;
            PVOID Argument4;
        } Others;
    } Parameters;
    PDEVICE_OBJECT DeviceObject;
    PFILE_OBJECT FileObject;
    PIO_COMPLETION_ROUTINE CompletionRoutine;
    PVOID Context;
} IO_STACK_LOCATION, *PIO_STACK_LOCATION;

/** I/O request packet: the fields drivers touch. Stack locations follow it in memory. */
struct _IRP {
    CSHORT Type; /* IO_TYPE_IRP */
    USHORT Size;
    PMDL MdlAddress;
    ULONG Flags;
    union {
        struct _IRP *MasterIrp;
        volatile LONG IrpCount;
        PVOID SystemBuffer;
    } AssociatedIrp;
    LIST_ENTRY ThreadListEntry;
    IO_STATUS_BLOCK IoStatus;
    KPROCESSOR_MODE RequestorMode;
    BOOLEAN PendingReturned;
    CHAR StackCount;
    CHAR CurrentLocation;
    BOOLEAN Cancel;
    KIRQL CancelIrql;
    CCHAR ApcEnvironment;
    UCHAR AllocationFlags;
    PIO_STATUS_BLOCK UserIosb;
    PKEVENT UserEvent;
    union {
        struct {
            PVOID UserApcRoutine;
            PVOID UserApcContext;
        } AsynchronousParameters;
        LARGE_INTEGER AllocationSize;
    } Overlay;
    volatile PDRIVER_CANCEL CancelRoutine;
    PVOID UserBuffer;
    union {
        struct {
            KDPC_EXTENSION union {
                KDEVICE_QUEUE_ENTRY DeviceQueueEntry;
                KDPC_EXTENSION struct {
                    PVOID DriverContext[4];
                };
            };
            PETHREAD Thread;
            PCHAR AuxiliaryBuffer;
            KDPC_EXTENSION struct {
                LIST_ENTRY ListEntry;
                KDPC_EXTENSION union {
                    struct _IO_STACK_LOCATION *CurrentStackLocation;
                    ULONG PacketType;
                };
            };
            PFILE_OBJECT OriginalFileObject;
        } Overlay;
    } Tail;
};

#define IO_TYPE_IRP 6

/* IRP Flags */
#define IRP_NOCACHE           0x00000001
#define IRP_PAGING_IO         0x00000002
#define IRP_MOUNT_COMPLETION  0x00000002
#define IRP_SYNCHRONOUS_API   0x00000004
#define IRP_ASSOCIATED_IRP    0x00000008
#define IRP_BUFFERED_IO       0x00000010
#define IRP_DEALLOCATE_BUFFER 0x00000020
#define IRP_INPUT_OPERATION   0x00000040
#define IRP_CREATE_OPERATION  0x00000080
#define IRP_CLOSE_OPERATION   0x00000400

/* Priority boosts (4.16) */
#define IO_CD_ROM_INCREMENT     1
#define IO_DISK_INCREMENT       1
#define IO_KEYBOARD_INCREMENT   6
#define IO_MAILSLOT_INCREMENT   2
#define IO_MOUSE_INCREMENT      6
#define IO_NAMED_PIPE_INCREMENT 2
#define IO_NETWORK_INCREMENT    2
#define IO_PARALLEL_INCREMENT   1
#define IO_SERIAL_INCREMENT     2
#define IO_SOUND_INCREMENT      8
#define IO_VIDEO_INCREMENT      1

/* I/O control codes (4.27): CTL_CODE, METHOD_*, FILE_*_ACCESS in kdpc/wdm/devioctl.h */

/* --- stack locations --- */

/** IoGetCurrentIrpStackLocation - the caller's stack location. IRQL: any. */
static inline PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(PIRP Irp)
{
    return Irp->Tail.Overlay.CurrentStackLocation;
}
/** IoGetNextIrpStackLocation - the next lower driver's stack location. IRQL: any. */
static inline PIO_STACK_LOCATION IoGetNextIrpStackLocation(PIRP Irp)
{
    return Irp->Tail.Overlay.CurrentStackLocation - 1;
}
/** IoSkipCurrentIrpStackLocation - let the next driver reuse this location. */
static inline void IoSkipCurrentIrpStackLocation(PIRP Irp)
{
    Irp->CurrentLocation++;
    Irp->Tail.Overlay.CurrentStackLocation++;
}
/** IoSetNextIrpStackLocation - make the next location current (for IRPs a driver builds). */
static inline void IoSetNextIrpStackLocation(PIRP Irp)
{
    Irp->CurrentLocation--;
    Irp->Tail.Overlay.CurrentStackLocation--;
}
/** IoCopyCurrentIrpStackLocationToNext - copy all but the completion routine and context. */
static inline void IoCopyCurrentIrpStackLocationToNext(PIRP Irp)
{
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(Irp);
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(Irp);
    memcpy(n, s, offsetof(IO_STACK_LOCATION, CompletionRoutine));
    n->Control = 0;
}
/**
 * IoSetCompletionRoutine - call @CompletionRoutine(DeviceObject, Irp, Context)
 * when the next lower driver completes the IRP: on success, error and/or
 * cancel as chosen. It runs at the completer's IRQL; returning
 * STATUS_MORE_PROCESSING_REQUIRED stops the completion there (4.14).
 */
static inline void IoSetCompletionRoutine(PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine,
                                          PVOID Context, BOOLEAN InvokeOnSuccess,
                                          BOOLEAN InvokeOnError, BOOLEAN InvokeOnCancel)
{
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(Irp);
    n->CompletionRoutine = CompletionRoutine;
    n->Context = Context;
    n->Control = 0;
    if (InvokeOnSuccess)
        n->Control |= SL_INVOKE_ON_SUCCESS;
    if (InvokeOnError)
        n->Control |= SL_INVOKE_ON_ERROR;
    if (InvokeOnCancel)
        n->Control |= SL_INVOKE_ON_CANCEL;
}
KDPC_EXPORT NTSTATUS kdpc_IoSetCompletionRoutineEx(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                   PIO_COMPLETION_ROUTINE CompletionRoutine,
                                                   PVOID Context, BOOLEAN InvokeOnSuccess,
                                                   BOOLEAN InvokeOnError, BOOLEAN InvokeOnCancel);
/**
 * IoSetCompletionRoutineEx - IoSetCompletionRoutine that keeps @DeviceObject's driver (the
 * caller's own device) loaded until the routine has run. It allocates a small context, so it
 * can fail (STATUS_INSUFFICIENT_RESOURCES, under low resources simulation): then nothing is set,
 * and the driver completes the IRP with that status instead of sending it. The context is freed
 * when the routine runs. IRQL: <= DISPATCH_LEVEL.
 */
static inline NTSTATUS IoSetCompletionRoutineEx(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                PIO_COMPLETION_ROUTINE CompletionRoutine,
                                                PVOID Context, BOOLEAN InvokeOnSuccess,
                                                BOOLEAN InvokeOnError, BOOLEAN InvokeOnCancel)
{
    return kdpc_IoSetCompletionRoutineEx(DeviceObject, Irp, CompletionRoutine, Context,
                                         InvokeOnSuccess, InvokeOnError, InvokeOnCancel);
}
/** IoMarkIrpPending - set SL_PENDING_RETURNED in the current location (4.18). IRQL: any. */
static inline void IoMarkIrpPending(PIRP Irp)
{
    IoGetCurrentIrpStackLocation(Irp)->Control |= SL_PENDING_RETURNED;
}

/* --- IRP lifetime, IoCallDriver, completion --- */
KDPC_EXPORT PIRP kdpc_IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota);
KDPC_EXPORT void kdpc_IoFreeIrp(PIRP Irp);
KDPC_EXPORT void kdpc_IoReuseIrp(PIRP Irp, NTSTATUS Iostatus);
KDPC_EXPORT NTSTATUS kdpc_IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp);
KDPC_EXPORT void kdpc_IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost);
KDPC_EXPORT PIRP kdpc_IoBuildDeviceIoControlRequest(ULONG IoControlCode,
                                                    PDEVICE_OBJECT DeviceObject, PVOID InputBuffer,
                                                    ULONG InputBufferLength, PVOID OutputBuffer,
                                                    ULONG OutputBufferLength,
                                                    BOOLEAN InternalDeviceIoControl, PKEVENT Event,
                                                    PIO_STATUS_BLOCK IoStatusBlock);
KDPC_EXPORT PIRP kdpc_IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject,
                                                   PVOID Buffer, ULONG Length,
                                                   PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                                   PIO_STATUS_BLOCK IoStatusBlock);
KDPC_EXPORT PIRP kdpc_IoBuildAsynchronousFsdRequest(ULONG MajorFunction,
                                                    PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                                    ULONG Length, PLARGE_INTEGER StartingOffset,
                                                    PIO_STATUS_BLOCK IoStatusBlock);

/**
 * IoAllocateIrp - an IRP with @StackSize locations: Type 6, StackCount
 * StackSize, CurrentLocation StackSize + 1 (4.1). NULL on failure (also when
 * low-resources simulation says so). IRQL: <= DISPATCH_LEVEL.
 */
static inline PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
    return kdpc_IoAllocateIrp(StackSize, ChargeQuota);
}
/** IoFreeIrp - free an IRP from IoAllocateIrp / IoBuildAsynchronousFsdRequest.
 * Bugchecks: io.invalid_object: 0xC9/0x01 (P2 = the pointer) for anything that is not a live
 * IRP (freed already, never allocated, another object), 0xC9/0x02 for an IRP the I/O manager
 * built for a waiting thread, 0xC9/0x20B (P3 = the IRP) for one still queued, 0x1E for NULL;
 * switched off or to a warning nothing is freed. */
static inline void IoFreeIrp(PIRP Irp)
{
    kdpc_IoFreeIrp(Irp);
}
/** IoReuseIrp - reinitialise for another request; IoStatus.Status = @Iostatus.
 * Bugchecks: io.invalid_object (0x50 P1 = the pointer, 0x1E for NULL) when @Irp is no live IRP. */
static inline void IoReuseIrp(PIRP Irp, NTSTATUS Iostatus)
{
    kdpc_IoReuseIrp(Irp, Iostatus);
}
/**
 * IoCallDriver - move to the next stack location, record @DeviceObject in it
 * and call the driver's dispatch routine for its MajorFunction; returns what
 * the dispatch routine returned. IRQL: <= DISPATCH_LEVEL.
 * Bugchecks (Verifier's I/O Verification): io.invalid_object 0xC9/0x03 (P2 = IRP) when @Irp is
 * not a live IRP, 0xC9/0x04 (P2 = device) when @DeviceObject is not a live device object,
 * 0xC9/0x204 (P3 = IRP) when it is NULL, 0x1E for a NULL @Irp (switched off or to a warning:
 * STATUS_INVALID_PARAMETER, nothing dispatched); io.pending_not_returned 0xC9/0x23E (P2 =
 * dispatch routine, P3 = IRP, P4 = device) when the dispatch routine called IoMarkIrpPending and
 * returned anything but STATUS_PENDING.
 */
static inline NTSTATUS IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return kdpc_IoCallDriver(DeviceObject, Irp);
}
#define IofCallDriver IoCallDriver
/**
 * IoCompleteRequest - complete the IRP: completion routines up the stack
 * (4.14, pending propagated), then for the originator: buffered output copied
 * back and the IO_STATUS_BLOCK written unless NT_ERROR (when not pending,
 * 4.19), the event signaled, and IRPs built by IoBuild*Request... freed.
 * IRQL: <= DISPATCH_LEVEL, no spin lock held.
 * Bugchecks: io.double_complete (0x44), io.complete_pending (0xC9/0x06),
 * io.buffer_overrun (0xC9/0x0B: Information beyond the output buffer),
 * io.complete_cancelable (0xC9/0x07: the cancel routine is still set);
 * io.double_complete (0x44) for an IRP that was freed; io.invalid_object for anything else
 * that is not a live IRP (0x50 with P1 = the pointer, 0x1E for NULL); switched off or to a
 * warning the call returns.
 */
static inline void IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    kdpc_IoCompleteRequest(Irp, PriorityBoost);
}
#define IofCompleteRequest IoCompleteRequest
/**
 * IoBuildDeviceIoControlRequest - an IRP_MJ_(INTERNAL_)DEVICE_CONTROL IRP for
 * @DeviceObject with the buffers set up by the code's method (4.27); the
 * result lands in *IoStatusBlock and @Event is signaled at completion; the
 * I/O manager frees the IRP. NULL on failure. IRQL: PASSIVE_LEVEL.
 */
static inline PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                                 PVOID InputBuffer, ULONG InputBufferLength,
                                                 PVOID OutputBuffer, ULONG OutputBufferLength,
                                                 BOOLEAN InternalDeviceIoControl, PKEVENT Event,
                                                 PIO_STATUS_BLOCK IoStatusBlock)
{
    return kdpc_IoBuildDeviceIoControlRequest(IoControlCode, DeviceObject, InputBuffer,
                                              InputBufferLength, OutputBuffer, OutputBufferLength,
                                              InternalDeviceIoControl, Event, IoStatusBlock);
}
/** IoBuildSynchronousFsdRequest - an IRP_MJ_READ / _WRITE / _FLUSH_BUFFERS / _SHUTDOWN IRP; buffered,
 * direct (MDL) or neither by the device's Flags; event and IOSB as above. */
static inline PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject,
                                                PVOID Buffer, ULONG Length,
                                                PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                                PIO_STATUS_BLOCK IoStatusBlock)
{
    return kdpc_IoBuildSynchronousFsdRequest(MajorFunction, DeviceObject, Buffer, Length,
                                             StartingOffset, Event, IoStatusBlock);
}
/** IoBuildAsynchronousFsdRequest - as the synchronous one without an event; the caller frees the
 * IRP with IoFreeIrp, usually from its completion routine returning
 * STATUS_MORE_PROCESSING_REQUIRED. IRQL: <= DISPATCH_LEVEL. */
static inline PIRP IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject,
                                                 PVOID Buffer, ULONG Length,
                                                 PLARGE_INTEGER StartingOffset,
                                                 PIO_STATUS_BLOCK IoStatusBlock)
{
    return kdpc_IoBuildAsynchronousFsdRequest(MajorFunction, DeviceObject, Buffer, Length,
                                              StartingOffset, IoStatusBlock);
}

/* --- MDLs --- */
KDPC_EXPORT PMDL kdpc_IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                                    BOOLEAN ChargeQuota, PIRP Irp);
KDPC_EXPORT void kdpc_IoFreeMdl(PMDL Mdl);
KDPC_EXPORT void kdpc_MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList);

/** IoAllocateMdl - an MDL for [VirtualAddress, +Length); attached to @Irp (as MdlAddress, or
 * chained when @SecondaryBuffer) when given. NULL on failure. IRQL: <= DISPATCH_LEVEL. */
static inline PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                                 BOOLEAN ChargeQuota, PIRP Irp)
{
    return kdpc_IoAllocateMdl(VirtualAddress, Length, SecondaryBuffer, ChargeQuota, Irp);
}
/** IoFreeMdl - free an MDL from IoAllocateMdl.
 * Bugchecks: io.invalid_object: 0xC2/0x07 (P4 = the MDL) when it was freed already, 0xC2/0x46
 * (P2 = the pointer) for anything else not allocated by kdpc, 0x1E for NULL. */
static inline void IoFreeMdl(PMDL Mdl)
{
    kdpc_IoFreeMdl(Mdl);
}
/** MmBuildMdlForNonPagedPool - the MDL's buffer is resident and mapped to system space. */
static inline void MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
    kdpc_MmBuildMdlForNonPagedPool(MemoryDescriptorList);
}
/** MmGetMdlVirtualAddress - start of the described buffer. */
static inline PVOID MmGetMdlVirtualAddress(const MDL *Mdl)
{
    return (PVOID)((PUCHAR)Mdl->StartVa + Mdl->ByteOffset);
}
/** MmGetMdlByteCount - its length. */
static inline ULONG MmGetMdlByteCount(const MDL *Mdl)
{
    return Mdl->ByteCount;
}
/** MmGetMdlByteOffset - offset of the buffer in its first page. */
static inline ULONG MmGetMdlByteOffset(const MDL *Mdl)
{
    return Mdl->ByteOffset;
}
KDPC_EXPORT PVOID kdpc_MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority);
/**
 * MmGetSystemAddressForMdlSafe - a system-space address for the buffer the
 * MDL describes (io.md 4.13, 7.4). For locked pages (MmProbeAndLockPages, an
 * I/O manager direct-I/O MDL) or an MDL built for nonpaged pool the address
 * stays valid at DISPATCH_LEVEL even over paged pool: kdpc returns a second
 * view of those pages. An MDL that was never locked (nor built for nonpaged
 * pool) is mm.mdl_flags (0xC4/0xB3), as Driver Verifier reports it; with that
 * rule off it maps to the pageable address itself, so a touch at
 * DISPATCH_LEVEL is still caught (mem.paged_touch).
 * IRQL: <= DISPATCH_LEVEL. Return: the address (kdpc never returns NULL for a
 * valid MDL).
 */
static inline PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
    return kdpc_MmGetSystemAddressForMdlSafe(Mdl, Priority);
}
KDPC_EXPORT void kdpc_MmProbeAndLockPages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Op);
KDPC_EXPORT void kdpc_MmUnlockPages(PMDL Mdl);
/** MmProbeAndLockPages - lock the pages (kdpc: all memory is resident; sets MDL_PAGES_LOCKED).
 * An MDL already locked, built for nonpaged pool or partial is mm.mdl_flags (0xC4/0xB0). */
static inline void MmProbeAndLockPages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Op)
{
    kdpc_MmProbeAndLockPages(Mdl, AccessMode, Op);
}
/** MmUnlockPages - undo MmProbeAndLockPages. Pages never locked are mm.mdl_flags (0xC4/0x7C;
 * 0x7D for an MDL built for nonpaged pool). */
static inline void MmUnlockPages(PMDL Mdl)
{
    kdpc_MmUnlockPages(Mdl);
}

/* --- device queues (4.7-4.11) --- */
KDPC_EXPORT void kdpc_KeInitializeDeviceQueue(PKDEVICE_QUEUE DeviceQueue);
KDPC_EXPORT BOOLEAN kdpc_KeInsertDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                             PKDEVICE_QUEUE_ENTRY DeviceQueueEntry);
KDPC_EXPORT BOOLEAN kdpc_KeInsertByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                                  PKDEVICE_QUEUE_ENTRY DeviceQueueEntry,
                                                  ULONG SortKey);
KDPC_EXPORT PKDEVICE_QUEUE_ENTRY kdpc_KeRemoveDeviceQueue(PKDEVICE_QUEUE DeviceQueue);
KDPC_EXPORT PKDEVICE_QUEUE_ENTRY kdpc_KeRemoveByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                                               ULONG SortKey);
KDPC_EXPORT BOOLEAN kdpc_KeRemoveEntryDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                                  PKDEVICE_QUEUE_ENTRY DeviceQueueEntry);

/** KeInitializeDeviceQueue - empty and Not-Busy (4.7). IRQL: <= DISPATCH_LEVEL. */
static inline void KeInitializeDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
    kdpc_KeInitializeDeviceQueue(DeviceQueue);
}
/** KeInsertDeviceQueue - Not-Busy: becomes Busy, nothing inserted, FALSE ("start it now");
 * Busy: inserted at the tail, TRUE (4.7). IRQL: DISPATCH_LEVEL. */
static inline BOOLEAN KeInsertDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                          PKDEVICE_QUEUE_ENTRY DeviceQueueEntry)
{
    return kdpc_KeInsertDeviceQueue(DeviceQueue, DeviceQueueEntry);
}
/** KeInsertByKeyDeviceQueue - as KeInsertDeviceQueue, inserted by ascending key, FIFO among
 * equal keys (4.9). */
static inline BOOLEAN KeInsertByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                               PKDEVICE_QUEUE_ENTRY DeviceQueueEntry, ULONG SortKey)
{
    return kdpc_KeInsertByKeyDeviceQueue(DeviceQueue, DeviceQueueEntry, SortKey);
}
/** KeRemoveDeviceQueue - the head (Busy stays TRUE), or NULL and Not-Busy when empty (4.8). */
static inline PKDEVICE_QUEUE_ENTRY KeRemoveDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
    return kdpc_KeRemoveDeviceQueue(DeviceQueue);
}
/** KeRemoveByKeyDeviceQueue - first entry with SortKey >= @SortKey, else the head; NULL and
 * Not-Busy when empty (4.9). */
static inline PKDEVICE_QUEUE_ENTRY KeRemoveByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                                            ULONG SortKey)
{
    return kdpc_KeRemoveByKeyDeviceQueue(DeviceQueue, SortKey);
}
/** KeRemoveEntryDeviceQueue - TRUE and removed if it was inserted, else FALSE; Busy is not
 * changed (4.10). */
static inline BOOLEAN KeRemoveEntryDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                               PKDEVICE_QUEUE_ENTRY DeviceQueueEntry)
{
    return kdpc_KeRemoveEntryDeviceQueue(DeviceQueue, DeviceQueueEntry);
}

/* --- StartIo (4.2-4.6) --- */
KDPC_EXPORT void kdpc_IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key,
                                    PDRIVER_CANCEL CancelFunction);
KDPC_EXPORT void kdpc_IoStartNextPacket(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable);
KDPC_EXPORT void kdpc_IoStartNextPacketByKey(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable,
                                             ULONG Key);
KDPC_EXPORT void kdpc_IoSetStartIoAttributes(PDEVICE_OBJECT DeviceObject, BOOLEAN DeferredStartIo,
                                             BOOLEAN NonCancelable);

/**
 * IoStartPacket - queue the IRP on the device queue (by key when @Key is not
 * NULL) or, when the device is idle, make it CurrentIrp and call StartIo at
 * DISPATCH_LEVEL at once (4.2). With @CancelFunction the IRP is cancelable;
 * a queued IRP already cancelled has its cancel function called at once.
 * IRQL: <= DISPATCH_LEVEL.
 * Bugchecks: io.invalid_object (0x50 P1 = the pointer, 0x1E for NULL) when @DeviceObject or @Irp
 * is not a live object of its type; io.no_startio (0xD1: 0, DISPATCH_LEVEL, 8, 0) when the IRP
 * would start and the driver has no StartIo routine.
 */
static inline void IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key,
                                 PDRIVER_CANCEL CancelFunction)
{
    kdpc_IoStartPacket(DeviceObject, Irp, Key, CancelFunction);
}
/**
 * IoStartNextPacket - CurrentIrp = NULL, then the next queued IRP becomes
 * CurrentIrp and StartIo runs inside this call; an empty queue becomes
 * Not-Busy (4.4). IRQL: DISPATCH_LEVEL.
 * Bugchecks: io.start_next_irql (0xC4/0x00020003) at another IRQL.
 */
static inline void IoStartNextPacket(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable)
{
    kdpc_IoStartNextPacket(DeviceObject, Cancelable);
}
/** IoStartNextPacketByKey - as IoStartNextPacket with KeRemoveByKeyDeviceQueue (4.6). */
static inline void IoStartNextPacketByKey(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable,
                                          ULONG Key)
{
    kdpc_IoStartNextPacketByKey(DeviceObject, Cancelable, Key);
}
/** IoSetStartIoAttributes - DeferredStartIo: StartIo does not nest through IoStartNextPacket;
 * NonCancelable: dequeued IRPs lose their cancel routine (4.5). Flags only OR in. */
static inline void IoSetStartIoAttributes(PDEVICE_OBJECT DeviceObject, BOOLEAN DeferredStartIo,
                                          BOOLEAN NonCancelable)
{
    kdpc_IoSetStartIoAttributes(DeviceObject, DeferredStartIo, NonCancelable);
}

/* --- cancel (4.20-4.24) --- */
KDPC_EXPORT void kdpc_IoAcquireCancelSpinLock(PKIRQL Irql);
KDPC_EXPORT void kdpc_IoReleaseCancelSpinLock(KIRQL Irql);
KDPC_EXPORT BOOLEAN kdpc_IoCancelIrp(PIRP Irp);

/** IoAcquireCancelSpinLock - the one system-wide cancel lock; raises to DISPATCH_LEVEL (4.20). */
static inline void IoAcquireCancelSpinLock(PKIRQL Irql)
{
    kdpc_IoAcquireCancelSpinLock(Irql);
}
/** IoReleaseCancelSpinLock - release it and restore @Irql (4.20). */
static inline void IoReleaseCancelSpinLock(KIRQL Irql)
{
    kdpc_IoReleaseCancelSpinLock(Irql);
}
/** IoSetCancelRoutine - atomically swap in @CancelRoutine; returns the previous one (NULL: none,
 * or cancellation already took it) (4.21). IRQL: <= DISPATCH_LEVEL. */
static inline PDRIVER_CANCEL IoSetCancelRoutine(PIRP Irp, PDRIVER_CANCEL CancelRoutine)
{
    PDRIVER_CANCEL old;
    __atomic_exchange(&Irp->CancelRoutine, &CancelRoutine, &old, __ATOMIC_SEQ_CST);
    return old;
}
/**
 * IoCancelIrp - Irp->Cancel = TRUE; when a cancel routine was set, call it
 * with the cancel lock held (Irp->CancelIrql saved) and return TRUE, else
 * FALSE (4.22). IRQL: <= DISPATCH_LEVEL. Bugchecks: io.cancel_lock_held
 * (0x11B DRIVER_RETURNED_HOLDING_CANCEL_LOCK) when the routine returns
 * without IoReleaseCancelSpinLock; 0x48 CANCEL_STATE_IN_COMPLETED_IRP
 * (ke.bugcheck) when the IRP was completed with the routine still set.
 */
static inline BOOLEAN IoCancelIrp(PIRP Irp)
{
    return kdpc_IoCancelIrp(Irp);
}

/* --- device stacks --- */
KDPC_EXPORT PDEVICE_OBJECT kdpc_IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice,
                                                            PDEVICE_OBJECT TargetDevice);
KDPC_EXPORT void kdpc_IoDetachDevice(PDEVICE_OBJECT TargetDevice);

/** IoAttachDeviceToDeviceStack - put @SourceDevice on top of @TargetDevice's stack; returns the
 * device it now sits on (the old top), or NULL; StackSize becomes that device's + 1. */
static inline PDEVICE_OBJECT IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice,
                                                         PDEVICE_OBJECT TargetDevice)
{
    return kdpc_IoAttachDeviceToDeviceStack(SourceDevice, TargetDevice);
}
/** IoDetachDevice - take the device attached on @TargetDevice off the stack.
 * Bugchecks: io.invalid_object 0xC9/0x202 (P4 = the device) when nothing is attached (detached
 * twice); 0x50 / 0x1E for a pointer that is not a live device object (as for
 * IoAttachDeviceToDeviceStack's two devices). */
static inline void IoDetachDevice(PDEVICE_OBJECT TargetDevice)
{
    kdpc_IoDetachDevice(TargetDevice);
}

/* --- error log (6.1-6.5) --- */

/** Error log entry header; DumpData follows (6.4). */
typedef struct _IO_ERROR_LOG_PACKET {
    UCHAR MajorFunctionCode;
    UCHAR RetryCount;
    USHORT DumpDataSize;
    USHORT NumberOfStrings;
    USHORT StringOffset;
    USHORT EventCategory;
    NTSTATUS ErrorCode;
    ULONG UniqueErrorValue;
    NTSTATUS FinalStatus;
    ULONG SequenceNumber;
    ULONG IoControlCode;
    LARGE_INTEGER DeviceOffset;
    ULONG DumpData[1];
} IO_ERROR_LOG_PACKET, *PIO_ERROR_LOG_PACKET;

/** Largest EntrySize on 64-bit Windows (6.3). */
#define ERROR_LOG_MAXIMUM_SIZE 240

KDPC_EXPORT PVOID kdpc_IoAllocateErrorLogEntry(PVOID IoObject, UCHAR EntrySize);
KDPC_EXPORT void kdpc_IoWriteErrorLogEntry(PVOID ElEntry);
KDPC_EXPORT void kdpc_IoFreeErrorLogEntry(PVOID ElEntry);

/**
 * IoAllocateErrorLogEntry - a zeroed entry of @EntrySize bytes for a device or
 * driver object, or NULL (bad object, size below sizeof(IO_ERROR_LOG_PACKET)
 * or above ERROR_LOG_MAXIMUM_SIZE, low resources) (6.1). IRQL: <= DISPATCH_LEVEL.
 * Bugchecks: errorlog.irql (0xC4) above DISPATCH_LEVEL.
 */
static inline PVOID IoAllocateErrorLogEntry(PVOID IoObject, UCHAR EntrySize)
{
    return kdpc_IoAllocateErrorLogEntry(IoObject, EntrySize);
}
/** IoWriteErrorLogEntry - log the entry (kdpc_errorlog_* read it back) and free it (6.5).
 * Bugchecks: errorlog.irql above DISPATCH_LEVEL. */
static inline void IoWriteErrorLogEntry(PVOID ElEntry)
{
    kdpc_IoWriteErrorLogEntry(ElEntry);
}
/** IoFreeErrorLogEntry - free an entry that was not written (6.5). */
static inline void IoFreeErrorLogEntry(PVOID ElEntry)
{
    kdpc_IoFreeErrorLogEntry(ElEntry);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_IRP_H */
