/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * greywall.conf: a subset of pf.conf(5) plus greywall's own settings
 * (greywall.conf(5)). The parser reads the file one line at a time (after
 * joining "\" continuations and expanding $macros) into struct config and
 * compiles the rules into struct gw_rule for the data path.
 */
#ifndef __GREYWALL_CONFIG_H
#define __GREYWALL_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/addr.h"
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

/* The exchange's default and bounds for `every` (greywall.conf(5)). */
#define CONFIG_EXCHANGE_EVERY_DEFAULT (30 * 60)
#define CONFIG_EXCHANGE_EVERY_MIN 60
#define CONFIG_EXCHANGE_EVERY_MAX (7 * 86400)

/* One `peer "SOURCE" [every DURATION]` of a table's `exchange { }`. */
struct config_peer {
	char *source;				/* an absolute path, an http(s) URL, or "exec COMMAND" */
	uint32_t every;				/* seconds between reads */
	int line;
	int col;				/* of the source */
};

struct config_table {
	char name[CONFIG_TABLE_NAME_MAX];	/* without the <>; "__anonN" */
	unsigned int flags;			/* enum config_table_flag */
	uint32_t timeout;			/* seconds; 0 = entries never expire */
	char **files;				/* `file "path"`, in order */
	size_t nfiles;
	struct addr_prefix *entries;		/* inline `{ ... }` entries */
	size_t nentries;
	struct config_peer *peers;		/* `exchange { peer ... }`, in order */
	size_t npeers;
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

#define CONFIG_SPAMD_LISTEN_PORT 8025

/* One socket of the tarpit: `listen ADDR [port N]`. */
struct config_listen {
	struct addr_prefix addr;	/* a host */
	uint16_t port;
};

/*
 * The spamd block's `sync { ... }` (greywall.conf(5), SYNC): spamd's -y and
 * -Y. Peers are kept as written (addresses or host names, resolved when the
 * daemon starts); the key file is read then too.
 */
#define CONFIG_SYNC_KEY_PATH "/etc/greywall/spamd.key"

struct config_sync {
	struct addr_prefix listen_addr;	/* `listen ADDR`: a host; family 0 when an interface */
	char listen_ifname[IF_NAMESIZE]; /* `listen IFNAME`: its first address; empty when ADDR */
	uint16_t port;			/* UDP, default 8025 (spamd-sync) */
	char **peers;			/* `peer HOST...`, unicast */
	size_t npeers;
	char mcast_ifname[IF_NAMESIZE];	/* `multicast IFNAME`; empty: no multicast */
	struct addr_prefix mcast_group;	/* default 224.0.1.240 */
	uint8_t mcast_ttl;		/* default 1 */
	char *key_path;			/* default CONFIG_SYNC_KEY_PATH; missing file: the empty key */
	int line;			/* of the `sync` keyword */
};

/*
 * A `blacklist` or `whitelist` of the spamd block (spamd-setup's lists).
 * Sources are kept by kind, each kind in the order written; at least one
 * source is present.
 */
struct config_list {
	char *name;
	bool white;
	char *msg;		/* blacklists: the reply text, %A = client address; NULL if white */
	char **files;		/* `file "path"` */
	size_t nfiles;
	char **execs;		/* `exec "command"` */
	size_t nexecs;
	char **urls;		/* `url "u"`, fetched with config_spamd.fetch */
	size_t nurls;
	/* `policy defer`: the policy service answers DEFER, not REJECT (blacklists only). */
	bool policy_defer;
	int line;
};

/*
 * The `spamd { ... }` block (greywall.conf(5), SPAMD). Every field holds its default
 * when the block does not set it; the defaults are spamd's.
 */
/* Tables a spamd block brings (declared implicitly unless the config declares them). */
#define CONFIG_TABLE_SPAMD_WHITE "spamd-white"		/* whitelisted by the greylister */
#define CONFIG_TABLE_SPAMD_GREYTRAP "spamd-greytrap"	/* trapped sources */
#define CONFIG_TABLE_NOSPAMD "nospamd"			/* never tarpitted (operator's list) */

struct config_spamd {
	struct config_listen *listen;	/* default 127.0.0.1 and ::1, port 8025 */
	size_t nlisten;
	uint16_t smtp_port;		/* default 25 */
	/*
	 * `tarpit no`: no listeners, no SMTP steering, no tarpit child (the
	 * MTA keeps port 25, the policy service alone greylists); default yes.
	 */
	bool tarpit;
	uint16_t black_code;		/* 450 or 550, default 450 */
	char *hostname;			/* NULL: the system's host name */
	char *banner;			/* default "greywall IP-based SPAM blocker" */
	uint32_t passtime;		/* seconds, default 25m */
	uint32_t greyexp;		/* default 4h */
	uint32_t whiteexp;		/* default 864h */
	uint32_t trapexp;		/* default 24h */
	uint32_t scan_interval;		/* default 60s */
	uint32_t stutter;		/* default 1s */
	uint32_t greystutter;		/* default 10s */
	uint32_t idle_timeout;		/* default 400s */
	uint32_t maxcon;		/* default 800 */
	uint32_t maxblack;		/* default maxcon - 100 (0 if maxcon <= 100) */
	uint32_t maxrcpt;		/* RCPTs one session may give, default 100; then 452 */
	uint32_t maxtuples;		/* live GREY tuples one source may have, default 200 */
	uint8_t white_prefix4;		/* whitelist per /N, default 32: per address */
	uint8_t white_prefix6;		/* default 128 */
	struct addr_prefix lowprio_mx;	/* a host; family 0 when not set */
	char *fetch;			/* ends with "-- %s", for the URL; NULL: none */
	char *mta_user;			/* whose outbound SMTP whitelists (spamlogd); default "postfix" */
	uint64_t list_max_bytes;	/* per list source, after gunzip; default 64M */
	uint32_t list_max_entries;	/* per list, entries and networks; default 1000000 */
	char **spamtraps;		/* `spamtraps file "path"` */
	size_t nspamtraps;
	char **alloweddomains;		/* `alloweddomains file "path"` */
	size_t nalloweddomains;
	char **valid_recipients;	/* `valid-recipients file "path"` */
	size_t nvalid_recipients;
	/* In the order written: a whitelist subtracts from the blacklists before it. */
	struct config_list *lists;
	size_t nlists;
	struct config_sync *sync;	/* NULL without a sync block */
	int line;			/* of the `spamd` keyword */
};

/*
 * The `policy { ... }` block (greywall.conf(5), POLICY): Postfix's SMTPD
 * policy delegation protocol served on the spamd block's greylist.
 */
#define CONFIG_POLICY_PORT 10023	/* postgrey's */
#define CONFIG_POLICY_MODE 0660		/* a unix socket's, without `mode` */
#define CONFIG_POLICY_DEFER_MESSAGE "Greylisted, see http://postgrey.schweikert.ch/help/%r.html"

/* `listen unix "path" [mode M] [group G]` or `listen ADDR [port N]`. */
struct config_policy_listen {
	char *path;			/* unix: absolute; NULL for a TCP socket */
	mode_t mode;			/* unix: the socket's permissions */
	char *group;			/* unix: its group; NULL: root's */
	gid_t gid;			/* group's, looked up when parsed */
	struct addr_prefix addr;	/* TCP: a host */
	uint16_t port;
	int line;
};

struct config_policy {
	struct config_policy_listen *listen;
	size_t nlisten;
	char *defer_message;		/* %r: recipient's domain, %s: seconds left */
	bool x_greylist_header;		/* PREPEND X-Greylist on a tuple's pass; default yes */
	int line, col;			/* of the `policy` keyword */
};

/*
 * A `watch NAME { ... }` block (greywall.conf(5), WATCH): a log watcher.
 * Tables are indexes into config.tables, -1 when not given.
 */
#define CONFIG_WATCH_NAME_MAX 32

struct config_watch {
	char name[CONFIG_WATCH_NAME_MAX];	/* letters, digits, "_" and "-" */
	char **files;			/* `file "path"`, in order */
	size_t nfiles;
	bool journal;			/* `journal [unit "u"]... [directory "d"]` */
	char **units;			/* _SYSTEMD_UNIT values; none: every entry */
	size_t nunits;
	char *journal_dir;		/* NULL: the system's journal */
	int pattern;			/* enum watch_builtin (watch/pattern.h) */
	char *regex;			/* `regex "..."` (WATCH_PATTERN_REGEX), checked when parsed */
	int trap_table;			/* `on-trap <t>` */
	uint32_t threshold;		/* `on-failures N within T <t>`; 0: none */
	uint32_t window;		/* seconds */
	int fail_table;
	int ignore_table;		/* `ignore <t>` */
	uint32_t max_sources;		/* `max-sources N`, default WATCH_SOURCES_DEFAULT */
	int line;
};

/*
 * The `crowdsec { }` block (greywall.conf(5), CROWDSEC): greywall as a
 * bouncer of a CrowdSec Local API (pull: its ban decisions into `table`)
 * and as a source of its decisions (push: additions to the `push` tables
 * as alerts). Either half may be given alone. Tables are indexes into
 * config.tables, -1 when not given.
 */
#define CONFIG_CROWDSEC_EVERY_DEFAULT 10
#define CONFIG_CROWDSEC_TIMEOUT_DEFAULT 30
#define CONFIG_CROWDSEC_MAX_BYTES_DEFAULT (64ULL << 20)
#define CONFIG_CROWDSEC_PUSH_QUEUE_DEFAULT 100000
#define CONFIG_CROWDSEC_PUSH_DURATION_DEFAULT 86400

struct config_crowdsec {
	char *url;			/* http:// or https://, ends with "/" */
	char *ca_file;			/* `ca-file "path"`; NULL: the system's CAs */
	char *bouncer_key_file;		/* `bouncer-key file "path"`; NULL: no pull */
	int table;			/* `table <t>`: where decisions go */
	uint32_t every;			/* seconds between pulls */
	uint32_t timeout;		/* seconds a request may take */
	uint64_t max_bytes;		/* the largest answer taken */
	char *machine;			/* `machine "id" password file "path"`; NULL: no push */
	char *password_file;
	uint64_t push_tables;		/* `push <t>...`: bit i = table i */
	uint32_t push_queue;		/* alerts waiting at most */
	uint32_t push_duration;		/* a decision's duration for a table without timeout */
	int line;
};

/* `set fetch-timeout` and `set fetch-max-bytes`: defaults and bounds. */
#define CONFIG_FETCH_TIMEOUT_DEFAULT 120
#define CONFIG_FETCH_TIMEOUT_MAX 3600
#define CONFIG_FETCH_MAX_BYTES (512ULL << 20)	/* the exchange's bound on a peer's file */

/* `set metrics-listen`'s port when none is given (Prometheus' registry of default ports). */
#define CONFIG_METRICS_PORT 9108

struct config {
	char interfaces[CONFIG_MAX_INTERFACES][IF_NAMESIZE];
	size_t ninterfaces;
	char *state_dir;		/* default "/var/lib/greywall" */
	char *bpf_dir;			/* default "/sys/fs/bpf/greywall" */
	char *control_socket;		/* default "/run/greywall/control.sock" */
	char *control_group;		/* read-only verbs for its members; NULL: none */
	gid_t control_gid;		/* control_group's, looked up when parsed */
	char *dump_dir;			/* default "/var/lib/greywall/pub" */
	char *contact;			/* default NULL: no contact line */
	uint32_t dump_interval;		/* seconds, default 3600 */
	char *location_db;		/* `set location-db`: NULL, no places in the dumps */
	bool dump_gzip;			/* `set dump-gzip yes`: a .gz copy of every dump file */
	/* `set metrics-listen ADDR [port N]`: the Prometheus endpoint (metrics/metrics.h). */
	bool metrics;			/* false: no endpoint */
	struct addr_prefix metrics_addr; /* a host address, IPv4 or IPv6 */
	uint16_t metrics_port;		/* default CONFIG_METRICS_PORT */
	uint32_t limit_table_hosts;	/* per table, default 1000000 */
	uint32_t limit_table_prefixes;	/* per table, default 200000 */
	/*
	 * How URL peers are fetched: `set fetch` (NULL: the spamd block's
	 * fetch; a URL peer needs one of them), `set fetch-timeout` and
	 * `set fetch-max-bytes`.
	 */
	char *fetch;
	uint32_t fetch_timeout;		/* seconds, default CONFIG_FETCH_TIMEOUT_DEFAULT */
	uint64_t fetch_max_bytes;	/* default and most CONFIG_FETCH_MAX_BYTES */

	/* The index of a table is its bit in gw_entry.tables. */
	struct config_table *tables;
	size_t ntables;
	struct config_rule *rules;
	size_t nrules;
	struct config_queue *queues;
	size_t nqueues;
	struct config_spamd *spamd;	/* NULL without a spamd block */
	struct config_watch *watches;	/* in the order written */
	size_t nwatches;
	struct config_crowdsec *crowdsec;	/* NULL without a crowdsec block */
	struct config_policy *policy;	/* NULL without a policy block (needs a spamd block) */
	char **trap_users;		/* `trap-users file "path"`: login names that are traps */
	size_t ntrap_users;

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

typedef void (*config_keyword_fn)(const char *grammar, const char *keyword, void *ctx);

/*
 * Call fn once for each keyword the parser accepts, with the part of the
 * grammar it belongs to ("statement", "set", "table", "queue", "rule",
 * "protocol", "keep state", "spamd", "list", "policy"): what greywall.conf(5) must
 * document. A word the parser refuses with a message of its own ("out") is
 * not one.
 */
void config_keywords(config_keyword_fn fn, void *ctx);

#endif /* __GREYWALL_CONFIG_H */
