/* SPDX-License-Identifier: MIT */
/*
 * platform.h - the host services kdpc needs: mutexes, condition variables,
 * host threads, a monotonic host clock and symbol lookup.
 *
 * Contract: every function here either succeeds or returns a non-zero error
 * (never aborts). Only src/platform/posix/ includes <pthread.h>; the rest of
 * kdpc sees the opaque-sized types below.
 */
#ifndef KDPC_PLATFORM_H
#define KDPC_PLATFORM_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Storage big enough for the host's pthread objects (checked in posix/thread.c). */
typedef struct kdpc__mutex {
    _Alignas(16) unsigned char opaque[64];
} kdpc__mutex;
typedef struct kdpc__cond {
    _Alignas(16) unsigned char opaque[64];
} kdpc__cond;
typedef struct kdpc__hostthread {
    uint64_t opaque;
    void *stack;       /* mapping of the stack, guard pages included */
    size_t stack_size; /* bytes of that mapping */
} kdpc__hostthread;

int kdpc__mutex_init(kdpc__mutex *mu);
void kdpc__mutex_destroy(kdpc__mutex *mu);
void kdpc__mutex_lock(kdpc__mutex *mu);
void kdpc__mutex_unlock(kdpc__mutex *mu);

int kdpc__cond_init(kdpc__cond *cv);
void kdpc__cond_destroy(kdpc__cond *cv);
void kdpc__cond_wait(kdpc__cond *cv, kdpc__mutex *mu);
/* As kdpc__cond_wait, but returns after about @ms of host time at the latest. */
void kdpc__cond_wait_ms(kdpc__cond *cv, kdpc__mutex *mu, unsigned ms);
void kdpc__cond_signal(kdpc__cond *cv);
void kdpc__cond_broadcast(kdpc__cond *cv);

/* Start fn(arg) on a new host thread with a stack of at least stack_size bytes, below which
 * lie KDPC_STACK_GUARD bytes of inaccessible guard pages (a touch there is reported as a stack
 * overflow), and with an alternate signal stack, so a fault handler runs even when the thread's
 * own stack is exhausted. join also frees the stacks. */
#define KDPC_STACK_GUARD ((size_t)64 << 10)
int kdpc__hostthread_start(kdpc__hostthread *t, void *(*fn)(void *), void *arg, size_t stack_size);
void kdpc__hostthread_join(kdpc__hostthread *t);
/* True when addr lies in the guard pages of the calling host thread's stack (async-signal-safe). */
bool kdpc__hostthread_in_guard(uintptr_t addr);

/* Host monotonic clock in nanoseconds (benchmarks and reports only, never the simulation). */
uint64_t kdpc__host_now_ns(void);

/* Page-granular memory that can be made inaccessible (posix/fault.c). */
void *kdpc__pages_reserve(size_t bytes); /* readable and writable, or NULL */
void kdpc__pages_release(void *p, size_t bytes);
/* Like kdpc__pages_reserve, plus a second view *alias of the same pages that
 * protecting the first view leaves accessible (a "system-space mapping").
 * *alias is NULL when the host cannot give one; release both views. */
void *kdpc__pages_reserve_aliased(size_t bytes, void **alias);
int kdpc__pages_protect(void *p, size_t bytes, bool accessible);

/* A touch of a protected region calls fn(ctx, address, is_write, instruction pointer) on the
 * faulting thread; returning true means the region was made accessible and the access is
 * retried. fn may also longjmp away. Regions: any number (-1 only when out of host memory);
 * lookups walk them without a lock, so the handler never blocks. */
typedef bool kdpc__fault_fn(void *ctx, uintptr_t addr, bool write, uintptr_t ip);
int kdpc__fault_region_add(uintptr_t lo, uintptr_t hi, kdpc__fault_fn *fn, void *ctx);
void kdpc__fault_region_remove(int slot);
void kdpc__fault_enable(void);  /* refcounted: install the handlers (see below) */
void kdpc__fault_disable(void); /* refcounted: restore the previous handlers */

/* What the host reported when code crashed: a fault outside every region (SIGSEGV, SIGBUS),
 * an arithmetic trap (SIGFPE), an illegal instruction or trap (SIGILL, SIGTRAP), or abort()
 * (SIGABRT). */
typedef struct kdpc__crash {
    int sig;
    int code;            /* si_code */
    uintptr_t addr;      /* faulting data address (SIGSEGV, SIGBUS); 0 when unknown */
    bool addr_known;     /* false for a general-protection fault (non-canonical address) */
    uintptr_t ip;        /* instruction, 0 when unknown */
    bool write;          /* the access was a write (x86-64 only; else false) */
    bool stack_overflow; /* addr lies in the guard pages of the thread's stack */
} kdpc__crash;
/* Called on the crashing thread, on its alternate signal stack, while the handlers are
 * enabled. It may siglongjmp away (the crash was contained); when it returns, the crash goes
 * to the handler that was installed before kdpc's (the host process crashes as it would
 * without kdpc). Set once; async-signal-safe code only. */
typedef void kdpc__crash_fn(const kdpc__crash *crash);
void kdpc__crash_handler_set(kdpc__crash_fn *fn);

/* The signal the host-time watchdog sends to a host thread whose simulated code has made no
 * progress for too long (a driver loop without a kernel call). It reaches the crash callback
 * like a crash (sig == KDPC_HANG_SIGNAL); the callback ignores it where no simulated code
 * runs. */
#define KDPC_HANG_SIGNAL 24 /* SIGXCPU on Linux and macOS */
int kdpc__hostthread_signal(const kdpc__hostthread *t, int sig);

/* > 0 while the calling host thread is inside host code that must not be left by a jump: it
 * holds a host lock (a kdpc__mutex, the symbolizer's) or is in the C library's loader or
 * unwinder. The hang signal is ignored there (the watchdog sends it again later) and a crash
 * there is not contained (it is kdpc's own, not the driver's). */
#if defined(__GNUC__) || defined(__clang__)
extern _Thread_local unsigned kdpc__host_busy __attribute__((tls_model("initial-exec")));
#else
extern _Thread_local unsigned kdpc__host_busy;
#endif
static inline void kdpc__host_busy_enter(void)
{
    kdpc__host_busy++;
}
static inline void kdpc__host_busy_leave(void)
{
    kdpc__host_busy--;
}

/* posix/symbol.c: names of code addresses. */
/* Name of the function that starts exactly at addr, or NULL when the host cannot tell. */
const char *kdpc__symbol_name(const void *addr);
/* Describe any code address into buf (size n, always terminated when n > 0):
 * "function+0x1c (file.c:123)" with as much as the host can tell, else "0x...".
 * Not async-signal-safe. Returns buf. */
char *kdpc__symbol_describe(uintptr_t addr, char *buf, size_t n);
/* Label of an address that a symbol covers: code as kdpc__symbol_describe, a static or global
 * variable as "name" or "name+0x10". NULL (buf untouched) when no symbol covers it. */
const char *kdpc__symbol_label(uintptr_t addr, char *buf, size_t n);
/* The calling host thread's stack: lowest address and size. 0, or -1 when the host cannot tell. */
int kdpc__stack_bounds(uintptr_t *lo, size_t *size);

#endif /* KDPC_PLATFORM_H */
