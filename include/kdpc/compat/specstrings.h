/* SPDX-License-Identifier: MIT */
/* <specstrings.h> for driver code built against kdpc: SAL annotations, which expand to nothing. */
#include <kdpc/wdm/sal.h>
