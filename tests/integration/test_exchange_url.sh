#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Table exchange from a URL peer through the real greywalld: a partner's
# list served by python3's http.server on 192.0.2.1 in the gateway's
# namespace, fetched with curl (through a wrapper that notes who runs it)
# as `set fetch` says. Its entries are added with evidence `peer URL`; the
# server serving garbage, a huge file, a 404 or nothing at all (stopped)
# leaves the table as it was and the last good copy in force; the fetch
# runs as the user greywall. A URL peer with no fetch command is refused.
# With %t in the fetch command the fetches are conditional (curl -z).
. "$(dirname "$0")/../lib/gw.sh"

gw_require curl python3
gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
gw_tarpit_user || { echo "not ok 1 - the user greywall"; exit 1; }
WWW=$GW_RUN/www
URL=http://192.0.2.1:8000/bruteforce.txt
WHO=$GW_RUN/who
mkdir -p "$WWW" "$WHO"
chown greywall "$WHO"
# The fetch command: curl, after it notes who runs it, with which environment.
cat >"$GW_RUN/fetch" <<EOF
#!/bin/sh
{ id -un; echo "PATH=\$PATH HOME=\${HOME:-}"; } >"$WHO/last"
# A fetch that hangs a while: greywalld must go on meanwhile.
[ -e "$WHO/slow" ] && sleep 4
exec curl "\$@"
EOF
chmod 755 "$GW_RUN/fetch"

# No fetch command at all: refused when the config is checked.
gw_write_config "table <bruteforce> persist exchange { peer \"$URL\" }"
out=$(gw "$GW_BIN/greywalld" -n -f "$GW_CONF" 2>&1)
ok $([ $? -ne 0 ] && echo 0 || echo 1) "a URL peer without a fetch command is refused"
has "the message says what to set" "peer \"$URL\" is a URL and nothing fetches it: set fetch" "$out"

gw_write_config "
set fetch \"$GW_RUN/fetch -sS -f --max-time 20 -- %s\"
set fetch-max-bytes 1M
set fetch-timeout 30s
table <bruteforce> persist timeout 28d exchange { peer \"$URL\" every 1h }
block drop quick from <bruteforce>"
check "the config with set fetch is accepted" gw "$GW_BIN/greywalld" -n -f "$GW_CONF"
printf '# partner\n198.51.100.7\n2001:db8:bad::7\n' >"$WWW/bruteforce.txt"
(cd "$WWW" && exec ip netns exec "$GW_NS" /usr/bin/python3 -m http.server --bind 192.0.2.1 8000 \
	>"$GW_RUN/http.log" 2>&1) &
HTTP_PID=$!
wait_for 10 listens gw 8000
ok $? "the HTTP server listens"
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start
ok $? "greywalld starts and answers status"

wait_for 15 ctl table bruteforce test 198.51.100.7
ok $? "the URL peer's list is merged at start"
check "198.51.100.7 is dropped" blocked 198.51.100.7 192.0.2.1
check "2001:db8:bad::7 too" blocked 2001:db8:bad::7 2001:db8::1
check "203.0.113.9 connects (not listed)" connect 203.0.113.9 192.0.2.1
out=$(ctl why 198.51.100.7)
has "why: the evidence names the URL" "^  evidence: peer: $URL\$" "$out"
has "why: the peer that lists it" "^  peers: $URL\$" "$out"
has "show -v: the Peers line" "^	Peers:       $URL\$" "$(ctl table bruteforce show -v)"
check_output "the fetch ran as greywall with PATH alone" "greywall
PATH=/usr/bin:/bin HOME=" cat "$WHO/last"
check_output "the note was written by greywall" "greywall" stat -c %U "$WHO/last"
has "the server was asked" "GET /bruteforce.txt HTTP/1.1\" 200" "$(cat "$GW_RUN/http.log")"

# The list grows: the next exchange adds what is new.
printf '# partner\n198.51.100.7\n2001:db8:bad::7\n203.0.113.9\n' >"$WWW/bruteforce.txt"
check_output "the exchange fetches and merges" "peer $URL: lists 3, 1 added, 0 removed" \
	ctl table bruteforce exchange
check "203.0.113.9 is dropped after the exchange" blocked 203.0.113.9 192.0.2.1
check_output "the same list again changes nothing" "peer $URL: lists 3, 0 added, 0 removed" \
	ctl table bruteforce exchange

before=$(ctl table bruteforce show)
expect_refusal() { # what pattern
	local rc
	ctl table bruteforce exchange >"$GW_RUN/out" 2>&1
	rc=$?
	ok $([ $rc -eq 1 ] && echo 0 || echo 1) "$1: exit status 1"
	has "$1: refused, and why" "^peer $URL: refused, $2; lists 3, 0 added, 0 removed\$" \
		"$(cat "$GW_RUN/out")"
	check_output "$1: the table is as it was" "$before" ctl table bruteforce show
}
# Garbage: an error page served with status 200.
printf '198.51.100.8\n<html><body>502 Bad Gateway</body></html>\n' >"$WWW/bruteforce.txt"
expect_refusal "garbage" "$URL:2: invalid address \"<html>.*\""
# A huge file: more than fetch-max-bytes, the fetch killed.
seq 1 200000 | awk '{ printf "10.%d.%d.%d\n", $1 / 65536, ($1 / 256) % 256, $1 % 256 }' \
	>"$WWW/bruteforce.txt"
expect_refusal "huge file" "$URL: more than 1048576 bytes \\(fetch-max-bytes\\)"
# Nothing there: a 404, which curl -f turns into exit status 22.
rm -f "$WWW/bruteforce.txt"
expect_refusal "404" "$URL: exit status 22"
# An empty list: no list at all.
: >"$WWW/bruteforce.txt"
expect_refusal "empty" "$URL: empty file"
# Nothing at all: the server stopped, curl cannot connect (exit status 7).
kill "$HTTP_PID"
wait "$HTTP_PID" 2>/dev/null
wait_for 10 refute listens gw 8000
expect_refusal "server stopped" "$URL: exit status 7"
has "the refusal is logged" "exchange <bruteforce>: peer $URL refused, $URL: exit status 7; its last good copy stays" \
	"$(cat "$GW_RUN/greywalld.log")"
check "198.51.100.7 is still dropped" blocked 198.51.100.7 192.0.2.1
has "why: the last good copy still lists it" "^  peers: $URL\$" "$(ctl why 198.51.100.7)"
check "no spool file is left in the state directory" \
	test -z "$(find "$GW_RUN/state" -maxdepth 1 -newer "$GW_CONF" -type f ! -name 'greywall.db*')"

# The server back with a shorter list: what it dropped goes.
printf '# partner\n198.51.100.7\n' >"$WWW/bruteforce.txt"
(cd "$WWW" && exec ip netns exec "$GW_NS" /usr/bin/python3 -m http.server --bind 192.0.2.1 8000 \
	>>"$GW_RUN/http.log" 2>&1) &
wait_for 10 listens gw 8000
check_output "back: the dropped entries go" "peer $URL: lists 1, 0 added, 2 removed" \
	ctl table bruteforce exchange
check "203.0.113.9 connects again" connect 203.0.113.9 192.0.2.1
check "198.51.100.7 stays dropped" blocked 198.51.100.7 192.0.2.1

# A fetch that takes 4 s: `table T exchange` is answered when it is merged,
# and greywalld answers other commands meanwhile.
printf '# partner\n198.51.100.7\n203.0.113.77\n' >"$WWW/bruteforce.txt"
touch "$WHO/slow"
rm -f "$GW_RUN/slow.rc"
( ctl table bruteforce exchange >"$GW_RUN/slow.out" 2>&1; echo $? >"$GW_RUN/slow.rc" ) &
SLOW_PID=$!
sleep 1
t0=$(date +%s%N)
ctl status >/dev/null 2>&1
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $([ $rc -eq 0 ] && [ $ms -lt 500 ] && echo 0 || echo 1) \
	"status answers while the fetch hangs ($ms ms)"
ok $([ ! -e "$GW_RUN/slow.rc" ] && echo 0 || echo 1) "... and the exchange is still waiting"
check "a listed address is still tested meanwhile" ctl table bruteforce test 198.51.100.7
wait "$SLOW_PID"
ok $([ "$(cat "$GW_RUN/slow.rc")" = 0 ] && echo 0 || echo 1) \
	"the exchange ends with status 0 once the fetch is merged"
has "... and reports the merge" "peer $URL: lists 2, 1 added, 0 removed" "$(cat "$GW_RUN/slow.out")"
check "203.0.113.77 is listed" ctl table bruteforce test 203.0.113.77

# A client that goes away while it waits: greywalld drops it and goes on.
( ctl table bruteforce exchange >/dev/null 2>&1 ) &
GONE_PID=$!
sleep 1
kill "$GONE_PID"
wait "$GONE_PID" 2>/dev/null
check "status answers after a waiting client went away" ctl status
# Two waiting together, the second behind the first's read: both answered.
( ctl table bruteforce exchange >"$GW_RUN/a.out" 2>&1; echo $? >"$GW_RUN/a.rc" ) &
A_PID=$!
sleep 0.3
( ctl table bruteforce exchange >"$GW_RUN/b.out" 2>&1; echo $? >"$GW_RUN/b.rc" ) &
B_PID=$!
wait "$A_PID" "$B_PID"
ok $([ "$(cat "$GW_RUN/a.rc")$(cat "$GW_RUN/b.rc")" = 00 ] && echo 0 || echo 1) \
	"two waiting exchanges both end with status 0"
has "... the second reports its own read" "peer $URL: lists 2" "$(cat "$GW_RUN/b.out")"
# At most 64 wait at once: the next is refused at once, the 64 are answered.
touch "$WHO/slow"
many=
for i in $(seq 64); do
	( ctl table bruteforce exchange >/dev/null 2>&1; echo $? >"$GW_RUN/many.$i" ) &
	many="$many $!"
done
# Only once all 64 are connected and waiting: a 65th sent earlier would
# take a place of theirs and wait with them (and one of them be refused).
waiting() { [ "$(ss -xH 2>/dev/null | grep -c -- " $GW_SOCK ")" -ge 64 ]; }
wait_for 20 waiting
ok $? "64 exchanges wait (connected to the control socket)"
refused_busy() { ctl table bruteforce exchange 2>&1 | grep -q "64 exchanges are waiting already"; }
refused_busy
ok $? "a 65th waiting exchange is refused"
rm -f "$WHO/slow"
# shellcheck disable=SC2086 # the pids are words
wait $many
ok $([ "$(cat "$GW_RUN"/many.* | sort -u)" = 0 ] && echo 0 || echo 1) "the 64 waiting ones end with status 0"
check "status after the fetches ended" ctl status

# Conditional fetches (%t: curl -z): a list not modified since the last
# good copy is not transferred (304), a newer one is.
gw_write_config "
set fetch \"$GW_RUN/fetch -sS -f --max-time 20 -z %t -- %s\"
set fetch-max-bytes 1M
set fetch-timeout 30s
table <bruteforce> persist timeout 28d exchange { peer \"$URL\" every 1h }
block drop quick from <bruteforce>"
check "reload with a conditional fetch command" ctl reload
check "an exchange of a list not modified since" ctl table bruteforce exchange
has "the server answered 304 Not Modified" "GET /bruteforce.txt HTTP/1.1\" 304" "$(cat "$GW_RUN/http.log")"
check "203.0.113.77 is still listed (the last good copy stays)" ctl table bruteforce test 203.0.113.77
sleep 1.1
printf '# partner\n198.51.100.7\n203.0.113.77\n203.0.113.78\n' >"$WWW/bruteforce.txt"
check_output "a list modified since is fetched and merged" "peer $URL: lists 3, 1 added, 0 removed" \
	ctl table bruteforce exchange

gw_stop
tap_done
