/* SPDX-License-Identifier: MIT */
/*
 * posix/watchdog.c - one process-wide host thread that looks at the runs in
 * progress every KDPC_WATCH_PERIOD_MS.
 *
 * A machine runs all its simulated contexts on the host thread that called
 * kdpc_machine_run, so that thread cannot watch itself: a driver loop that
 * never calls the kernel keeps it busy. The watchdog thread is shared by all
 * machines of the process (no machine has a host thread of its own besides
 * the one running it), started on the first watch and stopped at exit.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/platform.h"
#include "platform/posix/sanitizer.h"

_Static_assert(sizeof(pthread_t) <= sizeof(uint64_t), "pthread_t does not fit");

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_once_t cv_once = PTHREAD_ONCE_INIT;
static clockid_t cv_clock = CLOCK_REALTIME;
static kdpc__hostwatch *watches; /* mu */
static bool started;             /* mu: the thread runs */
static bool stopping;            /* mu: exit in progress */
static bool asleep;              /* mu: the thread waits without a timeout (nothing to watch) */
static pthread_t dog;

/* The periods are measured on the monotonic clock where the host lets a condition variable
 * use it (a wall-clock step must not make a hang look shorter or longer). */
static void cv_make(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
#if defined(__linux__)
    if (pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0)
        cv_clock = CLOCK_MONOTONIC;
#endif
    pthread_cond_init(&cv, &a);
    pthread_condattr_destroy(&a);
}

static bool forked; /* this process is a child of a fork() after the watchdog started */

/* A child of fork() has no watchdog thread (only the forking thread survives) and no runs. */
static void after_fork_child(void)
{
    forked = true;
    pthread_mutex_init(&mu, NULL);
    cv_make();
    watches = NULL;
    started = false;
    asleep = false;
}

static void *dog_main(void *arg)
{
    (void)arg;
    unsigned empty_periods = 0;
    pthread_mutex_lock(&mu);
    while (!stopping) {
        /* Idle for a second: sleep until a watch comes (runs one after another keep it
         * ticking instead of waking it each time). */
        empty_periods = watches == NULL ? empty_periods + 1 : 0;
        if (empty_periods > 10) {
            asleep = true;
            pthread_cond_wait(&cv, &mu);
            asleep = false;
            empty_periods = 0;
            continue;
        }
        struct timespec ts;
        clock_gettime(cv_clock, &ts);
        ts.tv_nsec += (long)KDPC_WATCH_PERIOD_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&cv, &mu, &ts);
        for (kdpc__hostwatch *w = watches; w != NULL && !stopping; w = w->next)
            w->fn(w);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void dog_stop(void)
{
    pthread_mutex_lock(&mu);
    bool was = started;
    stopping = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (was)
        pthread_join(dog, NULL);
}

int kdpc__hostwatch_add(kdpc__hostwatch *w)
{
    (void)pthread_once(&cv_once, cv_make);
    pthread_t self = pthread_self();
    w->host = 0;
    memcpy(&w->host, &self, sizeof(self));
    pthread_mutex_lock(&mu);
    if (stopping) {
        pthread_mutex_unlock(&mu);
        return ESHUTDOWN;
    }
#if defined(KDPC_TSAN)
    /* ThreadSanitizer stops a process that starts a thread after a multi-threaded fork: runs
     * in such a child go without the host-time watchdog (the step and time limits stay). */
    if (!started && forked) {
        pthread_mutex_unlock(&mu);
        return ENOTSUP;
    }
#endif
    if (!started) {
        /* The watchdog must not receive the signals it sends, nor any other. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&dog, NULL, dog_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
            pthread_mutex_unlock(&mu);
            return rc;
        }
        started = true;
        static bool hooked;
        if (!hooked) {
            hooked = true;
            atexit(dog_stop);
            (void)pthread_atfork(NULL, NULL, after_fork_child);
        }
    }
    w->next = watches;
    watches = w;
    if (asleep)
        pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return 0;
}

void kdpc__hostwatch_remove(kdpc__hostwatch *w)
{
    pthread_mutex_lock(&mu);
    for (kdpc__hostwatch **link = &watches; *link != NULL; link = &(*link)->next) {
        if (*link == w) {
            *link = w->next;
            break;
        }
    }
    w->next = NULL;
    pthread_mutex_unlock(&mu);
}

int kdpc__hostwatch_signal(const kdpc__hostwatch *w, int sig)
{
    pthread_t t;
    memcpy(&t, &w->host, sizeof(t));
    return pthread_kill(t, sig);
}
