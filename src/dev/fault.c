/* SPDX-License-Identifier: MIT */
/*
 * fault.c - seeded fault injection per device and per fault kind.
 *
 * Each kind of each device has its own xoshiro256** generator (sim/rng.c),
 * seeded from the machine's seed, the device's name and the kind: the same
 * seed and the same sequence of chances give the same faults, and switching
 * one kind on or off leaves the other kinds' faults where they were. A kind
 * switched off (0 per mille, the default) draws nothing.
 */
#include "dev/dev.h"

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

void kdpc__dev_faults_seed(kdpc_device *d)
{
    uint64_t h = name_hash(d->name);
    for (unsigned k = 0; k < KDPC_FAULT_KINDS; k++) {
        uint64_t s = d->m->cfg.seed ^ ((h << 17) | (h >> 47)) ^ ((k + 1u) * 0x9E3779B97F4A7C15ull);
        kdpc__rng_seed(&d->fault_rng[k], s);
    }
}

bool kdpc__dev_fault_roll(kdpc_device *d, kdpc_fault_kind kind)
{
    unsigned p = d->permille[kind];
    if (p == 0)
        return false;
    return kdpc__rng_below(&d->fault_rng[kind], 1000u) < p;
}

uint64_t kdpc__dev_fault_below(kdpc_device *d, kdpc_fault_kind kind, uint64_t n)
{
    if (n <= 1u)
        return 0;
    if (n > UINT32_MAX)
        n = UINT32_MAX;
    return kdpc__rng_below(&d->fault_rng[kind], (uint32_t)n);
}

kdpc_status kdpc_device_set_fault(kdpc_device *dev, kdpc_fault_kind kind, unsigned permille)
{
    if (dev == NULL || (unsigned)kind >= KDPC_FAULT_KINDS || permille > 1000u)
        return KDPC_EINVAL;
    kdpc_status st = kdpc__dev_api_check(dev->m);
    if (st != KDPC_OK)
        return st;
    dev->permille[kind] = permille;
    return KDPC_OK;
}

bool kdpc_device_fault_now(kdpc_device *dev, kdpc_fault_kind kind)
{
    if (dev == NULL || (unsigned)kind >= KDPC_FAULT_KINDS || kdpc__dev_api_check(dev->m) != KDPC_OK)
        return false;
    if (!kdpc__dev_fault_roll(dev, kind))
        return false;
    dev->injected[kind]++;
    return true;
}

uint64_t kdpc_device_faults_injected(const kdpc_device *dev, kdpc_fault_kind kind)
{
    if (dev == NULL || (unsigned)kind >= KDPC_FAULT_KINDS)
        return 0;
    return dev->injected[kind];
}
