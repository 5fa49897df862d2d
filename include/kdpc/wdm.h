/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm.h - the driver-facing WDM surface. Driver code includes this
 * (or <wdm.h> / <ntddk.h> through kdpc::wdm) and nothing else of kdpc.
 */
#ifndef KDPC_WDM_H
#define KDPC_WDM_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/sal.h>
#include <kdpc/wdm/intsafe.h>
#include <kdpc/wdm/guid.h>
#include <kdpc/wdm/seh.h>
#include <kdpc/wdm/devioctl.h>
#include <kdpc/wdm/ke.h>
#include <kdpc/wdm/io.h>
#include <kdpc/wdm/ex.h>
#include <kdpc/wdm/dispatcher.h>
#include <kdpc/wdm/ob.h>
#include <kdpc/wdm/mm.h>
#include <kdpc/wdm/timer.h>
#include <kdpc/wdm/work.h>
#include <kdpc/wdm/irp.h>
#include <kdpc/wdm/pool.h>
#include <kdpc/wdm/dma.h>
#include <kdpc/wdm/hal.h>
#include <kdpc/wdm/file.h>
#include <kdpc/wdm/power.h>
#include <kdpc/wdm/pnp.h>
#include <kdpc/wdm/registry.h>
#include <kdpc/wdm/wmi.h>
#include <kdpc/wdm/rtl.h>
#include <kdpc/wdm/strsafe.h>

#endif /* KDPC_WDM_H */
