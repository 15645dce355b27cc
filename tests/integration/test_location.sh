#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Countries and networks in the dumps: greywalld on a gateway namespace with
# `set location-db` pointing at a small database libloc's writer made
# (test_location --write-db: 192.0.2.0/25 DE AS64500 "Example Net A",
# 2001:db8:1::/48 SE AS64501), and `set dump-gzip yes`. Entries are added,
# `greywallctl dump` writes the files, which are checked; the gzip copies
# inflate to the files; `why` shows the place; `table add --network`
# adds the /25 with its evidence and --for takes it out again, across a
# restart too. Then Debian's real location.db, which places none of the
# documentation addresses (`--`), and a truncated one, refused once in the
# log while the plain dumps go on.
. "$(dirname "$0")/../lib/gw.sh"

gw_require gzip cmp
gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
DB=$GW_RUN/test-location.db
PUB=$GW_RUN/pub
"$GW_TOP/.output/tests/test_location" --write-db "$DB"
ok $? "libloc's writer makes the test database"

LOG=$GW_RUN/auth.log
: >"$LOG"
config() {
	gw_write_config "
set location-db \"$1\"
set dump-gzip yes
table <groper> persist
block drop quick from <groper>
watch ssh {
	file \"$LOG\"
	pattern sshd
	on-failures 1000 within 1h <groper>
}"
}
n=0
line() { # user source
	n=$((n + 1))
	printf '%s gw sshd[%d]: Invalid user %s from %s port %d\n' "$(date '+%b %e %T')" \
		$((1000 + n)) "$1" "$2" $((40000 + n)) >>"$LOG"
}
lines_read() { [ "$(ctl watch show | awk '$1 == "lines" { print $2; exit }')" = "$1" ]; }
config "$DB"
check "greywalld -n accepts location-db and dump-gzip" gw "$GW_BIN/greywalld" -n -f "$GW_CONF"
gw_start
ok $? "greywalld starts and answers status"

check_output "add hosts" "4/4 addresses added." \
	ctl table groper add 192.0.2.7 192.0.2.9 198.51.100.7 2001:db8:1::5
out=$(ctl table groper add --network 192.0.2.66 --for 4s 2>&1)
ok $? "table add --network --for"
has "the network is added" "^1/1 addresses added\.$" "$out"
has "and says when it leaves" "^192\.0\.2\.0/25 leaves <groper> at 20[0-9-]+T[0-9:]+Z\.$" "$out"
out=$(ctl why 192.0.2.0/25)
has "its evidence names the address and the AS" \
	"evidence: manual: greywallctl table groper add --network 192\.0\.2\.66 \(uid 0\): 192\.0\.2\.0/25, AS64500 Example Net A, DE, until " \
	"$out"
out=$(ctl table groper add --network 198.51.100.7 2>&1)
ok $([ $? -eq 1 ] && echo 0 || echo 1) "--network on an address the database does not place: exit 1"
has "... saying so" "^greywallctl: the location database places 198\.51\.100\.7 in no network$" "$out"
out=$(ctl table groper add --network 192.0.2.66 --for 0 2>&1)
ok $([ $? -eq 1 ] && echo 0 || echo 1) "--for 0 is refused"

out=$(ctl why 192.0.2.7)
has "why shows country and AS" "^location: DE AS64500 Example Net A, network 192\.0\.2\.0/25$" "$out"
out=$(ctl why 2001:db8:1::5)
has "why, IPv6" "^location: SE AS64501 Example Net B, network 2001:db8:1::/48$" "$out"
out=$(ctl why 198.51.100.7)
has "why on an address placed nowhere: --" "^location: -- \(not placed by the location database\)$" "$out"

line root 192.0.2.7
line root 192.0.2.7
line '=HYPERLINK("http://x")' 198.51.100.7
line admin 2001:db8:1::5
wait_for 10 lines_read 4
ok $? "the watcher read its lines"
check "greywallctl dump" ctl dump
check_output "ssh_attempts.csv: pairs, counts, places, the formula guarded" "$(printf '%s\r\n' \
	"address,user,attempts,first_seen,last_seen,network,asn,country" \
	"192.0.2.7,\"root\",2,T,T,192.0.2.0/25,AS64500,DE" \
	"198.51.100.7,\"'=HYPERLINK(\"\"http://x\"\")\",1,T,T,--,--,--" \
	"2001:db8:1::5,\"admin\",1,T,T,2001:db8:1::/48,AS64501,SE")" \
	sh -c 'sed -E "s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/T/g" "$1"' _ "$PUB/ssh_attempts.csv"
cc=$(grep -v '^#' "$PUB/groper_cc.txt")
check_output "groper_cc.txt" "$(printf '%s\n' \
	"192.0.2.0/25	DE	AS64500	Example Net A" \
	"192.0.2.7	DE	AS64500	Example Net A" \
	"192.0.2.9	DE	AS64500	Example Net A" \
	"198.51.100.7	--	--	--" \
	"2001:db8:1::5	SE	AS64501	Example Net B")" echo "$cc"
has "groper_cc.txt has the dumps' header" "^# 5 entries$" "$(cat "$PUB/groper_cc.txt")"
check_output "groper_by_country.txt" "$(printf '%s\n' \
	"# columns: country count share" "DE	3	60.00%" "--	1	20.00%" "SE	1	20.00%")" \
	grep -v '^# [^c]\|^# contact' "$PUB/groper_by_country.txt"
check_output "groper_by_network.txt" "$(printf '%s\n' \
	"# columns: network asn country count as_name" \
	"192.0.2.0/25	AS64500	DE	3	Example Net A" \
	"2001:db8:1::/48	AS64501	SE	1	Example Net B" \
	"--	--	--	1	--")" grep -v '^# [^c]\|^# contact' "$PUB/groper_by_network.txt"
# The report's top places, from the same lookups (the page shows them in a section of their own).
check "report.json: the top countries and networks of all tables" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = {r["country"]: r["count"] for r in d["countries"]}
n = d["networks"][0]
assert c["DE"] >= 3 and c["SE"] >= 1, c
assert n == {"network": "192.0.2.0/25", "as": "AS64500 Example Net A", "country": "DE", "count": n["count"]} and n["count"] >= 3, n
' "$PUB/report.json"
n=0 bad=0
for f in "$PUB"/*.txt "$PUB"/*.csv; do
	# The report's charting library's licence is no dump.
	[ "${f##*/}" = uPlot.LICENSE.txt ] && continue
	n=$((n + 1))
	gzip -dc "$f.gz" | cmp -s - "$f" || bad=$((bad + 1))
done
ok $([ $n -eq 6 ] && [ $bad -eq 0 ] && echo 0 || echo 1) "every dump file's .gz copy inflates to it ($n files, $bad differ)"
check_output "the copies are 0644 as the dumps" "644" stat -c %a "$PUB/groper_cc.txt.gz"

# --for: the network leaves, with an expire in its history.
wait_for 10 refute ctl table groper test 192.0.2.0/25
ok $? "the --for network left the table"
has "an expire in its history" "expire +<groper> 192\.0\.2\.0/25" "$(ctl why 192.0.2.0/25)"
check "a host inside stays" ctl table groper test 192.0.2.7

# A deadline survives a restart.
ctl table groper add --network 192.0.2.66 --for 1h >/dev/null 2>&1
has "the deadline is kept in state-dir" "^[0-9]+	groper	192\.0\.2\.0/25$" \
	"$(cat "$GW_RUN/state/network-deadlines")"
gw_stop
gw_start
ok $? "greywalld restarts"
check "the network is still listed" ctl table groper test 192.0.2.0/25
has "its deadline is still kept" "^[0-9]+	groper	192\.0\.2\.0/25$" \
	"$(cat "$GW_RUN/state/network-deadlines")"

# Debian's database: the documentation addresses are placed nowhere.
REAL=/usr/share/libloc-location/location.db
if [ -r "$REAL" ]; then
	config "$REAL"
	check "reload with Debian's location.db" ctl reload
	check "dump" ctl dump
	cc=$(grep -v '^#' "$PUB/groper_cc.txt")
	check_output "no documentation address has a place in it" "" \
		sh -c "printf '%s\n' \"\$1\" | awk -F'\t' '\$2 != \"--\" || \$3 != \"--\"'" _ "$cc"
	has "2001:db8:1::5 among them (Debian's 2001:c00::/23 spans 2001:db8::/32)" \
		"^2001:db8:1::5	--	--	--$" "$cc"
	has "why says so" "^location: -- \(not placed by the location database\)$" \
		"$(ctl why 192.0.2.7)"
else
	skip "libloc-database is not installed" "Debian's location.db on the documentation addresses"
fi

# A truncated database: refused, said once, the plain dumps go on.
head -c $(($(stat -c %s "$DB") / 2)) "$DB" >"$GW_RUN/cut.db"
config "$GW_RUN/cut.db"
out=$("$GW_BIN/greywalld" -n -f "$GW_CONF" 2>&1)
ok $? "greywalld -n: a truncated location-db is not an error"
has "... but it warns" "^greywalld: warning: location-db $GW_RUN/cut\.db: Bad message, truncated" "$out"
before=$(stat -c %Y.%s "$PUB/groper.txt")
cc_before=$(md5sum <"$PUB/groper_cc.txt")
sleep 1.1 # the dump's "generated" line moves by the second
check "reload with a truncated database" ctl reload
check "dump" ctl dump
check "dump again" ctl dump
check_output "the log says why, once" "1" \
	grep -c "location-db $GW_RUN/cut.db: Bad message, truncated" "$GW_RUN/greywalld.log"
ok $([ "$(stat -c %Y.%s "$PUB/groper.txt")" != "$before" ] && echo 0 || echo 1) \
	"groper.txt is written anew"
check_output "groper_cc.txt is left as it was" "$cc_before" sh -c 'md5sum <"$1"' _ "$PUB/groper_cc.txt"
has "why says the database could not be read" \
	"^location: the location database could not be read \(see the log\)$" "$(ctl why 192.0.2.7)"
out=$(ctl table groper add --network 192.0.2.7 2>&1)
ok $([ $? -eq 1 ] && echo 0 || echo 1) "--network without a readable database: exit 1"
has "... saying so" "^greywallctl: the location database could not be read \(see the log\)$" "$out"

tap_done
