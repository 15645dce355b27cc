// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "lib/addr.h"
#include "check.h"

static void parse_round_trip(const char *in, const char *want)
{
	struct addr_prefix p;
	char buf[ADDR_STRLEN];
	int err = addr_parse(in, &p);

	CHECK_INT(err, 0, "parse %s", in);
	if (err)
		return;
	addr_format(&p, buf, sizeof(buf));
	CHECK_STR(buf, want, "format %s", in);
}

/*
 * addr_format() writes IPv4 addresses itself: the same text as
 * inet_ntop() for every octet value in every position, and cut as
 * snprintf() cuts.
 */
static void test_format_ipv4(void)
{
	struct addr_prefix a = { .family = AF_INET, .plen = 32 };
	char buf[ADDR_STRLEN], want[INET_ADDRSTRLEN];
	size_t differ = 0;

	for (int pos = 0; pos < 4; pos++) {
		for (int v = 0; v < 256; v++) {
			static const uint8_t others[4] = { 198, 51, 100, 7 };

			memcpy(a.bytes, others, 4);
			a.bytes[pos] = (uint8_t)v;
			addr_format(&a, buf, sizeof(buf));
			inet_ntop(AF_INET, a.bytes, want, sizeof(want));
			differ += strcmp(buf, want) != 0;
		}
	}
	CHECK_INT((int)differ, 0, "IPv4: addr_format() writes what inet_ntop() writes");
	memcpy(a.bytes, "\xcb\x00\x71\xff", 4);
	addr_format(&a, buf, sizeof(buf));
	CHECK_STR(buf, "203.0.113.255", "IPv4: 203.0.113.255");
	addr_format(&a, buf, 6);
	CHECK_STR(buf, "203.0", "IPv4: cut to the buffer, as snprintf() cuts");
	buf[0] = 'x';
	addr_format(&a, buf, 0);
	CHECK(buf[0] == 'x', "IPv4: nothing written into no room");
}

int main(void)
{
	static const char *bad[] = {
		"", "1.2.3", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x", "198.51.100.1/24",
		"2001:db8::1/48", "2001:db8::/129", "::ffff:192.0.2.1", "example.org",
		"1.2.3.4/-1", "/24",
	};
	struct addr_prefix a, b;
	struct gw_addr key;

	test_format_ipv4();
	parse_round_trip("198.51.100.7", "198.51.100.7");
	parse_round_trip("198.51.100.7/32", "198.51.100.7");
	parse_round_trip("198.51.100.0/24", "198.51.100.0/24");
	parse_round_trip("0.0.0.0/0", "0.0.0.0/0");
	parse_round_trip("2001:db8:bad::/48", "2001:db8:bad::/48");
	parse_round_trip("2001:DB8::1", "2001:db8::1");
	parse_round_trip("::/0", "::/0");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(addr_parse(bad[i], &a), -EINVAL, "reject \"%s\"", bad[i]);

	addr_parse("198.51.100.0/24", &a);
	addr_parse("198.51.100.200", &b);
	CHECK(addr_contains(&a, &b), "/24 contains its host");
	CHECK(!addr_contains(&b, &a), "host does not contain /24");
	addr_parse("2001:db8::/32", &a);
	CHECK(!addr_contains(&a, &b), "IPv6 prefix does not contain IPv4 host");

	addr_parse("192.0.2.9", &a);
	addr_to_key(&a, &key);
	CHECK(key.bytes[10] == 0xff && key.bytes[11] == 0xff && key.bytes[15] == 9,
	      "IPv4 key is IPv4-mapped");
	addr_from_key(&key, &b);
	CHECK(addr_equal(&a, &b), "key round trip IPv4");
	addr_parse("2001:db8::9", &a);
	addr_to_key(&a, &key);
	addr_from_key(&key, &b);
	CHECK(addr_equal(&a, &b), "key round trip IPv6");

	{
		struct sockaddr_in sin = { .sin_family = AF_INET };
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
		char buf[ADDR_STRLEN];

		inet_pton(AF_INET, "192.0.2.9", &sin.sin_addr);
		CHECK_INT(addr_from_sockaddr((struct sockaddr *)&sin, sizeof(sin), &a), 0,
			  "sockaddr_in");
		addr_format(&a, buf, sizeof(buf));
		CHECK_STR(buf, "192.0.2.9", "sockaddr_in gives the host");
		inet_pton(AF_INET6, "::ffff:192.0.2.9", &sin6.sin6_addr);
		CHECK(!addr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6), &b) &&
			      addr_equal(&a, &b),
		      "an IPv4-mapped sockaddr_in6 gives the IPv4 host");
		inet_pton(AF_INET6, "2001:db8::9", &sin6.sin6_addr);
		addr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6), &a);
		addr_format(&a, buf, sizeof(buf));
		CHECK_STR(buf, "2001:db8::9", "sockaddr_in6 gives the host");
		sin.sin_family = AF_UNIX;
		CHECK_INT(addr_from_sockaddr((struct sockaddr *)&sin, sizeof(sin), &a),
			  -EAFNOSUPPORT, "other families refused");
		CHECK_INT(addr_from_sockaddr((struct sockaddr *)&sin6, 8, &a), -EAFNOSUPPORT,
			  "a short sockaddr refused");
	}
	return check_done();
}
