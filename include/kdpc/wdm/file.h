/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/file.h - names and opens of devices: symbolic links
 * (IoCreateSymbolicLink / IoDeleteSymbolicLink) and IoGetDeviceObjectPointer
 * (docs/facts/io.md section 10). The FILE_OBJECT itself is in kdpc/wdm/irp.h;
 * opening a device from a test is kdpc_file_open (kdpc/driver.h).
 *
 * Names: the object manager compares names without regard to case (ASCII
 * letters). "\DosDevices\X" and "\GLOBAL??\X" are other spellings of
 * "\??\X" (one global DOS-device directory: kdpc has no sessions).
 */
#ifndef KDPC_WDM_FILE_H
#define KDPC_WDM_FILE_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/io.h>
#include <kdpc/wdm/irp.h>

KDPC_BEGIN_DECLS

KDPC_EXPORT NTSTATUS kdpc_IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName,
                                               PUNICODE_STRING DeviceName);
KDPC_EXPORT NTSTATUS kdpc_IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName);
KDPC_EXPORT NTSTATUS kdpc_IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName,
                                                   ACCESS_MASK DesiredAccess,
                                                   PFILE_OBJECT *FileObject,
                                                   PDEVICE_OBJECT *DeviceObject);

/**
 * IoCreateSymbolicLink - make @SymbolicLinkName (usually "\DosDevices\X" or
 * "\??\X") another name of @DeviceName. The target is looked up when the
 * link is opened, not now: a link may name a device that does not exist
 * (yet), and outlives the device and the driver that made it.
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_COLLISION (a link of that name
 * exists, or a device has that name); STATUS_OBJECT_NAME_INVALID (a name not
 * starting with '\', or empty); STATUS_INVALID_PARAMETER (NULL string or
 * buffer); STATUS_INSUFFICIENT_RESOURCES.
 * Bugchecks: io.passive_irql (0xC4/0x2000D) above PASSIVE_LEVEL, APC_LEVEL
 * included (then, as a warning or off: STATUS_INVALID_PARAMETER, no link).
 */
static inline NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName,
                                            PUNICODE_STRING DeviceName)
{
    return kdpc_IoCreateSymbolicLink(SymbolicLinkName, DeviceName);
}
/**
 * IoDeleteSymbolicLink - remove the link @SymbolicLinkName (any of the
 * "\??\" spellings). Files already opened through it stay open.
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_NOT_FOUND (no such link);
 * STATUS_INVALID_PARAMETER (NULL string or buffer).
 * Bugchecks: io.passive_irql above PASSIVE_LEVEL (as a warning or off:
 * STATUS_INVALID_PARAMETER, the link stays).
 */
static inline NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName)
{
    return kdpc_IoDeleteSymbolicLink(SymbolicLinkName);
}
/**
 * IoGetDeviceObjectPointer - open the device @ObjectName (a device name or a
 * link to one) for @DesiredAccess: IRP_MJ_CREATE goes to the top of its
 * stack with a new file object; as the open leaves no handle behind,
 * IRP_MJ_CLEANUP follows at once. *DeviceObject is the top of the named
 * device's stack, *FileObject the file object (its DeviceObject the named
 * device), referenced once: ObDereferenceObject(*FileObject) drops the
 * reference and sends IRP_MJ_CLOSE (at once at PASSIVE_LEVEL; dropped above
 * it, from a DPC, the close is queued to a system worker thread and sent
 * from there at PASSIVE_LEVEL, as Windows defers the delete).
 * IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; the failure the driver completed IRP_MJ_CREATE
 * with; STATUS_OBJECT_NAME_NOT_FOUND (no such name); STATUS_OBJECT_NAME_INVALID;
 * STATUS_NO_SUCH_DEVICE (the device is still initializing or is gone);
 * STATUS_ACCESS_DENIED (an exclusive device already open);
 * STATUS_INVALID_PARAMETER (NULL argument); STATUS_INSUFFICIENT_RESOURCES.
 * Outputs are set only on success. A create the driver pends is waited for:
 * its final status is never STATUS_PENDING.
 * Bugchecks: io.passive_irql (0xC4/0x2000D) above PASSIVE_LEVEL, APC_LEVEL
 * included (as a warning or off: STATUS_INVALID_PARAMETER, no IRP sent).
 */
static inline NTSTATUS IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName,
                                                ACCESS_MASK DesiredAccess, PFILE_OBJECT *FileObject,
                                                PDEVICE_OBJECT *DeviceObject)
{
    return kdpc_IoGetDeviceObjectPointer(ObjectName, DesiredAccess, FileObject, DeviceObject);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_FILE_H */
