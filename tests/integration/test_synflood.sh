#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# SYN floods do not switch the connection limits off. Two tracked
# ports (pop3 and 2222, max-src-conn 5) and real TCP servers in the
# gateway's namespace (gwnet serve):
#   (a) 5 s of SYNs from one source at the rate two raw sockets send them,
#       random source ports, over both ports; that source's kernel answers
#       the server's SYN-ACKs with RSTs, so the table fills with closed
#       flows. Then a client on another address holds 6 connections: the
#       server accepts exactly 5 (the 6th puts it in <popflooders>), and an
#       unrelated client is served;
#   (b) 4 s of SYNs from forged sources in 198.51.100.0/24 and
#       203.0.113.0/24, the gateway routing them back to the client's veth,
#       where nobody answers: the table fills with half-open flows. The
#       limit still holds, and a client is served within 5 s.
# The flow table's fill and the eviction and drop counters after each flood
# are printed as TAP comments.
. "$(dirname "$0")/../lib/gw.sh"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
FLOODER=198.51.100.50
for a in $FLOODER 198.51.100.60 198.51.100.61; do
	cl ip addr add $a/32 dev veth1
done
SRV=192.0.2.1

gw_write_config 'table <popflooders> persist
pass in on egress proto tcp to port pop3 flags S/SA keep state (max-src-conn 5, overload <popflooders>)
pass in on egress proto tcp to port 2222 flags S/SA keep state (max-src-conn 5)'

for port in 110 2222; do
	ip netns exec "$GW_NS" "$GW_TOOLS/gwnet" serve $port >"$GW_RUN/s$port.log" 2>&1 &
done
gw_start
ok $? "greywalld starts with two tracked ports"
for port in 110 2222; do
	wait_for 5 listens gw $port
done

accepted() { grep -cx "accept $1" "$GW_RUN/s$2.log"; }
in_table() { ctl table "$1" test "$2" >/dev/null 2>&1; }
# flow_stats: the table's fill and the counters of this issue, one line
flow_stats() {
	ctl stats | awk '/^(flows-|flow-slots|src-states-drops|handshakes)/ { printf "%s %s  ", $1, $2 }'
}

# limit_holds WHAT CLIENT: CLIENT holds 6 pop3 connections; exactly 5 are accepted
limit_holds() {
	local what=$1 client=$2 deadline
	ip netns exec "$GW_CLIENT" "$GW_TOOLS/gwnet" hold "$client" "$SRV" 110 6 >/dev/null 2>&1 &
	wait_for 5 in_table popflooders "$client"
	ok $? "$what: the 6th concurrent connection of $client puts it in <popflooders>"
	# Until the 5 are in, then a while longer for a 6th that should never come.
	deadline=$((SECONDS + 5))
	while [ "$(accepted "$client" 110)" -lt 5 ] && [ $SECONDS -lt $deadline ]; do
		sleep 0.1
	done
	sleep 1
	ok $([ "$(accepted "$client" 110)" -eq 5 ] && echo 0 || echo 1) \
		"$what: the server accepted exactly 5 of $client's 6 (got $(accepted "$client" 110))"
}

# (a) One source, its own address, both ports: two senders, one per core.
cl "$GW_TOOLS/gwnet" synburst $FLOODER $SRV 110,2222 5 >"$GW_RUN/a1.log" 2>&1 &
a1=$!
cl "$GW_TOOLS/gwnet" synburst $FLOODER $SRV 2222,110 5 >"$GW_RUN/a2.log" 2>&1
rc=$?
wait $a1
ok $((rc + $?)) "(a) one source flooded 5 s ($(cat "$GW_RUN/a1.log"); $(cat "$GW_RUN/a2.log"))"
echo "# (a) after the flood: $(flow_stats)"
stats=$(ctl stats)
has "(a) the flood's SYNs took over closed and half-open flows' slots" "^flows-evicted +[1-9]" "$stats"
has "(a) no SYN was passed untracked: none found its slots all established" \
	"^flows-full-drops +0$" "$stats"
limit_holds "(a)" 198.51.100.60
check "(a) an unrelated client is served" cl "$GW_TOOLS/gwnet" connect 192.0.2.66 $SRV 110 3000
check "(a) the flooding source is in no table" refute in_table popflooders $FLOODER

# (b) Forged sources, routed back to the client's veth, where nobody answers.
cl "$GW_TOOLS/gwnet" synburst forged $SRV 110,2222 4 >"$GW_RUN/forged.log" 2>&1 &
flood=$!
sleep 1
check "(b) a client is served within 5 s during the forged flood" \
	cl "$GW_TOOLS/gwnet" connect 192.0.2.10 $SRV 2222 5000
wait $flood
ok $? "(b) forged sources flooded 4 s ($(cat "$GW_RUN/forged.log"))"
echo "# (b) after the flood: $(flow_stats)"
has "(b) the half-open flows gave way" "^flows-evicted +[1-9]" "$(ctl stats)"
limit_holds "(b)" 198.51.100.61
check "(b) a client is served within 5 s after it" \
	cl "$GW_TOOLS/gwnet" connect 192.0.2.66 $SRV 2222 5000
out=$(ctl table popflooders show)
ok $([ "$(printf '%s\n' "$out" | grep -c .)" -eq 2 ] && echo 0 || echo 1) \
	"only the two clients over the limit are listed, no flooder (got: $(printf '%s' "$out" | tr '\n' ' '))"
tap_done
