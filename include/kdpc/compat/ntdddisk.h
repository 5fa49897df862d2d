/* SPDX-License-Identifier: MIT */
/* <ntdddisk.h> for driver code: disk geometry, length and verify controls (kdpc/wdm/disk.h). */
#include <kdpc/wdm/disk.h>
