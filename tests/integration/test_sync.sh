#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# spamd sync between two gateways, each a greywalld of its own (namespace,
# bpffs, state dir, control socket): a tuple greylisted on A is in B's
# greylist (IPv4 and IPv6 tuples), a trap hit on A tarpits the source on B
# with `why` naming A, B's updates reach A over IPv4 while A's reach B over
# IPv6; a wrong key, a replayed datagram (also from a forged source
# address), a truncated one, oversized ones
# and a stale one are dropped and counted; a spamd-style datagram (no SENDER) is taken;
# A's MTA whitelisting a destination (spamlogd -Y) reaches B as WHITE;
# then both restart on a multicast group instead of unicast peers, A with
# a later epoch than before.
#
#   client (ns $GW_CLIENT) --veth0/veth1-- A (ns $GW_NS) --sa/sb-- B (ns $B_NS)
#                                          sa: 198.51.100.129/25   sb: 198.51.100.130/25
#                                              2001:db8:5::1/64        2001:db8:5::2/64
#                                              2001:db8:5::3 (a third sender, deprecated)
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwsync$$
. tests/lib/gw.sh

B_NS=$GW_ID-b
B_RUN=$GW_RUN/b
B_BPFFS=$GW_RUN/bpffs-b
B_CONF=$B_RUN/greywall.conf
B_SOCK=$B_RUN/control.sock
B_PID=
SYNC_TOOL=$GW_TOP/tests/lib/sync_tool.py

b() { ip netns exec "$B_NS" "$@"; }
ctlb() { "$GW_BIN/greywallctl" -s "$B_SOCK" "$@"; }

b_cleanup() {
	set +e
	[ -n "$B_PID" ] && kill -9 "$B_PID" 2>/dev/null && wait "$B_PID" 2>/dev/null
	pkill -9 -f -- "-f $B_CONF" 2>/dev/null
	[ -f "$B_CONF" ] && LIBXDP_BPFFS=$B_BPFFS b "$GW_BIN/greywalld" -f "$B_CONF" --detach \
		>/dev/null 2>&1
	for pid in $(ip netns pids "$B_NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	ip netns del "$B_NS" 2>/dev/null
	umount "$B_BPFFS" 2>/dev/null
}

gw_setup_tarpit || exit 1
trap 'b_cleanup; gw_cleanup' EXIT
mkdir -p "$B_RUN/state" "$B_BPFFS" && mount -t bpf bpf "$B_BPFFS" || exit 1
ip netns add "$B_NS" || exit 1
ip link add sa netns "$GW_NS" type veth peer name sb netns "$B_NS" || exit 1
b ip link set lo up
gw ip addr add 198.51.100.129/25 dev sa
gw ip addr add 2001:db8:5::1/64 dev sa nodad
# Deprecated, so that A never picks it as the source of its own datagrams.
gw ip addr add 2001:db8:5::3/64 dev sa nodad preferred_lft 0
b ip addr add 198.51.100.130/25 dev sb
b ip addr add 2001:db8:5::2/64 dev sb nodad
gw ip link set sa up
b ip link set sb up
printf 'a shared secret\n' >"$ETC/spamd.key"
printf 'another secret\n' >"$ETC/wrong.key"

# A: the tarpit of gw_spamd_config; B: a tarpit on its own link, traps alike.
a_config() { # sync lines [more spamd lines]
	gw_spamd_config "	listen 2001:db8::1 port 8025
	mta-user nobody
${2:-}
	sync {
$1
		key \"$ETC/spamd.key\"
	}"
}
b_config() { # sync lines [more spamd lines]
	mkdir -p "$B_RUN/state"
	cat >"$B_CONF" <<CONF
set interface sb
set state-dir "$B_RUN/state"
set bpf-dir "$B_BPFFS/greywall"
set control-socket "$B_SOCK"
set dump-dir "$B_RUN/pub"
set contact "postmaster@example.org"
spamd {
	listen 198.51.100.130 port 8025
	hostname "mx2.example.org"
	scan-interval 1s
	greystutter 0s
	maxblack 0
	spamtraps file "$ETC/spamtraps"
${2:-}
	sync {
$1
		key "$ETC/spamd.key"
	}
}
CONF
}
b_start() {
	LIBXDP_BPFFS=$B_BPFFS ip netns exec "$B_NS" "$GW_BIN/greywalld" -d -f "$B_CONF" \
		>>"$B_RUN/greywalld.log" 2>&1 &
	B_PID=$!
	wait_for 20 ctlb status || {
		echo "# B's greywalld did not become ready:"
		sed 's/^/#   /' "$B_RUN/greywalld.log" | tail -20
		return 1
	}
}
b_stop() {
	[ -n "$B_PID" ] || return 0
	kill -TERM "$B_PID" 2>/dev/null
	wait "$B_PID" 2>/dev/null
	B_PID=
}
chat() { # SRC DST LINE...: an SMTP dialogue with the tarpit on DST port 8025, from the client
	local src=$1 dst=$2
	shift 2
	cl "$GW_TOOLS/gwnet" chat "$src" "$dst" 8025 "$@"
}
grey_dialogue() { # SRC DST TO
	chat "$1" "$2" "HELO client.example.net" "MAIL FROM:<a@example.net>" "RCPT TO:<$3>" DATA
}
# rejected WHO REASON: the count of a reason on the `rejected:` line of WHO's sync show
rejected() { "$1" sync show | sed -n 's/^rejected: //p' | tr ',' '\n' |
	awk -v r="$2" '$1 == r { print $2 }'; }
# rejected_is WHO REASON N: the count is N (for wait_for)
rejected_is() { [ "$(rejected "$1" "$2")" = "$3" ]; }
now() { date +%s; }

a_config "		listen 198.51.100.129
		peer 2001:db8:5::2"
b_config "		listen 2001:db8:5::2
		peer 198.51.100.129"
gw_start || exit 1
b_start || exit 1

show=$(ctl sync show)
has "A's sync show names its peer" "^peer 2001:db8:5::2: sent 0," "$show"
has "A listens on 198.51.100.129 port 8025" "^sync: listen 198.51.100.129 port 8025, epoch [0-9]+" "$show"
a_epoch1=$(printf '%s\n' "$show" | sed -n 's/.*epoch \([0-9]*\),.*/\1/p')

# --- a tuple greylisted on A is in B's greylist, IPv4 and IPv6
out=$(grey_dialogue 192.0.2.10 192.0.2.1 user@example.org)
has "A greylists 192.0.2.10" "^< 451 " "$out"
wait_for 5 sh -c "'$GW_BIN/greywallctl' -s '$B_SOCK' spamdb | grep -qF 'GREY|192.0.2.10|client.example.net|<a@example.net>|<user@example.org>|'"
ok $? "B's spamdb has A's GREY tuple of 192.0.2.10"
out=$(grey_dialogue 2001:db8::10 2001:db8::1 user@example.org)
has "A greylists 2001:db8::10" "^< 451 " "$out"
wait_for 5 sh -c "'$GW_BIN/greywallctl' -s '$B_SOCK' spamdb | grep -qF 'GREY|2001:db8::10|client.example.net|<a@example.net>|<user@example.org>|'"
ok $? "B's spamdb has the IPv6 tuple (GREY6 record)"
has "B heard A over IPv6, its window kept" "^heard 2001:db8:5::1: .*taken 2, last heard .*epoch $a_epoch1 counter 1," "$(ctlb sync show)"

# --- a trap hit on A tarpits the source on B, with B's why naming A
t0=$(date +%s%N)
out=$(chat 198.51.100.7 192.0.2.1 "HELO spammer.example.net" "MAIL FROM:<s@example.net>" \
	"RCPT TO:<trap@example.org>" DATA "+Subject: hi" "+" "+hello" ".")
has "A traps 198.51.100.7" "^< 450[- ].*198.51.100.7" "$out"
wait_for 5 ctlb table spamd-greytrap test 198.51.100.7
ok $? "198.51.100.7 is in B's <spamd-greytrap>"
t1=$(date +%s%N)
echo "# trap dialogue on A start -> entry in B's <spamd-greytrap> seen: $(((t1 - t0) / 1000000)) ms (polled every 100 ms)"
why=$(ctlb why 198.51.100.7)
has "B's why: sync from A, with the record's time" "sync: sync from 2001:db8:5::1: trapped there at 20[0-9-]+T[0-9:]+Z, until" "$why"
has "B's spamdb lists it TRAPPED" "^TRAPPED\|198.51.100.7\|" "$(ctlb spamdb)"
ev "! ctl sync show | grep -q '^rejected: .*own'" "A dropped nothing as its own"

# --- B's updates reach A over IPv4: a tuple greylisted on B
out=$(gw "$GW_TOOLS/gwnet" chat 198.51.100.129 198.51.100.130 8025 "HELO a.example.net" \
	"MAIL FROM:<b@example.net>" "RCPT TO:<user@example.org>" DATA)
has "B greylists a tuple from 198.51.100.129" "^< 451 " "$out"
wait_for 5 sh -c "'$GW_BIN/greywallctl' -s '$GW_SOCK' spamdb | grep -qF 'GREY|198.51.100.129|a.example.net|<b@example.net>|'"
ok $? "A's spamdb has B's tuple (IPv4 transport)"
has "A heard its peer B" "^heard 198.51.100.130: sent 0, send errors 0, received 1, taken 1, last heard 20" "$(ctl sync show)"

# --- spamlogd's WHITE: our MTA's user (here nobody) connects out to port 25 on A
cl "$GW_TOOLS/gwnet" listen 25 >/dev/null 2>&1 &
wait_for 5 listens cl 25
gw setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$GW_TOOLS/gwnet" connect 192.0.2.1 203.0.113.9 25 1000
ok $? "mta-user nobody connects from A to 203.0.113.9 port 25"
wait_for 10 ctl table spamd-white test 203.0.113.9
ok $? "A whitelists 203.0.113.9 (spamlogd)"
wait_for 5 ctlb table spamd-white test 203.0.113.9
ok $? "and B too, by A's WHITE record"
has "B's why: sync from A" "sync: sync from 2001:db8:5::1: whitelisted there at" "$(ctlb why 203.0.113.9)"

# --- a replayed datagram: captured on B's link, sent again from A's address
rm -f "$GW_RUN/captured"
b "$SYNC_TOOL" capture sb 8025 "$GW_RUN/captured" &
cap=$!
sleep 0.5
grey_dialogue 192.0.2.66 192.0.2.1 user@example.org >/dev/null
wait_for 5 test -s "$GW_RUN/captured"
ok $? "a datagram from A to B captured"
wait $cap 2>/dev/null
wait_for 5 sh -c "'$GW_BIN/greywallctl' -s '$B_SOCK' spamdb | grep -qF 'GREY|192.0.2.66|'"
ok $? "B took it the first time"
gw "$SYNC_TOOL" send 2001:db8:5::1 2001:db8:5::2 8025 "$GW_RUN/captured"
wait_for 5 rejected_is ctlb replay 1
ok $? "the replay is rejected and counted (replay $(rejected ctlb replay))"
# From an address B has not heard: that address has no window of its own yet.
gw "$SYNC_TOOL" send 2001:db8:5::3 2001:db8:5::2 8025 "$GW_RUN/captured"
wait_for 5 rejected_is ctlb replay 2
ok $? "the same datagram from another source address is a replay too (replay $(rejected ctlb replay))"
gw "$SYNC_TOOL" send 2001:db8:5::1 2001:db8:5::2 8025 "$GW_RUN/captured" 40
wait_for 5 rejected_is ctlb truncated 1
ok $? "a truncated datagram is counted (truncated $(rejected ctlb truncated))"

# Past 1408 bytes: within the receive buffer's slack (1450), and past it (3000, fragments).
head -c 1450 /dev/zero >"$GW_RUN/big" && head -c 3000 /dev/zero >"$GW_RUN/huge"
gw "$SYNC_TOOL" send 2001:db8:5::1 2001:db8:5::2 8025 "$GW_RUN/big"
gw "$SYNC_TOOL" send 2001:db8:5::1 2001:db8:5::2 8025 "$GW_RUN/huge"
wait_for 5 rejected_is ctlb oversized 2
ok $? "datagrams of 1450 and 3000 bytes are counted as oversized ($(rejected ctlb oversized))"

# --- a wrong key: nothing applied, counted
gw "$SYNC_TOOL" trapped 2001:db8:5::1 2001:db8:5::2 8025 "$ETC/wrong.key" 203.0.113.50 \
	$(($(now) + 3600)) $((a_epoch1 + 100)) "$(now)"
wait_for 5 rejected_is ctlb bad_hmac 1
ok $? "a datagram under another key is counted as bad_hmac"
ev "! ctlb table spamd-greytrap test 203.0.113.50" "and its record not applied"
# Without SENDER from a sender that sends SENDER: refused.
gw "$SYNC_TOOL" trapped 2001:db8:5::1 2001:db8:5::2 8025 "$ETC/spamd.key" 203.0.113.51 $(($(now) + 3600))
wait_for 5 rejected_is ctlb no_sender 1
ok $? "A's address without SENDER is refused (no_sender)"
# --- spamd's own datagrams (no SENDER) from a third sender are taken, as spamd does
gw "$SYNC_TOOL" trapped 2001:db8:5::3 2001:db8:5::2 8025 "$ETC/spamd.key" 203.0.113.52 $(($(now) + 3600))
wait_for 5 ctlb table spamd-greytrap test 203.0.113.52
ok $? "a spamd-style TRAPPED record (no SENDER) is applied"
has "why names the third sender" "sync from 2001:db8:5::3: trapped there" "$(ctlb why 203.0.113.52)"
gw "$SYNC_TOOL" trapped 2001:db8:5::3 2001:db8:5::2 8025 "$ETC/spamd.key" 203.0.113.53 $(($(now) - 10))
sleep 0.5
ev "! ctlb table spamd-greytrap test 203.0.113.53" "a TRAPPED record already expired is ignored"
has "and counted as expired" "^records: [0-9]+ applied, 1 expired," "$(ctlb sync show)"
# --- WHITE records: a new source is whitelisted; a trapped one stays trapped
gw "$SYNC_TOOL" white 2001:db8:5::3 2001:db8:5::2 8025 "$ETC/spamd.key" 203.0.113.60 $(($(now) + 3600))
wait_for 5 ctlb table spamd-white test 203.0.113.60
ok $? "a WHITE record puts 203.0.113.60 into B's <spamd-white>"
has "why: whitelisted by sync" "sync: sync from 2001:db8:5::3: whitelisted there at" "$(ctlb why 203.0.113.60)"
gw "$SYNC_TOOL" white 2001:db8:5::3 2001:db8:5::2 8025 "$ETC/spamd.key" 198.51.100.7 $(($(now) + 3600))
gw "$SYNC_TOOL" trapped 2001:db8:5::3 2001:db8:5::2 8025 "$ETC/spamd.key" 127.0.0.1 $(($(now) + 3600))
wait_for 5 sh -c "'$GW_BIN/greywallctl' -s '$B_SOCK' sync show | grep -q '^records: .* 1 ignored'"
ok $? "a TRAPPED record for 127.0.0.1 is ignored"
ev "! ctlb table spamd-white test 198.51.100.7" "a WHITE record does not whitelist a trapped source"
has "which stays TRAPPED in B's greylist" "^TRAPPED\|198.51.100.7\|" "$(ctlb spamdb)"
ev "! ctlb table spamd-greytrap test 127.0.0.1" "127.0.0.1 is not trapped"

# --- latency: a datagram sent -> the source in B's table (polled every 10 ms with greywallctl)
lat=()
for i in $(seq 101 120); do
	t0=$(date +%s%N)
	gw "$SYNC_TOOL" trapped 2001:db8:5::3 2001:db8:5::2 8025 "$ETC/spamd.key" "203.0.113.$i" $(($(now) + 3600))
	for _ in $(seq 500); do ctlb table spamd-greytrap test "203.0.113.$i" >/dev/null 2>&1 && break; sleep 0.01; done
	lat+=($((($(date +%s%N) - t0) / 1000000)))
done
n=$(ctlb table spamd-greytrap show | grep -cE '203\.0\.113\.1[0-2][0-9]')
ev "[ $n -ge 20 ]" "20 TRAPPED records sent one by one are all in B's table ($n)"
echo "# datagram sent (python, from A's namespace) -> in B's <spamd-greytrap>, 20 runs, ms: median $(printf '%s\n' "${lat[@]}" | sort -n | sed -n 10p), max $(printf '%s\n' "${lat[@]}" | sort -n | tail -1)"

# --- stale: a SENDER sent two minutes ago
gw "$SYNC_TOOL" trapped 2001:db8:5::3 2001:db8:5::2 8025 "$ETC/spamd.key" 203.0.113.54 \
	$(($(now) + 3600)) 100 $(($(now) - 120))
wait_for 5 rejected_is ctlb stale 1
ok $? "a datagram sent 120 s ago is rejected as stale"
ev "! ctlb table spamd-greytrap test 203.0.113.54" "and not applied"
show=$(ctlb sync show)
has "B's sync show: the per-peer rejections" "^heard 2001:db8:5::1: .*rejected oversized 2, truncated 1, bad_hmac 1, replay 1, no_sender 1" "$show"
printf '%s\n' "$show" | sed 's/^/#   /'

# --- a reload keeps an unchanged sync block, and refuses a changed one
check "a reload with the same sync block succeeds" ctl reload
a_config "		listen 198.51.100.129
		peer 2001:db8:5::9"
out=$(ctl reload 2>&1)
has "a reload that changes it is refused" "spamd sync changes only with a restart" "$out"
has "and the running sync goes on" "^peer 2001:db8:5::2: sent [1-9]" "$(ctl sync show)"

# --- multicast: both restart on a group, with a passtime of seconds; A's
# epoch is later than before
gw_stop TERM
b_stop
a_config "		multicast sa group 233.252.0.7 ttl 1" "	passtime 2s"
b_config "		multicast sb group 233.252.0.7" "	passtime 2s"
gw_start || exit 1
b_start || exit 1
a_epoch2=$(ctl sync show | sed -n 's/.*epoch \([0-9]*\),.*/\1/p')
ev "[ '$a_epoch2' -gt '$a_epoch1' ]" "A's epoch after a restart ($a_epoch2) is later than before ($a_epoch1)"
out=$(chat 198.51.100.8 192.0.2.1 "HELO spammer.example.net" "MAIL FROM:<s@example.net>" \
	"RCPT TO:<trap@example.org>" DATA "+Subject: hi" "+" "+hello" ".")
wait_for 5 ctlb table spamd-greytrap test 198.51.100.8
ok $? "a trap hit on A reaches B over multicast group 233.252.0.7"
has "A's sync show: the group and what was sent" "^multicast sa group 233.252.0.7 ttl 1: sent [1-9]" "$(ctl sync show)"
has "B heard A's address on the group" "^heard 198.51.100.129: .*taken [1-9]" "$(ctlb sync show)"

# --- passtime reached on B after the retry on A: A's retry sends the tuple
# again (spamd's greyupdate), B sees it passed and its scan whitelists it
out=$(grey_dialogue 203.0.113.200 192.0.2.1 user@example.org)
has "A greylists 203.0.113.200" "^< 451 " "$out"
wait_for 5 sh -c "'$GW_BIN/greywallctl' -s '$B_SOCK' spamdb | grep -qF 'GREY|203.0.113.200|'"
ok $? "B has the tuple"
sleep 4  # spamd's rule, in whole seconds: first + passtime < now
grey_dialogue 203.0.113.200 192.0.2.1 user@example.org >/dev/null
wait_for 5 sh -c "'$GW_BIN/greywallctl' -s '$B_SOCK' spamdb | grep -qF 'WHITE|203.0.113.200|'"
ok $? "after A's retry past passtime, B's scan whitelists 203.0.113.200"
wait_for 5 ctlb table spamd-white test 203.0.113.200
ok $? "and B's <spamd-white> holds it: its next connection reaches B's MTA, not the tarpit"

tap_done
