/* SPDX-License-Identifier: MIT */
/*
 * test_lock_records.c - what the spin lock checker keeps of a lock lives as
 * long as the lock (src/verifier/lockset.c): KeInitializeSpinLock of a known
 * address and ExFreePool of the block that held it forget the lock and its
 * order edges, both ways, and nothing else; a held lock is not forgotten.
 * The order check (spinlock.order, 0xC4/0x1001) sees paths of any length (a
 * chain of 100k locks) and names the first held lock that closes a cycle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define TAG 0x6b636f4cu

static KSPIN_LOCK a, b, c, d;
static int reached_end;

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* Acquire @outer then @inner (an edge outer -> inner), release both. */
static void nest(PKSPIN_LOCK outer, PKSPIN_LOCK inner)
{
    KIRQL old;
    KeAcquireSpinLock(outer, &old);
    KeAcquireSpinLockAtDpcLevel(inner);
    KeReleaseSpinLockFromDpcLevel(inner);
    KeReleaseSpinLock(outer, old);
}

static void init_all(void)
{
    KeInitializeSpinLock(&a);
    KeInitializeSpinLock(&b);
    KeInitializeSpinLock(&c);
    KeInitializeSpinLock(&d);
}

static kdpc_status run(kdpc_machine **m, kdpc_entry_fn *entry, void *ctx)
{
    reached_end = 0;
    *m = kt_machine(1, 0x10C4u);
    return kdpc_machine_run(*m, entry, ctx);
}

static void assert_order_bugcheck(kdpc_machine *m, kdpc_status st, const void *closing,
                                  const void *held)
{
    KT_ASSERT_BUGCHECK(m, st, "spinlock.order", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[0], 0x1001);
    assert_int_equal(bc->params[1], addr(closing));
    assert_int_equal(bc->params[2], addr(held));
    assert_int_equal(reached_end, 0);
}

/* ------------------------------------------------------------------ */

static void reinit_entry(void *ctx)
{
    PKSPIN_LOCK forget = ctx;
    init_all();
    nest(&a, &b); /* a -> b */
    if (forget != NULL)
        KeInitializeSpinLock(forget);
    nest(&b, &a); /* closes a cycle unless a or b was forgotten */
    reached_end = 1;
}

static void test_reinit_of_the_successor_forgets_the_edge(void **state)
{
    (void)state;
    kdpc_machine *m;
    assert_int_equal(run(&m, reinit_entry, &b), KDPC_OK);
    assert_int_equal(reached_end, 1);
    KT_ASSERT_NO_VIOLATION(m, "spinlock.order");
    kdpc_machine_destroy(m);
}

static void test_reinit_of_the_predecessor_forgets_the_edge(void **state)
{
    (void)state;
    kdpc_machine *m;
    assert_int_equal(run(&m, reinit_entry, &a), KDPC_OK);
    assert_int_equal(reached_end, 1);
    KT_ASSERT_NO_VIOLATION(m, "spinlock.order");
    kdpc_machine_destroy(m);
}

static void test_reinit_of_another_lock_keeps_the_edge(void **state)
{
    (void)state;
    kdpc_machine *m;
    kdpc_status st = run(&m, reinit_entry, &c);
    assert_order_bugcheck(m, st, &a, &b);
    kdpc_machine_destroy(m);
}

/* a -> b -> c -> d: reinitialising b cuts the path from a to d, the other edges stay. */
static void middle_entry(void *ctx)
{
    (void)ctx;
    init_all();
    nest(&a, &b);
    nest(&b, &c);
    nest(&c, &d);
    KeInitializeSpinLock(&b);
    nest(&d, &a); /* no path a ->* d any more */
    reached_end = 1;
    nest(&d, &c); /* c -> d is still known */
    reached_end = 2;
}

static void test_reinit_in_the_middle_of_a_path(void **state)
{
    (void)state;
    kdpc_machine *m;
    kdpc_status st = run(&m, middle_entry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.order", 0xC4);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_int_equal(bc->params[1], addr(&c));
    assert_int_equal(bc->params[2], addr(&d));
    assert_int_equal(reached_end, 1);
    kdpc_machine_destroy(m);
}

/* A lock reinitialised while held is not forgotten (its holder still owns it). */
static void held_entry(void *ctx)
{
    (void)ctx;
    init_all();
    nest(&a, &b);
    KIRQL old;
    KeAcquireSpinLock(&b, &old);
    KeInitializeSpinLock(&b);        /* lock.reinit_held, switched off: the order is tested */
    KeAcquireSpinLockAtDpcLevel(&a); /* b -> a while a -> b is known */
    reached_end = 1;
}

static void test_a_held_lock_is_not_forgotten(void **state)
{
    (void)state;
    reached_end = 0;
    kdpc_machine *m = kt_machine(1, 0x10C4u);
    assert_int_equal(kdpc_rule_set(m, "lock.reinit_held", KDPC_RULE_OFF), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, held_entry, NULL);
    assert_order_bugcheck(m, st, &a, &b);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Pool frees                                                          */

/* y -> x -> z with x inside a pool block: freeing the block cuts y ->* z. */
static void free_entry(void *ctx)
{
    bool free_it = ctx != NULL;
    init_all();
    PKSPIN_LOCK blk = ExAllocatePoolWithTag(NonPagedPoolNx, 16 * sizeof(KSPIN_LOCK), TAG);
    assert_non_null(blk);
    for (unsigned i = 0; i < 16; i++)
        KeInitializeSpinLock(&blk[i]);
    PKSPIN_LOCK x = &blk[5];
    nest(&a, x);
    nest(x, &c);
    nest(&blk[0], &blk[15]); /* edges inside the block too */
    nest(&blk[15], x);
    if (free_it)
        ExFreePoolWithTag(blk, TAG);
    nest(&c, &a);
    reached_end = 1;
    if (!free_it)
        ExFreePoolWithTag(blk, TAG);
}

static void test_free_of_the_block_forgets_its_locks_and_their_edges(void **state)
{
    (void)state;
    kdpc_machine *m;
    assert_int_equal(run(&m, free_entry, (void *)1), KDPC_OK);
    assert_int_equal(reached_end, 1);
    KT_ASSERT_NO_VIOLATION(m, "spinlock.order");
    kdpc_machine_destroy(m);
}

static void test_without_the_free_the_path_closes_a_cycle(void **state)
{
    (void)state;
    kdpc_machine *m;
    kdpc_status st = run(&m, free_entry, NULL);
    assert_order_bugcheck(m, st, &a, &c);
    kdpc_machine_destroy(m);
}

/* A big block full of locks, each nested under the next: freed at once, then a block of the
 * same size is used the same way (perhaps at the same address: records must not survive). */
#define MANY 8192u

static void big_block_entry(void *ctx)
{
    (void)ctx;
    for (int round = 0; round < 3; round++) {
        PKSPIN_LOCK blk = ExAllocatePoolWithTag(NonPagedPoolNx, MANY * sizeof(KSPIN_LOCK), TAG);
        assert_non_null(blk);
        for (unsigned i = 0; i < MANY; i++)
            KeInitializeSpinLock(&blk[i]);
        for (unsigned i = 0; i + 1 < MANY; i++)
            nest(&blk[i + (unsigned)round % 2u], &blk[i + 1u - (unsigned)round % 2u]);
        ExFreePoolWithTag(blk, TAG);
    }
    reached_end = 1;
}

static void test_blocks_full_of_locks_freed_and_reallocated(void **state)
{
    (void)state;
    kdpc_machine *m;
    assert_int_equal(run(&m, big_block_entry, NULL), KDPC_OK);
    assert_int_equal(reached_end, 1);
    KT_ASSERT_NO_VIOLATION(m, "spinlock.order");
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* The order check                                                     */

#define CHAIN 100000u

/* l0 -> l1 -> ... -> l(n-1), then l(n-1) held while l0 is acquired: found through the whole
 * chain (no recursion as deep as the chain). */
static void chain_entry(void *ctx)
{
    PKSPIN_LOCK l = ctx;
    for (unsigned i = 0; i < CHAIN; i++)
        KeInitializeSpinLock(&l[i]);
    for (unsigned i = 0; i + 1 < CHAIN; i++)
        nest(&l[i], &l[i + 1]);
    nest(&l[CHAIN - 1], &l[0]);
    reached_end = 1;
}

static void test_a_cycle_through_a_chain_of_100k_locks(void **state)
{
    (void)state;
    PKSPIN_LOCK l = calloc(CHAIN, sizeof(KSPIN_LOCK));
    assert_non_null(l);
    kdpc_machine *m;
    kdpc_status st = run(&m, chain_entry, l);
    assert_order_bugcheck(m, st, &l[0], &l[CHAIN - 1]);
    kdpc_machine_destroy(m);
    free(l);
}

/* d -> b and d -> c known; b then c held (b -> c), d acquired: both held locks close a cycle,
 * the report names the first one taken (b), on every seed. */
static void first_held_entry(void *ctx)
{
    (void)ctx;
    init_all();
    nest(&d, &b);
    nest(&d, &c);
    KIRQL old;
    KeAcquireSpinLock(&b, &old);
    KeAcquireSpinLockAtDpcLevel(&c);
    KeAcquireSpinLockAtDpcLevel(&d);
    reached_end = 1;
}

static void test_the_report_names_the_first_held_lock_closing_a_cycle(void **state)
{
    (void)state;
    char *first = NULL;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        reached_end = 0;
        kdpc_config cfg = kt_config(1, seed);
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        kdpc_status st = kdpc_machine_run(m, first_held_entry, NULL);
        assert_order_bugcheck(m, st, &d, &b);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        if (first == NULL) {
            first = strdup(bc->message);
            assert_non_null(first);
        } else {
            assert_string_equal(bc->message, first);
        }
        kdpc_machine_destroy(m);
    }
    free(first);
}

/* Many nested pairs among 64 locks (fixed seeds), mostly in one hierarchy, with random
 * reinits: the first spinlock.order is where a naive model (an adjacency matrix, paths by a
 * search of its own) finds the first cycle. */
#define NL 64u

static KSPIN_LOCK pool_locks[NL];
static uint64_t rng;
static bool edge[NL][NL];
static int model_cycle_at = -1, steps_done;

static unsigned next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 32);
}

/* A random nested pair, mostly in the order of the lock indexes (a hierarchy), rarely against
 * it (1 in 8192); op 0: reinitialise x instead. */
static void pick(unsigned *x, unsigned *y, unsigned *op)
{
    *x = next_rand() % NL;
    *y = next_rand() % NL;
    *op = next_rand() % 16;
    if (*x > *y && next_rand() % 4096 != 0) {
        unsigned t = *x;
        *x = *y;
        *y = t;
    }
}

static bool model_reaches(unsigned from, unsigned to)
{
    bool seen[NL] = {false};
    unsigned stack[NL], sp = 0;
    stack[sp++] = from;
    seen[from] = true;
    while (sp > 0) {
        unsigned x = stack[--sp];
        if (x == to)
            return true;
        for (unsigned y = 0; y < NL; y++) {
            if (edge[x][y] && !seen[y]) {
                seen[y] = true;
                stack[sp++] = y;
            }
        }
    }
    return false;
}

static void random_entry(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < NL; i++)
        KeInitializeSpinLock(&pool_locks[i]);
    for (int step = 0; step < 60000; step++) {
        unsigned x, y, op;
        pick(&x, &y, &op);
        if (op == 0) {
            KeInitializeSpinLock(&pool_locks[x]);
            for (unsigned k = 0; k < NL; k++)
                edge[x][k] = edge[k][x] = false;
            continue;
        }
        if (x == y)
            continue;
        bool cycle = !edge[x][y] && model_reaches(y, x);
        if (cycle && model_cycle_at < 0)
            model_cycle_at = step;
        if (cycle)
            return; /* the machine bug-checks in nest() below: stop the model here */
        edge[x][y] = true;
        nest(&pool_locks[x], &pool_locks[y]);
        steps_done = step + 1;
    }
}

static void test_random_nesting_matches_a_naive_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        rng = 0xD1B54A32D192ED03ull * seed;
        memset(edge, 0, sizeof edge);
        model_cycle_at = -1;
        steps_done = 0;
        kdpc_machine *m;
        kdpc_status st = run(&m, random_entry, NULL);
        /* the model stops before the acquisition that closes a cycle: the machine never saw
         * it, so no violation up to there, and the model must have found one */
        assert_int_equal(st, KDPC_OK);
        KT_ASSERT_NO_VIOLATION(m, "spinlock.order");
        assert_true(model_cycle_at > 1000); /* a long run first: many edges made and dropped */
        kdpc_machine_destroy(m);
    }
}

/* The same runs, letting the machine meet the cycle: it stops at the model's step. */
static void random_to_cycle_entry(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < NL; i++)
        KeInitializeSpinLock(&pool_locks[i]);
    for (int step = 0; step < 60000; step++) {
        unsigned x, y, op;
        pick(&x, &y, &op);
        if (op == 0) {
            KeInitializeSpinLock(&pool_locks[x]);
            continue;
        }
        if (x == y)
            continue;
        steps_done = step;
        nest(&pool_locks[x], &pool_locks[y]);
    }
    steps_done = -1;
}

static void test_random_nesting_bugchecks_where_the_model_finds_a_cycle(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        rng = 0xD1B54A32D192ED03ull * seed;
        memset(edge, 0, sizeof edge);
        model_cycle_at = -1;
        kdpc_machine *m;
        kdpc_status st = run(&m, random_entry, NULL);
        assert_int_equal(st, KDPC_OK);
        int expect = model_cycle_at;
        kdpc_machine_destroy(m);
        rng = 0xD1B54A32D192ED03ull * seed;
        st = run(&m, random_to_cycle_entry, NULL);
        KT_ASSERT_BUGCHECK(m, st, "spinlock.order", 0xC4);
        assert_int_equal(steps_done, expect);
        kdpc_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reinit_of_the_successor_forgets_the_edge),
        cmocka_unit_test(test_reinit_of_the_predecessor_forgets_the_edge),
        cmocka_unit_test(test_reinit_of_another_lock_keeps_the_edge),
        cmocka_unit_test(test_reinit_in_the_middle_of_a_path),
        cmocka_unit_test(test_a_held_lock_is_not_forgotten),
        cmocka_unit_test(test_free_of_the_block_forgets_its_locks_and_their_edges),
        cmocka_unit_test(test_without_the_free_the_path_closes_a_cycle),
        cmocka_unit_test(test_blocks_full_of_locks_freed_and_reallocated),
        cmocka_unit_test(test_a_cycle_through_a_chain_of_100k_locks),
        cmocka_unit_test(test_the_report_names_the_first_held_lock_closing_a_cycle),
        cmocka_unit_test(test_random_nesting_matches_a_naive_model),
        cmocka_unit_test(test_random_nesting_bugchecks_where_the_model_finds_a_cycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
