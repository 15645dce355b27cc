#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# block return end to end: greywalld on the gateway, a TCP and UDP server
# behind it, and real clients in a listed table. The data path answers
# them itself (XDP_TX): a TCP connect is refused at once by its RST, a
# connected UDP socket gets ECONNREFUSED from the ICMP port unreachable,
# IPv4 and IPv6, while the server never sees them. A block drop source
# waits for nothing instead, and an unlisted source reaches the server.
. "$(dirname "$0")/../lib/gw.sh"
gw_require xdp-filter

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
# A veth transmits what XDP sends back (XDP_TX) only into a peer whose NAPI
# runs: the peer has an XDP program of its own, or GRO on. xdp-filter with
# no rules passes everything and gives the client's end one.
# xdp-filter takes a lock file in the host's /run: another test (another
# checkout's) loading it at the same moment makes it fail at once, so retry.
wait_for 10 cl xdp-filter load -m native veth1
ok $? "the client's veth takes XDP_TX frames (xdp-filter, native)"
gw_write_config '
table <answered> persist counters { 198.51.100.7 2001:db8:bad::/48 }
table <silent> persist { 203.0.113.9 }
block return quick from <answered>
block drop quick from <silent>'
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start
ok $? "greywalld starts with a block return rule"

# refused PROTO SRC DST: exit 0 when SRC gets ECONNREFUSED within 700 ms
refused() { cl "$GW_TOOLS/gwnet" refused "$1" "$2" "$3" 8080 700; }
# waits PROTO SRC DST: exit 0 when nothing at all comes back within 700 ms
waits() {
	refused "$@"
	[ $? -eq 2 ]
}

check "unlisted IPv4 source connects" connect 192.0.2.66 192.0.2.1
check "unlisted IPv6 source connects" connect 2001:db8::10 2001:db8::1
check "an unlisted UDP client gets no refusal from a listening server" waits udp 192.0.2.66 192.0.2.1

check "IPv4 TCP from <answered> is refused by a RST" refused tcp 198.51.100.7 192.0.2.1
check "IPv6 TCP from <answered> is refused by a RST" refused tcp 2001:db8:bad::7 2001:db8::1
check "IPv4 UDP from <answered> gets port unreachable" refused udp 198.51.100.7 192.0.2.1
check "IPv6 UDP from <answered> gets port unreachable" refused udp 2001:db8:bad::7 2001:db8::1
check "IPv4 TCP from <silent> (block drop) gets no answer" waits tcp 203.0.113.9 192.0.2.1
check "IPv4 UDP from <silent> (block drop) gets no answer" waits udp 203.0.113.9 192.0.2.1

check "the server saw the unlisted clients" grep -qx "tcp 192.0.2.66" "$GW_RUN/server.log"
check "the server never saw the refused IPv4 client" \
	refute grep -q "198.51.100.7" "$GW_RUN/server.log"
check "the server never saw the refused IPv6 client" \
	refute grep -q "2001:db8:bad::7" "$GW_RUN/server.log"

out=$(ctl stats)
has "stats count the two RSTs" "^returned-rst +2$" "$out"
has "stats count the two unreachables" "^returned-icmp +2$" "$out"
out=$(ctl table answered show -v)
inblock=$(echo "$out" | awk '/^   198.51.100.7/{f=1} f && /In\/Block:/{print $4; exit}')
ok $([ "${inblock:-0}" -ge 2 ] && echo 0 || echo 1) \
	"an answered source counts In/Block (got ${inblock:-none})"

tap_done
