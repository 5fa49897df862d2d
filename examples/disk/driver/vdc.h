/* SPDX-License-Identifier: MIT */
/*
 * vdc.h - register layout of the VDC-2, a bus-master disk controller with
 * two units behind one set of registers (hardware documentation: shared by
 * the driver and the device model, no code).
 *
 * One memory window of VDC_WINDOW bytes, one level-triggered interrupt line,
 * a bus-master DMA engine that takes one contiguous logical range per
 * command (no scatter/gather). All registers are 32 bits wide.
 *
 *   +0x00 STATUS   (R)  VDC_ST_*; VDC_ST_ERROR_CODE in bits 8..15 after an error.
 *                  (W)  1 bits acknowledge DONE / ERR (the line falls when both are clear).
 *   +0x04 COMMAND  (W)  VDC_CMD_READ (media -> memory), VDC_CMD_WRITE (memory -> media):
 *                       start a transfer of COUNT sectors of unit UNIT at SECTOR, with the
 *                       DMA engine at ADDR; VDC_CMD_ABORT stops the transfer in progress
 *                       (nothing more moves, no interrupt) and clears STATUS.
 *   +0x08 UNIT     (W)  0 or 1; selects the unit CAPACITY reports.
 *   +0x0C SECTOR_LO, +0x10 SECTOR_HI (W)  first sector (512 bytes) of the transfer.
 *   +0x14 COUNT    (W)  sectors (1..VDC_MAX_SECTORS).
 *   +0x18 ADDR_LO, +0x1C ADDR_HI (W)      DMA logical address (what MapTransfer returned).
 *   +0x20 XFERRED  (R)  bytes the last command moved (less than COUNT*512 after a short
 *                       transfer: the engine stopped early and set ERR).
 *   +0x24 CONTROL  (W)  VDC_CTL_IE: interrupt enable.
 *   +0x28 CAPACITY (R)  sectors of the unit UNIT selects.
 *
 * A command takes VDC_COMMAND_NS plus VDC_NS_PER_KIB per KiB; the engine moves
 * the data at the end of that time, then sets DONE (or DONE|ERR) and
 * interrupts. A command written while BUSY is ignored.
 */
#ifndef VDC_H
#define VDC_H

#define VDC_REG_STATUS    0x00u
#define VDC_REG_COMMAND   0x04u
#define VDC_REG_UNIT      0x08u
#define VDC_REG_SECTOR_LO 0x0Cu
#define VDC_REG_SECTOR_HI 0x10u
#define VDC_REG_COUNT     0x14u
#define VDC_REG_ADDR_LO   0x18u
#define VDC_REG_ADDR_HI   0x1Cu
#define VDC_REG_XFERRED   0x20u
#define VDC_REG_CONTROL   0x24u
#define VDC_REG_CAPACITY  0x28u
#define VDC_WINDOW        0x40u

#define VDC_ST_DONE       0x1u
#define VDC_ST_ERR        0x2u
#define VDC_ST_BUSY       0x4u
#define VDC_ST_ERROR_CODE 0xFF00u
#define VDC_ERR_DMA       0x01u /* the DMA engine failed (bus error) */
#define VDC_ERR_SHORT     0x02u /* the engine stopped before COUNT sectors */
#define VDC_ERR_RANGE     0x03u /* SECTOR + COUNT past the unit's end, bad unit or count */

#define VDC_CMD_READ  0x1u
#define VDC_CMD_WRITE 0x2u
#define VDC_CMD_ABORT 0x3u

#define VDC_CTL_IE 0x1u

#define VDC_SECTOR      512u
#define VDC_UNITS       2u
#define VDC_MAX_SECTORS 0x10000u

#define VDC_COMMAND_NS 20000u /* 20 us a command */
#define VDC_NS_PER_KIB 2000u  /* 2 us per KiB: 512 MB/s */

#endif /* VDC_H */
