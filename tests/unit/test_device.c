/* SPDX-License-Identifier: MIT */
/*
 * test_device.c - the device layer (include/kdpc/device.h, docs/devices.md):
 * what a description may be (every KDPC_EINVAL / KDPC_EEXIST of
 * kdpc_device_plug, nothing half-registered), window placement, events in
 * virtual time (order, cancel, exact times, keep-alive vs background, exact
 * periods, the step limit), lines (level and latched, delivery to a
 * connected ISR), every fault kind (deterministic per seed and name), the
 * DMA engine, removal's hardware side, reset.
 *
 * The devices here have no driver (desc.driver NULL): the PnP manager
 * leaves them alone, so these tests see the hardware side only. Simulated
 * code records into static state; the assertions run after the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/device.h>
#include "kdpc_test.h"

#include <pthread.h>
#include <stdatomic.h>

#define LINE   7
#define MAXREC 64

static struct {
    uint64_t times[MAXREC];
    uintptr_t args[MAXREC];
    unsigned n;
    kdpc_device *dev;
    /* ISR */
    volatile LONG isr_calls;
    uint64_t isr_times[MAXREC];
    LONG lower_at;  /* the ISR lowers the device's line at this call (0: never) */
    bool isr_point; /* the ISR passes an interleaving point (as a register read would) */
    PKINTERRUPT intr;
    NTSTATUS connect_status;
    KINTERRUPT_MODE mode;
    /* DMA */
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT devobj;
    PDMA_ADAPTER adapter;
    PUCHAR va;
    PHYSICAL_ADDRESS la;
    kdpc_status st[16];
    size_t moved[16];
    UCHAR buf[64];
    int reached_end;
    /* periodic */
    unsigned period_left;
} S;

static void reset_state(void)
{
    memset(&S, 0, sizeof(S));
    S.mode = LevelSensitive;
}

static uint64_t reg_read(const kdpc_reg_access *a)
{
    (void)a;
    return 0x12345678u;
}

static void reg_write(const kdpc_reg_access *a)
{
    (void)a;
}

/* A description with one window of @len bytes (base 0: kdpc's choice) and no line. */
static kdpc_device_desc desc_window(const char *name, uint64_t base, uint64_t len)
{
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = name;
    d.nwindows = 1;
    d.windows[0].base = base;
    d.windows[0].length = len;
    d.windows[0].read = reg_read;
    d.windows[0].write = reg_write;
    return d;
}

/* A description with one line @line (level or latched). */
static kdpc_device_desc desc_line(const char *name, unsigned line, bool level)
{
    kdpc_device_desc d;
    kdpc_device_desc_init(&d);
    d.name = name;
    d.nlines = 1;
    d.lines[0].line = line;
    d.lines[0].level = level;
    return d;
}

static kdpc_device *plug(kdpc_machine *m, const kdpc_device_desc *d)
{
    kdpc_device *dev = NULL;
    assert_int_equal(kdpc_device_plug(m, d, &dev), KDPC_OK);
    assert_non_null(dev);
    return dev;
}

static void nothing(void *ctx)
{
    (void)ctx;
}

/* ------------------------------------------------------------------ */
/* Descriptions                                                        */

static void test_desc_init_sets_the_defaults(void **state)
{
    (void)state;
    kdpc_device_desc d;
    memset(&d, 0xAB, sizeof(d));
    kdpc_device_desc_init(&d);
    assert_null(d.name);
    assert_int_equal(d.nwindows, 0);
    assert_int_equal(d.nports, 0);
    assert_int_equal(d.nlines, 0);
    assert_false(d.dma);
    assert_int_equal(d.late_ns, 1000000);
    for (unsigned i = 0; i < KDPC_DEVICE_MAX_LINES; i++)
        assert_int_equal(d.lines[i].irql, 5);
    kdpc_device_desc_init(NULL); /* no crash */
}

static void test_plug_copies_the_description_and_chooses_window_bases(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    char name[16] = "uart0";
    int ctx = 0;
    kdpc_device_desc d = desc_window(name, 0, 0x100);
    d.ctx = &ctx;
    d.nwindows = 2;
    d.windows[1] = d.windows[0];
    d.windows[1].length = 0x3000;
    kdpc_device *dev = plug(m, &d);
    name[0] = 'X'; /* kdpc keeps its own copy */
    assert_string_equal(kdpc_device_name(dev), "uart0");
    assert_ptr_equal(kdpc_device_ctx(dev), &ctx);
    assert_ptr_equal(kdpc_device_machine(dev), m);
    assert_int_equal(kdpc_device_get_state(dev), KDPC_DEVICE_PLUGGED);
    uint64_t b0 = kdpc_device_window_base(dev, 0);
    uint64_t b1 = kdpc_device_window_base(dev, 1);
    assert_true(b0 >= 0xF0000000ull && b1 >= 0xF0000000ull);
    assert_int_equal(b0 % 4096u, 0);
    assert_int_equal(b1 % 4096u, 0);
    assert_true(b0 + 0x100 <= b1 || b1 + 0x3000 <= b0); /* apart */
    assert_int_equal(kdpc_device_window_base(dev, 2), 0);
    /* a second device's chosen window avoids both */
    kdpc_device_desc d2 = desc_window("uart1", 0, 0x10);
    uint64_t b2 = kdpc_device_window_base(plug(m, &d2), 0);
    assert_true(b2 >= b0 + 0x100 || b2 + 0x10 <= b0);
    assert_true(b2 >= b1 + 0x3000 || b2 + 0x10 <= b1);
    kdpc_machine_destroy(m);
}

static void test_explicit_bases_are_kept_and_chosen_ones_avoid_them(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_device_desc a = desc_window("a", 0xF0000000ull, 0x2000);
    kdpc_device *da = plug(m, &a);
    assert_int_equal(kdpc_device_window_base(da, 0), 0xF0000000ull);
    kdpc_device_desc b = desc_window("b", 0, 0x10);
    kdpc_device *db = plug(m, &b);
    assert_int_equal(kdpc_device_window_base(db, 0), 0xF0002000ull);
    kdpc_device_desc c = desc_window("c", 0xFED00000ull, 0x400);
    kdpc_device *dc = plug(m, &c);
    assert_int_equal(kdpc_device_window_base(dc, 0), 0xFED00000ull);
    kdpc_machine_destroy(m);
}

/* Every KDPC_EINVAL of kdpc_device_plug, then a valid twin that plugs (nothing was kept). */
static void test_plug_rejects_invalid_descriptions(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(2, 1);
    kdpc_device *dev = (kdpc_device *)(uintptr_t)1;
    kdpc_device_desc ok = desc_window("ok", 0, 0x100);
    assert_int_equal(kdpc_device_plug(NULL, &ok, &dev), KDPC_EINVAL);
    assert_int_equal(kdpc_device_plug(m, NULL, &dev), KDPC_EINVAL);
    assert_int_equal(kdpc_device_plug(m, &ok, NULL), KDPC_EINVAL);

    kdpc_device_desc d = ok;
    d.name = NULL;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d.name = "";
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);

    d = ok;
    d.windows[0].length = 0; /* zero-length window */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d = ok;
    d.windows[0].length = (1ull << 30) + 1u; /* over 1 GiB */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d = ok;
    d.windows[0].base = UINT64_MAX - 0x10;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL); /* wraps */
    d = ok;
    d.windows[0].read = NULL;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d = ok;
    d.windows[0].write = NULL;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d = ok;
    d.nwindows = KDPC_DEVICE_MAX_RANGES + 1;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);

    d = ok;
    d.nports = 1;
    d.ports[0] = (kdpc_range_desc){0x3F8, 0, reg_read, reg_write}; /* zero-length ports */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d.ports[0] = (kdpc_range_desc){0xFFF8, 9, reg_read, reg_write}; /* past 0xFFFF */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d.ports[0] = (kdpc_range_desc){0x3F8, 8, NULL, reg_write};
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d.ports[0] = (kdpc_range_desc){0x3F8, 8, reg_read, NULL};
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d.nports = KDPC_DEVICE_MAX_RANGES + 1;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);

    d = ok;
    d.nlines = 1;
    d.lines[0].line = KDPC_MAX_LINES; /* line out of range */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d.lines[0].line = LINE;
    d.lines[0].irql = 2;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d.lines[0].irql = 13;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d.lines[0].irql = 5;
    d.lines[0].affinity = 0x4; /* CPU 2 of a 2-CPU machine: nobody could take it */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);
    d.lines[0].affinity = 0;
    d.nlines = KDPC_DEVICE_MAX_LINES + 1;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EINVAL);

    /* nothing of the above was registered: the valid twins plug */
    d = ok;
    d.nports = 1;
    d.ports[0] = (kdpc_range_desc){0xFFF8, 8, reg_read, reg_write};
    d.nlines = 1;
    d.lines[0].line = KDPC_MAX_LINES - 1;
    d.lines[0].irql = 12;
    d.lines[0].affinity = 0x2;
    dev = plug(m, &d);
    assert_int_equal(kdpc_device_get_state(dev), KDPC_DEVICE_PLUGGED);
    kdpc_machine_destroy(m);
}

static void test_plug_rejects_overlaps_and_taken_lines_with_eexist(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_device *dev = NULL;
    kdpc_device_desc a = desc_window("a", 0xFE000000ull, 0x1000);
    a.nports = 1;
    a.ports[0] = (kdpc_range_desc){0x3F8, 8, reg_read, reg_write};
    a.nlines = 1;
    a.lines[0].line = LINE;
    kdpc_device *da = plug(m, &a);
    (void)da;

    kdpc_device_desc d = desc_window("b", 0xFE000FFCull, 8); /* overlaps a's window */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);
    d = desc_window("b", 0xFDFFFFF8ull, 9); /* ends inside it */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);
    d = desc_window("b", 0xFC000000ull, 0x100); /* two windows of one description overlap */
    d.nwindows = 2;
    d.windows[1] = d.windows[0];
    d.windows[1].base = 0xFC0000F0ull;
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);
    d = desc_window("b", 0, 0x10);
    d.nports = 1;
    d.ports[0] = (kdpc_range_desc){0x3FF, 2, reg_read, reg_write}; /* a's ports */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);
    d.nports = 2;
    d.ports[0] = (kdpc_range_desc){0x2F8, 8, reg_read, reg_write};
    d.ports[1] = (kdpc_range_desc){0x2FC, 8, reg_read, reg_write}; /* its own first range */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);
    d = desc_line("b", LINE, true); /* a's line, not shared */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);
    d.lines[0].shared = true; /* shared on one side only */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);
    d = desc_line("b", LINE + 1, true);
    d.nlines = 2;
    d.lines[1] = d.lines[0]; /* one line twice */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);
    d = desc_window("a", 0, 0x10); /* a's name */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);

    /* nothing half-registered: a failed plug whose first window was fine left it free */
    d = desc_window("c", 0xFB000000ull, 0x1000);
    d.nwindows = 2;
    d.windows[1] = d.windows[0];
    d.windows[1].base = 0xFE000000ull; /* a's: the whole description fails */
    assert_int_equal(kdpc_device_plug(m, &d, &dev), KDPC_EEXIST);
    d.nwindows = 1;
    kdpc_device *dc = plug(m, &d);
    assert_int_equal(kdpc_device_window_base(dc, 0), 0xFB000000ull);
    /* ports of the other space and lines shared on both sides are fine */
    kdpc_device_desc s1 = desc_line("s1", LINE + 2, true);
    s1.lines[0].shared = true;
    kdpc_device_desc s2 = s1;
    s2.name = "s2";
    plug(m, &s1);
    plug(m, &s2);
    kdpc_machine_destroy(m);
}

static void test_accessors_of_null(void **state)
{
    (void)state;
    kdpc_device_counters c;
    assert_int_equal(kdpc_device_get_state(NULL), KDPC_DEVICE_REMOVED);
    assert_null(kdpc_device_machine(NULL));
    assert_null(kdpc_device_ctx(NULL));
    assert_string_equal(kdpc_device_name(NULL), "");
    assert_int_equal(kdpc_device_window_base(NULL, 0), 0);
    assert_int_equal(kdpc_device_get_counters(NULL, &c), KDPC_EINVAL);
    assert_int_equal(kdpc_device_schedule(NULL, 0, NULL, NULL, 0, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_device_cancel(NULL, 1), KDPC_EINVAL);
    assert_int_equal(kdpc_device_line_set(NULL, 0, true), KDPC_EINVAL);
    assert_int_equal(kdpc_device_interrupt(NULL, 0), KDPC_EINVAL);
    assert_int_equal(kdpc_device_set_fault(NULL, KDPC_FAULT_LOST_INTERRUPT, 1), KDPC_EINVAL);
    assert_false(kdpc_device_fault_now(NULL, KDPC_FAULT_LOST_INTERRUPT));
    assert_int_equal(kdpc_device_faults_injected(NULL, KDPC_FAULT_LOST_INTERRUPT), 0);
    assert_int_equal(kdpc_device_dma_read(NULL, 0, &c, 1, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_device_dma_write(NULL, 0, &c, 1, NULL), KDPC_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Handlers through the HAL                                            */

static void record_event(kdpc_device *dev, void *ctx, void *arg);

/* What the handlers saw, in order. */
static struct {
    kdpc_reg_access a[16];
    bool write[16];
    unsigned n;
    PUCHAR regs;
    uint64_t got[8];
    kdpc_status plug_in_handler, schedule_in_handler;
} H;

static uint64_t rec_read(const kdpc_reg_access *a)
{
    if (H.n == 0) {
        /* device code may schedule, but not plug a device */
        kdpc_device_desc d = desc_window("from-handler", 0, 0x10);
        kdpc_device *other = NULL;
        H.plug_in_handler = kdpc_device_plug(a->machine, &d, &other);
        H.schedule_in_handler = kdpc_device_schedule(a->device, 10, record_event, NULL, 0, NULL);
    }
    if (H.n < 16) {
        H.a[H.n] = *a;
        H.write[H.n++] = false;
    }
    return 0x1122334455667788ull; /* more bits than any width: the HAL keeps the low ones */
}

static void rec_write(const kdpc_reg_access *a)
{
    if (H.n < 16) {
        H.a[H.n] = *a;
        H.write[H.n++] = true;
    }
}

static void hal_entry(void *ctx)
{
    kdpc_device *dev = ctx;
    H.got[0] = READ_PORT_UCHAR((PUCHAR)(ULONG_PTR)0x2F9);
    WRITE_PORT_USHORT((PUSHORT)(ULONG_PTR)0x2FA, 0xBEEF);
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = (LONGLONG)kdpc_device_window_base(dev, 1);
    H.regs = MmMapIoSpace(pa, 0x100, MmNonCached);
    if (H.regs == NULL)
        return;
    H.got[1] = READ_REGISTER_ULONG((PULONG)(H.regs + 0x10));
    WRITE_REGISTER_ULONG((PULONG)(H.regs + 0x14), 0xCAFEF00Du);
    H.got[2] = READ_REGISTER_ULONG64((PULONG64)(H.regs + 0x18));
    MmUnmapIoSpace(H.regs, 0x100);
}

static void test_driver_accesses_reach_the_handlers_with_offset_width_and_value(void **state)
{
    (void)state;
    memset(&H, 0, sizeof(H));
    int ctx = 0;
    kdpc_machine *m = kt_machine(1, 2);
    kdpc_device_desc d = desc_window("hal", 0, 0x1000);
    d.ctx = &ctx;
    d.nwindows = 2;
    d.windows[1] = (kdpc_range_desc){0, 0x100, rec_read, rec_write};
    d.nports = 1;
    d.ports[0] = (kdpc_range_desc){0x2F8, 8, rec_read, rec_write};
    kdpc_device *dev = plug(m, &d);
    assert_int_equal(kdpc_machine_run(m, hal_entry, dev), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(H.n, 5);
    assert_int_equal(H.got[0], 0x88);       /* a byte */
    assert_int_equal(H.got[1], 0x55667788); /* four bytes */
    assert_int_equal(H.got[2], 0x1122334455667788ull);
    /* port read: range 0 of the ports, offset 1, one byte */
    assert_false(H.write[0]);
    assert_true(H.a[0].port);
    assert_int_equal(H.a[0].range, 0);
    assert_int_equal(H.a[0].offset, 1);
    assert_int_equal(H.a[0].width, 1);
    assert_ptr_equal(H.a[0].device, dev);
    assert_ptr_equal(H.a[0].machine, m);
    assert_ptr_equal(H.a[0].ctx, &ctx);
    /* port write: offset 2, two bytes, the value */
    assert_true(H.write[1]);
    assert_int_equal(H.a[1].offset, 2);
    assert_int_equal(H.a[1].width, 2);
    assert_int_equal(H.a[1].value, 0xBEEF);
    /* window 1 */
    assert_false(H.a[2].port);
    assert_int_equal(H.a[2].range, 1);
    assert_int_equal(H.a[2].offset, 0x10);
    assert_int_equal(H.a[2].width, 4);
    assert_true(H.write[3]);
    assert_int_equal(H.a[3].offset, 0x14);
    assert_int_equal(H.a[3].value, 0xCAFEF00Du);
    assert_int_equal(H.a[4].width, 8);
    kdpc_device_counters c;
    assert_int_equal(kdpc_device_get_counters(dev, &c), KDPC_OK);
    assert_int_equal(c.reads, 3);
    assert_int_equal(c.writes, 2);
    assert_int_equal(H.plug_in_handler, KDPC_EBUSY);
    assert_int_equal(H.schedule_in_handler, KDPC_OK);
    assert_int_equal(c.events, 1);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

static void record_event(kdpc_device *dev, void *ctx, void *arg)
{
    (void)ctx;
    if (S.n < MAXREC) {
        S.times[S.n] = kdpc_machine_time_ns(kdpc_device_machine(dev));
        S.args[S.n] = (uintptr_t)arg;
        S.n++;
    }
}

static void test_events_run_in_time_then_scheduling_order_at_exact_times(void **state)
{
    (void)state;
    reset_state();
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_device_desc d = desc_window("ev", 0, 0x10);
    kdpc_device *dev = plug(m, &d);
    uint64_t id[5];
    assert_int_equal(kdpc_device_schedule(dev, 40000, record_event, (void *)1, 0, &id[0]), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(dev, 7000, record_event, (void *)2, 0, &id[1]), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(dev, 40000, record_event, (void *)3, 0, &id[2]), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(dev, 40000, record_event, (void *)4, 0, &id[3]), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(dev, 20000000, record_event, (void *)5, 0, &id[4]),
                     KDPC_OK);
    for (int i = 1; i < 5; i++)
        assert_true(id[i] != id[i - 1] && id[i] != 0);
    /* an idle machine: time jumps exactly to each event, not to a clock tick (15.625 ms) */
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.n, 5);
    uintptr_t order[5] = {2, 1, 3, 4, 5};
    uint64_t at[5] = {7000, 40000, 40000, 40000, 20000000};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(S.args[i], order[i]);
        assert_int_equal(S.times[i], at[i]);
    }
    kdpc_device_counters c;
    assert_int_equal(kdpc_device_get_counters(dev, &c), KDPC_OK);
    assert_int_equal(c.events, 5);
    assert_int_equal(kdpc_machine_time_ns(m), 20000000);
    /* ran: nothing to cancel */
    assert_int_equal(kdpc_device_cancel(dev, id[0]), KDPC_ENOENT);
    kdpc_machine_destroy(m);
}

static void test_events_are_traced_with_device_and_id(void **state)
{
    (void)state;
    reset_state();
    kdpc_config cfg = kt_config(1, 3);
    cfg.trace_capacity = 256;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_device_desc d = desc_window("tr", 0, 0x10);
    kdpc_device *dev = plug(m, &d);
    uint64_t id = 0;
    assert_int_equal(kdpc_device_schedule(dev, 30000, record_event, NULL, 0, &id), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    const kdpc_event *found = NULL;
    for (size_t i = 0; i < kdpc_trace_count(m); i++) {
        const kdpc_event *e = kdpc_trace_event(m, i);
        if (e->kind == KDPC_EV_DEVICE_EVENT)
            found = e;
    }
    assert_non_null(found);
    assert_int_equal(found->object, (uintptr_t)dev);
    assert_int_equal(found->arg, id);
    assert_int_equal(found->time_ns, 30000);
    assert_string_equal(kdpc_event_kind_name(KDPC_EV_DEVICE_EVENT), "device-event");
    kdpc_machine_destroy(m);
}

static void test_cancel_removes_only_a_pending_event_of_that_device(void **state)
{
    (void)state;
    reset_state();
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_device_desc d1 = desc_window("e1", 0, 0x10);
    kdpc_device_desc d2 = desc_window("e2", 0, 0x10);
    kdpc_device *a = plug(m, &d1);
    kdpc_device *b = plug(m, &d2);
    uint64_t i1, i2, i3;
    assert_int_equal(kdpc_device_schedule(a, 1000, record_event, (void *)1, 0, &i1), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(a, 2000, record_event, (void *)2, 0, &i2), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(b, 3000, record_event, (void *)3, 0, &i3), KDPC_OK);
    assert_int_equal(kdpc_device_cancel(b, i1), KDPC_ENOENT); /* not b's */
    assert_int_equal(kdpc_device_cancel(a, i1), KDPC_OK);
    assert_int_equal(kdpc_device_cancel(a, i1), KDPC_ENOENT); /* twice */
    assert_int_equal(kdpc_device_cancel(a, 0), KDPC_ENOENT);
    assert_int_equal(kdpc_device_cancel(a, 999999), KDPC_ENOENT);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.n, 2);
    assert_int_equal(S.args[0], 2);
    assert_int_equal(S.args[1], 3);
    assert_int_equal(kdpc_device_cancel(a, i2), KDPC_ENOENT); /* ran */
    kdpc_machine_destroy(m);
}

static void test_schedule_rejects_bad_arguments(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_device_desc d = desc_window("ev", 0, 0x10);
    kdpc_device *dev = plug(m, &d);
    assert_int_equal(kdpc_device_schedule(dev, 1, NULL, NULL, 0, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_device_schedule(dev, 1, record_event, NULL, 2u, NULL), KDPC_EINVAL);
    assert_int_equal(kdpc_device_schedule(dev, 1, record_event, NULL, 0, NULL), KDPC_OK); /* id */
    kdpc_machine_destroy(m);
}

static void test_background_events_keep_no_run_alive_but_run_in_timed_runs(void **state)
{
    (void)state;
    reset_state();
    kdpc_machine *m = kt_machine(1, 3);
    kdpc_device_desc d = desc_window("bg", 0, 0x10);
    kdpc_device *dev = plug(m, &d);
    assert_int_equal(
        kdpc_device_schedule(dev, 50000, record_event, (void *)1, KDPC_EVENT_BACKGROUND, NULL),
        KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.n, 0); /* the run ended without it */
    assert_true(kdpc_machine_time_ns(m) < 50000);
    /* a timed run goes on to its end: the event runs at its time */
    assert_int_equal(kdpc_machine_run_for(m, NULL, NULL, 100000), KDPC_OK);
    assert_int_equal(S.n, 1);
    assert_int_equal(S.times[0], 50000);
    /* a foreground event after a background one: both run, in time order */
    uint64_t now = kdpc_machine_time_ns(m);
    assert_int_equal(
        kdpc_device_schedule(dev, 1000, record_event, (void *)2, KDPC_EVENT_BACKGROUND, NULL),
        KDPC_OK);
    assert_int_equal(kdpc_device_schedule(dev, 2000, record_event, (void *)3, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.n, 3);
    assert_int_equal(S.times[1], now + 1000);
    assert_int_equal(S.times[2], now + 2000);
    kdpc_machine_destroy(m);
}

/* A busy thread passes interleaving points: an event runs at the first one at or after its time,
 * and delays from inside an event count from the event's own time (no drift). */
static void periodic(kdpc_device *dev, void *ctx, void *arg)
{
    record_event(dev, ctx, arg);
    if (S.period_left > 0) {
        S.period_left--;
        (void)kdpc_device_schedule(dev, 10000, periodic, arg, 0, NULL);
    }
}

static void busy_entry(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 400 && S.n < 10; i++)
        KeStallExecutionProcessor(3);
}

static void test_events_interrupt_a_busy_cpu_on_time_and_keep_an_exact_period(void **state)
{
    (void)state;
    reset_state();
    kdpc_machine *m = kt_machine(1, 5);
    kdpc_device_desc d = desc_window("per", 0, 0x10);
    kdpc_device *dev = plug(m, &d);
    S.period_left = 9;
    assert_int_equal(kdpc_device_schedule(dev, 10000, periodic, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, busy_entry, NULL), KDPC_OK);
    assert_int_equal(S.n, 10);
    for (unsigned i = 0; i < 10; i++) {
        uint64_t due = 10000u * (i + 1u);
        assert_true(S.times[i] >= due);
        assert_true(S.times[i] < due + 4000u); /* one stall and a call cost at most */
    }
    kdpc_machine_destroy(m);
}

static void forever(kdpc_device *dev, void *ctx, void *arg)
{
    (void)ctx;
    (void)kdpc_device_schedule(dev, 0, forever, arg, 0, NULL);
}

static void test_a_device_rescheduling_itself_without_delay_times_out(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 1);
    cfg.run_step_limit = 5000;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_device_desc d = desc_window("loop", 0, 0x10);
    kdpc_device *dev = plug(m, &d);
    assert_int_equal(kdpc_device_schedule(dev, 0, forever, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_TIMEOUT);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Lines and delivery to a connected ISR                               */

static BOOLEAN DevIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    (void)Interrupt;
    (void)ServiceContext;
    LONG n = S.isr_calls;
    if (n < MAXREC)
        S.isr_times[n] = kdpc_machine_time_ns(kdpc_current_machine());
    S.isr_calls = n + 1;
    if (S.isr_point)
        KeStallExecutionProcessor(1);
    if (S.lower_at != 0 && S.isr_calls == S.lower_at)
        (void)kdpc_device_line_set(S.dev, 0, false); /* the device's cause is cleared */
    return TRUE;
}

static void connect_entry(void *ctx)
{
    (void)ctx;
    S.connect_status =
        IoConnectInterrupt(&S.intr, DevIsr, NULL, NULL, LINE, 5, 5, S.mode, FALSE, 1, FALSE);
}

static void raise_event(kdpc_device *dev, void *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    (void)kdpc_device_line_set(dev, 0, true);
}

static void interrupt_event(kdpc_device *dev, void *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    (void)kdpc_device_interrupt(dev, 0);
}

/* A machine with a device on LINE (level or latched) and an ISR connected to it. */
static kdpc_machine *isr_machine(bool level, uint64_t seed)
{
    reset_state();
    kdpc_config cfg = kt_config(1, seed);
    cfg.interrupt_delay_permille = 0;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_device_desc d = desc_line("irq", LINE, level);
    d.late_ns = 200000;
    S.dev = plug(m, &d);
    S.mode = level ? LevelSensitive : Latched;
    assert_int_equal(kdpc_machine_run(m, connect_entry, NULL), KDPC_OK);
    assert_int_equal(S.connect_status, STATUS_SUCCESS);
    return m;
}

static void test_level_line_interrupts_until_the_device_lowers_it(void **state)
{
    (void)state;
    kdpc_machine *m = isr_machine(true, 1);
    S.lower_at = 3; /* the ISR clears the cause only at its third call */
    uint64_t t0 = kdpc_machine_time_ns(m);
    assert_int_equal(kdpc_device_schedule(S.dev, 40000, raise_event, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.isr_calls, 3); /* level: delivered again while asserted */
    assert_true(S.isr_times[0] >= t0 + 40000);
    assert_false(kdpc_line_pending(m, LINE));
    kdpc_device_counters c;
    assert_int_equal(kdpc_device_get_counters(S.dev, &c), KDPC_OK);
    assert_int_equal(c.interrupts, 1);
    assert_int_equal(c.events, 1);
    kdpc_machine_destroy(m);
}

static void test_level_line_raised_from_the_host_between_runs(void **state)
{
    (void)state;
    kdpc_machine *m = isr_machine(true, 1);
    S.lower_at = 1;
    assert_int_equal(kdpc_device_line_set(S.dev, 0, true), KDPC_OK);
    assert_int_equal(kdpc_device_line_set(S.dev, 0, true), KDPC_OK); /* already up */
    assert_true(kdpc_line_pending(m, LINE));
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.isr_calls, 1);
    kdpc_device_counters c;
    assert_int_equal(kdpc_device_get_counters(S.dev, &c), KDPC_OK);
    assert_int_equal(c.interrupts, 1); /* a raise of a raised level line is no new one */
    assert_int_equal(kdpc_device_line_set(S.dev, 1, true), KDPC_EINVAL);
    kdpc_machine_destroy(m);
}

static void test_latched_line_interrupts_once_per_raise(void **state)
{
    (void)state;
    kdpc_machine *m = isr_machine(false, 1);
    assert_int_equal(kdpc_device_schedule(S.dev, 10000, raise_event, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(S.dev, 30000, raise_event, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.isr_calls, 2); /* never lowered: each raise is one interrupt */
    assert_true(S.isr_times[1] - S.isr_times[0] >= 20000);
    assert_int_equal(kdpc_device_line_set(S.dev, 0, false), KDPC_OK); /* lowering: nothing */
    assert_false(kdpc_line_pending(m, LINE));
    kdpc_machine_destroy(m);
}

static void mp_connect_entry(void *ctx)
{
    (void)ctx;
    S.connect_status = IoConnectInterrupt(&S.intr, DevIsr, NULL, NULL, LINE, 5, 5, LevelSensitive,
                                          FALSE, 3, FALSE);
}

/* The interrupt controller holds a level line it gave one CPU until that CPU's ISRs return:
 * the other CPU does not take it meanwhile (and, the cause cleared, never). */
static void test_level_line_is_served_by_one_cpu_at_a_time(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        reset_state();
        kdpc_config cfg = kt_config(2, seed);
        cfg.interrupt_delay_permille = 0;
        kdpc_machine *m = kdpc_machine_create(&cfg);
        assert_non_null(m);
        kdpc_device_desc d = desc_line("mp", LINE, true);
        S.dev = plug(m, &d);
        assert_int_equal(kdpc_machine_run(m, mp_connect_entry, NULL), KDPC_OK);
        assert_int_equal(S.connect_status, STATUS_SUCCESS);
        S.lower_at = 1;
        S.isr_point = true; /* the ISR passes interleaving points before it clears the cause */
        assert_int_equal(kdpc_device_schedule(S.dev, 10000, raise_event, NULL, 0, NULL), KDPC_OK);
        assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
        assert_int_equal(S.isr_calls, 1);
        kdpc_machine_destroy(m);
    }
}

static void test_two_level_devices_on_a_shared_line_are_wired_or(void **state)
{
    (void)state;
    reset_state();
    kdpc_machine *m = kt_machine(1, 1);
    kdpc_device_desc d1 = desc_line("sh1", LINE, true);
    d1.lines[0].shared = true;
    kdpc_device_desc d2 = d1;
    d2.name = "sh2";
    kdpc_device *a = plug(m, &d1);
    kdpc_device *b = plug(m, &d2);
    assert_int_equal(kdpc_device_line_set(a, 0, true), KDPC_OK);
    assert_int_equal(kdpc_device_line_set(b, 0, true), KDPC_OK);
    assert_int_equal(kdpc_device_line_set(a, 0, false), KDPC_OK);
    assert_true(kdpc_line_pending(m, LINE)); /* b still holds it */
    assert_int_equal(kdpc_device_line_set(b, 0, false), KDPC_OK);
    assert_false(kdpc_line_pending(m, LINE));
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Interrupt faults                                                    */

static void test_lost_interrupt_raises_nothing(void **state)
{
    (void)state;
    kdpc_machine *m = isr_machine(false, 1);
    assert_int_equal(kdpc_device_set_fault(S.dev, KDPC_FAULT_LOST_INTERRUPT, 1000), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(S.dev, 10000, interrupt_event, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.isr_calls, 0);
    assert_int_equal(kdpc_device_faults_injected(S.dev, KDPC_FAULT_LOST_INTERRUPT), 1);
    kdpc_device_counters c;
    assert_int_equal(kdpc_device_get_counters(S.dev, &c), KDPC_OK);
    assert_int_equal(c.interrupts, 0);
    /* switched off again: interrupts arrive */
    assert_int_equal(kdpc_device_set_fault(S.dev, KDPC_FAULT_LOST_INTERRUPT, 0), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(S.dev, 10000, interrupt_event, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.isr_calls, 1);
    kdpc_machine_destroy(m);
}

static void test_late_interrupt_arrives_late_ns_later(void **state)
{
    (void)state;
    kdpc_machine *m = isr_machine(true, 1);
    S.lower_at = 1;
    assert_int_equal(kdpc_device_set_fault(S.dev, KDPC_FAULT_LATE_INTERRUPT, 1000), KDPC_OK);
    uint64_t t0 = kdpc_machine_time_ns(m);
    assert_int_equal(kdpc_device_schedule(S.dev, 10000, interrupt_event, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.isr_calls, 1);
    assert_int_equal(S.isr_times[0], t0 + 10000 + 200000); /* desc.late_ns, exactly (idle) */
    assert_int_equal(kdpc_device_faults_injected(S.dev, KDPC_FAULT_LATE_INTERRUPT), 1);
    kdpc_machine_destroy(m);
}

static void interrupt_then_lower(kdpc_device *dev, void *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    (void)kdpc_device_interrupt(dev, 0);
    (void)kdpc_device_line_set(dev, 0, false); /* the device gave up: the late one is off */
}

static void test_late_interrupt_is_cancelled_when_the_device_lowers_the_line(void **state)
{
    (void)state;
    kdpc_machine *m = isr_machine(true, 1);
    assert_int_equal(kdpc_device_set_fault(S.dev, KDPC_FAULT_LATE_INTERRUPT, 1000), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(S.dev, 10000, interrupt_then_lower, NULL, 0, NULL),
                     KDPC_OK);
    uint64_t t0 = kdpc_machine_time_ns(m);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.isr_calls, 0);
    assert_int_equal(kdpc_machine_time_ns(m), t0 + 10000); /* nothing kept the run going */
    kdpc_machine_destroy(m);
}

static void test_spurious_interrupt_on_a_latched_line_fires_once_more(void **state)
{
    (void)state;
    kdpc_machine *m = isr_machine(false, 1);
    assert_int_equal(kdpc_device_set_fault(S.dev, KDPC_FAULT_SPURIOUS_INTERRUPT, 1000), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(S.dev, 10000, interrupt_event, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.isr_calls, 2);
    assert_true(S.isr_times[1] >= S.isr_times[0] + 1000);
    assert_int_equal(kdpc_device_faults_injected(S.dev, KDPC_FAULT_SPURIOUS_INTERRUPT), 1);
    kdpc_machine_destroy(m);
}

static void
test_spurious_interrupt_on_a_level_line_holds_it_up_after_the_cause_is_cleared(void **state)
{
    (void)state;
    kdpc_machine *m = isr_machine(true, 1);
    S.lower_at = 1; /* the ISR clears the device's cause at once */
    S.isr_point = true;
    assert_int_equal(kdpc_device_set_fault(S.dev, KDPC_FAULT_SPURIOUS_INTERRUPT, 1000), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(S.dev, 10000, interrupt_event, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_true(S.isr_calls >= 2);            /* the pulse delivers it again with no cause */
    assert_false(kdpc_line_pending(m, LINE)); /* and falls 1 us later */
    assert_int_equal(kdpc_device_faults_injected(S.dev, KDPC_FAULT_SPURIOUS_INTERRUPT), 1);
    kdpc_machine_destroy(m);
}

/* Which of 200 interrupts from the host were lost, as bits. */
static void lost_pattern(uint64_t seed, const char *name, bool spurious_too, uint64_t out[4])
{
    kdpc_machine *m = kt_machine(1, seed);
    kdpc_device_desc d = desc_line(name, LINE, false);
    kdpc_device *dev = plug(m, &d);
    assert_int_equal(kdpc_device_set_fault(dev, KDPC_FAULT_LOST_INTERRUPT, 500), KDPC_OK);
    if (spurious_too)
        assert_int_equal(kdpc_device_set_fault(dev, KDPC_FAULT_SPURIOUS_INTERRUPT, 300), KDPC_OK);
    memset(out, 0, 4 * sizeof(out[0]));
    uint64_t lost_before = 0;
    for (unsigned i = 0; i < 200; i++) {
        assert_int_equal(kdpc_device_interrupt(dev, 0), KDPC_OK);
        uint64_t lost = kdpc_device_faults_injected(dev, KDPC_FAULT_LOST_INTERRUPT);
        if (lost != lost_before)
            out[i / 64u] |= 1ull << (i % 64u);
        lost_before = lost;
    }
    uint64_t n = kdpc_device_faults_injected(dev, KDPC_FAULT_LOST_INTERRUPT);
    assert_true(n > 50 && n < 150); /* about half */
    kdpc_machine_destroy(m);
}

static void test_faults_are_the_same_for_the_same_seed_and_name(void **state)
{
    (void)state;
    uint64_t a[4], b[4], c[4], e[4], f[4];
    lost_pattern(11, "dev", false, a);
    lost_pattern(11, "dev", false, b);
    lost_pattern(12, "dev", false, c);
    lost_pattern(11, "other", false, e);
    lost_pattern(11, "dev", true, f);
    assert_memory_equal(a, b, sizeof(a));     /* same seed, same name */
    assert_memory_not_equal(a, c, sizeof(a)); /* another seed */
    assert_memory_not_equal(a, e, sizeof(a)); /* another device */
    assert_memory_equal(a, f, sizeof(a));     /* another kind switched on: unchanged */
}

static void test_fault_now_draws_at_the_set_probability(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 4);
    kdpc_device_desc d = desc_window("f", 0, 0x10);
    kdpc_device *dev = plug(m, &d);
    for (int i = 0; i < 100; i++)
        assert_false(kdpc_device_fault_now(dev, KDPC_FAULT_TRANSFER_ERROR)); /* off */
    assert_int_equal(kdpc_device_set_fault(dev, KDPC_FAULT_TRANSFER_ERROR, 1000), KDPC_OK);
    for (int i = 0; i < 100; i++)
        assert_true(kdpc_device_fault_now(dev, KDPC_FAULT_TRANSFER_ERROR));
    assert_int_equal(kdpc_device_faults_injected(dev, KDPC_FAULT_TRANSFER_ERROR), 100);
    assert_int_equal(kdpc_device_set_fault(dev, KDPC_FAULT_KINDS, 1), KDPC_EINVAL);
    assert_int_equal(kdpc_device_set_fault(dev, KDPC_FAULT_SHORT_TRANSFER, 1001), KDPC_EINVAL);
    assert_false(kdpc_device_fault_now(dev, KDPC_FAULT_KINDS));
    assert_int_equal(kdpc_device_faults_injected(dev, KDPC_FAULT_KINDS), 0);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* DMA engine                                                          */

static NTSTATUS DmaDrvEntry(PDRIVER_OBJECT Drv, PUNICODE_STRING Reg)
{
    (void)Reg;
    return IoCreateDevice(Drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &S.devobj);
}

/* Load a driver, get a bus-master adapter and a 64-byte common buffer. */
static bool dma_setup(void)
{
    if (!NT_SUCCESS(kdpc_driver_load(kdpc_current_machine(), "dmadev", DmaDrvEntry, &S.drv)))
        return false;
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = PCIBus;
    dd.MaximumLength = PAGE_SIZE;
    ULONG regs = 0;
    S.adapter = IoGetDmaAdapter(S.devobj, &dd, &regs);
    if (S.adapter == NULL)
        return false;
    S.va = S.adapter->DmaOperations->AllocateCommonBuffer(S.adapter, 64, &S.la, FALSE);
    return S.va != NULL;
}

static void dma_teardown(void)
{
    S.adapter->DmaOperations->FreeCommonBuffer(S.adapter, 64, S.la, S.va, FALSE);
    S.adapter->DmaOperations->PutDmaAdapter(S.adapter);
    IoDeleteDevice(S.devobj);
}

static void dma_entry(void *ctx)
{
    (void)ctx;
    if (!dma_setup())
        return;
    uint64_t la = (uint64_t)S.la.QuadPart;
    S.st[0] = kdpc_device_dma_write(S.dev, la + 8, "device!", 8, &S.moved[0]);
    memcpy(S.buf, S.va + 8, 8);
    memcpy(S.va, "driver", 7);
    S.st[1] = kdpc_device_dma_read(S.dev, la, S.buf + 16, 7, &S.moved[1]);
    S.st[2] = kdpc_device_dma_read(S.dev, la, S.buf, 0, &S.moved[2]);    /* len 0 */
    S.st[3] = kdpc_device_dma_read(S.dev, la, NULL, 4, NULL);            /* no buffer */
    S.st[4] = kdpc_device_dma_read(S.dev, la + 60, S.buf + 32, 4, NULL); /* the last bytes */
    (void)kdpc_device_set_fault(S.dev, KDPC_FAULT_TRANSFER_ERROR, 1000); /* every transfer fails */
    memset(S.va, 0, 64);
    S.st[5] = kdpc_device_dma_write(S.dev, la, "xxxx", 4, &S.moved[5]);
    S.buf[40] = S.va[0];
    (void)kdpc_device_set_fault(S.dev, KDPC_FAULT_TRANSFER_ERROR, 0);
    (void)kdpc_device_set_fault(S.dev, KDPC_FAULT_SHORT_TRANSFER, 1000); /* every one short */
    S.st[6] = kdpc_device_dma_write(S.dev, la, "abcdefghijklmnop", 16, &S.moved[6]);
    (void)kdpc_device_set_fault(S.dev, KDPC_FAULT_SHORT_TRANSFER, 0);
    dma_teardown();
    S.reached_end = 1;
}

static void test_dma_engine_moves_data_through_a_common_buffer_with_faults(void **state)
{
    (void)state;
    reset_state();
    kdpc_machine *m = kt_machine(1, 8);
    kdpc_device_desc d = desc_window("dma", 0, 0x10);
    d.dma = true;
    S.dev = plug(m, &d);
    assert_int_equal(kdpc_machine_run(m, dma_entry, NULL), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    assert_int_equal(S.st[0], KDPC_OK);
    assert_int_equal(S.moved[0], 8);
    assert_memory_equal(S.buf, "device!", 8); /* the driver sees what the device wrote */
    assert_int_equal(S.st[1], KDPC_OK);
    assert_int_equal(S.moved[1], 7);
    assert_memory_equal(S.buf + 16, "driver", 7); /* and the device what the driver wrote */
    assert_int_equal(S.st[2], KDPC_EINVAL);
    assert_int_equal(S.moved[2], 0);
    assert_int_equal(S.st[3], KDPC_EINVAL);
    assert_int_equal(S.st[4], KDPC_OK);
    assert_int_equal(S.st[5], KDPC_EIO); /* injected transfer error: nothing moved */
    assert_int_equal(S.moved[5], 0);
    assert_int_equal(S.buf[40], 0);
    assert_int_equal(S.st[6], KDPC_OK); /* short transfer: a seeded part */
    assert_true(S.moved[6] < 16);
    assert_int_equal(kdpc_device_faults_injected(S.dev, KDPC_FAULT_TRANSFER_ERROR), 1);
    assert_int_equal(kdpc_device_faults_injected(S.dev, KDPC_FAULT_SHORT_TRANSFER), 1);
    kdpc_device_counters c;
    assert_int_equal(kdpc_device_get_counters(S.dev, &c), KDPC_OK);
    assert_int_equal(c.dma_bytes_written, 8 + S.moved[6]);
    assert_int_equal(c.dma_bytes_read, 7 + 4);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    kdpc_machine_destroy(m);
}

#define NXFER 40

static struct {
    kdpc_status st[NXFER];
    size_t moved[NXFER];
} X;

static void xfer_seq_entry(void *ctx)
{
    (void)ctx;
    if (!dma_setup())
        return;
    (void)kdpc_device_set_fault(S.dev, KDPC_FAULT_TRANSFER_ERROR, 300);
    (void)kdpc_device_set_fault(S.dev, KDPC_FAULT_SHORT_TRANSFER, 500);
    for (int i = 0; i < NXFER; i++)
        X.st[i] = kdpc_device_dma_write(S.dev, (uint64_t)S.la.QuadPart, S.buf, 64, &X.moved[i]);
    dma_teardown();
    S.reached_end = 1;
}

/* Which transfers failed and how much the short ones moved, for a seed. */
static void xfer_sequence(uint64_t seed, kdpc_status st[NXFER], size_t moved[NXFER])
{
    reset_state();
    memset(&X, 0, sizeof(X));
    kdpc_machine *m = kt_machine(1, seed);
    kdpc_device_desc d = desc_window("dmaseq", 0, 0x10);
    d.dma = true;
    S.dev = plug(m, &d);
    assert_int_equal(kdpc_machine_run(m, xfer_seq_entry, NULL), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    uint64_t errors = 0, shorts = 0;
    for (int i = 0; i < NXFER; i++) {
        if (X.st[i] == KDPC_EIO) {
            errors++;
            assert_int_equal(X.moved[i], 0);
        } else {
            assert_int_equal(X.st[i], KDPC_OK);
            shorts += X.moved[i] < 64;
        }
    }
    assert_int_equal(kdpc_device_faults_injected(S.dev, KDPC_FAULT_TRANSFER_ERROR), errors);
    assert_int_equal(kdpc_device_faults_injected(S.dev, KDPC_FAULT_SHORT_TRANSFER), shorts);
    assert_true(errors > 0 && shorts > 0);
    memcpy(st, X.st, sizeof(X.st));
    memcpy(moved, X.moved, sizeof(X.moved));
    kdpc_machine_destroy(m);
}

static void test_transfer_faults_are_the_same_for_the_same_seed(void **state)
{
    (void)state;
    kdpc_status a_st[NXFER], b_st[NXFER], c_st[NXFER];
    size_t a_mv[NXFER], b_mv[NXFER], c_mv[NXFER];
    xfer_sequence(31, a_st, a_mv);
    xfer_sequence(31, b_st, b_mv);
    xfer_sequence(32, c_st, c_mv);
    assert_memory_equal(a_st, b_st, sizeof(a_st));
    assert_memory_equal(a_mv, b_mv, sizeof(a_mv));
    assert_true(memcmp(a_st, c_st, sizeof(a_st)) != 0 || memcmp(a_mv, c_mv, sizeof(a_mv)) != 0);
}

static void test_dma_needs_a_dma_engine_in_the_description(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 8);
    kdpc_device_desc d = desc_window("nodma", 0, 0x10);
    kdpc_device *dev = plug(m, &d);
    UCHAR b[4];
    size_t moved = 99;
    assert_int_equal(kdpc_device_dma_read(dev, 0x1000, b, 4, &moved), KDPC_EINVAL);
    assert_int_equal(moved, 0);
    assert_int_equal(kdpc_device_dma_write(dev, 0x1000, b, 4, NULL), KDPC_EINVAL);
    kdpc_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Removal's hardware side, reset                                      */

static void unplug_entry(void *ctx)
{
    (void)ctx;
    kdpc_machine *m = kdpc_current_machine();
    UCHAR b[4];
    S.st[0] = kdpc_device_unplug(S.dev, KDPC_UNPLUG_SURPRISE);
    /* the hardware is gone */
    S.st[1] = kdpc_line_pending(m, LINE) ? KDPC_OK : KDPC_ENOENT;
    S.st[2] = kdpc_device_line_set(S.dev, 0, true);
    S.st[3] = kdpc_device_interrupt(S.dev, 0);
    S.st[4] = kdpc_device_schedule(S.dev, 1, record_event, NULL, 0, NULL);
    S.st[5] = kdpc_device_dma_read(S.dev, 0x1000, b, 4, NULL);
    S.reached_end = 1;
}

static void test_surprise_removal_lowers_lines_cancels_events_and_refuses_device_calls(void **state)
{
    (void)state;
    reset_state();
    kdpc_machine *m = kt_machine(1, 9);
    kdpc_device_desc d = desc_line("gone", LINE, true);
    d.dma = true;
    S.dev = plug(m, &d);
    assert_int_equal(kdpc_device_line_set(S.dev, 0, true), KDPC_OK);
    assert_int_equal(kdpc_device_schedule(S.dev, 500000, record_event, NULL, 0, NULL), KDPC_OK);
    assert_true(kdpc_line_pending(m, LINE));
    assert_int_equal(kdpc_machine_run(m, unplug_entry, NULL), KDPC_OK);
    assert_int_equal(S.reached_end, 1);
    assert_int_equal(S.st[0], KDPC_OK);
    assert_int_equal(S.st[1], KDPC_ENOENT); /* the line fell */
    assert_int_equal(S.st[2], KDPC_ENOENT);
    assert_int_equal(S.st[3], KDPC_ENOENT);
    assert_int_equal(S.st[4], KDPC_ENOENT);
    assert_int_equal(S.st[5], KDPC_ENOENT);
    assert_int_equal(S.n, 0); /* its pending event never ran */
    assert_true(kdpc_machine_time_ns(m) < 500000);
    assert_int_equal(kdpc_device_get_state(S.dev), KDPC_DEVICE_REMOVED);
    assert_string_equal(kdpc_device_name(S.dev), "gone"); /* still valid */
    /* its line and name are free again */
    kdpc_device *again = plug(m, &d);
    assert_true(again != S.dev);
    kdpc_machine_destroy(m);
}

static void test_reset_forgets_devices_and_their_events(void **state)
{
    (void)state;
    reset_state();
    kdpc_machine *m = kt_machine(1, 9);
    kdpc_device_desc d = desc_window("r", 0xFE000000ull, 0x1000);
    kdpc_device *dev = plug(m, &d);
    assert_int_equal(kdpc_device_schedule(dev, 5000, record_event, NULL, 0, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_reset(m, 9), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, nothing, NULL), KDPC_OK);
    assert_int_equal(S.n, 0);
    dev = plug(m, &d); /* the same name and window */
    assert_int_equal(kdpc_device_window_base(dev, 0), 0xFE000000ull);
    kdpc_machine_destroy(m);
}

static void test_device_calls_on_a_halted_machine_return_halted(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 9);
    kdpc_device_desc d = desc_line("h", LINE, true);
    kdpc_device *dev = plug(m, &d);
    assert_int_equal(kdpc_machine_shutdown(m), KDPC_OK);
    assert_int_equal(kdpc_device_line_set(dev, 0, true), KDPC_E_HALTED);
    assert_int_equal(kdpc_device_interrupt(dev, 0), KDPC_E_HALTED);
    assert_int_equal(kdpc_device_schedule(dev, 1, record_event, NULL, 0, NULL), KDPC_E_HALTED);
    kdpc_device *other = NULL;
    kdpc_device_desc d2 = desc_window("h2", 0, 0x10);
    assert_int_equal(kdpc_device_plug(m, &d2, &other), KDPC_E_HALTED);
    kdpc_machine_destroy(m);
}

/* A run of the machine in progress on one host thread: device calls from another host thread
 * are refused with KDPC_EBUSY (they would race with the run). */
static struct {
    atomic_int started, answered;
    kdpc_device *dev;
    kdpc_status st[6];
    bool fault_now;
} B;

static void busy_until_answered(void *ctx)
{
    (void)ctx;
    atomic_store(&B.started, 1);
    while (atomic_load(&B.answered) == 0) /* the run's step limit bounds it; under valgrind */
        KeStallExecutionProcessor(1);     /* the other thread may wait long for its turn */
}

static void *other_host_thread(void *arg)
{
    (void)arg;
    while (atomic_load(&B.started) == 0)
        ;
    B.st[0] = kdpc_device_line_set(B.dev, 0, true);
    B.st[1] = kdpc_device_interrupt(B.dev, 0);
    B.st[2] = kdpc_device_schedule(B.dev, 1, record_event, NULL, 0, NULL);
    kdpc_device_desc d = desc_window("late", 0, 0x10);
    kdpc_device *other = NULL;
    B.st[3] = kdpc_device_plug(kdpc_device_machine(B.dev), &d, &other);
    B.st[4] = kdpc_device_cancel(B.dev, 1);
    B.st[5] = kdpc_device_set_fault(B.dev, KDPC_FAULT_LOST_INTERRUPT, 1000);
    B.fault_now = kdpc_device_fault_now(B.dev, KDPC_FAULT_LOST_INTERRUPT);
    atomic_store(&B.answered, 1);
    return NULL;
}

static void test_device_calls_from_another_host_thread_during_a_run_are_busy(void **state)
{
    (void)state;
    if (KT_TSAN)
        skip(); /* a host thread spinning on a fiber's store: TSan sees the fibers as threads */
    memset(&B, 0, sizeof(B));
    kdpc_machine *m = kt_machine(1, 9);
    kdpc_device_desc d = desc_line("busy", LINE, true);
    B.dev = plug(m, &d);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, other_host_thread, NULL), 0);
    assert_int_equal(kdpc_machine_run(m, busy_until_answered, NULL), KDPC_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(B.st[i], KDPC_EBUSY);
    assert_false(B.fault_now);
    assert_false(kdpc_line_pending(m, LINE)); /* nothing happened */
    assert_int_equal(kdpc_device_faults_injected(B.dev, KDPC_FAULT_LOST_INTERRUPT), 0);
    assert_int_equal(kdpc_device_interrupt(B.dev, 0), KDPC_OK); /* the fault was not set */
    assert_true(kdpc_line_pending(m, LINE));
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_desc_init_sets_the_defaults),
        cmocka_unit_test(test_plug_copies_the_description_and_chooses_window_bases),
        cmocka_unit_test(test_explicit_bases_are_kept_and_chosen_ones_avoid_them),
        cmocka_unit_test(test_plug_rejects_invalid_descriptions),
        cmocka_unit_test(test_plug_rejects_overlaps_and_taken_lines_with_eexist),
        cmocka_unit_test(test_accessors_of_null),
        cmocka_unit_test(test_driver_accesses_reach_the_handlers_with_offset_width_and_value),
        cmocka_unit_test(test_events_run_in_time_then_scheduling_order_at_exact_times),
        cmocka_unit_test(test_events_are_traced_with_device_and_id),
        cmocka_unit_test(test_cancel_removes_only_a_pending_event_of_that_device),
        cmocka_unit_test(test_schedule_rejects_bad_arguments),
        cmocka_unit_test(test_background_events_keep_no_run_alive_but_run_in_timed_runs),
        cmocka_unit_test(test_events_interrupt_a_busy_cpu_on_time_and_keep_an_exact_period),
        cmocka_unit_test(test_a_device_rescheduling_itself_without_delay_times_out),
        cmocka_unit_test(test_level_line_interrupts_until_the_device_lowers_it),
        cmocka_unit_test(test_level_line_raised_from_the_host_between_runs),
        cmocka_unit_test(test_latched_line_interrupts_once_per_raise),
        cmocka_unit_test(test_level_line_is_served_by_one_cpu_at_a_time),
        cmocka_unit_test(test_two_level_devices_on_a_shared_line_are_wired_or),
        cmocka_unit_test(test_lost_interrupt_raises_nothing),
        cmocka_unit_test(test_late_interrupt_arrives_late_ns_later),
        cmocka_unit_test(test_late_interrupt_is_cancelled_when_the_device_lowers_the_line),
        cmocka_unit_test(test_spurious_interrupt_on_a_latched_line_fires_once_more),
        cmocka_unit_test(
            test_spurious_interrupt_on_a_level_line_holds_it_up_after_the_cause_is_cleared),
        cmocka_unit_test(test_faults_are_the_same_for_the_same_seed_and_name),
        cmocka_unit_test(test_fault_now_draws_at_the_set_probability),
        cmocka_unit_test(test_dma_engine_moves_data_through_a_common_buffer_with_faults),
        cmocka_unit_test(test_transfer_faults_are_the_same_for_the_same_seed),
        cmocka_unit_test(test_dma_needs_a_dma_engine_in_the_description),
        cmocka_unit_test(
            test_surprise_removal_lowers_lines_cancels_events_and_refuses_device_calls),
        cmocka_unit_test(test_reset_forgets_devices_and_their_events),
        cmocka_unit_test(test_device_calls_on_a_halted_machine_return_halted),
        cmocka_unit_test(test_device_calls_from_another_host_thread_during_a_run_are_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
