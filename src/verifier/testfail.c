/* SPDX-License-Identifier: MIT */
/*
 * testfail.c - a test check that fails inside simulated code stops the run
 * (rule test.assert), and exit() called from simulated code is reported.
 *
 * A test framework fails a test by unwinding to the test's own frame on the
 * test's host thread (CMocka: a longjmp to a thread-local jmp_buf, else
 * exit()). Simulated code runs on other contexts, so a failing check there
 * becomes a bug check of "test.assert": every simulated context unwinds, the
 * run returns KDPC_BUGCHECK on the test thread and the file, line and message
 * kept here let the test fail there (<kdpc/cmocka.h>).
 *
 * The record lives in a small process-wide list keyed by machine, freed by
 * kdpc_machine_destroy (kdpc__test_stop_forget).
 *
 * exit() cannot be contained: the process ends. An atexit handler, registered
 * by the first kdpc_machine_create, says so when exit() runs on a host thread
 * that is inside simulated code, naming the routine, CPU and seed.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/testfail.h"
#include "verifier/verifier.h"

typedef struct stop_rec {
    const kdpc_machine *m;
    kdpc_test_stop stop;
    struct stop_rec *next;
} stop_rec;

static stop_rec *stops;
static atomic_flag stops_lock = ATOMIC_FLAG_INIT;

static void lock_stops(void)
{
    while (atomic_flag_test_and_set_explicit(&stops_lock, memory_order_acquire)) {
    }
}

static void unlock_stops(void)
{
    atomic_flag_clear_explicit(&stops_lock, memory_order_release);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static void free_rec(stop_rec *r)
{
    free((char *)(uintptr_t)r->stop.file);
    free((char *)(uintptr_t)r->stop.message);
    free(r);
}

/* Keep where and why; a machine stops at most once (the bug check halts it). Out of memory:
 * nothing is kept, the bug check report still says it all. */
static void remember(const kdpc_machine *m, const char *file, int line, const char *message,
                     bool skip)
{
    stop_rec *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return;
    char *f = dupstr(file);
    char *msg = dupstr(message);
    if (f == NULL || msg == NULL) {
        free(f);
        free(msg);
        free(r);
        return;
    }
    r->m = m;
    r->stop.file = f;
    r->stop.line = line;
    r->stop.message = msg;
    r->stop.skip = skip;
    lock_stops();
    r->next = stops;
    stops = r;
    unlock_stops();
}

void kdpc__test_stop_forget(const kdpc_machine *m)
{
    lock_stops();
    stop_rec **pp = &stops;
    while (*pp != NULL) {
        stop_rec *r = *pp;
        if (r->m == m) {
            *pp = r->next;
            free_rec(r);
        } else {
            pp = &r->next;
        }
    }
    unlock_stops();
}

const kdpc_test_stop *kdpc_machine_test_stop(const kdpc_machine *m)
{
    if (m == NULL)
        return NULL;
    const kdpc_test_stop *s = NULL;
    lock_stops();
    for (stop_rec *r = stops; r != NULL; r = r->next) {
        if (r->m == m) {
            s = &r->stop;
            break;
        }
    }
    unlock_stops();
    return s;
}

bool kdpc_test_in_simulation(void)
{
    return kdpc__self() != NULL;
}

static KDPC_NORETURN void stop_run(const char *file, int line, const char *message, bool skip)
{
    if (file == NULL)
        file = "?";
    if (message == NULL)
        message = "";
    kdpc__thread *t = kdpc__self();
    if (t == NULL) {
        /* No run to stop: say so and end, as a failed assert() would. */
        fprintf(stderr, "kdpc: kdpc_test_%s outside simulated code: %s:%d: %s\n",
                skip ? "skip" : "fail", file, line, message);
        fflush(stderr);
        abort();
    }
    kdpc_machine *m = t->m;
    remember(m, file, line, message, skip);
    /* Divergence: no Windows bug check stands for a failed test check; kdpc uses code 0 with
     * P1 = the line of the check (the report's "what" names file, line and message). */
    kdpc__bugcheck_rule(m, KDPC_R_TEST_ASSERT, 0, (uint64_t)(line < 0 ? 0 : line), 0, 0, 0,
                        "%s:%d: %s", file, line, message);
}

void kdpc_test_fail(const char *file, int line, const char *message)
{
    stop_run(file, line, message, false);
}

void kdpc_test_skip(const char *file, int line)
{
    stop_run(file, line, "Skipped!", true);
}

/* ------------------------------------------------------------------ */
/* exit() from simulated code                                          */

static void exit_report(void)
{
    kdpc__thread *t = kdpc__self();
    if (t == NULL || t->m == NULL)
        return; /* an ordinary exit from the host's own code */
    kdpc_machine *m = t->m;
    const kdpc__cpu *c = t->cpu;
    kdpc_routine_ptr r = c != NULL ? c->routine : NULL;
    if (r == NULL && !t->idle)
        r = t->routine;
    const char *name = r != NULL ? kdpc__routine_name(m, r) : "(none)";
    fprintf(stderr,
            "kdpc: exit() called from simulated code: routine %s on CPU %u at IRQL %u, virtual "
            "time %" PRIu64 ".%03u us, machine seed %" PRIu64
            " - cannot be contained: the test process ends here with no test result. A failing "
            "CMocka check in simulated code stops only its run when the file includes "
            "<kdpc/cmocka.h>; see its header comment.\n",
            name, c != NULL ? c->index : 0u, c != NULL ? (unsigned)c->irql : 0u, m->now_ns / 1000u,
            (unsigned)(m->now_ns % 1000u), m->cfg.seed);
    fflush(stderr);
}

void kdpc__exit_watch_install(void)
{
    static atomic_bool installed;
    bool expected = false;
    if (atomic_compare_exchange_strong(&installed, &expected, true))
        (void)atexit(exit_report);
}
