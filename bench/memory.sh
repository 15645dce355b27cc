#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Memory per table entry, greywall against ipset, same run, same entries:
# MEM_HOSTS (1,000,000) IPv4 hosts and MEM_NETS (100,000) IPv4 networks
# (bench/wire_lists.py, the lists bench/wire.sh floods against).
#
#   greywall  greywalld in a throwaway namespace (private bpffs), `table <t>
#             counters`, `block drop quick from <t>`; the hosts, then the
#             networks, loaded with `greywallctl table t load -f`. Measured
#             before the loads, after the hosts and after the networks:
#               kernel  the memory of every map pinned in its bpf-dir
#                       (`bpftool map show -j`, bytes_memlock: on this
#                       kernel the map's own accounting of what it uses)
#               rss     greywalld's VmRSS (the parent's: it holds the tables'
#                       model; the children never see them)
#             Per entry: the growth over the step divided by its entries.
#             Maps that are preallocated at their full size (the host hash)
#             grow by nothing, so each map's whole size is also given, and
#             "at capacity": the host map's size over its max_entries.
#   ipset     hash:ip of the hosts, hash:net of the networks (`ipset
#             restore`), each set's "Size in memory" (`ipset list -t`)
#             over its entries
#
# Usage: bench/memory.sh   (root)
# Output: the maps, then "RESULT memory=NAME key=value ..." lines.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
HOSTS=${MEM_HOSTS:-1000000}
NETS=${MEM_NETS:-100000}
BENCH=memory
. "$TOP/bench/lib.sh"
bench_names mem

bench_cleanup_more() {
	ip netns list | grep -qw "$NS" || return 0
	for s in gwmh gwmn; do ip netns exec "$NS" ipset destroy $s >/dev/null 2>&1; done
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || bench_fail "needs root"
for c in ipset bpftool jq python3; do
	command -v $c >/dev/null || bench_fail "$c is not installed"
done
[ -x "$GWD" ] && [ -x "$TOP/greywallctl" ] || bench_fail "not built: greywalld, greywallctl (make all)"
bench_netns
python3 "$TOP/bench/wire_lists.py" "$RUN" "$HOSTS" "$NETS" 198.51.100.5 203.0.113.0/24 ||
	bench_fail "cannot make the lists"

# Every map pinned under greywall's bpf-dir: "name bytes max_entries" a line.
gw_maps() {
	local f
	find "$BPFFS/greywall" -type f | while read -r f; do
		bpftool map show pinned "$f" -j 2>/dev/null |
			jq -r 'select(.name != null) | "\(.name) \(.bytes_memlock) \(.max_entries)"'
	done | sort
}
kernel_bytes() { gw_maps | awk '{ s += $2 } END { print s + 0 }'; }
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$GW_PID/status"; }

mkdir -p "$RUN/state" "$RUN/pub"
{
	bench_config_head
	echo "table <t> counters"
	echo "block drop quick from <t>"
} >"$CONF"
ip netns exec "$NS" "$GWD" -d -f "$CONF" >"$LOG" 2>&1 &
GW_PID=$!
ready=
for _ in $(seq 200); do
	"$TOP/greywallctl" -s "$SOCK" status >/dev/null 2>&1 && { ready=1; break; }
	kill -0 "$GW_PID" 2>/dev/null || break
	sleep 0.1
done
[ -n "$ready" ] || bench_fail "greywalld did not become ready" "$LOG"

k0=$(kernel_bytes) r0=$(rss_bytes)
gw_maps >"$RUN/maps0"
"$TOP/greywallctl" -s "$SOCK" table t load -f "$RUN/hosts.txt" >/dev/null || bench_fail "load hosts" "$LOG"
sleep 1
k1=$(kernel_bytes) r1=$(rss_bytes)
"$TOP/greywallctl" -s "$SOCK" table t load -f "$RUN/nets.txt" >/dev/null || bench_fail "load networks" "$LOG"
sleep 1
k2=$(kernel_bytes) r2=$(rss_bytes)
gw_maps >"$RUN/maps2"
n=$("$TOP/greywallctl" -s "$SOCK" tables | awk '$1 == "t" { print $2, $3 }')
[ "$n" = "$HOSTS $NETS" ] || bench_fail "<t> holds $n hosts and networks, not $HOSTS $NETS" "$LOG"

echo "entries: $HOSTS IPv4 hosts, $NETS IPv4 networks (bench/wire_lists.py)"
echo "greywall's maps (bytes_memlock), empty -> with every entry:"
join "$RUN/maps0" "$RUN/maps2" | awk '{ printf "  %-18s %12d -> %12d  (max_entries %d)\n", $1, $2, $4, $3 }'
echo "greywalld VmRSS: $r0 -> $r1 (hosts) -> $r2 (networks)"
host_map=$(awk '$1 == "gw_hosts" { print $2, $3 }' "$RUN/maps2")
pfx_map=$(awk '$1 == "gw_prefix4" { print $2 }' "$RUN/maps2")
awk -v k0="$k0" -v k1="$k1" -v k2="$k2" -v r0="$r0" -v r1="$r1" -v r2="$r2" -v h="$HOSTS" -v n="$NETS" \
	-v hm="$host_map" -v pm="${pfx_map:-0}" 'BEGIN {
	split(hm, m, " ")
	printf "RESULT memory=greywall_hosts entries=%d kernel_delta=%d rss_delta=%d bytes_per_entry=%.1f host_map=%d host_map_per_entry=%.1f host_map_per_slot=%.1f\n",
		h, k1 - k0, r1 - r0, (k1 - k0 + r1 - r0) / h, m[1], m[1] / h, m[2] ? m[1] / m[2] : 0
	printf "RESULT memory=greywall_nets entries=%d kernel_delta=%d rss_delta=%d bytes_per_entry=%.1f prefix_map=%d prefix_map_per_entry=%.1f\n",
		n, k2 - k1, r2 - r1, (k2 - k1 + r2 - r1) / n, pm, pm / n
	printf "RESULT memory=greywall_total kernel=%d rss=%d bytes_per_entry=%.1f\n", k2, r2, (k2 + r2) / (h + n) }'

# ---- ipset --------------------------------------------------------------
{
	echo "create gwmh hash:ip maxelem $((HOSTS * 2))"
	echo "create gwmn hash:net maxelem $((NETS * 2))"
	sed 's/^/add gwmh /' "$RUN/hosts.txt"
	sed 's/^/add gwmn /' "$RUN/nets.txt"
} >"$RUN/ipset.restore"
ip netns exec "$NS" ipset restore <"$RUN/ipset.restore" || bench_fail "ipset restore failed"
for s in gwmh gwmn; do
	ip netns exec "$NS" ipset list -t $s | awk -v s=$s -F': ' '
		/^Size in memory/ { b = $2 } /^Number of entries/ { e = $2 }
		END { printf "RESULT memory=ipset_%s entries=%d bytes=%d bytes_per_entry=%.1f\n",
			s == "gwmh" ? "hosts" : "nets", e, b, e ? b / e : 0 }'
done
