#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Two gateways exchanging their bruteforce tables, each in its own pair of
# namespaces with its own greywalld, bpffs and store: A's <bruteforce> is
# filled by a real overload (max-src-conn 2 on port 2222), A publishes it
# with `greywallctl dump`, and B's <bruteforce> has A's _full.txt dump as
# its peer. An overload on A blocks the source on B after B's next
# exchange; deleting it on A removes it from B, unless B listed it itself.
. "$(dirname "$0")/../lib/gw.sh"

both_cleanup() {
	gw_use a
	gw_cleanup
	gw_use b
	gw_cleanup
}

gw_use a
gw_setup_net || { echo "not ok 1 - network setup of A"; both_cleanup; exit 1; }
gw_use b
gw_setup_net || { echo "not ok 1 - network setup of B"; both_cleanup; exit 1; }
trap both_cleanup EXIT
PUB_A=/run/${GW_BASE_ID}a/pub

gw_use a
gw_write_config '
table <bruteforce> persist timeout 28d
block drop quick from <bruteforce>
pass in on egress proto tcp to port 2222 flags S/SA keep state (max-src-conn 2, overload <bruteforce> flush)'
gw "$GW_TOOLS/gwnet" serve 2222 >"$GW_RUN/serve.log" 2>&1 &
gw_start
ok $? "A starts"

gw_use b
gw_write_config "
table <bruteforce> persist timeout 28d exchange { peer \"$PUB_A/bruteforce_full.txt\" }
block drop quick from <bruteforce>"
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start
ok $? "B starts (A has published nothing yet)"
check "on B, 198.51.100.7 connects" connect 198.51.100.7 192.0.2.1
check "on B, 198.51.100.8 connects" connect 198.51.100.8 192.0.2.1

# The overload on A: a third concurrent connection from 198.51.100.7.
gw_use a
cl "$GW_TOOLS/gwnet" hold 198.51.100.7 192.0.2.1 2222 3 >/dev/null 2>&1 &
hold_pid=$!
wait_for 10 ctl table bruteforce test 198.51.100.7
ok $? "A lists 198.51.100.7 by overload"
kill "$hold_pid" 2>/dev/null
wait "$hold_pid" 2>/dev/null
has "A's evidence is the overload" "^  evidence: overload: " "$(ctl why 198.51.100.7)"
ctl table bruteforce add 198.51.100.8 >/dev/null
check "A publishes its dump" ctl dump

gw_use b
check_output "B's exchange takes A's two entries" \
	"peer $PUB_A/bruteforce_full.txt: lists 2, 2 added, 0 removed" ctl table bruteforce exchange
check "on B, 198.51.100.7 is dropped now" blocked 198.51.100.7 192.0.2.1
check "on B, 198.51.100.8 too" blocked 198.51.100.8 192.0.2.1
has "B's evidence names A's dump" "^  evidence: peer: $PUB_A/bruteforce_full.txt\$" \
	"$(ctl why 198.51.100.7)"
# A's added time came along: B's entry is as old as A's.
a_added=$(grep -P '^198\.51\.100\.7\t' "$PUB_A/bruteforce_full.txt" | cut -f2)
has "B's entry has A's added time" "^198.51.100.7 is in <bruteforce> as 198.51.100.7 since $a_added\$" \
	"$(ctl why 198.51.100.7)"
# B lists 198.51.100.8 itself too.
ctl table bruteforce add 198.51.100.8 >/dev/null

gw_use a
ctl table bruteforce delete 198.51.100.7 198.51.100.8 >/dev/null
check "A publishes again" ctl dump
gw_use b
check_output "B's exchange removes what A dropped" \
	"peer $PUB_A/bruteforce_full.txt: lists 0, 0 added, 1 removed" ctl table bruteforce exchange
check "on B, 198.51.100.7 connects again" connect 198.51.100.7 192.0.2.1
check "on B, 198.51.100.8, listed by B itself, stays dropped" blocked 198.51.100.8 192.0.2.1
has "and its evidence is B's own" "^  evidence: manual: " "$(ctl why 198.51.100.8)"

gw_stop
gw_use a
gw_stop
tap_done
