/* SPDX-License-Identifier: MIT */
/*
 * test_mem_rules.c - the mem.* and pio.not_flushed rules of docs/rules.md
 * (G3, G12, G17; docs/facts/io.md section 7):
 *   mem.paged_touch   paged pool read or written at >= DISPATCH_LEVEL: 0xD1, P1 the address,
 *                     P2 the IRQL, P3 0 read / 1 write (io 7.4, 7.8, 7.9);
 *   mem.paged_alloc   paged pool allocated above APC_LEVEL: 0xC4 P1 0x01 (io 7.1, 7.3, 7.12);
 *   mem.paged_code    PAGED_CODE() above APC_LEVEL: 0xD1, P3 8 (execute) (io 7.6);
 *   mem.free_active   pool freed while it holds a queued DPC (0xC7 P1 1), a set timer (0xC4 P1
 *                     0x15) or a queued work item (0xE4 P1 0) (io 7.10, 7.12, 2.8);
 *   pio.not_flushed   a direct-I/O read completed with data and no KeFlushIoBuffers (G17);
 * and the pool leak report at kdpc_machine_destroy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TAG   'mTst'
#define LINE  11
#define DIRQL 8

typedef struct BLK {
    UCHAR pad[40];
    KDPC dpc;
    KTIMER timer;
    WORK_QUEUE_ITEM wi;
} BLK;

static struct {
    kdpc_machine *m;
    volatile UCHAR *pg;
    volatile UCHAR sink;
    KDPC dpc;
    KDPC timer_dpc;
    KSPIN_LOCK lock;
    PKINTERRUPT intr;
    BLK *blk;
    PVOID ptr;
    volatile LONG dpc_ran, isr_ran, work_ran, timer_ran;
    LONG reached_after;
    LONG reached_end;
    KIRQL irql;
    /* pio */
    BOOLEAN flush;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    UCHAR buf[64];
    IO_STATUS_BLOCK iosb;
    NTSTATUS call_st;
    ULONG mdl_flushed_len;
} S;

static kdpc_machine *machine(uint64_t seed)
{
    memset(&S, 0, sizeof S);
    S.m = kt_machine(1, seed);
    return S.m;
}

static uintptr_t addr_of(volatile UCHAR *p)
{
    return (uintptr_t)p;
}

static void alloc_paged(void)
{
    S.pg = ExAllocatePoolWithTag(PagedPool, 2 * PAGE_SIZE, TAG);
    if (S.pg != NULL)
        memset((PVOID)(uintptr_t)S.pg, 0, 2 * PAGE_SIZE);
}

static void free_paged_entry(void *ctx)
{
    (void)ctx;
    ExFreePoolWithTag((PVOID)(uintptr_t)S.pg, TAG);
    S.pg = NULL;
}

static void wait_flag(volatile LONG *flag)
{
    for (int i = 0; i < 1000 && !*flag; i++)
        KeStallExecutionProcessor(1);
}

/* ------------------------------------------------------------------ */
/* mem.paged_touch                                                      */

#define W_OFF 0x123 /* written by the DPC */
#define R_OFF 0x456 /* read by the DPC / ISR */

static void WriteDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    S.pg[W_OFF] = 0x5A;           /* paged pool at DISPATCH_LEVEL */
    KeStallExecutionProcessor(1); /* the next interleaving point: the bug check is here */
    S.reached_after = 1;
    S.dpc_ran = 1;
}

static void ReadDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    S.sink = S.pg[R_OFF];
    KeStallExecutionProcessor(1);
    S.reached_after = 1;
    S.dpc_ran = 1;
}

static void dpc_touch_entry(void *ctx)
{
    alloc_paged();
    if (S.pg == NULL)
        return;
    KeInitializeDpc(&S.dpc, (PKDEFERRED_ROUTINE)(uintptr_t)ctx, NULL);
    (void)KeInsertQueueDpc(&S.dpc, NULL, NULL);
    wait_flag(&S.dpc_ran);
    S.reached_end = 1;
}

static void test_dpc_writing_paged_pool_bugchecks_d1_with_address_irql_write(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1);
    KDPC_NAME(m, WriteDpc);
    kdpc_status st = kdpc_machine_run(m, dpc_touch_entry, (void *)(uintptr_t)WriteDpc);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1); /* io 7.9 */
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], addr_of(&S.pg[W_OFF])); /* P1: the address touched */
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);        /* P2: IRQL */
    assert_int_equal(bc->params[2], 1);                     /* P3: write */
    assert_true(bc->params[3] != 0);                        /* P4: the instruction */
    assert_string_equal(bc->name, "DRIVER_IRQL_NOT_LESS_OR_EQUAL");
    assert_string_equal(bc->routine, "WriteDpc");
    assert_int_equal(S.reached_after, 0);
    assert_int_equal(S.reached_end, 0);
    kdpc_machine_destroy(m);
}

static void test_dpc_reading_paged_pool_bugchecks_d1_with_read(void **state)
{
    (void)state;
    kdpc_machine *m = machine(2);
    kdpc_status st = kdpc_machine_run(m, dpc_touch_entry, (void *)(uintptr_t)ReadDpc);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], addr_of(&S.pg[R_OFF]));
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], 0); /* P3: read */
    assert_int_equal(S.reached_after, 0);
    kdpc_machine_destroy(m);
}

/* io 7.4: locked MDL pages mapped to system space may be touched at DISPATCH_LEVEL */
static PMDL mdl_over_paged(BOOLEAN lock)
{
    PMDL mdl = IoAllocateMdl((PVOID)(uintptr_t)S.pg, 64, FALSE, FALSE, NULL);
    if (mdl != NULL && lock)
        MmProbeAndLockPages(mdl, KernelMode, IoWriteAccess);
    return mdl;
}

static void locked_mdl_entry(void *ctx)
{
    BOOLEAN lock = (BOOLEAN)(uintptr_t)ctx;
    alloc_paged();
    if (S.pg == NULL)
        return;
    PMDL mdl = mdl_over_paged(lock);
    if (mdl == NULL)
        return;
    volatile UCHAR *sys = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
    S.ptr = (PVOID)(uintptr_t)sys;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    sys[3] = 0x77; /* fine when locked; 0xD1 when not */
    KeStallExecutionProcessor(1);
    KeLowerIrql(old);
    S.reached_after = 1;
    S.sink = S.pg[3]; /* the same page, seen through the pageable address at PASSIVE */
    if (lock)
        MmUnlockPages(mdl);
    IoFreeMdl(mdl);
    ExFreePoolWithTag((PVOID)(uintptr_t)S.pg, TAG);
    S.reached_end = 1;
}

static void test_locked_mdl_over_paged_pool_is_touchable_at_dispatch(void **state)
{
    (void)state;
    kdpc_machine *m = machine(3);
    assert_int_equal(kdpc_machine_run(m, locked_mdl_entry, (void *)(uintptr_t)TRUE), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    assert_int_equal(S.sink, 0x77);                      /* both addresses name the same memory */
    assert_ptr_not_equal(S.ptr, (PVOID)(uintptr_t)S.pg); /* a system-space view */
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_unlocked_mdl_over_paged_pool_still_bugchecks_d1_at_dispatch(void **state)
{
    (void)state;
    kdpc_machine *m = machine(4);
    /* mapping the unlocked MDL is mm.mdl_flags (0xC4/0xB3) first; without it, the touch */
    assert_int_equal(kdpc_rule_set(m, "mm.mdl_flags", KDPC_RULE_OFF), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, locked_mdl_entry, (void *)(uintptr_t)FALSE);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1);
    assert_int_equal(kdpc_machine_bugcheck(m)->params[0], addr_of(&S.pg[3]));
    assert_int_equal(S.reached_after, 0);
    kdpc_machine_destroy(m);
}

static BOOLEAN PagedIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    (void)Context;
    S.irql = KeGetCurrentIrql();
    S.sink = S.pg[R_OFF + 1];
    KeStallExecutionProcessor(1);
    S.reached_after = 1;
    S.isr_ran = 1;
    return TRUE;
}

static void isr_touch_entry(void *ctx)
{
    (void)ctx;
    alloc_paged();
    if (S.pg == NULL)
        return;
    if (!NT_SUCCESS(IoConnectInterrupt(&S.intr, PagedIsr, NULL, NULL, LINE, DIRQL, DIRQL, Latched,
                                       FALSE, 0x1, FALSE)))
        return;
    (void)kdpc_line_assert(S.m, LINE);
    wait_flag(&S.isr_ran);
    S.reached_end = 1;
}

static void test_isr_reading_paged_pool_bugchecks_d1_at_the_isr_irql(void **state)
{
    (void)state;
    kdpc_machine *m = machine(3);
    KDPC_NAME(m, PagedIsr);
    kdpc_status st = kdpc_machine_run(m, isr_touch_entry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(S.irql, DIRQL);
    assert_int_equal(bc->params[0], addr_of(&S.pg[R_OFF + 1]));
    assert_int_equal(bc->params[1], DIRQL); /* P2: the ISR's IRQL */
    assert_int_equal(bc->params[2], 0);
    assert_int_equal(S.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void spinlock_touch_entry(void *ctx)
{
    (void)ctx;
    alloc_paged();
    if (S.pg == NULL)
        return;
    KeInitializeSpinLock(&S.lock);
    KIRQL old;
    KeAcquireSpinLock(&S.lock, &old); /* DISPATCH_LEVEL: pageable memory is trimmed (7.8) */
    S.pg[PAGE_SIZE + 8] = 1;
    KeStallExecutionProcessor(1);
    S.reached_after = 1;
    KeReleaseSpinLock(&S.lock, old);
    S.reached_end = 1;
}

static void test_thread_holding_a_spin_lock_touching_paged_pool_bugchecks_d1(void **state)
{
    (void)state;
    kdpc_machine *m = machine(4);
    kdpc_status st = kdpc_machine_run(m, spinlock_touch_entry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], addr_of(&S.pg[PAGE_SIZE + 8]));
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(bc->params[2], 1);
    assert_int_equal(S.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void apc_touch_entry(void *ctx)
{
    (void)ctx;
    alloc_paged();
    if (S.pg == NULL)
        return;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    S.pg[10] = 7;
    KeStallExecutionProcessor(1);
    S.sink = S.pg[PAGE_SIZE + 10];
    S.irql = KeGetCurrentIrql();
    KeLowerIrql(old);
    ExFreePoolWithTag((PVOID)(uintptr_t)S.pg, TAG);
    S.reached_end = 1;
}

static void test_paged_touch_at_apc_level_is_fine(void **state)
{
    (void)state;
    kdpc_machine *m = machine(5);
    kdpc_status st = kdpc_machine_run(m, apc_touch_entry, NULL);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(S.irql, APC_LEVEL);
    assert_int_equal(S.reached_end, 1);
    KT_ASSERT_NO_VIOLATION(m, "mem.paged_touch");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static void test_paged_touch_as_warning_lets_the_run_go_on_and_the_write_land(void **state)
{
    (void)state;
    kdpc_machine *m = machine(6);
    assert_int_equal(kdpc_rule_set(m, "mem.paged_touch", KDPC_RULE_WARN), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, dpc_touch_entry, (void *)(uintptr_t)WriteDpc);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, "mem.paged_touch");
    const kdpc_violation *w = kdpc_machine_find_violation(m, "mem.paged_touch");
    assert_int_equal(w->params[0], addr_of(&S.pg[W_OFF]));
    assert_int_equal(w->params[2], 1);
    assert_int_equal(S.reached_after, 1);
    assert_int_equal(S.reached_end, 1);
    assert_int_equal(S.pg[W_OFF], 0x5A); /* the write landed (read from the host) */
    assert_int_equal(kdpc_machine_run(m, free_paged_entry, NULL), KDPC_OK);
    kdpc_machine_destroy(m);
}

static void TwiceDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    S.pg[W_OFF] = 1;
    KeStallExecutionProcessor(1); /* reported here; the arena is protected again */
    S.pg[R_OFF + PAGE_SIZE] = 2;  /* a second stray touch, on the other page */
    KeStallExecutionProcessor(1);
    S.dpc_ran = 1;
}

static void test_paged_touch_as_warning_catches_every_later_touch_too(void **state)
{
    (void)state;
    kdpc_machine *m = machine(7);
    assert_int_equal(kdpc_rule_set(m, "mem.paged_touch", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, dpc_touch_entry, (void *)(uintptr_t)TwiceDpc), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    assert_int_equal(kdpc_machine_violation_count(m), 2);
    assert_int_equal(kdpc_machine_violation(m, 0)->params[0], addr_of(&S.pg[W_OFF]));
    assert_int_equal(kdpc_machine_violation(m, 1)->params[0], addr_of(&S.pg[R_OFF + PAGE_SIZE]));
    assert_int_equal(kdpc_machine_run(m, free_paged_entry, NULL), KDPC_OK);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* mem.paged_alloc                                                      */

static void alloc_at_dispatch_entry(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    S.ptr = ExAllocatePoolWithTag(PagedPool, 64, TAG);
    S.reached_after = 1;
    KeLowerIrql(old);
}

static void test_paged_allocation_at_dispatch_bugchecks_c4_01(void **state)
{
    (void)state;
    kdpc_machine *m = machine(7);
    kdpc_status st = kdpc_machine_run(m, alloc_at_dispatch_entry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_alloc", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x01);           /* io 7.12 */
    assert_int_equal(bc->params[1], DISPATCH_LEVEL); /* 0xC4/0x01: P2 IRQL, P3 type, P4 size */
    assert_int_equal(bc->params[2], PagedPool);
    assert_int_equal(bc->params[3], 64);
    assert_int_equal(S.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void Pool2PagedDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    S.ptr = ExAllocatePool2(POOL_FLAG_PAGED, 32, TAG); /* io 7.3: DISPATCH needs NON_PAGED */
    S.reached_after = 1;
    S.dpc_ran = 1;
}

static void test_pool2_paged_allocation_in_a_dpc_bugchecks_c4_01(void **state)
{
    (void)state;
    kdpc_machine *m = machine(8);
    kdpc_status st = kdpc_machine_run(m, dpc_touch_entry, (void *)(uintptr_t)Pool2PagedDpc);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_alloc", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x01);
    assert_int_equal(bc->params[1], DISPATCH_LEVEL);
    assert_int_equal(S.reached_after, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* mem.paged_code                                                       */

static void PagedCodeDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    PAGED_CODE();
    S.reached_after = 1;
    S.dpc_ran = 1;
}

static void test_paged_code_in_a_dpc_bugchecks_c4(void **state)
{
    (void)state;
    kdpc_machine *m = machine(9);
    KDPC_NAME(m, PagedCodeDpc);
    kdpc_status st = kdpc_machine_run(m, dpc_touch_entry, (void *)(uintptr_t)PagedCodeDpc);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_code", 0xD1); /* io 7.6; Force IRQL checking's fault */
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->irql, DISPATCH_LEVEL);
    assert_string_equal(bc->routine, "PagedCodeDpc");
    assert_int_equal(S.reached_after, 0);
    kdpc_machine_destroy(m);
}

static void paged_code_low_entry(void *ctx)
{
    (void)ctx;
    PAGED_CODE(); /* PASSIVE */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    PAGED_CODE(); /* APC */
    KeLowerIrql(old);
    S.reached_end = 1;
}

static void test_paged_code_at_passive_and_apc_is_fine(void **state)
{
    (void)state;
    kdpc_machine *m = machine(10);
    assert_int_equal(kdpc_machine_run(m, paged_code_low_entry, NULL), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    KT_ASSERT_NO_VIOLATION(m, "mem.paged_code");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* mem.free_active                                                      */

static void CountDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    S.dpc_ran++;
}

static void TimerDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    S.timer_ran++;
}

static void CountWork(PVOID Parameter)
{
    (void)Parameter;
    S.work_ran++;
}

enum { FA_DPC = 1, FA_TIMER = 2, FA_WORK = 4 };

static void free_active_entry(void *ctx)
{
    int what = (int)(uintptr_t)ctx;
    S.blk = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(BLK), TAG);
    if (S.blk == NULL)
        return;
    KeInitializeDpc(&S.blk->dpc, CountDpc, NULL);
    KeInitializeTimer(&S.blk->timer);
    KeInitializeDpc(&S.timer_dpc, TimerDpc, NULL); /* outside the block */
    ExInitializeWorkItem(&S.blk->wi, CountWork, NULL);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* nothing queued can run on this CPU yet */
    if (what & FA_DPC)
        (void)KeInsertQueueDpc(&S.blk->dpc, NULL, NULL);
    if (what & FA_TIMER) {
        LARGE_INTEGER due;
        due.QuadPart = -10LL * 1000; /* 1 ms */
        (void)KeSetTimer(&S.blk->timer, due, &S.timer_dpc);
    }
    if (what & FA_WORK)
        ExQueueWorkItem(&S.blk->wi, DelayedWorkQueue);
    ExFreePoolWithTag(S.blk, TAG);
    S.reached_after = 1;
    KeLowerIrql(old);
    LARGE_INTEGER delay;
    delay.QuadPart = -10LL * 1000 * 20; /* 20 ms: the timer would have expired */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &delay);
    S.reached_end = 1;
}

static kdpc_status run_free_active(kdpc_machine *m, int what)
{
    return kdpc_machine_run(m, free_active_entry, (void *)(uintptr_t)what);
}

static void test_freeing_pool_holding_a_queued_dpc_bugchecks_c7_1(void **state)
{
    (void)state;
    kdpc_machine *m = machine(11);
    kdpc_status st = run_free_active(m, FA_DPC);
    KT_ASSERT_BUGCHECK(m, st, "mem.free_active", 0xC7); /* io 7.10 */
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 1);                                /* a DPC object */
    assert_int_equal(bc->params[1], (uint64_t)(uintptr_t)&S.blk->dpc); /* the KDPC */
    assert_int_equal(bc->params[2], (uint64_t)(uintptr_t)S.blk);       /* range start */
    assert_string_equal(bc->name, "TIMER_OR_DPC_INVALID");
    assert_int_equal(S.reached_after, 0);
    assert_int_equal(S.dpc_ran, 0);
    kdpc_machine_destroy(m);
}

static void test_freeing_pool_holding_a_set_timer_bugchecks_c4_15(void **state)
{
    (void)state;
    kdpc_machine *m = machine(12);
    kdpc_status st = run_free_active(m, FA_TIMER);
    KT_ASSERT_BUGCHECK(m, st, "mem.free_active", 0xC4); /* io 7.10, 7.12 */
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x15);
    assert_int_equal(bc->params[1], (uint64_t)(uintptr_t)&S.blk->timer);
    assert_int_equal(bc->params[2], 0);                          /* P3 pool type: nonpaged */
    assert_int_equal(bc->params[3], (uint64_t)(uintptr_t)S.blk); /* P4 the block freed */
    assert_int_equal(S.reached_after, 0);
    assert_int_equal(S.timer_ran, 0);
    kdpc_machine_destroy(m);
}

static void test_freeing_pool_holding_a_queued_work_item_bugchecks_e4_0(void **state)
{
    (void)state;
    kdpc_machine *m = machine(13);
    kdpc_status st = run_free_active(m, FA_WORK);
    KT_ASSERT_BUGCHECK(m, st, "mem.free_active", 0xE4); /* io 2.8 */
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0);
    assert_int_equal(bc->params[1], (uint64_t)(uintptr_t)&S.blk->wi); /* P2 item */
    assert_int_equal(bc->params[2], (uint64_t)(uintptr_t)S.blk);      /* P3 pool block */
    assert_int_equal(S.reached_after, 0);
    assert_int_equal(S.work_ran, 0);
    kdpc_machine_destroy(m);
}

static void test_free_active_off_takes_the_objects_out_of_their_queues(void **state)
{
    (void)state;
    kdpc_machine *m = machine(14);
    assert_int_equal(kdpc_rule_set(m, "mem.free_active", KDPC_RULE_OFF), KDPC_OK);
    kdpc_status st = run_free_active(m, FA_DPC | FA_TIMER | FA_WORK);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(S.reached_after, 1);
    assert_int_equal(S.reached_end, 1);
    assert_int_equal(S.dpc_ran, 0); /* dequeued: never ran from freed memory */
    assert_int_equal(S.timer_ran, 0);
    assert_int_equal(S.work_ran, 0);
    KT_ASSERT_NO_VIOLATION(m, "mem.free_active");
    kdpc_machine_destroy(m);
}

static void test_free_active_as_warning_records_each_object_and_goes_on(void **state)
{
    (void)state;
    kdpc_machine *m = machine(15);
    assert_int_equal(kdpc_rule_set(m, "mem.free_active", KDPC_RULE_WARN), KDPC_OK);
    kdpc_status st = run_free_active(m, FA_DPC | FA_TIMER | FA_WORK);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    size_t n = 0;
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++)
        if (strcmp(kdpc_machine_violation(m, i)->rule, "mem.free_active") == 0)
            n++;
    assert_int_equal(n, 3); /* the DPC, the timer, the work item */
    assert_int_equal(S.dpc_ran, 0);
    assert_int_equal(S.timer_ran, 0);
    assert_int_equal(S.work_ran, 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* pio.not_flushed (G17)                                                */

static NTSTATUS PioRead(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG len = sl->Parameters.Read.Length;
    PUCHAR dst = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    if (dst == NULL) {
        Irp->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    for (ULONG i = 0; i < len; i++)
        dst[i] = (UCHAR)(0xC0 + i); /* "read from the device" */
    if (S.flush)
        KeFlushIoBuffers(Irp->MdlAddress, TRUE, FALSE); /* G17 */
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = len;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS PioEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->MajorFunction[IRP_MJ_READ] = PioRead;
    NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &S.dev);
    if (NT_SUCCESS(st))
        S.dev->Flags |= DO_DIRECT_IO;
    return st;
}

static void pio_entry(void *ctx)
{
    (void)ctx;
    if (!NT_SUCCESS(kdpc_driver_load(S.m, "piorules", PioEntry, &S.drv)))
        return;
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    LARGE_INTEGER off;
    off.QuadPart = 0;
    PIRP irp =
        IoBuildSynchronousFsdRequest(IRP_MJ_READ, S.dev, S.buf, sizeof S.buf, &off, &ev, &S.iosb);
    if (irp == NULL)
        return;
    S.call_st = IoCallDriver(S.dev, irp);
    if (S.call_st == STATUS_PENDING)
        (void)KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    (void)kdpc_driver_unload(S.drv);
    S.reached_end = 1;
}

static void check_pio_data(void)
{
    assert_int_equal(S.reached_end, 1);
    assert_int_equal(S.call_st, STATUS_SUCCESS);
    assert_int_equal(S.iosb.Status, STATUS_SUCCESS);
    assert_int_equal(S.iosb.Information, sizeof S.buf);
    for (ULONG i = 0; i < sizeof S.buf; i++)
        assert_int_equal(S.buf[i], (UCHAR)(0xC0 + i));
}

static void test_direct_read_completed_without_flush_warns_pio_not_flushed(void **state)
{
    (void)state;
    kdpc_machine *m = machine(16);
    S.flush = FALSE;
    kdpc_status st = kdpc_machine_run(m, pio_entry, NULL);
    assert_int_equal(st, KDPC_OK); /* a warning: the run goes on */
    check_pio_data();
    KT_ASSERT_WARNING(m, "pio.not_flushed");
    kdpc_machine_destroy(m);
}

static void test_direct_read_flushed_before_completion_has_no_warning(void **state)
{
    (void)state;
    kdpc_machine *m = machine(17);
    S.flush = TRUE;
    kdpc_status st = kdpc_machine_run(m, pio_entry, NULL);
    assert_int_equal(st, KDPC_OK);
    check_pio_data();
    KT_ASSERT_NO_VIOLATION(m, "pio.not_flushed");
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Pool leak report                                                     */

static void leak_entry(void *ctx)
{
    bool leak = ctx != NULL;
    PVOID a = ExAllocatePoolWithTag(NonPagedPoolNx, 24, TAG);
    PVOID b = ExAllocatePoolWithTag(PagedPool, 40, TAG);
    if (!leak) {
        ExFreePoolWithTag(a, TAG);
        ExFreePoolWithTag(b, TAG);
    }
    S.reached_end = 1;
}

static char *log_of_run(bool leak, uint64_t seed)
{
    memset(&S, 0, sizeof S);
    kdpc_config cfg = kt_config(1, seed);
    FILE *log = tmpfile();
    assert_non_null(log);
    cfg.log = log;
    kdpc_machine *m = S.m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, leak_entry, leak ? (void *)1 : NULL), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    size_t c = 0;
    assert_int_equal(kdpc_pool_outstanding(m, TAG, &c, NULL), KDPC_OK);
    assert_int_equal(c, leak ? 2 : 0);
    kdpc_machine_destroy(m);
    fflush(log);
    long size = ftell(log);
    assert_true(size >= 0);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    rewind(log);
    size_t got = fread(text, 1, (size_t)size, log);
    assert_int_equal(got, (size_t)size);
    fclose(log);
    return text;
}

static void test_machine_destroyed_with_a_live_allocation_prints_pool_leak(void **state)
{
    (void)state;
    char *text = log_of_run(true, 18);
    assert_non_null(strstr(text, "KDPC POOL LEAK"));
    free(text);
}

static void test_machine_destroyed_with_everything_freed_prints_no_leak(void **state)
{
    (void)state;
    char *text = log_of_run(false, 19);
    assert_null(strstr(text, "KDPC POOL LEAK"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpc_writing_paged_pool_bugchecks_d1_with_address_irql_write),
        cmocka_unit_test(test_dpc_reading_paged_pool_bugchecks_d1_with_read),
        cmocka_unit_test(test_locked_mdl_over_paged_pool_is_touchable_at_dispatch),
        cmocka_unit_test(test_unlocked_mdl_over_paged_pool_still_bugchecks_d1_at_dispatch),
        cmocka_unit_test(test_isr_reading_paged_pool_bugchecks_d1_at_the_isr_irql),
        cmocka_unit_test(test_thread_holding_a_spin_lock_touching_paged_pool_bugchecks_d1),
        cmocka_unit_test(test_paged_touch_at_apc_level_is_fine),
        cmocka_unit_test(test_paged_touch_as_warning_lets_the_run_go_on_and_the_write_land),
        cmocka_unit_test(test_paged_touch_as_warning_catches_every_later_touch_too),
        cmocka_unit_test(test_paged_allocation_at_dispatch_bugchecks_c4_01),
        cmocka_unit_test(test_pool2_paged_allocation_in_a_dpc_bugchecks_c4_01),
        cmocka_unit_test(test_paged_code_in_a_dpc_bugchecks_c4),
        cmocka_unit_test(test_paged_code_at_passive_and_apc_is_fine),
        cmocka_unit_test(test_freeing_pool_holding_a_queued_dpc_bugchecks_c7_1),
        cmocka_unit_test(test_freeing_pool_holding_a_set_timer_bugchecks_c4_15),
        cmocka_unit_test(test_freeing_pool_holding_a_queued_work_item_bugchecks_e4_0),
        cmocka_unit_test(test_free_active_off_takes_the_objects_out_of_their_queues),
        cmocka_unit_test(test_free_active_as_warning_records_each_object_and_goes_on),
        cmocka_unit_test(test_direct_read_completed_without_flush_warns_pio_not_flushed),
        cmocka_unit_test(test_direct_read_flushed_before_completion_has_no_warning),
        cmocka_unit_test(test_machine_destroyed_with_a_live_allocation_prints_pool_leak),
        cmocka_unit_test(test_machine_destroyed_with_everything_freed_prints_no_leak),
    };
    return cmocka_run_group_tests_name("mem_rules", tests, NULL, NULL);
}
