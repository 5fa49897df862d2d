/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/dispatcher.h - dispatcher objects and waits: events, semaphores,
 * mutexes, fast mutexes, critical and guarded regions, KeWaitFor*Object(s),
 * KeDelayExecutionThread, and object references on thread handles.
 *
 * Facts: docs/facts/io.md section 3. A blocked thread frees its CPU
 * for other threads, DPCs and the idle thread; timeouts run on virtual time.
 *
 * Objects (rule obj.invalid): every routine that uses an event, semaphore,
 * mutex, waitable object or fast mutex checks it first: NULL is 0xC4/0xE1
 * (P2 the address), an object whose header KeInitialize* / ExInitialize*
 * never wrote (zero- or 0xCC-filled, another type) 0xC4/0x1002 (P2 the
 * object); KeInitialize*(NULL) faults (0x1E, 0xA at raised IRQL). Switched to
 * a warning or off the call does nothing and returns 0 / FALSE /
 * STATUS_INVALID_PARAMETER.
 */
#ifndef KDPC_WDM_DISPATCHER_H
#define KDPC_WDM_DISPATCHER_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/ke.h>

KDPC_BEGIN_DECLS

/** Header shared by every waitable object (events, semaphores, mutexes, timers, threads). */
typedef struct _DISPATCHER_HEADER {
    UCHAR Type; /* NotificationEvent 0, SynchronizationEvent 1, Mutant 2, Semaphore 5,
                          Thread 6, TimerNotification 8, TimerSynchronization 9 */
    UCHAR Signalling;
    UCHAR Size;
    UCHAR Inserted; /* timers: in the timer queue */
    volatile LONG SignalState;
    LIST_ENTRY WaitListHead;
} DISPATCHER_HEADER, *PDISPATCHER_HEADER;

typedef enum _EVENT_TYPE { NotificationEvent = 0, SynchronizationEvent = 1 } EVENT_TYPE;
typedef enum _KWAIT_REASON { Executive = 0, UserRequest = 6, WrQueue = 15 } KWAIT_REASON;
typedef enum _WAIT_TYPE { WaitAll = 0, WaitAny = 1 } WAIT_TYPE;
#define KernelMode 0
#define UserMode   1
typedef LONG KPRIORITY;

#define IO_NO_INCREMENT      0
#define EVENT_INCREMENT      1
#define SEMAPHORE_INCREMENT  1
#define MUTANT_INCREMENT     1
#define MAXIMUM_WAIT_OBJECTS 64
#define THREAD_WAIT_OBJECTS  3

/** Wait block for KeWaitForMultipleObjects with more than THREAD_WAIT_OBJECTS objects. */
typedef struct _KWAIT_BLOCK {
    LIST_ENTRY WaitListEntry;
    PVOID Thread;
    PVOID Object;
    USHORT WaitKey;
    UCHAR WaitType;
    UCHAR BlockState;
} KWAIT_BLOCK, *PKWAIT_BLOCK;

/** Event object. */
typedef struct _KEVENT {
    DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;

/** Semaphore object. */
typedef struct _KSEMAPHORE {
    DISPATCHER_HEADER Header;
    LONG Limit;
} KSEMAPHORE, *PKSEMAPHORE, *PRKSEMAPHORE;

/** Mutex (mutant) object: recursive for its owner. */
typedef struct _KMUTANT {
    DISPATCHER_HEADER Header;
    LIST_ENTRY MutantListEntry;
    PKTHREAD OwnerThread;
    BOOLEAN Abandoned;
    UCHAR ApcDisable;
} KMUTANT, *PKMUTANT, KMUTEX, *PKMUTEX, *PRKMUTEX;

/** Fast mutex (and guarded mutex): not recursive; owned at APC_LEVEL. */
typedef struct _FAST_MUTEX {
    volatile LONG Count; /* 1 free, 0 owned */
    PKTHREAD Owner;
    ULONG Contention;
    KEVENT Event;
    ULONG OldIrql;
} FAST_MUTEX, *PFAST_MUTEX, KGUARDED_MUTEX, *PKGUARDED_MUTEX;

/* --- events (io.md 3.1-3.5) --- */
KDPC_EXPORT void kdpc_KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);
KDPC_EXPORT LONG kdpc_KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
KDPC_EXPORT LONG kdpc_KeResetEvent(PRKEVENT Event);
KDPC_EXPORT void kdpc_KeClearEvent(PRKEVENT Event);
KDPC_EXPORT LONG kdpc_KeReadStateEvent(PRKEVENT Event);
KDPC_EXPORT LONG kdpc_KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);

/** KeInitializeEvent - Type and State (0/1) as given, no waiters (3.1). IRQL: any. */
static inline void KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    kdpc_KeInitializeEvent(Event, Type, State);
}
/**
 * KeSetEvent - signal; returns the previous SignalState (3.2). A notification
 * event releases every waiter and stays signaled; a synchronization event
 * releases one waiter and is cleared by it (3.4). Wait = TRUE returns at
 * DISPATCH_LEVEL and the next call must be a KeWaitFor* wait, which restores
 * the IRQL (3.3). IRQL: <= DISPATCH_LEVEL (Wait = FALSE), <= APC_LEVEL (TRUE).
 */
static inline LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    return kdpc_KeSetEvent(Event, Increment, Wait);
}
/** KeResetEvent - clear; returns the previous state (3.5). IRQL: <= DISPATCH_LEVEL. */
static inline LONG KeResetEvent(PRKEVENT Event)
{
    return kdpc_KeResetEvent(Event);
}
/** KeClearEvent - clear (3.5). IRQL: <= DISPATCH_LEVEL. */
static inline void KeClearEvent(PRKEVENT Event)
{
    kdpc_KeClearEvent(Event);
}
/** KeReadStateEvent - the current SignalState (3.5). IRQL: any. */
static inline LONG KeReadStateEvent(PRKEVENT Event)
{
    return kdpc_KeReadStateEvent(Event);
}
/** KePulseEvent - release the waiters as KeSetEvent would, then leave the event clear; returns
 * the previous state (3.5). */
static inline LONG KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    return kdpc_KePulseEvent(Event, Increment, Wait);
}

/* --- semaphores (3.10) --- */
KDPC_EXPORT void kdpc_KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit);
KDPC_EXPORT LONG kdpc_KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment,
                                         LONG Adjustment, BOOLEAN Wait);
KDPC_EXPORT LONG kdpc_KeReadStateSemaphore(PRKSEMAPHORE Semaphore);

/** KeInitializeSemaphore - count and limit. IRQL: any. Bugchecks: obj.invalid (0x1E,
 * STATUS_INVALID_PARAMETER) for a Limit <= 0 or a Count < 0 or > Limit. */
static inline void KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
    kdpc_KeInitializeSemaphore(Semaphore, Count, Limit);
}
/**
 * KeReleaseSemaphore - add @Adjustment; returns the previous count. Over the
 * limit the count is unchanged and STATUS_SEMAPHORE_LIMIT_EXCEEDED is
 * raised: kdpc stops the machine with 0x1E (rule ke.bugcheck) (3.10).
 */
static inline LONG KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                                      BOOLEAN Wait)
{
    return kdpc_KeReleaseSemaphore(Semaphore, Increment, Adjustment, Wait);
}
/** KeReadStateSemaphore - the current count. */
static inline LONG KeReadStateSemaphore(PRKSEMAPHORE Semaphore)
{
    return kdpc_KeReadStateSemaphore(Semaphore);
}

/* --- mutexes (3.11) --- */
KDPC_EXPORT void kdpc_KeInitializeMutex(PRKMUTEX Mutex, ULONG Level);
KDPC_EXPORT LONG kdpc_KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait);
KDPC_EXPORT LONG kdpc_KeReadStateMutex(PRKMUTEX Mutex);

/** KeInitializeMutex - signaled, no owner. IRQL: any. */
static inline void KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
    kdpc_KeInitializeMutex(Mutex, Level);
}
/**
 * KeReleaseMutex - one release by the owner; returns the previous
 * SignalState (a mutex acquired 10 times returns -9, -8 ... 0). A release by
 * another thread raises STATUS_MUTANT_NOT_OWNED: 0x1E (ke.bugcheck) (3.11).
 */
static inline LONG KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
    return kdpc_KeReleaseMutex(Mutex, Wait);
}
/** KeReadStateMutex - the current SignalState (1 when free). */
static inline LONG KeReadStateMutex(PRKMUTEX Mutex)
{
    return kdpc_KeReadStateMutex(Mutex);
}

/* --- waits (3.6-3.9) --- */
KDPC_EXPORT NTSTATUS kdpc_KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                                KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                                PLARGE_INTEGER Timeout);
KDPC_EXPORT NTSTATUS kdpc_KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                                   KWAIT_REASON WaitReason,
                                                   KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                                   PLARGE_INTEGER Timeout,
                                                   PKWAIT_BLOCK WaitBlockArray);
KDPC_EXPORT NTSTATUS kdpc_KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                                 PLARGE_INTEGER Interval);

/**
 * KeWaitForSingleObject - wait until @Object is signaled and apply its side
 * effect (clear a synchronization event or timer, take a semaphore unit,
 * own a mutex). @Timeout NULL: forever; *Timeout 0: poll; negative: relative,
 * positive: absolute system time, both in 100 ns units, on virtual time.
 * Return: STATUS_SUCCESS, STATUS_TIMEOUT (3.6).
 * IRQL: <= APC_LEVEL; DISPATCH_LEVEL only with *Timeout == 0 (3.7).
 * Bugchecks: dpc.wait (0xC4/0x3B) for a blocking wait at >= DISPATCH_LEVEL.
 */
static inline NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                             KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                             PLARGE_INTEGER Timeout)
{
    return kdpc_KeWaitForSingleObject(Object, WaitReason, WaitMode, Alertable, Timeout);
}
#define KeWaitForMutexObject KeWaitForSingleObject
/**
 * KeWaitForMultipleObjects - WaitAny returns STATUS_WAIT_0 + i of the lowest
 * signaled index, applying only that object's side effect; WaitAll returns
 * STATUS_SUCCESS once all are signaled, applying every side effect at once
 * (3.8). More than MAXIMUM_WAIT_OBJECTS, or more than THREAD_WAIT_OBJECTS
 * without a WaitBlockArray, is bug check 0xC (rule wait.objects).
 */
static inline NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                                KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                                BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                                PKWAIT_BLOCK WaitBlockArray)
{
    return kdpc_KeWaitForMultipleObjects(Count, Object, WaitType, WaitReason, WaitMode, Alertable,
                                         Timeout, WaitBlockArray);
}
/**
 * KeDelayExecutionThread - sleep for @Interval (negative: relative, positive:
 * absolute, 100 ns units) of virtual time; never wakes early. Returns
 * STATUS_SUCCESS. IRQL: <= APC_LEVEL (3.9). Bugchecks: dpc.wait above it.
 */
static inline NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                              PLARGE_INTEGER Interval)
{
    return kdpc_KeDelayExecutionThread(WaitMode, Alertable, Interval);
}

/* --- fast mutexes, guarded mutexes, critical and guarded regions (3.12) --- */
KDPC_EXPORT void kdpc_ExInitializeFastMutex(PFAST_MUTEX FastMutex);
KDPC_EXPORT void kdpc_ExAcquireFastMutex(PFAST_MUTEX FastMutex);
KDPC_EXPORT BOOLEAN kdpc_ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex);
KDPC_EXPORT void kdpc_ExReleaseFastMutex(PFAST_MUTEX FastMutex);
KDPC_EXPORT void kdpc_ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex);
KDPC_EXPORT void kdpc_ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex);
KDPC_EXPORT void kdpc_KeEnterCriticalRegion(void);
KDPC_EXPORT void kdpc_KeLeaveCriticalRegion(void);
KDPC_EXPORT void kdpc_KeEnterGuardedRegion(void);
KDPC_EXPORT void kdpc_KeLeaveGuardedRegion(void);
KDPC_EXPORT BOOLEAN kdpc_KeAreApcsDisabled(void);
KDPC_EXPORT BOOLEAN kdpc_KeAreAllApcsDisabled(void);

/** ExInitializeFastMutex - free. IRQL: <= DISPATCH_LEVEL. */
static inline void ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
    kdpc_ExInitializeFastMutex(FastMutex);
}
/**
 * ExAcquireFastMutex - raise to APC_LEVEL (the old IRQL is kept in the
 * mutex) and own it, blocking while another thread owns it. Not recursive:
 * a second acquire by the owner blocks forever (a deadlock). IRQL: <= APC_LEVEL.
 * Bugchecks: sync.apc_irql (0xC4/0x33) above APC_LEVEL.
 */
static inline void ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    kdpc_ExAcquireFastMutex(FastMutex);
}
/** ExTryToAcquireFastMutex - as ExAcquireFastMutex but FALSE at once when owned (by anyone). */
static inline BOOLEAN ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    return kdpc_ExTryToAcquireFastMutex(FastMutex);
}
/** ExReleaseFastMutex - release and restore the saved IRQL. IRQL: APC_LEVEL.
 * Bugchecks: sync.apc_irql (0xC4/0x34) at another IRQL. */
static inline void ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
    kdpc_ExReleaseFastMutex(FastMutex);
}
/** ExAcquireFastMutexUnsafe - own it without changing IRQL (caller at APC_LEVEL or in a
 * critical region). */
static inline void ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    kdpc_ExAcquireFastMutexUnsafe(FastMutex);
}
/** ExReleaseFastMutexUnsafe - release without changing IRQL. */
static inline void ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    kdpc_ExReleaseFastMutexUnsafe(FastMutex);
}
#define KeInitializeGuardedMutex   ExInitializeFastMutex
#define KeAcquireGuardedMutex      ExAcquireFastMutex
#define KeReleaseGuardedMutex      ExReleaseFastMutex
#define KeTryToAcquireGuardedMutex ExTryToAcquireFastMutex

/** KeEnterCriticalRegion - disable normal kernel APCs for this thread (counted).
 * IRQL: <= APC_LEVEL. Bugchecks: sync.apc_irql (0xC4/0x11A) above it. */
static inline void KeEnterCriticalRegion(void)
{
    kdpc_KeEnterCriticalRegion();
}
/** KeLeaveCriticalRegion - undo one KeEnterCriticalRegion. Bugchecks: sync.apc_irql (0x11B). */
static inline void KeLeaveCriticalRegion(void)
{
    kdpc_KeLeaveCriticalRegion();
}
/** KeEnterGuardedRegion - disable all kernel APCs for this thread (counted). */
static inline void KeEnterGuardedRegion(void)
{
    kdpc_KeEnterGuardedRegion();
}
/** KeLeaveGuardedRegion - undo one KeEnterGuardedRegion. */
static inline void KeLeaveGuardedRegion(void)
{
    kdpc_KeLeaveGuardedRegion();
}
/** KeAreApcsDisabled - TRUE inside a critical or guarded region (not for spin locks: 2.16). */
static inline BOOLEAN KeAreApcsDisabled(void)
{
    return kdpc_KeAreApcsDisabled();
}
/** KeAreAllApcsDisabled - TRUE inside a guarded region or at IRQL >= APC_LEVEL (2.16). */
static inline BOOLEAN KeAreAllApcsDisabled(void)
{
    return kdpc_KeAreAllApcsDisabled();
}

KDPC_END_DECLS

#endif /* KDPC_WDM_DISPATCHER_H */
