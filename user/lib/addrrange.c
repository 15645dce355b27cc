// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Ranges as integers: an address is its 32 or 128 bits in one unsigned
 * 128-bit number, so a block is [v, v | low_ones(host bits)].
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/addrrange.h"

typedef unsigned __int128 u128;

/* The low `bits` bits set. */
static u128 low_ones(int bits)
{
	return bits >= 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
}

static u128 value_of(const struct addr_prefix *p)
{
	int nbytes = addr_max_plen(p->family) / 8;
	u128 v = 0;

	for (int i = 0; i < nbytes; i++)
		v = v << 8 | p->bytes[i];
	return v;
}

static void prefix_from_value(int family, u128 v, int plen, struct addr_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)family;
	p->plen = (uint8_t)plen;
	for (int i = addr_max_plen(family) / 8 - 1; i >= 0; i--) {
		p->bytes[i] = (uint8_t)v;
		v >>= 8;
	}
}

static bool is_host_of_family(const struct addr_prefix *p, int family)
{
	return p->family == family && addr_is_host(p);
}

int addr_range_to_cidrs(const struct addr_prefix *first, const struct addr_prefix *last,
			struct addr_prefix *out)
{
	int width = addr_max_plen(first->family), n = 0;
	u128 lo = value_of(first), hi;

	if ((first->family != AF_INET && first->family != AF_INET6) || !addr_is_host(first) ||
	    !is_host_of_family(last, first->family))
		return -EINVAL;
	hi = value_of(last);
	if (hi < lo)
		return -EINVAL;
	for (;;) {
		int bits = 0; /* host bits of the block that starts at lo */

		/* Double the block while lo stays aligned to it and it stays in range. */
		while (bits < width && !((lo >> bits) & 1) && hi - lo >= low_ones(bits + 1))
			bits++;
		prefix_from_value(first->family, lo, width - bits, &out[n++]);
		if (hi - lo == low_ones(bits))
			return n;
		lo += low_ones(bits) + 1;
	}
}

bool addr_range_is_block(const struct addr_prefix *first, const struct addr_prefix *last,
			 int plen)
{
	int width = addr_max_plen(first->family);
	u128 lo, mask;

	if ((first->family != AF_INET && first->family != AF_INET6) || !addr_is_host(first) ||
	    !is_host_of_family(last, first->family) || plen < 0 || plen > width)
		return false;
	lo = value_of(first);
	mask = low_ones(width - plen);
	return !(lo & mask) && value_of(last) == (lo | mask);
}
