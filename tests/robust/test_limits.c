/* SPDX-License-Identifier: MIT */
/*
 * test_limits.c - no fixed limit breaks silently, and bookkeeping ends with
 * what it describes (issue 7, "No fixed process-wide limits that break
 * silently"):
 *   - many short runs of one machine: heap flat after warm-up, and the second
 *     half of the runs takes no more than twice the first half (ratios within
 *     one process, not a timed test). KDPC_LIMITS_RUNS=n sets the number of
 *     runs (default 10000, 4000 under a sanitizer); the numbers are printed;
 *   - 1000 system threads created and finished one after another in one run:
 *     heap flat;
 *   - spin locks in freed pool and on the stacks of ended threads are
 *     forgotten: heap flat over thousands of distinct lock addresses;
 *   - any number of watched shared regions (300 here), all usable;
 *   - kdpc_shared_bind_interrupt with a pointer that is no region start or a
 *     garbage interrupt pointer returns KDPC_EINVAL and crashes nothing.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "kdpc_test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KT_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KT_SANITIZER 1
#endif
#endif

#if defined(KT_SANITIZER)
/* the sanitizer runtime's count of live heap bytes (<sanitizer/allocator_interface.h>, which
 * gcc does not install) */
size_t __sanitizer_get_current_allocated_bytes(void);
#define KT_HEAP_KNOWN 1
static size_t heap_bytes(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define KT_HEAP_KNOWN 1
static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
#else
#define KT_HEAP_KNOWN 0
static size_t heap_bytes(void)
{
    return 0; /* unknown here: the memory checks are skipped */
}
#endif

#define TAG 'tmiL'

/* Heap growth allowed after warm-up: a few rehashes of a map, never per run or thread. */
#define HEAP_SLACK ((size_t)64 << 10)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long grew(size_t before, size_t after)
{
    return after >= before ? (long)(after - before) : -(long)(before - after);
}

/* ------------------------------------------------------------------ */
/* Many short runs                                                      */

static void empty_entry(void *ctx)
{
    (void)ctx;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static double median5(const double *v)
{
    double s[5];
    memcpy(s, v, sizeof s);
    qsort(s, 5, sizeof s[0], cmp_double);
    return s[2];
}

/* The runs after warm-up in 10 chunks: the median chunk of the second half against the median
 * chunk of the first (medians, so a burst of load on a shared host does not decide). */
static void test_many_short_runs_keep_the_heap_flat_and_time_linear(void **state)
{
    (void)state;
#if defined(KT_SANITIZER)
    long runs = 4000;
#else
    long runs = 10000;
#endif
    const char *env = getenv("KDPC_LIMITS_RUNS");
    if (env != NULL && atol(env) >= 100)
        runs = atol(env);
    long warm = runs / 10;
    long chunk = (runs - warm) / 10;
    kdpc_machine *m = kt_machine(1, 1);
    for (long i = 0; i < warm; i++)
        assert_int_equal(kdpc_machine_run(m, empty_entry, NULL), KDPC_OK);
    size_t h0 = heap_bytes();
    double took[10];
    double t0 = now_s();
    for (int k = 0; k < 10; k++) {
        double s0 = now_s();
        for (long i = 0; i < chunk; i++)
            assert_int_equal(kdpc_machine_run(m, empty_entry, NULL), KDPC_OK);
        took[k] = now_s() - s0;
    }
    double total = now_s() - t0;
    size_t h1 = heap_bytes();
    double first = median5(&took[0]), second = median5(&took[5]);
    print_message("%ld runs after %ld of warm-up: %.3f s, %.2f us/run; median chunk of %ld runs "
                  "%.3f s in the first half, %.3f s in the second (ratio %.2f); heap %+ld B "
                  "(%.4f B/run)\n",
                  10 * chunk, warm, total, total * 1e6 / (double)(10 * chunk), chunk, first, second,
                  second / (first > 0 ? first : 1e-9), grew(h0, h1),
                  (double)grew(h0, h1) / (double)(10 * chunk));
    if (KT_HEAP_KNOWN)
        assert_true(grew(h0, h1) < (long)HEAP_SLACK);
    assert_true(second <= 2.0 * first + 0.01);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Many threads in one run                                             */

static struct {
    size_t heap_at[2];
    ULONG done;
    ULONG failed;
    PUCHAR regions[300];
    int bind_results[8];
    PKINTERRUPT intr;
    kdpc_machine *m;
} S;

static void short_thread(PVOID ctx)
{
    ULONG i = (ULONG)(uintptr_t)ctx;
    InterlockedIncrement((volatile LONG *)&S.done);
    if (i % 3 == 0)
        PsTerminateSystemThread(STATUS_SUCCESS);
}

static void thousand_threads(void *ctx)
{
    (void)ctx;
    for (ULONG i = 0; i < 1000; i++) {
        if (i == 100)
            S.heap_at[0] = heap_bytes();
        HANDLE h;
        NTSTATUS st =
            PsCreateSystemThread(&h, 0, NULL, NULL, NULL, short_thread, (PVOID)(uintptr_t)i);
        if (!NT_SUCCESS(st)) {
            S.failed++;
            continue;
        }
        if (i % 2 == 0) { /* waited on through a reference, the handle closed first */
            PVOID obj = NULL;
            if (!NT_SUCCESS(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &obj, NULL)))
                S.failed++;
            ZwClose(h);
            KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, NULL);
            ObDereferenceObject(obj);
        } else { /* waited on while the handle is open, closed after the end */
            PVOID obj = NULL;
            if (!NT_SUCCESS(ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode,
                                                      &obj, NULL)))
                S.failed++;
            KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, NULL);
            ZwClose(h);
            ObDereferenceObject(obj);
        }
    }
    S.heap_at[1] = heap_bytes();
}

static void test_a_thousand_threads_in_one_run_keep_the_heap_flat(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    kdpc_machine *m = kt_machine(2, 2);
    assert_int_equal(kdpc_machine_run(m, thousand_threads, NULL), KDPC_OK);
    size_t after = heap_bytes();
    assert_int_equal(S.failed, 0);
    assert_int_equal(S.done, 1000);
    /* Inside the run the host side joins finished host threads as it gets the CPU, so the heap
     * there depends on the host's scheduling; once the run is over every one is joined. */
    print_message("1000 threads in one run: heap %+ld B from thread 100 to thread 1000, %+ld B "
                  "from thread 100 to the end of the run\n",
                  grew(S.heap_at[0], S.heap_at[1]), grew(S.heap_at[0], after));
    if (KT_HEAP_KNOWN)
        assert_true(grew(S.heap_at[0], after) < (long)HEAP_SLACK);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Spin locks whose memory goes away                                   */

#define NBLOCKS 200

static void locks_in_pool(void *ctx)
{
    ULONG round = (ULONG)(uintptr_t)ctx;
    /* a pad first, so each round's blocks lie at addresses no round used before */
    PVOID pad = ExAllocatePoolWithTag(PagedPool, (SIZE_T)NBLOCKS * 32u * (round + 1u), TAG);
    static PKSPIN_LOCK blocks[NBLOCKS];
    for (ULONG i = 0; i < NBLOCKS; i++) {
        blocks[i] = ExAllocatePoolWithTag(PagedPool, sizeof(KSPIN_LOCK) * 3, TAG);
        if (blocks[i] == NULL) {
            S.failed++;
            continue;
        }
        KeInitializeSpinLock(blocks[i]);
        KIRQL old;
        KeAcquireSpinLock(blocks[i], &old);
        KeReleaseSpinLock(blocks[i], old);
    }
    for (ULONG i = 0; i < NBLOCKS; i++)
        ExFreePool(blocks[i]);
    ExFreePool(pad);
}

static void test_spin_locks_in_freed_pool_are_forgotten(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    kdpc_machine *m = kt_machine(1, 3);
    /* paged pool, for its first-fit arena (every round's blocks at new addresses); a spin lock
     * there is touched at DISPATCH_LEVEL, which is beside the point here */
    assert_int_equal(kdpc_rule_set(m, "mem.paged_touch", KDPC_RULE_OFF), KDPC_OK);
    assert_int_equal(kdpc_rule_set(m, "mem.paged_object", KDPC_RULE_OFF), KDPC_OK);
    for (ULONG r = 0; r < 8; r++) /* warm-up: the maps reach their size */
        assert_int_equal(kdpc_machine_run(m, locks_in_pool, (void *)(uintptr_t)r), KDPC_OK);
    size_t h0 = heap_bytes();
    for (ULONG r = 8; r < 20; r++)
        assert_int_equal(kdpc_machine_run(m, locks_in_pool, (void *)(uintptr_t)r), KDPC_OK);
    size_t h1 = heap_bytes();
    assert_int_equal(S.failed, 0);
    print_message("%u distinct pool lock addresses: heap %+ld B\n", 12u * NBLOCKS, grew(h0, h1));
    if (KT_HEAP_KNOWN)
        assert_true(grew(h0, h1) < (long)HEAP_SLACK);
    kdpc_machine_destroy(m);
}

/* A spin lock @depth frames down the entry's stack: a new address every run. */
static __attribute__((noinline)) ULONG lock_at_depth(ULONG depth)
{
    volatile UCHAR frame[48];
    frame[0] = (UCHAR)depth;
    if (depth > 0)
        return lock_at_depth(depth - 1) + frame[0];
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    KIRQL old;
    KeAcquireSpinLock(&lock, &old);
    KeReleaseSpinLock(&lock, old);
    return frame[0];
}

static void stack_lock_entry(void *ctx)
{
    (void)lock_at_depth((ULONG)(uintptr_t)ctx);
}

static void test_spin_locks_on_the_stack_of_an_ended_thread_are_forgotten(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 4);
    for (ULONG d = 0; d < 100; d++)
        assert_int_equal(kdpc_machine_run(m, stack_lock_entry, (void *)(uintptr_t)d), KDPC_OK);
    size_t h0 = heap_bytes();
    for (ULONG d = 100; d < 2000; d++)
        assert_int_equal(kdpc_machine_run(m, stack_lock_entry, (void *)(uintptr_t)d), KDPC_OK);
    size_t h1 = heap_bytes();
    print_message("1900 distinct stack lock addresses: heap %+ld B\n", grew(h0, h1));
    if (KT_HEAP_KNOWN)
        assert_true(grew(h0, h1) < (long)HEAP_SLACK);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Shared regions                                                      */

#define NREGIONS 300

static void touch_regions(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < NREGIONS; i++) {
        S.regions[i][0] = (UCHAR)(i + 1);
        S.regions[i][4095] = (UCHAR)(i + 2);
    }
}

static void test_three_hundred_shared_regions_are_all_watched_and_usable(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    kdpc_machine *m = kt_machine(2, 5);
    for (int i = 0; i < NREGIONS; i++) {
        S.regions[i] = kdpc_shared_alloc(m, 4096);
        assert_non_null(S.regions[i]);
        for (int k = 0; k < i; k++)
            assert_ptr_not_equal(S.regions[k], S.regions[i]);
    }
    assert_int_equal(kdpc_machine_run(m, touch_regions, NULL), KDPC_OK);
    for (int i = 0; i < NREGIONS; i++) {
        assert_int_equal(S.regions[i][0], (UCHAR)(i + 1));
        assert_int_equal(S.regions[i][4095], (UCHAR)(i + 2));
    }
    kdpc_machine_destroy(m);
}

static BOOLEAN quiet_isr(PKINTERRUPT i, PVOID ctx)
{
    (void)i;
    (void)ctx;
    return FALSE;
}

static void bind_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = S.m;
    PUCHAR p = S.regions[0];
    UCHAR garbage[sizeof(void *) * 32];
    memset(garbage, 0xCC, sizeof garbage);
    int dummy = 0;
    if (!NT_SUCCESS(IoConnectInterrupt(&S.intr, quiet_isr, NULL, NULL, 5, 5, 5, Latched, FALSE, 0x1,
                                       FALSE)))
        return;
    S.bind_results[0] = (int)kdpc_shared_bind_interrupt(m, p, garbage);
    S.bind_results[1] = (int)kdpc_shared_bind_interrupt(m, p, &dummy);
    S.bind_results[2] = (int)kdpc_shared_bind_interrupt(m, p, (const void *)(uintptr_t)0x10);
    S.bind_results[3] = (int)kdpc_shared_bind_interrupt(m, p + 1, S.intr);
    S.bind_results[4] = (int)kdpc_shared_bind_interrupt(m, garbage, S.intr);
    S.bind_results[5] = (int)kdpc_shared_bind_interrupt(m, p, S.intr);
    IoDisconnectInterrupt(S.intr);
    S.bind_results[6] = (int)kdpc_shared_bind_interrupt(m, p, S.intr); /* no longer connected */
    S.bind_results[7] = 1;
}

static void test_bind_interrupt_with_garbage_returns_einval(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    kdpc_machine *m = kt_machine(1, 6);
    S.m = m;
    S.regions[0] = kdpc_shared_alloc(m, 64);
    assert_non_null(S.regions[0]);
    /* from the host, before any interrupt exists */
    UCHAR garbage[64];
    memset(garbage, 0xCC, sizeof garbage);
    assert_int_equal(kdpc_shared_bind_interrupt(m, S.regions[0], garbage), KDPC_EINVAL);
    assert_int_equal(kdpc_shared_bind_interrupt(m, S.regions[0], NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_machine_run(m, bind_entry, NULL), KDPC_OK);
    assert_int_equal(S.bind_results[7], 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(S.bind_results[i], KDPC_EINVAL);
    assert_int_equal(S.bind_results[5], KDPC_OK);
    assert_int_equal(S.bind_results[6], KDPC_EINVAL);
    kdpc_machine_destroy(m);
}

static void test_shared_alloc_failures_set_errno(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 7);
    errno = 0;
    assert_null(kdpc_shared_alloc(m, 0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(kdpc_shared_alloc(NULL, 64));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(kdpc_shared_alloc(m, ((size_t)1 << 30) + 1));
    assert_int_equal(errno, EINVAL);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_short_runs_keep_the_heap_flat_and_time_linear),
        cmocka_unit_test(test_a_thousand_threads_in_one_run_keep_the_heap_flat),
        cmocka_unit_test(test_spin_locks_in_freed_pool_are_forgotten),
        cmocka_unit_test(test_spin_locks_on_the_stack_of_an_ended_thread_are_forgotten),
        cmocka_unit_test(test_three_hundred_shared_regions_are_all_watched_and_usable),
        cmocka_unit_test(test_bind_interrupt_with_garbage_returns_einval),
        cmocka_unit_test(test_shared_alloc_failures_set_errno),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
