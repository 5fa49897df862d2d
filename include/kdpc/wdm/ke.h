/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/ke.h - kernel routines: IRQL, processors, spin locks, DPCs,
 * interrupt objects, time, system threads, bug checks.
 *
 * Every routine is a static inline forwarder to an exported kdpc_<Name>
 * symbol, so driver code keeps the WDK spelling. Routines that need a
 * simulated CPU must be called from simulated code (inside
 * kdpc_machine_run); called from any other host thread they print one
 * diagnostic line and do nothing (returning FALSE / 0 / PASSIVE_LEVEL).
 *
 * Each entry gives IRQL (required caller IRQL), Return, and Bugchecks (the
 * kdpc rule ids raised on misuse; see docs/rules.md). Fact numbers refer to
 * docs/facts/dpc-irql.md.
 *
 * Objects (rule obj.invalid, every routine below that takes one): a NULL,
 * never initialised (zero-filled), garbage (0xCC-filled) or wrong-type
 * object is caught from its header before kdpc reads more. A NULL or
 * unusable spin lock is 0xC4/0xE1, a lock word that is neither free, held
 * nor a queue handle 0xC4/0x1002; a KDPC that is no DPC 0xC7/1, one whose
 * target CPU does not exist 0xC7/3, one with no routine 0xD1 when it runs;
 * any other NULL object faults as on Windows (0x1E, or 0xA at or above
 * DISPATCH_LEVEL). A zero-filled KSPIN_LOCK is a free lock, as on Windows.
 * Switched to a warning or off, the call is skipped (FALSE / 0 returned).
 */
#ifndef KDPC_WDM_KE_H
#define KDPC_WDM_KE_H

#include <kdpc/wdm/types.h>

KDPC_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* IRQL (x64 values, fact 1.1)                                         */

#define PASSIVE_LEVEL  0
#define LOW_LEVEL      0
#define APC_LEVEL      1
#define DISPATCH_LEVEL 2
#define CMCI_LEVEL     5
#define SYNCH_LEVEL    12
#define CLOCK_LEVEL    13
#define IPI_LEVEL      14
#define DRS_LEVEL      14
#define POWER_LEVEL    14
#define PROFILE_LEVEL  15
#define HIGH_LEVEL     15

/** Highest processor number + 1 that a KAFFINITY can name (x64). */
#define MAXIMUM_PROCESSORS   64
#define ALL_PROCESSOR_GROUPS 0xffff

KDPC_EXPORT KIRQL kdpc_KeGetCurrentIrql(void);
KDPC_EXPORT void kdpc_KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql);
KDPC_EXPORT void kdpc_KeLowerIrql(KIRQL NewIrql);
KDPC_EXPORT KIRQL kdpc_KeRaiseIrqlToDpcLevel(void);
KDPC_EXPORT KIRQL kdpc_KeRaiseIrqlToSynchLevel(void);

/** KeGetCurrentIrql - IRQL of the current CPU. IRQL: any. */
static inline KIRQL KeGetCurrentIrql(void)
{
    return kdpc_KeGetCurrentIrql();
}
/**
 * KeRaiseIrql - raise the current CPU to @NewIrql; *OldIrql gets the entry
 * IRQL (fact 1.7). IRQL: any, NewIrql >= current.
 * Bugchecks: irql.raise_lower (0xC4/0x30) when NewIrql < current;
 * irql.invalid when NewIrql > HIGH_LEVEL.
 */
static inline void KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql)
{
    kdpc_KeRaiseIrql(NewIrql, OldIrql);
}
/**
 * KeLowerIrql - restore the IRQL saved by a raise. Dropping below
 * DISPATCH_LEVEL runs the DPCs requested meanwhile before it returns (1.9).
 * IRQL: any, NewIrql <= current.
 * Bugchecks: irql.lower_raise (0xC4/0x31) when NewIrql > current; irql.invalid.
 */
static inline void KeLowerIrql(KIRQL NewIrql)
{
    kdpc_KeLowerIrql(NewIrql);
}
/**
 * KeRaiseIrqlToDpcLevel - raise to DISPATCH_LEVEL, return the entry IRQL
 * (1.15). IRQL: <= DISPATCH_LEVEL. Bugchecks: irql.raise_lower above DISPATCH.
 */
static inline KIRQL KeRaiseIrqlToDpcLevel(void)
{
    return kdpc_KeRaiseIrqlToDpcLevel();
}
/** KeRaiseIrqlToSynchLevel - raise to SYNCH_LEVEL (12), return the entry IRQL. IRQL: <= 12. */
static inline KIRQL KeRaiseIrqlToSynchLevel(void)
{
    return kdpc_KeRaiseIrqlToSynchLevel();
}
/** KzRaiseIrql - KeRaiseIrql returning the old IRQL (1.16). */
static inline KIRQL KzRaiseIrql(KIRQL NewIrql)
{
    KIRQL Old;
    kdpc_KeRaiseIrql(NewIrql, &Old);
    return Old;
}
/** KzLowerIrql - same as KeLowerIrql (1.16). */
static inline void KzLowerIrql(KIRQL NewIrql)
{
    kdpc_KeLowerIrql(NewIrql);
}

/* ------------------------------------------------------------------ */
/* Processors                                                          */

KDPC_EXPORT ULONG kdpc_KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber);
KDPC_EXPORT ULONG kdpc_KeQueryActiveProcessorCountEx(USHORT GroupNumber);
KDPC_EXPORT KAFFINITY kdpc_KeQueryActiveProcessors(void);

/** KeGetCurrentProcessorNumberEx - index of the current CPU; fills @ProcNumber if not NULL. */
static inline ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
    return kdpc_KeGetCurrentProcessorNumberEx(ProcNumber);
}
/** KeGetCurrentProcessorNumber - index of the current CPU. IRQL: any. */
static inline ULONG KeGetCurrentProcessorNumber(void)
{
    return kdpc_KeGetCurrentProcessorNumberEx(NULL);
}
/** KeGetCurrentProcessorIndex - same as KeGetCurrentProcessorNumber (one group). */
static inline ULONG KeGetCurrentProcessorIndex(void)
{
    return kdpc_KeGetCurrentProcessorNumberEx(NULL);
}
/** KeQueryActiveProcessors - affinity mask of every simulated CPU. */
static inline KAFFINITY KeQueryActiveProcessors(void)
{
    return kdpc_KeQueryActiveProcessors();
}
/** KeQueryActiveProcessorCount - number of CPUs; *ActiveProcessors gets the mask if not NULL. */
static inline ULONG KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors)
{
    if (ActiveProcessors != NULL)
        *ActiveProcessors = kdpc_KeQueryActiveProcessors();
    return kdpc_KeQueryActiveProcessorCountEx(0);
}
/** KeQueryActiveProcessorCountEx - CPUs in group 0 or in ALL_PROCESSOR_GROUPS; 0 otherwise. */
static inline ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber)
{
    return kdpc_KeQueryActiveProcessorCountEx(GroupNumber);
}
/** KeQueryMaximumProcessorCount - number of CPUs of the machine. */
static inline ULONG KeQueryMaximumProcessorCount(void)
{
    return kdpc_KeQueryActiveProcessorCountEx(0);
}

/* ------------------------------------------------------------------ */
/* Spin locks (section 2)                                              */

typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;
KDPC_STATIC_ASSERT(sizeof(KSPIN_LOCK) == 8, "KSPIN_LOCK is 8 bytes as on x64");

/** Queue entry of an in-stack queued spin lock. */
typedef struct _KSPIN_LOCK_QUEUE {
    struct _KSPIN_LOCK_QUEUE *volatile Next;
    PKSPIN_LOCK volatile Lock;
} KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;

/** Handle of an in-stack queued spin lock: a fresh local per acquisition. */
typedef struct _KLOCK_QUEUE_HANDLE {
    KSPIN_LOCK_QUEUE LockQueue;
    KIRQL OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;

KDPC_EXPORT void kdpc_KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
KDPC_EXPORT KIRQL kdpc_KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock);
KDPC_EXPORT void kdpc_KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
KDPC_EXPORT void kdpc_KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
KDPC_EXPORT void kdpc_KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
KDPC_EXPORT BOOLEAN kdpc_KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
KDPC_EXPORT BOOLEAN kdpc_KeTestSpinLock(PKSPIN_LOCK SpinLock);
KDPC_EXPORT KIRQL kdpc_KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock);
KDPC_EXPORT void kdpc_KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql);
KDPC_EXPORT void kdpc_KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock,
                                                     PKLOCK_QUEUE_HANDLE LockHandle);
KDPC_EXPORT void kdpc_KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle);
KDPC_EXPORT void kdpc_KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                                               PKLOCK_QUEUE_HANDLE LockHandle);
KDPC_EXPORT void kdpc_KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle);
KDPC_EXPORT void kdpc_KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock,
                                                           PKLOCK_QUEUE_HANDLE LockHandle);
KDPC_EXPORT void kdpc_KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle);

/** KeInitializeSpinLock - store 0 (free) and forget what the checker knew of this address (2.1).
 * IRQL: any. */
static inline void KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
    kdpc_KeInitializeSpinLock(SpinLock);
}
/**
 * KeAcquireSpinLockRaiseToDpc - raise to DISPATCH_LEVEL, take the lock
 * (spinning while another CPU holds it), return the entry IRQL (2.5, 2.11).
 * While held the lock word is 1 (2.2). IRQL: <= DISPATCH_LEVEL.
 * Bugchecks: spinlock.acquire_irql (0xC4/0x42) above DISPATCH; spinlock.recursive
 * (0xC4/0x1000); spinlock.order (0xC4/0x1001); spinlock.mixed_api (0xC4/0x1008).
 */
static inline KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    return kdpc_KeAcquireSpinLockRaiseToDpc(SpinLock);
}
/** KeAcquireSpinLock - as KeAcquireSpinLockRaiseToDpc, storing the entry IRQL in *OldIrql. */
#define KeAcquireSpinLock(SpinLock, OldIrql)                                                       \
    (*(OldIrql) = kdpc_KeAcquireSpinLockRaiseToDpc(SpinLock))
/**
 * KeReleaseSpinLock - release and set IRQL to @NewIrql; DPCs run if that is
 * below DISPATCH_LEVEL (2.9). IRQL: DISPATCH_LEVEL.
 * Bugchecks: spinlock.release_irql (0xC4/0x32) not at DISPATCH; spinlock.not_owned
 * (0xC4/0x1007, 0x1004); spinlock.mixed_api (0x1009); warning spinlock.held_too_long;
 * irql.invalid (0xC4/0x31) for a NewIrql above HIGH_LEVEL (as a warning: HIGH_LEVEL).
 */
static inline void KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    kdpc_KeReleaseSpinLock(SpinLock, NewIrql);
}
/**
 * KeAcquireSpinLockAtDpcLevel - take the lock without changing IRQL (2.7).
 * IRQL: >= DISPATCH_LEVEL. Bugchecks: spinlock.dpc_acquire_irql (0xC4/0x40)
 * below DISPATCH; spinlock.recursive; spinlock.order; spinlock.mixed_api.
 */
static inline void KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    kdpc_KeAcquireSpinLockAtDpcLevel(SpinLock);
}
/**
 * KeReleaseSpinLockFromDpcLevel - release without changing IRQL (2.8).
 * IRQL: >= DISPATCH_LEVEL. Bugchecks: spinlock.dpc_release_irql (0xC4/0x41);
 * spinlock.not_owned; spinlock.mixed_api.
 */
static inline void KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    kdpc_KeReleaseSpinLockFromDpcLevel(SpinLock);
}
/**
 * KeTryToAcquireSpinLockAtDpcLevel - TRUE if it took the lock, FALSE at once
 * if any CPU (this one included, as on an MP free kernel) holds it (2.10).
 * Release with KeReleaseSpinLockFromDpcLevel. IRQL: DISPATCH_LEVEL.
 */
static inline BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    return kdpc_KeTryToAcquireSpinLockAtDpcLevel(SpinLock);
}
/** KeTestSpinLock - TRUE iff the lock word is 0 (2.4); never acquires. IRQL: any. */
static inline BOOLEAN KeTestSpinLock(PKSPIN_LOCK SpinLock)
{
    return kdpc_KeTestSpinLock(SpinLock);
}
/**
 * KeAcquireSpinLockForDpc - for threaded DPCs: take the lock, raising to
 * DISPATCH_LEVEL only when called below it; returns the entry IRQL (2.15).
 * Divergence: decides by IRQL (as ReactOS), not by "running as a threaded DPC".
 */
static inline KIRQL KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock)
{
    return kdpc_KeAcquireSpinLockForDpc(SpinLock);
}
/** KeReleaseSpinLockForDpc - release; lower to @OldIrql only when it is below DISPATCH (2.15). */
static inline void KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql)
{
    kdpc_KeReleaseSpinLockForDpc(SpinLock, OldIrql);
}
/**
 * KeAcquireInStackQueuedSpinLock - raise to DISPATCH_LEVEL and take the lock
 * in FIFO order of arrival; LockHandle->OldIrql gets the entry IRQL. While
 * held, *SpinLock == &LockHandle->LockQueue and LockQueue.Lock == SpinLock|2
 * (2.3, 2.12). IRQL: <= DISPATCH_LEVEL. Bugchecks: as KeAcquireSpinLock;
 * spinlock.mixed_api when the lock is also used as an ordinary lock (2.14).
 */
static inline void KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock,
                                                  PKLOCK_QUEUE_HANDLE LockHandle)
{
    kdpc_KeAcquireInStackQueuedSpinLock(SpinLock, LockHandle);
}
/** KeReleaseInStackQueuedSpinLock - release and lower to LockHandle->OldIrql. IRQL: DISPATCH. */
static inline void KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    kdpc_KeReleaseInStackQueuedSpinLock(LockHandle);
}
/** KeAcquireInStackQueuedSpinLockAtDpcLevel - queued acquire without IRQL change (2.13). */
static inline void KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                                            PKLOCK_QUEUE_HANDLE LockHandle)
{
    kdpc_KeAcquireInStackQueuedSpinLockAtDpcLevel(SpinLock, LockHandle);
}
/** KeReleaseInStackQueuedSpinLockFromDpcLevel - queued release without IRQL change. */
static inline void KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
    kdpc_KeReleaseInStackQueuedSpinLockFromDpcLevel(LockHandle);
}
/** KeAcquireInStackQueuedSpinLockForDpc - queued twin of KeAcquireSpinLockForDpc. */
static inline void KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock,
                                                        PKLOCK_QUEUE_HANDLE LockHandle)
{
    kdpc_KeAcquireInStackQueuedSpinLockForDpc(SpinLock, LockHandle);
}
/** KeReleaseInStackQueuedSpinLockForDpc - queued twin of KeReleaseSpinLockForDpc. */
static inline void KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle)
{
    kdpc_KeReleaseInStackQueuedSpinLockForDpc(LockHandle);
}

/* ------------------------------------------------------------------ */
/* DPC objects (section 4)                                             */

struct _KDPC;
/** CustomDpc / DpcForIsr prototype (KDEFERRED_ROUTINE). */
typedef void KDEFERRED_ROUTINE(struct _KDPC *Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                               PVOID SystemArgument2);
typedef KDEFERRED_ROUTINE *PKDEFERRED_ROUTINE;

/** DPC importance (fact 4.4). */
typedef enum _KDPC_IMPORTANCE {
    LowImportance = 0,
    MediumImportance = 1,
    HighImportance = 2,
    MediumHighImportance = 3
} KDPC_IMPORTANCE;

#define DpcObject         19
#define ThreadedDpcObject 24

/**
 * KDPC - a deferred procedure call object (fact 4.1). Opaque: drivers
 * initialise it with KeInitializeDpc and never touch the members.
 * DpcData is non-NULL exactly while the DPC is queued.
 */
typedef struct _KDPC {
    UCHAR Type;
    UCHAR Importance;
    volatile USHORT Number; /* 0: untargeted; MAXIMUM_PROCESSORS + n: CPU n (fact 4.6) */
    LIST_ENTRY DpcListEntry;
    PKDEFERRED_ROUTINE DeferredRoutine;
    PVOID DeferredContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    PVOID volatile DpcData;
} KDPC, *PKDPC, *PRKDPC;
KDPC_STATIC_ASSERT(sizeof(KDPC) <= 64, "KDPC stays within 64 bytes as on x64");

KDPC_EXPORT void kdpc_KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                                      PVOID DeferredContext);
KDPC_EXPORT void kdpc_KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                                              PVOID DeferredContext);
KDPC_EXPORT BOOLEAN kdpc_KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2);
KDPC_EXPORT BOOLEAN kdpc_KeRemoveQueueDpc(PRKDPC Dpc);
KDPC_EXPORT void kdpc_KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance);
KDPC_EXPORT void kdpc_KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number);
KDPC_EXPORT NTSTATUS kdpc_KeSetTargetProcessorDpcEx(PKDPC Dpc, PPROCESSOR_NUMBER ProcNumber);
KDPC_EXPORT void kdpc_KeFlushQueuedDpcs(void);
KDPC_EXPORT LOGICAL kdpc_KeIsExecutingDpc(void);
KDPC_EXPORT LOGICAL kdpc_KeShouldYieldProcessor(void);

/**
 * KeInitializeDpc - Type = DpcObject, Importance = Medium, untargeted,
 * routine and context stored, DpcData = NULL; DpcListEntry and
 * SystemArgument1/2 are left untouched (fact 4.2). IRQL: any.
 */
static inline void KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                                   PVOID DeferredContext)
{
    kdpc_KeInitializeDpc(Dpc, DeferredRoutine, DeferredContext);
}
/**
 * KeInitializeThreadedDpc - as KeInitializeDpc with Type = ThreadedDpcObject (4.3).
 * Divergence: kdpc runs threaded DPCs as ordinary DPCs at DISPATCH_LEVEL, which
 * is what Windows does with ThreadDpcEnable = 0 (fact 4.23).
 */
static inline void KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                                           PVOID DeferredContext)
{
    kdpc_KeInitializeThreadedDpc(Dpc, DeferredRoutine, DeferredContext);
}
/**
 * KeInsertQueueDpc - queue the DPC (fact 4.7-4.10, 4.15). FALSE, and nothing
 * stored, if it is already queued; otherwise the arguments are stored, High
 * importance goes to the head and the rest to the tail of the target CPU's
 * queue, and TRUE is returned. Inserted below DISPATCH_LEVEL on the current
 * CPU, a Medium DPC has run when this returns; at or above DISPATCH_LEVEL it
 * runs when the IRQL drops below DISPATCH_LEVEL. IRQL: any.
 * Bugchecks: obj.invalid: 0xC7 P1 1 (not a DPC: never KeInitializeDpc'd), 3 (its target
 * processor does not exist), 0xA (NULL); 0xD1 when a DPC with no routine runs.
 */
static inline BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    return kdpc_KeInsertQueueDpc(Dpc, SystemArgument1, SystemArgument2);
}
/** KeRemoveQueueDpc - TRUE if the DPC was queued and is now removed unrun; FALSE otherwise
 * (4.17). IRQL: any. */
static inline BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc)
{
    return kdpc_KeRemoveQueueDpc(Dpc);
}
/** KeSetImportanceDpc - importance for later insertions (4.5). IRQL: any. */
static inline void KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)
{
    kdpc_KeSetImportanceDpc(Dpc, Importance);
}
/** KeSetTargetProcessorDpc - target CPU for later insertions; an invalid
 * @Number leaves the target unchanged (4.6). IRQL: any. */
static inline void KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number)
{
    kdpc_KeSetTargetProcessorDpc(Dpc, Number);
}
/** KeSetTargetProcessorDpcEx - STATUS_INVALID_PARAMETER for a CPU that does not exist,
 * else STATUS_SUCCESS (4.6). IRQL: any. */
static inline NTSTATUS KeSetTargetProcessorDpcEx(PKDPC Dpc, PPROCESSOR_NUMBER ProcNumber)
{
    return kdpc_KeSetTargetProcessorDpcEx(Dpc, ProcNumber);
}
/**
 * KeFlushQueuedDpcs - return once every DPC queued on any CPU before the
 * call (and any DPC routine running then) has run to completion (4.22).
 * The calling thread blocks meanwhile. IRQL: PASSIVE_LEVEL.
 */
static inline void KeFlushQueuedDpcs(void)
{
    kdpc_KeFlushQueuedDpcs();
}
/** KeIsExecutingDpc - non-zero while a DPC routine runs on the current CPU (4.24). */
static inline LOGICAL KeIsExecutingDpc(void)
{
    return kdpc_KeIsExecutingDpc();
}
/** KeShouldYieldProcessor - TRUE once the current CPU has been at >= DISPATCH_LEVEL longer
 * than kdpc_config.yield_threshold_ns (6.10). IRQL: DISPATCH_LEVEL. */
static inline LOGICAL KeShouldYieldProcessor(void)
{
    return kdpc_KeShouldYieldProcessor();
}

/** KeQueryDpcWatchdogInformation output (6.9); values are clock ticks. */
typedef struct _KDPC_WATCHDOG_INFORMATION {
    ULONG DpcTimeLimit;
    ULONG DpcTimeCount;
    ULONG DpcWatchdogLimit;
    ULONG DpcWatchdogCount;
    ULONG Reserved;
} KDPC_WATCHDOG_INFORMATION, *PKDPC_WATCHDOG_INFORMATION;

KDPC_EXPORT NTSTATUS
kdpc_KeQueryDpcWatchdogInformation(PKDPC_WATCHDOG_INFORMATION WatchdogInformation);
/**
 * KeQueryDpcWatchdogInformation - limits and remaining counts in clock ticks.
 * STATUS_SUCCESS while a DPC runs on the current CPU or the IRQL is >=
 * DISPATCH_LEVEL (the page's remarks, fact 6.9), STATUS_UNSUCCESSFUL otherwise.
 */
static inline NTSTATUS KeQueryDpcWatchdogInformation(PKDPC_WATCHDOG_INFORMATION WatchdogInformation)
{
    return kdpc_KeQueryDpcWatchdogInformation(WatchdogInformation);
}

/* ------------------------------------------------------------------ */
/* Interrupt objects (section 3)                                       */

typedef struct _KINTERRUPT KINTERRUPT, *PKINTERRUPT, *PRKINTERRUPT;

/** ISR prototype. Return TRUE when the device interrupted and was serviced. */
typedef BOOLEAN KSERVICE_ROUTINE(PKINTERRUPT Interrupt, PVOID ServiceContext);
typedef KSERVICE_ROUTINE *PKSERVICE_ROUTINE;
/** SynchCritSection prototype. */
typedef BOOLEAN KSYNCHRONIZE_ROUTINE(PVOID SynchronizeContext);
typedef KSYNCHRONIZE_ROUTINE *PKSYNCHRONIZE_ROUTINE;

typedef enum _KINTERRUPT_MODE { LevelSensitive = 0, Latched = 1 } KINTERRUPT_MODE;

KDPC_EXPORT BOOLEAN kdpc_KeSynchronizeExecution(PKINTERRUPT Interrupt,
                                                PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                                PVOID SynchronizeContext);
KDPC_EXPORT KIRQL kdpc_KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt);
KDPC_EXPORT void kdpc_KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql);

/**
 * KeSynchronizeExecution - run @SynchronizeRoutine at the interrupt's
 * SynchronizeIrql holding its spin lock, then restore IRQL; returns the
 * routine's value unchanged (fact 3.9). IRQL: <= SynchronizeIrql.
 * Bugchecks: sync.irql_too_high (0xC4/0x30) above SynchronizeIrql;
 * obj.invalid when @Interrupt is no connected interrupt object (NULL: 0x1E /
 * 0xA; disconnected, zeroed or garbage memory: 0x50, P1 @Interrupt): looked
 * up, never read. As a warning: FALSE, the routine is not called.
 */
static inline BOOLEAN KeSynchronizeExecution(PKINTERRUPT Interrupt,
                                             PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                             PVOID SynchronizeContext)
{
    return kdpc_KeSynchronizeExecution(Interrupt, SynchronizeRoutine, SynchronizeContext);
}
/** KeAcquireInterruptSpinLock - raise to SynchronizeIrql, take the interrupt lock, return the
 * entry IRQL (3.10). IRQL: <= SynchronizeIrql. Bugchecks: sync.irql_too_high; obj.invalid for
 * no connected interrupt object (as KeSynchronizeExecution; as a warning nothing is taken). An
 * IoDisconnectInterrupt on another CPU waits for the matching release. */
static inline KIRQL KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt)
{
    return kdpc_KeAcquireInterruptSpinLock(Interrupt);
}
/** KeReleaseInterruptSpinLock - release the interrupt lock and lower to @OldIrql (3.10).
 * Bugchecks: spinlock.not_owned; obj.invalid for no interrupt object (a hold taken before a
 * disconnect may still be released). */
static inline void KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql)
{
    kdpc_KeReleaseInterruptSpinLock(Interrupt, OldIrql);
}

/* ------------------------------------------------------------------ */
/* Time                                                                */

KDPC_EXPORT void kdpc_KeStallExecutionProcessor(ULONG MicroSeconds);
KDPC_EXPORT ULONGLONG kdpc_KeQueryInterruptTime(void);
KDPC_EXPORT LARGE_INTEGER kdpc_KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency);

/**
 * KeStallExecutionProcessor - busy-wait @MicroSeconds of virtual time on this
 * CPU (6.4). IRQL: any. Warnings: dpc.stall_too_long (> 100 us in a DPC,
 * > 50 us elsewhere).
 */
static inline void KeStallExecutionProcessor(ULONG MicroSeconds)
{
    kdpc_KeStallExecutionProcessor(MicroSeconds);
}
/** KeQueryInterruptTime - virtual time since the machine started, in 100 ns units. */
static inline ULONGLONG KeQueryInterruptTime(void)
{
    return kdpc_KeQueryInterruptTime();
}
/** KeQueryPerformanceCounter - virtual time in ticks of 100 ns; *PerformanceFrequency gets
 * 10,000,000 when not NULL. IRQL: any. */
static inline LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
    return kdpc_KeQueryPerformanceCounter(PerformanceFrequency);
}

/* ------------------------------------------------------------------ */
/* System threads and affinity                                         */

typedef struct _KTHREAD KTHREAD, *PKTHREAD, *PRKTHREAD;
typedef struct _KTHREAD ETHREAD, *PETHREAD;
typedef struct _OBJECT_ATTRIBUTES OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES; /* <kdpc/wdm/ob.h> */
typedef struct _CLIENT_ID {
    HANDLE UniqueProcess;
    HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;
typedef void KSTART_ROUTINE(PVOID StartContext);
typedef KSTART_ROUTINE *PKSTART_ROUTINE;

#define THREAD_ALL_ACCESS  0x001FFFFFu
#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)

KDPC_EXPORT NTSTATUS kdpc_PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                               POBJECT_ATTRIBUTES ObjectAttributes,
                                               HANDLE ProcessHandle, PCLIENT_ID ClientId,
                                               PKSTART_ROUTINE StartRoutine, PVOID StartContext);
KDPC_EXPORT NTSTATUS kdpc_PsTerminateSystemThread(NTSTATUS ExitStatus);
KDPC_EXPORT PKTHREAD kdpc_KeGetCurrentThread(void);
KDPC_EXPORT KAFFINITY kdpc_KeSetSystemAffinityThreadEx(KAFFINITY Affinity);
KDPC_EXPORT void kdpc_KeRevertToUserAffinityThreadEx(KAFFINITY Affinity);

/**
 * PsCreateSystemThread - start a system thread running StartRoutine(StartContext)
 * at PASSIVE_LEVEL; *ThreadHandle gets a handle to close with ZwClose. The
 * run of the machine waits for the thread. IRQL: PASSIVE_LEVEL.
 * Return: STATUS_SUCCESS, STATUS_INVALID_PARAMETER (NULL handle or routine),
 * STATUS_INSUFFICIENT_RESOURCES.
 */
static inline NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                            POBJECT_ATTRIBUTES ObjectAttributes,
                                            HANDLE ProcessHandle, PCLIENT_ID ClientId,
                                            PKSTART_ROUTINE StartRoutine, PVOID StartContext)
{
    return kdpc_PsCreateSystemThread(ThreadHandle, DesiredAccess, ObjectAttributes, ProcessHandle,
                                     ClientId, StartRoutine, StartContext);
}
/** PsTerminateSystemThread - end the calling system thread; does not return on success.
 * IRQL: PASSIVE_LEVEL. Return: STATUS_INVALID_PARAMETER when not called by a system thread at
 * PASSIVE_LEVEL (for instance from a DPC or ISR running on its stack). */
static inline NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    return kdpc_PsTerminateSystemThread(ExitStatus);
}
/** KeGetCurrentThread - the calling simulated thread. */
static inline PKTHREAD KeGetCurrentThread(void)
{
    return kdpc_KeGetCurrentThread();
}
/** PsGetCurrentThread - the calling simulated thread. */
static inline PETHREAD PsGetCurrentThread(void)
{
    return kdpc_KeGetCurrentThread();
}
/**
 * KeSetSystemAffinityThreadEx - restrict the calling thread to @Affinity
 * (masked with the active CPUs) and move it there before returning. Returns
 * the previous system affinity, 0 when the thread had none. IRQL: <= APC_LEVEL.
 * A mask naming no active CPU is ignored.
 */
static inline KAFFINITY KeSetSystemAffinityThreadEx(KAFFINITY Affinity)
{
    return kdpc_KeSetSystemAffinityThreadEx(Affinity);
}
/** KeRevertToUserAffinityThreadEx - restore the affinity returned by
 * KeSetSystemAffinityThreadEx (0: every CPU). IRQL: <= APC_LEVEL. */
static inline void KeRevertToUserAffinityThreadEx(KAFFINITY Affinity)
{
    kdpc_KeRevertToUserAffinityThreadEx(Affinity);
}

/* Thread priorities (KeSetPriorityThread): 0 is reserved for the system, 16 is the lowest
 * real-time priority, 31 the highest. */
#define LOW_PRIORITY          0
#define LOW_REALTIME_PRIORITY 16
#define HIGH_PRIORITY         31
#define MAXIMUM_PRIORITY      32
typedef LONG KPRIORITY; /* also in dispatcher.h (an identical typedef may repeat) */

KDPC_EXPORT KPRIORITY kdpc_KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority);
KDPC_EXPORT KPRIORITY kdpc_KeQueryPriorityThread(PKTHREAD Thread);

/**
 * KeSetPriorityThread - set @Thread's run-time priority (1..31, usually LOW_REALTIME_PRIORITY)
 * and return the one it had. Every thread starts at 8. IRQL: PASSIVE_LEVEL.
 * Divergence: kdpc's scheduler does not order threads by priority (docs/facts/dpc-irql.md
 * 12.2), so the value is kept and reported, never acted on; the IRQL is not checked.
 * Bugchecks: obj.invalid (0x50, P1 the pointer) when @Thread is not a live thread of the
 * machine; 0x1E with P1 STATUS_INVALID_PARAMETER for a priority outside 1..31.
 */
static inline KPRIORITY KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
    return kdpc_KeSetPriorityThread(Thread, Priority);
}
/** KeQueryPriorityThread - @Thread's current priority. IRQL: <= DISPATCH_LEVEL.
 * Bugchecks: obj.invalid as KeSetPriorityThread. */
static inline KPRIORITY KeQueryPriorityThread(PKTHREAD Thread)
{
    return kdpc_KeQueryPriorityThread(Thread);
}

/* ------------------------------------------------------------------ */
/* Bug checks, debug output, assertions                                */

KDPC_NORETURN KDPC_EXPORT void kdpc_KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1,
                                                 ULONG_PTR BugCheckParameter2,
                                                 ULONG_PTR BugCheckParameter3,
                                                 ULONG_PTR BugCheckParameter4);
KDPC_NORETURN KDPC_EXPORT void kdpc_assert_failed(const char *Expression, const char *File,
                                                  int Line);
KDPC_NORETURN KDPC_EXPORT void kdpc_assert_failed_msg(const char *Message, const char *Expression,
                                                      const char *File, int Line);

/**
 * KeBugCheckEx - stop the machine with the driver's own bug check (rule
 * "ke.bugcheck"); the run returns KDPC_BUGCHECK. Never returns. IRQL: any.
 */
#define KeBugCheckEx kdpc_KeBugCheckEx
/** KeBugCheck - KeBugCheckEx with parameters 0. */
#define KeBugCheck(Code) kdpc_KeBugCheckEx((Code), 0, 0, 0, 0)
/* DbgPrint, DbgPrintEx, KdPrint, KdPrintEx: kdpc/wdm/rtl.h. */
#define DbgBreakPoint() ((void)0)

/**
 * ASSERT - checked when NDEBUG is not defined: a false expression is bug
 * check 0x1E KMODE_EXCEPTION_NOT_HANDLED (P1 STATUS_ASSERTION_FAILURE) with
 * rule "ke.bugcheck", naming the expression, file and line.
 */
#ifdef NDEBUG
#define ASSERT(exp)    ((void)0)
#define NT_ASSERT(exp) ((void)0)
#else
#define ASSERT(exp)    ((exp) ? (void)0 : kdpc_assert_failed(#exp, __FILE__, __LINE__))
#define NT_ASSERT(exp) ASSERT(exp)
#endif

/**
 * ASSERTMSG / NT_ASSERTMSG - ASSERT that also names @msg (a NUL-terminated char string) in the
 * report: a false @exp is bug check 0x1E (P1 STATUS_ASSERTION_FAILURE, rule "ke.bugcheck") with
 * the message, the expression, file and line. Nothing (the expression is not evaluated) when
 * NDEBUG is defined, as in a free build. Divergence: Windows breaks into the debugger, where one
 * may go on; kdpc has no debugger, so the run ends.
 * NT_VERIFY / NT_VERIFYMSG - evaluate @exp in every build, assert it where NT_ASSERT does, and
 * give TRUE or FALSE. IRQL: any.
 */
/* The value of NT_VERIFY in a free build: a call, so that NT_VERIFY(x); as a statement draws no
 * "statement with no effect" warning. */
static inline BOOLEAN kdpc__nt_verify_value(int Holds)
{
    return (BOOLEAN)(Holds != 0);
}
#ifdef NDEBUG
#define ASSERTMSG(msg, exp)    ((void)0)
#define NT_ASSERTMSG(msg, exp) ((void)0)
#define NT_VERIFY(exp)         kdpc__nt_verify_value((exp) ? 1 : 0)
#define NT_VERIFYMSG(msg, exp) kdpc__nt_verify_value((exp) ? 1 : 0)
#else
#define ASSERTMSG(msg, exp)                                                                        \
    ((exp) ? (void)0 : kdpc_assert_failed_msg((msg), #exp, __FILE__, __LINE__))
#define NT_ASSERTMSG(msg, exp) ASSERTMSG(msg, exp)
#define NT_VERIFY(exp)         ((exp) ? TRUE : (kdpc_assert_failed(#exp, __FILE__, __LINE__), FALSE))
#define NT_VERIFYMSG(msg, exp)                                                                     \
    ((exp) ? TRUE : (kdpc_assert_failed_msg((msg), #exp, __FILE__, __LINE__), FALSE))
#endif

KDPC_END_DECLS

#endif /* KDPC_WDM_KE_H */
