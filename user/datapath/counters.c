// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/counters.h"
#include "lib/array.h"

#define SLOT_WORDS ((GW_COUNTER_SLOTS_MAX + 1 + 63) / 64)

int counter_slots_init(struct counter_slots *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	if (fd < 0)
		return 0;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0)
		return s->ncpus ? s->ncpus : -EINVAL;
	s->used = calloc(SLOT_WORDS, sizeof(*s->used));
	s->values = calloc((size_t)s->ncpus, sizeof(*s->values));
	if (!s->used || !s->values) {
		counter_slots_free(s);
		return -ENOMEM;
	}
	return 0;
}

void counter_slots_free(struct counter_slots *s)
{
	free(s->used);
	free(s->values);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

static bool slot_used(const struct counter_slots *s, uint32_t slot)
{
	return (s->used[slot / 64] >> (slot % 64)) & 1;
}

int counter_slots_take(struct counter_slots *s, uint32_t *slot)
{
	uint32_t at = s->next;

	*slot = 0;
	if (s->fd < 0 || !s->used)
		return -ENOSPC;
	if (s->count >= GW_COUNTER_SLOTS_MAX)
		return -ENOSPC;
	/* Whole words at a time: the bitmap has a free bit somewhere. */
	for (uint32_t n = 0; n <= SLOT_WORDS; n++) {
		uint32_t w = (at / 64 + n) % SLOT_WORDS;
		uint64_t free_bits = ~s->used[w];

		if (w == 0)
			free_bits &= ~1ULL;	/* slot 0 means none */
		if (n == 0)
			free_bits &= ~0ULL << (at % 64);
		while (free_bits) {
			uint32_t cand = w * 64 + (uint32_t)__builtin_ctzll(free_bits);

			if (!counter_slot_valid(cand))
				break;
			/* The data path makes the counters at the first packet. */
			if (bpf_map_delete_elem(s->fd, &cand) && errno != ENOENT)
				return -errno;
			s->used[w] |= 1ULL << (cand % 64);
			s->count++;
			s->next = cand + 1 > GW_COUNTER_SLOTS_MAX ? 1 : cand + 1;
			*slot = cand;
			return 0;
		}
	}
	return -ENOSPC;
}

void counter_slots_give(struct counter_slots *s, uint32_t slot)
{
	if (s->fd < 0 || !s->used || !counter_slot_valid(slot) || !slot_used(s, slot))
		return;
	bpf_map_delete_elem(s->fd, &slot);
	s->used[slot / 64] &= ~(1ULL << (slot % 64));
	s->count--;
}

void counter_slots_forget(struct counter_slots *s)
{
	if (s->used)
		memset(s->used, 0, SLOT_WORDS * sizeof(*s->used));
	s->count = 0;
	s->next = 0;
}

void counter_slots_mark(struct counter_slots *s, uint32_t slot)
{
	if (!s->used || !counter_slot_valid(slot) || slot_used(s, slot))
		return;
	s->used[slot / 64] |= 1ULL << (slot % 64);
	s->count++;
	if (slot >= s->next)
		s->next = slot + 1 > GW_COUNTER_SLOTS_MAX ? 1 : slot + 1;
}

int counter_slots_prune(struct counter_slots *s)
{
	uint32_t key, next, *stale = NULL;
	size_t nstale = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	if (s->fd < 0 || !s->used)
		return 0;
	while (!bpf_map_get_next_key(s->fd, prev, &next)) {
		key = next;
		prev = &key;
		if (counter_slot_valid(key) && slot_used(s, key))
			continue;
		if (array_room(&stale, &cap, nstale + 1, sizeof(*stale), 256)) {
			free(stale);
			return -ENOMEM;
		}
		stale[nstale++] = key;
	}
	for (size_t i = 0; i < nstale; i++)
		if (bpf_map_delete_elem(s->fd, &stale[i]) && errno != ENOENT)
			err = -errno;
	free(stale);
	return err;
}

int counter_slots_read(const struct counter_slots *s, uint32_t slot, struct gw_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!slot || s->fd < 0 || !s->values)
		return 0;
	if (bpf_map_lookup_elem(s->fd, &slot, s->values))
		return errno == ENOENT ? 0 : -errno;	/* no packet yet */
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		for (int d = 0; d < GW_DIR_MAX; d++) {
			out->packets[d] += s->values[cpu].packets[d];
			out->bytes[d] += s->values[cpu].bytes[d];
		}
	}
	return 0;
}
