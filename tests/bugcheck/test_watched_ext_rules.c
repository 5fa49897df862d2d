/* SPDX-License-Identifier: MIT */
/*
 * test_watched_ext_rules.c - sync.unlocked_shared in device extensions
 * (cfg.watch_device_extensions, off by default): a dispatch routine that
 * reads a counter its DPC updates under a spin lock, without taking the
 * lock, is reported; its fixed twin (the lock taken), an Interlocked*
 * counter, a value set in DriverEntry and then only read, a write after
 * KeFlushQueuedDpcs, and the kernel objects inside the extension (the spin
 * lock, the KDPC) are not; with the option off nothing is watched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define IOCTL_READ CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct EXT {
    KSPIN_LOCK Lock;
    KDPC Dpc;
    LONG Counter;     /* the DPC's, under Lock */
    LONG Interlocked; /* the DPC's, with InterlockedIncrement */
    LONG Seen;
    LONG Config; /* set in DriverEntry, then only read */
    LONG DpcSeen;
    union {
        struct {
            LONG A; /* never touched by the DPC */
            LONG B; /* the DPC's, under Lock */
        } s;
        LONG64 Both; /* what the wide read reads */
    } Two;
} EXT;

typedef enum mode {
    BROKEN,
    FIXED,
    INTERLOCKED,
    INIT_READ,
    RESET_AFTER_FLUSH,
    RESET_NO_FLUSH,
    WIDE_READ,      /* an 8-byte read at Two.A covers Two.B, the DPC's */
    OTHER_FLUSH,    /* BROKEN, with another driver's KeFlushQueuedDpcs between DPC and read */
    BROKEN_FLUSHED, /* BROKEN, with a flush by the test's own code after every read */
    MOVS_THEN_READ, /* one movs from this extension to another's, then BROKEN's read */
    MOVS_TO_NULL,   /* one movs from this extension to address 0: a crash after the touch */
    NARROW_OPS      /* IMUL r,m,imm and MOVSS of Two.A without a lock, Two.B under it */
} mode;

static struct {
    mode mode;
    PDEVICE_OBJECT dev, dev2;
    void *nowhere; /* NULL */
    LONG last;
} R;

static void CountDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    EXT *x = ((PDEVICE_OBJECT)Ctx)->DeviceExtension;
    if (R.mode == INIT_READ) {
        x->DpcSeen = x->Config;
        return;
    }
    if (R.mode == INTERLOCKED) {
        InterlockedIncrement(&x->Interlocked);
        return;
    }
    KeAcquireSpinLockAtDpcLevel(&x->Lock);
    x->Counter++;
    if (R.mode == WIDE_READ || R.mode == NARROW_OPS)
        x->Two.s.B++;
    KeReleaseSpinLockFromDpcLevel(&x->Lock);
}

/* One instruction that touches two watched regions: read @src, write @dst (4 bytes). */
static void movs4(void *dst, const void *src)
{
#if defined(__x86_64__)
    __asm__ volatile("movsl" : "+D"(dst), "+S"(src) : : "memory");
#else
    memcpy(dst, src, 4);
#endif
}

/* Two instructions that touch exactly the 4 bytes at @a: IMUL r, m32, imm32 (69 /r) and MOVSS
 * (F3 0F 10): the watch must not count them as touching the bytes after @a. */
static LONG narrow_ops(LONG *a)
{
#if defined(__x86_64__)
    LONG r;
    __asm__ volatile("imull $12345, %1, %0" : "=r"(r) : "m"(*a));
    __asm__ volatile("movss %0, %%xmm0" : : "m"(*a) : "xmm0");
    return r;
#else
    return *(volatile LONG *)a * 12345;
#endif
}

static NTSTATUS Dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    EXT *x = DeviceObject->DeviceExtension;
    if (IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
        if (R.mode == MOVS_TO_NULL) {
            movs4(*(void *volatile *)&R.nowhere, &x->Config); /* the bug: a NULL pointer */
        } else if (R.mode == MOVS_THEN_READ) {
            /* faults on both extensions; both must be protected again after it, so the read
             * right after it (no interleaving point between) is checked */
            movs4(&((EXT *)R.dev2->DeviceExtension)->Seen, &x->Config);
            x->Seen = x->Counter; /* the bug: no lock */
        } else if (R.mode == BROKEN || R.mode == OTHER_FLUSH || R.mode == BROKEN_FLUSHED) {
            x->Seen = x->Counter; /* the bug: no lock */
        } else if (R.mode == WIDE_READ) {
            LONG64 both = *(volatile LONG64 *)&x->Two.Both; /* the bug: Two.B without the lock */
            x->Seen = (LONG)(both >> 32);
        } else if (R.mode == INIT_READ) {
            x->Seen = x->Config;
        } else if (R.mode == NARROW_OPS) {
            LONG v = narrow_ops(&x->Two.s.A); /* A is the thread's alone: no lock needed */
            KIRQL old;
            KeAcquireSpinLock(&x->Lock, &old);
            x->Seen = x->Two.s.B + v;
            KeReleaseSpinLock(&x->Lock, old);
        } else if (R.mode != INTERLOCKED) {
            KIRQL old;
            KeAcquireSpinLock(&x->Lock, &old);
            x->Seen = x->Counter;
            KeReleaseSpinLock(&x->Lock, old);
        } else {
            x->Seen = InterlockedCompareExchange(&x->Interlocked, 0, 0);
        }
        R.last = x->Seen;
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = Dispatch;
    UNICODE_STRING n;
    RtlInitUnicodeString(&n, u"\\Device\\kdpcWatchedExt");
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(EXT), &n, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev);
    if (!NT_SUCCESS(st))
        return st;
    if (R.mode == MOVS_THEN_READ) {
        RtlInitUnicodeString(&n, u"\\Device\\kdpcWatchedExt2");
        st = IoCreateDevice(DriverObject, sizeof(EXT), &n, FILE_DEVICE_UNKNOWN, 0, FALSE, &R.dev2);
        if (!NT_SUCCESS(st))
            return st;
    }
    EXT *x = R.dev->DeviceExtension;
    KeInitializeSpinLock(&x->Lock);
    KeInitializeDpc(&x->Dpc, CountDpc, R.dev);
    x->Config = 42;
    return STATUS_SUCCESS;
}

/* Another driver: its DriverEntry flushes the DPC queues (its own barrier, not twext's). */
static NTSTATUS FlushingEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)DriverObject;
    (void)RegistryPath;
    KeFlushQueuedDpcs();
    return STATUS_SUCCESS;
}

static void body(void *ctx)
{
    kdpc_machine *m = ctx;
    PDRIVER_OBJECT drv;
    assert_int_equal(kdpc_driver_load(m, "twext", Entry, &drv), STATUS_SUCCESS);
    PFILE_OBJECT f;
    assert_int_equal(kdpc_file_open(m, "\\Device\\kdpcWatchedExt", FILE_READ_DATA, &f),
                     STATUS_SUCCESS);
    EXT *x = R.dev->DeviceExtension;
    for (int i = 0; i < 8; i++) {
        (void)KeInsertQueueDpc(&x->Dpc, NULL, NULL);
        if (R.mode == OTHER_FLUSH) {
            char name[16];
            snprintf(name, sizeof(name), "flusher%d", i);
            PDRIVER_OBJECT other;
            assert_int_equal(kdpc_driver_load(m, name, FlushingEntry, &other), STATUS_SUCCESS);
        }
        (void)kdpc_file_ioctl(f, IOCTL_READ, NULL, 0, NULL, 0, NULL);
        if (R.mode == BROKEN_FLUSHED)
            KeFlushQueuedDpcs(); /* no driver's: resets every region, never what was reported */
    }
    (void)kdpc_file_close(f);
    if (R.mode == RESET_NO_FLUSH)
        x->Counter = 0; /* the bug: a DPC may still be queued or running */
    KeFlushQueuedDpcs();
    if (R.mode == RESET_AFTER_FLUSH)
        x->Counter = 0; /* every DPC has run: no lock needed any more */
}

static kdpc_machine *run(mode md, unsigned cpus, uint64_t seed, bool watch)
{
    memset(&R, 0, sizeof(R));
    R.mode = md;
    kdpc_config cfg = kt_config(cpus, seed);
    assert_false(cfg.watch_device_extensions); /* the default: off (bench_watched_ext) */
    cfg.watch_device_extensions = watch;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, body, m), KDPC_OK);
    return m;
}

static void test_dispatch_reading_dpc_counter_without_the_lock_is_reported(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_machine *m = run(BROKEN, 1 + (unsigned)(seed % 2), seed, true);
        KT_ASSERT_WARNING(m, "sync.unlocked_shared");
        const kdpc_violation *v = kdpc_machine_find_violation(m, "sync.unlocked_shared");
        /* P1: the address, inside the extension at the counter */
        assert_int_equal(v->params[0],
                         (uint64_t)(uintptr_t) & ((EXT *)R.dev->DeviceExtension)->Counter);
        kdpc_machine_destroy(m);
    }
}

static size_t count_of(const kdpc_machine *m, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++)
        n += strcmp(kdpc_machine_violation(m, i)->rule, rule) == 0;
    return n;
}

/* every byte an access covers is checked, not only the one at the fault address */
static void test_wide_read_covering_a_dpc_field_at_another_offset_is_reported(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        kdpc_machine *m = run(WIDE_READ, 2, seed, true);
        KT_ASSERT_WARNING(m, "sync.unlocked_shared");
        const kdpc_violation *v = kdpc_machine_find_violation(m, "sync.unlocked_shared");
        assert_int_equal(v->params[0],
                         (uint64_t)(uintptr_t) & ((EXT *)R.dev->DeviceExtension)->Two.s.B);
        kdpc_machine_destroy(m);
    }
}

/* an access covers the bytes of its operand only: IMUL and MOVSS of the 4-byte field before
 * the DPC's field do not count as touches of the DPC's field */
static void test_narrow_ops_next_to_a_dpc_field_are_clean(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        kdpc_machine *m = run(NARROW_OPS, 2, seed, true);
        assert_int_equal(count_of(m, "sync.unlocked_shared"), 0);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

/* another driver's KeFlushQueuedDpcs is no barrier for twext's extension */
static void test_flush_by_another_driver_keeps_the_lock_sets(void **state)
{
    (void)state;
    kdpc_machine *m = run(OTHER_FLUSH, 2, 1, true);
    KT_ASSERT_WARNING(m, "sync.unlocked_shared");
    kdpc_machine_destroy(m);
}

/* a flush starts the lock sets over but never reports the same byte twice */
static void test_flush_never_forgets_what_was_reported(void **state)
{
    (void)state;
    kdpc_machine *m = run(BROKEN_FLUSHED, 1, 1, true);
    assert_int_equal(count_of(m, "sync.unlocked_shared"), 1);
    kdpc_machine_destroy(m);
}

/* one instruction faulting on two extensions (movs): both are protected again after its single
 * step (x86-64 Linux; elsewhere touches are sampled at interleaving points) */
static void test_movs_between_two_extensions_keeps_both_watched(void **state)
{
    (void)state;
#if defined(__x86_64__) && defined(__linux__)
    for (uint64_t seed = 1; seed <= 2; seed++) {
        kdpc_machine *m = run(MOVS_THEN_READ, 1 + (unsigned)(seed % 2), seed, true);
        KT_ASSERT_WARNING(m, "sync.unlocked_shared");
        const kdpc_violation *v = kdpc_machine_find_violation(m, "sync.unlocked_shared");
        assert_int_equal(v->params[0],
                         (uint64_t)(uintptr_t) & ((EXT *)R.dev->DeviceExtension)->Counter);
        kdpc_machine_destroy(m);
    }
#endif
}

static void trap_body(void *ctx)
{
    (void)ctx;
#if defined(__x86_64__)
    __asm__ volatile("int3");
#endif
}

/* a crash between a watched touch and its single step leaves nothing armed: a later SIGTRAP
 * (int3 in driver code) on the same host thread is a crash report, not swallowed */
static void test_crash_after_a_watched_touch_leaves_no_step_armed(void **state)
{
    (void)state;
#if defined(__x86_64__) && defined(__linux__)
    memset(&R, 0, sizeof(R));
    R.mode = MOVS_TO_NULL;
    kdpc_config cfg = kt_config(1, 1);
    cfg.watch_device_extensions = true;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_status st = kdpc_machine_run(m, body, m);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", kdpc_machine_bugcheck(m)->code);
    kdpc_machine_destroy(m); /* the extension's pages and region go */
    m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    st = kdpc_machine_run(m, trap_body, m);
    KT_ASSERT_BUGCHECK(m, st, "ke.crash", kdpc_machine_bugcheck(m)->code);
    kdpc_machine_destroy(m);
#endif
}

static void test_fixed_twin_taking_the_lock_is_clean(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_machine *m = run(FIXED, 1 + (unsigned)(seed % 2), seed, true);
        KT_ASSERT_NO_VIOLATION(m, "sync.unlocked_shared");
        assert_int_equal(R.last, 8);
        kdpc_machine_destroy(m);
    }
}

static void test_interlocked_counter_is_clean(void **state)
{
    (void)state;
    kdpc_machine *m = run(INTERLOCKED, 2, 3, true);
    KT_ASSERT_NO_VIOLATION(m, "sync.unlocked_shared");
    kdpc_machine_destroy(m);
}

static void test_value_set_once_then_only_read_is_clean(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        kdpc_machine *m = run(INIT_READ, 2, seed, true);
        KT_ASSERT_NO_VIOLATION(m, "sync.unlocked_shared");
        kdpc_machine_destroy(m);
    }
}

static void test_unlocked_write_after_flush_is_clean_and_before_it_reported(void **state)
{
    (void)state;
    kdpc_machine *m = run(RESET_AFTER_FLUSH, 2, 1, true);
    KT_ASSERT_NO_VIOLATION(m, "sync.unlocked_shared");
    kdpc_machine_destroy(m);
    m = run(RESET_NO_FLUSH, 2, 1, true);
    KT_ASSERT_WARNING(m, "sync.unlocked_shared");
    kdpc_machine_destroy(m);
}

static void halt_body(void *ctx)
{
    kdpc_machine *m = ctx;
    PDRIVER_OBJECT drv;
    assert_int_equal(kdpc_driver_load(m, "twext", Entry, &drv), STATUS_SUCCESS);
    EXT *x = R.dev->DeviceExtension;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    (void)KeInsertQueueDpc(&x->Dpc, NULL, NULL); /* still queued at the bug check */
    KeBugCheckEx(0xE2, 0, 0, 0, 0);
}

static void test_destroy_after_a_halt_with_a_dpc_queued_in_the_extension(void **state)
{
    (void)state;
    memset(&R, 0, sizeof(R));
    R.mode = FIXED;
    kdpc_config cfg = kt_config(1, 1);
    cfg.watch_device_extensions = true;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, halt_body, m), KDPC_BUGCHECK);
    kdpc_machine_destroy(m); /* frees the extension's pages without touching them afterwards */
    m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, halt_body, m), KDPC_BUGCHECK);
    assert_int_equal(kdpc_machine_reset(m, 2), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, body, m), KDPC_OK);
    kdpc_machine_destroy(m);
}

/* cfg.watch_nonpaged_pool: the same counter in a pool block the extension points at */
typedef struct POOLED {
    KSPIN_LOCK Lock;
    LONG Counter;
} POOLED;

static struct {
    POOLED *p;
    KDPC dpc;
    KEVENT ran; /* the DPC ran: its locked write comes before the next read */
    bool locked_read;
    LONG seen; /* what the thread read (kept: an optimizer may drop a read nobody uses) */
} P;

static void PoolDpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Ctx;
    (void)A1;
    (void)A2;
    KeAcquireSpinLockAtDpcLevel(&P.p->Lock);
    P.p->Counter++;
    KeReleaseSpinLockFromDpcLevel(&P.p->Lock);
    (void)KeSetEvent(&P.ran, IO_NO_INCREMENT, FALSE);
}

static void pool_body(void *ctx)
{
    (void)ctx;
    P.p = ExAllocatePoolZero(NonPagedPoolNx, sizeof(POOLED), 'tsWP');
    assert_non_null(P.p);
    KeInitializeSpinLock(&P.p->Lock);
    KeInitializeDpc(&P.dpc, PoolDpc, NULL);
    KeInitializeEvent(&P.ran, SynchronizationEvent, FALSE);
    for (int i = 0; i < 8; i++) {
        (void)KeInsertQueueDpc(&P.dpc, NULL, NULL);
        (void)KeWaitForSingleObject(&P.ran, Executive, KernelMode, FALSE, NULL);
        if (P.locked_read) {
            KIRQL old;
            KeAcquireSpinLock(&P.p->Lock, &old);
            P.seen += P.p->Counter;
            KeReleaseSpinLock(&P.p->Lock, old);
        } else {
            P.seen += P.p->Counter; /* the bug */
        }
    }
    KeFlushQueuedDpcs();
    ExFreePoolWithTag(P.p, 'tsWP');
}

static kdpc_machine *pool_run(bool locked, bool watch)
{
    memset(&P, 0, sizeof(P));
    P.locked_read = locked;
    kdpc_config cfg = kt_config(2, 1);
    assert_false(cfg.watch_nonpaged_pool); /* the default */
    cfg.watch_nonpaged_pool = watch;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, pool_body, m), KDPC_OK);
    return m;
}

static void test_nonpaged_pool_watched_on_request(void **state)
{
    (void)state;
    kdpc_machine *m = pool_run(false, true);
    KT_ASSERT_WARNING(m, "sync.unlocked_shared");
    kdpc_machine_destroy(m);
    m = pool_run(true, true);
    KT_ASSERT_NO_VIOLATION(m, "sync.unlocked_shared");
    kdpc_machine_destroy(m);
    m = pool_run(false, false);
    KT_ASSERT_NO_VIOLATION(m, "sync.unlocked_shared");
    kdpc_machine_destroy(m);
}

static void test_option_off_watches_nothing(void **state)
{
    (void)state;
    kdpc_machine *m = run(BROKEN, 2, 1, false);
    KT_ASSERT_NO_VIOLATION(m, "sync.unlocked_shared");
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_reading_dpc_counter_without_the_lock_is_reported),
        cmocka_unit_test(test_fixed_twin_taking_the_lock_is_clean),
        cmocka_unit_test(test_wide_read_covering_a_dpc_field_at_another_offset_is_reported),
        cmocka_unit_test(test_narrow_ops_next_to_a_dpc_field_are_clean),
        cmocka_unit_test(test_flush_by_another_driver_keeps_the_lock_sets),
        cmocka_unit_test(test_flush_never_forgets_what_was_reported),
        cmocka_unit_test(test_movs_between_two_extensions_keeps_both_watched),
        cmocka_unit_test(test_crash_after_a_watched_touch_leaves_no_step_armed),
        cmocka_unit_test(test_interlocked_counter_is_clean),
        cmocka_unit_test(test_value_set_once_then_only_read_is_clean),
        cmocka_unit_test(test_unlocked_write_after_flush_is_clean_and_before_it_reported),
        cmocka_unit_test(test_option_off_watches_nothing),
        cmocka_unit_test(test_nonpaged_pool_watched_on_request),
        cmocka_unit_test(test_destroy_after_a_halt_with_a_dpc_queued_in_the_extension),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
