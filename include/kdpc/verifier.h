/* SPDX-License-Identifier: MIT */
/*
 * kdpc/verifier.h - rule violations (bug checks and warnings) and the
 * per-machine switches of every rule of docs/rules.md.
 */
#ifndef KDPC_VERIFIER_H
#define KDPC_VERIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <kdpc/export.h>
#include <kdpc/status.h>

KDPC_BEGIN_DECLS

typedef struct kdpc_machine kdpc_machine;

/** Any driver routine, cast to one function pointer type (C allows that cast). */
typedef void (*kdpc_routine_ptr)(void);

/**
 * struct kdpc_violation - one broken rule.
 *
 * Bug checks (fatal) stop the run; warnings are recorded and the run goes
 * on. Strings are owned by the machine and live until kdpc_machine_destroy().
 */
typedef struct kdpc_violation {
    uint32_t code;         /**< Windows bug check code, or 0 for a warning */
    uint64_t params[4];    /**< P1..P4 */
    const char *rule;      /**< stable rule id from docs/rules.md, e.g. "dpc.irql_changed" */
    const char *message;   /**< what happened, in words, with the guideline */
    bool fatal;            /**< true: a bug check that stopped the run */
    unsigned cpu;          /**< CPU where it was detected */
    uint8_t irql;          /**< IRQL of that CPU when detected */
    uint64_t time_ns;      /**< virtual time of detection */
    const char *name;      /**< bug check name (e.g. "IRQL_UNEXPECTED_VALUE"), "" for warnings */
    const char *guideline; /**< the guideline (G1..G18) in plain words */
    const char *routine;   /**< DPC/ISR/thread routine running, "" when none */
    uint64_t seed;         /**< seed of the machine: replays the run */
    uint64_t event;        /**< number of trace events before it (kdpc_trace_total) */
} kdpc_violation;

/** What a rule does when it is broken. */
typedef enum kdpc_rule_action {
    KDPC_RULE_DEFAULT = 0, /**< the outcome docs/rules.md gives */
    KDPC_RULE_OFF = 1,     /**< not checked */
    KDPC_RULE_WARN = 2,    /**< recorded as a warning; the run goes on */
    KDPC_RULE_BUGCHECK = 3 /**< bug check: the run stops */
} kdpc_rule_action;

/**
 * kdpc_rule_set() - switch one rule, or a family ("spinlock.*", "*").
 * @m: machine, not running.
 * @rule: rule id or family pattern ending in ".*", or "*".
 * @action: new action; KDPC_RULE_DEFAULT restores the table's outcome.
 * Thread: any host thread while no run is in progress, or simulated code.
 * Return: KDPC_OK, KDPC_EINVAL (NULL, bad action, or "ke.bugcheck", which cannot be
 * switched: KeBugCheckEx and a failed ASSERT always stop the run), KDPC_ENOENT (no such
 * rule). Patterns skip "ke.bugcheck".
 */
KDPC_EXPORT kdpc_status kdpc_rule_set(kdpc_machine *m, const char *rule, kdpc_rule_action action);

/**
 * kdpc_rule_action_of() - effective action of a rule on @m (KDPC_RULE_OFF while its
 * Driver Verifier class is off, see kdpc_verifier_set()).
 * Return: KDPC_RULE_OFF / _WARN / _BUGCHECK, or KDPC_RULE_DEFAULT when @m or @rule is unknown.
 */
KDPC_EXPORT kdpc_rule_action kdpc_rule_action_of(const kdpc_machine *m, const char *rule);

/** Number of rules kdpc knows. Thread: any. */
KDPC_EXPORT size_t kdpc_rule_count(void);

/**
 * kdpc_rule_info() - the i-th rule of the table.
 * @i: 0 .. kdpc_rule_count()-1.
 * @guideline: receives the rule's own one-line explanation in plain words, prefixed by the
 * number of the guideline it comes from ("G8: a spin lock is held at most 25 us"; "kdpc: ..."
 * for kdpc's own rules); may be NULL. The same text is kdpc_violation.guideline.
 * Thread: any. Return: the rule id, or NULL when @i is out of range.
 */
KDPC_EXPORT const char *kdpc_rule_info(size_t i, const char **guideline);

/**
 * kdpc_rule_guideline() - the whole guideline the i-th rule comes from, in plain words
 * ("G8: a DPC runs at most 100 us per call and ..."), shared by every rule of that guideline.
 * Thread: any. Return: the text, or NULL when @i is out of range.
 */
KDPC_EXPORT const char *kdpc_rule_guideline(size_t i);

/* ------------------------------------------------------------------ */
/* Driver Verifier options                                             */
/*
 * Every rule belongs to one class (docs/rules.md shows it). Most classes are Driver
 * Verifier's options, with the bit `verifier /flags` gives them on Windows, and are switched
 * as groups: a rule of a class that is off is not checked, whatever kdpc_rule_set() said of
 * it (its own setting comes back when the class is turned on again). Three classes have no
 * bit and are switched per rule only: Verifier's automatic checks (on whenever a driver is
 * verified), the checks Windows makes without Verifier, and kdpc's own guideline checks.
 * A new machine starts with KDPC_VERIFIER_STANDARD, Windows' standard settings
 * (`verifier /standard`); low resources simulation is the one option outside them.
 */
#define KDPC_VERIFIER_SPECIAL_POOL   0x00000001u /**< special pool: overruns found at the touch */
#define KDPC_VERIFIER_FORCE_IRQL     0x00000002u /**< force IRQL checking: pageable memory is out */
#define KDPC_VERIFIER_LOW_RESOURCES  0x00000004u /**< low resources simulation: allocations fail */
#define KDPC_VERIFIER_POOL_TRACKING  0x00000008u /**< pool tracking: leaks, bad frees */
#define KDPC_VERIFIER_IO             0x00000010u /**< I/O verification (enhanced included): 0xC9 */
#define KDPC_VERIFIER_DEADLOCK       0x00000020u /**< deadlock detection: lock order, 0xC4/0x10xx */
#define KDPC_VERIFIER_DMA            0x00000080u /**< DMA verification: 0xE6 */
#define KDPC_VERIFIER_SECURITY       0x00000100u /**< security checks (user handles) */
#define KDPC_VERIFIER_MISC           0x00000800u /**< miscellaneous checks */
#define KDPC_VERIFIER_DDI_COMPLIANCE 0x00020000u /**< DDI compliance checking (and SDV rules) */
/** Windows' standard settings: every option above except low resources simulation. */
#define KDPC_VERIFIER_STANDARD 0x000209BBu
/** Every option kdpc models. */
#define KDPC_VERIFIER_ALL (KDPC_VERIFIER_STANDARD | KDPC_VERIFIER_LOW_RESOURCES)

/**
 * kdpc_verifier_set() - turn Driver Verifier's options on and off as `verifier /flags` does.
 * @m: machine. @flags: an OR of KDPC_VERIFIER_* bits; 0 leaves only the classes without a bit.
 * Low resources simulation fails allocations at cfg.low_resources_permille, or at Windows'
 * default chance of 6% (60 permille) when the config gives none.
 * Thread: the host while no run is in progress, or simulated code of @m.
 * Return: KDPC_OK; KDPC_EINVAL for a NULL @m or a bit kdpc does not model (nothing changes).
 */
KDPC_EXPORT kdpc_status kdpc_verifier_set(kdpc_machine *m, uint32_t flags);

/** The options @m runs with (KDPC_VERIFIER_* bits); 0 for NULL. */
KDPC_EXPORT uint32_t kdpc_verifier_flags(const kdpc_machine *m);

/**
 * kdpc_verifier_class_set() - turn one option on or off by name.
 * @name: "special_pool", "force_irql", "low_resources", "pool_tracking", "io_verification",
 * "deadlock_detection", "dma_verification", "security_checks", "misc_checks",
 * "ddi_compliance", or "standard" (all of Windows' standard settings at once).
 * Return: KDPC_OK, KDPC_EINVAL (NULL argument), KDPC_ENOENT (no such class, including the
 * three without a bit: "automatic", "kernel", "kdpc"); on an error nothing changes.
 */
KDPC_EXPORT kdpc_status kdpc_verifier_class_set(kdpc_machine *m, const char *name, bool on);

/**
 * kdpc_rule_class() - the class of the i-th rule: one of the names kdpc_verifier_class_set()
 * takes, or "automatic", "kernel", "kdpc". NULL when @i is out of range. Thread: any.
 */
KDPC_EXPORT const char *kdpc_rule_class(size_t i);

/**
 * kdpc_rule_microsoft() - the Microsoft rule names and Verifier codes the i-th rule
 * corresponds to ("IrqlKeSetEvent; 0xC4/0x80"), "" when none; NULL when @i is out of range.
 */
KDPC_EXPORT const char *kdpc_rule_microsoft(size_t i);

/**
 * kdpc_machine_bugcheck() - the bug check that stopped the run.
 * Return: the violation, or NULL when no bug check happened (or @m is NULL).
 */
KDPC_EXPORT const kdpc_violation *kdpc_machine_bugcheck(const kdpc_machine *m);

/**
 * kdpc_shared_alloc() - @bytes of zeroed, page-aligned memory on pages of its
 * own that the checker watches while @m runs: give it to a driver as a
 * virtual device's registers or as state its routines share. By default a
 * touch from a DPC and one from a thread (below DISPATCH_LEVEL) must hold a
 * common spin lock: once a DPC and a thread have both touched it, the locks
 * held at every later touch are intersected (as Eraser does) and an empty
 * set is the warning sync.unlocked_shared (G2). The first touch after each
 * interleaving point is checked. The memory stays readable by the host
 * between runs and is freed with the machine.
 * Thread: the host or code of @m's run. Any number of regions. Return: the
 * memory, or NULL with errno EINVAL (NULL machine, 0 bytes or over 1 GiB) or
 * ENOMEM (the host refuses pages or bookkeeping).
 */
KDPC_EXPORT void *kdpc_shared_alloc(kdpc_machine *m, size_t bytes);

/**
 * kdpc_shared_bind_interrupt() - declare @shared (from kdpc_shared_alloc) as
 * shared with the ISR of @interrupt (a PKINTERRUPT): from then on every touch
 * must hold that interrupt's lock (the ISR itself, a SynchCritSection run by
 * KeSynchronizeExecution, KeAcquireInterruptSpinLock), else the warning
 * sync.isr_unsynchronized (G1). Return: KDPC_OK, KDPC_EINVAL (@shared is not
 * the start of one of @m's regions, or @interrupt is not one of @m's connected
 * interrupt objects: a bad pointer is compared, never followed).
 */
KDPC_EXPORT kdpc_status kdpc_shared_bind_interrupt(kdpc_machine *m, void *shared,
                                                   const void *interrupt);

/** Number of violations recorded (warnings and the bug check); 0 for NULL. */
KDPC_EXPORT size_t kdpc_machine_violation_count(const kdpc_machine *m);

/** The i-th recorded violation, oldest first; NULL when out of range. */
KDPC_EXPORT const kdpc_violation *kdpc_machine_violation(const kdpc_machine *m, size_t i);

/**
 * kdpc_machine_find_violation() - first recorded violation of a rule.
 * Return: the violation or NULL.
 */
KDPC_EXPORT const kdpc_violation *kdpc_machine_find_violation(const kdpc_machine *m,
                                                              const char *rule);

/**
 * kdpc_machine_deadlock_report() - what every CPU held and waited for when
 * kdpc_machine_run() returned KDPC_DEADLOCK.
 * Return: text owned by the machine, or NULL when there was no deadlock.
 */
KDPC_EXPORT const char *kdpc_machine_deadlock_report(const kdpc_machine *m);

/**
 * kdpc_machine_timeout_report() - what was still alive when kdpc_machine_run()
 * returned KDPC_TIMEOUT: each CPU (IRQL, routine, lock it spins on, locks
 * held), each thread not finished and what it waits on, queued DPCs, set
 * timers, queued work items, and each IRP not completed with where it sits.
 * Return: text owned by the machine, or NULL when the last run did not time out.
 */
KDPC_EXPORT const char *kdpc_machine_timeout_report(const kdpc_machine *m);

/**
 * kdpc_name_routine() - give a driver routine a name for reports and traces.
 * Without a name, a routine is named from the host's symbol table (static functions too
 * when kdpc is built with libdw; only exported ones through dladdr otherwise).
 * Return: KDPC_OK, KDPC_EINVAL, KDPC_ENOMEM.
 */
KDPC_EXPORT kdpc_status kdpc_name_routine(kdpc_machine *m, kdpc_routine_ptr routine,
                                          const char *name);

/** Name a routine after its own identifier: KDPC_NAME(m, MyDpcForIsr). */
#define KDPC_NAME(m, fn) kdpc_name_routine((m), (kdpc_routine_ptr)(fn), #fn)

/**
 * kdpc_name_object() - give a driver object (a KSPIN_LOCK, a device object, a KDPC, a
 * KEVENT, any address) a name for reports, deadlock reports and trace dumps: a message that
 * mentions its address says "0x... (name)". The name is forgotten when the object's memory is
 * freed through kdpc (ExFreePool, IoFreeIrp, IoDeleteDevice, ...). Without a name, a spin lock
 * is named by the call site of its KeInitializeSpinLock ("spin lock initialised in
 * DriverEntry+0x2a (driver.c:41)") and a static or global variable by its symbol.
 * @m: machine. @object: address. @name: copied.
 * Thread: the host between runs, or simulated code of @m. IRQL: any.
 * Return: KDPC_OK, KDPC_EINVAL (a NULL argument), KDPC_ENOMEM.
 */
KDPC_EXPORT kdpc_status kdpc_name_object(kdpc_machine *m, const void *object, const char *name);

/** Name an object after its own expression: KDPC_NAME_OBJECT(m, &Ext->RxLock). */
#define KDPC_NAME_OBJECT(m, obj) kdpc_name_object((m), (obj), #obj)

/* ------------------------------------------------------------------ */
/* Test checks that fail inside simulated code                         */
/*
 * A test framework's failure path (CMocka's _fail, a longjmp to the test's
 * jmp_buf on the test's own host thread) cannot be taken from simulated code:
 * a DPC, an ISR or the entry routine run on other contexts. These calls stop
 * the run instead, as a bug check of the unswitchable rule "test.assert"
 * (code 0, P1 = the line), and keep where and why, so that the test thread
 * fails the test once kdpc_machine_run() has returned KDPC_BUGCHECK.
 * <kdpc/cmocka.h> does all of this for CMocka's assert_*, fail and fail_msg.
 */

/** What stopped a run through kdpc_test_fail() or kdpc_test_skip(). */
typedef struct kdpc_test_stop {
    const char *file;    /**< source file of the failed check (a copy owned by the machine) */
    int line;            /**< its line */
    const char *message; /**< what failed, e.g. "0x1 != 0x2"; "Skipped!" for a skip */
    bool skip;           /**< true: the test asked to be skipped (kdpc_test_skip) */
} kdpc_test_stop;

/**
 * kdpc_test_fail() - a test check failed in simulated code: stop this run.
 * @file, @line: where the check is (NULL file: "?").
 * @message: what failed, in the test framework's words (NULL: "").
 *
 * Records a bug check of rule "test.assert" (code 0, P1 = @line; no switch can
 * turn it off) whose text is "file:line: message", prints the report like
 * every bug check, and unwinds every simulated context of the machine:
 * kdpc_machine_run() returns KDPC_BUGCHECK and kdpc_machine_test_stop() tells
 * where and why. Any IRQL, any simulated context (entry routine, system
 * thread, work item, DPC, ISR, timer DPC).
 * Outside simulated code there is no run to stop: it prints "kdpc:
 * kdpc_test_fail outside simulated code: file:line: message" to stderr and
 * calls abort(). Test code on the test thread uses its framework's own
 * failure call there (<kdpc/cmocka.h> does: see kdpc_test_in_simulation()).
 */
KDPC_NORETURN KDPC_EXPORT void kdpc_test_fail(const char *file, int line, const char *message);

/**
 * kdpc_test_skip() - the test asked to be skipped from simulated code: stop
 * this run as kdpc_test_fail(file, line, "Skipped!") does, with
 * kdpc_test_stop.skip set, so that the test thread can mark the test skipped.
 * Outside simulated code: as kdpc_test_fail().
 */
KDPC_NORETURN KDPC_EXPORT void kdpc_test_skip(const char *file, int line);

/**
 * kdpc_test_in_simulation() - true when the calling code is simulated code
 * (the same as kdpc_current_machine() != NULL): kdpc_test_fail() stops its run.
 */
KDPC_EXPORT bool kdpc_test_in_simulation(void);

/**
 * kdpc_machine_test_stop() - why a test check stopped @m's run.
 * Thread: any, once the run has returned. Return: the record, owned by @m
 * until kdpc_machine_destroy(); NULL when no kdpc_test_fail() /
 * kdpc_test_skip() stopped it (or @m is NULL).
 */
KDPC_EXPORT const kdpc_test_stop *kdpc_machine_test_stop(const kdpc_machine *m);

KDPC_END_DECLS

#endif /* KDPC_VERIFIER_H */
