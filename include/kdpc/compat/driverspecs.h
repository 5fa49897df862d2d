/* SPDX-License-Identifier: MIT */
/* <driverspecs.h> for driver code built against kdpc: the driver annotations (_IRQL_requires_max_,
 * _Dispatch_type_, __drv_*), which expand to nothing. */
#include <kdpc/wdm/sal.h>
