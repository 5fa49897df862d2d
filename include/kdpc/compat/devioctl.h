/* SPDX-License-Identifier: MIT */
/* <devioctl.h> for driver code built against kdpc: device types and CTL_CODE. */
#include <kdpc/wdm/devioctl.h>
