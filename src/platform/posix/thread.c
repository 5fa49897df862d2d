/* SPDX-License-Identifier: MIT */
/*
 * posix/thread.c - pthread implementation of platform.h.
 *
 * The only file of kdpc that includes <pthread.h>. Monotonic condition
 * variables are not needed: kdpc never waits with a host timeout.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((kdpc__mutex *)0)->opaque),
               "kdpc__mutex too small for pthread_mutex_t");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(((kdpc__cond *)0)->opaque),
               "kdpc__cond too small for pthread_cond_t");
_Static_assert(sizeof(pthread_t) <= sizeof(uint64_t), "pthread_t does not fit");

#define MU(m) ((pthread_mutex_t *)(void *)(m)->opaque)
#define CV(c) ((pthread_cond_t *)(void *)(c)->opaque)

int kdpc__mutex_init(kdpc__mutex *mu)
{
    return pthread_mutex_init(MU(mu), NULL);
}

void kdpc__mutex_destroy(kdpc__mutex *mu)
{
    pthread_mutex_destroy(MU(mu));
}

_Thread_local unsigned kdpc__host_busy;

void kdpc__mutex_lock(kdpc__mutex *mu)
{
    kdpc__host_busy_enter();
    pthread_mutex_lock(MU(mu));
}

void kdpc__mutex_unlock(kdpc__mutex *mu)
{
    pthread_mutex_unlock(MU(mu));
    kdpc__host_busy_leave();
}

int kdpc__cond_init(kdpc__cond *cv)
{
    return pthread_cond_init(CV(cv), NULL);
}

void kdpc__cond_destroy(kdpc__cond *cv)
{
    pthread_cond_destroy(CV(cv));
}

void kdpc__cond_wait(kdpc__cond *cv, kdpc__mutex *mu)
{
    pthread_cond_wait(CV(cv), MU(mu));
}

void kdpc__cond_wait_ms(kdpc__cond *cv, kdpc__mutex *mu, unsigned ms)
{
    /* The realtime clock: a clock step only makes this one wait longer or shorter. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(CV(cv), MU(mu), &ts);
}

void kdpc__cond_signal(kdpc__cond *cv)
{
    pthread_cond_signal(CV(cv));
}

void kdpc__cond_broadcast(kdpc__cond *cv)
{
    pthread_cond_broadcast(CV(cv));
}

/* The guard pages of the calling thread's stack, for the fault handler. */
static _Thread_local uintptr_t guard_lo, guard_hi;

/* Room for kdpc's handler and for the handler it chains to (a sanitizer's report needs more
 * than SIGSTKSZ); pages are only touched when used. */
#define ALT_STACK_SIZE ((size_t)256 << 10)

typedef struct start_box {
    void *(*fn)(void *);
    void *arg;
    uintptr_t guard_lo, guard_hi;
} start_box;

static void *trampoline(void *p)
{
    start_box box = *(start_box *)p;
    free(p);
    guard_lo = box.guard_lo;
    guard_hi = box.guard_hi;
    /* The fault handler runs here when the thread's own stack is exhausted. */
    void *alt =
        mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss, old;
    memset(&ss, 0, sizeof(ss));
    memset(&old, 0, sizeof(old));
    old.ss_flags = SS_DISABLE;
    if (alt != MAP_FAILED) {
        ss.ss_sp = alt;
        ss.ss_size = ALT_STACK_SIZE;
        (void)sigaltstack(&ss, &old);
    }
    void *r = box.fn(box.arg);
    if (alt != MAP_FAILED) {
        /* Give back the one that was there (a sanitizer's own, which it frees at exit). */
        (void)sigaltstack(&old, NULL);
        munmap(alt, ALT_STACK_SIZE);
    }
    return r;
}

bool kdpc__hostthread_in_guard(uintptr_t addr)
{
    return guard_hi != 0 && addr >= guard_lo && addr < guard_hi;
}

int kdpc__hostthread_start(kdpc__hostthread *t, void *(*fn)(void *), void *arg, size_t stack_size)
{
    memset(t, 0, sizeof(*t));
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096u;
    size_t min = (size_t)PTHREAD_STACK_MIN > ((size_t)64 << 10) ? (size_t)PTHREAD_STACK_MIN
                                                                : ((size_t)64 << 10);
    if (stack_size < min)
        stack_size = min;
    if (stack_size > SIZE_MAX / 2)
        return EINVAL;
    stack_size = (stack_size + pg - 1) & ~(pg - 1);
    size_t total = stack_size + KDPC_STACK_GUARD;
    void *map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return errno != 0 ? errno : ENOMEM;
    if (mprotect(map, KDPC_STACK_GUARD, PROT_NONE) != 0) {
        munmap(map, total);
        return EAGAIN;
    }
    start_box *box = malloc(sizeof(*box));
    if (box == NULL) {
        munmap(map, total);
        return ENOMEM;
    }
    box->fn = fn;
    box->arg = arg;
    box->guard_lo = (uintptr_t)map;
    box->guard_hi = (uintptr_t)map + KDPC_STACK_GUARD;
    pthread_attr_t attr;
    pthread_t tid;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        rc = pthread_attr_setstack(&attr, (char *)map + KDPC_STACK_GUARD, stack_size);
        if (rc == 0)
            rc = pthread_create(&tid, &attr, trampoline, box);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        free(box);
        munmap(map, total);
        return rc;
    }
    memcpy(&t->opaque, &tid, sizeof(tid));
    t->stack = map;
    t->stack_size = total;
    return 0;
}

void kdpc__hostthread_join(kdpc__hostthread *t)
{
    pthread_t tid;
    memcpy(&tid, &t->opaque, sizeof(tid));
    pthread_join(tid, NULL);
    if (t->stack != NULL)
        munmap(t->stack, t->stack_size);
    t->stack = NULL;
    t->stack_size = 0;
}

int kdpc__hostthread_signal(const kdpc__hostthread *t, int sig)
{
    pthread_t tid;
    memcpy(&tid, &t->opaque, sizeof(tid));
    return pthread_kill(tid, sig);
}

uint64_t kdpc__host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
