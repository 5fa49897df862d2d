/* SPDX-License-Identifier: MIT */
/*
 * rules.c - the rule table, per-machine actions, recording of violations,
 * the bug check report and the halt.
 *
 * A bug check prints one greppable line,
 *   KDPC BUGCHECK 0x000000C8 IRQL_UNEXPECTED_VALUE (0x20003, 0x..., 0x..., 0x0)
 * and a report naming the rule, its guideline in words, the routine, the
 * CPU, IRQL, virtual time and seed; then every simulated context unwinds
 * and kdpc_machine_run returns KDPC_BUGCHECK.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/dev.h"
#include "trace/trace.h"
#include "verifier/verifier.h"

#if defined(__GLIBC__) || defined(__APPLE__)
#include <execinfo.h>
#define KDPC_HAVE_BACKTRACE 1
#endif

typedef struct rule_info {
    const char *id;
    bool fatal;
    const char *g;
    uint32_t cls; /* Driver Verifier option bit, 0 for the classes without one */
    const char *cls_name;
    const char *ms;
    const char *text;
} rule_info;

static const rule_info rules[KDPC_RULE_COUNT] = {
#define KDPC_RULE(e, id, fatal, g, cls, ms, text)                                                  \
    {id, fatal, g, KDPC_RULE_CLASS_##cls, #cls, ms, text},
#include "verifier/rules.def"
#undef KDPC_RULE
};

/* The guidelines of docs/guidelines.md, in our own short words. */
static const char *guideline_text(const char *g)
{
    static const struct {
        const char *g;
        const char *text;
    } texts[] = {
        {"G1", "G1: state shared with the ISR is touched only inside a SynchCritSection run by "
               "KeSynchronizeExecution"},
        {"G2", "G2: state shared with non-ISR routines is guarded by a driver-initialised "
               "executive spin lock, taken and released properly and in one order"},
        {"G3", "G3: DPCs run at DISPATCH_LEVEL: no pageable memory, no waits, and every raise "
               "is undone by the routine that made it"},
        {"G4", "G4: KeAcquireSpinLockAtDpcLevel / KeReleaseSpinLockFromDpcLevel at "
               "DISPATCH_LEVEL only; KeAcquireSpinLock / KeReleaseSpinLock at or below it"},
        {"G5", "G5: blocking work goes to a PASSIVE_LEVEL work item"},
        {"G8", "G8: a DPC runs at most 100 us per call and a spin lock is held at most 25 us; "
               "longer work is chained through CustomTimerDpc or handed to worker threads"},
        {"G6", "G6: the DPC starts the next I/O (IoStartNextPacket at DISPATCH_LEVEL) and "
               "completes the current IRP; every IRP taken is completed"},
        {"G9", "G9: a DPC stalls at most 100 us with KeStallExecutionProcessor"},
        {"G13", "G13: the DPC logs device errors, retries, sets the I/O status block and calls "
                "IoCompleteRequest exactly once, with a final status"},
        {"G11", "G11: packet DMA flushes the adapter buffers after each transfer and frees the "
                "adapter channel or map registers before the IRP is completed"},
        {"G12", "G12: a controller object is freed before the IRP is completed, and what a "
                "driver frees holds nothing still in use (no queued DPC, set timer or queued "
                "work item inside it)"},
        {"G17", "G17: a PIO read calls KeFlushIoBuffers at the end of each transfer"},
        {"G16", "G16: buffered data goes to Irp->AssociatedIrp.SystemBuffer, within the "
                "request's buffer, before completion"},
        {"G10", "G10: an ISR runs at most 25 us; DPC and ISR time is measured"},
        {"G18", "G18: the ISR claims its device's interrupt (returns TRUE) and queues the DPC "
                "with IoRequestDpc before returning"},
        {"DV", "DV: a Driver Verifier check or DDI compliance rule of Microsoft's that no "
               "guideline of docs/guidelines.md covers"},
        {"--", "the driver stopped the machine itself"},
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (strcmp(texts[i].g, g) == 0)
            return texts[i].text;
    }
    return g;
}

/* The rule's own line of text (rules.def). */
static const char *rule_text(unsigned rule)
{
    return rules[rule].text;
}

const char *kdpc__bugcheck_name(uint32_t code)
{
    switch (code) {
    case 0x09:
        return "IRQL_NOT_GREATER_OR_EQUAL";
    case 0x0A:
        return "IRQL_NOT_LESS_OR_EQUAL";
    case 0x0C:
        return "MAXIMUM_WAIT_OBJECTS_EXCEEDED";
    case 0x0F:
        return "SPIN_LOCK_ALREADY_OWNED";
    case 0x10:
        return "SPIN_LOCK_NOT_OWNED";
    case 0x1E:
        return "KMODE_EXCEPTION_NOT_HANDLED";
    case 0x44:
        return "MULTIPLE_IRP_COMPLETE_REQUESTS";
    case 0x48:
        return "CANCEL_STATE_IN_COMPLETED_IRP";
    case 0x4A:
        return "IRQL_GT_ZERO_AT_SYSTEM_SERVICE";
    case 0x50:
        return "PAGE_FAULT_IN_NONPAGED_AREA";
    case 0xB8:
        return "ATTEMPTED_SWITCH_FROM_DPC";
    case 0xC1:
        return "SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION";
    case 0xC2:
        return "BAD_POOL_CALLER";
    case 0xC4:
        return "DRIVER_VERIFIER_DETECTED_VIOLATION";
    case 0xC7:
        return "TIMER_OR_DPC_INVALID";
    case 0xC8:
        return "IRQL_UNEXPECTED_VALUE";
    case 0xC9:
        return "DRIVER_VERIFIER_IOMANAGER_VIOLATION";
    case 0xCE:
        return "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS";
    case 0xD1:
        return "DRIVER_IRQL_NOT_LESS_OR_EQUAL";
    case 0xE1:
        return "WORKER_THREAD_RETURNED_AT_BAD_IRQL";
    case 0xE4:
        return "WORKER_INVALID";
    case 0xE6:
        return "DRIVER_VERIFIER_DMA_VIOLATION";
    case 0xF2:
        return "HARDWARE_INTERRUPT_STORM";
    case 0x102:
        return "DPC_WATCHDOG_TIMEOUT";
    case 0x11B:
        return "DRIVER_RETURNED_HOLDING_CANCEL_LOCK";
    case 0x133:
        return "DPC_WATCHDOG_VIOLATION";
    case 0:
        return "KDPC_RULE_VIOLATION";
    default:
        return "BUGCHECK";
    }
}

/* ------------------------------------------------------------------ */
/* Readable reports: object names, lock call sites, warning counts      */

#define SITE_FRAMES 6

typedef struct lock_site {
    void *pc[SITE_FRAMES]; /* return addresses from inside KeInitializeSpinLock outwards */
    int n;
} lock_site;

typedef struct warn_count {
    unsigned rule;
    char *routine;   /* as printed in the report */
    uint64_t silent; /* occurrences counted since the last summary line */
} warn_count;

typedef struct kdpc__reports {
    kdpc__ptrmap names; /* object address -> char *, kdpc_name_object */
    kdpc__ptrmap sites; /* spin lock address -> lock_site *, KeInitializeSpinLock */
    warn_count *wc;     /* one per rule and routine that warned */
    size_t nwc, capwc;
    bool where_set; /* kdpc__ver_where: context of the next violation */
    unsigned where_cpu;
    uint8_t where_irql;
} kdpc__reports;

static kdpc__reports *reports_of(const kdpc_machine *m)
{
    return kdpc__ver_of(m)->reports;
}

/* Drop every key in [lo, hi) of pm, freeing its value. Probes each 4-byte aligned address when
 * that is cheaper than scanning the whole map. */
static void map_forget_range(kdpc__ptrmap *pm, uintptr_t lo, uintptr_t hi)
{
    if (pm->live == 0 || hi <= lo)
        return;
    if ((hi - lo) / 4u <= pm->cap) {
        for (uintptr_t a = lo & ~(uintptr_t)3; a < hi; a += 4) {
            if (a >= lo && a > 1)
                free(kdpc__ptrmap_del(pm, a));
        }
        return;
    }
    for (size_t i = 0; i < pm->cap; i++) {
        uintptr_t k = pm->keys[i];
        if (k > 1 && k >= lo && k < hi)
            free(kdpc__ptrmap_del(pm, k));
    }
}

static void map_free_all(kdpc__ptrmap *pm)
{
    for (size_t i = 0; i < pm->cap; i++) {
        if (pm->keys[i] > 1)
            free(pm->vals[i]);
    }
    kdpc__ptrmap_free(pm);
}

void kdpc__ver_forget_range(kdpc_machine *m, const void *p, size_t bytes)
{
    if (m == NULL || m->ver == NULL || p == NULL || bytes == 0)
        return;
    kdpc__reports *r = reports_of(m);
    uintptr_t lo = (uintptr_t)p;
    uintptr_t hi = lo + bytes < lo ? UINTPTR_MAX : lo + bytes;
    map_forget_range(&r->names, lo, hi);
    map_forget_range(&r->sites, lo, hi);
}

void kdpc__ver_lock_site(kdpc_machine *m, const void *lock)
{
    if (m == NULL || m->ver == NULL || lock == NULL)
        return;
#if defined(KDPC_HAVE_BACKTRACE)
    kdpc__reports *r = reports_of(m);
    lock_site *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return;
    void *pc[SITE_FRAMES + 1];
    kdpc__host_busy_enter(); /* the first call loads the unwinder: not to be left by a jump */
    int n = backtrace(pc, SITE_FRAMES + 1); /* pc[0] is this function */
    kdpc__host_busy_leave();
    for (int i = 1; i < n; i++)
        s->pc[s->n++] = pc[i];
    free(kdpc__ptrmap_del(&r->sites, (uintptr_t)lock));
    if (!kdpc__ptrmap_put(&r->sites, (uintptr_t)lock, s))
        free(s);
#endif
}

/* Is this frame kdpc's own (KeInitializeSpinLock and the wrappers around it)? */
static bool kdpc_frame(const char *label)
{
    return strncmp(label, "kdpc_", 5) == 0 || strncmp(label, "KeInitializeSpinLock", 20) == 0;
}

static const char *site_label(const lock_site *s, char *buf, size_t n)
{
    char d[192];
    for (int i = 0; i < s->n; i++) {
        /* a return address: the call is the instruction before it */
        uintptr_t pc = (uintptr_t)s->pc[i] - 1;
        if (kdpc__symbol_label(pc, d, sizeof(d)) == NULL)
            return NULL;
        if (kdpc_frame(d))
            continue;
        snprintf(buf, n, "spin lock initialised in %s", d);
        return buf;
    }
    return NULL;
}

const char *kdpc__object_label(kdpc_machine *m, const void *obj, char *buf, size_t n)
{
    if (m == NULL || m->ver == NULL || obj == NULL || n == 0)
        return NULL;
    kdpc__reports *r = reports_of(m);
    const char *name = kdpc__ptrmap_get(&r->names, (uintptr_t)obj);
    if (name != NULL)
        return name;
    const lock_site *s = kdpc__ptrmap_get(&r->sites, (uintptr_t)obj);
    if (s != NULL && site_label(s, buf, n) != NULL)
        return buf;
    const kdpc_device *dev = kdpc__dev_lookup(m, obj); /* a device model: its name */
    if (dev != NULL && kdpc__dev_desc(dev)->name != NULL)
        return kdpc__dev_desc(dev)->name;
    return kdpc__symbol_label((uintptr_t)obj, buf, n);
}

const char *kdpc__object_given_name(kdpc_machine *m, const void *obj)
{
    if (m == NULL || m->ver == NULL || obj == NULL)
        return NULL;
    return kdpc__ptrmap_get(&reports_of(m)->names, (uintptr_t)obj);
}

kdpc_status kdpc_name_object(kdpc_machine *m, const void *object, const char *name)
{
    if (m == NULL || object == NULL || name == NULL)
        return KDPC_EINVAL;
    kdpc__reports *r = reports_of(m);
    size_t len = strlen(name);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return KDPC_ENOMEM;
    memcpy(copy, name, len + 1);
    char *old = kdpc__ptrmap_get(&r->names, (uintptr_t)object);
    if (!kdpc__ptrmap_put(&r->names, (uintptr_t)object, copy)) {
        free(copy);
        return KDPC_ENOMEM;
    }
    free(old);
    if (m->hooks.named != NULL)
        m->hooks.named(m, object, copy); /* the trace records the name of a numbered object */
    return KDPC_OK;
}

void kdpc__ver_where(kdpc_machine *m, unsigned cpu, uint8_t irql)
{
    kdpc__reports *r = reports_of(m);
    if (cpu >= m->ncpu)
        return;
    r->where_set = true;
    r->where_cpu = cpu;
    r->where_irql = irql;
}

/* Print (and reset) the silent counts of repeated warnings. */
static void print_summaries(kdpc_machine *m)
{
    kdpc__reports *r = reports_of(m);
    FILE *f = m->cfg.log;
    for (size_t i = 0; i < r->nwc; i++) {
        warn_count *w = &r->wc[i];
        if (w->silent == 0)
            continue;
        if (f != NULL) {
            if (w->routine[0] != '\0')
                fprintf(f, "KDPC WARNING %s in %s: %" PRIu64 " more time%s\n", rules[w->rule].id,
                        w->routine, w->silent, w->silent == 1 ? "" : "s");
            else
                fprintf(f, "KDPC WARNING %s: %" PRIu64 " more time%s\n", rules[w->rule].id,
                        w->silent, w->silent == 1 ? "" : "s");
        }
        w->silent = 0;
    }
    if (f != NULL)
        fflush(f);
}

void kdpc__ver_run_end(kdpc_machine *m)
{
    if (m == NULL || m->ver == NULL)
        return;
    print_summaries(m);
}

/* A warning of @rule in @routine: true when it is the first (print it in full); later ones
 * are counted for the summary line. */
static bool first_warning(kdpc_machine *m, unsigned rule, const char *routine)
{
    kdpc__reports *r = reports_of(m);
    for (size_t i = 0; i < r->nwc; i++) {
        if (r->wc[i].rule == rule && strcmp(r->wc[i].routine, routine) == 0) {
            r->wc[i].silent++;
            return false;
        }
    }
    if (r->nwc == r->capwc) {
        size_t ncap = r->capwc ? r->capwc * 2 : 8;
        warn_count *nw = realloc(r->wc, ncap * sizeof(*nw));
        if (nw == NULL)
            return true; /* out of host memory: print every one */
        r->wc = nw;
        r->capwc = ncap;
    }
    size_t len = strlen(routine);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return true;
    memcpy(copy, routine, len + 1);
    r->wc[r->nwc++] = (warn_count){rule, copy, 0};
    return true;
}

static void reports_free(kdpc_machine *m)
{
    kdpc__reports *r = reports_of(m);
    if (r == NULL)
        return;
    print_summaries(m);
    map_free_all(&r->names);
    map_free_all(&r->sites);
    for (size_t i = 0; i < r->nwc; i++)
        free(r->wc[i].routine);
    free(r->wc);
    free(r);
    kdpc__ver_of(m)->reports = NULL;
}

int kdpc__ver_init(kdpc_machine *m)
{
    kdpc__ver *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return -1;
    v->vcpu = calloc(m->ncpu, sizeof(*v->vcpu));
    v->reports = calloc(1, sizeof(*v->reports));
    if (v->vcpu == NULL || v->reports == NULL) {
        free(v->reports);
        free(v->vcpu);
        free(v);
        return -1;
    }
    for (unsigned i = 0; i < KDPC_RULE_COUNT; i++)
        v->action[i] = rules[i].fatal ? KDPC_RULE_BUGCHECK : KDPC_RULE_WARN;
    v->vflags = KDPC_VERIFIER_STANDARD;
    if (m->cfg.low_resources_permille != 0)
        v->vflags |= KDPC_VERIFIER_LOW_RESOURCES;
    for (unsigned i = 0; i < m->ncpu; i++)
        m->cpus[i].ver = &v->vcpu[i];
    m->ver = v;
    return 0;
}

void kdpc__ver_free(kdpc_machine *m)
{
    kdpc__ver *v = m->ver;
    if (v == NULL)
        return;
    reports_free(m);
    for (size_t i = 0; i < v->nv; i++) {
        free((char *)(uintptr_t)v->v[i]->message);
        free((char *)(uintptr_t)v->v[i]->routine);
        free(v->v[i]);
    }
    free(v->v);
    for (size_t i = 0; i < v->names.cap; i++) {
        if (v->names.keys[i] > 1)
            free(v->names.vals[i]);
    }
    kdpc__ptrmap_free(&v->names);
    kdpc__lockset_free(v);
    free(v->vcpu);
    free(v);
    m->ver = NULL;
}

/* The rule's action with its class taken into account. */
static unsigned effective_action(const kdpc__ver *v, unsigned rule)
{
    uint32_t cls = rules[rule].cls;
    return cls != 0 && (v->vflags & cls) == 0 ? KDPC_RULE_OFF : v->action[rule];
}

bool kdpc__rule_on(const kdpc_machine *m, kdpc__rule rule)
{
    return effective_action(kdpc__ver_of(m), rule) != KDPC_RULE_OFF;
}

unsigned kdpc__ver_low_resources_permille(const kdpc_machine *m)
{
    if ((kdpc__ver_of(m)->vflags & KDPC_VERIFIER_LOW_RESOURCES) == 0)
        return 0;
    return m->cfg.low_resources_permille != 0 ? m->cfg.low_resources_permille : 60;
}

const char *kdpc__routine_name(kdpc_machine *m, kdpc_routine_ptr routine)
{
    static _Thread_local char buf[32];
    if (routine == NULL)
        return "";
    kdpc__ver *v = kdpc__ver_of(m);
    uintptr_t key = kdpc__fnaddr(routine);
    const char *name = kdpc__ptrmap_get(&v->names, key);
    if (name != NULL)
        return name;
    const void *addr = (const void *)key;
    name = kdpc__symbol_name(addr);
    if (name != NULL)
        return name;
    snprintf(buf, sizeof(buf), "routine@%#" PRIxPTR, key);
    return buf;
}

kdpc_status kdpc_name_routine(kdpc_machine *m, kdpc_routine_ptr routine, const char *name)
{
    if (m == NULL || routine == NULL || name == NULL)
        return KDPC_EINVAL;
    kdpc__ver *v = kdpc__ver_of(m);
    char *copy = malloc(strlen(name) + 1);
    if (copy == NULL)
        return KDPC_ENOMEM;
    strcpy(copy, name);
    uintptr_t key = kdpc__fnaddr(routine);
    char *old = kdpc__ptrmap_get(&v->names, key);
    if (!kdpc__ptrmap_put(&v->names, key, copy)) {
        free(copy);
        return KDPC_ENOMEM;
    }
    free(old);
    return KDPC_OK;
}

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *s = malloc((size_t)n + 1);
    if (s != NULL)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static char *dupstr(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (d != NULL)
        strcpy(d, s);
    return d;
}

static char *append(char *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *append(char *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *tail = vformat(fmt, ap);
    va_end(ap);
    if (tail == NULL)
        return s;
    size_t a = strlen(s), b = strlen(tail);
    char *n = realloc(s, a + b + 1);
    if (n != NULL)
        memcpy(n + a, tail, b + 1);
    free(tail);
    return n != NULL ? n : s;
}

/* Name the objects a message mentions: after each hexadecimal address that names something
 * (kdpc_name_object, a spin lock's KeInitializeSpinLock call site, a static variable, code)
 * insert " (name)". Takes and returns a malloc'd string. */
static char *annotate(kdpc_machine *m, char *msg)
{
    if (msg == NULL)
        return NULL;
    char *out = NULL;
    size_t done = 0; /* bytes of msg already copied to out */
    for (size_t i = 0; msg[i] != '\0'; i++) {
        if (!(msg[i] == '0' && (msg[i + 1] == 'x' || msg[i + 1] == 'X')) ||
            (i > 0 && isalnum((unsigned char)msg[i - 1])))
            continue;
        size_t j = i + 2;
        uintptr_t a = 0;
        while (isxdigit((unsigned char)msg[j])) {
            int d = msg[j];
            a = (a << 4) | (uintptr_t)(isdigit(d) ? d - '0' : (tolower(d) - 'a' + 10));
            j++;
        }
        if (j - i < 2 + 4 || j - i > 2 + 16 || msg[j] == '(')
            continue; /* short numbers are not addresses */
        char buf[256];
        const char *label = kdpc__object_label(m, (const void *)a, buf, sizeof(buf));
        if (label == NULL)
            continue;
        if (out == NULL) {
            out = malloc(1);
            if (out == NULL)
                return msg;
            out[0] = '\0';
        }
        out = append(out, "%.*s (%s)", (int)(j - done), msg + done, label);
        done = j;
        i = j - 1;
    }
    if (out == NULL)
        return msg;
    out = append(out, "%s", msg + done);
    free(msg);
    return out;
}

static kdpc_violation *record(kdpc_machine *m, unsigned rule, bool fatal, uint32_t code,
                              const uint64_t p[4], kdpc_routine_ptr routine, const char *fmt,
                              va_list ap) __attribute__((format(printf, 7, 0)));
static kdpc_violation *record(kdpc_machine *m, unsigned rule, bool fatal, uint32_t code,
                              const uint64_t p[4], kdpc_routine_ptr routine, const char *fmt,
                              va_list ap)
{
    kdpc__ver *v = kdpc__ver_of(m);
    kdpc__reports *r = v->reports;
    kdpc__cpu *c = kdpc__cur_cpu();
    kdpc__cpu *found = c; /* where it was noticed */
    bool noted = r->where_set;
    if (noted) {
        /* Noted earlier, maybe on another CPU or IRQL: that context broke the rule. */
        r->where_set = false;
        c = &m->cpus[r->where_cpu];
        /* That CPU has moved on to an ISR or DPC since: what broke it was its thread. */
        if (routine == NULL && c->irql != r->where_irql && r->where_irql < KDPC_IRQL_DISPATCH &&
            c->thread != NULL && !c->thread->idle)
            routine = c->thread->routine;
    }
    if (v->nv == v->capv) {
        size_t ncap = v->capv ? v->capv * 2 : 16;
        kdpc_violation **nv = realloc(v->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return NULL;
        v->v = nv;
        v->capv = ncap;
    }
    kdpc_violation *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    if (routine == NULL && c != NULL) {
        routine = c->routine;
        if (routine == NULL && c->thread != NULL && !c->thread->idle)
            routine = c->thread->routine;
    }
    x->code = code;
    memcpy(x->params, p, sizeof(x->params));
    x->rule = rules[rule].id;
    char *msg = annotate(m, vformat(fmt, ap));
    x->fatal = fatal;
    x->cpu = c != NULL ? c->index : 0;
    x->irql = c != NULL ? c->irql : 0;
    if (noted) {
        x->irql = r->where_irql;
        if (msg != NULL && found != NULL && (found != c || found->irql != r->where_irql))
            msg = append(msg, " (reported later, from CPU %u at IRQL %u)", found->index,
                         (unsigned)found->irql);
    }
    x->message = msg != NULL ? msg : "";
    x->time_ns = m->now_ns;
    x->name = fatal ? kdpc__bugcheck_name(code) : "";
    x->guideline = rule_text(rule);
    char *rn = dupstr(kdpc__routine_name(m, routine));
    x->routine = rn != NULL ? rn : "";
    x->seed = m->cfg.seed;
    x->event = kdpc__trace_total_of(m);
    v->v[v->nv++] = x;
    /* arg2: its index for kdpc_machine_violation */
    kdpc__trace2(m, KDPC_EV_VIOLATION, c, NULL, routine, code, v->nv - 1);
    return x;
}

static void print_report(kdpc_machine *m, const kdpc_violation *x)
{
    FILE *f = m->cfg.log;
    if (f == NULL)
        return;
    if (x->fatal) {
        fprintf(f,
                "KDPC BUGCHECK 0x%08" PRIX32 " %s (0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64
                ", 0x%" PRIx64 ")\n",
                x->code, x->name, x->params[0], x->params[1], x->params[2], x->params[3]);
    } else {
        fprintf(f, "KDPC WARNING %s\n", x->rule);
    }
    fprintf(f, "  rule:      %s\n", x->rule);
    for (unsigned i = 0; i < KDPC_RULE_COUNT; i++) {
        if (rules[i].id == x->rule && rules[i].ms[0] != '\0') /* x->rule is the table's id */
            fprintf(f, "  microsoft: %s\n", rules[i].ms);
    }
    fprintf(f, "  guideline: %s\n", x->guideline);
    fprintf(f, "  docs:      docs/rules.md#%s (the rule, its outcome and a broken example)\n",
            x->rule);
    fprintf(f, "  what:      %s\n", x->message);
    if (x->routine[0] != '\0')
        fprintf(f, "  routine:   %s\n", x->routine);
    fprintf(f, "  where:     CPU %u at IRQL %u, virtual time %" PRIu64 ".%03u us\n", x->cpu,
            (unsigned)x->irql, x->time_ns / 1000u, (unsigned)(x->time_ns % 1000u));
    fprintf(f, "  replay:    seed %" PRIu64 " with the same config (%u CPUs, %s policy)\n", x->seed,
            m->ncpu, m->cfg.policy == KDPC_POLICY_ROUND_ROBIN ? "round-robin" : "random");
    fflush(f);
}

void kdpc__violation(kdpc_machine *m, kdpc__rule rule, uint32_t code, uint64_t p1, uint64_t p2,
                     uint64_t p3, uint64_t p4, kdpc_routine_ptr routine, const char *fmt, ...)
{
    kdpc__ver *v = kdpc__ver_of(m);
    unsigned action = effective_action(v, rule);
    if (action == KDPC_RULE_OFF) {
        v->reports->where_set = false; /* a kdpc__ver_where for this one is spent */
        return;
    }
    bool fatal = action == KDPC_RULE_BUGCHECK;
    /* Rules whose Windows outcome is a warning have no bug check code of their own. */
    uint32_t use_code = fatal ? (rules[rule].fatal ? code : 0) : 0;
    uint64_t p[4] = {p1, p2, p3, p4};
    va_list ap;
    va_start(ap, fmt);
    kdpc_violation *x = record(m, rule, fatal, use_code, p, routine, fmt, ap);
    va_end(ap);
    /* A warning repeated by the same routine is counted, and summed up at the end of the run
     * (kdpc__ver_run_end); it stays in the list of violations. */
    if (x != NULL && (fatal || first_warning(m, rule, x->routine)))
        print_report(m, x);
    if (!fatal)
        return;
    v->bugcheck = x;
    if (kdpc__self() == NULL) {
        /* Found by a native call on a host thread (kdpc_machine_shutdown): halt, no unwind. */
        kdpc__halt_from_host(m);
        return;
    }
    kdpc__halt_and_unwind(m);
}

static KDPC_NORETURN void bugcheck_va(kdpc_machine *m, kdpc__rule rule, uint32_t code,
                                      const uint64_t p[4], const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static void bugcheck_va(kdpc_machine *m, kdpc__rule rule, uint32_t code, const uint64_t p[4],
                        const char *fmt, va_list ap)
{
    kdpc__ver *v = kdpc__ver_of(m);
    kdpc_violation *x = record(m, rule, true, code, p, NULL, fmt, ap);
    if (x != NULL)
        print_report(m, x);
    v->bugcheck = x;
    kdpc__halt_and_unwind(m);
}

void kdpc__bugcheck_forced(kdpc_machine *m, uint32_t code, uint64_t p1, uint64_t p2, uint64_t p3,
                           uint64_t p4, const char *fmt, ...)
{
    uint64_t p[4] = {p1, p2, p3, p4};
    va_list ap;
    va_start(ap, fmt);
    bugcheck_va(m, KDPC_R_KE_BUGCHECK, code, p, fmt, ap);
}

void kdpc__bugcheck_rule(kdpc_machine *m, kdpc__rule rule, uint32_t code, uint64_t p1, uint64_t p2,
                         uint64_t p3, uint64_t p4, const char *fmt, ...)
{
    uint64_t p[4] = {p1, p2, p3, p4};
    va_list ap;
    va_start(ap, fmt);
    bugcheck_va(m, rule, code, p, fmt, ap);
}

/* ------------------------------------------------------------------ */
/* Native API                                                          */

static bool match(const char *pattern, const char *id)
{
    if (strcmp(pattern, "*") == 0)
        return true;
    size_t n = strlen(pattern);
    if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '.')
        return strncmp(pattern, id, n - 1) == 0;
    return strcmp(pattern, id) == 0;
}

kdpc_status kdpc_rule_set(kdpc_machine *m, const char *rule, kdpc_rule_action action)
{
    if (m == NULL || rule == NULL || (unsigned)action > KDPC_RULE_BUGCHECK)
        return KDPC_EINVAL;
    for (unsigned i = 0; i < KDPC_RULE_COUNT; i++) {
        if (kdpc__rule_unswitchable(i) && strcmp(rule, rules[i].id) == 0)
            return KDPC_EINVAL; /* the machine cannot go on: these cannot be switched */
    }
    kdpc__ver *v = kdpc__ver_of(m);
    bool any = false;
    for (unsigned i = 0; i < KDPC_RULE_COUNT; i++) {
        if (kdpc__rule_unswitchable(i) || !match(rule, rules[i].id))
            continue;
        any = true;
        if (action == KDPC_RULE_DEFAULT)
            v->action[i] = rules[i].fatal ? KDPC_RULE_BUGCHECK : KDPC_RULE_WARN;
        else
            v->action[i] = (uint8_t)action;
    }
    return any ? KDPC_OK : KDPC_ENOENT;
}

kdpc_rule_action kdpc_rule_action_of(const kdpc_machine *m, const char *rule)
{
    if (m == NULL || rule == NULL)
        return KDPC_RULE_DEFAULT;
    for (unsigned i = 0; i < KDPC_RULE_COUNT; i++) {
        if (strcmp(rules[i].id, rule) == 0)
            return (kdpc_rule_action)effective_action(kdpc__ver_of(m), i);
    }
    return KDPC_RULE_DEFAULT;
}

size_t kdpc_rule_count(void)
{
    return KDPC_RULE_COUNT;
}

const char *kdpc_rule_info(size_t i, const char **guideline)
{
    if (i >= KDPC_RULE_COUNT)
        return NULL;
    if (guideline != NULL)
        *guideline = rule_text((unsigned)i);
    return rules[i].id;
}

const char *kdpc_rule_guideline(size_t i)
{
    return i < KDPC_RULE_COUNT ? guideline_text(rules[i].g) : NULL;
}

/* Option bits and names of the Driver Verifier classes (kdpc_verifier_class_set). */
static const struct {
    const char *name;
    const char *token; /* the class's name in rules.def */
    uint32_t bit;
} classes[] = {
    {"special_pool", "SPECIAL_POOL", KDPC_VERIFIER_SPECIAL_POOL},
    {"force_irql", "FORCE_IRQL", KDPC_VERIFIER_FORCE_IRQL},
    {"low_resources", "", KDPC_VERIFIER_LOW_RESOURCES},
    {"pool_tracking", "POOL_TRACKING", KDPC_VERIFIER_POOL_TRACKING},
    {"io_verification", "IO", KDPC_VERIFIER_IO},
    {"deadlock_detection", "DEADLOCK", KDPC_VERIFIER_DEADLOCK},
    {"dma_verification", "DMA", KDPC_VERIFIER_DMA},
    {"security_checks", "SECURITY", KDPC_VERIFIER_SECURITY},
    {"misc_checks", "MISC", KDPC_VERIFIER_MISC},
    {"ddi_compliance", "DDI", KDPC_VERIFIER_DDI_COMPLIANCE},
    {"standard", "", KDPC_VERIFIER_STANDARD},
    {"automatic", "AUTO", 0},
    {"kernel", "KERNEL", 0},
    {"kdpc", "KDPC", 0},
};

kdpc_status kdpc_verifier_set(kdpc_machine *m, uint32_t flags)
{
    if (m == NULL || (flags & ~(uint32_t)KDPC_VERIFIER_ALL) != 0)
        return KDPC_EINVAL;
    kdpc__ver_of(m)->vflags = flags;
    return KDPC_OK;
}

uint32_t kdpc_verifier_flags(const kdpc_machine *m)
{
    return m != NULL ? kdpc__ver_of(m)->vflags : 0;
}

kdpc_status kdpc_verifier_class_set(kdpc_machine *m, const char *name, bool on)
{
    if (m == NULL || name == NULL)
        return KDPC_EINVAL;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        if (strcmp(classes[i].name, name) != 0 || classes[i].bit == 0)
            continue;
        kdpc__ver *v = kdpc__ver_of(m);
        v->vflags = on ? v->vflags | classes[i].bit : v->vflags & ~classes[i].bit;
        return KDPC_OK;
    }
    return KDPC_ENOENT;
}

const char *kdpc_rule_class(size_t i)
{
    if (i >= KDPC_RULE_COUNT)
        return NULL;
    for (size_t k = 0; k < sizeof(classes) / sizeof(classes[0]); k++) {
        if (strcmp(classes[k].token, rules[i].cls_name) == 0)
            return classes[k].name;
    }
    return NULL; /* unreachable: every class of rules.def is in classes[] */
}

const char *kdpc_rule_microsoft(size_t i)
{
    return i < KDPC_RULE_COUNT ? rules[i].ms : NULL;
}

const kdpc_violation *kdpc_machine_bugcheck(const kdpc_machine *m)
{
    return m != NULL ? kdpc__ver_of(m)->bugcheck : NULL;
}

size_t kdpc_machine_violation_count(const kdpc_machine *m)
{
    return m != NULL ? kdpc__ver_of(m)->nv : 0;
}

const kdpc_violation *kdpc_machine_violation(const kdpc_machine *m, size_t i)
{
    if (m == NULL || i >= kdpc__ver_of(m)->nv)
        return NULL;
    return kdpc__ver_of(m)->v[i];
}

const kdpc_violation *kdpc_machine_find_violation(const kdpc_machine *m, const char *rule)
{
    if (m == NULL || rule == NULL)
        return NULL;
    const kdpc__ver *v = kdpc__ver_of(m);
    for (size_t i = 0; i < v->nv; i++) {
        if (strcmp(v->v[i]->rule, rule) == 0)
            return v->v[i];
    }
    return NULL;
}

const char *kdpc_machine_deadlock_report(const kdpc_machine *m)
{
    return m != NULL ? m->deadlock_report : NULL;
}
