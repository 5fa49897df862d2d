/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/seh.h - structured exception handling as kdpc models it: __try / __except /
 * __finally / __leave, and ExRaiseStatus.
 *
 * gcc and clang have no SEH for C. In kdpc an exception is never caught: a routine that raises
 * (ExRaiseStatus, a kernel routine documented to raise) ends the run with bug check 0x1E
 * KMODE_EXCEPTION_NOT_HANDLED, P1 = the status, rule "ke.bugcheck", whether or not the code runs
 * inside a __try. So that driver code compiles unchanged, the keywords are macros:
 *
 * - `__try { A } __except (filter) { H }` runs A. The filter is compiled but never evaluated;
 *   H is compiled but never runs.
 * - `__try { A } __finally { F }` runs A, then F.
 * - `__leave` inside A ends A; the __finally block (if any) runs next.
 *
 * Divergence (docs/driver-code.md): there is no unwinding. `break` or `continue` written
 * directly in a __try block (not inside a loop or switch of its own) ends that block, as __leave
 * does, instead of acting on an enclosing loop or switch; `return` or `goto` out of a __try
 * block skips its __finally block; a handler never runs, so code that relies on catching an
 * exception (a fault on a bad user buffer, a raised status) stops the run with the bug check
 * instead. AbnormalTermination() is therefore always FALSE in a __finally block.
 *
 * Driver code includes <kdpc/wdm.h> (or <wdm.h> / <ntddk.h>), never this file directly.
 */
#ifndef KDPC_WDM_SEH_H
#define KDPC_WDM_SEH_H

#include <kdpc/wdm/types.h>

KDPC_BEGIN_DECLS

/** Exception filter results (what an __except filter expression returns). */
#define EXCEPTION_EXECUTE_HANDLER    1
#define EXCEPTION_CONTINUE_SEARCH    0
#define EXCEPTION_CONTINUE_EXECUTION (-1)

#define KDPC_SEH_CAT2_(a, b) a##b
#define KDPC_SEH_CAT_(a, b)  KDPC_SEH_CAT2_(a, b)
/*
 * How a __try statement expands: one statement in two passes of a for loop, with a pass variable
 * of its own per __try (named after __COUNTER__, expanded once per __try, so nested ones never
 * shadow each other). Pass 0 runs the __try block inside { __label__ L; do { A } while (0); L:; }
 * and pass 1 the __finally block (the else branch), or nothing after an __except. __leave is
 * goto L: a GNU local label, declared in the block that __try opens and __except/__finally
 * close, so a __leave always reaches the end of its own (innermost) __try block, however deeply
 * it sits in loops or switches. The do/while(0) makes a bare break end the block as well. gcc's
 * -Wpedantic would call the label declaration an extension: a diagnostic pragma around it
 * keeps that quiet. The __except handler sits in `for (; 0 && (filter);)` and the __finally
 * block in `switch (0) default:`, never in an if without an else: a __try statement that is the
 * body of an if with an else (`if (c) __try {} __except (f) {} else X;`) leaves that else to
 * the if, as the compiler does with a real __try statement, instead of the else pairing with
 * the macros' own if (X would run when c is true, and gcc's -Wdangling-else would refuse it).
 * (clang-format takes __except for a keyword and would split
 * "__except(filter)", hence the clang-format off below.)
 */
/* clang-format off */
#if defined(__GNUC__) || defined(__clang__)
#define KDPC_SEH_QUIET_                                                        \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpedantic\"")
#define KDPC_SEH_LOUD_       _Pragma("GCC diagnostic pop")
#define KDPC_SEH_TRY_V_(v)                                                     \
    KDPC_SEH_QUIET_ for (int v = 0; v < 2; v++) if (v == 0) {                  \
        __label__ kdpc__seh_leave; KDPC_SEH_LOUD_ do
#define KDPC_SEH_END_        while (0); kdpc__seh_leave: __attribute__((unused)); }
#define KDPC_SEH_LEAVE_      goto kdpc__seh_leave
#else
#define KDPC_SEH_TRY_V_(v)   for (int v = 0; v < 2; v++) if (v == 0) do
#define KDPC_SEH_END_        while (0);
#define KDPC_SEH_LEAVE_      break
#endif
#define KDPC_SEH_TRY_(n) KDPC_SEH_TRY_V_(KDPC_SEH_CAT_(kdpc__seh_pass_, n))

#ifndef __try
/** __try - start a guarded block; it runs as written. Divergence: no unwinding: break, continue,
 * return and goto act as the file comment says. */
#ifdef __COUNTER__
#define __try KDPC_SEH_TRY_(__COUNTER__)
#else
#define __try KDPC_SEH_TRY_(__LINE__)
#endif
/** __except - the handler of a __try block (the filter may be a comma expression, as the
 * compiler's keyword takes). Divergence: the filter is not evaluated and the handler never runs
 * (an exception is a bug check). The filter sits in dead code rather than
 * in sizeof, so a static filter routine counts as used (clang's -Wunneeded-internal-declaration).
 */
#define __except(...) KDPC_SEH_END_ else for (; 0 && (__VA_ARGS__);)
/** __finally - the termination handler of a __try block: runs after the block ends normally or
 * by __leave. Divergence: a return or goto out of the __try block skips it. */
#define __finally KDPC_SEH_END_ else switch (0) default:
/** __leave - end the innermost enclosing __try block now; its __finally block runs next. */
#define __leave KDPC_SEH_LEAVE_
/* clang-format on */
#endif

/**
 * GetExceptionCode - the status of the exception being handled. Only valid in a filter or a
 * handler. Divergence: kdpc never evaluates or runs those, so it is 0 (STATUS_SUCCESS).
 */
#define GetExceptionCode() ((NTSTATUS)0)
/**
 * AbnormalTermination - TRUE in a __finally block entered by unwinding. kdpc never unwinds (a
 * raised exception is a bug check), so a __finally block runs only after a normal end or a
 * __leave: always FALSE.
 */
#define AbnormalTermination() ((BOOLEAN)0)

KDPC_NORETURN KDPC_EXPORT void kdpc_ExRaiseStatus(NTSTATUS Status);

/**
 * ExRaiseStatus - raise an exception with @Status. kdpc catches no exception: the run stops with
 * bug check 0x1E KMODE_EXCEPTION_NOT_HANDLED, P1 = @Status (rule "ke.bugcheck"), as Windows does
 * when no handler takes it. Never returns. IRQL: any (Windows documents <= APC_LEVEL; above it
 * the result is the same bug check). Divergence: P2 (the faulting address) is 0; an enclosing
 * __try/__except does not catch it. Called outside a simulated CPU it prints the status and
 * aborts the host process, as KeBugCheckEx does.
 */
#define ExRaiseStatus kdpc_ExRaiseStatus

/** ExRaiseAccessViolation - ExRaiseStatus(STATUS_ACCESS_VIOLATION). Never returns. */
KDPC_NORETURN static inline void ExRaiseAccessViolation(void)
{
    kdpc_ExRaiseStatus(STATUS_ACCESS_VIOLATION);
}
/** ExRaiseDatatypeMisalignment - ExRaiseStatus(STATUS_DATATYPE_MISALIGNMENT, 0x80000002).
 * Never returns. */
KDPC_NORETURN static inline void ExRaiseDatatypeMisalignment(void)
{
    kdpc_ExRaiseStatus(STATUS_DATATYPE_MISALIGNMENT);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_SEH_H */
