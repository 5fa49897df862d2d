/* SPDX-License-Identifier: MIT */
/*
 * test_ntiologc.c - the error-log message codes of <ntiologc.h>
 * (kdpc/wdm/iologc.h, docs/facts/io.md 6.6): Windows' values, their
 * facility and severity, and their use in an IO_ERROR_LOG_PACKET.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ntddk.h>
#include <ntiologc.h>

#define FACILITY_OF(code) (((uint32_t)(code) >> 16) & 0xFFFu)
#define SEVERITY_OF(code) ((uint32_t)(code) >> 30)

static void test_values(void **state)
{
    (void)state;
    assert_int_equal((uint32_t)IO_ERR_RETRY_SUCCEEDED, 0x00040001u);
    assert_int_equal((uint32_t)IO_ERR_INSUFFICIENT_RESOURCES, 0xC0040002u);
    assert_int_equal((uint32_t)IO_ERR_DRIVER_ERROR, 0xC0040004u);
    assert_int_equal((uint32_t)IO_ERR_PARITY, 0xC0040005u);
    assert_int_equal((uint32_t)IO_ERR_SEEK_ERROR, 0xC0040006u);
    assert_int_equal((uint32_t)IO_ERR_BAD_BLOCK, 0xC0040007u);
    assert_int_equal((uint32_t)IO_ERR_OVERRUN_ERROR, 0xC0040008u);
    assert_int_equal((uint32_t)IO_ERR_TIMEOUT, 0xC0040009u);
    assert_int_equal((uint32_t)IO_ERR_CONTROLLER_ERROR, 0xC004000Bu);
    assert_int_equal((uint32_t)IO_ERR_INCORRECT_IRQL, 0xC004000Du);
    assert_int_equal((uint32_t)IO_ERR_NOT_READY, 0xC004000Fu);
    assert_int_equal((uint32_t)IO_ERR_RESET, 0xC0040013u);
    assert_int_equal((uint32_t)IO_ERR_PORT_TIMEOUT, 0xC0040075u);
    assert_int_equal((uint32_t)IO_RECOVERED_VIA_ECC, 0x80040021u);
    assert_int_equal((uint32_t)IO_WARNING_RESET, 0x80040081u);
}

static void test_shape(void **state)
{
    (void)state;
    const NTSTATUS errors[] = {IO_ERR_PARITY, IO_ERR_OVERRUN_ERROR, IO_ERR_TIMEOUT,
                               IO_ERR_CONTROLLER_ERROR, IO_ERR_PORT_RESOURCE_CONFLICT};
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        assert_int_equal(FACILITY_OF(errors[i]), FACILITY_IO_ERROR_CODE);
        assert_int_equal(SEVERITY_OF(errors[i]), STATUS_SEVERITY_ERROR);
        assert_false(NT_SUCCESS(errors[i]));
        assert_int_equal((uint32_t)errors[i] & 0x20000000u, 0); /* not a customer code */
    }
    assert_int_equal(SEVERITY_OF(IO_RECOVERED_VIA_ECC), STATUS_SEVERITY_WARNING);
    assert_int_equal(SEVERITY_OF(IO_WRN_BAD_FIRMWARE), STATUS_SEVERITY_WARNING);
    assert_true(NT_SUCCESS(IO_ERR_RETRY_SUCCEEDED));
    assert_int_equal(FACILITY_MCA_ERROR_CODE, 5);
    /* an error-log packet's ErrorCode takes one */
    IO_ERROR_LOG_PACKET p;
    p.ErrorCode = IO_ERR_TIMEOUT;
    assert_int_equal((uint32_t)p.ErrorCode, 0xC0040009u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
