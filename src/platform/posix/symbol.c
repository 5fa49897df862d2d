/* SPDX-License-Identifier: MIT */
/*
 * posix/symbol.c - names of code addresses for reports: the dynamic symbol
 * table through dladdr().
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"

const char *kdpc__symbol_name(const void *addr)
{
    Dl_info info;
    void *p;
    memcpy(&p, &addr, sizeof(p));
    if (addr != NULL && dladdr(p, &info) != 0 && info.dli_sname != NULL && info.dli_saddr == p)
        return info.dli_sname;
    return NULL;
}

char *kdpc__symbol_describe(uintptr_t addr, char *buf, size_t n)
{
    Dl_info info;
    void *p = (void *)addr;
    if (n == 0)
        return buf;
    if (addr != 0 && dladdr(p, &info) != 0 && info.dli_sname != NULL) {
        uintptr_t base = (uintptr_t)info.dli_saddr;
        snprintf(buf, n, "%s+%#" PRIxPTR, info.dli_sname, addr - base);
        return buf;
    }
    snprintf(buf, n, "%#" PRIxPTR, addr);
    return buf;
}
