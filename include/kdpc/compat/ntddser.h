/* SPDX-License-Identifier: MIT */
/* <ntddser.h> for driver code: serial IOCTLs, structures and flags (kdpc/wdm/serial.h). */
#include <kdpc/wdm/serial.h>
