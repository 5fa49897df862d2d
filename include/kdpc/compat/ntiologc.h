/* SPDX-License-Identifier: MIT */
/* <ntiologc.h> for driver code: the I/O error-log message codes (kdpc/wdm/iologc.h). */
#include <kdpc/wdm/iologc.h>
