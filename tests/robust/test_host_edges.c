/* SPDX-License-Identifier: MIT */
/*
 * test_host_edges.c - what the host may do around machines in a fiber world:
 * reuse of simulated threads' stacks across machines (a new thread reads
 * zeroes, not what an earlier machine's thread left), crash handlers saved
 * and restored with signal() between runs (a crash of the test's own code
 * still reaches the handler that was there before kdpc), and kernel calls
 * or a thread exit after a jump left a run behind.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kdpc_test.h"

/* ------------------------------------------------------------------ */
/* Stacks come back clean                                               */

#define MARK 0xdeadbeefcafef00dull
static int stale;

/* Reads its uninitialised local on purpose (hidden from the compiler by the asm). */
__attribute__((noinline)) static void inner(int write)
{
    uint64_t y[64];
    volatile uint64_t *p = y;
    __asm__ volatile("" : "+r"(p) : : "memory");
    if (write) {
        for (int i = 0; i < 64; i++)
            p[i] = MARK;
    } else {
        for (int i = 0; i < 64; i++)
            stale += p[i] == MARK;
    }
}

/* A zeroed 16 KiB local between the thread's first frames and the marked ones. */
__attribute__((noinline)) static void deep(int write)
{
    volatile unsigned char buf[16384];
    if (write)
        memset((void *)buf, 0, sizeof(buf));
    inner(write);
    (void)buf[0];
}

static void StackBody(void *ctx)
{
    deep((int)(intptr_t)ctx);
}

static void test_a_reused_stack_reads_as_a_new_one(void **state)
{
    (void)state;
    stale = 0;
    for (int round = 0; round < 3; round++) {
        kdpc_machine *m = kt_machine(1, 1);
        assert_int_equal(kdpc_machine_run(m, StackBody, (void *)1), KDPC_OK);
        kdpc_machine_destroy(m);
        m = kt_machine(1, 1);
        assert_int_equal(kdpc_machine_run(m, StackBody, (void *)0), KDPC_OK);
        kdpc_machine_destroy(m);
    }
    assert_int_equal(stale, 0);
}

/* ------------------------------------------------------------------ */
/* Crash handlers saved and restored with signal()                      */

static void host_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    _exit(3);
}

static void Empty(void *ctx)
{
    (void)ctx;
}

/* Not NULL itself (UBSan would stop there first): the NULL page. */
static volatile uintptr_t low_addr = 0x10;

static void test_a_host_crash_reaches_the_previous_handler_after_signal_save_restore(void **st)
{
    (void)st;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = host_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        kdpc_machine *m = kt_machine(1, 0);
        (void)kdpc_machine_run(m, Empty, NULL);
        /* what CMocka does around each test: save and restore with signal() */
        void (*old)(int) = signal(SIGSEGV, SIG_IGN);
        signal(SIGSEGV, old);
        (void)kdpc_machine_run(m, Empty, NULL);
        kdpc_machine_destroy(m);
        (void)*(volatile int *)low_addr; /* the test's own crash: host_handler exits 3 */
        _exit(4);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
}

/* ------------------------------------------------------------------ */
/* After a jump left a run (ThreadSanitizer stops the process at a longjmp across fibers) */

#if !KT_TSAN
static jmp_buf back;
static KEVENT never;

static VOID Worker(PVOID ctx)
{
    (void)ctx;
    LARGE_INTEGER t;
    t.QuadPart = -10000; /* 1 ms */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static void JumpingEntry(void *ctx)
{
    (void)ctx;
    HANDLE h;
    assert_int_equal(PsCreateSystemThread(&h, 0, NULL, NULL, NULL, Worker, NULL), STATUS_SUCCESS);
    ZwClose(h);
    longjmp(back, 1);
}

static void test_a_kernel_call_from_the_host_after_a_jump_is_outside_a_machine(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 4);
    if (setjmp(back) == 0) {
        (void)kdpc_machine_run(m, JumpingEntry, NULL);
        fail_msg("the entry should have jumped back here");
    }
    /* a teardown that waits: outside any machine now, so it returns at once */
    KeInitializeEvent(&never, NotificationEvent, FALSE);
    (void)KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, NULL);
    KeStallExecutionProcessor(10);
    assert_null(kdpc_current_machine());
    assert_true(kdpc_machine_halted(m));
    kdpc_machine_destroy(m);
}

static kdpc_machine *worker_machine;

static void *jumping_host_thread(void *arg)
{
    (void)arg;
    if (setjmp(back) == 0)
        (void)kdpc_machine_run(worker_machine, JumpingEntry, NULL);
    return NULL; /* the thread ends with the run left behind */
}

static void test_a_run_left_on_a_host_thread_that_ends_does_not_block_destroy(void **state)
{
    (void)state;
    worker_machine = kt_machine(2, 5);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, jumping_host_thread, NULL), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(kdpc_machine_halted(worker_machine));
    kdpc_machine_destroy(worker_machine); /* returns: the run ended with its thread */
    kdpc_machine *m = kt_machine(1, 0);
    assert_int_equal(kdpc_machine_run(m, Empty, NULL), KDPC_OK);
    kdpc_machine_destroy(m);
}

#endif /* !KT_TSAN */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_reused_stack_reads_as_a_new_one),
        cmocka_unit_test(test_a_host_crash_reaches_the_previous_handler_after_signal_save_restore),
#if !KT_TSAN
        cmocka_unit_test(test_a_kernel_call_from_the_host_after_a_jump_is_outside_a_machine),
        cmocka_unit_test(test_a_run_left_on_a_host_thread_that_ends_does_not_block_destroy),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
