/* SPDX-License-Identifier: MIT */
/*
 * test_trace_json.c - kdpc_trace_export_json (Chrome / Perfetto trace-event
 * JSON) and kdpc_trace_timeline (ASCII): the JSON parses strictly, slices are
 * balanced and nested per track, flows pair up, the IRQL counters replay the
 * run's IRQLs, violations carry rule and guideline, a bug-checked run still
 * exports (unfinished slices), bad paths fail with KDPC_EOUTPUT and leave no
 * file; the timeline of a tiny run verbatim, its wrapping and bad arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kdpc_test.h"
#include "kt_json.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE 9

static KDPC FastDpc, SlowDpc, GoneDpc;
static PKINTERRUPT Interrupt;
static volatile LONG Pending;
static kdpc_status InsideExport = KDPC_OK, InsideTimeline = KDPC_OK;
static ULONG SlowStall = 5;

static void TjFastDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
}

static void TjSlowDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
    KeStallExecutionProcessor(SlowStall);
}

static void TjGoneDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
}

static void TjCrashDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
    KeBugCheckEx(0xDEAD, 1, 2, 3, 4);
}

static BOOLEAN TjIsr(PKINTERRUPT i, PVOID c)
{
    (void)i, (void)c;
    if (InterlockedExchange(&Pending, 0) == 0)
        return FALSE;
    KeStallExecutionProcessor(3);
    KeInsertQueueDpc(&FastDpc, NULL, NULL);
    return TRUE;
}

static void delay_us(LONGLONG us)
{
    LARGE_INTEGER t = {.QuadPart = -10 * us};
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* 3 interrupts, each queueing FastDpc from its ISR; 3 SlowDpc calls; one DPC queued and
 * removed before it could run. */
static void body(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    InsideExport = kdpc_trace_export_json(m, "/nonexistent-kdpc-dir/inside.json");
    InsideTimeline = kdpc_trace_timeline(m, stdout, 80, 0, 0, 0);
    KeInitializeDpc(&FastDpc, TjFastDpc, NULL);
    KeInitializeDpc(&SlowDpc, TjSlowDpc, NULL);
    KeInitializeDpc(&GoneDpc, TjGoneDpc, NULL);
    assert_int_equal(
        IoConnectInterrupt(&Interrupt, TjIsr, NULL, NULL, LINE, 5, 5, Latched, FALSE, 1, FALSE),
        STATUS_SUCCESS);
    for (int i = 0; i < 3; i++) {
        InterlockedExchange(&Pending, 1);
        kdpc_line_assert(m, LINE);
        delay_us(100);
    }
    for (int i = 0; i < 3; i++) {
        KeInsertQueueDpc(&SlowDpc, NULL, NULL);
        delay_us(100);
    }
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeInsertQueueDpc(&GoneDpc, NULL, NULL);
    KeRemoveQueueDpc(&GoneDpc);
    KeLowerIrql(old);
    IoDisconnectInterrupt(Interrupt);
}

static void crash_body(void *ctx)
{
    (void)ctx;
    static KDPC crash;
    KeInitializeDpc(&crash, TjCrashDpc, NULL);
    KeInsertQueueDpc(&crash, NULL, NULL);
    delay_us(10);
}

static void name_routines(kdpc_machine *m)
{
    KDPC_NAME(m, TjIsr);
    KDPC_NAME(m, TjFastDpc);
    KDPC_NAME(m, TjSlowDpc);
    KDPC_NAME(m, TjGoneDpc);
    KDPC_NAME(m, TjCrashDpc);
    KDPC_NAME(m, body);
    KDPC_NAME(m, crash_body);
}

static kdpc_machine *traced(unsigned cpus, uint64_t seed, size_t capacity)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.trace_capacity = capacity;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    name_routines(m);
    return m;
}

/* A fresh path in a fresh temporary directory. */
static char Dir[64], Path[128];

static void fresh_path(void)
{
    snprintf(Dir, sizeof Dir, "/tmp/kdpc-tj-XXXXXX");
    assert_non_null(mkdtemp(Dir));
    snprintf(Path, sizeof Path, "%s/trace.json", Dir);
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

static void remove_path(void)
{
    unlink(Path);
    rmdir(Dir);
}

static kt_json *load(const char *path)
{
    char err[160];
    kt_json *doc = kt_json_parse_file(path, err, sizeof err);
    if (doc == NULL)
        fail_msg("%s is not valid JSON: %s", path, err);
    assert_int_equal(doc->type, KT_JSON_OBJECT);
    assert_string_equal(kt_json_str(doc, "displayTimeUnit"), "ns");
    assert_int_equal(kt_json_get(doc, "traceEvents")->type, KT_JSON_ARRAY);
    assert_int_equal(kt_json_get(doc, "metadata")->type, KT_JSON_OBJECT);
    return doc;
}

static const char *ph_of(const kt_json *e)
{
    const char *ph = kt_json_str(e, "ph");
    assert_non_null(ph);
    return ph;
}

/* Balanced and nested: per tid, every E closes the innermost open B and time never goes back;
 * nothing is open at the end. Returns the number of B events, and of them those with
 * args.unfinished in *unfinished. */
static size_t check_balanced(const kt_json *doc, size_t *unfinished)
{
    enum { TIDS = 8, DEPTH = 64 };
    struct {
        double tid;
        size_t depth;
        double last;
    } t[TIDS];
    size_t nt = 0, begins = 0;
    *unfinished = 0;
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        const char *ph = ph_of(e);
        if (strcmp(ph, "B") != 0 && strcmp(ph, "E") != 0)
            continue;
        double tid = kt_json_num(e, "tid", -1), ts = kt_json_num(e, "ts", -1);
        assert_true(tid >= 0 && ts >= 0);
        size_t k = 0;
        while (k < nt && t[k].tid != tid)
            k++;
        if (k == nt) {
            assert_true(nt < TIDS);
            t[nt].tid = tid;
            t[nt].depth = 0;
            t[nt].last = 0;
            nt++;
        }
        assert_true(ts >= t[k].last);
        t[k].last = ts;
        if (ph[0] == 'B') {
            begins++;
            assert_non_null(kt_json_str(e, "name"));
            t[k].depth++;
            assert_true(t[k].depth < DEPTH);
        } else {
            if (t[k].depth == 0)
                fail_msg("E without B on tid %g at %g us", tid, ts);
            t[k].depth--;
            const kt_json *args = kt_json_get(e, "args");
            const kt_json *u = kt_json_get(args, "unfinished");
            if (u != NULL && u->type == KT_JSON_TRUE)
                (*unfinished)++;
        }
    }
    for (size_t k = 0; k < nt; k++) {
        if (t[k].depth != 0)
            fail_msg("tid %g: %zu slices left open", t[k].tid, t[k].depth);
    }
    return begins;
}

/* A slice on @tid is open at @ts: a zero-or-longer X around it, or more B than E up to it
 * (a viewer draws an arrow only from a slice: it binds the start to the slice around it). */
static bool enclosed(const kt_json *evs, double tid, double ts)
{
    long depth = 0;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        if (kt_json_num(e, "tid", -1) != tid)
            continue;
        const char *ph = ph_of(e);
        double t = kt_json_num(e, "ts", -1);
        if (ph[0] == 'X' && t <= ts && ts <= t + kt_json_num(e, "dur", -1))
            return true;
        if (ph[0] == 'B' && t <= ts)
            depth++;
        if (ph[0] == 'E' && t < ts)
            depth--;
    }
    return depth > 0;
}

/* Every flow start has one end with the same id and "bp":"e", and the other way round, and
 * leaves from a slice. Returns the number of flows of category @cat. */
static size_t check_flows(const kt_json *doc, const char *cat)
{
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    size_t n = 0;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *s = kt_json_at(evs, i);
        if (strcmp(ph_of(s), "s") != 0)
            continue;
        double id = kt_json_num(s, "id", -1);
        size_t ends = 0;
        for (size_t j = 0; j < kt_json_len(evs); j++) {
            const kt_json *f = kt_json_at(evs, j);
            if (strcmp(ph_of(f), "f") == 0 && kt_json_num(f, "id", -2) == id) {
                ends++;
                assert_string_equal(kt_json_str(f, "bp"), "e");
                assert_string_equal(kt_json_str(f, "cat"), kt_json_str(s, "cat"));
                assert_true(kt_json_num(f, "ts", -1) >= kt_json_num(s, "ts", -1));
            }
        }
        assert_int_equal(ends, 1);
        if (!enclosed(evs, kt_json_num(s, "tid", -1), kt_json_num(s, "ts", -1)))
            fail_msg("flow %g (%s) starts outside any slice on tid %g at %g us", id,
                     kt_json_str(s, "cat"), kt_json_num(s, "tid", -1), kt_json_num(s, "ts", -1));
        if (strcmp(kt_json_str(s, "cat"), cat) == 0)
            n++;
    }
    size_t starts = 0, fends = 0;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const char *ph = ph_of(kt_json_at(evs, i));
        starts += strcmp(ph, "s") == 0;
        fends += strcmp(ph, "f") == 0;
    }
    assert_int_equal(starts, fends);
    return n;
}

static size_t count_slices(const kt_json *doc, const char *cat, const char *name)
{
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    size_t n = 0;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        if (strcmp(ph_of(e), "B") == 0 && strcmp(kt_json_str(e, "cat"), cat) == 0 &&
            (name == NULL || strcmp(kt_json_str(e, "name"), name) == 0))
            n++;
    }
    return n;
}

static void test_json_valid_balanced_flows(void **state)
{
    (void)state;
    kdpc_machine *m = traced(2, 7, 1u << 16);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    assert_int_equal(InsideExport, KDPC_EBUSY); /* from simulated code */
    assert_int_equal(InsideTimeline, KDPC_EBUSY);
    fresh_path();
    assert_int_equal(kdpc_trace_export_json(m, Path), KDPC_OK);
    assert_int_equal(dir_entries(Dir), 1); /* no temporary file left beside it */
    kt_json *doc = load(Path);
    const kt_json *meta = kt_json_get(doc, "metadata");
    assert_int_equal(kt_json_get(meta, "complete")->type, KT_JSON_TRUE);
    assert_true(kt_json_num(meta, "events", 0) == (double)kdpc_trace_total(m));
    assert_true(kt_json_num(meta, "seed", 0) == 7);
    size_t unfinished;
    check_balanced(doc, &unfinished);
    assert_int_equal(count_slices(doc, "dpc", "TjFastDpc"), 3);
    assert_int_equal(count_slices(doc, "dpc", "TjSlowDpc"), 3);
    assert_int_equal(count_slices(doc, "dpc", "TjGoneDpc"), 0);
    assert_int_equal(count_slices(doc, "isr", "TjIsr"), 3);
    assert_true(count_slices(doc, "thread", NULL) >= 1);
    /* Every DPC that ran has its arrow from the insert; the removed one has none. */
    assert_int_equal(check_flows(doc, "dpc"), 6);
    if (kt_json_num(meta, "flows_without_end", -1) != 1)
        fail_msg("flows_without_end %g", kt_json_num(meta, "flows_without_end", -1));
    /* Names of the process and of each CPU's track. */
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    size_t cpu_names = 0;
    bool process = false;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        if (strcmp(ph_of(e), "M") != 0)
            continue;
        const char *n = kt_json_str(kt_json_get(e, "args"), "name");
        if (strcmp(kt_json_str(e, "name"), "process_name") == 0)
            process = strcmp(n, "kdpc machine, seed 7") == 0;
        if (strcmp(kt_json_str(e, "name"), "thread_name") == 0 && strncmp(n, "CPU ", 4) == 0)
            cpu_names++;
    }
    assert_true(process);
    assert_int_equal(cpu_names, 2);
    kt_json_free(doc);
    remove_path();
    kdpc_machine_destroy(m);
}

/* The IRQL counter of each CPU takes the values the events give, in order (no repeats). */
static void test_irql_counters_replay_the_run(void **state)
{
    (void)state;
    kdpc_machine *m = traced(2, 8, 1u << 16);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    fresh_path();
    assert_int_equal(kdpc_trace_export_json(m, Path), KDPC_OK);
    kt_json *doc = load(Path);
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    for (unsigned cpu = 0; cpu < 2; cpu++) {
        char name[32];
        snprintf(name, sizeof name, "IRQL CPU %u", cpu);
        size_t j = 0, raised = 0;
        int last = -1;
        for (size_t i = 0; i < kdpc_trace_count(m); i++) {
            const kdpc_event *ev = kdpc_trace_event(m, i);
            if (ev->cpu != cpu || (int)ev->irql == last)
                continue;
            last = ev->irql;
            /* the next counter event of this CPU */
            const kt_json *c = NULL;
            for (; j < kt_json_len(evs) && c == NULL; j++) {
                const kt_json *e = kt_json_at(evs, j);
                if (strcmp(ph_of(e), "C") == 0 && strcmp(kt_json_str(e, "name"), name) == 0)
                    c = e;
            }
            assert_non_null(c);
            assert_true(kt_json_num(kt_json_get(c, "args"), "irql", -1) == ev->irql);
            assert_true(kt_json_num(c, "ts", -1) * 1000.0 - (double)ev->time_ns < 0.5 &&
                        (double)ev->time_ns - kt_json_num(c, "ts", -1) * 1000.0 < 0.5);
            raised += ev->irql > 0;
        }
        if (cpu == 0)
            assert_true(raised > 0);
    }
    kt_json_free(doc);
    remove_path();
    kdpc_machine_destroy(m);
}

static void test_violation_instant(void **state)
{
    (void)state;
    kdpc_machine *m = traced(1, 9, 1u << 16);
    SlowStall = 150; /* dpc.too_long (G8) */
    kdpc_status st = kdpc_machine_run(m, body, NULL);
    SlowStall = 5;
    assert_int_equal(st, KDPC_OK);
    assert_true(kdpc_machine_violation_count(m) > 0);
    fresh_path();
    assert_int_equal(kdpc_trace_export_json(m, Path), KDPC_OK);
    kt_json *doc = load(Path);
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    size_t found = 0;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        if (strcmp(ph_of(e), "i") != 0 || strcmp(kt_json_str(e, "cat"), "violation") != 0)
            continue;
        const kt_json *args = kt_json_get(e, "args");
        if (strcmp(kt_json_str(args, "rule"), "dpc.too_long") != 0)
            continue;
        found++;
        assert_string_equal(kt_json_str(e, "name"), "dpc.too_long");
        assert_true(strlen(kt_json_str(args, "guideline")) > 0);
        assert_true(strlen(kt_json_str(args, "message")) > 0);
        assert_int_equal(kt_json_get(args, "fatal")->type, KT_JSON_FALSE);
        assert_string_equal(kt_json_str(args, "routine"), "TjSlowDpc");
    }
    assert_int_equal(found, 3);
    size_t unfinished;
    check_balanced(doc, &unfinished);
    kt_json_free(doc);
    remove_path();
    kdpc_machine_destroy(m);
}

static void test_bugcheck_run_exports_unfinished(void **state)
{
    (void)state;
    kdpc_machine *m = traced(1, 10, 1u << 16);
    assert_int_equal(kdpc_machine_run(m, crash_body, NULL), KDPC_BUGCHECK);
    fresh_path();
    assert_int_equal(kdpc_trace_export_json(m, Path), KDPC_OK);
    kt_json *doc = load(Path);
    size_t unfinished;
    check_balanced(doc, &unfinished);
    assert_true(unfinished >= 1); /* the DPC that bug checked, at least */
    assert_int_equal(count_slices(doc, "dpc", "TjCrashDpc"), 1);
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    bool fatal = false;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        if (strcmp(ph_of(e), "i") == 0 && strcmp(kt_json_str(e, "cat"), "violation") == 0) {
            const kt_json *f = kt_json_get(kt_json_get(e, "args"), "fatal");
            fatal = fatal || (f != NULL && f->type == KT_JSON_TRUE);
        }
    }
    assert_true(fatal);
    kt_json_free(doc);
    remove_path();
    kdpc_machine_destroy(m);
}

/* A ring that dropped the oldest events: still valid and balanced, and the file says so. */
static void test_dropped_events_said(void **state)
{
    (void)state;
    kdpc_machine *m = traced(2, 11, 37);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    assert_true(kdpc_trace_total(m) > 37);
    fresh_path();
    assert_int_equal(kdpc_trace_export_json(m, Path), KDPC_OK);
    kt_json *doc = load(Path);
    const kt_json *meta = kt_json_get(doc, "metadata");
    assert_int_equal(kt_json_get(meta, "complete")->type, KT_JSON_FALSE);
    assert_true(kt_json_num(meta, "dropped_events", 0) == (double)(kdpc_trace_total(m) - 37));
    size_t unfinished;
    check_balanced(doc, &unfinished);
    check_flows(doc, "dpc");
    kt_json_free(doc);
    remove_path();
    kdpc_machine_destroy(m);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    char chunk[4096];
    for (size_t n; (n = fread(chunk, 1, sizeof chunk, f)) > 0;)
        fwrite(chunk, 1, n, mem);
    fclose(f);
    fclose(mem);
    return buf;
}

/* The spool (cfg.trace_stream, no ring) gives the same file as a ring that kept every event
 * of the same run. */
static void test_spool_equals_full_ring(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 19);
    cfg.trace_stream = true;
    kdpc_machine *ms = kdpc_machine_create(&cfg);
    assert_non_null(ms);
    name_routines(ms);
    kdpc_machine *mr = traced(2, 19, 1u << 16);
    assert_int_equal(kdpc_machine_run(ms, body, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(mr, body, NULL), KDPC_OK);
    assert_int_equal(kdpc_trace_digest(ms), kdpc_trace_digest(mr));
    fresh_path();
    char other[160];
    snprintf(other, sizeof other, "%s/ring.json", Dir);
    assert_int_equal(kdpc_trace_export_json(ms, Path), KDPC_OK);
    assert_int_equal(kdpc_trace_export_json(mr, other), KDPC_OK);
    kt_json *doc = load(Path);
    assert_int_equal(kt_json_get(kt_json_get(doc, "metadata"), "complete")->type, KT_JSON_TRUE);
    size_t unfinished;
    check_balanced(doc, &unfinished);
    assert_int_equal(unfinished, 0);
    assert_int_equal(check_flows(doc, "dpc"), 6);
    kt_json_free(doc);
    char *a = slurp(Path), *b = slurp(other);
    assert_string_equal(a, b);
    free(a);
    free(b);
    unlink(other);
    remove_path();
    kdpc_machine_destroy(ms);
    kdpc_machine_destroy(mr);
}

/* A device event whose handler pulses the device's line: the arrow goes from the event, on
 * the device's own track (named after it), to the ISR. */
#define DEV_LINE 11

static void DevFire(kdpc_device *dev, void *ctx, void *arg)
{
    (void)ctx, (void)arg;
    assert_int_equal(kdpc_device_interrupt(dev, 0), KDPC_OK);
}

static BOOLEAN TjDevIsr(PKINTERRUPT i, PVOID c)
{
    (void)i, (void)c;
    return TRUE;
}

static kdpc_device *Dev;

static void dev_body(void *ctx)
{
    (void)ctx;
    PKINTERRUPT irq;
    assert_int_equal(
        IoConnectInterrupt(&irq, TjDevIsr, NULL, NULL, DEV_LINE, 5, 5, Latched, FALSE, 1, FALSE),
        STATUS_SUCCESS);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(kdpc_device_schedule(Dev, 5000, DevFire, NULL, 0, NULL), KDPC_OK);
        delay_us(50);
    }
    IoDisconnectInterrupt(irq);
}

static void test_device_event_flow(void **state)
{
    (void)state;
    kdpc_machine *m = traced(1, 20, 1u << 16);
    KDPC_NAME(m, TjDevIsr);
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = "tjdev\"0\xff"; /* a byte that is not UTF-8: U+FFFD in the file */
    d.nlines = 1;
    d.lines[0].line = DEV_LINE;
    assert_int_equal(kdpc_device_plug(m, &d, &Dev), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, dev_body, NULL), KDPC_OK);
    fresh_path();
    assert_int_equal(kdpc_trace_export_json(m, Path), KDPC_OK);
    kt_json *doc = load(Path);
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    double dev_tid = -1;
    size_t dev_events = 0;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        if (strcmp(ph_of(e), "M") == 0 && strcmp(kt_json_str(e, "name"), "thread_name") == 0 &&
            strcmp(kt_json_str(kt_json_get(e, "args"), "name"), "tjdev\"0\xef\xbf\xbd") == 0)
            dev_tid = kt_json_num(e, "tid", -1);
    }
    assert_true(dev_tid >= 100000);
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        if (strcmp(ph_of(e), "i") == 0 && strcmp(kt_json_str(e, "name"), "device-event") == 0) {
            assert_true(kt_json_num(e, "tid", -1) == dev_tid);
            dev_events++;
        }
        if (strcmp(ph_of(e), "s") == 0 && strcmp(kt_json_str(e, "cat"), "interrupt") == 0)
            assert_true(kt_json_num(e, "tid", -1) == dev_tid);
        if (strcmp(ph_of(e), "f") == 0 && strcmp(kt_json_str(e, "cat"), "interrupt") == 0)
            assert_true(kt_json_num(e, "tid", -1) == 0);
    }
    assert_int_equal(dev_events, 2);
    assert_int_equal(count_slices(doc, "isr", "TjDevIsr"), 2);
    assert_int_equal(check_flows(doc, "interrupt"), 2);
    kt_json_free(doc);
    remove_path();
    kdpc_machine_destroy(m);
}

/* IRPs through IoStartPacket: the first starts at once, the second is queued (the device is
 * busy) and started by IoStartNextPacket; each has one arrow, from IoStartPacket to its
 * IoCompleteRequest. */
static PDEVICE_OBJECT PktDev;
static PIRP Current;
static KEVENT PktDone[2];

static void TjStartIo(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    Current = irp;
}

static NTSTATUS TjRead(PDEVICE_OBJECT dev, PIRP irp)
{
    IoMarkIrpPending(irp);
    IoStartPacket(dev, irp, NULL, NULL);
    return STATUS_PENDING;
}

static NTSTATUS TjEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    (void)reg;
    NTSTATUS st = IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &PktDev);
    if (!NT_SUCCESS(st))
        return st;
    drv->MajorFunction[IRP_MJ_READ] = TjRead;
    drv->DriverStartIo = TjStartIo;
    return STATUS_SUCCESS;
}

static NTSTATUS TjDone(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
    (void)dev, (void)irp;
    KeSetEvent(&PktDone[(uintptr_t)ctx], IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Complete the IRP StartIo holds, after starting the next one. */
static void finish_current(void)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PIRP irp = Current;
    Current = NULL;
    IoStartNextPacket(PktDev, FALSE);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    KeLowerIrql(old);
}

static void pkt_body(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv;
    assert_true(NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "tjpkt", TjEntry, &drv)));
    PIRP irps[2];
    for (uintptr_t i = 0; i < 2; i++) {
        KeInitializeEvent(&PktDone[i], NotificationEvent, FALSE);
        irps[i] = IoAllocateIrp(PktDev->StackSize, FALSE);
        assert_non_null(irps[i]);
        PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irps[i]);
        sl->MajorFunction = IRP_MJ_READ;
        IoSetCompletionRoutine(irps[i], TjDone, (PVOID)i, TRUE, TRUE, TRUE);
        (void)IoCallDriver(PktDev, irps[i]);
    }
    finish_current();
    finish_current();
    for (int i = 0; i < 2; i++) {
        (void)KeWaitForSingleObject(&PktDone[i], Executive, KernelMode, FALSE, NULL);
        IoFreeIrp(irps[i]);
    }
    IoDeleteDevice(PktDev);
}

static void test_irp_flows(void **state)
{
    (void)state;
    kdpc_machine *m = traced(1, 21, 1u << 16);
    assert_int_equal(kdpc_machine_run(m, pkt_body, NULL), KDPC_OK);
    fresh_path();
    assert_int_equal(kdpc_trace_export_json(m, Path), KDPC_OK);
    kt_json *doc = load(Path);
    assert_int_equal(check_flows(doc, "irp"), 2);
    assert_true(kt_json_num(kt_json_get(doc, "metadata"), "flows_without_end", -1) == 0);
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    size_t starts = 0, completes = 0;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        if (strcmp(ph_of(e), "i") != 0)
            continue;
        starts += strcmp(kt_json_str(e, "name"), "irp-start") == 0;
        if (strcmp(kt_json_str(e, "name"), "irp-complete") == 0) {
            completes++;
            assert_true(kt_json_num(kt_json_get(e, "args"), "status", -1) == 0);
        }
    }
    assert_int_equal(starts, 3); /* StartIo at once; queued; StartIo by IoStartNextPacket */
    assert_int_equal(completes, 2);
    size_t unfinished;
    check_balanced(doc, &unfinished);
    kt_json_free(doc);
    remove_path();
    kdpc_machine_destroy(m);
}

/* An empty trace (no run yet) still gives a whole file. */
static char *timeline(kdpc_machine *m, unsigned width, uint64_t from, uint64_t to, unsigned cols,
                      kdpc_status *st);

/* A work item that blocks: its worker thread leaves the CPU in the middle of the routine and
 * may come back on the other one. */
static WORK_QUEUE_ITEM BlockItem;
static KEVENT BlockDone;

static void TjBlockingWork(PVOID ctx)
{
    (void)ctx;
    KeStallExecutionProcessor(2);
    delay_us(200); /* the worker leaves its CPU for 200 us */
    KeStallExecutionProcessor(2);
    KeSetEvent(&BlockDone, 0, FALSE);
}

static void block_body(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&BlockDone, NotificationEvent, FALSE);
    ExInitializeWorkItem(&BlockItem, TjBlockingWork, NULL);
    ExQueueWorkItem(&BlockItem, DelayedWorkQueue);
    for (int i = 0; i < 8; i++) {
        KeStallExecutionProcessor(20); /* keep a CPU busy while the worker waits */
        delay_us(30);
    }
    KeWaitForSingleObject(&BlockDone, Executive, KernelMode, FALSE, NULL);
}

/* Per tid, a work slice only ever opens right above an open thread slice, and the work item's
 * slices add up to the time its routine ran (4 us of stalls), not the 200 us it waited. */
static void check_work_under_thread(const kt_json *doc, const char *name, double *work_us)
{
    enum { TIDS = 8, DEPTH = 64 };
    struct {
        double tid;
        size_t depth;
        const char *cat[DEPTH];
        double ts[DEPTH];
        bool mine[DEPTH];
    } t[TIDS];
    size_t nt = 0;
    *work_us = 0;
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        const char *ph = ph_of(e);
        if (strcmp(ph, "B") != 0 && strcmp(ph, "E") != 0)
            continue;
        double tid = kt_json_num(e, "tid", -1), ts = kt_json_num(e, "ts", -1);
        size_t k = 0;
        while (k < nt && t[k].tid != tid)
            k++;
        if (k == nt) {
            assert_true(nt < TIDS);
            t[nt].tid = tid;
            t[nt].depth = 0;
            nt++;
        }
        if (ph[0] == 'B') {
            const char *cat = kt_json_str(e, "cat");
            assert_true(t[k].depth < DEPTH);
            if (strcmp(cat, "work") == 0 &&
                (t[k].depth == 0 || strcmp(t[k].cat[t[k].depth - 1], "thread") != 0))
                fail_msg("work slice at %g us on tid %g is not right above a thread slice", ts,
                         tid);
            if (strcmp(cat, "thread") == 0 && t[k].depth != 0)
                fail_msg("thread slice at %g us on tid %g is not at the bottom", ts, tid);
            t[k].cat[t[k].depth] = cat;
            t[k].ts[t[k].depth] = ts;
            t[k].mine[t[k].depth] = strcmp(kt_json_str(e, "name"), name) == 0;
            t[k].depth++;
        } else {
            assert_true(t[k].depth > 0);
            t[k].depth--;
            if (t[k].mine[t[k].depth])
                *work_us += ts - t[k].ts[t[k].depth];
        }
    }
}

static void test_blocking_work_item_follows_its_thread(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        kdpc_machine *m = traced(2, seed, 1u << 16);
        KDPC_NAME(m, TjBlockingWork);
        assert_int_equal(kdpc_machine_run(m, block_body, NULL), KDPC_OK);
        fresh_path();
        assert_int_equal(kdpc_trace_export_json(m, Path), KDPC_OK);
        kt_json *doc = load(Path);
        size_t unfinished;
        check_balanced(doc, &unfinished);
        assert_int_equal(unfinished, 0);
        const kt_json *meta = kt_json_get(doc, "metadata");
        assert_int_equal((int)kt_json_num(meta, "skipped_ends", -1), 0);
        assert_true(count_slices(doc, "work", "TjBlockingWork") >= 1);
        double us = 0;
        check_work_under_thread(doc, "TjBlockingWork", &us);
        if (!(us >= 4.0 && us < 50.0))
            fail_msg("seed %llu: the work item's slices last %g us (ran 4 us, waited 200 us)",
                     (unsigned long long)seed, us);
        kt_json_free(doc);
        remove_path();
        /* The timeline credits the work item with the time its slices cover in the JSON (it
         * ran on its thread), not with the time other threads ran on its CPU while it
         * waited. */
        kdpc_status st;
        char *tl = timeline(m, 80, 0, 0, 200, &st);
        assert_int_equal(st, KDPC_OK);
        const char *at = strstr(tl, "TjBlockingWork\n");
        assert_non_null(at);
        while (at > tl && at[-1] != 'k') /* back to the kind "work" */
            at--;
        double t = strtod(at, NULL);
        if (!(t > us - 0.01 && t < us + 0.01))
            fail_msg("seed %llu: the timeline gives the work item %g us, its JSON slices %g us",
                     (unsigned long long)seed, t, us);
        free(tl);
        kdpc_machine_destroy(m);
    }
}

static void test_zero_events(void **state)
{
    (void)state;
    kdpc_machine *m = traced(3, 12, 64);
    fresh_path();
    assert_int_equal(kdpc_trace_export_json(m, Path), KDPC_OK);
    kt_json *doc = load(Path);
    assert_true(kt_json_num(kt_json_get(doc, "metadata"), "events", -1) == 0);
    kt_json_free(doc);
    remove_path();
    kdpc_machine_destroy(m);
}

static void test_bad_paths_and_arguments(void **state)
{
    (void)state;
    kdpc_machine *m = traced(1, 13, 1u << 16);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    errno = 0;
    assert_int_equal(kdpc_trace_export_json(m, "/nonexistent-kdpc-dir/t.json"), KDPC_EOUTPUT);
    assert_int_equal(errno, ENOENT);
    /* a regular file used as a directory */
    fresh_path();
    FILE *f = fopen(Path, "w");
    assert_non_null(f);
    fclose(f);
    char under[160];
    snprintf(under, sizeof under, "%s/t.json", Path);
    errno = 0;
    assert_int_equal(kdpc_trace_export_json(m, under), KDPC_EOUTPUT);
    assert_int_equal(errno, ENOTDIR);
    /* a directory as the path */
    errno = 0;
    assert_int_equal(kdpc_trace_export_json(m, Dir), KDPC_EOUTPUT);
    assert_int_equal(errno, EISDIR);
    assert_int_equal(dir_entries(Dir), 1); /* only the file made above */
    remove_path();
    /* a write that fails: the error comes out of the final flush or close */
    if (access("/dev/full", W_OK) == 0) {
        errno = 0;
        assert_int_equal(kdpc_trace_export_json(m, "/dev/full"), KDPC_EOUTPUT);
        assert_int_equal(errno, ENOSPC);
    }
    assert_int_equal(kdpc_trace_export_json(NULL, "/tmp/x.json"), KDPC_EINVAL);
    assert_int_equal(kdpc_trace_export_json(m, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_trace_export_json(m, ""), KDPC_EINVAL);
    kdpc_machine_destroy(m);

    /* tracing off */
    kdpc_machine *off = kt_machine(1, 14);
    assert_int_equal(kdpc_trace_export_json(off, "/tmp/kdpc-never.json"), KDPC_EINVAL);
    assert_int_equal(access("/tmp/kdpc-never.json", F_OK), -1);
    assert_int_equal(kdpc_trace_timeline(off, stdout, 80, 0, 0, 0), KDPC_EINVAL);
    kdpc_machine_destroy(off);
}

/* An existing file is replaced whole; a symbolic link keeps pointing at it. */
static void test_replaces_through_link(void **state)
{
    (void)state;
    kdpc_machine *m = traced(1, 15, 1u << 16);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    fresh_path();
    FILE *f = fopen(Path, "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    char link[160];
    snprintf(link, sizeof link, "%s/link.json", Dir);
    assert_int_equal(symlink("trace.json", link), 0);
    assert_int_equal(kdpc_trace_export_json(m, link), KDPC_OK);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    kt_json *doc = load(Path);
    kt_json_free(doc);
    assert_int_equal(dir_entries(Dir), 2);
    unlink(link);
    remove_path();
    kdpc_machine_destroy(m);
}

/* --- timeline ----------------------------------------------------------------------------- */

static char *timeline(kdpc_machine *m, unsigned width, uint64_t from, uint64_t to, unsigned cols,
                      kdpc_status *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *st = kdpc_trace_timeline(m, f, width, from, to, cols);
    fclose(f);
    return buf;
}

/* A DPC of 10 us queued at PASSIVE_LEVEL (it runs at once), 5 us of the thread's own, 3 us at
 * DISPATCH_LEVEL. */
static void tiny_body(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&SlowDpc, TjSlowDpc, NULL);
    KeInsertQueueDpc(&SlowDpc, NULL, NULL);
    KeStallExecutionProcessor(5);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeStallExecutionProcessor(3);
    KeLowerIrql(old);
}

static void test_timeline_verbatim(void **state)
{
    (void)state;
    kdpc_machine *m = traced(1, 16, 4096);
    SlowStall = 10;
    assert_int_equal(kdpc_machine_run(m, tiny_body, NULL), KDPC_OK);
    SlowStall = 5;
    kdpc_status st;
    char *out = timeline(m, 40, 0, 20000, 20, &st);
    assert_int_equal(st, KDPC_OK);
    static const char expect[] = "kdpc timeline: 0us .. 20us, 20 columns of 1us, 1 CPU\n"
                                 "\n"
                                 "         |0us      |10us\n"
                                 "CPU 0    AAAAAAAAAABBBBBBBBB.\n"
                                 "  irql   22222222222....2222.\n"
                                 "\n"
                                 "legend (most time first):\n"
                                 "  A  dpc          10.1us  TjSlowDpc\n"
                                 "  B  thread        8.6us  tiny_body\n";
    if (strcmp(out, expect) != 0)
        kdpc_trace_dump(m, stdout);
    assert_string_equal(out, expect);
    free(out);
    kdpc_machine_destroy(m);
}

static void test_timeline_wraps(void **state)
{
    (void)state;
    kdpc_machine *m = traced(2, 17, 1u << 16);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    static const unsigned widths[] = {40, 80};
    for (size_t w = 0; w < 2; w++) {
        kdpc_status st;
        char *out = timeline(m, widths[w], 0, 0, 100, &st);
        assert_int_equal(st, KDPC_OK);
        size_t cpu0 = 0, cells = 0;
        for (char *line = out, *nl; *line != '\0'; line = nl + 1) {
            nl = strchr(line, '\n');
            assert_non_null(nl);
            assert_true((size_t)(nl - line) <= widths[w] || strncmp(line, "kdpc", 4) == 0 ||
                        strncmp(line, "  ", 2) == 0);
            if (strncmp(line, "CPU 0 ", 6) == 0) {
                cpu0++;
                cells += (size_t)(nl - line) - 9;
            }
        }
        assert_int_equal(cells, 100);
        assert_int_equal(cpu0, (100 + (widths[w] - 9) - 1) / (widths[w] - 9));
        free(out);
    }
    kdpc_machine_destroy(m);
}

/* A width far past what the columns need (up to UINT_MAX) prints what 40 does for 20 columns:
 * no line is longer than its columns, and nothing is sized by the width. */
static void test_timeline_huge_width(void **state)
{
    (void)state;
    kdpc_machine *m = traced(1, 16, 4096);
    SlowStall = 10;
    assert_int_equal(kdpc_machine_run(m, tiny_body, NULL), KDPC_OK);
    SlowStall = 5;
    kdpc_status st;
    char *want = timeline(m, 40, 0, 20000, 20, &st);
    assert_int_equal(st, KDPC_OK);
    static const unsigned widths[] = {UINT32_MAX, UINT32_MAX - 1u, 1u << 30, 100000};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        char *out = timeline(m, widths[i], 0, 20000, 20, &st);
        assert_int_equal(st, KDPC_OK);
        assert_string_equal(out, want);
        free(out);
    }
    free(want);
    kdpc_machine_destroy(m);
}

static void test_timeline_bad_arguments(void **state)
{
    (void)state;
    kdpc_machine *m = traced(1, 18, 1024);
    kdpc_status st;
    free(timeline(m, 80, 0, 0, 0, &st));
    assert_int_equal(st, KDPC_EINVAL); /* no events yet: the window is empty */
    assert_int_equal(kdpc_machine_run(m, tiny_body, NULL), KDPC_OK);
    assert_int_equal(kdpc_trace_timeline(NULL, stdout, 80, 0, 0, 0), KDPC_EINVAL);
    assert_int_equal(kdpc_trace_timeline(m, NULL, 80, 0, 0, 0), KDPC_EINVAL);
    assert_int_equal(kdpc_trace_timeline(m, stdout, 80, 500, 500, 0), KDPC_EINVAL);
    assert_int_equal(kdpc_trace_timeline(m, stdout, 80, 900, 500, 0), KDPC_EINVAL);
    assert_int_equal(kdpc_trace_timeline(m, stdout, 80, UINT64_MAX - 1, 0, 0), KDPC_EINVAL);
    FILE *full = fopen("/dev/full", "w");
    if (full != NULL) {
        assert_int_equal(kdpc_trace_timeline(m, full, 80, 0, 0, 0), KDPC_EOUTPUT);
        fclose(full);
    }
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_valid_balanced_flows),
        cmocka_unit_test(test_irql_counters_replay_the_run),
        cmocka_unit_test(test_violation_instant),
        cmocka_unit_test(test_bugcheck_run_exports_unfinished),
        cmocka_unit_test(test_dropped_events_said),
        cmocka_unit_test(test_spool_equals_full_ring),
        cmocka_unit_test(test_device_event_flow),
        cmocka_unit_test(test_irp_flows),
        cmocka_unit_test(test_blocking_work_item_follows_its_thread),
        cmocka_unit_test(test_zero_events),
        cmocka_unit_test(test_bad_paths_and_arguments),
        cmocka_unit_test(test_replaces_through_link),
        cmocka_unit_test(test_timeline_verbatim),
        cmocka_unit_test(test_timeline_wraps),
        cmocka_unit_test(test_timeline_huge_width),
        cmocka_unit_test(test_timeline_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
