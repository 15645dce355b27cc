#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Time loading 1,000,000 IPv4 addresses from a file into a table:
#
#   ipset    `ipset restore` of "create bl hash:ip maxelem 2000000" plus one
#            "add bl A" line per address (and, for reference, the same with
#            hashsize preset to the final size, so ipset never rehashes)
#   greywall `greywallctl table bench load -f FILE` into a running greywalld
#            (table <bench> counters, `block drop quick from <bench>`)
#
# Both run in a throwaway network namespace (ipsets are per namespace;
# greywalld attaches to a veth there, with a private bpffs). No packet is
# sent: the addresses are only data. Everything is removed on exit, also
# on failure.
#
# Usage: bench/load.sh [COUNT]   (default 1000000)
#   env LOAD_RUNS   runs of each (ipset, greywall into the emptied table), median reported (default 3)
#   env LOAD_PERF   FILE: perf record greywalld during its load into FILE
# Output: a summary, then "RESULT ..." lines for bench/run.sh.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-1000000}
RUNS=${LOAD_RUNS:-3}
BENCH=load
. "$TOP/bench/lib.sh"
bench_names bench
LIST=$RUN/addresses.txt

bench_cleanup_more() {
	ip netns list | grep -qw "$NS" || return 0
	ip netns exec "$NS" ipset destroy bl >/dev/null 2>&1
	ip netns exec "$NS" ipset destroy bl2 >/dev/null 2>&1
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { echo "$1 $2" | awk '{ printf "%.3f", $2 - $1 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

[ "$(id -u)" -eq 0 ] || { echo "load.sh: needs root" >&2; exit 1; }
command -v ipset >/dev/null || { echo "load.sh: ipset is not installed" >&2; exit 1; }
bench_netns

# COUNT distinct IPv4 addresses: a bijection on 32 bits applied to 0..COUNT-1,
# so they are spread over the whole space like a real list, never repeat,
# and are the same every run. (Only loaded into tables, never contacted.)
python3 - "$COUNT" >"$LIST" <<'EOF' || exit 1
import sys
n = int(sys.argv[1])
M = 0xffffffff
out = []
i = 0
while len(out) < n:
    x = i
    i += 1
    x ^= x >> 16; x = (x * 0x7feb352d) & M
    x ^= x >> 15; x = (x * 0x846ca68b) & M
    x ^= x >> 16
    if x >> 24 in (0, 127) or x >> 28 >= 14:
        continue
    out.append("%d.%d.%d.%d" % (x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255))
sys.stdout.write("\n".join(out) + "\n")
EOF
lines=$(wc -l <"$LIST")
distinct=$(sort -u "$LIST" | wc -l)
[ "$lines" -eq "$COUNT" ] && [ "$distinct" -eq "$COUNT" ] ||
	{ echo "load.sh: address list has $lines lines, $distinct distinct" >&2; exit 1; }
echo "addresses: $COUNT distinct IPv4 in $LIST ($(du -h "$LIST" | cut -f1))"

# ---- ipset ------------------------------------------------------------
{ echo "create bl hash:ip maxelem 2000000"; sed 's/^/add bl /' "$LIST"; } >"$RUN/ipset.restore"
{ echo "create bl2 hash:ip maxelem 2000000 hashsize $((COUNT * 2))"; sed 's/^/add bl2 /' "$LIST"; } \
	>"$RUN/ipset2.restore"
ipset_times=""
ipset2_times=""
for r in $(seq "$RUNS"); do
	sync
	t0=$(now)
	ip netns exec "$NS" ipset restore <"$RUN/ipset.restore" || { echo "load.sh: ipset restore failed" >&2; exit 1; }
	t1=$(now)
	n=$(ip netns exec "$NS" ipset list bl -terse | awk -F': ' '/Number of entries/ { print $2 }')
	[ "$n" = "$COUNT" ] || { echo "load.sh: ipset holds $n entries, not $COUNT" >&2; exit 1; }
	ip netns exec "$NS" ipset destroy bl
	ipset_times="$ipset_times $(elapsed "$t0" "$t1")"

	t0=$(now)
	ip netns exec "$NS" ipset restore <"$RUN/ipset2.restore" || exit 1
	t1=$(now)
	ip netns exec "$NS" ipset destroy bl2
	ipset2_times="$ipset2_times $(elapsed "$t0" "$t1")"
done
ipset_s=$(echo $ipset_times | tr ' ' '\n' | median)
ipset2_s=$(echo $ipset2_times | tr ' ' '\n' | median)
echo "ipset restore (default hashsize):  ${ipset_s} s  (runs:$ipset_times)"
echo "ipset restore (hashsize preset):   ${ipset2_s} s  (runs:$ipset2_times)"
echo "RESULT load=ipset seconds=$ipset_s entries=$COUNT runs=$RUNS"
echo "RESULT load=ipset_presized seconds=$ipset2_s entries=$COUNT runs=$RUNS"

# ---- greywall ---------------------------------------------------------
gw_fail() {
	echo "greywall: $*"
	[ -f "$RUN/greywalld.log" ] && tail -15 "$RUN/greywalld.log" | sed 's/^/#   /'
	echo "RESULT load=greywall status=failed reason=\"$*\""
	exit 3
}
[ -x "$TOP/greywalld" ] && [ -x "$TOP/greywallctl" ] || gw_fail "greywalld/greywallctl not built (make greywalld greywallctl)"
mkdir -p "$RUN/state" "$RUN/pub"
{
	bench_config_head
	echo "table <bench> counters"
	echo "block drop quick from <bench>"
} >"$CONF"
ip netns exec "$NS" "$TOP/greywalld" -d -f "$CONF" >"$RUN/greywalld.log" 2>&1 &
GW_PID=$!
ready=
for _ in $(seq 200); do
	if "$TOP/greywallctl" -s "$SOCK" status >/dev/null 2>&1; then ready=1; break; fi
	kill -0 "$GW_PID" 2>/dev/null || break
	sleep 0.1
done
[ -n "$ready" ] || gw_fail "greywalld did not become ready"

sync
perf_pid=
if [ -n "${LOAD_PERF:-}" ]; then
	# LOAD_PERF=FILE: record where greywalld spends the load (perf report -i FILE)
	perf record -q -g -o "$LOAD_PERF" -p "$GW_PID" >/dev/null 2>&1 &
	perf_pid=$!
	sleep 1
fi
# As many runs as ipset's, each into the emptied table; the median is reported.
gw_times=""
for run in $(seq "$RUNS"); do
	t0=$(now)
	out=$("$TOP/greywallctl" -s "$SOCK" table bench load -f "$LIST" 2>&1)
	rc=$?
	t1=$(now)
	gw_times="$gw_times $(elapsed "$t0" "$t1")"
	[ $rc -eq 0 ] || gw_fail "greywallctl load exited $rc: $out"
	tables=$("$TOP/greywallctl" -s "$SOCK" tables 2>&1)
	n=$(echo "$tables" | awk '$1 == "bench" { print $2 }')
	[ "${n:-0}" = "$COUNT" ] || gw_fail "<bench> holds ${n:-?} entries, not $COUNT: $tables"
	[ "$run" -lt "$RUNS" ] && "$TOP/greywallctl" -s "$SOCK" table bench flush >/dev/null
done
if [ -n "$perf_pid" ]; then
	kill -INT "$perf_pid" 2>/dev/null
	wait "$perf_pid" 2>/dev/null
fi
gw_s=$(echo $gw_times | tr ' ' '\n' | median)
echo "greywallctl table bench load -f:   ${gw_s} s  (runs:$gw_times; $out)"
echo "greywallctl tables: <bench> holds ${n:-?} entries after each run"
echo "RESULT load=greywall seconds=$gw_s entries=$COUNT"
ratio=$(echo "$gw_s $ipset_s" | awk '{ printf "%.3f", $1 / $2 }')
verdict=$(echo "$ratio" | awk '{ print ($1 <= 0.5) ? "PASS" : "MISS" }')
echo "greywall / ipset: $ratio (target <= 0.5: $verdict)"
echo "RATIO name=load_vs_ipset value=$ratio target=0.5 $verdict"
