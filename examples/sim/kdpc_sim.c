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
#define _XOPEN_SOURCE 700 /* realpath, for a --trace FILE that is a symbolic link */
#include <ctype.h>
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
    "  --faults RATE    chance of each fault the device injects, per opportunity: 0..1 in\n"
    "                   steps of 0.001, or a percentage (0.01, 1%%, 0.5%%) (default 0)\n"
    "  --broken NAME    run a broken variant of the driver (kdpc-sim list names them)\n"
    "  --mode NAME      an example's mode (kdpc-sim list names them)\n"
    "  --report         also print every violation in full, the error log and the DPC/ISR\n"
    "                   report (histograms per routine, latencies, IRQL time, queue depth)\n"
    "  --report-json FILE  write the DPC/ISR report as JSON to FILE\n"
    "  --html FILE      write the DPC/ISR report as one self-contained HTML page to FILE\n"
    "                   (per-CPU timeline, histograms, violations; the whole trace is spooled)\n"
    "  --trace FILE     write the whole trace as Chrome / Perfetto trace-event JSON to FILE\n"
    "                   (open it in ui.perfetto.dev; every event is spooled during the run)\n"
    "  --timeline       print an ASCII per-CPU timeline of the first 10ms of virtual time\n"
    "                   (the whole run if shorter) after the summary\n"
    "  --help           this text\n"
    "Options may come before or after the example, as --name VALUE or --name=VALUE; after\n"
    "--, an argument is the example's name even if it starts with '-'.\n"
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

/* A decimal or 0x-hexadecimal whole number into *@v; false when it is not one (or
 * overflows). A leading 0 is not octal: "010" is ten, as a person means it. */
static bool parse_u64(const char *s, uint64_t *v)
{
    int base = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
    const char *digits = base == 16 ? s + 2 : s;
    if (!(isxdigit((unsigned char)digits[0]) && (base == 16 || isdigit((unsigned char)digits[0]))))
        return false; /* no sign, no space: strtoull would take both */
    char *end;
    errno = 0;
    unsigned long long x = strtoull(digits, &end, base);
    if (errno != 0 || *end != '\0')
        return false;
    *v = x;
    return true;
}

/* A plain decimal number ("2", "1.5", ".5", "1e-3") into *@x, *@end after it; false for a
 * sign, a space, "inf", "nan" or a hexadecimal float, which strtod would all take. */
static bool parse_decimal(const char *s, double *x, char **end)
{
    if (!isdigit((unsigned char)s[0]) && !(s[0] == '.' && isdigit((unsigned char)s[1])))
        return false;
    errno = 0;
    *x = strtod(s, end);
    if (errno != 0 || *end == s)
        return false;
    for (const char *c = s; c < *end; c++)
        if (*c == 'x' || *c == 'X')
            return false;
    return true;
}

/* "2s", "500ms", "250us", "1000ns", "1.5s", "2" (seconds) into ns; false when not one. */
static bool parse_duration(const char *s, uint64_t *ns)
{
    double x;
    char *end;
    if (!parse_decimal(s, &x, &end))
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

/* "0.01", "1%", "0" into per mille; false when not a rate in 0..1 that is a whole number of
 * per mille (the device draws faults per mille: 0.0005 would silently become 0.001). */
static bool parse_rate(const char *s, unsigned *permille)
{
    double x;
    char *end;
    if (!parse_decimal(s, &x, &end))
        return false;
    if (strcmp(end, "%") == 0)
        x /= 100.0;
    else if (*end != '\0')
        return false;
    if (!(x >= 0.0 && x <= 1.0))
        return false;
    double pm = x * 1000.0;
    unsigned r = (unsigned)(pm + 0.5);
    if (pm - r > 1e-6 || r - pm > 1e-6)
        return false;
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

/* --trace FILE. The trace is written to a temporary file beside FILE and renamed over it once
 * whole, so a failed write (a full disk) leaves no half-written FILE. Before the run,
 * trace_check only proves that file can be made there (a probe, removed at once): a run
 * stopped by Ctrl-C leaves nothing behind either. A symbolic link is followed, as a shell's
 * `>` would: its target gets the trace and the link stays. */
typedef struct trace_out {
    char *path; /* FILE, or the file its symbolic link names */
} trace_out;

/* A temporary file beside @t->path, open for writing with the mode a new file gets
 * (mkstemp's 0600 would hide the trace from other users); NULL with errno set. */
static FILE *temp_beside(const trace_out *t, char **tmp)
{
    size_t n = strlen(t->path) + 8;
    *tmp = malloc(n);
    if (*tmp == NULL)
        return NULL;
    snprintf(*tmp, n, "%s.XXXXXX", t->path);
    int fd = mkstemp(*tmp);
    FILE *f = NULL;
    if (fd >= 0) {
        mode_t mask = umask(0);
        umask(mask);
        if (fchmod(fd, 0666 & ~mask) == 0)
            f = fdopen(fd, "w");
        if (f == NULL) {
            int e = errno;
            close(fd);
            unlink(*tmp);
            errno = e;
        }
    }
    if (f == NULL) {
        int e = errno;
        free(*tmp);
        *tmp = NULL;
        errno = e;
    }
    return f;
}

/* Can a file be made at @path for option @opt? EXIT_CLEAN, or EXIT_USAGE with one line. */
static int out_check(trace_out *t, const char *opt, const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        t->path = realpath(path, NULL);
        if (t->path == NULL)
            return usage_error("%s: %s is a symbolic link to nowhere (%s)", opt, path,
                               strerror(errno));
    } else {
        t->path = strdup(path);
        if (t->path == NULL)
            return usage_error("%s: %s: out of memory", opt, path);
    }
    if (stat(t->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        free(t->path);
        t->path = NULL;
        return usage_error("%s: %s is not a regular file", opt, path);
    }
    char *tmp;
    FILE *f = temp_beside(t, &tmp);
    if (f == NULL) {
        int e = errno;
        free(t->path);
        t->path = NULL;
        return usage_error("%s: cannot write %s: %s", opt, path, strerror(e));
    }
    fclose(f);
    unlink(tmp);
    free(tmp);
    return EXIT_CLEAN;
}

/* @path with its folder made absolute and free of links and "." or "..": two spellings of
 * one file give one string. NULL out of memory or when the folder cannot be resolved. */
static char *canonical(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? strdup(".") : strndup(path, (size_t)(slash - path) + 1u);
    if (dir == NULL)
        return NULL;
    char *real = realpath(dir, NULL);
    free(dir);
    if (real == NULL)
        return NULL;
    const char *base = slash == NULL ? path : slash + 1;
    size_t n = strlen(real) + strlen(base) + 2u;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s/%s", real, base);
    free(real);
    return out;
}

/* Do @a and @b (paths out_check accepted) name one file? Then the second output written
 * would replace the first. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char *ca = canonical(a), *cb = canonical(b);
    bool same = ca != NULL && cb != NULL ? strcmp(ca, cb) == 0 : strcmp(a, b) == 0;
    free(ca);
    free(cb);
    return same;
}

static int trace_check(trace_out *t, const char *path)
{
    return out_check(t, "--trace", path);
}

/* --report-json FILE: the report written beside FILE and renamed into place, as --trace;
 * EXIT_USAGE (and no file) when that fails. */
static int report_json_write(trace_out *t, kdpc_machine *m)
{
    char *tmp;
    FILE *f = temp_beside(t, &tmp);
    int e = errno;
    bool ok = f != NULL;
    if (ok) {
        errno = 0;
        ok = kdpc_report_json(m, f) == KDPC_OK;
        e = errno;
        ok = fclose(f) == 0 && ok;
        if (e == 0)
            e = errno;
        ok = ok && rename(tmp, t->path) == 0;
        if (e == 0)
            e = errno;
        if (!ok)
            unlink(tmp);
        free(tmp);
    }
    if (!ok)
        fprintf(stderr, "kdpc-sim: --report-json: could not write %s: %s; no report written\n",
                t->path, e != 0 ? strerror(e) : "write error");
    return ok ? EXIT_CLEAN : EXIT_USAGE;
}

/* Write the trace as Perfetto JSON (kdpc_trace_export_json writes it beside the file and
 * renames it into place); EXIT_USAGE (and no file) when that fails. */
static int trace_write(trace_out *t, kdpc_machine *m)
{
    errno = 0;
    bool ok = kdpc_trace_export_json(m, t->path) == KDPC_OK;
    int e = errno;
    if (!ok)
        fprintf(stderr, "kdpc-sim: --trace: could not write %s: %s; no trace written\n", t->path,
                e != 0 ? strerror(e) : "write error");
    return ok ? EXIT_CLEAN : EXIT_USAGE;
}

/* The options of `run` that take a value. */
typedef enum run_option {
    OPT_CPUS,
    OPT_SEED,
    OPT_DURATION,
    OPT_LOAD,
    OPT_FAULTS,
    OPT_BROKEN,
    OPT_MODE,
    OPT_TRACE,
    OPT_REPORT_JSON,
    OPT_HTML
} run_option;
#define OPT_COUNT (OPT_HTML + 1)
static const char *const run_options[OPT_COUNT] = {
    [OPT_CPUS] = "--cpus", [OPT_SEED] = "--seed",     [OPT_DURATION] = "--duration",
    [OPT_LOAD] = "--load", [OPT_FAULTS] = "--faults", [OPT_BROKEN] = "--broken",
    [OPT_MODE] = "--mode", [OPT_TRACE] = "--trace",   [OPT_REPORT_JSON] = "--report-json",
    [OPT_HTML] = "--html"};

/* --timeline: the first TIMELINE_NS of virtual time (the whole run when shorter). */
#define TIMELINE_NS      10000000u
#define TIMELINE_COLUMNS 400u

static void timeline_print(kdpc_machine *m)
{
    uint64_t now = kdpc_machine_time_ns(m);
    uint64_t to = now > TIMELINE_NS ? TIMELINE_NS : 0;
    printf("\ntimeline: %s of virtual time%s\n", to != 0 ? "the first 10ms" : "the whole run",
           to != 0 ? "" : " (shorter than 10ms)");
    fflush(stdout);
    kdpc_status st = kdpc_trace_timeline(m, stdout, 0, 0, to, TIMELINE_COLUMNS);
    if (st != KDPC_OK)
        printf("(no timeline: %s)\n", kdpc_strerror(st));
}

static int cmd_run(int argc, char **argv)
{
    const ex_example *ex = NULL;
    unsigned cpus = 2;
    uint64_t seed = 1;
    ex_options o = {.duration_ns = 2000000000u, .load = EX_LOAD_LIGHT};
    bool report = false, timeline = false;
    const char *trace = NULL, *broken = NULL, *report_json = NULL, *html = NULL;
    bool options_end = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!options_end && strcmp(a, "--") == 0) {
            options_end = true;
            continue;
        }
        if (!options_end && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            fputs(run_usage, stdout);
            return EXIT_CLEAN;
        }
        if (!options_end && strcmp(a, "--report") == 0) {
            report = true;
            continue;
        }
        if (!options_end && strcmp(a, "--timeline") == 0) {
            timeline = true;
            continue;
        }
        if (options_end || a[0] != '-') {
            if (ex != NULL)
                return usage_error("run: one example only, got '%s' after '%s'", a, ex->name);
            ex = find_example(a);
            if (ex == NULL)
                return usage_error("run: unknown example '%s' (serial, disk or nic)", a);
            continue;
        }
        /* --name=VALUE or --name VALUE */
        const char *eq = strchr(a, '=');
        size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        int opt = -1;
        for (int k = 0; k < OPT_COUNT && opt < 0; k++)
            if (strlen(run_options[k]) == len && strncmp(a, run_options[k], len) == 0)
                opt = k;
        if (opt < 0)
            return usage_error("run: unknown option '%s'", a);
        const char *v;
        if (eq != NULL)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else
            return usage_error("%s: needs a value", run_options[opt]);
        uint64_t x;
        switch ((run_option)opt) {
        case OPT_CPUS:
            if (!parse_u64(v, &x) || x < 1 || x > KDPC_MAX_CPUS)
                return usage_error("--cpus: '%s' is not a CPU count from 1 to 64", v);
            cpus = (unsigned)x;
            break;
        case OPT_SEED:
            if (!parse_u64(v, &seed))
                return usage_error("--seed: '%s' is not a whole number from 0 to 2^64-1", v);
            break;
        case OPT_DURATION:
            if (!parse_duration(v, &o.duration_ns))
                return usage_error("--duration: '%s' is not a duration from 1ns to 3600s "
                                   "(2s, 500ms, 250us)",
                                   v);
            break;
        case OPT_LOAD:
            if (strcmp(v, "light") == 0)
                o.load = EX_LOAD_LIGHT;
            else if (strcmp(v, "heavy") == 0)
                o.load = EX_LOAD_HEAVY;
            else
                return usage_error("--load: '%s' is not light or heavy", v);
            break;
        case OPT_FAULTS:
            if (!parse_rate(v, &o.faults_permille))
                return usage_error("--faults: '%s' is not a rate from 0 to 1 in steps of "
                                   "0.001 (0.01, 1%%)",
                                   v);
            break;
        case OPT_BROKEN:
            broken = v;
            break;
        case OPT_MODE:
            o.mode = v;
            break;
        case OPT_TRACE:
            trace = v;
            break;
        case OPT_REPORT_JSON:
            report_json = v;
            break;
        case OPT_HTML:
            html = v;
            break;
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
        int rc = trace_check(&t, trace);
        if (rc != EXIT_CLEAN)
            return rc;
    }
    trace_out rj = {0};
    if (report_json != NULL) {
        int rc = out_check(&rj, "--report-json", report_json);
        if (rc != EXIT_CLEAN) {
            free(t.path);
            return rc;
        }
    }
    trace_out ht = {0};
    if (html != NULL) {
        int rc = out_check(&ht, "--html", html);
        if (rc != EXIT_CLEAN) {
            free(t.path);
            free(rj.path);
            return rc;
        }
    }

    const struct {
        const char *opt;
        const char *path;
    } outs[] = {{"--trace", t.path}, {"--report-json", rj.path}, {"--html", ht.path}};
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = i + 1; j < 3; j++) {
            if (outs[i].path != NULL && outs[j].path != NULL &&
                same_file(outs[i].path, outs[j].path)) {
                int rc = usage_error("%s and %s name the same file %s: give each its own",
                                     outs[i].opt, outs[j].opt, outs[i].path);
                free(t.path); /* after the message, which names one of them */
                free(rj.path);
                free(ht.path);
                return rc;
            }
        }
    }

    kdpc_config cfg;
    kdpc_config_init(&cfg);
    cfg.cpus = cpus;
    cfg.seed = seed;
    cfg.log = stderr;
    cfg.trace_stream = trace != NULL || timeline; /* every event, read back after the run */
    /* The report costs every event a call (about a fifth of a heavy run's host time): only
     * when asked for. The summary's routine times come from kdpc_stats, kept always. */
    cfg.report = report || report_json != NULL || html != NULL;
    if (html != NULL)
        cfg.trace_stream = true; /* --html: the page's timeline reads every event back */
    /* A long run is long by design: no step limit. Every step charges virtual time, so a
     * livelocked driver still ends at the virtual time limit (the requests' duration and a
     * minute to drain), and one that loops without a kernel call at cfg.host_hang_ms. */
    cfg.run_step_limit = 0;
    cfg.run_time_limit_ns = o.duration_ns + DRAIN_NS;
    if (ex->configure != NULL)
        ex->configure(&cfg);
    kdpc_machine *m = kdpc_machine_create(&cfg);
    if (m == NULL) {
        int e = errno;
        free(t.path);
        free(rj.path);
        free(ht.path);
        if (cfg.trace_stream) {
            /* The spool (an unnamed file in $TMPDIR, else /tmp) is the usual cause: if a
             * machine without it can be made, say so as for an output that cannot be written. */
            kdpc_config plain = cfg;
            plain.trace_stream = false;
            kdpc_machine *probe = kdpc_machine_create(&plain);
            if (probe != NULL) {
                kdpc_machine_destroy(probe);
                const char *dir = getenv("TMPDIR");
                fprintf(stderr,
                        "kdpc-sim: %s: cannot make the trace spool in %s: %s (set TMPDIR to a "
                        "writable folder)\n",
                        trace != NULL  ? "--trace"
                        : html != NULL ? "--html"
                                       : "--timeline",
                        dir != NULL && dir[0] != '\0' ? dir : "/tmp", strerror(e));
                return EXIT_USAGE;
            }
        }
        fprintf(stderr, "kdpc-sim: cannot make the machine: %s\n", strerror(e));
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
    if (timeline)
        timeline_print(m);
    if (trace != NULL) {
        int trc = trace_write(&t, m);
        if (trc != EXIT_CLEAN)
            rc = trc;
        else
            printf("trace:  %s (%" PRIu64 " events, Perfetto / Chrome JSON)\n", trace,
                   kdpc_trace_total(m));
    }
    if (report_json != NULL) {
        int jrc = report_json_write(&rj, m);
        if (jrc != EXIT_CLEAN)
            rc = jrc;
        else
            printf("report: %s (DPC/ISR report, JSON)\n", report_json);
    }
    if (html != NULL) {
        /* written beside the file and renamed into place by kdpc_report_html itself */
        errno = 0;
        kdpc_status hst = kdpc_report_html(m, ht.path);
        if (hst != KDPC_OK) {
            int e = errno;
            fprintf(stderr, "kdpc-sim: --html: could not write %s: %s; no page written\n", ht.path,
                    e != 0 ? strerror(e) : kdpc_strerror(hst));
            rc = EXIT_USAGE;
        } else {
            printf("html:   %s (DPC/ISR report, timeline)\n", html);
        }
    }
    free(t.path);
    free(rj.path);
    free(ht.path);
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
