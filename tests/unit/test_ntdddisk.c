/* SPDX-License-Identifier: MIT */
/*
 * test_ntdddisk.c - the values and layouts of <ntdddisk.h> (kdpc/wdm/disk.h,
 * docs/facts/io.md section 11): control codes as Windows' numbers,
 * MEDIA_TYPE values, structure sizes and offsets of the x64 layout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ntdddisk.h>

static void test_control_codes(void **state)
{
    (void)state;
    assert_int_equal(IOCTL_DISK_BASE, FILE_DEVICE_DISK);
    assert_int_equal(IOCTL_DISK_BASE, 7);
    assert_int_equal(IOCTL_DISK_GET_DRIVE_GEOMETRY, 0x00070000);
    assert_int_equal(IOCTL_DISK_VERIFY, 0x00070014);
    assert_int_equal(IOCTL_DISK_GET_LENGTH_INFO, 0x0007405C); /* FILE_READ_ACCESS */
    assert_int_equal(IOCTL_DISK_GET_DRIVE_GEOMETRY_EX, 0x000700A0);
    assert_int_equal(IOCTL_DISK_CHECK_VERIFY, 0x00074800);
    assert_int_equal(DEVICE_TYPE_FROM_CTL_CODE(IOCTL_DISK_GET_LENGTH_INFO), FILE_DEVICE_DISK);
    assert_int_equal(METHOD_FROM_CTL_CODE(IOCTL_DISK_GET_DRIVE_GEOMETRY), METHOD_BUFFERED);
    switch ((ULONG)IOCTL_DISK_GET_LENGTH_INFO) { /* usable as switch labels */
    case IOCTL_DISK_GET_DRIVE_GEOMETRY:
        fail();
        break;
    case IOCTL_DISK_GET_LENGTH_INFO:
        break;
    default:
        fail();
    }
}

static void test_media_types(void **state)
{
    (void)state;
    assert_int_equal(Unknown, 0);
    assert_int_equal(F5_1Pt2_512, 1);
    assert_int_equal(F3_1Pt44_512, 2);
    assert_int_equal(F5_160_512, 10);
    assert_int_equal(RemovableMedia, 11);
    assert_int_equal(FixedMedia, 12);
    assert_int_equal(F3_120M_512, 13);
    assert_int_equal(F8_256_128, 22);
    assert_int_equal(F3_32M_512, 25);
    assert_int_equal(sizeof(MEDIA_TYPE), 4);
}

static void test_layouts(void **state)
{
    (void)state;
    assert_int_equal(sizeof(DISK_GEOMETRY), 24);
    assert_int_equal(offsetof(DISK_GEOMETRY, Cylinders), 0);
    assert_int_equal(offsetof(DISK_GEOMETRY, MediaType), 8);
    assert_int_equal(offsetof(DISK_GEOMETRY, TracksPerCylinder), 12);
    assert_int_equal(offsetof(DISK_GEOMETRY, SectorsPerTrack), 16);
    assert_int_equal(offsetof(DISK_GEOMETRY, BytesPerSector), 20);
    assert_int_equal(sizeof(GET_LENGTH_INFORMATION), 8);
    assert_int_equal(offsetof(DISK_GEOMETRY_EX, DiskSize), 24);
    assert_int_equal(offsetof(DISK_GEOMETRY_EX, Data), 32);
    assert_int_equal(sizeof(VERIFY_INFORMATION), 16);
    assert_int_equal(offsetof(VERIFY_INFORMATION, Length), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_codes),
        cmocka_unit_test(test_media_types),
        cmocka_unit_test(test_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
