// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Greytrapping decisions. A trap set is an array of strings in insertion
 * order plus an open-addressing index into it, so that a lookup per RCPT
 * costs one hash and usually one comparison, however many spamtraps
 * there are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/array.h"
#include "spamd/trap.h"

#define TRAP_SET_MIN_SLOTS 64

struct trap_set {
	char **entries;
	size_t count;
	size_t cap;
	uint32_t *slots; /* entry index + 1; 0 = free */
	size_t nslots;	 /* a power of two, at least twice count */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Cut white space from both ends of [*start, *end). */
static void trim(const char **start, const char **end)
{
	while (*start < *end && is_space(**start))
		(*start)++;
	while (*end > *start && is_space((*end)[-1]))
		(*end)--;
}

int trap_normalize(const char *in, char *out, size_t outlen)
{
	const char *start = in, *end = in + strlen(in);
	size_t len;

	trim(&start, &end);
	if (start < end && *start == '<')
		start++;
	if (end > start && end[-1] == '>')
		end--;
	trim(&start, &end);
	len = (size_t)(end - start);
	if (len == 0)
		return -ENODATA;
	if (len > TRAP_ADDRESS_MAX || len >= outlen)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)start[i] < 0x20 || start[i] == 0x7f)
			return -EINVAL;
		out[i] = lower(start[i]);
	}
	out[len] = '\0';
	return (int)len;
}

/* FNV-1a: short keys, no need for anything stronger in a local set. */
static uint64_t hash_string(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* The slot holding text, or the free slot where it would go. */
static size_t find_slot(const struct trap_set *set, const char *text)
{
	size_t mask = set->nslots - 1, i = (size_t)hash_string(text) & mask;

	while (set->slots[i] && strcmp(set->entries[set->slots[i] - 1], text))
		i = (i + 1) & mask;
	return i;
}

static int grow_index(struct trap_set *set)
{
	size_t nslots = set->nslots ? set->nslots * 2 : TRAP_SET_MIN_SLOTS;
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	free(set->slots);
	set->slots = slots;
	set->nslots = nslots;
	for (size_t e = 0; e < set->count; e++)
		set->slots[find_slot(set, set->entries[e])] = (uint32_t)(e + 1);
	return 0;
}

int trap_set_new(struct trap_set **out)
{
	struct trap_set *set = calloc(1, sizeof(*set));

	*out = NULL;
	if (!set)
		return -ENOMEM;
	if (grow_index(set)) {
		free(set);
		return -ENOMEM;
	}
	*out = set;
	return 0;
}

void trap_set_free(struct trap_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++)
		free(set->entries[i]);
	free(set->entries);
	free(set->slots);
	free(set);
}

int trap_set_add(struct trap_set *set, const char *text)
{
	char norm[TRAP_ADDRESS_MAX + 1];
	int len = trap_normalize(text, norm, sizeof(norm));
	size_t slot;

	if (len < 0)
		return len;
	if (trap_set_contains(set, norm))
		return 0;
	if (set->count == UINT32_MAX - 1)
		return -E2BIG;
	if (array_room(&set->entries, &set->cap, set->count + 1, sizeof(*set->entries), 16))
		return -ENOMEM;
	if ((set->count + 1) * 2 > set->nslots && grow_index(set))
		return -ENOMEM;
	set->entries[set->count] = strdup(norm);
	if (!set->entries[set->count])
		return -ENOMEM;
	slot = find_slot(set, norm);
	set->slots[slot] = (uint32_t)(++set->count);
	return 0;
}

bool trap_set_contains(const struct trap_set *set, const char *text)
{
	return set && set->slots[find_slot(set, text)] != 0;
}

size_t trap_set_count(const struct trap_set *set)
{
	return set ? set->count : 0;
}

const char *trap_set_entry(const struct trap_set *set, size_t i)
{
	return i < set->count ? set->entries[i] : NULL;
}

int trap_set_load(struct trap_set *set, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "re");
	size_t cap = 0;
	char *line = NULL;
	ssize_t n;
	int lineno = 0, ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!fp)
		return -errno;
	while (!ret && (n = getline(&line, &cap, fp)) >= 0) {
		const char *start = line, *end = line + n, *what = NULL;
		char entry[TRAP_ADDRESS_MAX + 1];

		lineno++;
		trim(&start, &end);
		if (start == end || *start == '#')
			continue;
		if ((size_t)(end - start) > TRAP_ADDRESS_MAX)
			what = "entry too long";
		else if (memchr(start, '\0', (size_t)(end - start)))
			what = "NUL byte in entry";
		if (!what) {
			memcpy(entry, start, (size_t)(end - start));
			entry[end - start] = '\0';
			ret = trap_set_add(set, entry);
			if (ret == -EINVAL || ret == -ENODATA || ret == -ENAMETOOLONG)
				what = "invalid entry";
		}
		if (what) {
			if (err && errlen)
				snprintf(err, errlen, "%s:%d: %s", path, lineno, what);
			ret = -EINVAL;
		}
	}
	if (!ret && ferror(fp))
		ret = -EIO;
	free(line);
	fclose(fp);
	return ret;
}

bool trap_domains_match(const struct trap_set *domains, const char *rcpt)
{
	size_t len = strlen(rcpt);

	for (size_t i = 0; i < trap_set_count(domains); i++) {
		const char *suffix = domains->entries[i];
		size_t slen = strlen(suffix);

		if (slen <= len && !strcasecmp(rcpt + len - slen, suffix))
			return true;
	}
	return false;
}

/* Split a normalised address at its last '@': local part length, domain. */
static size_t split_address(const char *addr, const char **domain)
{
	const char *at = strrchr(addr, '@');

	if (domain)
		*domain = at ? at + 1 : addr + strlen(addr);
	return at ? (size_t)(at - addr) : strlen(addr);
}

static bool is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/*
 * "<host>-<epoch>-testing": Exim expands $tod_epoch to the decimal seconds,
 * ten digits since 2001; nine to eleven are accepted so that a clock a
 * little off still counts, while "foo-1-testing" does not.
 */
static bool parse_exim_random(const char *local, size_t len, struct trap_probe *probe)
{
	static const char tail[] = "-testing";
	size_t end = len - (sizeof(tail) - 1), digits = 0;
	int64_t epoch = 0;

	if (len <= sizeof(tail) - 1 || memcmp(local + end, tail, sizeof(tail) - 1))
		return false;
	while (digits < end && local[end - 1 - digits] >= '0' && local[end - 1 - digits] <= '9')
		digits++;
	if (digits < 9 || digits > 11 || digits + 1 >= end || local[end - 1 - digits] != '-')
		return false;
	end -= digits + 1; /* now the host name's length */
	if (end >= TRAP_HOST_MAX)
		return false;
	for (size_t i = 0; i < end; i++)
		if (!is_host_char(local[i]))
			return false;
	for (size_t i = 0; i < digits; i++)
		epoch = epoch * 10 + (local[end + 1 + i] - '0');
	probe->kind = TRAP_PROBE_EXIM_RANDOM;
	memcpy(probe->host, local, end);
	probe->host[end] = '\0';
	probe->epoch = epoch;
	return true;
}

bool trap_callback_probe(const char *from, const char *rcpt, struct trap_probe *probe)
{
	static const char postmaster[] = "postmaster", double_bounce[] = "double-bounce";
	char sender[TRAP_ADDRESS_MAX + 1], to[TRAP_ADDRESS_MAX + 1];
	int from_len = trap_normalize(from, sender, sizeof(sender));
	const char *from_domain;
	size_t from_local;

	memset(probe, 0, sizeof(*probe));
	if (trap_normalize(rcpt, to, sizeof(to)) < 0)
		return false;
	if (from_len == -ENODATA) /* MAIL FROM:<> */
		return parse_exim_random(to, split_address(to, NULL), probe);
	if (from_len < 0)
		return false;
	from_local = split_address(sender, &from_domain);
	if (from_local == sizeof(postmaster) - 1 && !memcmp(sender, postmaster, from_local))
		return parse_exim_random(to, split_address(to, NULL), probe);
	if (from_local >= sizeof(double_bounce) - 1 &&
	    !memcmp(sender, double_bounce, sizeof(double_bounce) - 1) && *from_domain &&
	    strlen(from_domain) < TRAP_HOST_MAX) {
		probe->kind = TRAP_PROBE_POSTFIX_VERIFY;
		snprintf(probe->host, sizeof(probe->host), "%s", from_domain);
		return true;
	}
	return false;
}

enum trap_verdict trap_classify(const struct trap_rules *rules, const char *from, const char *rcpt,
				struct trap_probe *probe)
{
	struct trap_probe scratch;
	char to[TRAP_ADDRESS_MAX + 1];
	bool domains_set = trap_set_count(rules->domains) > 0;
	bool normalized;

	if (!probe)
		probe = &scratch;
	/*
	 * The traps come first: a sender address costs a spammer nothing to
	 * choose, so "<double-bounce@...>" or "<>" must not buy a way past a
	 * spamtrap or alloweddomains.
	 */
	normalized = trap_normalize(rcpt, to, sizeof(to)) >= 0;
	if (domains_set && (!normalized || !trap_domains_match(rules->domains, to)))
		return TRAP_DOMAIN;
	if (normalized && trap_set_contains(rules->spamtraps, to))
		return TRAP_SPAMTRAP;
	if (trap_callback_probe(from, rcpt, probe))
		return TRAP_CALLBACK;
	if (!normalized)
		return TRAP_GREY;
	if (domains_set && rules->valid && !trap_set_contains(rules->valid, to))
		return TRAP_CANDIDATE;
	return TRAP_GREY;
}
