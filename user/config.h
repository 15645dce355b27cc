/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * greywall.conf: a subset of pf.conf(5) plus greywall's own settings
 * (SPEC section 2). The parser reads the file one line at a time (after
 * joining "\" continuations and expanding $macros) into struct config and
 * compiles the rules into struct gw_rule for the data path.
 */
#ifndef __GREYWALL_CONFIG_H
#define __GREYWALL_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "greywall.h"

#define CONFIG_TABLE_NAME_MAX 32	/* PF_TABLE_NAME_SIZE */
#define CONFIG_MAX_INTERFACES 16
#define CONFIG_DEFAULT_PATH "/etc/greywall/greywall.conf"
#define CONFIG_DEFAULT_SOCKET "/run/greywall/control.sock"

/* Table declaration options. */
enum config_table_flag {
	CONFIG_TABLE_PERSIST = 1 << 0,
	CONFIG_TABLE_CONST = 1 << 1,
	CONFIG_TABLE_COUNTERS = 1 << 2,
	CONFIG_TABLE_ANONYMOUS = 1 << 3,	/* made from an address in a rule */
	CONFIG_TABLE_DECLARED = 1 << 4,		/* has a `table <name>` line */
};

struct config_table {
	char name[CONFIG_TABLE_NAME_MAX];	/* without the <>; "__anonN" */
	unsigned int flags;			/* enum config_table_flag */
	uint32_t timeout;			/* seconds; 0 = entries never expire */
	char **files;				/* `file "path"`, in order */
	size_t nfiles;
	struct addr_prefix *entries;		/* inline `{ ... }` entries */
	size_t nentries;
	int line;				/* where declared or first used */
};

struct config_queue {
	char name[32];
	uint64_t bandwidth;	/* bit/s */
	uint64_t min;		/* bit/s, 0 if not given */
	uint64_t max;		/* bit/s, 0 if not given */
	uint32_t qlimit;	/* packets; 0 if not given */
	int line;
};

/*
 * One compiled rule. A PF rule with a port list expands into several
 * config_rules that share `number` and `text`, as pfctl -sr shows.
 */
struct config_rule {
	struct gw_rule rule;		/* ifindex is 0 here; the daemon resolves ifname */
	char ifname[IF_NAMESIZE];	/* `on IF`; empty for any/egress */
	int number;			/* 1-based rule number as written */
	char *text;			/* the rule as written, whitespace folded */
	int line;
};

struct config {
	char interfaces[CONFIG_MAX_INTERFACES][IF_NAMESIZE];
	size_t ninterfaces;
	char *state_dir;		/* default "/var/lib/greywall" */
	char *bpf_dir;			/* default "/sys/fs/bpf/greywall" */
	char *control_socket;		/* default "/run/greywall/control.sock" */
	char *dump_dir;			/* default "/var/lib/greywall/pub" */
	char *contact;			/* default NULL: no contact line */
	uint32_t dump_interval;		/* seconds, default 3600 */
	uint32_t limit_table_hosts;	/* per table, default 1000000 */
	uint32_t limit_table_prefixes;	/* per table, default 200000 */

	/* The index of a table is its bit in gw_entry.tables. */
	struct config_table *tables;
	size_t ntables;
	struct config_rule *rules;
	size_t nrules;
	struct config_queue *queues;
	size_t nqueues;

	/* "file:line:col: warning: ..." lines, e.g. for pflow. */
	char **warnings;
	size_t nwarnings;
	char *path;
};

/*
 * Parse a whole file or string. On error returns -EINVAL (or -errno for
 * I/O), leaves *cfg freed and writes one message to err:
 *   "greywall.conf:12:5: unknown keyword \"blok\""
 * Every message names the file, line, column and the offending token.
 */
int config_load_file(const char *path, struct config *cfg, char *err, size_t errlen);
int config_load_string(const char *name, const char *text, struct config *cfg, char *err,
		       size_t errlen);
void config_free(struct config *cfg);

/* Index of table `name` (without <>), or -1. */
int config_table_index(const struct config *cfg, const char *name);

/* "28d" -> 2419200; plain digits are seconds. Returns -EINVAL/-ERANGE. */
int config_parse_duration(const char *text, uint32_t *seconds);

#endif /* __GREYWALL_CONFIG_H */
