/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/iologc.h - the system's I/O error-log message codes of <ntiologc.h>:
 * what a driver puts in IO_ERROR_LOG_PACKET.ErrorCode when no message file of
 * its own describes the event (IoAllocateErrorLogEntry, docs/facts/io.md
 * "Error logging"). Each is an NTSTATUS-shaped message id of facility
 * FACILITY_IO_ERROR_CODE (4): severity in bits 30-31 (success, informational,
 * warning, error), no customer bit, the message number in bits 0-15. The
 * event viewer shows the system's text for it, with the device's name as %1.
 *
 * Values as the Windows SDK's ntiologc.h gives them (docs/facts/io.md 6.6).
 * Only the generic device codes are declared; file-system, quota, crash-dump
 * and machine-check (FACILITY_MCA_ERROR_CODE) codes are left out. A driver
 * with a message file of its own (the serial sample's Serlog.mc) defines its
 * own codes in a facility of its own (serial: 6), as the message compiler
 * generates them. Any IRQL.
 */
#ifndef KDPC_WDM_IOLOGC_H
#define KDPC_WDM_IOLOGC_H

#include <kdpc/wdm/types.h>

/* Facilities of the error-log codes */
#ifndef FACILITY_IO_ERROR_CODE
#define FACILITY_IO_ERROR_CODE 0x4
#endif
#ifndef FACILITY_MCA_ERROR_CODE
#define FACILITY_MCA_ERROR_CODE 0x5
#endif

/* ------------------------------------------------------------------ */
/* Success                                                             */

/** A retry of the operation succeeded (log it after a recovered error). */
#define IO_ERR_RETRY_SUCCEEDED ((NTSTATUS)0x00040001L)

/* ------------------------------------------------------------------ */
/* Errors (severity 3)                                                 */

/** The driver could not allocate what the request needed. */
#define IO_ERR_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC0040002L)
/** The driver or the device is configured wrongly. */
#define IO_ERR_CONFIGURATION_ERROR ((NTSTATUS)0xC0040003L)
/** The driver found its own data structures inconsistent. */
#define IO_ERR_DRIVER_ERROR ((NTSTATUS)0xC0040004L)
/** A parity error on the device. */
#define IO_ERR_PARITY ((NTSTATUS)0xC0040005L)
/** The device failed to seek. */
#define IO_ERR_SEEK_ERROR ((NTSTATUS)0xC0040006L)
/** The device has a bad block. */
#define IO_ERR_BAD_BLOCK ((NTSTATUS)0xC0040007L)
/** Data arrived faster than the device or driver took it (overrun). */
#define IO_ERR_OVERRUN_ERROR ((NTSTATUS)0xC0040008L)
/** The device did not answer in time. */
#define IO_ERR_TIMEOUT ((NTSTATUS)0xC0040009L)
/** The device did something the driver did not expect next. */
#define IO_ERR_SEQUENCE ((NTSTATUS)0xC004000AL)
/** The controller reported an error. */
#define IO_ERR_CONTROLLER_ERROR ((NTSTATUS)0xC004000BL)
/** An internal error of the driver. */
#define IO_ERR_INTERNAL_ERROR ((NTSTATUS)0xC004000CL)
/** The interrupt the driver was configured with is wrong. */
#define IO_ERR_INCORRECT_IRQL ((NTSTATUS)0xC004000DL)
/** The I/O base address the driver was configured with is not valid. */
#define IO_ERR_INVALID_IOBASE ((NTSTATUS)0xC004000EL)
/** The device is not ready yet. */
#define IO_ERR_NOT_READY ((NTSTATUS)0xC004000FL)
/** A request was malformed for the device. */
#define IO_ERR_INVALID_REQUEST ((NTSTATUS)0xC0040010L)
/** The driver is the wrong version. */
#define IO_ERR_VERSION ((NTSTATUS)0xC0040011L)
/** The driver below this one failed. */
#define IO_ERR_LAYERED_FAILURE ((NTSTATUS)0xC0040012L)
/** The device was reset. */
#define IO_ERR_RESET ((NTSTATUS)0xC0040013L)
/** A transport received a frame that breaks its protocol. */
#define IO_ERR_PROTOCOL ((NTSTATUS)0xC0040014L)
/** Two drivers claimed overlapping memory ranges. */
#define IO_ERR_MEMORY_CONFLICT_DETECTED ((NTSTATUS)0xC0040015L)
/** Two drivers claimed overlapping I/O port ranges. */
#define IO_ERR_PORT_CONFLICT_DETECTED ((NTSTATUS)0xC0040016L)
/** Two drivers claimed the same DMA channel. */
#define IO_ERR_DMA_CONFLICT_DETECTED ((NTSTATUS)0xC0040017L)
/** Two drivers claimed the same interrupt. */
#define IO_ERR_IRQ_CONFLICT_DETECTED ((NTSTATUS)0xC0040018L)
/** The device's firmware is too old: the device is not used. */
#define IO_ERR_BAD_FIRMWARE ((NTSTATUS)0xC0040019L)
/** A DMA resource of the device conflicts with another device's. */
#define IO_ERR_DMA_RESOURCE_CONFLICT ((NTSTATUS)0xC004001BL)
/** An interrupt resource of the device conflicts with another device's. */
#define IO_ERR_INTERRUPT_RESOURCE_CONFLICT ((NTSTATUS)0xC004001CL)
/** A memory resource of the device conflicts with another device's. */
#define IO_ERR_MEMORY_RESOURCE_CONFLICT ((NTSTATUS)0xC004001DL)
/** A port resource of the device conflicts with another device's. */
#define IO_ERR_PORT_RESOURCE_CONFLICT ((NTSTATUS)0xC004001EL)
/** A file on the device (a string: %2) holds a bad block. */
#define IO_BAD_BLOCK_WITH_NAME ((NTSTATUS)0xC004001FL)
/** A thread looped for ever in the device's driver. */
#define IO_ERR_THREAD_STUCK_IN_DEVICE_DRIVER ((NTSTATUS)0xC004006CL)
/** A port timed out from inactivity; its buses were reset. */
#define IO_ERR_PORT_TIMEOUT ((NTSTATUS)0xC0040075L)

/* ------------------------------------------------------------------ */
/* Warnings (severity 2)                                               */

/** The device's firmware is old: it works, maybe slower. */
#define IO_WRN_BAD_FIRMWARE ((NTSTATUS)0x8004001AL)
/** The device's write cache is on: data may be lost. */
#define IO_WRITE_CACHE_ENABLED ((NTSTATUS)0x80040020L)
/** Data was read back correct thanks to the device's error correction. */
#define IO_RECOVERED_VIA_ECC ((NTSTATUS)0x80040021L)
/** The driver turned the device's write cache off. */
#define IO_WRITE_CACHE_DISABLED ((NTSTATUS)0x80040022L)
/** An error during a paging operation on the device. */
#define IO_WARNING_PAGING_FAILURE ((NTSTATUS)0x80040033L)
/** The device predicts its own failure. */
#define IO_WRN_FAILURE_PREDICTED ((NTSTATUS)0x80040034L)
/** An interrupt was still pending when the driver's timeout ran. */
#define IO_WARNING_INTERRUPT_STILL_PENDING ((NTSTATUS)0x80040035L)
/** A request to the device neither completed nor was cancelled in time. */
#define IO_DRIVER_CANCEL_TIMEOUT ((NTSTATUS)0x80040036L)
/** The driver could not allocate memory. */
#define IO_WARNING_ALLOCATION_FAILED ((NTSTATUS)0x80040038L)
/** The driver reset the bus on request. */
#define IO_WARNING_BUS_RESET ((NTSTATUS)0x80040076L)
/** The driver reset the device. */
#define IO_WARNING_RESET ((NTSTATUS)0x80040081L)

#endif /* KDPC_WDM_IOLOGC_H */
