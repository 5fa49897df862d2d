/* SPDX-License-Identifier: MIT */
/*
 * <dontuse.h> for driver code built against kdpc. The WDK's header marks the
 * C library's unbounded string routines (strcpy, sprintf, ...) deprecated so
 * that a driver uses <ntstrsafe.h> instead. kdpc declares none of those
 * routines itself and leaves the host's declarations alone: this header adds
 * nothing (docs/driver-code.md, section 7).
 */
#include <kdpc/wdm.h>
