#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The log watchers' memory bound under a flood: 1,000,000 failed sshd
# logins from 100,000 sources (log text only, no traffic: the sources are
# in 2001:db8::/32), none reaching the threshold. With max-sources 10000,
# and then with the default (100000): every line is read, the sources
# counted never exceed the limit, evictions are counted, greywalld's
# resident memory stays under the base measured before the flood plus the
# limit's worth of sources (WATCH_SOURCE_BYTES, user/watch/count.h) plus a
# stated slack, and greywalld answers throughout.
. "$(dirname "$0")/../lib/gw.sh"

LINES=1000000
SOURCES=100000
THRESHOLD=50
NAMES=8
# user/watch/count.h: per source at most 204 + 4 * threshold bytes, per
# login name 576, 1024 once.
SOURCE_BYTES=$((204 + 4 * THRESHOLD))
USER_BYTES=576
FIXED_BYTES=1024
# The slack: while a pool or the index doubles, the old and the new array
# are held at once (count.h), up to the pool's size again; and 4 MiB for
# the rest that reading a flood may touch (the follower's buffer, SQLite's
# page cache as positions are saved, malloc's arenas).
slack_kib() { echo $(($1 * SOURCE_BYTES / 1024 + 4096)); }

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
LOGDIR=$GW_RUN/log
LOG=$LOGDIR/auth.log
mkdir -p "$LOGDIR"

# The flood, in syslog's format: source i % SOURCES, a port that differs
# for each line of a source (each is its own connection), a few names.
t0=$SECONDS
awk -v lines=$LINES -v sources=$SOURCES 'BEGIN {
	split("admin test oracle guest user ubuntu postgres git", name, " ")
	for (i = 0; i < lines; i++) {
		s = i % sources
		printf "Dec  7 12:00:00 gw sshd[%d]: Invalid user %s from 2001:db8:f:%x:%x::1 port %d\n",
			1000 + i % 30000, name[i % 8 + 1], int(s / 65536), s % 65536, 1024 + i % 60000
	}
}' >"$GW_RUN/flood"
ok $? "$LINES lines from $SOURCES sources generated ($(($(stat -c %s "$GW_RUN/flood") / 1048576)) MiB, $((SECONDS - t0)) s)"

kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$GW_PID/status"; }
# watch show's line "counting N sources (E evicted), ..."
counting() { ctl watch show | awk '$1 == "counting" { print $2, substr($4, 2); exit }'; }
lines() { ctl watch show | awk '$1 == "lines" { print $2; exit }'; }
listed() { ctl watch show | awk '$1 == "lines" { print $11; exit }'; }

# flood WATCHER [max-sources N]: one greywalld with one watcher on the
# flood's file, the file moved into place once greywalld runs (a file
# that appears is read from its start); every check of the bound.
flood() {
	local name=$1 max=${3:-100000} limit_line=
	local base hwm bound now max_seen=0 evicted n start worst_ms=0 t1
	[ -n "${3:-}" ] && limit_line="max-sources $3"
	gw_write_config '
table <bruteforce> persist
block drop quick from <bruteforce>
watch '"$name"' {
	file "'"$LOG"'"
	pattern sshd
	on-failures '$THRESHOLD' within 10m <bruteforce>
	'"$limit_line"'
}'
	gw_start
	ok $? "$name: greywalld starts (max-sources $max)"
	# The base after greywalld's first once-a-second work: about a second
	# after it starts, 8 MiB of a BPF map it has mmapped become resident
	# (RssFile), watcher or not; that is not the watcher's memory.
	sleep 2
	base=$(kib VmRSS)
	# Resident memory's peak from here on (proc(5), clear_refs 5).
	echo 5 >"/proc/$GW_PID/clear_refs"
	mv "$GW_RUN/flood" "$LOG"
	start=$(date +%s%N)
	while :; do
		read -r n _ <<<"$(counting)"
		[ "${n:-0}" -gt "$max_seen" ] && max_seen=$n
		t1=$(date +%s%N)
		ctl status >/dev/null || break
		now=$((($(date +%s%N) - t1) / 1000000))
		[ "$now" -gt "$worst_ms" ] && worst_ms=$now
		[ "$(lines)" = "$LINES" ] && break
		[ $(($(date +%s%N) - start)) -gt 300000000000 ] && break
		sleep 0.2
	done
	now=$(($(date +%s%N) - start))
	check_output "$name: all $LINES lines read" "$LINES" lines
	echo "# $name: $LINES lines read in $((now / 1000000)) ms" \
		"($((LINES * 1000 / (now / 1000000 + 1))) lines/s); status answered in at most $worst_ms ms meanwhile"
	read -r n evicted <<<"$(counting)"
	[ "$n" -gt "$max_seen" ] && max_seen=$n
	echo "# $name: sources counted $n at the end, at most $max_seen seen, $evicted evicted"
	ev "[ $max_seen -le $max ] && [ $n -le $max ]" "$name: never more than $max sources counted"
	check_output "$name: nothing listed below the threshold" "0" listed
	hwm=$(kib VmHWM)
	bound=$((base + (max * SOURCE_BYTES + NAMES * USER_BYTES + FIXED_BYTES) / 1024 + $(slack_kib "$max")))
	echo "# $name: VmRSS before $base KiB, peak during $hwm KiB (+$((hwm - base)) KiB), now $(kib VmRSS) KiB;" \
		"bound $bound KiB = before + $max x $SOURCE_BYTES + $NAMES x $USER_BYTES + $FIXED_BYTES B" \
		"+ slack $(slack_kib "$max") KiB"
	ev "[ $hwm -le $bound ]" "$name: greywalld's resident memory stayed under the bound"
	mem=$(ctl watch show | awk '$1 == "counting" { print $11, substr($15, 1, length($15) - 1); exit }')
	read -r used most <<<"$mem"
	echo "# $name: the counting's own figure: $used bytes (at most $most)"
	ev "[ $used -le $most ]" "$name: watch show's memory figure is within its own maximum"
	RESULT_EVICTED=$evicted
	check "$name: greywalld still answers status" ctl status
	gw_stop TERM
	mv "$LOG" "$GW_RUN/flood"
}

flood small max-sources 10000
ev "[ $RESULT_EVICTED -eq $((LINES - 10000)) ]" \
	"small: evictions counted ($RESULT_EVICTED: each line past the first 10000 evicts, its source gone before it fails again)"
flood default
ev "[ $RESULT_EVICTED -eq 0 ]" "default: $SOURCES sources fit, none evicted ($RESULT_EVICTED)"

tap_done
