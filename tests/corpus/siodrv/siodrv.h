/* SPDX-License-Identifier: MIT */
/*
 * siodrv.h - public header of the "PIO-8 sector store" driver (siodrv.c), as
 * a Windows driver's public header.
 *
 * The hardware: 16 I/O ports, one latched interrupt line, a medium of
 * SIODRV_SECTORS sectors of SIODRV_SECTOR bytes.
 *   +0x0 STATUS (R)  SIODRV_ST_*; a write of DONE/ERR bits acknowledges them
 *                    (and ends the interrupt)
 *   +0x4 CMD    (W)  SIODRV_CMD_READ / SIODRV_CMD_WRITE of the sector in SECTOR
 *   +0x8 SECTOR (W)  the sector of the next command
 *   +0xC DATA   (RW) the 32-bit data port
 * A write: CMD_WRITE, then 128 ULONGs to DATA; the device stores the sector
 * and interrupts (DONE). A read: CMD_READ; the device interrupts (DONE) once
 * the sector is in its buffer; the driver reads 128 ULONGs from DATA.
 * A sector past the medium ends with ERR.
 */
#ifndef SIODRV_H
#define SIODRV_H

#include <wdm.h>

#define SIODRV_PORT_STATUS 0x0
#define SIODRV_PORT_CMD    0x4
#define SIODRV_PORT_SECTOR 0x8
#define SIODRV_PORT_DATA   0xC
#define SIODRV_PORTS       0x10
#define SIODRV_ST_BUSY     0x1u
#define SIODRV_ST_DONE     0x2u
#define SIODRV_ST_ERR      0x4u
#define SIODRV_CMD_READ    0x1u
#define SIODRV_CMD_WRITE   0x2u
#define SIODRV_SECTOR      512u
#define SIODRV_SECTORS     8u

/* {5E6F7A8B-1C2D-4E3F-A0B1-C2D3E4F5A6B0} */
DEFINE_GUID(GUID_DEVINTERFACE_SIODRV, 0x5e6f7a8b, 0x1c2d, 0x4e3f, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4,
            0xf5, 0xa6, 0xb0);

#define SIODRV_DEVICE_NAME L"\\Device\\Sio0"
#define SIODRV_DOS_NAME    L"\\DosDevices\\Sio0"
#define SIODRV_DOS_NAMEA   "\\DosDevices\\Sio0"

/* Registry, under the service key's Parameters (REG_DWORD): the largest request in sectors
 * (default and maximum SIODRV_SECTORS). The driver writes MediaSectors there when it starts. */
#define SIODRV_REG_MAX_SECTORS   L"MaxSectorsPerRequest"
#define SIODRV_REG_MEDIA_SECTORS L"MediaSectors"

/* Error log code of a sector the device could not move (its own message file: customer bit set).
 * DumpData[0] is the sector. */
#define SIODRV_MSG_MEDIA_ERROR ((NTSTATUS)0xE0040010L)

/* METHOD_NEITHER: out SIODRV_GEOMETRY at the caller's buffer. */
#define IOCTL_SIODRV_GET_GEOMETRY CTL_CODE(FILE_DEVICE_DISK, 0x820, METHOD_NEITHER, FILE_ANY_ACCESS)
/* Out: SIODRV_STATS. */
#define IOCTL_SIODRV_GET_STATS CTL_CODE(FILE_DEVICE_DISK, 0x821, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _SIODRV_GEOMETRY {
    ULONG SectorSize;
    ULONG Sectors;
    ULONG MaxSectorsPerRequest;
} SIODRV_GEOMETRY, *PSIODRV_GEOMETRY;

typedef struct _SIODRV_STATS {
    ULONG Reads, Writes; /* requests completed with success */
    ULONG SectorsMoved;
    ULONG Cancelled; /* queued requests cancelled */
    ULONG DeviceErrors;
    ULONG MaxQueued; /* most requests waiting in the device queue at once */
} SIODRV_STATS, *PSIODRV_STATS;

DRIVER_INITIALIZE SioDriverEntry;

#endif /* SIODRV_H */
