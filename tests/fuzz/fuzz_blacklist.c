// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the blacklist loader (blacklist.h): what a list
 * source holds comes from whoever publishes the list, so it is hostile.
 *
 * The input is a list; a NUL byte, if any, splits it into a blacklist part
 * A and a whitelist part W, unless the input starts with gzip's magic (gzip
 * holds NUL bytes): then it is A whole, a .gz, and W is empty. Four lists are built from files
 * holding those bytes, in this order: black "a" (A), white "w" (W), black "b" (W), black "c" (A).
 * So "c" is A whole, "b" is W whole and "a" is A without W, and the set must say so: every CIDR set
 * sorted, aligned, disjoint and minimal, each block's ends held by exactly the lists that should
 * hold them, the address beside each block by none that should not, and the same counts for the
 * same bytes. Then the same A, gzip-compressed here, read as a file and through the in-memory
 * decoder that exec and url sources use, must give exactly the ranges of "c"; and A as a .gz
 * (behind gzip's magic unless it starts with it) must not crash either reader, and when both take
 * it they must agree.
 *
 * The in-memory decoder is static and reached by the daemon only through
 * a child process, hence the include. Reads are 509 bytes here, not the
 * daemon's 256 KiB: an input of a few KB then straddles many reads (lines
 * carried from one read to the next, past CARRY_MAX too), and the harness
 * is not paced by ASan poisoning a 256 KiB buffer per read.
 */
#define READ_CHUNK 509
#include "spamd/blacklist.c"

#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { LIST_A, LIST_W, LIST_B, LIST_C, NLISTS };

/* A memfd per file the harness hands the loader, reused from input to input. */
struct memfile {
	int fd;
	char path[32];
};

static void memfile_fill(struct memfile *f, const void *p, size_t n)
{
	if (!f->path[0]) {
		f->fd = memfd_create("fuzz-list", MFD_CLOEXEC);
		if (f->fd < 0)
			abort();
		snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
	}
	if (ftruncate(f->fd, 0) || pwrite(f->fd, p, n, 0) != (ssize_t)n)
		abort();
}

static bool has_gzip_magic(const uint8_t *p, size_t n)
{
	return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static u128 cidr_last(const struct addr_prefix *c)
{
	return prefix_value(c) | low_ones(addr_max_plen(c->family) - c->plen);
}

/* Which of the four lists hold the host v of family fam, as a bit mask. */
static unsigned int holders(const struct blacklist_set *set, int fam, u128 v)
{
	struct addr_prefix host;
	size_t idx[NLISTS], n;
	unsigned int mask = 0;

	prefix_from_value(fam, v, family_width(fam), &host);
	n = blacklist_set_match(set, &host, idx, NLISTS);
	if (n > NLISTS)
		abort();
	for (size_t i = 0; i < n; i++)
		mask |= 1u << idx[i];
	/* A whitelist only cuts holes: it never matches. */
	if (mask & (1u << LIST_W))
		abort();
	return mask;
}

/* In the set of four, what a holds follows from b and c: a = c - b. */
static void check_holders(unsigned int mask)
{
	bool a = mask & (1u << LIST_A), b = mask & (1u << LIST_B), c = mask & (1u << LIST_C);

	if (a != (c && !b))
		abort();
}

/*
 * The CIDR set of blacklist i: IPv4 then IPv6, each in address order,
 * aligned, disjoint, no two siblings that would make one block, and each
 * block's ends (and the addresses just outside, unless the next block
 * touches) held as the set says.
 */
static void check_cidrs(const struct blacklist_set *set, size_t i)
{
	const struct list_stats *st = blacklist_set_stats(set, i);
	const struct addr_prefix *c;
	size_t n;

	c = blacklist_set_cidrs(set, i, &n);
	if (st->cidrs != n || (n && !c) || (st->error[0] && n))
		abort();
	for (size_t k = 0; k < n; k++) {
		int fam = prefix_family(&c[k]), width = family_width(fam);
		u128 lo = prefix_value(&c[k]), hi = cidr_last(&c[k]);
		struct addr_prefix masked = c[k];
		bool touches_prev = false, touches_next = false;

		if ((c[k].family != AF_INET && c[k].family != AF_INET6) || c[k].plen > width)
			abort();
		addr_mask(&masked);
		if (!addr_equal(&masked, &c[k]))
			abort();
		if (k > 0) {
			const struct addr_prefix *p = &c[k - 1];
			int pfam = prefix_family(p);

			if (pfam > fam || (pfam == fam && cidr_last(p) >= lo))
				abort();
			touches_prev = pfam == fam && cidr_last(p) + 1 == lo;
			/* Two halves of one block would be one block. */
			if (touches_prev && p->plen == c[k].plen && p->plen > 0 &&
			    !(prefix_value(p) & low_ones(width - p->plen + 1)))
				abort();
		}
		if (k + 1 < n)
			touches_next =
			    prefix_family(&c[k + 1]) == fam && prefix_value(&c[k + 1]) == hi + 1;
		for (int end = 0; end < 2; end++) {
			unsigned int mask = holders(set, fam, end ? hi : lo);

			if (!(mask & (1u << i)))
				abort();
			if (blacklist_set_count(set) == NLISTS)
				check_holders(mask);
		}
		if (lo > 0 && !touches_prev && (holders(set, fam, lo - 1) & (1u << i)))
			abort();
		if (hi < low_ones(width) && !touches_next &&
		    (holders(set, fam, hi + 1) & (1u << i)))
			abort();
	}
}

static size_t count_lines(const uint8_t *p, size_t n)
{
	size_t lines = 1;

	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines;
}

static bool same_ranges(const struct range_list *x, const struct range_list *y)
{
	return x->n == y->n && (!x->n || !memcmp(x->v, y->v, x->n * sizeof(*x->v)));
}

/* Build a set of one blacklist from one file. */
static struct blacklist_set *build_one(const struct memfile *f)
{
	struct list_source src = {LIST_SOURCE_FILE, f->path};
	struct list_def def = {.name = "z", .msg = "listed", .sources = &src, .nsources = 1};
	struct blacklist_set *set;
	char err[256];

	if (blacklist_set_build(&def, 1, NULL, &set, err, sizeof(err)))
		abort();
	check_cidrs(set, 0);
	return set;
}

/* A loader with the bounds load_list() gives it by default. */
static struct loader *new_loader(void)
{
	struct loader *ld = calloc(1, sizeof(*ld));

	if (!ld)
		abort();
	ld->max_entries = max_entries(NULL);
	ld->max_bytes = BLACKLIST_MAX_BYTES;
	return ld;
}

/*
 * The in-memory reader of exec and url output (the stream a command's
 * pipe is decoded with): 0 with ld's ranges merged, or its error. A small
 * gzip may expand past the entry or byte bound: refused, never a crash.
 */
static int load_memory(const uint8_t *p, size_t n, struct loader *ld)
{
	struct output_stream st = {.l = ld};
	char err[200] = "";
	int ret = stream_feed(&st, p, n, err, sizeof(err));

	if (!ret)
		ret = stream_end(&st, err, sizeof(err));
	stream_free(&st);
	if (!ret)
		ret = loader_end_source(ld);
	if (ret && ret != -E2BIG && ret != -EFBIG && (ret != -EBADMSG || !err[0]))
		abort();
	for (int fam = 0; fam < NFAM; fam++)
		range_list_merge(&ld->ranges[fam]);
	return ret;
}

static void loader_free(struct loader *ld)
{
	for (int fam = 0; fam < NFAM; fam++)
		range_list_free(&ld->ranges[fam]);
	free(ld);
}

/*
 * A gzip member of p, at a level the input picks; the smallest window and
 * hash keep the compressor's own allocations out of the exec rate.
 */
static uint8_t *gzip_bytes(const uint8_t *p, size_t n, size_t *out_len)
{
	z_stream zs = {0};
	uint8_t *out;
	uLong cap;

	if (deflateInit2(&zs, 1 + (int)(n % 9), Z_DEFLATED, 9 + 16, 1, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	cap = deflateBound(&zs, n);
	out = malloc(cap);
	if (!out)
		abort();
	zs.next_in = (Bytef *)p;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	*out_len = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

/* A, compressed, through both gzip readers: exactly the ranges of "c". */
static void check_gzip(const struct blacklist_set *set, const uint8_t *a, size_t alen)
{
	static struct memfile gz_file;
	const struct list *c = &set->lists[LIST_C];
	struct loader *ld = new_loader();
	struct blacklist_set *z;
	size_t zlen;
	uint8_t *zdata = gzip_bytes(a, alen, &zlen);

	if (!ld)
		abort();
	memfile_fill(&gz_file, zdata, zlen);
	z = build_one(&gz_file);
	if (z->lists[0].stats.error[0] || z->lists[0].stats.entries != c->stats.entries ||
	    z->lists[0].stats.bad_lines != c->stats.bad_lines)
		abort();
	if (load_memory(zdata, zlen, ld) || ld->entries != c->stats.entries ||
	    ld->bad_lines != c->stats.bad_lines)
		abort();
	for (int fam = 0; fam < NFAM; fam++)
		if (!same_ranges(&z->lists[0].ranges[fam], &c->ranges[fam]) ||
		    !same_ranges(&ld->ranges[fam], &c->ranges[fam]))
			abort();
	blacklist_set_free(z);
	loader_free(ld);
	free(zdata);
}

/* A as a .gz: neither reader may crash; when both take it, they agree. */
static void check_raw_gzip(const uint8_t *a, size_t alen)
{
	static struct memfile raw_file;
	struct loader *ld = new_loader();
	size_t magic = has_gzip_magic(a, alen) ? 0 : 2, len = magic + alen;
	uint8_t *raw = malloc(len);
	struct blacklist_set *z;
	int ret;

	if (!ld || !raw)
		abort();
	raw[0] = 0x1f;
	raw[1] = 0x8b;
	memcpy(raw + magic, a, alen);
	memfile_fill(&raw_file, raw, len);
	z = build_one(&raw_file);
	ret = load_memory(raw, len, ld);
	if (!ret && !z->lists[0].stats.error[0]) {
		if (ld->entries != z->lists[0].stats.entries ||
		    ld->bad_lines != z->lists[0].stats.bad_lines)
			abort();
		for (int fam = 0; fam < NFAM; fam++)
			if (!same_ranges(&ld->ranges[fam], &z->lists[0].ranges[fam]))
				abort();
	}
	blacklist_set_free(z);
	loader_free(ld);
	free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct memfile a_file, w_file;
	const uint8_t *nul = has_gzip_magic(data, size) ? NULL : memchr(data, '\0', size);
	const uint8_t *a = data, *w;
	size_t alen = nul ? (size_t)(nul - data) : size, wlen;
	struct list_source a_src = {LIST_SOURCE_FILE, NULL}, w_src = {LIST_SOURCE_FILE, NULL};
	struct list_def defs[NLISTS] = {
	    [LIST_A] = {.name = "a", .msg = "in a", .sources = &a_src, .nsources = 1},
	    [LIST_W] = {.name = "w", .white = true, .sources = &w_src, .nsources = 1},
	    [LIST_B] = {.name = "b", .msg = "in b", .sources = &w_src, .nsources = 1},
	    [LIST_C] = {.name = "c", .msg = "in c", .sources = &a_src, .nsources = 1},
	};
	const struct list_stats *st[NLISTS];
	struct blacklist_set *set;
	char err[256];

	w = nul ? nul + 1 : data + size;
	wlen = (size_t)(data + size - w);
	memfile_fill(&a_file, a, alen);
	memfile_fill(&w_file, w, wlen);
	a_src.value = a_file.path;
	w_src.value = w_file.path;
	if (blacklist_set_build(defs, NLISTS, NULL, &set, err, sizeof(err)))
		abort();
	for (size_t i = 0; i < NLISTS; i++)
		st[i] = blacklist_set_stats(set, i);
	/* Plain bytes always read; gzip's magic makes zlib decode, which may fail. */
	if ((st[LIST_A]->error[0] && !has_gzip_magic(a, alen)) ||
	    (st[LIST_W]->error[0] && !has_gzip_magic(w, wlen)))
		abort();
	/* The same bytes count the same, and never more entries than lines. */
	if (st[LIST_A]->entries != st[LIST_C]->entries ||
	    st[LIST_A]->bad_lines != st[LIST_C]->bad_lines ||
	    strcmp(st[LIST_A]->error, st[LIST_C]->error) ||
	    st[LIST_W]->entries != st[LIST_B]->entries ||
	    st[LIST_W]->bad_lines != st[LIST_B]->bad_lines ||
	    strcmp(st[LIST_W]->error, st[LIST_B]->error) || st[LIST_W]->cidrs)
		abort();
	if (!has_gzip_magic(a, alen) &&
	    st[LIST_A]->entries + st[LIST_A]->bad_lines > count_lines(a, alen))
		abort();
	for (size_t i = 0; i < NLISTS; i++)
		if (i != LIST_W)
			check_cidrs(set, i);
	if (!has_gzip_magic(a, alen))
		check_gzip(set, a, alen);
	blacklist_set_free(set);
	check_raw_gzip(a, alen);
	return 0;
}
