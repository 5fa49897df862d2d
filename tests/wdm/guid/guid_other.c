/* SPDX-License-Identifier: MIT */
/*
 * guid_other.c - the second translation unit of test_base_guid (driver code: <wdm.h> only).
 *
 * It names the <wdmguid.h> GUIDs first without <initguid.h> (declarations), then includes
 * <initguid.h> and defines them and GUID_KDPC_TEST_A a second time, as two files of one driver
 * that both include <initguid.h> do; GUID_KDPC_TEST_OTHER is defined here only. Both files
 * link into one program: the linker keeps one copy of each GUID.
 */
#include <wdm.h>
#include <wdmguid.h>

#include "guid_other.h"

const GUID *kt_guid_other_bus_interface(void)
{
    return &GUID_BUS_INTERFACE_STANDARD;
}

#include <initguid.h>
#include <wdmguid.h> /* again: now defined here too (weak), as in test_base_guid.c */

DEFINE_GUID(GUID_KDPC_TEST_A, 0x01234567, 0x89ab, 0xcdef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
            0xef);
/* Defined only in this file; guid_other.h declares it for test_base_guid.c. */
DEFINE_GUID(GUID_KDPC_TEST_OTHER, 0x76543210, 0xba98, 0xfedc, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba,
            0xdc, 0xfe);

const GUID *kt_guid_other_test_a(void)
{
    return &GUID_KDPC_TEST_A;
}
