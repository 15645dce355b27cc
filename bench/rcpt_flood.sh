#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# A normal client's greylist decision, alone and while another client floods
# the tarpit with RCPTs: bench/rcpt_flood.c against greywalld with
# a spamd block (stutter 0s, greystutter 0s, spamd's other defaults) in a
# throwaway network namespace, on 127.0.0.1:8025.
#
# Usage: bench/rcpt_flood.sh [DIALOGUES [FLOOD_CONNECTIONS]]   (default 3000 8: the
# flood window spans seconds, as the tarpit's per-source budget is per second)
# Output: rcpt_flood's summary with its RESULT and RATIO lines (bench/run.sh).

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
DIALOGUES=${1:-3000}
FLOODERS=${2:-8}
PORT=8025
BENCH=rcpt_flood
. "$TOP/bench/lib.sh"
bench_names flood
GWD=$RUN/bin/greywalld
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

fail() { bench_fail "$@"; }
[ "$(id -u)" -eq 0 ] || fail "needs root (network namespace, greywalld)"
[ -x "$TOP/.output/bench/rcpt_flood" ] && [ -x "$TOP/greywalld" ] ||
	fail "not built: make .output/bench/rcpt_flood greywalld"
bench_tarpit_user
mkdir -p "$RUN/state" "$RUN/pub" "$RUN/bin"
# Copies: the run uses the same binaries, whatever is rebuilt meanwhile.
cp "$TOP/greywalld" "$TOP/.output/bench/rcpt_flood" "$RUN/bin/" || fail "cannot copy the binaries"
bench_netns
{
	bench_config_head
	cat <<CONF
spamd {
	listen 127.0.0.1 port $PORT
	hostname "mx.example.org"
	stutter 0s
	greystutter 0s
}
CONF
} >"$CONF"
ip netns exec "$NS" "$GWD" -d -f "$CONF" >"$LOG" 2>&1 &
GW_PID=$!
bench_wait_listening "$PORT" "$GW_PID" || fail "greywalld did not start" "$LOG"
echo "normal clients: $DIALOGUES dialogues one at a time; flood: $FLOODERS connections pipelining RCPTs"
ip netns exec "$NS" "$RUN/bin/rcpt_flood" -n "$DIALOGUES" -f "$FLOODERS" -p "$PORT" ||
	fail "rcpt_flood failed" "$LOG"
