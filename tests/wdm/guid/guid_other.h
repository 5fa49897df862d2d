/* SPDX-License-Identifier: MIT */
/* guid_other.h - what guid_other.c (test_base_guid's second translation unit) gives the test. */
#ifndef KT_GUID_OTHER_H
#define KT_GUID_OTHER_H

#include <wdm.h>

/* The address of GUID_BUS_INTERFACE_STANDARD as guid_other.c sees it (declared there). */
const GUID *kt_guid_other_bus_interface(void);
/* The address of GUID_KDPC_TEST_A as guid_other.c sees it (defined there too). */
const GUID *kt_guid_other_test_a(void);

/* Defined in guid_other.c only. */
DEFINE_GUID(GUID_KDPC_TEST_OTHER, 0x76543210, 0xba98, 0xfedc, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba,
            0xdc, 0xfe);

#endif
