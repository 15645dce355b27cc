// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "addrmap.h"

/* Slot layout: [uint8 used][pad][struct addr_prefix key][value], 8-aligned. */
#define SLOT_KEY_OFFSET 2
#define SLOT_VALUE_OFFSET 24

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

static int key_equal(const unsigned char *slot, const struct addr_prefix *p)
{
	return !memcmp(slot + SLOT_KEY_OFFSET, p, sizeof(*p));
}

int addrmap_init(struct addrmap *m, size_t value_size)
{
	memset(m, 0, sizeof(*m));
	m->value_size = value_size;
	m->slot_size = slot_size_for(value_size);
	m->capacity = 16;
	m->slots = calloc(m->capacity, m->slot_size);
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

static int resize(struct addrmap *m, size_t capacity)
{
	struct addrmap bigger = *m;

	bigger.capacity = capacity;
	bigger.count = 0;
	bigger.slots = calloc(bigger.capacity, m->slot_size);
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

int addrmap_reserve(struct addrmap *m, size_t more)
{
	size_t capacity = m->capacity;

	while ((m->count + more) * 8 > capacity * 5)
		capacity *= 2;
	return capacity == m->capacity ? 0 : resize(m, capacity);
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
