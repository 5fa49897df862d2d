/* SPDX-License-Identifier: MIT */
/*
 * ke.h - internal state of the WDM kernel layer: per-CPU DPC queues and
 * watchdog counters, interrupt objects, thread objects, and the helpers
 * every ke/io/ex routine uses (current CPU, IRQL changes, interleaving
 * points with the DPC watchdog).
 *
 * Lock legend: B baton holder only (every field here).
 */
#ifndef KDPC_KE_H
#define KDPC_KE_H

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <kdpc/machine.h>
#include <kdpc/wdm.h>
#include "base/ordset.h"
#include "base/ptrmap.h"
#include "sim/sim.h"
#include "trace/trace.h"
#include "verifier/verifier.h"

/* Defaults of the DPC queue tuning (fact 4.13; ReactOS's values, see there). */
#define KDPC_MAX_DPC_QUEUE_DEPTH  4u
#define KDPC_MIN_DPC_RATE         3u
#define KDPC_IDEAL_DPC_RATE       20u
#define KDPC_ADJUST_DPC_THRESHOLD 20u

/* One driver routine running on a CPU (DPC or ISR), innermost last. */
typedef struct kdpc__frame {
    kdpc_routine_ptr routine;
    uint64_t start_ns; /* CPU's own time when it started */
    uint64_t allot_ns; /* own time the watchdog's allotment runs from: start_ns, then the last
                          dpc.watchdog warning (a warning must not shorten the measured call) */
    void *driver;
} kdpc__frame;

#define KDPC_MAX_FRAMES 32

typedef struct kdpc__kecpu {
    LIST_ENTRY dpc_queue; /* DpcData of a queued KDPC points here */
    ULONG depth;          /* DpcQueueDepth */
    kdpc_machine *m;      /* whose CPU (KeRemoveQueueDpc outside a simulated context) */
    uint64_t dpc_heads;   /* DPCs ever inserted at the head / the tail: their queue positions */
    uint64_t dpc_tails;   /*   for the address index (liveindex.c) */
    bool dpc_active;      /* DpcRoutineActive */
    ULONG dpc_count;      /* DpcCount: successful insertions */
    ULONG dpc_last_count;
    ULONG dpc_rate;          /* DpcRequestRate */
    ULONG max_depth;         /* MaximumDpcQueueDepth */
    ULONG adjust;            /* AdjustDpcThreshold */
    uint64_t dispatch_since; /* own_ns when IRQL rose to >= DISPATCH_LEVEL */
    /* KeSetEvent calls made with no KTHREAD (a DPC on the idle thread), for the dispatch rules */
    ULONG event_sets;
    kdpc__frame frames[KDPC_MAX_FRAMES];
    unsigned nframes;
} kdpc__kecpu;

/* An interrupt object lives from IoConnectInterrupt until it is disconnected and no CPU uses
 * it any more (interrupt.c): `uses` counts the ISR calls, SynchCritSections and interrupt
 * spin lock holds in progress through it. */
struct _KINTERRUPT {
    kdpc_machine *m;
    PKSERVICE_ROUTINE isr;
    PVOID ctx;
    PKSPIN_LOCK lock; /* ActualLock */
    KSPIN_LOCK own_lock;
    ULONG vector;
    KIRQL irql;
    KIRQL sync_irql;
    KINTERRUPT_MODE mode;
    BOOLEAN share;
    KAFFINITY mask;
    void *driver;
    uint64_t seq; /* connect order: a line's chain is sorted by it */
    unsigned uses;
    struct _KINTERRUPT *next_on_line;
    struct _KINTERRUPT *all_next;
    bool connected;     /* on its line; false once a disconnect has begun */
    bool orphaned;      /* disconnected while in use on the disconnecting CPU: last use frees */
    bool storm_noticed; /* isr.storm (claimed, line left asserted) reported once */
};

/* Per-thread wait state (wait.c). */
typedef struct kdpc__waitblock {
    LIST_ENTRY link; /* in the object's Header.WaitListHead */
    struct _KTHREAD *thread;
    PVOID object;
    ULONG index;
} kdpc__waitblock;

#define KDPC_WAIT_SLOTS (MAXIMUM_WAIT_OBJECTS + 1) /* + the thread's timeout timer */

/* The priority every thread starts at (kdpc's choice, docs/facts/dpc-irql.md 12.2). */
#define KDPC_THREAD_START_PRIORITY 8

struct _KTHREAD {
    DISPATCHER_HEADER Header; /* first: a thread object is waitable (signaled when it ends) */
    kdpc__thread *t;
    PKSTART_ROUTINE start;
    PVOID ctx;
    NTSTATUS exit_status;
    void *driver; /* driver on whose behalf it runs (attribution) */
    bool handle_open;
    LONG refs;                 /* ObReferenceObjectByHandle references */
    KAFFINITY system_affinity; /* from KeSetSystemAffinityThreadEx; 0: none */
    KPRIORITY priority;        /* KeSetPriorityThread / KeQueryPriorityThread (not scheduled) */
    /* waits */
    bool waiting;
    WAIT_TYPE wait_type;
    ULONG wait_count;  /* objects, the timeout timer not included */
    bool wait_timeout; /* the timeout timer takes part */
    NTSTATUS wait_status;
    PVOID objects[MAXIMUM_WAIT_OBJECTS];
    kdpc__waitblock blocks[KDPC_WAIT_SLOTS];
    KTIMER timeout; /* the thread's own timer for wait timeouts */
    bool wait_next; /* KeSetEvent(Wait = TRUE) raised IRQL for the next wait */
    KIRQL wait_next_irql;
    LONG critical;  /* KeEnterCriticalRegion depth */
    LONG guarded;   /* KeEnterGuardedRegion depth */
    ULONG fm_owned; /* locks (fastmutex.c): fast mutexes it acquired and has not released */
    /* locks (irqlpair.c): IRQLs saved by its KeRaiseIrql calls not yet lowered, newest last, each
     * with the context (ISR depth, DPC) it was raised in */
    struct {
        KIRQL saved;
        uint8_t isr, dpc;
    } raises[16];
    unsigned nraises;
    ULONG event_sets;    /* dispatch (io/dispatchcheck.c): KeSetEvent calls made on it */
    uintptr_t stack_top; /* frame address where its body started: its stack lies below */
    struct _KTHREAD *all_next, *all_prev;
    bool exited; /* its body ended (t is NULL from then on); freed once no handle or reference
                    is left (thread.c kdpc__ke_thread_reap) */
};

typedef struct kdpc__run_box {
    kdpc_entry_fn *entry;
    void *ctx;
    struct kdpc__run_box *next;
} kdpc__run_box;

/* Kinds of queued objects the address index knows (liveindex.c), in report order. */
typedef enum kdpc__live_kind {
    KDPC_LIVE_DPC,   /* (o1, o2) = (target CPU, position in its queue) */
    KDPC_LIVE_TIMER, /* (due time, set order) */
    KDPC_LIVE_WORK,  /* (worker pool, queue order) */
    KDPC_LIVE_KINDS
} kdpc__live_kind;

/* Queued objects of one kind by address (liveindex.c): the last few queued wait in a small array,
 * oldest first (a DPC queued and run at once never touches the tree), the others in an ordered
 * set. */
#define KDPC_LIVE_STAGE 8u
typedef struct kdpc__liveset {
    kdpc__ordset tree; /* k1 address, k2 o1, aux o2 */
    unsigned nstaged;
    struct {
        uintptr_t addr;
        uint64_t o1, o2;
    } staged[KDPC_LIVE_STAGE];
} kdpc__liveset;

typedef struct kdpc__ke {
    kdpc__kecpu *cpus;
    struct _KINTERRUPT *lines[KDPC_MAX_LINES]; /* chain per line */
    unsigned unclaimed[KDPC_MAX_LINES];        /* level deliveries in a row nobody claimed */
    struct _KINTERRUPT *all_interrupts;
    struct _KTHREAD *all_threads;
    kdpc__ptrmap dpc_owner;      /* KDPC address -> driver that initialised it */
    kdpc__ptrmap dpc_how;        /* queued KDPC -> its KDPC_DPCF_IOREQUEST / _TIMER / _FROM_ISR
                                    bits, while tracing and only when some are set */
    struct kdpc__flush *flushes; /* KeFlushQueuedDpcs calls in progress (freed on a halt) */
    kdpc__run_box *boxes;        /* entries of runs (a timed run may leave one running) */
    /* clock and timers */
    kdpc__ordset timers;                 /* set KTIMERs by (due time, set order): timer.c */
    uint64_t timer_seq;                  /* timers ever set: FIFO among equal due times */
    uint64_t ticks;                      /* clock ticks since boot */
    uint64_t next_tick_ns;               /* the next clock tick (m->next_event_ns may be earlier:
                                            a device event; clock.c) */
    kdpc__ptrmap timer_owner;            /* KTIMER address -> driver that initialised it */
    kdpc__ptrmap timer_queued;           /* KTIMER address -> its node in timers while set */
    kdpc__liveset live[KDPC_LIVE_KINDS]; /* queued objects by address, per kind (liveindex.c) */
    uint64_t work_seq;                   /* work items ever queued: their queue order */
    struct kdpc__extimer *extimers;      /* every EX_TIMER (freed at destroy) */
    kdpc__ptrmap extimer_known;          /* EX_TIMER address -> itself: the calls' check */
    void *workers;                       /* worker pools (worker.c) */
    void *pool;                          /* pool memory (ex/pool.c) */
    void *watch;                         /* watched shared memory (watch.c) */
    void *hal;                           /* I/O space mappings, register sync state (src/hal) */
    volatile sig_atomic_t fault_pending; /* a paged-pool touch at raised IRQL to report */
    void *io;                            /* the I/O layer's state */
    void *cm;                            /* the registry (src/cm) */
    void *intr;                          /* interrupt objects and storm counts (interrupt.c) */
    void *ob;                            /* handle table, object references (src/ob) */
    void *mm;                            /* pages for MDLs (src/mm) */
    /* KTIMER / KDPC set or queued on a thread's stack -> that thread's KTHREAD (objcheck.c) */
    kdpc__ptrmap stack_objs;
    /* An interrupt object leaves its line (disconnect or teardown): the HAL forgets the register
     * history its ISR made (hal/regsync.c sets it; NULL: nobody) */
    void (*intr_disconnected)(kdpc_machine *m, struct _KINTERRUPT *obj);
    /* Did the PnP manager give @driver (a DRIVER_OBJECT) [phys, phys + len) as a translated
     * CmResourceTypeMemory resource of a device stack it is in? (pnp/resources.c sets it; the
     * HAL asks it at MmMapIoSpace; NULL: no PnP) */
    bool (*driver_owns_window)(kdpc_machine *m, const void *driver, uint64_t phys, uint64_t len);
    /* set by the PnP layer: a pool block is freed, the remove-lock records inside it die with it
     * (pnp/removelock.c); NULL: none */
    void (*pool_freed)(kdpc_machine *m, const void *lo, size_t bytes);
    /* area dispatch: set by io (io/queuedcheck.c): spin lock @lock is about to be released
     * (@entry NULL), or ExInterlockedInsert*List put @entry on list @lock; io.queued_before_marked
     * for the IRP of the dispatch routine running here. NULL: no io */
    void (*irp_queued)(kdpc_machine *m, const void *lock, const void *entry);
    /* set by io (io/startio.c): a driver's KeInsert(ByKey)DeviceQueue queued @entry on @queue
     * while tracing (the irp-queue event when @entry is an IRP's); NULL: no io */
    void (*devqueue_inserted)(kdpc_machine *m, const void *queue, const void *entry);
} kdpc__ke;

static inline kdpc__ke *kdpc__ke_of(const kdpc_machine *m)
{
    return (kdpc__ke *)m->ke;
}
static inline kdpc__kecpu *kdpc__kecpu_of(const kdpc__cpu *c)
{
    return (kdpc__kecpu *)c->ke;
}

/* The io hook irp_queued (area dispatch), when io is there. */
static inline void kdpc__ke_irp_queued(kdpc_machine *m, const void *lock, const void *entry)
{
    kdpc__ke *ke = (kdpc__ke *)m->ke;
    if (ke->irp_queued != NULL)
        ke->irp_queued(m, lock, entry);
}

/* Prints the diagnostic for a kernel call made outside simulated code. */
void kdpc__ke_outside(const char *routine);

/* Current simulated context, or NULL after printing one diagnostic for @routine. */
static inline kdpc_machine *kdpc__ke_ctx(const char *routine, kdpc__cpu **cpu)
{
    kdpc__thread *t = kdpc__self();
    /* Not on t's stack: a jump left its run for the host's code (kdpc__abandoned_run). */
    if (t != NULL && !kdpc__on_own_stack(t, (uintptr_t)__builtin_frame_address(0))) {
        (void)kdpc__abandoned_run();
        t = NULL;
    }
    if (t == NULL || t->cpu == NULL) {
        kdpc__ke_outside(routine);
        *cpu = NULL;
        return NULL;
    }
    *cpu = t->cpu;
    return t->m;
}

/* Pool (ex/pool.c). */
int kdpc__pool_init(kdpc_machine *m);
void kdpc__pool_free_all(kdpc_machine *m);                 /* reports leaks to the log */
void kdpc__pool_irql(kdpc_machine *m, const kdpc__cpu *c); /* the running CPU rose: protect */
void kdpc__pool_run_begin(kdpc_machine *m);
void kdpc__pool_run_end(kdpc_machine *m);
bool kdpc__pool_fail(kdpc_machine *m); /* low-resources simulation says: fail this allocation */
void *kdpc__pool_system_va(kdpc_machine *m, void *va); /* locked-MDL system address (7.4) */
/* pool the kernel allocates for a driver to free: not the driver's for mem.leak (ex/pool.c) */
PVOID kdpc__pool_kernel_alloc(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
void kdpc__pool_report_fault(kdpc_machine *m);
/* area: pool - Verifier's pool checks (ex/pool.c, ex/lookaside.c) */
/* Driver @drv (kdpc__ke_current_driver's value, named @name) has unloaded (@report) or failed
 * to load: mem.leak for the blocks it still owns (0xC4/0x62) when @report; they are the
 * machine's afterwards. */
void kdpc__pool_driver_gone(kdpc_machine *m, const void *drv, const UNICODE_STRING *name,
                            bool report);
/* True when [@va, @va + @len) touches paged pool. */
bool kdpc__pool_is_paged(kdpc_machine *m, const void *va, size_t len);
/* Live lookaside lists (lookaside.misuse): note @l initialised (false: it already was), forget it
 * (false: it was not), and ask. */
bool kdpc__pool_lookaside_add(kdpc_machine *m, const void *l);
bool kdpc__pool_lookaside_del(kdpc_machine *m, const void *l);
/* mem.paged_object: @obj (@size bytes, a @kind handed to @routine) lies in paged pool: 0xC4 P1 @p1
 * (0xE1 a synchronization object, 0x131 a work item), P2 the object. Returns as a warning or off. */
void kdpc__pool_paged_object(kdpc_machine *m, const void *obj, size_t size, uint32_t p1,
                             const char *routine, const char *kind);

/* Watched shared memory (watch.c). */
void kdpc__watch_report(kdpc_machine *m);
void kdpc__watch_run_begin(kdpc_machine *m);
void kdpc__watch_run_end(kdpc_machine *m);
void kdpc__watch_free_all(kdpc_machine *m);
/* Watch @bytes of new zeroed memory on pages of its own for sync.unlocked_shared with lock-set
 * state per granule, every touch checked (a device extension: io/device.c); @what names it in
 * reports. NULL
 * when the host refused memory. Freed with kdpc__watch_region_free (or at the machine's end). */
void *kdpc__watch_region(kdpc_machine *m, size_t bytes, const char *what);
void kdpc__watch_region_free(kdpc_machine *m, void *base);
/* Every DPC queued before has run (KeFlushQueuedDpcs): the granules' lock sets start over, as
 * what the DPCs touched happened before what the caller touches next. */
void kdpc__watch_barrier(kdpc_machine *m);

/* A fault handler noted something (fault_pending): report it and close what it opened. */
static inline void kdpc__ke_report_faults(kdpc_machine *m)
{
    kdpc__pool_report_fault(m);
    kdpc__watch_report(m);
}

static inline void kdpc__ke_set_irql(kdpc_machine *m, kdpc__cpu *c, KIRQL irql)
{
    KIRQL old = c->irql;
    c->irql = irql;
    if (old < DISPATCH_LEVEL && irql >= DISPATCH_LEVEL) {
        ((kdpc__kecpu *)c->ke)->dispatch_since = c->own_ns;
        if (((kdpc__ke *)m->ke)->pool != NULL)
            kdpc__pool_irql(m, c);
    }
    kdpc__trace(m, KDPC_EV_IRQL, c, NULL, NULL, irql);
}
/* Interleaving point of a kernel call: DPC watchdog, then the machine's point. */
void kdpc__ke_watchdog(kdpc_machine *m, kdpc__cpu *c);
static inline void kdpc__ke_point(kdpc_machine *m)
{
    if (((kdpc__ke *)m->ke)->fault_pending)
        kdpc__ke_report_faults(m);
    kdpc__cpu *c = kdpc__self()->cpu;
    if (c->irql >= DISPATCH_LEVEL || ((kdpc__kecpu *)c->ke)->nframes != 0)
        kdpc__ke_watchdog(m, c);
    kdpc__sched_point(m);
}
void *kdpc__ke_current_driver(kdpc_machine *m, const kdpc__cpu *c);
static inline void kdpc__ke_push_frame(kdpc__cpu *c, kdpc_routine_ptr routine, void *driver)
{
    kdpc__kecpu *kc = (kdpc__kecpu *)c->ke;
    if (kc->nframes < KDPC_MAX_FRAMES) {
        kdpc__frame *f = &kc->frames[kc->nframes++];
        f->routine = routine;
        f->start_ns = c->own_ns;
        f->allot_ns = c->own_ns;
        f->driver = driver;
    }
    c->routine = routine;
}

/* Returns the routine's duration (time charged on its CPU). */
static inline uint64_t kdpc__ke_pop_frame(kdpc__cpu *c)
{
    kdpc__kecpu *kc = (kdpc__kecpu *)c->ke;
    uint64_t ran = 0;
    if (kc->nframes > 0) {
        kdpc__frame *f = &kc->frames[--kc->nframes];
        ran = c->own_ns - f->start_ns;
    }
    c->routine = kc->nframes > 0 ? kc->frames[kc->nframes - 1].routine : NULL;
    return ran;
}

/* Spin lock core shared by executive, queued and interrupt locks (spinlock.c). */
void kdpc__ke_lock_acquire(kdpc_machine *m, kdpc__cpu *c, PKSPIN_LOCK lock, unsigned kind,
                           PKLOCK_QUEUE_HANDLE handle);
void kdpc__ke_lock_release(kdpc_machine *m, kdpc__cpu *c, PKSPIN_LOCK lock, unsigned kind,
                           PKLOCK_QUEUE_HANDLE handle);

/* DPC internals (dpc.c). */
/* Queue @Dpc as KeInsertQueueDpc on CPU @c; @how: the trace's KDPC_DPCF_IOREQUEST or
 * KDPC_DPCF_TIMER (who queued it), or 0. */
BOOLEAN kdpc__ke_insert_dpc(kdpc_machine *m, kdpc__cpu *c, PRKDPC Dpc, PVOID a1, PVOID a2,
                            unsigned how);
/* KeInsertQueueDpc for IoRequestDpc (the trace marks the DPC KDPC_DPCF_IOREQUEST). */
BOOLEAN kdpc__ke_request_dpc(PRKDPC Dpc, PVOID a1, PVOID a2);
void kdpc__ke_dispatch(kdpc_machine *m, kdpc__cpu *c);
bool kdpc__ke_idle_work(kdpc_machine *m, kdpc__cpu *c);
/* First queued DPC for which match() holds, or NULL. */
PKDPC kdpc__ke_find_queued_dpc(kdpc_machine *m, bool (*match)(PKDPC dpc, void *arg), void *arg);
void *kdpc__ke_dpc_owner(kdpc_machine *m, const KDPC *dpc);
void kdpc__ke_free_flushes(kdpc_machine *m);

/* Interrupts (interrupt.c). */
void kdpc__ke_interrupt(kdpc_machine *m, kdpc__cpu *c, unsigned line);
void kdpc__ke_disconnect_all(kdpc_machine *m);

/* Queued DPCs, set timers and queued work items by address (liveindex.c), for ExFreePool.
 * add and del are O(1) for an object among the last KDPC_LIVE_STAGE queued, else O(log n);
 * first_in is O(log n + k) for k objects of @kind in [lo, hi) and returns the one first in queue
 * order ((o1, o2) as given to add), or NULL. */
void kdpc__ke_live_evict(kdpc__liveset *ls);
void kdpc__ke_live_del_slow(kdpc__liveset *ls, uintptr_t addr);
/* Inline: a DPC round trip costs a few instructions here (the staged array's last entry). */
static inline void kdpc__ke_live_add(kdpc_machine *m, kdpc__live_kind kind, const void *obj,
                                     uint64_t o1, uint64_t o2)
{
    kdpc__liveset *ls = &kdpc__ke_of(m)->live[kind];
    if (ls->nstaged == KDPC_LIVE_STAGE)
        kdpc__ke_live_evict(ls);
    unsigned i = ls->nstaged++;
    ls->staged[i].addr = (uintptr_t)obj;
    ls->staged[i].o1 = o1;
    ls->staged[i].o2 = o2;
}
static inline void kdpc__ke_live_del(kdpc_machine *m, kdpc__live_kind kind, const void *obj)
{
    kdpc__liveset *ls = &kdpc__ke_of(m)->live[kind];
    unsigned n = ls->nstaged;
    if (n != 0 && ls->staged[n - 1].addr == (uintptr_t)obj)
        ls->nstaged = n - 1;
    else
        kdpc__ke_live_del_slow(ls, (uintptr_t)obj);
}
/* For owners that keep a handle (timer.c): straight into the tree, O(log n); removed by handle,
 * O(log n) without a search. NULL when out of host memory. */
static inline kdpc__osnode *kdpc__ke_live_insert(kdpc_machine *m, kdpc__live_kind kind,
                                                 const void *obj, uint64_t o1, uint64_t o2)
{
    kdpc__osnode *n =
        kdpc__ordset_insert(&kdpc__ke_of(m)->live[kind].tree, (uintptr_t)obj, o1, (void *)obj);
    if (n != NULL)
        n->aux = o2;
    return n;
}
static inline void kdpc__ke_live_remove(kdpc_machine *m, kdpc__live_kind kind, kdpc__osnode *n)
{
    kdpc__ordset_remove(&kdpc__ke_of(m)->live[kind].tree, n);
}
void *kdpc__ke_live_first_in(kdpc_machine *m, kdpc__live_kind kind, uintptr_t lo, uintptr_t hi);
void kdpc__ke_live_free(kdpc_machine *m);

/* Clock (clock.c), timers (timer.c), waits (wait.c), workers (worker.c). */
void kdpc__ke_clock_init(kdpc_machine *m);
uint64_t kdpc__ke_due_ns(kdpc_machine *m, LONGLONG due); /* DueTime (100 ns, +abs/-rel) -> ns */
void kdpc__ke_timer_set(kdpc_machine *m, kdpc__cpu *c, PKTIMER t, uint64_t due_ns, PKDPC dpc);
bool kdpc__ke_timer_cancel(kdpc_machine *m, PKTIMER t);
/* Takes @t out of the timer queue whatever its Inserted flag says (a re-initialised timer too),
 * reading and writing nothing in it (a dead stack frame, a block being freed). */
bool kdpc__ke_timer_drop(kdpc_machine *m, const KTIMER *t);
void kdpc__ke_timers_free(kdpc_machine *m);
void kdpc__ke_expire_timers(kdpc_machine *m, uint64_t upto_ns);
bool kdpc__ke_timers_pending(kdpc_machine *m, bool include_periodic, uint64_t *next_due);
void kdpc__ke_signal(kdpc_machine *m, PVOID object); /* object became signaled: satisfy waiters */
NTSTATUS kdpc__ke_wait(kdpc_machine *m, kdpc__cpu *c, ULONG count, PVOID objects[], WAIT_TYPE type,
                       PLARGE_INTEGER timeout, bool checked);
void *kdpc__ke_timer_owner(kdpc_machine *m, const KTIMER *t);
uint64_t kdpc__ke_timer_period_ns(const KTIMER *t); /* extimer.c: KTIMER ms or EX_TIMER's own */
/* extimer.c: the routine a timer's expiry calls (its DPC's, or an EX_TIMER's callback), or NULL */
kdpc_routine_ptr kdpc__ke_timer_routine(const KTIMER *t);
PKTIMER kdpc__ke_find_set_timer(kdpc_machine *m, bool (*match)(PKTIMER t, void *arg), void *arg);
void kdpc__ke_workers_free(kdpc_machine *m);
/* Work items (worker.c). */
/* @routine: the routine the trace names for @item (an I/O work item's driver routine; NULL:
 * item->WorkerRoutine); @device: the DEVICE_OBJECT of an I/O work item, or NULL. */
void kdpc__ke_queue_work(kdpc_machine *m, kdpc__cpu *c, PWORK_QUEUE_ITEM item, WORK_QUEUE_TYPE type,
                         const char *name, kdpc_routine_ptr routine, const void *device);
PWORK_QUEUE_ITEM kdpc__ke_find_queued_work(kdpc_machine *m,
                                           bool (*match)(PWORK_QUEUE_ITEM item, void *arg),
                                           void *arg);
void *kdpc__ke_work_owner(kdpc_machine *m, const void *item);
void kdpc__ke_unqueue_work(kdpc_machine *m, PWORK_QUEUE_ITEM item);
void kdpc__ke_extimers_free(kdpc_machine *m);
kdpc__run_box *kdpc__ke_run_box(kdpc_machine *m, kdpc_entry_fn *entry, void *ctx);

/* Threads (thread.c). */
struct _KTHREAD *kdpc__ke_thread_new(kdpc_machine *m, PKSTART_ROUTINE start, PVOID ctx,
                                     void *driver);
void kdpc__ke_thread_exit_check(kdpc_machine *m, kdpc__thread *t);

/* Object validation (objcheck.c). A garbage, uninitialised, wrong-type or NULL object is
 * reported under obj.invalid before kdpc reads more than its header. Each check returns true
 * when the object may be used; false after a report that the rule's switch softened to a
 * warning or off: the caller then skips the call without touching the object. */
#define KDPC_OBJ_EVENT     (1u << 0)
#define KDPC_OBJ_SEMAPHORE (1u << 1)
#define KDPC_OBJ_MUTEX     (1u << 2)
#define KDPC_OBJ_TIMER     (1u << 3)
#define KDPC_OBJ_THREAD    (1u << 4)
#define KDPC_OBJ_WAITABLE  0x1Fu
/* NULL page, or no user-space address of this host (a 0xCC... pattern): never dereferenced. */
bool kdpc__ke_bad_ptr(const void *p);
/* The routine @fn dereferences @obj + @offset at IRQL @at: NULL is 0x1E (access violation)
 * below DISPATCH_LEVEL, 0xA at or above it. */
bool kdpc__ke_check_ptr(kdpc_machine *m, const void *obj, size_t offset, bool write, KIRQL at,
                        kdpc_routine_ptr fn, const char *routine);
bool kdpc__ke_check_dispatcher(kdpc_machine *m, const void *obj, unsigned kinds,
                               const char *routine);
bool kdpc__ke_check_dpc_slow(kdpc_machine *m, const KDPC *dpc, bool null_ok, const char *routine);
/* A DPC that is not queued, targets no processor and has its Type passes without a call (a DPC
 * round trip checks it each time); anything else goes through the full check. */
static inline bool kdpc__ke_check_dpc(kdpc_machine *m, const KDPC *dpc, bool null_ok,
                                      const char *routine)
{
    uintptr_t u = (uintptr_t)dpc;
    if (u >= 4096u && u < ((uint64_t)1 << 48) && (u & 3u) == 0 && dpc->DpcData == NULL &&
        dpc->Number < MAXIMUM_PROCESSORS &&
        (dpc->Type == DpcObject || dpc->Type == ThreadedDpcObject))
        return true;
    return kdpc__ke_check_dpc_slow(m, dpc, null_ok, routine);
}
bool kdpc__ke_check_spinlock(kdpc_machine *m, const KSPIN_LOCK *lock, const char *routine);
bool kdpc__ke_check_fast_mutex(kdpc_machine *m, const FAST_MUTEX *f, const char *routine);
/* locks (irqlpair.c): KeRaiseIrql pairing. A raise saves @saved for the current context; a
 * KeLowerIrql to @new_irql with no saved raise is irql.lower_unmatched, to another IRQL than the
 * raise saved irql.lower_other. */
void kdpc__ke_raise_note(kdpc__cpu *c, KIRQL saved);
void kdpc__ke_lower_check(kdpc_machine *m, kdpc__cpu *c, KIRQL new_irql);
/* An argument out of its documented range (obj.invalid, 0x1E STATUS_INVALID_PARAMETER); returns
 * when the rule is a warning or off. */
void kdpc__ke_bad_argument(kdpc_machine *m, const char *routine, const void *obj, int64_t value,
                           const char *arg, const char *expected);
/* A KTIMER or KDPC on the calling thread's stack: remembered for its exit (0xC7). */
void kdpc__ke_stack_note(kdpc_machine *m, kdpc__cpu *c, const void *obj);
/* The thread @kt ends: timers and DPCs still set or queued on its stack (thread.c). */
void kdpc__ke_stack_check(kdpc_machine *m, struct _KTHREAD *kt);
/* Free @kt if its thread has ended and no handle, reference or waiter is left. */
void kdpc__ke_thread_reap(kdpc_machine *m, struct _KTHREAD *kt);
/* The KTHREAD of @m at @p (ended or not; thread.c), or NULL: looked up, never read. */
struct _KTHREAD *kdpc__ke_thread_find(kdpc_machine *m, const void *p);

/* A crash of simulated code on t (t->crash) as the bug check Windows raises (crash.c). */
void kdpc__ke_crash(kdpc_machine *m, kdpc__thread *t);
/* What is still alive, for deadlock and timeout reports (alive.c): CPUs, threads and their
 * waits, queued DPCs, set timers, queued work items. */
void kdpc__ke_describe_alive(kdpc_machine *m, FILE *f);

/* IRQL checks of the Ke, Ex and Ps routines (irqlcheck.c; area irql-ke): true when the calling
 * CPU's IRQL suits the routine (or the caller is not simulated code); else the report, and false
 * when it returned as a warning or off. @obj is the object the call is about (P4), or NULL. */
bool kdpc__ke_irql_dispatch_ok(const void *obj, const char *routine); /* irql.ke_dispatch */
/* The same rule for Ke/Ex routines documented at <= DISPATCH_LEVEL that no DDI compliance rule
 * names: P1 0xE5 (Verifier's "kernel API at the wrong IRQL") instead of 0x20011. */
bool kdpc__ke_irql_dispatch_other_ok(const void *obj, const char *routine);
bool kdpc__ke_irql_set_event_ok(const void *event, BOOLEAN wait, const char *routine);
bool kdpc__ke_irql_passive_ok(bool ps, const void *obj, const char *routine); /* ps.passive_irql */
bool kdpc__ke_irql_ex_apc_ok(bool passive_rule, const void *obj, const char *routine);
/* Paged lookaside-list calls (IrqlExApcLte2): true unless @pool_type is paged and the IRQL is
 * above APC_LEVEL (then the irql.ex_apc report, returned from as a warning or off). */
bool kdpc__ke_irql_lookaside_ok(const void *list, unsigned pool_type, const char *paged_routine);
/* KeInitializeTimerEx and KeInitializeDeviceQueue without their IRQL check, for the kernel's own
 * objects (a wait's timeout timer, ExAllocateTimer's timer, IoCreateDevice's queue): the driver's
 * call is checked once, by the routine it called. */
void kdpc__ke_timer_init(PKTIMER Timer, TIMER_TYPE Type);
void kdpc__ke_device_queue_init(PKDEVICE_QUEUE DeviceQueue);
/* ExRaiseStatus for the kernel's own raises: no IRQL check (ex/raise.c). */
KDPC_NORETURN void kdpc__ex_raise_status(NTSTATUS Status);
/* KeSetEvent(Event, 0, FALSE) for the kernel's own use: no IRQL check (wait.c). */
LONG kdpc__ke_event_set(PRKEVENT Event);

/* Layer setup (ke.c). */
int kdpc__ke_init(kdpc_machine *m);
void kdpc__ke_free(kdpc_machine *m);

/* dispatch (io/dispatchcheck.c): a driver's KeSetEvent, counted on the thread it runs on, or on
 * its CPU where that thread has no KTHREAD (a DPC run by the idle thread, which no thread switch
 * interrupts). kdpc__ke_event_sets() reads the count of the caller's context. */
static inline ULONG *kdpc__ke_event_counter(void)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL)
        return NULL;
    if (t->ke != NULL)
        return &((struct _KTHREAD *)t->ke)->event_sets;
    return t->cpu != NULL && t->cpu->ke != NULL ? &kdpc__kecpu_of(t->cpu)->event_sets : NULL;
}
static inline void kdpc__ke_count_event_set(void)
{
    ULONG *n = kdpc__ke_event_counter();
    if (n != NULL)
        (*n)++;
}
static inline ULONG kdpc__ke_event_sets(void)
{
    const ULONG *n = kdpc__ke_event_counter();
    return n != NULL ? *n : 0;
}

/* Routine pointers of any type as kdpc_routine_ptr. */
#define KDPC_RP(fn) ((kdpc_routine_ptr)(void (*)(void))(fn))

/* Device queues (devqueue.c) without the IRQL check of the exported routines: for the I/O
 * manager's own IoStartPacket / IoStartNextPacket (irql-io: io.dispatch_irql). */
BOOLEAN kdpc__ke_insert_device_queue(PKDEVICE_QUEUE DeviceQueue,
                                     PKDEVICE_QUEUE_ENTRY DeviceQueueEntry);
BOOLEAN kdpc__ke_insert_by_key_device_queue(PKDEVICE_QUEUE DeviceQueue,
                                            PKDEVICE_QUEUE_ENTRY DeviceQueueEntry, ULONG SortKey);
PKDEVICE_QUEUE_ENTRY kdpc__ke_remove_device_queue(PKDEVICE_QUEUE DeviceQueue);
PKDEVICE_QUEUE_ENTRY kdpc__ke_remove_by_key_device_queue(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey);

#endif /* KDPC_KE_H */
