/* SPDX-License-Identifier: MIT */
/*
 * test_interlocked_list.c - the base helpers of <kdpc/wdm/types.h> (list
 * helpers, CONTAINING_RECORD, Interlocked*, RtlCompareMemory, NT_SUCCESS)
 * and the ExInterlocked list routines of <kdpc/wdm/ex.h>: their return
 * values and their use from an ISR and threads on two CPUs.
 *
 * The types.h helpers are header-only and documented as usable outside a
 * simulated machine; their tests run on the host thread without one. The
 * ExInterlocked routines need a simulated CPU and run inside a machine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define SPIN_LIMIT 5000

static void wait_at_least(volatile LONG *v, LONG want)
{
    for (int i = 0; i < SPIN_LIMIT && *v < want; i++)
        KeStallExecutionProcessor(1);
}

typedef struct item {
    ULONG before; /* the link is not the first member: CONTAINING_RECORD must subtract */
    LIST_ENTRY link;
    SINGLE_LIST_ENTRY slink;
    ULONG source; /* 0 thread, 1 ISR */
    ULONG index;
} item;

/* Walk a doubly linked list forward and backward; FALSE when the links disagree. */
static bool list_consistent(const LIST_ENTRY *head, size_t *count)
{
    size_t n = 0;
    const LIST_ENTRY *prev = head;
    for (const LIST_ENTRY *e = head->Flink; e != head; e = e->Flink) {
        if (e->Blink != prev || n > 10000)
            return false;
        prev = e;
        n++;
    }
    if (head->Blink != prev)
        return false;
    *count = n;
    return true;
}

/* ------------------------------------------------------------------ */
/* List helpers.                                                       */

static void test_list_insert_head_tail_and_remove_keep_order(void **state)
{
    (void)state;
    LIST_ENTRY head;
    item a = {0}, b = {0}, c = {0}, d = {0};
    InitializeListHead(&head);
    assert_true(IsListEmpty(&head));
    assert_ptr_equal(head.Flink, &head);
    assert_ptr_equal(head.Blink, &head);

    InsertTailList(&head, &b.link); /* b */
    InsertHeadList(&head, &a.link); /* a b */
    InsertTailList(&head, &c.link); /* a b c */
    InsertTailList(&head, &d.link); /* a b c d */
    assert_false(IsListEmpty(&head));
    size_t n = 0;
    assert_true(list_consistent(&head, &n));
    assert_int_equal(n, 4);
    assert_ptr_equal(head.Flink, &a.link);
    assert_ptr_equal(head.Blink, &d.link);

    assert_ptr_equal(RemoveHeadList(&head), &a.link); /* b c d */
    assert_ptr_equal(RemoveTailList(&head), &d.link); /* b c */
    assert_true(list_consistent(&head, &n));
    assert_int_equal(n, 2);
    /* RemoveEntryList: TRUE iff the list is empty afterwards */
    assert_false(RemoveEntryList(&b.link)); /* c */
    assert_true(RemoveEntryList(&c.link));  /* empty */
    assert_true(IsListEmpty(&head));
    assert_true(list_consistent(&head, &n));
    assert_int_equal(n, 0);
}

static void test_append_tail_list_splices_headless_list(void **state)
{
    (void)state;
    LIST_ENTRY head;
    item a = {0}, x = {0}, y = {0}, z = {0};
    InitializeListHead(&head);
    InsertTailList(&head, &a.link);
    /* x y z as a circular list without a head, starting at x */
    InitializeListHead(&x.link);
    InsertTailList(&x.link, &y.link);
    InsertTailList(&x.link, &z.link);
    AppendTailList(&head, &x.link);
    size_t n = 0;
    assert_true(list_consistent(&head, &n));
    assert_int_equal(n, 4);
    const LIST_ENTRY *want[4] = {&a.link, &x.link, &y.link, &z.link};
    const LIST_ENTRY *e = head.Flink;
    for (int i = 0; i < 4; i++, e = e->Flink)
        assert_ptr_equal(e, want[i]);
}

static void test_single_list_push_pop_is_lifo(void **state)
{
    (void)state;
    SINGLE_LIST_ENTRY head = {NULL};
    item a = {0}, b = {0};
    assert_null(PopEntryList(&head)); /* empty -> NULL */
    PushEntryList(&head, &a.slink);
    PushEntryList(&head, &b.slink);
    assert_ptr_equal(head.Next, &b.slink);
    assert_ptr_equal(PopEntryList(&head), &b.slink);
    assert_ptr_equal(PopEntryList(&head), &a.slink);
    assert_null(PopEntryList(&head));
    assert_null(head.Next);
}

static void test_containing_record_finds_enclosing_struct(void **state)
{
    (void)state;
    item it;
    PLIST_ENTRY link = &it.link;
    PSINGLE_LIST_ENTRY slink = &it.slink;
    ULONG *idx = &it.index;
    assert_ptr_equal(CONTAINING_RECORD(link, item, link), &it);
    assert_ptr_equal(CONTAINING_RECORD(slink, item, slink), &it);
    assert_ptr_equal(CONTAINING_RECORD(idx, item, index), &it);
    assert_int_equal(FIELD_OFFSET(item, link), (LONG)offsetof(item, link));
    assert_int_equal(RTL_FIELD_SIZE(item, link), sizeof(LIST_ENTRY));
}

/* ------------------------------------------------------------------ */
/* Interlocked operations.                                             */

static void test_interlocked_operations_return_documented_values(void **state)
{
    (void)state;
    LONG volatile v = 5;
    assert_int_equal(InterlockedIncrement(&v), 6);   /* new value */
    assert_int_equal(InterlockedDecrement(&v), 5);   /* new value */
    assert_int_equal(InterlockedExchange(&v, 9), 5); /* previous */
    assert_int_equal(v, 9);
    assert_int_equal(InterlockedExchangeAdd(&v, 3), 9); /* previous */
    assert_int_equal(v, 12);
    assert_int_equal(InterlockedAdd(&v, -2), 10);                 /* new value */
    assert_int_equal(InterlockedCompareExchange(&v, 77, 10), 10); /* match: stored */
    assert_int_equal(v, 77);
    assert_int_equal(InterlockedCompareExchange(&v, 88, 10), 77); /* no match: unchanged */
    assert_int_equal(v, 77);
    v = 0x0F;
    assert_int_equal(InterlockedOr(&v, 0x30), 0x0F);
    assert_int_equal(v, 0x3F);
    assert_int_equal(InterlockedAnd(&v, 0x11), 0x3F);
    assert_int_equal(v, 0x11);
    assert_int_equal(InterlockedXor(&v, 0x01), 0x11);
    assert_int_equal(v, 0x10);
    v = 0x7FFFFFFF;
    assert_int_equal(InterlockedIncrement(&v), INT32_MIN); /* wraps like the x64 instruction */

    LONG64 volatile w = (LONG64)1 << 40;
    assert_true(InterlockedIncrement64(&w) == ((LONG64)1 << 40) + 1);
    assert_true(InterlockedDecrement64(&w) == (LONG64)1 << 40);
    assert_true(InterlockedExchange64(&w, 3) == (LONG64)1 << 40);
    assert_true(InterlockedExchangeAdd64(&w, (LONG64)1 << 33) == 3);
    assert_true(w == ((LONG64)1 << 33) + 3);
    assert_true(InterlockedCompareExchange64(&w, 1, 3) == ((LONG64)1 << 33) + 3);
    assert_true(InterlockedCompareExchange64(&w, 1, ((LONG64)1 << 33) + 3) ==
                ((LONG64)1 << 33) + 3);
    assert_true(w == 1);

    int a = 0, b = 0;
    PVOID volatile ptr = &a;
    assert_ptr_equal(InterlockedExchangePointer(&ptr, &b), &a);
    assert_ptr_equal(ptr, &b);
    assert_ptr_equal(InterlockedCompareExchangePointer(&ptr, &a, &a), &b); /* no match */
    assert_ptr_equal(ptr, &b);
    assert_ptr_equal(InterlockedCompareExchangePointer(&ptr, &a, &b), &b); /* match */
    assert_ptr_equal(ptr, &a);
}

/* ------------------------------------------------------------------ */
/* Rtl memory helpers and NTSTATUS classes.                            */

static void test_rtl_compare_memory_counts_matching_prefix(void **state)
{
    (void)state;
    const char x[] = "abcdef";
    const char y[] = "abcXef";
    const char z[] = "Xbcdef";
    assert_int_equal(RtlCompareMemory(x, y, 6), 3);
    assert_int_equal(RtlCompareMemory(x, x, 6), 6);
    assert_int_equal(RtlCompareMemory(x, y, 2), 2);
    assert_int_equal(RtlCompareMemory(x, z, 6), 0);
    assert_int_equal(RtlCompareMemory(x, y, 0), 0);
    assert_true(RtlEqualMemory(x, y, 3));
    assert_false(RtlEqualMemory(x, y, 4));

    unsigned char buf[8];
    RtlFillMemory(buf, sizeof(buf), 0xA5);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0xA5);
    RtlZeroMemory(buf, 4);
    assert_int_equal(buf[3], 0);
    assert_int_equal(buf[4], 0xA5);
    RtlCopyMemory(buf, "wxyz", 4);
    assert_int_equal(RtlCompareMemory(buf, "wxyz", 4), 4);
    RtlMoveMemory(buf + 1, buf, 4); /* overlapping */
    assert_int_equal(RtlCompareMemory(buf + 1, "wxyz", 4), 4);
}

static void test_nt_success_and_status_classes(void **state)
{
    (void)state;
    assert_true(NT_SUCCESS(STATUS_SUCCESS));
    assert_true(NT_SUCCESS(STATUS_PENDING));
    assert_true(NT_SUCCESS(STATUS_TIMEOUT));
    assert_true(NT_SUCCESS((NTSTATUS)0x40000000));    /* informational */
    assert_false(NT_SUCCESS(STATUS_BUFFER_OVERFLOW)); /* warning */
    assert_false(NT_SUCCESS(STATUS_UNSUCCESSFUL));
    assert_false(NT_SUCCESS(STATUS_INVALID_PARAMETER));
    assert_true(NT_INFORMATION((NTSTATUS)0x40000000));
    assert_false(NT_INFORMATION(STATUS_SUCCESS));
    assert_true(NT_WARNING(STATUS_BUFFER_OVERFLOW));
    assert_false(NT_WARNING(STATUS_UNSUCCESSFUL));
    assert_true(NT_ERROR(STATUS_UNSUCCESSFUL));
    assert_true(NT_ERROR(STATUS_INSUFFICIENT_RESOURCES));
    assert_false(NT_ERROR(STATUS_BUFFER_OVERFLOW));
    assert_false(NT_ERROR(STATUS_SUCCESS));
}

/* ------------------------------------------------------------------ */
/* ExInterlocked return values.                                         */

typedef struct exret_ctx {
    KSPIN_LOCK lock;
    LIST_ENTRY head;
    SINGLE_LIST_ENTRY shead;
    item a, b, c, d, s1, s2;
    PLIST_ENTRY ins_head_empty, ins_head_second, ins_tail, rem[4], ins_tail_empty;
    PSINGLE_LIST_ENTRY push_empty, push_second, pop[3];
    KIRQL irql_after[3]; /* called at PASSIVE, DISPATCH, HIGH */
    KSPIN_LOCK word_after;
    size_t final_count;
    bool final_ok;
} exret_ctx;

static void entry_exret(void *p)
{
    exret_ctx *x = p;
    KeInitializeSpinLock(&x->lock);
    InitializeListHead(&x->head);
    x->shead.Next = NULL;
    x->ins_head_empty = ExInterlockedInsertHeadList(&x->head, &x->a.link, &x->lock);  /* a */
    x->ins_head_second = ExInterlockedInsertHeadList(&x->head, &x->b.link, &x->lock); /* b a */
    x->ins_tail = ExInterlockedInsertTailList(&x->head, &x->c.link, &x->lock);        /* b a c */
    x->irql_after[0] = KeGetCurrentIrql();
    for (int i = 0; i < 4; i++)
        x->rem[i] = ExInterlockedRemoveHeadList(&x->head, &x->lock);
    x->ins_tail_empty = ExInterlockedInsertTailList(&x->head, &x->d.link, &x->lock); /* d */

    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    x->push_empty = ExInterlockedPushEntryList(&x->shead, &x->s1.slink, &x->lock);
    x->irql_after[1] = KeGetCurrentIrql();
    KIRQL at_dispatch;
    KeRaiseIrql(HIGH_LEVEL, &at_dispatch);
    x->push_second = ExInterlockedPushEntryList(&x->shead, &x->s2.slink, &x->lock);
    x->irql_after[2] = KeGetCurrentIrql();
    KeLowerIrql(at_dispatch);
    KeLowerIrql(old);
    for (int i = 0; i < 3; i++)
        x->pop[i] = ExInterlockedPopEntryList(&x->shead, &x->lock);
    x->word_after = x->lock;
    x->final_ok = list_consistent(&x->head, &x->final_count);
}

static void test_ex_interlocked_routines_return_previous_entry_or_null(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    static exret_ctx x;
    memset(&x, 0, sizeof(x));
    assert_int_equal(kdpc_machine_run(m, entry_exret, &x), KDPC_OK);
    assert_null(x.ins_head_empty);                  /* empty -> NULL */
    assert_ptr_equal(x.ins_head_second, &x.a.link); /* previous first entry */
    assert_ptr_equal(x.ins_tail, &x.a.link);        /* previous last entry */
    assert_ptr_equal(x.rem[0], &x.b.link);
    assert_ptr_equal(x.rem[1], &x.a.link);
    assert_ptr_equal(x.rem[2], &x.c.link);
    assert_null(x.rem[3]); /* empty -> NULL */
    assert_null(x.ins_tail_empty);
    assert_null(x.push_empty);
    assert_ptr_equal(x.push_second, &x.s1.slink); /* previous first entry */
    assert_ptr_equal(x.pop[0], &x.s2.slink);
    assert_ptr_equal(x.pop[1], &x.s1.slink);
    assert_null(x.pop[2]);
    /* callable at any IRQL when the lock is used only by ExInterlocked routines; IRQL kept */
    assert_int_equal(x.irql_after[0], PASSIVE_LEVEL);
    assert_int_equal(x.irql_after[1], DISPATCH_LEVEL);
    assert_int_equal(x.irql_after[2], HIGH_LEVEL);
    assert_int_equal(x.word_after, 0);
    assert_true(x.final_ok);
    assert_int_equal(x.final_count, 1);
    assert_ptr_equal(x.head.Flink, &x.d.link);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* ExInterlocked from an ISR and threads on 2 CPUs.                     */

#define EX_N     16
#define EX_LINE  11
#define EX_DIRQL 5

typedef struct exmp_ctx {
    KSPIN_LOCK lock;
    LIST_ENTRY head;
    SINGLE_LIST_ENTRY shead;
    bool use_slist;
    item thread_items[EX_N];
    item isr_items[EX_N];
    PKINTERRUPT interrupt;
    NTSTATUS connect_status, create_status;
    volatile LONG isr_n;
    ULONG isr_cpu_mask;
    volatile LONG consumed_n;
    item *consumed[2 * EX_N];
    LONG consume_target;
    ULONG consumer_cpu;
    volatile LONG consumer_done;
} exmp_ctx;

static BOOLEAN exmp_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    exmp_ctx *x = Context;
    x->isr_cpu_mask |= 1u << KeGetCurrentProcessorNumber();
    if (x->isr_n < EX_N) {
        item *it = &x->isr_items[x->isr_n];
        if (x->use_slist)
            ExInterlockedPushEntryList(&x->shead, &it->slink, &x->lock);
        else
            ExInterlockedInsertTailList(&x->head, &it->link, &x->lock);
        x->isr_n++;
    }
    return TRUE;
}

static void exmp_consumer(PVOID p)
{
    exmp_ctx *x = p;
    KeSetSystemAffinityThreadEx(2);
    x->consumer_cpu = KeGetCurrentProcessorNumber();
    for (int i = 0; i < 20 * SPIN_LIMIT && x->consumed_n < x->consume_target; i++) {
        item *it = NULL;
        if (x->use_slist) {
            PSINGLE_LIST_ENTRY e = ExInterlockedPopEntryList(&x->shead, &x->lock);
            if (e != NULL)
                it = CONTAINING_RECORD(e, item, slink);
        } else {
            PLIST_ENTRY e = ExInterlockedRemoveHeadList(&x->head, &x->lock);
            if (e != NULL)
                it = CONTAINING_RECORD(e, item, link);
        }
        if (it != NULL)
            x->consumed[x->consumed_n++] = it;
        else
            KeStallExecutionProcessor(1);
    }
    x->consumer_done = 1;
}

static void entry_exmp(void *p)
{
    exmp_ctx *x = p;
    kdpc_machine *m = kdpc_current_machine();
    KeSetSystemAffinityThreadEx(1);
    KeInitializeSpinLock(&x->lock);
    InitializeListHead(&x->head);
    x->shead.Next = NULL;
    /* The ISR runs only on CPU 1, where the consumer thread runs too. */
    x->connect_status = IoConnectInterrupt(&x->interrupt, exmp_isr, x, NULL, EX_LINE, EX_DIRQL,
                                           EX_DIRQL, Latched, FALSE, 0x2, FALSE);
    if (!NT_SUCCESS(x->connect_status))
        return;
    HANDLE h;
    x->create_status =
        PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, exmp_consumer, x);
    if (!NT_SUCCESS(x->create_status))
        return;
    ZwClose(h);
    for (int i = 0; i < EX_N; i++) {
        item *it = &x->thread_items[i];
        if (x->use_slist)
            ExInterlockedPushEntryList(&x->shead, &it->slink, &x->lock);
        else
            ExInterlockedInsertTailList(&x->head, &it->link, &x->lock);
        kdpc_line_assert(m, EX_LINE); /* the device produces one item per thread item */
    }
    for (int i = 0; i < SPIN_LIMIT && x->isr_n < EX_N; i++) {
        kdpc_line_assert(m, EX_LINE);
        KeStallExecutionProcessor(1);
    }
    wait_at_least(&x->consumer_done, 1);
    IoDisconnectInterrupt(x->interrupt);
}

static void init_items(exmp_ctx *x)
{
    for (ULONG i = 0; i < EX_N; i++) {
        x->thread_items[i].source = 0;
        x->thread_items[i].index = i;
        x->isr_items[i].source = 1;
        x->isr_items[i].index = i;
    }
}

static void test_ex_interlocked_list_from_isr_and_threads_on_two_cpus(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_machine *m = kt_machine(2, seed);
        static exmp_ctx x;
        memset(&x, 0, sizeof(x));
        init_items(&x);
        x.consume_target = EX_N + EX_N / 2; /* leave a quarter in the list */
        assert_int_equal(kdpc_machine_run(m, entry_exmp, &x), KDPC_OK);
        assert_int_equal(x.connect_status, STATUS_SUCCESS);
        assert_int_equal(x.create_status, STATUS_SUCCESS);
        assert_int_equal(x.isr_n, EX_N);
        assert_int_equal(x.isr_cpu_mask, 0x2);
        assert_int_equal(x.consumer_cpu, 1);
        assert_int_equal(x.consumed_n, x.consume_target);
        assert_int_equal(x.lock, 0);

        /* consumed ++ remaining = every item once; FIFO keeps each producer's order */
        item *all[2 * EX_N];
        size_t n = 0;
        for (LONG i = 0; i < x.consumed_n; i++)
            all[n++] = x.consumed[i];
        size_t remaining = 0;
        assert_true(list_consistent(&x.head, &remaining));
        assert_int_equal(remaining, 2 * EX_N - (size_t)x.consume_target);
        for (PLIST_ENTRY e = x.head.Flink; e != &x.head && n < 2 * EX_N; e = e->Flink)
            all[n++] = CONTAINING_RECORD(e, item, link);
        assert_int_equal(n, 2 * EX_N);
        ULONG next[2] = {0, 0};
        for (size_t i = 0; i < n; i++) {
            assert_true(all[i]->source <= 1);
            assert_int_equal(all[i]->index, next[all[i]->source]);
            next[all[i]->source]++;
        }
        assert_int_equal(next[0], EX_N);
        assert_int_equal(next[1], EX_N);
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

static void test_ex_interlocked_push_pop_from_isr_and_threads_on_two_cpus(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        kdpc_machine *m = kt_machine(2, seed);
        static exmp_ctx x;
        memset(&x, 0, sizeof(x));
        init_items(&x);
        x.use_slist = true;
        x.consume_target = 2 * EX_N; /* pop everything */
        assert_int_equal(kdpc_machine_run(m, entry_exmp, &x), KDPC_OK);
        assert_int_equal(x.connect_status, STATUS_SUCCESS);
        assert_int_equal(x.create_status, STATUS_SUCCESS);
        assert_int_equal(x.isr_n, EX_N);
        assert_int_equal(x.consumed_n, 2 * EX_N);
        assert_null(x.shead.Next); /* empty at the end */
        assert_int_equal(x.lock, 0);
        bool seen[2][EX_N];
        memset(seen, 0, sizeof(seen));
        for (LONG i = 0; i < x.consumed_n; i++) {
            const item *it = x.consumed[i];
            assert_true(it->source <= 1 && it->index < EX_N);
            assert_false(seen[it->source][it->index]); /* popped once */
            seen[it->source][it->index] = true;
        }
        assert_int_equal(kdpc_machine_violation_count(m), 0);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_insert_head_tail_and_remove_keep_order),
        cmocka_unit_test(test_append_tail_list_splices_headless_list),
        cmocka_unit_test(test_single_list_push_pop_is_lifo),
        cmocka_unit_test(test_containing_record_finds_enclosing_struct),
        cmocka_unit_test(test_interlocked_operations_return_documented_values),
        cmocka_unit_test(test_rtl_compare_memory_counts_matching_prefix),
        cmocka_unit_test(test_nt_success_and_status_classes),
        cmocka_unit_test(test_ex_interlocked_routines_return_previous_entry_or_null),
        cmocka_unit_test(test_ex_interlocked_list_from_isr_and_threads_on_two_cpus),
        cmocka_unit_test(test_ex_interlocked_push_pop_from_isr_and_threads_on_two_cpus),
    };
    return cmocka_run_group_tests_name("interlocked_list", tests, NULL, NULL);
}
