/* SPDX-License-Identifier: MIT */
/*
 * crash.c - a crash of driver code inside simulated code (a fault, an
 * arithmetic trap, an illegal instruction, abort(), a stack overflow) as the
 * bug check Windows raises for it (rule ke.crash, which no switch turns off).
 *
 * The machine layer contains the crash: the signal handler, on the thread's
 * alternate stack, jumps back to the simulated thread's base, and this hook
 * runs there with the machine state as it was at the crash (the CPU, its
 * IRQL, the DPC or ISR that was running).
 *
 * Which bug check (facts from Microsoft's bug check reference):
 *  - stack overflow (a touch of the guard pages below the thread's stack):
 *    0x7F UNEXPECTED_KERNEL_MODE_TRAP, P1 = 8 (double fault), as a kernel
 *    stack overflow is reported on x64;
 *  - abort(): 0x139 KERNEL_SECURITY_CHECK_FAILURE, P1 = 7
 *    (FAST_FAIL_FATAL_APP_EXIT, what abort() raises through __fastfail);
 *  - a general-protection fault (a non-canonical address such as 0xCCCC...,
 *    whose address the host does not report), at any IRQL: 0x1E with
 *    C0000005 and P4 = -1 in a DPC or ISR, 0x7E in a thread;
 *  - any other bad memory access:
 *      at DISPATCH_LEVEL or above: 0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL
 *        (address, IRQL, 0 read / 1 write / 8 execute, instruction);
 *      below it, an address in the lowest 64 KiB (a NULL dereference: user
 *        space on Windows, never mapped): the access violation
 *        exception C0000005 is not handled in a system thread:
 *        0x7E SYSTEM_THREAD_EXCEPTION_NOT_HANDLED (code, instruction, 0, 0);
 *      below it, any other address: 0x50 PAGE_FAULT_IN_NONPAGED_AREA
 *        (address, 0 read / 2 write / 10 execute, instruction, 0);
 *  - an arithmetic trap, illegal instruction or breakpoint: its exception
 *    code (C0000094 integer divide by zero, C0000095 integer overflow,
 *    C000008E/8F/90/91/93 floating point, C000001D illegal instruction,
 *    80000003 breakpoint) not handled: 0x7E in a thread, 0x1E
 *    KMODE_EXCEPTION_NOT_HANDLED (code, instruction, 0, 0) in a DPC or ISR.
 * Divergence: the report's exception record and context record parameters
 * are 0 (there is no such record in a user process).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include "ke/ke.h"

#define STATUS_ACCESS_VIOLATION_       0xC0000005u
#define STATUS_INTEGER_DIVIDE_BY_ZERO_ 0xC0000094u
#define STATUS_INTEGER_OVERFLOW_       0xC0000095u
#define STATUS_FLOAT_DIVIDE_BY_ZERO_   0xC000008Eu
#define STATUS_FLOAT_INEXACT_RESULT_   0xC000008Fu
#define STATUS_FLOAT_INVALID_OP_       0xC0000090u
#define STATUS_FLOAT_OVERFLOW_         0xC0000091u
#define STATUS_FLOAT_UNDERFLOW_        0xC0000093u
#define STATUS_ILLEGAL_INSTRUCTION_    0xC000001Du
#define STATUS_BREAKPOINT_             0x80000003u
#define FAST_FAIL_FATAL_APP_EXIT_      7u
#define NULL_PAGE_LIMIT                ((uintptr_t)64 << 10)

static uint32_t exception_code(const kdpc__crash *cr)
{
    switch (cr->sig) {
    case SIGFPE:
        switch (cr->code) {
        case FPE_INTDIV:
            return STATUS_INTEGER_DIVIDE_BY_ZERO_;
        case FPE_INTOVF:
            return STATUS_INTEGER_OVERFLOW_;
        case FPE_FLTDIV:
            return STATUS_FLOAT_DIVIDE_BY_ZERO_;
        case FPE_FLTOVF:
            return STATUS_FLOAT_OVERFLOW_;
        case FPE_FLTUND:
            return STATUS_FLOAT_UNDERFLOW_;
        case FPE_FLTRES:
            return STATUS_FLOAT_INEXACT_RESULT_;
        default:
            return STATUS_FLOAT_INVALID_OP_;
        }
    case SIGILL:
        return STATUS_ILLEGAL_INSTRUCTION_;
    case SIGTRAP:
        return STATUS_BREAKPOINT_;
    default:
        return STATUS_ACCESS_VIOLATION_;
    }
}

static const char *signal_words(const kdpc__crash *cr)
{
    switch (cr->sig) {
    case SIGFPE:
        return cr->code == FPE_INTDIV ? "integer division by zero" : "arithmetic trap";
    case SIGILL:
        return "illegal instruction";
    case SIGTRAP:
        return "breakpoint trap";
    case SIGBUS:
        return "bus error";
    default:
        return "bad memory access";
    }
}

void kdpc__ke_crash(kdpc_machine *m, kdpc__thread *t)
{
    const kdpc__crash *cr = &t->crash;
    kdpc__cpu *c = t->cpu;
    KIRQL irql = c != NULL ? c->irql : PASSIVE_LEVEL;
    /* In a DPC or ISR (a routine nested on this thread's stack) or at raised IRQL. */
    bool nested = c != NULL && (c->routine != NULL || c->in_hook != 0);
    char where[200];
    /* Not after abort(): the C library may have aborted with its allocator locked (a corrupted
     * heap), and the symbolizer allocates. */
    if (cr->sig == SIGABRT)
        snprintf(where, sizeof(where), "%#" PRIxPTR, cr->ip);
    else
        kdpc__symbol_describe(cr->ip, where, sizeof(where));
    const uint64_t ip = cr->ip;

    if (cr->sig == KDPC_HANG_SIGNAL) {
        /* The host-time watchdog: no interleaving point for cfg.host_hang_ms. In a DPC or ISR
         * this is what the DPC watchdog catches on Windows (0x133, P1 = 0: one routine ran too
         * long). Divergence: P2 and P3 are host milliseconds (time without a kernel call and
         * the allotment), not clock ticks. A thread below DISPATCH_LEVEL is not a bug check
         * on Windows (it is preempted): the run times out. */
        if (nested || irql >= DISPATCH_LEVEL)
            kdpc__violation(m, KDPC_R_DPC_WATCHDOG, 0x133, 0, m->cfg.host_hang_ms,
                            m->cfg.host_hang_ms, 0, NULL,
                            "the routine ran %u ms of host time without calling the kernel "
                            "(a loop that never ends, or a host blocking call - sleep, a host "
                            "mutex - that stops every simulated CPU), at %s",
                            m->cfg.host_hang_ms, where);
        snprintf(m->timeout_reason, sizeof(m->timeout_reason),
                 "%s ran %u ms of host time without calling the kernel (a loop that never "
                 "ends, or a host blocking call - sleep, a host mutex - that stops every "
                 "simulated CPU), at %s",
                 kdpc__routine_name(m, c != NULL && c->routine != NULL ? c->routine : t->routine),
                 m->cfg.host_hang_ms, where);
        kdpc__timeout_and_unwind(m);
    }
    if (cr->stack_overflow) {
        kdpc__bugcheck_rule(m, KDPC_R_KE_CRASH, 0x7F, 8, 0, 0, 0,
                            "stack overflow: the driver's code ran past the end of the thread's "
                            "stack (touched %#" PRIxPTR ", %zu KiB below the stack) at %s; a DPC "
                            "or ISR shares the stack of the thread it interrupted",
                            cr->addr, (size_t)KDPC_STACK_GUARD >> 10, where);
    }
    if (cr->sig == SIGABRT) {
        kdpc__bugcheck_rule(m, KDPC_R_KE_CRASH, 0x139, FAST_FAIL_FATAL_APP_EXIT_, 0, 0, 0,
                            "abort() called by the driver's code (a failed assert() or an "
                            "explicit abort): a fast fail in kernel mode");
    }
    uint32_t code = exception_code(cr);
    if (cr->sig == SIGSEGV || cr->sig == SIGBUS) {
        bool exec = cr->addr_known && cr->addr == cr->ip;
        const char *access = exec ? "execute" : cr->write ? "write" : "read";
        if (!cr->addr_known) {
            /* A general-protection fault: a non-canonical address (garbage such as 0xCCCC...
             * or a freed object's poison). Windows reports P4 = -1 for it in 0x1E. */
            kdpc__bugcheck_rule(
                m, KDPC_R_KE_CRASH, nested ? 0x1E : 0x7E, code, ip, 0, nested ? UINT64_MAX : 0,
                "general-protection fault at %s: the driver's code used a garbage pointer "
                "(a non-canonical address such as 0xCCCCCCCCCCCCCCCC)",
                where);
        }
        if (irql >= DISPATCH_LEVEL) {
            kdpc__bugcheck_rule(m, KDPC_R_KE_CRASH, 0xD1, cr->addr, irql,
                                exec        ? 8u
                                : cr->write ? 1u
                                            : 0u,
                                ip, "%s of %#" PRIxPTR " at IRQL %u at %s: %s", access, cr->addr,
                                (unsigned)irql, where,
                                cr->addr < NULL_PAGE_LIMIT ? "a NULL pointer dereference"
                                                           : "an invalid address");
        }
        if (cr->addr < NULL_PAGE_LIMIT) {
            kdpc__bugcheck_rule(m, KDPC_R_KE_CRASH, 0x7E, code, ip, 0, 0,
                                "NULL pointer dereference: %s of %#" PRIxPTR
                                " at %s (access violation C0000005 not handled)",
                                access, cr->addr, where);
        }
        kdpc__bugcheck_rule(m, KDPC_R_KE_CRASH, 0x50, cr->addr,
                            exec        ? 10u
                            : cr->write ? 2u
                                        : 0u,
                            ip, 0, "%s %s of %#" PRIxPTR " at %s: the address is not mapped",
                            signal_words(cr), access, cr->addr, where);
    }
    kdpc__bugcheck_rule(m, KDPC_R_KE_CRASH, nested ? 0x1E : 0x7E, code, ip, 0, 0,
                        "%s at %s (exception %#" PRIx32 " not handled)", signal_words(cr), where,
                        code);
}
