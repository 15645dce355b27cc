#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# greywallctl table load -f / replace -f with the list formats of
# greywallctl(8), LIST FORMATS, through the real greywalld: the sample files
# of tests/unit/data/lists, a range's blocks enforced at both ends and not
# beside them, and a file with bad lines refused whole.
. "$(dirname "$0")/../lib/gw.sh"

LISTS=$(cd "$(dirname "$0")/../unit/data/lists" && pwd)

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
gw_write_config '
table <peers> persist
block drop quick from <peers>'
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start
ok $? "greywalld starts and answers status"

check_output "Spamhaus DROP" "3/3 addresses added." \
	ctl table peers load -f "$LISTS/spamhaus_drop.txt"
# 198.51.100.0/24 came with Spamhaus already; 203.0.113.0/24 is in three samples.
check_output "DShield block.txt" "2/3 addresses added." \
	ctl table peers load -f "$LISTS/dshield_block.txt"
check_output "pfctl -vT show" "2/2 addresses added." \
	ctl table peers load -f "$LISTS/pfctl_show_v.txt"
check_output "greywall _full.txt dump" "3/4 addresses added." \
	ctl table peers load -f "$LISTS/greywall_full.txt"
check_output "spamd-setup ranges: 13 blocks of 6 lines" "12/13 addresses added." \
	ctl table peers load -f "$LISTS/spamd_ranges.txt"
check_output "the range's blocks are entries" "4/4 addresses match." \
	ctl table peers test 198.51.100.10 198.51.100.11 198.51.100.39 198.51.100.40

printf '# a range\n192.0.2.65 - 192.0.2.70\n' >"$GW_RUN/range.txt"
check_output "replace -f with a range" "4 addresses added.
$(ctl table peers show | wc -l) addresses deleted." \
	ctl table peers replace -f "$GW_RUN/range.txt"
check_output "exactly the range's cover is left" "   192.0.2.65
   192.0.2.66/31
   192.0.2.68/31
   192.0.2.70" ctl table peers show
cl ip addr add 192.0.2.70/32 dev veth1
cl ip addr add 192.0.2.71/32 dev veth1
check "an end of the range is dropped" blocked 192.0.2.70 192.0.2.1
check "the address after it connects" connect 192.0.2.71 192.0.2.1

check_output "a file with bad lines is refused with the count and first lines" \
	"greywallctl: $LISTS/bad.txt:3: invalid address \"192.0.2.300\"; 7 bad lines (3, 5, 7, 8, 9, ...)" \
	ctl table peers load -f "$LISTS/bad.txt"
ctl table peers load -f "$LISTS/bad.txt" >/dev/null 2>&1
ok $([ $? -eq 1 ] && echo 0 || echo 1) "exit status 1"
check_output "and nothing of it was loaded" "0/2 addresses match." \
	ctl table peers test 192.0.2.2 203.0.113.1
check_output "a truncated dump is refused" \
	"greywallctl: $LISTS/greywall_truncated.txt: the header says 4 entries, the file holds 3" \
	ctl table peers replace -f "$LISTS/greywall_truncated.txt"
check_output "and replace deleted nothing" "1/1 addresses match." ctl table peers test 192.0.2.70

gw_stop
tap_done
