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

/** X-map of event kinds: name, text. */
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
    XX(KDPC_EV_DEVICE_EVENT, "device-event") /* object: the kdpc_device, arg: the event's id */

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
} kdpc_event;

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

KDPC_END_DECLS

#endif /* KDPC_TRACE_H */
