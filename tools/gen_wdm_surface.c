/* SPDX-License-Identifier: MIT */
/*
 * gen_wdm_surface.c - writes docs/wdm-surface.md: every WDM routine, type,
 * macro and constant that kdpc's driver-facing headers declare, with its
 * status, plus the names kdpc deliberately does not declare.
 *
 *   gen_wdm_surface --absent docs/wdm-absent.in --out FILE [--check docs/wdm-surface.md]
 *                   [--hint "how to regenerate"] HEADER...
 *
 * HEADER arguments are include/kdpc/wdm/<x>.h and include/kdpc/compat/<y>.h
 * files (a compat header only says which kdpc/wdm header a driver's
 * #include <y.h> reaches). The headers are kdpc's own, clang-formatted, so a
 * line-based reading is enough:
 *
 *  - a routine is a `static inline` function, a `#define Name kdpc_Name`, or
 *    a function-like macro whose name is CamelCase (KeBugCheck(Code));
 *  - a type is a typedef name (the first declarator of the typedef);
 *  - a macro is any other #define, an enumeration constant is a constant;
 *  - names starting with kdpc_/KDPC_/_KDPC or ending in _H (include guards)
 *    are kdpc's own and not listed.
 *
 * A routine or type is "partial" when the doc comment (slash-star-star)
 * just before it contains "Divergence:"; the sentence that follows is
 * quoted. Everything else declared is "modelled".
 *
 * Fails (exit 1) when a name of docs/wdm-absent.in is declared after all,
 * when an absent line is malformed, and with --check when the generated text
 * differs from the committed file.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_TOOL "gen_wdm_surface"
#include "gen_util.h"

enum kind { K_ROUTINE, K_VARIABLE, K_TYPE, K_MACRO, K_CONSTANT, K_COUNT };

typedef struct decl {
    char *name;
    enum kind kind;
    int header;       /* index into headers[] */
    char *divergence; /* NULL when modelled */
} decl;

typedef struct header {
    char *path; /* as given */
    char *name; /* kdpc/wdm/x.h or compat name y.h */
    bool compat;
    char *reaches; /* compat: the kdpc header it includes */
} header;

static decl *decls;
static size_t ndecls;
static header *headers;
static size_t nheaders;
static char **absent_name, **absent_why;
static size_t nabsent;
static int errors;
static char **externs; /* X of every `extern ... kdpc_X` seen: exported variables */
static size_t nexterns;

static bool is_extern(const char *n, size_t len)
{
    for (size_t i = 0; i < nexterns; i++) {
        if (strlen(externs[i]) == len && strncmp(externs[i], n, len) == 0)
            return true;
    }
    return false;
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static bool own_name(const char *n)
{
    size_t len = strlen(n);
    return strncmp(n, "kdpc_", 5) == 0 || strncmp(n, "KDPC_", 5) == 0 ||
           strncmp(n, "_KDPC", 5) == 0 || (len > 2 && strcmp(n + len - 2, "_H") == 0);
}

/* KeBugCheck, _InterlockedOr: a routine's name; STATUS_PENDING, CTL_CODE, _In_: a macro's. */
static bool camel_case(const char *n, size_t len)
{
    bool lower = false;
    if (len > 1 && (n[len - 1] == '_' || (n[0] == '_' && n[1] == '_')))
        return false; /* SAL annotations: _In_reads_(s), __drv_dispatchType(x) */
    for (size_t i = 0; i < len; i++)
        lower = lower || islower((unsigned char)n[i]);
    return lower && len > 0 && (isupper((unsigned char)n[0]) || n[0] == '_');
}

static decl *find(const char *name)
{
    for (size_t i = 0; i < ndecls; i++) {
        if (strcmp(decls[i].name, name) == 0)
            return &decls[i];
    }
    return NULL;
}

/* Records @name (first declaration wins: a macro guarded by #ifndef in two headers is listed
 * once). */
static void add(const char *name, size_t n, enum kind k, int h, const char *divergence)
{
    char *s = xstrndup(name, n);
    if (s[0] == '\0' || own_name(s) || find(s) != NULL) {
        free(s);
        return;
    }
    decls = xrealloc(decls, (ndecls + 1) * sizeof(*decls));
    decls[ndecls++] = (decl){s, k, h, divergence != NULL ? xstrdup(divergence) : NULL};
}

/* The sentence after "Divergence:" in a doc comment, whitespace folded. */
static char *divergence_of(const char *doc)
{
    const char *d = strstr(doc, "Divergence:");
    if (d == NULL)
        return NULL;
    d = skip_ws(d + strlen("Divergence:"));
    size_t cap = strlen(d) + 1, n = 0;
    char *out = xrealloc(NULL, cap);
    bool space = false;
    for (const char *p = d; *p != '\0'; p++) {
        char c = *p;
        if (c == '*' && (p[1] == '/' || p == d || p[-1] == ' ' || p[-1] == '\n'))
            continue; /* comment decoration */
        if (c == '/' && p > d && p[-1] == '*')
            continue;
        if (c == '\n' || c == '\t' || c == ' ') {
            space = n > 0;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = false;
        if (c == '|')
            c = '/'; /* keep the Markdown table intact */
        out[n++] = c;
        if (c == '.' && (p[1] == ' ' || p[1] == '\n' || p[1] == '\0'))
            break;
    }
    out[n] = '\0';
    return out;
}

static void read_header(int h)
{
    FILE *f = fopen(headers[h].path, "r");
    if (f == NULL) {
        fprintf(stderr, "gen_wdm_surface: cannot open %s\n", headers[h].path);
        errors++;
        return;
    }
    char buf[4096];
    char *doc = NULL; /* the last doc comment, until a declaration takes it */
    size_t doclen = 0;
    bool in_comment = false, in_doc = false, in_enum = false, in_typedef_body = false;
    int depth = 0;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        strip_eol(buf);
        const char *p = skip_ws(buf);
        if (in_comment) {
            if (in_doc) {
                doc = xrealloc(doc, doclen + strlen(p) + 2);
                memcpy(doc + doclen, p, strlen(p));
                doclen += strlen(p);
                doc[doclen++] = '\n';
                doc[doclen] = '\0';
            }
            if (strstr(p, "*/") != NULL)
                in_comment = false;
            continue;
        }
        if (strncmp(p, "/*", 2) == 0) {
            bool is_doc = strncmp(p, "/**", 3) == 0 && p[3] != '/';
            if (is_doc) {
                free(doc);
                doclen = strlen(p);
                doc = xstrndup(p, doclen);
                doc = xrealloc(doc, doclen + 2);
                doc[doclen++] = '\n';
                doc[doclen] = '\0';
            }
            in_doc = is_doc;
            in_comment = strstr(p + 2, "*/") == NULL;
            continue;
        }
        if (headers[h].compat) {
            const char *inc = strstr(p, "#include <");
            if (inc != NULL && headers[h].reaches == NULL) {
                inc += strlen("#include <");
                const char *end = strchr(inc, '>');
                if (end != NULL)
                    headers[h].reaches = xstrndup(inc, (size_t)(end - inc));
            }
            continue;
        }
        if (strstr(p, "extern ") != NULL) {
            const char *k = strstr(p, "kdpc_");
            if (k != NULL) {
                const char *e = k + 5;
                while (is_ident_char(*e))
                    e++;
                externs = xrealloc(externs, (nexterns + 1) * sizeof(char *));
                externs[nexterns++] = xstrndup(k + 5, (size_t)(e - k - 5));
            }
        }
        char *div = doc != NULL ? divergence_of(doc) : NULL;
        bool took = false;
        if (strncmp(p, "#define", 7) == 0) {
            const char *n = skip_ws(p + 7);
            const char *e = n;
            while (is_ident_char(*e))
                e++;
            size_t len = (size_t)(e - n);
            const char *v = skip_ws(e);
            if (*e == '(')
                add(n, len, camel_case(n, len) ? K_ROUTINE : K_MACRO, h, div);
            else if (strncmp(v, "kdpc_", 5) == 0 && strncmp(v + 5, n, len) == 0 &&
                     !is_ident_char(v[5 + len]))
                add(n, len, is_extern(n, len) || !camel_case(n, len) ? K_VARIABLE : K_ROUTINE, h,
                    div);
            else if (camel_case(n, len) && (isalpha((unsigned char)*v) || *v == '_'))
                add(n, len, K_ROUTINE, h, div); /* an alias: #define KeAcquireGuardedMutex ... */
            else
                add(n, len, K_MACRO, h, div);
            took = true;
        } else if (strncmp(p, "static inline", 13) == 0 ||
                   strncmp(p, "KDPC_FORCEINLINE", 16) == 0) {
            const char *paren = strchr(p, '(');
            if (paren != NULL) {
                const char *e = paren;
                const char *n = e;
                while (n > p && is_ident_char(n[-1]))
                    n--;
                add(n, (size_t)(e - n), K_ROUTINE, h, div);
                took = true;
            }
        } else if (strncmp(p, "typedef", 7) == 0) {
            /* typedef enum/struct/union _X { ... } NAME, *PNAME;  or  typedef T NAME, *P;
             * or  typedef R NAME(args);  */
            const char *brace = strchr(p, '{');
            const char *semi = strchr(p, ';');
            if (brace != NULL && (semi == NULL || semi > brace)) {
                in_enum = strncmp(skip_ws(p + 7), "enum", 4) == 0;
                in_typedef_body = true;
                depth = 1;
                if (strchr(brace, '}') != NULL) { /* one-line body */
                    depth = 0;
                    in_typedef_body = false;
                    const char *n = skip_ws(strrchr(p, '}') + 1);
                    const char *e = n;
                    while (is_ident_char(*e))
                        e++;
                    add(n, (size_t)(e - n), K_TYPE, h, div);
                }
            } else if (semi != NULL) {
                /* the declarator: the identifier before '(' (function type), else before the
                 * first ',' or ';' */
                const char *paren = strchr(p, '(');
                const char *end = paren != NULL && paren < semi ? paren : NULL;
                if (end == NULL) {
                    const char *comma = strchr(p, ',');
                    end = comma != NULL && comma < semi ? comma : semi;
                    /* skip array bounds: typedef X NAME[4]; */
                    const char *br = strchr(p, '[');
                    if (br != NULL && br < end)
                        end = br;
                }
                const char *n = end;
                while (n > p && (n[-1] == ' ' || n[-1] == '*'))
                    n--;
                const char *e = n;
                while (n > p && is_ident_char(n[-1]))
                    n--;
                add(n, (size_t)(e - n), K_TYPE, h, div);
            }
            took = true;
        } else if (in_typedef_body) {
            for (const char *q = p; *q != '\0'; q++) {
                if (*q == '{')
                    depth++;
                else if (*q == '}')
                    depth--;
            }
            if (in_enum && depth == 1 && is_ident_char(*p) && !isdigit((unsigned char)*p)) {
                const char *e = p;
                while (is_ident_char(*e))
                    e++;
                add(p, (size_t)(e - p), K_CONSTANT, h, NULL);
            }
            if (depth == 0) {
                in_typedef_body = false;
                in_enum = false;
                const char *n = skip_ws(strrchr(p, '}') + 1);
                const char *e = n;
                while (is_ident_char(*e))
                    e++;
                add(n, (size_t)(e - n), K_TYPE, h, div);
                took = true;
            }
        }
        free(div);
        if (took) {
            free(doc);
            doc = NULL;
            doclen = 0;
        }
    }
    free(doc);
    fclose(f);
}

static void read_absent(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "gen_wdm_surface: cannot open %s\n", path);
        errors++;
        return;
    }
    char buf[4096];
    int lineno = 0;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        lineno++;
        strip_eol(buf);
        const char *p = skip_ws(buf);
        if (*p == '#' || *p == '\0')
            continue;
        const char *bar = strchr(p, '|');
        const char *e = p;
        while (is_ident_char(*e))
            e++;
        if (bar == NULL || e == p || *skip_ws(e) != '|' || *skip_ws(bar + 1) == '\0') {
            fprintf(stderr, "%s:%d: expected 'Name | why'\n", path, lineno);
            errors++;
            continue;
        }
        char *name = xstrndup(p, (size_t)(e - p));
        if (find(name) != NULL) {
            fprintf(stderr, "%s:%d: %s is declared in %s; remove it from the absent list\n", path,
                    lineno, name, headers[find(name)->header].name);
            errors++;
        }
        absent_name = xrealloc(absent_name, (nabsent + 1) * sizeof(char *));
        absent_why = xrealloc(absent_why, (nabsent + 1) * sizeof(char *));
        absent_name[nabsent] = name;
        absent_why[nabsent++] = xstrdup(skip_ws(bar + 1));
    }
    fclose(f);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int decl_by_name(const void *a, const void *b)
{
    return strcmp((*(const decl *const *)a)->name, (*(const decl *const *)b)->name);
}

static void list_names(FILE *out, int h, enum kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < ndecls; i++)
        n += decls[i].header == h && decls[i].kind == k;
    if (n == 0)
        return;
    const char **names = xrealloc(NULL, n * sizeof(char *));
    size_t j = 0, status_codes = 0;
    for (size_t i = 0; i < ndecls; i++) {
        if (decls[i].header != h || decls[i].kind != k)
            continue;
        if (strncmp(decls[i].name, "STATUS_", 7) == 0) {
            status_codes++;
            continue;
        }
        names[j++] = decls[i].name;
    }
    qsort(names, j, sizeof(char *), by_name);
    fprintf(out, "%s: ", k == K_TYPE ? "Types" : k == K_CONSTANT ? "Constants" : "Macros");
    if (status_codes > 0)
        fprintf(out, "%zu `STATUS_*` codes%s", status_codes, j > 0 ? ", " : "");
    for (size_t i = 0; i < j; i++)
        fprintf(out, "%s`%s`", i > 0 ? ", " : "", names[i]);
    fprintf(out, ".\n\n");
    free(names);
}

static void write_md(FILE *out)
{
    size_t count[K_COUNT] = {0}, partial = 0;
    for (size_t i = 0; i < ndecls; i++) {
        count[decls[i].kind]++;
        partial += decls[i].kind == K_ROUTINE && decls[i].divergence != NULL;
    }
    fprintf(out,
            "<!-- Generated by tools/gen_wdm_surface.c from include/kdpc/wdm/*.h,\n"
            "     include/kdpc/compat/*.h and docs/wdm-absent.in. Do not edit: run\n"
            "     cmake --build <build-dir> --target wdm_surface_md -->\n"
            "# The WDM surface: what a driver finds in kdpc's headers\n\n"
            "Every routine, type, macro and constant that kdpc's driver-facing headers "
            "declare, header by header, and the names it deliberately leaves out.\n\n"
            "- **modelled**: the routine behaves as Windows documents it; the facts it relies "
            "on are in [docs/facts/](facts/) with their sources.\n"
            "- **partial**: declared and working, with a documented difference (the "
            "`Divergence:` quoted here; the routine's header comment has the whole note).\n"
            "- **absent**: deliberately not declared. A driver that uses one does not compile, "
            "and the compiler's message names it "
            "(kdpc::wdm adds `-Werror=implicit-function-declaration`).\n\n"
            "Totals: %zu routines (%zu partial), %zu exported variables, %zu types, "
            "%zu macros, %zu enumeration constants; %zu absent names.\n\n",
            count[K_ROUTINE], partial, count[K_VARIABLE], count[K_TYPE], count[K_MACRO],
            count[K_CONSTANT], nabsent);

    fprintf(out, "## Headers a driver can include\n\n| `#include` | reaches |\n|---|---|\n");
    for (size_t h = 0; h < nheaders; h++) {
        if (headers[h].compat)
            fprintf(out, "| `<%s>` | `<%s>` |\n", headers[h].name,
                    headers[h].reaches != NULL ? headers[h].reaches : "?");
    }
    fprintf(out, "\n");

    for (size_t h = 0; h < nheaders; h++) {
        if (headers[h].compat)
            continue;
        size_t n = 0;
        for (size_t i = 0; i < ndecls; i++)
            n += decls[i].header == (int)h;
        if (n == 0)
            continue;
        fprintf(out, "## `<%s>`\n\n", headers[h].name);
        size_t nr = 0;
        for (size_t i = 0; i < ndecls; i++)
            nr += decls[i].header == (int)h &&
                  (decls[i].kind == K_ROUTINE || decls[i].kind == K_VARIABLE);
        if (nr > 0) {
            const decl **r = xrealloc(NULL, nr * sizeof(decl *));
            size_t j = 0;
            for (size_t i = 0; i < ndecls; i++) {
                if (decls[i].header == (int)h &&
                    (decls[i].kind == K_ROUTINE || decls[i].kind == K_VARIABLE))
                    r[j++] = &decls[i];
            }
            qsort(r, nr, sizeof(decl *), decl_by_name);
            fprintf(out, "| Routine | Status |\n|---|---|\n");
            for (size_t i = 0; i < nr; i++) {
                if (r[i]->divergence != NULL)
                    fprintf(out, "| `%s` | partial: %s |\n", r[i]->name, r[i]->divergence);
                else
                    fprintf(out, "| `%s` | %s |\n", r[i]->name,
                            r[i]->kind == K_VARIABLE ? "modelled (object)" : "modelled");
            }
            fprintf(out, "\n");
            free(r);
        }
        list_names(out, (int)h, K_TYPE);
        list_names(out, (int)h, K_MACRO);
        list_names(out, (int)h, K_CONSTANT);
        for (size_t i = 0; i < ndecls; i++) {
            if (decls[i].header == (int)h && decls[i].kind == K_TYPE && decls[i].divergence)
                fprintf(out, "- `%s` is partial: %s\n", decls[i].name, decls[i].divergence);
        }
    }

    fprintf(out, "## Absent\n\n");
    if (nabsent == 0) {
        fprintf(out, "None listed.\n");
        return;
    }
    fprintf(out, "| Name | Why it is not declared |\n|---|---|\n");
    for (size_t i = 0; i < nabsent; i++)
        fprintf(out, "| `%s` | %s |\n", absent_name[i], absent_why[i]);
}

int main(int argc, char **argv)
{
    const char *absent = NULL, *out_path = NULL, *check = NULL;
    const char *hint = "cmake --build <build-dir> --target wdm_surface_md";
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--absent") == 0)
            absent = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--out") == 0)
            out_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--check") == 0)
            check = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--hint") == 0)
            hint = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: gen_wdm_surface --absent wdm-absent.in --out FILE "
                            "[--check committed.md] [--hint text] HEADER...\n");
            return 2;
        } else {
            const char *path = argv[i];
            const char *wdm = strstr(path, "kdpc/wdm/");
            const char *compat = strstr(path, "kdpc/compat/");
            headers = xrealloc(headers, (nheaders + 1) * sizeof(*headers));
            headers[nheaders] = (header){xstrdup(path),
                                         xstrdup(compat != NULL ? compat + strlen("kdpc/compat/")
                                                 : wdm != NULL  ? wdm
                                                                : path),
                                         compat != NULL, NULL};
            nheaders++;
        }
    }
    if (absent == NULL || out_path == NULL || nheaders == 0) {
        fprintf(stderr, "gen_wdm_surface: --absent, --out and headers are required\n");
        return 2;
    }
    for (size_t h = 0; h < nheaders; h++)
        read_header((int)h);
    read_absent(absent);
    if (errors > 0)
        return 1;
    FILE *out = fopen(out_path, "w");
    if (out == NULL) {
        fprintf(stderr, "gen_wdm_surface: cannot write %s\n", out_path);
        return 1;
    }
    write_md(out);
    if (fclose(out) != 0) {
        fprintf(stderr, "gen_wdm_surface: cannot write %s\n", out_path);
        return 1;
    }
    return check != NULL ? check_current(out_path, check, "docs/wdm-surface.md",
                                         "the WDM headers and docs/wdm-absent.in", hint,
                                         "docs/wdm-surface.md")
                         : 0;
}
