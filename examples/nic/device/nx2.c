/* SPDX-License-Identifier: MIT */
/*
 * nx2.c - the virtual NX-2 multi-queue NIC and its loopback link partner
 * (nx2.h). Device code: register handlers and events only; it moves data
 * with the DMA engine and never calls driver code.
 */
#include <stdlib.h>
#include <string.h>

#include <kdpc/driver.h>

#include "nx2.h"
#include "nxframe.h"
#include "driver/nx2hw.h"

typedef struct nx2_queue {
    uint32_t icr, imr, tx_lo, tx_hi, rx_lo, rx_hi, tx_tail, missed;
    unsigned tx_head, rx_next;
    bool tx_pending; /* a transmit event is scheduled */
    uint64_t tx_id, gen_id, burst_id;
    uint64_t wire_free_ns; /* the wire is busy until then */
    uint32_t gen_seq;      /* the partner's flow NXF_GEN_FLOW + q */
    unsigned burst_left;
    uint64_t burst_start_ns;
} nx2_queue;

struct nx2 {
    kdpc_device *dev;
    kdpc_machine *m;
    nx2_params p;
    uint32_t ctrl;
    bool link_up, negotiating, started_once;
    uint64_t partner_back_ns, first_enable_ns, rng;
    nx2_queue q[NX2_QUEUES];
    nx2_counters c;
    uint8_t frame[NX2_BUFFER];
};

static const uint8_t nx2_station[6] = {0x02, 0x4B, 0x44, 0x50, 0x43, 0x01};
static const uint8_t nx2_partner[6] = {0x02, 0x4B, 0x44, 0x50, 0x43, 0x02};

const uint8_t *nx2_mac(void)
{
    return nx2_station;
}

static uint64_t nx2_rand(nx2 *n)
{
    n->rng ^= n->rng << 13;
    n->rng ^= n->rng >> 7;
    n->rng ^= n->rng << 17;
    return n->rng;
}

static uint64_t nx2_now(const nx2 *n)
{
    return kdpc_machine_time_ns(n->m);
}

static uint64_t ring_la(uint32_t lo, uint32_t hi, unsigned index)
{
    return (((uint64_t)hi << 32) | lo) + (uint64_t)index * sizeof(NX2_DESC);
}

/* A descriptor: the device reads and writes its rings in whole descriptors (one bus
 * transaction each), never faulted; NULL when the driver did not map the address. */
static NX2_DESC *desc_at(nx2 *n, uint64_t la)
{
    return kdpc_dma_host_address(n->m, la, sizeof(NX2_DESC));
}

/* A DMA transfer of frame data that moved everything. */
static bool dma_in(nx2 *n, uint64_t la, void *dst, size_t len)
{
    size_t moved = 0;
    return kdpc_device_dma_read(n->dev, la, dst, len, &moved) == KDPC_OK && moved == len;
}

static bool dma_out(nx2 *n, uint64_t la, const void *src, size_t len)
{
    size_t moved = 0;
    return kdpc_device_dma_write(n->dev, la, src, len, &moved) == KDPC_OK && moved == len;
}

/* New causes on queue @qi: the queue's message when one of them is unmasked. */
static void nx2_raise(nx2 *n, unsigned qi, uint32_t causes)
{
    nx2_queue *q = &n->q[qi];
    q->icr |= causes;
    if (causes & q->imr) {
        n->c.messages++;
        (void)kdpc_device_interrupt(n->dev, qi);
    }
}

static bool nx2_rx_ready(const nx2 *n, const nx2_queue *q)
{
    return (n->ctrl & NX2_CTRL_ENABLE) && n->link_up && (q->rx_lo | q->rx_hi) != 0;
}

/* One frame arrives on queue @qi's receive side. False: no free descriptor (the caller may
 * count the rest of its chunk missed without looking again). */
static bool nx2_receive(nx2 *n, unsigned qi, const uint8_t *frame, unsigned len)
{
    nx2_queue *q = &n->q[qi];
    NX2_DESC *d;
    uint32_t status;

    if (!nx2_rx_ready(n, q)) {
        n->c.wire_lost++;
        return true;
    }
    d = desc_at(n, ring_la(q->rx_lo, q->rx_hi, q->rx_next));
    if (d == NULL) {
        n->c.desc_lost++;
        return true;
    }
    if (d->Status != 0 || d->Length < len) {
        q->missed++;
        n->c.missed++;
        return false;
    }
    status = NX2_DESC_DONE | (uint32_t)len << 16;
    if (kdpc_device_fault_now(n->dev, KDPC_FAULT_TRANSFER_ERROR)) {
        /* a bad FCS: the MAC passes the frame up flagged, one byte flipped */
        memmove(n->frame, frame, len);
        n->frame[NXF_HEADER] ^= 0x5A;
        frame = n->frame;
        status |= NX2_DESC_CRC;
    }
    if (!dma_out(n, d->Address, frame, len))
        status |= NX2_DESC_ERR;
    d->Status = status;
    q->rx_next = (q->rx_next + 1) % NX2_RING;
    n->c.delivered++;
    if (status & NX2_DESC_CRC)
        n->c.delivered_crc++;
    else if (status & NX2_DESC_ERR)
        n->c.delivered_err++;
    return true;
}

static void nx2_tx_event(kdpc_device *dev, void *ctx, void *arg);

static void nx2_tx_schedule(nx2 *n, unsigned qi, uint64_t delay)
{
    nx2_queue *q = &n->q[qi];
    uint64_t now = nx2_now(n);
    if (q->tx_pending)
        return;
    if (q->wire_free_ns > now + delay)
        delay = q->wire_free_ns - now;
    if (kdpc_device_schedule(n->dev, delay, nx2_tx_event, (void *)(uintptr_t)qi, 0, &q->tx_id) ==
        KDPC_OK)
        q->tx_pending = true;
}

/* Sends every descriptor up to TX_TAIL; the partner echoes each frame back. */
static void nx2_tx_event(kdpc_device *dev, void *ctx, void *arg)
{
    nx2 *n = ctx;
    unsigned qi = (unsigned)(uintptr_t)arg, frames = 0;
    nx2_queue *q = &n->q[qi];
    uint64_t wire = 0;
    (void)dev;

    q->tx_pending = false;
    if (!(n->ctrl & NX2_CTRL_ENABLE) || !n->link_up)
        return; /* stalled: the link coming up (or an enable) restarts it */
    while (q->tx_head != q->tx_tail) {
        NX2_DESC *d = desc_at(n, ring_la(q->tx_lo, q->tx_hi, q->tx_head));
        uint32_t status = NX2_DESC_DONE;
        unsigned len;
        if (d == NULL) {
            n->c.desc_lost++; /* not a ring the driver mapped: the queue stops */
            break;
        }
        len = d->Length;
        if (len < NX2_MIN_FRAME || len > NX2_MAX_FRAME || !dma_in(n, d->Address, n->frame, len))
            status |= NX2_DESC_ERR;
        d->Status = status;
        q->tx_head = (q->tx_head + 1) % NX2_RING;
        frames++;
        if (status & NX2_DESC_ERR) {
            n->c.tx_errors++;
            continue;
        }
        n->c.tx_frames++;
        wire += 100u + 8u * len;
        (void)nx2_receive(n, qi, n->frame, len); /* the partner's echo */
    }
    if (frames > 0) {
        q->wire_free_ns = nx2_now(n) + wire;
        nx2_raise(n, qi, NX2_ICR_TX | NX2_ICR_RX);
    }
}

/* @count frames of the partner's own flow arrive on queue @qi, 100 ns apart (one chunk,
 * one message). */
static void nx2_gen_frames(nx2 *n, unsigned qi, unsigned count)
{
    nx2_queue *q = &n->q[qi];
    bool any = false;
    unsigned i;

    n->c.generated += count;
    for (i = 0; i < count; i++) {
        const NX2_DESC *d =
            nx2_rx_ready(n, q) ? desc_at(n, ring_la(q->rx_lo, q->rx_hi, q->rx_next)) : NULL;
        unsigned len;
        if (!nx2_rx_ready(n, q) || d == NULL) { /* nobody listens: the rest is lost */
            n->c.wire_lost += count - i;
            break;
        }
        if (d->Status != 0) { /* the ring is full: it stays full for the rest of the chunk */
            q->missed += count - i;
            n->c.missed += count - i;
            break;
        }
        len = NXF_MIN + (unsigned)(nx2_rand(n) % (n->p.gen_max_len - NXF_MIN + 1));
        nxf_build(n->frame, len, NXF_GEN_FLOW + qi, q->gen_seq + i, nx2_partner);
        any = nx2_receive(n, qi, n->frame, len) || any;
    }
    q->gen_seq += count; /* the frames the wire lost keep their numbers */
    if (any)
        nx2_raise(n, qi, NX2_ICR_RX);
}

static bool nx2_gen_over(const nx2 *n)
{
    return nx2_now(n) >= n->first_enable_ns + n->p.gen_for_ns;
}

/* The partner's trickle on queue @arg: one frame, the next after a random gap. */
static void nx2_trickle_event(kdpc_device *dev, void *ctx, void *arg)
{
    nx2 *n = ctx;
    unsigned qi = (unsigned)(uintptr_t)arg;
    (void)dev;

    if (nx2_gen_over(n))
        return;
    nx2_gen_frames(n, qi, 1);
    (void)kdpc_device_schedule(n->dev, n->p.gen_gap_ns / 2 + nx2_rand(n) % (n->p.gen_gap_ns + 1),
                               nx2_trickle_event, arg, KDPC_EVENT_BACKGROUND, &n->q[qi].gen_id);
}

/* The partner's bursts on queue @arg: line rate, delivered in chunks of NX2_CHUNK frames. */
static void nx2_burst_event(kdpc_device *dev, void *ctx, void *arg)
{
    nx2 *n = ctx;
    unsigned qi = (unsigned)(uintptr_t)arg, count;
    nx2_queue *q = &n->q[qi];
    uint64_t now = nx2_now(n), next;
    (void)dev;

    if (nx2_gen_over(n))
        return;
    if (q->burst_left == 0) {
        q->burst_left = n->p.burst_frames;
        q->burst_start_ns = now;
    }
    count = q->burst_left < NX2_CHUNK ? q->burst_left : NX2_CHUNK;
    nx2_gen_frames(n, qi, count);
    q->burst_left -= count;
    next = q->burst_left > 0 ? (uint64_t)count * NX2_BURST_SPACING_NS
                             : q->burst_start_ns + n->p.burst_period_ns - now;
    (void)kdpc_device_schedule(n->dev, next, nx2_burst_event, arg, KDPC_EVENT_BACKGROUND,
                               &q->burst_id);
}

static void nx2_link_restarts(nx2 *n)
{
    for (unsigned i = 0; i < n->p.queues; i++)
        if (n->q[i].tx_head != n->q[i].tx_tail)
            nx2_tx_schedule(n, i, 1000);
}

static void nx2_link_up_event(kdpc_device *dev, void *ctx, void *arg)
{
    nx2 *n = ctx;
    (void)dev, (void)arg;
    n->negotiating = false;
    if (n->link_up)
        return;
    n->link_up = true;
    n->c.link_ups++;
    nx2_raise(n, 0, NX2_ICR_LSC);
    nx2_link_restarts(n);
}

static void nx2_link_down_event(kdpc_device *dev, void *ctx, void *arg)
{
    nx2 *n = ctx;
    (void)dev, (void)arg;
    n->partner_back_ns = nx2_now(n) + n->p.link_down_ns;
    if (!n->link_up)
        return;
    n->link_up = false;
    n->c.link_downs++;
    nx2_raise(n, 0, NX2_ICR_LSC);
}

static void nx2_reset(nx2 *n)
{
    for (unsigned i = 0; i < NX2_QUEUES; i++) {
        nx2_queue *q = &n->q[i];
        if (q->tx_pending)
            (void)kdpc_device_cancel(n->dev, q->tx_id);
        q->tx_pending = false;
        q->icr = q->imr = q->tx_lo = q->tx_hi = q->rx_lo = q->rx_hi = q->tx_tail = q->missed = 0;
        q->tx_head = q->rx_next = 0;
    }
    n->ctrl = 0;
}

static void nx2_first_enable(nx2 *n)
{
    n->started_once = true;
    n->first_enable_ns = nx2_now(n);
    for (unsigned i = 0; i < n->p.queues && n->p.gen_for_ns > 0; i++) {
        uint64_t at = n->p.burst_at_ns != 0 ? n->p.burst_at_ns : 200000;
        uint64_t stagger = n->p.burst_stagger_ns != 0 ? n->p.burst_stagger_ns : 50000;
        if (n->p.gen_gap_ns > 0)
            (void)kdpc_device_schedule(n->dev, 200000 + 50000 * (uint64_t)i, nx2_trickle_event,
                                       (void *)(uintptr_t)i, KDPC_EVENT_BACKGROUND,
                                       &n->q[i].gen_id);
        if (n->p.burst_frames > 0)
            (void)kdpc_device_schedule(n->dev, at + stagger * i, nx2_burst_event,
                                       (void *)(uintptr_t)i, KDPC_EVENT_BACKGROUND,
                                       &n->q[i].burst_id);
    }
    if (n->p.link_down_at_ns > 0)
        (void)kdpc_device_schedule(n->dev, n->p.link_down_at_ns, nx2_link_down_event, NULL,
                                   KDPC_EVENT_BACKGROUND, NULL);
}

static uint64_t nx2_read(const kdpc_reg_access *a)
{
    nx2 *n = a->ctx;
    if (a->width != 4) {
        n->c.bad_accesses++;
        return 0;
    }
    if (a->offset >= NX2_QBASE(0) && a->offset < NX2_QBASE(n->p.queues)) {
        nx2_queue *q = &n->q[(a->offset - NX2_QBASE(0)) / 0x40];
        switch ((a->offset - NX2_QBASE(0)) % 0x40) {
        case NX2_Q_ICR:
            return q->icr;
        case NX2_Q_IMR:
            return q->imr;
        case NX2_Q_RX_MISSED:
            return q->missed;
        default:
            break;
        }
    } else {
        switch (a->offset) {
        case NX2_REG_ID:
            return NX2_ID;
        case NX2_REG_CTRL:
            return n->ctrl;
        case NX2_REG_STATUS:
            return n->link_up ? NX2_STATUS_LINK_UP : 0;
        case NX2_REG_MAC_LO:
            return (uint32_t)nx2_station[0] | (uint32_t)nx2_station[1] << 8 |
                   (uint32_t)nx2_station[2] << 16 | (uint32_t)nx2_station[3] << 24;
        case NX2_REG_MAC_HI:
            return (uint32_t)nx2_station[4] | (uint32_t)nx2_station[5] << 8;
        case NX2_REG_QUEUES:
            return n->p.queues;
        default:
            break;
        }
    }
    n->c.bad_accesses++;
    return 0;
}

static void nx2_write(const kdpc_reg_access *a)
{
    nx2 *n = a->ctx;
    uint32_t v = (uint32_t)a->value;
    if (a->width != 4) {
        n->c.bad_accesses++;
        return;
    }
    if (a->offset >= NX2_QBASE(0) && a->offset < NX2_QBASE(n->p.queues)) {
        unsigned qi = (unsigned)((a->offset - NX2_QBASE(0)) / 0x40);
        nx2_queue *q = &n->q[qi];
        switch ((a->offset - NX2_QBASE(0)) % 0x40) {
        case NX2_Q_ICR:
            q->icr &= ~v;
            return;
        case NX2_Q_IMR:
            q->imr = v & (NX2_ICR_TX | NX2_ICR_RX | (qi == 0 ? NX2_ICR_LSC : 0u));
            if (q->icr & q->imr) { /* a cause pending while masked signals now */
                n->c.messages++;
                (void)kdpc_device_interrupt(n->dev, qi);
            }
            return;
        case NX2_Q_TXRING_LO:
            q->tx_lo = v;
            return;
        case NX2_Q_TXRING_HI:
            q->tx_hi = v;
            return;
        case NX2_Q_RXRING_LO:
            q->rx_lo = v;
            return;
        case NX2_Q_RXRING_HI:
            q->rx_hi = v;
            return;
        case NX2_Q_TX_TAIL:
            q->tx_tail = v % NX2_RING;
            if ((n->ctrl & NX2_CTRL_ENABLE) && n->link_up)
                nx2_tx_schedule(n, qi, 1000);
            return;
        default:
            break;
        }
    } else {
        switch (a->offset) {
        case NX2_REG_CTRL:
            if (v & NX2_CTRL_RESET) {
                nx2_reset(n);
                return;
            }
            n->ctrl = v & NX2_CTRL_ENABLE;
            if (n->ctrl && !n->started_once)
                nx2_first_enable(n);
            if (n->ctrl)
                nx2_link_restarts(n);
            return;
        case NX2_REG_LINK:
            if ((v & NX2_LINK_RENEGOTIATE) && !n->link_up && !n->negotiating) {
                uint64_t now = nx2_now(n);
                uint64_t at =
                    (n->partner_back_ns > now ? n->partner_back_ns : now) + NX2_NEGOTIATE_NS;
                n->negotiating = true;
                (void)kdpc_device_schedule(n->dev, at - now, nx2_link_up_event, NULL,
                                           KDPC_EVENT_BACKGROUND, NULL);
            }
            return;
        default:
            break;
        }
    }
    n->c.bad_accesses++;
}

kdpc_status nx2_plug(kdpc_machine *m, const nx2_params *p, nx2 **out)
{
    kdpc_device_desc desc;
    kdpc_status st;
    nx2 *n;

    *out = NULL;
    if (p->queues == 0 || p->queues > NX2_QUEUES || p->cpus == 0 ||
        (p->gen_max_len != 0 && (p->gen_max_len < NXF_MIN || p->gen_max_len > NX2_MAX_FRAME)))
        return KDPC_EINVAL;
    n = calloc(1, sizeof *n);
    if (n == NULL)
        return KDPC_ENOMEM;
    n->m = m;
    n->p = *p;
    if (n->p.gen_max_len == 0)
        n->p.gen_max_len = NXF_MIN;
    n->link_up = true;
    n->rng = (kdpc_machine_seed(m) + 1) * 0x9E3779B97F4A7C15ull | 1;
    kdpc_device_desc_init(&desc);
    desc.name = "nx2";
    desc.driver = "nic";
    desc.ctx = n;
    desc.windows[0] = (kdpc_range_desc){0, NX2_WINDOW, nx2_read, nx2_write};
    desc.nwindows = 1;
    for (unsigned i = 0; i < p->queues; i++) {
        desc.lines[i].line = 8 + i;
        desc.lines[i].level = false; /* a message: one edge per signal */
        desc.lines[i].irql = 6;
        desc.lines[i].affinity = 1ull << (i % p->cpus);
    }
    desc.nlines = p->queues;
    desc.dma = true;
    st = kdpc_device_plug(m, &desc, &n->dev);
    if (st != KDPC_OK) {
        free(n);
        return st;
    }
    *out = n;
    return KDPC_OK;
}

kdpc_device *nx2_device(const nx2 *n)
{
    return n->dev;
}

const nx2_counters *nx2_get_counters(const nx2 *n)
{
    return &n->c;
}

void nx2_free(nx2 *n)
{
    free(n);
}
