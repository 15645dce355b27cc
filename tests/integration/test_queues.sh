#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Queues end to end: greywalld builds the HTB root, one class per queue and
# its FIFO on the interface over rtnetlink (tc only looks), replaces them
# on reload and removes them on detach, clsact untouched; traffic in a
# queue's class is shaped to its bandwidth while other traffic is not, and
# `greywallctl queue show -v` counts it, the bytes of the dropped packets
# too (a program on kfree_skb, loaded while queues exist, that counts this
# namespace's queues only).
. "$(dirname "$0")/../lib/gw.sh"

# bulk_server PORT PRIORITY: send zeros to every client until it goes away,
# from a socket with SO_PRIORITY (0: none).
bulk_server() {
	gw perl -MIO::Socket::INET -e '
		my ($port, $prio) = @ARGV;
		my $l = IO::Socket::INET->new(LocalPort => $port, Listen => 8, ReuseAddr => 1) or die;
		$SIG{PIPE} = "IGNORE";
		$SIG{CHLD} = "IGNORE";
		while (my $c = $l->accept) {
			next if fork;
			setsockopt($c, 1, 12, pack("L", $prio)) or die if $prio;	# SOL_SOCKET, SO_PRIORITY
			my $buf = "\0" x 16384;
			while (defined syswrite($c, $buf)) { }
			exit;
		}' "$1" "$2" &
}

# udp_burst gw|cl DST PORT N PRIORITY: N datagrams of 1000 bytes (1042 on the
# wire) at once, from the gateway or the client
udp_burst() {
	"$1" perl -MIO::Socket::INET -e '
		my ($dst, $port, $n, $prio) = @ARGV;
		my $s = IO::Socket::INET->new(PeerAddr => $dst, PeerPort => $port, Proto => "udp") or die;
		setsockopt($s, 1, 12, pack("L", $prio)) or die;
		# Room for all of them in the send buffer, or send() waits for the queue to drain.
		setsockopt($s, 1, 32, pack("L", 4 << 20)) or die;	# SOL_SOCKET, SO_SNDBUFFORCE
		# A full FIFO answers ENOBUFS: the datagram was dropped, the next one is tried.
		send($s, "\0" x 1000, 0) for 1 .. $n;' "$2" "$3" "$4" "$5"
}

# rate_from SRC DST PORT SECONDS [WARMUP [MSS]]: bits/s of payload the client
# reads from DST:PORT over SECONDS, after WARMUP seconds (default 1: the bucket
# and the FIFO fill). MSS: the segment size the client advertises (TCP_MAXSEG
# before connect), so that a tiny rate passes a segment in about a second.
rate_from() {
	cl perl -MIO::Socket::INET -MSocket -MTime::HiRes=time -e '
		my ($src, $dst, $port, $secs, $warm, $mss) = @ARGV;
		my $s = IO::Socket::INET->new(LocalAddr => $src, Proto => "tcp") or die "socket";
		setsockopt($s, 6, 2, pack("i", $mss)) or die "TCP_MAXSEG" if $mss;	# IPPROTO_TCP, TCP_MAXSEG
		$s->connect(pack_sockaddr_in($port, inet_aton($dst))) or die "connect";
		my ($n, $buf) = (0, "");
		my $start = time;
		while (time - $start < $warm) { sysread($s, $buf, 65536) or last; }
		$start = time;
		while (time - $start < $secs) { $n += sysread($s, $buf, 65536) || last; }
		printf "%d\n", $n * 8 / (time - $start);' "$1" "$2" "$3" "$4" "${5:-1}" "${6:-0}"
}

# within VALUE LO HI
within() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
gw_write_config '
table <popflooders> { 198.51.100.7 198.51.100.8 }
queue slow bandwidth 200K qlimit 30
queue other bandwidth 2M min 1M max 4M
queue flood bandwidth 100K
pass in on veth0 proto tcp to port 8080 keep state
pass in on veth0 proto tcp to port 9010 keep state
pass in on veth0 proto tcp from <popflooders> to port 9010 keep state set queue flood'
check "greywalld -n accepts queues" gw "$GW_BIN/greywalld" -n -f "$GW_CONF"
gw_start
ok $? "greywalld starts with three queues"
drops_link=$GW_BPFFS/greywall/link_queue_drops
link_id=$(bpftool -j link show pinned "$drops_link" 2>/dev/null | grep -o '"id":[0-9]*' | cut -d: -f2)
has "the drop counter is attached to kfree_skb, its link pinned in the bpf-dir" \
	'"type":"raw_tracepoint".*"tp_name":"kfree_skb"' "$(bpftool -j link show pinned "$drops_link")"
cat >"$GW_RUN/nostate.conf" <<CONF
queue q bandwidth 1K
pass in proto tcp to port 110 set queue q
CONF
check_output "set queue without keep state is refused: its replies have no flow" \
	"greywalld: $GW_RUN/nostate.conf:2: \"set queue\" needs \"keep state\"" \
	"$GW_BIN/greywalld" -n -f "$GW_RUN/nostate.conf"

classes=$(gw tc class show dev veth0)
has "class 6777:1 has the bandwidth as rate and ceiling" \
	'class htb 6777:1 root leaf [0-9a-f]+: prio 0 rate 200Kbit ceil 200Kbit' "$classes"
has "class 6777:2 has min as rate, max as ceiling" \
	'class htb 6777:2 root leaf [0-9a-f]+: prio 0 rate 1Mbit ceil 4Mbit' "$classes"
qdiscs=$(gw tc qdisc show dev veth0)
has "the root is greywall's htb, no default class" 'qdisc htb 6777: root .*default 0 ' "$qdiscs"
has "queue slow's FIFO holds qlimit packets" 'qdisc pfifo [0-9a-f]+: parent 6777:1 limit 30p' "$qdiscs"
has "a queue without qlimit gets 50" 'qdisc pfifo [0-9a-f]+: parent 6777:2 limit 50p' "$qdiscs"
has "clsact stays beside the root qdisc" 'qdisc clsact ffff: parent ffff:fff1' "$qdiscs"
check "the TC egress program is still attached" \
	eval 'gw tc filter show dev veth0 egress | grep -q greywall'

check_output "queue show prints the queues as written" \
	"queue slow bandwidth 200K qlimit 30
queue other bandwidth 2M min 1M max 4M qlimit 50
queue flood bandwidth 100K qlimit 50" ctl queue show
out=$(ctl queue show -v)
has_lines "queue show -v: zero counters before any traffic" \
	'queue slow bandwidth 200K qlimit 30\n  \[ pkts: +0  bytes: +0  dropped pkts: +0 bytes: +0 \]\n  \[ qlength: +0/ 30 \]\n' "$out"
ctl queue show -x >/dev/null 2>&1
ok $([ $? -eq 64 ] && echo 0 || echo 1) "queue show with a bad flag is a usage error"

# Replies whose skb->priority names class 6777:1 go through queue slow.
bulk_server 9001 $((0x67770001))
bulk_server 9002 0
wait_for 5 listens gw 9002
slow=$(rate_from 192.0.2.10 192.0.2.1 9001 3)
fast=$(rate_from 192.0.2.10 192.0.2.1 9002 1)
echo "# queued: $slow b/s, unqueued: $fast b/s"
check "traffic in queue slow is shaped to 200 kbit/s (within 20%)" within "$slow" 160000 240000
check "traffic outside the queues is not shaped (over 20 Mbit/s)" within "$fast" 20000000 1000000000000
sleep 1.2
out=$(ctl queue show -v)
echo "$out" | grep -A3 '^queue slow' | sed 's/^/# /'
# field N of the line after queue NAME's: 3 pkts, 5 bytes, 8 dropped pkts, 10 dropped bytes
field() { echo "$out" | awk -v q="queue $1 " -v f="$2" 'index($0, q) == 1 { getline; print $f; exit }'; }
pkts=$(field slow 3)
bytes=$(field slow 5)
check "queue show counts the queued packets" within "${pkts:-0}" 50 100000000
# ~4 s at 25000 B/s, what the FIFO held when the client left, HTB's burst
check "queue show counts the bytes at about the shaped rate" within "${bytes:-0}" 60000 300000
check "queue show: no drops while TCP backs off" [ "$(field slow 8)" = 0 ]
check "queue show: no dropped bytes either" [ "$(field slow 10)" = 0 ]
has "queue show -v measures the last interval" \
	'\[ measured: +[0-9.]+ packets/s, [0-9]+ b/s \]' "$out"
check "queue other saw none of it" [ "$(field other 3)" = 0 ]

# 200 datagrams at once into a 30-packet FIFO draining 25 per second.
udp_burst gw 192.0.2.10 9003 200 $((0x67770001))
out=$(ctl queue show -v)
dropped=$(field slow 8)
dropped_bytes=$(field slow 10)
echo "# dropped: $dropped packets, $dropped_bytes bytes"
check "the full FIFO drops: 150 and more of the 200 datagrams counted" \
	within "${dropped:-0}" 150 200
check "queue show counts each dropped datagram's 1042 bytes" \
	[ "${dropped_bytes:-0}" -eq $((${dropped:-0} * 1042)) ]
has "queue show: the FIFO is full" '\[ qlength: +(29|30)/ 30 \]' "$out"

# A queue 6777:1 of another greywall, in the client's namespace: its drops are its own.
cl tc qdisc add dev veth1 root handle 6777: htb
cl tc class add dev veth1 parent 6777: classid 6777:1 htb rate 8kbit
cl tc qdisc add dev veth1 parent 6777:1 pfifo limit 5
udp_burst cl 192.0.2.1 9004 50 $((0x67770001))
check "the other namespace's queue dropped" \
	eval 'cl tc -s class show dev veth1 | grep -Eq "dropped [1-9]"'
out=$(ctl queue show -v)
check "greywall does not count another namespace's drops" \
	[ "$(field slow 10)" = "$dropped_bytes" ]
cl tc qdisc del dev veth1 root

# `set queue`: the replies of the connections the rule admits, and only those.
bulk_server 9010 0
wait_for 5 listens gw 9010
rate_from 198.51.100.7 192.0.2.1 9010 4 >"$GW_RUN/flooder.rate" &
pid=$!
# Its source is tracked once the handshake completed (sources go with their flows).
wait_for 3 eval 'rules=$(ctl rules); printf "%s\n" "$rules" | grep -q "Sources: 1 "'
fast=$(rate_from 192.0.2.10 192.0.2.1 9010 2)
wait $pid
flooder=$(cat "$GW_RUN/flooder.rate")
echo "# <popflooders> client: $flooder b/s, other client at the same time: $fast b/s"
check "a client admitted by the set queue rule gets 100 kbit/s (within 20%)" \
	within "${flooder:-0}" 80000 120000
check "a client of the rule without queue gets full speed meanwhile" \
	within "${fast:-0}" 20000000 1000000000000
rate_from 198.51.100.7 192.0.2.1 9010 4 >"$GW_RUN/a.rate" &
pid=$!
rate_from 198.51.100.8 192.0.2.1 9010 4 >"$GW_RUN/b.rate" &
wait $pid $!
a=$(cat "$GW_RUN/a.rate")
b=$(cat "$GW_RUN/b.rate")
echo "# two <popflooders> clients: $a + $b b/s"
check "two throttled clients share the one queue: their sum is 100 kbit/s (within 20%)" \
	within $((${a:-0} + ${b:-0})) 80000 120000
check "both throttled clients got a share" eval '[ "${a:-0}" -gt 10000 ] && [ "${b:-0}" -gt 10000 ]'
out=$(ctl queue show -v)
check "queue show counts the flood queue's packets" within "$(field flood 3)" 50 100000000
check "queue other still saw nothing" [ "$(field other 3)" = 0 ]
has_lines "rules: the queued rule tracks its flows: the client's connection while it downloads" \
	'@3 pass in on veth0 proto tcp from <popflooders> to port 9010 keep state set queue flood\n.*\n  \[ Overloads: 0 +Sources: 1 +Established: 1 ' "$rules"

# Reload: queues replaced by the new config's, and gone with none.
gw_write_config '
queue slow bandwidth 100K
pass in on veth0 proto tcp to port 8080 keep state'
check "reload with one queue" ctl reload
classes=$(gw tc class show dev veth0)
has "the reloaded queue has the new bandwidth" 'class htb 6777:1 root .* rate 100Kbit ceil 100Kbit' "$classes"
check "the removed queue's class is gone" refute eval 'gw tc class show dev veth0 | grep -q 6777:2'
gw_write_config '
pass in on veth0 proto tcp to port 8080 keep state'
check "reload without queues" ctl reload
check "no queues: greywall's root qdisc is gone" refute eval 'gw tc qdisc show dev veth0 | grep -q "htb 6777:"'
check "no queues: the drop counter's pin is gone" refute test -e "$drops_link"
check "no queues: the drop counter is detached" refute bpftool link show id "${link_id:-0}"
check_output "queue show without queues prints nothing" "" ctl queue show -v

# The field's queue: the <popflooders> share 1 kbit/s.
gw_write_config '
table <popflooders> { 198.51.100.7 198.51.100.8 }
queue spamd bandwidth 1K min 0K max 1K qlimit 300
pass in on veth0 proto tcp to port 9020 keep state
pass in quick on veth0 proto tcp from <popflooders> to port 9020 flags S/SA keep state set queue spamd'
check "reload with the field's queue" ctl reload
check_output "queue show prints the field's queue" \
	"queue spamd bandwidth 1K max 1K qlimit 300" ctl queue show
has "the field's queue lets a second of its rate through at once (+10 ms), not an MTU" \
	'class htb 6777:1 root .* rate 1Kbit ceil 1Kbit .*burst 126b.* cburst 126b' \
	"$(gw tc -d class show dev veth0)"
bulk_server 9020 0
wait_for 5 listens gw 9020
# The smallest MSS (88: 76 bytes of data in a 142-byte frame) passes a
# segment every 1.1 s at 1 kbit/s. Over a veth's microsecond RTT TCP would
# send GSO packets of up to 64 KB, which HTB charges whole (1.3 KB: 10 s of
# the rate at once): one segment a packet, as over a real link's RTT. On the
# wire is what leaves the queue: its bytes over 30 s, after 5 s for the
# handshake and slow start.
gw ip link set dev veth0 gso_max_segs 1
rate_from 198.51.100.7 192.0.2.1 9020 31 4 88 >"$GW_RUN/spamd.rate" &
pid=$!
sleep 5
out=$(ctl queue show -v)
bytes0=$(field spamd 5)
t0=$(date +%s.%N)
fast=$(rate_from 192.0.2.10 192.0.2.1 9020 2)
sleep "$(awk -v t0="$t0" -v now="$(date +%s.%N)" 'BEGIN { print 30 - (now - t0) }')"
out=$(ctl queue show -v)
wire=$(awk -v b0="${bytes0:-0}" -v b1="$(field spamd 5)" -v t0="$t0" -v now="$(date +%s.%N)" \
	'BEGIN { printf "%d", (b1 - b0) * 8 / (now - t0) }')
wait $pid
payload=$(cat "$GW_RUN/spamd.rate")
echo "# <popflooders> client: $wire b/s on the wire ($payload b/s of data), other client: $fast b/s"
echo "$out" | grep -A2 '^queue spamd' | sed 's/^/# /'
check "the <popflooders> client's replies leave at 1 kbit/s (within 20%) over 30 s" \
	within "${wire:-0}" 800 1200
check "the <popflooders> client got its data through the queue (76 of ~142 bytes a frame)" \
	within "${payload:-0}" 300 "${wire:-0}"
check "an unlisted client gets full speed meanwhile (over 20 Mbit/s)" \
	within "${fast:-0}" 20000000 1000000000000

# 400 datagrams at once into the 300-packet FIFO, which still holds the
# segments the client left behind: what does not fit is dropped.
out=$(ctl queue show -v)
held=$(echo "$out" | awk 'index($0, "queue spamd ") == 1 { getline; getline; print $3 + 0; exit }')
udp_burst gw 192.0.2.10 9003 400 $((0x67770001))
out=$(ctl queue show -v)
echo "$out" | grep -A2 '^queue spamd' | sed 's/^/# /'
dropped=$(field spamd 8)
dropped_bytes=$(field spamd 10)
check "over qlimit the field's queue drops what does not fit: 100 + the $held it held (within 3)" \
	within "${dropped:-0}" $((97 + held)) $((103 + held))
check "queue show counts the dropped bytes: 54 to 1514 a packet" \
	within "${dropped_bytes:-0}" $((${dropped:-1} * 54)) $((${dropped:-0} * 1514))
has "queue show: the field's FIFO is full" '\[ qlength: 300/300 \]' "$out"
link_id=$(bpftool -j link show pinned "$drops_link" 2>/dev/null | grep -o '"id":[0-9]*' | cut -d: -f2)
gw_stop TERM
check "the queues stay when greywalld exits" eval 'gw tc qdisc show dev veth0 | grep -q "htb 6777: root"'
check "so does the drop counter" bpftool link show id "${link_id:-0}"
gw_start
ok $? "greywalld restarts over its own queues"
check "the restart rebuilt the queues with a new drop counter" \
	refute bpftool link show id "${link_id:-0}"
link_id=$(bpftool -j link show pinned "$drops_link" 2>/dev/null | grep -o '"id":[0-9]*' | cut -d: -f2)
check "detach" ctl detach
wait_for 5 refute kill -0 "$GW_PID"
check "detach removes the root qdisc" refute eval 'gw tc qdisc show dev veth0 | grep -q "htb 6777:"'
check "detach removes clsact's program too" refute eval 'gw tc filter show dev veth0 egress | grep -q greywall'
check "detach removes the drop counter" refute bpftool link show id "${link_id:-0}"

tap_done
