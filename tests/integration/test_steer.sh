#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# SMTP steering end to end: greywalld attaches sk_lookup to the gateway's
# namespace; a "real MTA" listens on port 25 and a "tarpit" on loopback
# port 8025 (steerctl puts it in the sockmap). Clients connect to port 25:
# unlisted sources land on the tarpit, sources in a pass table on the MTA,
# IPv4 and IPv6, with no NAT (the tarpit sees the client's address). The
# link survives greywalld's restarts and goes on detach. spamlogd: the
# SMTP servers the gateway connects to are recorded by TC egress.
. "$(dirname "$0")/../lib/gw.sh"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
# Table bits follow the order of declaration: <spamd-white> 1, <nospamd> 2.
gw_write_config '
table <spamd-white> persist
table <nospamd> persist
table <spamd-greytrap> persist'
PASS_TABLES=3
BPFDIR=$GW_BPFFS/greywall
steerctl() { gw "$GW_TOOLS/steerctl" "$BPFDIR" "$@"; }
# on_mta SRC DST, on_tarpit SRC DST: connect to DST port 25 from SRC; it
# must be accepted by that listener and by no other.
on_mta() {
	connect "$1" "$2" 25 || return 1
	wait_for 3 grep -qx "tcp $1" "$GW_RUN/mta.log" || return 1
	! grep -qx "tarpit $1" "$GW_RUN/tarpit.log"
}
on_tarpit() {
	connect "$1" "$2" 25 || return 1
	wait_for 3 grep -qx "tarpit $1" "$GW_RUN/tarpit.log" || return 1
	! grep -qx "tcp $1" "$GW_RUN/mta.log"
}
reset_logs() { : >"$GW_RUN/mta.log"; : >"$GW_RUN/tarpit.log"; }
# The sk_lookup links of the gateway's namespace (bpftool lists every namespace's).
sk_lookup_links() {
	local ino
	ino=$(gw readlink /proc/self/ns/net | tr -dc 0-9)
	gw bpftool link show | grep -c "netns_ino $ino  *attach_type sk_lookup"
}
# start_tarpit: steerctl's listeners in the background, TARPIT_PID its pid
start_tarpit() {
	ip netns exec "$GW_NS" "$GW_TOOLS/steerctl" "$BPFDIR" tarpit 8025 >"$GW_RUN/tarpit.log" 2>&1 &
	TARPIT_PID=$!
	wait_for 5 grep -qx ready "$GW_RUN/tarpit.log"
}
link_id() { gw bpftool link show pinned "$BPFDIR/link_sk_lookup" | awk -F: 'NR==1{print $1}'; }

gw_start
ok $? "greywalld starts"
check "the sk_lookup link is pinned in the bpf-dir" test -e "$BPFDIR/link_sk_lookup"
check_output "one sk_lookup link on the gateway's namespace" "1" sk_lookup_links
gw bpftool link show pinned "$BPFDIR/link_sk_lookup" | grep -q 'attach_type sk_lookup'
ok $? "the pinned link is an sk_lookup attachment"

# Servers run under ip itself, not the gw/cl functions: `ip netns exec`
# execs them, so the jobs the cleanup kills are the servers themselves.
ip netns exec "$GW_NS" "$GW_TOOLS/gwnet" listen 25 >"$GW_RUN/mta.log" 2>&1 &
ip netns exec "$GW_NS" "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/web.log" 2>&1 &
check "the tarpit listeners are in the sockmap" start_tarpit
wait_for 5 listens gw 25

check "steering off (port 0): an unlisted IPv4 source reaches the MTA" on_mta 192.0.2.66 192.0.2.1
check "steering off: an unlisted IPv6 source reaches the MTA" on_mta 2001:db8::10 2001:db8::1

check "steerctl sets port 25 and the pass tables" steerctl port 25 $PASS_TABLES
reset_logs
check "unlisted IPv4 source lands on the tarpit" on_tarpit 198.51.100.7 192.0.2.1
check "unlisted IPv6 source lands on the tarpit" on_tarpit 2001:db8:bad::7 2001:db8::1
check_output "trap a source" "1/1 addresses added." ctl table spamd-greytrap add 203.0.113.200
check "a source in <spamd-greytrap> (not a pass table) lands on the tarpit" \
	on_tarpit 203.0.113.200 192.0.2.1

check_output "whitelist an IPv4 and an IPv6 host" "2/2 addresses added." \
	ctl table spamd-white add 198.51.100.8 2001:db8:beef::9
check "IPv4 source in <spamd-white> lands on the MTA" on_mta 198.51.100.8 192.0.2.1
check "IPv6 source in <spamd-white> lands on the MTA" on_mta 2001:db8:beef::9 2001:db8::1
check_output "exempt networks in <nospamd>" "2/2 addresses added." \
	ctl table nospamd add 203.0.113.0/24 2001:db8::/64
check "IPv4 source in a <nospamd> network lands on the MTA" on_mta 203.0.113.9 192.0.2.1
check "IPv6 source in a <nospamd> network lands on the MTA" on_mta 2001:db8::10 2001:db8::1
check_output "delete the IPv4 white host" "1/1 addresses deleted." \
	ctl table spamd-white delete 198.51.100.8
reset_logs
check "a source leaving <spamd-white> is tarpitted again" on_tarpit 198.51.100.8 192.0.2.1

check "another port is not steered" connect 198.51.100.7 192.0.2.1 8080
check "  ... the connection reached the port-8080 server" grep -qx "tcp 198.51.100.7" "$GW_RUN/web.log"
reset_logs
# on_mta_local SRC DST: the gateway itself connects; it must reach the MTA.
on_mta_local() {
	gw "$GW_TOOLS/gwnet" connect "$1" "$2" 25 700 || return 1
	wait_for 3 grep -qx "tcp $1" "$GW_RUN/mta.log" || return 1
	! grep -qx "tarpit $1" "$GW_RUN/tarpit.log"
}
check "the gateway's own connection to 127.0.0.1:25 reaches the MTA" on_mta_local 127.0.0.1 127.0.0.1
check "the gateway's own connection to [::1]:25 reaches the MTA" on_mta_local ::1 ::1
check "the gateway's own connection to 192.0.2.1:25 reaches the MTA" \
	on_mta_local 192.0.2.1 192.0.2.1
check "the gateway's own connection to [2001:db8::1]:25 reaches the MTA" \
	on_mta_local 2001:db8::1 2001:db8::1

out=$(ctl stats)
tarpitted=$(echo "$out" | awk '$1 == "smtp-to-tarpit" {print $2}')
passed=$(echo "$out" | awk '$1 == "smtp-to-mta-passed" {print $2}')
local_=$(echo "$out" | awk '$1 == "smtp-to-mta-local" {print $2}')
ok $([ "${tarpitted:-0}" -ge 4 ] && [ "${passed:-0}" -ge 4 ] && [ "${local_:-0}" -ge 4 ] &&
	echo 0 || echo 1) \
	"stats count the steering (tarpit ${tarpitted:-none}, passed ${passed:-none}, local ${local_:-none})"

# The tarpit closing empties its slots: SMTP then reaches the MTA, counted.
kill "$TARPIT_PID" 2>/dev/null
wait "$TARPIT_PID" 2>/dev/null
reset_logs
check "with the tarpit gone, an unlisted source reaches the MTA" on_mta 198.51.100.7 192.0.2.1
start_tarpit
: >"$GW_RUN/mta.log"
check "a new tarpit takes over" on_tarpit 198.51.100.7 192.0.2.1

# Restarts keep the link: steering goes on while greywalld is down.
link_before=$(link_id)
gw_stop KILL
check "greywalld is gone after SIGKILL" refute pgrep -f -- "-f $GW_CONF"
reset_logs
check "while greywalld is down, an unlisted source is still tarpitted" \
	on_tarpit 2001:db8:bad::7 2001:db8::1
gw_start
ok $? "greywalld restarts"
check_output "the same sk_lookup link stays across the restart" "$link_before" link_id
check_output "still one sk_lookup link" "1" sk_lookup_links

# An upgrade: another build id in gw_config (key 3, GW_CFG_BUILD_ID) makes
# greywalld replace its programs; the link stays and takes the new one.
link_prog() { gw bpftool link show pinned "$BPFDIR/link_sk_lookup" | awk 'NR==1{print $4}'; }
xdp_prog() { gw bpftool net show dev veth0 | sed -n '/^xdp:/,/^$/p' | grep -o 'id [0-9]*'; }
prog_before=$(link_prog)
xdp_before=$(xdp_prog)
gw_stop TERM
gw bpftool map update pinned "$BPFDIR/gw_config" key 3 0 0 0 value 0 0 0 0 0 0 0 0
gw_start
ok $? "greywalld starts as another build"
check_output "the upgrade keeps the sk_lookup link" "$link_before" link_id
prog_after=$(link_prog)
ok $([ -n "$prog_after" ] && [ "$prog_after" != "$prog_before" ] && echo 0 || echo 1) \
	"the upgrade puts a new program in the link (prog ${prog_before:-none} -> ${prog_after:-none})"
check_output "still one sk_lookup link after the upgrade" "1" sk_lookup_links
xdp_after=$(xdp_prog)
ok $([ "$(echo "$xdp_after" | wc -l)" -eq 1 ] && [ -n "$xdp_after" ] &&
	[ "$xdp_after" != "$xdp_before" ] && echo 0 || echo 1) \
	"the upgrade swaps the XDP program: one, new (${xdp_before:-none} -> ${xdp_after:-none})"
reset_logs
check "steering goes on after the upgrade" on_tarpit 198.51.100.7 192.0.2.1

# spamlogd: SMTP connections the gateway opens record their destination.
ip netns exec "$GW_CLIENT" "$GW_TOOLS/gwnet" listen 25 >/dev/null 2>&1 &
ip netns exec "$GW_CLIENT" "$GW_TOOLS/gwnet" listen 8080 >/dev/null 2>&1 &
wait_for 5 listens cl 25
steerctl outbound >/dev/null
# Only the MTA's user vouches for a destination: here root stands in for it.
check "steerctl makes root the MTA's user" steerctl mta 0
check "user nobody connects to a remote MTA" \
	gw setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$GW_TOOLS/gwnet" connect 192.0.2.1 198.51.100.7 25 700
check "the gateway connects to a remote MTA over IPv4" \
	gw "$GW_TOOLS/gwnet" connect 192.0.2.1 192.0.2.66 25 700
check "the gateway connects to a remote MTA over IPv6" \
	gw "$GW_TOOLS/gwnet" connect 2001:db8::1 2001:db8::10 25 700
check "the gateway connects to another port" gw "$GW_TOOLS/gwnet" connect 192.0.2.1 192.0.2.10 8080 700
reset_logs
check "incoming SMTP meanwhile (its SYN-ACK leaves too)" on_tarpit 198.51.100.7 192.0.2.1
check_output "outbound drains exactly the SMTP servers we connected to" "192.0.2.66
2001:db8::10" sh -c "ip netns exec $GW_NS $GW_TOOLS/steerctl $BPFDIR outbound | sort"
check_output "a second drain is empty" "" steerctl outbound

check_output "detach" "detached: programs removed, maps unpinned; greywalld exits." ctl detach
wait "$GW_PID" 2>/dev/null
GW_PID=
check "the link pin is gone" test ! -e "$BPFDIR/link_sk_lookup"
check_output "no sk_lookup link is left on the namespace" "0" sk_lookup_links
reset_logs
check "after detach an unlisted source reaches the MTA" on_mta 2001:db8:bad::7 2001:db8::1
tap_done
