#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# A full state directory (a 2 MiB tmpfs with a filler file): a table load,
# an overload event, a trap hit and greylist writes are enforced but not
# saved; each reports the store's file and its error (never the map's),
# status shows the daemon degraded, and once the filler goes the store
# catches up. After kill -9 and a restart every entry reported saved, and
# every one caught up, is still there.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwfull$$
. tests/lib/gw.sh

STATE=$GW_RUN/state
gw_setup_tarpit || exit 1
trap 'umount "$STATE" 2>/dev/null; gw_cleanup' EXIT
mount -t tmpfs -o size=2m tmpfs "$STATE" || { echo "not ok 1 - tmpfs for the state-dir"; exit 1; }
DB=$STATE/greywall.db

gw_spamd_config "	passtime 2s
	greyexp 1h" "
table <big> persist
table <sshflood> persist
block drop quick from <big>
block drop quick from <sshflood>
pass in on egress proto tcp to port 2222 flags S/SA keep state (max-src-conn 2, overload <sshflood> flush)"
gw "$GW_TOOLS/gwnet" serve 2222 >"$GW_RUN/s2222.log" 2>&1 &
gw_start || exit 1
wait_for 5 listens gw 2222

chat() { cl "$GW_TOOLS/gwnet" chat "$1" 192.0.2.1 8025 "${@:2}"; }
in_table() { ctl table "$1" test "$2" >/dev/null 2>&1; }
store_ok() { ctl status | grep -qx "store: $DB: ok"; }

check_output "an entry added while there is room is saved" "1/1 addresses added." \
	ctl table big add 192.0.2.200
check "status: the store is in step" store_ok

# No room left: every write that needs more of the disk fails from here on.
dd if=/dev/zero of="$STATE/filler" bs=4k >/dev/null 2>&1
ok $([ "$(df --output=avail "$STATE" | tail -1)" -eq 0 ] && echo 0 || echo 1) "the state-dir is full"

# --- a table load
awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "2001:db8:1::%x\n", i }' \
	>"$GW_RUN/load.txt"
ctl table big load -f "$GW_RUN/load.txt" >"$GW_RUN/out" 2>"$GW_RUN/err"
rc=$?
ok $([ $rc -eq 1 ] && echo 0 || echo 1) "load on a full disk: exit status 1 (got $rc)"
check_output "load: every address is enforced" "20000/20000 addresses added." cat "$GW_RUN/out"
err=$(cat "$GW_RUN/err")
has "load: the store's file and its error, with what is not saved" \
	"^greywallctl: $DB: No space left on device: 20000 entries enforced but not saved.*\(retried every second\)$" "$err"
ev "! grep -q 'map is full' '$GW_RUN/err'" "load: the store's error is not blamed on the map"
out=$(ctl status)
ok $? "status: exit status 0 while degraded"
has "status: degraded, naming the file, the error and the count" \
	"^store: degraded \($DB: No space left on device: 20000 entries enforced but not saved" "$out"
cl ip addr add 2001:db8:1::1a2b/128 dev veth1 nodad
gw ip -6 route add 2001:db8:1::/64 dev veth0
check "a loaded host is dropped though not saved" blocked 2001:db8:1::1a2b 2001:db8::1

# --- an overload event: a third concurrent connection to port 2222
ip netns exec "$GW_CLIENT" "$GW_TOOLS/gwnet" hold 198.51.100.8 192.0.2.1 2222 3 >/dev/null 2>&1 &
wait_for 5 in_table sshflood 198.51.100.8
ok $? "overload: 198.51.100.8 is in <sshflood>"
wait_for 3 eval "ctl status | grep -q '20001 entries enforced but not saved'"
ok $? "overload: status counts its entry among those not saved"
# The once-a-second retry logs it: wait for its tick.
wait_for 5 grep -q "store $DB: No space left on device: .* entries enforced but not saved" \
	"$GW_RUN/greywalld.log"
ok $? "overload: the store's error is logged by path"

# --- a trap hit
chat 198.51.100.7 "HELO spammer.example.net" "MAIL FROM:<s@example.net>" \
	"RCPT TO:<trap@example.org>" QUIT >/dev/null
wait_for 5 in_table spamd-greytrap 198.51.100.7
ok $? "trap: 198.51.100.7 is in <spamd-greytrap>"
check "trap: the TRAPPED entry's failure names the file and the retry" \
	grep -q "198.51.100.7: TRAPPED entry not written ($DB: No space left on device): kept and retried every second" \
	"$GW_RUN/greywalld.log"

# --- a greylist write
chat 192.0.2.10 "HELO client.example.net" "MAIL FROM:<a@example.net>" \
	"RCPT TO:<user@example.org>" QUIT >/dev/null
wait_for 5 eval "ctl status | grep -q 'greylist records waiting'"
ok $? "greylist: status counts the records waiting"
check "greylist: the failure names the file" \
	grep -q "greylist: $DB: No space left on device: records kept and retried every second" \
	"$GW_RUN/greywalld.log"

# Greylist scans run every second meanwhile: none may take the trap out.
sleep 2.5
check "trap: still in <spamd-greytrap> after scans while its TRAPPED entry waits" \
	in_table spamd-greytrap 198.51.100.7

# --- room again: the store catches up
rm -f "$STATE/filler"
wait_for 10 store_ok
ok $? "status: the store caught up once there is room"
check "the catch-up is logged" grep -q "store $DB: caught up, every entry saved" "$GW_RUN/greywalld.log"
hasf() { printf '%s\n' "$3" | grep -qF -- "$2"; ok $? "$1"; }
hasf "spamdb lists the TRAPPED entry" "TRAPPED|198.51.100.7|" "$(ctl spamdb)"
hasf "spamdb lists the greylisted tuple" "GREY|192.0.2.10|client.example.net|<a@example.net>|<user@example.org>|" "$(ctl spamdb)"

# --- kill -9 and a restart: what was saved or caught up is still there
gw_stop KILL
gw_start
ok $? "greywalld restarts"
has "<big>: the saved entry and the 20000 caught up" "^big +20001 +0 " "$(ctl tables)"
check "the entry saved before the disk filled" in_table big 192.0.2.200
check "a caught-up load entry" in_table big 2001:db8:1::1a2b
has "its evidence survived with it" "evidence: import: $GW_RUN/load.txt \(greywallctl load, uid 0\)" \
	"$(ctl why 2001:db8:1::1a2b)"
check "the overload entry" in_table sshflood 198.51.100.8
has "with its evidence" "evidence: overload: rule 3: max-src-conn 2 exceeded" "$(ctl why 198.51.100.8)"
check "the trap entry" in_table spamd-greytrap 198.51.100.7
hasf "spamdb still lists the TRAPPED entry" "TRAPPED|198.51.100.7|" "$(ctl spamdb)"
hasf "spamdb still lists the tuple" "GREY|192.0.2.10|client.example.net|<a@example.net>|<user@example.org>|" "$(ctl spamdb)"
check "status: in step after the restart" store_ok
check "the loaded host is still dropped" blocked 2001:db8:1::1a2b 2001:db8::1

tap_done
