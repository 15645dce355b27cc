#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# CrowdSec decisions at scale: CS_COUNT (default 100,000) decisions imported
# at once into one private LAPI (Debian's crowdsec, tests/lib/crowdsec.sh),
# and Debian's crowdsec-firewall-bouncer enforcing them, in nftables mode and
# then in ipset mode, in turn, in the same run, from the same LAPI:
#
#   enforce   from the start of the import to the moment the enforcer holds
#             all of them (for the bouncer: the entries in its two sets,
#             counted by cs_fwbouncer_count every ~0.2 s plus the time a
#             count takes; the count's own cost is in the figure's
#             resolution). Not all may ever arrive: CrowdSec 1.4.6's stream
#             loses some decisions that are inserted while a pull runs (50
#             or 100 of 100,000 in our runs; a new bouncer's startup pull
#             has them all). So the count is followed until it holds all,
#             or has not moved for CS_STILL_S (default 60) seconds after the
#             import returned, or CS_LIMIT_S (default 900) passed; the time
#             is that of the last change, and "held" says how many
#   memory    per decision held: the kernel's (Slab + VmallocUsed of
#             /proc/meminfo, after all are held minus before the import:
#             machine-wide, so whatever else the machine does meanwhile is
#             in it; the nftables sets report no size of their own), the
#             enforcer process's own (VmRSS delta), and for ipset the sets'
#             own "Size in memory" (`ipset list -t`), a check on the first
#             method
#   idle pull CPU per pull when nothing changed: the enforcer's utime + stime
#             (/proc/PID/stat) and its threads' on-CPU time (schedstat, ns)
#             over CS_IDLE_S (default 60) seconds with all decisions held,
#             divided by the pulls the LAPI served in that window (its
#             access log's "GET /v1/decisions/stream" lines but startup=true);
#             the LAPI's own CPU per pull and its answer time beside it
#
# The decisions: one tenth IPv4 /29 ranges (scope Range), the rest IPv4
# hosts (scope Ip), every value distinct, range bases never a host, all in
# 198.18.0.0/15 (RFC 2544's benchmarking range: the documentation ranges are
# too small for 100,000 distinct hosts). Nothing is sent to any of them:
# they are only set entries. cscli 1.4.6's import takes the scope from its
# --scope flag, not from the file's column (a "scope" column is read and
# ignored: every line becomes Ip), so the hosts and the ranges are two
# files, two `cscli decisions import` run back to back (two at once fail:
# the SQLite database is locked); the import's time is until both have
# returned.
#
# Between enforcers every decision is deleted (`cscli decisions delete
# --all`), the enforcer stopped, and the next starts with empty sets. The bouncer pulls every
# CS_EVERY (default 1s). In ipset mode its sets are made by
# tests/lib/crowdsec.sh with 262,144 places (the bouncer's own iptables mode
# makes them with 65,536, which cannot hold 100,000).
#
# The measurement helpers take the enforcer as arguments (a name, a command
# that prints how many entries it holds, its pid), so another enforcer
# pulling from $LAPI_URL in $NS is measured by the same calls.
#
# Usage: bench/crowdsec.sh (root)
# Output: a summary and "RESULT crowdsec=NAME ..." lines for bench/run.sh.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${CS_COUNT:-100000}
IDLE_S=${CS_IDLE_S:-60}
LIMIT_S=${CS_LIMIT_S:-900}
STILL_S=${CS_STILL_S:-60}
# Which enforcers, in this order (a subset for a quick look; make bench runs all).
ENFORCERS=${CS_ENFORCERS:-greywall nftables ipset}
export CS_FWBOUNCER_EVERY=${CS_EVERY:-1s}
export CS_IPSET_MAXELEM=262144
BENCH=crowdsec
. "$TOP/bench/lib.sh"
. "$TOP/tests/lib/crowdsec.sh"
bench_names crowdsec
LAPI=$RUN/lapi
LAPI_URL=http://127.0.0.1:8080/

bench_cleanup_more() {
	local d
	for d in "$RUN"/fw-*; do
		[ -d "$d" ] && cs_fwbouncer_stop "$d"
	done
	cs_lapi_stop "$LAPI"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

fail() { bench_fail "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# Kernel memory in use, bytes: Slab + VmallocUsed
kernel_bytes() { awk '$1 == "Slab:" || $1 == "VmallocUsed:" { kb += $2 } END { print kb * 1024 }' /proc/meminfo; }
# VmRSS of processes (pids as separate arguments), summed, bytes
rss_bytes() { local p; for p in "$@"; do cat "/proc/$p/status"; done | awk '$1 == "VmRSS:" { s += $2 * 1024 } END { print s + 0 }'; }
# utime + stime of a process, in ms (its dead threads included)
cpu_ms() {
	local p
	for p in "$@"; do cat "/proc/$p/stat"; done |
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); s += ($12 + $13) * 1000 / hz } END { print s }'
}
# on-CPU time of a process's live threads, ns (schedstat's first field)
sched_ns() { local p; for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
# The LAPI's access log lines of pulls after the first ("GET /v1/decisions/stream",
# with startup=false or no startup parameter, which means the same)
pull_lines() { grep 'GET /v1/decisions/stream' | grep -v 'startup=true'; }
pulls() { pull_lines <"$LAPI/log/crowdsec_api.log" | wc -l; }
per() { awk -v a="$1" -v b="$2" -v m="${3:-1}" 'BEGIN { if (b > 0) printf "%.1f", a * m / b; else print "?" }'; }

[ "$(id -u)" -eq 0 ] || fail "needs root"
for c in crowdsec cscli crowdsec-firewall-bouncer nft ipset iptables jq curl python3; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps; make bench installs the rest)"
done
mkdir -p "$RUN" || fail "cannot make $RUN"
bench_netns
cs_lapi_start "$LAPI" 127.0.0.1 8080 "$NS" >"$RUN/lapi-start.txt" 2>&1 ||
	fail "the LAPI did not start" "$RUN/lapi-start.txt"
echo "LAPI: crowdsec $(dpkg-query -W -f='${Version}' crowdsec) -no-cs at $LAPI_URL in $NS (SQLite, WAL);" \
	"bouncer: crowdsec-firewall-bouncer $(dpkg-query -W -f='${Version}' crowdsec-firewall-bouncer)," \
	"update_frequency $CS_FWBOUNCER_EVERY; $(nproc) CPUs, kernel $(uname -r)"

# The two import files: hosts (scope Ip) and /29 ranges (scope Range).
python3 - "$COUNT" "$RUN" <<'EOF' || fail "cannot write the decisions"
import sys
count, run = int(sys.argv[1]), sys.argv[2]
ranges = count // 10
base = (198 << 24) | (18 << 16)
if 8 * ranges > 1 << 17 or count - ranges > (1 << 17) - (1 << 14):
    sys.exit("too many decisions for 198.18.0.0/15")
def ip(x):
    return "%d.%d.%d.%d" % (x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255)
with open(run + "/ranges.csv", "w") as f:
    f.write("duration,value\n")
    for r in range(ranges):
        f.write("4h,%s/29\n" % ip(base + 8 * r))
with open(run + "/hosts.csv", "w") as f:
    f.write("duration,value\n")
    a = 0
    for _ in range(count - ranges):
        a += 1
        if a % 8 == 0:  # a range's base
            a += 1
        f.write("4h,%s\n" % ip(base + a))
EOF
echo "decisions: $((COUNT - COUNT / 10)) hosts and $((COUNT / 10)) /29 ranges in 198.18.0.0/15, 4h each"

# cs_bench_settled: until the LAPI has served two more pulls after the
# first (LIMIT_S at most). An enforcer that just started may still be busy
# with its startup pull, which holds every decision deleted in the last
# hours too (CrowdSec 1.4.6 answers a new bouncer's startup=true with them
# under "deleted"; crowdsec-firewall-bouncer takes minutes over 100,000 it
# never held). Pulls are handed over one at a time, so a third pull means
# the first was processed.
cs_bench_settled() {
	local p0
	p0=$(pulls)
	for _ in $(seq $((LIMIT_S * 5))); do
		[ "$(pulls)" -ge $((p0 + 2)) ] && return 0
		sleep 0.2
	done
	fail "the enforcer did not pull twice in $LIMIT_S s"
}

# cs_bench_enforce NAME COUNT_COMMAND...: import all decisions, then poll
# the command (it prints how many entries the enforcer holds) until it
# reaches COUNT or LIMIT_S pass. Prints the RESULT fields of this part
# (seconds, import_s, held, kernel_bytes_per_decision and, when
# ENFORCER_PID is set, rss_bytes_per_decision) into $RUN/NAME.enforce.
cs_import() {
	local try
	for try in 1 2 3; do
		cs_cli "$LAPI" decisions import "$@" >"$RUN/import.try" 2>&1 && { cat "$RUN/import.try"; return 0; }
		cat "$RUN/import.try"
		grep -q "database is locked" "$RUN/import.try" || return 1
		echo "(import refused: database is locked; again, try $((try + 1)))"
		sleep 1
	done
	return 1
}
cs_bench_enforce() {
	local name=$1 t0 t1 k0 k1 r0=0 r1=0 held=0 done_import='' imp='?' pid last=-1 t_last
	shift
	cs_bench_settled
	k0=$(kernel_bytes)
	# shellcheck disable=SC2086 # ENFORCER_PID may name several processes.
	[ -n "${ENFORCER_PID:-}" ] && r0=$(rss_bytes $ENFORCER_PID)
	t0=$(now)
	# One after the other: two at once fail ("database is locked"). The
	# LAPI's own SQLite may also refuse an import while it answers a big
	# pull ("database is locked"): it is run again then (the same values
	# again add nothing an enforcer counts), and the time includes it.
	{
		cs_import -i "$RUN/hosts.csv" && cs_import -i "$RUN/ranges.csv" --scope Range
	} >"$RUN/import.txt" 2>&1 &
	pid=$!
	t_last=$t0
	while :; do
		held=$("$@" 2>/dev/null) || held=0
		t1=$(now)
		if [ "$held" != "$last" ]; then
			last=$held
			t_last=$t1
		fi
		if [ -z "$done_import" ] && ! kill -0 "$pid" 2>/dev/null; then
			done_import=1
			imp=$(elapsed "$t0" "$(now)")
			wait "$pid" || fail "cscli decisions import failed" "$RUN/import.txt"
		fi
		[ "$held" -ge "$COUNT" ] && break
		[ -n "$done_import" ] && [ "$(elapsed "$t_last" "$t1" | cut -d. -f1)" -ge "$STILL_S" ] && break
		[ "$(elapsed "$t0" "$t1" | cut -d. -f1)" -ge "$LIMIT_S" ] && break
		sleep 0.2
	done
	wait "$pid" 2>/dev/null
	[ "$imp" = "?" ] && imp=$(elapsed "$t0" "$(now)")
	k1=$(kernel_bytes)
	# shellcheck disable=SC2086
	[ -n "${ENFORCER_PID:-}" ] && r1=$(rss_bytes $ENFORCER_PID)
	{
		printf 'seconds=%s import_s=%s held=%s complete=%d kernel_bytes_per_decision=%s' \
			"$(elapsed "$t0" "$t_last")" "$imp" "$held" "$([ "$held" -ge "$COUNT" ] && echo 1 || echo 0)" \
			"$(per $((k1 - k0)) "$held")"
		[ -n "${ENFORCER_PID:-}" ] && printf ' rss_bytes_per_decision=%s' "$(per $((r1 - r0)) "$held")"
		echo
	} >"$RUN/$name.enforce"
	echo "$name: $held of $COUNT held $(elapsed "$t0" "$t_last") s after the import began (the import took $imp s);" \
		"kernel memory +$(((k1 - k0) / 1024)) KiB$([ -n "${ENFORCER_PID:-}" ] && echo ", its RSS +$(((r1 - r0) / 1024)) KiB")"
}

# cs_bench_idle NAME PID...: CPU of the processes per pull over IDLE_S seconds in which
# nothing changed; the RESULT fields into $RUN/NAME.idle
cs_bench_idle() {
	local name=$1 lapi_pid c0 c1 s0 s1 l0 l1 p0 p1 n
	shift
	lapi_pid=$(cat "$LAPI/lapi.pid")
	sleep 2 # a pull that was under way when the enforcer became full
	p0=$(pulls); c0=$(cpu_ms "$@"); s0=$(sched_ns "$@"); l0=$(cpu_ms "$lapi_pid")
	sleep "$IDLE_S"
	p1=$(pulls); c1=$(cpu_ms "$@"); s1=$(sched_ns "$@"); l1=$(cpu_ms "$lapi_pid")
	n=$((p1 - p0))
	# The LAPI's answer times of those pulls (its log: "... 200 2.435485ms ...")
	pull_lines <"$LAPI/log/crowdsec_api.log" | tail -n "$n" |
		sed -n 's/.* 200 \([0-9.]*\)\(µs\|ms\|s\) .*/\1 \2/p' |
		awk '{ v = $1 * ($2 == "ms" ? 1 : $2 == "s" ? 1000 : 0.001); print v }' | sort -n >"$RUN/$name.lat"
	printf 'idle_s=%s pulls=%d cpu_ms=%s cpu_us_per_pull=%s sched_us_per_pull=%s lapi_cpu_us_per_pull=%s lapi_answer_median_ms=%s\n' \
		"$IDLE_S" "$n" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" \
		"$(per "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" "$n" 1000)" \
		"$(per $((s1 - s0)) "$n" 0.001)" \
		"$(per "$(awk -v a="$l0" -v b="$l1" 'BEGIN { print b - a }')" "$n" 1000)" \
		"$(awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", v[int((NR + 1) / 2)]; else print "?" }' "$RUN/$name.lat")" \
		>"$RUN/$name.idle"
	echo "$name: idle $IDLE_S s, $n pulls: $(sed 's/^idle_s=[0-9]* pulls=[0-9]* //' "$RUN/$name.idle")"
}

# cs_bench_delete_all: every decision deleted in the LAPI, for the next
# enforcer, which starts empty (its first pull brings these deletions, which
# cs_bench_settled waits out). The enforcer that held them is stopped, not
# waited for: the ipset bouncer takes minutes to delete 100,000.
cs_bench_delete_all() {
	cs_cli "$LAPI" decisions delete --all >"$RUN/delete.txt" 2>&1 || fail "cscli decisions delete --all failed" "$RUN/delete.txt"
}

# greywall: greywalld in $NS with the data path on its veth, pulling into
# <crowdsec> every CS_EVERY; counted by `greywallctl tables` (entries that
# are in the table are in the maps: each piece read is committed to both).
measured() { case " $ENFORCERS " in *" $1 "*) return 0 ;; esac; return 1; }
if measured greywall; then
bench_tarpit_user
gw_key=$(printf 'bench-greywall-%s' "$$" | sha256sum | cut -c1-32)
cs_bouncer_add "$LAPI" greywall "$gw_key" >"$RUN/add.txt" 2>&1 || fail "cscli bouncers add failed" "$RUN/add.txt"
printf '%s\n' "$gw_key" >"$RUN/greywall.key"
chmod 600 "$RUN/greywall.key"
mkdir -p "$RUN/state"
{
	bench_config_head
	cat <<CONF
table <crowdsec> persist
crowdsec {
	url "$LAPI_URL"
	bouncer-key file "$RUN/greywall.key"
	table <crowdsec>
	every $CS_FWBOUNCER_EVERY
}
block drop quick from <crowdsec>
CONF
} >"$CONF"
ip netns exec "$NS" "$GWD" -d -f "$CONF" >"$LOG" 2>&1 &
GW_PID=$!
gw_ctl() { "$TOP/greywallctl" -s "$SOCK" "$@"; }
for _ in $(seq 200); do
	gw_ctl crowdsec show 2>/dev/null | grep -q "connected;" && break
	kill -0 "$GW_PID" 2>/dev/null || fail "greywalld did not start" "$LOG"
	sleep 0.1
done
gw_ctl crowdsec show 2>/dev/null | grep -q "connected;" || fail "greywalld's first pull did not come" "$LOG"
gw_count() { gw_ctl tables | awk '$1 == "crowdsec" { print $2 + $3 }'; }
gw_child=$(pgrep -P "$GW_PID" -f -- "--crowdsec-child" | head -1)
[ -n "$gw_child" ] || fail "greywalld's CrowdSec client is not running" "$LOG"
# Both processes: greywalld applies, its client fetches and parses.
ENFORCER_PID="$GW_PID $gw_child"
echo "-- greywall (greywalld pid $GW_PID, its CrowdSec client pid $gw_child: both measured)"
# The client asks for the whole state once the deltas that brought the
# import go quiet (1.4.6's stream misses rows committed during a pull): the
# idle pulls are measured after that one.
whole() { gw_ctl crowdsec show | sed -n 's/.*ok (\([0-9]*\) of the whole state.*/\1/p'; }
w0=$(whole)
cs_bench_enforce greywall gw_count
for _ in $(seq 600); do
	[ "$(whole)" -gt "$w0" ] && break
	sleep 0.1
done
echo "greywall: its whole-state pulls: $w0 before the import, $(whole) now"
# The pull is the client's work (HTTP, JSON); greywalld only reads its two
# messages. greywalld's own once-a-second and once-a-minute work (the flow
# sweeper, the counters of every entry) is not the pull's: reported beside.
c_gw0=$(sched_ns "$GW_PID")
t_gw0=$(now)
cs_bench_idle greywall "$gw_child"
c_gw1=$(sched_ns "$GW_PID")
echo "greywall: greywalld itself meanwhile (its timers, not the pulls): $(per $((c_gw1 - c_gw0)) "$(elapsed "$t_gw0" "$(now)")" 0.001) us on-CPU a second"
gw_ctl crowdsec show | sed 's/^/greywall: /'
echo "RESULT crowdsec=greywall count=$COUNT $(cat "$RUN/greywall.enforce") $(cat "$RUN/greywall.idle")"
cs_bench_delete_all
bench_stop_pid "$GW_PID"
GW_PID=
ENFORCER_PID=
fi

for mode in nftables ipset; do
	measured "$mode" || continue
	dir=$RUN/fw-$mode
	key=$(printf 'bench-%s-%s' "$mode" "$$" | sha256sum | cut -c1-32)
	cs_bouncer_add "$LAPI" "fw-$mode" "$key" >"$RUN/add.txt" 2>&1 || fail "cscli bouncers add failed" "$RUN/add.txt"
	cs_fwbouncer_start "$dir" "$NS" "$mode" "$LAPI_URL" "$key" >"$RUN/fw-start.txt" 2>&1 ||
		fail "crowdsec-firewall-bouncer ($mode) did not start" "$RUN/fw-start.txt"
	ENFORCER_PID=$(cs_fwbouncer_pid "$dir")
	echo "-- crowdsec-firewall-bouncer, $mode mode (pid $ENFORCER_PID)"
	cs_bench_enforce "fw_$mode" cs_fwbouncer_count "$dir"
	extra=
	if [ "$mode" = ipset ]; then
		set_bytes=$(ip netns exec "$NS" ipset list -t | awk '/^Size in memory:/ { s += $4 } END { print s + 0 }')
		extra=" ipset_bytes_per_decision=$(per "$set_bytes" "$COUNT")"
		echo "fw_ipset: the two sets report $((set_bytes / 1024)) KiB in memory (ipset list -t)"
	fi
	if [ "$mode" = nftables ]; then
		# What the nftables sets hold for a range: its base address alone.
		ip netns exec "$NS" nft list set ip "$(cs_fwbouncer_name "$dir" 4)" "$(cs_fwbouncer_name "$dir" 4)" |
			grep -q 'flags.*interval' && ranges=intervals || ranges=base_address_only
		extra=" ranges=$ranges"
		echo "fw_nftables: its set holds a /29 range as: $ranges"
	fi
	cs_bench_idle "fw_$mode" "$ENFORCER_PID"
	echo "RESULT crowdsec=fw_$mode count=$COUNT $(cat "$RUN/fw_$mode.enforce") $(cat "$RUN/fw_$mode.idle")$extra"
	cs_bench_delete_all
	cs_fwbouncer_stop "$dir"
	ENFORCER_PID=
done
