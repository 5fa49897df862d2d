/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/pnp.h - Plug and Play as a WDM function driver sees it: the
 * IRP_MN_* codes of IRP_MJ_PNP, the resource lists of IRP_MN_START_DEVICE
 * (CM_RESOURCE_LIST and its descriptors), remove locks,
 * IoForwardIrpSynchronously, and device interfaces
 * (docs/facts/pnp.md). AddDevice's prototype (DRIVER_ADD_DEVICE) is in
 * kdpc/wdm/io.h with DRIVER_EXTENSION.
 *
 * The PnP manager of a kdpc machine (a system thread) enumerates the
 * virtual devices of kdpc/device.h on a root bus: each gets a PDO owned by
 * "\Driver\PnpManager", its driver's AddDevice, then IRP_MN_START_DEVICE
 * with the raw and translated resources built from the device description.
 * Removal (kdpc_device_unplug) sends IRP_MN_QUERY_REMOVE_DEVICE and
 * IRP_MN_REMOVE_DEVICE, or IRP_MN_SURPRISE_REMOVAL and later
 * IRP_MN_REMOVE_DEVICE; a rebalance (kdpc_device_rebalance) sends
 * IRP_MN_QUERY_STOP_DEVICE, IRP_MN_STOP_DEVICE and IRP_MN_START_DEVICE again.
 * Every PnP IRP is sent at PASSIVE_LEVEL from that thread to the top of the
 * device stack with IoStatus.Status = STATUS_NOT_SUPPORTED; the PDO
 * completes what reaches it.
 */
#ifndef KDPC_WDM_PNP_H
#define KDPC_WDM_PNP_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/guid.h>
#include <kdpc/wdm/ke.h>
#include <kdpc/wdm/io.h>
#include <kdpc/wdm/dispatcher.h>
#include <kdpc/wdm/irp.h>
#include <kdpc/wdm/dma.h>
#include <kdpc/wdm/rtl.h>

KDPC_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* IRP_MJ_PNP minor functions                                          */

#define IRP_MN_START_DEVICE                 0x00
#define IRP_MN_QUERY_REMOVE_DEVICE          0x01
#define IRP_MN_REMOVE_DEVICE                0x02
#define IRP_MN_CANCEL_REMOVE_DEVICE         0x03
#define IRP_MN_STOP_DEVICE                  0x04
#define IRP_MN_QUERY_STOP_DEVICE            0x05
#define IRP_MN_CANCEL_STOP_DEVICE           0x06
#define IRP_MN_QUERY_DEVICE_RELATIONS       0x07
#define IRP_MN_QUERY_INTERFACE              0x08
#define IRP_MN_QUERY_CAPABILITIES           0x09
#define IRP_MN_QUERY_RESOURCES              0x0A
#define IRP_MN_QUERY_RESOURCE_REQUIREMENTS  0x0B
#define IRP_MN_QUERY_DEVICE_TEXT            0x0C
#define IRP_MN_FILTER_RESOURCE_REQUIREMENTS 0x0D
#define IRP_MN_READ_CONFIG                  0x0F
#define IRP_MN_WRITE_CONFIG                 0x10
#define IRP_MN_EJECT                        0x11
#define IRP_MN_SET_LOCK                     0x12
#define IRP_MN_QUERY_ID                     0x13
#define IRP_MN_QUERY_PNP_DEVICE_STATE       0x14
#define IRP_MN_QUERY_BUS_INFORMATION        0x15
#define IRP_MN_DEVICE_USAGE_NOTIFICATION    0x16
#define IRP_MN_SURPRISE_REMOVAL             0x17

/* ------------------------------------------------------------------ */
/* Resource lists (IRP_MN_START_DEVICE)                                */

/* CM_PARTIAL_RESOURCE_DESCRIPTOR Type */
#define CmResourceTypeNull           0
#define CmResourceTypePort           1
#define CmResourceTypeInterrupt      2
#define CmResourceTypeMemory         3
#define CmResourceTypeDma            4
#define CmResourceTypeDeviceSpecific 5
#define CmResourceTypeBusNumber      6
#define CmResourceTypeMemoryLarge    7
#define CmResourceTypeConfigData     128
#define CmResourceTypeDevicePrivate  129
#define CmResourceTypePcCardConfig   130
#define CmResourceTypeMfCardConfig   131
#define CmResourceTypeConnection     132

/* ShareDisposition */
typedef enum _CM_SHARE_DISPOSITION {
    CmResourceShareUndetermined = 0,
    CmResourceShareDeviceExclusive = 1,
    CmResourceShareDriverExclusive = 2,
    CmResourceShareShared = 3
} CM_SHARE_DISPOSITION;

/* Flags of an interrupt descriptor */
#define CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE 0x0000
#define CM_RESOURCE_INTERRUPT_LATCHED         0x0001
#define CM_RESOURCE_INTERRUPT_MESSAGE         0x0002
/* Flags of a memory descriptor */
#define CM_RESOURCE_MEMORY_READ_WRITE    0x0000
#define CM_RESOURCE_MEMORY_READ_ONLY     0x0001
#define CM_RESOURCE_MEMORY_WRITE_ONLY    0x0002
#define CM_RESOURCE_MEMORY_PREFETCHABLE  0x0004
#define CM_RESOURCE_MEMORY_COMBINEDWRITE 0x0008
/* Flags of a port descriptor */
#define CM_RESOURCE_PORT_MEMORY 0x0000
#define CM_RESOURCE_PORT_IO     0x0001
/* Flags of a DMA descriptor */
#define CM_RESOURCE_DMA_8          0x0000
#define CM_RESOURCE_DMA_16         0x0001
#define CM_RESOURCE_DMA_32         0x0002
#define CM_RESOURCE_DMA_BUS_MASTER 0x0008

/**
 * CM_PARTIAL_RESOURCE_DESCRIPTOR - one resource: its Type selects the member
 * of u. Port and Memory: Start (a PHYSICAL_ADDRESS) and Length in bytes;
 * Interrupt: Level, Vector, Affinity (raw: the bus's line number twice;
 * translated: Level the DIRQL and Vector the line IoConnectInterrupt takes);
 * Dma: Channel, Port.
 */
#pragma pack(push, 4)
typedef struct _CM_PARTIAL_RESOURCE_DESCRIPTOR {
    UCHAR Type;
    UCHAR ShareDisposition;
    USHORT Flags;
    union {
        struct {
            PHYSICAL_ADDRESS Start;
            ULONG Length;
        } Generic;
        struct {
            PHYSICAL_ADDRESS Start;
            ULONG Length;
        } Port;
        struct {
            ULONG Level;
            ULONG Vector;
            KAFFINITY Affinity;
        } Interrupt;
        struct {
            PHYSICAL_ADDRESS Start;
            ULONG Length;
        } Memory;
        struct {
            ULONG Channel;
            ULONG Port;
            ULONG Reserved1;
        } Dma;
        struct {
            ULONG Data[3];
        } DevicePrivate;
        struct {
            ULONG Start;
            ULONG Length;
            ULONG Reserved;
        } BusNumber;
        struct {
            ULONG DataSize;
            ULONG Reserved1;
            ULONG Reserved2;
        } DeviceSpecificData;
    } u;
} CM_PARTIAL_RESOURCE_DESCRIPTOR, *PCM_PARTIAL_RESOURCE_DESCRIPTOR;
#pragma pack(pop)

/** A bus's resources for one device: Count descriptors follow. */
typedef struct _CM_PARTIAL_RESOURCE_LIST {
    USHORT Version;
    USHORT Revision;
    ULONG Count;
    CM_PARTIAL_RESOURCE_DESCRIPTOR PartialDescriptors[1];
} CM_PARTIAL_RESOURCE_LIST, *PCM_PARTIAL_RESOURCE_LIST;

/** The resources on one bus (kdpc's root bus: InterfaceType Internal, BusNumber 0). */
typedef struct _CM_FULL_RESOURCE_DESCRIPTOR {
    INTERFACE_TYPE InterfaceType;
    ULONG BusNumber;
    CM_PARTIAL_RESOURCE_LIST PartialResourceList;
} CM_FULL_RESOURCE_DESCRIPTOR, *PCM_FULL_RESOURCE_DESCRIPTOR;

/** A device's resources: kdpc always gives one full descriptor (Count 1). */
typedef struct _CM_RESOURCE_LIST {
    ULONG Count;
    CM_FULL_RESOURCE_DESCRIPTOR List[1];
} CM_RESOURCE_LIST, *PCM_RESOURCE_LIST;

/* ------------------------------------------------------------------ */
/* Remove locks                                                        */

/** The part of a remove lock every build has. Drivers treat it as opaque. */
typedef struct _IO_REMOVE_LOCK_COMMON_BLOCK {
    BOOLEAN Removed;
    BOOLEAN Reserved[3];
    volatile LONG IoCount;
    KEVENT RemoveEvent;
} IO_REMOVE_LOCK_COMMON_BLOCK;

/** A remove lock (usually in the device extension). */
typedef struct _IO_REMOVE_LOCK {
    IO_REMOVE_LOCK_COMMON_BLOCK Common;
} IO_REMOVE_LOCK, *PIO_REMOVE_LOCK;

KDPC_EXPORT void kdpc_IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag,
                                               ULONG MaxLockedMinutes, ULONG HighWatermark,
                                               ULONG RemlockSize);
KDPC_EXPORT NTSTATUS kdpc_IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File,
                                                ULONG Line, ULONG RemlockSize);
KDPC_EXPORT void kdpc_IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag,
                                            ULONG RemlockSize);
KDPC_EXPORT void kdpc_IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag,
                                                   ULONG RemlockSize);

/**
 * IoInitializeRemoveLock - initialise @Lock: not removed, one reference (the
 * one IoReleaseRemoveLockAndWait drops). @AllocateTag, @MaxLockedMinutes and
 * @HighWatermark only serve Windows' debug checks; kdpc tracks every tag.
 * IRQL: PASSIVE_LEVEL.
 * Bugchecks: removelock.after_wait (0xC4/0xD3, P2 the lock) when @Lock is a
 * lock IoReleaseRemoveLockAndWait has finished with (Verifier's check);
 * switched off, the lock is initialised again.
 */
static inline void IoInitializeRemoveLock(PIO_REMOVE_LOCK Lock, ULONG AllocateTag,
                                          ULONG MaxLockedMinutes, ULONG HighWatermark)
{
    kdpc_IoInitializeRemoveLockEx(Lock, AllocateTag, MaxLockedMinutes, HighWatermark,
                                  (ULONG)sizeof(IO_REMOVE_LOCK));
}
/**
 * IoAcquireRemoveLock - take a reference on @RemoveLock for @Tag (any value,
 * often the IRP; NULL allowed): the device must not be removed before the
 * matching IoReleaseRemoveLock with the same @Tag.
 * Return: STATUS_SUCCESS; STATUS_DELETE_PENDING (IoReleaseRemoveLockAndWait
 * was called, whether its wait is in progress or has returned: nothing is
 * taken, start no new I/O; no report, as Windows). IRQL: <= DISPATCH_LEVEL.
 */
#define IoAcquireRemoveLock(RemoveLock, Tag)                                                       \
    kdpc_IoAcquireRemoveLockEx((RemoveLock), (PVOID)(Tag), __FILE__, (ULONG)__LINE__,              \
                               (ULONG)sizeof(IO_REMOVE_LOCK))
/**
 * IoReleaseRemoveLock - drop the reference taken for @Tag.
 * IRQL: <= DISPATCH_LEVEL.
 * Bugchecks: removelock.release_unheld (0xC4/0xD1, P2 the lock, P3 the tag)
 * when no acquisition with @Tag is held (released twice, never acquired);
 * switched off, nothing is released.
 */
#define IoReleaseRemoveLock(RemoveLock, Tag)                                                       \
    kdpc_IoReleaseRemoveLockEx((RemoveLock), (PVOID)(Tag), (ULONG)sizeof(IO_REMOVE_LOCK))
/**
 * IoReleaseRemoveLockAndWait - mark the lock removed (later acquisitions get
 * STATUS_DELETE_PENDING), drop the reference taken for @Tag and the initial
 * one, and wait until every other acquisition is released. Called in the
 * IRP_MN_REMOVE_DEVICE handler, after passing the IRP down and before
 * IoDetachDevice / IoDeleteDevice. IRQL: PASSIVE_LEVEL.
 * Bugchecks: removelock.release_unheld as IoReleaseRemoveLock (the caller
 * must hold an acquisition with @Tag); removelock.after_wait when called twice.
 */
#define IoReleaseRemoveLockAndWait(RemoveLock, Tag)                                                \
    kdpc_IoReleaseRemoveLockAndWaitEx((RemoveLock), (PVOID)(Tag), (ULONG)sizeof(IO_REMOVE_LOCK))

/* ------------------------------------------------------------------ */
/* Forwarding                                                          */

KDPC_EXPORT BOOLEAN kdpc_IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp);

/**
 * IoForwardIrpSynchronously - copy the current stack location to the next,
 * send @Irp to @DeviceObject and wait until the lower drivers complete it
 * (the caller owns it again: it completes it itself). Return: TRUE when the
 * IRP was sent (its result is in Irp->IoStatus), FALSE when it could not be
 * (no next stack location, or not an IRP kdpc made). IRQL: <= APC_LEVEL.
 */
static inline BOOLEAN IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return kdpc_IoForwardIrpSynchronously(DeviceObject, Irp);
}

/* ------------------------------------------------------------------ */
/* Device interfaces                                                   */

/* GUID, DEFINE_GUID: kdpc/wdm/guid.h. */

KDPC_EXPORT NTSTATUS kdpc_IoRegisterDeviceInterface(PDEVICE_OBJECT PhysicalDeviceObject,
                                                    const GUID *InterfaceClassGuid,
                                                    PUNICODE_STRING ReferenceString,
                                                    PUNICODE_STRING SymbolicLinkName);
KDPC_EXPORT NTSTATUS kdpc_IoSetDeviceInterfaceState(PUNICODE_STRING SymbolicLinkName,
                                                    BOOLEAN Enable);

/**
 * IoRegisterDeviceInterface - register an instance of the device interface
 * class @InterfaceClassGuid for the device whose PDO is
 * @PhysicalDeviceObject (usually from AddDevice), with an optional
 * @ReferenceString (no '\' or '/'). *@SymbolicLinkName receives the
 * instance's name, "\??\ROOT#<device name>#0000#{guid}" (plus
 * "\<reference>"), in a paged-pool buffer the caller frees with
 * RtlFreeUnicodeString; registering the same instance again gives the
 * same name. The instance is disabled until IoSetDeviceInterfaceState.
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_INVALID_DEVICE_REQUEST (not a PDO of the
 * PnP manager, or a reference string with a path separator);
 * STATUS_INVALID_PARAMETER (NULL GUID or output: Windows would fault);
 * STATUS_INSUFFICIENT_RESOURCES.
 */
static inline NTSTATUS IoRegisterDeviceInterface(PDEVICE_OBJECT PhysicalDeviceObject,
                                                 const GUID *InterfaceClassGuid,
                                                 PUNICODE_STRING ReferenceString,
                                                 PUNICODE_STRING SymbolicLinkName)
{
    return kdpc_IoRegisterDeviceInterface(PhysicalDeviceObject, InterfaceClassGuid, ReferenceString,
                                          SymbolicLinkName);
}
/**
 * IoSetDeviceInterfaceState - enable (@Enable TRUE) or disable a registered
 * interface instance. An enabled instance's name is a symbolic link to the
 * PDO's name: kdpc_file_open of it reaches the top of the device's stack.
 * The PnP manager disables what is still enabled when it removes the device.
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_EXISTS (informational: enabled
 * already); STATUS_OBJECT_NAME_NOT_FOUND (disabling one not enabled, or a
 * name no registration gave); STATUS_INVALID_PARAMETER (NULL).
 */
static inline NTSTATUS IoSetDeviceInterfaceState(PUNICODE_STRING SymbolicLinkName, BOOLEAN Enable)
{
    return kdpc_IoSetDeviceInterfaceState(SymbolicLinkName, Enable);
}
/* RtlFreeUnicodeString: kdpc/wdm/rtl.h. */

KDPC_END_DECLS

#endif /* KDPC_WDM_PNP_H */
