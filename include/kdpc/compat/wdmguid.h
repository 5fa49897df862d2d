/* SPDX-License-Identifier: MIT */
/* <wdmguid.h> for driver code built against kdpc: system GUIDs (declared; defined after
 * <initguid.h>). */
#include <kdpc/wdm/wdmguid.h>
