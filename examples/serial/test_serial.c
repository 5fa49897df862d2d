/* SPDX-License-Identifier: MIT */
/*
 * test_serial.c - the serial example (docs/examples/serial.md): each request
 * kind on its own (a directed scenario on the virtual UART), the terminal
 * workload with and without faults, clean over 50 seeds on 1, 2 and 4 CPUs,
 * each broken variant caught with its rule id, and determinism.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"
#include "example_test.h"

#include <ntddser.h>
#include <ntiologc.h>
#include "device/uart.h"
#include "driver/uart16550.h"

NTSTATUS serial_entry_clean(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

static kdpc_machine *serial_machine(unsigned cpus, uint64_t seed)
{
    return ex_test_machine(&ex_serial, cpus, seed);
}

static void run(kdpc_machine *m, uint64_t ms, ex_load load, unsigned faults, const ex_variant *v,
                ex_result *r)
{
    ex_options o = {ms * 1000000ull, load, faults, v, NULL};
    ex_serial.run(m, &o, r);
}

static void assert_clean(kdpc_machine *m, const ex_result *r)
{
    if (!ex_clean(m, r))
        print_error("status %d, violations %zu, lost %llu: %s [%s]\n", (int)r->status,
                    kdpc_machine_violation_count(m), (unsigned long long)r->lost, r->problem,
                    r->notes);
    assert_true(ex_clean(m, r));
}

/* ---- the directed scenario: every request kind once ---------------------------------------- */

static struct {
    kdpc_machine *m;
    uart u;
    kdpc_fault_kind fault; /* injected for the whole scenario at fault_permille */
    unsigned fault_permille;
    uint64_t injected;
    int reached_end;
    NTSTATUS load, open;
    NTSTATUS set_baud, bad_baud, get_baud, set_lc, get_lc, bad_lc;
    SERIAL_BAUD_RATE baud;
    SERIAL_LINE_CONTROL lc;
    uint8_t dll, dlm, lcr;
    NTSTATUS set_to, get_to;
    SERIAL_TIMEOUTS to;
    NTSTATUS set_mask, get_mask, bad_mask;
    ULONG mask_back;
    NTSTATUS write1, read1, wait1;
    ULONG_PTR write1_info, read1_info;
    ULONG events1;
    char rx1[32];
    NTSTATUS status1;
    SERIAL_STATUS comm1;
    NTSTATUS read_empty, read_immediate, read_anybyte, read_interval;
    ULONG_PTR read_empty_info, read_immediate_info, read_anybyte_info, read_interval_info;
    uint64_t read_empty_ns;
    char rx2[64], rx4[64], rx5[64];
    NTSTATUS purge, bad_purge, status2;
    SERIAL_STATUS comm2;
    NTSTATUS modem_on, modem_off;
    ULONG modem1, modem2, dtrrts;
    uint8_t mcr_after_clr;
    NTSTATUS loop_on, loop_write, loop_read, get_mc;
    ULONG mc;
    ULONG_PTR loop_info;
    uint64_t loop_ns;
    char rx3[8];
    NTSTATUS pending_wait, second_wait, cancelled_wait;
    BOOLEAN cancel_ok;
    NTSTATUS bad_ioctl;
    NTSTATUS close, unload;
    kdpc_device_state after_unload;
} t;

typedef struct async_wait {
    ULONG out;
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    NTSTATUS call;
} async_wait;

static void send_wait(PFILE_OBJECT f, async_wait *w)
{
    KeInitializeEvent(&w->done, NotificationEvent, FALSE);
    w->irp = IoBuildDeviceIoControlRequest(IOCTL_SERIAL_WAIT_ON_MASK, f->DeviceObject, NULL, 0,
                                           &w->out, sizeof w->out, FALSE, &w->done, &w->iosb);
    assert_non_null(w->irp);
    IoGetNextIrpStackLocation(w->irp)->FileObject = f;
    w->call = IoCallDriver(f->DeviceObject, w->irp);
}

static NTSTATUS wait_done(async_wait *w)
{
    if (w->call == STATUS_PENDING)
        (void)KeWaitForSingleObject(&w->done, Executive, KernelMode, FALSE, NULL);
    return w->call == STATUS_PENDING ? w->iosb.Status : w->call;
}

static void sleep_ms(ULONG ms)
{
    LARGE_INTEGER d;
    d.QuadPart = -(LONGLONG)ms * 10000;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &d);
}

static NTSTATUS ioctl_ulong(PFILE_OBJECT f, ULONG code, ULONG v)
{
    return kdpc_file_ioctl(f, code, &v, sizeof v, NULL, 0, NULL);
}

static void scenario(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    PFILE_OBJECT f = NULL;
    if (uart_plug(t.m, &t.u, "uart0", "serial", 0x2F8, 3, true) != KDPC_OK)
        return;
    (void)kdpc_device_set_fault(t.u.dev, t.fault, t.fault_permille);
    t.load = kdpc_driver_load(t.m, "serial", serial_entry_clean, &drv);
    if (!NT_SUCCESS(t.load))
        return;
    t.open = kdpc_file_open(t.m, "\\DosDevices\\COM1", FILE_READ_DATA | FILE_WRITE_DATA, &f);
    if (!NT_SUCCESS(t.open))
        return;

    /* baud rate and line control reach the divisor latch and LCR */
    SERIAL_BAUD_RATE b = {57600};
    t.set_baud = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_BAUD_RATE, &b, sizeof b, NULL, 0, NULL);
    b.BaudRate = 7;
    t.bad_baud = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_BAUD_RATE, &b, sizeof b, NULL, 0, NULL);
    t.get_baud =
        kdpc_file_ioctl(f, IOCTL_SERIAL_GET_BAUD_RATE, NULL, 0, &t.baud, sizeof t.baud, NULL);
    t.dll = t.u.dll;
    t.dlm = t.u.dlm;
    SERIAL_LINE_CONTROL lc = {STOP_BITS_2, ODD_PARITY, 7};
    t.set_lc = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_LINE_CONTROL, &lc, sizeof lc, NULL, 0, NULL);
    t.lcr = t.u.lcr;
    lc.WordLength = 9;
    t.bad_lc = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_LINE_CONTROL, &lc, sizeof lc, NULL, 0, NULL);
    t.get_lc = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_LINE_CONTROL, NULL, 0, &t.lc, sizeof t.lc, NULL);
    SERIAL_LINE_CONTROL lc8 = {STOP_BIT_1, NO_PARITY, 8};
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_LINE_CONTROL, &lc8, sizeof lc8, NULL, 0, NULL);

    /* timeouts: wait for the whole read, up to 200 ms */
    SERIAL_TIMEOUTS to = {0, 0, 200, 0, 0};
    t.set_to = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_TIMEOUTS, &to, sizeof to, NULL, 0, NULL);
    t.get_to = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_TIMEOUTS, NULL, 0, &t.to, sizeof t.to, NULL);

    /* a line out and back, with the TXEMPTY event */
    t.set_mask = ioctl_ulong(f, IOCTL_SERIAL_SET_WAIT_MASK, SERIAL_EV_TXEMPTY);
    t.bad_mask = ioctl_ulong(f, IOCTL_SERIAL_SET_WAIT_MASK, 0x80000000u);
    t.get_mask = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_WAIT_MASK, NULL, 0, &t.mask_back,
                                 sizeof t.mask_back, NULL);
    async_wait w1;
    send_wait(f, &w1);
    static char line[] = "the quick brown fox jumps";
    t.write1 = kdpc_file_write(f, line, sizeof line - 1, 0, &t.write1_info);
    t.read1 = kdpc_file_read(f, t.rx1, sizeof line - 1, 0, &t.read1_info);
    t.wait1 = wait_done(&w1);
    t.events1 = w1.out;
    t.status1 =
        kdpc_file_ioctl(f, IOCTL_SERIAL_GET_COMMSTATUS, NULL, 0, &t.comm1, sizeof t.comm1, NULL);

    /* total timeout with nothing coming: STATUS_TIMEOUT after 200 ms, 0 bytes */
    uint64_t t0 = kdpc_machine_time_ns(t.m);
    t.read_empty = kdpc_file_read(f, t.rx2, 10, 0, &t.read_empty_info);
    t.read_empty_ns = kdpc_machine_time_ns(t.m) - t0;

    /* MAXULONG/0/0: at once with what is there */
    SERIAL_TIMEOUTS imm = {MAXULONG, 0, 0, 0, 0};
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_TIMEOUTS, &imm, sizeof imm, NULL, 0, NULL);
    (void)kdpc_file_write(f, "abc", 3, 0, NULL);
    sleep_ms(5);
    t.read_immediate = kdpc_file_read(f, t.rx2, sizeof t.rx2, 0, &t.read_immediate_info);

    /* MAXULONG/MAXULONG/n: as soon as anything is there */
    SERIAL_TIMEOUTS any = {MAXULONG, MAXULONG, 100, 0, 0};
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_TIMEOUTS, &any, sizeof any, NULL, 0, NULL);
    (void)kdpc_file_write(f, "x", 1, 0, NULL);
    t.read_anybyte = kdpc_file_read(f, t.rx4, sizeof t.rx4, 0, &t.read_anybyte_info);

    /* interval timeout: 5 bytes arrive, then silence for more than 10 ms */
    SERIAL_TIMEOUTS iv = {10, 0, 0, 0, 0};
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_TIMEOUTS, &iv, sizeof iv, NULL, 0, NULL);
    (void)kdpc_file_write(f, "12345", 5, 0, NULL);
    t.read_interval = kdpc_file_read(f, t.rx5, sizeof t.rx5, 0, &t.read_interval_info);

    /* purge empties the receive side; GET_COMMSTATUS sees it */
    (void)kdpc_file_write(f, "zzzz", 4, 0, NULL);
    sleep_ms(5);
    t.purge = ioctl_ulong(f, IOCTL_SERIAL_PURGE, SERIAL_PURGE_RXCLEAR);
    t.bad_purge = ioctl_ulong(f, IOCTL_SERIAL_PURGE, 0);
    t.status2 =
        kdpc_file_ioctl(f, IOCTL_SERIAL_GET_COMMSTATUS, NULL, 0, &t.comm2, sizeof t.comm2, NULL);

    /* modem control and status through the plug */
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_DTR, NULL, 0, NULL, 0, NULL);
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_RTS, NULL, 0, NULL, 0, NULL);
    t.modem_on =
        kdpc_file_ioctl(f, IOCTL_SERIAL_GET_MODEMSTATUS, NULL, 0, &t.modem1, sizeof t.modem1, NULL);
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_CLR_DTR, NULL, 0, NULL, 0, NULL);
    t.mcr_after_clr = t.u.mcr;
    t.modem_off =
        kdpc_file_ioctl(f, IOCTL_SERIAL_GET_MODEMSTATUS, NULL, 0, &t.modem2, sizeof t.modem2, NULL);
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_GET_DTRRTS, NULL, 0, &t.dtrrts, sizeof t.dtrrts, NULL);

    /* internal loopback (MCR bit 4) with the plug pulled out; OUT2 kept on: it gates the
     * interrupt onto the line, and without it only the poll would move the bytes */
    t.u.plug = false;
    t.loop_on = ioctl_ulong(f, IOCTL_SERIAL_SET_MODEM_CONTROL,
                            SERIAL_IOC_MCR_LOOP | SERIAL_IOC_MCR_OUT2 | SERIAL_IOC_MCR_DTR |
                                SERIAL_IOC_MCR_RTS);
    t.get_mc =
        kdpc_file_ioctl(f, IOCTL_SERIAL_GET_MODEM_CONTROL, NULL, 0, &t.mc, sizeof t.mc, NULL);
    SERIAL_TIMEOUTS tot = {0, 0, 100, 0, 0};
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_TIMEOUTS, &tot, sizeof tot, NULL, 0, NULL);
    uint64_t t_loop = kdpc_machine_time_ns(t.m);
    t.loop_write = kdpc_file_write(f, "loop", 4, 0, NULL);
    t.loop_read = kdpc_file_read(f, t.rx3, 4, 0, &t.loop_info);
    t.loop_ns = kdpc_machine_time_ns(t.m) - t_loop;
    (void)ioctl_ulong(f, IOCTL_SERIAL_SET_MODEM_CONTROL,
                      SERIAL_IOC_MCR_OUT2 | SERIAL_IOC_MCR_DTR | SERIAL_IOC_MCR_RTS);
    t.u.plug = true;

    /* a pending wait: a second one is refused, cancelling the first completes it */
    (void)ioctl_ulong(f, IOCTL_SERIAL_SET_WAIT_MASK, SERIAL_EV_RING);
    async_wait w2;
    send_wait(f, &w2);
    t.pending_wait = w2.call;
    ULONG dummy;
    t.second_wait =
        kdpc_file_ioctl(f, IOCTL_SERIAL_WAIT_ON_MASK, NULL, 0, &dummy, sizeof dummy, NULL);
    t.cancel_ok = IoCancelIrp(w2.irp);
    t.cancelled_wait = wait_done(&w2);

    t.bad_ioctl = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_STATS, NULL, 0, NULL, 0, NULL);

    t.close = kdpc_file_close(f);
    t.unload = kdpc_driver_unload(drv);
    t.after_unload = kdpc_device_get_state(t.u.dev);
    t.injected = kdpc_device_faults_injected(t.u.dev, t.fault);
    t.reached_end = 1;
}

static void run_scenario(unsigned cpus, uint64_t seed, kdpc_fault_kind fault, unsigned permille)
{
    memset(&t, 0, sizeof t);
    t.m = serial_machine(cpus, seed);
    t.fault = fault;
    t.fault_permille = permille;
    assert_int_equal(kdpc_machine_run(t.m, scenario, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(t.m), 0);
    assert_int_equal(t.reached_end, 1);
    assert_int_equal(t.load, STATUS_SUCCESS);
    assert_int_equal(t.open, STATUS_SUCCESS);

    assert_int_equal(t.set_baud, STATUS_SUCCESS);
    assert_int_equal(t.bad_baud, STATUS_INVALID_PARAMETER);
    assert_int_equal(t.get_baud, STATUS_SUCCESS);
    assert_int_equal(t.baud.BaudRate, 57600);
    assert_int_equal(t.dll, 2); /* 115200 / 57600 */
    assert_int_equal(t.dlm, 0);
    assert_int_equal(t.set_lc, STATUS_SUCCESS);
    assert_int_equal(t.lcr, 0x02 | UART_LCR_STB | UART_LCR_PEN); /* 7O2 */
    assert_int_equal(t.bad_lc, STATUS_INVALID_PARAMETER);
    assert_int_equal(t.get_lc, STATUS_SUCCESS);
    assert_int_equal(t.lc.WordLength, 7);
    assert_int_equal(t.lc.Parity, ODD_PARITY);

    assert_int_equal(t.set_to, STATUS_SUCCESS);
    assert_int_equal(t.get_to, STATUS_SUCCESS);
    assert_int_equal(t.to.ReadTotalTimeoutConstant, 200);

    assert_int_equal(t.set_mask, STATUS_SUCCESS);
    assert_int_equal(t.bad_mask, STATUS_INVALID_PARAMETER);
    assert_int_equal(t.get_mask, STATUS_SUCCESS);
    assert_int_equal(t.mask_back, SERIAL_EV_TXEMPTY);
    assert_int_equal(t.write1, STATUS_SUCCESS);
    assert_int_equal(t.write1_info, 25);
    assert_int_equal(t.read1, STATUS_SUCCESS);
    assert_int_equal(t.read1_info, 25);
    assert_memory_equal(t.rx1, "the quick brown fox jumps", 25);
    assert_int_equal(t.wait1, STATUS_SUCCESS);
    assert_int_equal(t.events1, SERIAL_EV_TXEMPTY);
    assert_int_equal(t.status1, STATUS_SUCCESS);
    assert_int_equal(t.comm1.Errors, 0);
    assert_int_equal(t.comm1.AmountInInQueue, 0);

    assert_int_equal(t.read_empty, STATUS_TIMEOUT);
    assert_int_equal(t.read_empty_info, 0);
    assert_true(t.read_empty_ns >= 200000000ull && t.read_empty_ns < 210000000ull);
    assert_int_equal(t.read_immediate, STATUS_SUCCESS);
    assert_int_equal(t.read_immediate_info, 3);
    assert_memory_equal(t.rx2, "abc", 3);
    assert_int_equal(t.read_anybyte, STATUS_SUCCESS);
    assert_int_equal(t.read_anybyte_info, 1);
    assert_int_equal(t.rx4[0], 'x');
    assert_int_equal(t.read_interval, STATUS_TIMEOUT);
    assert_int_equal(t.read_interval_info, 5);
    assert_memory_equal(t.rx5, "12345", 5);

    assert_int_equal(t.purge, STATUS_SUCCESS);
    assert_int_equal(t.bad_purge, STATUS_INVALID_PARAMETER);
    assert_int_equal(t.status2, STATUS_SUCCESS);
    assert_int_equal(t.comm2.AmountInInQueue, 0);

    assert_int_equal(t.modem_on, STATUS_SUCCESS);
    assert_int_equal(t.modem1, SERIAL_CTS_STATE | SERIAL_DSR_STATE | SERIAL_DCD_STATE);
    assert_int_equal(t.mcr_after_clr & UART_MCR_DTR, 0);
    assert_int_equal(t.modem_off, STATUS_SUCCESS);
    assert_int_equal(t.modem2, SERIAL_CTS_STATE);
    assert_int_equal(t.dtrrts, SERIAL_RTS_STATE);

    assert_int_equal(t.loop_on, STATUS_SUCCESS);
    assert_int_equal(t.get_mc, STATUS_SUCCESS);
    assert_true(t.mc & SERIAL_IOC_MCR_LOOP);
    assert_int_equal(t.loop_write, STATUS_SUCCESS);
    assert_int_equal(t.loop_read, STATUS_SUCCESS);
    assert_int_equal(t.loop_info, 4);
    assert_memory_equal(t.rx3, "loop", 4);
    if (permille == 0) /* interrupt-driven: 4 characters and a character timeout, not a poll */
        assert_true(t.loop_ns < 5000000ull);

    assert_int_equal(t.pending_wait, STATUS_PENDING);
    assert_int_equal(t.second_wait, STATUS_INVALID_PARAMETER);
    assert_true(t.cancel_ok);
    assert_int_equal(t.cancelled_wait, STATUS_CANCELLED);
    assert_int_equal(t.bad_ioctl, STATUS_INVALID_PARAMETER);

    assert_int_equal(t.close, STATUS_SUCCESS);
    assert_int_equal(t.unload, STATUS_SUCCESS);
    assert_int_equal(t.after_unload, KDPC_DEVICE_PLUGGED);
    assert_int_equal(t.u.bad_accesses, 0);
    assert_int_equal(t.u.tx_dropped, 0);
    if (permille > 0)
        assert_true(t.injected > 0);
    kdpc_machine_destroy(t.m);
}

static void test_each_request(void **state)
{
    (void)state;
    run_scenario(1, 1, KDPC_FAULT_LOST_INTERRUPT, 0);
    run_scenario(2, 7, KDPC_FAULT_LOST_INTERRUPT, 0);
}

/* Every interrupt lost: the poll timer alone drives the port, and every request still completes
 * with the right data. */
static void test_lost_interrupts_recovered(void **state)
{
    (void)state;
    run_scenario(2, 3, KDPC_FAULT_LOST_INTERRUPT, 1000);
    run_scenario(1, 4, KDPC_FAULT_LOST_INTERRUPT, 300);
}

/* Every interrupt 1 ms late, or followed by a spurious one: the same results (a late interrupt
 * the poll served already, and a spurious one, find IIR empty and return FALSE). */
static void test_late_and_spurious_interrupts(void **state)
{
    (void)state;
    run_scenario(2, 5, KDPC_FAULT_LATE_INTERRUPT, 1000);
    run_scenario(2, 6, KDPC_FAULT_SPURIOUS_INTERRUPT, 1000);
}

/* ---- GetCommState / SetCommState, SetupComm, GetCommProperties ------------------------------ */

static struct {
    kdpc_machine *m;
    uart u;
    int reached_end;
    NTSTATUS get[4], set[6], get_hf, queue, props, handshake, bad_limit;
    SERIAL_HANDFLOW hf;
    SERIAL_COMMPROP cp;
    SERIAL_CHARS chars;
    uint8_t mcr, lcr, dll;
} cs;

/* The IOCTLs Windows' SetCommState sends, in its order: the current state first (to restore it
 * on failure), then the new one. */
static void comm_state_scenario(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    PFILE_OBJECT f = NULL;
    SERIAL_BAUD_RATE b;
    SERIAL_LINE_CONTROL lc;
    SERIAL_CHARS ch;
    SERIAL_HANDFLOW hf;
    if (uart_plug(cs.m, &cs.u, "uart0", "serial", 0x2F8, 3, true) != KDPC_OK ||
        !NT_SUCCESS(kdpc_driver_load(cs.m, "serial", serial_entry_clean, &drv)) ||
        !NT_SUCCESS(
            kdpc_file_open(cs.m, "\\DosDevices\\COM1", FILE_READ_DATA | FILE_WRITE_DATA, &f)))
        return;
    cs.get[0] = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_BAUD_RATE, NULL, 0, &b, sizeof b, NULL);
    cs.get[1] = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_LINE_CONTROL, NULL, 0, &lc, sizeof lc, NULL);
    cs.get[2] = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_CHARS, NULL, 0, &ch, sizeof ch, NULL);
    cs.get[3] = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_HANDFLOW, NULL, 0, &hf, sizeof hf, NULL);
    b.BaudRate = 19200;
    lc.WordLength = 7;
    lc.Parity = EVEN_PARITY;
    lc.StopBits = STOP_BIT_1;
    ch.EofChar = 0x1A;
    hf.ControlHandShake = SERIAL_DTR_CONTROL; /* fDtrControl = DTR_CONTROL_ENABLE */
    hf.FlowReplace = SERIAL_XOFF_CONTINUE;    /* fRtsControl = RTS_CONTROL_DISABLE */
    hf.XonLimit = 2048;
    hf.XoffLimit = 512;
    cs.set[0] = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_BAUD_RATE, &b, sizeof b, NULL, 0, NULL);
    cs.set[1] = kdpc_file_ioctl(f, IOCTL_SERIAL_CLR_RTS, NULL, 0, NULL, 0, NULL);
    cs.set[2] = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_DTR, NULL, 0, NULL, 0, NULL);
    cs.set[3] = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_LINE_CONTROL, &lc, sizeof lc, NULL, 0, NULL);
    cs.set[4] = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_CHARS, &ch, sizeof ch, NULL, 0, NULL);
    cs.set[5] = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_HANDFLOW, &hf, sizeof hf, NULL, 0, NULL);
    cs.mcr = cs.u.mcr;
    cs.lcr = cs.u.lcr;
    cs.dll = cs.u.dll;
    cs.get_hf = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_HANDFLOW, NULL, 0, &cs.hf, sizeof cs.hf, NULL);
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_GET_CHARS, NULL, 0, &cs.chars, sizeof cs.chars, NULL);
    /* fOutxCtsFlow: RTS/CTS flow control is not implemented, so SetCommState must fail */
    hf.ControlHandShake |= SERIAL_CTS_HANDSHAKE;
    cs.handshake = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_HANDFLOW, &hf, sizeof hf, NULL, 0, NULL);
    hf.ControlHandShake = SERIAL_DTR_CONTROL;
    hf.XoffLimit = 100000;
    cs.bad_limit = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_HANDFLOW, &hf, sizeof hf, NULL, 0, NULL);
    SERIAL_QUEUE_SIZE q = {8192, 8192}; /* SetupComm */
    cs.queue = kdpc_file_ioctl(f, IOCTL_SERIAL_SET_QUEUE_SIZE, &q, sizeof q, NULL, 0, NULL);
    cs.props = kdpc_file_ioctl(f, IOCTL_SERIAL_GET_PROPERTIES, NULL, 0, &cs.cp, sizeof cs.cp, NULL);
    (void)kdpc_file_close(f);
    (void)kdpc_driver_unload(drv);
    cs.reached_end = 1;
}

static void test_comm_state(void **state)
{
    (void)state;
    memset(&cs, 0, sizeof cs);
    cs.m = serial_machine(2, 1);
    assert_int_equal(kdpc_machine_run(cs.m, comm_state_scenario, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(cs.m), 0);
    assert_int_equal(cs.reached_end, 1);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(cs.get[i], STATUS_SUCCESS);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(cs.set[i], STATUS_SUCCESS);
    assert_int_equal(cs.dll, 6);                                  /* 115200 / 19200 */
    assert_int_equal(cs.lcr, 0x02 | UART_LCR_PEN | UART_LCR_EPS); /* 7E1 */
    assert_int_equal(cs.mcr & (UART_MCR_DTR | UART_MCR_RTS), UART_MCR_DTR);
    assert_int_equal(cs.get_hf, STATUS_SUCCESS);
    assert_int_equal(cs.hf.ControlHandShake, SERIAL_DTR_CONTROL);
    assert_int_equal(cs.hf.FlowReplace, SERIAL_XOFF_CONTINUE);
    assert_int_equal(cs.hf.XonLimit, 2048);
    assert_int_equal(cs.chars.EofChar, 0x1A);
    assert_int_equal(cs.chars.XonChar, 0x11);
    assert_int_equal(cs.handshake, STATUS_NOT_SUPPORTED);
    assert_int_equal(cs.bad_limit, STATUS_INVALID_PARAMETER);
    assert_int_equal(cs.queue, STATUS_SUCCESS);
    assert_int_equal(cs.props, STATUS_SUCCESS);
    assert_int_equal(cs.cp.PacketLength, sizeof(SERIAL_COMMPROP));
    assert_true(cs.cp.SettableBaud & SERIAL_BAUD_115200);
    assert_true(cs.cp.SettableBaud & SERIAL_BAUD_9600);
    assert_int_equal(cs.cp.SettableData & SERIAL_DATABITS_8, SERIAL_DATABITS_8);
    assert_int_equal(cs.cp.CurrentRxQueue, 4096);
    kdpc_machine_destroy(cs.m);
}

/* ---- cancelling writes ------------------------------------------------------------------------ */

static struct {
    kdpc_machine *m;
    uart u;
    int reached_end;
    NTSTATUS call[2], done[2], after, after_read;
    ULONG_PTR done_info[2];
    BOOLEAN cancelled[2];
    ULONG_PTR after_info;
    char rx[4];
    NTSTATUS gap_read;
    ULONG_PTR gap_info;
    uint64_t gap_ns;
    char gap_rx[64];
} cw;

typedef struct async_write {
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    NTSTATUS call;
} async_write;

static void send_write(PFILE_OBJECT f, async_write *w, void *buf, ULONG len)
{
    LARGE_INTEGER zero = {0};
    KeInitializeEvent(&w->done, NotificationEvent, FALSE);
    w->irp = IoBuildSynchronousFsdRequest(IRP_MJ_WRITE, f->DeviceObject, buf, len, &zero, &w->done,
                                          &w->iosb);
    assert_non_null(w->irp);
    IoGetNextIrpStackLocation(w->irp)->FileObject = f;
    w->call = IoCallDriver(f->DeviceObject, w->irp);
}

/* A write in progress and one queued behind it, each cancelled (as CancelIo or a closing
 * terminal would): both complete with STATUS_CANCELLED, the UART stops sending the first, and
 * the port works afterwards. */
static void cancel_writes_scenario(void *ctx)
{
    (void)ctx;
    PDRIVER_OBJECT drv = NULL;
    PFILE_OBJECT f = NULL;
    static char data[2][200];
    async_write w[2];
    if (uart_plug(cw.m, &cw.u, "uart0", "serial", 0x2F8, 3, true) != KDPC_OK ||
        !NT_SUCCESS(kdpc_driver_load(cw.m, "serial", serial_entry_clean, &drv)) ||
        !NT_SUCCESS(
            kdpc_file_open(cw.m, "\\DosDevices\\COM1", FILE_READ_DATA | FILE_WRITE_DATA, &f)))
        return;
    /* 9600 baud: 200 bytes take about 200 ms on the line */
    send_write(f, &w[0], data[0], sizeof data[0]);
    send_write(f, &w[1], data[1], sizeof data[1]);
    sleep_ms(20);
    cw.cancelled[1] = IoCancelIrp(w[1].irp); /* the queued one */
    cw.cancelled[0] = IoCancelIrp(w[0].irp); /* the one on the line */
    for (size_t i = 0; i < 2; i++) {
        cw.call[i] = w[i].call;
        (void)KeWaitForSingleObject(&w[i].done, Executive, KernelMode, FALSE, NULL);
        cw.done[i] = w[i].iosb.Status;
        cw.done_info[i] = w[i].iosb.Information;
    }
    sleep_ms(30); /* what left the UART before the cancel comes back through the plug */
    (void)ioctl_ulong(f, IOCTL_SERIAL_PURGE, SERIAL_PURGE_RXCLEAR);
    SERIAL_TIMEOUTS tot = {0, 0, 100, 0, 0};
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_TIMEOUTS, &tot, sizeof tot, NULL, 0, NULL);
    cw.after = kdpc_file_write(f, "next", 4, 0, NULL);
    cw.after_read = kdpc_file_read(f, cw.rx, 4, 0, &cw.after_info);

    /* the interval timeout counts from the last byte: "ab", 6 ms of silence (less than the
     * 10 ms interval), "cd", then silence: the read ends about 10 ms after "cd" */
    SERIAL_BAUD_RATE b = {115200};
    SERIAL_TIMEOUTS iv = {10, 0, 0, 0, 0};
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    LARGE_INTEGER zero = {0};
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_BAUD_RATE, &b, sizeof b, NULL, 0, NULL);
    (void)kdpc_file_ioctl(f, IOCTL_SERIAL_SET_TIMEOUTS, &iv, sizeof iv, NULL, 0, NULL);
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    PIRP read = IoBuildSynchronousFsdRequest(IRP_MJ_READ, f->DeviceObject, cw.gap_rx,
                                             sizeof cw.gap_rx, &zero, &done, &iosb);
    assert_non_null(read);
    IoGetNextIrpStackLocation(read)->FileObject = f;
    (void)IoCallDriver(f->DeviceObject, read);
    (void)kdpc_file_write(f, "ab", 2, 0, NULL);
    sleep_ms(6);
    uint64_t t_cd = kdpc_machine_time_ns(cw.m);
    (void)kdpc_file_write(f, "cd", 2, 0, NULL);
    (void)KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    cw.gap_ns = kdpc_machine_time_ns(cw.m) - t_cd;
    cw.gap_read = iosb.Status;
    cw.gap_info = iosb.Information;
    (void)kdpc_file_close(f);
    (void)kdpc_driver_unload(drv);
    cw.reached_end = 1;
}

static void test_cancel_writes(void **state)
{
    (void)state;
    memset(&cw, 0, sizeof cw);
    cw.m = serial_machine(2, 3);
    assert_int_equal(kdpc_machine_run(cw.m, cancel_writes_scenario, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(cw.m), 0);
    assert_int_equal(cw.reached_end, 1);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(cw.call[i], STATUS_PENDING);
        assert_true(cw.cancelled[i]);
        assert_int_equal(cw.done[i], STATUS_CANCELLED);
    }
    /* the bytes handed to the UART before the cancel (16 at a time), as serial.sys reports */
    assert_true(cw.done_info[0] > 0 && cw.done_info[0] < 200);
    assert_int_equal(cw.done_info[1], 0);
    assert_true(cw.u.chars_received < 100); /* the first write stopped short */
    assert_int_equal(cw.after, STATUS_SUCCESS);
    assert_int_equal(cw.after_read, STATUS_SUCCESS);
    assert_int_equal(cw.after_info, 4);
    assert_memory_equal(cw.rx, "next", 4);
    assert_int_equal(cw.gap_read, STATUS_TIMEOUT);
    assert_int_equal(cw.gap_info, 4);
    assert_memory_equal(cw.gap_rx, "abcd", 4);
    /* 10 ms after "cd" reached the driver (a character timeout, 0.35 ms, after it arrived),
     * within the 1 ms clock tick; not 10 ms after the check that saw "cd" arrive */
    if (cw.gap_ns < 10000000ull || cw.gap_ns > 12500000ull)
        print_error("the read ended %llu ns after \"cd\"\n", (unsigned long long)cw.gap_ns);
    assert_true(cw.gap_ns >= 10000000ull && cw.gap_ns <= 12500000ull);
    assert_int_equal(cw.u.bad_accesses, 0);
    kdpc_machine_destroy(cw.m);
}

/* ---- the workload ---------------------------------------------------------------------------- */

static void test_light_clean(void **state)
{
    (void)state;
    kdpc_machine *m = serial_machine(2, 1);
    ex_result r;
    run(m, 2000, EX_LOAD_LIGHT, 0, NULL, &r);
    assert_clean(m, &r);
    assert_true(r.requests > 20);
    assert_int_equal(r.requests_failed, 0);
    assert_int_equal(r.faults, 0);
    assert_int_equal(r.errorlog, 0);
    assert_true(r.bytes > 0);
    assert_true(r.virtual_ns >= 2000000000ull);
    kdpc_machine_destroy(m);
}

static void test_heavy_clean(void **state)
{
    (void)state;
    kdpc_machine *m = serial_machine(2, 2);
    ex_result r;
    run(m, 300, EX_LOAD_HEAVY, 0, NULL, &r);
    assert_clean(m, &r);
    /* the line kept busy: 300 ms of 115200 8E1 carry 3.1 kB each way (6.3 kB counted, out and
     * back), less the cancelled second line and the 30 ms pause after it */
    assert_true(r.bytes > 3500);
    kdpc_machine_destroy(m);
}

/* Line errors and interrupt faults: the driver logs each error kind, reports it in
 * GET_COMMSTATUS (the workload counts those lines as failed requests), and loses nothing. */
static void test_faults(void **state)
{
    (void)state;
    kdpc_machine *m = serial_machine(2, 5);
    ex_result r;
    run(m, 1000, EX_LOAD_HEAVY, 20, NULL, &r);
    assert_clean(m, &r);
    assert_true(r.faults > 0);
    assert_true(r.requests_failed > 0);
    assert_true(r.errorlog > 0);
    bool kinds[3] = {false, false, false};
    for (size_t i = 0; i < kdpc_errorlog_count(m); i++) {
        const kdpc_errorlog_entry *e = kdpc_errorlog_entry_at(m, i);
        assert_non_null(e);
        /* ntiologc.h's generic codes; a framing error is the driver's own (facility 6) */
        if (e->ErrorCode == IO_ERR_OVERRUN_ERROR)
            kinds[0] = true;
        else if (e->ErrorCode == IO_ERR_PARITY)
            kinds[1] = true;
        else if (e->ErrorCode == (NTSTATUS)0xC0060003L)
            kinds[2] = true;
        else
            fail();
        assert_int_equal(e->DumpDataSize, sizeof(ULONG));
        assert_true(e->DumpData[0] >= 1);
    }
    assert_true(kinds[0]); /* overrun */
    assert_true(kinds[1]); /* parity (the workload runs 8E1) */
    assert_true(kinds[2]); /* framing */
    kdpc_machine_destroy(m);
}

/* ---- 50 seeds on 1, 2 and 4 CPUs ------------------------------------------------------------- */

static void test_sweep(void **state)
{
    (void)state;
    static const unsigned cpus[] = {1, 2, 4};
    for (size_t c = 0; c < 3; c++) {
        kdpc_machine *m = serial_machine(cpus[c], 1);
        for (uint64_t seed = 1; seed <= 50; seed++) {
            ex_result r;
            assert_int_equal(kdpc_machine_reset(m, seed), KDPC_OK);
            run(m, 250, seed % 2 ? EX_LOAD_LIGHT : EX_LOAD_HEAVY, seed % 3 == 0 ? 20 : 0, NULL, &r);
            if (!ex_clean(m, &r))
                print_error("cpus %u seed %llu\n", cpus[c], (unsigned long long)seed);
            assert_clean(m, &r);
            assert_true(r.requests > 0);
        }
        kdpc_machine_destroy(m);
    }
}

/* ---- broken variants --------------------------------------------------------------------------- */

static void test_broken_variants_caught(void **state)
{
    (void)state;
    assert_true(ex_serial.nvariants >= 2);
    for (size_t i = 0; i < ex_serial.nvariants; i++) {
        const ex_variant *v = &ex_serial.variants[i];
        assert_ptr_equal(ex_find_variant(&ex_serial, v->name), v);
        kdpc_machine *m = serial_machine(2, 11);
        ex_result r;
        run(m, 500, EX_LOAD_LIGHT, 0, v, &r);
        if (kdpc_machine_find_violation(m, v->rule) == NULL)
            print_error("%s: %s not reported (status %d)\n", v->name, v->rule, (int)r.status);
        assert_non_null(kdpc_machine_find_violation(m, v->rule));
        assert_int_equal(kdpc_machine_reset(m, 11), KDPC_OK);
        run(m, 500, EX_LOAD_LIGHT, 0, NULL, &r);
        assert_clean(m, &r);
        kdpc_machine_destroy(m);
    }
    assert_null(ex_find_variant(&ex_serial, "no-such-variant"));
}

/* ---- determinism --------------------------------------------------------------------------------- */

static void test_deterministic(void **state)
{
    (void)state;
    ex_result a, b;
    kdpc_machine *m = serial_machine(4, 42);
    run(m, 500, EX_LOAD_LIGHT, 30, NULL, &a);
    assert_int_equal(kdpc_machine_reset(m, 42), KDPC_OK);
    run(m, 500, EX_LOAD_LIGHT, 30, NULL, &b);
    ex_assert_same_numbers(&a, &b);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_request),
        cmocka_unit_test(test_lost_interrupts_recovered),
        cmocka_unit_test(test_late_and_spurious_interrupts),
        cmocka_unit_test(test_comm_state),
        cmocka_unit_test(test_cancel_writes),
        cmocka_unit_test(test_light_clean),
        cmocka_unit_test(test_heavy_clean),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_broken_variants_caught),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
