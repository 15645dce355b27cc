#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Hostile strings in a real SMTP dialogue (printed escaped, traps kept): a HELO
# with a CR inside or an ESC, an 8,000-byte HELO of control bytes, an
# 8,000-byte MAIL FROM, a spamtrap among 1,000 RCPTs. Each source must end
# up in <spamd-greytrap> with a TRAPPED entry, and what greywallctl and the
# log print holds no raw control byte and keeps its fields.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwstrings$$
. tests/lib/gw.sh

gw_setup_tarpit || exit 1
gw_spamd_config "	passtime 2s"
gw_start || exit 1
chat() { # SRC LINE...: a dialogue with the tarpit
	local src=$1
	shift
	cl "$GW_TOOLS/gwnet" chat "$src" 192.0.2.1 8025 "$@"
}
# trapped NAME SRC: the source is in <spamd-greytrap> and spamdb has its TRAPPED entry
trapped() {
	wait_for 5 ctl table spamd-greytrap test "$2"
	ok $? "$1: $2 is in <spamd-greytrap>"
	ev "ctl spamdb | grep -q '^TRAPPED|$2|'" "$1: spamdb has a TRAPPED entry for $2"
	has "$1: why names the spamtrap" "evidence: greytrap: spamtrap <trap@example.org>" "$(ctl why "$2")"
}
# no control byte but the newlines in the text
clean() { ! printf '%s' "$2" | tr -d '\n' | LC_ALL=C grep -q '[[:cntrl:]]'; ok $? "$1"; }

n=20
# next_source: a fresh client address in $s, so every case starts untrapped
next_source() { n=$((n + 1)); s=198.51.100.$n; cl ip addr add "$s/32" dev veth1; }

# --- a CR inside the HELO (not at its end)
next_source
chat "$s" $'HELO evil\rhost.example.net' "MAIL FROM:<a@example.net>" "RCPT TO:<trap@example.org>" QUIT >/dev/null
trapped "HELO with a CR inside" "$s"
has "why shows the CR escaped" 'helo evil\\rhost.example.net' "$(ctl why "$s")"

# --- an ESC in the HELO, ESC[2J and a CR in MAIL FROM, '|' in the HELO
next_source
chat "$s" $'HELO x|a|b|0|0\e[2J' $'MAIL FROM:<\e[2Jevil\r@example.net>' "RCPT TO:<user@example.org>" \
	"RCPT TO:<trap@example.org>" QUIT >/dev/null
trapped "HELO with ESC and '|'" "$s"
# The trap is applied at once; the GREY tuple before it is stored with the next batch.
grey_stored() { ctl spamdb | grep -q "^GREY|$1|"; }
wait_for 5 grey_stored "$s"
db=$(ctl spamdb)
bad=$(printf '%s\n' "$db" | awk -F'|' '
	/^GREY\|/ && NF != 10 || /^WHITE\|/ && NF != 9 || /^TRAPPED\|/ && NF != 3 || /^SPAMTRAP\|/ && NF != 2 { print }')
ok "$([ -z "$bad" ]; echo $?)" "every spamdb line has its fixed field count${bad:+: $bad}"
clean "spamdb prints no raw control byte" "$db"
has "the GREY tuple keeps the '|' and ESC escaped" '^GREY\|'"$s"'\|x\\174a\\174b\\1740\\1740\\033\[2J\|<\\033\[2Jevil\\r@example.net>\|' "$db"
clean "why prints no raw control byte" "$(ctl why "$s")"

# --- an 8,000-byte HELO of control bytes (24 KB once escaped for the parent)
next_source
helo=$(head -c 8000 /dev/zero | tr '\0' '\001')
chat "$s" "HELO $helo" "MAIL FROM:<a@example.net>" "RCPT TO:<trap@example.org>" QUIT >/dev/null
trapped "an 8,000-byte HELO of control bytes" "$s"

# --- an 8,000-byte MAIL FROM
next_source
from=$(head -c 8000 /dev/zero | tr '\0' 'f')
chat "$s" "HELO big.example.net" "MAIL FROM:<$from@example.net>" "RCPT TO:<trap@example.org>" QUIT >/dev/null
trapped "an 8,000-byte MAIL FROM" "$s"

# --- 1,000 RCPTs in one session, the spamtrap among the first 100
next_source
rcpts=()
for i in $(seq 1 1000); do
	if [ "$i" = 50 ]; then rcpts+=("RCPT TO:<trap@example.org>"); else rcpts+=("RCPT TO:<u$i@example.org>"); fi
done
chat "$s" "HELO many.example.net" "MAIL FROM:<a@example.net>" "${rcpts[@]}" QUIT >/dev/null
trapped "1,000 RCPTs, the spamtrap 50th" "$s"

# --- callbacks and the log: a probe with a CR in its HELO
next_source
chat "$s" $'HELO mx42\r.example.net' "MAIL FROM:<>" \
	"RCPT TO:<mx42.example.net-1503146097-testing@example.org>" QUIT >/dev/null
wait_for 5 sh -c "'$GW_BIN/greywallctl' -s '$GW_SOCK' callbacks | grep -q '$s'"
cb=$(ctl callbacks)
has "callbacks lists the probe with its HELO escaped" "helo mx42\\\\r.example.net" "$cb"
clean "callbacks prints no raw control byte" "$cb"
log=$(cat "$GW_RUN/greywalld.log")
clean "no raw control byte reaches the log" "$log"
has "the log line of the tuple shows the ESC escaped" '<\\033\[2Jevil\\r@example.net> -> <user@example.org>' "$log"
tap_done
