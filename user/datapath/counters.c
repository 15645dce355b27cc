// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/counters.h"
#include "lib/array.h"

#define SLOT_WORDS ((GW_COUNTER_SLOTS_MAX + 1 + 63) / 64)

int counter_slots_init(struct counter_slots *s, int fd, int spill_fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t info_len = sizeof(info);

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->spill_fd = spill_fd;
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	s->array_slots = info.max_entries;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0)
		return s->ncpus ? s->ncpus : -EINVAL;
	s->used = calloc(SLOT_WORDS, sizeof(*s->used));
	s->values = calloc((size_t)s->ncpus, sizeof(*s->values));
	if (!s->used || !s->values) {
		counter_slots_free(s);
		return -ENOMEM;
	}
	s->next = 1;
	s->next_spill = s->array_slots;
	s->spill_clean_from = UINT32_MAX;
	return 0;
}

void counter_slots_free(struct counter_slots *s)
{
	free(s->used);
	free(s->values);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->spill_fd = -1;
}

static bool slot_used(const struct counter_slots *s, uint32_t slot)
{
	return (s->used[slot / 64] >> (slot % 64)) & 1;
}

/* Whether slot counts in the spill map rather than the array. */
static bool slot_spilled(const struct counter_slots *s, uint32_t slot)
{
	return slot >= s->array_slots;
}

/*
 * The first free slot in lo .. hi - 1 from at on, wrapping around, whole
 * bitmap words at a time; 0 when all are taken.
 */
static uint32_t find_free(const struct counter_slots *s, uint32_t lo, uint32_t hi, uint32_t at)
{
	uint32_t first = lo / 64, words = (hi - 1) / 64 - first + 1;

	if (lo >= hi)
		return 0;
	if (at < lo || at >= hi)
		at = lo;
	for (uint32_t n = 0; n <= words; n++) {
		uint32_t w = first + (at / 64 - first + n) % words;
		uint64_t free_bits = ~s->used[w];

		if (n == 0)
			free_bits &= ~0ULL << (at % 64);
		while (free_bits) {
			uint32_t cand = w * 64 + (uint32_t)__builtin_ctzll(free_bits);

			free_bits &= free_bits - 1;
			if (cand >= lo && cand < hi)
				return cand;
		}
	}
	return 0;
}

/* Zero the array slot's copies, or remove the spilled slot's counters. */
static int slot_clear(struct counter_slots *s, uint32_t slot)
{
	if (!slot_spilled(s, slot)) {
		memset(s->values, 0, (size_t)s->ncpus * sizeof(*s->values));
		return bpf_map_update_elem(s->fd, &slot, s->values, BPF_ANY) ? -errno : 0;
	}
	if (s->spill_fd >= 0 && bpf_map_delete_elem(s->spill_fd, &slot) && errno != ENOENT)
		return -errno;
	return 0;
}

int counter_slots_take(struct counter_slots *s, uint32_t *slot)
{
	uint32_t cand, array_end = s->array_slots;
	int err;

	*slot = 0;
	if (s->fd < 0 || !s->used || s->count >= GW_COUNTER_SLOTS_MAX)
		return -ENOSPC;
	if (array_end > GW_COUNTER_SLOTS_MAX + 1)
		array_end = GW_COUNTER_SLOTS_MAX + 1;
	/* Past the array's size every take would scan the whole full array first. */
	cand = s->count - s->spilled < array_end - 1 ? find_free(s, 1, array_end, s->next) : 0;
	if (!cand && s->spill_fd >= 0)
		cand = find_free(s, array_end, GW_COUNTER_SLOTS_MAX + 1, s->next_spill);
	if (!cand)
		return -ENOSPC;
	/* A spill slot never handed out since the prune has no counters to remove. */
	if (slot_spilled(s, cand) && cand >= s->spill_clean_from)
		s->spill_clean_from = cand + 1;
	else if ((err = slot_clear(s, cand)))
		return err;
	s->used[cand / 64] |= 1ULL << (cand % 64);
	s->count++;
	if (slot_spilled(s, cand)) {
		s->spilled++;
		s->next_spill = cand + 1;
	} else {
		s->next = cand + 1;
	}
	*slot = cand;
	return 0;
}

void counter_slots_give(struct counter_slots *s, uint32_t slot)
{
	if (s->fd < 0 || !s->used || !counter_slot_valid(slot) || !slot_used(s, slot))
		return;
	/* An array slot is zeroed when it is taken again. */
	if (slot_spilled(s, slot)) {
		if (s->spill_fd >= 0)
			bpf_map_delete_elem(s->spill_fd, &slot);
		s->spilled--;
	}
	s->used[slot / 64] &= ~(1ULL << (slot % 64));
	s->count--;
}

void counter_slots_forget(struct counter_slots *s)
{
	if (s->used)
		memset(s->used, 0, SLOT_WORDS * sizeof(*s->used));
	s->count = 0;
	s->spilled = 0;
	s->next = 1;
	s->next_spill = s->array_slots;
	s->spill_clean_from = UINT32_MAX;
}

void counter_slots_mark(struct counter_slots *s, uint32_t slot)
{
	if (!s->used || !counter_slot_valid(slot) || slot_used(s, slot))
		return;
	s->used[slot / 64] |= 1ULL << (slot % 64);
	s->count++;
	if (slot_spilled(s, slot)) {
		s->spilled++;
		if (slot >= s->next_spill)
			s->next_spill = slot + 1;
		if (s->spill_clean_from != UINT32_MAX && slot >= s->spill_clean_from)
			s->spill_clean_from = slot + 1;
	} else if (slot >= s->next) {
		s->next = slot + 1;
	}
}

int counter_slots_prune(struct counter_slots *s)
{
	uint32_t key, next, *stale = NULL;
	size_t nstale = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	if (s->spill_fd < 0 || !s->used)
		return 0;
	while (!bpf_map_get_next_key(s->spill_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (counter_slot_valid(key) && slot_spilled(s, key) && slot_used(s, key))
			continue;
		if (array_room(&stale, &cap, nstale + 1, sizeof(*stale), 256)) {
			free(stale);
			return -ENOMEM;
		}
		stale[nstale++] = key;
	}
	for (size_t i = 0; i < nstale; i++)
		if (bpf_map_delete_elem(s->spill_fd, &stale[i]) && errno != ENOENT)
			err = -errno;
	free(stale);
	/* Every slot not in use is clean now: those past the last used need no delete when taken. */
	if (!err) {
		s->spill_clean_from = s->array_slots;
		for (uint32_t w = SLOT_WORDS; w-- > s->array_slots / 64;)
			if (s->used[w]) {
				s->spill_clean_from = w * 64 + 64 - (uint32_t)__builtin_clzll(s->used[w]);
				break;
			}
		if (s->spill_clean_from < s->array_slots)
			s->spill_clean_from = s->array_slots;
	}
	return err;
}

int counter_slots_read(const struct counter_slots *s, uint32_t slot, struct gw_counters *out)
{
	int fd = slot_spilled(s, slot) ? s->spill_fd : s->fd;

	memset(out, 0, sizeof(*out));
	if (!slot || fd < 0 || !s->values)
		return 0;
	if (bpf_map_lookup_elem(fd, &slot, s->values))
		return errno == ENOENT ? 0 : -errno;	/* spilled, no packet yet */
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		for (int d = 0; d < GW_DIR_MAX; d++) {
			out->packets[d] += s->values[cpu].packets[d];
			out->bytes[d] += s->values[cpu].bytes[d];
		}
	}
	return 0;
}
