/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Killing a source's connections, PF's `overload <t> flush [global]`
 * (greywall.conf(5), CONNECTION LIMITS): the source's flows in gw_flows
 * become GW_FLOW_KILLED, so XDP drops every further packet of them, and
 * the local sockets of those connections are destroyed with sock_diag's
 * SOCK_DESTROY, so the server side is reset at once instead of waiting
 * for a timeout.
 */
#ifndef __GREYWALL_FLUSH_H
#define __GREYWALL_FLUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "greywall.h"

/* One connection of a source as this host sees it: our end and its port. */
struct flush_conn {
	struct gw_addr local;		/* the server address (our side) */
	uint16_t local_port;		/* host order */
	uint16_t peer_port;		/* the source's port, host order */
};

struct flush_result {
	size_t flows;			/* flows marked GW_FLOW_KILLED */
	size_t sockets;			/* local sockets destroyed */
};

/* One source whose connections are to be killed. */
struct flush_request {
	struct addr_prefix source;	/* a host */
	struct gw_ruleset rules;	/* a plain flush: the compiled rules whose flows go */
	bool global;			/* flush global: the flows of every rule, and every
					   local TCP connection of the source */
	struct flush_result result;	/* filled by flush_sources() */
};

/*
 * Destroy the local TCP sockets connected to peer (a host; an IPv4 peer's
 * sockets are found in both families, as dual-stack sockets hold it
 * v4-mapped). only, when not NULL, narrows it to the n connections listed;
 * with NULL every connection of peer goes, listening sockets excepted.
 * *destroyed counts them. Needs CAP_NET_ADMIN and CONFIG_INET_DIAG_DESTROY
 * (-EOPNOTSUPP without). Returns 0 or -errno.
 */
int flush_destroy_sockets(const struct addr_prefix *peer, const struct flush_conn *only,
			  size_t n, size_t *destroyed);

/*
 * Kill the connections of the n sources in one walk over gw_flows (an
 * attack overloads many sources at once). Requests for the same source
 * are merged; their results go to its first request. Counted flows give
 * their slot back to the source tracking. now_ns is the data path clock
 * (sweeper_clock_ns()); killed flows expire from it. Everything that can
 * be done is done; returns 0 or the first -errno.
 */
int flush_sources(int flows_fd, int src_track_fd, struct flush_request *reqs, size_t n,
		  uint64_t now_ns);

#endif /* __GREYWALL_FLUSH_H */
