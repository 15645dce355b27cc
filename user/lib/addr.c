// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int addr_max_plen(int family)
{
	return family == AF_INET ? 32 : 128;
}

void addr_mask(struct addr_prefix *p)
{
	int bytes = addr_max_plen(p->family) / 8;

	for (int i = 0; i < bytes; i++) {
		int bit = i * 8;

		if (bit >= p->plen)
			p->bytes[i] = 0;
		else if (bit + 8 > p->plen)
			p->bytes[i] &= (uint8_t)(0xff << (8 - (p->plen - bit)));
	}
	for (int i = bytes; i < 16; i++)
		p->bytes[i] = 0;
}

int addr_parse(const char *text, struct addr_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	struct addr_prefix p = { 0 };

	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, p.bytes) == 1) {
		p.family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, p.bytes) == 1) {
		if (!memcmp(p.bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)))
			return -EINVAL;
		p.family = AF_INET6;
	} else {
		return -EINVAL;
	}
	p.plen = (uint8_t)addr_max_plen(p.family);
	if (slash) {
		char *end;
		long len;

		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end || len < 0 || len > addr_max_plen(p.family))
			return -EINVAL;
		p.plen = (uint8_t)len;
		{
			struct addr_prefix masked = p;

			addr_mask(&masked);
			if (memcmp(masked.bytes, p.bytes, sizeof(p.bytes)))
				return -EINVAL;
		}
	}
	*out = p;
	return 0;
}

bool addr_is_host(const struct addr_prefix *p)
{
	return p->plen == addr_max_plen(p->family);
}

/*
 * An IPv4 address as inet_ntop() writes it, without its two printf
 * calls: the tarpit formats several addresses per SMTP dialogue.
 */
static void format_ipv4(const uint8_t *bytes, char out[INET_ADDRSTRLEN])
{
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		unsigned int v = bytes[i];

		if (i)
			out[n++] = '.';
		if (v >= 100)
			out[n++] = (char)('0' + v / 100);
		if (v >= 10)
			out[n++] = (char)('0' + v / 10 % 10);
		out[n++] = (char)('0' + v % 10);
	}
	out[n] = '\0';
}

void addr_format(const struct addr_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	size_t n;

	if (p->family == AF_INET)
		format_ipv4(p->bytes, a);
	else if (!inet_ntop(p->family, p->bytes, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (!addr_is_host(p)) {
		snprintf(buf, len, "%s/%u", a, p->plen);
		return;
	}
	/* As snprintf("%s") would: cut to len - 1 bytes. */
	if (!len)
		return;
	n = strlen(a);
	if (n >= len)
		n = len - 1;
	memcpy(buf, a, n);
	buf[n] = '\0';
}

bool addr_equal(const struct addr_prefix *a, const struct addr_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

bool addr_contains(const struct addr_prefix *outer, const struct addr_prefix *inner)
{
	struct addr_prefix cut;

	if (outer->family != inner->family || outer->plen > inner->plen)
		return false;
	cut = *inner;
	cut.plen = outer->plen;
	addr_mask(&cut);
	return !memcmp(cut.bytes, outer->bytes, sizeof(cut.bytes));
}

int addr_compare(const struct addr_prefix *a, const struct addr_prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->bytes, b->bytes, sizeof(a->bytes));
	if (c)
		return c < 0 ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return 0;
}

int addr_from_sockaddr(const struct sockaddr *sa, unsigned int len, struct addr_prefix *out)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET && len >= sizeof(*sin)) {
		memcpy(out->bytes, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		const uint8_t *a = sin6->sin6_addr.s6_addr;

		if (memcmp(a, v4_mapped_prefix, sizeof(v4_mapped_prefix))) {
			memcpy(out->bytes, a, 16);
			out->family = AF_INET6;
			out->plen = 128;
			return 0;
		}
		memcpy(out->bytes, a + 12, 4);
	} else {
		return -EAFNOSUPPORT;
	}
	out->family = AF_INET;
	out->plen = 32;
	return 0;
}

unsigned int addr_to_sockaddr(const struct addr_prefix *a, uint16_t port,
			      struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->bytes, 4);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, a->bytes, 16);
	return sizeof(*sin6);
}

void addr_to_key(const struct addr_prefix *p, struct gw_addr *key)
{
	if (p->family == AF_INET) {
		memcpy(key->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix));
		memcpy(key->bytes + 12, p->bytes, 4);
	} else {
		memcpy(key->bytes, p->bytes, 16);
	}
}

void addr_from_key(const struct gw_addr *key, struct addr_prefix *p)
{
	memset(p, 0, sizeof(*p));
	if (!memcmp(key->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix))) {
		p->family = AF_INET;
		p->plen = 32;
		memcpy(p->bytes, key->bytes + 12, 4);
	} else {
		p->family = AF_INET6;
		p->plen = 128;
		memcpy(p->bytes, key->bytes, 16);
	}
}

void addr_to_lpm4(const struct addr_prefix *p, struct gw_lpm4_key *key)
{
	key->prefixlen = p->plen;
	memcpy(key->bytes, p->bytes, 4);
}

void addr_to_lpm6(const struct addr_prefix *p, struct gw_lpm6_key *key)
{
	key->prefixlen = p->plen;
	memcpy(key->bytes, p->bytes, 16);
}
