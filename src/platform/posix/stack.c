/* SPDX-License-Identifier: MIT */
/*
 * posix/stack.c - fiber stacks: mmap'd with KDPC_STACK_GUARD bytes of
 * inaccessible pages below them, kept in a small process-wide cache when
 * released and handed to the next fiber of the same size (creating a machine
 * then costs no system call), and cleared for reuse so that a stack always
 * reads as a new one does.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform/platform.h"
#include "platform/posix/sanitizer.h"
#include "platform/posix/stack.h"

#define CACHE_MAX 160 /* every idle context of a 64-CPU machine, plus its threads */

typedef struct cached_stack {
    void *map;
    size_t size;
} cached_stack;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static cached_stack cache[CACHE_MAX];
static unsigned cache_n;

size_t kdpc__page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096u;
}

void *kdpc__stack_get(size_t total)
{
    void *map = NULL;
    kdpc__host_busy_enter(); /* no jump out while the cache is locked */
    pthread_mutex_lock(&cache_mu);
    for (unsigned i = cache_n; i-- > 0;) {
        if (cache[i].size == total) {
            map = cache[i].map;
            cache[i] = cache[--cache_n];
            break;
        }
    }
    pthread_mutex_unlock(&cache_mu);
    kdpc__host_busy_leave();
    if (map != NULL)
        return map;
    map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, KDPC_STACK_GUARD, PROT_NONE) != 0) {
        munmap(map, total);
        return NULL;
    }
    return map;
}

/* Make the stack [p, p + n) (page-aligned) read as a new one: the top TOP_PAGES pages, where
 * every fiber's first frames live, are cleared in place; the rest goes back to the host, so a
 * page a fiber touched below them comes back as a zero page at its next touch (one system call;
 * looking for the touched pages first would cost as much). False when the host refuses. */
#define TOP_PAGES 2u
static bool stack_clear(unsigned char *p, size_t n, bool ran)
{
    size_t top = (size_t)TOP_PAGES * kdpc__page_size();
    if (top > n)
        top = n;
    memset(p + n - top, 0, top);
    if (!ran)
        return true; /* only prepare() wrote, at the very top */
    return n == top || madvise(p, n - top, MADV_DONTNEED) == 0;
}

void kdpc__stack_put(void *map, size_t total, bool ran)
{
#if defined(KDPC_ASAN)
    /* Frames that never returned (a fiber unwound by a jump) leave poisoned redzones. */
    __asan_unpoison_memory_region((char *)map + KDPC_STACK_GUARD, total - KDPC_STACK_GUARD);
#endif
    /* A reused stack must read as a new one does (zeroes): what the last fiber left there would
     * otherwise reach the next one's uninitialised variables and objects, and a run would
     * depend on the machines before it (a seed replayed in a new process would differ). */
#if defined(KDPC_VALGRIND)
    /* Valgrind took the stack below the last fiber's stack pointer for dead frames. */
    VALGRIND_MAKE_MEM_DEFINED((char *)map + KDPC_STACK_GUARD, total - KDPC_STACK_GUARD);
#endif
    if (!stack_clear((unsigned char *)map + KDPC_STACK_GUARD, total - KDPC_STACK_GUARD, ran)) {
        munmap(map, total);
        return;
    }
    kdpc__host_busy_enter();
    pthread_mutex_lock(&cache_mu);
    if (cache_n < CACHE_MAX) {
        cache[cache_n].map = map;
        cache[cache_n].size = total;
        cache_n++;
        map = NULL;
    }
    pthread_mutex_unlock(&cache_mu);
    kdpc__host_busy_leave();
    if (map != NULL)
        munmap(map, total);
}
