/* SPDX-License-Identifier: MIT */
/*
 * test_report_html.c - kdpc_report_html's bad inputs and odd runs: NULL,
 * report off, called from simulated code, a path in a missing directory or
 * a directory, /dev/full, no trace recorded, a ring that dropped events, a
 * bug-checked run, names that would end the <script> element; the page
 * is complete (ends with </html>) and its data block is strict JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"
#include "kt_json.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static KDPC HtDpc;

static void HtmlDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
    KeStallExecutionProcessor(5);
}

static void body(void *ctx)
{
    int n = ctx != NULL ? *(int *)ctx : 3;
    KeInitializeDpc(&HtDpc, HtmlDpc, NULL);
    for (int i = 0; i < n; i++) {
        KeInsertQueueDpc(&HtDpc, NULL, NULL);
        LARGE_INTEGER t = {.QuadPart = -100}; /* 10 us */
        KeDelayExecutionThread(KernelMode, FALSE, &t);
    }
}

static kdpc_status inner_status;
static void busy_body(void *ctx)
{
    (void)ctx;
    inner_status = kdpc_report_html(kdpc_current_machine(), "/tmp/never-written.html");
}

static void bugcheck_body(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&HtDpc, HtmlDpc, NULL);
    KeInsertQueueDpc(&HtDpc, NULL, NULL);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    LARGE_INTEGER t = {.QuadPart = -10000};
    KeDelayExecutionThread(KernelMode, FALSE, &t); /* waiting at DISPATCH_LEVEL: bug check */
}

static kdpc_machine *machine(size_t capacity, bool report)
{
    kdpc_config cfg = kt_config(2, 5);
    cfg.trace_capacity = capacity;
    cfg.report = report;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

static char *path_in_dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The page at @path: complete, one data block of strict JSON (returned). */
static kt_json *page_data(const char *path)
{
    size_t len;
    char *page = slurp(path, &len);
    static const char tail[] = "</html>\n";
    assert_true(len > sizeof tail);
    assert_string_equal(page + len - (sizeof tail - 1), tail);
    static const char open[] = "<script type=\"application/json\" id=\"kdpc-data\">";
    char *from = strstr(page, open);
    assert_non_null(from);
    from += sizeof open - 1;
    char *to = strstr(from, "</script>");
    assert_non_null(to);
    /* nothing in the data ends the element early: the next "</script>" is the JS's */
    char err[128] = "";
    kt_json *doc = kt_json_parse(from, (size_t)(to - from), err, sizeof err);
    if (doc == NULL)
        fail_msg("data block is not JSON: %s", err);
    free(page);
    return doc;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* No temporary file left beside the page. */
static void assert_no_temp(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '\\.tmp-'", dir);
    assert_int_not_equal(system(cmd), 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1024, true);
    assert_int_equal(kdpc_report_html(NULL, path_in_dir("x.html")), KDPC_EINVAL);
    assert_int_equal(kdpc_report_html(m, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_report_html(m, ""), KDPC_EINVAL);
    kdpc_machine_destroy(m);

    m = machine(1024, false); /* report off */
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    assert_int_equal(kdpc_report_html(m, path_in_dir("off.html")), KDPC_EINVAL);
    assert_false(exists(path_in_dir("off.html")));
    kdpc_machine_destroy(m);
}

static void test_from_simulated_code_is_busy(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1024, true);
    inner_status = KDPC_OK;
    assert_int_equal(kdpc_machine_run(m, busy_body, NULL), KDPC_OK);
    assert_int_equal(inner_status, KDPC_EBUSY);
    assert_false(exists("/tmp/never-written.html"));
    kdpc_machine_destroy(m);
}

static void test_unwritable_paths(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1024, true);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    errno = 0;
    assert_int_equal(kdpc_report_html(m, path_in_dir("missing/x.html")), KDPC_EOUTPUT);
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_int_equal(kdpc_report_html(m, dir), KDPC_EOUTPUT); /* a directory */
    assert_int_equal(errno, EISDIR);
    /* a device that refuses every write: the failure is reported, never KDPC_OK */
    if (access("/dev/full", W_OK) == 0) {
        errno = 0;
        assert_int_equal(kdpc_report_html(m, "/dev/full"), KDPC_EOUTPUT);
        assert_int_equal(errno, ENOSPC);
    }
    assert_no_temp();
    kdpc_machine_destroy(m);
}

static void test_page_is_complete_and_replaces_old_file(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1024, true);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    const char *p = path_in_dir("ok.html");
    FILE *old = fopen(p, "w");
    assert_non_null(old);
    fputs("old", old);
    fclose(old);
    assert_int_equal(kdpc_report_html(m, p), KDPC_OK);
    kt_json *d = page_data(p);
    assert_string_equal(kt_json_str(d, "trace"), "ring");
    assert_int_equal(kt_json_get(d, "complete")->type, KT_JSON_TRUE);
    assert_int_equal((int)kt_json_num(d, "cpus", 0), 2);
    /* 3 DPC slices, each 5 us */
    const kt_json *slices = kt_json_get(d, "slices");
    int dpcs = 0;
    for (size_t i = 0; i < kt_json_len(slices); i++) {
        const kt_json *s = kt_json_at(slices, i);
        assert_int_equal(kt_json_len(s), 8);
        if (kt_json_at(s, 4)->number == 1) {
            dpcs++;
            assert_true(kt_json_at(s, 2)->number >= 5000);
            const char *name =
                kt_json_at(kt_json_get(d, "strings"), (size_t)kt_json_at(s, 5)->number)->str;
            assert_string_equal(name, "HtmlDpc");
        }
    }
    assert_int_equal(dpcs, 3);
    const kt_json *rep = kt_json_get(d, "report");
    assert_non_null(rep);
    assert_int_equal(rep->type, KT_JSON_OBJECT);
    kt_json_free(d);
    assert_no_temp();
    kdpc_machine_destroy(m);
}

static void test_no_trace_recorded(void **state)
{
    (void)state;
    kdpc_machine *m = machine(0, true); /* report only: no ring, no spool */
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    const char *p = path_in_dir("notrace.html");
    assert_int_equal(kdpc_report_html(m, p), KDPC_OK);
    kt_json *d = page_data(p);
    assert_string_equal(kt_json_str(d, "trace"), "none");
    assert_int_equal(kt_json_len(kt_json_get(d, "slices")), 0);
    assert_int_equal(kt_json_get(d, "report")->type, KT_JSON_OBJECT);
    kt_json_free(d);
    kdpc_machine_destroy(m);
}

/* With the spool (every event, no ring) the page holds every slice, named from the spool. */
static void test_spooled_trace(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(2, 5);
    cfg.trace_stream = true;
    cfg.trace_spool_dir = dir;
    cfg.report = true;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    int n = 50;
    assert_int_equal(kdpc_machine_run(m, body, &n), KDPC_OK);
    const char *p = path_in_dir("spool.html");
    assert_int_equal(kdpc_report_html(m, p), KDPC_OK);
    kt_json *d = page_data(p);
    assert_string_equal(kt_json_str(d, "trace"), "spool");
    assert_int_equal(kt_json_get(d, "complete")->type, KT_JSON_TRUE);
    const kt_json *slices = kt_json_get(d, "slices");
    int dpcs = 0;
    for (size_t i = 0; i < kt_json_len(slices); i++) {
        const kt_json *s = kt_json_at(slices, i);
        if (kt_json_at(s, 4)->number != 1)
            continue;
        dpcs++;
        const char *name =
            kt_json_at(kt_json_get(d, "strings"), (size_t)kt_json_at(s, 5)->number)->str;
        assert_string_equal(name, "HtmlDpc");
    }
    assert_int_equal(dpcs, 50);
    assert_true(kt_json_len(kt_json_get(d, "irql")) >= 100); /* up to 2 and back, 50 times */
    kt_json_free(d);
    kdpc_machine_destroy(m);
}

/* Back to back: each KeInsertQueueDpc at PASSIVE_LEVEL runs the DPC at once. */
static void many_body(void *ctx)
{
    int n = *(int *)ctx;
    KeInitializeDpc(&HtDpc, HtmlDpc, NULL);
    for (int i = 0; i < n; i++)
        KeInsertQueueDpc(&HtDpc, NULL, NULL);
}

/* More slices than a page holds: the first 200,000 are kept, the page says how many more
 * there were, and it is still whole. */
static void test_slice_bound(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 5);
    cfg.trace_stream = true;
    cfg.trace_spool_dir = dir;
    cfg.report = true;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    int n = 200100;
    assert_int_equal(kdpc_machine_run(m, many_body, &n), KDPC_OK);
    const char *p = path_in_dir("bound.html");
    assert_int_equal(kdpc_report_html(m, p), KDPC_OK);
    kt_json *d = page_data(p);
    assert_int_equal(kt_json_len(kt_json_get(d, "slices")), 200000);
    assert_int_equal((int)kt_json_num(d, "slices_written", 0), 200000);
    double total = kt_json_at(kt_json_get(d, "slice_counts"), 0)->number;
    assert_true(total >= 200100);
    assert_int_equal(kt_json_num(d, "slices_left_out", 0), total - 200000);
    kt_json_free(d);
    unlink(p);
    kdpc_machine_destroy(m);
}

static void test_ring_that_dropped_events(void **state)
{
    (void)state;
    kdpc_machine *m = machine(16, true);
    int n = 20;
    assert_int_equal(kdpc_machine_run(m, body, &n), KDPC_OK);
    const char *p = path_in_dir("dropped.html");
    assert_int_equal(kdpc_report_html(m, p), KDPC_OK);
    kt_json *d = page_data(p);
    assert_int_equal(kt_json_get(d, "complete")->type, KT_JSON_FALSE);
    assert_true(kt_json_num(d, "dropped_events", 0) > 0);
    kt_json_free(d);
    kdpc_machine_destroy(m);
}

static void test_bugchecked_run_gives_complete_page(void **state)
{
    (void)state;
    kdpc_machine *m = machine(4096, true);
    assert_int_equal(kdpc_machine_run(m, bugcheck_body, NULL), KDPC_BUGCHECK);
    const char *p = path_in_dir("bugcheck.html");
    assert_int_equal(kdpc_report_html(m, p), KDPC_OK);
    kt_json *d = page_data(p);
    const kt_json *v = kt_json_get(d, "violations");
    assert_true(kt_json_len(v) >= 1);
    assert_int_equal(kt_json_get(kt_json_at(v, kt_json_len(v) - 1), "fatal")->type, KT_JSON_TRUE);
    /* the thread that bug checked was still running: its slice is closed, unfinished */
    const kt_json *slices = kt_json_get(d, "slices");
    bool unfinished = false;
    for (size_t i = 0; i < kt_json_len(slices); i++)
        unfinished |= kt_json_at(kt_json_at(slices, i), 7)->number == 1;
    assert_true(unfinished);
    kt_json_free(d);
    kdpc_machine_destroy(m);
}

static void test_names_cannot_end_the_script(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1024, true);
    kdpc_name_routine(m, (kdpc_routine_ptr)HtmlDpc, "</script><b>&\"x\"");
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    const char *p = path_in_dir("names.html");
    assert_int_equal(kdpc_report_html(m, p), KDPC_OK);
    kt_json *d = page_data(p); /* parses only if the name did not end the element */
    const kt_json *strings = kt_json_get(d, "strings");
    bool found = false;
    for (size_t i = 0; i < kt_json_len(strings); i++)
        found |= strcmp(kt_json_at(strings, i)->str, "</script><b>&\"x\"") == 0;
    assert_true(found);
    kt_json_free(d);
    kdpc_machine_destroy(m);
}

/* A path that is a symbolic link keeps being one: the page goes to its target (as
 * kdpc_trace_export_json does), and no temporary file is left. */
static void test_replaces_through_link(void **state)
{
    (void)state;
    kdpc_machine *m = machine(1024, true);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    char target[512];
    snprintf(target, sizeof target, "%s", path_in_dir("target.html"));
    FILE *old = fopen(target, "w");
    assert_non_null(old);
    fputs("old", old);
    fclose(old);
    const char *link = path_in_dir("link.html");
    assert_int_equal(symlink("target.html", link), 0);
    assert_int_equal(kdpc_report_html(m, link), KDPC_OK);
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    kt_json *d = page_data(target);
    kt_json_free(d);
    assert_no_temp();
    unlink(link);
    unlink(target);
    kdpc_machine_destroy(m);
}

/* A work item whose routine blocks 200 us: its worker thread leaves the CPU and may come back
 * on the other one. */
static WORK_QUEUE_ITEM BlockItem;
static KEVENT BlockDone;

static void HtmlBlockingWork(PVOID ctx)
{
    (void)ctx;
    KeStallExecutionProcessor(2);
    LARGE_INTEGER t = {.QuadPart = -2000}; /* 200 us */
    KeDelayExecutionThread(KernelMode, FALSE, &t);
    KeStallExecutionProcessor(2);
    KeSetEvent(&BlockDone, 0, FALSE);
}

static void block_body(void *ctx)
{
    (void)ctx;
    KeInitializeEvent(&BlockDone, NotificationEvent, FALSE);
    ExInitializeWorkItem(&BlockItem, HtmlBlockingWork, NULL);
    ExQueueWorkItem(&BlockItem, DelayedWorkQueue);
    for (int i = 0; i < 8; i++) {
        KeStallExecutionProcessor(20);
        LARGE_INTEGER t = {.QuadPart = -300}; /* 30 us */
        KeDelayExecutionThread(KernelMode, FALSE, &t);
    }
    KeWaitForSingleObject(&BlockDone, Executive, KernelMode, FALSE, NULL);
}

/* The work item's slices cover the 4 us its routine ran, not the 200 us it waited; each lies
 * within a thread slice on its CPU and none is left unfinished. */
static void test_blocking_work_item_follows_its_thread(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        kdpc_config cfg = kt_config(2, seed);
        cfg.trace_capacity = 1u << 16;
        cfg.report = true;
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        assert_int_equal(kdpc_machine_run(m, block_body, NULL), KDPC_OK);
        const char *p = path_in_dir("work.html");
        assert_int_equal(kdpc_report_html(m, p), KDPC_OK);
        kt_json *d = page_data(p);
        const kt_json *slices = kt_json_get(d, "slices");
        double work_ns = 0;
        size_t works = 0;
        for (size_t i = 0; i < kt_json_len(slices); i++) {
            const kt_json *s = kt_json_at(slices, i);
            if (kt_json_at(s, 4)->number != 3)
                continue;
            works++;
            double cpu = kt_json_at(s, 0)->number, start = kt_json_at(s, 1)->number,
                   dur = kt_json_at(s, 2)->number;
            work_ns += dur;
            if (kt_json_at(s, 7)->number != 0)
                fail_msg("seed %llu: work slice at %g ns left unfinished", (unsigned long long)seed,
                         start);
            bool under = false;
            for (size_t j = 0; j < kt_json_len(slices) && !under; j++) {
                const kt_json *t = kt_json_at(slices, j);
                under = kt_json_at(t, 4)->number == 0 && kt_json_at(t, 0)->number == cpu &&
                        kt_json_at(t, 1)->number <= start &&
                        kt_json_at(t, 1)->number + kt_json_at(t, 2)->number >= start + dur;
            }
            if (!under)
                fail_msg("seed %llu: work slice at %g ns on CPU %g is under no thread slice",
                         (unsigned long long)seed, start, cpu);
        }
        assert_true(works >= 1);
        if (!(work_ns >= 4000 && work_ns < 50000))
            fail_msg("seed %llu: the work item's slices last %g ns (ran 4 us, waited 200 us)",
                     (unsigned long long)seed, work_ns);
        kt_json_free(d);
        unlink(p);
        kdpc_machine_destroy(m);
    }
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/kdpc-html-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_from_simulated_code_is_busy),
        cmocka_unit_test(test_unwritable_paths),
        cmocka_unit_test(test_page_is_complete_and_replaces_old_file),
        cmocka_unit_test(test_no_trace_recorded),
        cmocka_unit_test(test_spooled_trace),
        cmocka_unit_test(test_slice_bound),
        cmocka_unit_test(test_ring_that_dropped_events),
        cmocka_unit_test(test_bugchecked_run_gives_complete_page),
        cmocka_unit_test(test_names_cannot_end_the_script),
        cmocka_unit_test(test_blocking_work_item_follows_its_thread),
        cmocka_unit_test(test_replaces_through_link),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
