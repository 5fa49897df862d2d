/* SPDX-License-Identifier: MIT */
/*
 * posix/fault.c - page protection and the SIGSEGV handler that turns a
 * touch of protected memory into a callback (for paged pool at raised IRQL).
 *
 * Regions are registered with a callback. While at least one user has
 * enabled the handler (refcounted: machines may run at once on several host
 * threads, and test frameworks install their own SIGSEGV handler between
 * runs), a fault inside a region calls the region's callback; a fault
 * anywhere else goes to the handler that was there before.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <ucontext.h>

#include "platform/platform.h"

#define MAX_REGIONS 64

typedef struct region {
    _Atomic(uintptr_t) lo, hi;
    kdpc__fault_fn *fn;
    void *ctx;
} region;

static region regions[MAX_REGIONS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned users;
static struct sigaction previous;

void *kdpc__pages_reserve(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int shared_fd(size_t bytes)
{
#if defined(__linux__)
    int fd = memfd_create("kdpc-paged-pool", MFD_CLOEXEC);
#else
    static atomic_uint serial;
    char name[64];
    snprintf(name, sizeof(name), "/kdpc-pool-%ld-%u", (long)getpid(),
             atomic_fetch_add(&serial, 1u));
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0)
        shm_unlink(name);
#endif
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)bytes) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void *kdpc__pages_reserve_aliased(size_t bytes, void **alias)
{
    *alias = NULL;
    int fd = shared_fd(bytes);
    if (fd < 0)
        return kdpc__pages_reserve(bytes);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    void *q =
        p == MAP_FAILED ? MAP_FAILED : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return kdpc__pages_reserve(bytes);
    if (q == MAP_FAILED) {
        munmap(p, bytes);
        return kdpc__pages_reserve(bytes);
    }
    *alias = q;
    return p;
}

void kdpc__pages_release(void *p, size_t bytes)
{
    if (p != NULL)
        munmap(p, bytes);
}

int kdpc__pages_protect(void *p, size_t bytes, bool accessible)
{
    if (p == NULL || bytes == 0)
        return 0;
    return mprotect(p, bytes, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
}

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    uintptr_t addr = (uintptr_t)si->si_addr;
    for (int i = 0; i < MAX_REGIONS; i++) {
        uintptr_t lo = atomic_load(&regions[i].lo);
        uintptr_t hi = atomic_load(&regions[i].hi);
        if (lo == 0 || addr < lo || addr >= hi)
            continue;
        bool write = false;
        uintptr_t ip = 0;
#if defined(__x86_64__) && defined(REG_ERR)
        ucontext_t *uc = uctx;
        write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
        ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
        ucontext_t *uc = uctx;
        ip = (uintptr_t)uc->uc_mcontext.pc;
#else
        (void)uctx;
#endif
        if (regions[i].fn(regions[i].ctx, addr, write, ip))
            return; /* made accessible: the instruction runs again */
    }
    /* Not ours: behave as the previous handler would. */
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction != NULL) {
            previous.sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN &&
               previous.sa_handler != NULL) {
        previous.sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int kdpc__fault_region_add(uintptr_t lo, uintptr_t hi, kdpc__fault_fn *fn, void *ctx)
{
    pthread_mutex_lock(&mu);
    int slot = -1;
    for (int i = 0; i < MAX_REGIONS; i++) {
        if (atomic_load(&regions[i].lo) == 0) {
            regions[i].fn = fn;
            regions[i].ctx = ctx;
            atomic_store(&regions[i].hi, hi);
            atomic_store(&regions[i].lo, lo);
            slot = i;
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    return slot;
}

void kdpc__fault_region_remove(int slot)
{
    if (slot < 0 || slot >= MAX_REGIONS)
        return;
    pthread_mutex_lock(&mu);
    atomic_store(&regions[slot].lo, 0);
    atomic_store(&regions[slot].hi, 0);
    pthread_mutex_unlock(&mu);
}

void kdpc__fault_enable(void)
{
    pthread_mutex_lock(&mu);
    if (users++ == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &previous);
    }
    pthread_mutex_unlock(&mu);
}

void kdpc__fault_disable(void)
{
    pthread_mutex_lock(&mu);
    if (users > 0 && --users == 0)
        sigaction(SIGSEGV, &previous, NULL);
    pthread_mutex_unlock(&mu);
}
