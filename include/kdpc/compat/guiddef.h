/* SPDX-License-Identifier: MIT */
/* <guiddef.h> for driver code built against kdpc: GUID, DEFINE_GUID, IsEqualGUID. */
#include <kdpc/wdm/guid.h>
