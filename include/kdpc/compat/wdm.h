/* SPDX-License-Identifier: MIT */
/* <wdm.h> for driver code built against kdpc: the WDM surface of <kdpc/wdm.h>. */
#include <kdpc/wdm.h>
