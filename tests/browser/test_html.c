/* SPDX-License-Identifier: MIT */
/*
 * test_browser_html.c - kdpc_report_html's page in a real browser: a known
 * run on 2 CPUs (an ISR that queues a DPC on CPU 1, the DPC runs 120 us:
 * one dpc.too_long warning) is written as HTML, headless Chromium loads it
 * and dumps the DOM, and the page's self-test summary (element
 * "kdpc-selftest") must say: no script error, 2 CPUs, per CPU as many
 * slices as the trace has begins (DPC, ISR, work item, SynchronizeRoutine)
 * and thread switches, all of them drawn, one violation whose link carries
 * its time, CPU and rule. A bug-checked run's page must render too.
 *
 * KDPC_BROWSER_KEEP=1 keeps the pages (the directory is printed).
 * The browser: $KDPC_CHROMIUM (the test fails when it names no executable), else chromium,
 * chromium-browser, google-chrome on $PATH.
 * Without one the test prints "SKIPPED: ..." and exits 77 (CTest's SKIP_RETURN_CODE).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"
#include "kt_json.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE 7

static char browser[1024];
static char dir[256];

static KDPC BrDpc;
static PKINTERRUPT BrInterrupt;
static volatile LONG BrPending;

static void BrowserDpc(PKDPC d, PVOID c, PVOID a1, PVOID a2)
{
    (void)d, (void)c, (void)a1, (void)a2;
    KeStallExecutionProcessor(60); /* 120 us in all: over G8's 100 us, a dpc.too_long warning */
    KeStallExecutionProcessor(60);
}

static BOOLEAN BrowserIsr(PKINTERRUPT i, PVOID c)
{
    (void)i, (void)c;
    if (InterlockedExchange(&BrPending, 0) == 0)
        return FALSE;
    KeInsertQueueDpc(&BrDpc, NULL, NULL);
    return TRUE;
}

static void body(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&BrDpc, BrowserDpc, NULL);
    KeSetTargetProcessorDpc(&BrDpc, 1);
    assert_int_equal(IoConnectInterrupt(&BrInterrupt, BrowserIsr, NULL, NULL, LINE, 5, 5, Latched,
                                        FALSE, 1, FALSE),
                     STATUS_SUCCESS);
    InterlockedExchange(&BrPending, 1);
    kdpc_line_assert(kdpc_current_machine(), LINE);
    LARGE_INTEGER t = {.QuadPart = -10000}; /* 1 ms */
    KeDelayExecutionThread(KernelMode, FALSE, &t);
    IoDisconnectInterrupt(BrInterrupt);
}

static void bugcheck_body(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    LARGE_INTEGER t = {.QuadPart = -10000};
    KeDelayExecutionThread(KernelMode, FALSE, &t); /* waiting at DISPATCH_LEVEL: bug check */
}

static kdpc_machine *traced(uint64_t seed)
{
    kdpc_config cfg = kt_config(2, seed);
    cfg.trace_capacity = 1u << 16;
    cfg.report = true;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    KDPC_NAME(m, BrowserDpc);
    KDPC_NAME(m, BrowserIsr);
    return m;
}

/* Slices the page must hold per CPU, counted from the ring: every begin, and every switch to
 * a thread the trace saw start (the idle threads, which never start, get no slice). */
static void expected_slices(kdpc_machine *m, uint64_t out[2], uint64_t *dpcs, uint64_t *isrs,
                            uint64_t *idle_switches)
{
    uint64_t started[64];
    size_t nstarted = 0;
    out[0] = out[1] = 0;
    *dpcs = *isrs = *idle_switches = 0;
    assert_int_equal(kdpc_trace_total(m), kdpc_trace_count(m)); /* the ring kept them all */
    for (size_t i = 0; i < kdpc_trace_count(m); i++) {
        const kdpc_event *e = kdpc_trace_event(m, i);
        switch (e->kind) {
        case KDPC_EV_THREAD_START:
            assert_true(nstarted < sizeof started / sizeof started[0]);
            started[nstarted++] = e->arg;
            break;
        case KDPC_EV_THREAD_SWITCH: {
            bool known = false;
            for (size_t k = 0; k < nstarted && !known; k++)
                known = started[k] == e->arg;
            if (known)
                out[e->cpu]++;
            else
                ++*idle_switches;
            break;
        }
        case KDPC_EV_DPC_BEGIN:
            ++*dpcs;
            out[e->cpu]++;
            break;
        case KDPC_EV_ISR_BEGIN:
            ++*isrs;
            out[e->cpu]++;
            break;
        case KDPC_EV_WORK_BEGIN:
        case KDPC_EV_SYNC_BEGIN:
            out[e->cpu]++;
            break;
        default:
            break;
        }
    }
}

/* Run the browser on @html (with the URL fragment @frag, "" for none); the dumped DOM,
 * malloc'd. */
static char *dump_dom(const char *html, const char *frag)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
             "--user-data-dir='%s/profile' --dump-dom --virtual-time-budget=5000 "
             "'file://%s%s' 2>/dev/null",
             browser, dir, html, frag);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (cap - n < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    pclose(p);
    return buf;
}

/* The text of the element with id @id (up to the next '<'), entities decoded. */
static char *element_text(const char *dom, const char *id)
{
    char key[96];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *at = strstr(dom, key);
    if (at == NULL)
        return NULL;
    const char *from = strchr(at, '>');
    assert_non_null(from);
    from++;
    const char *to = strchr(from, '<');
    assert_non_null(to);
    char *out = malloc((size_t)(to - from) + 1);
    assert_non_null(out);
    size_t n = 0;
    for (const char *p = from; p < to;) {
        static const struct {
            const char *ent;
            char c;
        } ents[] = {{"&quot;", '"'}, {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&#39;", '\''}};
        bool done = false;
        for (size_t k = 0; k < sizeof ents / sizeof ents[0] && !done; k++) {
            size_t l = strlen(ents[k].ent);
            if (strncmp(p, ents[k].ent, l) == 0) {
                out[n++] = ents[k].c;
                p += l;
                done = true;
            }
        }
        if (!done)
            out[n++] = *p++;
    }
    out[n] = '\0';
    return out;
}

/* The value of attribute @attr in the start tag of the element with id @id. */
static bool attribute(const char *dom, const char *id, const char *attr, char *out, size_t n)
{
    char key[96];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *at = strstr(dom, key);
    if (at == NULL)
        return false;
    const char *tag = at;
    while (tag > dom && *tag != '<')
        tag--;
    const char *end = strchr(at, '>');
    char a[64];
    snprintf(a, sizeof a, " %s=\"", attr);
    const char *v = strstr(tag, a);
    if (v == NULL || v > end)
        return false;
    v += strlen(a);
    const char *q = strchr(v, '"');
    if (q == NULL || (size_t)(q - v) >= n)
        return false;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
    return true;
}

/* Load @html (URL fragment @frag), return the self-test object (checked: ok, no errors). */
static kt_json *selftest(const char *html, const char *frag, char **dom_out)
{
    char *dom = dump_dom(html, frag);
    char *text = element_text(dom, "kdpc-selftest");
    if (text == NULL || text[0] == '\0')
        fail_msg("no self-test summary in the page (script did not run?):\n%.2000s", dom);
    char err[128] = "";
    kt_json *st = kt_json_parse(text, strlen(text), err, sizeof err);
    if (st == NULL)
        fail_msg("self-test is not JSON (%s): %s", err, text);
    const kt_json *errors = kt_json_get(st, "errors");
    assert_non_null(errors);
    if (kt_json_len(errors) != 0)
        fail_msg("script errors: %s", text);
    assert_int_equal(kt_json_get(st, "ok")->type, KT_JSON_TRUE);
    free(text);
    *dom_out = dom;
    return st;
}

static void test_known_run_renders_every_slice_and_the_violation(void **state)
{
    (void)state;
    kdpc_machine *m = traced(11);
    assert_int_equal(kdpc_machine_run(m, body, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 1);
    const kdpc_violation *v = kdpc_machine_violation(m, 0);
    assert_string_equal(v->rule, "dpc.too_long");
    assert_int_equal(v->cpu, 1);

    uint64_t want[2], dpcs, isrs, idle;
    expected_slices(m, want, &dpcs, &isrs, &idle);
    assert_int_equal(dpcs, 1);
    assert_int_equal(isrs, 1);
    assert_true(idle >= 1); /* the body's thread left its CPU: the page must not draw idle */

    char html[512];
    snprintf(html, sizeof html, "%s/run.html", dir);
    assert_int_equal(kdpc_report_html(m, html), KDPC_OK);

    char *dom = NULL;
    kt_json *st = selftest(html, "", &dom);
    assert_int_equal((int)kt_json_num(st, "cpus", -1), 2);
    assert_int_equal((int)kt_json_num(st, "marked", 0), -1);
    const kt_json *slices = kt_json_get(st, "slices");
    assert_int_equal(kt_json_len(slices), 2);
    for (size_t c = 0; c < 2; c++) {
        assert_int_equal((uint64_t)kt_json_at(slices, c)->number, want[c]);
    }
    assert_int_equal((uint64_t)kt_json_num(st, "slices_drawn", -1), want[0] + want[1]);
    assert_int_equal((int)kt_json_num(st, "violations", -1), 1);

    /* The violation's row links to its moment. */
    char attr[128], expect[128];
    assert_true(attribute(dom, "violation-0", "data-time", attr, sizeof attr));
    snprintf(expect, sizeof expect, "%llu", (unsigned long long)v->time_ns);
    assert_string_equal(attr, expect);
    assert_true(attribute(dom, "violation-0", "data-cpu", attr, sizeof attr));
    assert_string_equal(attr, "1");
    assert_true(attribute(dom, "violation-0", "data-rule", attr, sizeof attr));
    assert_string_equal(attr, "dpc.too_long");
    assert_true(attribute(dom, "violation-0", "href", attr, sizeof attr));
    snprintf(expect, sizeof expect, "#t=%llu", (unsigned long long)v->time_ns);
    assert_string_equal(attr, expect);
    /* the report's routines table names both routines */
    assert_non_null(strstr(dom, "BrowserDpc"));
    assert_non_null(strstr(dom, "BrowserIsr"));
    kt_json_free(st);
    free(dom);

    /* Following the link (the page opened at its #t=): the timeline shows that moment and no
     * more than a fiftieth of the run (or 20 us) around it, and the violation is marked. */
    st = selftest(html, expect, &dom);
    assert_int_equal((int)kt_json_num(st, "marked", -1), 0);
    const kt_json *view = kt_json_get(st, "view");
    assert_int_equal(kt_json_len(view), 2);
    double from = kt_json_at(view, 0)->number, to = kt_json_at(view, 1)->number;
    assert_true(from <= (double)v->time_ns && (double)v->time_ns <= to);
    assert_true(to - from < (double)kdpc_machine_time_ns(m) / 2);
    assert_non_null(strstr(dom, "id=\"violation-row-0\" class=\"marked\""));
    kt_json_free(st);
    free(dom);
    kdpc_machine_destroy(m);
}

static void test_bugchecked_run_renders(void **state)
{
    (void)state;
    kdpc_machine *m = traced(12);
    assert_int_equal(kdpc_machine_run(m, bugcheck_body, NULL), KDPC_BUGCHECK);
    uint64_t want[2], dpcs, isrs, idle;
    expected_slices(m, want, &dpcs, &isrs, &idle);
    char html[512];
    snprintf(html, sizeof html, "%s/bugcheck.html", dir);
    assert_int_equal(kdpc_report_html(m, html), KDPC_OK);
    char *dom = NULL;
    kt_json *st = selftest(html, "", &dom);
    assert_int_equal((int)kt_json_num(st, "cpus", -1), 2);
    const kt_json *slices = kt_json_get(st, "slices");
    for (size_t c = 0; c < 2; c++)
        assert_int_equal((uint64_t)kt_json_at(slices, c)->number, want[c]);
    assert_int_equal((size_t)kt_json_num(st, "violations", -1), kdpc_machine_violation_count(m));
    assert_true(attribute(dom, "violation-0", "data-rule", (char[64]){0}, 64));
    kt_json_free(st);
    free(dom);
    kdpc_machine_destroy(m);
}

static bool executable(const char *path)
{
    return access(path, X_OK) == 0;
}

static bool find_browser(void)
{
    const char *env = getenv("KDPC_CHROMIUM");
    if (env != NULL && env[0] != '\0') {
        snprintf(browser, sizeof browser, "%s", env);
        return executable(browser);
    }
    static const char *const names[] = {"chromium", "chromium-browser", "google-chrome",
                                        "google-chrome-stable"};
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *p = path;
        while (*p != '\0') {
            const char *colon = strchr(p, ':');
            size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);
            snprintf(browser, sizeof browser, "%.*s/%s", (int)len, p, names[i]);
            if (len > 0 && executable(browser))
                return true;
            p += len + (colon != NULL ? 1 : 0);
        }
    }
    return false;
}

static void remove_dir(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
    const char *env = getenv("KDPC_CHROMIUM");
    if (env != NULL && env[0] != '\0' && !executable(env)) {
        /* a browser was asked for by name: not finding it is an error, not a skip */
        printf("KDPC_CHROMIUM=%s is not an executable file\n", env);
        return 1;
    }
    if (!find_browser()) {
        printf("SKIPPED: no chromium (set KDPC_CHROMIUM, or install Debian's chromium)\n");
        return 77;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/kdpc-browser-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    printf("browser: %s\n", browser);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_run_renders_every_slice_and_the_violation),
        cmocka_unit_test(test_bugchecked_run_renders),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    const char *keep = getenv("KDPC_BROWSER_KEEP");
    if (keep != NULL && keep[0] == '1')
        printf("pages kept in %s\n", dir);
    else
        remove_dir();
    return failed;
}
