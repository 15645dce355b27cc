#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# The policy service behind a real Postfix, no tarpit (`spamd { tarpit no }`):
# the gateway's Postfix keeps port 25 and asks greywalld at RCPT through
# `check_policy_service unix:private/greywall`. A Postfix sender in the client
# namespace is deferred (450), retries after passtime and is delivered with
# an X-Greylist header; swaks for a spamtrap recipient (rejected, the source
# trapped and then dropped in XDP), a blacklisted client (rejected with its
# list's message), the null sender (passes RCPT for sender verification, is
# greylisted at DATA); the inet form of the service; one tuple shared with
# the tarpit's greylist (spamdb lists it once).
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwpol$$
. tests/lib/gw.sh
. tests/lib/mta.sh

gw_require postfix swaks
gw_setup_tarpit || exit 1
echo "203.0.113.9" >"$ETC/black.txt"
GATEWAY_Q=$GW_RUN/postfix-gateway/queue
SOCKET=$GATEWAY_Q/private/greywall

mta_start gateway "$GW_NS" 192.0.2.1 2001:db8::1 -- mydestination=example.org \
	"smtpd_recipient_restrictions=permit_mynetworks, reject_unauth_destination, check_policy_service unix:private/greywall" \
	"smtpd_data_restrictions=check_policy_service unix:private/greywall"
ok $? "gateway Postfix listens on port 25, asking private/greywall at RCPT and DATA"
mta_start sender "$GW_CLIENT" -- smtp_bind_address=192.0.2.10 \
	"transport_maps=inline:{ example.org=smtp:[192.0.2.1]:25 }"
ok $? "sender Postfix in the client namespace"

gw_write_config "table <spamd-greytrap> counters
block drop in quick from <spamd-greytrap>
spamd {
	tarpit no
	hostname \"mx.example.org\"
	passtime 4s
	greyexp 1h
	scan-interval 1s
	spamtraps file \"$ETC/spamtraps\"
	blacklist testlist { file \"$ETC/black.txt\" msg \"Your address %A is on testlist\" }
}
policy {
	listen unix \"$SOCKET\" mode 0660 group postfix
	listen 127.0.0.1 port 10023
}"
gw_start || exit 1

# --- no tarpit: nothing steers port 25, no tarpit child
ev "[ -z \"\$(gw_tarpit_pid)\" ]" "no tarpit child runs"
st=$(stat -c '%a %U %G' "$SOCKET" 2>/dev/null)
has "the unix socket is mode 0660, root:postfix" "^660 root postfix$" "$st"
pid=$(pgrep -f -- "--policy-child $GW_RUN/" | head -1)
ev "[ -n '$pid' ]" "the policy child runs (pid ${pid:-none})"
status=$(cat "/proc/$pid/status" 2>/dev/null)
has "the policy child's uid is greywall's" "^Uid:[[:space:]]+$(id -u greywall)[[:space:]]" "$status"
has "with no capabilities" "^CapEff:[[:space:]]*0000000000000000$" "$status"
ev "! ls -l /proc/$pid/fd 2>/dev/null | grep -q greywall.db" "and no store descriptor"

# --- a real sender: deferred, retried after passtime, delivered with X-Greylist
check "sendmail queues a message to alice" \
	mta_send sender@client.example alice@example.org "through the policy service"
deferred() { mta_log sender | grep -q 'said: 450 4.7.1 <alice@example.org>: Recipient address rejected: Greylisted'; }
wait_for 10 deferred
ok $? "the first attempt is deferred at RCPT: 450 4.7.1 Greylisted"
check "nothing reached the mailbox yet" test ! -s "$MTA_MAIL/alice"
hasf() { printf '%s\n' "$3" | grep -qF -- "$2"; ok $? "$1"; }
hasf "spamdb lists the tuple in spamd's form" \
	"GREY|192.0.2.10|sender.example|<sender@client.example>|<alice@example.org>|" "$(ctl spamdb)"
check "the retry after passtime is delivered" \
	mta_wait_delivered alice "^Subject: through the policy service$" 40
has "with an X-Greylist header" "^X-Greylist: delayed [0-9]+ seconds by greywall at mx.example.org" \
	"$(cat "$MTA_MAIL/alice")"
wait_for 5 ctl table spamd-white test 192.0.2.10
ok $? "the scan whitelists 192.0.2.10"

# --- a spamtrap recipient: rejected, the source trapped, then dropped in XDP
out=$(swaks_run 198.51.100.7 192.0.2.1 --to trap@example.org)
has "RCPT to the spamtrap is rejected (5xx)" "^<\*\* +5[0-9][0-9] .*spamtrap" "$out"
check "198.51.100.7 is in <spamd-greytrap>" ctl table spamd-greytrap test 198.51.100.7
has "evidence: the trap, through the policy service" \
	"greytrap: spamtrap via policy <trap@example.org>: helo" "$(ctl why 198.51.100.7)"
out=$(swaks_run 198.51.100.7 192.0.2.1 --to alice@example.org --timeout 3 2>&1)
has "its next connection is dropped (no banner)" "connect: timeout" "$out"
inblock=$(ctl table spamd-greytrap show -v | awk '/^   198.51.100.7/{f=1} f && /In\/Block:/{print $4; exit}')
ok $([ "${inblock:-0}" -ge 1 ] && echo 0 || echo 1) "XDP counted its dropped packets (In/Block ${inblock:-none})"

# --- a blacklisted client: rejected with its list's message
out=$(swaks_run 203.0.113.9 192.0.2.1 --to alice@example.org)
check "a blacklisted client's RCPT is rejected (554)" swaks_expect "RCPT TO" 554 <<<"$out"
has "with its list's message, %A expanded" "Your address 203.0.113.9 is on testlist" "$out"

# --- the null sender: RCPT passes (sender verification probes), DATA is greylisted
out=$(swaks_run 198.51.100.8 192.0.2.1 --from "<>" --to alice@example.org)
check "the null sender's RCPT passes" swaks_expect "RCPT TO" 250 <<<"$out"
check "and is deferred at DATA (450)" swaks_expect DATA 450 <<<"$out"
hasf "its tuple is greylisted with <> as the sender" "|<>|<alice@example.org>|" "$(ctl spamdb)"

# --- the inet form, and the tarpit's greylist is the same one
ask() { # CLIENT SENDER RECIPIENT: one request to 127.0.0.1:10023, its answer's first line
	gw bash -c 'exec 3<>/dev/tcp/127.0.0.1/10023 &&
		printf "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\nhelo_name=h.example\nsender=%s\nrecipient=%s\n\n" "$1" "$2" "$3" >&3 &&
		head -1 <&3' - "$@"
}
has "inet: a new tuple is deferred" "^action=DEFER_IF_PERMIT 4.7.1 Greylisted" \
	"$(ask 198.51.100.30 a@b.example bob@example.org)"
has "inet: the same tuple again, before passtime: deferred" "^action=DEFER_IF_PERMIT" \
	"$(ask 198.51.100.30 a@b.example bob@example.org)"
tuples=$(ctl spamdb | grep -c '^GREY|198.51.100.30|h.example|<a@b.example>|<bob@example.org>|')
ok "$([ "$tuples" = 1 ]; echo $?)" "spamdb lists the tuple once ($tuples)"
has "its bcount is 2" "^GREY\|198.51.100.30\|h.example\|<a@b.example>\|<bob@example.org>\|[0-9]+\|[0-9]+\|[0-9]+\|2\|0$" \
	"$(ctl spamdb)"
has "policy show counts the answers" "defer" "$(ctl policy show)"
tap_done
