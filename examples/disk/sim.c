/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the disk example's workload (example.h): plug a VDC-2 controller,
 * load the vdisk driver through PnP, and drive its two units (\DosDevices\
 * VDisk0 and VDisk1) from several system threads for o->duration_ns of
 * virtual time; then check every byte against the device's backing images,
 * close, remove the controller (orderly: the driver must accept it now that
 * the units are closed), unload.
 *
 * Each worker thread owns one region of one unit, so what it wrote is what
 * it must read back: it keeps a shadow copy of its region, compares every
 * successful write with the device's image (memcmp) and every successful
 * read with the shadow, and at the end each unit's whole image must equal
 * the shadow (a write that landed elsewhere shows there). A request that
 * fails (only with faults on: STATUS_DEVICE_DATA_ERROR after the retries,
 * STATUS_IO_TIMEOUT) counts in requests_failed; after a failed write the
 * shadow takes the image's bytes (the hardware is the truth). Anything else
 * counts as lost.
 *
 *   heavy: two workers per unit, 1 MiB requests (a write, then a read of it
 *          back), back to back: the controller always has work queued.
 *   light: one worker per unit, 512 B .. 64 KiB reads and writes with 2 to
 *          20 ms of idle time between them (virtual time jumps over it).
 * Buffers start at a random sector boundary inside a page, so MapTransfer's
 * pieces are not page aligned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kdpc/device.h>
#include <kdpc/driver.h>
#include <kdpc/verifier.h>

#include "device/vdc_dev.h"
#include "disk_sim.h"
#include "driver/vdisk.h"
#include "example.h"

DRIVER_INITIALIZE disk_entry_clean;
DRIVER_INITIALIZE disk_entry_no_flush;
DRIVER_INITIALIZE disk_entry_no_split;
DRIVER_INITIALIZE disk_entry_complete_holding_adapter;
DRIVER_INITIALIZE disk_entry_complete_holding_controller;
DRIVER_INITIALIZE disk_entry_watchdog_left_set;

#define HEAVY_LEN     (1024u * 1024u)
#define LIGHT_MAX     (64u * 1024u)
#define MAX_WORKERS   4u
#define DISK_LINE     9u
#define PATTERN_BYTES (2u * 1024u * 1024u)

typedef struct disk_run disk_run;

typedef struct worker {
    disk_run *run;
    unsigned unit;
    uint64_t lo, len; /* its region of the unit, bytes */
    uint64_t rng;
    uint8_t *mem, *buf; /* buf: mem + a sector offset inside the first page */
    KEVENT done;
} worker;

struct disk_run {
    kdpc_machine *m;
    const ex_options *o;
    unsigned fault_kinds; /* the kinds injected; 0 when o->faults_permille is 0 */
    ex_result *r;
    disk_sim_report rep;
    vdc_dev hw;
    PDRIVER_OBJECT drv;
    PFILE_OBJECT file[VDC_UNITS];
    uint8_t *shadow[VDC_UNITS];
    uint8_t *pattern;
    worker w[MAX_WORKERS];
    unsigned nworkers;
    uint64_t end_ns, serial;
    uint64_t surprise_ns; /* 0, or when (after the workers start) the controller is pulled */
    bool unplugged;       /* it was: requests may fail, and the workers stop */
};

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void problem(disk_run *run, const char *what, unsigned unit, uint64_t off, uint64_t len,
                    long status)
{
    run->r->lost++;
    if (run->r->problem[0] == '\0')
        (void)snprintf(run->r->problem, sizeof run->r->problem,
                       "%s (unit %u, offset %llu, %llu bytes, status 0x%08lx)", what, unit,
                       (unsigned long long)off, (unsigned long long)len, (unsigned long)status);
}

/* The statuses a request may fail with when the device misbehaves, or is pulled out: in flight
 * or queued then (STATUS_NO_SUCH_DEVICE), or sent once the removal has begun
 * (STATUS_DELETE_PENDING: the unit's remove lock; STATUS_NO_SUCH_DEVICE: the unit is gone). */
static bool expected_failure(const disk_run *run, NTSTATUS st)
{
    if (run->unplugged && (st == STATUS_NO_SUCH_DEVICE || st == STATUS_DELETE_PENDING))
        return true;
    return run->fault_kinds != 0 && (st == STATUS_DEVICE_DATA_ERROR || st == STATUS_IO_TIMEOUT);
}

static void do_write(worker *w, uint64_t off, ULONG len)
{
    disk_run *run = w->run;
    uint8_t *image = run->hw.image[w->unit] + off;
    /* the data: a slice of the pattern, each sector stamped with the request and sector */
    memcpy(w->buf, run->pattern + (next_rand(&w->rng) % (PATTERN_BYTES - len)), len);
    uint64_t serial = ++run->serial;
    for (ULONG s = 0; s < len; s += VDC_SECTOR) {
        uint64_t stamp = (serial << 24) ^ ((off + s) / VDC_SECTOR);
        memcpy(w->buf + s, &stamp, sizeof stamp);
    }
    ULONG_PTR info = 0;
    NTSTATUS st = kdpc_file_write(run->file[w->unit], w->buf, len, (LONGLONG)off, &info);
    run->r->requests++;
    run->rep.writes++;
    if (NT_SUCCESS(st)) {
        if (st != STATUS_SUCCESS || info != len)
            problem(run, "write: wrong status or length", w->unit, off, len, st);
        else if (memcmp(image, w->buf, len) != 0)
            problem(run, "write: the device image differs from the data written", w->unit, off, len,
                    st);
        run->r->bytes += len;
        memcpy(run->shadow[w->unit] + off, w->buf, len);
    } else {
        run->r->requests_failed++;
        if (!expected_failure(run, st))
            problem(run, "write failed", w->unit, off, len, st);
        memcpy(run->shadow[w->unit] + off, image, len); /* what the media holds now */
    }
}

static void do_read(worker *w, uint64_t off, ULONG len)
{
    disk_run *run = w->run;
    memset(w->buf, 0xA5, len); /* whatever the read leaves unwritten shows */
    ULONG_PTR info = 0;
    NTSTATUS st = kdpc_file_read(run->file[w->unit], w->buf, len, (LONGLONG)off, &info);
    run->r->requests++;
    run->rep.reads++;
    if (NT_SUCCESS(st)) {
        if (st != STATUS_SUCCESS || info != len)
            problem(run, "read: wrong status or length", w->unit, off, len, st);
        else if (memcmp(w->buf, run->shadow[w->unit] + off, len) != 0)
            problem(run, "read: the data differs from what was written there", w->unit, off, len,
                    st);
        run->r->bytes += len;
    } else {
        run->r->requests_failed++;
        if (!expected_failure(run, st))
            problem(run, "read failed", w->unit, off, len, st);
    }
}

static void worker_main(PVOID ctx)
{
    worker *w = ctx;
    disk_run *run = w->run;
    bool heavy = run->o->load == EX_LOAD_HEAVY;
    bool first = true;
    while (kdpc_machine_time_ns(run->m) < run->end_ns && run->r->lost == 0 && !run->unplugged) {
        w->buf = w->mem + (next_rand(&w->rng) % (PAGE_SIZE / VDC_SECTOR)) * VDC_SECTOR;
        ULONG len = heavy
                        ? HEAVY_LEN
                        : (ULONG)(1u + next_rand(&w->rng) % (LIGHT_MAX / VDC_SECTOR)) * VDC_SECTOR;
        if (!heavy && first) {
            /* the largest light request, one sector into a page: 17 pages, one more than the
             * map registers, so every light run has a request that must be split */
            w->buf = w->mem + VDC_SECTOR;
            len = LIGHT_MAX;
        }
        first = false;
        uint64_t slots = (w->len - len) / VDC_SECTOR + 1;
        uint64_t off = w->lo + (next_rand(&w->rng) % slots) * VDC_SECTOR;
        if (heavy) {
            do_write(w, off, len);
            do_read(w, off, len);
            continue;
        }
        if (next_rand(&w->rng) & 1)
            do_write(w, off, len);
        else
            do_read(w, off, len);
        LARGE_INTEGER gap;
        gap.QuadPart = -(LONGLONG)(2 + next_rand(&w->rng) % 19) * 10000; /* 2..20 ms */
        (void)KeDelayExecutionThread(KernelMode, FALSE, &gap);
    }
    (void)KeSetEvent(&w->done, IO_NO_INCREMENT, FALSE);
}

typedef struct check {
    const char *what;
    NTSTATUS st, want;
} check;

/* The requests a program gets wrong, the disk controls, the driver's own: each answer checked. */
static void check_bad_requests(disk_run *run)
{
    PFILE_OBJECT f = run->file[0];
    uint8_t small[VDC_SECTOR * 2];
    VDISK_INFO info;
    DISK_GEOMETRY geo;
    GET_LENGTH_INFORMATION len;
    ULONG_PTR got = 0, got_geo = 0, got_len = 0;
    check c[11];
    unsigned n = 0;
    c[n++] = (check){"read of part of a sector", kdpc_file_read(f, small, 100, 0, NULL),
                     STATUS_INVALID_PARAMETER};
    c[n++] = (check){"read at an offset inside a sector",
                     kdpc_file_read(f, small, VDC_SECTOR, 7, NULL), STATUS_INVALID_PARAMETER};
    c[n++] = (check){"write past the end",
                     kdpc_file_write(f, small, sizeof small,
                                     (LONGLONG)(DISK_SIM_SECTORS - 1) * VDC_SECTOR, NULL),
                     STATUS_INVALID_PARAMETER};
    c[n++] = (check){"read of nothing", kdpc_file_read(f, small, 0, 0, NULL), STATUS_SUCCESS};
    c[n++] = (check){"read into a buffer that is not sector aligned",
                     kdpc_file_read(f, small + 1, VDC_SECTOR, 0, NULL), STATUS_INVALID_PARAMETER};
    c[n++] = (check){"info into a small buffer",
                     kdpc_file_ioctl(f, IOCTL_VDISK_GET_INFO, NULL, 0, &info, 8, NULL),
                     STATUS_BUFFER_TOO_SMALL};
    c[n++] = (check){"an unknown control",
                     kdpc_file_ioctl(f, IOCTL_VDISK_GET_INFO + 4, NULL, 0, NULL, 0, NULL),
                     STATUS_INVALID_DEVICE_REQUEST};
    c[n++] =
        (check){"info", kdpc_file_ioctl(f, IOCTL_VDISK_GET_INFO, NULL, 0, &info, sizeof info, &got),
                STATUS_SUCCESS};
    c[n++] = (check){"geometry into a small buffer",
                     kdpc_file_ioctl(f, IOCTL_DISK_GET_DRIVE_GEOMETRY, NULL, 0, &geo, 8, NULL),
                     STATUS_BUFFER_TOO_SMALL};
    c[n++] = (check){
        "geometry",
        kdpc_file_ioctl(f, IOCTL_DISK_GET_DRIVE_GEOMETRY, NULL, 0, &geo, sizeof geo, &got_geo),
        STATUS_SUCCESS};
    c[n++] =
        (check){"length",
                kdpc_file_ioctl(f, IOCTL_DISK_GET_LENGTH_INFO, NULL, 0, &len, sizeof len, &got_len),
                STATUS_SUCCESS};
    for (unsigned i = 0; i < n; i++) {
        run->rep.checks++;
        if (c[i].st != c[i].want)
            problem(run, c[i].what, 0, 0, 0, c[i].st);
    }
    if (got != sizeof info || info.BytesPerSector != VDC_SECTOR ||
        info.Sectors != DISK_SIM_SECTORS || info.Unit != 0 || info.MapRegisters == 0)
        problem(run, "info: wrong geometry", 0, 0, 0, 0);
    if (got_geo != sizeof geo || geo.MediaType != FixedMedia || geo.BytesPerSector != VDC_SECTOR ||
        (uint64_t)geo.Cylinders.QuadPart * geo.TracksPerCylinder * geo.SectorsPerTrack !=
            DISK_SIM_SECTORS)
        problem(run, "IOCTL_DISK_GET_DRIVE_GEOMETRY: wrong geometry", 0, 0, 0, 0);
    if (got_len != sizeof len || len.Length.QuadPart != (LONGLONG)DISK_SIM_SECTORS * VDC_SECTOR)
        problem(run, "IOCTL_DISK_GET_LENGTH_INFO: wrong length", 0, 0, 0, 0);
}

/* With the units open, the driver refuses the PnP manager's stop (it does not hold requests)
 * and removal queries; the controller stays started. */
static void check_pnp_refusals(disk_run *run)
{
    if (kdpc_device_rebalance(run->hw.dev) != KDPC_EBUSY)
        problem(run, "a stop (rebalance) was not refused", 0, 0, 0, 0);
    if (kdpc_device_unplug(run->hw.dev, KDPC_UNPLUG_ORDERLY) != KDPC_EBUSY)
        problem(run, "an orderly removal with the units open was not refused", 0, 0, 0, 0);
    if (kdpc_device_get_state(run->hw.dev) != KDPC_DEVICE_STARTED)
        problem(run, "the controller is no longer started", 0, 0, 0, 0);
}

/* The driver's counters must match what the workload saw. */
static void collect_info(disk_run *run)
{
    for (unsigned u = 0; u < VDC_UNITS; u++) {
        VDISK_INFO info;
        ULONG_PTR got = 0;
        NTSTATUS st =
            kdpc_file_ioctl(run->file[u], IOCTL_VDISK_GET_INFO, NULL, 0, &info, sizeof info, &got);
        if (st != STATUS_SUCCESS || got != sizeof info || info.Unit != u) {
            problem(run, "info failed", u, 0, 0, st);
            continue;
        }
        run->rep.driver_requests += info.Requests;
        run->rep.pieces += info.Pieces;
        run->rep.retries += info.Retries;
        run->rep.timeouts += info.Timeouts;
        run->rep.failed += info.Failed;
        run->rep.spurious = info.SpuriousInterrupts; /* controller-wide */
        run->rep.map_registers = info.MapRegisters;
    }
    if (run->rep.driver_requests != run->r->requests - run->r->requests_failed ||
        run->rep.failed != run->r->requests_failed)
        problem(run, "the driver's request counts differ from the workload's", 0, 0, 0, 0);
}

/* Surprise removal while the workers run: the hardware goes at once, then the PnP manager
 * sends IRP_MN_SURPRISE_REMOVAL and (no file is open on the controller's own stack)
 * IRP_MN_REMOVE_DEVICE. Every request in flight must come back, failed or done. */
static void pull_controller(disk_run *run)
{
    LARGE_INTEGER wait;
    wait.QuadPart = -(LONGLONG)(run->surprise_ns / 100u);
    (void)KeDelayExecutionThread(KernelMode, FALSE, &wait);
    run->unplugged = true;
    run->rep.busy_at_unplug = run->hw.busy;
    if (kdpc_device_unplug(run->hw.dev, KDPC_UNPLUG_SURPRISE) != KDPC_OK ||
        kdpc_device_get_state(run->hw.dev) != KDPC_DEVICE_REMOVED)
        problem(run, "surprise removal failed", 0, 0, 0, 0);
}

static void run_entry(void *ctx)
{
    disk_run *run = ctx;
    kdpc_machine *m = run->m;
    kdpc_device_desc desc;
    kdpc_device_desc_init(&desc);
    vdc_describe(&run->hw, &desc, "vdc0", "disk", DISK_LINE);
    if (kdpc_device_plug(m, &desc, &run->hw.dev) != KDPC_OK) {
        problem(run, "plug failed", 0, 0, 0, 0);
        return;
    }
    for (unsigned k = 0; k < KDPC_FAULT_KINDS; k++)
        if (run->fault_kinds & (1u << k))
            (void)kdpc_device_set_fault(run->hw.dev, (kdpc_fault_kind)k, run->o->faults_permille);
    PDRIVER_INITIALIZE entry = run->o->variant != NULL ? run->o->variant->entry : disk_entry_clean;
    NTSTATUS st = kdpc_driver_load(m, "disk", entry, &run->drv);
    if (!NT_SUCCESS(st) || kdpc_device_get_state(run->hw.dev) != KDPC_DEVICE_STARTED) {
        problem(run, "driver load or start failed", 0, 0, 0, st);
        return;
    }
    const char *names[VDC_UNITS] = {VDISK_DOS_NAME0A, VDISK_DOS_NAME1A};
    for (unsigned u = 0; u < VDC_UNITS; u++) {
        st = kdpc_file_open(m, names[u], FILE_READ_DATA | FILE_WRITE_DATA, &run->file[u]);
        if (!NT_SUCCESS(st)) {
            problem(run, "open failed", u, 0, 0, st);
            return;
        }
    }
    check_bad_requests(run);
    check_pnp_refusals(run);

    run->end_ns = kdpc_machine_time_ns(m) + run->o->duration_ns;
    uint64_t unit_bytes = (uint64_t)DISK_SIM_SECTORS * VDC_SECTOR;
    unsigned per_unit = run->nworkers / VDC_UNITS;
    for (unsigned i = 0; i < run->nworkers; i++) {
        worker *w = &run->w[i];
        w->run = run;
        w->unit = i % VDC_UNITS;
        w->len = unit_bytes / per_unit;
        w->lo = (i / VDC_UNITS) * w->len;
        w->rng = (kdpc_machine_seed(m) + 1) * 0x9E3779B97F4A7C15ull + i * 0x632BE59BD9B4E019ull;
        KeInitializeEvent(&w->done, NotificationEvent, FALSE);
        HANDLE h;
        st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, worker_main, w);
        if (!NT_SUCCESS(st)) {
            problem(run, "PsCreateSystemThread failed", w->unit, 0, 0, st);
            (void)KeSetEvent(&w->done, IO_NO_INCREMENT, FALSE);
            continue;
        }
        (void)ZwClose(h);
    }
    if (run->surprise_ns != 0)
        pull_controller(run);
    for (unsigned i = 0; i < run->nworkers; i++)
        (void)KeWaitForSingleObject(&run->w[i].done, Executive, KernelMode, FALSE, NULL);

    if (!run->unplugged)
        collect_info(run); /* else the units are gone with their counters */
    for (unsigned u = 0; u < VDC_UNITS; u++) {
        if (memcmp(run->hw.image[u], run->shadow[u], unit_bytes) != 0)
            problem(run, "the device image differs from what the workload wrote", u, 0, unit_bytes,
                    0);
        (void)kdpc_file_close(run->file[u]);
        run->file[u] = NULL;
    }
    /* With the units closed, the driver accepts the removal query: an orderly removal. */
    if (!run->unplugged && (kdpc_device_unplug(run->hw.dev, KDPC_UNPLUG_ORDERLY) != KDPC_OK ||
                            kdpc_device_get_state(run->hw.dev) != KDPC_DEVICE_REMOVED))
        problem(run, "the orderly removal with the units closed failed", 0, 0, 0, 0);
    st = kdpc_driver_unload(run->drv);
    if (!NT_SUCCESS(st))
        problem(run, "unload failed", 0, 0, 0, st);
}

static void run_workload(kdpc_machine *m, const ex_options *o, unsigned fault_kinds,
                         uint64_t surprise_ns, disk_sim_report *rep, ex_result *r)
{
    memset(r, 0, sizeof *r);
    disk_run *run = calloc(1, sizeof *run);
    if (run == NULL || !vdc_init(&run->hw, DISK_SIM_SECTORS)) {
        free(run);
        r->status = KDPC_ENOMEM;
        (void)snprintf(r->problem, sizeof r->problem, "out of host memory");
        r->lost = 1;
        return;
    }
    run->m = m;
    run->o = o;
    run->r = r;
    run->fault_kinds = o->faults_permille > 0 ? fault_kinds : 0;
    run->surprise_ns = surprise_ns;
    run->nworkers = o->load == EX_LOAD_HEAVY ? 4 : 2;
    size_t unit_bytes = (size_t)DISK_SIM_SECTORS * VDC_SECTOR;
    bool ok = true;
    for (unsigned u = 0; u < VDC_UNITS; u++)
        ok = ok && (run->shadow[u] = calloc(1, unit_bytes)) != NULL;
    for (unsigned i = 0; i < run->nworkers; i++)
        ok = ok && (run->w[i].mem = aligned_alloc(PAGE_SIZE, HEAVY_LEN + PAGE_SIZE)) != NULL;
    ok = ok && (run->pattern = malloc(PATTERN_BYTES)) != NULL;
    if (ok) {
        uint64_t s = kdpc_machine_seed(m) * 0xD1B54A32D192ED03ull + 1;
        for (size_t i = 0; i < PATTERN_BYTES; i += sizeof s) {
            uint64_t v = next_rand(&s);
            memcpy(run->pattern + i, &v, sizeof v);
        }
        r->status = kdpc_machine_run(m, run_entry, run);
    } else {
        r->status = KDPC_ENOMEM;
        problem(run, "out of host memory", 0, 0, 0, 0);
    }
    r->virtual_ns = kdpc_machine_time_ns(m);
    r->errorlog = kdpc_errorlog_count(m);
    if (run->hw.dev != NULL) {
        kdpc_device_counters c;
        if (kdpc_device_get_counters(run->hw.dev, &c) == KDPC_OK)
            run->rep.dma_bytes = c.dma_bytes_read + c.dma_bytes_written;
        for (unsigned k = 0; k < KDPC_FAULT_KINDS; k++) {
            run->rep.injected[k] = kdpc_device_faults_injected(run->hw.dev, (kdpc_fault_kind)k);
            r->faults += run->rep.injected[k];
        }
    }
    run->rep.commands = run->hw.commands;
    run->rep.aborts = run->hw.aborts;
    run->rep.device_errors = run->hw.errors;
    if (run->hw.bad_accesses != 0)
        problem(run, "the driver made a register access of a wrong width or offset", 0, 0, 0, 0);
    (void)snprintf(r->notes, sizeof r->notes,
                   "reads %llu, writes %llu, pieces %llu (%llu map registers), retries %llu, "
                   "timeouts %llu, failed %llu, spurious interrupts %llu, DMA %llu MiB",
                   (unsigned long long)run->rep.reads, (unsigned long long)run->rep.writes,
                   (unsigned long long)run->rep.pieces, (unsigned long long)run->rep.map_registers,
                   (unsigned long long)run->rep.retries, (unsigned long long)run->rep.timeouts,
                   (unsigned long long)run->rep.failed, (unsigned long long)run->rep.spurious,
                   (unsigned long long)(run->rep.dma_bytes >> 20));
    if (rep != NULL)
        *rep = run->rep;
    for (unsigned i = 0; i < run->nworkers; i++)
        free(run->w[i].mem);
    for (unsigned u = 0; u < VDC_UNITS; u++)
        free(run->shadow[u]);
    free(run->pattern);
    vdc_free(&run->hw);
    free(run);
}

void disk_sim_run(kdpc_machine *m, const ex_options *o, unsigned fault_kinds, disk_sim_report *rep,
                  ex_result *r)
{
    run_workload(m, o, fault_kinds, 0, rep, r);
}

void disk_sim_run_surprise(kdpc_machine *m, const ex_options *o, unsigned fault_kinds,
                           uint64_t after_ns, disk_sim_report *rep, ex_result *r)
{
    run_workload(m, o, fault_kinds, after_ns, rep, r);
}

static void disk_run_default(kdpc_machine *m, const ex_options *o, ex_result *r)
{
    disk_sim_run(m, o, DISK_FAULTS_ALL, NULL, r);
}

static const ex_variant disk_variants[] = {
    {"no-flush", "G11", "dma.not_flushed",
     "never calls FlushAdapterBuffers after a piece, then frees the adapter channel",
     disk_entry_no_flush},
    {"no-split", "G11", "dma.too_many_map_registers",
     "asks AllocateAdapterChannel for every page of a 1 MiB request instead of the map "
     "registers it was given",
     disk_entry_no_split},
    {"complete-holding-adapter", "G11", "dma.adapter_held",
     "completes the IRP first and frees the adapter channel after",
     disk_entry_complete_holding_adapter},
    {"complete-holding-controller", "G12", "controller.held",
     "completes the IRP first and frees the controller object after",
     disk_entry_complete_holding_controller},
    {"watchdog-left-set", "G8", "unload.pending",
     "never cancels its watchdog timer: the controller's device object is deleted with it set",
     disk_entry_watchdog_left_set},
};

const ex_example ex_disk = {
    .name = "disk",
    .what = "two-unit disk controller: StartIo, controller object, packet DMA split by 16 map "
            "registers, retries with error log",
    .variants = disk_variants,
    .nvariants = sizeof disk_variants / sizeof disk_variants[0],
    .modes = NULL,
    .configure = NULL,
    .run = disk_run_default,
};
