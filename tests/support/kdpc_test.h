/* SPDX-License-Identifier: MIT */
/*
 * kdpc_test.h - helpers shared by kdpc's own CMocka tests.
 *
 * Include after <cmocka.h> (which needs <stdarg.h>, <stddef.h>,
 * <setjmp.h>, <stdint.h> first). Machines built here are quiet (no report
 * on stderr) unless the environment has KDPC_TEST_LOG=1; a failing test can
 * then be rerun with reports.
 */
#ifndef KDPC_TEST_H
#define KDPC_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kdpc/kdpc.h>
#include <kdpc/driver.h>
#include <kdpc/wdm.h>

/* 1 under ThreadSanitizer (which sees each fiber as a thread: it cannot follow a longjmp from
 * one fiber to another, and delivers a signal only at a thread's next intercepted call). */
#if defined(__SANITIZE_THREAD__)
#define KT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KT_TSAN 1
#endif
#endif
#ifndef KT_TSAN
#define KT_TSAN 0
#endif

/* Config with @cpus CPUs and @seed, quiet unless KDPC_TEST_LOG=1. */
static inline kdpc_config kt_config(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg;
    kdpc_config_init(&cfg);
    cfg.cpus = cpus;
    cfg.seed = seed;
    const char *log = getenv("KDPC_TEST_LOG");
    cfg.log = (log != NULL && log[0] == '1') ? stderr : NULL;
    return cfg;
}

/* Create a machine from kt_config(cpus, seed); fails the test if that fails. */
static inline kdpc_machine *kt_machine(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* Assert that the run stopped with a bug check of @rule and @code. */
#define KT_ASSERT_BUGCHECK(m, st, rule_, code_)                                                    \
    do {                                                                                           \
        assert_int_equal((st), KDPC_BUGCHECK);                                                     \
        const kdpc_violation *bc_ = kdpc_machine_bugcheck(m);                                      \
        assert_non_null(bc_);                                                                      \
        assert_string_equal(bc_->rule, (rule_));                                                   \
        assert_int_equal(bc_->code, (code_));                                                      \
        assert_true(bc_->fatal);                                                                   \
    } while (0)

/* Assert that a warning of @rule was recorded (the run may have gone on). */
#define KT_ASSERT_WARNING(m, rule_)                                                                \
    do {                                                                                           \
        const kdpc_violation *w_ = kdpc_machine_find_violation((m), (rule_));                      \
        assert_non_null(w_);                                                                       \
        assert_false(w_->fatal);                                                                   \
        assert_int_equal(w_->code, 0);                                                             \
    } while (0)

/* Assert that no violation of @rule was recorded. */
#define KT_ASSERT_NO_VIOLATION(m, rule_) assert_null(kdpc_machine_find_violation((m), (rule_)))

/* Resident memory of the process in bytes (Linux /proc/self/statm), for "N cycles do not grow
 * it" checks; -1 where the host does not tell, and under ASan or TSan, whose quarantine and
 * shadow memory grow it by themselves. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KT_RSS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KT_RSS_SANITIZED 1
#endif
#endif
#if defined(__linux__) && !defined(KT_RSS_SANITIZED)
#include <unistd.h>
#endif
static inline long long kt_host_rss(void)
{
#if defined(KT_RSS_SANITIZED) || !defined(__linux__)
    return -1;
#else
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    long long size = 0, resident = -1;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return resident < 0 || page <= 0 ? -1 : resident * (long long)page;
#endif
}

#endif /* KDPC_TEST_H */
