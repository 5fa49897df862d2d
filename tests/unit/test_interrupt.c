/* SPDX-License-Identifier: MIT */
/*
 * test_interrupt.c - interrupt objects (dpc-irql.md section 3): what
 * IoConnectInterrupt(Ex) accepts, how ISRs are delivered (IRQL, lock,
 * processor mask, masking by IRQL, latched vs level lines, nesting, shared
 * chains), KeSynchronizeExecution and the interrupt spin lock.
 *
 * Observations are recorded by the simulated code in static state and
 * asserted after kdpc_machine_run returns (no cmocka assert in simulated
 * code).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

/* A bound for every polling loop, so a broken library fails a test instead of hanging it. */
#define MAX_POLL 2000

/* Build a machine whose random policy never delays a deliverable interrupt:
 * an interrupt is taken at the first interleaving point where it can be. */
static kdpc_machine *machine_nodelay(unsigned cpus, uint64_t seed)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.interrupt_delay_permille = 0;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* Stall (an interleaving point each time) until *v >= target or MAX_POLL stalls. */
static void poll_until(volatile LONG *v, LONG target)
{
    for (int i = 0; i < MAX_POLL && *v < target; i++)
        KeStallExecutionProcessor(1);
}

static void stall_points(int n)
{
    for (int i = 0; i < n; i++)
        KeStallExecutionProcessor(1);
}

/* ------------------------------------------------------------------ */
/* Shared recording state                                              */

#define MAX_REC 64

typedef struct isr_rec {
    volatile LONG calls;
    KIRQL irql[MAX_REC];
    ULONG cpu[MAX_REC];
    PVOID ctx[MAX_REC];
    PKINTERRUPT obj[MAX_REC];
    BOOLEAN lock_free[MAX_REC]; /* KeTestSpinLock(S.lock) inside */
    BOOLEAN ret;                /* what the ISR returns */
    LONG deassert_at;           /* level ISRs: deassert the line at this call (0: never) */
    LONG true_calls;            /* return TRUE for this many calls, FALSE after (-1: always ret) */
    unsigned line;
} isr_rec;

static struct {
    isr_rec a, b;
    KSPIN_LOCK lock;
    PKINTERRUPT ia, ib;
    NTSTATUS st[32];
    LONG observed[16];
    KIRQL irqls[16];
    BOOLEAN flags[16];
    char log[32];
    volatile LONG nlog;
} S;

static void reset(void)
{
    memset(&S, 0, sizeof(S));
    S.a.ret = TRUE;
    S.b.ret = TRUE;
    S.a.true_calls = -1;
    S.b.true_calls = -1;
}

static void log_event(char e)
{
    if (S.nlog < (LONG)sizeof(S.log) - 1)
        S.log[S.nlog++] = e;
}

static BOOLEAN record(isr_rec *r, PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    LONG n = r->calls;
    if (n < MAX_REC) {
        r->irql[n] = KeGetCurrentIrql();
        r->cpu[n] = KeGetCurrentProcessorNumber();
        r->ctx[n] = ServiceContext;
        r->obj[n] = Interrupt;
        r->lock_free[n] = KeTestSpinLock(&S.lock);
    }
    r->calls = n + 1;
    if (r->deassert_at != 0 && r->calls == r->deassert_at)
        kdpc_line_deassert(kdpc_current_machine(), r->line);
    if (r->true_calls >= 0)
        return r->calls <= r->true_calls ? TRUE : FALSE;
    return r->ret;
}

static BOOLEAN IsrA(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    return record(&S.a, Interrupt, ServiceContext);
}

static BOOLEAN IsrB(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    return record(&S.b, Interrupt, ServiceContext);
}

static NTSTATUS connect_a(unsigned line, KIRQL irql, KIRQL sync, KINTERRUPT_MODE mode,
                          BOOLEAN share, KAFFINITY mask)
{
    S.a.line = line;
    return IoConnectInterrupt(&S.ia, IsrA, &S.a, NULL, line, irql, sync, mode, share, mask, FALSE);
}

/* ------------------------------------------------------------------ */
/* IoConnectInterrupt parameters (3.4, 3.5, io.h)                      */

static void connect_valid_entry(void *ctx)
{
    (void)ctx;
    PKINTERRUPT i[6] = {NULL};
    /* Irql == SynchronizeIrql, smallest device IRQL, vector 0 */
    S.st[0] = IoConnectInterrupt(&i[0], IsrA, &S.a, NULL, 0, 3, 3, Latched, FALSE, 0x1, FALSE);
    /* HIGH_LEVEL is still accepted (3.5 rejects only Irql > HIGH_LEVEL) */
    S.st[1] = IoConnectInterrupt(&i[1], IsrA, &S.a, NULL, 1, HIGH_LEVEL, HIGH_LEVEL, LevelSensitive,
                                 FALSE, 0x3, FALSE);
    /* SynchronizeIrql above Irql, own spin lock, last vector */
    S.st[2] = IoConnectInterrupt(&i[2], IsrA, &S.a, &S.lock, KDPC_MAX_LINES - 1, 5, 9, Latched,
                                 TRUE, 0x2, FALSE);
    /* a mask naming one active and one missing CPU is fine: some CPU is active */
    S.st[3] = IoConnectInterrupt(&i[3], IsrA, &S.a, NULL, 3, 6, 6, Latched, FALSE, 0x5, FALSE);
    /* the mask may name every processor a KAFFINITY can */
    S.st[4] =
        IoConnectInterrupt(&i[4], IsrA, &S.a, NULL, 4, 6, 6, Latched, FALSE, ~(KAFFINITY)0, FALSE);
    for (int k = 0; k < 5; k++) {
        S.flags[k] = i[k] != NULL;
        if (i[k] != NULL)
            IoDisconnectInterrupt(i[k]);
    }
}

static void test_connect_valid_parameters_returns_success(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 1);
    assert_int_equal(kdpc_machine_run(m, connect_valid_entry, NULL), KDPC_OK);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(S.st[k], STATUS_SUCCESS); /* 3.4 */
        assert_true(S.flags[k]);                   /* *InterruptObject set */
    }
    kdpc_machine_destroy(m);
}

#define BAD_LINE 9

static void connect_invalid_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    PKINTERRUPT i = NULL;
    int k = 0;
    /* 3.4: no active processor in the mask (2 CPUs: bit 2 names none; 0 names none) */
    S.st[k++] =
        IoConnectInterrupt(&i, IsrA, &S.a, NULL, BAD_LINE, 5, 5, Latched, FALSE, 0x4, FALSE);
    S.st[k++] = IoConnectInterrupt(&i, IsrA, &S.a, NULL, BAD_LINE, 5, 5, Latched, FALSE, 0, FALSE);
    /* io.h: Irql must be a device IRQL (> DISPATCH_LEVEL) */
    S.st[k++] = IoConnectInterrupt(&i, IsrA, &S.a, NULL, BAD_LINE, DISPATCH_LEVEL, DISPATCH_LEVEL,
                                   Latched, FALSE, 0x1, FALSE);
    S.st[k++] = IoConnectInterrupt(&i, IsrA, &S.a, NULL, BAD_LINE, PASSIVE_LEVEL, 5, Latched, FALSE,
                                   0x1, FALSE);
    S.st[k++] = IoConnectInterrupt(&i, IsrA, &S.a, NULL, BAD_LINE, APC_LEVEL, APC_LEVEL, Latched,
                                   FALSE, 0x1, FALSE);
    /* 3.5: Irql above HIGH_LEVEL (15) */
    S.st[k++] =
        IoConnectInterrupt(&i, IsrA, &S.a, NULL, BAD_LINE, 16, 16, Latched, FALSE, 0x1, FALSE);
    /* 3.5: SynchronizeIrql < Irql */
    S.st[k++] =
        IoConnectInterrupt(&i, IsrA, &S.a, NULL, BAD_LINE, 6, 5, Latched, FALSE, 0x1, FALSE);
    /* io.h: Vector >= KDPC_MAX_LINES */
    S.st[k++] =
        IoConnectInterrupt(&i, IsrA, &S.a, NULL, KDPC_MAX_LINES, 5, 5, Latched, FALSE, 0x1, FALSE);
    S.st[k++] = IoConnectInterrupt(&i, IsrA, &S.a, NULL, 100000, 5, 5, Latched, FALSE, 0x1, FALSE);
    /* 3.5: FloatingSave */
    S.st[k++] = IoConnectInterrupt(&i, IsrA, &S.a, NULL, BAD_LINE, 5, 5, Latched, FALSE, 0x1, TRUE);
    /* io.h: NULL routine, NULL output */
    S.st[k++] =
        IoConnectInterrupt(&i, NULL, &S.a, NULL, BAD_LINE, 5, 5, Latched, FALSE, 0x1, FALSE);
    S.st[k++] =
        IoConnectInterrupt(NULL, IsrA, &S.a, NULL, BAD_LINE, 5, 5, Latched, FALSE, 0x1, FALSE);
    S.observed[0] = k;
    /* None of the failed calls left an ISR on the line. */
    kdpc_line_assert(m, BAD_LINE);
    stall_points(50);
    kdpc_line_deassert(m, BAD_LINE);
}

static void test_connect_invalid_parameters_returns_invalid_parameter(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(2, 2);
    assert_int_equal(kdpc_machine_run(m, connect_invalid_entry, NULL), KDPC_OK);
    assert_int_equal(S.observed[0], 12);
    for (int k = 0; k < S.observed[0]; k++) {
        if (S.st[k] != STATUS_INVALID_PARAMETER)
            fail_msg("invalid connect #%d returned 0x%08x, expected STATUS_INVALID_PARAMETER", k,
                     (unsigned)S.st[k]);
    }
    assert_int_equal(S.a.calls, 0);
    kdpc_machine_destroy(m);
}

static void connect_shared_entry(void *ctx)
{
    (void)ctx;
    PKINTERRUPT i[8] = {NULL};
    /* line 10: first object not shareable: nobody may join, shareable or not */
    S.st[0] = IoConnectInterrupt(&i[0], IsrA, &S.a, NULL, 10, 5, 5, Latched, FALSE, 0x1, FALSE);
    S.st[1] = IoConnectInterrupt(&i[1], IsrB, &S.b, NULL, 10, 5, 5, Latched, TRUE, 0x1, FALSE);
    S.st[2] = IoConnectInterrupt(&i[2], IsrB, &S.b, NULL, 10, 5, 5, Latched, FALSE, 0x1, FALSE);
    /* line 11: first shareable: a non-shareable one is refused, a shareable one joins */
    S.st[3] = IoConnectInterrupt(&i[3], IsrA, &S.a, NULL, 11, 5, 5, Latched, TRUE, 0x1, FALSE);
    S.st[4] = IoConnectInterrupt(&i[4], IsrB, &S.b, NULL, 11, 5, 5, Latched, FALSE, 0x1, FALSE);
    S.st[5] = IoConnectInterrupt(&i[5], IsrB, &S.b, NULL, 11, 5, 5, Latched, TRUE, 0x1, FALSE);
    /* line 12: both shareable but another InterruptMode */
    S.st[6] = IoConnectInterrupt(&i[6], IsrA, &S.a, NULL, 12, 5, 5, Latched, TRUE, 0x1, FALSE);
    S.st[7] =
        IoConnectInterrupt(&i[7], IsrB, &S.b, NULL, 12, 5, 5, LevelSensitive, TRUE, 0x1, FALSE);
    for (int k = 0; k < 8; k++) {
        if (S.st[k] == STATUS_SUCCESS && i[k] != NULL)
            IoDisconnectInterrupt(i[k]);
    }
}

static void test_connect_second_object_needs_share_vector_on_both_and_same_mode(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 3);
    assert_int_equal(kdpc_machine_run(m, connect_shared_entry, NULL), KDPC_OK);
    /* 3.5: a vector is shared only if both objects have ShareVector and the same mode */
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.st[1], STATUS_INVALID_PARAMETER);
    assert_int_equal(S.st[2], STATUS_INVALID_PARAMETER);
    assert_int_equal(S.st[3], STATUS_SUCCESS);
    assert_int_equal(S.st[4], STATUS_INVALID_PARAMETER);
    assert_int_equal(S.st[5], STATUS_SUCCESS);
    assert_int_equal(S.st[6], STATUS_SUCCESS);
    assert_int_equal(S.st[7], STATUS_INVALID_PARAMETER);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* IoConnectInterruptEx / IoDisconnectInterruptEx (io.h)               */

static void fully_specified(IO_CONNECT_INTERRUPT_PARAMETERS *p, ULONG version, PKINTERRUPT *out,
                            unsigned line)
{
    memset(p, 0, sizeof(*p));
    p->Version = version;
    p->FullySpecified.InterruptObject = out;
    p->FullySpecified.ServiceRoutine = IsrA;
    p->FullySpecified.ServiceContext = &S.a;
    p->FullySpecified.SpinLock = &S.lock;
    p->FullySpecified.SynchronizeIrql = 7;
    p->FullySpecified.FloatingSave = FALSE;
    p->FullySpecified.ShareVector = FALSE;
    p->FullySpecified.Vector = line;
    p->FullySpecified.Irql = 6;
    p->FullySpecified.InterruptMode = Latched;
    p->FullySpecified.ProcessorEnableMask = 0x1;
    p->FullySpecified.Group = 0;
}

static void connect_ex_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    IO_CONNECT_INTERRUPT_PARAMETERS p;
    PKINTERRUPT obj = NULL;
    fully_specified(&p, CONNECT_FULLY_SPECIFIED, &obj, 40);
    S.st[0] = IoConnectInterruptEx(&p);
    S.flags[0] = obj != NULL;
    kdpc_line_assert(m, 40);
    poll_until(&S.a.calls, 1);
    S.observed[0] = S.a.calls; /* 1: delivered like an IoConnectInterrupt ISR */

    IO_DISCONNECT_INTERRUPT_PARAMETERS d;
    memset(&d, 0, sizeof(d));
    d.Version = CONNECT_FULLY_SPECIFIED;
    d.ConnectionContext.InterruptObject = obj;
    IoDisconnectInterruptEx(&d);
    kdpc_line_assert(m, 40);
    stall_points(50);
    S.observed[1] = S.a.calls; /* still 1: disconnected */
    kdpc_line_deassert(m, 40);

    /* invalid fully specified parameters are refused as by IoConnectInterrupt */
    PKINTERRUPT bad = NULL;
    fully_specified(&p, CONNECT_FULLY_SPECIFIED, &bad, 41);
    p.FullySpecified.Irql = DISPATCH_LEVEL;
    p.FullySpecified.SynchronizeIrql = DISPATCH_LEVEL;
    S.st[1] = IoConnectInterruptEx(&p);
    fully_specified(&p, CONNECT_FULLY_SPECIFIED, &bad, 41);
    p.FullySpecified.SynchronizeIrql = 5; /* < Irql 6 */
    S.st[2] = IoConnectInterruptEx(&p);
    fully_specified(&p, CONNECT_FULLY_SPECIFIED, &bad, 41);
    p.FullySpecified.FloatingSave = TRUE;
    S.st[3] = IoConnectInterruptEx(&p);
}

static void test_connect_ex_fully_specified_works_like_io_connect_interrupt(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 4);
    assert_int_equal(kdpc_machine_run(m, connect_ex_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_true(S.flags[0]);
    assert_int_equal(S.observed[0], 1);
    assert_ptr_equal(S.a.ctx[0], &S.a);
    assert_int_equal(S.a.irql[0], 7); /* 3.3: SynchronizeIrql */
    assert_int_equal(S.observed[1], 1);
    assert_int_equal(S.st[1], STATUS_INVALID_PARAMETER);
    assert_int_equal(S.st[2], STATUS_INVALID_PARAMETER);
    assert_int_equal(S.st[3], STATUS_INVALID_PARAMETER);
    kdpc_machine_destroy(m);
}

static void connect_ex_versions_entry(void *ctx)
{
    (void)ctx;
    IO_CONNECT_INTERRUPT_PARAMETERS p;
    PKINTERRUPT obj = NULL;
    fully_specified(&p, CONNECT_LINE_BASED, &obj, 42);
    S.st[0] = IoConnectInterruptEx(&p);
    fully_specified(&p, CONNECT_MESSAGE_BASED, &obj, 42);
    S.st[1] = IoConnectInterruptEx(&p);
    fully_specified(&p, 0, &obj, 42);
    S.st[2] = IoConnectInterruptEx(&p);
    fully_specified(&p, 5, &obj, 42);
    S.st[3] = IoConnectInterruptEx(&p);
    fully_specified(&p, 0xFFFF, &obj, 42);
    S.st[4] = IoConnectInterruptEx(&p);
    S.st[5] = IoConnectInterruptEx(NULL);
    /* CONNECT_FULLY_SPECIFIED_GROUP: Group 0 is the only group */
    fully_specified(&p, CONNECT_FULLY_SPECIFIED_GROUP, &obj, 43);
    p.FullySpecified.Group = 1;
    S.st[6] = IoConnectInterruptEx(&p);
    S.flags[0] = obj == NULL; /* no failed call produced an object */
    fully_specified(&p, CONNECT_FULLY_SPECIFIED_GROUP, &obj, 43);
    p.FullySpecified.Group = 0;
    S.st[7] = IoConnectInterruptEx(&p);
    kdpc_line_assert(kdpc_current_machine(), 43);
    poll_until(&S.a.calls, 1);
    S.observed[0] = S.a.calls;
    if (obj != NULL) {
        IO_DISCONNECT_INTERRUPT_PARAMETERS d;
        memset(&d, 0, sizeof(d));
        d.Version = CONNECT_FULLY_SPECIFIED_GROUP;
        d.ConnectionContext.InterruptObject = obj;
        IoDisconnectInterruptEx(&d);
    }
}

static void test_connect_ex_versions_line_message_unknown_and_group(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 5);
    assert_int_equal(kdpc_machine_run(m, connect_ex_versions_entry, NULL), KDPC_OK);
    /* io.h Divergence: no PnP resources, so line/message based are not supported */
    assert_int_equal(S.st[0], STATUS_NOT_SUPPORTED);
    assert_int_equal(S.st[1], STATUS_NOT_SUPPORTED);
    /* unknown versions and NULL */
    assert_int_equal(S.st[2], STATUS_INVALID_PARAMETER);
    assert_int_equal(S.st[3], STATUS_INVALID_PARAMETER);
    assert_int_equal(S.st[4], STATUS_INVALID_PARAMETER);
    assert_int_equal(S.st[5], STATUS_INVALID_PARAMETER);
    /* group 1 does not exist; group 0 connects */
    assert_int_equal(S.st[6], STATUS_INVALID_PARAMETER);
    assert_true(S.flags[0]);
    assert_int_equal(S.st[7], STATUS_SUCCESS);
    assert_int_equal(S.observed[0], 1);
    kdpc_machine_destroy(m);
}

static void disconnect_entry(void *ctx)
{
    KINTERRUPT_MODE mode = *(KINTERRUPT_MODE *)ctx;
    kdpc_machine *m = kdpc_current_machine();
    S.a.deassert_at = mode == LevelSensitive ? 1 : 0;
    S.st[0] = connect_a(13, 5, 5, mode, FALSE, 0x1);
    kdpc_line_assert(m, 13);
    poll_until(&S.a.calls, 1);
    S.observed[0] = S.a.calls;
    IoDisconnectInterrupt(S.ia);
    kdpc_line_assert(m, 13);
    stall_points(100);
    S.observed[1] = S.a.calls;
    S.flags[0] = kdpc_line_pending(m, 13); /* the assert waits for a new connection */
    kdpc_line_deassert(m, 13);
}

static void test_disconnect_stops_delivery(void **state)
{
    (void)state;
    KINTERRUPT_MODE modes[2] = {Latched, LevelSensitive};
    for (int k = 0; k < 2; k++) {
        reset();
        kdpc_machine *m = kt_machine(1, 6);
        assert_int_equal(kdpc_machine_run(m, disconnect_entry, &modes[k]), KDPC_OK);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_int_equal(S.observed[0], 1);
        assert_int_equal(S.observed[1], 1); /* ISR not called after IoDisconnectInterrupt */
        assert_true(S.flags[0]);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* ISR IRQL, lock, processors (3.3, 3.4)                               */

static void isr_irql_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    /* Irql 5, SynchronizeIrql 9 */
    S.st[0] = IoConnectInterrupt(&S.ia, IsrA, &S.a, NULL, 14, 5, 9, Latched, FALSE, 0x1, FALSE);
    /* Irql == SynchronizeIrql 6 */
    S.st[1] = IoConnectInterrupt(&S.ib, IsrB, &S.b, NULL, 15, 6, 6, Latched, FALSE, 0x1, FALSE);
    kdpc_line_assert(m, 14);
    poll_until(&S.a.calls, 1);
    kdpc_line_assert(m, 15);
    poll_until(&S.b.calls, 1);
    S.irqls[0] = KeGetCurrentIrql(); /* back at PASSIVE after the ISRs */
    IoDisconnectInterrupt(S.ia);
    IoDisconnectInterrupt(S.ib);
}

static void test_isr_runs_at_synchronize_irql_not_irql(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 7);
    assert_int_equal(kdpc_machine_run(m, isr_irql_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.st[1], STATUS_SUCCESS);
    assert_int_equal(S.a.calls, 1);
    assert_int_equal(S.a.irql[0], 9); /* 3.3: SynchronizeIrql, not Irql 5 */
    assert_ptr_equal(S.a.ctx[0], &S.a);
    assert_ptr_equal(S.a.obj[0], S.ia); /* 3.1: the ISR gets its interrupt object */
    assert_int_equal(S.b.calls, 1);
    assert_int_equal(S.b.irql[0], 6);
    assert_int_equal(S.irqls[0], PASSIVE_LEVEL);
    kdpc_machine_destroy(m);
}

static void isr_lock_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    KeInitializeSpinLock(&S.lock);
    S.st[0] = IoConnectInterrupt(&S.ia, IsrA, &S.a, &S.lock, 16, 5, 5, Latched, FALSE, 0x1, FALSE);
    S.flags[0] = KeTestSpinLock(&S.lock);
    kdpc_line_assert(m, 16);
    poll_until(&S.a.calls, 1);
    S.flags[1] = KeTestSpinLock(&S.lock);
    IoDisconnectInterrupt(S.ia);
}

static void test_isr_holds_the_interrupt_spin_lock(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 8);
    assert_int_equal(kdpc_machine_run(m, isr_lock_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.a.calls, 1);
    assert_true(S.flags[0]);        /* free before */
    assert_false(S.a.lock_free[0]); /* 3.3: held while the ISR runs */
    assert_true(S.flags[1]);        /* free after */
    kdpc_machine_destroy(m);
}

/* Mutual exclusion between an ISR on CPU 1 and a SynchCritSection on CPU 0:
 * both do a non-atomic read-stall-write of one counter; any overlap loses
 * an update and is also seen by the inside counter. */
static struct {
    volatile LONG inside;
    volatile LONG overlaps;
    volatile LONG counter;
    volatile LONG isr_calls;
    volatile LONG sync_calls;
    PKINTERRUPT intr;
} X;

static void critical_update(void)
{
    if (++X.inside != 1)
        X.overlaps++;
    LONG v = X.counter;
    KeStallExecutionProcessor(1);
    KeStallExecutionProcessor(1);
    X.counter = v + 1;
    X.inside--;
}

static BOOLEAN ExclIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    X.isr_calls++;
    critical_update();
    return TRUE;
}

static BOOLEAN ExclCrit(PVOID Context)
{
    kdpc_machine *m = Context;
    X.sync_calls++;
    /* raise the interrupt while this CPU holds the lock: CPU 1 must wait */
    kdpc_line_assert(m, 17);
    critical_update();
    KeStallExecutionProcessor(1);
    KeStallExecutionProcessor(1);
    KeStallExecutionProcessor(1);
    return TRUE;
}

static void exclusion_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    KeInitializeSpinLock(&S.lock);
    S.st[0] =
        IoConnectInterrupt(&X.intr, ExclIsr, NULL, &S.lock, 17, 5, 5, Latched, FALSE, 0x2, FALSE);
    if (S.st[0] != STATUS_SUCCESS)
        return;
    for (int i = 0; i < 10; i++) {
        KeSynchronizeExecution(X.intr, ExclCrit, m);
        stall_points(3);
    }
    /* let the last interrupt be taken */
    for (int i = 0; i < MAX_POLL && (kdpc_line_pending(m, 17) || X.inside != 0); i++)
        KeStallExecutionProcessor(1);
    stall_points(10);
    IoDisconnectInterrupt(X.intr);
}

static void test_isr_and_synch_crit_section_exclude_each_other_across_cpus(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        reset();
        memset(&X, 0, sizeof(X));
        kdpc_machine *m = kt_machine(2, seed);
        assert_int_equal(kdpc_machine_run(m, exclusion_entry, NULL), KDPC_OK);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_int_equal(X.sync_calls, 10);
        assert_true(X.isr_calls >= 1);
        /* 3.3, 3.9: never inside together, no update lost */
        assert_int_equal(X.overlaps, 0);
        assert_int_equal(X.counter, X.isr_calls + X.sync_calls);
        kdpc_machine_destroy(m);
    }
}

static void lock_blocks_isr_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    KeInitializeSpinLock(&S.lock);
    S.st[0] = IoConnectInterrupt(&S.ia, IsrA, &S.a, &S.lock, 18, 5, 5, Latched, FALSE, 0x2, FALSE);
    if (S.st[0] != STATUS_SUCCESS)
        return;
    KIRQL old = KeAcquireInterruptSpinLock(S.ia);
    kdpc_line_assert(m, 18);
    stall_points(20);
    S.observed[0] = S.a.calls; /* CPU 1 may not enter the ISR while CPU 0 holds the lock */
    KeReleaseInterruptSpinLock(S.ia, old);
    poll_until(&S.a.calls, 1);
    S.observed[1] = S.a.calls;
    IoDisconnectInterrupt(S.ia);
}

static void test_isr_on_other_cpu_waits_for_held_interrupt_spin_lock(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        reset();
        kdpc_machine *m = kt_machine(2, seed);
        assert_int_equal(kdpc_machine_run(m, lock_blocks_isr_entry, NULL), KDPC_OK);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_int_equal(S.observed[0], 0); /* 3.3, 3.10 */
        assert_int_equal(S.observed[1], 1);
        assert_int_equal(S.a.cpu[0], 1);
        kdpc_machine_destroy(m);
    }
}

static void mask_entry(void *ctx)
{
    KAFFINITY mask = *(KAFFINITY *)ctx;
    kdpc_machine *m = kdpc_current_machine();
    S.st[0] = connect_a(19, 5, 5, Latched, FALSE, mask);
    if (S.st[0] != STATUS_SUCCESS)
        return;
    for (LONG i = 1; i <= 6; i++) {
        kdpc_line_assert(m, 19);
        poll_until(&S.a.calls, i);
    }
    IoDisconnectInterrupt(S.ia);
}

static void test_isr_runs_only_on_cpus_in_processor_enable_mask(void **state)
{
    (void)state;
    KAFFINITY masks[2] = {0x2, 0x1};
    ULONG cpu_of[2] = {1, 0};
    for (int k = 0; k < 2; k++) {
        for (uint64_t seed = 1; seed <= 6; seed++) {
            reset();
            kdpc_machine *m = kt_machine(2, seed);
            assert_int_equal(kdpc_machine_run(m, mask_entry, &masks[k]), KDPC_OK);
            assert_int_equal(S.st[0], STATUS_SUCCESS);
            assert_int_equal(S.a.calls, 6);
            for (int i = 0; i < 6; i++)
                assert_int_equal(S.a.cpu[i], cpu_of[k]); /* 3.4, 3.5 */
            kdpc_machine_destroy(m);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Masking by IRQL (1.5) and delivery timing (3.4)                     */

static void masked_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    KIRQL old;
    S.st[0] = connect_a(20, 5, 5, Latched, FALSE, 0x1);
    if (S.st[0] != STATUS_SUCCESS)
        return;
    /* at the line's Irql: masked */
    KeRaiseIrql(5, &old);
    kdpc_line_assert(m, 20);
    stall_points(20);
    S.observed[0] = S.a.calls;
    S.flags[0] = kdpc_line_pending(m, 20);
    KeLowerIrql(old);
    S.observed[1] = S.a.calls; /* taken on the way down, before KeLowerIrql returned */
    /* above the line's Irql: masked */
    KeRaiseIrql(HIGH_LEVEL, &old);
    kdpc_line_assert(m, 20);
    stall_points(20);
    S.observed[2] = S.a.calls;
    KeLowerIrql(old);
    S.observed[3] = S.a.calls;
    /* below the line's Irql: taken at once */
    KeRaiseIrql(4, &old);
    kdpc_line_assert(m, 20);
    KeStallExecutionProcessor(1);
    S.observed[4] = S.a.calls;
    S.irqls[0] = KeGetCurrentIrql();
    KeLowerIrql(old);
    IoDisconnectInterrupt(S.ia);
}

static void test_interrupt_not_taken_while_cpu_irql_at_or_above_line_irql(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = machine_nodelay(1, 9);
    assert_int_equal(kdpc_machine_run(m, masked_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.observed[0], 0); /* 1.5: IRQL 5 masks a line at Irql 5 */
    assert_true(S.flags[0]);            /* still pending */
    assert_int_equal(S.observed[1], 1);
    assert_int_equal(S.observed[2], 1); /* HIGH_LEVEL masks it too */
    assert_int_equal(S.observed[3], 2);
    assert_int_equal(S.observed[4], 3); /* IRQL 4 does not */
    assert_int_equal(S.a.irql[2], 5);   /* taken from IRQL 4, runs at its SynchronizeIrql */
    assert_int_equal(S.irqls[0], 4);    /* and the CPU is back at 4 after it */
    kdpc_machine_destroy(m);
}

static void preasserted_entry(void *ctx)
{
    KINTERRUPT_MODE mode = *(KINTERRUPT_MODE *)ctx;
    kdpc_machine *m = kdpc_current_machine();
    kdpc_line_assert(m, 21); /* the device interrupts before the driver connects */
    stall_points(10);
    S.observed[0] = S.a.calls;
    S.a.deassert_at = mode == LevelSensitive ? 1 : 0;
    S.st[0] = connect_a(21, 5, 5, mode, FALSE, 0x1);
    S.observed[1] = S.a.calls; /* right after IoConnectInterrupt returned */
    stall_points(20);
    S.observed[2] = S.a.calls;
    if (S.st[0] == STATUS_SUCCESS)
        IoDisconnectInterrupt(S.ia);
}

static void test_isr_runs_when_connected_to_an_already_asserted_line(void **state)
{
    (void)state;
    KINTERRUPT_MODE modes[2] = {Latched, LevelSensitive};
    for (int k = 0; k < 2; k++) {
        reset();
        kdpc_machine *m = machine_nodelay(1, 10);
        assert_int_equal(kdpc_machine_run(m, preasserted_entry, &modes[k]), KDPC_OK);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_int_equal(S.observed[0], 0);
        assert_int_equal(S.observed[1], 1); /* 3.4: as soon as the connect returns */
        assert_int_equal(S.observed[2], 1);
        kdpc_machine_destroy(m);
    }
}

static void latched_merge_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    KIRQL old;
    S.st[0] = connect_a(22, 5, 5, Latched, FALSE, 0x1);
    if (S.st[0] != STATUS_SUCCESS)
        return;
    KeRaiseIrql(5, &old);
    kdpc_line_assert(m, 22);
    KeStallExecutionProcessor(1);
    kdpc_line_assert(m, 22);
    KeStallExecutionProcessor(1);
    KeLowerIrql(old);
    stall_points(50);
    S.observed[0] = S.a.calls;
    S.flags[0] = kdpc_line_pending(m, 22);
    /* one assert, one call: an unshared ISR that claims is not called again */
    kdpc_line_assert(m, 22);
    poll_until(&S.a.calls, 2);
    stall_points(50);
    S.observed[1] = S.a.calls;
    IoDisconnectInterrupt(S.ia);
}

static void test_latched_two_asserts_before_delivery_give_one_isr_call(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 11);
    assert_int_equal(kdpc_machine_run(m, latched_merge_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.observed[0], 1); /* one edge latched, one interrupt */
    assert_false(S.flags[0]);
    assert_int_equal(S.observed[1], 2);
    kdpc_machine_destroy(m);
}

static void level_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    S.a.deassert_at = 4; /* the device keeps the line up until the 4th ISR call clears it */
    S.st[0] = connect_a(23, 5, 5, LevelSensitive, FALSE, 0x1);
    if (S.st[0] != STATUS_SUCCESS)
        return;
    kdpc_line_assert(m, 23);
    for (int i = 0; i < MAX_POLL && kdpc_line_pending(m, 23); i++)
        KeStallExecutionProcessor(1);
    stall_points(50);
    S.observed[0] = S.a.calls;
    IoDisconnectInterrupt(S.ia);
}

static void test_level_sensitive_isr_called_until_it_deasserts(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        reset();
        kdpc_machine *m = kt_machine(1, seed);
        assert_int_equal(kdpc_machine_run(m, level_entry, NULL), KDPC_OK);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_int_equal(S.observed[0], 4);
        KT_ASSERT_NO_VIOLATION(m, "isr.storm");
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* DpcForIsr queued by the ISR (4.15, 5.1-5.3)                         */

typedef struct dev_ext {
    PKINTERRUPT Interrupt;
    PDEVICE_OBJECT Self;
} dev_ext;

static struct {
    volatile LONG seq;
    volatile LONG isr_calls;
    volatile LONG dpc_calls;
    LONG isr_begin[MAX_REC], isr_end[MAX_REC], dpc_seq[MAX_REC];
    ULONG isr_cpu[MAX_REC], dpc_cpu[MAX_REC];
    KIRQL dpc_irql[MAX_REC];
    PDEVICE_OBJECT dpc_dev[MAX_REC];
    PVOID dpc_irp[MAX_REC], dpc_context[MAX_REC];
    NTSTATUS load, conn;
    PDRIVER_OBJECT drv;
} D;

static BOOLEAN DpcIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    PDEVICE_OBJECT dev = ServiceContext;
    LONG n = D.isr_calls;
    if (n < MAX_REC) {
        D.isr_begin[n] = ++D.seq;
        D.isr_cpu[n] = KeGetCurrentProcessorNumber();
    }
    IoRequestDpc(dev, (PIRP)(uintptr_t)0x1000, (PVOID)(uintptr_t)(0x2000 + n));
    KeStallExecutionProcessor(1); /* an interleaving point after the request */
    KeStallExecutionProcessor(1);
    if (n < MAX_REC)
        D.isr_end[n] = ++D.seq;
    D.isr_calls = n + 1;
    return TRUE;
}

static void DpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Dpc;
    LONG n = D.dpc_calls;
    if (n < MAX_REC) {
        D.dpc_seq[n] = ++D.seq;
        D.dpc_cpu[n] = KeGetCurrentProcessorNumber();
        D.dpc_irql[n] = KeGetCurrentIrql();
        D.dpc_dev[n] = DeviceObject;
        D.dpc_irp[n] = Irp;
        D.dpc_context[n] = Context;
    }
    D.dpc_calls = n + 1;
}

static NTSTATUS DpcDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    PDEVICE_OBJECT dev;
    NTSTATUS st =
        IoCreateDevice(DriverObject, sizeof(dev_ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    dev_ext *ext = dev->DeviceExtension;
    ext->Self = dev;
    IoInitializeDpcRequest(dev, DpcForIsr);
    D.conn = IoConnectInterrupt(&ext->Interrupt, DpcIsr, dev, NULL, 24, 6, 6, Latched, FALSE, 0x3,
                                FALSE);
    if (!NT_SUCCESS(D.conn))
        IoDeleteDevice(dev);
    return D.conn;
}

static void DpcDriverUnload(PDRIVER_OBJECT DriverObject)
{
    dev_ext *ext = DriverObject->DeviceObject->DeviceExtension;
    IoDisconnectInterrupt(ext->Interrupt);
    KeFlushQueuedDpcs();
    IoDeleteDevice(DriverObject->DeviceObject);
}

static void isr_dpc_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    D.load = kdpc_driver_load(m, "isrdpc", DpcDriverEntry, &D.drv);
    if (!NT_SUCCESS(D.load))
        return;
    D.drv->DriverUnload = DpcDriverUnload;
    for (LONG i = 1; i <= 4; i++) {
        kdpc_line_assert(m, 24);
        poll_until(&D.dpc_calls, i);
    }
    kdpc_driver_unload(D.drv);
}

static void test_dpc_requested_by_isr_runs_after_it_at_dispatch_on_same_cpu(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        memset(&D, 0, sizeof(D));
        kdpc_machine *m = kt_machine(2, seed);
        assert_int_equal(kdpc_machine_run(m, isr_dpc_entry, NULL), KDPC_OK);
        assert_int_equal(D.load, STATUS_SUCCESS);
        assert_int_equal(D.conn, STATUS_SUCCESS);
        assert_int_equal(D.isr_calls, 4);
        assert_int_equal(D.dpc_calls, 4);
        for (int i = 0; i < 4; i++) {
            assert_true(D.dpc_seq[i] > D.isr_end[i]);        /* 4.15: after the ISR returned */
            assert_int_equal(D.dpc_irql[i], DISPATCH_LEVEL); /* 1.6 */
            assert_int_equal(D.dpc_cpu[i], D.isr_cpu[i]);    /* the ISR's CPU */
            assert_non_null(D.dpc_dev[i]);                   /* 5.3: DeviceObject, Irp, Context */
            assert_ptr_equal(D.dpc_irp[i], (PVOID)(uintptr_t)0x1000);
            assert_ptr_equal(D.dpc_context[i], (PVOID)(uintptr_t)(0x2000 + i));
        }
        KT_ASSERT_NO_VIOLATION(m, "unload.pending");
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* Nesting by DIRQL (3.3: higher-DIRQL interrupts preempt an ISR)      */

#define LOW_LINE  25
#define HIGH_LINE 26

static BOOLEAN LowIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    BOOLEAN raise_other = ServiceContext != NULL;
    log_event('l');
    S.irqls[0] = KeGetCurrentIrql();
    if (raise_other)
        kdpc_line_assert(kdpc_current_machine(), HIGH_LINE);
    for (int i = 0; i < 5; i++)
        KeStallExecutionProcessor(1);
    S.irqls[1] = KeGetCurrentIrql();
    log_event('L');
    return TRUE;
}

static BOOLEAN HighIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    BOOLEAN raise_other = ServiceContext != NULL;
    log_event('h');
    S.irqls[2] = KeGetCurrentIrql();
    if (raise_other)
        kdpc_line_assert(kdpc_current_machine(), LOW_LINE);
    for (int i = 0; i < 5; i++)
        KeStallExecutionProcessor(1);
    log_event('H');
    return TRUE;
}

static void nesting_entry(void *ctx)
{
    BOOLEAN low_first = *(BOOLEAN *)ctx;
    kdpc_machine *m = kdpc_current_machine();
    /* the ISR that runs first raises the other line from inside */
    PVOID low_ctx = low_first ? (PVOID)1 : NULL;
    PVOID high_ctx = low_first ? NULL : (PVOID)1;
    S.st[0] = IoConnectInterrupt(&S.ia, LowIsr, low_ctx, NULL, LOW_LINE, 5, 5, Latched, FALSE, 0x1,
                                 FALSE);
    S.st[1] = IoConnectInterrupt(&S.ib, HighIsr, high_ctx, NULL, HIGH_LINE, 8, 8, Latched, FALSE,
                                 0x1, FALSE);
    kdpc_line_assert(m, low_first ? LOW_LINE : HIGH_LINE);
    for (int i = 0; i < MAX_POLL && S.nlog < 4; i++)
        KeStallExecutionProcessor(1);
    IoDisconnectInterrupt(S.ia);
    IoDisconnectInterrupt(S.ib);
}

static void test_higher_dirql_interrupt_preempts_running_lower_isr(void **state)
{
    (void)state;
    reset();
    BOOLEAN low_first = TRUE;
    kdpc_machine *m = machine_nodelay(1, 12);
    assert_int_equal(kdpc_machine_run(m, nesting_entry, &low_first), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.st[1], STATUS_SUCCESS);
    assert_string_equal(S.log, "lhHL"); /* 3.3: the DIRQL 8 ISR nests inside the DIRQL 5 one */
    assert_int_equal(S.irqls[0], 5);
    assert_int_equal(S.irqls[2], 8);
    assert_int_equal(S.irqls[1], 5); /* back at 5 when the nested ISR returned */
    kdpc_machine_destroy(m);
}

static void test_lower_dirql_interrupt_waits_for_running_higher_isr(void **state)
{
    (void)state;
    reset();
    BOOLEAN low_first = FALSE;
    kdpc_machine *m = machine_nodelay(1, 13);
    assert_int_equal(kdpc_machine_run(m, nesting_entry, &low_first), KDPC_OK);
    assert_string_equal(S.log, "hHlL"); /* 1.5: DIRQL 8 masks the DIRQL 5 line */
    assert_int_equal(S.irqls[2], 8);
    assert_int_equal(S.irqls[0], 5);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Shared lines (3.6)                                                  */

static void shared_level_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    /* both ISRs claim and clear the device: whichever is called first ends the delivery */
    S.a.line = 30;
    S.b.line = 30;
    S.a.deassert_at = 1;
    S.b.deassert_at = 1;
    S.st[0] =
        IoConnectInterrupt(&S.ia, IsrA, &S.a, NULL, 30, 5, 5, LevelSensitive, TRUE, 0x1, FALSE);
    S.st[1] =
        IoConnectInterrupt(&S.ib, IsrB, &S.b, NULL, 30, 5, 5, LevelSensitive, TRUE, 0x1, FALSE);
    kdpc_line_assert(m, 30);
    for (int i = 0; i < MAX_POLL && kdpc_line_pending(m, 30); i++)
        KeStallExecutionProcessor(1);
    stall_points(30);
    S.observed[0] = S.a.calls + S.b.calls;
    IoDisconnectInterrupt(S.ia);
    IoDisconnectInterrupt(S.ib);
}

static void test_shared_level_chain_stops_at_first_isr_that_claims(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        reset();
        kdpc_machine *m = kt_machine(1, seed);
        assert_int_equal(kdpc_machine_run(m, shared_level_entry, NULL), KDPC_OK);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_int_equal(S.st[1], STATUS_SUCCESS);
        /* 3.6: one ISR claimed; the other one was not called in that delivery */
        assert_int_equal(S.observed[0], 1);
        assert_true(S.a.calls == 0 || S.b.calls == 0);
        kdpc_machine_destroy(m);
    }
}

static void shared_latched_entry(void *ctx)
{
    const LONG *true_calls = ctx;
    kdpc_machine *m = kdpc_current_machine();
    S.a.true_calls = true_calls[0];
    S.b.true_calls = true_calls[1];
    S.st[0] = IoConnectInterrupt(&S.ia, IsrA, &S.a, NULL, 31, 5, 5, Latched, TRUE, 0x1, FALSE);
    S.st[1] = IoConnectInterrupt(&S.ib, IsrB, &S.b, NULL, 31, 5, 5, Latched, TRUE, 0x1, FALSE);
    kdpc_line_assert(m, 31); /* one edge */
    for (int i = 0; i < MAX_POLL && S.a.calls == 0; i++)
        KeStallExecutionProcessor(1);
    stall_points(50);
    IoDisconnectInterrupt(S.ia);
    IoDisconnectInterrupt(S.ib);
}

static void test_shared_latched_chain_passes_until_a_pass_with_no_claim(void **state)
{
    (void)state;
    /* {A returns TRUE for n calls, B for m calls} -> expected calls of each for one edge
     * (src/ke/interrupt.c: passes repeat until a whole pass in which no ISR claimed) */
    const LONG cases[4][3] = {
        {0, 0, 1}, /* nobody claims: one pass */
        {1, 0, 2}, /* A claims once: a second pass to make sure, both called twice */
        {2, 0, 3}, /* A claims twice: three passes */
        {1, 1, 2}, /* both claim in the first pass */
    };
    for (int k = 0; k < 4; k++) {
        reset();
        kdpc_machine *m = kt_machine(1, 14);
        assert_int_equal(kdpc_machine_run(m, shared_latched_entry, (void *)(uintptr_t)cases[k]),
                         KDPC_OK);
        assert_int_equal(S.st[0], STATUS_SUCCESS);
        assert_int_equal(S.st[1], STATUS_SUCCESS);
        assert_int_equal(S.a.calls, cases[k][2]);
        assert_int_equal(S.b.calls, cases[k][2]);
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* KeSynchronizeExecution (3.9) and the interrupt spin lock (3.10)      */

typedef struct sync_probe {
    BOOLEAN ret;
    KIRQL irql;
    BOOLEAN lock_free;
    PVOID self;
    LONG calls;
} sync_probe;

static BOOLEAN SyncProbe(PVOID Context)
{
    sync_probe *p = Context;
    p->irql = KeGetCurrentIrql();
    p->lock_free = KeTestSpinLock(&S.lock);
    p->self = Context;
    p->calls++;
    return p->ret;
}

static void sync_value_entry(void *ctx)
{
    (void)ctx;
    S.st[0] = connect_a(32, 5, 7, Latched, FALSE, 0x1);
    if (S.st[0] != STATUS_SUCCESS)
        return;
    BOOLEAN values[4] = {2, 0, 1, 0xFF};
    for (int k = 0; k < 4; k++) {
        sync_probe p = {values[k], 0, 0, NULL, 0};
        S.observed[k] = KeSynchronizeExecution(S.ia, SyncProbe, &p);
        S.observed[4 + k] = p.calls;
        S.flags[k] = p.self == &p;
    }
    IoDisconnectInterrupt(S.ia);
}

static void test_synchronize_execution_returns_routine_value_unchanged(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 15);
    assert_int_equal(kdpc_machine_run(m, sync_value_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    assert_int_equal(S.observed[0], 2); /* 3.9 [KMT]: 2 comes back as 2 */
    assert_int_equal(S.observed[1], FALSE);
    assert_int_equal(S.observed[2], TRUE);
    assert_int_equal(S.observed[3], 0xFF);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(S.observed[4 + k], 1); /* called exactly once */
        assert_true(S.flags[k]);                /* with the context given */
    }
    kdpc_machine_destroy(m);
}

static void sync_irql_entry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&S.lock);
    S.st[0] = IoConnectInterrupt(&S.ia, IsrA, &S.a, &S.lock, 33, 5, 7, Latched, FALSE, 0x1, FALSE);
    if (S.st[0] != STATUS_SUCCESS)
        return;
    KIRQL levels[4] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL, 7};
    for (int k = 0; k < 4; k++) {
        KIRQL old;
        KeRaiseIrql(levels[k], &old);
        sync_probe p = {TRUE, 0, 0, NULL, 0};
        S.flags[k] = KeTestSpinLock(&S.lock);
        KeSynchronizeExecution(S.ia, SyncProbe, &p);
        S.irqls[k] = p.irql;
        S.flags[4 + k] = p.lock_free;
        S.irqls[4 + k] = KeGetCurrentIrql();
        S.flags[8 + k] = KeTestSpinLock(&S.lock);
        KeLowerIrql(old);
    }
    IoDisconnectInterrupt(S.ia);
}

static void test_synchronize_execution_runs_at_synchronize_irql_holding_the_lock(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 16);
    assert_int_equal(kdpc_machine_run(m, sync_irql_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    KIRQL levels[4] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL, 7};
    for (int k = 0; k < 4; k++) {
        assert_true(S.flags[k]);                     /* free before */
        assert_int_equal(S.irqls[k], 7);             /* 3.9: SynchronizeIrql inside */
        assert_false(S.flags[4 + k]);                /* 3.9: the interrupt lock is held inside */
        assert_int_equal(S.irqls[4 + k], levels[k]); /* caller's IRQL restored */
        assert_true(S.flags[8 + k]);                 /* free after */
    }
    assert_null(kdpc_machine_bugcheck(m)); /* equal to SynchronizeIrql is allowed */
    kdpc_machine_destroy(m);
}

static void acquire_interrupt_lock_entry(void *ctx)
{
    (void)ctx;
    KeInitializeSpinLock(&S.lock);
    S.st[0] = IoConnectInterrupt(&S.ia, IsrA, &S.a, &S.lock, 34, 5, 8, Latched, FALSE, 0x1, FALSE);
    if (S.st[0] != STATUS_SUCCESS)
        return;
    KIRQL levels[3] = {PASSIVE_LEVEL, DISPATCH_LEVEL, 8};
    for (int k = 0; k < 3; k++) {
        KIRQL old;
        KeRaiseIrql(levels[k], &old);
        KIRQL entry = KeAcquireInterruptSpinLock(S.ia);
        S.observed[k] = entry;
        S.irqls[k] = KeGetCurrentIrql();
        S.flags[k] = KeTestSpinLock(&S.lock);
        KeReleaseInterruptSpinLock(S.ia, entry);
        S.irqls[4 + k] = KeGetCurrentIrql();
        S.flags[4 + k] = KeTestSpinLock(&S.lock);
        KeLowerIrql(old);
    }
    IoDisconnectInterrupt(S.ia);
}

static void test_acquire_interrupt_spin_lock_returns_entry_irql_and_release_restores(void **state)
{
    (void)state;
    reset();
    kdpc_machine *m = kt_machine(1, 17);
    assert_int_equal(kdpc_machine_run(m, acquire_interrupt_lock_entry, NULL), KDPC_OK);
    assert_int_equal(S.st[0], STATUS_SUCCESS);
    KIRQL levels[3] = {PASSIVE_LEVEL, DISPATCH_LEVEL, 8};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(S.observed[k], levels[k]);  /* 3.10: returns the entry IRQL */
        assert_int_equal(S.irqls[k], 8);             /* raised to SynchronizeIrql */
        assert_false(S.flags[k]);                    /* lock held */
        assert_int_equal(S.irqls[4 + k], levels[k]); /* release lowers to OldIrql */
        assert_true(S.flags[4 + k]);                 /* and frees the lock */
    }
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_valid_parameters_returns_success),
        cmocka_unit_test(test_connect_invalid_parameters_returns_invalid_parameter),
        cmocka_unit_test(test_connect_second_object_needs_share_vector_on_both_and_same_mode),
        cmocka_unit_test(test_connect_ex_fully_specified_works_like_io_connect_interrupt),
        cmocka_unit_test(test_connect_ex_versions_line_message_unknown_and_group),
        cmocka_unit_test(test_disconnect_stops_delivery),
        cmocka_unit_test(test_isr_runs_at_synchronize_irql_not_irql),
        cmocka_unit_test(test_isr_holds_the_interrupt_spin_lock),
        cmocka_unit_test(test_isr_and_synch_crit_section_exclude_each_other_across_cpus),
        cmocka_unit_test(test_isr_on_other_cpu_waits_for_held_interrupt_spin_lock),
        cmocka_unit_test(test_isr_runs_only_on_cpus_in_processor_enable_mask),
        cmocka_unit_test(test_interrupt_not_taken_while_cpu_irql_at_or_above_line_irql),
        cmocka_unit_test(test_isr_runs_when_connected_to_an_already_asserted_line),
        cmocka_unit_test(test_latched_two_asserts_before_delivery_give_one_isr_call),
        cmocka_unit_test(test_level_sensitive_isr_called_until_it_deasserts),
        cmocka_unit_test(test_dpc_requested_by_isr_runs_after_it_at_dispatch_on_same_cpu),
        cmocka_unit_test(test_higher_dirql_interrupt_preempts_running_lower_isr),
        cmocka_unit_test(test_lower_dirql_interrupt_waits_for_running_higher_isr),
        cmocka_unit_test(test_shared_level_chain_stops_at_first_isr_that_claims),
        cmocka_unit_test(test_shared_latched_chain_passes_until_a_pass_with_no_claim),
        cmocka_unit_test(test_synchronize_execution_returns_routine_value_unchanged),
        cmocka_unit_test(test_synchronize_execution_runs_at_synchronize_irql_holding_the_lock),
        cmocka_unit_test(test_acquire_interrupt_spin_lock_returns_entry_irql_and_release_restores),
    };
    return cmocka_run_group_tests_name("interrupt", tests, NULL, NULL);
}
