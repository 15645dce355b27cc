// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the report's JSON strings (user/report/json.h),
 * which carry names from the config into report.html's <script> element.
 * On every input, json_write_bytes()'s output:
 *
 * - holds no '<', '>' or '&' (so no "</script>" or "<!--"), no byte below
 *   0x20 and no DEL, and is one JSON string that json-c parses;
 * - parses back to the input itself when the input is valid UTF-8 (json.c
 *   replaces the bytes of invalid UTF-8, so only then can it be the same);
 * - is at most 6 bytes per input byte plus the quotes.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether s (len bytes) is UTF-8, no NUL in it, that JSON carries as it is. */
static int plain_utf8(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t c = s[i], need, min;

		if (c == 0)
			return 0;
		if (c < 0x80)
			continue;
		if (c >= 0xc0 && c < 0xe0)
			need = 1, min = 0x80, c &= 0x1f;
		else if (c >= 0xe0 && c < 0xf0)
			need = 2, min = 0x800, c &= 0x0f;
		else if (c >= 0xf0 && c < 0xf8)
			need = 3, min = 0x10000, c &= 0x07;
		else
			return 0;
		if (i + need >= len)
			return 0;
		for (uint32_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += need;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o;
	char *out = NULL;
	size_t len = 0;
	FILE *fp;

	if (size > 4096)
		size = 4096;
	fp = open_memstream(&out, &len);
	if (!fp)
		return 0;
	json_write_bytes(fp, (const char *)data, size);
	if (fclose(fp) || !out)
		abort();
	if (len > 6 * size + 2 || len < 2 || out[0] != '"' || out[len - 1] != '"')
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c == '<' || c == '>' || c == '&' || c < 0x20 || c == 0x7f)
			abort();
	}
	o = json_tokener_parse(out);
	if (!o || !json_object_is_type(o, json_type_string))
		abort();
	if (plain_utf8(data, size) &&
	    ((size_t)json_object_get_string_len(o) != size ||
	     memcmp(json_object_get_string(o), data, size)))
		abort();
	json_object_put(o);
	free(out);
	return 0;
}
