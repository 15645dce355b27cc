#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The real-MTA harness on its own, without greywall: a Postfix sender in the
# client namespace delivers over IPv4 and IPv6 to a Postfix on the gateway,
# the mail lands in the gateway's mailboxes, and swaks from another client
# address gets the gateway's real replies.
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/mta.sh"
gw_require postfix swaks

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }

mta_start gateway "$GW_NS" 192.0.2.1 2001:db8::1 -- mydestination=example.org
ok $? "gateway Postfix starts on 192.0.2.1 and [2001:db8::1]"
# alice is reached over IPv4, bob over IPv6, each from the sender's own
# address of that family.
mta_start sender "$GW_CLIENT" -- smtp_bind_address=192.0.2.10 \
	smtp_bind_address6=2001:db8::10 \
	"transport_maps=inline:{ alice@example.org=smtp:[192.0.2.1]:25, bob@example.org=smtp:[2001:db8::1]:25 }"
ok $? "sender Postfix starts in the client namespace"
gpid=$(mta_master_pid gateway)
spid=$(mta_master_pid sender)
check "two instances run at once with their own masters" \
	test -n "$gpid" -a -n "$spid" -a "$gpid" != "$spid"
check "the gateway master runs in the gateway namespace" \
	test "$(readlink /proc/"$gpid"/ns/net)" = "$(gw readlink /proc/self/ns/net)"
check "the sender master runs in the client namespace" \
	test "$(readlink /proc/"$spid"/ns/net)" = "$(cl readlink /proc/self/ns/net)"
check "the sender has no smtpd listener" test -z "$(cl ss -Hltn 'sport = :25')"
check "the gateway listens on 192.0.2.1:25" test -n "$(gw ss -Hltn 'src 192.0.2.1 and sport = :25')"
check "the gateway listens on [2001:db8::1]:25" \
	test -n "$(gw ss -Hltn 'src [2001:db8::1] and sport = :25')"

check "sendmail accepts a message to alice" \
	mta_send sender@example.net alice@example.org "harness over IPv4"
check "sendmail accepts a message to bob" \
	mta_send sender@example.net bob@example.org "harness over IPv6"
check "alice's message arrives in the gateway mailbox" \
	mta_wait_delivered alice "^Subject: harness over IPv4$" 15
check "bob's message arrives in the gateway mailbox" \
	mta_wait_delivered bob "^Subject: harness over IPv6$" 15
check "alice's message came from 192.0.2.10" grep -q "^Received: from sender.example (unknown \[192.0.2.10\])" "$MTA_MAIL/alice"
check "bob's message came from 2001:db8::10" grep -q "^Received: from sender.example (unknown \[IPv6:2001:db8::10\])" "$MTA_MAIL/bob"
check "the gateway log names the IPv4 client" \
	eval 'mta_log gateway | grep -q "client=unknown\[192.0.2.10\]"'
check "the sender log shows delivery over IPv6" \
	eval 'mta_log sender | grep -q "relay=2001:db8::1\[2001:db8::1\]:25.*status=sent"'

out=$(swaks_run 198.51.100.7 192.0.2.1 --to bob@example.org --header "Subject: harness swaks")
ok $? "swaks from 198.51.100.7 completes its dialogue"
check_output "swaks: the greeting is 220" 220 swaks_reply "" <<<"$out"
check_output "swaks: a valid RCPT gets 250" 250 swaks_reply "RCPT TO" <<<"$out"
check_output "swaks: the end of data gets 250" 250 swaks_reply . <<<"$out"
check "swaks' message arrives" mta_wait_delivered bob "^Subject: harness swaks$" 10
check "swaks' message came from 198.51.100.7" grep -q "^Received: from client.example.net (unknown \[198.51.100.7\])" "$MTA_MAIL/bob"
out=$(swaks_run 2001:db8:beef::9 2001:db8::1 --to nobody@example.org)
check_output "swaks over IPv6: an unknown RCPT gets 550" 550 swaks_reply "RCPT TO" <<<"$out"
check "swaks_expect: the unknown RCPT got 550" swaks_expect "RCPT TO" 550 <<<"$out"
check "swaks_expect fails on another code" refute swaks_expect "RCPT TO" 250 <<<"$out"

# The retry settings greylisting tests rely on: a message deferred while the
# gateway is down goes out within seconds of its return.
mta_postfix gateway stop >/dev/null 2>&1
check "the gateway MTA can be stopped" refute mta_running gateway
check "sendmail accepts a message while the gateway is down" \
	mta_send sender@example.net alice@example.org "harness retry"
check "the sender defers it" \
	wait_for 10 eval 'mta_log sender | grep -q "to=<alice@example.org>.*status=deferred"'
mta_postfix gateway start >/dev/null 2>&1
ok $? "the gateway MTA starts again"
check "the deferred message arrives within 8 seconds of the restart" \
	mta_wait_delivered alice "^Subject: harness retry$" 8

mta_stop sender
check "mta_stop ends the sender's master" refute mta_running sender
check_output "no live process is left in the sender's session" "" \
	eval "ps -o stat= -s $spid | grep -v '^Z'"
check "the gateway instance still runs" mta_running gateway
tap_done
