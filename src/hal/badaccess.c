/* SPDX-License-Identifier: MIT */
/*
 * badaccess.c - hal.bad_address: a register or port access that no mapping
 * or device owns, as the fault Windows takes for it (docs/facts/hal.md
 * section 3): 0x50 PAGE_FAULT_IN_NONPAGED_AREA below DISPATCH_LEVEL, 0xD1
 * DRIVER_IRQL_NOT_LESS_OR_EQUAL at or above it (the parameter layouts of
 * crash.c, which reports a direct dereference of the same addresses), 0xBE
 * ATTEMPTED_WRITE_TO_READONLY_MEMORY for a write through a read-only mapping.
 * Divergence: an unclaimed I/O port reads all ones on a PC; kdpc reports it.
 */
#include <inttypes.h>

#include "hal/hal.h"

void kdpc__hal_bad_access(kdpc_machine *m, uint64_t addr, bool write, bool port, bool readonly,
                          uintptr_t ip, const char *what, const char *why)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    KIRQL irql = c != NULL ? c->irql : PASSIVE_LEVEL;
    const char *kind = port ? "port" : "register address";
    if (readonly) {
        kdpc__violation(m, KDPC_R_HAL_BAD_ADDRESS, 0xBE, addr, 0, 0, 0, NULL,
                        "%s: write to %s %#" PRIx64 ": %s", what, kind, addr, why);
        return;
    }
    if (irql >= DISPATCH_LEVEL)
        kdpc__violation(m, KDPC_R_HAL_BAD_ADDRESS, 0xD1, addr, irql, write ? 1u : 0u, ip, NULL,
                        "%s: %s of %s %#" PRIx64 " at IRQL %u: %s", what, write ? "write" : "read",
                        kind, addr, (unsigned)irql, why);
    else
        kdpc__violation(m, KDPC_R_HAL_BAD_ADDRESS, 0x50, addr, write ? 2u : 0u, ip, 0, NULL,
                        "%s: %s of %s %#" PRIx64 ": %s", what, write ? "write" : "read", kind, addr,
                        why);
}
