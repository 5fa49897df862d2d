/* SPDX-License-Identifier: MIT */
/*
 * posix/thread.c - host mutexes, condition variables and the host clock
 * (pthread implementation of platform.h).
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <time.h>

#include "platform/platform.h"

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((kdpc__mutex *)0)->opaque),
               "kdpc__mutex too small for pthread_mutex_t");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(((kdpc__cond *)0)->opaque),
               "kdpc__cond too small for pthread_cond_t");

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

#if defined(KDPC_TLS_OUTLINE)
void kdpc__host_busy_enter(void)
{
    __atomic_store_n(&kdpc__host_busy, __atomic_load_n(&kdpc__host_busy, __ATOMIC_RELAXED) + 1u,
                     __ATOMIC_RELAXED);
}

void kdpc__host_busy_leave(void)
{
    __atomic_store_n(&kdpc__host_busy, __atomic_load_n(&kdpc__host_busy, __ATOMIC_RELAXED) - 1u,
                     __ATOMIC_RELAXED);
}
#endif

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

void kdpc__cond_broadcast(kdpc__cond *cv)
{
    pthread_cond_broadcast(CV(cv));
}

uint64_t kdpc__host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
