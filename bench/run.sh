#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# `make bench`: greywall against its peers, side by side in one run on this
# machine, and the results section of BENCHMARKS.md rewritten with the
# numbers, the ratios and PASS/MISS against their targets (the Targets table).
#
#   bench/xdp_cost     per-packet cost with BPF_PROG_TEST_RUN: empty program,
#                      xdp-filter (allow policy, map full), greywall 100 / 1M+100k
#   bench/load.sh      1,000,000 addresses from a file: ipset restore vs
#                      greywallctl table load -f
#   bench/tarpit_hold  50,000 connections held and stuttered: greywall's
#                      tarpit vs endlessh, in turn, HOLD_RUNS times each
#   bench/greylist.sh  greylist decisions per second: full SMTP dialogues
#                      through greywalld's tarpit vs bench/smtp_floor
#   bench/policy.sh    policy decisions per second and latency: greywall's
#                      policy service vs postgrey, the same client
#   bench/connlimit.sh connection-rate enforcement under a burst of 1,000
#                      attempts/s: greywall vs nftables vs iptables, in turn
#   bench/rcpt_flood.sh a greylist decision's latency alone and while another
#                      client floods the tarpit with RCPTs
#   bench/watch.sh     the log watchers: lines/s through the dovecot and sshd
#                      patterns vs fail2ban, and a trap login's line to the
#                      XDP drop of its source
#   bench/sync.sh      spamd sync between two gateways: the greylist updates/s
#                      B applies (a signed GREY stream at rising rates, and A's
#                      tarpit flat out), a trap hit on A to B's XDP drop
#   bench/exchange.sh  a 1,000,000-entry peer list with 1% churn merged into
#                      a table of 1,000,000: greywallctl table T exchange vs
#                      ipset restore into a swapped set
#   bench/crowdsec.sh  100,000 CrowdSec decisions imported at once into a
#                      private LAPI: time until enforced, memory per decision
#                      and CPU per idle pull of crowdsec-firewall-bouncer in
#                      nftables mode and in ipset mode (and of every other
#                      enforcer the script measures)
#   bench/wire.sh      a SYN flood from a listed source over a veth: receiver
#                      CPU per dropped packet, greywall vs xdp-filter vs
#                      nftables netdev ingress vs iptables raw + ipset
#   bench/memory.sh    bytes per host and per network at 1M + 100k: greywall's
#                      maps and greywalld's RSS vs ipset hash:ip / hash:net
#
# Nothing is sent on any network: the tarpit and greylist benchmarks run on
# the loopback, connlimit.sh on a veth, of throwaway network namespaces.
# Takes about twenty minutes.
# Env: BENCH_NO_WRITE=1 prints the results without touching BENCHMARKS.md;
#      HOLD_RUNS (default 2) runs of each server in bench/tarpit_hold;
#      BENCH_ONLY=connlimit runs connlimit.sh alone and prints its rows and
#      section (BENCHMARKS.md untouched); BENCH_ONLY=watch the same for watch.sh,
#      BENCH_ONLY=sync for sync.sh, BENCH_ONLY=exchange for exchange.sh,
#      BENCH_ONLY=crowdsec for crowdsec.sh, BENCH_ONLY=policy for policy.sh,
#      BENCH_ONLY=wire for wire.sh, BENCH_ONLY=memory for memory.sh.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
OUT=$(mktemp -d /tmp/gwbench-run.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: needs root (BPF_PROG_TEST_RUN, netns, ipset)" >&2; exit 1; }
command -v ipset >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_ip.o ] &&
	command -v endlessh >/dev/null && command -v postgrey >/dev/null ||
	./deploy/install-deps.sh ipset xdp-tools endlessh postgrey || exit 1
command -v nft >/dev/null && command -v iptables >/dev/null && command -v ethtool >/dev/null ||
	./deploy/install-deps.sh nftables iptables ethtool || exit 1
command -v fail2ban-regex >/dev/null && /usr/bin/python3 -c 'import pyinotify' 2>/dev/null ||
	./deploy/install-deps.sh fail2ban python3-pyinotify || exit 1
command -v crowdsec >/dev/null && command -v crowdsec-firewall-bouncer >/dev/null && command -v jq >/dev/null ||
	./deploy/install-deps.sh crowdsec crowdsec-firewall-bouncer jq || exit 1
make -s --no-print-directory .output/bench/xdp_cost .output/bench/tarpit_hold \
	.output/bench/grey_rate .output/bench/smtp_floor .output/bench/conn_burst .output/tools/gwnet \
	.output/bench/watch_match .output/bench/watch_latency .output/bench/sync_bench .output/bench/wire_send \
	greywalld greywallctl || exit 1
HOLD_RUNS=${HOLD_RUNS:-2}
nft_v=$(nft -v 2>/dev/null)
ipt_v=$(iptables -V 2>/dev/null)

# The median of a field over the runs: file key name field -> value, from
# the lines "RESULT key=name ... field=value ..."
median() {
	awk -v k="$2" -v n="$3" -v f="$4" '$1 == "RESULT" && $2 == k "=" n {
		for (i = 3; i <= NF; i++) if (index($i, f "=") == 1) v[c++] = substr($i, length(f) + 2) + 0 }
		END {
			if (!c) exit
			for (i = 1; i < c; i++) for (j = i; j > 0 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			printf "%g\n", c % 2 ? v[(c - 1) / 2] : (v[c / 2 - 1] + v[c / 2]) / 2 }' "$1"
}
# "a / b" with its verdict against a target: a b op target -> "ratio verdict"
verdict() {
	awk -v a="$1" -v b="$2" -v op="$3" -v t="$4" 'BEGIN {
		if (a == "" || b == "" || b == 0) { print "? **MISS**"; exit }
		r = a / b; ok = op == "<=" ? r <= t : r >= t
		printf "%.2f **%s**\n", r, ok ? "PASS" : "MISS" }'
}
# One field of the first "RESULT KEY=NAME k=v ..." line: file key name field -> value
result_field() {
	awk -v k="$2" -v n="$3" -v f="$4" '$1 == "RESULT" && $2 == k "=" n {
		for (i = 3; i <= NF; i++) if (index($i, f "=") == 1) { print substr($i, length(f) + 2); exit } }' "$1"
}
# A table row per "RESULT KEY=NAME k=v ..." line: key file awk-statements,
# which see the fields in f[] and the run number of NAME in r.
result_rows() {
	awk -v k="$1" '$1 == "RESULT" && index($2, k "=") == 1 {
		delete f
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		r = ++run[f[k]]
		'"$3"' }' "$2"
}

# ---- connection-rate enforcement ----------------------------------------
conn_run() {
	echo "== connection-rate enforcement (bench/connlimit.sh) =="
	./bench/connlimit.sh 2>&1 | tee "$OUT/connlimit.txt"
	conn_rc=${PIPESTATUS[0]}
}
# The largest value of a field over the runs of ENFORCER_BURST: name field -> value
conn_max() {
	awk -v n="$1" -v f="$2" '$1 == "RESULT" && $2 == "connlimit=" n {
		for (i = 3; i <= NF; i++) if (index($i, f "=") == 1) { v = substr($i, length(f) + 2) + 0; if (!c++ || v > m) m = v } }
		END { if (c) print m }' "$OUT/connlimit.txt"
}
# Admitted beyond the limit, the largest over the runs, hold and churn: enforcer -> "hold churn"
conn_beyond() { echo "$(conn_max "$1_hold" beyond) $(conn_max "$1_churn" beyond)"; }
# Connection-rate enforcement's row in the targets table.
conn_rows() {
	local gw ok
	set -- $(conn_beyond greywall)
	gw="${1:-?} held, ${2:-?} churned"
	ok=MISS
	[ "${1:-x}" = 0 ] && [ "${2:-x}" = 0 ] && [ "$conn_rc" -eq 0 ] && ok=PASS
	set -- $(conn_beyond nftables) $(conn_beyond iptables)
	echo "| connections admitted beyond max-src-conn 5 / rate 6/3 in a burst of 1,000/s (most over the runs): greywall == 0 (nftables ${1:-?} held, ${2:-?} churned; iptables ${3:-?}, ${4:-?}) | $gw | **$ok** |"
}
conn_section() {
	echo "### Connection-rate enforcement"
	echo
	if [ "$conn_rc" -ne 0 ]; then
		echo "**bench/connlimit.sh failed** (see the output of \`make bench\`)."
		echo
	fi
	echo "Peers: $nft_v; $ipt_v. $(awk '/^bursts:/ { sub("^bursts: ", ""); print }' "$OUT/connlimit.txt")."
	echo "Beyond: accepted while 5 of the source's were open at the server, or after 6 accepted in the 3 s before."
	echo "Receiver CPU: the gateway's NAPI thread + the gateway namespace's processes, on-CPU ns (schedstat) per packet the client sent."
	echo
	echo "| run | enforcer | burst | attempts | accepted | beyond (conn, rate) | reset | open at end | packets | receiver CPU (ms) | NAPI (ms) | processes (ms) | ns / packet |"
	echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	result_rows connlimit "$OUT/connlimit.txt" 'split(f["connlimit"], nb, "_")
		printf "| %d | %s | %s | %d | %d | %d (%d, %d) | %d | %d | %d | %.1f | %.1f | %.1f | %d |\n", r, nb[1], nb[2],
			f["attempts"], f["accepted"], f["beyond"], f["beyond_conn"], f["beyond_rate"], f["resets"],
			f["open_at_end"], f["packets"], f["rx_cpu_ms"], f["napi_ms"], f["procs_ms"], f["ns_per_pkt"]'
	echo
	echo "Median ns per packet over the runs:"
	for b in hold churn; do
		printf -- "- %s:" "$b"
		for e in greywall nftables iptables; do
			printf " %s %s" "$e" "$(median "$OUT/connlimit.txt" connlimit "${e}_$b" ns_per_pkt)"
		done
		echo
	done
	echo
	echo "The rules, as the script installed them:"
	echo
	sed -n '/^nftables rules:/,/^-- /p' "$OUT/connlimit.txt" | grep -v '^-- ' | sed 's/^/    /'
	echo
}

# Which xdp-filter object `xdp-filter load` picks, asked of the tool itself
# on a veth in a throwaway namespace (private bpffs, generic mode).
xdpfilter_pick() { # extra load options...
	local ns=gwxf$$ bpffs=/run/gwxf$$ name
	mkdir -p "$bpffs" && mount -t bpf bpf "$bpffs" || return 1
	ip netns add "$ns" &&
		ip netns exec "$ns" ip link add veth0 type veth peer name veth1 &&
		ip netns exec "$ns" ip link set veth0 up &&
		LIBXDP_BPFFS=$bpffs ip netns exec "$ns" xdp-filter load -m skb "$@" veth0 >/dev/null 2>&1 &&
		name=$(LIBXDP_BPFFS=$bpffs ip netns exec "$ns" xdp-loader status veth0 2>/dev/null |
			awk '$1 == "veth0" { for (i = 2; i <= NF; i++) if ($i ~ /^xdpfilt_/) print $i }')
	LIBXDP_BPFFS=$bpffs ip netns exec "$ns" xdp-filter unload -a veth0 >/dev/null 2>&1
	ip netns del "$ns" 2>/dev/null
	umount "$bpffs"
	rmdir "$bpffs"
	echo "${name:-unknown}"
}
# ---- reading logs ------------------------------------------------------
watch_run() {
	echo "== reading logs (bench/watch.sh) =="
	./bench/watch.sh 2>&1 | tee "$OUT/watch.txt"
	watch_rc=${PIPESTATUS[0]}
}
watchres() { median "$OUT/watch.txt" watch "$1" "$2"; }
# The same as a whole number (lines/s): name field
watchrate() { watchres "$1" "$2" | awk '{ printf "%.0f\n", $1 }'; }
# The log watchers' rows in the targets table.
watch_rows() {
	local p gw re sv ok check
	for p in dovecot sshd; do
		gw=$(watchrate "match_$p" lines_per_s)
		re=$(watchrate "f2bregex_$p" lines_per_s)
		set -- $(verdict "$gw" "$re" ">=" 20)
		echo "| lines/s through the $p pattern, 1,000,000 lines (10% failures): greywall's matcher (${gw:-?}/s) / fail2ban-regex (${re:-?}/s) >= 20 | $1 | $2 |"
		gw=$(watchrate "greywalld_$p" lines_per_s)
		sv=$(watchrate "f2bserver_$p" lines_per_s)
		set -- $(verdict "$gw" "$sv" ">=" 20)
		echo "| lines/s through the $p pattern, following the file: greywalld (${gw:-?}/s) / fail2ban-server, pyinotify (${sv:-?}/s) >= 20 | $1 | $2 |"
	done
	set -- $(awk '$1 == "RESULT" && $2 == "watch=latency_greywall" {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		print f["p99_ms"], f["median_ms"], f["max_ms"], f["trials"], f["timeouts"] }' "$OUT/watch.txt")
	# PASS needs every sampled source's real connection dropped and the unlisted one through.
	check=$(awk '$2 == "watch=latency_check" { split($3, a, "="); split($4, b, "="); split($5, c, "=")
		ok = a[2] > 0 && a[2] == b[2] && c[2] == 1; print ok ? "ok" : "failed" }' "$OUT/watch.txt")
	ok=MISS
	awk -v p="${1:-x}" -v t="${5:-1}" 'BEGIN { exit !(p != "x" && p + 0 <= 10 && t == 0) }' &&
		[ "$check" = ok ] && ok=PASS
	echo "| trap login's log line to the XDP drop of its source, p99 over ${4:-?} trials <= 10 ms (median ${2:-?} ms, max ${3:-?} ms; fail2ban median $(watchres latency_fail2ban median_ms) ms) | ${1:-?} ms | **$ok** |"
}
watch_section() {
	echo "### Reading logs"
	echo
	if [ "$watch_rc" -ne 0 ]; then
		echo "**bench/watch.sh failed** (see the output of \`make bench\`)."
		echo
	fi
	grep -v -e '^RESULT' -e '^SAMPLE' "$OUT/watch.txt" | sed "s|/run/gwwatch\.[0-9]*/|/run/gwwatch.PID/|" | sed 's/^/    /'
	echo
	echo "| run | what | pattern | lines | seconds | lines/s |"
	echo "| ---: | --- | --- | ---: | ---: | ---: |"
	result_rows watch "$OUT/watch.txt" 'if (f["lines_per_s"] == "") next
		split(f["watch"], kp, "_")
		printf "| %d | %s | %s | %d | %.3f | %d |\n", r, kp[1], kp[2], f["lines"], f["seconds"], f["lines_per_s"]'
	echo
	echo "Latency, a trap login's line to the drop (ms):"
	echo
	echo "| who | trials | timeouts | median | p90 | p99 | max |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	result_rows watch "$OUT/watch.txt" 'if (f["watch"] !~ /^latency_/ || f["median_ms"] == "") next
		printf "| %s | %d | %d | %.3f | %.3f | %.3f | %.3f |\n", substr(f["watch"], 9), f["trials"],
			f["timeouts"], f["median_ms"], f["p90_ms"], f["p99_ms"], f["max_ms"]'
	echo
}
# ---- spamd sync ------------------------------------------------------------
sync_run() {
	echo "== spamd sync between two gateways (bench/sync.sh) =="
	./bench/sync.sh 2>&1 | tee "$OUT/sync.txt"
	sync_rc=${PIPESTATUS[0]}
}
# A field of the (first) "RESULT sync=NAME" line: name field
syncres() { result_field "$OUT/sync.txt" sync "$1" "$2"; }
# B's lossless capacity: the highest offered rate before the first step that lost any
sync_capacity() {
	awk '$1 == "RESULT" && $2 == "sync=capacity" {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["lost"] + 0 > 0) exit
		c = f["offered"] } END { if (c != "") print c }' "$OUT/sync.txt"
}
sync_rows() {
	local cap a_rate lost ok check p99
	cap=$(sync_capacity)
	a_rate=$(awk '$1 == "RESULT" && $2 == "greylist=sync_tarpit" { for (i = 3; i <= NF; i++) if ($i ~ /^rate=/) { sub("rate=", "", $i); print $i } }' "$OUT/sync.txt")
	lost=$(syncres tarpit lost)
	set -- $(verdict "$cap" "$a_rate" ">=" 1.0)
	ok=$2
	[ "${lost:-x}" = 0 ] || ok=**MISS**
	echo "| greylist updates/s B applies from peer A: B's lossless rate for a stream of signed GREY datagrams (${cap:-?}/s) / A's tarpit flat out in the same run (${a_rate:-?} decisions/s) >= 1.0, and nothing lost with A's tarpit flat out (B took $(syncres tarpit b_taken) of $(syncres tarpit count), lost ${lost:-?}) | $1 | $ok |"
	check=$(awk '$2 == "sync=latency_check" { split($3, a, "="); split($4, b, "="); split($5, c, "=")
		ok = a[2] > 0 && a[2] == b[2] && c[2] == 1; print ok ? "ok" : "failed" }' "$OUT/sync.txt")
	p99=$(syncres latency_greywall p99_ms)
	ok=MISS
	awk -v p="${p99:-x}" -v t="$(syncres latency_greywall timeouts)" 'BEGIN { exit !(p != "x" && p + 0 <= 50 && t == "0") }' &&
		[ "$check" = ok ] && ok=PASS
	echo "| a trap hit on A to B's XDP dropping the source, p99 over $(syncres latency_greywall trials) trials <= 50 ms (median $(syncres latency_greywall median_ms) ms, max $(syncres latency_greywall max_ms) ms; sampled real connections $(syncres latency_check dropped) of $(syncres latency_check sampled) dropped) | ${p99:-?} ms | **$ok** |"
}
sync_section() {
	echo "### spamd sync between two gateways"
	echo
	if [ "$sync_rc" -ne 0 ]; then
		echo "**bench/sync.sh failed** (see the output of \`make bench\`)."
		echo
	fi
	grep -v -e '^RESULT' -e '^SAMPLE' "$OUT/sync.txt" | sed -e "s|/run/gwsync\.[0-9]*/|/run/gwsync.PID/|" \
		-e 's/gwsy[0-9]*-/gwsyPID-/g' | sed 's/^/    /'
	echo
	echo "B's capacity, signed GREY datagrams at rising rates:"
	echo
	echo "| offered/s | sent | received | taken | lost | UDP receive-buffer drops | taken/s |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	result_rows sync "$OUT/sync.txt" 'if (f["sync"] != "capacity") next
		printf "| %d | %d | %d | %d | %d | %d | %d |\n", f["offered"], f["sent"], f["received"], f["taken"],
			f["lost"], f["udp_rcvbuf_drops"], f["taken_per_s"]'
	echo
	echo "A's tarpit flat out: A decided $(syncres tarpit a_logged) at $(syncres tarpit a_rate)/s (first to last in its log)," \
		"sent B $(syncres tarpit a_sent) datagrams ($(syncres tarpit a_send_errors) send errors);" \
		"B took $(syncres tarpit b_taken) at $(syncres tarpit b_rate)/s, its last $(syncres tarpit lag_ms) ms after A's;" \
		"UDP receive-buffer drops on B: $(syncres tarpit udp_rcvbuf_drops)."
	echo
	echo "A trap hit on A to B's XDP drop (ms): median $(syncres latency_greywall median_ms), p90 $(syncres latency_greywall p90_ms)," \
		"p99 $(syncres latency_greywall p99_ms), max $(syncres latency_greywall max_ms), min $(syncres latency_greywall min_ms);" \
		"$(syncres latency_greywall trials) trials, $(syncres latency_greywall timeouts) timeouts."
	echo
}
# ---- table exchange ----------------------------------------------------------
exch_run() {
	echo "== table exchange: 1,000,000 entries, 1% churn (bench/exchange.sh) =="
	./bench/exchange.sh 2>&1 | tee "$OUT/exchange.txt"
	exch_rc=${PIPESTATUS[0]}
}
exchres() { result_field "$OUT/exchange.txt" exchange "$1" "$2"; }
exch_rows() {
	local gw ip
	gw=$(exchres greywall seconds)
	ip=$(exchres ipset seconds)
	set -- $(verdict "$gw" "$ip" "<=" 0.5)
	[ "$exch_rc" -eq 0 ] || set -- "$1" "**MISS**"
	echo "| merging a 1,000,000-entry peer list with 1% churn into a table of 1,000,000: greywallctl table T exchange (${gw:-?} s) / ipset restore into a swapped set (${ip:-?} s) <= 0.5 | $1 | $2 |"
	echo "| greywalld's event loop during those merges: the slowest greywallctl status answer, table T exchange (answered once merged; the read beside the loop, the merge in it); periodic exchange (only the merge in the loop): $(exchres greywall periodic_status_max_ms) ms; idle: median $(exchres greywall idle_status_median_ms) ms, max $(exchres greywall idle_status_max_ms) ms | $(exchres greywall status_max_ms) ms | info |"
}
exch_section() {
	echo "### Table exchange: 1,000,000 entries, 1% churn"
	echo
	if [ "$exch_rc" -ne 0 ]; then
		echo "**bench/exchange.sh failed** (see the output of \`make bench\`)."
		echo
	fi
	grep -v -e '^RESULT' -e '^RATIO' "$OUT/exchange.txt" | sed "s|/run/gwexch\.[0-9]*/|/run/gwexch.PID/|g" | sed 's/^/    /'
	echo
}
# ---- CrowdSec decisions ---------------------------------------------------------
cs_run() {
	echo "== 100,000 CrowdSec decisions imported at once (bench/crowdsec.sh) =="
	./bench/crowdsec.sh 2>&1 | tee "$OUT/crowdsec.txt"
	cs_rc=${PIPESTATUS[0]}
}
csres() { result_field "$OUT/crowdsec.txt" crowdsec "$1" "$2"; }
# The faster of the firewall bouncer's two modes: "mode seconds" (to the last
# decision it got: CrowdSec's stream may never hand over a few, bench/crowdsec.sh)
cs_fastest_peer() {
	awk '$1 == "RESULT" && $2 ~ /^crowdsec=fw_/ {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (best == "" || f["seconds"] + 0 < best) { best = f["seconds"] + 0; name = substr($2, 13) } }
		END { if (name != "") print name, best }' "$OUT/crowdsec.txt"
}
cs_rows() {
	local gw peer
	gw=$(csres greywall seconds)
	[ "$(csres greywall complete)" = 1 ] || gw=
	set -- $(cs_fastest_peer)
	peer="${1:-none} ${2:-?} s"
	set -- $(verdict "$gw" "${2:-}" "<=" 0.1)
	[ "$cs_rc" -eq 0 ] || set -- "$1" "**MISS**"
	echo "| $(csres fw_nftables count) CrowdSec decisions imported at once to all enforced: greywall (${gw:-not measured} s) / the faster crowdsec-firewall-bouncer mode ($peer; nftables $(csres fw_nftables seconds) s, $(csres fw_nftables held) held; ipset $(csres fw_ipset seconds) s, $(csres fw_ipset held) held) <= 0.1 | $1 | $2 |"
}
cs_section() {
	echo "### CrowdSec decisions: 100,000 imported at once"
	echo
	if [ "$cs_rc" -ne 0 ]; then
		echo "**bench/crowdsec.sh failed** (see the output of \`make bench\`)."
		echo
	fi
	grep -v '^RESULT' "$OUT/crowdsec.txt" | sed -e 's/gwcrowdsec[0-9]*/gwcrowdsecPID/g' | sed 's/^/    /'
	echo
	echo "| enforcer | held | import start to the last one held (s) | import (s) | kernel B / decision | process RSS B / decision | idle pulls | CPU / idle pull (us, utime+stime) | on-CPU / idle pull (us, schedstat) | LAPI CPU / pull (us) | LAPI answer (ms, median) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	result_rows crowdsec "$OUT/crowdsec.txt" 'printf "| %s | %s of %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f["crowdsec"],
			f["held"], f["count"], f["seconds"], f["import_s"], f["kernel_bytes_per_decision"],
			f["rss_bytes_per_decision"], f["pulls"], f["cpu_us_per_pull"], f["sched_us_per_pull"],
			f["lapi_cpu_us_per_pull"], f["lapi_answer_median_ms"]'
	echo
	echo "ipset's own size of its two sets: $(csres fw_ipset ipset_bytes_per_decision) B a decision;" \
		"crowdsec-firewall-bouncer's nftables sets hold a range as: $(csres fw_nftables ranges)."
	echo
}
polres() { median "$OUT/policy.txt" policy "$1" "$2"; }
policy_run() {
	echo "== policy decisions per second (bench/policy.sh) =="
	./bench/policy.sh 2>&1 | tee "$OUT/policy.txt"
	policy_rc=${PIPESTATUS[0]}
}
policy_rows() {
	for t in new repeat; do
		for c in persistent per-request; do
			set -- $(verdict "$(polres "greywall_${t}_$c" rate)" "$(polres "postgrey_${t}_$c" rate)" ">=" 10)
			echo "| policy decisions/s, $t tuples, $c connections: greywall ($(polres "greywall_${t}_$c" rate)/s) / postgrey ($(polres "postgrey_${t}_$c" rate)/s) >= 10 | $1 | $2 |"
		done
	done
}
policy_section() {
	echo "### Policy decisions per second"
	echo
	if [ "$policy_rc" -ne 0 ]; then
		echo "**bench/policy.sh failed:**"
		echo
	fi
	grep -v -e '^RESULT' -e '^#   ' "$OUT/policy.txt" | sed 's/^/    /'
	echo
	echo "Medians (decisions/s, p50 and p99 latency in microseconds):"
	echo
	echo "| tuples | connections | greywall /s | p50 | p99 | postgrey /s | p50 | p99 | ratio |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for t in new repeat; do
		for c in persistent per-request; do
			echo "| $t | $c | $(polres "greywall_${t}_$c" rate) | $(polres "greywall_${t}_$c" p50_us) | $(polres "greywall_${t}_$c" p99_us) | $(polres "postgrey_${t}_$c" rate) | $(polres "postgrey_${t}_$c" p50_us) | $(polres "postgrey_${t}_$c" p99_us) | $(verdict "$(polres "greywall_${t}_$c" rate)" "$(polres "postgrey_${t}_$c" rate)" ">=" 10 | cut -d' ' -f1) |"
		done
	done
	echo
}

# ---- memory per entry ------------------------------------------------------
mem_run() {
	echo "== memory per entry (bench/memory.sh) =="
	./bench/memory.sh 2>&1 | tee "$OUT/memory.txt"
	mem_rc=${PIPESTATUS[0]}
}
memres() { result_field "$OUT/memory.txt" memory "$1" "$2"; }
mem_rows() {
	local k
	for k in hosts nets; do
		echo "| memory per $([ $k = hosts ] && echo host || echo network) at $(memres "greywall_$k" entries) entries: greywall, kernel maps + greywalld RSS growth ($(memres "greywall_$k" bytes_per_entry) B) / ipset $([ $k = hosts ] && echo hash:ip || echo hash:net) ($(memres "ipset_$k" bytes_per_entry) B) | $(verdict "$(memres "greywall_$k" bytes_per_entry)" "$(memres "ipset_$k" bytes_per_entry)" "<=" 1 | cut -d' ' -f1) | info |"
	done
}
mem_section() {
	echo "### Memory per entry"
	echo
	[ "$mem_rc" -eq 0 ] || { echo "**bench/memory.sh failed** (see the output of \`make bench\`)."; echo; }
	grep -v '^RESULT' "$OUT/memory.txt" | sed 's/^/    /'
	echo
	echo "| entries | greywall kernel growth (B) | greywalld RSS growth (B) | greywall B / entry | ipset B / entry (Size in memory) |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	for k in hosts nets; do
		echo "| $(memres "greywall_$k" entries) $k | $(memres "greywall_$k" kernel_delta) | $(memres "greywall_$k" rss_delta) | $(memres "greywall_$k" bytes_per_entry) | $(memres "ipset_$k" bytes_per_entry) |"
	done
	echo
	echo "greywall's host map at its full size: $(memres greywall_hosts host_map) B, $(memres greywall_hosts host_map_per_entry) B per host held; the IPv4 trie $(memres greywall_nets prefix_map_per_entry) B per network. Everything greywall holds (maps and greywalld): $(memres greywall_total bytes_per_entry) B per entry."
	echo
}

# ---- the drop path on the wire -------------------------------------------
wire_run() {
	echo "== the drop path on the wire (bench/wire.sh) =="
	./bench/wire.sh 2>&1 | tee "$OUT/wire.txt"
	wire_rc=${PIPESTATUS[0]}
}
# The median of a flood's field over the runs: ENFORCER_SENDER_SOURCE field
wireres() { median "$OUT/wire.txt" wire "$1" "$2"; }
wire_rows() {
	local src peer t what
	for src in host net; do
		what="a listed host ($(awk '/^tables:/ { print $2, $3, $4, $5, $6; exit }' "$OUT/wire.txt") loaded)"
		[ "$src" = net ] && what="a source in a listed /24"
		for peer in xdp-filter nftables; do
			t=1.0
			[ "$peer" = nftables ] && t=0.3
			set -- $(verdict "$(wireres "greywall_xdp_$src" ns_per_pkt)" "$(wireres "${peer}_xdp_$src" ns_per_pkt)" "<=" $t)
			echo "| receiver CPU per dropped packet on the wire, $what, XDP frames: greywall ($(wireres "greywall_xdp_$src" ns_per_pkt) ns) / $peer ($(wireres "${peer}_xdp_$src" ns_per_pkt) ns) <= $t (AF_PACKET sender: $(verdict "$(wireres "greywall_packet_$src" ns_per_pkt)" "$(wireres "${peer}_packet_$src" ns_per_pkt)" "<=" $t | cut -d' ' -f1)) | $1 | $2 |"
		done
	done
	wire_dispatch_row
}
# The dispatcher's row: under libxdp's dispatcher / attached directly, BPF_PROG_TEST_RUN.
wire_dispatch_row() {
	local st
	st=$(result_field "$OUT/wire.txt" wire dispatch_host status)
	if [ "$st" = no_dispatcher ]; then
		echo "| greywall under libxdp's dispatcher / attached directly (BPF_PROG_TEST_RUN, same maps): libxdp attached greywall without its dispatcher on this machine, nothing to compare | ? | info |"
		return
	fi
	echo "| greywall under libxdp's dispatcher / attached directly (BPF_PROG_TEST_RUN, same maps, listed host: $(wireres dispatch_host dispatcher_ns) / $(wireres dispatch_host direct_ns) ns; in a listed /24: $(wireres dispatch_net dispatcher_ns) / $(wireres dispatch_net direct_ns) ns) | $(wireres dispatch_host ratio) | info |"
}
wire_section() {
	local e s src
	echo "### The drop path on the wire"
	echo
	if [ "$wire_rc" -ne 0 ]; then
		echo "**bench/wire.sh failed** (see the output of \`make bench\`)."
		echo
	fi
	grep -v -e '^RESULT' -e '^-- ' "$OUT/wire.txt" | sed -e 's/gwwire[0-9]*/gwwirePID/g' -e 's/w[0-9]*r/wPIDr/g' | sed 's/^/    /'
	echo
	echo "Medians over the runs: receiver CPU per frame taken in (ns, the NAPI thread's on-CPU time), and packets per second per receiving core (frames / on-CPU seconds):"
	echo
	echo "| sender | source | none (stack, RST) | greywall | xdp-filter | nftables | iptables |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
	for s in xdp packet; do
		for src in host net; do
			printf "| %s | %s |" "$s" "$src"
			for e in none greywall xdp-filter nftables iptables; do
				printf " %s ns, %.0f/s |" "$(wireres "${e}_${s}_$src" ns_per_pkt)" "$(wireres "${e}_${s}_$src" core_pps)"
			done
			echo
		done
	done
	echo
	echo "| run | flood | sent | sent/s | taken in | leaked | NAPI (ms) | ns / frame | taken in /s | per core /s |"
	echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	result_rows wire "$OUT/wire.txt" 'printf "| %d | %s | %d | %d | %d | %d | %.1f | %.1f | %d | %d |\n", r, f["wire"],
			f["sent"], f["pps"], f["received"], f["leaked"], f["napi_ms"], f["ns_per_pkt"], f["rx_pps"], f["core_pps"]'
	echo
}

if [ "${BENCH_ONLY:-}" = policy ]; then
	policy_run
	echo
	policy_rows
	echo
	policy_section
	exit "$policy_rc"
fi
if [ "${BENCH_ONLY:-}" = crowdsec ]; then
	cs_run
	echo
	cs_rows
	echo
	cs_section
	exit "$cs_rc"
fi
if [ "${BENCH_ONLY:-}" = sync ]; then
	sync_run
	echo
	sync_rows
	echo
	sync_section
	exit "$sync_rc"
fi
if [ "${BENCH_ONLY:-}" = exchange ]; then
	exch_run
	echo
	exch_rows
	echo
	exch_section
	exit "$exch_rc"
fi
if [ "${BENCH_ONLY:-}" = watch ]; then
	watch_run
	echo
	watch_rows
	echo
	watch_section
	exit "$watch_rc"
fi
if [ "${BENCH_ONLY:-}" = memory ]; then
	mem_run
	echo
	mem_rows
	echo
	mem_section
	exit "$mem_rc"
fi
if [ "${BENCH_ONLY:-}" = wire ]; then
	wire_run
	echo
	wire_rows
	echo
	wire_section
	exit "$wire_rc"
fi
if [ "${BENCH_ONLY:-}" = connlimit ]; then
	conn_run
	echo
	conn_rows
	echo
	conn_section
	exit "$conn_rc"
fi

pick_ipv4=$(xdpfilter_pick -p allow -f ipv4)
pick_default=$(xdpfilter_pick)
echo "xdp-filter load -p allow -f ipv4 attaches: $pick_ipv4; xdp-filter load (defaults): $pick_default"

echo "== per-packet cost (bench/xdp_cost) =="
./.output/bench/xdp_cost 2>"$OUT/xdp_cost.err" | tee "$OUT/xdp_cost.txt"
xdp_rc=${PIPESTATUS[0]}
[ "$xdp_rc" -eq 0 ] || { echo "bench/xdp_cost failed:"; cat "$OUT/xdp_cost.err"; }
echo
echo "== loading 1,000,000 addresses (bench/load.sh) =="
./bench/load.sh 2>&1 | tee "$OUT/load.txt"
load_rc=${PIPESTATUS[0]}
echo
echo "== holding 50,000 stuttering connections (bench/tarpit_hold) =="
# In turn, so both see the same machine; the progress lines (stderr) stay out of the file.
# A copy: every run uses the same binary, whatever is rebuilt meanwhile.
cp .output/bench/tarpit_hold "$OUT/" || exit 1
hold_rc=0
for r in $(seq "$HOLD_RUNS"); do
	for kind in greywall endlessh; do
		echo "-- $kind, run $r"
		"$OUT/tarpit_hold" "$kind" | tee -a "$OUT/hold.txt"
		[ "${PIPESTATUS[0]}" -eq 0 ] || hold_rc=1
	done
done
echo
echo "== greylist decisions per second (bench/greylist.sh) =="
./bench/greylist.sh 2>&1 | tee "$OUT/greylist.txt"
grey_rc=${PIPESTATUS[0]}
echo
policy_run
echo
echo "== a greylist decision under a RCPT flood (bench/rcpt_flood.sh) =="
./bench/rcpt_flood.sh 2>&1 | tee "$OUT/rcpt_flood.txt"
echo
conn_run
echo
watch_run
echo
sync_run
echo
exch_run
echo
cs_run
echo
wire_run
echo
mem_run

# ---- results ----------------------------------------------------------
res() { # file case -> ns
	awk -v c="$2" '$1 == "RESULT" && $2 == "case=" c { sub("ns=", "", $3); print $3 }' "$1"
}
ratio() { # file name -> "value verdict"
	awk -v n="$2" '$1 == "RATIO" && $2 == "name=" n { sub("value=", "", $3); print $3, $5 }' "$1"
}
loadres() { # name -> seconds
	awk -v n="$1" '$1 == "RESULT" && $2 == "load=" n { sub("seconds=", "", $3); print $3 }' "$OUT/load.txt"
}
hold() { median "$OUT/hold.txt" tarpit "$1" "$2"; }
greyres() { median "$OUT/greylist.txt" greylist "$1" "$2"; }
X=$OUT/xdp_cost.txt
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
when=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD 2>/dev/null)
dirty=$(git status --porcelain -- bpf include user 2>/dev/null | grep -q . && echo " (with uncommitted changes in bpf/, include/ or user/)")
ipset_v=$(ipset version 2>/dev/null | head -1)
xdpt_v=$(dpkg-query -W -f='${Version}' xdp-tools 2>/dev/null)
endlessh_v=$(dpkg-query -W -f='${Version}' endlessh 2>/dev/null)
postgrey_v=$(dpkg-query -W -f='${Version}' postgrey 2>/dev/null)

section() {
	echo "## Results"
	echo
	echo "Recorded by \`make bench\` (bench/run.sh) on $when, commit $commit$dirty."
	echo
	echo "- machine: $(nproc) CPUs, $cpu, kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")"
	echo "- peers: xdp-tools $xdpt_v (xdp-filter), $ipset_v, endlessh $endlessh_v, postgrey $postgrey_v, $nft_v, $ipt_v"
	echo "- \`xdp-filter load -p allow -f ipv4\` attaches \`$pick_ipv4\`; \`xdp-filter load\` with defaults attaches \`$pick_default\`"
	echo
	if [ "$xdp_rc" -ne 0 ]; then
		echo "**bench/xdp_cost failed:**"
		echo
		echo '```'
		tail -5 "$OUT/xdp_cost.err"
		echo '```'
	else
		echo "### Per-packet cost (BPF_PROG_TEST_RUN)"
		echo
		head -4 "$X" | sed 's/^/    /'
		echo
		sed -n '/^case /,/^above the empty/p' "$X" | sed 's/^/    /'
		echo
		echo "### Targets"
		echo
		echo "| target | measured | result |"
		echo "| --- | ---: | --- |"
		set -- $(ratio "$X" gw_pass_vs_xdpfilter)
		echo "| greywall pass path (100 entries) / xdp-filter pass path (\`$pick_ipv4\`, $(awk '$2 == "info" { for (i = 3; i <= NF; i++) if ($i ~ /^xdpfilt_capacity=/) { sub(".*=", "", $i); print $i } }' "$X") entries) <= 1.0 | $1 | **$2** |"
		set -- $(ratio "$X" gw_pass1m_vs_xdpfilter)
		echo "| greywall pass path (1M hosts + 100k prefixes) / xdp-filter pass path <= 1.0 | $1 | **$2** |"
		set -- $(ratio "$X" gw_pass1m_vs_pass100)
		echo "| greywall pass path 1M+100k / 100 entries <= 1.3 (one source) | $1 | **$2** |"
		set -- $(ratio "$X" gw_sweep1m_vs_sweep100)
		echo "| greywall pass path 1M+100k / 100 entries <= 1.3 (median over 64 random unlisted sources) | $1 | **$2** |"
		set -- $(awk '$1 == "RATIO" && $2 == "name=gw_flow_vs_pass1m" {
			sub("value=", "", $3); sub("slots_from_home=", "", $4); print $3, $4 }' "$X")
		echo "| established pop3 flow, 50 rules, 1M entries / pass path 1M+100k (one flow, placed last among 50,000: $2 slots from its home, about 1 ns a slot; where it lands is a draw of the seed, so the rows below judge the target) | $1 | info |"
		set -- $(ratio "$X" gw_flowsweep_vs_pass1m)
		echo "| established pop3 flow, 50 rules, 1M entries / pass path 1M+100k <= 1.5 (median over 64 flows spread among 50,000, each over the pass path measured beside it) | $1 | **$2** |"
		set -- $(ratio "$X" gw_flowmean_vs_pass1m)
		echo "| established pop3 flow, 50 rules, 1M entries / pass path 1M+100k <= 1.5 (mean over the 64 flows) | $1 | **$2** |"
		drop_row() { # name text
			local r
			r=$(ratio "$X" "$1")
			[ -n "$r" ] || return 0
			set -- $r "$2"
			echo "| $3 | $1 | **$2** |"
		}
		drop_row gw_drop1m_host_vs_xdpfilter "greywall listed-host drop (1M+100k, \`counters\`) / xdp-filter drop <= 1.0"
		drop_row gw_drop1m_prefix_vs_xdpfilter "greywall drop, source in a listed /24 (1M hosts + 100k IPv4 + 10k IPv6 prefixes) / xdp-filter drop <= 1.0"
		drop_row gw_drop1m_prefix_vs_host "greywall drop, source in a listed /24 (1M+100k+10k) / greywall's listed-host drop <= 1.2"
		drop_row gw_drop1k_vs_xdpfilter "greywall drop, Spamhaus-DROP-sized set (1,000 prefixes /11../24), source in one / xdp-filter drop <= 1.0"
		drop_row gw_drop1k_vs_host "greywall drop, Spamhaus-DROP-sized set, source in one / greywall's listed-host drop <= 1.2"
		drop_row gw_fh4500_vs_xdpfilter "greywall drop, FireHOL-level1-sized set (4,500 prefixes), source in one / xdp-filter drop <= 1.0"
		drop_row gw_fh4500_vs_host "greywall drop, FireHOL-level1-sized set, source in one / greywall's listed-host drop <= 1.2"
		drop_row gw_drop_host6_vs_host "greywall listed IPv6 host drop / listed IPv4 host drop (1M+100k+10k) <= 1.2"
		drop_row gw_drop_prefix6_vs_prefix "greywall drop, IPv6 source in a listed /48 / IPv4 source in a listed /24 (1M+100k+10k) <= 1.2"
		drop_row gw_drop_2cpu_vs_1cpu "greywall listed-host drop, two CPUs at once / one CPU >= 1.8 (packets per second)"
	fi
	ipset_s=$(loadres ipset)
	gw_s=$(loadres greywall)
	set -- $(awk '$1 == "RATIO" && $2 == "name=load_vs_ipset" { sub("value=", "", $3); print $3, $5 }' "$OUT/load.txt")
	if [ -n "$gw_s" ] && [ -n "$ipset_s" ]; then
		echo "| loading 1,000,000 addresses: greywallctl table load -f ($gw_s s) / ipset restore ($ipset_s s) <= 0.5 | $1 | **$2** |"
	else
		echo "| loading 1,000,000 addresses <= 0.5x ipset | ipset ${ipset_s:-?} s, greywall: not measured | **MISS** |"
	fi
	hold_section_rows
	policy_rows
	conn_rows
	watch_rows
	sync_rows
	exch_rows
	cs_rows
	wire_rows
	mem_rows
	echo
	echo "### Loading 1,000,000 addresses"
	echo
	grep -v -e '^RESULT' -e '^RATIO' "$OUT/load.txt" | sed "s|/run/gwbench\.[0-9]*/|/run/gwbench.PID/|" | sed 's/^/    /'
	echo
	hold_section
	greylist_section
	policy_section
	conn_section
	watch_section
	sync_section
	exch_section
	cs_section
	wire_section
	mem_section
}

# The tarpit's and the greylist's rows in the targets table.
hold_section_rows() {
	local gw_held
	gw_held=$(hold greywall held)
	set -- $(verdict "$(hold greywall rss_per_conn)" "$(hold endlessh rss_per_conn)" "<=" 1.0)
	echo "| tarpit memory per held connection: greywall ($(hold greywall rss_per_conn) B) / endlessh ($(hold endlessh rss_per_conn) B) <= 1.0 | $1 | $2 |"
	set -- $(verdict "$(hold greywall cpu_pct)" "$(hold endlessh cpu_pct)" "<=" 1.5)
	echo "| tarpit CPU holding 50,000: greywall ($(hold greywall cpu_pct)% of a core) / endlessh ($(hold endlessh cpu_pct)%) <= 1.5 | $1 | $2 |"
	set -- $(verdict "${gw_held:-0}" 800 ">=" 60)
	echo "| tarpit connections held and stuttered: greywall (${gw_held:-0}) / spamd's maxcon 800 >= 60 | $1 | $2 |"
	set -- $(verdict "$(greyres greywall rate)" "$(greyres floor rate)" ">=" 0.85)
	echo "| full SMTP dialogues/s (connect to 451): greywall's tarpit ($(greyres greywall rate)/s) / bench/smtp_floor ($(greyres floor rate)/s) >= 0.85 | $1 | $2 |"
	set -- $(awk '$1 == "RESULT" { for (i = 2; i <= NF; i++) if ($i ~ /^median_ms=/) { sub(".*=", "", $i); print $i } }' "$OUT/rcpt_flood.txt")
	set -- $(verdict "${2:-}" "${1:-}" "<=" 2.0) "${1:-?}" "${2:-?}"
	echo "| greylist decision, connect to 451: with another client flooding RCPTs ($4 ms) / alone ($3 ms) <= 2.0 (medians) | $1 | $2 |"
}

hold_section() {
	echo "### Holding 50,000 stuttering connections"
	echo
	if [ "$hold_rc" -ne 0 ] || ! grep -q '^RESULT tarpit=greywall' "$OUT/hold.txt" ||
		! grep -q '^RESULT tarpit=endlessh' "$OUT/hold.txt"; then
		echo "**bench/tarpit_hold failed** (see the output of \`make bench\`)."
		echo
	fi
	echo "Each server in 3 processes (see above), $HOLD_RUNS runs each, in turn; ratios from the medians."
	echo
	echo "| run | server | held | RSS / conn (B) | CPU (% of a core) | bytes/s / conn | writes/s / conn | CPU / write (us) | connecting (s) | machine busy |"
	echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	result_rows tarpit "$OUT/hold.txt" 'printf "| %d | %s | %d | %.1f | %.1f | %.2f | %.2f | %.2f | %.1f | %d%% |\n", r, f["tarpit"],
			f["held"], f["rss_per_conn"], f["cpu_pct"], f["bytes_per_s"], f["writes_per_s"],
			f["cpu_us_per_write"], f["connect_s"], f["busy_pct"]'
	echo
	echo "Per process, the first run of each:"
	echo
	for kind in greywall endlessh; do
		awk -v k="$kind" '$1 == k ":" { on = 1 } on && /^RESULT/ { exit } on' "$OUT/hold.txt" | sed 's/^/    /'
		echo
	done
}

greylist_section() {
	echo "### Greylist decisions per second"
	echo
	if [ "$grey_rc" -ne 0 ]; then
		echo "**bench/greylist.sh failed:**"
		echo
	fi
	grep -v -e '^RESULT' -e '^#   ' "$OUT/greylist.txt" | sed "s|/run/gwgrey\.[0-9]*/|/run/gwgrey.PID/|" | sed 's/^/    /'
	echo
	echo "Medians: greywall $(greyres greywall rate)/s, grey_update alone $(greyres grey_update rate)/s" \
		"(in transactions of 1000: $(greyres grey_update_batched rate)/s)."
	echo
	echo "The floor (bench/smtp_floor: the same dialogues answered by a server that does" \
		"nothing else) reached $(greyres floor rate)/s; greywall reached" \
		"$(verdict "$(greyres greywall rate)" "$(greyres floor rate)" ">=" 1 | cut -d' ' -f1) of it."
	echo
	local gw fl gwc flc
	gw=$(greyres greywall_cpu us_per_dialogue) fl=$(greyres floor_cpu us_per_dialogue)
	gwc=$(greyres greywall_cpu client) flc=$(greyres floor_cpu client)
	[ -n "$gw" ] && [ -n "$fl" ] && echo "CPU per dialogue (medians, user + system time):" \
		"greywalld ${gw} us (parent $(greyres greywall_cpu parent), tarpit child" \
		"$(greyres greywall_cpu child)), smtp_floor ${fl} us; the client ${gwc:-?} us against" \
		"greywalld, ${flc:-?} us against the floor. Where the CPUs are the limit greywall" \
		"reaches (floor + client) / (greywalld + client) =" \
		"$(verdict "$((fl + ${flc:-0}))" "$((gw + ${gwc:-0}))" ">=" 1 | cut -d' ' -f1) of the floor."
	echo
}

section >"$OUT/section.md"
echo
echo "== summary =="
grep -E '^\| (greywall|established|loading|tarpit|greylist|full SMTP|policy|connections|lines/s|trap login|a trap hit|merging|[0-9]+ CrowdSec|receiver CPU|memory per)' "$OUT/section.md"

if [ -z "${BENCH_NO_WRITE:-}" ]; then
	md=BENCHMARKS.md
	if [ -f "$md" ] && grep -q '^<!-- results:begin -->' "$md"; then
		awk -v f="$OUT/section.md" '
			/^<!-- results:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
			/^<!-- results:end -->/ { skip = 0 }
			!skip' "$md" >"$OUT/md" && cat "$OUT/md" >"$md"
	else
		{ [ -f "$md" ] && cat "$md"; echo "<!-- results:begin -->"; cat "$OUT/section.md"; echo "<!-- results:end -->"; } >"$OUT/md" &&
			cat "$OUT/md" >"$md"
	fi
	echo "results written to $md"
fi
[ "$xdp_rc" -eq 0 ] && [ "$hold_rc" -eq 0 ] && [ "$grey_rc" -eq 0 ] && [ "$conn_rc" -eq 0 ] &&
	[ "$watch_rc" -eq 0 ] && [ "$sync_rc" -eq 0 ] && [ "$exch_rc" -eq 0 ] && [ "$cs_rc" -eq 0 ] &&
	[ "$wire_rc" -eq 0 ] && [ "$mem_rc" -eq 0 ]
