/* SPDX-License-Identifier: MIT */
/*
 * uart.c - the virtual 16550 (uart.h). Register semantics follow the
 * PC16550D datasheet: IIR priorities (line status > received data /
 * character timeout > THR empty > modem status), LSR error bits belonging to
 * the character at the top of the receive FIFO and cleared by reading LSR,
 * MSR deltas cleared by reading MSR, THRE cleared by reading IIR (when it is
 * the interrupt reported) or writing THR, the character timeout after four
 * character times without FIFO activity.
 */
#include <string.h>

#include "uart.h"
#include "../driver/uart16550.h"

static uint64_t char_ns(const uart *u)
{
    unsigned divisor = (unsigned)u->dll | ((unsigned)u->dlm << 8);
    unsigned bits = 1u + 5u + (u->lcr & UART_LCR_WLS) + ((u->lcr & UART_LCR_PEN) ? 1u : 0u) +
                    ((u->lcr & UART_LCR_STB) ? 2u : 1u);
    if (divisor == 0)
        divisor = 65536; /* the latch counts down from 0 */
    return (uint64_t)bits * divisor * 16u * 1000000000ull / UART_CLOCK;
}

static unsigned fifo_size(const uart *u)
{
    return (u->fcr & UART_FCR_ENABLE) ? UART_FIFO_SIZE : 1u;
}

static unsigned trigger(const uart *u)
{
    static const unsigned levels[4] = {1, 4, 8, 14};
    return (u->fcr & UART_FCR_ENABLE) ? levels[u->fcr >> 6] : 1u;
}

static bool looped(const uart *u)
{
    return (u->mcr & UART_MCR_LOOP) != 0 || u->plug;
}

static uint64_t now_ns(const uart *u)
{
    return kdpc_machine_time_ns(u->m);
}

/* The modem inputs as the loopback (internal or plug) drives them. */
static void update_msr(uart *u)
{
    uint8_t in = 0;
    if (u->mcr & UART_MCR_LOOP) {
        in = (uint8_t)(((u->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
                       ((u->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
                       ((u->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
                       ((u->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0));
    } else if (u->plug) {
        in = (uint8_t)(((u->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
                       ((u->mcr & UART_MCR_DTR) ? UART_MSR_DSR | UART_MSR_DCD : 0));
    }
    uint8_t old = u->msr & 0xF0, changed = (uint8_t)(old ^ in);
    uint8_t d = u->msr & UART_MSR_DELTAS;
    if (changed & UART_MSR_CTS)
        d |= UART_MSR_DCTS;
    if (changed & UART_MSR_DSR)
        d |= UART_MSR_DDSR;
    if (changed & UART_MSR_DCD)
        d |= UART_MSR_DDCD;
    if ((old & UART_MSR_RI) && !(in & UART_MSR_RI))
        d |= UART_MSR_TERI; /* trailing edge of ring */
    u->msr = (uint8_t)(in | d);
}

/* A character finished arriving at @t (the other end of the loopback). */
static void receive(uart *u, uint8_t c, uint8_t f, uint64_t t)
{
    if (f == UART_LSR_OE) { /* injected: the receiver lost this character */
        u->lsr_sticky |= UART_LSR_OE;
        u->overruns++;
        return;
    }
    if (u->rx_count == fifo_size(u)) { /* the FIFO is full: the new character is lost */
        u->lsr_sticky |= UART_LSR_OE;
        u->overruns++;
        return;
    }
    if (f == UART_LSR_PE) {
        c ^= 0x01;
        u->parity_errors++;
    } else if (f == UART_LSR_FE) {
        c ^= 0x80;
        u->framing_errors++;
    }
    unsigned i = (u->rx_head + u->rx_count) % UART_FIFO_SIZE;
    u->rx[i] = c;
    u->rxf[i] = f;
    u->rx_count++;
    u->rx_activity_ns = t;
    u->chars_received++;
}

/* Bring the transmitter and the receiver up to @now. */
static void advance(uart *u, uint64_t now)
{
    while (u->shifting && u->shift_done_ns <= now) {
        uint64_t t = u->shift_done_ns;
        u->chars_sent++;
        if (looped(u))
            receive(u, u->shift_c, u->shift_f, t);
        if (u->tx_count > 0) {
            u->shift_c = u->tx[u->tx_head];
            u->shift_f = u->txf[u->tx_head];
            u->tx_head = (u->tx_head + 1) % UART_FIFO_SIZE;
            u->tx_count--;
            u->shift_done_ns = t + char_ns(u);
            if (u->tx_count == 0)
                u->thre_pending = true; /* the transmit FIFO ran empty */
        } else {
            u->shifting = false;
        }
    }
}

static uint8_t top_errors(const uart *u)
{
    return u->rx_count > 0 ? u->rxf[u->rx_head] : 0;
}

static bool timed_out(const uart *u, uint64_t now)
{
    return (u->fcr & UART_FCR_ENABLE) && u->rx_count > 0 &&
           now >= u->rx_activity_ns + 4 * char_ns(u);
}

/* The interrupt identification the IIR would give now. */
static uint8_t pending(const uart *u, uint64_t now)
{
    if ((u->ier & UART_IER_ELSI) && ((u->lsr_sticky | top_errors(u)) & UART_LSR_ERRORS))
        return UART_IIR_RLS;
    if ((u->ier & UART_IER_ERBFI) && u->rx_count > 0 && u->rx_count >= trigger(u))
        return UART_IIR_RDA;
    if ((u->ier & UART_IER_ERBFI) && timed_out(u, now))
        return UART_IIR_TIMEOUT;
    if ((u->ier & UART_IER_ETBEI) && u->thre_pending)
        return UART_IIR_THRE;
    if ((u->ier & UART_IER_EDSSI) && (u->msr & UART_MSR_DELTAS))
        return UART_IIR_MS;
    return UART_IIR_NONE;
}

/* Drive the interrupt output: on a PC board OUT2 gates it onto the (edge-triggered) line. */
static void update_line(uart *u, uint64_t now)
{
    bool want = pending(u, now) != UART_IIR_NONE && (u->mcr & UART_MCR_OUT2);
    if (want && !u->out) {
        u->out = true;
        (void)kdpc_device_interrupt(u->dev, 0); /* the edge: may be lost or late (faults) */
    } else if (!want && u->out) {
        u->out = false;
        (void)kdpc_device_line_set(u->dev, 0, false);
    }
}

static void uart_event(kdpc_device *dev, void *ctx, void *arg);

static void consider(uint64_t *next, uint64_t t, uint64_t now)
{
    if (t > now && t < *next)
        *next = t;
}

/* Schedule one event at the next moment the driver could see a change. */
static void schedule_next(uart *u, uint64_t now)
{
    uint64_t next = UINT64_MAX, c = char_ns(u);
    if (u->shifting) {
        unsigned pipeline = 1 + u->tx_count;
        if (u->tx_count > 0) /* the transmit FIFO runs empty */
            consider(&next, u->shift_done_ns + (u->tx_count - 1) * c, now);
        if (looped(u)) {
            unsigned room = fifo_size(u) - u->rx_count;
            if (u->rx_count < trigger(u) && trigger(u) - u->rx_count <= pipeline)
                consider(&next, u->shift_done_ns + (trigger(u) - u->rx_count - 1) * c, now);
            if (pipeline > room) /* overrun */
                consider(&next, u->shift_done_ns + room * c, now);
            if (u->shift_f != 0)
                consider(&next, u->shift_done_ns, now);
            for (unsigned i = 0; i < u->tx_count; i++)
                if (u->txf[(u->tx_head + i) % UART_FIFO_SIZE] != 0) {
                    consider(&next, u->shift_done_ns + (i + 1) * c, now);
                    break;
                }
            /* the character timeout after the last arrival */
            consider(&next, u->shift_done_ns + u->tx_count * c + 4 * c, now);
        } else {
            consider(&next, u->shift_done_ns + u->tx_count * c, now); /* transmitter empty */
        }
    }
    /* the character timeout of what sits in the FIFO (while characters are still arriving, the
     * one after the last arrival above) */
    if ((u->fcr & UART_FCR_ENABLE) && u->rx_count > 0 && !(u->shifting && looped(u)))
        consider(&next, u->rx_activity_ns + 4 * c, now);
    /* exactly one event, at exactly that time: an access that moves the moment (the ISR filling
     * the transmit FIFO byte by byte, draining the receive FIFO) moves the event, so no event
     * runs for nothing */
    if (u->ev_armed && u->ev_time == next)
        return;
    if (u->ev_armed)
        (void)kdpc_device_cancel(u->dev, u->ev_id);
    u->ev_armed = next != UINT64_MAX && kdpc_device_schedule(u->dev, next - now, uart_event, NULL,
                                                             0, &u->ev_id) == KDPC_OK;
    u->ev_time = next;
}

static void settle(uart *u, uint64_t now)
{
    update_line(u, now);
    schedule_next(u, now);
}

static void uart_event(kdpc_device *dev, void *ctx, void *arg)
{
    (void)dev, (void)arg;
    uart *u = ctx;
    uint64_t now = now_ns(u);
    u->ev_armed = false;
    u->events++;
    advance(u, now);
    settle(u, now);
}

static uint8_t line_errors_drawn(uart *u)
{
    if (!kdpc_device_fault_now(u->dev, KDPC_FAULT_TRANSFER_ERROR))
        return 0;
    switch (u->err_rot++ % 3) {
    case 0:
        return UART_LSR_OE;
    case 1:
        return (u->lcr & UART_LCR_PEN) ? UART_LSR_PE : UART_LSR_FE;
    default:
        return UART_LSR_FE;
    }
}

static uint64_t uart_read(const kdpc_reg_access *a)
{
    uart *u = a->ctx;
    uint64_t now = now_ns(u);
    uint8_t v = 0;
    if (a->width != 1) {
        u->bad_accesses++;
        return 0xFF;
    }
    advance(u, now);
    switch (a->offset) {
    case UART_RBR:
        if (u->lcr & UART_LCR_DLAB) {
            v = u->dll;
        } else if (u->rx_count > 0) {
            v = u->rx[u->rx_head];
            u->rxf[u->rx_head] = 0;
            u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
            u->rx_count--;
            u->rx_activity_ns = now;
        }
        break;
    case UART_IER:
        v = (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
        break;
    case UART_IIR:
        v = pending(u, now);
        if (v == UART_IIR_THRE)
            u->thre_pending = false; /* reading IIR clears a THRE interrupt it reports */
        if (u->fcr & UART_FCR_ENABLE)
            v |= UART_IIR_FIFOS;
        break;
    case UART_LCR:
        v = u->lcr;
        break;
    case UART_MCR:
        v = u->mcr;
        break;
    case UART_LSR: {
        bool fifoe = false;
        for (unsigned i = 0; i < u->rx_count; i++)
            fifoe |= u->rxf[(u->rx_head + i) % UART_FIFO_SIZE] != 0;
        v = (uint8_t)((u->rx_count > 0 ? UART_LSR_DR : 0) | u->lsr_sticky | top_errors(u) |
                      (u->tx_count == 0 ? UART_LSR_THRE : 0) |
                      (u->tx_count == 0 && !u->shifting ? UART_LSR_TEMT : 0) |
                      (fifoe ? UART_LSR_FIFOE : 0));
        u->lsr_sticky = 0;
        if (u->rx_count > 0)
            u->rxf[u->rx_head] = 0; /* reported */
        break;
    }
    case UART_MSR:
        v = u->msr;
        u->msr &= 0xF0;
        break;
    case UART_SCR:
        v = u->scr;
        break;
    default:
        break;
    }
    settle(u, now);
    return v;
}

static void uart_write(const kdpc_reg_access *a)
{
    uart *u = a->ctx;
    uint64_t now = now_ns(u);
    uint8_t v = (uint8_t)a->value;
    if (a->width != 1) {
        u->bad_accesses++;
        return;
    }
    advance(u, now);
    switch (a->offset) {
    case UART_THR:
        if (u->lcr & UART_LCR_DLAB) {
            u->dll = v;
        } else if (!u->shifting) {
            u->shift_c = v;
            u->shift_f = line_errors_drawn(u);
            u->shifting = true;
            u->shift_done_ns = now + char_ns(u);
            u->thre_pending = true; /* straight to the shift register: the FIFO is empty */
        } else if (u->tx_count < fifo_size(u)) {
            unsigned i = (u->tx_head + u->tx_count) % UART_FIFO_SIZE;
            u->tx[i] = v;
            u->txf[i] = line_errors_drawn(u);
            u->tx_count++;
            u->thre_pending = false;
        } else {
            u->tx_dropped++; /* written while full: the character is lost */
        }
        break;
    case UART_IER:
        if (u->lcr & UART_LCR_DLAB) {
            u->dlm = v;
        } else {
            if ((v & UART_IER_ETBEI) && !(u->ier & UART_IER_ETBEI) && u->tx_count == 0)
                u->thre_pending = true; /* enabling it with the FIFO empty interrupts */
            u->ier = v & 0x0F;
        }
        break;
    case UART_FCR:
        if ((v & UART_FCR_ENABLE) != (u->fcr & UART_FCR_ENABLE) || (v & UART_FCR_RX_RESET)) {
            u->rx_count = 0;
            memset(u->rxf, 0, sizeof u->rxf);
        }
        if ((v & UART_FCR_ENABLE) != (u->fcr & UART_FCR_ENABLE) || (v & UART_FCR_TX_RESET)) {
            u->tx_count = 0;
            if (!u->shifting)
                u->thre_pending = true;
        }
        u->fcr = v & (UART_FCR_ENABLE | 0xC0);
        break;
    case UART_LCR:
        u->lcr = v;
        break;
    case UART_MCR:
        u->mcr = v & 0x1F;
        update_msr(u);
        break;
    case UART_SCR:
        u->scr = v;
        break;
    default:
        u->bad_accesses++; /* LSR and MSR are read-only */
        break;
    }
    settle(u, now);
}

kdpc_status uart_plug(kdpc_machine *m, uart *u, const char *name, const char *driver, uint16_t port,
                      unsigned line, bool plug)
{
    kdpc_device_desc desc;
    memset(u, 0, sizeof *u);
    u->m = m;
    u->plug = plug;
    u->dll = 12; /* 9600 until the driver says otherwise */
    u->lcr = 0x03;
    kdpc_device_desc_init(&desc);
    desc.name = name;
    desc.driver = driver;
    desc.ctx = u;
    desc.ports[0] = (kdpc_range_desc){port, UART_PORTS, uart_read, uart_write};
    desc.nports = 1;
    desc.lines[0].line = line;
    desc.lines[0].level = false; /* ISA: edge-triggered */
    desc.nlines = 1;
    return kdpc_device_plug(m, &desc, &u->dev);
}

void uart_set_faults(uart *u, unsigned permille)
{
    (void)kdpc_device_set_fault(u->dev, KDPC_FAULT_TRANSFER_ERROR, permille);
    (void)kdpc_device_set_fault(u->dev, KDPC_FAULT_LOST_INTERRUPT, permille);
    (void)kdpc_device_set_fault(u->dev, KDPC_FAULT_LATE_INTERRUPT, permille);
    (void)kdpc_device_set_fault(u->dev, KDPC_FAULT_SPURIOUS_INTERRUPT, permille);
}

uint64_t uart_faults(const uart *u)
{
    return kdpc_device_faults_injected(u->dev, KDPC_FAULT_TRANSFER_ERROR) +
           kdpc_device_faults_injected(u->dev, KDPC_FAULT_LOST_INTERRUPT) +
           kdpc_device_faults_injected(u->dev, KDPC_FAULT_LATE_INTERRUPT) +
           kdpc_device_faults_injected(u->dev, KDPC_FAULT_SPURIOUS_INTERRUPT);
}
