/* SPDX-License-Identifier: MIT */
/*
 * uart.h - the serial example's virtual hardware: a 16550-compatible UART
 * (driver/uart16550.h) at eight I/O ports with one edge-triggered (ISA
 * style, Latched) interrupt line, 16-byte receive and transmit FIFOs,
 * characters timed in virtual time from the divisor latch and the line
 * control register, internal loopback (MCR bit 4) and an optional loopback
 * plug on the connector (TX to RX, RTS to CTS, DTR to DSR and DCD).
 *
 * Lazy: the FIFOs are brought up to date from the clock at each register
 * access and at one pending event, scheduled for the next moment something
 * the driver can see changes (the transmit FIFO runs empty, the receive FIFO
 * reaches its trigger level or overruns, a character with an error arrives,
 * a character timeout) - never one event per character.
 *
 * Faults (uart_set_faults): per character sent, KDPC_FAULT_TRANSFER_ERROR
 * draws a line error, which rotates overrun -> parity -> framing (parity
 * becomes framing while parity is off: a flipped bit without parity would
 * be a silent corruption no driver can see); KDPC_FAULT_LOST_INTERRUPT,
 * _LATE_INTERRUPT and _SPURIOUS_INTERRUPT act on the interrupt line.
 */
#ifndef SERIAL_UART_H
#define SERIAL_UART_H

#include <stdbool.h>
#include <stdint.h>

#include <kdpc/device.h>

typedef struct uart {
    kdpc_device *dev;
    kdpc_machine *m;
    bool plug; /* the loopback plug is on the connector */
    /* registers */
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    uint8_t msr;        /* status (high nibble) and deltas (low nibble) */
    uint8_t lsr_sticky; /* OE and errors already latched, cleared by reading LSR */
    /* receive FIFO: characters and their error bits (PE, FE) */
    uint8_t rx[16], rxf[16];
    unsigned rx_head, rx_count;
    uint64_t rx_activity_ns; /* last character in or out of the receive FIFO */
    /* transmit FIFO and shift register; each character carries the fault drawn for it */
    uint8_t tx[16], txf[16];
    unsigned tx_head, tx_count;
    bool shifting;
    uint8_t shift_c, shift_f;
    uint64_t shift_done_ns;
    bool thre_pending; /* THRE interrupt source (cleared by IIR read or THR write) */
    bool out;          /* the interrupt output, as last driven */
    bool ev_armed;
    uint64_t ev_id, ev_time;
    unsigned err_rot;
    /* counters */
    uint64_t chars_sent, chars_received, overruns, parity_errors, framing_errors;
    uint64_t tx_dropped, bad_accesses, events;
} uart;

/* Plug the UART at @port with interrupt line @line (Latched), for driver @driver. */
kdpc_status uart_plug(kdpc_machine *m, uart *u, const char *name, const char *driver, uint16_t port,
                      unsigned line, bool plug);

/* Every fault kind the UART models at @permille (0: none). */
void uart_set_faults(uart *u, unsigned permille);

/* Faults injected so far (line errors + interrupt faults). */
uint64_t uart_faults(const uart *u);

#endif /* SERIAL_UART_H */
