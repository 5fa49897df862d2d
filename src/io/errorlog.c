/* SPDX-License-Identifier: MIT */
/*
 * errorlog.c - IoAllocateErrorLogEntry, IoWriteErrorLogEntry,
 * IoFreeErrorLogEntry and the machine's event log that tests read back
 * (docs/facts/io.md 6.1-6.5).
 *
 * Objects: the IoObject must be a live device or driver object. Windows
 * reads the object's Type and returns NULL unless it is a device's or a
 * driver's: kdpc does the same for NULL, for a live object of another kind
 * and for memory it does not know (a dispatcher object, a zero- or
 * 0xCC-filled buffer: read, as Windows reads it; a wild pointer is left to
 * fault containment). A device or driver object already freed is not read:
 * io.invalid_object, the access violation (or special-pool fault) Windows
 * would take reading it (0x50, see validate.c).
 * Entries are in the registry: writing or freeing one that is not live
 * (written or freed already) is that fault for IoWriteErrorLogEntry and, as the
 * pool free it is, BAD_POOL_CALLER 0xC2/0x07 (P4, freed before) or 0x46 (P2)
 * for IoFreeErrorLogEntry. Off or a warning: nothing done.
 */
#include <stdlib.h>
#include <string.h>

#include <kdpc/driver.h>
#include "io/io.h"

#define EL_MAGIC 0x6b454c31u /* "kEL1" */

typedef struct elhead {
    uint32_t magic;
    UCHAR size;
    PVOID io_object;
    PDEVICE_OBJECT device; /* as it was when allocated (the device may be deleted since) */
    PDRIVER_OBJECT driver;
    _Alignas(16) IO_ERROR_LOG_PACKET packet;
} elhead;

typedef struct kdpc__errlog {
    kdpc_errorlog_entry e;
    ULONG *dump;
} kdpc__errlog;

static elhead *head_of(PVOID entry)
{
    if (entry == NULL)
        return NULL;
    elhead *h = CONTAINING_RECORD(entry, elhead, packet);
    return h->magic == EL_MAGIC ? h : NULL;
}

/* errorlog.irql: IRQL <= DISPATCH_LEVEL, reported with IrqlDispatch's 0xC4 P1 0x00020003.
 * Divergence: IrqlDispatch lists IoWriteErrorLogEntry as a DISPATCH_LEVEL-only routine, but the
 * DDI reference allows both routines at any IRQL up to DISPATCH_LEVEL, and no rule names
 * IoAllocateErrorLogEntry: kdpc reports only a call above DISPATCH_LEVEL, for both. */
static void check_irql(kdpc_machine *m, kdpc__cpu *c, const char *name)
{
    if (c->irql > DISPATCH_LEVEL)
        kdpc__violation(m, KDPC_R_ERRORLOG_IRQL, 0xC4, 0x00020003u, c->irql, 0, 0, NULL,
                        "%s called at IRQL %u, above DISPATCH_LEVEL", name, (unsigned)c->irql);
}

PVOID kdpc_IoAllocateErrorLogEntry(PVOID IoObject, UCHAR EntrySize)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoAllocateErrorLogEntry", &c);
    if (m == NULL)
        return NULL;
    check_irql(m, c, "IoAllocateErrorLogEntry");
    if (IoObject == NULL)
        return NULL;
    kdpc__iokind kind = kdpc__io_live_kind(m, IoObject);
    if (kind == KDPC_IOK_NONE) {
        kdpc__iokind gone = kdpc__io_retired_kind(m, IoObject);
        if (gone == KDPC_IOK_DEVICE || gone == KDPC_IOK_DRIVER) {
            kdpc__io_invalid_access(m, "IoAllocateErrorLogEntry",
                                    KDPC_RP(kdpc_IoAllocateErrorLogEntry), IoObject, gone);
            return NULL;
        }
        if (gone == KDPC_IOK_NONE) { /* not an I/O object kdpc knows: its Type, as Windows */
            CSHORT type = *(const CSHORT *)IoObject;
            if (type == IO_TYPE_DEVICE || type == IO_TYPE_DRIVER)
                kdpc__io_invalid_access(m, "IoAllocateErrorLogEntry",
                                        KDPC_RP(kdpc_IoAllocateErrorLogEntry), IoObject,
                                        type == IO_TYPE_DEVICE ? KDPC_IOK_DEVICE : KDPC_IOK_DRIVER);
        }
        return NULL;
    }
    if ((kind != KDPC_IOK_DEVICE && kind != KDPC_IOK_DRIVER) || !kdpc__io_valid(m, IoObject, kind))
        return NULL; /* its Type is neither a device's nor a driver's */
    if (EntrySize < sizeof(IO_ERROR_LOG_PACKET) || EntrySize > ERROR_LOG_MAXIMUM_SIZE ||
        kdpc__pool_fail(m))
        return NULL;
    size_t size = ((size_t)EntrySize + sizeof(PVOID) - 1) & ~(sizeof(PVOID) - 1);
    elhead *h = kdpc__io_alloc(m, offsetof(elhead, packet) + size);
    if (h == NULL)
        return NULL;
    if (!kdpc__io_register(m, &h->packet, KDPC_IOK_ERRLOG)) {
        kdpc__io_free_mem(m, h);
        return NULL;
    }
    h->magic = EL_MAGIC;
    h->size = EntrySize;
    h->io_object = IoObject;
    h->device = kind == KDPC_IOK_DEVICE ? IoObject : NULL;
    h->driver = kind == KDPC_IOK_DEVICE ? ((PDEVICE_OBJECT)IoObject)->DriverObject : IoObject;
    kdpc__ke_point(m);
    return &h->packet;
}

void kdpc_IoWriteErrorLogEntry(PVOID ElEntry)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoWriteErrorLogEntry", &c);
    if (m == NULL || !kdpc__io_need(m, "IoWriteErrorLogEntry", KDPC_RP(kdpc_IoWriteErrorLogEntry),
                                    ElEntry, KDPC_IOK_ERRLOG))
        return;
    elhead *h = head_of(ElEntry);
    if (h == NULL)
        return;
    check_irql(m, c, "IoWriteErrorLogEntry");
    kdpc__io_unregister(m, ElEntry); /* written: the I/O manager owns it now */
    kdpc__io *io = kdpc__io_of(m);
    if (io->nerrlog == io->caperrlog) {
        size_t ncap = io->caperrlog ? io->caperrlog * 2 : 16;
        kdpc__errlog *n = realloc(io->errlog, ncap * sizeof(*n));
        if (n == NULL) {
            h->magic = 0;
            kdpc__io_free_mem(m, h);
            return;
        }
        io->errlog = n;
        io->caperrlog = ncap;
    }
    const IO_ERROR_LOG_PACKET *p = &h->packet;
    kdpc__errlog *x = &io->errlog[io->nerrlog];
    memset(x, 0, sizeof(*x));
    x->e.ErrorCode = p->ErrorCode;
    x->e.UniqueErrorValue = p->UniqueErrorValue;
    x->e.FinalStatus = p->FinalStatus;
    x->e.RetryCount = p->RetryCount;
    x->e.MajorFunctionCode = p->MajorFunctionCode;
    x->e.SequenceNumber = p->SequenceNumber;
    x->e.IoControlCode = p->IoControlCode;
    size_t room = h->size > offsetof(IO_ERROR_LOG_PACKET, DumpData)
                      ? h->size - offsetof(IO_ERROR_LOG_PACKET, DumpData)
                      : 0;
    size_t dump = p->DumpDataSize < room ? p->DumpDataSize : room;
    if (dump > 0) {
        x->dump = malloc(dump);
        if (x->dump != NULL) {
            memcpy(x->dump, p->DumpData, dump);
            x->e.DumpDataSize = (USHORT)dump;
        }
    }
    x->e.DumpData = x->dump;
    x->e.Device = h->device;
    x->e.Driver = h->driver;
    x->e.time_ns = m->now_ns;
    io->nerrlog++;
    kdpc__io_free_mem(m, h);
    kdpc__ke_point(m);
}

void kdpc_IoFreeErrorLogEntry(PVOID ElEntry)
{
    kdpc__cpu *c;
    kdpc_machine *m = kdpc__ke_ctx("IoFreeErrorLogEntry", &c);
    if (m == NULL)
        return;
    if (kdpc__io_live_kind(m, ElEntry) != KDPC_IOK_ERRLOG) {
        if (ElEntry != NULL && kdpc__io_live_kind(m, ElEntry) == KDPC_IOK_NONE &&
            kdpc__io_retired_kind(m, ElEntry) == KDPC_IOK_ERRLOG)
            kdpc__io_invalid(m, "IoFreeErrorLogEntry", ElEntry, KDPC_IOK_ERRLOG, 0xC2, 0x07, 0, 0,
                             (uintptr_t)ElEntry);
        else
            kdpc__io_invalid(m, "IoFreeErrorLogEntry", ElEntry, KDPC_IOK_ERRLOG, 0xC2, 0x46,
                             (uintptr_t)ElEntry, 0, 0);
        return;
    }
    elhead *h = head_of(ElEntry);
    if (h == NULL)
        return;
    kdpc__io_unregister(m, ElEntry);
    h->magic = 0;
    kdpc__io_free_mem(m, h);
}

void kdpc__io_errlog_free(kdpc_machine *m)
{
    kdpc__io *io = kdpc__io_of(m);
    for (size_t i = 0; i < io->nerrlog; i++)
        free(io->errlog[i].dump);
    free(io->errlog);
    io->errlog = NULL;
    io->nerrlog = io->caperrlog = 0;
}

size_t kdpc_errorlog_count(const kdpc_machine *m)
{
    return m != NULL && m->ke != NULL ? kdpc__io_of(m)->nerrlog : 0;
}

const kdpc_errorlog_entry *kdpc_errorlog_entry_at(const kdpc_machine *m, size_t i)
{
    if (m == NULL || m->ke == NULL || i >= kdpc__io_of(m)->nerrlog)
        return NULL;
    return &kdpc__io_of(m)->errlog[i].e;
}
