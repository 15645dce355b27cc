#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The drop path on the wire: a SYN flood from a listed source into a veth,
# dropped by each enforcer in turn, same sender, same run. Two namespaces,
# sender and receiver, joined by a veth pair (documentation addresses:
# the receiver is 192.0.2.1, the flood comes from 198.51.100.5, a listed
# host, or from 203.0.113.77, inside the listed 203.0.113.0/24).
#
# Every enforcer holds the same WIRE_HOSTS (1,000,000) IPv4 hosts and
# WIRE_NETS (100,000) IPv4 networks (bench/wire_lists.py; the two flood
# sources among them), except xdp-filter, which holds hosts only, 10,000 at
# most: both flood sources as hosts, and hosts of the list up to capacity.
#
#   greywall    greywalld on the receiving veth (native XDP, through libxdp's
#               dispatcher): `table <t> counters`, `block drop quick from <t>`,
#               filled with `greywallctl table t load -f` (hosts, then networks)
#   xdp-filter  `xdp-filter load -m native -p allow -f ipv4`, the flood sources
#               added with `xdp-filter ip -m src`, the rest of filter_ipv4
#               filled with one `bpftool batch` of source-drop entries
#   nftables    table netdev, one interval set of every host and network,
#               a chain at the veth's ingress hook, priority -500: ip saddr @s drop
#   iptables    raw PREROUTING -m set --match-set gwl src -j DROP, gwl a
#               list:set of a hash:ip (the hosts) and a hash:net (the networks)
#   none        no enforcer: the receiver's stack answers each SYN with a RST
#               (for reference; it shows the frames reach the stack)
#
# Two senders (bench/wire_send, pinned to CPU WIRE_TX_CPU, default 0):
#   packet  AF_PACKET, PACKET_QDISC_BYPASS, sendmmsg() of 256 frames: each
#           frame reaches the receiving veth as an skb. Native XDP on a veth
#           must copy such an skb into a page of its own first (it has too
#           little headroom), so this sender charges every XDP program a copy
#           a NIC's receive path does not make.
#   xdp     XDP frames: BPF_PROG_TEST_RUN in live-frames mode redirecting the
#           frame out of the sending veth; the receiving veth gets an
#           xdp_frame, as a NIC driver hands its XDP program a DMA buffer,
#           and builds an skb only for what XDP passes (nftables and
#           iptables see an skb built from it, as from a NIC). The targets
#           are judged with this sender; it is also the faster.
#
# Receiver CPU: the receiving veth runs threaded NAPI (GRO on gives it its
# NAPI instance), its thread "napi/IF-N" pinned to CPU WIRE_RX_CPU (default
# 1); XDP, the ingress hook, netfilter and the stack all run in it. On-CPU
# time from its schedstat over the flood, divided by the frames the
# receiving veth took in (its rx_packets; frames that found its ring full
# are dropped by the sender's veth and counted neither there nor here).
# Packets per second per receiving core: taken in / on-CPU seconds of the
# thread. "leaked": frames the receiver sent during the flood (its
# tx_packets: a RST for each SYN that got through; 0 when all were dropped).
#
# Usage: bench/wire.sh   (root)
#   env WIRE_SECONDS (3) per flood, WIRE_RUNS (2), WIRE_HOSTS (1000000),
#       WIRE_NETS (100000), WIRE_ENFORCERS ("none greywall xdp-filter nftables iptables"),
#       WIRE_SENDERS ("xdp packet"), WIRE_TX_CPU (0), WIRE_RX_CPU (1)
# Output: a header, then per flood "RESULT wire=ENFORCER_SENDER_SOURCE key=value ...";
# bench/run.sh makes the tables (BENCH_ONLY=wire).

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER=${WIRE_SECONDS:-3}
RUNS=${WIRE_RUNS:-2}
HOSTS=${WIRE_HOSTS:-1000000}
NETS=${WIRE_NETS:-100000}
ENFORCERS=${WIRE_ENFORCERS:-none greywall xdp-filter nftables iptables}
SENDERS=${WIRE_SENDERS:-xdp packet}
TX_CPU=${WIRE_TX_CPU:-0}
RX_CPU=${WIRE_RX_CPU:-1}
ID=gwwire$$
NSS=$ID-s
NSR=$ID-r
# Short: the receive thread's name, "napi/IF-N", is cut at 15 characters.
IFS_=w$$s
IFR=w$$r
RUN=/run/gwwire.$$
BPFFS=$RUN/bpf
CONF=$RUN/greywall.conf
SOCK=$RUN/control.sock
RX_ADDR=192.0.2.1
TX_ADDR=192.0.2.2
HOST_SRC=198.51.100.5
NET=203.0.113.0/24
NET_SRC=203.0.113.77
XDPFILT_CAPACITY=10000
GW_PID=
export LIBXDP_BPFFS=$BPFFS

rx() { ip netns exec "$NSR" "$@"; }

fail() { # what [log]
	echo "wire.sh: $1" >&2
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -15 "$2" | sed 's/^/#   /' >&2
	exit 1
}

# Whichever enforcer is installed, removed: greywalld stopped and detached,
# xdp-filter unloaded, the nftables table, the iptables rule and the sets.
enforcer_off() {
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		"$RUN/bin/greywallctl" -s "$SOCK" detach >/dev/null 2>&1
		for _ in $(seq 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$GW_PID" 2>/dev/null
		wait "$GW_PID" 2>/dev/null
	fi
	GW_PID=
	ip netns list | grep -qw "$NSR" || return 0
	[ -f "$CONF" ] && rx "$RUN/bin/greywalld" -f "$CONF" --detach >/dev/null 2>&1
	rm -rf "$CONF" "$RUN/state" "$RUN/pub"
	rx xdp-filter unload -a "$IFR" >/dev/null 2>&1
	rx nft delete table netdev gwwire >/dev/null 2>&1
	rx iptables -t raw -F PREROUTING >/dev/null 2>&1
	for s in gwl gwh gwn; do rx ipset destroy $s >/dev/null 2>&1; done
	rx ip link set dev "$IFR" xdp off >/dev/null 2>&1
}
cleanup() {
	set +e
	enforcer_off
	for ns in "$NSS" "$NSR"; do
		ip netns list | grep -qw "$ns" || continue
		for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns"
	done
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup_net() {
	ip netns add "$NSS" && ip netns add "$NSR" || return 1
	ip link add "$IFS_" netns "$NSS" type veth peer name "$IFR" netns "$NSR" || return 1
	ip -n "$NSS" link set lo up && ip -n "$NSR" link set lo up || return 1
	ip -n "$NSR" addr add $RX_ADDR/24 dev "$IFR" && ip -n "$NSS" addr add $TX_ADDR/24 dev "$IFS_" || return 1
	# GRO gives each veth its NAPI instance (and lets the sender's veth take
	# XDP frames); without TSO every frame is eligible for it.
	rx ethtool -K "$IFR" gro on tso off >/dev/null &&
		ip netns exec "$NSS" ethtool -K "$IFS_" gro on tso off >/dev/null || return 1
	# No IPv6: its router and neighbour solicitations would count as leaked.
	ip netns exec "$NSS" sysctl -qw "net.ipv6.conf.$IFS_.disable_ipv6=1" &&
		rx sysctl -qw "net.ipv6.conf.$IFR.disable_ipv6=1" || return 1
	ip -n "$NSS" link set "$IFS_" up && ip -n "$NSR" link set "$IFR" up || return 1
	rx sh -c "echo 1 >/sys/class/net/$IFR/threaded" || return 1
	# A SYN that gets through is answered with a RST to the sender's veth,
	# which counts it as leaked (static neighbours: no ARP for the sources).
	local mac
	mac=$(ip netns exec "$NSS" cat "/sys/class/net/$IFS_/address")
	for src in $HOST_SRC $NET_SRC; do
		rx ip route add $src/32 dev "$IFR" && rx ip neigh add $src lladdr "$mac" dev "$IFR" || return 1
	done
	mountpoint -q "$BPFFS" || { mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS"; }
}

# The receiving veth's thread(s), pinned to the receiver's CPU.
napi_threads() { ps -eo pid=,comm= | awk -v p="napi/$IFR" 'index($2, p) == 1 { print $1 }'; }
napi_ns() { # the threads' on-CPU ns so far
	local t s=0
	for t in $(napi_threads); do s=$((s + $(cut -d' ' -f1 "/proc/$t/schedstat"))); done
	echo $s
}
stat() { rx cat "/sys/class/net/$IFR/statistics/$1"; }

start_greywall() {
	mkdir -p "$RUN/state" "$RUN/pub"
	cat >"$CONF" <<CONF
set interface $IFR
set bpf-dir "$BPFFS/greywall"
set state-dir "$RUN/state"
set control-socket "$SOCK"
set dump-dir "$RUN/pub"
table <t> counters
block drop quick from <t>
CONF
	rx "$RUN/bin/greywalld" -d -f "$CONF" >"$RUN/greywalld.log" 2>&1 &
	GW_PID=$!
	local ready= n
	for _ in $(seq 200); do
		"$RUN/bin/greywallctl" -s "$SOCK" status >/dev/null 2>&1 && { ready=1; break; }
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$ready" ] || return 1
	"$RUN/bin/greywallctl" -s "$SOCK" table t load -f "$RUN/hosts.txt" >/dev/null &&
		"$RUN/bin/greywallctl" -s "$SOCK" table t load -f "$RUN/nets.txt" >/dev/null || return 1
	n=$("$RUN/bin/greywallctl" -s "$SOCK" tables | awk '$1 == "t" { print $2, $3 }')
	[ "$n" = "$HOSTS $NETS" ] || { echo "wire.sh: <t> holds ${n:-?} hosts and networks" >&2; return 1; }
}

start_xdpfilter() {
	local map=$BPFFS/xdp-filter/filter_ipv4
	rx xdp-filter load -m native -p allow -f ipv4 "$IFR" || return 1
	rx xdp-filter ip -m src $HOST_SRC && rx xdp-filter ip -m src $NET_SRC || return 1
	# The rest up to capacity, from the host list, in one bpftool process:
	# the key is the address in network order, the value MAP_FLAG_SRC
	# (bpftool puts it on every CPU of the per-CPU map).
	awk -v m="$map" -v n=$((XDPFILT_CAPACITY - 2)) -F. 'NR > 1 && NR <= n + 1 {
		printf "map update pinned %s key %d %d %d %d value 1 0 0 0 0 0 0 0\n", m, $1, $2, $3, $4 }' \
		"$RUN/hosts.txt" >"$RUN/xdpfilter.batch"
	bpftool batch file "$RUN/xdpfilter.batch" >/dev/null || return 1
	[ "$(bpftool map dump pinned "$map" -j | jq length)" -eq $XDPFILT_CAPACITY ]
}

start_nftables() {
	{
		echo "table netdev gwwire {"
		echo "	set s { type ipv4_addr; flags interval;"
		printf '		elements = { '
		cat "$RUN/hosts.txt" "$RUN/nets.txt" | paste -sd,
		echo "		}"
		echo "	}"
		echo "	chain c { type filter hook ingress device $IFR priority -500; ip saddr @s drop; }"
		echo "}"
	} >"$RUN/nft.conf"
	rx nft -f "$RUN/nft.conf"
}

start_iptables() {
	{
		echo "create gwh hash:ip maxelem $((HOSTS * 2)) hashsize $HOSTS"
		echo "create gwn hash:net maxelem $((NETS * 2))"
		echo "create gwl list:set"
		sed 's/^/add gwh /' "$RUN/hosts.txt"
		sed 's/^/add gwn /' "$RUN/nets.txt"
		echo "add gwl gwh"
		echo "add gwl gwn"
	} >"$RUN/ipset.restore"
	rx ipset restore <"$RUN/ipset.restore" &&
		rx iptables -t raw -A PREROUTING -m set --match-set gwl src -j DROP
}

# flood ENFORCER SENDER SOURCE-NAME SOURCE-ADDRESS: one RESULT line
flood() {
	local name=$1 sender=$2 kind=$3 src=$4 mac out t0 t1 rx0 rx1 tx0 tx1 line
	mac=$(rx cat "/sys/class/net/$IFR/address")
	for t in $(napi_threads); do taskset -pc "$RX_CPU" "$t" >/dev/null; done
	[ -n "$(napi_threads)" ] || fail "no receive thread napi/$IFR"
	rx0=$(stat rx_packets) tx0=$(stat tx_packets) t0=$(napi_ns)
	out=$(ip netns exec "$NSS" "$RUN/bin/wire_send" -i "$IFS_" -s "$src" -d $RX_ADDR -m "$mac" \
		-t "$SECONDS_PER" -c "$TX_CPU" $([ "$sender" = xdp ] && echo -x)) ||
		fail "$name: wire_send failed"
	# The last frames of the ring drain within microseconds.
	sleep 0.1
	rx1=$(stat rx_packets) tx1=$(stat tx_packets) t1=$(napi_ns)
	line=$(echo "$out" | awk '$1 == "RESULT" { $1 = ""; $2 = ""; print }')
	awk -v n="${name}_${sender}_$kind" -v l="$line" -v r=$((rx1 - rx0)) -v x=$((tx1 - tx0)) \
		-v c=$((t1 - t0)) -v s="$SECONDS_PER" 'BEGIN {
		gsub(/^ +/, "", l)
		printf "RESULT wire=%s %s received=%d leaked=%d napi_ms=%.1f ns_per_pkt=%.1f rx_pps=%.0f core_pps=%.0f\n",
			n, l, r, x, c / 1e6, r ? c / r : 0, r / s, c ? r / (c / 1e9) : 0 }'
}

# Under libxdp's dispatcher against a direct attach (bench/xdp_dispatch):
# the attached dispatcher and a direct copy of greywall's program on the
# same maps, the flood's frames through both with BPF_PROG_TEST_RUN.
dispatch_cost() {
	local status disp ext src
	status=$(rx xdp-loader status "$IFR" 2>&1)
	disp=$(echo "$status" | awk -v i="$IFR" '$1 == i && $2 == "xdp_dispatcher" { print $4 }')
	ext=$(echo "$status" | awk '$1 == "=>" && $3 == "greywall_xdp" { print $4 }')
	if [ -z "$disp" ] || [ -z "$ext" ]; then
		# libxdp falls back to attaching the program alone when it cannot
		# load its dispatcher; then there is nothing to compare.
		echo "dispatcher: none on $IFR, greywall attached directly ($(echo "$status" |
			awk -v i="$IFR" '$1 == i { print $2, $3, $4 }'); greywalld.log: $(grep -m1 -o \
			"failed to load object '[^']*xdp-dispatcher.o'" "$RUN/greywalld.log" || echo "no libxdp error"))"
		# The dispatcher runs its programs as freplace extensions, which need
		# the kernel's BPF trampolines (ftrace).
		echo "dispatcher: bpftool feature probe: $(bpftool feature probe kernel 2>/dev/null |
			grep -m1 'program_type ext' || echo 'no answer on program_type ext')"
		echo "RESULT wire=dispatch_host status=no_dispatcher"
		return 0
	fi
	for src in host:$HOST_SRC net:$NET_SRC; do
		"$RUN/bin/xdp_dispatch" -D "$disp" -E "$ext" -s "${src#*:}" -d $RX_ADDR |
			sed "s/^RESULT wire=dispatch /RESULT wire=dispatch_${src%%:*} /" || return 1
	done
}

run_enforcer() { # name
	local name=$1 s
	case $name in
	none) ;;
	greywall) start_greywall || fail "greywall: cannot start or load" "$RUN/greywalld.log" ;;
	xdp-filter) start_xdpfilter || fail "xdp-filter: cannot load or fill" ;;
	nftables) start_nftables || fail "nftables: cannot load the table" ;;
	iptables) start_iptables || fail "iptables: cannot load the sets or the rule" ;;
	*) fail "unknown enforcer $name" ;;
	esac
	for s in $SENDERS; do
		flood "$name" "$s" host $HOST_SRC
		flood "$name" "$s" net $NET_SRC
	done
	[ "$name" = greywall ] && { dispatch_cost || fail "greywall: cannot measure the dispatcher"; }
	enforcer_off
}

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, XDP, netfilter)"
for c in nft iptables ipset ethtool xdp-filter bpftool jq python3 taskset; do
	command -v $c >/dev/null || fail "$c is not installed (make bench installs it)"
done
for b in greywalld greywallctl .output/bench/wire_send .output/bench/xdp_dispatch; do
	[ -x "$TOP/$b" ] || fail "not built: $b (make all)"
done
[ "$(nproc)" -ge 2 ] || fail "needs two CPUs (sender and receiver)"
mkdir -p "$RUN/bin"
# Copies: every run uses the same binaries, whatever is rebuilt meanwhile.
cp "$TOP/greywalld" "$TOP/greywallctl" "$TOP/.output/bench/wire_send" "$TOP/.output/bench/xdp_dispatch" "$RUN/bin/" ||
	fail "cannot copy the binaries"
python3 "$TOP/bench/wire_lists.py" "$RUN" "$HOSTS" "$NETS" $HOST_SRC $NET || fail "cannot make the lists"
setup_net || fail "cannot set up the namespaces"

echo "flood: one SYN frame from $HOST_SRC (a listed host) or $NET_SRC (in the listed $NET) to $RX_ADDR, ${SECONDS_PER} s each, sender on CPU $TX_CPU, receiver's NAPI thread on CPU $RX_CPU; $RUNS runs"
echo "tables: $HOSTS hosts + $NETS networks (xdp-filter: $XDPFILT_CAPACITY hosts, its capacity)"
echo "senders: $SENDERS; enforcers: $ENFORCERS"
echo "cpu vulnerabilities: $(grep -H . /sys/devices/system/cpu/vulnerabilities/* 2>/dev/null |
	sed 's|.*/||' | grep -v -e ':Not affected' -e 'spectre_v1' | tr '\n' ';' | sed 's/;$//')"
for r in $(seq "$RUNS"); do
	for name in $ENFORCERS; do
		echo "-- $name, run $r"
		run_enforcer "$name"
	done
done
