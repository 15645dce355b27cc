// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "watch/count.h"
#include "watch/pattern.h"
#include "check.h"
#include "config/config.h"

/* The field's configuration (tables, pop3 and ssh limits), as an operator writes it. */
static const char spec_example[] =
    "set interface eth0\n"
    "table <longterm> persist counters file \"/var/lib/greywall/longterm\" timeout 28d\n"
    "table <popflooders> persist counters file \"/var/lib/greywall/popflooders\"\n"
    "table <bruteforce> persist counters file \"/var/lib/greywall/bruteforce\" timeout 28d\n"
    "\n"
    "queue spamd bandwidth 1K min 0K max 1K qlimit 300\n"
    "\n"
    "block drop log (all) quick from <longterm>\n"
    "block drop log (all) quick from <bruteforce>\n"
    "pass in quick log (all) on egress proto tcp from <popflooders> to port pop3 flags S/SA "
    "keep state \\\n"
    "        (max-src-conn 1, max-src-conn-rate 1/1, overload <longterm> flush global, pflow) "
    "set queue spamd\n"
    "pass in log (all) on egress proto tcp to port pop3 flags S/SA keep state \\\n"
    "        (max-src-conn 5, max-src-conn-rate 6/3, overload <popflooders> flush global, pflow)\n"
    "pass in on egress proto tcp to port ssh keep state \\\n"
    "        (max-src-conn 10, max-src-conn-rate 15/5, overload <bruteforce> flush global)\n";

static int load(const char *text, struct config *cfg, char *err, size_t errlen)
{
	return config_load_string("t.conf", text, cfg, err, errlen);
}

static void test_spec_example(void)
{
	struct config cfg;
	char err[256] = "";
	const struct gw_rule *r;
	int ret = load(spec_example, &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "field example parses (%s)", err);
	if (ret)
		return;
	CHECK_INT(cfg.ninterfaces, 1, "one interface");
	CHECK_STR(cfg.interfaces[0], "eth0", "interface eth0");

	CHECK_INT(cfg.ntables, 3, "three tables");
	CHECK_INT(config_table_index(&cfg, "longterm"), 0, "<longterm> is bit 0");
	CHECK_INT(config_table_index(&cfg, "popflooders"), 1, "<popflooders> is bit 1");
	CHECK_INT(config_table_index(&cfg, "bruteforce"), 2, "<bruteforce> is bit 2");
	CHECK_INT(config_table_index(&cfg, "nosuch"), -1, "unknown table is -1");
	for (int i = 0; i < 3; i++)
		CHECK_INT(cfg.tables[i].flags,
			  CONFIG_TABLE_PERSIST | CONFIG_TABLE_COUNTERS | CONFIG_TABLE_DECLARED,
			  "table %s flags persist counters declared", cfg.tables[i].name);
	CHECK_INT(cfg.tables[0].timeout, 28 * 86400, "<longterm> timeout 28d");
	CHECK_INT(cfg.tables[1].timeout, 0, "<popflooders> has no timeout");
	CHECK_INT(cfg.tables[2].timeout, 28 * 86400, "<bruteforce> timeout 28d");
	CHECK_INT(cfg.tables[0].nfiles, 1, "<longterm> one file");
	CHECK_STR(cfg.tables[0].files[0], "/var/lib/greywall/longterm", "<longterm> file");
	CHECK_STR(cfg.tables[1].files[0], "/var/lib/greywall/popflooders", "<popflooders> file");
	CHECK_STR(cfg.tables[2].files[0], "/var/lib/greywall/bruteforce", "<bruteforce> file");
	CHECK_INT(cfg.tables[2].line, 4, "<bruteforce> declared on line 4");
	CHECK_INT(cfg.tables[0].nentries, 0, "no inline entries");

	CHECK_INT(cfg.nqueues, 1, "one queue");
	CHECK_STR(cfg.queues[0].name, "spamd", "queue spamd");
	CHECK_INT(cfg.queues[0].bandwidth, 1000, "bandwidth 1K = 1000 bit/s");
	CHECK_INT(cfg.queues[0].min, 0, "min 0K");
	CHECK_INT(cfg.queues[0].max, 1000, "max 1K");
	CHECK_INT(cfg.queues[0].qlimit, 300, "qlimit 300");
	CHECK_INT(cfg.queues[0].line, 6, "queue on line 6");

	CHECK_INT(cfg.nrules, 5, "five compiled rules");
	if (cfg.nrules != 5)
		goto out;

	r = &cfg.rules[0].rule;
	CHECK_INT(cfg.rules[0].number, 1, "rule 1 number");
	CHECK_STR(cfg.rules[0].text, "block drop log (all) quick from <longterm>", "rule 1 text");
	CHECK_INT(r->action, GW_ACT_BLOCK_DROP, "rule 1 block drop");
	CHECK_INT(r->flags, GW_RULE_LOG | GW_RULE_QUICK, "rule 1 log quick");
	CHECK_INT(r->src_tables, 1ULL << 0, "rule 1 from <longterm>");
	CHECK_INT(r->dst_tables, 0, "rule 1 to any");
	CHECK_INT(r->proto_mask, 0, "rule 1 any proto");
	CHECK_INT(r->dport_lo, 0, "rule 1 dport_lo any");
	CHECK_INT(r->dport_hi, 65535, "rule 1 dport_hi any");
	CHECK_INT(r->overload_table, GW_NO_TABLE, "rule 1 no overload");
	CHECK_INT(r->queue, 0, "rule 1 no queue");
	CHECK_INT(r->line, 8, "rule 1 line 8");
	CHECK_INT(r->ifindex, 0, "rule 1 ifindex 0");
	CHECK_STR(cfg.rules[0].ifname, "", "rule 1 any interface");

	r = &cfg.rules[1].rule;
	CHECK_INT(r->src_tables, 1ULL << 2, "rule 2 from <bruteforce>");
	CHECK_INT(cfg.rules[1].line, 9, "rule 2 line 9");

	r = &cfg.rules[2].rule;
	CHECK_INT(cfg.rules[2].number, 3, "rule 3 number");
	CHECK_STR(cfg.rules[2].text,
		  "pass in quick log (all) on egress proto tcp from <popflooders> to port pop3 "
		  "flags S/SA keep state (max-src-conn 1, max-src-conn-rate 1/1, overload "
		  "<longterm> flush global, pflow) set queue spamd",
		  "rule 3 text folded");
	CHECK_INT(r->action, GW_ACT_PASS, "rule 3 pass");
	CHECK_INT(r->flags, GW_RULE_QUICK | GW_RULE_LOG | GW_RULE_FLAGS_S_SA | GW_RULE_KEEP_STATE,
		  "rule 3 quick log flags S/SA keep state");
	CHECK_STR(cfg.rules[2].ifname, "", "rule 3 on egress = any configured interface");
	CHECK_INT(r->proto_mask, GW_PROTO_TCP, "rule 3 proto tcp");
	CHECK_INT(r->src_tables, 1ULL << 1, "rule 3 from <popflooders>");
	CHECK_INT(r->dport_lo, 110, "rule 3 port pop3 = 110 (lo)");
	CHECK_INT(r->dport_hi, 110, "rule 3 port pop3 = 110 (hi)");
	CHECK_INT(r->max_src_conn, 1, "rule 3 max-src-conn 1");
	CHECK_INT(r->max_src_conn_rate, 1, "rule 3 rate 1/");
	CHECK_INT(r->max_src_conn_rate_seconds, 1, "rule 3 rate /1");
	CHECK_INT(r->overload_table, 0, "rule 3 overload <longterm>");
	CHECK_INT(r->flush, 2, "rule 3 flush global");
	CHECK_INT(r->queue, 1, "rule 3 set queue spamd = queue 1");
	CHECK_INT(r->line, 10, "rule 3 line 10");

	r = &cfg.rules[3].rule;
	CHECK_INT(r->flags, GW_RULE_LOG | GW_RULE_FLAGS_S_SA | GW_RULE_KEEP_STATE,
		  "rule 4 log flags keep state, not quick");
	CHECK_INT(r->src_tables, 0, "rule 4 from any");
	CHECK_INT(r->max_src_conn, 5, "rule 4 max-src-conn 5");
	CHECK_INT(r->max_src_conn_rate, 6, "rule 4 rate 6/");
	CHECK_INT(r->max_src_conn_rate_seconds, 3, "rule 4 rate /3");
	CHECK_INT(r->overload_table, 1, "rule 4 overload <popflooders>");
	CHECK_INT(r->queue, 0, "rule 4 no queue");
	CHECK_INT(r->line, 12, "rule 4 line 12");

	r = &cfg.rules[4].rule;
	CHECK_INT(r->flags, GW_RULE_KEEP_STATE, "rule 5 keep state only");
	CHECK_INT(r->dport_lo, 22, "rule 5 port ssh = 22");
	CHECK_INT(r->dport_hi, 22, "rule 5 port ssh hi");
	CHECK_INT(r->max_src_conn, 10, "rule 5 max-src-conn 10");
	CHECK_INT(r->max_src_conn_rate, 15, "rule 5 rate 15/");
	CHECK_INT(r->max_src_conn_rate_seconds, 5, "rule 5 rate /5");
	CHECK_INT(r->overload_table, 2, "rule 5 overload <bruteforce>");
	CHECK_INT(r->flush, 2, "rule 5 flush global");

	CHECK_INT(cfg.nwarnings, 1, "exactly one pflow warning");
	if (cfg.nwarnings)
		CHECK_STR(cfg.warnings[0],
			  "t.conf:11:83: warning: \"pflow\" is not implemented, ignored",
			  "pflow warning text");
out:
	config_free(&cfg);
	CHECK(cfg.tables == NULL && cfg.rules == NULL && cfg.ntables == 0, "config_free clears");
}

static void test_defaults_and_set(void)
{
	struct config cfg;
	char err[256] = "";
	int ret = load("# nothing but a comment\n\n", &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "empty config parses");
	if (!ret) {
		CHECK_STR(cfg.state_dir, "/var/lib/greywall", "default state-dir");
		CHECK_STR(cfg.bpf_dir, "/sys/fs/bpf/greywall", "default bpf-dir");
		CHECK_STR(cfg.control_socket, "/run/greywall/control.sock",
			  "default control-socket");
		CHECK_STR(cfg.dump_dir, "/var/lib/greywall/pub", "default dump-dir");
		CHECK(cfg.contact == NULL, "default: no contact");
		CHECK(cfg.control_group == NULL, "default: no control-group, root alone");
		CHECK_INT(cfg.dump_interval, 3600, "default dump-interval 1h");
		CHECK_INT(cfg.limit_table_hosts, 1000000, "default table-entries");
		CHECK_INT(cfg.limit_table_prefixes, 200000, "default table-prefixes");
		CHECK_INT(cfg.ninterfaces, 0, "no interfaces");
		CHECK(!cfg.metrics, "default: no metrics endpoint");
		CHECK_INT(cfg.nrules + cfg.ntables + cfg.nqueues + cfg.nwarnings, 0,
			  "nothing else");
		CHECK_STR(cfg.path, "t.conf", "path recorded");
		config_free(&cfg);
	}

	ret = load("set interface { eth0, eth1 veth2 }\n"
		   "set state-dir \"/srv/gw\"\n"
		   "set bpf-dir \"/sys/fs/bpf/gw2\"\n"
		   "set control-socket \"/run/gw.sock\"\n"
		   "set control-group root\n"
		   "set dump-dir \"/srv/pub\"\n"
		   "set dump-interval 15m\n"
		   "set contact \"postmaster@example.org\"\n"
		   "set limit table-entries 5000\n"
		   "set limit { table-prefixes 300, }\n"
		   "set metrics-listen ::1\n",
		   &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "set options parse (%s)", err);
	if (ret)
		return;
	CHECK_INT(cfg.ninterfaces, 3, "three interfaces");
	CHECK_STR(cfg.interfaces[0], "eth0", "interface 0");
	CHECK_STR(cfg.interfaces[1], "eth1", "interface 1");
	CHECK_STR(cfg.interfaces[2], "veth2", "interface 2");
	CHECK_STR(cfg.state_dir, "/srv/gw", "state-dir");
	CHECK_STR(cfg.bpf_dir, "/sys/fs/bpf/gw2", "bpf-dir");
	CHECK_STR(cfg.control_socket, "/run/gw.sock", "control-socket");
	CHECK_STR(cfg.control_group, "root", "control-group");
	CHECK_INT(cfg.control_gid, 0, "control-group resolved to its gid");
	CHECK_STR(cfg.dump_dir, "/srv/pub", "dump-dir");
	CHECK_INT(cfg.dump_interval, 900, "dump-interval 15m");
	CHECK_STR(cfg.contact, "postmaster@example.org", "contact");
	CHECK_INT(cfg.limit_table_hosts, 5000, "limit table-entries");
	CHECK_INT(cfg.limit_table_prefixes, 300, "limit table-prefixes (list form)");
	CHECK(cfg.metrics && cfg.metrics_addr.family == AF_INET6 && cfg.metrics_addr.plen == 128,
	      "metrics-listen on an IPv6 address");
	CHECK_INT(cfg.metrics_port, 9108, "metrics-listen's default port");
	config_free(&cfg);
	ret = load("set metrics-listen 127.0.0.1 port 9200\n", &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "metrics-listen with a port (%s)", err);
	if (!ret) {
		CHECK(cfg.metrics && cfg.metrics_addr.family == AF_INET, "metrics-listen on IPv4");
		CHECK_INT(cfg.metrics_port, 9200, "metrics-listen's port");
		CHECK(!cfg.location_db && !cfg.dump_gzip, "default: no location-db, no dump-gzip");
		config_free(&cfg);
	}
	ret = load("set location-db \"/usr/share/libloc-location/location.db\"\n"
		   "set dump-gzip yes\n",
		   &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "location-db and dump-gzip (%s)", err);
	if (!ret) {
		CHECK_STR(cfg.location_db, "/usr/share/libloc-location/location.db", "location-db");
		CHECK(cfg.dump_gzip, "dump-gzip yes");
		config_free(&cfg);
	}
	ret = load("set dump-gzip maybe\n", &cfg, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "yes or no"), "dump-gzip maybe: refused (%s)", err);
	ret = load("set location-db \"\"\n", &cfg, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "empty location-db"), "an empty location-db: refused (%s)",
	      err);
}

static void test_macros_and_continuations(void)
{
	struct config cfg;
	char err[256] = "";
	int ret = load("ext_if = \"eth1\"\n"
		       "mail=25\n"
		       "ports = \"{\" $mail 587 \"}\"\n"
		       "nets = \"{ 192.0.2.0/24, 2001:db8::/32 }\"\n"
		       "set interface $ext_if\n"
		       "pass in on $ext_if proto tcp \\\n"
		       "\tfrom $nets \\   \n"
		       "  to port $ports # comment \\\n"
		       "continued comment\n"
		       "ext_if = eth2\n"
		       "block on $ext_if\n",
		       &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "macros and continuations parse (%s)", err);
	if (ret)
		return;
	CHECK_STR(cfg.interfaces[0], "eth1", "set interface $ext_if");
	CHECK_INT(cfg.nrules, 3, "port list from a macro expands into two rules, plus one");
	if (cfg.nrules == 3) {
		CHECK_STR(cfg.rules[0].ifname, "eth1", "on $ext_if");
		CHECK_STR(cfg.rules[0].text,
			  "pass in on $ext_if proto tcp from $nets to port $ports",
			  "text as written, continuations folded, comment dropped");
		CHECK_INT(cfg.rules[0].rule.dport_lo, 25, "first port 25");
		CHECK_INT(cfg.rules[1].rule.dport_lo, 587, "second port 587");
		CHECK_INT(cfg.rules[1].number, 1, "expanded rules share the number");
		CHECK_STR(cfg.rules[1].text, cfg.rules[0].text, "expanded rules share the text");
		CHECK_INT(cfg.rules[0].rule.line, 6, "rule line is where it starts");
		CHECK_INT(cfg.rules[0].rule.src_tables, 1ULL << 0, "list macro -> anonymous table");
		CHECK_INT(cfg.ntables, 1, "one anonymous table");
		CHECK_STR(cfg.tables[0].name, "__anon0", "anonymous table name");
		CHECK_INT(cfg.tables[0].flags, CONFIG_TABLE_ANONYMOUS, "anonymous flag only");
		CHECK_INT(cfg.tables[0].nentries, 2, "two inline entries");
		CHECK_STR(cfg.rules[2].ifname, "eth2", "redefined macro takes the new value");
		CHECK_INT(cfg.rules[2].number, 2, "second rule is number 2");
		CHECK_INT(cfg.rules[2].line, 11, "line count survives continued comment");
	}
	config_free(&cfg);
}

static void test_ports_and_protocols(void)
{
	struct config cfg;
	char err[256] = "";
	int ret = load("pass in proto tcp to port { smtp, 587 1024:2048 }\n"
		       "pass proto udp to port domain\n"
		       "block return inet6 proto { tcp udp icmp6 }\n"
		       "block inet proto icmp\n"
		       "pass all\n",
		       &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "ports and protocols parse (%s)", err);
	if (ret)
		return;
	CHECK_INT(cfg.nrules, 7, "three ports expand, four single rules");
	if (cfg.nrules == 7) {
		CHECK_INT(cfg.rules[0].rule.dport_lo, 25, "smtp -> 25");
		CHECK_INT(cfg.rules[1].rule.dport_lo, 587, "587");
		CHECK_INT(cfg.rules[2].rule.dport_lo, 1024, "range lo 1024");
		CHECK_INT(cfg.rules[2].rule.dport_hi, 2048, "range hi 2048");
		CHECK_INT(cfg.rules[2].number, 1, "range rule is still number 1");
		CHECK_STR(cfg.rules[2].text, "pass in proto tcp to port { smtp, 587 1024:2048 }",
			  "expanded text");
		CHECK_INT(cfg.rules[3].rule.proto_mask, GW_PROTO_UDP, "proto udp");
		CHECK_INT(cfg.rules[3].rule.dport_lo, 53, "domain/udp -> 53");
		CHECK_INT(cfg.rules[4].rule.action, GW_ACT_BLOCK_RETURN, "block return");
		CHECK_INT(cfg.rules[4].rule.flags, GW_RULE_INET6, "inet6");
		CHECK_INT(cfg.rules[4].rule.proto_mask,
			  GW_PROTO_TCP | GW_PROTO_UDP | GW_PROTO_ICMPV6, "proto list");
		CHECK_INT(cfg.rules[5].rule.action, GW_ACT_BLOCK_DROP, "plain block drops");
		CHECK_INT(cfg.rules[5].rule.flags, GW_RULE_INET, "inet");
		CHECK_INT(cfg.rules[5].rule.proto_mask, GW_PROTO_ICMP, "proto icmp");
		CHECK_INT(cfg.rules[6].rule.src_tables | cfg.rules[6].rule.dst_tables, 0,
			  "pass all");
		CHECK_INT(cfg.rules[6].number, 5, "fifth rule as written");
	}
	config_free(&cfg);
}

/* max-src-states N: PF's bound on a source's states, alone enough to track a rule's flows. */
static void test_max_src_states(void)
{
	struct config cfg;
	char err[256] = "";
	int ret = load("pass proto tcp to port pop3 keep state (max-src-states 20)\n"
		       "pass proto tcp to port 25 keep state (max-src-conn 5)\n",
		       &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "max-src-states parses (%s)", err);
	if (ret)
		return;
	CHECK_INT(cfg.rules[0].rule.max_src_states, 20, "max-src-states 20");
	CHECK(gw_rule_tracks_flows(&cfg.rules[0].rule), "max-src-states alone tracks flows");
	CHECK_INT(cfg.rules[1].rule.max_src_states, 0, "unset: 0 (the default half-open bound)");
	config_free(&cfg);
}

static void test_tables(void)
{
	struct config cfg;
	char err[256] = "";
	char big[8192];
	size_t o = 0;
	int ret = load("block from <early>\n"
		       "table <early> const { 192.0.2.1, 198.51.100.0/24\n"
		       "   2001:db8::1 } file \"/a\" file \"/b\"\n"
		       "block from !198.51.100.7 to { <early>, 203.0.113.0/24 }\n"
		       "pass from 198.51.100.7\n"
		       "pass in proto tcp to port 25 keep state (max-src-conn 3, overload <late>)\n"
		       "pass to !<early>\n",
		       &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "tables parse (%s)", err);
	if (!ret) {
		int early = config_table_index(&cfg, "early");
		int late = config_table_index(&cfg, "late");

		CHECK_INT(early, 0, "table used before declaration keeps bit 0");
		CHECK_INT(cfg.tables[0].flags, CONFIG_TABLE_CONST | CONFIG_TABLE_DECLARED,
			  "declared later: const, declared");
		CHECK_INT(cfg.tables[0].nentries, 3, "three entries over two lines");
		CHECK_INT(cfg.tables[0].nfiles, 2, "two files");
		if (cfg.tables[0].nfiles == 2)
			CHECK_STR(cfg.tables[0].files[1], "/b", "second file");
		if (cfg.tables[0].nentries == 3) {
			char buf[ADDR_STRLEN];

			addr_format(&cfg.tables[0].entries[1], buf, sizeof(buf));
			CHECK_STR(buf, "198.51.100.0/24", "entry 2");
			addr_format(&cfg.tables[0].entries[2], buf, sizeof(buf));
			CHECK_STR(buf, "2001:db8::1", "entry 3");
		}
		CHECK_INT(cfg.rules[1].rule.flags, GW_RULE_SRC_NOT, "from ! sets SRC_NOT");
		CHECK_INT(cfg.rules[1].rule.src_tables, 1ULL << 1, "from !addr -> __anon0 bit");
		CHECK_STR(cfg.tables[1].name, "__anon0", "first anonymous table");
		CHECK_INT(cfg.rules[1].rule.dst_tables, (1ULL << 0) | (1ULL << 2),
			  "to { <early>, net } -> table bit OR anonymous bit");
		CHECK_INT(cfg.tables[2].nentries, 1, "list anonymous table holds the address only");
		CHECK_INT(cfg.rules[2].rule.src_tables, 1ULL << 1,
			  "same address again shares the anonymous table");
		CHECK_INT(cfg.rules[2].rule.flags, 0, "no negation");
		CHECK_INT(late, 3, "overload <late> created implicitly");
		if (late >= 0)
			CHECK_INT(cfg.tables[late].flags, 0, "implicit table has no flags");
		CHECK_INT(cfg.rules[3].rule.overload_table, late, "overload bit");
		CHECK_INT(cfg.rules[3].rule.flush, 0, "no flush");
		CHECK_INT(cfg.rules[4].rule.flags, GW_RULE_DST_NOT, "to !<t> sets DST_NOT");
		CHECK_INT(cfg.rules[4].rule.dst_tables, 1ULL << 0, "to !<early>");
		config_free(&cfg);
	}

	/* 64 tables fit; the 65th is an error that names it. */
	for (int i = 0; i < 64; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "table <t%d>\n", i);
	ret = load(big, &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "64 tables are fine (%s)", err);
	if (!ret) {
		CHECK_INT(cfg.ntables, 64, "64 tables");
		config_free(&cfg);
	}
	snprintf(big + o, sizeof(big) - o, "block from 192.0.2.1\n");
	ret = load(big, &cfg, err, sizeof(err));
	CHECK_INT(ret, -EINVAL, "65th table (anonymous) rejected");
	CHECK_STR(err, "t.conf:65:12: too many tables (at most 64)", "65th table message");
}

static void test_queue_declared_later(void)
{
	struct config cfg;
	char err[256] = "";
	int ret = load("pass proto tcp keep state set queue slow\n"
		       "queue fast bandwidth 10M qlimit 65535\n"
		       "queue slow bandwidth 2G max 3G\n",
		       &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "queue declared after use (%s)", err);
	if (ret)
		return;
	CHECK_INT(cfg.rules[0].rule.queue, 2, "set queue slow = id 2");
	CHECK_INT(cfg.queues[0].bandwidth, 10000000, "10M");
	CHECK_INT(cfg.queues[0].qlimit, 65535, "qlimit 65535");
	CHECK_INT(cfg.queues[1].bandwidth, 2000000000ULL, "2G");
	CHECK_INT(cfg.queues[1].max, 3000000000ULL, "max 3G");
	CHECK_INT(cfg.queues[1].qlimit, 0, "no qlimit");
	config_free(&cfg);
}

static void test_durations(void)
{
	static const struct {
		const char *text;
		int ret;
		uint32_t seconds;
	} cases[] = {
	    {"0", 0, 0},
	    {"45", 0, 45},
	    {"45s", 0, 45},
	    {"25m", 0, 1500},
	    {"4h", 0, 14400},
	    {"28d", 0, 2419200},
	    {"864h", 0, 3110400},
	    {"4294967295", 0, UINT32_MAX},
	    {"4294967296", -ERANGE, 0},
	    {"49711d", -ERANGE, 0},
	    {"99999999999999999999999", -ERANGE, 0},
	    {"", -EINVAL, 0},
	    {"28x", -EINVAL, 0},
	    {"h", -EINVAL, 0},
	    {"-1", -EINVAL, 0},
	    {"1hh", -EINVAL, 0},
	    {" 1", -EINVAL, 0},
	    {"1h30m", -EINVAL, 0},
	    {"+5", -EINVAL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t s = 12345;
		int ret = config_parse_duration(cases[i].text, &s);

		CHECK_INT(ret, cases[i].ret, "duration \"%s\" returns %d", cases[i].text,
			  cases[i].ret);
		if (!cases[i].ret)
			CHECK_INT(s, cases[i].seconds, "duration \"%s\" = %u s", cases[i].text,
				  cases[i].seconds);
		else
			CHECK_INT(s, 12345, "duration \"%s\" leaves output alone", cases[i].text);
	}
}

struct bad_input {
	const char *text;
	const char *message; /* the one error message, exactly */
};

static void check_bad_inputs(const struct bad_input *cases, size_t n, const char *what)
{
	struct config cfg;
	char err[256];

	for (size_t i = 0; i < n; i++) {
		int ret;

		memset(err, 0, sizeof(err));
		memset(&cfg, 0x5a, sizeof(cfg));
		ret = load(cases[i].text, &cfg, err, sizeof(err));
		CHECK_INT(ret, -EINVAL, "%s %zu rejected", what, i + 1);
		CHECK_STR(err, cases[i].message, "%s %zu message", what, i + 1);
		CHECK(cfg.tables == NULL && cfg.rules == NULL && cfg.spamd == NULL &&
			  cfg.warnings == NULL && cfg.path == NULL,
		      "%s %zu leaves the config freed", what, i + 1);
	}
}

static void test_bad_inputs(void)
{
	static const struct bad_input cases[] = {
	    {"blok drop all\n", "t.conf:1:1: unknown keyword \"blok\""},
	    {"set metrics-listen 127.0.0.0/8\n",
	     "t.conf:1:20: metrics-listen \"127.0.0.0/8\" is a network, not an address"},
	    {"set metrics-listen ::1\nset metrics-listen ::1\n",
	     "t.conf:2:20: metrics-listen set twice"},
	    {"set metrics-listen ::1 port 0\n",
	     "t.conf:1:29: port \"0\" is too small (minimum 1)"},
	    {"set metrics-listen\n", "t.conf:1:5: missing an address after \"metrics-listen\""},
	    {"set control-group \"no such group here\"\n",
	     "t.conf:1:19: control-group \"no such group here\": no such group"},
	    {"\n\n   pass in frm any\n", "t.conf:3:12: unknown keyword \"frm\""},
	    {"table <a> persist\ntable <b> timeout 28x\n", "t.conf:2:19: invalid duration \"28x\""},
	    {"table <bf> persist\n\n\ntable <bf> counters\n",
	     "t.conf:4:1: table <bf> declared twice"},
	    {"pass on $ext_if\n", "t.conf:1:9: undefined macro \"ext_if\""},
	    {"pass out quick\n", "t.conf:1:6: \"out\" is not supported"},
	    {"pass proto tcp keep state set queue nope\n",
	     "t.conf:1:37: queue \"nope\" is not declared"},
	    {"pass proto tcp to port pop4\n", "t.conf:1:24: unknown port \"pop4\""},
	    {"pass proto tcp to port 70000\n",
	     "t.conf:1:24: port \"70000\" is too large (maximum 65535)"},
	    {"pass proto tcp to port 30:20\n", "t.conf:1:24: invalid port range \"30:20\""},
	    {"pass proto tcp flags S/SAFR\n",
	     "t.conf:1:22: flags \"S/SAFR\" are not supported (only S/SA)"},
	    {"pass flags S/SA\n", "t.conf:1:6: \"flags\" requires proto tcp"},
	    {"pass proto icmp to port 25\n", "t.conf:1:20: \"port\" requires proto tcp or udp"},
	    {"queue q bandwidth 1K qlimit 0\n",
	     "t.conf:1:29: qlimit \"0\" is too small (minimum 1)"},
	    {"queue q bandwidth 1K qlimit 65536\n",
	     "t.conf:1:29: qlimit \"65536\" is too large (maximum 65535)"},
	    {"queue q bandwidth 1X\n", "t.conf:1:19: invalid bandwidth \"1X\""},
	    {"queue q bandwidth K\n", "t.conf:1:19: invalid bandwidth \"K\""},
	    {"queue q bandwidth 0K\n", "t.conf:1:19: bandwidth \"0K\" must be greater than zero"},
	    {"queue q min 1K\n", "t.conf:1:7: queue \"q\" has no bandwidth"},
	    {"queue q bandwidth 1K\nqueue q bandwidth 2K\n",
	     "t.conf:2:1: queue \"q\" declared twice"},
	    {"pass from 198.51.100.1/24\n", "t.conf:1:11: invalid address \"198.51.100.1/24\""},
	    {"block from <a.b>\n", "t.conf:1:13: invalid table name \"a.b\""},
	    {"table <abcdefghijklmnopqrstuvwxyz0123456>\n",
	     "t.conf:1:8: table name \"abcdefghijklmnopqrstuvwxyz0123456\" is too long (at most "
	     "31 characters)"},
	    {"table <__anon0>\n", "t.conf:1:8: table name \"__anon0\" is reserved"},
	    {"pass quick quick\n", "t.conf:1:12: duplicate \"quick\""},
	    {"pass proto tcp in\n", "t.conf:1:16: \"in\" must come before \"proto\""},
	    {"pass to any from any\n", "t.conf:1:13: \"from\" must come before \"to\""},
	    {"pass inet inet6\n", "t.conf:1:11: duplicate address family \"inet6\""},
	    {"pass proto gre\n", "t.conf:1:12: unknown protocol \"gre\""},
	    {"pass log (user)\n", "t.conf:1:11: unknown log option \"user\""},
	    {"pass proto tcp keep state (max-states 5)\n",
	     "t.conf:1:28: unknown state option \"max-states\""},
	    {"pass proto tcp keep state (max-src-conn 0)\n",
	     "t.conf:1:41: max-src-conn \"0\" is too small (minimum 1)"},
	    {"pass proto tcp keep state (max-src-states 0)\n",
	     "t.conf:1:43: max-src-states \"0\" is too small (minimum 1)"},
	    {"pass proto tcp keep state (max-src-states 2147483648)\n",
	     "t.conf:1:43: max-src-states \"2147483648\" is too large (maximum 2147483647)"},
	    {"pass proto tcp keep state (max-src-states 5, max-src-states 6)\n",
	     "t.conf:1:46: duplicate \"max-src-states\""},
	    {"pass proto tcp keep state (max-src-conn-rate 5)\n",
	     "t.conf:1:46: invalid max-src-conn-rate \"5\" (expected N/S)"},
	    {"pass proto tcp keep state (max-src-conn-rate 5/0)\n",
	     "t.conf:1:48: max-src-conn-rate seconds \"0\" is too small (minimum 1)"},
	    {"pass proto tcp keep state (overload <x> flush)\n",
	     "t.conf:1:28: \"overload\" requires max-src-conn or max-src-conn-rate"},
	    {"pass proto tcp keep state (max-src-conn 1\n",
	     "t.conf:1:41: missing \")\" after \"1\""},
	    {"block keep state\n", "t.conf:1:7: \"keep state\" is not valid on a block rule"},
	    {"pass proto tcp to port\n", "t.conf:1:19: missing a port after \"port\""},
	    {"pass from port 25\n", "t.conf:1:11: source ports are not supported"},
	    {"pass inet from 2001:db8::1\n",
	     "t.conf:1:16: address \"2001:db8::1\" does not match \"inet\""},
	    {"set interface egress\n", "t.conf:1:15: interface name \"egress\" is reserved"},
	    {"set interface { eth0 eth0 }\n", "t.conf:1:22: interface \"eth0\" listed twice"},
	    {"set interface averyveryverylongname0\n",
	     "t.conf:1:15: interface name \"averyveryverylongname0\" is too long (at most 15 "
	     "characters)"},
	    {"set skip on lo\n", "t.conf:1:5: unknown set option \"skip\""},
	    {"set limit states 10000\n", "t.conf:1:11: unknown limit \"states\""},
	    {"set limit table-entries 0\n",
	     "t.conf:1:25: table-entries \"0\" is too small (minimum 1)"},
	    {"set dump-interval 0\n", "t.conf:1:19: dump-interval \"0\" is too small (minimum 1s)"},
	    {"set dump-interval 50000d\n", "t.conf:1:19: duration \"50000d\" is too large"},
	    {"set dump-interval 1h 2h\n", "t.conf:1:22: unexpected \"2h\""},
	    {"set state-dir \"\"\n", "t.conf:1:15: empty state-dir"},
	    {"set contact \"no end\n", "t.conf:1:13: unterminated quoted string"},
	    {"table <a> { 192.0.2.1\n\n", "t.conf:1:11: unclosed \"{\""},
	    {"table <a> { !192.0.2.1 }\n", "t.conf:1:13: negated table entries are not supported"},
	    {"pass }\n", "t.conf:1:6: unexpected \"}\""},
	    {"pass \x01\n", "t.conf:1:6: unexpected character \"\\x01\""},
	    {"pass from { }\n", "t.conf:1:11: empty address list"},
	    {"x-y = 3\n", "t.conf:1:1: invalid macro name \"x-y\""},
	    {"a = \"$a\"\npass $a\n", "t.conf:2:6: macro \"a\" expands too deeply"},
	    {"table <t>\nblock from <t\n", "t.conf:2:13: missing \">\" after \"t\""},
	    {"block from\n", "t.conf:1:7: missing an address, a table or \"any\" after \"from\""},
	    {"pass on eth0:1\n", "t.conf:1:9: invalid interface name \"eth0:1\""},
	    {"pass from ! any\n", "t.conf:1:13: \"any\" cannot be negated"},
	    {"pass proto tcp set prio 3\n", "t.conf:1:20: expected \"queue\", not \"prio\""},
	};

	check_bad_inputs(cases, sizeof(cases) / sizeof(cases[0]), "bad input");
}

/* The daemon settings and a spamd block, as an operator writes them. */
static const char spec_spamd[] =
    "set interface eth0                       # \"egress\"; several: { eth0 eth1 }\n"
    "set state-dir \"/var/lib/greywall\"        # SQLite store, table files by default\n"
    "set bpf-dir \"/sys/fs/bpf/greywall\"       # where maps and links are pinned\n"
    "set control-socket \"/run/greywall/control.sock\"\n"
    "set dump-dir \"/var/lib/greywall/pub\"\n"
    "set dump-interval 1h\n"
    "set contact \"postmaster@example.org\"     # goes into dump headers\n"
    "\n"
    "spamd {\n"
    "        listen 127.0.0.1 port 8025       # the tarpit's own socket (also ::1)\n"
    "        smtp-port 25                     # SMTP port steered to the tarpit\n"
    "        hostname \"mx.example.org\"\n"
    "        banner \"greywall IP-based SPAM blocker\"\n"
    "        passtime 25m\n"
    "        greyexp 4h\n"
    "        whiteexp 864h\n"
    "        trapexp 24h\n"
    "        scan-interval 60s\n"
    "        stutter 1s\n"
    "        greystutter 10s\n"
    "        maxcon 800\n"
    "        maxblack 700\n"
    "        spamtraps file \"/etc/greywall/spamtraps\"\n"
    "        alloweddomains file \"/etc/greywall/alloweddomains\"\n"
    "        lowprio-mx 203.0.113.5\n"
    "        blacklist traplist { file \"/var/lib/greywall/lists/traplist.gz\" \\\n"
    "                msg \"Your address %A is on a spamtrap list\" }\n"
    "        whitelist ours { file \"/etc/greywall/white\" }\n"
    "        sync { listen 192.0.2.1 peer 198.51.100.9 key \"/etc/greywall/spamd.key\" }\n"
    "}\n";

static void check_listen(const struct config_spamd *s, size_t i, const char *addr, int port)
{
	char buf[ADDR_STRLEN] = "";

	if (i >= s->nlisten) {
		CHECK(0, "listen %zu exists", i);
		return;
	}
	addr_format(&s->listen[i].addr, buf, sizeof(buf));
	CHECK_STR(buf, addr, "listen %zu address", i);
	CHECK_INT(s->listen[i].port, port, "listen %zu port", i);
}

static void test_spamd_spec_example(void)
{
	const struct config_spamd *s;
	const struct config_list *l;
	struct config cfg;
	char err[256] = "", buf[ADDR_STRLEN] = "";
	int ret = load(spec_spamd, &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "daemon settings and spamd block parse (%s)", err);
	if (ret)
		return;
	CHECK_INT(cfg.dump_interval, 3600, "dump-interval 1h");
	CHECK_STR(cfg.contact, "postmaster@example.org", "contact");
	s = cfg.spamd;
	CHECK(s != NULL, "spamd block present");
	if (!s)
		goto out;
	CHECK_INT(s->line, 9, "spamd block on line 9");
	CHECK_INT(s->nlisten, 1, "one listen: the written one replaces both defaults");
	check_listen(s, 0, "127.0.0.1", 8025);
	CHECK_INT(s->smtp_port, 25, "smtp-port 25");
	CHECK_STR(s->hostname, "mx.example.org", "hostname");
	CHECK_STR(s->banner, "greywall IP-based SPAM blocker", "banner");
	CHECK_INT(s->passtime, 25 * 60, "passtime 25m");
	CHECK_INT(s->greyexp, 4 * 3600, "greyexp 4h");
	CHECK_INT(s->whiteexp, 864 * 3600, "whiteexp 864h");
	CHECK_INT(s->trapexp, 24 * 3600, "trapexp 24h");
	CHECK_INT(s->scan_interval, 60, "scan-interval 60s");
	CHECK_INT(s->stutter, 1, "stutter 1s");
	CHECK_INT(s->greystutter, 10, "greystutter 10s");
	CHECK_INT(s->maxcon, 800, "maxcon 800");
	CHECK_INT(s->maxblack, 700, "maxblack 700");
	CHECK_INT(s->nspamtraps, 1, "one spamtraps file");
	if (s->nspamtraps)
		CHECK_STR(s->spamtraps[0], "/etc/greywall/spamtraps", "spamtraps file");
	CHECK_INT(s->nalloweddomains, 1, "one alloweddomains file");
	if (s->nalloweddomains)
		CHECK_STR(s->alloweddomains[0], "/etc/greywall/alloweddomains",
			  "alloweddomains file");
	CHECK_INT(s->nvalid_recipients, 0, "no valid-recipients");
	addr_format(&s->lowprio_mx, buf, sizeof(buf));
	CHECK_STR(buf, "203.0.113.5", "lowprio-mx");
	CHECK(s->fetch == NULL, "no fetch command");
	CHECK(s->list_max_bytes == 64u << 20, "list-max-bytes 64M");
	CHECK_INT(s->list_max_entries, 1000000, "list-max-entries 1000000");

	CHECK_INT(s->nlists, 2, "two lists");
	if (s->nlists != 2)
		goto out;
	l = &s->lists[0];
	CHECK_STR(l->name, "traplist", "list 1 is traplist");
	CHECK(!l->white, "traplist is a blacklist");
	CHECK_INT(l->nfiles, 1, "traplist one file");
	if (l->nfiles)
		CHECK_STR(l->files[0], "/var/lib/greywall/lists/traplist.gz", "traplist file");
	CHECK_INT(l->nexecs + l->nurls, 0, "traplist no exec, no url");
	CHECK_STR(l->msg, "Your address %A is on a spamtrap list",
		  "traplist msg across a continuation");
	CHECK_INT(l->line, 26, "traplist on line 26");
	l = &s->lists[1];
	CHECK_STR(l->name, "ours", "list 2 is ours");
	CHECK(l->white, "ours is a whitelist");
	CHECK(l->msg == NULL, "whitelist has no msg");
	CHECK_INT(l->nfiles, 1, "ours one file");
	if (l->nfiles)
		CHECK_STR(l->files[0], "/etc/greywall/white", "ours file");

	CHECK_INT(cfg.nwarnings, 0, "no warning: sync is implemented");
	CHECK(s->sync != NULL, "sync block present");
	if (!s->sync)
		goto out;
	CHECK_INT(s->sync->line, 29, "sync on line 29");
	CHECK(s->sync->listen_addr.family == AF_INET && s->sync->listen_addr.bytes[3] == 1 &&
		      !s->sync->listen_ifname[0],
	      "sync listens on 192.0.2.1");
	CHECK_INT(s->sync->port, 8025, "sync port defaults to 8025");
	CHECK_INT(s->sync->npeers, 1, "one sync peer");
	if (s->sync->npeers)
		CHECK_STR(s->sync->peers[0], "198.51.100.9", "sync peer");
	CHECK(!s->sync->mcast_ifname[0], "no multicast");
	CHECK_STR(s->sync->key_path, "/etc/greywall/spamd.key", "sync key");
out:
	config_free(&cfg);
	CHECK(cfg.spamd == NULL, "config_free clears the spamd block");
}

static void check_spamd_defaults(const struct config_spamd *s, const char *how)
{
	check_listen(s, 0, "127.0.0.1", 8025);
	check_listen(s, 1, "::1", 8025);
	CHECK_INT(s->nlisten, 2, "%s: listen 127.0.0.1 and ::1", how);
	CHECK_INT(s->smtp_port, 25, "%s: smtp-port 25", how);
	CHECK(s->hostname == NULL, "%s: hostname is the system's", how);
	CHECK_STR(s->banner, "greywall IP-based SPAM blocker", "%s: banner", how);
	CHECK_STR(s->mta_user, "postfix", "%s: mta-user postfix", how);
	CHECK_INT(s->passtime, 1500, "%s: passtime 25m", how);
	CHECK_INT(s->greyexp, 14400, "%s: greyexp 4h", how);
	CHECK_INT(s->whiteexp, 3110400, "%s: whiteexp 864h", how);
	CHECK_INT(s->trapexp, 86400, "%s: trapexp 24h", how);
	CHECK_INT(s->scan_interval, 60, "%s: scan-interval 60s", how);
	CHECK_INT(s->stutter, 1, "%s: stutter 1s", how);
	CHECK_INT(s->greystutter, 10, "%s: greystutter 10s", how);
	CHECK_INT(s->idle_timeout, 400, "%s: idle-timeout 400s", how);
	CHECK_INT(s->maxcon, 800, "%s: maxcon 800", how);
	CHECK_INT(s->maxblack, 700, "%s: maxblack = maxcon - 100", how);
	CHECK_INT(s->maxrcpt, 100, "%s: maxrcpt 100", how);
	CHECK_INT(s->maxtuples, 200, "%s: maxtuples 200", how);
	CHECK_INT(s->black_code, 450, "%s: black-code 450", how);
	CHECK_INT(s->white_prefix4, 32, "%s: white-prefix4 32", how);
	CHECK_INT(s->white_prefix6, 128, "%s: white-prefix6 128", how);
	CHECK_INT(s->lowprio_mx.family, 0, "%s: no lowprio-mx", how);
	CHECK(s->fetch == NULL, "%s: no fetch", how);
	CHECK_INT(s->nspamtraps + s->nalloweddomains + s->nvalid_recipients + s->nlists, 0,
		  "%s: no files, no lists", how);
}

static void test_spamd_defaults(void)
{
	static const char *const empty[] = {"spamd {\n}\n", "spamd { }", "spamd {\n\n\n}"};
	struct config cfg;
	char err[256] = "";
	int ret = load("set interface eth0\n", &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "config without a spamd block (%s)", err);
	if (!ret) {
		CHECK(cfg.spamd == NULL, "no spamd block: cfg.spamd is NULL");
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		ret = load(empty[i], &cfg, err, sizeof(err));
		CHECK_INT(ret, 0, "empty spamd block %zu parses (%s)", i + 1, err);
		if (ret)
			continue;
		CHECK(cfg.spamd != NULL, "empty spamd block %zu is present", i + 1);
		if (cfg.spamd)
			check_spamd_defaults(cfg.spamd, empty[i]);
		config_free(&cfg);
	}

	/* maxblack follows maxcon unless given; 100 slots stay for everyone else. */
	ret = load("spamd {\n\tmaxcon 1000\n}\n", &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "maxcon 1000 (%s)", err);
	if (!ret) {
		CHECK_INT(cfg.spamd->maxblack, 900, "maxcon 1000: default maxblack 900");
		config_free(&cfg);
	}
	ret = load("spamd { maxcon 100 }", &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "maxcon 100 (%s)", err);
	if (!ret) {
		CHECK_INT(cfg.spamd->maxblack, 0, "maxcon 100: default maxblack 0");
		config_free(&cfg);
	}
	ret = load("spamd { maxblack 0 maxcon 1 }", &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "maxblack 0 before maxcon 1 (%s)", err);
	if (!ret) {
		CHECK_INT(cfg.spamd->maxblack, 0, "maxblack 0 kept");
		CHECK_INT(cfg.spamd->maxcon, 1, "maxcon 1");
		config_free(&cfg);
	}
}

static void test_spamd_options(void)
{
	const struct config_spamd *s;
	const struct config_list *l;
	struct config cfg;
	char err[256] = "", buf[ADDR_STRLEN] = "";
	int ret = load("mx = \"2001:db8::25\"\n"
		       "spamd { listen 0.0.0.0 port 2525\n"
		       "  listen ::1 \\\n"
		       "\tlisten ::1 port 8026 # same address, other port\n"
		       "  black-code 550 idle-timeout 2m smtp-port 587\n"
		       "  white-prefix4 24\n"
		       "  white-prefix6 64 lowprio-mx $mx\n"
		       "  passtime 0 greyexp 1h whiteexp 36d trapexp 1d scan-interval 5m\n"
		       "  stutter 0 greystutter 90s maxrcpt 1 maxtuples 100000\n"
		       "  spamtraps file \"/a\" spamtraps file \"/b\"\n"
		       "  valid-recipients file \"/r\"\n"
		       "  fetch \"/usr/bin/ftp -o - -- %s\" list-max-bytes 2M list-max-entries 5000\n"
		       "  blacklist one { url \"https://example.org/one.gz\" exec \"/bin/one\"\n"
		       "                  msg 'first \"black\" list' file \"/1a\" file \"/1b\" }\n"
		       "  whitelist w1 {\n"
		       "    file \"/w\"\n"
		       "  }\n"
		       "  blacklist two {\n"
		       "    exec \"/bin/two\" msg \"100%% two\"\n"
		       "    exec \"/bin/two -v\"\n"
		       "  }\n"
		       "  whitelist w2 { url \"https://example.org/white\" }\n"
		       "  hostname mx.example.org banner \"Hello,  there\" mta-user Debian-exim\n"
		       "}\n"
		       "pass\n",
		       &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "every spamd option parses (%s)", err);
	if (ret)
		return;
	CHECK_INT(cfg.nrules, 1, "the statement after the block is a rule");
	s = cfg.spamd;
	CHECK_INT(s->nlisten, 3, "three listen lines, no defaults");
	check_listen(s, 0, "0.0.0.0", 2525);
	check_listen(s, 1, "::1", 8025);
	check_listen(s, 2, "::1", 8026);
	CHECK_INT(s->black_code, 550, "black-code 550");
	CHECK_INT(s->idle_timeout, 120, "idle-timeout 2m");
	CHECK_INT(s->smtp_port, 587, "smtp-port 587");
	CHECK_INT(s->white_prefix4, 24, "white-prefix4 24");
	CHECK_INT(s->white_prefix6, 64, "white-prefix6 64");
	addr_format(&s->lowprio_mx, buf, sizeof(buf));
	CHECK_STR(buf, "2001:db8::25", "lowprio-mx from a macro");
	CHECK_INT(s->passtime, 0, "passtime 0");
	CHECK_INT(s->greyexp, 3600, "greyexp 1h");
	CHECK_INT(s->whiteexp, 36 * 86400, "whiteexp 36d");
	CHECK_INT(s->trapexp, 86400, "trapexp 1d");
	CHECK_INT(s->scan_interval, 300, "scan-interval 5m");
	CHECK_INT(s->stutter, 0, "stutter 0");
	CHECK_INT(s->greystutter, 90, "greystutter 90s");
	CHECK_INT(s->maxrcpt, 1, "maxrcpt 1");
	CHECK_INT(s->maxtuples, 100000, "maxtuples 100000");
	CHECK_INT(s->nspamtraps, 2, "two spamtraps files");
	if (s->nspamtraps == 2)
		CHECK_STR(s->spamtraps[1], "/b", "second spamtraps file");
	CHECK_INT(s->nvalid_recipients, 1, "valid-recipients");
	if (s->nvalid_recipients)
		CHECK_STR(s->valid_recipients[0], "/r", "valid-recipients file");
	CHECK_STR(s->fetch, "/usr/bin/ftp -o - -- %s", "fetch");
	CHECK(s->list_max_bytes == 2u << 20, "list-max-bytes 2M");
	CHECK_INT(s->list_max_entries, 5000, "list-max-entries 5000");
	CHECK_STR(s->hostname, "mx.example.org", "hostname as a bare word");
	CHECK_STR(s->mta_user, "Debian-exim", "mta-user");
	CHECK_STR(s->banner, "Hello,  there", "banner keeps its spaces");

	CHECK_INT(s->nlists, 4, "four lists");
	if (s->nlists != 4)
		goto out;
	l = &s->lists[0];
	CHECK(!strcmp(l->name, "one") && !l->white, "list 1: blacklist one");
	CHECK_INT(l->nfiles, 2, "one: two files");
	CHECK_INT(l->nexecs, 1, "one: one exec");
	CHECK_INT(l->nurls, 1, "one: one url");
	if (l->nfiles == 2 && l->nexecs == 1 && l->nurls == 1) {
		CHECK_STR(l->files[0], "/1a", "one: file 1");
		CHECK_STR(l->files[1], "/1b", "one: file 2");
		CHECK_STR(l->execs[0], "/bin/one", "one: exec");
		CHECK_STR(l->urls[0], "https://example.org/one.gz", "one: url");
	}
	CHECK_STR(l->msg, "first \"black\" list", "one: msg in single quotes");
	CHECK_INT(l->line, 13, "one on line 13");
	l = &s->lists[1];
	CHECK(!strcmp(l->name, "w1") && l->white, "list 2: whitelist w1, over lines");
	CHECK_INT(l->line, 15, "w1 on line 15");
	l = &s->lists[2];
	CHECK(!strcmp(l->name, "two") && !l->white, "list 3: blacklist two");
	CHECK_INT(l->nexecs, 2, "two: two execs");
	if (l->nexecs == 2)
		CHECK_STR(l->execs[1], "/bin/two -v", "two: second exec");
	CHECK_STR(l->msg, "100%% two", "two: msg kept as written");
	l = &s->lists[3];
	CHECK(!strcmp(l->name, "w2") && l->white, "list 4: whitelist w2");
	CHECK_INT(l->nurls, 1, "w2: one url");
	CHECK_INT(cfg.nwarnings, 0, "no warnings without sync");
out:
	config_free(&cfg);
}

/*
 * What greywalld -n and reload build on: a failed spamd block leaves nothing
 * behind, and every message points at the token to fix.
 */
static void test_spamd_bad_inputs(void)
{
	static const struct bad_input cases[] = {
	    {"spamd {\n\tpasstime 25x\n}\n", "t.conf:2:11: invalid duration \"25x\""},
	    {"spamd {\n\tgreyexp 0\n}\n", "t.conf:2:10: greyexp \"0\" is too small (minimum 1s)"},
	    {"spamd { stutter 11s }", "t.conf:1:17: stutter \"11s\" is too large (maximum 10s)"},
	    {"spamd { greystutter 2m }",
	     "t.conf:1:21: greystutter \"2m\" is too large (maximum 90s)"},
	    {"spamd { whiteexp 50000d }", "t.conf:1:18: duration \"50000d\" is too large"},
	    {"spamd { passtime 4h }",
	     "t.conf:1:9: passtime 14400s must be shorter than greyexp 14400s"},
	    {"spamd { greyexp 20m }",
	     "t.conf:1:9: passtime 1500s must be shorter than greyexp 1200s"},
	    {"spamd {\n maxcon 100\n maxblack 101\n}\n",
	     "t.conf:3:2: maxblack 101 is greater than maxcon 100"},
	    {"spamd { maxblack 801 }", "t.conf:1:9: maxblack 801 is greater than maxcon 800"},
	    {"spamd { maxcon 0 }", "t.conf:1:16: maxcon \"0\" is too small (minimum 1)"},
	    {"spamd { maxcon 1000001 }",
	     "t.conf:1:16: maxcon \"1000001\" is too large (maximum 1000000)"},
	    {"spamd { maxcon -1 }", "t.conf:1:16: invalid maxcon \"-1\""},
	    {"spamd { maxrcpt 0 }", "t.conf:1:17: maxrcpt \"0\" is too small (minimum 1)"},
	    {"spamd { maxrcpt 100001 }",
	     "t.conf:1:17: maxrcpt \"100001\" is too large (maximum 100000)"},
	    {"spamd { maxtuples 0 }", "t.conf:1:19: maxtuples \"0\" is too small (minimum 1)"},
	    {"spamd { maxtuples 100001 }",
	     "t.conf:1:19: maxtuples \"100001\" is too large (maximum 100000)"},
	    {"spamd { maxtuples many }", "t.conf:1:19: invalid maxtuples \"many\""},
	    {"spamd {\n\tpasstime 25m\n\tgreylist yes\n}\n",
	     "t.conf:3:2: unknown keyword \"greylist\""},
	    {"spamd { \"listen\" }", "t.conf:1:9: unexpected \"listen\""},
	    {"spamd {\n maxcon 10\n maxcon 20\n}\n", "t.conf:3:2: duplicate \"maxcon\""},
	    {"spamd { hostname a hostname b }", "t.conf:1:20: duplicate \"hostname\""},
	    {"spamd {\n}\nspamd {\n}\n", "t.conf:3:1: \"spamd\" block declared twice"},
	    {"spamd\n", "t.conf:1:1: missing \"{\" after \"spamd\""},
	    {"spamd {\n passtime 25m\n", "t.conf:1:7: unclosed \"{\""},
	    {"spamd { } maxcon 5\n", "t.conf:1:11: unexpected \"maxcon\""},
	    {"spamd { listen 127.0.0.300 }", "t.conf:1:16: invalid address \"127.0.0.300\""},
	    {"spamd { listen }", "t.conf:1:16: expected an address, not \"}\""},
	    {"spamd { listen 127.0.0.0/8 }",
	     "t.conf:1:16: listen \"127.0.0.0/8\" is a network, not an address"},
	    {"spamd { listen ::1 port 0 }", "t.conf:1:25: port \"0\" is too small (minimum 1)"},
	    {"spamd { listen ::1 listen ::1 port 8025 }",
	     "t.conf:1:20: duplicate \"listen ::1 port 8025\""},
	    {"spamd { lowprio-mx 192.0.2.0/24 }",
	     "t.conf:1:20: lowprio-mx \"192.0.2.0/24\" is a network, not an address"},
	    {"spamd { lowprio-mx mx.example.org }",
	     "t.conf:1:20: invalid address \"mx.example.org\""},
	    {"spamd { smtp-port 65536 }",
	     "t.conf:1:19: smtp-port \"65536\" is too large (maximum 65535)"},
	    {"spamd { black-code 500 }", "t.conf:1:20: black-code \"500\" must be 450 or 550"},
	    {"spamd { white-prefix4 7 }",
	     "t.conf:1:23: white-prefix4 \"7\" is too small (minimum 8)"},
	    {"spamd { white-prefix6 129 }",
	     "t.conf:1:23: white-prefix6 \"129\" is too large (maximum 128)"},
	    {"spamd { hostname \"mx example\" }",
	     "t.conf:1:18: invalid character in hostname \"mx example\""},
	    {"spamd { hostname }", "t.conf:1:18: expected hostname, not \"}\""},
	    {"spamd { banner \"a\x01z\" }", "t.conf:1:16: invalid character in banner \"a\\x01z\""},
	    {"spamd { banner \"\" }", "t.conf:1:16: empty banner"},
	    {"spamd { fetch \"curl\" }",
	     "t.conf:1:15: fetch \"curl\" must end with \"-- %s\" and hold no other % but words %t"},
	    {"spamd { fetch \"curl -sf %s\" }",
	     "t.conf:1:15: fetch \"curl -sf %s\" must end with \"-- %s\" and hold no other % but words %t"},
	    {"spamd { fetch \"curl -- %s %s\" }",
	     "t.conf:1:15: fetch \"curl -- %s %s\" must end with \"-- %s\" and hold no other % but words %t"},
	    {"spamd { fetch \"curl %d -- %s\" }",
	     "t.conf:1:15: fetch \"curl %d -- %s\" must end with \"-- %s\" and hold no other % but words %t"},
	    {"spamd { fetch \"curl x-- %s\" }",
	     "t.conf:1:15: fetch \"curl x-- %s\" must end with \"-- %s\" and hold no other % but words %t"},
	    {"spamd { fetch \" -- %s\" }",
	     "t.conf:1:15: fetch \" -- %s\" must end with \"-- %s\" and hold no other % but words %t"},
	    {"spamd { list-max-bytes 1023 }",
	     "t.conf:1:24: list-max-bytes \"1023\" is too small (minimum 1024)"},
	    {"spamd { list-max-bytes 2T }", "t.conf:1:24: invalid list-max-bytes \"2T\""},
	    {"spamd { list-max-bytes 99999999999G }",
	     "t.conf:1:24: list-max-bytes \"99999999999G\" is too large (maximum 1099511627776)"},
	    {"spamd { list-max-entries 0 }",
	     "t.conf:1:26: list-max-entries \"0\" is too small (minimum 1)"},
	    {"spamd { spamtraps \"/x\" }", "t.conf:1:19: expected \"file\", not \"/x\""},
	    {"spamd { alloweddomains file }", "t.conf:1:29: expected file name, not \"}\""},
	    {"spamd { blacklist b { file \"/x\" } }", "t.conf:1:19: blacklist \"b\" has no msg"},
	    {"spamd { blacklist b { msg \"m\" } }",
	     "t.conf:1:19: blacklist \"b\" has no file, exec or url"},
	    {"spamd { blacklist b { file \"/x\" msg \"m\" }\n whitelist w { } }",
	     "t.conf:2:12: whitelist \"w\" has no file, exec or url"},
	    {"spamd { blacklist b { file \"/x\" msg \"m\" msg \"n\" } }",
	     "t.conf:1:41: duplicate \"msg\""},
	    {"spamd { blacklist b { file \"/x\" msg \"a\rb\" } }",
	     "t.conf:1:37: invalid character in msg \"a\\x0db\""},
	    {"spamd { whitelist w { file \"/x\" } }",
	     "t.conf:1:9: whitelist \"w\" follows no blacklist"},
	    {"spamd { blacklist b { file \"/x\" msg \"m\" }\n whitelist w { file \"/y\" msg \"m\" "
	     "} }",
	     "t.conf:2:26: \"msg\" is not valid in a whitelist"},
	    {"spamd { blacklist b { file \"/x\" msg \"m\" }\n blacklist b { file \"/y\" msg \"m\" "
	     "} }",
	     "t.conf:2:12: list \"b\" declared twice"},
	    {"spamd { blacklist b.c { file \"/x\" } }", "t.conf:1:19: invalid list name \"b.c\""},
	    {"spamd { blacklist { file \"/x\" } }", "t.conf:1:19: invalid list name \"{\""},
	    {"spamd { blacklist b file \"/x\" }", "t.conf:1:21: expected \"{\", not \"file\""},
	    {"spamd { blacklist b { file \"/x\" msg \"m\" dns \"x\" } }",
	     "t.conf:1:41: unknown keyword \"dns\""},
	    {"spamd { blacklist b { url \"https://x/\" msg \"m\" } }",
	     "t.conf:1:23: \"url\" needs a \"fetch\" command"},
	    {"spamd { sync listen 192.0.2.1 }", "t.conf:1:14: expected \"{\", not \"listen\""},
	    {"spamd { sync { peer a } sync { peer b } }", "t.conf:1:25: duplicate \"sync\""},
	    {"spamd { sync { } }",
	     "t.conf:1:9: sync has neither \"peer\" nor \"multicast\": nothing to send to"},
	    {"spamd { sync { peer { } } }", "t.conf:1:23: empty peer list"},
	    {"spamd { sync { peer } }", "t.conf:1:21: expected a host, not \"}\""},
	    {"spamd { sync { peer 192.0.2.0/24 } }", "t.conf:1:21: peer \"192.0.2.0\" is a network, not a host"},
	    {"spamd { sync { peer a_b } }", "t.conf:1:21: invalid peer \"a_b\""},
	    {"spamd { sync { peer { a, b a } } }", "t.conf:1:28: duplicate peer \"a\""},
	    {"spamd { sync { peer a listen 192.0.2.1 port 0 } }",
	     "t.conf:1:45: port \"0\" is too small (minimum 1)"},
	    {"spamd { sync { peer a listen 192.0.2.0/24 } }",
	     "t.conf:1:30: sync listen \"192.0.2.0/24\" is a network, not an address"},
	    {"spamd { sync { peer a listen eth0 listen eth1 } }",
	     "t.conf:1:35: duplicate \"listen\""},
	    {"spamd { sync { peer a listen eth0:1 } }",
	     "t.conf:1:30: invalid interface name \"eth0:1\""},
	    {"spamd { sync { multicast eth0 group 192.0.2.1 } }",
	     "t.conf:1:37: group \"192.0.2.1\" is not an IPv4 multicast address"},
	    {"spamd { sync { multicast eth0 ttl 256 } }",
	     "t.conf:1:35: ttl \"256\" is too large (maximum 255)"},
	    {"spamd { sync { multicast eth0 ttl 2 ttl 3 } }", "t.conf:1:37: duplicate \"ttl\""},
	    {"spamd { sync { multicast eth0 multicast eth1 } }",
	     "t.conf:1:31: duplicate \"multicast\""},
	    {"spamd { sync { peer a key \"/k\" key \"/j\" } }", "t.conf:1:32: duplicate \"key\""},
	    {"spamd { sync { peer a mtu 9000 } }", "t.conf:1:23: unknown keyword \"mtu\""},
	};

	check_bad_inputs(cases, sizeof(cases) / sizeof(cases[0]), "bad spamd block");
}

/* A spamd block brings <spamd-white>, <spamd-greytrap> and <nospamd>, unless declared. */
static void test_spamd_tables(void)
{
	struct config cfg;
	char err[512];
	int i;

	CHECK(load("spamd { }\n", &cfg, err, sizeof(err)) == 0, "empty spamd block loads");
	CHECK(config_table_index(&cfg, "spamd-white") >= 0 &&
		      config_table_index(&cfg, "spamd-greytrap") >= 0 &&
		      config_table_index(&cfg, "nospamd") >= 0,
	      "spamd block declares spamd-white, spamd-greytrap and nospamd");
	config_free(&cfg);
	CHECK(load("spamd { }\ntable <nospamd> persist file \"/etc/greywall/nospamd\"\n", &cfg,
		   err, sizeof(err)) == 0,
	      "<nospamd> declared after the block: %s", err);
	i = config_table_index(&cfg, "nospamd");
	CHECK(i >= 0 && cfg.tables[i].nfiles == 1 &&
		      !strcmp(cfg.tables[i].files[0], "/etc/greywall/nospamd"),
	      "the later declaration gives <nospamd> its file");
	config_free(&cfg);
	CHECK(load("table <spamd-white> counters\nspamd { }\n", &cfg, err, sizeof(err)) == 0,
	      "<spamd-white> declared before the block");
	i = config_table_index(&cfg, "spamd-white");
	CHECK(i >= 0 && (cfg.tables[i].flags & CONFIG_TABLE_COUNTERS),
	      "the operator's declaration of <spamd-white> is kept");
	config_free(&cfg);
	CHECK(load("table <x> { 192.0.2.1 }\n", &cfg, err, sizeof(err)) == 0 &&
		      config_table_index(&cfg, "spamd-white") < 0,
	      "without a spamd block there is no <spamd-white>");
	config_free(&cfg);
}

static void test_too_many_rules(void)
{
	struct config cfg;
	char err[256] = "";
	char *text = malloc(300 * 8);
	size_t o = 0;
	int ret;

	for (int i = 0; i < 256; i++)
		o += (size_t)sprintf(text + o, "pass\n");
	ret = load(text, &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "256 rules fit");
	if (!ret)
		config_free(&cfg);
	sprintf(text + o, "block\n");
	ret = load(text, &cfg, err, sizeof(err));
	CHECK_INT(ret, -EINVAL, "257th rule rejected");
	CHECK_STR(err, "t.conf:257:1: too many rules (at most 256)", "257th rule message");
	free(text);
}

static void test_load_file(void)
{
	char path[] = "/tmp/greywall-test-config-XXXXXX";
	struct config cfg;
	char err[256] = "";
	int fd = mkstemp(path), ret;

	CHECK(fd >= 0, "temporary file");
	if (fd < 0)
		return;
	CHECK(write(fd, spec_example, sizeof(spec_example) - 1) ==
		  (ssize_t)(sizeof(spec_example) - 1),
	      "write field example");
	close(fd);
	ret = config_load_file(path, &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "config_load_file reads the field example (%s)", err);
	if (!ret) {
		CHECK_STR(cfg.path, path, "path is the file");
		CHECK_INT(cfg.nrules, 5, "five rules from the file");
		config_free(&cfg);
	}
	unlink(path);
	ret = config_load_file(path, &cfg, err, sizeof(err));
	CHECK_INT(ret, -ENOENT, "missing file is -ENOENT");
	CHECK(strstr(err, path) && strstr(err, "No such file"), "missing file message: %s", err);
}

/*
 * The keywords greywall.conf(5) documents: the words set in bold, by the
 * man(7) font macros (.B, .BR, .BI, .RB, .IB, whose arguments alternate
 * fonts) or by \fB inline. A word only in running text or in an example
 * does not count.
 */
struct man_words {
	char **words;
	size_t n;
};

static void man_add_word(struct man_words *w, const char *word, size_t len)
{
	char **more = realloc(w->words, (w->n + 1) * sizeof(*more));

	if (!more)
		abort();
	w->words = more;
	w->words[w->n++] = strndup(word, len);
}

/* Add the words of one argument of a font macro, set in `font` unless \f changes it. */
static void man_scan(struct man_words *w, const char *text, char font)
{
	char prev = font, word[128];
	size_t len = 0;

	for (const char *c = text;; c++) {
		bool letter = *c && (isalnum((unsigned char)*c) || *c == '-' || *c == '_');

		if (*c == '\\' && c[1] == '-') {
			letter = true;
			c++;
		}
		if (letter && len < sizeof(word)) {
			word[len++] = *c;
			continue;
		}
		if (len && font == 'B')
			man_add_word(w, word, len);
		len = 0;
		if (!*c)
			return;
		if (*c != '\\')
			continue;
		if (c[1] == 'f' && c[2]) {
			char next = c[2] == 'P' ? prev : c[2];

			prev = font;
			font = next;
			c += 2;
		} else if (c[1] == '(' && c[2] && c[3]) {
			c += 3;
		} else if (c[1]) {
			c++;
		}
	}
}

/* Split a macro's arguments as roff does: blanks separate, double quotes group. */
static size_t man_args(char *line, char **args, size_t max)
{
	size_t n = 0;
	char *c = line;

	while (n < max) {
		while (*c == ' ' || *c == '\t')
			c++;
		if (!*c)
			break;
		if (*c == '"') {
			args[n++] = ++c;
			while (*c && *c != '"')
				c++;
		} else {
			args[n++] = c;
			while (*c && *c != ' ' && *c != '\t')
				c++;
		}
		if (*c)
			*c++ = '\0';
	}
	return n;
}

static void man_read(const char *path, struct man_words *w)
{
	static const struct {
		const char *macro;
		const char *fonts; /* of the odd and the even arguments */
	} macros[] = {
	    {".B ", "BB"}, {".BR ", "BR"}, {".BI ", "BI"}, {".RB ", "RB"}, {".IB ", "IB"},
	};
	char line[1024], *args[32];
	FILE *f = fopen(path, "r");

	CHECK(f != NULL, "%s opens", path);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t i, n;

		line[strcspn(line, "\n")] = '\0';
		for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (!strncmp(line, macros[i].macro, strlen(macros[i].macro)))
				break;
		if (i == sizeof(macros) / sizeof(macros[0])) {
			if (line[0] != '.')
				man_scan(w, line, 'R');
			continue;
		}
		n = man_args(line + strlen(macros[i].macro), args, 32);
		for (size_t k = 0; k < n; k++)
			man_scan(w, args[k], macros[i].fonts[k % 2]);
	}
	fclose(f);
}

static bool man_has(const struct man_words *w, const char *word)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->words[i], word))
			return true;
	return false;
}

struct keyword_check {
	const struct man_words *man;
	char **seen;
	size_t nseen;
};

static void check_keyword(const char *grammar, const char *keyword, void *ctx)
{
	struct keyword_check *kc = ctx;
	char **more = realloc(kc->seen, (kc->nseen + 1) * sizeof(*more));

	if (!more)
		abort();
	kc->seen = more;
	kc->seen[kc->nseen++] = strdup(keyword);
	CHECK(man_has(kc->man, keyword), "greywall.conf(5) documents %s keyword \"%s\"", grammar,
	      keyword);
}

static bool keyword_listed(const struct keyword_check *kc, const char *word)
{
	for (size_t i = 0; i < kc->nseen; i++)
		if (!strcmp(kc->seen[i], word))
			return true;
	return false;
}

/*
 * Every word a parser source compares a token with (is_kw(t, "word")) is
 * one config_keywords() reports, so that a new keyword cannot miss the
 * manual by missing the list. "out" is refused with a message of its own.
 */
static void check_sources_listed(const char *dir, const struct keyword_check *kc)
{
	regex_t re;
	regmatch_t m[3];
	struct dirent *e;
	size_t found = 0;
	DIR *d = opendir(dir);

	CHECK(d != NULL, "%s opens", dir);
	if (!d)
		return;
	/* The token may be a call, such as peek(p). */
	if (regcomp(&re, "is_kw\\(([^,()]|\\([^()]*\\))+, \"([^\"]+)\"\\)", REG_EXTENDED))
		abort();
	while ((e = readdir(d))) {
		char path[PATH_MAX + 512], line[1024];
		size_t len = strlen(e->d_name);
		FILE *f;

		if (len < 3 || strcmp(e->d_name + len - 2, ".c"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			for (char *c = line; !regexec(&re, c, 3, m, 0); c += m[0].rm_eo) {
				char word[64];

				snprintf(word, sizeof(word), "%.*s", (int)(m[2].rm_eo - m[2].rm_so),
					 c + m[2].rm_so);
				found++;
				if (!strcmp(word, "out"))
					continue;
				if (!keyword_listed(kc, word))
					CHECK(0, "%s compares with \"%s\", which config_keywords() lacks",
					      e->d_name, word);
			}
		}
		fclose(f);
	}
	closedir(d);
	regfree(&re);
	CHECK(found > 50, "the parser sources compare tokens with %zu keywords", found);
}

static void test_keywords_documented(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct man_words man = {0};
	struct keyword_check kc = {.man = &man};
	const char *root;

	CHECK(n > 0, "own path");
	if (n <= 0)
		return;
	exe[n] = '\0';
	/* The test runs as .output/tests/test_config: the tree is two folders up. */
	root = dirname(dirname(dirname(exe)));
	snprintf(path, sizeof(path), "%s/man/greywall.conf.5", root);
	man_read(path, &man);
	CHECK(man_has(&man, "persist") && !man_has(&man, "Entries"),
	      "bold words are told from running text (%zu bold words)", man.n);
	config_keywords(check_keyword, &kc);
	CHECK(kc.nseen > 80, "config_keywords() lists %zu keywords", kc.nseen);
	snprintf(path, sizeof(path), "%s/user/config", root);
	check_sources_listed(path, &kc);
	for (size_t i = 0; i < man.n; i++)
		free(man.words[i]);
	free(man.words);
	for (size_t i = 0; i < kc.nseen; i++)
		free(kc.seen[i]);
	free(kc.seen);
}

static void test_watch_block(void)
{
	static const char text[] =
	    "table <nospamd> const { 192.0.2.1 }\n"
	    "watch pop3 {\n"
	    "\tfile \"/var/log/dovecot.log\"\n"
	    "\tfile \"/var/log/dovecot.log.1\"\n"
	    "\tpattern dovecot\n"
	    "\ton-trap <longterm>\n"
	    "\ton-failures 5 within 10m <bruteforce>\n"
	    "\tignore <nospamd>\n"
	    "\tmax-sources 200000\n"
	    "}\n"
	    "watch ssh { journal unit \"ssh.service\" unit sshd.service directory \"/var/log/journal/remote\"\n"
	    "\tpattern regex \"Invalid user (?<user>\\\\S+) from (?<addr>\\\\S+) port \\\\d+$\"\n"
	    "\ton-failures 1 within 1s <bruteforce> }\n"
	    "watch smtp { journal pattern postfix-sasl on-trap <longterm> }\n"
	    "trap-users file \"/etc/greywall/trap-users\"\n"
	    "trap-users file \"/etc/greywall/more-traps\"\n";
	struct config cfg;
	char err[256] = "";
	const struct config_watch *w;
	int ret = load(text, &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "watch blocks parse (%s)", err);
	if (ret)
		return;
	CHECK_INT(cfg.nwatches, 3, "three watchers, in the order written");
	w = &cfg.watches[0];
	CHECK_STR(w->name, "pop3", "name");
	CHECK(w->nfiles == 2 && !strcmp(w->files[0], "/var/log/dovecot.log") &&
		  !strcmp(w->files[1], "/var/log/dovecot.log.1") && !w->journal,
	      "two files, no journal");
	CHECK_INT(w->pattern, WATCH_PATTERN_DOVECOT, "pattern dovecot");
	CHECK(!w->regex, "no regex");
	CHECK_INT(w->trap_table, config_table_index(&cfg, "longterm"), "on-trap <longterm>");
	CHECK(w->threshold == 5 && w->window == 600 &&
		  w->fail_table == config_table_index(&cfg, "bruteforce"),
	      "on-failures 5 within 10m <bruteforce>");
	CHECK_INT(w->ignore_table, config_table_index(&cfg, "nospamd"), "ignore <nospamd> (const)");
	CHECK_INT(w->max_sources, 200000, "max-sources");
	CHECK_INT(w->line, 2, "line");
	w = &cfg.watches[1];
	CHECK(w->journal && !w->nfiles && w->nunits == 2 && !strcmp(w->units[0], "ssh.service") &&
		  !strcmp(w->units[1], "sshd.service") && w->journal_dir &&
		  !strcmp(w->journal_dir, "/var/log/journal/remote"),
	      "journal with two units and a directory");
	CHECK(w->pattern == WATCH_PATTERN_REGEX && w->regex &&
		  !strcmp(w->regex, "Invalid user (?<user>\\S+) from (?<addr>\\S+) port \\d+$"),
	      "regex kept as written (%s)", w->regex ? w->regex : "");
	CHECK(w->trap_table == -1 && w->threshold == 1 && w->window == 1,
	      "no on-trap; on-failures 1 within 1s");
	w = &cfg.watches[2];
	CHECK(w->journal && !w->nunits && !w->journal_dir, "bare journal: every unit, the system's");
	CHECK(w->threshold == 0 && w->window == 0 && w->fail_table == -1 && w->ignore_table == -1,
	      "defaults: no on-failures, no ignore");
	CHECK_INT(w->max_sources, WATCH_SOURCES_DEFAULT, "default max-sources");
	CHECK(cfg.ntrap_users == 2 && !strcmp(cfg.trap_users[0], "/etc/greywall/trap-users") &&
		  !strcmp(cfg.trap_users[1], "/etc/greywall/more-traps"),
	      "trap-users files add up");
	config_free(&cfg);
}

static void test_crowdsec_block(void)
{
	static const char text[] =
	    "table <popflooders> persist timeout 1h\n"
	    "crowdsec {\n"
	    "\turl \"http://127.0.0.1:8080\"\n"
	    "\tca-file \"/etc/ssl/lapi.pem\"\n"
	    "\tbouncer-key file \"/etc/greywall/crowdsec-bouncer.key\"\n"
	    "\ttable <crowdsec>\n"
	    "\tevery 15s timeout 1m max-bytes 1M\n"
	    "\tmachine \"gw1\" password file \"/etc/greywall/crowdsec-machine.pw\"\n"
	    "\tpush <popflooders> <longterm>\n"
	    "\tpush-queue 500 push-duration 4h\n"
	    "}\n";
	const struct config_crowdsec *c;
	struct config cfg;
	char err[256] = "";
	int ret = load(text, &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "crowdsec block parses (%s)", err);
	if (ret)
		return;
	c = cfg.crowdsec;
	CHECK(c != NULL, "crowdsec block kept");
	if (!c)
		return;
	CHECK_STR(c->url, "http://127.0.0.1:8080/", "url gets its final /");
	CHECK_STR(c->ca_file, "/etc/ssl/lapi.pem", "ca-file");
	CHECK_STR(c->bouncer_key_file, "/etc/greywall/crowdsec-bouncer.key", "bouncer-key file");
	CHECK_INT(c->table, config_table_index(&cfg, "crowdsec"), "table <crowdsec> made as PF does");
	CHECK(c->every == 15 && c->timeout == 60 && c->max_bytes == 1 << 20,
	      "every, timeout, max-bytes");
	CHECK(c->machine && !strcmp(c->machine, "gw1") && c->password_file &&
		  !strcmp(c->password_file, "/etc/greywall/crowdsec-machine.pw"),
	      "machine and its password file");
	CHECK(c->push_tables == ((1ULL << config_table_index(&cfg, "popflooders")) |
				 (1ULL << config_table_index(&cfg, "longterm"))),
	      "push tables");
	CHECK(c->push_queue == 500 && c->push_duration == 4 * 3600, "push-queue, push-duration");
	config_free(&cfg);
	ret = load("crowdsec { url \"https://lapi.example.org/\" machine m password file \"/p\" "
		   "push <t> }", &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "push alone (%s)", err);
	if (!ret) {
		c = cfg.crowdsec;
		CHECK(!c->bouncer_key_file && c->table == -1 &&
			  c->every == CONFIG_CROWDSEC_EVERY_DEFAULT &&
			  c->push_queue == CONFIG_CROWDSEC_PUSH_QUEUE_DEFAULT &&
			  c->push_duration == CONFIG_CROWDSEC_PUSH_DURATION_DEFAULT,
		      "no pull half; defaults");
		config_free(&cfg);
	}
}

static void test_crowdsec_bad_inputs(void)
{
#define PULL "url \"http://l/\" bouncer-key file \"/k\" table <cs>"
	static const struct bad_input cases[] = {
	    {"crowdsec { bouncer-key file \"/k\" table <cs> }", "t.conf:1:1: crowdsec has no url"},
	    {"crowdsec { url \"http://l/\" }",
	     "t.conf:1:1: crowdsec has neither bouncer-key and table (pull) nor machine and push "
	     "(push)"},
	    {"crowdsec { url \"ftp://l/\" }", "t.conf:1:16: url \"ftp://l/\" is not http:// or https://"},
	    {"crowdsec { url \"http://u:p@l/\" }",
	     "t.conf:1:16: url \"http://u:p@l/\": give no credentials in the url"},
	    {"crowdsec { url \"http://l/?a=b\" }",
	     "t.conf:1:16: url \"http://l/?a=b\": no spaces, query or fragment"},
	    {"crowdsec { url \"http://l/\" table <cs> }",
	     "t.conf:1:28: crowdsec table without bouncer-key file"},
	    {"crowdsec { url \"http://l/\" bouncer-key file \"/k\" }",
	     "t.conf:1:28: crowdsec bouncer-key without a table"},
	    {"crowdsec { url \"http://l/\" bouncer-key \"abc\" table <cs> }",
	     "t.conf:1:40: expected \"file\" (secrets are read from files), not \"abc\""},
	    {"crowdsec { " PULL " push <t> }",
	     "t.conf:1:61: crowdsec push without machine and password"},
	    {"crowdsec { url \"http://l/\" machine m password file \"/p\" }",
	     "t.conf:1:28: crowdsec machine without push tables"},
	    {"crowdsec { url \"http://l/\" machine m file \"/p\" push <t> }",
	     "t.conf:1:38: expected \"password\", not \"file\""},
	    {"crowdsec { " PULL " machine m password file \"/p\" push <cs> }",
	     "t.conf:1:90: crowdsec cannot push <cs>, the table it pulls into"},
	    {"crowdsec { " PULL " push }", "t.conf:1:66: expected a table (<name>), not \"}\""},
	    {"crowdsec { " PULL " every 0s }", "t.conf:1:67: every \"0s\" is too small (minimum 1s)"},
	    {"crowdsec { " PULL " every 10s every 10s }", "t.conf:1:71: duplicate \"every\""},
	    {"crowdsec { " PULL " max-bytes 1K }",
	     "t.conf:1:71: max-bytes \"1K\" is too small (minimum 4096)"},
	    {"crowdsec { " PULL " frequency 10s }", "t.conf:1:61: unknown keyword \"frequency\""},
	    {"crowdsec { " PULL " }\ncrowdsec { " PULL " }", "t.conf:2:1: a second crowdsec block"},
	    {"table <cs> const\ncrowdsec { " PULL " }",
	     "t.conf:2:57: table <cs> is const: crowdsec cannot list sources in it"},
	    {"crowdsec { " PULL " }\ntable <cs> persist const",
	     "t.conf:2:20: table <cs> is const: crowdsec cannot list sources in it"},
	};
#undef PULL

	check_bad_inputs(cases, sizeof(cases) / sizeof(cases[0]), "bad crowdsec block");
}

static void test_policy_block(void)
{
	static const char text[] =
	    "spamd {\n"
	    "\ttarpit no\n"
	    "\tblacklist b { file \"/b\" msg \"no\" policy defer }\n"
	    "\tblacklist c { file \"/c\" msg \"no\" policy reject }\n"
	    "\tblacklist d { file \"/d\" msg \"no\" }\n"
	    "}\n"
	    "policy {\n"
	    "\tlisten unix \"/var/spool/postfix/private/greywall\" mode 0660 group root\n"
	    "\tlisten 127.0.0.1 port 10023\n"
	    "\tlisten ::1\n"
	    "\tdefer-message \"Wait %s seconds for %r, 100%%\"\n"
	    "\tx-greylist-header no\n"
	    "}\n";
	const struct config_policy *pol;
	struct config cfg;
	char err[256] = "", addr[ADDR_STRLEN];
	int ret = load(text, &cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "policy block parses (%s)", err);
	if (ret)
		return;
	pol = cfg.policy;
	CHECK(pol != NULL && pol->nlisten == 3, "three listen sockets");
	CHECK_STR(pol->listen[0].path, "/var/spool/postfix/private/greywall", "unix path");
	CHECK_INT(pol->listen[0].mode, 0660, "mode 0660");
	CHECK_STR(pol->listen[0].group, "root", "group kept");
	CHECK_INT(pol->listen[0].gid, 0, "and looked up");
	CHECK(pol->listen[1].path == NULL && pol->listen[1].port == 10023, "127.0.0.1 port 10023");
	addr_format(&pol->listen[2].addr, addr, sizeof(addr));
	CHECK_STR(addr, "::1", "IPv6 listen");
	CHECK_INT(pol->listen[2].port, CONFIG_POLICY_PORT, "postgrey's port by default");
	CHECK_STR(pol->defer_message, "Wait %s seconds for %r, 100%%", "defer-message kept");
	CHECK(!pol->x_greylist_header, "x-greylist-header no");
	CHECK(!cfg.spamd->tarpit, "tarpit no");
	CHECK(cfg.spamd->lists[0].policy_defer && !cfg.spamd->lists[1].policy_defer &&
		  !cfg.spamd->lists[2].policy_defer,
	      "policy defer per list, reject by default");
	config_free(&cfg);

	ret = load("policy { listen unix \"/run/p.sock\" }\nspamd { }\n", &cfg, err, sizeof(err));
	CHECK_INT(ret, 0, "a policy block before the spamd block (%s)", err);
	if (ret)
		return;
	pol = cfg.policy;
	CHECK_INT(pol->listen[0].mode, CONFIG_POLICY_MODE, "a unix socket's default mode");
	CHECK(pol->listen[0].group == NULL, "no group by default");
	CHECK_STR(pol->defer_message, CONFIG_POLICY_DEFER_MESSAGE, "postgrey's defer message");
	CHECK(pol->x_greylist_header, "x-greylist-header yes by default");
	CHECK(cfg.spamd->tarpit, "tarpit yes by default");
	config_free(&cfg);
}

static void test_policy_bad_inputs(void)
{
	static const struct bad_input cases[] = {
	    {"policy { listen 127.0.0.1 }",
	     "t.conf:1:1: the policy service greylists on the spamd block's greylist: add a spamd "
	     "block (spamd { tarpit no } for no tarpit)"},
	    {"spamd { }\npolicy { }", "t.conf:2:1: policy has no listen socket"},
	    {"spamd { }\npolicy { listen unix \"run/p\" }",
	     "t.conf:2:22: socket path \"run/p\" is not absolute"},
	    {"spamd { }\npolicy { listen unix \"/p\" mode 0888 }",
	     "t.conf:2:32: mode \"0888\" is not an octal mode such as 0660"},
	    {"spamd { }\npolicy { listen unix \"/p\" mode 4755 }",
	     "t.conf:2:32: mode \"4755\": only permission bits (at most 0777)"},
	    {"spamd { }\npolicy { listen unix \"/p\" mode 0600 mode 0600 }",
	     "t.conf:2:37: duplicate \"mode\""},
	    {"spamd { }\npolicy { listen unix \"/p\" group \"no such group here\" }",
	     "t.conf:2:33: group \"no such group here\": no such group"},
	    {"spamd { }\npolicy { listen 192.0.2.0/24 }",
	     "t.conf:2:17: listen \"192.0.2.0/24\" is a network, not an address"},
	    {"spamd { }\npolicy { listen 127.0.0.1 port 0 }",
	     "t.conf:2:32: port \"0\" is too small (minimum 1)"},
	    {"spamd { }\npolicy { listen 127.0.0.1 listen 127.0.0.1 port 10023 }",
	     "t.conf:2:27: duplicate policy listen socket"},
	    {"spamd { }\npolicy { listen unix \"/p\" listen unix \"/p\" }",
	     "t.conf:2:27: duplicate policy listen socket"},
	    {"spamd { }\npolicy { listen ::1 defer-message \"50% off\" }",
	     "t.conf:2:35: defer-message \"50% off\": % is followed by r, s or %"},
	    {"spamd { }\npolicy { listen ::1 defer-message \"a\" defer-message \"b\" }",
	     "t.conf:2:39: duplicate \"defer-message\""},
	    {"spamd { }\npolicy { listen ::1 x-greylist-header maybe }",
	     "t.conf:2:39: expected yes or no, not \"maybe\""},
	    {"spamd { }\npolicy { listen ::1 }\npolicy { listen ::1 }",
	     "t.conf:3:1: a second policy block"},
	    {"spamd { tarpit maybe }", "t.conf:1:16: expected yes or no, not \"maybe\""},
	    {"spamd { tarpit no tarpit no }", "t.conf:1:19: duplicate \"tarpit\""},
	    {"spamd { blacklist b { file \"/b\" msg \"m\" policy later } }",
	     "t.conf:1:48: expected defer or reject, not \"later\""},
	    {"spamd { blacklist b { file \"/b\" msg \"m\" }\n"
	     "whitelist w { file \"/w\" policy defer } }",
	     "t.conf:2:25: \"policy\" is not valid in a whitelist"},
	};

	check_bad_inputs(cases, sizeof(cases) / sizeof(cases[0]), "bad policy block");
}

static void test_watch_bad_inputs(void)
{
#define OK_WATCH "file \"/l\" pattern sshd on-trap <t>"
	static const struct bad_input cases[] = {
	    {"watch { " OK_WATCH " }", "t.conf:1:7: invalid watch name \"{\""},
	    {"watch", "t.conf:1:1: missing a watch name after \"watch\""},
	    {"watch po.p3 { " OK_WATCH " }", "t.conf:1:7: invalid watch name \"po.p3\""},
	    {"watch a2345678901234567890123456789012 { " OK_WATCH " }",
	     "t.conf:1:7: watch name \"a2345678901234567890123456789012\" is too long (at most 31 "
	     "characters)"},
	    {"watch a { " OK_WATCH " }\nwatch a { " OK_WATCH " }",
	     "t.conf:2:7: watch \"a\" declared twice"},
	    {"watch a { pattern sshd on-trap <t> }", "t.conf:1:7: watch \"a\" has no file or journal"},
	    {"watch a { file \"/l\" on-trap <t> }", "t.conf:1:7: watch \"a\" has no pattern"},
	    {"watch a { file \"/l\" pattern sshd }",
	     "t.conf:1:7: watch \"a\" has no on-trap or on-failures"},
	    {"watch a { file \"/l\" journal pattern sshd on-trap <t> }",
	     "t.conf:1:21: watch \"a\" reads files or the journal, not both"},
	    {"watch a { journal file \"/l\" pattern sshd on-trap <t> }",
	     "t.conf:1:19: watch \"a\" reads files or the journal, not both"},
	    {"watch a { journal journal " OK_WATCH " }", "t.conf:1:19: duplicate \"journal\""},
	    {"watch a { journal directory \"/a\" directory \"/b\" pattern sshd on-trap <t> }",
	     "t.conf:1:34: duplicate \"directory\""},
	    {"watch a { journal unit \"\" pattern sshd on-trap <t> }",
	     "t.conf:1:24: empty unit name"},
	    {"watch a { " OK_WATCH " pattern dovecot }", "t.conf:1:46: duplicate \"pattern\""},
	    {"watch a { file \"/l\" pattern imapd on-trap <t> }",
	     "t.conf:1:29: unknown pattern \"imapd\" (dovecot, sshd, postfix-sasl or regex \"...\")"},
	    {"watch a { file \"/l\" pattern }", "t.conf:1:29: expected a pattern, not \"}\""},
	    {"watch a { file \"/l\" pattern regex }", "t.conf:1:35: expected regex, not \"}\""},
	    {"watch a { " OK_WATCH " on-trap <u> }", "t.conf:1:46: duplicate \"on-trap\""},
	    {"watch a { " OK_WATCH " ignore <u> ignore <v> }", "t.conf:1:57: duplicate \"ignore\""},
	    {"watch a { " OK_WATCH " on-failures 0 within 1m <b> }",
	     "t.conf:1:58: on-failures \"0\" is too small (minimum 1)"},
	    {"watch a { " OK_WATCH " on-failures 1001 within 1m <b> }",
	     "t.conf:1:58: on-failures \"1001\" is too large (maximum 1000)"},
	    {"watch a { " OK_WATCH " on-failures 5 in 1m <b> }",
	     "t.conf:1:60: expected \"within\", not \"in\""},
	    {"watch a { " OK_WATCH " on-failures 5 within 0s <b> }",
	     "t.conf:1:67: within \"0s\" is too small (minimum 1s)"},
	    {"watch a { " OK_WATCH " on-failures 5 within 8d <b> }",
	     "t.conf:1:67: within \"8d\" is too large (maximum 604800s)"},
	    {"watch a { " OK_WATCH " on-failures 5 within 1m b }",
	     "t.conf:1:70: expected \"<\", not \"b\""},
	    {"watch a { " OK_WATCH " on-failures 5 within 1m <b>\n on-failures 2 within 1m <b> }",
	     "t.conf:2:2: duplicate \"on-failures\""},
	    {"watch a { " OK_WATCH " max-sources 0 }",
	     "t.conf:1:58: max-sources \"0\" is too small (minimum 1)"},
	    {"watch a { " OK_WATCH " max-sources 10000001 }",
	     "t.conf:1:58: max-sources \"10000001\" is too large (maximum 10000000)"},
	    {"watch a { " OK_WATCH " max-sources 5 max-sources 5 }",
	     "t.conf:1:60: duplicate \"max-sources\""},
	    {"watch a { " OK_WATCH " lines 5 }", "t.conf:1:46: unknown keyword \"lines\""},
	    {"watch a { " OK_WATCH " } x", "t.conf:1:48: unexpected \"x\""},
	    {"table <t> const\nwatch a { " OK_WATCH " }",
	     "t.conf:2:43: table <t> is const: watch \"a\" cannot list sources in it"},
	    {"table <b> const\nwatch a { " OK_WATCH " on-failures 5 within 1m <b> }",
	     "t.conf:2:71: table <b> is const: watch \"a\" cannot list sources in it"},
	    {"watch a { " OK_WATCH " }\ntable <t> persist const",
	     "t.conf:2:19: table <t> is const: watch \"a\" cannot list sources in it"},
	    {"trap-users \"/x\"", "t.conf:1:12: expected \"file\", not \"/x\""},
	    {"trap-users file", "t.conf:1:12: missing file name after \"file\""},
	    {"trap-users file \"/x\" \"/y\"", "t.conf:1:22: unexpected \"/y\""},
	};
#undef OK_WATCH
	struct config cfg;
	char err[256] = "";
	int ret;

	check_bad_inputs(cases, sizeof(cases) / sizeof(cases[0]), "bad watch block");
	/* The regex library's own words follow the position: only the start is ours. */
	ret = load("watch a {\n file \"/l\"\n pattern regex \"(?<addr>[0-9.]+\" on-trap <t> }", &cfg,
		   err, sizeof(err));
	CHECK(ret == -EINVAL && !strncmp(err, "t.conf:3:16: invalid regex \"(?<addr>[0-9.]+\": ",
					 strlen("t.conf:3:16: invalid regex \"(?<addr>[0-9.]+\": ")),
	      "a regex that does not compile: %s", err);
	ret = load("watch a { file \"/l\" pattern regex \"from (\\\\S+)\" on-trap <t> }", &cfg, err,
		   sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "t.conf:1:35: invalid regex \"from (\\\\S+)\": "),
	      "a regex without (?<addr>): %s", err);
}

/* A table's `exchange { }`: its peers, their `every`, and what is refused. */
static void test_exchange(void)
{
	static const struct bad_input bad[] = {
	    {"table <a> exchange { }\n", "t.conf:1:11: empty exchange: name a peer"},
	    {"table <a> exchange { peer \"rel/path\" }\n",
	     "t.conf:1:27: peer \"rel/path\" is neither an absolute path nor an http(s) URL"},
	    {"table <a> exchange { peer /x }\n",
	     "t.conf:1:27: expected a peer's path or URL in quotes, not \"/\""},
	    {"table <a> exchange { peer \"/x\" peer \"/x\" }\n",
	     "t.conf:1:37: peer \"/x\" given twice"},
	    {"table <a> exchange { peer \"/x\" every 10s }\n",
	     "t.conf:1:38: every \"10s\" is too small (minimum 60s)"},
	    {"table <a> exchange { peer \"/x\" every 8d }\n",
	     "t.conf:1:38: every \"8d\" is too large (maximum 604800s)"},
	    {"table <a> exchange { peer \"/x\" every 5q }\n",
	     "t.conf:1:38: invalid duration \"5q\""},
	    {"table <a> exchange { fetch \"/x\" }\n", "t.conf:1:22: unknown keyword \"fetch\""},
	    {"table <a> const exchange { peer \"/x\" }\n",
	     "t.conf:1:17: table <a> is const: peers cannot add to it"},
	    {"table <a> exchange { peer \"/x\" } const\n",
	     "t.conf:1:34: table <a> is const: peers cannot add to it"},
	    {"table <a> exchange { peer \"/x\" } exchange { peer \"/y\" }\n",
	     "t.conf:1:34: duplicate \"exchange\""},
	    {"table <a> exchange { peer \"https://gw2.example.org/bf.txt\" }\n",
	     "t.conf:1:27: peer \"https://gw2.example.org/bf.txt\" is a URL and nothing fetches "
	     "it: set fetch \"COMMAND -- %s\" (or the spamd block's fetch)"},
	    {"set fetch \"curl -sf %s\"\n",
	     "t.conf:1:11: fetch \"curl -sf %s\" must end with \"-- %s\" and hold no other % but words %t"},
	    {"set fetch \"curl -- %s\"\nset fetch \"wget -- %s\"\n", "t.conf:2:11: fetch set twice"},
	    {"set fetch-timeout 2h\n",
	     "t.conf:1:19: fetch-timeout \"2h\" is too large (maximum 3600s)"},
	    {"set fetch-max-bytes 1G\n",
	     "t.conf:1:21: fetch-max-bytes \"1G\" is too large (maximum 536870912)"},
	    {"table <a> exchange { peer \"/x\ty\" }\n",
	     "t.conf:1:27: peer \"/x\\x09y\" holds a control character or a blank"},
	    {"table <a> exchange { peer \"/x\" every }\n",
	     "t.conf:1:38: invalid duration \"}\""},
	    {"table <a> exchange { peer exec \" \" }\n", "t.conf:1:32: empty command"},
	    {"set fetch \"curl -z%t -- %s\"\n",
	     "t.conf:1:11: fetch \"curl -z%t -- %s\" must end with \"-- %s\" and hold no other % but "
	     "words %t"},
	    {"table <a> exchange { peer exec /x }\n", "t.conf:1:32: expected a command in quotes, not \"/\""},
	    {"table <a> exchange { peer exec \"get-list\" peer exec \"get-list\" }\n",
	     "t.conf:1:53: peer \"get-list\" given twice"},
	};
	struct config cfg;
	char err[256] = "";

	CHECK_INT(load("table <bf> persist timeout 28d exchange { peer \"/var/lib/p/bf_full.txt\""
		       " every 5m; peer \"/var/lib/q/bf.txt\";\n"
		       "  peer \"/var/lib/r/bf.txt\" every 1h; peer \"/s\"; }\n",
		       &cfg, err, sizeof(err)),
		  0, "exchange block parses: %s", err);
	CHECK_INT(cfg.tables[0].npeers, 4, "four peers");
	if (cfg.tables[0].npeers == 4) {
		CHECK_STR(cfg.tables[0].peers[0].source, "/var/lib/p/bf_full.txt", "first peer");
		CHECK_INT(cfg.tables[0].peers[0].every, 300, "every 5m; with its semicolon");
		CHECK_INT(cfg.tables[0].peers[1].every, CONFIG_EXCHANGE_EVERY_DEFAULT,
			  "every defaults to 30 minutes");
		CHECK_INT(cfg.tables[0].peers[2].every, 3600, "every 1h;");
		CHECK_STR(cfg.tables[0].peers[3].source, "/s", "a \";\" before \"}\"");
		CHECK_INT(cfg.tables[0].peers[3].line, 2, "a peer's line");
	}
	CHECK_INT(cfg.tables[0].timeout, 28 * 86400, "timeout beside exchange");
	CHECK(cfg.fetch == NULL, "no fetch command by default");
	CHECK_INT(cfg.fetch_timeout, 120, "fetch-timeout defaults to 2 minutes");
	CHECK(cfg.fetch_max_bytes == 512ULL << 20, "fetch-max-bytes defaults to 512M");
	config_free(&cfg);

	CHECK_INT(load("table <bf> exchange { peer \"https://gw2.example.org/bf.txt\" }\n"
		       "set fetch \"curl -sf -- %s\"\nset fetch-timeout 30s\nset fetch-max-bytes 64M\n",
		       &cfg, err, sizeof(err)),
		  0, "a URL peer with set fetch (after it): %s", err);
	CHECK_STR(cfg.fetch ? cfg.fetch : "", "curl -sf -- %s", "set fetch");
	CHECK_INT(cfg.fetch_timeout, 30, "set fetch-timeout");
	CHECK(cfg.fetch_max_bytes == 64ULL << 20, "set fetch-max-bytes");
	config_free(&cfg);
	CHECK_INT(load("set fetch \"curl -sf -z %t -- %s\"\n", &cfg, err, sizeof(err)), 0,
		  "a conditional fetch command (a word %%t): %s", err);
	config_free(&cfg);
	CHECK_INT(load("table <bf> exchange { peer \"http://gw2.example.org/bf.txt\" }\n"
		       "spamd { fetch \"curl -sf -- %s\" }\n",
		       &cfg, err, sizeof(err)),
		  0, "a URL peer with the spamd block's fetch: %s", err);
	config_free(&cfg);
	CHECK_INT(load("table <bf> exchange { peer exec \"/usr/local/bin/get-list bf | sort\" every 10m\n"
		       "  peer \"/usr/local/bin/get-list bf | sort\" }\n",
		       &cfg, err, sizeof(err)),
		  0, "an exec peer needs no fetch command; a path of the same text is another: %s",
		  err);
	if (cfg.ntables && cfg.tables[0].npeers == 2) {
		CHECK_STR(cfg.tables[0].peers[0].source, "exec /usr/local/bin/get-list bf | sort",
			  "an exec peer's source is \"exec COMMAND\"");
		CHECK_INT(cfg.tables[0].peers[0].every, 600, "with its every");
	}
	config_free(&cfg);
	check_bad_inputs(bad, sizeof(bad) / sizeof(bad[0]), "exchange");
}

int main(void)
{
	test_spec_example();
	test_defaults_and_set();
	test_macros_and_continuations();
	test_ports_and_protocols();
	test_max_src_states();
	test_tables();
	test_queue_declared_later();
	test_durations();
	test_bad_inputs();
	test_spamd_spec_example();
	test_spamd_defaults();
	test_spamd_options();
	test_spamd_bad_inputs();
	test_spamd_tables();
	test_watch_block();
	test_watch_bad_inputs();
	test_crowdsec_block();
	test_crowdsec_bad_inputs();
	test_policy_block();
	test_policy_bad_inputs();
	test_exchange();
	test_too_many_rules();
	test_load_file();
	test_keywords_documented();
	return check_done();
}
