/* SPDX-License-Identifier: MIT */
/*
 * spool.c - the trace spool: unnamed files written as the run goes, read back by evsrc.c
 * (the format: spool.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/spool.h"

#define META_ROUTINE 1u
#define META_NAME    2u
#define NAME_MAX_LEN 1000u
#define READ_BUF     (1u << 20)

/* An unnamed file in @dir: 0 and *fd, or an errno. */
static int unnamed_file(const char *dir, int *fd)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/kdpc-spool-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return ENAMETOOLONG;
    int f = mkstemp(path);
    if (f < 0)
        return errno != 0 ? errno : EIO;
    (void)unlink(path);
    int flags = fcntl(f, F_GETFD);
    if (flags < 0 || fcntl(f, F_SETFD, flags | FD_CLOEXEC) < 0) {
        int err = errno;
        (void)close(f);
        return err;
    }
    *fd = f;
    return 0;
}

int kdpc__spool_open(kdpc__spool *s, const char *dir)
{
    memset(s, 0, sizeof(*s));
    s->fd = s->meta_fd = -1;
    if (dir == NULL || dir[0] == '\0') {
        dir = getenv("TMPDIR");
        if (dir == NULL || dir[0] == '\0')
            dir = "/tmp";
    }
    s->buf = malloc(KDPC_SPOOL_BUF);
    s->mbuf = malloc(KDPC_SPOOL_META_BUF);
    int err = s->buf == NULL || s->mbuf == NULL ? ENOMEM : 0;
    if (err == 0)
        err = unnamed_file(dir, &s->fd);
    if (err == 0)
        err = unnamed_file(dir, &s->meta_fd);
    if (err != 0) {
        kdpc__spool_close(s);
        return err;
    }
    s->live = true;
    return 0;
}

void kdpc__spool_close(kdpc__spool *s)
{
    if (s->fd >= 0)
        (void)close(s->fd);
    if (s->meta_fd >= 0)
        (void)close(s->meta_fd);
    free(s->buf);
    free(s->mbuf);
    kdpc__ptrmap_free(&s->routines);
    memset(s, 0, sizeof(*s));
    s->fd = s->meta_fd = -1;
}

/* Write all of [p, p + n): 0 or an errno. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno != 0 ? errno : EIO;
        }
        if (w == 0)
            return EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fail(kdpc__spool *s, int err)
{
    if (s->error == 0)
        s->error = err;
    s->live = false;
    s->pos = s->mpos = 0;
}

void kdpc__spool_flush_events_(kdpc__spool *s)
{
    if (s->pos == 0 || s->error != 0) {
        s->pos = 0;
        return;
    }
    int err = write_all(s->fd, s->buf, s->pos);
    if (err != 0) {
        fail(s, err);
        return;
    }
    s->bytes += s->pos;
    s->pos = 0;
}

static void flush_meta(kdpc__spool *s)
{
    if (s->mpos == 0 || s->error != 0) {
        s->mpos = 0;
        return;
    }
    int err = write_all(s->meta_fd, s->mbuf, s->mpos);
    if (err != 0) {
        fail(s, err);
        return;
    }
    s->meta_bytes += s->mpos;
    s->mpos = 0;
}

int kdpc__spool_flush(kdpc__spool *s)
{
    kdpc__spool_flush_events_(s);
    flush_meta(s);
    return s->error;
}

/* Append [p, p + n) to the meta buffer (n <= KDPC_SPOOL_META_BUF). */
static void meta_put(kdpc__spool *s, const void *p, size_t n)
{
    if (!s->live)
        return;
    if (s->mpos + n > KDPC_SPOOL_META_BUF)
        flush_meta(s);
    if (!s->live)
        return;
    memcpy(s->mbuf + s->mpos, p, n);
    s->mpos += n;
}

uint32_t kdpc__spool_routine_slow_(kdpc__spool *s, uintptr_t routine)
{
    size_t slot = kdpc__spool_rcache_slot(routine);
    uint32_t idx = (uint32_t)(uintptr_t)kdpc__ptrmap_get(&s->routines, routine);
    if (idx == 0) {
        idx = ++s->nroutines;
        if (!kdpc__ptrmap_put(&s->routines, routine, (void *)(uintptr_t)idx)) {
            /* Out of host memory: the routine gets a number of its own each time (the reader
             * still knows its address). Rare; correct. */
        }
        uint64_t w[2] = {META_ROUTINE | (uint64_t)idx << 8, (uint64_t)routine};
        meta_put(s, w, sizeof(w));
    }
    s->rcache[slot].addr = routine;
    s->rcache[slot].idx = idx;
    return idx;
}

void kdpc__spool_put(kdpc__spool *s, unsigned kind, unsigned cpu, unsigned irql, unsigned locks,
                     uint64_t time_ns, uint64_t dt, uint64_t object_id, uintptr_t routine,
                     uint64_t arg, uint64_t arg2)
{
    uint64_t ridx = kdpc__spool_routine(s, routine);
    uint64_t w = kdpc__spool_tiny(kind, cpu, irql, locks, dt, object_id, arg, arg2);
    if (w != 0 && ridx < KDPC_SPOOL_TINY_ROUTINES) {
        kdpc__spool_put_tiny(s, w | ridx << KDPC_SPOOL_TINY_RSHIFT);
        return;
    }
    unsigned char *p = s->buf + s->pos;
    uint64_t head = (uint64_t)(irql & 31u) << 2 | (uint64_t)kind << 8 | (uint64_t)cpu << 16 |
                    (uint64_t)(locks > 255u ? 255u : locks) << 24;
    if (((dt >> 32) | (object_id >> 24) | (ridx >> 10) | (arg >> 15) | (arg2 >> 15)) == 0) {
        uint64_t w2[2] = {head | dt << 32, object_id | ridx << 24 | arg << 34 | arg2 << 49};
        memcpy(p, w2, sizeof(w2));
        s->pos += sizeof(w2);
    } else {
        uint64_t w5[5] = {head | 1u | ridx << 32, time_ns, object_id, arg, arg2};
        memcpy(p, w5, sizeof(w5));
        s->pos += sizeof(w5);
    }
    if (s->pos > KDPC_SPOOL_BUF - KDPC_SPOOL_LONG_MAX)
        kdpc__spool_flush_events_(s);
}

void kdpc__spool_name(kdpc__spool *s, uint64_t id, const char *name)
{
    if (!s->live || id == 0 || name == NULL)
        return;
    size_t len = strnlen(name, NAME_MAX_LEN);
    uint64_t w[2] = {META_NAME | (uint64_t)len << 8, id};
    unsigned char tail[NAME_MAX_LEN + 8];
    size_t padded = (len + 7u) & ~(size_t)7u;
    memset(tail, 0, padded);
    memcpy(tail, name, len);
    meta_put(s, w, sizeof(w));
    meta_put(s, tail, padded);
}

/* ---- reading back ---- */

/* Read [off, off + n) of @fd fully: 0 or an errno (EIO when the file is shorter). */
static int pread_all(int fd, unsigned char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno != 0 ? errno : EIO;
        }
        if (r == 0)
            return EIO;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Walk the meta file: routine records into @r (when not NULL), names to @fn. */
static int walk_meta(kdpc__spool *s, kdpc__spool_reader *r,
                     void (*fn)(void *ctx, uint64_t id, const char *name), void *ctx)
{
    if (s->meta_bytes == 0)
        return 0;
    size_t n = (size_t)s->meta_bytes;
    if ((uint64_t)n != s->meta_bytes)
        return EFBIG;
    unsigned char *m = malloc(n);
    if (m == NULL)
        return ENOMEM;
    int err = pread_all(s->meta_fd, m, n, 0);
    for (size_t pos = 0; err == 0 && pos < n;) {
        uint64_t w[2];
        if (n - pos < sizeof(w)) {
            err = EIO;
            break;
        }
        memcpy(w, m + pos, sizeof(w));
        pos += sizeof(w);
        unsigned type = (unsigned)(w[0] & 0xffu);
        uint64_t v = w[0] >> 8;
        if (type == META_ROUTINE) {
            if (r == NULL)
                continue;
            if (v >= r->nroutines) {
                size_t cap = r->nroutines == 0 ? 64 : r->nroutines;
                while (cap <= v)
                    cap *= 2;
                uintptr_t *nr = realloc(r->routines, cap * sizeof(*nr));
                if (nr == NULL) {
                    err = ENOMEM;
                    break;
                }
                memset(nr + r->nroutines, 0, (cap - r->nroutines) * sizeof(*nr));
                r->routines = nr;
                r->nroutines = cap;
            }
            r->routines[v] = (uintptr_t)w[1];
        } else if (type == META_NAME) {
            size_t padded = ((size_t)v + 7u) & ~(size_t)7u;
            if (v > NAME_MAX_LEN || n - pos < padded) {
                err = EIO;
                break;
            }
            if (fn != NULL) {
                char name[NAME_MAX_LEN + 1];
                memcpy(name, m + pos, (size_t)v);
                name[v] = '\0';
                fn(ctx, w[1], name);
            }
            pos += padded;
        } else {
            err = EIO;
        }
    }
    free(m);
    return err;
}

int kdpc__spool_reader_open(kdpc__spool *s, kdpc__spool_reader *r)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    int err = kdpc__spool_flush(s);
    if (err == 0)
        err = walk_meta(s, r, NULL, NULL);
    if (err == 0 && (r->buf = malloc(READ_BUF)) == NULL)
        err = ENOMEM;
    if (err != 0) {
        kdpc__spool_reader_close(r);
        return err;
    }
    r->fd = s->fd;
    r->end = s->bytes;
    return 0;
}

/* At least @need bytes buffered after pos, unless the file ends first. */
static bool fill(kdpc__spool_reader *r, size_t need)
{
    if (r->len - r->pos >= need)
        return true;
    size_t keep = r->len - r->pos;
    memmove(r->buf, r->buf + r->pos, keep);
    r->len = keep;
    r->pos = 0;
    uint64_t left = r->end - r->off;
    size_t n = READ_BUF - keep;
    if ((uint64_t)n > left)
        n = (size_t)left;
    if (n > 0) {
        int err = pread_all(r->fd, r->buf + keep, n, r->off);
        if (err != 0) {
            r->error = err;
            return false;
        }
        r->off += n;
        r->len += n;
    }
    return r->len - r->pos >= need;
}

static bool cut(kdpc__spool_reader *r)
{
    if (r->error == 0)
        r->error = EIO; /* a record cut short, or not a record */
    return false;
}

bool kdpc__spool_reader_next(kdpc__spool_reader *r, kdpc_event *e)
{
    if (r->error != 0 || r->buf == NULL)
        return false;
    if (!fill(r, 1)) {
        if (r->error == 0 && r->len != r->pos)
            r->error = EIO;
        return false;
    }
    uint64_t w[5];
    uint64_t ridx;
    unsigned char b = r->buf[r->pos];
    if (b >= 0x80u || (b & 3u) == 2u) {
        if (b >= 0x80u) {
            w[0] = r->hist[b & 0x7fu];
            if (w[0] == 0)
                return cut(r);
            r->pos += 1;
        } else {
            if (!fill(r, 8))
                return cut(r);
            memcpy(w, r->buf + r->pos, 8);
            r->pos += 8;
            r->hist[kdpc__spool_hist_slot(w[0])] = w[0];
        }
        r->time += (w[0] >> 22) & 0x1fffu;
        e->kind = (uint32_t)((w[0] >> 8) & 0x3fu);
        e->cpu = (uint16_t)((w[0] >> 14) & 0x3fu);
        e->locks = (uint8_t)((w[0] >> 20) & 3u);
        e->object_id = (w[0] >> 35) & 0xfffu;
        ridx = (w[0] >> 47) & 0x3fu;
        e->arg = (w[0] >> 53) & 0x3ffu;
        e->arg2 = w[0] >> 63;
    } else if ((b & 3u) == 0) {
        if (!fill(r, 16))
            return cut(r);
        memcpy(w, r->buf + r->pos, 16);
        r->pos += 16;
        r->time += w[0] >> 32;
        e->kind = (uint32_t)((w[0] >> 8) & 0xffu);
        e->cpu = (uint16_t)((w[0] >> 16) & 0x3fu);
        e->locks = (uint8_t)(w[0] >> 24);
        e->object_id = w[1] & 0xffffffu;
        ridx = (w[1] >> 24) & 0x3ffu;
        e->arg = (w[1] >> 34) & 0x7fffu;
        e->arg2 = w[1] >> 49;
    } else if ((b & 3u) == 1u) {
        if (!fill(r, 40))
            return cut(r);
        memcpy(w, r->buf + r->pos, 40);
        r->pos += 40;
        r->time = w[1];
        e->kind = (uint32_t)((w[0] >> 8) & 0xffu);
        e->cpu = (uint16_t)((w[0] >> 16) & 0x3fu);
        e->locks = (uint8_t)(w[0] >> 24);
        ridx = w[0] >> 32;
        e->object_id = w[2];
        e->arg = w[3];
        e->arg2 = w[4];
    } else {
        return cut(r);
    }
    e->seq = r->seq++;
    e->time_ns = r->time;
    e->irql = (uint8_t)((w[0] >> 2) & 0x1fu);
    e->object = 0;
    e->routine = ridx < r->nroutines ? r->routines[ridx] : 0;
    return true;
}

void kdpc__spool_reader_close(kdpc__spool_reader *r)
{
    free(r->buf);
    free(r->routines);
    memset(r, 0, sizeof(*r));
    r->fd = -1; /* the spool's: not closed here */
}

int kdpc__spool_names(kdpc__spool *s, void (*fn)(void *ctx, uint64_t id, const char *name),
                      void *ctx)
{
    int err = kdpc__spool_flush(s);
    return err != 0 ? err : walk_meta(s, NULL, fn, ctx);
}
