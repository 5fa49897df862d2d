/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/wmi.h - Windows Management Instrumentation as a driver meets it:
 * IoWMIRegistrationControl (wdm.h), the IRP_MN_* codes of IRP_MJ_SYSTEM_CONTROL
 * and WMIREG_* flags (wmistr.h), and the WMI library (wmilib.h):
 * WMILIB_CONTEXT, WmiSystemControl, WmiCompleteRequest.
 * docs/facts/registry.md ("WMI") has the Windows facts.
 *
 * kdpc's machine has no WMI service and no WMI consumer: registering is
 * accepted and nothing follows it. No IRP_MJ_SYSTEM_CONTROL request is ever
 * sent by kdpc, so a driver's WMILIB callbacks never run; a driver that
 * passes system-control IRPs to WmiSystemControl is told they are not WMI
 * requests for it (forward them, as its boilerplate does).
 */
#ifndef KDPC_WDM_WMI_H
#define KDPC_WDM_WMI_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/guid.h>
#include <kdpc/wdm/io.h>
#include <kdpc/wdm/irp.h>

KDPC_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* IRP_MJ_SYSTEM_CONTROL minor codes                                  */

#define IRP_MN_QUERY_ALL_DATA         0x00
#define IRP_MN_QUERY_SINGLE_INSTANCE  0x01
#define IRP_MN_CHANGE_SINGLE_INSTANCE 0x02
#define IRP_MN_CHANGE_SINGLE_ITEM     0x03
#define IRP_MN_ENABLE_EVENTS          0x04
#define IRP_MN_DISABLE_EVENTS         0x05
#define IRP_MN_ENABLE_COLLECTION      0x06
#define IRP_MN_DISABLE_COLLECTION     0x07
#define IRP_MN_REGINFO                0x08
#define IRP_MN_EXECUTE_METHOD         0x09
#define IRP_MN_REGINFO_EX             0x0b

/* ------------------------------------------------------------------ */
/* Registration                                                        */

#define WMIREG_ACTION_REGISTER     1
#define WMIREG_ACTION_DEREGISTER   2
#define WMIREG_ACTION_REREGISTER   3
#define WMIREG_ACTION_UPDATE_GUIDS 4
#define WMIREG_ACTION_BLOCK_IRPS   5
/* Action flag: DeviceObject is really a WMI callback routine (trace providers) */
#define WMIREG_FLAG_CALLBACK 0x80000000

/* WMIGUIDREGINFO.Flags and QueryWmiRegInfo's *RegFlags */
#define WMIREG_FLAG_EXPENSIVE          0x00000001
#define WMIREG_FLAG_INSTANCE_LIST      0x00000004
#define WMIREG_FLAG_INSTANCE_BASENAME  0x00000008
#define WMIREG_FLAG_INSTANCE_PDO       0x00000020
#define WMIREG_FLAG_REMOVE_GUID        0x00010000
#define WMIREG_FLAG_RESERVED1          0x00020000
#define WMIREG_FLAG_RESERVED2          0x00040000
#define WMIREG_FLAG_TRACED_GUID        0x00080000
#define WMIREG_FLAG_TRACE_CONTROL_GUID 0x00001000
#define WMIREG_FLAG_EVENT_ONLY_GUID    0x00000040

KDPC_EXPORT NTSTATUS kdpc_IoWMIRegistrationControl(PDEVICE_OBJECT DeviceObject, ULONG Action);

/**
 * IoWMIRegistrationControl - register (WMIREG_ACTION_REGISTER,
 * _REREGISTER, _UPDATE_GUIDS) or deregister (WMIREG_ACTION_DEREGISTER) the
 * driver as the WMI data provider of DeviceObject (with WMIREG_FLAG_CALLBACK
 * in Action, DeviceObject is a callback routine and is not read).
 * Divergence: Windows then sends IRP_MN_REGINFO(_EX) to the driver; kdpc's
 * machine has no WMI service, so nothing is sent and the call only checks
 * its arguments; WMIREG_ACTION_BLOCK_IRPS is accepted likewise.
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (an unknown action).
 * Bugchecks: io.passive_irql (0xC4/0x2000D) above PASSIVE_LEVEL (as a warning
 * or off: STATUS_INVALID_PARAMETER); io.invalid_object when DeviceObject is
 * no live device object (without WMIREG_FLAG_CALLBACK).
 */
static inline NTSTATUS IoWMIRegistrationControl(PDEVICE_OBJECT DeviceObject, ULONG Action)
{
    return kdpc_IoWMIRegistrationControl(DeviceObject, Action);
}

/* ------------------------------------------------------------------ */
/* The WMI library (wmilib.h)                                          */

/** One data block a driver provides: its GUID, how many instances, WMIREG_FLAG_* flags. */
typedef struct _WMIGUIDREGINFO {
    LPCGUID Guid;
    ULONG InstanceCount;
    ULONG Flags;
} WMIGUIDREGINFO, *PWMIGUIDREGINFO;

/** What WmiFunctionControl enables or disables. */
typedef enum {
    WmiEventControl,
    WmiDataBlockControl
} WMIENABLEDISABLECONTROL,
    *PWMIENABLEDISABLECONTROL;

/** What the driver does with an IRP_MJ_SYSTEM_CONTROL request after WmiSystemControl. */
typedef enum {
    IrpProcessed,    /* handled (completed or pending): nothing more to do */
    IrpNotCompleted, /* handled, not completed: the driver completes it */
    IrpNotWmi,       /* not a WMI request: the driver forwards or completes it */
    IrpForward       /* a WMI request for another device: forward it down the stack */
} SYSCTL_IRP_DISPOSITION,
    *PSYSCTL_IRP_DISPOSITION;

typedef NTSTATUS WMI_QUERY_REGINFO_CALLBACK(PDEVICE_OBJECT DeviceObject, PULONG RegFlags,
                                            PUNICODE_STRING InstanceName,
                                            PUNICODE_STRING *RegistryPath,
                                            PUNICODE_STRING MofResourceName, PDEVICE_OBJECT *Pdo);
typedef WMI_QUERY_REGINFO_CALLBACK *PWMI_QUERY_REGINFO;
typedef NTSTATUS WMI_QUERY_DATABLOCK_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                              ULONG GuidIndex, ULONG InstanceIndex,
                                              ULONG InstanceCount, PULONG InstanceLengthArray,
                                              ULONG BufferAvail, PUCHAR Buffer);
typedef WMI_QUERY_DATABLOCK_CALLBACK *PWMI_QUERY_DATABLOCK;
typedef NTSTATUS WMI_SET_DATABLOCK_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                            ULONG InstanceIndex, ULONG BufferSize, PUCHAR Buffer);
typedef WMI_SET_DATABLOCK_CALLBACK *PWMI_SET_DATABLOCK;
typedef NTSTATUS WMI_SET_DATAITEM_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                           ULONG InstanceIndex, ULONG DataItemId, ULONG BufferSize,
                                           PUCHAR Buffer);
typedef WMI_SET_DATAITEM_CALLBACK *PWMI_SET_DATAITEM;
typedef NTSTATUS WMI_EXECUTE_METHOD_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                             ULONG InstanceIndex, ULONG MethodId,
                                             ULONG InBufferSize, ULONG OutBufferSize,
                                             PUCHAR Buffer);
typedef WMI_EXECUTE_METHOD_CALLBACK *PWMI_EXECUTE_METHOD;
typedef NTSTATUS WMI_FUNCTION_CONTROL_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                               ULONG GuidIndex, WMIENABLEDISABLECONTROL Function,
                                               BOOLEAN Enable);
typedef WMI_FUNCTION_CONTROL_CALLBACK *PWMI_FUNCTION_CONTROL;

/** A driver's WMI library context: its data blocks and callbacks. */
typedef struct _WMILIB_CONTEXT {
    ULONG GuidCount;
    PWMIGUIDREGINFO GuidList;
    PWMI_QUERY_REGINFO QueryWmiRegInfo;
    PWMI_QUERY_DATABLOCK QueryWmiDataBlock;
    PWMI_SET_DATABLOCK SetWmiDataBlock;
    PWMI_SET_DATAITEM SetWmiDataItem;
    PWMI_EXECUTE_METHOD ExecuteWmiMethod;
    PWMI_FUNCTION_CONTROL WmiFunctionControl;
} WMILIB_CONTEXT, *PWMILIB_CONTEXT;

KDPC_EXPORT NTSTATUS kdpc_WmiSystemControl(PWMILIB_CONTEXT WmiLibInfo, PDEVICE_OBJECT DeviceObject,
                                           PIRP Irp, PSYSCTL_IRP_DISPOSITION IrpDisposition);
KDPC_EXPORT NTSTATUS kdpc_WmiCompleteRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS Status,
                                             ULONG BufferUsed, CCHAR PriorityBoost);

/**
 * WmiSystemControl - look at an IRP_MJ_SYSTEM_CONTROL request the driver's
 * dispatch routine got: a request whose minor code is no WMI one (or whose
 * major code is not IRP_MJ_SYSTEM_CONTROL) is IrpNotWmi; a WMI request is
 * IrpForward. The IRP is neither touched nor completed: the driver forwards
 * it (or completes a non-WMI one) as its disposition says.
 * Divergence: a WMI request naming this device as its provider would run the
 * WMILIB_CONTEXT callbacks on Windows; kdpc's machine never sends one (no
 * WMI service), so kdpc answers IrpForward for every WMI request and never
 * calls the callbacks.
 * IRQL: PASSIVE_LEVEL (system-control requests are sent there).
 * Return: the IRP's IoStatus.Status, untouched; STATUS_INVALID_PARAMETER
 * (NULL WmiLibInfo or IrpDisposition: Windows would fault, another
 * Divergence).
 * Bugchecks: io.invalid_object when DeviceObject or Irp is no live object.
 */
static inline NTSTATUS WmiSystemControl(PWMILIB_CONTEXT WmiLibInfo, PDEVICE_OBJECT DeviceObject,
                                        PIRP Irp, PSYSCTL_IRP_DISPOSITION IrpDisposition)
{
    return kdpc_WmiSystemControl(WmiLibInfo, DeviceObject, Irp, IrpDisposition);
}

/**
 * WmiCompleteRequest - complete a WMI request a WMILIB callback was given:
 * IoStatus.Status = Status, IoStatus.Information = 0, then IoCompleteRequest
 * with PriorityBoost. Divergence: kdpc builds no WNODE reply (BufferUsed is
 * not used): its WMI callbacks never run, as no WMI request is ever sent.
 * IRQL: <= DISPATCH_LEVEL.
 * Return: Status.
 * Bugchecks: io.invalid_object when DeviceObject or Irp is no live object;
 * those of IoCompleteRequest.
 */
static inline NTSTATUS WmiCompleteRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS Status,
                                          ULONG BufferUsed, CCHAR PriorityBoost)
{
    return kdpc_WmiCompleteRequest(DeviceObject, Irp, Status, BufferUsed, PriorityBoost);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_WMI_H */
