#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Connection-rate enforcement: greywall against nftables and
# iptables doing the same job, in turn, on the same bursts. Each enforcer
# gets a fresh pair of network namespaces (gateway and client, joined by a
# veth, documentation addresses only) with a TCP server on the gateway's
# port 110 (tests/tools/gwnet serve, which holds every connection), and
# limits one source to 5 concurrent connections and 6 new ones in 3 s:
#
#   greywall  greywalld on the gateway's veth with the default config's pop3
#             rule verbatim and a quick block of <popflooders> before it:
#               table <popflooders> persist
#               block drop quick from <popflooders>
#               pass in log (all) on egress proto tcp to port pop3 flags S/SA keep state \
#                   (max-src-conn 5, max-src-conn-rate 6/3, overload <popflooders> flush global, pflow)
#   nftables  table inet gwbench (NFT_RULES below): a new connection's SYN
#             is dropped when its source has more than 5 connections in
#             conntrack (ct count over 5), else when it breaks a per-source
#             token bucket of 2/second with a burst of 6 (6/3 as nftables
#             can say it: limit rates are per second, minute, ...)
#   iptables  the same two with connlimit (--connlimit-above 5, per /32
#             source) and hashlimit (--hashlimit-above 2/sec, burst 6,
#             mode srcip); Debian's iptables, i.e. iptables-nft
#
# Two bursts per enforcer, from two sources, COUNT attempts at RATE a second
# (default 5,000 at 1,000/s) plus LINGER seconds (default 3) in which the
# client's kernel still retransmits unanswered SYNs:
#   hold   198.51.100.7 keeps every connection that completes
#   churn  198.51.100.8 closes each as soon as it completes
# Counted from the server's time-stamped log, within the window: accepted
# connections; "beyond the limit", the accepted connections that found 5
# others of the source open at the server (beyond max-src-conn 5) or 6
# others accepted in the 3 s before (beyond max-src-conn-rate 6/3); the
# resets (flush global); the connections still open at the window's end.
#
# Receiver CPU: the on-CPU time (schedstat, ns) in the window of the
# gateway's receive thread and of every process in the gateway namespace
# (the server, greywalld). Both veths run GRO with threaded NAPI, so each
# side's receive path runs in a kernel thread of its own, "napi/IF-N":
# the gateway's does XDP (greywall), netfilter and conntrack
# (nftables/iptables), TCP and the replies up to the client's veth; the
# client's thread and the client process are not counted. Per packet:
# divided by the packets the client's veth handed to the gateway's.
#
# Usage: bench/connlimit.sh   (root)
#   env CONN_COUNT (5000), CONN_RATE (1000), CONN_LINGER (3), CONN_RUNS (2)
# Output: per run "RESULT connlimit=ENFORCER_BURST key=value ...", and a
# summary; bench/run.sh makes the tables.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${CONN_COUNT:-5000}
RATE=${CONN_RATE:-1000}
LINGER=${CONN_LINGER:-3}
RUNS=${CONN_RUNS:-2}
ID=gwcl$$
NSG=$ID-gw
NSC=$ID-cl
# Short and distinct: the receive thread's name, "napi/IF-N", is cut at 15 characters.
IFG=c$$g
IFC=c$$c
RUN=/run/gwconn.$$
BPFFS=$RUN/bpf
CONF=$RUN/greywall.conf
SOCK=$RUN/control.sock
GW_ADDR=192.0.2.1
HOLD_SRC=198.51.100.7
CHURN_SRC=198.51.100.8
PORT=110
GW_PID=
export LIBXDP_BPFFS=$BPFFS

NFT_RULES="table inet gwbench {
	set pop3conn {
		type ipv4_addr
		size 65535
		flags dynamic
	}
	set pop3rate {
		type ipv4_addr
		size 65535
		flags dynamic
		timeout 60s
	}
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport $PORT tcp flags syn / syn,ack ct state new add @pop3conn { ip saddr ct count over 5 } counter drop
		tcp dport $PORT tcp flags syn / syn,ack ct state new update @pop3rate { ip saddr limit rate over 2/second burst 6 packets } counter drop
	}
}"
IPT_RULES=(
	"-A INPUT -p tcp --dport $PORT --syn -m conntrack --ctstate NEW -m connlimit --connlimit-above 5 --connlimit-mask 32 --connlimit-saddr -j DROP"
	"-A INPUT -p tcp --dport $PORT --syn -m conntrack --ctstate NEW -m hashlimit --hashlimit-above 2/sec --hashlimit-burst 6 --hashlimit-mode srcip --hashlimit-name pop3 -j DROP"
)

gw() { ip netns exec "$NSG" "$@"; }
cl() { ip netns exec "$NSC" "$@"; }

# The namespaces' processes (all started here), greywalld's XDP program,
# the nftables table, the iptables rules, the namespaces, the bpffs.
teardown() {
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		kill "$GW_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$GW_PID" 2>/dev/null
		wait "$GW_PID" 2>/dev/null
	fi
	GW_PID=
	if ip netns list | grep -qw "$NSG"; then
		[ -f "$CONF" ] && gw "$RUN/bin/greywalld" -f "$CONF" --detach >/dev/null 2>&1
		gw nft delete table inet gwbench >/dev/null 2>&1
		gw iptables -F INPUT >/dev/null 2>&1
	fi
	for ns in "$NSG" "$NSC"; do
		ip netns list | grep -qw "$ns" || continue
		for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns"
	done
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	# Nothing of one run's greywalld (<popflooders> is persist) reaches the next.
	rm -rf "$CONF" "$RUN/state" "$RUN/pub"
}
cleanup() {
	set +e
	teardown
	wait 2>/dev/null
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { # what [log]
	echo "connlimit.sh: $1" >&2
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -15 "$2" | sed 's/^/#   /' >&2
	exit 1
}

# The gateway and the client, GRO and threaded NAPI on both veths.
setup_net() {
	ip netns add "$NSG" && ip netns add "$NSC" || return 1
	ip link add "$IFG" netns "$NSG" type veth peer name "$IFC" netns "$NSC" || return 1
	gw ip link set lo up && cl ip link set lo up || return 1
	gw ip addr add $GW_ADDR/24 dev "$IFG" && cl ip addr add 192.0.2.10/24 dev "$IFC" || return 1
	cl ip addr add $HOLD_SRC/32 dev "$IFC" && cl ip addr add $CHURN_SRC/32 dev "$IFC" || return 1
	# GRO gives a veth its NAPI instance; without TSO on the sender every
	# segment is eligible for it, so none takes the shortcut past the thread.
	gw ethtool -K "$IFG" gro on tso off >/dev/null && cl ethtool -K "$IFC" gro on tso off >/dev/null ||
		return 1
	gw ip link set "$IFG" up && cl ip link set "$IFC" up || return 1
	gw ip route add 198.51.100.0/24 dev "$IFG" || return 1
	gw sh -c "echo 1 >/sys/class/net/$IFG/threaded" && cl sh -c "echo 1 >/sys/class/net/$IFC/threaded"
}

# The gateway's receive thread(s).
napi_threads() { ps -eo pid=,comm= | awk -v p="napi/$IFG" 'index($2, p) == 1 { print $1 }'; }

start_greywall() {
	mkdir -p "$BPFFS" "$RUN/state" "$RUN/pub"
	mountpoint -q "$BPFFS" || mount -t bpf bpf "$BPFFS" || return 1
	cat >"$CONF" <<CONF
set interface $IFG
set bpf-dir "$BPFFS/greywall"
set state-dir "$RUN/state"
set control-socket "$SOCK"
set dump-dir "$RUN/pub"
table <popflooders> persist
block drop quick from <popflooders>
pass in log (all) on egress proto tcp to port pop3 flags S/SA keep state \\
        (max-src-conn 5, max-src-conn-rate 6/3, overload <popflooders> flush global, pflow)
CONF
	ip netns exec "$NSG" "$RUN/bin/greywalld" -d -f "$CONF" >"$RUN/greywalld.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 200); do
		"$RUN/bin/greywallctl" -s "$SOCK" status >/dev/null 2>&1 && return 0
		kill -0 "$GW_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

start_enforcer() { # name
	case $1 in
	greywall) start_greywall ;;
	nftables) printf '%s\n' "$NFT_RULES" | gw nft -f - ;;
	iptables)
		for r in "${IPT_RULES[@]}"; do
			# shellcheck disable=SC2086
			gw iptables $r || return 1
		done
		;;
	esac
}

# count LOG SRC START END: the server's events of SRC in the window, judged
# against max-src-conn 5 and max-src-conn-rate 6/3.
count() {
	awk -v s="$2" -v t0="$3" -v t1="$4" '
		$3 != s || $1 < t0 || $1 > t1 { next }
		$2 == "accept" {
			acc[++n] = $1
			while (acc[first + 1] <= $1 - 3) first++
			over_c = ++open > 5
			over_r = n - first > 6
			bc += over_c; br += over_r; beyond += over_c || over_r
		}
		$2 == "close" || $2 == "reset" { if (open) open--; resets += $2 == "reset" }
		END { printf "accepted=%d beyond=%d beyond_conn=%d beyond_rate=%d resets=%d open_at_end=%d\n",
			n, beyond, bc, br, resets, open }' "$1"
}

# burst NAME KIND SRC: one burst, its RESULT line
burst() {
	local name=$1 kind=$2 src=$3 out=$RUN/$1.$2.out samples=() t line cpu napi pkts counted
	for t in $(napi_threads); do samples+=(-w "/proc/$t/schedstat"); done
	[ ${#samples[@]} -gt 0 ] || fail "no receive thread napi/$IFG"
	for p in $(ip netns pids "$NSG"); do
		for t in /proc/"$p"/task/*; do samples+=(-w "$t/schedstat"); done
	done
	samples+=(-w "/sys/class/net/$IFC/statistics/tx_packets")
	cl "$RUN/bin/conn_burst" -n "$COUNT" -r "$RATE" -l "$LINGER" "${samples[@]}" \
		$([ "$kind" = churn ] && echo -c) "$src" $GW_ADDR $PORT >"$out" || fail "conn_burst failed"
	line=$(awk '$1 == "RESULT"' "$out")
	set -- $(echo "$line" | tr ' ' '\n' | awk -F= '$1 == "start" || $1 == "end" { print $2 }')
	sleep 0.2
	cpu=$(awk '$1 == "SAMPLE" && $2 ~ /schedstat$/ { s += $3 } END { print s + 0 }' "$out")
	# The receive threads are sampled as /proc/TID/schedstat, processes' threads under task/.
	napi=$(awk '$1 == "SAMPLE" && $2 ~ /schedstat$/ && $2 !~ /\/task\// { s += $3 } END { print s + 0 }' "$out")
	pkts=$(awk '$1 == "SAMPLE" && $2 ~ /tx_packets$/ { print $3 }' "$out")
	counted=$(count "$RUN/$name.serve.log" "$src" "$1" "$2")
	# Every enforcer admits the first connections: none means the setup, not the limit, failed.
	case $counted in accepted=0\ *) fail "$name $kind: the server accepted nothing" "$RUN/greywalld.log" ;; esac
	echo "RESULT connlimit=${name}_$kind ${line#RESULT burst=* } $counted" \
		"packets=$pkts rx_cpu_ms=$(awk -v c="$cpu" 'BEGIN { printf "%.2f", c / 1e6 }')" \
		"napi_ms=$(awk -v c="$napi" 'BEGIN { printf "%.2f", c / 1e6 }')" \
		"procs_ms=$(awk -v c="$cpu" -v n="$napi" 'BEGIN { printf "%.2f", (c - n) / 1e6 }')" \
		"ns_per_pkt=$(awk -v c="$cpu" -v p="$pkts" 'BEGIN { printf "%.0f", p ? c / p : 0 }')"
}

run_enforcer() { # name
	local name=$1
	setup_net || fail "cannot set up the namespaces"
	ip netns exec "$NSG" "$RUN/bin/gwnet" serve $PORT |
		perl -MTime::HiRes=time -ne '$| = 1; printf "%.6f %s", time, $_' >"$RUN/$name.serve.log" &
	for _ in $(seq 50); do
		gw ss -Hltn "sport = :$PORT" | grep -q . && break
		sleep 0.1
	done
	start_enforcer "$name" || fail "$name: cannot install the limits" "$RUN/greywalld.log"
	burst "$name" hold $HOLD_SRC
	burst "$name" churn $CHURN_SRC
	if [ "$name" = greywall ]; then
		echo "# greywall <popflooders>: $("$RUN/bin/greywallctl" -s "$SOCK" table popflooders show | tr '\n' ' ')"
	fi
	teardown
}

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, XDP, netfilter)"
for c in nft iptables ethtool perl; do
	command -v $c >/dev/null || fail "$c is not installed (make bench installs it)"
done
for b in greywalld greywallctl .output/tools/gwnet .output/bench/conn_burst; do
	[ -x "$TOP/$b" ] || fail "not built: $b (make all)"
done
mkdir -p "$RUN/bin"
# Copies: every run uses the same binaries, whatever is rebuilt meanwhile.
cp "$TOP/greywalld" "$TOP/greywallctl" "$TOP/.output/tools/gwnet" "$TOP/.output/bench/conn_burst" \
	"$RUN/bin/" || fail "cannot copy the binaries"

echo "bursts: $COUNT attempts at $RATE/s + ${LINGER}s linger from one source, hold ($HOLD_SRC) and churn ($CHURN_SRC); $RUNS runs"
echo "nftables rules:"
printf '%s\n' "$NFT_RULES" | sed 's/^/    /'
echo "iptables rules ($(iptables -V)):"
printf '    iptables %s\n' "${IPT_RULES[@]}"
for r in $(seq "$RUNS"); do
	for name in greywall nftables iptables; do
		echo "-- $name, run $r"
		run_enforcer "$name"
	done
done
