#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Table exchange from an exec peer through the real greywalld: the output
# of a command (run by sh -c, as the blacklists' exec sources) is the
# peer's list, merged at start with evidence `peer exec COMMAND`, run as the
# user greywall with PATH alone, no fetch command needed; a failing command
# leaves the table as it was.
. "$(dirname "$0")/../lib/gw.sh"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
gw_tarpit_user || { echo "not ok 1 - the user greywall"; exit 1; }
chmod 755 "$GW_RUN"
LIST=$GW_RUN/partner.txt
printf '198.51.100.7\n# a comment\n2001:db8:bad::7\n' >"$LIST"
chmod 644 "$LIST"
CMD="id -un >$GW_RUN/who; sort -- $LIST"
: >"$GW_RUN/who"
chmod 666 "$GW_RUN/who"
gw_write_config "
table <partner> persist exchange { peer exec \"$CMD\" every 1h }
block drop quick from <partner>"
check "an exec peer needs no fetch command" gw "$GW_BIN/greywalld" -n -f "$GW_CONF"
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start
ok $? "greywalld starts"
wait_for 15 ctl table partner test 198.51.100.7
ok $? "the command's output is merged at start"
check "198.51.100.7 is dropped" blocked 198.51.100.7 192.0.2.1
check "2001:db8:bad::7 too" blocked 2001:db8:bad::7 2001:db8::1
has "why: the evidence names the command" "^  evidence: peer: exec id -un" "$(ctl why 198.51.100.7)"
check_output "the command ran as greywall" "greywall" cat "$GW_RUN/who"

# The command fails: refused, the table as it was.
before=$(ctl table partner show)
mv "$LIST" "$LIST.gone"
out=$(ctl table partner exchange 2>&1)
ok $([ $? -eq 1 ] && echo 0 || echo 1) "a failing command: exit status 1"
has "it says the exit status" "refused, exec id -un.*: exit status 2" "$out"
check_output "the table is as it was" "$before" ctl table partner show
tap_done
