#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# report.html in a real browser: a gateway that has seen traffic (entries
# added by hand, loaded from a file, one deleted, and a source that an
# overload rule catches with real TCP connections) dumps; report.json holds
# what happened, and with a spamd block, a trap hit and a greylist pass;
# Debian's Chromium, headless, loads report.html from the
# dump directory (file://) and the test reads the DOM it rendered: the
# page's script counts the charts it drew and every error (window.onerror,
# a file that does not load) into <body data-charts data-errors>. A
# screenshot goes to .output/test-logs/report.png. The same check on a copy
# without the charting library, and on one whose data is broken, must see
# the errors: the check itself can fail.
. "$(dirname "$0")/../lib/gw.sh"

gw_require chromium python3

gw_setup_tarpit || { echo "not ok 1 - network setup"; exit 1; }
cl ip addr add 198.51.100.20/32 dev veth1
gw_spamd_config '	passtime 2s' '
table <bruteforce> persist counters
table <popflooders> persist counters
block drop quick from <bruteforce>
block drop quick from <popflooders>
pass in on egress proto tcp to port 8080 flags S/SA keep state \
        (max-src-conn-rate 3/10, overload <popflooders>)'
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start
ok $? "greywalld starts"
wait_for 5 listens gw 8080
wait_for 5 listens gw 8025

chat() { cl "$GW_TOOLS/gwnet" chat "$1" 192.0.2.1 8025 "HELO client.example.net" \
	"MAIL FROM:<a@example.net>" "RCPT TO:<$2>" DATA >/dev/null 2>&1; }
# A greylist pass: a tuple, retries after passtime until the scan whitelists it.
chat 192.0.2.10 user@example.org
sleep 2.5
passed=1
for i in 1 2 3 4 5 6 7 8; do
	chat 192.0.2.10 user@example.org
	wait_for 1 ctl table spamd-white test 192.0.2.10 && { passed=0; break; }
done
ok $passed "192.0.2.10 passed the greylist"
# A trap hit.
chat 198.51.100.20 trap@example.org
wait_for 5 ctl table spamd-greytrap test 198.51.100.20
ok $? "198.51.100.20 hit the spamtrap"

check_output "two addresses added by hand" "2/2 addresses added." \
	ctl table bruteforce add 198.51.100.7 2001:db8:bad::/48
printf '203.0.113.0/25\n203.0.113.200\n2001:db8:7::1\n' >"$GW_RUN/load.txt"
check_output "three loaded from a file" "3/3 addresses added." \
	ctl table bruteforce load -f "$GW_RUN/load.txt"
check_output "one deleted (a history row)" "1/1 addresses deleted." \
	ctl table bruteforce delete 203.0.113.200
# Connections in a burst: the 4th within 10 s trips the overload rule.
for _ in 1 2 3 4 5 6; do
	connect 192.0.2.66 192.0.2.1 >/dev/null 2>&1
done
wait_for 3 ctl table popflooders test 192.0.2.66
ok $? "the overload rule put 192.0.2.66 in <popflooders>"

PUB=$GW_RUN/pub
# A connection the tarpit holds (not through cl: $! must be the holder): the
# hour's most held, noted each second, reaches the report's tarpit chart.
ip netns exec "$GW_CLIENT" timeout 20 bash -c 'exec 3<>/dev/tcp/192.0.2.1/8025 && sleep 15 3>&-' \
	>/dev/null 2>&1 &
holder=$!
tarpit_held() { ctl status | grep -q "^tarpit: 1 connections held"; }
check "status: the tarpit holds the connection" wait_for 5 tarpit_held
tarpit_charted() {
	ctl dump >/dev/null && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if max(d["tarpit"]["series"]) >= 1 else 1)' "$PUB/report.json"
}
check "report.json: this hour's most held connections, 1" wait_for 5 tarpit_charted
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
has "dump" "^[0-9]+ tables dumped to $PUB\.$" "$(ctl dump)"
for f in report.html report.json uPlot.iife.min.js uPlot.min.css uPlot.LICENSE.txt; do
	check "the dump wrote $f" test -s "$PUB/$f"
done
check "the library is uPlot's" grep -q 'uPlot' "$PUB/uPlot.iife.min.js"

# What report.json says, as python3 reads it.
facts=$(python3 - "$PUB/report.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in d["entries"]["tables"]}
print("tables", " ".join(sorted(t)))
for name in sorted(t):
    print("now", name, t[name]["now"], t[name]["series"][-1], len(t[name]["series"]))
for r in d["additions"]["reasons"]:
    print("added", r["reason"], sum(r["series"]), len(r["series"]))
print("missing", " ".join(d["missing"]))
for k in ("traps", "greylist_passes", "tarpit"):
    print(k, (max if k == "tarpit" else sum)(d[k]["series"]), len(d[k]["series"]))
print("countries", "countries" in d)
PY
)
ok $? "report.json parses"
printf '%s\n' "$facts" | sed 's/^/# /'
has "report.json: the config's tables and spamd's" \
	"^tables bruteforce nospamd popflooders spamd-greytrap spamd-white$" "$facts"
has "report.json: <bruteforce> has 4 entries now, 720 hourly buckets" \
	"^now bruteforce 4 4 720$" "$facts"
has "report.json: <popflooders> has 1" "^now popflooders 1 1 720$" "$facts"
has "report.json: 2 manual additions over 30 days" "^added manual 2 30$" "$facts"
has "report.json: 3 imported (the deleted one too, from the history)" "^added import 3 30$" \
	"$facts"
has "report.json: 1 overload addition" "^added overload 1 30$" "$facts"
has "report.json: 1 greytrap addition" "^added greytrap 1 30$" "$facts"
has "report.json: 1 trap hit" "^traps 1 30$" "$facts"
has "report.json: 1 greylist pass" "^greylist_passes 1 30$" "$facts"
has "report.json: nothing missing (a greylist, a tarpit)" "^missing $" "$facts"
has "report.json: the tarpit's 720 hourly buckets, 1 held at most" "^tarpit 1 720$" "$facts"
has "report.json: no countries without a location database" "^countries False$" "$facts"
# The page carries the same data (file:// pages cannot fetch report.json).
embedded=$(python3 - "$PUB/report.html" "$PUB/report.json" <<'PY'
import json, re, sys
page = open(sys.argv[1]).read()
m = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
print(m is not None and json.loads(m.group(1)) == json.load(open(sys.argv[2])))
PY
)
check_output "report.html embeds report.json" "True" echo "$embedded"

# browse DIR NAME: Chromium's DOM of DIR/report.html after its scripts ran
LOGS=$GW_TOP/.output/test-logs
mkdir -p "$LOGS"
browse() {
	timeout 60 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$GW_RUN/chromium-$2" --virtual-time-budget=5000 \
		"${@:3}" "file://$1/report.html" 2>>"$GW_RUN/chromium.log"
}
# body_attr NAME DOM: the value of <body data-NAME="...">
body_attr() { printf '%s\n' "$2" | grep -o "<body[^>]*>" | grep -o "data-$1=\"[^\"]*\"" | cut -d'"' -f2; }

dom=$(browse "$PUB" ok --dump-dom)
ok $? "chromium loads report.html from file://"
check_output "the page's script ran to its end" "1" body_attr ready "$dom"
check_output "no error in the page" "0" body_attr errors "$dom"
check_output "four charts drawn (entries, additions, traps and passes, tarpit)" "4" body_attr charts "$dom"
n=$(printf '%s' "$dom" | grep -o "<canvas" | wc -l)
ok $([ "$n" -ge 3 ] && echo 0 || echo 1) "uPlot's canvases are in the page (got $n)"
has "the tables' names are in the legend" "bruteforce" "$dom"
has "the reasons are named" "overload rule" "$dom"
has "the greylist's series are named" "greylist passes" "$dom"
has "the tarpit's chart is titled" "Tarpit connections held, the most in each hour" "$dom"
rm -f "$LOGS/report.png"
browse "$PUB" shot --screenshot="$LOGS/report.png" --window-size=1200,1600 >/dev/null
check "a screenshot in $LOGS/report.png" test -s "$LOGS/report.png"

# The same check must fail without the library, and with broken data.
cp -r "$PUB" "$GW_RUN/nolib" && rm "$GW_RUN/nolib/uPlot.iife.min.js"
dom=$(browse "$GW_RUN/nolib" nolib --dump-dom)
errors=$(body_attr errors "$dom")
ok $([ "${errors:-0}" -ge 1 ] && echo 0 || echo 1) \
	"without uPlot.iife.min.js the page counts errors (got ${errors:-none})"
check_output "and draws no chart" "0" body_attr charts "$dom"
has "it says the library is missing" "charting library .* is not loaded" "$dom"
cp -r "$PUB" "$GW_RUN/broken"
sed -i 's/"version":1,/"version":1,,/' "$GW_RUN/broken/report.html"
dom=$(browse "$GW_RUN/broken" broken --dump-dom)
errors=$(body_attr errors "$dom")
ok $([ "${errors:-0}" -ge 1 ] && echo 0 || echo 1) \
	"with broken data the page counts errors (got ${errors:-none})"
check_output "and draws no chart" "0" body_attr charts "$dom"

# The section a location database fills (report.json's "countries" and
# "networks", which this greywalld does not write): shown only with them,
# and what they hold is text, never markup. The data is put into a copy.
has "no countries section without the data" '<section id="countries" hidden=""' "$(browse "$PUB" ok --dump-dom)"
cp -r "$PUB" "$GW_RUN/cc"
python3 - "$GW_RUN/cc/report.html" <<'PY'
import json, re, sys
page = open(sys.argv[1]).read()
m = re.search(r'(<script type="application/json" id="data">)(.*?)(</script>)', page, re.S)
d = json.loads(m.group(2))
d["countries"] = [{"country": "<b>XX</b>", "count": 3}]
d["networks"] = [{"network": "192.0.2.0/24", "as": "AS64496 <img src=x onerror=alert(1)>",
                  "country": "XX", "count": 3}]
data = json.dumps(d).replace("<", "\\u003c").replace(">", "\\u003e")
open(sys.argv[1], "w").write(page[:m.start(2)] + data + page[m.end(2):])
PY
dom=$(browse "$GW_RUN/cc" cc --dump-dom)
check_output "with countries: no error" "0" body_attr errors "$dom"
has "the section is shown" '<section id="countries">' "$dom"
has "a country's name is text" '<td>&lt;b&gt;XX&lt;/b&gt;</td>' "$dom"
has "a network's AS is text" '<td>AS64496 &lt;img src=x onerror=alert\(1\)&gt;</td>' "$dom"
check "no element made from the data" refute grep -qE '<b>XX|<img' <<<"$dom"

# A report that cannot be written: the lists are still written, the dump fails saying why.
rm -f "$PUB/report.html" "$PUB/bruteforce.txt"
mkdir -p "$PUB/report.html/x"
out=$(ctl dump 2>&1)
ok $([ $? -ne 0 ] && echo 0 || echo 1) "greywallctl dump fails when report.html cannot be written"
has "and says why" "^report.html: Is a directory$" "$out"
check "the lists were written all the same" test -s "$PUB/bruteforce.txt"
rm -r "$PUB/report.html"
has "the next dump writes it" "tables dumped to" "$(ctl dump)"
check "report.html is back" test -s "$PUB/report.html"

echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
