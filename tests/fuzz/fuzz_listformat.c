// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the list reader (tables/listformat.h): a peer's
 * published list, and a file an operator loads, are whatever their
 * publisher made them.
 *
 * The input is a list, read twice from a memory file: in LISTFORMAT_ANY
 * mode and in LISTFORMAT_PLAIN mode (a table's own file). Every entry must
 * be a masked prefix of a known family; the blocks of one range line must
 * follow each other without gap, each aligned, no two of one length that
 * would make one block; the stats must agree with what was delivered and
 * with the input's line count; the bad lines' numbers must rise. A file
 * the plain mode reads whole is read the same in the other mode. A bound on
 * entries the input picks must stop the read at exactly that many.
 *
 * Reads are LISTFORMAT_LINE_MAX + 8 bytes here, not 1 MiB, so that an
 * input of a few KB to 24 KB straddles reads, long lines included.
 */
#define READ_BUFSIZE (LISTFORMAT_LINE_MAX + 8)
#include "tables/listformat.c"

#include <sys/mman.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef unsigned __int128 u128;

#define MAX_KEPT 4096

struct seen {
	struct listformat_entry e[MAX_KEPT];
	size_t n, total;
};

static int keep(void *ctx, const struct listformat_entry *e)
{
	struct seen *s = ctx;
	struct addr_prefix masked = e->prefix;
	int width;

	if (e->prefix.family != AF_INET && e->prefix.family != AF_INET6)
		abort();
	width = addr_max_plen(e->prefix.family);
	if (e->prefix.plen > width || e->line < 1)
		abort();
	addr_mask(&masked);
	if (!addr_equal(&masked, &e->prefix))
		abort();
	if (s->n < MAX_KEPT)
		s->e[s->n++] = *e;
	s->total++;
	return 0;
}

static u128 value_of(const struct addr_prefix *p)
{
	u128 v = 0;

	for (int i = 0; i < addr_max_plen(p->family) / 8; i++)
		v = v << 8 | p->bytes[i];
	return v;
}

static u128 block_last(const struct addr_prefix *p)
{
	int host = addr_max_plen(p->family) - p->plen;

	return value_of(p) | (host >= 128 ? ~(u128)0 : ((u128)1 << host) - 1);
}

/* Entries of one line after the first: a range's blocks, in order and minimal. */
static void check_line_blocks(const struct seen *s)
{
	for (size_t i = 1; i < s->n; i++) {
		const struct addr_prefix *a = &s->e[i - 1].prefix, *b = &s->e[i].prefix;

		if (s->e[i].line != s->e[i - 1].line)
			continue;
		if (a->family != b->family || block_last(a) + 1 != value_of(b))
			abort();
		/* Two halves of one block would be one block. */
		if (a->plen == b->plen && a->plen > 0) {
			int host = addr_max_plen(a->family) - a->plen + 1;

			if (!(value_of(a) & (((u128)1 << host) - 1)))
				abort();
		}
	}
}

/* The first n entries of a and b are the same (fields, not padding). */
static bool same_entries(const struct seen *a, const struct seen *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!addr_equal(&a->e[i].prefix, &b->e[i].prefix) || a->e[i].added != b->e[i].added ||
		    a->e[i].line != b->e[i].line)
			return false;
	return true;
}

static size_t count_lines(const uint8_t *p, size_t n)
{
	size_t lines = n && p[n - 1] != '\n';

	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines;
}

static void check_stats(const struct listformat_stats *st, const struct seen *s, size_t lines)
{
	if (st->entries != s->total || st->entry_lines > st->entries ||
	    st->entry_lines + st->bad_lines > st->lines || st->lines > lines)
		abort();
	for (size_t i = 1; i < st->bad_lines && i < LISTFORMAT_BAD_KEPT; i++)
		if (st->bad_line[i] <= st->bad_line[i - 1])
			abort();
	if (st->bad_lines && !st->first_bad[0])
		abort();
}

static int read_mode(int fd, enum listformat_mode mode, size_t max_entries, struct seen *s,
		     struct listformat_stats *st, char *err, size_t errlen)
{
	struct listformat_options opts = { .mode = mode, .max_entries = max_entries };

	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	memset(s, 0, sizeof(*s));
	return listformat_read_fd(fd, "fuzz", &opts, keep, s, st, err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen any, plain;
	static int fd = -1;
	struct listformat_stats st_any, st_plain;
	size_t lines = count_lines(data, size);
	char err[1024];
	int ret_any, ret_plain, ret;

	if (fd < 0 && (fd = memfd_create("fuzz-list", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();

	ret_any = read_mode(fd, LISTFORMAT_ANY, 0, &any, &st_any, err, sizeof(err));
	if (ret_any && ret_any != -EBADMSG)
		abort();
	if (memchr(err, '\n', strnlen(err, sizeof(err))))
		abort();
	check_stats(&st_any, &any, lines);
	check_line_blocks(&any);
	if (!ret_any && (st_any.bad_lines > 0) != (err[0] != '\0'))
		abort();

	ret_plain = read_mode(fd, LISTFORMAT_PLAIN, 0, &plain, &st_plain, err, sizeof(err));
	if (ret_plain && ret_plain != -EINVAL)
		abort();
	if (ret_plain && !err[0])
		abort();
	check_stats(&st_plain, &plain, lines);
	/* Plain entries are single lines: never two on one line. */
	for (size_t i = 1; i < plain.n; i++)
		if (plain.e[i].line <= plain.e[i - 1].line)
			abort();
	if (!ret_plain) {
		if (st_plain.bad_lines || st_any.bad_lines || any.total != plain.total ||
		    (!ret_any && !same_entries(&any, &plain, any.n)))
			abort();
	}

	/* A bound the input picks: exactly that many, then -E2BIG. */
	if (any.total > 0) {
		size_t bound = (size ? data[0] : 0) % any.total;

		if (bound) {
			struct listformat_stats st;
			static struct seen capped;

			ret = read_mode(fd, LISTFORMAT_ANY, bound, &capped, &st, err, sizeof(err));
			if (ret != -E2BIG || capped.total != bound ||
			    !same_entries(&capped, &any, capped.n))
				abort();
		}
	}
	return 0;
}
