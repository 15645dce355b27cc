#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Table exchange: a peer's list of 1,000,000 addresses with 1% churn (10,000
# gone, 10,000 new) merged into a table that holds the peer's previous
# list of 1,000,000, in one run:
#
#   ipset     the cron-script way: `ipset restore` of "create tmp hash:ip
#             maxelem 2000000" plus one "add tmp A" line per address of the
#             new list, `ipset swap tmp bl`, `ipset destroy tmp`, while the
#             set bl holds the previous list (timed from the restore's start
#             to the destroy's end)
#   greywall  `table <bench> counters exchange { peer FILE every 1d }` in a
#             running greywalld (`block drop quick from <bench>`): the new
#             list renamed over FILE, `greywallctl table bench exchange`
#             (it answers once the merge is done), then a test of an added
#             and a removed address, polled until both hold; timed from
#             the rename to that
#
# The lists alternate (old -> new, new -> old), each change a 1% churn of a
# 1,000,000-entry list, EXCH_RUNS times for each (default 3); medians. During
# greywall's merges a loop calls `greywallctl status` back to back and
# times every answer: how long the event loop is blocked (the same loop on
# the idle daemon before, for the baseline). `greywallctl table T exchange`
# waits in the event loop for the reader thread, so its window holds the
# read and the merge; then once the periodic path (EXCH_PERIODIC=0: not):
# greywalld restarted with `every 1m`, the next list renamed over the file,
# and the same loop until the table holds it (up to a minute), where only
# the merge runs in the event loop. Both run in a throwaway network
# namespace; the addresses are only data, never contacted.
#
# Usage: bench/exchange.sh   (root)
# Output: a summary and "RESULT exchange=..." lines for bench/run.sh.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
COUNT=1000000
CHURN=10000
RUNS=${EXCH_RUNS:-3}
BENCH=exchange
. "$TOP/bench/lib.sh"
bench_names exch
STAT_PID=

bench_cleanup_more() {
	bench_stop_pid "$STAT_PID"
	ip netns list | grep -qw "$NS" || return 0
	ip netns exec "$NS" ipset destroy bl >/dev/null 2>&1
	ip netns exec "$NS" ipset destroy tmp >/dev/null 2>&1
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

fail() { bench_fail "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

[ "$(id -u)" -eq 0 ] || fail "needs root"
command -v ipset >/dev/null || fail "ipset is not installed (make bench installs it)"
[ -x "$TOP/greywalld" ] && [ -x "$TOP/greywallctl" ] || fail "not built: make greywalld greywallctl"
mkdir -p "$RUN/bin" "$RUN/state" "$RUN/pub"
cp "$TOP/greywalld" "$TOP/greywallctl" "$RUN/bin/" || fail "cannot copy the binaries"
GWD=$RUN/bin/greywalld
ctl() { "$RUN/bin/greywallctl" -s "$SOCK" "$@"; }
bench_netns

# COUNT + CHURN distinct IPv4 addresses, spread over the space as in
# bench/load.sh. list0: the first COUNT; list1: list0 without every 100th
# (i % 100 == 50) and with the CHURN after them.
python3 - "$COUNT" "$CHURN" "$RUN" <<'EOF' || fail "cannot write the lists"
import sys
n, churn, run = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
M = 0xffffffff
out = []
i = 0
while len(out) < n + churn:
    x = i
    i += 1
    x ^= x >> 16; x = (x * 0x7feb352d) & M
    x ^= x >> 15; x = (x * 0x846ca68b) & M
    x ^= x >> 16
    if x >> 24 in (0, 127) or x >> 28 >= 14:
        continue
    out.append("%d.%d.%d.%d" % (x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255))
l0 = out[:n]
gone = [a for k, a in enumerate(l0) if k % 100 == 50][:churn]
gone_set = set(gone)
l1 = [a for a in l0 if a not in gone_set] + out[n:]
for name, lst in (("list0", l0), ("list1", l1)):
    with open("%s/%s.txt" % (run, name), "w") as f:
        f.write("\n".join(lst) + "\n")
    with open("%s/%s.ipset" % (run, name), "w") as f:
        f.write("create tmp hash:ip maxelem 2000000\n")
        f.write("".join("add tmp %s\n" % a for a in lst))
with open("%s/probes" % run, "w") as f:
    # in list1 only, in list0 only
    f.write("%s %s\n" % (out[n + churn - 1], gone[-1]))
EOF
read -r ONLY1 ONLY0 <"$RUN/probes"
for l in list0 list1; do
	[ "$(sort -u "$RUN/$l.txt" | wc -l)" -eq "$COUNT" ] || fail "$l does not hold $COUNT distinct addresses"
done
[ "$(comm -3 <(sort "$RUN/list0.txt") <(sort "$RUN/list1.txt") | wc -l)" -eq $((2 * CHURN)) ] ||
	fail "the lists do not differ by $CHURN each way"
echo "lists: $COUNT distinct IPv4 each, $CHURN removed and $CHURN added between them ($(du -h "$RUN/list0.txt" | cut -f1)); probes: $ONLY1 (list1 only), $ONLY0 (list0 only)"

# ---- ipset: restore into a temporary set, swap, destroy -------------------
ipset_ns() { ip netns exec "$NS" ipset "$@"; }
sed 's/^create tmp/create bl/; s/^add tmp/add bl/' "$RUN/list0.ipset" | ipset_ns restore ||
	fail "cannot load the first list into ipset"
ipset_times=""
cur=list0
for r in $(seq $((2 * RUNS))); do
	if [ "$cur" = list0 ]; then next=list1; has=$ONLY1; gone=$ONLY0; else next=list0; has=$ONLY0; gone=$ONLY1; fi
	sync
	t0=$(now)
	ipset_ns restore <"$RUN/$next.ipset" && ipset_ns swap tmp bl && ipset_ns destroy tmp ||
		fail "ipset restore/swap/destroy failed"
	t1=$(now)
	ipset_times="$ipset_times $(elapsed "$t0" "$t1")"
	n=$(ipset_ns list bl -terse | awk -F': ' '/Number of entries/ { print $2 }')
	[ "$n" = "$COUNT" ] && ipset_ns test bl "$has" 2>/dev/null && ! ipset_ns test bl "$gone" 2>/dev/null ||
		fail "ipset's bl does not hold $next ($n entries)"
	cur=$next
done
ipset_ns destroy bl
ipset_s=$(echo "$ipset_times" | median)
echo "ipset restore + swap + destroy: median ${ipset_s} s (runs:$ipset_times)"
echo "RESULT exchange=ipset seconds=$ipset_s runs=$((2 * RUNS))"

# ---- greywall: the peer's file renamed, the exchange ------------------------
PEER=$RUN/peer.txt
cp "$RUN/list0.txt" "$PEER"
{
	bench_config_head
	cat <<CONF
set limit table-entries 2000000
table <bench> counters exchange { peer "$PEER" every 1d }
block drop quick from <bench>
CONF
} >"$CONF"
ip netns exec "$NS" "$GWD" -d -f "$CONF" >"$LOG" 2>&1 &
GW_PID=$!
for _ in $(seq 300); do
	ctl status >/dev/null 2>&1 && break
	kill -0 "$GW_PID" 2>/dev/null || fail "greywalld did not start" "$LOG"
	sleep 0.1
done
# At start the peer's list is merged on its own.
for _ in $(seq 600); do
	[ "$(ctl tables 2>/dev/null | awk '$1 == "bench" { print $2 }')" = "$COUNT" ] && break
	sleep 0.1
done
[ "$(ctl tables | awk '$1 == "bench" { print $2 }')" = "$COUNT" ] || fail "<bench> does not hold the first list" "$LOG"
echo "greywalld: <bench> holds the peer's first list ($COUNT) after start"

# status_loop FILE: `greywallctl status` back to back, "start end" per call, until $RUN/stop
status_loop() {
	rm -f "$RUN/stop"
	while [ ! -e "$RUN/stop" ]; do
		t=$EPOCHREALTIME
		ctl status >/dev/null 2>&1
		echo "$t $EPOCHREALTIME"
	done >"$1"
}
# status_stats FILE: "calls max_ms p99_ms median_ms"
status_stats() {
	awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' "$1" | sort -n | awk '{ d[NR] = $1 } END {
		n = NR
		if (!n) { print 0, 0, 0, 0; exit }
		k = int(0.99 * n + 0.999999); m = int(0.5 * n + 0.999999)
		printf "%d %.1f %.1f %.1f\n", n, d[n], d[k ? k : 1], d[m ? m : 1] }'
}

status_loop "$RUN/idle.status" &
STAT_PID=$!
sleep 2
touch "$RUN/stop"
wait "$STAT_PID"
STAT_PID=
read -r idle_n idle_max idle_p99 idle_med < <(status_stats "$RUN/idle.status")
echo "greywallctl status on the idle daemon: $idle_n calls in 2 s, median $idle_med ms, p99 $idle_p99 ms, max $idle_max ms"

gw_times=""
cur=list0
blocked_max=0
for r in $(seq $((2 * RUNS))); do
	if [ "$cur" = list0 ]; then next=list1; has=$ONLY1; gone=$ONLY0; else next=list0; has=$ONLY0; gone=$ONLY1; fi
	cp "$RUN/$next.txt" "$PEER.new"
	sync
	status_loop "$RUN/merge$r.status" &
	STAT_PID=$!
	sleep 0.2
	t0=$(now)
	mv "$PEER.new" "$PEER"
	out=$(ctl table bench exchange 2>&1) || fail "greywallctl table bench exchange failed: $out" "$LOG"
	for _ in $(seq 3000); do
		ctl table bench test "$has" >/dev/null 2>&1 && ! ctl table bench test "$gone" >/dev/null 2>&1 && break
		sleep 0.01
	done
	t1=$(now)
	sleep 0.2
	touch "$RUN/stop"
	wait "$STAT_PID"
	STAT_PID=
	ctl table bench test "$has" >/dev/null 2>&1 && ! ctl table bench test "$gone" >/dev/null 2>&1 ||
		fail "<bench> does not hold $next after the exchange: $out" "$LOG"
	n=$(ctl tables | awk '$1 == "bench" { print $2 }')
	[ "$n" = "$COUNT" ] || fail "<bench> holds $n entries after the exchange, not $COUNT: $out" "$LOG"
	s=$(elapsed "$t0" "$t1")
	gw_times="$gw_times $s"
	# Only the calls that overlap the merge's window count.
	awk -v a="$t0" -v b="$t1" '$2 >= a && $1 <= b' "$RUN/merge$r.status" >"$RUN/merge$r.win"
	read -r m_n m_max m_p99 m_med < <(status_stats "$RUN/merge$r.win")
	echo "run $r: $cur -> $next in $s s ($(echo "$out" | tr '\n' ' ')); status during it: $m_n calls, median $m_med ms, max $m_max ms"
	echo "RESULT exchange=greywall_run seconds=$s status_calls=$m_n status_max_ms=$m_max status_median_ms=$m_med"
	blocked_max=$(awk -v a="$blocked_max" -v b="$m_max" 'BEGIN { print (b > a ? b : a) }')
	cur=$next
done
# The whole table compared with the last list, once (not timed).
ctl table bench show | awk '{ print $1 }' | sort >"$RUN/table.sorted"
sort "$RUN/$cur.txt" | cmp -s - "$RUN/table.sorted" || fail "<bench> is not exactly $cur after the runs"
echo "<bench> is exactly $cur after the last run ($COUNT entries)"
ctl why "$has" | grep -E 'evidence|peers' | head -2 | sed 's/^/# why: /'

# The periodic path: greywalld restarted with `every 1m` (the shortest), the
# next list renamed over FILE, nothing asked; the reader thread reads it at
# the next period and only the merge runs in the event loop. The status
# loop runs until the table holds the new list.
periodic_max=
if [ "${EXCH_PERIODIC:-1}" = 1 ]; then
	if [ "$cur" = list0 ]; then next=list1; has=$ONLY1; gone=$ONLY0; else next=list0; has=$ONLY0; gone=$ONLY1; fi
	bench_stop_pid "$GW_PID"
	sed -i 's/ every 1d }/ every 1m }/' "$CONF"
	ip netns exec "$NS" "$GWD" -d -f "$CONF" >>"$LOG" 2>&1 &
	GW_PID=$!
	for _ in $(seq 600); do
		[ "$(ctl tables 2>/dev/null | awk '$1 == "bench" { print $2 }')" = "$COUNT" ] &&
			ctl table bench test "$gone" >/dev/null 2>&1 && break
		kill -0 "$GW_PID" 2>/dev/null || fail "greywalld did not restart" "$LOG"
		sleep 0.1
	done
	cp "$RUN/$next.txt" "$PEER.new"
	status_loop "$RUN/periodic.status" &
	STAT_PID=$!
	t0=$(now)
	mv "$PEER.new" "$PEER"
	for _ in $(seq 900); do
		ctl table bench test "$has" >/dev/null 2>&1 && ! ctl table bench test "$gone" >/dev/null 2>&1 && break
		sleep 0.1
	done
	t1=$(now)
	touch "$RUN/stop"
	wait "$STAT_PID"
	STAT_PID=
	ctl table bench test "$has" >/dev/null 2>&1 && ! ctl table bench test "$gone" >/dev/null 2>&1 ||
		fail "the periodic exchange did not bring $next within 90 s" "$LOG"
	read -r p_n p_max p_p99 p_med < <(status_stats "$RUN/periodic.status")
	periodic_max=$p_max
	echo "periodic (every 1m): $next in the table $(elapsed "$t0" "$t1") s after the rename (the wait for the period included); status meanwhile: $p_n calls, median $p_med ms, p99 $p_p99 ms, max $p_max ms"
fi

gw_s=$(echo "$gw_times" | median)
echo "greywalld exchange: median ${gw_s} s (runs:$gw_times)"
echo "RESULT exchange=greywall seconds=$gw_s runs=$((2 * RUNS)) status_max_ms=$blocked_max idle_status_median_ms=$idle_med idle_status_max_ms=$idle_max periodic_status_max_ms=${periodic_max:-none}"
ratio=$(awk -v a="$gw_s" -v b="$ipset_s" 'BEGIN { printf "%.3f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.5) ? "PASS" : "MISS" }')
echo "greywall / ipset: $ratio (target <= 0.5: $verdict)"
echo "RATIO name=exchange_vs_ipset value=$ratio target=0.5 $verdict"
