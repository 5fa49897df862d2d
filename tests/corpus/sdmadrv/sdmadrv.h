/* SPDX-License-Identifier: MIT */
/*
 * sdmadrv.h - public header of the "SDM-1 tape buffer" driver (sdmadrv.c),
 * a device served by system (slave) DMA on an ISA-style DMA channel, as a
 * Windows driver's public header.
 *
 * The hardware: 24 I/O ports, one latched interrupt line, DMA channel 3, and
 * SDMADRV_MEDIA bytes of device memory.
 *   +0x00 STATUS (R)  SDMADRV_ST_*; a write of the DONE/ERR bits acknowledges
 *   +0x04 CMD    (W)  SDMADRV_CMD_PLAY (memory -> device) or _RECORD (device -> memory)
 *   +0x08 ADDR_LO, +0x0C ADDR_HI (W)  the transfer's address on the DMA channel
 *                     (what MapTransfer returned: the system DMA controller's programming)
 *   +0x10 COUNT  (W)  bytes
 *   +0x14 OFFSET (W)  where in the device memory
 * The device moves COUNT bytes on its DMA channel, then interrupts with DONE
 * (ERR when the range passes the end of its memory).
 */
#ifndef SDMADRV_H
#define SDMADRV_H

#include <wdm.h>

#define SDMADRV_PORT_STATUS  0x00
#define SDMADRV_PORT_CMD     0x04
#define SDMADRV_PORT_ADDR_LO 0x08
#define SDMADRV_PORT_ADDR_HI 0x0C
#define SDMADRV_PORT_COUNT   0x10
#define SDMADRV_PORT_OFFSET  0x14
#define SDMADRV_PORTS        0x18
#define SDMADRV_ST_DONE      0x1u
#define SDMADRV_ST_ERR       0x2u
#define SDMADRV_CMD_PLAY     0x1u
#define SDMADRV_CMD_RECORD   0x2u
#define SDMADRV_MEDIA        16384u
#define SDMADRV_DMA_CHANNEL  3u

#define SDMADRV_DEVICE_NAME L"\\Device\\Sdm0"
#define SDMADRV_DOS_NAME    L"\\DosDevices\\Sdm0"
#define SDMADRV_DOS_NAMEA   "\\DosDevices\\Sdm0"

/* {0B7C3E5A-2D4F-4B61-8E9A-7C6B5A4D3E21} */
DEFINE_GUID(GUID_DEVINTERFACE_SDMADRV, 0x0b7c3e5a, 0x2d4f, 0x4b61, 0x8e, 0x9a, 0x7c, 0x6b, 0x5a,
            0x4d, 0x3e, 0x21);

/* Written by the driver into its software key (PLUGPLAY_REGKEY_DRIVER) when the device is
 * removed: REG_DWORD, bytes moved by DMA since it started. */
#define SDMADRV_REG_TOTAL L"TotalBytes"

/* Out: SDMADRV_STATS. */
#define IOCTL_SDMADRV_GET_STATS                                                                    \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x830, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _SDMADRV_STATS {
    ULONG Transfers;    /* requests completed with success */
    ULONG Pieces;       /* MapTransfer calls */
    ULONG Bytes;        /* bytes moved */
    ULONG MapRegisters; /* what IoGetDmaAdapter granted per transfer */
    ULONG Errors;
} SDMADRV_STATS, *PSDMADRV_STATS;

DRIVER_INITIALIZE SdmaDriverEntry;

#endif /* SDMADRV_H */
