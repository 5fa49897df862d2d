/* SPDX-License-Identifier: MIT */
/*
 * irp.c - IRPs: allocation, IoCallDriver, completion and the IoBuild*
 * request builders (docs/facts/io.md 4.1, 4.13-4.19, 4.26-4.27).
 *
 * DESIGN
 * Every IRP kdpc hands out is one allocation: a record (lifecycle flags and
 * a short history for reports), the IRP, then its stack locations. The
 * record lets kdpc find, at the end of a run, the IRPs that were queued or
 * started and never completed (io.irp_lost), and name what happened to them.
 *
 *   allocated --IoCallDriver--> dispatched --(IoMarkIrpPending, IoStartPacket,
 *   StartIo, ...)--> IoCompleteRequest --> completed (CurrentLocation = StackCount + 2)
 *                                  \--STATUS_MORE_PROCESSING_REQUIRED: owned again by that driver
 *
 * Completion (4.14): from the completing driver's location upwards, each
 * location's routine runs when its Invoke* condition holds, at the
 * completer's IRQL; STATUS_MORE_PROCESSING_REQUIRED stops the walk; without
 * a routine a pending mark is copied up. At the top: buffered output is
 * copied back and the caller's IO_STATUS_BLOCK written unless the IRP was
 * not pending and its status is an error (4.19), the event is signaled,
 * and IRPs built by the I/O manager for a waiting thread are freed.
 *
 * KeFlushIoBuffers(Mdl) marks the IRPs whose MdlAddress is Mdl at that
 * moment (pio.not_flushed reads the mark at completion). An index from MDL
 * to IRP records finds them in O(1): it holds the MdlAddress kdpc last saw in
 * each IRP. kdpc sees it where it sets it (the builders, IoAllocateMdl with
 * an IRP, IoReuseIrp: kdpc__io_irp_set_mdl) and where a driver hands it the
 * IRP (IoCallDriver, IoCompleteRequest); at a flush the IRPs indexed under
 * the MDL are checked against their MdlAddress. A driver may also store
 * Irp->MdlAddress itself, which kdpc cannot see when it happens: the next
 * time kdpc looks at that IRP and finds a new MdlAddress, the flushes of the
 * new MDL since it last looked (the last KDPC_IO_FLUSHES calls are kept)
 * count for the IRP. So the answer is the one of a walk over every IRP
 * (what kdpc did before), except between a store kdpc does not see and the
 * next time it looks at the IRP: a flush of the new MDL made before the store
 * counts; more than KDPC_IO_FLUSHES flushes since the last look and the
 * oldest are missed; an MDL stored, flushed and replaced by the old one again
 * before kdpc looks is not seen flushed. tests/unit/test_flush_index.c pins
 * each of these.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "mm/mm.h"
#include "verifier/ddiirql.h"

#define IRP_MAGIC 0x6b495250u /* "kIRP" */

kdpc__irprec *kdpc__io_irprec(PIRP irp)
{
    kdpc__thread *t = kdpc__self();
    if (irp == NULL || t == NULL || t->m->ke == NULL)
        return NULL;
    kdpc__io *io = kdpc__io_of(t->m);
    return io->irp_map.live != 0 ? kdpc__ptrmap_get(&io->irp_map, (uintptr_t)irp) : NULL;
}

/* On every IoCallDriver and IoCompleteRequest: stored, formatted only for a report. */
void kdpc__io_irp_note_(PIRP irp, const char *fmt, uintptr_t a, uintptr_t b)
{
    kdpc__irprec *r = kdpc__io_irprec(irp);
    if (r == NULL)
        return;
    struct kdpc__irpnote *n = &r->notes[r->nnotes % KDPC_IO_NOTES];
    n->fmt = fmt;
    n->arg[0] = a;
    n->arg[1] = b;
    r->nnotes++;
}

/* One conversion of a note: @spec is its flags and length ("#", "l", "#l", ...), @conv its
 * letter, @a the argument as stored. The formats are literals (-Wformat-nonliteral). */
static int note_conv(char *out, size_t n, const char *spec, char conv, uintptr_t a)
{
    bool alt = strchr(spec, '#') != NULL, lng = strchr(spec, 'l') != NULL;
    switch (conv) {
    case 'p':
        return snprintf(out, n, "%p", (void *)a);
    case 's':
        return snprintf(out, n, "%s", a != 0 ? (const char *)a : "(null)");
    case 'd':
    case 'i':
        return lng ? snprintf(out, n, "%ld", (long)(intptr_t)a)
                   : snprintf(out, n, "%d", (int)(intptr_t)a);
    case 'u':
        return lng ? snprintf(out, n, "%lu", (unsigned long)a)
                   : snprintf(out, n, "%u", (unsigned)a);
    case 'x':
        if (lng)
            return alt ? snprintf(out, n, "%#lx", (unsigned long)a)
                       : snprintf(out, n, "%lx", (unsigned long)a);
        return alt ? snprintf(out, n, "%#x", (unsigned)a) : snprintf(out, n, "%x", (unsigned)a);
    default:
        return snprintf(out, n, "?");
    }
}

/* Note @note formatted into @out (@n > 0 bytes); the length it took. */
static size_t note_format(const struct kdpc__irpnote *note, char *out, size_t n)
{
    size_t k = 0;
    unsigned used = 0;
    for (const char *f = note->fmt; *f != '\0' && k + 1 < n; f++) {
        if (*f != '%' || f[1] == '\0') {
            out[k++] = *f;
            continue;
        }
        if (f[1] == '%') {
            out[k++] = '%';
            f++;
            continue;
        }
        char spec[8];
        size_t s = 0;
        while ((f[1] == '#' || f[1] == 'l') && s + 1 < sizeof(spec))
            spec[s++] = *++f;
        spec[s] = '\0';
        char conv = *++f;
        if (conv == '\0')
            break;
        int w = note_conv(out + k, n - k, spec, conv, used < 2 ? note->arg[used] : 0);
        used++;
        if (w > 0)
            k += (size_t)w < n - k ? (size_t)w : n - k - 1;
    }
    out[k] = '\0';
    return k;
}

const char *kdpc__io_irp_history(const kdpc__irprec *r, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    uint32_t first = r->nnotes > KDPC_IO_NOTES ? r->nnotes - KDPC_IO_NOTES : 0;
    char all[KDPC_IO_NOTES * 72 + 8];
    size_t k = 0;
    if (first > 0)
        k += (size_t)snprintf(all, sizeof(all), "...");
    for (uint32_t i = first; i < r->nnotes; i++) {
        if (k > 0)
            k += (size_t)snprintf(all + k, sizeof(all) - k, " > ");
        char line[64];
        note_format(&r->notes[i % KDPC_IO_NOTES], line, sizeof(line));
        k += (size_t)snprintf(all + k, sizeof(all) - k, "%s", line);
    }
    if (k == 0) {
        snprintf(buf, n, "-");
        return buf;
    }
    /* too long: the newest notes, cut at a " > " */
    const char *from = all;
    if (k >= n) {
        from = all + (k - (n - 1));
        const char *sep = strstr(from, " > ");
        if (sep != NULL && (size_t)(sep - all) + 4 < k)
            from = sep + 3;
    }
    snprintf(buf, n, "%s", from);
    return buf;
}

static void init_irp(PIRP irp, CCHAR stack)
{
    memset(irp, 0, sizeof(*irp) + (size_t)stack * sizeof(IO_STACK_LOCATION));
    irp->Type = IO_TYPE_IRP;
    irp->Size = (USHORT)(sizeof(IRP) + (size_t)stack * sizeof(IO_STACK_LOCATION));
    irp->StackCount = stack;
    irp->CurrentLocation = (CHAR)(stack + 1);
    irp->Tail.Overlay.CurrentStackLocation = (PIO_STACK_LOCATION)(void *)(irp + 1) + stack;
    InitializeListHead(&irp->ThreadListEntry);
}

PIRP kdpc__io_new_irp(kdpc_machine *m, CCHAR stack)
{
    if (stack < 1)
        return NULL;
    kdpc__io *io = kdpc__io_of(m);
    kdpc__irprec *r = calloc(1, sizeof(*r) + (size_t)stack * sizeof(IO_STACK_LOCATION));
    if (r == NULL)
        return NULL;
    if (!kdpc__ptrmap_put(&io->irp_map, (uintptr_t)&r->irp, r)) {
        free(r);
        return NULL;
    }
    r->magic = IRP_MAGIC;
    r->m = m;
    r->serial = ++io->irp_serial;
    r->flush_seen = io->flushes;
    r->next = io->irps;
    r->prev = NULL;
    if (io->irps != NULL)
        io->irps->prev = r;
    io->irps = r;
    init_irp(&r->irp, stack);
    return &r->irp;
}

/* ------------------------------------------------------------------ */
/* Index by MDL (KeFlushIoBuffers)                                     */

static void mark_flush(kdpc__irprec *r, bool read, bool dma)
{
    if (read && !dma)
        r->pio_flushed = true;
    if (dma)
        r->dma_used = true;
}

static void mdl_unindex(kdpc__io *io, kdpc__irprec *r)
{
    if (r->mdl_key == NULL)
        return;
    if (r->mdl_next != NULL)
        r->mdl_next->mdl_prev = r->mdl_prev;
    if (r->mdl_prev != NULL)
        r->mdl_prev->mdl_next = r->mdl_next;
    else if (r->mdl_next != NULL)
        (void)kdpc__ptrmap_put(&io->mdl_irps, (uintptr_t)r->mdl_key, r->mdl_next); /* in place */
    else
        (void)kdpc__ptrmap_del(&io->mdl_irps, (uintptr_t)r->mdl_key);
    r->mdl_key = NULL;
    r->mdl_next = r->mdl_prev = NULL;
}

/* Out of host memory: not indexed (mdl_key stays NULL), so the next look at the IRP finds the
 * MDL new and counts its flushes from the ring. */
static void mdl_index(kdpc__io *io, kdpc__irprec *r, PMDL mdl)
{
    kdpc__irprec *first = kdpc__ptrmap_get(&io->mdl_irps, (uintptr_t)mdl);
    if (!kdpc__ptrmap_put(&io->mdl_irps, (uintptr_t)mdl, r))
        return;
    r->mdl_key = mdl;
    r->mdl_prev = NULL;
    r->mdl_next = first;
    if (first != NULL)
        first->mdl_prev = r;
}

/* Bring @r's place in the index up to its MdlAddress. @unseen: the driver may have stored a
 * new MdlAddress since kdpc last looked, so the flushes of that MDL since then count (as far
 * as the ring goes back); false right after kdpc stored it itself. */
static void mdl_sync(kdpc__io *io, kdpc__irprec *r, bool unseen)
{
    PMDL now = r->irp.MdlAddress;
    if (now != r->mdl_key) {
        mdl_unindex(io, r);
        if (now != NULL) {
            mdl_index(io, r, now);
            uint64_t from = r->flush_seen;
            if (io->flushes - from > KDPC_IO_FLUSHES)
                from = io->flushes - KDPC_IO_FLUSHES;
            for (uint64_t k = from + 1; unseen && k <= io->flushes; k++) {
                if (io->flush_ring[k % KDPC_IO_FLUSHES].mdl == now)
                    mark_flush(r, io->flush_ring[k % KDPC_IO_FLUSHES].read,
                               io->flush_ring[k % KDPC_IO_FLUSHES].dma);
            }
        }
    }
    r->flush_seen = io->flushes;
}

void kdpc__io_irp_set_mdl(kdpc_machine *m, PIRP irp, PMDL mdl)
{
    kdpc__irprec *r = kdpc__io_irprec(irp);
    if (r != NULL)
        mdl_sync(kdpc__io_of(m), r, true);
    irp->MdlAddress = mdl;
    if (r != NULL)
        mdl_sync(kdpc__io_of(m), r, false);
}

/* The request @r stood for is over (its IRP freed or reused): the pending marks it had, for the
 * dispatch routines of it still running (io.pending_not_returned, io.pending_not_marked). */
static void remember_gone(kdpc__io *io, const kdpc__irprec *r)
{
    io->gone[io->gone_next].serial = r->serial;
    io->gone[io->gone_next].marks = r->pending_marks;
    io->gone_next = (io->gone_next + 1u) % KDPC_IO_GONE;
}

static void drop(kdpc_machine *m, kdpc__irprec *r)
{
    kdpc__io *io = kdpc__io_of(m);
    mdl_unindex(io, r);
    (void)kdpc__ptrmap_del(&io->irp_map, (uintptr_t)&r->irp);
    kdpc__io_retire(m, &r->irp, KDPC_IOK_IRP);
    remember_gone(io, r);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        io->irps = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    if (r->sysbuf_owned)
        free(r->irp.AssociatedIrp.SystemBuffer);
    /* the builder's MDL, unless the driver freed it already (IoFreeMdl reported that) */
    if (r->mdl_owned && r->irp.MdlAddress != NULL &&
        kdpc__io_live_kind(m, r->irp.MdlAddress) == KDPC_IOK_MDL) {
        kdpc__io_unregister(m, r->irp.MdlAddress);
        kdpc__io_free_mem(m, r->irp.MdlAddress);
    }
    r->magic = 0;
    free(r);
}

void kdpc__io_irps_free(kdpc_machine *m)
{
    kdpc__io *io = kdpc__io_of(m);
    while (io->irps != NULL)
        drop(m, io->irps);
    kdpc__ptrmap_free(&io->irp_map);
    kdpc__ptrmap_free(&io->mdl_irps);
}

PIRP kdpc_IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
    (void)ChargeQuota;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAllocateIrp", &c);
    if (m == NULL || StackSize < 1 || kdpc__pool_fail(m))
        return NULL;
    PIRP irp = kdpc__io_new_irp(m, StackSize);
    if (irp != NULL)
        kdpc__io_irprec(irp)->origin = KDPC_IRP_FROM_ALLOCATE;
    kdpc__ke_point(m);
    return irp;
}

/*
 * IoFreeIrp of something that is not a live IRP (NULL aside) is Verifier's
 * 0xC9/0x01 ("free an object whose type is not IO_TYPE_IRP", P2 = the
 * address), a double free included; an IRP the I/O manager built for a
 * waiting thread is 0xC9/0x02 ("free an IRP still associated with a
 * thread"); one still queued (IoStartPacket's device queue, a cancel-safe
 * queue) is 0xC9/0x20B ("freeing an IRP that is still in use", WDM DRIVER
 * ERROR: P2 = the caller, P3 = the IRP, P4 = its device). With
 * io.invalid_object off or a warning nothing is freed.
 */
void kdpc_IoFreeIrp(PIRP Irp)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoFreeIrp", &c);
    if (m == NULL)
        return;
    if (Irp == NULL) {
        kdpc__io_invalid_access(m, "IoFreeIrp", KDPC_RP(kdpc_IoFreeIrp), Irp, KDPC_IOK_IRP);
        return;
    }
    if (!kdpc__io_valid(m, Irp, KDPC_IOK_IRP)) {
        kdpc__io_invalid(m, "IoFreeIrp", Irp, KDPC_IOK_IRP, 0xC9, 0x01, (uintptr_t)Irp, 0, 0);
        return;
    }
    kdpc__irprec *r = kdpc__io_irprec(Irp);
    if (r->thread_irp) {
        kdpc__violation(m, KDPC_R_IO_INVALID_OBJECT, 0xC9, 0x02, (uintptr_t)Irp, 0, 0, NULL,
                        "IoFreeIrp(%p): the I/O manager built this IRP for a waiting thread and "
                        "frees it at completion (IoBuildSynchronousFsdRequest / "
                        "IoBuildDeviceIoControlRequest)",
                        (void *)Irp);
        return; /* as a warning: left to the I/O manager */
    }
    if (r->queued || r->out) { /* Verifier's 0x20B: freeing an IRP that is still in use */
        kdpc__violation(m, KDPC_R_IO_INVALID_OBJECT, 0xC9, 0x20B,
                        (uintptr_t)__builtin_return_address(0), (uintptr_t)Irp,
                        (uintptr_t)r->device, NULL,
                        r->queued ? "IoFreeIrp(%p): the IRP is still queued (device queue or "
                                    "cancel-safe queue); take it out, or complete it, first"
                                  : "IoFreeIrp(%p): the IRP is still at the driver it was sent "
                                    "to; free it once its completion routine has it back",
                        (void *)Irp);
        return; /* as a warning: not freed, so the queue never holds freed memory */
    }
    kdpc__trace_forget(m, Irp, Irp->Size); /* trace numbers, names of objects in it */
    drop(m, r);
    kdpc__ke_point(m);
}

void kdpc_IoReuseIrp(PIRP Irp, NTSTATUS Iostatus)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoReuseIrp", &c);
    if (m == NULL || !kdpc__io_need(m, "IoReuseIrp", KDPC_RP(kdpc_IoReuseIrp), Irp, KDPC_IOK_IRP))
        return;
    kdpc__irprec *r = kdpc__io_irprec(Irp);
    if (!kdpc__io_life_reuse(m, r, (uintptr_t)__builtin_return_address(0)))
        return;
    kdpc__io_irp_set_mdl(m, Irp, NULL); /* init_irp clears it */
    init_irp(Irp, Irp->StackCount);
    Irp->IoStatus.Status = Iostatus;
    r->dispatched = r->completed = r->queued = r->out = r->ex_failed = false;
    /* A new request (new serial): the dispatch routines of the old one may still be running (a
     * completion routine reuses and resends its IRP from inside the lower driver's
     * IoCompleteRequest) and must not take the new request's marks or completion for theirs. */
    remember_gone(kdpc__io_of(m), r);
    r->serial = ++kdpc__io_of(m)->irp_serial;
    r->pending_marks = 0;
    r->nnotes = 0;
}

/*
 * Whether the dispatch routine's location @loc of the IRP whose record had
 * @serial is marked pending: read from the IRP while it is still live and not
 * completed past @loc, else from what its completion walk (or its free)
 * recorded.
 */
bool kdpc__io_marked_pending(kdpc_machine *m, PIRP irp, uint32_t serial, int loc)
{
    if (loc < 1 || loc > 64)
        return false; /* not tracked */
    uint64_t bit = 1ull << (loc - 1);
    kdpc__irprec *r = kdpc__io_irprec(irp);
    if (r != NULL && r->serial == serial) {
        if (r->pending_marks & bit)
            return true;
        if (r->irp.CurrentLocation <= loc && loc <= r->irp.StackCount) {
            PIO_STACK_LOCATION s = (PIO_STACK_LOCATION)(void *)(&r->irp + 1) + (loc - 1);
            return (s->Control & SL_PENDING_RETURNED) != 0;
        }
        return false;
    }
    const kdpc__io *io = kdpc__io_of(m);
    for (unsigned i = 0; i < KDPC_IO_GONE; i++) {
        if (io->gone[i].serial == serial)
            return (io->gone[i].marks & bit) != 0;
    }
    return false;
}

/*
 * Objects (Verifier's I/O Verification, bug check 0xC9): an IRP that is not
 * a live IRP is 0x03 (P2 = the IRP), a NULL device 0x204 (WDM DRIVER ERROR:
 * P2 = the caller, P3 = the IRP), a device that is not a live device object
 * 0x04 (P2 = the device); a NULL IRP is the access violation Windows takes
 * (0x1E, see validate.c). With io.invalid_object off or a warning: STATUS_INVALID_PARAMETER,
 * nothing dispatched.
 * After the dispatch routine: a location it marked pending (IoMarkIrpPending)
 * while it returned another status is io.pending_not_returned, Verifier's
 * 0x23E ("marked an IRP pending but didn't return STATUS_PENDING": P2 = the
 * dispatch routine, P3 = the IRP, P4 = the device).
 * Divergence: Verifier rates 0x23E a non-fatal error (a debugger break);
 * kdpc bug-checks by default; switch the rule to a warning for the other.
 */
NTSTATUS kdpc_IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCallDriver", &c);
    if (m == NULL)
        return STATUS_INVALID_PARAMETER;
    if (Irp == NULL) {
        kdpc__io_invalid_access(m, "IoCallDriver", KDPC_RP(kdpc_IoCallDriver), Irp, KDPC_IOK_IRP);
        return STATUS_INVALID_PARAMETER;
    }
    if (!kdpc__io_valid(m, Irp, KDPC_IOK_IRP)) {
        kdpc__io_invalid(m, "IoCallDriver", Irp, KDPC_IOK_IRP, 0xC9, 0x03, (uintptr_t)Irp, 0, 0);
        return STATUS_INVALID_PARAMETER;
    }
    if (DeviceObject == NULL) {
        kdpc__io_invalid(m, "IoCallDriver", DeviceObject, KDPC_IOK_DEVICE, 0xC9, 0x204,
                         (uintptr_t)__builtin_return_address(0), (uintptr_t)Irp, 0);
        return STATUS_INVALID_PARAMETER;
    }
    if (!kdpc__io_valid(m, DeviceObject, KDPC_IOK_DEVICE) ||
        !kdpc__io_valid(m, DeviceObject->DriverObject, KDPC_IOK_DRIVER)) {
        kdpc__io_invalid(m, "IoCallDriver", DeviceObject, KDPC_IOK_DEVICE, 0xC9, 0x04,
                         (uintptr_t)DeviceObject, 0, 0);
        return STATUS_INVALID_PARAMETER;
    }
    kdpc__irprec *r = kdpc__io_irprec(Irp); /* looked up once for the checks below */
    kdpc__io_flow_call(m, c, DeviceObject, Irp, r, (uintptr_t)__builtin_return_address(0));
    if (Irp->CurrentLocation <= 1)
        kdpc__bugcheck_forced(m, 0x35, (uintptr_t)Irp, 0, 0, 0,
                              "IoCallDriver with no stack location left "
                              "(NO_MORE_IRP_STACK_LOCATIONS)");
    kdpc__io_life_call(m, r, DeviceObject);
    kdpc__io_pnp_on_call(m, Irp, r, DeviceObject, (uintptr_t)__builtin_return_address(0)); /* pnp */
    /* power */
    kdpc__io_power_on_call(m, Irp, r, DeviceObject, (uintptr_t)__builtin_return_address(0));
    if (kdpc__io_of(m)->pnp_hooks.forwarding != NULL)
        kdpc__io_of(m)->pnp_hooks.forwarding(m, Irp, DeviceObject);
    IoSetNextIrpStackLocation(Irp);
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(Irp);
    s->DeviceObject = DeviceObject;
    mdl_sync(kdpc__io_of(m), r, true);
    r->dispatched = r->out = true;
    r->device = DeviceObject;
    uint32_t serial = r->serial;
    int loc = Irp->CurrentLocation;
    kdpc__io_flow flow = kdpc__io_flow_enter(m, r, DeviceObject, loc); /* irp-flow */
    kdpc__io_irp_note(Irp, "IoCallDriver(%p, MJ %u)", (void *)DeviceObject,
                      (unsigned)s->MajorFunction);
    PDRIVER_DISPATCH d = NULL;
    if (DeviceObject->DriverObject != NULL && s->MajorFunction <= IRP_MJ_MAXIMUM_FUNCTION)
        d = DeviceObject->DriverObject->MajorFunction[s->MajorFunction];
    kdpc__trace_obj2(m, KDPC_EV_IRP_CALL, c, Irp, KDPC_RP(d),
                     ((uint64_t)s->MajorFunction << 8) | s->MinorFunction, DeviceObject);
    kdpc__ke_point(m);
    kdpc__dispframe *df = kdpc__io_dispatch_enter(m, DeviceObject, Irp, d, loc); /* dispatch */
    NTSTATUS st;
    if (d == NULL) {
        /* No dispatch routine: the I/O manager's default completes it as invalid. */
        Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
        Irp->IoStatus.Information = 0;
        kdpc_IoCompleteRequest(Irp, IO_NO_INCREMENT);
        st = STATUS_INVALID_DEVICE_REQUEST;
    } else {
        /* area: pool: the dispatch routine's allocations are its driver's, not its caller's */
        void *caller = kdpc__io_enter_driver(c, DeviceObject->DriverObject);
        st = d(DeviceObject, Irp);
        (void)kdpc__io_enter_driver(kdpc__cur_cpu(), caller);
        /* Irp may be completed, freed or reused by now: only looked up, never read blindly */
        if (st != STATUS_PENDING && kdpc__io_marked_pending(m, Irp, serial, loc))
            kdpc__violation(m, KDPC_R_IO_PENDING_NOT_RETURNED, 0xC9, 0x23E,
                            kdpc__fnaddr(KDPC_RP(d)), (uintptr_t)Irp, (uintptr_t)DeviceObject,
                            KDPC_RP(d),
                            "the dispatch routine marked IRP %p pending (IoMarkIrpPending) and "
                            "returned %#lx: after IoMarkIrpPending it must return STATUS_PENDING, "
                            "even when the IRP is already completed",
                            (void *)Irp, (unsigned long)st);
    }
    /* IoMarkIrpPending is inline (it only sets SL_PENDING_RETURNED): the trace learns of it
     * when the routine returns STATUS_PENDING, if that request is still alive and not
     * completed. */
    if (m->trace != NULL && st == STATUS_PENDING && kdpc__io_marked_pending(m, Irp, serial, loc)) {
        kdpc__irprec *now = kdpc__io_irprec(Irp);
        if (now != NULL && now->serial == serial && !now->completed)
            kdpc__trace_obj2(m, KDPC_EV_IRP_QUEUE, kdpc__cur_cpu(), Irp, NULL, 1, DeviceObject);
    }
    /* Irp may be freed by now and its address hold another request: the hook judges the
     * request that was sent (df->serial), whatever its address holds now. */
    if (d != NULL && df != NULL && df->completed && kdpc__io_of(m)->pnp_hooks.dispatch_done)
        kdpc__io_of(m)->pnp_hooks.dispatch_done(m, DeviceObject, Irp, d); /* power */
    kdpc__io_dispatch_exit(m, df, st); /* dispatch: what the routine returned and left */
    kdpc__io_flow_leave(m, Irp, serial, &flow, st, (uintptr_t)__builtin_return_address(0),
                        DeviceObject);
    return st;
}

static bool invoke(UCHAR control, NTSTATUS st, BOOLEAN cancel)
{
    return (NT_SUCCESS(st) && (control & SL_INVOKE_ON_SUCCESS)) ||
           (!NT_SUCCESS(st) && (control & SL_INVOKE_ON_ERROR)) ||
           (cancel && (control & SL_INVOKE_ON_CANCEL));
}

/* The originator's side of completion (4.19). */
static void finish(kdpc_machine *m, PIRP irp, kdpc__irprec *r)
{
    NTSTATUS st = irp->IoStatus.Status;
    bool pending = irp->PendingReturned != 0;
    bool report = pending || !NT_ERROR(st);
    bool live = kdpc__io_flow_finish(m, irp, r); /* irp-flow: io.iosb_unwound */
    if (report && (irp->Flags & IRP_BUFFERED_IO) && (irp->Flags & IRP_INPUT_OPERATION) &&
        irp->UserBuffer != NULL && irp->AssociatedIrp.SystemBuffer != NULL)
        memcpy(irp->UserBuffer, irp->AssociatedIrp.SystemBuffer,
               r != NULL && irp->IoStatus.Information > r->user_out_len
                   ? r->user_out_len /* io.buffer_overrun as a warning: never past the buffer */
                   : irp->IoStatus.Information);
    if (live && report && irp->UserIosb != NULL)
        *irp->UserIosb = irp->IoStatus;
    /* The waiting thread always wakes; it reads the status only when it had to wait. */
    if (live && irp->UserEvent != NULL) {
        if (r != NULL)
            kdpc__io_life_event(m, r);
        (void)kdpc__ke_event_set(irp->UserEvent); /* the kernel's own: no IRQL rule */
    }
    if (r != NULL && r->thread_irp)
        drop(m, r);
}

/*
 * Objects: an IRP kdpc freed is completed again: io.double_complete, 0x44
 * (the bug check page's own heuristic: two owners of one packet). Anything
 * else that is not a live IRP (NULL, never initialised, a device object) is
 * the fault a free build takes walking its stack (0x50, or 0x1E for NULL: see
 * validate.c; a checked build ASSERTs Type == IO_TYPE_IRP first). With the
 * rule off or a warning the call returns: there is nothing to complete.
 */
void kdpc_IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    (void)PriorityBoost;
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoCompleteRequest", &c);
    if (m == NULL)
        return;
    if (!kdpc__io_valid(m, Irp, KDPC_IOK_IRP)) {
        if (Irp != NULL && kdpc__io_live_kind(m, Irp) == KDPC_IOK_NONE &&
            kdpc__io_retired_kind(m, Irp) == KDPC_IOK_IRP)
            kdpc__violation(m, KDPC_R_IO_DOUBLE_COMPLETE, 0x44, (uintptr_t)Irp, 0, 0, 0, NULL,
                            "IoCompleteRequest on IRP %p, which was already freed (completed "
                            "twice, or completed after IoFreeIrp: two owners of one packet)",
                            (void *)Irp);
        else
            kdpc__io_invalid_access(m, "IoCompleteRequest", KDPC_RP(kdpc_IoCompleteRequest), Irp,
                                    KDPC_IOK_IRP);
        return;
    }
    kdpc__irprec *r = kdpc__io_irprec(Irp);
    if (r != NULL)
        mdl_sync(kdpc__io_of(m), r, true); /* KeFlushIoBuffers' marks are read below */
    if (Irp->CurrentLocation > Irp->StackCount + 1)
        kdpc__violation(m, KDPC_R_IO_DOUBLE_COMPLETE, 0x44, (uintptr_t)Irp, 0, 0, 0, NULL,
                        "IoCompleteRequest on IRP %p, which was already completed", (void *)Irp);
    if (Irp->CurrentLocation > Irp->StackCount + 1)
        return; /* as a warning: completing twice would walk off the stack */
    kdpc__trace2(m, KDPC_EV_IRP_COMPLETE, c, Irp, NULL, (uint32_t)Irp->IoStatus.Status,
                 Irp->IoStatus.Information);
    kdpc__io_flow_complete(m, c, Irp, r, (uintptr_t)__builtin_return_address(0));  /* irp-flow */
    kdpc__io_pnp_on_complete(m, Irp, r, (uintptr_t)__builtin_return_address(0));   /* pnp */
    kdpc__io_power_on_complete(m, Irp, r, (uintptr_t)__builtin_return_address(0)); /* power */
    if (r != NULL)
        kdpc__io_life_complete(m, r);   /* irp-life: handed back up */
    kdpc__io_dispatch_complete(m, Irp); /* dispatch: io.complete_owned_below */
    if (Irp->IoStatus.Status == STATUS_PENDING || Irp->IoStatus.Status == -1)
        kdpc__violation(m, KDPC_R_IO_COMPLETE_PENDING, 0xC9, 0x06, (uint32_t)Irp->IoStatus.Status,
                        (uintptr_t)Irp, 0, NULL,
                        "IoCompleteRequest with IoStatus.Status = STATUS_PENDING: set the final "
                        "status first");
    if (Irp->CancelRoutine != NULL) /* io.md 4.13 */
        kdpc__violation(m, KDPC_R_IO_COMPLETE_CANCELABLE, 0xC9, 0x07, (uintptr_t)Irp->CancelRoutine,
                        (uintptr_t)Irp, 0, NULL,
                        "IoCompleteRequest on IRP %p with its cancel routine still set: "
                        "IoSetCancelRoutine(Irp, NULL) first, and complete only if it returned "
                        "the routine (else the cancel routine owns the IRP)",
                        (void *)Irp);
    PIO_STACK_LOCATION s = IoGetCurrentIrpStackLocation(Irp);
    if (Irp->CurrentLocation <= Irp->StackCount && s->MajorFunction == IRP_MJ_DEVICE_CONTROL &&
        METHOD_FROM_CTL_CODE(s->Parameters.DeviceIoControl.IoControlCode) == METHOD_BUFFERED &&
        NT_SUCCESS(Irp->IoStatus.Status) &&
        Irp->IoStatus.Information > s->Parameters.DeviceIoControl.OutputBufferLength)
        /* Divergence: Verifier rates 0x312 a non-fatal error; kdpc bug-checks by default, as
         * data claimed past the buffer is a bug (G16); switch the rule to a warning for the
         * other. */
        kdpc__violation(m, KDPC_R_IO_BUFFER_OVERRUN, 0xC9, 0x312,
                        (uintptr_t)__builtin_return_address(0), (uintptr_t)Irp,
                        (uintptr_t)s->DeviceObject, NULL,
                        "IRP completed with Information = %lu, beyond its output buffer of %lu "
                        "bytes",
                        (unsigned long)Irp->IoStatus.Information,
                        (unsigned long)s->Parameters.DeviceIoControl.OutputBufferLength);
    bool dma = false;
    kdpc__io_dma_completion(m, Irp, &dma);
    kdpc__io_controller_completion(m, Irp);
    if (r != NULL && dma)
        r->dma_used = true;
    if (r != NULL && !r->pio_flushed && Irp->CurrentLocation <= Irp->StackCount &&
        s->MajorFunction == IRP_MJ_READ && Irp->MdlAddress != NULL &&
        NT_SUCCESS(Irp->IoStatus.Status) && Irp->IoStatus.Information > 0 && !r->dma_used)
        kdpc__violation(m, KDPC_R_PIO_NOT_FLUSHED, 0, (uintptr_t)Irp, (uintptr_t)Irp->MdlAddress, 0,
                        0, NULL,
                        "a PIO read (IRP %p) completed without KeFlushIoBuffers(Mdl, TRUE, FALSE) "
                        "at the end of its transfer",
                        (void *)Irp);
    kdpc__io_irp_note(Irp, "IoCompleteRequest(%#lx)", (unsigned long)Irp->IoStatus.Status);
    if (r != NULL)
        r->queued = false;
    /* An IRP with no current stack location (CurrentLocation = StackCount + 1) has no
     * completion routine left to call. */
    while (Irp->CurrentLocation <= Irp->StackCount) {
        kdpc__io_dispatch_passing(m, Irp); /* dispatch: the routine of this location is done */
        UCHAR control = s->Control;
        if ((control & SL_PENDING_RETURNED) && r != NULL && Irp->CurrentLocation >= 1 &&
            Irp->CurrentLocation <= 64)
            r->pending_marks |= 1ull << (Irp->CurrentLocation - 1);
        PIO_COMPLETION_ROUTINE routine = s->CompletionRoutine;
        PVOID context = s->Context;
        s->CompletionRoutine = NULL;
        s->Context = NULL;
        s->Control = 0;
        Irp->CurrentLocation++;
        Irp->Tail.Overlay.CurrentStackLocation++;
        Irp->PendingReturned = (control & SL_PENDING_RETURNED) ? TRUE : FALSE;
        bool top = Irp->CurrentLocation > Irp->StackCount;
        if (routine != NULL && invoke(control, Irp->IoStatus.Status, Irp->Cancel)) {
            PDEVICE_OBJECT dev = top ? NULL : IoGetCurrentIrpStackLocation(Irp)->DeviceObject;
            /* area: pool: the routine's allocations are its driver's (the driver of the device
             * whose location it was set in; the originator's own routine: unchanged) */
            void *drv = kdpc__io_devrec(m, dev) != NULL ? (void *)dev->DriverObject : NULL;
            void *caller = drv != NULL ? kdpc__io_enter_driver(kdpc__cur_cpu(), drv) : NULL;
            NTSTATUS rs = kdpc__io_call_completion(m, routine, dev, Irp, context); /* dispatch */
            if (drv != NULL)
                (void)kdpc__io_enter_driver(kdpc__cur_cpu(), caller);
            if (rs == STATUS_MORE_PROCESSING_REQUIRED) {
                /* The routine owns the IRP now, and may have freed it: don't touch it. */
                kdpc__ke_point(m);
                return;
            }
        } else if (Irp->PendingReturned && !top) {
            IoMarkIrpPending(Irp);
        }
        if (top)
            break;
        s = IoGetCurrentIrpStackLocation(Irp);
    }
    Irp->CurrentLocation = (CHAR)(Irp->StackCount + 2);
    if (r != NULL)
        r->completed = true;
    finish(m, Irp, r);
    kdpc__ke_point(m);
}

/* ------------------------------------------------------------------ */
/* Builders                                                            */

static PMDL mdl_for(kdpc_machine *m, PIRP irp, PVOID va, ULONG len)
{
    PMDL mdl = kdpc__io_alloc(m, kdpc__mm_mdl_bytes(va, len)); /* and its PFN array */
    if (mdl == NULL)
        return NULL;
    uintptr_t a = (uintptr_t)va;
    mdl->StartVa = (PVOID)(a & ~(uintptr_t)(PAGE_SIZE - 1));
    mdl->ByteOffset = (ULONG)(a & (PAGE_SIZE - 1));
    mdl->ByteCount = len;
    kdpc__mm_mdl_fill(mdl);
    mdl->MappedSystemVa = kdpc__pool_system_va(m, va); /* locked and mapped (4.13, 7.4) */
    mdl->MdlFlags = MDL_MAPPED_TO_SYSTEM_VA | MDL_PAGES_LOCKED;
    if (!kdpc__io_register(m, mdl, KDPC_IOK_MDL)) {
        kdpc__io_free_mem(m, mdl);
        return NULL;
    }
    kdpc__io_irp_set_mdl(m, irp, mdl);
    return mdl;
}

static PIRP build(const char *name, ULONG major, PDEVICE_OBJECT dev, PKEVENT event,
                  PIO_STATUS_BLOCK iosb, bool thread_irp, kdpc__irprec **rp)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx(name, &c);
    /* Windows reads DeviceObject->StackSize at once: not a live device is 0x1E */
    if (m == NULL ||
        !kdpc__io_need(m, name, KDPC_RP(kdpc_IoBuildDeviceIoControlRequest), dev, KDPC_IOK_DEVICE))
        return NULL;
    if (major == IRP_MJ_DEVICE_CONTROL || major == IRP_MJ_INTERNAL_DEVICE_CONTROL)
        (void)kdpc__ddi_irql_ok(m, c->irql, name, (uintptr_t)dev); /* io.passive_irql; goes on */
    if (dev->StackSize < 1)
        return NULL;
    PIRP irp = kdpc__io_new_irp(m, dev->StackSize);
    if (irp == NULL)
        return NULL;
    kdpc__irprec *r = kdpc__io_irprec(irp);
    r->thread_irp = thread_irp;
    irp->UserEvent = event;
    irp->UserIosb = iosb;
    irp->RequestorMode = KernelMode;
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(irp);
    n->MajorFunction = (UCHAR)major;
    *rp = r;
    return irp;
}

PIRP kdpc_IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                        PVOID InputBuffer, ULONG InputBufferLength,
                                        PVOID OutputBuffer, ULONG OutputBufferLength,
                                        BOOLEAN InternalDeviceIoControl, PKEVENT Event,
                                        PIO_STATUS_BLOCK IoStatusBlock)
{
    kdpc__irprec *r;
    PIRP irp =
        build("IoBuildDeviceIoControlRequest",
              InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL : IRP_MJ_DEVICE_CONTROL,
              DeviceObject, Event, IoStatusBlock, true, &r);
    if (irp == NULL)
        return NULL;
    r->origin = KDPC_IRP_FROM_DEVCTL;
    ULONG method = METHOD_FROM_CTL_CODE(IoControlCode);
    if (method != METHOD_NEITHER && /* irp-life: the buffers it copies or locks (0xC9/0x09) */
        (!kdpc__io_life_buffer_ok(r->m, "IoBuildDeviceIoControlRequest", DeviceObject, 0x09,
                                  IoControlCode, InputBuffer, InputBufferLength) ||
         (method != METHOD_BUFFERED &&
          !kdpc__io_life_buffer_ok(r->m, "IoBuildDeviceIoControlRequest", DeviceObject, 0x09,
                                   IoControlCode, OutputBuffer, OutputBufferLength)))) {
        drop(r->m, r);
        return NULL;
    }
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(irp);
    n->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
    n->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
    n->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
    if (method == METHOD_NEITHER) {
        n->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
        irp->UserBuffer = OutputBuffer;
        return irp;
    }
    size_t len =
        method == METHOD_BUFFERED
            ? (InputBufferLength > OutputBufferLength ? InputBufferLength : OutputBufferLength)
            : InputBufferLength;
    if (len > 0) {
        irp->AssociatedIrp.SystemBuffer = calloc(1, len);
        if (irp->AssociatedIrp.SystemBuffer == NULL) {
            drop(r->m, r);
            return NULL;
        }
        r->sysbuf_owned = true;
        if (InputBuffer != NULL && InputBufferLength > 0)
            memcpy(irp->AssociatedIrp.SystemBuffer, InputBuffer, InputBufferLength);
        irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
    }
    if (method == METHOD_BUFFERED) {
        if (OutputBufferLength > 0)
            irp->Flags |= IRP_INPUT_OPERATION;
        irp->UserBuffer = OutputBuffer;
        r->user_out_len = OutputBufferLength;
    } else if (OutputBuffer != NULL && OutputBufferLength > 0) {
        r->mdl_owned = true;
        if (mdl_for(r->m, irp, OutputBuffer, OutputBufferLength) == NULL) {
            drop(r->m, r);
            return NULL;
        }
        irp->Flags &= ~(ULONG)IRP_INPUT_OPERATION;
    }
    return irp;
}

static PIRP build_fsd(const char *name, ULONG major, PDEVICE_OBJECT dev, PVOID buffer, ULONG len,
                      PLARGE_INTEGER offset, PKEVENT event, PIO_STATUS_BLOCK iosb, bool thread_irp)
{
    kdpc__irprec *r;
    PIRP irp = build(name, major, dev, event, iosb, thread_irp, &r);
    if (irp == NULL)
        return NULL;
    r->origin = thread_irp ? KDPC_IRP_FROM_SYNC_FSD : KDPC_IRP_FROM_ASYNC_FSD;
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(irp);
    if (major != IRP_MJ_READ && major != IRP_MJ_WRITE)
        return irp;
    /* irp-life: a buffer it copies (a buffered write) or locks (direct I/O): 0xC9/0x08 */
    if (((dev->Flags & DO_DIRECT_IO) || ((dev->Flags & DO_BUFFERED_IO) && major == IRP_MJ_WRITE)) &&
        !kdpc__io_life_buffer_ok(r->m, name, dev, 0x08, major, buffer, len)) {
        drop(r->m, r);
        return NULL;
    }
    n->Parameters.Read.Length = len;
    if (offset != NULL)
        n->Parameters.Read.ByteOffset = *offset;
    if (dev->Flags & DO_BUFFERED_IO) {
        irp->AssociatedIrp.SystemBuffer = calloc(1, len > 0 ? len : 1);
        if (irp->AssociatedIrp.SystemBuffer == NULL) {
            drop(r->m, r);
            return NULL;
        }
        r->sysbuf_owned = true;
        irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
        if (major == IRP_MJ_WRITE) {
            if (buffer != NULL && len > 0)
                memcpy(irp->AssociatedIrp.SystemBuffer, buffer, len);
        } else {
            irp->Flags |= IRP_INPUT_OPERATION;
        }
        irp->UserBuffer = buffer;
        r->user_out_len = len;
    } else if (dev->Flags & DO_DIRECT_IO) {
        r->mdl_owned = true;
        if (mdl_for(r->m, irp, buffer, len) == NULL) {
            drop(r->m, r);
            return NULL;
        }
    } else {
        irp->UserBuffer = buffer;
    }
    return irp;
}

PIRP kdpc_IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject,
                                       PVOID Buffer, ULONG Length, PLARGE_INTEGER StartingOffset,
                                       PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock)
{
    return build_fsd("IoBuildSynchronousFsdRequest", MajorFunction, DeviceObject, Buffer, Length,
                     StartingOffset, Event, IoStatusBlock, true);
}

PIRP kdpc_IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject,
                                        PVOID Buffer, ULONG Length, PLARGE_INTEGER StartingOffset,
                                        PIO_STATUS_BLOCK IoStatusBlock)
{
    return build_fsd("IoBuildAsynchronousFsdRequest", MajorFunction, DeviceObject, Buffer, Length,
                     StartingOffset, NULL, IoStatusBlock, false);
}

/* ------------------------------------------------------------------ */
/* io.irp_lost: at the end of a quiet run                              */

void kdpc__io_irps_at_quiescence(kdpc_machine *m)
{
    kdpc__io_flow_quiescent(m); /* irp-flow: io.cancel_not_completed */
    kdpc__io *io = kdpc__io_of(m);
    for (kdpc__irprec *r = io->irps; r != NULL; r = r->next) {
        if (!r->dispatched || r->completed || r->lost_reported)
            continue;
        if (!r->queued && !r->started)
            continue;
        r->lost_reported = true;
        char label[224], history[240];
        kdpc__violation(m, KDPC_R_IO_IRP_LOST, 0, (uintptr_t)&r->irp, (uintptr_t)r->device, 0, 0,
                        NULL,
                        "IRP %p on device %p (%s) was %s and never completed (a missing "
                        "IoStartNextPacket or a lost coalesced request?); history: %s",
                        (void *)&r->irp, (void *)r->device,
                        kdpc__io_device_label(kdpc__io_devrec(m, r->device), label, sizeof(label)),
                        r->queued ? "queued on the device queue" : "started (CurrentIrp)",
                        kdpc__io_irp_history(r, history, sizeof(history)));
    }
}

void kdpc_KeFlushIoBuffers(PMDL Mdl, BOOLEAN ReadOperation, BOOLEAN DmaOperation)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("KeFlushIoBuffers", &c);
    if (m == NULL || Mdl == NULL)
        return;
    (void)kdpc__ke_irql_dispatch_ok(Mdl, "KeFlushIoBuffers"); /* irql.ke_dispatch; goes on */
    kdpc__io *io = kdpc__io_of(m);
    bool read = ReadOperation != FALSE, dma = DmaOperation != FALSE;
    io->flushes++;
    io->flush_ring[io->flushes % KDPC_IO_FLUSHES].mdl = Mdl;
    io->flush_ring[io->flushes % KDPC_IO_FLUSHES].read = read;
    io->flush_ring[io->flushes % KDPC_IO_FLUSHES].dma = dma;
    /* the IRPs kdpc saw with this MdlAddress that still have it */
    for (kdpc__irprec *r = kdpc__ptrmap_get(&io->mdl_irps, (uintptr_t)Mdl); r != NULL;
         r = r->mdl_next) {
        if (r->irp.MdlAddress == Mdl)
            mark_flush(r, read, dma);
    }
    kdpc__ke_point(m);
}
