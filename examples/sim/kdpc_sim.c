/* SPDX-License-Identifier: MIT */
/*
 * kdpc_sim.c - the kdpc-sim command: run an example device simulation
 * (serial, disk, nic) on a simulated machine and say what happened.
 *
 *   kdpc-sim run EXAMPLE [options]    one run; exit 0 clean, 1 not clean
 *   kdpc-sim list                     the examples and their broken variants
 *   kdpc-sim help [COMMAND]           usage; also --help after any command
 *   kdpc-sim --version
 *
 * A usage error is one line on stderr naming the bad option, and exit
 * status 2; nothing is run and no file is written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "example.h"
#include "summary.h"

enum { EXIT_CLEAN = 0, EXIT_NOT_CLEAN = 1, EXIT_USAGE = 2 };

#define MAX_DURATION_NS (3600ull * 1000000000ull) /* an hour of virtual time */
#define TRACE_EVENTS    262144u                   /* newest events --trace writes */
#define DRAIN_NS        (60ull * 1000000000ull)   /* virtual time allowed after the requests */

static const ex_example *const examples[] = {&ex_serial, &ex_disk, &ex_nic};
#define NEXAMPLES (sizeof examples / sizeof examples[0])

static const char *const run_usage =
    "usage: kdpc-sim run serial|disk|nic [options]\n"
    "\n"
    "Run an example device simulation: its WDM driver on its virtual device, started through\n"
    "AddDevice and IRP_MN_START_DEVICE, with programs sending it requests for a stretch of\n"
    "virtual time; then every request is checked (completed once, right data).\n"
    "\n"
    "options:\n"
    "  --cpus N         simulated CPUs, 1..64 (default 2)\n"
    "  --seed S         seed of every scheduling choice and fault (default 1); the same seed\n"
    "                   replays the same run\n"
    "  --duration T     virtual time the programs send requests: 2s, 500ms, 250us, 1.5s\n"
    "                   (default 2s; at most 3600s)\n"
    "  --load L         light (a trickle with idle gaps, default) or heavy (queues kept full)\n"
    "  --faults RATE    chance of each fault the device injects, per opportunity: 0..1 or a\n"
    "                   percentage (0.01, 1%%); resolution 0.001 (default 0)\n"
    "  --broken NAME    run a broken variant of the driver (kdpc-sim list names them)\n"
    "  --mode NAME      an example's mode (kdpc-sim list names them)\n"
    "  --report         also print every violation in full and the error log\n"
    "  --trace FILE     write the newest 262144 trace events as text to FILE\n"
    "  --help           this text\n"
    "\n"
    "exit status: 0 clean; 1 a violation, a bug check, a hang or lost data; 2 usage error or\n"
    "an output file that could not be written.\n";

static const char *const list_usage =
    "usage: kdpc-sim list\n"
    "\n"
    "The examples, one line each, and below each its broken variants: the name --broken\n"
    "takes, the guideline the variant breaks, the rule id the simulator reports, and what\n"
    "the driver does wrong. Then the example's modes (--mode), if any.\n";

static const char *const main_usage =
    "usage: kdpc-sim run serial|disk|nic [options]   run an example simulation\n"
    "       kdpc-sim list                           examples and broken variants\n"
    "       kdpc-sim help [run|list]                 usage of a command\n"
    "       kdpc-sim --version                       kdpc's version\n"
    "\n"
    "kdpc-sim runs real WDM drivers (a 16550 serial port, a DMA disk, a network card) on\n"
    "virtual hardware and simulated CPUs, in virtual time, with every DPC guideline checked.\n"
    "`kdpc-sim run --help` lists the options of a run.\n";

/* A usage error: one line, exit 2. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int
usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kdpc-sim: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (kdpc-sim help)\n");
    va_end(ap);
    return EXIT_USAGE;
}

static const ex_example *find_example(const char *name)
{
    for (size_t i = 0; i < NEXAMPLES; i++)
        if (strcmp(examples[i]->name, name) == 0)
            return examples[i];
    return NULL;
}

/* Whole decimal or 0x number into *@v; false when it is not one (or overflows). */
static bool parse_u64(const char *s, uint64_t *v)
{
    if (s[0] == '\0' || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0')
        return false;
    *v = x;
    return true;
}

/* "2s", "500ms", "250us", "1000ns", "1.5s", "2" (seconds) into ns; false when not one. */
static bool parse_duration(const char *s, uint64_t *ns)
{
    if (s[0] < '0' || s[0] > '9')
        return false; /* no sign, no space, no "inf" */
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno != 0 || end == s)
        return false;
    double unit;
    if (strcmp(end, "s") == 0 || *end == '\0')
        unit = 1e9;
    else if (strcmp(end, "ms") == 0)
        unit = 1e6;
    else if (strcmp(end, "us") == 0)
        unit = 1e3;
    else if (strcmp(end, "ns") == 0)
        unit = 1;
    else
        return false;
    double v = x * unit;
    if (!(v >= 1.0) || v > (double)MAX_DURATION_NS)
        return false;
    *ns = (uint64_t)v;
    return true;
}

/* "0.01", "1%", "0" into per mille; false when not a rate in 0..1 at 0.001 resolution. */
static bool parse_rate(const char *s, unsigned *permille)
{
    if (s[0] < '0' || s[0] > '9')
        return false;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno != 0 || end == s)
        return false;
    if (strcmp(end, "%") == 0)
        x /= 100.0;
    else if (*end != '\0')
        return false;
    if (!(x >= 0.0 && x <= 1.0))
        return false;
    double pm = x * 1000.0;
    unsigned r = (unsigned)(pm + 0.5);
    if (x > 0.0 && r == 0)
        return false; /* below the resolution: would silently be no faults */
    *permille = r;
    return true;
}

static int cmd_list(void)
{
    for (size_t i = 0; i < NEXAMPLES; i++) {
        const ex_example *ex = examples[i];
        printf("%-8s %s\n", ex->name, ex->what);
        for (size_t v = 0; v < ex->nvariants; v++) {
            const ex_variant *x = &ex->variants[v];
            printf("  --broken %-28s %-4s %-28s %s\n", x->name, x->guideline, x->rule, x->what);
        }
        if (ex->modes != NULL)
            for (const char *const *mo = ex->modes; *mo != NULL; mo++)
                printf("  --mode %s\n", *mo);
    }
    return EXIT_CLEAN;
}

static double host_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The trace file is written to a temporary file beside it and renamed at the end, so a
 * failed or interrupted run leaves no half-written FILE. */
typedef struct trace_out {
    const char *path;
    char *tmp;
    FILE *f;
} trace_out;

static int trace_open(trace_out *t, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return usage_error("--trace: %s is not a regular file", path);
    size_t n = strlen(path) + 16;
    t->tmp = malloc(n);
    if (t->tmp == NULL)
        return usage_error("--trace: %s: out of memory", path);
    snprintf(t->tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(t->tmp);
    if (fd < 0) {
        int e = errno;
        free(t->tmp);
        t->tmp = NULL;
        return usage_error("--trace: cannot write %s: %s", path, strerror(e));
    }
    t->f = fdopen(fd, "w");
    if (t->f == NULL) {
        int e = errno;
        close(fd);
        unlink(t->tmp);
        free(t->tmp);
        t->tmp = NULL;
        return usage_error("--trace: cannot write %s: %s", path, strerror(e));
    }
    t->path = path;
    return EXIT_CLEAN;
}

static void trace_discard(trace_out *t)
{
    if (t->f != NULL)
        fclose(t->f);
    if (t->tmp != NULL) {
        unlink(t->tmp);
        free(t->tmp);
    }
    t->f = NULL;
    t->tmp = NULL;
}

/* Write the trace and put it in place; EXIT_USAGE (and no file) when that fails. */
static int trace_finish(trace_out *t, const kdpc_machine *m)
{
    bool ok = kdpc_trace_dump(m, t->f) == KDPC_OK;
    ok = ok && fflush(t->f) == 0 && !ferror(t->f);
    int e = errno;
    ok = fclose(t->f) == 0 && ok;
    t->f = NULL;
    if (ok && rename(t->tmp, t->path) != 0) {
        e = errno;
        ok = false;
    }
    if (!ok) {
        fprintf(stderr, "kdpc-sim: --trace: could not write %s: %s; no trace written\n", t->path,
                strerror(e));
        trace_discard(t);
        return EXIT_USAGE;
    }
    free(t->tmp);
    t->tmp = NULL;
    return EXIT_CLEAN;
}

static int cmd_run(int argc, char **argv)
{
    const ex_example *ex = NULL;
    unsigned cpus = 2;
    uint64_t seed = 1;
    ex_options o = {.duration_ns = 2000000000u, .load = EX_LOAD_LIGHT};
    bool report = false;
    const char *trace = NULL, *broken = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(run_usage, stdout);
            return EXIT_CLEAN;
        }
        if (strcmp(a, "--report") == 0) {
            report = true;
            continue;
        }
        if (a[0] != '-') {
            if (ex != NULL)
                return usage_error("run: one example only, got '%s' after '%s'", a, ex->name);
            ex = find_example(a);
            if (ex == NULL)
                return usage_error("run: unknown example '%s' (serial, disk or nic)", a);
            continue;
        }
        static const char *const with_value[] = {"--cpus",   "--seed",   "--duration", "--load",
                                                 "--faults", "--broken", "--mode",     "--trace"};
        bool known = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            known = known || strcmp(a, with_value[k]) == 0;
        if (!known)
            return usage_error("run: unknown option '%s'", a);
        if (i + 1 >= argc)
            return usage_error("%s: needs a value", a);
        const char *v = argv[++i];
        uint64_t x;
        if (strcmp(a, "--cpus") == 0) {
            if (!parse_u64(v, &x) || x < 1 || x > KDPC_MAX_CPUS)
                return usage_error("--cpus: '%s' is not a CPU count from 1 to 64", v);
            cpus = (unsigned)x;
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_u64(v, &seed))
                return usage_error("--seed: '%s' is not a whole number from 0 to 2^64-1", v);
        } else if (strcmp(a, "--duration") == 0) {
            if (!parse_duration(v, &o.duration_ns))
                return usage_error("--duration: '%s' is not a duration from 1ns to 3600s "
                                   "(2s, 500ms, 250us)",
                                   v);
        } else if (strcmp(a, "--load") == 0) {
            if (strcmp(v, "light") == 0)
                o.load = EX_LOAD_LIGHT;
            else if (strcmp(v, "heavy") == 0)
                o.load = EX_LOAD_HEAVY;
            else
                return usage_error("--load: '%s' is not light or heavy", v);
        } else if (strcmp(a, "--faults") == 0) {
            if (!parse_rate(v, &o.faults_permille))
                return usage_error("--faults: '%s' is not a rate from 0 to 1 at a resolution "
                                   "of 0.001 (0.01, 1%%)",
                                   v);
        } else if (strcmp(a, "--broken") == 0) {
            broken = v;
        } else if (strcmp(a, "--mode") == 0) {
            o.mode = v;
        } else {
            trace = v;
        }
    }
    if (ex == NULL)
        return usage_error("run: which example? (serial, disk or nic)");
    if (broken != NULL) {
        o.variant = ex_find_variant(ex, broken);
        if (o.variant == NULL)
            return usage_error("--broken: %s has no variant '%s' (kdpc-sim list)", ex->name,
                               broken);
    }
    if (o.mode != NULL) {
        bool found = false;
        for (const char *const *mo = ex->modes; mo != NULL && *mo != NULL; mo++)
            found = found || strcmp(*mo, o.mode) == 0;
        if (!found)
            return usage_error("--mode: %s has no mode '%s' (kdpc-sim list)", ex->name, o.mode);
    }

    trace_out t = {0};
    if (trace != NULL) {
        int rc = trace_open(&t, trace);
        if (rc != EXIT_CLEAN)
            return rc;
    }

    kdpc_config cfg;
    kdpc_config_init(&cfg);
    cfg.cpus = cpus;
    cfg.seed = seed;
    cfg.log = stderr;
    cfg.trace_capacity = trace != NULL ? TRACE_EVENTS : 0;
    /* A long run is long by design: no step limit. Every step charges virtual time, so a
     * livelocked driver still ends at the virtual time limit (the requests' duration and a
     * minute to drain), and one that loops without a kernel call at cfg.host_hang_ms. */
    cfg.run_step_limit = 0;
    cfg.run_time_limit_ns = o.duration_ns + DRAIN_NS;
    if (ex->configure != NULL)
        ex->configure(&cfg);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        fprintf(stderr, "kdpc-sim: cannot make the machine: %s\n", strerror(errno));
        trace_discard(&t);
        return EXIT_NOT_CLEAN;
    }

    char d[32];
    printf("kdpc-sim %s: %s\n", ex->name, ex->what);
    printf("%u CPU%s, seed %" PRIu64 ", %s of requests, %s load, faults %.3f%s%s%s%s\n", cpus,
           cpus == 1 ? "" : "s", seed, sim_format_duration(d, sizeof d, o.duration_ns),
           o.load == EX_LOAD_HEAVY ? "heavy" : "light", o.faults_permille / 1000.0,
           o.variant != NULL ? ", broken variant " : "", o.variant != NULL ? o.variant->name : "",
           o.mode != NULL ? ", mode " : "", o.mode != NULL ? o.mode : "");
    if (o.variant != NULL)
        printf("the variant breaks %s: %s; kdpc should report %s\n", o.variant->guideline,
               o.variant->what, o.variant->rule);
    printf("\n");
    fflush(stdout);

    ex_result r;
    double t0 = host_now();
    ex->run(m, &o, &r);
    double host = host_now() - t0;

    sim_run_info info = {ex, &o, cpus, seed, host, report};
    sim_print_summary(stdout, m, &info, &r);
    int rc = ex_clean(m, &r) ? EXIT_CLEAN : EXIT_NOT_CLEAN;
    if (trace != NULL) {
        int trc = trace_finish(&t, m);
        if (trc != EXIT_CLEAN)
            rc = trc;
        else
            printf("trace:  %s (newest %zu of %" PRIu64 " events)\n", trace, kdpc_trace_count(m),
                   kdpc_trace_total(m));
    }
    kdpc_machine_destroy(m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("kdpc-sim %s\n", kdpc_version());
        return EXIT_CLEAN;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        (strcmp(cmd, "help") == 0 && argc == 2)) {
        fputs(main_usage, stdout);
        return EXIT_CLEAN;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc > 3)
            return usage_error("help: one command at most, got '%s' after '%s'", argv[3], argv[2]);
        if (strcmp(argv[2], "run") == 0)
            fputs(run_usage, stdout);
        else if (strcmp(argv[2], "list") == 0)
            fputs(list_usage, stdout);
        else
            return usage_error("help: unknown command '%s' (run or list)", argv[2]);
        return EXIT_CLEAN;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "list") == 0) {
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                fputs(list_usage, stdout);
                return EXIT_CLEAN;
            }
            return usage_error("list: unexpected argument '%s'", argv[i]);
        }
        return cmd_list();
    }
    return usage_error("unknown command '%s' (run, list, help or --version)", cmd);
}
