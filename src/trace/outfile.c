/* SPDX-License-Identifier: MIT */
/*
 * outfile.c - the output file of an export: written under a temporary name
 * beside the path and renamed into place when complete, so the path holds
 * either the whole file or what it held before.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/export.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

kdpc_status kdpc__outfile_open(kdpc__outfile *o, const char *path)
{
    static atomic_uint counter;
    memset(o, 0, sizeof *o);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            return KDPC_EOUTPUT;
        }
        o->f = fopen(path, "w"); /* a device or FIFO: in place */
        if (o->f == NULL)
            return KDPC_EOUTPUT;
        o->path = dup_str(path);
        if (o->path == NULL) {
            fclose(o->f);
            o->f = NULL;
            return KDPC_ENOMEM;
        }
        return KDPC_OK;
    }
    /* A symbolic link keeps pointing where it did: its target gets the file. */
    char *real = realpath(path, NULL);
    o->path = real != NULL ? real : dup_str(path);
    if (o->path == NULL)
        return KDPC_ENOMEM;
    size_t n = strlen(o->path) + 48;
    o->tmp = malloc(n);
    if (o->tmp == NULL) {
        free(o->path);
        o->path = NULL;
        return KDPC_ENOMEM;
    }
    int fd = -1;
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        snprintf(o->tmp, n, "%s.tmp-%ld-%u", o->path, (long)getpid(),
                 atomic_fetch_add(&counter, 1u));
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd >= 0) {
        o->f = fdopen(fd, "w");
        if (o->f == NULL) {
            int e = errno;
            close(fd);
            unlink(o->tmp);
            errno = e;
        }
    }
    if (o->f == NULL) {
        int e = errno;
        free(o->tmp);
        free(o->path);
        o->tmp = o->path = NULL;
        errno = e;
        return KDPC_EOUTPUT;
    }
    return KDPC_OK;
}

kdpc_status kdpc__outfile_close(kdpc__outfile *o, bool ok)
{
    int e = ok ? 0 : errno;
    if (ok && (fflush(o->f) != 0 || ferror(o->f))) {
        e = errno != 0 ? errno : EIO;
        ok = false;
    }
    if (fclose(o->f) != 0 && ok) {
        e = errno;
        ok = false;
    }
    o->f = NULL;
    if (ok && o->tmp != NULL && rename(o->tmp, o->path) != 0) {
        e = errno;
        ok = false;
    }
    if (!ok && o->tmp != NULL)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    if (!ok) {
        errno = e != 0 ? e : EIO;
        return KDPC_EOUTPUT;
    }
    return KDPC_OK;
}
