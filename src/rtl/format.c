/* SPDX-License-Identifier: MIT */
/*
 * format.c - the printf engine of DbgPrint and the RtlString*Printf /
 * RtlUnicodeStringPrintf routines: printf fields with Microsoft's sizes
 * (l = 32 bits, I64, I32, I) and string kinds (%wZ, %Z, %ws, %S, %C, %hs)
 * (docs/facts/rtl.md section 4). Narrow output maps characters above
 * U+00FF to '?'; wide output widens bytes as ISO-8859-1.
 */
#include <stdint.h>
#include <stdio.h>

#include "rtl/rtl.h"

typedef struct spec {
    bool left, plus, space, alt, zero;
    int width; /* -1: none */
    int prec;  /* -1: none */
    enum { L_NONE, L_HH, L_H, L_L, L_LL, L_W, L_I, L_I32, L_I64, L_Z, L_J, L_T, L_BIGL } len;
} spec;

static void put(kdpc__rtl_out *o, unsigned u)
{
    if (o->len + (o->counted ? 0u : 1u) < o->cap) {
        if (o->w != NULL)
            o->w[o->len] = (WCHAR)u;
        else
            o->n[o->len] = (char)(unsigned char)(u <= 0xFFu ? u : '?');
        o->len++;
    }
    o->need++;
}

static void pad(kdpc__rtl_out *o, size_t n, unsigned ch)
{
    while (n-- > 0)
        put(o, ch);
}

/* A run of @n units from a narrow (@nw NULL) or wide source, padded to the width. */
static void emit_units(kdpc__rtl_out *o, const spec *s, const char *nb, const WCHAR *wb, size_t n)
{
    if (s->prec >= 0 && (size_t)s->prec < n)
        n = (size_t)s->prec;
    size_t fill = s->width > 0 && (size_t)s->width > n ? (size_t)s->width - n : 0;
    if (!s->left)
        pad(o, fill, ' ');
    for (size_t i = 0; i < n; i++)
        put(o, wb != NULL ? wb[i] : (unsigned char)nb[i]);
    if (s->left)
        pad(o, fill, ' ');
}

static void emit_cstr(kdpc__rtl_out *o, const spec *s, const char *str)
{
    if (str == NULL)
        str = "(null)";
    size_t n = 0;
    while (str[n] != '\0' && (s->prec < 0 || n < (size_t)s->prec))
        n++;
    emit_units(o, s, str, NULL, n);
}

static void emit_wstr(kdpc__rtl_out *o, const spec *s, const WCHAR *str)
{
    if (str == NULL) {
        emit_cstr(o, s, NULL);
        return;
    }
    size_t n = 0;
    while (str[n] != 0 && (s->prec < 0 || n < (size_t)s->prec))
        n++;
    emit_units(o, s, NULL, str, n);
}

static void emit_int(kdpc__rtl_out *o, const spec *s, unsigned long long mag, bool neg,
                     bool is_signed, unsigned base, bool upper)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char d[72];
    size_t nd = 0;
    if (!(s->prec == 0 && mag == 0)) {
        do {
            d[nd++] = dig[mag % base];
            mag /= base;
        } while (mag != 0);
    }
    char pre[3];
    size_t np = 0;
    if (neg)
        pre[np++] = '-';
    else if (is_signed && s->plus)
        pre[np++] = '+';
    else if (is_signed && s->space)
        pre[np++] = ' ';
    size_t zeros = s->prec > 0 && (size_t)s->prec > nd ? (size_t)s->prec - nd : 0;
    if (s->alt && base == 16 && nd > 0 && !(nd == 1 && d[0] == '0')) {
        pre[np++] = '0';
        pre[np++] = upper ? 'X' : 'x';
    } else if (s->alt && base == 8 && zeros == 0 && (nd == 0 || d[nd - 1] != '0')) {
        zeros = 1;
    }
    size_t body = np + zeros + nd;
    size_t fill = s->width > 0 && (size_t)s->width > body ? (size_t)s->width - body : 0;
    if (!s->left && !(s->zero && s->prec < 0))
        pad(o, fill, ' ');
    for (size_t i = 0; i < np; i++)
        put(o, (unsigned char)pre[i]);
    if (!s->left && s->zero && s->prec < 0)
        pad(o, fill, '0');
    pad(o, zeros, '0');
    while (nd > 0)
        put(o, (unsigned char)d[--nd]);
    if (s->left)
        pad(o, fill, ' ');
}

static void emit_double(kdpc__rtl_out *o, const spec *s, double v, unsigned conv)
{
    char buf[512];
    int p = s->prec < 0 ? 6 : (s->prec > 300 ? 300 : s->prec);
    int n;
    switch (conv) {
    case 'e':
        n = snprintf(buf, sizeof(buf), "%.*e", p, v);
        break;
    case 'E':
        n = snprintf(buf, sizeof(buf), "%.*E", p, v);
        break;
    case 'g':
        n = snprintf(buf, sizeof(buf), "%.*g", p, v);
        break;
    case 'G':
        n = snprintf(buf, sizeof(buf), "%.*G", p, v);
        break;
    case 'a':
        n = snprintf(buf, sizeof(buf), "%a", v);
        break;
    case 'A':
        n = snprintf(buf, sizeof(buf), "%A", v);
        break;
    default:
        n = snprintf(buf, sizeof(buf), "%.*f", p, v);
        break;
    }
    if (n < 0)
        n = 0;
    size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    spec t = *s;
    t.prec = -1;
    emit_units(o, &t, buf, NULL, len);
}

/* Reads the format one unit at a time, narrow or wide. */
typedef struct fmt_src {
    const char *n;
    const WCHAR *w;
    size_t i;
} fmt_src;

static unsigned peek(const fmt_src *f)
{
    return f->w != NULL ? f->w[f->i] : (unsigned char)f->n[f->i];
}

static int number(fmt_src *f)
{
    long v = 0;
    while (peek(f) >= '0' && peek(f) <= '9') {
        if (v < 100000)
            v = v * 10 + (long)(peek(f) - '0');
        f->i++;
    }
    return (int)v;
}

static bool is_wide_arg(const spec *s, unsigned conv, bool wide_fmt)
{
    bool lower = conv == 's' || conv == 'c';
    if (s->len == L_H)
        return false;
    if (s->len == L_L || s->len == L_W)
        return true;
    return wide_fmt ? lower : !lower;
}

void kdpc__rtl_vformat(kdpc__rtl_out *o, const void *fmt, bool wide_fmt, va_list ap)
{
    fmt_src f = {wide_fmt ? NULL : (const char *)fmt, wide_fmt ? (const WCHAR *)fmt : NULL, 0};
    o->len = o->need = 0;
    unsigned ch;
    while ((ch = peek(&f)) != 0) {
        f.i++;
        if (ch != '%') {
            put(o, ch);
            continue;
        }
        spec s = {false, false, false, false, false, -1, -1, L_NONE};
        for (;; f.i++) {
            unsigned fl = peek(&f);
            if (fl == '-')
                s.left = true;
            else if (fl == '+')
                s.plus = true;
            else if (fl == ' ')
                s.space = true;
            else if (fl == '#')
                s.alt = true;
            else if (fl == '0')
                s.zero = true;
            else
                break;
        }
        if (peek(&f) == '*') {
            f.i++;
            s.width = va_arg(ap, int);
            if (s.width < 0) {
                s.left = true;
                s.width = s.width == INT32_MIN ? 0 : -s.width;
            }
        } else {
            s.width = number(&f);
        }
        if (peek(&f) == '.') {
            f.i++;
            if (peek(&f) == '*') {
                f.i++;
                s.prec = va_arg(ap, int);
                if (s.prec < 0)
                    s.prec = -1;
            } else {
                s.prec = number(&f);
            }
        }
        unsigned l = peek(&f);
        if (l == 'h') {
            f.i++;
            s.len = L_H;
            if (peek(&f) == 'h') {
                f.i++;
                s.len = L_HH;
            }
        } else if (l == 'l') {
            f.i++;
            s.len = L_L;
            if (peek(&f) == 'l') {
                f.i++;
                s.len = L_LL;
            }
        } else if (l == 'w') {
            f.i++;
            s.len = L_W;
        } else if (l == 'L') {
            f.i++;
            s.len = L_BIGL;
        } else if (l == 'z') {
            f.i++;
            s.len = L_Z;
        } else if (l == 'j') {
            f.i++;
            s.len = L_J;
        } else if (l == 't') {
            f.i++;
            s.len = L_T;
        } else if (l == 'I') {
            f.i++;
            s.len = L_I;
            if (peek(&f) == '6' &&
                (f.w != NULL ? f.w[f.i + 1] : (unsigned char)f.n[f.i + 1]) == '4') {
                f.i += 2;
                s.len = L_I64;
            } else if (peek(&f) == '3' &&
                       (f.w != NULL ? f.w[f.i + 1] : (unsigned char)f.n[f.i + 1]) == '2') {
                f.i += 2;
                s.len = L_I32;
            }
        }
        unsigned conv = peek(&f);
        if (conv == 0)
            break;
        f.i++;
        switch (conv) {
        case 'd':
        case 'i': {
            long long v;
            if (s.len == L_LL || s.len == L_I64 || s.len == L_BIGL || s.len == L_J)
                v = va_arg(ap, long long);
            else if (s.len == L_I || s.len == L_Z || s.len == L_T)
                v = (long long)va_arg(ap, ptrdiff_t);
            else
                v = va_arg(ap, int);
            if (s.len == L_HH)
                v = (signed char)v;
            else if (s.len == L_H)
                v = (short)v;
            unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            emit_int(o, &s, mag, v < 0, true, 10, false);
            break;
        }
        case 'u':
        case 'o':
        case 'x':
        case 'X': {
            unsigned long long v;
            if (s.len == L_LL || s.len == L_I64 || s.len == L_BIGL || s.len == L_J)
                v = va_arg(ap, unsigned long long);
            else if (s.len == L_I || s.len == L_Z || s.len == L_T)
                v = va_arg(ap, size_t);
            else
                v = va_arg(ap, unsigned int);
            if (s.len == L_HH)
                v = (unsigned char)v;
            else if (s.len == L_H)
                v = (unsigned short)v;
            unsigned base = conv == 'u' ? 10u : conv == 'o' ? 8u : 16u;
            emit_int(o, &s, v, false, false, base, conv == 'X');
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(ap, void *);
            spec t = s;
            t.prec = 16;
            t.alt = false;
            emit_int(o, &t, (unsigned long long)v, false, false, 16, true);
            break;
        }
        case 'c':
        case 'C': {
            int v = va_arg(ap, int);
            spec t = s;
            t.prec = -1;
            if (is_wide_arg(&s, conv, wide_fmt)) {
                o->unicode = true;
                WCHAR w = (WCHAR)v;
                emit_units(o, &t, NULL, &w, 1);
            } else {
                char c = (char)v;
                emit_units(o, &t, &c, NULL, 1);
            }
            break;
        }
        case 's':
        case 'S':
            if (is_wide_arg(&s, conv, wide_fmt)) {
                o->unicode = true;
                emit_wstr(o, &s, va_arg(ap, const WCHAR *));
            } else {
                emit_cstr(o, &s, va_arg(ap, const char *));
            }
            break;
        case 'Z':
            if (s.len == L_W) {
                const UNICODE_STRING *u = va_arg(ap, const UNICODE_STRING *);
                o->unicode = true;
                if (u == NULL || u->Buffer == NULL)
                    emit_cstr(o, &s, NULL);
                else
                    emit_units(o, &s, NULL, u->Buffer, u->Length / sizeof(WCHAR));
            } else {
                const STRING *a = va_arg(ap, const STRING *);
                if (a == NULL || a->Buffer == NULL)
                    emit_cstr(o, &s, NULL);
                else
                    emit_units(o, &s, a->Buffer, NULL, a->Length);
            }
            break;
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
        case 'a':
        case 'A': {
            double v = s.len == L_BIGL ? (double)va_arg(ap, long double) : va_arg(ap, double);
            emit_double(o, &s, v, conv);
            break;
        }
        case 'n':
            (void)va_arg(ap, void *);
            o->bad = true;
            break;
        case '%':
            put(o, '%');
            break;
        default:
            put(o, '%');
            put(o, conv);
            break;
        }
    }
    if (o->cap > 0 && !o->counted) {
        if (o->w != NULL)
            o->w[o->len] = 0;
        else
            o->n[o->len] = '\0';
    }
}
