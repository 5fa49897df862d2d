/* SPDX-License-Identifier: MIT */
/*
 * dispatchcheck.c - what a dispatch routine, a completion routine and a
 * cancel routine return and leave behind, checked when they return.
 *
 * DESIGN
 * IoCallDriver takes a frame (kdpc__io.dframes) for the call of the dispatch
 * routine and gives it back when the routine returns. A frame remembers the
 * state at the call (IRQL, spin locks held, the thread's critical and
 * guarded regions, the IRP's location and record serial) and learns two
 * things while the routine runs: the completion walk went past the
 * routine's location (completed, with the status it had there), and the
 * routine sent the IRP on with IoCallDriver (forwarded, with what that
 * call returned). The innermost frame of a thread is the one with the
 * highest seq among those of the same thread and the same CPU context (a
 * DPC or ISR that interrupts a dispatch routine runs in the same thread but
 * is not that routine). The IRP is only looked up (kdpc__io_irprec and its
 * serial), never read blindly: it may be completed, freed or reused by the
 * time a routine returns.
 *
 * At the return of a dispatch routine:
 *   dpc.lock_held          a spin lock taken in the routine is still held
 *                          (0xC4/0x00040009, or 0x00040006 for an in-stack queued lock)
 *   io.irql_changed        the IRQL differs from the one at the call (0xC9/0x05)
 *   io.apc_disable_changed critical or guarded regions left unbalanced (0xC4/0xC5)
 *   io.bad_status          0xFFFFFFFF (0xC9/0x225) or a value no NTSTATUS has (0x21B)
 *   io.pending_not_marked  STATUS_PENDING without IoMarkIrpPending (0x23D)
 *   io.cancelled_pending   STATUS_PENDING with a cancel routine set on a cancelled IRP
 *   io.irp_unfinished      another status while the IRP is neither completed nor
 *                          pending (0x226)
 *   io.status_mismatch     another status than the IRP was completed with (0x224)
 * At IoCompleteRequest from a dispatch routine: io.complete_owned_below (0x209), the IRP
 * is still at a driver below it.
 * At the return of a completion routine: io.irql_changed (0xC4/0xFA),
 * io.apc_disable_changed (0xC4/0xFB), io.completion_not_pending (0xC9/0x228),
 * io.completion_event_pending (IoMarkIrpPending and KeSetEvent in one call of the routine: a
 * warning; ke counts the driver's KeSetEvent calls per thread, or per CPU for a DPC the idle
 * thread runs), io.completion_no_signal (it returns STATUS_MORE_PROCESSING_REQUIRED with
 * PendingReturned set while its dispatch routine has not returned, calls no KeSetEvent, and
 * neither found its location marked pending nor sent the IRP down again: a warning).
 * At the return of a cancel routine: dpc.lock_held for a spin lock other than the cancel
 * spin lock (that one is io.cancel_lock_held, cancel.c).
 *
 * Divergence: the DDI compliance rule IrqlReturn reports a dispatch routine returning at
 * another IRQL as 0xC4/0x0002001D; kdpc reports I/O verification's 0xC9/0x05 for the same
 * mistake, which names the device and both IRQLs (one rule, io.irql_changed, for both).
 * Divergence: P3/P4 of 0xC5 and 0xFB count the critical and guarded regions entered; Windows
 * shows the thread's APC-disable count, which goes down from 0 as regions are entered.
 * Divergence: Verifier rates 0x21B, 0x225, 0x228 and 0x23D non-fatal errors (a debugger
 * break it can go on from); kdpc bug-checks by default, as for io.pending_not_returned
 * (0x23E); switch the rule to a warning for the other.
 */
#include <string.h>

#include "io/io.h"

#define SPINLOCK_RULE 0x00040009u /* SpinLock: a lock held when the routine ends */
#define QUEUED_RULE   0x00040006u /* QueuedSpinLock: the same for an in-stack queued lock */

/* Critical plus guarded regions the thread is in: kdpc's APC-disable count (Windows counts
 * the same regions downwards from 0). */
static LONG apc_count(void)
{
    kdpc__thread *t = kdpc__self();
    const struct _KTHREAD *kt = t != NULL ? t->ke : NULL;
    return kt != NULL ? kt->critical + kt->guarded : 0;
}

static bool same_context(const kdpc__dispframe *f, const kdpc__thread *t, const kdpc__cpu *c)
{
    return f->used && f->thread == t && f->isr_depth == c->isr_depth &&
           f->no_switch == c->no_switch;
}

/* The dispatch routine running in the caller's context, or NULL. */
static kdpc__dispframe *innermost(kdpc__io *io)
{
    kdpc__thread *t = kdpc__self();
    kdpc__cpu *c = kdpc__cur_cpu();
    if (t == NULL || c == NULL)
        return NULL;
    kdpc__dispframe *best = NULL;
    for (unsigned i = 0; io->dframes_used != 0 && i < io->dframes_top; i++) {
        kdpc__dispframe *f = &io->dframes[i];
        if (same_context(f, t, c) && (best == NULL || f->seq > best->seq))
            best = f;
    }
    return best;
}

kdpc__dispframe *kdpc__io_dispatch_current(kdpc_machine *m)
{
    kdpc__io *io = kdpc__io_of(m);
    return io->dframes_used != 0 ? innermost(io) : NULL;
}

kdpc__dispframe *kdpc__io_dispatch_enter(kdpc_machine *m, PDEVICE_OBJECT dev, PIRP irp,
                                         PDRIVER_DISPATCH d, int loc)
{
    kdpc__io *io = kdpc__io_of(m);
    kdpc__thread *t = kdpc__self();
    kdpc__cpu *c = kdpc__cur_cpu();
    kdpc__irprec *r = kdpc__io_irprec(irp);
    if (t == NULL || c == NULL || r == NULL)
        return NULL;
    for (unsigned i = 0; i < KDPC_IO_DFRAMES; i++) {
        kdpc__dispframe *f = &io->dframes[i];
        if (f->used)
            continue;
        memset(f, 0, sizeof(*f));
        f->used = true;
        f->irql = c->irql;
        f->loc = loc;
        f->serial = r->serial;
        f->cpu = c->index;
        f->held = kdpc__locks_held(m, c);
        f->isr_depth = c->isr_depth;
        f->no_switch = c->no_switch;
        f->apc = apc_count();
        f->thread = t;
        f->irp = irp;
        f->dev = dev;
        f->routine = d;
        f->seq = ++io->dframe_seq;
        f->links_at_call = irp->Tail.Overlay.ListEntry; /* queuedcheck.c */
        io->dframes_used++;
        if (i >= io->dframes_top)
            io->dframes_top = i + 1;
        return f;
    }
    return NULL; /* more dispatch routines at once than tracked: unchecked */
}

/* The spin lock @c holds at index @i (NULL when none there). */
static const kdpc__held *held_at(const kdpc__cpu *c, unsigned i)
{
    const kdpc__vcpu *v = c->ver;
    if (i >= v->nheld || i >= KDPC_MAX_HELD || v->held[i].lock == NULL)
        return NULL;
    return &v->held[i];
}

/* A spin lock left held by a dispatch or cancel routine: dpc.lock_held. */
static void lock_left(kdpc_machine *m, const kdpc__held *h, PIRP irp, kdpc_routine_ptr routine,
                      const char *what)
{
    bool queued = (h->kind & KDPC_LOCK_QUEUED) != 0;
    bool cancel = h->lock->addr == (uintptr_t)&kdpc__io_of(m)->cancel_lock;
    kdpc__violation(m, KDPC_R_DPC_LOCK_HELD, 0xC4, queued ? QUEUED_RULE : SPINLOCK_RULE,
                    h->lock->addr, (uintptr_t)irp, 0, routine,
                    "%s routine returned holding %s %#lx; every spin lock it takes must be "
                    "released before it returns",
                    what,
                    cancel   ? "the cancel spin lock"
                    : queued ? "in-stack queued spin lock"
                             : "spin lock",
                    (unsigned long)h->lock->addr);
}

/* Suspicious: a value no NTSTATUS has, most likely an uninitialised variable: the reserved
 * bit (28) set, or a facility above 0xFF, without the customer bit (29). */
static bool suspicious_status(NTSTATUS st)
{
    uint32_t u = (uint32_t)st;
    if (u & 0x20000000u)
        return false;
    return (u & 0x10000000u) != 0 || ((u >> 16) & 0xFFFu) > 0xFFu;
}

static void check_state(kdpc_machine *m, const kdpc__dispframe *f, kdpc_routine_ptr rp)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    if (c == NULL)
        return;
    unsigned base = c->index == f->cpu ? f->held : 0;
    unsigned now = kdpc__locks_held(m, c);
    const kdpc__held *h = now > base ? held_at(c, now - 1) : NULL;
    if (h != NULL)
        lock_left(m, h, f->irp, rp, "dispatch");
    if (c->irql != f->irql) {
        KIRQL after = c->irql;
        kdpc__violation(m, KDPC_R_IO_IRQL_CHANGED, 0xC9, 0x05, (uintptr_t)f->dev, f->irql, after,
                        rp,
                        "dispatch routine called at IRQL %u returned at IRQL %u (an unmatched "
                        "raise, lower or spin lock call)",
                        (unsigned)f->irql, (unsigned)after);
        if (h == NULL)
            kdpc__ke_set_irql(m, c, f->irql);
    }
    LONG apc = apc_count();
    if (apc != f->apc)
        kdpc__violation(m, KDPC_R_IO_APC_DISABLE_CHANGED, 0xC4, 0xC5, kdpc__fnaddr(rp),
                        (uint64_t)(uint32_t)apc, (uint64_t)(uint32_t)f->apc, rp,
                        "dispatch routine entered %ld critical or guarded regions more than it "
                        "left (KeEnterCriticalRegion / KeLeaveCriticalRegion, "
                        "KeEnterGuardedRegion / KeLeaveGuardedRegion, guarded mutexes)",
                        (long)(apc - f->apc));
}

static void check_status(kdpc_machine *m, const kdpc__dispframe *f, kdpc_routine_ptr rp,
                         NTSTATUS st)
{
    uintptr_t ra = kdpc__fnaddr(rp);
    if (st == (NTSTATUS)-1) {
        kdpc__violation(m, KDPC_R_IO_BAD_STATUS, 0xC9, 0x225, ra, (uintptr_t)f->irp,
                        (uintptr_t)f->dev, rp,
                        "dispatch routine returned 0xFFFFFFFF, which is no status (an "
                        "uninitialised variable?)");
        return; /* what it says of the IRP means nothing */
    }
    if (st != STATUS_PENDING && suspicious_status(st)) {
        kdpc__violation(m, KDPC_R_IO_BAD_STATUS, 0xC9, 0x21B, ra, (uintptr_t)f->irp,
                        (uintptr_t)f->dev, rp,
                        "dispatch routine returned %#lx, which no NTSTATUS looks like (an "
                        "uninitialised variable?)",
                        (unsigned long)(uint32_t)st);
        return;
    }
    kdpc__irprec *r = kdpc__io_irprec(f->irp);
    bool live = r != NULL && r->serial == f->serial;
    if (st == STATUS_PENDING) {
        bool forwarded = f->forwarded && f->lower_status == STATUS_PENDING;
        /* the mark as the completion walk found it: the IRP may be freed and its address
         * reused by now */
        bool marked = f->completed_marked || kdpc__io_marked_pending(m, f->irp, f->serial, f->loc);
        if (!forwarded && !marked) {
            kdpc__violation(m, KDPC_R_IO_PENDING_NOT_MARKED, 0xC9, 0x23D, ra, (uintptr_t)f->irp,
                            (uintptr_t)f->dev, rp,
                            "dispatch routine returned STATUS_PENDING for IRP %p without "
                            "IoMarkIrpPending%s",
                            (void *)f->irp,
                            f->completed ? " (and the IRP was already completed: return its "
                                           "final status)"
                                         : "");
            return;
        }
        /* an IRP IoStartPacket queued or started is the device queue's and StartIo's to
         * handle (IoStartPacket cancels a cancelled one it queues; StartIo sees Irp->Cancel) */
        if (live && !f->completed && !r->completed && !r->queued && !r->started && r->irp.Cancel &&
            r->irp.CancelRoutine != NULL)
            kdpc__violation(m, KDPC_R_IO_CANCELLED_PENDING, 0, (uintptr_t)f->irp,
                            kdpc__fnaddr(KDPC_RP(r->irp.CancelRoutine)), ra, (uintptr_t)f->dev, rp,
                            "dispatch routine pended IRP %p with a cancel routine although "
                            "Irp->Cancel was already TRUE: IoCancelIrp has run, so nobody calls "
                            "the cancel routine and the IRP is never completed (check "
                            "Irp->Cancel after IoSetCancelRoutine)",
                            (void *)f->irp);
        return;
    }
    if (!f->completed) {
        if (live && !r->completed)
            kdpc__violation(m, KDPC_R_IO_IRP_UNFINISHED, 0xC9, 0x226, ra, (uintptr_t)f->irp,
                            (uintptr_t)f->dev, rp,
                            "dispatch routine returned %#lx but IRP %p is neither completed nor "
                            "pending%s: complete it, or mark it pending and return "
                            "STATUS_PENDING",
                            (unsigned long)(uint32_t)st, (void *)f->irp,
                            f->forwarded && f->lower_status == STATUS_PENDING
                                ? " (the driver it was sent to returned STATUS_PENDING: return "
                                  "that)"
                                : "");
        return;
    }
    if (f->completed_status != st)
        kdpc__violation(m, KDPC_R_IO_STATUS_MISMATCH, 0xC9, 0x224, ra, (uintptr_t)f->irp,
                        (uint64_t)(uint32_t)st, rp,
                        "dispatch routine returned %#lx for IRP %p, which was completed with "
                        "IoStatus.Status = %#lx: return the status the IRP was completed with",
                        (unsigned long)(uint32_t)st, (void *)f->irp,
                        (unsigned long)(uint32_t)f->completed_status);
}

void kdpc__io_dispatch_exit(kdpc_machine *m, kdpc__dispframe *f, NTSTATUS st)
{
    if (f == NULL)
        return;
    kdpc__dispframe fr = *f;
    f->used = false; /* first: a bug check below unwinds and must leave no frame behind */
    kdpc__io_of(m)->dframes_used--;
    /* The caller, if it is a dispatch routine of this IRP, sent it on and got @st. */
    kdpc__dispframe *up = innermost(kdpc__io_of(m));
    if (up != NULL && up->irp == fr.irp && up->serial == fr.serial) {
        up->forwarded = true;
        up->lower_status = st;
    }
    if (fr.routine == NULL)
        return; /* the I/O manager's default: nothing of a driver to check */
    kdpc_routine_ptr rp = KDPC_RP(fr.routine);
    check_state(m, &fr, rp);
    check_status(m, &fr, rp, st);
}

void kdpc__io_dispatch_passing(kdpc_machine *m, PIRP irp)
{
    kdpc__io *io = kdpc__io_of(m);
    kdpc__irprec *r = NULL;
    for (unsigned i = 0; io->dframes_used != 0 && i < io->dframes_top; i++) {
        kdpc__dispframe *f = &io->dframes[i];
        if (!f->used || f->irp != irp || f->loc != irp->CurrentLocation)
            continue;
        if (r == NULL && (r = kdpc__io_irprec(irp)) == NULL)
            return;
        if (f->serial != r->serial)
            continue;
        f->completed = true;
        f->completed_status = irp->IoStatus.Status;
        f->completed_marked =
            (IoGetCurrentIrpStackLocation(irp)->Control & SL_PENDING_RETURNED) != 0;
    }
}

void kdpc__io_dispatch_complete(kdpc_machine *m, PIRP irp)
{
    kdpc__dispframe *f = innermost(kdpc__io_of(m));
    if (f == NULL || f->irp != irp || f->routine == NULL)
        return;
    kdpc__irprec *r = kdpc__io_irprec(irp);
    if (r == NULL || r->serial != f->serial || irp->CurrentLocation >= f->loc)
        return;
    kdpc_routine_ptr rp = KDPC_RP(f->routine);
    kdpc__violation(m, KDPC_R_IO_COMPLETE_OWNED_BELOW, 0xC9, 0x209, kdpc__fnaddr(rp),
                    (uintptr_t)irp, (uintptr_t)f->dev, rp,
                    "dispatch routine completed IRP %p while the driver it was sent to (location "
                    "%d, below %d) still has it: wait for it to come back (a completion routine "
                    "returning STATUS_MORE_PROCESSING_REQUIRED and an event) before completing "
                    "it",
                    (void *)irp, (int)irp->CurrentLocation, f->loc);
}

/* A dispatch routine of @irp (record @serial) at location @loc has not returned yet. */
static bool dispatch_running(kdpc__io *io, PIRP irp, uint32_t serial, int loc)
{
    for (unsigned i = 0; io->dframes_used != 0 && i < io->dframes_top; i++) {
        const kdpc__dispframe *f = &io->dframes[i];
        if (f->used && f->irp == irp && f->serial == serial && f->loc == loc)
            return true;
    }
    return false;
}

NTSTATUS kdpc__io_call_completion(kdpc_machine *m, PIO_COMPLETION_ROUTINE routine,
                                  PDEVICE_OBJECT dev, PIRP irp, PVOID context)
{
    kdpc__cpu *c = kdpc__cur_cpu();
    KIRQL irql = c != NULL ? c->irql : PASSIVE_LEVEL;
    LONG apc = apc_count();
    bool pending = irp->PendingReturned != FALSE;
    int loc = irp->CurrentLocation;
    bool top = loc > irp->StackCount;
    kdpc__irprec *r = kdpc__io_irprec(irp);
    uint32_t serial = r != NULL ? r->serial : 0;
    /* reports name the driver's routine, not IoSetCompletionRoutineEx's stand-in */
    kdpc_routine_ptr rp = KDPC_RP(kdpc__io_ex_driver_routine(routine, context));
    bool marked = !top && (IoGetCurrentIrpStackLocation(irp)->Control & SL_PENDING_RETURNED);
    ULONG sets = kdpc__ke_event_sets(); /* the caller's context's KeSetEvent calls so far */
    NTSTATUS rs = routine(dev, irp, context);
    c = kdpc__cur_cpu();
    if (c != NULL && c->irql != irql) {
        KIRQL after = c->irql;
        kdpc__violation(m, KDPC_R_IO_IRQL_CHANGED, 0xC4, 0xFA, kdpc__fnaddr(rp), irql, after, rp,
                        "completion routine called at IRQL %u returned at IRQL %u", (unsigned)irql,
                        (unsigned)after);
        kdpc__ke_set_irql(m, c, irql);
    }
    LONG now = apc_count();
    if (now != apc)
        kdpc__violation(m, KDPC_R_IO_APC_DISABLE_CHANGED, 0xC4, 0xFB, kdpc__fnaddr(rp),
                        (uint64_t)(uint32_t)now, (uint64_t)(uint32_t)apc, rp,
                        "completion routine entered %ld critical or guarded regions more than "
                        "it left",
                        (long)(now - apc));
    if (top || r == NULL)
        return rs;
    r = kdpc__io_irprec(irp); /* the routine must not have freed it, but may have */
    bool same = r != NULL && r->serial == serial;
    /* Not the forward-and-wait pattern: a dispatch routine that marked its location pending
     * before sending the IRP returns STATUS_PENDING and waits for nothing (the routine may post
     * the IRP to a work item); a routine that sent the IRP down again signals when it is back. */
    if (rs == STATUS_MORE_PROCESSING_REQUIRED && pending && !marked && !(same && r->out) &&
        kdpc__ke_event_sets() == sets && dispatch_running(kdpc__io_of(m), irp, serial, loc))
        kdpc__violation(m, KDPC_R_IO_COMPLETION_NO_SIGNAL, 0, kdpc__fnaddr(rp), (uintptr_t)irp,
                        (uintptr_t)dev, 0, rp,
                        "completion routine took IRP %p back (STATUS_MORE_PROCESSING_REQUIRED) "
                        "with PendingReturned set while its dispatch routine is still running, "
                        "and signaled no event: the dispatch routine waiting for it never wakes",
                        (void *)irp);
    if (!same || irp->CurrentLocation != loc)
        return rs;
    if (!marked && (IoGetCurrentIrpStackLocation(irp)->Control & SL_PENDING_RETURNED) &&
        kdpc__ke_event_sets() != sets)
        kdpc__violation(m, KDPC_R_IO_COMPLETION_EVENT_PENDING, 0, kdpc__fnaddr(rp), (uintptr_t)irp,
                        (uintptr_t)dev, 0, rp,
                        "completion routine both marked IRP %p pending (IoMarkIrpPending) and "
                        "signaled an event (KeSetEvent): a routine that wakes a waiting dispatch "
                        "routine returns STATUS_MORE_PROCESSING_REQUIRED and leaves the pending "
                        "mark alone",
                        (void *)irp);
    if (rs == STATUS_MORE_PROCESSING_REQUIRED || !pending)
        return rs;
    if (!(IoGetCurrentIrpStackLocation(irp)->Control & SL_PENDING_RETURNED))
        kdpc__violation(m, KDPC_R_IO_COMPLETION_NOT_PENDING, 0xC9, 0x228, kdpc__fnaddr(rp),
                        (uintptr_t)irp, (uintptr_t)dev, rp,
                        "completion routine got IRP %p with PendingReturned set and did not call "
                        "IoMarkIrpPending: add 'if (Irp->PendingReturned) "
                        "IoMarkIrpPending(Irp);'",
                        (void *)irp);
    return rs;
}

/* Spin locks @c holds other than the cancel spin lock; the topmost in *top. */
static unsigned other_locks(kdpc_machine *m, const kdpc__cpu *c, const kdpc__held **top)
{
    uintptr_t cancel = (uintptr_t)&kdpc__io_of(m)->cancel_lock;
    unsigned n = 0;
    *top = NULL;
    for (unsigned i = 0; i < kdpc__locks_held(m, c); i++) {
        const kdpc__held *h = held_at(c, i);
        if (h != NULL && h->lock->addr != cancel) {
            n++;
            *top = h;
        }
    }
    return n;
}

void kdpc__io_call_cancel(kdpc_machine *m, PDRIVER_CANCEL routine, PDEVICE_OBJECT dev, PIRP irp)
{
    const kdpc__held *h;
    kdpc__cpu *c = kdpc__cur_cpu();
    unsigned before = c != NULL ? other_locks(m, c, &h) : 0;
    routine(dev, irp);
    c = kdpc__cur_cpu();
    if (c != NULL && other_locks(m, c, &h) > before && h != NULL)
        lock_left(m, h, irp, KDPC_RP(routine), "cancel");
}
