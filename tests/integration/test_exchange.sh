#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The table exchange through the real greywalld. Gateway "A" is the table
# <a> of the same daemon: its entries reach <bruteforce>'s peer as A's real
# _full.txt dump (greywallctl dump), so an entry added on A blocks the source
# in <bruteforce> after the next exchange, and deleting it on A removes it
# from <bruteforce> unless <bruteforce> listed it itself. A second peer is a
# plain list the test writes. A peer serving garbage, a huge file or nothing
# leaves the table as it was.
. "$(dirname "$0")/../lib/gw.sh"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
PEER_A=$GW_RUN/pub/a_full.txt
PEER_B=$GW_RUN/peer_b.txt
gw_write_config "
set limit table-entries 5000
set limit table-prefixes 1000
table <a> persist
table <bruteforce> persist timeout 28d file \"$GW_RUN/bruteforce\" exchange { peer \"$PEER_A\"; peer \"$PEER_B\" every 1m }
block drop quick from <bruteforce>"
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
printf '# partner B\n203.0.113.200\n' >"$PEER_B"
gw_start
ok $? "greywalld starts and answers status"

# At start, B's list is read on its own (A has published nothing yet).
wait_for 10 ctl table bruteforce test 203.0.113.200
ok $? "B's list is merged at start, without a command"
has "A's missing dump is logged and kept apart" "exchange <bruteforce>: peer $PEER_A refused" \
	"$(cat "$GW_RUN/greywalld.log")"
check "198.51.100.7 connects before A lists it" connect 198.51.100.7 192.0.2.1

# An entry on A, A's dump published, the exchange run: B blocks it.
ctl table a add 198.51.100.7 2001:db8:bad::7 >/dev/null
ctl dump >/dev/null
check "A's dump is written" test -s "$PEER_A"
check_output "table exchange reports both peers" \
	"peer $PEER_A: lists 2, 2 added, 0 removed
peer $PEER_B: lists 1, 0 added, 0 removed" ctl table bruteforce exchange
check "198.51.100.7 is dropped after the exchange" blocked 198.51.100.7 192.0.2.1
check "2001:db8:bad::7 too" blocked 2001:db8:bad::7 2001:db8::1
out=$(ctl why 198.51.100.7)
has "why: the evidence names peer A" "^  evidence: peer: $PEER_A\$" "$out"
has "why: the peers that list it" "^  peers: $PEER_A\$" "$out"
out=$(ctl table bruteforce show -v)
has "show -v: the Peers line" "^	Peers:       $PEER_A\$" "$out"
# A reload writes the table file and reads it back: no new reason for the entry.
check "reload" ctl reload
check "the table file holds the peer's entry" grep -qx 198.51.100.7 "$GW_RUN/bruteforce"
has "after a reload the evidence is still the peer's" "^  evidence: peer: $PEER_A\$" \
	"$(ctl why 198.51.100.7)"

# The same entry on both peers: listed by two.
printf '# partner B\n203.0.113.200\n2001:db8:bad::7\n' >"$PEER_B"
ctl table bruteforce exchange >/dev/null
has "why: both peers list 2001:db8:bad::7" "^  peers: $PEER_A, $PEER_B\$" \
	"$(ctl why 2001:db8:bad::7)"

# <bruteforce> lists 2001:db8:bad::7 itself too; A deletes both.
ctl table bruteforce add 2001:db8:bad::7 >/dev/null
ctl table a delete 198.51.100.7 2001:db8:bad::7 >/dev/null
ctl dump >/dev/null
check_output "A's deletions go through the exchange" \
	"peer $PEER_A: lists 0, 0 added, 1 removed
peer $PEER_B: lists 2, 0 added, 0 removed" ctl table bruteforce exchange
check "198.51.100.7 connects again" connect 198.51.100.7 192.0.2.1
check_output "the local entry stays" "1/1 addresses match." \
	ctl table bruteforce test 2001:db8:bad::7
has "why: the local evidence" "^  evidence: manual: " "$(ctl why 2001:db8:bad::7)"
has "history: the removal says why" "delete  <bruteforce> 198.51.100.7: peer: $PEER_A: no peer lists it any more" \
	"$(ctl why 198.51.100.7)"
# B drops it too: still local, so it stays.
printf '# partner B\n203.0.113.200\n' >"$PEER_B"
ctl table bruteforce exchange >/dev/null
check_output "a local entry no peer lists stays" "1/1 addresses match." \
	ctl table bruteforce test 2001:db8:bad::7

before=$(ctl table bruteforce show)
# Garbage: HTML where a list should be.
printf '203.0.113.9\n<html><body>502 Bad Gateway</body></html>\n' >"$PEER_B"
ctl table bruteforce exchange >"$GW_RUN/out" 2>&1
ok $([ $? -eq 1 ] && echo 0 || echo 1) "garbage: exit status 1"
has "garbage: refused with its line" "^peer $PEER_B: refused, $PEER_B:2: invalid address" \
	"$(cat "$GW_RUN/out")"
check_output "garbage leaves the table as it was" "$before" ctl table bruteforce show
# A huge file: past the 512 MiB bound, refused before it is read.
truncate -s 600M "$PEER_B"
ctl table bruteforce exchange >"$GW_RUN/out" 2>&1
has "huge file: refused" "^peer $PEER_B: refused, $PEER_B: 629145600 bytes, more than 536870912" \
	"$(cat "$GW_RUN/out")"
check_output "a huge file leaves the table as it was" "$before" ctl table bruteforce show
# More entries than a table may hold (table-entries 5000 plus table-prefixes 1000).
seq 1 6001 | awk '{ printf "2001:db8:1::%x\n", $1 }' >"$PEER_B"
ctl table bruteforce exchange >"$GW_RUN/out" 2>&1
has "too many entries: refused" "^peer $PEER_B: refused, $PEER_B: more than 6000 entries" \
	"$(cat "$GW_RUN/out")"
check_output "too many entries leave the table as it was" "$before" ctl table bruteforce show
# Nothing: the file gone, then empty.
rm -f "$PEER_B"
ctl table bruteforce exchange >"$GW_RUN/out" 2>&1
has "missing: refused" "^peer $PEER_B: refused, $PEER_B: No such file or directory; lists 1" \
	"$(cat "$GW_RUN/out")"
: >"$PEER_B"
ctl table bruteforce exchange >"$GW_RUN/out" 2>&1
has "empty: refused" "^peer $PEER_B: refused, $PEER_B: empty file; lists 1" "$(cat "$GW_RUN/out")"
check_output "nothing leaves the table as it was" "$before" ctl table bruteforce show
check_output "B's last good copy still holds 203.0.113.200" "1/1 addresses match." \
	ctl table bruteforce test 203.0.113.200

# A restart: the peers' entries and their evidence come back from the store,
# and B (missing) has no copy, so nothing is removed though A lists nothing.
rm -f "$PEER_B"
gw_stop
gw_start
ok $? "greywalld starts again"
wait_for 10 grep -q "peer $PEER_A lists 0" "$GW_RUN/greywalld.log"
ok $? "A is read at start"
check_output "B's entry stays while B has no good copy" "1/1 addresses match." \
	ctl table bruteforce test 203.0.113.200
printf '# partner B, empty now\n' >"$PEER_B"
check_output "B empty: its entry leaves" "peer $PEER_A: lists 0, 0 added, 0 removed
peer $PEER_B: lists 0, 0 added, 1 removed" ctl table bruteforce exchange
check_output "the local entry survived it all" "   2001:db8:bad::7" ctl table bruteforce show

check_output "a table without peers" "greywallctl: table <a> has no exchange peers" \
	ctl table a exchange
gw_stop
tap_done
