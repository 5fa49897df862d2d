/* SPDX-License-Identifier: MIT */
/*
 * posix/thread.c - pthread implementation of platform.h.
 *
 * The only file of kdpc that includes <pthread.h>. Monotonic condition
 * variables are not needed: kdpc never waits with a host timeout.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

void kdpc__mutex_lock(kdpc__mutex *mu)
{
    pthread_mutex_lock(MU(mu));
}

void kdpc__mutex_unlock(kdpc__mutex *mu)
{
    pthread_mutex_unlock(MU(mu));
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

void kdpc__cond_signal(kdpc__cond *cv)
{
    pthread_cond_signal(CV(cv));
}

void kdpc__cond_broadcast(kdpc__cond *cv)
{
    pthread_cond_broadcast(CV(cv));
}

int kdpc__hostthread_start(kdpc__hostthread *t, void *(*fn)(void *), void *arg, size_t stack_size)
{
    pthread_attr_t attr;
    pthread_t tid;
    int rc = pthread_attr_init(&attr);
    if (rc != 0)
        return rc;
    if (stack_size != 0)
        (void)pthread_attr_setstacksize(&attr, stack_size);
    rc = pthread_create(&tid, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return rc;
    memset(t, 0, sizeof(*t));
    memcpy(&t->opaque, &tid, sizeof(tid));
    return 0;
}

void kdpc__hostthread_join(kdpc__hostthread *t)
{
    pthread_t tid;
    memcpy(&tid, &t->opaque, sizeof(tid));
    pthread_join(tid, NULL);
}

uint64_t kdpc__host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
