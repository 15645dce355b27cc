#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Greylist decisions per second, on the same COUNT new tuples and
# the same concurrency for each (bench/grey_rate.c says what a tuple is):
#
#   greywall  greywalld with a spamd block (stutter 0s, greystutter 0s) in a
#             throwaway network namespace; full SMTP dialogues against its
#             tarpit on 127.0.0.1:8025, decisions counted in greywalld's log
#   store     grey_update() alone on a fresh store, no daemon
#   floor     bench/smtp_floor on 127.0.0.1:8026: the same dialogues against a
#             server that only answers them (no greylist, no store, no log):
#             the most any tarpit could reach here with this client
#
# greywall and the floor run in turn, GREY_RUNS times each (default 2),
# greywall from an empty store each time. (Postgrey answers Postfix's policy
# protocol, not SMTP: bench/policy.sh compares it with greywall's policy
# service, request for request.)
#
# CPU per dialogue: the user and system time (/proc/PID/stat) the greywalld
# parent and its tarpit child, or smtp_floor, and the client took during the
# dialogues, over the dialogues. On a machine shared with other work the
# rates move with its load; the CPU per dialogue much less, and the ratio
# (floor + client) / (greywall + client) is what the rates' ratio comes to
# when the CPUs are the limit.
#
# Usage: bench/greylist.sh [COUNT [CONCURRENCY]]   (default 10000 32)
# Output: a summary per run with its "RESULT ..." line; bench/run.sh takes
# the medians and the ratios.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-10000}
CONC=${2:-32}
RUNS=${GREY_RUNS:-2}
RATE=$TOP/.output/bench/grey_rate
TARPIT_PORT=8025
FLOOR_PORT=8026
FL_PID=
BENCH=greylist
. "$TOP/bench/lib.sh"
bench_names grey

bench_cleanup_more() { bench_stop_pid "$FL_PID"; }
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

fail() { bench_fail "$@"; }
# cpu_ticks PID: its user + system time so far, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
# cpu_line NAME TICKS [k=v...]: a server's CPU per dialogue, read and as a RESULT line
cpu_line() {
	local name=$1 ticks=$2
	shift 2
	echo "$name CPU per dialogue: $((ticks * TICK_US / COUNT)) us ($*)"
	echo "RESULT greylist=${name}_cpu us_per_dialogue=$((ticks * TICK_US / COUNT)) $*"
}
# The client's own CPU time, when GNU time is there to take it.
TIMED=()
[ -x /usr/bin/time ] && TIMED=(/usr/bin/time -f '%U %S' -o "$RUN/client.time")
client_cpu() { # -> the client's microseconds per dialogue in the last run, or ?
	awk -v n="$COUNT" '{ printf "%d", ($1 + $2) * 1000000 / n; ok = 1 }
		END { if (!ok) printf "?" }' "$RUN/client.time" 2>/dev/null || echo "?"
}
[ "$(id -u)" -eq 0 ] || fail "needs root (network namespace, greywalld)"
[ -x "$RATE" ] && [ -x "$TOP/greywalld" ] && [ -x "$TOP/greywallctl" ] ||
	fail "not built: make .output/bench/grey_rate greywalld greywallctl"
bench_tarpit_user
mkdir -p "$RUN/pub" "$RUN/bin"
# Copies: every run uses the same binaries, whatever is rebuilt meanwhile.
cp "$TOP/greywalld" "$TOP/greywallctl" "$RATE" "$TOP/.output/bench/smtp_floor" "$RUN/bin/" ||
	fail "cannot copy the binaries"
FLOOR=$RUN/bin/smtp_floor
GWD=$RUN/bin/greywalld
GWCTL=$RUN/bin/greywallctl
RATE=$RUN/bin/grey_rate

echo "tuples: $COUNT new (127.1.0.0 + i, helo mail.example.net, <sender@example.net> -> <rcpt-i@example.org>), $CONC at a time, $RUNS runs each"

# ---- grey_update alone ---------------------------------------------------
"$RATE" -n "$COUNT" store | tee "$RUN/store.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "grey_rate store failed"

# ---- greywalld and the floor, in turn, greywalld from an empty store -------
bench_netns
{
	bench_config_head
	cat <<CONF
spamd {
	listen 127.0.0.1 port $TARPIT_PORT
	hostname "mx.example.org"
	stutter 0s
	greystutter 0s
}
CONF
} >"$CONF"

greywall_run() {
	rm -rf "$RUN/state" && mkdir -p "$RUN/state"
	ip netns exec "$NS" "$GWD" -d -f "$CONF" >"$LOG" 2>&1 &
	GW_PID=$!
	bench_wait_listening "$TARPIT_PORT" "$GW_PID" || fail "greywalld's tarpit did not start" "$LOG"
	local child p0 c0 p1 c1
	child=$(pgrep -f -- "--tarpit-child $RUN/" | head -1)
	p0=$(cpu_ticks "$GW_PID") c0=$(cpu_ticks "$child")
	rm -f "$RUN/client.time"
	ip netns exec "$NS" "${TIMED[@]}" "$RATE" -n "$COUNT" -c "$CONC" -p "$TARPIT_PORT" \
		-l "$LOG" smtp | tee -a "$RUN/greywall.txt"
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail "grey_rate smtp failed" "$LOG"
	p1=$(cpu_ticks "$GW_PID") c1=$(cpu_ticks "$child")
	cpu_line greywall $((p1 - p0 + c1 - c0)) \
		"parent=$(((p1 - p0) * TICK_US / COUNT)) child=$(((c1 - c0) * TICK_US / COUNT))" \
		"client=$(client_cpu)" | tee -a "$RUN/greywall.txt"
	grey=$("$GWCTL" -s "$SOCK" spamdb | grep -c '^GREY|')
	echo "greywallctl spamdb: $grey GREY tuples"
	[ "$grey" -eq "$COUNT" ] || fail "the store holds $grey GREY tuples, not $COUNT" "$LOG"
	bench_stop_pid "$GW_PID"
	GW_PID=
	ip netns exec "$NS" "$GWD" -f "$CONF" --detach >/dev/null 2>&1
}

floor_run() {
	ip netns exec "$NS" "$FLOOR" "$FLOOR_PORT" >"$RUN/floor.log" 2>&1 &
	FL_PID=$!
	bench_wait_listening "$FLOOR_PORT" "$FL_PID" || fail "smtp_floor did not start" "$RUN/floor.log"
	local f0 f1
	f0=$(cpu_ticks "$FL_PID")
	rm -f "$RUN/client.time"
	ip netns exec "$NS" "${TIMED[@]}" "$RATE" -n "$COUNT" -c "$CONC" -p "$FLOOR_PORT" \
		-N floor smtp |
		sed 's/^smtp:/floor (smtp_floor):/' | tee -a "$RUN/floor.txt"
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail "grey_rate against smtp_floor failed" "$RUN/floor.log"
	f1=$(cpu_ticks "$FL_PID")
	cpu_line floor $((f1 - f0)) "client=$(client_cpu)" | tee -a "$RUN/floor.txt"
	bench_stop_pid "$FL_PID"
	FL_PID=
}

for _ in $(seq "$RUNS"); do
	greywall_run
	floor_run
done
