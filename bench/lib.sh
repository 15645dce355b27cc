# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Shared by the benchmark scripts that run greywalld in a throwaway network
# namespace (greylist.sh, rcpt_flood.sh, load.sh): names of their own (the
# script's pid in each, so two runs never meet), the namespace with a veth
# pair and a private bpffs, the head of greywall.conf, waiting for a
# listener, and the cleanup. Set BENCH to the script's name, then source it:
#
#   BENCH=greylist; . "$TOP/bench/lib.sh"; bench_names grey

# bench_names WORD: NS, RUN, BPFFS, CONF, SOCK, LOG for this run
bench_names() {
	NS=gw$1$$
	RUN=/run/gw$1.$$
	BPFFS=$RUN/bpf
	CONF=$RUN/greywall.conf
	SOCK=$RUN/control.sock
	LOG=$RUN/greywalld.log
	GWD=${GWD:-$TOP/greywalld}
	GW_PID=
	export LIBXDP_BPFFS=$BPFFS
}

# bench_fail "what" [LOG]: the reason and the log's end on stderr, exit 1
bench_fail() {
	echo "$BENCH.sh: $1" >&2
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -15 "$2" | sed 's/^/#   /' >&2
	exit 1
}

# bench_stop_pid PID: TERM, then KILL after 5 s
bench_stop_pid() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# bench_cleanup: greywalld stopped and detached, the namespace, the bpffs
# and $RUN gone; a script's own bench_cleanup_more runs first, if it has one.
bench_cleanup() {
	set +e
	bench_stop_pid "$GW_PID"
	declare -F bench_cleanup_more >/dev/null && bench_cleanup_more
	if [ -f "$CONF" ] && ip netns list | grep -qw "$NS"; then
		ip netns exec "$NS" "$GWD" -f "$CONF" --detach >/dev/null 2>&1
	fi
	ip netns list | grep -qw "$NS" && ip netns del "$NS"
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	rm -rf "$RUN"
}

# The unprivileged user of the tarpit child (deploy/greywall.sysusers on real systems).
bench_tarpit_user() {
	id greywall >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin greywall ||
		bench_fail "cannot create the user greywall"
}

# bench_netns: the namespace with loopback and a veth pair up, and the bpffs
bench_netns() {
	mkdir -p "$BPFFS"
	ip netns add "$NS" || bench_fail "cannot create a network namespace"
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" ip link add veth0 type veth peer name veth1
	ip netns exec "$NS" ip link set veth0 up
	ip netns exec "$NS" ip link set veth1 up
	mount -t bpf bpf "$BPFFS" || bench_fail "cannot mount bpffs on $BPFFS"
}

# bench_config_head: greywall.conf's settings for this run, on stdout
bench_config_head() {
	cat <<CONF
set interface veth0
set bpf-dir "$BPFFS/greywall"
set state-dir "$RUN/state"
set control-socket "$SOCK"
set dump-dir "$RUN/pub"
CONF
}

# bench_wait_listening PORT PID: until a TCP socket listens on PORT in the
# namespace (20 s); fails at once when PID, which should open it, is gone
bench_wait_listening() {
	for _ in $(seq 200); do
		[ -n "$(ip netns exec "$NS" ss -Hltn "sport = :$1")" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
