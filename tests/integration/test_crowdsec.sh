#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# greywall as a bouncer and a source of Debian 12's CrowdSec (1.4.6): the
# LAPI runs alone (crowdsec -no-cs) in a namespace of its own, greywalld on
# the gateway pulls its decisions every second into <crowdsec> and pushes
# additions to <popflooders>.
#
# - cscli decisions add -i 198.51.100.7: dropped in XDP within one pull;
#   -r 203.0.113.0/24 and -r 2001:db8:bad::/48 too (ranges kept as ranges);
#   why shows the decision; a captcha decision is counted and ignored;
#   cscli decisions delete unblocks; a 3-second decision ends by itself.
# - an operator's addition to <popflooders> shows in cscli decisions list as
#   greywall/manual with the evidence in the alert (cscli alerts inspect).
# - the LAPI killed: <crowdsec> keeps its entries; a push waits in the queue
#   and reaches the LAPI once it is back; greywalld restarted with the LAPI
#   down keeps its entries and their ends.
#
#   cs (ns $GW_ID-cs)             gateway (ns $GW_NS)          client (ns $GW_CLIENT)
#   lapi1: 192.0.2.250/30 ------- lapi0: 192.0.2.249/30
#   LAPI on 192.0.2.250:8080      veth0: 192.0.2.1 ----------- veth1: 198.51.100.7 ...
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/crowdsec.sh"
gw_require crowdsec cscli jq
[ -x "$GW_TOOLS/gwnet" ] || skip_all "not built: $GW_TOOLS/gwnet (make all)"

KEY=greywall-test-bouncer-key-0123456789
cs_test_setup
ok $? "the gateway, and the LAPI's namespace linked to it"
gw_tarpit_user || { echo "not ok 2 - the user greywall"; exit 1; }
cs_lapi_start "$CS/lapi" 192.0.2.250 8080 "$CS_NS"
ok $? "the LAPI answers at $(cs_url "$CS/lapi")"
cs_bouncer_add "$CS/lapi" greywall "$KEY" && cs_machine_add "$CS/lapi" gw1 'gw1-password'
ok $? "a bouncer key and a machine for greywall"
cs_gw_config "$CS/lapi" "$KEY" gw1 gw1-password ""
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start
ok $? "greywalld starts with the crowdsec block"
wait_for 10 eval 'ctl crowdsec show | grep -q "connected;"'
ok $? "the client connects (first pull done)"
child=$(pgrep -f -- "--crowdsec-child" | while read -r p; do
	[ "$(ip netns identify "$p" 2>/dev/null)" = "$GW_NS" ] && echo "$p"; done | head -1)
check_output "the client runs as the user greywall" greywall ps -o user= -p "${child:-0}"
check_output "with no capabilities" "0000000000000000" \
	awk '/^CapEff/ { print $2 }' "/proc/${child:-0}/status"

check "before any decision 198.51.100.7 connects" connect 198.51.100.7 192.0.2.1
cs_cli "$CS/lapi" decisions add -i 198.51.100.7 -d 1h >/dev/null 2>&1
ok $? "cscli decisions add -i 198.51.100.7 -d 1h"
wait_for 5 ctl table crowdsec test 198.51.100.7
ok $? "198.51.100.7 is in <crowdsec> within a pull"
check "and dropped in XDP" blocked 198.51.100.7 192.0.2.1
check "198.51.100.8 still connects" connect 198.51.100.8 192.0.2.1
has "why names the decision" "^  evidence: crowdsec: cscli manual 'ban' from '[^']*' \(decision [0-9]+\)\$" \
	"$(ctl why 198.51.100.7)"

cs_cli "$CS/lapi" decisions add -r 203.0.113.0/24 -d 1h >/dev/null 2>&1 &&
	cs_cli "$CS/lapi" decisions add -r 2001:db8:bad::/48 -d 1h >/dev/null 2>&1 &&
	cs_cli "$CS/lapi" decisions add -i 198.51.100.8 -t captcha -d 1h >/dev/null 2>&1
ok $? "cscli: an IPv4 range, an IPv6 range, a captcha"
wait_for 5 ctl table crowdsec test 203.0.113.9 2001:db8:bad::7
ok $? "the ranges are in <crowdsec> (203.0.113.9 and 2001:db8:bad::7 match)"
check "203.0.113.9 is dropped (a range stays a range)" blocked 203.0.113.9 192.0.2.1
check "2001:db8:bad::7 is dropped" blocked 2001:db8:bad::7 2001:db8::1
check "the captcha decision is not a ban: 198.51.100.8 connects" connect 198.51.100.8 192.0.2.1
out=$(ctl crowdsec show)
has "crowdsec show: three decisions held" "decisions held: 3 on 3 addresses and networks" "$out"
has "by origin and scope" "origin cscli: 3 \(Ip 1, Range 2\)" "$out"
has "the captcha is counted as ignored" "ignored: 1 not ban" "$out"

cs_cli "$CS/lapi" decisions delete -i 198.51.100.7 >/dev/null 2>&1
ok $? "cscli decisions delete -i 198.51.100.7"
wait_for 5 refute ctl table crowdsec test 198.51.100.7
ok $? "198.51.100.7 leaves <crowdsec>"
check "and connects again" connect 198.51.100.7 192.0.2.1
has "the history says why" "delete.*decision [0-9]+ deleted" "$(ctl why 198.51.100.7)"

cs_cli "$CS/lapi" decisions add -i 198.51.100.7 -d 3s >/dev/null 2>&1
wait_for 5 ctl table crowdsec test 198.51.100.7
ok $? "a 3-second decision is enforced"
wait_for 8 refute ctl table crowdsec test 198.51.100.7
ok $? "and ends by itself"

# Push: an operator's addition to <popflooders>.
ctl table popflooders add 198.51.100.30 >/dev/null
decisions() { cs_cli "$CS/lapi" decisions list -o json 2>/dev/null; }
pushed() { decisions | jq -e --arg v "$1" '.[]? | .decisions[]? | select(.value == $v and (.scenario | startswith("greywall/")))' >/dev/null; }
wait_for 10 pushed 198.51.100.30
ok $? "an addition to <popflooders> is in cscli decisions list"
has "with greywall's scenario" '"scenario": "greywall/manual"' "$(decisions)"
alert=$(decisions | jq -r '.[] | select(.decisions[]?.value == "198.51.100.30") | .id' | head -1)
has "cscli alerts inspect shows the evidence" "manual: " \
	"$(cs_cli "$CS/lapi" alerts inspect -d "${alert:-0}" 2>&1)"
dur=$(decisions | jq -r '.[] | .decisions[]? | select(.value == "198.51.100.30") | .duration' | head -1)
has "its duration is the table's timeout (1h)" '^(59m|1h0m)' "$dur"
has "crowdsec show: pushed 1" "push: machine gw1, tables <popflooders>: 1 pushed" \
	"$(ctl crowdsec show)"
wait_for 5 ctl table crowdsec test 198.51.100.30
ok $? "our own decision comes back in the pull, into <crowdsec> ..."
ctl table popflooders delete 198.51.100.30 >/dev/null
ctl table popflooders add 198.51.100.30 >/dev/null
# Once its batch came round: skipped, not sent.
wait_for 10 eval 'ctl crowdsec show | grep -q " [1-9][0-9]* skipped"'
ok $? "the addition came round in a push batch and was skipped"
check_output "... and is not pushed again while CrowdSec holds it" 1 \
	eval "decisions | jq '[.[] | .decisions[]? | select(.value == \"198.51.100.30\")] | length'"

# The LAPI goes away.
cs_lapi_stop "$CS/lapi"
wait_for 10 eval 'ctl crowdsec show | grep -q "not connected"'
ok $? "the LAPI killed: greywall notices"
check "<crowdsec> keeps its entries" ctl table crowdsec test 203.0.113.9 2001:db8:bad::7
check "203.0.113.9 is still dropped" blocked 203.0.113.9 192.0.2.1
ctl table popflooders add 198.51.100.31 >/dev/null
wait_for 5 eval 'ctl crowdsec show | grep -q "1 queued"'
ok $? "a push waits in the queue"
gw_stop TERM
gw_start
ok $? "greywalld restarted with the LAPI down"
check "its entries are there" ctl table crowdsec test 203.0.113.9 2001:db8:bad::7
check "and enforced" blocked 2001:db8:bad::7 2001:db8::1
has "it says it is not connected" "not connected" "$(ctl crowdsec show)"
ctl table popflooders add 198.51.100.32 >/dev/null
cs_lapi_restart "$CS/lapi"
ok $? "the LAPI back"
wait_for 20 pushed 198.51.100.32
ok $? "an addition made while it was down reaches it"
check "the decisions are pulled again" wait_for 10 eval 'ctl crowdsec show | grep -q "connected;"'
check "and still enforced" ctl table crowdsec test 203.0.113.9 2001:db8:bad::7

wait_for 20 pushed 198.51.100.31
ok $? "and so does the one queued before the restart (the queue is kept in the store)"
# What greywalld logged of all this, for whoever reads the test's log.
grep crowdsec "$GW_RUN/greywalld.log" | sort | uniq -c | sort -rn | head -20 | sed 's/^/# /'
tap_done
