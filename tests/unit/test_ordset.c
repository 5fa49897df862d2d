/* SPDX-License-Identifier: MIT */
/*
 * test_ordset.c - the ordered set under the timer queue and the address
 * index (src/base/ordset.c, compiled into this test: it is internal).
 *
 * Contract (src/base/ordset.h): keys (k1, k2) in order, equal keys in
 * insertion order; insert, remove by handle and lower_bound keep every AVL
 * invariant; the cached minimum follows removals; handles of other nodes
 * survive any removal; nodes are recycled, and a set that empties after
 * holding many nodes gives its memory back. A long run of random operations
 * (fixed seed) is checked against a naive sorted array.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "../../src/base/ordset.c"

static void check(const kdpc__ordset *s)
{
    assert_true(kdpc__ordset_valid(s));
}

/* AVL bound: height < 1.4405 log2(n + 2) (log2 rounded up here). */
static void assert_balanced(const kdpc__ordset *s)
{
    if (s->root == NULL)
        return;
    int bits = 0;
    for (size_t x = s->count + 2; x > 1; x = (x + 1) / 2)
        bits++;
    assert_true((double)s->root->height < 1.4405 * (double)bits);
}

static void test_empty_set(void **state)
{
    (void)state;
    kdpc__ordset s = {0};
    check(&s);
    assert_null(kdpc__ordset_first(&s));
    assert_null(kdpc__ordset_lower_bound(&s, 0, 0));
    kdpc__ordset_free(&s);
    kdpc__ordset_free(&s); /* twice: harmless */
}

static void test_equal_keys_keep_insertion_order(void **state)
{
    (void)state;
    kdpc__ordset s = {0};
    /* five nodes at (7, 0) between others; each remembers when it came */
    static const uint64_t keys[] = {7, 3, 7, 9, 7, 7, 1, 7, 8};
    for (uintptr_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(kdpc__ordset_insert(&s, keys[i], 0, (void *)i));
    check(&s);
    static const uintptr_t order[] = {6, 1, 0, 2, 4, 5, 7, 8, 3};
    size_t k = 0;
    for (kdpc__osnode *n = kdpc__ordset_first(&s); n != NULL; n = kdpc__ordset_next(n))
        assert_int_equal((uintptr_t)n->val, order[k++]);
    assert_int_equal(k, 9);
    /* lower_bound of an equal run is its first (oldest) node */
    assert_int_equal((uintptr_t)kdpc__ordset_lower_bound(&s, 7, 0)->val, 0);
    assert_int_equal((uintptr_t)kdpc__ordset_lower_bound(&s, 4, 0)->val, 0);
    assert_int_equal((uintptr_t)kdpc__ordset_lower_bound(&s, 7, 1)->val, 8);
    assert_null(kdpc__ordset_lower_bound(&s, 10, 0));
    /* k2 breaks ties of k1 */
    assert_non_null(kdpc__ordset_insert(&s, 7, 5, (void *)100));
    assert_non_null(kdpc__ordset_insert(&s, 7, 2, (void *)101));
    assert_int_equal((uintptr_t)kdpc__ordset_lower_bound(&s, 7, 1)->val, 101);
    check(&s);
    kdpc__ordset_free(&s);
}

static void test_remove_min_middle_and_max(void **state)
{
    (void)state;
    kdpc__ordset s = {0};
    kdpc__osnode *h[64];
    for (uintptr_t i = 0; i < 64; i++)
        h[i] = kdpc__ordset_insert(&s, i * 10, 0, (void *)i);
    check(&s);
    /* the minimum: the cached first moves to the next node */
    kdpc__ordset_remove(&s, h[0]);
    check(&s);
    assert_ptr_equal(kdpc__ordset_first(&s), h[1]);
    /* the root (two children): its successor takes its place, other handles stay */
    kdpc__osnode *root = s.root;
    uintptr_t rv = (uintptr_t)root->val;
    kdpc__ordset_remove(&s, root);
    h[rv] = NULL;
    check(&s);
    /* middle nodes, the maximum */
    for (int i = 31; i < 64; i += 32) {
        if (h[i] != NULL)
            kdpc__ordset_remove(&s, h[i]);
        h[i] = NULL;
    }
    check(&s);
    uintptr_t prev = 0;
    size_t k = 0;
    for (kdpc__osnode *n = kdpc__ordset_first(&s); n != NULL; n = kdpc__ordset_next(n), k++) {
        uintptr_t v = (uintptr_t)n->val;
        assert_ptr_equal(h[v], n); /* each survivor is still the node its handle names */
        assert_true(k == 0 || v > prev);
        prev = v;
    }
    assert_int_equal(k, s.count);
    /* remove the rest from the middle outwards, checking each time */
    for (int d = 0; d < 32; d++) {
        for (int sign = -1; sign <= 1; sign += 2) {
            int i = 32 + sign * d;
            if (i >= 0 && i < 64 && h[i] != NULL) {
                kdpc__ordset_remove(&s, h[i]);
                h[i] = NULL;
                check(&s);
            }
        }
    }
    assert_int_equal(s.count, 0);
    assert_null(kdpc__ordset_first(&s));
    kdpc__ordset_free(&s);
}

static void test_growth_ascending_descending_and_balance(void **state)
{
    (void)state;
    kdpc__ordset s = {0};
    for (uint64_t i = 0; i < 20000; i++)
        assert_non_null(kdpc__ordset_insert(&s, i, 0, NULL));
    for (uint64_t i = 40000; i > 20000; i--)
        assert_non_null(kdpc__ordset_insert(&s, i, 0, NULL));
    check(&s);
    assert_balanced(&s);
    assert_int_equal(s.count, 40000);
    assert_int_equal(kdpc__ordset_first(&s)->k1, 0);
    /* drain from the front: always O(log n), always balanced */
    for (uint64_t i = 0; i < 30000; i++) {
        kdpc__osnode *n = kdpc__ordset_first(&s);
        assert_int_equal(n->k1, i < 20000 ? i : i + 1);
        kdpc__ordset_remove(&s, n);
    }
    check(&s);
    assert_balanced(&s);
    kdpc__ordset_free(&s);
}

static void test_nodes_are_reused_and_memory_given_back(void **state)
{
    (void)state;
    kdpc__ordset s = {0};
    /* a small set that fills and empties keeps its one chunk */
    for (int round = 0; round < 100; round++) {
        kdpc__osnode *a = kdpc__ordset_insert(&s, 1, 0, NULL);
        kdpc__osnode *b = kdpc__ordset_insert(&s, 2, 0, NULL);
        kdpc__ordset_remove(&s, a);
        kdpc__ordset_remove(&s, b);
    }
    assert_int_equal(s.held, CHUNK_MIN);
    assert_non_null(s.chunks);
    /* a node removed is the next one handed out */
    kdpc__osnode *a = kdpc__ordset_insert(&s, 5, 0, NULL);
    kdpc__ordset_insert(&s, 6, 0, NULL);
    kdpc__ordset_remove(&s, a);
    assert_ptr_equal(kdpc__ordset_insert(&s, 4, 0, NULL), a);
    check(&s);
    kdpc__ordset_free(&s);
    /* many nodes: emptied, the set gives the chunks back and works again */
    kdpc__osnode **h = calloc(10000, sizeof(*h));
    assert_non_null(h);
    for (uint64_t i = 0; i < 10000; i++)
        h[i] = kdpc__ordset_insert(&s, i % 97, i, NULL);
    assert_true(s.held >= 10000);
    for (size_t i = 0; i < 10000; i++)
        kdpc__ordset_remove(&s, h[(i * 7919) % 10000]);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.held, 0);
    assert_null(s.chunks);
    assert_non_null(kdpc__ordset_insert(&s, 3, 0, NULL));
    check(&s);
    kdpc__ordset_free(&s);
    free(h);
}

/* ------------------------------------------------------------------ */
/* Random operations against a naive model                             */

typedef struct model_entry {
    uint64_t k1, k2, seq;
    kdpc__osnode *node;
} model_entry;

static int model_cmp(const model_entry *a, const model_entry *b)
{
    if (a->k1 != b->k1)
        return a->k1 < b->k1 ? -1 : 1;
    if (a->k2 != b->k2)
        return a->k2 < b->k2 ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define MODEL_MAX 1000

static void test_random_operations_match_a_sorted_array(void **state)
{
    (void)state;
    static model_entry model[MODEL_MAX];
    size_t n = 0;
    uint64_t seq = 0;
    kdpc__ordset s = {0};
    for (int op = 0; op < 100000; op++) {
        uint64_t r = rnd() % 100;
        /* few distinct keys: many equal ones */
        uint64_t k1 = rnd() % 64, k2 = rnd() % 3;
        if ((r < 55 && n < MODEL_MAX) || n == 0) {
            model_entry e = {k1, k2, seq++, NULL};
            e.node = kdpc__ordset_insert(&s, k1, k2, (void *)(uintptr_t)e.seq);
            assert_non_null(e.node);
            size_t i = n;
            while (i > 0 && model_cmp(&model[i - 1], &e) > 0) {
                model[i] = model[i - 1];
                i--;
            }
            model[i] = e;
            n++;
        } else if (r < 80) {
            size_t i = (size_t)(rnd() % n);
            if (rnd() % 4 == 0)
                i = 0; /* the minimum often */
            kdpc__ordset_remove(&s, model[i].node);
            for (; i + 1 < n; i++)
                model[i] = model[i + 1];
            n--;
        } else {
            kdpc__osnode *lb = kdpc__ordset_lower_bound(&s, k1, k2);
            size_t i = 0;
            while (i < n && (model[i].k1 < k1 || (model[i].k1 == k1 && model[i].k2 < k2)))
                i++;
            if (i == n)
                assert_null(lb);
            else
                assert_ptr_equal(lb, model[i].node);
        }
        assert_int_equal(s.count, n);
        assert_ptr_equal(kdpc__ordset_first(&s), n > 0 ? model[0].node : NULL);
        if (op % 997 == 0 || n < 8) {
            check(&s);
            assert_balanced(&s);
            size_t i = 0;
            for (kdpc__osnode *x = kdpc__ordset_first(&s); x != NULL; x = kdpc__ordset_next(x))
                assert_int_equal((uintptr_t)x->val, model[i++].seq);
            assert_int_equal(i, n);
        }
    }
    kdpc__ordset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_set),
        cmocka_unit_test(test_equal_keys_keep_insertion_order),
        cmocka_unit_test(test_remove_min_middle_and_max),
        cmocka_unit_test(test_growth_ascending_descending_and_balance),
        cmocka_unit_test(test_nodes_are_reused_and_memory_given_back),
        cmocka_unit_test(test_random_operations_match_a_sorted_array),
    };
    return cmocka_run_group_tests_name("ordset", tests, NULL, NULL);
}
