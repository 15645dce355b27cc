// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/stats.h"

/* The map's value for key 0: every CPU's record, ncpus of them. */
static struct gw_stats *read_all(int fd, int *ncpus)
{
	uint32_t key = 0;
	struct gw_stats *all;

	*ncpus = libbpf_num_possible_cpus();
	if (*ncpus <= 0) {
		errno = *ncpus ? -*ncpus : EINVAL;
		return NULL;
	}
	all = calloc((size_t)*ncpus, sizeof(*all));
	if (all && bpf_map_lookup_elem(fd, &key, all)) {
		free(all);
		return NULL;
	}
	return all;
}

int stats_read(int fd, struct gw_stats *out)
{
	struct gw_stats *all;
	int ncpus;

	memset(out, 0, sizeof(*out));
	all = read_all(fd, &ncpus);
	if (!all)
		return -errno;
	for (int c = 0; c < ncpus; c++)
		for (int i = 0; i < GW_STAT_MAX; i++)
			out->v[i] += all[c].v[i];
	free(all);
	return 0;
}

int stats_write(int fd, enum gw_stat stat, uint64_t value)
{
	uint32_t key = 0;
	struct gw_stats *all;
	int ncpus, ret = 0;

	if ((unsigned int)stat >= GW_STAT_MAX)
		return -EINVAL;
	all = read_all(fd, &ncpus);
	if (!all)
		return -errno;
	for (int c = 0; c < ncpus; c++)
		all[c].v[stat] = c ? 0 : value;
	if (bpf_map_update_elem(fd, &key, all, BPF_ANY))
		ret = -errno;
	free(all);
	return ret;
}
