/* SPDX-License-Identifier: MIT */
/*
 * nx2hw.h - register layout of the NX-2, a multi-queue bus-master network
 * controller (hardware documentation, shared by the driver and the model).
 *
 * One 4 KiB register window, 32-bit accesses only.
 *   0x000 ID (R)        NX2_ID
 *   0x004 CTRL (RW)     NX2_CTRL_ENABLE: the queues run; NX2_CTRL_RESET (W): back to the
 *                       power-on state (rings forgotten, interrupts masked, causes cleared)
 *   0x008 STATUS (R)    NX2_STATUS_LINK_UP while the link is up
 *   0x00C LINK (W)      NX2_LINK_RENEGOTIATE: start auto-negotiation; the link comes up
 *                       NX2_NEGOTIATE_NS later if the partner is there, else once it is
 *   0x010 MAC_LO (R), 0x014 MAC_HI (R): the station address
 *   0x018 QUEUES (R)    the number of queue pairs (NX2_QUEUES)
 * Per queue pair q (0..QUEUES-1), at NX2_QBASE(q):
 *   +0x00 ICR (R: pending causes; W: write 1s to clear)   NX2_ICR_*
 *   +0x04 IMR (RW)      causes that signal the queue's message (an MSI-style edge on
 *                       the queue's own line); setting a bit whose cause is pending
 *                       signals at once
 *   +0x08 TXRING_LO, +0x0C TXRING_HI: logical address of NX2_RING transmit descriptors
 *   +0x10 RXRING_LO, +0x14 RXRING_HI: logical address of NX2_RING receive descriptors
 *   +0x18 TX_TAIL (W)   the device sends descriptors up to (not including) this index
 *   +0x1C RX_MISSED (R) frames dropped since reset because no receive descriptor was free
 * Only queue 0 reports NX2_ICR_LSC (link status change).
 *
 * Descriptors (NX2_DESC, 16 bytes) in a common buffer. Transmit: the driver fills
 * Address/Length of one whole frame, Status 0, then moves TX_TAIL; the device sets
 * Status NX2_DESC_DONE, with NX2_DESC_ERR when it could not fetch the frame (not
 * sent). While the link is down the transmit rings stall. Receive: the driver gives
 * each descriptor a buffer (Address, Length = NX2_BUFFER) with Status 0; the device
 * fills the next one in ring order and sets Status NX2_DESC_DONE | length << 16, with
 * NX2_DESC_CRC for a frame that arrived with a bad frame check sequence, or
 * NX2_DESC_ERR when its data could not be written (the buffer holds garbage). A
 * descriptor whose Status is not 0 is the driver's: a frame arriving then is counted
 * in RX_MISSED. The driver writes Status 0 to give the buffer back.
 * Loopback: the link partner echoes every frame sent on queue q into queue q's
 * receive ring, and may send traffic of its own.
 */
#ifndef NX2HW_H
#define NX2HW_H

#include <wdm.h>

#define NX2_REG_ID           0x000
#define NX2_REG_CTRL         0x004
#define NX2_REG_STATUS       0x008
#define NX2_REG_LINK         0x00C
#define NX2_REG_MAC_LO       0x010
#define NX2_REG_MAC_HI       0x014
#define NX2_REG_QUEUES       0x018
#define NX2_QBASE(q)         (0x100u + (ULONG)(q)*0x40u)
#define NX2_Q_ICR            0x00
#define NX2_Q_IMR            0x04
#define NX2_Q_TXRING_LO      0x08
#define NX2_Q_TXRING_HI      0x0C
#define NX2_Q_RXRING_LO      0x10
#define NX2_Q_RXRING_HI      0x14
#define NX2_Q_TX_TAIL        0x18
#define NX2_Q_RX_MISSED      0x1C
#define NX2_WINDOW           0x1000
#define NX2_ID               0x3258584Eu /* "NXX2" */
#define NX2_CTRL_ENABLE      0x1u
#define NX2_CTRL_RESET       0x4u
#define NX2_STATUS_LINK_UP   0x1u
#define NX2_LINK_RENEGOTIATE 0x1u
#define NX2_ICR_TX           0x1u
#define NX2_ICR_RX           0x2u
#define NX2_ICR_LSC          0x4u
#define NX2_QUEUES           4u
#define NX2_RING             128u
#define NX2_BUFFER           2048u
#define NX2_MAX_FRAME        1514u
#define NX2_MIN_FRAME        60u
#define NX2_NEGOTIATE_NS     1000000u /* auto-negotiation: 1 ms */
#define NX2_DESC_DONE        0x1u
#define NX2_DESC_ERR         0x2u
#define NX2_DESC_CRC         0x4u

typedef struct _NX2_DESC {
    ULONGLONG Address;
    USHORT Length;
    USHORT Flags;
    ULONG Status;
} NX2_DESC, *PNX2_DESC;

#endif /* NX2HW_H */
