/* SPDX-License-Identifier: MIT */
/*
 * tmrdrv.h - public header of the "TMR-1 sampler" driver (tmrdrv.c), written
 * as a Windows driver's public header: what user programs and the test share.
 *
 * The hardware: a 256-byte register window of 32-bit registers.
 *   0x00 ID    (R)  TMRDRV_ID
 *   0x04 COUNT (R)  a free-running counter: microseconds since the device
 *                   was enabled (0 while disabled)
 *   0x08 CTRL  (W)  TMRDRV_CTRL_ENABLE starts the counter, 0 stops it
 * The driver samples COUNT from a periodic kernel timer's DPC into a ring.
 */
#ifndef TMRDRV_H
#define TMRDRV_H

#include <wdm.h>

#define TMRDRV_REG_ID      0x00
#define TMRDRV_REG_COUNT   0x04
#define TMRDRV_REG_CTRL    0x08
#define TMRDRV_WINDOW      0x100
#define TMRDRV_ID          0x31524D54u /* "TMR1" */
#define TMRDRV_CTRL_ENABLE 0x1u

/* {8C4F2A1E-5B3D-4E6F-9A7B-1C2D3E4F5A61} */
DEFINE_GUID(GUID_DEVINTERFACE_TMRDRV, 0x8c4f2a1e, 0x5b3d, 0x4e6f, 0x9a, 0x7b, 0x1c, 0x2d, 0x3e,
            0x4f, 0x5a, 0x61);
/* {8C4F2A1E-5B3D-4E6F-9A7B-1C2D3E4F5A62}: the device setup class of IoCreateDeviceSecure */
DEFINE_GUID(GUID_DEVCLASS_TMRDRV, 0x8c4f2a1e, 0x5b3d, 0x4e6f, 0x9a, 0x7b, 0x1c, 0x2d, 0x3e, 0x4f,
            0x5a, 0x62);

#define TMRDRV_DEVICE_NAME_FMT L"\\Device\\Tmr%u"
#define TMRDRV_DOS_NAME        L"\\DosDevices\\Tmr0"
#define TMRDRV_DOS_NAMEA       "\\DosDevices\\Tmr0"

/* Registry values under <service key>\Parameters (REG_DWORD). */
#define TMRDRV_REG_PERIOD_MS L"SamplePeriodMs" /* default 10 */
#define TMRDRV_REG_RING_SIZE L"RingSize"       /* default 16, 1..TMRDRV_MAX_RING */
#define TMRDRV_MAX_RING      1024u
/* Written by the driver under the service key (REG_DWORD): samples dropped since the start. */
#define TMRDRV_REG_OVERFLOWS L"Overflows"

/* Out: TMRDRV_SAMPLES with up to (OutputBufferLength - header) / sizeof(ULONG) samples, oldest
 * first; the ring is emptied of what was returned. */
#define IOCTL_TMRDRV_GET_SAMPLES                                                                   \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_READ_DATA)
/* In: ULONG period in milliseconds (1..1000). */
#define IOCTL_TMRDRV_SET_PERIOD                                                                    \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_WRITE_DATA)
/* Out: TMRDRV_INFO. */
#define IOCTL_TMRDRV_GET_INFO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _TMRDRV_SAMPLES {
    ULONG Count;   /* samples that follow */
    ULONG Dropped; /* samples lost because the ring was full, since the last call */
    ULONG Samples[1];
} TMRDRV_SAMPLES, *PTMRDRV_SAMPLES;

typedef struct _TMRDRV_INFO {
    WCHAR DeviceName[32]; /* "\Device\TmrN", NUL-terminated */
    ULONG PeriodMs;
    ULONG RingSize;
    ULONG Ticks; /* timer DPC runs */
    ULONG Opens;
} TMRDRV_INFO, *PTMRDRV_INFO;

DRIVER_INITIALIZE TmrDriverEntry;

#endif /* TMRDRV_H */
