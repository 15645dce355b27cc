# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Debian 12's CrowdSec for the integration tests and the benchmarks: a
# private Local API (LAPI) and Debian's crowdsec-firewall-bouncer, each from
# a private configuration in a directory the caller owns, running inside a
# network namespace the caller made. Nothing here reads more of /etc/crowdsec
# than the packaged config.yaml and the bouncer's packaged yaml (copied, then
# changed), nothing writes there, and the system's LAPI and bouncer are not
# started or touched.
#
#   CS_TLS_CERT, CS_TLS_KEY  when set (PEM files), cs_lapi_start serves HTTPS
#                       with them and its URL is https://; cscli skips the
#                       check of the certificate
#   cs_lapi_start DIR ADDR PORT [NETNS]  the LAPI on ADDR:PORT (ADDR an IPv4 or a
#                       bare IPv6 address), in NETNS when given; returns when
#                       it answers HTTP, with a cscli machine registered so
#                       that cs_cli DIR can add and delete decisions. Quiet on
#                       success; on failure, the tail of the LAPI's log.
#   cs_cli DIR ARGS...  cscli -c DIR/config.yaml ARGS (in the LAPI's namespace)
#   cs_url DIR          the LAPI's URL, http://ADDR:PORT/
#   cs_bouncer_add DIR NAME KEY           a bouncer NAME whose API key is KEY
#   cs_machine_add DIR NAME PASSWORD      a machine (watcher) NAME
#   cs_lapi_stop DIR    stop the LAPI and wait for it (safe twice, or unstarted)
#   cs_lapi_restart DIR the LAPI again on the same database, address and port
#
#   cs_fwbouncer_start DIR NETNS MODE LAPI_URL KEY
#                       crowdsec-firewall-bouncer in NETNS, MODE nftables or
#                       ipset, pulling LAPI_URL every $CS_FWBOUNCER_EVERY
#                       (default 1s) with KEY; its log in DIR. IPv4 and IPv6,
#                       deny action DROP. In ipset mode the bouncer only fills
#                       two sets, which must exist: they are made here (with
#                       $CS_IPSET_MAXELEM places each, default 65536), and
#                       the rules that drop what they hold (iptables and
#                       ip6tables, INPUT, `-m set --match-set SET src -j DROP`).
#   cs_fwbouncer_count DIR  addresses and ranges in its sets now, IPv4 + IPv6
#   cs_fwbouncer_pid DIR    its process id
#   cs_fwbouncer_stop DIR   stop it, then remove its nftables tables, or its
#                       ipsets and the rules that use them
#
#   cs_netns NS         a namespace for the LAPI, lo up
#   cs_link NS GW_NS IF LAPI_ADDR GW_ADDR  a /30 veth: lapi0 (GW_ADDR) in the
#                       gateway's namespace GW_NS, IF (LAPI_ADDR) in NS; when
#                       LAPI_ADDR is not 192.0.2.250 the gateway reaches
#                       192.0.2.250 (where the LAPI listens) through it
#   cs_netns_del NS     its processes killed, the namespace gone
#   cs_gw_config DIR KEY MACHINE PASSWORD "more lines"  gw.sh's greywall.conf
#                       for a gateway of the LAPI in DIR: <crowdsec> pulled
#                       every second with KEY and dropped, <popflooders>
#                       (timeout 1h) pushed as MACHINE, then the lines given
#   cs_test_setup       for a test of gw.sh's one gateway: its network, CS_NS
#                       ($GW_ID-cs, the LAPI's namespace, linked to the
#                       gateway: the LAPI is to listen on 192.0.2.250), CS (a
#                       directory for the LAPI and a bouncer), and a cleanup
#                       on exit (bouncer, LAPI, namespace, then gw_cleanup)
#
# DIR    an empty directory (under a mktemp -d), one LAPI and one bouncer at
#        most in each (their files do not collide, so one DIR may hold both).
#        The LAPI's files: config.yaml, local_api_credentials.yaml, data/
#        (SQLite database, WAL mode), log/crowdsec.log and crowdsec_api.log
#        (every request the API served, one line each), lapi.pid. The
#        bouncer's: fwbouncer.yaml, crowdsec-firewall-bouncer.log,
#        fwbouncer.pid.
# Names  the bouncer's nftables tables and sets and its ipsets are named
#        after a checksum of DIR ("gwcs<N>-4", "gwcs<N>-6"), so two tests
#        never share one even in the same namespace.
#
# Callers put cs_fwbouncer_stop and cs_lapi_stop in their EXIT trap, before
# their namespaces are removed.

CS_FWBOUNCER_EVERY=${CS_FWBOUNCER_EVERY:-1s}

cs_netns() { ip netns add "$1" && ip -n "$1" link set lo up; }
cs_link() {
	local ns=$1 gw_ns=$2 ifname=$3 lapi=$4 gw=$5
	ip link add lapi0 netns "$gw_ns" type veth peer name "$ifname" netns "$ns" &&
		ip -n "$gw_ns" addr add "$gw/30" dev lapi0 && ip -n "$gw_ns" link set lapi0 up &&
		ip -n "$ns" addr add "$lapi/30" dev "$ifname" && ip -n "$ns" link set "$ifname" up &&
		{ [ "$lapi" = 192.0.2.250 ] || ip -n "$gw_ns" route add 192.0.2.250/32 via "$lapi" dev lapi0; }
}
cs_gw_config() {
	printf '%s\n' "$2" >"$GW_RUN/bouncer.key"
	printf '%s\n' "$4" >"$GW_RUN/machine.pw"
	chmod 600 "$GW_RUN/bouncer.key" "$GW_RUN/machine.pw"
	gw_write_config "
table <crowdsec> persist counters
table <popflooders> persist timeout 1h
crowdsec {
	url \"$(cs_url "$1")\"
	bouncer-key file \"$GW_RUN/bouncer.key\"
	table <crowdsec>
	every 1s
	machine \"$3\" password file \"$GW_RUN/machine.pw\"
	push <popflooders>
}
block drop quick from <crowdsec>
$5"
}
cs_test_setup() {
	CS_NS=$GW_ID-cs
	CS=$GW_RUN/crowdsec
	gw_setup_net || return 1
	trap cs_test_cleanup EXIT
	mkdir -p "$CS/lapi" && cs_netns "$CS_NS" &&
		cs_link "$CS_NS" "$GW_NS" lapi1 192.0.2.250 192.0.2.249
}
cs_test_cleanup() {
	cs_fwbouncer_stop "$CS/bouncer"
	cs_lapi_stop "$CS/lapi"
	cs_netns_del "$CS_NS"
	gw_cleanup
}
cs_netns_del() {
	local pid
	for pid in $(ip netns pids "$1" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	ip netns del "$1" 2>/dev/null
}

# cs_in DIR FILE COMMAND...: the command in the namespace named in DIR/FILE, if any
cs_in() {
	local ns
	ns=$(cat "$1/$2" 2>/dev/null)
	shift 2
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$@"
	else
		"$@"
	fi
}

# cs_alive PID: the process runs (a zombie, which kill -0 still finds, does not)
cs_alive() {
	local state
	state=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${state#Z}" = "$state" ]
}

# cs_stop_pid PIDFILE: TERM the process, KILL it after about five seconds,
# and reap it when it is the caller's child (as cs_spawn leaves it)
cs_stop_pid() {
	local pid i
	pid=$(cat "$1" 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		cs_alive "$pid" || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	while cs_alive "$pid"; do sleep 0.05; done
	rm -f "$1"
}

# cs_spawn DIR NSFILE PIDFILE LOG COMMAND...: the command in the background,
# in that namespace if any, its process id (not a subshell's) in DIR/PIDFILE
cs_spawn() {
	local dir=$1 ns log=$4 pidfile=$1/$3
	ns=$(cat "$1/$2" 2>/dev/null)
	shift 4
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$@" >>"$log" 2>&1 &
	else
		"$@" >>"$log" 2>&1 &
	fi
	echo $! >"$pidfile"
}

cs_cli() {
	local dir=$1
	shift
	cs_in "$dir" lapi.netns cscli -c "$dir/config.yaml" "$@"
}

cs_url() { cat "$1/lapi.url"; }

# cs_quiet WHAT COMMAND...: run the command; on failure show its output
cs_quiet() {
	local what=$1 out
	shift
	out=$("$@" 2>&1) && return 0
	echo "# $what failed:"
	printf '%s\n' "$out" | tail -10 | sed 's/^/#   /'
	return 1
}

cs_bouncer_add() { cs_quiet "cscli bouncers add $2" cs_cli "$1" bouncers add "$2" -k "$3"; }
cs_machine_add() {
	cs_quiet "cscli machines add $2" cs_cli "$1" machines add "$2" --password "$3" -f /dev/null
}

# The packaged config.yaml, private: foreground, its own log, data and
# database (WAL, which also silences the LAPI's warning about it), address
# and client credentials; no online API (no Internet: it would retry and
# log forever) and no Prometheus listener (its fixed port would collide).
cs_lapi_config() { # dir listen
	local dir=$1 listen=$2
	sed -e 's|^\(  daemonize:\).*|\1 false|' \
		-e "s|^\(  log_dir:\).*|\1 $dir/log/|" \
		-e "s|^\(  data_dir:\).*|\1 $dir/data/|" \
		-e "s|^\(  db_path:\).*|\1 $dir/data/crowdsec.db\n  use_wal: true|" \
		-e "s|^\(    listen_uri:\).*|\1 $listen|" \
		-e "s|^\(    credentials_path:\).*local_api_credentials.yaml.*|\1 $dir/local_api_credentials.yaml|" \
		-e '/^    online_client:/,+1d' \
		-e '/^prometheus:/,/^[^ ]/s|^\(  enabled:\).*|\1 false|' \
		/etc/crowdsec/config.yaml >"$dir/config.yaml" || return 1
	if [ -n "${CS_TLS_CERT:-}" ]; then
		sed -i -e "s|^#    tls:|    tls:|" -e "s|^#      cert_file:.*|      cert_file: $CS_TLS_CERT|" \
			-e "s|^#      key_file:.*|      key_file: $CS_TLS_KEY|" \
			-e 's|^\(    insecure_skip_verify:\).*|\1 true|' "$dir/config.yaml" || return 1
		grep -q "^      cert_file: $CS_TLS_CERT\$" "$dir/config.yaml" || {
			echo "# /etc/crowdsec/config.yaml: no tls lines where cs_lapi_config looks"
			return 1
		}
	fi
	# A packaged file that no longer has these lines must fail here, not
	# start a LAPI that writes to the system's database or listens on its port.
	grep -q "^  db_path: $dir/" "$dir/config.yaml" &&
		grep -q "^    listen_uri: $listen\$" "$dir/config.yaml" &&
		grep -q "^    credentials_path: $dir/" "$dir/config.yaml" &&
		! grep -q online_api_credentials "$dir/config.yaml" || {
		echo "# /etc/crowdsec/config.yaml: not the layout cs_lapi_config knows"
		return 1
	}
}

# cs_lapi_answers DIR: the LAPI answers HTTP (any status: /v1/decisions
# without a key is 403)
cs_lapi_answers() {
	local code
	code=$(cs_in "$1" lapi.netns curl -k -s -o /dev/null -m 2 -w '%{http_code}' \
		"$(cs_url "$1")v1/decisions")
	[ -n "$code" ] && [ "$code" != 000 ]
}

# cs_lapi_run DIR: start the LAPI of an existing DIR; wait until it answers
cs_lapi_run() {
	local dir=$1 pid
	cs_spawn "$dir" lapi.netns lapi.pid "$dir/log/stdout.log" crowdsec -c "$dir/config.yaml" -no-cs
	pid=$(cat "$dir/lapi.pid")
	for _ in $(seq 150); do
		cs_lapi_answers "$dir" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	echo "# the CrowdSec LAPI did not answer at $(cs_url "$dir"):"
	tail -15 "$dir/log/crowdsec.log" "$dir/log/stdout.log" 2>/dev/null | sed 's/^/#   /'
	return 1
}

cs_lapi_start() {
	local dir=$1 addr=$2 port=$3 netns=${4:-} host
	host=$addr
	case $addr in *:*) host="[$addr]" ;; esac
	mkdir -p "$dir/data" "$dir/log" || return 1
	printf '%s\n' "$netns" >"$dir/lapi.netns"
	echo "http${CS_TLS_CERT:+s}://$host:$port/" >"$dir/lapi.url"
	cs_lapi_config "$dir" "$host:$port" || return 1
	cs_lapi_run "$dir" || return 1
	cs_quiet "cscli machines add localcli" cs_cli "$dir" machines add localcli --auto \
		-f "$dir/local_api_credentials.yaml" --url "$(cs_url "$dir")"
}

cs_lapi_stop() { cs_stop_pid "$1/lapi.pid"; }

cs_lapi_restart() {
	cs_lapi_stop "$1"
	cs_lapi_run "$1"
}

# Table, chain and set names of the bouncer in DIR: family -> name
cs_fwbouncer_name() { echo "gwcs$(printf '%s' "$1" | cksum | cut -d' ' -f1)-$2"; }

cs_fwbouncer_start() {
	local dir=$1 netns=$2 mode=$3 url=$4 key=$5 n4 n6
	case $mode in nftables | ipset) ;; *)
		echo "# cs_fwbouncer_start: mode $mode: nftables or ipset"
		return 1
		;;
	esac
	mkdir -p "$dir" || return 1
	n4=$(cs_fwbouncer_name "$dir" 4)
	n6=$(cs_fwbouncer_name "$dir" 6)
	printf '%s\n' "$netns" >"$dir/fwbouncer.netns"
	echo "$mode" >"$dir/fwbouncer.mode"
	sed -e "s|^mode:.*|mode: $mode|" \
		-e "s|^pid_dir:.*|pid_dir: $dir/|" \
		-e "s|^update_frequency:.*|update_frequency: $CS_FWBOUNCER_EVERY|" \
		-e 's|^daemonize:.*|daemonize: false|' \
		-e 's|^log_mode:.*|log_mode: file|' \
		-e "s|^log_dir:.*|log_dir: $dir/|" \
		-e "s|^api_url:.*|api_url: $url|" \
		-e "s|^api_key:.*|api_key: $key|" \
		-e 's|^disable_ipv6:.*|disable_ipv6: false|' \
		-e 's|^deny_action:.*|deny_action: DROP|' \
		-e "s|^blacklists_ipv4:.*|blacklists_ipv4: $n4|" \
		-e "s|^blacklists_ipv6:.*|blacklists_ipv6: $n6|" \
		-e "/^  ipv4:/,/^  ipv6:/s|^\(    table:\).*|\1 $n4|" \
		-e "/^  ipv4:/,/^  ipv6:/s|^\(    chain:\).*|\1 $n4|" \
		-e "/^  ipv6:/,/^[^ ]/s|^\(    table:\).*|\1 $n6|" \
		-e "/^  ipv6:/,/^[^ ]/s|^\(    chain:\).*|\1 $n6|" \
		-e '/^prometheus:/,$s|^\(  enabled:\).*|\1 false|' \
		/etc/crowdsec/bouncers/crowdsec-firewall-bouncer.yaml >"$dir/fwbouncer.yaml" || return 1
	# The INPUT chain alone, whatever the package lists.
	sed -i -e '/^iptables_chains:/,/^[^ ]/{/^  *- /d;/^ *#/d}' \
		-e 's|^iptables_chains:.*|iptables_chains:\n  - INPUT|' "$dir/fwbouncer.yaml"
	[ "$(grep -c "$n4\|$n6" "$dir/fwbouncer.yaml")" -eq 6 ] &&
		grep -q "^api_url: $url\$" "$dir/fwbouncer.yaml" || {
		echo "# crowdsec-firewall-bouncer.yaml: not the layout cs_fwbouncer_start knows"
		return 1
	}
	if [ "$mode" = ipset ]; then
		cs_ipset_setup "$dir" "$n4" "$n6" || return 1
	fi
	# A log of an earlier run in DIR would say it is ready before it is.
	: >"$dir/crowdsec-firewall-bouncer.log"
	cs_spawn "$dir" fwbouncer.netns fwbouncer.pid "$dir/fwbouncer.stdout" \
		crowdsec-firewall-bouncer -c "$dir/fwbouncer.yaml"
	# Ready once its sets (and in nftables mode its rules) are made and its
	# stream has started: it logs this line before its first pull.
	for _ in $(seq 150); do
		grep -q "Processing new and deleted decisions" \
			"$dir/crowdsec-firewall-bouncer.log" 2>/dev/null && break
		kill -0 "$(cat "$dir/fwbouncer.pid")" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "Processing new and deleted decisions" "$dir/crowdsec-firewall-bouncer.log" \
		2>/dev/null && kill -0 "$(cat "$dir/fwbouncer.pid")" 2>/dev/null &&
		cs_fwbouncer_count "$dir" >/dev/null 2>&1 || {
		echo "# crowdsec-firewall-bouncer did not start:"
		tail -15 "$dir/crowdsec-firewall-bouncer.log" "$dir/fwbouncer.stdout" 2>/dev/null |
			sed 's/^/#   /'
		return 1
	}
}

# ipset mode: the bouncer fills two sets that must exist (it exits when they
# do not) and adds no rule. The sets are made as its iptables mode makes
# them (hash:net, default timeout 300), but with $CS_IPSET_MAXELEM places
# (default 65536, the bouncer's own), and the rules as that mode inserts them.
cs_ipset_setup() { # dir set4 set6
	local dir=$1 max=${CS_IPSET_MAXELEM:-65536}
	cs_in "$dir" fwbouncer.netns ipset create "$2" hash:net timeout 300 maxelem "$max" &&
		cs_in "$dir" fwbouncer.netns ipset create "$3" hash:net timeout 300 family inet6 \
			maxelem "$max" &&
		cs_in "$dir" fwbouncer.netns iptables -I INPUT -m set --match-set "$2" src -j DROP &&
		cs_in "$dir" fwbouncer.netns ip6tables -I INPUT -m set --match-set "$3" src -j DROP
}

cs_fwbouncer_pid() { cat "$1/fwbouncer.pid"; }

# The elements of one nftables set, counted from its JSON listing (an
# element is an address, a prefix or a range); fails when the set does not
# exist.
cs_nft_set_count() { # dir family table set
	local out
	out=$(cs_in "$1" fwbouncer.netns nft -j list set "$2" "$3" "$4" 2>/dev/null) || return 1
	printf '%s' "$out" | jq -e '[.nftables[] | select(.set) | .set.elem // [] | length] | add'
}
# The entries of an ipset (its header's "Number of entries"), or failure
cs_ipset_count() { # dir set
	cs_in "$1" fwbouncer.netns ipset list -t "$2" 2>/dev/null |
		awk '/^Number of entries:/ { print $4; found = 1 } END { exit !found }'
}

cs_fwbouncer_count() {
	local dir=$1 n4 n6 c4 c6
	n4=$(cs_fwbouncer_name "$dir" 4)
	n6=$(cs_fwbouncer_name "$dir" 6)
	case $(cat "$dir/fwbouncer.mode" 2>/dev/null) in
	nftables)
		c4=$(cs_nft_set_count "$dir" ip "$n4" "$n4") &&
			c6=$(cs_nft_set_count "$dir" ip6 "$n6" "$n6") || return 1
		;;
	ipset)
		c4=$(cs_ipset_count "$dir" "$n4") && c6=$(cs_ipset_count "$dir" "$n6") || return 1
		;;
	*) return 1 ;;
	esac
	echo $((c4 + c6))
}

cs_fwbouncer_stop() {
	local dir=$1 n4 n6
	[ -f "$dir/fwbouncer.mode" ] || return 0
	cs_stop_pid "$dir/fwbouncer.pid"
	n4=$(cs_fwbouncer_name "$dir" 4)
	n6=$(cs_fwbouncer_name "$dir" 6)
	case $(cat "$dir/fwbouncer.mode") in
	nftables)
		cs_in "$dir" fwbouncer.netns nft delete table ip "$n4" 2>/dev/null
		cs_in "$dir" fwbouncer.netns nft delete table ip6 "$n6" 2>/dev/null
		;;
	ipset)
		while cs_in "$dir" fwbouncer.netns iptables -D INPUT -m set --match-set "$n4" src \
			-j DROP 2>/dev/null; do :; done
		while cs_in "$dir" fwbouncer.netns ip6tables -D INPUT -m set --match-set "$n6" src \
			-j DROP 2>/dev/null; do :; done
		cs_in "$dir" fwbouncer.netns ipset destroy "$n4" 2>/dev/null
		cs_in "$dir" fwbouncer.netns ipset destroy "$n6" 2>/dev/null
		;;
	esac
	rm -f "$dir/fwbouncer.mode"
	return 0
}
