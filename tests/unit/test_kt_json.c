/* SPDX-License-Identifier: MIT */
/*
 * test_kt_json.c - the strict JSON parser the export tests rely on
 * (tests/support/kt_json.h): what it accepts, and that it rejects what
 * RFC 8259 does not allow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kt_json.h"

static kt_json *parse(const char *s)
{
    char err[128];
    return kt_json_parse(s, strlen(s), err, sizeof err);
}

static void test_accepts(void **state)
{
    (void)state;
    kt_json *v =
        parse(" {\"a\":[1,-2.5e3,0.125,true,false,null],\"s\":\"x\\\"\\\\\\/\\b\\f\\n\\r\\t"
              "\\u00e9\\ud83d\\ude00\xc3\xa9\",\"o\":{}} ");
    assert_non_null(v);
    const kt_json *a = kt_json_get(v, "a");
    assert_int_equal(kt_json_len(a), 6);
    assert_true(kt_json_at(a, 0)->number == 1.0);
    assert_true(kt_json_at(a, 1)->number == -2500.0);
    assert_true(kt_json_at(a, 2)->number == 0.125);
    assert_int_equal(kt_json_at(a, 3)->type, KT_JSON_TRUE);
    assert_int_equal(kt_json_at(a, 4)->type, KT_JSON_FALSE);
    assert_int_equal(kt_json_at(a, 5)->type, KT_JSON_NULL);
    assert_string_equal(kt_json_str(v, "s"), "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9");
    assert_int_equal(kt_json_get(v, "o")->type, KT_JSON_OBJECT);
    assert_null(kt_json_get(v, "missing"));
    kt_json_free(v);
}

static void test_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        "1e",
        "-",
        "+1",
        ".5",
        "\"\\x\"",
        "\"a\nb\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\u12\"",
        "tru",
        "nul",
        "[1] x",
        "{a:1}",
        "{\"a\" 1}",
        "[1 2]",
        "'a'",
        "\"abc",
        "NaN",
        "\"\xff\"",
        "\"\xc3\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128];
        kt_json *v = kt_json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        if (v != NULL)
            fail_msg("accepted %s", bad[i]);
        assert_true(err[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
