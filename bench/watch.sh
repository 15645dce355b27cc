#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Reading logs: greywall's log watchers against fail2ban (Debian's 1.0.2)
# on the same logs with the same daemons' lines, in one run.
#
# Throughput, per pattern (dovecot, sshd), on a log of WATCH_LINES lines
# (default 1,000,000) that bench/watch_loggen.py writes, every tenth a
# failed login in the form the real daemon writes:
#   match      bench/watch_match: user/watch/follow.c reads the file as
#              greywalld does and every line goes to watch_pattern_match()
#              (3 runs; the reading alone is timed beside it)
#   greywalld  greywalld in a network namespace with a watch block per
#              pattern on an empty file; timed from the start of appending
#              the log to the file (cat >>) until `greywallctl watch show`
#              counts all its lines, polled every 10 ms (3 runs, each
#              appending the log once more); on-failures 100 within 1s,
#              which no source of the log reaches: nothing is listed
#   f2b-regex  fail2ban-regex FILE /etc/fail2ban/filter.d/PATTERN.conf, wall
#              time; its "Lines: N lines, 0 ignored, M matched" must be
#              the log's own count, else the comparison is void
#   f2b-server fail2ban-server (private config directory, socket, pidfile,
#              dbfile :memory:, backend pyinotify, maxretry 1000000000, no
#              action) with a jail per pattern on an empty file; timed
#              from the start of appending the first WATCH_F2B_LINES lines
#              (default 200,000: it reads about 20,000 a second) until
#              `fail2ban-client status JAIL` says "Total failed" is their
#              failure count, polled every 0.5 s
#
# Latency, from a trap login name's sshd line to the XDP drop of its
# source: bench/watch_latency appends the line for a fresh source and runs
# the XDP program greywalld attached (BPF_PROG_TEST_RUN, every 20 us) on a
# SYN from the source until it is XDP_DROP; WATCH_TRIALS trials (default
# 1,000). Every 100th source is then checked with a real TCP connection
# from the client namespace, which must time out, while an unlisted source
# still connects. fail2ban: a jail with maxretry 1 whose action appends the
# address to a file, WATCH_F2B_TRIALS trials (default 50), until the
# address is in the file.
#
# Usage: bench/watch.sh   (root)
# Output: "RESULT watch=KIND_PATTERN key=value ..." per run; bench/run.sh
# makes the rows.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
LINES=${WATCH_LINES:-1000000}
F2B_LINES=${WATCH_F2B_LINES:-200000}
TRIALS=${WATCH_TRIALS:-1000}
F2B_TRIALS=${WATCH_F2B_TRIALS:-50}
ID=gwwa$$
NSG=$ID-gw
NSC=$ID-cl
IFG=w$$g
IFC=w$$c
RUN=/run/gwwatch.$$
BPFFS=$RUN/bpf
CONF=$RUN/greywall.conf
SOCK=$RUN/control.sock
F2B=$RUN/fail2ban
GW_PID=
export LIBXDP_BPFFS=$BPFFS

gw() { ip netns exec "$NSG" "$@"; }
cl() { ip netns exec "$NSC" "$@"; }
ctl() { "$RUN/bin/greywallctl" -s "$SOCK" "$@"; }
f2b() { fail2ban-client -c "$F2B" "$@"; }

stop_greywall() {
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		kill "$GW_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$GW_PID" 2>/dev/null
		wait "$GW_PID" 2>/dev/null
	fi
	GW_PID=
	[ -f "$CONF" ] && gw "$RUN/bin/greywalld" -f "$CONF" --detach >/dev/null 2>&1
}
cleanup() {
	set +e
	stop_greywall
	[ -S "$F2B/fail2ban.sock" ] && f2b stop >/dev/null 2>&1
	for ns in "$NSG" "$NSC"; do
		ip netns list | grep -qw "$ns" || continue
		for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns"
	done
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	wait 2>/dev/null
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { # what [log]
	echo "watch.sh: $1" >&2
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -15 "$2" | sed 's/^/#   /' >&2
	exit 1
}
now() { date +%s.%N; }
# lines/s: lines seconds
rate() { awk -v l="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? l / s : 0) }'; }

setup_net() {
	ip netns add "$NSG" && ip netns add "$NSC" || return 1
	ip link add "$IFG" netns "$NSG" type veth peer name "$IFC" netns "$NSC" || return 1
	gw ip link set lo up && cl ip link set lo up || return 1
	gw ip addr add 192.0.2.1/24 dev "$IFG" && cl ip addr add 192.0.2.10/24 dev "$IFC" || return 1
	gw ip addr add 2001:db8::1/64 dev "$IFG" nodad && cl ip addr add 2001:db8::10/64 dev "$IFC" nodad ||
		return 1
	gw ip link set "$IFG" up && cl ip link set "$IFC" up || return 1
	gw ip route add 198.51.100.0/24 dev "$IFG" && gw ip route add 203.0.113.0/24 dev "$IFG" &&
		gw ip -6 route add 2001:db8:14::/48 dev "$IFG"
}

# The lines counted so far by watcher NAME.
watch_lines() {
	ctl watch show 2>/dev/null | awk -v w="$1" '/^[^\t]/ { cur = $1 } cur == w ":" && $1 == "lines" { print $2; exit }'
}

start_greywall() {
	mkdir -p "$BPFFS" "$RUN/state" "$RUN/pub" "$RUN/log"
	mountpoint -q "$BPFFS" || mount -t bpf bpf "$BPFFS" || return 1
	: >"$RUN/log/dovecot.log"
	: >"$RUN/log/sshd.log"
	printf 'luochun\n' >"$RUN/trap-users"
	cat >"$CONF" <<CONF
set interface $IFG
set bpf-dir "$BPFFS/greywall"
set state-dir "$RUN/state"
set control-socket "$SOCK"
set dump-dir "$RUN/pub"
table <longterm> persist
table <bruteforce> persist
block drop quick from <longterm>
block drop quick from <bruteforce>
trap-users file "$RUN/trap-users"
watch dovecot {
	file "$RUN/log/dovecot.log"
	pattern dovecot
	on-failures 100 within 1s <bruteforce>
}
watch sshd {
	file "$RUN/log/sshd.log"
	pattern sshd
	on-failures 100 within 1s <bruteforce>
}
watch trap {
	file "$RUN/log/trap.log"
	pattern sshd
	on-trap <longterm>
}
CONF
	gw "$RUN/bin/greywalld" -d -f "$CONF" >"$RUN/greywalld.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 200); do
		ctl status >/dev/null 2>&1 && return 0
		kill -0 "$GW_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# greywalld reading the log: pattern failures
greywall_throughput() {
	local p=$1 fails=$2 t0 t1 want got
	for r in 1 2 3; do
		want=$((LINES * r))
		t0=$(now)
		cat "$RUN/gen/$p.log" >>"$RUN/log/$p.log"
		for _ in $(seq 3000); do
			got=$(watch_lines "$p")
			[ "${got:-0}" -ge "$want" ] && break
			sleep 0.01
		done
		t1=$(now)
		[ "${got:-0}" -eq "$want" ] || fail "greywalld's $p watcher read ${got:-?} lines, not $want" "$RUN/greywalld.log"
		s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		echo "RESULT watch=greywalld_$p lines=$LINES seconds=$s lines_per_s=$(rate "$LINES" "$s")"
	done
	ctl watch show | awk -v w="$p" '/^[^\t]/ { cur = $1 } cur == w ":"' | sed 's/^/# /'
	ctl watch show | awk -v w="$p" -v f="$((fails * 3))" '/^[^\t]/ { cur = $1 }
		cur == w ":" && $1 == "lines" { if ($4 != f || $11 != 0) { print "matched " $4 " listed " $11; exit 1 } }' ||
		fail "greywalld's $p watcher did not match $((fails * 3)) failures without listing"
}

f2b_config() {
	mkdir -p "$F2B/filter.d" "$F2B/action.d"
	cp /etc/fail2ban/filter.d/common.conf /etc/fail2ban/filter.d/dovecot.conf \
		/etc/fail2ban/filter.d/sshd.conf "$F2B/filter.d/" || return 1
	: >"$RUN/log/f2b-dovecot.log"
	: >"$RUN/log/f2b-sshd.log"
	: >"$RUN/log/f2b-trap.log"
	cat >"$F2B/fail2ban.conf" <<CONF
[Definition]
loglevel = NOTICE
logtarget = $F2B/fail2ban.log
syslogsocket = auto
socket = $F2B/fail2ban.sock
pidfile = $F2B/fail2ban.pid
dbfile = :memory:
CONF
	cat >"$F2B/action.d/bench.conf" <<CONF
[Definition]
actionstart =
actionstop =
actioncheck =
actionban = echo "<ip>" >> $RUN/banned
actionunban =
CONF
	cat >"$F2B/jail.conf" <<CONF
[DEFAULT]
backend = pyinotify
usedns = no
findtime = 1d
bantime = 1d
maxretry = 1000000000
action =

[dovecot]
enabled = true
filter = dovecot
logpath = $RUN/log/f2b-dovecot.log

[sshd]
enabled = true
filter = sshd
logpath = $RUN/log/f2b-sshd.log

[trap]
enabled = true
filter = sshd
logpath = $RUN/log/f2b-trap.log
maxretry = 1
action = bench
CONF
}

f2b_failed() { f2b status "$1" 2>/dev/null | awk -F'\t' '/Total failed:/ { print $2 + 0 }'; }

f2b_throughput() {
	local p=$1 want=$2 t0 t1 got
	head -n "$F2B_LINES" "$RUN/gen/$p.log" >"$RUN/gen/$p.head"
	t0=$(now)
	cat "$RUN/gen/$p.head" >>"$RUN/log/f2b-$p.log"
	for _ in $(seq 1200); do
		got=$(f2b_failed "$p")
		[ "${got:-0}" -ge "$want" ] && break
		sleep 0.5
	done
	t1=$(now)
	[ "${got:-0}" -eq "$want" ] || fail "fail2ban's $p jail counted ${got:-?} failures, not $want" "$F2B/fail2ban.log"
	s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	echo "RESULT watch=f2bserver_$p lines=$F2B_LINES failed=$got seconds=$s lines_per_s=$(rate "$F2B_LINES" "$s")"
}

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, XDP)"
for c in fail2ban-regex fail2ban-client python3; do
	command -v $c >/dev/null || fail "$c is not installed (make bench installs fail2ban)"
done
/usr/bin/python3 -c 'import pyinotify' 2>/dev/null || fail "python3-pyinotify is not installed (make bench installs it; fail2ban runs /usr/bin/python3)"
for b in greywalld greywallctl .output/tools/gwnet .output/bench/watch_match .output/bench/watch_latency; do
	[ -x "$TOP/$b" ] || fail "not built: $b (make all)"
done
mkdir -p "$RUN/bin" "$RUN/gen" "$RUN/log"
cp "$TOP/greywalld" "$TOP/greywallctl" "$TOP/.output/tools/gwnet" "$TOP/.output/bench/watch_match" \
	"$TOP/.output/bench/watch_latency" "$RUN/bin/" || fail "cannot copy the binaries"

declare -A FAILS
for p in dovecot sshd; do
	out=$("$TOP/bench/watch_loggen.py" "$p" "$LINES" "$RUN/gen/$p.log") || fail "watch_loggen.py $p failed"
	FAILS[$p]=$(echo "$out" | sed -n 's/.*failures=\([0-9]*\).*/\1/p')
	echo "log $p: $out, $(du -m "$RUN/gen/$p.log" | cut -f1) MB; e.g.:"
	awk 'NR <= 3 || NR == 10' "$RUN/gen/$p.log" | sed 's/^/    /'
done
echo "fail2ban $(dpkg-query -W -f='${Version}' fail2ban 2>/dev/null), python3-pyinotify $(dpkg-query -W -f='${Version}' python3-pyinotify 2>/dev/null), $(python3 -V)"

echo "-- the matcher alone (bench/watch_match)"
for p in dovecot sshd; do
	"$RUN/bin/watch_match" "$p" "$RUN/gen/$p.log" "${FAILS[$p]}" 3 || fail "watch_match $p failed"
done

echo "-- fail2ban-regex"
for p in dovecot sshd; do
	t0=$(now)
	fail2ban-regex "$RUN/gen/$p.log" "/etc/fail2ban/filter.d/$p.conf" >"$RUN/f2bregex.$p" 2>&1 ||
		fail "fail2ban-regex $p failed" "$RUN/f2bregex.$p"
	t1=$(now)
	s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	summary=$(grep '^Lines:' "$RUN/f2bregex.$p")
	echo "# fail2ban-regex $p: $summary"
	[ "$summary" = "Lines: $LINES lines, 0 ignored, ${FAILS[$p]} matched, $((LINES - FAILS[$p])) missed" ] ||
		fail "fail2ban-regex $p does not count the log's ${FAILS[$p]} failures: $summary"
	echo "RESULT watch=f2bregex_$p lines=$LINES matched=${FAILS[$p]} seconds=$s lines_per_s=$(rate "$LINES" "$s")"
done

setup_net || fail "cannot set up the namespaces"
gw "$RUN/bin/gwnet" listen 8080 >/dev/null 2>&1 &
start_greywall || fail "greywalld does not start" "$RUN/greywalld.log"

echo "-- greywalld following the log"
for p in dovecot sshd; do
	greywall_throughput "$p" "${FAILS[$p]}"
done

echo "-- greywalld: a trap name's line to the XDP drop"
gw "$RUN/bin/watch_latency" xdp "$IFG" "$RUN/log/trap.log" luochun "$TRIALS" 2 192.0.2.1 2001:db8::1 greywall \
	>"$RUN/latency.out" || fail "watch_latency failed" "$RUN/greywalld.log"
cat "$RUN/latency.out"
ctl watch show | awk '/^[^\t]/ { cur = $1 } cur == "trap:"' | sed 's/^/# /'
sampled=0
dropped=0
for a in $(awk '$1 == "SAMPLE" && $3 == "blocked" { print $2 }' "$RUN/latency.out"); do
	case $a in *:*) cl ip addr add "$a/128" dev "$IFC" nodad ;; *) cl ip addr add "$a/32" dev "$IFC" ;; esac
	dst=192.0.2.1
	case $a in *:*) dst=2001:db8::1 ;; esac
	sampled=$((sampled + 1))
	cl "$RUN/bin/gwnet" connect "$a" "$dst" 8080 300
	[ $? -eq 2 ] && dropped=$((dropped + 1))
done
cl "$RUN/bin/gwnet" connect 192.0.2.10 192.0.2.1 8080 1000
control=$?
echo "# real connections from sampled sources: $dropped of $sampled timed out (dropped); from 192.0.2.10 (unlisted): $([ $control -eq 0 ] && echo connected || echo "failed ($control)")"
echo "RESULT watch=latency_check sampled=$sampled dropped=$dropped control=$([ $control -eq 0 ] && echo 1 || echo 0)"
stop_greywall

echo "-- fail2ban-server following the log (backend pyinotify)"
f2b_config || fail "cannot write fail2ban's configuration"
f2b start >/dev/null 2>&1 || fail "fail2ban-server does not start" "$F2B/fail2ban.log"
for _ in $(seq 100); do f2b status trap >/dev/null 2>&1 && break; sleep 0.1; done
for p in dovecot sshd; do
	want=$(head -n "$F2B_LINES" "$RUN/gen/$p.log" | awk 'NR % 10 == 0' | wc -l)
	f2b_throughput "$p" "$want"
done

echo "-- fail2ban: a failure's line to the ban action (maxretry 1)"
"$RUN/bin/watch_latency" file "$RUN/banned" "$RUN/log/f2b-trap.log" luochun "$F2B_TRIALS" 100 \
	192.0.2.1 2001:db8::1 fail2ban || fail "watch_latency (fail2ban) failed" "$F2B/fail2ban.log"
f2b stop >/dev/null 2>&1
