/* SPDX-License-Identifier: MIT */
/*
 * test_pairmap.c - the hash map keyed by a pair of addresses under the
 * lock-order edges (src/base/pairmap.c, compiled into this test: it is
 * internal).
 *
 * Contract (src/base/pairmap.h): (a, b) and (b, a) are different keys, and
 * pairs that share a or b are independent; put replaces; del returns the
 * value and leaves the other pairs reachable across its tombstone; a <= 1 is
 * refused; the table grows, and insert/delete churn keeps it from growing
 * without bound; an emptied map is reusable. A long run of random operations
 * (fixed seed, a small key space so that keys repeat) is checked against a
 * naive array.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "../../src/base/pairmap.c"

#define V(x) ((void *)(uintptr_t)(x))

static void test_empty_map(void **state)
{
    (void)state;
    kdpc__pairmap pm = {0};
    assert_null(kdpc__pairmap_get(&pm, 16, 32));
    assert_null(kdpc__pairmap_del(&pm, 16, 32));
    kdpc__pairmap_free(&pm);
    kdpc__pairmap_free(&pm); /* twice: harmless */
    assert_int_equal(pm.cap, 0);
}

static void test_reserved_first_keys_are_refused(void **state)
{
    (void)state;
    kdpc__pairmap pm = {0};
    assert_false(kdpc__pairmap_put(&pm, 0, 5, V(1)));
    assert_false(kdpc__pairmap_put(&pm, 1, 5, V(1)));
    assert_int_equal(pm.live, 0);
    assert_null(kdpc__pairmap_get(&pm, 0, 5));
    assert_null(kdpc__pairmap_get(&pm, 1, 0));
    /* b may be anything */
    assert_true(kdpc__pairmap_put(&pm, 2, 0, V(7)));
    assert_true(kdpc__pairmap_put(&pm, 2, 1, V(8)));
    assert_ptr_equal(kdpc__pairmap_get(&pm, 2, 0), V(7));
    assert_ptr_equal(kdpc__pairmap_get(&pm, 2, 1), V(8));
    kdpc__pairmap_free(&pm);
}

static void test_order_and_shared_halves_matter(void **state)
{
    (void)state;
    kdpc__pairmap pm = {0};
    assert_true(kdpc__pairmap_put(&pm, 0x1000, 0x2000, V(1)));
    assert_true(kdpc__pairmap_put(&pm, 0x2000, 0x1000, V(2)));
    assert_true(kdpc__pairmap_put(&pm, 0x1000, 0x3000, V(3)));
    assert_true(kdpc__pairmap_put(&pm, 0x3000, 0x2000, V(4)));
    assert_int_equal(pm.live, 4);
    assert_ptr_equal(kdpc__pairmap_get(&pm, 0x1000, 0x2000), V(1));
    assert_ptr_equal(kdpc__pairmap_get(&pm, 0x2000, 0x1000), V(2));
    assert_ptr_equal(kdpc__pairmap_get(&pm, 0x1000, 0x3000), V(3));
    assert_ptr_equal(kdpc__pairmap_get(&pm, 0x3000, 0x2000), V(4));
    assert_null(kdpc__pairmap_get(&pm, 0x3000, 0x1000));
    assert_null(kdpc__pairmap_get(&pm, 0x2000, 0x3000));
    kdpc__pairmap_free(&pm);
}

static void test_put_replaces_an_equal_key(void **state)
{
    (void)state;
    kdpc__pairmap pm = {0};
    assert_true(kdpc__pairmap_put(&pm, 8, 9, V(1)));
    assert_true(kdpc__pairmap_put(&pm, 8, 9, V(2)));
    assert_int_equal(pm.live, 1);
    assert_ptr_equal(kdpc__pairmap_get(&pm, 8, 9), V(2));
    assert_ptr_equal(kdpc__pairmap_del(&pm, 8, 9), V(2));
    assert_null(kdpc__pairmap_del(&pm, 8, 9)); /* a second delete finds nothing */
    assert_int_equal(pm.live, 0);
    kdpc__pairmap_free(&pm);
}

/* Pairs that probe through each other's slots: deleting one leaves the others reachable, and a
 * tombstone is reused by the next insert. */
static void test_delete_keeps_colliding_pairs_reachable(void **state)
{
    (void)state;
    kdpc__pairmap pm = {0};
    for (uintptr_t i = 0; i < 40; i++)
        assert_true(kdpc__pairmap_put(&pm, 0x5000, 16 + i, V(100 + i)));
    size_t cap = pm.cap;
    for (uintptr_t i = 0; i < 40; i += 2)
        assert_ptr_equal(kdpc__pairmap_del(&pm, 0x5000, 16 + i), V(100 + i));
    for (uintptr_t i = 0; i < 40; i++) {
        if (i % 2)
            assert_ptr_equal(kdpc__pairmap_get(&pm, 0x5000, 16 + i), V(100 + i));
        else
            assert_null(kdpc__pairmap_get(&pm, 0x5000, 16 + i));
    }
    size_t used = pm.used;
    assert_true(kdpc__pairmap_put(&pm, 0x5000, 16, V(1)));
    assert_true(pm.used <= used); /* the tombstone on its probe path was taken, or none found */
    assert_int_equal(pm.cap, cap);
    assert_ptr_equal(kdpc__pairmap_get(&pm, 0x5000, 16), V(1));
    kdpc__pairmap_free(&pm);
}

static void test_growth_keeps_every_pair(void **state)
{
    (void)state;
    kdpc__pairmap pm = {0};
    for (uintptr_t i = 0; i < 20000; i++)
        assert_true(kdpc__pairmap_put(&pm, 0x10000 + i * 8, 0x90000 - i * 8, V(i + 1)));
    assert_int_equal(pm.live, 20000);
    assert_true(pm.cap >= 20000 * 4 / 3);
    assert_true((pm.cap & (pm.cap - 1)) == 0);
    for (uintptr_t i = 0; i < 20000; i++)
        assert_ptr_equal(kdpc__pairmap_get(&pm, 0x10000 + i * 8, 0x90000 - i * 8), V(i + 1));
    kdpc__pairmap_free(&pm);
}

/* Insert/delete churn with few live pairs: tombstones are rehashed away at the same size. */
static void test_churn_does_not_grow_the_table(void **state)
{
    (void)state;
    kdpc__pairmap pm = {0};
    for (uintptr_t i = 0; i < 100000; i++) {
        assert_true(kdpc__pairmap_put(&pm, 0x100 + i * 16, i, V(i + 1)));
        if (i >= 4)
            assert_ptr_equal(kdpc__pairmap_del(&pm, 0x100 + (i - 4) * 16, i - 4), V(i - 3));
    }
    assert_int_equal(pm.live, 4);
    assert_true(pm.cap <= 64);
    kdpc__pairmap_free(&pm);
}

static void test_emptied_map_is_reusable(void **state)
{
    (void)state;
    kdpc__pairmap pm = {0};
    for (uintptr_t i = 0; i < 1000; i++)
        assert_true(kdpc__pairmap_put(&pm, 2 + i, 3 + i, V(i + 1)));
    for (uintptr_t i = 0; i < 1000; i++)
        assert_ptr_equal(kdpc__pairmap_del(&pm, 2 + i, 3 + i), V(i + 1));
    assert_int_equal(pm.live, 0);
    assert_null(kdpc__pairmap_get(&pm, 2, 3));
    assert_true(kdpc__pairmap_put(&pm, 2, 3, V(9)));
    assert_ptr_equal(kdpc__pairmap_get(&pm, 2, 3), V(9));
    kdpc__pairmap_free(&pm);
    assert_true(kdpc__pairmap_put(&pm, 2, 3, V(10))); /* after free: a new table */
    assert_ptr_equal(kdpc__pairmap_get(&pm, 2, 3), V(10));
    kdpc__pairmap_free(&pm);
}

/* ------------------------------------------------------------------ */
/* Random operations against a naive model                             */

#define KEYS 24u /* a and b each among KEYS values: 576 pairs, so keys repeat often */

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static unsigned next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 32);
}

static uintptr_t key_a(unsigned i)
{
    return 0x7f0000001000u + (uintptr_t)i * 64u; /* lock-record-like addresses */
}

static uintptr_t key_b(unsigned i)
{
    return 0x7f0000001000u + (uintptr_t)i * 64u;
}

static void test_random_ops_match_a_naive_model(void **state)
{
    (void)state;
    void *model[KEYS][KEYS] = {{0}};
    size_t live = 0;
    kdpc__pairmap pm = {0};
    for (unsigned step = 0; step < 200000; step++) {
        unsigned a = next_rand() % KEYS, b = next_rand() % KEYS, op = next_rand() % 10;
        if (op < 5) {
            void *v = V(step + 1);
            assert_true(kdpc__pairmap_put(&pm, key_a(a), key_b(b), v));
            if (model[a][b] == NULL)
                live++;
            model[a][b] = v;
        } else if (op < 9) {
            assert_ptr_equal(kdpc__pairmap_del(&pm, key_a(a), key_b(b)), model[a][b]);
            if (model[a][b] != NULL)
                live--;
            model[a][b] = NULL;
        } else {
            assert_ptr_equal(kdpc__pairmap_get(&pm, key_a(a), key_b(b)), model[a][b]);
        }
        assert_int_equal(pm.live, live);
        if (step % 4096 == 0) {
            for (unsigned x = 0; x < KEYS; x++)
                for (unsigned y = 0; y < KEYS; y++)
                    assert_ptr_equal(kdpc__pairmap_get(&pm, key_a(x), key_b(y)), model[x][y]);
        }
    }
    kdpc__pairmap_free(&pm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_map),
        cmocka_unit_test(test_reserved_first_keys_are_refused),
        cmocka_unit_test(test_order_and_shared_halves_matter),
        cmocka_unit_test(test_put_replaces_an_equal_key),
        cmocka_unit_test(test_delete_keeps_colliding_pairs_reachable),
        cmocka_unit_test(test_growth_keeps_every_pair),
        cmocka_unit_test(test_churn_does_not_grow_the_table),
        cmocka_unit_test(test_emptied_map_is_reusable),
        cmocka_unit_test(test_random_ops_match_a_naive_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
