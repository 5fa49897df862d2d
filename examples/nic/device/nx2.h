/* SPDX-License-Identifier: MIT */
/*
 * nx2.h - the virtual NX-2 (driver/nx2hw.h documents its registers) with a
 * loopback link partner: every frame sent on queue q comes back on queue q's
 * receive ring; the partner also sends traffic of its own (a trickle, bursts
 * at line rate, or both) and can pull the cable for a while.
 *
 * Timing (virtual): a transmit batch is fetched 1 us after the doorbell and
 * occupies the wire 8 ns per byte + 100 ns per frame (about 1 Gb/s); the
 * partner's bursts arrive NX2_BURST_SPACING_NS apart, delivered in chunks of
 * NX2_CHUNK frames (one device event each). One queue message per batch or
 * chunk, not per frame.
 * Faults (kdpc_device_set_fault): every transfer of frame data may fail or
 * come up short (a transmit frame not fetched: NX2_DESC_ERR, not sent; a
 * received frame not written whole: NX2_DESC_ERR); descriptors move in one
 * bus transaction each and never fail; queue messages may be lost, late or
 * spurious; and, drawn at the transfer-error rate, a received frame arrives
 * with a bad frame check sequence (NX2_DESC_CRC, one byte flipped).
 */
#ifndef NX2_H
#define NX2_H

#include <stdbool.h>
#include <stdint.h>

#include <kdpc/device.h>

#define NX2_BURST_SPACING_NS 100u
#define NX2_CHUNK            64u

typedef struct nx2_params {
    unsigned queues;           /* queue pairs and lines, 1..4 */
    unsigned cpus;             /* the machine's CPUs: queue q's line goes to CPU q % cpus */
    uint64_t gen_for_ns;       /* the partner sends its own traffic this long after the first
                                   enable (0: none) */
    uint64_t gen_gap_ns;       /* trickle: mean gap between its frames, per queue (0: none) */
    unsigned burst_frames;     /* bursts: frames per burst, per queue (0: none); they arrive
                                   beside the trickle, if any */
    uint64_t burst_period_ns;  /* a burst every this long, per queue */
    uint64_t burst_at_ns;      /* queue 0's first burst this long after the first enable (0:
                                   200 us) */
    uint64_t burst_stagger_ns; /* queue q's first burst q times this after queue 0's (0: 50 us) */
    unsigned gen_max_len;      /* its frames are 64..gen_max_len bytes */
    uint64_t link_down_at_ns;  /* the cable is pulled this long after the first enable (0: never) */
    uint64_t link_down_ns;     /* and plugged back this much later */
} nx2_params;

typedef struct nx2_counters {
    uint64_t tx_frames, tx_errors; /* sent; not fetched (NX2_DESC_ERR) */
    uint64_t generated;            /* frames the partner sent of its own */
    uint64_t delivered;            /* receive descriptors completed (good, CRC or ERR) */
    uint64_t delivered_crc, delivered_err;
    uint64_t missed;    /* no free descriptor (RX_MISSED) */
    uint64_t wire_lost; /* arrived while the link was down or the device disabled */
    uint64_t desc_lost; /* lost to a failed descriptor read/write */
    uint64_t link_downs, link_ups, messages, bad_accesses;
} nx2_counters;

typedef struct nx2 nx2;

/* Allocates the model and plugs it into @m as "nx2" for the driver "nic". From simulated
 * code at PASSIVE_LEVEL (the PnP start happens when the driver is loaded). */
kdpc_status nx2_plug(kdpc_machine *m, const nx2_params *p, nx2 **out);
kdpc_device *nx2_device(const nx2 *n);
const nx2_counters *nx2_get_counters(const nx2 *n);
const uint8_t *nx2_mac(void);
/* Frees the model (after the run; the kdpc device goes with the machine). */
void nx2_free(nx2 *n);

#endif /* NX2_H */
