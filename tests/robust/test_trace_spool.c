/* SPDX-License-Identifier: MIT */
/*
 * test_trace_spool.c - the trace spool (cfg.trace_stream) under bad input: a spool directory
 * that is missing or not a directory, a write that fails mid-run (RLIMIT_FSIZE), a reset (a new
 * spool), a bug-checked run (the spool holds every event up to the bug check) and a long run
 * (the spool grows on disk, not in memory).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kdpc/kdpc.h>
#include <wdm.h>

#include "kdpc_test.h"
#include "kt_json.h"

static char dir[64];
static char out_path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/kdpc-spool-test-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(out_path, sizeof(out_path), "%s/trace.json", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    (void)unlink(out_path);
    (void)rmdir(dir);
    return 0;
}

static kdpc_config stream_config(void)
{
    kdpc_config cfg = kt_config(1, 7);
    cfg.trace_stream = true;
    cfg.trace_spool_dir = dir;
    return cfg;
}

/* ---- a driver: N DPC round trips, then maybe a bug check ---- */

static KDPC dpc_a, dpc_b;
static unsigned rounds;
static unsigned bugcheck_at; /* 0: never */
static unsigned calls;

static void SpoolDpcA(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    if (++calls == bugcheck_at)
        KeBugCheckEx(0xE2, 0, 0, 0, 0);
}

static void SpoolDpcB(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
}

static void body_a(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&dpc_a, SpoolDpcA, NULL);
    for (unsigned i = 0; i < rounds; i++)
        KeInsertQueueDpc(&dpc_a, NULL, NULL);
}

static void body_b(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&dpc_b, SpoolDpcB, NULL);
    for (unsigned i = 0; i < rounds; i++)
        KeInsertQueueDpc(&dpc_b, NULL, NULL);
}

/* Round trips over MANY KDPCs: records that do not repeat (the spool writes a repeated record
 * in one byte), about 10 bytes an event. */
#define MANY 8192u
static KDPC many[MANY];

static void body_many(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < MANY; i++)
        KeInitializeDpc(&many[i], SpoolDpcB, NULL);
    for (unsigned i = 0; i < rounds; i++)
        KeInsertQueueDpc(&many[i % MANY], NULL, NULL);
}

static void name_routines(kdpc_machine *m)
{
    assert_int_equal(KDPC_NAME(m, SpoolDpcA), KDPC_OK);
    assert_int_equal(KDPC_NAME(m, SpoolDpcB), KDPC_OK);
}

/* "B" slices named @name in the exported JSON at out_path. */
static size_t count_slices(const char *name)
{
    char err[128];
    kt_json *doc = kt_json_parse_file(out_path, err, sizeof(err));
    if (doc == NULL)
        fail_msg("export is not JSON: %s", err);
    const kt_json *evs = kt_json_get(doc, "traceEvents");
    assert_non_null(evs);
    size_t n = 0;
    for (size_t i = 0; i < kt_json_len(evs); i++) {
        const kt_json *e = kt_json_at(evs, i);
        const char *ph = kt_json_str(e, "ph");
        const char *nm = kt_json_str(e, "name");
        if (ph != NULL && nm != NULL && strcmp(ph, "B") == 0 && strcmp(nm, name) == 0)
            n++;
    }
    kt_json_free(doc);
    return n;
}

/* dpc-begin events of @m's ring (the ring holds the whole run in these tests). */
static size_t ring_dpc_begins(const kdpc_machine *m)
{
    size_t n = 0;
    for (size_t i = 0; i < kdpc_trace_count(m); i++)
        n += kdpc_trace_event(m, i)->kind == KDPC_EV_DPC_BEGIN;
    return n;
}

/* ---- tests ---- */

static void test_missing_dir_fails_create(void **state)
{
    (void)state;
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/no/such/dir", dir);
    kdpc_config cfg = stream_config();
    cfg.trace_spool_dir = missing;
    errno = 0;
    assert_null(kdpc_machine_create(&cfg));
    assert_int_equal(errno, ENOENT);
}

static void test_file_as_dir_fails_create(void **state)
{
    (void)state;
    FILE *f = fopen(out_path, "w");
    assert_non_null(f);
    fclose(f);
    kdpc_config cfg = stream_config();
    cfg.trace_spool_dir = out_path; /* a regular file */
    errno = 0;
    assert_null(kdpc_machine_create(&cfg));
    assert_int_equal(errno, ENOTDIR);
    /* nothing was left in the directory but that file */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int others = 0;
    while ((de = readdir(d)) != NULL)
        others += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                  strcmp(de->d_name, "trace.json") != 0;
    closedir(d);
    assert_int_equal(others, 0);
}

/* The spool is unnamed: a machine leaves no file in the directory, during or after its run. */
static void test_spool_leaves_no_file(void **state)
{
    (void)state;
    kdpc_config cfg = stream_config();
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    rounds = 100;
    bugcheck_at = 0;
    calls = 0;
    assert_int_equal(kdpc_machine_run(m, body_b, NULL), KDPC_OK);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL)
        files += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    assert_int_equal(files, 0);
    kdpc_machine_destroy(m);
}

/* In a child: the file size limit is small while the machine runs (writes fail with EFBIG,
 * SIGXFSZ ignored), then raised for the export: the spool is cut, so the export must fail
 * with KDPC_EOUTPUT and errno EFBIG, and leave no file. Exit codes say which check failed. */
static int write_failure_child(void)
{
    if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
        return 10;
    struct rlimit old;
    if (getrlimit(RLIMIT_FSIZE, &old) != 0)
        return 11;
    struct rlimit small = old;
    small.rlim_cur = 64 * 1024;
    if (old.rlim_max != RLIM_INFINITY && old.rlim_max < small.rlim_cur)
        return 12;
    kdpc_config cfg = stream_config();
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL)
        return 13;
    if (setrlimit(RLIMIT_FSIZE, &small) != 0)
        return 14;
    rounds = 200000; /* about 10 MB of records: far past 64 KiB */
    bugcheck_at = 0;
    calls = 0;
    kdpc_status st = kdpc_machine_run(m, body_many, NULL);
    if (setrlimit(RLIMIT_FSIZE, &old) != 0)
        return 15;
    if (st != KDPC_OK)
        return 16; /* the run itself goes on */
    errno = 0;
    st = kdpc_trace_export_json(m, out_path);
    int err = errno;
    if (st != KDPC_EOUTPUT)
        return 17;
    if (err != EFBIG)
        return 18;
    if (access(out_path, F_OK) == 0)
        return 19;
    kdpc_machine_destroy(m);
    return 0;
}

static void test_write_failure_mid_run(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(write_failure_child());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* kdpc_machine_reset starts a new spool: the export after it holds the second run only. */
static void test_reset_starts_new_spool(void **state)
{
    (void)state;
    kdpc_config cfg = stream_config();
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    name_routines(m);
    rounds = 50;
    bugcheck_at = 0;
    calls = 0;
    assert_int_equal(kdpc_machine_run(m, body_a, NULL), KDPC_OK);
    assert_int_equal(kdpc_trace_export_json(m, out_path), KDPC_OK);
    assert_int_equal(count_slices("SpoolDpcA"), 50);
    assert_int_equal(kdpc_machine_reset(m, 8), KDPC_OK);
    name_routines(m);
    rounds = 30;
    assert_int_equal(kdpc_machine_run(m, body_b, NULL), KDPC_OK);
    assert_int_equal(kdpc_trace_export_json(m, out_path), KDPC_OK);
    assert_int_equal(count_slices("SpoolDpcA"), 0);
    assert_int_equal(count_slices("SpoolDpcB"), 30);
    kdpc_machine_destroy(m);
}

/* A run stopped by a bug check: the spool (read back by the export) holds every event up to
 * it, the same DPC calls as the ring that kept the whole run; the last one unfinished. */
static void test_bugchecked_run_spool_complete(void **state)
{
    (void)state;
    kdpc_config cfg = stream_config();
    cfg.trace_capacity = 1u << 16;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    name_routines(m);
    rounds = 1000;
    bugcheck_at = 777;
    calls = 0;
    assert_int_equal(kdpc_machine_run(m, body_a, NULL), KDPC_BUGCHECK);
    assert_true(kdpc_trace_total(m) == (uint64_t)kdpc_trace_count(m)); /* the ring kept all */
    assert_int_equal(ring_dpc_begins(m), 777);
    assert_int_equal(kdpc_trace_export_json(m, out_path), KDPC_OK);
    assert_int_equal(count_slices("SpoolDpcA"), 777);
    kdpc_machine_destroy(m);
}

/* The size of the (deleted) spool files of this process in @d, from /proc/self/fd. */
static long long spool_bytes_on_disk(const char *d)
{
    DIR *fds = opendir("/proc/self/fd");
    if (fds == NULL)
        return -1;
    long long total = 0;
    struct dirent *de;
    size_t dl = strlen(d);
    while ((de = readdir(fds)) != NULL) {
        char link[PATH_MAX], target[PATH_MAX];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, d, dl) != 0 || strstr(target, "kdpc-spool-") == NULL)
            continue;
        struct stat st;
        if (stat(link, &st) == 0)
            total += (long long)st.st_size;
    }
    closedir(fds);
    return total;
}

/* A run of over a million events: the spool grows on disk (about 10 bytes an event), the
 * process' resident memory does not grow with it (the ring would take 70 MB). */
static void test_long_run_memory_bounded(void **state)
{
    (void)state;
    kdpc_config cfg = stream_config();
    long long rss0 = kt_host_rss();
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    rounds = 250000;
    bugcheck_at = 0;
    calls = 0;
    assert_int_equal(kdpc_machine_run(m, body_many, NULL), KDPC_OK);
    uint64_t events = kdpc_trace_total(m);
    assert_true(events >= 1000000u);
    long long rss1 = kt_host_rss();
    long long disk = spool_bytes_on_disk(dir);
    if (disk >= 0) /* /proc there: the bytes went to the file (the last buffer may not yet) */
        assert_true(disk + (2 << 20) >= (long long)(events * 4u));
    if (rss0 >= 0 && rss1 >= 0) {
        long long grown = rss1 - rss0;
        if (grown > 8ll << 20)
            fail_msg("resident memory grew by %lld bytes for %llu events", grown,
                     (unsigned long long)events);
    }
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_dir_fails_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_as_dir_fails_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_leaves_no_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure_mid_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_starts_new_spool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bugchecked_run_spool_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_run_memory_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
