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
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"
#include "verifier/verifier.h"

typedef struct rule_info {
    const char *id;
    bool fatal;
    const char *g;
} rule_info;

static const rule_info rules[KDPC_RULE_COUNT] = {
#define KDPC_RULE_INFO_(e, id, fatal, g) {id, fatal, g},
    KDPC_RULE_TABLE(KDPC_RULE_INFO_)
#undef KDPC_RULE_INFO_
};

/* The guidelines of shared/RULES.md, in our own short words. */
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
        {"--", "the driver stopped the machine itself"},
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (strcmp(texts[i].g, g) == 0)
            return texts[i].text;
    }
    return g;
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

int kdpc__ver_init(kdpc_machine *m)
{
    kdpc__ver *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return -1;
    v->vcpu = calloc(m->ncpu, sizeof(*v->vcpu));
    if (v->vcpu == NULL) {
        free(v);
        return -1;
    }
    for (unsigned i = 0; i < KDPC_RULE_COUNT; i++)
        v->action[i] = rules[i].fatal ? KDPC_RULE_BUGCHECK : KDPC_RULE_WARN;
    for (unsigned i = 0; i < m->ncpu; i++)
        m->cpus[i].ver = &v->vcpu[i];
    m->ver = v;
    return 0;
}

static void free_lock(void *p)
{
    kdpc__lock *l = p;
    free(l->succ);
    free(l);
}

void kdpc__ver_free(kdpc_machine *m)
{
    kdpc__ver *v = m->ver;
    if (v == NULL)
        return;
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
    for (size_t i = 0; i < v->locks.cap; i++) {
        if (v->locks.keys[i] > 1)
            free_lock(v->locks.vals[i]);
    }
    kdpc__ptrmap_free(&v->locks);
    kdpc__ptrmap_free(&v->lock_pages);
    free(v->vcpu);
    free(v);
    m->ver = NULL;
}

bool kdpc__rule_on(const kdpc_machine *m, kdpc__rule rule)
{
    return kdpc__ver_of(m)->action[rule] != KDPC_RULE_OFF;
}

static uintptr_t routine_key(kdpc_routine_ptr routine)
{
    uintptr_t key = 0;
    memcpy(&key, &routine, sizeof(key) < sizeof(routine) ? sizeof(key) : sizeof(routine));
    return key;
}

const char *kdpc__routine_name(kdpc_machine *m, kdpc_routine_ptr routine)
{
    static _Thread_local char buf[32];
    if (routine == NULL)
        return "";
    kdpc__ver *v = kdpc__ver_of(m);
    uintptr_t key = routine_key(routine);
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
    uintptr_t key = routine_key(routine);
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

static kdpc_violation *record(kdpc_machine *m, const char *rule_id, const char *g, bool fatal,
                              uint32_t code, const uint64_t p[4], kdpc_routine_ptr routine,
                              const char *fmt, va_list ap) __attribute__((format(printf, 8, 0)));
static kdpc_violation *record(kdpc_machine *m, const char *rule_id, const char *g, bool fatal,
                              uint32_t code, const uint64_t p[4], kdpc_routine_ptr routine,
                              const char *fmt, va_list ap)
{
    kdpc__ver *v = kdpc__ver_of(m);
    kdpc__cpu *c = kdpc__cur_cpu();
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
    x->rule = rule_id;
    char *msg = vformat(fmt, ap);
    x->message = msg != NULL ? msg : "";
    x->fatal = fatal;
    x->cpu = c != NULL ? c->index : 0;
    x->irql = c != NULL ? c->irql : 0;
    x->time_ns = m->now_ns;
    x->name = fatal ? kdpc__bugcheck_name(code) : "";
    x->guideline = guideline_text(g);
    char *rn = dupstr(kdpc__routine_name(m, routine));
    x->routine = rn != NULL ? rn : "";
    x->seed = m->cfg.seed;
    x->event = kdpc__trace_total_of(m);
    v->v[v->nv++] = x;
    kdpc__trace(m, KDPC_EV_VIOLATION, c, NULL, routine, code);
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
    fprintf(f, "  guideline: %s\n", x->guideline);
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
    unsigned action = v->action[rule];
    if (action == KDPC_RULE_OFF)
        return;
    bool fatal = action == KDPC_RULE_BUGCHECK;
    /* Rules whose Windows outcome is a warning have no bug check code of their own. */
    uint32_t use_code = fatal ? (rules[rule].fatal ? code : 0) : 0;
    uint64_t p[4] = {p1, p2, p3, p4};
    va_list ap;
    va_start(ap, fmt);
    kdpc_violation *x =
        record(m, rules[rule].id, rules[rule].g, fatal, use_code, p, routine, fmt, ap);
    va_end(ap);
    if (x != NULL)
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
    kdpc_violation *x = record(m, rules[rule].id, rules[rule].g, true, code, p, NULL, fmt, ap);
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
            return (kdpc_rule_action)kdpc__ver_of(m)->action[i];
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
        *guideline = guideline_text(rules[i].g);
    return rules[i].id;
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
