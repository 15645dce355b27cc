#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# spamd sync between two gateways, A and B: two greywalld in network
# namespaces of their own (bpffs, state, control socket each), joined by
# a veth pair (sa 198.51.100.129/25 in A, sb 198.51.100.130/25 in B), each
# the other's unicast sync peer under one key file.
#
#   capacity  bench/sync_bench flood, from a third address on A's side of
#             the link (198.51.100.131): signed GREY datagrams as a peer
#             sends them (greywall's encoder, SENDER trailer, new tuples),
#             paced at rising rates (SYNC_RATES, default 1000 2000 ... 16000
#             a second, SYNC_STEP_S seconds each, default 1) until B takes
#             fewer than were sent (or 76,000 tuples were sent: the 380
#             sources of the records, 192.0.2.1-254 and 198.51.100.1-126,
#             stay under B's 200 live tuples a source); B's `sync show` counts what it received
#             and took from that sender, and the kernel's UDP receive-buffer
#             drops in B's namespace are read beside it
#   tarpit    A's tarpit flat out, as bench/greylist.sh runs it:
#             bench/grey_rate smtp, SYNC_COUNT (default 20000) new tuples,
#             32 dialogues at a time, on 127.0.0.1:8025 in A's namespace,
#             from 203.0.113.1-254 (a local route on A's lo: B ignores
#             loopback sources, as spamd should); every decision A takes
#             is a GREY datagram to B. Two bench/sync_bench followers count
#             the "new entry" lines of A's log and of B's ("(sync from
#             198.51.100.129)"), on one clock: first and last of each, so
#             B's applied rate is over B's own window and the lag is B's
#             last minus A's last
#   latency   bench/sync_bench latency, in B's namespace: from a fresh
#             source (192.0.2.1-254, then 198.51.100.1-126, local routes on
#             A's lo) an SMTP dialogue with A's tarpit up to MAIL, the clock
#             taken, RCPT TO:<trap@example.org> (A's spamtrap: A traps the
#             source and sends TRAPPED to B), then B's attached XDP program
#             run with BPF_PROG_TEST_RUN on a SYN from the source every
#             20 us until XDP_DROP; SYNC_TRIALS trials (default 300). B's
#             ruleset is `block drop quick from <spamd-greytrap>`, so its
#             data path drops what its greylist traps (greywall's default
#             steers those to the tarpit through sk_lookup; both read the
#             same membership bit, written by the same update). Every 50th
#             source is then checked with a real TCP connection from A's
#             namespace to B, which must time out, while an unlisted
#             source still connects.
#
# Nothing leaves the namespaces. Usage: bench/sync.sh (root)
# Output: "RESULT sync=..." lines; bench/run.sh makes the rows.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${SYNC_COUNT:-20000}
RATES=${SYNC_RATES:-1000 2000 3000 4000 5000 6000 7000 8000 10000 12000 16000}
STEP_S=${SYNC_STEP_S:-1}
TRIALS=${SYNC_TRIALS:-300}
ID=gwsy$$
NSA=$ID-a
NSB=$ID-b
RUN=/run/gwsync.$$
KEY=$RUN/spamd.key
A_PID=
B_PID=
LS_PID=

a() { ip netns exec "$NSA" "$@"; }
b() { ip netns exec "$NSB" "$@"; }
ctla() { "$RUN/bin/greywallctl" -s "$RUN/a/control.sock" "$@"; }
ctlb() { "$RUN/bin/greywallctl" -s "$RUN/b/control.sock" "$@"; }

stop_pid() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	set +e
	stop_pid "$A_PID"
	stop_pid "$B_PID"
	stop_pid "$LS_PID"
	for g in a b; do
		[ -f "$RUN/$g/greywall.conf" ] || continue
		LIBXDP_BPFFS=$RUN/$g/bpf ip netns exec "$ID-$g" "$RUN/bin/greywalld" \
			-f "$RUN/$g/greywall.conf" --detach >/dev/null 2>&1
	done
	for ns in "$NSA" "$NSB"; do
		ip netns list | grep -qw "$ns" || continue
		for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns"
	done
	for g in a b; do mountpoint -q "$RUN/$g/bpf" && umount "$RUN/$g/bpf"; done
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { # what [log]
	echo "sync.sh: $1" >&2
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -15 "$2" | sed 's/^/#   /' >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, XDP)"
for f in greywalld greywallctl .output/bench/sync_bench .output/bench/grey_rate .output/tools/gwnet; do
	[ -x "$TOP/$f" ] || fail "not built: $f (make all)"
done
id greywall >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin greywall ||
	fail "cannot create the user greywall"
mkdir -p "$RUN/bin" "$RUN/a" "$RUN/b"
# Copies: every run uses the same binaries, whatever is rebuilt meanwhile.
cp "$TOP/greywalld" "$TOP/greywallctl" "$TOP/.output/bench/sync_bench" "$TOP/.output/bench/grey_rate" \
	"$TOP/.output/tools/gwnet" "$RUN/bin/" || fail "cannot copy the binaries"
SB=$RUN/bin/sync_bench
printf 'a shared secret for the benchmark\n' >"$KEY"
echo "trap@example.org" >"$RUN/spamtraps"

# ---- the namespaces -----------------------------------------------------------
ip netns add "$NSA" && ip netns add "$NSB" || fail "cannot create network namespaces"
ip link add sa netns "$NSA" type veth peer name sb netns "$NSB" || fail "cannot create the veth pair"
a ip link set lo up && b ip link set lo up
a ip addr add 198.51.100.129/25 dev sa
a ip addr add 198.51.100.131/25 dev sa
b ip addr add 198.51.100.130/25 dev sb
a ip link set sa up && b ip link set sb up
# The dialogues' sources are A's own (local routes on lo), routed back from B.
for p in 192.0.2.0/24 198.51.100.0/25 203.0.113.0/24; do
	a ip route add local "$p" dev lo || fail "cannot add a local route for $p"
	b ip route add "$p" via 198.51.100.129 || fail "cannot route $p on B"
done

conf() { # g iface body...
	local g=$1 ifname=$2
	shift 2
	mkdir -p "$RUN/$g/state" "$RUN/$g/pub" "$RUN/$g/bpf"
	mountpoint -q "$RUN/$g/bpf" || mount -t bpf bpf "$RUN/$g/bpf" || fail "cannot mount bpffs"
	{
		cat <<CONF
set interface $ifname
set bpf-dir "$RUN/$g/bpf/greywall"
set state-dir "$RUN/$g/state"
set control-socket "$RUN/$g/control.sock"
set dump-dir "$RUN/$g/pub"
CONF
		printf '%s\n' "$@"
	} >"$RUN/$g/greywall.conf"
}
start() { # g -> pid in START_PID
	local g=$1
	LIBXDP_BPFFS=$RUN/$g/bpf ip netns exec "$ID-$g" "$RUN/bin/greywalld" -d \
		-f "$RUN/$g/greywall.conf" >"$RUN/$g/greywalld.log" 2>&1 &
	START_PID=$!
	for _ in $(seq 200); do
		"$RUN/bin/greywallctl" -s "$RUN/$g/control.sock" status >/dev/null 2>&1 && return 0
		kill -0 "$START_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

conf a sa "spamd {
	listen 127.0.0.1 port 8025
	hostname \"mx.example.org\"
	stutter 0s
	greystutter 0s
	spamtraps file \"$RUN/spamtraps\"
	sync {
		listen 198.51.100.129
		peer 198.51.100.130
		key \"$KEY\"
	}
}"
conf b sb "block drop quick from <spamd-greytrap>
spamd {
	listen 198.51.100.130 port 8025
	hostname \"mx2.example.org\"
	stutter 0s
	greystutter 0s
	spamtraps file \"$RUN/spamtraps\"
	sync {
		listen 198.51.100.130
		peer 198.51.100.129
		key \"$KEY\"
	}
}"
start a || fail "A's greywalld did not start" "$RUN/a/greywalld.log"
A_PID=$START_PID
start b || fail "B's greywalld did not start" "$RUN/b/greywalld.log"
B_PID=$START_PID
echo "A: greywalld in $NSA (tarpit 127.0.0.1:8025, sync 198.51.100.129); B: greywalld in $NSB (sync 198.51.100.130, block drop quick from <spamd-greytrap> on sb)"

# heard SENDER FIELD: a counter of B's `sync show` line for that sender
heard() { ctlb sync show | awk -v s="$1" -v f="$2" '($1 == "heard" || $1 == "peer") && $2 == s ":" {
	for (i = 3; i <= NF; i++) { w = $i; sub(",", "", w); if (w == f) { v = $(i + 1); sub(",", "", v); print v + 0; exit } } }'; }
udp_drops() { b awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }
# wait_still SENDER: until B's received count from SENDER stops moving (0.3 s apart)
wait_still() {
	local last=-1 now
	for _ in $(seq 100); do
		now=$(heard "$1" received)
		[ "${now:-0}" = "$last" ] && return 0
		last=${now:-0}
		sleep 0.3
	done
}

# ---- capacity: signed GREY datagrams at rising rates ------------------------
echo "-- B's capacity: GREY datagrams from 198.51.100.131 at rising rates, $STEP_S s each"
epoch=$(date +%s)
counter=1
index=0
for rate in $RATES; do
	rx0=$(heard 198.51.100.131 received)
	tk0=$(heard 198.51.100.131 taken)
	dr0=$(udp_drops)
	out=$(a "$SB" flood 198.51.100.131 198.51.100.130 8025 "$KEY" "$rate" "$STEP_S" "$epoch" "$counter" "$index") ||
		fail "sync_bench flood failed"
	wait_still 198.51.100.131
	set -- $out
	for kv in "$@"; do case $kv in sent=*) sent=${kv#sent=} ;; seconds=*) secs=${kv#seconds=} ;;
		counter=*) counter=${kv#counter=} ;; index=*) index=${kv#index=} ;; esac; done
	rx=$(( $(heard 198.51.100.131 received) - ${rx0:-0} ))
	tk=$(( $(heard 198.51.100.131 taken) - ${tk0:-0} ))
	dr=$(( $(udp_drops) - dr0 ))
	lost=$((sent - tk))
	echo "RESULT sync=capacity offered=$rate sent=$sent seconds=$secs received=$rx taken=$tk lost=$lost udp_rcvbuf_drops=$dr taken_per_s=$(awk -v t="$tk" -v s="$secs" 'BEGIN { printf "%.0f", t / s }')"
	[ "$lost" -gt 0 ] && break
	[ "$index" -ge 76000 ] && { echo "# stopped: 76,000 tuples sent (200 a source)"; break; }
done
ctlb sync show | grep -E '^(records|rejected|heard 198.51.100.131)' | sed 's/^/# B: /'

# ---- tarpit: A flat out, B applying --------------------------------------------
echo "-- A's tarpit flat out: $COUNT new tuples, 32 dialogues at a time; B applies what A sends"
tk0=$(heard 198.51.100.129 taken)
dr0=$(udp_drops)
# A's own count of what it sent B: "peer 198.51.100.130: sent N, send errors E, ..."
a_sent() { ctla sync show | awk -v f="$1" '$1 == "peer" && $2 == "198.51.100.130:" {
	for (i = 3; i <= NF; i++) { w = $i; sub(",", "", w); if (w == f) { v = $(i + 1); sub(",", "", v); print v + 0; exit } } }'; }
as0=$(a_sent sent)
ae0=$(a_sent errors)
"$SB" follow "$RUN/a/greywalld.log" "$COUNT" 5 >"$RUN/follow-a" &
fa=$!
"$SB" follow "$RUN/b/greywalld.log" "$COUNT" 5 >"$RUN/follow-b" &
fb=$!
sleep 0.3
a "$RUN/bin/grey_rate" -n "$COUNT" -c 32 -p 8025 -l "$RUN/a/greywalld.log" -S 203.0.113.0 -N sync_tarpit smtp |
	tee "$RUN/tarpit.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "grey_rate against A's tarpit failed" "$RUN/a/greywalld.log"
wait "$fa"
wait "$fb"
wait_still 198.51.100.129
taken=$(( $(heard 198.51.100.129 taken) - ${tk0:-0} ))
a_sent_n=$(( $(a_sent sent) - ${as0:-0} ))
a_err_n=$(( $(a_sent errors) - ${ae0:-0} ))
dr=$(( $(udp_drops) - dr0 ))
echo "# A sent B $a_sent_n datagrams ($a_err_n send errors); B's UDP receive-buffer drops: $dr"
kv() { tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
ca=$(kv "$RUN/follow-a" count); fa1=$(kv "$RUN/follow-a" first); la1=$(kv "$RUN/follow-a" last)
cb=$(kv "$RUN/follow-b" count); fb1=$(kv "$RUN/follow-b" first); lb1=$(kv "$RUN/follow-b" last)
awk -v ca="$ca" -v cb="$cb" -v fa="$fa1" -v la="$la1" -v fb="$fb1" -v lb="$lb1" -v n="$COUNT" -v tk="$taken" -v as="$a_sent_n" -v ae="$a_err_n" -v dr="$dr" 'BEGIN {
	ra = la > fa ? (ca - 1) / (la - fa) : 0; rb = lb > fb ? (cb - 1) / (lb - fb) : 0
	printf "A logged %d decisions in %.3f s (%.0f/s, first to last); B logged %d sync entries in %.3f s (%.0f/s), took %d datagrams; B done %.1f ms after A\n",
		ca, la - fa, ra, cb, lb - fb, rb, tk, (lb - la) * 1e3
	printf "RESULT sync=tarpit count=%d a_logged=%d a_sent=%d a_send_errors=%d b_logged=%d b_taken=%d lost=%d udp_rcvbuf_drops=%d a_rate=%.0f b_rate=%.0f lag_ms=%.1f first_gap_ms=%.1f\n",
		n, ca, as, ae, cb, tk, n - (cb < tk ? cb : tk), dr, ra, rb, (lb - la) * 1e3, (fb - fa) * 1e3 }'
ctlb sync show | sed 's/^/# B: /'
ctlb sync show | grep -E '^(records|rejected|heard 198.51.100.129)' | sed 's/^/# B: /'

# ---- latency: a trap hit on A to B's XDP drop ------------------------------------
echo "-- a trap hit on A (RCPT TO:<trap@example.org>) to B's XDP dropping the source: $TRIALS trials"
b "$RUN/bin/gwnet" listen 8080 >/dev/null 2>&1 &
LS_PID=$!
LIBXDP_BPFFS=$RUN/b/bpf b "$SB" latency sb "$NSA" 8025 trap@example.org "$TRIALS" 5 198.51.100.130 greywall \
	>"$RUN/latency.out" || { cat "$RUN/latency.out"; fail "sync_bench latency failed" "$RUN/b/greywalld.log"; }
cat "$RUN/latency.out"
sampled=0
dropped=0
for src in $(awk '$1 == "SAMPLE" && $3 == "blocked" { print $2 }' "$RUN/latency.out"); do
	sampled=$((sampled + 1))
	a "$RUN/bin/gwnet" connect "$src" 198.51.100.130 8080 300
	[ $? -eq 2 ] && dropped=$((dropped + 1))
done
a "$RUN/bin/gwnet" connect 203.0.113.250 198.51.100.130 8080 1000
control=$?
echo "# real connections from sampled trapped sources to B: $dropped of $sampled timed out (dropped); from 203.0.113.250 (not trapped): $([ $control -eq 0 ] && echo connected || echo "failed ($control)")"
echo "RESULT sync=latency_check sampled=$sampled dropped=$dropped control=$([ $control -eq 0 ] && echo 1 || echo 0)"
ctlb sync show | grep -E '^(records|rejected)' | sed 's/^/# B: /'
