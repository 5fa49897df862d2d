/* SPDX-License-Identifier: MIT */
/*
 * kdpc/trace.h - the event trace of a machine: every IRQL change, DPC,
 * ISR, lock, thread switch and interrupt line event, in virtual time.
 *
 * Tracing is on when kdpc_config.trace_capacity > 0: the newest
 * trace_capacity events are kept, and a digest covers every event since
 * the machine was created. Two runs with the same seed and config produce
 * the same events in the same order, hence the same digest.
 */
#ifndef KDPC_TRACE_H
#define KDPC_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <kdpc/export.h>
#include <kdpc/status.h>

KDPC_BEGIN_DECLS

typedef struct kdpc_machine kdpc_machine;

/**
 * X-map of event kinds: name, text. What each kind's fields hold (object and routine are
 * addresses in the ring, object_id the object's number; "id of X" in arg2 is X's object
 * number, handed out by the same counter as object_id):
 *
 *  kind           object      routine          arg                      arg2
 *  irql           -           -                new IRQL                 -
 *  dpc-insert     KDPC        DeferredRoutine  CPU whose queue took it  KDPC_DPCF_* flags
 *  dpc-remove     KDPC        DeferredRoutine  -                        -
 *  dpc-begin      KDPC        DeferredRoutine  CPU whose queue held it  KDPC_DPCF_* flags
 *  dpc-end        KDPC        DeferredRoutine  ns the call ran          -
 *  isr-begin      KINTERRUPT  ISR              line (vector)            -
 *  isr-end        KINTERRUPT  ISR              the ISR's return value   ns the call ran
 *  lock-acquire   lock        -                1 spin lock, 2 queued,   -
 *                                               4 interrupt lock
 *  lock-release   lock        -                as lock-acquire          -
 *  lock-spin      lock        -                CPU that holds it        -
 *  cpu-switch     -           -                CPU switched to          -
 *  thread-start   -           start routine    thread id                -
 *  thread-exit    -           -                thread id                -
 *  thread-switch  -           -                thread id switched to    -
 *  line-assert    -           -                line                     1 + seq of the
 *                                                                        device-event whose
 *                                                                        handler asserted it,
 *                                                                        else 0
 *  line-deassert  -           -                line                     -
 *  stall          -           -                microseconds             -
 *  sync-begin/end KINTERRUPT  SynchronizeRoutine  - / its return value  -
 *  violation      -           routine running  bug check code or 0      index for
 *                                                                        kdpc_machine_violation
 *  reg-*, port-*  address / port (object_id: the same number)  value    access width in bytes
 *  device-event   kdpc_device -                the event's id           -
 *  timer-set      KTIMER      DPC's routine    due time (virtual ns)    period ns, 0: one-shot
 *  timer-cancel   KTIMER      -                1 if it was set          -
 *  timer-expire   KTIMER      DPC's routine    1 if its DPC was queued  period ns
 *  work-queue     work item   worker routine   WORK_QUEUE_TYPE          id of the DEVICE_OBJECT
 *                                                                        (IoQueueWorkItem) or 0
 *  work-begin     work item   worker routine   WORK_QUEUE_TYPE          thread id
 *  work-end       work item   worker routine   ns the call ran          thread id
 *  irp-call       IRP         dispatch routine major << 8 | minor       id of the DEVICE_OBJECT
 *  irp-start      IRP         StartIo          1: StartIo called now,   id of the DEVICE_OBJECT
 *                                               0: queued (IoStartPacket)
 *  irp-queue      IRP         -                0: device queue,         id of the DEVICE_OBJECT
 *                                               1: pending (IoMarkIrpPending)
 *  irp-complete   IRP         -                IoStatus.Status          IoStatus.Information
 *  irp-cancel     IRP         cancel routine   1 if it was called       -
 *  dma-grant      adapter     execution routine map registers granted   id of the DEVICE_OBJECT
 *  dma-map        adapter     -                bytes mapped             logical address
 *  dma-flush      adapter     -                bytes flushed            -
 *  dma-free       adapter     -                map registers freed      -
 *
 * Ends (dpc-end, work-end) carry the object_id of their begin, also when the routine freed
 * the object. Kinds are only ever added at the end: a kind's number never changes.
 */
#define KDPC_EVENT_MAP(XX)                                                                         \
    XX(KDPC_EV_IRQL, "irql")                                                                       \
    XX(KDPC_EV_DPC_INSERT, "dpc-insert")                                                           \
    XX(KDPC_EV_DPC_REMOVE, "dpc-remove")                                                           \
    XX(KDPC_EV_DPC_BEGIN, "dpc-begin")                                                             \
    XX(KDPC_EV_DPC_END, "dpc-end")                                                                 \
    XX(KDPC_EV_ISR_BEGIN, "isr-begin")                                                             \
    XX(KDPC_EV_ISR_END, "isr-end")                                                                 \
    XX(KDPC_EV_LOCK_ACQUIRE, "lock-acquire")                                                       \
    XX(KDPC_EV_LOCK_RELEASE, "lock-release")                                                       \
    XX(KDPC_EV_LOCK_SPIN, "lock-spin")                                                             \
    XX(KDPC_EV_CPU_SWITCH, "cpu-switch")                                                           \
    XX(KDPC_EV_THREAD_START, "thread-start")                                                       \
    XX(KDPC_EV_THREAD_EXIT, "thread-exit")                                                         \
    XX(KDPC_EV_THREAD_SWITCH, "thread-switch")                                                     \
    XX(KDPC_EV_LINE_ASSERT, "line-assert")                                                         \
    XX(KDPC_EV_LINE_DEASSERT, "line-deassert")                                                     \
    XX(KDPC_EV_STALL, "stall")                                                                     \
    XX(KDPC_EV_SYNC_BEGIN, "sync-begin")                                                           \
    XX(KDPC_EV_SYNC_END, "sync-end")                                                               \
    XX(KDPC_EV_VIOLATION, "violation")                                                             \
    XX(KDPC_EV_REG_READ, "reg-read")         /* object: physical address, arg: value */            \
    XX(KDPC_EV_REG_WRITE, "reg-write")       /* object: physical address, arg: value */            \
    XX(KDPC_EV_PORT_READ, "port-read")       /* object: port number, arg: value */                 \
    XX(KDPC_EV_PORT_WRITE, "port-write")     /* object: port number, arg: value */                 \
    XX(KDPC_EV_DEVICE_EVENT, "device-event") /* object: the kdpc_device, arg: the event's id */    \
    XX(KDPC_EV_TIMER_SET, "timer-set")                                                             \
    XX(KDPC_EV_TIMER_CANCEL, "timer-cancel")                                                       \
    XX(KDPC_EV_TIMER_EXPIRE, "timer-expire")                                                       \
    XX(KDPC_EV_WORK_QUEUE, "work-queue")                                                           \
    XX(KDPC_EV_WORK_BEGIN, "work-begin")                                                           \
    XX(KDPC_EV_WORK_END, "work-end")                                                               \
    XX(KDPC_EV_IRP_CALL, "irp-call")                                                               \
    XX(KDPC_EV_IRP_START, "irp-start")                                                             \
    XX(KDPC_EV_IRP_QUEUE, "irp-queue")                                                             \
    XX(KDPC_EV_IRP_COMPLETE, "irp-complete")                                                       \
    XX(KDPC_EV_IRP_CANCEL, "irp-cancel")                                                           \
    XX(KDPC_EV_DMA_GRANT, "dma-grant")                                                             \
    XX(KDPC_EV_DMA_MAP, "dma-map")                                                                 \
    XX(KDPC_EV_DMA_FLUSH, "dma-flush")                                                             \
    XX(KDPC_EV_DMA_FREE, "dma-free")

/** Kind of a trace event. */
typedef enum kdpc_event_kind {
#define KDPC_EVENT_ENUM_(name, text) name,
    KDPC_EVENT_MAP(KDPC_EVENT_ENUM_)
#undef KDPC_EVENT_ENUM_
        KDPC_EV_COUNT_
} kdpc_event_kind;

/** One trace event. */
typedef struct kdpc_event {
    uint64_t seq;       /**< 0-based index since the machine was created */
    uint64_t time_ns;   /**< virtual time */
    uint32_t kind;      /**< kdpc_event_kind */
    uint16_t cpu;       /**< CPU it happened on */
    uint8_t irql;       /**< IRQL of that CPU after the event */
    uint8_t locks;      /**< spin locks (interrupt locks included) that CPU held at the event,
                           saturating at 255: which ones, the lock-acquire / lock-release events
                           of that CPU say */
    uintptr_t object;   /**< address of the KDPC, lock, KINTERRUPT, thread ... or 0 */
    uintptr_t routine;  /**< address of the driver routine involved, or 0 */
    uint64_t arg;       /**< kind-specific: new IRQL, line, target CPU, microseconds ... */
    uint64_t object_id; /**< the object's number (1, 2, ... in order of first sight), or 0 */
    uint64_t arg2;      /**< kind-specific, see KDPC_EVENT_MAP */
} kdpc_event;

/** dpc-insert / dpc-begin arg2: the KDPC's importance (Importance field, 0..3) in the low
 * bits, and flags. */
#define KDPC_DPCF_IMPORTANCE 0x3u  /**< LowImportance 0, Medium 1, High 2, MediumHigh 3 */
#define KDPC_DPCF_THREADED   0x4u  /**< KeInitializeThreadedDpc */
#define KDPC_DPCF_IOREQUEST  0x8u  /**< queued by IoRequestDpc (a DpcForIsr) */
#define KDPC_DPCF_TARGETED   0x10u /**< KeSetTargetProcessorDpc(Ex) chose the CPU */
#define KDPC_DPCF_TIMER      0x20u /**< queued by an expiring KTIMER */
#define KDPC_DPCF_FROM_ISR                                                                         \
    0x40u /**< queued above DISPATCH_LEVEL (from an ISR or
                                         a SynchronizeRoutine) */

/** Name of an event kind ("dpc-begin"), or "?" for an unknown value. Thread: any. */
KDPC_EXPORT const char *kdpc_event_kind_name(uint32_t kind);

/** Number of events kept (at most trace_capacity); 0 for NULL or when tracing is off. */
KDPC_EXPORT size_t kdpc_trace_count(const kdpc_machine *m);

/** The i-th kept event, oldest first; NULL when out of range. */
KDPC_EXPORT const kdpc_event *kdpc_trace_event(const kdpc_machine *m, size_t i);

/** Number of events since the machine was created (kept or not). */
KDPC_EXPORT uint64_t kdpc_trace_total(const kdpc_machine *m);

/**
 * kdpc_trace_digest() - a 64-bit digest (FNV-1a over words) of every event's kind, CPU, IRQL,
 * time, argument and object, in order. Equal digests mean equal runs, in one process or
 * across processes (ASLR, another heap layout): an object is hashed as its number, handed
 * out in order of first sight in the trace, never as its address, and the number of an object
 * whose memory dies (freed pool, IRP, MDL, work item, device object; the stack of a thread
 * that ended) is forgotten, so whatever lives there next gets a new number.
 * Return: 0 when tracing is off or @m is NULL.
 */
KDPC_EXPORT uint64_t kdpc_trace_digest(const kdpc_machine *m);

/**
 * kdpc_trace_dump() - print the kept events, one per line, to @out: sequence number, virtual
 * time, CPU, IRQL, kind, the object by name (kdpc_name_object, a spin lock's initialising
 * call site, a static variable) or else by number ("#3"), the routine by name (KDPC_NAME or
 * the host's symbol table) or address, and the argument.
 * Thread: the host between runs. Return: KDPC_OK, KDPC_EINVAL.
 */
KDPC_EXPORT kdpc_status kdpc_trace_dump(const kdpc_machine *m, FILE *out);

/**
 * kdpc_trace_export_json() - write the recorded trace as Chrome / Perfetto trace-event JSON
 * (open it in https://ui.perfetto.dev or chrome://tracing; no network is needed to read the
 * file itself).
 *
 * The events come from the spool when kdpc_config.trace_stream is on (every event since the
 * machine was created or reset), else from the ring (the newest trace_capacity events; the
 * file then says that older events were dropped).
 * One process per machine, one track per simulated CPU with thread, DPC and ISR slices nested
 * as they ran, an IRQL counter track per CPU, flow arrows from KeInsertQueueDpc / IoRequestDpc
 * to the DPC call, from IoStartPacket to the IoCompleteRequest of that IRP and from a device
 * event to the ISR it raised, and violations as instant events with their rule and guideline.
 * A slice still open when the trace ends (a bug check stopped the run) is closed at the last
 * event's time and marked unfinished.
 *
 * The file is written beside @path under a temporary name and renamed into place once
 * complete: @path is either the whole file or untouched.
 * Thread: a host thread between runs (not during kdpc_machine_run).
 * Return: KDPC_OK; KDPC_EINVAL (NULL argument, or tracing is off: neither trace_stream nor
 * trace_capacity); KDPC_EBUSY (a run is in progress); KDPC_EOUTPUT (@path could not be
 * created or written, or the spool could not be written during the run or read back: errno
 * says why; nothing is left at @path); KDPC_ENOMEM.
 */
KDPC_EXPORT kdpc_status kdpc_trace_export_json(kdpc_machine *m, const char *path);

/**
 * kdpc_trace_timeline() - print an ASCII timeline of the recorded trace to @out: one row per
 * CPU, one column per slice of virtual time, a letter for the routine running (ISR, DPC,
 * work item or thread, explained in a legend below) and the IRQL, wrapped into blocks of at
 * most @width characters (at least 40; 0: the terminal width from $COLUMNS, else 80).
 * @from_ns, @to_ns: the window of virtual time to show; to_ns 0 means the end of the trace.
 * @columns: columns in all (the window is cut into that many equal slices of time; 0: one
 * column per microsecond, at most 4096).
 * Thread: a host thread between runs.
 * Return: KDPC_OK; KDPC_EINVAL (NULL, tracing off, from_ns >= to_ns); KDPC_EBUSY;
 * KDPC_EOUTPUT (writing @out failed).
 */
KDPC_EXPORT kdpc_status kdpc_trace_timeline(kdpc_machine *m, FILE *out, unsigned width,
                                            uint64_t from_ns, uint64_t to_ns, unsigned columns);

KDPC_END_DECLS

#endif /* KDPC_TRACE_H */
