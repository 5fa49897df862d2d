/* SPDX-License-Identifier: MIT */
/*
 * test_base_guid - GUIDs as <guiddef.h>, <initguid.h> and <wdmguid.h> give them: DEFINE_GUID
 * defines after <initguid.h> (this file), the definition is weak so that another file may define
 * the same GUID (guid/guid_other.c, linked in: one copy is kept, a GUID only declared here
 * resolves to the other file's definition), IsEqualGUID compares values, and the <wdmguid.h> values are Microsoft's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <wdm.h>
#include "guid_other.h" /* before <initguid.h>: declares GUID_KDPC_TEST_OTHER */
#include <initguid.h>
#include <wdmguid.h>
#include <wdmguid.h> /* a second time: the declarations/definitions stay valid */
#include "kdpc_test.h"

DEFINE_GUID(GUID_KDPC_TEST_A, 0x01234567, 0x89ab, 0xcdef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
            0xef);
DEFINE_GUID(GUID_KDPC_TEST_B, 0x01234567, 0x89ab, 0xcdef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
            0xee);

static void test_define_guid_after_initguid_defines_the_value(void **state)
{
    (void)state;
    assert_int_equal(sizeof(GUID), 16);
    assert_true(GUID_KDPC_TEST_A.Data1 == 0x01234567u);
    assert_int_equal(GUID_KDPC_TEST_A.Data2, 0x89ab);
    assert_int_equal(GUID_KDPC_TEST_A.Data3, 0xcdef);
    assert_int_equal(GUID_KDPC_TEST_A.Data4[0], 0x01);
    assert_int_equal(GUID_KDPC_TEST_A.Data4[7], 0xef);
    LPCGUID p = &GUID_KDPC_TEST_B;
    assert_int_equal(p->Data4[7], 0xee);
}

static void test_is_equal_guid_compares_values(void **state)
{
    (void)state;
    GUID copy = GUID_KDPC_TEST_A;
    assert_true(IsEqualGUID(&copy, &GUID_KDPC_TEST_A));
    assert_true(InlineIsEqualGUID(&copy, &GUID_KDPC_TEST_A));
    assert_false(IsEqualGUID(&GUID_KDPC_TEST_A, &GUID_KDPC_TEST_B));
    copy.Data2 ^= 1;
    assert_false(IsEqualGUID(&copy, &GUID_KDPC_TEST_A));
}

static void test_wdmguid_values(void **state)
{
    (void)state;
    /* {496B8280-6F25-11D0-BEAF-08002BE2092F} */
    static const GUID bus = {
        0x496B8280, 0x6F25, 0x11D0, {0xBE, 0xAF, 0x08, 0x00, 0x2B, 0xE2, 0x09, 0x2F}};
    assert_true(IsEqualGUID(&GUID_BUS_INTERFACE_STANDARD, &bus));
    assert_true(GUID_PCI_BUS_INTERFACE_STANDARD.Data1 == 0x496B8281u);
    assert_true(GUID_BUS_TYPE_PCI.Data1 == 0xC8EBDFB0u);
    assert_int_equal(GUID_BUS_TYPE_PCI.Data4[7], 0xE3);
    /* the PnP events are one family: {CB3A400x-46F0-11D0-B08F-00609713053F} */
    assert_true(GUID_HWPROFILE_QUERY_CHANGE.Data1 == 0xCB3A4001u);
    assert_true(GUID_DEVICE_INTERFACE_ARRIVAL.Data1 == 0xCB3A4004u);
    assert_true(GUID_DEVICE_INTERFACE_REMOVAL.Data1 == 0xCB3A4005u);
    assert_true(GUID_TARGET_DEVICE_QUERY_REMOVE.Data1 == 0xCB3A4006u);
    assert_true(GUID_TARGET_DEVICE_REMOVE_COMPLETE.Data1 == 0xCB3A4008u);
    assert_int_equal(GUID_DEVICE_INTERFACE_ARRIVAL.Data2, 0x46F0);
    assert_int_equal(GUID_DEVICE_INTERFACE_ARRIVAL.Data4[0], 0xB0);
    assert_int_equal(GUID_DEVICE_INTERFACE_ARRIVAL.Data4[7], 0x3F);
}

/* Two translation units, one program: each GUID has one address and its value. */
static void test_two_files_share_one_copy(void **state)
{
    (void)state;
    assert_ptr_equal(kt_guid_other_test_a(), &GUID_KDPC_TEST_A);
    assert_ptr_equal(kt_guid_other_bus_interface(), &GUID_BUS_INTERFACE_STANDARD);
    assert_true(GUID_KDPC_TEST_OTHER.Data1 == 0x76543210u);
    assert_int_equal(GUID_KDPC_TEST_OTHER.Data2, 0xba98);
    assert_int_equal(GUID_KDPC_TEST_OTHER.Data4[7], 0xfe);
    assert_true(kt_guid_other_test_a()->Data4[7] == 0xef);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_define_guid_after_initguid_defines_the_value),
        cmocka_unit_test(test_is_equal_guid_compares_values),
        cmocka_unit_test(test_wdmguid_values),
        cmocka_unit_test(test_two_files_share_one_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
