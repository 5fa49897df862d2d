/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the nic workload: programs sending and receiving test frames
 * (device/nxframe.h) through the NX-2 driver (driver/nic.c) on the virtual
 * NX-2 (device/nx2.c) with its loopback link partner.
 *
 * Threads (system threads of the run):
 * - senders: each owns one flow (flow k goes out on queue k % queues) and
 *   numbers its frames; light load sends one frame at a time after a random
 *   pause of 1-8 ms, heavy load keeps 16 sends in flight;
 * - one reader keeps receive requests pended (4 light, 64 heavy) and checks
 *   every frame that comes back: checksum, length, a known flow, and
 *   sequence numbers rising per flow (a gap is a frame dropped on the way,
 *   counted by the driver or the device; a repeat or a step back is a
 *   loss), and for a sender's flow never a number it did not send;
 * - a statistics reader (IOCTL_NIC_STATS every 5 ms, counters never fall).
 * Three quarters into the run the system sleeps (S3) and wakes: the driver, power policy
 * owner, takes the device to D3 and back to D0 under traffic.
 * The link partner sends traffic of its own (a trickle of 64-256-byte frames
 * every ~4 ms per queue at light load, and once a second per queue a burst of
 * 4096 frames at line rate, the first on queue 0 2 ms in; bursts of 4096
 * frames at line rate every 2 ms at heavy load) and pulls the cable once,
 * mid-run, for 3 ms.
 * At the end the books must balance: every frame the device completed in a
 * receive ring was handed to a receive request, dropped with a reason the
 * driver counts (bad FCS, DMA error, backlog full) or is still in the backlog;
 * the driver's sent and failed counts are the senders'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kdpc/registry.h>
#include <kdpc/stats.h>
#include <kdpc/verifier.h>

#include "nic_sim.h"
#include "device/nxframe.h"
#include "driver/nx2hw.h"

#define NIC_DEVICE_KEY                                                                             \
    "\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\Root\\nx2\\0000\\Device Parameters"
#define MAX_SENDERS 4
#define SEND_WINDOW 16
#define READ_WINDOW 64
#define MAX_FLOWS   (NXF_GEN_FLOW + NX2_QUEUES)
#define QUIET_MS    40 /* no frame for this long after the senders stopped: the end */

typedef struct nic_run nic_run;

typedef struct sender {
    nic_run *run;
    unsigned flow;
    uint64_t rng;
    uint32_t next_seq; /* frames numbered so far */
    uint64_t ok, failed, bytes;
    KEVENT done;
} sender;

typedef struct pend {
    PIRP irp;
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    NTSTATUS call;
    unsigned len;
    uint32_t seq;
    uint8_t buf[NX2_BUFFER];
} pend;

struct nic_run {
    kdpc_machine *m;
    const ex_options *o;
    ex_result *r;
    nx2 *hw;
    PDRIVER_OBJECT drv;
    PFILE_OBJECT file;
    bool heavy, stop;
    unsigned fault_kinds;
    unsigned queues, nsenders, senders_left;
    sender s[MAX_SENDERS];
    KEVENT quiet, reader_done, poller_done;
    int64_t last_seq[MAX_FLOWS];
    uint64_t rx_ok, rx_bytes, rx_cancelled, stats_reads, sends_failed;
    NIC_STATS stats;
    pend *sends; /* MAX_SENDERS * SEND_WINDOW */
    pend *reads; /* READ_WINDOW */
};

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void problem(nic_run *run, const char *what, unsigned long long a, unsigned long long b)
{
    run->r->lost++;
    if (run->r->problem[0] == '\0')
        (void)snprintf(run->r->problem, sizeof run->r->problem, "%s (%llu, %llu)", what, a, b);
}

static void sleep_ms(unsigned ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -10000LL * ms;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* Sends an IOCTL IRP without waiting; pend->ev is set at completion. */
static void post(nic_run *run, pend *p, ULONG code, PVOID in, ULONG inlen, PVOID out, ULONG outlen)
{
    KeInitializeEvent(&p->ev, NotificationEvent, FALSE);
    memset(&p->iosb, 0, sizeof p->iosb);
    p->irp = IoBuildDeviceIoControlRequest(code, run->file->DeviceObject, in, inlen, out, outlen,
                                           FALSE, &p->ev, &p->iosb);
    if (p->irp == NULL) {
        p->call = STATUS_INSUFFICIENT_RESOURCES;
        (void)KeSetEvent(&p->ev, IO_NO_INCREMENT, FALSE);
        return;
    }
    IoGetNextIrpStackLocation(p->irp)->FileObject = run->file;
    p->call = IoCallDriver(run->file->DeviceObject, p->irp);
}

/* Waits for @p (NULL timeout: for ever); its final status, or STATUS_TIMEOUT. */
static NTSTATUS wait_pend(pend *p, ULONG timeout_ms, ULONG_PTR *info)
{
    LARGE_INTEGER t;
    t.QuadPart = -10000LL * timeout_ms;
    if (KeWaitForSingleObject(&p->ev, Executive, KernelMode, FALSE, timeout_ms == 0 ? NULL : &t) !=
        STATUS_SUCCESS)
        return STATUS_TIMEOUT;
    NTSTATUS st = p->call == STATUS_PENDING ? p->iosb.Status : p->call;
    *info = (p->call == STATUS_PENDING || NT_SUCCESS(p->call)) ? p->iosb.Information : 0;
    return st;
}

/* ---- senders --------------------------------------------------------------------------------- */

static unsigned frame_len(sender *s)
{
    unsigned max = s->run->heavy ? 512u : NX2_MAX_FRAME;
    return NXF_MIN + (unsigned)(next_rand(&s->rng) % (max - NXF_MIN + 1));
}

static void send_done(sender *s, NTSTATUS st, ULONG_PTR info, unsigned len, uint32_t seq)
{
    nic_run *run = s->run;
    run->r->requests++;
    if (st == STATUS_SUCCESS && info == 0) {
        s->ok++;
        s->bytes += len;
    } else if (st == STATUS_ADAPTER_HARDWARE_ERROR) {
        s->failed++; /* an injected DMA fault: the frame was not sent */
        run->r->requests_failed++;
    } else {
        problem(run, "a send completed with a wrong status or length", seq,
                (unsigned long long)(uint32_t)st);
    }
}

static void sender_main(void *ctx)
{
    sender *s = ctx;
    nic_run *run = s->run;
    if (!run->heavy) {
        uint8_t *frame = run->sends[(s - run->s) * SEND_WINDOW].buf;
        while (!run->stop) {
            sleep_ms(1 + (unsigned)(next_rand(&s->rng) % 8));
            if (run->stop)
                break;
            unsigned len = frame_len(s);
            uint32_t seq = s->next_seq++;
            nxf_build(frame, len, s->flow, seq, nx2_mac());
            ULONG_PTR info = 0;
            NTSTATUS st = kdpc_file_ioctl(run->file, IOCTL_NIC_SEND, frame, len, NULL, 0, &info);
            send_done(s, st, info, len, seq);
        }
    } else {
        pend *w = &run->sends[(s - run->s) * SEND_WINDOW];
        unsigned posted = 0, head = 0;
        for (;;) {
            while (!run->stop && posted < SEND_WINDOW) {
                pend *p = &w[(head + posted) % SEND_WINDOW];
                p->len = frame_len(s);
                p->seq = s->next_seq++;
                nxf_build(p->buf, p->len, s->flow, p->seq, nx2_mac());
                post(run, p, IOCTL_NIC_SEND, p->buf, p->len, NULL, 0);
                posted++;
            }
            if (posted == 0)
                break;
            ULONG_PTR info = 0;
            pend *p = &w[head];
            NTSTATUS st = wait_pend(p, 0, &info);
            send_done(s, st, info, p->len, p->seq);
            head = (head + 1) % SEND_WINDOW;
            posted--;
        }
    }
    (void)KeSetEvent(&s->done, IO_NO_INCREMENT, FALSE);
}

/* ---- reader ---------------------------------------------------------------------------------- */

static void check_frame(nic_run *run, const uint8_t *f, size_t len)
{
    unsigned flow;
    uint32_t seq;
    if (!nxf_check(f, len, &flow, &seq)) {
        problem(run, "a received frame is damaged (checksum, length or payload)", len, 0);
        return;
    }
    bool gen = flow >= NXF_GEN_FLOW && flow < NXF_GEN_FLOW + run->queues;
    if (!gen && flow >= run->nsenders) {
        problem(run, "a received frame of an unknown flow", flow, seq);
        return;
    }
    if (!gen && seq >= run->s[flow].next_seq) {
        problem(run, "a received frame its sender never sent", flow, seq);
        return;
    }
    if ((int64_t)seq <= run->last_seq[flow]) {
        problem(run, "a frame received twice or out of order", flow, seq);
        return;
    }
    run->last_seq[flow] = seq;
    run->rx_ok++;
    run->rx_bytes += len;
}

static void reader_main(void *ctx)
{
    nic_run *run = ctx;
    unsigned window = run->heavy ? READ_WINDOW : 4, head = 0, posted = 0;
    bool quiet = false;
    for (;;) {
        while (!quiet && posted < window) {
            pend *p = &run->reads[(head + posted) % window];
            post(run, p, IOCTL_NIC_RECEIVE, NULL, 0, p->buf, sizeof p->buf);
            posted++;
        }
        if (posted == 0)
            break;
        pend *p = &run->reads[head];
        ULONG_PTR info = 0;
        bool ending = run->stop && run->senders_left == 0;
        NTSTATUS st = wait_pend(p, quiet ? 0 : ending ? QUIET_MS : 20, &info);
        if (st == STATUS_TIMEOUT) {
            if (ending) { /* nothing more will come: the main thread closes the file, whose
                             cleanup cancels the receives still pended */
                quiet = true;
                (void)KeSetEvent(&run->quiet, IO_NO_INCREMENT, FALSE);
            }
            continue;
        }
        run->r->requests++;
        if (st == STATUS_SUCCESS)
            check_frame(run, p->buf, info);
        else if (st == STATUS_CANCELLED && quiet)
            run->rx_cancelled++;
        else
            problem(run, "a receive completed with a wrong status", 0,
                    (unsigned long long)(uint32_t)st);
        head = (head + 1) % window;
        posted--;
    }
    (void)KeSetEvent(&run->quiet, IO_NO_INCREMENT, FALSE);
    (void)KeSetEvent(&run->reader_done, IO_NO_INCREMENT, FALSE);
}

/* ---- statistics ------------------------------------------------------------------------------ */

static NTSTATUS read_stats(nic_run *run, NIC_STATS *out)
{
    ULONG_PTR info = 0;
    NTSTATUS st = kdpc_file_ioctl(run->file, IOCTL_NIC_STATS, NULL, 0, out, sizeof *out, &info);
    run->r->requests++;
    run->stats_reads++;
    if (st != STATUS_SUCCESS || info != sizeof *out)
        problem(run, "IOCTL_NIC_STATS failed", info, (unsigned long long)(uint32_t)st);
    return st;
}

static void poller_main(void *ctx)
{
    nic_run *run = ctx;
    NIC_STATS prev, now;
    memset(&prev, 0, sizeof prev);
    while (!run->stop) {
        sleep_ms(run->heavy ? 5 : 25);
        if (read_stats(run, &now) != STATUS_SUCCESS)
            break;
        if (now.TxFrames < prev.TxFrames || now.RxFrames < prev.RxFrames ||
            now.DpcRuns < prev.DpcRuns || now.RxCrcErrors < prev.RxCrcErrors)
            problem(run, "a driver counter went down", prev.RxFrames, now.RxFrames);
        prev = now;
    }
    (void)KeSetEvent(&run->poller_done, IO_NO_INCREMENT, FALSE);
}

/* ---- the run --------------------------------------------------------------------------------- */

static bool start_thread(nic_run *run, KSTART_ROUTINE *fn, void *ctx, PKEVENT done)
{
    HANDLE h;
    NTSTATUS st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, fn, ctx);
    if (!NT_SUCCESS(st)) {
        problem(run, "PsCreateSystemThread failed", 0, (unsigned long long)(uint32_t)st);
        (void)KeSetEvent(done, IO_NO_INCREMENT, FALSE);
        return false;
    }
    (void)ZwClose(h);
    return true;
}

static void wait_event(PKEVENT e)
{
    (void)KeWaitForSingleObject(e, Executive, KernelMode, FALSE, NULL);
}

/* The books: every frame completed in a receive ring is accounted for. */
static void balance(nic_run *run)
{
    const nx2_counters *c = nx2_get_counters(run->hw);
    const NIC_STATS *s = &run->stats;
    uint64_t ok = 0, failed = 0;
    for (unsigned i = 0; i < run->nsenders; i++)
        ok += run->s[i].ok, failed += run->s[i].failed;
    if (s->TxFrames != ok || s->TxFrames != c->tx_frames)
        problem(run, "sent frames: driver and senders disagree", s->TxFrames, ok);
    if (s->TxErrors != failed || s->TxErrors != c->tx_errors)
        problem(run, "failed sends: driver and senders disagree", s->TxErrors, failed);
    if (s->RxFrames != run->rx_ok)
        problem(run, "received frames: driver and reader disagree", s->RxFrames, run->rx_ok);
    uint64_t accounted = s->RxFrames + s->RxCrcErrors + s->RxErrors + s->RxNoBuffer + s->Backlog;
    if (accounted != c->delivered)
        problem(run, "frames completed by the device are missing in the driver's books",
                c->delivered, accounted);
    if (s->RxCrcErrors != c->delivered_crc || s->RxErrors != c->delivered_err)
        problem(run, "receive errors: driver and device disagree", s->RxCrcErrors,
                c->delivered_crc);
    if (s->RxMissed != c->missed)
        problem(run, "missed frames: driver and device disagree", s->RxMissed, c->missed);
}

static void run_entry(void *ctx)
{
    nic_run *run = ctx;
    kdpc_machine *m = run->m;
    const ex_options *o = run->o;
    unsigned cpus = KeQueryActiveProcessorCount(NULL);

    nx2_params p;
    memset(&p, 0, sizeof p);
    p.queues = NX2_QUEUES;
    p.cpus = cpus;
    p.gen_for_ns = o->duration_ns;
    if (run->heavy) {
        p.burst_frames = 4096;
        p.burst_period_ns = 2000000;
        p.gen_max_len = 256;
    } else {
        /* a trickle, and now and then a download starting: one queue's burst of 4096 frames
         * at line rate (410 us), 2 ms in on queue 0, each queue once a second, a quarter of a
         * second apart */
        p.gen_gap_ns = 4000000;
        p.gen_max_len = 256;
        p.burst_frames = 4096;
        p.burst_period_ns = 1000000000;
        p.burst_at_ns = 2000000;
        p.burst_stagger_ns = 250000000;
    }
    p.link_down_at_ns = o->duration_ns / 2 > 0 ? o->duration_ns / 2 : 1;
    p.link_down_ns = 3000000;
    run->queues = p.queues;

    if (o->mode != NULL && strcmp(o->mode, "threaded") == 0 &&
        kdpc_registry_set_dword(m, NIC_DEVICE_KEY, "DpcMode", NIC_DPC_MODE_THREADED) != KDPC_OK) {
        problem(run, "the registry refused DpcMode", 0, 0);
        return;
    }
    if (nx2_plug(m, &p, &run->hw) != KDPC_OK) {
        problem(run, "plugging the NX-2 failed", 0, 0);
        return;
    }
    if (o->faults_permille > 0)
        for (unsigned k = 0; k < KDPC_FAULT_KINDS; k++)
            if (run->fault_kinds & (1u << k))
                (void)kdpc_device_set_fault(nx2_device(run->hw), (kdpc_fault_kind)k,
                                            o->faults_permille);
    PDRIVER_INITIALIZE entry = o->variant != NULL ? o->variant->entry : nic_entry_clean;
    NTSTATUS st = kdpc_driver_load(m, "nic", entry, &run->drv);
    if (!NT_SUCCESS(st) || kdpc_device_get_state(nx2_device(run->hw)) != KDPC_DEVICE_STARTED) {
        problem(run, "driver load or start failed", 0, (unsigned long long)(uint32_t)st);
        return;
    }
    st = kdpc_file_open(m, NIC_DOS_NAMEA, FILE_READ_DATA | FILE_WRITE_DATA, &run->file);
    if (!NT_SUCCESS(st)) {
        problem(run, "open failed", 0, (unsigned long long)(uint32_t)st);
        return;
    }

    KeInitializeEvent(&run->quiet, NotificationEvent, FALSE);
    KeInitializeEvent(&run->reader_done, NotificationEvent, FALSE);
    KeInitializeEvent(&run->poller_done, NotificationEvent, FALSE);
    run->nsenders = run->heavy ? 4 : 2;
    run->senders_left = run->nsenders;
    for (unsigned i = 0; i < MAX_FLOWS; i++)
        run->last_seq[i] = -1;
    for (unsigned i = 0; i < run->nsenders; i++) {
        sender *s = &run->s[i];
        s->run = run;
        s->flow = i;
        s->rng = (kdpc_machine_seed(m) + 7) * 0xD1B54A32D192ED03ull + i * 0x9E3779B97F4A7C15ull;
        s->rng |= 1;
        KeInitializeEvent(&s->done, NotificationEvent, FALSE);
        (void)start_thread(run, sender_main, s, &s->done);
    }
    (void)start_thread(run, reader_main, run, &run->reader_done);
    (void)start_thread(run, poller_main, run, &run->poller_done);

    /* three quarters in, the system sleeps (S3) and wakes: the driver powers the device down
     * and up under traffic */
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)(o->duration_ns * 3 / 4 / 100u) - 1;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    if ((st = kdpc_power_set_system(m, PowerSystemSleeping3)) != STATUS_SUCCESS ||
        (st = kdpc_power_set_system(m, PowerSystemWorking)) != STATUS_SUCCESS)
        problem(run, "a system sleep failed", 0, (unsigned long long)(uint32_t)st);
    t.QuadPart = -(LONGLONG)(o->duration_ns / 4 / 100u) - 1;
    (void)KeDelayExecutionThread(KernelMode, FALSE, &t);
    run->stop = true;
    for (unsigned i = 0; i < run->nsenders; i++) {
        wait_event(&run->s[i].done);
        run->senders_left--;
    }
    wait_event(&run->poller_done);
    wait_event(&run->quiet);
    if (read_stats(run, &run->stats) == STATUS_SUCCESS)
        balance(run);
    for (unsigned i = 0; i < run->nsenders; i++) {
        run->sends_failed += run->s[i].failed;
        run->r->bytes += run->s[i].bytes;
    }
    (void)kdpc_file_close(run->file); /* IRP_MJ_CLEANUP cancels the pended receives */
    run->file = NULL;
    wait_event(&run->reader_done);
    run->r->bytes += run->rx_bytes;
    st = kdpc_driver_unload(run->drv);
    if (!NT_SUCCESS(st))
        problem(run, "unload failed", 0, (unsigned long long)(uint32_t)st);
}

void nic_sim_run(kdpc_machine *m, const ex_options *o, unsigned fault_kinds, nic_sim_report *rep,
                 ex_result *r)
{
    memset(r, 0, sizeof *r);
    nic_run *run = calloc(1, sizeof *run);
    pend *sends = calloc(MAX_SENDERS * SEND_WINDOW, sizeof *sends);
    pend *reads = calloc(READ_WINDOW, sizeof *reads);
    if (run == NULL || sends == NULL || reads == NULL) {
        free(run), free(sends), free(reads);
        r->status = KDPC_ENOMEM;
        r->lost = 1;
        (void)snprintf(r->problem, sizeof r->problem, "out of host memory");
        return;
    }
    run->m = m;
    run->o = o;
    run->r = r;
    run->heavy = o->load == EX_LOAD_HEAVY;
    run->fault_kinds = fault_kinds;
    run->sends = sends;
    run->reads = reads;
    r->status = kdpc_machine_run(m, run_entry, run);
    r->virtual_ns = kdpc_machine_time_ns(m);
    r->errorlog = kdpc_errorlog_count(m);
    const nx2_counters *c = run->hw != NULL ? nx2_get_counters(run->hw) : NULL;
    uint64_t injected[KDPC_FAULT_KINDS] = {0};
    if (run->hw != NULL) {
        for (unsigned k = 0; k < KDPC_FAULT_KINDS; k++) {
            injected[k] = kdpc_device_faults_injected(nx2_device(run->hw), (kdpc_fault_kind)k);
            r->faults += injected[k];
        }
        if (c->bad_accesses != 0)
            problem(run, "the driver made a register access of a wrong width or offset",
                    c->bad_accesses, 0);
    }
    const NIC_STATS *s = &run->stats;
    (void)snprintf(r->notes, sizeof r->notes,
                   "sent %llu (%llu failed), received %llu, partner %llu, crc %llu, rx errors "
                   "%llu, missed %llu, no buffer %llu, DPC runs %llu (chained %llu), watchdog "
                   "kicks %llu, link down/up %lu/%lu, %s DPCs",
                   (unsigned long long)s->TxFrames, (unsigned long long)run->sends_failed,
                   (unsigned long long)run->rx_ok,
                   (unsigned long long)(c != NULL ? c->generated : 0),
                   (unsigned long long)s->RxCrcErrors, (unsigned long long)s->RxErrors,
                   (unsigned long long)s->RxMissed, (unsigned long long)s->RxNoBuffer,
                   (unsigned long long)s->DpcRuns, (unsigned long long)s->DpcChained,
                   (unsigned long long)s->WatchdogKicks, (unsigned long)s->LinkDowns,
                   (unsigned long)s->LinkUps, s->Threaded ? "threaded" : "ordinary");
    if (rep != NULL) {
        memset(rep, 0, sizeof *rep);
        rep->stats = run->stats;
        if (c != NULL)
            rep->device = *c;
        rep->rx_ok = run->rx_ok;
        rep->rx_cancelled = run->rx_cancelled;
        for (unsigned i = 0; i < run->nsenders; i++)
            rep->sends_ok += run->s[i].ok;
        rep->sends_failed = run->sends_failed;
        rep->stats_reads = run->stats_reads;
        memcpy(rep->injected, injected, sizeof rep->injected);
        for (size_t i = 0; i < kdpc_stats_routine_count(m); i++) {
            kdpc_routine_stats rs;
            if (kdpc_stats_routine(m, i, &rs) != KDPC_OK)
                continue;
            uint64_t *longest =
                rs.kind == KDPC_ROUTINE_DPC ? &rep->longest_dpc_ns : &rep->longest_isr_ns;
            if (rs.longest_ns > *longest)
                *longest = rs.longest_ns;
        }
    }
    if (run->hw != NULL)
        nx2_free(run->hw);
    free(sends);
    free(reads);
    free(run);
}

static void nic_run_example(kdpc_machine *m, const ex_options *o, ex_result *r)
{
    nic_sim_run(m, o, NIC_FAULTS_ALL, NULL, r);
}

/* A 1 ms clock tick (a system whose timer resolution a program raised, as multimedia and
 * network programs do): the receive chain timer's "due at once" and the 10 ms watchdog land
 * within a millisecond. */
static void nic_configure(kdpc_config *cfg)
{
    cfg->clock_tick_ns = 1000000;
}

static const ex_variant nic_variants[] = {
    {"wait-in-dpc", "G5", "dpc.wait",
     "the queue DPC waits 1 ms for the line to settle after a link change (KeDelayExecutionThread "
     "at DISPATCH_LEVEL) instead of queueing the link work item",
     nic_entry_wait_in_dpc},
    {"no-budget", "G8", "dpc.too_long",
     "the queue DPC takes every frame the receive ring holds, however many arrive meanwhile, "
     "instead of 64 and the chain timer",
     nic_entry_no_budget},
    {"lock-in-isr", "G4", "spinlock.acquire_irql",
     "the ISR counts interrupts under the driver's executive spin lock (KeAcquireSpinLock at "
     "DIRQL) instead of under the interrupt's own lock",
     nic_entry_lock_in_isr},
};

static const char *const nic_modes[] = {"threaded", NULL};

const ex_example ex_nic = {
    .name = "nic",
    .what = "multi-queue NIC: rings in common buffers, a message per queue on its own CPU, "
            "budgeted receive DPCs chained by a timer, watchdog, link work item",
    .variants = nic_variants,
    .nvariants = sizeof nic_variants / sizeof nic_variants[0],
    .modes = nic_modes,
    .configure = nic_configure,
    .run = nic_run_example,
};
