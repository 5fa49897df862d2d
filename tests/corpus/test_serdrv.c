/* SPDX-License-Identifier: MIT */
/*
 * test_serdrv.c - the corpus' serial port driver (serdrv/serdrv.c) on a
 * virtual 16550-style UART with a loopback plug: the port is named from the
 * device's registry key (PortName) and opened as \DosDevices\COM7, then
 * driven with <ntddser.h>'s IOCTLs, WriteFile and ReadFile: baud rate and
 * line control reach the UART's registers, written bytes come back, wait
 * masks report SERIAL_EV_TXEMPTY / SERIAL_EV_RXCHAR, read timeouts end a
 * short read with STATUS_TIMEOUT, purge empties the receive buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <kdpc/registry.h>
#include <ntddser.h>
#include "corpus_test.h"
#include "serdrv.h"

#define DEVICE_KEY                                                                                 \
    "\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\Root\\uart0\\0000\\Device Parameters"
#define SERIALCOMM "\\Registry\\Machine\\HARDWARE\\DEVICEMAP\\SERIALCOMM"
#define UART_PORT  0x3F8

/* ---- the virtual UART ---------------------------------------------------------------------- */

typedef struct uart {
    kdpc_device *dev;
    uint8_t ier, lcr, mcr, dll, dlm, scr;
    uint8_t fifo[16];
    unsigned fifo_head, fifo_count, overruns;
    bool shift_busy, thr_full, thre_pending;
    uint8_t shift, thr;
    unsigned sent, bad_accesses;
} uart;

static void uart_line(uart *u)
{
    bool level = ((u->ier & SERDRV_IER_RDA) && u->fifo_count > 0) ||
                 ((u->ier & SERDRV_IER_THRE) && u->thre_pending);
    (void)kdpc_device_line_set(u->dev, 0, level);
}

static uint64_t uart_char_ns(const uart *u)
{
    unsigned divisor = (unsigned)u->dll | ((unsigned)u->dlm << 8);
    if (divisor == 0)
        divisor = 1;
    return 10ull * 1000000000ull * divisor / SERDRV_CLOCK; /* 10 bits a character */
}

static void uart_shift_done(kdpc_device *dev, void *ctx, void *arg);

static void uart_start_shift(uart *u, uint8_t c)
{
    u->shift = c;
    u->shift_busy = true;
    (void)kdpc_device_schedule(u->dev, uart_char_ns(u), uart_shift_done, NULL, 0, NULL);
}

static void uart_shift_done(kdpc_device *dev, void *ctx, void *arg)
{
    (void)dev, (void)arg;
    uart *u = ctx;
    u->sent++;
    if (u->fifo_count < sizeof u->fifo) /* the loopback plug */
        u->fifo[(u->fifo_head + u->fifo_count++) % sizeof u->fifo] = u->shift;
    else
        u->overruns++;
    u->shift_busy = false;
    if (u->thr_full) {
        u->thr_full = false;
        u->thre_pending = true;
        uart_start_shift(u, u->thr);
    }
    uart_line(u);
}

static uint64_t uart_read(const kdpc_reg_access *a)
{
    uart *u = a->ctx;
    uint64_t v = 0;
    if (a->width != 1) {
        u->bad_accesses++;
        return 0xFF;
    }
    switch (a->offset) {
    case SERDRV_RBR:
        if (u->lcr & SERDRV_LCR_DLAB) {
            v = u->dll;
        } else if (u->fifo_count > 0) {
            v = u->fifo[u->fifo_head];
            u->fifo_head = (u->fifo_head + 1) % sizeof u->fifo;
            u->fifo_count--;
        }
        break;
    case SERDRV_IER:
        v = (u->lcr & SERDRV_LCR_DLAB) ? u->dlm : u->ier;
        break;
    case SERDRV_IIR:
        if ((u->ier & SERDRV_IER_RDA) && u->fifo_count > 0) {
            v = SERDRV_IIR_RDA;
        } else if ((u->ier & SERDRV_IER_THRE) && u->thre_pending) {
            u->thre_pending = false; /* reading IIR clears a THRE interrupt */
            v = SERDRV_IIR_THRE;
        } else {
            v = SERDRV_IIR_NONE;
        }
        break;
    case SERDRV_LCR:
        v = u->lcr;
        break;
    case SERDRV_MCR:
        v = u->mcr;
        break;
    case SERDRV_LSR:
        v = (u->fifo_count > 0 ? SERDRV_LSR_DR : 0) | (u->thr_full ? 0 : SERDRV_LSR_THRE) |
            (!u->thr_full && !u->shift_busy ? 0x40 : 0);
        break;
    case SERDRV_MSR:
        v = 0xB0; /* CTS, DSR, DCD: the loopback plug */
        break;
    case SERDRV_SCR:
        v = u->scr;
        break;
    default:
        break;
    }
    uart_line(u);
    return v;
}

static void uart_write(const kdpc_reg_access *a)
{
    uart *u = a->ctx;
    uint8_t v = (uint8_t)a->value;
    if (a->width != 1) {
        u->bad_accesses++;
        return;
    }
    switch (a->offset) {
    case SERDRV_THR:
        if (u->lcr & SERDRV_LCR_DLAB) {
            u->dll = v;
        } else if (!u->shift_busy) {
            uart_start_shift(u, v);
            u->thre_pending = true; /* the holding register is empty again */
        } else if (!u->thr_full) {
            u->thr = v;
            u->thr_full = true;
            u->thre_pending = false;
        } else {
            u->bad_accesses++; /* written while full: the byte is lost */
        }
        break;
    case SERDRV_IER:
        if (u->lcr & SERDRV_LCR_DLAB) {
            u->dlm = v;
        } else {
            if ((v & SERDRV_IER_THRE) && !(u->ier & SERDRV_IER_THRE) && !u->thr_full)
                u->thre_pending = true; /* enabling it with the register empty interrupts */
            u->ier = v & 0x0F;
        }
        break;
    case SERDRV_FCR:
        break;
    case SERDRV_LCR:
        u->lcr = v;
        break;
    case SERDRV_MCR:
        u->mcr = v;
        break;
    case SERDRV_SCR:
        u->scr = v;
        break;
    default:
        u->bad_accesses++;
        break;
    }
    uart_line(u);
}

/* ---- requests -------------------------------------------------------------------------------- */

typedef struct async_req {
    ULONG out;
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    NTSTATUS call, final;
} async_req;

static void send_wait_on_mask(PFILE_OBJECT f, async_req *r)
{
    KeInitializeEvent(&r->done, NotificationEvent, FALSE);
    r->out = 0xEEEEEEEEu;
    r->irp = IoBuildDeviceIoControlRequest(IOCTL_SERIAL_WAIT_ON_MASK, f->DeviceObject, NULL, 0,
                                           &r->out, sizeof r->out, FALSE, &r->done, &r->iosb);
    assert_non_null(r->irp);
    IoGetNextIrpStackLocation(r->irp)->FileObject = f;
    r->call = IoCallDriver(f->DeviceObject, r->irp);
}

static NTSTATUS async_done(async_req *r)
{
    LARGE_INTEGER timeout;
    timeout.QuadPart = -100 * 10000;
    if (KeWaitForSingleObject(&r->done, Executive, KernelMode, FALSE, &timeout) != STATUS_SUCCESS)
        return STATUS_TIMEOUT;
    return r->call == STATUS_PENDING ? r->iosb.Status : r->call;
}

/* ---- the scenario ------------------------------------------------------------------------------ */

static struct {
    kdpc_machine *m;
    uart u;
    kdpc_status plug, reg1, reg2;
    NTSTATUS load, open;
    kdpc_device_state started;
    PDRIVER_OBJECT drv;
    NTSTATUS set_baud, get_baud, bad_baud, set_lc, bad_lc, get_lc;
    SERIAL_BAUD_RATE baud;
    SERIAL_LINE_CONTROL lc;
    uint8_t divisor_lo, divisor_hi, lcr_after;
    NTSTATUS set_mask, write1, wait1, status1, read1;
    ULONG_PTR write1_info, read1_info;
    ULONG mask1;
    SERIAL_STATUS comm1;
    char rx1[8];
    NTSTATUS set_to, read_empty, write2, read_short;
    ULONG_PTR read_empty_info, read_short_info;
    char rx2[10];
    async_req w1, w2;
    NTSTATUS mask_again;
    BOOLEAN cancelled;
    NTSTATUS purge, bad_purge, status2;
    SERIAL_STATUS comm2;
    ULONG dtrrts;
    NTSTATUS clr_dtr;
    uint8_t mcr_after;
    NTSTATUS second_wait_pending;
    NTSTATUS close;
    kdpc_status unplug;
    kdpc_device_state removed;
    NTSTATUS unload;
    uint32_t comm_type;
    uint16_t comm_name[8];
    size_t comm_size;
    kdpc_status comm_st, comm_after;
    int reached_end;
} t;

static void TestEntry(void *ctx)
{
    (void)ctx;
    kdpc_device_desc desc;
    kdpc_device_desc_init(&desc);
    desc.name = "uart0";
    desc.driver = "serdrv";
    desc.ctx = &t.u;
    desc.ports[0] = (kdpc_range_desc){UART_PORT, SERDRV_PORTS, uart_read, uart_write};
    desc.nports = 1;
    desc.lines[0].line = 4;
    desc.lines[0].level = true;
    desc.nlines = 1;
    /* the INF's work: the port's name, and the device map the system keeps */
    t.reg1 = kdpc_registry_set_string(t.m, DEVICE_KEY, "PortName", "COM7");
    t.reg2 = kdpc_registry_create_key(t.m, SERIALCOMM);
    t.plug = kdpc_device_plug(t.m, &desc, &t.u.dev);
    if (t.plug != KDPC_OK)
        return;
    t.load = kdpc_driver_load(t.m, "serdrv", SerDriverEntry, &t.drv);
    if (!NT_SUCCESS(t.load))
        return;
    t.started = kdpc_device_get_state(t.u.dev);
    t.comm_st = kdpc_registry_get_value(t.m, SERIALCOMM, "\\Device\\Serial0", &t.comm_type,
                                        t.comm_name, sizeof t.comm_name, &t.comm_size);

    PFILE_OBJECT f = NULL;
    t.open = kdpc_file_open(t.m, "\\DosDevices\\COM7", FILE_READ_DATA | FILE_WRITE_DATA, &f);
    if (!NT_SUCCESS(t.open))
        return;

    /* baud rate and line control reach the UART */
    SERIAL_BAUD_RATE b = {115200};
    t.set_baud = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_BAUD_RATE, &b, sizeof b, NULL, 0, NULL);
    t.get_baud =
        kdpc_file_ioctl(f, IOCTL_SERIAL_GET_BAUD_RATE, NULL, 0, &t.baud, sizeof t.baud, NULL);
    b.BaudRate = 7;
    t.bad_baud = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_BAUD_RATE, &b, sizeof b, NULL, 0, NULL);
    t.divisor_lo = t.u.dll;
    t.divisor_hi = t.u.dlm;
    SERIAL_LINE_CONTROL lc = {STOP_BIT_1, NO_PARITY, 8};
    t.set_lc = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_LINE_CONTROL, &lc, sizeof lc, NULL, 0, NULL);
    t.lcr_after = t.u.lcr;
    lc.WordLength = 9;
    t.bad_lc = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_LINE_CONTROL, &lc, sizeof lc, NULL, 0, NULL);
    t.get_lc = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_LINE_CONTROL, NULL, 0, &t.lc, sizeof t.lc, NULL);

    /* "hello" goes out and comes back */
    t.set_mask =
        ct_ioctl_ulong(f, IOCTL_SERIAL_SET_WAIT_MASK, SERIAL_EV_RXCHAR | SERIAL_EV_TXEMPTY);
    t.write1 = kdpc_file_write(f, "hello", 5, 0, &t.write1_info);
    t.wait1 =
        kdpc_file_ioctl(f, IOCTL_SERIAL_WAIT_ON_MASK, NULL, 0, &t.mask1, sizeof t.mask1, NULL);
    ct_sleep_ms(2);
    t.status1 =
        kdpc_file_ioctl(f, IOCTL_SERIAL_GET_COMMSTATUS, NULL, 0, &t.comm1, sizeof t.comm1, NULL);
    t.read1 = kdpc_file_read(f, t.rx1, sizeof t.rx1, 0, &t.read1_info);

    /* a total read timeout of 5 ms */
    SERIAL_TIMEOUTS to = {0, 0, 5, 0, 0};
    t.set_to = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_TIMEOUTS, &to, sizeof to, NULL, 0, NULL);
    t.read_empty = kdpc_file_read(f, t.rx2, sizeof t.rx2, 0, &t.read_empty_info);
    t.write2 = kdpc_file_write(f, "abc", 3, 0, NULL);
    t.read_short = kdpc_file_read(f, t.rx2, sizeof t.rx2, 0, &t.read_short_info);

    /* a pending wait: a new wait mask completes it with 0; a cancelled one with STATUS_CANCELLED */
    (void)ct_ioctl_ulong(f, IOCTL_SERIAL_SET_WAIT_MASK, SERIAL_EV_RXCHAR);
    send_wait_on_mask(f, &t.w1);
    t.mask_again = ct_ioctl_ulong(f, IOCTL_SERIAL_SET_WAIT_MASK, SERIAL_EV_RXCHAR);
    t.w1.final = async_done(&t.w1);
    send_wait_on_mask(f, &t.w2);
    ULONG dummy;
    t.second_wait_pending =
        kdpc_file_ioctl(f, IOCTL_SERIAL_WAIT_ON_MASK, NULL, 0, &dummy, sizeof dummy, NULL);
    t.cancelled = IoCancelIrp(t.w2.irp);
    t.w2.final = async_done(&t.w2);

    /* purge */
    (void)kdpc_file_write(f, "xyz", 3, 0, NULL);
    ct_sleep_ms(2);
    t.purge = ct_ioctl_ulong(f, IOCTL_SERIAL_PURGE, SERIAL_PURGE_RXCLEAR);
    t.bad_purge = ct_ioctl_ulong(f, IOCTL_SERIAL_PURGE, 0);
    t.status2 =
        kdpc_file_ioctl(f, IOCTL_SERIAL_GET_COMMSTATUS, NULL, 0, &t.comm2, sizeof t.comm2, NULL);

    /* modem control */
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_GET_DTRRTS, NULL, 0, &t.dtrrts, sizeof t.dtrrts, NULL);
    t.clr_dtr = kdpc_file_ioctl(f, IOCTL_SERIAL_CLR_DTR, NULL, 0, NULL, 0, NULL);
    t.mcr_after = t.u.mcr;

    t.close = kdpc_file_close(f);
    t.unplug = kdpc_device_unplug(t.u.dev, KDPC_UNPLUG_ORDERLY);
    t.removed = kdpc_device_get_state(t.u.dev);
    t.unload = kdpc_driver_unload(t.drv);
    t.comm_after =
        kdpc_registry_get_value(t.m, SERIALCOMM, "\\Device\\Serial0", NULL, NULL, 0, NULL);
    t.reached_end = 1;
}

static void test_loopback_port(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        memset(&t, 0, sizeof t);
        t.m = ct_machine(2, seed);
        assert_int_equal(kdpc_machine_run(t.m, TestEntry, NULL), KDPC_OK);
        assert_int_equal(t.reg1, KDPC_OK);
        assert_int_equal(t.reg2, KDPC_OK);
        assert_int_equal(t.plug, KDPC_OK);
        assert_int_equal(t.load, STATUS_SUCCESS);
        assert_int_equal(t.started, KDPC_DEVICE_STARTED);
        assert_int_equal(t.open, STATUS_SUCCESS); /* \DosDevices\<PortName> */
        assert_int_equal(t.reached_end, 1);
        ct_assert_clean(t.m);

        /* HARDWARE\DEVICEMAP\SERIALCOMM: \Device\Serial0 = COM7 */
        assert_int_equal(t.comm_st, KDPC_OK);
        assert_int_equal(t.comm_type, REG_SZ);
        static const uint16_t com7[] = {'C', 'O', 'M', '7', 0};
        assert_int_equal(t.comm_size, sizeof com7);
        assert_memory_equal(t.comm_name, com7, sizeof com7);

        assert_int_equal(t.set_baud, STATUS_SUCCESS);
        assert_int_equal(t.get_baud, STATUS_SUCCESS);
        assert_int_equal(t.baud.BaudRate, 115200);
        assert_int_equal(t.divisor_lo, 1);
        assert_int_equal(t.divisor_hi, 0);
        assert_int_equal(t.bad_baud, STATUS_INVALID_PARAMETER);
        assert_int_equal(t.set_lc, STATUS_SUCCESS);
        assert_int_equal(t.lcr_after, 0x03); /* 8N1 */
        assert_int_equal(t.bad_lc, STATUS_INVALID_PARAMETER);
        assert_int_equal(t.get_lc, STATUS_SUCCESS);
        assert_int_equal(t.lc.WordLength, 8);

        assert_int_equal(t.set_mask, STATUS_SUCCESS);
        assert_int_equal(t.write1, STATUS_SUCCESS);
        assert_int_equal(t.write1_info, 5);
        assert_int_equal(t.wait1, STATUS_SUCCESS); /* the events had happened */
        assert_true(t.mask1 & SERIAL_EV_TXEMPTY);
        assert_true(t.mask1 & SERIAL_EV_RXCHAR);
        assert_int_equal(t.status1, STATUS_SUCCESS);
        assert_int_equal(t.comm1.AmountInInQueue, 5);
        assert_int_equal(t.read1, STATUS_SUCCESS);
        assert_int_equal(t.read1_info, 5);
        assert_memory_equal(t.rx1, "hello", 5);

        assert_int_equal(t.set_to, STATUS_SUCCESS);
        assert_int_equal(t.read_empty, STATUS_TIMEOUT);
        assert_int_equal(t.read_empty_info, 0);
        assert_int_equal(t.write2, STATUS_SUCCESS);
        assert_int_equal(t.read_short, STATUS_TIMEOUT);
        assert_int_equal(t.read_short_info, 3);
        assert_memory_equal(t.rx2, "abc", 3);

        assert_int_equal(t.w1.call, STATUS_PENDING);
        assert_int_equal(t.mask_again, STATUS_SUCCESS);
        assert_int_equal(t.w1.final, STATUS_SUCCESS);
        assert_int_equal(t.w1.out, 0);
        assert_int_equal(t.w2.call, STATUS_PENDING);
        assert_int_equal(t.second_wait_pending, STATUS_INVALID_PARAMETER);
        assert_true(t.cancelled);
        assert_int_equal(t.w2.final, STATUS_CANCELLED);

        assert_int_equal(t.purge, STATUS_SUCCESS);
        assert_int_equal(t.bad_purge, STATUS_INVALID_PARAMETER);
        assert_int_equal(t.status2, STATUS_SUCCESS);
        assert_int_equal(t.comm2.AmountInInQueue, 0);

        assert_int_equal(t.dtrrts, SERIAL_DTR_STATE | SERIAL_RTS_STATE);
        assert_int_equal(t.clr_dtr, STATUS_SUCCESS);
        assert_int_equal(t.mcr_after & SERDRV_MCR_DTR, 0);

        assert_int_equal(t.close, STATUS_SUCCESS);
        assert_int_equal(t.unplug, KDPC_OK);
        assert_int_equal(t.removed, KDPC_DEVICE_REMOVED);
        assert_int_equal(t.unload, STATUS_SUCCESS);
        assert_int_equal(t.comm_after, KDPC_ENOENT); /* the driver took its name back */
        assert_int_equal(t.u.bad_accesses, 0);
        assert_int_equal(t.u.overruns, 0);
        kdpc_machine_destroy(t.m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
