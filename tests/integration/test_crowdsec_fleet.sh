#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# A fleet on one CrowdSec LAPI: gateways A and B run greywalld, gateway C
# runs Debian's crowdsec-firewall-bouncer (nftables). A pop3 overload on A
# (a third concurrent connection to port 110, max-src-conn 2) lists the
# source in A's <popflooders>, A pushes it, `cscli decisions list` shows it
# with greywall's scenario, B drops the source after its next pull, and
# C's firewall bouncer drops it too: greywall's findings are usable by
# every bouncer. B, which pulls A's decision, never pushes it back.
#
#                         cs (ns ${ID}-cs): LAPI on 192.0.2.250:8080
#        192.0.2.249/30 --/            |             \-- 192.0.2.245/30
#   A gateway (greywalld)      192.0.2.253/30         C gateway (firewall bouncer)
#   A client 198.51.100.7      B gateway (greywalld)  C client 198.51.100.7
#                              B client 198.51.100.7
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/crowdsec.sh"
gw_require crowdsec cscli crowdsec-firewall-bouncer nft jq
[ -x "$GW_TOOLS/gwnet" ] || skip_all "not built: $GW_TOOLS/gwnet (make all)"

CS_NS=$GW_BASE_ID-cs
CS=/run/$GW_BASE_ID-cs
KEY_A=greywall-fleet-key-a-0123456789
KEY_B=greywall-fleet-key-b-0123456789
KEY_C=greywall-fleet-key-c-0123456789
fleet_cleanup() {
	cs_fwbouncer_stop "$CS/bouncer"
	cs_lapi_stop "$CS/lapi"
	cs_netns_del "$CS_NS"
	for g in a b c; do
		gw_use $g
		gw_cleanup
	done
	rm -rf "$CS"
}
trap fleet_cleanup EXIT
for g in a b c; do
	gw_use $g
	gw_setup_net || { echo "not ok 1 - network setup of $g"; exit 1; }
done
trap fleet_cleanup EXIT
gw_tarpit_user || { echo "not ok 1 - the user greywall"; exit 1; }
mkdir -p "$CS/lapi"

# The LAPI's namespace and a /30 to each gateway.
cs_netns "$CS_NS" &&
	cs_link "$CS_NS" "${GW_BASE_ID}a-gw" lapia 192.0.2.250 192.0.2.249 &&
	cs_link "$CS_NS" "${GW_BASE_ID}b-gw" lapib 192.0.2.254 192.0.2.253 &&
	cs_link "$CS_NS" "${GW_BASE_ID}c-gw" lapic 192.0.2.246 192.0.2.245
ok $? "the LAPI's namespace, linked to the three gateways"
cs_lapi_start "$CS/lapi" 192.0.2.250 8080 "$CS_NS"
ok $? "the LAPI answers at $(cs_url "$CS/lapi")"
cs_bouncer_add "$CS/lapi" gw-a "$KEY_A" && cs_bouncer_add "$CS/lapi" gw-b "$KEY_B" &&
	cs_bouncer_add "$CS/lapi" fw-c "$KEY_C" &&
	cs_machine_add "$CS/lapi" gw-a 'password-of-a' && cs_machine_add "$CS/lapi" gw-b 'password-of-b'
ok $? "bouncers for A, B and C; machines for A and B"

gw_use a
cs_gw_config "$CS/lapi" "$KEY_A" gw-a password-of-a 'block drop quick from <popflooders>
pass in on egress proto tcp to port 110 flags S/SA keep state (max-src-conn 2, overload <popflooders> flush)'
gw "$GW_TOOLS/gwnet" serve 110 >"$GW_RUN/serve.log" 2>&1 &
gw_start
ok $? "A starts"
gw_use b
cs_gw_config "$CS/lapi" "$KEY_B" gw-b password-of-b "block drop quick from <popflooders>"
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start
ok $? "B starts"
gw_use c
cs_fwbouncer_start "$CS/bouncer" "$GW_NS" nftables "$(cs_url "$CS/lapi")" "$KEY_C"
ok $? "C runs crowdsec-firewall-bouncer (nftables)"
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
wait_for 5 listens gw 8080

for g in b c; do
	gw_use $g
	check "on $g, 198.51.100.7 connects" connect 198.51.100.7 192.0.2.1
done

# The pop3 overload on A: a third concurrent connection from 198.51.100.7.
gw_use a
cl "$GW_TOOLS/gwnet" hold 198.51.100.7 192.0.2.1 110 3 >/dev/null 2>&1 &
hold_pid=$!
wait_for 10 ctl table popflooders test 198.51.100.7
ok $? "A lists 198.51.100.7 in <popflooders> by overload"
kill "$hold_pid" 2>/dev/null
wait "$hold_pid" 2>/dev/null
has "A's evidence is the overload" "^  evidence: overload: " "$(ctl why 198.51.100.7)"

decisions() { cs_cli "$CS/lapi" decisions list -o json 2>/dev/null; }
ours() { decisions | jq -e '.[]? | .decisions[]? | select(.value == "198.51.100.7" and .scenario == "greywall/overload")' >/dev/null; }
wait_for 10 ours
ok $? "cscli decisions list: 198.51.100.7 with the scenario greywall/overload"
has "the human listing shows the reason" "Ip:198.51.100.7 .*greywall/overload" \
	"$(cs_cli "$CS/lapi" decisions list 2>/dev/null)"
alert=$(decisions | jq -r '.[] | select(.decisions[]?.value == "198.51.100.7") | .id' | head -1)
has "cscli alerts inspect shows A's evidence" "overload: " \
	"$(cs_cli "$CS/lapi" alerts inspect -d "${alert:-0}" 2>&1)"

gw_use b
wait_for 10 ctl table crowdsec test 198.51.100.7
ok $? "B holds it in <crowdsec> after its next pull"
check "B drops 198.51.100.7" blocked 198.51.100.7 192.0.2.1
check "B lets 198.51.100.8 through" connect 198.51.100.8 192.0.2.1
has "B's evidence is CrowdSec's decision of A's scenario" \
	"^  evidence: crowdsec: crowdsec greywall/overload \(decision [0-9]+\)\$" "$(ctl why 198.51.100.7)"

gw_use c
c_has() { cs_in "$CS/bouncer" fwbouncer.netns nft list ruleset | grep -q '198\.51\.100\.7'; }
wait_for 10 c_has
ok $? "C's firewall bouncer holds 198.51.100.7"
check "C drops 198.51.100.7" blocked 198.51.100.7 192.0.2.1
check "C lets 198.51.100.8 through" connect 198.51.100.8 192.0.2.1

# B took A's decision into <crowdsec>, which it does not push; an operator
# adding the same source to B's <popflooders> makes it B's own finding.
gw_use b
has "B pushed nothing" "tables <popflooders>: 0 pushed" "$(ctl crowdsec show)"
check_output "one decision for 198.51.100.7 in the LAPI: no loop" 1 \
	eval "decisions | jq '[.[] | .decisions[]? | select(.value == \"198.51.100.7\")] | length'"

# A's decision deleted in CrowdSec: B and C let the source in again; A keeps
# its own listing (the overload is A's evidence, not CrowdSec's).
cs_cli "$CS/lapi" decisions delete -i 198.51.100.7 >/dev/null 2>&1
ok $? "cscli decisions delete -i 198.51.100.7"
wait_for 10 refute ctl table crowdsec test 198.51.100.7
ok $? "B lets it go from <crowdsec>"
check "B lets 198.51.100.7 connect again" connect 198.51.100.7 192.0.2.1
gw_use a
check "A keeps it in <popflooders>: its own finding" ctl table popflooders test 198.51.100.7
tap_done
