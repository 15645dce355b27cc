#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# A reload whose config parses but fails while it is applied (a table file
# that cannot be read) keeps the running config, as its message says:
# rules, tables and enforcement are the old ones. A reload that succeeds
# after the cause is fixed applies the new one.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwrel$$
. tests/lib/gw.sh

gw_setup_net || exit 1
OLD='table <a> persist
block drop quick from <a>'
gw_write_config "$OLD"
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start || exit 1
check_output "an entry in <a>" "1/1 addresses added." ctl table a add 198.51.100.7
check "it is dropped" blocked 198.51.100.7 192.0.2.1
rules_before=$(ctl rules | grep '^@')
tables_before=$(ctl tables | awk '{print $1}')

# The new config parses (-n), but its table file is a directory: that shows
# only when the tables are built from it.
mkdir "$GW_RUN/b.list"
gw_write_config "$OLD
table <b> persist file \"$GW_RUN/b.list\"
block drop quick from <b>
block drop quick from 198.51.100.8"
check "greywalld -n accepts the new config" gw "$GW_BIN/greywalld" -n -f "$GW_CONF"
out=$(ctl reload 2>&1)
rc=$?
ok $([ $rc -eq 1 ] && echo 0 || echo 1) "the failed reload exits 1 (got $rc)"
has "it says the running config is kept, and why" \
	"^greywallctl: reload failed, running config kept: table <b>: Is a directory$" "$out"
check_output "rules: the running config's" "$rules_before" eval "ctl rules | grep '^@'"
check_output "tables: the running config's" "$tables_before" eval "ctl tables | awk '{print \$1}'"
check "<a>'s entry is still dropped" blocked 198.51.100.7 192.0.2.1
check "the new config's rule is not enforced" connect 198.51.100.8 192.0.2.1
kill -HUP "$GW_PID"
wait_for 5 grep -q "reload failed, running config kept: table <b>: Is a directory" "$GW_RUN/greywalld.log"
ok $? "SIGHUP: greywalld logs the same"
check_output "rules after SIGHUP: still the running config's" "$rules_before" eval "ctl rules | grep '^@'"

# Fixed: the same config reloads.
rmdir "$GW_RUN/b.list"
echo 203.0.113.9 >"$GW_RUN/b.list"
check_output "the fixed config reloads" "configuration reloaded." ctl reload
has "rules: the new config's" "^@3 block drop quick from 198.51.100.8" "$(ctl rules)"
has "tables: <b> with its file's entry" "^b +1 +0 " "$(ctl tables)"
check "<a>'s entry is still dropped" blocked 198.51.100.7 192.0.2.1
check "the new rule drops 198.51.100.8" blocked 198.51.100.8 192.0.2.1

tap_done
