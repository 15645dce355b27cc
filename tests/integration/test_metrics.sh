#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The Prometheus endpoint: greywalld on a gateway namespace with
# `set metrics-listen` (IPv4 and IPv6), scraped with curl; promtool checks
# the exposition; the counters move when a listed source is dropped; the
# child is confined; a malformed, an oversized and a stalled request do
# not stop the next scrape; Debian's Prometheus server scrapes it.
. "$(dirname "$0")/../lib/gw.sh"

gw_require curl promtool
gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
gw_tarpit_user || { echo "not ok 1 - the greywall user"; exit 1; }
gw_write_config '
set metrics-listen 127.0.0.1 port 9108
table <bruteforce> persist counters
table <nets> persist
block drop quick from <bruteforce>
block drop quick from <nets>
pass in proto tcp to port 8080 keep state (max-src-conn 50)'
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
check "greywalld -n accepts metrics-listen" gw "$GW_BIN/greywalld" -n -f "$GW_CONF"
gw_start
ok $? "greywalld starts and answers status"

scrape() { gw curl -sS --max-time 5 "$@" http://127.0.0.1:9108/metrics; }
# value NAME_AND_LABELS TEXT: the value of the sample written exactly so
value() { printf '%s\n' "$2" | awk -v k="$1" '$1 == k { print $2; exit }'; }

wait_for 10 scrape -o /dev/null
ok $? "the endpoint answers"
out=$(scrape -D "$GW_RUN/head1")
has "status 200" "^HTTP/1.1 200" "$(cat "$GW_RUN/head1")"
has "content type of the exposition format 0.0.4" \
	"^Content-Type: text/plain; version=0.0.4; charset=utf-8" "$(cat "$GW_RUN/head1")"
printf '%s\n' "$out" >"$GW_RUN/m1.txt"
res=$(promtool check metrics <"$GW_RUN/m1.txt" 2>&1)
ok $? "promtool check metrics passes"
[ -n "$res" ] && printf '%s\n' "$res" | head -5 | sed 's/^/#   /'
has "HELP and TYPE of a family" "^# TYPE greywall_packets_total counter" "$out"
has "per-table entries" '^greywall_table_entries\{table="bruteforce",kind="host"\} 0$' "$out"
has "additions by reason" '^greywall_table_additions_total\{reason="manual"\} 0$' "$out"
has "per-rule overloads" '^greywall_rule_overloads_total\{rule="3"\} 0$' "$out"
has "flows by state" '^greywall_flows\{state="established"\} ' "$out"
has "ring buffer losses" '^greywall_ringbuf_events_lost_total 0$' "$out"

# The child: its own process, chrooted, user greywall, no capabilities, seccomp.
child=$(pgrep -f -- "--metrics-child $GW_RUN/" | head -1)
ok $([ -n "$child" ] && echo 0 || echo 1) "the metrics child runs"
st=$(cat /proc/"$child"/status 2>/dev/null)
has "the child runs as greywall" "^Uid:[[:space:]]+$(id -u greywall)[[:space:]]" "$st"
has "the child holds no capability" "^CapEff:[[:space:]]+0+$" "$st"
has "the child has no_new_privs" "^NoNewPrivs:[[:space:]]+1$" "$st"
has "the child is under seccomp" "^Seccomp:[[:space:]]+2$" "$st"
check_output "the child's root is the empty directory" "$GW_RUN/state/empty" readlink /proc/"$child"/root

# Traffic a listed source is dropped for moves the counters.
check_output "list a source" "1/1 addresses added." ctl table bruteforce add 198.51.100.7
check "the listed source is dropped" blocked 198.51.100.7 192.0.2.1
check "an unlisted source connects" connect 198.51.100.8 192.0.2.1
sleep 0.6 # scrapes closer than 500 ms share one render
out2=$(scrape)
printf '%s\n' "$out2" >"$GW_RUN/m2.txt"
drop1=$(value 'greywall_packets_verdict_total{verdict="drop"}' "$out")
drop2=$(value 'greywall_packets_verdict_total{verdict="drop"}' "$out2")
ok $([ "${drop2:-0}" -gt "${drop1:-0}" ] && echo 0 || echo 1) \
	"dropped packets went up (${drop1:-none} -> ${drop2:-none})"
m1=$(value 'greywall_rule_matches_total{rule="1"}' "$out")
m2=$(value 'greywall_rule_matches_total{rule="1"}' "$out2")
ok $([ "${m2:-0}" -gt "${m1:-0}" ] && echo 0 || echo 1) \
	"rule 1's matches went up (${m1:-none} -> ${m2:-none})"
has "the table has its entry" '^greywall_table_entries\{table="bruteforce",kind="host"\} 1$' "$out2"
has "the manual addition is counted" '^greywall_table_additions_total\{reason="manual"\} 1$' "$out2"
# The per-table sums come from the walk of every minute and of each dump.
check "a dump" ctl dump
sleep 0.6
out3=$(scrape)
printf '%s\n' "$out3" >"$GW_RUN/m3.txt"
printf '%s\n' "$out3" | promtool check metrics >/dev/null 2>&1
ok $? "promtool check metrics passes with the per-table sums"
pk=$(value 'greywall_table_packets{table="bruteforce",direction="in",action="block"}' "$out3")
ok $([ "${pk:-0}" -ge 1 ] && echo 0 || echo 1) \
	"the table's In/Block packets count the dropped source (${pk:-none})"
c1=$(value 'greywall_flows_created_total' "$out")
c2=$(value 'greywall_flows_created_total' "$out3")
ok $([ "${c2:-0}" -gt "${c1:-0}" ] && echo 0 || echo 1) \
	"tracked flows went up with the unlisted connection (${c1:-none} -> ${c2:-none})"

# Requests the endpoint must refuse, each answered and then a good scrape.
code=$(gw curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:9108/)
check_output "another path is 404" "404" echo "$code"
code=$(gw curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -d x \
	http://127.0.0.1:9108/metrics)
check_output "POST is 405" "405" echo "$code"
code=$(gw curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I http://127.0.0.1:9108/metrics)
check_output "HEAD is 200" "200" echo "$code"
bad=$(gw python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 9108), 5)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n bad folding\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())')
check_output "a malformed request is 400" "HTTP/1.1 400 Bad Request" echo "$bad"
big=$(gw python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 9108), 5)
try:
    s.sendall(b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 10000 + b"\r\n\r\n")
except OSError:
    pass
print(s.recv(100).split(b"\r\n")[0].decode())')
check_output "an oversized request is 431" "HTTP/1.1 431 Request Header Fields Too Large" echo "$big"
# A scraper that stalls mid-request (and more of them than half the slots)
# holds its slot until the 10 s deadline; others are served meanwhile.
gw python3 -c '
import socket, time
socks = []
for i in range(20):
    s = socket.create_connection(("127.0.0.1", 9108), 5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    socks.append(s)
time.sleep(15)' &
stall=$!
# The 20 are connected (and hold their slots) before the scrape.
stalling() { [ "$(gw ss -Htn state established "( sport = :9108 )" | wc -l)" -ge 20 ]; }
check "the 20 stalling connections are up" wait_for 5 stalling
check "a scrape is served while 20 connections stall" scrape -o /dev/null
closed=$(gw python3 -c '
import socket, time
s = socket.create_connection(("127.0.0.1", 9108), 5)
s.sendall(b"GET /metrics HTTP/1.1\r\n")
s.settimeout(20)
t = time.time()
print("closed" if s.recv(100) == b"" else "answered", int(time.time() - t + 0.5))')
has "a stalled request is closed after about 10 s" "^closed (9|10|11)$" "$closed"
kill "$stall" 2>/dev/null
wait "$stall" 2>/dev/null
out4=$(scrape)
printf '%s\n' "$out4" | promtool check metrics >/dev/null 2>&1
ok $? "a scrape after the bad requests passes promtool"

# A reload without metrics-listen stops the endpoint, one with it starts it again.
sed -i 's/^set metrics-listen .*/# no metrics/' "$GW_CONF"
check_output "a reload without metrics-listen" "configuration reloaded." ctl reload
check "the endpoint is gone" refute scrape -o /dev/null
check "and its child" refute pgrep -f -- "--metrics-child $GW_RUN/"
sed -i 's/^# no metrics$/set metrics-listen 127.0.0.1 port 9108/' "$GW_CONF"
check_output "a reload with it again" "configuration reloaded." ctl reload
wait_for 10 scrape -o /dev/null
ok $? "the endpoint answers again"

# IPv6, and a reload that moves the endpoint is refused.
sed -i 's/^set metrics-listen .*/set metrics-listen ::1 port 9109/' "$GW_CONF"
out=$(ctl reload 2>&1)
has "a reload cannot move the endpoint" "metrics-listen changes only with a restart" "$out"
gw_stop
gw_start
ok $? "greywalld restarts with an IPv6 endpoint"
wait_for 10 gw curl -sS -o /dev/null --max-time 5 'http://[::1]:9109/metrics'
ok $? "the IPv6 endpoint answers"

# The child killed: started again, and the next scrape is served.
child=$(pgrep -f -- "--metrics-child $GW_RUN/" | head -1)
kill -9 "$child"
wait_for 10 gw curl -sS -o /dev/null --max-time 5 'http://[::1]:9109/metrics'
ok $? "a killed child is started again and serves"
check "the restart is logged" grep -q "metrics child (pid $child) killed by signal 9" \
	"$GW_RUN/greywalld.log"

# Debian's Prometheus server scrapes it.
if command -v prometheus >/dev/null 2>&1; then
	mkdir -p "$GW_RUN/prom"
	cat >"$GW_RUN/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: greywall
    static_configs:
      - targets: ['[::1]:9109']
EOF
	gw prometheus --config.file="$GW_RUN/prom/prometheus.yml" \
		--storage.tsdb.path="$GW_RUN/prom/data" --web.listen-address=127.0.0.1:9190 \
		>"$GW_RUN/prom/log" 2>&1 &
	up() {
		gw curl -s --max-time 2 'http://127.0.0.1:9190/api/v1/query?query=greywall_build_info' |
			grep -q '"version":"0.1"'
	}
	wait_for 30 up
	ok $? "Prometheus scraped greywall_build_info"
	health=$(gw curl -s --max-time 2 'http://127.0.0.1:9190/api/v1/targets')
	has "the target is up" '"health":"up"' "$health"
else
	skip "prometheus is not installed" "Prometheus scrapes the endpoint"
fi

grep -q "SIGSYS" "$GW_RUN/greywalld.log"
ok $([ $? -ne 0 ] && echo 0 || echo 1) "no seccomp violation in the log"
tap_done
