// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * spamdb(8) compatibility. The line formats and messages are interfaces:
 * scripts parse them, so they follow spamdb byte for byte.
 */
#include <errno.h>
#include <string.h>

#include "lib/escape.h"
#include "spamd/spamdb.h"
#include "spamd/trap.h"

/* spamdb's exit status for a bad command, and errx(-1)'s. */
#define SPAMDB_STATUS_USAGE 2
#define SPAMDB_STATUS_FATAL 255

/* A field as spamdb prints it: escaped (escape.h), its '|' too, so the line keeps its fields. */
static const char *field(const char *text, char out[SPAMDB_FIELD_SIZE])
{
	escape_vis(out, SPAMDB_FIELD_SIZE, text, "|");
	return out;
}

int spamdb_format(const struct grey_entry *e, char *buf, size_t len)
{
	char ip[ADDR_STRLEN], helo[SPAMDB_FIELD_SIZE], from[SPAMDB_FIELD_SIZE],
		to[SPAMDB_FIELD_SIZE];

	if (e->kind != GREY_KIND_SPAMTRAP)
		addr_format(&e->addr, ip, sizeof(ip));
	switch (e->kind) {
	case GREY_KIND_GREY:
		return snprintf(buf, len, "GREY|%s|%s|%s|%s|%lld|%lld|%lld|%d|%d\n", ip,
				field(e->helo, helo), field(e->from, from), field(e->to, to),
				(long long)e->first, (long long)e->pass, (long long)e->expire,
				e->bcount, e->pcount);
	case GREY_KIND_WHITE:
		return snprintf(buf, len, "WHITE|%s|||%lld|%lld|%lld|%d|%d\n", ip,
				(long long)e->first, (long long)e->pass, (long long)e->expire,
				e->bcount, e->pcount);
	case GREY_KIND_TRAPPED:
		return snprintf(buf, len, "TRAPPED|%s|%lld\n", ip, (long long)e->expire);
	case GREY_KIND_SPAMTRAP:
	default:
		return snprintf(buf, len, "SPAMTRAP|%s\n", field(e->address, to));
	}
}

int spamdb_print(FILE *fp, const struct grey_entry *e)
{
	char line[SPAMDB_LINE_MAX];
	int n = spamdb_format(e, line, sizeof(line));

	/* Fields are bounded (SPAMDB_FIELD_SIZE), so a line always fits. */
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EOVERFLOW;
	return fwrite(line, 1, (size_t)n, fp) == (size_t)n ? 0 : -EIO;
}

static int print_cb(void *fp, const struct grey_entry *e)
{
	return spamdb_print(fp, e);
}

static int found_cb(void *ctx, const struct grey_entry *e)
{
	(void)ctx;
	(void)e;
	return 0;
}

/* The file's spamtrap address as a SPAMTRAP line, unless the store has it too. */
static int print_file_trap(struct grey *g, const char *address, FILE *fp)
{
	struct grey_entry e = { .kind = GREY_KIND_SPAMTRAP, .address = address, .pcount = -2 };
	int ret = grey_spamtrap_get(g, address, found_cb, NULL);

	if (ret != -ENOENT)
		return ret;
	return spamdb_print(fp, &e);
}

int spamdb_list(struct grey *g, const struct trap_set *file_traps, FILE *fp)
{
	int ret = grey_foreach(g, print_cb, fp);

	for (size_t i = 0; !ret && file_traps && i < trap_set_count(file_traps); i++)
		ret = print_file_trap(g, trap_set_entry(file_traps, i), fp);
	return ret;
}

/* Whether key names an address of the spamtraps files: *norm gets it normalised. */
static bool in_file_traps(const struct trap_set *file_traps, const char *key,
			  char norm[TRAP_ADDRESS_MAX + 2])
{
	return file_traps && trap_normalize(key, norm, TRAP_ADDRESS_MAX + 2) >= 0 &&
	       trap_set_contains(file_traps, norm);
}

int spamdb_parse(int argc, char *const argv[], struct spamdb_command *cmd)
{
	int i;

	memset(cmd, 0, sizeof(*cmd));
	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		for (const char *f = argv[i] + 1; *f; f++) {
			switch (*f) {
			case 'a':
				cmd->action = SPAMDB_ADD;
				break;
			case 'd':
				cmd->action = SPAMDB_DELETE;
				break;
			case 'G':
				cmd->type = SPAMDB_GREY;
				break;
			case 't':
				cmd->type = SPAMDB_TRAPPED;
				break;
			case 'T':
				cmd->type = SPAMDB_SPAMTRAP;
				break;
			default:
				return -EINVAL;
			}
		}
	}
	if (cmd->action == SPAMDB_LIST && cmd->type != SPAMDB_WHITE)
		return -EINVAL;
	cmd->keys = argv + i;
	cmd->nkeys = argc - i;
	return 0;
}

/*
 * A SPAMTRAP key as the listing prints it: escapes are undone, so a line
 * pasted back names its entry. A key that is no valid escaped text (or
 * too long for an address) is taken as it is.
 */
static const char *spamtrap_key(const char *key, char buf[TRAP_ADDRESS_MAX + 2])
{
	return escape_unvis(buf, TRAP_ADDRESS_MAX + 2, key) < 0 ? key : buf;
}

/* spamdb -a KEY; returns 0, 1 (failed) or SPAMDB_STATUS_FATAL. */
static int add_key(struct grey *g, int64_t now, const struct grey_params *p, enum spamdb_type type,
		   const char *key, FILE *err)
{
	char address[TRAP_ADDRESS_MAX + 2];
	struct addr_prefix a;
	int ret;

	if (type == SPAMDB_SPAMTRAP) {
		if (!strchr(key, '@')) {
			fprintf(err, "not an email address: %s\n", key);
			return SPAMDB_STATUS_FATAL;
		}
		ret = grey_spamtrap_add(g, spamtrap_key(key, address));
	} else if (addr_parse(key, &a) < 0) {
		fprintf(err, "invalid ip address %s\n", key);
		return 1;
	} else if (type == SPAMDB_TRAPPED) {
		ret = grey_trapped_add(g, now, p, &a);
	} else {
		ret = grey_white_add(g, now, p, &a);
	}
	if (ret < 0) {
		fprintf(err, "cannot add %s: %s\n", key, strerror(-ret));
		return 1;
	}
	return 0;
}

/* spamdb -d [-G] KEY: the entry the key names, whatever its kind. */
static int delete_key(struct grey *g, const struct trap_set *file_traps, enum spamdb_type type,
		      const char *key, FILE *err)
{
	char address[TRAP_ADDRESS_MAX + 2], norm[TRAP_ADDRESS_MAX + 2];
	struct addr_prefix a;
	bool is_addr = addr_parse(key, &a) == 0;
	int ret;

	if (type == SPAMDB_GREY)
		ret = is_addr && addr_is_host(&a) ? grey_tuples_delete(g, &a) : -ENOENT;
	else if (!is_addr)
		ret = grey_spamtrap_delete(g, spamtrap_key(key, address));
	else if ((ret = grey_white_delete(g, &a)) == -ENOENT)
		ret = grey_trapped_delete(g, &a);
	/* Deleted from the store or not, a file's address stays a spamtrap: say so. */
	if (!is_addr && type != SPAMDB_GREY &&
	    in_file_traps(file_traps, spamtrap_key(key, address), norm)) {
		fprintf(err, "%s: in a spamtraps file, not deleted: remove it from the file and"
			" reload\n", key);
		return 1;
	}
	if (ret == -ENOENT || ret == -EINVAL) {
		fprintf(err, "no entry for %s\n", key);
		return 1;
	}
	if (ret < 0) {
		fprintf(err, "cannot delete %s: %s\n", key, strerror(-ret));
		return 1;
	}
	return 0;
}

/* spamdb KEY: print the entry a key names; 1 if there is none. */
static int show_key(struct grey *g, const struct trap_set *file_traps, const char *key, FILE *out)
{
	char address[TRAP_ADDRESS_MAX + 2], norm[TRAP_ADDRESS_MAX + 2];
	struct addr_prefix a;
	int ret;

	if (addr_parse(key, &a) == 0)
		return grey_get(g, &a, print_cb, out) < 0;
	ret = grey_spamtrap_get(g, spamtrap_key(key, address), print_cb, out);
	if (ret == -ENOENT && in_file_traps(file_traps, spamtrap_key(key, address), norm))
		ret = print_file_trap(g, norm, out);
	return ret < 0;
}

int spamdb_run(struct grey *g, const struct trap_set *file_traps, int64_t now,
	       const struct grey_params *p, const struct spamdb_command *cmd, FILE *out,
	       FILE *err)
{
	int status = 0, counted = 0;

	if (cmd->action == SPAMDB_LIST) {
		if (!cmd->nkeys)
			return spamdb_list(g, file_traps, out) < 0;
		for (int i = 0; i < cmd->nkeys; i++)
			status += show_key(g, file_traps, cmd->keys[i], out);
		return status;
	}
	if (cmd->action == SPAMDB_ADD && cmd->type == SPAMDB_GREY) {
		fprintf(err, "cannot add GREY entries\n");
		return SPAMDB_STATUS_USAGE;
	}
	for (int i = 0; i < cmd->nkeys; i++) {
		int ret;

		/* spamdb skips empty keys. */
		if (!cmd->keys[i][0])
			continue;
		counted++;
		if (cmd->action == SPAMDB_ADD)
			ret = add_key(g, now, p, cmd->type, cmd->keys[i], err);
		else
			ret = delete_key(g, file_traps, cmd->type, cmd->keys[i], err);
		if (ret == SPAMDB_STATUS_FATAL)
			return ret;
		status += ret;
	}
	if (!counted) {
		fprintf(err, "no addresses specified\n");
		return SPAMDB_STATUS_USAGE;
	}
	return status;
}
