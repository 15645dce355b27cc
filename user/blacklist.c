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
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "blacklist.h"

extern char **environ;

/* Room for a whole IPv6 address as an integer, and arithmetic on it. */
typedef unsigned __int128 u128;

enum { FAM_V4, FAM_V6, NFAM };

#define READ_CHUNK (256 * 1024)
/* A command's output is held whole before decoding; beyond this it is refused. */
#define MAX_COMMAND_OUTPUT (256u << 20)
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
	struct range_list ranges[NFAM]; /* disjoint, sorted, not touching */
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

/*
 * Room for one more element in array, which holds n of *cap: the array,
 * moved if it had to grow, or NULL (the old one still valid) without memory.
 */
static void *grow_for_one(void *array, size_t n, size_t *cap, size_t size)
{
	size_t bigger = *cap ? *cap * 2 : 1024;
	void *v;

	if (n < *cap)
		return array;
	v = realloc(array, bigger * size);
	if (v)
		*cap = bigger;
	return v;
}

static int range_list_push(struct range_list *rl, u128 lo, u128 hi)
{
	struct range *v = grow_for_one(rl->v, rl->n, &rl->cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	rl->v = v;
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

static int cidr_push(struct list *l, size_t *cap, int fam, u128 v, int plen)
{
	struct addr_prefix *c = grow_for_one(l->cidrs, l->ncidrs, cap, sizeof(*c));

	if (!c)
		return -ENOMEM;
	l->cidrs = c;
	prefix_from_value(fam, v, plen, &l->cidrs[l->ncidrs++]);
	return 0;
}

/* Append the fewest CIDR blocks that cover [lo, hi] exactly. */
static int range_to_cidrs(struct list *l, size_t *cap, int fam, u128 lo, u128 hi)
{
	int width = family_width(fam);

	for (;;) {
		int bits = 0; /* host bits of the block that starts at lo */

		/* Double the block while lo stays aligned to it and it stays in range. */
		while (bits < width && !((lo >> bits) & 1) && hi - lo >= low_ones(bits + 1))
			bits++;
		if (cidr_push(l, cap, fam, lo, width - bits))
			return -ENOMEM;
		if (hi - lo == low_ones(bits))
			return 0;
		lo += low_ones(bits) + 1;
	}
}

static int list_build_cidrs(struct list *l)
{
	size_t cap = 0;

	for (int fam = 0; fam < NFAM; fam++)
		for (size_t i = 0; i < l->ranges[fam].n; i++)
			if (range_to_cidrs(l, &cap, fam, l->ranges[fam].v[i].lo,
					   l->ranges[fam].v[i].hi))
				return -ENOMEM;
	l->stats.cidrs = l->ncidrs;
	return 0;
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

/* Take len more bytes of the list. */
static int loader_feed(struct loader *l, const char *data, size_t len)
{
	const char *end = data + len, *nl;
	int err;

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

/* Feed data, gunzipping it first when it starts with gzip's magic. */
static int feed_maybe_gzip(struct loader *l, const unsigned char *data, size_t len, char *err,
			   size_t errlen)
{
	z_stream zs = {0};
	char *out;
	int ret = 0;

	if (len < 2 || data[0] != 0x1f || data[1] != 0x8b)
		return loader_feed(l, (const char *)data, len);
	out = malloc(READ_CHUNK);
	if (!out || inflateInit2(&zs, 15 + 16) != Z_OK) {
		free(out);
		return -ENOMEM;
	}
	zs.next_in = (unsigned char *)data;
	zs.avail_in = (uInt)len;
	while (!ret) {
		int z;

		zs.next_out = (unsigned char *)out;
		zs.avail_out = READ_CHUNK;
		z = inflate(&zs, Z_NO_FLUSH);
		if (z != Z_OK && z != Z_STREAM_END) {
			const char *why = zs.msg ? zs.msg : "gzip data corrupt";

			/* Z_BUF_ERROR: the input ended inside the stream. */
			if (z == Z_BUF_ERROR)
				why = "unexpected end of file";
			snprintf(err, errlen, "%s", why);
			ret = -EBADMSG;
			break;
		}
		ret = loader_feed(l, out, READ_CHUNK - zs.avail_out);
		if (z == Z_STREAM_END) {
			/* gzip files may hold several members, one after another. */
			if (!zs.avail_in)
				break;
			inflateReset(&zs);
		}
	}
	inflateEnd(&zs);
	free(out);
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Start /bin/sh -c cmd with stdin from /dev/null and stdout into a pipe,
 * in a process group of its own so a timeout can kill the whole pipeline,
 * and with default signal handling whatever the caller blocked or ignored.
 */
static int spawn_shell(const char *cmd, pid_t *pid, int *outfd)
{
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int fds[2], ret;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	ret = posix_spawn(pid, "/bin/sh", &actions, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	close(fds[1]);
	if (ret) {
		close(fds[0]);
		return -ret;
	}
	*outfd = fds[0];
	return 0;
}

/* Read fd to its end, into *buf, before the deadline. */
static int read_until(int fd, long long deadline, unsigned char **buf, size_t *len)
{
	size_t cap = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!pfd.revents)
			continue;
		if (*len == cap) {
			unsigned char *bigger;

			if (cap >= MAX_COMMAND_OUTPUT)
				return -EFBIG;
			cap = cap ? cap * 2 : READ_CHUNK;
			bigger = realloc(*buf, cap);
			if (!bigger)
				return -ENOMEM;
			*buf = bigger;
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
}

/* Reap pid before the deadline. The child has closed its output, so it is about to exit. */
static int wait_until(pid_t pid, long long deadline, int *status)
{
	const struct timespec pause = {0, 2 * 1000 * 1000};

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

/* Run cmd and feed its output, which must end with exit status 0. */
static int read_command_source(struct loader *l, const char *cmd, int timeout_ms, char *err,
			       size_t errlen)
{
	long long deadline = now_ms() + timeout_ms;
	unsigned char *out = NULL;
	size_t len = 0;
	int fd, status, ret;
	pid_t pid;

	ret = spawn_shell(cmd, &pid, &fd);
	if (ret) {
		snprintf(err, errlen, "cannot run /bin/sh: %s", strerror(-ret));
		return ret;
	}
	ret = read_until(fd, deadline, &out, &len);
	close(fd);
	if (!ret)
		ret = wait_until(pid, deadline, &status);
	if (ret) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (ret == -ETIMEDOUT)
			snprintf(err, errlen, "timed out after %d ms", timeout_ms);
		else if (ret == -EFBIG)
			snprintf(err, errlen, "output larger than %u MiB",
				 MAX_COMMAND_OUTPUT >> 20);
		else
			snprintf(err, errlen, "%s", strerror(-ret));
	} else if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "killed by signal %d", WTERMSIG(status));
		ret = -EIO;
	} else if (WEXITSTATUS(status)) {
		snprintf(err, errlen, "exit status %d", WEXITSTATUS(status));
		ret = -EIO;
	} else {
		ret = feed_maybe_gzip(l, out, len, err, errlen);
	}
	free(out);
	return ret;
}

/* The fetcher command for url: each "%s" becomes the URL in single quotes. */
static char *fetch_command(const char *fetcher, const char *url)
{
	char *cmd = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&cmd, &len);

	if (!fp)
		return NULL;
	for (const char *s = fetcher; *s; s++) {
		if (s[0] != '%' || s[1] != 's') {
			putc(*s, fp);
			continue;
		}
		putc('\'', fp);
		for (const char *u = url; *u; u++) {
			/* Close the quotes, add an escaped quote, reopen them. */
			if (*u == '\'')
				fputs("'\\''", fp);
			else
				putc(*u, fp);
		}
		putc('\'', fp);
		s++;
	}
	if (fclose(fp)) {
		free(cmd);
		return NULL;
	}
	return cmd;
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
	char *cmd;
	int ret;

	switch (src->type) {
	case LIST_SOURCE_FILE:
		ret = read_file_source(l, src->value, err, errlen);
		break;
	case LIST_SOURCE_EXEC:
		ret = read_command_source(l, src->value, timeout, err, errlen);
		break;
	default:
		if (!opts || !opts->fetcher) {
			snprintf(err, errlen, "no fetcher configured for URLs");
			return -ENOPROTOOPT;
		}
		cmd = fetch_command(opts->fetcher, src->value);
		if (!cmd)
			return -ENOMEM;
		ret = read_command_source(l, cmd, timeout, err, errlen);
		free(cmd);
		break;
	}
	return ret ? ret : loader_end_source(l);
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

/*
 * Walk the lists backwards so that, at each blacklist, white holds every
 * whitelist after it: one subtraction per blacklist however many there are.
 */
static int apply_whitelists(struct blacklist_set *set)
{
	struct range_list white[NFAM] = {0};
	int ret = 0;

	for (size_t i = set->n; i-- > 0 && !ret;) {
		struct list *l = &set->lists[i];

		for (int fam = 0; fam < NFAM && !ret; fam++) {
			if (l->white) {
				ret = range_list_absorb(&white[fam], &l->ranges[fam]);
				/* Only the union serves from here on. */
				range_list_free(&l->ranges[fam]);
			} else {
				ret = range_list_subtract(&l->ranges[fam], &white[fam]);
			}
		}
		if (!ret && !l->white)
			ret = list_build_cidrs(l);
	}
	for (int fam = 0; fam < NFAM; fam++)
		range_list_free(&white[fam]);
	return ret;
}

int blacklist_set_build(const struct list_def *defs, size_t n, const struct blacklist_options *opts,
			struct blacklist_set **out, char *err, size_t errlen)
{
	struct blacklist_set *set;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	*out = NULL;
	if (opts && opts->fetcher && !strstr(opts->fetcher, "%s")) {
		snprintf(err, errlen, "fetcher \"%s\" has no %%s for the URL", opts->fetcher);
		return -EINVAL;
	}
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
		else
			ret = load_list(l, &defs[i], opts);
	}
	if (!ret)
		ret = apply_whitelists(set);
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
		for (int fam = 0; fam < NFAM; fam++)
			range_list_free(&l->ranges[fam]);
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
