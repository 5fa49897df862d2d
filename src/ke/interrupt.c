/* SPDX-License-Identifier: MIT */
/*
 * interrupt.c - interrupt objects: IoConnectInterrupt(Ex),
 * IoDisconnectInterrupt(Ex), ISR dispatch on a line, KeSynchronizeExecution
 * and the interrupt spin lock (dpc-irql.md section 3).
 *
 * An ISR runs nested on the stack of the thread on the CPU that takes the
 * interrupt, at the object's SynchronizeIrql, holding its ActualLock (3.3).
 * Shared lines: LevelSensitive stops at the first ISR that claims the
 * interrupt; Latched keeps passing over the chain until a whole pass in
 * which no ISR claimed it (3.6: Divergence from ReactOS, which looks only at
 * the last ISR; this is what Windows is believed to do). An unshared line
 * calls its one ISR once.
 *
 * Lifetime. Every object of a machine is on ke->all_interrupts from
 * IoConnectInterrupt until it is freed; `uses` counts what is in flight
 * through it on any CPU (an ISR call, a SynchCritSection, a
 * KeAcquireInterruptSpinLock hold, each counted before its lock is taken).
 * IoDisconnectInterrupt takes the object off its line at once (no delivery
 * starts after that; a delivery walking the chain picks its next object
 * afresh, by connect order) and then spins, as Windows does, until no use is
 * left and no CPU holds the ActualLock; only then is the memory freed. A
 * pointer handed to these routines is looked up among the live objects and
 * never followed, so NULL, garbage, zero- or 0xCC-filled memory and objects
 * disconnected already are reported (isr.object_invalid) instead of read.
 *
 * Storms (3.7), on a level-triggered line:
 *  - unclaimed: the line is still asserted after a delivery in which no ISR
 *    claimed it; storm_threshold of them in a row is bug check 0xF2. With the
 *    rule off or a warning, kdpc deasserts the stuck line afterwards (Windows
 *    would hang), so a run always ends.
 *  - claimed but never cleared: an ISR claims the interrupt and the line is
 *    still asserted after the delivery, storm_threshold times in a row on one
 *    CPU with no virtual time charged on that CPU between two deliveries
 *    (nothing else ran there). Also 0xF2, P1/P2/P3 naming the claiming ISR.
 *    As a warning it is reported once per interrupt object and the deliveries
 *    go on, as on Windows: the run's step or time limit ends it (KDPC_TIMEOUT).
 *  Divergence: Windows counts interrupts per unit of time; kdpc counts in a
 *  row so the outcome does not depend on costs.
 */
#include <stdlib.h>

#include "ke/ke.h"
#include "trace/stats.h"
#include "verifier/ddiirql.h"

/* Claimed deliveries in a row of one level line on one CPU (isr.storm, claimed form). */
typedef struct storm_row {
    unsigned line;   /* line + 1; 0: no row */
    unsigned count;  /* deliveries in the row */
    uint64_t end_ns; /* the CPU's own time when the last one ended */
} storm_row;

typedef struct intr_state {
    kdpc__ptrmap retired; /* address -> itself: interrupt objects freed by a disconnect */
    uint64_t next_seq;
    storm_row *rows; /* per CPU */
} intr_state;

static intr_state *state_of(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (ke->intr == NULL) {
        intr_state *st = calloc(1, sizeof(*st));
        if (st == NULL)
            return NULL;
        st->rows = calloc(m->ncpu, sizeof(*st->rows));
        if (st->rows == NULL) {
            free(st);
            return NULL;
        }
        ke->intr = st;
    }
    return ke->intr;
}

static void configure_line(kdpc_machine *m, unsigned line)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    struct _KINTERRUPT *head = ke->lines[line];
    if (head == NULL) {
        kdpc__line_config(m, line, false, false, 0, 0);
        return;
    }
    KIRQL irql = 0;
    uint64_t mask = 0;
    for (struct _KINTERRUPT *i = head; i != NULL; i = i->next_on_line) {
        if (i->irql > irql)
            irql = i->irql;
        mask |= i->mask;
    }
    kdpc__line_config(m, line, true, head->mode == LevelSensitive, irql, mask);
}

/* IoConnectInterrupt's work, for it and IoConnectInterruptEx (@routine: the one the driver
 * called, which made its own IRQL check). */
static NTSTATUS connect_line(kdpc_machine *m, kdpc__cpu *c, const char *routine,
                             PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                             PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql,
                             KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                             BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                             BOOLEAN FloatingSave)
{
    if (InterruptObject == NULL || ServiceRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    /* A garbage output pointer is written on Windows: an access violation (obj.invalid). */
    if (!kdpc__ke_check_ptr(m, InterruptObject, 0, true, c->irql, KDPC_RP(kdpc_IoConnectInterrupt),
                            routine))
        return STATUS_INVALID_PARAMETER;
    uint64_t active = m->ncpu >= 64 ? ~0ull : ((1ull << m->ncpu) - 1u);
    if (Vector >= KDPC_MAX_LINES || Irql <= DISPATCH_LEVEL || Irql > HIGH_LEVEL ||
        SynchronizeIrql < Irql || SynchronizeIrql > HIGH_LEVEL || FloatingSave ||
        (InterruptMode != LevelSensitive && InterruptMode != Latched) ||
        (ProcessorEnableMask & active) == 0)
        return STATUS_INVALID_PARAMETER;
    kdpc__ke *ke = kdpc__ke_of(m);
    for (struct _KINTERRUPT *i = ke->lines[Vector]; i != NULL; i = i->next_on_line) {
        if (!ShareVector || !i->share || i->mode != InterruptMode)
            return STATUS_INVALID_PARAMETER;
    }
    intr_state *st = state_of(m);
    struct _KINTERRUPT *obj = st != NULL ? calloc(1, sizeof(*obj)) : NULL;
    if (obj == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    kdpc__ptrmap_del(&st->retired, (uintptr_t)obj); /* the address is an object again */
    obj->m = m;
    obj->isr = ServiceRoutine;
    obj->ctx = ServiceContext;
    obj->lock = SpinLock != NULL ? SpinLock : &obj->own_lock;
    obj->vector = Vector;
    obj->irql = Irql;
    obj->sync_irql = SynchronizeIrql;
    obj->mode = InterruptMode;
    obj->share = ShareVector;
    obj->mask = ProcessorEnableMask & active;
    obj->driver = kdpc__ke_current_driver(m, c);
    obj->seq = ++st->next_seq;
    obj->connected = true;
    struct _KINTERRUPT **tail = &ke->lines[Vector];
    while (*tail != NULL)
        tail = &(*tail)->next_on_line;
    *tail = obj;
    obj->all_next = ke->all_interrupts;
    ke->all_interrupts = obj;
    *InterruptObject = obj;
    configure_line(m, Vector);
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

NTSTATUS kdpc_IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                                 PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector,
                                 KIRQL Irql, KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                                 BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                                 BOOLEAN FloatingSave)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoConnectInterrupt", &c);
    if (m == NULL || InterruptObject == NULL || ServiceRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoConnectInterrupt", 0); /* IrqlIoPassive2; goes on */
    return connect_line(m, c, "IoConnectInterrupt", InterruptObject, ServiceRoutine, ServiceContext,
                        SpinLock, Vector, Irql, SynchronizeIrql, InterruptMode, ShareVector,
                        ProcessorEnableMask, FloatingSave);
}

/* Off its line: no delivery starts on it from now on. */
static void unlink_from_line(kdpc_machine *m, struct _KINTERRUPT *obj)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    for (struct _KINTERRUPT **p = &ke->lines[obj->vector]; *p != NULL; p = &(*p)->next_on_line) {
        if (*p == obj) {
            *p = obj->next_on_line;
            break;
        }
    }
    obj->next_on_line = NULL;
    obj->connected = false;
    configure_line(m, obj->vector);
    if (ke->intr_disconnected != NULL)
        ke->intr_disconnected(m, obj);
}

static void free_object(kdpc_machine *m, struct _KINTERRUPT *obj, bool remember)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    if (obj->connected)
        unlink_from_line(m, obj);
    for (struct _KINTERRUPT **p = &ke->all_interrupts; *p != NULL; p = &(*p)->all_next) {
        if (*p == obj) {
            *p = obj->all_next;
            break;
        }
    }
    if (obj->lock == &obj->own_lock && m->ver != NULL)
        kdpc__lock_forget(m, &obj->own_lock);
    intr_state *st = ke->intr;
    if (remember && st != NULL)
        (void)kdpc__ptrmap_put(&st->retired, (uintptr_t)obj, obj);
    kdpc__trace_forget(m, obj, sizeof(*obj)); /* trace number and name of the object */
    free(obj);
}

/* The object @p names, if it is one of @m's (in any state), else NULL. Never reads *p. */
static struct _KINTERRUPT *find(kdpc_machine *m, const void *p)
{
    for (struct _KINTERRUPT *i = kdpc__ke_of(m)->all_interrupts; i != NULL; i = i->all_next) {
        if ((const void *)i == p)
            return i;
    }
    return NULL;
}

/*
 * @p as a usable interrupt object of @m: connected, or (for @any_state) merely not freed yet.
 * Otherwise obj.invalid and NULL (when the rule is a warning or off: the caller skips the call).
 * @fn is the kdpc routine that would dereference @p.
 *
 * A NULL or unusable address (kdpc__ke_bad_ptr) is what the dereference raises on Windows
 * (0x1E below DISPATCH_LEVEL, 0xA at or above it, as for every object). Divergence: any other
 * address that is not a live interrupt object (zero- or 0xCC-filled memory, an object
 * disconnected already) Windows reads, faulting only where its memory is unmapped; kdpc looks
 * the pointer up among the live objects, never reads it, and reports 0x50
 * PAGE_FAULT_IN_NONPAGED_AREA with P1 the pointer, P2 0 (a read), P3 the caller's address and
 * P4 0 (freed: disconnected already) or 2 (never an interrupt object).
 */
static struct _KINTERRUPT *usable(kdpc_machine *m, const kdpc__cpu *c, const void *p,
                                  bool any_state, kdpc_routine_ptr fn, const char *routine,
                                  uintptr_t caller)
{
    struct _KINTERRUPT *i = find(m, p);
    if (i != NULL && (i->connected || any_state))
        return i;
    if (kdpc__ke_bad_ptr(p)) {
        (void)kdpc__ke_check_ptr(m, p, 0, false, c->irql, fn, routine);
        return NULL;
    }
    intr_state *st = kdpc__ke_of(m)->intr;
    bool freed = i != NULL || (st != NULL && kdpc__ptrmap_get(&st->retired, (uintptr_t)p) != NULL);
    kdpc__violation(m, KDPC_R_OBJ_INVALID, 0x50, (uintptr_t)p, 0, caller, freed ? 0u : 2u, NULL,
                    "%s: PKINTERRUPT %p is %s", routine, p,
                    freed ? "an interrupt object that was disconnected already"
                          : "no interrupt object that IoConnectInterrupt returned "
                            "(uninitialised, zeroed or garbage memory?)");
    return NULL;
}

/* One use of @obj ended: the last use of an orphaned object frees it. */
static void use_end(kdpc_machine *m, struct _KINTERRUPT *obj)
{
    if (obj->uses > 0)
        obj->uses--;
    if (obj->uses == 0 && obj->orphaned)
        free_object(m, obj, true);
}

static bool lock_held_by_any(kdpc_machine *m, const struct _KINTERRUPT *obj)
{
    const kdpc__lock *l = m->ver != NULL ? kdpc__lock_find(m, obj->lock) : NULL;
    return l != NULL && l->owner >= 0;
}

typedef struct quiet_arg {
    kdpc_machine *m;
    struct _KINTERRUPT *obj;
} quiet_arg;

/* Spin predicate of a disconnect: no CPU uses the object or holds its lock. */
static bool quiet(void *p)
{
    const quiet_arg *a = p;
    return a->obj->uses == 0 && !lock_held_by_any(a->m, a->obj);
}

#define DDI_IRQL_IO_PASSIVE4 0x0002000Du /* 0xC4 P1: IrqlIoPassive4 (IoDisconnectInterrupt) */
#define DEADLOCK_SELF        0x1000u     /* 0xC4 P1: self-deadlock (Deadlock Detection) */

static void disconnect(kdpc_machine *m, kdpc__cpu *c, struct _KINTERRUPT *obj, const char *routine)
{
    const kdpc__lock *l = m->ver != NULL ? kdpc__lock_find(m, obj->lock) : NULL;
    bool self = l != NULL && l->owner == (int)c->index;
    /* Divergence: on Windows a disconnect from the interrupt's own ISR, or with its spin lock
     * held on the same CPU, waits for itself forever (Verifier's DDI check would first object
     * to the IRQL). kdpc names the self-deadlock: 0xC4 with the Deadlock Detection code for
     * a self-deadlock, 0x1000, P2 the interrupt's spin lock, P3 the interrupt object. As a
     * warning or off, the object is taken off its line at once and freed when this CPU's own
     * use of it ends. */
    if (self)
        kdpc__violation(m, KDPC_R_ISR_DISCONNECT_SELF, 0xC4, DEADLOCK_SELF, (uintptr_t)obj->lock,
                        (uintptr_t)obj, 0, NULL,
                        "%s from inside the interrupt's own ISR or with its spin lock %p held on "
                        "this CPU: it waits until no CPU runs the ISR or holds the lock, so it "
                        "would wait for itself forever",
                        routine, (void *)obj->lock);
    if (c->irql > PASSIVE_LEVEL)
        kdpc__violation(m, KDPC_R_ISR_DISCONNECT_IRQL, 0xC4, DDI_IRQL_IO_PASSIVE4, c->irql,
                        (uintptr_t)obj, 0, NULL,
                        "%s called at IRQL %u; it must be called at PASSIVE_LEVEL", routine,
                        (unsigned)c->irql);
    unlink_from_line(m, obj);
    if (self) {
        if (obj->uses == 0)
            free_object(m, obj, true);
        else
            obj->orphaned = true;
        return;
    }
    quiet_arg a = {m, obj};
    if (!quiet(&a))
        kdpc__spin_until(m, quiet, &a, obj->lock);
    free_object(m, obj, true);
}

void kdpc_IoDisconnectInterrupt(PKINTERRUPT InterruptObject)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoDisconnectInterrupt", &c);
    if (m == NULL)
        return;
    struct _KINTERRUPT *obj =
        usable(m, c, InterruptObject, false, KDPC_RP(kdpc_IoDisconnectInterrupt),
               "IoDisconnectInterrupt", (uintptr_t)__builtin_return_address(0));
    if (obj != NULL)
        disconnect(m, c, obj, "IoDisconnectInterrupt");
    kdpc__ke_point(m);
}

void kdpc__ke_disconnect_all(kdpc_machine *m)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    while (ke->all_interrupts != NULL)
        free_object(m, ke->all_interrupts, false);
    intr_state *st = ke->intr;
    if (st != NULL) {
        kdpc__ptrmap_free(&st->retired);
        free(st->rows);
        free(st);
        ke->intr = NULL;
    }
}

NTSTATUS kdpc_IoConnectInterruptEx(PIO_CONNECT_INTERRUPT_PARAMETERS Parameters)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoConnectInterruptEx", &c);
    if (m == NULL || Parameters == NULL)
        return STATUS_INVALID_PARAMETER;
    if (!kdpc__ke_check_ptr(m, Parameters, 0, false, c->irql, KDPC_RP(kdpc_IoConnectInterruptEx),
                            "IoConnectInterruptEx"))
        return STATUS_INVALID_PARAMETER;
    /* io.passive_irql under its own name (IrqlIoPassive2, as IoConnectInterrupt); goes on */
    (void)kdpc__ddi_irql_ok(m, c->irql, "IoConnectInterruptEx", 0);
    if (Parameters->Version == CONNECT_LINE_BASED || Parameters->Version == CONNECT_MESSAGE_BASED)
        return STATUS_NOT_SUPPORTED;
    if (Parameters->Version != CONNECT_FULLY_SPECIFIED &&
        Parameters->Version != CONNECT_FULLY_SPECIFIED_GROUP)
        return STATUS_INVALID_PARAMETER;
    PIO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS p = &Parameters->FullySpecified;
    if (Parameters->Version == CONNECT_FULLY_SPECIFIED_GROUP && p->Group != 0)
        return STATUS_INVALID_PARAMETER;
    return connect_line(m, c, "IoConnectInterruptEx", p->InterruptObject, p->ServiceRoutine,
                        p->ServiceContext, p->SpinLock, p->Vector, p->Irql, p->SynchronizeIrql,
                        p->InterruptMode, p->ShareVector, p->ProcessorEnableMask, p->FloatingSave);
}

void kdpc_IoDisconnectInterruptEx(PIO_DISCONNECT_INTERRUPT_PARAMETERS Parameters)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoDisconnectInterruptEx", &c);
    if (m == NULL)
        return;
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    if (!kdpc__ke_check_ptr(m, Parameters, 0, false, c->irql, KDPC_RP(kdpc_IoDisconnectInterruptEx),
                            "IoDisconnectInterruptEx")) {
        /* obj.invalid as a warning or off: nothing to read */
    } else if (Parameters->Version == CONNECT_FULLY_SPECIFIED ||
               Parameters->Version == CONNECT_FULLY_SPECIFIED_GROUP) {
        struct _KINTERRUPT *obj =
            usable(m, c, Parameters->ConnectionContext.InterruptObject, false,
                   KDPC_RP(kdpc_IoDisconnectInterruptEx), "IoDisconnectInterruptEx", caller);
        if (obj != NULL)
            disconnect(m, c, obj, "IoDisconnectInterruptEx");
    }
    kdpc__ke_point(m);
}

/* ------------------------------------------------------------------ */
/* Delivery                                                            */

#define ISR_UNIQUE_VALUE 3u /* 0xC8 UniqueValue for an ISR (7.8) */
#define RULE_SPINLOCK    0x00040009u

/* One ISR call; @i is in use meanwhile, and may be freed by the time this returns. */
static BOOLEAN call_isr(kdpc_machine *m, kdpc__cpu *c, struct _KINTERRUPT *i, KIRQL line_irql)
{
    i->uses++;
    if (i->sync_irql > c->irql)
        kdpc__ke_set_irql(m, c, i->sync_irql);
    kdpc__ke_lock_acquire(m, c, i->lock, KDPC_LOCK_INTERRUPT, NULL);
    c = kdpc__cur_cpu();
    unsigned held_before = kdpc__locks_held(m, c);
    kdpc__ke_push_frame(c, KDPC_RP(i->isr), i->driver);
    kdpc__trace(m, KDPC_EV_ISR_BEGIN, c, i, KDPC_RP(i->isr), i->vector);
    BOOLEAN r = i->isr(i, i->ctx);
    if (kdpc__ke_of(m)->fault_pending)
        kdpc__ke_report_faults(m);
    uint64_t ran = kdpc__ke_pop_frame(c);
    kdpc__trace2(m, KDPC_EV_ISR_END, c, i, KDPC_RP(i->isr), r, ran);
    kdpc__stats_routine(m, KDPC_ROUTINE_ISR, KDPC_RP(i->isr), ran, c->index);
    if (c->irql != i->sync_irql) {
        KIRQL now = c->irql;
        kdpc__violation(m, KDPC_R_ISR_IRQL_CHANGED, 0xC8,
                        ((uint64_t)now << 16) | ((uint64_t)i->sync_irql << 8) | ISR_UNIQUE_VALUE,
                        kdpc__fnaddr(KDPC_RP(i->isr)), (uintptr_t)i, 0, KDPC_RP(i->isr),
                        "ISR returned at IRQL %u; it runs and must return at its SynchronizeIrql "
                        "%u",
                        (unsigned)now, (unsigned)i->sync_irql);
        kdpc__ke_set_irql(m, c, i->sync_irql);
    }
    unsigned held_after = kdpc__locks_held(m, c);
    if (held_after > held_before) {
        kdpc__lock *l = kdpc__lock_held_at(m, c, held_after - 1);
        kdpc__violation(m, KDPC_R_DPC_LOCK_HELD, 0xC4, RULE_SPINLOCK, l->addr, (uintptr_t)i, 0,
                        KDPC_RP(i->isr),
                        "ISR returned holding spin lock %#lx; every lock it takes must be "
                        "released before it returns",
                        (unsigned long)l->addr);
    }
    kdpc__ke_lock_release(m, c, i->lock, KDPC_LOCK_INTERRUPT, NULL);
    if (ran > m->cfg.isr_time_limit_ns)
        kdpc__violation(m, KDPC_R_ISR_TOO_LONG, 0, ran, m->cfg.isr_time_limit_ns, 0, 0,
                        KDPC_RP(i->isr),
                        "one ISR call ran %llu.%03llu us (guideline: at most %llu us)",
                        (unsigned long long)(ran / 1000u), (unsigned long long)(ran % 1000u),
                        (unsigned long long)(m->cfg.isr_time_limit_ns / 1000u));
    kdpc__ke_set_irql(m, c, line_irql);
    use_end(m, i);
    return r;
}

/* The first object on @line connected after @seq, or NULL. The chain is in connect order. */
static struct _KINTERRUPT *next_after(kdpc__ke *ke, unsigned line, uint64_t seq)
{
    for (struct _KINTERRUPT *i = ke->lines[line]; i != NULL; i = i->next_on_line) {
        if (i->seq > seq)
            return i;
    }
    return NULL;
}

/* What a delivery remembers of the ISR that claimed it (the object may be gone after). */
typedef struct claimant {
    struct _KINTERRUPT *obj;
    kdpc_routine_ptr isr;
    PVOID ctx;
} claimant;

static void storm_unclaimed(kdpc_machine *m, unsigned line, bool chained)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    struct _KINTERRUPT *head = ke->lines[line];
    if (head == NULL || ++ke->unclaimed[line] < m->cfg.storm_threshold)
        return;
    ke->unclaimed[line] = 0;
    kdpc__violation(m, KDPC_R_ISR_STORM, 0xF2, kdpc__fnaddr(KDPC_RP(head->isr)),
                    (uintptr_t)head->ctx, (uintptr_t)head, chained ? 2u : 1u, KDPC_RP(head->isr),
                    "level-triggered line %u stayed asserted through %u deliveries that no ISR "
                    "claimed: an interrupt storm",
                    line, m->cfg.storm_threshold);
    /* Divergence: with isr.storm off or a warning, Windows would hang in the storm; kdpc
     * deasserts the stuck line so the run can go on. */
    kdpc__line_set(m, line, false);
}

/* A claimed delivery of a level line that is still asserted: one more in this CPU's row. */
static void storm_claimed(kdpc_machine *m, kdpc__cpu *c, unsigned line, bool chained,
                          uint64_t start_ns, const claimant *who)
{
    intr_state *st = kdpc__ke_of(m)->intr;
    storm_row *row = &st->rows[c->index];
    if (row->line == line + 1u && row->end_ns == start_ns) {
        row->count++;
    } else {
        row->line = line + 1u;
        row->count = 1;
    }
    row->end_ns = c->own_ns;
    if (row->count < m->cfg.storm_threshold)
        return;
    row->count = 0;
    struct _KINTERRUPT *obj = find(m, who->obj); /* may have been disconnected meanwhile */
    if (obj == NULL || obj->storm_noticed)
        return;
    obj->storm_noticed = true; /* as a warning: once per object; the deliveries go on */
    kdpc__violation(m, KDPC_R_ISR_STORM, 0xF2, kdpc__fnaddr(who->isr), (uintptr_t)who->ctx,
                    (uintptr_t)obj, chained ? 2u : 1u, who->isr,
                    "level-triggered line %u: the ISR claimed %u deliveries in a row on CPU %u "
                    "but the line stayed asserted after each, with nothing else running there "
                    "in between: the ISR does not make its device drop the interrupt (an "
                    "interrupt storm)",
                    line, m->cfg.storm_threshold, c->index);
}

void kdpc__ke_interrupt(kdpc_machine *m, kdpc__cpu *c, unsigned line)
{
    kdpc__ke *ke = kdpc__ke_of(m);
    struct _KINTERRUPT *head = ke->lines[line];
    if (head == NULL)
        return;
    uint64_t start_ns = c->own_ns;
    KIRQL old = c->irql;
    KIRQL line_irql = 0;
    for (struct _KINTERRUPT *i = head; i != NULL; i = i->next_on_line)
        line_irql = i->irql > line_irql ? i->irql : line_irql;
    bool latched = head->mode == Latched;
    bool chained = head->next_on_line != NULL;
    bool claimed_any = false;
    claimant who = {NULL, NULL, NULL};
    c->isr_depth++;
    kdpc__ke_set_irql(m, c, line_irql);
    for (unsigned pass = 0;; pass++) {
        bool claimed_pass = false;
        /* Objects may be disconnected (or connected) while an ISR runs: each step looks the
         * next object up in the live chain, never through one that may be gone. */
        uint64_t seq = 0;
        for (struct _KINTERRUPT *i = next_after(ke, line, 0); i != NULL;
             i = next_after(ke, line, seq)) {
            seq = i->seq;
            if (!((i->mask >> c->index) & 1u))
                continue;
            claimant cur = {i, KDPC_RP(i->isr), i->ctx};
            if (call_isr(m, c, i, line_irql)) {
                c = kdpc__cur_cpu();
                claimed_pass = true;
                claimed_any = true;
                who = cur;
                if (!latched)
                    break;
            }
            c = kdpc__cur_cpu();
        }
        if (!latched || !chained || !claimed_pass || pass > 64)
            break;
    }
    kdpc__ke_set_irql(m, c, old);
    c->isr_depth--;
    intr_state *st = ke->intr;
    if (latched) {
        st->rows[c->index].line = 0;
        return;
    }
    bool asserted = kdpc__line_asserted(m, line);
    if (!claimed_any && asserted) {
        st->rows[c->index].line = 0;
        storm_unclaimed(m, line, chained);
        return;
    }
    ke->unclaimed[line] = 0;
    if (claimed_any && asserted)
        storm_claimed(m, c, line, chained, start_ns, &who);
    else
        st->rows[c->index].line = 0;
}

/* ------------------------------------------------------------------ */
/* Synchronization with the ISR                                        */

static void check_sync_irql(kdpc_machine *m, kdpc__cpu *c, struct _KINTERRUPT *i, const char *n)
{
    if (c->irql > i->sync_irql)
        kdpc__violation(m, KDPC_R_SYNC_IRQL_TOO_HIGH, 0xC4, 0x30, c->irql, i->sync_irql, 0, NULL,
                        "%s called at IRQL %u, above the interrupt's SynchronizeIrql %u", n,
                        (unsigned)c->irql, (unsigned)i->sync_irql);
}

BOOLEAN kdpc_KeSynchronizeExecution(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                    PVOID SynchronizeContext)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeSynchronizeExecution", &c);
    if (m == NULL)
        return FALSE;
    struct _KINTERRUPT *i =
        usable(m, c, Interrupt, false, KDPC_RP(kdpc_KeSynchronizeExecution),
               "KeSynchronizeExecution", (uintptr_t)__builtin_return_address(0));
    if (i == NULL || SynchronizeRoutine == NULL)
        return FALSE;
    KIRQL old = c->irql;
    check_sync_irql(m, c, i, "KeSynchronizeExecution");
    i->uses++;
    kdpc__ke_set_irql(m, c, i->sync_irql);
    kdpc__ke_lock_acquire(m, c, i->lock, KDPC_LOCK_INTERRUPT, NULL);
    c = kdpc__cur_cpu();
    kdpc__trace(m, KDPC_EV_SYNC_BEGIN, c, i, KDPC_RP(SynchronizeRoutine), 0);
    BOOLEAN r = SynchronizeRoutine(SynchronizeContext);
    kdpc__trace(m, KDPC_EV_SYNC_END, c, i, KDPC_RP(SynchronizeRoutine), r);
    kdpc__ke_lock_release(m, c, i->lock, KDPC_LOCK_INTERRUPT, NULL);
    kdpc__ke_set_irql(m, c, old);
    use_end(m, i);
    kdpc__ke_point(m);
    return r;
}

KIRQL kdpc_KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeAcquireInterruptSpinLock", &c);
    if (m == NULL)
        return PASSIVE_LEVEL;
    KIRQL old = c->irql;
    struct _KINTERRUPT *i =
        usable(m, c, Interrupt, false, KDPC_RP(kdpc_KeAcquireInterruptSpinLock),
               "KeAcquireInterruptSpinLock", (uintptr_t)__builtin_return_address(0));
    if (i == NULL)
        return old;
    check_sync_irql(m, c, i, "KeAcquireInterruptSpinLock");
    i->uses++; /* until the matching KeReleaseInterruptSpinLock */
    kdpc__ke_set_irql(m, c, i->sync_irql);
    kdpc__ke_lock_acquire(m, c, i->lock, KDPC_LOCK_INTERRUPT, NULL);
    kdpc__ke_point(m);
    return old;
}

void kdpc_KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeReleaseInterruptSpinLock", &c);
    if (m == NULL)
        return;
    /* A hold that began before a disconnect (of an object still in use here) may end. */
    struct _KINTERRUPT *i =
        usable(m, c, Interrupt, true, KDPC_RP(kdpc_KeReleaseInterruptSpinLock),
               "KeReleaseInterruptSpinLock", (uintptr_t)__builtin_return_address(0));
    if (i == NULL)
        return;
    bool held_here = false;
    const kdpc__lock *l = m->ver != NULL ? kdpc__lock_find(m, i->lock) : NULL;
    held_here = l != NULL && l->owner == (int)c->index;
    kdpc__ke_lock_release(m, c, i->lock, KDPC_LOCK_INTERRUPT, NULL);
    kdpc__ke_set_irql(m, c, OldIrql);
    if (held_here)
        use_end(m, i);
    kdpc__ke_point(m);
}
