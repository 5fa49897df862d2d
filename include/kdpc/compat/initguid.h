/* SPDX-License-Identifier: MIT */
/* <initguid.h> for driver code built against kdpc: from here on DEFINE_GUID defines the GUIDs it
 * names (weak, one copy kept at link time) instead of declaring them. */
#ifndef INITGUID
#define INITGUID
#endif
#include <kdpc/wdm/guid.h>
