/* SPDX-License-Identifier: MIT */
/*
 * kdpc/driver.h - native calls that take WDM types: load and unload a
 * driver the way the I/O manager does.
 */
#ifndef KDPC_DRIVER_H
#define KDPC_DRIVER_H

#include <kdpc/device.h>
#include <kdpc/machine.h>
#include <kdpc/wdm.h>

KDPC_BEGIN_DECLS

/**
 * kdpc_driver_load() - create a DRIVER_OBJECT named "\Driver\<name>" and
 * call @entry(driver, RegistryPath) as the I/O manager does; devices created
 * inside @entry lose DO_DEVICE_INITIALIZING when it returns.
 * @m: the machine running the caller.
 * @driver: receives the driver object when @entry succeeded (else NULL).
 * Thread: simulated code at PASSIVE_LEVEL (inside kdpc_machine_run).
 * Return: what @entry returned; STATUS_INVALID_PARAMETER (NULL argument,
 * not simulated code of @m, IRQL above PASSIVE_LEVEL);
 * STATUS_INSUFFICIENT_RESOURCES. A failed @entry leaves no driver object.
 */
KDPC_EXPORT NTSTATUS kdpc_driver_load(kdpc_machine *m, const char *name, PDRIVER_INITIALIZE entry,
                                      PDRIVER_OBJECT *driver);

/**
 * kdpc_driver_unload() - call DriverUnload, then free the driver object and
 * any device objects it left. A PnP driver's device stacks that are not
 * removed yet are removed first, as Windows unloads a PnP driver only once
 * its devices are gone: the PnP manager sends IRP_MN_REMOVE_DEVICE (no
 * QUERY_REMOVE) to each stack the driver has a device in and waits; the
 * hardware stays plugged without a driver (KDPC_DEVICE_PLUGGED; a
 * surprise-removed one becomes KDPC_DEVICE_REMOVED) and a later
 * kdpc_driver_load() starts it again.
 * Thread: simulated code at PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS; STATUS_INVALID_DEVICE_REQUEST (no DriverUnload:
 * the driver cannot be unloaded; or a file object is still open on one of
 * its device stacks, or the caller cannot wait for the PnP manager (inside
 * a device handler or an ISR, or the PnP manager's own thread: AddDevice or
 * a PnP or power dispatch routine of a stack the driver is in): nothing is
 * removed or unloaded);
 * STATUS_INVALID_PARAMETER (NULL, a driver
 * already unloaded, or anything that is not a live driver object of the
 * calling machine: looked up, never read).
 * Bugchecks: unload.pending (0xCE) when a DPC the driver initialised, or
 * one inside its driver/device objects or extensions, is still queued.
 */
KDPC_EXPORT NTSTATUS kdpc_driver_unload(PDRIVER_OBJECT driver);

/**
 * struct kdpc_errorlog_entry - one entry written with IoWriteErrorLogEntry,
 * as the system event log would keep it. Device and Driver are the objects
 * the entry was allocated for (they may have been deleted since).
 */
typedef struct kdpc_errorlog_entry {
    NTSTATUS ErrorCode;
    ULONG UniqueErrorValue;
    NTSTATUS FinalStatus;
    UCHAR RetryCount;
    UCHAR MajorFunctionCode;
    ULONG SequenceNumber;
    ULONG IoControlCode;
    USHORT DumpDataSize; /**< bytes of DumpData */
    const ULONG *DumpData;
    PDEVICE_OBJECT Device; /**< NULL when allocated for a driver object */
    PDRIVER_OBJECT Driver;
    uint64_t time_ns; /**< virtual time of IoWriteErrorLogEntry */
} kdpc_errorlog_entry;

/** Number of error log entries written on @m; 0 for NULL. */
KDPC_EXPORT size_t kdpc_errorlog_count(const kdpc_machine *m);

/** The i-th entry written, oldest first; NULL when out of range. */
KDPC_EXPORT const kdpc_errorlog_entry *kdpc_errorlog_entry_at(const kdpc_machine *m, size_t i);

/**
 * kdpc_pool_outstanding() - pool allocated and not freed on @m, for one tag
 * or (@tag 0) all of them. Pool tracking, as Driver Verifier's: leaks left
 * at kdpc_machine_destroy are also printed to the machine's log.
 * Return: KDPC_OK, KDPC_EINVAL. @count / @bytes may be NULL.
 */
KDPC_EXPORT kdpc_status kdpc_pool_outstanding(const kdpc_machine *m, ULONG tag, size_t *count,
                                              size_t *bytes);

/**
 * kdpc_dma_host_address() - the host memory behind a DMA logical address,
 * for a virtual device that moves data: non-NULL only while
 * [@logical, @logical + @length) lies inside a transfer mapped with
 * MapTransfer / GetScatterGatherList and not yet flushed, or inside a common
 * buffer. Thread: any code of @m's run.
 */
KDPC_EXPORT void *kdpc_dma_host_address(const kdpc_machine *m, uint64_t logical, size_t length);

/**
 * kdpc_device_pdo() - the PDO the PnP manager created for @dev (the device
 * object its driver's AddDevice got), or NULL: no driver took it yet, or it
 * was removed (the PDO is deleted after IRP_MN_REMOVE_DEVICE once no device
 * is attached to it). Thread: any code of @dev's machine, or a host thread
 * between runs.
 */
KDPC_EXPORT PDEVICE_OBJECT kdpc_device_pdo(const kdpc_device *dev);

/**
 * kdpc_device_rebalance() - the PnP manager stops and restarts @dev as for a
 * resource rebalance: IRP_MN_QUERY_STOP_DEVICE; if the stack fails it,
 * IRP_MN_CANCEL_STOP_DEVICE and the device stays started; else
 * IRP_MN_STOP_DEVICE, then IRP_MN_START_DEVICE with the same resources.
 * Threads as kdpc_device_unplug (from simulated code at PASSIVE_LEVEL it
 * returns when done).
 * Return: KDPC_OK; KDPC_EBUSY (the query was refused, or called from device
 * code); KDPC_EINVAL (NULL, not a device, not started); KDPC_E_HALTED.
 */
KDPC_EXPORT kdpc_status kdpc_device_rebalance(kdpc_device *dev);

/**
 * kdpc_power_set_system() - the power manager moves the system to @state
 * (PowerSystemWorking = S0, PowerSystemSleeping1..3 = S1..S3,
 * PowerSystemHibernate = S4): to each started device stack, in plug order,
 * an IRP_MN_QUERY_POWER for a sleep state, then (when every stack
 * succeeded) an IRP_MN_SET_POWER with the system state; a wake to S0 sends
 * only IRP_MN_SET_POWER, in reverse order. Parameters.Power.ShutdownType
 * is PowerActionSleep (PowerActionHibernate for S4, PowerActionNone for S0).
 * The function driver, as power policy owner, usually requests the
 * matching device power IRP with PoRequestPowerIrp.
 * Thread: simulated code of @m at PASSIVE_LEVEL; returns when done.
 * Return: STATUS_SUCCESS; the failing status of a query (the sleep does
 * not happen: the stacks that succeeded the query get IRP_MN_SET_POWER for
 * S0, the state they stay in); STATUS_INVALID_PARAMETER (bad state or thread).
 */
KDPC_EXPORT NTSTATUS kdpc_power_set_system(kdpc_machine *m, SYSTEM_POWER_STATE state);

/**
 * kdpc_file_open() - open a device as a program would (CreateFile):
 * @name is a device name ("\Device\X") or a symbolic link to one
 * ("\DosDevices\X", "\??\X"), optionally followed by "\more" (the
 * driver sees that part as FileObject->FileName). kdpc makes a FILE_OBJECT
 * (DeviceObject = the named device; FsContext / FsContext2 NULL for the
 * driver to fill) and sends IRP_MJ_CREATE (Parameters.Create.SecurityContext
 * ->DesiredAccess = @access, Flags IRP_CREATE_OPERATION | IRP_SYNCHRONOUS_API,
 * RequestorMode UserMode as for every IRP of this file's kdpc_file_* calls)
 * to the top of the device's stack, waiting while it is pending. The named
 * device's ReferenceCount counts the open file.
 * Thread: simulated code of @m at PASSIVE_LEVEL (inside kdpc_machine_run).
 * Return: STATUS_SUCCESS with *@file set; what the driver completed the
 * create with (then no file object remains and no close is sent);
 * STATUS_OBJECT_NAME_NOT_FOUND (no such device or link, or a link to
 * nothing); STATUS_OBJECT_NAME_INVALID (empty, not starting with '\', over
 * 1024 characters); STATUS_NO_SUCH_DEVICE (DO_DEVICE_INITIALIZING is still
 * set); STATUS_ACCESS_DENIED (an exclusive device already open);
 * STATUS_INVALID_PARAMETER (NULL argument, wrong thread or IRQL);
 * STATUS_INSUFFICIENT_RESOURCES. *@file is NULL on failure.
 */
KDPC_EXPORT NTSTATUS kdpc_file_open(kdpc_machine *m, const char *name, ACCESS_MASK access,
                                    PFILE_OBJECT *file);

/**
 * kdpc_file_close() - close the handle kdpc_file_open gave: IRP_MJ_CLEANUP,
 * then (when no reference is left) IRP_MJ_CLOSE, each to the top of the
 * device's stack, waited for; the file object is freed after the close.
 * Thread: as kdpc_file_open. Return: STATUS_SUCCESS (whatever the driver
 * completed cleanup and close with, as CloseHandle); STATUS_INVALID_HANDLE
 * (not an open file object of the calling machine, closed already, or one
 * from IoGetDeviceObjectPointer, which has no handle: ObDereferenceObject
 * it); STATUS_INVALID_PARAMETER (wrong thread or IRQL). A file whose device
 * was deleted is freed without IRPs.
 */
KDPC_EXPORT NTSTATUS kdpc_file_close(PFILE_OBJECT file);

/**
 * kdpc_file_ioctl() - an IRP_MJ_DEVICE_CONTROL request for @code built with
 * IoBuildDeviceIoControlRequest to the top of @file's device stack, with
 * @file as the stack location's FileObject (and Tail.Overlay.
 * OriginalFileObject) and RequestorMode UserMode, as a program's
 * DeviceIoControl (docs/facts/io.md 10.4b); waits for its completion.
 * @information: receives IoStatus.Information (0 after a synchronous error);
 * may be NULL.
 * Thread: as kdpc_file_open. Return: the request's status (the final one
 * when it pended); STATUS_INVALID_HANDLE (not an open file of the calling
 * machine); STATUS_NO_SUCH_DEVICE (its device was deleted);
 * STATUS_INVALID_PARAMETER; STATUS_INSUFFICIENT_RESOURCES.
 */
KDPC_EXPORT NTSTATUS kdpc_file_ioctl(PFILE_OBJECT file, ULONG code, PVOID input, ULONG input_length,
                                     PVOID output, ULONG output_length, ULONG_PTR *information);

/**
 * kdpc_file_read() / kdpc_file_write() - IRP_MJ_READ / IRP_MJ_WRITE of
 * @length bytes at byte @offset, built with IoBuildSynchronousFsdRequest
 * (buffered, direct or neither by the device's Flags) against @file, as
 * kdpc_file_ioctl. Return: as kdpc_file_ioctl; STATUS_INVALID_PARAMETER
 * for a NULL @buffer with a non-zero @length.
 */
KDPC_EXPORT NTSTATUS kdpc_file_read(PFILE_OBJECT file, PVOID buffer, ULONG length, LONGLONG offset,
                                    ULONG_PTR *information);
KDPC_EXPORT NTSTATUS kdpc_file_write(PFILE_OBJECT file, PVOID buffer, ULONG length, LONGLONG offset,
                                     ULONG_PTR *information);

/** The machine a driver object belongs to, or NULL. From simulated code any pointer is safe
 * (NULL unless a live driver object of the calling machine); from a host thread @driver must be
 * a live driver object. */
KDPC_EXPORT kdpc_machine *kdpc_driver_machine(PDRIVER_OBJECT driver);

KDPC_END_DECLS

#endif /* KDPC_DRIVER_H */
