/* SPDX-License-Identifier: MIT */
/* <wmistr.h> for driver code: the WMI surface kdpc models (kdpc/wdm/wmi.h). */
#include <kdpc/wdm/wmi.h>
