// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The first-level index's host bookkeeping: a /24's GW_SLOT_HOSTS bit is
 * set while at least one of its hosts is in the host map, whatever the
 * number, up to all 256. Only memory is involved until mapindex_publish(),
 * so no map is needed here.
 */
#include <arpa/inet.h>
#include <string.h>

#include "check.h"
#include "datapath/mapindex.h"

static struct addr_prefix v4_host(uint32_t n)
{
	struct addr_prefix p = { .family = AF_INET, .plen = 32 };
	uint32_t be = htonl(n);

	memcpy(p.bytes, &be, 4);
	return p;
}

static bool hosts_bit(const struct mapindex *mi, uint32_t slot)
{
	return mi->slots[slot] & GW_SLOT_HOSTS;
}

int main(void)
{
	struct mapindex_maps maps = { -1, -1, -1, -1 };
	uint32_t net = 0xc0000200u, slot = net >> 8;	/* 192.0.2.0/24 */
	struct mapindex mi;
	int bad = 0;

	CHECK_INT(mapindex_init(&mi, &maps), 0, "init");
	CHECK(!hosts_bit(&mi, slot), "no hosts at first");
	for (uint32_t i = 0; i < 256; i++) {
		struct addr_prefix p = v4_host(net + i);

		bad += mapindex_host(&mi, &p, true) != 0;
	}
	CHECK_INT(bad, 0, "all 256 hosts of a /24 appear");
	CHECK(hosts_bit(&mi, slot), "the /24 has hosts");
	CHECK(mi.page_dirty[slot >> 8], "its page is to be written");
	CHECK(!hosts_bit(&mi, slot + 1) && !hosts_bit(&mi, slot - 1), "the neighbours have none");
	for (uint32_t i = 0; i < 255; i++) {
		struct addr_prefix p = v4_host(net + i);

		bad += mapindex_host(&mi, &p, false) != 0;
		if (!hosts_bit(&mi, slot))
			bad++;
	}
	CHECK_INT(bad, 0, "255 of them go and the bit stays");
	{
		struct addr_prefix last = v4_host(net + 255), other = v4_host(net + 1000);

		CHECK_INT(mapindex_host(&mi, &other, false), 0, "a host that never was goes");
		CHECK(hosts_bit(&mi, slot), "the bit stays after it");
		CHECK_INT(mapindex_host(&mi, &last, false), 0, "the last one goes");
		CHECK(!hosts_bit(&mi, slot), "the /24 has no hosts now");
		CHECK_INT(mapindex_host(&mi, &last, false), 0, "going twice is harmless");
		CHECK(!hosts_bit(&mi, slot), "and changes nothing");
		CHECK_INT(mapindex_host(&mi, &last, true), 0, "it comes back");
		CHECK(hosts_bit(&mi, slot), "the bit is set again");
	}
	mapindex_reset(&mi);
	CHECK(!hosts_bit(&mi, slot), "reset forgets the hosts");
	{
		struct addr_prefix p = v4_host(net + 7);

		CHECK_INT(mapindex_host(&mi, &p, true), 0, "a host after the reset");
		CHECK_INT(mapindex_host(&mi, &p, false), 0, "and it goes");
		CHECK(!hosts_bit(&mi, slot), "counted from zero after the reset");
	}
	mapindex_free(&mi);
	return check_done();
}
