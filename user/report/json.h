/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * JSON text for report.json and for the copy embedded in report.html.
 * Strings come from the config and from outsiders (table names, evidence),
 * so the writer makes every one of them safe inside an HTML <script>
 * element as well as valid JSON:
 *
 *   '"' and '\'                 "\"" and "\\"
 *   bytes below 0x20, DEL       "\n" "\r" "\t" "\b" "\f", else "\u00XX"
 *   '<' '>' '&'                 "\u003c" "\u003e" "\u0026": no "</script>",
 *                               "<!--" or entity can appear in the page
 *   U+2028, U+2029              "\u2028" "\u2029" (line ends to JavaScript)
 *   valid UTF-8                 as it is
 *   any byte of invalid UTF-8   "\ufffd" (overlong forms, surrogates, beyond
 *                               U+10FFFF and cut sequences are invalid)
 */
#ifndef __GREYWALL_JSON_H
#define __GREYWALL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write s as a quoted JSON string. */
void json_write_string(FILE *fp, const char *s);
/* The same for len bytes that may hold NUL (written as "\u0000"). */
void json_write_bytes(FILE *fp, const char *s, size_t len);
/* "key": with the key escaped as any string. */
void json_write_key(FILE *fp, const char *key);
/* Integers as JSON numbers, [v0,v1,...]. */
void json_write_int64_array(FILE *fp, const int64_t *v, size_t n);

#endif /* __GREYWALL_JSON_H */
