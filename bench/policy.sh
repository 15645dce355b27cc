#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Policy decisions per second and their latency: greywall's policy service
# against Debian's postgrey, the same client (bench/policy_rate.c: Postfix
# 3.7's RCPT attributes), the same tuples, in the same namespace:
#
#   greywall  greywalld with `spamd { tarpit no }` and `policy { listen
#             127.0.0.1 port 10024 }`, in the foreground as under systemd
#   postgrey  postgrey with its defaults, its own database directory, on
#             127.0.0.1:10023
#
# For each server, from an empty store: COUNT new tuples (every answer
# DEFER_IF_PERMIT), then the same COUNT tuples again (repeated, still
# before passtime: DEFER_IF_PERMIT again); once with CONCURRENCY connections
# kept open for their next request as Postfix's policy client does, once
# with a connection per request. The servers run in turn, POLICY_RUNS times
# (default 2).
#
# Usage: bench/policy.sh [COUNT [CONCURRENCY]]   (default 10000 32)
# Output: each run's lines and its "RESULT policy=NAME ..." lines, NAME
# being SERVER_TUPLES_CONN: greywall or postgrey, new or repeat, persistent
# or per-request; bench/run.sh takes the medians and the ratios.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-10000}
CONC=${2:-32}
RUNS=${POLICY_RUNS:-2}
RATE=$TOP/.output/bench/policy_rate
GW_PORT=10024
POSTGREY_PORT=10023
PG_PID=
BENCH=policy
. "$TOP/bench/lib.sh"
bench_names pol

bench_cleanup_more() { bench_stop_pid "$PG_PID"; }
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

fail() { bench_fail "$@"; }
[ "$(id -u)" -eq 0 ] || fail "needs root (network namespace, greywalld)"
[ -x "$RATE" ] && [ -x "$TOP/greywalld" ] && [ -x "$TOP/greywallctl" ] ||
	fail "not built: make .output/bench/policy_rate greywalld greywallctl"
command -v postgrey >/dev/null || fail "postgrey is not installed (make bench installs it)"
bench_tarpit_user
mkdir -p "$RUN/pub" "$RUN/bin"
# Copies: every run uses the same binaries, whatever is rebuilt meanwhile.
cp "$TOP/greywalld" "$TOP/greywallctl" "$RATE" "$RUN/bin/" || fail "cannot copy the binaries"
GWD=$RUN/bin/greywalld
RATE=$RUN/bin/policy_rate

echo "tuples: $COUNT (client_address in the documentation /24s, helo mail.example.net, sender@example.net -> rcpt-i@example.org), $CONC at a time, $RUNS runs each"

bench_netns
{
	bench_config_head
	cat <<CONF
spamd {
	tarpit no
	hostname "mx.example.org"
}
policy {
	listen 127.0.0.1 port $GW_PORT
}
CONF
} >"$CONF"

# measure NAME PORT: new tuples, then the same ones again, persistent and per request
measure() {
	local name=$1 port=$2 base=$((RANDOM * 100000))
	for conn in "" -1; do
		ip netns exec "$NS" "$RATE" -t "127.0.0.1:$port" -n "$COUNT" -c "$CONC" $conn \
			-b "$base" -N "${name}_new" || return 1
		ip netns exec "$NS" "$RATE" -t "127.0.0.1:$port" -n "$COUNT" -c "$CONC" $conn \
			-b "$base" -N "${name}_repeat" || return 1
		# The per-request pass greylists other tuples than the persistent one.
		base=$((base + COUNT))
	done
}

greywall_run() {
	rm -rf "$RUN/state" && mkdir -p "$RUN/state"
	ip netns exec "$NS" "$GWD" -d -f "$CONF" >"$LOG" 2>&1 &
	GW_PID=$!
	bench_wait_listening "$GW_PORT" "$GW_PID" || fail "greywalld's policy service did not start" "$LOG"
	measure greywall "$GW_PORT" | tee -a "$RUN/greywall.txt"
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail "policy_rate against greywall failed" "$LOG"
	bench_stop_pid "$GW_PID"
	GW_PID=
	ip netns exec "$NS" "$GWD" -f "$CONF" --detach >/dev/null 2>&1
}

postgrey_run() {
	rm -rf "$RUN/postgrey" && mkdir -p "$RUN/postgrey" && chown postgrey "$RUN/postgrey"
	ip netns exec "$NS" postgrey --inet=127.0.0.1:$POSTGREY_PORT --dbdir="$RUN/postgrey" \
		>"$RUN/postgrey.log" 2>&1 &
	PG_PID=$!
	bench_wait_listening "$POSTGREY_PORT" "$PG_PID" || fail "postgrey did not start" "$RUN/postgrey.log"
	measure postgrey "$POSTGREY_PORT" | tee -a "$RUN/postgrey.txt"
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail "policy_rate against postgrey failed" "$RUN/postgrey.log"
	bench_stop_pid "$PG_PID"
	PG_PID=
}

for _ in $(seq "$RUNS"); do
	greywall_run
	postgrey_run
done
