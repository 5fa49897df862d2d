/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the serial example's workload: a terminal program on COM1 with a
 * loopback plug on the connector (docs/examples/serial.md).
 *
 * Three simulated threads share the open port:
 * - the terminal: writes a line of random bytes, reads it back (buffered
 *   read with interval and total timeouts) and compares byte for byte, then
 *   asks IOCTL_SERIAL_GET_COMMSTATUS; every eighth line it changes the baud
 *   rate and reads back baud rate, line control and timeouts; on the
 *   second turn and every eighth after it, it gives up on a line instead (CancelIo): the line goes out as two
 *   writes, both cancelled at a random moment;
 * - the status bar: toggles DTR and RTS and checks IOCTL_SERIAL_GET_MODEMSTATUS
 *   against them (the plug wires DTR to DSR and DCD, RTS to CTS);
 * - the event watcher: IOCTL_SERIAL_WAIT_ON_MASK in a loop.
 * light: lines of 8..48 bytes with 20..180 ms of think time between them;
 * heavy: lines of 64..512 bytes back to back, the status bar every 10 ms.
 *
 * Verification of a line: the write completes with STATUS_SUCCESS and all
 * its bytes; the read returns exactly the line, and the GET_COMMSTATUS after
 * it reports no error. With faults, a read that returned fewer or other
 * bytes is a failed request (requests_failed) when that GET_COMMSTATUS
 * reports an overrun, parity or framing error - the driver told the program
 * - and lost otherwise. Every other request must succeed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ntddser.h>

#include "example.h"
#include "device/uart.h"

#define SIM_PORT    0x3F8
#define SIM_LINE    4
#define SIM_MAX_LEN 512u

NTSTATUS serial_entry_clean(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
NTSTATUS serial_entry_unsync_register(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
NTSTATUS serial_entry_modemstatus_in_dispatch(PDRIVER_OBJECT DriverObject,
                                              PUNICODE_STRING RegistryPath);
NTSTATUS serial_entry_status_size(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
NTSTATUS serial_entry_complete_in_isr(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

typedef struct sim {
    kdpc_machine *m;
    const ex_options *o;
    ex_result *r;
    uart u;
    PFILE_OBJECT f;
    uint64_t rng;
    uint64_t end_ns;
    bool stop;
    KEVENT term_done, status_done, events_done;
    /* counts */
    uint64_t lines, lines_failed, modem_checks, waits, baud_changes, cancels;
    ULONG events_seen;
    uint8_t tx[SIM_MAX_LEN], rx[SIM_MAX_LEN];
} sim;

static uint32_t sim_rand(sim *s)
{
    uint64_t x = s->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return (uint32_t)(x >> 32);
}

static uint32_t sim_between(sim *s, uint32_t lo, uint32_t hi)
{
    return lo + sim_rand(s) % (hi - lo + 1);
}

static void sim_problem(sim *s, const char *what, long long a, long long b)
{
    s->r->lost++;
    if (s->r->problem[0] == '\0')
        (void)snprintf(s->r->problem, sizeof s->r->problem, "%s (%lld, %lld) at %.3f ms", what, a,
                       b, (double)kdpc_machine_time_ns(s->m) / 1e6);
}

/* One request seen completed: counted, and checked when it must succeed. */
static NTSTATUS sim_must(sim *s, NTSTATUS st, const char *what)
{
    s->r->requests++;
    if (!NT_SUCCESS(st))
        sim_problem(s, what, st, 0);
    return st;
}

static void sim_sleep_ms(ULONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)ms * 10000;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static bool sim_over(const sim *s)
{
    return s->stop || kdpc_machine_time_ns(s->m) >= s->end_ns;
}

static NTSTATUS sim_ioctl_ulong(sim *s, ULONG code, ULONG value, const char *what)
{
    return sim_must(s, kdpc_file_ioctl(s->f, code, &value, sizeof value, NULL, 0, NULL), what);
}

/* ---- the terminal ---- */

static void sim_set_baud(sim *s, ULONG baud)
{
    SERIAL_BAUD_RATE b = {baud}, got = {0};
    (void)sim_must(s,
                   kdpc_file_ioctl(s->f, IOCTL_SERIAL_SET_BAUD_RATE, &b, sizeof b, NULL, 0, NULL),
                   "SET_BAUD_RATE");
    (void)sim_must(
        s, kdpc_file_ioctl(s->f, IOCTL_SERIAL_GET_BAUD_RATE, NULL, 0, &got, sizeof got, NULL),
        "GET_BAUD_RATE");
    if (got.BaudRate != baud)
        sim_problem(s, "GET_BAUD_RATE returned another rate", got.BaudRate, baud);
}

static void sim_check_settings(sim *s, const SERIAL_TIMEOUTS *want_to)
{
    SERIAL_LINE_CONTROL lc;
    SERIAL_TIMEOUTS to;
    memset(&lc, 0, sizeof lc);
    memset(&to, 0, sizeof to);
    (void)sim_must(
        s, kdpc_file_ioctl(s->f, IOCTL_SERIAL_GET_LINE_CONTROL, NULL, 0, &lc, sizeof lc, NULL),
        "GET_LINE_CONTROL");
    if (lc.WordLength != 8 || lc.Parity != EVEN_PARITY || lc.StopBits != STOP_BIT_1)
        sim_problem(s, "GET_LINE_CONTROL is not 8E1", lc.WordLength, lc.Parity);
    (void)sim_must(s,
                   kdpc_file_ioctl(s->f, IOCTL_SERIAL_GET_TIMEOUTS, NULL, 0, &to, sizeof to, NULL),
                   "GET_TIMEOUTS");
    if (memcmp(&to, want_to, sizeof to) != 0)
        sim_problem(s, "GET_TIMEOUTS differs from SET_TIMEOUTS", to.ReadIntervalTimeout,
                    want_to->ReadIntervalTimeout);
}

/* Resynchronise as a terminal does after a bad or abandoned line: let the line go quiet, empty
 * the input, and clear the errors it brought (GET_COMMSTATUS). */
static void sim_resync(sim *s)
{
    SERIAL_STATUS cs;
    sim_sleep_ms(30);
    (void)sim_ioctl_ulong(s, IOCTL_SERIAL_PURGE, SERIAL_PURGE_RXCLEAR, "PURGE");
    memset(&cs, 0, sizeof cs);
    (void)sim_must(
        s, kdpc_file_ioctl(s->f, IOCTL_SERIAL_GET_COMMSTATUS, NULL, 0, &cs, sizeof cs, NULL),
        "GET_COMMSTATUS");
}

/* One line out and back. */
static void sim_exchange(sim *s, ULONG len)
{
    ULONG_PTR wrote = 0, got = 0;
    SERIAL_STATUS cs;
    NTSTATUS wst, rst, cst;
    for (ULONG i = 0; i < len; i++)
        s->tx[i] = (uint8_t)sim_rand(s);
    memset(s->rx, 0, len);
    wst = kdpc_file_write(s->f, s->tx, len, 0, &wrote);
    s->r->requests++;
    if (wst != STATUS_SUCCESS || wrote != len)
        sim_problem(s, "write did not complete with all its bytes", wst, (long long)wrote);
    else
        s->r->bytes += len;
    rst = kdpc_file_read(s->f, s->rx, len, 0, &got);
    s->r->requests++;
    memset(&cs, 0, sizeof cs);
    cst = sim_must(
        s, kdpc_file_ioctl(s->f, IOCTL_SERIAL_GET_COMMSTATUS, NULL, 0, &cs, sizeof cs, NULL),
        "GET_COMMSTATUS");
    s->lines++;
    if (got > len) {
        sim_problem(s, "read returned more than asked", (long long)got, len);
        return;
    }
    s->r->bytes += got;
    if (rst == STATUS_SUCCESS && got == len && memcmp(s->rx, s->tx, len) == 0) {
        if (NT_SUCCESS(cst) && (cs.Errors != 0 || cs.AmountInInQueue != 0))
            sim_problem(s, "clean line but GET_COMMSTATUS reports errors/bytes", cs.Errors,
                        cs.AmountInInQueue);
        return;
    }
    s->lines_failed++;
    if (NT_SUCCESS(cst) &&
        (cs.Errors & (SERIAL_ERROR_OVERRUN | SERIAL_ERROR_PARITY | SERIAL_ERROR_FRAMING))) {
        s->r->requests_failed++; /* the driver reported it: the program knows the line is bad */
    } else {
        sim_problem(s, "read returned other bytes and no error was reported", rst, (long long)got);
    }
    sim_resync(s);
}

/* A write the terminal gives up on. The IRP is the program's own (completion routine, then
 * IoFreeIrp), so it can be cancelled whether or not the driver has finished it. */
typedef struct sim_write {
    KEVENT done;
    IO_STATUS_BLOCK iosb;
    PIRP irp;
} sim_write;

static NTSTATUS sim_write_done(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    sim_write *w = Context;
    (void)DeviceObject;
    w->iosb = Irp->IoStatus;
    KeSetEvent(&w->done, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Half a line each, so the cancel finds the second one queued, on the line or done. Each write
 * ends cancelled with at most its bytes handed to the UART, or done with all of them. */
static void sim_cancelled_line(sim *s, ULONG len)
{
    sim_write w[2];
    LARGE_INTEGER zero = {0};
    ULONG half[2] = {len / 2, len - len / 2};
    for (ULONG i = 0; i < len; i++)
        s->tx[i] = (uint8_t)sim_rand(s);
    for (int i = 0; i < 2; i++) {
        KeInitializeEvent(&w[i].done, NotificationEvent, FALSE);
        w[i].irp =
            IoBuildAsynchronousFsdRequest(IRP_MJ_WRITE, s->f->DeviceObject,
                                          s->tx + (i ? half[0] : 0), half[i], &zero, &w[i].iosb);
        if (w[i].irp == NULL) {
            sim_problem(s, "IoBuildAsynchronousFsdRequest failed", i, 0);
            for (int j = 0; j < i; j++) /* its write finishes by itself */
                (void)KeWaitForSingleObject(&w[j].done, Executive, KernelMode, FALSE, NULL);
            for (int j = 0; j < i; j++)
                IoFreeIrp(w[j].irp);
            return;
        }
        IoGetNextIrpStackLocation(w[i].irp)->FileObject = s->f;
        IoSetCompletionRoutine(w[i].irp, sim_write_done, &w[i], TRUE, TRUE, TRUE);
        (void)IoCallDriver(s->f->DeviceObject, w[i].irp);
    }
    /* 0 .. about the time the whole line takes at 115200 baud */
    sim_sleep_ms(sim_between(s, 0, len / 10));
    (void)IoCancelIrp(w[1].irp);
    (void)IoCancelIrp(w[0].irp);
    for (int i = 0; i < 2; i++) {
        (void)KeWaitForSingleObject(&w[i].done, Executive, KernelMode, FALSE, NULL);
        IoFreeIrp(w[i].irp);
        s->r->requests++;
        if (w[i].iosb.Status == STATUS_SUCCESS && w[i].iosb.Information == half[i])
            s->r->bytes += half[i];
        else if (w[i].iosb.Status != STATUS_CANCELLED || w[i].iosb.Information > half[i])
            sim_problem(s, "a cancelled write ended neither cancelled nor done", w[i].iosb.Status,
                        (long long)w[i].iosb.Information);
    }
    s->cancels++;
    sim_resync(s); /* what left before the cancel comes back through the plug */
}

static VOID sim_terminal(PVOID ctx)
{
    sim *s = ctx;
    static const ULONG bauds[] = {115200, 57600, 38400};
    bool heavy = s->o->load == EX_LOAD_HEAVY;
    SERIAL_TIMEOUTS to = {20, 1, 50, 0, 0}; /* interval 20 ms; total 1 ms a byte + 50 ms */
    (void)sim_must(s,
                   kdpc_file_ioctl(s->f, IOCTL_SERIAL_SET_TIMEOUTS, &to, sizeof to, NULL, 0, NULL),
                   "SET_TIMEOUTS");
    while (!sim_over(s)) {
        ULONG len = heavy ? sim_between(s, 64, SIM_MAX_LEN) : sim_between(s, 8, 48);
        if ((s->lines + s->cancels) % 8 == 1) {
            sim_cancelled_line(s, len);
            continue;
        }
        sim_exchange(s, len);
        if (s->lines % 8 == 0) {
            sim_set_baud(s, bauds[(s->lines / 8) % 3]);
            sim_check_settings(s, &to);
            s->baud_changes++;
        }
        if (!heavy)
            sim_sleep_ms(sim_between(s, 20, 180));
    }
    KeSetEvent(&s->term_done, IO_NO_INCREMENT, FALSE);
    (void)PsTerminateSystemThread(STATUS_SUCCESS);
}

/* ---- the status bar ---- */

static VOID sim_status_bar(PVOID ctx)
{
    sim *s = ctx;
    bool heavy = s->o->load == EX_LOAD_HEAVY;
    unsigned round = 0;
    while (!sim_over(s)) {
        bool dtr = (round & 1) != 0, rts = (round & 2) != 0;
        ULONG modem = 0, dtrrts = 0;
        round++;
        (void)sim_must(s,
                       kdpc_file_ioctl(s->f, dtr ? IOCTL_SERIAL_SET_DTR : IOCTL_SERIAL_CLR_DTR,
                                       NULL, 0, NULL, 0, NULL),
                       "SET/CLR_DTR");
        (void)sim_must(s,
                       kdpc_file_ioctl(s->f, rts ? IOCTL_SERIAL_SET_RTS : IOCTL_SERIAL_CLR_RTS,
                                       NULL, 0, NULL, 0, NULL),
                       "SET/CLR_RTS");
        if (NT_SUCCESS(sim_must(s,
                                kdpc_file_ioctl(s->f, IOCTL_SERIAL_GET_MODEMSTATUS, NULL, 0, &modem,
                                                sizeof modem, NULL),
                                "GET_MODEMSTATUS"))) {
            ULONG want =
                (dtr ? SERIAL_DSR_STATE | SERIAL_DCD_STATE : 0) | (rts ? SERIAL_CTS_STATE : 0);
            if (modem != want)
                sim_problem(s, "GET_MODEMSTATUS does not follow DTR/RTS", (long long)modem, want);
        }
        if (NT_SUCCESS(sim_must(s,
                                kdpc_file_ioctl(s->f, IOCTL_SERIAL_GET_DTRRTS, NULL, 0, &dtrrts,
                                                sizeof dtrrts, NULL),
                                "GET_DTRRTS")) &&
            dtrrts != ((dtr ? SERIAL_DTR_STATE : 0) | (rts ? SERIAL_RTS_STATE : 0)))
            sim_problem(s, "GET_DTRRTS differs", (long long)dtrrts, round);
        s->modem_checks++;
        sim_sleep_ms(heavy ? 10 : sim_between(s, 100, 300));
    }
    KeSetEvent(&s->status_done, IO_NO_INCREMENT, FALSE);
    (void)PsTerminateSystemThread(STATUS_SUCCESS);
}

/* ---- the event watcher ---- */

static VOID sim_events(PVOID ctx)
{
    sim *s = ctx;
    for (;;) {
        ULONG mask = 0;
        ULONG_PTR info = 0;
        NTSTATUS st =
            kdpc_file_ioctl(s->f, IOCTL_SERIAL_WAIT_ON_MASK, NULL, 0, &mask, sizeof mask, &info);
        s->r->requests++;
        s->waits++;
        if (!NT_SUCCESS(st)) {
            sim_problem(s, "WAIT_ON_MASK failed", st, 0);
            break;
        }
        if (info != sizeof mask)
            sim_problem(s, "WAIT_ON_MASK returned a wrong size", (long long)info, sizeof mask);
        if (mask == 0) /* the wait mask was changed: the program is closing */
            break;
        s->events_seen |= mask;
    }
    KeSetEvent(&s->events_done, IO_NO_INCREMENT, FALSE);
    (void)PsTerminateSystemThread(STATUS_SUCCESS);
}

/* ---- the run ---- */

static void sim_start(sim *s, PKSTART_ROUTINE fn)
{
    HANDLE h;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, fn, s)))
        (void)ZwClose(h);
    else
        sim_problem(s, "PsCreateSystemThread failed", 0, 0);
}

static void sim_wait(PKEVENT e)
{
    (void)KeWaitForSingleObject(e, Executive, KernelMode, FALSE, NULL);
}

static void sim_entry(void *ctx)
{
    sim *s = ctx;
    PDRIVER_OBJECT drv = NULL;
    SERIAL_LINE_CONTROL lc = {STOP_BIT_1, EVEN_PARITY, 8};
    NTSTATUS st;

    if (uart_plug(s->m, &s->u, "uart0", "serial", SIM_PORT, SIM_LINE, true) != KDPC_OK) {
        sim_problem(s, "the UART could not be plugged", 0, 0);
        return;
    }
    uart_set_faults(&s->u, s->o->faults_permille);
    st = kdpc_driver_load(s->m, "serial",
                          s->o->variant != NULL ? s->o->variant->entry : serial_entry_clean, &drv);
    if (!NT_SUCCESS(st) || kdpc_device_get_state(s->u.dev) != KDPC_DEVICE_STARTED) {
        sim_problem(s, "the driver did not start", st, kdpc_device_get_state(s->u.dev));
        return;
    }
    st = kdpc_file_open(s->m, "\\DosDevices\\COM1", FILE_READ_DATA | FILE_WRITE_DATA, &s->f);
    if (!NT_SUCCESS(st)) {
        sim_problem(s, "COM1 did not open", st, 0);
        (void)kdpc_driver_unload(drv);
        return;
    }
    s->end_ns = kdpc_machine_time_ns(s->m) + s->o->duration_ns;
    sim_set_baud(s, 115200);
    (void)sim_must(
        s, kdpc_file_ioctl(s->f, IOCTL_SERIAL_SET_LINE_CONTROL, &lc, sizeof lc, NULL, 0, NULL),
        "SET_LINE_CONTROL");
    (void)sim_ioctl_ulong(s, IOCTL_SERIAL_SET_WAIT_MASK,
                          SERIAL_EV_TXEMPTY | SERIAL_EV_ERR | SERIAL_EV_DSR | SERIAL_EV_CTS |
                              SERIAL_EV_RLSD,
                          "SET_WAIT_MASK");
    KeInitializeEvent(&s->term_done, NotificationEvent, FALSE);
    KeInitializeEvent(&s->status_done, NotificationEvent, FALSE);
    KeInitializeEvent(&s->events_done, NotificationEvent, FALSE);
    sim_start(s, sim_events);
    sim_start(s, sim_status_bar);
    sim_start(s, sim_terminal);
    sim_wait(&s->term_done);
    s->stop = true;
    sim_wait(&s->status_done);
    /* a new wait mask completes the pending wait with 0: the watcher ends */
    (void)sim_ioctl_ulong(s, IOCTL_SERIAL_SET_WAIT_MASK, 0, "SET_WAIT_MASK");
    sim_wait(&s->events_done);
    if (s->lines > 0 && !(s->events_seen & SERIAL_EV_TXEMPTY))
        sim_problem(s, "no SERIAL_EV_TXEMPTY event", s->events_seen, 0);
    if (s->modem_checks > 1 && !(s->events_seen & (SERIAL_EV_DSR | SERIAL_EV_CTS)))
        sim_problem(s, "no modem status event", s->events_seen, 0);
    (void)kdpc_file_close(s->f);
    st = kdpc_driver_unload(drv);
    if (!NT_SUCCESS(st))
        sim_problem(s, "the driver did not unload", st, 0);
}

static void serial_configure(kdpc_config *cfg)
{
    cfg->clock_tick_ns = 1000000; /* 1 ms: read timeouts and the poll are milliseconds */
}

static void serial_run(kdpc_machine *m, const ex_options *o, ex_result *r)
{
    sim *s = calloc(1, sizeof *s);
    memset(r, 0, sizeof *r);
    if (s == NULL) {
        r->status = KDPC_ENOMEM;
        r->lost = 1;
        (void)snprintf(r->problem, sizeof r->problem, "out of host memory");
        return;
    }
    s->m = m;
    s->o = o;
    s->r = r;
    s->rng = kdpc_machine_seed(m) * 0x9E3779B97F4A7C15ull + 0x5E71A1ull;
    if (s->rng == 0)
        s->rng = 1;
    r->status = kdpc_machine_run(m, sim_entry, s);
    r->virtual_ns = kdpc_machine_time_ns(m);
    if (s->u.dev != NULL)
        r->faults = uart_faults(&s->u);
    r->errorlog = kdpc_errorlog_count(m);
    (void)snprintf(
        r->notes, sizeof r->notes,
        "lines %llu (%llu failed), cancelled %llu, waits %llu, modem checks %llu, "
        "baud changes %llu; "
        "uart: %llu chars in %llu events, %llu overruns, %llu parity, %llu framing errors",
        (unsigned long long)s->lines, (unsigned long long)s->lines_failed,
        (unsigned long long)s->cancels, (unsigned long long)s->waits,
        (unsigned long long)s->modem_checks, (unsigned long long)s->baud_changes,
        (unsigned long long)s->u.chars_received, (unsigned long long)s->u.events,
        (unsigned long long)s->u.overruns, (unsigned long long)s->u.parity_errors,
        (unsigned long long)s->u.framing_errors);
    free(s);
}

static const ex_variant serial_variants[] = {
    {"unsync-register", "G1", "sync.isr_unsynchronized",
     "the DpcForIsr reads LSR without KeSynchronizeExecution", serial_entry_unsync_register},
    {"modemstatus-in-dispatch", "G15", "sync.isr_unsynchronized",
     "IOCTL_SERIAL_GET_MODEMSTATUS reads MSR in the dispatch routine, not through the DPC",
     serial_entry_modemstatus_in_dispatch},
    {"status-size", "G16", "io.buffer_overrun",
     "GET_MODEMSTATUS completes with Information = sizeof(SERIAL_STATUS) for a ULONG buffer",
     serial_entry_status_size},
    {"complete-in-isr", "G6", "io.complete_irql",
     "the ISR completes the write IRP at DIRQL instead of leaving it to the DPC",
     serial_entry_complete_in_isr},
};

const ex_example ex_serial = {
    "serial",
    "16550 UART with a loopback plug: a terminal program writes lines and reads them back",
    serial_variants,
    sizeof serial_variants / sizeof serial_variants[0],
    NULL,
    serial_configure,
    serial_run,
};
