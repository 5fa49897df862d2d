/* SPDX-License-Identifier: MIT */
/* <basetsd.h> for driver code built against kdpc: sized integer types, pointer conversions. */
#include <kdpc/wdm/types.h>
