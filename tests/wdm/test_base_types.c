/* SPDX-License-Identifier: MIT */
/*
 * test_base_types - the base types and macros of <ntdef.h>/<basetsd.h> kdpc gives driver code
 * (kdpc/wdm/types.h): WCHAR and L"..." literals under -fshort-wchar, widths, limits,
 * ARGUMENT_PRESENT, Int32x32To64/UInt32x32To64, the pointer <-> integer conversions, the
 * build-target macros, ASSERTMSG/NT_ASSERTMSG/NT_VERIFY (bug check 0x1E with the message) and
 * the pragmas and inline forms driver code writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#undef NDEBUG /* ASSERTMSG is checked */
#include <ntdef.h>
#include <basetsd.h>
#include <guiddef.h>
#include <specstrings.h>
#include <driverspecs.h>
#include <sal.h>
#include "kdpc_test.h"

/* ------------------------------------------------------------------ */
/* WCHAR and L"..." literals                                          */

static void test_wide_literals_are_wchar_strings(void **state)
{
    (void)state;
    PCWSTR name = L"\\Device\\Kdpc";
    PWCHAR copy = (PWCHAR)L"ab";
    WCHAR ch = L'\\';
    static WCHAR buf[] = L"xyz";
    assert_int_equal(sizeof(WCHAR), 2);
    assert_int_equal(sizeof(L'a'), 2);
    assert_int_equal(sizeof(L"abc"), 4 * sizeof(WCHAR));
    assert_int_equal(name[0], ch);
    assert_int_equal(name[1], 'D');
    assert_int_equal(name[12], 0);
    assert_int_equal(copy[1], 'b');
    assert_int_equal(buf[2], 'z');
    /* non-ASCII code units keep their 16-bit value */
    PCWSTR u = L"\u00e9\u20ac";
    assert_int_equal(u[0], 0x00E9);
    assert_int_equal(u[1], 0x20AC);
}

/* ------------------------------------------------------------------ */
/* Widths and limits                                                   */

static void test_widths_are_llp64(void **state)
{
    (void)state;
    assert_int_equal(sizeof(CHAR), 1);
    assert_int_equal(sizeof(SHORT), 2);
    assert_int_equal(sizeof(LONG), 4);
    assert_int_equal(sizeof(ULONG), 4);
    assert_int_equal(sizeof(LONGLONG), 8);
    assert_int_equal(sizeof(ULONG_PTR), sizeof(void *));
    assert_int_equal(sizeof(SSIZE_T), sizeof(void *));
    assert_int_equal(sizeof(*(PCCHAR)NULL), 1);
    assert_int_equal(sizeof(INT_PTR), sizeof(void *));
    assert_int_equal(sizeof(UINT_PTR), sizeof(void *));
    assert_int_equal(sizeof(DWORD_PTR), sizeof(void *));
    assert_int_equal(sizeof(LONG32), 4);
    assert_int_equal(sizeof(ULONG32), 4);
    assert_int_equal(sizeof(DWORD64), 8);
    assert_int_equal(sizeof(HALF_PTR) * 2, sizeof(void *));
    assert_int_equal(sizeof(PVOID64), 8);
    assert_int_equal(sizeof(LUID), 8);
    CONST ULONG k = 3;
    PCULONG pk = &k;
    assert_int_equal(*pk, 3);
    LPSTR s = (LPSTR) "x";
    LPCSTR cs = "y";
    PSZ z = s;
    assert_int_equal(s[0] + cs[0] + z[0], 'x' + 'y' + 'x');
}

static void test_limits(void **state)
{
    (void)state;
    assert_int_equal(MAXUCHAR, 0xff);
    assert_int_equal(MAXUSHORT, 0xffff);
    assert_true((ULONG)MAXULONG == 0xffffffffu);
    assert_true((LONG)MAXLONG == 0x7fffffff);
    assert_true((LONG)MINLONG == INT32_MIN);
    assert_int_equal(MAXCHAR, 0x7f);
    assert_int_equal(MAXSHORT, 0x7fff);
    assert_true(MAXLONGLONG == INT64_MAX);
    assert_true(MAXULONGLONG == UINT64_MAX);
    assert_true(MAXULONG_PTR == UINTPTR_MAX);
    assert_true(MAXLONG_PTR == INTPTR_MAX);
    assert_true(MINLONG_PTR == INTPTR_MIN);
    assert_true(MAXSIZE_T == SIZE_MAX);
    assert_true(MAXSSIZE_T == INTPTR_MAX);
    assert_true(MINSSIZE_T == INTPTR_MIN);
    assert_true((ULONG)MAXDWORD == 0xffffffffu);
    assert_int_equal(MEMORY_ALLOCATION_ALIGNMENT, 16);
}

/* ------------------------------------------------------------------ */
/* Macros and conversions                                              */

static ULONG count_present(PVOID a, PVOID b)
{
    return (ULONG)(ARGUMENT_PRESENT(a) ? 1 : 0) + (ULONG)(ARGUMENT_PRESENT(b) ? 1 : 0);
}

static void test_argument_present(void **state)
{
    (void)state;
    int x = 0;
    assert_int_equal(count_present(NULL, NULL), 0);
    assert_int_equal(count_present(&x, NULL), 1);
    assert_int_equal(count_present(&x, &x), 2);
}

static void test_32x32_products_are_full_64_bit(void **state)
{
    (void)state;
    assert_true(Int32x32To64(0x7fffffff, 0x7fffffff) == 0x3fffffff00000001LL);
    assert_true(Int32x32To64(-2, 3) == -6);
    assert_true(Int32x32To64(INT32_MIN, INT32_MIN) == 0x4000000000000000LL);
    assert_true(UInt32x32To64(0xffffffffu, 0xffffffffu) == 0xfffffffe00000001ULL);
    assert_true(UInt32x32To64(0x10000u, 0x10000u) == 0x100000000ULL);
}

static void test_pointer_integer_conversions(void **state)
{
    (void)state;
    void *p = (void *)(uintptr_t)0x123456789abcdef0ULL;
    assert_true(PtrToUlong(p) == 0x9abcdef0u);
    assert_true(PtrToUint(p) == 0x9abcdef0u);
    assert_true(PtrToUshort(p) == 0xdef0u);
    assert_true(PtrToLong(p) == (LONG)0x9abcdef0u);
    assert_true(PtrToInt(p) == (INT)0x9abcdef0u);
    /* unsigned widen with zeros, signed with the sign */
    assert_true((uintptr_t)ULongToPtr(0x80000000u) == 0x80000000u);
    assert_true((uintptr_t)UlongToPtr(0xffffffffu) == 0xffffffffu);
    assert_true((intptr_t)LongToPtr(-1) == -1);
    assert_true((intptr_t)IntToPtr(-5) == -5);
    assert_true(HandleToULong(ULongToHandle(42)) == 42);
    assert_true(HandleToLong(LongToHandle(-7)) == -7);
}

typedef struct KDPC_TEST_VAR {
    ULONG Count;
    USHORT Tag;
    UCHAR Data[ANYSIZE_ARRAY];
} KDPC_TEST_VAR;
C_ASSERT(sizeof(ULONG) == 4);
C_ASSERT(ANYSIZE_ARRAY == 1);

static void test_size_and_alignment_macros(void **state)
{
    (void)state;
    C_ASSERT(RTL_SIZEOF_THROUGH_FIELD(KDPC_TEST_VAR, Tag) == 6);
    int unused_local = 0;
    DBG_UNREFERENCED_LOCAL_VARIABLE(unused_local);
    DBG_UNREFERENCED_PARAMETER(state);
    assert_int_equal(RTL_BITS_OF(ULONG), 32);
    assert_int_equal(RTL_SIZEOF_THROUGH_FIELD(KDPC_TEST_VAR, Data), 7);
    assert_int_equal(TYPE_ALIGNMENT(ULONG), 4);
    assert_int_equal(TYPE_ALIGNMENT(LONGLONG), 8);
    assert_int_equal(ALIGN_DOWN_BY(4097, 4096), 4096);
    assert_int_equal(ALIGN_UP_BY(4097, 4096), 8192);
    assert_int_equal(ALIGN_UP_BY(4096, 4096), 4096);
    assert_int_equal(ALIGN_UP(5, ULONG), 8);
    assert_int_equal(ALIGN_DOWN(7, ULONG), 4);
    char buf[64];
    char *p = &buf[13];
    assert_true(((ULONG_PTR)ALIGN_UP_POINTER_BY(p, 16) & 15u) == 0);
    assert_true((char *)ALIGN_UP_POINTER_BY(p, 16) - p < 16);
    assert_true((char *)ALIGN_DOWN_POINTER(p, ULONG) <= p);
    assert_int_equal(min(3, 5), 3);
    assert_int_equal(max(3, 5), 5);
    assert_int_equal(min(-1, 1), -1);
}

typedef DECLSPEC_ALIGN(16) struct KDPC_TEST_ALIGNED {
    ULONG Value;
} KDPC_TEST_ALIGNED;
typedef struct KDPC_TEST_MEMBER {
    UCHAR Byte;
    DECLSPEC_ALIGN(32) ULONGLONG Wide;
} KDPC_TEST_MEMBER;
typedef struct __declspec(align(64)) KDPC_TEST_DS {
    ULONG Value;
} KDPC_TEST_DS;
__declspec(selectany) ULONG kdpc_test_selectany = 7; /* weak: another file may define it too */
__declspec(noinline) static ULONG DsNoInline(ULONG x)
{
    return x + 1u;
}

static void test_declspec_forms(void **state)
{
    (void)state;
    assert_int_equal(TYPE_ALIGNMENT(KDPC_TEST_ALIGNED), 16);
    assert_int_equal(offsetof(KDPC_TEST_MEMBER, Wide), 32);
    assert_int_equal(TYPE_ALIGNMENT(KDPC_TEST_DS), 64);
    assert_int_equal(kdpc_test_selectany, 7);
    assert_int_equal(DsNoInline(1), 2);
}

static void test_build_target_macros(void **state)
{
    (void)state;
#if !defined(_WIN64)
    fail_msg("_WIN64 is not defined on a 64-bit host");
#endif
#if defined(_WIN32)
    fail_msg("_WIN32 must stay undefined (it sends code to user-mode headers)");
#endif
#if NTDDI_VERSION < NTDDI_WIN10_VB || _WIN32_WINNT < _WIN32_WINNT_WIN10
    fail_msg("the driver is not built for Windows 10 2004");
#endif
    assert_true(NTDDI_VERSION == 0x0A000008);
    assert_true(NTDDI_WIN7 == 0x06010000 && NTDDI_WIN8 == 0x06020000);
    assert_true(NTDDI_WIN10_RS5 == 0x0A000006 && NTDDI_WIN10_NI == 0x0A00000C);
}

/* ------------------------------------------------------------------ */
/* Declaration forms driver code writes                               */

/* A non-static __inline function: with the Microsoft compiler (and here, -fgnu89-inline) it has
 * an external definition, so an -O0 build links. */
__inline ULONG BaseTwice(ULONG x);
__inline ULONG BaseTwice(ULONG x)
{
    return x * 2u;
}
FORCEINLINE ULONG BaseThrice(ULONG x)
{
    return x * 3u;
}
/* What docs/driver-code.md advises for a header that two files include: static FORCEINLINE. */
static FORCEINLINE ULONG BaseThriceStatic(ULONG x)
{
    return x * 3u;
}
DECLSPEC_NOINLINE NTKERNELAPI ULONG NTAPI BaseFour(_In_ ULONG x);
_Use_decl_annotations_ DECLSPEC_NOINLINE NTKERNELAPI ULONG NTAPI BaseFour(ULONG x)
{
    NOTHING;
    return x * 4u;
}

/* Role-type declarations as drivers write them, with their annotations. */
EXTERN_C_START
_Dispatch_type_(IRP_MJ_CREATE)
    _Dispatch_type_(IRP_MJ_CLOSE) static DRIVER_DISPATCH_PAGED BaseCreateClose;
__drv_dispatchType(IRP_MJ_DEVICE_CONTROL) static DRIVER_DISPATCH_RAISED BaseDeviceControl;
EXTERN_C_END

_Use_decl_annotations_ static NTSTATUS BaseCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Irp);
    return STATUS_SUCCESS;
}
_Use_decl_annotations_ static NTSTATUS BaseDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Irp);
    return STATUS_NOT_SUPPORTED;
}

/* Unguarded MSVC pragmas must not warn under -Wall -Werror; the guarded ones vanish. */
#pragma alloc_text(PAGE, BaseFour)
#pragma code_seg("PAGE")
#pragma warning(push)
#pragma warning(disable : 4201)
#pragma warning(pop)
#pragma code_seg()
#ifdef ALLOC_PRAGMA
#error "ALLOC_PRAGMA is defined: guarded alloc_text pragmas would be compiled"
#endif
#ifdef ALLOC_DATA_PRAGMA
#error "ALLOC_DATA_PRAGMA is defined"
#endif

static int noop_evaluations;
static int count_noop(void)
{
    return ++noop_evaluations;
}

static void test_inline_forms_and_pragmas(void **state)
{
    (void)state;
    ULONG n = 1;
    /* statement-like annotations and __noop: no empty-body warning, arguments not evaluated */
    if (n == 1)
        _Analysis_assume_(count_noop() != 0);
    else
        __analysis_assume(count_noop());
    __noop(count_noop(), n);
    assert_int_equal(noop_evaluations, 0);
    ULONG (*f)(ULONG) = BaseTwice; /* the external definition exists */
    assert_int_equal(f(5), 10);
    assert_int_equal(BaseThrice(5), 15);
    assert_int_equal(BaseThriceStatic(6), 18);
    assert_int_equal(BaseFour(5), 20);
    PDRIVER_DISPATCH_PAGED paged = BaseCreateClose;
    PDRIVER_DISPATCH_RAISED raised = BaseDeviceControl;
    PDRIVER_DISPATCH plain = paged; /* the same type */
    assert_int_equal(plain(NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(raised(NULL, NULL), STATUS_NOT_SUPPORTED);
}

/* ------------------------------------------------------------------ */
/* ASSERTMSG, NT_ASSERTMSG, NT_VERIFY                                   */

static int reached_after;
static ULONG verify_evaluations;

static BOOLEAN counted_true(void)
{
    verify_evaluations++;
    return TRUE;
}

static void AssertMsgHolds(void *ctx)
{
    (void)ctx;
    ULONG v = 3;
    ASSERTMSG("v is three", v == 3);
    NT_ASSERTMSG("v is odd", (v & 1) != 0);
    if (NT_VERIFY(counted_true()) && NT_VERIFYMSG("still true", counted_true()))
        reached_after = 1;
}

static void test_assertmsg_true_is_silent(void **state)
{
    (void)state;
    reached_after = 0;
    verify_evaluations = 0;
    kdpc_machine *m = kt_machine(1, 11);
    assert_int_equal(kdpc_machine_run(m, AssertMsgHolds, NULL), KDPC_OK);
    assert_null(kdpc_machine_bugcheck(m));
    assert_int_equal(reached_after, 1);
    assert_int_equal(verify_evaluations, 2);
    kdpc_machine_destroy(m);
}

static void AssertMsgFails(void *ctx)
{
    (void)ctx;
    ULONG v = 4;
    ASSERTMSG("the count must be odd", (v & 1) != 0);
    reached_after = 1;
}

static void test_assertmsg_false_is_bugcheck_1e_with_the_message(void **state)
{
    (void)state;
    reached_after = 0;
    kdpc_machine *m = kt_machine(1, 12);
    kdpc_status st = kdpc_machine_run(m, AssertMsgFails, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0xC0000420u); /* STATUS_ASSERTION_FAILURE */
    assert_non_null(strstr(bc->message, "the count must be odd"));
    assert_non_null(strstr(bc->message, "(v & 1) != 0"));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

static void VerifyFails(void *ctx)
{
    (void)ctx;
    ULONG v = 0;
    if (!NT_VERIFYMSG("v must be set", v != 0))
        reached_after = 2;
    reached_after = 1;
}

static void test_nt_verify_false_is_the_assert_bugcheck(void **state)
{
    (void)state;
    reached_after = 0;
    kdpc_machine *m = kt_machine(1, 13);
    kdpc_status st = kdpc_machine_run(m, VerifyFails, NULL);
    KT_ASSERT_BUGCHECK(m, st, "ke.bugcheck", 0x1E);
    assert_non_null(strstr(kdpc_machine_bugcheck(m)->message, "v must be set"));
    assert_int_equal(reached_after, 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wide_literals_are_wchar_strings),
        cmocka_unit_test(test_widths_are_llp64),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_argument_present),
        cmocka_unit_test(test_32x32_products_are_full_64_bit),
        cmocka_unit_test(test_pointer_integer_conversions),
        cmocka_unit_test(test_size_and_alignment_macros),
        cmocka_unit_test(test_declspec_forms),
        cmocka_unit_test(test_build_target_macros),
        cmocka_unit_test(test_inline_forms_and_pragmas),
        cmocka_unit_test(test_assertmsg_true_is_silent),
        cmocka_unit_test(test_assertmsg_false_is_bugcheck_1e_with_the_message),
        cmocka_unit_test(test_nt_verify_false_is_the_assert_bugcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
