// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* JSON strings safe inside an HTML <script> element (json.h). */
#include <inttypes.h>

#include "report/json.h"

/*
 * The length of the valid UTF-8 sequence at s (at most len bytes), or 0
 * when s does not start one (RFC 3629: no overlong form, no surrogate,
 * nothing beyond U+10FFFF).
 */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (len < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

void json_write_bytes(FILE *fp, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	putc('"', fp);
	while (i < len) {
		unsigned char c = s[i];
		size_t seq;

		switch (c) {
		case '"':
			fputs("\\\"", fp);
			break;
		case '\\':
			fputs("\\\\", fp);
			break;
		case '\n':
			fputs("\\n", fp);
			break;
		case '\r':
			fputs("\\r", fp);
			break;
		case '\t':
			fputs("\\t", fp);
			break;
		case '\b':
			fputs("\\b", fp);
			break;
		case '\f':
			fputs("\\f", fp);
			break;
		case '<':
		case '>':
		case '&':
			fprintf(fp, "\\u%04x", c);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fprintf(fp, "\\u%04x", c);
				break;
			}
			if (c < 0x80) {
				putc(c, fp);
				break;
			}
			seq = utf8_sequence(s + i, len - i);
			if (!seq) {
				fputs("\\ufffd", fp);
				break;
			}
			/* U+2028 and U+2029 end a line in JavaScript before ES2019. */
			if (seq == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
			    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
				fprintf(fp, "\\u%04x", 0x2000 | (s[i + 2] & 0x3f));
			else
				fwrite(s + i, 1, seq, fp);
			i += seq;
			continue;
		}
		i++;
	}
	putc('"', fp);
}

void json_write_string(FILE *fp, const char *s)
{
	size_t len = 0;

	while (s[len])
		len++;
	json_write_bytes(fp, s, len);
}

void json_write_key(FILE *fp, const char *key)
{
	json_write_string(fp, key);
	putc(':', fp);
}

void json_write_int64_array(FILE *fp, const int64_t *v, size_t n)
{
	putc('[', fp);
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%s%" PRId64, i ? "," : "", v[i]);
	putc(']', fp);
}
