/* SPDX-License-Identifier: MIT */
/*
 * misc.c - processor queries, virtual time, KeStallExecutionProcessor,
 * KeBugCheckEx and ASSERT failures (DbgPrint: rtl/dbgprint.c).
 *
 * Time: one virtual clock per machine, advanced only by charged costs (a
 * configurable cost per kernel call, stalls, device latencies).
 * Divergence: the CPUs share that clock, so time charged on one CPU is not
 * overlapped with time on another; durations of routines (DPC, ISR, lock
 * hold, watchdog) are measured from the time charged on their own CPU.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ke/ke.h"

ULONG kdpc_KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    ULONG n = c != NULL ? c->index : 0;
    if (ProcNumber != NULL) {
        ProcNumber->Group = 0;
        ProcNumber->Number = (UCHAR)n;
        ProcNumber->Reserved = 0;
    }
    return n;
}

ULONG kdpc_KeQueryActiveProcessorCountEx(USHORT GroupNumber)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || (GroupNumber != 0 && GroupNumber != ALL_PROCESSOR_GROUPS))
        return 0;
    return t->m->ncpu;
}

KAFFINITY kdpc_KeQueryActiveProcessors(void)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL)
        return 0;
    return t->m->ncpu >= 64 ? ~(KAFFINITY)0 : (((KAFFINITY)1 << t->m->ncpu) - 1u);
}

void kdpc_KeStallExecutionProcessor(ULONG MicroSeconds)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeStallExecutionProcessor", &c);
    if (m == NULL)
        return;
    kdpc__charge(m, c, (uint64_t)MicroSeconds * 1000u);
    kdpc__trace(m, KDPC_EV_STALL, c, NULL, NULL, MicroSeconds);
    bool in_dpc = kdpc__kecpu_of(c)->dpc_active;
    uint64_t limit = in_dpc ? m->cfg.dpc_stall_limit_us : m->cfg.stall_limit_us;
    if (MicroSeconds > limit)
        kdpc__violation(m, KDPC_R_DPC_STALL_TOO_LONG, 0, MicroSeconds, limit, 0, 0, NULL,
                        "KeStallExecutionProcessor(%lu) %s: the guideline is at most %llu us",
                        (unsigned long)MicroSeconds, in_dpc ? "inside a DPC" : "outside a DPC",
                        (unsigned long long)limit);
    kdpc__ke_point(m);
}

ULONGLONG kdpc_KeQueryInterruptTime(void)
{
    kdpc__thread *t = kdpc__self();
    return t != NULL ? t->m->now_ns / 100u : 0;
}

LARGE_INTEGER kdpc_KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
    LARGE_INTEGER r;
    kdpc__thread *t = kdpc__self();
    if (PerformanceFrequency != NULL)
        PerformanceFrequency->QuadPart = 10000000;
    r.QuadPart = t != NULL ? (LONGLONG)(t->m->now_ns / 100u) : 0;
    return r;
}

void kdpc_KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->cpu == NULL) {
        fprintf(stderr, "kdpc: KeBugCheckEx(0x%lx) called outside a simulated CPU; aborting\n",
                (unsigned long)BugCheckCode);
        abort();
    }
    kdpc__bugcheck_forced(t->m, BugCheckCode, P1, P2, P3, P4,
                          "the driver called KeBugCheckEx(0x%lX)", (unsigned long)BugCheckCode);
}

/* Bug check 0x1E parameter 1: the exception code, zero-extended as Windows reports it. */
#define KDPC__ASSERTION_FAILURE_P1 ((ULONG_PTR)(ULONG)STATUS_ASSERTION_FAILURE)

void kdpc_assert_failed(const char *Expression, const char *File, int Line)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->cpu == NULL) {
        fprintf(stderr, "kdpc: ASSERT(%s) failed at %s:%d outside a simulated CPU; aborting\n",
                Expression, File, Line);
        abort();
    }
    kdpc__bugcheck_forced(t->m, 0x1E, KDPC__ASSERTION_FAILURE_P1, 0, 0, 0,
                          "ASSERT(%s) failed at %s:%d", Expression, File, Line);
}

void kdpc_assert_failed_msg(const char *Message, const char *Expression, const char *File, int Line)
{
    if (Message == NULL)
        Message = "(null)";
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->cpu == NULL) {
        fprintf(stderr,
                "kdpc: ASSERTMSG(\"%s\", %s) failed at %s:%d outside a simulated CPU; aborting\n",
                Message, Expression, File, Line);
        abort();
    }
    kdpc__bugcheck_forced(t->m, 0x1E, KDPC__ASSERTION_FAILURE_P1, 0, 0, 0,
                          "ASSERTMSG(\"%s\", %s) failed at %s:%d", Message, Expression, File, Line);
}
