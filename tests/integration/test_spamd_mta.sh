#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# The tarpit in front of a real MTA: Postfix listens on the
# gateway's port 25; greywalld's sk_lookup program steers SMTP from sources
# that are not whitelisted to the tarpit on the same port. A Postfix sender
# in the client namespace is greylisted, retries after passtime, is
# whitelisted by the scan, and its next attempt reaches Postfix: the mail
# lands in the gateway's mailbox. swaks for the scripted cases: a trap hit,
# a blacklisted source, <nospamd>, IPv6. The gateway's own outbound SMTP
# whitelists its destination (spamlogd).
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwsmta$$
. tests/lib/gw.sh
. tests/lib/mta.sh

gw_require postfix swaks
gw_setup_tarpit || exit 1
echo "203.0.113.9" >"$ETC/black.txt"
gw_write_config "spamd {
	hostname \"mx.example.org\"
	passtime 4s
	greyexp 1h
	scan-interval 1s
	greystutter 0s
	maxblack 0
	spamtraps file \"$ETC/spamtraps\"
	blacklist testlist { file \"$ETC/black.txt\" msg \"Your address %A is on testlist\" }
}"


mta_start gateway "$GW_NS" 192.0.2.1 2001:db8::1 -- mydestination=example.org \
	"transport_maps=inline:{ client.example=smtp:[203.0.113.200]:25 }" \
	smtp_bind_address=192.0.2.1
ok $? "gateway Postfix listens on port 25"
mta_start sender "$GW_CLIENT" -- smtp_bind_address=192.0.2.10 \
	"transport_maps=inline:{ example.org=smtp:[192.0.2.1]:25 }"
ok $? "sender Postfix in the client namespace"
gw_start || exit 1

# --- greylisting with a real sender: deferred, retried, whitelisted, delivered
check "sendmail queues a message to alice" \
	mta_send sender@client.example alice@example.org "through the tarpit"
sender_greylisted() { mta_log sender | grep -q 'said: 451'; }
wait_for 10 sender_greylisted
has "the first attempt is greylisted (451 at DATA)" "said: 451" "$(mta_log sender)"
check "nothing reached the gateway's mailbox yet" test ! -s "$MTA_MAIL/alice"
check "the retry after passtime is delivered to the mailbox" \
	mta_wait_delivered alice "^Subject: through the tarpit$" 40
check "192.0.2.10 is in <spamd-white>" ctl table spamd-white test 192.0.2.10
has "why: whitelisted by the greylist" "retried after passtime" "$(ctl why 192.0.2.10)"
has "the tuple went through the tarpit first" \
	"\(GREY\) 192.0.2.10: <sender@client.example> -> <alice@example.org>" \
	"$(cat "$GW_RUN/greywalld.log")"
has "the delivery came straight from the sender" "client=unknown\[192.0.2.10\]" \
	"$(mta_log gateway)"

# --- swaks: a spamtrap puts the source into <spamd-greytrap>
out=$(swaks_run 198.51.100.7 192.0.2.1 --to trap@example.org)
has "the tarpit answers port 25 for an unlisted source" "^<-  *220 mx.example.org ESMTP greywall" "$out"
check "swaks: RCPT to the spamtrap gets 250" swaks_expect "RCPT TO" 250 <<<"$out"
check "198.51.100.7 is in <spamd-greytrap>" ctl table spamd-greytrap test 198.51.100.7
has "evidence names the spamtrap" "greytrap: spamtrap <trap@example.org>" "$(ctl why 198.51.100.7)"
out=$(swaks_run 198.51.100.7 192.0.2.1 --to alice@example.org)
check "its next attempt gets the blacklist treatment (450 at the end of data)" \
	swaks_expect . 450 <<<"$out"

# --- a blacklisted source: 450 with the list's message
out=$(swaks_run 203.0.113.9 192.0.2.1 --to alice@example.org)
check "a blacklisted source gets 354 at DATA" swaks_expect DATA 354 <<<"$out"
has "and 450 with its list's message" "<\*\* *450.*Your address 203.0.113.9 is on testlist" "$out"

# --- IPv6, through the same steering
out=$(swaks_run 2001:db8:bad::7 2001:db8::1 --to alice@example.org)
has "IPv6: the tarpit answers [2001:db8::1]:25" "^<-  *220 mx.example.org ESMTP greywall" "$out"
check "IPv6: greylisted, 451 at DATA" swaks_expect DATA 451 <<<"$out"

# --- <nospamd> reaches the MTA directly
check "198.51.100.8 added to <nospamd>" ctl table nospamd add 198.51.100.8
out=$(swaks_run 198.51.100.8 192.0.2.1 --to alice@example.org --header "Subject: nospamd")
check "a <nospamd> source gets Postfix's 250 at the end of data" swaks_expect . 250 <<<"$out"
check "and its mail is delivered" mta_wait_delivered alice "^Subject: nospamd$" 10

# --- spamlogd: the gateway's own outbound SMTP whitelists the destination
check "203.0.113.200 is not white before" refute ctl table spamd-white test 203.0.113.200
# Any listener on 203.0.113.200:25 will do: the SYN the gateway sends is what counts.
cl "$GW_TOOLS/gwnet" listen 25 >/dev/null 2>&1 &
wait_for 5 listens cl 25
# Another local user's connection to a remote SMTP port whitelists nothing:
# only the MTA's user (mta-user, default postfix) vouches for a destination.
gw setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$GW_TOOLS/gwnet" connect 192.0.2.1 198.51.100.7 25 1000
ok $? "user nobody connects from the gateway to 198.51.100.7 port 25"
sleep 2 # two scan-intervals: the scan drains what the data path recorded
check "a connection by nobody does not whitelist its destination" \
	refute ctl table spamd-white test 198.51.100.7
printf 'Subject: outbound\n\nhello\n' |
	gw sendmail -C "$GW_RUN/postfix-gateway/conf" -f alice@example.org bob@client.example
wait_for 20 ctl table spamd-white test 203.0.113.200
ok $? "an outbound SMTP connection from the gateway whitelists 203.0.113.200"
has "why: spamlogd" "outbound SMTP connection to 203.0.113.200" "$(ctl why 203.0.113.200)"
tap_done
