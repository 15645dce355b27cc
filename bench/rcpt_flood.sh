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
NS=gwflood$$
RUN=/run/gwflood.$$
BPFFS=$RUN/bpf
CONF=$RUN/greywall.conf
LOG=$RUN/greywalld.log
PORT=8025
GW_PID=
export LIBXDP_BPFFS=$BPFFS

fail() { # what; the log to show
	echo "rcpt_flood.sh: $1" >&2
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -15 "$2" | sed 's/^/#   /' >&2
	exit 1
}
cleanup() {
	set +e
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		kill "$GW_PID"
		wait "$GW_PID" 2>/dev/null
	fi
	if [ -f "$CONF" ] && ip netns list | grep -qw "$NS"; then
		ip netns exec "$NS" "$RUN/bin/greywalld" -f "$CONF" --detach >/dev/null 2>&1
	fi
	ip netns list | grep -qw "$NS" && ip netns del "$NS"
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespace, greywalld)"
[ -x "$TOP/.output/bench/rcpt_flood" ] && [ -x "$TOP/greywalld" ] ||
	fail "not built: make .output/bench/rcpt_flood greywalld"
id greywall >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin greywall ||
	fail "cannot create the user greywall"
mkdir -p "$RUN/state" "$RUN/pub" "$RUN/bin" "$BPFFS"
# Copies: the run uses the same binaries, whatever is rebuilt meanwhile.
cp "$TOP/greywalld" "$TOP/.output/bench/rcpt_flood" "$RUN/bin/" || fail "cannot copy the binaries"
ip netns add "$NS" || fail "cannot create a network namespace"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip link add veth0 type veth peer name veth1
ip netns exec "$NS" ip link set veth0 up
mount -t bpf bpf "$BPFFS" || fail "cannot mount bpffs on $BPFFS"
cat >"$CONF" <<CONF
set interface veth0
set bpf-dir "$BPFFS/greywall"
set state-dir "$RUN/state"
set control-socket "$RUN/control.sock"
set dump-dir "$RUN/pub"
spamd {
	listen 127.0.0.1 port $PORT
	hostname "mx.example.org"
	stutter 0s
	greystutter 0s
}
CONF
ip netns exec "$NS" "$RUN/bin/greywalld" -d -f "$CONF" >"$LOG" 2>&1 &
GW_PID=$!
for _ in $(seq 200); do
	ip netns exec "$NS" ss -Hltn "sport = :$PORT" | grep -q . && break
	kill -0 "$GW_PID" 2>/dev/null || fail "greywalld did not start" "$LOG"
	sleep 0.1
done
echo "normal clients: $DIALOGUES dialogues one at a time; flood: $FLOODERS connections pipelining RCPTs"
ip netns exec "$NS" "$RUN/bin/rcpt_flood" -n "$DIALOGUES" -f "$FLOODERS" -p "$PORT" ||
	fail "rcpt_flood failed" "$LOG"
