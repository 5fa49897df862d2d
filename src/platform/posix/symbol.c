/* SPDX-License-Identifier: MIT */
/*
 * posix/symbol.c - names of code addresses for reports.
 *
 * With elfutils' libdw (KDPC_HAVE_LIBDW, CMake option KDPC_WITH_LIBDW): the
 * full symbol table of every module mapped into the process (.symtab, so
 * static functions too, no -rdynamic needed) and file:line from DWARF where
 * the module has debug info. One Dwfl session per process, created on first
 * use and kept (reachable from a static pointer) until exit: names it hands
 * out point into its tables and stay valid. libdw is not thread-safe, so a
 * mutex serialises every use.
 *
 * Without libdw, or when libdw knows nothing of an address: dladdr(), which
 * sees only the dynamic symbol table (exported functions).
 *
 * kdpc__stack_bounds lives here too: like a symbol, it asks the host about
 * the process's own memory.
 *
 * Separate debug files are not searched (no debuginfod, no network): only
 * the debug info inside the module itself is used.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/platform.h"

#if defined(KDPC_HAVE_LIBDW)
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

static pthread_mutex_t dw_mu = PTHREAD_MUTEX_INITIALIZER;
static Dwfl *dw_session;   /* dw_mu; kept until exit */
static int dw_failed;      /* dw_mu: creation failed once: do not retry */
static unsigned dw_misses; /* dw_mu: re-reports of the process maps after a miss */

/* No separate debug files: only the module's own sections (no debuginfod lookups). */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                        char **debuginfo_file_name)
{
    (void)mod;
    (void)userdata;
    (void)modname;
    (void)base;
    (void)file_name;
    (void)debuglink_file;
    (void)debuglink_crc;
    (void)debuginfo_file_name;
    return -1;
}

static const Dwfl_Callbacks dw_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = no_debuginfo,
};

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

/* Report the modules mapped now (adding to those already known). dw_mu held. */
static int dw_report(Dwfl *d, bool add)
{
    if (add)
        dwfl_report_begin_add(d);
    else
        dwfl_report_begin(d);
    int rc = dwfl_linux_proc_report(d, getpid());
    if (dwfl_report_end(d, NULL, NULL) != 0)
        return -1;
    return rc;
}

/* The session, created on first use. dw_mu held. */
static Dwfl *dw_get(void)
{
    if (dw_session != NULL || dw_failed)
        return dw_session;
    Dwfl *d = dwfl_begin(&dw_callbacks);
    if (d == NULL || dw_report(d, false) != 0) {
        if (d != NULL)
            dwfl_end(d);
        dw_failed = 1;
        return NULL;
    }
    dw_session = d;
    return d;
}

/* The module holding addr; a library loaded after the session began is reported on a miss
 * (a few times at most, so unknown addresses stay cheap). dw_mu held. */
static Dwfl_Module *dw_module(Dwfl *d, Dwarf_Addr a)
{
    Dwfl_Module *mod = dwfl_addrmodule(d, a);
    if (mod == NULL && dw_misses < 8) {
        dw_misses++;
        if (dw_report(d, true) == 0)
            mod = dwfl_addrmodule(d, a);
    }
    return mod;
}

/* Symbol containing addr and the offset into it; NULL when none. Code only when func.
 * dw_mu held. */
static const char *dw_symbol(Dwfl_Module *mod, Dwarf_Addr a, GElf_Off *off, bool func,
                             bool *is_func)
{
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(mod, a, off, &sym, NULL, NULL, NULL);
    if (name == NULL || name[0] == '\0')
        return NULL;
    unsigned type = GELF_ST_TYPE(sym.st_info);
    bool f = type == STT_FUNC || type == STT_GNU_IFUNC;
    if (func && !f)
        return NULL;
    if (!f && type != STT_OBJECT && type != STT_TLS)
        return NULL;
    if (!f && *off >= sym.st_size)
        return NULL; /* past the end of the nearest variable: not covered */
    if (is_func != NULL)
        *is_func = f;
    return name;
}

/* The compile unit holding code address a. dw_mu held. */
static Dwarf_Die *dw_cu(Dwfl_Module *mod, Dwarf_Addr a, Dwarf_Addr *bias)
{
    Dwarf_Die *cu = dwfl_module_addrdie(mod, a, bias);
    if (cu != NULL)
        return cu;
    /* No .debug_aranges (clang emits none by default): look through the units themselves. */
    while ((cu = dwfl_module_nextcu(mod, cu, bias)) != NULL) {
        if (dwarf_haspc(cu, a - *bias) > 0)
            return cu;
    }
    return NULL;
}

/* When a is inside code inlined into its function (a static inline wrapper such as
 * KeInitializeSpinLock), the line of the outermost inlined call: the line in the function
 * the symbol names. dw_mu held. */
static const char *dw_call_site(Dwarf_Die *cu, Dwarf_Addr pc, int *lineno)
{
    Dwarf_Die *scopes = NULL;
    int n = dwarf_getscopes(cu, pc, &scopes);
    const char *file = NULL;
    int outer = -1;
    for (int i = 0; i < n; i++) {
        if (dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine)
            outer = i;
    }
    if (outer >= 0) {
        Dwarf_Attribute at;
        Dwarf_Word line = 0, idx = 0;
        Dwarf_Files *files = NULL;
        size_t nfiles = 0;
        if (dwarf_formudata(dwarf_attr(&scopes[outer], DW_AT_call_line, &at), &line) == 0 &&
            dwarf_formudata(dwarf_attr(&scopes[outer], DW_AT_call_file, &at), &idx) == 0 &&
            dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && idx < nfiles && line > 0 &&
            line <= (Dwarf_Word)INT_MAX) {
            file = dwarf_filesrc(files, idx, NULL, NULL);
            *lineno = (int)line;
        }
    }
    free(scopes);
    return file;
}

/* Source file and line of code address a, in the function that holds it; NULL when unknown.
 * dw_mu held. */
static const char *dw_line(Dwfl_Module *mod, Dwarf_Addr a, int *lineno)
{
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dw_cu(mod, a, &bias);
    if (cu == NULL)
        return NULL;
    const char *file = dw_call_site(cu, a - bias, lineno);
    if (file != NULL)
        return file;
    Dwarf_Line *l = dwarf_getsrc_die(cu, a - bias);
    if (l == NULL || dwarf_lineno(l, lineno) != 0)
        return NULL;
    return dwarf_linesrc(l, NULL, NULL);
}

/* Describe addr as "name+0x1c (file.c:123)" (code) or "name[+0x10]" (data). dw_mu held. */
static bool dw_describe(uintptr_t addr, char *buf, size_t n, bool code_only)
{
    Dwfl *d = dw_get();
    if (d == NULL)
        return false;
    Dwarf_Addr a = (Dwarf_Addr)addr;
    Dwfl_Module *mod = dw_module(d, a);
    GElf_Off off = 0;
    bool f = false;
    const char *name = mod != NULL ? dw_symbol(mod, a, &off, code_only, &f) : NULL;
    if (name == NULL)
        return false;
    if (!f) {
        if (off == 0)
            snprintf(buf, n, "%s", name);
        else
            snprintf(buf, n, "%s+0x%" PRIx64, name, (uint64_t)off);
        return true;
    }
    int lineno = 0;
    const char *file = dw_line(mod, a, &lineno);
    if (file != NULL && lineno > 0)
        snprintf(buf, n, "%s+0x%" PRIx64 " (%s:%d)", name, (uint64_t)off, base_name(file), lineno);
    else
        snprintf(buf, n, "%s+0x%" PRIx64, name, (uint64_t)off);
    return true;
}
/* A lookup under dw_mu, run where the stack has room (kdpc__fiber_call_roomy): libdw needs
 * more than a simulated thread with a small stack may have left. */
typedef struct dw_job {
    uintptr_t addr;
    char *buf; /* describe: where; NULL: name of the function starting at addr */
    size_t n;
    bool code_only;
    bool done;
    const char *name;
    bool unit; /* name: the compile unit holding addr instead */
} dw_job;

/* Name (as compiled: usually the absolute source path) of the compile unit holding code
 * address a. dw_mu held. */
static const char *dw_unit(Dwarf_Addr a)
{
    Dwfl *d = dw_get();
    Dwfl_Module *mod = d != NULL ? dw_module(d, a) : NULL;
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = mod != NULL ? dw_cu(mod, a, &bias) : NULL;
    return cu != NULL ? dwarf_diename(cu) : NULL;
}

static void dw_run(void *p)
{
    dw_job *j = p;
    pthread_mutex_lock(&dw_mu);
    if (j->unit) {
        j->name = dw_unit((Dwarf_Addr)j->addr);
    } else if (j->buf != NULL) {
        j->done = dw_describe(j->addr, j->buf, j->n, j->code_only);
    } else {
        Dwfl *d = dw_get();
        if (d != NULL) {
            Dwarf_Addr a = (Dwarf_Addr)j->addr;
            Dwfl_Module *mod = dw_module(d, a);
            GElf_Off off = 0;
            if (mod != NULL) {
                const char *name = dw_symbol(mod, a, &off, true, NULL);
                if (name != NULL && off == 0)
                    j->name = name;
            }
        }
    }
    pthread_mutex_unlock(&dw_mu);
}

static void dw_call(dw_job *j)
{
    kdpc__host_busy_enter();
    kdpc__fiber_call_roomy(dw_run, j);
    kdpc__host_busy_leave();
}
#endif /* KDPC_HAVE_LIBDW */

const char *kdpc__symbol_unit(uintptr_t addr)
{
    if (addr == 0)
        return NULL;
#if defined(KDPC_HAVE_LIBDW)
    dw_job j = {addr, NULL, 0, true, false, NULL, true};
    dw_call(&j);
    return j.name;
#else
    return NULL;
#endif
}

const char *kdpc__symbol_name(const void *addr)
{
    if (addr == NULL)
        return NULL;
    void *p;
    memcpy(&p, &addr, sizeof(p));
#if defined(KDPC_HAVE_LIBDW)
    dw_job j = {(uintptr_t)p, NULL, 0, true, false, NULL, false};
    dw_call(&j);
    if (j.name != NULL)
        return j.name;
#endif
    Dl_info info;
    if (dladdr(p, &info) != 0 && info.dli_sname != NULL && info.dli_saddr == p)
        return info.dli_sname;
    return NULL;
}

char *kdpc__symbol_describe(uintptr_t addr, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    if (addr == 0) {
        snprintf(buf, n, "0x0");
        return buf;
    }
#if defined(KDPC_HAVE_LIBDW)
    dw_job j = {addr, buf, n, true, false, NULL, false};
    dw_call(&j);
    if (j.done)
        return buf;
#endif
    Dl_info info;
    void *p = (void *)addr;
    if (dladdr(p, &info) != 0 && info.dli_sname != NULL) {
        uintptr_t base = (uintptr_t)info.dli_saddr;
        snprintf(buf, n, "%s+0x%" PRIxPTR, info.dli_sname, addr - base);
        return buf;
    }
    snprintf(buf, n, "%#" PRIxPTR, addr);
    return buf;
}

const char *kdpc__symbol_label(uintptr_t addr, char *buf, size_t n)
{
    if (n == 0 || addr == 0)
        return NULL;
#if defined(KDPC_HAVE_LIBDW)
    dw_job j = {addr, buf, n, false, false, NULL, false};
    dw_call(&j);
    return j.done ? buf : NULL;
#else
    Dl_info info;
    void *p = (void *)addr;
    /* dladdr names the nearest exported symbol below any address of a module, covered or
     * not: trust only an exact start. */
    if (dladdr(p, &info) != 0 && info.dli_sname != NULL && info.dli_saddr == p) {
        snprintf(buf, n, "%s", info.dli_sname);
        return buf;
    }
    return NULL;
#endif
}

int kdpc__stack_bounds(uintptr_t *lo, size_t *size)
{
    if (kdpc__fiber_stack(lo, size))
        return 0; /* on a fiber: its own stack */
#if defined(__linux__)
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return -1;
    void *addr = NULL;
    size_t n = 0;
    int rc = pthread_attr_getstack(&attr, &addr, &n);
    pthread_attr_destroy(&attr);
    if (rc != 0 || addr == NULL || n == 0)
        return -1;
    *lo = (uintptr_t)addr;
    *size = n;
    return 0;
#else
    (void)lo;
    (void)size;
    return -1;
#endif
}
