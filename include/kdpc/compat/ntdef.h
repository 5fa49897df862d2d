/* SPDX-License-Identifier: MIT */
/* <ntdef.h> for driver code built against kdpc: the base types and macros come with <kdpc/wdm.h>. */
#include <kdpc/wdm.h>
