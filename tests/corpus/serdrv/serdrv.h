/* SPDX-License-Identifier: MIT */
/*
 * serdrv.h - the hardware side of the corpus' serial port driver (serdrv.c):
 * a 16550-style UART at 8 I/O ports with one interrupt line, and a
 * loopback plug on its connector (every byte sent comes back). Programs talk
 * to the driver with <ntddser.h>'s IOCTLs, ReadFile and WriteFile.
 *
 * Registers (DLAB = LCR bit 7):
 *   +0 RBR (R) / THR (W) / DLL (DLAB)    +1 IER / DLM (DLAB)
 *   +2 IIR (R) / FCR (W)                 +3 LCR
 *   +4 MCR                               +5 LSR (R)
 *   +6 MSR (R)                           +7 SCR
 * The baud rate divisor is SERDRV_CLOCK / baud.
 */
#ifndef SERDRV_H
#define SERDRV_H

#include <wdm.h>

#define SERDRV_RBR   0
#define SERDRV_THR   0
#define SERDRV_DLL   0
#define SERDRV_IER   1
#define SERDRV_DLM   1
#define SERDRV_IIR   2
#define SERDRV_FCR   2
#define SERDRV_LCR   3
#define SERDRV_MCR   4
#define SERDRV_LSR   5
#define SERDRV_MSR   6
#define SERDRV_SCR   7
#define SERDRV_PORTS 8

#define SERDRV_IER_RDA   0x01 /* received data available */
#define SERDRV_IER_THRE  0x02 /* transmitter holding register empty */
#define SERDRV_IIR_NONE  0x01 /* no interrupt pending */
#define SERDRV_IIR_THRE  0x02
#define SERDRV_IIR_RDA   0x04
#define SERDRV_LCR_DLAB  0x80
#define SERDRV_LSR_DR    0x01 /* data ready */
#define SERDRV_LSR_THRE  0x20
#define SERDRV_MCR_DTR   0x01
#define SERDRV_MCR_RTS   0x02
#define SERDRV_MCR_OUT2  0x08 /* interrupts reach the line */
#define SERDRV_CLOCK     115200u
#define SERDRV_RX_BUFFER 256u

#define SERDRV_DEVICE_NAME L"\\Device\\Serial0"
/* Device parameter (PLUGPLAY_REGKEY_DEVICE, REG_SZ): the DOS name ("COM1" by default); the driver
 * links \DosDevices\<PortName> and records it in HARDWARE\DEVICEMAP\SERIALCOMM. */
#define SERDRV_REG_PORT_NAME L"PortName"

DRIVER_INITIALIZE SerDriverEntry;

#endif /* SERDRV_H */
