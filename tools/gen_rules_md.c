/* SPDX-License-Identifier: MIT */
/*
 * gen_rules_md.c - writes docs/rules.md from the verifier's own rule table
 * (src/verifier/rules.def: id, default outcome, guideline, Verifier class,
 * Microsoft names; kdpc_rule_info: the rule in words) and docs/rules.in (what
 * the table does not hold: what the rule catches, the bug check code and
 * its parameters, a minimal broken example).
 *
 *   gen_rules_md --in docs/rules.in --out FILE [--check docs/rules.md]
 *                [--hint "how to regenerate"]
 *
 * Fails (exit 1) when a rule of the table has no entry in rules.in, when an
 * entry names no rule of the table, when an entry lacks a required field,
 * and with --check when the generated text differs from the committed file.
 *
 * rules.in format: '#' starts a comment line; "[rule.id]" starts an entry;
 * "key: value" lines (a following indented line continues the value);
 * "example:" is followed by the example's lines, each indented by 4 spaces.
 * Keys: catches, code, p1..p4 (or params: free text, " // " between the
 * parameters of one code and the next), example; optional: short (the code
 * column of the summary table, when the code's first word will not do), note.
 *
 * With --guidelines docs/guidelines.md it also checks that the section of
 * each rule's guideline (from <a id="gN"></a> to the next <a id=) links the
 * rule as (rules.md#rule.id); with --ddi docs/ddi-rules.md, that every
 * `rule.id` cited there is a rule and every rule naming a Microsoft rule or
 * code is cited there.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kdpc/verifier.h>
#include "verifier/verifier.h"

#define GEN_TOOL "gen_rules_md"
#include "gen_util.h"

typedef struct table_rule {
    const char *id;
    bool fatal;
    const char *g;
    const char *ms;
    bool unswitchable;
} table_rule;

static table_rule table[] = {
#define KDPC_RULE(e, id, fatal, g, cls, ms, text) {id, fatal, g, ms, false},
#include "verifier/rules.def"
#undef KDPC_RULE
};
#define NRULES (sizeof(table) / sizeof(table[0]))

enum { F_CATCHES, F_CODE, F_SHORT, F_P1, F_P2, F_P3, F_P4, F_PARAMS, F_NOTE, F_EXAMPLE, F_COUNT };
static const char *const field_names[F_COUNT] = {"catches", "code", "short",  "p1",   "p2",
                                                 "p3",      "p4",   "params", "note", "example"};

typedef struct entry {
    char *id;
    int line;
    char *f[F_COUNT];
    bool used;
} entry;

static entry *entries;
static size_t nentries;
static const char *in_path = "docs/rules.in";
static int errors;

/* Appends @s to *@dst, with @sep between when *@dst is not empty. */
static void append(char **dst, const char *s, const char *sep)
{
    size_t a = *dst != NULL ? strlen(*dst) : 0;
    size_t b = strlen(s), c = a > 0 ? strlen(sep) : 0;
    char *n = xrealloc(*dst, a + c + b + 1);
    if (c > 0)
        memcpy(n + a, sep, c);
    memcpy(n + a + c, s, b + 1);
    *dst = n;
}

static int field_of(const char *key, size_t n)
{
    for (int i = 0; i < F_COUNT; i++) {
        if (strlen(field_names[i]) == n && strncmp(field_names[i], key, n) == 0)
            return i;
    }
    return -1;
}

static void parse(FILE *in)
{
    char buf[4096];
    int lineno = 0;
    entry *cur = NULL;
    int last = -1; /* field a continuation line extends */
    bool in_example = false;
    size_t blank_run = 0; /* blank lines inside an example, kept only if more follows */
    while (fgets(buf, sizeof(buf), in) != NULL) {
        lineno++;
        if (strchr(buf, '\n') == NULL && !feof(in)) {
            fprintf(stderr, "%s:%d: line too long\n", in_path, lineno);
            errors++;
            return;
        }
        strip_eol(buf);
        if (buf[0] == '#')
            continue;
        if (buf[0] == '[') {
            char *end = strchr(buf, ']');
            if (end == NULL || end == buf + 1) {
                fprintf(stderr, "%s:%d: bad entry header '%s'\n", in_path, lineno, buf);
                errors++;
                continue;
            }
            *end = '\0';
            for (size_t i = 0; i < nentries; i++) {
                if (strcmp(entries[i].id, buf + 1) == 0) {
                    fprintf(stderr, "%s:%d: second entry for '%s' (first at line %d)\n", in_path,
                            lineno, buf + 1, entries[i].line);
                    errors++;
                }
            }
            entries = xrealloc(entries, (nentries + 1) * sizeof(*entries));
            cur = &entries[nentries++];
            memset(cur, 0, sizeof(*cur));
            cur->id = xstrdup(buf + 1);
            cur->line = lineno;
            last = -1;
            in_example = false;
            continue;
        }
        if (buf[0] == '\0') {
            if (in_example)
                blank_run++;
            continue;
        }
        if (buf[0] == ' ' || buf[0] == '\t') {
            if (cur == NULL || last < 0) {
                fprintf(stderr, "%s:%d: indented line outside a field\n", in_path, lineno);
                errors++;
                continue;
            }
            if (in_example) {
                if (strncmp(buf, "    ", 4) != 0) {
                    fprintf(stderr, "%s:%d: example lines are indented by 4 spaces\n", in_path,
                            lineno);
                    errors++;
                    continue;
                }
                for (; blank_run > 0; blank_run--)
                    append(&cur->f[F_EXAMPLE], "", "\n");
                if (cur->f[F_EXAMPLE] == NULL)
                    cur->f[F_EXAMPLE] = xstrdup(buf + 4);
                else
                    append(&cur->f[F_EXAMPLE], buf + 4, "\n");
            } else {
                const char *s = buf;
                while (*s == ' ' || *s == '\t')
                    s++;
                append(&cur->f[last], s, " ");
            }
            continue;
        }
        char *colon = strchr(buf, ':');
        int f = colon != NULL ? field_of(buf, (size_t)(colon - buf)) : -1;
        if (cur == NULL || f < 0) {
            fprintf(stderr,
                    "%s:%d: expected '[rule.id]' or 'key: value' (keys: catches, code, "
                    "short, p1..p4, params, note, example), got '%s'\n",
                    in_path, lineno, buf);
            errors++;
            continue;
        }
        if (cur->f[f] != NULL) {
            fprintf(stderr, "%s:%d: '%s' given twice for '%s'\n", in_path, lineno, field_names[f],
                    cur->id);
            errors++;
            continue;
        }
        last = f;
        blank_run = 0;
        in_example = f == F_EXAMPLE;
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        if (!in_example || *v != '\0')
            cur->f[f] = xstrdup(v);
    }
}

static entry *find_entry(const char *id)
{
    for (size_t i = 0; i < nentries; i++) {
        if (strcmp(entries[i].id, id) == 0)
            return &entries[i];
    }
    return NULL;
}

/* "G12" -> "g12"; "--" -> "kdpc-own". */
static const char *anchor_of_g(const char *g, char *buf, size_t n)
{
    if (strcmp(g, "--") == 0) {
        snprintf(buf, n, "kdpc-own");
        return buf;
    }
    if (strcmp(g, "DV") == 0) {
        snprintf(buf, n, "driver-verifier");
        return buf;
    }
    if (g[0] != 'G' || g[1] < '1' || g[1] > '9')
        return NULL;
    for (const char *p = g + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return NULL;
    }
    snprintf(buf, n, "g%s", g + 1);
    return buf;
}

static const char *outcome_of(const table_rule *r)
{
    if (r->unswitchable)
        return "bug check, always (cannot be switched)";
    return r->fatal ? "bug check (switchable)" : "warning (switchable)";
}

/* The code's first word ("0xC4 DRIVER_..." -> "0xC4"). */
static void code_word(const char *code, char *buf, size_t n)
{
    size_t i = 0;
    while (code[i] != '\0' && code[i] != ' ' && i + 1 < n) {
        buf[i] = code[i];
        i++;
    }
    buf[i] = '\0';
}

/* The guideline text without its "Gn: " prefix (the link names the G). */
static const char *plain_guideline(const char *text)
{
    const char *colon = strstr(text, ": ");
    if ((text[0] == 'G' || strncmp(text, "DV", 2) == 0) && colon != NULL && colon - text <= 4)
        return colon + 2;
    return text;
}

/* The page a guideline's anchor is on: DV rules have verifier.md, the others guidelines.md. */
static const char *guide_page(const char *g)
{
    return strcmp(g, "DV") == 0 ? "verifier.md" : "guidelines.md";
}

static void emit(FILE *o)
{
    fputs("<!-- Generated by tools/gen_rules_md.c from the rule table (src/verifier/rules.def)\n"
          "     and docs/rules.in. Do not edit: edit docs/rules.in, then run\n"
          "     cmake --build <build-dir> --target rules_md -->\n\n",
          o);
    fputs("# kdpc's rules\n\n"
          "Every rule kdpc checks, in the order of the verifier's table. A report names the rule\n"
          "and links here (`docs: docs/rules.md#<rule-id>`). The guidelines the rules enforce are\n"
          "explained in [guidelines.md](guidelines.md); the facts about Windows they rest on are\n"
          "in [facts/](facts/).\n\n"
          "**Outcome.** A *bug check* stops the run: `kdpc_machine_run` returns `KDPC_BUGCHECK`\n"
          "and `kdpc_machine_bugcheck(m)` gives the code and parameters below, the ones Windows\n"
          "with Driver Verifier raises (where Verifier has none, the kernel's own; where Windows\n"
          "has none, code 0 `KDPC_RULE_VIOLATION`). A *warning* is recorded (code 0) and the run\n"
          "goes on. A switchable rule can be changed per machine:\n\n"
          "```c\n"
          "kdpc_rule_set(m, \"dpc.too_long\", KDPC_RULE_BUGCHECK); /* a warning becomes fatal */\n"
          "kdpc_rule_set(m, \"spinlock.*\", KDPC_RULE_WARN);       /* a family */\n"
          "kdpc_rule_set(m, \"irql.raise_lower\", KDPC_RULE_OFF);  /* not checked */\n"
          "```\n\n"
          "A warning rule switched to a bug check stops the run with code 0 and the parameters\n"
          "listed. Rules that are bug checks by default report their code and parameters when\n"
          "switched to warnings too. In the examples, `Lock`, `Dpc`, `Timer`, `Irp` and the like\n"
          "are the driver's own objects, initialised elsewhere unless shown.\n\n"
          "**Microsoft's names.** The *Microsoft* column names the Driver Verifier check\n"
          "(`0xC4/0x80`: bug check 0xC4 with P1 0x80) or the DDI compliance / Static Driver\n"
          "Verifier rule (`IrqlKeSetEvent`) each rule corresponds to; search this page for a\n"
          "Microsoft name. [ddi-rules.md](ddi-rules.md) goes the other way: every rule and check\n"
          "Microsoft documents, and what kdpc does about it.\n\n"
          "**Class.** The Driver Verifier option that checks the rule on Windows. The options\n"
          "are switched as groups per machine (`kdpc_verifier_set`, `kdpc_verifier_class_set`;\n"
          "[verifier.md](verifier.md)); *automatic*, *kernel* and *kdpc* rules are checked\n"
          "whatever the options say and switched one by one.\n\n",
          o);

    fputs("| Rule | Microsoft | Class | Guideline | Outcome | Code |\n"
          "|---|---|---|---|---|---|\n",
          o);
    for (size_t i = 0; i < NRULES; i++) {
        const table_rule *r = &table[i];
        const entry *e = find_entry(r->id);
        char a[32], c[32];
        anchor_of_g(r->g, a, sizeof(a));
        code_word(e->f[F_CODE], c, sizeof(c));
        fprintf(o, "| [`%s`](#%s) | %s | %s | [%s](%s#%s) | %s | %s |\n", r->id, r->id,
                r->ms[0] != '\0' ? r->ms : "—", kdpc_rule_class(i),
                strcmp(r->g, "--") == 0 ? "kdpc" : r->g, guide_page(r->g), a, outcome_of(r),
                e->f[F_SHORT] != NULL ? e->f[F_SHORT] : c);
    }
    fputs("\n", o);

    for (size_t i = 0; i < NRULES; i++) {
        const table_rule *r = &table[i];
        const entry *e = find_entry(r->id);
        const char *gtext = NULL;
        const char *id = kdpc_rule_info(i, &gtext);
        char a[32];
        anchor_of_g(r->g, a, sizeof(a));
        fprintf(o, "## <a id=\"%s\"></a>`%s`\n\n", r->id, id != NULL ? id : r->id);
        fprintf(o, "- **Catches:** %s\n", e->f[F_CATCHES]);
        if (r->ms[0] != '\0')
            fprintf(o, "- **Microsoft:** %s\n", r->ms);
        fprintf(o, "- **Class:** %s\n", kdpc_rule_class(i));
        if (strcmp(r->g, "DV") == 0)
            fprintf(
                o,
                "- **Guideline:** none of kdpc's: [a Driver Verifier rule](verifier.md#%s): %s\n",
                a, plain_guideline(gtext != NULL ? gtext : ""));
        else if (strcmp(r->g, "--") == 0)
            fprintf(o, "- **Guideline:** none: [the machine cannot go on](guidelines.md#%s) (%s)\n",
                    a, gtext != NULL ? gtext : "");
        else
            fprintf(o, "- **Guideline:** [%s](guidelines.md#%s): %s\n", r->g, a,
                    plain_guideline(gtext != NULL ? gtext : ""));
        if (r->unswitchable)
            fputs("- **Outcome:** bug check, always; `kdpc_rule_set` refuses to switch it "
                  "(`KDPC_EINVAL`) and patterns skip it.\n",
                  o);
        else if (r->fatal)
            fputs("- **Outcome:** bug check by default; can be switched to a warning or off.\n", o);
        else
            fputs("- **Outcome:** warning by default (the run goes on); can be switched to a bug "
                  "check (code 0) or off.\n",
                  o);
        fprintf(o, "- **Code:** %s\n", e->f[F_CODE]);
        static const char *const pn[4] = {"P1", "P2", "P3", "P4"};
        for (int p = 0; p < 4; p++) {
            if (e->f[F_P1 + p] != NULL)
                fprintf(o, "  - %s: %s\n", pn[p], e->f[F_P1 + p]);
        }
        if (e->f[F_PARAMS] != NULL) {
            /* " // " separates one code's parameters from the next one's. */
            const char *p = e->f[F_PARAMS];
            for (;;) {
                const char *sep = strstr(p, " // ");
                int len = sep != NULL ? (int)(sep - p) : (int)strlen(p);
                fprintf(o, "  - %.*s\n", len, p);
                if (sep == NULL)
                    break;
                p = sep + 4;
            }
        }
        if (e->f[F_NOTE] != NULL)
            fprintf(o, "- **Note:** %s\n", e->f[F_NOTE]);
        fprintf(o, "- **Broken example:**\n\n```c\n%s\n```\n\n", e->f[F_EXAMPLE]);
    }
}

static int check_entries(void)
{
    int bad = 0;
    for (size_t i = 0; i < NRULES; i++) {
        entry *e = find_entry(table[i].id);
        char a[32];
        if (anchor_of_g(table[i].g, a, sizeof(a)) == NULL) {
            fprintf(stderr, "gen_rules_md: rule '%s': guideline '%s' is neither Gn nor --\n",
                    table[i].id, table[i].g);
            bad++;
        }
        if (e == NULL) {
            fprintf(stderr,
                    "%s: no entry for rule '%s' of src/verifier/rules.def: "
                    "add [%s] with catches, code, parameters and example\n",
                    in_path, table[i].id, table[i].id);
            bad++;
            continue;
        }
        e->used = true;
        static const int required[] = {F_CATCHES, F_CODE, F_EXAMPLE};
        for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++) {
            if (e->f[required[k]] == NULL) {
                fprintf(stderr, "%s:%d: entry '%s' has no '%s'\n", in_path, e->line, e->id,
                        field_names[required[k]]);
                bad++;
            }
        }
        if (e->f[F_P1] == NULL && e->f[F_PARAMS] == NULL) {
            fprintf(stderr, "%s:%d: entry '%s' has neither 'p1' nor 'params'\n", in_path, e->line,
                    e->id);
            bad++;
        }
    }
    for (size_t i = 0; i < nentries; i++) {
        if (!entries[i].used) {
            fprintf(stderr, "%s:%d: entry '%s' names no rule of src/verifier/rules.def\n", in_path,
                    entries[i].line, entries[i].id);
            bad++;
        }
    }
    return bad;
}

/* Every rule is linked from the section of its guideline in guidelines.md. */
static int check_guidelines(const char *path)
{
    size_t n = 0;
    char *text = slurp(path, &n);
    if (text == NULL) {
        fprintf(stderr, "gen_rules_md: cannot read %s\n", path);
        return 1;
    }
    int bad = 0;
    for (size_t i = 0; i < NRULES; i++) {
        char a[32], open[64], link[160];
        if (strcmp(table[i].g, "DV") == 0 || anchor_of_g(table[i].g, a, sizeof(a)) == NULL)
            continue; /* DV rules are listed by verifier.md; a bad g is reported by check_entries */
        snprintf(open, sizeof(open), "<a id=\"%s\"></a>", a);
        snprintf(link, sizeof(link), "(rules.md#%s)", table[i].id);
        const char *start = strstr(text, open);
        if (start == NULL) {
            fprintf(stderr, "%s: no section <a id=\"%s\"></a> for rule '%s'\n", path, a,
                    table[i].id);
            bad++;
            continue;
        }
        const char *end = strstr(start + strlen(open), "<a id=");
        size_t len = end != NULL ? (size_t)(end - start) : strlen(start);
        char *section = xrealloc(NULL, len + 1);
        memcpy(section, start, len);
        section[len] = '\0';
        bool found = strstr(section, link) != NULL;
        free(section);
        if (!found) {
            fprintf(stderr,
                    "%s: the section of %s does not link rule '%s': add "
                    "[`%s`](rules.md#%s) to its \"Checked by\" line\n",
                    path, table[i].g, table[i].id, table[i].id, table[i].id);
            bad++;
        }
    }
    free(text);
    return bad;
}

/* True when [p, p + n) looks like a rule id: family.name in lowercase, digits and '_'. */
static bool looks_like_rule_id(const char *p, size_t n)
{
    size_t dots = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '.')
            dots++;
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    if (dots != 1 || p[0] == '.' || p[n - 1] == '.')
        return false;
    /* file names are not rule ids */
    static const char *const ext[] = {".c", ".h", ".md", ".in", ".def", ".txt"};
    for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
        size_t e = strlen(ext[k]);
        if (n > e && memcmp(p + n - e, ext[k], e) == 0)
            return false;
    }
    return true;
}

/* docs/ddi-rules.md, Microsoft's rules seen from kdpc: every `rule.id` it cites is a rule of
 * the table, and every rule that names a Microsoft rule or code is cited there. */
static int check_ddi(const char *path)
{
    size_t n;
    char *text = slurp(path, &n);
    if (text == NULL) {
        fprintf(stderr, "gen_rules_md: cannot read %s\n", path);
        return 1;
    }
    int bad = 0;
    for (char *p = strchr(text, '`'); p != NULL;) {
        char *q = strchr(p + 1, '`');
        if (q == NULL)
            break;
        size_t len = (size_t)(q - p - 1);
        if (looks_like_rule_id(p + 1, len)) {
            bool known = false;
            for (size_t i = 0; i < NRULES && !known; i++)
                known = strlen(table[i].id) == len && memcmp(table[i].id, p + 1, len) == 0;
            if (!known) {
                fprintf(stderr, "%s: `%.*s` is no rule of src/verifier/rules.def\n", path, (int)len,
                        p + 1);
                bad++;
            }
        }
        p = strchr(q + 1, '`');
    }
    for (size_t i = 0; i < NRULES; i++) {
        char cite[128];
        snprintf(cite, sizeof(cite), "`%s`", table[i].id);
        if (table[i].ms[0] != '\0' && strstr(text, cite) == NULL) {
            fprintf(stderr, "%s: rule %s names Microsoft's %s but is not cited\n", path,
                    table[i].id, table[i].ms);
            bad++;
        }
    }
    free(text);
    return bad;
}

int main(int argc, char **argv)
{
    const char *out_path = NULL, *check = NULL, *guidelines = NULL, *ddi = NULL;
    const char *hint = "cmake --build <build-dir> --target rules_md";
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--in") == 0)
            in_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--out") == 0)
            out_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--check") == 0)
            check = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--guidelines") == 0)
            guidelines = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--ddi") == 0)
            ddi = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--hint") == 0)
            hint = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s --in rules.in --out rules.md [--guidelines guidelines.md] "
                    "[--ddi ddi-rules.md] [--check committed.md] [--hint text]\n",
                    argv[0]);
            return 2;
        }
    }
    if (out_path == NULL) {
        fprintf(stderr, "gen_rules_md: --out is required\n");
        return 2;
    }
    if (NRULES != kdpc_rule_count()) {
        fprintf(stderr, "gen_rules_md: the table has %zu rules, the library %zu: rebuild\n",
                (size_t)NRULES, kdpc_rule_count());
        return 1;
    }
    for (size_t i = 0; i < NRULES; i++) {
        table[i].unswitchable = kdpc__rule_unswitchable((unsigned)i);
        const char *lib_id = kdpc_rule_info(i, NULL);
        if (lib_id == NULL || strcmp(lib_id, table[i].id) != 0) {
            fprintf(stderr,
                    "gen_rules_md: rule %zu is '%s' in the table, '%s' in the library: "
                    "rebuild\n",
                    i, table[i].id, lib_id != NULL ? lib_id : "(none)");
            return 1;
        }
    }

    FILE *in = fopen(in_path, "r");
    if (in == NULL) {
        fprintf(stderr, "gen_rules_md: cannot open %s\n", in_path);
        return 1;
    }
    parse(in);
    fclose(in);
    errors += check_entries();
    if (guidelines != NULL)
        errors += check_guidelines(guidelines);
    if (ddi != NULL)
        errors += check_ddi(ddi);
    int rc = 0;
    if (errors > 0) {
        fprintf(stderr, "gen_rules_md: %d error(s); %s not written\n", errors, out_path);
        rc = 1;
    } else {
        FILE *o = fopen(out_path, "w");
        if (o == NULL) {
            fprintf(stderr, "gen_rules_md: cannot write %s\n", out_path);
            rc = 1;
        } else {
            emit(o);
            if (fclose(o) != 0) {
                fprintf(stderr, "gen_rules_md: error writing %s\n", out_path);
                rc = 1;
            }
        }
        if (rc == 0 && check != NULL)
            rc = check_current(out_path, check, "docs/rules.md", "the rule table and docs/rules.in",
                               hint, "docs/rules.md (and docs/rules.in)");
    }
    for (size_t i = 0; i < nentries; i++) {
        free(entries[i].id);
        for (int f = 0; f < F_COUNT; f++)
            free(entries[i].f[f]);
    }
    free(entries);
    return rc;
}
