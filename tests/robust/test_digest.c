/* SPDX-License-Identifier: MIT */
/*
 * test_digest.c - the trace digest is the same in fresh processes: one
 * program run 20 times (this executable re-executed with --child, ASLR on)
 * prints its digest, and all 20 are equal. The scenario churns memory on 2
 * CPUs: threads created in waves, DPCs that allocate and free pool and IRPs
 * holding spin locks, spin locks on thread stacks, an interrupt connected,
 * delivered and disconnected per wave; so a freed block's or
 * stack's address comes back for another object, at host-dependent times.
 * Objects are numbered by first sight and forgotten when their memory dies,
 * so addresses never reach the digest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kdpc_test.h"

#define RUNS    20
#define WAVES   3
#define THREADS 3
#define ROUNDS  4
#define TAG     'gsiD'

static const char *self_path;

typedef struct churn {
    KSPIN_LOCK lock;
    KDPC dpc;
    KEVENT ran;
    unsigned size;
} churn;

typedef struct boxed {
    KSPIN_LOCK lock;
    ULONG data[6];
} boxed;

static KEVENT done[WAVES * THREADS];
static volatile LONG isr_runs;

#define LINE 6

static BOOLEAN ChurnIsr(PKINTERRUPT i, PVOID ctx)
{
    (void)i;
    (void)ctx;
    InterlockedIncrement(&isr_runs);
    return TRUE;
}

/* At DISPATCH_LEVEL: pool and an IRP that live for a moment, each with a spin lock inside. */
static void ChurnDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)a1;
    (void)a2;
    churn *c = ctx;
    KeAcquireSpinLockAtDpcLevel(&c->lock);
    boxed *b = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*b) + c->size, TAG);
    if (b != NULL) {
        KeInitializeSpinLock(&b->lock);
        KeAcquireSpinLockAtDpcLevel(&b->lock);
        KeReleaseSpinLockFromDpcLevel(&b->lock);
        ExFreePoolWithTag(b, TAG);
    }
    PIRP irp = IoAllocateIrp(2, FALSE);
    if (irp != NULL) {
        PKSPIN_LOCK l = (PKSPIN_LOCK)&irp->Tail.Overlay.DriverContext[0];
        KeInitializeSpinLock(l);
        KeAcquireSpinLockAtDpcLevel(l);
        KeReleaseSpinLockFromDpcLevel(l);
        IoFreeIrp(irp);
    }
    KeReleaseSpinLockFromDpcLevel(&c->lock);
    (void)KeSetEvent(&c->ran, IO_NO_INCREMENT, FALSE);
}

static void churn_thread(PVOID ctx)
{
    uintptr_t who = (uintptr_t)ctx;
    KSPIN_LOCK on_stack; /* lives on this thread's stack, which the host reuses */
    KeInitializeSpinLock(&on_stack);
    for (unsigned r = 0; r < ROUNDS; r++) {
        KIRQL old;
        KeAcquireSpinLock(&on_stack, &old);
        KeReleaseSpinLock(&on_stack, old);
        churn *c = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*c), TAG);
        if (c == NULL)
            continue;
        c->size = (unsigned)(16 * (r + who % 3));
        KeInitializeSpinLock(&c->lock);
        KeInitializeEvent(&c->ran, NotificationEvent, FALSE);
        KeInitializeDpc(&c->dpc, ChurnDpc, c);
        KeSetTargetProcessorDpc(&c->dpc, (CCHAR)((who + r) % 2));
        (void)KeInsertQueueDpc(&c->dpc, NULL, NULL);
        (void)KeWaitForSingleObject(&c->ran, Executive, KernelMode, FALSE, NULL);
        ExFreePoolWithTag(c, TAG);
    }
    (void)KeSetEvent(&done[who], IO_NO_INCREMENT, FALSE);
}

static void churn_entry(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < WAVES * THREADS; i++)
        KeInitializeEvent(&done[i], NotificationEvent, FALSE);
    for (unsigned w = 0; w < WAVES; w++) {
        /* an interrupt object per wave: connected, delivered once, disconnected (freed) */
        PKINTERRUPT intr = NULL;
        LONG before = isr_runs;
        if (NT_SUCCESS(IoConnectInterrupt(&intr, ChurnIsr, NULL, NULL, LINE, 5, 5, Latched, FALSE,
                                          3, FALSE))) {
            (void)kdpc_line_assert(kdpc_current_machine(), LINE);
            while (isr_runs == before)
                KeStallExecutionProcessor(1);
            IoDisconnectInterrupt(intr);
        }
        for (unsigned t = 0; t < THREADS; t++) {
            HANDLE h;
            uintptr_t who = w * THREADS + t;
            if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                                churn_thread, (PVOID)who)))
                ZwClose(h);
            else
                (void)KeSetEvent(&done[who], IO_NO_INCREMENT, FALSE);
        }
        for (unsigned t = 0; t < THREADS; t++)
            (void)KeWaitForSingleObject(&done[w * THREADS + t], Executive, KernelMode, FALSE, NULL);
    }
}

/* The child: run the scenario, print "<digest> <events> <status>". */
static int child(void)
{
    kdpc_config cfg = kt_config(2, 11);
    cfg.seed = 11;
    cfg.trace_capacity = 64;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL)
        return 2;
    kdpc_status st = kdpc_machine_run(m, churn_entry, NULL);
    printf("%016" PRIx64 " %" PRIu64 " %d\n", kdpc_trace_digest(m), kdpc_trace_total(m), (int)st);
    fflush(stdout);
    kdpc_machine_destroy(m);
    return 0;
}

/* Run this executable with --child in a fresh process; its one line of output into line. */
static void run_child(char *line, size_t n)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(self_path, self_path, "--child", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    for (;;) {
        ssize_t k = read(fd[0], line + got, n - 1 - got);
        if (k > 0) {
            got += (size_t)k;
            if (got == n - 1)
                break;
        } else if (k == 0 || errno != EINTR) {
            break;
        }
    }
    line[got] = '\0';
    line[strcspn(line, "\n")] = '\0';
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_digest_equal_in_twenty_fresh_processes(void **state)
{
    (void)state;
    char first[128], line[128];
    run_child(first, sizeof(first));
    unsigned long long digest = 0, events = 0;
    int st = -1;
    assert_int_equal(sscanf(first, "%llx %llu %d", &digest, &events, &st), 3);
    assert_int_equal(st, KDPC_OK);
    assert_true(events > 500); /* the scenario really ran */
    unsigned same = 1;
    for (int i = 1; i < RUNS; i++) {
        run_child(line, sizeof(line));
        if (strcmp(line, first) == 0)
            same++;
        else
            print_message("run %d: %s differs from run 0: %s", i, line, first);
    }
    assert_int_equal(same, RUNS);
}

/* In one process too: two machines with the same seed, one after the other (the second one
 * gets the addresses the first freed), give the same digest. */
static void test_digest_equal_for_two_machines_in_one_process(void **state)
{
    (void)state;
    uint64_t d[2];
    for (int i = 0; i < 2; i++) {
        kdpc_config cfg = kt_config(2, 11);
        cfg.seed = 11;
        cfg.trace_capacity = 64;
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        assert_int_equal(kdpc_machine_run(m, churn_entry, NULL), KDPC_OK);
        d[i] = kdpc_trace_digest(m);
        kdpc_machine_destroy(m);
    }
    assert_true(d[0] != 0);
    assert_true(d[0] == d[1]);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child();
    self_path = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_equal_in_twenty_fresh_processes),
        cmocka_unit_test(test_digest_equal_for_two_machines_in_one_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
