/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Where an address is: its country, its AS and the network announcing it,
 * from an IPFire location database (`set location-db`, read through libloc,
 * Debian's libloc-database). The file is checked before libloc maps it: a
 * truncated or garbage file is refused, never half-read.
 */
#ifndef __GREYWALL_LOCATION_H
#define __GREYWALL_LOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

/* The most a database file may be: Debian's is about 55 MB. */
#define LOCATION_MAX_FILE_SIZE (1ULL << 30)
/* What the text formats print where the database places nothing. */
#define LOCATION_NONE "--"
/* Longest AS name kept (longer ones are cut): the dumps' lines stay short. */
#define LOCATION_AS_NAME_MAX 128

struct location;

struct location_place {
	struct addr_prefix network;	/* the announced network holding the address */
	char country[3];		/* "DE"; LOCATION_NONE when the database has none */
	uint32_t asn;			/* 0: none */
};

/*
 * Open the database at path. -EBADMSG: not a location database, or one
 * whose sections lie beyond its end (truncated); -EFBIG: larger than
 * LOCATION_MAX_FILE_SIZE; -EINVAL: not a regular file; otherwise -errno.
 * why (may be NULL) gets a short reason for the log.
 */
int location_open(const char *path, struct location **out, char *why, size_t whylen);
void location_close(struct location *loc);

/*
 * Place addr (a network: its first address). Returns 0, or -ENOENT when
 * the database places it nowhere. An address in a special-purpose range
 * (documentation, private, loopback, link-local, multicast, ...) is placed
 * only by a network inside that range: a registry's allocation that merely
 * spans it (Debian's database has 2001:c00::/23 over 2001:db8::/32) does not
 * say where such an address is.
 */
int location_lookup(struct location *loc, const struct addr_prefix *addr,
		    struct location_place *out);

/* The AS's name into buf. Returns 0, or -ENOENT when the database has no name. */
int location_as_name(struct location *loc, uint32_t asn, char *buf, size_t len);

#endif /* __GREYWALL_LOCATION_H */
