/* SPDX-License-Identifier: MIT */
/* <wdmsec.h> for driver code: IoCreateDeviceSecure and SDDL_DEVOBJ_* (kdpc/wdm/wdmsec.h). */
#include <kdpc/wdm/wdmsec.h>
