#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The CrowdSec client over HTTPS: Debian's LAPI serving TLS with a
# certificate of a test CA for 192.0.2.250. With `ca-file` naming that CA,
# greywall pulls and enforces; with another CA, or the system's, the
# handshake is refused (counted as tls), greywall says it is not connected
# and keeps what it holds.
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/crowdsec.sh"
gw_require crowdsec cscli openssl
[ -x "$GW_TOOLS/gwnet" ] || skip_all "not built: $GW_TOOLS/gwnet (make all)"

KEY=greywall-tls-bouncer-key-0123456789
cs_test_setup
ok $? "the gateway, and the LAPI's namespace linked to it"
gw_tarpit_user || { echo "not ok 2 - the user greywall"; exit 1; }
PKI=$GW_RUN/pki
mkdir -p "$PKI"
# ca: signs the LAPI's certificate; other: a CA that signed nothing of it.
openssl_quiet() { openssl "$@" >/dev/null 2>&1; }
openssl_quiet req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=greywall test CA" -keyout "$PKI/ca.key" -out "$PKI/ca.pem" &&
	openssl_quiet req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=another CA" -keyout "$PKI/other.key" -out "$PKI/other.pem" &&
	openssl_quiet req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=192.0.2.250" -keyout "$PKI/lapi.key" -out "$PKI/lapi.csr" &&
	printf 'subjectAltName=IP:192.0.2.250\n' >"$PKI/ext" &&
	openssl_quiet x509 -req -in "$PKI/lapi.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
		-CAcreateserial -days 2 -extfile "$PKI/ext" -out "$PKI/lapi.pem"
ok $? "a test CA, another CA, and the LAPI's certificate for 192.0.2.250"
chmod 644 "$PKI"/*.pem

CS_TLS_CERT=$PKI/lapi.pem CS_TLS_KEY=$PKI/lapi.key cs_lapi_start "$CS/lapi" 192.0.2.250 8080 "$CS_NS"
ok $? "the LAPI serves HTTPS at $(cs_url "$CS/lapi")"
cs_bouncer_add "$CS/lapi" greywall "$KEY"
ok $? "a bouncer key for greywall"
printf '%s\n' "$KEY" >"$GW_RUN/bouncer.key"
chmod 600 "$GW_RUN/bouncer.key"

config() { # CA-file line
	gw_write_config "
table <crowdsec> persist
crowdsec {
	url \"$(cs_url "$CS/lapi")\"
	$1
	bouncer-key file \"$GW_RUN/bouncer.key\"
	table <crowdsec>
	every 1s
}
block drop quick from <crowdsec>"
}
config "ca-file \"$PKI/ca.pem\""
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
gw_start
ok $? "greywalld starts with ca-file naming the test CA"
wait_for 10 eval 'ctl crowdsec show | grep -q "connected;"'
ok $? "the client connects over TLS"
cs_cli "$CS/lapi" decisions add -i 198.51.100.7 -d 1h >/dev/null 2>&1
wait_for 5 ctl table crowdsec test 198.51.100.7
ok $? "a decision arrives over HTTPS"
check "and is enforced" blocked 198.51.100.7 192.0.2.1

config "ca-file \"$PKI/other.pem\""
check "reload with a CA that did not sign the LAPI's certificate" ctl reload
wait_for 10 eval 'ctl crowdsec show | grep -q "tls [1-9]"'
ok $? "the handshake is refused, counted as tls"
has "crowdsec show: not connected" "not connected" "$(ctl crowdsec show)"
cs_cli "$CS/lapi" decisions add -i 198.51.100.8 -d 1h >/dev/null 2>&1
# Two more refused pulls after the decision was made, not a fixed wait.
tls_count() { ctl crowdsec show | sed -n 's/.* tls \([0-9]*\) .*/\1/p'; }
tls_past() { [ "$(tls_count)" -ge "$1" ]; }
wait_for 15 tls_past $(($(tls_count) + 2))
ok $? "two more pulls refused (tls) since the decision was made"
check "nothing comes from a LAPI greywall cannot verify" refute ctl table crowdsec test 198.51.100.8
check "what it held stays" ctl table crowdsec test 198.51.100.7

config ""
check "reload without ca-file (the system's CAs)" ctl reload
wait_for 15 tls_past $(($(tls_count) + 2))
ok $? "two pulls refused (tls) with the system's CAs"
check "the test CA is not among them: still nothing new" refute ctl table crowdsec test 198.51.100.8
has "still counted as tls" "tls [1-9]" "$(ctl crowdsec show)"

config "ca-file \"$PKI/ca.pem\""
check "reload with the right CA again" ctl reload
wait_for 10 ctl table crowdsec test 198.51.100.8
ok $? "the decision made meanwhile arrives"
tap_done
