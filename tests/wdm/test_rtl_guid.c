/* SPDX-License-Identifier: MIT */
/*
 * test_rtl_guid.c - RtlStringFromGUID / RtlGUIDFromString: the registry
 * text form of a GUID, its pool buffer, and the strings that are refused
 * (docs/facts/rtl.md section 8).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static const GUID G = {
    0x4D36E978, 0xE325, 0x11CE, {0xBF, 0xC1, 0x08, 0x00, 0x2B, 0xE1, 0x03, 0x18}};

static struct {
    NTSTATUS st[8];
    WCHAR text[40];
    USHORT len, max;
    GUID back;
    size_t before, after;
} R;

static void body(void *ctx)
{
    kdpc_machine *m = ctx;
    (void)kdpc_pool_outstanding(m, 0, &R.before, NULL);
    UNICODE_STRING s;
    R.st[0] = RtlStringFromGUID(&G, &s);
    if (NT_SUCCESS(R.st[0])) {
        R.len = s.Length;
        R.max = s.MaximumLength;
        memcpy(R.text, s.Buffer, s.MaximumLength);
        R.st[1] = RtlGUIDFromString(&s, &R.back);
        RtlFreeUnicodeString(&s);
    }
    UNICODE_STRING lower = RTL_CONSTANT_STRING(L"{4d36e978-e325-11ce-bfc1-08002be10318}");
    GUID g2;
    R.st[2] = RtlGUIDFromString(&lower, &g2);
    R.st[3] = IsEqualGUID(&g2, &G) ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
    UNICODE_STRING no_braces = RTL_CONSTANT_STRING(L"4d36e978-e325-11ce-bfc1-08002be10318");
    UNICODE_STRING bad_digit = RTL_CONSTANT_STRING(L"{4d36e978-e325-11ce-bfc1-08002be1031g}");
    UNICODE_STRING bad_dash = RTL_CONSTANT_STRING(L"{4d36e978-e325-11ce+bfc1-08002be10318}");
    R.st[4] = RtlGUIDFromString(&no_braces, &g2);
    R.st[5] = RtlGUIDFromString(&bad_digit, &g2);
    R.st[6] = RtlGUIDFromString(&bad_dash, &g2);
    (void)kdpc_pool_outstanding(m, 0, &R.after, NULL);
}

static void test_guid_text_round_trip(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    kdpc_machine *m = kt_machine(1, 13);
    assert_int_equal(kdpc_machine_run(m, body, m), KDPC_OK);
    assert_int_equal(R.st[0], STATUS_SUCCESS);
    assert_int_equal(R.len, 38 * sizeof(WCHAR));
    assert_int_equal(R.max, 39 * sizeof(WCHAR));
    assert_memory_equal(R.text, L"{4D36E978-E325-11CE-BFC1-08002BE10318}", 39 * sizeof(WCHAR));
    assert_int_equal(R.st[1], STATUS_SUCCESS);
    assert_true(IsEqualGUID(&R.back, &G));
    assert_int_equal(R.st[2], STATUS_SUCCESS);
    assert_int_equal(R.st[3], STATUS_SUCCESS);
    for (int i = 4; i <= 6; i++)
        assert_int_equal(R.st[i], STATUS_INVALID_PARAMETER);
    assert_int_equal(R.after, R.before);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guid_text_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
