/* SPDX-License-Identifier: MIT */
/*
 * test_reports.c - readable reports: a static routine named without
 * KDPC_NAME, locks named by kdpc_name_object, by their KeInitializeSpinLock
 * call site or by their symbol, in violation messages and deadlock reports;
 * the trace dump with names; each rule with its own text; repeated warnings
 * printed once in full and then counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NSEEDS 64

/* Built with elfutils' libdw (KDPC_WITH_LIBDW): static functions and variables are named from
 * the symbol table and code has file:line. Without it (dladdr) those checks are skipped. */
#if defined(KDPC_TEST_HAVE_LIBDW)
#define HAVE_LIBDW    1
#define NEEDS_LIBDW() ((void)0)
#else
#define HAVE_LIBDW    0
#define NEEDS_LIBDW() skip()
#endif

/* A machine whose reports go to a temporary file, read back with slurp(). */
static kdpc_machine *logged_machine(unsigned cpus, uint64_t seed, FILE **log, size_t trace)
{
    kdpc_config cfg = kt_config(cpus, seed);
    cfg.seed = seed;
    *log = tmpfile();
    assert_non_null(*log);
    cfg.log = *log;
    cfg.trace_capacity = trace;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    return m;
}

/* Everything written to f so far, NUL-terminated; free() it. */
static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    assert_true(n >= 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    rewind(f);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fseek(f, 0, SEEK_END);
    return s;
}

static unsigned count_of(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Routines named from the symbol table                                */

static KDPC dpc;

static void StaticUnnamedDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old); /* returns at HIGH_LEVEL: dpc.irql_changed */
}

static void queue_static_dpc(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&dpc, StaticUnnamedDpc, NULL);
    (void)KeInsertQueueDpc(&dpc, NULL, NULL);
}

static void test_static_routine_without_kdpc_name_is_named_by_its_identifier(void **state)
{
    (void)state;
    NEEDS_LIBDW();
    FILE *log;
    kdpc_machine *m = logged_machine(1, 1, &log, 0);
    kdpc_status st = kdpc_machine_run(m, queue_static_dpc, NULL);
    KT_ASSERT_BUGCHECK(m, st, "dpc.irql_changed", 0xC8);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    assert_string_equal(bc->routine, "StaticUnnamedDpc");
    char *text = slurp(log);
    assert_non_null(strstr(text, "  routine:   StaticUnnamedDpc\n"));
    assert_non_null(strstr(text, "  docs:      docs/rules.md#dpc.irql_changed "));
    free(text);
    kdpc_machine_destroy(m);
    fclose(log);
}

/* ------------------------------------------------------------------ */
/* Locks by name                                                       */

typedef struct locks {
    KSPIN_LOCK named;
    KSPIN_LOCK by_site;
} locks;

static locks L;
static KSPIN_LOCK StaticNeverInitialised;

static void take_twice(PKSPIN_LOCK l)
{
    KIRQL old;
    KeAcquireSpinLock(l, &old);
    KeAcquireSpinLockAtDpcLevel(l); /* spinlock.recursive */
}

/* noinline: optimised builds would fold it into its caller, the call site's function */
static __attribute__((noinline)) void init_by_site(void)
{
    KeInitializeSpinLock(&L.by_site); /* the call site that names it */
}

static void recursive_named(void *ctx)
{
    KeInitializeSpinLock(&L.named);
    assert_int_equal(kdpc_name_object(ctx, &L.named, "RxQueueLock"), KDPC_OK);
    take_twice(&L.named);
}

static void recursive_by_site(void *ctx)
{
    (void)ctx;
    init_by_site();
    take_twice(&L.by_site);
}

static void recursive_static(void *ctx)
{
    (void)ctx;
    take_twice(&StaticNeverInitialised);
}

static const char *recursive_message(kdpc_entry_fn *entry)
{
    static char msg[1024];
    FILE *log;
    kdpc_machine *m = logged_machine(1, 1, &log, 0);
    kdpc_status st = kdpc_machine_run(m, entry, m);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.recursive", 0xC4);
    snprintf(msg, sizeof(msg), "%s", kdpc_machine_bugcheck(m)->message);
    char *text = slurp(log);
    assert_non_null(strstr(text, msg)); /* the printed what: line is the same text */
    free(text);
    kdpc_machine_destroy(m);
    fclose(log);
    return msg;
}

static void test_lock_named_by_kdpc_name_object_in_the_message(void **state)
{
    (void)state;
    const char *msg = recursive_message(recursive_named);
    assert_non_null(strstr(msg, " (RxQueueLock)"));
}

static void test_unnamed_lock_named_by_its_initialising_call_site(void **state)
{
    (void)state;
    NEEDS_LIBDW();
    const char *msg = recursive_message(recursive_by_site);
    assert_non_null(strstr(msg, "(spin lock initialised in init_by_site+0x"));
    assert_non_null(strstr(msg, "test_reports.c:"));
}

static void test_static_lock_named_by_its_symbol(void **state)
{
    (void)state;
    NEEDS_LIBDW();
    const char *msg = recursive_message(recursive_static);
    assert_non_null(strstr(msg, " (StaticNeverInitialised)"));
}

static void test_name_object_arguments(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(kdpc_name_object(NULL, &L, "x"), KDPC_EINVAL);
    assert_int_equal(kdpc_name_object(m, NULL, "x"), KDPC_EINVAL);
    assert_int_equal(kdpc_name_object(m, &L, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_name_object(m, &L, "first"), KDPC_OK);
    assert_int_equal(KDPC_NAME_OBJECT(m, &L), KDPC_OK); /* renamed: the old name is freed */
    kdpc_machine_destroy(m);
}

/* Two locks in opposite orders on two CPUs, with the order rule off: a deadlock. */
typedef struct abba {
    KSPIN_LOCK a, b;
} abba;

static void take_two(int who, PKSPIN_LOCK first, PKSPIN_LOCK second)
{
    KeSetSystemAffinityThreadEx((KAFFINITY)1 << who);
    KIRQL old;
    KeAcquireSpinLock(first, &old);
    KeStallExecutionProcessor(1);
    KeStallExecutionProcessor(1);
    KeAcquireSpinLockAtDpcLevel(second);
    KeReleaseSpinLockFromDpcLevel(second);
    KeReleaseSpinLock(first, old);
}

static abba S;

static void abba_thread(PVOID ctx)
{
    (void)ctx;
    take_two(1, &S.b, &S.a);
}

static void abba_entry(void *ctx)
{
    KeInitializeSpinLock(&S.a);
    KeInitializeSpinLock(&S.b);
    assert_int_equal(kdpc_name_object(ctx, &S.a, "LockA"), KDPC_OK);
    assert_int_equal(kdpc_name_object(ctx, &S.b, "LockB"), KDPC_OK);
    HANDLE h;
    if (NT_SUCCESS(
            PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, abba_thread, NULL)))
        ZwClose(h);
    take_two(0, &S.a, &S.b);
}

static void test_deadlock_report_names_the_locks(void **state)
{
    (void)state;
    bool found = false;
    for (uint64_t seed = 0; seed < NSEEDS && !found; seed++) {
        FILE *log;
        kdpc_machine *m = logged_machine(2, seed, &log, 0);
        assert_int_equal(kdpc_rule_set(m, "spinlock.order", KDPC_RULE_OFF), KDPC_OK);
        if (kdpc_machine_run(m, abba_entry, m) == KDPC_DEADLOCK) {
            found = true;
            const char *r = kdpc_machine_deadlock_report(m);
            assert_non_null(r);
            assert_non_null(strstr(r, "(LockA)"));
            assert_non_null(strstr(r, "(LockB)"));
            assert_non_null(strstr(r, "spins on "));
            char *text = slurp(log);
            assert_non_null(strstr(text, "(LockA)"));
            free(text);
        }
        kdpc_machine_destroy(m);
        fclose(log);
    }
    assert_true(found);
}

/* ------------------------------------------------------------------ */
/* The trace dump                                                      */

static KSPIN_LOCK dump_lock;

static void NamedDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    KeAcquireSpinLockAtDpcLevel(&dump_lock);
    KeReleaseSpinLockFromDpcLevel(&dump_lock);
}

static void UnnamedStaticDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    NamedDpc(d, ctx, a1, a2);
}

static KDPC dump_dpc, dump_dpc2;

static void dump_entry(void *ctx)
{
    KeInitializeSpinLock(&dump_lock);
    assert_int_equal(kdpc_name_object(ctx, &dump_dpc, "RxDpcObject"), KDPC_OK);
    KeInitializeDpc(&dump_dpc, NamedDpc, NULL);
    KeInitializeDpc(&dump_dpc2, UnnamedStaticDpc, NULL);
    (void)KeInsertQueueDpc(&dump_dpc, NULL, NULL);
    (void)KeInsertQueueDpc(&dump_dpc2, NULL, NULL);
}

static void test_trace_dump_prints_names(void **state)
{
    (void)state;
    FILE *log;
    kdpc_machine *m = logged_machine(1, 1, &log, 256);
    assert_int_equal(kdpc_name_routine(m, (kdpc_routine_ptr)NamedDpc, "MyNamedDpc"), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, dump_entry, m), KDPC_OK);
    FILE *out = tmpfile();
    assert_non_null(out);
    assert_int_equal(kdpc_trace_dump(m, out), KDPC_OK);
    char *text = slurp(out);
    assert_non_null(strstr(text, "dpc-begin"));
    assert_non_null(strstr(text, "routine=MyNamedDpc")); /* KDPC_NAME */
    if (HAVE_LIBDW)
        assert_non_null(strstr(text, "routine=UnnamedStaticDpc")); /* symbol table */
    assert_non_null(strstr(text, " RxDpcObject routine="));        /* kdpc_name_object */
    assert_non_null(strstr(text, "obj=#"));                        /* numbered objects */
    if (HAVE_LIBDW)
        assert_non_null(strstr(text, "spin lock initialised in dump_entry+0x"));
    assert_null(strstr(text, "obj=0x"));
    free(text);
    fclose(out);
    kdpc_machine_destroy(m);
    fclose(log);
}

/* ------------------------------------------------------------------ */
/* Each rule's own text                                                */

static void test_every_rule_has_its_own_text_with_its_guideline_number(void **state)
{
    (void)state;
    size_t n = kdpc_rule_count();
    assert_true(n > 40);
    for (size_t i = 0; i < n; i++) {
        const char *text = NULL;
        const char *id = kdpc_rule_info(i, &text);
        assert_non_null(id);
        assert_non_null(text);
        const char *g = kdpc_rule_guideline(i);
        assert_non_null(g);
        /* the same guideline number ("G8:" or "kdpc:" / "the driver...") leads both */
        const char *colon = strchr(text, ':');
        assert_non_null(colon);
        if (text[0] == 'G')
            assert_memory_equal(text, g, (size_t)(colon - text) + 1);
        for (size_t k = 0; k < i; k++) {
            const char *other = NULL;
            (void)kdpc_rule_info(k, &other);
            if (strcmp(text, other) == 0)
                fail_msg("rules %s and %s share one text: give the new one its own line in "
                         "src/verifier/rules.c rule_texts",
                         id, kdpc_rule_info(k, NULL));
        }
    }
    assert_null(kdpc_rule_info(n, NULL));
    assert_null(kdpc_rule_guideline(n));
}

static void test_unload_pending_does_not_print_the_dpc_duration_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < kdpc_rule_count(); i++) {
        const char *text = NULL;
        if (strcmp(kdpc_rule_info(i, &text), "unload.pending") != 0)
            continue;
        assert_non_null(strstr(text, "unload"));
        assert_null(strstr(text, "100 us"));
        assert_string_not_equal(text, kdpc_rule_guideline(i));
        return;
    }
    fail_msg("no unload.pending");
}

/* ------------------------------------------------------------------ */
/* Repeated warnings                                                   */

#define REPEATS 40

static KDPC slow_dpc;

static void SlowDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    KeStallExecutionProcessor(60); /* two stalls under the stall limit, */
    KeStallExecutionProcessor(60); /* together over 100 us: dpc.too_long */
}

static void slow_entry(void *ctx)
{
    (void)ctx;
    KeInitializeDpc(&slow_dpc, SlowDpc, NULL);
    for (int i = 0; i < REPEATS; i++)
        (void)KeInsertQueueDpc(&slow_dpc, NULL, NULL); /* runs at once: inserted at PASSIVE */
}

static void test_repeated_warning_printed_once_then_counted(void **state)
{
    (void)state;
    FILE *log;
    kdpc_machine *m = logged_machine(1, 1, &log, 0);
    assert_int_equal(KDPC_NAME(m, SlowDpc), KDPC_OK); /* named without libdw too */
    assert_int_equal(kdpc_machine_run(m, slow_entry, NULL), KDPC_OK);
    /* every occurrence is recorded */
    size_t n = 0;
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++) {
        const kdpc_violation *v = kdpc_machine_violation(m, i);
        assert_string_equal(v->rule, "dpc.too_long");
        assert_string_equal(v->routine, "SlowDpc");
        n++;
    }
    assert_int_equal(n, REPEATS);
    char *text = slurp(log);
    assert_int_equal(count_of(text, "KDPC WARNING dpc.too_long\n"), 1); /* one full report */
    assert_int_equal(count_of(text, "  rule:      dpc.too_long\n"), 1);
    free(text);
    kdpc_machine_destroy(m); /* the summary comes at the end of the run, or at the latest here */
    text = slurp(log);
    assert_int_equal(count_of(text, "KDPC WARNING dpc.too_long in SlowDpc: 39 more times\n"), 1);
    assert_int_equal(count_of(text, "KDPC WARNING"), 2);
    free(text);
    fclose(log);
}

/* ------------------------------------------------------------------ */
/* One context per report                                              */

#define CTX_LINE  5
#define CTX_DIRQL 5
#define CTX_LOOPS 30

typedef struct ctx_state {
    kdpc_machine *m;
    volatile ULONG *regs;
    PKINTERRUPT intr;
    KEVENT done;
    volatile LONG stop;
} ctx_state;

static ctx_state C;

static BOOLEAN CtxIsr(PKINTERRUPT i, PVOID ctx)
{
    (void)i;
    (void)ctx;
    C.regs[0]++;
    KeStallExecutionProcessor(3); /* holds the interrupt lock a while */
    return TRUE;
}

static BOOLEAN CtxSync(PVOID ctx)
{
    (void)ctx;
    C.regs[2]++;
    return TRUE;
}

/* On CPU 1 at PASSIVE_LEVEL: an unsynchronized read, then a synchronized call that may spin
 * on the interrupt lock while CPU 0 runs the ISR (where the read could be reported from). */
static void ctx_thread(PVOID p)
{
    (void)p;
    KeSetSystemAffinityThreadEx(2);
    for (int k = 0; k < CTX_LOOPS; k++) {
        ULONG x = C.regs[1];
        (void)x;
        (void)KeSynchronizeExecution(C.intr, CtxSync, NULL);
    }
    (void)KeSetEvent(&C.done, IO_NO_INCREMENT, FALSE);
}

static void ctx_entry(void *p)
{
    (void)p;
    KeSetSystemAffinityThreadEx(1);
    KeInitializeEvent(&C.done, NotificationEvent, FALSE);
    if (!NT_SUCCESS(IoConnectInterrupt(&C.intr, CtxIsr, NULL, NULL, CTX_LINE, CTX_DIRQL, CTX_DIRQL,
                                       Latched, FALSE, 1, FALSE)))
        return;
    if (kdpc_shared_bind_interrupt(C.m, (void *)(uintptr_t)C.regs, C.intr) != KDPC_OK)
        return;
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, ctx_thread, NULL)))
        ZwClose(h);
    for (int k = 0; k < CTX_LOOPS; k++) {
        (void)kdpc_line_assert(C.m, CTX_LINE);
        KeStallExecutionProcessor(2);
    }
    (void)KeWaitForSingleObject(&C.done, Executive, KernelMode, FALSE, NULL);
    IoDisconnectInterrupt(C.intr);
}

/* The CPU and IRQL a sync.isr_unsynchronized message names are the where: of the report. */
static void test_report_where_is_the_context_that_broke_the_rule(void **state)
{
    (void)state;
    unsigned checked = 0;
    for (uint64_t seed = 0; seed < 16; seed++) {
        kdpc_machine *m = kt_machine(2, seed);
        memset(&C, 0, sizeof(C));
        C.m = m;
        C.regs = kdpc_shared_alloc(m, 64);
        assert_non_null(C.regs);
        kdpc_status st = kdpc_machine_run(m, ctx_entry, NULL);
        assert_true(st == KDPC_OK);
        for (size_t i = 0; i < kdpc_machine_violation_count(m); i++) {
            const kdpc_violation *v = kdpc_machine_violation(m, i);
            if (strcmp(v->rule, "sync.isr_unsynchronized") != 0)
                continue;
            unsigned cpu = 99, irql = 99;
            assert_int_equal(sscanf(v->message, "CPU %u at IRQL %u", &cpu, &irql), 2);
            assert_int_equal(cpu, 1);
            assert_int_equal(irql, 0);
            assert_int_equal(v->cpu, cpu);
            assert_int_equal(v->irql, irql);
            if (HAVE_LIBDW)
                assert_string_equal(v->routine, "ctx_thread");
            checked++;
        }
        kdpc_machine_destroy(m);
    }
    assert_true(checked > 0);
}

/* ------------------------------------------------------------------ */
/* Code addresses with file:line                                       */

static volatile UCHAR *paged;
static KDPC touch_dpc;

static void TouchPagedDpc(PKDPC d, PVOID ctx, PVOID a1, PVOID a2)
{
    (void)d;
    (void)ctx;
    (void)a1;
    (void)a2;
    paged[7] = 1;                 /* pageable memory at DISPATCH_LEVEL */
    KeStallExecutionProcessor(1); /* reported at this interleaving point */
}

static void touch_entry(void *ctx)
{
    (void)ctx;
    paged = ExAllocatePoolWithTag(PagedPool, 64, 'tseT');
    KeInitializeDpc(&touch_dpc, TouchPagedDpc, NULL);
    (void)KeInsertQueueDpc(&touch_dpc, NULL, NULL);
}

static void test_instruction_of_a_paged_touch_has_function_and_line(void **state)
{
    (void)state;
    NEEDS_LIBDW();
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_status st = kdpc_machine_run(m, touch_entry, NULL);
    KT_ASSERT_BUGCHECK(m, st, "mem.paged_touch", 0xD1);
    const char *msg = kdpc_machine_bugcheck(m)->message;
    assert_non_null(strstr(msg, "(TouchPagedDpc+0x"));
    assert_non_null(strstr(msg, "test_reports.c:"));
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_routine_without_kdpc_name_is_named_by_its_identifier),
        cmocka_unit_test(test_lock_named_by_kdpc_name_object_in_the_message),
        cmocka_unit_test(test_unnamed_lock_named_by_its_initialising_call_site),
        cmocka_unit_test(test_static_lock_named_by_its_symbol),
        cmocka_unit_test(test_name_object_arguments),
        cmocka_unit_test(test_deadlock_report_names_the_locks),
        cmocka_unit_test(test_trace_dump_prints_names),
        cmocka_unit_test(test_every_rule_has_its_own_text_with_its_guideline_number),
        cmocka_unit_test(test_unload_pending_does_not_print_the_dpc_duration_text),
        cmocka_unit_test(test_repeated_warning_printed_once_then_counted),
        cmocka_unit_test(test_report_where_is_the_context_that_broke_the_rule),
        cmocka_unit_test(test_instruction_of_a_paged_touch_has_function_and_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
