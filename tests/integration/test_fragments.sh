#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Fragments and header chains past a port rule, end to end (RFC 1858, PF's
# scrub): a gateway blocks TCP port 8080 and listens on 8080 and 8081; the
# client sends raw SYNs (gwnet fragsyn) whole, split after a tiny first
# fragment, split after the whole TCP header, and behind IPv6 destination
# options chains, and watches for the SYN-ACK. Only what the rules could
# judge gets one: a whole SYN or one split after its header, to 8081.
. "$(dirname "$0")/../lib/gw.sh"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
gw_write_config '
block drop quick proto tcp from any to port 8080'
gw "$GW_TOOLS/gwnet" listen 8080 >/dev/null 2>&1 &
gw "$GW_TOOLS/gwnet" listen 8081 >/dev/null 2>&1 &
gw_start
ok $? "greywalld starts with a port rule"

# synack SRC DST PORT SPLIT [EXT]: exit 0 when the SYN sent so gets its SYN-ACK
# (within 3 s: a loaded machine may take its time to reassemble and answer)
synack() { cl "$GW_TOOLS/gwnet" fragsyn "$1" "$2" "$3" "$4" "${5:-0}" "${WAIT_MS:-3000}"; }
# unanswered ...: exit 0 when it gets none in 700 ms (2: nothing came back in time)
unanswered() {
	WAIT_MS=700 synack "$@"
	[ $? -eq 2 ]
}
# stat NAME: the value `greywallctl stats` prints for NAME
stat() { ctl stats | awk -v n="$1" '$1 == n { print $2 }'; }

for fam in 4 6; do
	if [ $fam = 4 ]; then src=192.0.2.66 dst=192.0.2.1; else src=2001:db8::10 dst=2001:db8::1; fi
	check "ipv$fam: a whole SYN to the allowed port is answered" synack $src $dst 8081 0
	check "ipv$fam: a whole SYN to the blocked port is dropped by the rule" \
		unanswered $src $dst 8080 0
	check "ipv$fam: a SYN split after 16 bytes, to the blocked port, is dropped" \
		unanswered $src $dst 8080 16
	check "ipv$fam: a SYN split after 16 bytes, to the allowed port, is dropped too" \
		unanswered $src $dst 8081 16
	check "ipv$fam: a SYN split after its header (24 bytes), to the allowed port, is answered" \
		synack $src $dst 8081 24
	check "ipv$fam: a SYN split after its header, to the blocked port, is dropped by the rule" \
		unanswered $src $dst 8080 24
done
check "ipv4: a SYN split after 8 bytes (second fragment at offset 1) is dropped" \
	unanswered 192.0.2.66 192.0.2.1 8081 8

check "ipv6: a SYN behind 8 destination options headers, to the allowed port, is answered" \
	synack 2001:db8::10 2001:db8::1 8081 0 8
check "ipv6: a SYN behind 8 destination options headers, to the blocked port, is dropped" \
	unanswered 2001:db8::10 2001:db8::1 8080 0 8
check "ipv6: a SYN behind 9 destination options headers, to the blocked port, is dropped" \
	unanswered 2001:db8::10 2001:db8::1 8080 0 9
check "ipv6: a SYN behind 9 destination options headers, to the allowed port, is dropped too" \
	unanswered 2001:db8::10 2001:db8::1 8081 0 9

# Two tiny first fragments per family, and the one of the 8-byte split.
check_output "tiny first fragments counted" "5" stat tiny-fragment-drops
check_output "the offset-1 fragment counted" "1" stat fragment-offset1-drops
check_output "the two long IPv6 chains counted" "2" stat ipv6-chain-drops
check_output "no short unfragmented header seen" "0" stat short-header-drops

tap_done
