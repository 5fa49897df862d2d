/* SPDX-License-Identifier: MIT */
/*
 * rng.c - xoshiro256** seeded through splitmix64: the only source of
 * randomness of the deterministic engine, so a seed replays a run.
 */
#include "sim/sim.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void kdpc__rng_seed(kdpc__rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t kdpc__rng_next(kdpc__rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t kdpc__rng_below(kdpc__rng *r, uint32_t n)
{
    /* Lemire's multiply-shift; the tiny bias for n << 2^32 does not matter here. */
    return (uint32_t)(((kdpc__rng_next(r) >> 32) * (uint64_t)n) >> 32);
}
