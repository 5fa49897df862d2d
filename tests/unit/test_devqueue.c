/* SPDX-License-Identifier: MIT */
/*
 * test_devqueue.c - KDEVICE_QUEUE (docs/facts/io.md 4.7-4.11): insert
 * on a Not-Busy queue starts instead of inserting, Busy inserts, removes
 * from an empty Busy queue clear Busy, keyed order and remove-by-key with
 * wrap-around, KeRemoveEntryDeviceQueue. Every call is made at
 * DISPATCH_LEVEL from the run's entry thread; results are asserted after
 * the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define N 8

static struct {
    KDEVICE_QUEUE q;
    KDEVICE_QUEUE_ENTRY e[N];
    KIRQL irql;
    /* observations */
    BOOLEAN init_busy, init_empty;
    BOOLEAN ret[N];
    BOOLEAN busy[N];
    BOOLEAN inserted[N];
    BOOLEAN empty[N];
    PKDEVICE_QUEUE_ENTRY got[N];
    int n_got;
    LONG reached_end;
} d;

typedef void BODY(void);

static void run_body(void *ctx)
{
    BODY *body = (BODY *)(uintptr_t)ctx;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* 4.7, 4.8: the queue calls run at DISPATCH_LEVEL */
    d.irql = KeGetCurrentIrql();
    body();
    KeLowerIrql(old);
    d.reached_end = 1;
}

static void run(BODY *body, uint64_t seed)
{
    memset(&d, 0, sizeof d);
    kdpc_machine *m = kt_machine(1, seed);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body);
    assert_int_equal(st, KDPC_OK);
    assert_int_equal(d.reached_end, 1);
    assert_int_equal(d.irql, DISPATCH_LEVEL);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

static PKDEVICE_QUEUE_ENTRY E(int i)
{
    return &d.e[i];
}

static void snap(int i, BOOLEAN ret, int entry)
{
    d.ret[i] = ret;
    d.busy[i] = d.q.Busy;
    d.inserted[i] = entry >= 0 ? d.e[entry].Inserted : FALSE;
    d.empty[i] = IsListEmpty(&d.q.DeviceListHead);
}

static void got(PKDEVICE_QUEUE_ENTRY e)
{
    if (d.n_got < N)
        d.got[d.n_got++] = e;
}

/* ------------------------------------------------------------------ */

static void body_insert_not_busy(void)
{
    KeInitializeDeviceQueue(&d.q);
    d.init_busy = d.q.Busy;
    d.init_empty = IsListEmpty(&d.q.DeviceListHead);
    d.e[0].Inserted = TRUE; /* garbage the call must overwrite */
    snap(0, KeInsertDeviceQueue(&d.q, E(0)), 0);
    /* a keyed insert on a Not-Busy queue behaves the same (4.7) */
    KeInitializeDeviceQueue(&d.q);
    snap(1, KeInsertByKeyDeviceQueue(&d.q, E(1), 7), 1);
}

static void test_insert_on_not_busy_queue_returns_false_and_inserts_nothing(void **state)
{
    (void)state;
    run(body_insert_not_busy, 1);
    assert_false(d.init_busy); /* 4.7: Not-Busy and empty */
    assert_true(d.init_empty);
    for (int i = 0; i < 2; i++) {
        assert_false(d.ret[i]);      /* "start it now" */
        assert_true(d.busy[i]);      /* Busy becomes TRUE */
        assert_false(d.inserted[i]); /* not inserted */
        assert_true(d.empty[i]);
    }
}

static void body_insert_busy(void)
{
    KeInitializeDeviceQueue(&d.q);
    (void)KeInsertDeviceQueue(&d.q, E(0));
    snap(0, KeInsertDeviceQueue(&d.q, E(1)), 1); /* Busy, nothing queued: inserts (4.7 ⚠) */
    snap(1, KeInsertDeviceQueue(&d.q, E(2)), 2);
    snap(2, KeInsertByKeyDeviceQueue(&d.q, E(3), 0), 3);
}

static void test_insert_on_busy_queue_inserts_and_returns_true(void **state)
{
    (void)state;
    run(body_insert_busy, 2);
    for (int i = 0; i < 3; i++) {
        assert_true(d.ret[i]);
        assert_true(d.busy[i]);
        assert_true(d.inserted[i]);
        assert_false(d.empty[i]);
    }
}

static void body_remove(void)
{
    KeInitializeDeviceQueue(&d.q);
    (void)KeInsertDeviceQueue(&d.q, E(0)); /* starts */
    (void)KeInsertDeviceQueue(&d.q, E(1));
    (void)KeInsertDeviceQueue(&d.q, E(2));
    PKDEVICE_QUEUE_ENTRY e = KeRemoveDeviceQueue(&d.q);
    got(e);
    snap(0, e != NULL, 1);
    e = KeRemoveDeviceQueue(&d.q);
    got(e);
    snap(1, e != NULL, 2);
    e = KeRemoveDeviceQueue(&d.q); /* empty, Busy */
    got(e);
    snap(2, e != NULL, -1);
}

static void test_remove_returns_head_then_null_and_clears_busy_when_empty(void **state)
{
    (void)state;
    run(body_remove, 3);
    assert_int_equal(d.n_got, 3);
    assert_ptr_equal(d.got[0], &d.e[1]); /* FIFO */
    assert_false(d.inserted[0]);         /* 4.8: Inserted = FALSE */
    assert_true(d.busy[0]);              /* Busy stays TRUE */
    assert_ptr_equal(d.got[1], &d.e[2]);
    assert_false(d.inserted[1]);
    assert_true(d.busy[1]);
    assert_true(d.empty[1]);
    assert_null(d.got[2]);   /* empty queue: NULL ... */
    assert_false(d.busy[2]); /* ... and Not-Busy */
}

static void body_by_key_order(void)
{
    KeInitializeDeviceQueue(&d.q);
    (void)KeInsertDeviceQueue(&d.q, E(0)); /* makes it Busy */
    (void)KeInsertByKeyDeviceQueue(&d.q, E(3), 3);
    (void)KeInsertByKeyDeviceQueue(&d.q, E(1), 1);
    (void)KeInsertByKeyDeviceQueue(&d.q, E(2), 2);
    d.ret[0] = KeRemoveEntryDeviceQueue(&d.q, E(2));
    got(KeRemoveDeviceQueue(&d.q));
    got(KeRemoveDeviceQueue(&d.q));
    got(KeRemoveDeviceQueue(&d.q));
}

static void test_by_key_insert_orders_3_1_2_and_remove_entry_leaves_1_3(void **state)
{
    (void)state;
    run(body_by_key_order, 4);
    /* 4.9 [K] KeDevQueue.c: keys 3, 1, 2 come out 1, 3 after 2 was removed */
    assert_true(d.ret[0]);
    assert_int_equal(d.n_got, 3);
    assert_ptr_equal(d.got[0], &d.e[1]);
    assert_ptr_equal(d.got[1], &d.e[3]);
    assert_null(d.got[2]);
    assert_int_equal(d.e[1].SortKey, 1);
    assert_int_equal(d.e[3].SortKey, 3);
}

static void body_equal_keys(void)
{
    KeInitializeDeviceQueue(&d.q);
    (void)KeInsertDeviceQueue(&d.q, E(0));
    (void)KeInsertByKeyDeviceQueue(&d.q, E(1), 5);
    (void)KeInsertByKeyDeviceQueue(&d.q, E(2), 2);
    (void)KeInsertByKeyDeviceQueue(&d.q, E(3), 5);
    (void)KeInsertByKeyDeviceQueue(&d.q, E(4), 2);
    for (int i = 0; i < 5; i++)
        got(KeRemoveDeviceQueue(&d.q));
}

static void test_by_key_equal_keys_stay_fifo(void **state)
{
    (void)state;
    run(body_equal_keys, 5);
    /* 4.9: ascending, an equal key goes after the existing ones */
    assert_ptr_equal(d.got[0], &d.e[2]);
    assert_ptr_equal(d.got[1], &d.e[4]);
    assert_ptr_equal(d.got[2], &d.e[1]);
    assert_ptr_equal(d.got[3], &d.e[3]);
    assert_null(d.got[4]);
}

static void body_remove_by_key(void)
{
    KeInitializeDeviceQueue(&d.q);
    (void)KeInsertDeviceQueue(&d.q, E(0));
    (void)KeInsertByKeyDeviceQueue(&d.q, E(1), 1);
    (void)KeInsertByKeyDeviceQueue(&d.q, E(3), 3);
    (void)KeInsertByKeyDeviceQueue(&d.q, E(5), 5);
    (void)KeInsertByKeyDeviceQueue(&d.q, E(6), 3); /* after e3 */
    got(KeRemoveByKeyDeviceQueue(&d.q, 2));        /* first >= 2: e3 */
    snap(0, TRUE, 3);
    got(KeRemoveByKeyDeviceQueue(&d.q, 3)); /* first >= 3: e6 */
    got(KeRemoveByKeyDeviceQueue(&d.q, 9)); /* none >= 9: wrap to the head, e1 */
    got(KeRemoveByKeyDeviceQueue(&d.q, 5)); /* exact: e5 (header: first >= Key) */
    snap(1, TRUE, -1);
    got(KeRemoveByKeyDeviceQueue(&d.q, 0)); /* empty: NULL, Not-Busy */
    snap(2, TRUE, -1);
}

static void test_remove_by_key_takes_first_key_at_or_above_else_wraps_to_head(void **state)
{
    (void)state;
    run(body_remove_by_key, 6);
    assert_int_equal(d.n_got, 5);
    assert_ptr_equal(d.got[0], &d.e[3]);
    assert_false(d.inserted[0]);
    assert_true(d.busy[0]);
    assert_ptr_equal(d.got[1], &d.e[6]);
    assert_ptr_equal(d.got[2], &d.e[1]); /* wrap-around (4.9) */
    assert_ptr_equal(d.got[3], &d.e[5]);
    assert_true(d.empty[1]);
    assert_true(d.busy[1]);
    assert_null(d.got[4]);
    assert_false(d.busy[2]);
}

static void body_wrap_last_key(void)
{
    KeInitializeDeviceQueue(&d.q);
    (void)KeInsertDeviceQueue(&d.q, E(0));
    (void)KeInsertByKeyDeviceQueue(&d.q, E(1), 1);
    (void)KeInsertByKeyDeviceQueue(&d.q, E(5), 5);
    got(KeRemoveByKeyDeviceQueue(&d.q, 5));
}

static void test_remove_by_key_equal_to_last_key_returns_that_entry(void **state)
{
    (void)state;
    run(body_wrap_last_key, 7);
    /* 4.9 ⚠: kdpc's header picks "first entry with SortKey >= Key": keys [1, 5], Key 5 -> 5 */
    assert_ptr_equal(d.got[0], &d.e[5]);
}

static void body_remove_entry(void)
{
    KeInitializeDeviceQueue(&d.q);
    (void)KeInsertDeviceQueue(&d.q, E(0));
    (void)KeInsertDeviceQueue(&d.q, E(1));
    (void)KeInsertDeviceQueue(&d.q, E(2));
    snap(0, KeRemoveEntryDeviceQueue(&d.q, E(2)), 2); /* inserted: TRUE */
    snap(1, KeRemoveEntryDeviceQueue(&d.q, E(2)), 2); /* again: FALSE */
    snap(2, KeRemoveEntryDeviceQueue(&d.q, E(0)), 0); /* never inserted (it started) */
    snap(3, KeRemoveEntryDeviceQueue(&d.q, E(1)), 1); /* the last one: queue empties */
    got(KeRemoveDeviceQueue(&d.q));                   /* empty, Busy: NULL, Not-Busy */
    snap(4, FALSE, -1);
    /* on a Not-Busy queue the call changes nothing either */
    snap(5, KeRemoveEntryDeviceQueue(&d.q, E(1)), 1);
}

static void test_remove_entry_true_only_if_inserted_and_never_touches_busy(void **state)
{
    (void)state;
    run(body_remove_entry, 8);
    assert_true(d.ret[0]); /* 4.10 */
    assert_false(d.inserted[0]);
    assert_true(d.busy[0]);
    assert_false(d.ret[1]);
    assert_true(d.busy[1]);
    assert_false(d.ret[2]);
    assert_true(d.busy[2]);
    assert_true(d.ret[3]);
    assert_true(d.empty[3]);
    assert_true(d.busy[3]); /* Busy untouched even though the queue is now empty */
    assert_null(d.got[0]);
    assert_false(d.busy[4]);
    assert_false(d.ret[5]);
    assert_false(d.busy[5]);
}

static void body_remove_entry_at_passive(void)
{
    KeInitializeDeviceQueue(&d.q);
    (void)KeInsertDeviceQueue(&d.q, E(0));
    (void)KeInsertDeviceQueue(&d.q, E(1));
    KIRQL cur = KeGetCurrentIrql();
    KeLowerIrql(PASSIVE_LEVEL);
    snap(0, KeRemoveEntryDeviceQueue(&d.q, E(1)), 1); /* 4.10: IRQL <= DISPATCH, raises itself */
    d.irql = KeGetCurrentIrql();
    KIRQL ignored;
    KeRaiseIrql(cur, &ignored);
}

static void test_remove_entry_works_below_dispatch_and_restores_irql(void **state)
{
    (void)state;
    memset(&d, 0, sizeof d);
    kdpc_machine *m = kt_machine(1, 9);
    kdpc_status st = kdpc_machine_run(m, run_body, (void *)(uintptr_t)body_remove_entry_at_passive);
    assert_int_equal(st, KDPC_OK);
    assert_true(d.ret[0]);
    assert_false(d.inserted[0]);
    assert_true(d.busy[0]);
    assert_int_equal(d.irql, PASSIVE_LEVEL); /* back at the caller's IRQL */
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_on_not_busy_queue_returns_false_and_inserts_nothing),
        cmocka_unit_test(test_insert_on_busy_queue_inserts_and_returns_true),
        cmocka_unit_test(test_remove_returns_head_then_null_and_clears_busy_when_empty),
        cmocka_unit_test(test_by_key_insert_orders_3_1_2_and_remove_entry_leaves_1_3),
        cmocka_unit_test(test_by_key_equal_keys_stay_fifo),
        cmocka_unit_test(test_remove_by_key_takes_first_key_at_or_above_else_wraps_to_head),
        cmocka_unit_test(test_remove_by_key_equal_to_last_key_returns_that_entry),
        cmocka_unit_test(test_remove_entry_true_only_if_inserted_and_never_touches_busy),
        cmocka_unit_test(test_remove_entry_works_below_dispatch_and_restores_irql),
    };
    return cmocka_run_group_tests_name("devqueue", tests, NULL, NULL);
}
