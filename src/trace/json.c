/* SPDX-License-Identifier: MIT */
/*
 * json.c - JSON strings for the exports.
 */
#include "trace/json.h"

size_t kdpc__utf8_len(const char *p)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        lo = s[0] == 0xE0 ? 0xA0 : 0x80;
        hi = s[0] == 0xED ? 0x9F : 0xBF;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        lo = s[0] == 0xF0 ? 0x90 : 0x80;
        hi = s[0] == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return n;
}

void kdpc__json_str(FILE *out, const char *s, bool for_html)
{
    static const char hex[] = "0123456789abcdef";
    fputc('"', out);
    for (const char *p = s != NULL ? s : ""; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
        } else if (c < 0x20 || c == 0x7f || (for_html && (c == '<' || c == '>' || c == '&'))) {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0'};
            fputs(u, out);
        } else if (c < 0x80) {
            fputc(c, out);
        } else {
            size_t n = kdpc__utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", out);
            } else {
                fwrite(p, 1, n, out);
                p += n - 1;
            }
        }
    }
    fputc('"', out);
}
