/* SPDX-License-Identifier: MIT */
/*
 * queuedcheck.c - io.queued_before_marked: a dispatch routine makes its IRP
 * reachable to other CPUs (a driver queue) before it marks it pending.
 *
 * DESIGN
 * ke and ex call ke's irp_queued hook (set by kdpc__io_init) at every spin
 * lock release (KeReleaseSpinLock, KeReleaseSpinLockFromDpcLevel,
 * KeReleaseSpinLockForDpc, KeReleaseInStackQueuedSpinLock and its variants;
 * before the lock is let go) and after ExInterlockedInsertHeadList /
 * ExInterlockedInsertTailList linked an entry. The hook returns at once when no
 * dispatch routine runs anywhere (dframes_used == 0); otherwise it takes the
 * dispatch routine running in the caller's thread and CPU context
 * (kdpc__io_dispatch_current) and looks its IRP up (kdpc__io_irprec and the
 * record's serial: the IRP may be completed or freed). Only an IRP still at
 * that routine's location, neither sent on nor completed past it, and not
 * marked pending there, is looked at further:
 *   - insert (P4 = 1): the entry put on the list is the IRP's
 *     Tail.Overlay.ListEntry (MarkingInterlockedQueuedIrps);
 *   - release (P4 = 0): the IRP's Tail.Overlay.ListEntry is linked into a list
 *     (Flink->Blink == entry and Blink->Flink == entry), and this release lets
 *     go of the last spin lock the routine took (a routine that still holds
 *     one of its locks may hold the queue's: no report) (MarkingQueuedIrps).
 *     The links are only followed when the routine wrote them (they differ
 *     from those at its call): the links of a reused IRP may point into freed
 *     memory and are never read.
 * Another CPU can take the IRP off the queue and complete it once the lock is
 * released, before IoMarkIrpPending runs: the mark then lands on a completed,
 * perhaps freed IRP (MarkingQueuedIrps, MarkingInterlockedQueuedIrps).
 * IoCsqInsertIrp marks the IRP pending before it calls CsqReleaseLock, and
 * IoStartPacket's device queue uses DeviceQueueEntry: both stay clean.
 * Code: these are SDV rules with no Verifier code: 0 (KDPC_RULE_VIOLATION), P1 the IRP,
 * P2 the lock released (P4 = 0) or the list head (P4 = 1), P3 the dispatch routine.
 */
#include "io/io.h"

/* @e is linked into a list; its links were written by the routine (differ from @at_call). */
static bool linked(const LIST_ENTRY *e, const LIST_ENTRY *at_call)
{
    const LIST_ENTRY *f = e->Flink, *b = e->Blink;
    if (f == e || kdpc__ke_bad_ptr(f) || kdpc__ke_bad_ptr(b))
        return false;
    if (f == at_call->Flink && b == at_call->Blink)
        return false;
    return f->Blink == e && b->Flink == e;
}

void kdpc__io_irp_queued(kdpc_machine *m, const void *lock, const void *entry)
{
    if (kdpc__io_of(m)->dframes_used == 0)
        return; /* no dispatch routine runs: the common case, kept cheap */
    const kdpc__dispframe *f = kdpc__io_dispatch_current(m);
    if (f == NULL || f->routine == NULL || f->forwarded || f->completed)
        return;
    kdpc__irprec *r = kdpc__io_irprec(f->irp);
    if (r == NULL || r->serial != f->serial || f->irp->CurrentLocation != f->loc)
        return;
    PLIST_ENTRY e = &f->irp->Tail.Overlay.ListEntry;
    if (entry != NULL) {
        if (entry != e)
            return;
    } else {
        kdpc__cpu *c = kdpc__cur_cpu();
        if (c == NULL || (c->index == f->cpu && kdpc__locks_held(m, c) > f->held + 1u))
            return;
        if (!linked(e, &f->links_at_call))
            return;
    }
    if (kdpc__io_marked_pending(m, f->irp, f->serial, f->loc))
        return;
    kdpc_routine_ptr rp = KDPC_RP(f->routine);
    kdpc__violation(m, KDPC_R_IO_QUEUED_BEFORE_MARKED, 0, (uintptr_t)f->irp, (uintptr_t)lock,
                    kdpc__fnaddr(rp), entry != NULL ? 1u : 0u, rp,
                    "dispatch routine made IRP %p reachable from other CPUs (%s %p) before "
                    "IoMarkIrpPending: another CPU can take it off the queue and complete it "
                    "first; mark the IRP pending before queuing it",
                    (void *)f->irp,
                    entry != NULL ? "ExInterlockedInsert*List on list"
                                  : "on a queue, then released spin lock",
                    lock);
}
