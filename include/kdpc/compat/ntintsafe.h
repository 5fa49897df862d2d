/* SPDX-License-Identifier: MIT */
/* <ntintsafe.h> for driver code built against kdpc: the Rtl integer-safe routines. */
#include <kdpc/wdm/intsafe.h>
