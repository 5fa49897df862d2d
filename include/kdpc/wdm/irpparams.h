/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/irpparams.h - the types IO_STACK_LOCATION.Parameters members
 * name (docs/facts/dma.md section "IRP surface"): file information classes,
 * the PnP query types (device relations, interfaces, capabilities, IDs,
 * device text, usage notifications) and the system power state context.
 * Included by kdpc/wdm/irp.h; drivers get it through <wdm.h>.
 *
 * These are data layouts only (values and member order as wdm.h has them).
 * kdpc sends no IRP_MN_QUERY_* PnP IRP, no IRP_MJ_QUERY_INFORMATION /
 * IRP_MJ_SET_INFORMATION and no IRP_MN_WAIT_WAKE; a driver's handlers for
 * them compile and can be driven by a test that builds such an IRP itself.
 */
#ifndef KDPC_WDM_IRPPARAMS_H
#define KDPC_WDM_IRPPARAMS_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/io.h>
#include <kdpc/wdm/power.h>

KDPC_BEGIN_DECLS

/* Align a member on a pointer boundary, as wdm.h's POINTER_ALIGNMENT does for the stack
 * location's parameters (8 bytes on x64, nothing on a 32-bit build). */
#if defined(__GNUC__) || defined(__clang__)
#define KDPC_PTR_ALIGNED __attribute__((aligned(sizeof(void *))))
#else
#define KDPC_PTR_ALIGNED
#endif
#ifndef POINTER_ALIGNMENT
/** POINTER_ALIGNMENT - a member aligned on a pointer boundary (ntdef.h's meaning). */
#define POINTER_ALIGNMENT KDPC_PTR_ALIGNED
#endif

/** A locale id (IRP_MN_QUERY_DEVICE_TEXT's LocaleId). */
typedef ULONG LCID, *PLCID;

/** What IRP_MJ_QUERY_INFORMATION / IRP_MJ_SET_INFORMATION ask about (the first twenty). */
typedef enum _FILE_INFORMATION_CLASS {
    FileDirectoryInformation = 1,
    FileFullDirectoryInformation = 2,
    FileBothDirectoryInformation = 3,
    FileBasicInformation = 4,
    FileStandardInformation = 5,
    FileInternalInformation = 6,
    FileEaInformation = 7,
    FileAccessInformation = 8,
    FileNameInformation = 9,
    FileRenameInformation = 10,
    FileLinkInformation = 11,
    FileNamesInformation = 12,
    FileDispositionInformation = 13,
    FilePositionInformation = 14,
    FileFullEaInformation = 15,
    FileModeInformation = 16,
    FileAlignmentInformation = 17,
    FileAllInformation = 18,
    FileAllocationInformation = 19,
    FileEndOfFileInformation = 20
} FILE_INFORMATION_CLASS,
    *PFILE_INFORMATION_CLASS;

/* The answers a device driver gives to IRP_MJ_QUERY_INFORMATION (and takes in
 * IRP_MJ_SET_INFORMATION) for the common classes. */
/** FileBasicInformation: times and attributes. */
typedef struct _FILE_BASIC_INFORMATION {
    LARGE_INTEGER CreationTime;
    LARGE_INTEGER LastAccessTime;
    LARGE_INTEGER LastWriteTime;
    LARGE_INTEGER ChangeTime;
    ULONG FileAttributes;
} FILE_BASIC_INFORMATION, *PFILE_BASIC_INFORMATION;

/** FileStandardInformation: sizes, links, delete-pending, directory. */
typedef struct _FILE_STANDARD_INFORMATION {
    LARGE_INTEGER AllocationSize;
    LARGE_INTEGER EndOfFile;
    ULONG NumberOfLinks;
    BOOLEAN DeletePending;
    BOOLEAN Directory;
} FILE_STANDARD_INFORMATION, *PFILE_STANDARD_INFORMATION;

/** FilePositionInformation: the current byte offset. */
typedef struct _FILE_POSITION_INFORMATION {
    LARGE_INTEGER CurrentByteOffset;
} FILE_POSITION_INFORMATION, *PFILE_POSITION_INFORMATION;

/** FileEndOfFileInformation: the new end of file (set). */
typedef struct _FILE_END_OF_FILE_INFORMATION {
    LARGE_INTEGER EndOfFile;
} FILE_END_OF_FILE_INFORMATION, *PFILE_END_OF_FILE_INFORMATION;

/** FileAllocationInformation: the new allocation size (set). */
typedef struct _FILE_ALLOCATION_INFORMATION {
    LARGE_INTEGER AllocationSize;
} FILE_ALLOCATION_INFORMATION, *PFILE_ALLOCATION_INFORMATION;

/** What IRP_MJ_QUERY_VOLUME_INFORMATION asks about. */
typedef enum _FSINFOCLASS {
    FileFsVolumeInformation = 1,
    FileFsLabelInformation = 2,
    FileFsSizeInformation = 3,
    FileFsDeviceInformation = 4,
    FileFsAttributeInformation = 5,
    FileFsControlInformation = 6,
    FileFsFullSizeInformation = 7,
    FileFsObjectIdInformation = 8,
    FileFsDriverPathInformation = 9,
    FileFsVolumeFlagsInformation = 10
} FS_INFORMATION_CLASS,
    *PFS_INFORMATION_CLASS;

/** IRP_MN_QUERY_DEVICE_RELATIONS: which relations. */
typedef enum _DEVICE_RELATION_TYPE {
    BusRelations = 0,
    EjectionRelations = 1,
    PowerRelations = 2,
    RemovalRelations = 3,
    TargetDeviceRelation = 4,
    SingleBusRelations = 5,
    TransportRelations = 6
} DEVICE_RELATION_TYPE,
    *PDEVICE_RELATION_TYPE;

/** IRP_MN_QUERY_DEVICE_RELATIONS' answer: Count device objects (allocated from paged pool). */
typedef struct _DEVICE_RELATIONS {
    ULONG Count;
    PDEVICE_OBJECT Objects[1];
} DEVICE_RELATIONS, *PDEVICE_RELATIONS;

/** IRP_MN_QUERY_ID: which ID. */
typedef enum _BUS_QUERY_ID_TYPE {
    BusQueryDeviceID = 0,
    BusQueryHardwareIDs = 1,
    BusQueryCompatibleIDs = 2,
    BusQueryInstanceID = 3,
    BusQueryDeviceSerialNumber = 4,
    BusQueryContainerID = 5
} BUS_QUERY_ID_TYPE,
    *PBUS_QUERY_ID_TYPE;

/** IRP_MN_QUERY_DEVICE_TEXT: which text. */
typedef enum _DEVICE_TEXT_TYPE {
    DeviceTextDescription = 0,
    DeviceTextLocationInformation = 1
} DEVICE_TEXT_TYPE,
    *PDEVICE_TEXT_TYPE;

/** IRP_MN_DEVICE_USAGE_NOTIFICATION: which special file the device is (or stops being) on. */
typedef enum _DEVICE_USAGE_NOTIFICATION_TYPE {
    DeviceUsageTypeUndefined = 0,
    DeviceUsageTypePaging = 1,
    DeviceUsageTypeHibernation = 2,
    DeviceUsageTypeDumpFile = 3,
    DeviceUsageTypeBoot = 4,
    DeviceUsageTypePostDisplay = 5,
    DeviceUsageTypeGuestAssigned = 6
} DEVICE_USAGE_NOTIFICATION_TYPE;

/** The head of every interface IRP_MN_QUERY_INTERFACE returns. */
typedef void (*PINTERFACE_REFERENCE)(PVOID Context);
typedef void (*PINTERFACE_DEREFERENCE)(PVOID Context);
typedef struct _INTERFACE {
    USHORT Size;
    USHORT Version;
    PVOID Context;
    PINTERFACE_REFERENCE InterfaceReference;
    PINTERFACE_DEREFERENCE InterfaceDereference;
    /* interface-specific members follow */
} INTERFACE, *PINTERFACE;

/** IRP_MN_QUERY_CAPABILITIES' answer (Size / Version set by the sender; version 1). */
typedef struct _DEVICE_CAPABILITIES {
    USHORT Size;
    USHORT Version;
    ULONG DeviceD1 : 1;
    ULONG DeviceD2 : 1;
    ULONG LockSupported : 1;
    ULONG EjectSupported : 1;
    ULONG Removable : 1;
    ULONG DockDevice : 1;
    ULONG UniqueID : 1;
    ULONG SilentInstall : 1;
    ULONG RawDeviceOK : 1;
    ULONG SurpriseRemovalOK : 1;
    ULONG WakeFromD0 : 1;
    ULONG WakeFromD1 : 1;
    ULONG WakeFromD2 : 1;
    ULONG WakeFromD3 : 1;
    ULONG HardwareDisabled : 1;
    ULONG NonDynamic : 1;
    ULONG WarmEjectSupported : 1;
    ULONG NoDisplayInUI : 1;
    ULONG Reserved1 : 1;
    ULONG WakeFromInterrupt : 1;
    ULONG SecureDevice : 1;
    ULONG ChildOfVgaEnabledBridge : 1;
    ULONG DecodeIoOnBoot : 1;
    ULONG Reserved : 9;
    ULONG Address;
    ULONG UINumber;
    DEVICE_POWER_STATE DeviceState[PowerSystemMaximum];
    SYSTEM_POWER_STATE SystemWake;
    DEVICE_POWER_STATE DeviceWake;
    ULONG D1Latency;
    ULONG D2Latency;
    ULONG D3Latency;
} DEVICE_CAPABILITIES, *PDEVICE_CAPABILITIES;

/** IRP_MN_SET_POWER / IRP_MN_QUERY_POWER for a system power state: where the system goes. */
typedef struct _SYSTEM_POWER_STATE_CONTEXT {
    KDPC_EXTENSION union {
        KDPC_EXTENSION struct {
            ULONG Reserved1 : 8;
            ULONG TargetSystemState : 4;
            ULONG EffectiveSystemState : 4;
            ULONG CurrentSystemState : 4;
            ULONG IgnoreHibernationPath : 1;
            ULONG PseudoTransition : 1;
            ULONG KernelSoftReboot : 1;
            ULONG DirectedDripsTransition : 1;
            ULONG Reserved2 : 8;
        };
        ULONG ContextAsUlong;
    };
} SYSTEM_POWER_STATE_CONTEXT, *PSYSTEM_POWER_STATE_CONTEXT;

KDPC_END_DECLS

#endif /* KDPC_WDM_IRPPARAMS_H */
