#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Tables end to end: greywalld on a gateway namespace, real TCP connections
# from listed and unlisted sources (IPv4 and IPv6, hosts and prefixes), the
# greywallctl verbs and their exact output, bpftool on the pinned maps,
# dumps and table files.
. "$(dirname "$0")/../lib/gw.sh"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
gw_write_config '
table <bruteforce> persist counters file "'"$GW_RUN"'/bruteforce" timeout 28d
table <nets> persist
table <const_list> const { 203.0.113.200 }
block drop quick from <bruteforce>
block drop quick from <nets>
block drop quick from <const_list>'
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
check "greywalld -n accepts the config" gw "$GW_BIN/greywalld" -n -f "$GW_CONF"
gw_start
ok $? "greywalld starts and answers status"

check "unlisted IPv4 source connects before any entry" connect 192.0.2.66 192.0.2.1
check "const table entry from the config is enforced" blocked 203.0.113.200 192.0.2.1

check_output "add two addresses" "2/2 addresses added." \
	ctl table bruteforce add 198.51.100.7 2001:db8:bad::/48
check_output "adding one again adds nothing" "0/1 addresses added." \
	ctl table bruteforce add 198.51.100.7
check_output "invalid address is refused with its text" \
	'greywallctl: invalid address "198.51.100.300"' \
	ctl table bruteforce add 198.51.100.300
check "listed IPv4 host is dropped" blocked 198.51.100.7 192.0.2.1
check "unlisted IPv4 host still connects" connect 198.51.100.8 192.0.2.1
check "source inside listed IPv6 /48 is dropped" blocked 2001:db8:bad::7 2001:db8::1
check "unlisted IPv6 source connects" connect 2001:db8::10 2001:db8::1
check "unlisted IPv6 source in another /48 connects" connect 2001:db8:beef::9 2001:db8::1
check "the server saw the unlisted IPv4 client" grep -qx "tcp 198.51.100.8" "$GW_RUN/server.log"
check "the server never saw the listed IPv4 host" refute grep -qx "tcp 198.51.100.7" "$GW_RUN/server.log"
check "the server never saw the listed IPv6 prefix" refute grep -q "tcp 2001:db8:bad::7" "$GW_RUN/server.log"

check_output "prefix table add" "1/1 addresses added." ctl table nets add 203.0.113.0/24
check "source in listed IPv4 /24 is dropped" blocked 203.0.113.9 192.0.2.1
check_output "test: host inside the /24 matches" "1/1 addresses match." ctl table nets test 203.0.113.9
ctl table nets test 192.0.2.10 >/dev/null 2>&1
ok $([ $? -eq 2 ] && echo 0 || echo 1) "test: non-member exits 2"

# A load large enough for the bulk path: map pages faulted in beside the
# additions, the store committing beside the map writes.
awk 'BEGIN { for (i = 0; i < 70000; i++) printf "2001:db8:7::%x:%x\n", int(i / 65536), i % 65536 }' \
	>"$GW_RUN/bulk.txt"
check_output "bulk load" "70000/70000 addresses added." ctl table nets load -f "$GW_RUN/bulk.txt"
out=$(ctl tables)
echo "$out" | grep -Eq "^nets +70000 +1 " ; ok $? "tables counts the bulk load"
check_output "test: bulk-loaded hosts match" "2/2 addresses match." \
	ctl table nets test 2001:db8:7::176f 2001:db8:7::1:116f
out=$(ctl why 2001:db8:7::1:116f)
echo "$out" | grep -q "  evidence: import: $GW_RUN/bulk.txt (greywallctl load, uid 0)"
ok $? "why names the bulk load"
cl ip addr add 2001:db8:7::176f/128 dev veth1 nodad
cl ip addr add 2001:db8:7::2:1/128 dev veth1 nodad
gw ip -6 route add 2001:db8:7::/64 dev veth0
check "an unlisted source in 2001:db8:7::/64 connects" connect 2001:db8:7::2:1 2001:db8::1
check "a bulk-loaded source is dropped" blocked 2001:db8:7::176f 2001:db8::1
check_output "bulk load again adds nothing" "0/70000 addresses added." \
	ctl table nets load -f "$GW_RUN/bulk.txt"

check_output "show lists entries sorted" "   198.51.100.7
   2001:db8:bad::/48" ctl table bruteforce show
out=$(ctl table bruteforce show -v)
echo "$out" | grep -q "Cleared:" ; ok $? "show -v prints Cleared"
inblock=$(echo "$out" | awk '/^   198.51.100.7/{f=1} f && /In\/Block:/{print $4; exit}')
ok $([ "${inblock:-0}" -ge 1 ] && echo 0 || echo 1) "show -v counts In/Block packets of the blocked host (got ${inblock:-none})"
echo "$out" | grep -q "Out/Pass:" ; ok $? "show -v prints all four counter lines"

out=$(ctl why 198.51.100.7)
echo "$out" | grep -q "is in <bruteforce> as 198.51.100.7 since" ; ok $? "why names table and entry"
echo "$out" | grep -q "evidence: manual: greywallctl table bruteforce add (uid 0)" ; ok $? "why shows the evidence"
echo "$out" | grep -q " add     <bruteforce> 198.51.100.7: manual:" ; ok $? "why shows the history"
out=$(ctl why 2001:db8:bad::7)
echo "$out" | grep -q "is in <bruteforce> as 2001:db8:bad::/48" ; ok $? "why finds the covering IPv6 prefix"

out=$(ctl tables)
echo "$out" | grep -Eq "^bruteforce +1 +1 +p-C +28d +0$" ; ok $? "tables lists counts, flags and timeout"

check_output "delete" "1/1 addresses deleted." ctl table bruteforce delete 198.51.100.7
check "deleted host connects again" connect 198.51.100.7 192.0.2.1
check_output "zero" "1/1 addresses zeroed." ctl table bruteforce zero
printf '# list\n198.51.100.7\n198.51.100.0/25   # a net\n\n' >"$GW_RUN/load.txt"
check_output "load -f merges" "2/2 addresses added." ctl table bruteforce load -f "$GW_RUN/load.txt"
out=$(ctl why 198.51.100.7)
echo "$out" | grep -q "is in <bruteforce> as 198.51.100.7 since" ; ok $? "why finds the loaded address"
echo "$out" | grep -q "  evidence: import: $GW_RUN/load.txt (greywallctl load, uid 0)"
ok $? "why names the load as the evidence"
hist=$(echo "$out" | grep " <bruteforce> 198.51.100.7: " | awk '{ print $2 ":" $5 }' | tr '\n' ' ')
ok $([ "$hist" = "add:manual: delete:manual: add:import: " ] && echo 0 || echo 1) \
	"why's history: the first addition, its deletion, the load (got: $hist)"
printf '198.51.100.7\n2001:db8:bad::/48\n192.0.2.66\n' >"$GW_RUN/replace.txt"
check_output "replace -f adds and deletes" "1 addresses added.
1 addresses deleted." ctl table bruteforce replace -f "$GW_RUN/replace.txt"
check_output "replace again: no changes" "no changes." ctl table bruteforce replace -f "$GW_RUN/replace.txt"
check "replaced-in host is dropped" blocked 192.0.2.66 192.0.2.1
printf 'bad line\n' >"$GW_RUN/bad.txt"
check_output "load of a bad file names file and line" \
	"greywallctl: $GW_RUN/bad.txt:1: invalid address \"bad line\"" \
	ctl table bruteforce load -f "$GW_RUN/bad.txt"
check_output "const table refuses changes" "greywallctl: table <const_list> is const" \
	ctl table const_list add 192.0.2.99
check_output "unknown table" "greywallctl: table <nosuch> does not exist" ctl table nosuch show

check_output "dump writes the lists" "3 tables dumped to $GW_RUN/pub." ctl dump
check "bruteforce.txt has the header" grep -qx "# greywall table bruteforce" "$GW_RUN/pub/bruteforce.txt"
check "bruteforce.txt has the contact line" grep -qx "# contact: postmaster@example.org" "$GW_RUN/pub/bruteforce.txt"
check_output "bruteforce.txt lists the addresses" "192.0.2.66
198.51.100.7
2001:db8:bad::/48" grep -v '^#' "$GW_RUN/pub/bruteforce.txt"
check "bruteforce_full.txt carries evidence" grep -q "import: $GW_RUN/replace.txt" "$GW_RUN/pub/bruteforce_full.txt"
check_output "the table file was written back" "192.0.2.66
198.51.100.7
2001:db8:bad::/48" cat "$GW_RUN/bruteforce"

out=$(bpftool map dump pinned "$GW_BPFFS/greywall/gw_hosts" 2>&1)
echo "$out" | grep -q '"tables":' ; ok $? "bpftool map dump shows named fields (BTF)"
echo "$out" | grep -q '"counter":' ; ok $? "bpftool shows each entry's counter slot"
out=$(bpftool map dump pinned "$GW_BPFFS/greywall/gw_counters" 2>&1)
echo "$out" | grep -q '"packets":' ; ok $? "bpftool shows the per-CPU counters of the counted entries"

out=$(ctl status)
echo "$out" | grep -Eq "^interface veth0: xdp attached \((native|generic), (libxdp dispatcher|single program)\), tc egress attached$"
ok $? "status shows the XDP mode and TC"

check_output "flush" "3 addresses deleted." ctl table bruteforce flush
check "flushed host connects" connect 192.0.2.66 192.0.2.1

check_output "detach" "detached: programs removed, maps unpinned; greywalld exits." ctl detach
wait "$GW_PID" 2>/dev/null
GW_PID=
check "maps are unpinned after detach" test ! -e "$GW_BPFFS/greywall/gw_hosts"
check "const-table source connects after detach" connect 203.0.113.200 192.0.2.1
tap_done
