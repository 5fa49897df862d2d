/* SPDX-License-Identifier: MIT */
/*
 * test_rtl_dbgprint.c - DbgPrint, DbgPrintEx, vDbgPrintEx,
 * vDbgPrintExWithPrefix, KdPrint and KdPrintEx: the text that reaches the
 * machine's log, the Windows format codes (%wZ, %Z, %ws, %S, %C, I64, 'l'
 * as 32 bits, %p), the 512-byte limit, and rtl.irql for a Unicode code
 * above PASSIVE_LEVEL (docs/facts/rtl.md section 6).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static FILE *log_file;
static char text[2048];

static kdpc_machine *machine(void)
{
    kdpc_config cfg = kt_config(1, 11);
    log_file = tmpfile();
    assert_non_null(log_file);
    cfg.log = log_file;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* The log's text so far, into text[]. */
static const char *logged(void)
{
    fflush(log_file);
    rewind(log_file);
    size_t n = fread(text, 1, sizeof(text) - 1, log_file);
    text[n] = '\0';
    return text;
}

static void done(kdpc_machine *m)
{
    kdpc_machine_destroy(m);
    fclose(log_file);
}

static ULONG vex(PCSTR fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ULONG r = vDbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, fmt, ap);
    va_end(ap);
    return r;
}

static ULONG vexp(PCSTR prefix, PCSTR fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ULONG r = vDbgPrintExWithPrefix(prefix, DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, fmt, ap);
    va_end(ap);
    return r;
}

static ULONG rets[8];

static void formats_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\Serial0");
    ANSI_STRING an = RTL_CONSTANT_STRING("ansi");
    ULONG u32 = 0xFFFFFFFFu;
    LONGLONG big = -5000000000LL;
    rets[0] = DbgPrint("a:%wZ|%Z|%ws|%S|%C|%wc|%hs|%s\n", &name, &an, L"wide", L"W2", (int)L'c',
                       (int)L'd', "hs", "s");
    rets[1] = DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "b:%lx %lu %ld %I64d %I64X\n",
                         u32, u32, (LONG)-1, big, (ULONGLONG)0xABCDEF0123ull);
    rets[2] = DbgPrint("c:[%5d][%-4d][%05d][%x][%#x][%+d][%.3d][%%]\n", 42, 7, -42, 255, 255, 3, 5);
    rets[3] = DbgPrint("d:%p\n", (void *)(uintptr_t)0x1234);
    rets[4] = vex("e:%s=%u\n", "v", 9u);
    rets[5] = vexp("drv: ", "f:%c%c\n", 'o', 'k');
    KdPrint(("g:%d\n", 1));
    KdPrintEx((DPFLTR_IHVDRIVER_ID, DPFLTR_TRACE_LEVEL, "h:%.2wZ|%6.3s|\n", &name, "abcdef"));
    UNICODE_STRING null_buf = {0, 0, NULL};
    rets[6] = DbgPrint("i:%wZ %Z %s\n", &null_buf, (PANSI_STRING)NULL, (char *)NULL);
}

static void test_formats_reach_the_log(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, formats_body, m), KDPC_OK);
    const char *t = logged();
    assert_non_null(strstr(t, "a:\\Device\\Serial0|ansi|wide|W2|c|d|hs|s\n"));
    assert_non_null(strstr(t, "b:ffffffff 4294967295 -1 -5000000000 ABCDEF0123\n"));
    assert_non_null(strstr(t, "c:[   42][7   ][-0042][ff][0xff][+3][005][%]\n"));
    assert_non_null(strstr(t, "d:0000000000001234\n"));
    assert_non_null(strstr(t, "e:v=9\n"));
    assert_non_null(strstr(t, "drv: f:ok\n"));
    assert_non_null(strstr(t, "g:1\n"));
    assert_non_null(strstr(t, "h:\\D|   abc|\n"));
    assert_non_null(strstr(t, "i:(null) (null) (null)\n"));
    for (int i = 0; i < 7; i++)
        assert_int_equal(rets[i], STATUS_SUCCESS);
    KT_ASSERT_NO_VIOLATION(m, "rtl.irql");
    done(m);
}

static void long_body(void *ctx)
{
    (void)ctx;
    char big[1200];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    DbgPrint("%s", big);
}

static void test_one_message_is_at_most_512_bytes(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_machine_run(m, long_body, m), KDPC_OK);
    assert_int_equal(strlen(logged()), 511);
    done(m);
}

/* Unicode codes above PASSIVE_LEVEL: the broken driver prints %wZ under a spin lock, the fixed
 * twin prints an ANSI copy there (and %wZ at PASSIVE_LEVEL). */
static void unicode_dispatch_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"kdpc");
    KSPIN_LOCK lock;
    KIRQL old;
    KeInitializeSpinLock(&lock);
    KeAcquireSpinLock(&lock, &old);
    DbgPrint("%wZ\n", &name);
    KeReleaseSpinLock(&lock, old);
}
static void ansi_dispatch_body(void *ctx)
{
    (void)ctx;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"kdpc");
    DbgPrint("%wZ\n", &name);
    KSPIN_LOCK lock;
    KIRQL old;
    KeInitializeSpinLock(&lock);
    KeAcquireSpinLock(&lock, &old);
    DbgPrint("%s %d\n", "kdpc", 1);
    KeReleaseSpinLock(&lock, old);
}

static void test_unicode_code_above_passive_is_rtl_irql(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    kdpc_status st = kdpc_machine_run(m, unicode_dispatch_body, m);
    KT_ASSERT_BUGCHECK(m, st, "rtl.irql", 0xC4);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[1], DISPATCH_LEVEL);
    done(m);

    m = machine();
    assert_int_equal(kdpc_machine_run(m, ansi_dispatch_body, m), KDPC_OK);
    KT_ASSERT_NO_VIOLATION(m, "rtl.irql");
    assert_non_null(strstr(logged(), "kdpc\nkdpc 1\n"));
    done(m);
}

static void test_unicode_code_as_a_warning_still_prints(void **state)
{
    (void)state;
    kdpc_machine *m = machine();
    assert_int_equal(kdpc_rule_set(m, "rtl.irql", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, unicode_dispatch_body, m), KDPC_OK);
    KT_ASSERT_WARNING(m, "rtl.irql");
    assert_non_null(strstr(logged(), "kdpc\n"));
    done(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_reach_the_log),
        cmocka_unit_test(test_one_message_is_at_most_512_bytes),
        cmocka_unit_test(test_unicode_code_above_passive_is_rtl_irql),
        cmocka_unit_test(test_unicode_code_as_a_warning_still_prints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
