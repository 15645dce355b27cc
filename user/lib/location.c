// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The location database through libloc. libloc maps the file's sections
 * where its header says they are and trusts the offsets in them: a file
 * cut short (an interrupted copy) would be read beyond its end, which is
 * SIGBUS on a mapping. So before libloc sees it, the header (libloc's own
 * struct, format.h) is checked against the file's size and every node of
 * the network tree against the tree's and the networks' counts; then a
 * lookup can only walk inside the file.
 */
#define LIBLOC_PRIVATE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libloc/as.h>
#include <libloc/database.h>
#include <libloc/format.h>
#include <libloc/libloc.h>
#include <libloc/network.h>

#include "lib/location.h"

/* Ranges no registry allocation says anything about: special_ranges, parsed. */
#define SPECIAL_RANGES 23

struct location {
	struct loc_ctx *ctx;
	struct loc_database *db;
	FILE *file;		/* libloc reads through it: kept open */
	struct addr_prefix special[SPECIAL_RANGES];
};

/* libloc logs to stderr by default; its reasons reach our callers as -errno. */
static void quiet_log(struct loc_ctx *ctx, int priority, const char *file, int line,
		      const char *fn, const char *format, va_list args)
{
	(void)ctx, (void)priority, (void)file, (void)line, (void)fn, (void)format, (void)args;
}

static void say(char *why, size_t len, const char *text)
{
	if (why && len)
		snprintf(why, len, "%s", text);
}

/*
 * A section [offset, offset + length) inside the file, of whole records
 * that start on 4 bytes (their u32 fields, as libloc's writer lays them
 * out: libloc reads them in place).
 */
static bool section_fits(uint32_t offset_be, uint32_t length_be, size_t record, uint64_t size)
{
	uint64_t offset = be32toh(offset_be), length = be32toh(length_be);

	return offset + length <= size &&
	       (!record || (length % record == 0 && offset % sizeof(uint32_t) == 0));
}

/*
 * libloc's lookup descends from the root, one address bit per level,
 * setting that bit of a 128-bit address on its stack at every level: a
 * cycle, or a path longer than 128 bits, writes past it (a crafted file
 * smashed the stack). So the tree must be one: from the root every node
 * is reached once (child index 0 is "none"), at most 128 levels down.
 * An explicit stack: depth first, at most two entries per level.
 */
#define TREE_MAX_DEPTH 128

static int check_tree_shape(const struct loc_database_network_node_v1 *node, uint64_t nodes)
{
	struct {
		uint32_t index;
		uint32_t depth;
	} stack[2 * (TREE_MAX_DEPTH + 1)];
	unsigned char *seen = calloc((size_t)(nodes / 8 + 1), 1);
	size_t top = 0;
	int ret = 0;

	if (!seen)
		return -ENOMEM;
	seen[0] = 1;
	stack[top++].index = 0;
	stack[0].depth = 0;
	while (top && !ret) {
		uint32_t at = stack[--top].index, depth = stack[top].depth;
		uint32_t child[2] = { be32toh(node[at].zero), be32toh(node[at].one) };

		for (int c = 0; c < 2 && !ret; c++) {
			if (!child[c])
				continue;
			if (depth >= TREE_MAX_DEPTH || (seen[child[c] / 8] & (1u << (child[c] % 8)))) {
				ret = -EBADMSG;
				break;
			}
			seen[child[c] / 8] |= (unsigned char)(1u << (child[c] % 8));
			stack[top].index = child[c];
			stack[top++].depth = depth + 1;
		}
	}
	free(seen);
	return ret;
}

/*
 * Every child and network index of the tree inside its section, and the
 * tree a tree (check_tree_shape()): what a lookup follows. The tree is
 * mapped here read-only, walked, unmapped.
 */
static int check_tree(int fd, const struct loc_database_header_v1 *h)
{
	uint64_t offset = be32toh(h->network_tree_offset), length = be32toh(h->network_tree_length);
	uint64_t nodes = length / sizeof(struct loc_database_network_node_v1);
	uint64_t networks = be32toh(h->network_data_length) /
			    sizeof(struct loc_database_network_v1);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = offset - offset % (uint64_t)page;
	const struct loc_database_network_node_v1 *node;
	unsigned char *map;
	int ret = 0;

	if (!nodes)
		return -EBADMSG;
	map = mmap(NULL, length + (offset - start), PROT_READ, MAP_PRIVATE, fd, (off_t)start);
	if (map == MAP_FAILED)
		return -errno;
	node = (const void *)(map + (offset - start));
	for (uint64_t i = 0; i < nodes && !ret; i++) {
		uint32_t zero = be32toh(node[i].zero), one = be32toh(node[i].one);
		uint32_t network = be32toh(node[i].network);

		if (zero >= nodes || one >= nodes || (network != 0xffffffff && network >= networks))
			ret = -EBADMSG;
	}
	if (!ret)
		ret = check_tree_shape(node, nodes);
	munmap(map, length + (offset - start));
	return ret;
}

/* The string pool's last byte is a NUL, so no name read from it runs past it. */
static int check_pool(int fd, const struct loc_database_header_v1 *h)
{
	uint64_t offset = be32toh(h->pool_offset), length = be32toh(h->pool_length);
	char last;

	if (!length)
		return 0;
	if (pread(fd, &last, 1, (off_t)(offset + length - 1)) != 1)
		return -EBADMSG;
	return last ? -EBADMSG : 0;
}

static int check_file(int fd, char *why, size_t whylen)
{
	struct loc_database_magic magic;
	struct loc_database_header_v1 h;
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		say(why, whylen, "not a regular file");
		return -EINVAL;
	}
	size = (uint64_t)st.st_size;
	if (size > LOCATION_MAX_FILE_SIZE) {
		say(why, whylen, "larger than 1 GiB");
		return -EFBIG;
	}
	if (pread(fd, &magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    memcmp(magic.magic, LOC_DATABASE_MAGIC, sizeof(magic.magic))) {
		say(why, whylen, "not a location database (no LOCDBXX magic)");
		return -EBADMSG;
	}
	if (magic.version != LOC_DATABASE_VERSION_1) {
		say(why, whylen, "a location database of a version libloc here cannot read");
		return -EBADMSG;
	}
	if (pread(fd, &h, sizeof(h), sizeof(magic)) != (ssize_t)sizeof(h)) {
		say(why, whylen, "truncated in its header");
		return -EBADMSG;
	}
	if (!section_fits(h.as_offset, h.as_length, sizeof(struct loc_database_as_v1), size) ||
	    !section_fits(h.network_data_offset, h.network_data_length,
			  sizeof(struct loc_database_network_v1), size) ||
	    !section_fits(h.network_tree_offset, h.network_tree_length,
			  sizeof(struct loc_database_network_node_v1), size) ||
	    !section_fits(h.countries_offset, h.countries_length,
			  sizeof(struct loc_database_country_v1), size) ||
	    !section_fits(h.pool_offset, h.pool_length, 0, size) ||
	    be16toh(h.signature1_length) > LOC_SIGNATURE_MAX_LENGTH ||
	    be16toh(h.signature2_length) > LOC_SIGNATURE_MAX_LENGTH) {
		say(why, whylen,
		    "truncated or corrupt: a section lies beyond the end of the file or off its "
		    "alignment");
		return -EBADMSG;
	}
	if (check_tree(fd, &h) || check_pool(fd, &h)) {
		say(why, whylen, "corrupt: its network tree (indices, a cycle, deeper than 128) or string pool");
		return -EBADMSG;
	}
	return 0;
}

/*
 * Ranges no registry allocation says anything about (RFC 6890 and its
 * updates): what is not globally routable, the documentation ranges first
 * among them.
 */
static const char *const special_ranges[SPECIAL_RANGES] = {
	"0.0.0.0/8",	   "10.0.0.0/8",     "100.64.0.0/10",  "127.0.0.0/8",
	"169.254.0.0/16",  "172.16.0.0/12",  "192.0.0.0/24",   "192.0.2.0/24",
	"192.168.0.0/16",  "198.18.0.0/15",  "198.51.100.0/24", "203.0.113.0/24",
	"224.0.0.0/4",	   "240.0.0.0/4",    "::/128",	       "::1/128",
	"64:ff9b:1::/48",  "100::/64",	     "2001::/23",      "2001:db8::/32",
	"fc00::/7",	   "fe80::/10",	     "ff00::/8",
};

int location_open(const char *path, struct location **out, char *why, size_t whylen)
{
	struct location *loc;
	FILE *f;
	int fd, ret;

	say(why, whylen, "");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ret = check_file(fd, why, whylen);
	if (ret) {
		close(fd);
		return ret;
	}
	f = fdopen(fd, "r");
	if (!f) {
		ret = -errno;
		close(fd);
		return ret;
	}
	loc = calloc(1, sizeof(*loc));
	if (!loc) {
		fclose(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < SPECIAL_RANGES; i++)
		if (addr_parse(special_ranges[i], &loc->special[i]))
			abort();	/* the table above is wrong: a build's bug */
	ret = loc_new(&loc->ctx);
	if (ret) {
		ret = ret < 0 ? ret : -ENOMEM;
		goto fail;
	}
	loc_set_log_fn(loc->ctx, quiet_log);
	if (loc_database_new(loc->ctx, &loc->db, f)) {
		say(why, whylen, "libloc could not read it");
		ret = -EBADMSG;
		goto fail;
	}
	loc->file = f;
	*out = loc;
	return 0;
fail:
	fclose(f);
	if (loc->ctx)
		loc_unref(loc->ctx);
	free(loc);
	return ret;
}

void location_close(struct location *loc)
{
	if (!loc)
		return;
	if (loc->db)
		loc_database_unref(loc->db);
	loc_unref(loc->ctx);
	fclose(loc->file);
	free(loc);
}

static const struct addr_prefix *special_range_of(const struct location *loc,
						  const struct addr_prefix *addr)
{
	for (size_t i = 0; i < SPECIAL_RANGES; i++)
		if (addr_contains(&loc->special[i], addr))
			return &loc->special[i];
	return NULL;
}

static void to_in6(const struct addr_prefix *addr, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (addr->family == AF_INET) {
		out->s6_addr[10] = 0xff;
		out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], addr->bytes, 4);
	} else {
		memcpy(out->s6_addr, addr->bytes, 16);
	}
}

static bool country_code_valid(const char *cc)
{
	for (int i = 0; i < 2; i++)
		if (!((cc[i] >= 'A' && cc[i] <= 'Z') || (cc[i] >= '0' && cc[i] <= '9')))
			return false;
	return cc[2] == '\0';
}

int location_lookup(struct location *loc, const struct addr_prefix *addr,
		    struct location_place *out)
{
	struct loc_network *network = NULL;
	struct addr_prefix host = *addr;
	const struct addr_prefix *range;
	const struct in6_addr *first;
	struct in6_addr in6;
	unsigned int plen;
	const char *cc;
	int ret = 0;

	host.plen = (uint8_t)addr_max_plen(addr->family);
	to_in6(&host, &in6);
	/* libloc may hand a network out with an error: it is released all the same. */
	if (loc_database_lookup(loc->db, &in6, &network) || !network) {
		if (network)
			loc_network_unref(network);
		return -ENOENT;
	}
	/* libloc gives an IPv4 network's prefix in IPv4 bits, its address mapped. */
	first = loc_network_get_first_address(network);
	plen = loc_network_prefix(network);
	memset(&out->network, 0, sizeof(out->network));
	out->network.family = (uint8_t)addr->family;
	if (addr->family == AF_INET)
		memcpy(out->network.bytes, &first->s6_addr[12], 4);
	else
		memcpy(out->network.bytes, first->s6_addr, 16);
	if (loc_network_address_family(network) != addr->family ||
	    plen > (unsigned int)addr_max_plen(addr->family)) {
		ret = -ENOENT;
		goto out;
	}
	out->network.plen = (uint8_t)plen;
	addr_mask(&out->network);
	if (!addr_contains(&out->network, &host)) {
		ret = -ENOENT;
		goto out;
	}
	range = special_range_of(loc, &host);
	if (range && !addr_contains(range, &out->network)) {
		ret = -ENOENT;
		goto out;
	}
	cc = loc_network_get_country_code(network);
	if (cc && country_code_valid(cc))
		memcpy(out->country, cc, 3);
	else
		memcpy(out->country, LOCATION_NONE, 3);
	out->asn = loc_network_get_asn(network);
out:
	loc_network_unref(network);
	return ret;
}

int location_as_name(struct location *loc, uint32_t asn, char *buf, size_t len)
{
	struct loc_as *as = NULL;
	const char *name;
	int ret = -ENOENT;

	if (!asn || loc_database_get_as(loc->db, &as, asn) || !as)
		return -ENOENT;
	name = loc_as_get_name(as);
	if (name && name[0] && len) {
		snprintf(buf, len, "%s", name);
		ret = 0;
	}
	loc_as_unref(as);
	return ret;
}
