/* SPDX-License-Identifier: MIT */
/*
 * posix/hostthread.c - what a host thread that runs fibers needs around a
 * run: an alternate signal stack big enough for the fault handler (a fiber's
 * own stack may be exhausted when it faults), and a call at the thread's end
 * when a run was left behind on it.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "platform/platform.h"

/* ---- the end of a host thread in the middle of a run ---- */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static void (*_Atomic exit_fn)(void);

static void exit_dtor(void *p)
{
    (void)p;
    void (*fn)(void) = atomic_load(&exit_fn);
    if (fn != NULL)
        fn();
}

static void exit_key_make(void)
{
    (void)pthread_key_create(&exit_key, exit_dtor);
}

void kdpc__host_exit_arm(void (*fn)(void))
{
    atomic_store(&exit_fn, fn);
    (void)pthread_once(&exit_once, exit_key_make);
    (void)pthread_setspecific(exit_key, (void *)1);
}

void kdpc__host_exit_disarm(void)
{
    (void)pthread_setspecific(exit_key, NULL);
}

/* ---- alternate signal stack ---- */
/* Room for kdpc's handler and for the handler it chains to (a sanitizer's report needs more
 * than SIGSTKSZ); pages are only touched when used. */
#define ALT_STACK_SIZE ((size_t)256 << 10)

static pthread_key_t alt_key;
static pthread_once_t alt_once = PTHREAD_ONCE_INIT;
static _Thread_local void *alt_mem;
static _Thread_local unsigned alt_depth;
static _Thread_local bool alt_installed;
static _Thread_local stack_t alt_old;
static _Thread_local bool alt_left; /* ours stayed installed after the last run (none before) */

static void alt_free(void *p)
{
    if (p != NULL)
        munmap(p, ALT_STACK_SIZE);
}

static void alt_key_make(void)
{
    (void)pthread_key_create(&alt_key, alt_free);
}

void kdpc__altstack_push(void)
{
    if (alt_depth++ != 0)
        return;
    if (alt_left)
        return; /* ours is still there: no system call (nothing else on this thread changes it
                 * between runs, short of the test's own sigaltstack) */
    stack_t cur;
    memset(&cur, 0, sizeof(cur));
    alt_installed = false;
    if (sigaltstack(NULL, &cur) != 0)
        return;
    if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= ALT_STACK_SIZE)
        return; /* the thread has one big enough */
    if (alt_mem == NULL) {
        void *p =
            mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return;
        (void)pthread_once(&alt_once, alt_key_make);
        (void)pthread_setspecific(alt_key, p); /* unmapped when the host thread ends */
        alt_mem = p;
    }
    stack_t ss;
    memset(&ss, 0, sizeof(ss));
    ss.ss_sp = alt_mem;
    ss.ss_size = ALT_STACK_SIZE;
    alt_old = cur;
    if (sigaltstack(&ss, NULL) == 0)
        alt_installed = true;
}

void kdpc__altstack_pop(void)
{
    if (alt_depth == 0 || --alt_depth != 0)
        return;
    /* Replacing none, ours stays: the next run finds it and makes no further system call. */
    if (alt_installed && !(alt_old.ss_flags & SS_DISABLE)) {
        stack_t old = alt_old;
        (void)sigaltstack(&old, NULL);
        alt_installed = false;
    } else if (alt_installed) {
        alt_left = true;
    }
}
