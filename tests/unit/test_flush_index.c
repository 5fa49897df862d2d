/* SPDX-License-Identifier: MIT */
/*
 * test_flush_index.c - KeFlushIoBuffers finds the IRPs whose MdlAddress is
 * the MDL through an index (src/io/irp.c), and gives the answers a walk over
 * every outstanding IRP gave: pio.not_flushed (a warning) at completion of a
 * direct read whose MDL was not flushed while the IRP held it.
 *
 * MdlAddress stored by kdpc (IoAllocateMdl with the IRP) and by the driver
 * itself (kdpc sees it at IoCallDriver / IoCompleteRequest, and counts the
 * flushes of the new MDL since it last looked); an MDL shared by two IRPs;
 * an MDL swapped after or before its flush; IoReuseIrp and IoFreeIrp take
 * the IRP out of the index; the documented differences from a walk over
 * every IRP: KDPC_IO_FLUSHES (64) flushes at most between a store kdpc did
 * not see and its next look at the IRP, a flush just before such a store, an
 * MDL stored, flushed and replaced before kdpc looks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

#define LEN 16u

enum mode {
    FLUSH_CURRENT,       /* flush Irp->MdlAddress, complete */
    NO_FLUSH,            /* complete */
    STORE_THEN_FLUSH,    /* Irp->MdlAddress = S.other, flush it, complete */
    FLUSH_THEN_SWAP,     /* flush Irp->MdlAddress, then Irp->MdlAddress = S.other, complete */
    SWAP_THEN_FLUSH_OLD, /* old = Irp->MdlAddress; Irp->MdlAddress = S.other; flush old, complete */
    FLUSH_OTHER,         /* flush S.other (not the IRP's), complete */
    STORE_FLUSH_MANY,    /* STORE_THEN_FLUSH with S.extra flushes of S.third after it */
    FLUSH_BEFORE_STORE,  /* flush S.other, then Irp->MdlAddress = S.other, complete */
    STORE_FLUSH_RESTORE, /* Irp->MdlAddress = S.other, flush it, put the old one back */
};

static struct {
    kdpc_machine *m;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    enum mode mode;
    unsigned extra;
    PMDL other, third;
    UCHAR buf[3][LEN];
    int reached_end;
} S;

static NTSTATUS Read(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    PMDL old = Irp->MdlAddress;
    switch (S.mode) {
    case FLUSH_CURRENT:
        KeFlushIoBuffers(Irp->MdlAddress, TRUE, FALSE);
        break;
    case NO_FLUSH:
        break;
    case STORE_THEN_FLUSH:
    case STORE_FLUSH_MANY:
        Irp->MdlAddress = S.other; /* a store kdpc does not see */
        KeFlushIoBuffers(S.other, TRUE, FALSE);
        for (unsigned i = 0; S.mode == STORE_FLUSH_MANY && i < S.extra; i++)
            KeFlushIoBuffers(S.third, TRUE, FALSE);
        break;
    case FLUSH_THEN_SWAP:
        KeFlushIoBuffers(Irp->MdlAddress, TRUE, FALSE);
        Irp->MdlAddress = S.other;
        break;
    case SWAP_THEN_FLUSH_OLD:
        Irp->MdlAddress = S.other;
        KeFlushIoBuffers(old, TRUE, FALSE); /* no longer this IRP's MDL */
        break;
    case FLUSH_OTHER:
        KeFlushIoBuffers(S.other, TRUE, FALSE);
        break;
    case FLUSH_BEFORE_STORE:
        KeFlushIoBuffers(S.other, TRUE, FALSE);
        Irp->MdlAddress = S.other;
        break;
    case STORE_FLUSH_RESTORE:
        Irp->MdlAddress = S.other;
        KeFlushIoBuffers(S.other, TRUE, FALSE);
        Irp->MdlAddress = old;
        break;
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = LEN;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS Entry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    Drv->MajorFunction[IRP_MJ_READ] = Read;
    NTSTATUS st = IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &S.dev);
    if (NT_SUCCESS(st))
        S.dev->Flags |= DO_DIRECT_IO;
    return st;
}

/* A read IRP of the driver's own (IoAllocateIrp): completion leaves it to the caller. */
static PIRP read_irp(void)
{
    PIRP irp = IoAllocateIrp(S.dev->StackSize, FALSE);
    assert_non_null(irp);
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(irp);
    n->MajorFunction = IRP_MJ_READ;
    n->Parameters.Read.Length = LEN;
    return irp;
}

static PMDL new_mdl(unsigned i, PIRP irp)
{
    PMDL mdl = IoAllocateMdl(S.buf[i], LEN, FALSE, FALSE, irp);
    assert_non_null(mdl);
    MmBuildMdlForNonPagedPool(mdl);
    return mdl;
}

static void send(PIRP irp)
{
    assert_int_equal(IoCallDriver(S.dev, irp), STATUS_SUCCESS);
}

static void finish(PIRP irp, PMDL mdl)
{
    irp->MdlAddress = NULL;
    IoFreeIrp(irp);
    if (mdl != NULL)
        IoFreeMdl(mdl);
}

static void load(void)
{
    assert_true(NT_SUCCESS(kdpc_driver_load(S.m, "flushidx", Entry, &S.drv)));
    S.other = new_mdl(1, NULL);
    S.third = new_mdl(2, NULL);
}

static void unload(void)
{
    IoFreeMdl(S.other);
    IoFreeMdl(S.third);
    (void)kdpc_driver_unload(S.drv);
    S.reached_end = 1;
}

/* One IRP whose MDL kdpc set (IoAllocateMdl with the IRP), read in S.mode. */
static void one_read_entry(void *ctx)
{
    (void)ctx;
    load();
    PIRP irp = read_irp();
    PMDL mdl = new_mdl(0, irp);
    assert_ptr_equal(irp->MdlAddress, mdl);
    send(irp);
    finish(irp, mdl);
    unload();
}

static size_t count(kdpc_machine *m, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < kdpc_machine_violation_count(m); i++)
        n += strcmp(kdpc_machine_violation(m, i)->rule, rule) == 0;
    return n;
}

static size_t run_mode(enum mode mode, unsigned extra, kdpc_entry_fn *entry)
{
    memset(&S, 0, sizeof S);
    S.m = kt_machine(1, 0xF1u);
    S.mode = mode;
    S.extra = extra;
    assert_int_equal(kdpc_machine_run(S.m, entry, NULL), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    size_t n = count(S.m, "pio.not_flushed");
    kdpc_machine_destroy(S.m);
    return n;
}

static void test_flush_of_the_irps_mdl_set_by_kdpc(void **state)
{
    (void)state;
    assert_int_equal(run_mode(FLUSH_CURRENT, 0, one_read_entry), 0);
    assert_int_equal(run_mode(NO_FLUSH, 0, one_read_entry), 1);
    assert_int_equal(run_mode(FLUSH_OTHER, 0, one_read_entry), 1);
}

static void test_mdl_stored_by_the_driver_then_flushed(void **state)
{
    (void)state;
    /* kdpc never saw S.other in the IRP before the flush: found at IoCompleteRequest */
    assert_int_equal(run_mode(STORE_THEN_FLUSH, 0, one_read_entry), 0);
}

static void test_flush_then_swap_keeps_the_mark(void **state)
{
    (void)state;
    /* the IRP held the MDL at the flush: it was flushed, whatever it holds at completion */
    assert_int_equal(run_mode(FLUSH_THEN_SWAP, 0, one_read_entry), 0);
}

static void test_flush_of_an_mdl_the_irp_no_longer_holds(void **state)
{
    (void)state;
    assert_int_equal(run_mode(SWAP_THEN_FLUSH_OLD, 0, one_read_entry), 1);
}

/* The two other documented differences from a walk over every IRP at each flush (irp.c): a
 * flush just before an unseen store counts (a walk: not flushed, a warning); a flush of an MDL
 * stored and replaced again before kdpc looks is missed (a walk: flushed, no warning). */
static void test_documented_differences_from_a_walk(void **state)
{
    (void)state;
    assert_int_equal(run_mode(FLUSH_BEFORE_STORE, 0, one_read_entry), 0);
    assert_int_equal(run_mode(STORE_FLUSH_RESTORE, 0, one_read_entry), 1);
}

static void test_flushes_remembered_for_an_unseen_store_are_the_last_64(void **state)
{
    (void)state;
    assert_int_equal(run_mode(STORE_FLUSH_MANY, 63, one_read_entry), 0);
    /* documented limit (irp.c): the flush of S.other is the 65th newest at completion */
    assert_int_equal(run_mode(STORE_FLUSH_MANY, 64, one_read_entry), 1);
}

/* Two IRPs hold one MDL (the driver stored it in both); one flush marks both. */
static void shared_entry(void *ctx)
{
    (void)ctx;
    load();
    PIRP a = read_irp(), b = read_irp();
    PMDL mdl = new_mdl(0, a);
    b->MdlAddress = mdl; /* unseen until IoCallDriver(b) */
    S.mode = FLUSH_CURRENT;
    send(a);
    S.mode = NO_FLUSH;
    send(b);
    a->MdlAddress = NULL;
    IoFreeIrp(a);
    finish(b, mdl);
    unload();
}

static void test_one_flush_marks_every_irp_holding_the_mdl(void **state)
{
    (void)state;
    assert_int_equal(run_mode(FLUSH_CURRENT, 0, shared_entry), 0);
}

/* IoReuseIrp clears MdlAddress, IoFreeIrp frees the record: later flushes of the MDL find no
 * IRP (and touch no freed record: ASan), and a reused IRP is not marked by them. */
static void reuse_free_entry(void *ctx)
{
    (void)ctx;
    load();
    PIRP irp = read_irp();
    PMDL mdl = new_mdl(0, irp);
    IoReuseIrp(irp, STATUS_SUCCESS);
    assert_null(irp->MdlAddress);
    KeFlushIoBuffers(mdl, TRUE, FALSE);
    PIO_STACK_LOCATION n = IoGetNextIrpStackLocation(irp);
    n->MajorFunction = IRP_MJ_READ;
    n->Parameters.Read.Length = LEN;
    irp->MdlAddress = S.third; /* unseen: the flush above was of another MDL */
    S.mode = NO_FLUSH;
    send(irp);
    finish(irp, NULL);
    KeFlushIoBuffers(mdl, TRUE, FALSE);
    KeFlushIoBuffers(S.third, TRUE, FALSE);
    IoFreeMdl(mdl);
    unload();
}

static void test_reused_and_freed_irps_leave_the_index(void **state)
{
    (void)state;
    assert_int_equal(run_mode(NO_FLUSH, 0, reuse_free_entry), 1);
}

/* Many IRPs, many MDLs, random stores and flushes (fixed seeds), against a naive model of the
 * documented answer (irp.c): a flush marks the IRPs that hold the MDL and that kdpc last saw
 * holding it; when kdpc looks at an IRP (IoCallDriver, IoCompleteRequest, IoAllocateMdl with
 * it) and finds a new MdlAddress, the flushes of that MDL since its last look count, the last
 * 64 flushes at most. The model keeps every flush in a log and scans it. */
#define NIRPS   24
#define NMDLS   6
#define FLUSHES 64u

static uint64_t rng;

static unsigned next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 32);
}

static struct {
    PIRP irp[NIRPS];
    PMDL mdl[NMDLS];
    bool flushed[NIRPS];
    PMDL seen[NIRPS];
    size_t last_look[NIRPS];
    PMDL log[8192];
    size_t nlog;
    size_t expected;
} R;

static void model_look(unsigned k)
{
    PMDL cur = R.irp[k]->MdlAddress;
    if (cur != R.seen[k] && cur != NULL) {
        size_t from = R.last_look[k];
        if (R.nlog - from > FLUSHES)
            from = R.nlog - FLUSHES;
        for (size_t t = from; t < R.nlog; t++)
            if (R.log[t] == cur)
                R.flushed[k] = true;
    }
    R.seen[k] = cur;
    R.last_look[k] = R.nlog;
}

static void model_flush(PMDL mdl)
{
    R.log[R.nlog++] = mdl;
    for (unsigned k = 0; k < NIRPS; k++)
        if (R.irp[k] != NULL && R.seen[k] == mdl && R.irp[k]->MdlAddress == mdl)
            R.flushed[k] = true;
}

static NTSTATUS RandomRead(PDEVICE_OBJECT Dev, PIRP Irp)
{
    (void)Dev;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = LEN;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void random_entry(void *ctx)
{
    (void)ctx;
    load();
    S.drv->MajorFunction[IRP_MJ_READ] = RandomRead;
    static UCHAR bufs[NMDLS][LEN];
    for (unsigned i = 0; i < NMDLS; i++) {
        R.mdl[i] = IoAllocateMdl(bufs[i], LEN, FALSE, FALSE, NULL);
        assert_non_null(R.mdl[i]);
    }
    for (unsigned step = 0; step < 3000; step++) {
        unsigned i = next_rand() % NIRPS, op = next_rand() % 8;
        PMDL mdl = R.mdl[next_rand() % NMDLS];
        if (R.irp[i] == NULL) {
            R.irp[i] = read_irp();
            R.flushed[i] = false;
            R.seen[i] = NULL;
            R.last_look[i] = R.nlog;
            continue;
        }
        if (op < 3) { /* the driver stores an MDL (or none) */
            R.irp[i]->MdlAddress = op == 0 ? NULL : mdl;
        } else if (op < 6) {
            KeFlushIoBuffers(mdl, TRUE, FALSE);
            model_flush(mdl);
        } else if (op == 6) { /* kdpc stores one: a look before and after */
            R.irp[i]->MdlAddress = NULL;
            model_look(i);
            PMDL own = IoAllocateMdl(bufs[0], LEN, FALSE, FALSE, R.irp[i]);
            assert_non_null(own);
            R.seen[i] = own;
            KeFlushIoBuffers(own, TRUE, FALSE);
            model_flush(own);
            assert_true(R.flushed[i]);
            R.irp[i]->MdlAddress = NULL;
            IoFreeMdl(own);
            R.irp[i]->MdlAddress = mdl;
        } else { /* sent and completed */
            model_look(i);
            if (R.irp[i]->MdlAddress != NULL && !R.flushed[i])
                R.expected++;
            send(R.irp[i]);
            R.irp[i]->MdlAddress = NULL;
            IoFreeIrp(R.irp[i]);
            R.irp[i] = NULL;
        }
    }
    for (unsigned i = 0; i < NIRPS; i++) {
        if (R.irp[i] != NULL) {
            R.irp[i]->MdlAddress = NULL;
            IoFreeIrp(R.irp[i]);
        }
    }
    for (unsigned i = 0; i < NMDLS; i++)
        IoFreeMdl(R.mdl[i]);
    unload();
}

static void test_random_stores_and_flushes_match_the_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        memset(&R, 0, sizeof R);
        rng = 0x9E3779B97F4A7C15ull * seed;
        size_t got = run_mode(NO_FLUSH, 0, random_entry);
        assert_true(R.expected > 0);
        assert_int_equal(got, R.expected);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_of_the_irps_mdl_set_by_kdpc),
        cmocka_unit_test(test_mdl_stored_by_the_driver_then_flushed),
        cmocka_unit_test(test_flush_then_swap_keeps_the_mark),
        cmocka_unit_test(test_flush_of_an_mdl_the_irp_no_longer_holds),
        cmocka_unit_test(test_flushes_remembered_for_an_unseen_store_are_the_last_64),
        cmocka_unit_test(test_documented_differences_from_a_walk),
        cmocka_unit_test(test_one_flush_marks_every_irp_holding_the_mdl),
        cmocka_unit_test(test_reused_and_freed_irps_leave_the_index),
        cmocka_unit_test(test_random_stores_and_flushes_match_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
