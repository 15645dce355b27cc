/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The userspace side of SMTP steering and of spamlogd: hand the tarpit's
 * listeners to the sk_lookup program, say which port it steers and which
 * tables go to the real MTA, and collect the SMTP servers this host has
 * connected to (seen by the egress program) for whitelisting.
 */
#ifndef __GREYWALL_STEER_H
#define __GREYWALL_STEER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "datapath/datapath.h"

/*
 * Put the tarpit's listening TCP sockets in the data path: fd4 takes IPv4
 * connections, fd6 IPv6 ones (an IPv6 socket without IPV6_V6ONLY may also
 * be given as fd4). -1 empties a slot: that family then reaches the MTA.
 * The kernel empties a slot by itself when its socket is closed.
 * Returns 0 or -errno.
 */
int steer_set_tarpit(const struct datapath *dp, int fd4, int fd6);

/*
 * Steer new TCP connections to local port `port` (0: steering off) from
 * sources outside `pass_tables` (a bitmask of table bits, e.g. those of
 * <spamd-white> and <nospamd>), and from sources inside `tarpit_tables`
 * (<spamd-greytrap>) whether in a pass table or not, to the tarpit.
 * Returns 0 or -errno.
 */
int steer_set_port(const struct datapath *dp, uint16_t port, uint64_t pass_tables,
		   uint64_t tarpit_tables);

/*
 * Whose outbound SMTP whitelists its destination (spamlogd): the MTA's
 * user uid, or -1 for nobody. Returns 0 or -errno.
 */
int steer_set_mta_uid(const struct datapath *dp, int64_t uid);

/* A destination of an SMTP connection this host opened. */
struct steer_dest {
	struct addr_prefix addr;	/* a host: plen 32 or 128 */
	int64_t first_seen;		/* wall-clock seconds of the first SYN since the last drain */
};

/*
 * Take up to max recorded destinations out of the data path: they are
 * deleted there, so each is returned once per sighting period. Call again
 * while it returns max. Returns the number written to out, or -errno.
 */
int steer_drain_outbound(const struct datapath *dp, struct steer_dest *out, size_t max);

#endif /* __GREYWALL_STEER_H */
