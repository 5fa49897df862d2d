/* SPDX-License-Identifier: MIT */
/*
 * kdpc/wdm/timer.h - the clock, KTIMER and timer DPCs, EX_TIMER.
 *
 * Facts: docs/facts/io.md section 1, dpc-irql.md 4.13-4.14. The clock
 * ticks every kdpc_config.clock_tick_ns of virtual time (15.625 ms by
 * default); a timer expires at the first tick at or after its due time, so
 * it is never early and at most one tick late (1.24).
 *
 * Objects (rule obj.invalid): a KTIMER that KeInitializeTimer(Ex) never set
 * up, or a KEVENT passed as one, is 0xC7 TIMER_OR_DPC_INVALID P1 0 (P2 the
 * timer); a NULL one 0xC4/0xE1; a set timer overwritten while queued 0xC7 P1 0
 * at expiry (no switch softens it); a thread that ends with a timer set (or a
 * set timer's KDPC) on its stack 0xC7 P1 0 / 1. A PEX_TIMER that
 * ExAllocateTimer did not return is 0xC7 P1 0. A negative period is 0x1E
 * (STATUS_INVALID_PARAMETER). Switched to a warning or off the call does
 * nothing and returns FALSE (a negative period: one-shot).
 */
#ifndef KDPC_WDM_TIMER_H
#define KDPC_WDM_TIMER_H

#include <kdpc/wdm/types.h>
#include <kdpc/wdm/ke.h>
#include <kdpc/wdm/dispatcher.h>

KDPC_BEGIN_DECLS

typedef enum _TIMER_TYPE { NotificationTimer = 0, SynchronizationTimer = 1 } TIMER_TYPE;

/** Timer object (64 bytes as on x64). */
typedef struct _KTIMER {
    DISPATCHER_HEADER Header;
    ULARGE_INTEGER DueTime; /* kdpc: virtual time of expiry in ns, while set */
    LIST_ENTRY TimerListEntry;
    struct _KDPC *Dpc;
    ULONG Processor; /* CPU that set it: an untargeted DPC runs there */
    LONG Period;     /* ms; 0 one-shot */
} KTIMER, *PKTIMER, *PRKTIMER;
KDPC_STATIC_ASSERT(sizeof(KTIMER) <= 64, "KTIMER stays within 64 bytes as on x64");

/* --- time --- */
KDPC_EXPORT void kdpc_KeQuerySystemTime(PLARGE_INTEGER CurrentTime);
KDPC_EXPORT void kdpc_KeQueryTickCount(PLARGE_INTEGER CurrentCount);
KDPC_EXPORT ULONG kdpc_KeQueryTimeIncrement(void);

/** KeQuerySystemTime - virtual system time (100 ns units since 1601-01-01); the machine boots
 * at kdpc_config.boot_system_time. IRQL: any. */
static inline void KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    kdpc_KeQuerySystemTime(CurrentTime);
}
/** KeQuerySystemTimePrecise - same as KeQuerySystemTime (virtual time is exact). */
static inline void KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)
{
    kdpc_KeQuerySystemTime(CurrentTime);
}
/** KeQueryInterruptTimePrecise - KeQueryInterruptTime; *QpcTimeStamp gets the performance
 * counter. */
static inline ULONGLONG KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp)
{
    if (QpcTimeStamp != NULL)
        *QpcTimeStamp = (ULONG64)kdpc_KeQueryPerformanceCounter(NULL).QuadPart;
    return kdpc_KeQueryInterruptTime();
}
/** KeQueryTickCount - clock ticks since the machine started. IRQL: any. */
static inline void KeQueryTickCount(PLARGE_INTEGER CurrentCount)
{
    kdpc_KeQueryTickCount(CurrentCount);
}
/** KeQueryTimeIncrement - length of a clock tick in 100 ns units (1.25). */
static inline ULONG KeQueryTimeIncrement(void)
{
    return kdpc_KeQueryTimeIncrement();
}

/* --- KTIMER (1.1-1.28) --- */
KDPC_EXPORT void kdpc_KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type);
KDPC_EXPORT BOOLEAN kdpc_KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc);
KDPC_EXPORT BOOLEAN kdpc_KeSetCoalescableTimer(PKTIMER Timer, LARGE_INTEGER DueTime, ULONG Period,
                                               ULONG TolerableDelay, PKDPC Dpc);
KDPC_EXPORT BOOLEAN kdpc_KeCancelTimer(PKTIMER Timer);
KDPC_EXPORT BOOLEAN kdpc_KeReadStateTimer(PKTIMER Timer);

/** KeInitializeTimerEx - not signaled, not set, DueTime 0, Period 0; Header.Type 8
 * (notification) or 9 (synchronization) (1.1, 1.2). IRQL: <= DISPATCH_LEVEL. */
static inline void KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
    kdpc_KeInitializeTimerEx(Timer, Type);
}
/** KeInitializeTimer - KeInitializeTimerEx(Timer, NotificationTimer). */
static inline void KeInitializeTimer(PKTIMER Timer)
{
    kdpc_KeInitializeTimerEx(Timer, NotificationTimer);
}
/**
 * KeSetTimerEx - (re)set the timer: @DueTime negative = relative, >= 0 =
 * absolute system time (100 ns units); @Period in ms (0: one-shot); @Dpc
 * (or NULL) replaces the old association. Returns TRUE iff the timer was set
 * (then it is cancelled first, unsignaled, no DPC) (1.6-1.10). The timer
 * becomes not signaled. A due time now or past expires it inside the call
 * (1.7). On expiry a periodic timer is re-set first, then the timer is
 * signaled (waiters released per 1.3), then the DPC is queued to the CPU
 * its target names, or else the CPU that set the timer (1.11).
 * IRQL: <= DISPATCH_LEVEL.
 */
static inline BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    return kdpc_KeSetTimerEx(Timer, DueTime, Period, Dpc);
}
/** KeSetTimer - KeSetTimerEx with Period 0 (1.5). */
static inline BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)
{
    return kdpc_KeSetTimerEx(Timer, DueTime, 0, Dpc);
}
/**
 * KeSetCoalescableTimer - KeSetTimerEx that may expire up to @TolerableDelay
 * ms late (1.28). kdpc expires it at its due time (a delay of 0 is allowed).
 */
static inline BOOLEAN KeSetCoalescableTimer(PKTIMER Timer, LARGE_INTEGER DueTime, ULONG Period,
                                            ULONG TolerableDelay, PKDPC Dpc)
{
    return kdpc_KeSetCoalescableTimer(Timer, DueTime, Period, TolerableDelay, Dpc);
}
/**
 * KeCancelTimer - TRUE iff the timer was set; it is removed with no signal
 * and no DPC; SignalState is unchanged. An expired one-shot timer gives
 * FALSE even while its DPC is queued or running (1.15). IRQL: <= DISPATCH_LEVEL.
 */
static inline BOOLEAN KeCancelTimer(PKTIMER Timer)
{
    return kdpc_KeCancelTimer(Timer);
}
/** KeReadStateTimer - TRUE when signaled (1.22). IRQL: <= DISPATCH_LEVEL. */
static inline BOOLEAN KeReadStateTimer(PKTIMER Timer)
{
    return kdpc_KeReadStateTimer(Timer);
}

/* --- EX_TIMER (1.29-1.32) --- */
typedef struct _EX_TIMER *PEX_TIMER;
typedef void EXT_CALLBACK(PEX_TIMER Timer, PVOID Context);
typedef EXT_CALLBACK *PEXT_CALLBACK;
typedef void EXT_DELETE_CALLBACK(PVOID Context);
typedef EXT_DELETE_CALLBACK *PEXT_DELETE_CALLBACK;

#define EX_TIMER_HIGH_RESOLUTION     0x4u
#define EX_TIMER_NO_WAKE             0x8u
#define EX_TIMER_NOTIFICATION        0x80000000u
#define EX_TIMER_UNLIMITED_TOLERANCE ((LONGLONG)-1)

typedef struct _EXT_SET_PARAMETERS_V0 {
    ULONG Version;
    ULONG Reserved;
    LONGLONG NoWakeTolerance;
} EXT_SET_PARAMETERS, *PEXT_SET_PARAMETERS;

typedef struct _EXT_DELETE_PARAMETERS {
    ULONG Version;
    ULONG Reserved;
    PEXT_DELETE_CALLBACK DeleteCallback;
    PVOID DeleteContext;
} EXT_DELETE_PARAMETERS, *PEXT_DELETE_PARAMETERS;

static inline void ExInitializeSetTimerParameters(PEXT_SET_PARAMETERS Parameters)
{
    Parameters->Version = 0;
    Parameters->Reserved = 0;
    Parameters->NoWakeTolerance = 0;
}
static inline void ExInitializeDeleteTimerParameters(PEXT_DELETE_PARAMETERS Parameters)
{
    Parameters->Version = 0;
    Parameters->Reserved = 0;
    Parameters->DeleteCallback = NULL;
    Parameters->DeleteContext = NULL;
}

KDPC_EXPORT PEX_TIMER kdpc_ExAllocateTimer(PEXT_CALLBACK Callback, PVOID CallbackContext,
                                           ULONG Attributes);
KDPC_EXPORT BOOLEAN kdpc_ExSetTimer(PEX_TIMER Timer, LONGLONG DueTime, LONGLONG Period,
                                    PEXT_SET_PARAMETERS Parameters);
KDPC_EXPORT BOOLEAN kdpc_ExCancelTimer(PEX_TIMER Timer, PVOID Parameters);
KDPC_EXPORT BOOLEAN kdpc_ExDeleteTimer(PEX_TIMER Timer, BOOLEAN Cancel, BOOLEAN Wait,
                                       PEXT_DELETE_PARAMETERS Parameters);

/**
 * ExAllocateTimer - a timer whose @Callback(Timer, Context) runs at
 * DISPATCH_LEVEL on expiry; synchronization type unless EX_TIMER_NOTIFICATION
 * (1.29). An EX_TIMER is also a waitable object (KeWaitForSingleObject).
 * NULL when out of memory. IRQL: <= DISPATCH_LEVEL.
 * Bugchecks: ke.bugcheck (0xC4) for EX_TIMER_HIGH_RESOLUTION with EX_TIMER_NO_WAKE.
 */
static inline PEX_TIMER ExAllocateTimer(PEXT_CALLBACK Callback, PVOID CallbackContext,
                                        ULONG Attributes)
{
    return kdpc_ExAllocateTimer(Callback, CallbackContext, Attributes);
}
/** ExSetTimer - @DueTime as KeSetTimer; @Period in 100 ns units (not ms; at most once per
 * tick); TRUE iff it cancelled a set timer (1.30). */
static inline BOOLEAN ExSetTimer(PEX_TIMER Timer, LONGLONG DueTime, LONGLONG Period,
                                 PEXT_SET_PARAMETERS Parameters)
{
    return kdpc_ExSetTimer(Timer, DueTime, Period, Parameters);
}
/** ExCancelTimer - TRUE iff it was set (1.31). */
static inline BOOLEAN ExCancelTimer(PEX_TIMER Timer, PVOID Parameters)
{
    return kdpc_ExCancelTimer(Timer, Parameters);
}
/**
 * ExDeleteTimer - disable and free: TRUE if the timer was set and @Cancel
 * cancelled it; a deleted timer makes ExSetTimer / ExCancelTimer no-ops
 * returning FALSE until freed; @Wait waits for a running callback (1.32).
 */
static inline BOOLEAN ExDeleteTimer(PEX_TIMER Timer, BOOLEAN Cancel, BOOLEAN Wait,
                                    PEXT_DELETE_PARAMETERS Parameters)
{
    return kdpc_ExDeleteTimer(Timer, Cancel, Wait, Parameters);
}

KDPC_END_DECLS

#endif /* KDPC_WDM_TIMER_H */
