// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/addrmap.h"
#include "lib/array.h"

/* Slot layout: [uint8 used][pad][struct addr_prefix key][value], 8-aligned. */
#define SLOT_KEY_OFFSET 2
#define SLOT_VALUE_OFFSET 24
/* Slots of a new map; it doubles from there. */
#define FIRST_CAPACITY 16
/* Arrays from this size on are backed by huge pages where the kernel can. */
#define HUGE_ARRAY_MIN (4u << 20)
#define HUGE_PAGE_SIZE (2u << 20)

_Static_assert(sizeof(struct addr_prefix) == 18, "key compare reads 16 + 2 bytes");

static size_t slot_size_for(size_t value_size)
{
	return (SLOT_VALUE_OFFSET + value_size + 7) & ~(size_t)7;
}

static unsigned char *slot_at(const struct addrmap *m, size_t i)
{
	return m->slots + i * m->slot_size;
}

static uint64_t addr_hash(const struct addr_prefix *p)
{
	/* FNV-1a over the significant bytes, then a final mix. */
	uint64_t h = 1469598103934665603ULL;
	size_t n = p->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p->bytes[i]) * 1099511628211ULL;
	h = (h ^ p->plen) * 1099511628211ULL;
	h = (h ^ p->family) * 1099511628211ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* Fixed-size loads the compiler keeps inline: a probe of a large map is a
 * cache miss already, it should not be a call to memcmp as well. */
static int key_equal(const unsigned char *slot, const struct addr_prefix *p)
{
	const unsigned char *k = slot + SLOT_KEY_OFFSET, *q = (const unsigned char *)p;
	uint64_t a[2], b[2];
	uint16_t c, d;

	memcpy(a, k, 16);
	memcpy(b, q, 16);
	memcpy(&c, k + 16, 2);
	memcpy(&d, q + 16, 2);
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (uint16_t)(c ^ d)) == 0;
}

/*
 * A zeroed array. A map of a million entries spans hundreds of MiB and is
 * probed at random: with 4 KiB pages nearly every probe also misses the
 * TLB, and filling it takes a page fault per 4 KiB. Huge pages cut both.
 */
static void *array_alloc(size_t n, size_t size)
{
	void *mem = calloc(n, size);
	uintptr_t start, end;

	if (!mem || n * size < HUGE_ARRAY_MIN)
		return mem;
	start = ((uintptr_t)mem + HUGE_PAGE_SIZE - 1) & ~(uintptr_t)(HUGE_PAGE_SIZE - 1);
	end = ((uintptr_t)mem + n * size) & ~(uintptr_t)(HUGE_PAGE_SIZE - 1);
	/* Advice only: without huge pages the array works the same. */
	if (end > start)
		madvise((void *)start, end - start, MADV_HUGEPAGE);
	return mem;
}

int addrmap_init(struct addrmap *m, size_t value_size)
{
	memset(m, 0, sizeof(*m));
	m->value_size = value_size;
	m->slot_size = slot_size_for(value_size);
	m->capacity = FIRST_CAPACITY;
	m->slots = array_alloc(m->capacity, m->slot_size);
	return m->slots ? 0 : -ENOMEM;
}

void addrmap_free(struct addrmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

void addrmap_clear(struct addrmap *m)
{
	memset(m->slots, 0, m->capacity * m->slot_size);
	m->count = 0;
}

static size_t find_slot(const struct addrmap *m, const struct addr_prefix *p, int *found)
{
	size_t mask = m->capacity - 1;
	size_t i = addr_hash(p) & mask;

	for (;;) {
		unsigned char *s = slot_at(m, i);

		if (!s[0]) {
			*found = 0;
			return i;
		}
		if (key_equal(s, p)) {
			*found = 1;
			return i;
		}
		i = (i + 1) & mask;
	}
}

void *addrmap_get(const struct addrmap *m, const struct addr_prefix *p)
{
	int found;
	size_t i = find_slot(m, p, &found);

	return found ? slot_at(m, i) + SLOT_VALUE_OFFSET : NULL;
}

void addrmap_prefetch(const struct addrmap *m, const struct addr_prefix *p)
{
	__builtin_prefetch(slot_at(m, addr_hash(p) & (m->capacity - 1)), 1);
}

static int resize(struct addrmap *m, size_t capacity)
{
	struct addrmap bigger = *m;

	bigger.capacity = capacity;
	bigger.count = 0;
	bigger.slots = array_alloc(bigger.capacity, m->slot_size);
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->capacity; i++) {
		unsigned char *s = slot_at(m, i);
		int found;
		size_t j;

		if (!s[0])
			continue;
		j = find_slot(&bigger, (const struct addr_prefix *)(s + SLOT_KEY_OFFSET), &found);
		memcpy(slot_at(&bigger, j), s, m->slot_size);
		bigger.count++;
	}
	free(m->slots);
	*m = bigger;
	return 0;
}

void *addrmap_put(struct addrmap *m, const struct addr_prefix *p, int *created)
{
	int found;
	size_t i;
	unsigned char *s;

	if (created)
		*created = 0;
	i = find_slot(m, p, &found);
	if (found)
		return slot_at(m, i) + SLOT_VALUE_OFFSET;
	/* Keep the load factor at or below 5/8 so probes stay short. */
	if ((m->count + 1) * 8 > m->capacity * 5) {
		if (resize(m, m->capacity * 2))
			return NULL;
		i = find_slot(m, p, &found);
	}
	s = slot_at(m, i);
	memset(s, 0, m->slot_size);
	s[0] = 1;
	memcpy(s + SLOT_KEY_OFFSET, p, sizeof(*p));
	m->count++;
	if (created)
		*created = 1;
	return s + SLOT_VALUE_OFFSET;
}

/* The capacity, doubled from `capacity`, that holds `entries` within the 5/8 load factor. */
static size_t capacity_for(size_t capacity, size_t entries)
{
	while (entries * 8 > capacity * 5)
		capacity *= 2;
	return capacity;
}

int addrmap_reserve(struct addrmap *m, size_t more)
{
	size_t capacity = capacity_for(m->capacity, m->count + more);

	return capacity == m->capacity ? 0 : resize(m, capacity);
}

size_t addrmap_bytes_for(size_t value_size, size_t entries)
{
	return capacity_for(FIRST_CAPACITY, entries) * slot_size_for(value_size);
}

struct addrmap_pages addrmap_pages(const struct addrmap *m)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)m->slots + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)m->slots + m->capacity * m->slot_size) & ~(page - 1);

	return (struct addrmap_pages){ .start = (void *)start, .len = end > start ? end - start : 0 };
}

int addrmap_populate(struct addrmap_pages pages)
{
	if (!pages.len)
		return 0;
	return madvise(pages.start, pages.len, MADV_POPULATE_WRITE) ? -errno : 0;
}

int addrmap_delete(struct addrmap *m, const struct addr_prefix *p)
{
	size_t mask = m->capacity - 1;
	int found;
	size_t i = find_slot(m, p, &found), j;

	if (!found)
		return -ENOENT;
	/* Backward-shift: move later members of the probe run into the hole. */
	j = i;
	for (;;) {
		unsigned char *sj;
		size_t home;

		j = (j + 1) & mask;
		sj = slot_at(m, j);
		if (!sj[0])
			break;
		home = addr_hash((const struct addr_prefix *)(sj + SLOT_KEY_OFFSET)) & mask;
		/* Move sj into i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			memcpy(slot_at(m, i), sj, m->slot_size);
			i = j;
		}
	}
	memset(slot_at(m, i), 0, m->slot_size);
	m->count--;
	return 0;
}

int addrmap_next(const struct addrmap *m, size_t *pos, const struct addr_prefix **key,
		 void **value)
{
	for (; *pos < m->capacity; (*pos)++) {
		unsigned char *s = slot_at(m, *pos);

		if (s[0]) {
			*key = (const struct addr_prefix *)(s + SLOT_KEY_OFFSET);
			if (value)
				*value = s + SLOT_VALUE_OFFSET;
			(*pos)++;
			return 1;
		}
	}
	return 0;
}

int addr_list_reserve(struct addr_list *l, size_t more)
{
	return array_room(&l->items, &l->cap, l->n + more, sizeof(*l->items), 1024);
}

int addr_list_push(struct addr_list *l, const struct addr_prefix *p)
{
	int err = addr_list_reserve(l, 1);

	if (!err)
		l->items[l->n++] = *p;
	return err;
}

void addr_list_free(struct addr_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}
