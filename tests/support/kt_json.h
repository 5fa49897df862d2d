/* SPDX-License-Identifier: MIT */
/*
 * kt_json.h - a small strict JSON parser for kdpc's tests (RFC 8259): objects,
 * arrays, strings with every escape (\uXXXX with surrogate pairs, decoded to
 * UTF-8), numbers in the JSON grammar only, true/false/null. Anything else
 * (trailing commas, leading zeros, raw control characters in strings, bad
 * escapes, lone surrogates, malformed UTF-8, trailing garbage, nesting deeper than 512) is an
 * error with the byte offset.
 *
 * The result is a tiny DOM of malloc'd nodes:
 *
 *     char err[128];
 *     kt_json *doc = kt_json_parse_file("trace.json", err, sizeof err);
 *     assert_non_null(doc);  // err says where and why otherwise
 *     const kt_json *evs = kt_json_get(doc, "traceEvents");
 *     for (size_t i = 0; i < kt_json_len(evs); i++) ... kt_json_at(evs, i) ...
 *     kt_json_free(doc);
 *
 * Header only; thread: any (no global state). Include after the C headers.
 */
#ifndef KT_JSON_H
#define KT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum kt_json_type {
    KT_JSON_NULL,
    KT_JSON_FALSE,
    KT_JSON_TRUE,
    KT_JSON_NUMBER,
    KT_JSON_STRING,
    KT_JSON_ARRAY,
    KT_JSON_OBJECT
} kt_json_type;

/* One value. Objects keep their members in order (keys[i] names items[i]); duplicate keys are
 * kept (kt_json_get returns the first). */
typedef struct kt_json {
    kt_json_type type;
    double number;          /* KT_JSON_NUMBER */
    char *str;              /* KT_JSON_STRING: decoded, NUL-terminated (may hold NULs: len) */
    size_t len;             /* string bytes, or array/object members */
    struct kt_json **items; /* array elements / object values */
    char **keys;            /* object keys (decoded) */
    size_t cap;
} kt_json;

typedef struct kt_json_parser_ {
    const char *p, *end, *start;
    char *err;
    size_t errlen;
    unsigned depth;
} kt_json_parser_;

static inline void kt_json_free(kt_json *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->len && v->items != NULL; i++) {
        kt_json_free(v->items[i]);
        if (v->keys != NULL)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static inline kt_json *kt_json_fail_(kt_json_parser_ *ps, const char *why)
{
    if (ps->err != NULL && ps->errlen > 0 && ps->err[0] == '\0')
        snprintf(ps->err, ps->errlen, "offset %zu: %s", (size_t)(ps->p - ps->start), why);
    return NULL;
}

static inline void kt_json_ws_(kt_json_parser_ *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Growable byte buffer for strings. */
typedef struct kt_json_buf_ {
    char *b;
    size_t n, cap;
} kt_json_buf_;

static inline bool kt_json_put_(kt_json_buf_ *b, unsigned char c)
{
    if (b->n + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        char *nb = realloc(b->b, cap);
        if (nb == NULL)
            return false;
        b->b = nb;
        b->cap = cap;
    }
    b->b[b->n++] = (char)c;
    b->b[b->n] = '\0';
    return true;
}

static inline bool kt_json_utf8_(kt_json_buf_ *b, uint32_t cp)
{
    if (cp < 0x80)
        return kt_json_put_(b, (unsigned char)cp);
    if (cp < 0x800)
        return kt_json_put_(b, (unsigned char)(0xC0 | (cp >> 6))) &&
               kt_json_put_(b, (unsigned char)(0x80 | (cp & 0x3F)));
    if (cp < 0x10000)
        return kt_json_put_(b, (unsigned char)(0xE0 | (cp >> 12))) &&
               kt_json_put_(b, (unsigned char)(0x80 | ((cp >> 6) & 0x3F))) &&
               kt_json_put_(b, (unsigned char)(0x80 | (cp & 0x3F)));
    return kt_json_put_(b, (unsigned char)(0xF0 | (cp >> 18))) &&
           kt_json_put_(b, (unsigned char)(0x80 | ((cp >> 12) & 0x3F))) &&
           kt_json_put_(b, (unsigned char)(0x80 | ((cp >> 6) & 0x3F))) &&
           kt_json_put_(b, (unsigned char)(0x80 | (cp & 0x3F)));
}

static inline int kt_json_hex4_(kt_json_parser_ *ps, uint32_t *out)
{
    if (ps->end - ps->p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Bytes of the well-formed UTF-8 sequence at @p (a byte >= 0x80) before @end, or 0 (overlong
 * forms, surrogates, code points past U+10FFFF, truncated sequences). */
static inline size_t kt_json_utf8_ok_(const char *p, const char *end)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t n = (size_t)(end - p);
    unsigned lo = 0x80, hi = 0xBF;
    size_t k;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        k = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        k = 3, lo = s[0] == 0xE0 ? 0xA0 : 0x80, hi = s[0] == 0xED ? 0x9F : 0xBF;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        k = 4, lo = s[0] == 0xF0 ? 0x90 : 0x80, hi = s[0] == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return k;
}

/* A string at ps->p (the opening quote); decoded into *out (malloc'd), its length in *len. */
static inline bool kt_json_string_(kt_json_parser_ *ps, char **out, size_t *len)
{
    kt_json_buf_ b = {NULL, 0, 0};
    ps->p++; /* " */
    if (!kt_json_put_(&b, 0))
        return false;
    b.n = 0;
    for (;;) {
        if (ps->p >= ps->end) {
            kt_json_fail_(ps, "unterminated string");
            break;
        }
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            *out = b.b;
            *len = b.n;
            return true;
        }
        if (c < 0x20) {
            kt_json_fail_(ps, "control character in string");
            break;
        }
        if (c >= 0x80) {
            size_t k = kt_json_utf8_ok_(ps->p, ps->end);
            if (k == 0) {
                kt_json_fail_(ps, "malformed UTF-8 in string");
                break;
            }
            for (size_t i = 0; i < k; i++) {
                if (!kt_json_put_(&b, (unsigned char)*ps->p++))
                    goto fail;
            }
            continue;
        }
        if (c != '\\') {
            ps->p++;
            if (!kt_json_put_(&b, c))
                break;
            continue;
        }
        ps->p++;
        if (ps->p >= ps->end) {
            kt_json_fail_(ps, "unterminated escape");
            break;
        }
        char e = *ps->p++;
        unsigned char d = 0;
        switch (e) {
        case '"':
            d = '"';
            break;
        case '\\':
            d = '\\';
            break;
        case '/':
            d = '/';
            break;
        case 'b':
            d = '\b';
            break;
        case 'f':
            d = '\f';
            break;
        case 'n':
            d = '\n';
            break;
        case 'r':
            d = '\r';
            break;
        case 't':
            d = '\t';
            break;
        case 'u': {
            uint32_t cp;
            if (kt_json_hex4_(ps, &cp) != 0) {
                kt_json_fail_(ps, "bad \\u escape");
                goto fail;
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                kt_json_fail_(ps, "lone low surrogate");
                goto fail;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    kt_json_fail_(ps, "lone high surrogate");
                    goto fail;
                }
                ps->p += 2;
                if (kt_json_hex4_(ps, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    kt_json_fail_(ps, "bad surrogate pair");
                    goto fail;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (!kt_json_utf8_(&b, cp))
                goto fail;
            continue;
        }
        default:
            kt_json_fail_(ps, "bad escape");
            goto fail;
        }
        if (!kt_json_put_(&b, d))
            break;
    }
fail:
    free(b.b);
    return false;
}

static inline kt_json *kt_json_new_(kt_json_type t)
{
    kt_json *v = calloc(1, sizeof *v);
    if (v != NULL)
        v->type = t;
    return v;
}

static inline bool kt_json_add_(kt_json *v, char *key, kt_json *item)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        kt_json **ni = realloc(v->items, cap * sizeof *ni);
        if (ni == NULL)
            return false;
        v->items = ni;
        if (v->type == KT_JSON_OBJECT) {
            char **nk = realloc(v->keys, cap * sizeof *nk);
            if (nk == NULL)
                return false;
            v->keys = nk;
        }
        v->cap = cap;
    }
    if (v->type == KT_JSON_OBJECT)
        v->keys[v->len] = key;
    v->items[v->len++] = item;
    return true;
}

static inline kt_json *kt_json_value_(kt_json_parser_ *ps);

static inline kt_json *kt_json_number_(kt_json_parser_ *ps)
{
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end)
        return kt_json_fail_(ps, "bad number");
    if (*ps->p == '0') {
        ps->p++;
    } else if (*ps->p >= '1' && *ps->p <= '9') {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    } else {
        return kt_json_fail_(ps, "bad number");
    }
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return kt_json_fail_(ps, "digit expected after '.'");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return kt_json_fail_(ps, "digit expected in exponent");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    char tmp[64];
    size_t n = (size_t)(ps->p - s);
    if (n >= sizeof tmp)
        n = sizeof tmp - 1; /* precision beyond that does not matter to the tests */
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    kt_json *v = kt_json_new_(KT_JSON_NUMBER);
    if (v == NULL)
        return kt_json_fail_(ps, "out of memory");
    v->number = strtod(tmp, NULL);
    return v;
}

static inline kt_json *kt_json_literal_(kt_json_parser_ *ps, const char *word, kt_json_type t)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return kt_json_fail_(ps, "unexpected character");
    ps->p += n;
    kt_json *v = kt_json_new_(t);
    return v != NULL ? v : kt_json_fail_(ps, "out of memory");
}

static inline kt_json *kt_json_container_(kt_json_parser_ *ps, bool object)
{
    if (++ps->depth > 512)
        return kt_json_fail_(ps, "nesting too deep");
    char close = object ? '}' : ']';
    kt_json *v = kt_json_new_(object ? KT_JSON_OBJECT : KT_JSON_ARRAY);
    if (v == NULL)
        return kt_json_fail_(ps, "out of memory");
    ps->p++;
    kt_json_ws_(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return v;
    }
    for (;;) {
        char *key = NULL;
        size_t klen = 0;
        kt_json_ws_(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                kt_json_fail_(ps, "member name expected");
                goto fail;
            }
            if (!kt_json_string_(ps, &key, &klen))
                goto fail;
            kt_json_ws_(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                kt_json_fail_(ps, "':' expected");
                goto fail;
            }
            ps->p++;
        }
        kt_json *item = kt_json_value_(ps);
        if (item == NULL || !kt_json_add_(v, key, item)) {
            free(key);
            kt_json_free(item);
            goto fail;
        }
        kt_json_ws_(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return v;
        }
        kt_json_fail_(ps, object ? "',' or '}' expected" : "',' or ']' expected");
        goto fail;
    }
fail:
    kt_json_free(v);
    return NULL;
}

static inline kt_json *kt_json_value_(kt_json_parser_ *ps)
{
    kt_json_ws_(ps);
    if (ps->p >= ps->end)
        return kt_json_fail_(ps, "value expected");
    switch (*ps->p) {
    case '{':
        return kt_json_container_(ps, true);
    case '[':
        return kt_json_container_(ps, false);
    case '"': {
        kt_json *v = kt_json_new_(KT_JSON_STRING);
        if (v == NULL)
            return kt_json_fail_(ps, "out of memory");
        if (!kt_json_string_(ps, &v->str, &v->len)) {
            free(v);
            return NULL;
        }
        v->type = KT_JSON_STRING;
        return v;
    }
    case 't':
        return kt_json_literal_(ps, "true", KT_JSON_TRUE);
    case 'f':
        return kt_json_literal_(ps, "false", KT_JSON_FALSE);
    case 'n':
        return kt_json_literal_(ps, "null", KT_JSON_NULL);
    default:
        return kt_json_number_(ps);
    }
}

/* Parse @len bytes at @text; NULL on error (then @err, if not NULL, says where and why). */
static inline kt_json *kt_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    kt_json_parser_ ps = {text, text + len, text, err, errlen, 0};
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    kt_json *v = kt_json_value_(&ps);
    if (v == NULL)
        return NULL;
    kt_json_ws_(&ps);
    if (ps.p != ps.end) {
        kt_json_free(v);
        return kt_json_fail_(&ps, "trailing characters after the value");
    }
    return v;
}

/* Read and parse the whole file at @path; NULL on error (@err says why). */
static inline kt_json *kt_json_parse_file(const char *path, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 131072;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    kt_json *v = bad ? NULL : kt_json_parse(buf, n, err, errlen);
    free(buf);
    return v;
}

/* Object member @key (first of that name), or NULL (also when @v is not an object). */
static inline const kt_json *kt_json_get(const kt_json *v, const char *key)
{
    if (v == NULL || v->type != KT_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->len; i++) {
        if (strcmp(v->keys[i], key) == 0)
            return v->items[i];
    }
    return NULL;
}

/* Members of an array or object; 0 for anything else. */
static inline size_t kt_json_len(const kt_json *v)
{
    return v != NULL && (v->type == KT_JSON_ARRAY || v->type == KT_JSON_OBJECT) ? v->len : 0;
}

/* Element @i of an array or object (NULL when out of range). */
static inline const kt_json *kt_json_at(const kt_json *v, size_t i)
{
    return i < kt_json_len(v) ? v->items[i] : NULL;
}

/* The string of member @key, or NULL when absent or not a string. */
static inline const char *kt_json_str(const kt_json *v, const char *key)
{
    const kt_json *m = kt_json_get(v, key);
    return m != NULL && m->type == KT_JSON_STRING ? m->str : NULL;
}

/* The number of member @key, or @dflt when absent or not a number. */
static inline double kt_json_num(const kt_json *v, const char *key, double dflt)
{
    const kt_json *m = kt_json_get(v, key);
    return m != NULL && m->type == KT_JSON_NUMBER ? m->number : dflt;
}

#endif /* KT_JSON_H */
