// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The one escaping rule for outsiders' strings (user/lib/escape.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lib/escape.h"

static const char *vis(const char *in, const char *extra)
{
	static char out[256];

	escape_vis(out, sizeof(out), in, extra);
	return out;
}

/* Every byte alone: printable ones as they are, the rest escaped, and back again. */
static void test_every_byte(void)
{
	int printable_ok = 1, escaped_ok = 1, round_trip = 1, no_control = 1;

	for (int c = 1; c < 256; c++) {
		char in[2] = { (char)c, 0 }, out[8], back[8];
		size_t n = escape_vis(out, sizeof(out), in, "|");

		for (size_t i = 0; i < n; i++)
			if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f ||
			    out[i] == '|')
				no_control = 0;
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '|')
			printable_ok &= n == 1 && out[0] == c;
		else
			escaped_ok &= n >= 2 && out[0] == '\\';
		round_trip &= escape_unvis(back, sizeof(back), out) == 1 && back[0] == (char)c;
	}
	CHECK(printable_ok, "bytes 0x20-0x7e but '\\' and '|' print as they are");
	CHECK(escaped_ok, "every other byte 1-255 is escaped");
	CHECK(no_control, "no escape holds a control byte, a byte >= 0x7f or the separator");
	CHECK(round_trip, "escape_unvis() gives every byte 1-255 back");
}

static void test_forms(void)
{
	CHECK_STR(vis("a\\b", NULL), "a\\\\b", "'\\' is doubled");
	CHECK_STR(vis("x\r\ny\t", NULL), "x\\r\\ny\\t", "CR, LF and TAB in C style");
	CHECK_STR(vis("\b\a\v\f", NULL), "\\b\\a\\v\\f", "the other C-style escapes");
	CHECK_STR(vis("\033[2J", NULL), "\\033[2J", "ESC in octal");
	CHECK_STR(vis("\x7f\xe9\x01", NULL), "\\177\\351\\001", "DEL, 8-bit and other bytes in octal");
	CHECK_STR(vis("x|a|b|0|0", "|"), "x\\174a\\174b\\1740\\1740", "the extra separator in octal");
	CHECK_STR(vis("x|a", NULL), "x|a", "'|' as it is without the extra");
	CHECK_STR(vis("mx.example.net", "|"), "mx.example.net", "an ordinary name is unchanged");
	CHECK_STR(vis("a b", NULL), "a b", "a space stays a space");
}

static void test_bounds(void)
{
	char out[6], big[ESCAPE_SIZE(300)], back[301], in[301];

	CHECK_INT(escape_vis(out, sizeof(out), "ab\033cd", NULL), 8, "the full length is returned");
	CHECK_STR(out, "ab", "a cut falls between escapes, never inside one");
	CHECK_INT(escape_vis(out, 0, "abc", NULL), 3, "outlen 0 writes nothing");
	for (int i = 0; i < 300; i++)
		in[i] = (char)(i % 255 + 1);
	in[300] = '\0';
	CHECK(escape_vis(big, sizeof(big), in, "|") < sizeof(big), "ESCAPE_SIZE(n) holds any n bytes");
	CHECK(escape_unvis(back, sizeof(back), big) == 300 && !memcmp(back, in, 301),
	      "300 mixed bytes round-trip");
	CHECK_INT(escape_unvis(back, sizeof(back), "a\\000"), -EINVAL, "\\000 is refused");
	CHECK_INT(escape_unvis(back, sizeof(back), "a\\q"), -EINVAL, "an unknown escape is refused");
	CHECK_INT(escape_unvis(back, sizeof(back), "a\\"), -EINVAL, "a trailing '\\' is refused");
	CHECK_INT(escape_unvis(back, 2, "abc"), -ENOSPC, "too small an output is refused");
}

static void test_file(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	CHECK(!escape_vis_file(fp, "h\relo|\033", "|"), "escape_vis_file() writes");
	fclose(fp);
	CHECK_STR(text, "h\\relo\\174\\033", "the stream gets the same escapes");
	free(text);
}

int main(void)
{
	test_every_byte();
	test_forms();
	test_bounds();
	test_file();
	return check_done();
}
