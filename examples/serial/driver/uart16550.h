/* SPDX-License-Identifier: MIT */
/*
 * uart16550.h - the register layout of a 16550-compatible UART (National
 * Semiconductor PC16550D datasheet): hardware documentation shared by the
 * serial example's driver (driver/serial.c) and its virtual device
 * (device/uart.c). Eight I/O ports, one interrupt line.
 *
 *   +0 RBR (R) / THR (W) / DLL (DLAB=1)   +1 IER / DLM (DLAB=1)
 *   +2 IIR (R) / FCR (W)                  +3 LCR
 *   +4 MCR                                +5 LSR (R)
 *   +6 MSR (R)                            +7 SCR
 *
 * The baud rate is UART_CLOCK / (16 * divisor): UART_CLOCK / 16 = 115200.
 */
#ifndef UART16550_H
#define UART16550_H

#define UART_RBR   0
#define UART_THR   0
#define UART_DLL   0
#define UART_IER   1
#define UART_DLM   1
#define UART_IIR   2
#define UART_FCR   2
#define UART_LCR   3
#define UART_MCR   4
#define UART_LSR   5
#define UART_MSR   6
#define UART_SCR   7
#define UART_PORTS 8

#define UART_CLOCK     1843200u /* 1.8432 MHz crystal */
#define UART_MAX_BAUD  115200u  /* divisor 1 */
#define UART_FIFO_SIZE 16u

/* IER: interrupt enables */
#define UART_IER_ERBFI 0x01 /* received data available (and character timeout) */
#define UART_IER_ETBEI 0x02 /* transmitter holding register empty */
#define UART_IER_ELSI  0x04 /* receiver line status */
#define UART_IER_EDSSI 0x08 /* modem status */

/* IIR: the highest-priority pending interrupt (bits 3..1), bit 0 set = none pending */
#define UART_IIR_NONE    0x01
#define UART_IIR_ID      0x0E
#define UART_IIR_MS      0x00 /* modem status: read MSR */
#define UART_IIR_THRE    0x02 /* THR empty: read IIR or write THR */
#define UART_IIR_RDA     0x04 /* received data at the trigger level: read RBR */
#define UART_IIR_RLS     0x06 /* receiver line status: read LSR */
#define UART_IIR_TIMEOUT 0x0C /* character timeout: read RBR */
#define UART_IIR_FIFOS   0xC0 /* FIFOs enabled */

/* FCR */
#define UART_FCR_ENABLE     0x01
#define UART_FCR_RX_RESET   0x02
#define UART_FCR_TX_RESET   0x04
#define UART_FCR_TRIGGER_1  0x00
#define UART_FCR_TRIGGER_4  0x40
#define UART_FCR_TRIGGER_8  0x80
#define UART_FCR_TRIGGER_14 0xC0

/* LCR */
#define UART_LCR_WLS   0x03 /* word length - 5 */
#define UART_LCR_STB   0x04 /* 2 stop bits (1.5 with 5 data bits) */
#define UART_LCR_PEN   0x08 /* parity enable */
#define UART_LCR_EPS   0x10 /* even parity */
#define UART_LCR_BREAK 0x40 /* set break */
#define UART_LCR_DLAB  0x80 /* divisor latch access */

/* MCR */
#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* on a PC board: lets the interrupt reach the line */
#define UART_MCR_LOOP 0x10 /* internal loopback */

/* LSR */
#define UART_LSR_DR     0x01 /* data ready */
#define UART_LSR_OE     0x02 /* overrun error */
#define UART_LSR_PE     0x04 /* parity error */
#define UART_LSR_FE     0x08 /* framing error */
#define UART_LSR_BI     0x10 /* break interrupt */
#define UART_LSR_THRE   0x20 /* transmit FIFO empty */
#define UART_LSR_TEMT   0x40 /* transmitter empty (FIFO and shift register) */
#define UART_LSR_FIFOE  0x80 /* an error somewhere in the receive FIFO */
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

/* MSR */
#define UART_MSR_DCTS   0x01
#define UART_MSR_DDSR   0x02
#define UART_MSR_TERI   0x04
#define UART_MSR_DDCD   0x08
#define UART_MSR_DELTAS 0x0F
#define UART_MSR_CTS    0x10
#define UART_MSR_DSR    0x20
#define UART_MSR_RI     0x40
#define UART_MSR_DCD    0x80

#endif /* UART16550_H */
