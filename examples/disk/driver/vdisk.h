/* SPDX-License-Identifier: MIT */
/*
 * vdisk.h - public header of the VDC-2 disk driver (vdisk.c), as a Windows
 * driver ships one for its applications: device names and the driver's own
 * device control (its counters). The geometry and length come from the
 * standard disk controls of <ntdddisk.h>; the error-log codes are <ntiologc.h>'s.
 */
#ifndef VDISK_H
#define VDISK_H

#include <wdm.h>
#include <ntdddisk.h>
#include <ntiologc.h>

/* One device object per unit of the controller. */
#define VDISK_DEVICE_NAME0 L"\\Device\\VDisk0"
#define VDISK_DEVICE_NAME1 L"\\Device\\VDisk1"
#define VDISK_DOS_NAME0    L"\\DosDevices\\VDisk0"
#define VDISK_DOS_NAME1    L"\\DosDevices\\VDisk1"
#define VDISK_DOS_NAME0A   "\\DosDevices\\VDisk0"
#define VDISK_DOS_NAME1A   "\\DosDevices\\VDisk1"

/* Each unit also answers IOCTL_DISK_GET_DRIVE_GEOMETRY (a made-up CHS geometry of
 * VDISK_SECTORS_PER_TRACK x VDISK_TRACKS_PER_CYLINDER, FixedMedia) and IOCTL_DISK_GET_LENGTH_INFO
 * (the exact size). Out: VDISK_INFO, the unit and the driver's counters. */
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

/* The geometry IOCTL_DISK_GET_DRIVE_GEOMETRY reports: the VDC-2 has none (sectors are numbered
 * from 0), so, as virtual disks do, a made-up one; cylinders = sectors / (32 * 2), rounded down. */
#define VDISK_SECTORS_PER_TRACK   32u
#define VDISK_TRACKS_PER_CYLINDER 2u

/* Error-log codes (<ntiologc.h>): IO_ERR_CONTROLLER_ERROR for a DMA error or a short transfer,
 * IO_ERR_TIMEOUT when the watchdog gave up on a piece's interrupt. */

/* Each piece is tried 1 + VDISK_MAX_RETRIES times. */
#define VDISK_MAX_RETRIES 3u
/* How long the driver waits for a piece's interrupt before it aborts and retries it. */
#define VDISK_WATCHDOG_MS 50u

#endif /* VDISK_H */
