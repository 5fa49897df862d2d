/* SPDX-License-Identifier: MIT */
/*
 * json.h - JSON strings for the exports (report_json.c, html.c, chrome.c):
 * names come from drivers and tests and may hold any byte.
 */
#ifndef KDPC_TRACE_JSON_H
#define KDPC_TRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Bytes of the well-formed UTF-8 sequence at @p (its first byte >= 0x80), or 0 when it is not
 * one: overlong forms, surrogates, past U+10FFFF, cut short. */
size_t kdpc__utf8_len(const char *p);

/* @s (NULL: "") as a quoted JSON string to @out: quotes, backslashes and control characters
 * escaped, well-formed UTF-8 copied, any other byte >= 0x80 as U+FFFD (a name given as
 * Latin-1 keeps the file JSON). @for_html: '<', '>' and '&' escaped too, so the string can sit
 * in a <script> element. Write errors are left to the caller's ferror. */
void kdpc__json_str(FILE *out, const char *s, bool for_html);

#endif /* KDPC_TRACE_JSON_H */
