/* SPDX-License-Identifier: MIT */
/*
 * posix/fault.c - page protection and the handler of the signals a crash
 * raises: a touch of protected memory becomes a callback (paged pool at
 * raised IRQL, watched shared memory), any other crash goes to the crash
 * callback (a driver's fault, abort, arithmetic trap or stack overflow
 * inside simulated code becomes a bug check).
 *
 * Regions are registered with a callback. While at least one user has
 * enabled the handlers (refcounted: machines may run at once on several host
 * threads, and test frameworks install their own handlers between runs), a
 * fault inside a region calls the region's callback; any other crash signal
 * calls the crash callback, and when that returns (the crash is not simulated
 * code's) goes to the handler that was there before.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <ucontext.h>

#include "platform/platform.h"

/* Regions live in chunks that are never freed (a slot is reused once removed), so the
 * handler can walk them without a lock while another thread adds one. */
#define CHUNK 64

typedef struct region {
    _Atomic(uintptr_t) lo, hi;
    kdpc__fault_fn *_Atomic fn;
    void *_Atomic ctx;
} region;

typedef struct chunk {
    region r[CHUNK];
    struct chunk *_Atomic next;
} chunk;

static chunk first_chunk;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned users;
static kdpc__crash_fn *_Atomic crash_fn;

/* The signals a crash of driver code raises, and the handlers that were there before. */
static const int crash_signals[] = {SIGSEGV, SIGBUS,  SIGFPE,          SIGILL,
                                    SIGTRAP, SIGABRT, KDPC_HANG_SIGNAL};
_Static_assert(KDPC_HANG_SIGNAL == SIGXCPU, "KDPC_HANG_SIGNAL is SIGXCPU");
#define NSIG_CRASH (sizeof(crash_signals) / sizeof(crash_signals[0]))
static struct sigaction previous[NSIG_CRASH];

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

int kdpc__pages_readonly(void *p, size_t bytes)
{
    if (p == NULL || bytes == 0)
        return 0;
    return mprotect(p, bytes, PROT_READ);
}

static struct sigaction *previous_of(int sig)
{
    for (size_t i = 0; i < NSIG_CRASH; i++) {
        if (crash_signals[i] == sig)
            return &previous[i];
    }
    return NULL;
}

/* Single-stepping after a region fault (kdpc__fault_step): set by a region's routine inside
 * the SIGSEGV handler, armed when the handler returns, run by the SIGTRAP that follows the one
 * instruction. Per host thread; nothing can switch fibers inside one instruction. One
 * instruction may fault on several regions (a movs from one watched extension to another): each
 * fault adds its (fn, ctx), and the trap runs them all. */
#define STEP_MAX 8
static _Thread_local struct {
    struct {
        kdpc__fault_step_fn *fn;
        void *ctx;
    } p[STEP_MAX];
    unsigned n; /* pending (fn, ctx) */
    bool requested, armed;
} step;

/* Run and drop every pending (fn, ctx). */
static void step_run(void)
{
    unsigned n = step.n;
    step.n = 0;
    for (unsigned i = 0; i < n && i < STEP_MAX; i++)
        step.p[i].fn(step.p[i].ctx);
}

bool kdpc__fault_step(kdpc__fault_step_fn *fn, void *ctx)
{
#if defined(__x86_64__) && defined(__linux__) && defined(REG_EFL)
    for (unsigned i = 0; i < step.n; i++) {
        if (step.p[i].fn == fn && step.p[i].ctx == ctx) {
            step.requested = true;
            return true; /* already pending */
        }
    }
    if (step.n == STEP_MAX)
        return false; /* no room: the caller samples this touch instead */
    step.p[step.n].fn = fn;
    step.p[step.n].ctx = ctx;
    step.n++;
    step.requested = true;
    return true;
#else
    (void)fn;
    (void)ctx;
    return false;
#endif
}

static bool in_region(uintptr_t addr, bool write, uintptr_t ip)
{
    for (chunk *c = &first_chunk; c != NULL; c = atomic_load(&c->next)) {
        for (int i = 0; i < CHUNK; i++) {
            region *r = &c->r[i];
            uintptr_t lo = atomic_load(&r->lo);
            uintptr_t hi = atomic_load(&r->hi);
            if (lo == 0 || addr < lo || addr >= hi)
                continue;
            kdpc__fault_fn *fn = atomic_load(&r->fn);
            if (fn != NULL && fn(atomic_load(&r->ctx), addr, write, ip))
                return true; /* made accessible: the instruction runs again */
        }
    }
    return false;
}

static void on_fault(int sig, siginfo_t *si, void *uctx);

/* True when @sa is kdpc's handler, whatever flags it was (re)installed with: a framework that
 * saves and restores handlers with signal() drops SA_SIGINFO. */
static bool is_ours(const struct sigaction *sa)
{
    /* sa_handler and sa_sigaction share storage: compare the bytes with on_fault's */
    void (*mine)(int, siginfo_t *, void *) = on_fault;
    return memcmp(&sa->sa_sigaction, &mine, sizeof(mine)) == 0;
}

/* Hand the signal to the handler that was installed before kdpc's. */
static void chain(int sig, siginfo_t *si, void *uctx)
{
    struct sigaction *prev = previous_of(sig);
    if (prev != NULL && is_ours(prev)) {
        prev = NULL; /* never ourselves: that would recurse */
    } else if (prev != NULL && (prev->sa_flags & SA_SIGINFO)) {
        if (prev->sa_sigaction != NULL) {
            prev->sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (prev != NULL && prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN &&
               prev->sa_handler != NULL) {
        prev->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    uintptr_t addr = (uintptr_t)si->si_addr;
    bool is_write = false;
    uintptr_t ip = 0, sp = 0;
#if defined(__x86_64__) && defined(REG_ERR)
    ucontext_t *uc = uctx;
    is_write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
    ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__) && defined(__linux__)
    ucontext_t *uc = uctx;
    ip = (uintptr_t)uc->uc_mcontext.pc;
    sp = (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uctx;
#endif
    bool memory = sig == SIGSEGV || sig == SIGBUS;
    if (memory && in_region(addr, is_write, ip)) {
#if defined(__x86_64__) && defined(__linux__) && defined(REG_EFL)
        if (step.requested) { /* run the instruction once with the trap flag set */
            step.requested = false;
            step.armed = true;
            uc->uc_mcontext.gregs[REG_EFL] |= 0x100;
        }
#endif
        return;
    }
#if defined(__x86_64__) && defined(__linux__) && defined(REG_EFL)
    /* The trap of the single step: the trap flag is set in the context (the kernel reports
     * TRAP_TRACE). Any other SIGTRAP (int3, a debugger's breakpoint) drops a stale arming. */
    if (sig == SIGTRAP && step.armed) {
        step.armed = false;
        if (si->si_code == TRAP_TRACE || (uc->uc_mcontext.gregs[REG_EFL] & 0x100) != 0) {
            uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)0x100;
            step_run();
            return;
        }
        step.n = 0; /* stale: its regions may be gone */
    }
    /* The crash path: the crash callback may jump out of this context (a bug check), and the
     * pending trap with it, so a stale arming must not swallow a later SIGTRAP. When the
     * callback returns, the context goes on (the watchdog's signal between the fault and its
     * step): the step is still to come. */
    bool was_armed = step.armed, was_requested = step.requested;
    unsigned was_n = step.n;
    step.armed = false;
    step.requested = false;
    step.n = 0;
#endif
    kdpc__crash_fn *fn = atomic_load(&crash_fn);
    if (fn != NULL) {
        kdpc__crash cr;
        memset(&cr, 0, sizeof(cr));
        cr.sig = sig;
        cr.code = si->si_code;
        cr.ip = ip;
        cr.sp = sp;
        cr.sigmask = uctx != NULL ? (const void *)&((ucontext_t *)uctx)->uc_sigmask : NULL;
        cr.write = is_write;
        if (memory) {
            /* A general-protection fault (a non-canonical address such as 0xCCCC...) comes
             * with si_code SI_KERNEL and no address. */
            cr.addr_known = si->si_code != SI_KERNEL;
            cr.addr = cr.addr_known ? addr : 0;
            cr.stack_overflow = cr.addr_known && kdpc__stack_in_guard(addr);
        } else if (sig != SIGABRT && sig != KDPC_HANG_SIGNAL) {
            cr.addr = addr; /* the faulting instruction */
        }
        if (sig == SIGABRT) {
            /* The C library aborts with its allocator locked when it finds the heap corrupted;
             * the report below needs the allocator. Say so first, async-signal-safely. */
            static const char note[] =
                "kdpc: abort() on a simulated thread; reporting it as a bug check (if no report "
                "follows, the C library aborted on a corrupted host heap: see its message "
                "above)\n";
            ssize_t w = write(STDERR_FILENO, note, sizeof(note) - 1);
            (void)w;
        }
        fn(&cr); /* returns only when the crash is not simulated code's */
    }
#if defined(__x86_64__) && defined(__linux__) && defined(REG_EFL)
    if ((was_armed || was_requested) &&
        (uc->uc_mcontext.gregs[REG_EFL] & 0x100) != 0) { /* the step is still to come */
        step.armed = was_armed;
        step.requested = was_requested;
        step.n = was_n;
    }
#endif
    if (sig == KDPC_HANG_SIGNAL && si->si_code == SI_TKILL && si->si_pid == getpid())
        return; /* the watchdog's, and the thread has moved on: nothing to do */
    chain(sig, si, uctx);
}

int kdpc__fault_region_add(uintptr_t lo, uintptr_t hi, kdpc__fault_fn *fn, void *ctx)
{
    kdpc__host_busy_enter(); /* no jump out while mu is held */
    pthread_mutex_lock(&mu);
    int slot = -1;
    int base = 0;
    chunk *c = &first_chunk;
    for (;;) {
        for (int i = 0; i < CHUNK; i++) {
            region *r = &c->r[i];
            if (atomic_load(&r->lo) == 0 && atomic_load(&r->hi) == 0) {
                atomic_store(&r->fn, fn);
                atomic_store(&r->ctx, ctx);
                atomic_store(&r->hi, hi);
                atomic_store(&r->lo, lo);
                slot = base + i;
                break;
            }
        }
        if (slot >= 0 || base > INT_MAX - 2 * CHUNK)
            break;
        chunk *next = atomic_load(&c->next);
        if (next == NULL) {
            next = calloc(1, sizeof(*next));
            if (next == NULL)
                break;
            atomic_store(&c->next, next);
        }
        c = next;
        base += CHUNK;
    }
    pthread_mutex_unlock(&mu);
    kdpc__host_busy_leave();
    return slot;
}

void kdpc__fault_region_remove(int slot)
{
    if (slot < 0)
        return;
    kdpc__host_busy_enter(); /* no jump out while mu is held */
    pthread_mutex_lock(&mu);
    chunk *c = &first_chunk;
    for (int k = slot / CHUNK; k > 0 && c != NULL; k--)
        c = atomic_load(&c->next);
    if (c != NULL) {
        region *r = &c->r[slot % CHUNK];
        atomic_store(&r->lo, 0);
        atomic_store(&r->hi, 0);
    }
    pthread_mutex_unlock(&mu);
    kdpc__host_busy_leave();
}

void kdpc__crash_unblock(const kdpc__crash *crash)
{
    if (crash->sigmask != NULL)
        (void)pthread_sigmask(SIG_SETMASK, (const sigset_t *)crash->sigmask, NULL);
}

void kdpc__crash_handler_set(kdpc__crash_fn *fn)
{
    atomic_store(&crash_fn, fn);
}

/* Install kdpc's handler for every crash signal where it is not the one installed (a test
 * framework may have put its own in place since), remembering what was there. */
void kdpc__fault_enable(void)
{
    kdpc__host_busy_enter(); /* no jump out while mu is held */
    pthread_mutex_lock(&mu);
    if (users++ == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_fault;
        /* On the alternate stack: a stack overflow leaves no room on the thread's own. */
        sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        /* Frameworks replace the crash handlers as a set (CMocka around each test): when
         * SIGSEGV's is still ours as installed, so are the others, and one system call is
         * enough. Divergence: a test that replaces only another crash signal's handler while
         * SIGSEGV's stays kdpc's keeps it for that signal. */
        struct sigaction cur;
        bool intact = sigaction(SIGSEGV, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
                      cur.sa_sigaction == on_fault && (cur.sa_flags & SA_ONSTACK);
        for (size_t i = 0; i < NSIG_CRASH && !intact; i++) {
            if (sigaction(crash_signals[i], NULL, &cur) != 0)
                continue;
            if (is_ours(&cur)) {
                /* still ours (maybe restored with other flags): previous[i] is still what was
                 * there before kdpc; put the flags right */
                if ((cur.sa_flags & (SA_SIGINFO | SA_ONSTACK)) != (SA_SIGINFO | SA_ONSTACK))
                    sigaction(crash_signals[i], &sa, NULL);
                continue;
            }
            sigaction(crash_signals[i], &sa, &previous[i]);
        }
    }
    pthread_mutex_unlock(&mu);
    kdpc__host_busy_leave();
}

/* The last user is gone. The handlers stay: every crash that is not simulated code's goes to
 * the handler that was there before, as if kdpc's were not installed, and the next machine
 * does not pay seven system calls to install them again. */
void kdpc__fault_disable(void)
{
    kdpc__host_busy_enter(); /* no jump out while mu is held */
    pthread_mutex_lock(&mu);
    if (users > 0)
        users--;
    pthread_mutex_unlock(&mu);
    kdpc__host_busy_leave();
}
