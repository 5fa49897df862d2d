/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/wdmguid.h - the system GUIDs of <wdmguid.h> a WDM driver names: the standard bus
 * interfaces it asks its PDO for (IRP_MN_QUERY_INTERFACE), the PCI bus type and the PnP
 * notification events. Values: docs/driver-code.md.
 *
 * As with <wdmguid.h> on Windows, these are declarations unless <initguid.h> was included
 * before, which makes them (weak) definitions. The guard lets a file declare them, then define
 * them (include <initguid.h> and this file again), but never define them twice. Declaring a GUID gives no routine: kdpc's PnP
 * manager answers no IRP_MN_QUERY_INTERFACE and sends no PnP notification (see wdm-absent.in).
 * Driver code includes <wdmguid.h>, never this file directly.
 */
#include <kdpc/wdm/guid.h>

#ifdef INITGUID
#ifndef KDPC_WDM_WDMGUID_DEFINED_
#define KDPC_WDM_WDMGUID_DEFINED_
#define KDPC_WDM_WDMGUID_DECLARED_
#define KDPC_WDM_WDMGUID_EMIT_
#endif
#elif !defined(KDPC_WDM_WDMGUID_DECLARED_)
#define KDPC_WDM_WDMGUID_DECLARED_
#define KDPC_WDM_WDMGUID_EMIT_
#endif

#ifdef KDPC_WDM_WDMGUID_EMIT_
#undef KDPC_WDM_WDMGUID_EMIT_

/* Standard interfaces a bus driver exports (BUS_INTERFACE_STANDARD, PCI_BUS_INTERFACE_STANDARD) */
DEFINE_GUID(GUID_BUS_INTERFACE_STANDARD, 0x496B8280L, 0x6F25, 0x11D0, 0xBE, 0xAF, 0x08, 0x00, 0x2B,
            0xE2, 0x09, 0x2F);
DEFINE_GUID(GUID_PCI_BUS_INTERFACE_STANDARD, 0x496B8281L, 0x6F25, 0x11D0, 0xBE, 0xAF, 0x08, 0x00,
            0x2B, 0xE2, 0x09, 0x2F);

/* Bus type (DevicePropertyBusTypeGuid) */
DEFINE_GUID(GUID_BUS_TYPE_PCI, 0xC8EBDFB0L, 0xB510, 0x11D0, 0x80, 0xE5, 0x00, 0xA0, 0xC9, 0x25,
            0x42, 0xE3);

/* PnP notification events (hardware profile, device interface, target device) */
DEFINE_GUID(GUID_HWPROFILE_QUERY_CHANGE, 0xCB3A4001L, 0x46F0, 0x11D0, 0xB0, 0x8F, 0x00, 0x60, 0x97,
            0x13, 0x05, 0x3F);
DEFINE_GUID(GUID_HWPROFILE_CHANGE_CANCELLED, 0xCB3A4002L, 0x46F0, 0x11D0, 0xB0, 0x8F, 0x00, 0x60,
            0x97, 0x13, 0x05, 0x3F);
DEFINE_GUID(GUID_HWPROFILE_CHANGE_COMPLETE, 0xCB3A4003L, 0x46F0, 0x11D0, 0xB0, 0x8F, 0x00, 0x60,
            0x97, 0x13, 0x05, 0x3F);
DEFINE_GUID(GUID_DEVICE_INTERFACE_ARRIVAL, 0xCB3A4004L, 0x46F0, 0x11D0, 0xB0, 0x8F, 0x00, 0x60,
            0x97, 0x13, 0x05, 0x3F);
DEFINE_GUID(GUID_DEVICE_INTERFACE_REMOVAL, 0xCB3A4005L, 0x46F0, 0x11D0, 0xB0, 0x8F, 0x00, 0x60,
            0x97, 0x13, 0x05, 0x3F);
DEFINE_GUID(GUID_TARGET_DEVICE_QUERY_REMOVE, 0xCB3A4006L, 0x46F0, 0x11D0, 0xB0, 0x8F, 0x00, 0x60,
            0x97, 0x13, 0x05, 0x3F);
DEFINE_GUID(GUID_TARGET_DEVICE_REMOVE_CANCELLED, 0xCB3A4007L, 0x46F0, 0x11D0, 0xB0, 0x8F, 0x00,
            0x60, 0x97, 0x13, 0x05, 0x3F);
DEFINE_GUID(GUID_TARGET_DEVICE_REMOVE_COMPLETE, 0xCB3A4008L, 0x46F0, 0x11D0, 0xB0, 0x8F, 0x00, 0x60,
            0x97, 0x13, 0x05, 0x3F);

#endif /* KDPC_WDM_WDMGUID_EMIT_ */
