/* SPDX-License-Identifier: MIT */
/*
 * gen_util.h - what the docs generators (gen_rules_md.c, gen_wdm_surface.c)
 * share: allocation that exits on failure, reading a file whole, trimming a
 * line, and the --check comparison of a generated file with the committed one.
 *
 * Define GEN_TOOL (the program's name for messages) before including it.
 */
#ifndef KDPC_TOOLS_GEN_UTIL_H
#define KDPC_TOOLS_GEN_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GEN_TOOL
#error "define GEN_TOOL before including gen_util.h"
#endif

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        fprintf(stderr, GEN_TOOL ": out of memory\n");
        exit(2);
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

/* Drops the line end and trailing blanks of @s. */
static void strip_eol(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* The whole file at @path, NUL-terminated, its length in *@len; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *s = NULL;
    size_t n = 0;
    char buf[8192];
    size_t k;
    while ((k = fread(buf, 1, sizeof(buf), f)) > 0) {
        s = xrealloc(s, n + k + 1);
        memcpy(s + n, buf, k);
        n += k;
    }
    fclose(f);
    if (s == NULL)
        s = xrealloc(NULL, 1);
    s[n] = '\0';
    *len = n;
    return s;
}

/*
 * 0 when @generated and @committed hold the same bytes; otherwise 1, after
 * saying that @doc (the committed file's name in the tree) differs from what
 * @sources give from which line on, and how to regenerate (@hint) and what to
 * commit (@commit).
 */
static int check_current(const char *generated, const char *committed, const char *doc,
                         const char *sources, const char *hint, const char *commit)
{
    size_t na = 0, nb = 0;
    char *a = slurp(generated, &na);
    char *b = slurp(committed, &nb);
    int rc = 0;
    if (a == NULL || b == NULL) {
        fprintf(stderr, GEN_TOOL ": cannot read %s\n", a == NULL ? generated : committed);
        rc = 1;
    } else if (na != nb || memcmp(a, b, na) != 0) {
        size_t i = 0, line = 1;
        while (i < na && i < nb && a[i] == b[i]) {
            if (a[i] == '\n')
                line++;
            i++;
        }
        fprintf(stderr,
                "%s is out of date: it differs from what %s give, from line %zu on.\n"
                "  generated: %s\n  committed: %s\n"
                "Regenerate it with\n    %s\nand commit %s.\n",
                doc, sources, line, generated, committed, hint, commit);
        rc = 1;
    }
    free(a);
    free(b);
    return rc;
}

#endif /* KDPC_TOOLS_GEN_UTIL_H */
