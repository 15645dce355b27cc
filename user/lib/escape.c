// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The one escaping rule for outsiders' strings: see escape.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lib/escape.h"

/* The C-style escapes, in the order of their letters below. */
static const char cstyle_bytes[] = "\n\r\t\b\a\v\f";
static const char cstyle_letters[] = "nrtbavf";

/* One byte's escaped form into seq (at most 4 bytes, no NUL); returns its length. */
static size_t escape_byte(unsigned char c, const char *extra, char seq[4])
{
	const char *cstyle;

	/* Most bytes of a log line stand for themselves: they are looked at first. */
	if (c >= 0x20 && c < 0x7f && c != '\\' && !(extra && strchr(extra, c))) {
		seq[0] = (char)c;
		return 1;
	}
	if (c == '\\') {
		seq[0] = seq[1] = '\\';
		return 2;
	}
	cstyle = c ? strchr(cstyle_bytes, c) : NULL;
	if (cstyle) {
		seq[0] = '\\';
		seq[1] = cstyle_letters[cstyle - cstyle_bytes];
		return 2;
	}
	seq[0] = '\\';
	seq[1] = (char)('0' + (c >> 6));
	seq[2] = (char)('0' + ((c >> 3) & 7));
	seq[3] = (char)('0' + (c & 7));
	return 4;
}

size_t escape_vis(char *out, size_t outlen, const char *in, const char *extra)
{
	size_t total = 0, written = 0;

	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		char seq[4];
		size_t n;

		/* Most bytes stand for themselves: copied one by one, no escape built. */
		if (c >= 0x20 && c < 0x7f && c != '\\' && !extra) {
			if (written == total && total + 1 < outlen)
				out[written++] = (char)c;
			total++;
			continue;
		}
		n = escape_byte(c, extra, seq);
		/* Whole escapes only, so a cut line never ends in half of one. */
		if (written == total && total + n < outlen) {
			memcpy(out + written, seq, n);
			written += n;
		}
		total += n;
	}
	if (outlen)
		out[written] = '\0';
	return total;
}

int escape_vis_file(FILE *fp, const char *in, const char *extra)
{
	for (; *in; in++) {
		char seq[4];
		size_t n = escape_byte((unsigned char)*in, extra, seq);

		if (fwrite(seq, 1, n, fp) != n)
			return -EIO;
	}
	return 0;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

int escape_unvis(char *out, size_t outlen, const char *in)
{
	size_t n = 0;

	if (!outlen)
		return -ENOSPC;
	while (*in) {
		const char *letter;
		int c;

		if (n + 1 >= outlen)
			return -ENOSPC;
		if (*in != '\\') {
			out[n++] = *in++;
			continue;
		}
		in++;
		letter = *in ? strchr(cstyle_letters, *in) : NULL;
		if (*in == '\\') {
			c = '\\';
			in++;
		} else if (letter) {
			c = cstyle_bytes[letter - cstyle_letters];
			in++;
		} else if (in[0] >= '0' && in[0] <= '3' && is_octal(in[1]) && is_octal(in[2])) {
			c = (in[0] - '0') << 6 | (in[1] - '0') << 3 | (in[2] - '0');
			in += 3;
			if (!c)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (int)n;
}
