/* SPDX-License-Identifier: MIT */
/*
 * nicioctl.h - what programs see of the NX-2 driver (nic.c): its device
 * name, its I/O controls and its registry parameter.
 */
#ifndef NICIOCTL_H
#define NICIOCTL_H

#include <wdm.h>

#define NIC_DEVICE_NAME L"\\Device\\Nx2"
#define NIC_DOS_NAME    L"\\DosDevices\\Nx2"
#define NIC_DOS_NAMEA   "\\DosDevices\\Nx2"

/* Device key (IoOpenDeviceRegistryKey, PLUGPLAY_REGKEY_DEVICE), REG_DWORD read at start:
 * NIC_DPC_MODE_THREADED makes the queues' DPCs threaded DPCs (KeInitializeThreadedDpc);
 * missing or NIC_DPC_MODE_NORMAL: ordinary DPCs. */
#define NIC_REG_DPC_MODE      L"DpcMode"
#define NIC_DPC_MODE_NORMAL   0u
#define NIC_DPC_MODE_THREADED 1u

/* In: one Ethernet frame (NX2_MIN_FRAME..NX2_MAX_FRAME bytes, else
 * STATUS_INVALID_BUFFER_SIZE). Bytes 14-15 (big-endian) are the frame's flow; the
 * frame goes out on transmit queue flow % queues. Completes once the device has sent
 * it: STATUS_SUCCESS (Information 0), STATUS_ADAPTER_HARDWARE_ERROR (the
 * device could not fetch it: not sent, logged), STATUS_DEVICE_NOT_READY (stopped). */
#define IOCTL_NIC_SEND CTL_CODE(FILE_DEVICE_NETWORK, 0x850, METHOD_BUFFERED, FILE_WRITE_DATA)
/* Out: the next frame received, oldest first (pends until one arrives; cancellable);
 * a buffer too small for it gets its first bytes and STATUS_BUFFER_OVERFLOW. */
#define IOCTL_NIC_RECEIVE CTL_CODE(FILE_DEVICE_NETWORK, 0x851, METHOD_BUFFERED, FILE_READ_DATA)
/* Out: NIC_STATS. */
#define IOCTL_NIC_STATS CTL_CODE(FILE_DEVICE_NETWORK, 0x852, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _NIC_STATS {
    ULONGLONG TxFrames, TxBytes;   /* sent */
    ULONGLONG RxFrames, RxBytes;   /* handed to receive requests */
    ULONGLONG TxErrors;            /* frames the device could not fetch */
    ULONGLONG RxCrcErrors;         /* frames dropped for a bad frame check sequence */
    ULONGLONG RxErrors;            /* frames the device could not write */
    ULONGLONG RxNoBuffer;          /* dropped: the driver's receive backlog was full */
    ULONGLONG RxMissed;            /* dropped by the device: no free descriptor (its counters) */
    ULONGLONG Interrupts;          /* DPC runs requested by the ISRs */
    ULONGLONG DpcRuns, DpcChained; /* queue DPC runs; runs that left work for the chain timer */
    ULONGLONG WatchdogRuns, WatchdogKicks, TxStalls;
    ULONG LinkDowns, LinkUps;
    ULONG LinkUp;               /* 1 while the link is up */
    ULONG Queues, Threaded;     /* queue pairs; 1 when the DPCs are threaded */
    ULONG Backlog;              /* frames waiting for a receive request now */
    ULONG DpcCpus[4];           /* per queue: the CPUs its DPC ran on (bit n: CPU n) */
    ULONG PowerDowns, PowerUps; /* device power IRPs to D1..D3, and back to D0 */
    UCHAR Mac[6];
    USHORT Reserved;
} NIC_STATS, *PNIC_STATS;

#endif /* NICIOCTL_H */
