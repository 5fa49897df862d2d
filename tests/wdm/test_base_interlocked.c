/* SPDX-License-Identifier: MIT */
/*
 * test_base_interlocked - the Interlocked routines of every width, their _Interlocked*
 * intrinsic names, the Acquire/Release/NoFence forms, the bit tests and bit scans: each returns
 * what Microsoft documents (the previous value for Exchange/And/Or/Xor/ExchangeAdd, the new one
 * for Increment/Decrement/Add, the initial one for CompareExchange, the old bit for BitTest*).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static void test_32_bit_forms_and_intrinsics(void **state)
{
    (void)state;
    LONG volatile v = 5;
    assert_int_equal(_InterlockedIncrement(&v), 6);
    assert_int_equal(_InterlockedDecrement(&v), 5);
    assert_int_equal(_InterlockedExchange(&v, 9), 5);
    assert_int_equal(_InterlockedExchangeAdd(&v, 3), 9);
    assert_int_equal(v, 12);
    assert_int_equal(_InterlockedCompareExchange(&v, 1, 11), 12); /* no match: unchanged */
    assert_int_equal(v, 12);
    assert_int_equal(_InterlockedCompareExchange(&v, 1, 12), 12);
    assert_int_equal(v, 1);
    assert_int_equal(_InterlockedOr(&v, 6), 1);
    assert_int_equal(_InterlockedAnd(&v, 5), 7);
    assert_int_equal(_InterlockedXor(&v, 0xF), 5);
    assert_int_equal(v, 10);
    assert_int_equal(InterlockedAdd(&v, -4), 6);
    assert_int_equal(InterlockedIncrementAcquire(&v), 7);
    assert_int_equal(InterlockedDecrementRelease(&v), 6);
    assert_int_equal(InterlockedCompareExchangeNoFence(&v, 2, 6), 6);
    assert_int_equal(InterlockedOrRelease(&v, 1), 2);
    assert_int_equal(v, 3);
}

static void test_8_and_16_bit_forms(void **state)
{
    (void)state;
    SHORT volatile s = 0x7ffe;
    assert_int_equal(_InterlockedIncrement16(&s), 0x7fff);
    assert_int_equal(_InterlockedDecrement16(&s), 0x7ffe);
    assert_int_equal(_InterlockedExchange16(&s, 0x0101), 0x7ffe);
    assert_int_equal(_InterlockedCompareExchange16(&s, 3, 0x0101), 0x0101);
    assert_int_equal(_InterlockedOr16(&s, 4), 3);
    assert_int_equal(_InterlockedAnd16(&s, 6), 7);
    assert_int_equal(_InterlockedXor16(&s, 6), 6);
    assert_int_equal(s, 0);
    CHAR volatile c = 1;
    assert_int_equal(_InterlockedOr8(&c, 2), 1);
    assert_int_equal(_InterlockedAnd8(&c, 2), 3);
    assert_int_equal(_InterlockedXor8(&c, 3), 2);
    assert_int_equal(_InterlockedExchange8(&c, 9), 1);
    assert_int_equal(c, 9);
}

static void test_64_bit_and_pointer_forms(void **state)
{
    (void)state;
    LONG64 volatile q = 0x100000000LL;
    assert_true(_InterlockedIncrement64(&q) == 0x100000001LL);
    assert_true(_InterlockedDecrement64(&q) == 0x100000000LL);
    assert_true(_InterlockedExchangeAdd64(&q, 0x100000000LL) == 0x100000000LL);
    assert_true(InterlockedAdd64(&q, 1) == 0x200000001LL);
    assert_true(_InterlockedOr64(&q, 0x10) == 0x200000001LL);
    assert_true(_InterlockedAnd64(&q, 0x200000000LL) == 0x200000011LL);
    assert_true(_InterlockedXor64(&q, 0x300000000LL) == 0x200000000LL);
    assert_true(q == 0x100000000LL);
    assert_true(_InterlockedCompareExchange64(&q, 7, 0x100000000LL) == 0x100000000LL);
    assert_true(_InterlockedExchange64(&q, 8) == 7);
    int a = 0, b = 0;
    PVOID volatile p = &a;
    assert_ptr_equal(_InterlockedCompareExchangePointer(&p, &b, &b), &a); /* no match */
    assert_ptr_equal(InterlockedCompareExchangePointerAcquire(&p, &b, &a), &a);
    assert_ptr_equal(_InterlockedExchangePointer(&p, NULL), &b);
    assert_null(p);
    SIZE_T volatile z = 1;
    assert_int_equal(InterlockedIncrementSizeT(&z), 2);
    assert_int_equal(InterlockedExchangeAddSizeT(&z, 5), 2);
    assert_int_equal(InterlockedDecrementSizeT(&z), 6);
}

static void test_bit_test_and_set_reset(void **state)
{
    (void)state;
    LONG volatile bits[2] = {0, 0};
    assert_false(InterlockedBitTestAndSet(bits, 3));
    assert_true(InterlockedBitTestAndSet(bits, 3));
    assert_false(_interlockedbittestandset(bits, 33)); /* bit 1 of the second word */
    assert_int_equal(bits[0], 8);
    assert_int_equal(bits[1], 2);
    assert_true(_interlockedbittestandreset(bits, 33));
    assert_false(InterlockedBitTestAndReset(bits, 33));
    assert_false(InterlockedBitTestAndSet(bits, 31));
    assert_true(bits[0] == (LONG)0x80000008u);
    LONG64 volatile wide[2] = {0, 0};
    assert_false(_interlockedbittestandset64(wide, 70));
    assert_true(wide[1] == 0x40);
    assert_true(_interlockedbittestandreset64(wide, 70));
    assert_true(wide[1] == 0);
    LONG plain[1] = {0};
    assert_false(_bittestandset(plain, 4));
    assert_true(_bittest(plain, 4));
    assert_true(_bittestandcomplement(plain, 4));
    assert_false(_bittestandreset(plain, 4));
    assert_int_equal(plain[0], 0);
}

static void test_bit_scans(void **state)
{
    (void)state;
    ULONG index = 77;
    assert_false(_BitScanForward(&index, 0));
    assert_int_equal(index, 77); /* untouched when there is no set bit */
    assert_true(_BitScanForward(&index, 0x50));
    assert_int_equal(index, 4);
    assert_true(_BitScanReverse(&index, 0x50));
    assert_int_equal(index, 6);
    assert_true(BitScanReverse(&index, 0x80000000u));
    assert_int_equal(index, 31);
    assert_false(_BitScanReverse64(&index, 0));
    assert_true(_BitScanForward64(&index, 0x8000000000000000ULL));
    assert_int_equal(index, 63);
    assert_true(BitScanReverse64(&index, 0x100000001ULL));
    assert_int_equal(index, 32);
}

static void test_read_acquire_write_release(void **state)
{
    (void)state;
    LONG volatile l = 0;
    WriteRelease(&l, -5);
    assert_int_equal(ReadAcquire(&l), -5);
    WriteNoFence(&l, 6);
    assert_int_equal(ReadNoFence(&l), 6);
    CHAR volatile c = 0;
    WriteRelease8(&c, 3);
    assert_int_equal(ReadAcquire8(&c), 3);
    SHORT volatile s = 0;
    WriteNoFence16(&s, -2);
    assert_int_equal(ReadNoFence16(&s), -2);
    LONG64 volatile q = 0;
    WriteRelease64(&q, 0x123456789LL);
    assert_true(ReadAcquire64(&q) == 0x123456789LL);
    ULONG volatile u = 0;
    WriteULongRelease(&u, 0xfffffffeu);
    assert_true(ReadULongAcquire(&u) == 0xfffffffeu);
    ULONG64 volatile u64 = 0;
    WriteULong64NoFence(&u64, 1ULL << 63);
    assert_true(ReadULong64NoFence(&u64) == 1ULL << 63);
    UCHAR volatile uc = 0;
    WriteUCharRelease(&uc, 0xff);
    assert_int_equal(ReadUCharAcquire(&uc), 0xff);
    USHORT volatile us = 0;
    WriteUShortNoFence(&us, 0xffff);
    assert_int_equal(ReadUShortNoFence(&us), 0xffff);
    BOOLEAN volatile b = FALSE;
    WriteBooleanRelease(&b, TRUE);
    assert_true(ReadBooleanAcquire(&b));
    int x = 0;
    PVOID volatile p = NULL;
    WritePointerRelease(&p, &x);
    assert_ptr_equal(ReadPointerAcquire(&p), &x);
    WritePointerNoFence(&p, NULL);
    assert_null(ReadPointerNoFence(&p));
}

static void test_barriers_compile_and_run(void **state)
{
    (void)state;
    LONG x = 1;
    _ReadWriteBarrier();
    KeMemoryBarrierWithoutFence();
    MemoryBarrier();
    KeMemoryBarrier();
    YieldProcessor();
    assert_int_equal(x, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_32_bit_forms_and_intrinsics),
        cmocka_unit_test(test_8_and_16_bit_forms),
        cmocka_unit_test(test_64_bit_and_pointer_forms),
        cmocka_unit_test(test_bit_test_and_set_reset),
        cmocka_unit_test(test_bit_scans),
        cmocka_unit_test(test_read_acquire_write_release),
        cmocka_unit_test(test_barriers_compile_and_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
