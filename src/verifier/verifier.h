/* SPDX-License-Identifier: MIT */
/*
 * verifier.h - rules, violations, bug checks and the lock set (who holds
 * which spin lock, in which order locks were ever nested).
 *
 * The WDM layer decides *when* a rule is broken; this layer decides what
 * follows (off / warning / bug check), records it with where and when,
 * prints the report and halts the machine for a bug check.
 */
#ifndef KDPC_VERIFIER_INTERNAL_H
#define KDPC_VERIFIER_INTERNAL_H

#include <stdarg.h>

#include <kdpc/verifier.h>
#include "base/pairmap.h"
#include "base/ptrmap.h"
#include "sim/sim.h"

/* The rules: one KDPC_RULE row each in rules.def (what each column means is said there). */
typedef enum kdpc__rule {
#define KDPC_RULE(e, id, fatal, g, cls, ms, text) KDPC_##e,
#include "verifier/rules.def"
#undef KDPC_RULE
    KDPC_RULE_COUNT
} kdpc__rule;

/* Driver Verifier option bit of a rule's class (rules.def); 0 for AUTO, KERNEL and KDPC. */
#define KDPC_RULE_CLASS_SPECIAL_POOL  KDPC_VERIFIER_SPECIAL_POOL
#define KDPC_RULE_CLASS_FORCE_IRQL    KDPC_VERIFIER_FORCE_IRQL
#define KDPC_RULE_CLASS_POOL_TRACKING KDPC_VERIFIER_POOL_TRACKING
#define KDPC_RULE_CLASS_IO            KDPC_VERIFIER_IO
#define KDPC_RULE_CLASS_DEADLOCK      KDPC_VERIFIER_DEADLOCK
#define KDPC_RULE_CLASS_DMA           KDPC_VERIFIER_DMA
#define KDPC_RULE_CLASS_SECURITY      KDPC_VERIFIER_SECURITY
#define KDPC_RULE_CLASS_MISC          KDPC_VERIFIER_MISC
#define KDPC_RULE_CLASS_DDI           KDPC_VERIFIER_DDI_COMPLIANCE
#define KDPC_RULE_CLASS_AUTO          0u
#define KDPC_RULE_CLASS_KERNEL        0u
#define KDPC_RULE_CLASS_KDPC          0u

/* ------------------------------------------------------------------ */
/* Lock set                                                            */

#define KDPC_LOCK_ORDINARY  1u
#define KDPC_LOCK_QUEUED    2u
#define KDPC_LOCK_INTERRUPT 4u

struct kdpc__lock;

/* A lock-order edge from -> to: @to was acquired while @from was held (lockset.c). Each edge is
 * on two circular lists, in insertion order: its from's successors and its to's predecessors,
 * so forgetting a lock costs the number of its edges; kdpc__ver.lock_edges finds (from, to). */
typedef struct kdpc__lock_edge {
    struct kdpc__lock *from, *to;
    struct kdpc__lock_edge *out_next, *out_prev; /* from's successors */
    struct kdpc__lock_edge *in_next, *in_prev;   /* to's predecessors */
} kdpc__lock_edge;

/* CPUs waiting for a queued lock, first come first served (allocated at the first wait). */
typedef struct kdpc__lock_queue {
    unsigned n, cap;
    unsigned cpu[];
} kdpc__lock_queue;

/* What the checker knows of one spin lock: 64 bytes on LP64. */
typedef struct kdpc__lock {
    uintptr_t addr;
    uint64_t since_ns;            /* holder CPU's own time at acquisition */
    kdpc__lock_edge *out;         /* first successor edge, or NULL */
    kdpc__lock_edge *in;          /* first predecessor edge, or NULL */
    struct kdpc__lock *page_next; /* other locks on the same page (kdpc__ver.lock_pages) */
    struct kdpc__lock *page_prev; /* NULL for the first on its page */
    kdpc__lock_queue *queue;      /* waiters of a queued lock, NULL until one waits */
    unsigned mark;                /* DFS epoch */
    int16_t owner;                /* CPU index holding it, or -1 */
    uint8_t kind_used;            /* API family it was first used with (0: never acquired) */
    uint8_t held_kind;            /* API family of the current holder */
} kdpc__lock;

typedef struct kdpc__held {
    kdpc__lock *lock;
    unsigned kind;
    uint32_t isr_depth;
    int old_irql; /* locks area: the OldIrql KeAcquireSpinLock returned for it, -1 if none */
} kdpc__held;

#define KDPC_MAX_HELD 64

typedef struct kdpc__vcpu {
    kdpc__held held[KDPC_MAX_HELD];
    unsigned nheld;
} kdpc__vcpu;

typedef struct kdpc__ver {
    uint8_t action[KDPC_RULE_COUNT]; /* kdpc_rule_action, never DEFAULT */
    uint32_t vflags;                 /* Driver Verifier options on (KDPC_VERIFIER_*) */
    kdpc_violation **v;
    size_t nv, capv;
    const kdpc_violation *bugcheck;
    kdpc__ptrmap names;       /* routine address -> char * */
    kdpc__ptrmap locks;       /* lock address -> kdpc__lock * */
    kdpc__ptrmap lock_pages;  /* page number -> first kdpc__lock on it (lockset.c) */
    kdpc__pairmap lock_edges; /* (from, to) lock records -> kdpc__lock_edge */
    kdpc__lock_edge **dfs;    /* reaches()'s stack */
    size_t dfs_cap;
    kdpc__vcpu *vcpu; /* per CPU */
    unsigned epoch;
    char hexname[KDPC_MAX_CPUS][24];
    struct kdpc__reports *reports; /* rules.c: object names, lock sites, warning counts */
} kdpc__ver;

int kdpc__ver_init(kdpc_machine *m);
void kdpc__ver_free(kdpc_machine *m);
void kdpc__ver_deadlock_report(kdpc_machine *m);
/* Readable reports (rules.c). End of a run: one line per rule and routine whose repeated
 * warnings were counted silently ("KDPC WARNING dpc.too_long in MyDpc: 41 more times"). */
void kdpc__ver_run_end(kdpc_machine *m);
/* The next violation happened on @cpu at @irql (noted earlier, reported now from another
 * context): its where: line says so, and says where it was found. */
void kdpc__ver_where(kdpc_machine *m, unsigned cpu, uint8_t irql);
/* KeInitializeSpinLock of @lock: keep its caller's call site to name the lock in reports. */
void kdpc__ver_lock_site(kdpc_machine *m, const void *lock);
/* [p, p + bytes) died: forget the names and call sites of objects inside it. */
void kdpc__ver_forget_range(kdpc_machine *m, const void *p, size_t bytes);
/* Name of the object at @obj for reports: kdpc_name_object's, the call site of its
 * KeInitializeSpinLock, or the static variable it is; NULL when none (buf of n bytes). */
const char *kdpc__object_label(kdpc_machine *m, const void *obj, char *buf, size_t n);
/* Only the name given with kdpc_name_object (one map lookup, for the trace's hot path), or NULL. */
const char *kdpc__object_given_name(kdpc_machine *m, const void *obj);

/*
 * Report a broken rule. Returns when the rule is off or a warning (the
 * caller then goes on as a free kernel would); otherwise records the bug
 * check, prints the report, halts the machine and unwinds (no return).
 * @routine: the driver routine to name, or NULL for "what runs on this CPU".
 */
void kdpc__violation(kdpc_machine *m, kdpc__rule rule, uint32_t code, uint64_t p1, uint64_t p2,
                     uint64_t p3, uint64_t p4, kdpc_routine_ptr routine, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 9, 10)))
#endif
    ;
/* IRQL check of a routine that runs at IRQL <= @max: true when @irql is at most @max; else the
 * @rule report (0xC4, P1 @p1, P2 the IRQL, P3 @p3, P4 @p4) naming @routine, which returns as a
 * warning or off: then false. Serves the Ob and Mm IRQL rules. */
static inline bool kdpc__ver_irql_at_most(kdpc_machine *m, kdpc__rule rule, unsigned irql,
                                          unsigned max, uint64_t p1, uint64_t p3, uint64_t p4,
                                          const char *routine)
{
    if (irql <= max)
        return true;
    kdpc__violation(m, rule, 0xC4, p1, irql, p3, p4, NULL,
                    "%s called at IRQL %u: it runs only at IRQL <= %u", routine, irql, max);
    return false;
}
/* A bug check that no setting can turn off (KeBugCheckEx, ASSERT). */
KDPC_NORETURN void kdpc__bugcheck_forced(kdpc_machine *m, uint32_t code, uint64_t p1, uint64_t p2,
                                         uint64_t p3, uint64_t p4, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;
/* A bug check of @rule that its switch cannot soften: the machine cannot go on (a blocking
 * wait inside a DPC, a raised exception). */
KDPC_NORETURN void kdpc__bugcheck_rule(kdpc_machine *m, kdpc__rule rule, uint32_t code, uint64_t p1,
                                       uint64_t p2, uint64_t p3, uint64_t p4, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 8, 9)))
#endif
    ;
/* False when @rule is off, by its own switch or its Driver Verifier class's: a check that
 * costs more than a comparison asks first. */
bool kdpc__rule_on(const kdpc_machine *m, kdpc__rule rule);
/* Chance in 1000 that an allocation fails: 0 while low resources simulation is off, else
 * cfg.low_resources_permille or Windows' default 60. */
unsigned kdpc__ver_low_resources_permille(const kdpc_machine *m);
/* ke.bugcheck, ke.crash, test.assert: no switch can soften them. */
static inline bool kdpc__rule_unswitchable(unsigned rule)
{
    return rule == KDPC_R_KE_BUGCHECK || rule == KDPC_R_KE_CRASH || rule == KDPC_R_TEST_ASSERT;
}
const char *kdpc__routine_name(kdpc_machine *m, kdpc_routine_ptr routine);
const char *kdpc__bugcheck_name(uint32_t code);

/* Lock set (lockset.c). */
kdpc__lock *kdpc__lock_get(kdpc_machine *m, const void *addr); /* creates; NULL if no memory */
kdpc__lock *kdpc__lock_find(kdpc_machine *m, const void *addr);
void kdpc__lock_forget(kdpc_machine *m, const void *addr);
/* Forget every lock not held in [lo, hi): the memory is freed or its stack frames are gone. */
void kdpc__lock_forget_range(kdpc_machine *m, uintptr_t lo, uintptr_t hi);
/* Records edges held -> l for the locks this CPU holds in the same context; returns the lock
 * that closes a cycle (l was ever held before it), or NULL. */
kdpc__lock *kdpc__lock_order(kdpc_machine *m, kdpc__cpu *c, kdpc__lock *l);
void kdpc__lock_push(kdpc_machine *m, kdpc__cpu *c, kdpc__lock *l, unsigned kind);
/* Removes l from the held stack of CPU cpu; false when it is not there. */
bool kdpc__lock_pop(kdpc_machine *m, unsigned cpu, kdpc__lock *l);
static inline unsigned kdpc__locks_held(kdpc_machine *m, const kdpc__cpu *c)
{
    (void)m;
    return ((const kdpc__vcpu *)c->ver)->nheld;
}
/* True when @c holds the lock (spin lock or interrupt lock) whose address is @lock. */
static inline bool kdpc__cpu_holds_lock(const kdpc__cpu *c, uintptr_t lock)
{
    const kdpc__vcpu *v = c->ver;
    for (unsigned i = 0; i < v->nheld && i < KDPC_MAX_HELD; i++)
        if (v->held[i].lock != NULL && v->held[i].lock->addr == lock)
            return true;
    return false;
}
kdpc__lock *kdpc__lock_held_at(kdpc_machine *m, const kdpc__cpu *c, unsigned i);
/* locks area: the OldIrql a KeAcquireSpinLock returned for @l, held on @c (set after the acquire;
 * -1 when the lock was taken another way or is not held there). */
void kdpc__lock_set_old_irql(const kdpc__cpu *c, const kdpc__lock *l, int irql);
int kdpc__lock_old_irql(const kdpc__cpu *c, const kdpc__lock *l);
/* locks area: the newest lock held on @c, in the context (ISR depth) of @l, that was acquired
 * after @l; NULL when @l is the newest there or not held on @c (lock.release_order). */
kdpc__lock *kdpc__lock_newer_held(const kdpc__cpu *c, const kdpc__lock *l);
/* Queued locks: add @cpu at the end of the waiters (false: out of host memory, not added); the
 * first waiter, or -1 when none; take the first out; how many wait. */
bool kdpc__lock_enqueue(kdpc__lock *l, unsigned cpu);
int kdpc__lock_queue_head(const kdpc__lock *l);
void kdpc__lock_dequeue(kdpc__lock *l);
static inline unsigned kdpc__lock_waiters(const kdpc__lock *l)
{
    return l->queue != NULL ? l->queue->n : 0u;
}
/* Every lock record and edge (kdpc__ver_free). */
void kdpc__lockset_free(kdpc__ver *v);

static inline kdpc__ver *kdpc__ver_of(const kdpc_machine *m)
{
    return (kdpc__ver *)m->ver;
}

#endif /* KDPC_VERIFIER_INTERNAL_H */
