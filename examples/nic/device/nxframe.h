/* SPDX-License-Identifier: MIT */
/*
 * nxframe.h - the test frames the nic workload sends and the NX-2 link
 * partner generates: an Ethernet frame (EtherType 0x88B5, local
 * experimental) whose bytes 14-15 are the flow, 16-19 a sequence number
 * per flow, 20-21 the frame length, then a payload computed from flow,
 * sequence and position, and a 32-bit FNV-1a checksum of everything before
 * it in the last 4 bytes. A frame that passes nxf_check() is the frame that
 * was sent, whole.
 */
#ifndef NXFRAME_H
#define NXFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NXF_HEADER   22u
#define NXF_MIN      64u    /* header + some payload + checksum */
#define NXF_GEN_FLOW 0x100u /* the partner's own traffic on queue q: flow NXF_GEN_FLOW + q */

static inline uint32_t nxf_fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Builds frame @seq of @flow, @len bytes (NXF_MIN..1514), into @f. */
static inline void nxf_build(uint8_t *f, unsigned len, unsigned flow, uint32_t seq,
                             const uint8_t src[6])
{
    static const uint8_t dst[6] = {0x02, 0x4B, 0x44, 0x50, 0x43, 0x02};
    for (unsigned i = 0; i < 6; i++) {
        f[i] = dst[i];
        f[6 + i] = src[i];
    }
    f[12] = 0x88, f[13] = 0xB5;
    f[14] = (uint8_t)(flow >> 8), f[15] = (uint8_t)flow;
    f[16] = (uint8_t)(seq >> 24), f[17] = (uint8_t)(seq >> 16);
    f[18] = (uint8_t)(seq >> 8), f[19] = (uint8_t)seq;
    f[20] = (uint8_t)(len >> 8), f[21] = (uint8_t)len;
    uint8_t x = (uint8_t)(seq * 7u + flow);
    for (unsigned i = NXF_HEADER; i < len - 4; i++, x = (uint8_t)(x + 13u))
        f[i] = x;
    uint32_t h = nxf_fnv(f, len - 4);
    f[len - 4] = (uint8_t)(h >> 24), f[len - 3] = (uint8_t)(h >> 16);
    f[len - 2] = (uint8_t)(h >> 8), f[len - 1] = (uint8_t)h;
}

/* True when the @len bytes at @f are a whole test frame; its flow and sequence number. */
static inline bool nxf_check(const uint8_t *f, size_t len, unsigned *flow, uint32_t *seq)
{
    if (len < NXF_MIN || len > 1514 || f[12] != 0x88 || f[13] != 0xB5 ||
        (((size_t)f[20] << 8) | f[21]) != len)
        return false;
    uint32_t h = nxf_fnv(f, len - 4);
    if (f[len - 4] != (uint8_t)(h >> 24) || f[len - 3] != (uint8_t)(h >> 16) ||
        f[len - 2] != (uint8_t)(h >> 8) || f[len - 1] != (uint8_t)h)
        return false;
    *flow = ((unsigned)f[14] << 8) | f[15];
    *seq = ((uint32_t)f[16] << 24) | ((uint32_t)f[17] << 16) | ((uint32_t)f[18] << 8) | f[19];
    uint8_t x = (uint8_t)(*seq * 7u + *flow);
    for (size_t i = NXF_HEADER; i < len - 4; i++, x = (uint8_t)(x + 13u))
        if (f[i] != x)
            return false;
    return true;
}

#endif /* NXFRAME_H */
