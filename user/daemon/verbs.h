/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Every greywallctl command, once. greywallctl's usage and `help`, the
 * daemon's dispatch (commands.c), who may run what (commands_access.c) and
 * the synopsis greywallctl(8) must show (tests/unit/test_commands.c) all
 * come from GREYWALL_VERBS. greywallctl links verbs.c only: the handlers
 * and read-only predicates are named here but used by the daemon alone.
 */
#ifndef __GREYWALL_VERBS_H
#define __GREYWALL_VERBS_H

#include <stdbool.h>
#include <stdio.h>

/*
 * X(id, words, arguments, read_only, only_reads, handler, help):
 *   words       the words that name the command; NAME stands for any one
 *   arguments   the rest of its synopsis: WORD required, [WORD] optional,
 *               WORD... or [... ...] any number more
 *   read_only   whether members of the control group may run it
 *   only_reads  NULL, or a predicate that narrows read_only by the
 *               arguments (spamdb lists, but writes with -a or -d)
 *   handler     the daemon's: RUN(fn), or ON_TABLE(fn) for "table NAME
 *               ...", which gets the table NAME names (a const table
 *               only for the read-only commands)
 *   help        one line for `greywallctl help`
 * The order is the order of the usage text and of the man page.
 */
#define GREYWALL_VERBS(X)                                                                     \
	X(TABLES, "tables", "", true, NULL, RUN(cmd_tables),                                   \
	  "list the tables with their sizes, flags and timeouts")                              \
	X(TABLE_ADD, "table NAME add", "ADDRESS...", false, NULL, ON_TABLE(cmd_table_add),     \
	  "add addresses to a table")                                                           \
	X(TABLE_ADD_NETWORK, "table NAME add --network", "ADDRESS [--for DURATION]", false,    \
	  NULL, ON_TABLE(commands_table_add_network),                                          \
	  "add the network the location database places an address in")                       \
	X(TABLE_DELETE, "table NAME delete", "ADDRESS...", false, NULL,                        \
	  ON_TABLE(cmd_table_delete), "remove addresses from a table")                         \
	X(TABLE_LOAD, "table NAME load", "-f FILE", false, NULL, ON_TABLE(cmd_table_load),     \
	  "add every entry of a file to a table")                                               \
	X(TABLE_REPLACE, "table NAME replace", "-f FILE", false, NULL,                         \
	  ON_TABLE(cmd_table_replace), "make a table hold exactly the entries of a file")      \
	X(TABLE_FLUSH, "table NAME flush", "", false, NULL, ON_TABLE(cmd_table_flush),         \
	  "remove every entry of a table")                                                      \
	X(TABLE_SHOW, "table NAME show", "[-v]", true, NULL, ON_TABLE(cmd_table_show),         \
	  "list a table's entries (-v: when cleared, counters)")                               \
	X(TABLE_TEST, "table NAME test", "ADDRESS...", true, NULL, ON_TABLE(cmd_table_test),   \
	  "exit 0 when a table holds every address, 2 when not")                               \
	X(TABLE_ZERO, "table NAME zero", "[ADDRESS...]", false, NULL, ON_TABLE(cmd_table_zero), \
	  "zero the counters of the addresses, or of every entry")                             \
	X(TABLE_EXPIRE, "table NAME expire", "SECONDS", false, NULL,                           \
	  ON_TABLE(cmd_table_expire), "remove the entries not zeroed for longer than SECONDS") \
	X(TABLE_EXCHANGE, "table NAME exchange", "", false, NULL,                              \
	  ON_TABLE(commands_table_exchange), "read a table's exchange peers now and merge")    \
	X(WHY, "why", "ADDRESS", true, NULL, RUN(cmd_why),                                     \
	  "the tables that hold an address, with evidence and history")                        \
	X(RULES, "rules", "", true, NULL, RUN(cmd_rules), "the rules as written, with counters") \
	X(QUEUE_SHOW, "queue show", "[-v]", true, NULL, RUN(cmd_queue_show),                   \
	  "the queues (-v: counters and measured rates)")                                      \
	X(STATS, "stats", "", true, NULL, RUN(cmd_stats), "the data path's counters")          \
	X(STATUS, "status", "", true, NULL, RUN(cmd_status),                                   \
	  "the daemon's state: interfaces, tables, store")                                     \
	X(DUMP, "dump", "", false, NULL, RUN(cmd_dump), "write every table's dump now")        \
	X(RELOAD, "reload", "", false, NULL, RUN(cmd_reload), "reload the configuration")      \
	X(DETACH, "detach", "", false, NULL, RUN(cmd_detach),                                  \
	  "remove the programs, maps and queues; greywalld exits")                             \
	X(SPAMDB, "spamdb", "[-adGTt] [keys ...]", true, commands_spamdb_only_lists,           \
	  RUN(commands_spamdb), "the greylist, as spamdb(8) lists and changes it")             \
	X(TRAPS_CANDIDATES, "traps candidates", "", true, NULL, RUN(commands_traps_candidates), \
	  "recipients greylisted mail was sent to that could be spamtraps")                    \
	X(TRAPS_ADD, "traps add", "ADDRESS...", false, NULL, RUN(commands_traps_add),          \
	  "make addresses spamtraps")                                                           \
	X(CALLBACKS, "callbacks", "", true, NULL, RUN(commands_callbacks),                     \
	  "the SMTP callback probes the tarpit saw")                                           \
	X(WATCH_SHOW, "watch show", "[-v]", true, NULL, RUN(commands_watch_show),              \
	  "the log watchers: files, counts (-v: sources counting)")                            \
	X(WATCH_CANDIDATES, "watch candidates", "", true, NULL,                                \
	  RUN(commands_watch_candidates),                                                      \
	  "sources below the threshold today, login names that could be traps")               \
	X(WATCH_ADD_TRAPS, "watch add-traps", "NAME...", false, NULL,                          \
	  RUN(commands_watch_add_traps), "make login names traps")                             \
	X(SYNC_SHOW, "sync show", "", true, NULL, RUN(commands_sync_show),                     \
	  "spamd sync: peers, last heard, datagrams sent, received and rejected")             \
	X(CROWDSEC_SHOW, "crowdsec show", "", true, NULL, RUN(commands_crowdsec_show),         \
	  "CrowdSec: connected, last pull, decisions held, pushes, errors")                   \
	X(CROWDSEC_PULL, "crowdsec pull", "", false, NULL, RUN(commands_crowdsec_pull),        \
	  "pull CrowdSec's decisions now")                                                     \
	X(POLICY_SHOW, "policy show", "", true, NULL, RUN(commands_policy_show),               \
	  "the Postfix policy service: sockets, child, requests, answers, errors")            \
	X(HELP, "help", "", true, NULL, RUN(cmd_help), "this list")

#define VERB_ID(id, words, args, read_only, only_reads, handler, help) VERB_##id,
enum verb_id { GREYWALL_VERBS(VERB_ID) VERB_COUNT };
#undef VERB_ID

struct verb {
	const char *words;
	const char *args;
	bool read_only;
	const char *help;
};

extern const struct verb verbs[VERB_COUNT];

/*
 * The command argv names (its leading words; of two that fit, the one of
 * more words: "table T add --network"), or -1 when none.
 */
int verb_find(int argc, char *const argv[]);
/* How many words name the command ("table NAME add": 3). */
int verb_nwords(enum verb_id id);
/* Do nargs arguments after the words fit its synopsis? */
bool verb_args_fit(enum verb_id id, int nargs);
/* "table NAME add ADDRESS...": the words and the arguments. */
void verb_synopsis(enum verb_id id, char *buf, size_t len);

/* "usage: greywallctl SYNOPSIS" of one command. */
void verb_print_usage(FILE *out, enum verb_id id);
/*
 * The same for every command whose first word is name, one line each;
 * false when there is none.
 */
bool verbs_print_usage_named(FILE *out, const char *name);
/* Every command, one line each, and with_help its help beside it. */
void verbs_print_list(FILE *out, bool with_help);

#endif /* __GREYWALL_VERBS_H */
