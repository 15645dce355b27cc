/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Addresses and prefixes: the one parser and the one formatter. */
#ifndef __GREYWALL_ADDR_H
#define __GREYWALL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "greywall.h"

/* Longest text addr_format() writes, with "/128" and the NUL. */
#define ADDR_STRLEN 48

/*
 * A host or network. IPv4 keeps its four bytes in bytes[0..3] and zeroes
 * the rest; plen is native (0..32 or 0..128). Host bits are always zero.
 */
struct addr_prefix {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t plen;
	uint8_t bytes[16];
};

/*
 * Parse "198.51.100.7", "198.51.100.0/24", "2001:db8::/48". A prefix with
 * host bits set is an error (-EINVAL), as is an IPv4-mapped IPv6 address.
 */
int addr_parse(const char *text, struct addr_prefix *out);
/* Hosts print without a length; networks as "addr/len". */
void addr_format(const struct addr_prefix *p, char *buf, size_t len);
bool addr_is_host(const struct addr_prefix *p);
int addr_max_plen(int family);
/* Zero the bits below plen. */
void addr_mask(struct addr_prefix *p);
bool addr_equal(const struct addr_prefix *a, const struct addr_prefix *b);
/* True when outer covers inner (same family, outer->plen <= inner->plen). */
bool addr_contains(const struct addr_prefix *outer, const struct addr_prefix *inner);
/* Order by family, bytes, then plen: for sorted output. */
int addr_compare(const struct addr_prefix *a, const struct addr_prefix *b);

/*
 * The host address of a socket (accept(2), getsockname(2)): AF_INET or
 * AF_INET6, an IPv4-mapped IPv6 address as IPv4. -EAFNOSUPPORT otherwise.
 */
struct sockaddr;
struct sockaddr_storage;
int addr_from_sockaddr(const struct sockaddr *sa, unsigned int len, struct addr_prefix *out);
/* The socket address of host a (AF_INET or AF_INET6) and port, in ss; its length. */
unsigned int addr_to_sockaddr(const struct addr_prefix *a, uint16_t port,
			      struct sockaddr_storage *ss);

/* Conversions to and from the data path's keys. */
void addr_to_key(const struct addr_prefix *p, struct gw_addr *key);
void addr_from_key(const struct gw_addr *key, struct addr_prefix *p);
void addr_to_lpm4(const struct addr_prefix *p, struct gw_lpm4_key *key);
void addr_to_lpm6(const struct addr_prefix *p, struct gw_lpm6_key *key);

#endif /* __GREYWALL_ADDR_H */
