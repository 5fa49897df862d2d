/* SPDX-License-Identifier: MIT */
/*
 * removelock.c - remove locks: IoInitializeRemoveLock, IoAcquireRemoveLock,
 * IoReleaseRemoveLock, IoReleaseRemoveLockAndWait (docs/facts/pnp.md
 * section 4), with Verifier-style checks of their documented misuse.
 *
 * The lock's own fields are Windows' (Removed, IoCount with the initial
 * reference, RemoveEvent); beside them kdpc keeps, per lock address, every
 * tag acquired and not released and whether IoReleaseRemoveLockAndWait has
 * finished with it. Checks (docs/rules.md):
 *  - removelock.release_unheld (0xC4/0xD5, 0xD6 for IoReleaseRemoveLockAndWait:
 *    Verifier's tag-mismatch codes): a release for a tag that holds no
 *    acquisition (released twice, never acquired);
 *  - removelock.after_wait (0xC4/0xD3 initialise, 0xD4 a second
 *    ReleaseAndWait): the lock is initialised or waited on again after
 *    IoReleaseRemoveLockAndWait returned.
 *  - removelock.wait_outside_remove (IoReleaseRemoveLockAndWaitOutside-
 *    RemoveDevice, code 0): IoReleaseRemoveLockAndWait called by a dispatch
 *    routine whose IRP is not the PnP manager's IRP_MN_REMOVE_DEVICE (a
 *    call outside any dispatch routine, from a work item or a test's own
 *    code, is not judged);
 *  - removelock.held_on_return (RemoveLock, RemoveLockRelease2 and the
 *    RemoveLockRelease<Major> rules, code 0): a dispatch routine returns with
 *    its IRP completed and a remove lock of its device's extension still
 *    held with that IRP as tag (io's dispatch_done hook);
 *  - removelock.delete_unwaited (RemoveLockCheck, RemoveLockMnRemove(2),
 *    code 0): IoDeleteDevice, while IRP_MN_REMOVE_DEVICE is outstanding, of
 *    a device whose extension holds a remove lock that was acquired and that
 *    IoReleaseRemoveLockAndWait never returned for (io's device_deleting
 *    hook, before anything of the device is freed).
 * An acquire after IoReleaseRemoveLockAndWait (during the wait or after it
 * returned) is no misuse: it gets STATUS_DELETE_PENDING, as documented
 * (docs/facts/pnp.md 4.5).
 * Divergence: Windows' Verifier tracks tags only in its remove-lock debug
 * blocks (a driver built with the checked-size IO_REMOVE_LOCK); kdpc tracks
 * them for every driver. The after-wait cases have no documented subcode:
 * kdpc chose 0xC4 with P1 0xD3, 0xD4, P2 the lock, P3 the tag.
 * Remove locks are a PnP concept: their records live in the PnP manager's
 * state; io reaches kdpc__pnp_forget_removelocks only through its hook.
 * Records die with the memory they live in (kdpc__io_forget_range: a device
 * extension freed by IoDeleteDevice; ke's pool_freed hook: a pool block freed,
 * whose address a later lock may get).
 */
#include <stdlib.h>

#include "pnp/pnp.h"

/*
 * Holds: one entry per tag and request. A tag is usually an IRP's address, and an address is
 * not a request: an IRP built for a waiting thread is freed inside IoCompleteRequest, so a
 * driver that completes an IRP and then releases its lock (the WDK samples' order) may still
 * hold it under that address when another thread's next IRP, at the same address, is
 * dispatched and acquires it too. So each acquisition records the serial of the IRP live at
 * the tag's address (0: the tag is no live IRP), kdpc's number of that request, and a release
 * takes the entry of its tag that best fits who releases (match_hold); the count per lock is
 * right whichever matches. removelock.held_on_return looks only at the entries of the request
 * whose dispatch routine returns, so the outcome no longer depends on where the host's
 * allocator put the next IRP.
 */
typedef struct kdpc__rlock {
    bool waited; /* IoReleaseRemoveLockAndWait returned */
    bool used;   /* acquired at least once since initialised */
    size_t n, cap;
    uint64_t seq; /* acquisitions so far: orders the entries, oldest first */
    struct rltag {
        PVOID tag;
        uint32_t serial; /* of the IRP live at @tag when acquired; 0: none */
        LONG count;
        uint64_t first; /* seq of the entry's first acquisition */
    } * tags;
} kdpc__rlock;

static kdpc__rlock *record(kdpc_machine *m, const void *lock, bool create)
{
    kdpc__pnp *p = kdpc__pnp_of(m, create);
    if (p == NULL)
        return NULL;
    kdpc__rlock *r = p->locks.live != 0 ? kdpc__ptrmap_get(&p->locks, (uintptr_t)lock) : NULL;
    if (r == NULL && create) {
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return NULL;
        if (!kdpc__ptrmap_put(&p->locks, (uintptr_t)lock, r)) {
            free(r);
            return NULL;
        }
    }
    return r;
}

static void record_free(kdpc__rlock *r)
{
    if (r != NULL)
        free(r->tags);
    free(r);
}

void kdpc__pnp_locks_free(kdpc__pnp *p)
{
    for (size_t i = 0; i < p->locks.cap; i++) {
        if (p->locks.keys != NULL && p->locks.keys[i] > 1)
            record_free(p->locks.vals[i]);
    }
    kdpc__ptrmap_free(&p->locks);
}

void kdpc__pnp_forget_removelocks(kdpc_machine *m, const void *lo, size_t bytes)
{
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    if (p == NULL || p->locks.live == 0)
        return;
    uintptr_t a = (uintptr_t)lo, b = a + bytes;
    for (size_t i = 0; i < p->locks.cap; i++) {
        uintptr_t k = p->locks.keys[i];
        if (k > 1 && k >= a && k < b)
            record_free(kdpc__ptrmap_del(&p->locks, k));
    }
}

void kdpc__pnp_removelocks_deleting(kdpc_machine *m, PDEVICE_OBJECT dev, const void *ext,
                                    size_t bytes)
{
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    kdpc__io *io = kdpc__io_of(m);
    if (p == NULL || p->locks.live == 0 || ext == NULL || io->pnp_irp == NULL ||
        io->pnp_minor != IRP_MN_REMOVE_DEVICE)
        return;
    uintptr_t a = (uintptr_t)ext, b = a + bytes;
    for (size_t i = 0; i < p->locks.cap; i++) {
        uintptr_t k = p->locks.keys[i];
        const kdpc__rlock *r = k > 1 && k >= a && k < b ? p->locks.vals[i] : NULL;
        if (r != NULL && r->used && !r->waited) {
            kdpc__violation(m, KDPC_R_REMOVELOCK_DELETE_UNWAITED, 0, (uintptr_t)k,
                            (uintptr_t)io->pnp_irp, (uintptr_t)dev, 0, NULL,
                            "IoDeleteDevice(%p) while handling IRP_MN_REMOVE_DEVICE, its remove "
                            "lock %p never waited on: acquire it for the IRP, pass the IRP down, "
                            "IoReleaseRemoveLockAndWait, then detach and delete",
                            (void *)dev, (void *)k);
            return; /* one report per device */
        }
    }
}

static struct rltag *find_hold(kdpc__rlock *r, PVOID tag, uint32_t serial);

void kdpc__pnp_removelocks_dispatch_done(kdpc_machine *m, PDEVICE_OBJECT dev, PIRP irp,
                                         PDRIVER_DISPATCH fn)
{
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    kdpc__devrec *d = kdpc__io_devrec(m, dev);
    if (p == NULL || p->locks.live == 0 || d == NULL || dev->DeviceExtension == NULL)
        return;
    /* An IRP marked pending was handed on (a DPC, StartIo, a queue): whoever completes it
     * releases the lock, maybe after IoCompleteRequest on another CPU while this routine returns
     * STATUS_PENDING. Only a routine that kept its IRP to itself is judged. */
    const kdpc__dispframe *f = kdpc__io_dispatch_current(m);
    if (f == NULL || f->irp != irp || f->completed_marked)
        return;
    /* Only this request's own acquisitions: the IRP may be freed by now and its address hold
     * another request, and an earlier request at this address may still hold the lock until
     * whoever completed it releases it. */
    uintptr_t a = (uintptr_t)dev->DeviceExtension, b = a + d->ext_size;
    for (size_t i = 0; i < p->locks.cap; i++) {
        uintptr_t k = p->locks.keys[i];
        kdpc__rlock *r = k > 1 && k >= a && k < b ? p->locks.vals[i] : NULL;
        if (r == NULL || r->waited || find_hold(r, irp, f->serial) == NULL)
            continue;
        kdpc__violation(m, KDPC_R_REMOVELOCK_HELD_ON_RETURN, 0, (uintptr_t)k, (uintptr_t)irp,
                        (uintptr_t)dev, 0, KDPC_RP(fn),
                        "the dispatch routine of device %p returns with IRP %p completed and its "
                        "remove lock %p still held with the IRP as tag: release it "
                        "(IoReleaseRemoveLock) once the IRP is done with",
                        (void *)dev, (void *)irp, (void *)k);
        return;
    }
}

void kdpc__pnp_removelocks_forwarding(kdpc_machine *m, PIRP irp, PDEVICE_OBJECT target)
{
    kdpc__pnp *p = kdpc__pnp_of(m, false);
    if (p == NULL || p->locks.live == 0)
        return;
    const kdpc__dispframe *f = kdpc__io_dispatch_current(m);
    kdpc__devrec *d =
        f != NULL && f->irp == irp && f->routine != NULL ? kdpc__io_devrec(m, f->dev) : NULL;
    if (d == NULL || f->dev->DeviceExtension == NULL)
        return;
    uintptr_t a = (uintptr_t)f->dev->DeviceExtension, b = a + d->ext_size;
    for (size_t i = 0; i < p->locks.cap; i++) {
        uintptr_t k = p->locks.keys[i];
        kdpc__rlock *r = k > 1 && k >= a && k < b ? p->locks.vals[i] : NULL;
        if (r == NULL || !r->used || r->waited || r->n > 0)
            continue;
        kdpc__violation(m, KDPC_R_REMOVELOCK_FORWARD_UNHELD, 0, (uintptr_t)k, (uintptr_t)irp,
                        (uintptr_t)f->dev, (uintptr_t)target, KDPC_RP(f->routine),
                        "the dispatch routine of device %p sends IRP %p on to %p holding no "
                        "acquisition of its remove lock %p: IoAcquireRemoveLock before "
                        "IoCallDriver, release after (or in the completion routine)",
                        (void *)f->dev, (void *)irp, (void *)target, (void *)k);
        return;
    }
}

static struct rltag *find_hold(kdpc__rlock *r, PVOID tag, uint32_t serial)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->tags[i].tag == tag && r->tags[i].serial == serial && r->tags[i].count > 0)
            return &r->tags[i];
    }
    return NULL;
}

/* The serial of the IRP live at @tag now, 0 when @tag is no live IRP (any pointer may be a tag:
 * it is only looked up). */
static uint32_t live_serial(PVOID tag)
{
    const kdpc__irprec *rec = kdpc__io_irprec((PIRP)tag);
    return rec != NULL ? rec->serial : 0;
}

/* Whether a dispatch routine other than @own is running on IRP @tag of request @serial (it may
 * still release its own acquisition). */
static bool claimed(kdpc_machine *m, PVOID tag, uint32_t serial, const kdpc__dispframe *own)
{
    const kdpc__io *io = kdpc__io_of(m);
    for (unsigned i = 0; io->dframes_used != 0 && i < io->dframes_top; i++) {
        const kdpc__dispframe *f = &io->dframes[i];
        if (f->used && f != own && (PVOID)f->irp == tag && f->serial == serial)
            return true;
    }
    return false;
}

/*
 * The entry a release of @tag takes, or NULL when no acquisition with @tag is held. In order:
 *  1. the request of the dispatch routine running in the caller's context on IRP @tag (a
 *     dispatch routine releases its own request's acquisition, even after IoCompleteRequest
 *     freed the IRP);
 *  2. the request live at @tag now (a completion routine, a DPC before completing; for a tag
 *     that is no IRP, the entry acquired as no IRP);
 *  3. the oldest entry of a request that is gone (completed, freed or reused: whoever completed
 *     it releases after IoCompleteRequest);
 * in 2 and 3 passing over a request whose own dispatch routine still runs elsewhere (it will
 * release its own); failing all of these, the oldest entry with @tag.
 */
static struct rltag *match_hold(kdpc_machine *m, kdpc__rlock *r, PVOID tag)
{
    const kdpc__dispframe *own = kdpc__io_dispatch_current(m);
    if (own != NULL && (PVOID)own->irp != tag)
        own = NULL;
    if (own != NULL) {
        struct rltag *t = find_hold(r, tag, own->serial);
        if (t != NULL)
            return t;
    }
    uint32_t now = live_serial(tag);
    struct rltag *best = NULL;
    int best_rank = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct rltag *t = &r->tags[i];
        if (t->tag != tag || t->count <= 0)
            continue;
        int rank = claimed(m, tag, t->serial, own) ? 1 : t->serial == now ? 3 : 2;
        if (rank > best_rank || (rank == best_rank && t->first < best->first)) {
            best = t;
            best_rank = rank;
        }
    }
    return best;
}

static bool add_tag(kdpc__rlock *r, PVOID tag)
{
    uint32_t serial = live_serial(tag);
    r->seq++;
    for (size_t i = 0; i < r->n; i++) {
        if (r->tags[i].tag == tag && r->tags[i].serial == serial) {
            r->tags[i].count++;
            return true;
        }
    }
    if (r->n == r->cap) {
        size_t cap = r->cap == 0 ? 8 : r->cap * 2;
        struct rltag *t = realloc(r->tags, cap * sizeof(*t));
        if (t == NULL)
            return false;
        r->tags = t;
        r->cap = cap;
    }
    r->tags[r->n].tag = tag;
    r->tags[r->n].serial = serial;
    r->tags[r->n].count = 1;
    r->tags[r->n].first = r->seq;
    r->n++;
    return true;
}

static void drop_tag(kdpc__rlock *r, struct rltag *t)
{
    if (--t->count == 0) {
        *t = r->tags[r->n - 1];
        r->n--;
    }
}

void kdpc_IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                                   ULONG HighWatermark, ULONG RemlockSize)
{
    (void)AllocateTag;
    (void)MaxLockedMinutes;
    (void)HighWatermark;
    (void)RemlockSize;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoInitializeRemoveLock", &c);
    if (m == NULL || Lock == NULL)
        return;
    kdpc__rlock *r = record(m, Lock, true);
    if (r != NULL && r->waited)
        kdpc__violation(m, KDPC_R_REMOVELOCK_AFTER_WAIT, 0xC4, 0xD3, (uintptr_t)Lock, 0, 0, NULL,
                        "IoInitializeRemoveLock(%p): the lock was released with "
                        "IoReleaseRemoveLockAndWait; it must not be initialised again",
                        (void *)Lock);
    if (r != NULL) {
        r->waited = false;
        r->used = false;
        r->n = 0;
    }
    Lock->Common.Removed = FALSE;
    Lock->Common.IoCount = 1;
    KeInitializeEvent(&Lock->Common.RemoveEvent, NotificationEvent, FALSE);
}

NTSTATUS kdpc_IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                                    ULONG RemlockSize)
{
    (void)File;
    (void)Line;
    (void)RemlockSize;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAcquireRemoveLock", &c);
    if (m == NULL || RemoveLock == NULL)
        return STATUS_INVALID_PARAMETER;
    kdpc__rlock *r = record(m, RemoveLock, true);
    if (r != NULL && r->waited)
        return STATUS_DELETE_PENDING; /* documented, no misuse (fact 4.5) */
    LONG n = InterlockedIncrement(&RemoveLock->Common.IoCount);
    if (RemoveLock->Common.Removed) {
        /* the remover waits: let it go on when this was the last reference (fact 4.2) */
        if (InterlockedDecrement(&RemoveLock->Common.IoCount) == 0)
            (void)kdpc__ke_event_set(&RemoveLock->Common.RemoveEvent); /* the kernel's own */
        return STATUS_DELETE_PENDING;
    }
    (void)n;
    if (r != NULL) {
        r->used = true;
        (void)add_tag(r, Tag);
    }
    kdpc__ke_point(m);
    return STATUS_SUCCESS;
}

/* The acquisition of @Tag is released; false when there was none (reported). */
static bool release_tag(kdpc_machine *m, kdpc__rlock *r, PIO_REMOVE_LOCK lock, PVOID tag,
                        const char *routine)
{
    bool wait = routine[sizeof("IoReleaseRemoveLock") - 1] != '\0'; /* ...AndWait: 0xD6 */
    struct rltag *t = r != NULL ? match_hold(m, r, tag) : NULL;
    if (t == NULL) {
        kdpc__violation(m, KDPC_R_REMOVELOCK_RELEASE_UNHELD, 0xC4, wait ? 0xD6 : 0xD5,
                        (uintptr_t)lock, (uintptr_t)tag, 0, NULL,
                        "%s(%p, tag %p): no acquisition with this tag is held (released twice, "
                        "or never acquired)",
                        routine, (void *)lock, tag);
        return false;
    }
    drop_tag(r, t);
    return true;
}

void kdpc_IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
    (void)RemlockSize;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoReleaseRemoveLock", &c);
    if (m == NULL || RemoveLock == NULL)
        return;
    kdpc__rlock *r = record(m, RemoveLock, false);
    if (!release_tag(m, r, RemoveLock, Tag, "IoReleaseRemoveLock"))
        return;
    /* the kernel's own KeSetEvent: not the driver's (io.completion_event_pending counts those) */
    if (InterlockedDecrement(&RemoveLock->Common.IoCount) == 0)
        (void)kdpc__ke_event_set(&RemoveLock->Common.RemoveEvent);
    kdpc__ke_point(m);
}

void kdpc_IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
    (void)RemlockSize;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoReleaseRemoveLockAndWait", &c);
    if (m == NULL || RemoveLock == NULL)
        return;
    kdpc__rlock *r = record(m, RemoveLock, false);
    if (r != NULL && r->waited) {
        kdpc__violation(m, KDPC_R_REMOVELOCK_AFTER_WAIT, 0xC4, 0xD4, (uintptr_t)RemoveLock,
                        (uintptr_t)Tag, 0, NULL,
                        "IoReleaseRemoveLockAndWait(%p, tag %p) called a second time",
                        (void *)RemoveLock, Tag);
        return;
    }
    const kdpc__dispframe *f = kdpc__io_dispatch_current(m);
    kdpc__io *io = kdpc__io_of(m);
    if (f != NULL && f->routine != NULL &&
        (f->irp != io->pnp_irp || io->pnp_minor != IRP_MN_REMOVE_DEVICE))
        kdpc__violation(m, KDPC_R_REMOVELOCK_WAIT_OUTSIDE_REMOVE, 0, (uintptr_t)RemoveLock,
                        (uintptr_t)Tag, (uintptr_t)f->irp, (uintptr_t)f->dev, KDPC_RP(f->routine),
                        "IoReleaseRemoveLockAndWait(%p) called by the dispatch routine of IRP %p, "
                        "which is not IRP_MN_REMOVE_DEVICE: only the remove handler waits (use "
                        "IoReleaseRemoveLock elsewhere)",
                        (void *)RemoveLock, (void *)f->irp);
    if (!release_tag(m, r, RemoveLock, Tag, "IoReleaseRemoveLockAndWait"))
        return;
    RemoveLock->Common.Removed = TRUE;
    (void)InterlockedDecrement(&RemoveLock->Common.IoCount);   /* the caller's acquisition */
    if (InterlockedDecrement(&RemoveLock->Common.IoCount) > 0) /* the initial reference */
        (void)KeWaitForSingleObject(&RemoveLock->Common.RemoveEvent, Executive, KernelMode, FALSE,
                                    NULL);
    r->waited = true;
    kdpc__ke_point(m);
}
