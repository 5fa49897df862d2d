/* SPDX-License-Identifier: MIT */
/* <ntstrsafe.h> for driver code built against kdpc: the ntstrsafe routines of kdpc/wdm/strsafe.h. */
#include <kdpc/wdm/strsafe.h>
