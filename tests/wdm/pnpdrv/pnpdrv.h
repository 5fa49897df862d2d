/* SPDX-License-Identifier: MIT */
/*
 * pnpdrv.h - the "public header" of the sample PnP driver in pnpdrv.c: what
 * its hardware looks like (the register map its virtual device in vdev.c
 * implements), the IOCTLs it serves, the statistics it reports, its error
 * log codes, and the bug switches of its broken twins. Written as a
 * Windows driver's public header: <wdm.h> only.
 *
 * The hardware ("XF-1 transformer"): a 4 KiB register window of 32-bit
 * registers, one interrupt line (level-sensitive), bus-master DMA. The
 * driver puts the logical address of a common buffer in DMA_LO/HI and the
 * byte count in LEN, then writes CTRL_GO: the device reads LEN bytes at the
 * buffer's offset 0, XORs each with KEY's low byte, writes them at offset
 * PNPDRV_DMA_OUT, sets XFER to the bytes it moved, STATUS DONE (and ERROR on
 * a failed transfer) and raises its line until the driver writes the bits
 * back to INTACK.
 */
#ifndef PNPDRV_H
#define PNPDRV_H

#include <wdm.h>

/* Register offsets (bytes) */
#define PNPDRV_REG_ID     0x00 /* R: PNPDRV_ID */
#define PNPDRV_REG_CTRL   0x04 /* W: PNPDRV_CTRL_* */
#define PNPDRV_REG_STATUS 0x08 /* R: PNPDRV_STATUS_* */
#define PNPDRV_REG_INTACK 0x0C /* W: write DONE/ERROR bits to clear them and lower the line */
#define PNPDRV_REG_DMA_LO 0x10 /* RW: common buffer's logical address, low 32 bits */
#define PNPDRV_REG_DMA_HI 0x14 /* RW: high 32 bits */
#define PNPDRV_REG_LEN    0x18 /* RW: bytes of the next operation (1..PNPDRV_MAX_DATA) */
#define PNPDRV_REG_XFER   0x1C /* R: bytes the last operation moved */
#define PNPDRV_REG_SEQ    0x20 /* R: operations finished since reset */
#define PNPDRV_REG_KEY    0x24 /* RW: XOR key (low byte) */
#define PNPDRV_WINDOW     0x1000

#define PNPDRV_ID          0x31465821u /* "!XF1" */
#define PNPDRV_CTRL_GO     0x1u
#define PNPDRV_CTRL_RESET  0x2u
#define PNPDRV_CTRL_IRQ_EN 0x4u
#define PNPDRV_STATUS_BUSY 0x1u
#define PNPDRV_STATUS_DONE 0x2u
#define PNPDRV_STATUS_ERR  0x4u

#define PNPDRV_MAX_DATA 256u
#define PNPDRV_DMA_OUT  0x800u /* output offset in the common buffer */

/* IOCTLs (METHOD_BUFFERED) */
/* In: 1..PNPDRV_MAX_DATA bytes; out: as many bytes, each XORed with the key. */
#define IOCTL_PNPDRV_TRANSFORM                                                                     \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Out: PNPDRV_STATS. */
#define IOCTL_PNPDRV_GET_STATS                                                                     \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _PNPDRV_STATS {
    ULONG Completed;      /* TRANSFORM requests completed with success */
    ULONG Failed;         /* completed with STATUS_IO_DEVICE_ERROR */
    ULONG Removed;        /* completed with STATUS_NO_SUCH_DEVICE (device gone) */
    ULONG Retries;        /* operations started again */
    ULONG TransferErrors; /* operations that ended with STATUS_ERR */
    ULONG ShortTransfers; /* operations that moved fewer bytes than asked */
    ULONG WatchdogFired;  /* watchdog runs that found an operation overdue */
    ULONG LostInterrupts; /* overdue operations the device had finished (interrupt lost) */
    ULONG HungDevice;     /* overdue operations the device had not finished (reset) */
    ULONG Spurious;       /* ISR calls with nothing pending on the device */
    ULONG IsrClaimed;     /* ISR calls that claimed an interrupt */
    ULONG Opens;          /* IRP_MJ_CREATE seen */
    ULONG Closes;         /* IRP_MJ_CLOSE seen */
    ULONG PowerDowns;     /* device power IRPs to D1..D3 */
    ULONG PowerUps;       /* device power IRPs back to D0 (registers restored) */
} PNPDRV_STATS, *PPNPDRV_STATS;

/* Error log codes (customer bit set: the driver's own message file) */
#define PNPDRV_MSG_RETRY_SUCCEEDED ((NTSTATUS)0x60040001L) /* informational */
#define PNPDRV_MSG_TRANSFER_FAILED ((NTSTATUS)0xE0040002L) /* error: retries exhausted */
#define PNPDRV_MSG_LOST_INTERRUPT  ((NTSTATUS)0xA0040003L) /* warning: watchdog recovered */
#define PNPDRV_MSG_DEVICE_HUNG     ((NTSTATUS)0xA0040004L) /* warning: watchdog reset it */

#define PNPDRV_MAX_RETRIES  2
#define PNPDRV_WATCHDOG_MS  20 /* an operation takes 40 us; 20 ms means it is lost */
#define PNPDRV_DEVICE_NAME  u"\\Device\\PnpDrv0"
#define PNPDRV_DOS_NAME     u"\\DosDevices\\PnpDrv0"
#define PNPDRV_DEVICE_NAMEA "\\Device\\PnpDrv0"
#define PNPDRV_DOS_NAMEA    "\\DosDevices\\PnpDrv0"

/* The broken twins: set before the driver is loaded (as a registry value would be read). */
#define PNPDRV_BUG_REG_UNSYNC        0x1u /* DpcForIsr reads STATUS outside KeSynchronizeExecution */
#define PNPDRV_BUG_STATS_UNLOCKED    0x2u /* GET_STATS reads the counters without the lock */
#define PNPDRV_BUG_REMOVE_LOCK_TWICE 0x4u /* a completed request releases its remove lock twice */
extern ULONG PnpDrvBugs;

/* The driver's DriverEntry. */
DRIVER_INITIALIZE PnpDrvDriverEntry;

#endif /* PNPDRV_H */
