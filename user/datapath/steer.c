// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "datapath/steer.h"

int steer_set_tarpit(const struct datapath *dp, int fd4, int fd6)
{
	const int fds[GW_TARPIT_SLOTS] = { [GW_TARPIT_INET] = fd4, [GW_TARPIT_INET6] = fd6 };

	for (uint32_t slot = 0; slot < GW_TARPIT_SLOTS; slot++) {
		uint64_t value = (uint64_t)fds[slot];

		if (fds[slot] >= 0) {
			if (bpf_map_update_elem(dp->tarpit, &slot, &value, BPF_ANY))
				return -errno;
		} else if (bpf_map_delete_elem(dp->tarpit, &slot) && errno != EINVAL) {
			/* A sockmap answers EINVAL for a slot that is already empty. */
			return -errno;
		}
	}
	return 0;
}

int steer_set_port(const struct datapath *dp, uint16_t port, uint64_t pass_tables,
		   uint64_t tarpit_tables)
{
	/* The tables first: steering never starts with an old idea of who passes. */
	int err = datapath_set_config(dp, GW_CFG_SPAMD_TARPIT_TABLES, tarpit_tables);

	if (!err)
		err = datapath_set_config(dp, GW_CFG_SPAMD_PASS_TABLES, pass_tables);

	return err ? err : datapath_set_config(dp, GW_CFG_SPAMD_PORT, port);
}

int steer_set_mta_uid(const struct datapath *dp, int64_t uid)
{
	if (uid > (int64_t)UINT32_MAX - 1)
		return -EINVAL;
	return datapath_set_config(dp, GW_CFG_SPAMD_MTA_UID, uid < 0 ? 0 : (uint64_t)uid + 1);
}

static int64_t nsec(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int steer_drain_outbound(const struct datapath *dp, struct steer_dest *out, size_t max)
{
	struct timespec mono, real;
	size_t n = 0;

	/* The data path stamps with bpf_ktime_get_ns(): CLOCK_MONOTONIC. */
	if (clock_gettime(CLOCK_MONOTONIC, &mono) || clock_gettime(CLOCK_REALTIME, &real))
		return -errno;
	while (n < max) {
		struct gw_addr key;
		uint64_t seen;
		int64_t age;

		if (bpf_map_get_next_key(dp->outbound, NULL, &key))
			return errno == ENOENT ? (int)n : -errno;
		if (bpf_map_lookup_and_delete_elem(dp->outbound, &key, &seen)) {
			/* Evicted by the LRU between the two calls: it is gone either way. */
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		addr_from_key(&key, &out[n].addr);
		age = nsec(&mono) - (int64_t)seen;
		out[n].first_seen = (nsec(&real) - (age > 0 ? age : 0)) / 1000000000;
		n++;
	}
	return (int)n;
}
