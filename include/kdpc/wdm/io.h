/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/io.h - I/O manager basics: DRIVER_OBJECT, DEVICE_OBJECT with its
 * embedded DPC, IoCreateDevice / IoDeleteDevice, the DpcForIsr pair
 * (IoInitializeDpcRequest / IoRequestDpc) and interrupt connection.
 */
#ifndef KDPC_WDM_IO_H
#define KDPC_WDM_IO_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/devioctl.h>
#include <kdpc/wdm/ke.h>

KDPC_BEGIN_DECLS

typedef struct _IRP IRP, *PIRP;
typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;
typedef struct _DEVICE_OBJECT DEVICE_OBJECT, *PDEVICE_OBJECT;

/** DriverEntry prototype. IRQL: PASSIVE_LEVEL. */
typedef NTSTATUS DRIVER_INITIALIZE(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;
/** Unload prototype. IRQL: PASSIVE_LEVEL. */
typedef void DRIVER_UNLOAD(PDRIVER_OBJECT DriverObject);
typedef DRIVER_UNLOAD *PDRIVER_UNLOAD;
/** Dispatch routine prototype. */
typedef NTSTATUS DRIVER_DISPATCH(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH;
/* The same dispatch routine type, named for a routine that runs at PASSIVE_LEVEL (PAGED) or may
 * run at up to DISPATCH_LEVEL (RAISED): the name is an annotation only. */
typedef DRIVER_DISPATCH DRIVER_DISPATCH_PAGED;
typedef DRIVER_DISPATCH_PAGED *PDRIVER_DISPATCH_PAGED;
typedef DRIVER_DISPATCH DRIVER_DISPATCH_RAISED;
typedef DRIVER_DISPATCH_RAISED *PDRIVER_DISPATCH_RAISED;
/** StartIo prototype. IRQL: DISPATCH_LEVEL. */
typedef void DRIVER_STARTIO(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef DRIVER_STARTIO *PDRIVER_STARTIO;
/** DpcForIsr prototype (fact 5.3). */
typedef void IO_DPC_ROUTINE(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context);
typedef IO_DPC_ROUTINE *PIO_DPC_ROUTINE;

/* Major function codes (every one wdm.h has). kdpc sends CREATE, CLEANUP, CLOSE, READ, WRITE,
 * (INTERNAL_)DEVICE_CONTROL, PNP and POWER; a test may build and send any other itself. */
#define IRP_MJ_CREATE                   0x00
#define IRP_MJ_CREATE_NAMED_PIPE        0x01
#define IRP_MJ_CLOSE                    0x02
#define IRP_MJ_READ                     0x03
#define IRP_MJ_WRITE                    0x04
#define IRP_MJ_QUERY_INFORMATION        0x05
#define IRP_MJ_SET_INFORMATION          0x06
#define IRP_MJ_QUERY_EA                 0x07
#define IRP_MJ_SET_EA                   0x08
#define IRP_MJ_FLUSH_BUFFERS            0x09
#define IRP_MJ_QUERY_VOLUME_INFORMATION 0x0a
#define IRP_MJ_SET_VOLUME_INFORMATION   0x0b
#define IRP_MJ_DIRECTORY_CONTROL        0x0c
#define IRP_MJ_FILE_SYSTEM_CONTROL      0x0d
#define IRP_MJ_DEVICE_CONTROL           0x0e
#define IRP_MJ_INTERNAL_DEVICE_CONTROL  0x0f
#define IRP_MJ_SCSI                     IRP_MJ_INTERNAL_DEVICE_CONTROL
#define IRP_MJ_SHUTDOWN                 0x10
#define IRP_MJ_LOCK_CONTROL             0x11
#define IRP_MJ_CLEANUP                  0x12
#define IRP_MJ_CREATE_MAILSLOT          0x13
#define IRP_MJ_QUERY_SECURITY           0x14
#define IRP_MJ_SET_SECURITY             0x15
#define IRP_MJ_POWER                    0x16
#define IRP_MJ_SYSTEM_CONTROL           0x17
#define IRP_MJ_DEVICE_CHANGE            0x18
#define IRP_MJ_QUERY_QUOTA              0x19
#define IRP_MJ_SET_QUOTA                0x1a
#define IRP_MJ_PNP                      0x1b
#define IRP_MJ_PNP_POWER                IRP_MJ_PNP
#define IRP_MJ_MAXIMUM_FUNCTION         0x1b

/**
 * AddDevice prototype (DRIVER_EXTENSION.AddDevice): the PnP manager calls it
 * at PASSIVE_LEVEL with the PDO of each device the driver is to take; it
 * creates the FDO and attaches it above @PhysicalDeviceObject
 * (kdpc/wdm/pnp.h, docs/facts/pnp.md 1.2).
 */
typedef NTSTATUS DRIVER_ADD_DEVICE(PDRIVER_OBJECT DriverObject,
                                   PDEVICE_OBJECT PhysicalDeviceObject);
typedef DRIVER_ADD_DEVICE *PDRIVER_ADD_DEVICE;

/** Per-driver extension (AddDevice lives here in WDM). */
typedef struct _DRIVER_EXTENSION {
    PDRIVER_OBJECT DriverObject;
    PDRIVER_ADD_DEVICE AddDevice;
    ULONG Count;
    UNICODE_STRING ServiceKeyName;
} DRIVER_EXTENSION, *PDRIVER_EXTENSION;

/** The driver object the I/O manager passes to DriverEntry. */
struct _DRIVER_OBJECT {
    CSHORT Type; /* IO_TYPE_DRIVER */
    CSHORT Size;
    PDEVICE_OBJECT DeviceObject; /* first device; NextDevice links the rest */
    ULONG Flags;
    PVOID DriverStart;
    ULONG DriverSize;
    PVOID DriverSection;
    PDRIVER_EXTENSION DriverExtension;
    UNICODE_STRING DriverName;
    PUNICODE_STRING HardwareDatabase;
    PVOID FastIoDispatch;
    PDRIVER_INITIALIZE DriverInit;
    PDRIVER_STARTIO DriverStartIo;
    PDRIVER_UNLOAD DriverUnload;
    PDRIVER_DISPATCH MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
};

#define IO_TYPE_DRIVER 4
#define IO_TYPE_DEVICE 3

/* DEVICE_OBJECT Flags: unsigned, as Flags is a ULONG (Flags &= ~DO_X needs no cast under
 * -Wsign-conversion). kdpc acts on DO_BUFFERED_IO, DO_DIRECT_IO, DO_DEVICE_INITIALIZING and
 * DO_POWER_PAGABLE; it neither reads nor sets the others (unlike Windows, it does not set
 * DO_DEVICE_HAS_NAME or DO_SHUTDOWN_REGISTERED for the driver). */
#define DO_VERIFY_VOLUME                 0x00000002u
#define DO_BUFFERED_IO                   0x00000004u
#define DO_EXCLUSIVE                     0x00000008u
#define DO_DIRECT_IO                     0x00000010u
#define DO_MAP_IO_BUFFER                 0x00000020u
#define DO_DEVICE_HAS_NAME               0x00000040u
#define DO_DEVICE_INITIALIZING           0x00000080u
#define DO_SYSTEM_BOOT_PARTITION         0x00000100u
#define DO_LONG_TERM_REQUESTS            0x00000200u
#define DO_NEVER_LAST_DEVICE             0x00000400u
#define DO_SHUTDOWN_REGISTERED           0x00000800u
#define DO_BUS_ENUMERATED_DEVICE         0x00001000u
#define DO_POWER_PAGABLE                 0x00002000u
#define DO_POWER_INRUSH                  0x00004000u
#define DO_LOW_PRIORITY_FILESYSTEM       0x00010000u
#define DO_SUPPORTS_PERSISTENT_ACLS      0x00020000u
#define DO_SUPPORTS_TRANSACTIONS         0x00040000u
#define DO_FORCE_NEITHER_IO              0x00080000u
#define DO_VOLUME_DEVICE_OBJECT          0x00100000u
#define DO_SYSTEM_SYSTEM_PARTITION       0x00200000u
#define DO_SYSTEM_CRITICAL_PARTITION     0x00400000u
#define DO_DISALLOW_EXECUTE              0x00800000u
#define DO_DEVICE_TO_BE_RESET            0x04000000u
#define DO_DEVICE_IRP_REQUIRES_EXTENSION 0x08000000u
#define DO_DAX_VOLUME                    0x10000000u
#define DO_BOOT_CRITICAL                 0x20000000u

/** Entry of a device queue (an IRP's Tail.Overlay.DeviceQueueEntry). */
typedef struct _KDEVICE_QUEUE_ENTRY {
    LIST_ENTRY DeviceListEntry;
    ULONG SortKey;
    BOOLEAN Inserted;
} KDEVICE_QUEUE_ENTRY, *PKDEVICE_QUEUE_ENTRY;

/** Device queue (4.7-4.11). */
typedef struct _KDEVICE_QUEUE {
    CSHORT Type;
    CSHORT Size;
    LIST_ENTRY DeviceListHead;
    KSPIN_LOCK Lock;
    BOOLEAN Busy;
} KDEVICE_QUEUE, *PKDEVICE_QUEUE;

/* DEVICE_TYPE and FILE_DEVICE_* device types: kdpc/wdm/devioctl.h. */
#define FILE_DEVICE_SECURE_OPEN 0x00000100

/**
 * DEVICE_OBJECT - the fields drivers touch. Dpc is the DPC object that
 * IoInitializeDpcRequest binds and IoRequestDpc queues (fact 5.1).
 */
struct _DEVICE_OBJECT {
    CSHORT Type; /* IO_TYPE_DEVICE */
    USHORT Size;
    LONG ReferenceCount;
    PDRIVER_OBJECT DriverObject;
    PDEVICE_OBJECT NextDevice;
    PDEVICE_OBJECT AttachedDevice;
    PIRP CurrentIrp;
    ULONG Flags;
    ULONG Characteristics;
    PVOID DeviceExtension;
    DEVICE_TYPE DeviceType;
    CCHAR StackSize;
    ULONG AlignmentRequirement;
    KDPC Dpc;
    KDEVICE_QUEUE DeviceQueue; /* the system device queue of IoStartPacket */
    UNICODE_STRING DeviceName; /* kdpc: the name given to IoCreateDevice, or empty */
};

KDPC_EXPORT NTSTATUS kdpc_IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                                         PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                                         ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                                         PDEVICE_OBJECT *DeviceObject);
KDPC_EXPORT void kdpc_IoDeleteDevice(PDEVICE_OBJECT DeviceObject);

/**
 * IoCreateDevice - create a device object with a zeroed, 16-byte aligned
 * extension of @DeviceExtensionSize bytes, linked at the head of the
 * driver's device list; Flags has DO_DEVICE_INITIALIZING (cleared for
 * devices created inside DriverEntry when it returns), StackSize is 1.
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS, STATUS_OBJECT_NAME_COLLISION (name in use),
 * STATUS_INVALID_PARAMETER (NULL driver or output, extension over 64 KB),
 * STATUS_INSUFFICIENT_RESOURCES. Size is sizeof(DEVICE_OBJECT) plus the
 * extension size, as on Windows.
 * Bugchecks: io.invalid_object (the fault Windows takes: 0x50 with P1 = the
 * driver, 0x1E for an impossible address) when @DriverObject is not NULL and not a
 * live driver object.
 */
static inline NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                                      PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                                      ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                                      PDEVICE_OBJECT *DeviceObject)
{
    return kdpc_IoCreateDevice(DriverObject, DeviceExtensionSize, DeviceName, DeviceType,
                               DeviceCharacteristics, Exclusive, DeviceObject);
}
/**
 * IoDeleteDevice - unlink and free the device object and its extension.
 * IRQL: PASSIVE_LEVEL. Bugchecks: unload.pending (0xCE) when the device's
 * DPC, or a DPC inside its extension, is still queued; io.invalid_object:
 * 0xC9/0x240 (P4 = the device) for a device already deleted, 0xC9/0x201 for a
 * device still attached to a lower one, a fault (0x50 P1 / 0x1E P4 = the pointer) for anything
 * else that is not a live device object.
 */
static inline void IoDeleteDevice(PDEVICE_OBJECT DeviceObject)
{
    kdpc_IoDeleteDevice(DeviceObject);
}

KDPC_EXPORT void kdpc_IoInitializeDpcRequest(PDEVICE_OBJECT DeviceObject,
                                             PIO_DPC_ROUTINE DpcRoutine);
KDPC_EXPORT void kdpc_IoRequestDpc(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context);

/**
 * IoInitializeDpcRequest - bind DpcForIsr to DeviceObject->Dpc with the
 * device object as DeferredContext (fact 5.1). IRQL: any.
 * Bugchecks: io.invalid_object (0x50 P1 / 0x1E P4 = the device) when @DeviceObject is
 * not a live device object (NULL, never created, deleted).
 */
static inline void IoInitializeDpcRequest(PDEVICE_OBJECT DeviceObject, PIO_DPC_ROUTINE DpcRoutine)
{
    kdpc_IoInitializeDpcRequest(DeviceObject, DpcRoutine);
}
/**
 * IoRequestDpc - queue the device's DPC with Irp and Context as its
 * arguments; a request while it is still queued is dropped, arguments and
 * all (facts 5.2, 5.4). IRQL: DIRQL (any works).
 * Bugchecks: io.invalid_object as above.
 */
static inline void IoRequestDpc(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    kdpc_IoRequestDpc(DeviceObject, Irp, Context);
}

/* ------------------------------------------------------------------ */
/* Interrupt connection (fact 3.4)                                     */

KDPC_EXPORT NTSTATUS kdpc_IoConnectInterrupt(PKINTERRUPT *InterruptObject,
                                             PKSERVICE_ROUTINE ServiceRoutine, PVOID ServiceContext,
                                             PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql,
                                             KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                                             BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                                             BOOLEAN FloatingSave);
KDPC_EXPORT void kdpc_IoDisconnectInterrupt(PKINTERRUPT InterruptObject);

/**
 * IoConnectInterrupt - connect @ServiceRoutine to line @Vector. The ISR runs
 * at @SynchronizeIrql holding @SpinLock (or the object's own lock when NULL)
 * on a CPU of @ProcessorEnableMask whose IRQL is below @Irql. It may run as
 * soon as this returns. IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (no active CPU in the mask,
 * Irql not a device IRQL 3..HIGH_LEVEL, SynchronizeIrql < Irql, Vector >=
 * KDPC_MAX_LINES, FloatingSave, NULL routine or output, or a line already
 * connected without ShareVector or with another InterruptMode);
 * STATUS_INSUFFICIENT_RESOURCES.
 */
static inline NTSTATUS IoConnectInterrupt(PKINTERRUPT *InterruptObject,
                                          PKSERVICE_ROUTINE ServiceRoutine, PVOID ServiceContext,
                                          PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql,
                                          KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                                          BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                                          BOOLEAN FloatingSave)
{
    return kdpc_IoConnectInterrupt(InterruptObject, ServiceRoutine, ServiceContext, SpinLock,
                                   Vector, Irql, SynchronizeIrql, InterruptMode, ShareVector,
                                   ProcessorEnableMask, FloatingSave);
}
/**
 * IoDisconnectInterrupt - take the interrupt object off its line (no delivery starts on it
 * afterwards), wait until no CPU runs its ISR or holds its spin lock (deliveries in flight
 * finish), then free it. IRQL: PASSIVE_LEVEL.
 * Bugchecks: isr.disconnect_self (0xC4/0x1000, P2 the spin lock, P3 the object) from its own
 * ISR or SynchCritSection or with its lock held on this CPU (it would wait for itself);
 * isr.disconnect_irql (0xC4/0x2000D, P2 IRQL, P3 the object) above PASSIVE_LEVEL;
 * obj.invalid for anything but a connected interrupt object: NULL or an unusable pointer
 * (0x1E; 0xA at DISPATCH_LEVEL or above), any other pointer, e.g. an object disconnected
 * already (0x50, P1 the pointer, P4 0 disconnected / 2 never an interrupt object).
 */
static inline void IoDisconnectInterrupt(PKINTERRUPT InterruptObject)
{
    kdpc_IoDisconnectInterrupt(InterruptObject);
}

#define CONNECT_FULLY_SPECIFIED       0x1
#define CONNECT_LINE_BASED            0x2
#define CONNECT_MESSAGE_BASED         0x3
#define CONNECT_FULLY_SPECIFIED_GROUP 0x4

/** Fully specified parameters of IoConnectInterruptEx. */
typedef struct _IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS {
    PDEVICE_OBJECT PhysicalDeviceObject;
    PKINTERRUPT *InterruptObject;
    PKSERVICE_ROUTINE ServiceRoutine;
    PVOID ServiceContext;
    PKSPIN_LOCK SpinLock;
    KIRQL SynchronizeIrql;
    BOOLEAN FloatingSave;
    BOOLEAN ShareVector;
    ULONG Vector;
    KIRQL Irql;
    KINTERRUPT_MODE InterruptMode;
    KAFFINITY ProcessorEnableMask;
    USHORT Group;
} IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS,
    *PIO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS;

/** IoConnectInterruptEx parameters (only the fully specified form is supported). */
typedef struct _IO_CONNECT_INTERRUPT_PARAMETERS {
    ULONG Version;
    KDPC_EXTENSION union {
        IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS FullySpecified;
    };
} IO_CONNECT_INTERRUPT_PARAMETERS, *PIO_CONNECT_INTERRUPT_PARAMETERS;

/** IoDisconnectInterruptEx parameters. */
typedef struct _IO_DISCONNECT_INTERRUPT_PARAMETERS {
    ULONG Version;
    union {
        PVOID Generic;
        PKINTERRUPT InterruptObject;
    } ConnectionContext;
} IO_DISCONNECT_INTERRUPT_PARAMETERS, *PIO_DISCONNECT_INTERRUPT_PARAMETERS;

KDPC_EXPORT NTSTATUS kdpc_IoConnectInterruptEx(PIO_CONNECT_INTERRUPT_PARAMETERS Parameters);
KDPC_EXPORT void kdpc_IoDisconnectInterruptEx(PIO_DISCONNECT_INTERRUPT_PARAMETERS Parameters);

/**
 * IoConnectInterruptEx - CONNECT_FULLY_SPECIFIED (and _GROUP with Group 0)
 * connect exactly as IoConnectInterrupt. Divergence: kdpc has no PnP
 * resource lists, so CONNECT_LINE_BASED and CONNECT_MESSAGE_BASED return
 * STATUS_NOT_SUPPORTED. IRQL: PASSIVE_LEVEL.
 */
static inline NTSTATUS IoConnectInterruptEx(PIO_CONNECT_INTERRUPT_PARAMETERS Parameters)
{
    return kdpc_IoConnectInterruptEx(Parameters);
}
/** IoDisconnectInterruptEx - disconnect the object a fully specified connect returned, as
 * IoDisconnectInterrupt (IRQL, waiting and bug checks alike; NULL @Parameters is obj.invalid).
 * Other versions: nothing is done. IRQL: PASSIVE_LEVEL. */
static inline void IoDisconnectInterruptEx(PIO_DISCONNECT_INTERRUPT_PARAMETERS Parameters)
{
    kdpc_IoDisconnectInterruptEx(Parameters);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_IO_H */
