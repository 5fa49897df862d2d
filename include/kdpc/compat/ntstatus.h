/* SPDX-License-Identifier: MIT */
/* <ntstatus.h> for driver code built against kdpc: every NTSTATUS value of kdpc/wdm/ntstatus.h. */
#include <kdpc/wdm/ntstatus.h>
