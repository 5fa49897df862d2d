/* SPDX-License-Identifier: MIT */
/*
 * spool.h - the trace spool (cfg.trace_stream): every event of a run written, as the run
 * goes, to an unnamed file, so that the exports (evsrc.h) see the whole run while memory stays
 * bounded.
 *
 * Two unnamed files (created with mkstemp in the spool directory and unlinked at once, so
 * nothing is left behind whatever happens to the process):
 *  - events: one record per event, in order, byte-packed. Host words; the file never leaves
 *    the process, so the format is private to this file and spool.c. The first byte says what
 *    follows: bit 7 set - a repeat (1 byte): the tiny record in slot (byte & 127) of the
 *    history; else its low two bits: 2 tiny, 0 short, 1 long (dt: ns since the previous event;
 *    routine: the routine's index in the meta file, 0 for none; cpu < 64):
 *      tiny   w0 = 2 | irql << 2 | kind << 8 | cpu << 14 | locks << 20 | dt << 22 |
 *                  object_id << 35 | routine << 47 | arg << 53 | arg2 << 63            (8 bytes)
 *             (irql < 32, kind < 64, locks < 4, dt < 2^13, object_id < 2^12, routine < 64,
 *              arg < 2^10, arg2 < 2)
 *      short  w0 = 0 | irql << 2 | kind << 8 | cpu << 16 | locks << 24 | dt << 32
 *             w1 = object_id | routine << 24 | arg << 34 | arg2 << 49                  (16 bytes)
 *             (object_id < 2^24, routine < 2^10, arg and arg2 < 2^15)
 *      long   w0 = 1 | irql << 2 | kind << 8 | cpu << 16 | locks << 24 | routine << 32
 *             w1 = time_ns, w2 = object_id, w3 = arg, w4 = arg2                        (40 bytes)
 *    The history: 128 slots, a tiny word goes to slot (w0 * K) >> 57 when written in full;
 *    the writer writes a repeat when that slot already holds the same word, and the reader
 *    keeps the same table. A loop that does the same thing again and again (a DPC round trip:
 *    5 events) thus costs a byte an event.
 *    The seq of an event is its index in the file.
 *  - meta: routine records (index -> address, written when a routine is first seen) and name
 *    records (object number -> name, written when an object with a label gets its number, or
 *    when kdpc_name_object names an object that already has one). Names outlive the objects.
 * Writes go through a buffer (1 MiB for events) flushed with write(). The first write error
 * (disk full, EFBIG) stops the spool and is kept: the readers then fail with it.
 */
#ifndef KDPC_TRACE_SPOOL_H
#define KDPC_TRACE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <kdpc/trace.h>
#include "base/ptrmap.h"

#define KDPC_SPOOL_BUF      (1u << 20)
#define KDPC_SPOOL_META_BUF (64u << 10)
#define KDPC_SPOOL_RCACHE   256u
#define KDPC_SPOOL_LONG_MAX 40u
#define KDPC_SPOOL_HIST     128u

typedef struct kdpc__spool {
    int fd, meta_fd; /* -1: none */
    bool live;       /* events are written (false after a write error) */
    int error;       /* errno of the first failed write or 0 */
    unsigned char *buf;
    size_t pos;
    unsigned char *mbuf;
    size_t mpos;
    uint64_t bytes, meta_bytes; /* written to the files so far */
    kdpc__ptrmap routines;      /* routine address -> index (1-based) */
    uint32_t nroutines;
    struct {
        uintptr_t addr;
        uint32_t idx;
    } rcache[KDPC_SPOOL_RCACHE];    /* direct-mapped cache in front of routines */
    uint64_t hist[KDPC_SPOOL_HIST]; /* tiny words written in full, by slot */
} kdpc__spool;

static inline unsigned kdpc__spool_hist_slot(uint64_t w)
{
    return (unsigned)((w * 0x9E3779B97F4A7C15ull) >> 57);
}

/* Create the two unnamed files in @dir (NULL: $TMPDIR, else /tmp). 0, or an errno (the spool
 * is then closed). */
int kdpc__spool_open(kdpc__spool *s, const char *dir);
void kdpc__spool_close(kdpc__spool *s);

/* Write the buffered records out: 0 or the spool's errno (sticky). */
int kdpc__spool_flush(kdpc__spool *s);
void kdpc__spool_flush_events_(kdpc__spool *s);
uint32_t kdpc__spool_routine_slow_(kdpc__spool *s, uintptr_t routine);

/* A name record: object number @id is called @name (cut at 1000 bytes). */
void kdpc__spool_name(kdpc__spool *s, uint64_t id, const char *name);

static inline size_t kdpc__spool_rcache_slot(uintptr_t routine)
{
    return (size_t)((routine >> 4) ^ (routine >> 12)) & (KDPC_SPOOL_RCACHE - 1u);
}

static inline uint32_t kdpc__spool_routine(kdpc__spool *s, uintptr_t routine)
{
    if (routine == 0)
        return 0;
    size_t slot = kdpc__spool_rcache_slot(routine);
    if (s->rcache[slot].addr == routine)
        return s->rcache[slot].idx;
    return kdpc__spool_routine_slow_(s, routine);
}

_Static_assert(KDPC_EV_COUNT_ <= 64, "the tiny record holds a kind in 6 bits");

#define KDPC_SPOOL_TINY_RSHIFT   47
#define KDPC_SPOOL_TINY_ROUTINES 64u /* routine indexes a tiny record holds */

/* The tiny word of an event with routine index 0 (its routine goes in with
 * | ridx << KDPC_SPOOL_TINY_RSHIFT when ridx < KDPC_SPOOL_TINY_ROUTINES), or 0 when a field is
 * too large for it. @dt: ns since the previous event; @cpu < 64 (KDPC_MAX_CPUS), @kind < 64,
 * @irql masked to 5 bits. Also the digest's word of the event (trace.h), which is why the
 * routine is left out. */
static inline uint64_t kdpc__spool_tiny(uint64_t kind, uint64_t cpu, uint64_t irql, uint64_t locks,
                                        uint64_t dt, uint64_t object_id, uint64_t arg,
                                        uint64_t arg2)
{
    if (((locks >> 2) | (dt >> 13) | (object_id >> 12) | (arg >> 10) | (arg2 >> 1)) != 0)
        return 0;
    return 2u | (irql & 31u) << 2 | kind << 8 | cpu << 14 | locks << 20 | dt << 22 |
           object_id << 35 | arg << 53 | arg2 << 63;
}

/* Append a tiny record @w (kdpc__spool_tiny with its routine): one byte when the history
 * slot of the word holds it already, else the word. */
static inline void kdpc__spool_put_tiny(kdpc__spool *s, uint64_t w)
{
    unsigned slot = kdpc__spool_hist_slot(w);
    unsigned char *p = s->buf + s->pos;
    if (s->hist[slot] == w) {
        *p = (unsigned char)(0x80u | slot);
        s->pos += 1;
    } else {
        s->hist[slot] = w;
        memcpy(p, &w, sizeof(w));
        s->pos += sizeof(w);
    }
    if (s->pos > KDPC_SPOOL_BUF - KDPC_SPOOL_LONG_MAX)
        kdpc__spool_flush_events_(s);
}

/* Append any event (its seq is implied by the order; the object's address is not kept): a
 * tiny record when the fields allow, else a short or a long one. @dt: @time_ns minus the
 * time of the previous event (wrapped when time went back, never expected: a long record).
 * The spool must be live. */
void kdpc__spool_put(kdpc__spool *s, unsigned kind, unsigned cpu, unsigned irql, unsigned locks,
                     uint64_t time_ns, uint64_t dt, uint64_t object_id, uintptr_t routine,
                     uint64_t arg, uint64_t arg2);

/* ---- reading back (evsrc.c) ---- */

typedef struct kdpc__spool_reader {
    int fd;
    uint64_t off, end; /* next file offset to read, bytes in the file */
    unsigned char *buf;
    size_t len, pos;
    uint64_t time, seq;
    int error;
    uintptr_t *routines; /* index -> address (index 0: none) */
    size_t nroutines;
    uint64_t hist[KDPC_SPOOL_HIST]; /* as the writer's */
} kdpc__spool_reader;

/* Flush @s and open a reader over its events, with the routine table loaded. 0 or an errno
 * (the spool's own, or a read error); on error nothing needs closing. */
int kdpc__spool_reader_open(kdpc__spool *s, kdpc__spool_reader *r);
/* The next event (object 0, object_id, routine address...); false at the end or on error
 * (r->error). */
bool kdpc__spool_reader_next(kdpc__spool_reader *r, kdpc_event *e);
void kdpc__spool_reader_close(kdpc__spool_reader *r);

/* Call @fn for every name record of @s, in order (a later name of an id replaces an earlier
 * one). The spool must have been flushed. 0 or an errno. */
int kdpc__spool_names(kdpc__spool *s, void (*fn)(void *ctx, uint64_t id, const char *name),
                      void *ctx);

#endif /* KDPC_TRACE_SPOOL_H */
