#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# No enforcement gap across restarts: a blocked source keeps sending while
# greywalld is killed (-9) and restarted; the receiver must count zero of
# its packets while an unlisted source gets through. Tables and evidence
# survive; timeouts and `expire` remove entries.
. "$(dirname "$0")/../lib/gw.sh"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
gw_write_config '
table <bruteforce> persist counters file "'"$GW_RUN"'/bruteforce"
table <short> counters timeout 5s
block drop quick from <bruteforce>
block drop quick from <short>'
gw "$GW_TOOLS/gwnet" listen 9090 >"$GW_RUN/udp.log" 2>&1 &
gw_start
ok $? "greywalld starts"
check_output "block a source" "2/2 addresses added." ctl table bruteforce add 198.51.100.7 2001:db8:bad::7
# Networks of a counters table: their sources are found through gw_nets4 and gw_nets6.
ctl table bruteforce add 203.0.113.0/24 2001:db8:beef::/48 >/dev/null
ok $? "block two networks"
# A blocked IPv6 source cannot resolve the gateway (its neighbour
# solicitations are dropped too): the client knows it beforehand.
cl ip -6 neigh replace 2001:db8::1 lladdr "$(gw cat /sys/class/net/veth0/address)" dev veth1 \
	nud permanent
prog_before=$(gw bpftool net show dev veth0 | grep -o 'id [0-9]*' | head -1)

# Both sources send 2000 datagrams, one every 2 ms, across two hard kills.
cl "$GW_TOOLS/gwnet" send 198.51.100.7 192.0.2.1 9090 2000 2000 &
s1=$!
cl "$GW_TOOLS/gwnet" send 2001:db8:bad::7 2001:db8::1 9090 2000 2000 &
s2=$!
cl "$GW_TOOLS/gwnet" send 192.0.2.66 192.0.2.1 9090 2000 2000 &
s3=$!
cl "$GW_TOOLS/gwnet" send 203.0.113.9 192.0.2.1 9090 2000 2000 &
s4=$!
cl "$GW_TOOLS/gwnet" send 2001:db8:beef::9 2001:db8::1 9090 2000 2000 &
s5=$!
wait_for 5 grep -qx 'udp 192.0.2.66' "$GW_RUN/udp.log"
gw_stop KILL
ok 0 "greywalld killed with SIGKILL while traffic flows"
sleep 0.5
gw_start
ok $? "greywalld restarts over the pinned maps"
gw_stop KILL
sleep 0.3
gw_start
ok $? "and once more"
wait $s1 $s2 $s3 $s4 $s5
# The receiver logs asynchronously: wait until the unlisted source's last datagrams are in.
wait_for 5 sh -c "[ \$(grep -cx 'udp 192.0.2.66' '$GW_RUN/udp.log') -ge 2000 ]"
blocked4=$(grep -cx "udp 198.51.100.7" "$GW_RUN/udp.log")
blocked6=$(grep -cx "udp 2001:db8:bad::7" "$GW_RUN/udp.log")
passed=$(grep -cx "udp 192.0.2.66" "$GW_RUN/udp.log")
check_output "receiver got zero packets from the blocked IPv4 source" "0" echo "$blocked4"
check_output "receiver got zero packets from the blocked IPv6 source" "0" echo "$blocked6"
check_output "receiver got zero packets from inside the blocked /24" "0" \
	grep -cx "udp 203.0.113.9" "$GW_RUN/udp.log"
check_output "receiver got zero packets from inside the blocked /48" "0" \
	grep -cx "udp 2001:db8:beef::9" "$GW_RUN/udp.log"
ok $([ "$passed" -ge 1900 ] && echo 0 || echo 1) "the unlisted source got through during restarts ($passed/2000)"

prog_after=$(gw bpftool net show dev veth0 | grep -o 'id [0-9]*' | head -1)
check_output "the same build stays attached across restarts (no re-attach)" "$prog_before" echo "$prog_after"
out=$(ctl table bruteforce show)
has "entries survive the restarts: the IPv4 host" "^   198.51.100.7$" "$out"
has "the IPv6 host" "^   2001:db8:bad::7$" "$out"
has "the /24" "^   203.0.113.0/24$" "$out"
has "the /48" "^   2001:db8:beef::/48$" "$out"
check "evidence survives" sh -c "$GW_BIN/greywallctl -s $GW_SOCK why 198.51.100.7 | grep -q 'evidence: manual: greywallctl table bruteforce add'"
out=$(ctl table bruteforce show -v)
inblock=$(echo "$out" | awk '/^   198.51.100.7/{f=1} f && /In\/Block:/{print $4; exit}')
ok $([ "${inblock:-0}" -ge 1900 ] && echo 0 || echo 1) "counters kept across restarts (In/Block ${inblock:-none} >= 1900)"
for net in 203.0.113.0/24 2001:db8:beef::/48; do
	n=$(echo "$out" | awk -v e="   $net" '$0 == e {f=1} f && /In\/Block:/{print $4; exit}')
	ok $([ "${n:-0}" -ge 1900 ] && [ "${n:-0}" -le 2000 ] && echo 0 || echo 1) \
		"$net: its sources' drops counted on its entry across restarts (In/Block ${n:-none})"
done
ctl table bruteforce delete 203.0.113.0/24 2001:db8:beef::/48 >/dev/null
ok $? "the networks deleted"
check "a source inside the /24 connects again" connect 203.0.113.9 192.0.2.1 9090
check "a source inside the /48 connects again" connect 2001:db8:beef::9 2001:db8::1 9090

# A clean stop and start keeps the entries too (store and table file).
gw_stop TERM
check "the table file holds the entries after SIGTERM" grep -qx "198.51.100.7" "$GW_RUN/bruteforce"
check "the blocked source stays blocked while greywalld is down" blocked 198.51.100.7 192.0.2.1
gw_start
has "entries come back after a clean restart" "^   198.51.100.7$" "$(ctl table bruteforce show)"

# An upgrade over maps an older build pinned with another layout: they are
# made anew and refilled, and the blocked source stays blocked throughout
# (it sends for 3 s across the stop and the start).
before=$(grep -cx "udp 198.51.100.7" "$GW_RUN/udp.log")
cl "$GW_TOOLS/gwnet" send 198.51.100.7 192.0.2.1 9090 1500 2000 &
s1=$!
sleep 0.3
gw_stop TERM
pins=$GW_BPFFS/greywall
rm -f "$pins/gw_flows" "$pins/gw_hosts"
check "an older gw_flows (a hash map) pinned in its place" \
	bpftool map create "$pins/gw_flows" type hash key 8 value 64 entries 1024 name gw_flows
check "an older gw_hosts (another value size) pinned in its place" \
	bpftool map create "$pins/gw_hosts" type hash key 16 value 64 entries 1024 name gw_hosts flags 1
gw_start
ok $? "greywalld starts over the older maps"
check "it says which maps it made anew" grep -q "older layout made anew (an upgrade): .*gw_flows" "$GW_RUN/greywalld.log"
grep -i "anew" "$GW_RUN/greywalld.log" | sed "s/^/# /"
check "gw_flows is the new array" sh -c "bpftool map show pinned $pins/gw_flows | grep -q ': array '"
wait $s1
check_output "the receiver got nothing from the blocked source across the upgrade" "$before" \
	grep -cx "udp 198.51.100.7" "$GW_RUN/udp.log"
check "the blocked source is blocked again (the table refilled from the store)" blocked 198.51.100.7 192.0.2.1
check "an unlisted source connects" connect 192.0.2.66 192.0.2.1 9090

# Flows an older hash placed (the pinned conf's version says so) are lost
# to this build's lookups, and their sources' counts with them: the flow
# maps are made anew together, even where their layout is the same.
check "the upgrade made the source counts anew with the flows" \
	grep -q "older layout made anew (an upgrade): .*gw_src_track" "$GW_RUN/greywalld.log"
gw_stop TERM
map_id() { bpftool map show pinned "$pins/$1" | head -1 | cut -d: -f1; }
ids_before="$(map_id gw_flows) $(map_id gw_src_track) $(map_id gw_flow_conf)"
# seed 0x11..., mask 131071, version 1, tick 0, v4 terms 0
value="$(printf '0x11 %.0s' $(seq 40)) 0xff 0xff 0x01 0 1 0 0 0 $(printf '0 %.0s' $(seq 16))"
check "the pinned flow conf says hash version 1 placed its flows" \
	bpftool map update pinned "$pins/gw_flow_conf" key 0 0 0 0 value $value
upgrades=$(grep -c "older layout made anew" "$GW_RUN/greywalld.log")
gw_start
ok $? "greywalld starts over them"
check_output "it says so once more" "$((upgrades + 1))" grep -c "older layout made anew" "$GW_RUN/greywalld.log"
for m in gw_flows gw_src_track gw_flow_conf; do
	check "$m made anew" sh -c "grep 'older layout made anew' '$GW_RUN/greywalld.log' | tail -1 | grep -qw $m"
done
ids_after="$(map_id gw_flows) $(map_id gw_src_track) $(map_id gw_flow_conf)"
check "the three maps are new ones ($ids_before -> $ids_after)" \
	sh -c "[ -z \"\$(printf '%s\n' $ids_before $ids_after | sort | uniq -d)\" ]"
check "the new conf holds this build's hash version and a seed of its own" \
	sh -c "bpftool -j map dump pinned $pins/gw_flow_conf | grep -q '\"version\":2' &&
	       ! bpftool -j map dump pinned $pins/gw_flow_conf | grep -q '\"k\":\\[1229782938247303441'"
check "the blocked source is blocked after it" blocked 198.51.100.7 192.0.2.1

# Timeouts: <short> entries go on their own after 5 s.
check_output "add to a table with timeout 5s" "1/1 addresses added." ctl table short add 203.0.113.9
check "the entry is enforced" blocked 203.0.113.9 192.0.2.1
check "the entry expires within 8 s" wait_for 8 sh -c "[ -z \"\$($GW_BIN/greywallctl -s $GW_SOCK table short show)\" ]"
check "the expired source connects again" connect 203.0.113.9 192.0.2.1 9090
check "why records the expiry" sh -c "$GW_BIN/greywallctl -s $GW_SOCK why 203.0.113.9 | grep -q ' expire  <short> 203.0.113.9'"

# expire N removes entries strictly older than N seconds.
ctl table short add 203.0.113.200 >/dev/null
sleep 1.2
check_output "expire 60 keeps a young entry" "0/1 addresses expired." ctl table short expire 60
check_output "expire 0 removes an entry older than 0 s" "1/1 addresses expired." ctl table short expire 0
tap_done
