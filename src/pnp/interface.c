/* SPDX-License-Identifier: MIT */
/*
 * interface.c - device interfaces (IoRegisterDeviceInterface,
 * IoSetDeviceInterfaceState): not yet implemented; the per-machine list is
 * freed here.
 */
#include "pnp/pnp.h"

void kdpc__pnp_ifaces_free(kdpc__pnp *p)
{
    (void)p;
}
