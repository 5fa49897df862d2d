/* SPDX-License-Identifier: MIT */
/*
 * test_base_devioctl - <devioctl.h>: CTL_CODE packs (device type, access, function, method)
 * into bits 16-31, 14-15, 2-13 and 0-1, the field macros take them apart, and the device types
 * and access/method values are Microsoft's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <devioctl.h>
#include "kdpc_test.h"

#define IOCTL_KDPC_TEST_READ                                                                       \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_READ_ACCESS | FILE_WRITE_ACCESS)
#define IOCTL_KDPC_TEST_VENDOR CTL_CODE(0x8001, 0xFFF, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_KDPC_TEST_DATA   CTL_CODE(FILE_DEVICE_SERIAL_PORT, 1, METHOD_OUT_DIRECT, FILE_READ_DATA)

static void test_ctl_code_layout(void **state)
{
    (void)state;
    assert_true(IOCTL_KDPC_TEST_READ == 0x0022E000u);
    assert_true(IOCTL_KDPC_TEST_VENDOR == 0x80013FFFu);
    assert_true(IOCTL_KDPC_TEST_DATA == 0x001B4006u);
    assert_int_equal(DEVICE_TYPE_FROM_CTL_CODE(IOCTL_KDPC_TEST_READ), FILE_DEVICE_UNKNOWN);
    assert_int_equal(DEVICE_TYPE_FROM_CTL_CODE(IOCTL_KDPC_TEST_VENDOR), 0x8001);
    assert_int_equal(METHOD_FROM_CTL_CODE(IOCTL_KDPC_TEST_READ), METHOD_BUFFERED);
    assert_int_equal(METHOD_FROM_CTL_CODE(IOCTL_KDPC_TEST_VENDOR), METHOD_NEITHER);
    assert_int_equal(METHOD_FROM_CTL_CODE(IOCTL_KDPC_TEST_DATA), METHOD_OUT_DIRECT);
}

static void test_methods_and_access(void **state)
{
    (void)state;
    assert_int_equal(METHOD_BUFFERED, 0);
    assert_int_equal(METHOD_IN_DIRECT, 1);
    assert_int_equal(METHOD_OUT_DIRECT, 2);
    assert_int_equal(METHOD_NEITHER, 3);
    assert_int_equal(METHOD_DIRECT_TO_HARDWARE, METHOD_IN_DIRECT);
    assert_int_equal(METHOD_DIRECT_FROM_HARDWARE, METHOD_OUT_DIRECT);
    assert_int_equal(FILE_ANY_ACCESS, 0);
    assert_int_equal(FILE_SPECIAL_ACCESS, FILE_ANY_ACCESS);
    assert_int_equal(FILE_READ_ACCESS, 1);
    assert_int_equal(FILE_WRITE_ACCESS, 2);
    assert_int_equal(FILE_READ_DATA, FILE_READ_ACCESS);
    assert_int_equal(FILE_WRITE_DATA, FILE_WRITE_ACCESS);
}

static void test_device_types(void **state)
{
    (void)state;
    DEVICE_TYPE t = FILE_DEVICE_UNKNOWN;
    assert_int_equal(t, 0x22);
    assert_int_equal(FILE_DEVICE_BEEP, 0x01);
    assert_int_equal(FILE_DEVICE_DISK, 0x07);
    assert_int_equal(FILE_DEVICE_KEYBOARD, 0x0b);
    assert_int_equal(FILE_DEVICE_NETWORK, 0x12);
    assert_int_equal(FILE_DEVICE_PARALLEL_PORT, 0x16);
    assert_int_equal(FILE_DEVICE_SERIAL_PORT, 0x1b);
    assert_int_equal(FILE_DEVICE_8042_PORT, 0x27);
    assert_int_equal(FILE_DEVICE_BUS_EXTENDER, 0x2a);
    assert_int_equal(FILE_DEVICE_MODEM, 0x2b);
    assert_int_equal(FILE_DEVICE_ACPI, 0x32);
    assert_int_equal(FILE_DEVICE_SERENUM, 0x37);
    assert_int_equal(FILE_DEVICE_INFINIBAND, 0x3b);
    assert_int_equal(FILE_DEVICE_VMBUS, 0x3e);
    assert_int_equal(FILE_DEVICE_BLUETOOTH, 0x41);
    assert_int_equal(FILE_DEVICE_CONSOLE, 0x50);
    assert_int_equal(FILE_DEVICE_UCM, 0x57);
    assert_int_equal(FILE_DEVICE_PERSISTENT_MEMORY, 0x59);
    assert_int_equal(FILE_DEVICE_HOLOGRAPHIC, 0x5b);
    assert_int_equal(FILE_DEVICE_UCMUCSI, 0x5d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_code_layout),
        cmocka_unit_test(test_methods_and_access),
        cmocka_unit_test(test_device_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
