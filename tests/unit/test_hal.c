/* SPDX-License-Identifier: MIT */
/*
 * test_hal.c - MmMapIoSpace / MmMapIoSpaceEx / MmUnmapIoSpace,
 * MmGetPhysicalAddress, READ_/WRITE_REGISTER_* and READ_/WRITE_PORT_* with
 * their _BUFFER_ forms, against a virtual device (docs/facts/hal.md).
 * Bad accesses and sync.isr_unsynchronized per register are in
 * tests/bugcheck/test_hal_rules.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/device.h>
#include "kdpc_test.h"

#define WIN_BASE  0xFED00000ull
#define WIN_LEN   0x100u
#define PORT_BASE 0x3F8u
#define PORT_LEN  8u
#define LINE      4u

/* The device: 64 32-bit registers; the last access as the handler saw it. */
typedef struct regdev {
    uint32_t regs[WIN_LEN / 4];
    uint64_t port_reads; /* port reads answer 1, 2, 3, ... */
    kdpc_reg_access last;
    unsigned accesses;
} regdev;

static regdev D;
static kdpc_device *dev;

static uint64_t dev_read(const kdpc_reg_access *a)
{
    regdev *d = a->ctx;
    d->last = *a;
    d->accesses++;
    if (a->port)
        return ++d->port_reads;
    uint64_t v = 0;
    memcpy(&v, (const unsigned char *)d->regs + a->offset, a->width);
    if (a->offset == 0xF8) /* all ones: the layer masks to the width */
        return UINT64_MAX;
    return v;
}

static void dev_write(const kdpc_reg_access *a)
{
    regdev *d = a->ctx;
    d->last = *a;
    d->accesses++;
    if (a->port)
        return;
    memcpy((unsigned char *)d->regs + a->offset, &a->value, a->width);
    if (a->offset == 0xF0 && a->value == 1) /* GO: raise the (latched) line */
        (void)kdpc_device_line_set(a->device, 0, true);
}

static kdpc_machine *machine_with_device(size_t trace)
{
    memset(&D, 0, sizeof(D));
    kdpc_config cfg = kt_config(1, 3);
    cfg.trace_capacity = trace;
    cfg.interrupt_delay_permille = 0; /* a deliverable interrupt is taken at the next point */
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_device_desc desc;
    kdpc_device_desc_init(&desc);
    desc.name = "regdev";
    desc.ctx = &D;
    desc.windows[0] = (kdpc_range_desc){WIN_BASE, WIN_LEN, dev_read, dev_write};
    desc.nwindows = 1;
    desc.ports[0] = (kdpc_range_desc){PORT_BASE, PORT_LEN, dev_read, dev_write};
    desc.nports = 1;
    desc.lines[0].line = LINE;
    desc.lines[0].level = false;
    desc.nlines = 1;
    assert_int_equal(kdpc_device_plug(m, &desc, &dev), KDPC_OK);
    return m;
}

static PHYSICAL_ADDRESS pa(uint64_t a)
{
    PHYSICAL_ADDRESS p;
    p.QuadPart = (LONGLONG)a;
    return p;
}

/* ------------------------------------------------------------------ */
/* Mapping and the basic accesses (1.1, 1.3, 2.1)                      */

static uintptr_t va_low;
static ULONG read_back;
static kdpc_reg_access write_seen;

static void MapReadWrite(void *ctx)
{
    (void)ctx;
    volatile ULONG *regs = MmMapIoSpace(pa(WIN_BASE + 0x10), 0x20, MmNonCached);
    if (regs == NULL)
        return;
    va_low = (uintptr_t)regs & 0xFFFu;
    WRITE_REGISTER_ULONG(&regs[1], 0x12345678u);
    write_seen = D.last;
    read_back = READ_REGISTER_ULONG(&regs[1]);
    MmUnmapIoSpace((PVOID)(uintptr_t)regs, 0x20);
}

static void test_map_then_access_reaches_the_window_handlers(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    assert_int_equal(kdpc_machine_run(m, MapReadWrite, NULL), KDPC_OK);
    assert_int_equal(va_low, 0x10); /* 1.1: the offset in the page is kept */
    assert_false(write_seen.port);
    assert_int_equal(write_seen.range, 0);
    assert_int_equal(write_seen.offset, 0x14);
    assert_int_equal(write_seen.width, 4);
    assert_int_equal(write_seen.value, 0x12345678u);
    assert_ptr_equal(write_seen.device, dev);
    assert_ptr_equal(write_seen.machine, m);
    assert_int_equal(read_back, 0x12345678u);
    assert_int_equal(D.regs[5], 0x12345678u);
    kdpc_device_counters k;
    assert_int_equal(kdpc_device_get_counters(dev, &k), KDPC_OK);
    assert_int_equal(k.reads, 1);
    assert_int_equal(k.writes, 1);
    KT_ASSERT_NO_VIOLATION(m, "hal.bad_address");
    kdpc_machine_destroy(m);
}

static UCHAR r8, r8_ones;
static USHORT r16;
static ULONG64 r64;
static unsigned w8_width, w16_width, w64_width;

static void Widths(void *ctx)
{
    (void)ctx;
    volatile UCHAR *b = MmMapIoSpace(pa(WIN_BASE), WIN_LEN, MmNonCached);
    if (b == NULL)
        return;
    WRITE_REGISTER_UCHAR(b + 3, 0xAB);
    w8_width = D.last.width;
    WRITE_REGISTER_USHORT((volatile USHORT *)(b + 8), 0xBEEF);
    w16_width = D.last.width;
    WRITE_REGISTER_ULONG64((volatile ULONG64 *)(b + 16), 0x0102030405060708ull);
    w64_width = D.last.width;
    r8 = READ_REGISTER_UCHAR(b + 3);
    r16 = READ_REGISTER_USHORT((volatile USHORT *)(b + 8));
    r64 = READ_REGISTER_ULONG64((volatile ULONG64 *)(b + 16));
    r8_ones = READ_REGISTER_UCHAR(b + 0xF8);
    MmUnmapIoSpace((PVOID)(uintptr_t)b, WIN_LEN);
}

static void test_each_width_is_one_handler_call_of_that_width(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    assert_int_equal(kdpc_machine_run(m, Widths, NULL), KDPC_OK);
    assert_int_equal(w8_width, 1);
    assert_int_equal(w16_width, 2);
    assert_int_equal(w64_width, 8);
    assert_int_equal(r8, 0xAB);
    assert_int_equal(r16, 0xBEEF);
    assert_int_equal(r64, 0x0102030405060708ull);
    assert_int_equal(r8_ones, 0xFF); /* a handler's bits above the width are dropped */
    kdpc_machine_destroy(m);
}

/* 2.2: the register _BUFFER_ forms walk consecutive registers */
static ULONG buf_in[4];
static USHORT buf16[4];

static void RegisterBuffers(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = MmMapIoSpace(pa(WIN_BASE), WIN_LEN, MmNonCached);
    if (r == NULL)
        return;
    ULONG out[4] = {1, 2, 3, 4};
    WRITE_REGISTER_BUFFER_ULONG(r, out, 4);
    READ_REGISTER_BUFFER_ULONG(r, buf_in, 4);
    READ_REGISTER_BUFFER_USHORT((volatile USHORT *)r, buf16, 4);
    READ_REGISTER_BUFFER_ULONG(r, buf_in, 0); /* Count 0: nothing */
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
}

static void test_register_buffer_forms_walk_consecutive_registers(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    assert_int_equal(kdpc_machine_run(m, RegisterBuffers, NULL), KDPC_OK);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(D.regs[i], i + 1);
        assert_int_equal(buf_in[i], i + 1);
    }
    assert_int_equal(buf16[0], 1);
    assert_int_equal(buf16[1], 0);
    assert_int_equal(buf16[2], 2);
    assert_int_equal(buf16[3], 0);
    assert_int_equal(D.accesses, 4 + 4 + 4);
    kdpc_machine_destroy(m);
}

/* 2.2: every width of the register _BUFFER_ forms, each way */
static UCHAR b8[4];
static USHORT b16[2];
static ULONG64 b64[2];

static void EveryRegisterBufferWidth(void *ctx)
{
    (void)ctx;
    volatile UCHAR *r = MmMapIoSpace(pa(WIN_BASE), WIN_LEN, MmNonCached);
    if (r == NULL)
        return;
    UCHAR o8[4] = {0x11, 0x22, 0x33, 0x44};
    USHORT o16[2] = {0x5566, 0x7788};
    ULONG64 o64[2] = {0x0102030405060708ull, 0x1112131415161718ull};
    WRITE_REGISTER_BUFFER_UCHAR(r, o8, 4);                              /* regs[0] */
    WRITE_REGISTER_BUFFER_USHORT((volatile USHORT *)(r + 4), o16, 2);   /* regs[1] */
    WRITE_REGISTER_BUFFER_ULONG64((volatile ULONG64 *)(r + 8), o64, 2); /* regs[2..5] */
    READ_REGISTER_BUFFER_UCHAR(r, b8, 4);
    READ_REGISTER_BUFFER_USHORT((volatile USHORT *)(r + 4), b16, 2);
    READ_REGISTER_BUFFER_ULONG64((volatile ULONG64 *)(r + 8), b64, 2);
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
}

static void test_every_register_buffer_width_moves_its_values(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    assert_int_equal(kdpc_machine_run(m, EveryRegisterBufferWidth, NULL), KDPC_OK);
    assert_int_equal(D.regs[0], 0x44332211u);
    assert_int_equal(D.regs[1], 0x77885566u);
    assert_int_equal(D.regs[2], 0x05060708u);
    assert_int_equal(D.regs[3], 0x01020304u);
    assert_int_equal(D.regs[5], 0x11121314u);
    assert_int_equal(b8[3], 0x44);
    assert_int_equal(b16[1], 0x7788);
    assert_int_equal(b64[1], 0x1112131415161718ull);
    assert_int_equal(D.accesses, 2 * (4 + 2 + 2));
    kdpc_machine_destroy(m);
}

/* 2.3: the USHORT and ULONG port _BUFFER_ forms repeat their port too */
static USHORT pb16[2];
static ULONG pb32[2];
static unsigned port_writes_at_2;

static void PortBufferWidths(void *ctx)
{
    (void)ctx;
    READ_PORT_BUFFER_USHORT((PUSHORT)(uintptr_t)(PORT_BASE + 2), pb16, 2);
    READ_PORT_BUFFER_ULONG((PULONG)(uintptr_t)(PORT_BASE + 4), pb32, 2);
    USHORT o16[3] = {1, 2, 3};
    ULONG o32[1] = {4};
    unsigned before = D.accesses;
    WRITE_PORT_BUFFER_USHORT((PUSHORT)(uintptr_t)(PORT_BASE + 2), o16, 3);
    port_writes_at_2 = D.last.offset == 2 && D.last.value == 3 ? D.accesses - before : 0;
    WRITE_PORT_BUFFER_ULONG((PULONG)(uintptr_t)(PORT_BASE + 4), o32, 1);
}

static void test_port_buffer_forms_of_every_width_repeat_the_port(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    assert_int_equal(kdpc_machine_run(m, PortBufferWidths, NULL), KDPC_OK);
    assert_int_equal(pb16[0], 1);
    assert_int_equal(pb16[1], 2);
    assert_int_equal(pb32[0], 3);
    assert_int_equal(pb32[1], 4);
    assert_int_equal(port_writes_at_2, 3);
    assert_int_equal(D.last.offset, 4);
    assert_int_equal(D.last.width, 4);
    assert_int_equal(D.last.value, 4);
    kdpc_machine_destroy(m);
}

/* 2.3: ports by number; the port _BUFFER_ forms repeat one port */
static kdpc_reg_access port_write_seen;
static UCHAR port_buf[3];
static USHORT port16;
static ULONG port32;

static void Ports(void *ctx)
{
    (void)ctx;
    WRITE_PORT_UCHAR((PUCHAR)(uintptr_t)(PORT_BASE + 1), 0x5A);
    port_write_seen = D.last;
    READ_PORT_BUFFER_UCHAR((PUCHAR)(uintptr_t)PORT_BASE, port_buf, 3);
    port16 = READ_PORT_USHORT((PUSHORT)(uintptr_t)(PORT_BASE + 2));
    port32 = READ_PORT_ULONG((PULONG)(uintptr_t)(PORT_BASE + 4));
    UCHAR out[2] = {7, 8};
    WRITE_PORT_BUFFER_UCHAR((PUCHAR)(uintptr_t)(PORT_BASE + 7), out, 2);
    WRITE_PORT_USHORT((PUSHORT)(uintptr_t)PORT_BASE, 0x1234);
    WRITE_PORT_ULONG((PULONG)(uintptr_t)(PORT_BASE + 4), 0xCAFEu);
}

static void test_ports_are_reached_by_number_and_buffers_repeat_the_port(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    assert_int_equal(kdpc_machine_run(m, Ports, NULL), KDPC_OK);
    assert_true(port_write_seen.port);
    assert_int_equal(port_write_seen.offset, 1);
    assert_int_equal(port_write_seen.width, 1);
    assert_int_equal(port_write_seen.value, 0x5A);
    assert_int_equal(port_buf[0], 1);
    assert_int_equal(port_buf[1], 2);
    assert_int_equal(port_buf[2], 3);
    assert_int_equal(port16, 4);
    assert_int_equal(port32, 5);
    assert_int_equal(D.last.offset, 4); /* the last write: ULONG at +4 */
    assert_int_equal(D.last.value, 0xCAFEu);
    kdpc_device_counters k;
    assert_int_equal(kdpc_device_get_counters(dev, &k), KDPC_OK);
    assert_int_equal(k.reads, 5);
    assert_int_equal(k.writes, 1 + 2 + 2);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 1.2 MmMapIoSpaceEx, 0 bytes                                         */

static int ex_bad_null, ex_both_null, zero_null, ro_ok, ro_value;

static void MapEx(void *ctx)
{
    (void)ctx;
    zero_null = MmMapIoSpace(pa(WIN_BASE), 0, MmNonCached) == NULL;
    ex_bad_null = MmMapIoSpaceEx(pa(WIN_BASE), 4, PAGE_NOACCESS) == NULL;
    ex_both_null =
        MmMapIoSpaceEx(pa(WIN_BASE), 4, PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE) == NULL;
    D.regs[2] = 77;
    volatile ULONG *r = MmMapIoSpaceEx(pa(WIN_BASE), 16, PAGE_READONLY | PAGE_NOCACHE);
    ro_ok = r != NULL;
    if (r != NULL) {
        ro_value = (int)READ_REGISTER_ULONG(&r[2]);
        MmUnmapIoSpace((PVOID)(uintptr_t)r, 16);
    }
    volatile ULONG *w = MmMapIoSpaceEx(pa(WIN_BASE), 16, PAGE_READWRITE | PAGE_WRITECOMBINE);
    if (w != NULL) {
        WRITE_REGISTER_ULONG(&w[3], 5);
        MmUnmapIoSpace((PVOID)(uintptr_t)w, 16);
    }
}

static void test_map_ex_takes_the_documented_protections_only(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    assert_int_equal(kdpc_machine_run(m, MapEx, NULL), KDPC_OK);
    assert_true(zero_null);
    assert_true(ex_bad_null);
    assert_true(ex_both_null);
    assert_true(ro_ok);
    assert_int_equal(ro_value, 77);
    assert_int_equal(D.regs[3], 5);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* 1.4 MmGetPhysicalAddress                                            */

static LONGLONG phys_mapped, phys_pool, phys_after_unmap;
static uintptr_t pool_va, mapped_va;

static void Physical(void *ctx)
{
    (void)ctx;
    volatile UCHAR *r = MmMapIoSpace(pa(WIN_BASE + 0x40), 0x40, MmNonCached);
    if (r == NULL)
        return;
    mapped_va = (uintptr_t)r;
    phys_mapped = MmGetPhysicalAddress((PVOID)(uintptr_t)(r + 8)).QuadPart;
    PVOID p = ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, 'tlaH');
    pool_va = (uintptr_t)p;
    phys_pool = MmGetPhysicalAddress(p).QuadPart;
    ExFreePool(p);
    MmUnmapIoSpace((PVOID)(uintptr_t)r, 0x40);
    phys_after_unmap = MmGetPhysicalAddress((PVOID)(uintptr_t)(r + 8)).QuadPart;
}

static void test_physical_address_of_a_mapping_is_the_register(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    assert_int_equal(kdpc_machine_run(m, Physical, NULL), KDPC_OK);
    assert_int_equal(phys_mapped, (LONGLONG)(WIN_BASE + 0x48));
    assert_int_equal(phys_pool, (LONGLONG)pool_va); /* Divergence: identity for kdpc memory */
    assert_int_equal(phys_after_unmap, (LONGLONG)(mapped_va + 8));
    int here;
    assert_int_equal(MmGetPhysicalAddress(&here).QuadPart, (LONGLONG)(uintptr_t)&here);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Interleaving point before each access (hal.h)                       */

static PKINTERRUPT intr;
static volatile LONG isr_ran;
static LONG isr_before_read, isr_after_read;

static BOOLEAN GoIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    (void)Context;
    isr_ran++; /* a Latched line: one interrupt per raise, nothing to acknowledge */
    return TRUE;
}

static void InterruptBetweenAccesses(void *ctx)
{
    (void)ctx;
    isr_ran = 0;
    if (!NT_SUCCESS(
            IoConnectInterrupt(&intr, GoIsr, NULL, NULL, LINE, 5, 5, Latched, FALSE, 1, FALSE)))
        return;
    volatile ULONG *r = MmMapIoSpace(pa(WIN_BASE), WIN_LEN, MmNonCached);
    if (r == NULL)
        return;
    WRITE_REGISTER_ULONG(&r[0xF0 / 4], 1); /* the device raises its line */
    isr_before_read = isr_ran;
    (void)READ_REGISTER_ULONG(&r[0]); /* the point before it delivers the interrupt */
    isr_after_read = isr_ran;
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
    IoDisconnectInterrupt(intr);
}

static void test_an_interrupt_arrives_between_two_accesses(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    assert_int_equal(kdpc_machine_run(m, InterruptBetweenAccesses, NULL), KDPC_OK);
    assert_int_equal(isr_before_read, 0);
    assert_int_equal(isr_after_read, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Trace (hal.h): reg-read / reg-write / port-read / port-write        */

static void TraceSome(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = MmMapIoSpace(pa(WIN_BASE), WIN_LEN, MmNonCached);
    if (r == NULL)
        return;
    WRITE_REGISTER_ULONG(&r[2], 0xA5A5u);
    KSPIN_LOCK lock;
    KIRQL old;
    KeInitializeSpinLock(&lock);
    KeAcquireSpinLock(&lock, &old);
    (void)READ_REGISTER_ULONG(&r[2]); /* traced with the CPU, IRQL and locks held */
    KeReleaseSpinLock(&lock, old);
    WRITE_PORT_UCHAR((PUCHAR)(uintptr_t)(PORT_BASE + 3), 9);
    (void)READ_PORT_UCHAR((PUCHAR)(uintptr_t)PORT_BASE);
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
}

static const kdpc_event *find_event(kdpc_machine *m, uint32_t kind)
{
    for (size_t i = 0; i < kdpc_trace_count(m); i++) {
        const kdpc_event *e = kdpc_trace_event(m, i);
        if (e->kind == kind)
            return e;
    }
    return NULL;
}

static void test_accesses_are_traced_with_address_and_value(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(4096);
    assert_int_equal(kdpc_machine_run(m, TraceSome, NULL), KDPC_OK);
    const kdpc_event *w = find_event(m, KDPC_EV_REG_WRITE);
    const kdpc_event *r = find_event(m, KDPC_EV_REG_READ);
    const kdpc_event *pw = find_event(m, KDPC_EV_PORT_WRITE);
    const kdpc_event *pr = find_event(m, KDPC_EV_PORT_READ);
    assert_non_null(w);
    assert_non_null(r);
    assert_non_null(pw);
    assert_non_null(pr);
    assert_int_equal(w->object, WIN_BASE + 8);
    assert_int_equal(w->arg, 0xA5A5u);
    assert_int_equal(r->object, WIN_BASE + 8);
    assert_int_equal(r->arg, 0xA5A5u);
    assert_int_equal(w->irql, PASSIVE_LEVEL);
    assert_int_equal(w->locks, 0);
    assert_int_equal(r->irql, DISPATCH_LEVEL);
    assert_int_equal(r->locks, 1);
    assert_int_equal(r->cpu, 0);
    assert_int_equal(pw->object, PORT_BASE + 3);
    assert_int_equal(pw->arg, 9);
    assert_int_equal(pr->object, PORT_BASE);
    assert_int_equal(pr->arg, 1);
    assert_string_equal(kdpc_event_kind_name(KDPC_EV_REG_READ), "reg-read");
    assert_string_equal(kdpc_event_kind_name(KDPC_EV_PORT_WRITE), "port-write");
    uint64_t d1 = kdpc_trace_digest(m);
    kdpc_machine_destroy(m);
    /* the same run again: the same digest (addresses are physical, not host ones) */
    m = machine_with_device(4096);
    assert_int_equal(kdpc_machine_run(m, TraceSome, NULL), KDPC_OK);
    assert_int_equal(kdpc_trace_digest(m), d1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Many mappings: lookups stay right as mappings come and go           */

static int cycles_ok;

static void ManyMappings(void *ctx)
{
    (void)ctx;
    volatile ULONG *keep[8];
    for (unsigned i = 0; i < 8; i++) {
        keep[i] = MmMapIoSpace(pa(WIN_BASE + i * 16u), 16, MmNonCached);
        if (keep[i] == NULL)
            return;
    }
    for (unsigned c = 0; c < 600; c++) { /* more than the unmapped ranges kdpc remembers */
        volatile ULONG *t = MmMapIoSpace(pa(WIN_BASE + 0x80), 8, MmNonCached);
        if (t == NULL)
            return;
        WRITE_REGISTER_ULONG(&t[1], c);
        MmUnmapIoSpace((PVOID)(uintptr_t)t, 8);
    }
    for (unsigned i = 0; i < 8; i++)
        WRITE_REGISTER_ULONG(&keep[i][1], i + 100);
    for (unsigned i = 0; i < 8; i++) {
        if (READ_REGISTER_ULONG(&keep[i][1]) != i + 100)
            return;
        MmUnmapIoSpace((PVOID)(uintptr_t)keep[i], 16);
    }
    cycles_ok = 1;
}

static void test_many_mappings_and_unmaps_keep_lookups_right(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    cycles_ok = 0;
    assert_int_equal(kdpc_machine_run(m, ManyMappings, NULL), KDPC_OK);
    assert_true(cycles_ok);
    assert_int_equal(D.regs[0x84 / 4], 599);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* A surprise-removed device: the driver's mapping stays, reads answer all ones, writes are
 * dropped (device.h), and nothing is reported. */
static ULONG before_removal, after_removal;

static void ReadsAcrossSurpriseRemoval(void *ctx)
{
    (void)ctx;
    volatile ULONG *r = MmMapIoSpace(pa(WIN_BASE), WIN_LEN, MmNonCached);
    if (r == NULL)
        return;
    WRITE_REGISTER_ULONG(&r[1], 42);
    before_removal = READ_REGISTER_ULONG(&r[1]);
    if (kdpc_device_unplug(dev, KDPC_UNPLUG_SURPRISE) != KDPC_OK)
        return;
    WRITE_REGISTER_ULONG(&r[1], 43);
    after_removal = READ_REGISTER_ULONG(&r[1]);
    MmUnmapIoSpace((PVOID)(uintptr_t)r, WIN_LEN);
}

static void test_a_removed_device_reads_all_ones_through_its_old_mapping(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    after_removal = 0;
    assert_int_equal(kdpc_machine_run(m, ReadsAcrossSurpriseRemoval, NULL), KDPC_OK);
    assert_int_equal(before_removal, 42);
    assert_int_equal(after_removal, 0xFFFFFFFFu);
    assert_int_equal(D.regs[1], 42);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

/* Outside a run the routines do nothing (one diagnostic each). */
static void test_outside_a_run_nothing_happens(void **state)
{
    (void)state;
    kdpc_machine *m = machine_with_device(0);
    ULONG reg = 0;
    assert_int_equal(READ_REGISTER_ULONG(&reg), 0xFFFFFFFFu);
    WRITE_REGISTER_ULONG(&reg, 1);
    assert_int_equal(reg, 0);
    assert_null(MmMapIoSpace(pa(WIN_BASE), 4, MmNonCached));
    assert_int_equal(D.accesses, 0);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_then_access_reaches_the_window_handlers),
        cmocka_unit_test(test_each_width_is_one_handler_call_of_that_width),
        cmocka_unit_test(test_register_buffer_forms_walk_consecutive_registers),
        cmocka_unit_test(test_every_register_buffer_width_moves_its_values),
        cmocka_unit_test(test_port_buffer_forms_of_every_width_repeat_the_port),
        cmocka_unit_test(test_ports_are_reached_by_number_and_buffers_repeat_the_port),
        cmocka_unit_test(test_map_ex_takes_the_documented_protections_only),
        cmocka_unit_test(test_physical_address_of_a_mapping_is_the_register),
        cmocka_unit_test(test_an_interrupt_arrives_between_two_accesses),
        cmocka_unit_test(test_accesses_are_traced_with_address_and_value),
        cmocka_unit_test(test_many_mappings_and_unmaps_keep_lookups_right),
        cmocka_unit_test(test_a_removed_device_reads_all_ones_through_its_old_mapping),
        cmocka_unit_test(test_outside_a_run_nothing_happens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
