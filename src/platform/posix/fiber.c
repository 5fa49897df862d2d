/* SPDX-License-Identifier: MIT */
/*
 * posix/fiber.c - user-level contexts (fibers) on guarded stacks and the
 * switch between them.
 *
 * DESIGN
 * A switch saves the callee-saved registers of the running context on its
 * own stack, stores the stack pointer in the fiber it leaves and loads the
 * one of the fiber it enters: a function call's worth of work, no system
 * call. x86-64 and arm64 have a hand-written switch (below); any other host,
 * or a build with KDPC_FIBER_UCONTEXT, uses swapcontext (correct, slower:
 * it saves the signal mask with a system call).
 *
 * A new fiber's stack is prepared so that the first switch into it "returns"
 * into a start stub that calls fiber_entry(fiber) on that stack. fiber_entry
 * never returns: the fiber's function ends with kdpc__fiber_exit.
 *
 * Stacks come from posix/stack.c (guarded, cached, cleared for reuse).
 *
 * Sanitizers are told about every switch (ASan: start/finish_switch_fiber,
 * so it knows which stack is current and keeps its fake stacks apart; TSan:
 * one TSan fiber per fiber) and valgrind learns each stack.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform/platform.h"

#include "platform/posix/sanitizer.h"
#include "platform/posix/stack.h"

/* ---- the switch --------------------------------------------------------------------------- */
#if !defined(KDPC_FIBER_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define KDPC_FIBER_UCONTEXT 1
#endif

#if defined(__APPLE__)
#define KDPC_SYM(name) "_" #name
#else
#define KDPC_SYM(name) #name
#endif

static void fiber_entry(kdpc__fiber *f);

#if defined(KDPC_FIBER_UCONTEXT)
#include <ucontext.h>

static _Thread_local ucontext_t host_uc;

static void uc_start(unsigned hi, unsigned lo)
{
    uintptr_t p = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;
    fiber_entry((kdpc__fiber *)p);
}

#else
/* void kdpc__fiber_swap(void **save_sp, void *load_sp): save the callee-saved state on the
 * current stack, store the stack pointer in *save_sp, continue on load_sp. */
void kdpc__fiber_swap(void **save_sp, void *load_sp);
/* First "return" of a new fiber lands here with the fiber in a callee-saved register. */
void kdpc__fiber_start(void);

#if defined(__x86_64__)
#if defined(__APPLE__)
#define KDPC_FN_BEGIN(name) ".globl " KDPC_SYM(name) "\n.p2align 4\n" KDPC_SYM(name) ":\n"
#define KDPC_FN_END(name)   ""
#else
#define KDPC_FN_BEGIN(name)                                                                        \
    ".globl " #name "\n.type " #name ",@function\n.hidden " #name "\n.p2align 4\n" #name ":\n"
#define KDPC_FN_END(name) ".size " #name ",.-" #name "\n"
#endif
/* clang-format off */
/* Frame, from the saved stack pointer up: MXCSR and x87 control word (8 bytes), r15, r14,
 * r13, r12, rbx, rbp, return address. The start stub is the bottom of a fiber's stack for an
 * unwinder (rip undefined). */
__asm__(".text\n"
        KDPC_FN_BEGIN(kdpc__fiber_swap)
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  subq $8, %rsp\n"
        "  stmxcsr (%rsp)\n"
        "  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  ldmxcsr (%rsp)\n"
        "  fldcw 4(%rsp)\n"
        "  addq $8, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        KDPC_FN_END(kdpc__fiber_swap)
        KDPC_FN_BEGIN(kdpc__fiber_start)
        "  .cfi_startproc\n"
        "  .cfi_undefined rip\n"
        "  movq %r12, %rdi\n"
        "  andq $-16, %rsp\n"
        "  call " KDPC_SYM(kdpc__fiber_entry_c) "\n"
        "  ud2\n"
        "  .cfi_endproc\n"
        KDPC_FN_END(kdpc__fiber_start));
/* clang-format on */
#define FRAME_WORDS 7 /* control words, r15..rbp; then the return address */
#elif defined(__aarch64__)
#if defined(__APPLE__)
#define KDPC_FN_BEGIN(name) ".globl " KDPC_SYM(name) "\n.p2align 4\n" KDPC_SYM(name) ":\n"
#define KDPC_FN_END(name)   ""
#else
#define KDPC_FN_BEGIN(name)                                                                        \
    ".globl " #name "\n.type " #name ",%function\n.hidden " #name "\n.p2align 4\n" #name ":\n"
#define KDPC_FN_END(name) ".size " #name ",.-" #name "\n"
#endif
/* clang-format off */
/* Frame (176 bytes): x19..x28, x29, x30 (the return address), d8..d15, FPCR. */
__asm__(".text\n"
        KDPC_FN_BEGIN(kdpc__fiber_swap)
        "  sub sp, sp, #176\n"
        "  stp x19, x20, [sp, #0]\n"
        "  stp x21, x22, [sp, #16]\n"
        "  stp x23, x24, [sp, #32]\n"
        "  stp x25, x26, [sp, #48]\n"
        "  stp x27, x28, [sp, #64]\n"
        "  stp x29, x30, [sp, #80]\n"
        "  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n"
        "  stp d12, d13, [sp, #128]\n"
        "  stp d14, d15, [sp, #144]\n"
        "  mrs x9, fpcr\n"
        "  str x9, [sp, #160]\n"
        "  mov x9, sp\n"
        "  str x9, [x0]\n"
        "  mov sp, x1\n"
        "  ldp x19, x20, [sp, #0]\n"
        "  ldp x21, x22, [sp, #16]\n"
        "  ldp x23, x24, [sp, #32]\n"
        "  ldp x25, x26, [sp, #48]\n"
        "  ldp x27, x28, [sp, #64]\n"
        "  ldp x29, x30, [sp, #80]\n"
        "  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n"
        "  ldp d12, d13, [sp, #128]\n"
        "  ldp d14, d15, [sp, #144]\n"
        "  ldr x9, [sp, #160]\n"
        "  msr fpcr, x9\n"
        "  add sp, sp, #176\n"
        "  ret\n"
        KDPC_FN_END(kdpc__fiber_swap)
        KDPC_FN_BEGIN(kdpc__fiber_start)
        "  .cfi_startproc\n"
        "  .cfi_undefined x30\n"
        "  mov x0, x19\n"
        "  mov x29, #0\n"
        "  bl " KDPC_SYM(kdpc__fiber_entry_c) "\n"
        "  brk #0\n"
        "  .cfi_endproc\n"
        KDPC_FN_END(kdpc__fiber_start));
/* clang-format on */
#define FRAME_WORDS 22 /* 176 bytes */
#endif

/* Called by the start stub (not static: the assembly names it). */
__attribute__((visibility("hidden"))) void kdpc__fiber_entry_c(kdpc__fiber *f);
void kdpc__fiber_entry_c(kdpc__fiber *f)
{
    fiber_entry(f);
}

/* Lay out a new fiber's first frame so that kdpc__fiber_swap "returns" into the start stub. */
static void prepare(kdpc__fiber *f)
{
    uintptr_t top = f->hi & ~(uintptr_t)15;
    uint64_t *w;
#if defined(__x86_64__)
    /* After ret the stub sees rsp = top - 8, as if called (rsp % 16 == 8 at entry). */
    w = (uint64_t *)(top - 8 - 8 * (FRAME_WORDS + 1));
    memset(w, 0, 8 * (FRAME_WORDS + 2));
    uint32_t mxcsr = 0x1F80; /* all exceptions masked, round to nearest */
    uint16_t fpucw = 0x037F; /* the x87 default */
    memcpy(&w[0], &mxcsr, 4);
    memcpy((char *)&w[0] + 4, &fpucw, 2);
    w[4] = (uint64_t)(uintptr_t)f;                           /* r12 */
    w[FRAME_WORDS] = (uint64_t)(uintptr_t)kdpc__fiber_start; /* return address */
    w[FRAME_WORDS + 1] = 0;                                  /* a fake return address of the stub */
#else
    w = (uint64_t *)(top - 8 * FRAME_WORDS - 16);
    memset(w, 0, 8 * FRAME_WORDS + 16);
    w[0] = (uint64_t)(uintptr_t)f;                  /* x19 */
    w[11] = (uint64_t)(uintptr_t)kdpc__fiber_start; /* x30 */
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    w[20] = fpcr;
#endif
    f->sp = w;
}
#endif /* !KDPC_FIBER_UCONTEXT */

/* ---- the calling host thread's current fiber --------------------------------------------- */
#if defined(__GNUC__) || defined(__clang__)
#define TLS_IE __attribute__((tls_model("initial-exec")))
#else
#define TLS_IE
#endif
static _Thread_local kdpc__fiber *cur_fiber TLS_IE;
#if defined(KDPC_ASAN)
static _Thread_local kdpc__fiber *switched_from;
#endif

/* ---- fibers -------------------------------------------------------------------------------- */
int kdpc__fiber_create(kdpc__fiber *f, void (*fn)(void *), void *arg, size_t stack_size)
{
    memset(f, 0, sizeof(*f));
    size_t pg = kdpc__page_size();
    if (stack_size < ((size_t)64 << 10))
        stack_size = (size_t)64 << 10;
    if (stack_size > SIZE_MAX / 2)
        return EINVAL;
    stack_size = (stack_size + pg - 1) & ~(pg - 1);
    size_t total = stack_size + KDPC_STACK_GUARD;
    void *map = kdpc__stack_get(total);
    if (map == NULL)
        return ENOMEM;
    f->map = map;
    f->map_size = total;
    f->lo = (uintptr_t)map + KDPC_STACK_GUARD;
    f->hi = (uintptr_t)map + total;
    f->fn = fn;
    f->arg = arg;
#if defined(KDPC_FIBER_UCONTEXT)
    ucontext_t *uc = calloc(1, sizeof(*uc));
    if (uc == NULL || getcontext(uc) != 0) {
        free(uc);
        kdpc__stack_put(map, total, true);
        f->map = NULL;
        f->map_size = 0;
        return ENOMEM;
    }
    uc->uc_stack.ss_sp = (void *)f->lo;
    uc->uc_stack.ss_size = stack_size;
    uc->uc_link = NULL;
    uintptr_t p = (uintptr_t)f;
    makecontext(uc, (void (*)(void))uc_start, 2, (unsigned)(p >> 16 >> 16),
                (unsigned)(p & 0xffffffffu));
    f->uc = uc;
#else
    prepare(f);
#endif
#if defined(KDPC_TSAN)
    f->tsan = __tsan_create_fiber(0);
#endif
#if defined(KDPC_VALGRIND)
    f->vg_id = VALGRIND_STACK_REGISTER(f->lo, f->hi);
#endif
    return 0;
}

void kdpc__fiber_destroy(kdpc__fiber *f)
{
    if (f->map == NULL)
        return;
#if defined(KDPC_TSAN)
    if (f->tsan != NULL)
        __tsan_destroy_fiber(f->tsan);
    f->tsan = NULL;
#endif
#if defined(KDPC_VALGRIND)
    VALGRIND_STACK_DEREGISTER(f->vg_id);
#endif
#if defined(KDPC_FIBER_UCONTEXT)
    free(f->uc);
    f->uc = NULL;
#endif
    kdpc__stack_put(f->map, f->map_size, f->entered);
    f->map = NULL;
    f->map_size = 0;
}

void kdpc__fiber_host(kdpc__fiber *f)
{
    memset(f, 0, sizeof(*f));
#if defined(KDPC_TSAN)
    f->tsan = __tsan_get_current_fiber();
#endif
#if defined(KDPC_FIBER_UCONTEXT)
    f->uc = &host_uc;
#endif
    cur_fiber = f;
}

#if defined(KDPC_ASAN)
/* A jump skipped frames between @lo and the caller's frame (on the same stack): their redzones
 * are still poisoned. */
__attribute__((noinline)) static void asan_clear_below(uintptr_t lo, uintptr_t hi)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (lo != 0 && here > lo && here <= hi)
        __asan_unpoison_memory_region((void *)lo, here - lo);
}
#endif

#if defined(KDPC_ASAN)
/* After a jump out of a run, the next native call recovers at about the depth the run had: the
 * frames above this one (that call's, and its caller's) may lie on redzones the skipped frames
 * left, and an instrumented prologue only poisons its own redzones, trusting the rest to be
 * clear. So the shadow is cleared from the bottom of the stack to 64 KiB above this frame:
 * live frames lose their redzones until they return (missed checks, never false reports). */
__attribute__((noinline)) static void asan_clear_host(uintptr_t lo, uintptr_t hi)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t top = hi - here > (uintptr_t)64 * 1024 ? here + (uintptr_t)64 * 1024 : hi;
    if (lo != 0 && here > lo && here <= hi)
        __asan_unpoison_memory_region((void *)lo, top - lo);
}
#endif

void kdpc__fiber_abandoned(kdpc__fiber *host)
{
#if defined(KDPC_ASAN)
    __sanitizer_start_switch_fiber(NULL, host->asan_bottom, host->asan_size);
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
    /* the frames the run left on the host stack below the jump's target */
    asan_clear_host((uintptr_t)host->asan_bottom, (uintptr_t)host->asan_bottom + host->asan_size);
#endif
#if defined(KDPC_TSAN)
    __tsan_switch_to_fiber(host->tsan, 0);
#endif
    (void)host;
    cur_fiber = NULL;
}

void kdpc__fiber_host_done(void)
{
    cur_fiber = NULL;
}

#if defined(KDPC_ASAN)
/* After a switch into f: tell ASan, and learn the host stack's bounds from the switch that left
 * it (the host's bounds are needed to switch back to it). */
/* noinline: it reads a thread-local variable after a switch (see KDPC_TLS_ASM). */
__attribute__((noinline)) static void asan_arrived(kdpc__fiber *f)
{
    const void *bottom = NULL;
    size_t size = 0;
    __sanitizer_finish_switch_fiber(f->asan_fake, &bottom, &size);
    kdpc__fiber *from = switched_from;
    if (from != NULL && from->map == NULL) {
        from->asan_bottom = bottom;
        from->asan_size = size;
    }
}

static void asan_leaving(kdpc__fiber *from, kdpc__fiber *to, bool dying)
{
    switched_from = from;
    const void *bottom = to->map != NULL ? (const void *)to->lo : to->asan_bottom;
    size_t size = to->map != NULL ? (size_t)(to->hi - to->lo) : to->asan_size;
    __sanitizer_start_switch_fiber(dying ? NULL : &from->asan_fake, bottom, size);
}
#endif

static void fiber_entry(kdpc__fiber *f)
{
    f->entered = true;
#if defined(KDPC_ASAN)
    asan_arrived(f);
#endif
    f->fn(f->arg);
    abort(); /* a fiber's function ends with kdpc__fiber_exit */
}

static inline void do_switch(kdpc__fiber *from, kdpc__fiber *to, bool dying)
{
    cur_fiber = to;
#if defined(KDPC_ASAN)
    asan_leaving(from, to, dying);
#else
    (void)dying;
#endif
#if defined(KDPC_TSAN)
    __tsan_switch_to_fiber(to->tsan, 0);
#endif
#if defined(KDPC_FIBER_UCONTEXT)
    (void)swapcontext(from->uc, to->uc);
#else
    kdpc__fiber_swap(&from->sp, to->sp);
#endif
}

void kdpc__fiber_switch(kdpc__fiber *from, kdpc__fiber *to)
{
    do_switch(from, to, false);
#if defined(KDPC_ASAN)
    asan_arrived(from);
#endif
}

void kdpc__fiber_exit(kdpc__fiber *from, kdpc__fiber *to)
{
    do_switch(from, to, true);
    abort(); /* a finished fiber is never entered again */
}

void kdpc__fiber_unwound(void)
{
#if defined(KDPC_ASAN)
    /* A jump from a signal handler (on the alternate stack) leaves the redzones of the frames
     * it skipped poisoned: ASan only cleans the stack it knows the handler ran on. */
    const kdpc__fiber *f = cur_fiber;
    if (f != NULL && f->map != NULL)
        asan_clear_below(f->lo, f->hi);
#endif
}

bool kdpc__stack_in_guard(uintptr_t addr)
{
    const kdpc__fiber *f = cur_fiber;
    return f != NULL && f->map != NULL && addr >= (uintptr_t)f->map &&
           addr < (uintptr_t)f->map + KDPC_STACK_GUARD;
}

bool kdpc__fiber_stack(uintptr_t *lo, size_t *size)
{
    const kdpc__fiber *f = cur_fiber;
    if (f == NULL || f->map == NULL)
        return false;
    *lo = f->lo;
    *size = (size_t)(f->hi - f->lo);
    return true;
}

/* ---- a spare stack for host code that needs room -------------------------------------------- */
/* A simulated thread may have a small stack (cfg.thread_stack_size) and little of it left when
 * kdpc reports its crash; symbolisation alone (libdw reading line tables) needs more than
 * 128 KiB. Such host code runs on a spare fiber of the host thread, created at the first need
 * and freed when the host thread ends. */
#define SPARE_STACK ((size_t)1 << 20)
#define SPARE_NEED  ((size_t)512 << 10)

typedef struct spare_ctx {
    kdpc__fiber fiber;
    kdpc__fiber *back; /* the context that called */
    void (*fn)(void *);
    void *arg;
} spare_ctx;

static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static _Thread_local spare_ctx *spare;

static void spare_free(void *p)
{
    spare_ctx *s = p;
    kdpc__fiber_destroy(&s->fiber);
    free(s);
}

static void spare_key_make(void)
{
    (void)pthread_key_create(&spare_key, spare_free);
}

static void spare_main(void *p)
{
    spare_ctx *s = p; /* not the thread-local pointer: this frame spans switches */
    for (;;) {
        s->fn(s->arg);
        kdpc__fiber_switch(&s->fiber, s->back);
    }
}

void kdpc__fiber_call_roomy(void (*fn)(void *), void *arg)
{
    kdpc__fiber *cur = cur_fiber;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (cur == NULL || cur->map == NULL || here < cur->lo || here - cur->lo >= SPARE_NEED ||
        cur == (spare != NULL ? &spare->fiber : NULL)) {
        fn(arg); /* room enough (or the host's own stack) */
        return;
    }
    spare_ctx *s = spare;
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL || kdpc__fiber_create(&s->fiber, spare_main, s, SPARE_STACK) != 0) {
            free(s);
            fn(arg);
            return;
        }
        (void)pthread_once(&spare_once, spare_key_make);
        (void)pthread_setspecific(spare_key, s);
        spare = s;
    }
    s->fn = fn;
    s->arg = arg;
    s->back = cur;
    kdpc__fiber_switch(cur, &s->fiber);
}
