/* SPDX-License-Identifier: MIT */
/*
 * csqdrv.h - public header of the "EVT-1 event notifier" driver (csqdrv.c),
 * as a Windows driver's public header.
 *
 * The hardware: a 256-byte register window of 32-bit registers and one
 * level-sensitive interrupt line.
 *   0x00 ID     (R)  CSQDRV_ID
 *   0x04 DELAY  (RW) microseconds until the event fires
 *   0x08 VALUE  (RW) the value the event will carry
 *   0x0C CTRL   (W)  CSQDRV_CTRL_FIRE arms one event (DELAY, VALUE)
 *   0x10 STATUS (R)  CSQDRV_STATUS_EVENT when an event is latched
 *   0x14 DATA   (R)  the latched event's value; reading it clears the event and lowers the line
 * One event is armed at a time; arming again while armed is ignored.
 *
 * Programs wait for events with IOCTL_CSQDRV_WAIT, which pends in a
 * cancel-safe queue until an event arrives, the request is cancelled, or its
 * handle is closed.
 */
#ifndef CSQDRV_H
#define CSQDRV_H

#include <wdm.h>

#define CSQDRV_REG_ID       0x00
#define CSQDRV_REG_DELAY    0x04
#define CSQDRV_REG_VALUE    0x08
#define CSQDRV_REG_CTRL     0x0C
#define CSQDRV_REG_STATUS   0x10
#define CSQDRV_REG_DATA     0x14
#define CSQDRV_WINDOW       0x100
#define CSQDRV_ID           0x31545645u /* "EVT1" */
#define CSQDRV_CTRL_FIRE    0x1u
#define CSQDRV_STATUS_EVENT 0x1u

/* {3A1B5C7D-9E2F-4A6B-8C0D-1E2F3A4B5C60} */
DEFINE_GUID(GUID_DEVINTERFACE_CSQDRV, 0x3a1b5c7d, 0x9e2f, 0x4a6b, 0x8c, 0x0d, 0x1e, 0x2f, 0x3a,
            0x4b, 0x5c, 0x60);

#define CSQDRV_DOS_NAME  L"\\DosDevices\\Evt0"
#define CSQDRV_DOS_NAMEA "\\DosDevices\\Evt0"

/* Device parameter (PLUGPLAY_REGKEY_DEVICE, REG_DWORD): events kept while nobody waits
 * (default 4, at most CSQDRV_MAX_BACKLOG). */
#define CSQDRV_REG_BACKLOG L"BacklogDepth"
#define CSQDRV_MAX_BACKLOG 16u

/* Out: ULONG, the next event's value. Pends until an event arrives. */
#define IOCTL_CSQDRV_WAIT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x810, METHOD_BUFFERED, FILE_READ_ACCESS)
/* In: CSQDRV_FIRE. */
#define IOCTL_CSQDRV_FIRE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x811, METHOD_BUFFERED, FILE_WRITE_ACCESS)
/* In: CSQDRV_NOTIFY. The event (a handle of the calling program, with EVENT_MODIFY_STATE) is
 * signaled at each device event from now on; a NULL handle stops it. */
#define IOCTL_CSQDRV_SET_NOTIFY                                                                    \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x813, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Out: CSQDRV_STATS. */
#define IOCTL_CSQDRV_STATS CTL_CODE(FILE_DEVICE_UNKNOWN, 0x812, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _CSQDRV_FIRE {
    ULONG DelayUs; /* 1..1000000 */
    ULONG Value;
} CSQDRV_FIRE, *PCSQDRV_FIRE;

typedef struct _CSQDRV_NOTIFY {
    HANDLE Event;
} CSQDRV_NOTIFY, *PCSQDRV_NOTIFY;

typedef struct _CSQDRV_STATS {
    ULONG Events;    /* events the ISR took */
    ULONG Delivered; /* WAIT requests completed with an event */
    ULONG Cancelled; /* WAIT requests cancelled (IoCancelIrp or cleanup) */
    ULONG Backlog;   /* events waiting for a WAIT now */
    ULONG Lost;      /* events dropped because the backlog was full */
    ULONG BacklogDepth;
} CSQDRV_STATS, *PCSQDRV_STATS;

DRIVER_INITIALIZE CsqDriverEntry;

#endif /* CSQDRV_H */
