/* SPDX-License-Identifier: MIT */
/*
 * test_trace_fastpath.c - a streamed run whose spool is the only sink takes the inline fast
 * path of the trace for most events (src/trace/trace.h) and the full path for the rest: the
 * digest and the recorded events must be those of a run that takes the full path for every
 * event (a ring, a report). The scenario mixes events that fit the fast path with events that
 * do not: object numbers past 4095 (many KDPCs), a delta time past 8 us (a stall), a DPC that
 * ran long (a large arg), spin locks held (locks), more than 64 routines, objects and routines
 * seen for the first time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kdpc/kdpc.h>
#include <wdm.h>

#include "kdpc_test.h"

#define NDPC  5000u /* past the 4095 object numbers of a tiny record */
#define NROUT 72u   /* past the 64 routines of a tiny record */

static KDPC dpcs[NDPC];
static KSPIN_LOCK locks[4];
static ULONG_PTR slower = NDPC; /* this DPC stalls 1 us longer */

/* Each routine takes a lock or two now and then, and stalls now and then. */
static void body_of(unsigned r, PKDPC Dpc)
{
    ULONG_PTR i = (ULONG_PTR)(Dpc - dpcs);
    if (i % 7u == 0) {
        KeAcquireSpinLockAtDpcLevel(&locks[0]);
        KeAcquireSpinLockAtDpcLevel(&locks[1 + r % 3u]);
        KeReleaseSpinLockFromDpcLevel(&locks[1 + r % 3u]);
        KeReleaseSpinLockFromDpcLevel(&locks[0]);
    }
    if (i % 11u == 0)
        KeStallExecutionProcessor(i == slower ? 13 : 12); /* 12 us: a delta past 8 us */
}

#define ROUTINE(n)                                                                                 \
    static void FastDpc##n(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)                           \
    {                                                                                              \
        (void)Context;                                                                             \
        (void)A1;                                                                                  \
        (void)A2;                                                                                  \
        body_of(n, Dpc);                                                                           \
    }
#define ROUTINES8(n)                                                                               \
    ROUTINE(n##0)                                                                                  \
    ROUTINE(n##1)                                                                                  \
    ROUTINE(n##2) ROUTINE(n##3) ROUTINE(n##4) ROUTINE(n##5) ROUTINE(n##6) ROUTINE(n##7)
ROUTINES8(1)
ROUTINES8(2)
ROUTINES8(3)
ROUTINES8(4)
ROUTINES8(5)
ROUTINES8(6)
ROUTINES8(7)
ROUTINES8(8)
ROUTINES8(9)
#define ENTRIES8(n)                                                                                \
    FastDpc##n##0, FastDpc##n##1, FastDpc##n##2, FastDpc##n##3, FastDpc##n##4, FastDpc##n##5,      \
        FastDpc##n##6, FastDpc##n##7
static PKDEFERRED_ROUTINE const routines[NROUT] = {ENTRIES8(1), ENTRIES8(2), ENTRIES8(3),
                                                   ENTRIES8(4), ENTRIES8(5), ENTRIES8(6),
                                                   ENTRIES8(7), ENTRIES8(8), ENTRIES8(9)};

static void body(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < 4; i++)
        KeInitializeSpinLock(&locks[i]);
    for (unsigned i = 0; i < NDPC; i++)
        KeInitializeDpc(&dpcs[i], routines[(i * 5u) % NROUT], NULL);
    /* first the same few again and again (repeats), then all of them, twice */
    for (unsigned i = 0; i < 3000u; i++)
        KeInsertQueueDpc(&dpcs[i % 3u], NULL, NULL);
    for (unsigned pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < NDPC; i++) {
            KeInsertQueueDpc(&dpcs[i], NULL, NULL);
            if (i % 13u == 0) {
                KIRQL old;
                KeAcquireSpinLock(&locks[3], &old);
                KeInsertQueueDpc(&dpcs[(i + 1u) % NDPC], NULL, NULL);
                KeReleaseSpinLock(&locks[3], old);
            }
        }
}

typedef struct outcome {
    uint64_t digest, total;
} outcome;

/* Run the scenario with @capacity (ring), @stream and @report; export the JSON to @json when
 * not NULL. */
static outcome run(size_t capacity, bool stream, bool report, const char *json)
{
    kdpc_config cfg = kt_config(2, 11);
    cfg.trace_capacity = capacity;
    cfg.trace_stream = stream;
    cfg.report = report;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    outcome o = {kdpc_trace_digest(m), kdpc_trace_total(m)};
    if (json != NULL)
        assert_int_equal(kdpc_trace_export_json(m, json), KDPC_OK);
    kdpc_machine_destroy(m);
    return o;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The digest does not depend on which sinks are on, so not on which path each event took. */
static void test_digest_same_for_every_sink(void **state)
{
    (void)state;
    outcome stream = run(0, true, false, NULL); /* the fast path where it can */
    outcome ring = run(1u << 20, false, false, NULL);
    outcome report = run(0, false, true, NULL);
    outcome all = run(1u << 20, true, true, NULL);
    assert_true(stream.total > 20000u);
    assert_int_equal(stream.total, ring.total);
    assert_int_equal(stream.total, report.total);
    assert_int_equal(stream.total, all.total);
    assert_true(stream.digest == ring.digest);
    assert_true(stream.digest == report.digest);
    assert_true(stream.digest == all.digest);
    /* and it is a digest of the run: one DPC that stalls 1 us longer gives another one */
    slower = 77;
    outcome other = run(0, true, false, NULL);
    slower = NDPC;
    assert_int_equal(other.total, stream.total);
    assert_true(other.digest != stream.digest);
}

/* The records the fast path wrote read back as the events a full ring kept: the exports of
 * the two runs are the same bytes. */
static void test_spool_reads_back_as_the_ring(void **state)
{
    (void)state;
    char a[64], b[64];
    snprintf(a, sizeof(a), "/tmp/kdpc-fastpath-%ld-a.json", (long)getpid());
    snprintf(b, sizeof(b), "/tmp/kdpc-fastpath-%ld-b.json", (long)getpid());
    outcome s = run(0, true, false, a);
    outcome r = run(1u << 20, false, false, b);
    assert_int_equal(s.total, r.total);
    size_t na = 0, nb = 0;
    char *ja = slurp(a, &na);
    char *jb = slurp(b, &nb);
    (void)unlink(a);
    (void)unlink(b);
    assert_int_equal(na, nb);
    assert_true(memcmp(ja, jb, na) == 0);
    free(ja);
    free(jb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_same_for_every_sink),
        cmocka_unit_test(test_spool_reads_back_as_the_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
