// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Per-packet cost of the XDP data path, side by side, with BPF_PROG_TEST_RUN:
 *
 *   empty       an XDP program that only returns XDP_PASS (the floor)
 *   xdpfilt_ip  Debian xdp-tools' xdp-filter, policy allow, features ipv4/ipv6
 *               (what `xdp-filter load -p allow -f ipv4 IF` attaches), its
 *               filter_ipv4 map filled to capacity with source-drop entries
 *   xdpfilt_all the same with every feature (`xdp-filter load IF`, the default)
 *   gw_100      greywall_xdp, one rule `block drop quick from <t0>`, 50 hosts
 *               and 50 IPv4 prefixes in <t0>
 *   gw_1m       the same rule, 1,000,000 hosts and 100,000 IPv4 prefixes in
 *               <t0> (plus 10,000 IPv6 prefixes for the IPv6 case)
 *   gw1m_flow   a data segment of an established pop3 flow: the
 *               same tables, 50 rules (the default config's rules with their
 *               limits and 45 more), 50,000 other flows tracked; and
 *               gw1m_rules50_pass, a SYN to port 25 under those rules
 *
 * Every case runs one Ethernet/IP/TCP SYN frame `repeat` times in the kernel
 * (the call timed here, over repeat: the mean ns per run); each case is measured `runs`
 * times, interleaved with the others, and the median is reported. Nothing
 * is sent anywhere: frames only go through BPF_PROG_TEST_RUN, and the
 * addresses in them are documentation addresses (RFC 5737, RFC 3849).
 *
 * Output: a table, then one "RESULT key=value ..." line per case and one
 * "RATIO ..." line per target, for bench/run.sh.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "greywall.h"
#include "lib/checksum.h"
#include "xdp_probe.h"
#include "datapath/counters.h"
#include "datapath/mapindex.h"
#include "datapath/ruleindex.h"
#include "datapath/sweeper.h"
#include "xdp.skel.h"

#define XDPFILT_DIR "/usr/lib/x86_64-linux-gnu/bpf"
/* xdp-filter's common_kern_user.h: map value = flags | hits << COUNTER_SHIFT. */
#define XDPFILT_MAP_FLAG_SRC (1 << 0)

#define MAX_CASES 32
#define MAX_RUNS 31
#define SWEEP_MAX 64

/* Documentation addresses: the frames' sources and destination. */
#define V4_DST "198.51.100.1"
#define V4_UNLISTED "198.51.100.7"
#define V4_LISTED_HOST "203.0.113.5"
#define V4_LISTED_NET "192.0.2.0"	/* /24, in the prefix trie */
#define V4_IN_LISTED_NET "192.0.2.77"
#define V6_DST "2001:db8::1"
#define V6_UNLISTED "2001:db8::7"
/* IPv6 listed entries in 3fff::/20 (documentation, RFC 9637), apart from V6_UNLISTED's /32. */
#define V6_LISTED_HOST "3fff:1::5"
#define V6_LISTED_NET "3fff:2:77::"	/* /48, in the IPv6 trie */
#define V6_IN_LISTED_NET "3fff:2:77::77"

static unsigned int opt_runs = 5;
static unsigned long opt_repeat = 1000000;
static unsigned long opt_hosts = 1000000;
static unsigned long opt_prefixes = 100000;
static unsigned long opt_prefixes6 = 10000;
static unsigned int opt_sweep = 64;
static bool opt_verbose;
static bool opt_kernel_time;
static bool opt_diag = true;

struct bench_case {
	const char *name;
	const char *desc;
	int prog_fd;
	uint8_t pkt[128];
	uint32_t len;
	uint32_t want;		/* expected XDP verdict */
	double ns[MAX_RUNS];
	double median;
};

static struct bench_case cases[MAX_CASES];
static int ncases;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !opt_verbose)
		return 0;
	if (level == LIBBPF_INFO && !opt_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "xdp_cost: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* A deterministic generator (splitmix64): the same tables every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A bijection on 32-bit values: distinct inputs give distinct addresses. */
static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static uint32_t v4(const char *text)
{
	struct in_addr a;

	if (inet_pton(AF_INET, text, &a) != 1)
		die(text, EINVAL);
	return ntohl(a.s_addr);
}

static uint32_t plen_mask(unsigned int plen)
{
	return plen ? 0xffffffffU << (32 - plen) : 0;
}

/* The three documentation /24s the frames use stay out of the random data. */
static bool v4_touches_doc(uint32_t net, unsigned int plen)
{
	static const char *docs[] = { "192.0.2.0", "198.51.100.0", "203.0.113.0" };

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		uint32_t d = v4(docs[i]);
		unsigned int p = plen < 24 ? plen : 24;

		if ((d & plen_mask(p)) == (net & plen_mask(p)))
			return true;
	}
	return false;
}

/* ---- frames ---------------------------------------------------------- */

static struct bench_case *add_case(const char *name, const char *desc, int prog_fd, int family,
				   const char *src, uint32_t want)
{
	struct bench_case *c;

	if (ncases == MAX_CASES)
		die("too many cases", E2BIG);
	/* The frame's family is the source's (bench_syn_frame()). */
	if ((family == 6) != (strchr(src, ':') != NULL))
		die(name, EINVAL);
	c = &cases[ncases++];
	c->name = name;
	c->desc = desc;
	c->prog_fd = prog_fd;
	c->want = want;
	c->len = bench_syn_frame(c->pkt, src, V4_DST, V6_DST, 25);
	return c;
}

/* ---- measurement ----------------------------------------------------- */

/*
 * One BPF_PROG_TEST_RUN of repeat runs: mean ns per run, or <0 on error.
 * Timed here around the call rather than taken from opts.duration, which
 * the kernel truncates to whole ns: a 1 ns step is 7% of a pass verdict.
 * The call's own cost is a few microseconds over a million runs. With -k,
 * the kernel's own time instead: it leaves out the slices other tasks took
 * while the loop yielded the CPU (a machine shared with other work), at the
 * price of whole ns.
 */
static double test_run(int prog_fd, const void *pkt, uint32_t len, unsigned long repeat,
		       uint32_t *retval)
{
	uint8_t out[256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = (int)repeat);
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*retval = opts.retval;
	if (opt_kernel_time)
		return opts.duration;
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
	       (double)repeat;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	double tmp[MAX_RUNS > SWEEP_MAX ? MAX_RUNS : SWEEP_MAX];

	memcpy(tmp, v, n * sizeof(double));
	qsort(tmp, n, sizeof(double), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static const char *verdict_name(uint32_t v)
{
	static const char *names[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
				       "XDP_REDIRECT" };

	return v <= 4 ? names[v] : "?";
}

static void measure_all(void)
{
	/* A short warm-up of every case, then runs interleaved across cases. */
	for (int i = 0; i < ncases; i++) {
		uint32_t ret;

		if (test_run(cases[i].prog_fd, cases[i].pkt, cases[i].len, 100000, &ret) < 0)
			die(cases[i].name, errno);
		if (ret != cases[i].want) {
			fprintf(stderr, "xdp_cost: %s: verdict %s, expected %s\n", cases[i].name,
				verdict_name(ret), verdict_name(cases[i].want));
			exit(1);
		}
	}
	for (unsigned int r = 0; r < opt_runs; r++) {
		for (int i = 0; i < ncases; i++) {
			uint32_t ret;
			double ns = test_run(cases[i].prog_fd, cases[i].pkt, cases[i].len, opt_repeat,
					     &ret);

			if (ns < 0)
				die(cases[i].name, (int)-ns);
			if (ret != cases[i].want)
				die(cases[i].name, EPROTO);
			cases[i].ns[r] = ns;
		}
	}
	for (int i = 0; i < ncases; i++)
		cases[i].median = median(cases[i].ns, opt_runs);
}

static struct bench_case *find_case(const char *name)
{
	for (int i = 0; i < ncases; i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	die(name, ENOENT);
	return NULL;
}

/* ---- programs -------------------------------------------------------- */

static int load_empty(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 2 /* XDP_PASS */ },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "empty_pass", "GPL", insns, 2, NULL);

	if (fd < 0)
		die("load the empty XDP program", errno);
	return fd;
}

struct prog_info {
	uint32_t xlated_insns;
	uint32_t jited_bytes;
};

static struct prog_info prog_info(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	struct prog_info pi = { 0 };

	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		pi.xlated_insns = info.xlated_prog_len / 8;
		pi.jited_bytes = info.jited_prog_len;
	}
	return pi;
}

/*
 * Open one of xdp-filter's objects without its pinning (the benchmark
 * must not leave or reuse anything under /sys/fs/bpf), load it, and fill
 * filter_ipv4 to max_entries with source-drop entries; listed is one of them.
 */
static struct bpf_object *load_xdpfilt(const char *file, uint32_t listed, int *prog_fd,
				       uint32_t *capacity)
{
	char path[256];
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	int ncpus = libbpf_num_possible_cpus(), fd, err;
	uint64_t *vals;
	uint32_t max, n = 0;

	snprintf(path, sizeof(path), "%s/%s", XDPFILT_DIR, file);
	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		die(path, errno);
	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
	err = bpf_object__load(obj);
	if (err)
		die(path, err);
	prog = bpf_object__next_program(obj, NULL);
	*prog_fd = bpf_program__fd(prog);
	map = bpf_object__find_map_by_name(obj, "filter_ipv4");
	if (!map)
		die("xdp-filter filter_ipv4", ENOENT);
	fd = bpf_map__fd(map);
	max = bpf_map__max_entries(map);
	vals = calloc((size_t)ncpus, sizeof(*vals));
	for (int c = 0; c < ncpus; c++)
		vals[c] = XDPFILT_MAP_FLAG_SRC;
	/* The key is the address as it sits in the packet (network order). */
	{
		uint32_t key = htonl(listed);

		if (bpf_map_update_elem(fd, &key, vals, BPF_NOEXIST))
			die("xdp-filter: add the listed source", errno);
		n++;
	}
	for (uint32_t i = 0; n < max; i++) {
		uint32_t a = mix32(i ^ 0x5bd1e995U), key = htonl(a);

		if (v4_touches_doc(a, 32))
			continue;
		if (bpf_map_update_elem(fd, &key, vals, BPF_NOEXIST)) {
			if (errno == EEXIST)
				continue;
			die("xdp-filter: fill filter_ipv4", errno);
		}
		n++;
	}
	/* Capacity reached: one more entry must not fit. */
	{
		uint32_t key = htonl(v4("198.51.100.200"));

		if (!bpf_map_update_elem(fd, &key, vals, BPF_NOEXIST))
			die("xdp-filter: filter_ipv4 took more than max_entries", EOVERFLOW);
	}
	free(vals);
	*capacity = n;
	return obj;
}

/* ---- greywall -------------------------------------------------------- */

#define T0 1ULL

/*
 * A counter slot for a new entry of <t0>, a `counters` table, as
 * greywalld's tables give one (user/datapath/counters.c).
 */
static uint32_t gw_slot(struct counter_slots *slots)
{
	uint32_t slot;
	int err = counter_slots_take(slots, &slot);

	if (err)
		die("counter slot", -err);
	return slot;
}

static void gw_put_host4(int fd, uint32_t a, uint64_t tables, uint32_t slot)
{
	struct gw_addr key = { .bytes = { [10] = 0xff, [11] = 0xff } };
	struct gw_entry e = { .tables = tables, .counter = slot };
	uint32_t be = htonl(a);

	memcpy(&key.bytes[12], &be, 4);
	if (bpf_map_update_elem(fd, &key, &e, BPF_ANY))
		die("gw_hosts: put", errno);
}

/* Returns 0, or -EEXIST when the prefix was already there. */
static int gw_put_net4(int fd, uint32_t net, unsigned int plen, uint64_t tables, uint32_t slot)
{
	struct gw_lpm4_key key = { .prefixlen = plen };
	struct gw_entry e = { .tables = tables, .counter = slot };
	uint32_t be = htonl(net & plen_mask(plen));

	memcpy(key.bytes, &be, 4);
	if (bpf_map_update_elem(fd, &key, &e, BPF_NOEXIST))
		return -errno;
	return 0;
}

static void index_host4(struct mapindex *index, uint32_t a)
{
	struct addr_prefix p = { .family = AF_INET, .plen = 32 };
	uint32_t be = htonl(a);
	int err;

	memcpy(p.bytes, &be, 4);
	err = mapindex_host(index, &p, true);
	if (err)
		die("mapindex_host", -err);
}

/* An IPv4 network (net in host order) or an IPv6 one (bytes6), all in <t0>. */
static void index_net(struct mapindex *index, int family, uint32_t net, const uint8_t *bytes6,
		      unsigned int plen, uint32_t counter)
{
	struct addr_prefix p = { .family = (uint8_t)family, .plen = (uint8_t)plen };
	int err;

	if (family == AF_INET) {
		uint32_t be = htonl(net & plen_mask(plen));

		memcpy(p.bytes, &be, 4);
	} else {
		memcpy(p.bytes, bytes6, 16);
	}
	err = mapindex_net(index, &p, T0, counter);
	if (err)
		die("mapindex_net", -err);
}

/*
 * A prefix length as blocklists and routing tables have them: mostly /24,
 * /16../23 for most of the rest, a few short ones (/8../15 are 0.5%).
 */
static unsigned int random_plen4(void)
{
	unsigned int r = (unsigned int)(rng() % 1000);

	if (r < 550)
		return 24;
	if (r < 650)
		return 23;
	if (r < 750)
		return 22;
	if (r < 820)
		return 21;
	if (r < 880)
		return 20;
	if (r < 995)
		return 16 + (unsigned int)(rng() % 4);	/* /16../19 */
	return 8 + (unsigned int)(rng() % 8);		/* /8../15 */
}

/*
 * A prefix length as published blocklists have them (Spamhaus DROP,
 * FireHOL level1): /11../24 mixed, a third of them /24, a quarter /22../23,
 * a fifth /19../21, the rest /11../18.
 */
static unsigned int blocklist_plen4(void)
{
	unsigned int r = (unsigned int)(rng() % 100);

	if (r < 35)
		return 24;
	if (r < 60)
		return 22 + (unsigned int)(rng() % 2);
	if (r < 80)
		return 19 + (unsigned int)(rng() % 3);
	return 11 + (unsigned int)(rng() % 8);
}

/*
 * Install rules[0..n) as greywalld does: the rules map, the compiled index
 * the data path decides from, the rule count, and <t0> declared with
 * `counters`, as the tables in the field are.
 */
static void gw_install_rules(struct gw_xdp *skel, struct gw_rule *rules, uint32_t n)
{
	struct ruleindex_maps maps = { bpf_map__fd(skel->maps.gw_rule_index),
				       bpf_map__fd(skel->maps.gw_rule_ports),
				       bpf_map__fd(skel->maps.gw_rule_ifaces),
				       bpf_map__fd(skel->maps.gw_config),
				       bpf_map__fd(skel->maps.gw_flow_ports) };
	uint32_t key;
	uint64_t val;
	int err;

	for (uint32_t i = 0; i < n; i++) {
		rules[i].line = i + 1;
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.gw_rules), &i, &rules[i], BPF_ANY))
			die("gw_rules", errno);
	}
	err = ruleindex_publish(&maps, rules, n);
	if (err)
		die("ruleindex_publish", -err);
	key = GW_CFG_NRULES;
	val = n;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.gw_config), &key, &val, BPF_ANY))
		die("gw_config", errno);
	key = GW_CFG_COUNTER_TABLES;
	val = T0;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.gw_config), &key, &val, BPF_ANY))
		die("gw_config", errno);
}

/*
 * nrules rules: `block drop quick from <tN>` for N = nrules-1 .. 1, none of
 * which the benchmark's entries are in, then `block drop quick from <t0>`.
 */
static void gw_setup_rules(struct gw_xdp *skel, uint32_t nrules)
{
	struct gw_rule rule = {
		.action = GW_ACT_BLOCK_DROP,
		.flags = GW_RULE_QUICK,
		.dport_lo = 0,
		.dport_hi = 65535,
		.overload_table = GW_NO_TABLE,
	};
	struct gw_rule rules[GW_MAX_RULES];

	for (uint32_t idx = 0; idx < nrules; idx++) {
		rules[idx] = rule;
		rules[idx].src_tables = 1ULL << (nrules - 1 - idx);
	}
	gw_install_rules(skel, rules, nrules);
}

/*
 * The field rules of deploy/greywall.conf (tables <longterm> <bruteforce>
 * <popflooders> are bits 1..3; <t0> stays the blocked table):
 *   block drop quick from <t0>, <longterm>, <bruteforce>
 *   pass in quick proto tcp from <popflooders> to port pop3 flags S/SA
 *   pass in proto tcp to port pop3 flags S/SA
 *   pass in proto tcp to port ssh
 * Unlike `block drop quick from <t0>` alone, rules match unlisted sources,
 * so every packet goes through the whole rule decision.
 */
static void gw_setup_field_rules(struct gw_xdp *skel)
{
	struct ruleindex_maps maps = { bpf_map__fd(skel->maps.gw_rule_index),
				       bpf_map__fd(skel->maps.gw_rule_ports),
				       bpf_map__fd(skel->maps.gw_rule_ifaces),
				       bpf_map__fd(skel->maps.gw_config),
				       bpf_map__fd(skel->maps.gw_flow_ports) };
	struct gw_rule block = { .action = GW_ACT_BLOCK_DROP, .flags = GW_RULE_QUICK,
				 .dport_hi = 65535, .overload_table = GW_NO_TABLE };
	struct gw_rule pop3 = { .action = GW_ACT_PASS, .proto_mask = GW_PROTO_TCP,
				.flags = GW_RULE_FLAGS_S_SA | GW_RULE_KEEP_STATE, .dport_lo = 110,
				.dport_hi = 110, .overload_table = GW_NO_TABLE };
	struct gw_rule rules[6] = { block, block, block, pop3, pop3, pop3 };
	uint32_t key = GW_CFG_COUNTER_TABLES;
	uint64_t val = T0;
	int err;

	rules[0].src_tables = T0;
	rules[1].src_tables = T0 << 1;
	rules[2].src_tables = T0 << 2;
	rules[3].src_tables = T0 << 3;
	rules[3].flags |= GW_RULE_QUICK;
	rules[5].dport_lo = rules[5].dport_hi = 22;
	rules[5].flags = GW_RULE_KEEP_STATE;
	err = ruleindex_publish(&maps, rules, 6);
	if (err)
		die("ruleindex_publish", -err);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.gw_config), &key, &val, BPF_ANY))
		die("gw_config", errno);
}

/*
 * The kernel's CPU vulnerability mitigations on one line: they decide what
 * a call and a return cost (SRSO's Safe RET: every one of them), so they
 * go with every result.
 */
static void print_vulnerabilities(void)
{
	const char *dir = "/sys/devices/system/cpu/vulnerabilities";
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	printf("cpu vulnerabilities:");
	for (int i = 0; i < n; i++) {
		char path[512], line[256] = "";
		FILE *f;

		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			f = fopen(path, "r");
			if (f) {
				if (fgets(line, sizeof(line), f))
					line[strcspn(line, "\n")] = 0;
				fclose(f);
			}
			printf(" %s: %s;", names[i]->d_name, line);
		}
		free(names[i]);
	}
	if (n < 0)
		printf(" (%s unreadable)", dir);
	else
		free(names);
	printf("\n");
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Fill skel's maps with <t0> entries: nhosts distinct IPv4 hosts (batched
 * into the hash), nnets IPv4 networks and nnets6 IPv6 networks (one update
 * each: the LPM trie has no batch update). The listed host and the listed
 * /24 are always among them, and the listed IPv6 host and /48; plen4 draws
 * the IPv4 networks' lengths; the generators restart from the same seeds,
 * so a table of N entries is the first N of a larger one.
 */
static void gw_fill(struct gw_xdp *skel, unsigned long nhosts, unsigned long nnets,
		    unsigned long nnets6, unsigned int (*plen4)(void))
{
	int hfd = bpf_map__fd(skel->maps.gw_hosts), pfd = bpf_map__fd(skel->maps.gw_prefix4);
	int p6fd = bpf_map__fd(skel->maps.gw_prefix6);
	const size_t chunk = 65536;
	struct gw_addr *keys = calloc(chunk, sizeof(*keys));
	struct gw_entry *vals = calloc(chunk, sizeof(*vals));
	unsigned long hosts = 0, nets = 0, nets6 = 0;
	struct mapindex_maps imaps = { bpf_map__fd(skel->maps.gw_index4),
				       bpf_map__fd(skel->maps.gw_classes),
				       bpf_map__fd(skel->maps.gw_index6),
				       bpf_map__fd(skel->maps.gw_config),
				       bpf_map__fd(skel->maps.gw_nets4),
				       bpf_map__fd(skel->maps.gw_nets6),
				       bpf_map__fd(skel->maps.gw_index6_slots) };
	struct counter_slots slots;
	struct mapindex index;
	struct timespec t0;
	uint32_t i = 0;
	int err;

	if (!keys || !vals)
		die("calloc", ENOMEM);
	err = counter_slots_init(&slots, bpf_map__fd(skel->maps.gw_counters),
				bpf_map__fd(skel->maps.gw_counters_spill));
	if (err)
		die("counter_slots_init", -err);
	/* greywalld's first-level index, kept as tables.c keeps it. */
	err = mapindex_init(&index, &imaps);
	if (err)
		die("mapindex_init", -err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	gw_put_host4(hfd, v4(V4_LISTED_HOST), T0, gw_slot(&slots));
	index_host4(&index, v4(V4_LISTED_HOST));
	hosts++;
	while (hosts < nhosts) {
		uint32_t n = 0;
		LIBBPF_OPTS(bpf_map_batch_opts, bopts, .elem_flags = BPF_ANY);

		while (n < chunk && hosts + n < nhosts) {
			uint32_t a = mix32(i++), be = htonl(a);

			if (v4_touches_doc(a, 32))
				continue;
			memset(&keys[n], 0, sizeof(keys[n]));
			keys[n].bytes[10] = keys[n].bytes[11] = 0xff;
			memcpy(&keys[n].bytes[12], &be, 4);
			memset(&vals[n], 0, sizeof(vals[n]));
			vals[n].tables = T0;
			vals[n].counter = gw_slot(&slots);
			n++;
		}
		if (bpf_map_update_batch(hfd, keys, vals, &n, &bopts))
			die("gw_hosts: update batch", errno);
		for (uint32_t k = 0; k < n; k++) {
			uint32_t be;

			memcpy(&be, &keys[k].bytes[12], 4);
			index_host4(&index, ntohl(be));
		}
		hosts += n;
	}
	if (nhosts > 1000)
		fprintf(stderr, "xdp_cost: %lu hosts loaded in %.2f s\n", hosts, seconds_since(&t0));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rng_state = 0x9e3779b97f4a7c15ULL;
	if (nnets) {
		uint32_t slot = gw_slot(&slots);

		if (gw_put_net4(pfd, v4(V4_LISTED_NET), 24, T0, slot))
			die("gw_prefix4: put the listed network", errno);
		index_net(&index, AF_INET, v4(V4_LISTED_NET), NULL, 24, slot);
		nets++;
	}
	while (nets < nnets) {
		unsigned int plen = plen4();
		uint32_t net = (uint32_t)rng() & plen_mask(plen);
		int err;

		if (v4_touches_doc(net, plen))
			continue;
		uint32_t slot = gw_slot(&slots);

		err = gw_put_net4(pfd, net, plen, T0, slot);
		if (err == -EEXIST) {
			counter_slots_give(&slots, slot);
			continue;
		}
		if (err)
			die("gw_prefix4: put", err);
		index_net(&index, AF_INET, net, NULL, plen, slot);
		nets++;
	}
	/* The listed IPv6 host and /48, each in a /32 of its own. */
	{
		struct addr_prefix h = { .family = AF_INET6, .plen = 128 };
		struct addr_prefix n = { .family = AF_INET6, .plen = 48 };
		struct gw_entry e = { .tables = T0, .counter = gw_slot(&slots) };
		struct gw_lpm6_key key = { .prefixlen = 48 };
		struct gw_addr hk;

		if (inet_pton(AF_INET6, V6_LISTED_HOST, h.bytes) != 1 ||
		    inet_pton(AF_INET6, V6_LISTED_NET, n.bytes) != 1)
			die("IPv6 listed entries", EINVAL);
		memcpy(hk.bytes, h.bytes, 16);
		if (bpf_map_update_elem(hfd, &hk, &e, BPF_ANY))
			die("gw_hosts: put the listed IPv6 host", errno);
		if (mapindex_host(&index, &h, true))
			die("mapindex_host", ENOMEM);
		e.counter = gw_slot(&slots);
		memcpy(key.bytes, n.bytes, 16);
		if (bpf_map_update_elem(p6fd, &key, &e, BPF_ANY))
			die("gw_prefix6: put the listed /48", errno);
		index_net(&index, AF_INET6, 0, key.bytes, 48, e.counter);
	}
	/* IPv6: /29../48 in 2000::/3, outside 2001:db8::/32 and 3fff::/20. */
	while (nets6 < nnets6) {
		struct gw_lpm6_key key = { .prefixlen = 29 + (uint32_t)(rng() % 20) };
		struct gw_entry e = { .tables = T0, .counter = gw_slot(&slots) };
		uint64_t hi = rng();
		unsigned int bits = key.prefixlen;

		hi = (hi & ~(7ULL << 61)) | (1ULL << 61);	/* 2000::/3 */
		hi &= ~0ULL << (64 - bits);
		for (int b = 0; b < 8; b++)
			key.bytes[b] = (uint8_t)(hi >> (56 - 8 * b));
		if ((hi >> 32) == 0x20010db8U || (hi >> 44) == 0x3fff0U) {
			counter_slots_give(&slots, e.counter);
			continue;
		}
		if (bpf_map_update_elem(p6fd, &key, &e, BPF_NOEXIST)) {
			if (errno == EEXIST) {
				counter_slots_give(&slots, e.counter);
				continue;
			}
			die("gw_prefix6: put", errno);
		}
		index_net(&index, AF_INET6, 0, key.bytes, key.prefixlen, e.counter);
		nets6++;
	}
	if (nnets > 1000)
		fprintf(stderr, "xdp_cost: %lu IPv4 + %lu IPv6 prefixes loaded in %.2f s\n", nets,
			nets6, seconds_since(&t0));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = mapindex_publish(&index);
	if (err)
		die("mapindex_publish", -err);
	if (nhosts > 1000 || nnets > 1000)
		fprintf(stderr, "xdp_cost: first-level index built and written in %.2f s\n",
			seconds_since(&t0));
	mapindex_free(&index);
	counter_slots_free(&slots);
	free(keys);
	free(vals);
}

/* True when a is in no table of skel (no host entry, no covering prefix). */
static bool gw_unlisted4(struct gw_xdp *skel, uint32_t a)
{
	struct gw_addr key = { .bytes = { [10] = 0xff, [11] = 0xff } };
	struct gw_lpm4_key lk = { .prefixlen = 32 };
	struct gw_entry e;
	uint32_t be = htonl(a);

	memcpy(&key.bytes[12], &be, 4);
	memcpy(lk.bytes, &be, 4);
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.gw_hosts), &key, &e) &&
	       bpf_map_lookup_elem(bpf_map__fd(skel->maps.gw_prefix4), &lk, &e);
}

/*
 * The pass path from many unlisted sources, not just one: opt_sweep random
 * addresses that no entry covers, each a full repeat. The trie walk depends
 * on where the address falls, so this is the pass cost over the table, not
 * at one point of it. Frames with these sources are never sent.
 */
static double sweep_pass(int prog_fd, struct gw_xdp *skel, uint64_t seed, double *minv,
			 double *maxv)
{
	double v[SWEEP_MAX] = { 0 };
	uint64_t saved = rng_state;
	unsigned int n = 0;

	rng_state = seed;
	while (n < opt_sweep) {
		uint32_t a = (uint32_t)rng(), ret;
		uint8_t pkt[128];
		char src[INET_ADDRSTRLEN];
		struct in_addr ia = { .s_addr = htonl(a) };
		uint32_t len;
		double ns;

		if ((a >> 28) >= 0xe || (a >> 24) == 0 || (a >> 24) == 127 || !gw_unlisted4(skel, a))
			continue;
		inet_ntop(AF_INET, &ia, src, sizeof(src));
		len = bench_syn_frame(pkt, src, V4_DST, V6_DST, 25);
		ns = test_run(prog_fd, pkt, len, opt_repeat, &ret);
		if (ns < 0)
			die("sweep", (int)-ns);
		if (ret != 2)
			die("sweep: an unlisted source was not passed", EPROTO);
		v[n++] = ns;
	}
	rng_state = saved;
	*minv = v[0];
	*maxv = v[0];
	for (unsigned int i = 1; i < n; i++) {
		*minv = v[i] < *minv ? v[i] : *minv;
		*maxv = v[i] > *maxv ? v[i] : *maxv;
	}
	return median(v, n);
}

/*
 * A greywall_xdp whose gw_counters has room for nslots counted entries, as
 * greywalld sizes it for the slots in use: none of them spills.
 */
static struct gw_xdp *gw_open_counted(unsigned long nslots)
{
	struct gw_xdp *skel = gw_xdp__open();

	if (!skel)
		die("gw_xdp__open", errno);
	if (bpf_map__set_max_entries(skel->maps.gw_counters, (uint32_t)nslots + 1))
		die("gw_counters: size", errno);
	if (gw_xdp__load(skel))
		die("gw_xdp__load", errno);
	return skel;
}

/* ---- established flows -------------------------------------------------- */

#define FLOW_RULES 50
#define FLOW_SPORT 40000
#define FLOW_DPORT 110		/* pop3 */
#define FLOW_SISN 0x1000000U	/* the server's ISN of the measured flow */
#define FLOW_RULE 3		/* `pass in proto tcp to port pop3 ... keep state (...)` */
#define FLOW_OTHERS 50000	/* other established flows in gw_flows (38% of its slots) */

/*
 * A greywall_xdp whose address maps are those of tables (the same 1M
 * hosts, tries and index, shared fds), with rules and flows of its own.
 */
static struct gw_xdp *gw_open_on_tables(struct gw_xdp *tables)
{
	struct bpf_map *shared[][2] = {
		{ NULL, tables->maps.gw_hosts },   { NULL, tables->maps.gw_prefix4 },
		{ NULL, tables->maps.gw_prefix6 }, { NULL, tables->maps.gw_index4 },
		{ NULL, tables->maps.gw_classes }, { NULL, tables->maps.gw_index6 },
		{ NULL, tables->maps.gw_counters }, { NULL, tables->maps.gw_counters_spill },
		{ NULL, tables->maps.gw_nets4 }, { NULL, tables->maps.gw_nets6 },
		{ NULL, tables->maps.gw_index6_slots },
	};
	struct gw_xdp *skel = gw_xdp__open();
	uint32_t key = GW_CFG_FLAGS;
	uint64_t flags;

	if (!skel)
		die("gw_xdp__open", errno);
	shared[0][0] = skel->maps.gw_hosts;
	shared[1][0] = skel->maps.gw_prefix4;
	shared[2][0] = skel->maps.gw_prefix6;
	shared[3][0] = skel->maps.gw_index4;
	shared[4][0] = skel->maps.gw_classes;
	shared[5][0] = skel->maps.gw_index6;
	shared[6][0] = skel->maps.gw_counters;
	shared[7][0] = skel->maps.gw_counters_spill;
	shared[8][0] = skel->maps.gw_nets4;
	shared[9][0] = skel->maps.gw_nets6;
	shared[10][0] = skel->maps.gw_index6_slots;
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		if (bpf_map__reuse_fd(shared[i][0], bpf_map__fd(shared[i][1])))
			die("bpf_map__reuse_fd", errno);
	if (gw_xdp__load(skel))
		die("gw_xdp__load", errno);
	/* The index flags belong with the index. */
	if (bpf_map_lookup_elem(bpf_map__fd(tables->maps.gw_config), &key, &flags) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.gw_config), &key, &flags, BPF_ANY))
		die("gw_config: index flags", errno);
	return skel;
}

/*
 * FLOW_RULES rules: the default config's field rules with their limits (<t0> stands
 * for <longterm>, tables 1..3 are <bruteforce> <popflooders> and a spare),
 * then `block drop quick proto tcp from <tN> to port 1000+i` for tables no
 * measured source is in, up to FLOW_RULES (45 of them).
 */
static void gw_setup_flow_rules(struct gw_xdp *skel)
{
	struct gw_rule block = { .action = GW_ACT_BLOCK_DROP, .flags = GW_RULE_QUICK,
				 .dport_hi = 65535, .overload_table = GW_NO_TABLE };
	struct gw_rule pop3 = { .action = GW_ACT_PASS, .proto_mask = GW_PROTO_TCP,
				.flags = GW_RULE_FLAGS_S_SA | GW_RULE_KEEP_STATE,
				.dport_lo = FLOW_DPORT, .dport_hi = FLOW_DPORT, .flush = 2 };
	struct gw_rule rules[FLOW_RULES];

	rules[0] = block;
	rules[0].src_tables = T0;
	rules[1] = block;
	rules[1].src_tables = T0 << 1;
	rules[2] = pop3;
	rules[2].flags |= GW_RULE_QUICK;
	rules[2].src_tables = T0 << 2;
	rules[2].max_src_conn = 1;
	rules[2].max_src_conn_rate = 1;
	rules[2].max_src_conn_rate_seconds = 1;
	rules[2].overload_table = 0;
	rules[FLOW_RULE] = pop3;
	rules[FLOW_RULE].max_src_conn = 5;
	rules[FLOW_RULE].max_src_conn_rate = 6;
	rules[FLOW_RULE].max_src_conn_rate_seconds = 3;
	rules[FLOW_RULE].overload_table = 2;
	rules[4] = pop3;
	rules[4].dport_lo = rules[4].dport_hi = 22;
	rules[4].max_src_conn = 10;
	rules[4].max_src_conn_rate = 15;
	rules[4].max_src_conn_rate_seconds = 5;
	rules[4].overload_table = 1;
	for (uint32_t i = 5; i < FLOW_RULES; i++) {
		rules[i] = block;
		rules[i].proto_mask = GW_PROTO_TCP;
		rules[i].src_tables = T0 << (4 + i % 56);
		rules[i].dport_lo = rules[i].dport_hi = (uint16_t)(1000 + i);
	}
	gw_install_rules(skel, rules, FLOW_RULES);
}

static void flow_addr(struct gw_addr *a, int family, const char *text)
{
	memset(a, 0, sizeof(*a));
	if (family == 4) {
		a->bytes[10] = a->bytes[11] = 0xff;
		inet_pton(AF_INET, text, &a->bytes[12]);
	} else {
		inet_pton(AF_INET6, text, a->bytes);
	}
}

/* How many slots from its home tuple's flow sits (GW_FLOW_PROBE: nowhere). */
static uint32_t flow_probe(int fd, int conf_fd, const struct gw_flow_tuple *tuple)
{
	uint32_t home, mask, slot;
	struct gw_flow f;

	if (sweeper_flow_home(conf_fd, tuple, &home, &mask) ||
	    sweeper_flow_get(fd, conf_fd, tuple, &f, &slot))
		return GW_FLOW_PROBE;
	return (slot - home) & mask;
}

/* Where the measured flow and the sweep's flows sit: slots from their homes. */
static uint32_t flow_dist, sweep_dist[SWEEP_MAX];

/*
 * The measured flows (client src:FLOW_SPORT to the frames' destination,
 * port pop3, IPv4 and IPv6) established and counted by rule FLOW_RULE,
 * among FLOW_OTHERS other established flows from other clients, all
 * under a random hash seed as greywalld gives them. They come last; the
 * opt_sweep flows of the sweep (src4, the next ports) come spread among
 * the others, so they sit wherever their arrival left them. -ENOSPC when
 * one of them found its slots taken.
 */
static int gw_fill_flows(int fd, int conf_fd, const char *src4, const char *src6)
{
	struct gw_flow flow = { .server_isn = FLOW_SISN, .state = GW_FLOW_ESTABLISHED,
				.rule = FLOW_RULE, .counted = 1, .last_ns = 1,
				.tuple = { .client_port = FLOW_SPORT, .server_port = FLOW_DPORT } };
	struct gw_flow mine = flow;
	int err;

	err = sweeper_flow_conf_init(conf_fd, fd);
	if (!err)
		err = sweeper_flow_tick(conf_fd, sweeper_clock_ns(-1));	/* as greywalld's sweeper */
	if (err)
		die("gw_flow_conf", err);
	flow_addr(&mine.tuple.client, 4, src4);
	flow_addr(&mine.tuple.server, 4, V4_DST);
	for (uint32_t i = 0, j = 0; i < FLOW_OTHERS; i++) {
		struct gw_flow other = flow;
		uint32_t be = htonl(mix32(i ^ 0xf10f));

		/* The sweep's flows arrive spread among the others. */
		if (j < opt_sweep && i == (j + 1) * (FLOW_OTHERS / (opt_sweep + 1))) {
			mine.tuple.client_port = (uint16_t)(FLOW_SPORT + 1 + j++);
			err = sweeper_flow_put(fd, conf_fd, &mine);
			if (err)
				return err;
		}

		flow_addr(&other.tuple.client, 4, "0.0.0.0");
		memcpy(&other.tuple.client.bytes[12], &be, 4);
		flow_addr(&other.tuple.server, 4, V4_DST);
		other.tuple.client_port = (uint16_t)(1024 + i % 60000);
		/* -ENOSPC: its slots are taken, as the data path would leave it untracked. */
		err = sweeper_flow_put(fd, conf_fd, &other);
		if (err && err != -ENOSPC)
			die("gw_flows: another flow", err);
	}
	flow_addr(&flow.tuple.client, 4, src4);
	flow_addr(&flow.tuple.server, 4, V4_DST);
	err = sweeper_flow_put(fd, conf_fd, &flow);
	if (err)
		return err;
	flow_dist = flow_probe(fd, conf_fd, &flow.tuple);
	for (uint32_t j = 0; j < opt_sweep; j++) {
		mine.tuple.client_port = (uint16_t)(FLOW_SPORT + 1 + j);
		sweep_dist[j] = flow_probe(fd, conf_fd, &mine.tuple);
	}
	flow_addr(&flow.tuple.client, 6, src6);
	flow_addr(&flow.tuple.server, 6, V6_DST);
	return sweeper_flow_put(fd, conf_fd, &flow);
}

/*
 * gw_fill_flows() until every measured flow has a slot: at 38% of the
 * slots taken, one flow in a few hundred finds its eight taken, and the
 * data path would leave it untracked. Another seed places them anew.
 */
static void gw_setup_flows(struct gw_xdp *skel, const char *src4, const char *src6)
{
	int fd = bpf_map__fd(skel->maps.gw_flows), conf_fd = bpf_map__fd(skel->maps.data_flowconf);
	struct gw_flow_conf none = { 0 };
	struct gw_flow empty = { 0 };
	uint32_t zero = 0;
	int err, tries;

	for (tries = 1; (err = gw_fill_flows(fd, conf_fd, src4, src6)) == -ENOSPC && tries < 8;
	     tries++) {
		fprintf(stderr, "xdp_cost: a measured flow found its slots taken: another seed\n");
		for (uint32_t slot = 0; slot < GW_FLOW_SLOTS; slot++)
			if (bpf_map_update_elem(fd, &slot, &empty, BPF_ANY))
				die("gw_flows: empty", errno);
		if (bpf_map_update_elem(conf_fd, &zero, &none, BPF_ANY))
			die("gw_flow_conf: empty", errno);
	}
	if (err)
		die("gw_flows: the measured flows", err);
}

/* Turn a case's SYN into a data segment of the measured flow (checksums are not checked). */
static void flow_segment(struct bench_case *c, int family)
{
	size_t l4 = sizeof(struct ethhdr) +
		    (family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr));
	struct tcphdr *tcp = (struct tcphdr *)(c->pkt + l4);

	tcp->source = htons(FLOW_SPORT);
	tcp->dest = htons(FLOW_DPORT);
	tcp->seq = htonl(2);
	tcp->ack_seq = htonl(FLOW_SISN + 1);
	tcp->syn = 0;
	tcp->ack = 1;
}

/* The flow sweep: ns per packet, and each flow's cost over the pass path's measured beside it. */
struct flow_sweep {
	double median, mean, min, max;
	double ratio_median, ratio_mean;
};

/*
 * A data segment of each of the sweep's flows (c's frame, another client
 * port): the established-flow cost over where flows sit in the table
 * (most in their home slot, some one or more slots on), not at one slot.
 * Each is measured right after the pass path (pass), and its ratio taken
 * to that: a machine that slows down for a while slows both.
 */
static void sweep_flows(const struct bench_case *c, const struct bench_case *pass,
			struct flow_sweep *out)
{
	size_t l4 = sizeof(struct ethhdr) + sizeof(struct iphdr);
	double v[SWEEP_MAX] = { 0 }, r[SWEEP_MAX] = { 0 };
	uint8_t pkt[sizeof(c->pkt)];

	memcpy(pkt, c->pkt, sizeof(pkt));
	for (unsigned int j = 0; j < opt_sweep; j++) {
		uint32_t ret, pass_ret;
		double p = test_run(pass->prog_fd, pass->pkt, pass->len, opt_repeat, &pass_ret);

		((struct tcphdr *)(pkt + l4))->source = htons((uint16_t)(FLOW_SPORT + 1 + j));
		v[j] = test_run(c->prog_fd, pkt, c->len, opt_repeat, &ret);
		if (v[j] < 0 || p <= 0)
			die("flow sweep", v[j] < 0 ? (int)-v[j] : (int)-p);
		if (ret != 2 || pass_ret != 2)
			die("flow sweep: a segment was not passed", EPROTO);
		r[j] = v[j] / p;
	}
	out->min = out->max = v[0];
	out->mean = out->ratio_mean = 0;
	for (unsigned int j = 0; j < opt_sweep; j++) {
		out->min = v[j] < out->min ? v[j] : out->min;
		out->max = v[j] > out->max ? v[j] : out->max;
		out->mean += v[j] / opt_sweep;
		out->ratio_mean += r[j] / opt_sweep;
	}
	out->median = median(v, opt_sweep);
	out->ratio_median = median(r, opt_sweep);
}

/* ---- two CPUs at once ------------------------------------------------ */

struct scale_thread {
	const struct bench_case *c;
	int cpu;
	pthread_barrier_t *start;
	double ns;
};

static void *scale_run(void *arg)
{
	struct scale_thread *t = arg;
	cpu_set_t set;
	uint32_t ret;

	CPU_ZERO(&set);
	CPU_SET(t->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		t->ns = -errno;
	pthread_barrier_wait(t->start);
	if (!t->ns)
		t->ns = test_run(t->c->prog_fd, t->c->pkt, t->c->len, opt_repeat, &ret);
	if (t->ns > 0 && ret != t->c->want)
		t->ns = -EPROTO;
	return NULL;
}

/*
 * Packets per second of case c on nthreads CPUs at once (each thread
 * pinned to a CPU of its own, all running BPF_PROG_TEST_RUN on the same
 * frame, released together): the sum of each thread's 1e9 / ns.
 */
static double scale_pps(const struct bench_case *c, const int *cpus, int nthreads)
{
	struct scale_thread t[2] = { { 0 } };
	pthread_barrier_t start;
	pthread_t th[2];
	double pps = 0;

	pthread_barrier_init(&start, NULL, (unsigned int)nthreads);
	for (int i = 0; i < nthreads; i++) {
		t[i] = (struct scale_thread){ .c = c, .cpu = cpus[i], .start = &start };
		if (pthread_create(&th[i], NULL, scale_run, &t[i]))
			die("pthread_create", errno);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < nthreads; i++) {
		if (t[i].ns <= 0)
			die("two CPUs at once", t[i].ns < 0 ? (int)-t[i].ns : EIO);
		pps += 1e9 / t[i].ns;
	}
	return pps;
}

/*
 * The median over runs of one CPU's and two CPUs' packets per second on
 * case c, measured alternately; 0 when fewer than two CPUs are online.
 */
static void scale_two(const struct bench_case *c, double *one, double *two)
{
	double v1[MAX_RUNS], v2[MAX_RUNS];
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int cpus[2] = { (int)n - 1, (int)n - 2 };

	*one = *two = 0;
	if (n < 2)
		return;
	for (unsigned int r = 0; r < opt_runs; r++) {
		v1[r] = scale_pps(c, cpus, 1);
		v2[r] = scale_pps(c, cpus, 2);
	}
	*one = median(v1, opt_runs);
	*two = median(v2, opt_runs);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-r runs] [-n repeat] [-H hosts] [-P prefixes] [-S sweep] [-q] [-k] [-v]\n"
		"  -r runs      measurements per case, median reported (default 5)\n"
		"  -n repeat    BPF_PROG_TEST_RUN repeat (default 1000000)\n"
		"  -H hosts     host entries in the big table (default 1000000)\n"
		"  -P prefixes  IPv4 prefixes in the big table (default 100000)\n"
		"  -S sweep     random unlisted sources for the pass sweep, and established flows\n"
		"               for the flow sweep (default 64, 0 = off)\n"
		"  -q           skip the diagnostic cases (each big map alone, no rules)\n"
		"  -k           the kernel's time per run (whole ns; leaves out other tasks' slices)\n"
		"  -v           libbpf's messages\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	struct bpf_object *xf_ip, *xf_all;
	struct gw_xdp *gw_small, *gw_big, *gw_h1m = NULL, *gw_p100k = NULL, *gw_norules = NULL;
	struct gw_xdp *gw_nopfx = NULL, *gw_rules16 = NULL, *gw_field = NULL, *gw_flow;
	struct gw_xdp *gw_drop1k, *gw_fh4500;
	uint32_t xf_ip_cap, xf_all_cap;
	int empty_fd, xf_ip_fd, xf_all_fd, gs_fd, gb_fd, opt;
	double sweep_small = 0, sweep_big = 0, smin = 0, smax = 0, bmin = 0, bmax = 0;
	struct flow_sweep fs = { 0 };
	double scale_one, scale_both, xf_scale_one, xf_scale_both;
	cpu_set_t cpus;
	char cpu_model[128] = "?";
	FILE *f;

	while ((opt = getopt(argc, argv, "r:n:H:P:S:qkv")) != -1) {
		switch (opt) {
		case 'r':
			opt_runs = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			opt_repeat = strtoul(optarg, NULL, 10);
			break;
		case 'H':
			opt_hosts = strtoul(optarg, NULL, 10);
			break;
		case 'P':
			opt_prefixes = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			opt_sweep = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'q':
			opt_diag = false;
			break;
		case 'k':
			opt_kernel_time = true;
			break;
		case 'v':
			opt_verbose = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!opt_runs || opt_runs > MAX_RUNS || !opt_repeat || opt_repeat > 0x7fffffff ||
	    opt_sweep > SWEEP_MAX || opt_hosts < 50 || opt_prefixes < 50)
		usage(argv[0]);
	if (geteuid() != 0) {
		fprintf(stderr, "xdp_cost: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}
	libbpf_set_print(libbpf_print);

	/* One CPU for every measurement: the last one, away from most housekeeping. */
	CPU_ZERO(&cpus);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[256];

		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "model name", 10)) {
				char *p = strchr(line, ':');

				if (p) {
					snprintf(cpu_model, sizeof(cpu_model), "%s", p + 2);
					cpu_model[strcspn(cpu_model, "\n")] = 0;
				}
				break;
			}
		}
		fclose(f);
	}

	empty_fd = load_empty();
	xf_ip = load_xdpfilt("xdpfilt_alw_ip.o", v4(V4_LISTED_HOST), &xf_ip_fd, &xf_ip_cap);
	xf_all = load_xdpfilt("xdpfilt_alw_all.o", v4(V4_LISTED_HOST), &xf_all_fd, &xf_all_cap);

	gw_small = gw_xdp__open_and_load();
	gw_big = gw_open_counted(opt_hosts + opt_prefixes + opt_prefixes6);
	if (!gw_small || !gw_big)
		die("gw_xdp__open_and_load", errno);
	gw_setup_rules(gw_small, 1);
	gw_setup_rules(gw_big, 1);
	gw_fill(gw_small, 50, 50, 0, random_plen4);
	gw_fill(gw_big, opt_hosts, opt_prefixes, opt_prefixes6, random_plen4);
	/* Real-world blocklist sizes: Spamhaus DROP (about 1,000), FireHOL level1 (about 4,500). */
	gw_drop1k = gw_xdp__open_and_load();
	gw_fh4500 = gw_xdp__open_and_load();
	if (!gw_drop1k || !gw_fh4500)
		die("gw_xdp__open_and_load", errno);
	gw_setup_rules(gw_drop1k, 1);
	gw_setup_rules(gw_fh4500, 1);
	gw_fill(gw_drop1k, 50, 1000, 0, blocklist_plen4);
	gw_fill(gw_fh4500, 50, 4500, 0, blocklist_plen4);
	gw_flow = gw_open_on_tables(gw_big);
	gw_setup_flow_rules(gw_flow);
	gw_setup_flows(gw_flow, V4_UNLISTED, V6_UNLISTED);
	gs_fd = bpf_program__fd(gw_small->progs.greywall_xdp);
	gb_fd = bpf_program__fd(gw_big->progs.greywall_xdp);
	if (opt_diag) {
		/* Where the time goes: each big map alone, and no rules at all. */
		gw_h1m = gw_xdp__open_and_load();
		gw_p100k = gw_xdp__open_and_load();
		gw_norules = gw_xdp__open_and_load();
		gw_nopfx = gw_xdp__open_and_load();
		gw_rules16 = gw_xdp__open_and_load();
		gw_field = gw_xdp__open_and_load();
		if (!gw_h1m || !gw_p100k || !gw_norules || !gw_nopfx || !gw_rules16 || !gw_field)
			die("gw_xdp__open_and_load", errno);
		gw_setup_rules(gw_nopfx, 1);
		gw_setup_rules(gw_rules16, 16);
		gw_fill(gw_nopfx, 100, 0, 0, random_plen4);
		gw_fill(gw_rules16, 50, 50, 0, random_plen4);
		gw_setup_rules(gw_h1m, 1);
		gw_setup_rules(gw_p100k, 1);
		gw_fill(gw_h1m, opt_hosts, 50, 0, random_plen4);
		gw_fill(gw_p100k, 50, opt_prefixes, opt_prefixes6, random_plen4);
		gw_fill(gw_norules, 50, 50, 0, random_plen4);
		gw_setup_field_rules(gw_field);
		gw_fill(gw_field, opt_hosts, opt_prefixes, opt_prefixes6,
			random_plen4);
	}

	add_case("empty", "empty XDP program (XDP_PASS)", empty_fd, 4, V4_UNLISTED, 2);
	add_case("xdpfilt_ip_pass", "xdp-filter alw_ip, unlisted src", xf_ip_fd, 4, V4_UNLISTED, 2);
	add_case("xdpfilt_ip_drop", "xdp-filter alw_ip, listed src", xf_ip_fd, 4, V4_LISTED_HOST, 1);
	add_case("xdpfilt_all_pass", "xdp-filter alw_all, unlisted src", xf_all_fd, 4, V4_UNLISTED,
		 2);
	add_case("xdpfilt_all_drop", "xdp-filter alw_all, listed src", xf_all_fd, 4, V4_LISTED_HOST,
		 1);
	add_case("gw100_pass", "greywall 100 entries, unlisted src", gs_fd, 4, V4_UNLISTED, 2);
	add_case("gw100_drop_host", "greywall 100 entries, listed host", gs_fd, 4, V4_LISTED_HOST, 1);
	add_case("gw100_drop_prefix", "greywall 100 entries, src in listed /24", gs_fd, 4,
		 V4_IN_LISTED_NET, 1);
	add_case("gw100_pass6", "greywall 100 entries, unlisted IPv6 src", gs_fd, 6, V6_UNLISTED, 2);
	add_case("gw1m_pass", "greywall 1M+100k, unlisted src", gb_fd, 4, V4_UNLISTED, 2);
	add_case("gw1m_drop_host", "greywall 1M+100k, listed host", gb_fd, 4, V4_LISTED_HOST, 1);
	add_case("gw1m_drop_prefix", "greywall 1M+100k, src in listed /24", gb_fd, 4,
		 V4_IN_LISTED_NET, 1);
	add_case("gw1m_pass6", "greywall 1M+100k+10k v6, unlisted IPv6 src", gb_fd, 6, V6_UNLISTED,
		 2);
	add_case("gw1m_drop_host6", "greywall 1M+100k+10k v6, listed IPv6 host", gb_fd, 6,
		 V6_LISTED_HOST, 1);
	add_case("gw1m_drop_prefix6", "greywall 1M+100k+10k v6, src in listed /48", gb_fd, 6,
		 V6_IN_LISTED_NET, 1);
	add_case("gw_drop1k_prefix", "greywall DROP-sized: 1,000 /11../24, in one",
		 bpf_program__fd(gw_drop1k->progs.greywall_xdp), 4, V4_IN_LISTED_NET, 1);
	add_case("gw_fh4500_prefix", "greywall FireHOL-l1-sized: 4,500, in one",
		 bpf_program__fd(gw_fh4500->progs.greywall_xdp), 4, V4_IN_LISTED_NET, 1);
	flow_segment(add_case("gw1m_flow", "greywall 1M, 50 rules, established pop3 flow",
			      bpf_program__fd(gw_flow->progs.greywall_xdp), 4, V4_UNLISTED, 2),
		     4);
	flow_segment(add_case("gw1m_flow6", "greywall 1M, 50 rules, established v6 flow",
			      bpf_program__fd(gw_flow->progs.greywall_xdp), 6, V6_UNLISTED, 2),
		     6);
	add_case("gw1m_rules50_pass", "greywall 1M, 50 rules, SYN to port 25",
		 bpf_program__fd(gw_flow->progs.greywall_xdp), 4, V4_UNLISTED, 2);

	if (opt_diag) {
		int h_fd = bpf_program__fd(gw_h1m->progs.greywall_xdp);
		int p_fd = bpf_program__fd(gw_p100k->progs.greywall_xdp);
		int n_fd = bpf_program__fd(gw_norules->progs.greywall_xdp);
		int np_fd = bpf_program__fd(gw_nopfx->progs.greywall_xdp);
		int r_fd = bpf_program__fd(gw_rules16->progs.greywall_xdp);
		int f_fd = bpf_program__fd(gw_field->progs.greywall_xdp);

		add_case("diag_norules_pass", "diag: greywall 100 entries, no rules", n_fd, 4,
			 V4_UNLISTED, 2);
		add_case("diag_norules_host", "diag: greywall 100, no rules, listed host", n_fd, 4,
			 V4_LISTED_HOST, 2);
		add_case("diag_noprefix_pass", "diag: greywall 100 hosts, no prefixes", np_fd, 4,
			 V4_UNLISTED, 2);
		add_case("diag_rules16_pass", "diag: greywall 100 entries, 16 rules", r_fd, 4,
			 V4_UNLISTED, 2);
		add_case("diag_rules16_drop", "diag: greywall 100, 16 rules, listed host", r_fd, 4,
			 V4_LISTED_HOST, 1);
		add_case("diag_field_pass", "diag: 1M+100k, field rules, unlisted src",
			 f_fd, 4, V4_UNLISTED, 2);
		add_case("diag_field_drop", "diag: 1M+100k, field rules, listed host",
			 f_fd, 4, V4_LISTED_HOST, 1);
		add_case("diag_hosts1m_pass", "diag: greywall 1M hosts + 50 prefixes", h_fd, 4,
			 V4_UNLISTED, 2);
		add_case("diag_pfx100k_pass", "diag: greywall 50 hosts + 100k prefixes", p_fd, 4,
			 V4_UNLISTED, 2);
		add_case("diag_pfx100k_pass6", "diag: greywall 50 hosts + 10k v6 prefixes", p_fd, 6,
			 V6_UNLISTED, 2);
	}
	measure_all();
	scale_two(find_case("gw1m_drop_host"), &scale_one, &scale_both);
	scale_two(find_case("xdpfilt_ip_drop"), &xf_scale_one, &xf_scale_both);
	if (opt_sweep) {
		sweep_small = sweep_pass(gs_fd, gw_small, 42, &smin, &smax);
		sweep_big = sweep_pass(gb_fd, gw_big, 42, &bmin, &bmax);
		sweep_flows(find_case("gw1m_flow"), find_case("gw1m_pass"), &fs);
	}

	{
		struct prog_info pe = prog_info(empty_fd), pxi = prog_info(xf_ip_fd),
				 pxa = prog_info(xf_all_fd), pg = prog_info(gs_fd);
		double floor_ns = find_case("empty")->median;
		double xf_pass = find_case("xdpfilt_ip_pass")->median;
		double xfa_pass = find_case("xdpfilt_all_pass")->median;
		double g100 = find_case("gw100_pass")->median, g1m = find_case("gw1m_pass")->median;
		double flow = find_case("gw1m_flow")->median, flow6 = find_case("gw1m_flow6")->median;
		double g1m6 = find_case("gw1m_pass6")->median;
		double xf_drop = find_case("xdpfilt_ip_drop")->median;
		double drop_host = find_case("gw1m_drop_host")->median;
		double drop_pfx = find_case("gw1m_drop_prefix")->median;
		double drop_host6 = find_case("gw1m_drop_host6")->median;
		double drop_pfx6 = find_case("gw1m_drop_prefix6")->median;
		double drop_1k = find_case("gw_drop1k_prefix")->median;
		double drop_4500 = find_case("gw_fh4500_prefix")->median;
		const struct {
			const char *name, *what;
			double value, target;
		} drops[] = {
			{ "gw_drop1m_host_vs_xdpfilter", "1M listed host / xdp-filter drop",
			  drop_host / xf_drop, 1.0 },
			{ "gw_drop1m_prefix_vs_xdpfilter", "1M src in listed /24 / xdp-filter drop",
			  drop_pfx / xf_drop, 1.0 },
			{ "gw_drop1m_prefix_vs_host", "1M src in listed /24 / own host drop",
			  drop_pfx / drop_host, 1.2 },
			{ "gw_drop1k_vs_xdpfilter", "DROP-sized, src in listed / xdp-filter drop",
			  drop_1k / xf_drop, 1.0 },
			{ "gw_drop1k_vs_host", "DROP-sized, src in listed / own host drop",
			  drop_1k / drop_host, 1.2 },
			{ "gw_fh4500_vs_xdpfilter", "FireHOL-sized, src in listed / xdp-filter drop",
			  drop_4500 / xf_drop, 1.0 },
			{ "gw_fh4500_vs_host", "FireHOL-sized, src in listed / own host drop",
			  drop_4500 / drop_host, 1.2 },
			{ "gw_drop_host6_vs_host", "1M listed IPv6 host / IPv4 host drop",
			  drop_host6 / drop_host, 1.2 },
			{ "gw_drop_prefix6_vs_prefix", "1M src in listed /48 / in listed /24",
			  drop_pfx6 / drop_pfx, 1.2 },
		};

		printf("BPF_PROG_TEST_RUN, repeat %lu, median of %u runs, CPU %s, %u-byte IPv4 TCP SYN\n",
		       opt_repeat, opt_runs, cpu_model, cases[1].len);
		printf("xdp-filter filter_ipv4 filled to capacity: alw_ip %u, alw_all %u entries\n",
		       xf_ip_cap, xf_all_cap);
		printf("greywall big table: %lu hosts, %lu IPv4 prefixes, %lu IPv6 prefixes\n",
		       opt_hosts, opt_prefixes, opt_prefixes6);
		print_vulnerabilities();
		printf("\n");
		printf("%-20s %-44s %9s %9s %9s  %s\n", "case", "what", "ns/pkt", "min", "max",
		       "verdict");
		for (int i = 0; i < ncases; i++) {
			struct bench_case *c = &cases[i];
			double lo = c->ns[0], hi = c->ns[0];

			for (unsigned int r = 1; r < opt_runs; r++) {
				lo = c->ns[r] < lo ? c->ns[r] : lo;
				hi = c->ns[r] > hi ? c->ns[r] : hi;
			}
			printf("%-20s %-44s %9.1f %9.1f %9.1f  %s\n", c->name, c->desc, c->median, lo,
			       hi, verdict_name(c->want));
		}
		if (opt_sweep) {
			printf("%-20s %-44s %9.1f %9.1f %9.1f  XDP_PASS\n", "gw100_pass_sweep",
			       "greywall 100, median over random unlisted", sweep_small, smin, smax);
			printf("%-20s %-44s %9.1f %9.1f %9.1f  XDP_PASS\n", "gw1m_pass_sweep",
			       "greywall 1M+100k, median over random unlisted", sweep_big, bmin, bmax);
			printf("%-20s %-44s %9.1f %9.1f %9.1f  XDP_PASS\n", "gw1m_flow_sweep",
			       "greywall 1M, 50 rules, median over flows", fs.median, fs.min, fs.max);
			printf("%-20s %-44s %9.1f %9.1f %9.1f  XDP_PASS\n", "gw1m_flow_mean",
			       "greywall 1M, 50 rules, mean over flows", fs.mean, fs.min, fs.max);
		}
		{
			unsigned int at[GW_FLOW_PROBE + 1] = { 0 };

			for (unsigned int j = 0; j < opt_sweep; j++)
				at[sweep_dist[j]]++;
			printf("\nflows among %u others (38%% of the slots): the measured one %u slots "
			       "from its home; the sweep's by slots from home:",
			       FLOW_OTHERS, flow_dist);
			for (unsigned int d = 0; d < GW_FLOW_PROBE; d++)
				if (at[d])
					printf(" %u: %u", d, at[d]);
			printf("\n");
		}
		printf("\nprogram sizes (xlated insns / jited bytes): empty %u/%u, xdp-filter alw_ip "
		       "%u/%u, alw_all %u/%u, greywall_xdp %u/%u\n",
		       pe.xlated_insns, pe.jited_bytes, pxi.xlated_insns, pxi.jited_bytes,
		       pxa.xlated_insns, pxa.jited_bytes, pg.xlated_insns, pg.jited_bytes);
		printf("\ngreywall pass / xdp-filter(alw_ip) pass: %.2f (target <= 1.0: %s)\n",
		       g100 / xf_pass, g100 / xf_pass <= 1.0 ? "PASS" : "MISS");
		printf("greywall 1M pass / xdp-filter(alw_ip) pass: %.2f\n", g1m / xf_pass);
		printf("greywall pass / xdp-filter(alw_all) pass: %.2f\n", g100 / xfa_pass);
		printf("greywall established flow (50 rules, %u slots from its home) / pass 1M: "
		       "%.2f; IPv6 %.2f\n",
		       flow_dist, flow / g1m, flow6 / g1m6);
		for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
			printf("greywall drop: %s: %.2f (target <= %.1f: %s)\n", drops[i].what,
			       drops[i].value, drops[i].target,
			       drops[i].value <= drops[i].target ? "PASS" : "MISS");
		printf("greywall pass 1M / pass 100: %.2f (target <= 1.3: %s)\n", g1m / g100,
		       g1m / g100 <= 1.3 ? "PASS" : "MISS");
		if (opt_sweep) {
			printf("greywall pass 1M / pass 100 over random unlisted sources: %.2f\n",
			       sweep_big / sweep_small);
			printf("greywall established flows / pass 1M, each flow over the pass path "
			       "measured beside it: median over %u %.2f, mean %.2f (target <= 1.5: %s)\n",
			       opt_sweep, fs.ratio_median, fs.ratio_mean,
			       fs.ratio_mean <= 1.5 ? "PASS" : "MISS");
		}
		if (scale_one > 0)
			printf("listed host drop on two CPUs at once / on one: greywall %.2f "
			       "(%.2f / %.2f Mpps, target >= 1.8: %s), xdp-filter %.2f\n",
			       scale_both / scale_one, scale_both / 1e6, scale_one / 1e6,
			       scale_both / scale_one >= 1.8 ? "PASS" : "MISS",
			       xf_scale_both / xf_scale_one);
		printf("above the empty-program floor: xdp-filter(alw_ip) pass %.1f ns, greywall "
		       "pass %.1f ns (100) / %.1f ns (1M)\n\n",
		       xf_pass - floor_ns, g100 - floor_ns, g1m - floor_ns);

		for (int i = 0; i < ncases; i++)
			printf("RESULT case=%s ns=%.1f runs=%u repeat=%lu verdict=%s\n", cases[i].name,
			       cases[i].median, opt_runs, opt_repeat, verdict_name(cases[i].want));
		if (opt_sweep) {
			printf("RESULT case=gw100_pass_sweep ns=%.1f min=%.1f max=%.1f sources=%u\n",
			       sweep_small, smin, smax, opt_sweep);
			printf("RESULT case=gw1m_pass_sweep ns=%.1f min=%.1f max=%.1f sources=%u\n",
			       sweep_big, bmin, bmax, opt_sweep);
			printf("RESULT case=gw1m_flow_sweep ns=%.1f min=%.1f max=%.1f flows=%u\n",
			       fs.median, fs.min, fs.max, opt_sweep);
			printf("RESULT case=gw1m_flow_mean ns=%.1f min=%.1f max=%.1f flows=%u\n",
			       fs.mean, fs.min, fs.max, opt_sweep);
		}
		printf("RESULT info xdpfilt_capacity=%u hosts=%lu prefixes4=%lu prefixes6=%lu "
		       "insns_empty=%u insns_xdpfilt_ip=%u insns_xdpfilt_all=%u insns_greywall=%u\n",
		       xf_ip_cap, opt_hosts, opt_prefixes, opt_prefixes6, pe.xlated_insns,
		       pxi.xlated_insns, pxa.xlated_insns, pg.xlated_insns);
		if (scale_one > 0) {
			printf("RESULT case=gw1m_drop_host_2cpu pps=%.0f one_cpu_pps=%.0f "
			       "xdpfilt_pps=%.0f xdpfilt_one_cpu_pps=%.0f\n",
			       scale_both, scale_one, xf_scale_both, xf_scale_one);
			printf("RATIO name=gw_drop_2cpu_vs_1cpu value=%.3f target=1.8 %s\n",
			       scale_both / scale_one, scale_both / scale_one >= 1.8 ? "PASS" : "MISS");
		}
		printf("RATIO name=gw_pass_vs_xdpfilter value=%.3f target=1.0 %s\n", g100 / xf_pass,
		       g100 / xf_pass <= 1.0 ? "PASS" : "MISS");
		printf("RATIO name=gw_pass1m_vs_xdpfilter value=%.3f target=1.0 %s\n", g1m / xf_pass,
		       g1m / xf_pass <= 1.0 ? "PASS" : "MISS");
		for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
			printf("RATIO name=%s value=%.3f target=%.1f %s\n", drops[i].name,
			       drops[i].value, drops[i].target,
			       drops[i].value <= drops[i].target ? "PASS" : "MISS");
		printf("RATIO name=gw_flow_vs_pass1m value=%.3f slots_from_home=%u\n", flow / g1m,
		       flow_dist);
		printf("RATIO name=gw_pass1m_vs_pass100 value=%.3f target=1.3 %s\n", g1m / g100,
		       g1m / g100 <= 1.3 ? "PASS" : "MISS");
		if (opt_sweep) {
			printf("RATIO name=gw_sweep1m_vs_sweep100 value=%.3f target=1.3 %s\n",
			       sweep_big / sweep_small, sweep_big / sweep_small <= 1.3 ? "PASS" : "MISS");
			printf("RATIO name=gw_flowsweep_vs_pass1m value=%.3f target=1.5 %s\n",
			       fs.ratio_median, fs.ratio_median <= 1.5 ? "PASS" : "MISS");
			printf("RATIO name=gw_flowmean_vs_pass1m value=%.3f target=1.5 %s\n",
			       fs.ratio_mean, fs.ratio_mean <= 1.5 ? "PASS" : "MISS");
		}
	}

	gw_xdp__destroy(gw_rules16);
	gw_xdp__destroy(gw_field);
	gw_xdp__destroy(gw_nopfx);
	gw_xdp__destroy(gw_norules);
	gw_xdp__destroy(gw_p100k);
	gw_xdp__destroy(gw_h1m);
	gw_xdp__destroy(gw_flow);
	gw_xdp__destroy(gw_fh4500);
	gw_xdp__destroy(gw_drop1k);
	gw_xdp__destroy(gw_big);
	gw_xdp__destroy(gw_small);
	bpf_object__close(xf_all);
	bpf_object__close(xf_ip);
	close(empty_fd);
	return 0;
}
