/* SPDX-License-Identifier: MIT */
/*
 * test_freespace - src/base/freespace: the free ranges of an arena, first
 * fit with alignment in O(log n) (the paged pool's allocator).
 *
 * The structure is self-contained, so this test compiles its source on its
 * own (no internal symbol of libkdpc is needed). Covered: bad arguments,
 * take from an empty space, coalescing with the range before, after and both,
 * overlap refusal, alignment, the lowest-addressed fit among equal lengths,
 * removal of the first (minimum) range, growth to many ranges and shrinking
 * back to one, node reuse after frees, destroy and reuse; and random
 * operations against a naive model (a granule bitmap searched from the
 * bottom, i.e. first fit by definition) with fixed seeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/base/freespace.c"

#define G    16u /* granule: min_shift 4 */
#define MINS 4u
#define MAXS 12u /* alignments 16 .. 4096 */

static void fs_new(kdpc__freespace *fs)
{
    assert_true(kdpc__freespace_init(fs, MINS, MAXS));
}

/* The ranges in order, as "off+len off+len ..." */
static const char *ranges(const kdpc__freespace *fs)
{
    static char buf[4096];
    size_t at = 0, off, len;
    buf[0] = '\0';
    for (size_t f = 0; kdpc__freespace_next(fs, f, &off, &len); f = off + len)
        at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%zu+%zu", at ? " " : "", off, len);
    return buf;
}

static size_t take(kdpc__freespace *fs, size_t len, size_t align)
{
    size_t off = (size_t)-1;
    assert_int_equal(kdpc__freespace_take(fs, len, align, &off), KDPC__FS_OK);
    assert_true(kdpc__freespace_check(fs));
    return off;
}

static void give(kdpc__freespace *fs, size_t off, size_t len)
{
    assert_int_equal(kdpc__freespace_add(fs, off, len), KDPC__FS_OK);
    assert_true(kdpc__freespace_check(fs));
}

/* ------------------------------------------------------------------ */

static void test_init_refuses_bad_shifts(void **state)
{
    (void)state;
    kdpc__freespace fs;
    assert_false(kdpc__freespace_init(&fs, 5, 4));
    assert_false(kdpc__freespace_init(&fs, 0, KDPC__FREESPACE_ALIGNS));
    assert_false(kdpc__freespace_init(&fs, 60, 63));
    assert_true(kdpc__freespace_init(&fs, 0, KDPC__FREESPACE_ALIGNS - 1u));
    assert_true(kdpc__freespace_init(&fs, 4, 4));
    kdpc__freespace_destroy(&fs);
}

static void test_bad_arguments_change_nothing(void **state)
{
    (void)state;
    kdpc__freespace fs;
    fs_new(&fs);
    size_t off = 7;
    assert_int_equal(kdpc__freespace_add(&fs, 0, 0), KDPC__FS_BADARG);
    assert_int_equal(kdpc__freespace_add(&fs, 8, 16), KDPC__FS_BADARG);
    assert_int_equal(kdpc__freespace_add(&fs, 16, 24), KDPC__FS_BADARG);
    assert_int_equal(kdpc__freespace_add(&fs, (SIZE_MAX & ~(size_t)15) - 16u, 32),
                     KDPC__FS_OVERLAP); /* would wrap */
    give(&fs, 0, 1024);
    assert_int_equal(kdpc__freespace_take(&fs, 0, 16, &off), KDPC__FS_BADARG);
    assert_int_equal(kdpc__freespace_take(&fs, 24, 16, &off), KDPC__FS_BADARG);
    assert_int_equal(kdpc__freespace_take(&fs, 16, 48, &off), KDPC__FS_BADARG);   /* not pow2 */
    assert_int_equal(kdpc__freespace_take(&fs, 16, 8192, &off), KDPC__FS_BADARG); /* > max */
    assert_int_equal(kdpc__freespace_take(&fs, 16, 0, &off), KDPC__FS_BADARG);
    assert_int_equal(off, 7);
    assert_string_equal(ranges(&fs), "0+1024");
    assert_int_equal(fs.bytes, 1024);
    kdpc__freespace_destroy(&fs);
}

static void test_empty_space_is_full_and_small_alignments_count_as_the_granule(void **state)
{
    (void)state;
    kdpc__freespace fs;
    fs_new(&fs);
    size_t off = 7;
    assert_int_equal(kdpc__freespace_take(&fs, 16, 16, &off), KDPC__FS_FULL);
    assert_false(kdpc__freespace_next(&fs, 0, &off, &off));
    give(&fs, 32, 64);
    assert_int_equal(kdpc__freespace_take(&fs, 80, 16, &off), KDPC__FS_FULL);
    assert_int_equal(take(&fs, 16, 1), 32); /* align 1 and 8 are the granule's */
    assert_int_equal(take(&fs, 16, 8), 48);
    assert_int_equal(take(&fs, 32, 16), 64); /* exactly the rest: the space is empty again */
    assert_int_equal(fs.count, 0);
    assert_int_equal(fs.bytes, 0);
    assert_int_equal(kdpc__freespace_take(&fs, 16, 16, &off), KDPC__FS_FULL);
    kdpc__freespace_destroy(&fs);
}

static void test_add_coalesces_before_after_and_both(void **state)
{
    (void)state;
    kdpc__freespace fs;
    fs_new(&fs);
    give(&fs, 64, 16);
    give(&fs, 128, 16);
    assert_string_equal(ranges(&fs), "64+16 128+16");
    give(&fs, 80, 16); /* joins the one before */
    assert_string_equal(ranges(&fs), "64+32 128+16");
    give(&fs, 112, 16); /* joins the one after */
    assert_string_equal(ranges(&fs), "64+32 112+32");
    give(&fs, 96, 16); /* joins both */
    assert_string_equal(ranges(&fs), "64+80");
    assert_int_equal(fs.count, 1);
    give(&fs, 0, 16); /* not touching: separate */
    give(&fs, 144, 16);
    assert_string_equal(ranges(&fs), "0+16 64+96");
    assert_int_equal(fs.count, 2);
    assert_int_equal(fs.bytes, 112);
    kdpc__freespace_destroy(&fs);
}

static void test_overlapping_add_is_refused(void **state)
{
    (void)state;
    kdpc__freespace fs;
    fs_new(&fs);
    give(&fs, 64, 64);
    give(&fs, 256, 64);
    assert_int_equal(kdpc__freespace_add(&fs, 64, 64), KDPC__FS_OVERLAP);  /* the same */
    assert_int_equal(kdpc__freespace_add(&fs, 96, 16), KDPC__FS_OVERLAP);  /* inside */
    assert_int_equal(kdpc__freespace_add(&fs, 48, 32), KDPC__FS_OVERLAP);  /* its start */
    assert_int_equal(kdpc__freespace_add(&fs, 112, 32), KDPC__FS_OVERLAP); /* its end */
    assert_int_equal(kdpc__freespace_add(&fs, 0, 512), KDPC__FS_OVERLAP);  /* both */
    assert_int_equal(kdpc__freespace_add(&fs, 128, 144), KDPC__FS_OVERLAP);
    assert_string_equal(ranges(&fs), "64+64 256+64");
    assert_int_equal(fs.bytes, 128);
    kdpc__freespace_destroy(&fs);
}

static void test_take_honours_alignment_and_leaves_the_gaps_free(void **state)
{
    (void)state;
    kdpc__freespace fs;
    fs_new(&fs);
    give(&fs, 16, 3 * 4096);
    assert_int_equal(take(&fs, 4096, 4096), 4096); /* gap before and after stay free */
    assert_string_equal(ranges(&fs), "16+4080 8192+4112");
    assert_int_equal(take(&fs, 64, 64), 64); /* the lowest 64-aligned place */
    assert_string_equal(ranges(&fs), "16+48 128+3968 8192+4112");
    assert_int_equal(take(&fs, 32, 32), 32); /* the first gap holds it, to its last byte */
    assert_string_equal(ranges(&fs), "16+16 128+3968 8192+4112");
    assert_int_equal(take(&fs, 16, 16), 16);
    assert_string_equal(ranges(&fs), "128+3968 8192+4112");
    kdpc__freespace_destroy(&fs);
    /* a range long enough, but not at the alignment, is passed over */
    give(&fs, 16, 4112);
    give(&fs, 8192, 4096);
    assert_int_equal(take(&fs, 4096, 4096), 8192);
    assert_int_equal(take(&fs, 4096, 16), 16);
    assert_string_equal(ranges(&fs), "4112+16");
    kdpc__freespace_destroy(&fs);
}

static void test_lowest_of_equal_ranges_is_taken_first(void **state)
{
    (void)state;
    kdpc__freespace fs;
    fs_new(&fs);
    for (size_t i = 0; i < 64; i++)
        give(&fs, 4096 * (63 - i), 256); /* 64 ranges of equal length, added top down */
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(take(&fs, 256, 256), 4096 * i); /* the minimum goes each time */
    assert_int_equal(fs.count, 0);
    kdpc__freespace_destroy(&fs);
}

static void test_removing_the_minimum_range_and_splitting_it(void **state)
{
    (void)state;
    kdpc__freespace fs;
    fs_new(&fs);
    for (size_t i = 0; i < 100; i++)
        give(&fs, 1024 * i, 512);
    assert_int_equal(take(&fs, 512, 16), 0); /* the first range, whole */
    assert_int_equal(fs.count, 99);
    assert_int_equal(take(&fs, 16, 16), 1024); /* the new first, from its start */
    assert_int_equal(take(&fs, 480, 16), 1040);
    assert_int_equal(take(&fs, 16, 16), 1520); /* the last granule of it: gone */
    assert_int_equal(fs.count, 98);
    size_t off, len;
    assert_true(kdpc__freespace_next(&fs, 0, &off, &len));
    assert_int_equal(off, 2048);
    assert_int_equal(len, 512);
    kdpc__freespace_destroy(&fs);
}

static void test_grows_to_many_ranges_and_shrinks_back_with_node_reuse(void **state)
{
    (void)state;
    kdpc__freespace fs;
    fs_new(&fs);
    enum { N = 20000 };
    give(&fs, 0, (size_t)2 * N * G);
    for (size_t i = 0; i < 2u * N; i++)
        assert_int_equal(take(&fs, G, G), i * G);
    assert_int_equal(fs.count, 0);
    for (size_t i = 0; i < 2u * N; i += 2) /* every other granule: N separate ranges */
        assert_int_equal(kdpc__freespace_add(&fs, i * G, G), KDPC__FS_OK);
    assert_true(kdpc__freespace_check(&fs));
    assert_int_equal(fs.count, N);
    assert_true(fs.root->h <= 21); /* AVL: at most 1.44 log2(N + 2) */
    size_t off = 0;
    assert_int_equal(kdpc__freespace_take(&fs, 2 * G, G, &off), KDPC__FS_FULL);
    for (size_t i = 1; i < 2u * N; i += 2) /* the rest: everything merges into one */
        assert_int_equal(kdpc__freespace_add(&fs, i * G, G), KDPC__FS_OK);
    assert_true(kdpc__freespace_check(&fs));
    assert_int_equal(fs.count, 1);
    assert_int_equal(fs.bytes, (size_t)2 * N * G);
    assert_true(fs.nspare > 0 && fs.nspare <= SPARE_MAX); /* kept for reuse, bounded */
    size_t spare = fs.nspare;
    assert_int_equal(take(&fs, G, 64), 0);
    assert_int_equal(take(&fs, G, 64), 64); /* a split: a node comes from the spares */
    assert_int_equal(fs.nspare, spare - 1u);
    kdpc__freespace_destroy(&fs);
    assert_int_equal(fs.count, 0);
    assert_null(fs.root);
    give(&fs, 0, 4096); /* usable after destroy */
    assert_int_equal(take(&fs, 4096, 4096), 0);
    kdpc__freespace_destroy(&fs);
}

/* ------------------------------------------------------------------ */
/* Random operations against a naive model                              */

#define MODEL_GRANULES 4096u /* a 64 KiB arena */
#define LIVE_MAX       512u

typedef struct model {
    unsigned char used[MODEL_GRANULES]; /* 1: taken (or never given) */
} model;

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state += 0x9E3779B97F4A7C15ull; /* splitmix64 */
    uint64_t z = rng_state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* First fit by definition: the lowest aligned offset whose granules are all free. */
static bool model_take(model *md, size_t len, size_t align, size_t *off)
{
    size_t n = len / G, step = align < G ? 1 : align / G;
    for (size_t at = 0; at + n <= MODEL_GRANULES; at += step) {
        size_t i = 0;
        while (i < n && !md->used[at + i])
            i++;
        if (i == n) {
            memset(&md->used[at], 1, n);
            *off = at * G;
            return true;
        }
    }
    return false;
}

/* The model's free runs must be the tree's ranges, in order. */
static void compare(const model *md, const kdpc__freespace *fs)
{
    size_t f = 0, off = 0, len = 0, runs = 0, bytes = 0;
    for (size_t i = 0; i < MODEL_GRANULES;) {
        if (md->used[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < MODEL_GRANULES && !md->used[j])
            j++;
        assert_true(kdpc__freespace_next(fs, f, &off, &len));
        assert_int_equal(off, i * G);
        assert_int_equal(len, (j - i) * G);
        f = off + len;
        runs++;
        bytes += len;
        i = j;
    }
    assert_false(kdpc__freespace_next(fs, f, &off, &len));
    assert_int_equal(fs->count, runs);
    assert_int_equal(fs->bytes, bytes);
}

static void random_against_model(uint64_t seed, unsigned ops)
{
    rng_state = seed;
    static model md;
    memset(md.used, 0, sizeof(md.used));
    kdpc__freespace fs;
    fs_new(&fs);
    give(&fs, 0, (size_t)MODEL_GRANULES * G);
    size_t live_off[LIVE_MAX], live_len[LIVE_MAX];
    unsigned live = 0, taken = 0, full = 0;
    for (unsigned op = 0; op < ops; op++) {
        bool do_take = live == 0 || (live < LIVE_MAX && rnd() % 100 < 55);
        if (do_take) {
            /* mostly small, some page-sized; the alignment as the pool picks it, or any */
            size_t len = rnd() % 8 == 0 ? G * (1 + rnd() % 600) : G * (1 + rnd() % 40);
            size_t align = (size_t)1 << (rnd() % 13);
            size_t a_off = 0, m_off = 0;
            int r = kdpc__freespace_take(&fs, len, align, &a_off);
            bool ok = model_take(&md, len, align, &m_off);
            assert_int_equal(r == KDPC__FS_OK, ok);
            if (!ok) {
                assert_int_equal(r, KDPC__FS_FULL);
                full++;
            } else {
                assert_int_equal(a_off, m_off);
                live_off[live] = a_off;
                live_len[live] = len;
                live++;
                taken++;
            }
        } else {
            unsigned i = (unsigned)(rnd() % live);
            size_t off = live_off[i], len = live_len[i];
            if (len > G && rnd() % 4 == 0) { /* give part back now, the rest later */
                size_t part = G * (1 + rnd() % (len / G - 1));
                give(&fs, off + len - part, part);
                memset(&md.used[(off + len - part) / G], 0, part / G);
                live_len[i] = len - part;
            } else {
                give(&fs, off, len);
                memset(&md.used[off / G], 0, len / G);
                live_off[i] = live_off[live - 1u];
                live_len[i] = live_len[live - 1u];
                live--;
            }
        }
        assert_true(kdpc__freespace_check(&fs));
        if (op % 64 == 0)
            compare(&md, &fs);
    }
    compare(&md, &fs);
    assert_true(taken > ops / 4);
    assert_true(full > 0); /* the arena did run full now and then */
    while (live > 0) {
        live--;
        give(&fs, live_off[live], live_len[live]);
    }
    assert_string_equal(ranges(&fs), "0+65536");
    kdpc__freespace_destroy(&fs);
}

static void test_random_operations_match_a_naive_first_fit_model(void **state)
{
    (void)state;
    static const uint64_t seeds[] = {1, 2, 42, 0xC0FFEE};
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        random_against_model(seeds[i], 6000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_refuses_bad_shifts),
        cmocka_unit_test(test_bad_arguments_change_nothing),
        cmocka_unit_test(test_empty_space_is_full_and_small_alignments_count_as_the_granule),
        cmocka_unit_test(test_add_coalesces_before_after_and_both),
        cmocka_unit_test(test_overlapping_add_is_refused),
        cmocka_unit_test(test_take_honours_alignment_and_leaves_the_gaps_free),
        cmocka_unit_test(test_lowest_of_equal_ranges_is_taken_first),
        cmocka_unit_test(test_removing_the_minimum_range_and_splitting_it),
        cmocka_unit_test(test_grows_to_many_ranges_and_shrinks_back_with_node_reuse),
        cmocka_unit_test(test_random_operations_match_a_naive_first_fit_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
