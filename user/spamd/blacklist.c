// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Blacklists the spamd-setup way. Every address, network and range becomes
 * an inclusive range of integers, IPv4 and IPv6 apart. A list is sorted and
 * folded into disjoint ranges that do not even touch, the whitelists after
 * it are cut out, and each remaining range is split into the fewest CIDR
 * blocks that cover it exactly. Since no two ranges touch, no block could
 * span two of them, so those per-range covers together are the minimal
 * cover of the whole list.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/array.h"
#include "lib/fetch.h"
#include "spamd/blacklist.h"

/* Room for a whole IPv6 address as an integer, and arithmetic on it. */
typedef unsigned __int128 u128;

enum { FAM_V4, FAM_V6, NFAM };

/* How much one read hands the loader; the fuzz harness sets a small one so
 * that its short inputs straddle reads. */
#ifndef READ_CHUNK
#define READ_CHUNK (256 * 1024)
#endif
/*
 * What is kept of a line that straddles two reads. The address comes first
 * on a line, so a longer line's tail is junk that would be ignored anyway.
 */
#define CARRY_MAX 1024
/* The longest token worth handing to addr_parse: an IPv6 address and "/128". */
#define TOKEN_MAX (INET6_ADDRSTRLEN + 4)

struct range {
	u128 lo, hi;
};

struct range_list {
	struct range *v;
	size_t n, cap;
};

struct list {
	char *name;
	char *msg;
	bool white;
	struct list_stats stats;
	struct range_list ranges[NFAM]; /* disjoint, sorted, not touching; none if white */
	/* Whitelists: their ranges as loaded, for the next load to fall back on. */
	struct range_list loaded[NFAM];
	struct addr_prefix *cidrs;
	size_t ncidrs;
};

struct blacklist_set {
	struct list *lists;
	size_t n;
};

/* Lines of one list being read; they may arrive in pieces of any size. */
struct loader {
	struct range_list ranges[NFAM];
	size_t entries, bad_lines;
	size_t max_entries;
	/* Bytes of the source being read, after gunzip, and their bound. */
	unsigned long long bytes, max_bytes;
	char carry[CARRY_MAX];
	size_t carry_len;
};

static int family_width(int fam)
{
	return fam == FAM_V4 ? 32 : 128;
}

/* The low `bits` bits set. */
static u128 low_ones(int bits)
{
	return bits >= 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
}

static int prefix_family(const struct addr_prefix *p)
{
	return p->family == AF_INET ? FAM_V4 : FAM_V6;
}

/* The first address of p as an integer. */
static u128 prefix_value(const struct addr_prefix *p)
{
	int nbytes = addr_max_plen(p->family) / 8;
	u128 v = 0;

	for (int i = 0; i < nbytes; i++)
		v = v << 8 | p->bytes[i];
	return v;
}

static void prefix_from_value(int fam, u128 v, int plen, struct addr_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = fam == FAM_V4 ? AF_INET : AF_INET6;
	p->plen = (uint8_t)plen;
	for (int i = family_width(fam) / 8 - 1; i >= 0; i--) {
		p->bytes[i] = (uint8_t)v;
		v >>= 8;
	}
}

static int range_list_push(struct range_list *rl, u128 lo, u128 hi)
{
	/* Lists run to millions of ranges: start at 1024, not at one. */
	if (array_room(&rl->v, &rl->cap, rl->n + 1, sizeof(*rl->v), 1024))
		return -ENOMEM;
	rl->v[rl->n].lo = lo;
	rl->v[rl->n].hi = hi;
	rl->n++;
	return 0;
}

static void range_list_free(struct range_list *rl)
{
	free(rl->v);
	memset(rl, 0, sizeof(*rl));
}

static int range_compare(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

/* Sort, then fold overlapping and adjacent ranges into one. */
static void range_list_merge(struct range_list *rl)
{
	size_t out = 0;

	if (!rl->n)
		return;
	qsort(rl->v, rl->n, sizeof(*rl->v), range_compare);
	for (size_t i = 1; i < rl->n; i++) {
		struct range *cur = &rl->v[out];
		const struct range *r = &rl->v[i];

		/* r->lo - 1 cannot wrap: r->lo == 0 passes the first test. */
		if (r->lo <= cur->hi || r->lo - 1 == cur->hi) {
			if (r->hi > cur->hi)
				cur->hi = r->hi;
		} else {
			rl->v[++out] = *r;
		}
	}
	rl->n = out + 1;
}

/* Append src's ranges to dst, then merge. */
static int range_list_absorb(struct range_list *dst, const struct range_list *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (range_list_push(dst, src->v[i].lo, src->v[i].hi))
			return -ENOMEM;
	range_list_merge(dst);
	return 0;
}

/* Cut the merged ranges of white out of the merged ranges of black. */
static int range_list_subtract(struct range_list *black, const struct range_list *white)
{
	struct range_list out = {0};
	size_t w = 0;

	if (!white->n || !black->n)
		return 0;
	for (size_t i = 0; i < black->n; i++) {
		u128 lo = black->v[i].lo, hi = black->v[i].hi;
		bool rest = true;

		/* A white range may reach into the next black one: never skip past it. */
		while (w < white->n && white->v[w].hi < lo)
			w++;
		for (size_t j = w; j < white->n && white->v[j].lo <= hi; j++) {
			const struct range *hole = &white->v[j];

			if (hole->lo > lo && range_list_push(&out, lo, hole->lo - 1))
				goto nomem;
			if (hole->hi >= hi) {
				rest = false;
				break;
			}
			lo = hole->hi + 1;
		}
		if (rest && range_list_push(&out, lo, hi))
			goto nomem;
	}
	free(black->v);
	*black = out;
	return 0;
nomem:
	free(out.v);
	return -ENOMEM;
}

/* -E2BIG past max networks: a few disjoint IPv6 ranges can make millions. */
static int cidr_push(struct list *l, size_t *cap, size_t max, int fam, u128 v, int plen)
{
	if (l->ncidrs >= max)
		return -E2BIG;
	if (array_room(&l->cidrs, cap, l->ncidrs + 1, sizeof(*l->cidrs), 1024))
		return -ENOMEM;
	prefix_from_value(fam, v, plen, &l->cidrs[l->ncidrs++]);
	return 0;
}

/* Append the fewest CIDR blocks that cover [lo, hi] exactly. */
static int range_to_cidrs(struct list *l, size_t *cap, size_t max, int fam, u128 lo, u128 hi)
{
	int width = family_width(fam);
	int ret;

	for (;;) {
		int bits = 0; /* host bits of the block that starts at lo */

		/* Double the block while lo stays aligned to it and it stays in range. */
		while (bits < width && !((lo >> bits) & 1) && hi - lo >= low_ones(bits + 1))
			bits++;
		ret = cidr_push(l, cap, max, fam, lo, width - bits);
		if (ret)
			return ret;
		if (hi - lo == low_ones(bits))
			return 0;
		lo += low_ones(bits) + 1;
	}
}

/* -E2BIG when they would be more than max: l has none then. */
static int list_build_cidrs(struct list *l, size_t max)
{
	size_t cap = 0;
	int ret = 0;

	for (int fam = 0; fam < NFAM && !ret; fam++)
		for (size_t i = 0; i < l->ranges[fam].n && !ret; i++)
			ret = range_to_cidrs(l, &cap, max, fam, l->ranges[fam].v[i].lo,
					     l->ranges[fam].v[i].hi);
	if (ret) {
		free(l->cidrs);
		l->cidrs = NULL;
		l->ncidrs = 0;
	}
	l->stats.cidrs = l->ncidrs;
	return ret;
}

static bool is_addr_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == ':' || c == '.';
}

/* addr_parse on text[0..len), which is not NUL-terminated. */
static bool parse_token(const char *text, size_t len, struct addr_prefix *p)
{
	char buf[TOKEN_MAX + 1];

	if (len > TOKEN_MAX)
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return addr_parse(buf, p) == 0;
}

enum line_kind { LINE_EMPTY, LINE_ENTRY, LINE_BAD };

/*
 * One line, [s, end), in spamd-setup's forms: "ADDR/LEN", "ADDR - ADDR"
 * (any run of blanks and dashes between the ends) or "ADDR", each followed
 * by anything. As in spamd-setup, a second address after mere blanks still
 * makes a range; junk after blanks is ignored, junk after a dash is not.
 */
static enum line_kind parse_line(const char *s, const char *end, int *fam, struct range *r)
{
	struct addr_prefix first, last;
	bool dash = false, slash = false;
	const char *token;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end || *s == '#' || *s == '\r')
		return LINE_EMPTY;
	token = s;
	while (s < end && is_addr_char(*s))
		s++;
	if (s < end && *s == '/') {
		slash = true;
		s++;
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	}
	if (!parse_token(token, (size_t)(s - token), &first))
		return LINE_BAD;
	*fam = prefix_family(&first);
	r->lo = prefix_value(&first);
	r->hi = r->lo | low_ones(addr_max_plen(first.family) - first.plen);
	if (slash)
		return LINE_ENTRY;

	while (s < end && (*s == ' ' || *s == '\t' || *s == '-')) {
		dash |= *s == '-';
		s++;
	}
	token = s;
	while (s < end && is_addr_char(*s))
		s++;
	if (s == token)
		return LINE_ENTRY;
	if (!parse_token(token, (size_t)(s - token), &last) || !addr_is_host(&last))
		return dash ? LINE_BAD : LINE_ENTRY;
	if (last.family != first.family || prefix_value(&last) < r->lo)
		return LINE_BAD;
	r->hi = prefix_value(&last);
	return LINE_ENTRY;
}

static int loader_line(struct loader *l, const char *s, const char *end)
{
	struct range r;
	int fam = FAM_V4;

	switch (parse_line(s, end, &fam, &r)) {
	case LINE_EMPTY:
		return 0;
	case LINE_BAD:
		l->bad_lines++;
		return 0;
	default:
		if (l->entries >= l->max_entries)
			return -E2BIG;
		l->entries++;
		return range_list_push(&l->ranges[fam], r.lo, r.hi);
	}
}

static void loader_carry(struct loader *l, const char *s, size_t n)
{
	size_t room = sizeof(l->carry) - l->carry_len;

	if (n > room)
		n = room;
	memcpy(l->carry + l->carry_len, s, n);
	l->carry_len += n;
}

/* Take len more bytes of the list; -EFBIG past the source's byte bound. */
static int loader_feed(struct loader *l, const char *data, size_t len)
{
	const char *end = data + len, *nl;
	int err;

	if (len > l->max_bytes - l->bytes)
		return -EFBIG;
	l->bytes += len;
	while ((nl = memchr(data, '\n', (size_t)(end - data)))) {
		if (l->carry_len) {
			loader_carry(l, data, (size_t)(nl - data));
			err = loader_line(l, l->carry, l->carry + l->carry_len);
			l->carry_len = 0;
		} else {
			err = loader_line(l, data, nl);
		}
		if (err)
			return err;
		data = nl + 1;
	}
	loader_carry(l, data, (size_t)(end - data));
	return 0;
}

/* The end of one source: its last line may lack a '\n'. */
static int loader_end_source(struct loader *l)
{
	int err = 0;

	if (l->carry_len)
		err = loader_line(l, l->carry, l->carry + l->carry_len);
	l->carry_len = 0;
	return err;
}

static int read_file_source(struct loader *l, const char *path, char *err, size_t errlen)
{
	char *buf = malloc(READ_CHUNK);
	int n, zerr, ret = 0;
	const char *zmsg;
	gzFile gz;

	if (!buf)
		return -ENOMEM;
	errno = 0;
	gz = gzopen(path, "rb");
	if (!gz) {
		ret = errno ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s", strerror(-ret));
		free(buf);
		return ret;
	}
	while (!ret && (n = gzread(gz, buf, READ_CHUNK)) > 0)
		ret = loader_feed(l, buf, (size_t)n);
	zmsg = gzerror(gz, &zerr);
	/* A truncated stream reads as an early end with Z_BUF_ERROR behind it. */
	if (!ret && zerr != Z_OK) {
		size_t plen = strlen(path);

		ret = zerr == Z_ERRNO ? -errno : -EBADMSG;
		/* zlib puts "path: " before its message; the caller names the file already. */
		if (!strncmp(zmsg, path, plen) && !strncmp(zmsg + plen, ": ", 2))
			zmsg += plen + 2;
		snprintf(err, errlen, "%s", zerr == Z_ERRNO ? strerror(-ret) : zmsg);
	}
	gzclose(gz);
	free(buf);
	return ret;
}

/*
 * A command's output, decoded as it arrives so that nothing but one chunk
 * is held: gunzipped when its first two bytes are gzip's magic.
 */
struct output_stream {
	struct loader *l;
	unsigned char head[2]; /* the first bytes, until there are two to decide on */
	size_t nhead;
	unsigned long long raw; /* bytes read, before gunzip */
	bool gzip, member_end;
	z_stream zs;
	char *out; /* inflate's output; NULL until gzip is seen */
};

static int inflate_some(struct output_stream *st, const unsigned char *data, size_t len,
			char *err, size_t errlen)
{
	st->zs.next_in = (unsigned char *)data;
	st->zs.avail_in = (uInt)len;
	for (;;) {
		int z, ret;

		if (st->member_end) {
			/* gzip files may hold several members, one after another. */
			if (!st->zs.avail_in)
				return 0;
			inflateReset(&st->zs);
			st->member_end = false;
		}
		st->zs.next_out = (unsigned char *)st->out;
		st->zs.avail_out = READ_CHUNK;
		z = inflate(&st->zs, Z_NO_FLUSH);
		if (z == Z_BUF_ERROR) /* no progress: it waits for more input */
			return 0;
		if (z != Z_OK && z != Z_STREAM_END) {
			snprintf(err, errlen, "%s", st->zs.msg ? st->zs.msg : "gzip data corrupt");
			return -EBADMSG;
		}
		st->member_end = z == Z_STREAM_END;
		ret = loader_feed(st->l, st->out, READ_CHUNK - st->zs.avail_out);
		if (ret)
			return ret;
		if (!st->zs.avail_in && st->zs.avail_out)
			return 0;
	}
}

/* Decide on the first two bytes: gzip or plain text. */
static int stream_start(struct output_stream *st, char *err, size_t errlen)
{
	if (st->nhead < 2 || st->head[0] != 0x1f || st->head[1] != 0x8b)
		return loader_feed(st->l, (const char *)st->head, st->nhead);
	st->out = malloc(READ_CHUNK);
	if (!st->out || inflateInit2(&st->zs, 15 + 16) != Z_OK) {
		free(st->out);
		st->out = NULL;
		return -ENOMEM;
	}
	st->gzip = true;
	return inflate_some(st, st->head, st->nhead, err, errlen);
}

/* -EFBIG when the output itself goes past the byte bound, gzip or not. */
static int stream_feed(struct output_stream *st, const unsigned char *data, size_t len,
		       char *err, size_t errlen)
{
	int ret;

	if (len > st->l->max_bytes - st->raw)
		return -EFBIG;
	st->raw += len;
	if (st->nhead < 2) {
		while (st->nhead < 2 && len) {
			st->head[st->nhead++] = *data++;
			len--;
		}
		if (st->nhead < 2)
			return 0;
		ret = stream_start(st, err, errlen);
		if (ret)
			return ret;
	}
	if (!len)
		return 0;
	if (st->gzip)
		return inflate_some(st, data, len, err, errlen);
	return loader_feed(st->l, (const char *)data, len);
}

/* The output ended: a gzip stream must have ended with it. */
static int stream_end(struct output_stream *st, char *err, size_t errlen)
{
	if (st->nhead < 2)
		return loader_feed(st->l, (const char *)st->head, st->nhead);
	if (st->gzip && !st->member_end) {
		snprintf(err, errlen, "unexpected end of file");
		return -EBADMSG;
	}
	return 0;
}

static void stream_free(struct output_stream *st)
{
	if (st->out)
		inflateEnd(&st->zs);
	free(st->out);
}

void blacklist_kill_running(void)
{
	fetch_kill_running();
}

/* A command's output goes through the gunzip stream into the list. */
static int stream_sink(void *ctx, const unsigned char *data, size_t len, char *err, size_t errlen)
{
	return stream_feed(ctx, data, len, err, errlen);
}

/*
 * Run argv and feed its output, which must end with exit status 0. Bound
 * errors (-EFBIG, -E2BIG) are left for the caller to describe.
 */
static int read_command_source(struct loader *l, const char *path, char *const argv[],
			       int timeout_ms, char *err, size_t errlen)
{
	const struct fetch_run run = { .timeout_ms = timeout_ms };
	struct output_stream st = { .l = l };
	int ret = fetch_run(path, argv, &run, stream_sink, &st, err, errlen);

	if (!ret)
		ret = stream_end(&st, err, errlen);
	stream_free(&st);
	return ret;
}

bool blacklist_fetcher_valid(const char *fetcher)
{
	return fetch_command_valid(fetcher);
}

/* Fetch url: the fetcher's words, the URL in place of its "%s" as one argument of its own. */
static int read_url_source(struct loader *l, const char *fetcher, const char *url, int timeout_ms,
			   char *err, size_t errlen)
{
	const struct fetch_run run = { .timeout_ms = timeout_ms };
	struct output_stream st = { .l = l };
	int ret = fetch_url(fetcher, url, &run, stream_sink, &st, err, errlen);

	if (!ret)
		ret = stream_end(&st, err, errlen);
	stream_free(&st);
	return ret;
}

static const char *source_kind(enum list_source_type type)
{
	switch (type) {
	case LIST_SOURCE_FILE:
		return "file";
	case LIST_SOURCE_EXEC:
		return "exec";
	default:
		return "url";
	}
}

static int read_source(struct loader *l, const struct list_source *src,
		       const struct blacklist_options *opts, char *err, size_t errlen)
{
	int timeout = opts && opts->timeout_ms > 0 ? opts->timeout_ms : BLACKLIST_TIMEOUT_MS;
	char *sh_argv[] = { "sh", "-c", (char *)src->value, NULL };
	int ret;

	l->bytes = 0;
	switch (src->type) {
	case LIST_SOURCE_FILE:
		ret = read_file_source(l, src->value, err, errlen);
		break;
	case LIST_SOURCE_EXEC:
		ret = read_command_source(l, "/bin/sh", sh_argv, timeout, err, errlen);
		break;
	default:
		if (!opts || !opts->fetcher) {
			snprintf(err, errlen, "no fetcher configured for URLs");
			return -ENOPROTOOPT;
		}
		ret = read_url_source(l, opts->fetcher, src->value, timeout, err, errlen);
		break;
	}
	if (!ret)
		ret = loader_end_source(l);
	/* The bounds are named by their settings (greywall.conf(5)). */
	if (ret == -EFBIG)
		snprintf(err, errlen, "more than %llu bytes (list-max-bytes)", l->max_bytes);
	else if (ret == -E2BIG)
		snprintf(err, errlen, "more than %zu entries (list-max-entries)", l->max_entries);
	return ret;
}

static size_t max_entries(const struct blacklist_options *opts)
{
	return opts && opts->max_entries ? opts->max_entries : BLACKLIST_MAX_ENTRIES;
}

/* Ranges rarely fall on network boundaries: a list may hold more networks than entries. */
static size_t max_networks(const struct blacklist_options *opts)
{
	return max_entries(opts) * BLACKLIST_NETWORKS_PER_ENTRY;
}

/*
 * Read every source of def into l. A failed source leaves the list empty
 * and its reason in the stats; only running out of memory is returned.
 */
static int load_list(struct list *l, const struct list_def *def,
		     const struct blacklist_options *opts)
{
	struct loader *ld = calloc(1, sizeof(*ld));
	int ret = 0;

	if (!ld)
		return -ENOMEM;
	ld->max_entries = max_entries(opts);
	ld->max_bytes = opts && opts->max_bytes ? opts->max_bytes : BLACKLIST_MAX_BYTES;
	for (size_t i = 0; i < def->nsources; i++) {
		const struct list_source *src = &def->sources[i];
		char why[200] = "";

		ret = read_source(ld, src, opts, why, sizeof(why));
		if (ret) {
			snprintf(l->stats.error, sizeof(l->stats.error), "%s \"%s\": %s",
				 source_kind(src->type), src->value, why[0] ? why : strerror(-ret));
			break;
		}
	}
	l->stats.entries = ld->entries;
	l->stats.bad_lines = ld->bad_lines;
	for (int fam = 0; fam < NFAM; fam++) {
		if (ret) {
			range_list_free(&ld->ranges[fam]);
		} else {
			l->ranges[fam] = ld->ranges[fam];
			range_list_merge(&l->ranges[fam]);
		}
	}
	free(ld);
	return ret == -ENOMEM ? ret : 0;
}

static int range_list_copy(struct range_list *dst, const struct range_list *src)
{
	range_list_free(dst);
	if (!src->n)
		return 0;
	dst->v = malloc(src->n * sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = dst->cap = src->n;
	return 0;
}

static const struct list *find_list(const struct blacklist_set *set, const struct list *like)
{
	for (size_t i = 0; set && i < set->n; i++)
		if (set->lists[i].white == like->white && !strcmp(set->lists[i].name, like->name))
			return &set->lists[i];
	return NULL;
}

/*
 * l failed: take its version in previous, if there is one (a blacklist's
 * ranges as they were served, a whitelist's as they were loaded).
 */
static int keep_previous(struct list *l, const struct blacklist_set *previous)
{
	const struct list *old = find_list(previous, l);
	int ret = 0;

	for (int fam = 0; fam < NFAM; fam++)
		range_list_free(&l->ranges[fam]);
	if (!old)
		return 0;
	for (int fam = 0; fam < NFAM && !ret; fam++)
		ret = range_list_copy(&l->ranges[fam], l->white ? &old->loaded[fam] : &old->ranges[fam]);
	l->stats.kept_previous = !ret;
	return ret;
}

static int check_def(const struct list_def *def, size_t i, char *err, size_t errlen)
{
	const char *kind = def->white ? "whitelist" : "blacklist";

	if (!def->name || !def->name[0]) {
		snprintf(err, errlen, "list %zu has no name", i + 1);
		return -EINVAL;
	}
	if (!def->nsources) {
		snprintf(err, errlen, "%s \"%s\" has no source", kind, def->name);
		return -EINVAL;
	}
	for (size_t s = 0; s < def->nsources; s++) {
		if (!def->sources[s].value || !def->sources[s].value[0]) {
			snprintf(err, errlen, "%s \"%s\" has an empty %s source", kind, def->name,
				 source_kind(def->sources[s].type));
			return -EINVAL;
		}
	}
	if (!def->white && !def->msg) {
		snprintf(err, errlen, "blacklist \"%s\" has no msg", def->name);
		return -EINVAL;
	}
	return 0;
}

/* Cut white out of the blacklist l and cut its CIDRs; l keeps previous's version past the bound. */
static int finish_blacklist(struct list *l, const struct range_list *white, size_t max,
			    const struct blacklist_set *previous)
{
	int ret = 0;

	for (int fam = 0; fam < NFAM && !ret; fam++)
		ret = range_list_subtract(&l->ranges[fam], &white[fam]);
	if (!ret)
		ret = list_build_cidrs(l, max);
	if (ret != -E2BIG)
		return ret;
	if (!l->stats.error[0])
		snprintf(l->stats.error, sizeof(l->stats.error),
			 "more than %zu networks (%d times list-max-entries)", max,
			 BLACKLIST_NETWORKS_PER_ENTRY);
	ret = previous && !l->stats.kept_previous ? keep_previous(l, previous) : -E2BIG;
	if (!ret)
		return finish_blacklist(l, white, max, NULL);
	/* Nothing to fall back on, or that too is past the bound: the list is empty. */
	l->stats.kept_previous = false;
	for (int fam = 0; fam < NFAM; fam++)
		range_list_free(&l->ranges[fam]);
	return ret == -E2BIG ? 0 : ret;
}

/*
 * Walk the lists backwards so that, at each blacklist, white holds every
 * whitelist after it: one subtraction per blacklist however many there are.
 */
static int apply_whitelists(struct blacklist_set *set, size_t max,
			    const struct blacklist_set *previous)
{
	struct range_list white[NFAM] = {0};
	int ret = 0;

	for (size_t i = set->n; i-- > 0 && !ret;) {
		struct list *l = &set->lists[i];

		if (!l->white) {
			ret = finish_blacklist(l, white, max, previous);
			continue;
		}
		for (int fam = 0; fam < NFAM && !ret; fam++) {
			ret = range_list_absorb(&white[fam], &l->ranges[fam]);
			/* Only the union serves from here on; a later load may fall back on these. */
			l->loaded[fam] = l->ranges[fam];
			memset(&l->ranges[fam], 0, sizeof(l->ranges[fam]));
		}
	}
	for (int fam = 0; fam < NFAM; fam++)
		range_list_free(&white[fam]);
	return ret;
}

/* A set of n lists named after defs, with nothing loaded yet. */
static int set_new(const struct list_def *defs, size_t n, struct blacklist_set **out, char *err,
		   size_t errlen)
{
	struct blacklist_set *set;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		ret = check_def(&defs[i], i, err, errlen);
		if (ret)
			return ret;
	}
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	set->lists = calloc(n ? n : 1, sizeof(*set->lists));
	if (!set->lists) {
		free(set);
		return -ENOMEM;
	}
	set->n = n;
	for (size_t i = 0; i < n && !ret; i++) {
		struct list *l = &set->lists[i];

		l->white = defs[i].white;
		l->name = strdup(defs[i].name);
		l->msg = l->white ? NULL : strdup(defs[i].msg);
		if (!l->name || (!l->white && !l->msg))
			ret = -ENOMEM;
	}
	if (ret) {
		blacklist_set_free(set);
		return ret;
	}
	*out = set;
	return 0;
}

int blacklist_set_build(const struct list_def *defs, size_t n, const struct blacklist_options *opts,
			struct blacklist_set **out, char *err, size_t errlen)
{
	const struct blacklist_set *previous = opts ? opts->previous : NULL;
	struct blacklist_set *set;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	*out = NULL;
	if (opts && opts->fetcher && !blacklist_fetcher_valid(opts->fetcher)) {
		snprintf(err, errlen, "fetcher \"%s\" does not end with \"-- %%s\"", opts->fetcher);
		return -EINVAL;
	}
	ret = set_new(defs, n, &set, err, errlen);
	for (size_t i = 0; !ret && i < n; i++) {
		struct list *l = &set->lists[i];

		ret = load_list(l, &defs[i], opts);
		if (!ret && l->stats.error[0])
			ret = keep_previous(l, previous);
	}
	if (!ret)
		ret = apply_whitelists(set, max_networks(opts), previous);
	if (ret) {
		blacklist_set_free(set);
		return ret;
	}
	*out = set;
	return 0;
}

void blacklist_set_free(struct blacklist_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		struct list *l = &set->lists[i];

		free(l->name);
		free(l->msg);
		free(l->cidrs);
		for (int fam = 0; fam < NFAM; fam++) {
			range_list_free(&l->ranges[fam]);
			range_list_free(&l->loaded[fam]);
		}
	}
	free(set->lists);
	free(set);
}

size_t blacklist_set_count(const struct blacklist_set *set)
{
	return set->n;
}

const char *blacklist_set_name(const struct blacklist_set *set, size_t i)
{
	return set->lists[i].name;
}

bool blacklist_set_is_white(const struct blacklist_set *set, size_t i)
{
	return set->lists[i].white;
}

const char *blacklist_set_msg(const struct blacklist_set *set, size_t i)
{
	return set->lists[i].msg;
}

const struct list_stats *blacklist_set_stats(const struct blacklist_set *set, size_t i)
{
	return &set->lists[i].stats;
}

const struct addr_prefix *blacklist_set_cidrs(const struct blacklist_set *set, size_t i, size_t *n)
{
	*n = set->lists[i].ncidrs;
	return set->lists[i].cidrs;
}

static bool range_list_holds(const struct range_list *rl, u128 v)
{
	size_t lo = 0, hi = rl->n;

	/* Find the first range that starts above v; the one before may hold v. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rl->v[mid].lo <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && rl->v[lo - 1].hi >= v;
}

/* Whether any range of rl meets [lo, hi]. */
static bool range_list_meets(const struct range_list *rl, u128 lo, u128 hi)
{
	size_t first = 0, end = rl->n;

	/* Find the first range that ends at lo or later; it meets when it starts by hi. */
	while (first < end) {
		size_t mid = first + (end - first) / 2;

		if (rl->v[mid].hi < lo)
			first = mid + 1;
		else
			end = mid;
	}
	return first < rl->n && rl->v[first].lo <= hi;
}

bool blacklist_set_overlaps(const struct blacklist_set *set, const struct addr_prefix *prefix)
{
	int fam = prefix_family(prefix);
	u128 lo = prefix_value(prefix);
	u128 hi = lo | low_ones(family_width(fam) - prefix->plen);

	for (size_t i = 0; i < set->n; i++)
		if (range_list_meets(&set->lists[i].ranges[fam], lo, hi))
			return true;
	return false;
}

size_t blacklist_set_match(const struct blacklist_set *set, const struct addr_prefix *addr,
			   size_t *idx, size_t max)
{
	int fam = prefix_family(addr);
	u128 v = prefix_value(addr);
	size_t found = 0;

	for (size_t i = 0; i < set->n; i++) {
		if (!range_list_holds(&set->lists[i].ranges[fam], v))
			continue;
		if (found < max)
			idx[found] = i;
		found++;
	}
	return found;
}

int blacklist_set_messages(const struct blacklist_set *set, const size_t *idx, size_t n, char *buf,
			   size_t len)
{
	size_t used = 0;

	if (!len)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		const char *msg = set->lists[idx[i]].msg ? set->lists[idx[i]].msg : "";
		size_t mlen = strlen(msg), sep = i ? 1 : 0;

		if (used + sep + mlen + 1 > len)
			return -ENOSPC;
		if (sep)
			buf[used++] = '\n';
		memcpy(buf + used, msg, mlen);
		used += mlen;
	}
	buf[used] = '\0';
	return (int)used;
}

/*
 * The loader's stream: a head, then per list in order a list record and
 * its ranges, IPv4 ones first. Both ends are the same program on the same
 * host, so integers are in host order; ranges are big-endian 16 bytes.
 */
#define WIRE_MAGIC 0x314c5747u /* "GWL1" */

struct wire_head {
	uint32_t magic;
	uint32_t nlists;
};

struct wire_list {
	uint32_t index;
	uint32_t kept_previous;
	uint64_t entries, bad_lines;
	uint64_t nranges[NFAM];
	char error[256];
};

struct wire_range {
	uint8_t lo[16], hi[16];
};

static void u128_put(uint8_t *out, u128 v)
{
	for (int i = 15; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static u128 u128_get(const uint8_t *in)
{
	u128 v = 0;

	for (int i = 0; i < 16; i++)
		v = v << 8 | in[i];
	return v;
}

/* What the set keeps of list l: a blacklist's ranges as served, a whitelist's as loaded. */
static const struct range_list *wire_ranges(const struct list *l)
{
	return l->white ? l->loaded : l->ranges;
}

int blacklist_set_send(const struct blacklist_set *set, int fd)
{
	struct wire_head head = { WIRE_MAGIC, (uint32_t)set->n };
	FILE *fp;
	int copy = dup(fd), ret;

	fp = copy >= 0 ? fdopen(copy, "w") : NULL;
	if (!fp) {
		ret = -errno;
		if (copy >= 0)
			close(copy);
		return ret;
	}
	fwrite(&head, sizeof(head), 1, fp);
	for (size_t i = 0; i < set->n; i++) {
		const struct list *l = &set->lists[i];
		const struct range_list *rl = wire_ranges(l);
		struct wire_list wl = {
			.index = (uint32_t)i,
			.kept_previous = l->stats.kept_previous,
			.entries = l->stats.entries,
			.bad_lines = l->stats.bad_lines,
		};

		snprintf(wl.error, sizeof(wl.error), "%s", l->stats.error);
		for (int fam = 0; fam < NFAM; fam++)
			wl.nranges[fam] = rl[fam].n;
		fwrite(&wl, sizeof(wl), 1, fp);
		for (int fam = 0; fam < NFAM; fam++) {
			for (size_t k = 0; k < rl[fam].n; k++) {
				struct wire_range wr;

				u128_put(wr.lo, rl[fam].v[k].lo);
				u128_put(wr.hi, rl[fam].v[k].hi);
				fwrite(&wr, sizeof(wr), 1, fp);
			}
		}
	}
	ret = ferror(fp) ? -EIO : 0;
	if (fclose(fp) && !ret)
		ret = -errno;
	return ret;
}

enum receive_state { RECEIVE_HEAD, RECEIVE_LIST, RECEIVE_RANGE, RECEIVE_DONE };

struct blacklist_receiver {
	struct blacklist_set *set;
	size_t max_networks;	/* bounds the ranges of a list too: each is one network or more */
	enum receive_state state;
	size_t list;	     /* the list whose record or ranges come next */
	int fam;	     /* the family of the ranges that come next */
	uint64_t nranges[NFAM]; /* of the current list, as its record said */
	uint64_t left;	     /* ranges of that family still to come */
	struct range_list *into; /* where they go */
	/* The record being received, and how much of it is in. */
	union {
		struct wire_head head;
		struct wire_list list;
		struct wire_range range;
		unsigned char bytes[1];
	} part;
	size_t have;
};

int blacklist_receiver_new(const struct list_def *defs, size_t n,
			   const struct blacklist_options *opts, struct blacklist_receiver **out,
			   char *err, size_t errlen)
{
	struct blacklist_receiver *r = calloc(1, sizeof(*r));
	int ret = r ? set_new(defs, n, &r->set, err, errlen) : -ENOMEM;

	if (ret) {
		free(r);
		return ret;
	}
	r->max_networks = max_networks(opts);
	*out = r;
	return 0;
}

void blacklist_receiver_free(struct blacklist_receiver *r)
{
	if (!r)
		return;
	blacklist_set_free(r->set);
	free(r);
}

static size_t record_size(enum receive_state state)
{
	switch (state) {
	case RECEIVE_HEAD:
		return sizeof(struct wire_head);
	case RECEIVE_LIST:
		return sizeof(struct wire_list);
	default:
		return sizeof(struct wire_range);
	}
}

static int receive_error(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EPROTO;
}

/* The ranges of the current list are all in (or there were none): on to the next. */
static int receive_next_family(struct blacklist_receiver *r)
{
	struct list *l = &r->set->lists[r->list];
	int ret;

	while (r->fam < NFAM && !r->left) {
		if (++r->fam < NFAM)
			r->left = r->nranges[r->fam];
	}
	if (r->fam < NFAM) {
		r->into = &(l->white ? l->loaded : l->ranges)[r->fam];
		r->state = RECEIVE_RANGE;
		return 0;
	}
	/* The CIDRs are cut here again: the parent trusts no count it was sent. */
	ret = l->white ? 0 : list_build_cidrs(l, r->max_networks);
	if (ret)
		return ret;
	r->state = ++r->list == r->set->n ? RECEIVE_DONE : RECEIVE_LIST;
	return 0;
}

static int receive_list(struct blacklist_receiver *r, char *err, size_t errlen)
{
	struct wire_list *wl = &r->part.list;
	struct list *l = &r->set->lists[r->list];
	uint64_t total = wl->nranges[FAM_V4] + wl->nranges[FAM_V6];
	int ret;

	if (wl->index != r->list || wl->kept_previous > 1)
		return receive_error(err, errlen, "list record out of order");
	if (wl->nranges[FAM_V4] > r->max_networks || wl->nranges[FAM_V6] > r->max_networks ||
	    total > r->max_networks)
		return receive_error(err, errlen, "more ranges than networks allowed");
	wl->error[sizeof(wl->error) - 1] = '\0';
	/* The text goes into the log: nothing there may end a line or forge another. */
	for (char *c = wl->error; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	memcpy(l->stats.error, wl->error, sizeof(l->stats.error));
	l->stats.kept_previous = wl->kept_previous;
	l->stats.entries = wl->entries;
	l->stats.bad_lines = wl->bad_lines;
	for (int fam = 0; fam < NFAM; fam++) {
		struct range_list *rl = &(l->white ? l->loaded : l->ranges)[fam];

		if (!wl->nranges[fam])
			continue;
		rl->v = malloc(wl->nranges[fam] * sizeof(*rl->v));
		if (!rl->v)
			return -ENOMEM;
		rl->cap = wl->nranges[fam];
	}
	memcpy(r->nranges, wl->nranges, sizeof(r->nranges));
	r->fam = 0;
	r->left = r->nranges[0];
	ret = receive_next_family(r);
	return ret == -E2BIG ? receive_error(err, errlen, "more networks than allowed")
			     : ret;
}

static int receive_range(struct blacklist_receiver *r, char *err, size_t errlen)
{
	struct range_list *rl = r->into;
	u128 lo = u128_get(r->part.range.lo), hi = u128_get(r->part.range.hi);
	u128 top = low_ones(family_width(r->fam));
	const struct range *prev = rl->n ? &rl->v[rl->n - 1] : NULL;
	int ret;

	if (lo > hi || hi > top)
		return receive_error(err, errlen, "a range out of bounds");
	/* Sorted, disjoint and not touching, as merging leaves them (prev->hi < lo <= top). */
	if (prev && (lo <= prev->hi || lo - 1 == prev->hi))
		return receive_error(err, errlen, "ranges out of order");
	rl->v[rl->n++] = (struct range){ lo, hi };
	if (--r->left)
		return 0;
	ret = receive_next_family(r);
	return ret == -E2BIG ? receive_error(err, errlen, "more networks than allowed")
			     : ret;
}

int blacklist_receiver_feed(struct blacklist_receiver *r, const void *data, size_t len, char *err,
			    size_t errlen)
{
	const unsigned char *p = data;
	int ret = 0;

	while (len && !ret) {
		size_t need = record_size(r->state) - r->have;
		size_t take = len < need ? len : need;

		if (r->state == RECEIVE_DONE)
			return receive_error(err, errlen, "data after the last list");
		memcpy(r->part.bytes + r->have, p, take);
		r->have += take;
		p += take;
		len -= take;
		if (take < need)
			break;
		r->have = 0;
		switch (r->state) {
		case RECEIVE_HEAD:
			if (r->part.head.magic != WIRE_MAGIC || r->part.head.nlists != r->set->n)
				ret = receive_error(err, errlen, "not a set of the lists configured");
			r->state = r->set->n ? RECEIVE_LIST : RECEIVE_DONE;
			break;
		case RECEIVE_LIST:
			ret = receive_list(r, err, errlen);
			break;
		default:
			ret = receive_range(r, err, errlen);
			break;
		}
	}
	return ret;
}

int blacklist_receiver_finish(struct blacklist_receiver *r, struct blacklist_set **out)
{
	if (r->state != RECEIVE_DONE)
		return -EPROTO;
	*out = r->set;
	r->set = NULL;
	return 0;
}
