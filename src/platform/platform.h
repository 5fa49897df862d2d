/* SPDX-License-Identifier: MIT */
/*
 * platform.h - the host services kdpc needs: mutexes, condition variables,
 * fibers, a watchdog, a monotonic host clock, page protection, faults and
 * symbol lookup.
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

int kdpc__mutex_init(kdpc__mutex *mu);
void kdpc__mutex_destroy(kdpc__mutex *mu);
void kdpc__mutex_lock(kdpc__mutex *mu);
void kdpc__mutex_unlock(kdpc__mutex *mu);

int kdpc__cond_init(kdpc__cond *cv);
void kdpc__cond_destroy(kdpc__cond *cv);
void kdpc__cond_wait(kdpc__cond *cv, kdpc__mutex *mu);
void kdpc__cond_broadcast(kdpc__cond *cv);

/* posix/fiber.c: user-level contexts ("fibers") multiplexed on one host thread.
 *
 * A fiber runs fn(arg) on its own stack of at least stack_size bytes, below which lie
 * KDPC_STACK_GUARD bytes of inaccessible guard pages (a touch there is reported as a stack
 * overflow). fn never returns: it ends with kdpc__fiber_exit. A switch saves the running
 * context in @from and continues @to where it last left off (or at fn for a new fiber); it is
 * not a system call. Switches are told to ASan and TSan, stacks to valgrind.
 * The host thread's own context is a fiber too (kdpc__fiber_host), the one a run starts from
 * and goes back to. Fibers may be resumed on another host thread than the one they last ran
 * on, as long as one host thread runs a fiber at a time. */
#define KDPC_STACK_GUARD ((size_t)64 << 10)
typedef struct kdpc__fiber {
    void *sp;         /* saved stack pointer while switched out */
    void *map;        /* mapping of the stack, guard pages included (NULL: a host context) */
    size_t map_size;  /* bytes of that mapping */
    uintptr_t lo, hi; /* the usable stack */
    void (*fn)(void *);
    void *arg;
    void *uc;                /* the ucontext_t when built with swapcontext */
    void *asan_fake;         /* ASan's fake stack while switched out */
    const void *asan_bottom; /* a host context's stack, as ASan reported it */
    size_t asan_size;
    void *tsan;     /* TSan's fiber */
    unsigned vg_id; /* valgrind's stack id */
    bool entered;   /* it has run (else its stack holds only the first frame) */
} kdpc__fiber;
int kdpc__fiber_create(kdpc__fiber *f, void (*fn)(void *), void *arg, size_t stack_size);
void kdpc__fiber_destroy(kdpc__fiber *f); /* a fiber that is not running (new, or exited) */
void kdpc__fiber_host(kdpc__fiber *f);    /* f is the calling host thread's own context */
void kdpc__fiber_switch(kdpc__fiber *from, kdpc__fiber *to);
/* Leave @from for good (its fn is over; destroy it later, from another context). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
void kdpc__fiber_exit(kdpc__fiber *from, kdpc__fiber *to);
/* The end of the host context's part in running fibers (after its last switch back). */
void kdpc__fiber_host_done(void);
/* A jump left the running fiber for @host's stack without a switch: the host context runs
 * again (sanitizers are told); the fiber it left must not be entered again. */
void kdpc__fiber_abandoned(kdpc__fiber *host);
/* Called where a jump out of a signal handler landed on the running fiber's stack: forget what
 * the skipped frames left behind (sanitizer bookkeeping). */
void kdpc__fiber_unwound(void);
/* True when addr lies in the guard pages of the running fiber's stack (async-signal-safe). */
bool kdpc__stack_in_guard(uintptr_t addr);
/* The running fiber's usable stack; false when the caller is not on a fiber. */
bool kdpc__fiber_stack(uintptr_t *lo, size_t *size);
/* Call fn(arg) on a stack with room (at least 512 KiB): the running fiber's when it has that
 * much left, else a spare fiber of the host thread (host code that needs room, such as
 * symbolisation, called from a simulated thread with a small stack). */
void kdpc__fiber_call_roomy(void (*fn)(void *), void *arg);
/* Arm: should the calling host thread end before kdpc__host_exit_disarm, fn() runs as it ends
 * (a run that a jump left behind on a thread that then exited). fn is the same for every
 * caller. */
void kdpc__host_exit_arm(void (*fn)(void));
void kdpc__host_exit_disarm(void);
/* Make sure the calling host thread has an alternate signal stack big enough for the fault
 * handler (a fiber's stack may be exhausted when it faults) while it runs fibers. Nestable;
 * pop restores the one that was there (where there was none, kdpc's stays for the next run). */
void kdpc__altstack_push(void);
void kdpc__altstack_pop(void);

/* posix/watchdog.c: one process-wide host thread calls w->fn(w) every KDPC_WATCH_PERIOD_MS
 * for each registered watch. The watched host thread is the one that called kdpc__hostwatch_add.
 * After kdpc__hostwatch_remove returns, fn is not running and is not called again. fn runs on the
 * watchdog thread: it must not take locks the watched thread may hold. */
#define KDPC_WATCH_PERIOD_MS 100u
typedef struct kdpc__hostwatch kdpc__hostwatch;
struct kdpc__hostwatch {
    void (*fn)(kdpc__hostwatch *w);
    void *ctx;
    uint64_t host;         /* the watched host thread */
    kdpc__hostwatch *next; /* the watchdog's list */
};
int kdpc__hostwatch_add(kdpc__hostwatch *w); /* 0 or an errno */
void kdpc__hostwatch_remove(kdpc__hostwatch *w);
/* Send sig to the watched host thread (from fn). */
int kdpc__hostwatch_signal(const kdpc__hostwatch *w, int sig);

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
/* Readable, not writable (a write then faults): watched memory opened by a read (ke/watch.c). */
int kdpc__pages_readonly(void *p, size_t bytes);

/* A touch of a protected region calls fn(ctx, address, is_write, instruction pointer) on the
 * faulting thread; returning true means the region was made accessible and the access is
 * retried. fn may also longjmp away. Regions: any number (-1 only when out of host memory);
 * lookups walk them without a lock, so the handler never blocks. */
typedef bool kdpc__fault_fn(void *ctx, uintptr_t addr, bool write, uintptr_t ip);
int kdpc__fault_region_add(uintptr_t lo, uintptr_t hi, kdpc__fault_fn *fn, void *ctx);
void kdpc__fault_region_remove(int slot);
/* From a region's fn only: let the faulting instruction run once more, then call fn(ctx) (in
 * the SIGTRAP handler of the single step: async-signal-safe code only), e.g. to protect the
 * region again so that the next touch faults too. False where the host cannot single-step
 * (then nothing is called). */
typedef void kdpc__fault_step_fn(void *ctx);
bool kdpc__fault_step(kdpc__fault_step_fn *fn, void *ctx);
/* Refcounted: while a user has enabled them, kdpc's handlers are installed (again, where a test
 * framework replaced them). They stay installed after the last user, passing every crash that
 * is not simulated code's to the handler that was there before. */
void kdpc__fault_enable(void);
void kdpc__fault_disable(void);

/* What the host reported when code crashed: a fault outside every region (SIGSEGV, SIGBUS),
 * an arithmetic trap (SIGFPE), an illegal instruction or trap (SIGILL, SIGTRAP), or abort()
 * (SIGABRT). */
typedef struct kdpc__crash {
    int sig;
    int code;            /* si_code */
    uintptr_t addr;      /* faulting data address (SIGSEGV, SIGBUS); 0 when unknown */
    bool addr_known;     /* false for a general-protection fault (non-canonical address) */
    uintptr_t ip;        /* instruction, 0 when unknown */
    uintptr_t sp;        /* stack pointer of the interrupted code, 0 when unknown */
    const void *sigmask; /* the interrupted code's signal mask (valid in the handler only) */
    bool write;          /* the access was a write (x86-64 only; else false) */
    bool stack_overflow; /* addr lies in the guard pages of the thread's stack */
} kdpc__crash;
/* Called on the crashing thread, on its alternate signal stack, while the handlers are
 * enabled. It may siglongjmp away (the crash was contained); when it returns, the crash goes
 * to the handler that was installed before kdpc's (the host process crashes as it would
 * without kdpc). Set once; async-signal-safe code only. */
typedef void kdpc__crash_fn(const kdpc__crash *crash);
/* Before a jump out of the handler to code that did not save the signal mask: give the thread
 * back the mask of the code the signal interrupted (the handler may run with more blocked, as a
 * sanitizer's does). Async-signal-safe. */
void kdpc__crash_unblock(const kdpc__crash *crash);
void kdpc__crash_handler_set(kdpc__crash_fn *fn);

/* The signal the host-time watchdog sends to a host thread whose simulated code has made no
 * progress for too long (a driver loop without a kernel call). It reaches the crash callback
 * like a crash (sig == KDPC_HANG_SIGNAL); the callback ignores it where no simulated code
 * runs. */
#define KDPC_HANG_SIGNAL 24 /* SIGXCPU on Linux and macOS */

/* > 0 while the calling host thread is inside host code that must not be left by a jump: it
 * holds a host lock (a kdpc__mutex, the symbolizer's) or is in the C library's loader or
 * unwinder. The hang signal is ignored there (the watchdog sends it again later) and a crash
 * there is not contained (it is kdpc's own, not the driver's). */
#if defined(__GNUC__) || defined(__clang__)
extern _Thread_local unsigned kdpc__host_busy __attribute__((tls_model("initial-exec")));
#else
extern _Thread_local unsigned kdpc__host_busy;
#endif
/*
 * Thread-local variables and fibers. A fiber may resume on another host thread than the one it
 * left (a machine run from another host thread). Compilers treat the thread pointer as constant
 * within a function, so a function that spans a switch may address the old host thread's copy
 * after it: ASan/TSan builds do (they compute the address for the check), clang does on any
 * target, and arm64 reads TPIDR_EL0 once. kdpc's thread-locals that are read on both sides of a
 * switch are therefore read either by an asm statement the compiler cannot reuse (x86-64 ELF,
 * initial-exec model: two instructions, as the compiler's own) or out of line (a new frame
 * computes the address afresh: sanitizer builds, other hosts).
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KDPC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KDPC_SANITIZED 1
#endif
#endif
#if !defined(KDPC_SANITIZED) && defined(__x86_64__) && defined(__ELF__) &&                         \
    (defined(__GNUC__) || defined(__clang__))
#define KDPC_TLS_ASM 1 /* x86-64 ELF: asm accessors */
#else
#define KDPC_TLS_OUTLINE 1 /* out-of-line accessors */
#endif

/* The counter: only the host thread and its signal handler touch it, one fiber raising it and
 * the next one lowering it (ThreadSanitizer, which sees fibers as threads of their own, sees
 * relaxed atomics). */
#if defined(KDPC_TLS_OUTLINE)
void kdpc__host_busy_enter(void);
void kdpc__host_busy_leave(void);
#else
static inline void kdpc__host_busy_enter(void)
{
    uintptr_t off;
    __asm__ volatile("movq kdpc__host_busy@gottpoff(%%rip), %0" : "=r"(off));
    __asm__ volatile("addl $1, %%fs:(%0)" : : "r"(off) : "memory", "cc");
}
static inline void kdpc__host_busy_leave(void)
{
    uintptr_t off;
    __asm__ volatile("movq kdpc__host_busy@gottpoff(%%rip), %0" : "=r"(off));
    __asm__ volatile("subl $1, %%fs:(%0)" : : "r"(off) : "memory", "cc");
}
#endif

/* posix/symbol.c: names of code addresses. */
/* Name of the function that starts exactly at addr, or NULL when the host cannot tell. */
const char *kdpc__symbol_name(const void *addr);
/* Describe any code address into buf (size n, always terminated when n > 0):
 * "function+0x1c (file.c:123)" with as much as the host can tell, else "0x...".
 * Not async-signal-safe. Returns buf. */
char *kdpc__symbol_describe(uintptr_t addr, char *buf, size_t n);
/* The compile unit (its name as compiled, usually the source file's absolute path) that holds
 * code address addr; NULL when the host cannot tell (no libdw, no debug info). Not
 * async-signal-safe. */
const char *kdpc__symbol_unit(uintptr_t addr);
/* Label of an address that a symbol covers: code as kdpc__symbol_describe, a static or global
 * variable as "name" or "name+0x10". NULL (buf untouched) when no symbol covers it. */
const char *kdpc__symbol_label(uintptr_t addr, char *buf, size_t n);
/* The calling context's stack (the running fiber's, else the host thread's): lowest address and
 * size. 0, or -1 when the host cannot tell. */
int kdpc__stack_bounds(uintptr_t *lo, size_t *size);

#endif /* KDPC_PLATFORM_H */
