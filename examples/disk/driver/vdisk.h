/* SPDX-License-Identifier: MIT */
/*
 * vdisk.h - public header of the VDC-2 disk driver (vdisk.c), as a Windows
 * driver ships one for its applications: device names, the driver's own
 * device control and its error-log message codes.
 */
#ifndef VDISK_H
#define VDISK_H

#include <wdm.h>

/* One device object per unit of the controller. */
#define VDISK_DEVICE_NAME0 L"\\Device\\VDisk0"
#define VDISK_DEVICE_NAME1 L"\\Device\\VDisk1"
#define VDISK_DOS_NAME0    L"\\DosDevices\\VDisk0"
#define VDISK_DOS_NAME1    L"\\DosDevices\\VDisk1"
#define VDISK_DOS_NAME0A   "\\DosDevices\\VDisk0"
#define VDISK_DOS_NAME1A   "\\DosDevices\\VDisk1"

/* Out: VDISK_INFO. (A Windows disk driver would answer IOCTL_DISK_GET_DRIVE_GEOMETRY and
 * IOCTL_DISK_GET_LENGTH_INFO from <ntdddisk.h>; this one answers its own control.) */
#define IOCTL_VDISK_GET_INFO CTL_CODE(FILE_DEVICE_DISK, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _VDISK_INFO {
    ULONG Unit;
    ULONG BytesPerSector;
    ULONGLONG Sectors;
    ULONG MapRegisters;       /* what IoGetDmaAdapter granted: the largest piece in pages */
    ULONG Requests;           /* read/write requests completed with success */
    ULONGLONG Bytes;          /* bytes they moved */
    ULONG Pieces;             /* transfers programmed (MapTransfer calls), retries included */
    ULONG Retries;            /* pieces programmed again after an error or a timeout */
    ULONG Timeouts;           /* pieces the watchdog gave up waiting for */
    ULONG Failed;             /* requests completed with an error after the last retry */
    ULONG SpuriousInterrupts; /* controller-wide: ISR calls with nothing to claim */
} VDISK_INFO, *PVDISK_INFO;

/* Error-log message codes (what a message compiler would generate: severity error,
 * customer bit, facility 4 (IO), codes 0x0101..). */
#define VDISK_MSG_TRANSFER_ERROR ((NTSTATUS)0xE0040101L) /* DMA error or short transfer */
#define VDISK_MSG_TIMEOUT        ((NTSTATUS)0xE0040102L) /* no interrupt: watchdog */

/* Each piece is tried 1 + VDISK_MAX_RETRIES times. */
#define VDISK_MAX_RETRIES 3u
/* How long the driver waits for a piece's interrupt before it aborts and retries it. */
#define VDISK_WATCHDOG_MS 50u

#endif /* VDISK_H */
