/* SPDX-License-Identifier: MIT */
/*
 * nicdrv.h - public header of the "NX-1" PCI network controller driver
 * (nicdrv.c), as a Windows driver's public header: a bus-master device with
 * descriptor rings in a common buffer, scatter/gather transmit and a
 * loopback port (every frame sent is received).
 *
 * Registers (4 KiB window, 32-bit):
 *   0x00 ID (R) NICDRV_ID            0x04 CTRL (W) NICDRV_CTRL_*
 *   0x08 ICR (R: NICDRV_ICR_* causes; W: write 1s to clear; the line falls at 0)
 *   0x0C MAC_LO (R) 0x10 MAC_HI (R)  the station address, low 4 bytes / high 2
 *   0x14 TXRING_LO 0x18 TXRING_HI    logical address of NICDRV_RING transmit descriptors
 *   0x1C RXRING_LO 0x20 RXRING_HI    ... of NICDRV_RING receive descriptors
 *   0x24 TX_TAIL (W)                 the device sends descriptors up to (not including) it
 *   0x28 RX_DROPS (R)                frames dropped: no free receive descriptor
 * A descriptor (NICDRV_DESC) is 16 bytes. Transmit: the driver fills Address/
 * Length (one per scatter/gather element, NICDRV_DESC_EOP on the last of a
 * frame), then TX_TAIL; the device sets Status NICDRV_DESC_DONE on each.
 * Receive: the driver gives each descriptor a buffer (Address, Length =
 * buffer size, Status 0); the device fills the next one with a frame and sets
 * Status = NICDRV_DESC_DONE | frame length << 16; the driver sets Status 0
 * again when it has taken the frame.
 */
#ifndef NICDRV_H
#define NICDRV_H

#include <wdm.h>

#define NICDRV_REG_ID        0x00
#define NICDRV_REG_CTRL      0x04
#define NICDRV_REG_ICR       0x08
#define NICDRV_REG_MAC_LO    0x0C
#define NICDRV_REG_MAC_HI    0x10
#define NICDRV_REG_TXRING_LO 0x14
#define NICDRV_REG_TXRING_HI 0x18
#define NICDRV_REG_RXRING_LO 0x1C
#define NICDRV_REG_RXRING_HI 0x20
#define NICDRV_REG_TX_TAIL   0x24
#define NICDRV_REG_RX_DROPS  0x28
#define NICDRV_WINDOW        0x1000
#define NICDRV_ID            0x3130584Eu /* "NX01" */
#define NICDRV_CTRL_ENABLE   0x1u
#define NICDRV_CTRL_INT_EN   0x2u
#define NICDRV_CTRL_RESET    0x4u
#define NICDRV_ICR_TX        0x1u
#define NICDRV_ICR_RX        0x2u
#define NICDRV_RING          8u
#define NICDRV_RX_BUFFER     2048u
#define NICDRV_MAX_FRAME     1514u
#define NICDRV_MIN_FRAME     14u
#define NICDRV_DESC_EOP      0x1u
#define NICDRV_DESC_DONE     0x1u

typedef struct _NICDRV_DESC {
    ULONGLONG Address;
    USHORT Length;
    USHORT Flags;
    ULONG Status;
} NICDRV_DESC, *PNICDRV_DESC;

/* {6C2D8E4F-1A3B-4C5D-9E7F-8A9B0C1D2E31} */
DEFINE_GUID(GUID_DEVINTERFACE_NICDRV, 0x6c2d8e4f, 0x1a3b, 0x4c5d, 0x9e, 0x7f, 0x8a, 0x9b, 0x0c,
            0x1d, 0x2e, 0x31);

#define NICDRV_DEVICE_NAME L"\\Device\\Nx0"
#define NICDRV_DOS_NAME    L"\\DosDevices\\Nx0"
#define NICDRV_DOS_NAMEA   "\\DosDevices\\Nx0"

/* Registry, <service>\Parameters (REG_DWORD): the largest frame the driver sends
 * (NICDRV_MIN_FRAME..NICDRV_MAX_FRAME, default NICDRV_MAX_FRAME). */
#define NICDRV_REG_MAX_FRAME L"MaxFrameSize"

/* METHOD_IN_DIRECT: the frame (NICDRV_MIN_FRAME..MaxFrameSize bytes, else
 * STATUS_INVALID_BUFFER_SIZE) is the request's second buffer (the MDL). Completes once the
 * device has sent it. */
#define IOCTL_NICDRV_SEND CTL_CODE(FILE_DEVICE_NETWORK, 0x840, METHOD_IN_DIRECT, FILE_WRITE_DATA)
/* Out: the next frame received (pends until one arrives); a buffer too small for it gets its
 * first bytes and STATUS_BUFFER_OVERFLOW. */
#define IOCTL_NICDRV_RECEIVE CTL_CODE(FILE_DEVICE_NETWORK, 0x841, METHOD_BUFFERED, FILE_READ_DATA)
/* Out: NICDRV_STATS. */
#define IOCTL_NICDRV_STATS CTL_CODE(FILE_DEVICE_NETWORK, 0x842, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _NICDRV_STATS {
    UCHAR Mac[6];
    USHORT Reserved;
    ULONG FramesSent, FramesReceived;
    ULONG Fragments;   /* transmit descriptors used (scatter/gather elements) */
    ULONG RxDrops;     /* the device's count */
    ULONG MaxFrame;    /* the registry's MaxFrameSize, or the default */
    ULONG AddressBits; /* GetDmaAdapterInfo's DmaAddressWidth */
    ULONG PowerDowns;  /* device set-power IRPs to D1..D3 */
    ULONG PowerUps;    /* back to D0 (rings programmed again) */
} NICDRV_STATS, *PNICDRV_STATS;

DRIVER_INITIALIZE NicDriverEntry;

#endif /* NICDRV_H */
