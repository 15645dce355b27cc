#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# tests/lib/crowdsec.sh on its own, with no greywall in it: Debian's CrowdSec
# LAPI in a namespace of its own, Debian's crowdsec-firewall-bouncer in the
# gateway namespace, in nftables mode and then in ipset mode, both pulling
# from that LAPI. cscli's decisions (198.51.100.7, 203.0.113.0/24,
# 2001:db8:1::/48) reach the bouncer's sets within a few seconds, and a TCP
# connection from 198.51.100.7 to the gateway is dropped while another
# source passes; deleting them empties the sets; stopping the bouncer
# removes its tables, sets and rules; the LAPI restarted keeps its database.
#
# What this bouncer version (0.0.25) does with a range is asserted too, since
# the benchmarks and greywall's documentation rely on it: in ipset mode
# (hash:net) a range is a range; in nftables mode its sets are plain address
# sets (no interval flag), so 203.0.113.0/24 is held as the one address
# 203.0.113.0 and 203.0.113.9 still connects, and 2001:db8:1::/48 as
# 2001:db8:1::.
#
#   cs (ns $GW_ID-cs)       gateway (ns $GW_NS)             client (ns $GW_CLIENT)
#   lapi1: 192.0.2.250/30 -- lapi0: 192.0.2.249/30
#   LAPI on 192.0.2.250:8080  veth0: 192.0.2.1 -- veth1: 192.0.2.10 198.51.100.7
#                           bouncer, gwnet listen 8080     203.0.113.9 2001:db8:1::7 ...
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/crowdsec.sh"
gw_require crowdsec cscli crowdsec-firewall-bouncer nft ipset iptables ip6tables jq curl
[ -x "$GW_TOOLS/gwnet" ] || skip_all "not built: $GW_TOOLS/gwnet (make all)"

KEY=0123456789abcdef0123456789abcdef
cs_test_setup
ok $? "the gateway, and the LAPI's namespace linked to it"
cl ip addr add 2001:db8:1::7/128 dev veth1 nodad
gw ip -6 route add 2001:db8:1::/48 dev veth0
gw "$GW_TOOLS/gwnet" listen 8080 >/dev/null 2>&1 &

cs_lapi_start "$CS/lapi" 192.0.2.250 8080 "$CS_NS"
ok $? "cs_lapi_start: the LAPI answers at $(cs_url "$CS/lapi") in $CS_NS"
cs_bouncer_add "$CS/lapi" fw "$KEY"
ok $? "cs_bouncer_add"
has "cscli bouncers list shows it" '^ *fw ' "$(cs_cli "$CS/lapi" bouncers list 2>&1)"
cs_machine_add "$CS/lapi" gw1 'a-password-for-gw1'
ok $? "cs_machine_add"
login=$(gw curl -s -m 5 -X POST -d '{"machine_id":"gw1","password":"a-password-for-gw1"}' \
	"$(cs_url "$CS/lapi")v1/watchers/login")
has "the machine logs in (POST /v1/watchers/login from the gateway)" '"code":200.*"token":"' "$login"
refute_login=$(gw curl -s -m 5 -X POST -d '{"machine_id":"gw1","password":"wrong"}' \
	"$(cs_url "$CS/lapi")v1/watchers/login")
text_matches "a wrong password gets no token" "$refute_login" refute grep -q token

reaches() { cl "$GW_TOOLS/gwnet" connect "$1" "$2" 8080 700; }
count_is() { [ "$(cs_fwbouncer_count "$CS/bouncer")" = "$1" ]; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

check "before any decision, 198.51.100.7 reaches the gateway" reaches 198.51.100.7 192.0.2.1
check "and 203.0.113.9, and 2001:db8:1::7" eval 'reaches 203.0.113.9 192.0.2.1 && reaches 2001:db8:1::7 2001:db8::1'

for mode in nftables ipset; do
	cs_fwbouncer_start "$CS/bouncer" "$GW_NS" "$mode" "$(cs_url "$CS/lapi")" "$KEY"
	ok $? "$mode: cs_fwbouncer_start in the gateway"
	check_output "$mode: its sets start empty" 0 cs_fwbouncer_count "$CS/bouncer"
	t0=$(now)
	cs_cli "$CS/lapi" decisions add -i 198.51.100.7 -d 1h >/dev/null 2>&1 &&
		cs_cli "$CS/lapi" decisions add -r 203.0.113.0/24 -d 1h >/dev/null 2>&1 &&
		cs_cli "$CS/lapi" decisions add -r 2001:db8:1::/48 -d 1h >/dev/null 2>&1
	ok $? "$mode: cscli adds 198.51.100.7, 203.0.113.0/24, 2001:db8:1::/48"
	wait_for 10 count_is 3
	ok $? "$mode: the bouncer holds the three within 10 s"
	echo "# $mode: held $(since "$t0") s after the first cscli decisions add began"
	check "$mode: a TCP connection from 198.51.100.7 is dropped" blocked 198.51.100.7 192.0.2.1
	check "$mode: 192.0.2.10 connects" reaches 192.0.2.10 192.0.2.1
	if [ "$mode" = ipset ]; then
		check "ipset: 203.0.113.9, inside 203.0.113.0/24, is dropped" blocked 203.0.113.9 192.0.2.1
		check "ipset: 2001:db8:1::7, inside 2001:db8:1::/48, is dropped" blocked 2001:db8:1::7 2001:db8::1
	else
		sets=$(gw nft list ruleset)
		has "nftables: 203.0.113.0/24 is held as the address 203.0.113.0 (a plain address set)" \
			'elements = .*203\.0\.113\.0 timeout' "$sets"
		check "nftables: so 203.0.113.9, inside the range, still connects" reaches 203.0.113.9 192.0.2.1
		check "nftables: and 2001:db8:1::7, inside 2001:db8:1::/48" reaches 2001:db8:1::7 2001:db8::1
	fi
	check "$mode: 2001:db8::10 connects" reaches 2001:db8::10 2001:db8::1
	t0=$(now)
	cs_cli "$CS/lapi" decisions delete -i 198.51.100.7 >/dev/null 2>&1 &&
		cs_cli "$CS/lapi" decisions delete -r 203.0.113.0/24 >/dev/null 2>&1 &&
		cs_cli "$CS/lapi" decisions delete -r 2001:db8:1::/48 >/dev/null 2>&1
	ok $? "$mode: cscli deletes the three"
	wait_for 10 count_is 0
	ok $? "$mode: the bouncer's sets are empty within 10 s"
	echo "# $mode: emptied $(since "$t0") s after the first cscli decisions delete began"
	check "$mode: 198.51.100.7 connects again" reaches 198.51.100.7 192.0.2.1
	cs_fwbouncer_stop "$CS/bouncer"
	left=$(gw nft list ruleset 2>&1; gw ipset list -n 2>&1; gw iptables -S 2>&1; gw ip6tables -S 2>&1)
	text_matches "$mode: cs_fwbouncer_stop leaves no table, set or rule of it" "$left" refute grep -q gwcs
	check "$mode: cs_fwbouncer_count fails once it is stopped" refute cs_fwbouncer_count "$CS/bouncer"
done

cs_cli "$CS/lapi" decisions add -i 198.51.100.8 -d 1h >/dev/null 2>&1
cs_lapi_restart "$CS/lapi"
ok $? "cs_lapi_restart: the LAPI answers again"
has "the decision added before the restart is still listed" '198\.51\.100\.8' \
	"$(cs_cli "$CS/lapi" decisions list 2>&1)"
cs_lapi_stop "$CS/lapi"
check "cs_lapi_stop: nothing answers at $(cs_url "$CS/lapi")" refute cs_lapi_answers "$CS/lapi"
tap_done
