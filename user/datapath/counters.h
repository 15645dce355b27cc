/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The per-CPU entry counters (gw_counters, and gw_counters_spill for the
 * slots beyond its size): which counter slots are taken, a slot's counters
 * summed over the CPUs, a slot made or given back. The tables give a slot
 * to each entry of a `counters` table (tables.c); the data path adds to its
 * CPU's copy of the slot its entry names.
 */
#ifndef __GREYWALL_COUNTERS_H
#define __GREYWALL_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "greywall.h"

struct counter_slots {
	int fd;				/* gw_counters; -1: no map (slots are never taken) */
	int spill_fd;			/* gw_counters_spill; -1: none (array slots only) */
	uint32_t array_slots;		/* gw_counters' size: slots below it count there */
	int ncpus;			/* possible CPUs: the copies of each value */
	uint64_t *used;			/* bitmap of slots 1 .. GW_COUNTER_SLOTS_MAX */
	uint32_t next;			/* where the search for a free array slot starts */
	uint32_t next_spill;		/* where the search for a free spill slot starts */
	uint32_t count;			/* slots taken */
	uint32_t spilled;		/* of them, beyond the array */
	/*
	 * Spill slots from here on were never handed out since the last
	 * counter_slots_prune(): the spill hash holds nothing of theirs, so
	 * taking one needs no delete. UINT32_MAX: nothing known clean.
	 */
	uint32_t spill_clean_from;
	struct gw_counters *values;	/* ncpus copies, for one map value */
};

/*
 * Set up for the per-CPU array fd (or -1) and the spill hash spill_fd (or
 * -1). Returns 0 or -errno.
 */
int counter_slots_init(struct counter_slots *s, int fd, int spill_fd);
void counter_slots_free(struct counter_slots *s);

/*
 * A free slot in *slot, its counters zero: one of the array's while it has
 * one (its counters zeroed here), else one beyond it (the data path makes
 * its counters at the entry's first packet). The search goes on from the
 * last slot taken, so a slot just given back is taken again last. Returns
 * 0, -ENOSPC (no slot left, *slot = 0) or -errno.
 */
int counter_slots_take(struct counter_slots *s, uint32_t *slot);

/* Give slot back, removing its counters from the spill map (slot 0: nothing). */
void counter_slots_give(struct counter_slots *s, uint32_t slot);

/*
 * Start over from the map (a restart): forget every slot, mark those the
 * entries in the maps name (counter_slots_mark()), then remove the spilled
 * counters no entry names (counter_slots_prune(); the array's are zeroed
 * when their slot is taken).
 */
void counter_slots_forget(struct counter_slots *s);
void counter_slots_mark(struct counter_slots *s, uint32_t slot);
int counter_slots_prune(struct counter_slots *s);

/*
 * A slot's counters summed over the CPUs; zero for slot 0 and for a slot
 * whose entry has seen no packet yet. Returns 0 or -errno.
 */
int counter_slots_read(const struct counter_slots *s, uint32_t slot, struct gw_counters *out);

/* Whether slot is a slot number at all (1 .. GW_COUNTER_SLOTS_MAX). */
static inline bool counter_slot_valid(uint32_t slot)
{
	return slot && slot <= GW_COUNTER_SLOTS_MAX;
}

#endif
