#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# PF's max-src-conn / max-src-conn-rate / overload <t> flush [global] end to
# end, IPv4 and IPv6: the default config's pop3 and ssh rules against real
# TCP servers (gwnet serve) in the gateway's namespace that hold every
# connection and log what they accepted and what was reset under them.
#   - a 7th connection within 3 s puts the source in <popflooders>; its
#     next connections meet the quick rule (max-src-conn 1), and breaking
#     that puts it in <longterm>, where every packet is dropped; `why`
#     tells both steps with their evidence;
#   - a 6th concurrent connection: <popflooders>, and flush global resets
#     the source's connections of every rule; a plain flush only those of
#     its own rule;
#   - a burst of 1,000 connections a second: the server accepts exactly
#     5 + 1 of them;
#   - 65,536 forged SYNs with guessed ACKs from documentation ranges put
#     nothing in a table while a legitimate client is served;
#   - the sweeper's timeouts free slots (clock injected through gw_config);
#   - a reload that moves the rules keeps the connection counts.
# The data path's clock is injected through gw_config (GW_CFG_CLOCK) to
# freeze it for the rate and to jump past tcp.established for the sweeper.
# `set queue` (tested by test_queues.sh) is left out of the quick rule; the
# rest is verbatim.
. "$(dirname "$0")/../lib/gw.sh"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
for a in 198.51.100.9 198.51.100.10 198.51.100.11; do
	cl ip addr add $a/32 dev veth1
done
for a in 2001:db8:bad::8 2001:db8:bad::9 2001:db8:bad::10 2001:db8:bad::11; do
	cl ip addr add $a/128 dev veth1 nodad
done

RULES='
table <longterm> persist counters file "'"$GW_RUN"'/longterm" timeout 28d
table <popflooders> persist counters file "'"$GW_RUN"'/popflooders"
table <bruteforce> persist counters file "'"$GW_RUN"'/bruteforce" timeout 28d
table <sshflood> persist

queue spamd bandwidth 1K min 0K max 1K qlimit 300

block drop log (all) quick from <longterm>
block drop log (all) quick from <bruteforce>
pass in quick log (all) on egress proto tcp from <popflooders> to port pop3 flags S/SA keep state \
        (max-src-conn 1, max-src-conn-rate 1/1, overload <longterm> flush global, pflow)
pass in log (all) on egress proto tcp to port pop3 flags S/SA keep state \
        (max-src-conn 5, max-src-conn-rate 6/3, overload <popflooders> flush global, pflow)
pass in on egress proto tcp to port ssh keep state \
        (max-src-conn 10, max-src-conn-rate 15/5, overload <bruteforce> flush global)
pass in on egress proto tcp to port 2222 flags S/SA keep state (max-src-conn 2, overload <sshflood> flush)'
gw_write_config "$RULES"

out=$(gw "$GW_BIN/greywalld" -n -f "$GW_CONF" 2>&1)
ok $? "greywalld -n accepts the field's pop3 and ssh rules"
has "pflow is accepted with a warning" 'warning: .*pflow' "$out"
[ "$(printf '%s\n' "$out" | grep -c warning)" -eq 1 ]
ok $? "one warning, no other (got: $(printf '%s' "$out" | tr '\n' '|'))"

for port in 110 22 2222; do
	ip netns exec "$GW_NS" "$GW_TOOLS/gwnet" serve $port >"$GW_RUN/s$port.log" 2>&1 &
done
gw_start
ok $? "greywalld starts with the limits"
for port in 110 22 2222; do
	wait_for 5 listens gw $port
done

# accepted|reset|closed SRC PORT: how many connections of SRC the server on PORT saw so
accepted() { grep -cx "accept $1" "$GW_RUN/s$2.log"; }
resets() { grep -cx "reset $1" "$GW_RUN/s$2.log"; }
# wait_count N what SRC PORT: until `what SRC PORT` reaches N (3 s)
wait_count() {
	local deadline=$((SECONDS + 3))
	while [ "$($2 "$3" "$4")" -lt "$1" ]; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}
# hold SRC DST PORT N [US]: N connections held in the background
hold() { ip netns exec "$GW_CLIENT" "$GW_TOOLS/gwnet" hold "$@" >/dev/null 2>&1 & }
in_table() { ctl table "$1" test "$2" >/dev/null 2>&1; }
entries() { for t in longterm popflooders bruteforce sshflood; do ctl table $t show; done; }
BPFDIR=$GW_BPFFS/greywall

# family NAME SERVER OFFENDER CONCURRENT FLUSHED BURST RELOADED LEGIT
family() {
	local f=$1 srv=$2 off=$3 conc=$4 fl=$5 burst=$6 rel=$7 legit=$8 out before

	# 1. The rate: seven connections one after another, each closed at once.
	# The clock stands still meanwhile: PF's count decays by whole seconds, so
	# seven connections that straddle a second would count less than 7000.
	set_clock "$(monotonic)"
	for i in 1 2 3 4 5 6 7; do
		connect "$off" "$srv" 110
	done
	set_clock 0
	wait_for 3 in_table popflooders "$off"
	ok $? "$f: the 7th connection within 3 s puts $off in <popflooders>"
	sleep 0.3
	ok $([ "$(accepted "$off" 110)" -eq 6 ] && echo 0 || echo 1) \
		"$f: the server accepted exactly 6 of the 7 (got $(accepted "$off" 110))"
	out=$(ctl why "$off")
	has "$f: why gives the rate evidence" \
		"evidence: overload: rule 4: max-src-conn-rate 6/3 exceeded \(7000/6000\) at 20" "$out"

	# 2. The quick rule for <popflooders>: one connection, not two.
	hold "$off" "$srv" 110 1
	wait_count 7 accepted "$off" 110
	ok $? "$f: the quick <popflooders> rule admits one connection"
	hold "$off" "$srv" 110 1
	wait_for 3 in_table longterm "$off"
	ok $? "$f: a second concurrent one puts $off in <longterm>"
	wait_count 1 resets "$off" 110
	ok $? "$f: flush global reset the held connection (resets: $(resets "$off" 110))"
	ok $([ "$(accepted "$off" 110)" -eq 7 ] && echo 0 || echo 1) \
		"$f: the server never accepted the second (accepted $(accepted "$off" 110))"
	check "$f: <longterm> drops pop3 from $off" blocked "$off" "$srv" 110
	check "$f: <longterm> drops every port, ssh too" blocked "$off" "$srv" 22
	out=$(ctl why "$off")
	has "$f: why: in <longterm> with the quick rule's evidence" \
		"evidence: overload: rule 3: max-src-conn 1 exceeded \(2 established\) at 20" "$out"
	has_lines "$f: why's history: <popflooders> by rule 4, then <longterm> by rule 3" \
		"history:\n  20[^\n]* add +<popflooders> \Q$off\E: overload: rule 4: max-src-conn-rate 6/3 exceeded \(7000/6000\) at 20[^\n]*\n  20[^\n]* add +<longterm> \Q$off\E: overload: rule 3: max-src-conn 1 exceeded \(2 established\) at 20[^\n]*\n\$" \
		"$out"
	[ "$f" = inet ] && printf '%s\n' "$out" | sed 's/^/# why: /'

	# 3. Concurrency and flush global: ssh and 2222 connections die with the pop3 ones.
	hold "$conc" "$srv" 22 1
	hold "$conc" "$srv" 2222 1
	hold "$conc" "$srv" 110 5
	wait_count 5 accepted "$conc" 110 && wait_count 1 accepted "$conc" 22 &&
		wait_count 1 accepted "$conc" 2222
	ok $? "$f: $conc holds 5 pop3, 1 ssh and 1 port-2222 connections"
	hold "$conc" "$srv" 110 1
	wait_for 3 in_table popflooders "$conc"
	ok $? "$f: the 6th concurrent connection puts $conc in <popflooders>"
	out=$(ctl why "$conc")
	has "$f: why gives max-src-conn 5 with 6 established" \
		"evidence: overload: rule 4: max-src-conn 5 exceeded \(6 established\)" "$out"
	wait_count 5 resets "$conc" 110
	ok $? "$f: flush global reset its 5 pop3 connections (got $(resets "$conc" 110))"
	wait_count 1 resets "$conc" 22 && wait_count 1 resets "$conc" 2222
	ok $? "$f: and its connections of the other rules (ssh $(resets "$conc" 22), 2222 $(resets "$conc" 2222))"
	ok $([ "$(accepted "$conc" 110)" -eq 5 ] && echo 0 || echo 1) \
		"$f: the 6th was never accepted (accepted $(accepted "$conc" 110))"

	# 4. A plain flush: only the connections of its own rule.
	hold "$fl" "$srv" 110 1
	hold "$fl" "$srv" 22 1
	hold "$fl" "$srv" 2222 2
	wait_count 1 accepted "$fl" 110 && wait_count 1 accepted "$fl" 22 &&
		wait_count 2 accepted "$fl" 2222
	ok $? "$f: $fl holds 1 pop3, 1 ssh and 2 port-2222 connections"
	hold "$fl" "$srv" 2222 1
	wait_for 3 in_table sshflood "$fl"
	ok $? "$f: the 3rd port-2222 connection puts $fl in <sshflood>"
	wait_count 2 resets "$fl" 2222
	ok $? "$f: flush reset its 2 port-2222 connections"
	sleep 0.5
	ok $([ "$(resets "$fl" 110)" -eq 0 ] && [ "$(resets "$fl" 22)" -eq 0 ] && echo 0 || echo 1) \
		"$f: plain flush left its pop3 and ssh connections alone (resets $(resets "$fl" 110), $(resets "$fl" 22))"
	ok $([ "$(accepted "$fl" 2222)" -eq 2 ] && echo 0 || echo 1) "$f: the 3rd was never accepted"

	# 5. A burst of 1,000 connections in a second from one source.
	hold "$burst" "$srv" 110 1000 1000
	wait_for 5 in_table longterm "$burst"
	ok $? "$f: the burst ends in <longterm>"
	sleep 2
	ok $([ "$(accepted "$burst" 110)" -eq 6 ] && echo 0 || echo 1) \
		"$f: of 1,000 attempts the server accepted exactly 5 + 1 (got $(accepted "$burst" 110))"
	ok $([ "$(resets "$burst" 110)" -eq 6 ] && echo 0 || echo 1) \
		"$f: and every one of them was reset (got $(resets "$burst" 110))"

	# 6. Spoofed SYNs with guessed ACKs; a legitimate client during the flood.
	before=$(entries)
	ip netns exec "$GW_CLIENT" "$GW_TOOLS/gwnet" synflood "$srv" 110 65536 >"$GW_RUN/flood.log" 2>&1 &
	local flood=$!
	sleep 0.2
	check "$f: a legitimate client connects during the flood" \
		cl "$GW_TOOLS/gwnet" connect "$legit" "$srv" 110 3000
	wait "$flood"
	ok $? "$f: 65,536 forged SYN+ACK pairs sent ($(cat "$GW_RUN/flood.log"))"
	wait_count 1 accepted "$legit" 110
	ok $? "$f: the server accepted the legitimate client"
	sleep 1
	check_output "$f: the flood added nothing to any table" "$before" entries
	out=$(grep '^accept' "$GW_RUN/s110.log" | grep -cvxF "$CLIENTS")
	ok $([ "$out" -eq 0 ] && echo 0 || echo 1) "$f: the server accepted no forged connection ($out)"

	# 7. The sweeper: established connections idle past tcp.established free their slots.
	hold "$rel" "$srv" 110 5
	wait_count 5 accepted "$rel" 110
	ok $? "$f: $rel holds 5 pop3 connections"
	set_clock $(($(monotonic) + 86400 + 60))
	# The sweeper runs once a second: wait until it has expired every idle flow.
	wait_for 10 no_established_flow
	ok $? "$f: the sweeper expired the idle established flows"
	set_clock 0
	hold "$rel" "$srv" 110 5
	wait_count 10 accepted "$rel" 110
	ok $? "$f: after the sweeper expired them, 5 more are admitted (accepted $(accepted "$rel" 110))"
	ok $([ "$(resets "$rel" 110)" -eq 0 ] && echo 0 || echo 1) "$f: timing out killed nothing"
}

# Whether the flow table holds no established flow (stats' flows-established).
no_established_flow() { ctl stats | awk '$1 == "flows-established" { exit $2 != 0 }'; }

# reload NAME SERVER SOURCE: a reload that moves every rule; the 5 tracked
# connections of SOURCE count on under the new indices.
reload() {
	local f=$1 srv=$2 rel=$3

	hold "$rel" "$srv" 110 5
	wait_count 5 accepted "$rel" 110
	ok $? "$f: $rel holds 5 pop3 connections"
	gw_write_config "block drop quick proto udp from 192.0.2.99
$RULES"
	check_output "$f: reload with a rule in front" "configuration reloaded." ctl reload
	hold "$rel" "$srv" 110 1
	wait_for 3 in_table popflooders "$rel"
	ok $? "$f: after the reload the next connection is still the 6th of 5 (<popflooders>)"
	wait_count 5 resets "$rel" 110
	ok $? "$f: its connections are reset (got $(resets "$rel" 110))"
	ok $([ "$(accepted "$rel" 110)" -eq 5 ] && echo 0 || echo 1) "$f: the 6th was not accepted"
	gw_write_config "$RULES"
	check "$f: reload back" ctl reload
}

# monotonic: CLOCK_MONOTONIC in whole seconds, the data path's clock
monotonic() { awk '/^now at/ { print int($3 / 1e9); exit }' /proc/timer_list; }
# set_clock SECONDS: the data path's clock (GW_CFG_CLOCK = 7 in gw_config); 0 = boot time
set_clock() {
	local v=$1 bytes=""
	for i in 0 1 2 3 4 5 6 7; do
		bytes="$bytes $(((v >> (8 * i)) & 255))"
	done
	gw bpftool map update pinned "$BPFDIR/gw_config" key 7 0 0 0 value $bytes
}

# "accept ADDR" of every address the client namespace has: anything else was forged.
CLIENTS=$(cl ip -o addr show dev veth1 | awk '{ sub("/.*", "", $4); print "accept " $4 }')

family inet 192.0.2.1 198.51.100.7 198.51.100.8 203.0.113.9 198.51.100.9 198.51.100.10 192.0.2.66
family inet6 2001:db8::1 2001:db8:bad::7 2001:db8:bad::8 2001:db8:beef::9 2001:db8:bad::9 \
	2001:db8:bad::10 2001:db8::10

out=$(ctl rules)
printf '%s\n' "$out" | sed 's/^/# rules: /'
has_lines "rules: the pop3 rule counts 3 overloads per family" \
	"\n@4 pass in log[^\n]*\n  \[ Evaluations[^\n]*\n  \[ Overloads: 6 +Sources: [0-9]+ +Established: [0-9]+ +\]\n" \
	"$out"
has_lines "rules: the quick <popflooders> rule counts 2 per family" \
	"\n@3 pass in quick[^\n]*\n[^\n]*\n  \[ Overloads: 4 " "$out"
has_lines "rules: the port-2222 rule counts 1 per family" \
	"\n@6 pass[^\n]*2222[^\n]*\n[^\n]*\n  \[ Overloads: 2 " "$out"
has_lines "rules: the ssh rule has broken no limit" \
	"\n@5 pass[^\n]*ssh[^\n]*\n[^\n]*\n  \[ Overloads: 0 " "$out"
has_lines "rules: block rules have no overload line" \
	"^@1 block drop log \(all\) quick from <longterm>\n  \[ Evaluations: [0-9]+ +Packets: [0-9]+ +Bytes: [0-9]+ +Matches: [0-9]+ +\]\n@2 " \
	"$out"
out=$(ctl stats)
has "stats: the forged ACKs were judged bad" "^bad-handshake-acks +[1-9]" "$out"
has "stats: handshakes were refused by limits" "^overload-drops +[1-9]" "$out"
has "stats: killed flows' packets were dropped" "^killed-flow-drops +[1-9]" "$out"
has "stats: no event was lost" "^events-lost +0$" "$out"
check "the overloads were logged" grep -q "overload: 198.51.100.7 rule 4: max-src-conn-rate" "$GW_RUN/greywalld.log"

reload inet 192.0.2.1 198.51.100.11
reload inet6 2001:db8::1 2001:db8:bad::11
tap_done
