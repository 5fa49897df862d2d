/* SPDX-License-Identifier: MIT */
/*
 * kdpc/kdpc.h - the native API of kdpc: machines, runs, interrupt lines,
 * virtual devices,
 * the verifier's reports and the event trace. Driver code uses
 * <kdpc/wdm.h> instead; test and simulation code uses both.
 *
 * Three error channels never mix: native calls return kdpc_status; WDM
 * routines keep the WDK contract; a driver bug is a bug check that ends the
 * run (kdpc_machine_run returns KDPC_BUGCHECK).
 */
#ifndef KDPC_KDPC_H
#define KDPC_KDPC_H

#include <kdpc/export.h>
#include <kdpc/version.h>
#include <kdpc/status.h>
#include <kdpc/machine.h>
#include <kdpc/device.h>
#include <kdpc/verifier.h>
#include <kdpc/trace.h>
#include <kdpc/stats.h>
#include <kdpc/report.h>
#include <kdpc/registry.h>

#endif /* KDPC_KDPC_H */
