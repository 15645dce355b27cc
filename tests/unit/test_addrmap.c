// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/addrmap.h"
#include "check.h"

static struct addr_prefix v4(uint32_t n, int plen)
{
	struct addr_prefix p = { .family = AF_INET, .plen = (uint8_t)plen };
	uint32_t be = htonl(n);

	memcpy(p.bytes, &be, 4);
	addr_mask(&p);
	return p;
}

/* Resident memory of this process in KiB, from /proc/self/statm. */
static long resident_kib(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	if (fp) {
		if (fscanf(fp, "%ld %ld", &size, &resident) != 2)
			resident = 0;
		fclose(fp);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_addr_list(void)
{
	struct addr_list l = { 0 };
	int bad = 0;

	for (uint32_t i = 0; i < 5000; i++) {
		struct addr_prefix p = v4(0xc0000200u + i, 32);

		if (addr_list_push(&l, &p))
			bad++;
	}
	CHECK_INT(bad, 0, "5000 pushes");
	CHECK_INT(l.n, 5000, "list count");
	for (uint32_t i = 0; i < l.n; i++) {
		struct addr_prefix p = v4(0xc0000200u + i, 32);

		if (!addr_equal(&l.items[i], &p))
			bad++;
	}
	CHECK_INT(bad, 0, "items in push order");
	CHECK_INT(addr_list_reserve(&l, 100000), 0, "reserve");
	CHECK(l.cap >= l.n + 100000, "reserve makes room (cap %zu)", l.cap);
	addr_list_free(&l);
	CHECK(l.n == 0 && l.cap == 0 && !l.items, "free empties the list");
	CHECK_INT(addr_list_push(&l, &(struct addr_prefix){ .family = AF_INET, .plen = 0 }), 0,
		  "a freed list is usable again");
	CHECK_INT(l.n, 1, "one item");
	addr_list_free(&l);
}

int main(void)
{
	struct addrmap m;
	const struct addr_prefix *key;
	void *value;
	int created, bad = 0;
	size_t n = 200000, seen = 0;

	CHECK_INT(addrmap_init(&m, sizeof(uint64_t)), 0, "init");
	for (size_t i = 0; i < n; i++) {
		struct addr_prefix p = v4(0xc6336400u + (uint32_t)i * 7919u, 32);
		uint64_t *v = addrmap_put(&m, &p, &created);

		if (!v || !created || *v)
			bad++;
		else
			*v = i + 1;
	}
	CHECK_INT(bad, 0, "200000 distinct inserts create zeroed values");
	CHECK_INT(m.count, n, "count after inserts");
	for (size_t i = 0; i < n; i++) {
		struct addr_prefix p = v4(0xc6336400u + (uint32_t)i * 7919u, 32);
		uint64_t *v = addrmap_get(&m, &p);

		if (!v || *v != i + 1)
			bad++;
	}
	CHECK_INT(bad, 0, "every value found");
	{
		struct addr_prefix p = v4(0xc6336400u, 24);

		CHECK(addrmap_get(&m, &p) == NULL || 0xc6336400u % 7919u == 0,
		      "same address, other length is another key");
	}
	/* Delete every other entry, then check the rest survive the shifts. */
	for (size_t i = 0; i < n; i += 2) {
		struct addr_prefix p = v4(0xc6336400u + (uint32_t)i * 7919u, 32);

		if (addrmap_delete(&m, &p))
			bad++;
	}
	CHECK_INT(bad, 0, "deletes succeed");
	{
		struct addr_prefix p = v4(0xc6336400u, 32);

		CHECK_INT(addrmap_delete(&m, &p), -ENOENT, "second delete is -ENOENT");
	}
	for (size_t i = 0; i < n; i++) {
		struct addr_prefix p = v4(0xc6336400u + (uint32_t)i * 7919u, 32);
		uint64_t *v = addrmap_get(&m, &p);

		if (i % 2 == 0 ? v != NULL : (!v || *v != i + 1))
			bad++;
	}
	CHECK_INT(bad, 0, "after deleting half, exactly the other half remains");
	for (size_t i = 0; addrmap_next(&m, &i, &key, &value);)
		seen++;
	CHECK_INT(seen, n / 2, "iteration visits every entry once");
	addrmap_clear(&m);
	CHECK_INT(m.count, 0, "clear empties");
	test_addr_list();
	/* Reserved room for a million entries: no growth on the way. */
	CHECK_INT(addrmap_reserve(&m, 1000000), 0, "reserve a million");
	{
		struct addrmap_pages pages = addrmap_pages(&m);
		size_t capacity = m.capacity;
		long before = resident_kib();

		CHECK((uintptr_t)pages.start % 4096 == 0, "populate range is page-aligned");
		CHECK((unsigned char *)pages.start >= m.slots &&
			      (unsigned char *)pages.start + pages.len <=
				      m.slots + m.capacity * m.slot_size &&
			      pages.len + 2 * 4096 >= m.capacity * m.slot_size,
		      "populate range covers the slots' whole pages");
		CHECK_INT(addrmap_populate(pages), 0, "populate");
		CHECK(resident_kib() - before >= (long)(pages.len / 1024) * 9 / 10,
		      "the pages are resident after populate (%ld KiB more, %zu KiB of slots)",
		      resident_kib() - before, pages.len / 1024);
		CHECK_INT(m.count, 0, "populate leaves the map empty");

		for (size_t i = 0; i < 1000000; i++) {
			struct addr_prefix p = v4(0x0a000000u + (uint32_t)i, 32);

			addrmap_prefetch(&m, &p);
			if (!addrmap_put(&m, &p, &created) || !created)
				bad++;
		}
		CHECK_INT(bad, 0, "a million inserts after the reserve");
		CHECK_INT(m.capacity, capacity, "the reserve was enough");
	}
	addrmap_free(&m);
	return check_done();
}
