/* SPDX-License-Identifier: MIT */
/*
 * test_ke_objects.c - garbage, uninitialised and misused KERNEL objects get
 * the outcome Windows + Driver Verifier gives (rule obj.invalid unless
 * noted), never a host crash and never silence; with the rule switched to a
 * warning every call returns safely and the run ends KDPC_OK.
 *
 * CATALOGUE. Variants: N = NULL, Z = zero-filled never initialised, C =
 * 0xCC-filled, W = an object of the wrong type (a KTIMER for a KEVENT, a
 * KEVENT for a KTIMER or FAST_MUTEX, a KDPC for a dispatcher object).
 * Outcome notation: code/P1, "P2=obj" where Windows puts the object there.
 *
 *  dispatcher.h
 *   KeInitializeEvent/Semaphore/Mutex            N 0x1E/STATUS_ACCESS_VIOLATION (P4 = address)
 *                                                Z C W: initialises (stores only), as Windows
 *   KeSetEvent KePulseEvent KeResetEvent         N 0xC4/0xE1 P2=obj;  Z C W 0xC4/0x1002 P2=obj
 *   KeClearEvent KeReadStateEvent                N 0xC4/0xE1;  Z C W 0xC4/0x1002
 *   KeReleaseSemaphore KeReadStateSemaphore      N 0xC4/0xE1;  Z C W 0xC4/0x1002
 *   KeReleaseMutex KeReadStateMutex              N 0xC4/0xE1;  Z C W 0xC4/0x1002
 *   KeWaitForSingleObject                        N 0xC4/0xE1;  Z C 0xC4/0x1002; W (a KDPC) 0x1002
 *   KeWaitForMultipleObjects                     array N 0x1E; an object N/Z: as above
 *   KeInitializeSemaphore(s, -5, -1), (5, 2)     0x1E/STATUS_INVALID_PARAMETER P3=obj
 *   ObDereferenceObject                          N 0x1E;  Z C W (no reference held) 0xC4/0x3F
 *                                                P2=obj, P3 -1 (Verifier's dereference check)
 *   ExInitializeFastMutex                        N 0x1E
 *   ExAcquire/TryToAcquire/ReleaseFastMutex(Unsafe)  N 0xC4/0xE1;  Z C W 0xC4/0x1002 P2=obj
 *  timer.h
 *   KeInitializeTimer(Ex)                        N 0x1E
 *   KeSetTimer(Ex) KeSetCoalescableTimer         N 0xC4/0xE1;  Z C W 0xC7/0 P2=obj
 *   KeCancelTimer KeReadStateTimer               N 0xC4/0xE1;  Z C W 0xC7/0 P2=obj
 *   KeSetTimer with a Z / C / W KDPC             0xC7/1 / 0xC7/3 / 0xC7/1, P2=the DPC
 *   KeSetTimerEx Period -5; Coalescable > MAXLONG  0x1E/STATUS_INVALID_PARAMETER P3=timer
 *   ExSetTimer ExCancelTimer ExDeleteTimer       N 0x1E;  Z C W (not from ExAllocateTimer) 0xC7/0
 *   ExSetTimer Period -1                         0x1E/STATUS_INVALID_PARAMETER
 *   a set KTIMER overwritten (freed, reused)     0xC7/0 at expiry, unswitchable
 *   a thread ends with a timer set on its stack  0xC7/0 P2=timer (local of a returned function
 *                                                too); a set timer whose KDPC is on it 0xC7/1
 *  ke.h
 *   KeInitializeDpc / KeInitializeThreadedDpc    N 0x1E
 *   KeInsertQueueDpc                             N 0xA (P1 = &Number);  Z 0xC7/1 P2=obj
 *                                                C 0xC7/3 (target CPU 0xCCCC-64 does not exist)
 *                                                W (a KTIMER) 0xC7/1
 *   KeRemoveQueueDpc                             N 0xA;  Z 0xC7/1;  C 0xC7/3;  W 0xC7/1
 *   KeSetImportanceDpc KeSetTargetProcessorDpc(Ex)  N 0x1E; Z C W: store one field and read
 *                                                nothing, as Windows: the insert catches them
 *   KeInsertQueueDpc of a DPC with no routine    0xD1 (P3 8: execute address 0)
 *   KeQueryDpcWatchdogInformation(NULL)          0xA (written at DISPATCH_LEVEL; 0x1E below)
 *   KeInitializeSpinLock                         N 0x1E
 *   KeAcquireSpinLock KeReleaseSpinLock
 *   KeAcquireSpinLockAtDpcLevel KeReleaseSpinLockFromDpcLevel KeTryToAcquireSpinLockAtDpcLevel
 *   KeAcquire/ReleaseSpinLockForDpc
 *   KeAcquireInStackQueuedSpinLock(AtDpcLevel, ForDpc)   N 0xC4/0xE1 P2=0;  C 0xC4/0x1002 P2=obj
 *                                                Z: a free lock (KeInitializeSpinLock stores 0)
 *                                                W: any 8 bytes holding 0 or 1 are a lock
 *   KeTestSpinLock                               N 0xC4/0xE1;  Z TRUE;  C W FALSE: it only reads
 *                                                the word, as Windows (2.4)
 *   KeAcquireInStackQueuedSpinLock(&l, NULL)     0x1E (the handle is written)
 *   KeReleaseInStackQueuedSpinLock(NULL)         0x1E;  a C handle 0xC4/0xE1 P2=its lock
 *   KeReleaseSpinLock(&l, 99)                    irql.invalid 0xC4/0x31 (P3 99); as a warning
 *                                                HIGH_LEVEL, never 99
 *   KeRaiseIrql / KeLowerIrql above HIGH_LEVEL   irql.invalid 0xC4/0x30, 0x31
 *   KeRaiseIrql(DISPATCH_LEVEL, NULL)            0xA (P1 0, P2 2, P3 1)
 *  ex.h
 *   ExInterlocked{Insert{Head,Tail},RemoveHead}List, ExInterlocked{Push,Pop}EntryList
 *                                                lock N 0xC4/0xE1, C 0x1002; head N 0xA;
 *                                                head Z C (doubly linked) 0x139/3 P2=head;
 *                                                entry N 0xA
 *  work.h
 *   ExQueueWorkItem                              N 0x1E;  Z 0xE4/7 P2=item;  queue type 99
 *                                                0xE4/6;  C work.requeue 0xE4/1 P2=item
 *   ExInitializeWorkItem                         N: an inline store in the driver: left to
 *                                                the crash containment (ke.crash)
 *
 * Cases tested below: 148 of the lines above (table `cases`; every routine's N case and at
 * least one of its Z / C / W cases, the variants that share a check are not all repeated), each
 * run twice: with the rule's default (the bug check, its code, P1 and the object's address
 * where Windows puts it) and switched to a warning (the call returns, the run ends KDPC_OK with
 * the warning recorded). Plus a set timer overwritten while queued (whatever the switch), the
 * Type / Size values KeInitialize* writes, and correct use that records nothing.
 * Not caught: a pointer that is mapped but points at unrelated memory whose first bytes happen
 * to look like a valid header, and a pointer to unmapped memory that is not NULL and not a
 * 0xCC.. pattern (both left to the crash containment, ke.crash); a timer left set in a
 * function's returned frame is found when the thread ends (or when the frame is overwritten
 * and the queue is walked), not at the return itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define NONE (-1)
#define CC64 0xCCCCCCCCCCCCCCCCull

static union {
    KEVENT e;
    KTIMER t;
    KDPC d;
    KSEMAPHORE s;
    KMUTEX mu;
    FAST_MUTEX f;
    KSPIN_LOCK l;
    LIST_ENTRY le;
    SINGLE_LIST_ENTRY se;
    WORK_QUEUE_ITEM w;
    KLOCK_QUEUE_HANDLE h;
    unsigned char raw[128];
    uint64_t align;
} oc_buf;
static KTIMER oc_timer;
static KSPIN_LOCK oc_lock;
static LIST_ENTRY oc_head, oc_entry;
static void *oc_obj;          /* the object the bad call is handed (expected in a parameter) */
static volatile int oc_after; /* the entry went on after the bad call */

static void *obj_null(void)
{
    return oc_obj = NULL;
}
static void *obj_zero(void)
{
    memset(&oc_buf, 0, sizeof(oc_buf));
    return oc_obj = &oc_buf;
}
static void *obj_cc(void)
{
    memset(&oc_buf, 0xCC, sizeof(oc_buf));
    return oc_obj = &oc_buf;
}
static void *obj_event(void) /* a valid KEVENT where something else is expected */
{
    memset(&oc_buf, 0, sizeof(oc_buf));
    KeInitializeEvent(&oc_buf.e, NotificationEvent, FALSE);
    return oc_obj = &oc_buf;
}
static void *obj_timer(void)
{
    memset(&oc_buf, 0, sizeof(oc_buf));
    KeInitializeTimer(&oc_buf.t);
    return oc_obj = &oc_buf;
}
static void *obj_dpc(void)
{
    memset(&oc_buf, 0, sizeof(oc_buf));
    KeInitializeDpc(&oc_buf.d, NULL, NULL);
    return oc_obj = &oc_buf;
}

static LARGE_INTEGER due_ms(LONGLONG ms)
{
    LARGE_INTEGER d;
    d.QuadPart = -ms * 10000;
    return d;
}

static void OcDpcRoutine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
}

/* One entry per case: set the object up (V = obj_null / obj_zero / ...), make the call. */
#define OC(name, V, call)                                                                          \
    static void name(void *ctx)                                                                    \
    {                                                                                              \
        (void)ctx;                                                                                 \
        void *o = V();                                                                             \
        (void)o;                                                                                   \
        call;                                                                                      \
        oc_after = 1;                                                                              \
    }
/* The same at DISPATCH_LEVEL (the AtDpcLevel family). */
#define OCD(name, V, call) OC(name, V, KIRQL oi_ = KeRaiseIrqlToDpcLevel(); call; KeLowerIrql(oi_))

/* dispatcher.h: events */
OC(EvInitN, obj_null, KeInitializeEvent(o, NotificationEvent, FALSE))
OC(EvSetN, obj_null, (void)KeSetEvent(o, 0, FALSE))
OC(EvSetZ, obj_zero, (void)KeSetEvent(o, 0, FALSE))
OC(EvSetC, obj_cc, (void)KeSetEvent(o, 0, FALSE))
OC(EvSetW, obj_timer, (void)KeSetEvent(o, 0, FALSE))
OC(EvPulseN, obj_null, (void)KePulseEvent(o, 0, FALSE))
OC(EvPulseZ, obj_zero, (void)KePulseEvent(o, 0, FALSE))
OC(EvResetN, obj_null, (void)KeResetEvent(o))
OC(EvResetZ, obj_zero, (void)KeResetEvent(o))
OC(EvResetC, obj_cc, (void)KeResetEvent(o))
OC(EvResetW, obj_timer, (void)KeResetEvent(o))
OC(EvClearN, obj_null, KeClearEvent(o))
OC(EvClearZ, obj_zero, KeClearEvent(o))
OC(EvReadN, obj_null, (void)KeReadStateEvent(o))
OC(EvReadZ, obj_zero, (void)KeReadStateEvent(o))
OC(EvReadC, obj_cc, (void)KeReadStateEvent(o))
OC(EvReadW, obj_timer, (void)KeReadStateEvent(o))
/* semaphores */
OC(SemInitN, obj_null, KeInitializeSemaphore(o, 0, 1))
OC(SemInitNeg, obj_zero, KeInitializeSemaphore(o, -5, -1))
OC(SemInitOver, obj_zero, KeInitializeSemaphore(o, 5, 2))
OC(SemRelN, obj_null, (void)KeReleaseSemaphore(o, 0, 1, FALSE))
OC(SemRelZ, obj_zero, (void)KeReleaseSemaphore(o, 0, 1, FALSE))
OC(SemRelC, obj_cc, (void)KeReleaseSemaphore(o, 0, 1, FALSE))
OC(SemRelW, obj_event, (void)KeReleaseSemaphore(o, 0, 1, FALSE))
OC(SemReadN, obj_null, (void)KeReadStateSemaphore(o))
OC(SemReadZ, obj_zero, (void)KeReadStateSemaphore(o))
OC(SemReadC, obj_cc, (void)KeReadStateSemaphore(o))
/* mutexes */
OC(MuInitN, obj_null, KeInitializeMutex(o, 0))
OC(MuRelN, obj_null, (void)KeReleaseMutex(o, FALSE))
OC(MuRelZ, obj_zero, (void)KeReleaseMutex(o, FALSE))
OC(MuRelC, obj_cc, (void)KeReleaseMutex(o, FALSE))
OC(MuRelW, obj_event, (void)KeReleaseMutex(o, FALSE))
OC(MuReadN, obj_null, (void)KeReadStateMutex(o))
OC(MuReadZ, obj_zero, (void)KeReadStateMutex(o))
OC(ObDerefN, obj_null, ObDereferenceObject(o))
OC(ObDerefZ, obj_zero, ObDereferenceObject(o))
/* waits */
static LARGE_INTEGER oc_poll;
OC(WaitN, obj_null, (void)KeWaitForSingleObject(o, Executive, KernelMode, FALSE, NULL))
OC(WaitZ, obj_zero, (void)KeWaitForSingleObject(o, Executive, KernelMode, FALSE, NULL))
OC(WaitC, obj_cc, (void)KeWaitForSingleObject(o, Executive, KernelMode, FALSE, NULL))
OC(WaitW, obj_dpc, (void)KeWaitForSingleObject(o, Executive, KernelMode, FALSE, NULL))
OC(WaitZTimer, obj_zero,
   (void)KeWaitForSingleObject(&oc_buf.t, Executive, KernelMode, FALSE, &oc_poll))
static void WaitMultiArrayN(void *ctx)
{
    (void)ctx;
    oc_obj = NULL;
    (void)KeWaitForMultipleObjects(2, NULL, WaitAny, Executive, KernelMode, FALSE, &oc_poll, NULL);
    oc_after = 1;
}
static void WaitMultiZ(void *ctx)
{
    (void)ctx;
    KEVENT ok;
    KeInitializeEvent(&ok, NotificationEvent, FALSE);
    PVOID objs[2] = {&ok, obj_zero()};
    (void)KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode, FALSE, &oc_poll, NULL);
    oc_after = 1;
}
static void WaitMultiN(void *ctx)
{
    (void)ctx;
    KEVENT ok;
    KeInitializeEvent(&ok, NotificationEvent, FALSE);
    PVOID objs[2] = {&ok, obj_null()};
    (void)KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode, FALSE, &oc_poll, NULL);
    oc_after = 1;
}
/* fast mutexes */
OC(FmInitN, obj_null, ExInitializeFastMutex(o))
OC(FmAcqN, obj_null, ExAcquireFastMutex(o))
OC(FmAcqZ, obj_zero, ExAcquireFastMutex(o))
OC(FmAcqC, obj_cc, ExAcquireFastMutex(o))
OC(FmAcqW, obj_event, ExAcquireFastMutex(o))
OC(FmTryN, obj_null, (void)ExTryToAcquireFastMutex(o))
OC(FmTryZ, obj_zero, (void)ExTryToAcquireFastMutex(o))
OC(FmRelN, obj_null, ExReleaseFastMutex(o))
OC(FmRelZ, obj_zero, ExReleaseFastMutex(o))
OC(FmRelC, obj_cc, ExReleaseFastMutex(o))
OC(FmAcqUnsafeN, obj_null, ExAcquireFastMutexUnsafe(o))
OC(FmAcqUnsafeZ, obj_zero, ExAcquireFastMutexUnsafe(o))
OC(FmRelUnsafeN, obj_null, ExReleaseFastMutexUnsafe(o))
OC(FmRelUnsafeC, obj_cc, ExReleaseFastMutexUnsafe(o))

/* timer.h */
OC(TmInitN, obj_null, KeInitializeTimerEx(o, NotificationTimer))
OC(TmSetN, obj_null, (void)KeSetTimer(o, due_ms(10), NULL))
OC(TmSetZ, obj_zero, (void)KeSetTimer(o, due_ms(10), NULL))
OC(TmSetC, obj_cc, (void)KeSetTimer(o, due_ms(10), NULL))
OC(TmSetW, obj_event, (void)KeSetTimer(o, due_ms(10), NULL))
OC(TmSetExN, obj_null, (void)KeSetTimerEx(o, due_ms(10), 5, NULL))
OC(TmSetExZ, obj_zero, (void)KeSetTimerEx(o, due_ms(10), 5, NULL))
OC(TmCoalN, obj_null, (void)KeSetCoalescableTimer(o, due_ms(10), 0, 0, NULL))
OC(TmCoalC, obj_cc, (void)KeSetCoalescableTimer(o, due_ms(10), 0, 0, NULL))
OC(TmCancelN, obj_null, (void)KeCancelTimer(o))
OC(TmCancelZ, obj_zero, (void)KeCancelTimer(o))
OC(TmCancelC, obj_cc, (void)KeCancelTimer(o))
OC(TmCancelW, obj_event, (void)KeCancelTimer(o))
OC(TmReadN, obj_null, (void)KeReadStateTimer(o))
OC(TmReadZ, obj_zero, (void)KeReadStateTimer(o))
OC(TmReadC, obj_cc, (void)KeReadStateTimer(o))
OC(TmReadW, obj_event, (void)KeReadStateTimer(o))
OC(TmDpcZ, obj_zero, KeInitializeTimer(&oc_timer); (void)KeSetTimer(&oc_timer, due_ms(10), o);
   (void)KeCancelTimer(&oc_timer))
OC(TmDpcC, obj_cc, KeInitializeTimer(&oc_timer); (void)KeSetTimer(&oc_timer, due_ms(10), o);
   (void)KeCancelTimer(&oc_timer))
OC(TmDpcW, obj_event, KeInitializeTimer(&oc_timer); (void)KeSetTimer(&oc_timer, due_ms(10), o);
   (void)KeCancelTimer(&oc_timer))
OC(TmPeriodNeg, obj_timer, (void)KeSetTimerEx(o, due_ms(10), -5, NULL); (void)KeCancelTimer(o))
OC(TmCoalPeriodBig, obj_timer, (void)KeSetCoalescableTimer(o, due_ms(10), 0x80000000u, 0, NULL);
   (void)KeCancelTimer(o))
OC(ExTmSetN, obj_null, (void)ExSetTimer(o, -10000, 0, NULL))
OC(ExTmSetZ, obj_zero, (void)ExSetTimer(o, -10000, 0, NULL))
OC(ExTmSetW, obj_timer, (void)ExSetTimer(o, -10000, 0, NULL))
OC(ExTmCancelN, obj_null, (void)ExCancelTimer(o, NULL))
OC(ExTmCancelC, obj_cc, (void)ExCancelTimer(o, NULL))
OC(ExTmDeleteN, obj_null, (void)ExDeleteTimer(o, TRUE, FALSE, NULL))
OC(ExTmDeleteZ, obj_zero, (void)ExDeleteTimer(o, TRUE, FALSE, NULL))
static void ExTmPeriodNeg(void *ctx)
{
    (void)ctx;
    PEX_TIMER t = ExAllocateTimer(NULL, NULL, 0);
    oc_obj = t;
    (void)ExSetTimer(t, -10000, -1, NULL);
    (void)ExDeleteTimer(t, TRUE, FALSE, NULL);
    oc_after = 1;
}

/* ke.h: DPCs */
OC(DpcInitN, obj_null, KeInitializeDpc(o, OcDpcRoutine, NULL))
OC(DpcInitThreadedN, obj_null, KeInitializeThreadedDpc(o, OcDpcRoutine, NULL))
OC(DpcInsertN, obj_null, (void)KeInsertQueueDpc(o, NULL, NULL))
OC(DpcInsertZ, obj_zero, (void)KeInsertQueueDpc(o, NULL, NULL))
OC(DpcInsertC, obj_cc, (void)KeInsertQueueDpc(o, NULL, NULL))
OC(DpcInsertW, obj_timer, (void)KeInsertQueueDpc(o, NULL, NULL))
OC(DpcRemoveN, obj_null, (void)KeRemoveQueueDpc(o))
OC(DpcRemoveZ, obj_zero, (void)KeRemoveQueueDpc(o))
OC(DpcRemoveC, obj_cc, (void)KeRemoveQueueDpc(o))
OC(DpcRemoveW, obj_event, (void)KeRemoveQueueDpc(o))
OC(DpcImportanceN, obj_null, KeSetImportanceDpc(o, HighImportance))
OC(DpcTargetN, obj_null, KeSetTargetProcessorDpc(o, 0))
static void DpcTargetExN(void *ctx)
{
    (void)ctx;
    PROCESSOR_NUMBER pn = {0, 0, 0};
    oc_obj = NULL;
    (void)KeSetTargetProcessorDpcEx(NULL, &pn);
    oc_after = 1;
}
OC(DpcImportanceZThenInsert, obj_zero, KeSetImportanceDpc(o, HighImportance);
   (void)KeInsertQueueDpc(o, NULL, NULL))
OC(DpcNoRoutine, obj_dpc, (void)KeInsertQueueDpc(o, NULL, NULL))
OCD(DpcWatchdogInfoN, obj_null, (void)KeQueryDpcWatchdogInformation(o))

/* ke.h: spin locks */
static KLOCK_QUEUE_HANDLE oc_h;
OC(SlInitN, obj_null, KeInitializeSpinLock(o))
OC(SlAcqN, obj_null, KIRQL x_; KeAcquireSpinLock((PKSPIN_LOCK)o, &x_))
OC(SlAcqC, obj_cc, KIRQL x_; KeAcquireSpinLock((PKSPIN_LOCK)o, &x_))
OCD(SlRelN, obj_null, KeReleaseSpinLock(o, DISPATCH_LEVEL))
OCD(SlRelC, obj_cc, KeReleaseSpinLock(o, DISPATCH_LEVEL))
OCD(SlAcqDpcN, obj_null, KeAcquireSpinLockAtDpcLevel(o))
OCD(SlAcqDpcC, obj_cc, KeAcquireSpinLockAtDpcLevel(o))
OCD(SlRelDpcN, obj_null, KeReleaseSpinLockFromDpcLevel(o))
OCD(SlRelDpcC, obj_cc, KeReleaseSpinLockFromDpcLevel(o))
OCD(SlTryN, obj_null, (void)KeTryToAcquireSpinLockAtDpcLevel(o))
OCD(SlTryC, obj_cc, (void)KeTryToAcquireSpinLockAtDpcLevel(o))
OC(SlTestN, obj_null, (void)KeTestSpinLock(o))
OC(SlAcqForDpcN, obj_null, (void)KeAcquireSpinLockForDpc(o))
OC(SlAcqForDpcC, obj_cc, (void)KeAcquireSpinLockForDpc(o))
OC(SlRelForDpcN, obj_null, KeReleaseSpinLockForDpc(o, PASSIVE_LEVEL))
OC(SlQAcqN, obj_null, KeAcquireInStackQueuedSpinLock(o, &oc_h))
OC(SlQAcqC, obj_cc, KeAcquireInStackQueuedSpinLock(o, &oc_h))
OCD(SlQAcqDpcN, obj_null, KeAcquireInStackQueuedSpinLockAtDpcLevel(o, &oc_h))
OC(SlQAcqForDpcN, obj_null, KeAcquireInStackQueuedSpinLockForDpc(o, &oc_h))
static void SlQAcqHandleN(void *ctx)
{
    (void)ctx;
    oc_lock = 0;
    oc_obj = NULL;
    KeAcquireInStackQueuedSpinLock(&oc_lock, NULL);
    oc_after = 1;
}
OC(SlQRelN, obj_null, KeReleaseInStackQueuedSpinLock(o))
OCD(SlQRelDpcN, obj_null, KeReleaseInStackQueuedSpinLockFromDpcLevel(o))
OC(SlQRelForDpcN, obj_null, KeReleaseInStackQueuedSpinLockForDpc(o))
static void SlQRelHandleC(void *ctx)
{
    (void)ctx;
    memset(&oc_buf, 0xCC, sizeof(oc_buf));
    oc_obj = (void *)(uintptr_t)(CC64 & ~(uint64_t)3);
    KeReleaseInStackQueuedSpinLock(&oc_buf.h);
    oc_after = 1;
}
static void SlRelIrql99(void *ctx)
{
    (void)ctx;
    KIRQL old;
    oc_lock = 0;
    oc_obj = NULL;
    KeAcquireSpinLock(&oc_lock, &old);
    KeReleaseSpinLock(&oc_lock, 99);
    if (KeGetCurrentIrql() <= HIGH_LEVEL) /* as a warning: HIGH_LEVEL, never 99 */
        oc_after = 1;
    KeLowerIrql(PASSIVE_LEVEL);
}
static void IrqlRaise16(void *ctx)
{
    (void)ctx;
    KIRQL old;
    oc_obj = NULL;
    KeRaiseIrql(16, &old);
    oc_after = KeGetCurrentIrql() == HIGH_LEVEL;
    KeLowerIrql(old);
}
static void IrqlLower200(void *ctx)
{
    (void)ctx;
    KIRQL old;
    oc_obj = NULL;
    KeRaiseIrql(HIGH_LEVEL, &old);
    KeLowerIrql(200);
    oc_after = KeGetCurrentIrql() == HIGH_LEVEL;
    KeLowerIrql(old);
}
static void IrqlRaiseOldN(void *ctx)
{
    (void)ctx;
    oc_obj = NULL;
    KeRaiseIrql(DISPATCH_LEVEL, NULL);
    KeLowerIrql(PASSIVE_LEVEL);
    oc_after = 1;
}

/* ex.h */
static void init_lists(void)
{
    oc_lock = 0;
    InitializeListHead(&oc_head);
}
OC(IlLockN, obj_null, init_lists(); (void)ExInterlockedInsertHeadList(&oc_head, &oc_entry, o))
OC(IlLockC, obj_cc, init_lists(); (void)ExInterlockedInsertTailList(&oc_head, &oc_entry, o))
OC(IlHeadN, obj_null, init_lists(); (void)ExInterlockedInsertTailList(o, &oc_entry, &oc_lock))
OC(IlHeadZ, obj_zero, init_lists(); (void)ExInterlockedInsertHeadList(o, &oc_entry, &oc_lock))
OC(IlHeadC, obj_cc, init_lists(); (void)ExInterlockedRemoveHeadList(o, &oc_lock))
OC(IlEntryN, obj_null, init_lists(); (void)ExInterlockedInsertHeadList(&oc_head, o, &oc_lock))
OC(IlPushLockN, obj_null, init_lists(); SINGLE_LIST_ENTRY sh = {NULL}; SINGLE_LIST_ENTRY se;
   (void)ExInterlockedPushEntryList(&sh, &se, o))
OC(IlPushHeadN, obj_null, init_lists(); SINGLE_LIST_ENTRY se;
   (void)ExInterlockedPushEntryList(o, &se, &oc_lock))
OC(IlPopHeadC, obj_cc, init_lists(); (void)ExInterlockedPopEntryList(o, &oc_lock))

/* work.h */
static void OcWork(PVOID p)
{
    (void)p;
}
OC(WiQueueN, obj_null, ExQueueWorkItem(o, DelayedWorkQueue))
OC(WiQueueZ, obj_zero, ExQueueWorkItem(o, DelayedWorkQueue))
OC(WiQueueC, obj_cc, ExQueueWorkItem(o, DelayedWorkQueue))
OC(WiQueueType, obj_zero, ExInitializeWorkItem(&oc_buf.w, OcWork, NULL);
   ExQueueWorkItem(o, (WORK_QUEUE_TYPE)99))

/* Timers and DPCs on a stack that goes away */
static void set_local_timer_and_return(void)
{
    KTIMER local;
    KeInitializeTimer(&local);
    oc_obj = &local;
    (void)KeSetTimer(&local, due_ms(50), NULL); /* never cancelled: the frame returns */
}
static void StackTimerReturned(void *ctx)
{
    (void)ctx;
    set_local_timer_and_return();
    oc_after = 1; /* the thread ends here: the timer is on its dead stack */
}
static void StackTimerLive(void *ctx)
{
    (void)ctx;
    KTIMER local;
    KeInitializeTimer(&local);
    oc_obj = &local;
    (void)KeSetTimer(&local, due_ms(50), NULL);
    oc_after = 1; /* the entry returns with it set */
}
static void StackDpcOfTimer(void *ctx)
{
    (void)ctx;
    KDPC local;
    KeInitializeDpc(&local, OcDpcRoutine, NULL);
    KeInitializeTimer(&oc_timer);
    oc_obj = &local;
    (void)KeSetTimer(&oc_timer, due_ms(50), &local);
    oc_after = 1;
}

typedef struct ocase {
    const char *name;
    kdpc_entry_fn *entry;
    const char *rule;
    uint32_t code;
    int64_t p1;   /* NONE: not checked */
    int objparam; /* parameter (0..3) holding the object's address, or NONE */
} ocase;

/* Found when the thread ends, after the entry's last statement. */
static bool at_exit(const ocase *oc)
{
    return oc->entry == StackTimerReturned || oc->entry == StackTimerLive ||
           oc->entry == StackDpcOfTimer;
}

#define OBJ   "obj.invalid"
#define AV    0xC0000005
#define INVAL 0xC000000D

static const ocase cases[] = {
    /* events */
    {"KeInitializeEvent(NULL)", EvInitN, OBJ, 0x1E, AV, 3},
    {"KeSetEvent(NULL)", EvSetN, OBJ, 0xC4, 0xE1, 1},
    {"KeSetEvent(zeroed)", EvSetZ, OBJ, 0xC4, 0x1002, 1},
    {"KeSetEvent(0xCC)", EvSetC, OBJ, 0xC4, 0x1002, 1},
    {"KeSetEvent(a KTIMER)", EvSetW, OBJ, 0xC4, 0x1002, 1},
    {"KePulseEvent(NULL)", EvPulseN, OBJ, 0xC4, 0xE1, 1},
    {"KePulseEvent(zeroed)", EvPulseZ, OBJ, 0xC4, 0x1002, 1},
    {"KeResetEvent(NULL)", EvResetN, OBJ, 0xC4, 0xE1, 1},
    {"KeResetEvent(zeroed)", EvResetZ, OBJ, 0xC4, 0x1002, 1},
    {"KeResetEvent(0xCC)", EvResetC, OBJ, 0xC4, 0x1002, 1},
    {"KeResetEvent(a KTIMER)", EvResetW, OBJ, 0xC4, 0x1002, 1},
    {"KeClearEvent(NULL)", EvClearN, OBJ, 0xC4, 0xE1, 1},
    {"KeClearEvent(zeroed)", EvClearZ, OBJ, 0xC4, 0x1002, 1},
    {"KeReadStateEvent(NULL)", EvReadN, OBJ, 0xC4, 0xE1, 1},
    {"KeReadStateEvent(zeroed)", EvReadZ, OBJ, 0xC4, 0x1002, 1},
    {"KeReadStateEvent(0xCC)", EvReadC, OBJ, 0xC4, 0x1002, 1},
    {"KeReadStateEvent(a KTIMER)", EvReadW, OBJ, 0xC4, 0x1002, 1},
    /* semaphores */
    {"KeInitializeSemaphore(NULL)", SemInitN, OBJ, 0x1E, AV, 3},
    {"KeInitializeSemaphore(-5, -1)", SemInitNeg, OBJ, 0x1E, INVAL, 2},
    {"KeInitializeSemaphore(5, 2)", SemInitOver, OBJ, 0x1E, INVAL, 2},
    {"KeReleaseSemaphore(NULL)", SemRelN, OBJ, 0xC4, 0xE1, 1},
    {"KeReleaseSemaphore(zeroed)", SemRelZ, OBJ, 0xC4, 0x1002, 1},
    {"KeReleaseSemaphore(0xCC)", SemRelC, OBJ, 0xC4, 0x1002, 1},
    {"KeReleaseSemaphore(a KEVENT)", SemRelW, OBJ, 0xC4, 0x1002, 1},
    {"KeReadStateSemaphore(NULL)", SemReadN, OBJ, 0xC4, 0xE1, 1},
    {"KeReadStateSemaphore(zeroed)", SemReadZ, OBJ, 0xC4, 0x1002, 1},
    {"KeReadStateSemaphore(0xCC)", SemReadC, OBJ, 0xC4, 0x1002, 1},
    /* mutexes */
    {"KeInitializeMutex(NULL)", MuInitN, OBJ, 0x1E, AV, 3},
    {"KeReleaseMutex(NULL)", MuRelN, OBJ, 0xC4, 0xE1, 1},
    {"KeReleaseMutex(zeroed)", MuRelZ, OBJ, 0xC4, 0x1002, 1},
    {"KeReleaseMutex(0xCC)", MuRelC, OBJ, 0xC4, 0x1002, 1},
    {"KeReleaseMutex(a KEVENT)", MuRelW, OBJ, 0xC4, 0x1002, 1},
    {"KeReadStateMutex(NULL)", MuReadN, OBJ, 0xC4, 0xE1, 1},
    {"KeReadStateMutex(zeroed)", MuReadZ, OBJ, 0xC4, 0x1002, 1},
    {"ObDereferenceObject(NULL)", ObDerefN, OBJ, 0x1E, AV, 3},
    {"ObDereferenceObject(not referenced)", ObDerefZ, OBJ, 0xC4, 0x3F, 1},
    /* waits */
    {"KeWaitForSingleObject(NULL)", WaitN, OBJ, 0xC4, 0xE1, 1},
    {"KeWaitForSingleObject(zeroed)", WaitZ, OBJ, 0xC4, 0x1002, 1},
    {"KeWaitForSingleObject(0xCC)", WaitC, OBJ, 0xC4, 0x1002, 1},
    {"KeWaitForSingleObject(a KDPC)", WaitW, OBJ, 0xC4, 0x1002, 1},
    {"KeWaitForSingleObject(zeroed KTIMER, poll)", WaitZTimer, OBJ, 0xC4, 0x1002, 1},
    {"KeWaitForMultipleObjects(array NULL)", WaitMultiArrayN, OBJ, 0x1E, AV, 3},
    {"KeWaitForMultipleObjects(one zeroed)", WaitMultiZ, OBJ, 0xC4, 0x1002, 1},
    {"KeWaitForMultipleObjects(one NULL)", WaitMultiN, OBJ, 0xC4, 0xE1, 1},
    /* fast mutexes */
    {"ExInitializeFastMutex(NULL)", FmInitN, OBJ, 0x1E, AV, 3},
    {"ExAcquireFastMutex(NULL)", FmAcqN, OBJ, 0xC4, 0xE1, 1},
    {"ExAcquireFastMutex(zeroed)", FmAcqZ, OBJ, 0xC4, 0x1002, 1},
    {"ExAcquireFastMutex(0xCC)", FmAcqC, OBJ, 0xC4, 0x1002, 1},
    {"ExAcquireFastMutex(a KEVENT)", FmAcqW, OBJ, 0xC4, 0x1002, 1},
    {"ExTryToAcquireFastMutex(NULL)", FmTryN, OBJ, 0xC4, 0xE1, 1},
    {"ExTryToAcquireFastMutex(zeroed)", FmTryZ, OBJ, 0xC4, 0x1002, 1},
    {"ExReleaseFastMutex(NULL)", FmRelN, OBJ, 0xC4, 0xE1, 1},
    {"ExReleaseFastMutex(zeroed)", FmRelZ, OBJ, 0xC4, 0x1002, 1},
    {"ExReleaseFastMutex(0xCC)", FmRelC, OBJ, 0xC4, 0x1002, 1},
    {"ExAcquireFastMutexUnsafe(NULL)", FmAcqUnsafeN, OBJ, 0xC4, 0xE1, 1},
    {"ExAcquireFastMutexUnsafe(zeroed)", FmAcqUnsafeZ, OBJ, 0xC4, 0x1002, 1},
    {"ExReleaseFastMutexUnsafe(NULL)", FmRelUnsafeN, OBJ, 0xC4, 0xE1, 1},
    {"ExReleaseFastMutexUnsafe(0xCC)", FmRelUnsafeC, OBJ, 0xC4, 0x1002, 1},
    /* timers */
    {"KeInitializeTimerEx(NULL)", TmInitN, OBJ, 0x1E, AV, 3},
    {"KeSetTimer(NULL)", TmSetN, OBJ, 0xC4, 0xE1, 1},
    {"KeSetTimer(zeroed)", TmSetZ, OBJ, 0xC7, 0, 1},
    {"KeSetTimer(0xCC)", TmSetC, OBJ, 0xC7, 0, 1},
    {"KeSetTimer(a KEVENT)", TmSetW, OBJ, 0xC7, 0, 1},
    {"KeSetTimerEx(NULL)", TmSetExN, OBJ, 0xC4, 0xE1, 1},
    {"KeSetTimerEx(zeroed)", TmSetExZ, OBJ, 0xC7, 0, 1},
    {"KeSetCoalescableTimer(NULL)", TmCoalN, OBJ, 0xC4, 0xE1, 1},
    {"KeSetCoalescableTimer(0xCC)", TmCoalC, OBJ, 0xC7, 0, 1},
    {"KeCancelTimer(NULL)", TmCancelN, OBJ, 0xC4, 0xE1, 1},
    {"KeCancelTimer(zeroed)", TmCancelZ, OBJ, 0xC7, 0, 1},
    {"KeCancelTimer(0xCC)", TmCancelC, OBJ, 0xC7, 0, 1},
    {"KeCancelTimer(a KEVENT)", TmCancelW, OBJ, 0xC7, 0, 1},
    {"KeReadStateTimer(NULL)", TmReadN, OBJ, 0xC4, 0xE1, 1},
    {"KeReadStateTimer(zeroed)", TmReadZ, OBJ, 0xC7, 0, 1},
    {"KeReadStateTimer(0xCC)", TmReadC, OBJ, 0xC7, 0, 1},
    {"KeReadStateTimer(a KEVENT)", TmReadW, OBJ, 0xC7, 0, 1},
    {"KeSetTimer(t, .., zeroed KDPC)", TmDpcZ, OBJ, 0xC7, 1, 1},
    {"KeSetTimer(t, .., 0xCC KDPC)", TmDpcC, OBJ, 0xC7, 3, 1},
    {"KeSetTimer(t, .., a KEVENT as KDPC)", TmDpcW, OBJ, 0xC7, 1, 1},
    {"KeSetTimerEx(Period -5)", TmPeriodNeg, OBJ, 0x1E, INVAL, 2},
    {"KeSetCoalescableTimer(Period > MAXLONG)", TmCoalPeriodBig, OBJ, 0x1E, INVAL, 2},
    {"ExSetTimer(NULL)", ExTmSetN, OBJ, 0x1E, AV, 3},
    {"ExSetTimer(zeroed)", ExTmSetZ, OBJ, 0xC7, 0, 1},
    {"ExSetTimer(a KTIMER)", ExTmSetW, OBJ, 0xC7, 0, 1},
    {"ExCancelTimer(NULL)", ExTmCancelN, OBJ, 0x1E, AV, 3},
    {"ExCancelTimer(0xCC)", ExTmCancelC, OBJ, 0xC7, 0, 1},
    {"ExDeleteTimer(NULL)", ExTmDeleteN, OBJ, 0x1E, AV, 3},
    {"ExDeleteTimer(zeroed)", ExTmDeleteZ, OBJ, 0xC7, 0, 1},
    {"ExSetTimer(Period -1)", ExTmPeriodNeg, OBJ, 0x1E, INVAL, 2},
    {"thread ends: timer set in a returned frame", StackTimerReturned, OBJ, 0xC7, 0, 1},
    {"thread ends: local timer still set", StackTimerLive, OBJ, 0xC7, 0, 1},
    {"thread ends: set timer's KDPC on its stack", StackDpcOfTimer, OBJ, 0xC7, 1, 1},
    /* DPCs */
    {"KeInitializeDpc(NULL)", DpcInitN, OBJ, 0x1E, AV, 3},
    {"KeInitializeThreadedDpc(NULL)", DpcInitThreadedN, OBJ, 0x1E, AV, NONE},
    {"KeInsertQueueDpc(NULL)", DpcInsertN, OBJ, 0xA, offsetof(KDPC, Number), NONE},
    {"KeInsertQueueDpc(zeroed)", DpcInsertZ, OBJ, 0xC7, 1, 1},
    {"KeInsertQueueDpc(0xCC)", DpcInsertC, OBJ, 0xC7, 3, 1},
    {"KeInsertQueueDpc(a KTIMER)", DpcInsertW, OBJ, 0xC7, 1, 1},
    {"KeRemoveQueueDpc(NULL)", DpcRemoveN, OBJ, 0xA, offsetof(KDPC, Number), NONE},
    {"KeRemoveQueueDpc(zeroed)", DpcRemoveZ, OBJ, 0xC7, 1, 1},
    {"KeRemoveQueueDpc(0xCC)", DpcRemoveC, OBJ, 0xC7, 3, 1},
    {"KeRemoveQueueDpc(a KEVENT)", DpcRemoveW, OBJ, 0xC7, 1, 1},
    {"KeSetImportanceDpc(NULL)", DpcImportanceN, OBJ, 0x1E, AV, NONE},
    {"KeSetTargetProcessorDpc(NULL)", DpcTargetN, OBJ, 0x1E, AV, NONE},
    {"KeSetTargetProcessorDpcEx(NULL)", DpcTargetExN, OBJ, 0x1E, AV, NONE},
    {"KeSetImportanceDpc(zeroed), then inserted", DpcImportanceZThenInsert, OBJ, 0xC7, 1, 1},
    {"KeInsertQueueDpc: no DeferredRoutine", DpcNoRoutine, OBJ, 0xD1, 0, NONE},
    {"KeQueryDpcWatchdogInformation(NULL)", DpcWatchdogInfoN, OBJ, 0xA, 0, NONE},
    /* spin locks */
    {"KeInitializeSpinLock(NULL)", SlInitN, OBJ, 0x1E, AV, 3},
    {"KeAcquireSpinLock(NULL)", SlAcqN, OBJ, 0xC4, 0xE1, 1},
    {"KeAcquireSpinLock(0xCC)", SlAcqC, OBJ, 0xC4, 0x1002, 1},
    {"KeReleaseSpinLock(NULL)", SlRelN, OBJ, 0xC4, 0xE1, 1},
    {"KeReleaseSpinLock(0xCC)", SlRelC, OBJ, 0xC4, 0x1002, 1},
    {"KeAcquireSpinLockAtDpcLevel(NULL)", SlAcqDpcN, OBJ, 0xC4, 0xE1, 1},
    {"KeAcquireSpinLockAtDpcLevel(0xCC)", SlAcqDpcC, OBJ, 0xC4, 0x1002, 1},
    {"KeReleaseSpinLockFromDpcLevel(NULL)", SlRelDpcN, OBJ, 0xC4, 0xE1, 1},
    {"KeReleaseSpinLockFromDpcLevel(0xCC)", SlRelDpcC, OBJ, 0xC4, 0x1002, 1},
    {"KeTryToAcquireSpinLockAtDpcLevel(NULL)", SlTryN, OBJ, 0xC4, 0xE1, 1},
    {"KeTryToAcquireSpinLockAtDpcLevel(0xCC)", SlTryC, OBJ, 0xC4, 0x1002, 1},
    {"KeTestSpinLock(NULL)", SlTestN, OBJ, 0xC4, 0xE1, 1},
    {"KeAcquireSpinLockForDpc(NULL)", SlAcqForDpcN, OBJ, 0xC4, 0xE1, 1},
    {"KeAcquireSpinLockForDpc(0xCC)", SlAcqForDpcC, OBJ, 0xC4, 0x1002, 1},
    {"KeReleaseSpinLockForDpc(NULL)", SlRelForDpcN, OBJ, 0xC4, 0xE1, 1},
    {"KeAcquireInStackQueuedSpinLock(NULL)", SlQAcqN, OBJ, 0xC4, 0xE1, 1},
    {"KeAcquireInStackQueuedSpinLock(0xCC)", SlQAcqC, OBJ, 0xC4, 0x1002, 1},
    {"KeAcquireInStackQueuedSpinLockAtDpcLevel(NULL)", SlQAcqDpcN, OBJ, 0xC4, 0xE1, 1},
    {"KeAcquireInStackQueuedSpinLockForDpc(NULL)", SlQAcqForDpcN, OBJ, 0xC4, 0xE1, 1},
    {"KeAcquireInStackQueuedSpinLock(&l, NULL handle)", SlQAcqHandleN, OBJ, 0x1E, AV, NONE},
    {"KeReleaseInStackQueuedSpinLock(NULL)", SlQRelN, OBJ, 0x1E, AV, NONE},
    {"KeReleaseInStackQueuedSpinLockFromDpcLevel(NULL)", SlQRelDpcN, OBJ, 0xA, NONE, NONE},
    {"KeReleaseInStackQueuedSpinLockForDpc(NULL)", SlQRelForDpcN, OBJ, 0x1E, AV, NONE},
    {"KeReleaseInStackQueuedSpinLock(0xCC handle)", SlQRelHandleC, OBJ, 0xC4, 0xE1, 1},
    {"KeReleaseSpinLock(&l, 99)", SlRelIrql99, "irql.invalid", 0xC4, 0x31, NONE},
    {"KeRaiseIrql(16)", IrqlRaise16, "irql.invalid", 0xC4, 0x30, NONE},
    {"KeLowerIrql(200)", IrqlLower200, "irql.invalid", 0xC4, 0x31, NONE},
    {"KeRaiseIrql(DISPATCH_LEVEL, NULL)", IrqlRaiseOldN, OBJ, 0xA, 0, NONE},
    /* ExInterlocked lists */
    {"ExInterlockedInsertHeadList(.., NULL lock)", IlLockN, OBJ, 0xC4, 0xE1, 1},
    {"ExInterlockedInsertTailList(.., 0xCC lock)", IlLockC, OBJ, 0xC4, 0x1002, 1},
    {"ExInterlockedInsertTailList(NULL head)", IlHeadN, OBJ, 0xA, 0, NONE},
    {"ExInterlockedInsertHeadList(zeroed head)", IlHeadZ, OBJ, 0x139, 3, 1},
    {"ExInterlockedRemoveHeadList(0xCC head)", IlHeadC, OBJ, 0x139, 3, 1},
    {"ExInterlockedInsertHeadList(NULL entry)", IlEntryN, OBJ, 0xA, 0, NONE},
    {"ExInterlockedPushEntryList(.., NULL lock)", IlPushLockN, OBJ, 0xC4, 0xE1, 1},
    {"ExInterlockedPushEntryList(NULL head)", IlPushHeadN, OBJ, 0xA, 0, NONE},
    {"ExInterlockedPopEntryList(0xCC head)", IlPopHeadC, OBJ, 0x139, 3, 1},
    /* work items */
    {"ExQueueWorkItem(NULL)", WiQueueN, OBJ, 0x1E, AV, NONE},
    {"ExQueueWorkItem(zeroed)", WiQueueZ, OBJ, 0xE4, 7, 1},
    {"ExQueueWorkItem(0xCC)", WiQueueC, "work.requeue", 0xE4, 1, 1},
    {"ExQueueWorkItem(.., queue type 99)", WiQueueType, OBJ, 0xE4, 6, 1},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static kdpc_machine *case_machine(void)
{
    memset(&oc_buf, 0, sizeof(oc_buf));
    oc_obj = NULL;
    oc_after = 0;
    oc_poll.QuadPart = 0;
    return kt_machine(1, 7);
}

/* Default: the bug check, its code, P1 and the object's address; the call did not return. */
static void test_case_bugchecks(void **state)
{
    const ocase *oc = *state;
    kdpc_machine *m = case_machine();
    kdpc_status st = kdpc_machine_run(m, oc->entry, NULL);
    KT_ASSERT_BUGCHECK(m, st, oc->rule, oc->code);
    const kdpc_violation *bc = kdpc_machine_bugcheck(m);
    if (oc->p1 != NONE)
        assert_int_equal(bc->params[0], (uint64_t)oc->p1);
    if (oc->objparam != NONE)
        assert_int_equal(bc->params[oc->objparam], (uint64_t)(uintptr_t)oc_obj);
    assert_int_equal(oc_after, at_exit(oc) ? 1 : 0);
    kdpc_machine_destroy(m);
}

/* Warning: recorded; the call returned without crashing kdpc and the run ended OK. */
static void test_case_warns_and_goes_on(void **state)
{
    const ocase *oc = *state;
    kdpc_machine *m = case_machine();
    /* KeLowerIrql above HIGH_LEVEL also lowers "up" (irql.lower_raise): the family warns */
    const char *rule = strcmp(oc->rule, "irql.invalid") == 0 ? "irql.*" : oc->rule;
    assert_int_equal(kdpc_rule_set(m, rule, KDPC_RULE_WARN), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, oc->entry, NULL);
    assert_int_equal(st, KDPC_OK);
    KT_ASSERT_WARNING(m, oc->rule);
    assert_int_equal(oc_after, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* A set timer whose memory is overwritten: caught at expiry, before a link is followed. */

static KTIMER ow_timer;
static KTIMER ow_saved;

static void OverwrittenTimer(void *ctx)
{
    (void)ctx;
    KeInitializeTimer(&ow_timer);
    (void)KeSetTimer(&ow_timer, due_ms(20), NULL);
    ow_saved = ow_timer;
    memset(&ow_timer, 0xCC, sizeof(ow_timer)); /* freed and reused while set */
    LARGE_INTEGER d = due_ms(40);
    (void)KeDelayExecutionThread(KernelMode, FALSE, &d);
    oc_after = 1;
}

static void test_overwritten_set_timer_is_caught_at_expiry_whatever_the_switch(void **state)
{
    (void)state;
    for (int warn = 0; warn < 2; warn++) {
        kdpc_machine *m = case_machine();
        if (warn)
            assert_int_equal(kdpc_rule_set(m, "obj.invalid", KDPC_RULE_WARN), KDPC_OK);
        kdpc_status st = kdpc_machine_run(m, OverwrittenTimer, NULL);
        KT_ASSERT_BUGCHECK(m, st, "obj.invalid", 0xC7);
        const kdpc_violation *bc = kdpc_machine_bugcheck(m);
        assert_int_equal(bc->params[0], 0);
        assert_int_equal(bc->params[1], (uint64_t)(uintptr_t)&ow_timer);
        assert_int_equal(oc_after, 0);
        ow_timer = ow_saved; /* the queue links again, for the machine's teardown */
        kdpc_machine_destroy(m);
    }
}

/* ------------------------------------------------------------------ */
/* Correct use stays quiet                                             */

static KSPIN_LOCK good_lock; /* zero-filled, never KeInitializeSpinLock'ed: a free lock */
static KDPC good_dpc;
static volatile LONG good_runs;

static void GoodDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    good_runs++;
}

static void wait_on_local_timer(void)
{
    KTIMER local; /* on the stack, waited on and expired before the frame returns */
    KeInitializeTimer(&local);
    (void)KeSetTimer(&local, due_ms(20), NULL);
    (void)KeWaitForSingleObject(&local, Executive, KernelMode, FALSE, NULL);
}

static void CorrectUse(void *ctx)
{
    (void)ctx;
    KIRQL old;
    KeAcquireSpinLock(&good_lock, &old);
    KeReleaseSpinLock(&good_lock, old);
    KLOCK_QUEUE_HANDLE h;
    KSPIN_LOCK ql = 0;
    KeAcquireInStackQueuedSpinLock(&ql, &h);
    KeReleaseInStackQueuedSpinLock(&h);
    KSEMAPHORE s;
    KeInitializeSemaphore(&s, 0, 1);
    (void)KeReleaseSemaphore(&s, 0, 1, FALSE);
    (void)KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, NULL);
    KEVENT e;
    KeInitializeEvent(&e, SynchronizationEvent, FALSE);
    (void)KeSetEvent(&e, 0, FALSE);
    (void)KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, NULL);
    KMUTEX mu;
    KeInitializeMutex(&mu, 0);
    (void)KeWaitForSingleObject(&mu, Executive, KernelMode, FALSE, NULL);
    (void)KeReleaseMutex(&mu, FALSE);
    FAST_MUTEX f;
    ExInitializeFastMutex(&f);
    ExAcquireFastMutex(&f);
    ExReleaseFastMutex(&f);
    wait_on_local_timer();
    KTIMER t; /* set and cancelled before the frame returns */
    KeInitializeTimer(&t);
    (void)KeSetTimerEx(&t, due_ms(10), 10, NULL);
    (void)KeCancelTimer(&t);
    KeInitializeDpc(&good_dpc, GoodDpc, NULL);
    (void)KeInsertQueueDpc(&good_dpc, NULL, NULL);
    LIST_ENTRY head, entry;
    InitializeListHead(&head);
    KSPIN_LOCK ll = 0;
    (void)ExInterlockedInsertTailList(&head, &entry, &ll);
    (void)ExInterlockedRemoveHeadList(&head, &ll);
    oc_after = 1;
}

static void test_correct_use_records_nothing(void **state)
{
    (void)state;
    good_runs = 0;
    kdpc_machine *m = case_machine();
    assert_int_equal(kdpc_machine_run(m, CorrectUse, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(good_runs, 1);
    assert_int_equal(oc_after, 1);
    kdpc_machine_destroy(m);
}

/* KeInitialize* sets Type and Size as Windows x64 does (KOBJECTS, size in LONGs). */
static void test_initializers_set_windows_type_and_size(void **state)
{
    (void)state;
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    assert_int_equal(e.Header.Type, 0);
    assert_int_equal(e.Header.Size, 6);
    KeInitializeEvent(&e, SynchronizationEvent, FALSE);
    assert_int_equal(e.Header.Type, 1);
    KSEMAPHORE s;
    KeInitializeSemaphore(&s, 0, 1);
    assert_int_equal(s.Header.Type, 5);
    assert_int_equal(s.Header.Size, 8);
    KMUTEX mu;
    KeInitializeMutex(&mu, 0);
    assert_int_equal(mu.Header.Type, 2);
    assert_int_equal(mu.Header.Size, 14);
    KTIMER t;
    KeInitializeTimerEx(&t, SynchronizationTimer);
    assert_int_equal(t.Header.Type, 9);
    assert_int_equal(t.Header.Size, 16);
    KDPC d;
    KeInitializeDpc(&d, GoodDpc, NULL);
    assert_int_equal(d.Type, 19);
    KeInitializeThreadedDpc(&d, GoodDpc, NULL);
    assert_int_equal(d.Type, 24);
}

int main(void)
{
    static struct CMUnitTest tests[NCASES * 2 + 3];
    static char names[NCASES * 2][112];
    for (size_t i = 0; i < NCASES; i++) {
        for (size_t k = 0; k < 2; k++) {
            struct CMUnitTest *t = &tests[i * 2 + k];
            snprintf(names[i * 2 + k], sizeof(names[0]), "%s: %s", k == 0 ? "bugcheck" : "warn",
                     cases[i].name);
            t->name = names[i * 2 + k];
            t->test_func = k == 0 ? test_case_bugchecks : test_case_warns_and_goes_on;
            t->setup_func = NULL;
            t->teardown_func = NULL;
            t->initial_state = (void *)(uintptr_t)&cases[i];
        }
    }
    tests[NCASES * 2] = (struct CMUnitTest)cmocka_unit_test(
        test_overwritten_set_timer_is_caught_at_expiry_whatever_the_switch);
    tests[NCASES * 2 + 1] = (struct CMUnitTest)cmocka_unit_test(test_correct_use_records_nothing);
    tests[NCASES * 2 + 2] =
        (struct CMUnitTest)cmocka_unit_test(test_initializers_set_windows_type_and_size);
    return _cmocka_run_group_tests("ke_objects", tests, NCASES * 2 + 3, NULL, NULL);
}
